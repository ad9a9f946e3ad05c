/**
 * A naive reference order book, written for the property tests: plain arrays of plain
 * objects, sorted by price then arrival, events as objects. It is meant to be obviously
 * right rather than fast, so that the typed-array book can be checked against it event for
 * event. FOK is decided by simulating the match on a copy (not by a separate liquidity
 * count as the fast book does), so the two formulations check each other.
 */
import {
  type BookCommand,
  type BookEvent,
  CancelReason,
  CancelReplaceMode,
  CancelRestriction,
  ExpiryReason,
  isValidClientOrderId,
  type L3,
  type L3Level,
  type Market,
  type OrderId,
  OrderType,
  type PlaceOrderFields,
  type PreventedMatchId,
  type RestingOrder,
  ResultCode,
  Side,
  type Stamped,
  StpMode,
  type SymbolId,
  TimeInForce,
  type TradeId,
  type UserId,
} from '../../engine/index.ts';

interface ROrder {
  orderId: number;
  userId: number;
  side: Side;
  orderType: OrderType;
  stpMode: StpMode;
  priceTicks: number;
  qtyLots: number;
  remainingLots: number;
  clientOrderId: string;
  tsMicros: number;
}

const safe = (n: number): boolean => Number.isSafeInteger(n);

export class ReferenceBook {
  bids: ROrder[] = [];
  asks: ROrder[] = [];
  nextTradeId = 1;
  nextPreventedMatchId = 1;
  private events: BookEvent[] = [];

  constructor(readonly market: Market) {}

  execute(cmd: BookCommand): BookEvent[] {
    this.events = [];
    switch (cmd.kind) {
      case 'PlaceOrder':
        this.place(cmd);
        break;
      case 'CancelOrder': {
        const o = this.find(cmd, cmd.orderId, cmd.clientOrderId, cmd.cancelRestriction);
        if (typeof o === 'number') this.cancelRejected(cmd, cmd.orderId, o, cmd.clientOrderId);
        else this.cancel(cmd, o, CancelReason.USER);
        break;
      }
      case 'CancelAllOrders': {
        const code = this.checkStamped(cmd);
        if (code !== ResultCode.OK) {
          this.cancelRejected(cmd, 0, code, '');
          break;
        }
        const mine = [...this.bids, ...this.asks]
          .filter((o) => o.userId === cmd.userId)
          .sort((a, b) => a.orderId - b.orderId);
        if (mine.length === 0) this.cancelRejected(cmd, 0, ResultCode.NO_OPEN_ORDERS, '');
        for (const o of mine) this.cancel(cmd, o, CancelReason.CANCEL_ALL);
        break;
      }
      case 'AmendOrder':
        this.amend(cmd);
        break;
      case 'CancelReplaceOrder': {
        if (
          cmd.cancelReplaceMode !== CancelReplaceMode.STOP_ON_FAILURE &&
          cmd.cancelReplaceMode !== CancelReplaceMode.ALLOW_FAILURE
        ) {
          this.cancelRejected(
            cmd,
            cmd.cancelOrderId,
            ResultCode.INVALID_CANCEL_REPLACE_MODE,
            cmd.cancelClientOrderId,
          );
          this.orderRejected(cmd, ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED);
          break;
        }
        const o = this.find(cmd, cmd.cancelOrderId, cmd.cancelClientOrderId, cmd.cancelRestriction);
        if (typeof o === 'number') {
          this.cancelRejected(cmd, cmd.cancelOrderId, o, cmd.cancelClientOrderId);
          if (cmd.cancelReplaceMode === CancelReplaceMode.STOP_ON_FAILURE) {
            this.orderRejected(cmd, ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED);
            break;
          }
        } else {
          this.cancel(cmd, o, CancelReason.CANCEL_REPLACE);
        }
        this.place(cmd);
        break;
      }
    }
    return this.events;
  }

