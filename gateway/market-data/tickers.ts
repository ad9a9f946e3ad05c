/**
 * Rolling statistics: the 24-hour ticker (`<s>@ticker`, `<s>@miniTicker`,
 * `!miniTicker@arr`), the rolling window tickers (`<s>@ticker_1h|4h|1d`), the average price
 * (`<s>@avgPrice`), and the REST shapes of `ticker/24hr`, `ticker/tradingDay`, `ticker`
 * (rolling window), `ticker/price` and `avgPrice`.
 *
 * Trades go into one-minute buckets (open, high, low, close, first and last trade id,
 * count, exact volume sums), kept for 7 days plus a minute per symbol: a trade costs O(1).
 * A window of W minutes covers the bucket of the current minute and the W before it, so it
 * opens on a minute and is up to 59,999 ms wider than W, as Binance documents for its
 * rolling window statistics ("openTime always starts on a minute"); the 24-hour ticker uses
 * the same 1440-minute window. Statistics are summed over a window's buckets when a payload
 * or a REST answer needs them (at most 10,081 buckets for a 7-day window; the streams sum
 * at most 1,441 a second per symbol).
 *
 * A window without trades reports o = h = l = c = the last price (0 before any trade), zero
 * volumes, F = L = -1 and n = 0. `x` (prevClosePrice) is the price of the last trade before
 * the window (0 when none is within the 7 days kept). The weighted average price is quote
 * volume / base volume, rounded half up to the price's decimals (8); the percent change has 3
 * decimals, rounded half away from zero.
 */
import { ALL_STREAMS, type Interest, LIMB, type MarketFormat, WideSum } from './numbers.ts';
import type { TimeUnit } from './trades.ts';

/** Emits one encoded payload on one stream. */
export type Emit = (stream: string, payload: string) => void;

const MINUTE = 60_000;
/** Minutes of buckets kept: the largest REST window (7 days) plus the current minute. */
export const BUCKET_MINUTES = 7 * 1440 + 1;
/** The average price window (Binance: 5 minutes). */
export const AVG_PRICE_MINUTES = 5;

/** The streamed rolling windows: `<s>@ticker_<name>`. */
export const STREAM_WINDOWS = { '1h': 60, '4h': 240, '1d': 1440 } as const;

/** Fields of a minute bucket, in a symbol's bucket array. */
const B_MINUTE = 0;
const B_OPEN = 1;
const B_HIGH = 2;
const B_LOW = 3;
const B_CLOSE = 4;
const B_FIRST = 5;
const B_LAST = 6;
const B_COUNT = 7;
/** Volume (lots) and quote volume (units) as wide sums: [hi, lo] each (see WideSum). */
const B_VOL = 8;
const B_QUOTE = 10;
const B_STRIDE = 12;
const SAFE = Number.MAX_SAFE_INTEGER;

/** Adds a safe integer to the wide sum at a[at] (hi), a[at + 1] (lo), folding lo when needed. */
function addWideAt(a: Float64Array, at: number, v: number): void {
  let lo = a[at + 1]!;
  if (lo > SAFE - v) {
    const rest = lo % LIMB;
    a[at] = a[at]! + (lo - rest) / LIMB;
    lo = rest;
    if (lo > SAFE - v) {
      const vr = v % LIMB;
      a[at] = a[at]! + (v - vr) / LIMB;
      a[at + 1] = lo + vr;
      return;
    }
  }
  a[at + 1] = lo + v;
}

/** Statistics over one window, integers only. */
export interface WindowStats {
  /** Window open time (UTC ms, on a minute) and close time. */
  readonly openMs: number;
  readonly closeMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  /** The last price (of the window's last trade, or the last trade ever when it has none). */
  readonly last: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly count: number;
  readonly volume: WideSum;
  readonly quote: WideSum;
  /** Price of the last trade before the window (0 when none). */
  readonly prevClose: number;
}

/** GET /api/v3/ticker/24hr (FULL). */
export interface Ticker24hFull {
  symbol: string;
  priceChange: string;
  priceChangePercent: string;
  weightedAvgPrice: string;
  prevClosePrice: string;
  lastPrice: string;
  lastQty: string;
  bidPrice: string;
  bidQty: string;
  askPrice: string;
  askQty: string;
  openPrice: string;
  highPrice: string;
  lowPrice: string;
  volume: string;
  quoteVolume: string;
  openTime: number;
  closeTime: number;
  firstId: number;
  lastId: number;
  count: number;
}

