/**
 * The journal's on-disk format.
 *
 * Segment file `<first seq, 20 digits>.seg`:
 *   0  "CBJ1" magic          8  u64 first seq         20  u32 CRC-32 of bytes 0..20
 *   4  u32 format version   16  u32 reserved (0)
 * then records, back to back:
 *   0  u32 payload length    4  u32 CRC-32 of the payload    8  payload
 *
 * A payload is one 192-byte command record, compacted: a u32 bitmap of its non-zero 8-byte
 * words (24 words, bit w = word w), then each non-zero word in order. The words listed in
 * COMMAND_F64_WORDS hold f64 non-negative safe integers and are written as unsigned LEB128
 * varints (at most 8 bytes); every other word is copied as its raw 8 bytes. A record with a
 * non-integer, negative (including -0) or unsafe f64 word is refused: it is a bug upstream.
 * All integers are little-endian.
 *
 * The CRC is CRC-32 (IEEE 802.3, the polynomial and result of zlib's `crc32`), computed here
 * in JavaScript with slicing-by-8 tables: on records of 50-200 bytes that is about twice as
 * fast as calling `zlib.crc32`, whose per-call cost (and the subarray it needs) dominates at
 * that size. The tests check both give the same value.
 */
import { COMMAND_F64_WORDS, RECORD_BYTES, type RecordViews } from '../../model/codec.ts';

/** Thrown for a journal that cannot be opened, read or written; names the file and offset. */
export class JournalError extends Error {
  override readonly name = 'JournalError';
}

export const SEGMENT_MAGIC = 0x314a4243; // "CBJ1" read as a little-endian u32
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 24;
export const SEGMENT_SUFFIX = '.seg';
/** Bytes before a payload: its length and CRC. */
export const FRAME_HEADER_BYTES = 8;
const WORDS = RECORD_BYTES / 8;
/** An all-zero record: the bitmap alone. */
export const MIN_PAYLOAD_BYTES = 4;
/** Every word present, raw or as an 8-byte varint (a safe integer needs at most 8). */
export const MAX_PAYLOAD_BYTES = 4 + WORDS * 8;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES;
/** The word holding a command's seq. */
const SEQ_WORD = 2;

/** Bit w set: word w is an f64 integer written as a varint. */
const F64_MASK = COMMAND_F64_WORDS.reduce((m, w) => m | (1 << w), 0);
if ((F64_MASK & ((2 << SEQ_WORD) - 1)) !== 1 << SEQ_WORD) {
  throw new Error('the journal expects the seq word to be the first f64 word');
}

// ---------------------------------------------------------------------------------------
// CRC-32, slicing by 8

const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC-32 of `buf[start..end)`, as an unsigned 32-bit integer (same value as zlib's). */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    const h = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + (h & 0xff)]! ^
      t[512 + ((h >>> 8) & 0xff)]! ^
      t[256 + ((h >>> 16) & 0xff)]! ^
      t[h >>> 24]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ buf[i]!) & 0xff]!;
  return (c ^ -1) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Little-endian helpers on plain byte arrays (records are not aligned)

export function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

export function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

// ---------------------------------------------------------------------------------------
// Records

/**
 * Appends framed journal records to one growable buffer, reused from group to group: no
 * allocation per record (the buffer doubles when a record might not fit, amortised).
 */
