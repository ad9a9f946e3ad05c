/**
 * Memory and the trade store together: a builder that keeps only a few trades and klines,
 * asking the trade store for the rest, answers trades, historicalTrades, aggTrades and
 * klines exactly like a builder that holds every trade in memory.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEvents, Side } from '../../engine/index.ts';
import { MarketData } from '../../gateway/market-data/market-data.ts';
import type { HistoricTrade, TradeHistorySource } from '../../gateway/market-data/trades.ts';
import { BTCUSDT, Collector, ETHBTC, Harness } from './md-helpers.ts';

describe('market data: memory plus the trade store', () => {
  it('answers like a builder holding every trade', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gap: fc.constantFrom(0, 5, 700, 20_000, 400_000),
            symbol: fc.constantFrom(BTCUSDT, ETHBTC),
            side: fc.constantFrom(Side.BUY, Side.SELL),
            // Makers at up to three prices, each one or two orders: aggregates of several trades.
            makers: fc.array(
              fc.record({ tick: fc.integer({ min: 0, max: 2 }), lots: fc.integer({ min: 1, max: 9 }) }),
              {
                minLength: 1,
                maxLength: 5,
              },
            ),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
        async (steps, picks) => {
          const store: HistoricTrade[] = [];
          const bySymbol = (symbol: string): HistoricTrade[] =>
            store.filter((t) => (t as HistoricTrade & { symbol: string }).symbol === symbol);
          const history: TradeHistorySource = {
            olderTrades: async (symbol, start, end) =>
              bySymbol(symbol).filter((t) => t.tsMicros >= start && t.tsMicros <= end),
            tradesFromId: async (symbol, fromId, limit) =>
              bySymbol(symbol)
                .filter((t) => t.tradeId >= fromId)
                .slice(0, limit),
          };
          const h = new Harness({ history, tradeCapacity: 4, klineCapacity: 2 });
          const all = new MarketData({
            markets: h.markets,
            clock: h.clock,
            onMessage: new Collector().emit,
            afterSeq: h.md.lastSeq,
            closeDelayMillis: 0,
          });
          h.others.push(all);
          // The persister's view: every trade, with its symbol and order ids.
          h.taps.push((v, from, count) => {
            for (const e of decodeEvents(v, count, from)) {
              if (e.kind !== 'TradeExecuted') continue;
              const buy = e.takerSide === Side.BUY;
              store.push({
                symbol: h.markets.list[e.symbolId]!.symbol,
                tradeId: e.tradeId,
                priceTicks: e.priceTicks,
                qtyLots: e.qtyLots,
                tsMicros: e.tsMicros,
                takerSide: buy ? 'BUY' : 'SELL',
                buyerOrderId: buy ? e.takerOrderId : e.makerOrderId,
                sellerOrderId: buy ? e.makerOrderId : e.takerOrderId,
                seq: e.seq,
              } as HistoricTrade);
            }
          });
          for (const s of steps) {
            h.advance(s.gap);
            const btc = s.symbol === BTCUSDT;
            let total = 0;
            for (const m of s.makers) {
              const price = btc
                ? `${50000 + (s.side === Side.BUY ? m.tick : -m.tick)}.00`
                : `0.0500${m.tick}`;
              const lots = m.lots * (btc ? 100 : 10);
              total += lots;
              h.limit(
                1,
                s.symbol,
                s.side === Side.BUY ? Side.SELL : Side.BUY,
                price,
                btc ? `0.${String(lots).padStart(5, '0')}` : `${(lots / 1000).toFixed(3)}`,
              );
            }
            h.marketOrder(
              2,
              s.symbol,
              s.side,
              btc ? `0.${String(total).padStart(5, '0')}` : `${(total / 1000).toFixed(3)}`,
            );
          }
          for (const symbol of ['BTCUSDT', 'ETHBTC']) {
            const trades = bySymbol(symbol);
            const n = trades.length;
            const limit = 1 + (picks[0]! % 12);
            assert.deepEqual(
              await h.md.recentTrades(symbol, limit),
              await all.recentTrades(symbol, limit),
              'trades',
            );
            const fromId = 1 + (picks[1]! % (n + 2));
            assert.deepEqual(
              await h.md.historicalTrades(symbol, { fromId, limit }),
              await all.historicalTrades(symbol, { fromId, limit }),
              `historicalTrades from ${fromId}`,
            );
            assert.deepEqual(
              await h.md.aggTrades(symbol, { limit }),
              await all.aggTrades(symbol, { limit }),
              'aggTrades',
            );
            assert.deepEqual(
              await h.md.aggTrades(symbol, { fromId, limit }),
              await all.aggTrades(symbol, { fromId, limit }),
              `aggTrades from ${fromId}`,
            );
            if (n > 0) {
              const t = trades[picks[2]! % n]!;
              const startTime = Math.floor(t.tsMicros / 1000) - (picks[3]! % 3000);
              const q = { startTime, endTime: startTime + (picks[4]! % 3_600_000), limit };
              assert.deepEqual(
                await h.md.aggTrades(symbol, q),
                await all.aggTrades(symbol, q),
                'aggTrades by time',
              );
            }
            for (const interval of ['1s', '1m', '1h']) {
              const q = { interval, limit: 1 + (picks[5]! % 30) };
              assert.deepEqual(
                await h.md.klinesQuery(symbol, q),
                await all.klinesQuery(symbol, q),
                `klines ${interval}`,
              );
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
