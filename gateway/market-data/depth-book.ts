/**
 * Order book depth, built from the engine's events only: per symbol an L2 book (price level
 * -> total lots, both sides) with Binance's update ids, the diff streams (`<s>@depth`,
 * `<s>@depth@100ms`), the partial book streams (`<s>@depth5|10|20[@100ms]`) and the book
 * ticker (`<s>@bookTicker`).
 *
 * Update ids: each symbol has its own counter, which goes up by exactly 1 for every command
 * that changes that symbol's book (a command that changes nothing, a rejected order, an IOC
 * that finds nothing, leaves it as it is). A diff covers the commands of one flush window:
 * `U` is the id of its first command, `u` of its last, so consecutive diffs of one stream
 * have `U` = previous `u` + 1, and the REST snapshot's `lastUpdateId` is the id of the last
 * command it contains: Binance's local order book algorithm works unchanged.
 *
 * How levels follow from events (the events carry the remaining quantities, so nothing is
 * recomputed): a new order is a taker first and joins the book at the end of its command
 * with what it has left, if its type rests (LIMIT GTC, LIMIT_MAKER); a trade takes its
 * quantity from the maker's level (the trade price is the maker's price); a cancel takes
 * the canceled lots from the order's level; self-trade prevention takes the maker's prevented
 * lots; an amend that keeps priority changes the level by the difference, one that loses it
 * leaves its level and comes back like a new order. Changes are staged during a command and
 * applied at its end, so no snapshot or diff ever shows half a command.
 */
import { OrderIndex, OrderType, type RecordViews, Side, TimeInForce } from '../../engine/index.ts';
import {
  K_ACCEPTED,
  K_AMENDED,
  K_CANCELED,
  K_EXPIRED,
  K_PREVENTED,
  K_TRADE,
  keptPriorityOf,
  orderTypeOf,
  S,
  sideOf,
  slot,
  symbolOf,
  tifOf,
} from './event-fields.ts';
import { ALL_STREAMS, type Interest, type MarketFormat } from './numbers.ts';

/** Where encoded payloads go: the stream name as Binance spells it, and the payload (JSON). */
export type Emit = (stream: string, payload: string) => void;

/** Binance's largest depth snapshot. */
export const MAX_DEPTH_LIMIT = 5000;
/** Binance's default depth snapshot. */
export const DEFAULT_DEPTH_LIMIT = 100;
/** The partial book stream sizes. */
export const PARTIAL_LEVELS = [5, 10, 20] as const;

/** A level as Binance writes it: [price, quantity]. */
export type DepthLevel = [string, string];

/** GET /api/v3/depth's body. */
export interface DepthSnapshot {
  lastUpdateId: number;
  bids: DepthLevel[];
  asks: DepthLevel[];
}

/**
 * One side of one book: levels sorted by key with the best at the end (bids keyed by price,
 * asks by minus the price), so that changes near the top, where most happen, move few
 * elements. Typed arrays, grown by doubling: no allocation per change.
 */
export class PriceLadder {
  private keys: Float64Array;
  private lotsAt: Float64Array;
  /** Number of levels. */
  n = 0;

  constructor(
    /** +1 for bids (key = price), -1 for asks (key = -price). */
    readonly sign: 1 | -1,
    capacity = 64,
  ) {
    this.keys = new Float64Array(capacity);
    this.lotsAt = new Float64Array(capacity);
  }