  l3(): L3 {
    const side = (list: ROrder[]): L3Level[] => {
      const levels: { priceTicks: number; totalLots: number; orders: RestingOrder[] }[] = [];
      for (const o of list) {
        let last = levels[levels.length - 1];
        if (last === undefined || last.priceTicks !== o.priceTicks) {
          last = { priceTicks: o.priceTicks, totalLots: 0, orders: [] };
          levels.push(last);
        }
        last.totalLots += o.remainingLots;
        last.orders.push({ ...o } as unknown as RestingOrder);
      }
      return levels;
    };
    return { bids: side(this.bids), asks: side(this.asks) };
  }

  // --------------------------------------------------------------------------------------

  private checkStamped(c: Stamped): number {
    if (c.symbolId !== this.market.symbolId) return ResultCode.UNKNOWN_SYMBOL;
    if (!safe(c.userId) || c.userId <= 0) return ResultCode.INVALID_USER_ID;
    if (!safe(c.tsMicros) || c.tsMicros < 0) return ResultCode.INVALID_TIMESTAMP;
    return ResultCode.OK;
  }

  private all(): ROrder[] {
    return [...this.bids, ...this.asks];
  }

  private checkPlace(c: PlaceOrderFields): number {
    const s = this.checkStamped(c);
    if (s !== ResultCode.OK) return s;
    const m = this.market;
    if (!m.trading) return ResultCode.MARKET_NOT_TRADING;
    if (!safe(c.orderId) || c.orderId <= 0) return ResultCode.INVALID_ORDER_ID;
    if (c.side !== Side.BUY && c.side !== Side.SELL) return ResultCode.INVALID_SIDE;
    if (c.orderType === OrderType.LIMIT) {
      if (![TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK].includes(c.timeInForce as 1 | 2 | 3)) {
        return ResultCode.INVALID_TIME_IN_FORCE;
      }
    } else if (c.orderType === OrderType.MARKET || c.orderType === OrderType.LIMIT_MAKER) {
      if (c.timeInForce !== TimeInForce.NONE) return ResultCode.TIME_IN_FORCE_NOT_ALLOWED;
    } else return ResultCode.INVALID_ORDER_TYPE;
    const stp = c.stpMode === StpMode.DEFAULT ? m.defaultStpMode : c.stpMode;
    if (!(stp >= 0 && stp <= 4 && Number.isInteger(stp))) return ResultCode.INVALID_STP_MODE;
    if ((m.allowedStpMask & (1 << stp)) === 0) return ResultCode.STP_MODE_NOT_ALLOWED;
    if (c.clientOrderId !== '' && !isValidClientOrderId(c.clientOrderId))
      return ResultCode.INVALID_CLIENT_ORDER_ID;
    const { priceTicks: p, qtyLots: q, quoteQtyUnits: qq } = c;
    if (c.orderType === OrderType.MARKET) {
      if (p !== 0) return ResultCode.PRICE_NOT_ALLOWED;
      if (q !== 0 && qq !== 0) return ResultCode.QTY_AND_QUOTE_QTY;
      if (q === 0 && qq === 0) return ResultCode.QTY_REQUIRED;
      if (qq !== 0) {
        if (!safe(qq) || qq < 0) return ResultCode.QUOTE_QTY_NOT_INTEGER;
        if (qq < m.minNotionalUnits) return ResultCode.NOTIONAL_BELOW_MIN;
        if (qq > m.maxNotionalUnits) return ResultCode.NOTIONAL_ABOVE_MAX;
      } else {
        if (!safe(q) || q < 0) return ResultCode.QTY_NOT_INTEGER;
        if (q < m.minQtyLots) return ResultCode.QTY_BELOW_MIN;
        if (q > m.marketMaxQtyLots) return ResultCode.MARKET_QTY_ABOVE_MAX;
      }
    } else {
      if (qq !== 0) return ResultCode.QUOTE_QTY_NOT_ALLOWED;
      if (p === 0) return ResultCode.PRICE_REQUIRED;
      if (!safe(p) || p < 0) return ResultCode.PRICE_NOT_INTEGER;
      if (p < m.minPriceTicks) return ResultCode.PRICE_BELOW_MIN;
      if (p > m.maxPriceTicks) return ResultCode.PRICE_ABOVE_MAX;
      if (q === 0) return ResultCode.QTY_REQUIRED;
      if (!safe(q) || q < 0) return ResultCode.QTY_NOT_INTEGER;
      if (q < m.minQtyLots) return ResultCode.QTY_BELOW_MIN;
      if (q > m.maxQtyLots) return ResultCode.QTY_ABOVE_MAX;
      const notional = p * q * m.quoteUnitsPerTickLot;
      if (notional < m.minNotionalUnits) return ResultCode.NOTIONAL_BELOW_MIN;
      if (notional > m.maxNotionalUnits) return ResultCode.NOTIONAL_ABOVE_MAX;
    }
    if (this.all().some((o) => o.orderId === c.orderId)) return ResultCode.DUPLICATE_ORDER_ID;
    if (
      c.clientOrderId !== '' &&
      this.all().some((o) => o.userId === c.userId && o.clientOrderId === c.clientOrderId)
    ) {
      return ResultCode.DUPLICATE_CLIENT_ORDER_ID;
    }
    if (c.orderType === OrderType.LIMIT_MAKER && this.crosses(c.side, p)) return ResultCode.WOULD_TAKE;
    return ResultCode.OK;
  }

