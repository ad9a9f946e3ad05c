/**
 * Deposit and withdrawal history with Binance's semantics (GET /sapi/v1/capital/deposit/hisrec
 * and /sapi/v1/capital/withdraw/history): optional coin and status filters, a time window that
 * defaults to the last 90 days and may span at most 90 days, newest first, `offset` and `limit`
 * (default 1000, at most 1000). Statuses are Binance's numbers, beside this platform's own
 * names. Every query is scoped to one user; operators read through an explicit operator scope.
 * Times are milliseconds since the epoch.
 */
import type { Kysely } from 'kysely';
import type { Markets } from '../../engine/index.ts';
import type { Database, DepositRow, WithdrawalRow, WithdrawalStatus } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import { toDeposit } from './deposit.service.ts';
import { checkUserId, formatAmount, resolveAsset } from './funds-input.ts';
import { toWithdrawal, type Withdrawal } from './withdrawal.service.ts';

/** The longest window a history query may span, and the default one: 90 days. */
export const HISTORY_MAX_SPAN_MS = 90 * 24 * 3600 * 1000;
/** The default and largest page. */
export const HISTORY_MAX_LIMIT = 1000;

/** Binance's deposit statuses: 0 pending, 1 success, 2 rejected. */
export const DEPOSIT_STATUS_CODE: Readonly<Record<DepositRow['status'], number>> = {
  PENDING: 0,
  CREDITED: 1,
  REJECTED: 2,
};

/**
 * Binance's withdrawal statuses: 2 awaiting approval, 3 rejected, 4 processing, 5 failure,
 * 6 completed (0 "email sent" has no counterpart: confirmation is the second factor).
 */
export const WITHDRAWAL_STATUS_CODE: Readonly<Record<WithdrawalStatus, number>> = {
  REQUESTED: 4,
  HELD: 4,
  AWAITING_APPROVAL: 2,
  COMPLETED: 6,
  REJECTED: 3,
  FAILED: 5,
};

/** Who is reading: a user (their own records only) or an operator (any record). */
export type FundsReader = { readonly userId: number } | { readonly operator: string };

/** The filters both histories share. */
export interface HistoryQuery {
  /** An asset name; absent: every asset. */
  readonly coin?: string;
  /** A Binance status number; absent: every status. */
  readonly status?: number;
  readonly startTime?: number;
  readonly endTime?: number;
  /** Rows to skip (default 0). */
  readonly offset?: number;
  /** Rows to return, 1..1000 (default 1000). */
  readonly limit?: number;
}

/** Deposit history filters. */
export interface DepositHistoryQuery extends HistoryQuery {
  readonly txId?: string;
}

/** Withdrawal history filters. */
export interface WithdrawalHistoryQuery extends HistoryQuery {
  /** The client's own id (withdrawOrderId). */
  readonly withdrawOrderId?: string;
  /** Only these withdrawal ids (at most 45, as Binance allows). */
  readonly idList?: readonly number[];
}

/** A deposit in Binance's terms. */
export interface DepositRecord {
  readonly id: number;
  readonly coin: string;
  readonly network: string;
  /** Decimal string in the coin's unit. */
  readonly amount: string;
  /** Binance's number (DEPOSIT_STATUS_CODE). */
  readonly status: number;
  /** This platform's own status. */
  readonly state: DepositRow['status'];
  readonly txId: string;
  readonly insertTime: number;
  readonly completeTime: number | null;
  readonly source: string;
}

/** A withdrawal in Binance's terms. */
export interface WithdrawalRecord {
  readonly id: number;
  readonly coin: string;
  readonly network: string;
  readonly address: string;
  readonly amount: string;
  readonly transactionFee: string;
  /** Binance's number (WITHDRAWAL_STATUS_CODE). */
  readonly status: number;
  readonly state: WithdrawalStatus;
  readonly txId: string | null;
  readonly withdrawOrderId: string | null;
  /** Why it was rejected or failed. */
  readonly info: string | null;
  readonly applyTime: number;
  readonly completeTime: number | null;
  readonly updateTime: number;
}

