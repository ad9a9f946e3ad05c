/**
 * The order view's store of closed orders (gateway/orders/closed-orders.ts): every field comes
 * back as it went in (large numbers, client order ids of any shape), and against a reference
 * LRU of objects in Maps (what the store replaced), random closes and lookups give the same
 * answers: by order id, by client order id (the latest close answers), per user and symbol,
 * and the same orders leave, least recently used first. With a ring too small for the dead
 * slots that uses leave, it keeps fewer orders, never a wrong one.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OrderType, Side, StpMode, TimeInForce } from '../../engine/index.ts';
import { ClosedOrders } from '../../gateway/orders/closed-orders.ts';
import type { OrderSnapshot, OrderStatus } from '../../gateway/orders/order-state.ts';

function order(f: Partial<OrderSnapshot> & Pick<OrderSnapshot, 'orderId'>): OrderSnapshot {
  return {
    symbolId: 0,
    userId: 7,
    clientOrderId: '',
    prevClientOrderId: '',
    side: Side.BUY,
    orderType: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    stpMode: StpMode.EXPIRE_MAKER,
    priceTicks: 5_000_000,
    qtyLots: 1_000,
    quoteQtyUnits: 0,
    executedLots: 0,
    cumQuoteUnits: 0,
    preventedLots: 0,
    preventedMatchId: -1,
    remainingLots: 0,
    status: 'CANCELED',
    expiryReason: 0,
    timeMicros: 1_764_000_000_000_000,
    updateTimeMicros: 1_764_000_000_500_000,
    workingTimeMicros: 1_764_000_000_000_000,
    lastSeq: 12,
    ...f,
  };
}

/** The store it replaced, kept as the reference: objects in Maps, least recently used first. */
class ReferenceLru {
  private readonly byId = new Map<string, OrderSnapshot>();
  private readonly byCid = new Map<string, string>();
  constructor(private readonly capacity: number) {}
  private static id(symbolId: number, orderId: number): string {
    return `${symbolId}|${orderId}`;
  }
  private static cid(o: Pick<OrderSnapshot, 'userId' | 'symbolId' | 'clientOrderId'>): string {
    return `${o.userId}|${o.symbolId}|${o.clientOrderId}`;
  }
  get size(): number {
    return this.byId.size;
  }
  add(o: OrderSnapshot): void {
    if (this.capacity === 0) return;
    const id = ReferenceLru.id(o.symbolId, o.orderId);
    if (this.byId.has(id)) this.drop(id);
    this.byId.set(id, o);
    if (o.clientOrderId !== '') this.byCid.set(ReferenceLru.cid(o), id);
    if (this.byId.size > this.capacity) this.drop(this.byId.keys().next().value!);
  }
  private drop(id: string): void {
    const o = this.byId.get(id)!;
    this.byId.delete(id);
    const k = ReferenceLru.cid(o);
    if (this.byCid.get(k) === id) this.byCid.delete(k);
  }
  private refresh(id: string): OrderSnapshot {
    const o = this.byId.get(id)!;
    this.byId.delete(id);
    this.byId.set(id, o);
    return o;
  }
  use(userId: number, symbolId: number, orderId: number): OrderSnapshot | undefined {
    const id = ReferenceLru.id(symbolId, orderId);
    const o = this.byId.get(id);
    return o !== undefined && o.userId === userId ? this.refresh(id) : undefined;
  }
  useByClientOrderId(userId: number, symbolId: number, clientOrderId: string): OrderSnapshot | undefined {
    const id = this.byCid.get(ReferenceLru.cid({ userId, symbolId, clientOrderId }));
    return id === undefined ? undefined : this.refresh(id);
  }
  recent(userId: number, symbolId: number): OrderSnapshot[] {
    return [...this.byId.values()].filter((o) => o.userId === userId && o.symbolId === symbolId);
  }
  all(): OrderSnapshot[] {
    return [...this.byId.values()];
  }
}

const byOrderId = (a: OrderSnapshot, b: OrderSnapshot) => a.symbolId - b.symbolId || a.orderId - b.orderId;

type Op =
  | { t: 'close'; user: number; symbol: number; cid: string; status: OrderStatus; executed: number }
  | { t: 'use'; user: number; symbol: number; back: number }
  | { t: 'useCid'; user: number; symbol: number; cid: string }
  | { t: 'recent'; user: number; symbol: number };

const users = [1, 2, 3, 2 ** 40 + 5];
const cids = ['', 'a', 'b', 'x'.repeat(36), 'y'.repeat(37), 'é1'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('close' as const),
      user: fc.constantFrom(...users),
      symbol: fc.integer({ min: 0, max: 2 }),
      cid: fc.constantFrom(...cids),
      status: fc.constantFrom<OrderStatus>('FILLED', 'CANCELED', 'EXPIRED', 'EXPIRED_IN_MATCH'),
      executed: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('use' as const),
      user: fc.constantFrom(...users),
      symbol: fc.integer({ min: 0, max: 2 }),
      back: fc.integer({ min: 0, max: 30 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('useCid' as const),
      user: fc.constantFrom(...users),
      symbol: fc.integer({ min: 0, max: 2 }),
      cid: fc.constantFrom(...cids),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('recent' as const),
      user: fc.constantFrom(...users),
      symbol: fc.integer({ min: 0, max: 2 }),
    }),
  },
);

