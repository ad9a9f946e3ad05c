/**
 * Trades and aggregate trades: the `<s>@trade` and `<s>@aggTrade` streams and a bounded
 * in-memory history behind REST `trades`, `historicalTrades` and `aggTrades`.
 *
 * Trade ids are the engine's: per symbol, gapless from 1. An aggregate groups the trades of
 * one taker order at one price within one command (Binance: "trades that fill at the time,
 * from the same taker order, with the same price"); its id `a` is the id of its first trade,
 * so that any holder of the trades (this memory, the trade store, another gateway started
 * from a cache) numbers aggregates the same way without a counter to carry around. Aggregate
 * ids therefore increase strictly but skip the ids of the other trades they contain.
 *
 * Memory: the newest `capacity` trades per symbol (default 10,000) in typed-array rings that
 * grow on demand; older trades come from the trade store through `TradeHistorySource`.
 */
import { Side } from '../../engine/index.ts';
import { ALL_STREAMS, type Interest, type MarketFormat } from './numbers.ts';

/** Emits one encoded payload on one stream. */
export type Emit = (stream: string, payload: string) => void;

/**
 * A trade as the trade store returns it: the fields market data needs, named as in the
 * accounts room's TradeRecord so that its rows can be passed as they are.
 */
export interface HistoricTrade {
  readonly tradeId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly tsMicros: number;
  readonly takerSide: 'BUY' | 'SELL';
  readonly buyerOrderId: number;
  readonly sellerOrderId: number;
  /** The engine seq of the command that made it. */
  readonly seq: number;
}

/**
 * Where trades older than memory come from (the lead wires the accounts trade store). Times
 * are microseconds since the epoch, bounds inclusive; results ascend by trade id.
 */
export interface TradeHistorySource {
  /** The trades of `symbol` made between the two times. */
  olderTrades(symbol: string, startMicros: number, endMicros: number): Promise<readonly HistoricTrade[]>;
  /** Up to `limit` trades of `symbol` with id >= `fromId`. Without it, memory answers alone. */
  tradesFromId?(symbol: string, fromId: number, limit: number): Promise<readonly HistoricTrade[]>;
}

/** REST `trades` / `historicalTrades` row. */
export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}

/** REST `aggTrades` row. */
export interface RestAggTrade {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}

/** How REST times are written: Binance's default milliseconds, or microseconds (X-MBX-TIME-UNIT). */
export type TimeUnit = 'MILLISECOND' | 'MICROSECOND';

/** Micros -> the unit a response is written in. */
export function timeIn(micros: number, unit: TimeUnit): number {
  return unit === 'MICROSECOND' ? micros : Math.floor(micros / 1000);
}

const FLAG_BUYER_MAKER = 1;
const FLAG_AGG_START = 2;

/** Binance's default and largest page of trades and aggregate trades. */
export const DEFAULT_TRADES_LIMIT = 500;
export const MAX_TRADES_LIMIT = 1000;
/** aggTrades: a time window may span at most one hour. */
export const AGG_WINDOW_MICROS = 3_600_000_000;

/**
 * One symbol's newest trades, oldest first by logical position. Trade ids are consecutive,
 * so the position of an id is a subtraction, and times never go down, so a time is found by
 * binary search.
 */
export class TradeRing {
  private ids: Float64Array;
  private prices: Float64Array;
  private lots: Float64Array;
  private times: Float64Array;
  private flags: Uint8Array;
  /** Index of the oldest trade in the arrays. */
  private start = 0;
  /** Number of trades held. */
  size = 0;

  constructor(
    /** Most trades kept. */
    readonly capacity: number,
    initial = 256,
  ) {
    const n = Math.min(capacity, initial);
    this.ids = new Float64Array(n);
    this.prices = new Float64Array(n);
    this.lots = new Float64Array(n);
    this.times = new Float64Array(n);
    this.flags = new Uint8Array(n);
  }

  /** Appends a trade, dropping the oldest when full. */
  push(id: number, priceTicks: number, qtyLots: number, tsMicros: number, flags: number): void {
    if (this.size === this.ids.length && this.ids.length < this.capacity) this.grow();
    const n = this.ids.length;
    let at: number;
    if (this.size < n) {
      at = (this.start + this.size) % n;
      this.size++;
    } else {
      at = this.start;
      this.start = (this.start + 1) % n;
    }
    this.ids[at] = id;
    this.prices[at] = priceTicks;
    this.lots[at] = qtyLots;
    this.times[at] = tsMicros;
    this.flags[at] = flags;
  }

