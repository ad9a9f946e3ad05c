/**
 * The binary records: every command and every event survives encode -> decode unchanged,
 * the layout refuses what it cannot hold (RecordError), and the growable EventWriter keeps
 * earlier records when it grows.
 */
import assert from 'node:assert/strict';
import {
  type BookCommand,
  type BookEvent,
  CancelReason,
  CancelReplaceMode,
  CancelRestriction,
  decodeCommand,
  decodeEvent,
  decodeEvents,
  EventWriter,
  ExpiryReason,
  encodeCommand,
  encodeEvent,
  OrderType,
  orderId,
  preventedMatchId,
  RECORD_BYTES,
  RecordError,
  RecordViews,
  ResultCode,
  Side,
  StpMode,
  seq,
  symbolId,
  TimeInForce,
  tradeId,
  userId,
} from '../../engine/index.ts';
import {
  amendCmd,
  cancelAllCmd,
  cancelCmd,
  cancelReplaceCmd,
  Harness,
  placeCmd,
  U1,
  U2,
  U3,
} from './helpers.ts';

const BIG = Number.MAX_SAFE_INTEGER;
const CID36 = 'A.b:c/d_e-f0123456789012345678901234';

const stamp = { seq: seq(BIG - 1), tsMicros: 1_735_000_000_123_456, symbolId: symbolId(4_000_000_000) };

/** One of every command kind, each field set to a value that is not its default. */
const commands: BookCommand[] = [
  placeCmd({
    ...stamp,
    userId: userId(BIG),
    orderId: orderId(BIG - 2),
    side: Side.SELL,
    orderType: OrderType.LIMIT,
    timeInForce: TimeInForce.FOK,
    stpMode: StpMode.DECREMENT,
    priceTicks: 123_456_789,
    qtyLots: 987_654_321,
    quoteQtyUnits: 0,
    clientOrderId: CID36,
  }),
  placeCmd({
    ...stamp,
    userId: userId(7),
    orderId: orderId(8),
    side: Side.BUY,
    orderType: OrderType.MARKET,
    timeInForce: TimeInForce.NONE,
    stpMode: StpMode.DEFAULT,
    priceTicks: 0,
    qtyLots: 0,
    quoteQtyUnits: 5_000_000_000_000,
    clientOrderId: '',
  }),
  cancelCmd({
    ...stamp,
    userId: userId(9),
    orderId: orderId(10),
    clientOrderId: 'c-1',
    cancelRestriction: CancelRestriction.ONLY_PARTIALLY_FILLED,
  }),
  cancelCmd({ ...stamp, userId: userId(9), orderId: orderId(0), clientOrderId: 'by-cid-only' }),
  cancelAllCmd({ ...stamp, userId: userId(11) }),
  amendCmd({
    ...stamp,
    userId: userId(12),
    orderId: orderId(13),
    clientOrderId: 'old',
    priceTicks: 14,
    qtyLots: 15,
    newClientOrderId: CID36,
  }),
  cancelReplaceCmd({
    ...stamp,
    userId: userId(16),
    orderId: orderId(17),
    side: Side.SELL,
    orderType: OrderType.LIMIT_MAKER,
    timeInForce: TimeInForce.NONE,
    stpMode: StpMode.EXPIRE_BOTH,
    priceTicks: 18,
    qtyLots: 19,
    quoteQtyUnits: 0,
    clientOrderId: 'new-order',
    cancelOrderId: orderId(20),
    cancelClientOrderId: 'cancel-me',
    cancelReplaceMode: CancelReplaceMode.ALLOW_FAILURE,
    cancelRestriction: CancelRestriction.ONLY_NEW,
  }),
];

const base = { seq: seq(BIG), tsMicros: 1_735_000_000_654_321, symbolId: symbolId(3) };

