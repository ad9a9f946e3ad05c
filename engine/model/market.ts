/**
 * The market definition: what a symbol trades and the rules its orders must meet. The engine
 * validates every order against it; a price or quantity that is off the grid or out of range
 * is rejected with its own result code, never rounded.
 *
 * Units: an asset's balance is an integer count of its smallest unit (10^-scale). A price is
 * an integer count of ticks, a quantity an integer count of lots (step size). The notional of
 * `priceTicks x qtyLots` in quote units is `priceTicks * qtyLots * quoteUnitsPerTickLot`,
 * which must be an integer: the quote asset's scale must cover the price's and the quantity's
 * decimals together. The largest notional (max price x max quantity) is checked to stay a
 * safe integer, so no order can overflow on any money path.
 */
import { decimalPlaces, formatDecimal, parseDecimal } from './decimal.ts';
import { StpMode, type StpMode as StpModeValue } from './enums.ts';
import { type SymbolId, symbolId } from './ids.ts';
import { ResultCode } from './result-code.ts';

/** An asset and the decimals of its smallest unit. */
export interface AssetSpec {
  readonly asset: string;
  /** Decimal places of the smallest unit (8 for BTC: 1 unit = 0.00000001 BTC). */
  readonly scale: number;
}

/** A market as an operator writes it (decimal strings, Binance's filter names). */
export interface MarketSpec {
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  /** PRICE_FILTER tickSize, e.g. "0.01". */
  readonly tickSize: string;
  /** LOT_SIZE stepSize, e.g. "0.00001". */
  readonly stepSize: string;
  readonly minPrice: string;
  readonly maxPrice: string;
  readonly minQty: string;
  readonly maxQty: string;
  /** MARKET_LOT_SIZE maxQty; defaults to maxQty. */
  readonly marketMaxQty?: string;
  /** NOTIONAL minNotional in the quote asset. */
  readonly minNotional: string;
  /** NOTIONAL maxNotional; defaults to the largest notional the price and quantity ranges allow. */
  readonly maxNotional?: string;
  /** Default self-trade prevention mode; defaults to EXPIRE_MAKER, as on Binance. */
  readonly defaultSelfTradePreventionMode?: keyof typeof StpMode;
  /** Allowed modes; defaults to all five. */
  readonly allowedSelfTradePreventionModes?: readonly (keyof typeof StpMode)[];
  /** TRADING (default), or HALT / BREAK: no new orders, cancels still allowed. */
  readonly status?: 'TRADING' | 'HALT' | 'BREAK';
}

/** A validated market, with every bound in integer units. */
export interface Market {
  readonly spec: MarketSpec;
  readonly symbolId: SymbolId;
  readonly symbol: string;
  readonly base: AssetSpec;
  readonly quote: AssetSpec;
  /** Decimals of the price grid (tickSize's decimals). */
  readonly pricePrecision: number;
  /** Decimals of the quantity grid (stepSize's decimals). */
  readonly qtyPrecision: number;
  /** tickSize in units of 10^-pricePrecision (1 for "0.01" at precision 2, 5 for "0.05"). */
  readonly tickUnits: number;
  /** stepSize in units of 10^-qtyPrecision. */
  readonly lotUnits: number;
  readonly minPriceTicks: number;
  readonly maxPriceTicks: number;
  readonly minQtyLots: number;
  readonly maxQtyLots: number;
  readonly marketMaxQtyLots: number;
  /** Quote units per (1 tick x 1 lot): notional = priceTicks * qtyLots * this. */
  readonly quoteUnitsPerTickLot: number;
  /** Base units per lot: base amount = qtyLots * this. */
  readonly baseUnitsPerLot: number;
  readonly minNotionalUnits: number;
  readonly maxNotionalUnits: number;
  readonly defaultStpMode: StpModeValue;
  /** Bit i set = StpMode i allowed. */
  readonly allowedStpMask: number;
  readonly trading: boolean;
}

/** Thrown for a market definition that cannot be traded safely; names the symbol and the rule. */
export class MarketDefinitionError extends Error {
  override readonly name = 'MarketDefinitionError';
}

function units(symbol: string, field: string, text: string, scale: number): number {
  const parsed = parseDecimal(text, scale);
  if (!parsed.ok) {
    throw new MarketDefinitionError(
      `${symbol}: ${field} "${text}" is not a decimal with at most ${scale} places`,
    );
  }
  return parsed.units;
}