/** The MINI shape of `ticker/24hr`, `ticker` and `ticker/tradingDay`. */
export interface TickerMini {
  symbol: string;
  openPrice: string;
  highPrice: string;
  lowPrice: string;
  lastPrice: string;
  volume: string;
  quoteVolume: string;
  openTime: number;
  closeTime: number;
  firstId: number;
  lastId: number;
  count: number;
}

/** The FULL shape of `ticker` (rolling window) and `ticker/tradingDay`. */
export interface TickerWindowFull {
  symbol: string;
  priceChange: string;
  priceChangePercent: string;
  weightedAvgPrice: string;
  openPrice: string;
  highPrice: string;
  lowPrice: string;
  lastPrice: string;
  volume: string;
  quoteVolume: string;
  openTime: number;
  closeTime: number;
  firstId: number;
  lastId: number;
  count: number;
}

/** GET /api/v3/avgPrice. */
export interface AvgPrice {
  mins: number;
  price: string;
  closeTime: number;
}

/** Best bid and ask, for the ticker's b, B, a, A (from the depth book). */
export interface BestLevels {
  readonly bidTicks: number;
  readonly bidLots: number;
  readonly askTicks: number;
  readonly askLots: number;
}

/**
 * Parses Binance's rolling `windowSize` ("1m".."59m", "1h".."23h", "1d".."7d"; units not
 * combined) into minutes, or null.
 */
export function parseWindowSize(text: string): number | null {
  const m = /^([1-9]\d?)([mhd])$/.exec(text);
  if (m === null) return null;
  const n = Number(m[1]);
  if (m[2] === 'm') return n <= 59 ? n : null;
  if (m[2] === 'h') return n <= 23 ? n * 60 : null;
  return n <= 7 ? n * 1440 : null;
}

/** One symbol's buckets and last trade. */
class SymbolStats {
  /**
   * Minute buckets by minute % BUCKET_MINUTES, B_STRIDE numbers each, in one typed array
   * (about 1 MB, allocated at the symbol's first trade): no object per minute.
   */
  buckets: Float64Array | null = null;
  lastPrice = 0;
  lastLots = 0;
  /** Time of the last trade, UTC ms (0: none). */
  lastMs = 0;
  /** What each stream last sent, to send only changes. */
  readonly sent = new Map<string, string>();
  /** Cached "last trade before minute m": [m, price]. */
  prevCloseAt: [number, number] = [-1, 0];
  /** The earliest minute with a trade (-1: none): nothing before it to look for. */
  firstMinute = -1;

  constructor(readonly fmt: MarketFormat) {}

  private array(): Float64Array {
    if (this.buckets === null) {
      this.buckets = new Float64Array(BUCKET_MINUTES * B_STRIDE);
      for (let i = 0; i < BUCKET_MINUTES; i++) this.buckets[i * B_STRIDE + B_MINUTE] = -1;
    }
    return this.buckets;
  }

  /** Offset of `minute`'s bucket, or -1 when it holds no trade. */
  bucket(minute: number): number {
    const b = this.buckets;
    if (b === null) return -1;
    const o = (minute % BUCKET_MINUTES) * B_STRIDE;
    return b[o + B_MINUTE] === minute && b[o + B_COUNT]! > 0 ? o : -1;
  }

  add(tradeId: number, price: number, lots: number, quoteUnits: number, ms: number): void {
    const minute = Math.floor(ms / MINUTE);
    const b = this.array();
    const o = (minute % BUCKET_MINUTES) * B_STRIDE;
    if (b[o + B_MINUTE] !== minute) {
      b.fill(0, o, o + B_STRIDE);
      b[o + B_MINUTE] = minute;
    }
    if (b[o + B_COUNT] === 0) {
      b[o + B_OPEN] = price;
      b[o + B_HIGH] = price;
      b[o + B_LOW] = price;
      b[o + B_FIRST] = tradeId;
    } else {
      if (price > b[o + B_HIGH]!) b[o + B_HIGH] = price;
      if (price < b[o + B_LOW]!) b[o + B_LOW] = price;
    }
    b[o + B_CLOSE] = price;
    b[o + B_LAST] = tradeId;
    b[o + B_COUNT] = b[o + B_COUNT]! + 1;
    addWideAt(b, o + B_VOL, lots);
    addWideAt(b, o + B_QUOTE, quoteUnits);
    // A late trade (stamped in an earlier minute) never replaces a later last price.
    if (ms >= this.lastMs) {
      this.lastPrice = price;
      this.lastLots = lots;
      this.lastMs = ms;
    }
    // Only a trade stamped before the cached minute changes "the last trade before it".
    if (minute < this.prevCloseAt[0]) this.prevCloseAt[0] = -1;
    if (this.firstMinute === -1 || minute < this.firstMinute) this.firstMinute = minute;
  }

