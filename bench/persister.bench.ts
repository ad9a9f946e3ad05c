/**
 * npm run bench:persister — the persister writing a trade-heavy event stream (orders, trades,
 * double-entry ledger, balance projection, one transaction per batch) into PGlite (a data
 * directory on disk, as `npm start` uses it) and into the PostgreSQL server.
 *
 *   node --import tsx bench/persister.bench.ts                         full run
 *   node --import tsx bench/persister.bench.ts --trades 50000 --pglite-trades 10000 --seconds 2
 *   flags: --trades N (PostgreSQL throughput run, default 300,000)  --pglite-trades N (default
 *          60,000)  --batch N (most events per batch, default 20000)  --rate N (steady run,
 *          trades per second, default 50,000)  --seconds N (steady run length, default 5)
 *          --in-flight 1|2 (batches written at once, default 2)  --only pglite|postgres
 *   DATABASE_URL: the server (default postgres://postgres@127.0.0.1:5432/test); its public
 *   schema is dropped and made anew before each run.
 *
 * The stream (persister-workload.ts) is recorded first, untimed, by the single-threaded
 * engine. Throughput runs hand the persister the whole stream at once (as the core does when
 * it regenerates a backlog) and time it from the first event to the last commit: batches are
 * full. The steady runs feed the stream at --rate trades per second, then at half the measured
 * PostgreSQL throughput, in 5 ms ticks as a live engine would, and sample after every tick how
 * many events wait uncommitted: the lag, in
 * batches of --batch events (it stops feeding, and says so, once 20 batches wait: the persister
 * cannot keep up). Beside wall-clock rates it reports CPU time per trade of this process and
 * (local server) of the database backends, steadier than rates on a shared machine. After the
 * PostgreSQL throughput run, the server's floor (`copyFloor`). The last line is JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { type AccountsDb, openDatabase } from '../accounts/db/database.ts';
import { copyIn } from '../accounts/history/copy-in.ts';
import { Persister } from '../accounts/history/persister.ts';
import { type TradeStream, tradeHeavyStream } from './persister-workload.ts';

const { values: args } = parseArgs({
  options: {
    trades: { type: 'string', default: '300000' },
    'pglite-trades': { type: 'string', default: '60000' },
    batch: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '2' },
    rate: { type: 'string', default: '50000' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
});
const TRADES = Number(args.trades);
const PGLITE_TRADES = Number(args['pglite-trades']);
const BATCH = Number(args.batch);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const IN_FLIGHT = Number(args['in-flight']);
if (IN_FLIGHT !== 1 && IN_FLIGHT !== 2) throw new Error('--in-flight must be 1 or 2');
const URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const runPglite = args.only === undefined || args.only === 'pglite';
const runPostgres = args.only === undefined || args.only === 'postgres';
for (const [name, v] of Object.entries({ TRADES, PGLITE_TRADES, BATCH, RATE, SECONDS })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name.toLowerCase()} must be a positive integer`);
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The number of whole commands that hold at least `trades` trades. */
function commandsFor(stream: TradeStream, trades: number): number {
  let lo = 0;
  let hi = stream.commands - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stream.tradesUpTo[mid]! >= trades) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

async function resetServer(): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}

interface Throughput {
  readonly tradesPerSec: number;
  readonly ledgerPerSec: number;
  readonly eventsPerSec: number;
  readonly trades: number;
  readonly batches: number;
  /** Batches whose commit waited for the disk (the others: synchronous_commit off). */
  readonly durableBatches: number;
  readonly seconds: number;
  readonly batchMillisP50: number;
  readonly batchMillisMax: number;
  /** CPU time of this process per trade (folding, literals, the driver). */
  readonly nodeMicrosPerTrade: number;
  /** CPU time of the database backends per trade (a local server only; PGlite runs in-process). */
  readonly serverMicrosPerTrade: number | null;
}

/**
 * CPU seconds the server's backends for this database spend from now to the returned
 * function's call, read from /proc (null when the server is not a local process we can read).
 * On a shared machine, wall-clock rates depend on the neighbours; CPU time per trade much less.
 */
