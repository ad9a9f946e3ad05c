/**
 * The order replies, field for field against Binance's documented shapes, driven by a real
 * engine: POST order in ACK, RESULT and FULL (fills with commissions: the buyer pays in the
 * base asset, the seller in the quote asset), every order type and time in force, partial
 * fills, IOC/FOK/MARKET remainders (EXPIRED with expiryReason), self-trade prevention
 * (EXPIRED_IN_MATCH, preventedMatches), MARKET by quoteOrderQty, order/test, DELETE order and
 * openOrders, cancelReplace in both modes with its -2021/-2022 shapes, amend/keepPriority,
 * and the GET order shape. Fees are 0.1% for maker and taker.
 */
import assert from 'node:assert/strict';
import { parseQueryOrder, parseTestOrder } from '../../gateway/orders/order-params.ts';
import { orderQueryResponse, queryOrder, testOrderResponse } from '../../gateway/orders/order-response.ts';
import { ALICE, BOB, BTCUSDT, CAROL, Exchange, error, markets, ms, T0, value } from './order-harness.ts';

const limit = (
  side: 'BUY' | 'SELL',
  price: string,
  quantity: string,
  extra: Record<string, string> = {},
) => ({
  symbol: 'BTCUSDT',
  side,
  type: 'LIMIT',
  timeInForce: 'GTC',
  price,
  quantity,
  ...extra,
});

/** Alice with 100,000 USDT, Bob with 1 BTC, Carol with both: commands 1-4. */
function funded(): Exchange {
  const x = new Exchange();
  x.fund(ALICE, 'USDT', '100000');
  x.fund(BOB, 'BTC', '1');
  x.fund(CAROL, 'BTC', '1');
  x.fund(CAROL, 'USDT', '100000');
  return x;
}

