/**
 * What happens to every HTTP request once its bytes are copied out of uWS, in order:
 *
 *   1. route lookup (method + exact path)
 *   2. parameters decoded (query string, then a form body); a repeat is -1101
 *   3. request weight charged to the client's IP: 429 / 418 stop here
 *   4. 404 / 405 / parameter errors answered (after charging: probing is not free)
 *   5. X-MBX-TIME-UNIT read (-1194)
 *   6. authentication for the route's security type (../auth/authenticate.ts)
 *   7. order count charged to the account for order routes (-1015)
 *   8. the handler
 *
 * Every reply carries the IP's X-MBX-USED-WEIGHT-* headers (and order routes their
 * X-MBX-ORDER-COUNT-* headers). The pipeline never throws: an expected failure becomes its
 * Binance error, anything else is logged with its stack and answered 500 -1000 without one.
 */
import type { pino } from 'pino';
import { authenticate } from '../auth/authenticate.ts';
import type { RateLimiter } from '../auth/rate-limit.ts';
import { parseTimeUnit } from '../auth/time-unit.ts';
import { BinanceApiError, type BinanceError, Errors } from '../binance/errors.ts';
import type { ApiKeyLookup, Clock } from '../ports.ts';
import { type GatewayRequest, type GatewayResponse, JSON_CONTENT_TYPE } from './http-types.ts';
import { isFormContentType, parseParams } from './params.ts';
import type { Router } from './router.ts';

/** A request as copied from the socket, before any interpretation. */
export interface RawRequest {
  /** Upper case. */
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The client's address: X-Forwarded-For's as far as proxies are trusted, else the TCP peer's (./ip.ts). */
  readonly ip: string;
}

/** What the pipeline needs. */
export interface PipelineDeps {
  readonly router: Router;
  readonly limiter: RateLimiter;
  readonly apiKeys: ApiKeyLookup;
  readonly clock: Clock;
  readonly logger: pino.Logger;
}

/** The JSON error reply for `error`, with `headers`. */
export function errorResponse(
  error: BinanceError,
  headers: Readonly<Record<string, string>> = {},
): GatewayResponse {
  return {
    status: error.status,
    headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers },
    body: JSON.stringify({ code: error.code, msg: error.msg }),
  };
}

/** Runs requests through the steps above. */
export class RequestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  /** The reply to `raw` (never rejects). */
  handle(raw: RawRequest): Promise<GatewayResponse> {
    // The reply's headers, filled in as the steps go (rate limits first, the handler's last).
    const headers: Record<string, string> = { 'Content-Type': JSON_CONTENT_TYPE };
    return this.run(raw, headers).catch((e: unknown) => this.failed(e, raw, headers));
  }

  private failed(e: unknown, raw: RawRequest, headers: Record<string, string>): GatewayResponse {
    if (e instanceof BinanceApiError) {
      return errorResponse({ status: e.status, code: e.code, msg: e.message }, { ...headers, ...e.headers });
    }
    this.deps.logger.error({ err: e, method: raw.method, path: raw.path }, 'request failed unexpectedly');
    return errorResponse(Errors.unknown(), headers);
  }

  private async run(raw: RawRequest, headers: Record<string, string>): Promise<GatewayResponse> {
    const { router, limiter, clock } = this.deps;
    const nowMicros = clock.nowMicros();
    const ip = raw.ip;
    const match = router.match(raw.method, raw.path);

    let params: Map<string, string> = new Map();
    let paramError: BinanceApiError | undefined;
    try {
      const form =
        raw.method !== 'GET' && raw.body.length > 0 && isFormContentType(raw.headers['content-type']);
      params = parseParams(raw.query, form ? raw.body.toString('utf8') : undefined);
    } catch (e) {
      if (!(e instanceof BinanceApiError)) throw e;
      paramError = e;
    }
    const req: GatewayRequest = {
      method: raw.method,
      path: raw.path,
      query: raw.query,
      params,
      body: raw.body,
      headers: raw.headers,
      ip,
    };

    const route = match.kind === 'found' ? match.route : undefined;
    // Unknown endpoints cost 1, like the cheapest endpoint; a weight that depends on parameters
    // falls back to 1 when the parameters cannot be read (the request is refused anyway).
    let weight = 1;
    if (route !== undefined) {
      if (typeof route.weight === 'number') weight = route.weight;
      else if (paramError === undefined) weight = route.weight(req);
    }
    const charge = limiter.chargeIp(ip, weight);
    Object.assign(headers, charge.headers);
    if (!charge.ok) throw new BinanceApiError(charge.error);

    if (match.kind === 'unknown-path') throw new BinanceApiError(Errors.unknownEndpoint());
    if (match.kind === 'wrong-method')
      throw new BinanceApiError(Errors.methodNotAllowed(), { Allow: match.allow });
    if (paramError !== undefined) throw paramError;
    const found = match.route;

    const timeUnit = parseTimeUnit(raw.headers['x-mbx-time-unit']);
    // Synchronous for a key the lookup holds (no promise, no turn of the microtask queue).
    const pending = authenticate(req, found.security, timeUnit, nowMicros, this.deps);
    const auth = pending instanceof Promise ? await pending : pending;
    if (found.countsAsOrder === true) {
      if (auth === null)
        throw new Error(`order route ${found.method} ${found.path} has no authenticated account`);
      const orders = limiter.chargeOrder(auth.userId);
      Object.assign(headers, orders.headers);
      if (!orders.ok) throw new BinanceApiError(orders.error);
    }
    const res = await found.handler(req, { timeUnit, nowMicros, auth });
    if (res.headers !== undefined) Object.assign(headers, res.headers);
    return { status: res.status, headers, body: res.body };
  }
}
