/**
 * Property tests: for random command sequences the typed-array order book and the naive
 * reference book produce the same events and the same book; the book is never crossed;
 * quantity is conserved per order; FIFO holds within every level; a book restored from a
 * snapshot carries on exactly like the original.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type BookCommand,
  type BookEvent,
  type CancelReplaceMode,
  decodeEvents,
  defineMarket,
  EventWriter,
  type L3,
  type Market,
  OrderBook,
  OrderType,
  orderId,
  type Side,
  type StpMode,
  seq,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { ReferenceBook } from './reference-book.ts';

const assets = new Map([
  ['XXX', { asset: 'XXX', scale: 0 }],
  ['YYY', { asset: 'YYY', scale: 2 }],
]);

/** A small market where random orders cross often: prices 0.01..10.00, whole lots. */
const market: Market = defineMarket(
  0,
  {
    symbol: 'XXXYYY',
    baseAsset: 'XXX',
    quoteAsset: 'YYY',
    tickSize: '0.01',
    stepSize: '1',
    minPrice: '0.01',
    maxPrice: '10',
    minQty: '1',
    maxQty: '1000',
    minNotional: '0.05',
    maxNotional: '5000',
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
  },
  assets,
);

type Op =
  | {
      t: 'place' | 'cancelReplace';
      user: number;
      side: Side;
      type: OrderType;
      tif: TimeInForce;
      price: number;
      qty: number;
      quote: number;
      stp: StpMode;
      cid: 'none' | 'fresh' | 'reuse';
      target: number;
      mode: number;
      restriction: number;
      budget: number;
    }
  | { t: 'cancel'; user: number; target: number; by: 'id' | 'cid' | 'both'; restriction: number }
  | { t: 'cancelAll'; user: number }
  | { t: 'amend'; user: number; target: number; price: number; qty: number; newCid: boolean };

const price = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 95, max: 105 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1001, 1.5, Number.NaN) },
);
const qty = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 1, max: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2000, 2.5, -4) },
);
const stp = fc.constantFrom<StpMode>(0, 1, 2, 3, 4, 255, 255, 255, 0, 0);

function placeArb(t: 'place' | 'cancelReplace', users: number) {
  return fc
    .record({
      user: fc.integer({ min: 1, max: users }),
      side: fc.constantFrom<Side>(0, 1),
      kind: fc.constantFrom(
        'GTC',
        'GTC',
        'GTC',
        'IOC',
        'FOK',
        'MARKET',
        'MARKET_QUOTE',
        'LIMIT_MAKER',
        'BAD',
      ),
      price,
      qty,
      quote: fc.integer({ min: 1, max: 4000 }),
      budget: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
      stp,
      cid: fc.constantFrom<'none' | 'fresh' | 'reuse'>('none', 'fresh', 'fresh', 'reuse'),
      target: fc.nat(),
      mode: fc.constantFrom(0, 1, 0, 1, 7),
      restriction: fc.constantFrom(0, 0, 0, 1, 2),
    })
    .map((r): Op => {
      const base = {
        ...r,
        t,
        tif: TimeInForce.GTC as TimeInForce,
        type: OrderType.LIMIT as OrderType,
        quote: 0,
      };
      switch (r.kind) {
        case 'IOC':
          return { ...base, tif: TimeInForce.IOC };
        case 'FOK':
          return { ...base, tif: TimeInForce.FOK };
        case 'MARKET':
          return { ...base, type: OrderType.MARKET, tif: TimeInForce.NONE, price: 0 };
        case 'MARKET_QUOTE':
          return { ...base, type: OrderType.MARKET, tif: TimeInForce.NONE, price: 0, qty: 0, quote: r.quote };
        case 'LIMIT_MAKER':
          return { ...base, type: OrderType.LIMIT_MAKER, tif: TimeInForce.NONE };
        case 'BAD':
          return { ...base, type: OrderType.MARKET, tif: TimeInForce.GTC };
        default:
          return base;
      }
    });
}

