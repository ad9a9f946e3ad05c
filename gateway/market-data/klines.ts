/**
 * Klines (candlesticks) for every Binance interval, built from trades: the `<s>@kline_<i>`
 * stream with the open kline updated live, and REST `klines` / `uiKlines`.
 *
 * Alignment (UTC unless a REST `timeZone` says otherwise): fixed intervals from 1s to 1d and
 * 3d are multiples of their length since the Unix epoch (3d klines open on days 0, 3, 6, ...
 * since 1970-01-01, as Binance's do); weeks open on Monday 00:00; months on the first of the
 * calendar month. A kline closes at the next one's open time minus 1 ms.
 *
 * Stream: a kline changed by trades is sent once per event batch (x: false), and once more
 * with x: true when it closes: as soon as any event stamped after its end arrives (events
 * come in seq order with a monotonic clock, so nothing older can follow), or when the clock
 * passes its end by `closeDelayMillis` on an idle engine. A kline with no trade (after the
 * symbol's first trade) is sent closed with o = h = l = c = the previous close, volumes 0 and
 * f = L = -1, as Binance does. A trade stamped before an already closed kline's end (only
 * possible when the idle-clock close overtook a slow release) updates that kline, which is
 * sent again with x: true.
 *
 * REST fills intervals without trades the same way, from the first kline with trades in
 * reach. Memory keeps the newest `capacity` klines with trades per interval (default 1000,
 * Binance's largest page); older ones are computed from the trade store's trades.
 * `timeZone` shifts the alignment of every interval by the offset (startTime and endTime stay
 * UTC): an interval whose boundaries move is computed from the largest stored interval whose
 * boundaries do not (1d at +08:00 from 1h klines, 1h at +05:45 from 15m klines).
 */
import { ALL_STREAMS, type Interest, type MarketFormat, WideSum } from './numbers.ts';
import type { HistoricTrade, TimeUnit } from './trades.ts';

/** Emits one encoded payload on one stream. */
export type Emit = (stream: string, payload: string) => void;

/** Every Binance kline interval, shortest first. */
export const INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;
/** A Binance kline interval name. */
export type Interval = (typeof INTERVALS)[number];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-05, the first Monday after the epoch. */
const FIRST_MONDAY = 4 * DAY;

/** Length of the fixed intervals (weeks and months are handled apart). */
const LENGTH: Record<Interval, number> = {
  '1s': SECOND,
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '4h': 4 * HOUR,
  '6h': 6 * HOUR,
  '8h': 8 * HOUR,
  '12h': 12 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
  '1w': 7 * DAY,
  '1M': 0,
};

/** True for a Binance interval name (case-sensitive: "1m" is a minute, "1M" a month). */
export function isInterval(s: string): s is Interval {
  return (INTERVALS as readonly string[]).includes(s);
}

/**
 * Open time (UTC ms) of the `interval` kline containing `ms`, with boundaries placed in a
 * time zone `offsetMs` ahead of UTC.
 */
export function klineOpen(interval: Interval, ms: number, offsetMs = 0): number {
  const local = ms + offsetMs;
  if (interval === '1M') {
    const d = new Date(local);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - offsetMs;
  }
  if (interval === '1w') {
    const w = LENGTH['1w'];
    return Math.floor((local - FIRST_MONDAY) / w) * w + FIRST_MONDAY - offsetMs;
  }
  const len = LENGTH[interval];
  return Math.floor(local / len) * len - offsetMs;
}

