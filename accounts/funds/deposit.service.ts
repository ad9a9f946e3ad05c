/**
 * Deposits: funds arriving from outside, credited through the engine (a Deposit command), so
 * the engine's balances, the ledger the persister writes from its events and the deposit
 * records always agree.
 *
 * Exactly once, by the external transaction id. A deposit is keyed by (asset, network, txId)
 * under a unique constraint, and credited in two steps:
 *   1. the row is inserted PENDING and committed: the intent is on record before the engine
 *      hears of it, and a second call with the same txId finds it and credits nothing;
 *   2. holding the row's lock (SELECT ... FOR UPDATE), the Deposit command is submitted with
 *      refId = the deposit's id, and the row becomes CREDITED with the engine's seq (or
 *      REJECTED with the engine's reason) in the same transaction.
 * A crash between the engine applying step 2 and its commit leaves a PENDING row whose credit
 * the engine has already made. `reconcilePendingDeposits` finishes such rows; the rule it
 * follows so that nothing is ever credited twice is in its own comment.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Markets } from '../../engine/index.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Database, DepositRow } from '../db/schema.ts';
import { AccountsError, isAccountsError } from '../errors.ts';
import type { EnginePort } from '../ports/engine.port.ts';
import type { FundsConfig } from './funds-config.ts';
import { submitFunds } from './funds-engine.ts';
import {
  checkNetwork,
  checkToken,
  checkUserId,
  formatAmount,
  parseAmount,
  printable,
  resolveAsset,
} from './funds-input.ts';

/** Who reports a deposit: an operator by hand, or a deposit watcher following a chain. */
export type DepositSource = 'operator' | 'watcher';

/** A deposit to credit. */
export interface CreditDepositInput {
  readonly userId: number;
  /** The asset's name in the markets file ("BTC"). */
  readonly asset: string;
  /** The network it arrived on ("BTC", "ETH", "TRX"). */
  readonly network: string;
  /** The external transaction id (1-128 visible characters): the idempotency key. */
  readonly txId: string;
  /** A positive decimal string in the asset's unit ("0.5"). */
  readonly amount: string;
  readonly source: DepositSource;
  /** For the audit log: "operator:<name>" or "watcher:<name>". */
  readonly actor: string;
}

/** Options of creditDeposit. */
export interface CreditDepositOptions {
  /** When given, the network must be one listed for the asset (as withdrawals require). */
  readonly networks?: FundsConfig['networks'];
}

/** A deposit as callers see it. */
export interface Deposit {
  readonly id: number;
  readonly userId: number;
  readonly asset: string;
  readonly network: string;
  readonly txId: string;
  /** Decimal string in the asset's unit, all its places ("0.50000000"). */
  readonly amount: string;
  readonly amountUnits: number;
  /** PENDING (recorded, credit in progress), CREDITED, or REJECTED by the engine. */
  readonly status: DepositRow['status'];
  /** The engine seq that credited it (null until credited). */
  readonly seq: number | null;
  readonly source: string;
  readonly createdAt: Date;
  readonly creditedAt: Date | null;
}

/** A deposit row as callers see it (amount as a decimal string). */
export function toDeposit(markets: Markets, row: DepositRow): Deposit {
  const asset = resolveAsset(markets, row.asset, 'deposit');
  return {
    id: row.id,
    userId: row.userId,
    asset: row.asset,
    network: row.network,
    txId: row.txId,
    amount: formatAmount(row.amountUnits, asset),
    amountUnits: row.amountUnits,
    status: row.status,
    seq: row.seq,
    source: row.source,
    createdAt: row.createdAt,
    creditedAt: row.creditedAt,
  };
}

/**
 * Credits a deposit, exactly once per (asset, network, txId). A repeated call with the same
 * transaction id returns the existing deposit as it stands (CREDITED, or PENDING while another
 * call is crediting it) and credits nothing; a repeat that names another user or amount is
 * refused ('deposit.conflict'). Refusals: 'deposit.invalid_user', 'deposit.user_not_found',
 * 'deposit.unknown_asset', 'deposit.invalid_network', 'deposit.invalid_tx_id',
 * 'deposit.invalid_amount', 'deposit.amount_too_precise', 'deposit.invalid_source',
 * 'deposit.invalid_actor'; 'deposit.rejected' when the engine refuses it (the row is kept
 * REJECTED); 'deposit.engine_unavailable' when the engine cannot be reached (the row stays
 * PENDING for reconcilePendingDeposits).
 */
