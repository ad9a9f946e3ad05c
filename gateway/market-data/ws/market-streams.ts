/**
 * The gateway's market data WebSocket streams on uWebSockets.js, fed from the bus
 * (docs/MARKET-DATA-WS.md tells the whole story):
 *
 *   /ws/<stream>[/<stream>...]    raw payloads (`/ws`, `/ws/0`: no stream yet, SUBSCRIBE later)
 *   /stream?streams=a/b/c         combined: {"stream":"<name>","data":<payload>} (an empty list too)
 *   ?session=<id>                 on either: the subscriptions and properties of that session back
 *
 * and the requests of protocol.ts on any of them. `/ws/<listenKey>` shares `/ws/*`: `attach`
 * registers ONE dispatcher that hands listen keys to the listen-key pieces
 * (gateway/user-data/listen-key.ws.ts) and everything else to the market data connections.
 *
 * Fan-out: per stream, a count of the local subscribers; the first starts
 * `followChannel(bus, channelForStream(stream), …, {cacheKey: followCacheKey(stream)})` (gap-free
 * from the cache), the last one leaving stops it. Every bus message is published once to a uWS
 * topic for raw connections and once, wrapped, to a topic for combined ones (the wrap is made once
 * per message per gateway, and only when that topic has subscribers): uWS writes each
 * subscriber's copy itself, and a client past `maxBackpressure` is cut off
 * (`closeOnBackpressureLimit`), so one slow client never delays or grows memory for the others.
 * `latest` streams (tickers, klines, partial books, book tickers, average prices) keep their
 * latest payload here: a client gets it at once when it subscribes, and every subscriber gets the
 * fresh one when the follower resynchronises (a gap, or the bus back up). Diff streams relay
 * diffs only (the cached book is for the follower, never sent); trades relay as they come.
 *
 * Limits, as Binance's: 1024 streams and 5 incoming messages (requests, pings, pongs) per second
 * per connection (more: disconnected), a ping every 20 s and a pong within a minute, 24 hours per
 * connection. One unref'd timer checks every connection; per-connection state is a small object
 * (its subscriptions are uWS topics plus a list of interned names).
 *
 * Sessions: each market data connection has a 128-bit session id, sent in the upgrade response
 * header `X-Crossbook-Session` and readable with `GET_PROPERTY ["session"]`; its subscriptions
 * and properties are saved in the `SessionStore` (the bus's cache: Redis when gateways scale out)
 * whenever they change, so a client whose gateway died reconnects to any other with `?session=`.
 */

import type uWS from 'uWebSockets.js';
import type { pino } from 'pino';
import type { Markets } from '../../../engine/index.ts';
import { parseTimeUnit } from '../../auth/time-unit.ts';
import { type BinanceApiError, BinanceCode } from '../../binance/errors.ts';
import {
  type ListenKeyConnection,
  type ListenKeyWs,
  type ListenKeyWsDeps,
  listenKeyWs,
  queryParam,
  refuseUpgrade,
} from '../../user-data/listen-key.ws.ts';
import { isListenKey } from '../../user-data/listen-keys.ts';
import type { Bus, BusPayload, CacheEntry } from '../bus/bus.port.ts';
import { channelForStream } from '../bus/channels.ts';
import { newSessionId, type SessionStore, type WsSession } from '../bus/session-store.ts';
import { type Follower, followChannel, type ResyncReason } from '../bus/snapshot-sync.ts';
import { followCacheKey, type StreamKind, streamKind } from '../publisher.ts';
import { errorReply, isRequestError, parseRequest, resultReply } from './protocol.ts';
import { looksLikeStream, StreamCatalog } from './stream-names.ts';

/** The upgrade response header carrying the connection's session id. */
export const SESSION_HEADER = 'X-Crossbook-Session';
/** The query parameter that resumes a session (`/ws?session=<id>`, `/stream?streams=&session=<id>`). */
export const SESSION_PARAM = 'session';

/** Close codes and reasons of the connections this file ends. */
export const CLOSE_RATE = 1008;
export const CLOSE_PONG_TIMEOUT = 1008;
export const CLOSE_LIFETIME = 1000;
export const CLOSE_SHUTDOWN = 1001;

