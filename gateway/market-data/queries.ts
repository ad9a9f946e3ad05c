/**
 * The REST market data queries as plain data: what a gateway asks of the one `MarketData`
 * builder, wherever it runs. In one process the gateway calls the builder through
 * `localMarketDataQueries`; a gateway in another process sends the same query over the core
 * link (as JSON) and gets the same `MdResult` back. Parsing HTTP parameters into a query is
 * the REST routes' job; `parseMarketDataQuery` checks one that crossed a process boundary.
 */
import type { TimeUnit } from '../auth/time-unit.ts';
import { type MdResult, refuse } from './errors.ts';
import type { MarketData, SymbolsQuery, TickerType } from './market-data.ts';

/** Times in and out in `unit` (default MILLISECOND). */
interface Timed {
  readonly unit?: TimeUnit;
}

/** One REST market data question. */
export type MarketDataQuery =
  | { readonly op: 'depth'; readonly symbol: string; readonly limit?: number }
  | ({ readonly op: 'trades'; readonly symbol: string; readonly limit?: number } & Timed)
  | ({
      readonly op: 'historicalTrades';
      readonly symbol: string;
      readonly fromId?: number;
      readonly limit?: number;
    } & Timed)
  | ({
      readonly op: 'aggTrades';
      readonly symbol: string;
      readonly fromId?: number;
      readonly startTime?: number;
      readonly endTime?: number;
      readonly limit?: number;
    } & Timed)
  | ({
      readonly op: 'klines';
      readonly symbol: string;
      readonly interval: string;
      readonly startTime?: number;
      readonly endTime?: number;
      readonly limit?: number;
      readonly timeZone?: string;
    } & Timed)
  | ({ readonly op: 'avgPrice'; readonly symbol: string } & Timed)
  | ({ readonly op: 'ticker24hr'; readonly symbols?: SymbolsQuery; readonly type?: TickerType } & Timed)
  | ({
      readonly op: 'tickerWindow';
      readonly symbols?: SymbolsQuery;
      readonly windowSize?: string;
      readonly type?: TickerType;
    } & Timed)
  | ({
      readonly op: 'tickerTradingDay';
      readonly symbols?: SymbolsQuery;
      readonly timeZone?: string;
      readonly type?: TickerType;
    } & Timed)
  | { readonly op: 'tickerPrice'; readonly symbols?: SymbolsQuery }
  | { readonly op: 'bookTicker'; readonly symbols?: SymbolsQuery };

/** Answers market data queries (the builder in process, or the core over the link). */
export interface MarketDataQueries {
  /** Resolves with the builder's answer or refusal; rejects only when the builder cannot be reached. */
  query(q: MarketDataQuery): Promise<MdResult<unknown>>;
}

/** The queries answered by a builder in this process. */
export function localMarketDataQueries(md: MarketData): MarketDataQueries {
  return {
    async query(q) {
      switch (q.op) {
        case 'depth':
          return md.depthSnapshot(q.symbol, q.limit);
        case 'trades':
          return md.recentTrades(q.symbol, q.limit, q.unit);
        case 'historicalTrades':
          return md.historicalTrades(q.symbol, { fromId: q.fromId, limit: q.limit }, q.unit);
        case 'aggTrades':
          return md.aggTrades(
            q.symbol,
            { fromId: q.fromId, startTime: q.startTime, endTime: q.endTime, limit: q.limit },
            q.unit,
          );
        case 'klines':
          return md.klinesQuery(
            q.symbol,
            {
              interval: q.interval,
              startTime: q.startTime,
              endTime: q.endTime,
              limit: q.limit,
              timeZone: q.timeZone,
            },
            q.unit,
          );
        case 'avgPrice':
          return md.avgPrice(q.symbol, q.unit);
        case 'ticker24hr':
          return md.ticker24hr(q.symbols, q.type, q.unit);
        case 'tickerWindow':
          return md.tickerWindow(q.symbols, q.windowSize, q.type, q.unit);
        case 'tickerTradingDay':
          return md.tickerTradingDay(q.symbols, q.timeZone, q.type, q.unit);
        case 'tickerPrice':
          return md.tickerPrice(q.symbols);
        case 'bookTicker':
          return md.bookTicker(q.symbols);
      }
    },
  };
}

const OPS = new Set([
  'depth',
  'trades',
  'historicalTrades',
  'aggTrades',
  'klines',
  'avgPrice',
  'ticker24hr',
  'tickerWindow',
  'tickerTradingDay',
  'tickerPrice',
  'bookTicker',
]);
const NUMBER_FIELDS = ['limit', 'fromId', 'startTime', 'endTime'] as const;
const STRING_FIELDS = ['symbol', 'interval', 'timeZone', 'windowSize'] as const;

/**
 * Checks a query that arrived as JSON (over the link): the op is known, every field has its
 * type. Returns the query, or a refusal (-1100) naming what is wrong.
 */
export function parseMarketDataQuery(value: unknown): MdResult<MarketDataQuery> {
  const bad = (what: string): MdResult<MarketDataQuery> =>
    refuse('md.bad_query', -1100, `Illegal characters found in a parameter: ${what}.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('query');
  const q = value as Record<string, unknown>;
  if (typeof q.op !== 'string' || !OPS.has(q.op)) return bad('op');
  for (const f of NUMBER_FIELDS) {
    if (q[f] !== undefined && typeof q[f] !== 'number') return bad(f);
  }
  for (const f of STRING_FIELDS) {
    if (q[f] !== undefined && typeof q[f] !== 'string') return bad(f);
  }
  if (q.unit !== undefined && q.unit !== 'MILLISECOND' && q.unit !== 'MICROSECOND') return bad('unit');
  if (q.type !== undefined && q.type !== 'FULL' && q.type !== 'MINI') return bad('type');
  const s = q.symbols;
  if (
    s !== undefined &&
    typeof s !== 'string' &&
    !(Array.isArray(s) && s.every((x) => typeof x === 'string'))
  ) {
    return bad('symbols');
  }
  const needsSymbol = ['depth', 'trades', 'historicalTrades', 'aggTrades', 'klines', 'avgPrice'];
  if (needsSymbol.includes(q.op) && typeof q.symbol !== 'string') return bad('symbol');
  if (q.op === 'klines' && typeof q.interval !== 'string') return bad('interval');
  return { ok: true, value: q as unknown as MarketDataQuery };
}
