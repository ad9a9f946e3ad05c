/**
 * The core link's wire format (docs/LINK.md): length-prefixed binary frames over TCP.
 *
 * Every frame starts with an 8-byte header, little-endian:
 *
 *   0  u32 frame length in bytes, header included (8 .. the receiver's maximum)
 *   4  u8  frame type (FrameType)
 *   5  u8[3] reserved, 0
 *
 * Payload fields sit at 8-byte aligned offsets, and records (commands and events, the
 * engine's 192-byte records, unchanged) start at an 8-byte aligned offset too, so a
 * receiver whose buffer happens to be aligned reads them in place. Encoders and decoders
 * of every frame live here, with the frame reader that cuts a byte stream into frames; the
 * server and the client hold the behaviour.
 */
import { type Balance, RECORD_BYTES, RecordViews } from '../../engine/index.ts';

/** The protocol version both sides must speak; HELLO carries it, a mismatch is refused. */
export const LINK_PROTOCOL_VERSION = 2;
/** First payload word of HELLO: 'CBLK' in ASCII, so a stray client is told apart at once. */
export const LINK_MAGIC = 0x4b4c4243;
/** Bytes of the frame header. */
export const HEADER_BYTES = 8;
/** Longest shared token, in UTF-8 bytes. */
export const MAX_TOKEN_BYTES = 1024;
/** Longest reason text in GOODBYE and FAILED frames, in UTF-8 bytes (longer ones are cut). */
const MAX_REASON_BYTES = 1024;
/** Longest frame a gateway may send (the server closes a connection that announces more). */
export const MAX_GATEWAY_FRAME_BYTES = 64 * 1024;

/** Frame types: the first byte after the length. */
export const FrameType = {
  /** client -> server: magic, version, token. The first frame of every connection. */
  Hello: 1,
  /** server -> client: version, heartbeat settings, last released seq, the markets file. */
  Welcome: 2,
  /** server -> client: why the server is closing the connection, just before it does. */
  Goodbye: 3,
  /** either way: a heartbeat; the receiver answers PONG with the same nonce. */
  Ping: 4,
  Pong: 5,
  /** client -> server: request id and one command record. */
  Submit: 10,
  /** server -> client: request id, the command's seq and its event records. */
  Submitted: 11,
  /** server -> client: request id, a FailCode and a reason; the request had no effect. */
  Failed: 12,
  /** client -> server: request id and a user id. */
  Balances: 13,
  /** server -> client: request id and the user's balances. */
  BalancesReply: 14,
  /** client -> server: request id and a market data query (JSON). */
  MdQuery: 15,
  /** server -> client: request id and the query's answer or refusal (JSON). */
  MdReply: 16,
  /** client -> server: stream every released event after this seq (-1: from now). */
  Subscribe: 20,
  /** server -> client: events after this seq follow, none missing. */
  Subscribed: 21,
  /** server -> client: the requested seq is no longer held; events after this later seq follow. */
  Resync: 22,
  /** server -> client: released event records, in seq order. */
  Events: 23,
} as const;

/** Why the server closes a connection (GOODBYE). */
export const GoodbyeCode = {
  /** The server is shutting down. */
  Shutdown: 1,
  /** HELLO carried a token the server does not share. */
  BadToken: 2,
  /** HELLO carried a protocol version (or magic) the server does not speak. */
  BadVersion: 3,
  /** A frame the server cannot accept (unknown type, wrong size, out of order). */
  ProtocolError: 4,
} as const;

/** Why a request failed (FAILED). In every case the request had no effect on the core. */
export const FailCode = {
  /** Too many commands in flight in the core: try again shortly. */
  Busy: 1,
  /** The command record cannot be decoded (unknown kind, bad client order id). */
  InvalidCommand: 2,
  /** The core or the link is shutting down. */
  Unavailable: 3,
  /** A request field is out of range (a user id that is not a safe integer). */
  InvalidRequest: 4,
} as const;

/** A frame that breaks the protocol; the message says which and why. */
export class LinkProtocolError extends Error {
  override readonly name = 'LinkProtocolError';
}

// ---------------------------------------------------------------------------------------
// Decoded frames

