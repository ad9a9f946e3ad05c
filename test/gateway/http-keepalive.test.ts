/**
 * Keep-alive framing over raw sockets: every request the gateway's handler sees gets exactly one
 * reply the client can frame, or the connection closes; never silence. A fuzz run (undici, 64
 * requests in flight over keep-alive) once found connections that stopped answering; these are
 * the requests that can leave a kept-alive connection misframed or waiting: HEAD (a body after
 * its headers is read as the next response), a body uWS cannot frame (a chunk extension: data
 * that never ends), a Content-Length that is not one number, a stray Sec-WebSocket-Key on a
 * WebSocket route (uWS would switch protocols), a reply a handler got wrong.
 *
 * Replies are parsed the way a client frames them: status line, headers, then Content-Length
 * bytes of body, none after HEAD, interim 1xx replies skipped. Bytes left over that do not start
 * a response are a framing error.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Route } from '../../gateway/http/http-types.ts';
import { type Gateway, startGateway } from '../../gateway/server.ts';
import { demoMarkets, FakeApiKeys, FakeClock, LogCapture } from './helpers.ts';

/** One reply as a client frames it. */
interface Framed {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Frames the replies in `data` to requests with `methods`, in order; `rest` is what does not frame. */
function frame(data: string, methods: readonly string[]): { replies: Framed[]; rest: string } {
  const replies: Framed[] = [];
  let at = 0;
  while (replies.length < methods.length) {
    const end = data.indexOf('\r\n\r\n', at);
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(data.slice(at, at + 13));
    if (end < 0 || m === null) break;
    const lines = data.slice(at, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(m[1]);
    at = end + 4;
    if (status < 200) continue; // 100 Continue: an interim reply, the real one follows
    const length = methods[replies.length] === 'HEAD' ? 0 : Number(headers['content-length'] ?? 0);
    replies.push({ status, headers, body: data.slice(at, at + length) });
    at += length;
  }
  return { replies, rest: data.slice(at) };
}

/**
 * Writes `parts` on one connection (each part a separate write, `gapMs` apart) and collects what
 * comes back until `expected` replies are framed (and the connection closed, with `close`), or
 * `maxMs` passed: the bound only ends a test that would otherwise wait forever.
 */
function converse(
  port: number,
  parts: readonly string[],
  methods: readonly string[],
  o: { close?: boolean; gapMs?: number; maxMs?: number } = {},
): Promise<{ replies: Framed[]; rest: string; closed: boolean; data: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    const settle = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...frame(data, methods), closed, data });
    };
    const check = () => {
      const { replies, rest } = frame(data, methods);
      if (replies.length >= methods.length && rest === '' && (o.close !== true || closed)) settle();
    };
    const timer = setTimeout(settle, o.maxMs ?? 3_000);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      check();
    });
    socket.on('close', () => {
      closed = true;
      settle();
    });
    socket.on('error', () => undefined);
    parts.forEach((p, i) => {
      setTimeout(() => socket.write(p, 'latin1'), i * (o.gapMs ?? 0));
    });
  });
}

