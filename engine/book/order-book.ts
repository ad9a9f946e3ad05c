/**
 * The order book of one symbol: price-time priority matching, deterministic and
 * allocation-free on the matching path.
 *
 * Layout (struct of arrays, after exchange-core and the LMAX style):
 * - Order slots live in parallel typed arrays indexed by slot number, recycled through a free
 *   list. Each slot is linked into its price level's FIFO queue (`oNext`/`oPrev`) and into its
 *   user's list of open orders (`oUNext`/`oUPrev`), both intrusive, so a cancel by id is O(1):
 *   id -> slot through `OrderIndex`, then unlink.
 * - Price levels are slots too (price, total lots, head, tail, count).
 * - Each side keeps its levels in a sorted array of keys with the best price at the END
 *   (bids by price, asks by -price): the best price is `keys[n - 1]`, consuming the best level
 *   is `n--`, and new levels are mostly inserted near the top, where the shift is short.
 *   L2 queries walk from the end: O(levels asked).
 *
 * The book never reads a clock or does I/O: the timestamp comes with the command, and every
 * id it assigns (trade ids, prevented match ids) comes from its own counters, so the same
 * commands always produce the same events. Events are written as binary records into an
 * EventWriter; nothing is allocated per order or per trade on the matching path (client order
 * ids, when present, are kept as the strings the command carried).
 */

import type { EventWriter } from '../model/codec.ts';
import {
  type AmendOrderFields,
  assertNever,
  type BookCommand,
  type CancelAllOrdersFields,
  type CancelOrderFields,
  type CancelReplaceOrderFields,
  isValidClientOrderId,
  type PlaceOrderFields,
  type Stamped,
} from '../model/commands.ts';
import {
  CancelReason,
  CancelReplaceMode,
  CancelRestriction,
  ExpiryReason,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
} from '../model/enums.ts';
import { EventKind } from '../model/events.ts';
import { isPositiveSafeInteger, type OrderId, type UserId } from '../model/ids.ts';
import type { Market } from '../model/market.ts';
import { ResultCode } from '../model/result-code.ts';
import { DirectOrderIndex, UserSlots } from './order-index.ts';
import { checkOrderShape } from './order-rules.ts';
import { grown } from './typed-arrays.ts';

const NIL = -1;
const BUY = Side.BUY;
/** Entries per side of the price -> level table (a power of two). */
const LEVEL_TABLE = 4096;
const LEVEL_MASK = LEVEL_TABLE - 1;
/** User ids below this index the per-user list heads directly (at most 4 MB per book). */
const DIRECT_USERS = 1 << 20;

/** An open order as the book holds it (for queries, tests and snapshots). */
export interface RestingOrder {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly stpMode: StpMode;
  readonly priceTicks: number;
  /** Total quantity (after any amend). */
  readonly qtyLots: number;
  readonly remainingLots: number;
  readonly clientOrderId: string;
  /** When the order was accepted (or last lost priority). */
  readonly tsMicros: number;
}

/** One price level with its orders in time priority. */
export interface L3Level {
  readonly priceTicks: number;
  readonly totalLots: number;
  readonly orders: readonly RestingOrder[];
}

/** The full book: each side best price first, each level oldest order first. */
export interface L3 {
  readonly bids: readonly L3Level[];
  readonly asks: readonly L3Level[];
}

/** An L2 level: [priceTicks, totalLots]. */
export type L2Level = readonly [priceTicks: number, totalLots: number];

/** Everything needed to rebuild a book exactly (orders in priority order, id counters). */
export interface BookState {
  readonly symbol: string;
  readonly nextTradeId: number;
  readonly nextPreventedMatchId: number;
  readonly bids: readonly RestingOrder[];
  readonly asks: readonly RestingOrder[];
}

/** Options of a book. */
export interface OrderBookOptions {
  /** Initial order slots (the arrays grow by doubling). Default 1024. */
  readonly initialOrders?: number;
  /** Most open orders the book will hold; placements beyond are rejected BOOK_CAPACITY. Default 16M. */
  readonly maxOrders?: number;
}

export class OrderBook {
  readonly market: Market;
  private readonly symbolId: number;
  private readonly mult: number;
  private readonly maxOrders: number;

  // --- order slots ---------------------------------------------------------------------
  private oCap: number;
  private oHigh = 0;
  private oFree = NIL;
  private oId: Float64Array;
  private oUser: Float64Array;
  private oPrice: Float64Array;
  private oQty: Float64Array;
  private oRem: Float64Array;
  private oTs: Float64Array;
  private oSide: Uint8Array;
  private oType: Uint8Array;
  private oStp: Uint8Array;
  private oNext: Int32Array;
  private oPrev: Int32Array;
  private oLevel: Int32Array;
  private oUNext: Int32Array;
  private oUPrev: Int32Array;
  /**
   * Where the head of the order's user list lives: `u >= 0` is `userHead[u]` (the user id
   * itself, for ids below DIRECT_USERS), `u < 0` is `hashedHead[~u]` (a dense slot from `users`).
   */
  private oUSlot: Int32Array;
  private oCid: string[];
  private openCount = 0;

  // --- level slots ---------------------------------------------------------------------
  private lCap: number;
  private lHigh = 0;
  private lFree = NIL;
  private lPrice: Float64Array;
  private lTotal: Float64Array;
  private lHead: Int32Array;
  private lTail: Int32Array;
  private lCount: Int32Array;

  // --- per-side ladders: keys ascending, best at the end ---------------------------------
  private ladKeys: [Float64Array, Float64Array];
  private ladLv: [Int32Array, Int32Array];
  private readonly ladN = new Int32Array(2);
  /**
   * Per side, existing levels by price: entry `price & LEVEL_MASK` holds the level at that
   * price, or another live level of the side, or NIL. A hit is one load and one compare;
   * a miss (or a collision) falls back to the binary search over the ladder.
   */
  private readonly levelAt: [Int32Array, Int32Array] = [
    new Int32Array(LEVEL_TABLE).fill(NIL),
    new Int32Array(LEVEL_TABLE).fill(NIL),
  ];

