/**
 * Market data streams as Binance documents them (web-socket-streams.md): every payload's
 * fields, in Binance's order, with Binance's spelling of numbers, for a small scripted
 * market on BTCUSDT. Stream names are Binance's: lower-case symbol, '@', the stream.
 */
import assert from 'node:assert/strict';
import { Side } from '../../engine/index.ts';
import { BTCUSDT, ETHUSDT, Harness } from './md-helpers.ts';

/** Keys of a parsed payload, in order. */
const keys = (o: object): string[] => Object.keys(o);

/**
 * The scripted market: three asks (two at 50000.00), one bid, then a market buy of 0.7 that
 * takes 0.5 and 0.1 at 50000.00 (one aggregate) and 0.1 at 50010.00 (another).
 */
function scripted(): { h: Harness; t0: number; tradeMs: number } {
  const h = new Harness();
  const t0 = h.clock.ms;
  h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.50000');
  h.limit(4, BTCUSDT, Side.SELL, '50000.00', '0.10000');
  h.limit(1, BTCUSDT, Side.SELL, '50010.00', '0.20000');
  h.limit(2, BTCUSDT, Side.BUY, '49990.00', '0.40000');
  h.advance(100);
  const tradeMs = h.clock.ms;
  h.marketOrder(3, BTCUSDT, Side.BUY, '0.70000');
  return { h, t0, tradeMs };
}