/** Limits and timings (Binance's by default). */
export interface MarketStreamsLimits {
  /** Streams per connection (1024). */
  readonly maxStreams?: number;
  /** Incoming messages per second per connection: requests, pings and pongs (5); more closes it. */
  readonly messagesPerSecond?: number;
  /** A ping to every connection this often (20 s). */
  readonly pingIntervalMs?: number;
  /** A connection with no pong for this long is closed (60 s). */
  readonly pongTimeoutMs?: number;
  /** Every connection is closed this long after it opened (24 h). */
  readonly maxLifetimeMs?: number;
  /** Bytes buffered for one client before uWS cuts it off (512 KiB). */
  readonly maxBackpressure?: number;
  /** Largest incoming frame; larger closes the connection (64 KiB: a SUBSCRIBE of 1024 names fits). */
  readonly maxPayloadLength?: number;
}

/** What `MarketStreams` needs. */
export interface MarketStreamsOptions {
  readonly bus: Bus;
  readonly markets: Markets;
  /** Where sessions are kept (`new SessionStore(bus.cache)`); without it sessions are not saved or resumed. */
  readonly sessions?: SessionStore;
  readonly logger?: pino.Logger;
  readonly limits?: MarketStreamsLimits;
  /** Clock in ms for the liveness and rate checks (default Date.now). */
  readonly now?: () => number;
}

/** Counters, for the fan-out benchmark and metrics. */
export interface MarketStreamsStats {
  /** Market data connections open. */
  readonly connections: number;
  /** Listen-key connections open through the dispatcher. */
  readonly listenKeyConnections: number;
  /** Streams followed on the bus (with at least one local subscriber). */
  readonly streams: number;
  /** Subscriptions over every connection. */
  readonly subscriptions: number;
  /** Bus messages relayed to clients. */
  readonly relayed: number;
  /** uWS topic publishes (a message goes to the raw topic, the combined one, or both). */
  readonly published: number;
  /** Follower resynchronisations (a gap, or the bus back up). */
  readonly resyncs: number;
  /**
   * Connections ended without a close handshake (1006) that this file did not end: uWS cuts a
   * client past `maxBackpressure` that way and gives no other signal, so a peer that vanishes
   * without a close frame is counted here too.
   */
  readonly closedBackpressure: number;
  /** Closed for more than `messagesPerSecond`. */
  readonly closedRate: number;
  /** Closed for no pong within `pongTimeoutMs`. */
  readonly closedLiveness: number;
  /** Closed at `maxLifetimeMs`. */
  readonly closedLifetime: number;
  /** Sessions given back on connect (`?session=`). */
  readonly sessionsResumed: number;
  /** Session loads or saves that failed (logged; the connection goes on). */
  readonly sessionErrors: number;
}

/** Why this file ended a connection. */
type CloseReason = 'rate' | 'liveness' | 'lifetime' | 'shutdown';

/** What the liveness and rate checks keep per connection. */
interface Liveness {
  /** Set at open. */
  ws: uWS.WebSocket<Connection> | undefined;
  openedAt: number;
  lastPong: number;
  /** When this connection is pinged next: every pingIntervalMs from a random first moment. */
  pingAt: number;
  windowStart: number;
  windowCount: number;
  closeReason: CloseReason | undefined;
}

/** Per-connection state of a market data connection (uWS user data). */
export interface MarketConnection extends Liveness {
  readonly kind: 'market';
  readonly sessionId: string;
  readonly createdAtMs: number;
  /** Payloads wrapped `{"stream","data"}` (the `combined` property). */
  combined: boolean;
  /** The subscribed streams (interned names), in subscription order; before open, those to subscribe. */
  readonly streams: string[];
  closed: boolean;
}

/** The user data of a connection behind the dispatcher. */
type Connection = MarketConnection | ListenKeyConnection;
type Socket = uWS.WebSocket<Connection>;

