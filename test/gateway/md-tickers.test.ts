/**
 * Rolling statistics: after random trading over days, every window (24 hours, windowSize
 * 1m..7d, the trading day in a time zone, the 5-minute average price) equals statistics
 * recomputed by brute force from the trades the stream carried, with exact integer sums and
 * Binance's rounding.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Side } from '../../engine/index.ts';
import type { Ticker24hFull, TickerWindowFull } from '../../gateway/market-data/tickers.ts';
import { parseWindowSize } from '../../gateway/market-data/tickers.ts';
import { BTCUSDT, Harness } from './md-helpers.ts';

interface TradeMsg {
  t: number;
  p: string;
  q: string;
  T: number;
}

const units8 = (s: string): bigint => BigInt(s.replace('.', ''));
const fmt = (u: bigint, scale = 8): string => {
  const neg = u < 0n;
  const t = (neg ? -u : u).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${t.slice(0, -scale)}.${t.slice(-scale)}`;
};
/** Rounds n/d half away from zero. */
const round = (n: bigint, d: bigint): bigint => {
  const neg = n < 0n;
  const a = neg ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return neg ? -q : q;
};

/** Brute-force statistics of the trades stamped from `startMs` on. */
function brute(
  trades: TradeMsg[],
  startMs: number,
): Omit<TickerWindowFull, 'symbol' | 'openTime' | 'closeTime'> & {
  prevClosePrice: string;
} {
  const inside = trades.filter((t) => t.T >= startMs);
  const before = trades.filter((t) => t.T < startMs);
  const last = trades.at(-1);
  const prev = before.at(-1)?.p ?? '0.00000000';
  if (inside.length === 0) {
    const p = last?.p ?? '0.00000000';
    return {
      priceChange: '0.00000000',
      priceChangePercent: '0.000',
      weightedAvgPrice: '0.00000000',
      prevClosePrice: prev,
      openPrice: p,
      highPrice: p,
      lowPrice: p,
      lastPrice: p,
      volume: '0.00000000',
      quoteVolume: '0.00000000',
      firstId: -1,
      lastId: -1,
      count: 0,
    };
  }
  const prices = inside.map((t) => units8(t.p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const vol = inside.reduce((s, t) => s + units8(t.q), 0n);
  const quote = inside.reduce((s, t) => s + (units8(t.p) * units8(t.q)) / 100_000_000n, 0n);
  const open = units8(inside[0]!.p);
  const close = units8(inside.at(-1)!.p);
  return {
    priceChange: fmt(close - open),
    priceChangePercent: fmt(round((close - open) * 100_000n, open), 3),
    weightedAvgPrice: fmt(round(quote * 100_000_000n, vol)),
    prevClosePrice: prev,
    openPrice: inside[0]!.p,
    highPrice: fmt(prices.at(-1)!),
    lowPrice: fmt(prices[0]!),
    lastPrice: inside.at(-1)!.p,
    volume: fmt(vol),
    quoteVolume: fmt(quote),
    firstId: inside[0]!.t,
    lastId: inside.at(-1)!.t,
    count: inside.length,
  };
}

describe('market data: rolling statistics', () => {
  it('parses windowSize as Binance does', () => {
    assert.deepEqual(
      ['1m', '59m', '1h', '23h', '1d', '7d', '15m', '4h'].map(parseWindowSize),
      [1, 59, 60, 1380, 1440, 10080, 15, 240],
    );
    for (const bad of ['0m', '60m', '24h', '8d', '1d2h', '1w', 'm', '01m', '1M', ' 1m']) {
      assert.equal(parseWindowSize(bad), null, bad);
    }
  });

  it('equals brute-force statistics of the trades for every window, in every time zone', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.constantFrom(
              0,
              10,
              20_000,
              61_000,
              7 * 60_000,
              50 * 60_000,
              5 * 3_600_000,
              20 * 3_600_000,
            ),
            side: fc.constantFrom(Side.BUY, Side.SELL),
            price: fc.integer({ min: 0, max: 50 }),
            lots: fc.integer({ min: 1, max: 90 }),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        fc.constantFrom('1m', '5m', '59m', '1h', '4h', '23h', '1d', '3d', '7d'),
        fc.constantFrom('0', '8', '-5:30', '14', '-12'),
        fc.integer({ min: 0, max: 90_000 }),
        (steps, windowSize, zone, tail) => {
          const h = new Harness();
          for (const s of steps) {
            h.advance(s.gap);
            const price = `${49975 + s.price}.${String(s.price * 7)
              .padStart(2, '0')
              .slice(-2)}`;
            const qty = `0.${String(s.lots * 37).padStart(5, '0')}`;
            h.limit(1, BTCUSDT, s.side === Side.BUY ? Side.SELL : Side.BUY, price, qty);
            h.marketOrder(2, BTCUSDT, s.side, qty);
          }
          h.advance(tail);
          const now = h.clock.ms;
          const minute = Math.floor(now / 60_000);
          const trades = h.out.of<TradeMsg>('btcusdt@trade');

          const day = h.md.ticker24hr('BTCUSDT');
          assert.ok(day.ok);
          const d = day.value as Ticker24hFull;
          const dayStart = (minute - 1440) * 60_000;
          const want = brute(trades, dayStart);
          assert.deepEqual(
            {
              priceChange: d.priceChange,
              priceChangePercent: d.priceChangePercent,
              weightedAvgPrice: d.weightedAvgPrice,
              prevClosePrice: d.prevClosePrice,
              openPrice: d.openPrice,
              highPrice: d.highPrice,
              lowPrice: d.lowPrice,
              lastPrice: d.lastPrice,
              volume: d.volume,
              quoteVolume: d.quoteVolume,
              firstId: d.firstId,
              lastId: d.lastId,
              count: d.count,
            },
            want,
          );
          assert.equal(d.lastPrice, trades.at(-1)!.p);
          assert.equal(d.lastQty, trades.at(-1)!.q);
          assert.deepEqual([d.openTime, d.closeTime], [dayStart, now]);

          const minutes = parseWindowSize(windowSize)!;
          const w = h.md.tickerWindow('BTCUSDT', windowSize);
          assert.ok(w.ok);
          const { prevClosePrice: _p, ...wantW } = brute(trades, (minute - minutes) * 60_000);
          assert.deepEqual(w.value, {
            symbol: 'BTCUSDT',
            ...wantW,
            openTime: (minute - minutes) * 60_000,
            closeTime: now,
          });

          const offset =
            (zone.startsWith('-') ? -1 : 1) * (zone.includes(':') ? 5.5 * 60 : Math.abs(Number(zone)) * 60);
          const td = h.md.tickerTradingDay('BTCUSDT', zone);
          assert.ok(td.ok);
          const dayOpen = Math.floor((now + offset * 60_000) / 86_400_000) * 86_400_000 - offset * 60_000;
          const { prevClosePrice: _q, ...wantD } = brute(trades, dayOpen);
          assert.deepEqual(td.value, {
            symbol: 'BTCUSDT',
            ...wantD,
            openTime: dayOpen,
            closeTime: dayOpen + 86_400_000 - 1,
          });

          const avg = h.md.avgPrice('BTCUSDT');
          assert.ok(avg.ok);
          const five = brute(trades, (minute - 5) * 60_000);
          assert.deepEqual(avg.value, {
            mins: 5,
            price: five.count > 0 ? five.weightedAvgPrice : trades.at(-1)!.p,
            closeTime: trades.at(-1)!.T,
          });

          // The last streamed 24-hour ticker agrees with REST at its own time.
          h.out.clear();
          h.advance(1000 - (h.clock.ms % 1000));
          const [t] = h.out.of<{ n: number; v: string; q: string; o: string; E: number }>('btcusdt@ticker');
          if (t !== undefined) {
            const at = brute(trades, (Math.floor(t.E / 60_000) - 1440) * 60_000);
            assert.deepEqual([t.n, t.v, t.q, t.o], [at.count, at.volume, at.quoteVolume, at.openPrice]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