describe('order replies', () => {
  describe('POST /api/v3/order', () => {
    it('answers a resting LIMIT GTC in FULL by default: status NEW, no fills', () => {
      const x = funded();
      const { reply } = x.order(ALICE, limit('BUY', '50000', '0.1', { newClientOrderId: 'alice-1' }));
      assert.deepEqual(value(reply), {
        symbol: 'BTCUSDT',
        orderId: 1,
        orderListId: -1,
        clientOrderId: 'alice-1',
        transactTime: ms(5),
        price: '50000.00000000',
        origQty: '0.10000000',
        executedQty: '0.00000000',
        origQuoteOrderQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'NEW',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        workingTime: ms(5),
        selfTradePreventionMode: 'EXPIRE_MAKER',
        fills: [],
      });
    });

    it('lists each fill at the maker price with the taker commission in the asset it receives', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.03');
      x.rest(BOB, 'SELL', '50001', '0.02');
      const { reply } = x.order(ALICE, limit('BUY', '50001', '0.1'));
      const r = value(reply);
      assert.ok('fills' in r);
      assert.equal(r.status, 'PARTIALLY_FILLED');
      assert.equal(r.executedQty, '0.05000000');
      assert.equal(r.cummulativeQuoteQty, '2500.02000000');
      assert.deepEqual(r.fills, [
        {
          price: '50000.00000000',
          qty: '0.03000000',
          commission: '0.00003000',
          commissionAsset: 'BTC',
          tradeId: 1,
        },
        {
          price: '50001.00000000',
          qty: '0.02000000',
          commission: '0.00002000',
          commissionAsset: 'BTC',
          tradeId: 2,
        },
      ]);
    });

    it('charges a selling taker its commission in the quote asset', () => {
      const x = funded();
      x.rest(ALICE, 'BUY', '50000', '0.02');
      const { reply } = x.order(BOB, { symbol: 'BTCUSDT', side: 'SELL', type: 'MARKET', quantity: '0.02' });
      const r = value(reply);
      assert.ok('fills' in r);
      assert.equal(r.status, 'FILLED');
      assert.equal(r.price, '0.00000000');
      assert.equal(r.timeInForce, 'GTC', 'Binance shows GTC for MARKET orders');
      assert.deepEqual(r.fills, [
        {
          price: '50000.00000000',
          qty: '0.02000000',
          commission: '1.00000000',
          commissionAsset: 'USDT',
          tradeId: 1,
        },
      ]);
    });

    it('answers RESULT without fills and ACK with the five identifying fields only', () => {
      const x = funded();
      const result = value(
        x.order(ALICE, limit('BUY', '50000', '0.1', { newOrderRespType: 'RESULT' })).reply,
      );
      assert.equal('fills' in result, false);
      assert.equal((result as { status: string }).status, 'NEW');
      const ack = value(x.order(ALICE, limit('BUY', '49000', '0.1', { newOrderRespType: 'ACK' })).reply);
      assert.deepEqual(ack, {
        symbol: 'BTCUSDT',
        orderId: 2,
        orderListId: -1,
        clientOrderId: 'gen-6',
        transactTime: ms(6),
      });
    });

    it('answers LIMIT_MAKER in ACK by default, as Binance does for types other than LIMIT and MARKET', () => {
      const x = funded();
      const r = value(
        x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT_MAKER', price: '1', quantity: '5' })
          .reply,
      );
      assert.deepEqual(Object.keys(r), ['symbol', 'orderId', 'orderListId', 'clientOrderId', 'transactTime']);
    });

    it('refuses a LIMIT_MAKER that would take with -2010 "Order would immediately match and take."', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const { reply } = x.order(ALICE, {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT_MAKER',
        price: '50000',
        quantity: '0.01',
      });
      assert.deepEqual(error(reply), {
        code: -2010,
        msg: 'Order would immediately match and take.',
        status: 400,
      });
    });

    it('refuses an order the account cannot pay with -2010 "Account has insufficient balance for requested action."', () => {
      const x = funded();
      const { reply } = x.order(ALICE, limit('BUY', '50000', '3'));
      assert.deepEqual(error(reply), {
        code: -2010,
        msg: 'Account has insufficient balance for requested action.',
        status: 400,
      });
    });

    it('expires the rest of an IOC: EXPIRED with expiryReason UNFILLED_IOC_QUANTITY_EXPIRED', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const r = value(x.order(ALICE, limit('BUY', '50000', '0.03', { timeInForce: 'IOC' })).reply);
      assert.deepEqual(
        { ...r, fills: undefined },
        {
          symbol: 'BTCUSDT',
          orderId: 2,
          orderListId: -1,
          clientOrderId: 'gen-6',
          transactTime: ms(6),
          price: '50000.00000000',
          origQty: '0.03000000',
          executedQty: '0.01000000',
          origQuoteOrderQty: '0.00000000',
          cummulativeQuoteQty: '500.00000000',
          status: 'EXPIRED',
          timeInForce: 'IOC',
          type: 'LIMIT',
          side: 'BUY',
          workingTime: ms(6),
          selfTradePreventionMode: 'EXPIRE_MAKER',
          expiryReason: 'UNFILLED_IOC_QUANTITY_EXPIRED',
          fills: undefined,
        },
      );
    });

    it('expires a FOK that cannot fill completely without trading: UNFILLED_FOK_ORDER_EXPIRED', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const r = value(x.order(ALICE, limit('BUY', '50000', '0.02', { timeInForce: 'FOK' })).reply);
      assert.ok('fills' in r);
      assert.equal(r.status, 'EXPIRED');
      assert.equal(r.executedQty, '0.00000000');
      assert.equal(r.expiryReason, 'UNFILLED_FOK_ORDER_EXPIRED');
      assert.deepEqual(r.fills, []);
    });

    it('fills a FOK that can fill completely: FILLED, no expiryReason', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.02');
      const r = value(x.order(ALICE, limit('BUY', '50000', '0.02', { timeInForce: 'FOK' })).reply);
      assert.ok('status' in r);
      assert.equal(r.status, 'FILLED');
      assert.equal('expiryReason' in r, false);
    });

    it('expires a MARKET order beyond the book: INSUFFICIENT_LIQUIDITY', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const r = value(
        x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.05' }).reply,
      );
      assert.ok('status' in r);
      assert.deepEqual(
        [r.status, r.origQty, r.executedQty, r.expiryReason],
        ['EXPIRED', '0.05000000', '0.01000000', 'INSUFFICIENT_LIQUIDITY'],
      );
    });

    it('buys by quoteOrderQty level by level and calls the unspendable rest dust: FILLED', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      x.rest(BOB, 'SELL', '50100', '0.01');
      const r = value(
        x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quoteOrderQty: '1000' }).reply,
      );
      assert.ok('fills' in r);
      // 0.01 BTC at 50000 (500 USDT), then 998 lots at 50100 (499.998 USDT): 0.002 USDT buys no lot.
      assert.deepEqual(
        [r.status, r.origQty, r.executedQty, r.origQuoteOrderQty, r.cummulativeQuoteQty],
        ['FILLED', '0.01998000', '0.01998000', '1000.00000000', '999.99800000'],
      );
      assert.deepEqual(
        r.fills.map((f) => [f.price, f.qty]),
        [
          ['50000.00000000', '0.01000000'],
          ['50100.00000000', '0.00998000'],
        ],
      );
    });

    it('expires a quoteOrderQty order whose budget outlives the book: EXPIRED, INSUFFICIENT_LIQUIDITY', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const r = value(
        x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quoteOrderQty: '1000' }).reply,
      );
      assert.ok('status' in r);
      assert.deepEqual(
        [r.status, r.executedQty, r.cummulativeQuoteQty, r.expiryReason],
        ['EXPIRED', '0.01000000', '500.00000000', 'INSUFFICIENT_LIQUIDITY'],
      );
    });

    it('answers microsecond times when asked (X-MBX-TIME-UNIT: MICROSECOND)', async () => {
      const x = funded();
      const { req, events } = x.order(ALICE, limit('BUY', '50000', '0.1', { newOrderRespType: 'ACK' }));
      const { newOrderResponse } = await import('../../gateway/orders/order-response.ts');
      const r = value(newOrderResponse(req, events, { timeUnit: 'MICROSECOND' }));
      assert.equal(r.transactTime, T0 + 5000);
    });
  });

  describe('self-trade prevention in the reply', () => {
    it('EXPIRE_TAKER: the taker ends EXPIRED_IN_MATCH with its prevented match and quantity', () => {
      const x = funded();
      const own = x.rest(CAROL, 'SELL', '50000', '0.01');
      const r = value(
        x.order(CAROL, limit('BUY', '50000', '0.03', { selfTradePreventionMode: 'EXPIRE_TAKER' })).reply,
      );
      assert.ok('fills' in r);
      assert.equal(r.status, 'EXPIRED_IN_MATCH');
      assert.equal(r.selfTradePreventionMode, 'EXPIRE_TAKER');
      assert.deepEqual(r.preventedMatches, [
        {
          preventedMatchId: 1,
          makerOrderId: own,
          price: '50000.00000000',
          takerPreventedQuantity: '0.03000000',
        },
      ]);
      assert.equal(r.preventedQuantity, '0.03000000');
      assert.equal('expiryReason' in r, false, 'expiryReason is for EXPIRED, not EXPIRED_IN_MATCH');
      // The maker stays on the book untouched.
      assert.equal(x.view.order(CAROL, BTCUSDT.symbolId, own)?.status, 'NEW');
    });

    it('EXPIRE_MAKER (the market default): the own maker expires, the taker rests', () => {
      const x = funded();
      const own = x.rest(CAROL, 'SELL', '50000', '0.01');
      const r = value(x.order(CAROL, limit('BUY', '50000', '0.03')).reply);
      assert.ok('fills' in r);
      assert.equal(r.status, 'NEW');
      assert.deepEqual(r.preventedMatches, [
        {
          preventedMatchId: 1,
          makerOrderId: own,
          price: '50000.00000000',
          makerPreventedQuantity: '0.01000000',
        },
      ]);
      assert.equal('preventedQuantity' in r, false, 'nothing was taken from the taker');
      const maker = orderQueryResponse(x.view.order(CAROL, BTCUSDT.symbolId, own)!, BTCUSDT);
      assert.equal(maker.status, 'EXPIRED_IN_MATCH');
      assert.equal(maker.preventedMatchId, 1);
      assert.equal(maker.preventedQuantity, '0.01000000');
    });

    it('DECREMENT: both sides lose the smaller quantity and the reply shows both', () => {
      const x = funded();
      const own = x.rest(CAROL, 'BUY', '50000', '0.06');
      const r = value(
        x.order(CAROL, limit('SELL', '50000', '0.02', { selfTradePreventionMode: 'DECREMENT' })).reply,
      );
      assert.ok('fills' in r);
      assert.equal(r.status, 'EXPIRED_IN_MATCH');
      assert.deepEqual(r.preventedMatches, [
        {
          preventedMatchId: 1,
          makerOrderId: own,
          price: '50000.00000000',
          takerPreventedQuantity: '0.02000000',
          makerPreventedQuantity: '0.02000000',
        },
      ]);
      const maker = x.view.order(CAROL, BTCUSDT.symbolId, own)!;
      assert.deepEqual([maker.status, maker.preventedLots, maker.remainingLots], ['NEW', 2000, 4000]);
    });
  });

  describe('POST /api/v3/order/test', () => {
    it('answers {} without computeCommissionRates', () => {
      const x = funded();
      const req = value(parseTestOrder(limit('BUY', '50000', '0.1'), x.ctx(ALICE)));
      assert.deepEqual(testOrderResponse(req, { makerPpm: 1000, takerPpm: 1000 }), {});
    });

    it("answers the user's rates with computeCommissionRates=true", () => {
      const x = funded();
      const req = value(
        parseTestOrder(limit('BUY', '50000', '0.1', { computeCommissionRates: 'true' }), x.ctx(ALICE)),
      );
      assert.deepEqual(testOrderResponse(req, { makerPpm: 800, takerPpm: 1000 }), {
        standardCommissionForOrder: { maker: '0.00080000', taker: '0.00100000' },
        specialCommissionForOrder: { maker: '0.00000000', taker: '0.00000000' },
        taxCommissionForOrder: { maker: '0.00000000', taker: '0.00000000' },
        discount: {
          enabledForAccount: false,
          enabledForSymbol: false,
          discountAsset: 'BNB',
          discount: '0.00000000',
        },
      });
    });
  });

  describe('DELETE /api/v3/order', () => {
    it('cancels by orderId and answers with the order and the cancel client order id', () => {
      const x = funded();
      const id = x.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'mine' });
      const { reply } = x.cancel(ALICE, {
        symbol: 'BTCUSDT',
        orderId: String(id),
        newClientOrderId: 'undo-1',
      });
      assert.deepEqual(value(reply), {
        symbol: 'BTCUSDT',
        origClientOrderId: 'mine',
        orderId: id,
        orderListId: -1,
        clientOrderId: 'undo-1',
        transactTime: ms(6),
        price: '50000.00000000',
        origQty: '0.10000000',
        executedQty: '0.00000000',
        origQuoteOrderQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'CANCELED',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
    });

    it('cancels by origClientOrderId; without newClientOrderId the cancel gets a derived id', () => {
      const x = funded();
      const id = x.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'by-cid' });
      const r = value(x.cancel(ALICE, { symbol: 'BTCUSDT', origClientOrderId: 'by-cid' }).reply);
      assert.equal(r.orderId, id);
      assert.equal(r.clientOrderId, `cancel-${(6).toString(36)}-${id.toString(36)}`);
    });

    it('reports what a partially filled order executed when it is canceled', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05');
      x.order(ALICE, limit('BUY', '50000', '0.02'));
      const r = value(x.cancel(BOB, { symbol: 'BTCUSDT', orderId: String(id) }).reply);
      assert.deepEqual(
        [r.origQty, r.executedQty, r.cummulativeQuoteQty, r.status],
        ['0.05000000', '0.02000000', '1000.00000000', 'CANCELED'],
      );
    });

    it('refuses an unknown order, another user\'s order and an id no order has with -2011 "Unknown order sent."', () => {
      const x = funded();
      const id = x.rest(ALICE, 'BUY', '50000', '0.1');
      const unknown = { code: -2011, msg: 'Unknown order sent.', status: 400 };
      assert.deepEqual(error(x.cancel(BOB, { symbol: 'BTCUSDT', orderId: String(id) }).reply), unknown);
      assert.deepEqual(error(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: '999' }).reply), unknown);
      assert.deepEqual(error(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: '0' }).reply), unknown);
      assert.deepEqual(
        error(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: '99999999999999999999' }).reply),
        unknown,
      );
      assert.deepEqual(
        error(x.cancel(ALICE, { symbol: 'BTCUSDT', origClientOrderId: 'nope' }).reply),
        unknown,
      );
    });

    it('cancels with both ids only when they name the same order (Binance checks both)', () => {
      const x = funded();
      const a = x.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'a' });
      x.rest(ALICE, 'BUY', '49000', '0.1', { newClientOrderId: 'b' });
      assert.equal(
        error(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(a), origClientOrderId: 'b' }).reply).code,
        -2011,
      );
      assert.equal(
        value(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(a), origClientOrderId: 'a' }).reply)
          .orderId,
        a,
      );
    });

    it('honours cancelRestrictions: -2011 "Order was not canceled due to cancel restrictions."', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05');
      x.order(ALICE, limit('BUY', '50000', '0.01'));
      assert.deepEqual(
        error(
          x.cancel(BOB, { symbol: 'BTCUSDT', orderId: String(id), cancelRestrictions: 'ONLY_NEW' }).reply,
        ),
        { code: -2011, msg: 'Order was not canceled due to cancel restrictions.', status: 400 },
      );
      const r = x.cancel(BOB, {
        symbol: 'BTCUSDT',
        orderId: String(id),
        cancelRestrictions: 'ONLY_PARTIALLY_FILLED',
      });
      assert.equal(value(r.reply).status, 'CANCELED');
    });
  });

  describe('DELETE /api/v3/openOrders', () => {
    it("cancels every open order of the user on the symbol, in order id order, and no one else's", () => {
      const x = funded();
      const a = x.rest(ALICE, 'BUY', '50000', '0.1');
      x.rest(CAROL, 'BUY', '50000', '0.1');
      const b = x.rest(ALICE, 'BUY', '49000', '0.1', { newClientOrderId: 'second' });
      const r = value(x.cancelAll(ALICE, { symbol: 'BTCUSDT' }).reply);
      assert.deepEqual(
        r.map((c) => [c.orderId, c.origClientOrderId, c.status, c.price]),
        [
          [a, 'gen-5', 'CANCELED', '50000.00000000'],
          [b, 'second', 'CANCELED', '49000.00000000'],
        ],
      );
      assert.equal(x.view.openOrders(ALICE).length, 0);
      assert.equal(x.view.openOrders(CAROL).length, 1);
    });

    it('refuses with -2011 "Unknown order sent." when there is nothing to cancel', () => {
      const x = funded();
      assert.deepEqual(error(x.cancelAll(ALICE, { symbol: 'BTCUSDT' }).reply), {
        code: -2011,
        msg: 'Unknown order sent.',
        status: 400,
      });
    });
  });

  describe('POST /api/v3/order/cancelReplace', () => {
    /** A cancel-replace to a LIMIT BUY 0.1 at 49000; an `undefined` in `extra` removes that parameter. */
    const replace = (extra: Record<string, string | undefined>): Record<string, string> => {
      const all: Record<string, string | undefined> = {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '49000',
        quantity: '0.1',
        cancelReplaceMode: 'STOP_ON_FAILURE',
        ...extra,
      };
      return Object.fromEntries(
        Object.entries(all).filter((kv): kv is [string, string] => kv[1] !== undefined),
      );
    };

    it('answers SUCCESS/SUCCESS with the cancel and the new order (FULL)', () => {
      const x = funded();
      const old = x.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'v1' });
      const r = value(
        x.cancelReplace(
          ALICE,
          replace({ cancelOrderId: String(old), cancelNewClientOrderId: 'undo-v1', newClientOrderId: 'v2' }),
        ).reply,
      );
      assert.equal(r.cancelResult, 'SUCCESS');
      assert.equal(r.newOrderResult, 'SUCCESS');
      assert.deepEqual(r.cancelResponse, {
        symbol: 'BTCUSDT',
        origClientOrderId: 'v1',
        orderId: old,
        orderListId: -1,
        clientOrderId: 'undo-v1',
        transactTime: ms(6),
        price: '50000.00000000',
        origQty: '0.10000000',
        executedQty: '0.00000000',
        origQuoteOrderQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'CANCELED',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
      const n = r.newOrderResponse as unknown as {
        clientOrderId: string;
        status: string;
        price: string;
        fills: unknown[];
      };
      assert.deepEqual([n.clientOrderId, n.status, n.price, n.fills], ['v2', 'NEW', '49000.00000000', []]);
    });

    it('STOP_ON_FAILURE: a failed cancel leaves the new order unattempted: -2022 with data', () => {
      const x = funded();
      const e = error(x.cancelReplace(ALICE, replace({ cancelOrderId: '424242' })).reply);
      assert.deepEqual(e, {
        code: -2022,
        msg: 'Order cancel-replace failed.',
        status: 400,
        data: {
          cancelResult: 'FAILURE',
          newOrderResult: 'NOT_ATTEMPTED',
          cancelResponse: { code: -2011, msg: 'Unknown order sent.' },
          newOrderResponse: null,
        },
      });
      assert.equal(x.view.openOrders(ALICE).length, 0);
    });

    it('ALLOW_FAILURE: a failed cancel still places the new order: -2021 (HTTP 409) with the new order', () => {
      const x = funded();
      const e = error(
        x.cancelReplace(
          ALICE,
          replace({
            cancelOrigClientOrderId: 'nope',
            cancelReplaceMode: 'ALLOW_FAILURE',
            newOrderRespType: 'ACK',
          }),
        ).reply,
      );
      assert.equal(e.code, -2021);
      assert.equal(e.msg, 'Order cancel-replace partially failed.');
      assert.equal(e.status, 409);
      assert.deepEqual(e.data, {
        cancelResult: 'FAILURE',
        newOrderResult: 'SUCCESS',
        cancelResponse: { code: -2011, msg: 'Unknown order sent.' },
        newOrderResponse: {
          symbol: 'BTCUSDT',
          orderId: 1,
          orderListId: -1,
          clientOrderId: 'gen-5',
          transactTime: ms(5),
        },
      });
      assert.equal(x.view.openOrders(ALICE).length, 1);
    });

    it('a successful cancel and a refused new order: -2021 with the cancel and the refusal', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const old = x.rest(ALICE, 'BUY', '49000', '0.1');
      const e = error(
        x.cancelReplace(
          ALICE,
          replace({
            cancelOrderId: String(old),
            type: 'LIMIT_MAKER',
            price: '50000',
            timeInForce: undefined,
          }),
        ).reply,
      );
      assert.equal(e.code, -2021);
      const data = e.data as {
        cancelResult: string;
        newOrderResult: string;
        cancelResponse: { orderId: number };
        newOrderResponse: unknown;
      };
      assert.deepEqual(
        [data.cancelResult, data.newOrderResult, data.cancelResponse.orderId, data.newOrderResponse],
        ['SUCCESS', 'FAILURE', old, { code: -2010, msg: 'Order would immediately match and take.' }],
      );
      assert.equal(x.view.openOrders(ALICE).length, 0, 'the cancel stands');
    });

    it('both halves failing under ALLOW_FAILURE: -2022 FAILURE/FAILURE', () => {
      const x = funded();
      x.rest(BOB, 'SELL', '50000', '0.01');
      const e = error(
        x.cancelReplace(
          ALICE,
          replace({
            cancelOrderId: '777',
            cancelReplaceMode: 'ALLOW_FAILURE',
            type: 'LIMIT_MAKER',
            price: '50000',
            timeInForce: undefined,
          }),
        ).reply,
      );
      assert.equal(e.code, -2022);
      assert.deepEqual(e.data, {
        cancelResult: 'FAILURE',
        newOrderResult: 'FAILURE',
        cancelResponse: { code: -2011, msg: 'Unknown order sent.' },
        newOrderResponse: { code: -2010, msg: 'Order would immediately match and take.' },
      });
    });

    it('a new order the account cannot pay: nothing is attempted, -2022 with the cancel NOT_ATTEMPTED', () => {
      const x = funded();
      const old = x.rest(ALICE, 'BUY', '49000', '0.1');
      const e = error(x.cancelReplace(ALICE, replace({ cancelOrderId: String(old), quantity: '5' })).reply);
      assert.deepEqual(e.data, {
        cancelResult: 'NOT_ATTEMPTED',
        newOrderResult: 'FAILURE',
        cancelResponse: null,
        newOrderResponse: { code: -2010, msg: 'Account has insufficient balance for requested action.' },
      });
      assert.equal(x.view.openOrders(ALICE).length, 1, 'the old order is still there');
    });
  });

  describe('PUT /api/v3/order/amend/keepPriority', () => {
    it('lowers the quantity in place and answers transactTime, executionId and the amended order', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05', { newClientOrderId: 'before' });
      const r = value(
        x.amend(BOB, { symbol: 'BTCUSDT', orderId: String(id), newQty: '0.03', newClientOrderId: 'after' })
          .reply,
      );
      assert.deepEqual(r, {
        transactTime: ms(6),
        executionId: 6 * 131072,
        amendedOrder: {
          symbol: 'BTCUSDT',
          orderId: id,
          orderListId: -1,
          origClientOrderId: 'before',
          clientOrderId: 'after',
          price: '50000.00000000',
          qty: '0.03000000',
          executedQty: '0.00000000',
          preventedQty: '0.00000000',
          quoteOrderQty: '0.00000000',
          cumulativeQuoteQty: '0.00000000',
          status: 'NEW',
          timeInForce: 'GTC',
          type: 'LIMIT',
          side: 'SELL',
          workingTime: ms(5),
          selfTradePreventionMode: 'EXPIRE_MAKER',
        },
      });
    });

    it('keeps the order ahead of later orders at its price', () => {
      const x = funded();
      const first = x.rest(BOB, 'SELL', '50000', '0.05');
      const second = x.rest(CAROL, 'SELL', '50000', '0.05');
      x.amend(BOB, { symbol: 'BTCUSDT', orderId: String(first), newQty: '0.02' });
      const r = value(x.order(ALICE, limit('BUY', '50000', '0.02')).reply);
      assert.ok('fills' in r);
      assert.equal(r.fills.length, 1);
      assert.equal(x.view.order(BOB, BTCUSDT.symbolId, first)?.status, 'FILLED');
      assert.equal(x.view.order(CAROL, BTCUSDT.symbolId, second)?.status, 'NEW');
    });

    it('gives the order a new client order id when none is named, as Binance does', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05', { newClientOrderId: 'old' });
      const r = value(x.amend(BOB, { symbol: 'BTCUSDT', origClientOrderId: 'old', newQty: '0.04' }).reply);
      assert.equal(r.amendedOrder.origClientOrderId, 'old');
      assert.equal(r.amendedOrder.clientOrderId, 'gen-5');
      assert.equal(x.view.orderByClientOrderId(BOB, BTCUSDT.symbolId, 'gen-5')?.orderId, id);
      assert.equal(x.view.orderByClientOrderId(BOB, BTCUSDT.symbolId, 'old'), undefined);
    });

    it('refuses a new quantity not below the current one with -2038 "Order amend (quantity increase) is not supported."', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05');
      for (const newQty of ['0.05', '0.06']) {
        const { reply, events } = x.amend(BOB, { symbol: 'BTCUSDT', orderId: String(id), newQty });
        assert.deepEqual(error(reply), {
          code: -2038,
          msg: 'Order amend (quantity increase) is not supported.',
          status: 400,
        });
        assert.equal(events.length, 0, 'nothing reaches the engine');
      }
    });

    it('refuses an order that is not open with -2038 "Unknown order sent."', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05');
      x.cancel(BOB, { symbol: 'BTCUSDT', orderId: String(id) });
      assert.deepEqual(
        error(x.amend(BOB, { symbol: 'BTCUSDT', orderId: String(id), newQty: '0.01' }).reply),
        {
          code: -2038,
          msg: 'Unknown order sent.',
          status: 400,
        },
      );
    });

    it('refuses a quantity not above what has filled (the engine says so) with -2038', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05');
      x.order(ALICE, limit('BUY', '50000', '0.03'));
      assert.deepEqual(
        error(x.amend(BOB, { symbol: 'BTCUSDT', orderId: String(id), newQty: '0.03' }).reply),
        {
          code: -2038,
          msg: 'The new quantity must be greater than the filled quantity.',
          status: 400,
        },
      );
    });
  });

  describe('GET /api/v3/order shape', () => {
    it('shows an order field for field, with stopPrice and icebergQty at zero', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05', { newClientOrderId: 'q1' });
      x.order(ALICE, limit('BUY', '50000', '0.02'));
      const req = value(parseQueryOrder({ symbol: 'BTCUSDT', origClientOrderId: 'q1' }, x.ctx(BOB)));
      const o = queryOrder(x.view, req);
      assert.ok(o);
      assert.deepEqual(orderQueryResponse(o, markets.byId(o.symbolId)!), {
        symbol: 'BTCUSDT',
        orderId: id,
        orderListId: -1,
        clientOrderId: 'q1',
        price: '50000.00000000',
        origQty: '0.05000000',
        executedQty: '0.02000000',
        cummulativeQuoteQty: '1000.00000000',
        status: 'PARTIALLY_FILLED',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'SELL',
        stopPrice: '0.00000000',
        icebergQty: '0.00000000',
        time: ms(5),
        updateTime: ms(6),
        isWorking: true,
        workingTime: ms(5),
        origQuoteOrderQty: '0.00000000',
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
    });

    it('finds no order of another user and no order by a client id that does not match the id', () => {
      const x = funded();
      const id = x.rest(BOB, 'SELL', '50000', '0.05', { newClientOrderId: 'q1' });
      assert.equal(
        queryOrder(x.view, value(parseQueryOrder({ symbol: 'BTCUSDT', orderId: String(id) }, x.ctx(ALICE)))),
        undefined,
      );
      assert.equal(
        queryOrder(
          x.view,
          value(
            parseQueryOrder({ symbol: 'BTCUSDT', orderId: String(id), origClientOrderId: 'zz' }, x.ctx(BOB)),
          ),
        ),
        undefined,
      );
    });
  });
});
