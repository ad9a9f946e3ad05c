/**
 * The journal writer's shared control block: one SharedArrayBuffer read and written by the
 * main thread and the writer worker. The worker runs a synchronous loop and never turns its
 * event loop, so everything the main thread may ask of it (stop, state, measurements) goes
 * through this memory rather than messages.
 *
 *    0  Int32  stop requested            64  BigInt64 durable seq (own cache line; waited on)
 *    4  Int32  state (idle/run/stop/fail) 128 Float64 x 8 totals and the writer's position
 *    8  Int32  error text length          256 error text, UTF-8, up to 2 KiB
 *   12  Int32  groups written (samples)   2304 samples: fsync µs (f64), group sizes (u32)
 */

/** What the main thread hands the writer worker (as workerData). */
export interface WriterJob {
  readonly dir: string;
  readonly ring: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly position: WriterPosition;
  readonly segmentBytes: number;
  readonly maxGroupRecords: number;
  readonly fsync: boolean;
}

export const WriterState = { Idle: 0, Running: 1, Stopped: 2, Failed: 3 } as const;

const STOP = 0;
const STATE = 1;
const ERROR_LEN = 2;
const GROUPS = 3;
const T_RECORDS = 0;
const T_BYTES = 1;
const T_SYNCS = 2;
const T_SYNC_MICROS = 3;
const T_ACTIVE_FIRST = 4;
const T_ACTIVE_BYTES = 5;
const T_LAST_SEQ = 6;
const T_WRITE_MICROS = 7;
const ERROR_AT = 256;
const ERROR_BYTES = 2048;
const SAMPLES_AT = ERROR_AT + ERROR_BYTES;
/** Samples kept: the most recent groups (a window, enough for any benchmark run's tail). */
export const SAMPLES = 1 << 16;
const BYTES = SAMPLES_AT + SAMPLES * 8 + SAMPLES * 4;

/** Percentiles over the window of recent samples. */
export interface Distribution {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /**
   * The value at or below which 99% of the sum lies: for fsync latency, 99% of the time spent
   * syncing was in syncs no longer than this (what a record arriving at a random moment
   * sees); for group sizes, 99% of records were in groups no larger.
   */
  readonly p99Weighted: number;
}

/** What the writer has done since it was started (totals) and over its recent groups. */
export interface JournalStats {
  readonly records: number;
  readonly bytes: number;
  readonly groups: number;
  readonly syncs: number;
  /** Time in `fs.writeSync`, in total. */
  readonly writeMicrosTotal: number;
  /** Time in `fs.fdatasyncSync`, in total. */
  readonly syncMicrosTotal: number;
  /** Records per group, over the most recent groups (up to SAMPLES). */
  readonly groupSize: Distribution;
  /** fdatasync latency in microseconds, over the most recent synced groups. */
  readonly fsyncMicros: Distribution;
}

export interface WriterPosition {
  /** First seq of the segment being appended to, 0 when there is none yet. */
  readonly activeFirstSeq: number;
  /** Bytes of that segment (its header and whole records). */
  readonly activeBytes: number;
  /** Seq of the last record written (durable once synced). */
  readonly lastSeq: number;
}

