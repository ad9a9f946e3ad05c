/**
 * Fixed-layout binary records for commands and events: 192 bytes each, little-endian, so a
 * record can sit in a SharedArrayBuffer ring slot and be read by another thread without
 * parsing. Every f64 field is 8-byte aligned and holds a safe integer.
 *
 * Command record                            Event record
 *   0  u8  kind                               0  u8  kind
 *   1  u8  side                               1  u8  side (taker side for trades)
 *   2  u8  orderType                          2  u8  orderType
 *   3  u8  timeInForce                        3  u8  timeInForce
 *   4  u8  stpMode                            4  u8  stpMode
 *   5  u8  cancelRestriction                  5  u8  reason (cancel / expiry / refused kind)
 *   6  u8  cancelReplaceMode                  6  u8  flags (bit 0 kept priority, bit 1 last
 *   8  u32 symbolId (assetId for funds)               event of its command)
 *  12  u16 risk's result code (journal)       8  u32 symbolId (assetId for funds events)
 *  16  f64 seq                               12  u16 result code
 *  24  f64 tsMicros                          16  f64 seq
 *  32  f64 userId                            24  f64 tsMicros
 *  40  f64 orderId (refId for funds)         32..112 f64 x 10: payload slots (per kind)
 *  48  f64 priceTicks (makerPpm)            112  u8  client order id length, 113..148 bytes
 *  56  f64 qtyLots (takerPpm)
 *  64  f64 quoteQtyUnits (amountUnits)
 *  72  f64 cancelOrderId (cancel-replace)
 *  80  f64 budgetUnits (risk's hold on a MARKET order)
 *  88  u8  clientOrderId length, 89..124 its bytes
 * 125  u8  second client order id length, 126..161 its bytes
 *        (amend: the new client order id; cancel-replace: the cancel target's)
 */
import {
  type AmendOrder,
  assertNever,
  type CancelAllOrders,
  type CancelOrder,
  type CancelReplaceOrder,
  CLIENT_ORDER_ID_MAX,
  type Command,
  CommandKind,
  isValidClientOrderId,
  type PlaceOrder,
} from './commands.ts';
import type {
  CancelReason,
  CancelReplaceMode,
  CancelRestriction,
  ExpiryReason,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
} from './enums.ts';
import { type EngineEvent, EventKind } from './events.ts';
import type { OrderId, PreventedMatchId, Seq, SymbolId, TradeId, UserId } from './ids.ts';
import type { ResultCode } from './result-code.ts';

/** Event flags (byte 6): the last event of its command. */
const FLAG_LAST = 2;

/** Bytes per command or event record. */
export const RECORD_BYTES = 192;
const F64_PER_RECORD = RECORD_BYTES / 8;
const U32_PER_RECORD = RECORD_BYTES / 4;
const U16_PER_RECORD = RECORD_BYTES / 2;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // The records are read through typed arrays, which use the host's byte order.
  throw new Error('Crossbook needs a little-endian host');
}

/** Thrown when a record cannot be encoded or decoded; says which record and why. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** Typed views over one buffer of records (ArrayBuffer or SharedArrayBuffer). */
export class RecordViews {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** The same bytes as a Buffer: client order ids are read with its native latin1 decoding. */
  readonly bytes: Buffer;
  /** Capacity in records. */
  readonly records: number;

  constructor(
    readonly buffer: ArrayBufferLike,
    byteOffset = 0,
    records?: number,
  ) {
    const n = records ?? Math.floor((buffer.byteLength - byteOffset) / RECORD_BYTES);
    if (byteOffset % 8 !== 0)
      throw new RecordError(`record views need an 8-byte aligned offset, got ${byteOffset}`);
    this.records = n;
    this.u8 = new Uint8Array(buffer, byteOffset, n * RECORD_BYTES);
    this.u16 = new Uint16Array(buffer, byteOffset, n * U16_PER_RECORD);
    this.u32 = new Uint32Array(buffer, byteOffset, n * U32_PER_RECORD);
    this.f64 = new Float64Array(buffer, byteOffset, n * F64_PER_RECORD);
    this.bytes = Buffer.from(buffer, byteOffset, n * RECORD_BYTES);
  }
}

function writeAscii(u8: Uint8Array, at: number, text: string, what: string): void {
  const n = text.length;
  if (n > CLIENT_ORDER_ID_MAX)
    throw new RecordError(`${what} is ${n} characters, at most ${CLIENT_ORDER_ID_MAX} fit`);
  u8[at] = n;
  if (n > 0 && !isValidClientOrderId(text)) {
    throw new RecordError(
      `${what} "${text}" is not a client order id Binance allows ([.A-Za-z0-9:/_-]{1,36})`,
    );
  }
  for (let i = 0; i < n; i++) u8[at + 1 + i] = text.charCodeAt(i);
}

/** The bytes a client order id may hold, taken from `isValidClientOrderId` itself (1: allowed). */
const CLIENT_ORDER_ID_BYTE = Uint8Array.from({ length: 256 }, (_, c) =>
  isValidClientOrderId(String.fromCharCode(c)) ? 1 : 0,
);

/**
 * A client order id from its length byte at `at` and the bytes after it. Checked byte by byte
 * and decoded natively: about 95 ns for a 24-character id, against 215 for
 * `String.fromCharCode.apply` over a subarray and the pattern test.
 */