describe('market data streams (Binance payloads, field for field)', () => {
  it('sends <s>@trade for each trade: e, E, s, t, p, q, T, m, M with 8-decimal prices and quantities', () => {
    const { h, tradeMs } = scripted();
    const trades = h.out.messages.filter((m) => m.stream === 'btcusdt@trade').map((m) => m.payload);
    assert.deepEqual(trades, [
      `{"e":"trade","E":${tradeMs},"s":"BTCUSDT","t":1,"p":"50000.00000000","q":"0.50000000","T":${tradeMs},"m":false,"M":true}`,
      `{"e":"trade","E":${tradeMs},"s":"BTCUSDT","t":2,"p":"50000.00000000","q":"0.10000000","T":${tradeMs},"m":false,"M":true}`,
      `{"e":"trade","E":${tradeMs},"s":"BTCUSDT","t":3,"p":"50010.00000000","q":"0.10000000","T":${tradeMs},"m":false,"M":true}`,
    ]);
  });

  it('marks m (buyer is maker) true when the taker sells', () => {
    const h = new Harness();
    h.limit(1, BTCUSDT, Side.BUY, '50000.00', '0.10000');
    h.marketOrder(2, BTCUSDT, Side.SELL, '0.10000');
    const [t] = h.out.of<{ m: boolean }>('btcusdt@trade');
    assert.equal(t!.m, true);
    const [a] = h.out.of<{ m: boolean }>('btcusdt@aggTrade');
    assert.equal(a!.m, true);
  });

  it('sends one <s>@aggTrade per taker order and price, a = f (its first trade id), f..l consecutive', () => {
    const { h, tradeMs } = scripted();
    const aggs = h.out.messages.filter((m) => m.stream === 'btcusdt@aggTrade').map((m) => m.payload);
    assert.deepEqual(aggs, [
      `{"e":"aggTrade","E":${tradeMs},"s":"BTCUSDT","a":1,"p":"50000.00000000","q":"0.60000000","f":1,"l":2,"T":${tradeMs},"m":false,"M":true}`,
      `{"e":"aggTrade","E":${tradeMs},"s":"BTCUSDT","a":3,"p":"50010.00000000","q":"0.10000000","f":3,"l":3,"T":${tradeMs},"m":false,"M":true}`,
    ]);
  });

  it('sends <s>@depth@100ms diffs with U = previous u + 1 and "0.00000000" for a removed level', () => {
    const { h, t0 } = scripted();
    h.advance(100);
    const diffs = h.out.messages.filter((m) => m.stream === 'btcusdt@depth@100ms').map((m) => m.payload);
    assert.deepEqual(diffs, [
      `{"e":"depthUpdate","E":${t0 + 100},"s":"BTCUSDT","U":1,"u":4,"b":[["49990.00000000","0.40000000"]],"a":[["50000.00000000","0.60000000"],["50010.00000000","0.20000000"]]}`,
      `{"e":"depthUpdate","E":${t0 + 200},"s":"BTCUSDT","U":5,"u":5,"b":[],"a":[["50000.00000000","0.00000000"],["50010.00000000","0.10000000"]]}`,
    ]);
  });

  it('sends <s>@depth once a second covering the whole second', () => {
    const { h } = scripted();
    h.advance(1000);
    const [d] = h.out.of<{ e: string; U: number; u: number; b: unknown[]; a: unknown[] }>('btcusdt@depth');
    assert.deepEqual(keys(d!), ['e', 'E', 's', 'U', 'u', 'b', 'a']);
    assert.equal(d!.U, 1);
    assert.equal(d!.u, 5);
    assert.deepEqual(d!.a, [
      ['50000.00000000', '0.00000000'],
      ['50010.00000000', '0.10000000'],
    ]);
  });

  it('sends <s>@bookTicker {u, s, b, B, a, A} whenever the best bid or ask moves', () => {
    const { h } = scripted();
    const books = h.out.messages.filter((m) => m.stream === 'btcusdt@bookTicker').map((m) => m.payload);
    assert.deepEqual(books, [
      '{"u":1,"s":"BTCUSDT","b":"0.00000000","B":"0.00000000","a":"50000.00000000","A":"0.50000000"}',
      '{"u":2,"s":"BTCUSDT","b":"0.00000000","B":"0.00000000","a":"50000.00000000","A":"0.60000000"}',
      // u 3 (an ask behind the best) changes neither best level: nothing is sent.
      '{"u":4,"s":"BTCUSDT","b":"49990.00000000","B":"0.40000000","a":"50000.00000000","A":"0.60000000"}',
      '{"u":5,"s":"BTCUSDT","b":"49990.00000000","B":"0.40000000","a":"50010.00000000","A":"0.10000000"}',
    ]);
  });

  it('sends <s>@depth5|10|20 and their @100ms variants as {lastUpdateId, bids, asks}, every tick', () => {
    const { h } = scripted();
    h.out.clear();
    h.advance(1000);
    for (const n of [5, 10, 20]) {
      const fast = h.out.of<{ lastUpdateId: number; bids: string[][]; asks: string[][] }>(
        `btcusdt@depth${n}@100ms`,
      );
      const slow = h.out.of<{ lastUpdateId: number; bids: string[][]; asks: string[][] }>(
        `btcusdt@depth${n}`,
      );
      assert.equal(slow.length, 1, `one @depth${n} per second`);
      assert.ok(fast.length >= 1, `@depth${n}@100ms on the 100 ms tick`);
      assert.deepEqual(keys(slow[0]!), ['lastUpdateId', 'bids', 'asks']);
      assert.deepEqual(slow[0], {
        lastUpdateId: 5,
        bids: [['49990.00000000', '0.40000000']],
        asks: [['50010.00000000', '0.10000000']],
      });
    }
  });

  it('caps partial depth at its level count, best first', () => {
    const h = new Harness();
    for (let i = 0; i < 25; i++) h.limit(1, BTCUSDT, Side.SELL, `${50000 + i}.00`, '0.10000');
    h.advance(1000);
    const [five] = h.out.of<{ asks: string[][] }>('btcusdt@depth5');
    const [twenty] = h.out.of<{ asks: string[][] }>('btcusdt@depth20');
    assert.equal(five!.asks.length, 5);
    assert.equal(twenty!.asks.length, 20);
    assert.equal(five!.asks[0]![0], '50000.00000000');
    assert.equal(twenty!.asks[19]![0], '50019.00000000');
  });

  it('sends <s>@kline_<i> with every Binance field, live (x: false) and closed (x: true)', () => {
    const { h, tradeMs } = scripted();
    const open = Math.floor(tradeMs / 60_000) * 60_000;
    const lines = h.out.of<{ e: string; k: Record<string, unknown> }>('btcusdt@kline_1m');
    assert.equal(lines.length, 1);
    const k = lines[0]!;
    assert.deepEqual(keys(k), ['e', 'E', 's', 'k']);
    assert.deepEqual(keys(k.k), [
      't',
      'T',
      's',
      'i',
      'f',
      'L',
      'o',
      'c',
      'h',
      'l',
      'v',
      'n',
      'x',
      'q',
      'V',
      'Q',
      'B',
    ]);
    assert.deepEqual(k.k, {
      t: open,
      T: open + 59_999,
      s: 'BTCUSDT',
      i: '1m',
      f: 1,
      L: 3,
      o: '50000.00000000',
      c: '50010.00000000',
      h: '50010.00000000',
      l: '50000.00000000',
      v: '0.70000000',
      n: 3,
      x: false,
      q: '35001.00000000',
      V: '0.70000000',
      Q: '35001.00000000',
      B: '0',
    });
    h.advance(open + 60_000 - h.clock.ms);
    const closed = h.out.of<{ E: number; k: { x: boolean; n: number; t: number } }>('btcusdt@kline_1m');
    assert.equal(closed.length, 2);
    assert.deepEqual([closed[1]!.k.x, closed[1]!.k.n, closed[1]!.k.t], [true, 3, open]);
  });

  it('sends the empty kline that follows with f = L = -1, zero volumes and the previous close', () => {
    const { h, tradeMs } = scripted();
    const open = Math.floor(tradeMs / 1000) * 1000;
    h.advance(open + 1000 - h.clock.ms);
    h.advance(1000);
    const seconds = h.out.of<{ k: Record<string, unknown> }>('btcusdt@kline_1s');
    const empty = seconds.find((m) => m.k.t === open + 1000)!;
    assert.deepEqual(empty.k, {
      t: open + 1000,
      T: open + 1999,
      s: 'BTCUSDT',
      i: '1s',
      f: -1,
      L: -1,
      o: '50010.00000000',
      c: '50010.00000000',
      h: '50010.00000000',
      l: '50010.00000000',
      v: '0.00000000',
      n: 0,
      x: true,
      q: '0.00000000',
      V: '0.00000000',
      Q: '0.00000000',
      B: '0',
    });
  });

  it('sends <s>@ticker (24hrTicker) with Binance fields in order: change, percent to 3 decimals, weighted average, best levels', () => {
    const { h } = scripted();
    h.advance(1000);
    const now = h.clock.ms;
    const [t] = h.out.of<Record<string, unknown>>('btcusdt@ticker');
    assert.deepEqual(keys(t!), [
      'e',
      'E',
      's',
      'p',
      'P',
      'w',
      'x',
      'c',
      'Q',
      'b',
      'B',
      'a',
      'A',
      'o',
      'h',
      'l',
      'v',
      'q',
      'O',
      'C',
      'F',
      'L',
      'n',
    ]);
    assert.deepEqual(t, {
      e: '24hrTicker',
      E: now,
      s: 'BTCUSDT',
      p: '10.00000000',
      P: '0.020',
      // 35001 / 0.7 = 50001.428571428..., rounded half up to 8 decimals.
      w: '50001.42857143',
      x: '0.00000000',
      c: '50010.00000000',
      Q: '0.10000000',
      b: '49990.00000000',
      B: '0.40000000',
      a: '50010.00000000',
      A: '0.10000000',
      o: '50000.00000000',
      h: '50010.00000000',
      l: '50000.00000000',
      v: '0.70000000',
      q: '35001.00000000',
      O: (Math.floor(now / 60_000) - 1440) * 60_000,
      C: now,
      F: 1,
      L: 3,
      n: 3,
    });
  });

  it('sends <s>@miniTicker and !miniTicker@arr (only the symbols that changed)', () => {
    const { h } = scripted();
    h.advance(1000);
    const now = h.clock.ms;
    const [mini] = h.out.of<Record<string, unknown>>('btcusdt@miniTicker');
    assert.deepEqual(mini, {
      e: '24hrMiniTicker',
      E: now,
      s: 'BTCUSDT',
      c: '50010.00000000',
      o: '50000.00000000',
      h: '50010.00000000',
      l: '50000.00000000',
      v: '0.70000000',
      q: '35001.00000000',
    });
    const [arr] = h.out.of<Record<string, unknown>[]>('!miniTicker@arr');
    assert.deepEqual(arr, [mini]);
    // Nothing changed in the next second: neither is sent again.
    h.out.clear();
    h.advance(1000);
    assert.deepEqual(h.out.of('btcusdt@miniTicker'), []);
    assert.deepEqual(h.out.of('!miniTicker@arr'), []);
  });

  it('sends <s>@ticker_1h|4h|1d as 1hTicker, 4hTicker, 1dTicker with the window open on a minute', () => {
    const { h } = scripted();
    h.advance(1000);
    const now = h.clock.ms;
    for (const [name, minutes] of [
      ['1h', 60],
      ['4h', 240],
      ['1d', 1440],
    ] as const) {
      const [t] = h.out.of<Record<string, unknown>>(`btcusdt@ticker_${name}`);
      assert.deepEqual(keys(t!), [
        'e',
        'E',
        's',
        'p',
        'P',
        'o',
        'h',
        'l',
        'c',
        'w',
        'v',
        'q',
        'O',
        'C',
        'F',
        'L',
        'n',
      ]);
      assert.equal(t!.e, `${name}Ticker`);
      assert.equal(t!.O, (Math.floor(now / 60_000) - minutes) * 60_000);
      assert.equal(t!.C, now);
      assert.deepEqual([t!.F, t!.L, t!.n, t!.w, t!.P], [1, 3, 3, '50001.42857143', '0.020']);
    }
  });

  it('sends <s>@avgPrice {e, E, s, i: "5m", w, T}', () => {
    const { h, tradeMs } = scripted();
    h.advance(1000);
    const [a] = h.out.of<Record<string, unknown>>('btcusdt@avgPrice');
    assert.deepEqual(a, {
      e: 'avgPrice',
      E: h.clock.ms,
      s: 'BTCUSDT',
      i: '5m',
      w: '50001.42857143',
      T: tradeMs,
    });
  });

  it('emits nothing for a market that never traded nor had an order', () => {
    const { h } = scripted();
    h.advance(1000);
    assert.ok(h.out.streams().every((s) => s.startsWith('btcusdt@') || s === '!miniTicker@arr'));
    assert.deepEqual(
      h.out.streams().filter((s) => s.startsWith('ethusdt')),
      [],
      `no ${String(ETHUSDT)} streams`,
    );
  });

  it('does not encode streams nobody wants, and keeps their state all the same', () => {
    const wanted = new Set(['btcusdt@trade']);
    const h = new Harness({ wants: (stream) => wanted.has(stream) });
    h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.50000');
    h.marketOrder(3, BTCUSDT, Side.BUY, '0.20000');
    h.advance(1000);
    assert.deepEqual(h.out.streams(), ['btcusdt@trade']);
    wanted.add('btcusdt@depth@100ms');
    wanted.add('btcusdt@bookTicker');
    h.marketOrder(3, BTCUSDT, Side.BUY, '0.10000');
    h.advance(100);
    const [book] = h.out.of<{ u: number; A: string }>('btcusdt@bookTicker');
    assert.deepEqual([book!.u, book!.A], [3, '0.20000000']);
    const [diff] = h.out.of<{ U: number; u: number }>('btcusdt@depth@100ms');
    assert.deepEqual([diff!.U, diff!.u], [3, 3]);
  });

  it('goes on when a subscriber throws, counting the lost payloads', () => {
    let fail = true;
    const seen: string[] = [];
    const h = new Harness({
      onMessage: (stream) => {
        if (fail) throw new Error('bus down');
        seen.push(stream);
      },
    });
    h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.50000');
    h.marketOrder(3, BTCUSDT, Side.BUY, '0.20000');
    assert.ok(h.md.emitErrors > 0);
    assert.equal(h.md.fault, null);
    fail = false;
    h.marketOrder(3, BTCUSDT, Side.BUY, '0.10000');
    assert.ok(seen.includes('btcusdt@trade'));
    const d = h.md.depthSnapshot('BTCUSDT');
    assert.ok(d.ok);
    assert.deepEqual(d.value.asks, [['50000.00000000', '0.20000000']]);
  });
});