  /** Index of `key`, or -(insertion point) - 1. */
  private find(key: number): number {
    let lo = 0;
    let hi = this.n - 1;
    const keys = this.keys;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  /** Total lots at `priceTicks` (0 when there is no level). */
  lots(priceTicks: number): number {
    const i = this.find(priceTicks * this.sign);
    return i >= 0 ? this.lotsAt[i]! : 0;
  }

  /**
   * Adds `delta` lots at `priceTicks` (negative to take away); a level that reaches 0 is
   * removed. Throws on a level going negative: the events would be inconsistent, and a
   * book that silently drifts is worse than a stop (crash-only).
   */
  add(priceTicks: number, delta: number): void {
    const key = priceTicks * this.sign;
    const i = this.find(key);
    if (i >= 0) {
      const total = this.lotsAt[i]! + delta;
      if (total > 0) {
        this.lotsAt[i] = total;
        return;
      }
      if (total < 0) throw new Error(`market data invariant: level ${priceTicks} would hold ${total} lots`);
      this.keys.copyWithin(i, i + 1, this.n);
      this.lotsAt.copyWithin(i, i + 1, this.n);
      this.n--;
      return;
    }
    if (delta <= 0) {
      if (delta === 0) return;
      throw new Error(`market data invariant: no level at ${priceTicks} to take ${-delta} lots from`);
    }
    const at = -i - 1;
    if (this.n === this.keys.length) this.grow();
    this.keys.copyWithin(at + 1, at, this.n);
    this.lotsAt.copyWithin(at + 1, at, this.n);
    this.keys[at] = key;
    this.lotsAt[at] = delta;
    this.n++;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const lots = new Float64Array(this.keys.length * 2);
    lots.set(this.lotsAt);
    this.keys = keys;
    this.lotsAt = lots;
  }

  /** Price of the `rank`-th best level (0 = best); callers check rank < n. */
  priceAt(rank: number): number {
    return this.keys[this.n - 1 - rank]! * this.sign;
  }

  /** Lots of the `rank`-th best level. */
  lotsAtRank(rank: number): number {
    return this.lotsAt[this.n - 1 - rank]!;
  }

  /** Best first, as [priceTicks, lots] pairs, up to `limit` levels. */
  levels(limit = Number.MAX_SAFE_INTEGER): [number, number][] {
    const out: [number, number][] = [];
    const k = Math.min(limit, this.n);
    for (let r = 0; r < k; r++) out.push([this.priceAt(r), this.lotsAtRank(r)]);
    return out;
  }

  /** Removes every level. */
  clear(): void {
    this.n = 0;
  }
}

/** A diff stream's pending window: the first update id in it and the levels it touched. */
class DiffWindow {
  /** Update id of the window's first command; 0 when nothing changed yet. */
  first = 0;
  /** Touched levels: +price for bids, -price for asks. */
  readonly touched = new Set<number>();

  clear(): void {
    this.first = 0;
    this.touched.clear();
  }
}

/** One symbol's book. */
export class DepthBook {
  readonly bids = new PriceLadder(1);
  readonly asks = new PriceLadder(-1);
  /** Id of the last command that changed this book (0: none yet). */
  updateId = 0;
  /** `<s>@depth@100ms` and `<s>@depth` windows. */
  readonly w100 = new DiffWindow();
  readonly w1000 = new DiffWindow();
  /** Best levels as last published on `<s>@bookTicker` (NaN: never). */
  bookBidPrice = Number.NaN;
  bookBidLots = Number.NaN;
  bookAskPrice = Number.NaN;
  bookAskLots = Number.NaN;
  /** Partial depth payloads by level count, cached with the update id they show. */
  readonly partialIds = [0, 0, 0];
  readonly partialPayloads = ['', '', ''];
  /** Update id last pushed on the partial streams of the 100 ms and 1000 ms windows. */
  readonly partialSent = [0, 0];

  constructor(readonly fmt: MarketFormat) {}

  /** The ladder of `side`. */
  side(side: number): PriceLadder {
    return side === Side.BUY ? this.bids : this.asks;
  }

  /**
   * GET /api/v3/depth: up to `limit` levels a side (1..5000; Binance returns at most 5000
   * whatever larger limit is asked; the caller validates that limit is a positive integer).
   */
  snapshot(limit = DEFAULT_DEPTH_LIMIT): DepthSnapshot {
    const k = Math.min(Math.max(1, Math.floor(limit)), MAX_DEPTH_LIMIT);
    return {
      lastUpdateId: this.updateId,
      bids: this.formatSide(this.bids, k),
      asks: this.formatSide(this.asks, k),
    };
  }

  private formatSide(ladder: PriceLadder, k: number): DepthLevel[] {
    const n = Math.min(k, ladder.n);
    const out: DepthLevel[] = new Array(n);
    for (let r = 0; r < n; r++)
      out[r] = [this.fmt.price(ladder.priceAt(r)), this.fmt.qty(ladder.lotsAtRank(r))];
    return out;
  }

  /** The JSON of up to `k` levels of a side: `[["p","q"],...]`. */
  private sideJson(ladder: PriceLadder, k: number): string {
    const n = Math.min(k, ladder.n);
    let s = '[';
    for (let r = 0; r < n; r++) {
      if (r > 0) s += ',';
      s += `["${this.fmt.price(ladder.priceAt(r))}","${this.fmt.qty(ladder.lotsAtRank(r))}"]`;
    }
    return `${s}]`;
  }

