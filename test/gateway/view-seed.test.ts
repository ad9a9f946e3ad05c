/**
 * Seeding a gateway's order view at start (gateway/user-data/view-seed.ts): the hub holds the
 * event stream while the view is seeded from a history store at some seq, then applies exactly
 * the commands after it. A real engine (order-harness.ts) plays the commands; the store is a
 * fake that answers the open orders as they stood after any command, and whose progress the
 * test moves, so that the seed lands before, inside and after what the hub holds.
 */
import assert from 'node:assert/strict';
import { type EngineEvent, EventWriter, encodeEvent, type UserId } from '../../engine/index.ts';
import { orderTypeName, sideName, stpModeName, timeInForceName } from '../../gateway/orders/order-format.ts';
import type { OrderSnapshot } from '../../gateway/orders/order-state.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import { UserDataHub } from '../../gateway/user-data/user-data-hub.ts';
import {
  type SeededFeed,
  type SeedOrder,
  startSeededFeed,
  ViewSeedError,
} from '../../gateway/user-data/view-seed.ts';
import { ALICE, BOB, CAROL, Exchange, markets } from './order-harness.ts';

const USERS: readonly UserId[] = [ALICE, BOB, CAROL];

/** An open order as the persister's row has it. */
function rowOf(o: OrderSnapshot): SeedOrder {
  return {
    userId: o.userId,
    orderId: o.orderId,
    symbol: markets.byId(o.symbolId)!.symbol,
    side: sideName(o.side),
    type: orderTypeName(o.orderType),
    timeInForce: timeInForceName(o.timeInForce),
    stpMode: stpModeName(o.stpMode),
    priceTicks: o.priceTicks,
    qtyLots: o.qtyLots,
    quoteQtyUnits: o.quoteQtyUnits,
    clientOrderId: o.clientOrderId,
    status: o.status,
    executedLots: o.executedLots,
    cumQuoteUnits: o.cumQuoteUnits,
    expiryReason: null,
    updatedSeq: o.lastSeq,
    createdMicros: o.timeMicros,
    updatedMicros: o.updateTimeMicros,
  };
}

/** What a view says of every user's open orders (the fields a history row carries). */
function openOrders(view: OrderView) {
  return USERS.flatMap((u) =>
    view.openOrders(u).map((o) => ({
      userId: o.userId,
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      status: o.status,
      priceTicks: o.priceTicks,
      qtyLots: o.qtyLots,
      executedLots: o.executedLots,
      cumQuoteUnits: o.cumQuoteUnits,
      remainingLots: o.remainingLots,
    })),
  );
}

/**
 * A script of commands played on a real engine: after each, the open orders as the history
 * store would have them at that seq, and the command's events as the stream would carry them.
 */
class Script {
  readonly x = new Exchange();
  /** Seq -> the open orders once that command is written. */
  readonly rowsAt = new Map<number, SeedOrder[]>();
  /** The commands' events, in order. */
  readonly commands: EngineEvent[][] = [];

  constructor() {
    this.x.fund(ALICE, 'USDT', '100000');
    this.x.fund(BOB, 'BTC', '10');
    this.x.fund(CAROL, 'BTC', '10');
    this.x.fund(CAROL, 'USDT', '100000');
    this.record([]);
    const limit = (side: string, quantity: string, price: string, cid: string) => ({
      symbol: 'BTCUSDT',
      side,
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity,
      price,
      newClientOrderId: cid,
    });
    this.play(() => this.x.order(BOB, limit('SELL', '1', '50000', 'bob-1')).events);
    this.play(() => this.x.order(BOB, limit('SELL', '1', '51000', 'bob-2')).events);
    this.play(() => this.x.order(CAROL, limit('BUY', '0.5', '40000', 'carol-1')).events);
    this.play(() => this.x.order(ALICE, limit('BUY', '0.4', '50000', 'alice-1')).events);
    // From here on: after the gateway's start in the scenarios.
    this.play(() => this.x.order(ALICE, limit('BUY', '0.3', '50000', 'alice-2')).events);
    this.play(() => this.x.cancel(CAROL, { symbol: 'BTCUSDT', origClientOrderId: 'carol-1' }).events);
    this.play(() => this.x.order(CAROL, limit('BUY', '1.5', '50500', 'carol-2')).events);
  }

  /** The seq of command `i`. */
  seq(i: number): number {
    return this.commands[i]![0]!.seq;
  }

  /** The seq of the last command played before the scenarios' gateway starts. */
  get startSeq(): number {
    return this.seq(3);
  }

  private play(run: () => EngineEvent[]): void {
    const events = run();
    this.commands.push(events);
    this.record(events);
  }

  private record(events: readonly EngineEvent[]): void {
    const seq = events[0]?.seq ?? this.x.view.lastSeq;
    this.rowsAt.set(
      seq,
      USERS.flatMap((u) => this.x.view.openOrders(u).map(rowOf)),
    );
  }
}

