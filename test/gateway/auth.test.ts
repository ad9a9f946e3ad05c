/**
 * Signed requests as Binance checks them, over real sockets: every way a signed request can
 * fail gives Binance's code and HTTP status, and every way a real client signs is accepted.
 */
import assert from 'node:assert/strict';
import { jsonResponse, type Route, type Security } from '../../gateway/http/http-types.ts';
import type { Gateway } from '../../gateway/server.ts';
import {
  apiKeyFor,
  ed25519,
  FakeApiKeys,
  FakeClock,
  hmac,
  send,
  sendRaw,
  startTestGateway,
} from './helpers.ts';

const SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

/** A route of the given security that echoes who called and with what. */
const whoami = (method: Route['method'], path: string, security: Security): Route => ({
  method,
  path,
  security,
  weight: 1,
  handler: async (req, ctx) =>
    jsonResponse({
      userId: ctx.auth?.userId ?? null,
      keyId: ctx.auth?.key.keyId ?? null,
      timestampMicros: ctx.auth?.timestampMicros ?? null,
      recvWindowMicros: ctx.auth?.recvWindowMicros ?? null,
      params: Object.fromEntries(req.params),
    }),
});

describe('gateway authentication', () => {
  const clock = new FakeClock();
  const keys = new FakeApiKeys();
  let gw: Gateway;
  const hmacKey = keys.addHmac('hmac', SECRET);
  const ed = keys.addEd25519('ed25519');
  const readOnly = keys.addHmac('readonly', SECRET, { canTrade: false, canWithdraw: false });
  const noRead = keys.addHmac('noread', SECRET, { canRead: false });
  const unverified = keys.addHmac('unverified', SECRET, { kycTier: 0 });
  const disabled = keys.addHmac('disabled', SECRET, { userStatus: 'DISABLED' });
  const elsewhere = keys.addHmac('elsewhere', SECRET, { ipAllow: ['10.0.0.1', '192.168.0.0/16'] });
  const local = keys.addHmac('local', SECRET, { ipAllow: ['127.0.0.0/8'] });

  before(async () => {
    gw = await startTestGateway({
      clock,
      apiKeys: keys,
      routes: [
        whoami('GET', '/test/read', 'USER_DATA'),
        whoami('POST', '/test/trade', 'TRADE'),
        whoami('DELETE', '/test/trade', 'TRADE'),
        whoami('POST', '/test/withdraw', 'WITHDRAW'),
        whoami('POST', '/test/stream', 'USER_STREAM'),
      ],
    });
  });
  after(() => gw.close());

  /** A query string signed with HMAC at the clock's time (plus `extra` params). */
  const signed = (extra = '', at = clock.millis, secret = SECRET): string => {
    const q = `${extra}${extra === '' ? '' : '&'}timestamp=${at}`;
    return `${q}&signature=${hmac(secret, q)}`;
  };
  const get = (query: string, apiKey = hmacKey, headers: Record<string, string> = {}) =>
    send(gw, '/test/read', { query, headers: { 'X-MBX-APIKEY': apiKey, ...headers } });

  describe('valid requests', () => {
    it('accepts a valid HMAC signature and names the caller', async () => {
      const r = await get(signed('symbol=BTCUSDT'));
      assert.equal(r.status, 200);
      assert.equal(r.json.userId, 101);
      assert.equal(r.json.timestampMicros, clock.millis * 1000);
      assert.equal(r.json.recvWindowMicros, 5_000_000);
      assert.deepEqual(Object.keys(r.json.params).sort(), ['signature', 'symbol', 'timestamp']);
    });

    it('accepts the signature in upper case hex', async () => {
      const q = `timestamp=${clock.millis}`;
      const r = await get(`${q}&signature=${hmac(SECRET, q).toUpperCase()}`);
      assert.equal(r.status, 200);
    });

    it("verifies Binance's documented example (query string + body, no '&' between them)", async () => {
      const at = new FakeClock();
      at.micros = 1499827319559 * 1000;
      const docs = new FakeApiKeys();
      const apiKey = docs.addHmac('docs', SECRET);
      const g = await startTestGateway({
        clock: at,
        apiKeys: docs,
        routes: [whoami('POST', '/api/v3/order', 'TRADE')],
      });
      try {
        const r = await send(g, '/api/v3/order', {
          method: 'POST',
          query: 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC',
          body: 'quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77',
          headers: { 'X-MBX-APIKEY': apiKey, 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.params.timeInForce, 'GTC');
        assert.equal(r.json.params.price, '0.1');
        const queryOnly = await send(g, '/api/v3/order', {
          method: 'POST',
          query:
            'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71',
          headers: { 'X-MBX-APIKEY': apiKey },
        });
        assert.equal(queryOnly.status, 200, queryOnly.text);
      } finally {
        await g.close();
      }
    });

    it('checks the bytes as sent, whatever the client percent-encoded', async () => {
      for (const cid of ['my+order', 'my%20order', 'a%21%27%28%29%2A', "a!'()*", '%E2%82%AC']) {
        const r = await sendRaw(gw, 'GET', `/test/read?${signed(`newClientOrderId=${cid}`)}`, {
          'X-MBX-APIKEY': hmacKey,
        });
        assert.equal(r.status, 200, `${cid}: ${r.text}`);
        assert.equal(r.json.params.newClientOrderId, decodeURIComponent(cid.replaceAll('+', ' ')));
      }
    });

    it('accepts a valid Ed25519 signature (base64, percent-encoded)', async () => {
      const q = `symbol=ETHBTC&timestamp=${clock.millis}`;
      const r = await get(`${q}&signature=${ed25519(ed.privateKey, q)}`, ed.apiKey);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.userId, 102);
    });

    it('accepts signed requests with an empty JSON body on GET and DELETE', async () => {
      const r1 = await get(signed(), hmacKey, { 'content-type': 'application/json' });
      assert.equal(r1.status, 200);
      const r2 = await send(gw, '/test/trade', {
        method: 'DELETE',
        query: signed('orderId=1'),
        body: '',
        headers: { 'X-MBX-APIKEY': hmacKey, 'content-type': 'application/json' },
      });
      assert.equal(r2.status, 200, r2.text);
    });

    it('signs query string + form body when parameters travel in the body', async () => {
      const query = 'symbol=BTCUSDT&side=SELL';
      const body = `quantity=0.5&timestamp=${clock.millis}`;
      const r = await send(gw, '/test/trade', {
        method: 'POST',
        query,
        body: `${body}&signature=${hmac(SECRET, query + body)}`,
        headers: { 'X-MBX-APIKEY': hmacKey, 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.params.quantity, '0.5');
      assert.equal(r.json.params.side, 'SELL');
    });

    it('accepts an API key alone on USER_STREAM endpoints', async () => {
      const r = await send(gw, '/test/stream', { method: 'POST', headers: { 'X-MBX-APIKEY': hmacKey } });
      assert.equal(r.status, 200);
      assert.equal(r.json.userId, 101);
    });
  });

  describe('API keys', () => {
    it('refuses a signed request without X-MBX-APIKEY with -2014 (401)', async () => {
      const r = await send(gw, '/test/read', { query: signed() });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { code: -2014, msg: 'API-key format invalid.' });
    });

    it('refuses a malformed key with -2014 without looking it up', async () => {
      const before = keys.lookups;
      const r = await get(signed(), 'abc');
      assert.equal(r.status, 401);
      assert.equal(r.json.code, -2014);
      assert.equal(keys.lookups, before);
    });

    it('refuses an unknown key with -2015 (401)', async () => {
      const r = await get(signed(), apiKeyFor('nobody'));
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' });
    });

    it('refuses a USER_STREAM request without a key with -2014', async () => {
      const r = await send(gw, '/test/stream', { method: 'POST' });
      assert.equal(r.json.code, -2014);
    });
  });

  describe('signatures', () => {
    it('refuses a signature made with the wrong secret with -1022 (400)', async () => {
      const r = await get(signed('', clock.millis, 'not-the-secret'));
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: -1022, msg: 'Signature for this request is not valid.' });
    });

    it('refuses a request whose signed parameters were changed with -1022', async () => {
      const q = signed('quantity=1').replace('quantity=1', 'quantity=9');
      assert.equal((await get(q)).json.code, -1022);
    });

    it('refuses a signature that is not the last parameter with -1022', async () => {
      const q = `timestamp=${clock.millis}`;
      const r = await get(`signature=${hmac(SECRET, q)}&${q}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.code, -1022);
      const r2 = await get(`${q}&signature=${hmac(SECRET, q)}&symbol=BTCUSDT`);
      assert.equal(r2.json.code, -1022);
    });

    it('refuses a request without a signature with -1102', async () => {
      const r = await get(`timestamp=${clock.millis}`);
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, {
        code: -1102,
        msg: "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
      });
      assert.equal((await get(`timestamp=${clock.millis}&signature=`)).json.code, -1102);
    });

    it('refuses a repeated signature with -1101', async () => {
      const q = `timestamp=${clock.millis}`;
      const s = hmac(SECRET, q);
      const r = await get(`${q}&signature=${s}&signature=${s}`);
      assert.deepEqual(r.json, { code: -1101, msg: "Duplicate values for parameter 'signature'." });
    });

    it('refuses an invalid Ed25519 signature with -1022', async () => {
      const q = `timestamp=${clock.millis}`;
      const other = `timestamp=${clock.millis - 1}`;
      assert.equal(
        (await get(`${q}&signature=${ed25519(ed.privateKey, other)}`, ed.apiKey)).json.code,
        -1022,
      );
      assert.equal((await get(`${q}&signature=${hmac(SECRET, q)}`, ed.apiKey)).json.code, -1022);
      assert.equal((await get(`${q}&signature=${ed25519(ed.privateKey, q)}`, hmacKey)).json.code, -1022);
    });
  });

  describe('timing', () => {
    it('refuses a request without timestamp with -1102', async () => {
      const q = 'symbol=BTCUSDT';
      const r = await get(`${q}&signature=${hmac(SECRET, q)}`);
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, {
        code: -1102,
        msg: "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
      });
    });

    it('refuses a timestamp with decimals or letters with -1100', async () => {
      for (const ts of ['1.5', 'abc', '-1']) {
        const q = `timestamp=${ts}`;
        const r = await get(`${q}&signature=${hmac(SECRET, q)}`);
        assert.deepEqual(r.json, {
          code: -1100,
          msg: "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.",
        });
      }
    });

    it('accepts a timestamp exactly recvWindow old and refuses one 1 ms older with -1021', async () => {
      assert.equal((await get(signed('', clock.millis - 5000))).status, 200);
      const r = await get(signed('', clock.millis - 5001));
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, {
        code: -1021,
        msg: 'Timestamp for this request is outside of the recvWindow.',
      });
    });

    it('refuses a timestamp 1000 ms or more ahead of the server (999 ms is fine)', async () => {
      assert.equal((await get(signed('', clock.millis + 999))).status, 200);
      for (const ahead of [1000, 1001]) {
        const r = await get(signed('', clock.millis + ahead));
        assert.equal(r.status, 400);
        assert.deepEqual(r.json, {
          code: -1021,
          msg: "Timestamp for this request was 1000ms ahead of the server's time.",
        });
      }
    });

    it('accepts recvWindow up to 60000 and refuses 60001 with -1131', async () => {
      assert.equal((await get(signed('recvWindow=60000', clock.millis - 60000))).status, 200);
      const r = await get(signed('recvWindow=60001'));
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: -1131, msg: 'recvWindow must be less than 60000' });
      assert.equal((await get(signed('recvWindow=60000.001'))).json.code, -1131);
      assert.equal((await get(signed('recvWindow=99999999999999999999'))).json.code, -1131);
    });

    it('refuses a malformed recvWindow with -1100', async () => {
      for (const w of ['abc', '1.2345', '-5']) {
        const r = await get(signed(`recvWindow=${w}`));
        assert.equal(r.json.code, -1100, w);
      }
    });

    it('takes microsecond timestamps with X-MBX-TIME-UNIT and recvWindow decimals', async () => {
      const micro = { 'X-MBX-TIME-UNIT': 'MICROSECOND' };
      const at = (ageMicros: number, windowMs: string) => {
        const q = `recvWindow=${windowMs}&timestamp=${clock.micros - ageMicros}`;
        return get(`${q}&signature=${hmac(SECRET, q)}`, hmacKey, micro);
      };
      const ok = await at(5_000_500, '5000.5');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.timestampMicros, clock.micros - 5_000_500);
      assert.equal(ok.json.recvWindowMicros, 5_000_500);
      assert.equal((await at(5_000_501, '5000.5')).json.code, -1021);
      assert.equal((await at(-999_999, '5000')).status, 200);
      assert.equal((await at(-1_000_000, '5000')).json.code, -1021);
      const lower = await get(signed(), hmacKey, { 'X-MBX-TIME-UNIT': 'microsecond' });
      assert.equal(lower.json.code, -1021, 'a millisecond timestamp read as microseconds is decades old');
    });
  });

  describe('permissions and addresses', () => {
    const post = (path: string, apiKey: string) =>
      send(gw, path, { method: 'POST', query: signed(), headers: { 'X-MBX-APIKEY': apiKey } });

    it('refuses TRADE to a key without trade permission with -2015', async () => {
      const r = await post('/test/trade', readOnly);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, -2015);
      assert.equal((await get(signed(), readOnly)).status, 200, 'the key can still read');
    });

    it('refuses USER_DATA to a key without read permission with -2015', async () => {
      assert.equal((await get(signed(), noRead)).json.code, -2015);
    });

    it('refuses WITHDRAW to a key without withdraw permission with -2015', async () => {
      assert.equal((await post('/test/withdraw', readOnly)).json.code, -2015);
      assert.equal((await post('/test/withdraw', hmacKey)).status, 200);
    });

    it('refuses TRADE and WITHDRAW below KYC tier 1, and any use by a disabled user', async () => {
      assert.equal((await post('/test/trade', unverified)).json.code, -2015);
      assert.equal((await post('/test/withdraw', unverified)).json.code, -2015);
      assert.equal((await get(signed(), unverified)).status, 200);
      assert.equal((await get(signed(), disabled)).json.code, -2015);
      const stream = await send(gw, '/test/stream', {
        method: 'POST',
        headers: { 'X-MBX-APIKEY': disabled },
      });
      assert.equal(stream.json.code, -2015);
    });

    it('refuses a key used from an address outside its allow-list with -2015, accepts one inside', async () => {
      const r = await get(signed(), elsewhere);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, -2015);
      assert.equal((await get(signed(), local)).status, 200);
    });

    it('does not reveal permissions to an unsigned request (signature checked first)', async () => {
      const r = await send(gw, '/test/trade', {
        method: 'POST',
        query: signed('', clock.millis, 'wrong'),
        headers: { 'X-MBX-APIKEY': readOnly },
      });
      assert.equal(r.json.code, -1022);
    });
  });

  describe('GET /api/v3/rateLimit/order', () => {
    it('is a signed endpoint listing the account order limits', async () => {
      const r = await send(gw, '/api/v3/rateLimit/order', {
        query: signed(),
        headers: { 'X-MBX-APIKEY': hmacKey },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, [
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100, count: 0 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000, count: 0 },
      ]);
      assert.equal((await send(gw, '/api/v3/rateLimit/order', { query: signed() })).json.code, -2014);
    });
  });
});