  /** The `<s>@depth<k>` payload, encoded once per update id. */
  partialPayload(index: number, levels: number): string {
    if (this.partialIds[index] !== this.updateId || this.partialPayloads[index] === '') {
      this.partialIds[index] = this.updateId;
      this.partialPayloads[index] =
        `{"lastUpdateId":${this.updateId},"bids":${this.sideJson(this.bids, levels)},"asks":${this.sideJson(this.asks, levels)}}`;
    }
    return this.partialPayloads[index]!;
  }

  /** The `depthUpdate` payload of a window (which the caller then clears). */
  diffPayload(w: DiffWindow, eventMillis: number): string {
    const bids: number[] = [];
    const asks: number[] = [];
    for (const key of w.touched) {
      if (key > 0) bids.push(key);
      else asks.push(-key);
    }
    bids.sort((x, y) => y - x);
    asks.sort((x, y) => x - y);
    const fmt = this.fmt;
    let b = '[';
    for (let i = 0; i < bids.length; i++) {
      const p = bids[i]!;
      b += `${i > 0 ? ',' : ''}["${fmt.price(p)}","${fmt.qty(this.bids.lots(p))}"]`;
    }
    let a = '[';
    for (let i = 0; i < asks.length; i++) {
      const p = asks[i]!;
      a += `${i > 0 ? ',' : ''}["${fmt.price(p)}","${fmt.qty(this.asks.lots(p))}"]`;
    }
    return `{"e":"depthUpdate","E":${eventMillis},"s":"${fmt.symbol}","U":${w.first},"u":${this.updateId},"b":${b}],"a":${a}]}`;
  }

  /** The `<s>@bookTicker` payload for the current best levels. */
  bookTickerPayload(): string {
    const fmt = this.fmt;
    const hasBid = this.bids.n > 0;
    const hasAsk = this.asks.n > 0;
    return `{"u":${this.updateId},"s":"${fmt.symbol}","b":"${hasBid ? fmt.price(this.bids.priceAt(0)) : fmt.zeroPrice}","B":"${hasBid ? fmt.qty(this.bids.lotsAtRank(0)) : fmt.zeroQty}","a":"${hasAsk ? fmt.price(this.asks.priceAt(0)) : fmt.zeroPrice}","A":"${hasAsk ? fmt.qty(this.asks.lotsAtRank(0)) : fmt.zeroQty}"}`;
  }

  /** GET /api/v3/ticker/bookTicker's object for this symbol. */
  bookTicker(): { symbol: string; bidPrice: string; bidQty: string; askPrice: string; askQty: string } {
    const fmt = this.fmt;
    const hasBid = this.bids.n > 0;
    const hasAsk = this.asks.n > 0;
    return {
      symbol: fmt.symbol,
      bidPrice: hasBid ? fmt.price(this.bids.priceAt(0)) : fmt.zeroPrice,
      bidQty: hasBid ? fmt.qty(this.bids.lotsAtRank(0)) : fmt.zeroQty,
      askPrice: hasAsk ? fmt.price(this.asks.priceAt(0)) : fmt.zeroPrice,
      askQty: hasAsk ? fmt.qty(this.asks.lotsAtRank(0)) : fmt.zeroQty,
    };
  }

  /** True (and remembered) when the best levels differ from what `<s>@bookTicker` last sent. */
  bestChanged(): boolean {
    const bp = this.bids.n > 0 ? this.bids.priceAt(0) : 0;
    const bl = this.bids.n > 0 ? this.bids.lotsAtRank(0) : 0;
    const ap = this.asks.n > 0 ? this.asks.priceAt(0) : 0;
    const al = this.asks.n > 0 ? this.asks.lotsAtRank(0) : 0;
    if (
      bp === this.bookBidPrice &&
      bl === this.bookBidLots &&
      ap === this.bookAskPrice &&
      al === this.bookAskLots
    ) {
      return false;
    }
    this.bookBidPrice = bp;
    this.bookBidLots = bl;
    this.bookAskPrice = ap;
    this.bookAskLots = al;
    return true;
  }
}

/** A symbol's depth state as the cache keeps it (see DepthTracker.state). */
export interface DepthState {
  readonly updateId: number;
  /** [priceTicks, lots], best first. */
  readonly bids: [number, number][];
  readonly asks: [number, number][];
  /** Resting orders: [orderId, side, priceTicks, remainingLots]. */
  readonly orders: [number, number, number, number][];
  /** The pending diff windows: first update id and touched level keys. */
  readonly w100: [number, number[]];
  readonly w1000: [number, number[]];
}

/**
 * Every symbol's depth, maintained from the event stream: open orders (to follow amends),
 * the per-command staging of level changes, update ids, diff windows and the book ticker.
 */
export class DepthTracker {
  readonly books: DepthBook[];
  // Open orders by id: slot arrays (no object per order) with a free list.
  private readonly slotOf = new OrderIndex();
  private oId = new Float64Array(1024);
  private oSymbol = new Uint32Array(1024);
  private oSide = new Uint8Array(1024);
  private oPrice = new Float64Array(1024);
  private oRem = new Float64Array(1024);
  /** 1 when the order's type rests (LIMIT GTC, LIMIT_MAKER). */
  private oRests = new Uint8Array(1024);
  /** 1 while it is on the book (0 while it is a taker in its command). */
  private oOnBook = new Uint8Array(1024);
  private free: number[] = [];
  private used = 0;
  // This command: orders that may rest at its end, and the staged level changes.
  private pending = new Int32Array(16);
  private pendingCount = 0;
  private stSymbol = new Uint32Array(64);
  private stSide = new Uint8Array(64);
  private stPrice = new Float64Array(64);
  private stDelta = new Float64Array(64);
  private staged = 0;
  /** Symbols changed by the current command (scratch). */
  private readonly changed = new Int32Array(64);

