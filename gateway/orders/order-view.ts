/**
 * The gateway's in-memory view of orders, fed by the engine's event stream in seq order:
 * every open order, and the most recently closed ones in a bounded LRU (./closed-orders.ts;
 * older ones are the history store's to answer). It answers GET order / openOrders without a
 * database and gives the cancel and amend replies and the execution reports the order details
 * the engine's events do not repeat (type, time in force, quantities so far).
 *
 * Cost: O(1) per event (a cancel-all is one event per order), memory O(open orders +
 * closed capacity). Client order ids are unique among a user's open orders of a symbol (the
 * engine enforces it, as Binance does); for closed orders the most recent one with an id
 * answers, as Binance's GET order by origClientOrderId does.
 *
 * A view started after orders were placed (a gateway restart) knows nothing of them: seed
 * it with `seedOpenOrder` from the engine or the history store before feeding it events.
 */
import {
  decodeEvent,
  type EngineEvent,
  isLastEvent,
  type Market,
  type Markets,
  type RecordViews,
} from '../../engine/index.ts';
import { ClosedOrders } from './closed-orders.ts';
import {
  applyToOrder,
  finishCommand,
  isByQuote,
  isFinalStatus,
  OrderRecord,
  type OrderSnapshot,
} from './order-state.ts';

/** Settings of the view. */
export interface OrderViewOptions {
  /** How many closed orders to keep, least recently used first out (default 100,000). */
  readonly closedCapacity?: number;
}

