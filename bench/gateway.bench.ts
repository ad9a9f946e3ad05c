/**
 * npm run bench:gateway — signed order placement and cancel over HTTP keep-alive (pipelined
 * when a shape asks for it), from load processes separate from the server, against the one-process platform
 * (`platform/main.ts` on embedded defaults: PGlite, journal with fdatasync, persister, core,
 * gateway), with two floors measured in the same run by the same load generator:
 *
 *   1. fdatasync: 4 KiB write + fdatasync in a loop on a file in the run's data directory;
 *   2. hello-world: a bare uWebSockets.js server (gateway-hello.ts) answering a small JSON body
 *      to the same signed requests, same processes, connections and pipelining;
 *   3. gateway: the platform in a child process (so that its CPU is its own: utime + stime from
 *      /proc/<pid>/stat over the measured window), users created through the admin API
 *      (POST /admin/v1/users, each with an HMAC API key and deposits), then the load processes
 *      (gateway-load.ts) alternate POST /api/v3/order (LIMIT GTC, ACK, resting without
 *      crossing) and DELETE /api/v3/order of that order; both count as orders.
 *
 * Rate limits: the platform enforces Binance's limits and offers no setting to raise them
 * (platform.ts starts the gateway with DEFAULT_RATE_LIMITS), so the load is spread as real
 * load is: every account stays under 100 new orders per 10 s (a budget in the load process,
 * 90 by default) and every account sends from its own address in X-Forwarded-For, which the
 * platform believes with CROSSBOOK_TRUST_PROXY=true (one proxy hop), so no address nears 6,000
 * request weight per minute. Any non-2xx reply is an error and is reported (0 expected).
 *
 * Settings (flag, else environment variable, else default):
 *   --seconds N        BENCH_SECONDS          measured seconds per run (15)
 *   --warmup N         BENCH_WARMUP_SECONDS   warm-up seconds before measuring (3)
 *   --configs LIST     BENCH_CONFIGS          load shapes to run, each PxCxD: P load processes,
 *                                             C keep-alive connections per process, D requests
 *                                             pipelined per connection (2x32x1,2x64x1). Comma-separated:
 *                                             each shape runs against the hello-world server and
 *                                             the platform (the same platform and accounts); the
 *                                             JSON line reports the shape with the most orders/s,
 *                                             and as helloWorldRps the best hello-world rate of
 *                                             any shape (the floor; the same shape's is also given)
 *   --users N          BENCH_USERS            accounts created (1200: 21,600 orders/s at 90 per 10 s)
 *   --budget N         BENCH_ORDERS_PER_10S   new orders per account per 10 s window (90; the limit is 100)
 *   --fsync-seconds N  BENCH_FSYNC_SECONDS    fdatasync loop length (3)
 *   --database D       BENCH_DATABASE         pglite (default) | postgres: a database of its own,
 *                      `bench_gateway`, dropped and created on BENCH_PG_URL's server
 *                      (default postgres://postgres@127.0.0.1:5432/postgres)
 *   --hello on|off     BENCH_HELLO            run the hello-world floor (on)
 *   --profile DIR      BENCH_PROFILE_DIR      run the platform under --cpu-prof, profiles into DIR
 *   --client C         BENCH_CLIENT           the load processes' HTTP client: raw (default; the
 *                                             project's lean keep-alive client, http1-client.ts)
 *                                             or undici (its Pool)
 *   --node-flags=F     BENCH_NODE_FLAGS       node flags for the platform after the start script's
 *                                             (with "=": --node-flags="--trace-gc-nvp --max-semi-space-size=64")
 *   --keep on|off      BENCH_KEEP             keep the run's data directory (the servers' logs:
 *                                             platform.log, hello.log) instead of removing it (off)
 *   --baseline DIR     BENCH_BASELINE         another checkout of this repository (with its
 *                                             node_modules, e.g. a `git worktree` of the commit
 *                                             before a change): its platform runs beside this one
 *                                             (its own data directory and database, its own
 *                                             start flags), both get the accounts, and every shape
 *                                             alternates between the two, ABBA over the rounds, so
 *                                             that the machine's drift (here ±30% over minutes)
 *                                             falls on both alike; the ratios per pair are printed
 *   --rounds N         BENCH_ROUNDS           runs of every shape on each platform (1; 3 with
 *                                             --baseline)
 *   --env K=V,...      BENCH_PLATFORM_ENV     CROSSBOOK_* settings for the platform, e.g.
 *                                             --env CROSSBOOK_PERSISTER_THREAD=false
 *   --baseline-env K=V,... BENCH_BASELINE_ENV the same for the baseline's platform: with
 *                                             --baseline . the two differ only in these settings
 *   CROSSBOOK_FSYNC is passed to the platform (default true: the journal fdatasyncs).
 *
 * HTTP pipelining (D > 1) is measured as asked, but the gateway cannot serve it: uWebSockets.js
 * closes a connection when a request arrives pipelined behind a reply still pending (async
 * handlers; "async pipelining is not supported", uWebSockets.js issue #277), so such shapes
 * report transport errors. The default shapes get their concurrency from connections instead.
 *
 * CPU, from /proc over the measured window: the server process (all threads), its main thread
 * alone (the gateway, the core's sequencer and risk, the persister with PGlite: the thread that
 * sets the pace), each also per request; with --database postgres, every `postgres` process on
 * this machine (backends, WAL writer, checkpointer: run nothing else on the server meanwhile);
 * the load processes. "main waits": the share of the window the main thread was runnable but
 * waiting for a CPU (its schedstat run-queue time): on two cores shared with the load, the pace
 * is set by this as much as by the thread's own CPU time. "other thread": the busiest of the
 * server's other threads (the persister's with --database postgres, a shard, the journal writer
 * or a collector helper).
 *
 * The ratio target's CPU budget: at half the hello-world rate, what the machine's cores leave
 * per order for the server and the database together once the load has taken its share (at
 * least what it spent per hello-world request), against what they took (`ratioBudget`).
 *
 * The table goes to stdout, then one JSON line (the last line):
 * {"bench":"gateway","ordersPerSec":N,"p50Millis":N,"p99Millis":N,"p999Millis":N,"helloWorldRps":N,"fsyncP99Millis":N,...}
 */

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { serverClockOffset } from './gateway-clock.ts';
import {
  LOAD_CLIENTS,
  type LoadClient,
  type LoadMessage,
  type LoadResult,
  type LoadRun,
  type LoadUser,
} from './gateway-protocol.ts';
import { fdatasyncLatency } from './measure.ts';
import { freshDatabase } from './postgres-db.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    configs: { type: 'string' },
    users: { type: 'string' },
    budget: { type: 'string' },
    'fsync-seconds': { type: 'string' },
    database: { type: 'string' },
    hello: { type: 'string' },
    profile: { type: 'string' },
    client: { type: 'string' },
    'node-flags': { type: 'string' },
    keep: { type: 'string' },
    baseline: { type: 'string' },
    rounds: { type: 'string' },
    env: { type: 'string' },
    'baseline-env': { type: 'string' },
  },
});

