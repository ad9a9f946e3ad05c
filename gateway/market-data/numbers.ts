/**
 * Exact integer arithmetic and decimal formatting for market data. Inside, every price is
 * ticks, every quantity lots and every notional quote units (engine/model/market.ts); sums
 * that can outgrow Number.MAX_SAFE_INTEGER (a day's quote volume of a busy market easily
 * does: 900 BTC at 100,000 USDT is 9e15 units of 1e-8) are kept as two limbs, and decimal
 * strings are made only when a payload is encoded.
 *
 * Binance writes prices and quantities with 8 decimals ("25.35190000"); a market whose grid
 * is finer than that keeps its own precision.
 */
import type { Market } from '../../engine/index.ts';

/** Base of the low limb of a wide sum (a power of ten, so that formatting stays simple). */
export const LIMB = 100_000_000;
const LIMB_BIG = 100_000_000n;
const ZEROS = '000000000000000000000000000000';

/**
 * `units` of 10^-scale as a decimal string with exactly `decimals` places (`decimals` >=
 * `scale`: the extra places are zeros). No regular expressions, one or two slices: this runs
 * for every level of every depth payload.
 */
export function formatUnits(units: number, scale: number, decimals: number): string {
  const negative = units < 0;
  let digits = String(negative ? -units : units);
  let out: string;
  if (scale === 0) {
    out = decimals > 0 ? `${digits}.${ZEROS.slice(0, decimals)}` : digits;
  } else {
    if (digits.length <= scale) digits = ZEROS.slice(0, scale + 1 - digits.length) + digits;
    const cut = digits.length - scale;
    out = `${digits.slice(0, cut)}.${digits.slice(cut)}${ZEROS.slice(0, decimals - scale)}`;
  }
  return negative ? `-${out}` : out;
}

/** `formatUnits` for a bigint amount. */
export function formatBig(units: bigint, scale: number, decimals: number): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  let out: string;
  if (scale === 0) {
    out = decimals > 0 ? `${digits}.${ZEROS.slice(0, decimals)}` : digits;
  } else {
    if (digits.length <= scale) digits = ZEROS.slice(0, scale + 1 - digits.length) + digits;
    const cut = digits.length - scale;
    out = `${digits.slice(0, cut)}.${digits.slice(cut)}${ZEROS.slice(0, decimals - scale)}`;
  }
  return negative ? `-${out}` : out;
}

/** A wide sum's value: hi x 10^8 + lo. */
export function wideToBig(hi: number, lo: number): bigint {
  return BigInt(hi) * LIMB_BIG + BigInt(lo);
}

/**
 * A non-negative integer sum of up to about 9e23, exact: the low limb stays below 10^8 and
 * the high limb counts the 10^8s. Adding or subtracting a safe integer never rounds.
 */
export class WideSum {
  hi = 0;
  lo = 0;

  /** Adds a safe integer (>= 0). */
  add(v: number): void {
    const vlo = v % LIMB;
    this.hi += (v - vlo) / LIMB;
    this.lo += vlo;
    if (this.lo >= LIMB) {
      this.lo -= LIMB;
      this.hi += 1;
    }
  }

  /** Adds another wide sum. */
  addWide(hi: number, lo: number): void {
    this.hi += hi;
    this.lo += lo;
    if (this.lo >= LIMB) {
      this.lo -= LIMB;
      this.hi += 1;
    }
  }

  /** Subtracts another wide sum (never more than this holds). */
  subWide(hi: number, lo: number): void {
    this.hi -= hi;
    this.lo -= lo;
    if (this.lo < 0) {
      this.lo += LIMB;
      this.hi -= 1;
    }
  }

  set(hi: number, lo: number): void {
    this.hi = hi;
    this.lo = lo;
  }

  clear(): void {
    this.hi = 0;
    this.lo = 0;
  }

  isZero(): boolean {
    return this.hi === 0 && this.lo === 0;
  }

  big(): bigint {
    return wideToBig(this.hi, this.lo);
  }

  /** [hi, lo] for serialisation. */
  toJSON(): [number, number] {
    return [this.hi, this.lo];
  }
}

/** Rounds num/den to the nearest integer, halves away from zero (den > 0). */
export function divRound(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r = num % den;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= den) return num < 0n ? q - 1n : q + 1n;
  return q;
}

