/**
 * Binance's REST market data endpoints, answered by the one MarketData builder through the
 * `MarketDataQueries` port (in process, or beside the core over the link). Security NONE for
 * all (historicalTrades was MARKET_DATA, an API key without a signature, until Binance
 * dropped that; an `X-MBX-APIKEY` header is ignored like on every public endpoint):
 *
 *   GET /api/v3/depth              symbol, limit (100; up to 5000, more served as 5000)   5/25/50/250 by limit
 *   GET /api/v3/trades             symbol, limit (500; up to 1000)                        25
 *   GET /api/v3/historicalTrades   symbol, limit, fromId                                  25
 *   GET /api/v3/aggTrades          symbol, fromId | startTime/endTime, limit              4
 *   GET /api/v3/klines, uiKlines   symbol, interval, startTime, endTime, timeZone, limit  2
 *   GET /api/v3/avgPrice           symbol                                                 2
 *   GET /api/v3/ticker/24hr        symbol | symbols | neither, type                       2, 40 (21-100 symbols), 80 (all)
 *   GET /api/v3/ticker/tradingDay  symbol | symbols, timeZone, type                       4 per symbol, 200 above 50
 *   GET /api/v3/ticker             symbol | symbols, windowSize, type                     4 per symbol, 200 above 50
 *   GET /api/v3/ticker/price       symbol | symbols | neither                             2 (symbol), 4
 *   GET /api/v3/ticker/bookTicker  symbol | symbols | neither                             2 (symbol), 4
 *
 * Parameters are checked here, before anything is asked of the builder: unread parameters
 * -1104, a missing mandatory one -1102, an empty one -1105, a malformed number, symbol or
 * symbols list -1100, `symbol` with `symbols` -1128, a repeated symbol -1151, more than 100
 * symbols -1101, an unknown symbol -1121, a ticker `type` other than FULL/MINI -1139. What
 * only the builder knows (interval, time zone, window size, limits, time windows) comes back
 * as its refusal, answered `{code, msg}` with HTTP 400. Times in and out follow
 * `X-MBX-TIME-UNIT`. When the builder cannot be reached (the port rejects) the answer is
 * 503 -1001: a query has no effect, so the client may simply ask again.
 */
import type { Markets } from '../../engine/index.ts';
import type { TimeUnit } from '../auth/time-unit.ts';
import {
  BinanceApiError,
  BinanceCode,
  type BinanceError,
  binanceError,
  Errors,
  LEGAL_RANGE,
} from '../binance/errors.ts';
import {
  type GatewayRequest,
  type GatewayResponse,
  jsonResponse,
  type Route,
  type RouteContext,
} from '../http/http-types.ts';
import { optionalParam, requireParam } from '../http/params.ts';
import {
  MAX_SYMBOLS,
  requestWeight,
  type SymbolsQuery,
  type TickerType,
} from '../market-data/market-data.ts';
import type { MarketDataQueries, MarketDataQuery } from '../market-data/queries.ts';
import { checkUnread, optionalInteger } from './trading-params.ts';

/** What the market data endpoints need. */
export interface MarketDataRoutesDeps {
  /** The builder's answers (`localMarketDataQueries(md)` in process, the core link otherwise). */
  readonly queries: MarketDataQueries;
  /** The listed markets: symbols are checked here before the builder is asked. */
  readonly markets: Markets;
}

/** The endpoints' names as `requestWeight` knows them. */
type Endpoint = Parameters<typeof requestWeight>[0];

const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const SYMBOL_LIST = /^\[("[A-Z0-9\-_.]{1,20}"(,"[A-Z0-9\-_.]{1,20}")*)?\]$/;
const DIGITS = /^[0-9]{1,20}$/;

/** 503 -1001: the builder could not be reached (not connected, no answer in time, failed there). */
export function marketDataUnavailable(): BinanceError {
  return binanceError(BinanceCode.DISCONNECTED, undefined, 503);
}

/** -1128 for `symbol` with `symbols`, worded as Binance words it. */
function symbolAndSymbols(): BinanceError {
  return binanceError(
    BinanceCode.OPTIONAL_PARAMS_BAD_COMBO,
    "Combination of optional parameters invalid. Recommendation: 'symbol' and 'symbols' cannot both be sent.",
  );
}

/** -1101 for a list longer than the builder serves (the builder's own wording). */
function tooManySymbols(): BinanceError {
  return binanceError(
    BinanceCode.TOO_MANY_PARAMETERS,
    `Too many values sent for parameter 'symbols', maximum allowed up to ${MAX_SYMBOLS}`,
  );
}