  constructor(
    formats: readonly MarketFormat[],
    private readonly emit: Emit,
    private readonly wants: Interest = ALL_STREAMS,
  ) {
    this.books = formats.map((f) => new DepthBook(f));
  }

  /** Applies one book event (record `i` of `v`, kind `kind`); `endCommand` ends its command. */
  apply(v: RecordViews, i: number, kind: number): void {
    switch (kind) {
      case K_ACCEPTED: {
        const type = orderTypeOf(v, i);
        const rests =
          type === OrderType.LIMIT_MAKER || (type === OrderType.LIMIT && tifOf(v, i) === TimeInForce.GTC);
        const s = this.alloc(slot(v, i, S.ORDER));
        this.oSymbol[s] = symbolOf(v, i);
        this.oSide[s] = sideOf(v, i);
        this.oPrice[s] = slot(v, i, S.PRICE);
        this.oRem[s] = slot(v, i, S.QTY);
        this.oRests[s] = rests ? 1 : 0;
        this.oOnBook[s] = 0;
        this.addPending(s);
        return;
      }
      case K_TRADE: {
        const makerSide = 1 - sideOf(v, i);
        this.stage(symbolOf(v, i), makerSide, slot(v, i, S.PRICE), -slot(v, i, S.QTY));
        this.setRemaining(slot(v, i, S.MAKER_ORDER), slot(v, i, S.MAKER_REMAINING));
        const t = this.slotOf.get(slot(v, i, S.ORDER));
        if (t !== -1) this.oRem[t] = slot(v, i, S.TAKER_REMAINING);
        return;
      }
      case K_CANCELED: {
        const id = slot(v, i, S.ORDER);
        const s = this.slotOf.get(id);
        // A canceled order is on the book; one that is not known here (never seen resting)
        // cannot be on it either.
        if (s !== -1 && this.oOnBook[s] === 1) {
          this.stage(symbolOf(v, i), sideOf(v, i), slot(v, i, S.PRICE), -slot(v, i, S.QTY));
          this.release(s);
        }
        return;
      }
      case K_EXPIRED: {
        // Only a taker's remainder expires (IOC, FOK, MARKET): it never reaches the book.
        const s = this.slotOf.get(slot(v, i, S.ORDER));
        if (s !== -1 && this.oOnBook[s] === 0) this.oRem[s] = Math.max(0, this.oRem[s]! - slot(v, i, S.QTY));
        return;
      }
      case K_AMENDED: {
        const s = this.slotOf.get(slot(v, i, S.ORDER));
        if (s === -1) {
          throw new Error(
            `market data invariant: amend of order ${slot(v, i, S.ORDER)} not known to be open`,
          );
        }
        const remaining = slot(v, i, S.AMEND_REMAINING);
        if (keptPriorityOf(v, i)) {
          this.stage(this.oSymbol[s]!, this.oSide[s]!, this.oPrice[s]!, remaining - this.oRem[s]!);
          this.oRem[s] = remaining;
          if (remaining === 0) this.release(s);
          return;
        }
        this.stage(this.oSymbol[s]!, this.oSide[s]!, this.oPrice[s]!, -this.oRem[s]!);
        this.oPrice[s] = slot(v, i, S.PRICE);
        this.oRem[s] = remaining;
        this.oOnBook[s] = 0;
        this.addPending(s);
        return;
      }
      case K_PREVENTED: {
        const t = this.slotOf.get(slot(v, i, S.ORDER));
        if (t === -1) throw new Error('market data invariant: self-trade prevention without its taker');
        const prevented = slot(v, i, S.MAKER_PREVENTED);
        if (prevented > 0) this.stage(this.oSymbol[t]!, 1 - this.oSide[t]!, slot(v, i, S.PRICE), -prevented);
        this.setRemaining(slot(v, i, S.MAKER_ORDER), slot(v, i, S.MAKER_REMAINING));
        this.oRem[t] = slot(v, i, S.TAKER_REMAINING);
        return;
      }
      default:
        return;
    }
  }

