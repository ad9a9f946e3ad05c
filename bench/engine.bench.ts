/**
 * npm run bench:engine — our order book against two published JavaScript order books on the
 * same seeded workload (see workload.ts), 1 symbol and 10 symbols.
 *
 *   npm run bench:engine                                  full run: 1,000,000 ops, 1 and 10 symbols
 *   npm run bench:engine -- --ops 100000 --symbols 1      quick run
 *   flags: --ops N  --symbols 1,10  --seed N  --repeat N  --target-orders N
 *          --engines crossbook,nodejs-order-book,hft-limit-order-book
 *
 * Per configuration and engine, each pass on fresh books (the prefill is applied untimed); passes
 * 2-4 run one engine at a time, with only that engine's pre-built operations on the heap:
 *   1. verify + warm-up: every operation, each engine's filled lots recorded; all engines and
 *      the workload's reference book must agree on every operation, or the run fails naming
 *      the operation;
 *   2. warm-up: the measured loop itself, untimed;
 *   3. throughput: the measured operations with one clock read before and after (ops/s),
 *      GC pauses observed, memory measured; --repeat passes (default 3), the median reported;
 *   4. latency: one clock read between consecutive operations; each interval minus the
 *      calibrated cost of a clock read goes into an HdrHistogram (p50/p99/p99.9/max).
 * After every pass the books' resting liquidity must equal the reference book's.
 *
 * The last line printed is the 1-symbol result as JSON; the line before it the 10-symbol one.
 */
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type AssetSpec, defineMarket, loadMarketsFile, type Market } from '../engine/index.ts';
import { BenchFailure, type EngineAdapter } from './adapter.ts';
import { CrossbookAdapter } from './crossbook-adapter.ts';
import {
  calibrateTimer,
  fullGc,
  GcMonitor,
  type GcStats,
  type Latency,
  latencyOf,
  memoryInUse,
  type TimerCost,
} from './measure.ts';
import { HftLimitOrderBookAdapter } from './peers/hft-limit-order-book.ts';
import { NodejsOrderBookAdapter } from './peers/nodejs-order-book.ts';
import type { BookDepth } from './reference-book.ts';
import { DEFAULT_WORKLOAD, generateWorkload, OP_NAMES, type Op, type Workload } from './workload.ts';

const OURS = 'crossbook';
const PEERS = ['nodejs-order-book', 'hft-limit-order-book'] as const;
const TARGET_OPS_PER_SEC = 5_000_000;
const TARGET_RATIO = 15;
const TARGET_P99_NS = 2_000;
const TARGET_GC_MS = 1;

interface ThroughputPass {
  readonly wallMs: number;
  /** Process CPU time (user + system, all threads) during the pass. */
  readonly cpuMs: number;
  readonly gc: GcStats;
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly retained: number;
}

interface EngineResult {
  readonly name: string;
  /** Median throughput pass. */
  readonly opsPerSec: number;
  /** Every throughput pass, in run order. */
  readonly passOpsPerSec: number[];
  /** Process CPU time / wall time of each pass: below 100% the process was waiting for a core. */
  readonly passCpuShare: number[];
  /** Measured ops per second of process CPU time, median pass (what the engine does when it has a core). */
  readonly opsPerCpuSec: number;
  readonly wallMs: number;
  readonly latency: Latency;
  /** Longest GC pause during the throughput passes (no instrumentation inside the loop). */
  readonly maxGcPauseMs: number;
  readonly gcThroughput: GcStats;
  /** GC during the latency pass (performance.now() itself allocates, so this is not all the engine's). */
  readonly gcLatency: GcStats;
  /** JS heap used just before and just after the (median) throughput pass, no GC in between, MB. */
  readonly heapBeforeMb: number;
  readonly heapAfterMb: number;
  /** Memory the books retain after the run (heap + ArrayBuffers, after a full GC), MB. */
  readonly retainedMb: number;
}

interface ConfigResult {
  readonly symbols: number;
  readonly ops: number;
  readonly prefill: number;
  readonly genMs: number;
  readonly workload: Pick<Workload, 'mix' | 'filledOps' | 'finalDepth'>;
  readonly timer: TimerCost;
  readonly engines: EngineResult[];
  readonly passMs: number;
}

