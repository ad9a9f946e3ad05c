/**
 * The journal alone: how fast the group-commit writer makes command records durable on this
 * disk, with fdatasync and without, and how fast a journal replays.
 *
 *   node --import tsx bench/journal.bench.ts                 2,000,000 records per pass
 *   node --import tsx bench/journal.bench.ts --records 500000 --group 1024 --rate 1000000
 *   flags: --records N  --group N (max records per group)  --rate N (paced pass, records/s)
 *          --seconds N (paced pass length)  --dir PATH (default: a temp dir, removed after)
 *
 * Records are realistic command records (70% placements, half with a client order id, 30%
 * cancels) built with the codec, stamped with gapless seqs by the main thread, which plays
 * the sequencer: it claims and publishes batches into the journal's ring as fast as the ring
 * takes them (or, in the paced pass, at a fixed rate, turning the event loop between
 * batches so that `onDurable` acknowledgements arrive as they would in the core).
 *
 * Passes, each on a fresh journal directory:
 *   1. fsync off, unpaced: the writer's encode + write ceiling;
 *   2. fsync on, unpaced: durable throughput, group sizes and fdatasync latency;
 *   3. fsync on, paced at --rate: publish-to-durable (acknowledgement) latency;
 *   4. replay of pass 2's journal (recovery speed).
 * The last line is JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import {
  CancelRestriction,
  type Command,
  encodeCommand,
  OrderType,
  orderId,
  RECORD_BYTES,
  RecordViews,
  Side,
  StpMode,
  seq,
  symbolId,
  TimeInForce,
  userId,
} from '../engine/index.ts';
import { Journal, type JournalStats } from '../engine/runtime/journal/journal.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    group: { type: 'string', default: '4096' },
    rate: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const RECORDS = Number(args.records);
const MAX_GROUP = Number(args.group);
const RATE = Number(args.rate);
const PACED_SECONDS = Number(args.seconds);
const RING = 65536;
const F = RECORD_BYTES / 8;
const root = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-journal-bench-'));
fs.mkdirSync(root, { recursive: true });

/** RING realistic command records; slot i of the ring gets pool record i (seq and ts restamped). */
function makePool(): RecordViews {
  const v = new RecordViews(new ArrayBuffer(RING * RECORD_BYTES));
  let x = 12345;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const base = { seq: seq(1), tsMicros: 1_760_000_000_000_000, symbolId: symbolId(rnd(10)) };
  for (let i = 0; i < RING; i++) {
    const cid = rnd(2) === 0 ? `web_${(100_000_000 + i).toString(36)}_${rnd(1e6)}` : '';
    const cmd: Command =
      rnd(10) < 7
        ? {
            kind: 'PlaceOrder',
            ...base,
            userId: userId(1 + rnd(100_000)),
            orderId: orderId(1_000_000 + i),
            side: rnd(2) === 0 ? Side.BUY : Side.SELL,
            orderType: OrderType.LIMIT,
            timeInForce: TimeInForce.GTC,
            stpMode: StpMode.DEFAULT,
            priceTicks: 6_000_000 + rnd(20_000),
            qtyLots: 1 + rnd(10_000),
            quoteQtyUnits: 0,
            clientOrderId: cid,
          }
        : {
            kind: 'CancelOrder',
            ...base,
            userId: userId(1 + rnd(100_000)),
            orderId: orderId(1_000_000 + rnd(i + 1)),
            clientOrderId: '',
            cancelRestriction: CancelRestriction.NONE,
          };
    encodeCommand(v, i, cmd);
  }
  return v;
}

const pool = makePool();

