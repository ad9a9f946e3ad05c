/**
 * Parameters of the trading and account read endpoints (openOrders, allOrders, myTrades,
 * account, account/commission, tradeFee), with Binance's error for each way a parameter can
 * be wrong: missing -1102, empty -1105, malformed -1100, unknown symbol -1121, parameters the
 * endpoint does not read -1104, a window longer than 24 hours -1127, a combination Binance
 * does not support -1128. Every failure is thrown as a BinanceApiError (a 4xx).
 *
 * Times are read in the request's X-MBX-TIME-UNIT and returned in microseconds; an `endTime`
 * in milliseconds covers its whole millisecond.
 */
import type { Market, Markets } from '../../engine/index.ts';
import { requestTimeToMicros, type TimeUnit } from '../auth/time-unit.ts';
import { BinanceApiError, BinanceCode, binanceError, Errors, LEGAL_RANGE } from '../binance/errors.ts';
import { optionalBoolean, optionalParam, requireParam } from '../http/params.ts';

/** The parameters authentication reads (never refused as unread). */
const AUTH_PARAMS: readonly string[] = ['recvWindow', 'timestamp', 'signature'];

const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const DIGITS = /^[0-9]{1,20}$/;
/** Binance's page sizes for allOrders and myTrades. */
export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 1000;
const DAY_MICROS = 24 * 3600 * 1_000_000;

/** -1104 when the request carries parameters the endpoint does not read. */
export function checkUnread(params: ReadonlyMap<string, string>, known: readonly string[]): void {
  let read = 0;
  for (const k of params.keys()) if (known.includes(k) || AUTH_PARAMS.includes(k)) read++;
  if (read < params.size) throw new BinanceApiError(Errors.unreadParams(read, params.size));
}

/** The market named by a symbol text: -1100 illegal characters, -1121 unknown. */
function marketOf(markets: Markets, symbol: string): Market {
  if (!SYMBOL.test(symbol)) throw new BinanceApiError(Errors.illegalChars('symbol', LEGAL_RANGE.symbol));
  const m = markets.get(symbol);
  if (m === undefined) throw new BinanceApiError(Errors.badSymbol());
  return m;
}

/** The mandatory `symbol`'s market. */
export function requiredMarket(params: ReadonlyMap<string, string>, markets: Markets): Market {
  return marketOf(markets, requireParam(params, 'symbol'));
}

/** The optional `symbol`'s market (undefined when not sent). */
export function optionalMarket(params: ReadonlyMap<string, string>, markets: Markets): Market | undefined {
  const s = optionalParam(params, 'symbol');
  return s === undefined ? undefined : marketOf(markets, s);
}

/**
 * An optional non-negative integer (an id or a time): -1105 empty, -1100 not digits. Values
 * past 2^53 read as Number.MAX_SAFE_INTEGER: no id or time reaches it, so the answer is the
 * same as Binance's (nothing from there on).
 */
export function optionalInteger(params: ReadonlyMap<string, string>, name: string): number | undefined {
  const v = optionalParam(params, name);
  if (v === undefined) return undefined;
  if (!DIGITS.test(v)) throw new BinanceApiError(Errors.illegalChars(name, LEGAL_RANGE.integer));
  return Math.min(Number(v), Number.MAX_SAFE_INTEGER);
}

/** `limit`: default 500, above 1000 clamped to 1000 (as the market data endpoints do), 0 is -1130. */
export function pageLimit(params: ReadonlyMap<string, string>): number {
  const v = optionalInteger(params, 'limit');
  if (v === undefined) return DEFAULT_LIMIT;
  if (v < 1) throw new BinanceApiError(Errors.invalidParam('limit'));
  return Math.min(v, MAX_LIMIT);
}

/** A `startTime` / `endTime` window in microseconds (either may be absent). */
export interface TimeWindow {
  readonly startMicros?: number;
  readonly endMicros?: number;
}

/**
 * `startTime` and `endTime` in the request's unit, as microseconds. `endTime` is inclusive:
 * in milliseconds it covers the whole millisecond. -1127 when the window is longer than 24
 * hours, -1128 when it ends before it starts.
 */
export function timeWindow(params: ReadonlyMap<string, string>, unit: TimeUnit): TimeWindow {
  const start = optionalInteger(params, 'startTime');
  const end = optionalInteger(params, 'endTime');
  const startMicros = start === undefined ? undefined : safeMicros(start, unit);
  const endAt = end === undefined ? undefined : safeMicros(end, unit);
  if (startMicros !== undefined && endAt !== undefined) {
    if (endAt < startMicros) throw new BinanceApiError(Errors.badCombination());
    if (endAt - startMicros > DAY_MICROS)
      throw new BinanceApiError(
        binanceError(BinanceCode.MORE_THAN_XX_HOURS, 'More than 24 hours between startTime and endTime.'),
      );
  }
  // An end in milliseconds covers its whole millisecond, but never beyond the 24 hours that the
  // history store also enforces (a window of exactly 24 hours would otherwise exceed it by 999 µs).
  const endWhole = endAt === undefined ? undefined : endAt + (unit === 'MILLISECOND' ? 999 : 0);
  const endMicros =
    endWhole === undefined || startMicros === undefined
      ? endWhole
      : Math.min(endWhole, startMicros + DAY_MICROS);
  return {
    ...(startMicros === undefined ? {} : { startMicros }),
    ...(endMicros === undefined ? {} : { endMicros }),
  };
}

/** A time in `unit` as microseconds, kept within the safe integers (a far-future time stays far). */
function safeMicros(value: number, unit: TimeUnit): number {
  return Math.min(requestTimeToMicros(value, unit), Number.MAX_SAFE_INTEGER - 999);
}

/** `omitZeroBalances` (GET account): true / false, default false; anything else -1100. */
export function omitZeroBalances(params: ReadonlyMap<string, string>): boolean {
  return optionalBoolean(params, 'omitZeroBalances') ?? false;
}
