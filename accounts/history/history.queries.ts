/**
 * A user's history as the persister wrote it: orders (Binance `allOrders` and `GET order`),
 * trades (`myTrades`, through the trade store port) and the ledger (this platform's own
 * account statement). Every query takes the user's id from the caller's authentication and
 * is scoped by it: no parameter can reach another user's rows. Every parameter is checked,
 * a bad one failing with an AccountsError `history.*`.
 *
 * Rows keep the engine's integers (price ticks, quantity lots, smallest units) and times in
 * microseconds; the gateway formats decimals and milliseconds (order-format.ts).
 */
import type { Kysely } from 'kysely';
import type { Markets } from '../../engine/index.ts';
import type { Database, LedgerEntriesTable, OrderRow } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import { checkLimit, checkWindow, optionalInt } from '../trade-store/trade-query.ts';
import type { TradeStore, UserTrade, UserTradesQuery } from '../trade-store/trade-store.port.ts';

/** What the history queries read from. */
export interface HistoryContext {
  readonly db: Kysely<Database>;
  /** The listed markets and assets: a symbol or asset outside them is refused. */
  readonly markets: Markets;
  readonly trades: TradeStore;
}

/** Binance `allOrders`: one symbol, from an order id or within a time window (creation time). */
export interface AllOrdersQuery {
  readonly symbol: string;
  /** Orders with id >= this, oldest first. */
  readonly orderId?: number;
  readonly startMicros?: number;
  readonly endMicros?: number;
  /** Default 500, at most 1000. */
  readonly limit?: number;
}

/** Binance `GET order`: by order id or by client order id (the most recent with it). */
export interface OrderLookup {
  readonly symbol: string;
  readonly orderId?: number;
  readonly clientOrderId?: string;
}

/** A ledger page: optionally one asset, optionally a window, from a cursor. */
export interface LedgerQuery {
  readonly asset?: string;
  readonly startMicros?: number;
  readonly endMicros?: number;
  /** Continue after this entry id (exclusive), in the query's order: the previous page's `nextCursor`. */
  readonly cursor?: number;
  /** "desc" (default): newest first; "asc": oldest first. */
  readonly order?: 'asc' | 'desc';
  /** Default 500, at most 1000. */
  readonly limit?: number;
}

/** One entry of the user's ledger: a signed change of one asset's total. */
export interface LedgerEntry {
  readonly id: number;
  readonly seq: number;
  readonly asset: string;
  readonly amountUnits: number;
  readonly kind: LedgerEntriesTable['kind'];
  /** What caused it: "trade:BTCUSDT:12", "deposit:<refId>", "withdrawal:<refId>". */
  readonly ref: string;
  readonly tsMicros: number;
}

/** A page of ledger entries and the cursor of the next page (null: this is the last). */
export interface LedgerPage {
  readonly entries: LedgerEntry[];
  readonly nextCursor: number | null;
}

const CLIENT_ORDER_ID = /^[.A-Za-z0-9:/_-]{1,36}$/;

function checkUser(userId: unknown): number {
  const id = optionalInt(userId, 'userId', 1, 'history.bad_user');
  if (id === undefined) throw new AccountsError('history.bad_user', 'a user id is required');
  return id;
}

function checkListedSymbol(ctx: HistoryContext, symbol: unknown): string {
  if (typeof symbol !== 'string' || ctx.markets.get(symbol) === undefined) {
    throw new AccountsError('history.unknown_symbol', 'symbol is not a listed market');
  }
  return symbol;
}

/** A user's orders of one symbol, oldest first (Binance `allOrders`). */
export async function userOrders(
  ctx: HistoryContext,
  userId: number,
  query: AllOrdersQuery,
): Promise<OrderRow[]> {
  const user = checkUser(userId);
  const q = query ?? ({} as AllOrdersQuery);
  const symbol = checkListedSymbol(ctx, q.symbol);
  const fromId = optionalInt(q.orderId, 'orderId', 1, 'history.bad_order_id');
  const { startMicros, endMicros } = checkWindow(q.startMicros, q.endMicros);
  const limit = checkLimit(q.limit);
  // From an id or a start time: the oldest `limit` after it; otherwise the newest `limit`.
  const newest = fromId === undefined && startMicros === undefined;
  let sel = ctx.db.selectFrom('orders').selectAll().where('userId', '=', user).where('symbol', '=', symbol);
  if (fromId !== undefined) sel = sel.where('orderId', '>=', fromId);
  if (startMicros !== undefined) sel = sel.where('createdMicros', '>=', startMicros);
  if (endMicros !== undefined) sel = sel.where('createdMicros', '<=', endMicros);
  const rows = await sel
    .orderBy('orderId', newest ? 'desc' : 'asc')
    .limit(limit)
    .execute();
  return newest ? rows.reverse() : rows;
}

