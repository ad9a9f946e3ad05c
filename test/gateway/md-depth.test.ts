/**
 * Depth from the event stream: the L2 book equals the engine's own, level for level, after
 * random command streams; update ids advance by exactly one per command that changes a
 * book; and a client following Binance's documented algorithm (snapshot + buffered diffs)
 * rebuilds exactly the engine's book from either diff stream.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { eventKindAt, isLastEvent, type RecordViews } from '../../engine/index.ts';
import { DepthTracker } from '../../gateway/market-data/depth-book.ts';
import { MarketFormat } from '../../gateway/market-data/numbers.ts';
import {
  BTCUSDT,
  Collector,
  commandArb,
  type DepthDiff,
  ETHBTC,
  fundedEngine,
  Harness,
  loadMarkets,
  placements,
  run,
  type Snapshot,
  SyncClient,
  toCommand,
} from './md-helpers.ts';

const markets = loadMarkets();
const formats = markets.list.map((m) => new MarketFormat(m));

/** Feeds a tracker the way MarketData does: book events, then the end of each command. */
function feeder(tracker: DepthTracker): (v: RecordViews, from: number, count: number) => void {
  return (v, from, count) => {
    for (let i = from; i < from + count; i++) {
      tracker.apply(v, i, eventKindAt(v, i));
      if (isLastEvent(v, i)) tracker.endCommand();
    }
  };
}

/** The engine's L2 of a symbol, formatted as Binance writes it. */
function engineLevels(engine: ReturnType<typeof fundedEngine>, symbol: number): Snapshot {
  const fmt = formats[symbol]!;
  const l2 = engine.books[symbol]!.l2();
  const f = (levels: readonly (readonly [number, number])[]): [string, string][] =>
    levels.map(([p, l]) => [fmt.price(p), fmt.qty(l)]);
  return { lastUpdateId: 0, bids: f(l2.bids), asks: f(l2.asks) };
}

describe('market data: depth book', () => {
  it('equals the engine L2 level for level after random command streams, and clients rebuild it from snapshot + diffs', () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { minLength: 1, maxLength: 250 }),
        fc.nat(),
        fc.array(fc.integer({ min: 0, max: 250 }), { minLength: 250, maxLength: 250 }),
        (commands, snapshotSeed, gaps) => {
          const engine = fundedEngine(markets);
          const out = new Collector();
          const tracker = new DepthTracker(formats, out.emit);
          const listen = feeder(tracker);
          const snapshotAt = snapshotSeed % commands.length;
          const symbols = [BTCUSDT, ETHBTC];
          // One client per symbol and diff stream.
          const clients = new Map<string, SyncClient>();
          for (const s of symbols) {
            clients.set(`${formats[s]!.stream}@depth@100ms`, new SyncClient());
            clients.set(`${formats[s]!.stream}@depth`, new SyncClient());
          }
          const deliver = (): void => {
            for (const m of out.messages) clients.get(m.stream)?.onDiff(JSON.parse(m.payload) as DepthDiff);
            out.clear();
          };
          let now = 1_700_000_000_000;
          let placed = 0;
          const ids = new Map<number, number>();
          for (let c = 0; c < commands.length; c++) {
            const input = toCommand(commands[c]!, placed);
            placed += placements(input);
            const before = symbols.map((s) => tracker.books[s]!.updateId);
            const l2Before = symbols.map((s) => JSON.stringify(engine.books[s]!.l2()));
            run(engine, input, now * 1000, listen);
            // Exactly one more id for the symbol whose book changed, none for the others.
            symbols.forEach((s, k) => {
              const changed = JSON.stringify(engine.books[s]!.l2()) !== l2Before[k];
              const delta = tracker.books[s]!.updateId - before[k]!;
              if (changed) assert.equal(delta, 1, `command ${c} changed ${formats[s]!.symbol}'s book`);
              else assert.ok(delta <= 1);
              ids.set(s, tracker.books[s]!.updateId);
            });
            const next = now + gaps[c]!;
            if (Math.floor(next / 100) !== Math.floor(now / 100)) tracker.flushDiffs(100, next);
            if (Math.floor(next / 1000) !== Math.floor(now / 1000)) tracker.flushDiffs(1000, next);
            now = next;
            deliver();
            if (c === snapshotAt) {
              for (const s of symbols) {
                // Through JSON, as a REST client would receive it.
                const snap = JSON.parse(JSON.stringify(tracker.books[s]!.snapshot(5000))) as Snapshot;
                clients.get(`${formats[s]!.stream}@depth@100ms`)!.onSnapshot(snap);
                clients.get(`${formats[s]!.stream}@depth`)!.onSnapshot(snap);
              }
            }
          }
          tracker.flushDiffs(100, now + 1000);
          tracker.flushDiffs(1000, now + 1000);
          deliver();
          for (const s of symbols) {
            const expected = engineLevels(engine, s);
            const snap = tracker.books[s]!.snapshot(5000);
            assert.deepEqual(snap.bids, expected.bids, `${formats[s]!.symbol} bids`);
            assert.deepEqual(snap.asks, expected.asks, `${formats[s]!.symbol} asks`);
            assert.deepEqual(tracker.books[s]!.bids.levels(), engine.books[s]!.l2().bids);
            assert.deepEqual(tracker.books[s]!.asks.levels(), engine.books[s]!.l2().asks);
            for (const stream of [`${formats[s]!.stream}@depth@100ms`, `${formats[s]!.stream}@depth`]) {
              const local = clients.get(stream)!.levels();
              assert.deepEqual(local.bids, expected.bids, `${stream} client bids`);
              assert.deepEqual(local.asks, expected.asks, `${stream} client asks`);
            }
          }
          // Every open order is followed, none leaked.
          const open = symbols.reduce((n, s) => n + engine.books[s]!.orderCount, 0);
          assert.equal(tracker.openOrders, open);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('through MarketData (listener, clock ticks, REST snapshot): clients on @depth@100ms end with the engine book', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ command: commandArb, gap: fc.constantFrom(0, 7, 60, 101, 999, 2500) }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.nat(),
        (steps, snapshotSeed) => {
          const h = new Harness();
          const client = new SyncClient();
          const snapshotAt = snapshotSeed % steps.length;
          for (let i = 0; i < steps.length; i++) {
            h.advance(steps[i]!.gap);
            h.submit(toCommand(steps[i]!.command, h.placed));
            for (const d of h.out.of<DepthDiff>('btcusdt@depth@100ms')) client.onDiff(d);
            h.out.clear();
            if (i === snapshotAt) {
              const snap = h.md.depthSnapshot('BTCUSDT', 5000);
              assert.ok(snap.ok);
              client.onSnapshot(JSON.parse(JSON.stringify(snap.value)) as Snapshot);
            }
          }
          h.advance(200);
          for (const d of h.out.of<DepthDiff>('btcusdt@depth@100ms')) client.onDiff(d);
          const expected = engineLevels(h.engine, BTCUSDT);
          const local = client.levels();
          assert.deepEqual(local.bids, expected.bids);
          assert.deepEqual(local.asks, expected.asks);
          const snap = h.md.depthSnapshot('BTCUSDT', 5000);
          assert.ok(snap.ok);
          assert.deepEqual([snap.value.bids, snap.value.asks], [expected.bids, expected.asks]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