function opArb(users: number): fc.Arbitrary<Op> {
  const user = fc.integer({ min: 1, max: users });
  return fc.oneof(
    { weight: 12, arbitrary: placeArb('place', users) },
    { weight: 2, arbitrary: placeArb('cancelReplace', users) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('cancel' as const),
        user,
        target: fc.nat(),
        by: fc.constantFrom<'id' | 'cid' | 'both'>('id', 'id', 'cid', 'both'),
        restriction: fc.constantFrom(0, 0, 0, 1, 2, 9),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('cancelAll' as const), user }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('amend' as const),
        user,
        target: fc.nat(),
        price: fc.oneof(fc.constant(0), price),
        qty,
        newCid: fc.boolean(),
      }),
    },
  );
}

/** Turns op descriptors into sequenced commands (order id = seq, as the sequencer does). */
function toCommands(ops: readonly Op[]): BookCommand[] {
  const issued: { id: number; user: number; cid: string }[] = [];
  const cmds: BookCommand[] = [];
  ops.forEach((op, i) => {
    const n = i + 1;
    const stamped = {
      seq: seq(n),
      tsMicros: 1_000_000 + n * 10,
      symbolId: symbolId(0),
      userId: userId(op.user),
    };
    const target = 'target' in op && issued.length > 0 ? issued[op.target % issued.length] : undefined;
    switch (op.t) {
      case 'place':
      case 'cancelReplace': {
        const reuse = issued.filter((x) => x.user === op.user && x.cid !== '');
        const cid =
          op.cid === 'none'
            ? ''
            : op.cid === 'fresh' || reuse.length === 0
              ? `c${n}`
              : reuse[op.target % reuse.length]!.cid;
        const place = {
          ...stamped,
          orderId: orderId(n),
          side: op.side,
          orderType: op.type,
          timeInForce: op.tif,
          stpMode: op.stp,
          priceTicks: op.price,
          qtyLots: op.qty,
          quoteQtyUnits: op.quote,
          clientOrderId: cid,
          ...(op.type === OrderType.MARKET && op.budget > 0 ? { budgetUnits: op.budget } : {}),
        };
        issued.push({ id: n, user: op.user, cid });
        if (op.t === 'place') cmds.push({ kind: 'PlaceOrder', ...place });
        else
          cmds.push({
            kind: 'CancelReplaceOrder',
            ...place,
            cancelOrderId: orderId(target?.id ?? 0),
            cancelClientOrderId: target === undefined ? 'nothing' : '',
            cancelReplaceMode: op.mode as CancelReplaceMode,
            cancelRestriction: op.restriction as 0,
          });
        return;
      }
      case 'cancel':
        cmds.push({
          kind: 'CancelOrder',
          ...stamped,
          orderId: orderId(op.by === 'cid' ? 0 : (target?.id ?? 999_999)),
          clientOrderId: op.by === 'id' ? '' : target?.cid || 'missing',
          cancelRestriction: op.restriction as 0,
        });
        return;
      case 'cancelAll':
        cmds.push({ kind: 'CancelAllOrders', ...stamped });
        return;
      case 'amend':
        cmds.push({
          kind: 'AmendOrder',
          ...stamped,
          orderId: orderId(target?.id ?? 1),
          clientOrderId: '',
          priceTicks: op.price,
          qtyLots: op.qty,
          newClientOrderId: op.newCid ? `a${n}` : '',
        });
        if (op.newCid && target !== undefined) target.cid = `a${n}`;
        return;
    }
  });
  return cmds;
}

function run(book: OrderBook, cmd: BookCommand, w: EventWriter): BookEvent[] {
  w.reset();
  book.execute(cmd, w);
  return decodeEvents(w.views, w.count) as BookEvent[];
}

function assertNotCrossed(book: OrderBook): void {
  const bid = book.bestBidTicks();
  const ask = book.bestAskTicks();
  if (bid !== 0 && ask !== 0) assert.ok(bid < ask, `crossed book: bid ${bid} >= ask ${ask}`);
}

function assertFifo(l3: L3): void {
  for (const level of [...l3.bids, ...l3.asks]) {
    let total = 0;
    for (let i = 0; i < level.orders.length; i++) {
      total += level.orders[i]!.remainingLots;
      if (i > 0)
        assert.ok(level.orders[i - 1]!.tsMicros <= level.orders[i]!.tsMicros, 'FIFO broken within a level');
    }
    assert.equal(total, level.totalLots, 'level total differs from the sum of its orders');
  }
}

/** Per-order quantity ledger built from events alone. */
class QuantityLedger {
  private readonly orders = new Map<number, { total: number; out: number }>();

