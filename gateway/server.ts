/**
 * The gateway's HTTP server on uWebSockets.js (the native build: test/gateway/native.test.ts
 * proves it is not the package's `ws` fallback). One catch-all handler copies each request out
 * of uWS before anything awaits (uWS invalidates the request object and body chunks when the
 * callback returns), registers `onAborted` first, caps the body, then hands a plain copy to the
 * request pipeline (./http/pipeline.ts); the reply is written inside `res.cork`, and only if
 * the client has not gone away.
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
import { Errors } from './binance/errors.ts';
import type { GatewayResponse, Route } from './http/http-types.ts';
import { errorResponse, type RawRequest, RequestPipeline } from './http/pipeline.ts';
import { publicRoutes } from './http/public.routes.ts';
import { Router } from './http/router.ts';
import { DEFAULT_BODY_LIMIT_BYTES } from './http/settings.ts';
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

/** The status line uWS writes ("429 Too Many Requests"). */
function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

/** Starts a gateway; resolves once it listens (rejects when the port cannot be bound). */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? pino({ name: 'gateway' });
  const clock = options.clock ?? systemClock;
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
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
    trustedProxyHops,
    logger,
  });

  const app = uWS.App();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const finish = (): void => {
    inFlight--;
    if (closing && inFlight === 0) drained?.();
  };

  /** Writes a reply unless the client went away; corked so that it leaves in one write. */
  const reply = (
    res: uWS.HttpResponse,
    aborted: { value: boolean },
    r: GatewayResponse,
    close: boolean,
  ): void => {
    if (aborted.value) return;
    res.cork(() => {
      res.writeStatus(statusLine(r.status));
      if (r.headers !== undefined) for (const [k, v] of Object.entries(r.headers)) res.writeHeader(k, v);
      res.end(r.body, close || closing);
    });
  };

  app.any('/*', (res, req) => {
    // Everything uWS lends us is read here, synchronously, before any await.
    const aborted = { value: false };
    // `done`: the body is complete (or refused), from then on the pipeline or the 413 path owns
    // the request. A client that goes away mid-body never completes it: count it finished here,
    // or close() would wait for it forever.
    let done = false;
    res.onAborted(() => {
      aborted.value = true;
      if (!done) {
        done = true;
        finish();
      }
    });
    const headers: Record<string, string> = Object.create(null);
    req.forEach((key, value) => {
      const k = key.toLowerCase();
      headers[k] = k in headers ? `${headers[k]}, ${value}` : value;
    });
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
    inFlight++;

    const declared = headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= bodyLimit)) {
      // Refuse before reading; the connection closes since the rest of the body is not read.
      done = true;
      reply(res, aborted, errorResponse(Errors.bodyTooLarge(bodyLimit)), true);
      finish();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > bodyLimit) {
        done = true;
        reply(res, aborted, errorResponse(Errors.bodyTooLarge(bodyLimit)), true);
        finish();
        return;
      }
      // The chunk's memory is reused by uWS after this callback: copy it.
      if (chunk.byteLength > 0) chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      done = true;
      const raw: RawRequest = { method, path, query, headers, body: Buffer.concat(chunks, size), peer };
      pipeline
        .handle(raw)
        .then((r) => reply(res, aborted, r, false))
        .catch((e: unknown) => logger.error({ err: e }, 'writing a reply failed'))
        .finally(finish);
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