function setting(flag: string | undefined, env: string, fallback: number, min: number): number {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${env} / flag: ${raw} must be a number >= ${min}`);
  return n;
}

const SECONDS = setting(args.seconds, 'BENCH_SECONDS', 15, 1);
const WARMUP = setting(args.warmup, 'BENCH_WARMUP_SECONDS', 3, 0);
/** A load shape: processes x connections per process x pipelining depth. */
interface Shape {
  readonly processes: number;
  readonly connections: number;
  readonly pipelining: number;
  readonly name: string;
}
const SHAPES: readonly Shape[] = (args.configs ?? process.env.BENCH_CONFIGS ?? '2x32x1,2x64x1')
  .split(',')
  .map((t) => {
    const m = /^\s*(\d+)x(\d+)(?:x(\d+))?\s*$/.exec(t);
    if (m === null) throw new Error(`BENCH_CONFIGS: "${t}" is not PxC or PxCxD (e.g. 2x32x1)`);
    const [processes, connections, pipelining] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 1)];
    if (processes < 1 || connections < 1 || pipelining < 1)
      throw new Error(`BENCH_CONFIGS: "${t}" has a zero`);
    return { processes, connections, pipelining, name: `${processes}x${connections}x${pipelining}` };
  });
const USERS = Math.floor(setting(args.users, 'BENCH_USERS', 1200, 1));
const BUDGET = Math.floor(setting(args.budget, 'BENCH_ORDERS_PER_10S', 90, 1));
const FSYNC_SECONDS = setting(args['fsync-seconds'], 'BENCH_FSYNC_SECONDS', 3, 0);
const DATABASE = args.database ?? process.env.BENCH_DATABASE ?? 'pglite';
const HELLO = (args.hello ?? process.env.BENCH_HELLO ?? 'on') !== 'off';
const PROFILE_DIR = args.profile ?? process.env.BENCH_PROFILE_DIR;
const CLIENT = (args.client ?? process.env.BENCH_CLIENT ?? 'raw') as LoadClient;
if (!LOAD_CLIENTS.includes(CLIENT)) throw new Error(`BENCH_CLIENT=${CLIENT}: ${LOAD_CLIENTS.join(' or ')}`);
/** Extra node flags for the platform (split on whitespace; none by default). */
const NODE_FLAGS = (args['node-flags'] ?? process.env.BENCH_NODE_FLAGS ?? '')
  .split(/\s+/)
  .filter((f) => f !== '');
for (const f of NODE_FLAGS)
  if (!f.startsWith('-')) throw new Error(`BENCH_NODE_FLAGS: "${f}" is not a flag (flags start with -)`);
const KEEP = (args.keep ?? process.env.BENCH_KEEP ?? 'off') === 'on';
/** The checkout whose platform runs beside this one, alternating (absent: none). */
const BASELINE = (() => {
  const dir = args.baseline ?? process.env.BENCH_BASELINE;
  if (dir === undefined || dir === '') return undefined;
  const resolved = path.resolve(dir);
  if (
    !fs.existsSync(path.join(resolved, 'platform', 'main.ts')) ||
    !fs.existsSync(path.join(resolved, 'node_modules'))
  )
    throw new Error(`BENCH_BASELINE=${dir}: not a checkout of this repository with its node_modules`);
  return resolved;
})();
/** CROSSBOOK_* settings given to a platform ("K=V,K=V"). */
function platformEnv(text: string | undefined, what: string): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  // A comma separates settings only before the next CROSSBOOK_ name: values may hold commas.
  for (const part of (text ?? '').split(/,(?=\s*CROSSBOOK_)/)) {
    if (part.trim() === '') continue;
    const m = /^\s*(CROSSBOOK_[A-Z0-9_]+)=(.*?)\s*$/.exec(part);
    if (m === null) throw new Error(`${what}: "${part}" is not CROSSBOOK_NAME=value`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
const PLATFORM_ENV = platformEnv(args.env ?? process.env.BENCH_PLATFORM_ENV, 'BENCH_PLATFORM_ENV');
const BASELINE_ENV = platformEnv(
  args['baseline-env'] ?? process.env.BENCH_BASELINE_ENV,
  'BENCH_BASELINE_ENV',
);
const ROUNDS = Math.floor(setting(args.rounds, 'BENCH_ROUNDS', BASELINE === undefined ? 1 : 3, 1));
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = 'bench_gateway';
const SYMBOL = 'BTCUSDT';
if (DATABASE !== 'pglite' && DATABASE !== 'postgres')
  throw new Error(`BENCH_DATABASE=${DATABASE}: pglite or postgres`);
if (SHAPES.some((c) => c.processes > USERS)) throw new Error('need at least one user per load process');

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime in seconds (/proc/<pid>/stat fields 14 and 15): of a process, all its threads,
 * or with `thread`, of that one thread (its main thread's id is the process id).
 */
function cpuSeconds(pid: number, thread?: number): number {
  try {
    const stat = fs.readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/**
 * Seconds a thread has spent runnable but waiting for a CPU (/proc/<pid>/task/<tid>/schedstat,
 * its second field, in ns); NaN where the kernel does not keep schedstats.
 */
/** CPU seconds of every thread of `pid` but its main thread, by thread id. */
function otherThreadsCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) if (Number(t) !== pid) out.set(Number(t), cpuSeconds(pid, Number(t)));
  return out;
}

function runQueueSeconds(pid: number, thread: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of every process named `postgres` on this machine, by pid (empty if none is readable). */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const cpu = cpuSeconds(Number(entry));
    if (Number.isFinite(cpu)) out.set(Number(entry), cpu);
  }
  return out;
}

/** The node flags of a checkout's package.json `start` script (`tsx <flags> platform/main.ts`). */
function startNodeFlags(dir: string): readonly string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  return pkg.scripts.start.split(/\s+/).filter((w) => w.startsWith('--'));
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const millis = (micros: number): number => Math.round(micros) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// ---------------------------------------------------------------------------------------------
// Children

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
}

/** Starts `node --import tsx <script>`; resolves with the port once a stdout line matches `ready`. */
async function startServer(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  logDir: string,
  nodeArgs: readonly string[] = [],
  cwd = repo,
): Promise<Server> {
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    let found = false;
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in 120 s (see ${logFile})`)),
      120_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (found) return;
      seen += chunk.toString('utf8');
      const m = ready.exec(seen);
      if (m !== null) {
        found = true;
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${name} exited with ${code} before it was ready (see ${logFile})`));
    });
  });
  return { child, port, logFile };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
async function stopServer(s: Server, graceMs = 60_000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadOutcome {
  readonly label: string;
  readonly shape: Shape;
  readonly requests: number;
  readonly places: number;
  readonly cancels: number;
  readonly perSec: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly errors: number;
  readonly errorsByStatus: Record<string, number>;
  readonly errorSamples: string[];
  readonly budgetWaits: number;
  /** CPU seconds / wall seconds over the measured window. */
  readonly serverCpu: number;
  /** The server's main thread alone (the gateway, the core's sequencer and risk, the persister with PGlite). */
  readonly mainThreadCpu: number;
  /** Share of the window its main thread was runnable but waiting for a CPU (NaN: not known). */
  readonly mainThreadWaiting: number;
  /** The busiest of its other threads (the persister's with --database postgres). */
  readonly otherThreadCpu: number;
  /** The local PostgreSQL server's processes, all of them (--database postgres; else null). */
  readonly databaseCpu: number | null;
  readonly loadCpu: number;
  readonly loadAvg: number;
  /** The server's clock minus this machine's wall clock (GET /api/v3/time), ms. */
  readonly clockOffsetMillis: number;
}

function ipOf(i: number): string {
  const n = i + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Forks the load processes, runs them against `origin`, merges what they measured. */
async function runLoad(
  label: string,
  shape: Shape,
  mode: LoadRun['mode'],
  origin: string,
  users: readonly LoadUser[],
  serverPid: number,
  measureDatabase = false,
): Promise<LoadOutcome> {
  const children: ChildProcess[] = [];
  const results: Promise<LoadResult>[] = [];
  const readies: Promise<void>[] = [];
  const { processes, connections, pipelining } = shape;
  for (let p = 0; p < processes; p++) {
    const child = fork(path.join(here, 'gateway-load.ts'), [], {
      cwd: repo,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    let onReady: () => void = () => {};
    readies.push(new Promise<void>((r) => (onReady = r)));
    results.push(
      new Promise<LoadResult>((resolve, reject) => {
        child.on('message', (m: LoadMessage) => {
          if (m.type === 'ready') onReady();
          else if (m.type === 'result') resolve(m);
        });
        child.once('exit', (code) => reject(new Error(`load process ${p} exited with ${code}`)));
      }),
    );
  }
  await Promise.all(readies);
  // Start on a fresh 10 s window of the server's clock: the order counts of an earlier run are over.
  const offset = mode === 'orders' ? await serverClockOffset(origin) : 0;
  const startAt =
    mode === 'orders'
      ? (Math.floor((Date.now() + offset) / 10_000) + 1) * 10_000 + 100 - offset
      : Date.now() + 300;
  const measureFrom = startAt + WARMUP * 1000;
  const measureTo = measureFrom + SECONDS * 1000;
  for (let p = 0; p < processes; p++) {
    const run: LoadRun = {
      type: 'run',
      mode,
      origin,
      users: users.filter((_, i) => i % processes === p),
      connections,
      pipelining,
      startAt,
      measureFrom,
      measureTo,
      ordersPer10s: BUDGET,
      symbol: SYMBOL,
      client: CLIENT,
    };
    children[p]!.send(run);
  }
  const loadCpu = () => children.reduce((s, c) => s + cpuSeconds(c.pid!), 0);
  await sleep(measureFrom - Date.now());
  const w0 = performance.now();
  const s0 = cpuSeconds(serverPid);
  const m0 = cpuSeconds(serverPid, serverPid);
  const q0 = runQueueSeconds(serverPid, serverPid);
  const t0 = otherThreadsCpu(serverPid);
  // The database server's processes (a local server): backends, WAL writer, checkpointer,
  // autovacuum. One that starts within the window counts from its start, one that ends is left out.
  const d0 = measureDatabase ? postgresCpu() : new Map<number, number>();
  const l0 = loadCpu();
  await sleep(measureTo - Date.now());
  const wall = (performance.now() - w0) / 1000;
  const serverCpu = (cpuSeconds(serverPid) - s0) / wall;
  const mainThreadCpu = (cpuSeconds(serverPid, serverPid) - m0) / wall;
  const mainThreadWaiting = (runQueueSeconds(serverPid, serverPid) - q0) / wall;
  let otherThreadCpu = 0;
  for (const [tid, cpu] of otherThreadsCpu(serverPid))
    otherThreadCpu = Math.max(otherThreadCpu, (cpu - (t0.get(tid) ?? cpu)) / wall);
  let databaseCpu: number | null = null;
  if (measureDatabase) {
    databaseCpu = 0;
    for (const [pid, cpu] of postgresCpu()) databaseCpu += cpu - (d0.get(pid) ?? 0);
    databaseCpu /= wall;
  }
  const loadCpuShare = (loadCpu() - l0) / wall;
  const loadAvg = os.loadavg()[0]!;
  const all = await Promise.all(results);
  for (const c of children) c.removeAllListeners('exit');

  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let places = 0;
  let cancels = 0;
  let errors = 0;
  let budgetWaits = 0;
  const errorsByStatus: Record<string, number> = {};
  const errorSamples: string[] = [];
  for (const r of all) {
    const part = hdr.decodeFromCompressedBase64(r.histogram);
    h.add(part);
    part.destroy();
    places += r.places;
    cancels += r.cancels;
    errors += r.errors;
    budgetWaits += r.budgetWaits;
    for (const [k, v] of Object.entries(r.errorsByStatus)) errorsByStatus[k] = (errorsByStatus[k] ?? 0) + v;
    errorSamples.push(...r.errorSamples);
  }
  const requests = places + cancels;
  const out: LoadOutcome = {
    label,
    shape,
    requests,
    places,
    cancels,
    perSec: requests / SECONDS,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    errors,
    errorsByStatus,
    errorSamples: errorSamples.slice(0, 8),
    budgetWaits,
    serverCpu,
    mainThreadCpu,
    mainThreadWaiting,
    otherThreadCpu,
    databaseCpu,
    loadCpu: loadCpuShare,
    loadAvg,
    clockOffsetMillis: all[0]?.clockOffsetMillis ?? 0,
  };
  h.destroy();
  return out;
}

// ---------------------------------------------------------------------------------------------
// The platform

async function createUsers(origin: string, token: string, count: number): Promise<LoadUser[]> {
  const users: LoadUser[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${origin}/admin/v1/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `bench-${i}@gateway.bench`,
          // The first deposit is a token one: the account whose admission grows the core's risk
          // arrays (the 1,024th) loses its first deposit from what it may spend (docs/BENCHMARKS.md,
          // Gateway, findings); the bench trades BTCUSDT, so that loss must not be USDT or BTC.
          deposits: [
            { asset: 'ETH', amount: '0.00000001' },
            { asset: 'USDT', amount: '10000' },
            { asset: 'BTC', amount: '1' },
          ],
          kycTier: 1,
        }),
      });
      const body = (await res.json()) as { apiKey?: string; secretKey?: string };
      if (res.status !== 200 || body.apiKey === undefined || body.secretKey === undefined)
        throw new Error(`creating user ${i}: ${res.status} ${JSON.stringify(body)}`);
      users[i] = { apiKey: body.apiKey, secretKey: body.secretKey, ip: ipOf(i) };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return users;
}

function fakeUsers(count: number): LoadUser[] {
  const key = () =>
    randomBytes(48)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 64);
  return Array.from({ length: count }, (_, i) => ({ apiKey: key(), secretKey: key(), ip: ipOf(i) }));
}

// ---------------------------------------------------------------------------------------------

function row(o: LoadOutcome): string {
  return (
    `${o.label.padEnd(11)} | ${o.shape.name.padEnd(7)} | ${fmt(o.perSec).padStart(9)} | ${fmt(millis(o.p50), 3).padStart(7)} | ` +
    `${fmt(millis(o.p90), 3).padStart(7)} | ${fmt(millis(o.p99), 3).padStart(7)} | ${fmt(millis(o.p999), 3).padStart(8)} | ` +
    `${fmt(millis(o.max), 1).padStart(8)} | ${fmt(o.errors).padStart(6)} | ${(o.serverCpu * 100).toFixed(0).padStart(9)}% | ` +
    `${(o.mainThreadCpu * 100).toFixed(0).padStart(10)}% | ` +
    `${(Number.isNaN(o.mainThreadWaiting) ? '-' : `${(o.mainThreadWaiting * 100).toFixed(0)}%`).padStart(10)} | ` +
    `${(o.otherThreadCpu * 100).toFixed(0).padStart(11)}% | ` +
    `${fmt((o.serverCpu * 1e6) / o.perSec, 1).padStart(13)} | ` +
    `${fmt((o.mainThreadCpu * 1e6) / o.perSec, 1).padStart(11)} | ` +
    `${(o.databaseCpu === null ? '-' : fmt((o.databaseCpu * 1e6) / o.perSec, 1)).padStart(15)} | ` +
    `${(o.loadCpu * 100).toFixed(0).padStart(7)}% | ${o.loadAvg.toFixed(1).padStart(4)} | ${fmt(o.budgetWaits)}`
  );
}

function reportErrors(o: LoadOutcome): void {
  if (o.errors === 0) return;
  console.log(`${o.label} ${o.shape.name}: ${fmt(o.errors)} errors ${JSON.stringify(o.errorsByStatus)}`);
  for (const s of o.errorSamples) console.log(`  ${s}`);
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * What the ratio target (orders/s >= half the hello-world rate) leaves the platform, in CPU µs
 * per order, on this machine where the load shares the cores: at half the hello-world rate the
 * cores give `machine` µs per order, of which the load takes at least what it spent per
 * hello-world request (the same signed requests, against a server that answers at once; per
 * order it spends more), so the server and the database together may take at most `platform`.
 * Generous on purpose: it assumes every core fully used, by nothing else.
 */
function ratioBudget(
  best: LoadOutcome,
  hello: LoadOutcome,
): {
  halfHelloWorld: number;
  machine: number;
  load: number;
  loadPerOrder: number;
  platform: number;
  spent: number;
  bareServer: number;
} {
  const machine = (os.availableParallelism() * 1e6) / (hello.perSec / 2);
  const load = (hello.loadCpu * 1e6) / hello.perSec;
  return {
    halfHelloWorld: hello.perSec / 2,
    machine,
    load,
    loadPerOrder: (best.loadCpu * 1e6) / best.perSec,
    platform: machine - load,
    spent: ((best.serverCpu + (best.databaseCpu ?? 0)) * 1e6) / best.perSec,
    bareServer: (hello.serverCpu * 1e6) / hello.perSec,
  };
}

/** A platform started for the bench: `dir`'s platform/main.ts with its own data directory and database. */
interface Platform {
  readonly server: Server;
  readonly origin: string;
  readonly startedSeconds: number;
}

async function startPlatform(
  name: string,
  dir: string,
  root: string,
  token: string,
  database: string,
  profileDir: string | undefined,
  settings: Readonly<Record<string, string>>,
): Promise<Platform> {
  const dataDir = path.join(root, name);
  fs.mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CROSSBOOK_') && k !== 'CROSSBOOK_FSYNC') delete env[k];
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, {
    CROSSBOOK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_HEALTH_PORT: '0',
    CROSSBOOK_ADMIN_TOKEN: token,
    CROSSBOOK_TRUST_PROXY: 'true',
    LOG_LEVEL: 'warn',
    ...settings,
  });
  if (DATABASE === 'postgres') env.DATABASE_URL = await freshDatabase(PG_URL, database);
  // The node flags `npm start` gives the platform (its package.json), the run's own, the profiler's.
  const nodeArgs = [
    ...startNodeFlags(dir),
    ...NODE_FLAGS,
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`]),
  ];
  const t0 = performance.now();
  const server = await startServer(
    name,
    path.join(dir, 'platform', 'main.ts'),
    env,
    /Crossbook is running: REST and WebSocket on http:\/\/127\.0\.0\.1:(\d+)/,
    root,
    nodeArgs,
    dir,
  );
  return {
    server,
    origin: `http://127.0.0.1:${server.port}`,
    startedSeconds: (performance.now() - t0) / 1000,
  };
}