/** A symbol text that is listed: -1100 malformed, -1121 not listed. */
function listed(markets: Markets, symbol: string, param: 'symbol' | 'symbols'): string {
  if (param === 'symbol' && !SYMBOL.test(symbol))
    throw new BinanceApiError(Errors.illegalChars('symbol', LEGAL_RANGE.symbol));
  if (markets.get(symbol) === undefined) throw new BinanceApiError(Errors.badSymbol());
  return symbol;
}

/** The mandatory `symbol`. */
function oneSymbol(params: ReadonlyMap<string, string>, markets: Markets): string {
  return listed(markets, requireParam(params, 'symbol'), 'symbol');
}

/**
 * `symbol` (one: the answer is an object), `symbols` (a JSON list, percent-encoded or not:
 * the answer is an array) or neither (every symbol, an array; -1102 where one is required).
 */
function someSymbols(params: ReadonlyMap<string, string>, markets: Markets, required: boolean): SymbolsQuery {
  const symbol = optionalParam(params, 'symbol');
  const symbols = optionalParam(params, 'symbols');
  if (symbol !== undefined && symbols !== undefined) throw new BinanceApiError(symbolAndSymbols());
  if (symbol !== undefined) return listed(markets, symbol, 'symbol');
  if (symbols === undefined) {
    if (required) throw new BinanceApiError(Errors.eitherMandatory('symbol', 'symbols'));
    return undefined;
  }
  if (!SYMBOL_LIST.test(symbols))
    throw new BinanceApiError(Errors.illegalChars('symbols', LEGAL_RANGE.symbols));
  const list = JSON.parse(symbols) as string[];
  if (new Set(list).size !== list.length) throw new BinanceApiError(Errors.duplicateSymbols());
  if (list.length > MAX_SYMBOLS) throw new BinanceApiError(tooManySymbols());
  for (const s of list) listed(markets, s, 'symbols');
  return list;
}

/** The latest time in milliseconds whose microseconds are still exact in a double. */
const MAX_MILLIS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/**
 * `startTime` / `endTime` in the request's unit: -1105 empty, -1100 not digits. A time past
 * any representable one is brought into range, as Binance adjusts out-of-range times (it
 * then selects nothing, or everything up to now).
 */
function optionalTime(params: ReadonlyMap<string, string>, name: string, unit: TimeUnit): number | undefined {
  const v = optionalInteger(params, name);
  return v === undefined
    ? undefined
    : Math.min(v, unit === 'MICROSECOND' ? Number.MAX_SAFE_INTEGER : MAX_MILLIS);
}

/** The ticker `type`: FULL (default) or MINI; anything else -1139. */
function tickerType(params: ReadonlyMap<string, string>): TickerType | undefined {
  const t = optionalParam(params, 'type');
  if (t === undefined || t === 'FULL' || t === 'MINI') return t;
  throw new BinanceApiError(binanceError(BinanceCode.INVALID_TICKER_TYPE));
}

// --- weights: read leniently (a request whose parameters are refused still pays) ---------

/** `limit` when it is a well-formed number, else undefined (the default's weight). */
function limitForWeight(req: GatewayRequest): number | undefined {
  const v = req.params.get('limit');
  return v !== undefined && DIGITS.test(v) ? Number(v) : undefined;
}

/** How many symbols a request names: a symbol, a list (one when it cannot be read), or none. */
function symbolsForWeight(req: GatewayRequest): SymbolsQuery {
  const symbol = req.params.get('symbol');
  if (symbol !== undefined && symbol !== '') return symbol;
  const symbols = req.params.get('symbols');
  if (symbols === undefined || symbols === '') return undefined;
  if (SYMBOL_LIST.test(symbols)) return JSON.parse(symbols) as string[];
  return [symbols];
}

/** Weights by symbol count; `ticker` and `ticker/tradingDay` charge at least one symbol's 4. */
function symbolsWeight(endpoint: Endpoint): (req: GatewayRequest) => number {
  const perSymbol = endpoint === 'ticker' || endpoint === 'ticker/tradingDay';
  return (req) => {
    const symbols = symbolsForWeight(req);
    const none = symbols === undefined || symbols.length === 0;
    // Neither (refused: one is required) or an empty list: one symbol's weight, never 0.
    return requestWeight(endpoint, { symbols: perSymbol && none ? [''] : symbols });
  };
}

// --- routes ------------------------------------------------------------------------------