/** A withdrawal's state change, as recorded. */
export interface WithdrawalEvent {
  readonly status: WithdrawalStatus;
  /** "user:<id>", "operator:<name>" or "system". */
  readonly actor: string;
  readonly note: string | null;
  readonly at: Date;
}

interface Window {
  readonly start: Date;
  readonly end: Date;
  readonly offset: number;
  readonly limit: number;
}

function checkTime(t: unknown, what: string): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0)
    throw new AccountsError('history.invalid_time', `${what} must be milliseconds since the epoch`);
  return t;
}

/**
 * The time window and page of a query. Only startTime: up to 90 days after it (not beyond
 * now); only endTime: the 90 days before it; neither: the last 90 days.
 */
function windowOf(q: HistoryQuery, now: number): Window {
  const startTime = checkTime(q.startTime, 'startTime');
  const endTime = checkTime(q.endTime, 'endTime');
  const end = endTime ?? (startTime === undefined ? now : Math.min(now, startTime + HISTORY_MAX_SPAN_MS));
  const start = startTime ?? end - HISTORY_MAX_SPAN_MS;
  if (start > end)
    throw new AccountsError('history.invalid_time_range', 'startTime must not be after endTime');
  if (end - start > HISTORY_MAX_SPAN_MS)
    throw new AccountsError(
      'history.time_range_too_long',
      'the time between startTime and endTime must be at most 90 days',
    );
  const offset = q.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new AccountsError('history.invalid_offset', 'offset must be a non-negative integer');
  const limit = q.limit ?? HISTORY_MAX_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT)
    throw new AccountsError(
      'history.invalid_limit',
      `limit must be an integer from 1 to ${HISTORY_MAX_LIMIT}`,
    );
  return { start: new Date(start), end: new Date(end), offset, limit };
}

/** The platform statuses a Binance status number stands for. */
function statusesOf<S extends string>(table: Readonly<Record<S, number>>, code: unknown): S[] {
  const statuses = (Object.keys(table) as S[]).filter((s) => table[s] === code);
  if (statuses.length === 0)
    throw new AccountsError('history.invalid_status', `status ${String(code)} is not valid`);
  return statuses;
}

function scopeUser(reader: FundsReader): number | null {
  if ('userId' in reader) return checkUserId(reader.userId, 'history.invalid_user');
  return null;
}

/** A user's deposits, newest first (Binance's deposit history). */
export async function depositHistory(
  db: Kysely<Database>,
  markets: Markets,
  userId: number,
  q: DepositHistoryQuery = {},
  now: number = Date.now(),
): Promise<DepositRecord[]> {
  const user = checkUserId(userId, 'history.invalid_user');
  const w = windowOf(q, now);
  let query = db
    .selectFrom('deposits')
    .selectAll()
    .where('userId', '=', user)
    .where('createdAt', '>=', w.start)
    .where('createdAt', '<=', w.end);
  if (q.coin !== undefined) query = query.where('asset', '=', q.coin);
  if (q.status !== undefined) query = query.where('status', 'in', statusesOf(DEPOSIT_STATUS_CODE, q.status));
  if (q.txId !== undefined) query = query.where('txId', '=', q.txId);
  const rows = await query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .offset(w.offset)
    .limit(w.limit)
    .execute();
  return rows.map((r) => {
    const d = toDeposit(markets, r);
    return {
      id: d.id,
      coin: d.asset,
      network: d.network,
      amount: d.amount,
      status: DEPOSIT_STATUS_CODE[d.status],
      state: d.status,
      txId: d.txId,
      insertTime: d.createdAt.getTime(),
      completeTime: d.creditedAt?.getTime() ?? null,
      source: d.source,
    };
  });
}

