/**
 * Reads the fields market data needs straight from the engine's 192-byte event records
 * (layout documented in engine/model/codec.ts), without decoding each record into an
 * object: `decodeEvent` allocates and costs microseconds per event, which would make the
 * builder slower than the engine feeding it. Only the fields of the book's events are read
 * here; a test checks every accessor against `decodeEvent` so that a layout change in the
 * codec cannot go unnoticed.
 */
import { EventKind, RECORD_BYTES, type RecordViews } from '../../engine/index.ts';

const F64 = RECORD_BYTES / 8;
const U32 = RECORD_BYTES / 4;

/** Event kinds market data acts on. */
export const K_ACCEPTED = EventKind.OrderAccepted;
export const K_TRADE = EventKind.TradeExecuted;
export const K_CANCELED = EventKind.OrderCanceled;
export const K_EXPIRED = EventKind.OrderExpired;
export const K_AMENDED = EventKind.OrderAmended;
export const K_PREVENTED = EventKind.SelfTradePrevented;

/** Byte 6 bit 1: the last event of its command. */
const FLAG_LAST = 2;

/** The event kind (byte 0). */
export const kindOf = (v: RecordViews, i: number): number => v.u8[i * RECORD_BYTES]!;
/** Byte 1: the side (the taker's side for a trade). */
export const sideOf = (v: RecordViews, i: number): number => v.u8[i * RECORD_BYTES + 1]!;
/** Byte 2: the order type (OrderAccepted). */
export const orderTypeOf = (v: RecordViews, i: number): number => v.u8[i * RECORD_BYTES + 2]!;
/** Byte 3: the time in force (OrderAccepted). */
export const tifOf = (v: RecordViews, i: number): number => v.u8[i * RECORD_BYTES + 3]!;
/** True when the record is its command's last event. */
export const isLast = (v: RecordViews, i: number): boolean => (v.u8[i * RECORD_BYTES + 6]! & FLAG_LAST) !== 0;
/** OrderAmended: whether the order kept its queue position. */
export const keptPriorityOf = (v: RecordViews, i: number): boolean => (v.u8[i * RECORD_BYTES + 6]! & 1) === 1;
/** The symbol id (u32 at byte 8). */
export const symbolOf = (v: RecordViews, i: number): number => v.u32[i * U32 + 2]!;
/** The command's seq. */
export const seqOf = (v: RecordViews, i: number): number => v.f64[i * F64 + 2]!;
/** The command's time, microseconds since the epoch. */
export const tsMicrosOf = (v: RecordViews, i: number): number => v.f64[i * F64 + 3]!;
/** Payload slot `k` (4..13) of record `i`. */
export const slot = (v: RecordViews, i: number, k: number): number => v.f64[i * F64 + k]!;

/**
 * Payload slots per event kind, as the codec's writer fills them (EventWriter.accepted,
 * traded, canceled, expired, amended, prevented).
 */
export const S = {
  /** OrderAccepted, OrderCanceled, OrderExpired, OrderAmended: the order id; trades and STP: the taker's. */
  ORDER: 5,
  /** OrderAccepted, OrderCanceled, OrderAmended, TradeExecuted, SelfTradePrevented. */
  PRICE: 6,
  /** OrderAccepted, OrderAmended: quantity; TradeExecuted: traded lots; OrderCanceled: canceled lots; OrderExpired: expired lots; STP: taker prevented lots. */
  QTY: 7,
  /** TradeExecuted: trade id; OrderAmended: remaining lots. */
  TRADE_ID: 8,
  AMEND_REMAINING: 8,
  /** TradeExecuted, SelfTradePrevented: the taker's remaining lots. */
  TAKER_REMAINING: 9,
  /** TradeExecuted, SelfTradePrevented: the maker's order id. */
  MAKER_ORDER: 11,
  /** TradeExecuted, SelfTradePrevented: the maker's remaining lots. */
  MAKER_REMAINING: 12,
  /** SelfTradePrevented: the maker's prevented lots. */
  MAKER_PREVENTED: 13,
} as const;