/** One of the user's orders (Binance `GET order`); AccountsError `history.order_not_found` if none. */
export async function userOrder(ctx: HistoryContext, userId: number, query: OrderLookup): Promise<OrderRow> {
  const user = checkUser(userId);
  const q = query ?? ({} as OrderLookup);
  const symbol = checkListedSymbol(ctx, q.symbol);
  const orderId = optionalInt(q.orderId, 'orderId', 1, 'history.bad_order_id');
  const cid = q.clientOrderId;
  if (cid !== undefined && (typeof cid !== 'string' || !CLIENT_ORDER_ID.test(cid))) {
    throw new AccountsError(
      'history.bad_client_order_id',
      'clientOrderId must be 1-36 of A-Z a-z 0-9 . : / _ -',
    );
  }
  if (orderId === undefined && cid === undefined) {
    throw new AccountsError('history.missing_order_reference', 'either orderId or clientOrderId is required');
  }
  let sel = ctx.db.selectFrom('orders').selectAll().where('userId', '=', user).where('symbol', '=', symbol);
  if (orderId !== undefined) sel = sel.where('orderId', '=', orderId);
  if (cid !== undefined) sel = sel.where('clientOrderId', '=', cid);
  const row = await sel.orderBy('orderId', 'desc').limit(1).executeTakeFirst();
  if (row === undefined) throw new AccountsError('history.order_not_found', 'Order does not exist.');
  return row;
}

/** The user's trades of one symbol (Binance `myTrades`), through the trade store. */
export async function userTrades(
  ctx: HistoryContext,
  userId: number,
  query: Omit<UserTradesQuery, 'userId'>,
): Promise<UserTrade[]> {
  const user = checkUser(userId);
  const q = query ?? ({} as Omit<UserTradesQuery, 'userId'>);
  checkListedSymbol(ctx, q.symbol);
  // The user id comes last: a `userId` smuggled into the query cannot override it.
  return ctx.trades.userTrades({ ...q, userId: user });
}

/** A page of the user's ledger. */
export async function userLedger(
  ctx: HistoryContext,
  userId: number,
  query: LedgerQuery = {},
): Promise<LedgerPage> {
  const user = checkUser(userId);
  const q = query ?? {};
  if (q.asset !== undefined && (typeof q.asset !== 'string' || !ctx.markets.assets.has(q.asset))) {
    throw new AccountsError('history.bad_asset', 'asset is not a listed asset');
  }
  const order = q.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new AccountsError('history.bad_order', 'order must be "asc" or "desc"');
  }
  const cursor = optionalInt(q.cursor, 'cursor', 0, 'history.bad_cursor');
  const start = optionalInt(q.startMicros, 'startTime', 0, 'history.bad_time');
  const end = optionalInt(q.endMicros, 'endTime', 0, 'history.bad_time');
  if (start !== undefined && end !== undefined && start > end) {
    throw new AccountsError('history.bad_time_range', 'startTime must not be after endTime');
  }
  const limit = checkLimit(q.limit);
  let sel = ctx.db
    .selectFrom('ledgerEntries')
    .select(['id', 'seq', 'asset', 'amountUnits', 'kind', 'ref', 'tsMicros'])
    .where('accountId', '=', user);
  if (q.asset !== undefined) sel = sel.where('asset', '=', q.asset);
  if (start !== undefined) sel = sel.where('tsMicros', '>=', start);
  if (end !== undefined) sel = sel.where('tsMicros', '<=', end);
  if (cursor !== undefined) sel = sel.where('id', order === 'asc' ? '>' : '<', cursor);
  // One more than the page: whether another page follows, without a second query.
  const rows = await sel
    .orderBy('id', order)
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const entries = more ? rows.slice(0, limit) : rows;
  return { entries, nextCursor: more ? entries[entries.length - 1]!.id : null };
}
