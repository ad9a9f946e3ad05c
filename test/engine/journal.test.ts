/**
 * The journal's files, written in this thread (`appendSync`, the writer's own code path):
 * replay across segments, prune, recovery of a torn tail, and the clear errors for damage
 * elsewhere (a flipped byte, a bad header, a seq gap) and for a directory it cannot write.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RECORD_BYTES, RecordViews, seqAt } from '../../engine/model/codec.ts';
import { Journal, JournalError, type JournalOptions } from '../../engine/runtime/journal/journal.ts';
import {
  encodeSegmentHeader,
  JournalEncoder,
  segmentFileName,
} from '../../engine/runtime/journal/journal-format.ts';

const F = RECORD_BYTES / 8;

/** `count` varied command records with seqs `first..`, the same for the same arguments. */
function makeRecords(first: number, count: number): RecordViews {
  const v = new RecordViews(new ArrayBuffer(count * RECORD_BYTES));
  let x = first * 2654435761;
  const rnd = (): number => {
    x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) | 0;
    return x >>> 0;
  };
  for (let i = 0; i < count; i++) {
    const b = i * RECORD_BYTES;
    v.u8[b] = 1 + (rnd() % 5);
    v.u8[b + 1] = rnd() & 1;
    v.u32[i * (RECORD_BYTES / 4) + 2] = rnd() % 3;
    v.f64[i * F + 2] = first + i;
    v.f64[i * F + 3] = 1_700_000_000_000_000 + i;
    v.f64[i * F + 4] = 1 + (rnd() % 100_000);
    v.f64[i * F + 5] = rnd() * 1024 + (rnd() % 1024);
    v.f64[i * F + 6] = rnd() % 7 === 0 ? 0 : rnd() % 5_000_000;
    v.f64[i * F + 7] = rnd() % 1_000_000;
    if (rnd() % 3 === 0) {
      v.u8[b + 88] = 12;
      for (let k = 0; k < 12; k++) v.u8[b + 89 + k] = 0x41 + (rnd() % 26);
    }
  }
  return v;
}

/** Every record replayed from `from`, copied out, as one buffer. */
function replayAll(j: Journal, from: number): { bytes: Uint8Array; count: number; batches: number } {
  const chunks: Uint8Array[] = [];
  let count = 0;
  let batches = 0;
  j.replay(
    from,
    (views, n) => {
      chunks.push(views.u8.slice(0, n * RECORD_BYTES));
      count += n;
      batches++;
    },
    { batchRecords: 1000 },
  );
  return { bytes: Buffer.concat(chunks), count, batches };
}

let root = '';
let seqDir = 0;
const dirs = (): string => path.join(root, `j${++seqDir}`);

function openWith(dir: string, options: JournalOptions = {}): Journal {
  return Journal.open(dir, { fsync: false, ringCapacity: 64, ...options });
}

/** A closed journal in a new directory holding seqs 1..total, written in groups of `group`. */
async function written(total: number, group: number, options: JournalOptions = {}): Promise<string> {
  const dir = dirs();
  const j = openWith(dir, options);
  const all = makeRecords(1, total);
  for (let i = 0; i < total; i += group) j.appendSync(all, i, Math.min(group, total - i));
  await j.close();
  return dir;
}

