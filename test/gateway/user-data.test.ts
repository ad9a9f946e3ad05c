/**
 * Specifications of user data the older way: the hub that feeds the order view and fans
 * events out per user, listen keys (POST / PUT / DELETE /api/v3/userDataStream, expiry), and
 * `/ws/<listenKey>` streams over real sockets against a real core.
 */
import assert from 'node:assert/strict';
import type { Balance, EngineEvent } from '../../engine/index.ts';
import type { UserDataPayload } from '../../gateway/orders/execution-report.ts';
import { executionId } from '../../gateway/orders/order-format.ts';
import { parseNewOrder } from '../../gateway/orders/order-params.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import { isListenKey, LISTEN_KEY_TTL_MICROS } from '../../gateway/user-data/listen-keys.ts';
import { UserDataHub } from '../../gateway/user-data/user-data-hub.ts';
import { send } from './helpers.ts';
import { type HmacUser, type Json, UNIT, UserDataRig } from './user-data-harness.test.ts';

/** Places an order for `userId` the way the REST route does (parse, then the core). */
async function place(
  rig: UserDataRig,
  userId: number,
  params: Record<string, string>,
): Promise<EngineEvent[]> {
  const parsed = parseNewOrder(
    { symbol: 'BTCUSDT', ...params },
    { markets: rig.core.markets, userId: userId as never },
  );
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error));
  return rig.submit(parsed.value.command);
}

/** The index of the first event of `kind` in a command's events. */
function indexOf(events: readonly EngineEvent[], kind: EngineEvent['kind']): number {
  const i = events.findIndex((e) => e.kind === kind);
  assert.ok(i >= 0, `no ${kind}`);
  return i;
}

/** POST /api/v3/userDataStream for `user`. */
async function createListenKey(rig: UserDataRig, user: HmacUser): Promise<string> {
  const r = await send(rig.gw, '/api/v3/userDataStream', {
    method: 'POST',
    headers: { 'X-MBX-APIKEY': user.apiKey },
  });
  assert.equal(r.status, 200, r.text);
  return r.json.listenKey;
}