  private grow(): void {
    const n = Math.min(this.capacity, this.ids.length * 2);
    const unroll = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      for (let k = 0; k < this.size; k++) b[k] = a[(this.start + k) % a.length]!;
      return b;
    };
    this.ids = unroll(this.ids, (k) => new Float64Array(k));
    this.prices = unroll(this.prices, (k) => new Float64Array(k));
    this.lots = unroll(this.lots, (k) => new Float64Array(k));
    this.times = unroll(this.times, (k) => new Float64Array(k));
    this.flags = unroll(this.flags, (k) => new Uint8Array(k));
    this.start = 0;
  }

  private at(pos: number): number {
    return (this.start + pos) % this.ids.length;
  }

  id(pos: number): number {
    return this.ids[this.at(pos)]!;
  }
  price(pos: number): number {
    return this.prices[this.at(pos)]!;
  }
  qty(pos: number): number {
    return this.lots[this.at(pos)]!;
  }
  time(pos: number): number {
    return this.times[this.at(pos)]!;
  }
  flag(pos: number): number {
    return this.flags[this.at(pos)]!;
  }

  /** Id of the oldest trade held (0 when empty). */
  get oldestId(): number {
    return this.size === 0 ? 0 : this.id(0);
  }

  /** Position of trade `id`, or -1 when it is not held. */
  positionOf(id: number): number {
    if (this.size === 0) return -1;
    const pos = id - this.id(0);
    return pos >= 0 && pos < this.size ? pos : -1;
  }

  /** First position whose time is >= `micros` (size when none). */
  firstAtOrAfter(micros: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.time(mid) < micros) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether the trade at `pos` starts an aggregate. */
  startsAggregate(pos: number): boolean {
    return (this.flag(pos) & FLAG_AGG_START) !== 0;
  }

  /** Whether the buyer was the maker of the trade at `pos`. */
  buyerMaker(pos: number): boolean {
    return (this.flag(pos) & FLAG_BUYER_MAKER) !== 0;
  }

  /** The trades held, oldest first, as plain rows (for the cache). */
  rows(): [number, number, number, number, number][] {
    const out: [number, number, number, number, number][] = [];
    for (let p = 0; p < this.size; p++)
      out.push([this.id(p), this.price(p), this.qty(p), this.time(p), this.flag(p)]);
    return out;
  }
}

/** One symbol's trade state as the cache keeps it: [id, priceTicks, lots, tsMicros, flags] rows. */
export interface TradesState {
  readonly trades: [number, number, number, number, number][];
}

/** Per symbol: the ring and the aggregate being built. */
class SymbolTrades {
  readonly ring: TradeRing;
  // The aggregate in progress (first id 0: none).
  aggFirst = 0;
  aggLast = 0;
  aggLots = 0;
  aggPrice = 0;
  aggMicros = 0;
  aggBuyerMaker = false;
  aggSeq = 0;
  aggTaker = 0;

  constructor(
    readonly fmt: MarketFormat,
    capacity: number,
  ) {
    this.ring = new TradeRing(capacity);
  }
}

/** Every symbol's trades: streams, memory, REST answers. */
export class TradeTracker {
  private readonly symbols: SymbolTrades[];

  constructor(
    private readonly formats: readonly MarketFormat[],
    private readonly emit: Emit,
    capacity = 10_000,
    private readonly wants: Interest = ALL_STREAMS,
  ) {
    this.symbols = formats.map((f) => new SymbolTrades(f, capacity));
  }

  /**
   * One trade, in stream order: emits `<s>@trade` and closes the aggregate in progress when
   * this trade does not belong to it (another command, taker order or price).
   */
  onTrade(
    symbol: number,
    tradeId: number,
    priceTicks: number,
    qtyLots: number,
    tsMicros: number,
    takerSide: number,
    takerOrderId: number,
    seq: number,
    eventMillis: number,
  ): void {
    const st = this.symbols[symbol];
    if (st === undefined) return;
    const buyerMaker = takerSide === Side.SELL;
    const continues =
      st.aggFirst !== 0 && st.aggSeq === seq && st.aggTaker === takerOrderId && st.aggPrice === priceTicks;
    if (!continues) {
      this.closeAggregate(symbol, eventMillis);
      st.aggFirst = tradeId;
      st.aggLots = 0;
      st.aggPrice = priceTicks;
      st.aggMicros = tsMicros;
      st.aggBuyerMaker = buyerMaker;
      st.aggSeq = seq;
      st.aggTaker = takerOrderId;
    }
    st.aggLast = tradeId;
    st.aggLots += qtyLots;
    st.ring.push(
      tradeId,
      priceTicks,
      qtyLots,
      tsMicros,
      (buyerMaker ? FLAG_BUYER_MAKER : 0) | (continues ? 0 : FLAG_AGG_START),
    );
    const fmt = st.fmt;
    if (!this.wants(fmt.streams.trade)) return;
    this.emit(
      fmt.streams.trade,
      `{"e":"trade","E":${eventMillis},"s":"${fmt.symbol}","t":${tradeId},"p":"${fmt.price(priceTicks)}","q":"${fmt.qty(qtyLots)}","T":${Math.floor(tsMicros / 1000)},"m":${buyerMaker},"M":true}`,
    );
  }

