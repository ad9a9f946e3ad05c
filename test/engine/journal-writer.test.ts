/**
 * The journal's group-commit writer worker: records published into the ring come back from
 * replay byte-identical, the durable seq only ever rises to the last seq, a reopened journal
 * with a torn tail takes appends again, and an I/O error in the worker reaches the main
 * thread instead of leaving waiters hanging. (Each test starts one worker: they are slow to
 * start under tsx, so there are few.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RECORD_BYTES, RecordViews } from '../../engine/model/codec.ts';
import { Journal, JournalError } from '../../engine/runtime/journal/journal.ts';

const F = RECORD_BYTES / 8;

/** `count` varied command records with seqs `first..`. */
function makeRecords(first: number, count: number): RecordViews {
  const v = new RecordViews(new ArrayBuffer(count * RECORD_BYTES));
  for (let i = 0; i < count; i++) {
    const s = first + i;
    v.u8[i * RECORD_BYTES] = 1 + (s % 5);
    v.u32[i * (RECORD_BYTES / 4) + 2] = s % 3;
    v.f64[i * F + 2] = s;
    v.f64[i * F + 3] = 1_700_000_000_000_000 + s * 3;
    v.f64[i * F + 4] = 1 + ((s * 7919) % 100_000);
    v.f64[i * F + 5] = s * 13;
    v.f64[i * F + 6] = (s * 31) % 5_000_000;
    v.f64[i * F + 7] = 1 + (s % 1000);
    if (s % 3 === 0) v.u8.set([5, 0x41, 0x42, 0x43, 0x44, 0x45], i * RECORD_BYTES + 88);
  }
  return v;
}

function replayBytes(j: Journal, from: number): Buffer {
  const chunks: Uint8Array[] = [];
  j.replay(from, (views, n) => chunks.push(views.u8.slice(0, n * RECORD_BYTES)));
  return Buffer.concat(chunks);
}

describe('journal writer', () => {
  let root = '';
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-journal-writer-'));
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('makes 200,000 records durable through the worker, in rolled segments, replayed byte-identical', async function () {
    this.timeout(60_000);
    const dir = path.join(root, 'round-trip');
    const total = 200_000;
    const j = Journal.open(dir, { ringCapacity: 4096, segmentBytes: 4 * 1024 * 1024, maxGroupRecords: 1024 });
    const seen: number[] = [];
    j.onDurable((d) => seen.push(d));
    await j.startWriter();
    assert.ok(j.writing);
    const all = makeRecords(1, total);
    let lastDurable = 0;
    let monotonic = true;
    for (let i = 0; i < total; i += 5000) {
      await j.append(all, i, 5000);
      const d = j.durableSeq;
      if (d < lastDurable) monotonic = false;
      lastDurable = d;
    }
    await j.waitDurable(total);
    assert.equal(j.durableSeq, total);
    assert.ok(monotonic, 'durableSeq never went back');
    // Let the durable watcher deliver the last advance.
    for (let k = 0; k < 500 && seen.at(-1) !== total; k++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(seen.length > 0);
    assert.ok(
      seen.every((d, k) => k === 0 || d > seen[k - 1]!),
      'onDurable saw strictly rising seqs',
    );
    assert.equal(seen.at(-1), total);
    const stats = j.stats();
    assert.equal(stats.records, total);
    assert.ok(stats.groups >= total / 1024, `${stats.groups} groups`);
    assert.ok(stats.groupSize.max <= 1024 && stats.groupSize.p50 >= 1);
    assert.equal(stats.syncs, stats.groups, 'every group was synced');
    assert.ok(stats.fsyncMicros.p50 > 0);
    await j.stopWriter();
    assert.ok(!j.writing);
    const segs = j.segments();
    assert.ok(segs.length >= 3, `${segs.length} segments`);
    assert.ok(replayBytes(j, 1).equals(Buffer.from(all.u8)), 'replay gives the records back byte-identical');
    await j.close();
    const again = Journal.open(dir);
    assert.equal(again.recovery.lastSeq, total);
    assert.equal(again.recovery.truncated, null);
    await again.close();
  });

  it('reopens after a torn tail and continues appending through the worker', async function () {
    this.timeout(30_000);
    const dir = path.join(root, 'torn');
    const first = Journal.open(dir, { fsync: false });
    first.appendSync(makeRecords(1, 1000), 0, 1000);
    await first.close();
    const file = first.segments()[0]!.file;
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from([90, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    const j = Journal.open(dir, { fsync: false });
    assert.deepEqual(j.recovery.truncated, { file, offset: good, bytes: 11 });
    assert.equal(j.durableSeq, 1000);
    await j.startWriter();
    await j.append(makeRecords(1001, 500), 0, 500);
    await j.waitDurable(1500);
    await j.close();
    const again = Journal.open(dir);
    assert.equal(again.recovery.lastSeq, 1500);
    assert.equal(again.segments().length, 1);
    const got = replayBytes(again, 990);
    assert.ok(got.equals(Buffer.concat([makeRecords(990, 11).u8, makeRecords(1001, 500).u8])));
    await again.close();
  });

  it('surfaces an I/O error of the worker: waiters reject, later calls rethrow it', async function () {
    this.timeout(30_000);
    const dir = path.join(root, 'vanishing');
    const j = Journal.open(dir, { fsync: false, segmentBytes: 4096 });
    const errors: JournalError[] = [];
    j.onError((e) => errors.push(e));
    await j.startWriter();
    await j.append(makeRecords(1, 10), 0, 10);
    await j.waitDurable(10);
    // The next roll cannot create its segment.
    fs.rmSync(dir, { recursive: true });
    await j.append(makeRecords(11, 100), 0, 100);
    await assert.rejects(j.waitDurable(110), (e: unknown) => {
      assert.ok(e instanceof JournalError);
      assert.match(
        e.message,
        /journal writer failed: cannot create journal segment .*vanishing\/0+\d+\.seg: ENOENT/,
      );
      return true;
    });
    assert.throws(() => j.durableSeq, JournalError);
    await assert.rejects(j.stopWriter(), JournalError);
    await assert.rejects(j.append(makeRecords(111, 1), 0, 1), JournalError);
    assert.ok(!j.writing, 'the worker ended');
    for (let k = 0; k < 500 && errors.length === 0; k++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    await assert.rejects(j.close(), JournalError);
  });
});