async function serverCpu(adb: AccountsDb): Promise<() => number | null> {
  if (adb.dialect !== 'postgres') return () => null;
  // Both of the pool's connections (the persister writes two batches at once) exist from here on.
  await Promise.all([0, 1].map(() => sql`select pg_sleep(0.05)`.execute(adb.db)));
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database()`.execute(adb.db);
  /** CPU ticks of a backend, null once it is gone (the pool closes an idle connection). */
  const ticks = (pid: number): number | null => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return null;
    }
  };
  const before = rows.map(({ pid }) => ticks(pid));
  if (before.some((t) => t === null)) return () => null;
  // Sampled as it goes: a backend the pool closes (idle for 10 s) keeps its last reading.
  const last = [...before] as number[];
  const sample = () =>
    rows.forEach(({ pid }, i) => {
      last[i] = ticks(pid) ?? last[i]!;
    });
  const sampler = setInterval(sample, 250);
  return () => {
    clearInterval(sampler);
    sample();
    // Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ).
    return last.reduce((sum, t, i) => sum + t - before[i]!, 0) / 100;
  };
}

/** Hands the persister the first `commands` commands at once and times them to the last commit. */
async function throughput(adb: AccountsDb, stream: TradeStream, commands: number): Promise<Throughput> {
  const millis: number[] = [];
  let durableBatches = 0;
  const p = await Persister.open(adb.db, stream.markets, {
    maxBatch: BATCH,
    inFlight: IN_FLIGHT as 1 | 2,
    onCommit: (b) => {
      millis.push(b.millis);
      if (b.durable) durableBatches++;
    },
  });
  const events = stream.ends[commands - 1]!;
  const server = await serverCpu(adb);
  const nodeBefore = process.cpuUsage();
  const started = performance.now();
  for (let at = 0; at < events; at += 50_000) p.listener(stream.records, at, Math.min(50_000, events - at));
  await p.flushed(commands);
  const seconds = (performance.now() - started) / 1000;
  const node = process.cpuUsage(nodeBefore);
  const serverSeconds = server();
  await p.close();
  const s = p.stats();
  millis.sort((a, b) => a - b);
  return {
    tradesPerSec: s.trades / seconds,
    ledgerPerSec: s.ledgerEntries / seconds,
    eventsPerSec: s.events / seconds,
    trades: s.trades,
    batches: s.batches,
    durableBatches,
    seconds,
    batchMillisP50: millis[Math.floor(millis.length / 2)] ?? 0,
    batchMillisMax: millis.at(-1) ?? 0,
    nodeMicrosPerTrade: ((node.user + node.system) / s.trades) | 0,
    serverMicrosPerTrade: serverSeconds === null ? null : ((serverSeconds * 1e6) / s.trades) | 0,
  };
}

function report(name: string, t: Throughput): void {
  log(
    `${name}: ${fmt(t.tradesPerSec)} trades/s, ${fmt(t.ledgerPerSec)} ledger entries/s, ${fmt(t.eventsPerSec)} events/s ` +
      `(${fmt(t.trades)} trades in ${t.seconds.toFixed(2)} s, ${t.batches} batches of <= ${BATCH} events ` +
      `(${t.durableBatches} durable), ${IN_FLIGHT} in flight, ` +
      `batch p50 ${t.batchMillisP50.toFixed(0)} ms, max ${t.batchMillisMax.toFixed(0)} ms; CPU per trade: ` +
      `this process ${t.nodeMicrosPerTrade} us` +
      (t.serverMicrosPerTrade === null ? '' : `, server ${t.serverMicrosPerTrade} us`) +
      ')',
  );
}

interface Steady {
  readonly fedTradesPerSec: number;
  readonly maxLagBatches: number;
  readonly meanLagBatches: number;
  readonly drainMillis: number;
  /** Seconds into the run when the backlog passed GIVE_UP_BATCHES (null: it never did). */
  readonly fellBehindAt: number | null;
}

/** The steady run stops feeding once this many batches wait: the persister cannot keep up. */
const GIVE_UP_BATCHES = 20;

/** Feeds the stream at `rate` trades/s for SECONDS; samples the uncommitted backlog after every tick. */
async function steady(adb: AccountsDb, stream: TradeStream, rate: number): Promise<Steady> {
  const p = await Persister.open(adb.db, stream.markets, { maxBatch: BATCH, inFlight: IN_FLIGHT as 1 | 2 });
  // The deposits and resting books come first, before the clock starts.
  const warm = commandsFor(stream, 1) - 1;
  p.listener(stream.records, 0, stream.ends[warm - 1]!);
  await p.flushed(warm);
  const base = stream.tradesUpTo[warm - 1]!;
  const last = commandsFor(stream, Math.min(stream.trades, base + rate * SECONDS));
  let fed = warm;
  let maxLag = 0;
  let lagSum = 0;
  let samples = 0;
  let fellBehindAt: number | null = null;
  const started = performance.now();
  while (fed < last) {
    await new Promise((r) => setTimeout(r, 5));
    const due = base + Math.floor((rate * (performance.now() - started)) / 1000);
    let upTo = fed;
    while (upTo < last && stream.tradesUpTo[upTo]! <= due) upTo++;
    if (upTo > fed) {
      const from = stream.ends[fed - 1]!;
      p.listener(stream.records, from, stream.ends[upTo - 1]! - from);
      fed = upTo;
    }
    const lag = p.lag().pendingEvents / BATCH;
    maxLag = Math.max(maxLag, lag);
    lagSum += lag;
    samples++;
    // A persister slower than the rate falls behind without bound: say so and stop feeding,
    // rather than time a backlog that only grows.
    if (lag > GIVE_UP_BATCHES) {
      fellBehindAt = (performance.now() - started) / 1000;
      break;
    }
  }
  const fedSeconds = (performance.now() - started) / 1000;
  const drainStart = performance.now();
  await p.flushed(fed);
  const drainMillis = performance.now() - drainStart;
  await p.close();
  return {
    fedTradesPerSec: (stream.tradesUpTo[fed - 1]! - base) / fedSeconds,
    fellBehindAt,
    maxLagBatches: maxLag,
    meanLagBatches: lagSum / Math.max(1, samples),
    drainMillis,
  };
}

interface Floor {
  readonly rowsPerSec: number;
  readonly serverMicrosPerRow: number | null;
}

/**
 * The server's own floor, measured on the trade rows the throughput run just wrote: the same
 * rows COPYed again, in chunks of FLOOR_CHUNK rows on both pool connections at once (as the
 * persister writes), into `like trades` tables that (a) have no index at all, (b) have the
 * trades table's indexes. (a) is what this server and disk take for these rows at all; the
 * persister, which also writes orders, order marks and the balance projection, cannot beat it.
 */
async function copyFloor(adb: AccountsDb, indexes: boolean): Promise<Floor> {
  const table = indexes ? 'floor_trades_indexed' : 'floor_trades_heap';
  await sql.raw(`drop table if exists ${table}`).execute(adb.db);
  await sql.raw(`create table ${table} (like trades${indexes ? ' including indexes' : ''})`).execute(adb.db);
  const { rows: cols } = await sql<{ name: string }>`
    select column_name as name from information_schema.columns
    where table_schema = 'public' and table_name = 'trades' order by ordinal_position`.execute(adb.db);
  const line = cols.map((c) => `coalesce(t.${c.name}::text, '\\N')`).join(", E'\\t', ");
  const { rows } = await sql<{ line: string }>`
    select concat(${sql.raw(line)}) as line from trades t order by ledger_id, symbol, trade_id`.execute(
    adb.db,
  );
  const total = rows.length;
  const chunks: Buffer[] = [];
  for (let at = 0; at < total; at += FLOOR_CHUNK)
    chunks.push(
      Buffer.from(
        `${rows
          .slice(at, at + FLOOR_CHUNK)
          .map((r) => r.line)
          .join('\n')}\n`,
        'utf8',
      ),
    );
  const target = `${table} (${cols.map((c) => c.name).join(', ')})`;
  const server = await serverCpu(adb);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) await copyIn(adb.db, target, chunks[next++]!);
  };
  await Promise.all([worker(), worker()]);
  const seconds = (performance.now() - started) / 1000;
  const serverSeconds = server();
  await sql.raw(`drop table ${table}`).execute(adb.db);
  return {
    rowsPerSec: total / seconds,
    serverMicrosPerRow: serverSeconds === null ? null : ((serverSeconds * 1e6) / total) | 0,
  };
}

/** Rows per COPY in the floor runs (about the trades of one persister batch). */
const FLOOR_CHUNK = 5_000;

const need = Math.max(runPostgres ? Math.max(TRADES, RATE * SECONDS + 1) : 0, runPglite ? PGLITE_TRADES : 0);
const genStart = performance.now();
const stream = tradeHeavyStream(need);
log(
  `stream: ${fmt(stream.trades)} trades, ${fmt(stream.events)} events, ${fmt(stream.commands)} commands ` +
    `(recorded in ${((performance.now() - genStart) / 1000).toFixed(1)} s); batches of at most ${BATCH} events`,
);

let pgliteTradesPerSec = 0;
let postgresTradesPerSec = 0;
let copyFloorRowsPerSec = 0;
if (runPglite) {
  const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-bench-persister-'));
  try {
    const adb = await openDatabase({ dataDir: path.join(dir, 'pg') });
    const t = await throughput(adb, stream, commandsFor(stream, PGLITE_TRADES));
    report('PGlite (data directory)', t);
    pgliteTradesPerSec = t.tradesPerSec;
    await adb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (runPostgres) {
  await resetServer();
  let adb = await openDatabase({ url: URL, poolSize: 2 });
  const t = await throughput(adb, stream, commandsFor(stream, TRADES));
  report(`PostgreSQL (${new globalThis.URL(URL).host})`, t);
  postgresTradesPerSec = t.tradesPerSec;
  for (const indexes of [false, true]) {
    const f = await copyFloor(adb, indexes);
    if (!indexes) copyFloorRowsPerSec = f.rowsPerSec;
    log(
      `PostgreSQL floor: the same trade rows COPYed into a table ${indexes ? "with the trades table's indexes" : 'without any index'}: ` +
        `${fmt(f.rowsPerSec)} rows/s` +
        (f.serverMicrosPerRow === null ? '' : ` (server CPU ${f.serverMicrosPerRow} us per row)`),
    );
  }
  await adb.close();

  // The asked rate, then half the throughput just measured: how the lag behaves at a rate
  // the persister can sustain on this machine.
  const sustainable = Math.max(1000, Math.floor(t.tradesPerSec / 2000) * 1000);
  for (const rate of RATE > sustainable ? [RATE, sustainable] : [RATE]) {
    await resetServer();
    adb = await openDatabase({ url: URL, poolSize: 2 });
    const s = await steady(adb, stream, rate);
    log(
      `PostgreSQL steady ${fmt(rate)} trades/s for ${SECONDS} s: fed ${fmt(s.fedTradesPerSec)} trades/s, ` +
        `lag max ${s.maxLagBatches.toFixed(2)} batches (${fmt(s.maxLagBatches * BATCH)} events), ` +
        `mean ${s.meanLagBatches.toFixed(2)}, ` +
        `drained ${s.drainMillis.toFixed(0)} ms after the last event` +
        (s.fellBehindAt === null
          ? ''
          : `; FELL BEHIND: over ${GIVE_UP_BATCHES} batches waiting ${s.fellBehindAt.toFixed(2)} s in, feeding stopped`),
    );
    await adb.close();
  }
  await resetServer();
}
log(
  JSON.stringify({
    bench: 'persister',
    pgliteTradesPerSec: Math.round(pgliteTradesPerSec),
    postgresTradesPerSec: Math.round(postgresTradesPerSec),
    postgresCopyFloorRowsPerSec: Math.round(copyFloorRowsPerSec),
    batch: BATCH,
  }),
);
