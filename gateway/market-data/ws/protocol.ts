/**
 * The requests a market data connection answers, as Binance's stream servers do:
 *
 *   {"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}     -> {"result":null,"id":1}
 *   {"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":2}   -> {"result":null,"id":2}
 *   {"method":"LIST_SUBSCRIPTIONS","id":3}                       -> {"result":["btcusdt@trade"],"id":3}
 *   {"method":"SET_PROPERTY","params":["combined",true],"id":4}  -> {"result":null,"id":4}
 *   {"method":"GET_PROPERTY","params":["combined"],"id":5}       -> {"result":true,"id":5}
 *
 * plus `GET_PROPERTY ["session"]` (ours), the connection's session id. Errors go out the way
 * Binance's servers send them, nested under `error` with the request's id:
 * `{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}` (Binance's documentation
 * lists the inner objects; clients such as ccxt read `message.error`). Codes: 0 unknown
 * property, 1 a property value of the wrong type, 2 an invalid request, 3 invalid JSON.
 *
 * `id` may be a 64-bit signed integer, a string of at most 36 letters, digits, `-` or `_`, or
 * null, and is echoed unchanged: an integer beyond 2^53 is written back with its own digits
 * (JSON.parse would round it). Parsing never throws.
 */
import type { StreamCatalog } from './stream-names.ts';

/** The methods, as Binance lists them in its "unknown variant" error. */
export const METHODS = [
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'LIST_SUBSCRIPTIONS',
  'SET_PROPERTY',
  'GET_PROPERTY',
] as const;

/** A request id's JSON text, as it will be written back (`null`, `42`, `"abc"`). */
export type IdJson = string;

/** A valid request. Stream names are the catalog's interned strings, without duplicates. */
export type StreamRequest =
  | { readonly method: 'SUBSCRIBE' | 'UNSUBSCRIBE'; readonly idJson: IdJson; readonly streams: string[] }
  | { readonly method: 'LIST_SUBSCRIPTIONS'; readonly idJson: IdJson }
  | {
      readonly method: 'SET_PROPERTY';
      readonly idJson: IdJson;
      readonly name: 'combined';
      readonly value: boolean;
    }
  | { readonly method: 'GET_PROPERTY'; readonly idJson: IdJson; readonly name: 'combined' | 'session' };

/** A request refused: Binance's code and message, and the id to answer with. */
export interface StreamRequestError {
  readonly method: 'error';
  readonly idJson: IdJson;
  readonly code: 0 | 1 | 2 | 3;
  readonly msg: string;
}

/** Binance's error for a stream name it does not serve (its exact words). */
export const INVALID_STREAM = 'Invalid request: invalid stream';
/** Binance's error for an id of an unsupported type (its exact words). */
export const INVALID_ID = 'Invalid request: request ID must be an unsigned integer';