  /** Emits `<s>@aggTrade` for the aggregate in progress, if any (end of its command). */
  closeAggregate(symbol: number, eventMillis: number): void {
    const st = this.symbols[symbol];
    if (st === undefined || st.aggFirst === 0) return;
    const fmt = st.fmt;
    if (this.wants(fmt.streams.aggTrade)) {
      this.emit(
        fmt.streams.aggTrade,
        `{"e":"aggTrade","E":${eventMillis},"s":"${fmt.symbol}","a":${st.aggFirst},"p":"${fmt.price(st.aggPrice)}","q":"${fmt.qty(st.aggLots)}","f":${st.aggFirst},"l":${st.aggLast},"T":${Math.floor(st.aggMicros / 1000)},"m":${st.aggBuyerMaker},"M":true}`,
      );
    }
    st.aggFirst = 0;
  }

  /** The ring of one symbol (tests, klines and tickers rebuild from it). */
  ring(symbol: number): TradeRing {
    return this.symbols[symbol]!.ring;
  }

  /**
   * REST `trades`: the newest `limit` trades, oldest first; null when memory holds fewer
   * and older ones may exist (the caller asks the trade store), unless `memoryOnly`.
   */
  recent(symbol: number, limit: number, unit: TimeUnit, memoryOnly: boolean): RestTrade[] | null {
    const ring = this.symbols[symbol]!.ring;
    if (!memoryOnly && ring.size < limit && (ring.size === 0 || ring.oldestId > 1)) return null;
    const from = Math.max(0, ring.size - limit);
    return this.rowsFrom(symbol, from, ring.size - from, unit);
  }

  /**
   * REST `historicalTrades` from memory: up to `limit` trades with id >= `fromId`, or null
   * when memory does not reach back to `fromId` (the caller asks the trade store).
   */
  fromId(symbol: number, fromId: number, limit: number, unit: TimeUnit): RestTrade[] | null {
    const ring = this.symbols[symbol]!.ring;
    if (ring.size === 0 || fromId < ring.oldestId) return null;
    const pos = fromId - ring.oldestId;
    if (pos >= ring.size) return [];
    return this.rowsFrom(symbol, pos, Math.min(limit, ring.size - pos), unit);
  }

  private rowsFrom(symbol: number, from: number, count: number, unit: TimeUnit): RestTrade[] {
    const st = this.symbols[symbol]!;
    const ring = st.ring;
    const fmt = st.fmt;
    const out: RestTrade[] = [];
    for (let p = from; p < from + count; p++) {
      const price = ring.price(p);
      const lots = ring.qty(p);
      out.push({
        id: ring.id(p),
        price: fmt.price(price),
        qty: fmt.qty(lots),
        quoteQty: fmt.quote(fmt.notional(price, lots)),
        time: timeIn(ring.time(p), unit),
        isBuyerMaker: ring.buyerMaker(p),
        isBestMatch: true,
      });
    }
    return out;
  }

  /** Store rows -> REST trade rows. */
  restTrades(symbol: number, trades: readonly HistoricTrade[], unit: TimeUnit): RestTrade[] {
    const fmt = this.formats[symbol]!;
    return trades.map((t) => ({
      id: t.tradeId,
      price: fmt.price(t.priceTicks),
      qty: fmt.qty(t.qtyLots),
      quoteQty: fmt.quote(fmt.notional(t.priceTicks, t.qtyLots)),
      time: timeIn(t.tsMicros, unit),
      isBuyerMaker: t.takerSide === 'SELL',
      isBestMatch: true,
    }));
  }

  /**
   * REST `aggTrades` from memory. `query` is one of: the newest (`{}`), from an aggregate id
   * (`fromId`: aggregates with a >= fromId), or a time window (inclusive). Returns null when
   * the answer reaches older than memory holds (the caller asks the trade store).
   */
  aggregates(
    symbol: number,
    query: { fromId?: number; startMicros?: number; endMicros?: number },
    limit: number,
    unit: TimeUnit,
    memoryOnly = false,
  ): RestAggTrade[] | null {
    const st = this.symbols[symbol]!;
    const ring = st.ring;
    if (ring.size === 0) return memoryOnly ? [] : null;
    // The oldest whole aggregate held: one whose first trade was dropped is incomplete.
    let first = 0;
    while (first < ring.size && !ring.startsAggregate(first)) first++;
    // Memory holds everything when it still has the symbol's first trade.
    const complete = ring.oldestId === 1 || memoryOnly;
    if (query.fromId !== undefined) {
      const pos = query.fromId - ring.oldestId;
      if (pos < first && !complete) return null;
      return this.aggsFrom(
        st,
        Math.max(first, Math.min(pos, ring.size)),
        limit,
        Number.POSITIVE_INFINITY,
        unit,
      );
    }
    if (query.startMicros !== undefined || query.endMicros !== undefined) {
      const start = query.startMicros ?? 0;
      const end = query.endMicros ?? Number.POSITIVE_INFINITY;
      // A dropped trade may share the oldest held time: only strictly older times prove coverage.
      if (!complete && (first >= ring.size || ring.time(first) >= start)) return null;
      return this.aggsFrom(st, Math.max(first, ring.firstAtOrAfter(start)), limit, end, unit);
    }
    // The newest `limit` aggregates: walk back over `limit` aggregate starts.
    let pos = ring.size;
    let n = 0;
    while (pos > first && n < limit) {
      pos--;
      if (ring.startsAggregate(pos)) n++;
    }
    if (n < limit && !complete) return null;
    return this.aggsFrom(st, pos, limit, Number.POSITIVE_INFINITY, unit);
  }