  private crosses(side: Side, price: number): boolean {
    if (side === Side.BUY) return this.asks.length > 0 && this.asks[0]!.priceTicks <= price;
    return this.bids.length > 0 && this.bids[0]!.priceTicks >= price;
  }

  private place(c: PlaceOrderFields): void {
    const code = this.checkPlace(c);
    if (code !== ResultCode.OK) return this.orderRejected(c, code);
    const stp = (c.stpMode === StpMode.DEFAULT ? this.market.defaultStpMode : c.stpMode) as StpMode;
    this.events.push({
      kind: 'OrderAccepted',
      seq: c.seq,
      tsMicros: c.tsMicros,
      symbolId: c.symbolId,
      userId: c.userId,
      orderId: c.orderId,
      side: c.side,
      orderType: c.orderType,
      timeInForce: c.timeInForce,
      stpMode: stp,
      priceTicks: c.priceTicks,
      qtyLots: c.qtyLots,
      quoteQtyUnits: c.quoteQtyUnits,
      clientOrderId: c.clientOrderId,
    });
    const taker = { ...c, stpMode: stp };
    if (c.orderType === OrderType.LIMIT_MAKER) {
      this.rest(this.newOrder(taker, c.qtyLots, c.priceTicks, c.clientOrderId));
      return;
    }
    if (c.orderType === OrderType.MARKET) {
      const budget = c.budgetUnits ?? 0;
      const byQuote = c.quoteQtyUnits > 0;
      const lots = !byQuote
        ? c.qtyLots
        : c.side === Side.SELL && budget > 0
          ? Math.floor(budget / this.market.baseUnitsPerLot)
          : Number.MAX_SAFE_INTEGER;
      const quote = byQuote ? c.quoteQtyUnits : c.side === Side.BUY ? budget : 0;
      const r = this.match(c, c.side, c.userId, c.orderId, 0, lots, quote, byQuote, stp);
      if (r.stopped) return;
      const bookEmpty = (c.side === Side.BUY ? this.asks : this.bids).length === 0;
      if (byQuote) {
        if (r.quote > 0 && (bookEmpty || r.filled === 0 || r.rem === 0)) {
          this.expired(
            c,
            0,
            r.quote,
            r.rem === 0 ? ExpiryReason.FUNDS_EXHAUSTED : ExpiryReason.MARKET_NO_LIQUIDITY,
          );
        }
      } else if (r.rem > 0) {
        this.expired(
          c,
          r.rem,
          0,
          bookEmpty ? ExpiryReason.MARKET_NO_LIQUIDITY : ExpiryReason.FUNDS_EXHAUSTED,
        );
      }
      return;
    }
    if (c.timeInForce === TimeInForce.FOK) {
      // Simulate on a copy: FOK proceeds only if the real match would fill it completely.
      const copy = new ReferenceBook(this.market);
      copy.bids = this.bids.map((o) => ({ ...o }));
      copy.asks = this.asks.map((o) => ({ ...o }));
      const sim = copy.match(c, c.side, c.userId, c.orderId, c.priceTicks, c.qtyLots, 0, false, stp);
      if (sim.filled !== c.qtyLots) return this.expired(c, c.qtyLots, 0, ExpiryReason.FOK);
    }
    const r = this.match(c, c.side, c.userId, c.orderId, c.priceTicks, c.qtyLots, 0, false, stp);
    if (r.stopped || r.rem === 0) return;
    if (c.timeInForce === TimeInForce.GTC)
      this.rest(this.newOrder(taker, c.qtyLots, c.priceTicks, c.clientOrderId, r.rem));
    else this.expired(c, r.rem, 0, ExpiryReason.IOC);
  }

