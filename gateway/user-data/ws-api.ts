/**
 * The WebSocket API at `/ws-api/v3`, Binance's request/response API over one WebSocket:
 *
 *   ping, time, exchangeInfo                                 NONE
 *   session.logon (Ed25519 keys only), session.status,
 *   session.logout, session.subscriptions                    session management
 *   userDataStream.subscribe (after logon),
 *   userDataStream.subscribe.signature, .unsubscribe         USER_STREAM
 *   order.place, order.cancel                                TRADE
 *   order.status                                             USER_DATA
 *
 * Each request, in order: weight charged to the client's IP (the gateway's RateLimiter, the
 * same limits as REST; connecting costs 2), the frame parsed (ws-api-frame.ts), the
 * method's authentication (ws-api-auth.ts: signed per request, or unsigned after
 * session.logon), the ORDERS count for order.place, then REST's own parsing and replies
 * (gateway/orders/) with the engine reached through `submit`. Replies carry `rateLimits`
 * unless `returnRateLimits` is false (per request, or `?returnRateLimits=false` on the URL).
 *
 * User data subscriptions ride on the hub: events arrive as
 * `{"subscriptionId": n, "event": {...}}`; one subscription per account per connection,
 * 1,000 at a time, 65,535 over a connection's life (Binance's limits).
 *
 * Nothing a client sends can make this throw: every failure is a Binance error reply; a bug
 * is logged and answered 500 -1000. A client banned for its request rate gets its 418 and is
 * disconnected, as on Binance.
 */

import type uWS from 'uWebSockets.js';
import type { pino } from 'pino';
import {
  type CommandInput,
  type EngineEvent,
  type Market,
  type Markets,
  ResultCode,
} from '../../engine/index.ts';
import { intervalSuffix, type RateLimiter, type RateVerdict } from '../auth/rate-limit.ts';
import { parseTimeUnit, responseTime, type TimeUnit } from '../auth/time-unit.ts';
import { systemClock } from '../auth/timing.ts';
import {
  BinanceApiError,
  BinanceCode,
  type BinanceError,
  binanceError,
  Errors,
  errorForResult,
  type ResultContext,
} from '../binance/errors.ts';
import { ExchangeInfoBuilder, parseExchangeInfoQuery } from '../binance/exchange-info.ts';
import { clientIp, ipAllowed } from '../http/ip.ts';
import type { Result } from '../orders/order-error.ts';
import {
  type ParseContext,
  parseCancelOrder,
  parseNewOrder,
  parseQueryOrder,
} from '../orders/order-params.ts';
import {
  cancelOrderResponse,
  newOrderResponse,
  orderQueryResponse,
  queryOrder,
} from '../orders/order-response.ts';
import type { OrderSnapshot } from '../orders/order-state.ts';
import type { OrderView } from '../orders/order-view.ts';
import type { ApiKeyLookup, Clock, ResolvedKey } from '../ports.ts';
import { queryParam, refuseUpgrade, USER_DATA_WS_SETTINGS, upgradeWith } from './listen-key.ws.ts';
import type { UserDataHub } from './user-data-hub.ts';
import { authenticateSession, authenticateSigned, WS_AUTH_PARAMS, type WsAuth } from './ws-api-auth.ts';
import {
  errorReply,
  type IdJson,
  isFrameError,
  parseFrame,
  type RateLimitUsage,
  resultReply,
  type WsApiError,
} from './ws-api-frame.ts';

/** The history store's answer for an order the view no longer holds (GET order's fallback). */
export type OrderHistoryLookup = (
  userId: number,
  market: Market,
  ref: { readonly orderId: number; readonly clientOrderId: string },
) => Promise<OrderSnapshot | null>;

/** What the WebSocket API needs; the platform wires the real ones. */
export interface WsApiDeps {
  readonly markets: Markets;
  readonly apiKeys: ApiKeyLookup;
  /** The gateway's limiter (`Gateway.limiter`): the same limits as REST. */
  readonly limiter: RateLimiter;
  readonly hub: UserDataHub;
  /** The shared order view (fed by the hub). */
  readonly view: OrderView;
  /** The engine (the platform's CoreClient.submit): resolves with the command's events once durable. */
  readonly submit: (input: CommandInput) => Promise<EngineEvent[]>;
  /** order.status for orders the view no longer holds; without it they are -2013. */
  readonly orderHistory?: OrderHistoryLookup;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Believe X-Forwarded-For from this many proxies (true = 1; default none), as the HTTP server. */
  readonly trustProxy?: boolean | number;
  readonly logger?: pino.Logger;
  /** Client order ids for orders that name none (default: Binance-like random ids). */
  readonly newClientOrderId?: () => string;
}

