/**
 * The link's wire format and the server's ring of recent events, without sockets: every
 * frame decodes to what was encoded, the frame reader cuts a byte stream into frames however
 * it arrives, malformed frames are refused with a reason, and the ring finds where a
 * resuming gateway left off or says it no longer can.
 */
import assert from 'node:assert/strict';
import { RECORD_BYTES, RecordViews, seqAt } from '../../engine/index.ts';
import { EventRing } from '../../platform/link/event-ring.ts';
import {
  decodeFrame,
  encodeBalances,
  encodeBalancesReply,
  encodeEvents,
  encodeFailed,
  encodeGoodbye,
  encodeHello,
  encodeMd,
  encodePing,
  encodeResync,
  encodeSubmit,
  encodeSubmitted,
  encodeSubscribe,
  encodeSubscribed,
  encodeWelcome,
  FailCode,
  FrameReader,
  FrameType,
  GoodbyeCode,
  LINK_MAGIC,
  LINK_PROTOCOL_VERSION,
  LinkProtocolError,
  RecordScratch,
} from '../../platform/link/link-protocol.ts';

/** `n` event-like records: seq from `seqs`, a marker in word 3, the last-event flag where asked. */
function records(seqs: readonly number[], lastFlags: readonly boolean[] = seqs.map(() => true)): RecordViews {
  const v = new RecordViews(new ArrayBuffer(Math.max(1, seqs.length) * RECORD_BYTES));
  seqs.forEach((seq, i) => {
    v.u8[i * RECORD_BYTES] = 10;
    v.f64[i * (RECORD_BYTES / 8) + 2] = seq;
    v.f64[i * (RECORD_BYTES / 8) + 3] = i;
    if (lastFlags[i]) v.u8[i * RECORD_BYTES + 6] = 2;
  });
  return v;
}