  private newOrder(c: PlaceOrderFields, qty: number, price: number, cid: string, rem = qty): ROrder {
    return {
      orderId: c.orderId,
      userId: c.userId,
      side: c.side,
      orderType: c.orderType,
      stpMode: c.stpMode,
      priceTicks: price,
      qtyLots: qty,
      remainingLots: rem,
      clientOrderId: cid,
      tsMicros: c.tsMicros,
    };
  }

  /** Inserts after every order at the same or a better price (time priority). */
  private rest(o: ROrder): void {
    const list = o.side === Side.BUY ? this.bids : this.asks;
    const better = (a: ROrder) =>
      o.side === Side.BUY ? a.priceTicks >= o.priceTicks : a.priceTicks <= o.priceTicks;
    let i = 0;
    while (i < list.length && better(list[i]!)) i++;
    list.splice(i, 0, o);
  }

  private match(
    c: Stamped,
    side: Side,
    user: number,
    orderId: number,
    limit: number,
    lots: number,
    quoteLimit: number,
    byQuote: boolean,
    stp: number,
  ): { rem: number; quote: number; filled: number; stopped: boolean } {
    const opp = side === Side.BUY ? this.asks : this.bids;
    const capped = quoteLimit > 0;
    const mult = this.market.quoteUnitsPerTickLot;
    let rem = lots;
    let quote = quoteLimit;
    let filled = 0;
    let stopped = false;
    const affordable = (cost: number) => (capped ? Math.min(rem, Math.floor(quote / cost)) : rem);
    const prices = [...new Set(opp.map((o) => o.priceTicks))];
    for (const price of prices) {
      if (rem <= 0 || (capped && quote <= 0)) break;
      if (limit !== 0 && (side === Side.BUY ? price > limit : price < limit)) break;
      const cost = price * mult;
      for (const mk of opp.filter((o) => o.priceTicks === price)) {
        const want = affordable(cost);
        if (want === 0) break;
        const mRem = mk.remainingLots;
        if (stp !== StpMode.NONE && mk.userId === user) {
          const pm = this.nextPreventedMatchId++;
          let tp = 0;
          let mp = 0;
          if (stp === StpMode.DECREMENT) {
            tp = mp = Math.min(want, mRem);
            rem -= tp;
            if (byQuote) quote -= tp * cost;
          } else {
            if (stp === StpMode.EXPIRE_TAKER || stp === StpMode.EXPIRE_BOTH) {
              tp = byQuote ? want : rem;
              stopped = true;
            }
            if (stp === StpMode.EXPIRE_MAKER || stp === StpMode.EXPIRE_BOTH) mp = mRem;
          }
          mk.remainingLots -= mp;
          this.events.push({
            kind: 'SelfTradePrevented',
            seq: c.seq,
            tsMicros: c.tsMicros,
            symbolId: c.symbolId,
            preventedMatchId: pm as PreventedMatchId,
            stpMode: stp as StpMode,
            priceTicks: price,
            userId: user as UserId,
            takerOrderId: orderId as OrderId,
            takerPreventedLots: tp,
            takerRemainingLots: stopped || byQuote ? 0 : rem,
            makerOrderId: mk.orderId as OrderId,
            makerPreventedLots: mp,
            makerRemainingLots: mk.remainingLots,
          });
          if (mk.remainingLots === 0) opp.splice(opp.indexOf(mk), 1);
          if (stopped) break;
          if (!byQuote && rem === 0) {
            stopped = true;
            break;
          }
          continue;
        }
        const q = Math.min(want, mRem);
        filled += q;
        rem -= q;
        if (capped) quote -= q * cost;
        mk.remainingLots -= q;
        this.events.push({
          kind: 'TradeExecuted',
          seq: c.seq,
          tsMicros: c.tsMicros,
          symbolId: c.symbolId,
          tradeId: this.nextTradeId++ as TradeId,
          priceTicks: price,
          qtyLots: q,
          takerSide: side,
          takerUserId: user as UserId,
          takerOrderId: orderId as OrderId,
          takerRemainingLots: byQuote ? 0 : rem,
          makerUserId: mk.userId as UserId,
          makerOrderId: mk.orderId as OrderId,
          makerRemainingLots: mk.remainingLots,
        });
        if (mk.remainingLots === 0) opp.splice(opp.indexOf(mk), 1);
      }
      if (stopped) break;
      // A level with quantity left that the taker can no longer trade with ends the match.
      if (affordable(cost) === 0 && opp.some((o) => o.priceTicks === price)) break;
    }
    return { rem, quote: capped ? quote : 0, filled, stopped };
  }