  // --- lookups -----------------------------------------------------------------------------
  private readonly index: DirectOrderIndex;
  /**
   * First order slot of each user's open orders (NIL when none), indexed by the user id
   * itself for ids below DIRECT_USERS (no hashing on the hot path; grows by doubling up to
   * the highest such id seen) ...
   */
  private userHead = new Int32Array(1024).fill(NIL);
  /** ... and for larger ids, by a dense slot that `users` assigns (kept once assigned). */
  private readonly users = new UserSlots();
  private hashedHead = new Int32Array(16).fill(NIL);
  /** userId -> clientOrderId -> slot, for open orders that have a client order id. */
  private readonly cids = new Map<number, Map<string, number>>();

  private nextTradeId = 1;
  private nextPreventedMatchId = 1;

  // --- results of match(), kept in fields so the hot path returns nothing it must allocate -
  private mRem = 0;
  private mQuote = 0;
  private mFilled = 0;
  private mStopped = false;

  constructor(market: Market, options: OrderBookOptions = {}) {
    this.market = market;
    this.symbolId = market.symbolId;
    this.mult = market.quoteUnitsPerTickLot;
    this.maxOrders = options.maxOrders ?? 16_777_216;
    const n = Math.max(16, options.initialOrders ?? 1024);
    this.oCap = n;
    this.oId = new Float64Array(n);
    this.oUser = new Float64Array(n);
    this.oPrice = new Float64Array(n);
    this.oQty = new Float64Array(n);
    this.oRem = new Float64Array(n);
    this.oTs = new Float64Array(n);
    this.oSide = new Uint8Array(n);
    this.oType = new Uint8Array(n);
    this.oStp = new Uint8Array(n);
    this.oNext = new Int32Array(n);
    this.oPrev = new Int32Array(n);
    this.oLevel = new Int32Array(n);
    this.oUNext = new Int32Array(n);
    this.oUPrev = new Int32Array(n);
    this.oUSlot = new Int32Array(n);
    this.oCid = new Array<string>(n).fill('');
    const l = 256;
    this.lCap = l;
    this.lPrice = new Float64Array(l);
    this.lTotal = new Float64Array(l);
    this.lHead = new Int32Array(l);
    this.lTail = new Int32Array(l);
    this.lCount = new Int32Array(l);
    this.ladKeys = [new Float64Array(l), new Float64Array(l)];
    this.ladLv = [new Int32Array(l), new Int32Array(l)];
    this.index = new DirectOrderIndex(n);
  }

  // =========================================================================================
  // Commands

  /** Executes any book command, writing its events (at least one) to `out`. */
  execute(cmd: BookCommand, out: EventWriter): void {
    switch (cmd.kind) {
      case 'PlaceOrder':
        this.placeOrder(cmd, out);
        return;
      case 'CancelOrder':
        this.cancelOrder(cmd, out);
        return;
      case 'CancelAllOrders':
        this.cancelAllOrders(cmd, out);
        return;
      case 'AmendOrder':
        this.amendOrder(cmd, out);
        return;
      case 'CancelReplaceOrder':
        this.cancelReplaceOrder(cmd, out);
        return;
      default:
        assertNever(cmd);
    }
  }

  /** Places a new order: validates, matches what it can, rests or expires the rest. */
  placeOrder(c: PlaceOrderFields, out: EventWriter): void {
    out.beginCommand(c);
    const code = this.validatePlace(c);
    if (code !== ResultCode.OK) {
      out.reject(EventKind.OrderRejected, c.userId, c.orderId, c.side, c.orderType, code, c.clientOrderId);
      return;
    }
    const stp = c.stpMode === StpMode.DEFAULT ? this.market.defaultStpMode : c.stpMode;
    const side = c.side;
    out.accepted(
      c.userId,
      c.orderId,
      side,
      c.orderType,
      c.timeInForce,
      stp,
      c.priceTicks,
      c.qtyLots,
      c.quoteQtyUnits,
      c.clientOrderId,
    );
    if (c.orderType === OrderType.LIMIT_MAKER) {
      const s = this.rest(
        c.orderId,
        c.userId,
        side,
        c.orderType,
        stp,
        c.priceTicks,
        c.qtyLots,
        c.qtyLots,
        c.clientOrderId,
      );
      this.oTs[s] = c.tsMicros;
      return;
    }
    if (c.orderType === OrderType.MARKET) {
      this.marketOrder(c, side, stp, out);
      return;
    }
    // LIMIT
    if (
      c.timeInForce === TimeInForce.FOK &&
      !this.canFillCompletely(side, c.priceTicks, c.qtyLots, c.userId, stp)
    ) {
      out.expired(c.userId, c.orderId, side, c.qtyLots, 0, ExpiryReason.FOK);
      return;
    }
    this.matchLimit(side, c.userId, c.orderId, c.priceTicks, c.qtyLots, stp, out);
    if (this.mStopped || this.mRem === 0) return;
    if (c.timeInForce === TimeInForce.GTC) {
      const s = this.rest(
        c.orderId,
        c.userId,
        side,
        c.orderType,
        stp,
        c.priceTicks,
        c.qtyLots,
        this.mRem,
        c.clientOrderId,
      );
      this.oTs[s] = c.tsMicros;
    } else {
      out.expired(c.userId, c.orderId, side, this.mRem, 0, ExpiryReason.IOC);
    }
  }