export class JournalEncoder {
  private buf: Uint8Array;
  /** Bytes written since the last reset. */
  length = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = new Uint8Array(Math.max(initialBytes, MAX_FRAME_BYTES));
  }

  /** The bytes written since the last reset (a view, valid until the next append or reset). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** The whole underlying buffer (bytes 0..length are the records). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  reset(): void {
    this.length = 0;
  }

  /** Appends command record `index` of `v` as one framed record; returns the frame's bytes. */
  append(v: RecordViews, index: number): number {
    if (this.length + MAX_FRAME_BYTES > this.buf.length) this.grow();
    const out = this.buf;
    const start = this.length;
    const u32 = v.u32;
    const u8 = v.u8;
    const f64 = v.f64;
    const w0 = index * WORDS;
    let p = start + FRAME_HEADER_BYTES + 4;
    let bitmap = 0;
    for (let w = 0; w < WORDS; w++) {
      const lo = u32[(w0 + w) * 2]!;
      const hi = u32[(w0 + w) * 2 + 1]!;
      if ((lo | hi) === 0) continue;
      bitmap |= 1 << w;
      if ((F64_MASK >>> w) & 1) {
        let x = f64[w0 + w]!;
        // Non-zero bits, so 0 here is -0; NaN fails both tests.
        if (!(x > 0 && x <= Number.MAX_SAFE_INTEGER && Number.isInteger(x))) throw badWord(v, index, w, x);
        if (x < 0x80000000) {
          while (x >= 0x80) {
            out[p++] = (x & 0x7f) | 0x80;
            x >>>= 7;
          }
        } else {
          while (x >= 0x80) {
            out[p++] = (x & 0x7f) | 0x80; // `&` takes the low 32 bits exactly for integers
            x = Math.floor(x / 128);
          }
        }
        out[p++] = x;
      } else {
        const b = (w0 + w) * 8;
        out[p] = u8[b]!;
        out[p + 1] = u8[b + 1]!;
        out[p + 2] = u8[b + 2]!;
        out[p + 3] = u8[b + 3]!;
        out[p + 4] = u8[b + 4]!;
        out[p + 5] = u8[b + 5]!;
        out[p + 6] = u8[b + 6]!;
        out[p + 7] = u8[b + 7]!;
        p += 8;
      }
    }
    const payloadAt = start + FRAME_HEADER_BYTES;
    writeU32(out, payloadAt, bitmap);
    const len = p - payloadAt;
    writeU32(out, start, len);
    writeU32(out, start + 4, crc32(out, payloadAt, p));
    this.length = p;
    return p - start;
  }

  private grow(): void {
    const bigger = new Uint8Array(this.buf.length * 2);
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }
}

function badWord(v: RecordViews, index: number, w: number, x: number): JournalError {
  const seq = v.f64[index * WORDS + SEQ_WORD];
  const shown = Object.is(x, -0) ? '-0' : String(x);
  return new JournalError(
    `command record with seq ${seq}: word ${w} (bytes ${w * 8}..${w * 8 + 8}) holds ${shown}; ` +
      'the journal stores f64 words only as non-negative safe integers (a bug upstream of the journal)',
  );
}

/**
 * Decodes the payload at `buf[at..at+len)` into record `index` of `v` (the whole record is
 * overwritten). Returns false when the payload is malformed (its bitmap or varints do not
 * account for exactly `len` bytes, or a varint is not a safe integer).
 */
export function decodePayload(
  buf: Uint8Array,
  at: number,
  len: number,
  v: RecordViews,
  index: number,
): boolean {
  const end = at + len;
  if (len < MIN_PAYLOAD_BYTES) return false;
  const bitmap = readU32(buf, at);
  if (bitmap >>> WORDS !== 0) return false;
  const u8 = v.u8;
  const f64 = v.f64;
  const w0 = index * WORDS;
  u8.fill(0, w0 * 8, w0 * 8 + RECORD_BYTES);
  let p = at + 4;
  for (let w = 0; w < WORDS; w++) {
    if (((bitmap >>> w) & 1) === 0) continue;
    if ((F64_MASK >>> w) & 1) {
      if (p >= end) return false;
      let b = buf[p++]!;
      let x = b & 0x7f;
      let mul = 128;
      while (b >= 0x80) {
        if (p >= end || mul > 2 ** 49) return false;
        b = buf[p++]!;
        x += (b & 0x7f) * mul;
        mul *= 128;
      }
      if (x === 0 || x > Number.MAX_SAFE_INTEGER) return false;
      f64[w0 + w] = x;
    } else {
      if (p + 8 > end) return false;
      const d = (w0 + w) * 8;
      u8[d] = buf[p]!;
      u8[d + 1] = buf[p + 1]!;
      u8[d + 2] = buf[p + 2]!;
      u8[d + 3] = buf[p + 3]!;
      u8[d + 4] = buf[p + 4]!;
      u8[d + 5] = buf[p + 5]!;
      u8[d + 6] = buf[p + 6]!;
      u8[d + 7] = buf[p + 7]!;
      p += 8;
    }
  }
  return p === end;
}

