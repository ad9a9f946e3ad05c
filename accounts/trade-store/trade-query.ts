/**
 * Trade queries, shared by every trade store adapter: parameter checks (each failure an
 * AccountsError with a `history.*` code), the read plan (which trade id range to read, in
 * which direction) and the merge of a user's buyer and seller sides. One implementation, so
 * the adapters cannot disagree on what a query means.
 *
 * A time bound is turned into a trade id bound first (the first trade at or after the start,
 * the last at or before the end, through a time index), then the read walks trade ids and
 * also filters on time. Trade ids grow with time within a symbol (the book numbers trades
 * in seq order, the sequencer stamps seq order with a monotonic clock), so the id range
 * alone is exact; the time filter keeps every returned row inside the window even if a
 * clock ever stepped back.
 */
import { AccountsError } from '../errors.ts';
import type { SymbolTradesQuery, TradeRecord, UserTrade, UserTradesQuery } from './trade-store.port.ts';

/** Binance's default page. */
export const DEFAULT_LIMIT = 500;
/** Binance's largest page. */
export const MAX_LIMIT = 1000;
/** Binance: a time window may span at most 24 hours. */
export const MAX_WINDOW_MICROS = 24 * 3600 * 1_000_000;

const SYMBOL = /^[A-Z0-9]{2,20}$/;

/** A symbol query with its defaults applied, checked. */
export interface CheckedTradesQuery {
  readonly symbol: string;
  readonly fromId: number | undefined;
  readonly startMicros: number | undefined;
  readonly endMicros: number | undefined;
  readonly limit: number;
}

/** Checks that `value`, when given, is an integer in [min, MAX_SAFE_INTEGER]. */
export function optionalInt(value: unknown, name: string, min: number, code: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new AccountsError(code, `${name} must be an integer of at least ${min}`);
  }
  return value;
}

/** Checks a symbol name's shape (whether it is listed is the caller's concern). */
export function checkSymbol(symbol: unknown): string {
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) {
    throw new AccountsError('history.bad_symbol', 'symbol must be 2-20 characters of A-Z and 0-9');
  }
  return symbol;
}