  /**
   * A MARKET order, by quantity or by quote amount, within risk's budget when one is stamped:
   * a BUY by quantity spends at most `budgetUnits` quote units, a SELL by quote amount sells
   * at most `budgetUnits` base units. What the book or the budget cannot fill expires.
   */
  private marketOrder(c: PlaceOrderFields, side: Side, stp: number, out: EventWriter): void {
    const budget = c.budgetUnits ?? 0;
    const byQuote = c.quoteQtyUnits > 0;
    // A SELL by quantity needs no cap: risk held exactly its quantity.
    const lots = !byQuote
      ? c.qtyLots
      : side === Side.SELL && budget > 0
        ? Math.floor(budget / this.market.baseUnitsPerLot)
        : Number.MAX_SAFE_INTEGER;
    const quote = byQuote ? c.quoteQtyUnits : side === BUY ? budget : 0;
    this.match(side, c.userId, c.orderId, 0, lots, quote, byQuote, stp, out);
    if (this.mStopped) return;
    const bookEmpty = this.ladN[1 - side] === 0;
    if (byQuote) {
      if (this.mQuote > 0 && (bookEmpty || this.mFilled === 0 || this.mRem === 0)) {
        const reason = this.mRem === 0 ? ExpiryReason.FUNDS_EXHAUSTED : ExpiryReason.MARKET_NO_LIQUIDITY;
        out.expired(c.userId, c.orderId, side, 0, this.mQuote, reason);
      }
    } else if (this.mRem > 0) {
      const reason = bookEmpty ? ExpiryReason.MARKET_NO_LIQUIDITY : ExpiryReason.FUNDS_EXHAUSTED;
      out.expired(c.userId, c.orderId, side, this.mRem, 0, reason);
    }
  }

  /** Cancels one open order of the user, by order id and/or client order id. */
  cancelOrder(c: CancelOrderFields, out: EventWriter): void {
    out.beginCommand(c);
    const found = this.findForCancel(c, c.orderId, c.clientOrderId, c.cancelRestriction);
    if (found < 0) {
      out.reject(EventKind.CancelRejected, c.userId, c.orderId, 0, 0, -found, c.clientOrderId);
      return;
    }
    this.cancelSlot(found, CancelReason.USER, out);
  }

  /** Cancels every open order of the user on this symbol, in order id order. */
  cancelAllOrders(c: CancelAllOrdersFields, out: EventWriter): void {
    out.beginCommand(c);
    const code = this.validateStamped(c);
    if (code !== ResultCode.OK) {
      out.reject(EventKind.CancelRejected, c.userId, 0, 0, 0, code, '');
      return;
    }
    const slots = this.userSlots(c.userId);
    if (slots.length === 0) {
      out.reject(EventKind.CancelRejected, c.userId, 0, 0, 0, ResultCode.NO_OPEN_ORDERS, '');
      return;
    }
    for (const s of slots) this.cancelSlot(s, CancelReason.CANCEL_ALL, out);
  }

  /**
   * Amends an open order. Quantity down at the same price keeps its place in the queue;
   * a price change or a quantity increase moves it to the back of its (new) level, and if the
   * new price crosses the book it trades first, as a taker. A LIMIT_MAKER amend that would
   * take is rejected and the order left as it was.
   */
  amendOrder(c: AmendOrderFields, out: EventWriter): void {
    out.beginCommand(c);
    const s = this.findForCancel(c, c.orderId, c.clientOrderId, CancelRestriction.NONE);
    const code = s < 0 ? -s : this.validateAmend(c, s);
    if (code !== ResultCode.OK) {
      out.reject(EventKind.AmendRejected, c.userId, c.orderId, 0, 0, code, c.clientOrderId);
      return;
    }
    const side = this.oSide[s]! as Side;
    const oldPrice = this.oPrice[s]!;
    const price = c.priceTicks === 0 ? oldPrice : c.priceTicks;
    const qty = c.qtyLots;
    const filled = this.oQty[s]! - this.oRem[s]!;
    const oldCid = this.oCid[s]!;
    const newCid = c.newClientOrderId;
    const remaining = qty - filled;
    const cid = newCid === '' ? oldCid : newCid;
    if (price === oldPrice && qty <= this.oQty[s]!) {
      // In place: only the quantity goes down (or nothing changes); the queue position holds.
      this.lTotal[this.oLevel[s]!]! -= this.oRem[s]! - remaining;
      this.oQty[s] = qty;
      this.oRem[s] = remaining;
      if (cid !== oldCid) this.setCid(s, c.userId, oldCid, cid);
      out.amended(c.userId, this.oId[s]!, side, price, qty, remaining, true, cid);
      return;
    }
    const type = this.oType[s]! as OrderType;
    // Losing priority means re-entering matching, which a halted market does not allow.
    const refused = !this.market.trading
      ? ResultCode.MARKET_NOT_TRADING
      : type === OrderType.LIMIT_MAKER && this.crosses(side, price)
        ? ResultCode.AMEND_WOULD_TAKE
        : ResultCode.OK;
    if (refused !== ResultCode.OK) {
      out.reject(EventKind.AmendRejected, c.userId, c.orderId, 0, 0, refused, c.clientOrderId);
      return;
    }
    // Priority is lost: take the order out, let it match at its new price, rest the rest.
    const id = this.oId[s]! as OrderId;
    const user = c.userId;
    const stp = this.oStp[s]! as StpMode;
    this.removeFromBook(s);
    out.amended(user, id, side, price, qty, remaining, false, cid);
    this.matchLimit(side, user, id, price, remaining, stp, out);
    if (this.mStopped || this.mRem === 0) return;
    const rested = this.rest(id, user, side, type, stp, price, qty, this.mRem, cid);
    this.oTs[rested] = c.tsMicros;
  }