/** One user data subscription of a connection. */
interface WsSubscription {
  readonly userId: number;
  /** Made by userDataStream.subscribe (session.logout ends those, not the signed ones). */
  readonly viaSession: boolean;
  readonly unsubscribe: () => void;
}

/** Per-connection state (uWS user data). */
export interface WsApiConnection {
  readonly kind: 'wsApi';
  readonly ip: string;
  readonly timeUnit: TimeUnit;
  /** The connection's default for `rateLimits` in replies. */
  readonly returnRateLimits: boolean;
  readonly connectedSinceMicros: number;
  session: {
    readonly apiKey: string;
    readonly userId: number;
    readonly authorizedSinceMicros: number;
  } | null;
  readonly subscriptions: Map<number, WsSubscription>;
  nextSubscriptionId: number;
  closed: boolean;
}

/** One request being answered. */
interface Call {
  readonly ws: uWS.WebSocket<WsApiConnection>;
  readonly conn: WsApiConnection;
  readonly params: Record<string, unknown>;
  readonly nowMicros: number;
  /** Set by order methods: the account whose ORDERS counts the reply shows. */
  orderUser: number | undefined;
}

interface Method {
  readonly weight: number;
  run(call: Call): Promise<unknown>;
}

/** Binance's limits on user data subscriptions per connection. */
export const MAX_ACTIVE_SUBSCRIPTIONS = 1000;
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 65_535;
/** Weight of opening a WebSocket API connection. */
export const CONNECTION_WEIGHT = 2;

const CLOSE_BANNED = 1008;

/** Binance's -2035: the account already has a subscription on this connection. */
const SUBSCRIPTION_ACTIVE: WsApiError = {
  status: 400,
  code: -2035,
  msg: 'User Data Stream subscription already active.',
};
/** Binance's -2036: no such subscription on this connection. */
const SUBSCRIPTION_INACTIVE: WsApiError = {
  status: 400,
  code: -2036,
  msg: 'User Data Stream subscription not active.',
};

/** An error value (the order functions' shape) as a thrown Binance error with its data. */
class WsApiFailure extends Error {
  constructor(readonly error: WsApiError) {
    super(error.msg);
  }
}

function fail(e: WsApiError): never {
  throw new WsApiFailure(e);
}

/** A parse or reply Result's value, or its error thrown. */
function resultValue<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  return fail(r.error);
}