  private setRemaining(orderId: number, remaining: number): void {
    const s = this.slotOf.get(orderId);
    if (s === -1) return;
    this.oRem[s] = remaining;
    if (remaining === 0 && this.oOnBook[s] === 1) this.release(s);
  }

  private stage(symbol: number, side: number, price: number, delta: number): void {
    if (delta === 0) return;
    if (this.staged === this.stDelta.length) {
      const n = this.staged * 2;
      const sy = new Uint32Array(n);
      sy.set(this.stSymbol);
      const sd = new Uint8Array(n);
      sd.set(this.stSide);
      const pr = new Float64Array(n);
      pr.set(this.stPrice);
      const de = new Float64Array(n);
      de.set(this.stDelta);
      this.stSymbol = sy;
      this.stSide = sd;
      this.stPrice = pr;
      this.stDelta = de;
    }
    const k = this.staged++;
    this.stSymbol[k] = symbol;
    this.stSide[k] = side;
    this.stPrice[k] = price;
    this.stDelta[k] = delta;
  }

  /**
   * Ends the current command: orders that rest join the book, staged changes are applied,
   * each changed book takes the next update id, and `<s>@bookTicker` goes out when the best
   * levels moved.
   */
  endCommand(): void {
    const pending = this.pending;
    for (let p = 0; p < this.pendingCount; p++) {
      const s = pending[p]!;
      if (this.oRests[s] === 1 && this.oRem[s]! > 0) {
        this.oOnBook[s] = 1;
        this.stage(this.oSymbol[s]!, this.oSide[s]!, this.oPrice[s]!, this.oRem[s]!);
      } else {
        this.release(s);
      }
    }
    this.pendingCount = 0;
    const changed = this.changed;
    let n = 0;
    for (let k = 0; k < this.staged; k++) {
      const symbol = this.stSymbol[k]!;
      const book = this.books[symbol];
      if (book === undefined) continue;
      const side = this.stSide[k]!;
      const price = this.stPrice[k]!;
      book.side(side).add(price, this.stDelta[k]!);
      // Small integers (every price up to 2^30 ticks) hash much faster in a Set than doubles.
      const p = price <= 0x3fffffff ? price | 0 : price;
      const key = side === Side.BUY ? p : -p;
      // Only the 100 ms window is marked here; its levels join the 1 s window when it is
      // flushed (one Set insert per change instead of two).
      book.w100.touched.add(key);
      // A book command concerns one symbol; should one ever touch two, each gets its id.
      let seen = false;
      for (let c = 0; c < n; c++) if (changed[c] === symbol) seen = true;
      if (!seen) changed[n++] = symbol;
    }
    this.staged = 0;
    for (let c = 0; c < n; c++) this.commit(changed[c]!);
  }

  private addPending(s: number): void {
    if (this.pendingCount === this.pending.length) {
      const bigger = new Int32Array(this.pending.length * 2);
      bigger.set(this.pending);
      this.pending = bigger;
    }
    this.pending[this.pendingCount++] = s;
  }

  private commit(symbol: number): void {
    const book = this.books[symbol]!;
    book.updateId++;
    if (book.w100.first === 0) book.w100.first = book.updateId;
    if (book.w1000.first === 0) book.w1000.first = book.updateId;
    const stream = book.fmt.streams.bookTicker;
    if (book.bestChanged() && this.wants(stream)) this.emit(stream, book.bookTickerPayload());
  }

  /** Emits the `depthUpdate` of every book changed in the window and starts a new window. */
  flushDiffs(window: 100 | 1000, eventMillis: number): void {
    for (const book of this.books) {
      if (book.w100.first !== 0) for (const k of book.w100.touched) book.w1000.touched.add(k);
      const w = window === 100 ? book.w100 : book.w1000;
      if (w.first === 0) continue;
      const stream = window === 100 ? book.fmt.streams.depth100 : book.fmt.streams.depth;
      if (this.wants(stream)) this.emit(stream, book.diffPayload(w, eventMillis));
      w.clear();
    }
  }

