/**
 * The gateway's routes beyond the general ones and the admin API, built from the platform's
 * parts: trading and account endpoints over the core (in process or over the link), the order
 * view fed by the released event stream, history from the accounts database.
 */
import { AccountsError } from '../accounts/errors.ts';
import {
  type HistoryContext,
  userOrder,
  userOrders,
  userTrades,
} from '../accounts/history/history.queries.ts';
import { committedSeq, openOrdersAtSeq } from '../accounts/history/open-orders.query.ts';
import { postgresTradeStore } from '../accounts/trade-store/postgres.adapter.ts';
import { accountManagementRoutes } from '../gateway/api/account-management.routes.ts';
import { capitalRoutes } from '../gateway/api/capital.routes.ts';
import type { HistoryOrder, OrderHistory } from '../gateway/api/history.port.ts';
import { marketDataRoutes } from '../gateway/api/market-data.routes.ts';
import { tradingRoutes } from '../gateway/api/trading.routes.ts';
import { systemClock } from '../gateway/auth/timing.ts';
import type { Route } from '../gateway/http/http-types.ts';
import { SessionStore } from '../gateway/market-data/bus/session-store.ts';
import { MarketStreams, registerStreamsWs } from '../gateway/market-data/ws/market-streams.ts';
import { OrderView } from '../gateway/orders/order-view.ts';
import type { FeeRates } from '../gateway/ports.ts';
import type { Gateway } from '../gateway/server.ts';
import { ListenKeys, listenKeyRoutes } from '../gateway/user-data/listen-keys.ts';
import { UserDataHub } from '../gateway/user-data/user-data-hub.ts';
import { startSeededFeed } from '../gateway/user-data/view-seed.ts';
import { registerWsApi } from '../gateway/user-data/ws-api.ts';
import type { GatewayWiring, PlatformParts } from './platform.ts';

/**
 * The gateway's history port over the accounts database (orders table, trade store). Each read
 * first awaits `caughtUp` when given (the persister in this process: see PlatformParts).
 */
export function orderHistory(ctx: HistoryContext, caughtUp?: () => Promise<void>): OrderHistory {
  const ready = caughtUp ?? (() => Promise.resolve());
  return {
    allOrders: async (userId, symbol, q) => {
      await ready();
      return (await userOrders(ctx, userId, { symbol, ...q })).map(
        ({ userId: _u, createdSeq: _c, ...row }) => row as HistoryOrder,
      );
    },
    async order(userId, symbol, q) {
      await ready();
      try {
        const { userId: _u, createdSeq: _c, ...row } = await userOrder(ctx, userId, { symbol, ...q });
        return row as HistoryOrder;
      } catch (e) {
        if (e instanceof AccountsError && e.code === 'history.order_not_found') return null;
        throw e;
      }
    },
    myTrades: async (userId, symbol, q) => {
      await ready();
      return userTrades(ctx, userId, { symbol, ...q });
    },
  };
}

/** A user's fee rates: their own when set, else the platform's defaults. */
export function feeRates(parts: PlatformParts, defaults: { makerPpm: number; takerPpm: number }): FeeRates {
  return {
    async rates(userId: number) {
      const row = await parts.db.db
        .selectFrom('users')
        .select(['makerPpm', 'takerPpm'])
        .where('id', '=', userId)
        .executeTakeFirst();
      return { makerPpm: row?.makerPpm ?? defaults.makerPpm, takerPpm: row?.takerPpm ?? defaults.takerPpm };
    },
  };
}

/**
 * Everything a gateway of this platform serves: REST trading, account and market data
 * endpoints, listen keys, and on the running server the WebSocket API (/ws-api/v3), the market
 * data streams (/ws/<stream>, /stream, fed from the bus) and listen-key streams
 * (/ws/<listenKey>) behind one /ws/* dispatcher. The user data hub is the one feeder of the
 * shared order view, seeded with the open orders of the accounts database before the gateway
 * answers (`ready`). REST market data asks the builder where the core runs (in process or
 * over the link).
 */
export function gatewayRoutes(parts: PlatformParts): GatewayWiring {
  const clock = systemClock;
  const view = new OrderView(parts.markets);
  const hub = new UserDataHub({
    markets: parts.markets,
    view,
    balancesOf: (u) => parts.client.balancesOf(u),
    clock,
    logger: parts.logger.child({ part: 'user-data' }),
  });
  const listenKeys = new ListenKeys(clock);
  listenKeys.start();
  const history = orderHistory(
    {
      db: parts.db.db,
      markets: parts.markets,
      trades: postgresTradeStore(parts.db.db),
    },
    parts.historyCaughtUp,
  );
  const streams = new MarketStreams({
    bus: parts.bus,
    markets: parts.markets,
    sessions: new SessionStore(parts.bus.cache),
    logger: parts.logger.child({ part: 'market-streams' }),
  });
  const routes: Route[] = [
    ...marketDataRoutes({
      queries: { query: (q) => parts.client.queryMarketData(q) },
      markets: parts.markets,
    }),
    ...tradingRoutes({ engine: parts.client, view, history, fees: feeRates(parts, parts.fees), clock }),
    ...listenKeyRoutes({ listenKeys }),
    ...accountManagementRoutes({
      db: parts.db.db,
      identity: parts.identity,
      markets: parts.markets,
      engine: parts.engine,
      funds: parts.funds,
      ...(parts.historyCaughtUp === undefined ? {} : { historyCaughtUp: parts.historyCaughtUp }),
    }),
    ...capitalRoutes({
      db: parts.db.db,
      markets: parts.markets,
      engine: parts.engine,
      funds: parts.funds,
      balances: parts.client,
    }),
  ];
  // Last: nothing after it can throw and leave the stream subscribed.
  const feed = startSeededFeed({
    hub,
    view,
    subscribe: (listener) => parts.client.onEvents(listener),
    streamSeq: () => parts.client.streamSeq,
    store: { committedSeq: () => committedSeq(parts.db.db), openOrders: () => openOrdersAtSeq(parts.db.db) },
    logger: parts.logger.child({ part: 'user-data' }),
  });
  return {
    routes,
    ready: feed.ready.then(() => undefined),
    attach(gateway: Gateway) {
      registerWsApi(gateway.app, {
        markets: parts.markets,
        apiKeys: parts.apiKeys,
        limiter: gateway.limiter,
        hub,
        view,
        submit: (c) => parts.client.submit(c),
        clock,
        trustProxy: parts.trustProxy,
        logger: parts.logger.child({ part: 'ws-api' }),
      });
      registerStreamsWs(gateway.app, streams, {
        hub,
        listenKeys,
        logger: parts.logger.child({ part: 'user-data' }),
      });
    },
    close() {
      streams.close();
      feed.close();
      listenKeys.stop();
    },
  };
}
