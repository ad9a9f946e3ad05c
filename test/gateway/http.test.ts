/**
 * The gateway's HTTP core over real sockets: the general endpoints, routing (404/405), bodies
 * (form parameters, the empty JSON body clients send, the size limit), the copy of the request
 * that survives awaits, client addresses, unexpected failures (500 -1000, logged, no stack),
 * and a graceful close.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jsonResponse, type Route } from '../../gateway/http/http-types.ts';
import { clientIp, forwardedClientIp, ipAllowed, normalizeIp } from '../../gateway/http/ip.ts';
import type { Gateway } from '../../gateway/server.ts';
import { apiKeyFor, FakeApiKeys, FakeClock, LogCapture, send, startTestGateway } from './helpers.ts';

/** A route that echoes what the handler saw, after awaiting (the copy must survive). */
const echo = (method: Route['method'], path: string): Route => ({
  method,
  path,
  security: 'NONE',
  weight: 2,
  handler: async (req) => {
    await sleep(5);
    return jsonResponse({
      method: req.method,
      path: req.path,
      query: req.query,
      params: Object.fromEntries(req.params),
      body: req.body.toString('utf8'),
      contentType: req.headers['content-type'] ?? null,
      custom: req.headers['x-custom'] ?? null,
      ip: req.ip,
    });
  },
});

