/**
 * Withdrawals: a user asks for funds to leave; the engine holds them; small amounts complete
 * at once, larger ones wait for an operator, who approves (the funds leave) or rejects (the
 * hold is released); the user may cancel while it waits.
 *
 *   REQUESTED ──hold──▶ HELD ──settle──▶ COMPLETED            (at most the approval threshold)
 *       │                 └──▶ AWAITING_APPROVAL ──approve/settle──▶ COMPLETED
 *       │                              └──reject or cancel/release──▶ REJECTED
 *       └──engine refuses the hold──▶ FAILED (funds untouched)
 *
 * Recording intent before acting: the REQUESTED row (with the request's checks, including the
 * 24-hour limit) is committed before the engine hears of the withdrawal, and every later step
 * runs under the row's lock (SELECT ... FOR UPDATE), submits its engine command and records
 * the new status, a withdrawal_events row and an audit entry in that same transaction. So two
 * operators (or an operator and the user) can never both act on one withdrawal: the second
 * waits for the lock, then finds the status changed ('withdrawal.bad_state'). A process that
 * dies between a command and its commit leaves the row in the status before it;
 * `reconcileWithdrawals` drives such rows on (the engine keeps held withdrawals by refId, so a
 * repeated hold is refused as DUPLICATE_WITHDRAWAL, which tells that it was already held).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type Markets, ResultCode } from '../../engine/index.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Database, WithdrawalRow, WithdrawalStatus } from '../db/schema.ts';
import { AccountsError, isAccountsError } from '../errors.ts';
import { kycPolicy, withdrawLimitUnits } from '../kyc/kyc-tiers.ts';
import type { EnginePort } from '../ports/engine.port.ts';
import { type FundsConfig, resolveFundsConfig } from './funds-config.ts';
import { submitFunds } from './funds-engine.ts';
import {
  checkNetwork,
  checkText,
  checkToken,
  checkUserId,
  formatAmount,
  operatorActor,
  parseAmount,
  type ResolvedAsset,
  resolveAsset,
} from './funds-input.ts';
import { checkAddress, isAddressAllowed } from './withdrawal-address.service.ts';

/** The second factor, as the identity service provides it. */
export interface SecondFactor {
  /** Whether the user has a second factor (TOTP) turned on. */
  isEnabled(userId: number): Promise<boolean>;
  /** Whether `code` is the user's current one-time code (and not one already used). */
  verify(userId: number, code: string): Promise<boolean>;
}

/** What requesting a withdrawal needs besides the database and the engine. */
export interface WithdrawalDeps {
  readonly secondFactor: SecondFactor;
  readonly config: FundsConfig;
}

/** A withdrawal request. */
export interface RequestWithdrawalInput {
  readonly userId: number;
  readonly asset: string;
  readonly network: string;
  readonly address: string;
  /** A positive decimal string in the asset's unit. */
  readonly amount: string;
  /** The client's own id (Binance's withdrawOrderId): 1-64 visible characters, unique per user. */
  readonly clientId?: string;
  /** The current one-time code, required when the user has a second factor. */
  readonly totpCode?: string;
  /** The client's address, for the audit log. */
  readonly ip?: string | null;
}

