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

/**
 * Whether a stream has anyone to receive it: payloads of unwanted streams are not encoded
 * at all (the state they come from is kept all the same). Always true unless the fan-out
 * says otherwise.
 */
export type Interest = (stream: string) => boolean;

/** Every stream is wanted. */
export const ALL_STREAMS: Interest = () => true;

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
 * A non-negative integer sum of up to about 9e23, exact. The value is hi x 10^8 + lo; lo is
 * a safe integer that is folded into hi (lo % 10^8 stays) only when the next addition could
 * take it past 2^53, so that an addition costs one comparison and one add: this runs for 16
 * klines and a minute bucket on every trade.
 */
export class WideSum {
  hi = 0;
  lo = 0;

  /** Adds a safe integer (>= 0). */
  add(v: number): void {
    if (this.lo > Number.MAX_SAFE_INTEGER - v) {
      this.fold();
      if (this.lo > Number.MAX_SAFE_INTEGER - v) {
        // v itself is within 10^8 of 2^53: split it too.
        const rest = v % LIMB;
        this.hi += (v - rest) / LIMB;
        this.lo += rest;
        return;
      }
    }
    this.lo += v;
  }

  /** Moves the 10^8s of lo into hi (exact: lo is a safe integer). */
  private fold(): void {
    const rest = this.lo % LIMB;
    this.hi += (this.lo - rest) / LIMB;
    this.lo = rest;
  }

  /** Adds another wide sum's limbs. */
  addWide(hi: number, lo: number): void {
    this.hi += hi;
    this.add(lo);
  }

  /** Subtracts another wide sum (never more than this holds). */
  subWide(hi: number, lo: number): void {
    const v = this.big() - wideToBig(hi, lo);
    this.hi = Number(v / LIMB_BIG);
    this.lo = Number(v % LIMB_BIG);
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

  /** [hi, lo] with lo < 10^8, for serialisation. */
  toJSON(): [number, number] {
    this.fold();
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
  /** This symbol's stream names, made once (not per payload). */
  readonly streams: {
    readonly trade: string;
    readonly aggTrade: string;
    readonly bookTicker: string;
    readonly depth: string;
    readonly depth100: string;
    /** `<s>@depth5`, `<s>@depth10`, `<s>@depth20`. */
    readonly partial: readonly string[];
    /** The same with `@100ms`. */
    readonly partial100: readonly string[];
  };

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
    const s = this.stream;
    this.streams = {
      trade: `${s}@trade`,
      aggTrade: `${s}@aggTrade`,
      bookTicker: `${s}@bookTicker`,
      depth: `${s}@depth`,
      depth100: `${s}@depth@100ms`,
      partial: [`${s}@depth5`, `${s}@depth10`, `${s}@depth20`],
      partial100: [`${s}@depth5@100ms`, `${s}@depth10@100ms`, `${s}@depth20@100ms`],
    };
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
    // Most sums fit a safe integer: no bigint then (this runs for every kline payload). A
    // true value past 2^53 computes to at least 2^53, so the check cannot pass wrongly.
    const lots = hi * LIMB + lo;
    if (lots <= Number.MAX_SAFE_INTEGER && lots * this.lotUnits <= Number.MAX_SAFE_INTEGER)
      return this.qty(lots);
    return formatBig(wideToBig(hi, lo) * BigInt(this.lotUnits), this.qtyScale, this.qtyDecimals);
  }

  /** An amount of the quote asset, in its units. */
  quote(units: number): string {
    return formatUnits(units, this.quoteScale, this.quoteDecimals);
  }

  /** A quote sum (wide) as Binance writes it. */
  quoteWide(hi: number, lo: number): string {
    const units = hi * LIMB + lo;
    if (units <= Number.MAX_SAFE_INTEGER) return formatUnits(units, this.quoteScale, this.quoteDecimals);
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
