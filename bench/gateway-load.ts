/**
 * One load process of the gateway benchmark (forked by gateway.bench.ts, `node --import tsx`):
 * keep-alive connections to one origin with HTTP/1.1 pipelining, either the project's lean
 * client (./http1-client.ts: connection i % C carries slot i) or an undici Pool, and
 * connections x pipelining slots, each a closed loop of
 *
 *   POST   /api/v3/order  LIMIT GTC, newOrderRespType=ACK, a price that rests without crossing
 *   DELETE /api/v3/order  that orderId
 *
 * signed with HMAC-SHA256 as Binance clients sign (query string, `signature` last), with the
 * account's address in X-Forwarded-For (the benchmark's gateway trusts one proxy hop, so that
 * the per-IP request weight is spread as it is behind a load balancer). Both requests count as
 * orders. Undici pipelines only requests marked idempotent and non-blocking, so both are marked.
 *
 * New orders per account are kept under the gateway's ORDERS limit (100 per 10 s, windows
 * aligned to the epoch as the server's are) by a budget per account; a slot that finds every
 * account of this process spent waits for the next window (counted: `budgetWaits`). Against the
 * bare hello-world server (`mode: 'hello'`) the same requests are sent without a budget.
 *
 * Latency is measured per request from the call to the last byte of the body, recorded in
 * microseconds into an HdrHistogram for the responses that complete inside the measured window,
 * and sent back compressed. Any non-2xx status or transport error is an error.
 */
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { serverClockOffset } from './gateway-clock.ts';
import type { LoadMessage, LoadResult, LoadRun } from './gateway-protocol.ts';
import { Http1Connection } from './http1-client.ts';

const WINDOW_MS = 10_000;
const MAX_ERROR_SAMPLES = 8;

function send(m: LoadMessage): void {
  process.send?.(m);
}

