/**
 * The gateway benchmark's lean HTTP/1.1 client (bench/http1-client.ts) against a scripted TCP
 * server: responses framed by Content-Length and by chunks, split across reads at every byte
 * and run together in one read, matched to pipelined requests in order; a connection the
 * server closes fails what is outstanding and the next request connects again.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Http1Connection } from '../../bench/http1-client.ts';

interface Script {
  /** Called with every request head the server has read in full; returns the bytes to answer. */
  answer(head: string, socket: net.Socket): void;
}

async function server(script: Script): Promise<{ port: number; connections: () => number; close(): void }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        script.answer(head, socket);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

const response = (status: number, body: string, extra = ''): string =>
  `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('bench: the lean HTTP/1.1 client', () => {
  it('frames Content-Length responses split at every byte, in the order of pipelined requests', async () => {
    const srv = await server({
      answer(head, socket) {
        const path = head.split(' ')[1]!;
        const bytes = Buffer.from(response(path === '/bad' ? 400 : 200, JSON.stringify({ path, é: 'ü' })));
        // One byte per write: the client must reassemble every piece of the head and body.
        for (let i = 0; i < bytes.length; i++) socket.write(bytes.subarray(i, i + 1));
      },
    });
    const c = new Http1Connection('127.0.0.1', srv.port);
    try {
      const replies = await Promise.all(
        ['/a', '/bad', '/c'].map((p) => c.request('GET', p, 'x-test: 1\r\n')),
      );
      assert.deepEqual(
        replies.map((r) => [r.status, JSON.parse(r.body)]),
        [
          [200, { path: '/a', é: 'ü' }],
          [400, { path: '/bad', é: 'ü' }],
          [200, { path: '/c', é: 'ü' }],
        ],
      );
      assert.equal(c.outstanding, 0);
      assert.equal(srv.connections(), 1, 'one keep-alive connection');
    } finally {
      c.close();
      srv.close();
    }
  });

  it('frames chunked responses and several responses in one read', async () => {
    const pending: string[] = [];
    const srv = await server({
      answer(head, socket) {
        const path = head.split(' ')[1]!;
        pending.push(
          path === '/chunked'
            ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'
            : response(201, path),
        );
        // All three answers leave in one write once the third request is in.
        if (pending.length === 3) socket.write(pending.splice(0).join(''));
      },
    });
    const c = new Http1Connection('127.0.0.1', srv.port);
    try {
      const replies = await Promise.all(['/one', '/chunked', '/three'].map((p) => c.request('POST', p, '')));
      assert.deepEqual(
        replies.map((r) => [r.status, r.body]),
        [
          [201, '/one'],
          [200, 'abcde'],
          [201, '/three'],
        ],
      );
    } finally {
      c.close();
      srv.close();
    }
  });

  it('fails what is outstanding when the server closes, and connects again for the next request', async () => {
    let n = 0;
    const srv = await server({
      answer(_head, socket) {
        n++;
        if (n === 1) socket.destroy();
        else if (n === 2) socket.end(response(200, 'bye', 'Connection: close\r\n'));
        else socket.write(response(200, 'again'));
      },
    });
    const c = new Http1Connection('127.0.0.1', srv.port);
    try {
      await assert.rejects(c.request('GET', '/1', ''), /closed by the server/);
      assert.deepEqual(await c.request('GET', '/2', ''), { status: 200, body: 'bye' });
      assert.deepEqual(await c.request('GET', '/3', ''), { status: 200, body: 'again' });
      assert.equal(srv.connections(), 3);
    } finally {
      c.close();
      srv.close();
    }
  });

  it('fails a request it cannot connect for, and tries again for the next', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = new Http1Connection('127.0.0.1', port);
    await assert.rejects(c.request('GET', '/', ''), /ECONNREFUSED/);
    await assert.rejects(c.request('GET', '/', ''), /ECONNREFUSED/);
    assert.equal(c.outstanding, 0);
  });

  it('refuses a response it cannot frame instead of guessing where it ends', async () => {
    const srv = await server({
      answer(_head, socket) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length');
      },
    });
    const c = new Http1Connection('127.0.0.1', srv.port);
    try {
      await assert.rejects(c.request('GET', '/', ''), /cannot frame/);
    } finally {
      c.close();
      srv.close();
    }
  });
});