function onGrid(symbol: string, field: string, value: number, step: number): number {
  if (value % step !== 0)
    throw new MarketDefinitionError(`${symbol}: ${field} is not a multiple of its step`);
  return value / step;
}

/**
 * Validates a market definition against its assets and computes its integer bounds.
 * Throws MarketDefinitionError naming the rule that fails.
 */
export function defineMarket(id: number, spec: MarketSpec, assets: ReadonlyMap<string, AssetSpec>): Market {
  const s = spec.symbol;
  if (!/^[A-Z0-9]{2,20}$/.test(s)) throw new MarketDefinitionError(`symbol "${s}" must be 2-20 of A-Z, 0-9`);
  const base = assets.get(spec.baseAsset);
  const quote = assets.get(spec.quoteAsset);
  if (base === undefined) throw new MarketDefinitionError(`${s}: unknown base asset ${spec.baseAsset}`);
  if (quote === undefined) throw new MarketDefinitionError(`${s}: unknown quote asset ${spec.quoteAsset}`);
  if (base.asset === quote.asset) throw new MarketDefinitionError(`${s}: base and quote are the same asset`);
  const pricePrecision = decimalPlaces(spec.tickSize);
  const qtyPrecision = decimalPlaces(spec.stepSize);
  if (qtyPrecision > base.scale) {
    throw new MarketDefinitionError(
      `${s}: stepSize has more decimals than ${base.asset}'s scale ${base.scale}`,
    );
  }
  if (pricePrecision + qtyPrecision > quote.scale) {
    throw new MarketDefinitionError(
      `${s}: tickSize x stepSize needs ${pricePrecision + qtyPrecision} decimals, ${quote.asset} has ${quote.scale}`,
    );
  }
  const tickUnits = units(s, 'tickSize', spec.tickSize, pricePrecision);
  const lotUnits = units(s, 'stepSize', spec.stepSize, qtyPrecision);
  if (tickUnits <= 0) throw new MarketDefinitionError(`${s}: tickSize must be positive`);
  if (lotUnits <= 0) throw new MarketDefinitionError(`${s}: stepSize must be positive`);
  const minPriceTicks = onGrid(s, 'minPrice', units(s, 'minPrice', spec.minPrice, pricePrecision), tickUnits);
  const maxPriceTicks = onGrid(s, 'maxPrice', units(s, 'maxPrice', spec.maxPrice, pricePrecision), tickUnits);
  const minQtyLots = onGrid(s, 'minQty', units(s, 'minQty', spec.minQty, qtyPrecision), lotUnits);
  const maxQtyLots = onGrid(s, 'maxQty', units(s, 'maxQty', spec.maxQty, qtyPrecision), lotUnits);
  const marketMaxQtyLots =
    spec.marketMaxQty === undefined
      ? maxQtyLots
      : onGrid(s, 'marketMaxQty', units(s, 'marketMaxQty', spec.marketMaxQty, qtyPrecision), lotUnits);
  if (minPriceTicks < 1 || maxPriceTicks < minPriceTicks)
    throw new MarketDefinitionError(`${s}: need 0 < minPrice <= maxPrice`);
  if (minQtyLots < 1 || maxQtyLots < minQtyLots)
    throw new MarketDefinitionError(`${s}: need 0 < minQty <= maxQty`);
  if (marketMaxQtyLots < minQtyLots) throw new MarketDefinitionError(`${s}: need minQty <= marketMaxQty`);
  const quoteUnitsPerTickLot = tickUnits * lotUnits * 10 ** (quote.scale - pricePrecision - qtyPrecision);
  const baseUnitsPerLot = lotUnits * 10 ** (base.scale - qtyPrecision);
  const largest = maxPriceTicks * Math.max(maxQtyLots, marketMaxQtyLots) * quoteUnitsPerTickLot;
  if (
    !Number.isSafeInteger(largest) ||
    !Number.isSafeInteger(Math.max(maxQtyLots, marketMaxQtyLots) * baseUnitsPerLot)
  ) {
    throw new MarketDefinitionError(
      `${s}: maxPrice x maxQty exceeds Number.MAX_SAFE_INTEGER ${quote.asset} units; lower maxPrice or maxQty`,
    );
  }
  const minNotionalUnits = units(s, 'minNotional', spec.minNotional, quote.scale);
  const maxNotionalUnits =
    spec.maxNotional === undefined ? largest : units(s, 'maxNotional', spec.maxNotional, quote.scale);
  if (maxNotionalUnits < minNotionalUnits || maxNotionalUnits < 1) {
    throw new MarketDefinitionError(`${s}: need minNotional <= maxNotional`);
  }
  const modeOf = (name: string): StpModeValue => {
    const v = Object.hasOwn(StpMode, name) ? (StpMode as Record<string, StpModeValue>)[name] : undefined;
    if (v === undefined || v === StpMode.DEFAULT)
      throw new MarketDefinitionError(`${s}: unknown STP mode ${name}`);
    return v;
  };
  const allowed = spec.allowedSelfTradePreventionModes ?? [
    'NONE',
    'EXPIRE_TAKER',
    'EXPIRE_MAKER',
    'EXPIRE_BOTH',
    'DECREMENT',
  ];
  let allowedStpMask = 0;
  for (const name of allowed) allowedStpMask |= 1 << modeOf(name);
  const defaultStpMode = modeOf(spec.defaultSelfTradePreventionMode ?? 'EXPIRE_MAKER');
  if ((allowedStpMask & (1 << defaultStpMode)) === 0) {
    throw new MarketDefinitionError(`${s}: the default STP mode is not among the allowed modes`);
  }
  return {
    spec,
    symbolId: symbolId(id),
    symbol: s,
    base,
    quote,
    pricePrecision,
    qtyPrecision,
    tickUnits,
    lotUnits,
    minPriceTicks,
    maxPriceTicks,
    minQtyLots,
    maxQtyLots,
    marketMaxQtyLots,
    quoteUnitsPerTickLot,
    baseUnitsPerLot,
    minNotionalUnits,
    maxNotionalUnits,
    defaultStpMode,
    allowedStpMask,
    trading: (spec.status ?? 'TRADING') === 'TRADING',
  };
}

