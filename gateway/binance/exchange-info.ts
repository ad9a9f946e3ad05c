/**
 * GET /api/v3/exchangeInfo, built from the engine's market definitions: Binance's field names,
 * types and order, with filters PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and NOTIONAL. Decimal
 * filter values are padded to 8 places as Binance pads them. The per-symbol part never changes
 * while the process runs, so it is built once; each request adds the server time and filters
 * by `symbol`, `symbols`, `permissions` and `symbolStatus`.
 */
import { formatDecimal, type Market, type Markets, StpModeName } from '../../engine/index.ts';
import type { RateLimitEntry } from '../auth/rate-limit.ts';
import { optionalBoolean, optionalParam } from '../http/params.ts';
import { BinanceApiError, Errors, LEGAL_RANGE } from './errors.ts';

/** A symbol filter as Binance lists it. */
export type SymbolFilter =
  | { filterType: 'PRICE_FILTER'; minPrice: string; maxPrice: string; tickSize: string }
  | { filterType: 'LOT_SIZE' | 'MARKET_LOT_SIZE'; minQty: string; maxQty: string; stepSize: string }
  | {
      filterType: 'NOTIONAL';
      minNotional: string;
      applyMinToMarket: boolean;
      maxNotional: string;
      applyMaxToMarket: boolean;
      avgPriceMins: number;
    };

/** One entry of `symbols`. */
export interface SymbolInfo {
  readonly symbol: string;
  readonly status: 'TRADING' | 'HALT' | 'BREAK';
  readonly baseAsset: string;
  readonly baseAssetPrecision: number;
  readonly quoteAsset: string;
  readonly quotePrecision: number;
  readonly quoteAssetPrecision: number;
  readonly baseCommissionPrecision: number;
  readonly quoteCommissionPrecision: number;
  readonly orderTypes: readonly string[];
  readonly icebergAllowed: boolean;
  readonly ocoAllowed: boolean;
  readonly otoAllowed: boolean;
  readonly quoteOrderQtyMarketAllowed: boolean;
  readonly allowTrailingStop: boolean;
  readonly cancelReplaceAllowed: boolean;
  readonly amendAllowed: boolean;
  readonly pegInstructionsAllowed: boolean;
  readonly isSpotTradingAllowed: boolean;
  readonly isMarginTradingAllowed: boolean;
  readonly filters: readonly SymbolFilter[];
  readonly permissions: readonly string[];
  readonly permissionSets?: readonly (readonly string[])[];
  readonly defaultSelfTradePreventionMode: string;
  readonly allowedSelfTradePreventionModes: readonly string[];
}

/** The whole reply. */
export interface ExchangeInfo {
  readonly timezone: 'UTC';
  readonly serverTime: number;
  readonly rateLimits: readonly RateLimitEntry[];
  readonly exchangeFilters: readonly never[];
  readonly symbols: readonly SymbolInfo[];
}

/** Decimals Binance pads filter values to (more when a market's grid is finer). */
const PAD = 8;

function dec(units: number, scale: number): string {
  return formatDecimal(units, scale, Math.max(PAD, scale));
}

/** The STP modes in Binance's order, for `allowedSelfTradePreventionModes`. */
const STP_ORDER = [0, 1, 2, 3, 4] as const;

/** A market as exchangeInfo lists it. */
export function symbolInfo(m: Market): SymbolInfo {
  const p = m.pricePrecision;
  const q = m.qtyPrecision;
  const tick = m.tickUnits;
  const lot = m.lotUnits;
  return {
    symbol: m.symbol,
    status: m.spec.status ?? 'TRADING',
    baseAsset: m.base.asset,
    baseAssetPrecision: m.base.scale,
    quoteAsset: m.quote.asset,
    quotePrecision: m.quote.scale,
    quoteAssetPrecision: m.quote.scale,
    baseCommissionPrecision: m.base.scale,
    quoteCommissionPrecision: m.quote.scale,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: true,
    amendAllowed: true,
    pegInstructionsAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: dec(m.minPriceTicks * tick, p),
        maxPrice: dec(m.maxPriceTicks * tick, p),
        tickSize: dec(tick, p),
      },
      {
        filterType: 'LOT_SIZE',
        minQty: dec(m.minQtyLots * lot, q),
        maxQty: dec(m.maxQtyLots * lot, q),
        stepSize: dec(lot, q),
      },
      {
        filterType: 'MARKET_LOT_SIZE',
        minQty: dec(m.minQtyLots * lot, q),
        maxQty: dec(m.marketMaxQtyLots * lot, q),
        stepSize: dec(lot, q),
      },
      {
        // The engine checks a quoteOrderQty MARKET order against both bounds and a MARKET order
        // by quantity against neither; advertising both as applied keeps a client that checks
        // before sending on the safe side.
        filterType: 'NOTIONAL',
        minNotional: dec(m.minNotionalUnits, m.quote.scale),
        applyMinToMarket: true,
        maxNotional: dec(m.maxNotionalUnits, m.quote.scale),
        applyMaxToMarket: true,
        avgPriceMins: 5,
      },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: StpModeName[m.defaultStpMode],
    allowedSelfTradePreventionModes: STP_ORDER.filter((mode) => (m.allowedStpMask & (1 << mode)) !== 0).map(
      (mode) => StpModeName[mode],
    ),
  };
}