/** Publishes up to `n` records with seqs from `next` into the ring; returns how many. */
function publish(j: Journal, next: number, n: number): number {
  const ring = j.ring;
  const got = ring.claim(n);
  if (got === 0) return 0;
  const slot = ring.slot(ring.nextWriteSequence);
  const head = Math.min(got, RING - slot);
  const u8 = ring.records.u8;
  const f64 = ring.records.f64;
  u8.set(pool.u8.subarray(slot * RECORD_BYTES, (slot + head) * RECORD_BYTES), slot * RECORD_BYTES);
  if (got > head) u8.set(pool.u8.subarray(0, (got - head) * RECORD_BYTES), 0);
  const ts = 1_760_000_000_000_000 + Math.floor(performance.now() * 1000);
  for (let k = 0; k < got; k++) {
    const at = ring.slot(ring.nextWriteSequence + k) * F;
    f64[at + 2] = next + k;
    f64[at + 3] = ts;
  }
  ring.publish(got);
  return got;
}

interface PassResult {
  name: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  journalMBPerSec: number;
  bytesPerRecord: number;
  stats: JournalStats;
  ack?: { p50: number; p99: number; p999: number; max: number };
}

async function unpaced(name: string, fsync: boolean): Promise<PassResult & { dir: string }> {
  const dir = path.join(root, name);
  const j = Journal.open(dir, { fsync, maxGroupRecords: MAX_GROUP, ringCapacity: RING });
  await j.startWriter();
  // Warm-up (JIT, first segment), then measure from clean counters.
  let next = 1;
  while (next <= 100_000) {
    const got = publish(j, next, Math.min(1024, 100_001 - next));
    if (got === 0) await j.ring.waitForSpaceAsync(1024);
    next += got;
  }
  await j.waitDurable(next - 1);
  j.clearStats();
  const end = next + RECORDS;
  const t0 = performance.now();
  while (next < end) {
    const got = publish(j, next, Math.min(1024, end - next));
    if (got === 0) await j.ring.waitForSpaceAsync(1024);
    next += got;
  }
  await j.waitDurable(end - 1);
  const seconds = (performance.now() - t0) / 1000;
  const stats = j.stats();
  await j.close();
  return {
    name,
    dir,
    records: RECORDS,
    seconds,
    recordsPerSec: RECORDS / seconds,
    journalMBPerSec: stats.bytes / 1e6 / seconds,
    bytesPerRecord: stats.bytes / stats.records,
    stats,
  };
}

