import { BinanceApiError, BinanceCode, type BinanceError, binanceError } from '../binance/errors.ts';
import { type GatewayResponse, jsonResponse } from '../http/http-types.ts';

/** An error value as the order functions return it (a Binance error, maybe with `data`). */
export interface ErrorValue {
  readonly status: number;
  readonly code: number;
  readonly msg: string;
  readonly data?: unknown;
}

/** The reply for an error value: `{code, msg}` (and `data` when there is one) with its status. */
export function errorReply(e: ErrorValue): GatewayResponse {
  return jsonResponse(
    e.data === undefined ? { code: e.code, msg: e.msg } : { code: e.code, msg: e.msg, data: e.data },
    e.status,
  );
}

/**
 * -1007 with HTTP 503: the command reached the core, no answer came back. Binance's REST docs
 * say a 5XX means "execution status UNKNOWN, could have been a success"; its other APIs answer
 * this exact case with 503. Clients map -1007 to a timeout and must check before retrying.
 */
export function statusUnknown(): BinanceError {
  return binanceError(BinanceCode.TIMEOUT, undefined, 503);
}

/**
 * The Binance error for a failure of the engine access (the core link's CoreLinkError and
 * anything else with the same dotted `code`), or undefined for anything else (a bug: the
 * pipeline logs it and answers 500 -1000).
 */
export function engineFailure(e: unknown): BinanceError | undefined {
  const code =
    typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
      ? (e as { code: string }).code
      : undefined;
  switch (code) {
    case 'link.status_unknown':
      return statusUnknown();
    case 'link.busy':
    case 'link.unavailable':
    case 'link.unreachable':
      return binanceError(BinanceCode.SERVER_BUSY);
    case 'link.closed':
      return binanceError(BinanceCode.SERVICE_SHUTTING_DOWN);
    default:
      return undefined;
  }
}

/** Awaits an engine call; a link failure becomes its BinanceApiError, anything else propagates. */
export async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    return rethrowEngineFailure(e);
  }
}

/** For `promise.catch`: a link failure rethrown as its BinanceApiError, anything else as it is. */
export function rethrowEngineFailure(e: unknown): never {
  const mapped = engineFailure(e);
  if (mapped !== undefined) throw new BinanceApiError(mapped);
  throw e;
}
