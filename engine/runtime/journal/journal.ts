/**
 * The journal, main-thread side: opening and recovering a journal directory, replay, prune,
 * and the group-commit writer worker fed by a command ring.
 *
 * Durability contract: a command is acknowledged only once `durableSeq` has reached its seq,
 * which the writer publishes after the fdatasync of the group holding it. If the writer hits
 * an error it stops, `failure` is set, waiters are rejected and every later call rethrows:
 * nothing is acknowledged past the failure. (After a failed fdatasync, the page cache cannot
 * be trusted: restart and recover, do not retry.)
 *
 * Threading: `open`, `replay`, `prune` and `appendSync` are synchronous file I/O for startup,
 * recovery and tools. In steady state the sequencer only claims and publishes into `ring`
 * and reads `durableSeq` (one atomic load) or awaits `waitDurable` / `onDurable` (built on
 * `Atomics.waitAsync`): the main thread never blocks on the disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { RECORD_BYTES, RecordViews } from '../../model/codec.ts';
import { RingBuffer } from '../ring-buffer.ts';
import { spawnWorker } from '../spawn-worker.ts';
import {
  JournalControl,
  type JournalStats,
  type WriterJob,
  type WriterPosition,
  WriterState,
} from './control.ts';
import { decodePayload, JournalError, SEGMENT_HEADER_BYTES } from './journal-format.ts';
import {
  corrupt,
  describe,
  listSegments,
  type RecordSink,
  type SegmentFile,
  SegmentReader,
  SegmentWriter,
  syncDirectory,
} from './segment-files.ts';

export type { Distribution, JournalStats } from './control.ts';
export { JournalError } from './journal-format.ts';

export interface JournalOptions {
  /** Roll to a new segment once the active one would pass this size. Default 256 MiB. */
  readonly segmentBytes?: number;
  /** Capacity of the command ring, a power of two. Default 65536. */
  readonly ringCapacity?: number;
  /** Most records the writer puts in one group (one write, one fdatasync). Default 4096. */
  readonly maxGroupRecords?: number;
  /** Sync every group (and new segments) to the disk. Default true; false for tests and benchmarks. */
  readonly fsync?: boolean;
  /**
   * What `open` reads: 'all' checks every record of every segment (CRCs, seqs); 'last'
   * checks only the headers and the last segment's records, leaving the older segments'
   * records to be checked by `replay` (faster recovery of a long journal). Default 'all'.
   */
  readonly verify?: 'all' | 'last';
  /** Told what recovery did (a truncated tail, a removed half-created segment). */
  readonly log?: (message: string) => void;
}

/** A segment as `open` found it. */
export interface SegmentSummary {
  readonly file: string;
  readonly firstSeq: number;
  /** Last seq it holds (firstSeq - 1 when empty). */
  readonly lastSeq: number;
  readonly bytes: number;
}

/** What `open` found and repaired. */
export interface JournalRecovery {
  /** Seq of the last durable record, 0 for an empty journal. */
  readonly lastSeq: number;
  readonly segments: readonly SegmentSummary[];
  /** A torn tail cut off the last segment, if there was one. */
  readonly truncated: { readonly file: string; readonly offset: number; readonly bytes: number } | null;
  /** A last segment whose header was cut short (a crash while rolling), removed. */
  readonly removed: string | null;
}

export interface ReplayResult {
  /** Records handed to `onBatch`. */
  readonly records: number;
  /** Seq of the last record read (fromSeq - 1 when none). */
  readonly lastSeq: number;
}

/** Called with a batch of decoded command records; the views are reused after it returns. */
export type BatchHandler = (views: RecordViews, count: number) => void;

const DEFAULTS = {
  segmentBytes: 256 * 1024 * 1024,
  ringCapacity: 65536,
  maxGroupRecords: 4096,
};

