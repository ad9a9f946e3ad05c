/**
 * The book's fast-path internals: the direct-mapped order id index (with its spill map), the
 * user id -> slot hash, the EventWriter's header-less event methods (byte-identical records
 * to the methods that take the header, also over a reused buffer), and per-user order lists
 * for user ids above the directly indexed range.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DirectOrderIndex, UserSlots } from '../../engine/book/order-index.ts';
import {
  CancelReason,
  EventKind,
  EventWriter,
  ExpiryReason,
  OrderBook,
  OrderType,
  orderId,
  RECORD_BYTES,
  RecordViews,
  StpMode,
  seq,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { BUY, cancelAllCmd, execute, placeCmd, SELL, simpleMarket } from './helpers.ts';

type Op =
  | { op: 'set'; key: number; value: number }
  | { op: 'delete'; key: number }
  | { op: 'get'; key: number };

/** Keys that collide in a small direct-mapped table: equal low bits, ids past 2^32, large ids. */
const key = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 1, max: 40 }).map((i) => i * 128 + 3),
  fc.integer({ min: 2 ** 32 - 8, max: 2 ** 32 + 8 }),
  fc.integer({ min: Number.MAX_SAFE_INTEGER - 16, max: Number.MAX_SAFE_INTEGER }),
);
const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, value: fc.integer({ min: 0, max: 1 << 30 }) }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.record({ op: fc.constant('get' as const), key }),
  ),
  { maxLength: 400 },
);