async function paced(): Promise<PassResult> {
  const dir = path.join(root, 'paced');
  const j = Journal.open(dir, { fsync: true, maxGroupRecords: MAX_GROUP, ringCapacity: RING });
  await j.startWriter();
  const total = Math.round(RATE * PACED_SECONDS);
  // Publish times per batch of records: [last seq, time].
  const batchLast = new Float64Array(total + 1);
  const batchAt = new Float64Array(total + 1);
  let batches = 0;
  let acked = 0;
  const ack = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  j.onDurable((d) => {
    const now = performance.now();
    while (acked < batches && batchLast[acked]! <= d) {
      ack.recordValue(Math.max(1, Math.round((now - batchAt[acked]!) * 1000)));
      acked++;
    }
  });
  j.clearStats();
  let next = 1;
  const t0 = performance.now();
  while (next <= total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
    while (next <= due) {
      const got = publish(j, next, Math.min(4096, due - next + 1));
      if (got === 0) break;
      next += got;
      batchLast[batches] = next - 1;
      batchAt[batches] = performance.now();
      batches++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await j.waitDurable(total);
  while (acked < batches) await new Promise((r) => setTimeout(r, 1));
  const seconds = (performance.now() - t0) / 1000;
  const stats = j.stats();
  await j.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    name: `fsync on, paced at ${RATE.toLocaleString('en-US')}/s`,
    records: total,
    seconds,
    recordsPerSec: total / seconds,
    journalMBPerSec: stats.bytes / 1e6 / seconds,
    bytesPerRecord: stats.bytes / stats.records,
    stats,
    ack: {
      p50: ack.getValueAtPercentile(50),
      p99: ack.getValueAtPercentile(99),
      p999: ack.getValueAtPercentile(99.9),
      max: ack.maxValue,
    },
  };
}

function replay(dir: string): { records: number; seconds: number; recordsPerSec: number } {
  const j = Journal.open(dir, { verify: 'last' });
  let records = 0;
  let check = 0;
  const t0 = performance.now();
  j.replay(1, (views, n) => {
    records += n;
    check += views.f64[(n - 1) * F + 2]!;
  });
  const seconds = (performance.now() - t0) / 1000;
  if (check <= 0) throw new Error('replay read nothing');
  const open0 = performance.now();
  Journal.open(dir, { verify: 'all' });
  const openSeconds = (performance.now() - open0) / 1000;
  console.log(`  open with verify 'all' (every CRC) of the same journal: ${openSeconds.toFixed(2)} s`);
  return { records, seconds, recordsPerSec: records / seconds };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function show(r: PassResult): void {
  const s = r.stats;
  console.log(`${r.name}: ${fmt(r.records)} records in ${r.seconds.toFixed(2)} s`);
  console.log(
    `  ${fmt(r.recordsPerSec)} records/s, ${r.journalMBPerSec.toFixed(1)} MB/s journal ` +
      `(${r.bytesPerRecord.toFixed(1)} bytes/record, ${((r.recordsPerSec * RECORD_BYTES) / 1e6).toFixed(0)} MB/s of 192-byte records)`,
  );
  console.log(
    `  groups ${fmt(s.groups)}: size mean ${s.groupSize.mean.toFixed(0)}, p50 ${s.groupSize.p50}, ` +
      `p99 ${s.groupSize.p99}, max ${s.groupSize.max}; write ${(s.writeMicrosTotal / Math.max(1, s.groups)) | 0} µs/group`,
  );
  if (s.fsyncMicros.count > 0) {
    const f = s.fsyncMicros;
    console.log(
      `  fdatasync µs: p50 ${fmt(f.p50)}, p99 ${fmt(f.p99)}, p99.9 ${fmt(f.p999)}, max ${fmt(f.max)} (mean ${fmt(f.mean)})`,
    );
  }
  if (r.ack) {
    console.log(
      `  publish-to-durable µs: p50 ${fmt(r.ack.p50)}, p99 ${fmt(r.ack.p99)}, p99.9 ${fmt(r.ack.p999)}, max ${fmt(r.ack.max)}`,
    );
  }
}

async function main(): Promise<void> {
  console.log(`journal bench: ${fmt(RECORDS)} records per pass, groups up to ${MAX_GROUP}, dir ${root}`);
  const off = await unpaced('fsync-off', false);
  show(off);
  fs.rmSync(off.dir, { recursive: true, force: true });
  const on = await unpaced('fsync-on', true);
  show(on);
  const p = await paced();
  show(p);
  const r = replay(on.dir);
  console.log(
    `replay: ${fmt(r.records)} records in ${r.seconds.toFixed(2)} s, ${fmt(r.recordsPerSec)} records/s`,
  );
  if (!args.dir) fs.rmSync(root, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'journal',
      records: RECORDS,
      maxGroup: MAX_GROUP,
      noSyncRecordsPerSec: Math.round(off.recordsPerSec),
      noSyncMBPerSec: Number(off.journalMBPerSec.toFixed(1)),
      durableRecordsPerSec: Math.round(on.recordsPerSec),
      durableMBPerSec: Number(on.journalMBPerSec.toFixed(1)),
      bytesPerRecord: Number(on.bytesPerRecord.toFixed(1)),
      groupP50: on.stats.groupSize.p50,
      groupMean: Math.round(on.stats.groupSize.mean),
      fsyncP50Micros: Math.round(on.stats.fsyncMicros.p50),
      fsyncP99Micros: Math.round(on.stats.fsyncMicros.p99),
      pacedRate: RATE,
      pacedAckP50Micros: p.ack!.p50,
      pacedAckP99Micros: p.ack!.p99,
      pacedFsyncP99Micros: Math.round(p.stats.fsyncMicros.p99),
      pacedFsyncP99ByTimeMicros: Math.round(p.stats.fsyncMicros.p99Weighted),
      replayRecordsPerSec: Math.round(r.recordsPerSec),
    }),
  );
}

await main();