const NULL_ID: IdJson = 'null';
const STRING_ID_RE = /^[A-Za-z0-9_-]{0,36}$/;
const INT_ID_RE = /^-?(0|[1-9][0-9]{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function refuse(idJson: IdJson, code: StreamRequestError['code'], msg: string): StreamRequestError {
  return { method: 'error', idJson, code, msg };
}

/** True for a refused request. */
export function isRequestError(r: StreamRequest | StreamRequestError): r is StreamRequestError {
  return r.method === 'error';
}

/** A JSON.parse failure as Binance's `Invalid JSON: ...` message (printable, bounded). */
function invalidJson(e: unknown): string {
  const why = e instanceof Error ? e.message : String(e);
  const clean = why.replace(/[^\x20-\x7e]/g, '?');
  return `Invalid JSON: ${clean.length > 100 ? `${clean.slice(0, 100)}...` : clean}`;
}

/**
 * The id's JSON text, or undefined when it is of a type Binance refuses. Integers are taken
 * from the frame's own text so that digits beyond 2^53 survive.
 */
function idJsonOf(frame: string, id: unknown): IdJson | undefined {
  if (id === null) return NULL_ID;
  if (typeof id === 'string') return STRING_ID_RE.test(id) ? JSON.stringify(id) : undefined;
  if (typeof id !== 'number' || !Number.isInteger(id)) return undefined;
  if (Number.isSafeInteger(id)) return String(id);
  const re = /"id"\s*:\s*(-?[0-9]+)\s*[,}]/g;
  for (let m = re.exec(frame); m !== null; m = re.exec(frame)) {
    const text = m[1]!;
    if (!INT_ID_RE.test(text) || Number(text) !== id) continue;
    const big = BigInt(text);
    return big >= INT64_MIN && big <= INT64_MAX ? text : undefined;
  }
  return undefined;
}

/** Parses one frame. `maxStreams` bounds a SUBSCRIBE's list (the connection's limit is checked by the caller). */
export function parseRequest(
  frame: string,
  catalog: StreamCatalog,
  maxStreams: number,
): StreamRequest | StreamRequestError {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (e) {
    return refuse(NULL_ID, 3, invalidJson(e));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return refuse(NULL_ID, 2, 'Invalid request: expected a JSON object');
  const r = value as Record<string, unknown>;
  if (!Object.hasOwn(r, 'id')) return refuse(NULL_ID, 2, INVALID_ID);
  const idJson = idJsonOf(frame, r.id);
  if (idJson === undefined) return refuse(NULL_ID, 2, INVALID_ID);
  if (!Object.hasOwn(r, 'method')) return refuse(idJson, 2, 'Invalid request: missing field `method`');
  const method = r.method;
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
    const shown = typeof method === 'string' ? `\`${printable(method)}\`` : 'a non-string method';
    return refuse(
      idJson,
      2,
      `Invalid request: unknown variant ${shown}, expected one of ${METHODS.map((m) => `\`${m}\``).join(', ')}`,
    );
  }
  const params = r.params;
  if (params !== undefined && !Array.isArray(params))
    return refuse(idJson, 2, 'Invalid request: params must be an array');
  const list: readonly unknown[] = params ?? [];
  switch (method) {
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      if (params === undefined) return refuse(idJson, 2, 'Invalid request: missing field `params`');
      if (list.length > maxStreams)
        return refuse(idJson, 2, `Invalid request: too many streams (at most ${maxStreams} per connection)`);
      const streams: string[] = [];
      const seen = new Set<string>();
      for (const p of list) {
        if (typeof p !== 'string') return refuse(idJson, 2, 'Invalid request: stream name must be a string');
        const name = catalog.get(p);
        if (name === undefined) return refuse(idJson, 2, INVALID_STREAM);
        if (seen.has(name)) continue;
        seen.add(name);
        streams.push(name);
      }
      return { method, idJson, streams };
    }
    case 'LIST_SUBSCRIPTIONS':
      if (list.length > 0) return refuse(idJson, 2, 'Invalid request: too many parameters');
      return { method, idJson };
    case 'SET_PROPERTY': {
      if (list.length > 2) return refuse(idJson, 2, 'Invalid request: too many parameters');
      const name = list[0];
      if (typeof name !== 'string')
        return refuse(idJson, 2, 'Invalid request: property name must be a string');
      if (name !== 'combined') return refuse(idJson, 0, 'Unknown property');
      const v = list[1];
      if (typeof v !== 'boolean') return refuse(idJson, 1, 'Invalid value type: expected Boolean');
      return { method, idJson, name, value: v };
    }
    default: {
      if (list.length > 1) return refuse(idJson, 2, 'Invalid request: too many parameters');
      const name = list[0];
      if (typeof name !== 'string')
        return refuse(idJson, 2, 'Invalid request: property name must be a string');
      if (name !== 'combined' && name !== 'session') return refuse(idJson, 0, 'Unknown property');
      return { method: 'GET_PROPERTY', idJson, name };
    }
  }
}

/** `{"result":<resultJson>,"id":<id>}`. */
export function resultReply(idJson: IdJson, resultJson: string): string {
  return `{"result":${resultJson},"id":${idJson}}`;
}

/** `{"error":{"code":<code>,"msg":"..."},"id":<id>}`. */
export function errorReply(e: {
  readonly idJson: IdJson;
  readonly code: number;
  readonly msg: string;
}): string {
  return `{"error":{"code":${e.code},"msg":${JSON.stringify(e.msg)}},"id":${e.idJson}}`;
}

/** A short, printable rendering of client text for an error message. */
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}