/** HELLO, decoded: the token stays bytes (compared as a digest, never turned into text). */
export interface HelloFrame {
  readonly type: 'Hello';
  readonly magic: number;
  readonly version: number;
  readonly token: Buffer;
}
/** WELCOME, decoded. */
export interface WelcomeFrame {
  readonly type: 'Welcome';
  readonly version: number;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  /** The seq of the last command whose events the server had released when it answered. */
  readonly releasedSeq: number;
  readonly marketsJson: string;
}
/** GOODBYE, decoded. */
export interface GoodbyeFrame {
  readonly type: 'Goodbye';
  readonly code: number;
  readonly reason: string;
}
/** PING or PONG, decoded. */
export interface PingFrame {
  readonly type: 'Ping' | 'Pong';
  readonly nonce: number;
}
/** SUBMIT, decoded. */
export interface SubmitFrame {
  readonly type: 'Submit';
  readonly requestId: number;
  /** The command record's 192 bytes (a view into the frame). */
  readonly record: Buffer;
}
/** SUBMITTED, decoded. */
export interface SubmittedFrame {
  readonly type: 'Submitted';
  readonly requestId: number;
  readonly seq: number;
  readonly count: number;
  /** count x 192 bytes of event records (a view into the frame). */
  readonly records: Buffer;
}
/** FAILED, decoded. */
export interface FailedFrame {
  readonly type: 'Failed';
  readonly requestId: number;
  readonly code: number;
  readonly reason: string;
}
/** BALANCES, decoded. */
export interface BalancesFrame {
  readonly type: 'Balances';
  readonly requestId: number;
  readonly userId: number;
}
/** BALANCES_REPLY, decoded. */
export interface BalancesReplyFrame {
  readonly type: 'BalancesReply';
  readonly requestId: number;
  readonly balances: Balance[];
}
/** MD_QUERY or MD_REPLY, decoded: the JSON stays text (the receiver parses and checks it). */
export interface MdFrame {
  readonly type: 'MdQuery' | 'MdReply';
  readonly requestId: number;
  readonly json: string;
}
/** SUBSCRIBE, decoded. */
export interface SubscribeFrame {
  readonly type: 'Subscribe';
  /** Stream the events of every seq above this one; -1 for "from now". */
  readonly afterSeq: number;
}
/** SUBSCRIBED, decoded. */
export interface SubscribedFrame {
  readonly type: 'Subscribed';
  readonly afterSeq: number;
}
/** RESYNC, decoded. */
export interface ResyncFrame {
  readonly type: 'Resync';
  readonly requestedAfterSeq: number;
  readonly afterSeq: number;
}
/** EVENTS, decoded. */
export interface EventsFrame {
  readonly type: 'Events';
  readonly count: number;
  /** count x 192 bytes of event records (a view into the frame). */
  readonly records: Buffer;
}

/** Every frame, decoded. */
export type LinkFrame =
  | HelloFrame
  | WelcomeFrame
  | GoodbyeFrame
  | PingFrame
  | SubmitFrame
  | SubmittedFrame
  | FailedFrame
  | BalancesFrame
  | BalancesReplyFrame
  | MdFrame
  | SubscribeFrame
  | SubscribedFrame
  | ResyncFrame
  | EventsFrame;

// ---------------------------------------------------------------------------------------
// Encoders

function frame(type: number, payloadBytes: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  b.writeUInt32LE(HEADER_BYTES + payloadBytes, 0);
  b.writeUInt32LE(type, 4); // type in byte 4, reserved bytes 5..7 zero
  return b;
}

function utf8Capped(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= max ? bytes : bytes.subarray(0, max);
}

/** HELLO: 8 u32 magic, 12 u32 version, 16 u32 token bytes, 20 u32 reserved, 24 token (UTF-8). */
export function encodeHello(token: string, version = LINK_PROTOCOL_VERSION): Buffer {
  const t = Buffer.from(token, 'utf8');
  if (t.length > MAX_TOKEN_BYTES) throw new LinkProtocolError(`the token exceeds ${MAX_TOKEN_BYTES} bytes`);
  const b = frame(FrameType.Hello, 16 + t.length);
  b.writeUInt32LE(LINK_MAGIC, 8);
  b.writeUInt32LE(version, 12);
  b.writeUInt32LE(t.length, 16);
  b.writeUInt32LE(0, 20);
  t.copy(b, 24);
  return b;
}

/**
 * WELCOME: 8 u32 version, 12 u32 heartbeat ms, 16 u32 dead-after ms, 20 u32 markets bytes,
 * 24 f64 released seq, 32 the markets file (JSON, UTF-8).
 */
export function encodeWelcome(w: Omit<WelcomeFrame, 'type'>): Buffer {
  const json = Buffer.from(w.marketsJson, 'utf8');
  const b = frame(FrameType.Welcome, 24 + json.length);
  b.writeUInt32LE(w.version, 8);
  b.writeUInt32LE(w.heartbeatMs, 12);
  b.writeUInt32LE(w.deadAfterMs, 16);
  b.writeUInt32LE(json.length, 20);
  b.writeDoubleLE(w.releasedSeq, 24);
  json.copy(b, 32);
  return b;
}