describe('user data', () => {
  const rig = new UserDataRig();
  before(() => rig.start());
  after(() => rig.close());

  describe('the hub', () => {
    it('feeds the shared order view with every command exactly once, in seq order', async () => {
      const alice = rig.hmacUser();
      await rig.deposit(alice.userId, 'BTC', UNIT);
      const events = await place(rig, alice.userId, {
        side: 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.01',
        price: '60000',
        newClientOrderId: 'view-1',
      });
      assert.equal(rig.hub.lastSeq, events[0]!.seq);
      assert.equal(rig.view.lastSeq, events[0]!.seq);
      const open = rig.view.openOrders(alice.userId);
      assert.deepEqual(
        open.map((o) => [o.clientOrderId, o.status]),
        [['view-1', 'NEW']],
      );
    });

    it('delivers executionReport and outboundAccountPosition to each user of a trade, in engine order', async () => {
      const maker = rig.hmacUser();
      const taker = rig.hmacUser();
      await rig.deposit(maker.userId, 'BTC', UNIT);
      await rig.deposit(taker.userId, 'USDT', 1000 * UNIT);
      const got = new Map<number, UserDataPayload[]>([
        [maker.userId, []],
        [taker.userId, []],
      ]);
      const offs = [maker.userId, taker.userId].map((u) => rig.hub.subscribe(u, (p) => got.get(u)!.push(p)));
      try {
        await place(rig, maker.userId, {
          side: 'SELL',
          type: 'LIMIT',
          timeInForce: 'GTC',
          quantity: '0.01',
          price: '50000',
        });
        await place(rig, taker.userId, {
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          quantity: '0.01',
          price: '50000',
        });
        const kinds = (u: number) =>
          got.get(u)!.map((p) => (p.e === 'executionReport' ? `${p.e}:${p.x}:${p.X}` : p.e));
        assert.deepEqual(kinds(maker.userId), [
          'executionReport:NEW:NEW',
          'outboundAccountPosition',
          'executionReport:TRADE:FILLED',
          'outboundAccountPosition',
        ]);
        assert.deepEqual(kinds(taker.userId), [
          'executionReport:NEW:NEW',
          'executionReport:TRADE:FILLED',
          'outboundAccountPosition',
        ]);
        const last = got.get(taker.userId)!.at(-1)!;
        assert.equal(last.e, 'outboundAccountPosition');
        assert.deepEqual(last.B, [
          { a: 'USDT', f: '500.00000000', l: '0.00000000' },
          { a: 'BTC', f: '0.00999000', l: '0.00000000' },
        ]);
      } finally {
        for (const off of offs) off();
      }
    });

    it('never delivers events of commands processed before the subscription', async () => {
      const u = rig.hmacUser();
      await rig.deposit(u.userId, 'USDT', UNIT);
      const got: UserDataPayload[] = [];
      const off = rig.hub.subscribe(u.userId, (p) => got.push(p));
      await rig.deposit(u.userId, 'USDT', 2 * UNIT);
      off();
      await rig.deposit(u.userId, 'USDT', 3 * UNIT);
      assert.deepEqual(
        got.map((p) => (p.e === 'balanceUpdate' ? p.d : p.e)),
        ['2.00000000', 'outboundAccountPosition'],
      );
      assert.equal(rig.hub.subscriberCount(u.userId), 0);
    });

    it('holds a user’s later events behind a position until its balances arrive, and no other user', async () => {
      // A second hub on the same core with its own view and a balance source the test answers.
      const waiting: { userId: number; resolve: (b: readonly Balance[]) => void }[] = [];
      const hub = new UserDataHub({
        markets: rig.core.markets,
        view: new OrderView(rig.core.markets),
        balancesOf: (userId) => new Promise((resolve) => waiting.push({ userId, resolve })),
        clock: rig.clock,
      });
      const off = rig.core.onEvents(hub.listener);
      const slow = rig.hmacUser();
      const other = rig.hmacUser();
      const slowGot: string[] = [];
      const otherGot: string[] = [];
      const name = (p: UserDataPayload) => (p.e === 'balanceUpdate' ? `${p.e}:${p.d}` : p.e);
      hub.subscribe(slow.userId, (p) => slowGot.push(name(p)));
      hub.subscribe(other.userId, (p) => otherGot.push(name(p)));
      try {
        await rig.deposit(slow.userId, 'USDT', UNIT);
        await rig.deposit(slow.userId, 'USDT', 2 * UNIT);
        await rig.deposit(other.userId, 'USDT', 5 * UNIT);
        // The slow user's second deposit waits behind the first position; the other user's does not.
        assert.deepEqual(slowGot, ['balanceUpdate:1.00000000']);
        assert.deepEqual(otherGot, ['balanceUpdate:5.00000000']);
        assert.deepEqual(
          waiting.map((w) => w.userId),
          [slow.userId, other.userId],
        );
        const [first] = waiting.splice(0, 1);
        first!.resolve(rig.core.balancesOf(slow.userId));
        await new Promise((r) => setImmediate(r));
        // One fetch answered the position queued before it; the next position needs a new one.
        assert.deepEqual(slowGot, [
          'balanceUpdate:1.00000000',
          'outboundAccountPosition',
          'balanceUpdate:2.00000000',
        ]);
        const second = waiting.find((w) => w.userId === slow.userId)!;
        second.resolve(rig.core.balancesOf(slow.userId));
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(slowGot, [
          'balanceUpdate:1.00000000',
          'outboundAccountPosition',
          'balanceUpdate:2.00000000',
          'outboundAccountPosition',
        ]);
      } finally {
        off();
      }
    });

    it('shows balances no older than the events before them, and exactly the core’s after the last command', async () => {
      const u = rig.hmacUser();
      const got: UserDataPayload[] = [];
      const off = rig.hub.subscribe(u.userId, (p) => got.push(p));
      try {
        for (let i = 1; i <= 5; i++) await rig.deposit(u.userId, 'USDT', i * UNIT);
        await place(rig, u.userId, {
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          quantity: '0.0002',
          price: '40000',
        });
        let credited = 0;
        for (const p of got) {
          if (p.e === 'balanceUpdate') credited += Number(p.d);
          if (p.e === 'outboundAccountPosition') {
            const usdt = p.B.find((b) => b.a === 'USDT')!;
            assert.ok(
              Number(usdt.f) + Number(usdt.l) >= credited,
              'a position older than the deposits before it',
            );
          }
        }
        const last = got.at(-1)!;
        assert.equal(last.e, 'outboundAccountPosition');
        const core = rig.balances(u.userId).USDT!;
        assert.deepEqual(last.B, [
          { a: 'USDT', f: (core.free / UNIT).toFixed(8), l: (core.locked / UNIT).toFixed(8) },
        ]);
        assert.equal(last.B[0]!.l, '8.00000000');
      } finally {
        off();
      }
    });

    it('drops the subscriptions of a user whose events pile up behind balances that never come', async () => {
      const hub = new UserDataHub({
        markets: rig.core.markets,
        view: new OrderView(rig.core.markets),
        balancesOf: () => new Promise(() => {}),
        clock: rig.clock,
        maxQueuedPerUser: 3,
      });
      const off = rig.core.onEvents(hub.listener);
      const u = rig.hmacUser();
      let dropped = 0;
      hub.subscribe(u.userId, () => {}, { onDropped: () => dropped++ });
      try {
        for (let i = 0; i < 3; i++) await rig.deposit(u.userId, 'USDT', UNIT);
        assert.equal(dropped, 1);
        assert.equal(hub.subscriberCount(u.userId), 0);
      } finally {
        off();
      }
    });

    it('skips a command it has already seen (a link that resumed) and reports each event once', async () => {
      const view = new OrderView(rig.core.markets);
      const hub = new UserDataHub({
        markets: rig.core.markets,
        view,
        balancesOf: (userId) => rig.core.balancesOf(userId),
        clock: rig.clock,
      });
      const off = rig.core.onEvents((v, from, count) => {
        hub.listener(v, from, count);
        hub.listener(v, from, count);
      });
      const u = rig.hmacUser();
      const got: string[] = [];
      hub.subscribe(u.userId, (p) => got.push(p.e));
      try {
        await rig.deposit(u.userId, 'USDT', 100 * UNIT);
        await place(rig, u.userId, {
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          quantity: '0.001',
          price: '30000',
        });
        assert.deepEqual(got, [
          'balanceUpdate',
          'outboundAccountPosition',
          'executionReport',
          'outboundAccountPosition',
        ]);
        assert.equal(view.openOrders(u.userId).length, 1);
      } finally {
        off();
      }
    });
  });

  describe('listen keys (/api/v3/userDataStream)', () => {
    const api = (user: HmacUser) => ({ 'X-MBX-APIKEY': user.apiKey });

    it('creates a 60-character key, the same one for the same API key while it is valid', async () => {
      const a = rig.hmacUser();
      const b = rig.hmacUser();
      const k1 = await createListenKey(rig, a);
      assert.match(k1, /^[A-Za-z0-9]{60}$/);
      assert.ok(isListenKey(k1));
      assert.equal(await createListenKey(rig, a), k1);
      assert.notEqual(await createListenKey(rig, b), k1);
    });

    it('refuses a request without a valid API key', async () => {
      const none = await send(rig.gw, '/api/v3/userDataStream', { method: 'POST' });
      assert.equal(none.status, 401);
      assert.equal(none.json.code, -2014);
      const unknown = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'POST',
        headers: { 'X-MBX-APIKEY': 'z'.repeat(64) },
      });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.json.code, -2015);
    });

    it('keeps a key alive 60 minutes from each keepalive, and refuses unknown and missing keys', async () => {
      const u = rig.hmacUser();
      const key = await createListenKey(rig, u);
      rig.clock.advanceMillis(59 * 60_000);
      const put = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'PUT',
        query: `listenKey=${key}`,
        headers: api(u),
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, {});
      rig.clock.advanceMillis(59 * 60_000);
      assert.equal(rig.listenKeys.owner(key), u.userId);
      const other = rig.hmacUser();
      const foreign = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'PUT',
        query: `listenKey=${key}`,
        headers: api(other),
      });
      assert.deepEqual(
        [foreign.status, foreign.json],
        [400, { code: -1125, msg: 'This listenKey does not exist.' }],
      );
      const missing = await send(rig.gw, '/api/v3/userDataStream', { method: 'PUT', headers: api(u) });
      assert.equal(missing.json.code, -1102);
      rig.clock.advanceMillis(2 * 60_000);
      const late = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'PUT',
        query: `listenKey=${key}`,
        headers: api(u),
      });
      assert.deepEqual([late.status, late.json.code], [400, -1125]);
    });

    it('expires a key after 60 minutes without keepalive: its stream gets listenKeyExpired and closes', async () => {
      const u = rig.hmacUser();
      const key = await createListenKey(rig, u);
      const ws = await rig.connect(`/ws/${key}`);
      rig.clock.advanceMillis(LISTEN_KEY_TTL_MICROS / 1000 - 1);
      rig.listenKeys.sweep(); // keys of earlier tests
      assert.equal(rig.listenKeys.owner(key), u.userId);
      rig.clock.advanceMillis(1);
      const now = rig.clock.millis;
      assert.equal(rig.listenKeys.sweep(), 1);
      assert.deepEqual(await ws.take(), { e: 'listenKeyExpired', E: String(now), listenKey: key });
      assert.equal((await ws.closedBy()).code, 1000);
      assert.equal(rig.hub.subscriberCount(u.userId), 0);
      // A new POST after expiry gives a new key.
      assert.notEqual(await createListenKey(rig, u), key);
    });

    it('closes the streams of a deleted key without an expiry event, and forgets the key', async () => {
      const u = rig.hmacUser();
      const key = await createListenKey(rig, u);
      const ws = await rig.connect(`/ws/${key}`);
      const del = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'DELETE',
        query: `listenKey=${key}`,
        headers: api(u),
      });
      assert.deepEqual([del.status, del.json], [200, {}]);
      assert.equal((await ws.closedBy()).code, 1000);
      assert.deepEqual(ws.pending(), []);
      const again = await send(rig.gw, '/api/v3/userDataStream', {
        method: 'DELETE',
        query: `listenKey=${key}`,
        headers: api(u),
      });
      assert.equal(again.json.code, -1125);
    });
  });

  describe('/ws/<listenKey>', () => {
    it('closes a connection to a name that is no valid listen key, cleanly with 1008', async () => {
      const unknown = await rig.connect(`/ws/${'A'.repeat(60)}`);
      assert.deepEqual(await unknown.closedBy(), { code: 1008, reason: 'This listenKey does not exist.' });
      const stream = await rig.connect('/ws/btcusdt@trade');
      assert.deepEqual(await stream.closedBy(), { code: 1008, reason: 'Unknown stream.' });
    });

    it('carries the user’s balanceUpdate on a deposit, then the account position', async () => {
      const u = rig.hmacUser();
      const ws = await rig.connect(`/ws/${await createListenKey(rig, u)}`);
      const events = await rig.deposit(u.userId, 'USDT', 1234 * UNIT);
      const T = Math.floor(events[0]!.tsMicros / 1000);
      assert.deepEqual(await ws.take(), {
        e: 'balanceUpdate',
        E: rig.clock.millis,
        a: 'USDT',
        d: '1234.00000000',
        T,
      });
      assert.deepEqual(await ws.take(), {
        e: 'outboundAccountPosition',
        E: rig.clock.millis,
        u: T,
        B: [{ a: 'USDT', f: '1234.00000000', l: '0.00000000' }],
      });
      ws.close();
    });

    it('carries every executionReport field when the user’s orders trade', async () => {
      const alice = rig.hmacUser();
      const bob = rig.hmacUser();
      await rig.deposit(alice.userId, 'BTC', UNIT);
      await rig.deposit(bob.userId, 'USDT', 1000 * UNIT);
      const aws = await rig.connect(`/ws/${await createListenKey(rig, alice)}`);
      const bws = await rig.connect(`/ws/${await createListenKey(rig, bob)}`);
      rig.clock.advanceMillis(5);
      const sell = await place(rig, alice.userId, {
        side: 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.01',
        price: '50000',
        newClientOrderId: 'alice-sell',
      });
      const sellAccepted = sell[indexOf(sell, 'OrderAccepted')] as Extract<
        EngineEvent,
        { kind: 'OrderAccepted' }
      >;
      const placedAt = rig.clock.millis;
      const newReport = await aws.take();
      assert.deepEqual(newReport, {
        e: 'executionReport',
        E: placedAt,
        s: 'BTCUSDT',
        c: 'alice-sell',
        S: 'SELL',
        o: 'LIMIT',
        f: 'GTC',
        q: '0.01000000',
        p: '50000.00000000',
        P: '0.00000000',
        F: '0.00000000',
        g: -1,
        C: '',
        x: 'NEW',
        X: 'NEW',
        r: 'NONE',
        i: sellAccepted.orderId,
        l: '0.00000000',
        z: '0.00000000',
        L: '0.00000000',
        n: '0',
        N: null,
        T: placedAt,
        t: -1,
        I: executionId(sellAccepted.seq, indexOf(sell, 'OrderAccepted')),
        w: true,
        m: false,
        M: false,
        O: placedAt,
        Z: '0.00000000',
        Y: '0.00000000',
        Q: '0.00000000',
        W: placedAt,
        V: 'EXPIRE_MAKER',
      });
      assert.deepEqual(await aws.take(), {
        e: 'outboundAccountPosition',
        E: placedAt,
        u: placedAt,
        B: [{ a: 'BTC', f: '0.99000000', l: '0.01000000' }],
      });

      rig.clock.advanceMillis(7);
      const buy = await place(rig, bob.userId, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.01',
        price: '50100',
        newClientOrderId: 'bob-buy',
      });
      const tradedAt = rig.clock.millis;
      const tradeIndex = indexOf(buy, 'TradeExecuted');
      const trade = buy[tradeIndex] as Extract<EngineEvent, { kind: 'TradeExecuted' }>;
      const bobAccepted = buy[indexOf(buy, 'OrderAccepted')] as Extract<
        EngineEvent,
        { kind: 'OrderAccepted' }
      >;
      const makerTrade: Json = await aws.take();
      assert.deepEqual(makerTrade, {
        ...newReport,
        E: tradedAt,
        x: 'TRADE',
        X: 'FILLED',
        l: '0.01000000',
        z: '0.01000000',
        L: '50000.00000000',
        n: '0.50000000',
        N: 'USDT',
        T: tradedAt,
        t: trade.tradeId,
        I: executionId(trade.seq, tradeIndex, true),
        w: false,
        m: true,
        M: true,
        Z: '500.00000000',
        Y: '500.00000000',
      });
      assert.deepEqual(await aws.take(), {
        e: 'outboundAccountPosition',
        E: tradedAt,
        u: tradedAt,
        B: [
          { a: 'BTC', f: '0.99000000', l: '0.00000000' },
          { a: 'USDT', f: '499.50000000', l: '0.00000000' },
        ],
      });

      const [bobNew, bobTrade, bobPosition] = await bws.takeN(3);
      assert.deepEqual(
        [bobNew.x, bobNew.X, bobNew.c, bobNew.i, bobNew.p, bobNew.w, bobNew.I],
        ['NEW', 'NEW', 'bob-buy', bobAccepted.orderId, '50100.00000000', true, executionId(buy[0]!.seq, 0)],
      );
      assert.deepEqual(
        {
          x: bobTrade.x,
          X: bobTrade.X,
          S: bobTrade.S,
          l: bobTrade.l,
          z: bobTrade.z,
          L: bobTrade.L,
          n: bobTrade.n,
          N: bobTrade.N,
          t: bobTrade.t,
          m: bobTrade.m,
          w: bobTrade.w,
          Z: bobTrade.Z,
          Y: bobTrade.Y,
          I: bobTrade.I,
        },
        {
          x: 'TRADE',
          X: 'FILLED',
          S: 'BUY',
          l: '0.01000000',
          z: '0.01000000',
          L: '50000.00000000',
          n: '0.00001000',
          N: 'BTC',
          t: trade.tradeId,
          m: false,
          w: false,
          Z: '500.00000000',
          Y: '500.00000000',
          I: executionId(trade.seq, tradeIndex),
        },
      );
      assert.deepEqual(bobPosition.B, [
        { a: 'USDT', f: '500.00000000', l: '0.00000000' },
        { a: 'BTC', f: '0.00999000', l: '0.00000000' },
      ]);
      aws.close();
      bws.close();
    });

    it('gives microsecond times with ?timeUnit=MICROSECOND and refuses an unknown unit', async () => {
      const u = rig.hmacUser();
      const key = await createListenKey(rig, u);
      const ws = await rig.connect(`/ws/${key}?timeUnit=MICROSECOND`);
      rig.clock.advanceMillis(0.5);
      const events = await rig.deposit(u.userId, 'BTC', UNIT);
      const update = await ws.take();
      assert.deepEqual(
        [update.e, update.E, update.T],
        ['balanceUpdate', rig.clock.micros, events[0]!.tsMicros],
      );
      ws.close();
      await assert.rejects(rig.connect(`/ws/${key}?timeUnit=NANOSECOND`));
    });

    it('answers LIST_SUBSCRIPTIONS with the key, and any other request with an error, staying open', async () => {
      const u = rig.hmacUser();
      const key = await createListenKey(rig, u);
      const ws = await rig.connect(`/ws/${key}`);
      ws.send({ method: 'LIST_SUBSCRIPTIONS', id: 7 });
      assert.deepEqual(await ws.take(), { result: [key], id: 7 });
      ws.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 'x' });
      const refused = await ws.take();
      assert.deepEqual([refused.id, refused.error.code], ['x', 2]);
      ws.send('not json');
      assert.deepEqual(await ws.take(), { error: { code: 3, msg: 'Invalid JSON' }, id: null });
      await rig.deposit(u.userId, 'USDT', UNIT);
      assert.equal((await ws.take()).e, 'balanceUpdate');
      ws.close();
    });

    it('keeps one user’s events in engine order while two users trade against each other concurrently', async () => {
      const a = rig.hmacUser();
      const b = rig.hmacUser();
      await rig.deposit(a.userId, 'BTC', 10 * UNIT);
      await rig.deposit(a.userId, 'USDT', 1_000_000 * UNIT);
      await rig.deposit(b.userId, 'BTC', 10 * UNIT);
      await rig.deposit(b.userId, 'USDT', 1_000_000 * UNIT);
      // The truth: a second hub on the same core, delivering in process.
      const truthHub = new UserDataHub({
        markets: rig.core.markets,
        view: new OrderView(rig.core.markets),
        balancesOf: (userId) => rig.core.balancesOf(userId),
        clock: rig.clock,
      });
      const off = rig.core.onEvents(truthHub.listener);
      const truth = new Map<number, Json[]>([
        [a.userId, []],
        [b.userId, []],
      ]);
      for (const u of [a.userId, b.userId]) truthHub.subscribe(u, (p) => truth.get(u)!.push(p));
      const aws = await rig.connect(`/ws/${await createListenKey(rig, a)}`);
      const bws = await rig.connect(`/ws/${await createListenKey(rig, b)}`);
      try {
        const orders: Promise<EngineEvent[]>[] = [];
        for (let i = 0; i < 40; i++) {
          const price = String(50_000 + (i % 5));
          orders.push(
            place(rig, a.userId, {
              side: i % 2 === 0 ? 'SELL' : 'BUY',
              type: 'LIMIT',
              timeInForce: 'GTC',
              quantity: '0.001',
              price,
            }),
            place(rig, b.userId, {
              side: i % 2 === 0 ? 'BUY' : 'SELL',
              type: 'LIMIT',
              timeInForce: 'IOC',
              quantity: '0.0015',
              price,
            }),
          );
        }
        await Promise.all(orders);
        for (const [u, ws] of [
          [a.userId, aws],
          [b.userId, bws],
        ] as const) {
          const expected = truth.get(u)!;
          assert.ok(expected.length > 80, `${expected.length} events`);
          const received = await ws.takeN(expected.length);
          assert.deepEqual(received, expected);
          const ids = received.filter((p) => p.e === 'executionReport').map((p) => p.I);
          for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], 'execution ids out of order');
        }
      } finally {
        off();
        aws.close();
        bws.close();
      }
    });
  });
});
