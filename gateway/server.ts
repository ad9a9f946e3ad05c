/**
 * The gateway's HTTP server on uWebSockets.js (the native build: test/gateway/native.test.ts
 * proves it is not the package's `ws` fallback). One catch-all handler copies each request out
 * of uWS before anything awaits (uWS invalidates the request object and body chunks when the
 * callback returns), registers `onAborted` first, caps the body, then hands a plain copy to the
 * request pipeline (./http/pipeline.ts); the reply is written inside `res.cork`, and only if
 * the client has not gone away.
 *
 * Keep-alive framing: every request the handler sees gets exactly one reply that the client can
 * frame, or the connection closes; never silence (test/gateway/http-keepalive.test.ts).
 * - HEAD is answered with the status and headers only: a body after a HEAD reply would be read
 *   as the start of the next response.
 * - A Content-Length that is not one number is 400 and closes (uWS and we could disagree on
 *   where the body ends); a body over the limit is 413 and closes.
 * - A body that has not arrived `bodyTimeoutMs` after its headers is 408 and closes: uWS hands
 *   over a chunked body it cannot parse (a chunk extension) as data that never ends.
 * - A reply that cannot be written (a handler's bug: a status out of range, a header value that
 *   is no string or holds a line break) becomes 500 -1000; should writing still fail, the
 *   connection is closed rather than left waiting.
 * - A GET on a WebSocket route without `Upgrade: websocket` is an ordinary request (uWS would
 *   switch protocols on a stray Sec-WebSocket-Key alone).
 * What uWS (v20.30) refuses itself never reaches this code: a method it does not know closes the
 * connection at once; a request with more than 48 header lines, an HTTP/1.0 request, a request
 * line or header it cannot parse get no answer (uWS waits for more bytes until its idle timeout).
 *
 * `close()` stops accepting connections, waits for the requests in flight (answering them with
 * `Connection: close`), then closes the connections that remain (idle keep-alives).
 */

import uWS from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';
import { pino } from 'pino';
import type { Markets } from '../engine/index.ts';
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimitSettings } from './auth/rate-limit.ts';
import { systemClock } from './auth/timing.ts';
import { BinanceCode, type BinanceError, Errors } from './binance/errors.ts';
import type { GatewayResponse, Route } from './http/http-types.ts';
import { forwardedClientIp, normalizeIp } from './http/ip.ts';
import { errorResponse, type RawRequest, RequestPipeline } from './http/pipeline.ts';
import { publicRoutes } from './http/public.routes.ts';
import { Router } from './http/router.ts';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_BODY_TIMEOUT_MS } from './http/settings.ts';
import type { ApiKeyLookup, Clock } from './ports.ts';

/** How to start a gateway. */
export interface GatewayOptions {
  /** TCP port; 0 picks a free one (read it back from `Gateway.port`). */
  readonly port: number;
  /** Address to bind (default: every address, IPv4 and IPv6). */
  readonly host?: string;
  readonly markets: Markets;
  readonly apiKeys: ApiKeyLookup;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Believe X-Forwarded-For from this many proxies (true = 1; default: none). */
  readonly trustProxy?: boolean | number;
  /** Default: Binance's limits (DEFAULT_RATE_LIMITS). */
  readonly rateLimits?: RateLimitSettings;
  /** Largest request body accepted; larger is 413 (default 64 KiB). */
  readonly bodyLimitBytes?: number;
  /** Time a body may take to arrive after the headers; longer is 408 (default 5 s). */
  readonly bodyTimeoutMs?: number;
  /** Routes beyond the general ones (orders, account, ...), wired by the platform. */
  readonly routes?: readonly Route[];
  /** Default: a pino logger named "gateway" at info. */
  readonly logger?: pino.Logger;
}

/** A running gateway. */
export interface Gateway {
  /** The port it listens on. */
  readonly port: number;
  /** The uWS app, for WebSocket routes (register them before clients connect). */
  readonly app: uWS.TemplatedApp;
  /** The rate limiter (for the WebSocket API, which shares the limits). */
  readonly limiter: RateLimiter;
  /** Stops accepting, waits for requests in flight, closes every connection. Idempotent. */
  close(): Promise<void>;
}

const STATUS_LINES = new Map<number, string>();

/** The status line uWS writes ("429 Too Many Requests"), built once per status. */
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