/** A user's withdrawals, newest first (Binance's withdrawal history). */
export async function withdrawalHistory(
  db: Kysely<Database>,
  markets: Markets,
  userId: number,
  q: WithdrawalHistoryQuery = {},
  now: number = Date.now(),
): Promise<WithdrawalRecord[]> {
  const user = checkUserId(userId, 'history.invalid_user');
  const w = windowOf(q, now);
  let query = db
    .selectFrom('withdrawals')
    .selectAll()
    .where('userId', '=', user)
    .where('createdAt', '>=', w.start)
    .where('createdAt', '<=', w.end);
  if (q.coin !== undefined) query = query.where('asset', '=', q.coin);
  if (q.status !== undefined)
    query = query.where('status', 'in', statusesOf(WITHDRAWAL_STATUS_CODE, q.status));
  if (q.withdrawOrderId !== undefined) query = query.where('clientId', '=', q.withdrawOrderId);
  if (q.idList !== undefined) {
    if (q.idList.length === 0 || q.idList.length > 45 || !q.idList.every((id) => Number.isSafeInteger(id)))
      throw new AccountsError('history.invalid_id_list', 'idList must hold 1 to 45 withdrawal ids');
    query = query.where('id', 'in', [...q.idList]);
  }
  const rows = await query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .offset(w.offset)
    .limit(w.limit)
    .execute();
  return rows.map((r) => toWithdrawalRecord(markets, r));
}

function toWithdrawalRecord(markets: Markets, r: WithdrawalRow): WithdrawalRecord {
  const asset = resolveAsset(markets, r.asset, 'withdrawal');
  return {
    id: r.id,
    coin: r.asset,
    network: r.network,
    address: r.address,
    amount: formatAmount(r.amountUnits, asset),
    transactionFee: formatAmount(r.feeUnits, asset),
    status: WITHDRAWAL_STATUS_CODE[r.status],
    state: r.status,
    txId: r.txId,
    withdrawOrderId: r.clientId,
    info: r.reason,
    applyTime: r.createdAt.getTime(),
    completeTime: r.status === 'COMPLETED' ? r.updatedAt.getTime() : null,
    updateTime: r.updatedAt.getTime(),
  };
}

async function readWithdrawal(db: Kysely<Database>, reader: FundsReader, id: number): Promise<WithdrawalRow> {
  const user = scopeUser(reader);
  let query = db
    .selectFrom('withdrawals')
    .selectAll()
    .where('id', '=', Number.isSafeInteger(id) ? id : 0);
  if (user !== null) query = query.where('userId', '=', user);
  const row = await query.executeTakeFirst();
  // Another user's withdrawal gets the same answer as a missing one: its existence stays unknown.
  if (row === undefined) throw new AccountsError('withdrawal.not_found', `withdrawal ${id} not found`);
  return row;
}

/** One withdrawal, if the reader may see it ('withdrawal.not_found' otherwise). */
export async function getWithdrawal(
  db: Kysely<Database>,
  markets: Markets,
  reader: FundsReader,
  id: number,
): Promise<Withdrawal> {
  return toWithdrawal(markets, await readWithdrawal(db, reader, id));
}

/** A withdrawal's state changes, oldest first, if the reader may see it. */
export async function withdrawalTrail(
  db: Kysely<Database>,
  reader: FundsReader,
  id: number,
): Promise<WithdrawalEvent[]> {
  const row = await readWithdrawal(db, reader, id);
  return db
    .selectFrom('withdrawalEvents')
    .select(['status', 'actor', 'note', 'at'])
    .where('withdrawalId', '=', row.id)
    .orderBy('id')
    .execute();
}

/** The operators' queue: withdrawals awaiting approval, oldest first. */
export async function listPendingApprovals(
  db: Kysely<Database>,
  markets: Markets,
  filter: { readonly asset?: string; readonly afterId?: number; readonly limit?: number } = {},
): Promise<Withdrawal[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT)
    throw new AccountsError(
      'history.invalid_limit',
      `limit must be an integer from 1 to ${HISTORY_MAX_LIMIT}`,
    );
  let query = db.selectFrom('withdrawals').selectAll().where('status', '=', 'AWAITING_APPROVAL');
  if (filter.asset !== undefined) query = query.where('asset', '=', filter.asset);
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => toWithdrawal(markets, r));
}
