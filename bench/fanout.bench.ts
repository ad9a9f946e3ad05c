/**
 * npm run bench:fanout — market data fan-out: thousands of WebSocket subscribers (over several
 * client processes) on `<s>@depth@100ms`, `<s>@trade` and `<s>@ticker` of 10 symbols while the
 * engine trades at a steady rate, through Redis; against a floor measured in the same run: a
 * bare uWebSockets.js server publishing the same message sizes at the same moments to the same
 * clients.
 *
 *   FANOUT_SUBSCRIBERS=2000 FANOUT_SECONDS=10 npm run bench:fanout     a short run
 *
 * Settings (environment):
 *   FANOUT_SUBSCRIBERS     connections (10000), each on 3 streams of 3 different symbols
 *   FANOUT_CLIENTS         client processes sharing them (4)
 *   FANOUT_SECONDS         measured window (30)
 *   FANOUT_WARMUP          seconds of trading before the clients connect, and again after (5)
 *   FANOUT_TRADES_PER_SEC  trades per second over the 10 symbols (300)
 *   FANOUT_CONCURRENCY     connection attempts in flight per client process (64)
 *   FANOUT_FLOOR           on | off: run the bare uWS floor (on)
 *   FANOUT_DATABASE        postgres | pglite: the accounts database (postgres: a database of its
 *                          own, `bench_fanout`, dropped and created on FANOUT_PG_URL's server,
 *                          default postgres://postgres@127.0.0.1:5432/postgres; pglite: the
 *                          embedded default, whose WebAssembly runs the persister's writes on
 *                          the platform's event loop)
 *   FANOUT_TOPOLOGY        one | split: every role in ONE process, as `npm start` runs the
 *                          platform, the fan-out sharing the main thread with matching, the
 *                          builder and the persister (one, the default); or as production
 *                          splits it, the core (with the persister and the market data builder)
 *                          in one process and a gateway of its own in another, following the bus
 *                          (split; needs FANOUT_DATABASE=postgres, which both reach)
 *   FANOUT_PROFILE_DIR     run the platform under --cpu-prof (profiles written there); print the
 *                          main thread's self time over the window by part and by function
 *   REDIS_URL              the bus (redis://127.0.0.1:6379); the prefix is unique per run and
 *                          its keys are deleted at the end
 *   CROSSBOOK_FSYNC        passed to the platform (default true)
 *
 * 1. The platform (fanout-platform.ts: platform/main.ts's platform, as FANOUT_TOPOLOGY says: a
 *    core process and a gateway process, or every role in ONE child process; a temp data dir, a
 *    10-market file written there, the Redis bus, the accounts database of FANOUT_DATABASE)
 *    starts; the engine trades at FANOUT_TRADES_PER_SEC from commands submitted inside the
 *    core's process. After the warm-up the memory of the process serving the WebSocket clients
 *    (the gateway) is read (after a full GC; the median of three readings a second apart): RSS,
 *    heap.
 * 2. The client processes (fanout-client.ts) open the connections (`/stream?streams=...`); after
 *    another warm-up the memory is read again: (live after - live before) / connections is the
 *    gateway memory per connection, where live is the RSS less the V8 heap committed and not in
 *    use (V8 keeps or returns free heap pages after a GC as it pleases, which moves the RSS by
 *    tens of MB either way); the RSS alone is reported beside it.
 * 3. The window: every message the platform publishes on the 30 streams is recorded in the
 *    platform (stream, id, when) and relayed to the clients, which match what they receive
 *    against it. Delay = client receipt - reference, on CLOCK_MONOTONIC in µs in every process
 *    (fanout-common.ts): the reference is the core's release of the trade event for trades
 *    (stamped by a listener ahead of the market data builder), the moment of publishing on the
 *    bus for depth diffs (built every 100 ms by design) and tickers (every second). Delivered
 *    in order = received in order / (published in the window x subscribers of the stream).
 *    CPU: utime + stime of the gateway (and, split, of the core) and of the clients over the
 *    window. After the window
 *    the driver waits until the clients have every message published in it (or none arrives
 *    for 3 s): a message still missing then counts as not delivered. The platform's event loop
 *    delay over the window and the messages published per stream per second (10 depth diffs,
 *    1 ticker when the builder's timers run on time) show whether the platform kept up.
 * 4. The floor (fanout-floor.ts): a bare uWS server gets the recorded schedule of the window
 *    (plus a 3 s lead-in): per message its time offset, stream and payload size, and publishes
 *    the same on the same topics to fresh client processes, which measure it the same way
 *    (reference: the moment the message was due, as the platform's is the moment its message
 *    came to be, however late the server's event loop gets to it; the floor's delay from the
 *    moment its timer actually published is reported beside it, `floorFromPublishP99Millis`).
 *
 * The table goes to stdout, then one JSON line (the last line):
 * {"bench":"fanout","subscribers":N,"messagesPerSec":N,"deliveredFraction":N,"p50Millis":N,"p99Millis":N,"floorP99Millis":N,"bytesPerConnection":N,...}
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import {
  type ClientResult,
  combinedBytes,
  type FromClient,
  type FromServer,
  KIND_TRADE,
  KINDS,
  marketsFile,
  monoMicros,
  RECORD_FIELDS,
  STREAMS,
  STREAMS_PER_SYMBOL,
  subscribersPerStream,
  type ToClient,
  type ToServer,
} from './fanout-common.ts';
import { dropDatabase, freshDatabase } from './postgres-db.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

function setting(env: string, fallback: number, min: number): number {
  const raw = process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${env}=${raw}: must be a number >= ${min}`);
  return n;
}

const SUBSCRIBERS = Math.floor(setting('FANOUT_SUBSCRIBERS', 10_000, 1));
const CLIENTS = Math.floor(setting('FANOUT_CLIENTS', 4, 1));
const SECONDS = setting('FANOUT_SECONDS', 30, 1);
const WARMUP = setting('FANOUT_WARMUP', 5, 1);
const TRADES_PER_SEC = setting('FANOUT_TRADES_PER_SEC', 300, 1);
const CONCURRENCY = Math.floor(setting('FANOUT_CONCURRENCY', 64, 1));
const FLOOR = (process.env.FANOUT_FLOOR ?? 'on') !== 'off';
const PROFILE_DIR = process.env.FANOUT_PROFILE_DIR ? path.resolve(process.env.FANOUT_PROFILE_DIR) : undefined;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE = process.env.FANOUT_DATABASE ?? 'postgres';
if (DATABASE !== 'postgres' && DATABASE !== 'pglite')
  throw new Error(`FANOUT_DATABASE=${DATABASE}: postgres or pglite`);
const TOPOLOGY = process.env.FANOUT_TOPOLOGY ?? 'one';
if (TOPOLOGY !== 'split' && TOPOLOGY !== 'one') throw new Error(`FANOUT_TOPOLOGY=${TOPOLOGY}: split or one`);
if (TOPOLOGY === 'split' && DATABASE !== 'postgres')
  throw new Error('FANOUT_TOPOLOGY=split needs FANOUT_DATABASE=postgres (a database both processes reach)');
const PG_URL = process.env.FANOUT_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = 'bench_fanout';
/** Seconds of messages replayed to the floor before its window (so every stream has a predecessor). */
const LEAD = 3;
/** Seconds at least after the window for messages still in flight (then until all arrived or none for 3 s). */
const DRAIN = 1;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all threads), in seconds. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/**
 * Per thread of a process: tid -> [name, CPU seconds (utime + stime), seconds spent runnable but
 * waiting for a CPU (schedstat's run-queue wait)].
 */