/** One stream followed on the bus. */
interface StreamState {
  readonly name: string;
  readonly kind: StreamKind;
  /** uWS topics of raw and combined subscribers. */
  readonly raw: string;
  readonly combined: string;
  /** `{"stream":"<name>","data":` */
  readonly prefix: string;
  refs: number;
  follower: Follower | undefined;
  /** `latest` streams: the current payload. */
  latest: BusPayload | undefined;
}

/** Options of `attach`. */
export interface AttachOptions {
  /** The listen-key pieces (`listenKeyWs(deps)`): `/ws/<listenKey>` goes to them. */
  readonly listenKeys?: ListenKeyWs;
}

const WINDOW_MS = 1000;
const CLOSE_ABNORMAL = 1006;

/** Market data streams for one uWS app (one per gateway). */
export class MarketStreams {
  /** Every stream name served, from the markets. */
  readonly catalog: StreamCatalog;
  readonly #bus: Bus;
  readonly #sessions: SessionStore | undefined;
  readonly #logger: pino.Logger | undefined;
  readonly #now: () => number;
  readonly #maxStreams: number;
  readonly #messagesPerSecond: number;
  readonly #pingIntervalMs: number;
  readonly #pongTimeoutMs: number;
  readonly #maxLifetimeMs: number;
  readonly #maxBackpressure: number;
  readonly #maxPayloadLength: number;
  #app: uWS.TemplatedApp | undefined;
  #listenKeys: ListenKeyWs | undefined;
  readonly #streams = new Map<string, StreamState>();
  /** Every open connection behind the dispatcher, for the liveness checks. */
  readonly #live = new Set<Liveness>();
  /** The liveness records of listen-key connections (their user data is the listen-key piece's). */
  readonly #keyLive = new Map<ListenKeyConnection, Liveness>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #connections = 0;
  #subscriptions = 0;
  #relayed = 0;
  #published = 0;
  #resyncs = 0;
  #closedBackpressure = 0;
  #closedRate = 0;
  #closedLiveness = 0;
  #closedLifetime = 0;
  #sessionsResumed = 0;
  #sessionErrors = 0;

  constructor(options: MarketStreamsOptions) {
    this.#bus = options.bus;
    this.#sessions = options.sessions;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.catalog = new StreamCatalog(options.markets);
    const l = options.limits ?? {};
    this.#maxStreams = positive('maxStreams', l.maxStreams ?? 1024);
    this.#messagesPerSecond = positive('messagesPerSecond', l.messagesPerSecond ?? 5);
    this.#pingIntervalMs = positive('pingIntervalMs', l.pingIntervalMs ?? 20_000);
    this.#pongTimeoutMs = positive('pongTimeoutMs', l.pongTimeoutMs ?? 60_000);
    this.#maxLifetimeMs = positive('maxLifetimeMs', l.maxLifetimeMs ?? 24 * 60 * 60 * 1000);
    this.#maxBackpressure = positive('maxBackpressure', l.maxBackpressure ?? 512 * 1024);
    this.#maxPayloadLength = positive('maxPayloadLength', l.maxPayloadLength ?? 64 * 1024);
  }