/** What the order replies need of the view: one order by id or client order id, as it stands. */
export interface OrderLookup {
  /** The order `orderId` of `userId` on `symbolId`, open or recently closed. */
  order(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined;
  /**
   * The same without counting as a use of a closed order (the LRU order stays): for the reply
   * to the command that closed it, which is no later interest in the order.
   */
  peekOrder(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined;
  /** The open order of `userId` on `symbolId` with `clientOrderId`, else the latest closed one. */
  orderByClientOrderId(userId: number, symbolId: number, clientOrderId: string): OrderSnapshot | undefined;
}

const cidKey = (userId: number, symbolId: number, cid: string) => `${userId}|${symbolId}|${cid}`;

/** Open and recently closed orders, kept up to date by the engine's events (see the file header). */
export class OrderView implements OrderLookup {
  /** The markets the view's orders trade on. */
  readonly markets: Markets;
  /** Open orders by symbol, then order id. */
  private readonly open: Map<number, OrderRecord>[];
  /** Open orders by user, then symbol, then order id (insertion order = order id order). */
  private readonly byUser = new Map<number, Map<number, Map<number, OrderRecord>>>();
  private readonly openByCid = new Map<string, OrderRecord>();
  private readonly closed: ClosedOrders;
  /** Orders by quote amount whose command has not been seen to end yet, and that command's seq. */
  private pending: OrderRecord[] = [];
  private pendingSeq = 0;
  private openTotal = 0;
  /** The seq of the last event applied (0 before any). */
  lastSeq = 0;

  constructor(markets: Markets, options: OrderViewOptions = {}) {
    this.markets = markets;
    this.closed = new ClosedOrders(options.closedCapacity ?? 100_000);
    this.open = markets.list.map(() => new Map());
  }

  /** Number of open orders. */
  get openCount(): number {
    return this.openTotal;
  }

  /** Number of closed orders kept. */
  get closedCount(): number {
    return this.closed.size;
  }

  /**
   * Applies one event. `lastOfCommand` marks the last event of its command (the record flag
   * of the stream); without it the view settles a command's open ends when the next
   * command's first event arrives (or on `endCommand`).
   */
  apply(e: EngineEvent, lastOfCommand = false): void {
    if (this.pending.length > 0 && e.seq !== this.pendingSeq) this.endCommand();
    this.lastSeq = e.seq;
    switch (e.kind) {
      case 'OrderAccepted': {
        const m = this.markets.byId(e.symbolId);
        if (m === undefined || this.open[e.symbolId]!.has(e.orderId)) break;
        this.addOpen(OrderRecord.accepted(e));
        break;
      }
      case 'TradeExecuted':
      case 'SelfTradePrevented':
        this.touch(e, e.takerOrderId);
        this.touch(e, e.makerOrderId);
        break;
      case 'OrderCanceled':
      case 'OrderExpired':
      case 'OrderAmended':
        this.touch(e, e.orderId);
        break;
      default:
        // Rejections change no order; funds and settlement events concern no order's state.
        break;
    }
    if (lastOfCommand) this.endCommand();
  }

  /** Applies every event of one command (or of several whole commands), in order. */
  applyCommand(events: readonly EngineEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const next = events[i + 1];
      this.apply(e, next === undefined || next.seq !== e.seq);
    }
  }

  /** Applies `count` binary event records from `from` (the core's event stream as it comes). */
  applyRecords(views: RecordViews, from: number, count: number): void {
    for (let i = from; i < from + count; i++) this.apply(decodeEvent(views, i), isLastEvent(views, i));
  }

  /** Settles what the current command left open (MARKET orders by quote amount). */
  endCommand(): void {
    const pending = this.pending;
    this.pending = [];
    for (const o of pending) {
      finishCommand(o);
      this.close(o);
    }
  }

  /**
   * Settles one order by quote amount before its command's end is seen: the execution
   * reports know, looking ahead in the command, which event is its last.
   */
  finishOrder(symbolId: number, orderId: number): OrderSnapshot | undefined {
    const o = this.open[symbolId]?.get(orderId);
    if (o === undefined) return undefined;
    finishCommand(o);
    if (isFinalStatus(o.status)) this.close(o);
    return o;
  }

  /** Adds an order known from elsewhere (a restart), open as the snapshot says. */
  seedOpenOrder(s: OrderSnapshot): void {
    if (isFinalStatus(s.status) || this.markets.byId(s.symbolId) === undefined) return;
    if (this.open[s.symbolId]!.has(s.orderId)) return;
    this.addOpen(OrderRecord.from(s));
  }

  /** The order `orderId` of `userId` on `symbolId`, open or recently closed. */
  order(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined {
    const o = this.open[symbolId]?.get(orderId);
    if (o === undefined) return this.closed.use(userId, symbolId, orderId);
    return o.userId === userId ? o : undefined;
  }

  /** As `order`, without making a closed order the most recently used (see OrderLookup). */
  peekOrder(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined {
    const o = this.open[symbolId]?.get(orderId) ?? this.closed.get(symbolId, orderId);
    return o !== undefined && o.userId === userId ? o : undefined;
  }

  /** The open order of `userId` on `symbolId` with `clientOrderId`, else the latest closed one. */
  orderByClientOrderId(userId: number, symbolId: number, clientOrderId: string): OrderSnapshot | undefined {
    return (
      this.openByCid.get(cidKey(userId, symbolId, clientOrderId)) ??
      this.closed.useByClientOrderId(userId, symbolId, clientOrderId)
    );
  }

  /** `userId`'s open orders, on one symbol or all, in order id order. */
  openOrders(userId: number, symbolId?: number): OrderSnapshot[] {
    const mine = this.byUser.get(userId);
    if (mine === undefined) return [];
    if (symbolId !== undefined) return [...(mine.get(symbolId)?.values() ?? [])];
    const all: OrderSnapshot[] = [];
    for (const orders of mine.values()) for (const o of orders.values()) all.push(o);
    return all.sort((a, b) => a.orderId - b.orderId);
  }

  /**
   * `userId`'s orders on `symbolId` that the view holds, open and recently closed, in order id
   * order: the newest end of GET allOrders, which the history store may not have written yet.
   */
  recentOrders(userId: number, symbolId: number): OrderSnapshot[] {
    const open = this.byUser.get(userId)?.get(symbolId);
    const all: OrderSnapshot[] = [...(open?.values() ?? []), ...this.closed.recent(userId, symbolId)];
    return all.sort((a, b) => a.orderId - b.orderId);
  }

  /** The market of an order (every order in the view has one). */
  marketOf(o: OrderSnapshot): Market {
    return this.markets.byId(o.symbolId)!;
  }

  private touch(e: EngineEvent, orderId: number): void {
    const symbolId = (e as { symbolId: number }).symbolId;
    const o = this.open[symbolId]?.get(orderId);
    if (o === undefined) return;
    const cidBefore = o.clientOrderId;
    if (!applyToOrder(o, e, this.markets.byId(symbolId)!)) return;
    if (o.clientOrderId !== cidBefore) {
      this.openByCid.delete(cidKey(o.userId, o.symbolId, cidBefore));
      if (o.clientOrderId !== '') this.openByCid.set(cidKey(o.userId, o.symbolId, o.clientOrderId), o);
    }
    if (isFinalStatus(o.status)) this.close(o);
  }

  private addOpen(o: OrderRecord): void {
    this.open[o.symbolId]!.set(o.orderId, o);
    let mine = this.byUser.get(o.userId);
    if (mine === undefined) {
      mine = new Map();
      this.byUser.set(o.userId, mine);
    }
    let onSymbol = mine.get(o.symbolId);
    if (onSymbol === undefined) {
      onSymbol = new Map();
      mine.set(o.symbolId, onSymbol);
    }
    onSymbol.set(o.orderId, o);
    if (o.clientOrderId !== '') this.openByCid.set(cidKey(o.userId, o.symbolId, o.clientOrderId), o);
    this.openTotal++;
    if (isByQuote(o)) {
      this.pending.push(o);
      this.pendingSeq = o.lastSeq;
    }
  }

  private close(o: OrderRecord): void {
    if (this.open[o.symbolId]!.get(o.orderId) !== o) return;
    this.open[o.symbolId]!.delete(o.orderId);
    this.openTotal--;
    if (isByQuote(o)) this.pending = this.pending.filter((p) => p !== o);
    const mine = this.byUser.get(o.userId)!;
    const onSymbol = mine.get(o.symbolId)!;
    onSymbol.delete(o.orderId);
    if (onSymbol.size === 0) mine.delete(o.symbolId);
    if (mine.size === 0) this.byUser.delete(o.userId);
    const key = cidKey(o.userId, o.symbolId, o.clientOrderId);
    if (this.openByCid.get(key) === o) this.openByCid.delete(key);
    this.closed.add(o);
  }
}