describe('book internals', () => {
  it('DirectOrderIndex behaves as a Map under colliding ids, spilling and growing', () => {
    fc.assert(
      fc.property(ops, (list: Op[]) => {
        const index = new DirectOrderIndex(2);
        const ref = new Map<number, number>();
        for (const o of list) {
          if (o.op === 'set') {
            index.set(o.key, o.value);
            ref.set(o.key, o.value);
          } else if (o.op === 'delete') {
            assert.equal(index.delete(o.key), ref.delete(o.key));
          } else {
            assert.equal(index.get(o.key), ref.get(o.key) ?? -1);
          }
          assert.equal(index.count, ref.size);
        }
        for (const [k, v] of ref) assert.equal(index.get(k), v);
        assert.equal(index.get(0), -1);
      }),
      { numRuns: 300 },
    );
  });

  it('UserSlots assigns dense slots once and finds them after growth', () => {
    const users = new UserSlots(2);
    const ids = [7, 2 ** 20, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, 3, 2 ** 40];
    for (let i = 0; i < 500; i++) ids.push(2 ** 21 + i * 4096);
    for (const [i, id] of ids.entries()) assert.equal(users.slotOf(id), i);
    for (const [i, id] of ids.entries()) assert.equal(users.slotOf(id), i);
    for (const [i, id] of ids.entries()) assert.equal(users.get(id), i);
    assert.equal(users.get(8), -1);
    assert.equal(users.count, ids.length);
  });

  it('writes the same bytes through begin + header-less methods as through the header methods', () => {
    const ts = 1_732_000_000_123_456;
    const legacy = new EventWriter(1);
    const fresh = new EventWriter(1);
    // Dirty the reused writer first: client order ids, copied records, last-event flags.
    const junk = new RecordViews(new ArrayBuffer(RECORD_BYTES));
    junk.u8.fill(0xab);
    junk.u8[0] = EventKind.OrderAccepted;
    for (let k = 0; k < 8; k++) {
      fresh.accepted(9, 9, 1, 1, 1, 0, 9, 9, 0, 'dirty-client-order-id-0123456789abc');
      fresh.copyFrom(junk, 0);
      fresh.markLast();
    }
    fresh.reset();
    const write = (w: EventWriter, header: boolean): void => {
      const s = 77;
      const sym = 3;
      if (!header) w.begin(s, ts, sym);
      if (header)
        w.orderAccepted(s, ts, sym, 5, 11, BUY, OrderType.LIMIT, TimeInForce.GTC, 0, 100, 7, 0, 'abc');
      else w.accepted(5, 11, BUY, OrderType.LIMIT, TimeInForce.GTC, 0, 100, 7, 0, 'abc');
      if (header) w.trade(s, ts, sym, 1, 100, 3, BUY, 5, 11, 4, 6, 12, 0);
      else w.traded(1, 100, 3, BUY, 5, 11, 4, 6, 12, 0);
      if (header) w.orderCanceled(s, ts, sym, 5, 11, BUY, 100, 4, 3, CancelReason.USER, '');
      else w.canceled(5, 11, BUY, 100, 4, 3, CancelReason.USER, '');
      if (header) w.orderExpired(s, ts, sym, 5, 13, SELL, 2, 0, ExpiryReason.IOC);
      else w.expired(5, 13, SELL, 2, 0, ExpiryReason.IOC);
      if (header) w.orderAmended(s, ts, sym, 5, 11, BUY, 101, 7, 4, true, 'x-1');
      else w.amended(5, 11, BUY, 101, 7, 4, true, 'x-1');
      if (header) w.selfTradePrevented(s, ts, sym, 1, StpMode.EXPIRE_BOTH, 100, 5, 14, 2, 0, 11, 4, 0);
      else w.prevented(1, StpMode.EXPIRE_BOTH, 100, 5, 14, 2, 0, 11, 4, 0);
      if (header) w.rejected(EventKind.CancelRejected, s, ts, sym, 5, 99, 0, 0, 42, 'bad id!');
      else w.reject(EventKind.CancelRejected, 5, 99, 0, 0, 42, 'bad id!');
      w.markLast();
    };
    write(legacy, true);
    write(fresh, false);
    assert.equal(fresh.count, legacy.count);
    const n = legacy.count * RECORD_BYTES;
    assert.deepEqual(fresh.views.u8.subarray(0, n), legacy.views.u8.subarray(0, n));
    const fromCommand = new EventWriter(1);
    fromCommand.beginCommand({ seq: 77, tsMicros: ts, symbolId: 3 });
    fromCommand.expired(5, 13, SELL, 2, 0, ExpiryReason.IOC);
    assert.deepEqual(
      fromCommand.views.u8.subarray(0, RECORD_BYTES),
      legacy.views.u8.subarray(3 * RECORD_BYTES, 4 * RECORD_BYTES),
    );
  });

  it('keeps per-user order lists for user ids beyond the directly indexed range', () => {
    const book = new OrderBook(simpleMarket());
    const users = [userId(1), userId(2 ** 20 - 1), userId(2 ** 20), userId(2 ** 33 + 5), userId(2 ** 52)];
    let id = 1;
    for (let round = 0; round < 3; round++) {
      for (const u of users) {
        const events = execute(
          book,
          placeCmd({
            seq: seq(id),
            userId: u,
            orderId: orderId(id),
            side: BUY,
            priceTicks: 10 + id,
            qtyLots: 1,
          }),
        );
        assert.equal(events[0]!.kind, 'OrderAccepted');
        id++;
      }
    }
    for (const u of users) {
      assert.deepEqual(
        book.openOrdersOf(u).map((o) => o.orderId),
        [0, 1, 2].map((r) => r * users.length + users.indexOf(u) + 1),
      );
    }
    const canceled = execute(book, cancelAllCmd({ userId: users[3]! }));
    assert.deepEqual(
      canceled.map((e) => e.kind),
      ['OrderCanceled', 'OrderCanceled', 'OrderCanceled'],
    );
    assert.deepEqual(book.openOrdersOf(users[3]!), []);
    assert.equal(book.orderCount, 12);
    assert.equal(book.openOrdersOf(userId(2 ** 33 + 6)).length, 0);
    assert.equal(book.openOrdersOf(userId(5_000_000)).length, 0);
  });
});