/**
 * How one market's integers become Binance's decimal strings: prices and quantities with
 * at least 8 decimals, quote amounts with at least 8. Built once per market.
 */
export class MarketFormat {
  readonly symbol: string;
  /** Lower-case symbol, as stream names spell it. */
  readonly stream: string;
  readonly priceScale: number;
  readonly priceDecimals: number;
  readonly tickUnits: number;
  readonly qtyScale: number;
  readonly qtyDecimals: number;
  readonly lotUnits: number;
  readonly quoteScale: number;
  readonly quoteDecimals: number;
  readonly quoteUnitsPerTickLot: number;
  /** The zero price and quantity strings ("0.00000000"). */
  readonly zeroPrice: string;
  readonly zeroQty: string;
  readonly zeroQuote: string;

  constructor(readonly market: Market) {
    this.symbol = market.symbol;
    this.stream = market.symbol.toLowerCase();
    this.priceScale = market.pricePrecision;
    this.priceDecimals = Math.max(8, market.pricePrecision);
    this.tickUnits = market.tickUnits;
    this.qtyScale = market.qtyPrecision;
    this.qtyDecimals = Math.max(8, market.qtyPrecision);
    this.lotUnits = market.lotUnits;
    this.quoteScale = market.quote.scale;
    this.quoteDecimals = Math.max(8, market.quote.scale);
    this.quoteUnitsPerTickLot = market.quoteUnitsPerTickLot;
    this.zeroPrice = formatUnits(0, this.priceScale, this.priceDecimals);
    this.zeroQty = formatUnits(0, this.qtyScale, this.qtyDecimals);
    this.zeroQuote = formatUnits(0, this.quoteScale, this.quoteDecimals);
  }

  /** A price in ticks as Binance writes it. */
  price(ticks: number): string {
    return formatUnits(ticks * this.tickUnits, this.priceScale, this.priceDecimals);
  }

  /** A quantity in lots as Binance writes it. */
  qty(lots: number): string {
    return formatUnits(lots * this.lotUnits, this.qtyScale, this.qtyDecimals);
  }

  /** A quantity sum in lots (wide) as Binance writes it. */
  qtyWide(hi: number, lo: number): string {
    return formatBig(wideToBig(hi, lo) * BigInt(this.lotUnits), this.qtyScale, this.qtyDecimals);
  }

  /** An amount of the quote asset, in its units. */
  quote(units: number): string {
    return formatUnits(units, this.quoteScale, this.quoteDecimals);
  }

  /** A quote sum (wide) as Binance writes it. */
  quoteWide(hi: number, lo: number): string {
    return formatBig(wideToBig(hi, lo), this.quoteScale, this.quoteDecimals);
  }

  /** The notional of ticks x lots in quote units (exact: the market bounds it). */
  notional(ticks: number, lots: number): number {
    return ticks * lots * this.quoteUnitsPerTickLot;
  }

  /** A price difference in ticks (may be negative). */
  priceChange(ticks: number): string {
    return formatUnits(ticks * this.tickUnits, this.priceScale, this.priceDecimals);
  }

  /**
   * Binance's priceChangePercent: (last - open) / open x 100 with 3 decimals, rounded half
   * away from zero; "0.000" when there is no open price.
   */
  percent(openTicks: number, lastTicks: number): string {
    if (openTicks === 0) return '0.000';
    const q = divRound(BigInt(lastTicks - openTicks) * 100_000n, BigInt(openTicks));
    return formatBig(q, 3, 3);
  }

  /**
   * The volume-weighted average price (quote volume / base volume) with the price's
   * decimals, rounded half up; the zero price when nothing traded.
   */
  weightedAverage(quoteHi: number, quoteLo: number, lotsHi: number, lotsLo: number): string {
    const lots = wideToBig(lotsHi, lotsLo);
    if (lots === 0n) return this.zeroPrice;
    // price = quote / 10^quoteScale / (lots x lotUnits / 10^qtyScale), written with priceDecimals.
    const num = wideToBig(quoteHi, quoteLo) * 10n ** BigInt(this.qtyScale + this.priceDecimals);
    const den = lots * BigInt(this.lotUnits) * 10n ** BigInt(this.quoteScale);
    return formatBig(divRound(num, den), this.priceDecimals, this.priceDecimals);
  }
}