/** A gateway starting in the middle of the script: its hub, view, stream and store. */
class Gateway {
  readonly view = new OrderView(markets);
  readonly hub = new UserDataHub({
    markets,
    view: this.view,
    balancesOf: () => [],
    clock: { nowMicros: () => 0 },
  });
  listener: ((views: EventWriter['views'], from: number, count: number) => void) | null = null;
  committed: number;
  reads = 0;
  readonly feed: SeededFeed;

  constructor(
    private readonly script: Script,
    committed: number,
    options: { timeoutMs?: number } = {},
  ) {
    this.committed = committed;
    this.feed = startSeededFeed({
      hub: this.hub,
      view: this.view,
      subscribe: (l) => {
        this.listener = l;
        return () => {
          this.listener = null;
        };
      },
      streamSeq: () => script.startSeq,
      store: {
        committedSeq: async () => this.committed,
        openOrders: async () => {
          this.reads++;
          return { seq: this.committed, orders: script.rowsAt.get(this.committed)! };
        },
      },
      pollMs: 1,
      ...options,
    });
  }

  /** The stream brings command `i` of the script (whole, in one batch). */
  deliver(i: number): void {
    const w = new EventWriter(64);
    for (const e of this.script.commands[i]!) encodeEvent(w, e);
    w.markLast();
    assert.ok(this.listener !== null, 'the hub is not subscribed');
    this.listener(w.views, 0, w.count);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('seeding the order view at a gateway start', () => {
  const script = new Script();
  const last = script.commands.length - 1;
  const final = openOrders(script.x.view);

  it('the script leaves open, partially filled and canceled orders to get right', () => {
    assert.deepEqual(
      final.map((o) => [o.clientOrderId, o.status, o.executedLots]),
      [
        ['bob-2', 'NEW', 0],
        ['carol-2', 'PARTIALLY_FILLED', 30_000],
      ],
    );
  });

  for (const [name, seedAt] of [
    ['the store reached exactly the stream: every held command is applied', 3],
    ['the store is inside what the hub held: only the later ones are applied', 4],
    ['the store has every held command: all are dropped', 5],
    ['the store ran ahead of the stream: a command it has is dropped when it arrives', 6],
  ] as const) {
    it(name, async () => {
      const gw = new Gateway(script, script.seq(seedAt));
      // Commands 4 and 5 arrive while the view is being seeded: held, not applied.
      gw.deliver(4);
      gw.deliver(5);
      assert.deepEqual(openOrders(gw.view), []);
      const result = await gw.feed.ready;
      assert.deepEqual(result, {
        seq: script.seq(seedAt),
        orders: script.rowsAt.get(script.seq(seedAt))!.length,
      });
      // Live from here.
      gw.deliver(last);
      assert.deepEqual(openOrders(gw.view), final);
      assert.equal(gw.hub.lastSeq, script.seq(last));
      gw.feed.close();
      assert.equal(gw.listener, null);
    });
  }

  it('seeds at the stream position when nothing arrived while seeding', async () => {
    const gw = new Gateway(script, script.startSeq);
    await gw.feed.ready;
    assert.deepEqual(
      openOrders(gw.view).map((o) => [o.clientOrderId, o.status, o.remainingLots]),
      [
        ['bob-1', 'PARTIALLY_FILLED', 60_000],
        ['bob-2', 'NEW', 100_000],
        ['carol-1', 'NEW', 50_000],
      ],
    );
    for (let i = 4; i <= last; i++) gw.deliver(i);
    assert.deepEqual(openOrders(gw.view), final);
    gw.feed.close();
  });

  it('waits for the store to reach the stream before reading the open orders', async () => {
    const gw = new Gateway(script, script.seq(1));
    let done = false;
    void gw.feed.ready.then(() => {
      done = true;
    });
    gw.deliver(4);
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(done, false);
    assert.equal(gw.reads, 0);
    gw.committed = script.seq(2);
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(done, false);
    // The first held command is command 4: the store must have command 3.
    gw.committed = script.seq(3);
    await gw.feed.ready;
    assert.equal(gw.reads, 1);
    for (let i = 5; i <= last; i++) gw.deliver(i);
    assert.deepEqual(openOrders(gw.view), final);
    gw.feed.close();
  });

  it('fails the start with a clear error when the store does not catch up', async () => {
    const gw = new Gateway(script, script.seq(1), { timeoutMs: 30 });
    await assert.rejects(
      gw.feed.ready,
      (e: Error) =>
        e instanceof ViewSeedError &&
        /committed up to seq \d+, the event stream starts after seq \d+, and it did not catch up within 30 ms/.test(
          e.message,
        ),
    );
    assert.equal(gw.reads, 0);
    gw.feed.close();
  });

  it('stops waiting when closed', async () => {
    const gw = new Gateway(script, script.seq(1));
    await tick();
    gw.feed.close();
    assert.deepEqual(await gw.feed.ready, { seq: 0, orders: 0 });
    assert.equal(gw.listener, null);
    assert.equal(gw.reads, 0);
  });
});