  /**
   * Emits `<s>@depth5|10|20` (window 1000) or `<s>@depth5|10|20@100ms` (window 100) for every
   * book that has ever had an order. Binance pushes these on every tick whether or not the
   * book changed (the payload is encoded once per update id and reused); with `changedOnly`
   * only books changed since that window's last push are sent.
   */
  flushPartials(window: 100 | 1000, changedOnly: boolean): void {
    for (const book of this.books) {
      if (book.updateId === 0) continue;
      if (changedOnly && book.partialSent[window === 100 ? 0 : 1] === book.updateId) continue;
      book.partialSent[window === 100 ? 0 : 1] = book.updateId;
      const names = window === 100 ? book.fmt.streams.partial100 : book.fmt.streams.partial;
      for (let k = 0; k < PARTIAL_LEVELS.length; k++) {
        const stream = names[k]!;
        if (this.wants(stream)) this.emit(stream, book.partialPayload(k, PARTIAL_LEVELS[k]!));
      }
    }
  }

  private alloc(orderId: number): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.used === this.oId.length) this.growOrders();
      s = this.used++;
    }
    this.oId[s] = orderId;
    this.slotOf.set(orderId, s);
    return s;
  }

  private release(s: number): void {
    const id = this.oId[s]!;
    if (this.slotOf.get(id) !== s) return;
    this.slotOf.delete(id);
    this.oOnBook[s] = 0;
    this.free.push(s);
  }

  private growOrders(): void {
    const n = this.oId.length * 2;
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array): Uint8Array<ArrayBuffer> => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const sym = new Uint32Array(n);
    sym.set(this.oSymbol);
    this.oSymbol = sym;
    this.oId = f64(this.oId);
    this.oPrice = f64(this.oPrice);
    this.oRem = f64(this.oRem);
    this.oSide = u8(this.oSide);
    this.oRests = u8(this.oRests);
    this.oOnBook = u8(this.oOnBook);
  }

  /** Number of open orders followed (for tests and metrics). */
  get openOrders(): number {
    return this.slotOf.count;
  }

  /** One symbol's state, for the cache: levels, resting orders, update id, pending windows. */
  state(symbol: number): DepthState {
    const book = this.books[symbol]!;
    const orders: [number, number, number, number][] = [];
    this.slotOf.forEach((id, s) => {
      if (this.oSymbol[s] === symbol && this.oOnBook[s] === 1) {
        orders.push([id, this.oSide[s]!, this.oPrice[s]!, this.oRem[s]!]);
      }
    });
    orders.sort((x, y) => x[0] - y[0]);
    return {
      updateId: book.updateId,
      bids: book.bids.levels(),
      asks: book.asks.levels(),
      orders,
      w100: [book.w100.first, [...book.w100.touched]],
      w1000: [book.w1000.first, [...new Set([...book.w1000.touched, ...book.w100.touched])]],
    };
  }

  /** Replaces one symbol's state with a cached one (see `state`). */
  restore(symbol: number, st: DepthState): void {
    const book = this.books[symbol]!;
    // Collected first: releasing deletes from the index being walked.
    const held: number[] = [];
    this.slotOf.forEach((_id, s) => {
      if (this.oSymbol[s] === symbol) held.push(s);
    });
    for (const s of held) this.release(s);
    book.bids.clear();
    book.asks.clear();
    for (const [p, l] of st.bids) book.bids.add(p, l);
    for (const [p, l] of st.asks) book.asks.add(p, l);
    book.updateId = st.updateId;
    for (const [id, side, price, rem] of st.orders) {
      const s = this.alloc(id);
      this.oSymbol[s] = symbol;
      this.oSide[s] = side;
      this.oPrice[s] = price;
      this.oRem[s] = rem;
      this.oRests[s] = 1;
      this.oOnBook[s] = 1;
    }
    book.w100.clear();
    book.w1000.clear();
    book.w100.first = st.w100[0];
    for (const k of st.w100[1]) book.w100.touched.add(k);
    book.w1000.first = st.w1000[0];
    for (const k of st.w1000[1]) book.w1000.touched.add(k);
    book.partialIds.fill(0);
    book.partialPayloads.fill('');
    book.bestChanged();
  }
}
