/**
 * A plain, obviously-correct price-time book used only by the workload generator: it tracks
 * which orders are open (so cancels and amends always name a live order), where each order
 * sits in its level's queue (so quantity reductions are only generated where every engine
 * agrees on the result), and the filled quantity every operation should produce. Speed does
 * not matter here: it runs once, before anything is timed.
 */

export const BUY = 0;
export const SELL = 1;

export interface RefOrder {
  readonly id: number;
  readonly user: number;
  readonly side: number;
  price: number;
  /** Total quantity in lots (what our engine calls qtyLots). */
  total: number;
  /** Remaining (open) lots. */
  rem: number;
  prev: RefOrder | null;
  next: RefOrder | null;
  level: RefLevel | null;
  /** Index in the book's list of live orders (for O(1) random picks and removal). */
  liveIdx: number;
}

interface RefLevel {
  readonly price: number;
  head: RefOrder | null;
  tail: RefOrder | null;
  lots: number;
}

/** Resting liquidity summary, compared across engines at the end of a run. */
export interface BookDepth {
  bidLevels: number;
  askLevels: number;
  bidLots: number;
  askLots: number;
}

export class ReferenceBook {
  /** Per side, level keys ascending with the best at the end (bids: price, asks: -price). */
  private readonly bidKeys: number[] = [];
  private readonly askKeys: number[] = [];
  private readonly bidLevels = new Map<number, RefLevel>();
  private readonly askLevels = new Map<number, RefLevel>();
  private readonly byId = new Map<number, RefOrder>();
  readonly live: RefOrder[] = [];

  private keysOf(side: number): number[] {
    return side === BUY ? this.bidKeys : this.askKeys;
  }

  private levelsOf(side: number): Map<number, RefLevel> {
    return side === BUY ? this.bidLevels : this.askLevels;
  }

  get openOrders(): number {
    return this.live.length;
  }

  bestBid(): number {
    const k = this.keysOf(BUY);
    return k.length === 0 ? 0 : k[k.length - 1]!;
  }

  bestAsk(): number {
    const k = this.keysOf(SELL);
    return k.length === 0 ? 0 : -k[k.length - 1]!;
  }

  order(id: number): RefOrder | undefined {
    return this.byId.get(id);
  }

  /** True when `o` is the last order in its level's queue. */
  isTail(o: RefOrder): boolean {
    return o.level !== null && o.level.tail === o;
  }

  /** A GTC or IOC limit order: matches, then rests (GTC) or expires (IOC). Returns lots filled. */
  limit(id: number, user: number, side: number, price: number, qty: number, rest: boolean): number {
    const filled = this.match(side, price, qty);
    if (rest && filled < qty) this.rest(id, user, side, price, qty, qty - filled);
    return filled;
  }

  /** A market order by base quantity: takes what is there, the rest expires. */
  market(side: number, qty: number): number {
    return this.match(side, 0, qty);
  }

  /** Removes an open order; returns its remaining lots. */
  cancel(id: number): number {
    const o = this.byId.get(id);
    if (o === undefined) throw new Error(`reference book: cancel of unknown order ${id}`);
    const rem = o.rem;
    this.remove(o);
    return rem;
  }

  /**
   * A price change (priority lost): the order leaves the book, trades at its new price as a
   * taker, and the rest joins the back of the new level. `newRem` is its new remaining lots.
   */
  amendPrice(id: number, newPrice: number, newRem: number): number {
    const o = this.byId.get(id);
    if (o === undefined) throw new Error(`reference book: amend of unknown order ${id}`);
    const filledBefore = o.total - o.rem;
    this.remove(o);
    const filled = this.match(o.side, newPrice, newRem);
    if (filled < newRem) {
      this.rest(id, o.user, o.side, newPrice, filledBefore + newRem, newRem - filled);
    }
    return filled;
  }

  /** A quantity reduction in place (the order keeps its queue position). */
  amendReduce(id: number, newRem: number): void {
    const o = this.byId.get(id);
    if (o === undefined || o.level === null) throw new Error(`reference book: amend of unknown order ${id}`);
    if (newRem >= o.rem || newRem < 1)
      throw new Error('reference book: a reduction must lower the remaining');
    o.level.lots -= o.rem - newRem;
    o.total -= o.rem - newRem;
    o.rem = newRem;
  }

  depth(): BookDepth {
    let bidLots = 0;
    let askLots = 0;
    for (const l of this.levelsOf(BUY).values()) bidLots += l.lots;
    for (const l of this.levelsOf(SELL).values()) askLots += l.lots;
    return { bidLevels: this.keysOf(BUY).length, askLevels: this.keysOf(SELL).length, bidLots, askLots };
  }

  private match(side: number, limit: number, qty: number): number {
    const o = 1 - side;
    const keys = this.keysOf(o);
    let left = qty;
    while (left > 0 && keys.length > 0) {
      const key = keys[keys.length - 1]!;
      const price = o === BUY ? key : -key;
      if (limit !== 0 && (side === BUY ? price > limit : price < limit)) break;
      const level = this.levelsOf(o).get(price)!;
      while (left > 0 && level.head !== null) {
        const m = level.head;
        const q = Math.min(left, m.rem);
        left -= q;
        m.rem -= q;
        level.lots -= q;
        if (m.rem === 0) this.remove(m);
      }
    }
    return qty - left;
  }

  private rest(id: number, user: number, side: number, price: number, total: number, rem: number): void {
    const o: RefOrder = {
      id,
      user,
      side,
      price,
      total,
      rem,
      prev: null,
      next: null,
      level: null,
      liveIdx: 0,
    };
    o.liveIdx = this.live.length;
    let level = this.levelsOf(o.side).get(o.price);
    if (level === undefined) {
      level = { price: o.price, head: null, tail: null, lots: 0 };
      this.levelsOf(o.side).set(o.price, level);
      const keys = this.keysOf(o.side);
      const key = o.side === BUY ? o.price : -o.price;
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid]! < key) lo = mid + 1;
        else hi = mid;
      }
      keys.splice(lo, 0, key);
    }
    o.level = level;
    o.prev = level.tail;
    if (level.tail === null) level.head = o;
    else level.tail.next = o;
    level.tail = o;
    level.lots += o.rem;
    this.byId.set(o.id, o);
    this.live.push(o);
  }

  private remove(o: RefOrder): void {
    const level = o.level!;
    level.lots -= o.rem;
    if (o.prev === null) level.head = o.next;
    else o.prev.next = o.next;
    if (o.next === null) level.tail = o.prev;
    else o.next.prev = o.prev;
    o.prev = null;
    o.next = null;
    o.level = null;
    if (level.head === null) {
      this.levelsOf(o.side).delete(level.price);
      const keys = this.keysOf(o.side);
      const key = o.side === BUY ? level.price : -level.price;
      const at = keys.lastIndexOf(key);
      keys.splice(at, 1);
    }
    this.byId.delete(o.id);
    const last = this.live.pop()!;
    if (last !== o) {
      this.live[o.liveIdx] = last;
      last.liveIdx = o.liveIdx;
    }
  }
}