  /**
   * Cancels one order and places another, as one command. With STOP_ON_FAILURE a failed
   * cancel leaves the new order unattempted (rejected CANCEL_REPLACE_NOT_ATTEMPTED); with
   * ALLOW_FAILURE the new order is placed regardless.
   */
  cancelReplaceOrder(c: CancelReplaceOrderFields, out: EventWriter): void {
    out.beginCommand(c);
    if (
      c.cancelReplaceMode !== CancelReplaceMode.STOP_ON_FAILURE &&
      c.cancelReplaceMode !== CancelReplaceMode.ALLOW_FAILURE
    ) {
      out.reject(
        EventKind.CancelRejected,
        c.userId,
        c.cancelOrderId,
        0,
        0,
        ResultCode.INVALID_CANCEL_REPLACE_MODE,
        c.cancelClientOrderId,
      );
      out.reject(
        EventKind.OrderRejected,
        c.userId,
        c.orderId,
        c.side,
        c.orderType,
        ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED,
        c.clientOrderId,
      );
      return;
    }
    const found = this.findForCancel(c, c.cancelOrderId, c.cancelClientOrderId, c.cancelRestriction);
    if (found < 0) {
      out.reject(EventKind.CancelRejected, c.userId, c.cancelOrderId, 0, 0, -found, c.cancelClientOrderId);
      if (c.cancelReplaceMode === CancelReplaceMode.STOP_ON_FAILURE) {
        out.reject(
          EventKind.OrderRejected,
          c.userId,
          c.orderId,
          c.side,
          c.orderType,
          ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED,
          c.clientOrderId,
        );
        return;
      }
    } else {
      this.cancelSlot(found, CancelReason.CANCEL_REPLACE, out);
    }
    this.placeOrder(c, out);
  }

  // =========================================================================================
  // Queries

  /** Best bid in ticks, or 0 when there is none. */
  bestBidTicks(): number {
    const n = this.ladN[Side.BUY]!;
    return n === 0 ? 0 : this.ladKeys[Side.BUY][n - 1]!;
  }

  /** Best ask in ticks, or 0 when there is none. */
  bestAskTicks(): number {
    const n = this.ladN[Side.SELL]!;
    return n === 0 ? 0 : -this.ladKeys[Side.SELL][n - 1]!;
  }

  /** Number of price levels on a side. */
  levelCount(side: Side): number {
    return this.ladN[side]!;
  }

  /** Number of open orders. */
  get orderCount(): number {
    return this.openCount;
  }

  /** The symbol's next trade id (trade ids are gapless from 1). */
  get tradeIdCounter(): number {
    return this.nextTradeId;
  }

  /**
   * Copies up to `maxLevels` levels of `side`, best first, into the caller's arrays and
   * returns how many it copied: O(levels asked), no allocation.
   */
  depthInto(side: Side, maxLevels: number, prices: Float64Array, lots: Float64Array): number {
    const n = this.ladN[side]!;
    const lv = this.ladLv[side];
    const k = Math.min(maxLevels, n, prices.length, lots.length);
    for (let i = 0; i < k; i++) {
      const level = lv[n - 1 - i]!;
      prices[i] = this.lPrice[level]!;
      lots[i] = this.lTotal[level]!;
    }
    return k;
  }

  /** Up to `maxLevels` levels per side, best first, as [priceTicks, totalLots] pairs. */
  l2(maxLevels = Number.MAX_SAFE_INTEGER): { bids: L2Level[]; asks: L2Level[] } {
    const side = (s: Side): L2Level[] => {
      const n = this.ladN[s]!;
      const out: L2Level[] = [];
      for (let i = n - 1; i >= 0 && out.length < maxLevels; i--) {
        const level = this.ladLv[s][i]!;
        out.push([this.lPrice[level]!, this.lTotal[level]!]);
      }
      return out;
    };
    return { bids: side(Side.BUY), asks: side(Side.SELL) };
  }

  /** The whole book, every order, in priority order. */
  l3(): L3 {
    const side = (s: Side): L3Level[] => {
      const levels: L3Level[] = [];
      for (let i = this.ladN[s]! - 1; i >= 0; i--) {
        const level = this.ladLv[s][i]!;
        const orders: RestingOrder[] = [];
        for (let o = this.lHead[level]!; o !== NIL; o = this.oNext[o]!) orders.push(this.describe(o));
        levels.push({ priceTicks: this.lPrice[level]!, totalLots: this.lTotal[level]!, orders });
      }
      return levels;
    };
    return { bids: side(Side.BUY), asks: side(Side.SELL) };
  }

  /** An open order by id, if it is open and belongs to `user` (when given). */
  openOrder(id: number, user?: number): RestingOrder | undefined {
    const s = this.index.get(id);
    if (s === NIL || (user !== undefined && this.oUser[s] !== user)) return undefined;
    return this.describe(s);
  }

  /** A user's open orders on this symbol, in order id order. */
  openOrdersOf(user: number): RestingOrder[] {
    return this.userSlots(user).map((s) => this.describe(s));
  }

  /**
   * The slots of a user's open orders in order id order: a canonical order that does not
   * depend on the history of the book, so a restored book behaves exactly as the original.
   */
  private userSlots(user: number): number[] {
    const slots: number[] = [];
    for (let s = this.firstOrderOf(user); s !== NIL; s = this.oUNext[s]!) slots.push(s);
    return slots.sort((a, b) => this.oId[a]! - this.oId[b]!);
  }

  /** Everything needed to rebuild this book (see `OrderBook.restore`). */
  exportState(): BookState {
    const l3 = this.l3();
    return {
      symbol: this.market.symbol,
      nextTradeId: this.nextTradeId,
      nextPreventedMatchId: this.nextPreventedMatchId,
      bids: l3.bids.flatMap((l) => l.orders),
      asks: l3.asks.flatMap((l) => l.orders),
    };
  }