/** 400: a Content-Length that is not one number (repeated, signed, not digits). */
const BAD_CONTENT_LENGTH: BinanceError = {
  status: 400,
  code: BinanceCode.ILLEGAL_CHARS,
  msg: 'Malformed Content-Length header.',
};

/** 408: the body did not arrive in time (or could not be framed); the request was not processed. */
const BODY_TIMEOUT: BinanceError = {
  status: 408,
  code: BinanceCode.TIMEOUT,
  msg: 'Timeout waiting for the request body; the request was not processed.',
};

/** The body of a request that has none (never written to: it has no bytes). */
const NO_BODY = Buffer.alloc(0);

const LINE_BREAK = /[\r\n]/;

/** Whether uWS can write `r` as it is (a handler could return anything). */
function writable(r: GatewayResponse): boolean {
  if (!Number.isInteger(r.status) || r.status < 200 || r.status > 599 || typeof r.body !== 'string')
    return false;
  const headers = r.headers;
  if (headers === undefined) return true;
  for (const name in headers) {
    const value: unknown = headers[name];
    if (typeof value !== 'string' || LINE_BREAK.test(value) || LINE_BREAK.test(name)) return false;
  }
  return true;
}

/** True for a WebSocket handshake: `Upgrade: websocket` (any case, possibly among other tokens). */
function isHandshake(req: uWS.HttpRequest): boolean {
  return /(^|,)\s*websocket\s*(,|$)/i.test(req.getHeader('upgrade'));
}

/**
 * Makes every WebSocket route of `app` check the handshake first: uWS upgrades any GET on the
 * route that carries a 24-character Sec-WebSocket-Key, even without `Upgrade: websocket`. Such a
 * request is yielded to the HTTP handler instead (an ordinary 404/405 reply on a kept-alive
 * connection, not a 101).
 */
function handshakeOnly(app: uWS.TemplatedApp): uWS.TemplatedApp {
  const register = app.ws.bind(app);
  const ws = <UserData>(pattern: uWS.RecognizedString, behavior: uWS.WebSocketBehavior<UserData>) =>
    register<UserData>(pattern, {
      ...behavior,
      upgrade: (res, req, context) => {
        if (!isHandshake(req)) {
          req.setYield(true);
          return;
        }
        if (behavior.upgrade !== undefined) behavior.upgrade(res, req, context);
        else
          res.upgrade(
            {} as UserData,
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          );
      },
    });
  app.ws = ws;
  return app;
}

/**
 * One request's progress. `done`: the body is complete (or refused), from then on the pipeline
 * or the refusal owns the request. A client that goes away mid-body never completes it: it is
 * counted finished when it aborts, or close() would wait for it forever.
 */
interface RequestState {
  aborted: boolean;
  done: boolean;
  deadline: NodeJS.Timeout | undefined;
}

