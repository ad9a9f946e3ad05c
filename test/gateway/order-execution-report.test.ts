/**
 * User data events against Binance's documented payloads: an executionReport for every
 * change of every order concerned (taker and makers), with every field Binance sends;
 * TRADE_PREVENTION with the prevented-match fields; REPLACED for an amend; REJECTED for a
 * cancel-replace whose new order failed; EXPIRED with eR; balanceUpdate for funds moving in
 * and out; one outboundAccountPosition per user whose balances changed, after the reports.
 */
import assert from 'node:assert/strict';
import type { ExecutionReport, UserDataEvent } from '../../gateway/orders/execution-report.ts';
import { userDataEvents } from '../../gateway/orders/execution-report.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import { ALICE, BOB, CAROL, Exchange, markets, ms, T0 } from './order-harness.ts';

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

/** Alice 100,000 USDT, Bob 1 BTC, Carol 1 BTC and 100,000 USDT: commands 1-4. */
function funded(): Exchange {
  const x = new Exchange();
  x.fund(ALICE, 'USDT', '100000');
  x.fund(BOB, 'BTC', '1');
  x.fund(CAROL, 'BTC', '1');
  x.fund(CAROL, 'USDT', '100000');
  return x;
}

const reports = (events: UserDataEvent[]) =>
  events.filter((e) => e.payload.e === 'executionReport') as { userId: number; payload: ExecutionReport }[];
const brief = (events: UserDataEvent[]) =>
  reports(events).map(({ userId, payload: r }) => [userId, r.i, r.x, r.X, r.l, r.z]);