export class Journal {
  readonly dir: string;
  /** The command ring: the sequencer claims and publishes into it; the writer drains it. */
  readonly ring: RingBuffer;
  readonly recovery: JournalRecovery;
  private readonly control = new JournalControl();
  private readonly segmentBytes: number;
  private readonly maxGroupRecords: number;
  private readonly fsync: boolean;
  private position: WriterPosition;
  private direct: SegmentWriter | null = null;
  private worker: Worker | null = null;
  private exited: Promise<void> | null = null;
  private failed: JournalError | null = null;
  private closed = false;
  private readonly durableListeners = new Set<(seq: number) => void>();
  private readonly errorListeners = new Set<(e: JournalError) => void>();
  private watching = false;

  /**
   * Opens (creating if missing) the journal in `dir` and recovers it: a torn tail of the
   * last segment is truncated; any other damage throws JournalError naming file and offset.
   */
  static open(dir: string, options: JournalOptions = {}): Journal {
    return new Journal(path.resolve(dir), options);
  }

  private constructor(dir: string, options: JournalOptions) {
    this.dir = dir;
    this.segmentBytes = options.segmentBytes ?? DEFAULTS.segmentBytes;
    this.maxGroupRecords = options.maxGroupRecords ?? DEFAULTS.maxGroupRecords;
    this.fsync = options.fsync ?? true;
    if (!Number.isInteger(this.segmentBytes) || this.segmentBytes < 4096) {
      throw new JournalError(`segmentBytes must be an integer of at least 4096, got ${this.segmentBytes}`);
    }
    if (!Number.isInteger(this.maxGroupRecords) || this.maxGroupRecords < 1) {
      throw new JournalError(`maxGroupRecords must be a positive integer, got ${this.maxGroupRecords}`);
    }
    prepareDirectory(dir);
    this.recovery = recover(dir, options.verify ?? 'all', options.log ?? (() => {}));
    const last = this.recovery.segments.at(-1);
    this.position = {
      activeFirstSeq: last?.firstSeq ?? 0,
      activeBytes: last?.bytes ?? 0,
      lastSeq: this.recovery.lastSeq,
    };
    this.control.reset(this.position);
    this.ring = RingBuffer.create(options.ringCapacity ?? DEFAULTS.ringCapacity);
  }

  // ---------------------------------------------------------------------------------------
  // Durability

  /** Seq through which every record is on disk (one atomic load). Throws once the writer failed. */
  get durableSeq(): number {
    if (this.failed !== null || this.control.state === WriterState.Failed) throw this.failure!;
    return this.control.durableSeq;
  }

  /** The writer's error, once it has failed (the journal is then unusable); else null. */
  get failure(): JournalError | null {
    if (this.failed === null && this.control.state === WriterState.Failed) {
      this.setFailed(new JournalError(this.control.errorMessage));
    }
    return this.failed;
  }

  /** Resolves once records through `seq` are durable; rejects if the writer fails or stops first. */
  async waitDurable(seq: number): Promise<void> {
    const cell = this.control.durable;
    const target = BigInt(seq);
    for (;;) {
      const f = this.failure;
      if (f !== null) throw f;
      const now = Atomics.load(cell, 0);
      if (now >= target) return;
      if (this.worker === null) {
        throw new JournalError(
          `seq ${seq} is not durable (durable through ${now}) and the writer is not running`,
        );
      }
      const r = Atomics.waitAsync(cell, 0, now, 200);
      if (r.async) await r.value;
    }
  }

  /** Calls `cb(durableSeq)` whenever the durable seq advances while the writer runs; returns an unsubscribe. */
  onDurable(cb: (seq: number) => void): () => void {
    this.durableListeners.add(cb);
    this.watch();
    return () => this.durableListeners.delete(cb);
  }

  /** Calls `cb` once if the writer fails. */
  onError(cb: (e: JournalError) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }

  private watch(): void {
    if (this.watching || this.worker === null || this.durableListeners.size === 0) return;
    this.watching = true;
    void (async () => {
      const cell = this.control.durable;
      let seen = Atomics.load(cell, 0);
      try {
        while (this.worker !== null && this.durableListeners.size > 0 && this.failure === null) {
          const r = Atomics.waitAsync(cell, 0, seen, 200);
          if (r.async) await r.value;
          const now = Atomics.load(cell, 0);
          if (now !== seen && this.failure === null) {
            seen = now;
            const n = Number(now);
            for (const cb of this.durableListeners) cb(n);
          }
        }
      } finally {
        this.watching = false;
      }
    })();
  }

