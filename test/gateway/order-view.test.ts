/**
 * The order view: what it knows of each order after the engine's events (status, quantities,
 * client order ids), open orders by user and symbol, lookups by id and client order id, the
 * bounded LRU of closed orders, and the two ways of feeding it (decoded events, binary
 * records with the last-of-command flag). A random workload checks it against the engine's
 * own books: the same open orders with the same remainders, command after command.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type CommandInput,
  EventWriter,
  ExpiryReason,
  encodeEvent,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { userDataEvents } from '../../gateway/orders/execution-report.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import { ALICE, BOB, BTCUSDT, CAROL, ETHBTC, Exchange, markets, T0 } from './order-harness.ts';

const S = BTCUSDT.symbolId;

function place(user: number, f: Partial<Extract<CommandInput, { kind: 'PlaceOrder' }>>): CommandInput {
  return {
    kind: 'PlaceOrder',
    symbolId: S,
    userId: userId(user),
    side: Side.BUY,
    orderType: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    stpMode: StpMode.DEFAULT,
    priceTicks: 5_000_000,
    qtyLots: 1_000,
    quoteQtyUnits: 0,
    clientOrderId: '',
    ...f,
  };
}

/** Bob with 10 BTC, Alice and Carol with 1,000,000 USDT and 10 BTC. */
function funded(): Exchange {
  const x = new Exchange();
  for (const u of [ALICE, BOB, CAROL]) x.fund(u, 'BTC', '10');
  for (const u of [ALICE, CAROL]) x.fund(u, 'USDT', '1000000');
  x.fund(ALICE, 'ETH', '100');
  return x;
}