function expectError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof JournalError, `expected a JournalError, got ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('journal files', () => {
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'crossbook-journal-'));
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('opens an empty directory (creating it) at seq 0', async () => {
    const dir = path.join(dirs(), 'nested', 'deeper');
    const j = openWith(dir);
    assert.equal(j.recovery.lastSeq, 0);
    assert.equal(j.durableSeq, 0);
    assert.deepEqual(j.recovery.segments, []);
    assert.equal(replayAll(j, 1).count, 0);
    await j.close();
    assert.ok(fs.statSync(dir).isDirectory());
  });

  it('rolls segments past the size limit and replays across them byte-identical, from any seq', async () => {
    const dir = await written(20_000, 700, { segmentBytes: 256 * 1024 });
    const j = openWith(dir, { segmentBytes: 256 * 1024 });
    assert.equal(j.recovery.lastSeq, 20_000);
    const segs = j.segments();
    assert.ok(segs.length >= 5, `expected several segments, got ${segs.length}`);
    assert.equal(segs[0]!.firstSeq, 1);
    for (const s of j.recovery.segments) assert.ok(s.bytes <= 256 * 1024, `${s.file} has ${s.bytes} bytes`);
    const all = makeRecords(1, 20_000);
    const got = replayAll(j, 1);
    assert.equal(got.count, 20_000);
    assert.equal(got.batches, 20);
    assert.ok(Buffer.from(got.bytes).equals(Buffer.from(all.u8)), 'replayed records are byte-identical');
    for (const from of [segs[2]!.firstSeq, segs[2]!.firstSeq + 1, segs[2]!.firstSeq - 1, 19_999, 20_000]) {
      const part = replayAll(j, from);
      assert.equal(part.count, 20_001 - from);
      assert.ok(Buffer.from(part.bytes).equals(Buffer.from(all.u8.subarray((from - 1) * RECORD_BYTES))));
    }
    assert.equal(replayAll(j, 20_001).count, 0);
    await j.close();
  });

  it('continues appending after a reopen, into the same last segment', async () => {
    const dir = await written(1000, 100);
    const j = openWith(dir);
    assert.equal(j.recovery.lastSeq, 1000);
    j.appendSync(makeRecords(1001, 500), 0, 500);
    assert.equal(j.durableSeq, 1500);
    assert.equal(j.segments().length, 1);
    await j.close();
    const again = openWith(dir);
    assert.equal(again.recovery.lastSeq, 1500);
    assert.equal(replayAll(again, 900).count, 601);
    await again.close();
  });

  it('prunes whole segments at or below a seq, never the active one', async () => {
    const dir = await written(20_000, 500, { segmentBytes: 128 * 1024 });
    const j = openWith(dir, { segmentBytes: 128 * 1024 });
    const before = j.segments();
    assert.ok(before.length >= 6);
    const third = before[3]!.firstSeq;
    assert.deepEqual(
      j.prune(third - 2),
      before.slice(0, 2).map((s) => s.file),
      'segment 2 still holds third-1',
    );
    assert.deepEqual(j.prune(third - 1), [before[2]!.file]);
    assert.equal(j.segments()[0]!.firstSeq, third);
    assert.equal(replayAll(j, third).count, 20_001 - third);
    expectError(
      () => j.replay(third - 1, () => {}),
      /cannot replay .* from seq \d+: its oldest segment starts at/,
    );
    const left = j.prune(Number.MAX_SAFE_INTEGER);
    assert.equal(j.segments().length, 1, 'the active segment stays');
    assert.equal(left.length, before.length - 4);
    await j.close();
    const again = openWith(dir);
    assert.equal(again.recovery.lastSeq, 20_000);
    await again.close();
  });

  it('truncates a torn tail, reports it, and continues appending after it', async () => {
    const dir = await written(3000, 1000);
    const [seg] = openWith(dir).segments();
    const file = seg!.file;
    const good = fs.statSync(file).size;
    // Half a record: a plausible length and CRC and a few payload bytes.
    fs.appendFileSync(file, Buffer.from([60, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]));
    const logs: string[] = [];
    const j = openWith(dir, { log: (m) => logs.push(m) });
    assert.equal(j.recovery.lastSeq, 3000);
    assert.deepEqual(j.recovery.truncated, { file, offset: good, bytes: 11 });
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, new RegExp(`torn tail of 11 bytes .* at byte offset ${good}`));
    assert.equal(fs.statSync(file).size, good);
    j.appendSync(makeRecords(3001, 10), 0, 10);
    await j.close();
    const again = openWith(dir);
    assert.equal(again.recovery.truncated, null);
    assert.equal(again.recovery.lastSeq, 3010);
    const got = replayAll(again, 2991);
    assert.equal(got.count, 20);
    assert.deepEqual(
      Array.from({ length: 20 }, (_, i) => new RecordViews(new Uint8Array(got.bytes).buffer).f64[i * F + 2]),
      Array.from({ length: 20 }, (_, i) => 2991 + i),
    );
    await again.close();
  });

  it('treats a last record with a bad CRC and nothing after it as a torn tail', async () => {
    const dir = await written(500, 500);
    const file = openWith(dir).segments()[0]!.file;
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, size - 3); // inside the last record's payload
    fs.closeSync(fd);
    const j = openWith(dir);
    assert.equal(j.recovery.lastSeq, 499);
    assert.ok(j.recovery.truncated !== null && j.recovery.truncated.offset < size - 3);
    await j.close();
  });

  it('removes a last segment whose header was cut short (a crash while rolling)', async () => {
    const dir = await written(100, 100);
    fs.writeFileSync(path.join(dir, segmentFileName(101)), Buffer.from('CBJ'));
    const j = openWith(dir);
    assert.equal(j.recovery.lastSeq, 100);
    assert.match(String(j.recovery.removed), /00000000000000000101\.seg$/);
    j.appendSync(makeRecords(101, 1), 0, 1);
    await j.close();
  });

  it('takes a last segment with a header and no records (a crash after rolling) and appends into it', async () => {
    const dir = await written(100, 100);
    const empty = path.join(dir, segmentFileName(101));
    fs.writeFileSync(empty, encodeSegmentHeader(101));
    const j = openWith(dir);
    assert.equal(j.recovery.lastSeq, 100);
    assert.equal(j.recovery.segments.at(-1)!.lastSeq, 100);
    j.appendSync(makeRecords(101, 5), 0, 5);
    assert.equal(fs.statSync(empty).size > 24, true);
    assert.equal(replayAll(j, 99).count, 7);
    await j.close();
  });

  it("with verify 'last', leaves older segments' records to replay, which refuses their corruption", async () => {
    const dir = await written(4000, 400, { segmentBytes: 64 * 1024 });
    const [first, second] = openWith(dir).segments();
    const bytes = fs.readFileSync(first!.file);
    bytes[1000]! ^= 0xff;
    fs.writeFileSync(first!.file, bytes);
    expectError(() => openWith(dir), new RegExp(`^${first!.file}: corrupt journal at byte offset \\d+`));
    const j = openWith(dir, { verify: 'last' });
    assert.equal(j.recovery.lastSeq, 4000);
    assert.equal(j.recovery.segments[0]!.lastSeq, second!.firstSeq - 1);
    expectError(
      () => j.replay(1, () => {}),
      new RegExp(`^${first!.file}: corrupt journal at byte offset \\d+: a record`),
    );
    assert.equal(replayAll(j, second!.firstSeq).count, 4001 - second!.firstSeq);
    await j.close();
  });

  it('refuses to open a segment with a flipped byte in the middle, naming the file and offset', async () => {
    const dir = await written(2000, 250);
    const file = openWith(dir).segments()[0]!.file;
    const size = fs.statSync(file).size;
    const at = Math.floor(size / 2);
    const bytes = fs.readFileSync(file);
    bytes[at]! ^= 0x40;
    fs.writeFileSync(file, bytes);
    // The failing record starts at or before the flipped byte, within one frame of it.
    let offset = -1;
    assert.throws(
      () => openWith(dir),
      (e: unknown) => {
        assert.ok(e instanceof JournalError);
        assert.ok(e.message.startsWith(`${file}: corrupt journal at byte offset `), e.message);
        offset = Number(/byte offset (\d+)/.exec(e.message)![1]);
        assert.match(e.message, /valid record after it/);
        return true;
      },
    );
    assert.ok(offset <= at && offset > at - 204, `offset ${offset} near ${at}`);
    assert.equal(fs.statSync(file).size, size, 'nothing was truncated');
  });

  it('refuses corruption in a segment that is not the last, even at its very end', async () => {
    const dir = await written(4000, 400, { segmentBytes: 64 * 1024 });
    const [first] = openWith(dir, { segmentBytes: 64 * 1024 }).segments();
    const size = fs.statSync(first!.file).size;
    fs.truncateSync(first!.file, size - 5);
    expectError(
      () => openWith(dir),
      new RegExp(
        `^${first!.file}: corrupt journal at byte offset \\d+: an incomplete record in a segment that is not the last`,
      ),
    );
  });

  it('refuses a segment with a bad header', async () => {
    const dir = await written(300, 100);
    const file = openWith(dir).segments()[0]!.file;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('XXXX'), 0, 4, 0);
    fs.closeSync(fd);
    expectError(() => openWith(dir), new RegExp(`^${file}: bad segment header at byte offset 0: .*magic`));
  });

  it('refuses a stray file named like a segment', () => {
    const dir = dirs();
    fs.mkdirSync(dir);
    const stray = path.join(dir, segmentFileName(1));
    fs.writeFileSync(stray, 'this is not a journal segment, just a file');
    expectError(() => openWith(dir), new RegExp(`^${stray}: bad segment header at byte offset 0`));
  });

  it('refuses a header whose first seq disagrees with its file name', async () => {
    const dir = await written(300, 100);
    const file = openWith(dir).segments()[0]!.file;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, encodeSegmentHeader(7), 0, 24, 0);
    fs.closeSync(fd);
    expectError(
      () => openWith(dir),
      /bad segment header at byte offset 0: it says first seq 7, the file name 1/,
    );
  });

  it('refuses a seq gap between segments and within one', async () => {
    const dir = await written(6000, 500, { segmentBytes: 64 * 1024 });
    const segs = openWith(dir, { segmentBytes: 64 * 1024 }).segments();
    // Remove a middle segment: the next one starts past where the previous ends.
    fs.unlinkSync(segs[1]!.file);
    expectError(
      () => openWith(dir),
      new RegExp(
        `^${segs[2]!.file}: seq gap at byte offset 0: the segment starts at seq ${segs[2]!.firstSeq}`,
      ),
    );

    // The writer refuses a gap itself, so forge a segment by hand: seqs 1..5 then 7..9.
    const dir2 = dirs();
    fs.mkdirSync(dir2);
    const file = path.join(dir2, segmentFileName(1));
    const enc = new JournalEncoder();
    const recs = makeRecords(1, 10);
    for (let i = 0; i < 5; i++) enc.append(recs, i);
    const gapAt = 24 + enc.length;
    for (let i = 6; i < 9; i++) enc.append(recs, i);
    fs.writeFileSync(file, Buffer.concat([encodeSegmentHeader(1), enc.bytes]));
    expectError(
      () => openWith(dir2),
      new RegExp(`^${file}: seq gap at byte offset ${gapAt}: record has seq 7, expected 6`),
    );
  });

  it('refuses to append a record that does not follow the last seq', async () => {
    const j = openWith(dirs());
    j.appendSync(makeRecords(5, 3), 0, 3);
    expectError(() => j.appendSync(makeRecords(9, 1), 0, 1), /seq 9 does not follow seq 7/);
    expectError(() => j.appendSync(makeRecords(7, 1), 0, 1), /seq 7 does not follow seq 7/);
    assert.equal(j.appendSync(makeRecords(8, 2), 0, 2), 9, 'a refused group writes nothing');
    await j.close();
  });

  it('refuses a journal directory it cannot create or write, naming the path', () => {
    const file = path.join(dirs());
    fs.writeFileSync(file, 'a regular file');
    const under = path.join(file, 'journal');
    expectError(() => Journal.open(under), new RegExp(`cannot create journal directory ${under}: ENOTDIR`));
    expectError(
      () => Journal.open(file),
      new RegExp(`journal directory ${file} exists and is not a directory`),
    );
    expectError(
      () => Journal.open('/proc/crossbook-journal'),
      /cannot create journal directory \/proc\/crossbook-journal: /,
    );
    expectError(() => Journal.open('/proc/self'), /journal directory \/proc\/self is not writable: /);
  });

  it('replays with large reads, hundreds of thousands of records a second at the least', async function () {
    this.timeout(20_000);
    const total = 300_000;
    const dir = await written(total, 4096);
    const j = openWith(dir);
    let seen = 0;
    let check = 0;
    const t0 = performance.now();
    j.replay(1, (views, n) => {
      for (let i = 0; i < n; i++) check += seqAt(views, i);
      seen += n;
    });
    const perSec = total / ((performance.now() - t0) / 1000);
    assert.equal(seen, total);
    assert.equal(check, (total * (total + 1)) / 2);
    // Millions a second on an idle machine (bench/journal.bench.ts); a loose floor here, as the
    // suite shares two cores with other work. A read per record would be far below it.
    assert.ok(perSec > 300_000, `replayed ${Math.round(perSec)} records/s`);
    await j.close();
  });
});