export class JournalControl {
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  /** Index 0: the durable seq. */
  readonly durable: BigInt64Array;
  private readonly totals: Float64Array;
  private readonly errorText: Uint8Array;
  private readonly syncSamples: Float64Array;
  private readonly groupSamples: Uint32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer, 0, 16);
    this.durable = new BigInt64Array(buffer, 64, 1);
    this.totals = new Float64Array(buffer, 128, 16);
    this.errorText = new Uint8Array(buffer, ERROR_AT, ERROR_BYTES);
    this.syncSamples = new Float64Array(buffer, SAMPLES_AT, SAMPLES);
    this.groupSamples = new Uint32Array(buffer, SAMPLES_AT + SAMPLES * 8, SAMPLES);
  }

  // ---- durable seq

  get durableSeq(): number {
    return Number(Atomics.load(this.durable, 0));
  }

  /** Writer: records become durable through `seq`; wakes every waiter. */
  publishDurable(seq: number): void {
    Atomics.store(this.durable, 0, BigInt(seq));
    Atomics.notify(this.durable, 0);
  }

  /** Wakes every waiter on the durable cell without changing it (stop, failure). */
  wakeDurableWaiters(): void {
    Atomics.notify(this.durable, 0);
  }

  // ---- lifecycle

  get stopRequested(): boolean {
    return Atomics.load(this.i32, STOP) !== 0;
  }

  requestStop(): void {
    Atomics.store(this.i32, STOP, 1);
  }

  get state(): number {
    return Atomics.load(this.i32, STATE);
  }

  set state(s: number) {
    Atomics.store(this.i32, STATE, s);
  }

  /** Readies the block for a (re)started writer at `position`. */
  reset(position: WriterPosition): void {
    Atomics.store(this.i32, STOP, 0);
    Atomics.store(this.i32, ERROR_LEN, 0);
    this.setPosition(position);
    Atomics.store(this.durable, 0, BigInt(position.lastSeq));
    this.state = WriterState.Idle;
  }

  /** Writer: fails with `message`, readable by the main thread with no message passing. */
  fail(message: string): void {
    const bytes = new TextEncoder().encode(message).subarray(0, ERROR_BYTES);
    this.errorText.set(bytes);
    Atomics.store(this.i32, ERROR_LEN, bytes.length);
    this.state = WriterState.Failed;
    this.wakeDurableWaiters();
  }

  get errorMessage(): string {
    const n = Atomics.load(this.i32, ERROR_LEN);
    return new TextDecoder().decode(this.errorText.slice(0, n));
  }

  // ---- position and measurements (plain loads and stores: read for reports, not for sync)

  setPosition(p: WriterPosition): void {
    this.totals[T_ACTIVE_FIRST] = p.activeFirstSeq;
    this.totals[T_ACTIVE_BYTES] = p.activeBytes;
    this.totals[T_LAST_SEQ] = p.lastSeq;
  }

  get position(): WriterPosition {
    return {
      activeFirstSeq: this.totals[T_ACTIVE_FIRST]!,
      activeBytes: this.totals[T_ACTIVE_BYTES]!,
      lastSeq: this.totals[T_LAST_SEQ]!,
    };
  }

  /** Writer: one group written (and synced when `syncMicros` >= 0). */
  recordGroup(records: number, bytes: number, writeMicros: number, syncMicros: number): void {
    const t = this.totals;
    t[T_RECORDS]! += records;
    t[T_BYTES]! += bytes;
    t[T_WRITE_MICROS]! += writeMicros;
    const g = Atomics.load(this.i32, GROUPS);
    const slot = g & (SAMPLES - 1);
    this.groupSamples[slot] = records;
    this.syncSamples[slot] = syncMicros;
    if (syncMicros >= 0) {
      t[T_SYNCS]! += 1;
      t[T_SYNC_MICROS]! += syncMicros;
    }
    Atomics.store(this.i32, GROUPS, g + 1);
  }

  /** Clears the totals and samples (between benchmark passes, with the writer idle or not). */
  clearStats(): void {
    for (const i of [T_RECORDS, T_BYTES, T_SYNCS, T_SYNC_MICROS, T_WRITE_MICROS]) this.totals[i] = 0;
    Atomics.store(this.i32, GROUPS, 0);
  }

  stats(): JournalStats {
    const t = this.totals;
    const groups = Atomics.load(this.i32, GROUPS);
    const n = Math.min(groups, SAMPLES);
    const sizes = Array.from(this.groupSamples.subarray(0, n));
    const syncs = Array.from(this.syncSamples.subarray(0, n)).filter((x) => x >= 0);
    return {
      records: t[T_RECORDS]!,
      bytes: t[T_BYTES]!,
      groups,
      syncs: t[T_SYNCS]!,
      writeMicrosTotal: t[T_WRITE_MICROS]!,
      syncMicrosTotal: t[T_SYNC_MICROS]!,
      groupSize: distribution(sizes),
      fsyncMicros: distribution(syncs),
    };
  }
}

function distribution(values: number[]): Distribution {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0, p99Weighted: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number): number => values[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
  let sum = 0;
  for (const v of values) sum += v;
  let weighted = values[n - 1]!;
  for (let i = 0, acc = 0; i < n; i++) {
    acc += values[i]!;
    if (acc >= 0.99 * sum) {
      weighted = values[i]!;
      break;
    }
  }
  return {
    count: n,
    mean: sum / n,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: values[n - 1]!,
    p99Weighted: weighted,
  };
}