  /** Price of the last trade in a minute before `minute` (0 when none is kept). */
  prevClose(minute: number): number {
    if (this.prevCloseAt[0] === minute) return this.prevCloseAt[1];
    let price = 0;
    const oldest = Math.max(minute - BUCKET_MINUTES + 1, this.firstMinute);
    for (let m = minute - 1; m >= oldest; m--) {
      const o = this.bucket(m);
      if (o !== -1) {
        price = this.buckets![o + B_CLOSE]!;
        break;
      }
    }
    this.prevCloseAt = [minute, price];
    return price;
  }

  /** Statistics of the buckets from `startMinute` to `endMinute` inclusive, closing at `closeMs`. */
  stats(startMinute: number, endMinute: number, closeMs: number): WindowStats {
    let open = 0;
    let high = 0;
    let low = 0;
    let last = 0;
    let firstId = -1;
    let lastId = -1;
    let count = 0;
    const volume = new WideSum();
    const quote = new WideSum();
    const b = this.buckets;
    const lo = Math.max(startMinute, endMinute - BUCKET_MINUTES + 1, this.firstMinute);
    for (let m = lo; b !== null && m <= endMinute; m++) {
      const o = this.bucket(m);
      if (o === -1) continue;
      if (count === 0) {
        open = b[o + B_OPEN]!;
        high = b[o + B_HIGH]!;
        low = b[o + B_LOW]!;
        firstId = b[o + B_FIRST]!;
      } else {
        if (b[o + B_HIGH]! > high) high = b[o + B_HIGH]!;
        if (b[o + B_LOW]! < low) low = b[o + B_LOW]!;
      }
      last = b[o + B_CLOSE]!;
      lastId = b[o + B_LAST]!;
      count += b[o + B_COUNT]!;
      volume.addWide(b[o + B_VOL]!, b[o + B_VOL + 1]!);
      quote.addWide(b[o + B_QUOTE]!, b[o + B_QUOTE + 1]!);
    }
    if (count === 0) {
      open = this.lastPrice;
      high = this.lastPrice;
      low = this.lastPrice;
      last = this.lastPrice;
    }
    return {
      openMs: startMinute * MINUTE,
      closeMs,
      open,
      high,
      low,
      last,
      firstId,
      lastId,
      count,
      volume,
      quote,
      prevClose: this.prevClose(startMinute),
    };
  }

  /** Buckets with trades as the cache keeps them, oldest first. */
  rows(): BucketRow[] {
    const out: BucketRow[] = [];
    const b = this.buckets;
    if (b === null) return out;
    for (let i = 0; i < BUCKET_MINUTES; i++) {
      const o = i * B_STRIDE;
      if (b[o + B_MINUTE] === -1 || b[o + B_COUNT] === 0) continue;
      const vol = new WideSum();
      vol.set(b[o + B_VOL]!, b[o + B_VOL + 1]!);
      const quote = new WideSum();
      quote.set(b[o + B_QUOTE]!, b[o + B_QUOTE + 1]!);
      out.push([
        b[o + B_MINUTE]!,
        b[o + B_OPEN]!,
        b[o + B_HIGH]!,
        b[o + B_LOW]!,
        b[o + B_CLOSE]!,
        b[o + B_FIRST]!,
        b[o + B_LAST]!,
        b[o + B_COUNT]!,
        vol.toJSON(),
        quote.toJSON(),
      ]);
    }
    return out.sort((x, y) => x[0] - y[0]);
  }

  /** Writes a cached bucket back. */
  put(r: BucketRow): void {
    const b = this.array();
    const [minute, open, high, low, close, firstId, lastId, count, volume, quote] = r;
    const o = (minute % BUCKET_MINUTES) * B_STRIDE;
    b[o + B_MINUTE] = minute;
    b[o + B_OPEN] = open;
    b[o + B_HIGH] = high;
    b[o + B_LOW] = low;
    b[o + B_CLOSE] = close;
    b[o + B_FIRST] = firstId;
    b[o + B_LAST] = lastId;
    b[o + B_COUNT] = count;
    b[o + B_VOL] = volume[0];
    b[o + B_VOL + 1] = volume[1];
    b[o + B_QUOTE] = quote[0];
    b[o + B_QUOTE + 1] = quote[1];
    if (this.firstMinute === -1 || minute < this.firstMinute) this.firstMinute = minute;
  }
}

