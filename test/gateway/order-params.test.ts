/**
 * The order parameters, as Binance validates them: what each endpoint requires and refuses,
 * with Binance's exact codes and messages, and what reaches the engine (prices in ticks,
 * quantities in lots, never rounded). A property test sends arbitrary parameter maps to every
 * parser: none throws, each gives a command or a Binance error.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CancelReplaceMode,
  CancelRestriction,
  Markets,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { DECIMAL_RANGE } from '../../gateway/orders/order-error.ts';
import {
  type ParseContext,
  parseAmendKeepPriority,
  parseCancelOpenOrders,
  parseCancelOrder,
  parseCancelReplace,
  parseNewOrder,
  parseQueryOrder,
  parseTestOrder,
  type RequestParams,
  randomClientOrderId,
} from '../../gateway/orders/order-params.ts';
import { ALICE, BTCUSDT, error, markets, value } from './order-harness.ts';

const ctx: ParseContext = { markets, userId: ALICE, newClientOrderId: () => 'generated-id' };

const limit = (extra: Record<string, string> = {}) => ({
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  price: '50000.01',
  quantity: '0.12345',
  ...extra,
});
const market = (extra: Record<string, string> = {}) => ({
  symbol: 'BTCUSDT',
  side: 'SELL',
  type: 'MARKET',
  ...extra,
});
const without = (p: Record<string, string>, key: string) => {
  const { [key]: _, ...rest } = p;
  return rest;
};
const err = (code: number, msg: string) => ({ code, msg, status: 400 });
const newOrderError = (p: RequestParams) => error(parseNewOrder(p, ctx));

describe('order parameters', () => {
  describe('POST /api/v3/order: what reaches the engine', () => {
    it('turns a LIMIT order into ticks and lots of its market', () => {
      const r = value(parseNewOrder(limit({ newClientOrderId: 'my-order_1' }), ctx));
      assert.equal(r.market, BTCUSDT);
      assert.deepEqual(r.command, {
        kind: 'PlaceOrder',
        symbolId: BTCUSDT.symbolId,
        userId: ALICE,
        side: Side.BUY,
        orderType: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC,
        stpMode: StpMode.DEFAULT,
        priceTicks: 5_000_001,
        qtyLots: 12_345,
        quoteQtyUnits: 0,
        clientOrderId: 'my-order_1',
      });
      assert.equal(r.newOrderRespType, 'FULL');
    });

    it('takes IOC and FOK, and trailing zeros up to the asset precision', () => {
      for (const tif of ['IOC', 'FOK'] as const) {
        const r = value(
          parseNewOrder(limit({ timeInForce: tif, price: '50000.01000000', quantity: '0.12345000' }), ctx),
        );
        assert.equal(r.command.timeInForce, TimeInForce[tif]);
        assert.equal(r.command.priceTicks, 5_000_001);
        assert.equal(r.command.qtyLots, 12_345);
      }
    });

    it('takes a MARKET order by quantity or by quoteOrderQty, with no time in force', () => {
      const byQty = value(parseNewOrder(market({ quantity: '0.5' }), ctx)).command;
      assert.deepEqual(
        [byQty.orderType, byQty.timeInForce, byQty.qtyLots, byQty.quoteQtyUnits, byQty.priceTicks],
        [OrderType.MARKET, TimeInForce.NONE, 50_000, 0, 0],
      );
      const byQuote = value(parseNewOrder(market({ side: 'BUY', quoteOrderQty: '100.5' }), ctx)).command;
      assert.deepEqual([byQuote.qtyLots, byQuote.quoteQtyUnits], [0, 10_050_000_000]);
    });

    it('takes a LIMIT_MAKER with a price and quantity and no time in force', () => {
      const r = value(
        parseNewOrder(
          { symbol: 'BTCUSDT', side: 'SELL', type: 'LIMIT_MAKER', price: '60000', quantity: '1' },
          ctx,
        ),
      );
      assert.deepEqual(
        [r.command.orderType, r.command.timeInForce, r.command.side],
        [OrderType.LIMIT_MAKER, TimeInForce.NONE, Side.SELL],
      );
    });

    it('defaults newOrderRespType to FULL for LIMIT and MARKET and to ACK otherwise, and takes any of the three', () => {
      assert.equal(value(parseNewOrder(market({ quantity: '1' }), ctx)).newOrderRespType, 'FULL');
      assert.equal(
        value(
          parseNewOrder(
            { symbol: 'BTCUSDT', side: 'SELL', type: 'LIMIT_MAKER', price: '60000', quantity: '1' },
            ctx,
          ),
        ).newOrderRespType,
        'ACK',
      );
      for (const t of ['ACK', 'RESULT', 'FULL'])
        assert.equal(value(parseNewOrder(limit({ newOrderRespType: t }), ctx)).newOrderRespType, t);
    });

    it('generates a client order id when none is sent', () => {
      assert.equal(value(parseNewOrder(limit(), ctx)).command.clientOrderId, 'generated-id');
      const random = value(parseNewOrder(limit(), { markets, userId: ALICE })).command.clientOrderId;
      assert.match(random, /^[A-Za-z0-9]{22}$/);
      // Through several refills of the pool of random bytes (512 ids each): all well formed, none twice.
      const ids = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const id = randomClientOrderId();
        assert.match(id, /^[A-Za-z0-9]{22}$/);
        ids.add(id);
      }
      assert.equal(ids.size, 2000);
    });

    it('takes each STP mode the market allows, and the market default when none is sent', () => {
      for (const mode of ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT'] as const) {
        const r = value(parseNewOrder(limit({ selfTradePreventionMode: mode }), ctx));
        assert.equal(r.command.stpMode, StpMode[mode]);
      }
      assert.equal(value(parseNewOrder(limit(), ctx)).command.stpMode, StpMode.DEFAULT);
    });

    it('keeps strategyId and strategyType for the reply', () => {
      const r = value(parseNewOrder(limit({ strategyId: '37463720', strategyType: '1000000' }), ctx));
      assert.deepEqual([r.strategyId, r.strategyType], [37463720, 1000000]);
    });

    it('counts recvWindow, timestamp and signature as read (authentication consumes them)', () => {
      const r = parseNewOrder(limit({ recvWindow: '5000', timestamp: '1', signature: 'ab' }), ctx);
      assert.equal(r.ok, true);
    });

    it('accepts the WebSocket API shape: numbers for decimals and apiKey among the auth parameters', () => {
      const ws = { ...ctx, authParams: ['apiKey', 'timestamp', 'signature', 'recvWindow'] };
      const r = value(
        parseNewOrder({ ...limit(), price: 50000, quantity: 0.5, apiKey: 'k', timestamp: 1 }, ws),
      );
      assert.deepEqual([r.command.priceTicks, r.command.qtyLots], [5_000_000, 50_000]);
    });
  });

  describe('POST /api/v3/order: what it refuses', () => {
    it('refuses a missing, empty, lowercase or unknown symbol (-1102, -1100, -1121)', () => {
      assert.deepEqual(
        newOrderError(without(limit(), 'symbol')),
        err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
      );
      assert.equal(newOrderError(limit({ symbol: '' })).code, -1102);
      assert.deepEqual(
        newOrderError(limit({ symbol: 'btcusdt' })),
        err(-1100, "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."),
      );
      assert.deepEqual(newOrderError(limit({ symbol: 'DOGEUSDT' })), err(-1121, 'Invalid symbol.'));
    });

    it('refuses a missing or unknown side (-1102, -1117)', () => {
      assert.equal(newOrderError(without(limit(), 'side')).code, -1102);
      assert.deepEqual(newOrderError(limit({ side: 'buy' })), err(-1117, 'Invalid side.'));
    });

    it('refuses a missing or unknown type (-1102, -1116)', () => {
      assert.deepEqual(
        newOrderError(without(limit(), 'type')),
        err(-1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed."),
      );
      assert.deepEqual(newOrderError(limit({ type: 'ICEBERG' })), err(-1116, 'Invalid orderType.'));
    });

    it('refuses the stop and take-profit types as not supported on this symbol (-1013)', () => {
      const cases = {
        STOP_LOSS: 'Stop loss orders are not supported for this symbol.',
        STOP_LOSS_LIMIT: 'Stop loss limit orders are not supported for this symbol.',
        TAKE_PROFIT: 'Take profit orders are not supported for this symbol.',
        TAKE_PROFIT_LIMIT: 'Take profit limit orders are not supported for this symbol.',
      };
      for (const [type, msg] of Object.entries(cases))
        assert.deepEqual(newOrderError(limit({ type, stopPrice: '49000' })), err(-1013, msg));
    });

    it('refuses icebergQty (-1013) and stopPrice, trailingDelta and pegged parameters (-1106)', () => {
      assert.deepEqual(
        newOrderError(limit({ icebergQty: '0.01' })),
        err(-1013, 'Iceberg orders are not supported for this symbol.'),
      );
      for (const name of ['stopPrice', 'trailingDelta', 'pegPriceType', 'pegOffsetValue', 'pegOffsetType'])
        assert.deepEqual(
          newOrderError(limit({ [name]: '1' })),
          err(-1106, `Parameter '${name}' sent when not required.`),
        );
    });

    it('requires timeInForce for LIMIT (-1102), knows only GTC/IOC/FOK (-1115), refuses it elsewhere (-1106)', () => {
      assert.deepEqual(
        newOrderError(without(limit(), 'timeInForce')),
        err(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
      );
      assert.deepEqual(newOrderError(limit({ timeInForce: 'GTX' })), err(-1115, 'Invalid timeInForce.'));
      const notRequired = err(-1106, "Parameter 'timeInForce' sent when not required.");
      assert.deepEqual(newOrderError(market({ quantity: '1', timeInForce: 'GTC' })), notRequired);
      assert.deepEqual(
        newOrderError({
          symbol: 'BTCUSDT',
          side: 'SELL',
          type: 'LIMIT_MAKER',
          price: '1',
          quantity: '1',
          timeInForce: 'GTC',
        }),
        notRequired,
      );
    });

    it('requires quantity or quoteOrderQty for MARKET, not both, and no price', () => {
      assert.deepEqual(
        newOrderError(market()),
        err(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"),
      );
      assert.deepEqual(
        newOrderError(market({ quantity: '1', quoteOrderQty: '100' })),
        err(-1106, "Parameter 'quoteOrderQty' sent when not required."),
      );
      assert.deepEqual(
        newOrderError(market({ quantity: '1', price: '50000' })),
        err(-1106, "Parameter 'price' sent when not required."),
      );
    });

    it('requires price and quantity for LIMIT and LIMIT_MAKER, and refuses quoteOrderQty there', () => {
      assert.deepEqual(
        newOrderError(without(limit(), 'price')),
        err(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
      );
      assert.deepEqual(
        newOrderError(without(limit(), 'quantity')),
        err(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."),
      );
      assert.deepEqual(
        newOrderError(limit({ quoteOrderQty: '100' })),
        err(-1106, "Parameter 'quoteOrderQty' sent when not required."),
      );
    });

    it('refuses malformed decimals with -1100 and their legal range', () => {
      for (const bad of [
        'abc',
        '-1',
        '1e5',
        '1.2.3',
        ' 1',
        '1,5',
        '.5',
        '5.',
        '+1',
        '123456789012345678901',
        '0x10',
      ]) {
        assert.deepEqual(
          newOrderError(limit({ price: bad })),
          err(-1100, `Illegal characters found in parameter 'price'; legal range is '${DECIMAL_RANGE}'.`),
          bad,
        );
      }
      assert.equal(newOrderError(limit({ quantity: 'NaN' })).msg.includes("'quantity'"), true);
    });

    it('refuses more decimals than the asset has with -1111, and off-grid values with -1013 naming the filter', () => {
      assert.deepEqual(
        newOrderError(limit({ price: '50000.000000001' })),
        err(-1111, "Parameter 'price' has too much precision."),
      );
      assert.deepEqual(
        newOrderError(limit({ quantity: '0.123456789' })),
        err(-1111, "Parameter 'quantity' has too much precision."),
      );
      assert.deepEqual(
        newOrderError(limit({ price: '50000.001' })),
        err(-1013, 'Filter failure: PRICE_FILTER'),
      );
      assert.deepEqual(
        newOrderError(limit({ quantity: '0.000001' })),
        err(-1013, 'Filter failure: LOT_SIZE'),
      );
    });

    it('refuses prices, quantities and notionals outside the filters (-1013)', () => {
      const filter = (name: string) => err(-1013, `Filter failure: ${name}`);
      assert.deepEqual(newOrderError(limit({ price: '0' })), filter('PRICE_FILTER'));
      assert.deepEqual(newOrderError(limit({ price: '1000000.01' })), filter('PRICE_FILTER'));
      assert.deepEqual(newOrderError(limit({ price: '99999999999999999999' })), filter('PRICE_FILTER'));
      assert.deepEqual(newOrderError(limit({ quantity: '0' })), filter('LOT_SIZE'));
      assert.deepEqual(newOrderError(limit({ price: '1', quantity: '90.00001' })), filter('LOT_SIZE'));
      assert.deepEqual(newOrderError(limit({ price: '1', quantity: '4.99999' })), filter('NOTIONAL'));
      assert.deepEqual(newOrderError(market({ quantity: '90.00001' })), filter('MARKET_LOT_SIZE'));
      assert.deepEqual(newOrderError(market({ quantity: '0' })), filter('LOT_SIZE'));
      assert.deepEqual(newOrderError(market({ quoteOrderQty: '4.99' })), filter('NOTIONAL'));
      assert.deepEqual(newOrderError(market({ quoteOrderQty: '9000000.01' })), filter('NOTIONAL'));
    });

    it('refuses an empty or illegal newClientOrderId (-1118, -1100)', () => {
      assert.deepEqual(
        newOrderError(limit({ newClientOrderId: '' })),
        err(-1118, 'New client order ID was empty.'),
      );
      const illegal = err(
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
      );
      for (const bad of ['a b', 'x'.repeat(37), 'a.b', 'a:b', 'é'])
        assert.deepEqual(newOrderError(limit({ newClientOrderId: bad })), illegal, bad);
      assert.equal(
        value(parseNewOrder(limit({ newClientOrderId: 'x'.repeat(36) }), ctx)).command.clientOrderId.length,
        36,
      );
    });

    it('refuses an unknown newOrderRespType and selfTradePreventionMode (-1100), and TRANSFER (-1013)', () => {
      assert.deepEqual(
        newOrderError(limit({ newOrderRespType: 'FAST' })),
        err(
          -1100,
          "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.",
        ),
      );
      assert.equal(newOrderError(limit({ selfTradePreventionMode: 'BOTH' })).code, -1100);
      assert.deepEqual(
        newOrderError(limit({ selfTradePreventionMode: 'TRANSFER' })),
        err(-1013, 'This symbol does not allow the specified self-trade prevention mode.'),
      );
    });

    it('refuses an STP mode the symbol does not allow, and any order on a halted symbol (-1013)', () => {
      const restricted = new Markets({
        assets: [...markets.assets.values()],
        markets: [
          { ...BTCUSDT.spec, allowedSelfTradePreventionModes: ['EXPIRE_MAKER', 'EXPIRE_TAKER'] },
          { ...markets.get('ETHUSDT')!.spec, status: 'HALT' },
        ],
      });
      const c = { ...ctx, markets: restricted };
      assert.deepEqual(
        error(parseNewOrder(limit({ selfTradePreventionMode: 'NONE' }), c)),
        err(-1013, 'This symbol does not allow the specified self-trade prevention mode.'),
      );
      assert.equal(parseNewOrder(limit({ selfTradePreventionMode: 'EXPIRE_TAKER' }), c).ok, true);
      assert.deepEqual(
        error(parseNewOrder(limit({ symbol: 'ETHUSDT', price: '3000' }), c)),
        err(-1013, 'Market is closed.'),
      );
      // Cancels still go through on a halted symbol.
      assert.equal(parseCancelOrder({ symbol: 'ETHUSDT', orderId: '1' }, c).ok, true);
    });

    it('refuses a strategyType below 1000000 (-1134) and malformed strategy fields (-1100)', () => {
      assert.deepEqual(
        newOrderError(limit({ strategyType: '999999' })),
        err(-1134, 'strategyType was less than 1000000.'),
      );
      assert.equal(newOrderError(limit({ strategyId: 'x' })).code, -1100);
      assert.equal(newOrderError(limit({ strategyType: '99999999999' })).code, -1100);
    });

    it('refuses parameters the endpoint does not read (-1104), counting every parameter sent', () => {
      assert.deepEqual(
        newOrderError(limit({ foo: 'bar', timestamp: '1' })),
        err(-1104, "Not all sent parameters were read; read '7' parameter(s) but was sent '8'."),
      );
    });

    it('refuses a parameter sent twice (-1101)', () => {
      const pairs: [string, string][] = [...Object.entries(limit()), ['price', '50000']];
      assert.deepEqual(newOrderError(pairs), err(-1101, 'Duplicate values for a parameter detected.'));
      assert.equal(parseNewOrder(new URLSearchParams(limit()), ctx).ok, true);
    });

    it('refuses values that are neither strings nor numbers as malformed (-1102)', () => {
      assert.deepEqual(
        newOrderError({ ...limit(), price: { $gt: 1 } }),
        err(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
      );
      assert.equal(newOrderError({ ...limit(), side: null }).code, -1102);
    });
  });

  describe('POST /api/v3/order/test', () => {
    it('validates like a new order and reads computeCommissionRates', () => {
      assert.equal(value(parseTestOrder(limit(), ctx)).computeCommissionRates, false);
      assert.equal(
        value(parseTestOrder(limit({ computeCommissionRates: 'true' }), ctx)).computeCommissionRates,
        true,
      );
      assert.equal(error(parseTestOrder(limit({ computeCommissionRates: 'yes' }), ctx)).code, -1100);
      assert.equal(error(parseTestOrder(limit({ price: '0' }), ctx)).msg, 'Filter failure: PRICE_FILTER');
      assert.equal(error(parseNewOrder(limit({ computeCommissionRates: 'true' }), ctx)).code, -1104);
    });
  });

  describe('DELETE /api/v3/order', () => {
    it('cancels by orderId, by origClientOrderId, or by both', () => {
      const byId = value(parseCancelOrder({ symbol: 'BTCUSDT', orderId: '42' }, ctx));
      assert.deepEqual(byId.command, {
        kind: 'CancelOrder',
        symbolId: BTCUSDT.symbolId,
        userId: ALICE,
        orderId: 42,
        clientOrderId: '',
        cancelRestriction: CancelRestriction.NONE,
      });
      assert.equal(byId.newClientOrderId, undefined);
      const byCid = value(
        parseCancelOrder({ symbol: 'BTCUSDT', origClientOrderId: 'mine', newClientOrderId: 'undo' }, ctx),
      );
      assert.deepEqual(
        [byCid.command.orderId, byCid.command.clientOrderId, byCid.newClientOrderId],
        [0, 'mine', 'undo'],
      );
      const both = value(
        parseCancelOrder({ symbol: 'BTCUSDT', orderId: '42', origClientOrderId: 'mine' }, ctx),
      );
      assert.deepEqual([both.command.orderId, both.command.clientOrderId], [42, 'mine']);
    });

    it('reads cancelRestrictions ONLY_NEW and ONLY_PARTIALLY_FILLED, and refuses anything else (-1145)', () => {
      for (const r of ['ONLY_NEW', 'ONLY_PARTIALLY_FILLED'] as const) {
        const c = value(
          parseCancelOrder({ symbol: 'BTCUSDT', orderId: '1', cancelRestrictions: r }, ctx),
        ).command;
        assert.equal(c.cancelRestriction, CancelRestriction[r]);
      }
      assert.deepEqual(
        error(parseCancelOrder({ symbol: 'BTCUSDT', orderId: '1', cancelRestrictions: 'NEW' }, ctx)),
        err(-1145, 'cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.'),
      );
    });

    it('refuses a cancel naming no order, a malformed id and an empty client id', () => {
      assert.deepEqual(
        error(parseCancelOrder({ symbol: 'BTCUSDT' }, ctx)),
        err(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"),
      );
      assert.deepEqual(
        error(parseCancelOrder({ symbol: 'BTCUSDT', orderId: '-1' }, ctx)),
        err(-1100, "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'."),
      );
      assert.deepEqual(
        error(parseCancelOrder({ symbol: 'BTCUSDT', origClientOrderId: '' }, ctx)),
        err(-1119, 'Original client order ID was empty.'),
      );
      assert.deepEqual(
        error(parseCancelOrder({ symbol: 'BTCUSDT', orderId: '1', newClientOrderId: '' }, ctx)),
        err(-1118, 'New client order ID was empty.'),
      );
    });

    it('sends an id no order can have (0, beyond 2^53) on to the engine, which answers unknown order', () => {
      for (const id of ['0', '9007199254740993', '99999999999999999999'])
        assert.equal(
          value(parseCancelOrder({ symbol: 'BTCUSDT', orderId: id }, ctx)).command.orderId,
          Number.MAX_SAFE_INTEGER,
        );
    });
  });

  describe('DELETE /api/v3/openOrders', () => {
    it('takes only a symbol', () => {
      assert.deepEqual(value(parseCancelOpenOrders({ symbol: 'ETHBTC' }, ctx)).command, {
        kind: 'CancelAllOrders',
        symbolId: markets.get('ETHBTC')!.symbolId,
        userId: ALICE,
      });
      assert.equal(error(parseCancelOpenOrders({ symbol: 'ETHBTC', orderId: '1' }, ctx)).code, -1104);
      assert.equal(error(parseCancelOpenOrders({}, ctx)).code, -1102);
    });
  });

  describe('POST /api/v3/order/cancelReplace', () => {
    const cr = (extra: Record<string, string> = {}) => ({
      ...limit(),
      cancelReplaceMode: 'STOP_ON_FAILURE',
      cancelOrderId: '7',
      ...extra,
    });

    it('carries the cancel and a whole new order in one command', () => {
      const r = value(
        parseCancelReplace(
          cr({
            cancelReplaceMode: 'ALLOW_FAILURE',
            cancelOrigClientOrderId: 'old',
            cancelNewClientOrderId: 'undo',
            cancelRestrictions: 'ONLY_NEW',
            newClientOrderId: 'new',
            orderRateLimitExceededMode: 'CANCEL_ONLY',
          }),
          ctx,
        ),
      );
      assert.deepEqual(r.command, {
        kind: 'CancelReplaceOrder',
        symbolId: BTCUSDT.symbolId,
        userId: ALICE,
        side: Side.BUY,
        orderType: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC,
        stpMode: StpMode.DEFAULT,
        priceTicks: 5_000_001,
        qtyLots: 12_345,
        quoteQtyUnits: 0,
        clientOrderId: 'new',
        cancelOrderId: 7,
        cancelClientOrderId: 'old',
        cancelReplaceMode: CancelReplaceMode.ALLOW_FAILURE,
        cancelRestriction: CancelRestriction.ONLY_NEW,
      });
      assert.deepEqual(
        [r.cancelNewClientOrderId, r.orderRateLimitExceededMode, r.newOrderRespType],
        ['undo', 'CANCEL_ONLY', 'FULL'],
      );
    });

    it('requires cancelReplaceMode and a cancel target', () => {
      assert.deepEqual(
        error(parseCancelReplace(without(cr(), 'cancelReplaceMode'), ctx)),
        err(-1102, "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed."),
      );
      assert.deepEqual(
        error(parseCancelReplace(cr({ cancelReplaceMode: 'ALWAYS' }), ctx)),
        err(
          -1100,
          "Illegal characters found in parameter 'cancelReplaceMode'; legal range is 'STOP_ON_FAILURE, ALLOW_FAILURE'.",
        ),
      );
      assert.deepEqual(
        error(parseCancelReplace(without(cr(), 'cancelOrderId'), ctx)),
        err(
          -1102,
          "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!",
        ),
      );
      assert.equal(error(parseCancelReplace(cr({ orderRateLimitExceededMode: 'X' }), ctx)).code, -1100);
    });

    it('refuses the whole request when the new order fails its filters (nothing is canceled)', () => {
      assert.deepEqual(
        error(parseCancelReplace(cr({ price: '0.001' }), ctx)),
        err(-1013, 'Filter failure: PRICE_FILTER'),
      );
    });
  });

  describe('PUT /api/v3/order/amend/keepPriority', () => {
    it('keeps the price and sets the total quantity, generating a client order id when none is named', () => {
      const r = value(parseAmendKeepPriority({ symbol: 'BTCUSDT', orderId: '9', newQty: '0.5' }, ctx));
      assert.deepEqual(r.command, {
        kind: 'AmendOrder',
        symbolId: BTCUSDT.symbolId,
        userId: ALICE,
        orderId: 9,
        clientOrderId: '',
        priceTicks: 0,
        qtyLots: 50_000,
        newClientOrderId: 'generated-id',
      });
      const kept = value(
        parseAmendKeepPriority(
          { symbol: 'BTCUSDT', origClientOrderId: 'a', newClientOrderId: 'a', newQty: '0.5' },
          ctx,
        ),
      );
      assert.equal(kept.command.newClientOrderId, 'a');
    });

    it('requires newQty, within the asset precision and LOT_SIZE', () => {
      const base = { symbol: 'BTCUSDT', orderId: '9' };
      assert.deepEqual(
        error(parseAmendKeepPriority(base, ctx)),
        err(-1102, "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed."),
      );
      assert.equal(
        error(parseAmendKeepPriority({ ...base, newQty: '0' }, ctx)).msg,
        'Filter failure: LOT_SIZE',
      );
      assert.equal(
        error(parseAmendKeepPriority({ ...base, newQty: '0.000001' }, ctx)).msg,
        'Filter failure: LOT_SIZE',
      );
      assert.equal(error(parseAmendKeepPriority({ ...base, newQty: '0.000000001' }, ctx)).code, -1111);
      assert.equal(error(parseAmendKeepPriority({ ...base, newQty: '1', price: '1' }, ctx)).code, -1104);
    });
  });

  describe('GET /api/v3/order', () => {
    it('names the order by id, client order id or both', () => {
      const r = value(parseQueryOrder({ symbol: 'BTCUSDT', orderId: '3', origClientOrderId: 'c' }, ctx));
      assert.deepEqual([r.orderId, r.clientOrderId, r.userId], [3, 'c', ALICE]);
      assert.equal(error(parseQueryOrder({ symbol: 'BTCUSDT' }, ctx)).code, -1102);
    });
  });

  describe('any input', () => {
    const keys = [
      'symbol',
      'side',
      'type',
      'timeInForce',
      'quantity',
      'quoteOrderQty',
      'price',
      'newClientOrderId',
      'newOrderRespType',
      'selfTradePreventionMode',
      'strategyId',
      'strategyType',
      'icebergQty',
      'stopPrice',
      'orderId',
      'origClientOrderId',
      'cancelRestrictions',
      'cancelReplaceMode',
      'cancelOrderId',
      'cancelOrigClientOrderId',
      'cancelNewClientOrderId',
      'orderRateLimitExceededMode',
      'newQty',
      'computeCommissionRates',
      'timestamp',
      'signature',
      'recvWindow',
      '__proto__',
      'constructor',
    ];
    const values = fc.oneof(
      fc.string(),
      fc.constantFrom(
        'BTCUSDT',
        'ETHBTC',
        'BUY',
        'SELL',
        'LIMIT',
        'MARKET',
        'LIMIT_MAKER',
        'STOP_LOSS',
        'GTC',
        'IOC',
      ),
      fc.constantFrom(
        'FOK',
        'FULL',
        'ACK',
        'DECREMENT',
        'ONLY_NEW',
        'STOP_ON_FAILURE',
        'ALLOW_FAILURE',
        'true',
        '',
      ),
      fc.stringMatching(/^[0-9]{1,8}(\.[0-9]{1,10})?$/),
      fc.string({ unit: 'binary' }),
    );
    const params = fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), values, { maxKeys: 14 });
    const parsers = [
      parseNewOrder,
      parseTestOrder,
      parseCancelOrder,
      parseCancelOpenOrders,
      parseCancelReplace,
      parseAmendKeepPriority,
      parseQueryOrder,
    ];
    const wellFormed = (r: {
      ok: boolean;
      value?: unknown;
      error?: { code: number; msg: string; status: number };
    }) => {
      if (r.ok) return typeof r.value === 'object' && r.value !== null && 'market' in r.value;
      const e = r.error!;
      return Number.isInteger(e.code) && e.code < 0 && e.msg.length > 0 && e.status >= 400 && e.status < 500;
    };

    it('never throws on arbitrary string maps, and gives either a command or a 4xx Binance error', () => {
      fc.assert(
        fc.property(params, (p) => {
          for (const parse of parsers) assert.ok(wellFormed(parse(p, ctx)), JSON.stringify(p));
        }),
        { numRuns: 3000 },
      );
    });

    it('never throws on arbitrary pairs, duplicates and odd values included', () => {
      const odd = fc.oneof(values, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object());
      const pairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.string()), odd), {
        maxLength: 12,
      });
      fc.assert(
        fc.property(pairs, (p) => {
          for (const parse of parsers) assert.ok(wellFormed(parse(p, ctx)), JSON.stringify(p));
        }),
        { numRuns: 2000 },
      );
    });

    it('gives every accepted new order values the engine accepts: on the grid, within the filters', () => {
      const m = BTCUSDT;
      const order = fc.record({
        side: fc.constantFrom('BUY', 'SELL'),
        price: fc.stringMatching(/^[0-9]{1,7}(\.[0-9]{1,3})?$/),
        quantity: fc.stringMatching(/^[0-9]{1,2}(\.[0-9]{1,6})?$/),
      });
      fc.assert(
        fc.property(order, (o) => {
          const r = parseNewOrder({ symbol: 'BTCUSDT', type: 'LIMIT', timeInForce: 'GTC', ...o }, ctx);
          if (!r.ok) return;
          const c = r.value.command;
          assert.ok(c.priceTicks >= m.minPriceTicks && c.priceTicks <= m.maxPriceTicks);
          assert.ok(c.qtyLots >= m.minQtyLots && c.qtyLots <= m.maxQtyLots);
          const notional = c.priceTicks * c.qtyLots * m.quoteUnitsPerTickLot;
          assert.ok(notional >= m.minNotionalUnits && notional <= m.maxNotionalUnits);
        }),
        { numRuns: 2000 },
      );
    });
  });

  it('builds commands for the user of the context', () => {
    const bob = { ...ctx, userId: userId(2) };
    assert.equal(value(parseNewOrder(limit(), bob)).command.userId, 2);
  });
});