/** Epoch milliseconds as a performance.now() instant of this process. */
function perfAt(epochMs: number): number {
  return performance.now() + (epochMs - Date.now());
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** `ticks` (0.01) as a price string. */
function priceText(ticks: number): string {
  const cents = ticks % 100;
  return `${Math.floor(ticks / 100)}.${cents < 10 ? '0' : ''}${cents}`;
}

/** Sends one request without a body: status and body text. */
type Send = (
  slot: number,
  method: 'POST' | 'DELETE',
  path: string,
  apiKey: string,
  ip: string,
) => Promise<{ status: number; body: string }>;

/** The client `cfg` asks for, and how to close it. */
function client(cfg: LoadRun): { send: Send; close: () => Promise<void> } {
  if (cfg.client === 'undici') {
    const pool = new Pool(cfg.origin, {
      connections: cfg.connections,
      pipelining: cfg.pipelining,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
    return {
      send: async (_slot, method, path, apiKey, ip) => {
        const res = await pool.request({
          path,
          method,
          headers: { 'x-mbx-apikey': apiKey, 'x-forwarded-for': ip },
          idempotent: true,
          blocking: false,
        });
        return { status: res.statusCode, body: await res.body.text() };
      },
      close: () => pool.close(),
    };
  }
  const url = new URL(cfg.origin);
  const connections = Array.from(
    { length: cfg.connections },
    () => new Http1Connection(url.hostname, Number(url.port)),
  );
  return {
    send: (slot, method, path, apiKey, ip) =>
      connections[slot % connections.length]!.request(
        method,
        path,
        `x-mbx-apikey: ${apiKey}\r\nx-forwarded-for: ${ip}\r\n`,
      ),
    close: async () => {
      for (const c of connections) c.close();
    },
  };
}

async function run(cfg: LoadRun): Promise<LoadResult> {
  const http = client(cfg);
  const hist = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  // Timestamps and budget windows follow the server's clock, as a Binance client syncs to it.
  const offset = await serverClockOffset(cfg.origin);
  const users = cfg.users;
  const n = users.length;
  const budgeted = cfg.mode === 'orders';
  const windowOf = new Float64Array(n).fill(-1);
  const used = new Int32Array(n);
  let cursor = 0;
  const from = perfAt(cfg.measureFrom);
  const to = perfAt(cfg.measureTo);
  let places = 0;
  let cancels = 0;
  let outside = 0;
  let errors = 0;
  let budgetWaits = 0;
  const errorsByStatus: Record<string, number> = {};
  const errorSamples: string[] = [];

  const error = (what: string, sample: string): void => {
    errors++;
    errorsByStatus[what] = (errorsByStatus[what] ?? 0) + 1;
    if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(`${what}: ${sample.slice(0, 400)}`);
  };

  /** The next account with budget left, or -1 when every one is spent in this window. */
  const pick = (): number => {
    const win = Math.floor((Date.now() + offset) / WINDOW_MS);
    for (let tries = 0; tries < n; tries++) {
      const u = cursor;
      cursor = cursor + 1 === n ? 0 : cursor + 1;
      if (!budgeted) return u;
      if (windowOf[u] !== win) {
        windowOf[u] = win;
        used[u] = 0;
      }
      if (used[u]! < cfg.ordersPer10s) {
        used[u]!++;
        return u;
      }
    }
    return -1;
  };

  /** Sends one signed request; the body text on 2xx, null otherwise (counted). */
  const request = async (
    slot: number,
    method: 'POST' | 'DELETE',
    u: number,
    params: string,
    kind: 'place' | 'cancel',
  ): Promise<string | null> => {
    const user = users[u]!;
    const query = `${params}&timestamp=${Date.now() + offset}`;
    const signature = createHmac('sha256', user.secretKey).update(query).digest('hex');
    const t0 = performance.now();
    let status = 0;
    let text: string;
    try {
      const res = await http.send(
        slot,
        method,
        `/api/v3/order?${query}&signature=${signature}`,
        user.apiKey,
        user.ip,
      );
      status = res.status;
      text = res.body;
    } catch (e) {
      error('transport', (e as Error).message);
      return null;
    }
    const t1 = performance.now();
    if (status < 200 || status > 299) {
      error(String(status), `${method} ${params} -> ${text}`);
      return null;
    }
    if (t1 >= from && t1 < to) {
      if (kind === 'place') places++;
      else cancels++;
      hist.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
    } else outside++;
    return text;
  };

  const slot = async (index: number): Promise<void> => {
    let side = index % 2;
    let seed = (index * 2654435761) >>> 0;
    while (performance.now() < to) {
      const u = pick();
      if (u < 0) {
        budgetWaits++;
        await sleep(WINDOW_MS - ((Date.now() + offset) % WINDOW_MS) + 5);
        continue;
      }
      seed = (seed * 1664525 + 1013904223) >>> 0;
      // BUY 10,000.00..19,999.99, SELL 40,000.00..49,999.99: nothing ever crosses.
      const ticks = (side === 0 ? 1_000_000 : 4_000_000) + (seed % 1_000_000);
      const params =
        `symbol=${cfg.symbol}&side=${side === 0 ? 'BUY' : 'SELL'}&type=LIMIT&timeInForce=GTC` +
        `&quantity=0.00100&price=${priceText(ticks)}&newOrderRespType=ACK`;
      side ^= 1;
      const placed = await request(index, 'POST', u, params, 'place');
      if (placed === null) continue;
      const m = /"orderId":(\d+)/.exec(placed);
      if (m === null) {
        error('no orderId', placed);
        continue;
      }
      if (performance.now() >= to) break;
      await request(index, 'DELETE', u, `symbol=${cfg.symbol}&orderId=${m[1]}`, 'cancel');
    }
  };

  await sleep(cfg.startAt - Date.now());
  const slots: Promise<void>[] = [];
  for (let i = 0; i < cfg.connections * cfg.pipelining; i++) slots.push(slot(i));
  await Promise.all(slots);
  await http.close();
  const histogram = hdr.encodeIntoCompressedBase64(hist);
  hist.destroy();
  return {
    type: 'result',
    places,
    cancels,
    errors,
    errorsByStatus,
    errorSamples,
    budgetWaits,
    outside,
    clockOffsetMillis: offset,
    histogram,
  };
}

process.on('message', (m: LoadRun) => {
  if (m.type !== 'run') return;
  run(m).then(
    (r) => {
      send(r);
      process.disconnect?.();
    },
    (e: unknown) => {
      process.stderr.write(`gateway-load: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
});
send({ type: 'ready' });
