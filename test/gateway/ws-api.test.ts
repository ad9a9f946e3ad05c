/**
 * Specifications of the WebSocket API at /ws-api/v3 over real sockets against a real core:
 * request and reply shapes, malformed frames, user data subscriptions (signed, and after
 * session.logon), session management, orders placed, cancelled and queried unsigned after
 * logon or signed per request, and the shared rate limits.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RATE_LIMITS } from '../../gateway/auth/rate-limit.ts';
import { hmac } from './helpers.ts';
import { type Json, UNIT, UserDataRig, type WsClient, wsPayload } from './user-data-harness.test.ts';

const WEIGHT = (count: number) => ({
  rateLimitType: 'REQUEST_WEIGHT',
  interval: 'MINUTE',
  intervalNum: 1,
  limit: 1e9,
  count,
});

describe('WebSocket API (/ws-api/v3)', () => {
  const rig = new UserDataRig();
  before(() => rig.start());
  after(() => rig.close());

  let ws: WsClient;
  beforeEach(async () => {
    ws = await rig.connect('/ws-api/v3');
  });
  afterEach(() => ws.close());

  describe('requests and replies', () => {
    it('answers ping and time, echoing number, string and null ids unchanged', async () => {
      const ping = await ws.request('ping', undefined, 42);
      assert.deepEqual(Object.keys(ping), ['id', 'status', 'result', 'rateLimits']);
      assert.deepEqual([ping.id, ping.status, ping.result], [42, 200, {}]);
      assert.equal(ping.rateLimits.length, 1);
      assert.deepEqual({ ...ping.rateLimits[0], count: 0 }, WEIGHT(0));
      const time = await ws.request('time', {}, 'e2a85d9f-07a5-4f94-8d5f-789dc3deb097');
      assert.deepEqual(
        [time.id, time.result],
        ['e2a85d9f-07a5-4f94-8d5f-789dc3deb097', { serverTime: rig.clock.millis }],
      );
      assert.equal(time.rateLimits[0].count, ping.rateLimits[0].count + 1);
      ws.send('{"id":null,"method":"ping"}');
      const nullId = await ws.take((m) => m.id === null);
      assert.equal(nullId.status, 200);
    });

    it('echoes an integer id beyond 2^53 digit for digit', async () => {
      ws.send('{"id":12345678901234567890123,"method":"ping"}');
      await ws.take((m) => m.status === 200);
      assert.ok(ws.texts.some((t) => t.startsWith('{"id":12345678901234567890123,"status":200')));
    });

    it('omits rateLimits when asked, per request or for the connection', async () => {
      const quiet = await ws.request('ping', { returnRateLimits: false });
      assert.deepEqual(Object.keys(quiet), ['id', 'status', 'result']);
      const conn = await rig.connect('/ws-api/v3?returnRateLimits=false');
      const r = await conn.request('time');
      assert.equal(r.rateLimits, undefined);
      const loud = await conn.request('time', { returnRateLimits: true });
      assert.equal(loud.rateLimits.length, 1);
      conn.close();
    });

    it('answers exchangeInfo with REST’s content, lists as JSON arrays', async () => {
      const r = await ws.request('exchangeInfo', { symbols: ['ETHBTC', 'BTCUSDT'] });
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.result.symbols.map((s: Json) => s.symbol),
        ['ETHBTC', 'BTCUSDT'],
      );
      assert.equal(r.result.serverTime, rig.clock.millis);
      const bad = await ws.request('exchangeInfo', { symbol: 'NOPE' });
      assert.deepEqual([bad.status, bad.error], [400, { code: -1121, msg: 'Invalid symbol.' }]);
    });

    it('answers malformed frames with Binance’s errors and stays open', async () => {
      ws.send('this is not json');
      const notJson = await ws.take();
      assert.deepEqual(
        { ...notJson, rateLimits: undefined },
        {
          id: null,
          status: 400,
          error: { code: -1135, msg: 'Invalid JSON Request' },
          rateLimits: undefined,
        },
      );
      assert.deepEqual({ ...notJson.rateLimits[0], count: 0 }, WEIGHT(0));
      ws.send('[1,2,3]');
      const array = await ws.take();
      assert.deepEqual([array.id, array.error.code], [null, -1135]);
      ws.send('{"method":"ping"}');
      assert.deepEqual((await ws.take()).error, {
        code: -1102,
        msg: "Mandatory parameter 'id' was not sent, was empty/null, or malformed.",
      });
      ws.send('{"id":{"a":1},"method":"ping"}');
      const badId = await ws.take();
      assert.deepEqual([badId.id, badId.error.code], [null, -1102]);
      ws.send('{"id":5,"params":{}}');
      assert.deepEqual((await ws.take()).error, {
        code: -1102,
        msg: "Mandatory parameter 'method' was not sent, was empty/null, or malformed.",
      });
      ws.send('{"id":6,"method":"ping","params":[1]}');
      assert.deepEqual((await ws.take()).error, {
        code: -1135,
        msg: "Invalid 'params' in JSON request; expected an object.",
      });
      const unknown = await ws.request('order.teleport', {}, 'u1');
      assert.deepEqual([unknown.id, unknown.status, unknown.error.code], ['u1', 400, -1020]);
      const proto = await ws.request('__proto__', {}, 'u2');
      assert.deepEqual([proto.id, proto.error.code], ['u2', -1020]);
      const extra = await ws.request('ping', { foo: 1 });
      assert.deepEqual(extra.error, {
        code: -1104,
        msg: "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
      });
      const versioned = await ws.request('v3/ping');
      assert.equal(versioned.status, 200);
      ws.send(Buffer.from([0xff, 0xfe, 0x00]).toString('latin1'));
      assert.equal((await ws.take()).error.code, -1135);
      assert.equal((await ws.request('ping')).status, 200);
    });

    it('answers every frame, however malformed, exactly once, and changes no balance', async () => {
      const u = rig.hmacUser();
      await rig.deposit(u.userId, 'USDT', 10 * UNIT);
      const before = rig.balances(u.userId);
      const methods = [
        'ping',
        'time',
        'exchangeInfo',
        'session.logon',
        'session.status',
        'session.logout',
        'session.subscriptions',
        'userDataStream.subscribe',
        'userDataStream.subscribe.signature',
        'userDataStream.unsubscribe',
        'order.place',
        'order.cancel',
        'order.status',
      ];
      const value = fc.oneof(
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.object({ maxDepth: 1 }),
      );
      const params = fc.dictionary(
        fc.oneof(
          fc.constantFrom('symbol', 'side', 'type', 'quantity', 'price', 'apiKey', 'signature', 'timestamp'),
          fc.string(),
        ),
        value,
        { maxKeys: 6 },
      );
      const request = fc.record(
        {
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.double(), fc.object({ maxDepth: 0 })),
          method: fc.oneof(fc.constantFrom(...methods), fc.string(), fc.integer()),
          params: fc.oneof(params, value),
        },
        { requiredKeys: [] },
      );
      const frames = fc.sample(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json(),
          request.map((r) => JSON.stringify(r)),
          request.map((r) => JSON.stringify({ ...r, params: { ...u.signed(), ...(r.params as object) } })),
        ),
        { numRuns: 300, seed: 20260115 },
      );
      for (const frame of frames) {
        ws.send(frame);
        const reply = await ws.take();
        assert.ok(
          typeof reply.status === 'number' && reply.status < 500,
          `${frame} -> ${JSON.stringify(reply)}`,
        );
        assert.ok('result' in reply || 'error' in reply);
      }
      assert.equal((await ws.request('ping')).status, 200);
      assert.deepEqual(ws.pending(), []);
      assert.deepEqual(rig.balances(u.userId), before);
    });
  });

  describe('user data subscriptions', () => {
    it('subscribes with userDataStream.subscribe.signature and wraps events with the subscription id', async () => {
      const u = rig.hmacUser();
      const r = await ws.request('userDataStream.subscribe.signature', u.signed());
      assert.deepEqual([r.status, r.result], [200, { subscriptionId: 0 }]);
      await rig.deposit(u.userId, 'USDT', 25 * UNIT);
      const [update, position] = await ws.takeN(2, (m) => 'subscriptionId' in m);
      assert.deepEqual(Object.keys(update), ['subscriptionId', 'event']);
      assert.deepEqual(update.subscriptionId, 0);
      assert.deepEqual(
        [update.event.e, update.event.a, update.event.d],
        ['balanceUpdate', 'USDT', '25.00000000'],
      );
      assert.deepEqual(position, {
        subscriptionId: 0,
        event: {
          e: 'outboundAccountPosition',
          E: rig.clock.millis,
          u: rig.clock.millis,
          B: [{ a: 'USDT', f: '25.00000000', l: '0.00000000' }],
        },
      });
      const status = await ws.request('session.status');
      assert.equal(status.result.userDataStream, true);
    });

    it('subscribes several accounts on one connection, once each, and unsubscribes by id or all', async () => {
      const a = rig.hmacUser();
      const b = rig.ed25519User();
      assert.deepEqual((await ws.request('userDataStream.subscribe.signature', a.signed())).result, {
        subscriptionId: 0,
      });
      assert.deepEqual((await ws.request('userDataStream.subscribe.signature', b.signed())).result, {
        subscriptionId: 1,
      });
      const again = await ws.request('userDataStream.subscribe.signature', a.signed());
      assert.deepEqual(again.error, { code: -2035, msg: 'User Data Stream subscription already active.' });
      assert.deepEqual((await ws.request('session.subscriptions')).result, [
        { subscriptionId: 0 },
        { subscriptionId: 1 },
      ]);
      assert.deepEqual((await ws.request('userDataStream.unsubscribe', { subscriptionId: 0 })).result, {});
      assert.deepEqual(await ws.take((m) => m.subscriptionId === 0), {
        subscriptionId: 0,
        event: { e: 'eventStreamTerminated', E: rig.clock.millis },
      });
      const gone = await ws.request('userDataStream.unsubscribe', { subscriptionId: 0 });
      assert.deepEqual(gone.error, { code: -2036, msg: 'User Data Stream subscription not active.' });
      await rig.deposit(a.userId, 'BTC', UNIT);
      await rig.deposit(b.userId, 'BTC', UNIT);
      const event = await ws.take((m) => 'subscriptionId' in m);
      assert.deepEqual([event.subscriptionId, event.event.e], [1, 'balanceUpdate']);
      assert.equal((await ws.take((m) => m.subscriptionId === 1)).event.e, 'outboundAccountPosition');
      assert.deepEqual((await ws.request('userDataStream.unsubscribe')).result, {});
      assert.equal((await ws.take((m) => m.subscriptionId === 1)).event.e, 'eventStreamTerminated');
      assert.equal(rig.hub.subscriberCount(b.userId), 0);
      assert.deepEqual(ws.pending(), []);
      assert.equal((await ws.request('session.status')).result.userDataStream, false);
    });

    it('refuses a bad signature (-1022), a stale or future timestamp (-1021) and a bad key (-2014, -2015)', async () => {
      const u = rig.hmacUser();
      const forged = { ...u.signed(), signature: hmac('not the secret', 'apiKey=x') };
      assert.deepEqual((await ws.request('userDataStream.subscribe.signature', forged)).error, {
        code: -1022,
        msg: 'Signature for this request is not valid.',
      });
      const stale: Record<string, unknown> = { apiKey: u.apiKey, timestamp: rig.clock.millis - 5001 };
      stale.signature = hmac(u.secret, wsPayload(stale));
      assert.deepEqual((await ws.request('userDataStream.subscribe.signature', stale)).error, {
        code: -1021,
        msg: 'Timestamp for this request is outside of the recvWindow.',
      });
      const windowed: Record<string, unknown> = {
        apiKey: u.apiKey,
        timestamp: rig.clock.millis - 5001,
        recvWindow: 6000,
      };
      windowed.signature = hmac(u.secret, wsPayload(windowed));
      assert.equal((await ws.request('userDataStream.subscribe.signature', windowed)).status, 200);
      const ahead: Record<string, unknown> = { apiKey: u.apiKey, timestamp: rig.clock.millis + 1000 };
      ahead.signature = hmac(u.secret, wsPayload(ahead));
      assert.equal((await ws.request('userDataStream.subscribe.signature', ahead)).error.code, -1021);
      const shortKey = await ws.request('userDataStream.subscribe.signature', {
        ...u.signed(),
        apiKey: 'abc',
      });
      assert.deepEqual([shortKey.status, shortKey.error.code], [401, -2014]);
      const unknown: Record<string, unknown> = { apiKey: 'q'.repeat(64), timestamp: rig.clock.millis };
      unknown.signature = hmac(u.secret, wsPayload(unknown));
      assert.deepEqual((await ws.request('userDataStream.subscribe.signature', unknown)).error.code, -2015);
      const unsigned = await ws.request('userDataStream.subscribe.signature', {
        apiKey: u.apiKey,
        timestamp: rig.clock.millis,
      });
      assert.equal(unsigned.error.code, -1102);
    });

    it('accepts a signature over percent-encoded values, as clients sign since 2026', async () => {
      const u = rig.hmacUser();
      const params: Record<string, unknown> = {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.001',
        price: '30000',
        newClientOrderId: 'has a space',
        apiKey: u.apiKey,
        timestamp: rig.clock.millis,
      };
      const encoded = Object.keys(params)
        .sort()
        .map((k) => `${k}=${encodeURIComponent(String(params[k]))}`)
        .join('&');
      assert.notEqual(encoded, wsPayload(params));
      // The signature holds (over the encoded payload): what fails is the client order id itself.
      const r = await ws.request('order.place', { ...params, signature: hmac(u.secret, encoded) });
      assert.deepEqual([r.error.code, r.error.msg.includes("'newClientOrderId'")], [-1100, true]);
      const forged = await ws.request('order.place', { ...params, signature: hmac('other', encoded) });
      assert.equal(forged.error.code, -1022);
    });
  });

  describe('sessions (Ed25519)', () => {
    it('logs on with an Ed25519 key only, and reports the session', async () => {
      const h = rig.hmacUser();
      const refused = await ws.request('session.logon', h.signed());
      assert.deepEqual([refused.status, refused.error.code], [401, -1002]);
      const e = rig.ed25519User();
      const logon = await ws.request('session.logon', e.signed());
      assert.equal(logon.status, 200);
      assert.deepEqual(logon.result, {
        apiKey: e.apiKey,
        authorizedSince: rig.clock.millis,
        connectedSince: rig.clock.millis,
        returnRateLimits: true,
        serverTime: rig.clock.millis,
        userDataStream: false,
      });
      assert.equal((await ws.request('session.status')).result.apiKey, e.apiKey);
      const out = await ws.request('session.logout');
      assert.deepEqual([out.result.apiKey, out.result.authorizedSince], [null, null]);
    });

    it('places, queries and cancels orders unsigned after logon, and streams their events', async () => {
      const e = rig.ed25519User();
      await rig.deposit(e.userId, 'USDT', 1000 * UNIT);
      assert.equal((await ws.request('session.logon', e.signed())).status, 200);
      assert.deepEqual((await ws.request('userDataStream.subscribe')).result, { subscriptionId: 0 });
      const placed = await ws.request('order.place', {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: 0.002,
        price: 20000,
        newClientOrderId: 'ws-order-1',
        newOrderRespType: 'RESULT',
        timestamp: rig.clock.millis,
      });
      assert.equal(placed.status, 200, JSON.stringify(placed));
      assert.deepEqual(
        {
          symbol: placed.result.symbol,
          clientOrderId: placed.result.clientOrderId,
          price: placed.result.price,
          origQty: placed.result.origQty,
          status: placed.result.status,
          type: placed.result.type,
          side: placed.result.side,
          transactTime: placed.result.transactTime,
        },
        {
          symbol: 'BTCUSDT',
          clientOrderId: 'ws-order-1',
          price: '20000.00000000',
          origQty: '0.00200000',
          status: 'NEW',
          type: 'LIMIT',
          side: 'BUY',
          transactTime: rig.clock.millis,
        },
      );
      assert.deepEqual(
        placed.rateLimits.map((r: Json) => [r.rateLimitType, r.interval]),
        [
          ['ORDERS', 'SECOND'],
          ['ORDERS', 'DAY'],
          ['REQUEST_WEIGHT', 'MINUTE'],
        ],
      );
      const orderId = placed.result.orderId;
      const report = await ws.take((m) => m.event?.e === 'executionReport');
      assert.deepEqual(
        [report.subscriptionId, report.event.x, report.event.i, report.event.c],
        [0, 'NEW', orderId, 'ws-order-1'],
      );
      const position = await ws.take((m) => m.event?.e === 'outboundAccountPosition');
      assert.deepEqual(position.event.B, [{ a: 'USDT', f: '960.00000000', l: '40.00000000' }]);

      const status = await ws.request('order.status', {
        symbol: 'BTCUSDT',
        origClientOrderId: 'ws-order-1',
        timestamp: rig.clock.millis,
      });
      assert.deepEqual(
        [status.result.orderId, status.result.status, status.result.executedQty, status.result.isWorking],
        [orderId, 'NEW', '0.00000000', true],
      );

      const cancel = await ws.request('order.cancel', {
        symbol: 'BTCUSDT',
        orderId,
        timestamp: rig.clock.millis,
      });
      assert.equal(cancel.status, 200, JSON.stringify(cancel));
      assert.deepEqual(
        [cancel.result.orderId, cancel.result.origClientOrderId, cancel.result.status],
        [orderId, 'ws-order-1', 'CANCELED'],
      );
      const canceled = await ws.take((m) => m.event?.e === 'executionReport');
      assert.deepEqual(
        [canceled.event.x, canceled.event.X, canceled.event.C, canceled.event.c],
        ['CANCELED', 'CANCELED', 'ws-order-1', cancel.result.clientOrderId],
      );
      const after = await ws.request('order.status', {
        symbol: 'BTCUSDT',
        orderId,
        timestamp: rig.clock.millis,
      });
      assert.equal(after.result.status, 'CANCELED');
      const again = await ws.request('order.cancel', {
        symbol: 'BTCUSDT',
        orderId,
        timestamp: rig.clock.millis,
      });
      assert.deepEqual([again.status, again.error], [400, { code: -2011, msg: 'Unknown order sent.' }]);
      const none = await ws.request('order.status', {
        symbol: 'BTCUSDT',
        orderId: 999_999,
        timestamp: rig.clock.millis,
      });
      assert.deepEqual(none.error, { code: -2013, msg: 'Order does not exist.' });
    });

    it('still checks timing on unsigned requests, and ends the session’s subscriptions on logout', async () => {
      const e = rig.ed25519User();
      await ws.request('session.logon', e.signed());
      await ws.request('userDataStream.subscribe');
      const stale = await ws.request('order.status', {
        symbol: 'BTCUSDT',
        orderId: 1,
        timestamp: rig.clock.millis - 60_000,
      });
      assert.equal(stale.error.code, -1021);
      const noTime = await ws.request('order.status', { symbol: 'BTCUSDT', orderId: 1 });
      assert.equal(noTime.error.code, -1102);
      await ws.request('session.logout');
      assert.equal(rig.hub.subscriberCount(e.userId), 0);
      assert.equal((await ws.take((m) => m.subscriptionId === 0)).event.e, 'eventStreamTerminated');
      const unsigned = await ws.request('order.place', {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'MARKET',
        quantity: '0.001',
        timestamp: rig.clock.millis,
      });
      assert.deepEqual(unsigned.error, {
        code: -1102,
        msg: "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
      });
      const subscribe = await ws.request('userDataStream.subscribe');
      assert.deepEqual([subscribe.status, subscribe.error.code], [401, -1002]);
    });

    it('revokes the session once its key is no longer valid (-2015)', async () => {
      const e = rig.ed25519User();
      await ws.request('session.logon', e.signed());
      rig.keys.keys.delete(e.apiKey);
      const r = await ws.request('order.status', {
        symbol: 'BTCUSDT',
        orderId: 1,
        timestamp: rig.clock.millis,
      });
      assert.deepEqual([r.status, r.error.code], [401, -2015]);
      assert.equal((await ws.request('session.status')).result.apiKey, null);
    });
  });

  describe('orders signed per request', () => {
    it('places with apiKey, timestamp and signature over the sorted params, with REST’s parsing and errors', async () => {
      const u = rig.hmacUser();
      await rig.deposit(u.userId, 'USDT', 100 * UNIT);
      const order = {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.001',
        price: '30000',
      };
      const placed = await ws.request('order.place', u.signed({ ...order, newOrderRespType: 'ACK' }));
      assert.deepEqual(Object.keys(placed.result), [
        'symbol',
        'orderId',
        'orderListId',
        'clientOrderId',
        'transactTime',
      ]);
      const poor = await ws.request('order.place', u.signed({ ...order, quantity: '1' }));
      assert.deepEqual(poor.error, {
        code: -2010,
        msg: 'Account has insufficient balance for requested action.',
      });
      const filter = await ws.request('order.place', u.signed({ ...order, price: '30000.001' }));
      assert.deepEqual(filter.error, { code: -1013, msg: 'Filter failure: PRICE_FILTER' });
      const precise = await ws.request('order.place', u.signed({ ...order, price: '30000.000000001' }));
      assert.equal(precise.error.code, -1111);
      const noTrade = rig.hmacUser({ canTrade: false });
      const denied = await ws.request('order.place', noTrade.signed(order));
      assert.deepEqual([denied.status, denied.error.code], [401, -2015]);
      const tampered = { ...u.signed(order), quantity: '0.002' };
      assert.equal((await ws.request('order.place', tampered)).error.code, -1022);
    });
  });

  describe('rate limits', () => {
    it('charges the gateway’s limiter: a client over its weight gets 429 with retryAfter', async () => {
      const limited = new UserDataRig();
      await limited.start({
        rateLimits: {
          ...DEFAULT_RATE_LIMITS,
          requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 6 }],
        },
      });
      try {
        const c = await limited.connect('/ws-api/v3');
        // Connecting cost 2.
        assert.equal((await c.request('ping')).rateLimits[0].count, 3);
        assert.equal((await c.request('session.status')).rateLimits[0].count, 5);
        assert.equal((await c.request('ping')).rateLimits[0].count, 6);
        const refused = await c.request('ping', undefined, 'late');
        assert.equal(refused.status, 429);
        assert.equal(refused.error.code, -1003);
        assert.equal(refused.error.data.serverTime, limited.clock.millis);
        assert.ok(refused.error.data.retryAfter > limited.clock.millis);
        assert.equal(refused.rateLimits[0].count, 7);
        c.close();
        await assert.rejects(limited.connect('/ws-api/v3'));
      } finally {
        await limited.close();
      }
    });
  });
});