/** Runs `ops` on a store and the reference; `check` compares each answer (store, reference), `onClose` sees each order closed. */
function drive(
  store: ClosedOrders,
  ref: ReferenceLru,
  ops: readonly Op[],
  check: (got: unknown, want: unknown, what: string) => void,
  onClose: (o: OrderSnapshot) => void = () => {},
): void {
  let nextId = 1;
  for (const op of ops) {
    if (op.t === 'close') {
      const o = order({
        orderId: nextId++ * 7919,
        userId: op.user,
        symbolId: op.symbol,
        clientOrderId: op.cid,
        prevClientOrderId: op.cid === '' ? '' : `p${op.cid}`.slice(0, 40),
        status: op.status,
        executedLots: op.executed,
        lastSeq: nextId,
      });
      store.add(o);
      ref.add(o);
      onClose(o);
    } else if (op.t === 'use') {
      const orderId = Math.max(1, nextId - 1 - op.back) * 7919;
      check(store.use(op.user, op.symbol, orderId), ref.use(op.user, op.symbol, orderId), `use ${orderId}`);
    } else if (op.t === 'useCid') {
      check(
        store.useByClientOrderId(op.user, op.symbol, op.cid),
        ref.useByClientOrderId(op.user, op.symbol, op.cid),
        `use by cid ${op.cid}`,
      );
    } else {
      const recent = store.recent(op.user, op.symbol);
      for (const o of recent)
        assert.deepEqual(
          [o.userId, o.symbolId],
          [op.user, op.symbol],
          'recent: the user and symbol asked for',
        );
      check(
        recent.sort(byOrderId),
        ref.recent(op.user, op.symbol).sort(byOrderId),
        `recent ${op.user} ${op.symbol}`,
      );
    }
  }
}