function readAscii(v: RecordViews, at: number, what: string, index: number): string {
  const u8 = v.u8;
  const n = u8[at]!;
  if (n === 0) return '';
  if (n > CLIENT_ORDER_ID_MAX)
    throw new RecordError(`record ${index}: ${what} length ${n} exceeds ${CLIENT_ORDER_ID_MAX}`);
  for (let i = at + 1; i <= at + n; i++) {
    if (CLIENT_ORDER_ID_BYTE[u8[i]!] === 0)
      throw new RecordError(`record ${index}: ${what} is not a valid client order id`);
  }
  return v.bytes.toString('latin1', at + 1, at + 1 + n);
}

// ---------------------------------------------------------------------------------------
// Commands

/**
 * The 8-byte words of a command record that hold f64 integers (the rest hold bytes): the
 * journal stores these as varints.
 */
export const COMMAND_F64_WORDS: readonly number[] = [2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Byte offset of a command's risk result code (u16), stamped by the sequencer. */
const RISK_CODE_U16 = 6;
const CID_AT = 88;
const CID2_AT = 125;

/** Writes `cmd` into record `index` of `v` (the record is overwritten entirely). */
export function encodeCommand(v: RecordViews, index: number, cmd: Command): void {
  if (index < 0 || index >= v.records)
    throw new RecordError(`record ${index} is outside 0..${v.records - 1}`);
  const b = index * RECORD_BYTES;
  const f = index * F64_PER_RECORD;
  v.u8.fill(0, b, b + RECORD_BYTES);
  v.u8[b] = CommandKind[cmd.kind];
  v.f64[f + 2] = cmd.seq;
  v.f64[f + 3] = cmd.tsMicros;
  v.f64[f + 4] = cmd.userId;
  switch (cmd.kind) {
    case 'PlaceOrder':
    case 'CancelReplaceOrder':
      v.u32[index * U32_PER_RECORD + 2] = cmd.symbolId;
      v.u8[b + 1] = cmd.side;
      v.u8[b + 2] = cmd.orderType;
      v.u8[b + 3] = cmd.timeInForce;
      v.u8[b + 4] = cmd.stpMode;
      v.f64[f + 5] = cmd.orderId;
      v.f64[f + 6] = cmd.priceTicks;
      v.f64[f + 7] = cmd.qtyLots;
      v.f64[f + 8] = cmd.quoteQtyUnits;
      v.f64[f + 10] = cmd.budgetUnits ?? 0;
      writeAscii(v.u8, b + CID_AT, cmd.clientOrderId, 'clientOrderId');
      if (cmd.kind === 'CancelReplaceOrder') {
        v.u8[b + 5] = cmd.cancelRestriction;
        v.u8[b + 6] = cmd.cancelReplaceMode;
        v.f64[f + 9] = cmd.cancelOrderId;
        writeAscii(v.u8, b + CID2_AT, cmd.cancelClientOrderId, 'cancelClientOrderId');
      }
      break;
    case 'CancelOrder':
      v.u32[index * U32_PER_RECORD + 2] = cmd.symbolId;
      v.u8[b + 5] = cmd.cancelRestriction;
      v.f64[f + 5] = cmd.orderId;
      writeAscii(v.u8, b + CID_AT, cmd.clientOrderId, 'clientOrderId');
      break;
    case 'CancelAllOrders':
      v.u32[index * U32_PER_RECORD + 2] = cmd.symbolId;
      break;
    case 'AmendOrder':
      v.u32[index * U32_PER_RECORD + 2] = cmd.symbolId;
      v.f64[f + 5] = cmd.orderId;
      v.f64[f + 6] = cmd.priceTicks;
      v.f64[f + 7] = cmd.qtyLots;
      writeAscii(v.u8, b + CID_AT, cmd.clientOrderId, 'clientOrderId');
      writeAscii(v.u8, b + CID2_AT, cmd.newClientOrderId, 'newClientOrderId');
      break;
    case 'Deposit':
    case 'WithdrawalHold':
    case 'WithdrawalSettle':
    case 'WithdrawalRelease':
      v.u32[index * U32_PER_RECORD + 2] = cmd.assetId;
      v.f64[f + 5] = cmd.refId;
      v.f64[f + 8] = cmd.amountUnits;
      break;
    case 'SetFeeRates':
      v.f64[f + 6] = cmd.makerPpm;
      v.f64[f + 7] = cmd.takerPpm;
      break;
    default:
      assertNever(cmd);
  }
}

/** The numeric kind of command record `index`. */
export function commandKindAt(v: RecordViews, index: number): number {
  return v.u8[index * RECORD_BYTES]!;
}

/** Stamps the sequencer's seq, time and (for a new order, when >= 0) order id into record `index`. */
export function stampSequence(
  v: RecordViews,
  index: number,
  seq: number,
  tsMicros: number,
  orderId: number,
): void {
  const f = index * F64_PER_RECORD;
  v.f64[f + 2] = seq;
  v.f64[f + 3] = tsMicros;
  if (orderId >= 0) v.f64[f + 5] = orderId;
}

/** Stamps risk's decision into command record `index`: a result code and the hold budget. */
export function stampRisk(v: RecordViews, index: number, code: number, budgetUnits: number): void {
  v.u16[index * U16_PER_RECORD + RISK_CODE_U16] = code;
  v.f64[index * F64_PER_RECORD + 10] = budgetUnits;
}

/** Risk's hold (or amend delta) stamped in command record `index`. */
export function budgetAt(v: RecordViews, index: number): number {
  return v.f64[index * F64_PER_RECORD + 10]!;
}

/** Risk's result code stamped in command record `index` (0 when it passed). */
export function riskCodeAt(v: RecordViews, index: number): number {
  return v.u16[index * U16_PER_RECORD + RISK_CODE_U16]!;
}

/** Reads record `index` of `v` as a command. Throws RecordError for an unknown kind or bad strings. */
export function decodeCommand(v: RecordViews, index: number): Command {
  if (index < 0 || index >= v.records)
    throw new RecordError(`record ${index} is outside 0..${v.records - 1}`);
  // Object literals with every property written out (no spreads): one hidden class per kind,
  // so decoding stays monomorphic and cheap on the merge's hot path.
  const b = index * RECORD_BYTES;
  const f = index * F64_PER_RECORD;
  const f64 = v.f64;
  const u8 = v.u8;
  const seqValue = f64[f + 2]! as Seq;
  const tsMicros = f64[f + 3]!;
  const user = f64[f + 4]! as UserId;
  const id32 = v.u32[index * U32_PER_RECORD + 2]!;
  const kind = u8[b]!;
  switch (kind) {
    case CommandKind.PlaceOrder:
      return {
        kind: 'PlaceOrder',
        seq: seqValue,
        tsMicros,
        symbolId: id32 as SymbolId,
        userId: user,
        orderId: f64[f + 5]! as OrderId,
        side: u8[b + 1]! as Side,
        orderType: u8[b + 2]! as OrderType,
        timeInForce: u8[b + 3]! as TimeInForce,
        stpMode: u8[b + 4]! as StpMode,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        quoteQtyUnits: f64[f + 8]!,
        clientOrderId: readAscii(v, b + CID_AT, 'clientOrderId', index),
        budgetUnits: f64[f + 10]!,
      } satisfies PlaceOrder;
    case CommandKind.CancelReplaceOrder:
      return {
        kind: 'CancelReplaceOrder',
        seq: seqValue,
        tsMicros,
        symbolId: id32 as SymbolId,
        userId: user,
        orderId: f64[f + 5]! as OrderId,
        side: u8[b + 1]! as Side,
        orderType: u8[b + 2]! as OrderType,
        timeInForce: u8[b + 3]! as TimeInForce,
        stpMode: u8[b + 4]! as StpMode,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        quoteQtyUnits: f64[f + 8]!,
        clientOrderId: readAscii(v, b + CID_AT, 'clientOrderId', index),
        budgetUnits: f64[f + 10]!,
        cancelRestriction: u8[b + 5]! as CancelRestriction,
        cancelReplaceMode: u8[b + 6]! as CancelReplaceMode,
        cancelOrderId: f64[f + 9]! as OrderId,
        cancelClientOrderId: readAscii(v, b + CID2_AT, 'cancelClientOrderId', index),
      } satisfies CancelReplaceOrder;
    case CommandKind.CancelOrder:
      return {
        kind: 'CancelOrder',
        seq: seqValue,
        tsMicros,
        symbolId: id32 as SymbolId,
        userId: user,
        orderId: f64[f + 5]! as OrderId,
        clientOrderId: readAscii(v, b + CID_AT, 'clientOrderId', index),
        cancelRestriction: u8[b + 5]! as CancelRestriction,
      } satisfies CancelOrder;
    case CommandKind.CancelAllOrders:
      return {
        kind: 'CancelAllOrders',
        seq: seqValue,
        tsMicros,
        symbolId: id32 as SymbolId,
        userId: user,
      } satisfies CancelAllOrders;
    case CommandKind.AmendOrder:
      return {
        kind: 'AmendOrder',
        seq: seqValue,
        tsMicros,
        symbolId: id32 as SymbolId,
        userId: user,
        orderId: f64[f + 5]! as OrderId,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        clientOrderId: readAscii(v, b + CID_AT, 'clientOrderId', index),
        newClientOrderId: readAscii(v, b + CID2_AT, 'newClientOrderId', index),
      } satisfies AmendOrder;
    case CommandKind.Deposit:
    case CommandKind.WithdrawalHold:
    case CommandKind.WithdrawalSettle:
    case CommandKind.WithdrawalRelease: {
      const names = {
        10: 'Deposit',
        11: 'WithdrawalHold',
        12: 'WithdrawalSettle',
        13: 'WithdrawalRelease',
      } as const;
      return {
        kind: names[kind],
        seq: seqValue,
        tsMicros,
        userId: user,
        assetId: id32,
        amountUnits: v.f64[f + 8]!,
        refId: v.f64[f + 5]!,
      };
    }
    case CommandKind.SetFeeRates:
      return {
        kind: 'SetFeeRates',
        seq: seqValue,
        tsMicros,
        userId: user,
        makerPpm: v.f64[f + 6]!,
        takerPpm: v.f64[f + 7]!,
      };
    default:
      throw new RecordError(`record ${index}: unknown command kind ${kind}`);
  }
}

// ---------------------------------------------------------------------------------------
// Events

/**
 * Appends event records to a growable buffer with no allocation per event (the buffer
 * doubles when full, amortised). The order book writes its events here; `count` records
 * from the start are valid until `reset()`.
 */
export class EventWriter {
  private v: RecordViews;
  /**
   * Per record: whether its bytes 112..191 (client order id and beyond) may be non-zero
   * from an earlier use of the buffer. Records are not zero-filled when claimed: every
   * method writes each word 0..13 of its record, and the tail is zeroed only when dirty.
   */
  private tailDirty: Uint8Array;
  /** The current command's seq and tsMicros (see `begin`), kept unboxed. */
  private readonly hdr = new Float64Array(2);
  private hdrSymbol = 0;
  /** Number of records written since the last reset. */
  count = 0;

  constructor(initialRecords = 1024) {
    const n = Math.max(1, initialRecords);
    this.v = new RecordViews(new ArrayBuffer(n * RECORD_BYTES));
    this.tailDirty = new Uint8Array(n);
  }

  /** The views over the records written so far (valid until the next write that grows). */
  get views(): RecordViews {
    return this.v;
  }

  /** Forgets every record (the memory is kept). */
  reset(): void {
    this.count = 0;
  }

  /**
   * Sets the header (seq, tsMicros, symbolId) of the events the book writes next through
   * the header-less methods (`accepted`, `reject`, `traded`, `canceled`, `expired`,
   * `amended`, `prevented`): once per command, not once per event.
   */
  begin(seq: number, tsMicros: number, symbolId: number): void {
    this.hdr[0] = seq;
    this.hdr[1] = tsMicros;
    this.hdrSymbol = symbolId;
  }

  /**
   * `begin(c.seq, c.tsMicros, c.symbolId)` from a command object: the values go from the
   * object to the typed array without being passed as arguments, so a timestamp that is not
   * a small integer is never boxed into a new HeapNumber, inlined or not.
   */
  beginCommand(c: { readonly seq: number; readonly tsMicros: number; readonly symbolId: number }): void {
    const hdr = this.hdr;
    hdr[0] = c.seq;
    hdr[1] = c.tsMicros;
    this.hdrSymbol = c.symbolId;
  }

  /**
   * Claims the next record and writes its words 0 and 1 (kind, symbolId, other bytes 0) and
   * zeroes its tail if an earlier use left it dirty; the caller writes words 2..13.
   */
  private claim(kind: number, symbolId: number): number {
    if (this.count === this.v.records) this.grow();
    const i = this.count++;
    const v = this.v;
    const f = i * F64_PER_RECORD;
    const f64 = v.f64;
    if (this.tailDirty[i] !== 0) {
      for (let k = f + 14; k < f + F64_PER_RECORD; k++) f64[k] = 0;
      this.tailDirty[i] = 0;
    }
    f64[f] = 0;
    v.u8[i * RECORD_BYTES] = kind;
    const q = i * U32_PER_RECORD;
    v.u32[q + 2] = symbolId;
    v.u32[q + 3] = 0;
    return i;
  }

  /** Claims the next record with the header set by `begin`; the caller writes words 4..13. */
  private open(kind: number): number {
    const i = this.claim(kind, this.hdrSymbol);
    const f = i * F64_PER_RECORD;
    const f64 = this.v.f64;
    f64[f + 2] = this.hdr[0]!;
    f64[f + 3] = this.hdr[1]!;
    return i;
  }

  /** Claims the next record, zeroed, with its common header; returns its index. */
  private next(kind: number, seq: number, tsMicros: number, symbolId: number): number {
    const i = this.claim(kind, symbolId);
    const f = i * F64_PER_RECORD;
    const f64 = this.v.f64;
    f64[f + 2] = seq;
    f64[f + 3] = tsMicros;
    for (let k = f + 4; k < f + 14; k++) f64[k] = 0;
    return i;
  }

  private grow(): void {
    const old = this.v;
    const bigger = new RecordViews(new ArrayBuffer(old.records * 2 * RECORD_BYTES));
    bigger.u8.set(old.u8);
    this.v = bigger;
    const dirty = new Uint8Array(bigger.records);
    dirty.set(this.tailDirty);
    this.tailDirty = dirty;
  }

  private cid(i: number, clientOrderId: string): void {
    writeAscii(this.v.u8, i * RECORD_BYTES + 112, clientOrderId, 'clientOrderId');
    this.tailDirty[i] = 1;
  }

  // --- the book's events: header from `begin` ----------------------------------------------

  /** OrderAccepted (see `orderAccepted`), header from `begin`. */
  accepted(
    userId: number,
    orderId: number,
    side: number,
    orderType: number,
    tif: number,
    stp: number,
    priceTicks: number,
    qtyLots: number,
    quoteQtyUnits: number,
    clientOrderId: string,
  ): void {
    const i = this.open(EventKind.OrderAccepted);
    const { u8, f64 } = this.v;
    const b = i * RECORD_BYTES;
    const f = i * F64_PER_RECORD;
    u8[b + 1] = side;
    u8[b + 2] = orderType;
    u8[b + 3] = tif;
    u8[b + 4] = stp;
    f64[f + 4] = userId;
    f64[f + 5] = orderId;
    f64[f + 6] = priceTicks;
    f64[f + 7] = qtyLots;
    f64[f + 8] = quoteQtyUnits;
    f64[f + 9] = 0;
    f64[f + 10] = 0;
    f64[f + 11] = 0;
    f64[f + 12] = 0;
    f64[f + 13] = 0;
    if (clientOrderId.length > 0) this.cid(i, clientOrderId);
  }

  /** A rejection (see `rejected`), header from `begin`. */
  reject(
    kind: typeof EventKind.OrderRejected | typeof EventKind.CancelRejected | typeof EventKind.AmendRejected,
    userId: number,
    orderId: number,
    side: number,
    orderType: number,
    code: number,
    clientOrderId: string,
  ): void {
    const i = this.open(kind);
    const { u8, u16, f64 } = this.v;
    const b = i * RECORD_BYTES;
    const f = i * F64_PER_RECORD;
    u8[b + 1] = side;
    u8[b + 2] = orderType;
    u16[i * U16_PER_RECORD + 6] = code;
    f64[f + 4] = userId;
    f64[f + 5] = orderId;
    for (let k = f + 6; k < f + 14; k++) f64[k] = 0;
    if (clientOrderId.length > 0 && isValidClientOrderId(clientOrderId)) this.cid(i, clientOrderId);
  }

  /** TradeExecuted (see `trade`), header from `begin`. */
  traded(
    tradeId: number,
    priceTicks: number,
    qtyLots: number,
    takerSide: number,
    takerUserId: number,
    takerOrderId: number,
    takerRemainingLots: number,
    makerUserId: number,
    makerOrderId: number,
    makerRemainingLots: number,
  ): void {
    const i = this.open(EventKind.TradeExecuted);
    const f64 = this.v.f64;
    const f = i * F64_PER_RECORD;
    this.v.u8[i * RECORD_BYTES + 1] = takerSide;
    f64[f + 4] = takerUserId;
    f64[f + 5] = takerOrderId;
    f64[f + 6] = priceTicks;
    f64[f + 7] = qtyLots;
    f64[f + 8] = tradeId;
    f64[f + 9] = takerRemainingLots;
    f64[f + 10] = makerUserId;
    f64[f + 11] = makerOrderId;
    f64[f + 12] = makerRemainingLots;
    f64[f + 13] = 0;
  }

  /** OrderCanceled (see `orderCanceled`), header from `begin`. */
  canceled(
    userId: number,
    orderId: number,
    side: number,
    priceTicks: number,
    canceledLots: number,
    filledLots: number,
    reason: number,
    clientOrderId: string,
  ): void {
    const i = this.open(EventKind.OrderCanceled);
    const { u8, f64 } = this.v;
    const b = i * RECORD_BYTES;
    const f = i * F64_PER_RECORD;
    u8[b + 1] = side;
    u8[b + 5] = reason;
    f64[f + 4] = userId;
    f64[f + 5] = orderId;
    f64[f + 6] = priceTicks;
    f64[f + 7] = canceledLots;
    f64[f + 8] = filledLots;
    f64[f + 9] = 0;
    f64[f + 10] = 0;
    f64[f + 11] = 0;
    f64[f + 12] = 0;
    f64[f + 13] = 0;
    if (clientOrderId.length > 0) this.cid(i, clientOrderId);
  }

  /** OrderExpired (see `orderExpired`), header from `begin`. */
  expired(
    userId: number,
    orderId: number,
    side: number,
    expiredLots: number,
    expiredQuoteUnits: number,
    reason: number,
  ): void {
    const i = this.open(EventKind.OrderExpired);
    const f64 = this.v.f64;
    const f = i * F64_PER_RECORD;
    this.v.u8[i * RECORD_BYTES + 1] = side;
    this.v.u8[i * RECORD_BYTES + 5] = reason;
    f64[f + 4] = userId;
    f64[f + 5] = orderId;
    f64[f + 6] = 0;
    f64[f + 7] = expiredLots;
    f64[f + 8] = expiredQuoteUnits;
    f64[f + 9] = 0;
    f64[f + 10] = 0;
    f64[f + 11] = 0;
    f64[f + 12] = 0;
    f64[f + 13] = 0;
  }

  /** OrderAmended (see `orderAmended`), header from `begin`. */
  amended(
    userId: number,
    orderId: number,
    side: number,
    priceTicks: number,
    qtyLots: number,
    remainingLots: number,
    keptPriority: boolean,
    clientOrderId: string,
  ): void {
    const i = this.open(EventKind.OrderAmended);
    const { u8, f64 } = this.v;
    const b = i * RECORD_BYTES;
    const f = i * F64_PER_RECORD;
    u8[b + 1] = side;
    u8[b + 6] = keptPriority ? 1 : 0;
    f64[f + 4] = userId;
    f64[f + 5] = orderId;
    f64[f + 6] = priceTicks;
    f64[f + 7] = qtyLots;
    f64[f + 8] = remainingLots;
    f64[f + 9] = 0;
    f64[f + 10] = 0;
    f64[f + 11] = 0;
    f64[f + 12] = 0;
    f64[f + 13] = 0;
    if (clientOrderId.length > 0) this.cid(i, clientOrderId);
  }

  /** SelfTradePrevented (see `selfTradePrevented`), header from `begin`. */
  prevented(
    preventedMatchId: number,
    stpMode: number,
    priceTicks: number,
    userId: number,
    takerOrderId: number,
    takerPreventedLots: number,
    takerRemainingLots: number,
    makerOrderId: number,
    makerPreventedLots: number,
    makerRemainingLots: number,
  ): void {
    const i = this.open(EventKind.SelfTradePrevented);
    const f64 = this.v.f64;
    const f = i * F64_PER_RECORD;
    this.v.u8[i * RECORD_BYTES + 4] = stpMode;
    f64[f + 4] = userId;
    f64[f + 5] = takerOrderId;
    f64[f + 6] = priceTicks;
    f64[f + 7] = takerPreventedLots;
    f64[f + 8] = preventedMatchId;
    f64[f + 9] = takerRemainingLots;
    f64[f + 10] = 0;
    f64[f + 11] = makerOrderId;
    f64[f + 12] = makerRemainingLots;
    f64[f + 13] = makerPreventedLots;
  }

  // --- every event with its header as arguments ---------------------------------------------

  orderAccepted(
    seq: number,
    ts: number,
    symbolId: number,
    userId: number,
    orderId: number,
    side: number,
    orderType: number,
    tif: number,
    stp: number,
    priceTicks: number,
    qtyLots: number,
    quoteQtyUnits: number,
    clientOrderId: string,
  ): void {
    this.begin(seq, ts, symbolId);
    this.accepted(
      userId,
      orderId,
      side,
      orderType,
      tif,
      stp,
      priceTicks,
      qtyLots,
      quoteQtyUnits,
      clientOrderId,
    );
  }

  /** A rejection of a placement (`kind` OrderRejected) or of a cancel or amend. */
  rejected(
    kind: typeof EventKind.OrderRejected | typeof EventKind.CancelRejected | typeof EventKind.AmendRejected,
    seq: number,
    ts: number,
    symbolId: number,
    userId: number,
    orderId: number,
    side: number,
    orderType: number,
    code: number,
    clientOrderId: string,
  ): void {
    this.begin(seq, ts, symbolId);
    this.reject(kind, userId, orderId, side, orderType, code, clientOrderId);
  }

  trade(
    seq: number,
    ts: number,
    symbolId: number,
    tradeId: number,
    priceTicks: number,
    qtyLots: number,
    takerSide: number,
    takerUserId: number,
    takerOrderId: number,
    takerRemainingLots: number,
    makerUserId: number,
    makerOrderId: number,
    makerRemainingLots: number,
  ): void {
    this.begin(seq, ts, symbolId);
    this.traded(
      tradeId,
      priceTicks,
      qtyLots,
      takerSide,
      takerUserId,
      takerOrderId,
      takerRemainingLots,
      makerUserId,
      makerOrderId,
      makerRemainingLots,
    );
  }

  orderCanceled(
    seq: number,
    ts: number,
    symbolId: number,
    userId: number,
    orderId: number,
    side: number,
    priceTicks: number,
    canceledLots: number,
    filledLots: number,
    reason: number,
    clientOrderId: string,
  ): void {
    this.begin(seq, ts, symbolId);
    this.canceled(userId, orderId, side, priceTicks, canceledLots, filledLots, reason, clientOrderId);
  }

  orderExpired(
    seq: number,
    ts: number,
    symbolId: number,
    userId: number,
    orderId: number,
    side: number,
    expiredLots: number,
    expiredQuoteUnits: number,
    reason: number,
  ): void {
    this.begin(seq, ts, symbolId);
    this.expired(userId, orderId, side, expiredLots, expiredQuoteUnits, reason);
  }

  orderAmended(
    seq: number,
    ts: number,
    symbolId: number,
    userId: number,
    orderId: number,
    side: number,
    priceTicks: number,
    qtyLots: number,
    remainingLots: number,
    keptPriority: boolean,
    clientOrderId: string,
  ): void {
    this.begin(seq, ts, symbolId);
    this.amended(userId, orderId, side, priceTicks, qtyLots, remainingLots, keptPriority, clientOrderId);
  }

  /** Marks the last record written as the last event of its command. */
  markLast(): void {
    if (this.count > 0) this.v.u8[(this.count - 1) * RECORD_BYTES + 6]! |= FLAG_LAST;
  }

  /**
   * Copies record `index` of `from` to the end of this writer, without its last-of-command
   * flag (whoever assembles a command's events marks its last one).
   */
  copyFrom(from: RecordViews, index: number): void {
    if (this.count === this.v.records) this.grow();
    const i = this.count++;
    const at = i * RECORD_BYTES;
    const src = index * RECORD_BYTES;
    this.tailDirty[i] = 1;
    this.v.u8.set(from.u8.subarray(src, src + RECORD_BYTES), at);
    this.v.u8[at + 6]! &= ~FLAG_LAST;
  }

  /** A funds movement (FundsDeposited, WithdrawalHeld, WithdrawalSettled, WithdrawalReleased). */
  funds(
    kind: 10 | 11 | 12 | 13,
    seq: number,
    ts: number,
    userId: number,
    assetId: number,
    amountUnits: number,
    refId: number,
    freeUnits: number,
    lockedUnits: number,
  ): void {
    const i = this.next(kind, seq, ts, assetId);
    const f = i * F64_PER_RECORD;
    const f64 = this.v.f64;
    f64[f + 4] = userId;
    f64[f + 5] = refId;
    f64[f + 6] = amountUnits;
    f64[f + 7] = freeUnits;
    f64[f + 8] = lockedUnits;
  }

  fundsRejected(
    seq: number,
    ts: number,
    userId: number,
    assetId: number,
    amountUnits: number,
    refId: number,
    commandKind: number,
    code: number,
  ): void {
    const i = this.next(EventKind.FundsRejected, seq, ts, assetId);
    const f = i * F64_PER_RECORD;
    this.v.u8[i * RECORD_BYTES + 5] = commandKind;
    this.v.u16[i * U16_PER_RECORD + 6] = code;
    this.v.f64[f + 4] = userId;
    this.v.f64[f + 5] = refId;
    this.v.f64[f + 6] = amountUnits;
  }

  tradeSettled(
    seq: number,
    ts: number,
    symbolId: number,
    tradeId: number,
    buyerUserId: number,
    buyerOrderId: number,
    sellerUserId: number,
    sellerOrderId: number,
    baseUnits: number,
    quoteUnits: number,
    buyerFeeUnits: number,
    sellerFeeUnits: number,
  ): void {
    const i = this.next(EventKind.TradeSettled, seq, ts, symbolId);
    const f = i * F64_PER_RECORD;
    const f64 = this.v.f64;
    f64[f + 4] = buyerUserId;
    f64[f + 5] = sellerUserId;
    f64[f + 6] = tradeId;
    f64[f + 7] = baseUnits;
    f64[f + 8] = quoteUnits;
    f64[f + 9] = buyerFeeUnits;
    f64[f + 10] = sellerFeeUnits;
    f64[f + 11] = buyerOrderId;
    f64[f + 12] = sellerOrderId;
  }

  feeRatesSet(seq: number, ts: number, userId: number, makerPpm: number, takerPpm: number): void {
    const i = this.next(EventKind.FeeRatesSet, seq, ts, 0);
    const f = i * F64_PER_RECORD;
    this.v.f64[f + 4] = userId;
    this.v.f64[f + 6] = makerPpm;
    this.v.f64[f + 7] = takerPpm;
  }

  selfTradePrevented(
    seq: number,
    ts: number,
    symbolId: number,
    preventedMatchId: number,
    stpMode: number,
    priceTicks: number,
    userId: number,
    takerOrderId: number,
    takerPreventedLots: number,
    takerRemainingLots: number,
    makerOrderId: number,
    makerPreventedLots: number,
    makerRemainingLots: number,
  ): void {
    this.begin(seq, ts, symbolId);
    this.prevented(
      preventedMatchId,
      stpMode,
      priceTicks,
      userId,
      takerOrderId,
      takerPreventedLots,
      takerRemainingLots,
      makerOrderId,
      makerPreventedLots,
      makerRemainingLots,
    );
  }
}

/** True when event record `index` is the last event of its command. */
export function isLastEvent(v: RecordViews, index: number): boolean {
  return (v.u8[index * RECORD_BYTES + 6]! & FLAG_LAST) !== 0;
}

/** The seq stamped in record `index` (command or event: both keep it at byte 16). */
export function seqAt(v: RecordViews, index: number): number {
  return v.f64[index * F64_PER_RECORD + 2]!;
}

/** The numeric kind of event record `index`. */
export function eventKindAt(v: RecordViews, index: number): number {
  return v.u8[index * RECORD_BYTES]!;
}

const FUNDS_EVENT_NAMES = {
  10: 'FundsDeposited',
  11: 'WithdrawalHeld',
  12: 'WithdrawalSettled',
  13: 'WithdrawalReleased',
} as const;

/** Reads record `index` of `v` as an event. Throws RecordError for an unknown kind. */
export function decodeEvent(v: RecordViews, index: number): EngineEvent {
  if (index < 0 || index >= v.records)
    throw new RecordError(`record ${index} is outside 0..${v.records - 1}`);
  const b = index * RECORD_BYTES;
  const f = index * F64_PER_RECORD;
  const u8 = v.u8;
  // No closures, no spread: one object per event, built in one literal (this runs for every
  // event the persister, the user data hub and the link decode).
  const f64 = v.f64;
  const sym = v.u32[index * U32_PER_RECORD + 2]! as SymbolId;
  // Every event has its seq and time in slots 2 and 3; slots 4 and 5 are most kinds' user and
  // order (a trade's taker, a settlement's buyer and seller, a funds event's user and ref).
  const seq = f64[f + 2]! as Seq;
  const tsMicros = f64[f + 3]!;
  const s4 = f64[f + 4]!;
  const s5 = f64[f + 5]!;
  const code = v.u16[index * U16_PER_RECORD + 6]! as ResultCode;
  const kind = u8[b]!;
  switch (kind) {
    case EventKind.OrderAccepted:
      return {
        kind: 'OrderAccepted',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        side: u8[b + 1]! as Side,
        orderType: u8[b + 2]! as OrderType,
        timeInForce: u8[b + 3]! as TimeInForce,
        stpMode: u8[b + 4]! as StpMode,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        quoteQtyUnits: f64[f + 8]!,
        clientOrderId: readAscii(v, b + 112, 'clientOrderId', index),
      };
    case EventKind.OrderRejected:
      return {
        kind: 'OrderRejected',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        side: u8[b + 1]! as Side,
        orderType: u8[b + 2]! as OrderType,
        code,
        clientOrderId: readAscii(v, b + 112, 'clientOrderId', index),
      };
    case EventKind.CancelRejected:
    case EventKind.AmendRejected:
      return {
        kind: kind === EventKind.CancelRejected ? 'CancelRejected' : 'AmendRejected',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        code,
        clientOrderId: readAscii(v, b + 112, 'clientOrderId', index),
      };
    case EventKind.TradeExecuted:
      return {
        kind: 'TradeExecuted',
        seq,
        tsMicros,
        symbolId: sym,
        tradeId: f64[f + 8]! as TradeId,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        takerSide: u8[b + 1]! as Side,
        takerUserId: s4 as UserId,
        takerOrderId: s5 as OrderId,
        takerRemainingLots: f64[f + 9]!,
        makerUserId: f64[f + 10]! as UserId,
        makerOrderId: f64[f + 11]! as OrderId,
        makerRemainingLots: f64[f + 12]!,
      };
    case EventKind.OrderCanceled:
      return {
        kind: 'OrderCanceled',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        side: u8[b + 1]! as Side,
        priceTicks: f64[f + 6]!,
        canceledLots: f64[f + 7]!,
        filledLots: f64[f + 8]!,
        reason: u8[b + 5]! as CancelReason,
        clientOrderId: readAscii(v, b + 112, 'clientOrderId', index),
      };
    case EventKind.OrderExpired:
      return {
        kind: 'OrderExpired',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        side: u8[b + 1]! as Side,
        expiredLots: f64[f + 7]!,
        expiredQuoteUnits: f64[f + 8]!,
        reason: u8[b + 5]! as ExpiryReason,
      };
    case EventKind.OrderAmended:
      return {
        kind: 'OrderAmended',
        seq,
        tsMicros,
        symbolId: sym,
        userId: s4 as UserId,
        orderId: s5 as OrderId,
        side: u8[b + 1]! as Side,
        priceTicks: f64[f + 6]!,
        qtyLots: f64[f + 7]!,
        remainingLots: f64[f + 8]!,
        keptPriority: (u8[b + 6]! & 1) === 1,
        clientOrderId: readAscii(v, b + 112, 'clientOrderId', index),
      };
    case EventKind.SelfTradePrevented:
      return {
        kind: 'SelfTradePrevented',
        seq,
        tsMicros,
        symbolId: sym,
        preventedMatchId: f64[f + 8]! as PreventedMatchId,
        stpMode: u8[b + 4]! as StpMode,
        priceTicks: f64[f + 6]!,
        userId: s4 as UserId,
        takerOrderId: s5 as OrderId,
        takerPreventedLots: f64[f + 7]!,
        takerRemainingLots: f64[f + 9]!,
        makerOrderId: f64[f + 11]! as OrderId,
        makerPreventedLots: f64[f + 13]!,
        makerRemainingLots: f64[f + 12]!,
      };
    case EventKind.FundsDeposited:
    case EventKind.WithdrawalHeld:
    case EventKind.WithdrawalSettled:
    case EventKind.WithdrawalReleased: {
      return {
        kind: FUNDS_EVENT_NAMES[kind],
        seq,
        tsMicros,
        userId: s4 as UserId,
        assetId: sym,
        amountUnits: f64[f + 6]!,
        refId: s5,
        freeUnits: f64[f + 7]!,
        lockedUnits: f64[f + 8]!,
      };
    }
    case EventKind.FundsRejected:
      return {
        kind: 'FundsRejected',
        seq,
        tsMicros,
        userId: s4 as UserId,
        assetId: sym,
        amountUnits: f64[f + 6]!,
        refId: s5,
        commandKind: u8[b + 5]!,
        code,
      };
    case EventKind.TradeSettled:
      return {
        kind: 'TradeSettled',
        seq,
        tsMicros,
        symbolId: sym,
        tradeId: f64[f + 6]! as TradeId,
        buyerUserId: s4 as UserId,
        buyerOrderId: f64[f + 11]! as OrderId,
        sellerUserId: s5 as UserId,
        sellerOrderId: f64[f + 12]! as OrderId,
        baseUnits: f64[f + 7]!,
        quoteUnits: f64[f + 8]!,
        buyerFeeUnits: f64[f + 9]!,
        sellerFeeUnits: f64[f + 10]!,
      };
    case EventKind.FeeRatesSet:
      return {
        kind: 'FeeRatesSet',
        seq,
        tsMicros,
        userId: s4 as UserId,
        makerPpm: f64[f + 6]!,
        takerPpm: f64[f + 7]!,
      };
    default:
      throw new RecordError(`record ${index}: unknown event kind ${kind}`);
  }
}

/** Decodes the first `count` records of `v` as events. */
export function decodeEvents(v: RecordViews, count: number, from = 0): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (let i = from; i < from + count; i++) out.push(decodeEvent(v, i));
  return out;
}