  /** Rebuilds a book from `exportState()` output: same orders, same priority, same counters. */
  static restore(market: Market, state: BookState, options: OrderBookOptions = {}): OrderBook {
    if (state.symbol !== market.symbol)
      throw new Error(`book state is for ${state.symbol}, not ${market.symbol}`);
    const book = new OrderBook(market, {
      ...options,
      initialOrders: Math.max(options.initialOrders ?? 0, state.bids.length + state.asks.length),
    });
    book.nextTradeId = state.nextTradeId;
    book.nextPreventedMatchId = state.nextPreventedMatchId;
    for (const o of [...state.bids, ...state.asks]) {
      const s = book.rest(
        o.orderId,
        o.userId,
        o.side,
        o.orderType,
        o.stpMode,
        o.priceTicks,
        o.qtyLots,
        o.remainingLots,
        o.clientOrderId,
      );
      book.oTs[s] = o.tsMicros;
    }
    return book;
  }

  // =========================================================================================
  // Matching

  /**
   * Matches an incoming order against the opposite side, best price first, oldest order
   * first, at the makers' prices. `limit` 0 means no price limit (MARKET). The taker trades
   * at most `lots` lots and, when `quote` > 0, at most `quote` quote units: for an order by
   * quote amount (`byQuote`) the quote is its target and `lots` a cap (the base risk held for
   * a SELL, else unlimited); for an order by quantity `quote` is risk's spending cap on a
   * MARKET BUY (0: none). Results land in mRem (lots left), mQuote (quote left), mFilled
   * (lots filled) and mStopped (self-trade prevention expired the taker).
   */
  private match(
    side: Side,
    user: number,
    orderId: number,
    limit: number,
    lots: number,
    quote: number,
    byQuote: boolean,
    stp: number,
    out: EventWriter,
  ): void {
    const o = (1 - side) as Side;
    const capped = quote > 0;
    const mult = this.mult;
    const lPrice = this.lPrice;
    const lTotal = this.lTotal;
    const oNext = this.oNext;
    const oRem = this.oRem;
    const oUser = this.oUser;
    const oId = this.oId;
    let rem = lots;
    let filled = 0;
    let stopped = false;
    let pos = this.ladN[o]! - 1;
    while (pos >= 0 && rem > 0 && (!capped || quote > 0)) {
      const lv = this.ladLv[o][pos]!;
      const price = lPrice[lv]!;
      if (limit !== 0 && (side === BUY ? price > limit : price < limit)) break;
      const cost = price * mult;
      let want = rem;
      if (capped) {
        const affordable = Math.floor(quote / cost);
        if (affordable < want) want = affordable;
      }
      let m = this.lHead[lv]!;
      while (m !== NIL && want > 0) {
        const next = oNext[m]!;
        const makerRem = oRem[m]!;
        if (stp !== StpMode.NONE && oUser[m] === user) {
          // Self-trade prevention: the taker's mode decides (Binance semantics).
          const pmId = this.nextPreventedMatchId++;
          const makerId = oId[m]!;
          if (stp === StpMode.DECREMENT) {
            const d = Math.min(want, makerRem);
            rem -= d;
            if (byQuote) quote -= d * cost;
            // The prevented lots leave the order but spend nothing: what it may still take
            // here is bounded by what is left of it and, when capped, by what it can afford.
            want = capped ? Math.min(rem, Math.floor(quote / cost)) : rem;
            oRem[m] = makerRem - d;
            lTotal[lv]! -= d;
            out.prevented(pmId, stp, price, user, orderId, d, byQuote ? 0 : rem, makerId, d, makerRem - d);
            if (makerRem === d) this.removeFilled(m, lv);
            if (!byQuote && rem === 0) stopped = true;
          } else {
            const expireTaker = stp === StpMode.EXPIRE_TAKER || stp === StpMode.EXPIRE_BOTH;
            const expireMaker = stp === StpMode.EXPIRE_MAKER || stp === StpMode.EXPIRE_BOTH;
            // Binance's takerPreventedQuantity: the taker's whole remainder (an order by quote
            // amount has none in lots: what it could still buy here stands in).
            const takerPrevented = expireTaker ? (byQuote ? want : rem) : 0;
            const makerPrevented = expireMaker ? makerRem : 0;
            if (expireMaker) {
              oRem[m] = 0;
              lTotal[lv]! -= makerRem;
            }
            out.prevented(
              pmId,
              stp,
              price,
              user,
              orderId,
              takerPrevented,
              expireTaker || byQuote ? 0 : rem,
              makerId,
              makerPrevented,
              makerRem - makerPrevented,
            );
            if (expireMaker) this.removeFilled(m, lv);
            if (expireTaker) {
              stopped = true;
              want = 0;
              rem = 0;
            }
          }
          m = next;
          continue;
        }
        const q = Math.min(want, makerRem);
        want -= q;
        rem -= q;
        filled += q;
        if (capped) quote -= q * cost;
        oRem[m] = makerRem - q;
        lTotal[lv]! -= q;
        out.traded(
          this.nextTradeId++,
          price,
          q,
          side,
          user,
          orderId,
          byQuote ? 0 : rem,
          oUser[m]!,
          oId[m]!,
          makerRem - q,
        );
        if (makerRem === q) this.removeFilled(m, lv);
        m = next;
      }
      const emptied = this.lCount[lv] === 0;
      if (emptied) this.removeLevelAt(o, pos, lv);
      if (stopped) break;
      // A level that still has quantity but that the taker can no longer trade with ends the
      // match: going on to a worse price would trade through it.
      if (want === 0 && !emptied) break;
      pos--;
    }
    this.mRem = rem;
    this.mQuote = capped ? quote : 0;
    this.mFilled = filled;
    this.mStopped = stopped;
  }

