/**
 * Timing security, as Binance applies it to signed requests: `timestamp` is required (in the
 * request's time unit), `recvWindow` defaults to 5000 ms, may carry up to three decimals
 * (microseconds) and cannot exceed 60000 ms; a request is refused when its timestamp is 1000 ms
 * or more ahead of the server's clock, or older than the window:
 *
 *   if (timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow) process
 *
 * Everything is compared in integer microseconds.
 */
import { wallClockMicros } from '../../engine/index.ts';
import { BinanceApiError, Errors, LEGAL_RANGE } from '../binance/errors.ts';
import type { Clock } from '../ports.ts';
import { requestTimeToMicros, type TimeUnit } from './time-unit.ts';

/** The default recvWindow: 5000 ms. */
export const DEFAULT_RECV_WINDOW_MICROS = 5_000_000;
/** The largest recvWindow: 60000 ms. */
export const MAX_RECV_WINDOW_MICROS = 60_000_000;
/** How far ahead of the server a timestamp may be: strictly less than 1000 ms. */
export const MAX_AHEAD_MICROS = 1_000_000;

/** The process clock, in microseconds (performance.now() adds the sub-millisecond part). */
export const systemClock: Clock = {
  nowMicros: wallClockMicros,
};

const INTEGER = /^[0-9]{1,20}$/;
const RECV_WINDOW = /^([0-9]{1,20})(?:\.([0-9]{1,3}))?$/;

/** The request's `timestamp` in microseconds; -1102 when missing or empty, -1100 when not an integer. */
export function parseTimestamp(raw: string | undefined, unit: TimeUnit): number {
  if (raw === undefined || raw === '') throw new BinanceApiError(Errors.mandatory('timestamp'));
  if (!INTEGER.test(raw)) throw new BinanceApiError(Errors.illegalChars('timestamp', LEGAL_RANGE.integer));
  const value = Number(raw);
  // Beyond 2^53 a timestamp is tens of thousands of years ahead: refuse it as such.
  if (!Number.isSafeInteger(value)) throw new BinanceApiError(Errors.aheadOfServer());
  return requestTimeToMicros(value, unit);
}

/** The request's `recvWindow` in microseconds (default 5000 ms); -1100 when malformed, -1131 above 60000 ms. */
export function parseRecvWindow(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_RECV_WINDOW_MICROS;
  if (raw === '') throw new BinanceApiError(Errors.paramEmpty('recvWindow'));
  const m = RECV_WINDOW.exec(raw);
  if (m === null) throw new BinanceApiError(Errors.illegalChars('recvWindow', LEGAL_RANGE.recvWindow));
  const whole = m[1]!;
  // Compare digits before converting so that a 20-digit window is refused, not rounded.
  if (whole.replace(/^0+(?=\d)/, '').length > 5) throw new BinanceApiError(Errors.badRecvWindow());
  const micros = Number(whole) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
  if (micros > MAX_RECV_WINDOW_MICROS) throw new BinanceApiError(Errors.badRecvWindow());
  return micros;
}

/** Throws -1021 unless `timestamp` is less than 1000 ms ahead of `now` and no older than the window. */
export function checkTimestamp(timestampMicros: number, recvWindowMicros: number, nowMicros: number): void {
  if (timestampMicros >= nowMicros + MAX_AHEAD_MICROS) throw new BinanceApiError(Errors.aheadOfServer());
  if (nowMicros - timestampMicros > recvWindowMicros) throw new BinanceApiError(Errors.outsideRecvWindow());
}