  private setFailed(e: JournalError): void {
    if (this.failed !== null) return;
    this.failed = e;
    this.control.wakeDurableWaiters();
    for (const cb of this.errorListeners) cb(e);
  }

  private throwIfFailed(): void {
    const f = this.failure;
    if (f !== null) throw f;
    if (this.closed) throw new JournalError(`journal ${this.dir} is closed`);
  }

  // ---------------------------------------------------------------------------------------
  // Writer

  /** True while the writer worker runs. */
  get writing(): boolean {
    return this.worker !== null;
  }

  /** Starts the group-commit writer; resolves once it is ready to take records from `ring`. */
  async startWriter(): Promise<void> {
    this.throwIfFailed();
    if (this.worker !== null) throw new JournalError('the journal writer is already running');
    this.direct?.close();
    this.direct = null;
    this.control.reset(this.position);
    const job: WriterJob = {
      dir: this.dir,
      ring: this.ring.buffer,
      control: this.control.buffer,
      position: this.position,
      segmentBytes: this.segmentBytes,
      maxGroupRecords: this.maxGroupRecords,
      fsync: this.fsync,
    };
    const worker = spawnWorker(new URL('./journal.worker.ts', import.meta.url), { workerData: job });
    this.worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') {
          const e = new JournalError(m.message ?? 'journal writer failed');
          this.setFailed(e);
          reject(e);
        }
      });
      worker.on('error', (err) => {
        const e = new JournalError(`journal writer crashed: ${describe(err)}`);
        this.setFailed(e);
        reject(e);
      });
    });
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        if (code !== 0 && this.control.state !== WriterState.Stopped) {
          this.setFailed(this.failed ?? new JournalError(`journal writer exited with code ${code}`));
        }
        if (this.control.state !== WriterState.Failed) this.position = this.control.position;
        this.worker = null;
        this.control.wakeDurableWaiters();
        resolve();
      });
    });
    try {
      await ready;
    } catch (e) {
      await this.exited;
      throw e;
    }
    this.watch();
  }

  /** Drains the ring, syncs and ends the writer. Rejects with the writer's failure, if any. */
  async stopWriter(): Promise<void> {
    if (this.worker !== null) {
      this.control.requestStop();
      await this.exited;
    }
    const f = this.failure;
    if (f !== null) throw f;
  }

  /**
   * Copies records `start..start+count` of `src` into the ring, waiting for space without
   * blocking the thread (a convenience for tools and tests; the sequencer writes into
   * `ring` directly). The writer must run for the ring to drain.
   */
  async append(src: RecordViews, start: number, count: number): Promise<void> {
    const ring = this.ring;
    let i = start;
    const end = start + count;
    while (i < end) {
      this.throwIfFailed();
      const got = ring.claim(end - i);
      if (got === 0) {
        await ring.waitForSpaceAsync(1, { spins: 0, parkMillis: 20 });
        continue;
      }
      const slot = ring.slot(ring.nextWriteSequence);
      const head = Math.min(got, ring.capacity - slot);
      const dst = ring.records.u8;
      dst.set(src.u8.subarray(i * RECORD_BYTES, (i + head) * RECORD_BYTES), slot * RECORD_BYTES);
      if (got > head) dst.set(src.u8.subarray((i + head) * RECORD_BYTES, (i + got) * RECORD_BYTES), 0);
      ring.publish(got);
      i += got;
    }
  }

  /**
   * Writes records `start..start+count` of `src` in this thread, as one group (one write,
   * and a sync unless `fsync` is off). For tools and tests, with the writer stopped.
   */
  appendSync(src: RecordViews, start: number, count: number): number {
    this.throwIfFailed();
    if (this.worker !== null) throw new JournalError('appendSync needs the writer stopped');
    if (this.direct === null)
      this.direct = new SegmentWriter(this.dir, this.position, this.segmentBytes, this.fsync);
    const w = this.direct;
    w.add(src, start, count);
    try {
      w.commit();
    } catch (e) {
      this.setFailed(e as JournalError);
      throw e;
    }
    this.position = { ...w.position };
    this.control.setPosition(this.position);
    this.control.publishDurable(this.position.lastSeq);
    return this.position.lastSeq;
  }

  /** Writer measurements since the writer was started (or `clearStats`). */
  stats(): JournalStats {
    return this.control.stats();
  }

  clearStats(): void {
    this.control.clearStats();
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  /**
   * Reads the durable records with seq >= `fromSeq` in order, decoding them into a batch of
   * `batchRecords` record slots and calling `onBatch(views, count)` per batch. Checks every
   * CRC and that seqs are gapless; throws JournalError naming file and offset otherwise.
   * Safe while the writer runs (it stops at the durable seq it saw on entry).
   */
  replay(fromSeq: number, onBatch: BatchHandler, options: { batchRecords?: number } = {}): ReplayResult {
    this.throwIfFailed();
    const limit = this.control.durableSeq;
    const from = Math.max(1, fromSeq);
    const sink = new BatchSink(
      new RecordViews(new ArrayBuffer((options.batchRecords ?? 8192) * RECORD_BYTES)),
      from,
      onBatch,
    );
    if (from > limit) return { records: 0, lastSeq: from - 1 };
    const segs = listSegments(this.dir);
    let startAt = -1;
    for (let i = 0; i < segs.length; i++) if (segs[i]!.firstSeq <= from) startAt = i;
    if (startAt < 0) {
      const first = segs[0]?.firstSeq;
      if (first === undefined)
        throw new JournalError(`journal ${this.dir} has no segments, durable seq is ${limit}`);
      if (from !== 1) {
        throw new JournalError(
          `cannot replay ${this.dir} from seq ${from}: its oldest segment starts at ${first}`,
        );
      }
      startAt = 0;
    }
    const reader = new SegmentReader();
    let expect = 0;
    let lastSeq = 0;
    for (let i = startAt; i < segs.length && lastSeq < limit; i++) {
      const scan = reader.read(segs[i]!, expect, limit, sink);
      lastSeq = scan.lastSeq;
      if (scan.problem !== null && lastSeq < limit) {
        throw corrupt(scan.file, scan.problem.offset, scan.problem.reason);
      }
      expect = lastSeq + 1;
    }
    if (lastSeq < limit) {
      throw new JournalError(`journal ${this.dir} ends at seq ${lastSeq}, but seq ${limit} was durable`);
    }
    sink.flush();
    return { records: sink.total, lastSeq: Math.max(lastSeq, from - 1) };
  }

  /** The segment files now in the directory, oldest first. */
  segments(): SegmentFile[] {
    return listSegments(this.dir);
  }

  /**
   * Deletes the oldest segments whose every record has seq <= `uptoSeq` (never the active
   * segment, never one after a segment that must stay). Returns the deleted files.
   */
  prune(uptoSeq: number): string[] {
    this.throwIfFailed();
    const active = this.worker !== null ? this.control.position.activeFirstSeq : this.position.activeFirstSeq;
    const segs = listSegments(this.dir);
    const deleted: string[] = [];
    for (let i = 0; i + 1 < segs.length; i++) {
      const seg = segs[i]!;
      if (active !== 0 && seg.firstSeq >= active) break;
      if (segs[i + 1]!.firstSeq - 1 > uptoSeq) break;
      try {
        fs.unlinkSync(seg.file);
      } catch (e) {
        throw new JournalError(`cannot delete journal segment ${seg.file}: ${describe(e)}`);
      }
      deleted.push(seg.file);
    }
    if (deleted.length > 0) syncDirectory(this.dir);
    return deleted;
  }

  /** Stops the writer (draining the ring) and closes the journal. Rejects with the writer's failure, if any. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.stopWriter();
    } finally {
      this.direct?.close();
      this.direct = null;
      this.closed = true;
    }
  }
}

class BatchSink implements RecordSink {
  count = 0;
  total = 0;

  constructor(
    private readonly views: RecordViews,
    private readonly from: number,
    private readonly onBatch: BatchHandler,
  ) {}

  record(buf: Uint8Array, payloadAt: number, len: number, seq: number): boolean {
    if (seq < this.from) return true;
    if (!decodePayload(buf, payloadAt, len, this.views, this.count)) return false;
    if (++this.count === this.views.records) this.flush();
    return true;
  }

  flush(): void {
    if (this.count === 0) return;
    const n = this.count;
    this.count = 0;
    this.total += n;
    this.onBatch(this.views, n);
  }
}

/**
 * `mkdir -p`, by hand: Node's `recursive: true` loops forever where mkdir fails with ENOENT
 * under a parent that exists (as under /proc).
 */
function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    makeDirectory(parent);
    try {
      fs.mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/** Creates `dir` if needed and proves it writable (root ignores permission bits, so try). */
function prepareDirectory(dir: string): void {
  try {
    makeDirectory(dir);
  } catch (e) {
    throw new JournalError(`cannot create journal directory ${dir}: ${describe(e)}`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    throw new JournalError(`cannot use journal directory ${dir}: ${describe(e)}`);
  }
  if (!stat.isDirectory()) throw new JournalError(`journal directory ${dir} exists and is not a directory`);
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    const fd = fs.openSync(probe, 'w');
    try {
      fs.writeSync(fd, 'x');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.unlinkSync(probe);
  } catch (e) {
    throw new JournalError(`journal directory ${dir} is not writable: ${describe(e)}`);
  }
}

function recover(dir: string, verify: 'all' | 'last', log: (message: string) => void): JournalRecovery {
  const segs = listSegments(dir);
  let removed: string | null = null;
  const tail = segs.at(-1);
  if (tail !== undefined) {
    const size = fs.statSync(tail.file).size;
    if (size < SEGMENT_HEADER_BYTES) {
      // Created but its header never fully written: a crash while rolling to it.
      fs.unlinkSync(tail.file);
      syncDirectory(dir);
      segs.pop();
      removed = tail.file;
      log(`journal: removed ${tail.file}, a segment whose ${size}-byte header was cut short`);
    }
  }
  const reader = new SegmentReader();
  const summaries: SegmentSummary[] = [];
  let truncated: JournalRecovery['truncated'] = null;
  let expect = 0;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const isLast = i === segs.length - 1;
    if (verify === 'last' && !isLast) {
      const fd = fs.openSync(seg.file, 'r');
      try {
        reader.readHeader(seg, fd, expect);
        const bytes = fs.fstatSync(fd).size;
        const next = segs[i + 1]!.firstSeq;
        summaries.push({ file: seg.file, firstSeq: seg.firstSeq, lastSeq: next - 1, bytes });
        expect = next;
      } finally {
        fs.closeSync(fd);
      }
      continue;
    }
    const scan = reader.read(seg, expect, Number.POSITIVE_INFINITY, null);
    let bytes = scan.fileBytes;
    if (scan.problem !== null) {
      const { offset, reason } = scan.problem;
      if (!isLast) throw corrupt(seg.file, offset, `${reason} in a segment that is not the last`);
      const after = reader.findValidFrameAfter(seg.file, offset);
      if (after >= 0) throw corrupt(seg.file, offset, `${reason}, with a valid record after it at ${after}`);
      const cut = scan.fileBytes - offset;
      const fd = fs.openSync(seg.file, 'r+');
      try {
        fs.ftruncateSync(fd, offset);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      bytes = offset;
      truncated = { file: seg.file, offset, bytes: cut };
      log(
        `journal: truncated a torn tail of ${cut} bytes (${reason}) at byte offset ${offset} of ${seg.file}`,
      );
    }
    summaries.push({ file: seg.file, firstSeq: scan.firstSeq, lastSeq: scan.lastSeq, bytes });
    expect = scan.lastSeq + 1;
  }
  const lastSeq = summaries.at(-1)?.lastSeq ?? 0;
  return { lastSeq, segments: summaries, truncated, removed };
}