function threadCpu(pid: number | undefined): Map<number, [string, number, number]> {
  const out = new Map<number, [string, number, number]>();
  if (pid === undefined) return out;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        let wait = 0;
        try {
          wait = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
        } catch {
          // no schedstat on this kernel
        }
        out.set(Number(tid), [name, (Number(f[11]) + Number(f[12])) / CLK_TCK, wait]);
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/**
 * CPU share per thread between two `threadCpu` readings over `seconds`, busiest first, as text;
 * the main thread (tid = pid) also with the share of the time it waited for a CPU.
 */
function threadShares(
  pid: number | undefined,
  a: Map<number, [string, number, number]>,
  b: Map<number, [string, number, number]>,
  seconds: number,
): string {
  const rows: [string, number, number][] = [];
  for (const [tid, [name, cpu, wait]] of b) {
    const before = a.get(tid);
    rows.push([
      tid === pid ? 'main' : `${name}#${tid}`,
      (cpu - (before?.[1] ?? 0)) / seconds,
      (wait - (before?.[2] ?? 0)) / seconds,
    ]);
  }
  return rows
    .filter((r) => r[1] >= 0.005)
    .sort((x, y) => y[1] - x[1])
    .map(([n, c, w]) =>
      n === 'main'
        ? `main ${(c * 100).toFixed(0)}% (runnable, waiting for a CPU: ${(w * 100).toFixed(0)}%)`
        : `${n} ${(c * 100).toFixed(0)}%`,
    )
    .join(', ');
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (micros: number): number => Math.round(micros) / 1000;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t)));
const sleepUntil = (mono: number): Promise<void> => sleep((mono - monoMicros()) / 1000);

// --- children ------------------------------------------------------------------------------------

/** The soft limit on open files this script's children get: the hard limit. */
const HARD_NOFILE = (() => {
  try {
    return execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unlimited';
  }
})();

