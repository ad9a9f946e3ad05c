/**
 * One client process of the fan-out benchmark (forked by fanout.bench.ts): opens its share of
 * the WebSocket connections, each `/stream?streams=<depth@100ms>/<trade>/<ticker>` of three
 * symbols (fanout-common.ts `connectionStreams`), and for every message received stamps the
 * receipt with the monotonic clock, checks its order on that connection and stream, and
 * measures its delay against the server's record of the message (relayed by the driver).
 *
 * The WebSocket client is written here on `net` sockets rather than taken from a library: with
 * 10,000 connections and hundreds of thousands of messages a second on two cores shared with
 * the server, the client's own cost is part of what is measured, for the platform and for the
 * floor alike. undici's WebSocket (what the tests use; Node 20 has no global one) allocates a
 * MessageEvent and decodes a string per message; here every read lands in one shared buffer
 * (`onread`), frames are parsed in place, and a message costs a few `indexOf`s on its bytes.
 * It speaks what the servers send: unmasked text frames (fragmented ones reassembled), pings
 * (answered with a masked pong, as the gateway requires within 60 s), close frames; it sends no
 * extension offer, so nothing is compressed.
 *
 * Order: trade `t` = previous + 1, depth `U` = previous `u` + 1, ticker `E` increasing, per
 * connection and stream; the first message of a stream on a connection is in order. A message
 * counts when the server published it inside the window the driver sets (by the record's
 * publish time), so messages still in flight at the window's end are counted once they arrive.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import {
  connectionStreams,
  type FromClient,
  KIND_DEPTH,
  KIND_TRADE,
  KINDS,
  monoMicros,
  RECORD_FIELDS,
  STREAMS,
  type ToClient,
} from './fanout-common.ts';

const send = (m: FromClient): void => {
  process.send?.(m);
};

const HIGHEST = 3_600_000_000;
const histograms = KINDS.map(() =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3 }),
);
/** Every kind, from the server's publish on the bus (trades: after the builder) to receipt. */
const fromPublish = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: HIGHEST,
  numberOfSignificantValueDigits: 3,
});
const received = KINDS.map(() => 0);
const inOrder = KINDS.map(() => 0);
let bytes = 0;
let unmatched = 0;
const unmatchedSamples: string[] = [];
let negative = 0;
let other = 0;
let totalMessages = 0;
let windowFrom = Number.POSITIVE_INFINITY;
let windowTo = Number.POSITIVE_INFINITY;

/** Per stream: message id -> publish time and ref time (µs), from the server's records. */
const published = STREAMS.map(() => new Map<number, number>());
const refs = STREAMS.map(() => new Map<number, number>());
/** Messages received before their record: stream, kind, id, inOrder, receipt, bytes. */
let pending: number[] = [];
const PENDING_FIELDS = 6;

function account(kind: number, ordered: boolean, receipt: number, pub: number, ref: number, n: number): void {
  if (pub < windowFrom || pub >= windowTo) return;
  received[kind]!++;
  if (ordered) inOrder[kind]!++;
  bytes += n;
  histograms[kind]!.recordValue(clamp(receipt - ref));
  fromPublish.recordValue(clamp(receipt - pub));
}

function clamp(micros: number): number {
  let lat = Math.round(micros);
  if (lat < 0) negative++;
  if (lat < 1) lat = 1;
  if (lat > HIGHEST) lat = HIGHEST;
  return lat;
}

function resolve(s: number, kind: number, id: number, ordered: boolean, receipt: number, n: number): void {
  const pub = published[s]!.get(id);
  if (pub === undefined) {
    pending.push(s, kind, id, ordered ? 1 : 0, receipt, n);
    return;
  }
  account(kind, ordered, receipt, pub, refs[s]!.get(id)!, n);
}

function onRecords(r: number[]): void {
  for (let i = 0; i < r.length; i += RECORD_FIELDS) {
    const s = r[i]!;
    published[s]!.set(r[i + 1]!, r[i + 2]!);
    refs[s]!.set(r[i + 1]!, r[i + 3]!);
  }
  if (pending.length === 0) return;
  const keep: number[] = [];
  const now = monoMicros();
  for (let i = 0; i < pending.length; i += PENDING_FIELDS) {
    const s = pending[i]!;
    const id = pending[i + 2]!;
    const pub = published[s]!.get(id);
    if (pub !== undefined)
      account(
        pending[i + 1]!,
        pending[i + 3] === 1,
        pending[i + 4]!,
        pub,
        refs[s]!.get(id)!,
        pending[i + 5]!,
      );
    else if (now - pending[i + 4]! > 10_000_000) {
      unmatched++;
      if (unmatchedSamples.length < 5) unmatchedSamples.push(`${STREAMS[s]} ${id}`);
    } else for (let k = 0; k < PENDING_FIELDS; k++) keep.push(pending[i + k]!);
  }
  pending = keep;
}