  apply(e: BookEvent): void {
    const reduce = (id: number, lots: number, remainingAfter: number) => {
      const o = this.orders.get(id);
      if (o === undefined) return; // quote-budget orders carry no lot quantity
      o.out += lots;
      assert.equal(
        o.total - o.out,
        remainingAfter,
        `order ${id}: remaining in event disagrees with the ledger`,
      );
    };
    switch (e.kind) {
      case 'OrderAccepted':
        if (e.qtyLots > 0) this.orders.set(e.orderId, { total: e.qtyLots, out: 0 });
        break;
      case 'TradeExecuted':
        reduce(e.takerOrderId, e.qtyLots, e.takerRemainingLots);
        reduce(e.makerOrderId, e.qtyLots, e.makerRemainingLots);
        break;
      case 'SelfTradePrevented':
        reduce(e.takerOrderId, e.takerPreventedLots, e.takerRemainingLots);
        reduce(e.makerOrderId, e.makerPreventedLots, e.makerRemainingLots);
        break;
      case 'OrderCanceled':
        reduce(e.orderId, e.canceledLots, 0);
        break;
      case 'OrderExpired':
        reduce(e.orderId, e.expiredLots, 0);
        break;
      case 'OrderAmended': {
        const o = this.orders.get(e.orderId)!;
        o.total = e.qtyLots;
        assert.equal(o.total - o.out, e.remainingLots, `order ${e.orderId}: amended remaining disagrees`);
        break;
      }
      default:
        break;
    }
  }

  /** Every order's quantity is accounted for: what left it plus what rests equals its total. */
  check(l3: L3): void {
    const resting = new Map<number, number>();
    for (const level of [...l3.bids, ...l3.asks])
      for (const o of level.orders) resting.set(o.orderId, o.remainingLots);
    for (const [id, o] of this.orders) {
      assert.equal(o.out + (resting.get(id) ?? 0), o.total, `order ${id}: quantity not conserved`);
    }
  }
}

function checkAgainstReference(cmds: readonly BookCommand[]): void {
  const book = new OrderBook(market, { initialOrders: 16 });
  const ref = new ReferenceBook(market);
  const w = new EventWriter(2);
  const ledger = new QuantityLedger();
  for (const cmd of cmds) {
    const events = run(book, cmd, w);
    const expected = ref.execute(cmd);
    assert.deepStrictEqual(events, expected, `events differ for ${JSON.stringify(cmd)}`);
    assert.ok(events.length >= 1, 'every command yields at least one event');
    for (const e of events) {
      assert.equal(e.seq, cmd.seq, 'events carry the seq of their command');
      ledger.apply(e);
    }
    assertNotCrossed(book);
    const l3 = book.l3();
    assert.deepStrictEqual(l3, ref.l3(), `books differ after ${JSON.stringify(cmd)}`);
    assertFifo(l3);
  }
  ledger.check(book.l3());
}

describe('order book properties', () => {
  it('produces the same events and book as the reference model, never crossed, FIFO, quantity conserved', () => {
    fc.assert(
      fc.property(fc.array(opArb(4), { minLength: 1, maxLength: 120, size: 'max' }), (ops) => {
        checkAgainstReference(toCommands(ops));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the reference when one or two users trade with themselves a lot (self-trade prevention)', () => {
    fc.assert(
      fc.property(fc.array(opArb(2), { minLength: 1, maxLength: 80, size: 'max' }), (ops) => {
        checkAgainstReference(toCommands(ops));
      }),
      { numRuns: 200 },
    );
  });

  it('carries on exactly like the original after a restore from its exported state', () => {
    fc.assert(
      fc.property(fc.array(opArb(3), { minLength: 2, maxLength: 100, size: 'max' }), fc.nat(), (ops, cut) => {
        const cmds = toCommands(ops);
        const at = cut % cmds.length;
        const a = new OrderBook(market);
        const w = new EventWriter(4);
        for (const c of cmds.slice(0, at)) run(a, c, w);
        const b = OrderBook.restore(market, a.exportState());
        assert.deepStrictEqual(b.l3(), a.l3());
        const w2 = new EventWriter(4);
        for (const c of cmds.slice(at)) {
          assert.deepStrictEqual(run(b, c, w2), run(a, c, w));
          assert.deepStrictEqual(b.l3(), a.l3());
        }
      }),
      { numRuns: 150 },
    );
  });
});
