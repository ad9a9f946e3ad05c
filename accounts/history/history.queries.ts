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
import { type ExpressionBuilder, type Kysely, type RawBuilder, sql } from 'kysely';
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
  // A time bound becomes an order id bound first, through the order time marks (the first
  // order of each second of creation time): the orders created at or after `startMicros` are
  // at or after the last mark before it, those at or before `endMicros` before the first mark
  // after it, as creation times do not go back as ids go up (migration 2026_11_29_02_00_00).
  // So the (user_id, symbol, order_id) index reads that range only; the exact times filter.
  if (startMicros !== undefined) {
    sel = sel
      .where('createdMicros', '>=', startMicros)
      .where((eb) => eb('orderId', '>=', eb.fn.coalesce(markBefore(eb, startMicros), eb.lit(0))));
  }
  if (endMicros !== undefined) {
    sel = sel
      .where('createdMicros', '<=', endMicros)
      .where((eb) =>
        eb('orderId', '<', eb.fn.coalesce(markAfter(eb, endMicros), eb.lit(Number.MAX_SAFE_INTEGER))),
      );
  }
  const rows = await sel
    .orderBy('orderId', newest ? 'desc' : 'asc')
    .limit(limit)
    .execute();
  return newest ? rows.reverse() : rows;
}

/** The order id of the last order time mark before `micros` (a scalar subquery; null: none). */
function markBefore(eb: ExpressionBuilder<Database, 'orders'>, micros: number) {
  return eb
    .selectFrom('orderTimeMarks')
    .select('orderTimeMarks.orderId')
    .where('orderTimeMarks.createdMicros', '<', micros)
    .orderBy('orderTimeMarks.createdMicros', 'desc')
    .limit(1);
}

/** The order id of the first order time mark after `micros` (a scalar subquery; null: none). */
function markAfter(eb: ExpressionBuilder<Database, 'orders'>, micros: number) {
  return eb
    .selectFrom('orderTimeMarks')
    .select('orderTimeMarks.orderId')
    .where('orderTimeMarks.createdMicros', '>', micros)
    .orderBy('orderTimeMarks.createdMicros')
    .limit(1);
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
  // One more than the page: whether another page follows, without a second query.
  const want = limit + 1;
  const dir = sql.raw(order);
  const cmp = sql.raw(order === 'asc' ? '>' : '<');
  const window = (column: string) =>
    sql.join(
      [
        ...(start === undefined ? [] : [sql`${sql.ref(column)} >= ${start}`]),
        ...(end === undefined ? [] : [sql`${sql.ref(column)} <= ${end}`]),
      ].map((c) => sql` and ${c}`),
      sql``,
    );
  // The rows of ledger_entries (deposits, withdrawals, trades from before their postings were
  // read from the trade row), by the (account_id, id) index.
  const rows = sql<LedgerEntry>`
    select id, seq, asset, amount_units, kind, ref, ts_micros from ledger_entries
    where account_id = ${user}${q.asset === undefined ? sql`` : sql` and asset = ${q.asset}`}${window('ts_micros')}
      ${cursor === undefined ? sql`` : sql`and id ${cmp} ${cursor}`}
    order by id ${dir} limit ${want}`;
  const entries = await sql<LedgerEntry>`
    select * from ((${rows}) union all (${tradePostings('buyer', user, q.asset, cursor, order, want, window)})
      union all (${tradePostings('seller', user, q.asset, cursor, order, want, window)})) e
    order by id ${dir} limit ${want}`
    .execute(ctx.db)
    .then((r) => r.rows);
  const more = entries.length > limit;
  if (more) entries.length = limit;
  return { entries, nextCursor: more ? entries[entries.length - 1]!.id : null };
}

