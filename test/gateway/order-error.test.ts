/**
 * The engine's result codes in Binance's terms, for the order operations (the replies in
 * order-response.ts map through the gateway's one table, gateway/binance/errors.ts): every
 * code has a Binance error for every operation; what a client can cause is a 4xx with
 * Binance's code and message, the same engine refusal reads -2010 on a new order, -2011 on a
 * cancel and -2038 on an amend, and only what no request can cause (a bug) is a 5xx.
 */
import assert from 'node:assert/strict';
import { ALL_RESULT_CODES, ResultCode, resultCodeName } from '../../engine/index.ts';
import { errorForResult, type ResultContext } from '../../gateway/binance/errors.ts';

/** The operations of the order endpoints. */
const ops: ResultContext[] = ['place', 'cancel', 'cancelAll', 'amend', 'cancelReplace'];

/** Codes only a bug on our side produces (the gateway or the sequencer built a bad command). */
const NOT_FROM_ORDERS = new Set<ResultCode>([
  ResultCode.INVALID_USER_ID,
  ResultCode.INVALID_TIMESTAMP,
  ResultCode.UNKNOWN_COMMAND,
  ResultCode.MALFORMED_RECORD,
]);
/** Codes that mean "try again later", not "your request is wrong". */
const RUNTIME = new Set<number>([ResultCode.SHUTTING_DOWN, ResultCode.SYMBOL_MOVING]);

describe('engine result codes as Binance errors', () => {
  it('maps every code a request can cause to a 4xx Binance error, for every operation', () => {
    for (const code of ALL_RESULT_CODES) {
      if (code === ResultCode.OK || NOT_FROM_ORDERS.has(code) || RUNTIME.has(code)) continue;
      for (const op of ops) {
        const e = errorForResult(code, op);
        assert.ok(e.code <= -1000 && e.code > -3000, `${resultCodeName(code)} ${op}: ${e.code}`);
        assert.ok(e.status >= 400 && e.status < 500, `${resultCodeName(code)} ${op}: ${e.status}`);
        assert.ok(e.msg.length > 0 && !/\bat \w+ \(/.test(e.msg), 'a message, never a stack');
      }
    }
  });

  it('maps the runtime codes to Binance\'s "try later" errors (-1016 shutting down, -1008 busy) with 503', () => {
    assert.deepEqual(errorForResult(ResultCode.SHUTTING_DOWN, 'place'), {
      code: -1016,
      msg: 'This service is no longer available.',
      status: 503,
    });
    assert.equal(errorForResult(ResultCode.SYMBOL_MOVING, 'cancel').code, -1008);
  });

  it('maps codes no request can cause to -1000 with status 500, and refuses to map OK', () => {
    for (const code of NOT_FROM_ORDERS) {
      const e = errorForResult(code, 'place');
      assert.deepEqual([e.status, e.code], [500, -1000], resultCodeName(code));
    }
    assert.throws(() => errorForResult(ResultCode.OK, 'place'), /OK/);
  });

  it('words engine refusals by operation: -2010 new order, -2011 cancel, -2038 amend', () => {
    const cases: [ResultCode, string][] = [
      [ResultCode.INSUFFICIENT_BALANCE, 'Account has insufficient balance for requested action.'],
      [ResultCode.DUPLICATE_CLIENT_ORDER_ID, 'Duplicate order sent.'],
      [ResultCode.WOULD_TAKE, 'Order would immediately match and take.'],
    ];
    for (const [code, msg] of cases) {
      assert.deepEqual(errorForResult(code, 'place'), { code: -2010, msg, status: 400 });
      assert.deepEqual(errorForResult(code, 'cancelReplace'), {
        code: -2010,
        msg,
        status: 400,
      });
      assert.deepEqual(errorForResult(code, 'cancel'), { code: -2011, msg, status: 400 });
      assert.deepEqual(errorForResult(code, 'amend'), { code: -2038, msg, status: 400 });
    }
    // An order that is not there: a cancel or an amend names one (a new order never does).
    assert.deepEqual(errorForResult(ResultCode.UNKNOWN_ORDER, 'cancel'), {
      code: -2011,
      msg: 'Unknown order sent.',
      status: 400,
    });
    assert.deepEqual(errorForResult(ResultCode.UNKNOWN_ORDER, 'amend'), {
      code: -2038,
      msg: 'Unknown order sent.',
      status: 400,
    });
    assert.deepEqual(errorForResult(ResultCode.NO_OPEN_ORDERS, 'cancelAll'), {
      code: -2011,
      msg: 'Unknown order sent.',
      status: 400,
    });
    assert.deepEqual(errorForResult(ResultCode.CANCEL_RESTRICTED, 'cancel'), {
      code: -2011,
      msg: 'Order was not canceled due to cancel restrictions.',
      status: 400,
    });
  });

  it('names the failing filter for every market-filter code', () => {
    const filters: [ResultCode, string][] = [
      [ResultCode.PRICE_BELOW_MIN, 'PRICE_FILTER'],
      [ResultCode.PRICE_ABOVE_MAX, 'PRICE_FILTER'],
      [ResultCode.PRICE_OFF_TICK, 'PRICE_FILTER'],
      [ResultCode.PRICE_NOT_INTEGER, 'PRICE_FILTER'],
      [ResultCode.QTY_BELOW_MIN, 'LOT_SIZE'],
      [ResultCode.QTY_ABOVE_MAX, 'LOT_SIZE'],
      [ResultCode.QTY_OFF_LOT, 'LOT_SIZE'],
      [ResultCode.QTY_NOT_INTEGER, 'LOT_SIZE'],
      [ResultCode.MARKET_QTY_ABOVE_MAX, 'MARKET_LOT_SIZE'],
      [ResultCode.NOTIONAL_BELOW_MIN, 'NOTIONAL'],
      [ResultCode.NOTIONAL_ABOVE_MAX, 'NOTIONAL'],
      [ResultCode.BOOK_CAPACITY, 'EXCHANGE_MAX_NUM_ORDERS'],
    ];
    for (const [code, filter] of filters)
      assert.deepEqual(errorForResult(code, 'place'), {
        code: -1013,
        msg: `Filter failure: ${filter}`,
        status: 400,
      });
  });

  it('maps the request-shape codes to the parameter errors the parser gives for them', () => {
    assert.equal(errorForResult(ResultCode.UNKNOWN_SYMBOL, 'place').msg, 'Invalid symbol.');
    assert.equal(errorForResult(ResultCode.INVALID_SIDE, 'place').code, -1117);
    assert.equal(errorForResult(ResultCode.INVALID_ORDER_TYPE, 'place').code, -1116);
    assert.equal(errorForResult(ResultCode.INVALID_TIME_IN_FORCE, 'place').code, -1115);
    assert.equal(errorForResult(ResultCode.TIME_IN_FORCE_NOT_ALLOWED, 'place').code, -1106);
    assert.equal(errorForResult(ResultCode.INVALID_CANCEL_RESTRICTION, 'cancel').code, -1145);
    assert.equal(errorForResult(ResultCode.MISSING_ORDER_REFERENCE, 'cancel').code, -1102);
    assert.equal(
      errorForResult(ResultCode.STP_MODE_NOT_ALLOWED, 'place').msg,
      "Data sent for parameter 'selfTradePreventionMode' is not valid.",
    );
    assert.equal(errorForResult(ResultCode.MARKET_NOT_TRADING, 'place').msg, 'Market is closed.');
  });
});