/** The median of `xs` (not empty). */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * This checkout against the baseline, pair by pair (the same shape and round, run one after the
 * other): orders/s and the main thread's µs per order, as ratios current / baseline, printed per
 * shape with their median.
 */
function compare(
  gateways: readonly LoadOutcome[],
  baselines: readonly LoadOutcome[],
): Record<string, { ordersPerSecRatio: number; mainMicrosRatio: number; pairs: number }> {
  const out: Record<string, { ordersPerSecRatio: number; mainMicrosRatio: number; pairs: number }> = {};
  console.log('');
  for (const shape of SHAPES) {
    const mine = gateways.filter((o) => o.shape === shape);
    const theirs = baselines.filter((o) => o.shape === shape);
    const rate: number[] = [];
    const main: number[] = [];
    for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
      rate.push(mine[i]!.perSec / theirs[i]!.perSec);
      main.push(mine[i]!.mainThreadCpu / mine[i]!.perSec / (theirs[i]!.mainThreadCpu / theirs[i]!.perSec));
    }
    if (rate.length === 0) continue;
    const list = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ');
    console.log(
      `against the baseline, ${shape.name}, current / baseline per pair: orders/s ${list(rate)} ` +
        `(median ${median(rate).toFixed(3)}); main thread µs per order ${list(main)} (median ${median(main).toFixed(3)})`,
    );
    out[shape.name] = {
      ordersPerSecRatio: round3(median(rate)),
      mainMicrosRatio: round3(median(main)),
      pairs: rate.length,
    };
  }
  return out;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-gateway-bench-'));
  const dataDir = path.join(root, 'platform');
  fs.mkdirSync(dataDir);
  console.log(
    `gateway bench: shapes ${SHAPES.map((c) => `${c.name} (${c.processes * c.connections * c.pipelining} in flight)`).join(', ')} ` +
      `[load processes x connections each x pipelining]; ${WARMUP} s warm-up + ${SECONDS} s measured; ${fmt(USERS)} accounts, ` +
      `at most ${BUDGET} new orders per account per 10 s; database ${DATABASE}; journal fsync ${process.env.CROSSBOOK_FSYNC ?? 'true'}; ` +
      `HTTP client ${CLIENT}` +
      (Object.keys(PLATFORM_ENV).length === 0 ? '' : `; platform settings ${JSON.stringify(PLATFORM_ENV)}`) +
      (Object.keys(BASELINE_ENV).length === 0 ? '' : `; baseline settings ${JSON.stringify(BASELINE_ENV)}`),
  );
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} x ${os.availableParallelism()}, Node ${process.version}, ` +
      `load average ${os.loadavg()[0]!.toFixed(1)}, data dir ${root}`,
  );

  // 1. fdatasync floor
  // 4 KiB appends, each fdatasynced, for FSYNC_SECONDS.
  const disk = fdatasyncLatency(dataDir, 4096, { seconds: FSYNC_SECONDS });
  console.log(
    `fdatasync (4 KiB writes, ${fmt(disk.samples)} samples): p50 ${fmt(millis(disk.p50), 3)} ms, ` +
      `p99 ${fmt(millis(disk.p99), 3)} ms, p99.9 ${fmt(millis(disk.p999), 3)} ms, max ${fmt(millis(disk.max), 3)} ms`,
  );

  // 2. hello-world floor, every shape
  const hellos = new Map<Shape, LoadOutcome>();
  if (HELLO) {
    const server = await startServer(
      'hello',
      path.join(here, 'gateway-hello.ts'),
      { ...process.env, PORT: '0' },
      /listening (\d+)/,
      root,
    );
    try {
      const users = fakeUsers(USERS);
      for (const shape of SHAPES) {
        const o = await runLoad(
          'hello-world',
          shape,
          'hello',
          `http://127.0.0.1:${server.port}`,
          users,
          server.child.pid!,
        );
        hellos.set(shape, o);
        console.log(
          `hello-world ${shape.name}: ${fmt(o.perSec)} requests/s, p99 ${fmt(millis(o.p99), 3)} ms`,
        );
      }
    } finally {
      await stopServer(server);
    }
  }

  // 3. the platform (and the baseline's beside it), every shape
  const token = randomBytes(24).toString('base64url');
  const current = await startPlatform('platform', repo, root, token, PG_DB, PROFILE_DIR, PLATFORM_ENV);
  const baseline =
    BASELINE === undefined
      ? undefined
      : await startPlatform(
          'baseline',
          BASELINE,
          root,
          token,
          `${PG_DB}_baseline`,
          undefined,
          BASELINE_ENV,
        ).catch(async (e: unknown) => {
          await stopServer(current.server);
          throw e;
        });
  const gateways: LoadOutcome[] = [];
  const baselines: LoadOutcome[] = [];
  let idleCpu: number;
  try {
    const t0 = performance.now();
    const [users, baselineUsers] = await Promise.all([
      createUsers(current.origin, token, USERS),
      baseline === undefined ? undefined : createUsers(baseline.origin, token, USERS),
    ]);
    console.log(
      `platform started in ${current.startedSeconds.toFixed(1)} s (pid ${current.server.child.pid})` +
        (baseline === undefined
          ? ''
          : `, the baseline's (${BASELINE}) in ${baseline.startedSeconds.toFixed(1)} s (pid ${baseline.server.child.pid})`) +
        `; ${fmt(USERS)} users created through the admin API in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const i0 = cpuSeconds(current.server.child.pid!);
    await sleep(2000);
    idleCpu = (cpuSeconds(current.server.child.pid!) - i0) / 2;
    const run = async (which: 'current' | 'baseline', shape: Shape, round: number): Promise<void> => {
      const p = which === 'current' ? current : baseline!;
      const label = (which === 'current' ? 'gateway' : 'baseline') + (ROUNDS > 1 ? ` r${round}` : '');
      const o = await runLoad(
        label,
        shape,
        'orders',
        p.origin,
        which === 'current' ? users : baselineUsers!,
        p.server.child.pid!,
        DATABASE === 'postgres',
      );
      (which === 'current' ? gateways : baselines).push(o);
      console.log(
        `${label} ${shape.name}: ${fmt(o.perSec)} orders/s, p99 ${fmt(millis(o.p99), 3)} ms, ${fmt(o.errors)} errors ` +
          `(server clock - wall clock: ${fmt(o.clockOffsetMillis)} ms)`,
      );
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const shape of SHAPES) {
        // ABBA: the platform that goes first alternates, so neither always follows the other.
        const order: ('current' | 'baseline')[] =
          baseline === undefined
            ? ['current']
            : round % 2 === 1
              ? ['current', 'baseline']
              : ['baseline', 'current'];
        for (const which of order) await run(which, shape, round);
      }
    }
  } finally {
    await stopServer(current.server);
    if (baseline !== undefined) await stopServer(baseline.server);
  }

  console.log('');
  console.log(
    'run         | shape   |  orders/s |  p50 ms |  p90 ms |  p99 ms | p99.9 ms |   max ms | errors | server CPU | main thread | main waits | other thread | server µs/req | main µs/req | database µs/req | load CPU | load | budget waits',
  );
  for (const shape of SHAPES) {
    const h = hellos.get(shape);
    if (h !== undefined) console.log(row(h));
    for (const o of [...gateways, ...baselines]) if (o.shape === shape) console.log(row(o));
  }
  for (const o of [...hellos.values(), ...gateways, ...baselines]) reportErrors(o);
  console.log(
    `fdatasync p99 ${fmt(millis(disk.p99), 3)} ms; platform idle CPU before the load ${(idleCpu * 100).toFixed(0)}%; ` +
      `CPU columns: process CPU time (all threads) / wall time over the measured window (200% = both cores); ` +
      'main waits: time the main thread was runnable but waiting for a CPU / wall time; ' +
      "other thread: the busiest of the server's other threads",
  );
  const comparison = baseline === undefined ? undefined : compare(gateways, baselines);
  const best = gateways.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  // The floor is the best the load generator reached against the bare server, whatever the shape.
  const hello =
    hellos.size === 0 ? undefined : [...hellos.values()].reduce((a, b) => (b.perSec > a.perSec ? b : a));
  const helloSameShape = hellos.get(best.shape);
  const ratio = hello === undefined ? Number.NaN : best.perSec / hello.perSec;
  const p99Target = millis(disk.p99) + 2;
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  console.log(
    `best shape ${best.shape.name}: ${fmt(best.places)} placements + ${fmt(best.cancels)} cancels in ${SECONDS} s; ` +
      `targets: >= 20,000 orders/s: ${fmt(best.perSec)} (${verdict(best.perSec >= 20_000)}); ` +
      `>= 0.5 x hello-world: ${hello === undefined ? 'not measured' : `${ratio.toFixed(3)} x the best hello-world (${hello.shape.name}, ${fmt(hello.perSec)}/s) (${verdict(ratio >= 0.5)})`}; ` +
      `p99 <= fdatasync p99 + 2 ms = ${fmt(p99Target, 3)} ms: ${fmt(millis(best.p99), 3)} ms (${verdict(millis(best.p99) <= p99Target)})`,
  );
  const budget = hello === undefined ? undefined : ratioBudget(best, hello);
  if (budget !== undefined)
    console.log(
      `the ratio target's CPU budget: at half the hello-world rate (${fmt(budget.halfHelloWorld)}/s) ` +
        `${os.availableParallelism()} cores give ${fmt(budget.machine, 1)} µs of CPU per order; ` +
        `the load takes at least ${fmt(budget.load, 1)} (its cost per hello-world request; ${fmt(budget.loadPerOrder, 1)} per order here), ` +
        `which leaves at most ${fmt(budget.platform, 1)} µs for the server and the database together; ` +
        `they took ${fmt(budget.spent, 1)} here, ${fmt(budget.spent / budget.platform, 2)} x the budget ` +
        `(the bare uWebSockets.js server: ${fmt(budget.bareServer, 1)} µs per request)`,
    );
  if (best.budgetWaits > 0)
    console.log('budget waits > 0: the accounts ran out of order budget; rerun with more --users');
  if (PROFILE_DIR !== undefined) console.log(`CPU profiles of the platform in ${path.resolve(PROFILE_DIR)}`);
  if (KEEP) console.log(`data directory kept: ${root} (the platform's log: platform.log)`);
  else fs.rmSync(root, { recursive: true, force: true });
  const errors = [...hellos.values(), ...gateways, ...baselines].reduce((s, o) => s + o.errors, 0);
  console.log(
    JSON.stringify({
      bench: 'gateway',
      ordersPerSec: Math.round(best.perSec),
      p50Millis: millis(best.p50),
      p99Millis: millis(best.p99),
      p999Millis: millis(best.p999),
      helloWorldRps: hello === undefined ? null : Math.round(hello.perSec),
      fsyncP99Millis: millis(disk.p99),
      ratioToHelloWorld: Number.isNaN(ratio) ? null : round3(ratio),
      cpuShare: round3(best.serverCpu),
      mainThreadCpuShare: round3(best.mainThreadCpu),
      mainThreadRunQueueShare: Number.isNaN(best.mainThreadWaiting) ? null : round3(best.mainThreadWaiting),
      serverMicrosPerOrder: Math.round((best.serverCpu * 1e7) / best.perSec) / 10,
      mainThreadMicrosPerOrder: Math.round((best.mainThreadCpu * 1e7) / best.perSec) / 10,
      otherThreadCpuShare: round3(best.otherThreadCpu),
      databaseMicrosPerOrder:
        best.databaseCpu === null ? null : Math.round((best.databaseCpu * 1e7) / best.perSec) / 10,
      ...(budget === undefined
        ? {}
        : {
            ratioBudgetMicrosPerOrder: round1(budget.platform),
            serverAndDatabaseMicrosPerOrder: round1(budget.spent),
            loadMicrosPerOrder: round1(budget.loadPerOrder),
            helloWorldLoadMicrosPerRequest: round1(budget.load),
            helloWorldServerMicrosPerRequest: round1(budget.bareServer),
          }),
      helloWorldShape: hello?.shape.name ?? null,
      helloWorldSameShapeRps: helloSameShape === undefined ? null : Math.round(helloSameShape.perSec),
      helloWorldCpuShare: hello === undefined ? null : round3(hello.serverCpu),
      shape: best.shape.name,
      loadCpuShare: round3(best.loadCpu),
      loadProcesses: best.shape.processes,
      connections: best.shape.processes * best.shape.connections,
      pipelining: best.shape.pipelining,
      users: USERS,
      database: DATABASE,
      client: CLIENT,
      errors,
      budgetWaits: best.budgetWaits,
      ...(Object.keys(PLATFORM_ENV).length === 0 ? {} : { settings: PLATFORM_ENV }),
      ...(comparison === undefined
        ? {}
        : {
            baseline: BASELINE,
            ...(Object.keys(BASELINE_ENV).length === 0 ? {} : { baselineSettings: BASELINE_ENV }),
            comparison,
          }),
    }),
  );
  process.exitCode = errors > 0 ? 1 : 0;
}

await main();