export async function creditDeposit(
  db: Kysely<Database>,
  engine: EnginePort,
  input: CreditDepositInput,
  options: CreditDepositOptions = {},
): Promise<Deposit> {
  const userId = checkUserId(input.userId, 'deposit.invalid_user');
  const asset = resolveAsset(engine.markets, input.asset, 'deposit');
  const network = checkNetwork(input.network, 'deposit.invalid_network');
  if (options.networks !== undefined && !(options.networks[asset.asset] ?? []).includes(network))
    throw new AccountsError(
      'deposit.invalid_network',
      `${asset.asset} does not travel on network ${network}`,
    );
  const txId = checkToken(input.txId, 128, 'deposit.invalid_tx_id', 'the transaction id');
  const amountUnits = parseAmount(input.amount, asset, 'deposit');
  if (input.source !== 'operator' && input.source !== 'watcher')
    throw new AccountsError(
      'deposit.invalid_source',
      `source ${printable(input.source)} is not operator or watcher`,
    );
  const actor = checkToken(input.actor, 128, 'deposit.invalid_actor', 'the actor');

  const user = await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (user === undefined) throw new AccountsError('deposit.user_not_found', `user ${userId} does not exist`);

  // Step 1: the intent, committed on its own. The unique constraint decides between concurrent
  // calls with one txId: exactly one inserts, the others find its row.
  const inserted = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('deposits')
      .values({
        userId,
        asset: asset.asset,
        network,
        txId,
        amountUnits,
        status: 'PENDING',
        source: input.source,
      })
      .onConflict((oc) => oc.columns(['asset', 'network', 'txId']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row !== undefined)
      await appendAudit(trx, {
        actor,
        action: 'deposit.received',
        userId,
        detail: { depositId: row.id, asset: asset.asset, network, txId, amountUnits, source: input.source },
      });
    return row;
  });

  if (inserted === undefined) {
    const existing = await db
      .selectFrom('deposits')
      .selectAll()
      .where('asset', '=', asset.asset)
      .where('network', '=', network)
      .where('txId', '=', txId)
      .executeTakeFirstOrThrow();
    if (existing.userId !== userId || existing.amountUnits !== amountUnits)
      throw new AccountsError(
        'deposit.conflict',
        `transaction ${printable(txId)} on ${network} is already recorded as deposit ${existing.id} with another user or amount`,
      );
    return toDeposit(engine.markets, existing);
  }

  // Step 2: the credit, under the row's lock.
  const { row, refusal } = await db
    .transaction()
    .execute((trx) => creditLocked(trx, engine, inserted.id, actor, null))
    .catch((e: unknown) => {
      if (isAccountsError(e, 'deposit.engine_unavailable'))
        throw new AccountsError(
          e.code,
          `deposit ${inserted.id} is recorded but the engine is not available; it will be credited by reconciliation`,
        );
      throw e;
    });
  if (refusal !== null)
    throw new AccountsError('deposit.rejected', `the engine refused deposit ${row.id}: ${refusal}`);
  return toDeposit(engine.markets, row);
}

/**
 * Within `trx`, locks deposit `id` and, if it is still PENDING, finishes it: marks it CREDITED
 * (at the seq in `applied`) when the engine is known to have applied it already (reconciliation), or else
 * submits the Deposit command and records the outcome. The engine call happens under the row
 * lock, so no other caller can submit the same deposit meanwhile.
 */
async function creditLocked(
  trx: Transaction<Database>,
  engine: EnginePort,
  id: number,
  actor: string,
  applied: { readonly seq: number | null } | null,
  options: { skipLocked?: boolean } = {},
): Promise<{ row: DepositRow; refusal: string | null; outcome: 'none' | 'recorded' | 'submitted' }> {
  let query = trx.selectFrom('deposits').selectAll().where('id', '=', id).forUpdate();
  if (options.skipLocked === true) query = query.skipLocked();
  const row = await query.executeTakeFirst();
  if (row === undefined || row.status !== 'PENDING') {
    // Someone else holds it (reconciliation skips it) or it is finished already.
    const current =
      row ?? (await trx.selectFrom('deposits').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    return { row: current, refusal: null, outcome: 'none' };
  }
  const detail = {
    depositId: id,
    asset: row.asset,
    network: row.network,
    txId: row.txId,
    amountUnits: row.amountUnits,
  };
  if (applied !== null) {
    const updated = await markCredited(trx, id, applied.seq);
    await appendAudit(trx, {
      actor,
      action: 'deposit.credited',
      userId: row.userId,
      detail: { ...detail, seq: applied.seq, reconciled: true },
    });
    return { row: updated, refusal: null, outcome: 'recorded' };
  }
  const asset = resolveAsset(engine.markets, row.asset, 'deposit');
  const outcome = await submitFunds(
    engine,
    { kind: 'Deposit', userId: row.userId, assetId: asset.assetId, amountUnits: row.amountUnits, refId: id },
    'deposit',
  );
  if (outcome.ok) {
    const updated = await markCredited(trx, id, outcome.event.seq);
    await appendAudit(trx, {
      actor,
      action: 'deposit.credited',
      userId: row.userId,
      detail: { ...detail, seq: outcome.event.seq, freeUnits: outcome.event.freeUnits },
    });
    return { row: updated, refusal: null, outcome: 'submitted' };
  }
  const updated = await trx
    .updateTable('deposits')
    .set({ status: 'REJECTED', seq: outcome.seq })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actor,
    action: 'deposit.rejected',
    userId: row.userId,
    detail: { ...detail, seq: outcome.seq, code: outcome.codeName },
  });
  return { row: updated, refusal: outcome.codeName, outcome: 'submitted' };
}