describe('user data events', () => {
  it('reports a new resting order with every executionReport field', () => {
    const x = funded();
    x.order(ALICE, limit('BUY', '50000', '0.1', { newClientOrderId: 'alice-1' }));
    assert.deepEqual(x.userData[0], {
      userId: ALICE,
      payload: {
        e: 'executionReport',
        E: ms(5),
        s: 'BTCUSDT',
        c: 'alice-1',
        S: 'BUY',
        o: 'LIMIT',
        f: 'GTC',
        q: '0.10000000',
        p: '50000.00000000',
        P: '0.00000000',
        F: '0.00000000',
        g: -1,
        C: '',
        x: 'NEW',
        X: 'NEW',
        r: 'NONE',
        i: 1,
        l: '0.00000000',
        z: '0.00000000',
        L: '0.00000000',
        n: '0',
        N: null,
        T: ms(5),
        t: -1,
        I: 5 * 131072,
        w: true,
        m: false,
        M: false,
        O: ms(5),
        Z: '0.00000000',
        Y: '0.00000000',
        Q: '0.00000000',
        W: ms(5),
        V: 'EXPIRE_MAKER',
      },
    });
  });

  it('follows the order with its balances: USDT locked for a buy', () => {
    const x = funded();
    x.order(ALICE, limit('BUY', '50000', '0.1'));
    assert.deepEqual(x.userData[1], {
      userId: ALICE,
      payload: {
        e: 'outboundAccountPosition',
        E: ms(5),
        u: ms(5),
        B: [{ a: 'USDT', f: '95000.00000000', l: '5000.00000000' }],
      },
    });
    assert.equal(x.userData.length, 2);
  });

  it('reports a trade to taker and maker: last and cumulative quantities, commissions, maker flag', () => {
    const x = funded();
    x.rest(BOB, 'SELL', '50000', '0.03', { newClientOrderId: 'bob-1' });
    x.order(ALICE, limit('BUY', '50000', '0.05', { newClientOrderId: 'alice-1' }));
    const [newer, taker, maker] = reports(x.userData).map((r) => r.payload);
    assert.equal(newer?.x, 'NEW');
    assert.deepEqual(
      taker && {
        c: taker.c,
        x: taker.x,
        X: taker.X,
        l: taker.l,
        z: taker.z,
        L: taker.L,
        n: taker.n,
        N: taker.N,
        t: taker.t,
        w: taker.w,
        m: taker.m,
        M: taker.M,
        Z: taker.Z,
        Y: taker.Y,
      },
      {
        c: 'alice-1',
        x: 'TRADE',
        X: 'PARTIALLY_FILLED',
        l: '0.03000000',
        z: '0.03000000',
        L: '50000.00000000',
        n: '0.00003000',
        N: 'BTC',
        t: 1,
        w: true,
        m: false,
        M: true,
        Z: '1500.00000000',
        Y: '1500.00000000',
      },
    );
    assert.deepEqual(
      maker && {
        c: maker.c,
        i: maker.i,
        S: maker.S,
        X: maker.X,
        n: maker.n,
        N: maker.N,
        w: maker.w,
        m: maker.m,
        O: maker.O,
      },
      { c: 'bob-1', i: 1, S: 'SELL', X: 'FILLED', n: '1.50000000', N: 'USDT', w: false, m: true, O: ms(5) },
    );
    assert.notEqual(taker?.I, maker?.I, 'taker and maker executions have their own ids');
  });

  it('lists every user concerned, in the engine order, then each one account position', () => {
    const x = funded();
    x.rest(BOB, 'SELL', '50000', '0.01');
    x.rest(CAROL, 'SELL', '50001', '0.01');
    x.order(ALICE, limit('BUY', '50001', '0.03'));
    assert.deepEqual(brief(x.userData), [
      [ALICE, 3, 'NEW', 'NEW', '0.00000000', '0.00000000'],
      [ALICE, 3, 'TRADE', 'PARTIALLY_FILLED', '0.01000000', '0.01000000'],
      [BOB, 1, 'TRADE', 'FILLED', '0.01000000', '0.01000000'],
      [ALICE, 3, 'TRADE', 'PARTIALLY_FILLED', '0.01000000', '0.02000000'],
      [CAROL, 2, 'TRADE', 'FILLED', '0.01000000', '0.01000000'],
    ]);
    const positions = x.userData.filter((e) => e.payload.e === 'outboundAccountPosition');
    assert.deepEqual(
      positions.map((p) => p.userId),
      [ALICE, BOB, CAROL],
    );
    assert.deepEqual(positions[1]?.payload, {
      e: 'outboundAccountPosition',
      E: ms(7),
      u: ms(7),
      B: [
        { a: 'BTC', f: '0.99000000', l: '0.00000000' },
        { a: 'USDT', f: '499.50000000', l: '0.00000000' },
      ],
    });
    assert.equal(x.userData.at(-1)?.payload.e, 'outboundAccountPosition', 'positions come after the reports');
  });

  it('reports a MARKET order that runs out of book: NEW, TRADE, then EXPIRED with eR INSUFFICIENT_LIQUIDITY', () => {
    const x = funded();
    x.rest(BOB, 'SELL', '50000', '0.02');
    x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.06' });
    const mine = reports(x.userData)
      .filter((r) => r.userId === ALICE)
      .map((r) => r.payload);
    assert.deepEqual(
      mine.map((r) => [r.x, r.X, r.o, r.f, r.q, r.z, r.w, r.eR]),
      [
        ['NEW', 'NEW', 'MARKET', 'GTC', '0.06000000', '0.00000000', true, undefined],
        ['TRADE', 'PARTIALLY_FILLED', 'MARKET', 'GTC', '0.06000000', '0.02000000', false, undefined],
        ['EXPIRED', 'EXPIRED', 'MARKET', 'GTC', '0.06000000', '0.02000000', false, 'INSUFFICIENT_LIQUIDITY'],
      ],
    );
    assert.deepEqual([mine[2]?.l, mine[2]?.n, mine[2]?.N, mine[2]?.t], ['0.00000000', '0', null, -1]);
  });

  it('reports the rest of an IOC as EXPIRED with eR UNFILLED_IOC_QUANTITY_EXPIRED', () => {
    const x = funded();
    x.order(ALICE, limit('BUY', '50000', '0.06', { timeInForce: 'IOC' }));
    const last = reports(x.userData).at(-1)?.payload;
    assert.deepEqual(
      [last?.x, last?.X, last?.f, last?.eR],
      ['EXPIRED', 'EXPIRED', 'IOC', 'UNFILLED_IOC_QUANTITY_EXPIRED'],
    );
  });

  it('reports the last trade of an order by quoteOrderQty as FILLED', () => {
    const x = funded();
    x.rest(BOB, 'SELL', '50000', '0.01');
    x.rest(CAROL, 'SELL', '50100', '0.01');
    x.order(ALICE, { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quoteOrderQty: '1000' });
    const mine = reports(x.userData)
      .filter((r) => r.userId === ALICE)
      .map((r) => r.payload);
    assert.deepEqual(
      mine.map((r) => [r.x, r.X, r.q, r.z, r.Q]),
      [
        ['NEW', 'NEW', '0.00000000', '0.00000000', '1000.00000000'],
        ['TRADE', 'PARTIALLY_FILLED', '0.01000000', '0.01000000', '1000.00000000'],
        ['TRADE', 'FILLED', '0.01998000', '0.01998000', '1000.00000000'],
      ],
    );
  });

  it("reports a cancel with the cancel's client order id in c and the order's in C", () => {
    const x = funded();
    const id = x.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'mine' });
    x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(id) });
    const [r] = reports(x.userData).map((e) => e.payload);
    assert.deepEqual(r && [r.x, r.X, r.c, r.C, r.w, r.i], [
      'CANCELED',
      'CANCELED',
      `cancel-${(6).toString(36)}-${id.toString(36)}`,
      'mine',
      false,
      id,
    ]);
    const hinted = new Exchange();
    hinted.fund(ALICE, 'USDT', '100000');
    const placed = hinted.rest(ALICE, 'BUY', '50000', '0.1', { newClientOrderId: 'mine' });
    const events = hinted.engine.submit(
      {
        kind: 'CancelOrder',
        symbolId: 0 as never,
        userId: ALICE,
        orderId: placed as never,
        clientOrderId: '',
        cancelRestriction: 0,
      },
      T0 + 9000,
    );
    const withHint = userDataEvents(hinted.view, events, { cancelClientOrderId: () => 'undo-1' });
    assert.equal((withHint[0]!.payload as ExecutionReport).c, 'undo-1');
  });

  it('builds only the events of the users wanted, and feeds the view every event all the same', () => {
    const all = funded();
    const some = funded();
    some.wants = (u) => u === ALICE || u === CAROL;
    const seen = (x: Exchange) => {
      const out: UserDataEvent[][] = [];
      x.rest(BOB, 'SELL', '50000', '0.5');
      out.push(x.userData);
      x.rest(CAROL, 'SELL', '50100', '0.2');
      out.push(x.userData);
      x.order(ALICE, {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '50100',
        quantity: '0.6',
      });
      out.push(x.userData);
      x.rest(ALICE, 'BUY', '49000', '0.1');
      out.push(x.userData);
      x.fund(BOB, 'USDT', '10');
      out.push(x.userData);
      x.cancelAll(ALICE, { symbol: 'BTCUSDT' });
      out.push(x.userData);
      return out;
    };
    const full = seen(all);
    const filtered = seen(some);
    // The trade between ALICE and BOB, CAROL's fill and BOB's deposit were all built in full.
    assert.ok(full.flat().some((e) => e.userId === BOB && e.payload.e === 'executionReport'));
    assert.ok(full.flat().some((e) => e.userId === BOB && e.payload.e === 'balanceUpdate'));
    assert.deepEqual(
      filtered,
      full.map((events) => events.filter((e) => e.userId === ALICE || e.userId === CAROL)),
    );
    // The views agree on every order, BOB's included.
    for (const user of [ALICE, BOB, CAROL])
      assert.deepEqual(some.view.openOrders(user), all.view.openOrders(user), `open orders of ${user}`);
    for (let id = 1; id <= 4; id++)
      for (const user of [ALICE, BOB, CAROL])
        assert.deepEqual(some.view.order(user, 0 as never, id), all.view.order(user, 0 as never, id));
  });

  it('reports a cancel-all as one CANCELED per order, and releases the funds in one position', () => {
    const x = funded();
    x.rest(ALICE, 'BUY', '50000', '0.1');
    x.rest(ALICE, 'BUY', '49000', '0.1');
    x.cancelAll(ALICE, { symbol: 'BTCUSDT' });
    assert.deepEqual(
      brief(x.userData).map((r) => r.slice(0, 4)),
      [
        [ALICE, 1, 'CANCELED', 'CANCELED'],
        [ALICE, 2, 'CANCELED', 'CANCELED'],
      ],
    );
    assert.deepEqual(x.userData.at(-1)?.payload, {
      e: 'outboundAccountPosition',
      E: ms(7),
      u: ms(7),
      B: [{ a: 'USDT', f: '100000.00000000', l: '0.00000000' }],
    });
  });

  it('reports a prevented match as TRADE_PREVENTION to the order that lost quantity, with u, v, U, A, B, Cs', () => {
    const x = funded();
    const own = x.rest(CAROL, 'SELL', '50000', '0.01', { newClientOrderId: 'own' });
    x.order(CAROL, limit('BUY', '50000', '0.03', { newClientOrderId: 'taker' }));
    const [neu, prevention] = reports(x.userData).map((e) => e.payload);
    assert.equal(neu?.x, 'NEW');
    assert.deepEqual(
      prevention && {
        c: prevention.c,
        i: prevention.i,
        x: prevention.x,
        X: prevention.X,
        u: prevention.u,
        v: prevention.v,
        U: prevention.U,
        A: prevention.A,
        B: prevention.B,
        Cs: prevention.Cs,
        m: prevention.m,
        w: prevention.w,
      },
      {
        c: 'own',
        i: own,
        x: 'TRADE_PREVENTION',
        X: 'EXPIRED_IN_MATCH',
        u: -1,
        v: 1,
        U: 2,
        A: '0.01000000',
        B: '0.01000000',
        Cs: 'BTCUSDT',
        m: true,
        w: false,
      },
    );
    assert.equal(
      reports(x.userData).length,
      2,
      'the taker lost nothing under EXPIRE_MAKER: no report for it',
    );
  });

  it('reports an EXPIRE_TAKER prevention to the taker, which ends EXPIRED_IN_MATCH', () => {
    const x = funded();
    x.rest(CAROL, 'SELL', '50000', '0.01');
    x.order(CAROL, limit('BUY', '50000', '0.03', { selfTradePreventionMode: 'EXPIRE_TAKER' }));
    const last = reports(x.userData).at(-1)?.payload;
    assert.deepEqual(last && [last.i, last.x, last.X, last.A, last.B, last.U, last.V], [
      2,
      'TRADE_PREVENTION',
      'EXPIRED_IN_MATCH',
      '0.03000000',
      '0.03000000',
      1,
      'EXPIRE_TAKER',
    ]);
  });

  it('reports an amend as REPLACED: the new quantity and client order id, the old one in C', () => {
    const x = funded();
    const id = x.rest(BOB, 'SELL', '50000', '0.05', { newClientOrderId: 'before' });
    const { reply } = x.amend(BOB, {
      symbol: 'BTCUSDT',
      orderId: String(id),
      newQty: '0.03',
      newClientOrderId: 'after',
    });
    const [r] = reports(x.userData).map((e) => e.payload);
    assert.deepEqual(r && [r.x, r.X, r.c, r.C, r.q, r.w], [
      'REPLACED',
      'NEW',
      'after',
      'before',
      '0.03000000',
      true,
    ]);
    assert.ok(reply.ok);
    assert.equal(r?.I, reply.value.executionId, 'the reply and the report share the execution id');
  });

  it('reports a cancel-replace whose new order failed: CANCELED, then REJECTED with its reason', () => {
    const x = funded();
    x.rest(BOB, 'SELL', '50000', '0.01');
    const old = x.rest(ALICE, 'BUY', '49000', '0.1');
    x.cancelReplace(ALICE, {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT_MAKER',
      price: '50000',
      quantity: '0.01',
      cancelReplaceMode: 'STOP_ON_FAILURE',
      cancelOrderId: String(old),
      newClientOrderId: 'maker-try',
    });
    assert.deepEqual(
      reports(x.userData).map((e) => [e.payload.i, e.payload.x, e.payload.X, e.payload.c, e.payload.r]),
      [
        [old, 'CANCELED', 'CANCELED', `cancel-${(7).toString(36)}-${old.toString(36)}`, 'NONE'],
        [3, 'REJECTED', 'REJECTED', 'maker-try', 'WOULD_MATCH_IMMEDIATELY'],
      ],
    );
  });

  it('reports nothing for a refused new order, a refused cancel or a refused amend', () => {
    const x = funded();
    x.order(ALICE, limit('BUY', '50000', '5'));
    assert.deepEqual(x.userData, []);
    x.cancelAll(ALICE, { symbol: 'BTCUSDT' });
    assert.deepEqual(x.userData, []);
  });

  it('reports deposits and withdrawals as balanceUpdate, then the account position', () => {
    const x = new Exchange();
    x.fund(ALICE, 'BTC', '1.5');
    assert.deepEqual(x.userData, [
      { userId: ALICE, payload: { e: 'balanceUpdate', E: ms(1), a: 'BTC', d: '1.50000000', T: ms(1) } },
      {
        userId: ALICE,
        payload: {
          e: 'outboundAccountPosition',
          E: ms(1),
          u: ms(1),
          B: [{ a: 'BTC', f: '1.50000000', l: '0.00000000' }],
        },
      },
    ]);
    x.submit({ kind: 'WithdrawalHold', userId: ALICE, assetId: 0, amountUnits: 50_000_000, refId: 77 });
    assert.deepEqual(x.userData[0]?.payload, {
      e: 'balanceUpdate',
      E: ms(2),
      a: 'BTC',
      d: '-0.50000000',
      T: ms(2),
    });
    x.submit({ kind: 'WithdrawalSettle', userId: ALICE, assetId: 0, amountUnits: 50_000_000, refId: 77 });
    assert.deepEqual(
      x.userData.map((e) => e.payload.e),
      ['outboundAccountPosition'],
      'a settled withdrawal only leaves locked funds',
    );
  });

  it('answers in microseconds when asked, and takes the event time given', () => {
    const x = funded();
    const view = new OrderView(markets);
    const events = x.engine.submit(
      {
        kind: 'PlaceOrder',
        symbolId: 0 as never,
        userId: ALICE,
        side: 0,
        orderType: 1,
        timeInForce: 1,
        stpMode: 255,
        priceTicks: 5_000_000,
        qtyLots: 1_000,
        quoteQtyUnits: 0,
        clientOrderId: 'us',
      },
      T0 + 123_456,
    );
    const [r] = userDataEvents(view, events, { timeUnit: 'MICROSECOND', eventTimeMicros: T0 + 200_000 });
    const p = r?.payload as ExecutionReport;
    assert.deepEqual([p.T, p.O, p.W, p.E], [T0 + 123_456, T0 + 123_456, T0 + 123_456, T0 + 200_000]);
  });
});
