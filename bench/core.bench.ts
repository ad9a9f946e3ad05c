/**
 * npm run bench:core — the whole pipeline (sequencer, risk, SharedArrayBuffer rings, shard
 * workers, journal with real fdatasync, seq-order merge, release on durability) under the
 * engine benchmark's seeded workload (workload.ts), users funded first so risk never refuses.
 *
 *   npm run bench:core                                    full run: 2,000,000 commands, shards 1,2,4
 *   npm run bench:core -- --commands 200000 --shards 1,2  quick run
 *   flags: --commands N  --shards 1,2,4  --symbols N  --seed N  --window N (most commands in
 *          flight, the generator's bound)  --batch N (sends per event-loop turn)
 *          --journal on,off  --snapshot-every N (core default 1,000,000; 0 never)
 *          --fsync-samples N (direct fdatasync loop)  --dir PATH (default a temp dir, removed)
 *
 * Per shard count and journal mode, a fresh core in a fresh data directory:
 *   1. untimed: a Deposit of 2^50 units of every asset for every user, then the workload's
 *      prefill (target depth of GTC orders per symbol); quiesce;
 *   2. timed: the measured operations, sent from this thread in tight batches with at most
 *      --window commands in flight (`send`, then `whenReady` when the window is full). The
 *      send time of each seq and the release time of its last event (onEvents) are recorded;
 *      throughput is measured commands / (first send .. last command released).
 * Symbol k runs on shard k % shards. Order ids are assigned by the core's sequencer in send
 * order; placements are the only commands that take one, in the workload as in the core, so
 * the workload's ids map to the core's by a constant offset.
 *
 * The journal's own stats (group sizes, fdatasync latency) are read from the core's journal
 * (a private field: the core does not expose it); after each durable pass a short direct
 * write + fdatasync loop measures the disk's fdatasync on its own in the same run.
 * The last line is JSON for the best durable shard count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import {
  type AssetSpec,
  CancelRestriction,
  EventKind,
  eventKindAt,
  isLastEvent,
  loadMarketsFile,
  type MarketSpec,
  type MarketsFile,
  type OrderId,
  OrderType,
  type RecordViews,
  Side,
  StpMode,
  seqAt,
  symbolId,
  TimeInForce,
  userId,
} from '../engine/index.ts';
import { Core, CoreBusyError } from '../engine/runtime/core.ts';
import type { Journal, JournalStats } from '../engine/runtime/journal/journal.ts';
import type { CommandInput } from '../engine/runtime/sequencer.ts';
import { fdatasyncLatency } from './measure.ts';
import { DEFAULT_WORKLOAD, generateWorkload, Op, type Workload } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '2000000' },
    shards: { type: 'string', default: '1,2,4' },
    symbols: { type: 'string', default: '8' },
    seed: { type: 'string', default: '42' },
    window: { type: 'string', default: '8192' },
    batch: { type: 'string', default: '1024' },
    journal: { type: 'string', default: 'on,off' },
    'snapshot-every': { type: 'string' },
    'fsync-samples': { type: 'string', default: '2000' },
    dir: { type: 'string' },
  },
});
const COMMANDS = Number(args.commands);
const SHARDS = args.shards.split(',').map(Number);
const SYMBOLS = Number(args.symbols);
const SEED = Number(args.seed);
const WINDOW = Number(args.window);
const BATCH = Number(args.batch);
const MODES = args.journal.split(',').map((m) => m.trim() === 'on');
const SNAPSHOT_EVERY = args['snapshot-every'] === undefined ? undefined : Number(args['snapshot-every']);
const FSYNC_SAMPLES = Number(args['fsync-samples']);
/**
 * Per user and asset. Risk keeps every asset's total a safe integer, so 2^50 each (the brief's
 * figure) funds only 7 of 10,000 users: split 2^53 over the users (and the fee account).
 */
