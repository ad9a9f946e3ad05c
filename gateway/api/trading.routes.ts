/**
 * Binance's trading endpoints, wired from the order logic (gateway/orders/: parameters ->
 * engine command -> events -> reply) onto the HTTP core:
 *
 *   POST   /api/v3/order                      TRADE      1   new order (ACK / RESULT / FULL)
 *   POST   /api/v3/order/test                 TRADE      1   (20 with computeCommissionRates)
 *   GET    /api/v3/order                      USER_DATA  4   the order view, else the history store
 *   DELETE /api/v3/order                      TRADE      1
 *   DELETE /api/v3/openOrders                 TRADE      1
 *   POST   /api/v3/order/cancelReplace        TRADE      1   (-2021 / -2022 with `data`)
 *   PUT    /api/v3/order/amend/keepPriority   TRADE      4
 *   GET    /api/v3/openOrders                 USER_DATA  6 with symbol, 80 without
 *   GET    /api/v3/allOrders                  USER_DATA  20  history merged with the view
 *   GET    /api/v3/myTrades                   USER_DATA  20 (5 with orderId)
 *   + the account endpoints (account.routes.ts)
 *
 * Each order handler parses (a 4xx for anything wrong, before the engine sees anything),
 * checks the recvWindow again right before submitting (Binance does the same before its
 * matching engine), submits, and builds the reply from the command's events and the order
 * view (the replies map engine refusals through the one ResultCode table,
 * gateway/binance/errors.ts). The view is fed by the platform (core events -> the view).
 */
import { type CommandInput, type EngineEvent, type Market, ResultCode } from '../../engine/index.ts';
import type { TimeUnit } from '../auth/time-unit.ts';
import { systemClock } from '../auth/timing.ts';
import { BinanceApiError, Errors, errorForResult } from '../binance/errors.ts';
import {
  type GatewayRequest,
  type GatewayResponse,
  jsonResponse,
  type Route,
  type RouteContext,
} from '../http/http-types.ts';
import type { Result } from '../orders/order-error.ts';
import {
  type ParseContext,
  parseAmendKeepPriority,
  parseCancelOpenOrders,
  parseCancelOrder,
  parseCancelReplace,
  parseNewOrder,
  parseQueryOrder,
  parseTestOrder,
} from '../orders/order-params.ts';
import {
  amendKeepPriorityResponse,
  cancelOpenOrdersResponse,
  cancelOrderResponse,
  cancelReplaceResponse,
  checkKeepPriority,
  newOrderResponse,
  orderQueryResponse,
  queryOrder,
  testOrderResponse,
} from '../orders/order-response.ts';
import type { OrderSnapshot } from '../orders/order-state.ts';
import type { OrderView } from '../orders/order-view.ts';
import type { Clock, EngineAccess, FeeRates } from '../ports.ts';
import { accountRoutes } from './account.routes.ts';
import type { OrderHistory } from './history.port.ts';
import { errorReply, rethrowEngineFailure } from './trading-errors.ts';
import { myTradeResponse, snapshotOfHistory } from './trading-format.ts';
import {
  checkUnread,
  optionalInteger,
  optionalMarket,
  pageLimit,
  requiredMarket,
  timeWindow,
} from './trading-params.ts';

/** What the trading routes need; the platform wires the real ones, tests pass fakes. */
export interface TradingDeps {
  /** The core (the platform's CoreClient). */
  readonly engine: EngineAccess;
  /** The order view, fed with every event of the core by the platform. */
  readonly view: OrderView;
  readonly history: OrderHistory;
  readonly fees: FeeRates;
  /** For the recvWindow check before submitting (default: the system clock). */
  readonly clock?: Clock;
  /** Client order ids for orders that name none (default: 22 random letters and digits, as Binance's). */
  readonly newClientOrderId?: () => string;
}

/** The authenticated user id of a signed route (the pipeline guarantees authentication). */
function userIdOf(ctx: RouteContext): number {
  if (ctx.auth === null) throw new Error('trading route reached without authentication');
  return ctx.auth.userId;
}

/** A reply's value as JSON, or its error. */
function reply<T>(r: Result<T>): GatewayResponse {
  return r.ok ? jsonResponse(r.value) : errorReply(r.error);
}

/** `o` as GET order / openOrders / allOrders print it. */
function orderJson(o: OrderSnapshot, m: Market, unit: TimeUnit) {
  return orderQueryResponse(o, m, { timeUnit: unit });
}

