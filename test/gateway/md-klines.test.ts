/**
 * Klines: Binance's alignment of every interval (weeks on Mondays, calendar months, 3d on
 * multiples of three days since the epoch, time zones), and, after random trading over
 * hours and days, streamed klines and REST klines that equal klines recomputed from the
 * trades the stream carried.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Side } from '../../engine/index.ts';
import {
  baseInterval,
  INTERVALS,
  type Interval,
  klineOpen,
  nextOpen,
  parseTimeZone,
} from '../../gateway/market-data/klines.ts';
import { BTCUSDT, Harness } from './md-helpers.ts';

const H = 3_600_000;
const D = 24 * H;

/** Binance's alignment, written independently of klines.ts (calendar arithmetic). */
function expectedOpen(interval: Interval, ms: number, offsetMs: number): number {
  const d = new Date(ms + offsetMs);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  if (interval === '1M') return Date.UTC(y, mo, 1) - offsetMs;
  if (interval === '1w') return Date.UTC(y, mo, day - ((d.getUTCDay() + 6) % 7)) - offsetMs;
  const unit = interval.slice(-1);
  const n = Number(interval.slice(0, -1));
  const len = n * { s: 1000, m: 60_000, h: H, d: D }[unit as 's' | 'm' | 'h' | 'd'];
  return Math.floor((ms + offsetMs) / len) * len - offsetMs;
}

