/**
 * The core's operator entry until the admin API exists: newline-delimited JSON over a Unix
 * socket in the data directory (`core.sock`), reachable only from the machine itself.
 *
 *   {"cmd":"shards.list"}                              -> {"ok":true,"shards":N,"shardMap":{...}}
 *   {"cmd":"shards.move","symbol":"ETHUSDT","shard":0} -> {"ok":true,"shardMap":{...}}
 *   {"cmd":"state.hash"}                               -> {"ok":true,"seq":N,"hash":"..."}
 *   {"cmd":"snapshot"}                                 -> {"ok":true,"seq":N,"hash":"...","file":"..."}
 *
 * Errors answer {"ok":false,"error":"..."}.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import type { Core } from './core.ts';

/** The socket's path in a data directory. */
export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, 'core.sock');
}

/** Serves the control protocol for `core`; resolves once listening. */
export async function serveControl(core: Core, dataDir: string): Promise<Server> {
  const file = controlSocketPath(dataDir);
  rmSync(file, { force: true });
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 65536) socket.destroy();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void answer(core, line).then((reply) => socket.write(`${JSON.stringify(reply)}\n`));
        nl = buffered.indexOf('\n');
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, resolve);
  });
  return server;
}

async function answer(core: Core, line: string): Promise<Record<string, unknown>> {
  let req: { cmd?: unknown; symbol?: unknown; shard?: unknown };
  try {
    req = JSON.parse(line) as typeof req;
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  try {
    switch (req.cmd) {
      case 'shards.list':
        return { ok: true, shards: core.shardCount, shardMap: core.shardMap() };
      case 'shards.move':
        if (typeof req.symbol !== 'string' || typeof req.shard !== 'number') {
          return { ok: false, error: 'shards.move needs "symbol" (string) and "shard" (number)' };
        }
        await core.moveSymbol(req.symbol, req.shard);
        return { ok: true, shardMap: core.shardMap() };
      case 'state.hash': {
        const hash = await core.stateHash();
        return { ok: true, seq: core.lastSeq, hash };
      }
      case 'snapshot':
        return { ok: true, ...(await core.snapshot()) };
      default:
        return { ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` };
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** Sends one request to a running core and returns its answer. */
export function request(
  dataDir: string,
  req: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(dataDir));
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the core within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new Error(`cannot reach the core at ${controlSocketPath(dataDir)} (is it running?): ${e.message}`),
      );
    });
  });
}
