/**
 * The Binance error table and the mapping of every engine ResultCode onto it: exhaustive over
 * the enum and every operation, with the exact messages clients match on.
 */
import assert from 'node:assert/strict';
import { ALL_RESULT_CODES, ResultCode, resultCodeName } from '../../engine/index.ts';
import {
  BINANCE_CODES,
  BinanceCode,
  errorForResult,
  MAPPED_RESULT_CODES,
  RESULT_CONTEXTS,
} from '../../gateway/binance/errors.ts';

/** Codes that only a bug on our side produces: 500 -1000. */
const INTERNAL = new Set<number>([
  ResultCode.INVALID_USER_ID,
  ResultCode.INVALID_TIMESTAMP,
  ResultCode.UNKNOWN_COMMAND,
  ResultCode.MALFORMED_RECORD,
]);
/** Temporary refusals the client may retry: 503. */
const TEMPORARY = new Set<number>([ResultCode.SHUTTING_DOWN, ResultCode.SYMBOL_MOVING]);

describe('Binance errors', () => {
  it('lists every code under its own name with a status and a message', () => {
    for (const [name, code] of Object.entries(BinanceCode)) {
      const info = BINANCE_CODES[code];
      assert.equal(info.name, name);
      assert.ok(info.status >= 400 && info.status < 600, name);
      assert.ok(info.msg.length > 0, name);
    }
  });

  it('maps every result code but OK, in every context, to a listed Binance code', () => {
    assert.equal(MAPPED_RESULT_CODES.length, ALL_RESULT_CODES.length - 1);
    for (const code of MAPPED_RESULT_CODES) {
      for (const ctx of RESULT_CONTEXTS) {
        const e = errorForResult(code, ctx);
        const where = `${resultCodeName(code)} in ${ctx}`;
        assert.ok(Object.hasOwn(BINANCE_CODES, e.code), `${where}: ${e.code} is not in the table`);
        assert.ok(e.msg.length > 0 && !e.msg.includes('undefined'), where);
        if (INTERNAL.has(code)) assert.deepEqual([e.status, e.code], [500, -1000], where);
        else if (TEMPORARY.has(code)) assert.equal(e.status, 503, where);
        else assert.ok(e.status >= 400 && e.status < 500, `${where}: a client's mistake must be a 4xx`);
      }
    }
  });

  it('refuses to map OK (a caller bug)', () => {
    assert.throws(() => errorForResult(ResultCode.OK, 'place'), /OK/);
  });

  it('uses the messages clients match on', () => {
    const is = (
      code: ResultCode,
      ctx: (typeof RESULT_CONTEXTS)[number],
      expected: [number, number, string],
    ) => {
      const e = errorForResult(code, ctx);
      assert.deepEqual([e.status, e.code, e.msg], expected, `${resultCodeName(code)} in ${ctx}`);
    };
    is(ResultCode.INSUFFICIENT_BALANCE, 'place', [
      400,
      -2010,
      'Account has insufficient balance for requested action.',
    ]);
    is(ResultCode.WOULD_TAKE, 'place', [400, -2010, 'Order would immediately match and take.']);
    is(ResultCode.UNKNOWN_ORDER, 'cancel', [400, -2011, 'Unknown order sent.']);
    is(ResultCode.UNKNOWN_ORDER, 'query', [400, -2013, 'Order does not exist.']);
    is(ResultCode.UNKNOWN_ORDER, 'amend', [400, -2038, 'Unknown order sent.']);
    is(ResultCode.NO_OPEN_ORDERS, 'cancelAll', [400, -2011, 'Unknown order sent.']);
    is(ResultCode.DUPLICATE_CLIENT_ORDER_ID, 'place', [400, -2010, 'Duplicate order sent.']);
    is(ResultCode.CANCEL_RESTRICTED, 'cancel', [
      400,
      -2011,
      'Order was not canceled due to cancel restrictions.',
    ]);
    is(ResultCode.MARKET_NOT_TRADING, 'place', [400, -2010, 'Market is closed.']);
    is(ResultCode.UNKNOWN_SYMBOL, 'place', [400, -1121, 'Invalid symbol.']);
    is(ResultCode.PRICE_OFF_TICK, 'place', [400, -1013, 'Filter failure: PRICE_FILTER']);
    is(ResultCode.PRICE_BELOW_MIN, 'amend', [400, -1013, 'Filter failure: PRICE_FILTER']);
    is(ResultCode.QTY_OFF_LOT, 'place', [400, -1013, 'Filter failure: LOT_SIZE']);
    is(ResultCode.QTY_ABOVE_MAX, 'place', [400, -1013, 'Filter failure: LOT_SIZE']);
    is(ResultCode.MARKET_QTY_ABOVE_MAX, 'place', [400, -1013, 'Filter failure: MARKET_LOT_SIZE']);
    is(ResultCode.NOTIONAL_BELOW_MIN, 'place', [400, -1013, 'Filter failure: NOTIONAL']);
    is(ResultCode.TIME_IN_FORCE_NOT_ALLOWED, 'place', [
      400,
      -1106,
      "Parameter 'timeInForce' sent when not required.",
    ]);
    is(ResultCode.MISSING_ORDER_REFERENCE, 'cancel', [
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    ]);
    is(ResultCode.SHUTTING_DOWN, 'place', [503, -1016, 'This service is no longer available.']);
  });
});
