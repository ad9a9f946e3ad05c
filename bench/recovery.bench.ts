/**
 * npm run bench:recovery — how long the core takes to come back: the newest snapshot plus a
 * replay of the journal tail, timed around `Core.start`.
 *
 *   npm run bench:recovery                              full run: a snapshot + 10,000,000 journalled commands
 *   npm run bench:recovery -- --commands 1000000        quick run
 *   flags: --commands N  --symbols N  --seed N  --dir PATH (reused when it holds a data dir
 *          this bench built with the same flags; default a temp dir, removed afterwards)
 *          --starts N (time Core.start N times on the same data dir, default 2)
 *
 * Building the data dir (untimed, bounded by the engine's own speed): the engine benchmark's
 * seeded workload (workload.ts) over N symbols with BTCUSDT's parameters, users funded first;
 * an InlineEngine (the single-threaded engine replay runs) stamps each command with its
 * sequencer and applies it, and the stamped records go straight to the journal with
 * `appendSync` (no fdatasync while building: the bench measures reading, not writing). After
 * the deposits and the prefill a snapshot is written; the --commands measured operations
 * follow it in the journal. Then `Core.start` recovers: journal open (verifies every record),
 * snapshot load, replay of the tail through the InlineEngine, shard workers, journal writer.
 * The recovered state hash must equal the building engine's.
 * The last line is JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type AssetSpec,
  CancelRestriction,
  loadMarketsFile,
  type MarketSpec,
  Markets,
  type MarketsFile,
  type OrderId,
  OrderType,
  RECORD_BYTES,
  RecordViews,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../engine/index.ts';
import { Core } from '../engine/runtime/core.ts';
import { InlineEngine } from '../engine/runtime/inline-engine.ts';
import { Journal } from '../engine/runtime/journal/journal.ts';
import type { CommandInput } from '../engine/runtime/sequencer.ts';
import { writeSnapshot } from '../engine/runtime/snapshot.ts';
import { DEFAULT_WORKLOAD, generateWorkload, Op, type Workload } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '10000000' },
    symbols: { type: 'string', default: '8' },
    seed: { type: 'string', default: '7' },
    starts: { type: 'string', default: '2' },
    dir: { type: 'string' },
  },
});
const COMMANDS = Number(args.commands);
const SYMBOLS = Number(args.symbols);
const SEED = Number(args.seed);
const STARTS = Math.max(1, Number(args.starts));
/** Per user and asset: risk keeps every asset's total a safe integer (2^50 each would fund 7 users). */
const fundsFor = (users: number): number => Math.floor((Number.MAX_SAFE_INTEGER - 1) / (users + 1));
/** Workload operations run before the snapshot, after the prefill (trades fill the fee account). */
const BEFORE_SNAPSHOT = 10_000;
const BATCH = 8192;
const root = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-recovery-bench-'));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (ms: number): string => (ms / 1000).toFixed(2);

/** SYMBOLS markets with BTCUSDT's parameters (COINkUSDT), all on shard 0. */
function marketsFile(): MarketsFile {
  const cfg = loadMarketsFile(fileURLToPath(new URL('../config/markets.json', import.meta.url))).file;
  const btc = cfg.markets.find((m) => m.symbol === 'BTCUSDT');
  const btcScale = cfg.assets.find((a) => a.asset === 'BTC')?.scale;
  const usdt = cfg.assets.find((a) => a.asset === 'USDT');
  if (btc === undefined || btcScale === undefined || usdt === undefined)
    throw new Error('config/markets.json needs BTCUSDT, BTC and USDT');
  const assets: AssetSpec[] = [];
  const markets: MarketSpec[] = [];
  for (let k = 0; k < SYMBOLS; k++) {
    assets.push({ asset: `COIN${k}`, scale: btcScale });
    markets.push({ ...btc, symbol: `COIN${k}${usdt.asset}`, baseAsset: `COIN${k}` });
  }
  assets.push(usdt);
  return { assets, markets, shardMap: { '*': 0 } };
}