  /**
   * Registers `/ws`, `/ws/*` and `/stream` on `app` (one dispatcher for market data and, when
   * given, listen keys) and starts the liveness timer. Once per instance, before clients connect.
   */
  attach(app: uWS.TemplatedApp, options: AttachOptions = {}): void {
    if (this.#app !== undefined) throw new Error('MarketStreams.attach: already attached to an app');
    if (this.#closed) throw new Error('MarketStreams.attach: closed');
    this.#app = app;
    this.#listenKeys = options.listenKeys;
    const common: uWS.WebSocketBehavior<Connection> = {
      maxPayloadLength: this.#maxPayloadLength,
      maxBackpressure: this.#maxBackpressure,
      // The typings say number; the native module reads it as a boolean.
      closeOnBackpressureLimit: 1,
      // Liveness is this file's (pings every pingIntervalMs, pongs required), not uWS's idle timer.
      idleTimeout: 0,
      sendPingsAutomatically: false,
      maxLifetime: 0,
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      close: (ws, code, message) => this.#close(ws, code, message),
      ping: (ws) => this.#ping(ws),
      pong: (ws) => this.#pong(ws),
    };
    app.ws<Connection>('/ws', {
      ...common,
      upgrade: (res, req, context) => this.#upgrade(res, req, context, false, ''),
    });
    app.ws<Connection>('/ws/*', {
      ...common,
      upgrade: (res, req, context) =>
        this.#upgrade(res, req, context, false, req.getUrl().slice('/ws/'.length)),
    });
    app.ws<Connection>('/stream', {
      ...common,
      upgrade: (res, req, context) => this.#upgrade(res, req, context, true, ''),
    });
    // A twentieth of the shortest period: each pass pings only the connections due, so that
    // 10,000 pings are not one stall of the event loop every 20 s.
    const tick = Math.max(
      10,
      Math.floor(Math.min(this.#pingIntervalMs, this.#pongTimeoutMs, this.#maxLifetimeMs) / 20),
    );
    this.#timer = setInterval(() => this.#checkLiveness(), tick);
    this.#timer.unref();
  }

  /** Counters (see MarketStreamsStats). */
  stats(): MarketStreamsStats {
    return {
      connections: this.#connections,
      listenKeyConnections: this.#keyLive.size,
      streams: this.#streams.size,
      subscriptions: this.#subscriptions,
      relayed: this.#relayed,
      published: this.#published,
      resyncs: this.#resyncs,
      closedBackpressure: this.#closedBackpressure,
      closedRate: this.#closedRate,
      closedLiveness: this.#closedLiveness,
      closedLifetime: this.#closedLifetime,
      sessionsResumed: this.#sessionsResumed,
      sessionErrors: this.#sessionErrors,
    };
  }

  /**
   * Sends market data connections Binance's `serverShutdown` event and ends every connection
   * (1001; sessions are kept, so clients resume elsewhere), stops every
   * follower and the timer. Idempotent. The gateway's `close()` closes the sockets too; call this first.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    // Binance announces a shutdown with `serverShutdown` (`!serverShutdown` on combined connections).
    const event = `{"e":"serverShutdown","E":${Date.now()}}`;
    const wrapped = `{"stream":"!serverShutdown","data":${event}}`;
    for (const l of [...this.#live]) {
      if (isMarket(l)) this.#send(l, l.combined ? wrapped : event);
      this.#end(l, 'shutdown', CLOSE_SHUTDOWN, 'Server shutting down');
    }
    for (const st of this.#streams.values()) st.follower?.stop();
    this.#streams.clear();
  }

  // --- upgrade --------------------------------------------------------------------------------

  #upgrade(
    res: uWS.HttpResponse,
    req: uWS.HttpRequest,
    context: uWS.us_socket_context_t,
    combined: boolean,
    path: string,
  ): void {
    if (this.#closed) {
      refuseShuttingDown(res);
      return;
    }
    const query = req.getQuery() ?? '';
    let names: string[];
    if (combined) {
      names = (queryParam(query, 'streams') ?? '').split('/');
    } else {
      const name = decodePath(path);
      if (name === undefined) {
        refuseUpgrade(res, '400 Bad Request', { code: 2, msg: 'Invalid request: invalid stream' });
        return;
      }
      if (isListenKey(name)) {
        if (this.#listenKeys !== undefined) this.#listenKeys.upgrade(res, req, context, name);
        else refuseUpgrade(res, '400 Bad Request', { code: -1125, msg: 'This listenKey does not exist.' });
        return;
      }
      names = name.split('/');
    }
    const streams: string[] = [];
    for (const n of names) {
      if (n === '') continue;
      const s = this.catalog.get(n);
      if (s === undefined) {
        // `/ws/0` (ccxt) and the like: a placeholder, not a stream.
        if (!combined && !looksLikeStream(n)) continue;
        refuseUpgrade(res, '400 Bad Request', {
          code: 2,
          msg: `Invalid request: invalid stream '${printable(n)}'`,
        });
        return;
      }
      if (!streams.includes(s)) streams.push(s);
    }
    if (streams.length > this.#maxStreams) {
      refuseUpgrade(res, '400 Bad Request', {
        code: 2,
        msg: `Invalid request: too many streams (at most ${this.#maxStreams} per connection)`,
      });
      return;
    }
    try {
      if (parseTimeUnit(queryParam(query, 'timeUnit')) === 'MICROSECOND') {
        refuseUpgrade(res, '400 Bad Request', {
          code: BinanceCode.UNSUPPORTED_OPERATION,
          msg: 'timeUnit=MICROSECOND is not supported on market data streams; their times are in milliseconds.',
        });
        return;
      }
    } catch (e) {
      const err = e as BinanceApiError;
      refuseUpgrade(res, '400 Bad Request', { code: err.code, msg: err.message });
      return;
    }
    // uWS invalidates `req` when this returns: copy what the upgrade needs now.
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const upgrade = (sessionId: string, session: WsSession | undefined): void => {
      if (this.#closed) {
        refuseShuttingDown(res);
        return;
      }
      const conn = this.#connection(sessionId, session, streams, combined);
      res.cork(() => {
        // A header on a 101 needs the status written first (else uWS writes "200 OK").
        res.writeStatus('101 Switching Protocols').writeHeader(SESSION_HEADER, sessionId);
        res.upgrade<Connection>(conn, key, protocol, extensions, context);
      });
    };
    const resume = queryParam(query, SESSION_PARAM);
    const store = this.#sessions;
    if (store === undefined || resume === undefined || !SESSION_ID_RE.test(resume)) {
      upgrade(newSessionId(), undefined);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    store.load(resume).then(
      (session) => {
        if (aborted) return;
        if (session === undefined) upgrade(newSessionId(), undefined);
        else {
          this.#sessionsResumed++;
          upgrade(resume, session);
        }
      },
      (e: unknown) => {
        this.#sessionErrors++;
        this.#logger?.warn({ err: e }, 'market data ws: loading a session failed; starting a fresh one');
        if (!aborted) upgrade(newSessionId(), undefined);
      },
    );
  }

  /** A new connection's state: a resumed session's streams and properties first, then the URL's. */
  #connection(
    sessionId: string,
    session: WsSession | undefined,
    urlStreams: readonly string[],
    urlCombined: boolean,
  ): MarketConnection {
    const streams: string[] = [];
    const add = (name: string) => {
      const s = this.catalog.get(name);
      if (s !== undefined && streams.length < this.#maxStreams && !streams.includes(s)) streams.push(s);
    };
    if (session !== undefined) for (const s of session.subscriptions) add(s);
    for (const s of urlStreams) add(s);
    const restored = session?.properties.combined;
    const now = this.#now();
    return {
      kind: 'market',
      sessionId,
      createdAtMs: session?.createdAtMs ?? Date.now(),
      combined: typeof restored === 'boolean' ? restored : urlCombined,
      streams,
      closed: false,
      ws: undefined,
      openedAt: now,
      lastPong: now,
      pingAt: this.#firstPing(now),
      windowStart: now,
      windowCount: 0,
      closeReason: undefined,
    };
  }

  /**
   * A new connection's first ping: somewhere in the second half of an interval, so that the
   * pings of connections opened together (a reconnect storm, a benchmark) are spread over the
   * interval instead of all going out in one pass of the timer.
   */
  #firstPing(now: number): number {
    return now + Math.ceil(this.#pingIntervalMs * (0.5 + 0.5 * Math.random()));
  }

  // --- connection events ----------------------------------------------------------------------

  #open(ws: Socket): void {
    const data = ws.getUserData();
    const now = this.#now();
    if (data.kind === 'listenKey') {
      const l: Liveness = {
        ws,
        openedAt: now,
        lastPong: now,
        pingAt: this.#firstPing(now),
        windowStart: now,
        windowCount: 0,
        closeReason: undefined,
      };
      this.#keyLive.set(data, l);
      this.#live.add(l);
      this.#listenKeys?.open(ws as uWS.WebSocket<ListenKeyConnection>);
      return;
    }
    const conn = data;
    conn.ws = ws;
    conn.openedAt = now;
    conn.lastPong = now;
    conn.pingAt = this.#firstPing(now);
    conn.windowStart = now;
    this.#live.add(conn);
    this.#connections++;
    const initial = conn.streams.splice(0);
    ws.cork(() => {
      for (const s of initial) {
        try {
          this.#subscribe(ws, conn, s);
        } catch (e) {
          // Only a closed bus refuses to be followed (the gateway is stopping).
          this.#logger?.error({ err: e, stream: s }, 'market data ws: cannot follow a stream');
        }
      }
    });
    this.#save(conn);
  }

  #message(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    const l = data.kind === 'listenKey' ? this.#keyLive.get(data) : data;
    if (l === undefined || !this.#admit(l)) return;
    if (data.kind === 'listenKey') {
      this.#listenKeys?.message(ws as uWS.WebSocket<ListenKeyConnection>, message, isBinary);
      return;
    }
    // A binary frame is read as UTF-8 text like any other (invalid JSON gets error 3).
    const text = Buffer.from(message).toString('utf8');
    try {
      this.#handle(ws, data, text);
    } catch (e) {
      this.#logger?.error({ err: e }, 'market data ws: a request failed');
      this.#send(
        data,
        errorReply({
          idJson: 'null',
          code: -1000,
          msg: 'An unknown error occurred while processing the request.',
        }),
      );
    }
  }

  #ping(ws: Socket): void {
    const data = ws.getUserData();
    const l = data.kind === 'listenKey' ? this.#keyLive.get(data) : data;
    if (l !== undefined) this.#admit(l);
  }

  #pong(ws: Socket): void {
    const data = ws.getUserData();
    const l = data.kind === 'listenKey' ? this.#keyLive.get(data) : data;
    if (l === undefined) return;
    l.lastPong = this.#now();
    this.#admit(l);
  }

