/**
 * Order id -> slot, for the depth tracker's open orders: an open-addressing hash map in
 * typed arrays (linear probing, backward-shift deletion, so no tombstones), grown by doubling
 * past half full. No allocation per insert or delete; a `Map` keyed by the doubles the event
 * records hold costs several times more on this path (one insert and one delete per order).
 */
export class OrderSlots {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  /** Number of entries. */
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  // Mixes both 32-bit halves of the id (ids are safe integers, beyond 2^32 over a long run).
  private home(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The slot of order `id` (ids are >= 1; 0 marks an empty cell), or -1. */
  get(id: number): number {
    if (id <= 0) return -1;
    const keys = this.keys;
    let i = this.home(id);
    for (;;) {
      const k = keys[i]!;
      if (k === id) return this.values[i]!;
      if (k === 0) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Sets the slot of order `id` (>= 1). */
  set(id: number, slot: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    let i = this.home(id);
    for (;;) {
      const k = keys[i]!;
      if (k === id) {
        this.values[i] = slot;
        return;
      }
      if (k === 0) {
        keys[i] = id;
        this.values[i] = slot;
        this.size++;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Removes order `id`; true when it was there. */
  delete(id: number): boolean {
    if (id <= 0) return false;
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = this.home(id);
    for (;;) {
      const k = keys[i]!;
      if (k === 0) return false;
      if (k === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the probe run into the hole when their home
    // position allows it, so that every lookup still finds its key before an empty cell.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const k = keys[j]!;
      if (k === 0) break;
      const h = this.home(k);
      // Move k if its home is not within (hole, j] cyclically.
      const between = hole <= j ? h > hole && h <= j : h > hole || h <= j;
      if (!between) {
        keys[hole] = k;
        values[hole] = values[j]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    keys[hole] = 0;
    this.size--;
    return true;
  }

  /** Every [id, slot], in no particular order. */
  *entries(): IterableIterator<[number, number]> {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) yield [keys[i]!, this.values[i]!];
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== 0) this.set(oldKeys[i]!, oldValues[i]!);
  }
}
