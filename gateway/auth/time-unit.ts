/**
 * `X-MBX-TIME-UNIT`: the unit of time-related request parameters (`timestamp`, `startTime`,
 * `endTime`) and of timestamps in responses. Milliseconds by default; Binance accepts
 * MILLISECOND / MICROSECOND in upper or lower case, we accept any case. Inside the gateway every
 * time is in microseconds; these helpers convert at the edge.
 */
import { BinanceApiError, Errors } from '../binance/errors.ts';

/** The unit a request asked for. */
export type TimeUnit = 'MILLISECOND' | 'MICROSECOND';

/** The unit named by an `X-MBX-TIME-UNIT` header value (absent or empty: milliseconds); throws -1194 otherwise. */
export function parseTimeUnit(header: string | undefined): TimeUnit {
  if (header === undefined || header === '') return 'MILLISECOND';
  const upper = header.trim().toUpperCase();
  if (upper === 'MILLISECOND' || upper === 'MICROSECOND') return upper;
  throw new BinanceApiError(Errors.invalidTimeUnit());
}

/** A timestamp in microseconds as a response field in `unit` (milliseconds round down, as Binance truncates). */
export function responseTime(micros: number, unit: TimeUnit): number {
  return unit === 'MICROSECOND' ? micros : Math.floor(micros / 1000);
}

/** A request time parameter in `unit` -> microseconds. */
export function requestTimeToMicros(value: number, unit: TimeUnit): number {
  return unit === 'MICROSECOND' ? value : value * 1000;
}