// --- connections -------------------------------------------------------------------------------

let first = 0;
let count = 0;
let port = 0;
let sockets: (net.Socket | undefined)[] = [];
/** Per connection: bytes of an incomplete frame (or handshake) kept from the last read. */
let leftovers: (Buffer | undefined)[] = [];
/** Per connection: a fragmented message being reassembled. */
let fragments: (Buffer[] | undefined)[] = [];
/** 0 connecting, 1 open, 2 closed. */
let states = new Uint8Array(0);
/** Per connection and kind: the last id seen (-1: none yet). */
let lastIds = new Float64Array(0);
/** Per connection and kind: its stream index. */
let streamOf = new Int32Array(0);
let closed = 0;
let finishing = false;
const closeCodes: Record<string, number> = {};
const openWaiters: (((err: string | null) => void) | undefined)[] = [];

const READ = Buffer.allocUnsafe(1 << 20);
const Q = 0x22;
const STREAM_HEAD = Buffer.from('{"stream":"');
const T = Buffer.from('"t":');
const U_FIRST = Buffer.from('"U":');
const U_LAST = Buffer.from('"u":');
const E = Buffer.from('"E":');

function intAt(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const at = buf.indexOf(needle, from);
  if (at < 0 || at >= end) return -1;
  let n = 0;
  for (let i = at + needle.length; i < end; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

/** One text message of connection `c`: bytes [start, end) of `buf`. */
function onMessage(c: number, buf: Buffer, start: number, end: number, receipt: number): void {
  totalMessages++;
  if (buf.compare(STREAM_HEAD, 0, STREAM_HEAD.length, start, start + STREAM_HEAD.length) !== 0) {
    other++;
    return;
  }
  const nameEnd = buf.indexOf(Q, start + STREAM_HEAD.length);
  if (nameEnd < 0 || nameEnd >= end) {
    other++;
    return;
  }
  // The kind from the name's last letter: `@depth@100ms`, `@trade`, `@ticker`.
  const last = buf[nameEnd - 1];
  const kind = last === 0x73 ? KIND_DEPTH : last === 0x65 ? KIND_TRADE : last === 0x72 ? 2 : -1;
  if (kind < 0) {
    other++;
    return;
  }
  const data = nameEnd + 9;
  const slot = c * 3 + kind;
  const prev = lastIds[slot]!;
  let id: number;
  let ordered: boolean;
  if (kind === KIND_TRADE) {
    id = intAt(buf, T, data, end);
    ordered = prev < 0 || id === prev + 1;
  } else if (kind === KIND_DEPTH) {
    const first = intAt(buf, U_FIRST, data, end);
    id = intAt(buf, U_LAST, data, end);
    ordered = prev < 0 || first === prev + 1;
  } else {
    id = intAt(buf, E, data, end);
    ordered = prev < 0 || id > prev;
  }
  lastIds[slot] = id;
  resolve(streamOf[slot]!, kind, id, ordered, receipt, end - start);
}

/** A masked frame from the client (pong, close). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.allocUnsafe(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** Parses the frames in `buf[0..n)`; keeps an incomplete tail. */
function onBytes(c: number, chunk: Buffer, receipt: number): void {
  let buf = chunk;
  const left = leftovers[c];
  if (left !== undefined) {
    buf = Buffer.concat([left, chunk]);
    leftovers[c] = undefined;
  }
  let i = 0;
  if (states[c] === 0) {
    const head = buf.indexOf('\r\n\r\n');
    if (head < 0) {
      leftovers[c] = Buffer.from(buf);
      return;
    }
    const status = buf.toString('latin1', 0, Math.min(head, 40));
    if (!status.startsWith('HTTP/1.1 101')) {
      const line = status.split('\r\n')[0];
      states[c] = 2;
      sockets[c]?.destroy();
      openWaiters[c]?.(`upgrade refused: ${line}`);
      return;
    }
    states[c] = 1;
    i = head + 4;
    openWaiters[c]?.(null);
  }
  const n = buf.length;
  while (i + 2 <= n) {
    const b0 = buf[i]!;
    let len = buf[i + 1]! & 0x7f;
    let p = i + 2;
    if (len === 126) {
      if (p + 2 > n) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (p + 8 > n) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    if (p + len > n) break;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode === 1 || opcode === 2 || opcode === 0) {
      if (fin && opcode !== 0) onMessage(c, buf, p, p + len, receipt);
      else {
        const parts = fragments[c] ?? [];
        parts.push(Buffer.from(buf.subarray(p, p + len)));
        fragments[c] = parts;
        if (fin) {
          const whole = Buffer.concat(parts);
          fragments[c] = undefined;
          onMessage(c, whole, 0, whole.length, receipt);
        }
      }
    } else if (opcode === 9) {
      sockets[c]?.write(clientFrame(0xa, buf.subarray(p, p + len)));
    } else if (opcode === 8) {
      const code = len >= 2 ? buf.readUInt16BE(p) : 1005;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      states[c] = 2;
      sockets[c]?.end();
    }
    i = p + len;
  }
  if (i < n) leftovers[c] = Buffer.from(buf.subarray(i, n));
}

function open(c: number): Promise<string | null> {
  return new Promise((done) => {
    const global = first + c;
    const names = connectionStreams(global).map((s) => STREAMS[s]!);
    const settle = (err: string | null) => {
      openWaiters[c] = undefined;
      done(err);
    };
    openWaiters[c] = settle;
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: READ,
        callback: (nread: number, buf: Uint8Array) => {
          onBytes(c, (buf as Buffer).subarray(0, nread), monoMicros());
          return true;
        },
      },
    });
    sockets[c] = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(
        `GET /stream?streams=${names.join('/')} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('error', (e) => {
      openWaiters[c]?.(`socket error: ${e.message}`);
    });
    socket.on('close', () => {
      const wasOpen = states[c] === 1;
      states[c] = 2;
      if (!finishing) {
        closed++;
        if (wasOpen) closeCodes['1006'] = (closeCodes['1006'] ?? 0) + 1;
      }
      openWaiters[c]?.('closed before the upgrade');
    });
  });
}

async function connectAll(concurrency: number): Promise<void> {
  const t0 = performance.now();
  sockets = new Array(count);
  leftovers = new Array(count);
  fragments = new Array(count);
  states = new Uint8Array(count);
  lastIds = new Float64Array(count * 3).fill(-1);
  streamOf = new Int32Array(count * 3);
  for (let c = 0; c < count; c++) {
    const ss = connectionStreams(first + c);
    for (let k = 0; k < 3; k++) streamOf[c * 3 + k] = ss[k]!;
  }
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async (): Promise<void> => {
    while (next < count) {
      const c = next++;
      const err = await open(c);
      if (err === null) ok++;
      else {
        failed++;
        if (errors.length < 5) errors.push(`connection ${first + c}: ${err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  // Failures before the window are not counted as drops in it.
  closed = 0;
  for (const k of Object.keys(closeCodes)) delete closeCodes[k];
  send({ type: 'connected', open: ok, failed, errors, seconds: (performance.now() - t0) / 1000 });
}

process.on('message', (m: ToClient) => {
  switch (m.type) {
    case 'connect':
      first = m.first;
      count = m.count;
      port = m.port;
      void connectAll(m.concurrency);
      return;
    case 'records':
      onRecords(m.r);
      return;
    case 'window':
      windowFrom = m.from;
      windowTo = m.to;
      return;
    case 'progress':
      onRecords([]);
      send({ type: 'progress', received: received.reduce((a, b) => a + b, 0) });
      return;
    case 'finish': {
      onRecords([]);
      // Received more than a second ago and still without a record (records come every 20 ms);
      // later ones may simply not have been relayed yet.
      const cutoff = monoMicros() - 1_000_000;
      for (let i = 0; i < pending.length; i += PENDING_FIELDS) {
        if (pending[i + 4]! >= cutoff) continue;
        unmatched++;
        if (unmatchedSamples.length < 5) unmatchedSamples.push(`${STREAMS[pending[i]!]} ${pending[i + 2]}`);
      }
      send({
        type: 'result',
        received,
        inOrder,
        bytes,
        histograms: histograms.map((h) => hdr.encodeIntoCompressedBase64(h)),
        fromPublish: hdr.encodeIntoCompressedBase64(fromPublish),
        unmatched,
        unmatchedSamples,
        negative,
        closed,
        closeCodes,
        other,
        totalMessages,
      });
      return;
    }
    case 'close':
      finishing = true;
      for (const s of sockets) s?.destroy();
      setTimeout(() => process.exit(0), 100);
      return;
  }
});

send({ type: 'ready' });