/**
 * The seq of the payload at `buf[at..at+len)` without decoding the rest, or -1 when it
 * cannot be read (a record without a seq reads as 0).
 */
export function payloadSeq(buf: Uint8Array, at: number, len: number): number {
  if (len < MIN_PAYLOAD_BYTES) return -1;
  const bitmap = readU32(buf, at);
  if (((bitmap >>> SEQ_WORD) & 1) === 0) return 0;
  let p = at + 4;
  for (let w = 0; w < SEQ_WORD; w++) if ((bitmap >>> w) & 1) p += 8; // raw words (checked at load)
  const end = at + len;
  if (p >= end) return -1;
  let b = buf[p++]!;
  let x = b & 0x7f;
  let mul = 128;
  while (b >= 0x80) {
    if (p >= end || mul > 2 ** 49) return -1;
    b = buf[p++]!;
    x += (b & 0x7f) * mul;
    mul *= 128;
  }
  return x;
}

/**
 * The frame at `buf[at..)` if it is whole and its CRC matches: its payload length, or -1
 * when its length field is out of range, -2 when it is cut short at `end`, -3 when its CRC
 * does not match.
 */
export function checkFrame(buf: Uint8Array, at: number, end: number): number {
  if (at + FRAME_HEADER_BYTES > end) return -2;
  const len = readU32(buf, at);
  if (len < MIN_PAYLOAD_BYTES || len > MAX_PAYLOAD_BYTES) return -1;
  if (at + FRAME_HEADER_BYTES + len > end) return -2;
  const p = at + FRAME_HEADER_BYTES;
  if (crc32(buf, p, p + len) !== readU32(buf, at + 4)) return -3;
  return len;
}

/** Words of the frame check's result, for messages. */
export function frameProblem(code: number): string {
  if (code === -1) return 'a record length out of range';
  if (code === -2) return 'an incomplete record';
  if (code === -3) return 'a record whose CRC does not match';
  return 'a malformed record payload';
}

// ---------------------------------------------------------------------------------------
// Segments

/** `<first seq zero-padded to 20 digits>.seg` */
export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

/** The first seq a segment's file name says, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  if (!/^\d{20}\.seg$/.test(name)) return null;
  const n = Number(name.slice(0, 20));
  return Number.isSafeInteger(n) ? n : null;
}

export function encodeSegmentHeader(firstSeq: number): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_BYTES);
  writeU32(h, 0, SEGMENT_MAGIC);
  writeU32(h, 4, SEGMENT_VERSION);
  writeU32(h, 8, firstSeq % 2 ** 32);
  writeU32(h, 12, Math.floor(firstSeq / 2 ** 32));
  writeU32(h, 16, 0);
  writeU32(h, 20, crc32(h, 0, 20));
  return h;
}

/** The first seq of a segment header, or a string saying what is wrong with it. */
export function decodeSegmentHeader(h: Uint8Array): number | string {
  if (h.length < SEGMENT_HEADER_BYTES) return `header is ${h.length} bytes, ${SEGMENT_HEADER_BYTES} expected`;
  if (readU32(h, 0) !== SEGMENT_MAGIC) return 'not a journal segment (no CBJ1 magic)';
  const version = readU32(h, 4);
  if (version !== SEGMENT_VERSION)
    return `segment format version ${version}, only ${SEGMENT_VERSION} is known`;
  if (crc32(h, 0, 20) !== readU32(h, 20)) return 'segment header CRC does not match';
  const first = readU32(h, 8) + readU32(h, 12) * 2 ** 32;
  if (!Number.isSafeInteger(first) || first < 1) return `segment header first seq ${first} is invalid`;
  return first;
}