/** A decimal parse failure in the terms of the filter: too precise is off the grid, too big above the max. */
function edgeCode(code: ResultCode, offGrid: ResultCode, aboveMax: ResultCode): ResultCode {
  if (code === ResultCode.DECIMAL_TOO_PRECISE) return offGrid;
  if (code === ResultCode.DECIMAL_OUT_OF_RANGE) return aboveMax;
  return code;
}

/** A price string -> ticks, or the result code that rejects it (off the tick grid, malformed). */
export function priceToTicks(
  m: Market,
  price: string,
): { ok: true; ticks: number } | { ok: false; code: ResultCode } {
  const p = parseDecimal(price, m.pricePrecision);
  if (!p.ok)
    return { ok: false, code: edgeCode(p.code, ResultCode.PRICE_OFF_TICK, ResultCode.PRICE_ABOVE_MAX) };
  if (p.units % m.tickUnits !== 0) return { ok: false, code: ResultCode.PRICE_OFF_TICK };
  return { ok: true, ticks: p.units / m.tickUnits };
}

/** A quantity string -> lots, or the result code that rejects it (off the step grid, malformed). */
export function qtyToLots(
  m: Market,
  qty: string,
): { ok: true; lots: number } | { ok: false; code: ResultCode } {
  const q = parseDecimal(qty, m.qtyPrecision);
  if (!q.ok) return { ok: false, code: edgeCode(q.code, ResultCode.QTY_OFF_LOT, ResultCode.QTY_ABOVE_MAX) };
  if (q.units % m.lotUnits !== 0) return { ok: false, code: ResultCode.QTY_OFF_LOT };
  return { ok: true, lots: q.units / m.lotUnits };
}

/** Ticks -> price string with `decimals` places (default: the market's price precision). */
export function ticksToPrice(m: Market, ticks: number, decimals = m.pricePrecision): string {
  return formatDecimal(ticks * m.tickUnits, m.pricePrecision, decimals);
}

/** Lots -> quantity string with `decimals` places (default: the market's quantity precision). */
export function lotsToQty(m: Market, lots: number, decimals = m.qtyPrecision): string {
  return formatDecimal(lots * m.lotUnits, m.qtyPrecision, decimals);
}

/** Notional of a fill in quote units (exact: checked against MAX_SAFE_INTEGER by defineMarket). */
export function notionalUnits(m: Market, priceTicks: number, qtyLots: number): number {
  return priceTicks * qtyLots * m.quoteUnitsPerTickLot;
}
