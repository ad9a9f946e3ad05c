/**
 * A single-producer single-consumer ring of fixed-size records over a SharedArrayBuffer
 * (after the LMAX Disruptor and ringbuf.js): power-of-two capacity, `seq & mask` indexing,
 * each cursor on its own 64-byte cache line, batch claim and publish, and a wait strategy
 * that spins briefly and then parks on `Atomics.wait` (or `Atomics.waitAsync` on a thread
 * that must not block, such as the main thread). A full ring makes the producer wait: it
 * never drops or overwrites a record.
 *
 * Memory ordering: JavaScript's Atomics are sequentially consistent. The producer writes a
 * batch of records with plain stores and then publishes with `Atomics.store` on the
 * PUBLISHED cursor; a consumer that reads that cursor with `Atomics.load` and sees the new
 * value is guaranteed to see the record bytes written before it (the SC store/load pair on
 * one location orders them). The same holds the other way for CONSUMED: the producer never
 * overwrites a slot until it has loaded a CONSUMED value past it.
 *
 * Cursors are Int32 counters that wrap at 2^32; differences are taken with `| 0`, which is
 * exact while fewer than 2^31 records are in flight (the capacity is at most 2^24).
 */
import { RECORD_BYTES, RecordViews } from '../model/codec.ts';

/** Header layout, in Int32 slots: each on its own 64-byte line (16 Int32s apart). */
const PUBLISHED = 0;
const CONSUMED = 16;
const CONSUMER_PARKED = 32;
const PRODUCER_PARKED = 48;
const HEADER_BYTES = 256;

/** Thrown for a ring that cannot be made or used as asked. */
export class RingError extends Error {
  override readonly name = 'RingError';
}

/**
 * How a side waits when it cannot proceed: spin `spins` times re-checking, then park until
 * woken (or `parkMillis` passes, as a safety net against a lost wake-up).
 */
export interface WaitStrategy {
  readonly spins: number;
  readonly parkMillis: number;
}

/**
 * Spin briefly (a few microseconds), then park. The platform runs more threads (main, journal,
 * shards) than a small machine has cores, and a long spin steals the core that would produce
 * the data being waited for; parking costs a futex wake, which batching amortises.
 */
export const SPIN_THEN_PARK: WaitStrategy = { spins: 256, parkMillis: 50 };

/** One side's view of a ring. Construct with `RingBuffer.create` or wrap a shared buffer. */
export class RingBuffer {
  /** The shared memory (pass it to the other thread and wrap it there). */
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  /** Typed views over the record slots; slot of sequence `s` is `s & mask`. */
  readonly records: RecordViews;
  private readonly mask: number;
  private readonly header: Int32Array;
  /** Producer side: the next sequence to claim (starts at PUBLISHED). */
  private writePos: number;
  /** Consumer side: the next sequence to read (starts at CONSUMED). */
  private readPos: number;
  /** Producer: last CONSUMED value seen (refreshed only when the ring looks full). */
  private consumedCache: number;

  /** Allocates a ring of `capacity` records (a power of two, 2..2^24). */
  static create(capacity: number): RingBuffer {
    if (
      !Number.isInteger(capacity) ||
      capacity < 2 ||
      capacity > 1 << 24 ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new RingError(`ring capacity must be a power of two in 2..2^24, got ${capacity}`);
    }
    return new RingBuffer(new SharedArrayBuffer(HEADER_BYTES + capacity * RECORD_BYTES));
  }

