/**
 * The journal's record framing: random command records round-trip byte-identical through
 * the compact encoding, the CRC is zlib's CRC-32, malformed input is refused, and the
 * encoder refuses f64 words that are not non-negative safe integers.
 */
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { COMMAND_F64_WORDS, RECORD_BYTES, RecordViews } from '../../engine/model/codec.ts';
import {
  checkFrame,
  crc32,
  decodePayload,
  decodeSegmentHeader,
  encodeSegmentHeader,
  FRAME_HEADER_BYTES,
  JournalEncoder,
  JournalError,
  MAX_FRAME_BYTES,
  parseSegmentFileName,
  payloadSeq,
  readU32,
  segmentFileName,
} from '../../engine/runtime/journal/journal-format.ts';

const WORDS = RECORD_BYTES / 8;
const F64_WORDS = new Set(COMMAND_F64_WORDS);

/** One word of a record: absent (zero), or a value of its kind. */
const wordArb = (w: number): fc.Arbitrary<number | Uint8Array | null> =>
  F64_WORDS.has(w)
    ? fc.oneof(
        fc.constant(null),
        fc.integer({ min: 1, max: 127 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.maxSafeNat().filter((x) => x > 0),
      )
    : fc.oneof(fc.constant(null), fc.uint8Array({ minLength: 8, maxLength: 8 }));

const recordArb = fc.tuple(...Array.from({ length: WORDS }, (_, w) => wordArb(w)));

function fill(v: RecordViews, index: number, words: readonly (number | Uint8Array | null)[]): void {
  v.u8.fill(0, index * RECORD_BYTES, (index + 1) * RECORD_BYTES);
  words.forEach((x, w) => {
    if (x === null) return;
    if (typeof x === 'number') v.f64[index * WORDS + w] = x;
    else v.u8.set(x, index * RECORD_BYTES + w * 8);
  });
}

function record(v: RecordViews, i: number): Uint8Array {
  return v.u8.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
}

describe('journal format', () => {
  it('computes the same CRC-32 as zlib', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(20), (bytes, cut) => {
        const start = Math.min(cut, bytes.length);
        assert.equal(crc32(bytes, start, bytes.length), zlibCrc32(bytes.subarray(start)));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips random command records byte-identical through encode and decode', () => {
    const src = new RecordViews(new ArrayBuffer(64 * RECORD_BYTES));
    const dst = new RecordViews(new ArrayBuffer(64 * RECORD_BYTES));
    // A small initial buffer, so that growing is exercised too.
    const enc = new JournalEncoder(256);
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 64 }), (records) => {
        enc.reset();
        records.forEach((r, i) => {
          fill(src, i, r);
          enc.append(src, i);
        });
        const out = enc.bytes;
        let p = 0;
        records.forEach((r, i) => {
          const len = checkFrame(out, p, out.length);
          assert.ok(len >= 0, `frame ${i} should check`);
          // Garbage in the slot first: decoding overwrites the whole record.
          dst.u8.fill(0xa5, i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
          assert.ok(decodePayload(out, p + FRAME_HEADER_BYTES, len, dst, i));
          assert.deepEqual(record(dst, i), record(src, i));
          const seq = r[2];
          assert.equal(payloadSeq(out, p + FRAME_HEADER_BYTES, len), typeof seq === 'number' ? seq : 0);
          p += FRAME_HEADER_BYTES + len;
        });
        assert.equal(p, out.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stores only the non-zero words, small integers in a byte or two', () => {
    const v = new RecordViews(new ArrayBuffer(2 * RECORD_BYTES));
    const enc = new JournalEncoder();
    assert.equal(enc.append(v, 0), FRAME_HEADER_BYTES + 4, 'an all-zero record is its bitmap');
    v.u8[RECORD_BYTES] = 1; // kind
    v.f64[WORDS + 2] = 1000; // seq: 2 varint bytes
    v.f64[WORDS + 7] = 5; // qty: 1 byte
    assert.equal(enc.append(v, 1), FRAME_HEADER_BYTES + 4 + 8 + 2 + 1);
    const all = new RecordViews(new ArrayBuffer(RECORD_BYTES));
    all.u8.fill(0xff);
    for (const w of COMMAND_F64_WORDS) all.f64[w] = Number.MAX_SAFE_INTEGER;
    assert.equal(enc.append(all, 0), MAX_FRAME_BYTES, 'the largest frame');
  });

  it('refuses a record whose f64 word is not a non-negative safe integer, naming the word', () => {
    const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
    const enc = new JournalEncoder();
    for (const bad of [1.5, -3, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      v.u8.fill(0);
      v.f64[2] = 77;
      v.f64[6] = bad;
      assert.throws(
        () => enc.append(v, 0),
        (e: unknown) =>
          e instanceof JournalError &&
          /seq 77: word 6 \(bytes 48\.\.56\)/.test(e.message) &&
          /safe integers/.test(e.message),
        `value ${bad}`,
      );
    }
  });

  it('refuses malformed payloads and frames', () => {
    const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
    v.u8[0] = 1;
    v.f64[2] = 300;
    const enc = new JournalEncoder();
    const n = enc.append(v, 0);
    const frame = enc.bytes.slice();
    const len = readU32(frame, 0);
    const dst = new RecordViews(new ArrayBuffer(RECORD_BYTES));
    assert.equal(checkFrame(frame, 0, n - 1), -2, 'cut short');
    const flipped = frame.slice();
    flipped[FRAME_HEADER_BYTES + 5]! ^= 0x10;
    assert.equal(checkFrame(flipped, 0, n), -3, 'bad CRC');
    const huge = frame.slice();
    huge[3] = 1;
    assert.equal(checkFrame(huge, 0, n), -1, 'length out of range');
    assert.equal(
      decodePayload(frame, FRAME_HEADER_BYTES, len - 1, dst, 0),
      false,
      'payload shorter than its bitmap says',
    );
    const longer = new Uint8Array(n + 1);
    longer.set(frame);
    assert.equal(decodePayload(longer, FRAME_HEADER_BYTES, len + 1, dst, 0), false, 'trailing bytes');
    const badBitmap = frame.slice();
    badBitmap[FRAME_HEADER_BYTES + 3] = 0x80; // bit 31: no such word
    assert.equal(decodePayload(badBitmap, FRAME_HEADER_BYTES, len, dst, 0), false, 'unknown word');
  });

  it('names segments by their first seq and refuses a header that is not a segment', () => {
    assert.equal(segmentFileName(42), '00000000000000000042.seg');
    assert.equal(parseSegmentFileName('00000000000000000042.seg'), 42);
    assert.equal(parseSegmentFileName('42.seg'), null);
    assert.equal(parseSegmentFileName('00000000000000000042.seg.tmp'), null);
    const h = encodeSegmentHeader(2 ** 40 + 7);
    assert.equal(decodeSegmentHeader(h), 2 ** 40 + 7);
    assert.match(String(decodeSegmentHeader(new TextEncoder().encode('not a journal at all, no'))), /magic/);
    const bumped = h.slice();
    bumped[4] = 9;
    assert.match(String(decodeSegmentHeader(bumped)), /version 9/);
    const flipped = h.slice();
    flipped[9]! ^= 1;
    assert.match(String(decodeSegmentHeader(flipped)), /CRC/);
  });
});