/** A withdrawal as callers see it. */
export interface Withdrawal {
  readonly id: number;
  readonly userId: number;
  readonly asset: string;
  readonly network: string;
  readonly address: string;
  /** Decimal string in the asset's unit, all its places. */
  readonly amount: string;
  readonly amountUnits: number;
  readonly fee: string;
  readonly feeUnits: number;
  readonly status: WithdrawalStatus;
  /** Why it was rejected or failed. */
  readonly reason: string | null;
  readonly clientId: string | null;
  /** The outgoing transaction's id, once completed. */
  readonly txId: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A withdrawal row as callers see it. */
export function toWithdrawal(markets: Markets, row: WithdrawalRow): Withdrawal {
  const asset = resolveAsset(markets, row.asset, 'withdrawal');
  return {
    id: row.id,
    userId: row.userId,
    asset: row.asset,
    network: row.network,
    address: row.address,
    amount: formatAmount(row.amountUnits, asset),
    amountUnits: row.amountUnits,
    fee: formatAmount(row.feeUnits, asset),
    feeUnits: row.feeUnits,
    status: row.status,
    reason: row.reason,
    clientId: row.clientId,
    txId: row.txId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** An arbitrary constant naming the per-user withdrawal advisory lock (with the user id). */
const WITHDRAWAL_LOCK = 0x43425744; // "CBWD"
/** The reason a user's own cancellation leaves on the withdrawal. */
export const CANCELED_BY_USER = 'canceled by user';

/**
 * Requests a withdrawal. Checks, in this order, each with its own code:
 * the user ('withdrawal.invalid_user', 'withdrawal.user_not_found', 'withdrawal.user_disabled');
 * the KYC tier ('withdrawal.kyc_forbidden'); the asset and network ('withdrawal.unknown_asset',
 * 'withdrawal.invalid_network'); the address ('withdrawal.invalid_address', and
 * 'withdrawal.address_not_allowed' when the user's allow-list for the asset does not name it);
 * the second factor when enabled ('withdrawal.totp_required', 'withdrawal.totp_invalid'); the
 * amount and client id ('withdrawal.invalid_amount', 'withdrawal.amount_too_precise',
 * 'withdrawal.invalid_client_id', 'withdrawal.duplicate_client_id'); the rolling 24-hour limit
 * of the tier ('withdrawal.limit_exceeded'). Then the funds are held: an engine refusal leaves
 * the withdrawal FAILED and is thrown ('withdrawal.insufficient_balance',
 * 'withdrawal.engine_refused'). Returns it AWAITING_APPROVAL above the asset's approval
 * threshold, else COMPLETED.
 */
export async function requestWithdrawal(
  db: Kysely<Database>,
  engine: EnginePort,
  deps: WithdrawalDeps,
  input: RequestWithdrawalInput,
): Promise<Withdrawal> {
  const markets = engine.markets;
  const config = resolveFundsConfig(markets, deps.config);
  const userId = checkUserId(input.userId, 'withdrawal.invalid_user');
  const user = await db
    .selectFrom('users')
    .select(['id', 'status', 'kycTier'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (user === undefined)
    throw new AccountsError('withdrawal.user_not_found', `user ${userId} does not exist`);
  if (user.status !== 'ACTIVE')
    throw new AccountsError('withdrawal.user_disabled', 'this account is disabled');
  const policy = kycPolicy(user.kycTier);
  if (!policy.canWithdraw)
    throw new AccountsError(
      'withdrawal.kyc_forbidden',
      `KYC tier ${policy.tier} (${policy.name}) may not withdraw: complete identity verification first`,
    );
  const asset = resolveAsset(markets, input.asset, 'withdrawal');
  const network = checkNetwork(input.network, 'withdrawal.invalid_network');
  if (!config.networks.get(asset.asset)?.has(network))
    throw new AccountsError(
      'withdrawal.invalid_network',
      `${asset.asset} cannot be withdrawn on network ${network}`,
    );
  const address = checkAddress(input.address, 'withdrawal.invalid_address');
  if (!(await isAddressAllowed(db, userId, asset.asset, network, address)))
    throw new AccountsError(
      'withdrawal.address_not_allowed',
      `this address is not on your ${asset.asset} withdrawal allow-list`,
    );
  if (await deps.secondFactor.isEnabled(userId)) {
    if (input.totpCode === undefined || input.totpCode === '')
      throw new AccountsError('withdrawal.totp_required', 'a one-time code is required to withdraw');
    if (typeof input.totpCode !== 'string' || !(await deps.secondFactor.verify(userId, input.totpCode)))
      throw new AccountsError('withdrawal.totp_invalid', 'the one-time code is not valid');
  }
  const amountUnits = parseAmount(input.amount, asset, 'withdrawal');
  const clientId =
    input.clientId === undefined
      ? null
      : checkToken(input.clientId, 64, 'withdrawal.invalid_client_id', 'the withdrawal order id');
  const limitUnits = withdrawLimitUnits(markets, user.kycTier, asset.asset);
  const actor = `user:${userId}`;
  const ip = input.ip ?? null;

  const requested = await db.transaction().execute(async (trx) => {
    // One request at a time per user: the 24-hour sum below and the insert must not interleave
    // with another request of the same user, or two could each fit the limit and together not.
    await sql`select pg_advisory_xact_lock(${WITHDRAWAL_LOCK}, ${userId})`.execute(trx);
    if (clientId !== null) {
      const dup = await trx
        .selectFrom('withdrawals')
        .select('id')
        .where('userId', '=', userId)
        .where('clientId', '=', clientId)
        .executeTakeFirst();
      if (dup !== undefined)
        throw new AccountsError(
          'withdrawal.duplicate_client_id',
          `withdrawal order id ${clientId} is already used`,
        );
    }
    const used = await usedLast24h(trx, userId, asset.asset);
    if (used + amountUnits > limitUnits)
      throw new AccountsError(
        'withdrawal.limit_exceeded',
        `the 24-hour ${asset.asset} withdrawal limit of KYC tier ${policy.tier} is ${formatAmount(limitUnits, asset)}; ` +
          `${formatAmount(used, asset)} used, ${formatAmount(Math.max(0, limitUnits - used), asset)} left`,
      );
    const now = new Date();
    const row = await trx
      .insertInto('withdrawals')
      .values({
        userId,
        asset: asset.asset,
        network,
        address,
        amountUnits,
        status: 'REQUESTED',
        clientId,
        createdAt: now,
        updatedAt: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(trx, row, 'REQUESTED', actor, null, {
      action: 'withdrawal.requested',
      ip,
      detail: { network, address, amountUnits, clientId },
    });
    return row;
  });

  const result = await advance(db, engine, deps.config, requested.id, {}).catch((e: unknown) => {
    // The withdrawal is on record and will be driven on by reconcileWithdrawals: a second
    // request would withdraw twice, so the message says so.
    if (isAccountsError(e, 'withdrawal.engine_unavailable'))
      throw new AccountsError(
        e.code,
        `withdrawal ${requested.id} is recorded and will be processed once the engine is available; do not request it again`,
      );
    throw e;
  });
  if (result.failure !== null) throw result.failure;
  return toWithdrawal(markets, result.row);
}

/** The units of `asset` the user has withdrawn or has in flight over the last 24 hours. */
async function usedLast24h(trx: Transaction<Database>, userId: number, asset: string): Promise<number> {
  const { used } = await trx
    .selectFrom('withdrawals')
    .select(sql<number>`coalesce(sum(amount_units), 0)::int8`.as('used'))
    .where('userId', '=', userId)
    .where('asset', '=', asset)
    .where('status', 'not in', ['REJECTED', 'FAILED'])
    .where('createdAt', '>', sql<Date>`now() - interval '24 hours'`)
    .executeTakeFirstOrThrow();
  return used;
}

/** Sets the status, appends the trail event and the audit entry: one state change. */
async function recordEvent(
  trx: Transaction<Database>,
  row: WithdrawalRow,
  status: WithdrawalStatus,
  actor: string,
  note: string | null,
  audit: { action: string; ip?: string | null; detail?: Record<string, unknown> },
): Promise<void> {
  await trx.insertInto('withdrawalEvents').values({ withdrawalId: row.id, status, actor, note }).execute();
  await appendAudit(trx, {
    actor,
    action: audit.action,
    userId: row.userId,
    ip: audit.ip ?? null,
    detail: { withdrawalId: row.id, asset: row.asset, status, note, ...audit.detail },
  });
}

async function setStatus(
  trx: Transaction<Database>,
  id: number,
  status: WithdrawalStatus,
  extra: { reason?: string | null; txId?: string } = {},
): Promise<WithdrawalRow> {
  return trx
    .updateTable('withdrawals')
    .set({ status, updatedAt: new Date(), ...extra })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

function lockRow(
  trx: Transaction<Database>,
  id: number,
  skipLocked: boolean,
): Promise<WithdrawalRow | undefined> {
  const query = trx.selectFrom('withdrawals').selectAll().where('id', '=', id).forUpdate();
  return (skipLocked ? query.skipLocked() : query).executeTakeFirst();
}

function needsApproval(markets: Markets, config: FundsConfig, row: WithdrawalRow): boolean {
  const threshold = resolveFundsConfig(markets, config).approvalThresholdUnits.get(row.asset);
  return threshold === undefined || row.amountUnits > threshold;
}

/** The outcome of driving a withdrawal forward: where it stands, and the error to report. */
interface Advanced {
  readonly row: WithdrawalRow;
  readonly failure: AccountsError | null;
  /** The engine no longer knows a HELD withdrawal and the ledger shows no settlement. */
  readonly unresolved: boolean;
}

/**
 * Drives a withdrawal from REQUESTED (hold) and HELD (settle, when no approval is needed) as
 * far as it goes without an operator. Each step locks the row and does nothing if the status
 * moved on meanwhile, so a request and a reconciliation may both call it on one withdrawal.
 */
async function advance(
  db: Kysely<Database>,
  engine: EnginePort,
  config: FundsConfig,
  id: number,
  options: { skipLocked?: boolean },
): Promise<Advanced> {
  const skipLocked = options.skipLocked === true;
  const markets = engine.markets;
  const held = await db.transaction().execute(async (trx): Promise<Advanced | null> => {
    const row = await lockRow(trx, id, skipLocked);
    if (row === undefined) return null;
    if (row.status !== 'REQUESTED') return { row, failure: null, unresolved: false };
    const asset = resolveAsset(markets, row.asset, 'withdrawal');
    const outcome = await submitFunds(engine, command('WithdrawalHold', row, asset), 'withdrawal');
    // DUPLICATE_WITHDRAWAL: the engine holds this refId already (a hold sent before a crash).
    if (outcome.ok || outcome.code === ResultCode.DUPLICATE_WITHDRAWAL) {
      const seq = outcome.ok ? outcome.event.seq : null;
      let updated = await setStatus(trx, id, 'HELD');
      await recordEvent(
        trx,
        updated,
        'HELD',
        'system',
        seq === null ? 'held before a restart' : `seq ${seq}`,
        {
          action: 'withdrawal.held',
          detail: { seq },
        },
      );
      if (needsApproval(markets, config, updated)) {
        updated = await setStatus(trx, id, 'AWAITING_APPROVAL');
        await recordEvent(trx, updated, 'AWAITING_APPROVAL', 'system', 'above the approval threshold', {
          action: 'withdrawal.awaiting_approval',
        });
      }
      return { row: updated, failure: null, unresolved: false };
    }
    const insufficient = outcome.code === ResultCode.INSUFFICIENT_BALANCE;
    const reason = insufficient ? 'insufficient balance' : `refused by the engine (${outcome.codeName})`;
    const updated = await setStatus(trx, id, 'FAILED', { reason });
    await recordEvent(trx, updated, 'FAILED', 'system', reason, {
      action: 'withdrawal.failed',
      detail: { seq: outcome.seq, code: outcome.codeName },
    });
    const failure = insufficient
      ? new AccountsError(
          'withdrawal.insufficient_balance',
          `insufficient ${row.asset} balance for this withdrawal`,
        )
      : new AccountsError('withdrawal.engine_refused', `the withdrawal was refused: ${outcome.codeName}`);
    return { row: updated, failure, unresolved: false };
  });
  if (held === null || held.row.status !== 'HELD') {
    return held ?? { row: await readRow(db, id), failure: null, unresolved: false };
  }
  const settled = await db.transaction().execute(async (trx) => {
    const row = await lockRow(trx, id, skipLocked);
    if (row === undefined || row.status !== 'HELD') return null;
    return settleLocked(trx, engine, row, 'system', 'completed automatically', { resolveFromLedger: true });
  });
  return settled ?? { row: await readRow(db, id), failure: null, unresolved: false };
}

async function readRow(db: Kysely<Database>, id: number): Promise<WithdrawalRow> {
  return db.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

function command(
  kind: 'WithdrawalHold' | 'WithdrawalSettle' | 'WithdrawalRelease',
  row: WithdrawalRow,
  asset: ResolvedAsset,
) {
  return { kind, userId: row.userId, assetId: asset.assetId, amountUnits: row.amountUnits, refId: row.id };
}

/**
 * Settles a locked, held withdrawal: the funds leave, it becomes COMPLETED with a generated
 * transaction id standing for the chain transaction. If the engine no longer knows the hold
 * (UNKNOWN_WITHDRAWAL), an earlier settle may have gone through before a crash: with
 * `resolveFromLedger` a WITHDRAWAL ledger entry for it (ref "withdrawal:<id>") proves that and
 * the row is completed; otherwise the row is left as it is and reported unresolved.
 */
async function settleLocked(
  trx: Transaction<Database>,
  engine: EnginePort,
  row: WithdrawalRow,
  actor: string,
  note: string,
  options: { resolveFromLedger?: boolean } = {},
): Promise<Advanced> {
  const asset = resolveAsset(engine.markets, row.asset, 'withdrawal');
  const outcome = await submitFunds(engine, command('WithdrawalSettle', row, asset), 'withdrawal');
  let seq: number;
  if (outcome.ok) {
    seq = outcome.event.seq;
  } else {
    const entry =
      outcome.code === ResultCode.UNKNOWN_WITHDRAWAL && options.resolveFromLedger === true
        ? await trx
            .selectFrom('ledgerEntries')
            .select('seq')
            .where('ref', '=', `withdrawal:${row.id}`)
            .where('kind', '=', 'WITHDRAWAL')
            .where('accountId', '=', row.userId)
            .limit(1)
            .executeTakeFirst()
        : undefined;
    if (entry === undefined)
      return {
        row,
        failure: new AccountsError(
          'withdrawal.engine_mismatch',
          `the engine refused to settle withdrawal ${row.id} (${outcome.codeName}); an operator must check the ledger`,
        ),
        unresolved: true,
      };
    seq = entry.seq;
  }
  const txId = randomBytes(32).toString('hex');
  const updated = await setStatus(trx, row.id, 'COMPLETED', { txId });
  await recordEvent(trx, updated, 'COMPLETED', actor, note, {
    action: 'withdrawal.completed',
    detail: { seq, txId, amountUnits: row.amountUnits, address: row.address, network: row.network },
  });
  return { row: updated, failure: null, unresolved: false };
}

/** Releases a locked, held withdrawal's funds and marks it REJECTED with `reason`. */
async function releaseLocked(
  trx: Transaction<Database>,
  engine: EnginePort,
  row: WithdrawalRow,
  actor: string,
  reason: string,
  audit: { action: string; ip?: string | null },
): Promise<WithdrawalRow> {
  const asset = resolveAsset(engine.markets, row.asset, 'withdrawal');
  const outcome = await submitFunds(engine, command('WithdrawalRelease', row, asset), 'withdrawal');
  if (!outcome.ok)
    throw new AccountsError(
      'withdrawal.engine_mismatch',
      `the engine refused to release withdrawal ${row.id} (${outcome.codeName}); an operator must check the ledger`,
    );
  const updated = await setStatus(trx, row.id, 'REJECTED', { reason });
  await recordEvent(trx, updated, 'REJECTED', actor, reason, {
    ...audit,
    detail: { seq: outcome.event.seq, freeUnits: outcome.event.freeUnits },
  });
  return updated;
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)
    throw new AccountsError('withdrawal.not_found', 'withdrawal not found');
  return id;
}

/**
 * Locks withdrawal `id` (of `userId` when given: another user's is 'withdrawal.not_found', the
 * same answer as a missing one) and checks it is AWAITING_APPROVAL ('withdrawal.bad_state').
 */
async function lockAwaiting(
  trx: Transaction<Database>,
  id: number,
  userId: number | null,
): Promise<WithdrawalRow> {
  const row = await lockRow(trx, id, false);
  if (row === undefined || (userId !== null && row.userId !== userId))
    throw new AccountsError('withdrawal.not_found', `withdrawal ${id} not found`);
  if (row.status !== 'AWAITING_APPROVAL')
    throw new AccountsError(
      'withdrawal.bad_state',
      `withdrawal ${id} is ${row.status}: only a withdrawal awaiting approval can be approved, rejected or canceled`,
    );
  return row;
}

/**
 * An operator approves a withdrawal awaiting approval: its funds leave and it is COMPLETED.
 * 'withdrawal.not_found', 'withdrawal.bad_state' (not awaiting approval: already approved,
 * rejected or canceled), 'withdrawal.invalid_operator'.
 */
export async function approveWithdrawal(
  db: Kysely<Database>,
  engine: EnginePort,
  id: number,
  operator: string,
): Promise<Withdrawal> {
  const actor = operatorActor(operator, 'withdrawal.invalid_operator');
  const withdrawalId = checkId(id);
  const result = await db.transaction().execute(async (trx) => {
    const row = await lockAwaiting(trx, withdrawalId, null);
    const settled = await settleLocked(trx, engine, row, actor, 'approved');
    // Throwing rolls the transaction back: nothing about the withdrawal changes.
    if (settled.failure !== null) throw settled.failure;
    return settled.row;
  });
  return toWithdrawal(engine.markets, result);
}

/**
 * An operator rejects a withdrawal awaiting approval: the hold is released and it is REJECTED
 * with `reason` (1-256 printable characters, shown to the user). 'withdrawal.not_found',
 * 'withdrawal.bad_state', 'withdrawal.invalid_operator', 'withdrawal.invalid_reason'.
 */
export async function rejectWithdrawal(
  db: Kysely<Database>,
  engine: EnginePort,
  id: number,
  operator: string,
  reason: string,
): Promise<Withdrawal> {
  const actor = operatorActor(operator, 'withdrawal.invalid_operator');
  const why = checkText(reason, 1, 256, 'withdrawal.invalid_reason', 'the reason');
  const withdrawalId = checkId(id);
  const row = await db.transaction().execute(async (trx) => {
    const locked = await lockAwaiting(trx, withdrawalId, null);
    return releaseLocked(trx, engine, locked, actor, why, { action: 'withdrawal.rejected' });
  });
  return toWithdrawal(engine.markets, row);
}

/**
 * The user cancels their own withdrawal while it awaits approval: the hold is released and it
 * is REJECTED ('canceled by user'). Another user's withdrawal is 'withdrawal.not_found'.
 */
export async function cancelWithdrawal(
  db: Kysely<Database>,
  engine: EnginePort,
  userId: number,
  id: number,
  meta: { readonly ip?: string | null } = {},
): Promise<Withdrawal> {
  const owner = checkUserId(userId, 'withdrawal.invalid_user');
  const withdrawalId = checkId(id);
  const row = await db.transaction().execute(async (trx) => {
    const locked = await lockAwaiting(trx, withdrawalId, owner);
    return releaseLocked(trx, engine, locked, `user:${owner}`, CANCELED_BY_USER, {
      action: 'withdrawal.canceled',
      ip: meta.ip ?? null,
    });
  });
  return toWithdrawal(engine.markets, row);
}

/** What reconcileWithdrawals did, by withdrawal id. */
export interface ReconcileWithdrawalsResult {
  /** Moved on (held, waiting for approval, completed or failed). */
  readonly advanced: readonly number[];
  /** Left as they were: an operator must compare them with the ledger. */
  readonly unresolved: readonly number[];
}

/**
 * Drives withdrawals left REQUESTED or HELD by a crash (or an unreachable engine) on, as their
 * request would have: REQUESTED is held again (a DUPLICATE_WITHDRAWAL answer means the hold
 * was already made, so funds are never held twice), then completed or queued for approval;
 * HELD is settled (if the engine no longer knows it, a WITHDRAWAL ledger entry proves an
 * earlier settle, and without one the row is reported unresolved). Rows a live request holds
 * are skipped: it finishes them itself.
 */
export async function reconcileWithdrawals(
  db: Kysely<Database>,
  engine: EnginePort,
  config: FundsConfig,
): Promise<ReconcileWithdrawalsResult> {
  const stuck = await db
    .selectFrom('withdrawals')
    .select('id')
    .where('status', 'in', ['REQUESTED', 'HELD'])
    .orderBy('id')
    .execute();
  const advanced: number[] = [];
  const unresolved: number[] = [];
  for (const { id } of stuck) {
    const before = await readRow(db, id);
    const result = await advance(db, engine, config, id, { skipLocked: true });
    if (result.unresolved) unresolved.push(id);
    else if (result.row.status !== before.status) advanced.push(id);
  }
  return { advanced, unresolved };
}