describe('closed orders', () => {
  it('gives back every field as it went in: numbers up to 2^53, every shape of client order id', () => {
    const store = new ClosedOrders(10);
    const samples = [
      order({ orderId: 1, clientOrderId: 'web_1a2b3c', prevClientOrderId: 'old-id:2/x_y.z' }),
      order({
        orderId: 2 ** 53 - 1,
        symbolId: 1023,
        userId: 2 ** 40 + 3,
        clientOrderId: 'x'.repeat(36),
        side: Side.SELL,
        orderType: OrderType.MARKET,
        timeInForce: TimeInForce.NONE,
        stpMode: StpMode.NONE,
        priceTicks: 0,
        qtyLots: 0,
        quoteQtyUnits: 2 ** 53 - 2,
        executedLots: 2 ** 52 + 1,
        cumQuoteUnits: 2 ** 53 - 3,
        preventedLots: 17,
        preventedMatchId: 2 ** 45,
        status: 'EXPIRED_IN_MATCH',
        expiryReason: 3,
        lastSeq: 2 ** 50,
      }),
      order({ orderId: 3, clientOrderId: 'y'.repeat(37), prevClientOrderId: 'ünï' }),
      order({ orderId: 4, status: 'FILLED', remainingLots: 0, executedLots: 1_000 }),
    ];
    for (const o of samples) store.add(o);
    for (const o of samples) assert.deepEqual(store.get(o.symbolId, o.orderId), o);
    assert.deepEqual(store.useByClientOrderId(7, 0, 'y'.repeat(37)), samples[2]);
    assert.deepEqual(store.useByClientOrderId(2 ** 40 + 3, 1023, 'x'.repeat(36)), samples[1]);
    assert.equal(store.useByClientOrderId(7, 0, ''), undefined, 'no order answers for an empty id');
    assert.equal(store.use(8, 0, 1), undefined, "another user's order");
    assert.equal(store.get(0, 5), undefined);
    assert.equal(store.size, 4);
  });

  it('keeps nothing at capacity 0', () => {
    const store = new ClosedOrders(0);
    store.add(order({ orderId: 1, clientOrderId: 'a' }));
    assert.equal(store.size, 0);
    assert.equal(store.get(0, 1), undefined);
    assert.equal(store.useByClientOrderId(7, 0, 'a'), undefined);
    assert.deepEqual(store.recent(7, 0), []);
  });

  it('drops the least recently used first: a use moves an order to the most recent end', () => {
    const store = new ClosedOrders(3);
    for (let id = 1; id <= 3; id++) store.add(order({ orderId: id, clientOrderId: `c${id}` }));
    assert.ok(store.use(7, 0, 1), 'order 1 used: now the most recent');
    store.add(order({ orderId: 4 }));
    assert.equal(store.get(0, 2), undefined, 'order 2 was the least recently used');
    assert.ok(store.useByClientOrderId(7, 0, 'c3'), 'order 3 used by its client order id');
    store.add(order({ orderId: 5 }));
    store.add(order({ orderId: 6 }));
    assert.deepEqual(
      store
        .recent(7, 0)
        .map((o) => o.orderId)
        .sort(),
      [3, 5, 6],
    );
    assert.equal(store.size, 3);
  });

  it("lists a user's recent orders without straying into a slot another order has taken since", () => {
    // Capacity 3 in 4 slots: a use leaves a dead slot, so a close can reuse the slot of an
    // order whose user still has a newer one kept (the chain's link to it is then stale).
    const store = new ClosedOrders(3, 4);
    store.add(order({ orderId: 1, userId: 1 }));
    store.add(order({ orderId: 2, userId: 2 }));
    store.add(order({ orderId: 3, userId: 1 }));
    assert.ok(store.use(2, 0, 2), 'order 2 moves to a new slot; its old one is dead');
    store.add(order({ orderId: 4, userId: 2 }));
    assert.equal(store.get(0, 1), undefined, 'order 1 left; order 4 took its slot');
    assert.deepEqual(
      store.recent(1, 0).map((o) => o.orderId),
      [3],
    );
    assert.deepEqual(
      store
        .recent(2, 0)
        .map((o) => o.orderId)
        .sort(),
      [2, 4],
    );
  });

  it('answers a client order id with the latest order closed with it, until that one leaves', () => {
    const store = new ClosedOrders(4);
    store.add(order({ orderId: 1, clientOrderId: 'same' }));
    store.add(order({ orderId: 2, clientOrderId: 'same' }));
    assert.equal(store.useByClientOrderId(7, 0, 'same')?.orderId, 2);
    assert.ok(store.use(7, 0, 1), 'using the older one by id ...');
    assert.equal(
      store.useByClientOrderId(7, 0, 'same')?.orderId,
      2,
      '... does not make it answer for the id',
    );
    assert.equal(store.useByClientOrderId(7, 1, 'same'), undefined, 'another symbol');
    assert.equal(store.useByClientOrderId(8, 0, 'same'), undefined, 'another user');
  });

  it('agrees with a reference LRU of objects on every answer, through random closes and lookups', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(opArb, { maxLength: 300 }), (capacity, ops) => {
        // A ring with room for every dead slot: exactly the reference's behaviour.
        const store = new ClosedOrders(capacity, capacity + ops.length + 1);
        const ref = new ReferenceLru(capacity);
        drive(store, ref, ops, (got, want, what) => assert.deepEqual(got, want, what));
        assert.equal(store.size, ref.size);
        for (const o of ref.all()) assert.deepEqual(store.get(o.symbolId, o.orderId), o);
      }),
      { numRuns: 300 },
    );
  });

  it('with the smallest ring, keeps fewer orders under many uses but never answers wrongly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(opArb, { maxLength: 300 }), (capacity, ops) => {
        const store = new ClosedOrders(capacity, capacity + 1);
        // What each order closed as, and the latest close per client order id: any answer the
        // store gives must be one of these (it may have let an order go early: no answer).
        const closed = new Map<string, OrderSnapshot>();
        const latest = new Map<string, OrderSnapshot>();
        const onClose = (o: OrderSnapshot) => {
          closed.set(`${o.symbolId}|${o.orderId}`, o);
          if (o.clientOrderId !== '') latest.set(`${o.userId}|${o.symbolId}|${o.clientOrderId}`, o);
        };
        const check = (got: unknown, _want: unknown, what: string) => {
          if (got === undefined) return;
          const answers = Array.isArray(got) ? (got as OrderSnapshot[]) : [got as OrderSnapshot];
          for (const o of answers) assert.deepEqual(o, closed.get(`${o.symbolId}|${o.orderId}`), what);
          if (what.startsWith('use by cid')) {
            const o = got as OrderSnapshot;
            assert.deepEqual(o, latest.get(`${o.userId}|${o.symbolId}|${o.clientOrderId}`), what);
          }
          if (Array.isArray(got)) assert.equal(new Set(answers.map((o) => o.orderId)).size, answers.length);
        };
        drive(store, new ReferenceLru(capacity), ops, check, onClose);
        assert.ok(store.size <= capacity);
        for (const o of closed.values()) {
          const kept = store.get(o.symbolId, o.orderId);
          if (kept !== undefined) assert.deepEqual(kept, o);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps working through millions of closes: slots and both tables wrap around cleanly', () => {
    const store = new ClosedOrders(1_000);
    for (let id = 1; id <= 200_000; id++) {
      store.add(order({ orderId: id, userId: 1 + (id % 50), clientOrderId: `c${id % 3_000}` }));
      if (id % 7 === 0) store.use(1 + ((id - 500) % 50), 0, id - 500);
    }
    assert.equal(store.size, 1_000);
    let found = 0;
    for (let id = 190_000; id <= 200_000; id++) if (store.get(0, id) !== undefined) found++;
    assert.ok(found >= 850 && found <= 1_000, `kept ${found} of the last orders`);
    assert.equal(store.get(0, 200_000)?.orderId, 200_000);
    assert.equal(store.useByClientOrderId(1 + (200_000 % 50), 0, `c${200_000 % 3_000}`)?.orderId, 200_000);
  });
});