/** Starts a gateway; resolves once it listens (rejects when the port cannot be bound). */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? pino({ name: 'gateway' });
  const clock = options.clock ?? systemClock;
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const trustedProxyHops =
    options.trustProxy === true ? 1 : options.trustProxy === false ? 0 : (options.trustProxy ?? 0);
  const limiter = new RateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS, () =>
    Math.floor(clock.nowMicros() / 1000),
  );
  const router = new Router([
    ...publicRoutes({ markets: options.markets, limiter }),
    ...(options.routes ?? []),
  ]);
  const pipeline = new RequestPipeline({
    router,
    limiter,
    apiKeys: options.apiKeys,
    clock,
    logger,
  });

  const app = handshakeOnly(uWS.App());
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const finish = (): void => {
    inFlight--;
    if (closing && inFlight === 0) drained?.();
  };

  /**
   * Writes a reply unless the client went away; corked so that it leaves in one write. A HEAD
   * reply carries no body (and, not knowing the length a GET would have, no Content-Length).
   */
  const reply = (
    res: uWS.HttpResponse,
    state: RequestState,
    head: boolean,
    given: GatewayResponse,
    close: boolean,
  ): void => {
    if (state.aborted) return;
    let r = given;
    if (!writable(r)) {
      logger.error(
        { status: r.status, headers: r.headers },
        'a handler returned a reply that cannot be written',
      );
      r = errorResponse(Errors.unknown());
    }
    const closeAfter = close || closing;
    res.cork(() => {
      try {
        res.writeStatus(statusLine(r.status));
        const headers = r.headers;
        if (headers !== undefined) for (const k in headers) res.writeHeader(k, headers[k]!);
        if (!head) res.end(r.body, closeAfter);
        // uWS 20.30 closes without writing anything on endWithoutBody(_, true): an empty end instead.
        else if (closeAfter) res.end('', true);
        else res.endWithoutBody();
      } catch (e) {
        // Whatever went wrong, the client must not be left waiting for a reply that never comes.
        logger.error({ err: e }, 'writing a reply failed; closing the connection');
        res.close();
      }
    });
  };

  /** Answers with `error` and closes the connection (the rest of the body is not read). */
  const refuse = (res: uWS.HttpResponse, state: RequestState, head: boolean, error: BinanceError): void => {
    state.done = true;
    clearTimeout(state.deadline);
    reply(res, state, head, errorResponse(error), true);
    finish();
  };

  /** Runs a request whose bytes are all copied through the pipeline, and replies. */
  const run = (res: uWS.HttpResponse, state: RequestState, head: boolean, raw: RawRequest): void => {
    pipeline.handle(raw).then(
      (r) => {
        try {
          reply(res, state, head, r, false);
        } catch (e) {
          // reply() catches what uWS throws; anything else must not become an unhandled rejection.
          logger.error({ err: e }, 'writing a reply failed');
        }
        finish();
      },
      (e: unknown) => {
        // handle() never rejects; should it, the request still counts as finished.
        logger.error({ err: e }, 'a request failed outside the pipeline');
        finish();
      },
    );
  };

  app.any('/*', (res, req) => {
    // Everything uWS lends us is read here, synchronously, before any await. No named closure
    // is made per request: tsx's keepNames turns each into a defineProperty call.
    const state: RequestState = { aborted: false, done: false, deadline: undefined };
    res.onAborted(() => {
      state.aborted = true;
      clearTimeout(state.deadline);
      if (!state.done) {
        state.done = true;
        finish();
      }
    });
    const headers: Record<string, string> = Object.create(null);
    // uWS hands header names over in lower case.
    req.forEach((k, value) => {
      headers[k] = k in headers ? `${headers[k]}, ${value}` : value;
    });
    const method = req.getMethod().toUpperCase();
    const head = method === 'HEAD';
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    // The peer's address only when X-Forwarded-For does not name the client (reading it costs).
    const ip =
      forwardedClientIp(headers['x-forwarded-for'], trustedProxyHops) ??
      normalizeIp(Buffer.from(res.getRemoteAddressAsText()).toString('latin1'));
    inFlight++;

    const declared = headers['content-length']?.trim();
    if (declared !== undefined) {
      // Refused before reading: uWS and we could disagree on where the body ends.
      if (!/^[0-9]{1,16}$/.test(declared)) return refuse(res, state, head, BAD_CONTENT_LENGTH);
      if (Number(declared) > bodyLimit) return refuse(res, state, head, Errors.bodyTooLarge(bodyLimit));
    }
    if ((declared === undefined || Number(declared) === 0) && headers['transfer-encoding'] === undefined) {
      // No body (HTTP/1.1 frames one only by Content-Length or Transfer-Encoding): handled now,
      // without waiting for uWS to hand over an empty last chunk.
      state.done = true;
      run(res, state, head, { method, path, query, headers, body: NO_BODY, ip });
      return;
    }
    state.deadline = setTimeout(() => {
      if (!state.done) refuse(res, state, head, BODY_TIMEOUT);
    }, bodyTimeoutMs);
    state.deadline.unref();
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (state.done) return;
      size += chunk.byteLength;
      if (size > bodyLimit) return refuse(res, state, head, Errors.bodyTooLarge(bodyLimit));
      // The chunk's memory is reused by uWS after this callback: copy it.
      if (chunk.byteLength > 0) chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      state.done = true;
      clearTimeout(state.deadline);
      run(res, state, head, { method, path, query, headers, body: Buffer.concat(chunks, size), ip });
    });
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    const onListen = (socket: uWS.us_listen_socket | false): void => {
      if (socket === false) reject(new Error(`gateway: cannot listen on port ${options.port}`));
      else resolve(socket);
    };
    if (options.host === undefined) app.listen(options.port, onListen);
    else app.listen(options.host, options.port, onListen);
  });
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  logger.info({ port }, 'gateway listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      uWS.us_listen_socket_close(listenSocket);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      // Not in the package's typings, present in the native build: closes every remaining socket.
      (app as uWS.TemplatedApp & { close(): void }).close();
      logger.info({ port }, 'gateway closed');
    })();
    return closed;
  };

  return { port, app, limiter, close };
}