/** One of every event kind, each field set to a value that is not its default. */
const events: BookEvent[] = [
  {
    kind: 'OrderAccepted',
    ...base,
    userId: userId(BIG),
    orderId: orderId(BIG - 1),
    side: Side.SELL,
    orderType: OrderType.LIMIT,
    timeInForce: TimeInForce.IOC,
    stpMode: StpMode.EXPIRE_TAKER,
    priceTicks: 100_000_000,
    qtyLots: 9_000_000,
    quoteQtyUnits: 0,
    clientOrderId: CID36,
  },
  {
    kind: 'OrderRejected',
    ...base,
    userId: userId(2),
    orderId: orderId(3),
    side: Side.BUY,
    orderType: OrderType.MARKET,
    code: ResultCode.BOOK_CAPACITY,
    clientOrderId: 'rej',
  },
  {
    kind: 'TradeExecuted',
    ...base,
    tradeId: tradeId(BIG - 3),
    priceTicks: 4,
    qtyLots: 5,
    takerSide: Side.SELL,
    takerUserId: userId(6),
    takerOrderId: orderId(7),
    takerRemainingLots: 8,
    makerUserId: userId(9),
    makerOrderId: orderId(10),
    makerRemainingLots: 11,
  },
  {
    kind: 'OrderCanceled',
    ...base,
    userId: userId(12),
    orderId: orderId(13),
    side: Side.SELL,
    priceTicks: 14,
    canceledLots: 15,
    filledLots: 16,
    reason: CancelReason.CANCEL_REPLACE,
    clientOrderId: 'gone',
  },
  {
    kind: 'OrderExpired',
    ...base,
    userId: userId(17),
    orderId: orderId(18),
    side: Side.BUY,
    expiredLots: 19,
    expiredQuoteUnits: 20,
    reason: ExpiryReason.MARKET_NO_LIQUIDITY,
  },
  {
    kind: 'OrderAmended',
    ...base,
    userId: userId(21),
    orderId: orderId(22),
    side: Side.SELL,
    priceTicks: 23,
    qtyLots: 24,
    remainingLots: 25,
    keptPriority: true,
    clientOrderId: 'amended',
  },
  {
    kind: 'OrderAmended',
    ...base,
    userId: userId(21),
    orderId: orderId(22),
    side: Side.BUY,
    priceTicks: 23,
    qtyLots: 24,
    remainingLots: 24,
    keptPriority: false,
    clientOrderId: '',
  },
  {
    kind: 'SelfTradePrevented',
    ...base,
    preventedMatchId: preventedMatchId(26),
    stpMode: StpMode.DECREMENT,
    priceTicks: 27,
    userId: userId(28),
    takerOrderId: orderId(29),
    takerPreventedLots: 30,
    takerRemainingLots: 31,
    makerOrderId: orderId(32),
    makerPreventedLots: 33,
    makerRemainingLots: 34,
  },
  {
    kind: 'CancelRejected',
    ...base,
    userId: userId(35),
    orderId: orderId(36),
    code: ResultCode.CANCEL_RESTRICTED,
    clientOrderId: 'cr',
  },
  {
    kind: 'AmendRejected',
    ...base,
    userId: userId(37),
    orderId: orderId(38),
    code: ResultCode.AMEND_WOULD_TAKE,
    clientOrderId: '',
  },
];

