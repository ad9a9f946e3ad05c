/**
 * The gateway's request and response model. A `GatewayRequest` is a full copy of what uWS
 * handed us (uWS invalidates its request object and body buffers at the first `await`), so a
 * handler may await freely. Handlers return a `GatewayResponse` or throw a `BinanceApiError`.
 */
import type { TimeUnit } from '../auth/time-unit.ts';
import type { ResolvedKey } from '../ports.ts';

/** A request, copied out of uWS before anything awaits. */
export interface GatewayRequest {
  /** Upper case: GET, POST, PUT, DELETE, ... */
  readonly method: string;
  /** The path as received (still percent-encoded), without the query string. */
  readonly path: string;
  /** The raw query string (after `?`), exactly as received: signatures are checked against it. */
  readonly query: string;
  /**
   * Parameters decoded from the query string and, for a form-encoded body, from the body
   * (the query string wins when a name is in both, as on Binance). A name repeated within one
   * of them is refused with -1101 before any handler runs.
   */
  readonly params: ReadonlyMap<string, string>;
  /** The raw body bytes, exactly as received (an empty buffer when there is none). */
  readonly body: Buffer;
  /** Request headers, names in lower case (a repeated header's values joined with ", "). */
  readonly headers: Readonly<Record<string, string>>;
  /** The client's address as text (X-Forwarded-For honoured only with `trustProxy`). */
  readonly ip: string;
}

/** A reply. `body` is sent as is (JSON text for every API endpoint). */
export interface GatewayResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Endpoint security types, as Binance names them (plus WITHDRAW for the withdrawal endpoints
 * that need the key's withdraw permission).
 * - NONE: public; an `X-MBX-APIKEY` header is ignored unless malformed (-2014).
 * - USER_STREAM: a valid API key, no signature.
 * - USER_DATA / TRADE / WITHDRAW: signed; the key needs read / trade / withdraw permission.
 */
export type Security = 'NONE' | 'USER_STREAM' | 'USER_DATA' | 'TRADE' | 'WITHDRAW';

/** Who a signed (or API-key) request comes from. */
export interface AuthContext {
  readonly key: ResolvedKey;
  readonly userId: number;
  /** The request's `timestamp` in microseconds (0 for USER_STREAM requests, which carry none). */
  readonly timestampMicros: number;
  /** The request's `recvWindow` in microseconds. */
  readonly recvWindowMicros: number;
  /**
   * Binance checks the window twice: on arrival and again just before the request goes to the
   * matching engine. Order handlers call this right before submitting.
   */
  withinRecvWindow(nowMicros: number): boolean;
}

/** What the server hands a handler besides the request. */
export interface RouteContext {
  /** The unit the client asked for with X-MBX-TIME-UNIT (convert response times with `responseTime`). */
  readonly timeUnit: TimeUnit;
  /** The server time when the request was admitted, in microseconds. */
  readonly nowMicros: number;
  /** Set for every security type but NONE. */
  readonly auth: AuthContext | null;
}

/** A route handler. It may await; it must not touch uWS objects. */
export type RouteHandler = (req: GatewayRequest, ctx: RouteContext) => Promise<GatewayResponse>;

/** One endpoint: method + exact path, its security, its request weight and its handler. */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly security: Security;
  /** REQUEST_WEIGHT charged to the client's IP (a function for weights that depend on parameters). */
  readonly weight: number | ((req: GatewayRequest) => number);
  /** Counts against the account's ORDERS limits (new orders, cancel-replace), with X-MBX-ORDER-COUNT-* headers. */
  readonly countsAsOrder?: boolean;
  readonly handler: RouteHandler;
}

/** The content type of every JSON reply (Binance's spelling). */
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** A JSON reply (status 200 unless given). */
export function jsonResponse(
  value: unknown,
  status = 200,
  headers?: Readonly<Record<string, string>>,
): GatewayResponse {
  return headers === undefined
    ? { status, body: JSON.stringify(value) }
    : { status, headers, body: JSON.stringify(value) };
}
