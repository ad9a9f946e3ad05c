/**
 * The order book's specification: one `it` per rule of issue 3's "The order book" section,
 * asserting the exact events and the resulting book. The simple test market makes every
 * amount a plain integer (1 tick = 1 lot = 1 quote unit; notional = price x quantity).
 */
import assert from 'node:assert/strict';
import {
  CancelReason,
  CancelReplaceMode,
  CancelRestriction,
  EventWriter,
  ExpiryReason,
  OrderBook,
  OrderType,
  orderId,
  ResultCode,
  StpMode,
  seq,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import {
  BUY,
  expectEvents,
  Harness,
  kinds,
  ofKind,
  SELL,
  shuffled,
  simpleMarket,
  U1,
  U2,
  U3,
} from './helpers.ts';

describe('order book', () => {
  describe('LIMIT GTC', () => {
    it('rests an order that does not cross and shows it in L2 and L3', () => {
      const h = new Harness();
      const { id, events } = h.buy(U1, 100, 5, { clientOrderId: 'my-bid' });
      expectEvents(events, [
        {
          kind: 'OrderAccepted',
          seq: h.seq,
          tsMicros: h.ts,
          symbolId: h.market.symbolId,
          userId: U1,
          orderId: id,
          side: BUY,
          orderType: OrderType.LIMIT,
          timeInForce: TimeInForce.GTC,
          stpMode: StpMode.EXPIRE_MAKER,
          priceTicks: 100,
          qtyLots: 5,
          quoteQtyUnits: 0,
          clientOrderId: 'my-bid',
        },
      ]);
      assert.equal(h.book.bestBidTicks(), 100);
      assert.equal(h.book.bestAskTicks(), 0);
      assert.deepEqual(h.book.l2(), { bids: [[100, 5]], asks: [] });
      assert.deepEqual(h.book.l3(), {
        bids: [
          {
            priceTicks: 100,
            totalLots: 5,
            orders: [
              {
                orderId: id,
                userId: U1,
                side: BUY,
                orderType: OrderType.LIMIT,
                stpMode: StpMode.EXPIRE_MAKER,
                priceTicks: 100,
                qtyLots: 5,
                remainingLots: 5,
                clientOrderId: 'my-bid',
                tsMicros: h.ts,
              },
            ],
          },
        ],
        asks: [],
      });
      assert.equal(h.book.orderCount, 1);
    });

    it('fills the oldest order at a price first', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 3);
      const b = h.sell(U2, 100, 3);
      const c = h.sell(U3, 100, 3);
      const { id, events } = h.buy(userId(4), 100, 4);
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id },
        {
          kind: 'TradeExecuted',
          makerOrderId: a.id,
          qtyLots: 3,
          makerRemainingLots: 0,
          takerRemainingLots: 1,
        },
        {
          kind: 'TradeExecuted',
          makerOrderId: b.id,
          qtyLots: 1,
          makerRemainingLots: 2,
          takerRemainingLots: 0,
        },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [b.id, c.id]]]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[100, 5]] });
    });

    it('matches the best price first, across levels, each trade at the maker price', () => {
      const h = new Harness();
      const far = h.sell(U1, 103, 5);
      const near = h.sell(U1, 101, 2);
      const mid = h.sell(U1, 102, 2);
      const { id, events } = h.buy(U2, 102, 10);
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id },
        { kind: 'TradeExecuted', makerOrderId: near.id, priceTicks: 101, qtyLots: 2, takerRemainingLots: 8 },
        { kind: 'TradeExecuted', makerOrderId: mid.id, priceTicks: 102, qtyLots: 2, takerRemainingLots: 6 },
      ]);
      // It does not trade through its limit: the rest rests at 102, below the ask at 103.
      assert.deepEqual(h.queue(SELL), [[103, [far.id]]]);
      assert.deepEqual(h.queue(BUY), [[102, [id]]]);
      assert.deepEqual(h.book.l2(), { bids: [[102, 6]], asks: [[103, 5]] });
    });

    it('gives the taker the price improvement: a buy at 110 trades at a 100 ask', () => {
      const h = new Harness();
      h.sell(U1, 100, 1);
      const { events } = h.buy(U2, 110, 1);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', priceTicks: 100, qtyLots: 1 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [] });
    });

    it('rests the remainder of a partially filled order with its original total quantity', () => {
      const h = new Harness();
      h.buy(U1, 50, 4);
      const { id } = h.sell(U2, 50, 10);
      const resting = h.book.openOrder(id);
      assert.equal(resting?.qtyLots, 10);
      assert.equal(resting?.remainingLots, 6);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[50, 6]] });
    });

    it('removes a fully filled maker and its emptied level from the book', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 2);
      h.buy(U2, 100, 2);
      assert.equal(h.book.openOrder(a.id), undefined);
      assert.equal(h.book.levelCount(SELL), 0);
      assert.equal(h.book.orderCount, 0);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it('sells into the highest bid first', () => {
      const h = new Harness();
      const low = h.buy(U1, 98, 1);
      const high = h.buy(U1, 99, 1);
      const { events } = h.sell(U2, 90, 2);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', makerOrderId: high.id, priceTicks: 99, takerSide: SELL },
        { kind: 'TradeExecuted', makerOrderId: low.id, priceTicks: 98, takerSide: SELL },
      ]);
    });
  });

  describe('LIMIT IOC', () => {
    it('expires the rest of an IOC order', () => {
      const h = new Harness();
      h.sell(U1, 100, 3);
      const { id, events } = h.buy(U2, 100, 5, { timeInForce: TimeInForce.IOC });
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id, timeInForce: TimeInForce.IOC },
        { kind: 'TradeExecuted', qtyLots: 3, takerRemainingLots: 2 },
        {
          kind: 'OrderExpired',
          userId: U2,
          orderId: id,
          side: BUY,
          expiredLots: 2,
          expiredQuoteUnits: 0,
          reason: ExpiryReason.IOC,
        },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it('expires a whole IOC order that finds nothing to trade, leaving the book as it was', () => {
      const h = new Harness();
      h.sell(U1, 101, 3);
      const before = h.book.exportState();
      const { id, events } = h.buy(U2, 100, 5, { timeInForce: TimeInForce.IOC });
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id },
        { kind: 'OrderExpired', orderId: id, expiredLots: 5, reason: ExpiryReason.IOC },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });

    it('emits no expiry for an IOC order that fills completely', () => {
      const h = new Harness();
      h.sell(U1, 100, 5);
      const { events } = h.buy(U2, 100, 5, { timeInForce: TimeInForce.IOC });
      assert.deepEqual(kinds(events), ['OrderAccepted', 'TradeExecuted']);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [] });
    });
  });

  describe('LIMIT FOK', () => {
    it('fills a FOK order completely when enough quantity lies within its limit', () => {
      const h = new Harness();
      h.sell(U1, 100, 2);
      h.sell(U1, 101, 3);
      h.sell(U1, 102, 9);
      const { events } = h.buy(U2, 101, 5, { timeInForce: TimeInForce.FOK });
      expectEvents(events, [
        { kind: 'OrderAccepted', timeInForce: TimeInForce.FOK },
        { kind: 'TradeExecuted', priceTicks: 100, qtyLots: 2, takerRemainingLots: 3 },
        { kind: 'TradeExecuted', priceTicks: 101, qtyLots: 3, takerRemainingLots: 0 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[102, 9]] });
    });

    it('expires a FOK order before any trade when the quantity within its limit is short', () => {
      const h = new Harness();
      h.sell(U1, 100, 2);
      h.sell(U1, 101, 2);
      h.sell(U1, 102, 9);
      const before = h.book.exportState();
      const { id, events } = h.buy(U2, 101, 5, { timeInForce: TimeInForce.FOK });
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id },
        {
          kind: 'OrderExpired',
          orderId: id,
          userId: U2,
          side: BUY,
          expiredLots: 5,
          expiredQuoteUnits: 0,
          reason: ExpiryReason.FOK,
        },
      ]);
      assert.deepEqual(h.book.exportState(), before);
      assert.equal(h.book.tradeIdCounter, 1);
    });

    it('expires a sell FOK order when the bids within its limit are short', () => {
      const h = new Harness();
      h.buy(U1, 100, 4);
      h.buy(U1, 99, 4);
      const { events } = h.sell(U2, 100, 5, { timeInForce: TimeInForce.FOK });
      assert.deepEqual(kinds(events), ['OrderAccepted', 'OrderExpired']);
      const full = h.sell(U2, 99, 8, { timeInForce: TimeInForce.FOK });
      assert.deepEqual(kinds(full.events), ['OrderAccepted', 'TradeExecuted', 'TradeExecuted']);
    });

    it('counts own orders under STP NONE, which then self-trade', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 3);
      h.sell(U2, 100, 2);
      const { events } = h.buy(U1, 100, 5, { timeInForce: TimeInForce.FOK, stpMode: StpMode.NONE });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', makerOrderId: own.id, makerUserId: U1, takerUserId: U1, qtyLots: 3 },
        { kind: 'TradeExecuted', makerUserId: U2, qtyLots: 2 },
      ]);
    });

    it('does not count own orders under EXPIRE_MAKER, and expires them when it fills', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 3);
      const other = h.sell(U2, 100, 2);
      const short = h.buy(U1, 100, 5, { timeInForce: TimeInForce.FOK, stpMode: StpMode.EXPIRE_MAKER });
      assert.deepEqual(kinds(short.events), ['OrderAccepted', 'OrderExpired']);
      assert.deepEqual(h.queue(SELL), [[100, [own.id, other.id]]], 'nothing changed');
      const { id, events } = h.buy(U1, 100, 2, {
        timeInForce: TimeInForce.FOK,
        stpMode: StpMode.EXPIRE_MAKER,
      });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          takerOrderId: id,
          makerOrderId: own.id,
          takerPreventedLots: 0,
          makerPreventedLots: 3,
        },
        { kind: 'TradeExecuted', makerOrderId: other.id, qtyLots: 2, takerRemainingLots: 0 },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    for (const mode of [StpMode.EXPIRE_TAKER, StpMode.EXPIRE_BOTH, StpMode.DECREMENT] as const) {
      it(`expires a FOK order whose fill an own order would cut short under STP mode ${mode}`, () => {
        const h = new Harness();
        h.sell(U2, 100, 2);
        h.sell(U1, 100, 3);
        h.sell(U2, 100, 10);
        const before = h.book.exportState();
        const { events } = h.buy(U1, 100, 5, { timeInForce: TimeInForce.FOK, stpMode: mode });
        expectEvents(events, [{ kind: 'OrderAccepted' }, { kind: 'OrderExpired', reason: ExpiryReason.FOK }]);
        assert.deepEqual(h.book.exportState(), before);
      });
    }

    it('fills a FOK order under EXPIRE_TAKER when its own order lies beyond what it needs', () => {
      const h = new Harness();
      h.sell(U2, 100, 5);
      const own = h.sell(U1, 100, 3);
      const { events } = h.buy(U1, 100, 5, { timeInForce: TimeInForce.FOK, stpMode: StpMode.EXPIRE_TAKER });
      assert.deepEqual(kinds(events), ['OrderAccepted', 'TradeExecuted']);
      assert.deepEqual(h.queue(SELL), [[100, [own.id]]]);
    });
  });

  describe('MARKET', () => {
    it('buys by base quantity across levels at the makers prices', () => {
      const h = new Harness();
      h.sell(U1, 100, 2);
      h.sell(U1, 105, 2);
      const { id, events } = h.marketOrder(U2, BUY, 3);
      expectEvents(events, [
        {
          kind: 'OrderAccepted',
          orderId: id,
          orderType: OrderType.MARKET,
          timeInForce: TimeInForce.NONE,
          priceTicks: 0,
          qtyLots: 3,
          quoteQtyUnits: 0,
        },
        { kind: 'TradeExecuted', priceTicks: 100, qtyLots: 2, takerRemainingLots: 1 },
        { kind: 'TradeExecuted', priceTicks: 105, qtyLots: 1, takerRemainingLots: 0 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[105, 1]] });
    });

    it('never trades beyond the liquidity there: the rest expires MARKET_NO_LIQUIDITY', () => {
      const h = new Harness();
      h.buy(U1, 100, 2);
      h.buy(U1, 90, 1);
      const { id, events } = h.marketOrder(U2, SELL, 10);
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id },
        { kind: 'TradeExecuted', priceTicks: 100, qtyLots: 2, takerRemainingLots: 8 },
        { kind: 'TradeExecuted', priceTicks: 90, qtyLots: 1, takerRemainingLots: 7 },
        {
          kind: 'OrderExpired',
          orderId: id,
          side: SELL,
          expiredLots: 7,
          expiredQuoteUnits: 0,
          reason: ExpiryReason.MARKET_NO_LIQUIDITY,
        },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it('expires a whole MARKET order on an empty side and never rests it', () => {
      const h = new Harness();
      h.buy(U1, 100, 2);
      const { events } = h.marketOrder(U2, BUY, 4);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'OrderExpired', expiredLots: 4, reason: ExpiryReason.MARKET_NO_LIQUIDITY },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [[100, 2]], asks: [] });
    });

    it('buys by quote amount, level by level, while the budget buys whole lots', () => {
      const h = new Harness();
      h.sell(U1, 10, 3);
      h.sell(U1, 20, 5);
      // 100 quote: 3 lots at 10 (30), then 3 lots at 20 (60); 10 left buys nothing more.
      const { id, events } = h.marketQuote(U2, BUY, 100);
      expectEvents(events, [
        { kind: 'OrderAccepted', orderId: id, qtyLots: 0, quoteQtyUnits: 100, priceTicks: 0 },
        { kind: 'TradeExecuted', priceTicks: 10, qtyLots: 3, takerRemainingLots: 0 },
        { kind: 'TradeExecuted', priceTicks: 20, qtyLots: 3, takerRemainingLots: 0 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[20, 2]] });
    });

    it('spends an exact quote budget without an expiry', () => {
      const h = new Harness();
      h.sell(U1, 25, 10);
      const { events } = h.marketQuote(U2, BUY, 100);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', priceTicks: 25, qtyLots: 4 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[25, 6]] });
    });

    it('expires the unspent quote amount when the liquidity runs out', () => {
      const h = new Harness();
      h.sell(U1, 10, 3);
      const { id, events } = h.marketQuote(U2, BUY, 100);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', priceTicks: 10, qtyLots: 3 },
        {
          kind: 'OrderExpired',
          orderId: id,
          expiredLots: 0,
          expiredQuoteUnits: 70,
          reason: ExpiryReason.MARKET_NO_LIQUIDITY,
        },
      ]);
    });

    it('expires a quote order whose budget cannot buy one lot at the best price', () => {
      const h = new Harness();
      h.sell(U1, 50, 3);
      const before = h.book.exportState();
      const { events } = h.marketQuote(U2, BUY, 49);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'OrderExpired',
          expiredLots: 0,
          expiredQuoteUnits: 49,
          reason: ExpiryReason.MARKET_NO_LIQUIDITY,
        },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });

    it('sells by quote amount: sells the lots whose proceeds stay within the amount', () => {
      const h = new Harness();
      h.buy(U1, 20, 2);
      h.buy(U1, 10, 5);
      // 75 quote: 2 lots at 20 (40), then 3 lots at 10 (30); 5 left.
      const { events } = h.marketQuote(U2, SELL, 75);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', priceTicks: 20, qtyLots: 2, takerSide: SELL },
        { kind: 'TradeExecuted', priceTicks: 10, qtyLots: 3, takerSide: SELL },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [[10, 2]], asks: [] });
    });

    it('never fills a worse bid while a better bid still has quantity (SELL by quote)', () => {
      const h = new Harness();
      const best = h.buy(U1, 100, 20);
      const worse = h.buy(U1, 40, 10);
      // 1050 quote: 10 lots at 100 (1000) leave 50, less than one more lot at 100.
      const { events } = h.marketQuote(U2, SELL, 1050);
      const trades = ofKind(events, 'TradeExecuted');
      assert.deepEqual(
        trades.map((t) => [t.makerOrderId, t.priceTicks, t.qtyLots]),
        [[best.id, 100, 10]],
      );
      assert.deepEqual(h.queue(BUY), [
        [100, [best.id]],
        [40, [worse.id]],
      ]);
    });
  });

  describe('LIMIT_MAKER', () => {
    it('rests a post-only order that would not take', () => {
      const h = new Harness();
      h.sell(U1, 101, 1);
      const { id, events } = h.maker(U2, BUY, 100, 4);
      expectEvents(events, [
        {
          kind: 'OrderAccepted',
          orderId: id,
          orderType: OrderType.LIMIT_MAKER,
          timeInForce: TimeInForce.NONE,
        },
      ]);
      assert.equal(h.book.openOrder(id)?.orderType, OrderType.LIMIT_MAKER);
      assert.deepEqual(h.book.l2(), { bids: [[100, 4]], asks: [[101, 1]] });
    });

    it('rejects a post-only order WOULD_TAKE when it would trade, at the touch or through it', () => {
      const h = new Harness();
      h.sell(U1, 101, 1);
      h.buy(U1, 99, 1);
      const before = h.book.exportState();
      for (const [side, price] of [
        [BUY, 101],
        [BUY, 150],
        [SELL, 99],
        [SELL, 1],
      ] as const) {
        const { id, events } = h.maker(U2, side, price, 4, { clientOrderId: 'pm' });
        expectEvents(events, [
          {
            kind: 'OrderRejected',
            userId: U2,
            orderId: id,
            side,
            orderType: OrderType.LIMIT_MAKER,
            code: ResultCode.WOULD_TAKE,
            clientOrderId: 'pm',
          },
        ]);
      }
      assert.deepEqual(h.book.exportState(), before);
    });

    it('trades as the maker once it rests', () => {
      const h = new Harness();
      const { id } = h.maker(U1, SELL, 100, 4);
      const { events } = h.marketOrder(U2, BUY, 1);
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', makerOrderId: id, priceTicks: 100 },
      ]);
    });
  });

  describe('cancel', () => {
    it('cancels an order by order id and takes it out of L2 and L3', () => {
      const h = new Harness();
      const a = h.buy(U1, 100, 5, { clientOrderId: 'a-1' });
      const b = h.buy(U2, 100, 2);
      const events = h.cancel({ userId: U1, orderId: a.id });
      expectEvents(events, [
        {
          kind: 'OrderCanceled',
          seq: h.seq,
          tsMicros: h.ts,
          userId: U1,
          orderId: a.id,
          side: BUY,
          priceTicks: 100,
          canceledLots: 5,
          filledLots: 0,
          reason: CancelReason.USER,
          clientOrderId: 'a-1',
        },
      ]);
      assert.deepEqual(h.queue(BUY), [[100, [b.id]]]);
      assert.deepEqual(h.book.l2(), { bids: [[100, 2]], asks: [] });
      assert.equal(h.book.openOrder(a.id), undefined);
    });

    it('cancels an order by client order id, and frees that client order id', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5, { clientOrderId: 'x' });
      const events = h.cancel({ userId: U1, clientOrderId: 'x' });
      expectEvents(events, [{ kind: 'OrderCanceled', orderId: a.id, clientOrderId: 'x', canceledLots: 5 }]);
      assert.equal(h.book.orderCount, 0);
      assert.deepEqual(kinds(h.sell(U1, 100, 5, { clientOrderId: 'x' }).events), ['OrderAccepted']);
    });

    it('keeps client order ids per user: two users may use the same one', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5, { clientOrderId: 'same' });
      const b = h.sell(U2, 100, 5, { clientOrderId: 'same' });
      assert.deepEqual(kinds(b.events), ['OrderAccepted']);
      expectEvents(h.cancel({ userId: U2, clientOrderId: 'same' }), [
        { kind: 'OrderCanceled', orderId: b.id },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [a.id]]]);
    });

    it('cancels by order id and client order id together only when both name the same order', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5, { clientOrderId: 'a' });
      const b = h.sell(U1, 101, 5, { clientOrderId: 'b' });
      const before = h.book.exportState();
      expectEvents(h.cancel({ userId: U1, orderId: a.id, clientOrderId: 'b' }), [
        {
          kind: 'CancelRejected',
          userId: U1,
          orderId: a.id,
          code: ResultCode.UNKNOWN_ORDER,
          clientOrderId: 'b',
        },
      ]);
      assert.deepEqual(h.book.exportState(), before);
      expectEvents(h.cancel({ userId: U1, orderId: b.id, clientOrderId: 'b' }), [
        { kind: 'OrderCanceled', orderId: b.id },
      ]);
    });

    it("treats another user's order as unknown, by id and by client order id", () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5, { clientOrderId: 'mine' });
      const before = h.book.exportState();
      expectEvents(h.cancel({ userId: U2, orderId: a.id }), [
        { kind: 'CancelRejected', userId: U2, orderId: a.id, code: ResultCode.UNKNOWN_ORDER },
      ]);
      expectEvents(h.cancel({ userId: U2, clientOrderId: 'mine' }), [
        { kind: 'CancelRejected', code: ResultCode.UNKNOWN_ORDER, clientOrderId: 'mine' },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });

    it('rejects a cancel of an order that is no longer open', () => {
      const h = new Harness();
      const filled = h.sell(U1, 100, 1);
      h.buy(U2, 100, 1);
      const canceled = h.sell(U1, 100, 1);
      h.cancel({ userId: U1, orderId: canceled.id });
      for (const id of [filled.id, canceled.id, orderId(999)]) {
        expectEvents(h.cancel({ userId: U1, orderId: id }), [
          { kind: 'CancelRejected', orderId: id, code: ResultCode.UNKNOWN_ORDER },
        ]);
      }
    });

    it('reports what a partially filled order had filled when it is canceled', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 10);
      h.buy(U2, 100, 4);
      expectEvents(h.cancel({ userId: U1, orderId: a.id }), [
        { kind: 'OrderCanceled', orderId: a.id, canceledLots: 6, filledLots: 4 },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [] });
    });

    it('cancels with ONLY_NEW only an order that has not filled', () => {
      const h = new Harness();
      const fresh = h.sell(U1, 100, 10);
      const partial = h.sell(U1, 99, 10);
      h.buy(U2, 99, 1);
      const before = h.book.exportState();
      expectEvents(
        h.cancel({ userId: U1, orderId: partial.id, cancelRestriction: CancelRestriction.ONLY_NEW }),
        [{ kind: 'CancelRejected', orderId: partial.id, code: ResultCode.CANCEL_RESTRICTED }],
      );
      assert.deepEqual(h.book.exportState(), before);
      expectEvents(
        h.cancel({ userId: U1, orderId: fresh.id, cancelRestriction: CancelRestriction.ONLY_NEW }),
        [{ kind: 'OrderCanceled', orderId: fresh.id, canceledLots: 10, filledLots: 0 }],
      );
    });

    it('cancels with ONLY_PARTIALLY_FILLED only an order that has partly filled', () => {
      const h = new Harness();
      const fresh = h.sell(U1, 100, 10, { clientOrderId: 'fresh' });
      const partial = h.sell(U1, 99, 10, { clientOrderId: 'partial' });
      h.buy(U2, 99, 1);
      const restriction = CancelRestriction.ONLY_PARTIALLY_FILLED;
      expectEvents(h.cancel({ userId: U1, clientOrderId: 'fresh', cancelRestriction: restriction }), [
        { kind: 'CancelRejected', code: ResultCode.CANCEL_RESTRICTED, clientOrderId: 'fresh' },
      ]);
      assert.ok(h.book.openOrder(fresh.id));
      expectEvents(h.cancel({ userId: U1, clientOrderId: 'partial', cancelRestriction: restriction }), [
        { kind: 'OrderCanceled', orderId: partial.id, canceledLots: 9, filledLots: 1 },
      ]);
    });
  });

  describe('cancel all', () => {
    it("cancels every open order of the user on the symbol, both sides, and only the user's", () => {
      const h = new Harness();
      const a = h.buy(U1, 90, 1, { clientOrderId: 'a' });
      const other = h.buy(U2, 90, 2);
      const b = h.sell(U1, 110, 3);
      const c = h.buy(U1, 95, 4);
      h.buy(U3, 80, 1);
      h.sell(U2, 110, 5);
      h.marketOrder(U3, BUY, 1); // partly fills b
      const events = h.cancelAll(U1);
      assert.ok(
        events.every((e) => e.kind === 'OrderCanceled' && e.reason === CancelReason.CANCEL_ALL),
        JSON.stringify(events),
      );
      const canceled = ofKind(events, 'OrderCanceled')
        .map((e) => [e.orderId, e.canceledLots, e.filledLots, e.clientOrderId, e.seq] as const)
        .sort((x, y) => x[0] - y[0]);
      assert.deepEqual(canceled, [
        [a.id, 1, 0, 'a', h.seq],
        [b.id, 2, 1, '', h.seq],
        [c.id, 4, 0, '', h.seq],
      ]);
      assert.deepEqual(h.book.openOrdersOf(U1), []);
      assert.deepEqual(h.book.l2(), {
        bids: [
          [90, 2],
          [80, 1],
        ],
        asks: [[110, 5]],
      });
      assert.deepEqual(h.queue(BUY)[0], [90, [other.id]]);
    });

    it('cancels in order id order, whatever the history (docs/ENGINE.md), and lists open orders so', () => {
      const h = new Harness();
      const a = h.buy(U1, 90, 1);
      const b = h.sell(U1, 110, 1);
      const c = h.buy(U1, 91, 1);
      h.amend({ userId: U1, orderId: a.id, priceTicks: 92, qtyLots: 1 }); // re-rests a, newest
      h.amend({ userId: U1, orderId: b.id, qtyLots: 2 }); // re-rests b, newest
      assert.deepEqual(
        h.book.openOrdersOf(U1).map((o) => o.orderId),
        [a.id, b.id, c.id],
      );
      assert.deepEqual(
        ofKind(h.cancelAll(U1), 'OrderCanceled').map((e) => e.orderId),
        [a.id, b.id, c.id],
      );
    });

    it('rejects NO_OPEN_ORDERS when the user has none', () => {
      const h = new Harness();
      h.buy(U2, 90, 1);
      expectEvents(h.cancelAll(U1), [
        {
          kind: 'CancelRejected',
          userId: U1,
          orderId: 0,
          code: ResultCode.NO_OPEN_ORDERS,
          clientOrderId: '',
        },
      ]);
      const a = h.buy(U1, 90, 1);
      h.cancel({ userId: U1, orderId: a.id });
      expectEvents(h.cancelAll(U1), [{ kind: 'CancelRejected', code: ResultCode.NO_OPEN_ORDERS }]);
      assert.deepEqual(h.book.l2(), { bids: [[90, 1]], asks: [] });
    });
  });

  describe('amend', () => {
    it('keeps its place in the queue when only the quantity goes down', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5);
      const b = h.sell(U2, 100, 5, { clientOrderId: 'b' });
      const c = h.sell(U3, 100, 5);
      const events = h.amend({ userId: U2, orderId: b.id, qtyLots: 2 });
      expectEvents(events, [
        {
          kind: 'OrderAmended',
          seq: h.seq,
          userId: U2,
          orderId: b.id,
          side: SELL,
          priceTicks: 100,
          qtyLots: 2,
          remainingLots: 2,
          keptPriority: true,
          clientOrderId: 'b',
        },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [a.id, b.id, c.id]]]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[100, 12]] });
      // Its time stamp stays that of the original placement.
      assert.equal(h.book.openOrder(b.id)?.tsMicros, h.book.openOrder(a.id)!.tsMicros + 10);
    });

    it('keeps its place when the amend names the current price and a lower quantity', () => {
      const h = new Harness();
      const a = h.buy(U1, 100, 5);
      const b = h.buy(U2, 100, 5);
      expectEvents(h.amend({ userId: U1, orderId: a.id, priceTicks: 100, qtyLots: 4 }), [
        { kind: 'OrderAmended', priceTicks: 100, qtyLots: 4, keptPriority: true },
      ]);
      assert.deepEqual(h.queue(BUY), [[100, [a.id, b.id]]]);
    });

    it("applies the order's own STP mode when an amend makes it cross the user's other order", () => {
      const h = new Harness();
      const own = h.sell(U1, 102, 3);
      const other = h.sell(U2, 102, 3);
      const a = h.buy(U1, 100, 4, { stpMode: StpMode.EXPIRE_MAKER });
      expectEvents(h.amend({ userId: U1, orderId: a.id, priceTicks: 102, qtyLots: 4 }), [
        { kind: 'OrderAmended', keptPriority: false, remainingLots: 4 },
        {
          kind: 'SelfTradePrevented',
          stpMode: StpMode.EXPIRE_MAKER,
          takerOrderId: a.id,
          makerOrderId: own.id,
          makerPreventedLots: 3,
        },
        {
          kind: 'TradeExecuted',
          takerOrderId: a.id,
          makerOrderId: other.id,
          qtyLots: 3,
          takerRemainingLots: 1,
        },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [[102, 1]], asks: [] });
    });

    it('keeps priority on a quantity decrease of a partially filled order, counting the fill', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 10);
      const b = h.sell(U2, 100, 5);
      h.buy(U3, 100, 4);
      expectEvents(h.amend({ userId: U1, orderId: a.id, qtyLots: 7 }), [
        { kind: 'OrderAmended', qtyLots: 7, remainingLots: 3, keptPriority: true },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [a.id, b.id]]]);
      assert.deepEqual(h.book.l2().asks, [[100, 8]]);
      const resting = h.book.openOrder(a.id);
      assert.equal(resting?.qtyLots, 7);
      assert.equal(resting?.remainingLots, 3);
    });

    it('loses its place when the quantity goes up', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 5);
      const b = h.sell(U2, 100, 5);
      expectEvents(h.amend({ userId: U1, orderId: a.id, qtyLots: 6 }), [
        {
          kind: 'OrderAmended',
          orderId: a.id,
          priceTicks: 100,
          qtyLots: 6,
          remainingLots: 6,
          keptPriority: false,
        },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [b.id, a.id]]]);
      assert.deepEqual(h.book.l2().asks, [[100, 11]]);
      assert.equal(h.book.openOrder(a.id)?.tsMicros, h.ts, 'it takes the time of the amend');
    });

    it('loses its place when the price changes, joining the back of the new level', () => {
      const h = new Harness();
      const a = h.buy(U1, 100, 5);
      const b = h.buy(U2, 99, 5);
      expectEvents(h.amend({ userId: U1, orderId: a.id, priceTicks: 99, qtyLots: 5 }), [
        { kind: 'OrderAmended', priceTicks: 99, qtyLots: 5, remainingLots: 5, keptPriority: false },
      ]);
      assert.deepEqual(h.queue(BUY), [[99, [b.id, a.id]]]);
      assert.equal(h.book.levelCount(BUY), 1);
      assert.equal(h.book.bestBidTicks(), 99);
    });

    it('trades as a taker when the new price crosses, and rests the rest', () => {
      const h = new Harness();
      const ask = h.sell(U2, 102, 3);
      const a = h.buy(U1, 100, 5, { clientOrderId: 'amend-me' });
      const events = h.amend({ userId: U1, clientOrderId: 'amend-me', priceTicks: 103, qtyLots: 5 });
      expectEvents(events, [
        { kind: 'OrderAmended', orderId: a.id, priceTicks: 103, remainingLots: 5, keptPriority: false },
        {
          kind: 'TradeExecuted',
          priceTicks: 102,
          qtyLots: 3,
          takerSide: BUY,
          takerOrderId: a.id,
          takerRemainingLots: 2,
          makerOrderId: ask.id,
          makerRemainingLots: 0,
        },
      ]);
      assert.deepEqual(h.queue(BUY), [[103, [a.id]]]);
      assert.equal(h.book.openOrder(a.id)?.remainingLots, 2);
      assert.equal(h.book.openOrder(a.id)?.clientOrderId, 'amend-me');
      assert.deepEqual(h.book.l2(), { bids: [[103, 2]], asks: [] });
    });

    it('leaves the book when an amend that crosses fills it completely', () => {
      const h = new Harness();
      h.sell(U2, 102, 10);
      const a = h.buy(U1, 100, 5, { clientOrderId: 'gone' });
      const events = h.amend({ userId: U1, orderId: a.id, priceTicks: 102, qtyLots: 5 });
      assert.deepEqual(kinds(events), ['OrderAmended', 'TradeExecuted']);
      assert.equal(h.book.openOrder(a.id), undefined);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[102, 5]] });
      // Its client order id is free again.
      assert.deepEqual(kinds(h.buy(U1, 90, 1, { clientOrderId: 'gone' }).events), ['OrderAccepted']);
    });

    it('rejects AMEND_QTY_NOT_ABOVE_FILLED when the new quantity is not above what has filled', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 10);
      h.buy(U2, 100, 4);
      const before = h.book.exportState();
      for (const qty of [4, 3]) {
        expectEvents(h.amend({ userId: U1, orderId: a.id, qtyLots: qty }), [
          { kind: 'AmendRejected', orderId: a.id, code: ResultCode.AMEND_QTY_NOT_ABOVE_FILLED },
        ]);
      }
      assert.deepEqual(h.book.exportState(), before);
      expectEvents(h.amend({ userId: U1, orderId: a.id, qtyLots: 5 }), [
        { kind: 'OrderAmended', qtyLots: 5, remainingLots: 1, keptPriority: true },
      ]);
    });

    it('changes the client order id when asked, so that the old one no longer names the order', () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 10, { clientOrderId: 'old' });
      expectEvents(h.amend({ userId: U1, orderId: a.id, qtyLots: 9, newClientOrderId: 'new' }), [
        { kind: 'OrderAmended', clientOrderId: 'new', keptPriority: true },
      ]);
      expectEvents(h.cancel({ userId: U1, clientOrderId: 'old' }), [
        { kind: 'CancelRejected', code: ResultCode.UNKNOWN_ORDER },
      ]);
      expectEvents(h.cancel({ userId: U1, clientOrderId: 'new' }), [
        { kind: 'OrderCanceled', orderId: a.id },
      ]);
    });

    it('rejects a LIMIT_MAKER amend that would take (AMEND_WOULD_TAKE), leaving the order as it was', () => {
      const h = new Harness();
      h.sell(U2, 105, 3);
      const a = h.maker(U1, BUY, 100, 5);
      const before = h.book.exportState();
      expectEvents(h.amend({ userId: U1, orderId: a.id, priceTicks: 105, qtyLots: 5 }), [
        { kind: 'AmendRejected', userId: U1, orderId: a.id, code: ResultCode.AMEND_WOULD_TAKE },
      ]);
      assert.deepEqual(h.book.exportState(), before);
      expectEvents(h.amend({ userId: U1, orderId: a.id, priceTicks: 104, qtyLots: 5 }), [
        { kind: 'OrderAmended', priceTicks: 104, keptPriority: false },
      ]);
      assert.equal(h.book.openOrder(a.id)?.orderType, OrderType.LIMIT_MAKER);
    });

    it("treats another user's order as unknown", () => {
      const h = new Harness();
      const a = h.sell(U1, 100, 10);
      const before = h.book.exportState();
      expectEvents(h.amend({ userId: U2, orderId: a.id, qtyLots: 2 }), [
        { kind: 'AmendRejected', userId: U2, orderId: a.id, code: ResultCode.UNKNOWN_ORDER },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });
  });

  describe('cancel-replace', () => {
    it('cancels one order and places another in one command', () => {
      const h = new Harness();
      const old = h.buy(U1, 100, 5, { clientOrderId: 'v1' });
      const { id, events } = h.cancelReplace({
        userId: U1,
        cancelClientOrderId: 'v1',
        side: BUY,
        priceTicks: 101,
        qtyLots: 7,
        clientOrderId: 'v1',
      });
      expectEvents(events, [
        {
          kind: 'OrderCanceled',
          seq: h.seq,
          orderId: old.id,
          reason: CancelReason.CANCEL_REPLACE,
          canceledLots: 5,
        },
        { kind: 'OrderAccepted', seq: h.seq, orderId: id, priceTicks: 101, qtyLots: 7, clientOrderId: 'v1' },
      ]);
      assert.deepEqual(h.queue(BUY), [[101, [id]]]);
    });

    it('lets the new order trade', () => {
      const h = new Harness();
      const ask = h.sell(U2, 102, 2);
      const old = h.buy(U1, 100, 5);
      const { id, events } = h.cancelReplace({
        userId: U1,
        cancelOrderId: old.id,
        side: BUY,
        priceTicks: 102,
        qtyLots: 2,
        timeInForce: TimeInForce.IOC,
      });
      expectEvents(events, [
        { kind: 'OrderCanceled', orderId: old.id },
        { kind: 'OrderAccepted', orderId: id },
        { kind: 'TradeExecuted', takerOrderId: id, makerOrderId: ask.id, qtyLots: 2 },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it('does not attempt the new order when the cancel fails under STOP_ON_FAILURE', () => {
      const h = new Harness();
      h.buy(U1, 100, 5);
      h.sell(U2, 101, 5);
      const before = h.book.exportState();
      const { id, events } = h.cancelReplace({
        userId: U1,
        cancelOrderId: orderId(999),
        cancelReplaceMode: CancelReplaceMode.STOP_ON_FAILURE,
        side: BUY,
        priceTicks: 101,
        qtyLots: 1,
        clientOrderId: 'n',
      });
      expectEvents(events, [
        { kind: 'CancelRejected', orderId: 999, code: ResultCode.UNKNOWN_ORDER },
        {
          kind: 'OrderRejected',
          orderId: id,
          side: BUY,
          orderType: OrderType.LIMIT,
          code: ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED,
          clientOrderId: 'n',
        },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });

    it('places the new order even though the cancel fails under ALLOW_FAILURE', () => {
      const h = new Harness();
      const ask = h.sell(U2, 101, 5);
      const { id, events } = h.cancelReplace({
        userId: U1,
        cancelClientOrderId: 'nope',
        cancelReplaceMode: CancelReplaceMode.ALLOW_FAILURE,
        side: BUY,
        priceTicks: 101,
        qtyLots: 1,
      });
      expectEvents(events, [
        { kind: 'CancelRejected', code: ResultCode.UNKNOWN_ORDER, clientOrderId: 'nope' },
        { kind: 'OrderAccepted', orderId: id },
        { kind: 'TradeExecuted', takerOrderId: id, makerOrderId: ask.id, qtyLots: 1 },
      ]);
    });

    it('applies the cancel restriction to the cancel half', () => {
      const h = new Harness();
      const old = h.sell(U1, 100, 5);
      h.buy(U2, 100, 1);
      const before = h.book.exportState();
      const { events } = h.cancelReplace({
        userId: U1,
        cancelOrderId: old.id,
        cancelRestriction: CancelRestriction.ONLY_NEW,
        side: SELL,
        priceTicks: 100,
        qtyLots: 5,
      });
      expectEvents(events, [
        { kind: 'CancelRejected', code: ResultCode.CANCEL_RESTRICTED },
        { kind: 'OrderRejected', code: ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED },
      ]);
      assert.deepEqual(h.book.exportState(), before);
    });

    it('keeps the cancel when the new order is rejected (as Binance reports cancel SUCCESS, new order FAILURE)', () => {
      const h = new Harness();
      h.sell(U2, 101, 5);
      const old = h.buy(U1, 100, 5);
      const { events } = h.cancelReplace({
        userId: U1,
        cancelOrderId: old.id,
        orderType: OrderType.LIMIT_MAKER,
        timeInForce: TimeInForce.NONE,
        side: BUY,
        priceTicks: 101,
        qtyLots: 5,
      });
      expectEvents(events, [
        { kind: 'OrderCanceled', orderId: old.id, reason: CancelReason.CANCEL_REPLACE },
        { kind: 'OrderRejected', code: ResultCode.WOULD_TAKE },
      ]);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[101, 5]] });
    });
  });

  describe('self-trade prevention', () => {
    it('lets a user trade with themselves under NONE', () => {
      const h = new Harness();
      const maker = h.sell(U1, 100, 5);
      const { id, events } = h.buy(U1, 100, 3, { stpMode: StpMode.NONE });
      expectEvents(events, [
        { kind: 'OrderAccepted', stpMode: StpMode.NONE },
        {
          kind: 'TradeExecuted',
          takerUserId: U1,
          makerUserId: U1,
          takerOrderId: id,
          makerOrderId: maker.id,
          qtyLots: 3,
        },
      ]);
    });

    it('never prevents trades between different users', () => {
      const h = new Harness();
      h.sell(U2, 100, 5);
      const { events } = h.buy(U1, 100, 3, { stpMode: StpMode.EXPIRE_BOTH });
      assert.deepEqual(kinds(events), ['OrderAccepted', 'TradeExecuted']);
    });

    it('expires the taker under EXPIRE_TAKER, after what it filled before, leaving the maker', () => {
      const h = new Harness();
      const other = h.sell(U2, 100, 2);
      const own = h.sell(U1, 100, 4);
      h.sell(U2, 100, 9);
      const { id, events } = h.buy(U1, 101, 10, { stpMode: StpMode.EXPIRE_TAKER });
      expectEvents(events, [
        { kind: 'OrderAccepted', stpMode: StpMode.EXPIRE_TAKER },
        { kind: 'TradeExecuted', makerOrderId: other.id, qtyLots: 2, takerRemainingLots: 8 },
        {
          kind: 'SelfTradePrevented',
          seq: h.seq,
          preventedMatchId: 1,
          stpMode: StpMode.EXPIRE_TAKER,
          priceTicks: 100,
          userId: U1,
          takerOrderId: id,
          takerPreventedLots: 8,
          takerRemainingLots: 0,
          makerOrderId: own.id,
          makerPreventedLots: 0,
          makerRemainingLots: 4,
        },
      ]);
      assert.equal(h.book.openOrder(id), undefined, 'the GTC taker does not rest');
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[100, 13]] });
    });

    it('expires the maker under EXPIRE_MAKER and lets the taker go on matching', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 4);
      const other = h.sell(U2, 100, 2);
      const { id, events } = h.buy(U1, 100, 5, { stpMode: StpMode.EXPIRE_MAKER });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          stpMode: StpMode.EXPIRE_MAKER,
          takerOrderId: id,
          takerPreventedLots: 0,
          takerRemainingLots: 5,
          makerOrderId: own.id,
          makerPreventedLots: 4,
          makerRemainingLots: 0,
        },
        { kind: 'TradeExecuted', makerOrderId: other.id, qtyLots: 2, takerRemainingLots: 3 },
      ]);
      assert.equal(h.book.openOrder(own.id), undefined);
      assert.deepEqual(h.queue(BUY), [[100, [id]]]);
      assert.deepEqual(h.book.l2(), { bids: [[100, 3]], asks: [] });
    });

    it('expires both orders under EXPIRE_BOTH', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 4);
      h.sell(U2, 100, 2);
      const { id, events } = h.buy(U1, 100, 5, { stpMode: StpMode.EXPIRE_BOTH });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          stpMode: StpMode.EXPIRE_BOTH,
          takerOrderId: id,
          takerPreventedLots: 5,
          takerRemainingLots: 0,
          makerOrderId: own.id,
          makerPreventedLots: 4,
          makerRemainingLots: 0,
        },
      ]);
      assert.equal(h.book.openOrder(own.id), undefined);
      assert.equal(h.book.openOrder(id), undefined);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[100, 2]] });
    });

    it('decrements both by the smaller quantity under DECREMENT; a larger taker goes on', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 3);
      const other = h.sell(U2, 100, 2);
      const { id, events } = h.buy(U1, 100, 10, { stpMode: StpMode.DECREMENT });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          stpMode: StpMode.DECREMENT,
          takerOrderId: id,
          takerPreventedLots: 3,
          takerRemainingLots: 7,
          makerOrderId: own.id,
          makerPreventedLots: 3,
          makerRemainingLots: 0,
        },
        { kind: 'TradeExecuted', makerOrderId: other.id, qtyLots: 2, takerRemainingLots: 5 },
      ]);
      assert.equal(h.book.openOrder(own.id), undefined);
      const rest = h.book.openOrder(id);
      assert.equal(rest?.qtyLots, 10);
      assert.equal(rest?.remainingLots, 5);
    });

    it('decrements both under DECREMENT; a larger maker keeps its place with less', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 8);
      const other = h.sell(U2, 100, 2);
      const { id, events } = h.buy(U1, 100, 3, { stpMode: StpMode.DECREMENT });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          takerOrderId: id,
          takerPreventedLots: 3,
          takerRemainingLots: 0,
          makerOrderId: own.id,
          makerPreventedLots: 3,
          makerRemainingLots: 5,
        },
      ]);
      assert.deepEqual(h.queue(SELL), [[100, [own.id, other.id]]]);
      assert.equal(h.book.openOrder(own.id)?.remainingLots, 5);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [[100, 7]] });
    });

    it('ends both orders under DECREMENT when their quantities are equal', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 4);
      const { id, events } = h.buy(U1, 100, 4, { stpMode: StpMode.DECREMENT });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          takerOrderId: id,
          takerPreventedLots: 4,
          takerRemainingLots: 0,
          makerOrderId: own.id,
          makerPreventedLots: 4,
          makerRemainingLots: 0,
        },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it("uses the market's default mode for DEFAULT and reports the resolved mode", () => {
      const h = new Harness(simpleMarket({ defaultSelfTradePreventionMode: 'EXPIRE_TAKER' }));
      const own = h.sell(U1, 100, 4);
      const { id, events } = h.buy(U1, 100, 5);
      expectEvents(events, [
        { kind: 'OrderAccepted', stpMode: StpMode.EXPIRE_TAKER },
        { kind: 'SelfTradePrevented', stpMode: StpMode.EXPIRE_TAKER, takerOrderId: id, makerOrderId: own.id },
      ]);
      assert.equal(h.book.openOrder(own.id)?.stpMode, StpMode.EXPIRE_TAKER);
      // The simple market keeps Binance's default, EXPIRE_MAKER.
      const d = new Harness();
      d.sell(U1, 100, 4);
      expectEvents(d.buy(U1, 100, 5).events, [
        { kind: 'OrderAccepted', stpMode: StpMode.EXPIRE_MAKER },
        { kind: 'SelfTradePrevented', stpMode: StpMode.EXPIRE_MAKER, makerPreventedLots: 4 },
      ]);
    });

    it("lets an order's own mode override the market default", () => {
      const h = new Harness(simpleMarket({ defaultSelfTradePreventionMode: 'EXPIRE_TAKER' }));
      h.sell(U1, 100, 4);
      expectEvents(h.buy(U1, 100, 5, { stpMode: StpMode.NONE }).events, [
        { kind: 'OrderAccepted', stpMode: StpMode.NONE },
        { kind: 'TradeExecuted', qtyLots: 4 },
      ]);
    });

    it("decides by the taker's mode, not the maker's", () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 4, { stpMode: StpMode.EXPIRE_TAKER });
      const { id, events } = h.buy(U1, 100, 5, { stpMode: StpMode.EXPIRE_MAKER });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        {
          kind: 'SelfTradePrevented',
          stpMode: StpMode.EXPIRE_MAKER,
          makerOrderId: own.id,
          makerPreventedLots: 4,
        },
      ]);
      assert.deepEqual(h.queue(BUY), [[100, [id]]]);
    });

    it('numbers prevented matches gaplessly from 1, apart from trade ids', () => {
      const h = new Harness();
      h.sell(U2, 100, 1);
      h.sell(U1, 100, 1);
      h.sell(U1, 100, 1);
      const { events } = h.buy(U1, 100, 3, { stpMode: StpMode.EXPIRE_MAKER });
      assert.deepEqual(
        events.map((e) =>
          e.kind === 'TradeExecuted'
            ? `t${e.tradeId}`
            : e.kind === 'SelfTradePrevented'
              ? `p${e.preventedMatchId}`
              : '',
        ),
        ['', 't1', 'p1', 'p2'],
      );
      h.sell(U1, 101, 1);
      h.sell(U2, 101, 1);
      const second = h.buy(U1, 101, 1, { stpMode: StpMode.EXPIRE_MAKER });
      expectEvents(second.events, [
        { kind: 'OrderAccepted' },
        { kind: 'SelfTradePrevented', preventedMatchId: 3 },
        { kind: 'TradeExecuted', tradeId: 2 },
      ]);
    });

    it('prevents matches of a MARKET order: EXPIRE_TAKER ends it with no further expiry', () => {
      const h = new Harness();
      h.sell(U2, 100, 1);
      h.sell(U1, 101, 5);
      const { id, events } = h.marketOrder(U1, BUY, 4, { stpMode: StpMode.EXPIRE_TAKER });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'TradeExecuted', qtyLots: 1, takerRemainingLots: 3 },
        { kind: 'SelfTradePrevented', takerOrderId: id, takerPreventedLots: 3, takerRemainingLots: 0 },
      ]);
    });

    it('prevents matches of a MARKET order: EXPIRE_MAKER clears own orders, then the rest expires', () => {
      const h = new Harness();
      const own = h.sell(U1, 100, 5);
      const { id, events } = h.marketOrder(U1, BUY, 4, { stpMode: StpMode.EXPIRE_MAKER });
      expectEvents(events, [
        { kind: 'OrderAccepted' },
        { kind: 'SelfTradePrevented', makerOrderId: own.id, makerPreventedLots: 5, takerRemainingLots: 4 },
        { kind: 'OrderExpired', orderId: id, expiredLots: 4, reason: ExpiryReason.MARKET_NO_LIQUIDITY },
      ]);
      assert.deepEqual(h.book.l3(), { bids: [], asks: [] });
    });

    it('rejects STP_MODE_NOT_ALLOWED for a mode the market does not allow', () => {
      const m = simpleMarket({
        allowedSelfTradePreventionModes: ['EXPIRE_MAKER', 'EXPIRE_TAKER'],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      });
      const h = new Harness(m);
      h.sell(U1, 100, 4);
      const before = h.book.exportState();
      for (const mode of [StpMode.NONE, StpMode.EXPIRE_BOTH, StpMode.DECREMENT]) {
        const { id, events } = h.buy(U1, 100, 1, { stpMode: mode });
        expectEvents(events, [{ kind: 'OrderRejected', orderId: id, code: ResultCode.STP_MODE_NOT_ALLOWED }]);
      }
      assert.deepEqual(h.book.exportState(), before);
      assert.deepEqual(kinds(h.buy(U1, 100, 1, { stpMode: StpMode.EXPIRE_TAKER }).events), [
        'OrderAccepted',
        'SelfTradePrevented',
      ]);
    });
  });

  describe('trades', () => {
    it('reports each trade with its id, price, quantity, both orders, both users and both remainders', () => {
      const h = new Harness();
      const maker = h.buy(U1, 100, 5);
      const { id, events } = h.sell(U2, 99, 3);
      assert.deepEqual(events[1], {
        kind: 'TradeExecuted',
        seq: h.seq,
        tsMicros: h.ts,
        symbolId: h.market.symbolId,
        tradeId: 1,
        priceTicks: 100,
        qtyLots: 3,
        takerSide: SELL,
        takerUserId: U2,
        takerOrderId: id,
        takerRemainingLots: 0,
        makerUserId: U1,
        makerOrderId: maker.id,
        makerRemainingLots: 2,
      });
    });

    it('marks the buyer as maker exactly when the taker sells', () => {
      const h = new Harness();
      h.buy(U1, 100, 1);
      h.sell(U1, 101, 1);
      const sellTaker = ofKind(h.sell(U2, 100, 1).events, 'TradeExecuted')[0]!;
      const buyTaker = ofKind(h.buy(U2, 101, 1).events, 'TradeExecuted')[0]!;
      const isBuyerMaker = (t: typeof sellTaker): boolean => t.takerSide === SELL;
      assert.equal(isBuyerMaker(sellTaker), true);
      assert.equal(isBuyerMaker(buyTaker), false);
    });

    it('numbers trades gaplessly from 1 in each book', () => {
      const h = new Harness();
      const other = new Harness(simpleMarket({ symbol: 'OTHER' }, 1));
      for (let i = 0; i < 4; i++) h.sell(U1, 100 + i, 2);
      other.sell(U1, 100, 1);
      h.buy(U2, 200, 3); // two trades: 2 at 100, 1 at 101
      h.buy(U3, 200, 5); // three trades: 1 at 101, 2 at 102, 2 at 103
      h.marketOrder(U2, SELL, 1); // no bids: no trade
      other.buy(U2, 100, 1);
      const ids = ofKind(h.log, 'TradeExecuted').map((t) => t.tradeId);
      assert.deepEqual(ids, [1, 2, 3, 4, 5]);
      assert.equal(h.book.tradeIdCounter, 6);
      assert.deepEqual(
        ofKind(other.log, 'TradeExecuted').map((t) => t.tradeId),
        [1],
      );
    });

    it('stamps every event with the seq and time of the command that caused it', () => {
      const h = new Harness();
      h.sell(U1, 100, 1);
      h.sell(U1, 101, 1);
      const { events } = h.buy(U2, 101, 5, { timeInForce: TimeInForce.IOC });
      assert.equal(events.length, 4);
      for (const e of events) {
        assert.equal(e.seq, h.seq);
        assert.equal(e.tsMicros, h.ts);
        assert.equal(e.symbolId, h.market.symbolId);
      }
    });
  });

  describe('L2 view', () => {
    it('reports 0 for the best bid and ask of an empty book', () => {
      const h = new Harness();
      assert.equal(h.book.bestBidTicks(), 0);
      assert.equal(h.book.bestAskTicks(), 0);
      assert.deepEqual(h.book.l2(), { bids: [], asks: [] });
      assert.equal(h.book.depthInto(BUY, 10, new Float64Array(10), new Float64Array(10)), 0);
    });

    it('follows the best bid and ask as orders come and go', () => {
      const h = new Harness();
      const b1 = h.buy(U1, 98, 1);
      h.buy(U1, 97, 1);
      const a1 = h.sell(U2, 103, 1);
      h.sell(U2, 105, 1);
      assert.deepEqual([h.book.bestBidTicks(), h.book.bestAskTicks()], [98, 103]);
      h.buy(U1, 99, 1);
      h.sell(U2, 102, 1);
      assert.deepEqual([h.book.bestBidTicks(), h.book.bestAskTicks()], [99, 102]);
      h.marketOrder(U3, SELL, 1);
      h.marketOrder(U3, BUY, 1);
      assert.deepEqual([h.book.bestBidTicks(), h.book.bestAskTicks()], [98, 103]);
      h.cancel({ userId: U1, orderId: b1.id });
      h.cancel({ userId: U2, orderId: a1.id });
      assert.deepEqual([h.book.bestBidTicks(), h.book.bestAskTicks()], [97, 105]);
    });

    it('aggregates the orders of a level into its total', () => {
      const h = new Harness();
      h.buy(U1, 100, 1);
      h.buy(U2, 100, 2);
      h.buy(U3, 100, 3);
      h.sell(U1, 101, 7);
      assert.deepEqual(h.book.l2(), { bids: [[100, 6]], asks: [[101, 7]] });
      h.sell(U3, 100, 2);
      assert.deepEqual(h.book.l2(), { bids: [[100, 4]], asks: [[101, 7]] });
    });

    it('copies the top N levels, best first, into the caller arrays', () => {
      const h = new Harness();
      for (const p of [95, 99, 97, 96, 98]) h.buy(U1, p, p - 90);
      for (const p of [105, 101, 103]) h.sell(U2, p, p - 100);
      const prices = new Float64Array(3);
      const lots = new Float64Array(3);
      assert.equal(h.book.depthInto(BUY, 3, prices, lots), 3);
      assert.deepEqual([...prices], [99, 98, 97]);
      assert.deepEqual([...lots], [9, 8, 7]);
      assert.equal(h.book.depthInto(SELL, 10, prices, lots), 3, 'capped by the arrays');
      assert.deepEqual([...prices], [101, 103, 105]);
      assert.deepEqual([...lots], [1, 3, 5]);
      const big = new Float64Array(10);
      assert.equal(h.book.depthInto(SELL, 2, big, new Float64Array(10)), 2, 'capped by maxLevels');
      assert.deepEqual([...big.subarray(0, 3)], [101, 103, 0]);
      assert.equal(h.book.depthInto(BUY, 10, big, new Float64Array(10)), 5, 'capped by the levels there');
    });

    it('gives the top N levels and the full depth through l2()', () => {
      const h = new Harness();
      for (const p of [95, 99, 97, 96, 98]) h.buy(U1, p, 1);
      for (const p of [105, 101, 103]) h.sell(U2, p, 2);
      assert.deepEqual(h.book.l2(2), {
        bids: [
          [99, 1],
          [98, 1],
        ],
        asks: [
          [101, 2],
          [103, 2],
        ],
      });
      const full = h.book.l2();
      assert.deepEqual(
        full.bids.map((l) => l[0]),
        [99, 98, 97, 96, 95],
      );
      assert.deepEqual(
        full.asks.map((l) => l[0]),
        [101, 103, 105],
      );
      assert.equal(h.book.levelCount(BUY), 5);
      assert.equal(h.book.levelCount(SELL), 3);
      assert.deepEqual(h.book.l2(0), { bids: [], asks: [] });
    });

    it('sorts many levels inserted in random order, and keeps them sorted as levels empty', () => {
      const h = new Harness(simpleMarket(), { initialOrders: 16 });
      const n = 600; // beyond the initial 256 level slots and ladder keys
      const bidPrices = shuffled(
        Array.from({ length: n }, (_, i) => 1000 + i),
        7,
      );
      const askPrices = shuffled(
        Array.from({ length: n }, (_, i) => 2000 + i),
        11,
      );
      for (let i = 0; i < n; i++) {
        h.buy(U1, bidPrices[i]!, 1 + (bidPrices[i]! % 3));
        h.sell(U2, askPrices[i]!, 1 + (askPrices[i]! % 5));
      }
      const l2 = h.book.l2();
      assert.deepEqual(
        l2.bids,
        Array.from({ length: n }, (_, i) => [1599 - i, 1 + ((1599 - i) % 3)]),
      );
      assert.deepEqual(
        l2.asks,
        Array.from({ length: n }, (_, i) => [2000 + i, 1 + ((2000 + i) % 5)]),
      );
      // Empty every third bid level by cancelling (ids of bids are odd: 1, 3, 5, ...).
      const removed = new Set<number>();
      for (let i = 0; i < n; i += 3) {
        h.cancel({ userId: U1, orderId: orderId(2 * i + 1) });
        removed.add(bidPrices[i]!);
      }
      const expected = Array.from({ length: n }, (_, i) => 1599 - i).filter((p) => !removed.has(p));
      assert.deepEqual(
        h.book.l2().bids.map((l) => l[0]),
        expected,
      );
      assert.equal(h.book.bestBidTicks(), expected[0]);
      assert.equal(h.book.orderCount, 2 * n - removed.size);
    });
  });

  describe('state export and restore', () => {
    /** A book with some history: fills, partial fills, amends, cancels, STP, client ids. */
    function busyBook(): Harness {
      const h = new Harness();
      h.buy(U1, 100, 5, { clientOrderId: 'b1' });
      h.buy(U2, 100, 3);
      h.buy(U3, 99, 7, { stpMode: StpMode.DECREMENT });
      h.sell(U1, 105, 4, { stpMode: StpMode.EXPIRE_TAKER });
      const a = h.sell(U2, 104, 6, { clientOrderId: 'a2' });
      h.maker(U3, SELL, 106, 2);
      h.sell(U3, 100, 2); // fills part of U1's bid
      h.amend({ userId: U2, orderId: a.id, qtyLots: 5 });
      h.buy(U1, 98, 1);
      h.sell(U2, 110, 3);
      h.buy(U1, 99, 2, { clientOrderId: 'later' });
      h.amend({ userId: U1, clientOrderId: 'b1', qtyLots: 4 });
      h.marketOrder(U3, BUY, 1, { stpMode: StpMode.EXPIRE_MAKER });
      return h;
    }

    it('restores the same orders in the same priority, with the same counters', () => {
      const h = busyBook();
      const state = h.book.exportState();
      const restored = OrderBook.restore(h.market, state);
      assert.deepEqual(restored.l3(), h.book.l3());
      assert.deepEqual(restored.exportState(), state);
      assert.equal(restored.tradeIdCounter, h.book.tradeIdCounter);
      assert.equal(restored.orderCount, h.book.orderCount);
      assert.deepEqual(restored.l2(), h.book.l2());
      for (const u of [U1, U2, U3]) {
        assert.deepEqual(
          restored
            .openOrdersOf(u)
            .map((o) => o.orderId)
            .sort(),
          h.book
            .openOrdersOf(u)
            .map((o) => o.orderId)
            .sort(),
        );
      }
    });

    it('survives a JSON round trip of the state', () => {
      const h = busyBook();
      const state = JSON.parse(JSON.stringify(h.book.exportState()));
      assert.deepEqual(OrderBook.restore(h.market, state).l3(), h.book.l3());
    });

    it('produces the same future events as the original book', () => {
      const h = busyBook();
      const restored = new Harness(h.market, {}, OrderBook.restore(h.market, h.book.exportState()));
      restored.seq = h.seq;
      restored.ts = h.ts;
      restored.nextOrderId = h.nextOrderId;
      const script = (x: Harness): unknown[] => [
        x.marketOrder(U2, SELL, 6).events,
        x.buy(U1, 106, 10, { stpMode: StpMode.EXPIRE_MAKER }).events,
        x.cancel({ userId: U1, clientOrderId: 'later' }),
        x.amend({ userId: U2, clientOrderId: 'a2', priceTicks: 99, qtyLots: 5 }),
        x.sell(U3, 98, 20, { stpMode: StpMode.DECREMENT }).events,
        x.cancelAll(U1),
        x.cancelAll(U3),
        x.cancelAll(U2),
        x.marketQuote(U1, BUY, 1000).events,
      ];
      assert.deepEqual(script(restored), script(h));
      assert.deepEqual(restored.book.exportState(), h.book.exportState());
    });

    it('refuses a state exported from another symbol', () => {
      const h = busyBook();
      const other = simpleMarket({ symbol: 'OTHER' }, 1);
      assert.throws(() => OrderBook.restore(other, h.book.exportState()), /XYZUSD/);
    });
  });

  describe('event buffer', () => {
    it('writes every event of a command even when the writer must grow', () => {
      const h = new Harness();
      for (let i = 0; i < 50; i++) h.sell(i % 2 === 0 ? U1 : U2, 100 + (i % 7), 1);
      const out = new EventWriter(1);
      h.book.execute(
        {
          kind: 'PlaceOrder',
          seq: seq(999),
          tsMicros: 5,
          symbolId: h.market.symbolId,
          userId: U3,
          orderId: orderId(1000),
          side: BUY,
          orderType: OrderType.MARKET,
          timeInForce: TimeInForce.NONE,
          stpMode: StpMode.DEFAULT,
          priceTicks: 0,
          qtyLots: 60,
          quoteQtyUnits: 0,
          clientOrderId: '',
        },
        out,
      );
      assert.equal(out.count, 52); // accepted + 50 trades + expired
    });
  });
});