/** GOODBYE: 8 u16 code, 10 u16 reason bytes, 12 u32 reserved, 16 reason (UTF-8). */
export function encodeGoodbye(code: number, reason: string): Buffer {
  return codeAndReason(FrameType.Goodbye, 0, code, reason, true);
}

/** FAILED: 8 u32 request id, 12 u16 code, 14 u16 reason bytes, 16 reason (UTF-8). */
export function encodeFailed(requestId: number, code: number, reason: string): Buffer {
  return codeAndReason(FrameType.Failed, requestId, code, reason, false);
}

function codeAndReason(
  type: number,
  requestId: number,
  code: number,
  reason: string,
  goodbye: boolean,
): Buffer {
  const r = utf8Capped(reason, MAX_REASON_BYTES);
  const b = frame(type, 8 + r.length);
  if (goodbye) {
    b.writeUInt16LE(code, 8);
    b.writeUInt16LE(r.length, 10);
    b.writeUInt32LE(0, 12);
  } else {
    b.writeUInt32LE(requestId, 8);
    b.writeUInt16LE(code, 12);
    b.writeUInt16LE(r.length, 14);
  }
  r.copy(b, 16);
  return b;
}

/** PING or PONG: 8 f64 nonce (the sender's clock in ms; echoed as is). */
export function encodePing(type: 'Ping' | 'Pong', nonce: number): Buffer {
  const b = frame(FrameType[type], 8);
  b.writeDoubleLE(nonce, 8);
  return b;
}

/** SUBMIT: 8 u32 request id, 12 u32 reserved, 16 the command record (192 bytes). */
export function encodeSubmit(requestId: number, v: RecordViews, index: number): Buffer {
  const b = frame(FrameType.Submit, 8 + RECORD_BYTES);
  b.writeUInt32LE(requestId, 8);
  b.writeUInt32LE(0, 12);
  b.set(v.u8.subarray(index * RECORD_BYTES, (index + 1) * RECORD_BYTES), 16);
  return b;
}

/** SUBMITTED: 8 u32 request id, 12 u32 count, 16 f64 seq, 24 count event records. */
export function encodeSubmitted(
  requestId: number,
  seq: number,
  v: RecordViews,
  from: number,
  count: number,
): Buffer {
  const b = frame(FrameType.Submitted, 16 + count * RECORD_BYTES);
  b.writeUInt32LE(requestId, 8);
  b.writeUInt32LE(count, 12);
  b.writeDoubleLE(seq, 16);
  b.set(v.u8.subarray(from * RECORD_BYTES, (from + count) * RECORD_BYTES), 24);
  return b;
}

/** BALANCES: 8 u32 request id, 12 u32 reserved, 16 f64 user id. */
export function encodeBalances(requestId: number, userId: number): Buffer {
  const b = frame(FrameType.Balances, 16);
  b.writeUInt32LE(requestId, 8);
  b.writeUInt32LE(0, 12);
  b.writeDoubleLE(userId, 16);
  return b;
}

/** BALANCES_REPLY: 8 u32 request id, 12 u32 count, 16 count x (f64 asset id, f64 free, f64 locked). */
export function encodeBalancesReply(requestId: number, balances: readonly Balance[]): Buffer {
  const b = frame(FrameType.BalancesReply, 8 + balances.length * 24);
  b.writeUInt32LE(requestId, 8);
  b.writeUInt32LE(balances.length, 12);
  let at = 16;
  for (const x of balances) {
    b.writeDoubleLE(x.assetId, at);
    b.writeDoubleLE(x.free, at + 8);
    b.writeDoubleLE(x.locked, at + 16);
    at += 24;
  }
  return b;
}

/**
 * MD_QUERY (a market data query) or MD_REPLY (its MdResult): 8 u32 request id, 12 u32 JSON
 * bytes, 16 the JSON (UTF-8). The JSON is given as text: the caller stringifies.
 */
export function encodeMd(type: 'MdQuery' | 'MdReply', requestId: number, json: string): Buffer {
  const j = Buffer.from(json, 'utf8');
  const b = frame(FrameType[type], 8 + j.length);
  b.writeUInt32LE(requestId, 8);
  b.writeUInt32LE(j.length, 12);
  j.copy(b, 16);
  return b;
}

/** SUBSCRIBE: 8 f64 after seq (-1: from now). */
export function encodeSubscribe(afterSeq: number): Buffer {
  const b = frame(FrameType.Subscribe, 8);
  b.writeDoubleLE(afterSeq, 8);
  return b;
}