/** Workload operation `i` as a core input (order ids: the workload's, as a fresh core assigns them). */
function inputOf(w: Workload, i: number): CommandInput {
  const k = w.kind[i]!;
  const sym = symbolId(w.symbol[i]!);
  const user = userId(w.userId[i]!);
  if (k === Op.GTC || k === Op.IOC || k === Op.MARKET) {
    const market = k === Op.MARKET;
    return {
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
  }
  if (k === Op.CANCEL) {
    return {
      kind: 'CancelOrder',
      symbolId: sym,
      userId: user,
      orderId: w.orderId[i]! as OrderId,
      clientOrderId: '',
      cancelRestriction: CancelRestriction.NONE,
    };
  }
  return {
    kind: 'AmendOrder',
    symbolId: sym,
    userId: user,
    orderId: w.orderId[i]! as OrderId,
    clientOrderId: '',
    priceTicks: k === Op.AMEND_QTY ? 0 : w.price[i]!,
    qtyLots: w.total[i]!,
    newClientOrderId: '',
  };
}

interface Built {
  readonly commands: number;
  readonly symbols: number;
  readonly seed: number;
  readonly snapshotSeq: number;
  readonly lastSeq: number;
  readonly hash: string;
  readonly journalBytes: number;
}

async function build(dataDir: string, file: MarketsFile): Promise<Built> {
  const t0 = performance.now();
  const w = generateWorkload({
    ...DEFAULT_WORKLOAD,
    ops: COMMANDS + BEFORE_SNAPSHOT,
    symbols: SYMBOLS,
    seed: SEED,
  });
  const tGen = performance.now();
  console.log(`  workload: ${fmt(w.length)} operations generated in ${secs(tGen - t0)} s`);
  const engine = new InlineEngine(new Markets(file));
  const journal = Journal.open(path.join(dataDir, 'journal'), { fsync: false });
  const views = new RecordViews(new ArrayBuffer(BATCH * RECORD_BYTES));
  let n = 0;
  let ts = 1_760_000_000_000_000;
  const add = (input: CommandInput): void => {
    engine.sequencer.stamp(input, ts++, views, n);
    engine.out.reset();
    engine.applyRecord(views, n);
    if (++n === BATCH) {
      journal.appendSync(views, 0, n);
      n = 0;
    }
  };
  const flush = (): void => {
    if (n > 0) journal.appendSync(views, 0, n);
    n = 0;
  };
  let ref = 1;
  for (let u = 1; u <= w.options.users; u++) {
    for (let a = 0; a <= SYMBOLS; a++) {
      add({
        kind: 'Deposit',
        userId: userId(u),
        assetId: a,
        amountUnits: fundsFor(w.options.users),
        refId: ref++,
      });
    }
  }
  for (let i = 0; i < w.prefill + BEFORE_SNAPSHOT; i++) add(inputOf(w, i));
  flush();
  const snapshotSeq = engine.sequencer.nextSeq - 1;
  const snapHash = engine.stateHash();
  // Risk.restore offsets every balance by one account when the fee account (user 0) is not in
  // the snapshot (it is exported only when non-empty): make sure it is.
  if (!engine.risk.exportState().users.includes(0))
    throw new Error('the fee account is empty at the snapshot');
  await writeSnapshot(path.join(dataDir, 'snapshots'), {
    seq: snapshotSeq,
    nextOrderId: engine.sequencer.nextOrderId,
    risk: engine.risk.exportState(),
    books: engine.books.map((b) => b.exportState()),
    hash: snapHash,
  });
  const tBody = performance.now();
  let reported = tBody;
  for (let i = w.prefill + BEFORE_SNAPSHOT; i < w.length; i++) {
    add(inputOf(w, i));
    if ((i & 0xfffff) === 0 && performance.now() - reported > 10_000) {
      reported = performance.now();
      console.log(`  ... ${fmt(i - w.prefill)} commands journalled (${secs(reported - tBody)} s)`);
    }
  }
  flush();
  await journal.close();
  const lastSeq = engine.sequencer.nextSeq - 1;
  const hash = engine.stateHash();
  const journalBytes = Journal.open(path.join(dataDir, 'journal'), { verify: 'last' })
    .segments()
    .reduce((s, f) => s + fs.statSync(f.file).size, 0);
  const tEnd = performance.now();
  console.log(
    `  journalled ${fmt(lastSeq - snapshotSeq)} commands after the snapshot at seq ${fmt(snapshotSeq)} in ${secs(tEnd - tBody)} s ` +
      `(${fmt((lastSeq - snapshotSeq) / ((tEnd - tBody) / 1000))}/s through the InlineEngine), journal ${(journalBytes / 1e6).toFixed(0)} MB`,
  );
  const built: Built = {
    commands: COMMANDS,
    symbols: SYMBOLS,
    seed: SEED,
    snapshotSeq,
    lastSeq,
    hash,
    journalBytes,
  };
  fs.writeFileSync(path.join(dataDir, 'bench-built.json'), JSON.stringify(built));
  return built;
}

async function main(): Promise<void> {
  console.log(
    `recovery bench: a snapshot + ${fmt(COMMANDS)} journalled commands over ${SYMBOLS} symbols; ` +
      `machine ${os.cpus()[0]?.model ?? '?'} x ${os.availableParallelism()}, Node ${process.version}, data dir ${root}`,
  );
  const file = marketsFile();
  fs.mkdirSync(root, { recursive: true });
  const marker = path.join(root, 'bench-built.json');
  let built: Built | null = null;
  if (fs.existsSync(marker)) {
    const b = JSON.parse(fs.readFileSync(marker, 'utf8')) as Built;
    if (b.commands === COMMANDS && b.symbols === SYMBOLS && b.seed === SEED) {
      built = b;
      console.log(
        `reusing the data dir built before (snapshot at seq ${fmt(b.snapshotSeq)}, last seq ${fmt(b.lastSeq)})`,
      );
    }
  }
  if (built === null) {
    for (const sub of ['journal', 'snapshots', 'bench-built.json'])
      fs.rmSync(path.join(root, sub), { recursive: true, force: true });
    console.log('building the data dir:');
    built = await build(root, file);
  }
  const replayCount = built.lastSeq - built.snapshotSeq;
  const times: number[] = [];
  for (let s = 0; s < STARTS; s++) {
    const marks: [string, number][] = [];
    const t0 = performance.now();
    const core = await Core.start({
      dataDir: root,
      marketsFile: file,
      snapshotEvery: 0,
      log: (m) => marks.push([m.slice(0, 60), performance.now()]),
    });
    const t1 = performance.now();
    if (core.lastSeq !== built.lastSeq)
      throw new Error(`recovered to seq ${core.lastSeq}, expected ${built.lastSeq}`);
    const hash = await core.stateHash();
    await core.close();
    if (hash !== built.hash)
      throw new Error(`recovered state hash ${hash}, the building engine's ${built.hash}`);
    times.push(t1 - t0);
    const phases = marks.map(([m, t]) => `${secs(t - t0)} s ${m}`).join('; ');
    console.log(
      `start ${s + 1}: Core.start ${secs(t1 - t0)} s, ${fmt(replayCount / ((t1 - t0) / 1000))} commands/s replayed ` +
        `(state hash checked) [${phases}]`,
    );
  }
  const best = Math.min(...times);
  console.log(
    `recovery: ${fmt(replayCount)} commands in ${secs(best)} s (best of ${STARTS}; all: ${times.map(secs).join(', ')} s), ` +
      `target under 10 s for 10,000,000: ${best / 1000 <= (10 * replayCount) / 10_000_000 ? 'met' : `missed by ${secs(best - (10_000 * replayCount) / 10_000_000)} s`}`,
  );
  if (!args.dir) fs.rmSync(root, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'recovery',
      commands: replayCount,
      recoverySeconds: Number((best / 1000).toFixed(2)),
      replayCommandsPerSec: Math.round(replayCount / (best / 1000)),
    }),
  );
}

await main();