function markCredited(trx: Transaction<Database>, id: number, seq: number | null): Promise<DepositRow> {
  return trx
    .updateTable('deposits')
    .set({ status: 'CREDITED', seq, creditedAt: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Options of reconcilePendingDeposits. */
export interface ReconcileDepositsOptions {
  /**
   * Every deposit refId the engine has applied, with the seq that applied it when known (for
   * example from the FundsDeposited events of the journal or the event stream). When given,
   * it is the whole truth: a PENDING deposit not in it is submitted again.
   */
  readonly creditedRefIds?: ReadonlyMap<number, number> | ReadonlySet<number>;
  /** For the audit log (default "system"). */
  readonly actor?: string;
}

/** What reconciliation did, by deposit id. */
export interface ReconcileDepositsResult {
  /** The engine had credited them already: marked CREDITED without a new command. */
  readonly recorded: readonly number[];
  /** Submitted again and credited. */
  readonly credited: readonly number[];
  /** Submitted again and refused by the engine (now REJECTED). */
  readonly rejected: readonly number[];
}

/**
 * Finishes deposits left PENDING (a crash, or an engine that was unreachable, between steps 1
 * and 2 of creditDeposit), without ever crediting one twice.
 *
 * The rule. A PENDING deposit is submitted again only when the engine is known NOT to have
 * applied its refId; otherwise it is marked CREDITED at the seq that applied it. What the
 * engine applied is read from `creditedRefIds` when the caller gives it, else from the ledger:
 * the persister writes a DEPOSIT entry with ref "deposit:<refId>" for each FundsDeposited. The
 * ledger is complete only up to the persister's progress, so without `creditedRefIds` this
 * first requires every persister consumer (persister_state, the least last_seq) to have
 * reached the engine's current seq, and refuses with 'deposit.reconcile_unsafe' if one lags
 * (wait for it and call again). Each deposit is handled under its row lock, skipping rows a
 * live creditDeposit holds (it finishes them itself); a deposit whose creditDeposit has not yet
 * taken its lock is credited here, and that call then finds it CREDITED and submits nothing.
 */
export async function reconcilePendingDeposits(
  db: Kysely<Database>,
  engine: EnginePort,
  options: ReconcileDepositsOptions = {},
): Promise<ReconcileDepositsResult> {
  const actor = checkToken(options.actor ?? 'system', 128, 'deposit.invalid_actor', 'the actor');
  const given = options.creditedRefIds;
  if (given === undefined) {
    const { seq: engineSeq } = await engine.balances();
    const progress = await db
      .selectFrom('persisterState')
      .select(sql<number | null>`min(last_seq)`.as('seq'))
      .executeTakeFirst();
    const persisted = progress?.seq ?? 0;
    if (persisted < engineSeq)
      throw new AccountsError(
        'deposit.reconcile_unsafe',
        `the ledger is written up to seq ${persisted} but the engine is at ${engineSeq}: wait for the persister, then reconcile`,
      );
  }
  const pending = await db
    .selectFrom('deposits')
    .select('id')
    .where('status', '=', 'PENDING')
    .orderBy('id')
    .execute();
  const recorded: number[] = [];
  const credited: number[] = [];
  const rejected: number[] = [];
  for (const { id } of pending) {
    const result = await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('deposits')
        .select(['userId', 'asset'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) return null;
      let applied: { seq: number | null } | null = null;
      if (given instanceof Map) {
        const seq = given.get(id);
        applied = seq === undefined ? null : { seq };
      } else if (given !== undefined) {
        // A set says "applied" without the seq: CREDITED with the seq left unknown (null).
        applied = given.has(id) ? { seq: null } : null;
      } else {
        const entry = await trx
          .selectFrom('ledgerEntries')
          .select('seq')
          .where('ref', '=', `deposit:${id}`)
          .where('kind', '=', 'DEPOSIT')
          .where('accountId', '=', row.userId)
          .where('asset', '=', row.asset)
          .limit(1)
          .executeTakeFirst();
        applied = entry === undefined ? null : { seq: entry.seq };
      }
      return creditLocked(trx, engine, id, actor, applied, { skipLocked: true });
    });
    if (result === null || result.outcome === 'none') continue;
    if (result.outcome === 'recorded') recorded.push(id);
    else if (result.refusal === null) credited.push(id);
    else rejected.push(id);
  }
  return { recorded, credited, rejected };
}

/** A user's deposit by id; 'deposit.not_found' when it does not exist or is someone else's. */
export async function getDeposit(
  db: Kysely<Database>,
  markets: Markets,
  userId: number,
  id: number,
): Promise<Deposit> {
  const row = Number.isSafeInteger(id)
    ? await db
        .selectFrom('deposits')
        .selectAll()
        .where('id', '=', id)
        .where('userId', '=', userId)
        .executeTakeFirst()
    : undefined;
  if (row === undefined) throw new AccountsError('deposit.not_found', `deposit ${id} not found`);
  return toDeposit(markets, row);
}