/** The trading routes (and the account routes), ready for the router. */
export function tradingRoutes(deps: TradingDeps): Route[] {
  const { engine, view, history } = deps;
  const markets = engine.markets;
  const clock = deps.clock ?? systemClock;

  const newClientOrderId = deps.newClientOrderId;
  const parseCtx = (ctx: RouteContext): ParseContext => {
    const userId = userIdOf(ctx) as ParseContext['userId'];
    return newClientOrderId === undefined ? { markets, userId } : { markets, userId, newClientOrderId };
  };

  /** The recvWindow again (Binance checks it on arrival and before the engine), then the engine. */
  const submit = (command: CommandInput, ctx: RouteContext): Promise<EngineEvent[]> => {
    if (ctx.auth !== null && !ctx.auth.withinRecvWindow(clock.nowMicros()))
      return Promise.reject(new BinanceApiError(Errors.outsideRecvWindow()));
    return engine.submit(command).catch(rethrowEngineFailure);
  };

  // ------------------------------------------------------------------------------------------
  // Orders

  const newOrder = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseNewOrder(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const events = await submit(parsed.command, ctx);
    return reply(newOrderResponse(parsed, events, { timeUnit: ctx.timeUnit }));
  };

  const testOrder = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseTestOrder(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    // Validated exactly as a new order, never sent to the engine.
    const rates = parsed.computeCommissionRates
      ? await deps.fees.rates(userIdOf(ctx))
      : { makerPpm: 0, takerPpm: 0 };
    return jsonResponse(testOrderResponse(parsed, rates));
  };

  const cancelOrder = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseCancelOrder(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const events = await submit(parsed.command, ctx);
    return reply(cancelOrderResponse(parsed, events, view, { timeUnit: ctx.timeUnit }));
  };

  const cancelOpenOrders = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseCancelOpenOrders(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const events = await submit(parsed.command, ctx);
    return reply(cancelOpenOrdersResponse(parsed, events, view, { timeUnit: ctx.timeUnit }));
  };

  const cancelReplace = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseCancelReplace(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const events = await submit(parsed.command, ctx);
    return reply(cancelReplaceResponse(parsed, events, view, { timeUnit: ctx.timeUnit }));
  };

  const amendKeepPriority = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseAmendKeepPriority(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const refusedEarly = checkKeepPriority(parsed, view);
    if (refusedEarly !== undefined) return errorReply(refusedEarly);
    const events = await submit(parsed.command, ctx);
    return reply(amendKeepPriorityResponse(parsed, events, view, { timeUnit: ctx.timeUnit }));
  };

  // ------------------------------------------------------------------------------------------
  // Queries

  const getOrder = async (req: GatewayRequest, ctx: RouteContext) => {
    const r = parseQueryOrder(req.params, parseCtx(ctx));
    if (!r.ok) return errorReply(r.error);
    const parsed = r.value;
    const m = parsed.market;
    let o: OrderSnapshot | undefined = queryOrder(view, parsed);
    if (o === undefined) {
      // Older than the view remembers: the history store has it (or nobody does).
      const row = await history.order(parsed.userId, m.symbol, {
        ...(parsed.orderId === 0 ? {} : { orderId: parsed.orderId }),
        ...(parsed.clientOrderId === '' ? {} : { clientOrderId: parsed.clientOrderId }),
      });
      const s = row === null ? undefined : snapshotOfHistory(row, m, parsed.userId);
      const matches =
        s !== undefined &&
        (parsed.orderId === 0 || s.orderId === parsed.orderId) &&
        (parsed.clientOrderId === '' || s.clientOrderId === parsed.clientOrderId);
      o = matches ? s : undefined;
    }
    if (o === undefined) return errorReply(errorForResult(ResultCode.UNKNOWN_ORDER, 'query'));
    return jsonResponse(orderJson(o, m, ctx.timeUnit));
  };

  const openOrders = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['symbol']);
    const m = optionalMarket(req.params, markets);
    const orders = view.openOrders(userIdOf(ctx), m?.symbolId);
    return jsonResponse(orders.map((o) => orderJson(o, view.marketOf(o), ctx.timeUnit)));
  };

  const allOrders = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['symbol', 'orderId', 'startTime', 'endTime', 'limit']);
    const m = requiredMarket(req.params, markets);
    const fromId = optionalInteger(req.params, 'orderId');
    const window = timeWindow(req.params, ctx.timeUnit);
    const limit = pageLimit(req.params);
    const userId = userIdOf(ctx);
    const rows = await history.allOrders(userId, m.symbol, {
      // Order ids start at 1: from 0 is from the first (the store refuses 0).
      ...(fromId === undefined ? {} : { orderId: Math.max(fromId, 1) }),
      ...window,
      limit,
    });
    // The history store trails the event stream by a batch: the view's orders (newer, or
    // fresher) win, so that an order placed a moment ago is listed as it stands.
    const byId = new Map<number, OrderSnapshot>();
    for (const row of rows) {
      const s = snapshotOfHistory(row, m, userId);
      if (s === undefined) continue;
      const live = view.order(userId, m.symbolId, s.orderId);
      byId.set(s.orderId, live !== undefined && live.lastSeq >= s.lastSeq ? live : s);
    }
    const inQuery = (o: OrderSnapshot): boolean =>
      (fromId === undefined || o.orderId >= fromId) &&
      (window.startMicros === undefined || o.timeMicros >= window.startMicros) &&
      (window.endMicros === undefined || o.timeMicros <= window.endMicros);
    for (const o of view.recentOrders(userId, m.symbolId)) {
      const known = byId.get(o.orderId);
      if (inQuery(o) && (known === undefined || o.lastSeq >= known.lastSeq)) byId.set(o.orderId, o);
    }
    const sorted = [...byId.values()].sort((a, b) => a.orderId - b.orderId);
    // From an id or a start time: the oldest `limit`; otherwise the newest `limit`.
    const page =
      fromId !== undefined || window.startMicros !== undefined
        ? sorted.slice(0, limit)
        : sorted.slice(Math.max(0, sorted.length - limit));
    return jsonResponse(page.map((o) => orderJson(o, m, ctx.timeUnit)));
  };

  const myTrades = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['symbol', 'orderId', 'startTime', 'endTime', 'fromId', 'limit']);
    const m = requiredMarket(req.params, markets);
    const orderId = optionalInteger(req.params, 'orderId');
    const fromId = optionalInteger(req.params, 'fromId');
    const window = timeWindow(req.params, ctx.timeUnit);
    const limit = pageLimit(req.params);
    const timed = window.startMicros !== undefined || window.endMicros !== undefined;
    // Binance's supported combinations: symbol [+ orderId [+ fromId]] | [+ fromId] | [+ startTime] [+ endTime].
    if ((orderId !== undefined && timed) || (fromId !== undefined && timed))
      throw new BinanceApiError(Errors.badCombination());
    // Order ids start at 1: order 0 has no trades (the store refuses 0).
    if (orderId === 0) return jsonResponse([]);
    const trades = await history.myTrades(userIdOf(ctx), m.symbol, {
      ...(orderId === undefined ? {} : { orderId }),
      ...(fromId === undefined ? {} : { fromId }),
      ...window,
      limit,
    });
    return jsonResponse(trades.map((t) => myTradeResponse(t, m, ctx.timeUnit)));
  };

  return [
    {
      method: 'POST',
      path: '/api/v3/order',
      security: 'TRADE',
      weight: 1,
      countsAsOrder: true,
      handler: newOrder,
    },
    {
      method: 'POST',
      path: '/api/v3/order/test',
      security: 'TRADE',
      // Binance: 1, or 20 when the commission rates are asked for.
      weight: (req) => (req.params.get('computeCommissionRates') === 'true' ? 20 : 1),
      handler: testOrder,
    },
    { method: 'GET', path: '/api/v3/order', security: 'USER_DATA', weight: 4, handler: getOrder },
    { method: 'DELETE', path: '/api/v3/order', security: 'TRADE', weight: 1, handler: cancelOrder },
    { method: 'DELETE', path: '/api/v3/openOrders', security: 'TRADE', weight: 1, handler: cancelOpenOrders },
    {
      method: 'POST',
      path: '/api/v3/order/cancelReplace',
      security: 'TRADE',
      weight: 1,
      countsAsOrder: true,
      handler: cancelReplace,
    },
    {
      method: 'PUT',
      path: '/api/v3/order/amend/keepPriority',
      security: 'TRADE',
      weight: 4,
      handler: amendKeepPriority,
    },
    {
      method: 'GET',
      path: '/api/v3/openOrders',
      security: 'USER_DATA',
      weight: (req) => (req.params.has('symbol') ? 6 : 80),
      handler: openOrders,
    },
    { method: 'GET', path: '/api/v3/allOrders', security: 'USER_DATA', weight: 20, handler: allOrders },
    {
      method: 'GET',
      path: '/api/v3/myTrades',
      security: 'USER_DATA',
      weight: (req) => (req.params.has('orderId') ? 5 : 20),
      handler: myTrades,
    },
    ...accountRoutes({ engine, fees: deps.fees }),
  ];
}