/** The Binance error for a core link failure (matched by its dotted `code`), else undefined. */
function engineFailure(e: unknown): BinanceError | undefined {
  const code =
    typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
      ? (e as { code: string }).code
      : undefined;
  switch (code) {
    case 'link.status_unknown':
      // Sent, no answer: execution status unknown (Binance's -1007).
      return binanceError(BinanceCode.TIMEOUT, undefined, 503);
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

/** The first engine rejection of `kind` among a command's events, as its Binance error. */
function rejection(
  events: readonly EngineEvent[],
  kind: 'OrderRejected' | 'CancelRejected',
  context: ResultContext,
): BinanceError | undefined {
  for (const e of events) {
    if (e.kind === kind) return errorForResult((e as { code: ResultCode }).code, context);
  }
  return undefined;
}

/** -1104 when `params` holds anything beyond `allowed` (the methods that take few or none). */
function onlyParams(params: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  const sent = Object.keys(params).filter((k) => params[k] !== undefined);
  const read = sent.filter((k) => allowed.includes(k)).length;
  if (read !== sent.length) fail(Errors.unreadParams(read, sent.length));
}

/** `params` as the REST parameter map exchangeInfo's parser reads (lists as JSON text). */
function asStringMap(params: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') out.set(k, v);
    else if (typeof v === 'number' || typeof v === 'boolean') out.set(k, String(v));
    else if (Array.isArray(v)) out.set(k, JSON.stringify(v));
    else fail(Errors.mandatory(k));
  }
  return out;
}

/** The WebSocket API's uWS behaviour (register it with `registerWsApi`, or on a path of your own). */
export function wsApiBehaviour(deps: WsApiDeps): uWS.WebSocketBehavior<WsApiConnection> {
  const { markets, apiKeys, limiter, hub, view, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const hops = deps.trustProxy === true ? 1 : deps.trustProxy === false ? 0 : (deps.trustProxy ?? 0);
  const info = new ExchangeInfoBuilder(markets);

  const send = (ws: uWS.WebSocket<WsApiConnection>, text: string): void => {
    if (ws.getUserData().closed) return;
    ws.send(text, false);
  };

  const parseCtx = (userId: number): ParseContext => ({
    markets,
    userId: userId as ParseContext['userId'],
    authParams: WS_AUTH_PARAMS,
    ...(deps.newClientOrderId === undefined ? {} : { newClientOrderId: deps.newClientOrderId }),
  });

  const authCtx = (call: Call) => ({
    ip: call.conn.ip,
    timeUnit: call.conn.timeUnit,
    nowMicros: call.nowMicros,
    apiKeys,
  });

  /** Ends one subscription; the client is told with Binance's `eventStreamTerminated`. */
  const endSubscription = (ws: uWS.WebSocket<WsApiConnection>, id: number): void => {
    const conn = ws.getUserData();
    const sub = conn.subscriptions.get(id);
    if (sub === undefined) return;
    sub.unsubscribe();
    conn.subscriptions.delete(id);
    const E = responseTime(clock.nowMicros(), conn.timeUnit);
    send(ws, `{"subscriptionId":${id},"event":{"e":"eventStreamTerminated","E":${E}}}`);
  };

  /** Ends the session and the subscriptions made through it (session.logout, a revoked key). */
  const endSession = (ws: uWS.WebSocket<WsApiConnection>): void => {
    const conn = ws.getUserData();
    conn.session = null;
    for (const [id, sub] of [...conn.subscriptions]) if (sub.viaSession) endSubscription(ws, id);
  };

  /** A signed request, per request or through the session. */
  const authenticate = async (call: Call, security: 'TRADE' | 'USER_DATA'): Promise<WsAuth> => {
    const p = call.params;
    if (p.apiKey !== undefined || p.signature !== undefined)
      return authenticateSigned(p, security, authCtx(call));
    const s = call.conn.session;
    if (s === null) fail(Errors.mandatory('apiKey'));
    return authenticateSession(p, security, s.apiKey, authCtx(call), () => endSession(call.ws));
  };

  const sessionResult = (conn: WsApiConnection, nowMicros: number) => ({
    apiKey: conn.session?.apiKey ?? null,
    authorizedSince:
      conn.session === null ? null : responseTime(conn.session.authorizedSinceMicros, conn.timeUnit),
    connectedSince: responseTime(conn.connectedSinceMicros, conn.timeUnit),
    returnRateLimits: conn.returnRateLimits,
    serverTime: responseTime(nowMicros, conn.timeUnit),
    userDataStream: conn.subscriptions.size > 0,
  });

  /** Starts a subscription for `userId`; its events go out wrapped with their subscription id. */
  const subscribe = (call: Call, userId: number, viaSession: boolean) => {
    const { ws, conn } = call;
    // The client may have left while the request awaited its key: nothing to subscribe then
    // (its close handler has run and would never release the subscription).
    if (conn.closed) fail(binanceError(BinanceCode.DISCONNECTED));
    for (const sub of conn.subscriptions.values()) {
      if (sub.userId === userId) fail(SUBSCRIPTION_ACTIVE);
    }
    if (conn.subscriptions.size >= MAX_ACTIVE_SUBSCRIPTIONS)
      fail(
        binanceError(
          BinanceCode.UNSUPPORTED_OPERATION,
          `Too many active subscriptions; the limit is ${MAX_ACTIVE_SUBSCRIPTIONS} per connection.`,
        ),
      );
    if (conn.nextSubscriptionId >= MAX_SUBSCRIPTIONS_PER_CONNECTION)
      fail(
        binanceError(
          BinanceCode.UNSUPPORTED_OPERATION,
          `Too many subscriptions on this connection (${MAX_SUBSCRIPTIONS_PER_CONNECTION}); reconnect to subscribe again.`,
        ),
      );
    const subscriptionId = conn.nextSubscriptionId++;
    const prefix = `{"subscriptionId":${subscriptionId},"event":`;
    const unsubscribe = hub.subscribe(userId, (payload) => send(ws, `${prefix}${JSON.stringify(payload)}}`), {
      timeUnit: conn.timeUnit,
      onDropped: () => {
        conn.subscriptions.delete(subscriptionId);
        if (!conn.closed) {
          conn.closed = true;
          ws.end(1013, 'User data stream interrupted; reconnect.');
        }
      },
    });
    conn.subscriptions.set(subscriptionId, { userId, viaSession, unsubscribe });
    return { subscriptionId };
  };

  const methods = new Map<string, Method>(
    Object.entries({
      ping: {
        weight: 1,
        run: async ({ params }) => {
          onlyParams(params, []);
          return {};
        },
      },

      time: {
        weight: 1,
        run: async ({ params, conn, nowMicros }) => {
          onlyParams(params, []);
          return { serverTime: responseTime(nowMicros, conn.timeUnit) };
        },
      },

      exchangeInfo: {
        weight: 20,
        run: async ({ params, conn, nowMicros }) => {
          const query = parseExchangeInfoQuery(asStringMap(params));
          return info.build(query, responseTime(nowMicros, conn.timeUnit), limiter.rateLimits());
        },
      },

      'session.logon': {
        weight: 2,
        run: async (call) => {
          onlyParams(call.params, WS_AUTH_PARAMS);
          const a = await authenticateSigned(
            call.params,
            'USER_STREAM',
            authCtx(call),
            (key: ResolvedKey) => {
              // Binance authenticates sessions with Ed25519 keys only.
              if (key.type !== 'ED25519')
                fail(
                  binanceError(BinanceCode.UNAUTHORIZED, 'Session logon requires an Ed25519 API key.', 401),
                );
            },
          );
          call.conn.session = { apiKey: a.apiKey, userId: a.userId, authorizedSinceMicros: call.nowMicros };
          return sessionResult(call.conn, call.nowMicros);
        },
      },

      'session.status': {
        weight: 2,
        run: async ({ params, conn, nowMicros }) => {
          onlyParams(params, []);
          return sessionResult(conn, nowMicros);
        },
      },

      'session.logout': {
        weight: 2,
        run: async ({ ws, params, conn, nowMicros }) => {
          onlyParams(params, []);
          endSession(ws);
          return sessionResult(conn, nowMicros);
        },
      },

      'session.subscriptions': {
        weight: 2,
        run: async ({ params, conn }) => {
          onlyParams(params, []);
          return [...conn.subscriptions.keys()].map((subscriptionId) => ({ subscriptionId }));
        },
      },

      'userDataStream.subscribe': {
        weight: 2,
        run: async (call) => {
          onlyParams(call.params, []);
          const s = call.conn.session;
          if (s === null) fail(binanceError(BinanceCode.UNAUTHORIZED, undefined, 401));
          // The session's key may have been deleted or disabled since logon.
          const key = await apiKeys.resolveApiKey(s.apiKey);
          if (key === null || key.userStatus !== 'ACTIVE' || !ipAllowed(call.conn.ip, key.ipAllow)) {
            endSession(call.ws);
            fail(Errors.rejectedKey());
          }
          return subscribe(call, key.userId, true);
        },
      },

      'userDataStream.subscribe.signature': {
        weight: 2,
        run: async (call) => {
          onlyParams(call.params, WS_AUTH_PARAMS);
          const a = await authenticateSigned(call.params, 'USER_STREAM', authCtx(call));
          return subscribe(call, a.userId, false);
        },
      },

      'userDataStream.unsubscribe': {
        weight: 2,
        run: async ({ ws, params, conn }) => {
          onlyParams(params, ['subscriptionId']);
          const raw = params.subscriptionId;
          if (raw === undefined || raw === null) {
            for (const id of [...conn.subscriptions.keys()]) endSubscription(ws, id);
            return {};
          }
          const id =
            typeof raw === 'number'
              ? raw
              : typeof raw === 'string' && /^[0-9]{1,9}$/.test(raw)
                ? Number(raw)
                : NaN;
          if (!Number.isSafeInteger(id)) fail(Errors.illegalChars('subscriptionId', '^[0-9]{1,9}$'));
          if (!conn.subscriptions.has(id)) fail(SUBSCRIPTION_INACTIVE);
          endSubscription(ws, id);
          return {};
        },
      },

      'order.place': {
        weight: 1,
        run: async (call) => {
          const a = await authenticate(call, 'TRADE');
          call.orderUser = a.userId;
          const orders = limiter.chargeOrder(a.userId);
          if (!orders.ok) fail(withRetryAfter(orders, call.nowMicros));
          const parsed = resultValue(parseNewOrder(call.params, parseCtx(a.userId)));
          const events = await engine(a, parsed.command);
          const refused = rejection(events, 'OrderRejected', 'place');
          if (refused !== undefined) fail(refused);
          return resultValue(newOrderResponse(parsed, events, { timeUnit: call.conn.timeUnit }));
        },
      },

      'order.cancel': {
        weight: 1,
        run: async (call) => {
          const a = await authenticate(call, 'TRADE');
          const parsed = resultValue(parseCancelOrder(call.params, parseCtx(a.userId)));
          const events = await engine(a, parsed.command);
          const refused = rejection(events, 'CancelRejected', 'cancel');
          if (refused !== undefined) fail(refused);
          return resultValue(cancelOrderResponse(parsed, events, view, { timeUnit: call.conn.timeUnit }));
        },
      },

      'order.status': {
        weight: 4,
        run: async (call) => {
          const a = await authenticate(call, 'USER_DATA');
          const parsed = resultValue(parseQueryOrder(call.params, parseCtx(a.userId)));
          let o: OrderSnapshot | null | undefined = queryOrder(view, parsed);
          if (o === undefined && deps.orderHistory !== undefined)
            o = await deps.orderHistory(a.userId, parsed.market, {
              orderId: parsed.orderId,
              clientOrderId: parsed.clientOrderId,
            });
          if (o === undefined || o === null) fail(errorForResult(ResultCode.UNKNOWN_ORDER, 'query'));
          return orderQueryResponse(o, parsed.market, { timeUnit: call.conn.timeUnit });
        },
      },
    } satisfies Record<string, Method>),
  );

  /** The recvWindow again right before the engine (as Binance), then the engine. */
  async function engine(a: WsAuth, command: CommandInput): Promise<EngineEvent[]> {
    if (!a.withinRecvWindow(clock.nowMicros())) fail(Errors.outsideRecvWindow());
    try {
      return await deps.submit(command);
    } catch (e) {
      const mapped = engineFailure(e);
      if (mapped !== undefined) fail(mapped);
      throw e;
    }
  }

  /** The REQUEST_WEIGHT usage a verdict's headers report (and ORDERS usage for `orderUser`). */
  const rateLimitsOf = (headers: Readonly<Record<string, string>>, orderUser: number | undefined) => {
    const out: RateLimitUsage[] = [];
    if (orderUser !== undefined) out.push(...limiter.orderUsage(orderUser));
    for (const r of limiter.rateLimits()) {
      if (r.rateLimitType !== 'REQUEST_WEIGHT') continue;
      out.push({ ...r, count: Number(headers[`X-MBX-USED-WEIGHT-${intervalSuffix(r)}`] ?? 0) });
    }
    return out;
  };

  /** Answers one frame (never throws; a bug is logged and answered -1000). */
  const handle = async (ws: uWS.WebSocket<WsApiConnection>, frame: string): Promise<void> => {
    const conn = ws.getUserData();
    const nowMicros = clock.nowMicros();
    const req = parseFrame(frame);
    const method = isFrameError(req) ? undefined : methods.get(req.method);
    const verdict = limiter.chargeIp(conn.ip, method?.weight ?? 1);
    const idJson: IdJson = req.idJson;
    if (!verdict.ok) {
      send(
        ws,
        errorReply(idJson, withRetryAfter(verdict, nowMicros), rateLimitsOf(verdict.headers, undefined)),
      );
      if (verdict.error.status === 418 && !conn.closed) {
        conn.closed = true;
        ws.end(CLOSE_BANNED, 'IP banned');
      }
      return;
    }
    let returnRateLimits = conn.returnRateLimits;
    const reply = (body: (limits: RateLimitUsage[] | undefined) => string, orderUser?: number) =>
      send(ws, body(returnRateLimits ? rateLimitsOf(verdict.headers, orderUser) : undefined));
    if (isFrameError(req)) {
      reply((l) => errorReply(idJson, req.error, l));
      return;
    }
    const rl = req.params.returnRateLimits;
    if (rl !== undefined) {
      if (rl === true || rl === 'true') returnRateLimits = true;
      else if (rl === false || rl === 'false') returnRateLimits = false;
      else {
        reply((l) => errorReply(idJson, Errors.illegalChars('returnRateLimits', 'true, false'), l));
        return;
      }
      delete req.params.returnRateLimits;
    }
    if (method === undefined) {
      reply((l) =>
        errorReply(
          idJson,
          binanceError(BinanceCode.UNSUPPORTED_OPERATION, `Unknown method '${req.method}'.`),
          l,
        ),
      );
      return;
    }
    const call: Call = { ws, conn, params: req.params, nowMicros, orderUser: undefined };
    try {
      const result = await method.run(call);
      reply((l) => resultReply(idJson, result, l), call.orderUser);
    } catch (e) {
      let error: WsApiError;
      if (e instanceof WsApiFailure) error = e.error;
      else if (e instanceof BinanceApiError) error = { status: e.status, code: e.code, msg: e.message };
      else {
        logger?.error({ err: e, method: req.method }, 'WebSocket API request failed');
        error = Errors.unknown();
      }
      reply((l) => errorReply(idJson, error, l), call.orderUser);
    }
  };

  return {
    ...USER_DATA_WS_SETTINGS,
    upgrade: (res, req, context) => {
      // Everything uWS lends is read here, before anything else happens.
      const peer = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
      const ip = clientIp(peer, req.getHeader('x-forwarded-for') || undefined, hops);
      const query = req.getQuery() ?? '';
      let timeUnit: TimeUnit;
      try {
        timeUnit = parseTimeUnit(queryParam(query, 'timeUnit'));
      } catch (e) {
        const err = e as BinanceApiError;
        refuseUpgrade(res, '400 Bad Request', { code: err.code, msg: err.message });
        return;
      }
      const verdict = limiter.chargeIp(ip, CONNECTION_WEIGHT);
      if (!verdict.ok) {
        const status = verdict.error.status === 418 ? "418 I'm a Teapot" : '429 Too Many Requests';
        refuseUpgrade(res, status, { code: verdict.error.code, msg: verdict.error.msg });
        return;
      }
      const conn: WsApiConnection = {
        kind: 'wsApi',
        ip,
        timeUnit,
        returnRateLimits: queryParam(query, 'returnRateLimits')?.toLowerCase() !== 'false',
        connectedSinceMicros: clock.nowMicros(),
        session: null,
        subscriptions: new Map(),
        nextSubscriptionId: 0,
        closed: false,
      };
      upgradeWith(res, req, context, conn);
    },
    message: (ws, message) => {
      // The buffer is neutered when this returns: copy before anything awaits.
      const frame = Buffer.from(message).toString('utf8');
      handle(ws, frame).catch((e: unknown) => logger?.error({ err: e }, 'WebSocket API reply failed'));
    },
    close: (ws) => {
      const conn = ws.getUserData();
      conn.closed = true;
      conn.session = null;
      for (const sub of conn.subscriptions.values()) sub.unsubscribe();
      conn.subscriptions.clear();
    },
  };
}

/** A rate-limit refusal with Binance's `data: {serverTime, retryAfter}`. */
function withRetryAfter(verdict: RateVerdict & { ok: false }, nowMicros: number): WsApiError {
  const seconds = Number(verdict.headers['Retry-After'] ?? 0);
  const now = Math.floor(nowMicros / 1000);
  return { ...verdict.error, data: { serverTime: now, retryAfter: now + seconds * 1000 } };
}

/** Registers the WebSocket API on `path` (default `/ws-api/v3`). Call before clients connect. */
export function registerWsApi(app: uWS.TemplatedApp, deps: WsApiDeps, path = '/ws-api/v3'): void {
  app.ws<WsApiConnection>(path, wsApiBehaviour(deps));
}
