/**
 * The general endpoints: GET /api/v3/ping, /api/v3/time, /api/v3/exchangeInfo, and the
 * account's order-count usage GET /api/v3/rateLimit/order. Weights as on Binance.
 */
import type { Markets } from '../../engine/index.ts';
import type { RateLimiter } from '../auth/rate-limit.ts';
import { responseTime } from '../auth/time-unit.ts';
import { ExchangeInfoBuilder, parseExchangeInfoQuery } from '../binance/exchange-info.ts';
import { jsonResponse, type Route } from './http-types.ts';

/** What the general endpoints read. */
export interface PublicRoutesDeps {
  readonly markets: Markets;
  readonly limiter: RateLimiter;
}

/** The routes, ready for the router. */
export function publicRoutes(deps: PublicRoutesDeps): Route[] {
  const info = new ExchangeInfoBuilder(deps.markets);
  return [
    {
      method: 'GET',
      path: '/api/v3/ping',
      security: 'NONE',
      weight: 1,
      handler: async () => jsonResponse({}),
    },
    {
      method: 'GET',
      path: '/api/v3/time',
      security: 'NONE',
      weight: 1,
      handler: async (_req, ctx) => jsonResponse({ serverTime: responseTime(ctx.nowMicros, ctx.timeUnit) }),
    },
    {
      method: 'GET',
      path: '/api/v3/exchangeInfo',
      security: 'NONE',
      weight: 20,
      handler: async (req, ctx) => {
        const query = parseExchangeInfoQuery(req.params);
        return jsonResponse(
          info.build(query, responseTime(ctx.nowMicros, ctx.timeUnit), deps.limiter.rateLimits()),
        );
      },
    },
    {
      method: 'GET',
      path: '/api/v3/rateLimit/order',
      security: 'USER_DATA',
      weight: 40,
      handler: async (_req, ctx) => jsonResponse(deps.limiter.orderUsage(ctx.auth!.userId)),
    },
  ];
}