/** The market data endpoints, ready for the router. */
export function marketDataRoutes(deps: MarketDataRoutesDeps): Route[] {
  const { queries, markets } = deps;

  /** Asks the builder; its refusal is a 400 `{code, msg}`, an unreachable builder 503 -1001. */
  const answer = async (q: MarketDataQuery): Promise<GatewayResponse> => {
    let result: Awaited<ReturnType<MarketDataQueries['query']>>;
    try {
      result = await queries.query(q);
    } catch {
      throw new BinanceApiError(marketDataUnavailable());
    }
    if (!result.ok) return jsonResponse({ code: result.error.binanceCode, msg: result.error.msg }, 400);
    return jsonResponse(result.value);
  };

  const route = (
    path: string,
    weight: Route['weight'],
    read: readonly string[],
    toQuery: (params: ReadonlyMap<string, string>, ctx: RouteContext) => MarketDataQuery,
  ): Route => ({
    method: 'GET',
    path: `/api/v3/${path}`,
    security: 'NONE',
    weight,
    handler: async (req, ctx) => {
      checkUnread(req.params, read);
      return answer(toQuery(req.params, ctx));
    },
  });

  const klines = (path: 'klines' | 'uiKlines'): Route =>
    route(
      path,
      requestWeight(path),
      ['symbol', 'interval', 'startTime', 'endTime', 'timeZone', 'limit'],
      (p, ctx) => ({
        op: 'klines',
        symbol: oneSymbol(p, markets),
        interval: requireParam(p, 'interval'),
        startTime: optionalTime(p, 'startTime', ctx.timeUnit),
        endTime: optionalTime(p, 'endTime', ctx.timeUnit),
        timeZone: optionalParam(p, 'timeZone'),
        limit: optionalInteger(p, 'limit'),
        unit: ctx.timeUnit,
      }),
    );

  return [
    route(
      'depth',
      (req) => requestWeight('depth', { limit: limitForWeight(req) }),
      ['symbol', 'limit'],
      (p) => ({ op: 'depth', symbol: oneSymbol(p, markets), limit: optionalInteger(p, 'limit') }),
    ),
    route('trades', requestWeight('trades'), ['symbol', 'limit'], (p, ctx) => ({
      op: 'trades',
      symbol: oneSymbol(p, markets),
      limit: optionalInteger(p, 'limit'),
      unit: ctx.timeUnit,
    })),
    route('historicalTrades', requestWeight('historicalTrades'), ['symbol', 'limit', 'fromId'], (p, ctx) => ({
      op: 'historicalTrades',
      symbol: oneSymbol(p, markets),
      limit: optionalInteger(p, 'limit'),
      fromId: optionalInteger(p, 'fromId'),
      unit: ctx.timeUnit,
    })),
    route(
      'aggTrades',
      requestWeight('aggTrades'),
      ['symbol', 'fromId', 'startTime', 'endTime', 'limit'],
      (p, ctx) => ({
        op: 'aggTrades',
        symbol: oneSymbol(p, markets),
        fromId: optionalInteger(p, 'fromId'),
        startTime: optionalTime(p, 'startTime', ctx.timeUnit),
        endTime: optionalTime(p, 'endTime', ctx.timeUnit),
        limit: optionalInteger(p, 'limit'),
        unit: ctx.timeUnit,
      }),
    ),
    klines('klines'),
    klines('uiKlines'),
    route('avgPrice', requestWeight('avgPrice'), ['symbol'], (p, ctx) => ({
      op: 'avgPrice',
      symbol: oneSymbol(p, markets),
      unit: ctx.timeUnit,
    })),
    route('ticker/24hr', symbolsWeight('ticker/24hr'), ['symbol', 'symbols', 'type'], (p, ctx) => ({
      op: 'ticker24hr',
      symbols: someSymbols(p, markets, false),
      type: tickerType(p),
      unit: ctx.timeUnit,
    })),
    route(
      'ticker/tradingDay',
      symbolsWeight('ticker/tradingDay'),
      ['symbol', 'symbols', 'timeZone', 'type'],
      (p, ctx) => ({
        op: 'tickerTradingDay',
        symbols: someSymbols(p, markets, true),
        timeZone: optionalParam(p, 'timeZone'),
        type: tickerType(p),
        unit: ctx.timeUnit,
      }),
    ),
    route('ticker', symbolsWeight('ticker'), ['symbol', 'symbols', 'windowSize', 'type'], (p, ctx) => ({
      op: 'tickerWindow',
      symbols: someSymbols(p, markets, true),
      windowSize: optionalParam(p, 'windowSize'),
      type: tickerType(p),
      unit: ctx.timeUnit,
    })),
    route('ticker/price', symbolsWeight('ticker/price'), ['symbol', 'symbols'], (p) => ({
      op: 'tickerPrice',
      symbols: someSymbols(p, markets, false),
    })),
    route('ticker/bookTicker', symbolsWeight('ticker/bookTicker'), ['symbol', 'symbols'], (p) => ({
      op: 'bookTicker',
      symbols: someSymbols(p, markets, false),
    })),
  ];
}