const req = (method: string, path: string, extra = '', body = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n${body}`;
const PING = req('GET', '/api/v3/ping');
const pingReply = (r: Framed | undefined) => {
  assert.equal(r?.status, 200);
  assert.equal(r.body, '{}');
};

describe('gateway keep-alive framing', () => {
  let gw: Gateway;
  const logs = new LogCapture();
  const brokenReplies: Route[] = [
    {
      method: 'GET',
      path: '/test/line-break-header',
      security: 'NONE',
      weight: 1,
      handler: async () => ({ status: 200, headers: { 'X-Note': 'a\r\nInjected: 1' }, body: '{}' }),
    },
    {
      method: 'GET',
      path: '/test/no-body',
      security: 'NONE',
      weight: 1,
      handler: async () => ({ status: 200, body: undefined as unknown as string }),
    },
    {
      method: 'POST',
      path: '/test/echo',
      security: 'NONE',
      weight: 1,
      handler: async (r) => ({ status: 200, body: JSON.stringify({ length: r.body.length }) }),
    },
  ];

  before(async () => {
    gw = await startGateway({
      port: 0,
      host: '127.0.0.1',
      markets: demoMarkets(),
      apiKeys: new FakeApiKeys(),
      clock: new FakeClock(),
      routes: brokenReplies,
      bodyTimeoutMs: 200,
      logger: logs.logger,
    });
    gw.app.ws('/ws/*', {
      message: (ws, message) => {
        ws.send(message);
      },
    });
  });
  after(() => gw.close());

  it('answers HEAD with the status and headers only, so that the next reply on the connection frames', async () => {
    const methods = ['HEAD', 'HEAD', 'HEAD', 'GET'];
    const { replies, rest, closed } = await converse(
      gw.port,
      [req('HEAD', '/api/v3/ping') + req('HEAD', '/nope') + req('HEAD', '/api/v3/exchangeInfo') + PING],
      methods,
    );
    assert.equal(rest, '', 'bytes after the HEAD replies that are no reply');
    assert.deepEqual(
      replies.map((r) => r.status),
      [405, 404, 405, 200],
    );
    assert.equal(replies[0]!.headers.allow, 'GET');
    pingReply(replies[3]);
    assert.equal(closed, false);
  });

  it('answers every request of a pipelined mix exactly once, in order, and keeps the connection', async () => {
    const mix: [string, string][] = [
      [
        'GET',
        req('GET', '/api/v3/ping', 'Content-Type: application/json\r\nContent-Length: 7\r\n', '{"a":1}'),
      ],
      ['DELETE', req('DELETE', '/api/v3/ping', 'Transfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n')],
      ['OPTIONS', req('OPTIONS', '/api/v3/time')],
      ['PATCH', req('PATCH', '/test/echo', 'Content-Length: 2\r\n', 'hi')],
      ['POST', req('POST', '/test/echo', 'Expect: 100-continue\r\nContent-Length: 5\r\n', 'hello')],
      ['TRACE', req('TRACE', '/api/v3/ping')],
      ['GET', req('GET', '/api/v3/ping?a=%zz')],
      ['PUT', req('PUT', '/..%2f..%2fetc/passwd', 'Content-Length: 0\r\n')],
      ['GET', PING],
    ];
    const { replies, rest, closed } = await converse(
      gw.port,
      [mix.map(([, r]) => r).join('')],
      mix.map(([m]) => m),
    );
    assert.equal(rest, '');
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 405, 405, 405, 200, 405, 400, 404, 200],
    );
    assert.equal(replies[4]!.body, '{"length":5}');
    for (const r of replies.slice(1, -1))
      if (r.status >= 400) assert.equal(typeof JSON.parse(r.body).code, 'number');
    assert.equal(closed, false);
  });

  it('answers a body that never completes (a chunk extension uWS misreads) with 408, then closes', async () => {
    // uWS reads "5;a=b" as a chunk size it then waits for; the rest is taken as chunk data.
    const chunked = req(
      'POST',
      '/test/echo',
      'Transfer-Encoding: chunked\r\n',
      '5;a=b\r\nhello\r\n0\r\n\r\n',
    );
    const { replies, closed } = await converse(gw.port, [chunked + PING], ['POST'], { close: true });
    assert.equal(replies[0]?.status, 408, 'no reply: the connection was left waiting');
    assert.deepEqual(JSON.parse(replies[0].body), {
      code: -1007,
      msg: 'Timeout waiting for the request body; the request was not processed.',
    });
    assert.equal(replies[0].headers.connection, 'close');
    assert.equal(closed, true);
  });

  it('answers a body cut short with 408 and closes', async () => {
    const partial = req('POST', '/test/echo', 'Content-Length: 10\r\n', 'hel');
    const { replies, closed } = await converse(gw.port, [partial], ['POST'], { close: true });
    assert.equal(replies[0]?.status, 408);
    assert.equal(closed, true);
  });

  it('refuses a Content-Length that is not one number with 400 -1100, then closes', async () => {
    const twice = req('POST', '/test/echo', 'Content-Length: 5\r\nContent-Length: 6\r\n');
    const { replies, closed } = await converse(gw.port, [twice, 'hello!'], ['POST'], {
      close: true,
      gapMs: 50,
    });
    assert.equal(replies[0]?.status, 400);
    assert.deepEqual(JSON.parse(replies[0].body), { code: -1100, msg: 'Malformed Content-Length header.' });
    assert.equal(replies[0].headers.connection, 'close');
    assert.equal(closed, true);
  });

  it('refuses a body over the limit with 413, then closes', async () => {
    const big = req('POST', '/test/echo', 'Content-Length: 70000\r\n');
    const { replies, closed } = await converse(gw.port, [big, 'x'.repeat(1000)], ['POST'], {
      close: true,
      gapMs: 50,
    });
    assert.equal(replies[0]?.status, 413);
    assert.equal(replies[0].headers.connection, 'close');
    assert.equal(closed, true);
  });

  it('treats a GET with a stray Sec-WebSocket-Key on a WebSocket route as an ordinary request', async () => {
    const stray = req('GET', '/ws/anything', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
    const { replies, rest, closed } = await converse(gw.port, [stray + PING], ['GET', 'GET']);
    assert.equal(rest, '');
    assert.equal(replies[0]?.status, 404, 'switched protocols without a handshake');
    assert.equal(JSON.parse(replies[0].body).code, -1020);
    pingReply(replies[1]);
    assert.equal(closed, false);
    // A real handshake still upgrades.
    const handshake = req(
      'GET',
      '/ws/anything',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    );
    const upgraded = await converse(gw.port, [handshake], ['GET'], { maxMs: 300 });
    assert.match(upgraded.data, /^HTTP\/1\.1 101 /);
  });

  it('answers a reply a handler got wrong with 500 -1000 (logged), and the connection goes on', async () => {
    const methods = ['GET', 'GET', 'GET'];
    const { replies, rest, closed } = await converse(
      gw.port,
      [req('GET', '/test/line-break-header') + req('GET', '/test/no-body') + PING],
      methods,
    );
    assert.equal(rest, '');
    assert.deepEqual(
      replies.map((r) => r.status),
      [500, 500, 200],
    );
    assert.equal(replies[0]!.headers.injected, undefined);
    assert.equal(JSON.parse(replies[1]!.body).code, -1000);
    assert.equal(closed, false);
    assert.ok(logs.lines.some((l) => l.msg === 'a handler returned a reply that cannot be written'));
  });

  it('closes at once on a method uWS does not route, rather than leaving the client waiting', async () => {
    const { replies, closed } = await converse(gw.port, [req('FOO', '/api/v3/ping')], ['FOO'], {
      close: true,
    });
    assert.deepEqual(replies, []);
    assert.equal(closed, true);
  });
});
