/**
 * The link server's memory of recently released events: a ring of event records in seq
 * order, so that a gateway that reconnects resumes exactly where it stopped. Records are
 * addressed by their absolute position (records appended since the ring was made); the ring
 * holds positions [tail, head).
 */
import { RECORD_BYTES, RecordViews, seqAt } from '../../engine/index.ts';

/** Recently released event records, in seq order, by absolute position. */
export class EventRing {
  readonly capacity: number;
  private readonly views: RecordViews;
  private headAt = 0;
  /**
   * Every event of every seq above this one (up to lastSeq) is held. It starts at the seq
   * released before the ring existed and moves up as old records are overwritten.
   */
  private floorSeq: number;
  private last: number;

  /**
   * @param capacity records held (each 192 bytes)
   * @param startSeq the last seq released before the first append: nothing of it or before is held
   */
  constructor(capacity: number, startSeq: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be >= 1');
    this.capacity = capacity;
    this.views = new RecordViews(new ArrayBuffer(capacity * RECORD_BYTES));
    this.floorSeq = startSeq;
    this.last = startSeq;
  }

  /** Position after the newest record. */
  get head(): number {
    return this.headAt;
  }

  /** Position of the oldest record held. */
  get tail(): number {
    return Math.max(0, this.headAt - this.capacity);
  }

  /** Every event of every seq above this one (up to lastSeq) is held. */
  get heldAfterSeq(): number {
    return this.floorSeq;
  }

  /** The seq of the newest record (or the start seq while empty). */
  get lastSeq(): number {
    return this.last;
  }

  /** Appends `count` records of `v` from `from`; the oldest are overwritten once full. */
  append(v: RecordViews, from: number, count: number): void {
    if (count <= 0) return;
    this.last = seqAt(v, from + count - 1);
    // The newest record about to be lost (just before the new tail): every seq above its seq
    // stays whole in the ring; its own seq may not (earlier events of it are lost too).
    const newTail = this.headAt + count - this.capacity;
    let lostSeq = this.floorSeq;
    if (newTail > 0) {
      const at = newTail - 1;
      lostSeq = at >= this.headAt ? seqAt(v, from + at - this.headAt) : this.seqAtPosition(at);
    }
    // Of a batch larger than the ring only its newest records can survive.
    const skip = Math.max(0, count - this.capacity);
    let at = this.headAt + skip;
    let i = from + skip;
    let left = count - skip;
    while (left > 0) {
      const slot = at % this.capacity;
      const n = Math.min(left, this.capacity - slot);
      this.views.u8.set(v.u8.subarray(i * RECORD_BYTES, (i + n) * RECORD_BYTES), slot * RECORD_BYTES);
      at += n;
      i += n;
      left -= n;
    }
    this.headAt += count;
    this.floorSeq = Math.max(this.floorSeq, lostSeq);
  }

  /**
   * The position of the first record of a seq above `afterSeq`: `head` when there is none
   * yet, null when some of those events are no longer held (or were never seen).
   */
  positionAfter(afterSeq: number): number | null {
    if (afterSeq < this.floorSeq || afterSeq > this.last) return null;
    if (afterSeq === this.last) return this.headAt;
    let lo = this.tail;
    let hi = this.headAt;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.seqAtPosition(mid) > afterSeq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Up to `max` records from `position` (held, below head) as bytes, without a copy: fewer
   * when the ring wraps, the rest comes on the next call.
   */
  bytesAt(position: number, max: number): Uint8Array {
    const slot = position % this.capacity;
    const n = Math.min(max, this.headAt - position, this.capacity - slot);
    return this.views.u8.subarray(slot * RECORD_BYTES, (slot + n) * RECORD_BYTES);
  }

  private seqAtPosition(position: number): number {
    return seqAt(this.views, position % this.capacity);
  }
}