  #close(ws: Socket, code: number, message: ArrayBuffer): void {
    const data = ws.getUserData();
    if (data.kind === 'listenKey') {
      const l = this.#keyLive.get(data);
      if (l !== undefined) {
        this.#keyLive.delete(data);
        this.#live.delete(l);
        this.#countClose(l, code);
      }
      this.#listenKeys?.close(ws as uWS.WebSocket<ListenKeyConnection>, code, message);
      return;
    }
    const conn = data;
    if (conn.closed) return;
    conn.closed = true;
    conn.ws = undefined;
    this.#live.delete(conn);
    this.#connections--;
    this.#countClose(conn, code);
    for (const s of conn.streams) this.#release(s);
    this.#subscriptions -= conn.streams.length;
    // The session stays (until its TTL): the client may resume it on another gateway.
    conn.streams.length = 0;
  }

  #countClose(l: Liveness, code: number): void {
    switch (l.closeReason) {
      case 'rate':
        this.#closedRate++;
        return;
      case 'liveness':
        this.#closedLiveness++;
        return;
      case 'lifetime':
        this.#closedLifetime++;
        return;
      case 'shutdown':
        return;
      default:
        if (code === CLOSE_ABNORMAL) this.#closedBackpressure++;
    }
  }

  /** Counts one incoming message (request, ping, pong); over the limit the connection is closed. */
  #admit(l: Liveness): boolean {
    if (l.closeReason !== undefined) return false;
    const now = this.#now();
    if (now - l.windowStart >= WINDOW_MS) {
      l.windowStart = now;
      l.windowCount = 0;
    }
    if (++l.windowCount <= this.#messagesPerSecond) return true;
    this.#end(l, 'rate', CLOSE_RATE, `Too many messages; at most ${this.#messagesPerSecond} per second`);
    return false;
  }

  /** Ends a connection for `reason` (its close handler runs at once and counts it). */
  #end(l: Liveness, reason: CloseReason, code: number, msg: string): void {
    if (l.closeReason !== undefined || l.ws === undefined) return;
    l.closeReason = reason;
    l.ws.end(code, msg);
  }

  /** Pings the connections whose ping is due; closes those silent too long or open too long. */
  #checkLiveness(): void {
    const now = this.#now();
    for (const l of this.#live) {
      if (now - l.openedAt >= this.#maxLifetimeMs)
        this.#end(l, 'lifetime', CLOSE_LIFETIME, 'Connection lifetime reached; reconnect');
      else if (now - l.lastPong >= this.#pongTimeoutMs)
        this.#end(l, 'liveness', CLOSE_PONG_TIMEOUT, 'No pong received in time');
      else if (now >= l.pingAt && l.ws !== undefined) {
        l.pingAt = now + this.#pingIntervalMs;
        l.ws.ping();
      }
    }
  }

  // --- requests -------------------------------------------------------------------------------

  #handle(ws: Socket, conn: MarketConnection, text: string): void {
    const req = parseRequest(text, this.catalog, this.#maxStreams);
    if (isRequestError(req)) {
      this.#send(conn, errorReply(req));
      return;
    }
    switch (req.method) {
      case 'SUBSCRIBE': {
        const fresh = req.streams.filter((s) => !conn.streams.includes(s));
        if (conn.streams.length + fresh.length > this.#maxStreams) {
          this.#send(
            conn,
            errorReply({
              idJson: req.idJson,
              code: 2,
              msg: `Invalid request: too many streams (at most ${this.#maxStreams} per connection)`,
            }),
          );
          return;
        }
        ws.cork(() => {
          this.#send(conn, resultReply(req.idJson, 'null'));
          for (const s of fresh) this.#subscribe(ws, conn, s);
        });
        if (fresh.length > 0) this.#save(conn);
        return;
      }
      case 'UNSUBSCRIBE': {
        let changed = false;
        for (const s of req.streams) changed = this.#unsubscribe(ws, conn, s) || changed;
        this.#send(conn, resultReply(req.idJson, 'null'));
        if (changed) this.#save(conn);
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        this.#send(conn, resultReply(req.idJson, JSON.stringify(conn.streams)));
        return;
      case 'SET_PROPERTY':
        if (req.value !== conn.combined) {
          for (const s of conn.streams) {
            const st = this.#streams.get(s)!;
            ws.unsubscribe(conn.combined ? st.combined : st.raw);
            ws.subscribe(req.value ? st.combined : st.raw);
          }
          conn.combined = req.value;
          this.#save(conn);
        }
        this.#send(conn, resultReply(req.idJson, 'null'));
        return;
      case 'GET_PROPERTY':
        this.#send(
          conn,
          resultReply(
            req.idJson,
            req.name === 'combined' ? String(conn.combined) : JSON.stringify(conn.sessionId),
          ),
        );
        return;
    }
  }

  #send(conn: MarketConnection, payload: BusPayload): void {
    if (conn.closed || conn.closeReason !== undefined || conn.ws === undefined) return;
    conn.ws.send(payload, false);
  }

  /** Saves the connection's session (fire and forget; a failure is logged and counted). */
  #save(conn: MarketConnection): void {
    const store = this.#sessions;
    if (store === undefined) return;
    store
      .save(conn.sessionId, {
        subscriptions: conn.streams,
        properties: { combined: conn.combined },
        createdAtMs: conn.createdAtMs,
      })
      .catch((e: unknown) => {
        this.#sessionErrors++;
        this.#logger?.warn({ err: e }, 'market data ws: saving a session failed');
      });
  }

  // --- fan-out --------------------------------------------------------------------------------

  #subscribe(ws: Socket, conn: MarketConnection, name: string): void {
    const st = this.#streams.get(name) ?? this.#follow(name);
    st.refs++;
    this.#subscriptions++;
    conn.streams.push(name);
    ws.subscribe(conn.combined ? st.combined : st.raw);
    if (st.latest !== undefined) this.#send(conn, conn.combined ? wrap(st, st.latest) : st.latest);
  }

  #unsubscribe(ws: Socket, conn: MarketConnection, name: string): boolean {
    const i = conn.streams.indexOf(name);
    if (i < 0) return false;
    conn.streams.splice(i, 1);
    this.#subscriptions--;
    const st = this.#streams.get(name)!;
    ws.unsubscribe(conn.combined ? st.combined : st.raw);
    this.#release(name);
    return true;
  }

  #release(name: string): void {
    const st = this.#streams.get(name);
    if (st === undefined) return;
    if (--st.refs > 0) return;
    st.follower?.stop();
    this.#streams.delete(name);
  }

  /** Starts following `name` on the bus. */
  #follow(name: string): StreamState {
    const channel = channelForStream(name);
    const st: StreamState = {
      name,
      kind: streamKind(name),
      raw: `r:${name}`,
      combined: `c:${name}`,
      prefix: `{"stream":"${name}","data":`,
      refs: 0,
      follower: undefined,
      latest: undefined,
    };
    const key = followCacheKey(name);
    // Throws only for a closed bus; then nothing is registered.
    st.follower = followChannel(
      this.#bus,
      channel,
      {
        onSnapshot: (entry, reason) => this.#onSnapshot(st, entry, reason),
        onMessage: (_channel, payload) => this.#relay(st, payload),
      },
      key === undefined ? {} : { cacheKey: key },
    );
    this.#streams.set(name, st);
    return st;
  }

  #onSnapshot(st: StreamState, entry: CacheEntry | undefined, reason: ResyncReason): void {
    if (reason !== 'start') this.#resyncs++;
    // Diff streams: the cached value is the book the follower joins at, never a payload.
    if (st.kind !== 'latest' || entry === undefined) return;
    st.latest = entry.value;
    // At the start, the subscribers so far got nothing yet; after a resync, everyone gets the fresh state.
    this.#publish(st, entry.value);
  }

  #relay(st: StreamState, payload: BusPayload): void {
    this.#relayed++;
    if (st.kind === 'latest') st.latest = payload;
    this.#publish(st, payload);
  }

  /** One publish per topic with subscribers; the combined wrap is made only when someone wants it. */
  #publish(st: StreamState, payload: BusPayload): void {
    const app = this.#app;
    if (app === undefined) return;
    if (app.numSubscribers(st.raw) > 0) {
      app.publish(st.raw, payload, false);
      this.#published++;
    }
    if (app.numSubscribers(st.combined) > 0) {
      app.publish(st.combined, wrap(st, payload), false);
      this.#published++;
    }
  }
}