describe('core link protocol', () => {
  describe('frames', () => {
    it('decodes every frame to what was encoded', () => {
      const v = records([7, 7, 8]);
      const bytes = (from: number, n: number): Buffer =>
        Buffer.from(v.u8.subarray(from * RECORD_BYTES, (from + n) * RECORD_BYTES));
      const hello = decodeFrame(encodeHello('tøken-with-ütf8'));
      assert.deepEqual(
        { ...hello, token: hello.type === 'Hello' && hello.token.toString('utf8') },
        {
          type: 'Hello',
          magic: LINK_MAGIC,
          version: LINK_PROTOCOL_VERSION,
          token: 'tøken-with-ütf8',
        },
      );
      const welcome = {
        version: 1,
        heartbeatMs: 1000,
        deadAfterMs: 5000,
        releasedSeq: 2 ** 40,
        marketsJson: '{"a":1}',
      };
      assert.deepEqual(decodeFrame(encodeWelcome(welcome)), { type: 'Welcome', ...welcome });
      assert.deepEqual(decodeFrame(encodeGoodbye(GoodbyeCode.Shutdown, 'bye')), {
        type: 'Goodbye',
        code: GoodbyeCode.Shutdown,
        reason: 'bye',
      });
      assert.deepEqual(decodeFrame(encodePing('Ping', 12.5)), { type: 'Ping', nonce: 12.5 });
      assert.deepEqual(decodeFrame(encodePing('Pong', 3)), { type: 'Pong', nonce: 3 });
      assert.deepEqual(decodeFrame(encodeSubmit(0xffffffff, v, 2)), {
        type: 'Submit',
        requestId: 0xffffffff,
        record: bytes(2, 1),
      });
      assert.deepEqual(decodeFrame(encodeSubmitted(9, 7, v, 0, 2)), {
        type: 'Submitted',
        requestId: 9,
        seq: 7,
        count: 2,
        records: bytes(0, 2),
      });
      assert.deepEqual(decodeFrame(encodeFailed(4, FailCode.Busy, 'busy')), {
        type: 'Failed',
        requestId: 4,
        code: FailCode.Busy,
        reason: 'busy',
      });
      assert.deepEqual(decodeFrame(encodeBalances(5, 2 ** 52)), {
        type: 'Balances',
        requestId: 5,
        userId: 2 ** 52,
      });
      const balances = [
        { assetId: 0, free: 2 ** 53 - 1, locked: 0 },
        { assetId: 2, free: 1, locked: 5 },
      ];
      assert.deepEqual(decodeFrame(encodeBalancesReply(6, balances)), {
        type: 'BalancesReply',
        requestId: 6,
        balances,
      });
      const query = JSON.stringify({ op: 'depth', symbol: 'BTCUSDT', limit: 5 });
      assert.deepEqual(decodeFrame(encodeMd('MdQuery', 0xfffffffe, query)), {
        type: 'MdQuery',
        requestId: 0xfffffffe,
        json: query,
      });
      const reply = JSON.stringify({
        ok: false,
        error: { code: 'md.x', binanceCode: -1100, msg: 'ünïcode ✓' },
      });
      assert.deepEqual(decodeFrame(encodeMd('MdReply', 8, reply)), {
        type: 'MdReply',
        requestId: 8,
        json: reply,
      });
      assert.deepEqual(decodeFrame(encodeMd('MdQuery', 1, '')), { type: 'MdQuery', requestId: 1, json: '' });
      assert.deepEqual(decodeFrame(encodeSubscribe(-1)), { type: 'Subscribe', afterSeq: -1 });
      assert.deepEqual(decodeFrame(encodeSubscribe(41)), { type: 'Subscribe', afterSeq: 41 });
      assert.deepEqual(decodeFrame(encodeSubscribed(41)), { type: 'Subscribed', afterSeq: 41 });
      assert.deepEqual(decodeFrame(encodeResync(3, 90)), {
        type: 'Resync',
        requestedAfterSeq: 3,
        afterSeq: 90,
      });
      assert.deepEqual(decodeFrame(encodeEvents(bytes(0, 3))), {
        type: 'Events',
        count: 3,
        records: bytes(0, 3),
      });
    });

    it('keeps every record at an 8-byte aligned offset of its frame', () => {
      const v = records([1, 2]);
      for (const [frame, at] of [
        [encodeSubmit(1, v, 0), 16],
        [encodeSubmitted(1, 1, v, 0, 2), 24],
        [encodeEvents(v.u8), 16],
      ] as const) {
        assert.equal(at % 8, 0);
        assert.ok(frame.subarray(at, at + RECORD_BYTES).equals(Buffer.from(v.u8.subarray(0, RECORD_BYTES))));
      }
    });

    it('refuses a frame whose size does not match its type, an unknown type, and a bad seq', () => {
      const cut = (f: Buffer, n: number): Buffer => {
        const b = Buffer.from(f.subarray(0, n));
        b.writeUInt32LE(n, 0);
        return b;
      };
      const cases: [Buffer, RegExp][] = [
        [cut(encodeSubmit(1, records([1]), 0), 100), /SUBMIT frame of 100 bytes, expected 208/],
        [cut(encodeHello('0123456789abcdef'), 30), /HELLO frame of 30 bytes, expected 40/],
        [cut(encodeEvents(records([1, 2]).u8), 200), /EVENTS frame of 200 bytes, expected 400/],
        [Buffer.from([8, 0, 0, 0, 77, 0, 0, 0]), /unknown frame type 77/],
        [encodeSubscribe(1.5), /SUBSCRIBE: 1.5 is not a sequence number/],
        [encodeSubscribe(-2), /SUBSCRIBE: -2 is not a sequence number/],
        [encodeSubscribed(-1), /SUBSCRIBED: -1 is not a sequence number/],
      ];
      for (const [frame, message] of cases) {
        assert.throws(
          () => decodeFrame(frame),
          (e: Error) => e instanceof LinkProtocolError && message.test(e.message),
        );
      }
      const longToken = Buffer.alloc(24 + 2000);
      longToken.writeUInt32LE(longToken.length, 0);
      longToken[4] = 1;
      longToken.writeUInt32LE(2000, 16);
      assert.throws(() => decodeFrame(longToken), /a token of 2000 bytes exceeds 1024/);
    });

    it('lays out MD_QUERY and MD_REPLY as request id, JSON byte length, then the JSON at offset 16', () => {
      const json = '{"op":"avgPrice","symbol":"ÉTHUSDT"}';
      for (const [type, code] of [
        ['MdQuery', FrameType.MdQuery],
        ['MdReply', FrameType.MdReply],
      ] as const) {
        const f = encodeMd(type, 77, json);
        assert.equal(f.readUInt32LE(0), f.length);
        assert.equal(f[4], code);
        assert.deepEqual([f[5], f[6], f[7]], [0, 0, 0]);
        assert.equal(f.readUInt32LE(8), 77);
        assert.equal(f.readUInt32LE(12), Buffer.byteLength(json, 'utf8'));
        assert.equal(f.length, 16 + Buffer.byteLength(json, 'utf8'));
        assert.equal(f.toString('utf8', 16), json);
      }
      assert.deepEqual([FrameType.MdQuery, FrameType.MdReply], [15, 16]);
      assert.equal(LINK_PROTOCOL_VERSION, 2);
    });

    it('refuses an MD_QUERY or MD_REPLY shorter than its header or not as long as its JSON says', () => {
      const query = encodeMd('MdQuery', 3, '{"op":"tickerPrice"}');
      const withLength = (f: Buffer, jsonBytes: number): Buffer => {
        const b = Buffer.from(f);
        b.writeUInt32LE(jsonBytes, 12);
        return b;
      };
      const cut = (f: Buffer, n: number): Buffer => {
        const b = Buffer.from(f.subarray(0, n));
        b.writeUInt32LE(n, 0);
        return b;
      };
      const cases: [Buffer, RegExp][] = [
        [cut(query, 12), /MD_QUERY frame of 12 bytes, expected at least 16/],
        [cut(query, 8), /MD_QUERY frame of 8 bytes, expected at least 16/],
        // The JSON announced is longer than the frame, or shorter (trailing bytes).
        [withLength(query, 21), /MD_QUERY frame of 36 bytes, expected 37/],
        [withLength(query, 19), /MD_QUERY frame of 36 bytes, expected 35/],
        [withLength(query, 0xffffffff), /MD_QUERY frame of 36 bytes, expected 4294967311/],
        [cut(encodeMd('MdReply', 3, '{"ok":true,"value":1}'), 30), /MD_REPLY frame of 30 bytes, expected 37/],
      ];
      for (const [frame, message] of cases) {
        assert.throws(
          () => decodeFrame(frame),
          (e: Error) => e instanceof LinkProtocolError && message.test(e.message),
          message.source,
        );
      }
    });

    it('cuts the reason of a GOODBYE or FAILED at 1024 bytes', () => {
      const long = 'x'.repeat(5000);
      const f = decodeFrame(encodeFailed(1, FailCode.Unavailable, long));
      assert.equal(f.type === 'Failed' && f.reason.length, 1024);
    });
  });

  describe('frame reader', () => {
    const stream = Buffer.concat([
      encodeHello('0123456789abcdef'),
      encodeSubscribe(3),
      encodeEvents(records([4, 4, 5], [false, true, true]).u8),
      encodePing('Ping', 1),
    ]);
    const types = ['Hello', 'Subscribe', 'Events', 'Ping'];

    it('gives the same frames however the stream is split into chunks', () => {
      for (let size = 1; size <= stream.length; size += size < 20 ? 1 : 37) {
        const reader = new FrameReader(1 << 16);
        const got: Buffer[] = [];
        for (let at = 0; at < stream.length; at += size)
          reader.push(stream.subarray(at, at + size), (f) => got.push(f));
        assert.deepEqual(
          got.map((f) => decodeFrame(f).type),
          types,
          `chunks of ${size}`,
        );
        assert.ok(Buffer.concat(got).equals(stream), `chunks of ${size}: the bytes of every frame`);
      }
    });

    it('hands a frame that sits in one chunk over without copying it', () => {
      const reader = new FrameReader(1 << 16);
      const got: Buffer[] = [];
      reader.push(stream, (f) => got.push(f));
      assert.ok(got.every((f) => f.buffer === stream.buffer));
    });

    it('refuses a length below the header or above the maximum, then ignores the rest', () => {
      for (const length of [0, 7, 1025]) {
        const reader = new FrameReader(1024);
        const bad = Buffer.alloc(12);
        bad.writeUInt32LE(length, 0);
        assert.throws(
          () => reader.push(bad, () => assert.fail('no frame')),
          (e: Error) => e instanceof LinkProtocolError && /outside 8\.\.1024 bytes/.test(e.message),
        );
        reader.push(encodePing('Ping', 1), () => assert.fail('a stopped reader hands nothing over'));
      }
    });
  });

  describe('record scratch', () => {
    it('reads records in place when aligned and copies them when not', () => {
      const v = records([1, 2, 3]);
      const scratch = new RecordScratch();
      const aligned = scratch.views(v.u8);
      assert.equal(aligned.buffer, v.buffer);
      const odd = Buffer.alloc(3 * RECORD_BYTES + 1);
      odd.set(v.u8, 1);
      const copied = scratch.views(odd.subarray(1));
      assert.notEqual(copied.buffer, odd.buffer);
      assert.deepEqual(
        [0, 1, 2].map((i) => seqAt(copied, i)),
        [1, 2, 3],
      );
    });
  });

  describe('event ring', () => {
    /** A ring fed commands 1..n, command s having (s % 3) + 1 events. */
    function fed(capacity: number, n: number, batch = 5): EventRing {
      const ring = new EventRing(capacity, 0);
      const seqs: number[] = [];
      const last: boolean[] = [];
      for (let s = 1; s <= n; s++) {
        const k = (s % 3) + 1;
        for (let j = 0; j < k; j++) {
          seqs.push(s);
          last.push(j === k - 1);
        }
      }
      const v = records(seqs, last);
      for (let i = 0; i < seqs.length; i += batch) ring.append(v, i, Math.min(batch, seqs.length - i));
      return ring;
    }

    it('finds the first record after a seq it holds', () => {
      const ring = fed(1000, 30);
      for (const after of [0, 1, 7, 29]) {
        const at = ring.positionAfter(after)!;
        const first = new RecordViews(new Uint8Array(ring.bytesAt(at, 1)).buffer);
        assert.equal(seqAt(first, 0), after + 1);
      }
      assert.equal(ring.positionAfter(30), ring.head);
      assert.equal(ring.lastSeq, 30);
    });

    it('refuses a seq older than what it holds, or newer than anything released', () => {
      const ring = fed(20, 30);
      assert.equal(ring.positionAfter(0), null);
      assert.equal(ring.positionAfter(31), null);
      // A command whose first events were overwritten is lost, though its last ones are held.
      const split = new EventRing(3, 0);
      split.append(records([1, 2, 2, 3, 4], [true, false, true, true, true]), 0, 5);
      assert.equal(split.positionAfter(1), null);
      assert.equal(split.positionAfter(2), 3);
      assert.equal(ring.head - ring.tail, 20);
    });

    it('knows nothing from before it was made', () => {
      const ring = new EventRing(100, 50);
      assert.equal(ring.positionAfter(49), null);
      assert.equal(ring.positionAfter(50), 0);
      assert.equal(ring.lastSeq, 50);
    });

    it('gives records in order across the wrap, and keeps only the newest of a batch larger than itself', () => {
      const ring = fed(16, 40, 7);
      const out: number[] = [];
      for (let at = ring.tail; at < ring.head; ) {
        const bytes = ring.bytesAt(at, 5);
        const v = new RecordViews(new Uint8Array(bytes).buffer);
        for (let i = 0; i < v.records; i++) out.push(seqAt(v, i));
        at += v.records;
      }
      assert.equal(out.length, 16);
      assert.equal(out.at(-1), 40);
      for (let i = 1; i < out.length; i++) assert.ok(out[i]! >= out[i - 1]!);
      const big = new EventRing(4, 0);
      big.append(records([1, 2, 3, 4, 5, 6]), 0, 6);
      assert.equal(big.head, 6);
      assert.equal(big.positionAfter(2), 2);
      assert.equal(big.positionAfter(1), null);
    });
  });
});