  private find(c: Stamped, id: number, cid: string, restriction: number): ROrder | number {
    const s = this.checkStamped(c);
    if (s !== ResultCode.OK) return s;
    if (
      ![CancelRestriction.NONE, CancelRestriction.ONLY_NEW, CancelRestriction.ONLY_PARTIALLY_FILLED].includes(
        restriction as 0,
      )
    ) {
      return ResultCode.INVALID_CANCEL_RESTRICTION;
    }
    let o: ROrder | undefined;
    if (id !== 0) {
      if (!safe(id) || id <= 0) return ResultCode.INVALID_ORDER_ID;
      o = this.all().find((x) => x.orderId === id);
      if (o === undefined || o.userId !== c.userId) return ResultCode.UNKNOWN_ORDER;
      if (cid !== '' && o.clientOrderId !== cid) return ResultCode.UNKNOWN_ORDER;
    } else if (cid !== '') {
      if (!isValidClientOrderId(cid)) return ResultCode.INVALID_CLIENT_ORDER_ID;
      o = this.all().find((x) => x.userId === c.userId && x.clientOrderId === cid);
      if (o === undefined) return ResultCode.UNKNOWN_ORDER;
    } else return ResultCode.MISSING_ORDER_REFERENCE;
    const filled = o.qtyLots - o.remainingLots;
    if (restriction === CancelRestriction.ONLY_NEW && filled !== 0) return ResultCode.CANCEL_RESTRICTED;
    if (restriction === CancelRestriction.ONLY_PARTIALLY_FILLED && filled === 0)
      return ResultCode.CANCEL_RESTRICTED;
    return o;
  }

  private remove(o: ROrder): void {
    const list = o.side === Side.BUY ? this.bids : this.asks;
    list.splice(list.indexOf(o), 1);
  }

  private cancel(c: Stamped, o: ROrder, reason: CancelReason): void {
    this.events.push({
      kind: 'OrderCanceled',
      seq: c.seq,
      tsMicros: c.tsMicros,
      symbolId: c.symbolId,
      userId: o.userId as UserId,
      orderId: o.orderId as OrderId,
      side: o.side,
      priceTicks: o.priceTicks,
      canceledLots: o.remainingLots,
      filledLots: o.qtyLots - o.remainingLots,
      reason,
      clientOrderId: o.clientOrderId,
    });
    this.remove(o);
  }