/** SUBSCRIBED: 8 f64 after seq. */
export function encodeSubscribed(afterSeq: number): Buffer {
  const b = frame(FrameType.Subscribed, 8);
  b.writeDoubleLE(afterSeq, 8);
  return b;
}

/** RESYNC: 8 f64 the after seq asked for, 16 f64 the after seq the stream resumes from. */
export function encodeResync(requestedAfterSeq: number, afterSeq: number): Buffer {
  const b = frame(FrameType.Resync, 16);
  b.writeDoubleLE(requestedAfterSeq, 8);
  b.writeDoubleLE(afterSeq, 16);
  return b;
}

/** EVENTS: 8 u32 count, 12 u32 reserved, 16 count event records (copied from `bytes`). */
export function encodeEvents(bytes: Uint8Array): Buffer {
  const count = bytes.length / RECORD_BYTES;
  const b = frame(FrameType.Events, 8 + bytes.length);
  b.writeUInt32LE(count, 8);
  b.writeUInt32LE(0, 12);
  b.set(bytes, 16);
  return b;
}

// ---------------------------------------------------------------------------------------
// Decoder

function need(f: Buffer, bytes: number, exact: boolean, what: string): void {
  if (exact ? f.length !== bytes : f.length < bytes)
    throw new LinkProtocolError(
      `${what} frame of ${f.length} bytes, expected ${exact ? '' : 'at least '}${bytes}`,
    );
}

function seqField(f: Buffer, at: number, what: string, allowNow = false): number {
  const n = f.readDoubleLE(at);
  if ((allowNow && n === -1) || (Number.isSafeInteger(n) && n >= 0)) return n;
  throw new LinkProtocolError(`${what}: ${n} is not a sequence number`);
}

function recordsField(f: Buffer, at: number, count: number, what: string): Buffer {
  need(f, at + count * RECORD_BYTES, true, what);
  return f.subarray(at, at + count * RECORD_BYTES);
}

/** Decodes one complete frame (as cut by FrameReader). Throws LinkProtocolError for a malformed one. */
export function decodeFrame(f: Buffer): LinkFrame {
  const type = f[4]!;
  switch (type) {
    case FrameType.Hello: {
      need(f, 24, false, 'HELLO');
      const n = f.readUInt32LE(16);
      if (n > MAX_TOKEN_BYTES)
        throw new LinkProtocolError(`HELLO: a token of ${n} bytes exceeds ${MAX_TOKEN_BYTES}`);
      need(f, 24 + n, true, 'HELLO');
      return { type: 'Hello', magic: f.readUInt32LE(8), version: f.readUInt32LE(12), token: f.subarray(24) };
    }
    case FrameType.Welcome: {
      need(f, 32, false, 'WELCOME');
      need(f, 32 + f.readUInt32LE(20), true, 'WELCOME');
      return {
        type: 'Welcome',
        version: f.readUInt32LE(8),
        heartbeatMs: f.readUInt32LE(12),
        deadAfterMs: f.readUInt32LE(16),
        releasedSeq: seqField(f, 24, 'WELCOME'),
        marketsJson: f.toString('utf8', 32),
      };
    }
    case FrameType.Goodbye: {
      need(f, 16, false, 'GOODBYE');
      need(f, 16 + f.readUInt16LE(10), true, 'GOODBYE');
      return { type: 'Goodbye', code: f.readUInt16LE(8), reason: f.toString('utf8', 16) };
    }
    case FrameType.Ping:
    case FrameType.Pong:
      need(f, 16, true, 'PING');
      return { type: type === FrameType.Ping ? 'Ping' : 'Pong', nonce: f.readDoubleLE(8) };
    case FrameType.Submit:
      need(f, 16 + RECORD_BYTES, true, 'SUBMIT');
      return { type: 'Submit', requestId: f.readUInt32LE(8), record: f.subarray(16) };
    case FrameType.Submitted: {
      need(f, 24, false, 'SUBMITTED');
      const count = f.readUInt32LE(12);
      return {
        type: 'Submitted',
        requestId: f.readUInt32LE(8),
        count,
        seq: seqField(f, 16, 'SUBMITTED'),
        records: recordsField(f, 24, count, 'SUBMITTED'),
      };
    }
    case FrameType.Failed: {
      need(f, 16, false, 'FAILED');
      need(f, 16 + f.readUInt16LE(14), true, 'FAILED');
      return {
        type: 'Failed',
        requestId: f.readUInt32LE(8),
        code: f.readUInt16LE(12),
        reason: f.toString('utf8', 16),
      };
    }
    case FrameType.Balances:
      need(f, 24, true, 'BALANCES');
      return { type: 'Balances', requestId: f.readUInt32LE(8), userId: f.readDoubleLE(16) };
    case FrameType.BalancesReply: {
      need(f, 16, false, 'BALANCES_REPLY');
      const count = f.readUInt32LE(12);
      need(f, 16 + count * 24, true, 'BALANCES_REPLY');
      const balances: Balance[] = [];
      for (let i = 0, at = 16; i < count; i++, at += 24)
        balances.push({
          assetId: f.readDoubleLE(at),
          free: f.readDoubleLE(at + 8),
          locked: f.readDoubleLE(at + 16),
        });
      return { type: 'BalancesReply', requestId: f.readUInt32LE(8), balances };
    }
    case FrameType.MdQuery:
    case FrameType.MdReply: {
      const what = type === FrameType.MdQuery ? 'MD_QUERY' : 'MD_REPLY';
      need(f, 16, false, what);
      need(f, 16 + f.readUInt32LE(12), true, what);
      return {
        type: type === FrameType.MdQuery ? 'MdQuery' : 'MdReply',
        requestId: f.readUInt32LE(8),
        json: f.toString('utf8', 16),
      };
    }
    case FrameType.Subscribe:
      need(f, 16, true, 'SUBSCRIBE');
      return { type: 'Subscribe', afterSeq: seqField(f, 8, 'SUBSCRIBE', true) };
    case FrameType.Subscribed:
      need(f, 16, true, 'SUBSCRIBED');
      return { type: 'Subscribed', afterSeq: seqField(f, 8, 'SUBSCRIBED') };
    case FrameType.Resync:
      need(f, 24, true, 'RESYNC');
      return {
        type: 'Resync',
        requestedAfterSeq: f.readDoubleLE(8),
        afterSeq: seqField(f, 16, 'RESYNC'),
      };
    case FrameType.Events: {
      need(f, 16, false, 'EVENTS');
      const count = f.readUInt32LE(8);
      return { type: 'Events', count, records: recordsField(f, 16, count, 'EVENTS') };
    }
    default:
      throw new LinkProtocolError(`unknown frame type ${type}`);
  }
}

