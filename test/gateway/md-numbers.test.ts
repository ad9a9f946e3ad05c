/**
 * Market data's integer arithmetic and decimal strings: Binance's 8 decimals, exact wide
 * sums past 2^53, rounding of the percent change and of the weighted average price, and the
 * event field accessors against the engine's own decoder.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEvent, type EngineEvent, eventKindAt, OrderIndex } from '../../engine/index.ts';
import {
  kindOf,
  S,
  seqOf,
  sideOf,
  slot,
  symbolOf,
  tsMicrosOf,
} from '../../gateway/market-data/event-fields.ts';
import { formatUnits, MarketFormat, WideSum } from '../../gateway/market-data/numbers.ts';
import {
  BTCUSDT,
  commandArb,
  ETHBTC,
  fundedEngine,
  loadMarkets,
  placements,
  toCommand,
} from './md-helpers.ts';

const markets = loadMarkets();
const btc = new MarketFormat(markets.list[BTCUSDT]!);
const ethbtc = new MarketFormat(markets.list[ETHBTC]!);

describe('market data numbers', () => {
  it('writes prices and quantities with 8 decimals (or the market precision when finer)', () => {
    assert.equal(btc.price(5_000_000), '50000.00000000');
    assert.equal(btc.price(1), '0.01000000');
    assert.equal(btc.qty(1), '0.00001000');
    assert.equal(ethbtc.price(5000), '0.05000000');
    assert.equal(ethbtc.qty(1500), '1.50000000');
    assert.equal(formatUnits(-5, 2, 8), '-0.05000000');
    assert.equal(formatUnits(12345, 0, 8), '12345.00000000');
    assert.equal(formatUnits(7, 10, 10), '0.0000000007');
    assert.equal(btc.zeroPrice, '0.00000000');
  });

  it('keeps sums exact past Number.MAX_SAFE_INTEGER', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { maxLength: 50 }), (xs) => {
        const w = new WideSum();
        for (const x of xs) w.add(x);
        assert.equal(
          w.big(),
          xs.reduce((s, x) => s + BigInt(x), 0n),
        );
        const half = new WideSum();
        for (const x of xs.slice(0, xs.length >> 1)) half.add(x);
        w.subWide(half.hi, half.lo);
        assert.equal(
          w.big(),
          xs.slice(xs.length >> 1).reduce((s, x) => s + BigInt(x), 0n),
        );
      }),
    );
  });

  it('rounds the percent change to 3 decimals, halves away from zero', () => {
    assert.equal(btc.percent(5_000_000, 5_001_000), '0.020');
    // 1/8 % = 0.125 exactly -> 0.125; 1/16 % = 0.0625 -> 0.063 (half up); -0.0625 -> -0.063.
    assert.equal(btc.percent(800, 801), '0.125');
    assert.equal(btc.percent(1600, 1601), '0.063');
    assert.equal(btc.percent(1600, 1599), '-0.063');
    assert.equal(btc.percent(9900, 100), '-98.990');
    assert.equal(btc.percent(0, 100), '0.000');
  });

  it('writes the weighted average price with the price decimals, rounded half up', () => {
    // 35001 USDT / 0.7 BTC = 50001.428571428...
    const q = new WideSum();
    q.add(35001 * 10 ** 8);
    const v = new WideSum();
    v.add(70_000);
    assert.equal(btc.weightedAverage(q.hi, q.lo, v.hi, v.lo), '50001.42857143');
    // 2 USDT / 3 BTC = 0.666666666... -> 0.66666667.
    const q2 = new WideSum();
    q2.add(2 * 10 ** 8);
    const v2 = new WideSum();
    v2.add(300_000);
    assert.equal(btc.weightedAverage(q2.hi, q2.lo, v2.hi, v2.lo), '0.66666667');
    assert.equal(btc.weightedAverage(0, 0, 0, 0), '0.00000000');
  });

  it('reads every field it uses exactly as the engine decoder does', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 80 }), (commands) => {
        const engine = fundedEngine(markets);
        let placed = 0;
        for (const c of commands) {
          const input = toCommand(c, placed);
          placed += placements(input);
          try {
            engine.submit(input, 1_700_000_000_123_456);
          } catch {
            continue;
          }
          const v = engine.out.views;
          for (let i = 0; i < engine.out.count; i++) {
            const e: EngineEvent = decodeEvent(v, i);
            assert.equal(kindOf(v, i), eventKindAt(v, i));
            assert.equal(seqOf(v, i), e.seq);
            assert.equal(tsMicrosOf(v, i), e.tsMicros);
            switch (e.kind) {
              case 'OrderAccepted':
                assert.deepEqual(
                  [symbolOf(v, i), sideOf(v, i), slot(v, i, S.ORDER), slot(v, i, S.PRICE), slot(v, i, S.QTY)],
                  [e.symbolId, e.side, e.orderId, e.priceTicks, e.qtyLots],
                );
                break;
              case 'TradeExecuted':
                assert.deepEqual(
                  [
                    symbolOf(v, i),
                    sideOf(v, i),
                    slot(v, i, S.ORDER),
                    slot(v, i, S.PRICE),
                    slot(v, i, S.QTY),
                    slot(v, i, S.TRADE_ID),
                    slot(v, i, S.TAKER_REMAINING),
                    slot(v, i, S.MAKER_ORDER),
                    slot(v, i, S.MAKER_REMAINING),
                  ],
                  [
                    e.symbolId,
                    e.takerSide,
                    e.takerOrderId,
                    e.priceTicks,
                    e.qtyLots,
                    e.tradeId,
                    e.takerRemainingLots,
                    e.makerOrderId,
                    e.makerRemainingLots,
                  ],
                );
                break;
              case 'OrderCanceled':
                assert.deepEqual(
                  [sideOf(v, i), slot(v, i, S.ORDER), slot(v, i, S.PRICE), slot(v, i, S.QTY)],
                  [e.side, e.orderId, e.priceTicks, e.canceledLots],
                );
                break;
              case 'OrderExpired':
                assert.deepEqual([slot(v, i, S.ORDER), slot(v, i, S.QTY)], [e.orderId, e.expiredLots]);
                break;
              case 'OrderAmended':
                assert.deepEqual(
                  [slot(v, i, S.ORDER), slot(v, i, S.PRICE), slot(v, i, S.AMEND_REMAINING)],
                  [e.orderId, e.priceTicks, e.remainingLots],
                );
                break;
              case 'SelfTradePrevented':
                assert.deepEqual(
                  [
                    slot(v, i, S.ORDER),
                    slot(v, i, S.PRICE),
                    slot(v, i, S.TAKER_REMAINING),
                    slot(v, i, S.MAKER_ORDER),
                    slot(v, i, S.MAKER_REMAINING),
                    slot(v, i, S.MAKER_PREVENTED),
                  ],
                  [
                    e.takerOrderId,
                    e.priceTicks,
                    e.takerRemainingLots,
                    e.makerOrderId,
                    e.makerRemainingLots,
                    e.makerPreventedLots,
                  ],
                );
                break;
              default:
                break;
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('order slots (open-addressing map of order ids)', () => {
  it('agrees with a Map under random inserts, lookups and deletes, across growth', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom('set', 'set', 'delete', 'get'),
            // Small ids collide often; large ones exercise both 32-bit halves of the hash.
            id: fc.oneof(
              fc.integer({ min: 1, max: 64 }),
              fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
            ),
            slot: fc.integer({ min: 0, max: 1 << 20 }),
          }),
          { maxLength: 400 },
        ),
        (ops) => {
          const slots = new OrderIndex(4);
          const map = new Map<number, number>();
          for (const o of ops) {
            if (o.op === 'set') {
              slots.set(o.id, o.slot);
              map.set(o.id, o.slot);
            } else if (o.op === 'delete') {
              assert.equal(slots.delete(o.id), map.delete(o.id));
            } else {
              assert.equal(slots.get(o.id), map.get(o.id) ?? -1);
            }
            assert.equal(slots.count, map.size);
          }
          for (const [id, slot] of map) assert.equal(slots.get(id), slot);
          assert.deepEqual(
            entriesOf(slots).sort((a, b) => a[0] - b[0]),
            [...map].sort((a, b) => a[0] - b[0]),
          );
        },
      ),
    );
  });
});

/** Every [id, slot] of an index. */
function entriesOf(index: OrderIndex): [number, number][] {
  const out: [number, number][] = [];
  index.forEach((k, v) => {
    out.push([k, v]);
  });
  return out;
}
