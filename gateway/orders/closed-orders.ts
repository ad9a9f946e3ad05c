/**
 * The order view's recently closed orders: at most `capacity` of them, the least recently used
 * leaving first, held in preallocated typed arrays (one slot per order, its fields side by side)
 * with two open-addressing hash tables of slot numbers, by (symbol, order id) and by (user,
 * symbol, client order id), and a chain per user, newest first, for allOrders' recent end.
 *
 * Why no objects: every order the gateway sees ends up here and stays for the next `capacity`
 * closes. As an object in Maps (record, boxed timestamps, key strings, map entries) each one
 * survived the young generation, was copied and promoted, and was swept much later: about 8 µs
 * of the platform's main thread per order in the gateway benchmark (docs/BENCHMARKS.md). Here a
 * close writes numbers and bytes into arrays allocated once: it allocates and retains nothing.
 * A lookup builds the snapshot it returns.
 *
 * Slots are taken in append order from a ring of `capacity` plus some slack. Using an order (a
 * lookup through `use`) makes it the most recent: its fields move to a new slot at the tail and
 * its old slot is dead. Before an append the oldest live order leaves when `capacity` are kept;
 * dead slots at the head are passed over, and when the ring has no free slot the head slot goes
 * whatever it holds (so that many uses between closes may keep a little fewer than `capacity`).
 *
 * Client order ids are stored as bytes (Binance's are at most 36 characters of ASCII); any
 * other string is kept aside by slot.
 */
import { ORDER_STATUSES, type OrderSnapshot, type OrderStatus } from './order-state.ts';

const STATUS_INDEX = new Map<OrderStatus, number>(ORDER_STATUSES.map((s, i) => [s, i]));

/** Longest client order id stored as bytes (longer or non-ASCII ones are kept aside). */
const CID_BYTES = 36;

// Number fields of a slot (Float64Array, stride F).
const F_USER = 0;
const F_ORDER = 1;
const F_PRICE = 2;
const F_QTY = 3;
const F_QUOTE_QTY = 4;
const F_EXECUTED = 5;
const F_CUM_QUOTE = 6;
const F_PREVENTED = 7;
const F_PREVENTED_MATCH = 8;
const F_REMAINING = 9;
const F_TIME = 10;
const F_UPDATE_TIME = 11;
const F_WORKING_TIME = 12;
const F_LAST_SEQ = 13;
/** The append number of the order in the slot. */
const F_SERIAL = 14;
/** The append number of the previous order of the same user (-1: none); its slot is that modulo the ring. */
const F_PREV_SERIAL = 15;
const F = 16;

// Small fields of a slot (Int32Array, stride I).
const I_SYMBOL = 0;
const I_SIDE = 1;
const I_TYPE = 2;
const I_TIF = 3;
const I_STP = 4;
const I_STATUS = 5;
const I_EXPIRY = 6;
/** Byte length of the client order id, -1 when kept aside. */
const I_CID_LEN = 7;
const I_PREV_CID_LEN = 8;
const I_CID_HASH = 9;
/** 1 while the slot holds a kept order. */
const I_LIVE = 10;
const I = 11;

const EMPTY = -1;

/** FNV-1a over (user, symbol, client order id): the client-order-id table's hash. */
function cidHash(userId: number, symbolId: number, cid: string): number {
  let h = Math.imul(2166136261 ^ (userId | 0), 16777619);
  h = Math.imul(h ^ ((userId / 4294967296) | 0), 16777619);
  h = Math.imul(h ^ symbolId, 16777619);
  for (let i = 0; i < cid.length; i++) h = Math.imul(h ^ cid.charCodeAt(i), 16777619);
  return h ^ (h >>> 15);
}