// ---------------------------------------------------------------------------------------
// Stream -> frames

/**
 * Cuts a TCP byte stream into frames. A frame that sits inside one received chunk is handed
 * over as a view of it (no copy); only a frame split across chunks is joined.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stopped = false;

  /** @param maxFrameBytes the longest frame accepted; a longer length is a protocol error. */
  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Takes the next chunk and hands `onFrame` every frame it completes, in order. Throws
   * LinkProtocolError for a length below the header or above the maximum: the stream cannot
   * be trusted after that, so the caller closes the connection.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4 && !this.stopped) {
      const length = this.peekLength();
      if (length < HEADER_BYTES || length > this.maxFrameBytes) {
        this.stop();
        throw new LinkProtocolError(
          `frame length ${length} is outside ${HEADER_BYTES}..${this.maxFrameBytes} bytes`,
        );
      }
      if (this.buffered < length) return;
      onFrame(this.take(length));
    }
  }

  /** Drops what is buffered and ignores everything pushed later (the connection is closing). */
  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32LE(0);
    const four = Buffer.alloc(4);
    let got = 0;
    for (const c of this.chunks) {
      const n = Math.min(4 - got, c.length);
      c.copy(four, got, 0, n);
      got += n;
      if (got === 4) break;
    }
    return four.readUInt32LE(0);
  }

  private take(length: number): Buffer {
    this.buffered -= length;
    const first = this.chunks[0]!;
    if (first.length >= length) {
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const c = this.chunks[0]!;
      const n = Math.min(length - got, c.length);
      c.copy(out, got, 0, n);
      got += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    return out;
  }
}

/**
 * Record views over `bytes` (whole records): in place when the bytes sit at an 8-byte
 * aligned offset of their buffer (the views need it), else copied into a scratch buffer
 * that is reused (and grown) from call to call.
 */
export class RecordScratch {
  private buffer = new ArrayBuffer(64 * RECORD_BYTES);

  /** Views of `bytes` as records; valid until the next call. */
  views(bytes: Uint8Array): RecordViews {
    const count = bytes.length / RECORD_BYTES;
    if (bytes.byteOffset % 8 === 0) return new RecordViews(bytes.buffer, bytes.byteOffset, count);
    if (this.buffer.byteLength < bytes.length) {
      this.buffer = new ArrayBuffer(Math.max(bytes.length, this.buffer.byteLength * 2));
    }
    new Uint8Array(this.buffer, 0, bytes.length).set(bytes);
    return new RecordViews(this.buffer, 0, count);
  }
}