/** Checks `limit` (default 500, 1..1000). */
export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new AccountsError('history.bad_limit', `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

/**
 * Checks a time window: each bound a non-negative integer of microseconds, start <= end,
 * and at most 24 hours apart when both are given (Binance's rule).
 */
export function checkWindow(
  startMicros: unknown,
  endMicros: unknown,
): { startMicros: number | undefined; endMicros: number | undefined } {
  const start = optionalInt(startMicros, 'startTime', 0, 'history.bad_time');
  const end = optionalInt(endMicros, 'endTime', 0, 'history.bad_time');
  if (start !== undefined && end !== undefined) {
    if (start > end) throw new AccountsError('history.bad_time_range', 'startTime must not be after endTime');
    if (end - start > MAX_WINDOW_MICROS) {
      throw new AccountsError(
        'history.bad_time_range',
        'startTime and endTime may be at most 24 hours apart',
      );
    }
  }
  return { startMicros: start, endMicros: end };
}

/** Checks a symbol trades query and applies its defaults. */
export function checkSymbolTradesQuery(q: SymbolTradesQuery): CheckedTradesQuery {
  if (typeof q !== 'object' || q === null) {
    throw new AccountsError('history.bad_query', 'a trades query needs at least a symbol');
  }
  const symbol = checkSymbol(q.symbol);
  const fromId = optionalInt(q.fromId, 'fromId', 0, 'history.bad_from_id');
  const window = checkWindow(q.startMicros, q.endMicros);
  if (fromId !== undefined && (window.startMicros !== undefined || window.endMicros !== undefined)) {
    // Binance refuses the combination: an id and a time are two different starting points.
    throw new AccountsError('history.bad_query', 'fromId cannot be combined with startTime or endTime');
  }
  return { symbol, fromId, ...window, limit: checkLimit(q.limit) };
}

/** A checked user trades query. */
export interface CheckedUserTradesQuery extends CheckedTradesQuery {
  readonly userId: number;
  readonly orderId: number | undefined;
}

/** Checks a user trades query and applies its defaults. */
export function checkUserTradesQuery(q: UserTradesQuery): CheckedUserTradesQuery {
  const base = checkSymbolTradesQuery(q);
  const userId = optionalInt(q.userId, 'userId', 1, 'history.bad_user');
  if (userId === undefined) throw new AccountsError('history.bad_user', 'a user id is required');
  const orderId = optionalInt(q.orderId, 'orderId', 1, 'history.bad_order_id');
  return { ...base, userId, orderId };
}

/** The user's view of `t` from one side (`asBuyer`). */
export function userSide(t: TradeRecord, asBuyer: boolean): UserTrade {
  return {
    symbol: t.symbol,
    tradeId: t.tradeId,
    orderId: asBuyer ? t.buyerOrderId : t.sellerOrderId,
    priceTicks: t.priceTicks,
    qtyLots: t.qtyLots,
    quoteUnits: t.quoteUnits,
    commissionUnits: asBuyer ? t.buyerFeeUnits : t.sellerFeeUnits,
    isBuyer: asBuyer,
    isMaker: asBuyer ? t.takerSide === 'SELL' : t.takerSide === 'BUY',
    tsMicros: t.tsMicros,
  };
}

/**
 * Merges a user's buyer-side and seller-side trades (each ascending by id) into their sides,
 * ascending by trade id (buyer side first for a trade with oneself), then keeps the page the
 * query asks for: the first `limit` when reading forward, the last `limit` when reading back
 * from the newest.
 */
export function mergeUserSides(
  asBuyer: readonly TradeRecord[],
  asSeller: readonly TradeRecord[],
  userId: number,
  limit: number,
  newest: boolean,
): UserTrade[] {
  const out: UserTrade[] = [];
  let i = 0;
  let j = 0;
  while (i < asBuyer.length || j < asSeller.length) {
    const b = asBuyer[i];
    const s = asSeller[j];
    if (b !== undefined && (s === undefined || b.tradeId <= s.tradeId)) {
      if (b.buyerUserId === userId) out.push(userSide(b, true));
      i++;
    } else if (s !== undefined) {
      if (s.sellerUserId === userId) out.push(userSide(s, false));
      j++;
    }
  }
  return newest ? out.slice(Math.max(0, out.length - limit)) : out.slice(0, limit);
}

/** How an adapter finds trade ids by time, within one symbol. */
export interface TimeIndex {
  /** The id of the symbol's first trade at or after `micros`, if any. */
  firstIdAtOrAfter(symbol: string, micros: number): Promise<number | undefined>;
  /** The id of the symbol's last trade at or before `micros`, if any. */
  lastIdAtOrBefore(symbol: string, micros: number): Promise<number | undefined>;
}

/**
 * What to read: trade ids in [loId, hiId] (either open), rows with time in
 * [startMicros, endMicros] (either open), `limit` of them from the low end (forward) or from
 * the high end (newest; the adapter reverses them into ascending order).
 */
export interface ReadPlan {
  readonly loId: number | undefined;
  readonly hiId: number | undefined;
  readonly startMicros: number | undefined;
  readonly endMicros: number | undefined;
  readonly newest: boolean;
  readonly limit: number;
}

/**
 * Plans a checked query: forward from `fromId`; forward from the first trade of the window
 * (`startTime`, up to `endTime`); back from the last trade at or before `endTime`; or the
 * newest trades. Null when the window holds no trade at all.
 */
export async function planRead(q: CheckedTradesQuery, index: TimeIndex): Promise<ReadPlan | null> {
  const common = { startMicros: q.startMicros, endMicros: q.endMicros, limit: q.limit };
  if (q.fromId !== undefined) return { ...common, loId: q.fromId, hiId: undefined, newest: false };
  const hiId = q.endMicros === undefined ? undefined : await index.lastIdAtOrBefore(q.symbol, q.endMicros);
  if (q.endMicros !== undefined && hiId === undefined) return null;
  if (q.startMicros === undefined) return { ...common, loId: undefined, hiId, newest: true };
  const loId = await index.firstIdAtOrAfter(q.symbol, q.startMicros);
  if (loId === undefined || (hiId !== undefined && loId > hiId)) return null;
  return { ...common, loId, hiId, newest: false };
}

/** True when `t` lies inside the plan's time window. */
export function inWindow(t: { readonly tsMicros: number }, plan: ReadPlan): boolean {
  return (
    (plan.startMicros === undefined || t.tsMicros >= plan.startMicros) &&
    (plan.endMicros === undefined || t.tsMicros <= plan.endMicros)
  );
}