/** `node <args> <script>` with an IPC channel, its open-file limit raised to the hard limit. */
function child(
  script: string,
  nodeArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): ChildProcess {
  const log = fs.createWriteStream(logFile);
  const c = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${HARD_NOFILE} 2>/dev/null; exec "$@"`,
      'bash',
      process.execPath,
      ...nodeArgs,
      '--import',
      'tsx',
      script,
    ],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  c.stdout!.pipe(log);
  c.stderr!.pipe(log);
  return c;
}

/** The next IPC message of `c` of type `type` (rejects if it exits first or after `timeoutMs`). */
function next<M extends { type: string }, T extends M['type']>(
  c: ChildProcess,
  type: T,
  what: string,
  timeoutMs = 300_000,
): Promise<Extract<M, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: M) => {
      if (m.type !== type) return;
      done();
      resolve(m as Extract<M, { type: T }>);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${what} exited (${code}) while waiting for "${type}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no "${type}" in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    c.on('message', onMessage);
    c.once('exit', onExit);
  });
}

async function stop(c: ChildProcess, graceMs = 30_000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

interface Mem {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * The memory a process holds for what it keeps: its RSS less the V8 heap pages it has
 * committed and not in use (after a full GC, V8 keeps or returns those as it pleases, which
 * moves a gateway's RSS by tens of MB either way, as much as 10,000 connections take).
 */
function live(m: Mem): number {
  return m.rss - m.heapTotal + m.heapUsed;
}

async function mem(server: ChildProcess): Promise<Mem> {
  const reply = next<FromServer, 'mem'>(server, 'mem', 'server');
  server.send({ type: 'mem' } satisfies ToServer);
  return reply;
}

/** Three readings a second apart (each after a full GC); the median of each figure. */
async function memMedian(server: ChildProcess): Promise<Mem> {
  const xs: Mem[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1000);
    xs.push(await mem(server));
  }
  const med = (f: (m: Mem) => number) => xs.map(f).sort((a, b) => a - b)[1]!;
  return {
    rss: med((m) => m.rss),
    heapTotal: med((m) => m.heapTotal),
    heapUsed: med((m) => m.heapUsed),
    external: med((m) => m.external),
    arrayBuffers: med((m) => m.arrayBuffers),
  };
}

// --- one run -------------------------------------------------------------------------------------

interface Outcome {
  readonly label: string;
  readonly open: number;
  readonly failed: number;
  readonly connectSeconds: number;
  readonly connectErrors: string[];
  readonly expected: number[];
  readonly received: number[];
  readonly inOrder: number[];
  readonly bytes: number;
  readonly all: hdr.Histogram;
  readonly kinds: hdr.Histogram[];
  readonly fromPublish: hdr.Histogram;
  readonly unmatched: number;
  readonly unmatchedSamples: string[];
  readonly negative: number;
  readonly dropped: number;
  readonly closeCodes: Record<string, number>;
  readonly serverCpu: number;
  readonly clientCpu: number;
  readonly memBefore: Mem;
  readonly memAfter: Mem;
  readonly memEnd: Mem;
  /** Messages the server published in the window, per stream. */
  readonly publishedPerStream: number[];
  readonly loadAvg: number;
  /** The server's event loop delay over the window (ms). */
  readonly eld: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Seconds waited after the window for messages in flight. */
  readonly drained: number;
  /** The server's threads' CPU over the window. */
  readonly threads: string;
  /** Split: the core process's CPU over the window (share of one core), and its threads. */
  readonly coreCpu: number | null;
  readonly coreThreads: string | null;
  /** Least-squares slope of the server's live memory over open connections while they were opened (bytes each). */
  readonly slope: number;
  readonly steps: { readonly open: number; readonly rss: number }[];
}

/**
 * Opens the client processes against `port`, relays the server's records to them, measures
 * the window [from, to) (monotonic µs) which `startWindow` fixes once the clients are
 * connected and settled.
 */
async function measure(
  label: string,
  server: ChildProcess,
  port: number,
  records: { all: number[]; sinks: Set<ChildProcess> },
  root: string,
  startWindow: () => Promise<{ from: number; to: number }>,
  beforeClose: () => Promise<void> = async () => {},
  coreProcess?: ChildProcess,
): Promise<Outcome> {
  const memBefore = await memMedian(server);
  const clients: ChildProcess[] = [];
  const per = Math.ceil(SUBSCRIBERS / CLIENTS);
  try {
    for (let k = 0; k < CLIENTS; k++) {
      const c = child(
        path.join(here, 'fanout-client.ts'),
        [],
        { ...process.env },
        path.join(root, `${label}-client-${k}.log`),
      );
      clients.push(c);
    }
    await Promise.all(clients.map((c, k) => next<FromClient, 'ready'>(c, 'ready', `client ${k}`)));
    for (const c of clients) {
      c.send({ type: 'records', r: records.all } satisfies ToClient);
      records.sinks.add(c);
    }
    // One client process after the other, the server's memory read after each: the slope of
    // memory over connections, besides (after - before) / connections.
    const conns: Extract<FromClient, { type: 'connected' }>[] = [];
    const steps: { open: number; rss: number }[] = [{ open: 0, rss: live(memBefore) }];
    for (let k = 0; k < clients.length; k++) {
      const c = clients[k]!;
      const firstConn = k * per;
      const count = Math.max(0, Math.min(per, SUBSCRIBERS - firstConn));
      const reply = next<FromClient, 'connected'>(c, 'connected', `client ${k}`);
      c.send({ type: 'connect', port, first: firstConn, count, concurrency: CONCURRENCY } satisfies ToClient);
      conns.push(await reply);
      await sleep(1000);
      steps.push({ open: conns.reduce((a, x) => a + x.open, 0), rss: live(await memMedian(server)) });
    }
    const open = conns.reduce((s, c) => s + c.open, 0);
    const failed = conns.reduce((s, c) => s + c.failed, 0);
    const connectSeconds = conns.reduce((a, c) => a + c.seconds, 0);
    console.log(
      `${label}: ${fmt(open)} connections open in ${connectSeconds.toFixed(1)} s (${fmt(failed)} failed)` +
        (failed > 0
          ? `: ${conns
              .flatMap((c) => c.errors)
              .slice(0, 3)
              .join('; ')}`
          : ''),
    );
    await sleep(WARMUP * 1000);
    const memAfter = await memMedian(server);
    const { from, to } = await startWindow();
    for (const c of clients) c.send({ type: 'window', from, to } satisfies ToClient);
    await sleepUntil(from);
    server.send({ type: 'mark' } satisfies ToServer);
    coreProcess?.send({ type: 'mark' } satisfies ToServer);
    const s0 = cpuSeconds(server.pid);
    const t0 = threadCpu(server.pid);
    const k0 = cpuSeconds(coreProcess?.pid);
    const kt0 = threadCpu(coreProcess?.pid);
    const c0 = clients.reduce((s, c) => s + cpuSeconds(c.pid), 0);
    await sleepUntil(to);
    const serverCpu = (cpuSeconds(server.pid) - s0) / SECONDS;
    const threads = threadShares(server.pid, t0, threadCpu(server.pid), SECONDS);
    const coreCpu = coreProcess === undefined ? null : (cpuSeconds(coreProcess.pid) - k0) / SECONDS;
    const coreThreads =
      coreProcess === undefined
        ? null
        : threadShares(coreProcess.pid, kt0, threadCpu(coreProcess.pid), SECONDS);
    const clientCpu = (clients.reduce((s, c) => s + cpuSeconds(c.pid), 0) - c0) / SECONDS;
    const loadAvg = os.loadavg()[0]!;
    const eldReply = next<FromServer, 'eld'>(server, 'eld', 'server');
    server.send({ type: 'eld' } satisfies ToServer);
    const eld = await eldReply;
    const publishedPerStream = STREAMS.map(() => 0);
    const subs = subscribersPerStream(SUBSCRIBERS);
    const expected = KINDS.map(() => 0);
    // Drain: until every client has what was published in the window, or nothing more comes.
    const drainStart = performance.now();
    let seen = -1;
    let stillSince = performance.now();
    for (;;) {
      await sleep(500);
      publishedPerStream.fill(0);
      for (let i = 0; i < records.all.length; i += RECORD_FIELDS) {
        const pub = records.all[i + 2]!;
        if (pub >= from && pub < to) publishedPerStream[records.all[i]!]!++;
      }
      const want = publishedPerStream.reduce((a, n, st) => a + n * subs[st]!, 0);
      const got = (
        await Promise.all(
          clients.map((c, k) => {
            const r = next<FromClient, 'progress'>(c, 'progress', `client ${k}`);
            c.send({ type: 'progress' } satisfies ToClient);
            return r;
          }),
        )
      ).reduce((a, r) => a + r.received, 0);
      const waited = (performance.now() - drainStart) / 1000;
      if (got !== seen) {
        seen = got;
        stillSince = performance.now();
      }
      if (waited >= DRAIN && (got >= want || performance.now() - stillSince > 3000)) break;
      if (waited > 120) break;
    }
    const drained = (performance.now() - drainStart) / 1000;
    const results = await Promise.all(
      clients.map((c, k) => {
        const r = next<FromClient, 'result'>(c, 'result', `client ${k}`);
        c.send({ type: 'finish' } satisfies ToClient);
        return r;
      }),
    );
    const memEnd = await mem(server);
    await beforeClose();
    publishedPerStream.forEach((n, s) => {
      expected[s % STREAMS_PER_SYMBOL]! += n * subs[s]!;
    });
    return {
      label,
      open,
      failed,
      connectSeconds,
      connectErrors: conns.flatMap((c) => c.errors),
      expected,
      ...merge(results),
      serverCpu,
      clientCpu,
      memBefore,
      memAfter,
      memEnd,
      publishedPerStream,
      loadAvg,
      eld,
      drained,
      threads,
      coreCpu,
      coreThreads,
      slope: slope(steps),
      steps,
    };
  } finally {
    for (const c of clients) {
      records.sinks.delete(c);
      if (c.connected) c.send({ type: 'close' } satisfies ToClient);
    }
    await Promise.all(clients.map((c) => stop(c, 5000)));
  }
}

/** Least-squares slope of rss over open. */
function slope(points: { open: number; rss: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.open, 0) / n;
  const my = points.reduce((a, p) => a + p.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.open - mx) * (p.rss - my);
    den += (p.open - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function merge(
  results: ClientResult[],
): Pick<
  Outcome,
  | 'received'
  | 'inOrder'
  | 'bytes'
  | 'all'
  | 'kinds'
  | 'fromPublish'
  | 'unmatched'
  | 'unmatchedSamples'
  | 'negative'
  | 'dropped'
  | 'closeCodes'
> {
  const build = () =>
    hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
    });
  const all = build();
  const kinds = KINDS.map(build);
  const fromPublish = build();
  const received = KINDS.map(() => 0);
  const inOrder = KINDS.map(() => 0);
  let bytes = 0;
  let unmatched = 0;
  const unmatchedSamples: string[] = [];
  let negative = 0;
  let dropped = 0;
  const closeCodes: Record<string, number> = {};
  for (const r of results) {
    r.histograms.forEach((b64, k) => {
      const h = hdr.decodeFromCompressedBase64(b64);
      kinds[k]!.add(h);
      all.add(h);
      h.destroy();
    });
    const h = hdr.decodeFromCompressedBase64(r.fromPublish);
    fromPublish.add(h);
    h.destroy();
    r.received.forEach((n, k) => {
      received[k]! += n;
    });
    r.inOrder.forEach((n, k) => {
      inOrder[k]! += n;
    });
    bytes += r.bytes;
    unmatched += r.unmatched;
    unmatchedSamples.push(...r.unmatchedSamples);
    negative += r.negative;
    dropped += r.closed;
    for (const [code, n] of Object.entries(r.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
  }
  return {
    received,
    inOrder,
    bytes,
    all,
    kinds,
    fromPublish,
    unmatched,
    unmatchedSamples: unmatchedSamples.slice(0, 5),
    negative,
    dropped,
    closeCodes,
  };
}

/** Relays a server's records to the driver's list and to every client process listening. */
function relay(server: ChildProcess): { all: number[]; sinks: Set<ChildProcess> } {
  const out = { all: [] as number[], sinks: new Set<ChildProcess>() };
  server.on('message', (m: FromServer) => {
    if (m.type !== 'records') return;
    for (const v of m.r) out.all.push(v);
    for (const c of out.sinks) if (c.connected) c.send(m);
  });
  return out;
}

// --- the two servers ------------------------------------------------------------------------------

interface PlatformRun {
  readonly outcome: Outcome;
  /** The window's schedule with its lead-in: offset from its start (µs), stream, payload bytes. */
  readonly schedule: number[];
  readonly stats: Record<string, unknown>;
  readonly loadOnlyCpu: number;
  readonly tradesPerSec: number;
  readonly payloadMean: number[];
  readonly window: { readonly from: number; readonly to: number };
  /** The core's process's threads' CPU with the load and no clients. */
  readonly loadOnlyThreads: string;
  /** Split: the gateway's CPU with the load and no clients. */
  readonly loadOnlyGatewayCpu: number | null;
  /** The platform's processes (for their CPU profiles): pid, what it runs. */
  readonly pids: [number, string][];
  /** Trades: core release -> bus publish (µs). */
  readonly builderMicros: { readonly p50: number; readonly p99: number; readonly max: number };
}

async function runPlatform(root: string): Promise<PlatformRun> {
  const dataDir = path.join(root, 'platform');
  fs.mkdirSync(dataDir);
  const markets = path.join(root, 'markets.json');
  fs.writeFileSync(markets, JSON.stringify(marketsFile(), null, 2));
  const prefix = `fanout-bench-${process.pid}-${randomBytes(4).toString('hex')}:`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CROSSBOOK_') && k !== 'CROSSBOOK_FSYNC') delete env[k];
  delete env.DATABASE_URL;
  Object.assign(env, {
    CROSSBOOK_DATA_DIR: dataDir,
    CROSSBOOK_MARKETS_FILE: markets,
    CROSSBOOK_BUS_PREFIX: prefix,
    REDIS_URL,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_HEALTH_PORT: '0',
    CROSSBOOK_ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'warn',
  });
  if (DATABASE === 'postgres') env.DATABASE_URL = await freshDatabase(PG_URL, PG_DB);
  const nodeArgs = ['--expose-gc'];
  if (PROFILE_DIR !== undefined) {
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  }
  const t0 = performance.now();
  const split = TOPOLOGY === 'split';
  // The core's process (split: core and persister; one: every role), then, split, the gateway's.
  const core = child(
    path.join(here, 'fanout-platform.ts'),
    nodeArgs,
    split
      ? { ...env, CROSSBOOK_ROLES: 'core,persister', FANOUT_ROLE: 'core' }
      : { ...env, FANOUT_ROLE: 'all' },
    path.join(root, split ? 'core.log' : 'platform.log'),
  );
  const records = relay(core);
  let gateway: ChildProcess | undefined;
  try {
    const { port: corePort } = await next<FromServer, 'ready'>(core, 'ready', split ? 'core' : 'platform');
    let port = corePort;
    if (split) {
      const gatewayDir = path.join(root, 'gateway');
      fs.mkdirSync(gatewayDir);
      gateway = child(
        path.join(here, 'fanout-platform.ts'),
        nodeArgs,
        {
          ...env,
          CROSSBOOK_ROLES: 'gateway',
          FANOUT_ROLE: 'gateway',
          CROSSBOOK_CORE_ADDRESSES: `127.0.0.1:${corePort}`,
          CROSSBOOK_DATA_DIR: gatewayDir,
        },
        path.join(root, 'gateway.log'),
      );
      // The core's publish records, for the Redis hop the gateway times.
      records.sinks.add(gateway);
      port = (await next<FromServer, 'ready'>(gateway, 'ready', 'gateway')).port;
    }
    /** The process serving the WebSocket clients. */
    const server = gateway ?? core;
    console.log(
      split
        ? `platform: core pid ${core.pid} (link port ${corePort}), gateway pid ${server.pid} (port ${port}), ` +
            `started with users and ladders in ${((performance.now() - t0) / 1000).toFixed(1)} s; bus prefix ${prefix}`
        : `platform: pid ${server.pid}, port ${port}, started with users and ladders in ${((performance.now() - t0) / 1000).toFixed(1)} s; bus prefix ${prefix}`,
    );
    core.send({ type: 'load', tradesPerSec: TRADES_PER_SEC } satisfies ToServer);
    await sleep(WARMUP * 1000);
    const l0 = cpuSeconds(core.pid);
    const lt0 = threadCpu(core.pid);
    const g0 = cpuSeconds(gateway?.pid);
    await sleep(3000);
    const loadOnlyCpu = (cpuSeconds(core.pid) - l0) / 3;
    const loadOnlyThreads = threadShares(core.pid, lt0, threadCpu(core.pid), 3);
    const loadOnlyGatewayCpu = gateway === undefined ? null : (cpuSeconds(gateway.pid) - g0) / 3;
    let window = { from: 0, to: 0 };
    let stats: Record<string, unknown> = {};
    const askStats = async (c: ChildProcess, what: string) => {
      const reply = next<FromServer, 'stats'>(c, 'stats', what);
      c.send({ type: 'stats' } satisfies ToServer);
      return (await reply).stats;
    };
    const outcome = await measure(
      'platform',
      server,
      port,
      records,
      root,
      async () => {
        const from = monoMicros() + 500_000;
        window = { from, to: from + SECONDS * 1e6 };
        return window;
      },
      async () => {
        // The counters while the clients are still connected: the gateway's streams and
        // Redis hop, the core's load, builder and publishing bus.
        const first = await askStats(core, split ? 'core' : 'platform');
        if (gateway === undefined) stats = first;
        else {
          const g = await askStats(gateway, 'gateway');
          stats = {
            ...first,
            streams: g.streams,
            redisHopMicros: g.redisHopMicros,
            gatewayBus: g.bus,
            gatewayBusStatus: g.busStatus,
          };
        }
      },
      gateway === undefined ? undefined : core,
    );
    core.send({ type: 'stop-load' } satisfies ToServer);
    // The schedule: the window and LEAD seconds before it.
    const base = window.from - LEAD * 1e6;
    const entries: [number, number, number][] = [];
    const sizes = KINDS.map(() => ({ n: 0, bytes: 0 }));
    let trades = 0;
    for (let i = 0; i < records.all.length; i += RECORD_FIELDS) {
      const [s, , pub, , bytes] = records.all.slice(i, i + RECORD_FIELDS) as [
        number,
        number,
        number,
        number,
        number,
      ];
      if (pub < base || pub >= window.to) continue;
      entries.push([pub - base, s, bytes]);
      if (pub >= window.from) {
        const k = s % STREAMS_PER_SYMBOL;
        sizes[k]!.n++;
        sizes[k]!.bytes += combinedBytes(s, bytes);
        if (k === KIND_TRADE) trades++;
      }
    }
    entries.sort((a, b) => a[0] - b[0]);
    // Trades: from the core's release to the bus publish (the builder), over the window.
    const builder = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
    });
    for (let i = 0; i < records.all.length; i += RECORD_FIELDS) {
      const s = records.all[i]!;
      const pub = records.all[i + 2]!;
      if (s % STREAMS_PER_SYMBOL !== KIND_TRADE || pub < window.from || pub >= window.to) continue;
      builder.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(pub - records.all[i + 3]!))));
    }
    const builderMicros = {
      p50: builder.getValueAtPercentile(50),
      p99: builder.getValueAtPercentile(99),
      max: builder.maxValue,
    };
    builder.destroy();
    return {
      outcome,
      schedule: entries.flat(),
      stats,
      loadOnlyCpu,
      tradesPerSec: trades / SECONDS,
      payloadMean: sizes.map((x) => (x.n === 0 ? 0 : x.bytes / x.n)),
      window,
      loadOnlyThreads,
      loadOnlyGatewayCpu,
      builderMicros,
      pids: (gateway === undefined
        ? [[core.pid, 'platform']]
        : [
            [core.pid, 'core'],
            [gateway.pid, 'gateway'],
          ]) as [number, string][],
    };
  } finally {
    if (gateway !== undefined) await stop(gateway);
    await stop(core);
    await cleanRedis(prefix);
    if (DATABASE === 'postgres') await dropDatabase(PG_URL, PG_DB);
  }
}

async function runFloor(root: string, schedule: number[]): Promise<Outcome> {
  const server = child(
    path.join(here, 'fanout-floor.ts'),
    ['--expose-gc'],
    { ...process.env },
    path.join(root, 'floor.log'),
  );
  const records = relay(server);
  try {
    const { port } = await next<FromServer, 'ready'>(server, 'ready', 'floor');
    let replayed: Promise<Extract<FromServer, { type: 'replayed' }>> | undefined;
    const outcome = await measure('floor', server, port, records, root, async () => {
      const startAt = monoMicros() + 500_000;
      replayed = next<FromServer, 'replayed'>(server, 'replayed', 'floor', (LEAD + SECONDS + 600) * 1000);
      server.send({ type: 'replay', startAt, entries: schedule } satisfies ToServer);
      const from = startAt + LEAD * 1e6;
      return { from, to: from + SECONDS * 1e6 };
    });
    const r = await replayed;
    if (r !== undefined)
      console.log(
        `floor: replayed ${fmt(r.published)} messages, at most ${fmt(ms(r.lateMicros), 1)} ms behind schedule`,
      );
    return outcome;
  } finally {
    await stop(server);
  }
}

async function cleanRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    console.log(`redis: deleted ${fmt(deleted)} keys under ${prefix}`);
  } catch (e) {
    console.log(`redis: could not delete the keys under ${prefix}: ${(e as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

// --- report ---------------------------------------------------------------------------------------

const sum = (a: number[]): number => a.reduce((s, x) => s + x, 0);

function row(
  o: Outcome,
  h: hdr.Histogram,
  what: string,
  received: number,
  expected: number,
  inOrder: number,
): string {
  return (
    `${o.label.padEnd(8)} | ${what.padEnd(11)} | ${fmt(expected).padStart(11)} | ${fmt(received).padStart(11)} | ` +
    `${(expected === 0 ? 0 : inOrder / expected).toFixed(6).padStart(9)} | ${fmt(received / SECONDS).padStart(9)} | ` +
    `${fmt(ms(h.getValueAtPercentile(50)), 2).padStart(8)} | ${fmt(ms(h.getValueAtPercentile(90)), 2).padStart(8)} | ` +
    `${fmt(ms(h.getValueAtPercentile(99)), 2).padStart(8)} | ${fmt(ms(h.getValueAtPercentile(99.9)), 2).padStart(8)} | ` +
    `${fmt(ms(h.maxValue), 2).padStart(8)}`
  );
}

/** Messages published per stream per second in the window, per kind. */
function perStreamRates(o: Outcome): string {
  return KINDS.map((_, k) => {
    const xs = o.publishedPerStream.filter((_, st) => st % STREAMS_PER_SYMBOL === k);
    return fmt(sum(xs) / xs.length / SECONDS, 1);
  }).join('/');
}

function table(outcomes: Outcome[]): void {
  console.log('');
  console.log(
    'run      | stream      |    expected |    received | in order  |   msgs/s  |  p50 ms  |  p90 ms  |  p99 ms  | p99.9 ms |  max ms',
  );
  for (const o of outcomes) {
    KINDS.forEach((k, i) => {
      console.log(row(o, o.kinds[i]!, k, o.received[i]!, o.expected[i]!, o.inOrder[i]!));
    });
    console.log(row(o, o.all, 'all', sum(o.received), sum(o.expected), sum(o.inOrder)));
    // From the actual publish: on the platform, the bus publish; on the floor, the moment
    // its timer published (the rows above measure from when it was due).
    console.log(
      row(
        o,
        o.fromPublish,
        o.label === 'platform' ? 'after bus' : 'after pub',
        sum(o.received),
        sum(o.expected),
        sum(o.inOrder),
      ),
    );
  }
  console.log('');
  console.log(
    'run      | connections | dropped | server CPU | clients CPU | RSS before -> after (MB) | RSS/conn | live/conn | slope/conn | heap/conn | RSS at end (MB) | loop delay p50/p99/max ms | msgs/stream/s depth/trade/ticker | load',
  );
  for (const o of outcomes) {
    const n = Math.max(1, o.open);
    console.log(
      `${o.label.padEnd(8)} | ${fmt(o.open).padStart(11)} | ${fmt(o.dropped).padStart(7)} | ${(o.serverCpu * 100).toFixed(0).padStart(9)}% | ` +
        `${(o.clientCpu * 100).toFixed(0).padStart(10)}% | ${`${fmt(o.memBefore.rss / 1e6, 1)} -> ${fmt(o.memAfter.rss / 1e6, 1)}`.padStart(24)} | ` +
        `${fmt((o.memAfter.rss - o.memBefore.rss) / n).padStart(8)} | ${fmt((live(o.memAfter) - live(o.memBefore)) / n).padStart(9)} | ${fmt(o.slope).padStart(10)} | ${fmt((o.memAfter.heapUsed - o.memBefore.heapUsed) / n).padStart(9)} | ` +
        `${fmt(o.memEnd.rss / 1e6, 1).padStart(15)} | ${`${fmt(o.eld.p50, 1)}/${fmt(o.eld.p99, 1)}/${fmt(o.eld.max, 1)}`.padStart(24)} | ` +
        `${perStreamRates(o).padStart(33)} | ${o.loadAvg.toFixed(1)}`,
    );
  }
}

/** What a profiled function is part of, by its script. */
function category(url: string, name: string): string {
  if (name === '(idle)' || name === '(garbage collector)' || name === '(program)') return name;
  if (url.includes('@electric-sql/pglite') || url.startsWith('wasm://'))
    return 'PGlite (accounts database, persister)';
  if (url.includes('/ioredis/') || url.includes('/redis-parser/') || url.includes('/denque/'))
    return 'ioredis (bus client)';
  if (url.includes('/gateway/market-data/bus/')) return 'bus adapter';
  if (url.includes('/gateway/market-data/ws/')) return 'market streams (fan-out)';
  if (url.includes('/gateway/market-data/')) return 'market data builder and publisher';
  if (url.includes('/engine/')) return 'core (main thread)';
  if (url.includes('/accounts/')) return 'accounts (persister)';
  if (url.includes('/gateway/')) return 'gateway (other)';
  if (url.includes('/platform/')) return 'platform';
  if (url.includes('/bench/')) return 'benchmark hooks and load';
  if (url.includes('/node_modules/'))
    return `other packages (${url.replace(/^.*\/node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')})`;
  if (url.startsWith('node:')) return 'Node internals';
  return 'native (uWS, syscalls, builtins)';
}

/**
 * The main thread's CPU profile (thread 0 of the platform process), restricted to the window
 * (profile timestamps are CLOCK_MONOTONIC µs, as ours): self time per part and per function.
 */
function topFunctions(dir: string, window: { from: number; to: number }, pid: number, what: string): void {
  const file = fs
    .readdirSync(dir)
    .filter((f) => new RegExp(`^CPU\\.\\d+\\.\\d+\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(f))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (file === undefined) return;
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Node[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const parts = new Map<string, number>();
  let total = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < window.from || t >= window.to) return;
    const n = byId.get(id);
    if (n === undefined) return;
    total++;
    const f = n.callFrame;
    const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|main)\//, '')}:${f.lineNumber + 1}`;
    self.set(where, (self.get(where) ?? 0) + 1);
    const c = category(f.url, f.functionName);
    parts.set(c, (parts.get(c) ?? 0) + 1);
  });
  if (total === 0) return;
  console.log(
    `\n${what} main thread, CPU profile over the window (${fmt(total)} samples, ${path.basename(file)}): self time by part`,
  );
  for (const [c, n] of [...parts.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${c}`);
  console.log('top functions (self time):');
  for (const [where, n] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${where}`);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-fanout-bench-'));
  console.log(
    `fanout bench: ${fmt(SUBSCRIBERS)} connections x 3 streams over ${CLIENTS} client processes; ` +
      `${fmt(TRADES_PER_SEC)} trades/s over 10 symbols; ${WARMUP} s warm-ups, ${SECONDS} s window; bus ${REDIS_URL}; ` +
      `platform: ${TOPOLOGY === 'split' ? 'core and persister in one process, a gateway in another' : 'every role in one process'}, accounts on ${DATABASE}; logs in ${root}`,
  );
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} x ${os.availableParallelism()}, Node ${process.version}, ` +
      `load average ${os.loadavg()[0]!.toFixed(1)}, open files limit for the children ${HARD_NOFILE}`,
  );
  const p = await runPlatform(root);
  const outcomes = [p.outcome];
  const f = FLOOR ? await runFloor(root, p.schedule) : undefined;
  if (f !== undefined) outcomes.push(f);
  table(outcomes);

  const o = p.outcome;
  const streams = (p.stats.streams ?? {}) as Record<string, number>;
  const bus = (p.stats.bus ?? {}) as Record<string, number>;
  const load = (p.stats.load ?? {}) as Record<string, number>;
  console.log('');
  console.log(
    `platform: ${fmt(p.tradesPerSec, 1)} trades/s in the window (${fmt(load.commands ?? 0)} commands, ${fmt(load.rejected ?? 0)} rejected, ` +
      `${fmt(load.failed ?? 0)} failed${(p.stats.load as { samples?: string[] } | undefined)?.samples?.length ? `: ${(p.stats.load as { samples: string[] }).samples.slice(0, 2).join('; ')}` : ''}); CPU with the load and no clients ${(p.loadOnlyCpu * 100).toFixed(0)}%; ` +
      `mean frame bytes depth/trade/ticker ${p.payloadMean.map((b) => fmt(b)).join('/')}`,
  );
  console.log(
    `gateway streams: ${fmt(streams.connections ?? 0)} connections, ${fmt(streams.subscriptions ?? 0)} subscriptions, ` +
      `${fmt(streams.relayed ?? 0)} relayed, ${fmt(streams.published ?? 0)} topic publishes, ${fmt(streams.resyncs ?? 0)} resyncs, ` +
      `${fmt(streams.closedBackpressure ?? 0)} closed by backpressure; bus published ${fmt(bus.published ?? 0)}, dropped ${fmt(bus.dropped ?? 0)}, ` +
      `reconnects ${fmt(bus.reconnects ?? 0)}; market data fault ${String(p.stats.marketDataFault)}`,
  );
  const hop = (p.stats.redisHopMicros ?? { p50: 0, p99: 0, max: 0 }) as {
    p50: number;
    p99: number;
    max: number;
  };
  const split = (x: { p50: number; p99: number; max: number }) =>
    `${fmt(ms(x.p50), 2)}/${fmt(ms(x.p99), 2)}/${fmt(ms(x.max), 2)}`;
  console.log(
    `platform delay split, p50/p99/max ms: trade release -> bus publish (builder) ${split(p.builderMicros)}; ` +
      `bus publish -> gateway follower (Redis) ${split(hop)}; bus publish -> client ${split({
        p50: o.fromPublish.getValueAtPercentile(50),
        p99: o.fromPublish.getValueAtPercentile(99),
        max: o.fromPublish.maxValue,
      })}`,
  );
  console.log(
    `${TOPOLOGY === 'split' ? 'core' : 'platform'} threads, load and no clients: ${p.loadOnlyThreads}` +
      (p.loadOnlyGatewayCpu === null ? '' : `; gateway CPU ${(p.loadOnlyGatewayCpu * 100).toFixed(0)}%`),
  );
  if (o.coreCpu !== null)
    console.log(
      `core process over the window: CPU ${(o.coreCpu * 100).toFixed(0)}% (the table's server CPU is the gateway's); threads: ${o.coreThreads}`,
    );
  for (const x of outcomes)
    console.log(
      `${x.label} live memory (RSS less free V8 heap) while connecting (connections: MB): ${x.steps.map((st) => `${fmt(st.open)}: ${fmt(st.rss / 1e6, 1)}`).join(', ')}`,
    );
  for (const x of outcomes) console.log(`${x.label} threads over the window: ${x.threads}`);
  for (const x of outcomes) {
    if (x.unmatched > 0 || x.negative > 0 || x.failed > 0 || x.dropped > 0)
      console.log(
        `${x.label}: ${fmt(x.unmatched)} messages without a record, ${fmt(x.negative)} negative delays, ` +
          `${fmt(x.failed)} connections failed, ${fmt(x.dropped)} dropped ${JSON.stringify(x.closeCodes)}` +
          (x.unmatchedSamples.length > 0 ? `; without a record: ${x.unmatchedSamples.join(', ')}` : ''),
      );
  }
  const p99 = ms(o.all.getValueAtPercentile(99));
  const floorP99 = f === undefined ? null : ms(f.all.getValueAtPercentile(99));
  const delivered = sum(o.expected) === 0 ? 0 : sum(o.inOrder) / sum(o.expected);
  const perConn = (live(o.memAfter) - live(o.memBefore)) / Math.max(1, o.open);
  const rssPerConn = (o.memAfter.rss - o.memBefore.rss) / Math.max(1, o.open);
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  console.log(
    `targets: ${fmt(SUBSCRIBERS)} subscribers: ${fmt(o.open)} open, ${fmt(o.dropped)} dropped (${verdict(o.open >= 10_000 && o.dropped === 0)}); ` +
      `delivered in order ${delivered.toFixed(6)} (${verdict(delivered === 1)}); ` +
      `p99 ${fmt(p99, 2)} ms vs floor ${floorP99 === null ? 'not run' : `${fmt(floorP99, 2)} ms x 1.5 = ${fmt(floorP99 * 1.5, 2)} ms`} ` +
      `(${floorP99 === null ? 'not measured' : verdict(p99 <= floorP99 * 1.5)}); ` +
      `${fmt(perConn)} bytes of gateway memory per connection (RSS less free V8 heap; RSS alone ${fmt(rssPerConn)}) (${verdict(perConn < 20_000 && rssPerConn < 20_000)})`,
  );
  if (PROFILE_DIR !== undefined)
    for (const [pid, what] of p.pids) topFunctions(PROFILE_DIR, p.window, pid, what);
  fs.rmSync(root, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'fanout',
      subscribers: o.open,
      messagesPerSec: Math.round(sum(o.received) / SECONDS),
      deliveredFraction: Math.round(delivered * 1e6) / 1e6,
      p50Millis: ms(o.all.getValueAtPercentile(50)),
      p99Millis: p99,
      floorP99Millis: floorP99,
      bytesPerConnection: Math.round(perConn),
      rssBytesPerConnection: Math.round(rssPerConn),
      maxMillis: ms(o.all.maxValue),
      floorP50Millis: f === undefined ? null : ms(f.all.getValueAtPercentile(50)),
      floorFromPublishP99Millis: f === undefined ? null : ms(f.fromPublish.getValueAtPercentile(99)),
      floorMessagesPerSec: f === undefined ? null : Math.round(sum(f.received) / SECONDS),
      floorDeliveredFraction:
        f === undefined || sum(f.expected) === 0
          ? null
          : Math.round((sum(f.inOrder) / sum(f.expected)) * 1e6) / 1e6,
      tradeP99Millis: ms(o.kinds[KIND_TRADE]!.getValueAtPercentile(99)),
      tradesPerSec: Math.round(p.tradesPerSec),
      gatewayRssMb: Math.round(o.memAfter.rss / 1e5) / 10,
      bytesPerConnectionSlope: Math.round(o.slope),
      heapBytesPerConnection: Math.round((o.memAfter.heapUsed - o.memBefore.heapUsed) / Math.max(1, o.open)),
      floorBytesPerConnection:
        f === undefined ? null : Math.round((live(f.memAfter) - live(f.memBefore)) / Math.max(1, f.open)),
      topology: TOPOLOGY,
      cpu: Math.round(o.serverCpu * 1000) / 1000,
      coreCpu: o.coreCpu === null ? null : Math.round(o.coreCpu * 1000) / 1000,
      clientCpu: Math.round(o.clientCpu * 1000) / 1000,
      floorCpu: f === undefined ? null : Math.round(f.serverCpu * 1000) / 1000,
      droppedConnections: o.dropped + o.failed,
      database: DATABASE,
      clientProcesses: CLIENTS,
      seconds: SECONDS,
    }),
  );
}

await main();