/** The id table's hash of (symbol, order id); order ids up to 2^53. */
function idHash(symbolId: number, orderId: number): number {
  let h = Math.imul((orderId >>> 0) ^ Math.imul(symbolId, 0x85ebca6b), 0x9e3779b1);
  h ^= Math.imul((orderId / 4294967296) >>> 0, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** True when `s` fits the byte storage: at most CID_BYTES characters, all ASCII. */
function storable(s: string): boolean {
  if (s.length > CID_BYTES) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The closed orders of one order view (see the file header). */
export class ClosedOrders {
  /** Most orders kept. */
  readonly capacity: number;
  /** Slots in the ring (capacity plus slack for the dead slots uses leave). */
  readonly slots: number;
  private readonly num: Float64Array;
  private readonly small: Int32Array;
  private readonly cids: Uint8Array;
  private readonly prevCids: Uint8Array;
  /** Client order ids that are not short ASCII, by slot * 2 (+1 for the previous one). */
  private readonly aside = new Map<number, string>();
  private readonly mask: number;
  /** Hash tables, linear probing: at position p, [2p] the slot (EMPTY: none) and [2p + 1] its key's hash. */
  private readonly byId: Int32Array;
  private readonly byCid: Int32Array;
  /** Each user's newest slot. */
  private readonly userHead = new Map<number, number>();
  /** Append number of the oldest slot still in the ring, and of the next append. */
  private head = 0;
  private tail = 0;
  private live = 0;

  /** `slots` (at least capacity + 1) is for tests; the default leaves an eighth of slack. */
  constructor(capacity: number, slots?: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.slots =
      this.capacity === 0
        ? 0
        : Math.max(this.capacity + 1, Math.floor(slots ?? this.capacity + Math.max(16, this.capacity >> 3)));
    this.num = new Float64Array(this.slots * F);
    this.small = new Int32Array(this.slots * I);
    this.cids = new Uint8Array(this.slots * CID_BYTES);
    this.prevCids = new Uint8Array(this.slots * CID_BYTES);
    let size = 2;
    while (size < this.slots * 2) size *= 2;
    this.mask = size - 1;
    this.byId = new Int32Array(this.slots === 0 ? 0 : size * 2).fill(EMPTY);
    this.byCid = new Int32Array(this.slots === 0 ? 0 : size * 2).fill(EMPTY);
  }

  /** Number of orders kept. */
  get size(): number {
    return this.live;
  }

  /** Keeps `o` (closed) as the most recently used; replaces an order kept with the same ids. */
  add(o: OrderSnapshot): void {
    this.append(o, true);
  }

  /**
   * Appends `o` at the tail. `byCid`: whether it answers for its client order id (a newly
   * closed order does; one moved by a use does only if it did before).
   */
  private append(o: OrderSnapshot, byCid: boolean): void {
    if (this.slots === 0) return;
    const idH = idHash(o.symbolId, o.orderId);
    const same = this.findId(o.symbolId, o.orderId, idH);
    if (same !== EMPTY) this.kill(this.byId[same * 2]!);
    while (this.live >= this.capacity || this.tail - this.head >= this.slots) this.popHead();
    const slot = this.tail % this.slots;
    const serial = this.tail++;
    const n = slot * F;
    const num = this.num;
    num[n + F_USER] = o.userId;
    num[n + F_ORDER] = o.orderId;
    num[n + F_PRICE] = o.priceTicks;
    num[n + F_QTY] = o.qtyLots;
    num[n + F_QUOTE_QTY] = o.quoteQtyUnits;
    num[n + F_EXECUTED] = o.executedLots;
    num[n + F_CUM_QUOTE] = o.cumQuoteUnits;
    num[n + F_PREVENTED] = o.preventedLots;
    num[n + F_PREVENTED_MATCH] = o.preventedMatchId;
    num[n + F_REMAINING] = o.remainingLots;
    num[n + F_TIME] = o.timeMicros;
    num[n + F_UPDATE_TIME] = o.updateTimeMicros;
    num[n + F_WORKING_TIME] = o.workingTimeMicros;
    num[n + F_LAST_SEQ] = o.lastSeq;
    num[n + F_SERIAL] = serial;
    const s = slot * I;
    const small = this.small;
    small[s + I_SYMBOL] = o.symbolId;
    small[s + I_SIDE] = o.side;
    small[s + I_TYPE] = o.orderType;
    small[s + I_TIF] = o.timeInForce;
    small[s + I_STP] = o.stpMode;
    small[s + I_STATUS] = STATUS_INDEX.get(o.status)!;
    small[s + I_EXPIRY] = o.expiryReason;
    small[s + I_CID_LEN] = this.putCid(this.cids, slot, slot * 2, o.clientOrderId);
    small[s + I_PREV_CID_LEN] = this.putCid(this.prevCids, slot, slot * 2 + 1, o.prevClientOrderId);
    small[s + I_LIVE] = 1;
    this.live++;
    // The user's chain, newest first.
    const prev = this.userHead.get(o.userId);
    num[n + F_PREV_SERIAL] = prev === undefined ? -1 : num[prev * F + F_SERIAL]!;
    this.userHead.set(o.userId, slot);
    this.insert(this.byId, slot, idH);
    if (o.clientOrderId === '') return;
    const h = cidHash(o.userId, o.symbolId, o.clientOrderId);
    small[s + I_CID_HASH] = h;
    if (!byCid) return;
    const older = this.findCid(o.userId, o.symbolId, o.clientOrderId, h);
    // The latest closed order with an id answers for it (as Binance's GET order by it).
    if (older === EMPTY) this.insert(this.byCid, slot, h);
    else this.byCid[older * 2] = slot;
  }

  /** The order `orderId` on `symbolId` if kept (not marked used). */
  get(symbolId: number, orderId: number): OrderSnapshot | undefined {
    const at = this.findId(symbolId, orderId, idHash(symbolId, orderId));
    return at === EMPTY ? undefined : this.snapshot(this.byId[at * 2]!);
  }

  /** The kept order `orderId` of `userId` on `symbolId`, made the most recently used. */
  use(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined {
    const at = this.findId(symbolId, orderId, idHash(symbolId, orderId));
    if (at === EMPTY) return undefined;
    const slot = this.byId[at * 2]!;
    return this.num[slot * F + F_USER] === userId ? this.refresh(slot) : undefined;
  }

  /** The latest kept order of `userId` on `symbolId` with `clientOrderId`, made the most recently used. */
  useByClientOrderId(userId: number, symbolId: number, clientOrderId: string): OrderSnapshot | undefined {
    if (this.slots === 0 || clientOrderId === '') return undefined;
    const at = this.findCid(userId, symbolId, clientOrderId, cidHash(userId, symbolId, clientOrderId));
    return at === EMPTY ? undefined : this.refresh(this.byCid[at * 2]!);
  }

  /** `userId`'s kept orders on `symbolId`, newest close (or use) first. */
  recent(userId: number, symbolId: number): OrderSnapshot[] {
    const out: OrderSnapshot[] = [];
    let slot = this.userHead.get(userId) ?? -1;
    while (slot >= 0) {
      const s = slot * I;
      if (this.small[s + I_LIVE] === 1 && this.small[s + I_SYMBOL] === symbolId)
        out.push(this.snapshot(slot));
      const prevSerial = this.num[slot * F + F_PREV_SERIAL]!;
      // The chain ends where the older slot has left the ring (or been taken by a later order).
      if (prevSerial < this.head) break;
      slot = prevSerial % this.slots;
    }
    return out;
  }

  /** The order in `slot` moved to the tail (most recently used), as a snapshot. */
  private refresh(slot: number): OrderSnapshot {
    const o = this.snapshot(slot);
    if (this.num[slot * F + F_SERIAL] !== this.tail - 1) {
      const s = slot * I;
      const answersCid =
        this.small[s + I_CID_LEN] !== 0 &&
        this.positionOf(this.byCid, slot, this.small[s + I_CID_HASH]!) !== EMPTY;
      this.kill(slot);
      this.append(o, answersCid);
    }
    return o;
  }

  private snapshot(slot: number): OrderSnapshot {
    const n = slot * F;
    const s = slot * I;
    const num = this.num;
    const small = this.small;
    return {
      symbolId: small[s + I_SYMBOL]!,
      userId: num[n + F_USER]!,
      orderId: num[n + F_ORDER]!,
      clientOrderId: this.readCid(this.cids, slot, slot * 2, small[s + I_CID_LEN]!),
      prevClientOrderId: this.readCid(this.prevCids, slot, slot * 2 + 1, small[s + I_PREV_CID_LEN]!),
      side: small[s + I_SIDE]! as OrderSnapshot['side'],
      orderType: small[s + I_TYPE]! as OrderSnapshot['orderType'],
      timeInForce: small[s + I_TIF]! as OrderSnapshot['timeInForce'],
      stpMode: small[s + I_STP]! as OrderSnapshot['stpMode'],
      priceTicks: num[n + F_PRICE]!,
      qtyLots: num[n + F_QTY]!,
      quoteQtyUnits: num[n + F_QUOTE_QTY]!,
      executedLots: num[n + F_EXECUTED]!,
      cumQuoteUnits: num[n + F_CUM_QUOTE]!,
      preventedLots: num[n + F_PREVENTED]!,
      preventedMatchId: num[n + F_PREVENTED_MATCH]!,
      remainingLots: num[n + F_REMAINING]!,
      status: ORDER_STATUSES[small[s + I_STATUS]!]!,
      expiryReason: small[s + I_EXPIRY]!,
      timeMicros: num[n + F_TIME]!,
      updateTimeMicros: num[n + F_UPDATE_TIME]!,
      workingTimeMicros: num[n + F_WORKING_TIME]!,
      lastSeq: num[n + F_LAST_SEQ]!,
    };
  }

  /** Writes `text` into `bytes` at `slot`: its length, or -1 when kept aside under `key`. */
  private putCid(bytes: Uint8Array, slot: number, key: number, text: string): number {
    if (this.aside.size > 0) this.aside.delete(key);
    if (!storable(text)) {
      this.aside.set(key, text);
      return -1;
    }
    const at = slot * CID_BYTES;
    for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
    return text.length;
  }

  private readCid(bytes: Uint8Array, slot: number, key: number, length: number): string {
    if (length < 0) return this.aside.get(key)!;
    const at = slot * CID_BYTES;
    return String.fromCharCode.apply(null, bytes.subarray(at, at + length) as unknown as number[]);
  }

  /** Whether the client order id in `slot` is `text`. */
  private cidIs(slot: number, text: string): boolean {
    const length = this.small[slot * I + I_CID_LEN]!;
    if (length < 0) return this.aside.get(slot * 2) === text;
    if (length !== text.length) return false;
    const at = slot * CID_BYTES;
    for (let i = 0; i < length; i++) if (this.cids[at + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  /** The id table's position holding (symbolId, orderId), or EMPTY. */
  private findId(symbolId: number, orderId: number, hash: number): number {
    if (this.slots === 0) return EMPTY;
    const table = this.byId;
    for (let at = hash & this.mask; ; at = (at + 1) & this.mask) {
      const slot = table[at * 2]!;
      if (slot === EMPTY) return EMPTY;
      if (
        table[at * 2 + 1] === hash &&
        this.num[slot * F + F_ORDER] === orderId &&
        this.small[slot * I + I_SYMBOL] === symbolId
      )
        return at;
    }
  }

  /** The client-order-id table's position holding (userId, symbolId, cid), or EMPTY. */
  private findCid(userId: number, symbolId: number, cid: string, hash: number): number {
    const table = this.byCid;
    for (let at = hash & this.mask; ; at = (at + 1) & this.mask) {
      const slot = table[at * 2]!;
      if (slot === EMPTY) return EMPTY;
      if (
        table[at * 2 + 1] === hash &&
        this.small[slot * I + I_SYMBOL] === symbolId &&
        this.num[slot * F + F_USER] === userId &&
        this.cidIs(slot, cid)
      )
        return at;
    }
  }

  private insert(table: Int32Array, slot: number, hash: number): void {
    let at = hash & this.mask;
    while (table[at * 2] !== EMPTY) at = (at + 1) & this.mask;
    table[at * 2] = slot;
    table[at * 2 + 1] = hash;
  }

  /** Empties position `at` of `table`, moving later entries of its probe run back (no tombstones). */
  private remove(table: Int32Array, at: number): void {
    const mask = this.mask;
    let hole = at;
    table[hole * 2] = EMPTY;
    for (let j = (hole + 1) & mask; table[j * 2] !== EMPTY; j = (j + 1) & mask) {
      const home = table[j * 2 + 1]! & mask;
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      table[hole * 2] = table[j * 2]!;
      table[hole * 2 + 1] = table[j * 2 + 1]!;
      table[j * 2] = EMPTY;
      hole = j;
    }
  }

  /** Takes the order in `slot` out of both tables; the slot stays in the ring, dead. */
  private kill(slot: number): void {
    const s = slot * I;
    if (this.small[s + I_LIVE] !== 1) return;
    this.small[s + I_LIVE] = 0;
    this.live--;
    this.unindex(this.byId, slot, idHash(this.small[s + I_SYMBOL]!, this.num[slot * F + F_ORDER]!));
    // Indexed by client order id if it has one (and no later order with the same id took its place).
    if (this.small[s + I_CID_LEN] !== 0) this.unindex(this.byCid, slot, this.small[s + I_CID_HASH]!);
  }

  /** The position of `table`'s entry that names `slot` (whose key hashes to `hash`), or EMPTY. */
  private positionOf(table: Int32Array, slot: number, hash: number): number {
    for (let at = hash & this.mask; table[at * 2] !== EMPTY; at = (at + 1) & this.mask)
      if (table[at * 2] === slot) return at;
    return EMPTY;
  }

  /** Removes the entry of `table` that names `slot`, if there is one. */
  private unindex(table: Int32Array, slot: number, hash: number): void {
    const at = this.positionOf(table, slot, hash);
    if (at !== EMPTY) this.remove(table, at);
  }

  /** Drops the oldest slot of the ring (its order, if it still holds one). */
  private popHead(): void {
    const slot = this.head % this.slots;
    this.kill(slot);
    const userId = this.num[slot * F + F_USER]!;
    // The user's newest slot leaving means all of theirs have (slots leave oldest first).
    if (this.userHead.get(userId) === slot) this.userHead.delete(userId);
    this.head++;
  }
}