/** Open time of the kline after the one opening at `openMs`. */
export function nextOpen(interval: Interval, openMs: number, offsetMs = 0): number {
  if (interval === '1M') {
    const d = new Date(openMs + offsetMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - offsetMs;
  }
  return openMs + LENGTH[interval];
}

/** Open time of the kline before the one opening at `openMs`. */
export function previousOpen(interval: Interval, openMs: number, offsetMs = 0): number {
  if (interval === '1M') {
    const d = new Date(openMs + offsetMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1) - offsetMs;
  }
  return openMs - LENGTH[interval];
}

/**
 * Parses Binance's `timeZone` ("0", "8", "-1:00", "+05:45"; strictly -12:00..+14:00) into
 * minutes east of UTC, or null when it is not one.
 */
export function parseTimeZone(text: string): number | null {
  const m = /^([+-]?)(\d{1,2})(?::(\d{2}))?$/.exec(text);
  if (m === null) return null;
  const hours = Number(m[2]);
  const minutes = m[3] === undefined ? 0 : Number(m[3]);
  if (minutes > 59) return null;
  const total = (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
  if (total < -12 * 60 || total > 14 * 60) return null;
  return total;
}

/** One kline: prices in ticks, volumes as exact wide sums (lots, quote units). */
export class Kline {
  /** First and last trade id; -1 for a kline without trades. */
  first = -1;
  last = -1;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  trades = 0;
  readonly volume = new WideSum();
  readonly quoteVolume = new WideSum();
  readonly takerBuyVolume = new WideSum();
  readonly takerBuyQuote = new WideSum();

  constructor(
    /** Open time, UTC ms. */
    readonly openMs: number,
    /** The next kline's open time (close time = this - 1). */
    readonly nextMs: number,
  ) {}

  /** An empty kline at the previous close. */
  static empty(openMs: number, nextMs: number, close: number): Kline {
    const k = new Kline(openMs, nextMs);
    k.open = close;
    k.high = close;
    k.low = close;
    k.close = close;
    return k;
  }

  /** Adds a trade (trades must come in trade id order). */
  add(tradeId: number, price: number, lots: number, quoteUnits: number, takerBuys: boolean): void {
    if (this.trades === 0) {
      this.first = tradeId;
      this.open = price;
      this.high = price;
      this.low = price;
    } else {
      if (price > this.high) this.high = price;
      if (price < this.low) this.low = price;
    }
    this.last = tradeId;
    this.close = price;
    this.trades++;
    this.volume.add(lots);
    this.quoteVolume.add(quoteUnits);
    if (takerBuys) {
      this.takerBuyVolume.add(lots);
      this.takerBuyQuote.add(quoteUnits);
    }
  }

  /** Merges a later kline into this one (for re-aligned intervals). */
  merge(k: Kline): void {
    if (k.trades === 0) return;
    if (this.trades === 0) {
      this.first = k.first;
      this.open = k.open;
      this.high = k.high;
      this.low = k.low;
    } else {
      if (k.high > this.high) this.high = k.high;
      if (k.low < this.low) this.low = k.low;
    }
    this.last = k.last;
    this.close = k.close;
    this.trades += k.trades;
    this.volume.addWide(k.volume.hi, k.volume.lo);
    this.quoteVolume.addWide(k.quoteVolume.hi, k.quoteVolume.lo);
    this.takerBuyVolume.addWide(k.takerBuyVolume.hi, k.takerBuyVolume.lo);
    this.takerBuyQuote.addWide(k.takerBuyQuote.hi, k.takerBuyQuote.lo);
  }

  /** As the cache keeps it. */
  toRow(): KlineRow {
    return [
      this.openMs,
      this.nextMs,
      this.first,
      this.last,
      this.open,
      this.high,
      this.low,
      this.close,
      this.trades,
      this.volume.toJSON(),
      this.quoteVolume.toJSON(),
      this.takerBuyVolume.toJSON(),
      this.takerBuyQuote.toJSON(),
    ];
  }

  static fromRow(r: KlineRow): Kline {
    const k = new Kline(r[0], r[1]);
    k.first = r[2];
    k.last = r[3];
    k.open = r[4];
    k.high = r[5];
    k.low = r[6];
    k.close = r[7];
    k.trades = r[8];
    k.volume.set(r[9][0], r[9][1]);
    k.quoteVolume.set(r[10][0], r[10][1]);
    k.takerBuyVolume.set(r[11][0], r[11][1]);
    k.takerBuyQuote.set(r[12][0], r[12][1]);
    return k;
  }
}

/** A kline as the cache keeps it. */
export type KlineRow = [
  openMs: number,
  nextMs: number,
  first: number,
  last: number,
  open: number,
  high: number,
  low: number,
  close: number,
  trades: number,
  volume: [number, number],
  quoteVolume: [number, number],
  takerBuyVolume: [number, number],
  takerBuyQuote: [number, number],
];

/** A REST kline row: [openTime, o, h, l, c, v, closeTime, q, n, V, Q, "0"]. */
export type RestKline = [
  number,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
  number,
  string,
  string,
  string,
];

/** The `k` object of a kline stream payload, encoded. */
export function klineStreamPayload(
  fmt: MarketFormat,
  interval: Interval,
  k: Kline,
  closed: boolean,
  eventMillis: number,
): string {
  return `{"e":"kline","E":${eventMillis},"s":"${fmt.symbol}","k":{"t":${k.openMs},"T":${k.nextMs - 1},"s":"${fmt.symbol}","i":"${interval}","f":${k.first},"L":${k.last},"o":"${fmt.price(k.open)}","c":"${fmt.price(k.close)}","h":"${fmt.price(k.high)}","l":"${fmt.price(k.low)}","v":"${fmt.qtyWide(k.volume.hi, k.volume.lo)}","n":${k.trades},"x":${closed},"q":"${fmt.quoteWide(k.quoteVolume.hi, k.quoteVolume.lo)}","V":"${fmt.qtyWide(k.takerBuyVolume.hi, k.takerBuyVolume.lo)}","Q":"${fmt.quoteWide(k.takerBuyQuote.hi, k.takerBuyQuote.lo)}","B":"0"}}`;
}

/** A kline as a REST row, times in `unit`. */
export function restKline(fmt: MarketFormat, k: Kline, unit: TimeUnit): RestKline {
  const micros = unit === 'MICROSECOND';
  return [
    micros ? k.openMs * 1000 : k.openMs,
    fmt.price(k.open),
    fmt.price(k.high),
    fmt.price(k.low),
    fmt.price(k.close),
    fmt.qtyWide(k.volume.hi, k.volume.lo),
    micros ? k.nextMs * 1000 - 1 : k.nextMs - 1,
    fmt.quoteWide(k.quoteVolume.hi, k.quoteVolume.lo),
    k.trades,
    fmt.qtyWide(k.takerBuyVolume.hi, k.takerBuyVolume.lo),
    fmt.quoteWide(k.takerBuyQuote.hi, k.takerBuyQuote.lo),
    '0',
  ];
}

/** Fields per kline in a KlineRing. */
const STRIDE = 17;

/**
 * Closed klines, oldest first, in one typed array (17 numbers each): a few hundred bytes
 * less per kline than objects, which matters at 16 intervals x 1000 klines per symbol. Grows
 * by doubling up to `capacity`, then drops the oldest.
 */
class KlineRing {
  private a = new Float64Array(16 * STRIDE);
  private start = 0;
  size = 0;

  constructor(readonly capacity: number) {}

  private slots(): number {
    return this.a.length / STRIDE;
  }

  push(k: Kline): void {
    if (this.size === this.slots() && this.slots() < this.capacity) {
      const n = Math.min(this.capacity, this.slots() * 2);
      const b = new Float64Array(n * STRIDE);
      for (let i = 0; i < this.size; i++) {
        const from = ((this.start + i) % this.slots()) * STRIDE;
        b.set(this.a.subarray(from, from + STRIDE), i * STRIDE);
      }
      this.a = b;
      this.start = 0;
    }
    let at: number;
    if (this.size < this.slots()) {
      at = (this.start + this.size) % this.slots();
      this.size++;
    } else {
      at = this.start;
      this.start = (this.start + 1) % this.slots();
    }
    const r = k.toRow();
    const a = this.a;
    const o = at * STRIDE;
    for (let f = 0; f < 9; f++) a[o + f] = r[f] as number;
    a[o + 9] = r[9][0];
    a[o + 10] = r[9][1];
    a[o + 11] = r[10][0];
    a[o + 12] = r[10][1];
    a[o + 13] = r[11][0];
    a[o + 14] = r[11][1];
    a[o + 15] = r[12][0];
    a[o + 16] = r[12][1];
  }

  /** The `i`-th oldest kline, as an object. */
  get(i: number): Kline {
    const a = this.a;
    const o = ((this.start + i) % this.slots()) * STRIDE;
    return Kline.fromRow([
      a[o]!,
      a[o + 1]!,
      a[o + 2]!,
      a[o + 3]!,
      a[o + 4]!,
      a[o + 5]!,
      a[o + 6]!,
      a[o + 7]!,
      a[o + 8]!,
      [a[o + 9]!, a[o + 10]!],
      [a[o + 11]!, a[o + 12]!],
      [a[o + 13]!, a[o + 14]!],
      [a[o + 15]!, a[o + 16]!],
    ]);
  }

  /** Open time of the `i`-th oldest kline. */
  openAt(i: number): number {
    return this.a[((this.start + i) % this.slots()) * STRIDE]!;
  }

  toArray(): Kline[] {
    const out: Kline[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.get(i));
    return out;
  }

  /** Replaces the content (oldest first; only the newest `capacity` are kept). */
  replace(klines: readonly Kline[]): void {
    this.a = new Float64Array(16 * STRIDE);
    this.start = 0;
    this.size = 0;
    for (const k of klines.slice(-this.capacity)) this.push(k);
  }
}

/** One symbol's klines of one interval: the open kline and the newest closed ones with trades. */
export class KlineSeries {
  /** The kline in progress (null before the symbol's first trade). */
  current: Kline | null = null;
  /** Closed klines with trades, oldest first, at most `capacity`. */
  private readonly closed: KlineRing;
  /** Whether `current` changed since it was last sent. */
  dirty = false;

  constructor(
    readonly interval: Interval,
    readonly capacity: number,
  ) {
    this.closed = new KlineRing(capacity);
  }

  /** Closed klines with trades, oldest first (copies). */
  history(): Kline[] {
    return this.closed.toArray();
  }

  /** Closes the current kline (sent with x: true) when `ms` is past its end; opens the empty one that follows. */
  closeBefore(ms: number, send: (k: Kline, closed: boolean) => void): void {
    const k = this.current;
    if (k === null || ms < k.nextMs) return;
    send(k, true);
    if (k.trades > 0) this.keep(k);
    const open = klineOpen(this.interval, ms);
    this.current = Kline.empty(open, nextOpen(this.interval, open), k.close);
    this.dirty = false;
  }

  private keep(k: Kline): void {
    this.closed.push(k);
  }

  /** Adds a trade stamped `ms` (UTC). */
  add(
    ms: number,
    tradeId: number,
    price: number,
    lots: number,
    quoteUnits: number,
    takerBuys: boolean,
    send: (k: Kline, closed: boolean) => void,
  ): void {
    let k = this.current;
    if (k !== null && ms >= k.nextMs) {
      this.closeBefore(ms, send);
      k = this.current;
    }
    if (k === null) {
      const open = klineOpen(this.interval, ms);
      k = new Kline(open, nextOpen(this.interval, open));
      this.current = k;
    }
    if (ms >= k.openMs) {
      k.add(tradeId, price, lots, quoteUnits, takerBuys);
      this.dirty = true;
      return;
    }
    // A late trade: its kline is closed already. Update (or create) it and send it again
    // (rare: the ring is rebuilt).
    const open = klineOpen(this.interval, ms);
    const list = this.closed.toArray();
    let i = list.length - 1;
    while (i >= 0 && list[i]!.openMs > open) i--;
    let late = i >= 0 ? list[i]! : undefined;
    if (late === undefined || late.openMs !== open) {
      late = new Kline(open, nextOpen(this.interval, open));
      list.splice(i + 1, 0, late);
    }
    late.add(tradeId, price, lots, quoteUnits, takerBuys);
    this.closed.replace(list);
    send(late, true);
  }

  /** The oldest kline held with trades, if any. */
  oldest(): Kline | undefined {
    if (this.closed.size > 0) return this.closed.get(0);
    return this.current !== null && this.current.trades > 0 ? this.current : undefined;
  }

  /** Every kline held with trades (closed and current), oldest first. */
  all(): Kline[] {
    const out = this.closed.toArray();
    if (this.current !== null && this.current.trades > 0) out.push(this.current);
    return out;
  }

  /** As the cache keeps it. */
  state(): { current: KlineRow | null; closed: KlineRow[] } {
    return { current: this.current?.toRow() ?? null, closed: this.closed.toArray().map((k) => k.toRow()) };
  }

  restore(st: { current: KlineRow | null; closed: KlineRow[] }): void {
    this.current = st.current === null ? null : Kline.fromRow(st.current);
    this.closed.replace(st.closed.map((r) => Kline.fromRow(r)));
    this.dirty = false;
  }
}

/** A REST klines query, validated by the caller (times UTC microseconds). */
export interface KlinesQuery {
  readonly interval: Interval;
  readonly startMicros?: number;
  readonly endMicros?: number;
  /** 1..1000 (Binance's default 500). */
  readonly limit: number;
  /** Minutes east of UTC (see parseTimeZone); 0 by default. */
  readonly timeZoneMinutes?: number;
  readonly timeUnit?: TimeUnit;
}

/** Binance's default and largest page of klines. */
export const DEFAULT_KLINES_LIMIT = 500;
export const MAX_KLINES_LIMIT = 1000;

/** Fixed intervals that can serve as a base for re-aligned ones, longest first. */
const BASES: readonly Interval[] = [
  '1d',
  '12h',
  '8h',
  '6h',
  '4h',
  '2h',
  '1h',
  '30m',
  '15m',
  '5m',
  '3m',
  '1m',
];

/** Whether `interval`'s boundaries in a zone `offsetMs` ahead of UTC are UTC boundaries too. */
function sameBoundaries(interval: Interval, offsetMs: number): boolean {
  if (offsetMs === 0) return true;
  if (interval === '1M' || interval === '1w' || interval === '3d') return false;
  return offsetMs % LENGTH[interval] === 0;
}

/** The stored interval to build `interval` from in a zone `offsetMs` ahead of UTC. */
export function baseInterval(interval: Interval, offsetMs: number): Interval {
  if (sameBoundaries(interval, offsetMs)) return interval;
  const span = interval === '1M' || interval === '1w' || interval === '3d' ? DAY : LENGTH[interval];
  for (const b of BASES)
    if (LENGTH[b] <= span && span % LENGTH[b] === 0 && offsetMs % LENGTH[b] === 0) return b;
  return '1m';
}

/** Every interval of every symbol: streams, memory, REST answers. */
export class KlineTracker {
  /** series[symbol][interval index] */
  private readonly series: KlineSeries[][];
  /** senders[symbol][interval index]: emit a kline of that series (made once, not per trade). */
  private readonly senders: ((k: Kline, closed: boolean) => void)[][];
  /** The event time of the payloads being sent. */
  private eventMillis = 0;

  constructor(
    private readonly formats: readonly MarketFormat[],
    private readonly emit: Emit,
    readonly capacity = MAX_KLINES_LIMIT,
    private readonly wants: Interest = ALL_STREAMS,
  ) {
    this.series = formats.map(() => INTERVALS.map((i) => new KlineSeries(i, capacity)));
    this.senders = formats.map((fmt) =>
      INTERVALS.map((interval) => {
        const stream = `${fmt.stream}@kline_${interval}`;
        return (k: Kline, closed: boolean) => {
          if (this.wants(stream))
            this.emit(stream, klineStreamPayload(fmt, interval, k, closed, this.eventMillis));
        };
      }),
    );
  }

  /** One symbol's series of one interval. */
  of(symbol: number, interval: Interval): KlineSeries {
    return this.series[symbol]![INTERVALS.indexOf(interval)]!;
  }

  /** A trade, in stream order. */
  onTrade(
    symbol: number,
    tradeId: number,
    priceTicks: number,
    qtyLots: number,
    tsMicros: number,
    takerBuys: boolean,
    eventMillis: number,
  ): void {
    const all = this.series[symbol];
    if (all === undefined) return;
    const senders = this.senders[symbol]!;
    this.eventMillis = eventMillis;
    const ms = Math.floor(tsMicros / 1000);
    const quote = this.formats[symbol]!.notional(priceTicks, qtyLots);
    for (let i = 0; i < all.length; i++) {
      all[i]!.add(ms, tradeId, priceTicks, qtyLots, quote, takerBuys, senders[i]!);
    }
  }

  /** Sends every kline changed since the last call (x: false): once per event batch. */
  flushUpdates(eventMillis: number): void {
    this.eventMillis = eventMillis;
    for (let sym = 0; sym < this.series.length; sym++) {
      const all = this.series[sym]!;
      for (let i = 0; i < all.length; i++) {
        const s = all[i]!;
        if (!s.dirty || s.current === null) continue;
        s.dirty = false;
        this.senders[sym]![i]!(s.current, false);
      }
    }
  }

  /** Closes (x: true) every kline that ends at or before `ms`. */
  closeBefore(ms: number, eventMillis: number): void {
    this.eventMillis = eventMillis;
    for (let sym = 0; sym < this.series.length; sym++) {
      const all = this.series[sym]!;
      for (let i = 0; i < all.length; i++) {
        const s = all[i]!;
        if (s.current === null || ms < s.current.nextMs) continue;
        s.closeBefore(ms, this.senders[sym]![i]!);
      }
    }
  }

  /**
   * Plans a REST query: which open times it covers, and whether memory reaches back far
   * enough. `older` is the span (UTC ms, inclusive) whose trades must come from the trade
   * store, or null.
   */
  plan(
    symbol: number,
    q: KlinesQuery,
    nowMs: number,
  ): { from: number; to: number; older: [number, number] | null; base: Interval; offsetMs: number } {
    const offsetMs = (q.timeZoneMinutes ?? 0) * MINUTE;
    const base = baseInterval(q.interval, offsetMs);
    const nowOpen = klineOpen(q.interval, nowMs, offsetMs);
    let to =
      q.endMicros === undefined ? nowOpen : klineOpen(q.interval, Math.floor(q.endMicros / 1000), offsetMs);
    if (to > nowOpen) to = nowOpen;
    let from: number;
    if (q.startMicros !== undefined) {
      const startMs = Math.ceil(q.startMicros / 1000);
      const open = klineOpen(q.interval, startMs, offsetMs);
      from = open === startMs ? open : nextOpen(q.interval, open, offsetMs);
    } else {
      from = to;
      for (let n = 1; n < q.limit; n++) from = previousOpen(q.interval, from, offsetMs);
    }
    const oldest = this.of(symbol, base).oldest();
    // Memory answers alone when it reaches back to `from`, or holds the symbol's first trade.
    const covered = oldest !== undefined && (oldest.openMs <= from || oldest.first === 1);
    const older: [number, number] | null =
      covered || from > to
        ? null
        : [from, oldest === undefined ? nextOpen(q.interval, to, offsetMs) - 1 : oldest.openMs - 1];
    return { from, to, older, base, offsetMs };
  }

  /**
   * Answers a REST query from memory plus `olderTrades` (the trades of `plan().older`, when
   * it asked for some): intervals without trades are filled from the previous close.
   */
  answer(
    symbol: number,
    q: KlinesQuery,
    nowMs: number,
    olderTrades: readonly HistoricTrade[] = [],
  ): RestKline[] {
    const fmt = this.formats[symbol]!;
    const { from, to, base, offsetMs } = this.plan(symbol, q, nowMs);
    if (from > to) return [];
    const interval = q.interval;
    const end = nextOpen(interval, to, offsetMs);
    // Buckets by target open time, in time order: the store's trades first (they are older
    // than anything held), then the held base klines.
    const buckets = new Map<number, Kline>();
    const bucket = (ms: number): Kline => {
      const open = klineOpen(interval, ms, offsetMs);
      let k = buckets.get(open);
      if (k === undefined) {
        k = new Kline(open, nextOpen(interval, open, offsetMs));
        buckets.set(open, k);
      }
      return k;
    };
    const held = this.of(symbol, base).all();
    const heldFrom = held[0]?.openMs ?? Number.POSITIVE_INFINITY;
    for (const t of olderTrades) {
      const ms = Math.floor(t.tsMicros / 1000);
      if (ms < from || ms >= end || ms >= heldFrom) continue;
      bucket(ms).add(
        t.tradeId,
        t.priceTicks,
        t.qtyLots,
        fmt.notional(t.priceTicks, t.qtyLots),
        t.takerSide === 'BUY',
      );
    }
    // The close before `from`, when memory has it, starts the filling of empty intervals.
    let previousClose: number | null = null;
    for (const k of held) {
      if (k.openMs < from) {
        previousClose = k.close;
        continue;
      }
      if (k.openMs >= end) break;
      bucket(k.openMs).merge(k);
    }
    const opens = [...buckets.keys()].sort((x, y) => x - y);
    const out: Kline[] = [];
    // From startTime the first `limit` klines count, so filling can stop there; without it
    // the range is `limit` intervals long already.
    const cap = q.startMicros !== undefined ? q.limit : Number.POSITIVE_INFINITY;
    let next = from;
    let close = previousClose;
    for (const open of opens) {
      if (out.length >= cap) break;
      const k = buckets.get(open)!;
      if (k.trades === 0) continue;
      if (close !== null) {
        for (let t = next; t < open && out.length < cap; t = nextOpen(interval, t, offsetMs)) {
          out.push(Kline.empty(t, nextOpen(interval, t, offsetMs), close));
        }
      }
      out.push(k);
      close = k.close;
      next = nextOpen(interval, open, offsetMs);
    }
    if (close !== null) {
      for (let t = next; t <= to && out.length < cap; t = nextOpen(interval, t, offsetMs)) {
        out.push(Kline.empty(t, nextOpen(interval, t, offsetMs), close));
      }
    }
    const page = q.startMicros !== undefined ? out.slice(0, q.limit) : out.slice(-q.limit);
    const unit = q.timeUnit ?? 'MILLISECOND';
    return page.map((k) => restKline(fmt, k, unit));
  }

  /** One symbol's klines for the cache. */
  state(symbol: number): Record<string, { current: KlineRow | null; closed: KlineRow[] }> {
    const out: Record<string, { current: KlineRow | null; closed: KlineRow[] }> = {};
    for (const s of this.series[symbol]!) out[s.interval] = s.state();
    return out;
  }

  /** Restores one symbol's klines from the cache. */
  restore(symbol: number, st: Record<string, { current: KlineRow | null; closed: KlineRow[] }>): void {
    for (const s of this.series[symbol]!) {
      const one = st[s.interval];
      if (one !== undefined) s.restore(one);
    }
  }
}