const fundsFor = (users: number): number => Math.floor((Number.MAX_SAFE_INTEGER - 1) / (users + 1));
const root = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-core-bench-'));
fs.mkdirSync(root, { recursive: true });

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** SYMBOLS markets with BTCUSDT's parameters (COINkUSDT), as the engine benchmark's 10-symbol run. */
function marketsFile(shards: number): MarketsFile {
  const cfg = loadMarketsFile(fileURLToPath(new URL('../config/markets.json', import.meta.url))).file;
  const btc = cfg.markets.find((m) => m.symbol === 'BTCUSDT');
  const btcScale = cfg.assets.find((a) => a.asset === 'BTC')?.scale;
  const usdt = cfg.assets.find((a) => a.asset === 'USDT');
  if (btc === undefined || btcScale === undefined || usdt === undefined)
    throw new Error('config/markets.json needs BTCUSDT, BTC and USDT');
  const assets: AssetSpec[] = [];
  const markets: MarketSpec[] = [];
  const shardMap: Record<string, number> = { '*': 0 };
  for (let k = 0; k < SYMBOLS; k++) {
    const base = `COIN${k}`;
    assets.push({ asset: base, scale: btcScale });
    const symbol = `${base}${usdt.asset}`;
    markets.push({ ...btc, symbol, baseAsset: base });
    shardMap[symbol] = k % shards;
  }
  assets.push(usdt);
  return { assets, markets, shardMap };
}

/** Deposits (untimed), the prefill (untimed) and the measured operations, as core inputs. */
interface Inputs {
  readonly setup: CommandInput[];
  readonly measured: CommandInput[];
}