describe('order view', () => {
  it('keeps an accepted order as NEW with its placement fields and times', () => {
    const x = funded();
    x.submit(place(1, { clientOrderId: 'a1', priceTicks: 4_900_000, qtyLots: 2_500 }));
    const [o] = x.view.openOrders(ALICE);
    assert.deepEqual(
      o && {
        orderId: o.orderId,
        clientOrderId: o.clientOrderId,
        side: o.side,
        priceTicks: o.priceTicks,
        qtyLots: o.qtyLots,
        executedLots: o.executedLots,
        remainingLots: o.remainingLots,
        status: o.status,
        timeMicros: o.timeMicros,
        workingTimeMicros: o.workingTimeMicros,
        stpMode: o.stpMode,
      },
      {
        orderId: 1,
        clientOrderId: 'a1',
        side: Side.BUY,
        priceTicks: 4_900_000,
        qtyLots: 2_500,
        executedLots: 0,
        remainingLots: 2_500,
        status: 'NEW',
        timeMicros: x.tsMicros,
        workingTimeMicros: x.tsMicros,
        stpMode: StpMode.EXPIRE_MAKER,
      },
    );
  });

  it('moves an order through PARTIALLY_FILLED to FILLED, adding quantity and quote', () => {
    const x = funded();
    x.submit(place(2, { side: Side.SELL, qtyLots: 3_000 }));
    x.submit(place(1, { qtyLots: 1_000 }));
    const maker = x.view.order(BOB, S, 1)!;
    assert.deepEqual(
      [maker.status, maker.executedLots, maker.remainingLots, maker.cumQuoteUnits, maker.updateTimeMicros],
      ['PARTIALLY_FILLED', 1_000, 2_000, 500e8, x.tsMicros],
    );
    x.submit(place(1, { qtyLots: 2_000 }));
    assert.deepEqual([maker.status, maker.executedLots, maker.remainingLots], ['FILLED', 3_000, 0]);
    assert.deepEqual(x.view.openOrders(BOB), []);
    assert.equal(x.view.order(BOB, S, 1)?.status, 'FILLED', 'a closed order is still found');
  });

  it('records CANCELED and EXPIRED (with the engine reason) and keeps no REJECTED order', () => {
    const x = funded();
    x.submit(place(1, { clientOrderId: 'c' }));
    x.submit({
      kind: 'CancelOrder',
      symbolId: S,
      userId: ALICE,
      orderId: 0 as never,
      clientOrderId: 'c',
      cancelRestriction: 0,
    });
    assert.equal(x.view.order(ALICE, S, 1)?.status, 'CANCELED');
    x.submit(place(1, { timeInForce: TimeInForce.IOC }));
    const ioc = x.view.order(ALICE, S, 2)!;
    assert.deepEqual([ioc.status, ioc.expiryReason], ['EXPIRED', ExpiryReason.IOC]);
    x.submit(place(1, { qtyLots: 10_000_000 }));
    assert.equal(x.view.order(ALICE, S, 3), undefined, 'a rejected order is not kept');
  });

  it('records what self-trade prevention took: preventedLots, preventedMatchId, EXPIRED_IN_MATCH', () => {
    const x = funded();
    x.submit(place(1, { side: Side.SELL, qtyLots: 1_000 }));
    x.submit(place(1, { qtyLots: 400, stpMode: StpMode.DECREMENT }));
    const maker = x.view.order(ALICE, S, 1)!;
    const taker = x.view.order(ALICE, S, 2)!;
    assert.deepEqual(
      [maker.status, maker.preventedLots, maker.remainingLots, maker.preventedMatchId],
      ['NEW', 400, 600, 1],
    );
    assert.deepEqual([taker.status, taker.preventedLots, taker.remainingLots], ['EXPIRED_IN_MATCH', 400, 0]);
  });

  it('lists open orders by user, on one symbol or all, in order id order', () => {
    const x = funded();
    x.submit(place(1, { priceTicks: 4_000_000 }));
    x.submit(place(3, { priceTicks: 4_000_000 }));
    x.submit(place(1, { symbolId: ETHBTC.symbolId, side: Side.SELL, priceTicks: 5_000, qtyLots: 1_000 }));
    x.submit(place(1, { priceTicks: 4_100_000 }));
    assert.deepEqual(
      x.view.openOrders(ALICE).map((o) => o.orderId),
      [1, 3, 4],
    );
    assert.deepEqual(
      x.view.openOrders(ALICE, S).map((o) => o.orderId),
      [1, 4],
    );
    assert.deepEqual(
      x.view.openOrders(ALICE, ETHBTC.symbolId).map((o) => o.orderId),
      [3],
    );
    assert.deepEqual(
      x.view.openOrders(CAROL).map((o) => o.orderId),
      [2],
    );
    assert.deepEqual(x.view.openOrders(BOB), []);
    assert.equal(x.view.openCount, 4);
  });

  it("finds an order by id only for its owner, and by client order id among the user's orders on the symbol", () => {
    const x = funded();
    x.submit(place(1, { clientOrderId: 'same' }));
    x.submit(place(3, { clientOrderId: 'same' }));
    assert.equal(x.view.order(CAROL, S, 1), undefined);
    assert.equal(x.view.order(ALICE, S, 1)?.orderId, 1);
    assert.equal(x.view.orderByClientOrderId(ALICE, S, 'same')?.orderId, 1);
    assert.equal(x.view.orderByClientOrderId(CAROL, S, 'same')?.orderId, 2);
    assert.equal(x.view.orderByClientOrderId(ALICE, ETHBTC.symbolId, 'same'), undefined);
  });

  it('answers a client order id with the open order first, else the latest closed one', () => {
    const x = funded();
    x.submit(place(1, { clientOrderId: 'again' }));
    x.submit({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    x.submit(place(1, { clientOrderId: 'again' }));
    assert.equal(x.view.orderByClientOrderId(ALICE, S, 'again')?.orderId, 2);
    x.submit({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    const latest = x.view.orderByClientOrderId(ALICE, S, 'again');
    assert.deepEqual([latest?.orderId, latest?.status], [2, 'CANCELED']);
  });

  it('follows an amend: new quantity, new client order id, the old one remembered', () => {
    const x = funded();
    x.submit(place(1, { clientOrderId: 'old', qtyLots: 5_000 }));
    x.submit({
      kind: 'AmendOrder',
      symbolId: S,
      userId: ALICE,
      orderId: 1 as never,
      clientOrderId: '',
      priceTicks: 0,
      qtyLots: 3_000,
      newClientOrderId: 'new',
    });
    const o = x.view.order(ALICE, S, 1)!;
    assert.deepEqual(
      [o.qtyLots, o.remainingLots, o.clientOrderId, o.prevClientOrderId],
      [3_000, 3_000, 'new', 'old'],
    );
    assert.equal(x.view.orderByClientOrderId(ALICE, S, 'old'), undefined);
    assert.equal(x.view.orderByClientOrderId(ALICE, S, 'new'), o);
  });

  it('keeps at most closedCapacity closed orders, the least recently used leaving first', () => {
    const x = funded();
    const view = new OrderView(markets, { closedCapacity: 2 });
    const run = (cmd: CommandInput) => view.applyCommand(x.submit(cmd));
    for (let i = 0; i < 3; i++) {
      run(place(1, { clientOrderId: `c${i}` }));
      run({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    }
    assert.equal(view.closedCount, 2);
    assert.equal(view.order(ALICE, S, 1), undefined, 'the oldest is gone');
    assert.equal(view.orderByClientOrderId(ALICE, S, 'c0'), undefined);
    assert.ok(view.order(ALICE, S, 2), 'order 2 is used: now the most recent');
    run(place(1, {}));
    run({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    assert.ok(view.order(ALICE, S, 2));
    assert.equal(view.order(ALICE, S, 3), undefined, 'order 3 was the least recently used');
    assert.ok(view.order(ALICE, S, 4));
  });

  it('peeks at a closed order without making it the most recently used', () => {
    const x = funded();
    const view = new OrderView(markets, { closedCapacity: 2 });
    const run = (cmd: CommandInput) => view.applyCommand(x.submit(cmd));
    for (let i = 0; i < 2; i++) {
      run(place(1, {}));
      run({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    }
    assert.equal(view.peekOrder(ALICE, S, 1)?.status, 'CANCELED');
    assert.equal(view.peekOrder(BOB, S, 1), undefined, "another user's order");
    run(place(1, {}));
    run({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE });
    assert.equal(view.peekOrder(ALICE, S, 1), undefined, 'order 1 was still the least recently used');
    assert.ok(view.peekOrder(ALICE, S, 2));
  });

  it('at a large capacity keeps exactly that many closed orders, each as it closed', () => {
    const x = funded();
    const view = new OrderView(markets, { closedCapacity: 1024 });
    const closeOne = () => {
      view.applyCommand(x.submit(place(1, { clientOrderId: `c${view.lastSeq}` })));
      view.applyCommand(x.submit({ kind: 'CancelAllOrders', symbolId: S, userId: ALICE }));
    };
    for (let i = 0; i < 1024 + 64; i++) closeOne();
    assert.equal(view.closedCount, 1024);
    for (let id = 1; id <= 64; id++) assert.equal(view.order(ALICE, S, id), undefined, `order ${id} dropped`);
    const o = view.order(ALICE, S, 65)!;
    assert.deepEqual([o.status, o.remainingLots, o.qtyLots], ['CANCELED', 0, 1_000]);
    assert.deepEqual(view.orderByClientOrderId(ALICE, S, o.clientOrderId), o);
    closeOne();
    assert.ok(view.order(ALICE, S, 65), 'order 65 was used: kept');
    assert.equal(view.order(ALICE, S, 66), undefined, 'order 66 was the least recently used');
    assert.equal(view.recentOrders(ALICE, S).length, 1024);
  });

  it('settles a MARKET order by quote amount when its command ends, not at its last trade', () => {
    const x = funded();
    const view = new OrderView(markets);
    view.applyCommand(x.submit(place(2, { side: Side.SELL, qtyLots: 1_000 })));
    const events = x.submit(
      place(1, {
        orderType: OrderType.MARKET,
        timeInForce: TimeInForce.NONE,
        priceTicks: 0,
        qtyLots: 0,
        quoteQtyUnits: 100e8,
      }),
    );
    for (const e of events) view.apply(e);
    assert.equal(view.order(ALICE, S, 2)?.status, 'PARTIALLY_FILLED', 'its command may still be going on');
    view.endCommand();
    const o = view.order(ALICE, S, 2)!;
    assert.deepEqual([o.status, o.executedLots, o.cumQuoteUnits], ['FILLED', 200, 100e8]);
    assert.equal(view.openCount, 1, 'only the maker is open');
  });

  it('settles it on the next command when no end was signalled', () => {
    const x = funded();
    const view = new OrderView(markets);
    view.applyCommand(x.submit(place(2, { side: Side.SELL, qtyLots: 1_000 })));
    for (const e of x.submit(
      place(1, {
        orderType: OrderType.MARKET,
        timeInForce: TimeInForce.NONE,
        priceTicks: 0,
        qtyLots: 0,
        quoteQtyUnits: 100e8,
      }),
    ))
      view.apply(e);
    for (const e of x.submit(place(3, { priceTicks: 1_000_000 }))) view.apply(e);
    assert.equal(view.order(ALICE, S, 2)?.status, 'FILLED');
  });

  it('reads binary event records, settling commands at their last-event flag', () => {
    const x = funded();
    const view = new OrderView(markets);
    const w = new EventWriter(16);
    const write = (cmd: CommandInput) => {
      for (const e of x.submit(cmd)) encodeEvent(w, e);
      w.markLast();
    };
    write(place(2, { side: Side.SELL, qtyLots: 1_000, clientOrderId: 'rec' }));
    write(
      place(1, {
        orderType: OrderType.MARKET,
        timeInForce: TimeInForce.NONE,
        priceTicks: 0,
        qtyLots: 0,
        quoteQtyUnits: 100e8,
      }),
    );
    view.applyRecords(w.views, 0, w.count);
    assert.equal(view.order(ALICE, S, 2)?.status, 'FILLED');
    assert.equal(view.orderByClientOrderId(BOB, S, 'rec')?.remainingLots, 800);
    assert.equal(view.lastSeq, x.view.lastSeq);
  });

  it('takes open orders known from elsewhere (a restart) and follows them', () => {
    const x = funded();
    x.submit(place(2, { side: Side.SELL, qtyLots: 1_000, clientOrderId: 'seeded' }));
    const restarted = new OrderView(markets);
    restarted.seedOpenOrder(x.view.order(BOB, S, 1)!);
    restarted.applyCommand(x.submit(place(1, { qtyLots: 400 })));
    const o = restarted.order(BOB, S, 1)!;
    assert.deepEqual([o.status, o.executedLots, o.clientOrderId], ['PARTIALLY_FILLED', 400, 'seeded']);
    assert.equal(x.view.order(BOB, S, 1)?.executedLots, 400, 'the seed was copied, not shared');
  });

  it('agrees with the engine books on every open order and its remainder, through a random workload', () => {
    const users = [1, 2, 3];
    const action = fc.oneof(
      fc.record({
        t: fc.constant('limit' as const),
        u: fc.constantFrom(...users),
        side: fc.constantFrom(Side.BUY, Side.SELL),
        price: fc.integer({ min: 4_990_000, max: 5_010_000 }),
        qty: fc.integer({ min: 100, max: 3_000 }),
        tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
        stp: fc.constantFrom(
          StpMode.DEFAULT,
          StpMode.NONE,
          StpMode.EXPIRE_TAKER,
          StpMode.EXPIRE_BOTH,
          StpMode.DECREMENT,
        ),
      }),
      fc.record({
        t: fc.constant('market' as const),
        u: fc.constantFrom(...users),
        side: fc.constantFrom(Side.BUY, Side.SELL),
        qty: fc.integer({ min: 100, max: 3_000 }),
        quote: fc.boolean(),
      }),
      fc.record({
        t: fc.constant('cancel' as const),
        u: fc.constantFrom(...users),
        id: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({ t: fc.constant('cancelAll' as const), u: fc.constantFrom(...users) }),
      fc.record({
        t: fc.constant('amend' as const),
        u: fc.constantFrom(...users),
        id: fc.integer({ min: 1, max: 40 }),
        qty: fc.integer({ min: 50, max: 3_000 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
        const x = new Exchange();
        for (const u of users) {
          x.fund(userId(u), 'BTC', '1000');
          x.fund(userId(u), 'USDT', '10000000');
        }
        const direct = new OrderView(markets, { closedCapacity: 5 });
        // Fed as the user data hub feeds it: nobody listening (commands only applied), and
        // one user listening (commands of others only applied, Alice's reported).
        const unheard = new OrderView(markets);
        const aliceHeard = new OrderView(markets);
        for (const a of actions) {
          let cmd: CommandInput;
          if (a.t === 'limit')
            cmd = place(a.u, {
              side: a.side,
              priceTicks: a.price,
              qtyLots: a.qty,
              timeInForce: a.tif,
              stpMode: a.stp,
            });
          else if (a.t === 'market')
            cmd = place(a.u, {
              side: a.side,
              orderType: OrderType.MARKET,
              timeInForce: TimeInForce.NONE,
              priceTicks: 0,
              qtyLots: a.quote ? 0 : a.qty,
              quoteQtyUnits: a.quote ? a.qty * 1e8 : 0,
            });
          else if (a.t === 'cancel')
            cmd = {
              kind: 'CancelOrder',
              symbolId: S,
              userId: userId(a.u),
              orderId: a.id as never,
              clientOrderId: '',
              cancelRestriction: 0,
            };
          else if (a.t === 'cancelAll') cmd = { kind: 'CancelAllOrders', symbolId: S, userId: userId(a.u) };
          else
            cmd = {
              kind: 'AmendOrder',
              symbolId: S,
              userId: userId(a.u),
              orderId: a.id as never,
              clientOrderId: '',
              priceTicks: 0,
              qtyLots: a.qty,
              newClientOrderId: '',
            };
          const events = x.submit(cmd);
          direct.applyCommand(events);
          userDataEvents(unheard, events, { wants: () => false });
          const aliceData = userDataEvents(aliceHeard, events, {
            wants: (u) => u === ALICE,
            balances: (u, assets) => x.balances(u, assets),
          });
          assert.deepEqual(
            aliceData,
            x.userData.filter((d) => d.userId === ALICE),
          );
          for (const u of users) {
            const all = (v: OrderView) => [...v.openOrders(u), ...v.recentOrders(u, S)];
            assert.deepEqual(all(unheard), all(x.view), 'a view fed without listeners is the same view');
            assert.deepEqual(all(aliceHeard), all(x.view));
            const book = x.engine.books[S]!.openOrdersOf(u).map((o) => [
              o.orderId,
              o.remainingLots,
              o.qtyLots,
            ]);
            for (const view of [x.view, direct]) {
              const mine = view.openOrders(u, S).map((o) => [o.orderId, o.remainingLots, o.qtyLots]);
              assert.deepEqual(mine, book);
            }
          }
          assert.ok(direct.closedCount <= 5);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('feeds the view once per command: giving it the same command again is a bug that throws', async () => {
    const x = funded();
    const events = x.submit(place(1, {}));
    const { userDataEvents } = await import('../../gateway/orders/execution-report.ts');
    assert.throws(() => userDataEvents(x.view, events), /already applied seq/);
    assert.equal(T0 < x.tsMicros, true);
  });
});