/** A minute bucket as the cache keeps it. */
export type BucketRow = [
  minute: number,
  open: number,
  high: number,
  low: number,
  close: number,
  firstId: number,
  lastId: number,
  count: number,
  volume: [number, number],
  quote: [number, number],
];

/** One symbol's statistics for the cache. */
export interface TickersState {
  readonly buckets: BucketRow[];
  readonly lastPrice: number;
  readonly lastLots: number;
  readonly lastMs: number;
  /** What each ticker stream last sent (a digest), so that a restored builder sends only changes. */
  readonly sent: [string, string][];
}

/** Every symbol's rolling statistics: streams and REST answers. */
export class TickerTracker {
  private readonly symbols: SymbolStats[];

  constructor(
    formats: readonly MarketFormat[],
    private readonly emit: Emit,
    /** Best levels of a symbol (the depth book's). */
    private readonly best: (symbol: number) => BestLevels,
    private readonly wants: Interest = ALL_STREAMS,
  ) {
    this.symbols = formats.map((f) => new SymbolStats(f));
  }

  /** A trade, in stream order: O(1). */
  onTrade(symbol: number, tradeId: number, priceTicks: number, qtyLots: number, tsMicros: number): void {
    const st = this.symbols[symbol];
    if (st === undefined) return;
    st.add(tradeId, priceTicks, qtyLots, st.fmt.notional(priceTicks, qtyLots), Math.floor(tsMicros / 1000));
  }

  /** Statistics of the window of `minutes` minutes ending now. */
  window(symbol: number, minutes: number, nowMs: number): WindowStats {
    const now = Math.floor(nowMs / MINUTE);
    return this.symbols[symbol]!.stats(now - minutes, now, nowMs);
  }

  /**
   * The 1000 ms push: `<s>@ticker`, `<s>@miniTicker`, `<s>@ticker_1h|4h|1d`, `<s>@avgPrice`
   * for the symbols whose statistics changed since their last push, and `!miniTicker@arr`
   * with the mini tickers that changed (not sent when none did).
   */
  flush(nowMs: number): void {
    const minis: string[] = [];
    const wantsAll = this.wants('!miniTicker@arr');
    for (let s = 0; s < this.symbols.length; s++) {
      const st = this.symbols[s]!;
      if (st.lastMs === 0) continue;
      const fmt = st.fmt;
      const day = this.window(s, 1440, nowMs);
      const best = this.best(s);
      const dayKey = `${day.count},${day.firstId},${day.lastId},${day.prevClose}`;
      const miniStream = `${fmt.stream}@miniTicker`;
      if (this.changed(st, 'mini', dayKey)) {
        const wantsMini = this.wants(miniStream);
        if (wantsMini || wantsAll) {
          const mini = miniTickerPayload(fmt, day, nowMs);
          minis.push(mini);
          if (wantsMini) this.emit(miniStream, mini);
        }
      }
      const tickerStream = `${fmt.stream}@ticker`;
      const bookKey = `${dayKey},${best.bidTicks},${best.bidLots},${best.askTicks},${best.askLots}`;
      if (this.changed(st, 'ticker', bookKey) && this.wants(tickerStream)) {
        this.emit(tickerStream, tickerPayload(fmt, day, best, st.lastLots, nowMs));
      }
      for (const [name, minutes] of Object.entries(STREAM_WINDOWS)) {
        const w = minutes === 1440 ? day : this.window(s, minutes, nowMs);
        const stream = `${fmt.stream}@ticker_${name}`;
        if (this.changed(st, name, `${w.count},${w.firstId},${w.lastId}`) && this.wants(stream)) {
          this.emit(stream, windowTickerPayload(fmt, `${name}Ticker`, w, nowMs));
        }
      }
      const avg = this.avgPrice(s, nowMs);
      const avgStream = `${fmt.stream}@avgPrice`;
      if (this.changed(st, 'avg', `${avg.price},${avg.closeTime}`) && this.wants(avgStream)) {
        this.emit(
          avgStream,
          `{"e":"avgPrice","E":${nowMs},"s":"${fmt.symbol}","i":"${AVG_PRICE_MINUTES}m","w":"${avg.price}","T":${avg.closeTime}}`,
        );
      }
    }
    if (minis.length > 0 && wantsAll) this.emit('!miniTicker@arr', `[${minis.join(',')}]`);
  }

