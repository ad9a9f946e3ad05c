/**
 * The WebSocket API's frames: requests `{"id", "method", "params"}` in, replies
 * `{"id", "status", "result", "rateLimits"}` or `{"id", "status", "error": {"code", "msg"}}`
 * out, as Binance's `/ws-api/v3` has them.
 *
 * `id` may be a number, a string or null and is echoed unchanged. JSON numbers beyond 2^53
 * lose digits in `JSON.parse`, so the id's own text is kept from the frame and written back
 * as it came. A frame that is not a JSON object is -1135 "Invalid JSON Request"; a missing or
 * malformed `id` or `method` is -1102 (answered with `"id": null` when the id is unusable);
 * `params` that are not an object are -1135; a method may carry Binance's version prefix
 * (`"v3/order.place"`).
 */
import { BinanceCode, binanceError, Errors } from '../binance/errors.ts';

/** A request id's JSON text, as it will be written back (`null`, `42`, `"abc"`). */
export type IdJson = string;

/** A well-formed request. */
export interface WsApiRequest {
  readonly idJson: IdJson;
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** An error as a WebSocket API reply carries it (`data` rides along for -2021/-2022 and rate limits). */
export interface WsApiError {
  readonly status: number;
  readonly code: number;
  readonly msg: string;
  readonly data?: unknown;
}

/** A frame that is not a usable request: the error and the id to answer with. */
export interface FrameError {
  readonly idJson: IdJson;
  readonly error: WsApiError;
}

/** One entry of a reply's `rateLimits`. */
export interface RateLimitUsage {
  readonly rateLimitType: 'REQUEST_WEIGHT' | 'ORDERS';
  readonly interval: string;
  readonly intervalNum: number;
  readonly limit: number;
  readonly count: number;
}

const NULL_ID: IdJson = 'null';

/** -1135 for a frame that is not a JSON object. */
export function invalidJson(): WsApiError {
  return binanceError(BinanceCode.INVALID_JSON, 'Invalid JSON Request');
}

/** The raw text of a top-level `"id": <number>` whose value equals `value` (else its JSON). */
function rawNumberText(frame: string, value: number): string {
  const re = /"id"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  for (let m = re.exec(frame); m !== null; m = re.exec(frame)) {
    if (Number(m[1]) === value) return m[1]!;
  }
  return JSON.stringify(value);
}

/** Parses one text frame into a request, or the error to answer it with. */
export function parseFrame(frame: string): WsApiRequest | FrameError {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return { idJson: NULL_ID, error: invalidJson() };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { idJson: NULL_ID, error: invalidJson() };
  const r = value as Record<string, unknown>;
  if (!Object.hasOwn(r, 'id')) return { idJson: NULL_ID, error: Errors.mandatory('id') };
  const id = r.id;
  let idJson: IdJson;
  if (id === null) idJson = NULL_ID;
  else if (typeof id === 'string') idJson = JSON.stringify(id);
  else if (typeof id === 'number' && Number.isFinite(id))
    idJson = Number.isSafeInteger(id) ? String(id) : rawNumberText(frame, id);
  else return { idJson: NULL_ID, error: Errors.mandatory('id') };
  const method = r.method;
  if (typeof method !== 'string' || method === '') return { idJson, error: Errors.mandatory('method') };
  const params = r.params;
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params)))
    return {
      idJson,
      error: binanceError(BinanceCode.INVALID_JSON, "Invalid 'params' in JSON request; expected an object."),
    };
  return {
    idJson,
    method: method.startsWith('v3/') ? method.slice(3) : method,
    params: { ...((params ?? {}) as Record<string, unknown>) },
  };
}

/** True when parseFrame failed. */
export function isFrameError(r: WsApiRequest | FrameError): r is FrameError {
  return 'error' in r;
}

/** A success reply. */
export function resultReply(idJson: IdJson, result: unknown, rateLimits?: readonly RateLimitUsage[]): string {
  const limits = rateLimits === undefined ? '' : `,"rateLimits":${JSON.stringify(rateLimits)}`;
  return `{"id":${idJson},"status":200,"result":${JSON.stringify(result)}${limits}}`;
}

/** An error reply. */
export function errorReply(idJson: IdJson, e: WsApiError, rateLimits?: readonly RateLimitUsage[]): string {
  const error =
    e.data === undefined ? { code: e.code, msg: e.msg } : { code: e.code, msg: e.msg, data: e.data };
  const limits = rateLimits === undefined ? '' : `,"rateLimits":${JSON.stringify(rateLimits)}`;
  return `{"id":${idJson},"status":${e.status},"error":${JSON.stringify(error)}${limits}}`;
}
