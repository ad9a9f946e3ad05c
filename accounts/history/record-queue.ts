/**
 * The persister's inbox: a growable FIFO of raw 192-byte event records. The engine hands its
 * listeners reused views that are only valid during the call, so the listener copies the
 * records here (one memory copy per call, no decoding, no allocation once the buffer is big
 * enough) and the writer folds them into rows later, a batch at a time.
 */
import { isLastEvent, RECORD_BYTES, RecordViews, seqAt } from '../../engine/index.ts';

/** A FIFO of event records: `append` copies in, `wholeCommands` finds a batch, `drop` consumes. */
export class RecordQueue {
  private views: RecordViews;
  private head = 0;
  private tail = 0;

  constructor(initialRecords = 8192) {
    this.views = new RecordViews(new ArrayBuffer(initialRecords * RECORD_BYTES));
  }

  /** Records waiting. */
  get size(): number {
    return this.tail - this.head;
  }

  /** The buffer the records are in; valid until the next `append`. */
  get records(): RecordViews {
    return this.views;
  }

  /** Index in `records` of the oldest waiting record. */
  get first(): number {
    return this.head;
  }

  /** Copies records `from .. from + count` of `v` to the end. */
  append(v: RecordViews, from: number, count: number): void {
    if (count === 0) return;
    this.reserve(count);
    this.views.u8.set(
      v.u8.subarray(from * RECORD_BYTES, (from + count) * RECORD_BYTES),
      this.tail * RECORD_BYTES,
    );
    this.tail += count;
  }

  /** Forgets the `count` oldest records. */
  drop(count: number): void {
    this.head += Math.min(count, this.size);
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /**
   * How many of the oldest records (after the first `skip`) make whole commands, at most `max`
   * of them, or, when the first command alone is longer than `max`, exactly that command. 0
   * when no command is whole.
   */
  wholeCommands(max: number, skip = 0): number {
    const v = this.views;
    const start = this.head + skip;
    let cut = 0;
    for (let i = start; i < this.tail; i++) {
      if (!isLastEvent(v, i)) continue;
      const n = i - start + 1;
      if (n > max) return cut === 0 ? n : cut;
      cut = n;
    }
    return cut;
  }

  /** The seq of the record at offset `k` from the oldest. */
  seqAt(k: number): number {
    return seqAt(this.views, this.head + k);
  }

  private reserve(count: number): void {
    const capacity = this.views.records;
    if (this.tail + count <= capacity) return;
    const live = this.tail - this.head;
    if (live + count <= capacity / 2) {
      // Plenty of room once the consumed front is reclaimed: slide the live records down.
      this.views.u8.copyWithin(0, this.head * RECORD_BYTES, this.tail * RECORD_BYTES);
    } else {
      let next = capacity * 2;
      while (next < live + count) next *= 2;
      const grown = new RecordViews(new ArrayBuffer(next * RECORD_BYTES));
      grown.u8.set(this.views.u8.subarray(this.head * RECORD_BYTES, this.tail * RECORD_BYTES), 0);
      this.views = grown;
    }
    this.head = 0;
    this.tail = live;
  }
}
