/**
 * State for the cache: a MarketData restored from another's state (through JSON, as Redis
 * would hold it) continues exactly where the first one was: the same payloads on every
 * stream from then on (so depth diffs go on with U = previous u + 1 and no client sees a
 * gap), the same REST answers; events it already holds are skipped; a gap in the event
 * stream is reported.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Side } from '../../engine/index.ts';
import { MarketData, type MarketDataState } from '../../gateway/market-data/market-data.ts';
import { BTCUSDT, Collector, commandArb, ETHBTC, Harness, toCommand } from './md-helpers.ts';

describe('market data state', () => {
  it('restores into a builder that then emits exactly what the original emits, and answers the same', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ command: commandArb, gap: fc.constantFrom(0, 3, 40, 130, 1100, 65_000, 3_700_000) }),
          { minLength: 2, maxLength: 120 },
        ),
        fc.nat(),
        async (steps, splitSeed) => {
          const h = new Harness();
          const split = 1 + (splitSeed % (steps.length - 1));
          let restored: MarketData | null = null;
          const second = new Collector();
          for (let i = 0; i < steps.length; i++) {
            if (i === split) {
              const saved = JSON.parse(JSON.stringify(h.md.state())) as MarketDataState;
              restored = new MarketData({
                markets: h.markets,
                clock: h.clock,
                onMessage: second.emit,
                closeDelayMillis: 0,
              });
              restored.restore(saved);
              h.others.push(restored);
              h.out.clear();
            }
            h.advance(steps[i]!.gap);
            h.submit(toCommand(steps[i]!.command, h.placed));
          }
          h.advance(1000);
          h.advance(60_000);
          assert.ok(restored !== null);
          assert.deepEqual(second.messages, h.out.messages);
          for (const symbol of ['BTCUSDT', 'ETHBTC']) {
            assert.deepEqual(restored.depthSnapshot(symbol, 5000), h.md.depthSnapshot(symbol, 5000));
            assert.deepEqual(
              await restored.recentTrades(symbol, 1000),
              await h.md.recentTrades(symbol, 1000),
            );
            assert.deepEqual(await restored.aggTrades(symbol, {}), await h.md.aggTrades(symbol, {}));
            for (const interval of ['1s', '1m', '1h', '1d', '1w']) {
              assert.deepEqual(
                await restored.klinesQuery(symbol, { interval }),
                await h.md.klinesQuery(symbol, { interval }),
              );
            }
            assert.deepEqual(restored.ticker24hr(symbol), h.md.ticker24hr(symbol));
            assert.deepEqual(restored.tickerWindow(symbol, '7d'), h.md.tickerWindow(symbol, '7d'));
          }
          assert.deepEqual(restored.state(), h.md.state());
        },
      ),
      { numRuns: 40 },
    );
  });

  it('skips events it already holds (seq <= the state seq)', () => {
    const h = new Harness();
    h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.10000');
    const id = h.md.updateId('BTCUSDT');
    // The same command's events delivered twice, as a resumed subscription may.
    h.md.listener(h.engine.out.views, 0, h.engine.out.count);
    assert.equal(h.md.updateId('BTCUSDT'), id);
    const snap = h.md.depthSnapshot('BTCUSDT');
    assert.ok(snap.ok);
    assert.deepEqual(snap.value.asks, [['50000.00000000', '0.10000000']]);
  });

  it('stops at a gap in the event stream, says why, and follows again once restored', () => {
    const faults: string[] = [];
    const h = new Harness({ onFault: (reason) => faults.push(reason) });
    h.limit(1, ETHBTC, Side.SELL, '0.05000', '1.000');
    const seq = h.md.lastSeq;
    // A command the builder never sees.
    h.engine.submit(
      { kind: 'CancelAllOrders', symbolId: h.markets.list[ETHBTC]!.symbolId, userId: 1 as never },
      h.clock.micros,
    );
    h.out.clear();
    h.limit(1, ETHBTC, Side.SELL, '0.05000', '1.000');
    assert.deepEqual(faults, [`events skip from seq ${seq + 1} to ${seq + 2}`]);
    assert.equal(h.md.fault, faults[0]);
    h.advance(1000);
    assert.deepEqual(h.out.messages, [], 'nothing is emitted once out of step');
    // A state taken by a builder that followed (here: rebuilt from the engine's own view).
    const fresh = new Harness();
    fresh.limit(1, ETHBTC, Side.SELL, '0.05000', '1.000');
    h.md.restore({ ...fresh.md.state(), seq: h.engine.sequencer.nextSeq - 1 });
    assert.equal(h.md.fault, null);
    const before = h.md.updateId('ETHBTC');
    h.limit(1, ETHBTC, Side.SELL, '0.05001', '1.000');
    assert.equal(h.md.fault, null);
    assert.equal(h.md.updateId('ETHBTC'), before + 1);
  });

  it('stops rather than throw into the core when events contradict its state', () => {
    const faults: string[] = [];
    const h = new Harness({ onFault: (reason) => faults.push(reason) });
    const id = h.limit(1, ETHBTC, Side.SELL, '0.05000', '1.000');
    // Forget the order, then let the engine amend it.
    const empty = new Harness();
    h.md.restore({ ...empty.md.state(), seq: h.md.lastSeq });
    assert.doesNotThrow(() =>
      h.submit({
        kind: 'AmendOrder',
        symbolId: h.markets.list[ETHBTC]!.symbolId,
        userId: 1 as never,
        orderId: id as never,
        clientOrderId: '',
        priceTicks: 0,
        qtyLots: 500,
        newClientOrderId: '',
      }),
    );
    assert.equal(faults.length, 1);
    assert.match(faults[0]!, /amend of order/);
  });

  it('refuses a state of another version', () => {
    const h = new Harness();
    assert.throws(() => h.md.restore({ ...h.md.state(), version: 2 as 1 }), /version 2/);
  });
});