  /**
   * `match` for a limit order by quantity with no quote cap; an order that does not cross
   * the book (most do not) skips the call: nothing trades, everything remains.
   */
  private matchLimit(
    side: Side,
    user: number,
    orderId: number,
    limit: number,
    lots: number,
    stp: number,
    out: EventWriter,
  ): void {
    if (this.crosses(side, limit)) {
      this.match(side, user, orderId, limit, lots, 0, false, stp, out);
      return;
    }
    this.mRem = lots;
    this.mQuote = 0;
    this.mFilled = 0;
    this.mStopped = false;
  }

  /**
   * FOK feasibility, checked before any trade: can `lots` fill completely at `limit` or
   * better? Under self-trade prevention an own order on the way either vanishes
   * (EXPIRE_MAKER) or ends the taker's fill (the other modes), exactly as matching would.
   */
  private canFillCompletely(side: Side, limit: number, lots: number, user: number, stp: number): boolean {
    const o = (1 - side) as Side;
    const perOrder = stp !== StpMode.NONE && this.firstOrderOf(user) !== NIL;
    let need = lots;
    for (let pos = this.ladN[o]! - 1; pos >= 0; pos--) {
      const lv = this.ladLv[o][pos]!;
      const price = this.lPrice[lv]!;
      if (side === BUY ? price > limit : price < limit) return false;
      if (!perOrder) {
        need -= this.lTotal[lv]!;
        if (need <= 0) return true;
        continue;
      }
      for (let m = this.lHead[lv]!; m !== NIL; m = this.oNext[m]!) {
        if (this.oUser[m] === user) {
          if (stp === StpMode.EXPIRE_MAKER) continue;
          return false;
        }
        need -= this.oRem[m]!;
        if (need <= 0) return true;
      }
    }
    return false;
  }

  /** True when a limit order at `price` on `side` would trade on arrival. */
  private crosses(side: Side, price: number): boolean {
    if (side === BUY) {
      const ask = this.bestAskTicks();
      return ask !== 0 && ask <= price;
    }
    const bid = this.bestBidTicks();
    return bid !== 0 && bid >= price;
  }

  // =========================================================================================
  // Validation

  private validateStamped(c: Stamped): number {
    if (c.symbolId !== this.symbolId) return ResultCode.UNKNOWN_SYMBOL;
    if (!isPositiveSafeInteger(c.userId)) return ResultCode.INVALID_USER_ID;
    if (!Number.isSafeInteger(c.tsMicros) || c.tsMicros < 0) return ResultCode.INVALID_TIMESTAMP;
    return ResultCode.OK;
  }

  private validatePlace(c: PlaceOrderFields): number {
    const stamped = this.validateStamped(c);
    if (stamped !== ResultCode.OK) return stamped;
    const shape = checkOrderShape(this.market, c);
    if (shape !== ResultCode.OK) return shape;
    if (this.index.get(c.orderId) !== NIL) return ResultCode.DUPLICATE_ORDER_ID;
    if (c.clientOrderId !== '' && this.cids.get(c.userId)?.has(c.clientOrderId) === true) {
      return ResultCode.DUPLICATE_CLIENT_ORDER_ID;
    }
    // Only an order that may rest needs a slot: GTC limits and post-only orders.
    const mayRest =
      c.orderType === OrderType.LIMIT_MAKER ||
      (c.orderType === OrderType.LIMIT && c.timeInForce === TimeInForce.GTC);
    if (mayRest && this.openCount >= this.maxOrders) return ResultCode.BOOK_CAPACITY;
    if (c.orderType === OrderType.LIMIT_MAKER && this.crosses(c.side, c.priceTicks))
      return ResultCode.WOULD_TAKE;
    return ResultCode.OK;
  }

  /** Checks an amend of the open order in slot `s` against the market's filters. */
  private validateAmend(c: AmendOrderFields, s: number): number {
    const m = this.market;
    const price = c.priceTicks === 0 ? this.oPrice[s]! : c.priceTicks;
    const qty = c.qtyLots;
    if (!Number.isSafeInteger(price) || price < 0) return ResultCode.PRICE_NOT_INTEGER;
    if (price < m.minPriceTicks) return ResultCode.PRICE_BELOW_MIN;
    if (price > m.maxPriceTicks) return ResultCode.PRICE_ABOVE_MAX;
    if (!Number.isSafeInteger(qty) || qty < 0) return ResultCode.QTY_NOT_INTEGER;
    if (qty < m.minQtyLots) return ResultCode.QTY_BELOW_MIN;
    if (qty > m.maxQtyLots) return ResultCode.QTY_ABOVE_MAX;
    const notional = price * qty * this.mult;
    if (notional < m.minNotionalUnits) return ResultCode.NOTIONAL_BELOW_MIN;
    if (notional > m.maxNotionalUnits) return ResultCode.NOTIONAL_ABOVE_MAX;
    if (qty <= this.oQty[s]! - this.oRem[s]!) return ResultCode.AMEND_QTY_NOT_ABOVE_FILLED;
    const newCid = c.newClientOrderId;
    if (newCid !== '' && newCid !== this.oCid[s]) {
      if (!isValidClientOrderId(newCid)) return ResultCode.INVALID_CLIENT_ORDER_ID;
      if (this.cids.get(c.userId)?.has(newCid) === true) return ResultCode.DUPLICATE_CLIENT_ORDER_ID;
    }
    return ResultCode.OK;
  }