/**
 * Writes an event object as a record (the inverse of decodeEvent), used by tests and by
 * tools that re-encode decoded streams.
 */
export function encodeEvent(w: EventWriter, e: EngineEvent): void {
  switch (e.kind) {
    case 'OrderAccepted':
      w.orderAccepted(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        e.side,
        e.orderType,
        e.timeInForce,
        e.stpMode,
        e.priceTicks,
        e.qtyLots,
        e.quoteQtyUnits,
        e.clientOrderId,
      );
      return;
    case 'OrderRejected':
      w.rejected(
        EventKind.OrderRejected,
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        e.side,
        e.orderType,
        e.code,
        e.clientOrderId,
      );
      return;
    case 'CancelRejected':
    case 'AmendRejected':
      w.rejected(
        EventKind[e.kind],
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        0,
        0,
        e.code,
        e.clientOrderId,
      );
      return;
    case 'TradeExecuted':
      w.trade(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.tradeId,
        e.priceTicks,
        e.qtyLots,
        e.takerSide,
        e.takerUserId,
        e.takerOrderId,
        e.takerRemainingLots,
        e.makerUserId,
        e.makerOrderId,
        e.makerRemainingLots,
      );
      return;
    case 'OrderCanceled':
      w.orderCanceled(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        e.side,
        e.priceTicks,
        e.canceledLots,
        e.filledLots,
        e.reason,
        e.clientOrderId,
      );
      return;
    case 'OrderExpired':
      w.orderExpired(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        e.side,
        e.expiredLots,
        e.expiredQuoteUnits,
        e.reason,
      );
      return;
    case 'OrderAmended':
      w.orderAmended(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.userId,
        e.orderId,
        e.side,
        e.priceTicks,
        e.qtyLots,
        e.remainingLots,
        e.keptPriority,
        e.clientOrderId,
      );
      return;
    case 'SelfTradePrevented':
      w.selfTradePrevented(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.preventedMatchId,
        e.stpMode,
        e.priceTicks,
        e.userId,
        e.takerOrderId,
        e.takerPreventedLots,
        e.takerRemainingLots,
        e.makerOrderId,
        e.makerPreventedLots,
        e.makerRemainingLots,
      );
      return;
    case 'FundsDeposited':
    case 'WithdrawalHeld':
    case 'WithdrawalSettled':
    case 'WithdrawalReleased':
      w.funds(
        EventKind[e.kind],
        e.seq,
        e.tsMicros,
        e.userId,
        e.assetId,
        e.amountUnits,
        e.refId,
        e.freeUnits,
        e.lockedUnits,
      );
      return;
    case 'FundsRejected':
      w.fundsRejected(e.seq, e.tsMicros, e.userId, e.assetId, e.amountUnits, e.refId, e.commandKind, e.code);
      return;
    case 'TradeSettled':
      w.tradeSettled(
        e.seq,
        e.tsMicros,
        e.symbolId,
        e.tradeId,
        e.buyerUserId,
        e.buyerOrderId,
        e.sellerUserId,
        e.sellerOrderId,
        e.baseUnits,
        e.quoteUnits,
        e.buyerFeeUnits,
        e.sellerFeeUnits,
      );
      return;
    case 'FeeRatesSet':
      w.feeRatesSet(e.seq, e.tsMicros, e.userId, e.makerPpm, e.takerPpm);
      return;
    default:
      assertNever(e);
  }
}