  /** Whether a stream's digest `key` differs from the one last sent (and remembers it). */
  private changed(st: SymbolStats, stream: string, key: string): boolean {
    if (st.sent.get(stream) === key) return false;
    st.sent.set(stream, key);
    return true;
  }

  /** GET /api/v3/avgPrice (closeTime: the last trade's time, in ms). */
  avgPrice(symbol: number, nowMs: number): AvgPrice {
    const st = this.symbols[symbol]!;
    const w = this.window(symbol, AVG_PRICE_MINUTES, nowMs);
    const price =
      w.count > 0
        ? st.fmt.weightedAverage(w.quote.hi, w.quote.lo, w.volume.hi, w.volume.lo)
        : st.fmt.price(st.lastPrice);
    return { mins: AVG_PRICE_MINUTES, price, closeTime: st.lastMs };
  }

  /** GET /api/v3/ticker/price. */
  price(symbol: number): { symbol: string; price: string } {
    const st = this.symbols[symbol]!;
    return { symbol: st.fmt.symbol, price: st.fmt.price(st.lastPrice) };
  }

  /** GET /api/v3/ticker/24hr, FULL. */
  ticker24h(symbol: number, nowMs: number, unit: TimeUnit = 'MILLISECOND'): Ticker24hFull {
    const st = this.symbols[symbol]!;
    const fmt = st.fmt;
    const w = this.window(symbol, 1440, nowMs);
    const best = this.best(symbol);
    return {
      symbol: fmt.symbol,
      priceChange: fmt.priceChange(w.last - w.open),
      priceChangePercent: fmt.percent(w.open, w.last),
      weightedAvgPrice: fmt.weightedAverage(w.quote.hi, w.quote.lo, w.volume.hi, w.volume.lo),
      prevClosePrice: fmt.price(w.prevClose),
      lastPrice: fmt.price(w.last),
      lastQty: fmt.qty(st.lastLots),
      bidPrice: fmt.price(best.bidTicks),
      bidQty: fmt.qty(best.bidLots),
      askPrice: fmt.price(best.askTicks),
      askQty: fmt.qty(best.askLots),
      openPrice: fmt.price(w.open),
      highPrice: fmt.price(w.high),
      lowPrice: fmt.price(w.low),
      volume: fmt.qtyWide(w.volume.hi, w.volume.lo),
      quoteVolume: fmt.quoteWide(w.quote.hi, w.quote.lo),
      openTime: scale(w.openMs, unit),
      closeTime: scale(w.closeMs, unit),
      firstId: w.firstId,
      lastId: w.lastId,
      count: w.count,
    };
  }

  /** The MINI shape of a window's statistics. */
  mini(symbol: number, w: WindowStats, unit: TimeUnit = 'MILLISECOND'): TickerMini {
    const fmt = this.symbols[symbol]!.fmt;
    return {
      symbol: fmt.symbol,
      openPrice: fmt.price(w.open),
      highPrice: fmt.price(w.high),
      lowPrice: fmt.price(w.low),
      lastPrice: fmt.price(w.last),
      volume: fmt.qtyWide(w.volume.hi, w.volume.lo),
      quoteVolume: fmt.quoteWide(w.quote.hi, w.quote.lo),
      openTime: scale(w.openMs, unit),
      closeTime: scale(w.closeMs, unit),
      firstId: w.firstId,
      lastId: w.lastId,
      count: w.count,
    };
  }

  /** The FULL shape of `ticker` (rolling window) and `ticker/tradingDay`. */
  full(symbol: number, w: WindowStats, unit: TimeUnit = 'MILLISECOND'): TickerWindowFull {
    const fmt = this.symbols[symbol]!.fmt;
    return {
      symbol: fmt.symbol,
      priceChange: fmt.priceChange(w.last - w.open),
      priceChangePercent: fmt.percent(w.open, w.last),
      weightedAvgPrice: fmt.weightedAverage(w.quote.hi, w.quote.lo, w.volume.hi, w.volume.lo),
      openPrice: fmt.price(w.open),
      highPrice: fmt.price(w.high),
      lowPrice: fmt.price(w.low),
      lastPrice: fmt.price(w.last),
      volume: fmt.qtyWide(w.volume.hi, w.volume.lo),
      quoteVolume: fmt.quoteWide(w.quote.hi, w.quote.lo),
      openTime: scale(w.openMs, unit),
      closeTime: scale(w.closeMs, unit),
      firstId: w.firstId,
      lastId: w.lastId,
      count: w.count,
    };
  }