/** The open time of the kline after the one opening at `open`. */
function expectedNext(interval: Interval, open: number, offsetMs: number): number {
  if (interval === '1M') {
    const d = new Date(open + offsetMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - offsetMs;
  }
  if (interval === '1w') return open + 7 * D;
  return open + lengthOf(interval);
}

function lengthOf(interval: Interval): number {
  const n = Number(interval.slice(0, -1));
  return (
    n *
    { s: 1000, m: 60_000, h: H, d: D, w: 7 * D, M: 0 }[
      interval.slice(-1) as 's' | 'm' | 'h' | 'd' | 'w' | 'M'
    ]
  );
}

/** "50000.00000000" -> 5000000000000n (units of 1e-8). */
const units8 = (s: string): bigint => BigInt(s.replace('.', ''));
const fmt8 = (u: bigint): string => {
  const t = u.toString().padStart(9, '0');
  return `${t.slice(0, -8)}.${t.slice(-8)}`;
};

interface TradeMsg {
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
}

interface K {
  t: number;
  T: number;
  f: number;
  L: number;
  o: string;
  c: string;
  h: string;
  l: string;
  v: string;
  n: number;
  q: string;
  V: string;
  Q: string;
}

/** Klines with trades, recomputed from the trades. */
function recompute(trades: TradeMsg[], interval: Interval, offsetMs: number): K[] {
  const by = new Map<number, TradeMsg[]>();
  for (const tr of trades) {
    const open = expectedOpen(interval, tr.T, offsetMs);
    by.set(open, [...(by.get(open) ?? []), tr]);
  }
  return [...by.keys()]
    .sort((a, b) => a - b)
    .map((open) => {
      const ts = by.get(open)!;
      const sorted = ts.map((x) => units8(x.p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const sum = (xs: bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
      const quote = (x: TradeMsg): bigint => (units8(x.p) * units8(x.q)) / 100_000_000n;
      const buys = ts.filter((x) => !x.m);
      return {
        t: open,
        T: expectedNext(interval, open, offsetMs) - 1,
        f: ts[0]!.t,
        L: ts.at(-1)!.t,
        o: ts[0]!.p,
        c: ts.at(-1)!.p,
        h: fmt8(sorted.at(-1)!),
        l: fmt8(sorted[0]!),
        v: fmt8(sum(ts.map((x) => units8(x.q)))),
        n: ts.length,
        q: fmt8(sum(ts.map(quote))),
        V: fmt8(sum(buys.map((x) => units8(x.q)))),
        Q: fmt8(sum(buys.map(quote))),
      };
    });
}

describe('market data: klines', () => {
  describe('alignment', () => {
    it('opens weeks on Monday 00:00 UTC, months on the 1st, 3d klines on multiples of 3 days since the epoch', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), (ms) => {
          const w = new Date(klineOpen('1w', ms));
          assert.deepEqual([w.getUTCDay(), w.getUTCHours(), w.getUTCMinutes()], [1, 0, 0]);
          assert.ok(klineOpen('1w', ms) <= ms && ms < nextOpen('1w', klineOpen('1w', ms)));
          const m = new Date(klineOpen('1M', ms));
          assert.deepEqual([m.getUTCDate(), m.getUTCHours()], [1, 0]);
          assert.ok(ms < nextOpen('1M', klineOpen('1M', ms)));
          assert.equal(klineOpen('3d', ms) % (3 * D), 0);
          for (const i of INTERVALS) assert.equal(klineOpen(i, ms), expectedOpen(i, ms, 0), i);
        }),
      );
    });

    it('places boundaries in a time zone: every interval, offsets -12:00..+14:00', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 86_400_000, max: 4_000_000_000_000 }),
          fc.integer({ min: -12 * 4, max: 14 * 4 }),
          (ms, quarters) => {
            const off = quarters * 15 * 60_000;
            for (const i of INTERVALS) assert.equal(klineOpen(i, ms, off), expectedOpen(i, ms, off), i);
          },
        ),
      );
    });

    it("parses Binance's timeZone values and refuses the rest", () => {
      assert.deepEqual(
        ['0', '8', '4', '-1:00', '05:45', '+14:00', '-12:00', '+8', '-0'].map(parseTimeZone),
        [0, 480, 240, -60, 345, 840, -720, 480, -0],
      );
      for (const bad of ['+14:01', '-12:30', '15', '8:60', 'UTC', '', '1:5', '08:00:00']) {
        assert.equal(parseTimeZone(bad), null, bad);
      }
    });

    it('builds a shifted interval from the largest stored one whose boundaries do not move', () => {
      assert.equal(baseInterval('1d', 8 * H), '8h');
      assert.equal(baseInterval('1d', 0), '1d');
      assert.equal(baseInterval('1h', 5.75 * H), '15m');
      assert.equal(baseInterval('4h', 1 * H), '1h');
      assert.equal(baseInterval('1w', 0), '1w');
      assert.equal(baseInterval('1w', -5 * H), '1h');
      assert.equal(baseInterval('1M', 9 * H), '1h');
      assert.equal(baseInterval('3d', 0), '3d');
      assert.equal(baseInterval('1m', 5.75 * H), '1m');
    });
  });

  it('streams klines (last message per open time) and answers REST klines equal to klines recomputed from the trades', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gap: fc.constantFrom(0, 1, 400, 1500, 30_000, 70_000, 20 * 60_000, 3 * H, 26 * H, 4 * D),
            side: fc.constantFrom(Side.BUY, Side.SELL),
            price: fc.integer({ min: 0, max: 8 }),
            lots: fc.integer({ min: 1, max: 40 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.constantFrom(0, 8 * 60, -150, 345, 840),
        async (steps, zoneMinutes) => {
          // Start on a Sunday evening in late January, so weeks and months turn over.
          const h = new Harness({}, Date.UTC(2024, 0, 28, 20, 0, 0));
          for (const s of steps) {
            h.advance(s.gap);
            const price = `${50000 + s.price}.00`;
            const qty = `0.${String(s.lots * 100).padStart(5, '0')}`;
            h.limit(1, BTCUSDT, s.side === Side.BUY ? Side.SELL : Side.BUY, price, qty);
            h.marketOrder(2, BTCUSDT, s.side, qty);
          }
          const trades = h.out.of<TradeMsg>('btcusdt@trade');
          assert.ok(trades.length >= steps.length);
          for (const interval of INTERVALS) {
            const expected = recompute(trades, interval, 0);
            const last = new Map<number, K & { x: boolean }>();
            for (const m of h.out.of<{ k: K & { x: boolean; i: string } }>(`btcusdt@kline_${interval}`)) {
              last.set(m.k.t, m.k);
            }
            const withTrades = [...last.values()].filter((k) => k.n > 0).sort((a, b) => a.t - b.t);
            const pick = (k: K): K => ({
              t: k.t,
              T: k.T,
              f: k.f,
              L: k.L,
              o: k.o,
              c: k.c,
              h: k.h,
              l: k.l,
              v: k.v,
              n: k.n,
              q: k.q,
              V: k.V,
              Q: k.Q,
            });
            assert.deepEqual(withTrades.map(pick), expected.map(pick), `stream ${interval}`);
            // Every kline but the newest has been sent closed.
            const newest = Math.max(...last.keys());
            for (const [t, k] of last) if (t !== newest) assert.equal(k.x, true, `${interval} ${t} closed`);
            // REST, UTC and in the zone: the klines with trades are the recomputed ones, and
            // the empty ones between them carry the previous close.
            for (const zone of [0, zoneMinutes]) {
              const off = zone * 60_000;
              const tz = `${zone < 0 ? '-' : ''}${Math.floor(Math.abs(zone) / 60)}:${String(Math.abs(zone) % 60).padStart(2, '0')}`;
              const r = await h.md.klinesQuery('BTCUSDT', { interval, limit: 1000, timeZone: tz });
              assert.ok(r.ok);
              const rest = r.value;
              const want = recompute(trades, interval, off);
              const firstWanted = want.findIndex((k) => k.t >= (rest[0]?.[0] ?? 0));
              const got = rest.filter((k) => k[8] > 0);
              assert.deepEqual(
                got.map((k) => [k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10]]),
                want.slice(firstWanted).map((k) => [k.t, k.o, k.h, k.l, k.c, k.v, k.T, k.q, k.n, k.V, k.Q]),
                `REST ${interval} at ${tz}`,
              );
              for (let i = 1; i < rest.length; i++) {
                assert.equal(rest[i]![0], (rest[i - 1]![6] as number) + 1, `${interval} continuous`);
                if (rest[i]![8] === 0)
                  assert.equal(rest[i]![1], rest[i - 1]![4], `${interval} empty at the close`);
              }
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