function fail(message: string): never {
  throw new BenchFailure(message);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function describeOp(w: Workload, i: number): string {
  const k = w.kind[i]! as Op;
  const phase = i < w.prefill ? 'prefill' : `measured #${i - w.prefill}`;
  const side = w.side[i] === 0 ? 'BUY' : 'SELL';
  return `op ${i} (${phase}, symbol ${w.symbol[i]}, ${OP_NAMES[k]} ${side} order ${w.orderId[i]} price ${w.price[i]} qty ${w.qty[i]})`;
}

function sameDepth(a: BookDepth, b: BookDepth): boolean {
  return (
    a.bidLevels === b.bidLevels &&
    a.askLevels === b.askLevels &&
    a.bidLots === b.bidLots &&
    a.askLots === b.askLots
  );
}

function checkDepth(a: EngineAdapter, w: Workload, pass: string): void {
  const d = a.depth();
  if (!sameDepth(d, w.finalDepth)) {
    fail(
      `${a.name} ended the ${pass} pass with ${JSON.stringify(d)}, the reference book with ${JSON.stringify(w.finalDepth)}`,
    );
  }
}

function marketsFor(symbols: number): Market[] {
  const path = fileURLToPath(new URL('../config/markets.json', import.meta.url));
  const { markets } = loadMarketsFile(path);
  const btc = markets.get('BTCUSDT');
  if (btc === undefined) throw new Error('config/markets.json has no BTCUSDT');
  if (symbols === 1) return [btc];
  // N markets with BTCUSDT's parameters under other symbols (and base assets).
  const assets = new Map<string, AssetSpec>(markets.assets);
  const list: Market[] = [];
  for (let k = 0; k < symbols; k++) {
    const base = `COIN${k}`;
    assets.set(base, { asset: base, scale: btc.base.scale });
    list.push(defineMarket(k, { ...btc.spec, symbol: `${base}${btc.quote.asset}`, baseAsset: base }, assets));
  }
  return list;
}

async function runConfig(
  symbols: number,
  ops: number,
  seed: number,
  targetOrders: number,
  only: ReadonlySet<string> | undefined,
  repeat: number,
  gc: GcMonitor,
): Promise<ConfigResult> {
  const started = performance.now();
  const markets = marketsFor(symbols);
  let t = performance.now();
  const w = generateWorkload({ ...DEFAULT_WORKLOAD, ops, symbols, seed, targetOrders });
  const genMs = performance.now() - t;
  const all: EngineAdapter[] = [
    new CrossbookAdapter(markets),
    new NodejsOrderBookAdapter(),
    new HftLimitOrderBookAdapter(),
  ];
  const adapters = all.filter((a) => only === undefined || only.has(a.name));
  console.error(
    `[${symbols} symbol(s)] workload: ${fmt(w.prefill)} prefill + ${fmt(ops)} ops generated in ${fmt(genMs)} ms`,
  );

  // 1. Verify (and warm up): every engine must fill exactly what the reference book fills,
  // operation by operation. An engine that refuses an operation stops its pass; the earliest
  // disagreement is reported first, since a refusal is usually its consequence.
  const fills = new Map<string, Float64Array>();
  const refusals: string[] = [];
  for (const a of adapters) {
    t = performance.now();
    const f = new Float64Array(w.length).fill(Number.NaN);
    a.prepare(w);
    a.reset();
    try {
      a.runVerify(0, w.length, f);
      checkDepth(a, w, 'verification');
    } catch (e) {
      if (!(e instanceof BenchFailure)) throw e;
      refusals.push(e.message);
    }
    a.release();
    fills.set(a.name, f);
    console.error(`[${symbols} symbol(s)] ${a.name}: verified in ${fmt(performance.now() - t)} ms`);
  }
  const mismatches: string[] = [];
  for (let i = 0; i < w.length && mismatches.length < 10; i++) {
    const expected = w.expectedFill[i]!;
    const row = adapters.map((a) => fills.get(a.name)![i]!);
    if (row.some(Number.isNaN)) break; // an engine stopped here: its refusal is reported below
    if (row.some((v) => v !== expected)) {
      const got = adapters.map((a, k) => `${a.name}=${row[k]}`).join(' ');
      mismatches.push(`${describeOp(w, i)}: filled ${got} (workload reference book: ${expected})`);
    }
  }
  if (mismatches.length > 0 || refusals.length > 0) {
    const parts: string[] = [];
    if (mismatches.length > 0)
      parts.push(`engines disagree on the filled quantity:\n  ${mismatches.join('\n  ')}`);
    if (refusals.length > 0) parts.push(refusals.join('\n'));
    fail(parts.join('\n'));
  }
  fills.clear();

  // 2-4, one engine at a time (only its own pre-built operations on the heap).
  const lat = new Float64Array(ops);
  const timer = calibrateTimer(ops, lat, w.kind);
  const results: EngineResult[] = [];
  for (const a of adapters) {
    a.prepare(w);

    // 2. Warm up the measured loop itself, on a fresh book.
    a.reset();
    a.runRange(0, w.length);
    checkDepth(a, w, 'warm-up');
    a.dispose();

    // 3. Throughput: `repeat` passes on fresh books; the median is reported.
    const ps: ThroughputPass[] = [];
    for (let rep = 0; rep < repeat; rep++) {
      fullGc();
      const base = memoryInUse();
      a.reset();
      a.runRange(0, w.prefill);
      const heapBefore = process.memoryUsage().heapUsed;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      a.runRange(w.prefill, w.length);
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      const heapAfter = process.memoryUsage().heapUsed;
      checkDepth(a, w, 'throughput');
      await gc.settle();
      const g = gc.within(t0, t1);
      fullGc();
      const retained = memoryInUse() - base;
      a.dispose();
      ps.push({
        wallMs: t1 - t0,
        cpuMs: (cpu.user + cpu.system) / 1000,
        gc: g,
        heapBefore,
        heapAfter,
        retained,
      });
    }

    // 4. Latency: one clock read between consecutive operations.
    fullGc();
    a.reset();
    a.runRange(0, w.prefill);
    const l0 = performance.now();
    a.runTimed(w.prefill, w.length, lat);
    const l1 = performance.now();
    checkDepth(a, w, 'latency');
    await gc.settle();
    const gcLatency = gc.within(l0, l1);
    a.release();
    const latency = latencyOf(lat, ops, timer.medianNs);

    const sorted = [...ps].sort((x, y) => x.wallMs - y.wallMs);
    const median = sorted[(sorted.length - 1) >> 1]!;
    const gcThroughput: GcStats = {
      count: ps.reduce((n, p) => n + p.gc.count, 0),
      major: ps.reduce((n, p) => n + p.gc.major, 0),
      maxMs: Math.max(...ps.map((p) => p.gc.maxMs)),
      totalMs: ps.reduce((n, p) => n + p.gc.totalMs, 0),
    };
    results.push({
      name: a.name,
      opsPerSec: ops / (median.wallMs / 1000),
      passOpsPerSec: ps.map((p) => ops / (p.wallMs / 1000)),
      passCpuShare: ps.map((p) => p.cpuMs / p.wallMs),
      opsPerCpuSec: ops / (median.cpuMs / 1000),
      wallMs: median.wallMs,
      latency,
      maxGcPauseMs: gcThroughput.maxMs,
      gcThroughput,
      gcLatency,
      heapBeforeMb: median.heapBefore / 1e6,
      heapAfterMb: median.heapAfter / 1e6,
      retainedMb: median.retained / 1e6,
    });
    console.error(
      `[${symbols} symbol(s)] ${a.name}: ${ps.map((p) => fmt(ops / (p.wallMs / 1000))).join(' / ')} ops/s, ` +
        `p99 ${fmt(latency.p99)} ns`,
    );
  }
  return {
    symbols,
    ops,
    prefill: w.prefill,
    genMs,
    workload: { mix: w.mix, filledOps: w.filledOps, finalDepth: w.finalDepth },
    timer,
    engines: results,
    passMs: performance.now() - started,
  };
}

function pad(s: string, n: number, right = true): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function table(c: ConfigResult): string {
  const lines: string[] = [];
  const mix = Object.entries(c.workload.mix)
    .map(([k, v]) => `${OP_NAMES[Number(k) as Op]} ${((100 * v) / c.ops).toFixed(1)}%`)
    .join(', ');
  lines.push(
    `${c.symbols} symbol(s): ${fmt(c.ops)} ops after ${fmt(c.prefill)} prefill orders; ${mix}; ` +
      `${((100 * c.workload.filledOps) / c.ops).toFixed(1)}% of ops trade; ` +
      `book at end: ${c.workload.finalDepth.bidLevels + c.workload.finalDepth.askLevels} levels`,
  );
  lines.push(
    `timer: one performance.now() per op, its own cost (median of an empty loop) ${c.timer.medianNs.toFixed(0)} ns ` +
      `subtracted from every interval; the empty loop itself (noise floor): p99 ${fmt(c.timer.p99Ns)} ns, ` +
      `p99.9 ${fmt(c.timer.p999Ns)} ns, max ${fmt(c.timer.maxNs)} ns`,
  );
  const head = [
    pad('engine', 21, false),
    pad('ops/s', 10),
    pad('p50 ns', 7),
    pad('p90 ns', 7),
    pad('p99 ns', 7),
    pad('p99.9 ns', 9),
    pad('max ns', 11),
    pad('max GC ms', 9),
    pad('GCs/full', 8),
    pad('lat.pass GC', 12),
    pad('heap MB before->after', 22),
    pad('kept MB', 7),
  ].join(' ');
  lines.push(head);
  lines.push('-'.repeat(head.length));
  for (const e of c.engines) {
    lines.push(
      [
        pad(e.name, 21, false),
        pad(fmt(e.opsPerSec), 10),
        pad(fmt(e.latency.p50), 7),
        pad(fmt(e.latency.p90), 7),
        pad(fmt(e.latency.p99), 7),
        pad(fmt(e.latency.p999), 9),
        pad(fmt(e.latency.max), 11),
        pad(e.maxGcPauseMs.toFixed(2), 9),
        pad(`${e.gcThroughput.count}/${e.gcThroughput.major}`, 8),
        pad(`${e.gcLatency.count} / ${e.gcLatency.maxMs.toFixed(2)}`, 12),
        pad(`${e.heapBeforeMb.toFixed(0)} -> ${e.heapAfterMb.toFixed(0)}`, 22),
        pad(e.retainedMb.toFixed(1), 7),
      ].join(' '),
    );
  }
  for (const e of c.engines) {
    const passes = e.passOpsPerSec.map((v, k) => `${fmt(v)} (CPU ${(100 * e.passCpuShare[k]!).toFixed(0)}%)`);
    lines.push(
      `  ${e.name} throughput passes: ${passes.join(' / ')} ops/s; median pass per CPU-second: ${fmt(e.opsPerCpuSec)} ops/s`,
    );
  }
  const ours = c.engines.find((e) => e.name === OURS);
  const bestPeer = bestPeerOf(c);
  if (ours !== undefined && bestPeer !== undefined) {
    lines.push(
      `${OURS} / best peer (${bestPeer.name}): ${(ours.opsPerSec / bestPeer.opsPerSec).toFixed(2)}x`,
    );
  }
  lines.push(`configuration wall time ${(c.passMs / 1000).toFixed(1)} s`);
  return lines.join('\n');
}

function bestPeerOf(c: ConfigResult): EngineResult | undefined {
  let best: EngineResult | undefined;
  for (const e of c.engines) {
    if (e.name !== OURS && (best === undefined || e.opsPerSec > best.opsPerSec)) best = e;
  }
  return best;
}

function jsonLine(c: ConfigResult): string {
  const ours = c.engines.find((e) => e.name === OURS);
  const peers: Record<string, { opsPerSec: number; p99Nanos: number }> = {};
  for (const name of PEERS) {
    const p = c.engines.find((e) => e.name === name);
    if (p !== undefined)
      peers[name] = { opsPerSec: Math.round(p.opsPerSec), p99Nanos: Math.round(p.latency.p99) };
  }
  const best = bestPeerOf(c);
  return JSON.stringify({
    bench: 'engine',
    ops: c.ops,
    symbols: c.symbols,
    opsPerSec: ours === undefined ? null : Math.round(ours.opsPerSec),
    p50Nanos: ours === undefined ? null : Math.round(ours.latency.p50),
    p99Nanos: ours === undefined ? null : Math.round(ours.latency.p99),
    p999Nanos: ours === undefined ? null : Math.round(ours.latency.p999),
    maxGcPauseMs: ours === undefined ? null : Number(ours.maxGcPauseMs.toFixed(3)),
    peers,
    ratioVsBestPeer:
      ours === undefined || best === undefined ? null : Number((ours.opsPerSec / best.opsPerSec).toFixed(2)),
  });
}

function verdict(c: ConfigResult): string {
  const ours = c.engines.find((e) => e.name === OURS);
  const best = bestPeerOf(c);
  if (ours === undefined) return '';
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const parts = [
    `ops/s ${fmt(ours.opsPerSec)} vs >= ${fmt(TARGET_OPS_PER_SEC)}: ${mark(ours.opsPerSec >= TARGET_OPS_PER_SEC)}`,
    `p99 ${fmt(ours.latency.p99)} ns vs <= ${fmt(TARGET_P99_NS)}: ${mark(ours.latency.p99 <= TARGET_P99_NS)}`,
    `max GC ${ours.maxGcPauseMs.toFixed(3)} ms vs <= ${TARGET_GC_MS}: ${mark(ours.maxGcPauseMs <= TARGET_GC_MS)}`,
  ];
  if (best !== undefined) {
    const r = ours.opsPerSec / best.opsPerSec;
    parts.push(`ratio ${r.toFixed(2)}x vs >= ${TARGET_RATIO}x: ${mark(r >= TARGET_RATIO)}`);
  }
  return `targets (${c.symbols} symbol(s)): ${parts.join('; ')}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ops: { type: 'string', default: '1000000' },
      symbols: { type: 'string', default: '1,10' },
      seed: { type: 'string', default: '42' },
      'target-orders': { type: 'string', default: String(DEFAULT_WORKLOAD.targetOrders) },
      engines: { type: 'string' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const ops = Number(values.ops);
  const seed = Number(values.seed);
  const targetOrders = Number(values['target-orders']);
  const configs = values.symbols.split(',').map(Number);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');
  if (!Number.isInteger(ops) || ops < 1) throw new Error('--ops must be a positive integer');
  if (configs.some((s) => !Number.isInteger(s) || s < 1 || s > 255)) throw new Error('--symbols: 1..255');
  const only = values.engines === undefined ? undefined : new Set(values.engines.split(','));
  fullGc(); // fails early without --expose-gc

  const started = performance.now();
  console.log(
    `Engine benchmark: node ${process.version} (V8 ${process.versions.v8}), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${availableParallelism()} cores; seed ${seed}; ${fmt(ops)} ops; symbols ${configs.join(', ')}`,
  );
  const gc = new GcMonitor();
  // Run the 1-symbol configuration first if present; print it last.
  const order = [...configs].sort((a, b) => (a === 1 ? -1 : b === 1 ? 1 : a - b));
  const results: ConfigResult[] = [];
  for (const s of order) results.push(await runConfig(s, ops, seed, targetOrders, only, repeat, gc));
  gc.stop();

  console.log(
    [
      'method: every engine runs the same pre-built operations on fresh books (prefill untimed), after a verification',
      'pass (doubles as warm-up: all engines must fill the same lots on every op) and a warm-up pass of the loop.',
      `ops/s: measured ops / wall time of a pass with no per-op timing; median of ${repeat} passes, one engine at a time.`,
      'latency: separate pass, one performance.now() between consecutive ops, minus the median cost of a clock read',
      '(empty loop of the same shape), recorded in an HdrHistogram. max GC ms, GCs/full: perf_hooks gc entries during',
      'all throughput passes (full = mark-compact); lat.pass GC: count / longest ms during the latency pass',
      '(performance.now() itself allocates there).',
      'heap: heapUsed before -> after the median throughput pass (includes the pre-built operations); kept: heap +',
      'ArrayBuffers the books still hold after the run and a full GC. CPU %: process CPU time (all threads: GC and',
      'compiler threads can push it past 100%) / wall time of a pass; well below 100% means other processes had the',
      'core, and ops per CPU-second of the median pass shows what the engine does when it runs.',
    ].join('\n'),
  );
  const printed = [...results].sort((a, b) =>
    a.symbols === 1 ? 1 : b.symbols === 1 ? -1 : a.symbols - b.symbols,
  );
  for (const c of printed) {
    console.log('');
    console.log(table(c));
    console.log(verdict(c));
  }
  console.log(`total wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const c of printed) console.log(jsonLine(c));
}

main().catch((e: unknown) => {
  if (e instanceof BenchFailure) {
    console.error(`BENCHMARK FAILED: ${e.message}`);
  } else {
    console.error(e);
  }
  process.exit(1);
});