function toInputs(w: Workload): Inputs {
  const setup: CommandInput[] = [];
  const users = w.options.users;
  let ref = 1;
  for (let u = 1; u <= users; u++) {
    for (let a = 0; a <= SYMBOLS; a++) {
      setup.push({
        kind: 'Deposit',
        userId: userId(u),
        assetId: a,
        amountUnits: fundsFor(users),
        refId: ref++,
      });
    }
  }
  // The core's first order id is 1 on a fresh data dir, as the workload's: no offset.
  const idOf = (i: number): OrderId => w.orderId[i]! as OrderId;
  const measured: CommandInput[] = [];
  for (let i = 0; i < w.length; i++) {
    const k = w.kind[i]!;
    const sym = symbolId(w.symbol[i]!);
    const user = userId(w.userId[i]!);
    let c: CommandInput;
    if (k === Op.GTC || k === Op.IOC || k === Op.MARKET) {
      const market = k === Op.MARKET;
      c = {
        kind: 'PlaceOrder',
        symbolId: sym,
        userId: user,
        side: w.side[i] === 0 ? Side.BUY : Side.SELL,
        orderType: market ? OrderType.MARKET : OrderType.LIMIT,
        timeInForce: market ? TimeInForce.NONE : k === Op.GTC ? TimeInForce.GTC : TimeInForce.IOC,
        stpMode: StpMode.NONE,
        priceTicks: market ? 0 : w.price[i]!,
        qtyLots: w.qty[i]!,
        quoteQtyUnits: 0,
        clientOrderId: '',
      };
    } else if (k === Op.CANCEL) {
      c = {
        kind: 'CancelOrder',
        symbolId: sym,
        userId: user,
        orderId: idOf(i),
        clientOrderId: '',
        cancelRestriction: CancelRestriction.NONE,
      };
    } else {
      c = {
        kind: 'AmendOrder',
        symbolId: sym,
        userId: user,
        orderId: idOf(i),
        clientOrderId: '',
        priceTicks: k === Op.AMEND_QTY ? 0 : w.price[i]!,
        qtyLots: w.total[i]!,
        newClientOrderId: '',
      };
    }
    (i < w.prefill ? setup : measured).push(c);
  }
  return { setup, measured };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

interface RunResult {
  readonly shards: number;
  readonly journal: boolean;
  readonly commands: number;
  readonly seconds: number;
  readonly commandsPerSec: number;
  readonly ack: { p50: number; p99: number; p999: number; max: number; mean: number };
  readonly stats: JournalStats | null;
  readonly directFsync: { p50: number; p99: number; p999: number; max: number } | null;
  readonly cpuShare: number;
  readonly rejected: number;
}

async function run(shards: number, journal: boolean, inputs: Inputs): Promise<RunResult> {
  const dataDir = path.join(root, `s${shards}-${journal ? 'fsync' : 'mem'}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  let cap = 16;
  while (cap < WINDOW * 2) cap *= 2;
  const core = await Core.start({
    dataDir,
    marketsFile: marketsFile(shards),
    journal,
    maxInFlight: cap,
    ...(SNAPSHOT_EVERY === undefined ? {} : { snapshotEvery: SNAPSHOT_EVERY }),
  });
  const total = inputs.setup.length + inputs.measured.length;
  const sendAt = new Float64Array(total + 2);
  const releaseAt = new Float64Array(total + 2);
  let lastReleased = 0;
  let rejected = 0;
  let target = Number.POSITIVE_INFINITY;
  let done: (() => void) | null = null;
  core.onEvents((views: RecordViews, from: number, count: number) => {
    const now = performance.now();
    const end = from + count;
    for (let e = from; e < end; e++) {
      const k = eventKindAt(views, e);
      if (k === EventKind.OrderRejected || k === EventKind.CancelRejected || k === EventKind.AmendRejected)
        rejected++;
      if (isLastEvent(views, e)) {
        const s = seqAt(views, e);
        releaseAt[s] = now;
        lastReleased = s;
      }
    }
    if (lastReleased >= target && done !== null) {
      const d = done;
      done = null;
      d();
    }
  });

  const drive = async (list: CommandInput[]): Promise<{ first: number; last: number }> => {
    let first = 0;
    let last = 0;
    let i = 0;
    const n = list.length;
    while (i < n) {
      const room = WINDOW - core.inFlight;
      if (room <= 0) {
        await core.whenReady();
        continue;
      }
      const end = Math.min(n, i + Math.min(BATCH, room));
      try {
        for (; i < end; i++) {
          const s = core.send(list[i]!);
          sendAt[s] = performance.now();
          last = s;
          if (first === 0) first = s;
        }
      } catch (e) {
        if (!(e instanceof CoreBusyError)) throw e;
        await core.whenReady();
        continue;
      }
      await tick();
    }
    return { first, last };
  };

  // 1. untimed setup
  const setup = await drive(inputs.setup);
  await core.quiesce();
  if (lastReleased !== setup.last) throw new Error(`setup: released ${lastReleased}, sent ${setup.last}`);
  const j = (core as unknown as { journal: Journal | null }).journal;
  j?.clearStats();
  if (rejected > 0) throw new Error(`setup: ${rejected} commands rejected (funding?)`);
  // 2. timed
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sent = await drive(inputs.measured);
  target = sent.last;
  if (lastReleased >= target) {
    const d = done as (() => void) | null;
    done = null;
    d?.();
  }
  await finished;
  const cpu = process.cpuUsage(cpu0);
  const seconds = (releaseAt[sent.last]! - t0) / 1000;
  const stats = j?.stats() ?? null;
  await core.close();

  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (let s = sent.first; s <= sent.last; s++) {
    const r = releaseAt[s]!;
    if (r === 0) throw new Error(`seq ${s} was never released`);
    h.recordValue(Math.max(1, Math.round((r - sendAt[s]!) * 1000)));
  }
  const commands = sent.last - sent.first + 1;
  const result: RunResult = {
    shards,
    journal,
    commands,
    seconds,
    commandsPerSec: commands / seconds,
    ack: {
      p50: h.getValueAtPercentile(50),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
      mean: h.mean,
    },
    stats,
    directFsync: journal ? directFsync(dataDir, stats) : null,
    rejected,
    cpuShare: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
  };
  h.destroy();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return result;
}

/** The disk's own fdatasync latency: appends of one mean journal group, each synced. */
function directFsync(dir: string, stats: JournalStats | null): RunResult['directFsync'] {
  if (FSYNC_SAMPLES <= 0) return null;
  const bytes = Math.max(
    4096,
    Math.round(stats !== null && stats.groups > 0 ? stats.bytes / stats.groups : 65536),
  );
  return fdatasyncLatency(dir, bytes, { samples: FSYNC_SAMPLES });
}

function show(r: RunResult): void {
  const a = r.ack;
  console.log(
    `${String(r.shards).padStart(6)} | ${(r.journal ? 'fsync' : 'off').padEnd(7)} | ${fmt(r.commandsPerSec).padStart(11)} | ` +
      `${fmt(a.p50).padStart(8)} | ${fmt(a.p99).padStart(8)} | ${fmt(a.p999).padStart(8)} | ${fmt(a.max).padStart(9)} | ` +
      `${r.stats === null ? '       -' : fmt(r.stats.groupSize.mean).padStart(8)} | ` +
      `${r.stats === null || r.stats.fsyncMicros.count === 0 ? '       -' : `${fmt(r.stats.fsyncMicros.p50)}/${fmt(r.stats.fsyncMicros.p99)}`.padStart(12)} | ` +
      `${r.directFsync === null ? '           -' : `${fmt(r.directFsync.p50)}/${fmt(r.directFsync.p99)}`.padStart(12)} | ` +
      `${(r.cpuShare * 100).toFixed(0).padStart(4)}% | ${fmt(r.rejected)}`,
  );
}

async function main(): Promise<void> {
  const g0 = performance.now();
  const w = generateWorkload({ ...DEFAULT_WORKLOAD, ops: COMMANDS, symbols: SYMBOLS, seed: SEED });
  const inputs = toInputs(w);
  console.log(
    `core bench: ${fmt(COMMANDS)} measured commands over ${SYMBOLS} symbols (after ${fmt(inputs.setup.length)} untimed ` +
      `deposits + prefill), window ${fmt(WINDOW)} in flight, batches of ${BATCH}; workload built in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
  );
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} x ${os.availableParallelism()}, Node ${process.version}, data dir ${root}`,
  );
  console.log(
    'shards | journal | commands/s  | ack p50  | ack p99  | ack p99.9| ack max  | group mean | fsync p50/p99 | direct p50/p99 | CPU  | rejected',
  );
  console.log(
    '       |         |             |   (µs)   |   (µs)   |   (µs)   |   (µs)   |           | (journal, µs) | (disk, µs)     |',
  );
  const results: RunResult[] = [];
  for (const shards of SHARDS) {
    for (const journal of MODES) {
      const r = await run(shards, journal, inputs);
      results.push(r);
      show(r);
    }
  }
  if (!args.dir) fs.rmSync(root, { recursive: true, force: true });
  const durable = results.filter((r) => r.journal);
  const best = (durable.length > 0 ? durable : results).reduce((a, b) =>
    b.commandsPerSec > a.commandsPerSec ? b : a,
  );
  const mem = results.filter((r) => !r.journal && r.shards === best.shards)[0];
  const fsyncP99 = best.stats?.fsyncMicros.count ? best.stats.fsyncMicros.p99 : (best.directFsync?.p99 ?? 0);
  console.log(
    `best durable: ${best.shards} shard(s), ${fmt(best.commandsPerSec)} commands/s (target 1,000,000: ${((best.commandsPerSec / 1e6) * 100).toFixed(0)}%); ` +
      `ack p99 ${fmt(best.ack.p99)} µs vs fdatasync p99 ${fmt(fsyncP99)} µs + 1,000 (target ${best.ack.p99 <= fsyncP99 + 1000 ? 'met' : 'missed'})`,
  );
  console.log(
    JSON.stringify({
      bench: 'core',
      shards: best.shards,
      commandsPerSec: Math.round(best.commandsPerSec),
      ackP50Micros: best.ack.p50,
      ackP99Micros: best.ack.p99,
      ackP999Micros: best.ack.p999,
      fsyncP99Micros: Math.round(fsyncP99),
      inMemoryCommandsPerSec: Math.round(mem?.commandsPerSec ?? 0),
    }),
  );
}

await main();
