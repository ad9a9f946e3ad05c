/**
 * The benchmark's workload, after exchange-core's TestOrdersGenerator: a seeded, deterministic
 * stream of GTC and IOC limit orders, market orders, cancels and amends around a fair price
 * that wanders (a random walk of one tick at a time), one stream interleaving every symbol.
 *
 * The generator drives a plain reference book (reference-book.ts) as it goes, so that
 * - every cancel and amend names an order that is open at that moment (no wasted operations),
 * - the book stays near a target depth (`targetOrders` open orders per symbol): GTC orders are
 *   favoured while the book is thin and cancels while it is thick,
 * - every operation carries the filled quantity it must produce (`expectedFill`).
 *
 * Amends are generated only where every engine in the race gives the same result.
 * nodejs-order-book and hft-limit-order-book implement `modify` as cancel + new GTC order at
 * the back of the queue, whatever changed; our engine keeps queue priority when only the
 * quantity goes down. So:
 * - AMEND_PRICE moves the price (optionally lowering the quantity too): every engine takes the
 *   order out, lets it trade at the new price as a taker, and rests the rest at the back of
 *   the new level;
 * - AMEND_QTY lowers the quantity at the same price, only for an order that is already last in
 *   its level's queue, where "keeps its place" and "goes to the back" are the same place.
 *
 * The operations are stored column-wise in typed arrays (engine-neutral); each engine's
 * adapter turns them into its own command or argument objects before anything is timed.
 * Prices are integer ticks and quantities integer lots of BTCUSDT (tick 0.01, lot 0.00001),
 * and every engine gets the same integers.
 */
import { type BookDepth, BUY, ReferenceBook, SELL } from './reference-book.ts';

/** Operation kinds, as stored in `Workload.kind`. */
export const Op = {
  GTC: 1,
  IOC: 2,
  MARKET: 3,
  CANCEL: 4,
  AMEND_PRICE: 5,
  AMEND_QTY: 6,
} as const;
export type Op = (typeof Op)[keyof typeof Op];
export const OP_NAMES: Record<Op, string> = {
  1: 'limit GTC',
  2: 'limit IOC',
  3: 'market',
  4: 'cancel',
  5: 'amend price',
  6: 'amend qty down',
};

export interface WorkloadOptions {
  /** Measured operations (after the prefill). */
  readonly ops: number;
  readonly symbols: number;
  readonly seed: number;
  /** Open orders per symbol the workload steers towards (and prefills). */
  readonly targetOrders: number;
  /** Distinct user ids (self-trade prevention is off; users are spread anyway). */
  readonly users: number;
  /** Starting fair price in ticks (3,000,000 = 30,000.00 USDT). */
  readonly basePriceTicks: number;
}

export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, 'ops' | 'symbols' | 'seed'> = {
  targetOrders: 1000,
  users: 10_000,
  basePriceTicks: 3_000_000,
};

export interface Workload {
  readonly options: WorkloadOptions;
  /** Operations [0, prefill) build the initial books (run untimed); [prefill, length) are measured. */
  readonly prefill: number;
  readonly length: number;
  readonly kind: Uint8Array;
  readonly symbol: Uint8Array;
  /** 0 buy, 1 sell (for cancels and amends: the side of the order named). */
  readonly side: Uint8Array;
  /** Placements: the new order's id. Cancels and amends: the order named. */
  readonly orderId: Float64Array;
  readonly userId: Float64Array;
  /** Limit price in ticks; amends: the new price (AMEND_QTY: the unchanged price). */
  readonly price: Float64Array;
  /** Placements: quantity in lots. Amends: the order's new remaining lots (the peers' `size`). */
  readonly qty: Float64Array;
  /** Amends: the order's new total quantity, filled + new remaining (our engine's `qtyLots`). */
  readonly total: Float64Array;
  /** Lots the operation fills, per the reference book. */
  readonly expectedFill: Float64Array;
  /** Resting liquidity over all symbols after the last operation, per the reference book. */
  readonly finalDepth: BookDepth;
  /** Count of each kind among the measured operations. */
  readonly mix: Record<Op, number>;
  /** Measured operations that filled something. */
  readonly filledOps: number;
}

/** sfc32: a small, fast, seedable PRNG (deterministic across platforms). */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponentially distributed integer with the given mean (floor). */
  expo(mean: number): number {
    return Math.floor(-Math.log(1 - this.next()) * mean);
  }
}

/** Smallest quantity the workload uses: 20 lots x 25,000 USDT clears BTCUSDT's 5 USDT minimum notional. */
const MIN_LOTS = 20;
const TS_BASE = 1_700_000_000_000_000;

