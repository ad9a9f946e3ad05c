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
import { postgresTradeStore } from '../accounts/trade-store/postgres.adapter.ts';
import type { HistoryOrder, OrderHistory } from '../gateway/api/history.port.ts';
import { tradingRoutes } from '../gateway/api/trading.routes.ts';
import type { Route } from '../gateway/http/http-types.ts';
import { OrderView } from '../gateway/orders/order-view.ts';
import type { FeeRates } from '../gateway/ports.ts';
import type { PlatformParts } from './platform.ts';

/** The gateway's history port over the accounts database (orders table, trade store). */
export function orderHistory(ctx: HistoryContext): OrderHistory {
  return {
    allOrders: async (userId, symbol, q) =>
      (await userOrders(ctx, userId, { symbol, ...q })).map(
        ({ userId: _u, createdSeq: _c, ...row }) => row as HistoryOrder,
      ),
    async order(userId, symbol, q) {
      try {
        const { userId: _u, createdSeq: _c, ...row } = await userOrder(ctx, userId, { symbol, ...q });
        return row as HistoryOrder;
      } catch (e) {
        if (e instanceof AccountsError && e.code === 'history.order_not_found') return null;
        throw e;
      }
    },
    myTrades: (userId, symbol, q) => userTrades(ctx, userId, { symbol, ...q }),
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

/** Every route of a gateway of this platform. */
export function gatewayRoutes(parts: PlatformParts): Route[] {
  const view = new OrderView(parts.markets);
  parts.client.onEvents((views, from, count) => view.applyRecords(views, from, count));
  const history = orderHistory({
    db: parts.db.db,
    markets: parts.markets,
    trades: postgresTradeStore(parts.db.db),
  });
  return tradingRoutes({
    engine: parts.client,
    view,
    history,
    fees: feeRates(parts, parts.fees),
  });
}