  /** Wraps a ring made by `create` (in this thread or another). */
  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer)) throw new RingError('a ring needs a SharedArrayBuffer');
    const capacity = (buffer.byteLength - HEADER_BYTES) / RECORD_BYTES;
    if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) {
      throw new RingError(`buffer of ${buffer.byteLength} bytes is not a ring`);
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.records = new RecordViews(buffer, HEADER_BYTES, capacity);
    // Each side starts from its own shared cursor, so either can be (re)attached at any time.
    this.writePos = Atomics.load(this.header, PUBLISHED);
    this.readPos = Atomics.load(this.header, CONSUMED);
    this.consumedCache = Atomics.load(this.header, CONSUMED);
  }

  /** The slot index of sequence `seq`. */
  slot(seq: number): number {
    return seq & this.mask;
  }

  // ---------------------------------------------------------------------------------------
  // Producer side

  /**
   * How many records the producer can claim now without waiting. Reloads CONSUMED only
   * when the cached value says the ring is full (one atomic load per refill, not per record).
   */
  freeSlots(): number {
    let free = this.capacity - ((this.writePos - this.consumedCache) | 0);
    if (free === 0) {
      this.consumedCache = Atomics.load(this.header, CONSUMED);
      free = this.capacity - ((this.writePos - this.consumedCache) | 0);
    }
    return free;
  }

  /**
   * Claims up to `n` slots and returns how many it claimed (0 when full). The caller writes
   * records at `slot(first + i)` where `first` is `nextWriteSequence` before the claim, then
   * calls `publish`.
   */
  claim(n: number): number {
    let free = this.capacity - ((this.writePos - this.consumedCache) | 0);
    if (free < n) {
      this.consumedCache = Atomics.load(this.header, CONSUMED);
      free = this.capacity - ((this.writePos - this.consumedCache) | 0);
    }
    return Math.min(n, free);
  }

  /** Producer: the sequence the next claimed record gets. */
  get nextWriteSequence(): number {
    return this.writePos;
  }

  /** Consumer: the sequence of the next record to read. */
  get nextReadSequence(): number {
    return this.readPos;
  }

  /** Makes `n` claimed records visible to the consumer, and wakes it if it is parked. */
  publish(n: number): void {
    this.writePos = (this.writePos + n) | 0;
    // SC store: every record write above happens-before a consumer's load that sees it.
    Atomics.store(this.header, PUBLISHED, this.writePos);
    // Dekker pairing with the consumer: it sets PARKED and then re-checks PUBLISHED before
    // waiting, so either it sees our store, or we see its flag and wake it.
    if (Atomics.load(this.header, CONSUMER_PARKED) !== 0) Atomics.notify(this.header, PUBLISHED);
  }

  /** Blocks (spin, then park) until at least `n` slots are free. For worker threads only. */
  waitForSpace(n: number, strategy: WaitStrategy = SPIN_THEN_PARK): void {
    if (n > this.capacity) throw new RingError(`cannot wait for ${n} slots in a ring of ${this.capacity}`);
    for (let i = 0; i < strategy.spins; i++) if (this.claimFree() >= n) return;
    for (;;) {
      const seen = Atomics.load(this.header, CONSUMED);
      Atomics.store(this.header, PRODUCER_PARKED, 1);
      if (this.claimFree() >= n) break;
      Atomics.wait(this.header, CONSUMED, seen, strategy.parkMillis);
    }
    Atomics.store(this.header, PRODUCER_PARKED, 0);
  }

  /** Resolves once at least `n` slots are free, without blocking the thread. */
  async waitForSpaceAsync(n: number, strategy: WaitStrategy = SPIN_THEN_PARK): Promise<void> {
    if (n > this.capacity) throw new RingError(`cannot wait for ${n} slots in a ring of ${this.capacity}`);
    for (;;) {
      const seen = Atomics.load(this.header, CONSUMED);
      Atomics.store(this.header, PRODUCER_PARKED, 1);
      if (this.claimFree() >= n) break;
      const r = Atomics.waitAsync(this.header, CONSUMED, seen, strategy.parkMillis);
      if (r.async) await r.value;
    }
    Atomics.store(this.header, PRODUCER_PARKED, 0);
  }

  private claimFree(): number {
    this.consumedCache = Atomics.load(this.header, CONSUMED);
    return this.capacity - ((this.writePos - this.consumedCache) | 0);
  }

  // ---------------------------------------------------------------------------------------
  // Consumer side

  /** How many published records are waiting to be read. */
  available(): number {
    return (Atomics.load(this.header, PUBLISHED) - this.readPos) | 0;
  }

  /** Frees `n` read records for the producer, and wakes it if it is parked on a full ring. */
  release(n: number): void {
    this.readPos = (this.readPos + n) | 0;
    // SC store: our reads of the released slots happen-before the producer reuses them.
    Atomics.store(this.header, CONSUMED, this.readPos);
    if (Atomics.load(this.header, PRODUCER_PARKED) !== 0) Atomics.notify(this.header, CONSUMED);
  }

  /**
   * Blocks (spin, then park) until a record is available or `timeoutMillis` passes; returns
   * how many are available (0 on timeout). For worker threads only.
   */
  waitForData(timeoutMillis = Number.POSITIVE_INFINITY, strategy: WaitStrategy = SPIN_THEN_PARK): number {
    for (let i = 0; i < strategy.spins; i++) {
      const n = this.available();
      if (n > 0) return n;
    }
    const deadline = Number.isFinite(timeoutMillis)
      ? performance.now() + timeoutMillis
      : Number.POSITIVE_INFINITY;
    for (;;) {
      const seen = Atomics.load(this.header, PUBLISHED);
      Atomics.store(this.header, CONSUMER_PARKED, 1);
      const n = this.available();
      if (n > 0) {
        Atomics.store(this.header, CONSUMER_PARKED, 0);
        return n;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        Atomics.store(this.header, CONSUMER_PARKED, 0);
        return 0;
      }
      Atomics.wait(this.header, PUBLISHED, seen, Math.min(left, strategy.parkMillis));
    }
  }

  /** Resolves with the number of available records once there is at least one. */
  async waitForDataAsync(strategy: WaitStrategy = SPIN_THEN_PARK): Promise<number> {
    for (;;) {
      const seen = Atomics.load(this.header, PUBLISHED);
      Atomics.store(this.header, CONSUMER_PARKED, 1);
      const n = this.available();
      if (n > 0) {
        Atomics.store(this.header, CONSUMER_PARKED, 0);
        return n;
      }
      const r = Atomics.waitAsync(this.header, PUBLISHED, seen, strategy.parkMillis);
      if (r.async) await r.value;
    }
  }
}