describe('gateway HTTP core', () => {
  const clock = new FakeClock();
  const logs = new LogCapture();
  const apiKeys = new FakeApiKeys();
  let gw: Gateway;
  let release: (() => void) | undefined;

  before(async () => {
    gw = await startTestGateway({
      clock,
      logs,
      apiKeys,
      routes: [
        echo('GET', '/test/echo'),
        echo('POST', '/test/echo'),
        echo('DELETE', '/test/echo'),
        {
          method: 'GET',
          path: '/test/throws',
          security: 'NONE',
          weight: 1,
          handler: async () => {
            throw new Error('boom: secret internals at /srv/app.ts:42');
          },
        },
      ],
    });
  });
  after(async () => {
    release?.();
    await gw.close();
  });

  describe('general endpoints', () => {
    it('answers GET /api/v3/ping with {} as JSON, with the used weight', async () => {
      const r = await send(gw, '/api/v3/ping');
      assert.equal(r.status, 200);
      assert.equal(r.text, '{}');
      assert.equal(r.headers['content-type'], 'application/json;charset=UTF-8');
      assert.match(r.headers['x-mbx-used-weight-1m'] ?? '', /^\d+$/);
    });

    it('answers GET /api/v3/time with the server time in milliseconds', async () => {
      const r = await send(gw, '/api/v3/time');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { serverTime: clock.millis });
      assert.deepEqual(Object.keys(r.json), ['serverTime']);
    });

    it('answers the time in microseconds with X-MBX-TIME-UNIT: MICROSECOND (any case)', async () => {
      clock.advanceMillis(0.123);
      for (const unit of ['MICROSECOND', 'microsecond', 'MicroSecond']) {
        const r = await send(gw, '/api/v3/time', { headers: { 'X-MBX-TIME-UNIT': unit } });
        assert.deepEqual(r.json, { serverTime: clock.micros });
      }
      const ms = await send(gw, '/api/v3/time', { headers: { 'X-MBX-TIME-UNIT': 'millisecond' } });
      assert.deepEqual(ms.json, { serverTime: clock.millis });
    });

    it('refuses an unknown X-MBX-TIME-UNIT with -1194', async () => {
      const r = await send(gw, '/api/v3/time', { headers: { 'X-MBX-TIME-UNIT': 'NANOSECOND' } });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, {
        code: -1194,
        msg: 'Invalid value for time unit; expected either MICROSECOND or MILLISECOND.',
      });
    });
  });

  describe('routing', () => {
    it('answers an unknown path with 404 and a JSON error', async () => {
      const r = await send(gw, '/api/v3/nothing-here');
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, { code: -1020, msg: 'Unknown endpoint.' });
      assert.ok(r.headers['x-mbx-used-weight-1m'] !== undefined);
    });

    it('answers a known path with another method with 405 and Allow', async () => {
      const r = await send(gw, '/api/v3/ping', { method: 'POST' });
      assert.equal(r.status, 405);
      assert.deepEqual(r.json, { code: -1020, msg: 'Method not allowed for this endpoint.' });
      assert.equal(r.headers['allow'], 'GET');
    });

    it('matches paths exactly (no trailing slash, no case folding)', async () => {
      assert.equal((await send(gw, '/api/v3/ping/')).status, 404);
      assert.equal((await send(gw, '/API/V3/PING')).status, 404);
    });
  });

  describe('parameters and bodies', () => {
    it('decodes the query string (+ and %20 are spaces) and keeps it raw for signing', async () => {
      const r = await send(gw, '/test/echo', { query: 'a=x+y&b=x%20y&c=%E2%82%AC&d' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.params, { a: 'x y', b: 'x y', c: '€', d: '' });
      assert.equal(r.json.query, 'a=x+y&b=x%20y&c=%E2%82%AC&d');
    });

    it('refuses a parameter sent twice with -1101', async () => {
      const r = await send(gw, '/test/echo', { query: 'symbol=BTCUSDT&symbol=ETHUSDT' });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: -1101, msg: "Duplicate values for parameter 'symbol'." });
    });

    it('refuses a broken percent-escape with -1100', async () => {
      const r = await send(gw, '/test/echo', { query: 'a=%ZZ' });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: -1100, msg: 'Illegal characters found in a parameter.' });
    });

    it('reads parameters from a form body, the query string winning over the body', async () => {
      const r = await send(gw, '/test/echo', {
        method: 'POST',
        query: 'a=fromQuery',
        body: 'a=fromBody&b=2',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.params, { a: 'fromQuery', b: '2' });
      assert.equal(r.json.body, 'a=fromBody&b=2');
    });

    it('refuses a parameter repeated within the body with -1101', async () => {
      const r = await send(gw, '/test/echo', {
        method: 'POST',
        body: 'b=1&b=2',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.deepEqual(r.json, { code: -1101, msg: "Duplicate values for parameter 'b'." });
    });

    it('accepts an empty body with Content-Type: application/json on GET and DELETE', async () => {
      for (const method of ['GET', 'DELETE'] as const) {
        const r = await send(gw, '/test/echo', {
          method,
          query: 'x=1',
          body: '',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(r.status, 200, method);
        assert.deepEqual(r.json.params, { x: '1' });
        assert.equal(r.json.contentType, 'application/json');
      }
      const ping = await send(gw, '/api/v3/ping', {
        body: '',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(ping.status, 200);
    });

    it('does not read parameters from a JSON body', async () => {
      const r = await send(gw, '/test/echo', {
        method: 'POST',
        body: '{"a":1}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.params, {});
      assert.equal(r.json.body, '{"a":1}');
    });

    it('gives the handler a copy that survives awaits under concurrency', async () => {
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          send(gw, '/test/echo', {
            method: 'POST',
            query: `i=${i}`,
            body: `n=${i}&pad=${'z'.repeat(i * 50)}`,
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-custom': `c${i}` },
          }),
        ),
      );
      replies.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.json.params.i, String(i));
        assert.equal(r.json.params.n, String(i));
        assert.equal(r.json.custom, `c${i}`);
        assert.equal(r.json.body.length, `n=${i}&pad=`.length + i * 50);
      });
    });

    it('refuses a body over the limit with 413 (declared length)', async () => {
      const r = await send(gw, '/test/echo', { method: 'POST', body: 'a'.repeat(64 * 1024 + 1) });
      assert.equal(r.status, 413);
      assert.deepEqual(r.json, { code: -1101, msg: 'Request body too large; the limit is 65536 bytes.' });
    });

    it('accepts a body exactly at the limit', async () => {
      const r = await send(gw, '/test/echo', { method: 'POST', body: 'a'.repeat(64 * 1024) });
      assert.equal(r.status, 200);
      assert.equal(r.json.body.length, 64 * 1024);
    });

    it('refuses a chunked body that grows over the limit with 413', async () => {
      const status = await new Promise<string>((resolve, reject) => {
        const socket = connect(gw.port, '127.0.0.1', () => {
          socket.write('POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
          const chunk = 'b'.repeat(16 * 1024);
          for (let i = 0; i < 5; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
          socket.write('0\r\n\r\n');
        });
        let data = '';
        socket.on('data', (d) => {
          data += d.toString('latin1');
        });
        socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
        socket.on('error', (e) => (data === '' ? reject(e) : resolve(data.split('\r\n')[0] ?? '')));
      });
      assert.match(status, /^HTTP\/1\.1 413/);
    });
  });

  describe('API keys on public endpoints', () => {
    it('ignores a well-formed X-MBX-APIKEY without looking it up', async () => {
      const before = apiKeys.lookups;
      const r = await send(gw, '/api/v3/ping', { headers: { 'X-MBX-APIKEY': apiKeyFor('nobody') } });
      assert.equal(r.status, 200);
      assert.equal(apiKeys.lookups, before);
    });

    it('refuses a malformed X-MBX-APIKEY with -2014', async () => {
      const r = await send(gw, '/api/v3/ping', { headers: { 'X-MBX-APIKEY': 'short!' } });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { code: -2014, msg: 'API-key format invalid.' });
    });
  });

  describe('unexpected failures', () => {
    it('answers a handler that throws with 500 -1000, no stack, and logs it', async () => {
      const r = await send(gw, '/test/throws');
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, {
        code: -1000,
        msg: 'An unknown error occurred while processing the request.',
      });
      assert.ok(!r.text.includes('boom') && !r.text.includes('.ts'));
      const line = logs.lines.find((l) => l['msg'] === 'request failed unexpectedly');
      assert.ok(line !== undefined, 'the failure was not logged');
      assert.match(JSON.stringify(line['err']), /boom/);
      assert.equal(line['path'], '/test/throws');
    });

    it('never answers malformed input with a 5xx', async () => {
      const queries = [
        '%',
        '&&&',
        '=',
        '==&=',
        'a=%E2%82',
        'symbol=%00',
        `x=${'%41'.repeat(500)}`,
        'symbols=[[[',
      ];
      for (const q of queries) {
        for (const path of ['/api/v3/ping', '/api/v3/exchangeInfo', '/api/v3/time', '/x']) {
          const r = await send(gw, path, { query: q });
          assert.ok(r.status < 500, `${path}?${q} -> ${r.status}`);
          assert.equal(typeof r.json?.code === 'number' || r.status === 200, true);
        }
      }
    });
  });

  describe('client addresses', () => {
    it('shortens the addresses uWS reports', () => {
      assert.equal(normalizeIp('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1');
      assert.equal(normalizeIp('0000:0000:0000:0000:0000:0000:0000:0001'), '::1');
      assert.equal(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0010'), '2001:db8::10');
      assert.equal(normalizeIp('10.0.0.1'), '10.0.0.1');
    });

    it('believes X-Forwarded-For only as far as the trusted proxies', () => {
      assert.equal(clientIp('10.0.0.9', '1.1.1.1, 2.2.2.2', 0), '10.0.0.9');
      assert.equal(clientIp('10.0.0.9', '1.1.1.1, 2.2.2.2', 1), '2.2.2.2');
      assert.equal(clientIp('10.0.0.9', '1.1.1.1, 2.2.2.2', 2), '1.1.1.1');
      assert.equal(clientIp('10.0.0.9', '1.1.1.1, 2.2.2.2', 5), '1.1.1.1');
      assert.equal(clientIp('10.0.0.9', 'not-an-ip', 1), '10.0.0.9');
      assert.equal(clientIp('10.0.0.9', undefined, 1), '10.0.0.9');
    });

    it('says when only the peer can name the client (the server reads the peer only then)', () => {
      assert.equal(forwardedClientIp('1.1.1.1, 2.2.2.2', 1), '2.2.2.2');
      assert.equal(forwardedClientIp(' 3.3.3.3 ', 2), '3.3.3.3');
      assert.equal(forwardedClientIp('1.1.1.1', 0), null);
      assert.equal(forwardedClientIp('not-an-ip', 1), null);
      assert.equal(forwardedClientIp(' , ', 1), null);
      assert.equal(forwardedClientIp('', 1), null);
      assert.equal(forwardedClientIp(undefined, 1), null);
    });

    it('matches allow-lists by address or CIDR block, failing closed on a broken entry', () => {
      assert.equal(ipAllowed('1.2.3.4', []), true);
      assert.equal(ipAllowed('1.2.3.4', ['1.2.3.4']), true);
      assert.equal(ipAllowed('1.2.3.5', ['1.2.3.4']), false);
      assert.equal(ipAllowed('10.1.2.3', ['10.0.0.0/8']), true);
      assert.equal(ipAllowed('::1', ['::1']), true);
      assert.equal(ipAllowed('1.2.3.4', ['1.2.3.4', 'garbage']), false);
      assert.equal(ipAllowed('9.9.9.9', ['1.2.3.4/']), false, 'an empty prefix is not /0');
      assert.equal(ipAllowed('9.9.9.9', ['1.2.3.4/33']), false);
    });

    it('reports the peer address, and the forwarded one behind a trusted proxy', async () => {
      const direct = await send(gw, '/test/echo', { headers: { 'X-Forwarded-For': '9.9.9.9' } });
      assert.equal(direct.json.ip, '127.0.0.1');
      const proxied = await startTestGateway({ trustProxy: 1, routes: [echo('GET', '/test/echo')] });
      try {
        const r = await send(proxied, '/test/echo', { headers: { 'X-Forwarded-For': '8.8.8.8, 9.9.9.9' } });
        assert.equal(r.json.ip, '9.9.9.9');
      } finally {
        await proxied.close();
      }
    });
  });

  describe('closing', () => {
    it('stops accepting, finishes the requests in flight, then closes', async () => {
      let entered: () => void = () => {};
      const inHandler = new Promise<void>((r) => (entered = r));
      const slow = await startTestGateway({
        routes: [
          {
            method: 'GET',
            path: '/test/slow',
            security: 'NONE',
            weight: 1,
            handler: async () => {
              entered();
              await new Promise<void>((r) => (release = r));
              return jsonResponse({ done: true });
            },
          },
        ],
      });
      const pending = send(slow, '/test/slow');
      await inHandler;
      let closed = false;
      const closing = slow.close().then(() => (closed = true));
      await sleep(20);
      assert.equal(closed, false, 'close() resolved with a request in flight');
      await assert.rejects(send(slow, '/api/v3/ping'), 'a new connection was accepted while closing');
      release?.();
      const r = await pending;
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { done: true });
      await closing;
      assert.equal(closed, true);
    });

    it('does not wait for a client that went away in the middle of its body', async () => {
      const g = await startTestGateway({ routes: [echo('POST', '/test/echo')] });
      await new Promise<void>((resolve, reject) => {
        const socket = connect(g.port, '127.0.0.1', () => {
          socket.write('POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-ten-b');
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 30);
        });
        socket.on('error', reject);
      });
      await sleep(30);
      await g.close();
    });
  });
});