/**
 * Registers the `/ws/*` dispatcher and `/stream` on `app`: market data from `streams`, and
 * `/ws/<listenKey>` from the listen-key pieces built from `userData` (omit it for market data
 * alone). It replaces `registerUserDataWs(app, userData)` for a gateway that serves both;
 * returns the listen-key pieces. Call before clients connect.
 */
export function registerStreamsWs(
  app: uWS.TemplatedApp,
  streams: MarketStreams,
  userData?: ListenKeyWsDeps,
): ListenKeyWs | undefined {
  const listenKeys = userData === undefined ? undefined : listenKeyWs(userData);
  streams.attach(app, listenKeys === undefined ? {} : { listenKeys });
  return listenKeys;
}

/** `{"stream":"<name>","data":<payload>}`. */
function wrap(st: StreamState, payload: BusPayload): BusPayload {
  if (typeof payload === 'string') return `${st.prefix}${payload}}`;
  return Buffer.concat([Buffer.from(st.prefix), payload, CLOSE_BRACE]);
}

const CLOSE_BRACE = Buffer.from('}');
const SESSION_ID_RE = /^[A-Za-z0-9_-]{16,128}$/;

function isMarket(l: Liveness): l is MarketConnection {
  return (l as Partial<MarketConnection>).kind === 'market';
}

/** 503 -1016 for a connection attempt after `close()`. */
function refuseShuttingDown(res: uWS.HttpResponse): void {
  refuseUpgrade(res, '503 Service Unavailable', {
    code: BinanceCode.SERVICE_SHUTTING_DOWN,
    msg: 'This service is no longer available.',
  });
}

/** The path after `/ws/`, percent-decoded (undefined when an escape is broken). */
function decodePath(path: string): string | undefined {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}...` : clean;
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new Error(`MarketStreams: ${name} must be a positive integer`);
  return v;
}