/**
 * The user's postings of the trades where the user was the buyer (or the seller): the first
 * `want` of them in id order past the cursor. A trade's postings are read from its row, as the
 * view `ledger` reads them (migration 2026_11_29_01_00_00: postings of zero units left out, the
 * others consecutive ids from `ledger_id`; a test holds this query to the view), and the
 * trades come by the `(buyer_user_id, ledger_id)` index. Each trade read gives the user at
 * least one posting (the trade filter says so), except the one trade whose ids span the cursor:
 * so `want + 1` trades give at least `want` postings where there are that many.
 */
function tradePostings(
  role: 'buyer' | 'seller',
  user: number,
  asset: string | undefined,
  cursor: number | undefined,
  order: 'asc' | 'desc',
  want: number,
  window: (column: string) => RawBuilder<unknown>,
): RawBuilder<LedgerEntry> {
  const buyer = role === 'buyer';
  // The user's two postings: base, then quote amounts.
  const baseAmount = buyer ? sql`t.base_units - t.buyer_fee_units` : sql`-t.base_units`;
  const quoteAmount = buyer ? sql`-t.quote_units` : sql`t.quote_units - t.seller_fee_units`;
  const some =
    asset === undefined
      ? sql`(${baseAmount} <> 0 or ${quoteAmount} <> 0)`
      : sql`((s.base_asset = ${asset} and ${baseAmount} <> 0) or (s.quote_asset = ${asset} and ${quoteAmount} <> 0))`;
  // The ids of a trade run from ledger_id to ledger_id + (its non-zero postings) - 1 <= ledger_id + 5.
  const span =
    cursor === undefined
      ? sql``
      : order === 'desc'
        ? sql` and t.ledger_id < ${cursor}`
        : sql` and t.ledger_id > ${cursor - 6} and t.ledger_id + ${NONZERO} - 1 > ${cursor}`;
  // Offsets of the buyer's postings (0: base, 3: quote) and the seller's (1, 4) among the six.
  const [first, second] = buyer ? [sql`0`, OFFSET_3] : [OFFSET_1, OFFSET_4];
  return sql<LedgerEntry>`
    select t.ledger_id + p.o as id, t.seq, p.asset, p.amount_units, 'TRADE' as kind,
      'trade:' || t.symbol || ':' || t.trade_id as ref, t.ts_micros
    from (
      select t.*, s.base_asset, s.quote_asset from trades t join symbols s on s.symbol = t.symbol
      where ${sql.ref(`t.${role}_user_id`)} = ${user} and t.ledger_id is not null and ${some}${window('t.ts_micros')}${span}
      order by t.ledger_id ${sql.raw(order)} limit ${want + 1}
    ) t
    cross join lateral (values (${first}, t.base_asset, ${baseAmount}), (${second}, t.quote_asset, ${quoteAmount}))
      p (o, asset, amount_units)
    where p.amount_units <> 0${asset === undefined ? sql`` : sql` and p.asset = ${asset}`}${
      cursor === undefined
        ? sql``
        : sql` and t.ledger_id + p.o ${sql.raw(order === 'asc' ? '>' : '<')} ${cursor}`
    }`;
}

/** Whether each of a trade's six postings (`t` a trades row) is other than zero, as 0 or 1. */
const NZ = [
  sql`(t.base_units - t.buyer_fee_units <> 0)::int`,
  sql`(t.base_units <> 0)::int`,
  sql`(t.buyer_fee_units <> 0)::int`,
  sql`(t.quote_units <> 0)::int`,
  sql`(t.quote_units - t.seller_fee_units <> 0)::int`,
  sql`(t.seller_fee_units <> 0)::int`,
];
const OFFSET_1 = sql`${NZ[0]}`;
const OFFSET_3 = sql`(${NZ[0]} + ${NZ[1]} + ${NZ[2]})`;
const OFFSET_4 = sql`(${NZ[0]} + ${NZ[1]} + ${NZ[2]} + ${NZ[3]})`;
/** A trade's non-zero postings. */
const NONZERO = sql`(${sql.join(NZ, sql` + `)})`;
