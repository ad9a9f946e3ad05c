/**
 * hft-limit-order-book (npm, v7; the predecessor of nodejs-order-book by the same author) in the race: one `OrderBook` per symbol, its real API for each
 * operation: `limit({ id, side, size, price, timeInForce })` for GTC and IOC, `market({ side,
 * size })`, `cancel(id)`, `modify(id, { price?, size })`. Ids are strings (its API), built
 * once per workload with the argument objects; prices and sizes are the same integer ticks and
 * lots our engine gets. Journaling is off (the default) and no account ids are passed, so its
 * self-trade prevention never applies (ours runs with STP NONE).
 */
import {
  type LimitOrderOptions,
  type MarketOrderOptions,
  OrderBook,
  type OrderUpdatePrice,
  type OrderUpdateSize,
  Side,
} from 'hft-limit-order-book';
import { BenchFailure, type EngineAdapter } from '../adapter.ts';
import type { BookDepth } from '../reference-book.ts';
import { Op, type Workload } from '../workload.ts';

type TimeInForce = NonNullable<LimitOrderOptions['timeInForce']>;
const GTC = 'GTC' as TimeInForce;
const IOC = 'IOC' as TimeInForce;

interface Modify {
  readonly id: string;
  readonly update: OrderUpdatePrice | OrderUpdateSize;
}
type Args = LimitOrderOptions | MarketOrderOptions | string | Modify;

const NAME = 'hft-limit-order-book';

export class HftLimitOrderBookAdapter implements EngineAdapter {
  readonly name = NAME;
  private books: OrderBook[] = [];
  private symbols = 0;
  private kind: Uint8Array = new Uint8Array(0);
  private symbol: Uint8Array = new Uint8Array(0);
  private size: Float64Array = new Float64Array(0);
  private args: Args[] = [];

  prepare(w: Workload): void {
    this.symbols = w.options.symbols;
    this.kind = w.kind;
    this.symbol = w.symbol;
    this.size = w.qty;
    const args = new Array<Args>(w.length);
    for (let i = 0; i < w.length; i++) {
      const k = w.kind[i]!;
      const id = String(w.orderId[i]!);
      const side = w.side[i] === 0 ? Side.BUY : Side.SELL;
      if (k === Op.GTC || k === Op.IOC) {
        args[i] = { id, side, size: w.qty[i]!, price: w.price[i]!, timeInForce: k === Op.GTC ? GTC : IOC };
      } else if (k === Op.MARKET) {
        args[i] = { side, size: w.qty[i]! };
      } else if (k === Op.CANCEL) {
        args[i] = id;
      } else if (k === Op.AMEND_PRICE) {
        args[i] = { id, update: { price: w.price[i]!, size: w.qty[i]! } };
      } else {
        args[i] = { id, update: { size: w.qty[i]! } };
      }
    }
    this.args = args;
  }

  release(): void {
    this.books = [];
    this.args = [];
    this.kind = new Uint8Array(0);
    this.symbol = new Uint8Array(0);
    this.size = new Float64Array(0);
  }

  dispose(): void {
    this.books = [];
  }

  reset(): void {
    this.books = Array.from({ length: this.symbols }, () => new OrderBook());
  }

  runRange(from: number, to: number): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const args = this.args;
    const books = this.books;
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k <= Op.IOC) book.limit(args[i] as LimitOrderOptions);
      else if (k === Op.MARKET) book.market(args[i] as MarketOrderOptions);
      else if (k === Op.CANCEL) book.cancel(args[i] as string);
      else {
        const m = args[i] as Modify;
        book.modify(m.id, m.update);
      }
    }
  }

  runTimed(from: number, to: number, lat: Float64Array): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const args = this.args;
    const books = this.books;
    let t0 = performance.now();
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k <= Op.IOC) book.limit(args[i] as LimitOrderOptions);
      else if (k === Op.MARKET) book.market(args[i] as MarketOrderOptions);
      else if (k === Op.CANCEL) book.cancel(args[i] as string);
      else {
        const m = args[i] as Modify;
        book.modify(m.id, m.update);
      }
      const t1 = performance.now();
      lat[i - from] = t1 - t0;
      t0 = t1;
    }
  }

  runVerify(from: number, to: number, fills: Float64Array): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const args = this.args;
    const books = this.books;
    const size = this.size;
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k === Op.CANCEL) {
        if (book.cancel(args[i] as string) === undefined) {
          throw new BenchFailure(`op ${i}: ${NAME} does not know order ${args[i] as string} to cancel`);
        }
        fills[i] = 0;
        continue;
      }
      let r: ReturnType<OrderBook['limit']>;
      if (k <= Op.IOC) r = book.limit(args[i] as LimitOrderOptions);
      else if (k === Op.MARKET) r = book.market(args[i] as MarketOrderOptions);
      else {
        const m = args[i] as Modify;
        r = book.modify(m.id, m.update);
      }
      if (r.err !== null) throw new BenchFailure(`op ${i}: ${NAME} refused it: ${r.err.message}`);
      fills[i] = size[i]! - r.quantityLeft;
    }
  }

  depth(): BookDepth {
    const d: BookDepth = { bidLevels: 0, askLevels: 0, bidLots: 0, askLots: 0 };
    for (const b of this.books) {
      const [asks, bids] = b.depth();
      d.bidLevels += bids.length;
      d.askLevels += asks.length;
      for (const [, lots] of bids) d.bidLots += lots;
      for (const [, lots] of asks) d.askLots += lots;
    }
    return d;
  }
}