/** Which symbols a request asks for. */
export interface ExchangeInfoQuery {
  /** Symbols in the order asked (undefined: all). */
  readonly symbols?: readonly string[];
  /** Keep symbols any of whose permission sets contains one of these (undefined: all). */
  readonly permissions?: readonly string[];
  readonly symbolStatus?: 'TRADING' | 'HALT' | 'BREAK';
  /** Include `permissionSets` (default true). */
  readonly showPermissionSets: boolean;
}

const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const SYMBOL_LIST = /^\[("[A-Z0-9\-_.]{1,20}"(,"[A-Z0-9\-_.]{1,20}")*)?\]$/;
const PERMISSION = /^[A-Z0-9_]{1,40}$/;
const PERMISSION_LIST = /^\[("[A-Z0-9_]{1,40}"(,"[A-Z0-9_]{1,40}")*)?\]$/;
const STATUSES = new Set([
  'PRE_TRADING',
  'TRADING',
  'POST_TRADING',
  'END_OF_DAY',
  'HALT',
  'AUCTION_MATCH',
  'BREAK',
]);

/** A JSON list of names already checked against its pattern; -1151 for a repeated name. */
function parseList(raw: string): string[] {
  const list = JSON.parse(raw) as string[];
  if (new Set(list).size !== list.length) throw new BinanceApiError(Errors.duplicateSymbols());
  return list;
}

/**
 * Reads `symbol`, `symbols` (a JSON list), `permissions` (one name or a JSON list),
 * `symbolStatus` and `showPermissionSets`. `symbol`, `symbols` and `permissions` cannot be
 * combined (-1128), nor `symbolStatus` with `symbol`/`symbols`.
 */
export function parseExchangeInfoQuery(params: ReadonlyMap<string, string>): ExchangeInfoQuery {
  const symbol = optionalParam(params, 'symbol');
  const symbols = optionalParam(params, 'symbols');
  const permissions = optionalParam(params, 'permissions');
  const symbolStatus = optionalParam(params, 'symbolStatus');
  const showPermissionSets = optionalBoolean(params, 'showPermissionSets') ?? true;
  const given = [symbol, symbols, permissions].filter((v) => v !== undefined).length;
  if (given > 1) throw new BinanceApiError(Errors.badCombination());
  if (symbolStatus !== undefined && (symbol !== undefined || symbols !== undefined))
    throw new BinanceApiError(Errors.badCombination());
  let status: ExchangeInfoQuery['symbolStatus'];
  if (symbolStatus !== undefined) {
    if (!STATUSES.has(symbolStatus)) throw new BinanceApiError(Errors.invalidSymbolStatus());
    status = symbolStatus as ExchangeInfoQuery['symbolStatus'];
  }
  const base = { showPermissionSets, ...(status === undefined ? {} : { symbolStatus: status }) };
  if (symbol !== undefined) {
    if (!SYMBOL.test(symbol)) throw new BinanceApiError(Errors.illegalChars('symbol', LEGAL_RANGE.symbol));
    return { ...base, symbols: [symbol] };
  }
  if (symbols !== undefined) {
    if (!SYMBOL_LIST.test(symbols))
      throw new BinanceApiError(Errors.illegalChars('symbols', LEGAL_RANGE.symbols));
    return { ...base, symbols: parseList(symbols) };
  }
  if (permissions !== undefined) {
    if (PERMISSION.test(permissions)) return { ...base, permissions: [permissions] };
    if (!PERMISSION_LIST.test(permissions))
      throw new BinanceApiError(
        Errors.illegalChars('permissions', '^\\[("[A-Z0-9_]{1,40}"(,"[A-Z0-9_]{1,40}"){0,}){0,1}\\]$'),
      );
    return { ...base, permissions: JSON.parse(permissions) as string[] };
  }
  return base;
}

/** Builds exchangeInfo replies for one set of markets (the per-symbol part once). */
export class ExchangeInfoBuilder {
  private readonly bySymbol: ReadonlyMap<string, SymbolInfo>;
  private readonly all: readonly SymbolInfo[];

  constructor(markets: Markets) {
    this.all = markets.list.map(symbolInfo);
    this.bySymbol = new Map(this.all.map((s) => [s.symbol, s]));
  }

  /** The reply for `query` (throws -1121 for a symbol that does not exist). */
  build(query: ExchangeInfoQuery, serverTime: number, rateLimits: readonly RateLimitEntry[]): ExchangeInfo {
    let symbols: SymbolInfo[];
    if (query.symbols !== undefined) {
      symbols = query.symbols.map((name) => {
        const info = this.bySymbol.get(name);
        if (info === undefined) throw new BinanceApiError(Errors.badSymbol());
        return info;
      });
    } else {
      symbols = [...this.all];
      const wanted = query.permissions;
      if (wanted !== undefined) {
        symbols = symbols.filter((s) =>
          (s.permissionSets ?? []).some((set) => set.some((p) => wanted.includes(p))),
        );
      }
      if (query.symbolStatus !== undefined) symbols = symbols.filter((s) => s.status === query.symbolStatus);
    }
    if (!query.showPermissionSets) {
      symbols = symbols.map(({ permissionSets: _omit, ...rest }) => rest);
    }
    return { timezone: 'UTC', serverTime, rateLimits, exchangeFilters: [], symbols };
  }
}