  /**
   * The first trade id memory answers for alone: the first trade of its oldest whole
   * aggregate (older trades, and aggregates, come from the store). Infinity when empty.
   */
  memoryFrom(symbol: number): number {
    const ring = this.symbols[symbol]!.ring;
    let first = 0;
    while (first < ring.size && !ring.startsAggregate(first)) first++;
    return first < ring.size ? ring.id(first) : Number.POSITIVE_INFINITY;
  }

  private aggsFrom(
    st: SymbolTrades,
    fromPos: number,
    limit: number,
    endMicros: number,
    unit: TimeUnit,
  ): RestAggTrade[] {
    const ring = st.ring;
    const fmt = st.fmt;
    const out: RestAggTrade[] = [];
    let p = fromPos;
    while (p < ring.size && !ring.startsAggregate(p)) p++;
    while (p < ring.size && out.length < limit) {
      const micros = ring.time(p);
      if (micros > endMicros) break;
      const f = ring.id(p);
      let lots = ring.qty(p);
      let q = p + 1;
      while (q < ring.size && !ring.startsAggregate(q)) lots += ring.qty(q++);
      out.push({
        a: f,
        p: fmt.price(ring.price(p)),
        q: fmt.qty(lots),
        f,
        l: ring.id(q - 1),
        T: timeIn(micros, unit),
        m: ring.buyerMaker(p),
        M: true,
      });
      p = q;
    }
    return out;
  }

  /**
   * Aggregates store rows the same way the stream does (same command, taker order and
   * price), keeping those with a >= fromId (when given) and whose time is in the window.
   */
  aggregateHistoric(
    symbol: number,
    trades: readonly HistoricTrade[],
    limit: number,
    unit: TimeUnit,
    window: { fromId?: number; startMicros?: number; endMicros?: number } = {},
  ): RestAggTrade[] {
    const fmt = this.formats[symbol]!;
    const out: RestAggTrade[] = [];
    let i = 0;
    while (i < trades.length && out.length < limit) {
      const t = trades[i]!;
      const taker = t.takerSide === 'BUY' ? t.buyerOrderId : t.sellerOrderId;
      let lots = t.qtyLots;
      let j = i + 1;
      while (j < trades.length) {
        const u = trades[j]!;
        const uTaker = u.takerSide === 'BUY' ? u.buyerOrderId : u.sellerOrderId;
        if (
          u.seq !== t.seq ||
          uTaker !== taker ||
          u.priceTicks !== t.priceTicks ||
          u.tradeId !== trades[j - 1]!.tradeId + 1
        ) {
          break;
        }
        lots += u.qtyLots;
        j++;
      }
      const inWindow =
        (window.fromId === undefined || t.tradeId >= window.fromId) &&
        (window.startMicros === undefined || t.tsMicros >= window.startMicros) &&
        (window.endMicros === undefined || t.tsMicros <= window.endMicros);
      if (inWindow) {
        out.push({
          a: t.tradeId,
          p: fmt.price(t.priceTicks),
          q: fmt.qty(lots),
          f: t.tradeId,
          l: trades[j - 1]!.tradeId,
          T: timeIn(t.tsMicros, unit),
          m: t.takerSide === 'SELL',
          M: true,
        });
      }
      i = j;
    }
    return out;
  }

  /** One symbol's trades for the cache. */
  state(symbol: number): TradesState {
    return { trades: this.symbols[symbol]!.ring.rows() };
  }

  /** Restores one symbol's trades from the cache (replacing what memory holds). */
  restore(symbol: number, st: TradesState): void {
    const old = this.symbols[symbol]!;
    const fresh = new SymbolTrades(old.fmt, old.ring.capacity);
    for (const [id, p, l, t, f] of st.trades) fresh.ring.push(id, p, l, t, f);
    this.symbols[symbol] = fresh;
  }
}
