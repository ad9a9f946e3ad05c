/**
 * An open-addressing hash map from order id (a positive safe integer) to order slot, in typed
 * arrays: no allocation per insert or delete, O(1) expected lookup. Linear probing with
 * backward-shift deletion, so there are no tombstones and lookups stay short however many
 * orders come and go. Grows (doubling, amortised) past half full.
 */
const EMPTY = 0;

export class OrderIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Number of entries. */
  get count(): number {
    return this.size;
  }

  // Mixes the low and high 32 bits of the id (ids exceed 2^32 over a long run).
  private slotOf(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The slot stored for `key`, or -1. */
  get(key: number): number {
    if (key === EMPTY) return -1; // 0 marks an empty slot: it is never a key
    const keys = this.keys;
    let i = this.slotOf(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key) return this.values[i]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Stores `value` for `key` (key must be >= 1; replaces an existing entry). */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    let i = this.slotOf(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key) {
        this.values[i] = value;
        return;
      }
      if (k === EMPTY) {
        keys[i] = key;
        this.values[i] = value;
        this.size++;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = this.slotOf(key);
    for (;;) {
      const k = keys[i]!;
      if (k === EMPTY) return false;
      if (k === key) break;
      i = (i + 1) & mask;
    }
    // Backward-shift: move later entries of the probe run into the hole when their home
    // slot is at or before it, so every remaining key stays reachable from its home slot.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.slotOf(k);
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        keys[hole] = k;
        values[hole] = values[j]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    keys[hole] = EMPTY;
    this.size--;
    return true;
  }

  /** Calls `f` with every entry (in table order). */
  forEach(f: (key: number, value: number) => void): void {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k !== EMPTY) f(k, this.values[i]!);
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.keys.fill(EMPTY);
    this.size = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== EMPTY) this.set(k, oldValues[i]!);
    }
  }
}

/**
 * Order id -> slot for ids the sequencer assigns increasing: a direct-mapped table indexed by
 * the id's low bits (one load and one compare per lookup, no hashing, no probing), with the
 * rare id whose table entry is held by another open order kept in a spill `OrderIndex`.
 * Any positive safe integer works as a key; only the speed depends on the ids being dense.
 */
export class DirectOrderIndex {
  private keys: Float64Array;
  private values: Int32Array;
  /** Per table entry: how many spilled keys have it as their home (lookups skip the spill when 0). */
  private spillAt: Int32Array;
  private mask: number;
  private size = 0;
  private spill = new OrderIndex(16);

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 8) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.spillAt = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Number of entries. */
  get count(): number {
    return this.size + this.spill.count;
  }

  /** Entries held in the spill map (for tests and tuning). */
  get spillCount(): number {
    return this.spill.count;
  }

  /** The slot stored for `key`, or -1. */
  get(key: number): number {
    const i = key & this.mask;
    if (this.keys[i] === key && key !== EMPTY) return this.values[i]!;
    if (this.spillAt[i] === 0) return -1;
    return this.spill.get(key);
  }

  /** Stores `value` for `key` (key must be >= 1; replaces an existing entry). */
  set(key: number, value: number): void {
    const i = key & this.mask;
    const k = this.keys[i]!;
    if (k === key) {
      this.values[i] = value;
      return;
    }
    if (this.spillAt[i] !== 0 && this.spill.get(key) !== -1) {
      this.spill.set(key, value);
      return;
    }
    if ((this.size + this.spill.count + 1) * 4 > this.keys.length) {
      this.grow();
      this.set(key, value);
      return;
    }
    if (k === EMPTY) {
      this.keys[i] = key;
      this.values[i] = value;
      this.size++;
      return;
    }
    this.spill.set(key, value);
    this.spillAt[i]!++;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const i = key & this.mask;
    if (this.keys[i] === key && key !== EMPTY) {
      this.keys[i] = EMPTY;
      this.size--;
      return true;
    }
    if (this.spillAt[i] === 0 || !this.spill.delete(key)) return false;
    this.spillAt[i]!--;
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const oldSpill = this.spill;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.spillAt = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    this.spill = new OrderIndex(16);
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== EMPTY) this.set(k, oldValues[i]!);
    }
    oldSpill.forEach((k, v) => {
      this.set(k, v);
    });
  }
}

/**
 * User id -> a dense slot number (0, 1, 2, ...), assigned on first sight and kept: an
 * open-addressing hash in typed arrays (no allocation per lookup, no Map).
 */
export class UserSlots {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private size = 0;

  constructor(initialCapacity = 64) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Number of users seen (the next slot to assign). */
  get count(): number {
    return this.size;
  }

  private home(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The slot of `key`, or -1 if it has none. */
  get(key: number): number {
    const keys = this.keys;
    let i = this.home(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key && key !== EMPTY) return this.values[i]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** The slot of `key` (>= 1), assigning the next one if it has none. */
  slotOf(key: number): number {
    const keys = this.keys;
    let i = this.home(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key) return this.values[i]!;
      if (k === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    const slot = this.size++;
    keys[i] = key;
    this.values[i] = slot;
    if (this.size * 2 > keys.length) this.grow();
    return slot;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j]!;
      if (k === EMPTY) continue;
      let i = this.home(k);
      while (this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.values[i] = oldValues[j]!;
    }
  }
}
