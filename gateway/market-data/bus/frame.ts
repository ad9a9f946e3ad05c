/**
 * The bytes a message or a cached value takes on Redis: a 17-byte header, then the payload as is.
 *
 * ```
 * offset 0   u8      kFlags: 0x10 (format 1) | 0x01 payload is UTF-8 text | 0x02 chained
 * offset 1   u32 BE  seq, high 21 bits  (seq < 2^53: a safe integer)
 * offset 5   u32 BE  seq, low 32 bits
 * offset 9   u32 BE  prevSeq, high bits (0 when not chained)
 * offset 13  u32 BE  prevSeq, low bits
 * offset 17  payload bytes
 * ```
 *
 * Binary-safe (a Buffer payload comes back byte for byte) and type-preserving (a string payload comes
 * back a string), so both adapters deliver the same thing. The header is fixed-size so that decoding
 * is a few reads and one `toString` or `subarray`, once per message per gateway, never per client.
 */
import { type BusPayload, UNCHAINED } from './bus.port.ts';

/** Header length in bytes. */
export const FRAME_HEADER_BYTES = 17;

const kFormat = 0x10;
const kFormatMask = 0xf0;
const kText = 0x01;
const kChained = 0x02;
const TWO_32 = 2 ** 32;

/** A decoded frame. `payload` of a binary frame is a view into the frame (no copy). */
export interface Frame {
  payload: BusPayload;
  seq: number;
  prevSeq: number;
}

/** Encodes a payload with its sequence pair (arguments already checked). */
export function encodeFrame(payload: BusPayload, seq: number, prevSeq: number): Buffer {
  const text = typeof payload === 'string';
  const size = text ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + size);
  const chained = prevSeq !== UNCHAINED;
  buf[0] = kFormat | (text ? kText : 0) | (chained ? kChained : 0);
  buf.writeUInt32BE(Math.floor(seq / TWO_32), 1);
  buf.writeUInt32BE(seq >>> 0, 5);
  const prev = chained ? prevSeq : 0;
  buf.writeUInt32BE(Math.floor(prev / TWO_32), 9);
  buf.writeUInt32BE(prev >>> 0, 13);
  if (text) buf.write(payload, FRAME_HEADER_BYTES, 'utf8');
  else payload.copy(buf, FRAME_HEADER_BYTES);
  return buf;
}

/** Decodes a frame, or returns undefined when `buf` is not one (foreign or truncated data). */
export function decodeFrame(buf: Buffer): Frame | undefined {
  if (buf.length < FRAME_HEADER_BYTES) return undefined;
  const flags = buf[0]!;
  if ((flags & kFormatMask) !== kFormat) return undefined;
  const seq = buf.readUInt32BE(1) * TWO_32 + buf.readUInt32BE(5);
  const prev = buf.readUInt32BE(9) * TWO_32 + buf.readUInt32BE(13);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(prev)) return undefined;
  const payload: BusPayload =
    flags & kText ? buf.toString('utf8', FRAME_HEADER_BYTES) : buf.subarray(FRAME_HEADER_BYTES);
  return { payload, seq, prevSeq: flags & kChained ? prev : UNCHAINED };
}
