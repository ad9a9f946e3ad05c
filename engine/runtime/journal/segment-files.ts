/**
 * Segment files: listing a journal directory, reading a segment with large reads (checking
 * every frame's CRC and that seqs run on without a gap or repeat), and appending groups of
 * records with one write and one fdatasync each. Used by the main thread (open, replay,
 * `appendSync`) and by the writer worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RECORD_BYTES, type RecordViews } from '../../model/codec.ts';
import {
  checkFrame,
  decodeSegmentHeader,
  encodeSegmentHeader,
  FRAME_HEADER_BYTES,
  frameProblem,
  JournalEncoder,
  JournalError,
  MAX_FRAME_BYTES,
  parseSegmentFileName,
  payloadSeq,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './journal-format.ts';

const SEQ_F64 = 2;
const F64_PER_RECORD = RECORD_BYTES / 8;

/** A segment file as named in the directory. */
export interface SegmentFile {
  readonly file: string;
  readonly firstSeq: number;
}

/** The segment files of `dir`, oldest first. Other files are ignored. */
export function listSegments(dir: string): SegmentFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new JournalError(`cannot list journal directory ${dir}: ${describe(e)}`);
  }
  const out: SegmentFile[] = [];
  for (const name of names) {
    const firstSeq = parseSegmentFileName(name);
    if (firstSeq !== null) out.push({ file: path.join(dir, name), firstSeq });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** Fsyncs a directory so that file creations and deletions in it are durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Receives each valid record a reader passes over; returns false for a malformed payload. */
export interface RecordSink {
  record(buf: Uint8Array, payloadAt: number, len: number, seq: number): boolean;
}

/** What reading one segment found. */
export interface SegmentScan {
  readonly file: string;
  readonly firstSeq: number;
  /** Seq of the last valid record read (firstSeq - 1 when none). */
  readonly lastSeq: number;
  readonly records: number;
  /** Offset just past the last valid record read. */
  readonly validBytes: number;
  readonly fileBytes: number;
  /** The first frame that is not valid (cut short, bad length or bad CRC), if any. */
  readonly problem: { readonly offset: number; readonly reason: string } | null;
  /** True when reading stopped at a record past `stopAfterSeq`. */
  readonly stopped: boolean;
}

/** Reads segments with one large reusable buffer. */
export class SegmentReader {
  private readonly buf: Uint8Array;

  constructor(chunkBytes = 8 << 20) {
    this.buf = new Uint8Array(chunkBytes + MAX_FRAME_BYTES);
  }

  /** Checks a segment's header against its name (and `expectFirst` unless 0); returns its first seq. */
  readHeader(seg: SegmentFile, fd: number, expectFirst: number): number {
    const h = new Uint8Array(SEGMENT_HEADER_BYTES);
    const n = fs.readSync(fd, h, 0, SEGMENT_HEADER_BYTES, 0);
    const first = decodeSegmentHeader(h.subarray(0, n));
    if (typeof first === 'string')
      throw new JournalError(`${seg.file}: bad segment header at byte offset 0: ${first}`);
    if (first !== seg.firstSeq) {
      throw new JournalError(
        `${seg.file}: bad segment header at byte offset 0: it says first seq ${first}, the file name ${seg.firstSeq}`,
      );
    }
    if (expectFirst !== 0 && first !== expectFirst) {
      throw new JournalError(
        `${seg.file}: seq gap at byte offset 0: the segment starts at seq ${first}, the previous one ends at ${expectFirst - 1}`,
      );
    }
    return first;
  }

  /**
   * Reads `seg` from its header on: every frame must be whole with a matching CRC, and seqs
   * must run on from the header's first seq (else JournalError naming the offset). Hands each
   * record to `sink`. Stops at the end of the file, at the first invalid frame (returned as
   * `problem`: the caller decides whether it is a torn tail), or before the first record
   * whose seq is past `stopAfterSeq`.
   */
  read(seg: SegmentFile, expectFirst: number, stopAfterSeq: number, sink: RecordSink | null): SegmentScan {
    let fd: number;
    try {
      fd = fs.openSync(seg.file, 'r');
    } catch (e) {
      throw new JournalError(`cannot open journal segment ${seg.file}: ${describe(e)}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < SEGMENT_HEADER_BYTES) {
        throw new JournalError(
          `${seg.file}: bad segment header at byte offset 0: the file has ${size} bytes, a header needs ${SEGMENT_HEADER_BYTES}`,
        );
      }
      const firstSeq = this.readHeader(seg, fd, expectFirst);
      const buf = this.buf;
      let base = SEGMENT_HEADER_BYTES; // file offset of buf[0]
      let end = 0; // bytes in buf
      let p = 0;
      let expected = firstSeq;
      let records = 0;
      let problem: SegmentScan['problem'] = null;
      let stopped = false;
      for (;;) {
        if (end - p < MAX_FRAME_BYTES && base + end < size) {
          buf.copyWithin(0, p, end);
          base += p;
          end -= p;
          p = 0;
          const want = Math.min(buf.length - end, size - (base + end));
          const got = fs.readSync(fd, buf, end, want, base + end);
          end += got;
        }
        if (p === end) break;
        const len = checkFrame(buf, p, end);
        if (len < 0) {
          problem = { offset: base + p, reason: frameProblem(len) };
          break;
        }
        const at = p + FRAME_HEADER_BYTES;
        const seq = payloadSeq(buf, at, len);
        if (seq !== expected) {
          if (seq < 0) throw corrupt(seg.file, base + p, 'a malformed record payload (its CRC matches)');
          throw new JournalError(
            `${seg.file}: seq gap at byte offset ${base + p}: record has seq ${seq}, expected ${expected}`,
          );
        }
        if (seq > stopAfterSeq) {
          stopped = true;
          break;
        }
        if (sink !== null && !sink.record(buf, at, len, seq)) {
          throw corrupt(seg.file, base + p, 'a malformed record payload (its CRC matches)');
        }
        expected++;
        records++;
        p = at + len;
      }
      return {
        file: seg.file,
        firstSeq,
        lastSeq: expected - 1,
        records,
        validBytes: base + p,
        fileBytes: size,
        problem,
        stopped,
      };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The offset of the first valid frame that starts after `from` in `file`, or -1. */
  findValidFrameAfter(file: string, from: number): number {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = this.buf;
      let base = from + 1;
      while (base < size) {
        const end = fs.readSync(fd, buf, 0, Math.min(buf.length, size - base), base);
        if (end === 0) break;
        const last = base + end >= size ? end : end - MAX_FRAME_BYTES;
        for (let q = 0; q < last; q++) {
          const len = checkFrame(buf, q, end);
          if (len >= 0 && payloadSeq(buf, q + FRAME_HEADER_BYTES, len) > 0) return base + q;
        }
        if (base + end >= size) break;
        base += last;
      }
      return -1;
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function corrupt(file: string, offset: number, what: string): JournalError {
  return new JournalError(`${file}: corrupt journal at byte offset ${offset}: ${what}`);
}

/** Where appending continues. */
export interface AppendPosition {
  /** First seq of the segment to append to; 0 when there is none yet. */
  activeFirstSeq: number;
  /** Its size: header and whole records. */
  activeBytes: number;
  /** Seq of the last record in the journal (0 when empty). */
  lastSeq: number;
}

/**
 * Appends groups of command records to the active segment: `add` encodes (checking that
 * seqs follow on from the journal's last), `commit` writes the group with one write,
 * rolling to a new segment first when the active one would pass `segmentBytes`, and syncs.
 * After any error the writer refuses further use: what reached the disk is for recovery to
 * judge (a torn tail is truncated on the next open).
 */
export class SegmentWriter {
  readonly encoder = new JournalEncoder();
  readonly position: AppendPosition;
  private fd = -1;
  private groupFirst = 0;
  private groupLast = 0;
  private groupRecords = 0;
  private failed: Error | null = null;
  /** Time of the last commit's write and sync, µs (sync -1 when not synced). */
  lastWriteMicros = 0;
  lastSyncMicros = -1;

  constructor(
    readonly dir: string,
    position: AppendPosition,
    readonly segmentBytes: number,
    readonly fsync: boolean,
  ) {
    this.position = { ...position };
  }

  get pendingRecords(): number {
    return this.groupRecords;
  }

  /** Encodes records `start..start+count` of `v` into the pending group. */
  add(v: RecordViews, start: number, count: number): void {
    if (this.failed) throw this.failed;
    const f64 = v.f64;
    let next = this.groupRecords > 0 ? this.groupLast + 1 : this.position.lastSeq + 1;
    const anyFirst =
      this.groupRecords === 0 && this.position.lastSeq === 0 && this.position.activeFirstSeq === 0;
    for (let i = start; i < start + count; i++) {
      const seq = f64[i * F64_PER_RECORD + SEQ_F64]!;
      if (seq !== next && !(anyFirst && i === start && Number.isSafeInteger(seq) && seq >= 1)) {
        const before = next - 1;
        this.abandonGroup();
        throw new JournalError(
          `command record seq ${seq} does not follow seq ${before}: the journal takes gapless increasing seqs (a bug upstream of the journal)`,
        );
      }
      try {
        this.encoder.append(v, i);
      } catch (e) {
        this.abandonGroup();
        throw e;
      }
      if (this.groupRecords === 0) this.groupFirst = seq;
      this.groupLast = seq;
      this.groupRecords++;
      next = seq + 1;
    }
  }

  /** Drops the pending group (nothing of it was written). */
  abandonGroup(): void {
    this.encoder.reset();
    this.groupRecords = 0;
  }

  /** Writes the pending group and (with `fsync`) syncs it; returns its bytes. */
  commit(): number {
    if (this.failed) throw this.failed;
    if (this.groupRecords === 0) return 0;
    try {
      const bytes = this.encoder.length;
      const pos = this.position;
      if (this.fd < 0 && pos.activeFirstSeq !== 0) this.openActive();
      if (
        this.fd < 0 ||
        (pos.activeBytes > SEGMENT_HEADER_BYTES && pos.activeBytes + bytes > this.segmentBytes)
      ) {
        this.roll(this.groupFirst);
      }
      const t0 = performance.now();
      writeAll(this.fd, this.encoder.buffer, bytes, pos.activeBytes);
      const t1 = performance.now();
      pos.activeBytes += bytes;
      if (this.fsync) {
        fs.fdatasyncSync(this.fd);
        this.lastSyncMicros = (performance.now() - t1) * 1000;
      } else {
        this.lastSyncMicros = -1;
      }
      this.lastWriteMicros = (t1 - t0) * 1000;
      pos.lastSeq = this.groupLast;
      this.encoder.reset();
      this.groupRecords = 0;
      return bytes;
    } catch (e) {
      this.failed =
        e instanceof JournalError
          ? e
          : new JournalError(`journal write failed in ${this.activePath()}: ${describe(e)}`);
      throw this.failed;
    }
  }

  /** Syncs the active segment (whatever the `fsync` option). */
  sync(): void {
    if (this.failed) throw this.failed;
    if (this.fd >= 0) {
      try {
        fs.fdatasyncSync(this.fd);
      } catch (e) {
        this.failed = new JournalError(`journal sync failed in ${this.activePath()}: ${describe(e)}`);
        throw this.failed;
      }
    }
  }

  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.closeSync(fd);
    }
  }

  private activePath(): string {
    return this.position.activeFirstSeq === 0
      ? this.dir
      : path.join(this.dir, segmentFileName(this.position.activeFirstSeq));
  }

  private openActive(): void {
    const file = this.activePath();
    try {
      this.fd = fs.openSync(file, 'r+');
    } catch (e) {
      throw new JournalError(`cannot open journal segment ${file} for appending: ${describe(e)}`);
    }
  }

  private roll(firstSeq: number): void {
    if (this.fd >= 0) {
      // Every group in it was synced already (or syncing is off).
      this.close();
    }
    const file = path.join(this.dir, segmentFileName(firstSeq));
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      throw new JournalError(`cannot create journal segment ${file}: ${describe(e)}`);
    }
    this.fd = fd;
    this.position.activeFirstSeq = firstSeq;
    this.position.activeBytes = 0;
    const h = encodeSegmentHeader(firstSeq);
    writeAll(fd, h, h.length, 0);
    this.position.activeBytes = SEGMENT_HEADER_BYTES;
    if (this.fsync) {
      fs.fdatasyncSync(fd);
      syncDirectory(this.dir);
    }
  }
}

function writeAll(fd: number, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.writeSync(fd, buf, done, length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n}`);
    done += n;
  }
}