describe('binary records', () => {
  it('have one fixed size, a multiple of 8 bytes (f64 fields stay aligned)', () => {
    assert.equal(RECORD_BYTES % 8, 0);
    assert.ok(RECORD_BYTES >= 160, 'room for two 36-character client order ids and the fixed fields');
    assert.equal(new RecordViews(new ArrayBuffer(RECORD_BYTES * 3)).records, 3);
  });

  /** A command as decoded: orders always carry risk's budget (0 when none was stamped). */
  const decoded = (c: BookCommand): BookCommand =>
    c.kind === 'PlaceOrder' || c.kind === 'CancelReplaceOrder'
      ? { ...c, budgetUnits: c.budgetUnits ?? 0 }
      : c;

  it('refuse a record whose client order id is damaged, naming the record and the field', () => {
    const v = new RecordViews(new ArrayBuffer(RECORD_BYTES * 2));
    encodeCommand(v, 1, placeCmd({ clientOrderId: 'web_8f3kLm2Qx9Zp0aB7cD1e' }));
    assert.equal(
      (decodeCommand(v, 1) as { clientOrderId: string }).clientOrderId,
      'web_8f3kLm2Qx9Zp0aB7cD1e',
    );
    // Find the id's bytes, then break them one way at a time.
    const at = v.u8.indexOf('w'.charCodeAt(0), RECORD_BYTES) - 1;
    assert.equal(v.u8[at], 24, 'the length byte precedes the id');
    for (const bad of [0x20, 0x00, 0x7f, 0xe9, '+'.charCodeAt(0), '"'.charCodeAt(0)]) {
      const copy = new RecordViews(v.buffer.slice(0));
      copy.u8[at + 5] = bad;
      assert.throws(() => decodeCommand(copy, 1), /record 1: clientOrderId is not a valid client order id/);
    }
    const long = new RecordViews(v.buffer.slice(0));
    long.u8[at] = 37;
    assert.throws(() => decodeCommand(long, 1), /record 1: clientOrderId length 37 exceeds 36/);
    // Every allowed byte reads back as itself.
    const all = '.:/_-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < all.length; i += 36) {
      const id = all.slice(i, i + 36);
      encodeCommand(v, 0, placeCmd({ clientOrderId: id }));
      assert.equal((decodeCommand(v, 0) as { clientOrderId: string }).clientOrderId, id);
    }
  });

  describe('commands', () => {
    it('round-trips every command kind, field for field', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES * commands.length));
      commands.forEach((c, i) => {
        encodeCommand(v, i, c);
      });
      commands.forEach((c, i) => {
        assert.deepEqual(decodeCommand(v, i), decoded(c), `command ${i} (${c.kind})`);
      });
      const kinds = new Set(commands.map((c) => c.kind));
      assert.equal(kinds.size, 5, 'all five command kinds');
    });

    it('round-trips through a SharedArrayBuffer at an offset', () => {
      const sab = new SharedArrayBuffer(8 + RECORD_BYTES * 2);
      const v = new RecordViews(sab, 8, 2);
      encodeCommand(v, 1, commands[0]!);
      assert.deepEqual(decodeCommand(new RecordViews(sab, 8, 2), 1), decoded(commands[0]!));
      assert.equal(new Uint8Array(sab)[8], 0, 'record 0 untouched');
    });

    it('overwrites a record entirely, leaving no bytes of the previous command behind', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES * 2));
      encodeCommand(v, 1, commands[1]!);
      const neighbour = v.u8.slice(RECORD_BYTES);
      encodeCommand(v, 0, commands[6]!);
      const shorter = placeCmd({ ...stamp, orderId: orderId(1), priceTicks: 5, qtyLots: 6 });
      encodeCommand(v, 0, shorter);
      assert.deepEqual(decodeCommand(v, 0), decoded(shorter));
      encodeCommand(v, 0, commands[4]!);
      assert.deepEqual(decodeCommand(v, 0), decoded(commands[4]!));
      const clean = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      encodeCommand(clean, 0, commands[4]!);
      assert.deepEqual(v.u8.slice(0, RECORD_BYTES), clean.u8.slice(), 'same bytes as on a clean record');
      assert.deepEqual(v.u8.slice(RECORD_BYTES), neighbour, 'the next record is untouched');
    });

    it('refuses an unknown command kind', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      encodeCommand(v, 0, commands[0]!);
      for (const kind of [0, 6, 9, 255]) {
        v.u8[0] = kind;
        assert.throws(
          () => decodeCommand(v, 0),
          (e: unknown) => e instanceof RecordError && /kind/.test(e.message),
        );
      }
    });

    it('refuses a record index outside the buffer', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES * 2));
      for (const i of [-1, 2, 100]) {
        assert.throws(() => encodeCommand(v, i, commands[0]!), RecordError);
        assert.throws(() => decodeCommand(v, i), RecordError);
      }
    });

    it('refuses client order ids that do not fit: too long or not ASCII', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      const bad: BookCommand[] = [
        placeCmd({ clientOrderId: 'x'.repeat(37) }),
        placeCmd({ clientOrderId: 'caf\u00e9' }),
        placeCmd({ clientOrderId: 'with space' }),
        cancelCmd({ clientOrderId: '\u{1F600}' }),
        amendCmd({ clientOrderId: 'ok', newClientOrderId: 'y'.repeat(40) }),
        cancelReplaceCmd({ clientOrderId: 'ok', cancelClientOrderId: 'tab\there' }),
      ];
      for (const c of bad) assert.throws(() => encodeCommand(v, 0, c), RecordError, JSON.stringify(c));
    });

    it('refuses to decode a client order id that is over-long or not one Binance allows', () => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      encodeCommand(v, 0, placeCmd({ clientOrderId: 'abc' }));
      v.u8[88] = 37;
      assert.throws(() => decodeCommand(v, 0), /length 37/);
      v.u8[88] = 3;
      v.u8[90] = '#'.charCodeAt(0);
      assert.throws(() => decodeCommand(v, 0), RecordError);
      v.u8[90] = 'b'.charCodeAt(0);
      assert.equal((decodeCommand(v, 0) as { clientOrderId: string }).clientOrderId, 'abc');
    });

    it('refuses views at an offset that is not 8-byte aligned', () => {
      assert.throws(() => new RecordViews(new ArrayBuffer(RECORD_BYTES * 2), 4, 1), RecordError);
    });
  });

  describe('events', () => {
    it('round-trips every event kind through EventWriter, field for field', () => {
      const w = new EventWriter(2);
      for (const e of events) encodeEvent(w, e);
      assert.equal(w.count, events.length);
      assert.deepEqual(decodeEvents(w.views, w.count), events);
      assert.equal(new Set(events.map((e) => e.kind)).size, 9, 'all nine event kinds');
    });

    it('re-encodes the events of a real session to the same bytes', () => {
      const h = new Harness();
      h.buy(U1, 100, 5, { clientOrderId: 'b' });
      h.sell(U2, 100, 2);
      h.sell(U1, 100, 9, { stpMode: StpMode.DECREMENT });
      h.amend({ userId: U1, clientOrderId: 'b', qtyLots: 4 });
      h.cancel({ userId: U3, orderId: orderId(1) });
      h.marketOrder(U3, Side.BUY, 100);
      h.buy(U3, 0, 1);
      h.buy(U2, 50, 3, { clientOrderId: 'c' });
      h.amend({ userId: U2, clientOrderId: 'c', qtyLots: 2 });
      h.cancel({ userId: U2, clientOrderId: 'c' });
      assert.equal(new Set(h.log.map((e) => e.kind)).size, 9, 'the session produced every event kind');
      const written = new EventWriter();
      for (const e of h.log) encodeEvent(written, e);
      const again = new EventWriter(1);
      for (const e of decodeEvents(written.views, written.count)) encodeEvent(again, e);
      assert.equal(again.count, h.log.length);
      assert.deepEqual(
        again.views.u8.subarray(0, again.count * RECORD_BYTES),
        written.views.u8.subarray(0, written.count * RECORD_BYTES),
      );
    });

    it('refuses an unknown event kind and an index outside the buffer', () => {
      const w = new EventWriter(1);
      encodeEvent(w, events[0]!);
      for (const kind of [0, 99, 200]) {
        w.views.u8[0] = kind;
        assert.throws(() => decodeEvent(w.views, 0), RecordError);
      }
      assert.throws(() => decodeEvent(w.views, -1), RecordError);
      assert.throws(() => decodeEvent(w.views, w.views.records), RecordError);
    });

    it('refuses to write an event with a client order id that does not fit', () => {
      const w = new EventWriter(1);
      const accepted = events[0] as Extract<BookEvent, { kind: 'OrderAccepted' }>;
      assert.throws(() => encodeEvent(w, { ...accepted, clientOrderId: 'z'.repeat(37) }), RecordError);
      assert.throws(() => encodeEvent(w, { ...accepted, clientOrderId: '\u00fc' }), RecordError);
    });

    it('keeps every earlier record when the writer grows beyond its initial capacity', () => {
      const w = new EventWriter(1);
      const first = w.views;
      const many: BookEvent[] = [];
      for (let i = 0; i < 100; i++)
        many.push({ ...events[i % events.length]!, seq: seq(i + 1) } as BookEvent);
      for (const e of many) encodeEvent(w, e);
      assert.equal(w.count, 100);
      assert.ok(w.views.records >= 100);
      assert.notEqual(w.views, first, 'the views are replaced on growth');
      assert.deepEqual(decodeEvents(w.views, w.count), many);
    });

    it('forgets its records on reset and writes from the start again', () => {
      const w = new EventWriter(4);
      encodeEvent(w, events[0]!);
      encodeEvent(w, events[1]!);
      w.reset();
      assert.equal(w.count, 0);
      encodeEvent(w, events[2]!);
      assert.equal(w.count, 1);
      assert.deepEqual(decodeEvents(w.views, w.count), [events[2]]);
      assert.deepEqual(
        decodeEvents(w.views, 1, 1),
        [events[1]],
        'older bytes are not cleared, only forgotten',
      );
    });
  });
});