  /**
   * Finds the user's open order named by id and/or client order id and checks the cancel
   * restriction. Returns the slot, or the negated result code. Another user's order is
   * reported as unknown: its existence is not revealed.
   */
  private findForCancel(c: Stamped, id: number, cid: string, restriction: number): number {
    const stamped = this.validateStamped(c);
    if (stamped !== ResultCode.OK) return -stamped;
    if (
      restriction !== CancelRestriction.NONE &&
      restriction !== CancelRestriction.ONLY_NEW &&
      restriction !== CancelRestriction.ONLY_PARTIALLY_FILLED
    ) {
      return -ResultCode.INVALID_CANCEL_RESTRICTION;
    }
    let s = NIL;
    if (id !== 0) {
      if (!isPositiveSafeInteger(id)) return -ResultCode.INVALID_ORDER_ID;
      s = this.index.get(id);
      if (s === NIL || this.oUser[s] !== c.userId) return -ResultCode.UNKNOWN_ORDER;
      if (cid !== '' && this.oCid[s] !== cid) return -ResultCode.UNKNOWN_ORDER;
    } else if (cid !== '') {
      if (!isValidClientOrderId(cid)) return -ResultCode.INVALID_CLIENT_ORDER_ID;
      s = this.cids.get(c.userId)?.get(cid) ?? NIL;
      if (s === NIL) return -ResultCode.UNKNOWN_ORDER;
    } else {
      return -ResultCode.MISSING_ORDER_REFERENCE;
    }
    const filled = this.oQty[s]! - this.oRem[s]!;
    if (restriction === CancelRestriction.ONLY_NEW && filled !== 0) return -ResultCode.CANCEL_RESTRICTED;
    if (restriction === CancelRestriction.ONLY_PARTIALLY_FILLED && filled === 0)
      return -ResultCode.CANCEL_RESTRICTED;
    return s;
  }

  // =========================================================================================
  // Storage

  private cancelSlot(s: number, reason: number, out: EventWriter): void {
    out.canceled(
      this.oUser[s]!,
      this.oId[s]!,
      this.oSide[s]!,
      this.oPrice[s]!,
      this.oRem[s]!,
      this.oQty[s]! - this.oRem[s]!,
      reason,
      this.oCid[s]!,
    );
    this.removeFromBook(s);
  }

  /** Takes an open order out of its level (and the level out of the ladder if emptied). */
  private removeFromBook(s: number): void {
    const lv = this.oLevel[s]!;
    const side = this.oSide[s]! as Side;
    this.lTotal[lv]! -= this.oRem[s]!;
    this.unlinkAndFree(s, lv);
    if (this.lCount[lv] === 0) this.removeLevelAt(side, this.ladderPos(side, this.lPrice[lv]!), lv);
  }

  /** A maker whose remaining reached 0 during matching (the caller adjusted the level total). */
  private removeFilled(s: number, lv: number): void {
    this.unlinkAndFree(s, lv);
  }

  private unlinkAndFree(s: number, lv: number): void {
    const prev = this.oPrev[s]!;
    const next = this.oNext[s]!;
    if (prev === NIL) this.lHead[lv] = next;
    else this.oNext[prev] = next;
    if (next === NIL) this.lTail[lv] = prev;
    else this.oPrev[next] = prev;
    this.lCount[lv]!--;
    const uPrev = this.oUPrev[s]!;
    const uNext = this.oUNext[s]!;
    if (uPrev === NIL) {
      const u = this.oUSlot[s]!;
      if (u >= 0) this.userHead[u] = uNext;
      else this.hashedHead[~u] = uNext;
    } else this.oUNext[uPrev] = uNext;
    if (uNext !== NIL) this.oUPrev[uNext] = uPrev;
    const cid = this.oCid[s]!;
    if (cid !== '') {
      this.cids.get(this.oUser[s]!)?.delete(cid);
      this.oCid[s] = '';
    }
    this.index.delete(this.oId[s]!);
    this.oNext[s] = this.oFree;
    this.oFree = s;
    this.openCount--;
  }

  private setCid(s: number, user: number, oldCid: string, cid: string): void {
    let map = this.cids.get(user);
    if (oldCid !== '') map?.delete(oldCid);
    if (cid !== '') {
      if (map === undefined) {
        map = new Map();
        this.cids.set(user, map);
      }
      map.set(cid, s);
    }
    this.oCid[s] = cid;
  }

  /** Puts an order at the back of its price level's queue. */
  private rest(
    id: number,
    user: number,
    side: Side,
    type: number,
    stp: number,
    price: number,
    qty: number,
    remaining: number,
    cid: string,
  ): number {
    const s = this.allocOrder();
    this.oId[s] = id;
    this.oUser[s] = user;
    this.oSide[s] = side;
    this.oType[s] = type;
    this.oStp[s] = stp;
    this.oPrice[s] = price;
    this.oQty[s] = qty;
    this.oRem[s] = remaining;
    this.oCid[s] = '';
    if (cid !== '') this.setCid(s, user, '', cid);
    const lv = this.levelFor(side, price);
    const tail = this.lTail[lv]!;
    this.oPrev[s] = tail;
    this.oNext[s] = NIL;
    if (tail === NIL) this.lHead[lv] = s;
    else this.oNext[tail] = s;
    this.lTail[lv] = s;
    this.lCount[lv]!++;
    this.lTotal[lv]! += remaining;
    this.oLevel[s] = lv;
    const u = user < this.userHead.length ? user : this.userKey(user);
    let head: number;
    if (u >= 0) {
      head = this.userHead[u]!;
      this.userHead[u] = s;
    } else {
      head = this.hashedHead[~u]!;
      this.hashedHead[~u] = s;
    }
    this.oUSlot[s] = u;
    this.oUPrev[s] = NIL;
    this.oUNext[s] = head;
    if (head !== NIL) this.oUPrev[head] = s;
    this.index.set(id, s);
    this.openCount++;
    return s;
  }