  /**
   * The trading day's statistics (GET /api/v3/ticker/tradingDay): from 00:00 in the time zone
   * `offsetMinutes` east of UTC, closing at the day's end (its last millisecond).
   */
  tradingDay(symbol: number, nowMs: number, offsetMinutes: number): WindowStats {
    const offset = offsetMinutes * MINUTE;
    const dayStart = Math.floor((nowMs + offset) / 86_400_000) * 86_400_000 - offset;
    const st = this.symbols[symbol]!;
    const w = st.stats(dayStart / MINUTE, Math.floor(nowMs / MINUTE), dayStart + 86_400_000 - 1);
    return w;
  }

  /** One symbol's statistics for the cache (buckets of the last 7 days). */
  state(symbol: number): TickersState {
    const st = this.symbols[symbol]!;
    return {
      buckets: st.rows(),
      lastPrice: st.lastPrice,
      lastLots: st.lastLots,
      lastMs: st.lastMs,
      sent: [...st.sent],
    };
  }

  /** Restores one symbol's statistics from the cache. */
  restore(symbol: number, state: TickersState): void {
    const old = this.symbols[symbol]!;
    const st = new SymbolStats(old.fmt);
    for (const r of state.buckets) st.put(r);
    st.lastPrice = state.lastPrice;
    st.lastLots = state.lastLots;
    st.lastMs = state.lastMs;
    for (const [stream, key] of state.sent) st.sent.set(stream, key);
    this.symbols[symbol] = st;
  }
}

function scale(ms: number, unit: TimeUnit): number {
  return unit === 'MICROSECOND' ? ms * 1000 : ms;
}

/** `<s>@miniTicker` payload. */
export function miniTickerPayload(fmt: MarketFormat, w: WindowStats, nowMs: number): string {
  return `{"e":"24hrMiniTicker","E":${nowMs},"s":"${fmt.symbol}","c":"${fmt.price(w.last)}","o":"${fmt.price(w.open)}","h":"${fmt.price(w.high)}","l":"${fmt.price(w.low)}","v":"${fmt.qtyWide(w.volume.hi, w.volume.lo)}","q":"${fmt.quoteWide(w.quote.hi, w.quote.lo)}"}`;
}

/** `<s>@ticker` payload. */
export function tickerPayload(
  fmt: MarketFormat,
  w: WindowStats,
  best: BestLevels,
  lastLots: number,
  nowMs: number,
): string {
  return `{"e":"24hrTicker","E":${nowMs},"s":"${fmt.symbol}","p":"${fmt.priceChange(w.last - w.open)}","P":"${fmt.percent(w.open, w.last)}","w":"${fmt.weightedAverage(w.quote.hi, w.quote.lo, w.volume.hi, w.volume.lo)}","x":"${fmt.price(w.prevClose)}","c":"${fmt.price(w.last)}","Q":"${fmt.qty(lastLots)}","b":"${fmt.price(best.bidTicks)}","B":"${fmt.qty(best.bidLots)}","a":"${fmt.price(best.askTicks)}","A":"${fmt.qty(best.askLots)}","o":"${fmt.price(w.open)}","h":"${fmt.price(w.high)}","l":"${fmt.price(w.low)}","v":"${fmt.qtyWide(w.volume.hi, w.volume.lo)}","q":"${fmt.quoteWide(w.quote.hi, w.quote.lo)}","O":${w.openMs},"C":${w.closeMs},"F":${w.firstId},"L":${w.lastId},"n":${w.count}}`;
}

/** `<s>@ticker_<window>` payload (`e` is "1hTicker", "4hTicker" or "1dTicker"). */
export function windowTickerPayload(fmt: MarketFormat, event: string, w: WindowStats, nowMs: number): string {
  return `{"e":"${event}","E":${nowMs},"s":"${fmt.symbol}","p":"${fmt.priceChange(w.last - w.open)}","P":"${fmt.percent(w.open, w.last)}","o":"${fmt.price(w.open)}","h":"${fmt.price(w.high)}","l":"${fmt.price(w.low)}","c":"${fmt.price(w.last)}","w":"${fmt.weightedAverage(w.quote.hi, w.quote.lo, w.volume.hi, w.volume.lo)}","v":"${fmt.qtyWide(w.volume.hi, w.volume.lo)}","q":"${fmt.quoteWide(w.quote.hi, w.quote.lo)}","O":${w.openMs},"C":${w.closeMs},"F":${w.firstId},"L":${w.lastId},"n":${w.count}}`;
}
