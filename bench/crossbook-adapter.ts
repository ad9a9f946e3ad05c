/**
 * Our engine in the race: one `OrderBook` per symbol, driven through `placeOrder`,
 * `cancelOrder` and `amendOrder` with command objects built once per workload and reused by
 * every pass. Events go to one EventWriter that is reset after every operation (the events
 * are what a consumer would read; the verification pass reads them, the timed passes do not).
 */
import {
  type AmendOrder,
  type CancelOrder,
  CancelRestriction,
  EventKind,
  EventWriter,
  type Market,
  OrderBook,
  OrderType,
  orderId,
  type PlaceOrder,
  RECORD_BYTES,
  resultCodeName,
  Side,
  StpMode,
  seq,
  TimeInForce,
  userId,
} from '../engine/index.ts';
import { BenchFailure, type EngineAdapter } from './adapter.ts';
import type { BookDepth } from './reference-book.ts';
import { Op, tsOf, type Workload } from './workload.ts';

type Command = PlaceOrder | CancelOrder | AmendOrder;

const F64_PER_RECORD = RECORD_BYTES / 8;
const U16_PER_RECORD = RECORD_BYTES / 2;

export class CrossbookAdapter implements EngineAdapter {
  readonly name = 'crossbook';
  private books: OrderBook[] = [];
  private readonly out = new EventWriter(4096);
  private kind: Uint8Array = new Uint8Array(0);
  private symbol: Uint8Array = new Uint8Array(0);
  private cmds: Command[] = [];

  constructor(private readonly markets: readonly Market[]) {}

  prepare(w: Workload): void {
    this.kind = w.kind;
    this.symbol = w.symbol;
    const cmds = new Array<Command>(w.length);
    for (let i = 0; i < w.length; i++) {
      const k = w.kind[i]!;
      // Plain literals with every field written out (no spread), so that all commands of a
      // kind share one hidden class and the book's property loads stay monomorphic.
      const sq = seq(i + 1);
      const ts = tsOf(i);
      const sym = this.markets[w.symbol[i]!]!.symbolId;
      const user = userId(w.userId[i]!);
      if (k === Op.GTC || k === Op.IOC || k === Op.MARKET) {
        const market = k === Op.MARKET;
        cmds[i] = {
          kind: 'PlaceOrder',
          seq: sq,
          tsMicros: ts,
          symbolId: sym,
          userId: user,
          orderId: orderId(w.orderId[i]!),
          side: w.side[i] === 0 ? Side.BUY : Side.SELL,
          orderType: market ? OrderType.MARKET : OrderType.LIMIT,
          timeInForce: market ? TimeInForce.NONE : k === Op.GTC ? TimeInForce.GTC : TimeInForce.IOC,
          stpMode: StpMode.NONE,
          priceTicks: market ? 0 : w.price[i]!,
          qtyLots: w.qty[i]!,
          quoteQtyUnits: 0,
          clientOrderId: '',
        };
      } else if (k === Op.CANCEL) {
        cmds[i] = {
          kind: 'CancelOrder',
          seq: sq,
          tsMicros: ts,
          symbolId: sym,
          userId: user,
          orderId: orderId(w.orderId[i]!),
          clientOrderId: '',
          cancelRestriction: CancelRestriction.NONE,
        };
      } else {
        cmds[i] = {
          kind: 'AmendOrder',
          seq: sq,
          tsMicros: ts,
          symbolId: sym,
          userId: user,
          orderId: orderId(w.orderId[i]!),
          clientOrderId: '',
          // A quantity cut keeps the price (0 = unchanged); a price move names the new price.
          priceTicks: k === Op.AMEND_QTY ? 0 : w.price[i]!,
          qtyLots: w.total[i]!,
          newClientOrderId: '',
        };
      }
    }
    this.cmds = cmds;
  }

  release(): void {
    this.books = [];
    this.cmds = [];
    this.kind = new Uint8Array(0);
    this.symbol = new Uint8Array(0);
  }

  dispose(): void {
    this.books = [];
  }

  reset(): void {
    // Sized for the load (the workload steers towards 1,000 open orders per symbol), so no
    // array grows during a pass.
    this.books = this.markets.map((m) => new OrderBook(m, { initialOrders: 2048 }));
  }

  runRange(from: number, to: number): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const cmds = this.cmds;
    const books = this.books;
    const out = this.out;
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k <= Op.MARKET) book.placeOrder(cmds[i] as PlaceOrder, out);
      else if (k === Op.CANCEL) book.cancelOrder(cmds[i] as CancelOrder, out);
      else book.amendOrder(cmds[i] as AmendOrder, out);
      out.reset();
    }
  }

  runTimed(from: number, to: number, lat: Float64Array): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const cmds = this.cmds;
    const books = this.books;
    const out = this.out;
    let t0 = performance.now();
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k <= Op.MARKET) book.placeOrder(cmds[i] as PlaceOrder, out);
      else if (k === Op.CANCEL) book.cancelOrder(cmds[i] as CancelOrder, out);
      else book.amendOrder(cmds[i] as AmendOrder, out);
      out.reset();
      const t1 = performance.now();
      lat[i - from] = t1 - t0;
      t0 = t1;
    }
  }

  runVerify(from: number, to: number, fills: Float64Array): void {
    const kind = this.kind;
    const symbol = this.symbol;
    const cmds = this.cmds;
    const books = this.books;
    const out = this.out;
    for (let i = from; i < to; i++) {
      const book = books[symbol[i]!]!;
      const k = kind[i]!;
      if (k <= Op.MARKET) book.placeOrder(cmds[i] as PlaceOrder, out);
      else if (k === Op.CANCEL) book.cancelOrder(cmds[i] as CancelOrder, out);
      else book.amendOrder(cmds[i] as AmendOrder, out);
      const { u8, u16, f64 } = out.views;
      let filled = 0;
      for (let e = 0; e < out.count; e++) {
        const ek = u8[e * RECORD_BYTES]!;
        if (ek === EventKind.TradeExecuted) {
          filled += f64[e * F64_PER_RECORD + 7]!;
        } else if (
          ek === EventKind.OrderRejected ||
          ek === EventKind.CancelRejected ||
          ek === EventKind.AmendRejected
        ) {
          const code = u16[e * U16_PER_RECORD + 6]!;
          throw new BenchFailure(`op ${i}: crossbook rejected ${cmds[i]!.kind} with ${resultCodeName(code)}`);
        }
      }
      fills[i] = filled;
      out.reset();
    }
  }

  depth(): BookDepth {
    const d: BookDepth = { bidLevels: 0, askLevels: 0, bidLots: 0, askLots: 0 };
    for (const b of this.books) {
      const l2 = b.l2();
      d.bidLevels += l2.bids.length;
      d.askLevels += l2.asks.length;
      for (const [, lots] of l2.bids) d.bidLots += lots;
      for (const [, lots] of l2.asks) d.askLots += lots;
    }
    return d;
  }
}