  /**
   * The `oUSlot` value of a user id (a positive safe integer) not below `userHead.length`:
   * grows `userHead` for an id below DIRECT_USERS, else assigns or finds a hashed slot.
   */
  private userKey(user: number): number {
    if (user < DIRECT_USERS) {
      let n = this.userHead.length;
      while (n <= user) n *= 2;
      const heads = new Int32Array(n).fill(NIL);
      heads.set(this.userHead);
      this.userHead = heads;
      return user;
    }
    const slot = this.users.slotOf(user);
    if (slot >= this.hashedHead.length) {
      const heads = new Int32Array(this.hashedHead.length * 2).fill(NIL);
      heads.set(this.hashedHead);
      this.hashedHead = heads;
    }
    return ~slot;
  }

  /** The first order slot of a user's open orders, or NIL. */
  private firstOrderOf(user: number): number {
    if (user < this.userHead.length) return Number.isInteger(user) && user >= 0 ? this.userHead[user]! : NIL;
    if (user < DIRECT_USERS) return NIL;
    const slot = this.users.get(user);
    return slot < 0 ? NIL : this.hashedHead[slot]!;
  }

  private allocOrder(): number {
    if (this.oFree !== NIL) {
      const s = this.oFree;
      this.oFree = this.oNext[s]!;
      return s;
    }
    if (this.oHigh === this.oCap) this.growOrders();
    return this.oHigh++;
  }

  private growOrders(): void {
    const n = this.oCap * 2;
    this.oId = grown(this.oId, n);
    this.oUser = grown(this.oUser, n);
    this.oPrice = grown(this.oPrice, n);
    this.oQty = grown(this.oQty, n);
    this.oRem = grown(this.oRem, n);
    this.oTs = grown(this.oTs, n);
    this.oSide = grown(this.oSide, n);
    this.oType = grown(this.oType, n);
    this.oStp = grown(this.oStp, n);
    this.oNext = grown(this.oNext, n);
    this.oPrev = grown(this.oPrev, n);
    this.oLevel = grown(this.oLevel, n);
    this.oUNext = grown(this.oUNext, n);
    this.oUPrev = grown(this.oUPrev, n);
    this.oUSlot = grown(this.oUSlot, n);
    for (let i = this.oCap; i < n; i++) this.oCid.push('');
    this.oCap = n;
  }

  /** Position of `price` in the side's ladder (it must be there). */
  private ladderPos(side: Side, price: number): number {
    const key = side === BUY ? price : -price;
    const keys = this.ladKeys[side];
    let lo = 0;
    let hi = this.ladN[side]! - 1;
    if (hi >= 0 && keys[hi] === key) return hi;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`order book invariant: no ${side === BUY ? 'bid' : 'ask'} level at ${price}`);
  }

  /** The level at `price` on `side`, created (and inserted in the ladder) if missing. */
  private levelFor(side: Side, price: number): number {
    const table = this.levelAt[side];
    const h = price & LEVEL_MASK;
    const hit = table[h]!;
    if (hit !== NIL && this.lPrice[hit] === price) return hit;
    const key = side === BUY ? price : -price;
    const n = this.ladN[side]!;
    let keys = this.ladKeys[side];
    // Binary search for the first key >= `key`, starting from the top where most activity is.
    let lo = 0;
    let hi = n;
    if (n > 0 && keys[n - 1]! < key) lo = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && keys[lo] === key) {
      const found = this.ladLv[side][lo]!;
      if (hit === NIL) table[h] = found;
      return found;
    }
    if (n === keys.length) {
      this.growLadder(side);
      keys = this.ladKeys[side];
    }
    const lvs = this.ladLv[side];
    keys.copyWithin(lo + 1, lo, n);
    lvs.copyWithin(lo + 1, lo, n);
    const lv = this.allocLevel();
    keys[lo] = key;
    lvs[lo] = lv;
    this.ladN[side] = n + 1;
    this.lPrice[lv] = price;
    this.lTotal[lv] = 0;
    this.lHead[lv] = NIL;
    this.lTail[lv] = NIL;
    this.lCount[lv] = 0;
    if (hit === NIL) table[h] = lv;
    return lv;
  }

  private removeLevelAt(side: number, pos: number, lv: number): void {
    const n = this.ladN[side]!;
    if (pos !== n - 1) {
      this.ladKeys[side as Side].copyWithin(pos, pos + 1, n);
      this.ladLv[side as Side].copyWithin(pos, pos + 1, n);
    }
    this.ladN[side] = n - 1;
    const table = this.levelAt[side as Side];
    const h = this.lPrice[lv]! & LEVEL_MASK;
    if (table[h] === lv) table[h] = NIL;
    this.lHead[lv] = this.lFree;
    this.lFree = lv;
  }

  private allocLevel(): number {
    if (this.lFree !== NIL) {
      const lv = this.lFree;
      this.lFree = this.lHead[lv]!;
      return lv;
    }
    if (this.lHigh === this.lCap) this.growLevels();
    return this.lHigh++;
  }

  private growLevels(): void {
    const n = this.lCap * 2;
    this.lPrice = grown(this.lPrice, n);
    this.lTotal = grown(this.lTotal, n);
    this.lHead = grown(this.lHead, n);
    this.lTail = grown(this.lTail, n);
    this.lCount = grown(this.lCount, n);
    this.lCap = n;
  }

  private growLadder(side: Side): void {
    const n = this.ladKeys[side].length * 2;
    this.ladKeys[side] = grown(this.ladKeys[side], n);
    this.ladLv[side] = grown(this.ladLv[side], n);
  }

  private describe(s: number): RestingOrder {
    return {
      orderId: this.oId[s]! as OrderId,
      userId: this.oUser[s]! as UserId,
      side: this.oSide[s]! as Side,
      orderType: this.oType[s]! as OrderType,
      stpMode: this.oStp[s]! as StpMode,
      priceTicks: this.oPrice[s]!,
      qtyLots: this.oQty[s]!,
      remainingLots: this.oRem[s]!,
      clientOrderId: this.oCid[s]!,
      tsMicros: this.oTs[s]!,
    };
  }
}