export function generateWorkload(opts: WorkloadOptions): Workload {
  const { ops, symbols, targetOrders, users, basePriceTicks } = opts;
  if (symbols < 1 || symbols > 255) throw new Error('symbols must be 1..255');
  const prefill = symbols * targetOrders;
  const n = prefill + ops;
  const kind = new Uint8Array(n);
  const symbol = new Uint8Array(n);
  const side = new Uint8Array(n);
  const orderId = new Float64Array(n);
  const userId = new Float64Array(n);
  const price = new Float64Array(n);
  const qty = new Float64Array(n);
  const total = new Float64Array(n);
  const expectedFill = new Float64Array(n);
  const mix: Record<Op, number> = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };
  let filledOps = 0;

  const rnd = new Random(opts.seed);
  const books = Array.from({ length: symbols }, () => new ReferenceBook());
  const fair = new Array<number>(symbols).fill(basePriceTicks);
  const lowF = Math.round(basePriceTicks * 0.9);
  const highF = Math.round(basePriceTicks * 1.1);
  let nextId = 1;

  const size = (): number => MIN_LOTS + Math.min(rnd.expo(180), 5000);
  const passive = (s: number, f: number): number => (s === BUY ? f - 1 - rnd.expo(10) : f + 1 + rnd.expo(10));

  for (let i = 0; i < n; i++) {
    const sym = i < prefill ? i % symbols : rnd.int(symbols);
    const book = books[sym]!;
    // The fair price wanders a tick at a time, within +-10% of where it started.
    let f = fair[sym]!;
    const w = rnd.next();
    if (w < 0.08 && f < highF) f++;
    else if (w < 0.16 && f > lowF) f--;
    fair[sym] = f;

    symbol[i] = sym;
    const open = book.openOrders;
    let k: Op;
    if (i < prefill) {
      k = Op.GTC;
    } else {
      const r = rnd.next();
      if (r < 0.12) k = Op.IOC;
      else if (r < 0.17) k = Op.MARKET;
      else if (r < 0.32) k = open > 0 ? Op.AMEND_PRICE : Op.GTC;
      else {
        // GTC vs cancel, steering the book towards targetOrders open orders.
        const pGtc = Math.min(0.95, Math.max(0.2, 0.6 + (2 * (targetOrders - open)) / targetOrders));
        k = open === 0 || rnd.next() < pGtc ? Op.GTC : Op.CANCEL;
      }
    }

    if (k === Op.GTC || k === Op.IOC || k === Op.MARKET) {
      const s = rnd.next() < 0.5 ? BUY : SELL;
      const id = nextId++;
      const q = size();
      const u = 1 + rnd.int(users);
      let p = 0;
      if (k === Op.GTC) {
        if (i < prefill || rnd.next() < 0.85) p = passive(s, f);
        else {
          // Marketable: crosses the touch by a few ticks, trades, rests what is left.
          const touch = s === BUY ? book.bestAsk() : book.bestBid();
          const ref = touch === 0 ? f : touch;
          p = s === BUY ? ref + rnd.int(3) : ref - rnd.int(3);
        }
      } else if (k === Op.IOC) {
        const touch = s === BUY ? book.bestAsk() : book.bestBid();
        if (touch === 0 || rnd.next() < 0.1) p = passive(s, f);
        else p = s === BUY ? touch + rnd.int(4) : touch - rnd.int(4);
      }
      side[i] = s;
      orderId[i] = id;
      userId[i] = u;
      price[i] = p;
      qty[i] = q;
      expectedFill[i] = k === Op.MARKET ? book.market(s, q) : book.limit(id, u, s, p, q, k === Op.GTC);
    } else {
      const o = book.live[rnd.int(open)]!;
      side[i] = o.side;
      orderId[i] = o.id;
      userId[i] = o.user;
      if (k === Op.CANCEL) {
        price[i] = o.price;
        qty[i] = o.rem;
        book.cancel(o.id);
      } else {
        // AMEND: a quantity cut in place for the last order of a level, else a price move.
        if (book.isTail(o) && o.rem > MIN_LOTS && rnd.next() < 0.6) {
          k = Op.AMEND_QTY;
          const newRem = MIN_LOTS + rnd.int(o.rem - MIN_LOTS);
          price[i] = o.price;
          qty[i] = newRem;
          total[i] = o.total - (o.rem - newRem);
          book.amendReduce(o.id, newRem);
        } else {
          const step = 1 + rnd.expo(3);
          // Towards the fair price (may cross and trade) or away from it.
          const towards = rnd.next() < 0.5;
          const up = o.side === BUY ? towards : !towards;
          const p = up ? o.price + step : Math.max(1, o.price - step);
          const newRem =
            o.rem > MIN_LOTS && rnd.next() < 0.3 ? MIN_LOTS + rnd.int(o.rem - MIN_LOTS + 1) : o.rem;
          price[i] = p === o.price ? p + 1 : p;
          qty[i] = newRem;
          total[i] = o.total - o.rem + newRem;
          expectedFill[i] = book.amendPrice(o.id, price[i]!, newRem);
        }
      }
    }
    kind[i] = k;
    if (i >= prefill) {
      mix[k]++;
      if (expectedFill[i]! > 0) filledOps++;
    }
  }

  const finalDepth: BookDepth = { bidLevels: 0, askLevels: 0, bidLots: 0, askLots: 0 };
  for (const b of books) {
    const d = b.depth();
    finalDepth.bidLevels += d.bidLevels;
    finalDepth.askLevels += d.askLevels;
    finalDepth.bidLots += d.bidLots;
    finalDepth.askLots += d.askLots;
  }
  return {
    options: opts,
    prefill,
    length: n,
    kind,
    symbol,
    side,
    orderId,
    userId,
    price,
    qty,
    total,
    expectedFill,
    finalDepth,
    mix,
    filledOps,
  };
}

/** Timestamp (µs) carried by operation `i`: the book never reads a clock, the command brings it. */
export function tsOf(i: number): number {
  return TS_BASE + i;
}