  private amend(c: Extract<BookCommand, { kind: 'AmendOrder' }>): void {
    const found = this.find(c, c.orderId, c.clientOrderId, CancelRestriction.NONE);
    const reject = (code: number): void => {
      this.events.push({
        kind: 'AmendRejected',
        seq: c.seq,
        tsMicros: c.tsMicros,
        symbolId: c.symbolId,
        userId: c.userId,
        orderId: c.orderId,
        code: code as ResultCode,
        clientOrderId: isValidClientOrderId(c.clientOrderId) ? c.clientOrderId : '',
      });
    };
    if (typeof found === 'number') return reject(found);
    const o = found;
    const m = this.market;
    const price = c.priceTicks === 0 ? o.priceTicks : c.priceTicks;
    const qty = c.qtyLots;
    if (!safe(price) || price < 0) return reject(ResultCode.PRICE_NOT_INTEGER);
    if (price < m.minPriceTicks) return reject(ResultCode.PRICE_BELOW_MIN);
    if (price > m.maxPriceTicks) return reject(ResultCode.PRICE_ABOVE_MAX);
    if (!safe(qty) || qty < 0) return reject(ResultCode.QTY_NOT_INTEGER);
    if (qty < m.minQtyLots) return reject(ResultCode.QTY_BELOW_MIN);
    if (qty > m.maxQtyLots) return reject(ResultCode.QTY_ABOVE_MAX);
    const notional = price * qty * m.quoteUnitsPerTickLot;
    if (notional < m.minNotionalUnits) return reject(ResultCode.NOTIONAL_BELOW_MIN);
    if (notional > m.maxNotionalUnits) return reject(ResultCode.NOTIONAL_ABOVE_MAX);
    const filled = o.qtyLots - o.remainingLots;
    if (qty <= filled) return reject(ResultCode.AMEND_QTY_NOT_ABOVE_FILLED);
    const newCid = c.newClientOrderId;
    if (newCid !== '' && newCid !== o.clientOrderId) {
      if (!isValidClientOrderId(newCid)) return reject(ResultCode.INVALID_CLIENT_ORDER_ID);
      if (this.all().some((x) => x.userId === c.userId && x.clientOrderId === newCid)) {
        return reject(ResultCode.DUPLICATE_CLIENT_ORDER_ID);
      }
    }
    const cid = newCid === '' ? o.clientOrderId : newCid;
    const remaining = qty - filled;
    const amended = (kept: boolean) =>
      this.events.push({
        kind: 'OrderAmended',
        seq: c.seq,
        tsMicros: c.tsMicros,
        symbolId: c.symbolId,
        userId: c.userId,
        orderId: o.orderId as OrderId,
        side: o.side,
        priceTicks: price,
        qtyLots: qty,
        remainingLots: remaining,
        keptPriority: kept,
        clientOrderId: cid,
      });
    if (price === o.priceTicks && qty <= o.qtyLots) {
      o.qtyLots = qty;
      o.remainingLots = remaining;
      o.clientOrderId = cid;
      amended(true);
      return;
    }
    if (!m.trading) return reject(ResultCode.MARKET_NOT_TRADING);
    if (o.orderType === OrderType.LIMIT_MAKER && this.crosses(o.side, price))
      return reject(ResultCode.AMEND_WOULD_TAKE);
    this.remove(o);
    amended(false);
    const r = this.match(c, o.side, o.userId, o.orderId, price, remaining, 0, false, o.stpMode);
    if (r.stopped || r.rem === 0) return;
    this.rest({
      ...o,
      priceTicks: price,
      qtyLots: qty,
      remainingLots: r.rem,
      clientOrderId: cid,
      tsMicros: c.tsMicros,
    });
  }

  private orderRejected(c: PlaceOrderFields, code: number): void {
    this.events.push({
      kind: 'OrderRejected',
      seq: c.seq,
      tsMicros: c.tsMicros,
      symbolId: c.symbolId,
      userId: c.userId,
      orderId: c.orderId,
      side: c.side,
      orderType: c.orderType,
      code: code as ResultCode,
      clientOrderId: isValidClientOrderId(c.clientOrderId) ? c.clientOrderId : '',
    });
  }

  private cancelRejected(c: Stamped, orderId: number, code: number, cid: string): void {
    this.events.push({
      kind: 'CancelRejected',
      seq: c.seq,
      tsMicros: c.tsMicros,
      symbolId: c.symbolId as SymbolId,
      userId: c.userId,
      orderId: orderId as OrderId,
      code: code as ResultCode,
      clientOrderId: isValidClientOrderId(cid) ? cid : '',
    });
  }

  private expired(c: PlaceOrderFields, lots: number, quote: number, reason: ExpiryReason): void {
    this.events.push({
      kind: 'OrderExpired',
      seq: c.seq,
      tsMicros: c.tsMicros,
      symbolId: c.symbolId,
      userId: c.userId,
      orderId: c.orderId,
      side: c.side,
      expiredLots: lots,
      expiredQuoteUnits: quote,
      reason,
    });
  }
}
