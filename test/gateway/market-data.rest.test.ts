/**
 * The REST market data answers, in Binance's shapes (rest-api.md, market data endpoints):
 * depth, trades, historicalTrades, aggTrades, klines, avgPrice, ticker/24hr (FULL, MINI),
 * ticker (rolling window), ticker/tradingDay, ticker/price, ticker/bookTicker; Binance's
 * errors for bad input; and the request weights.
 */
import assert from 'node:assert/strict';
import { Side } from '../../engine/index.ts';
import type { MdResult } from '../../gateway/market-data/errors.ts';
import { requestWeight } from '../../gateway/market-data/market-data.ts';
import type { Ticker24hFull } from '../../gateway/market-data/tickers.ts';
import type { HistoricTrade, TradeHistorySource } from '../../gateway/market-data/trades.ts';
import { BTCUSDT, ETHBTC, Harness } from './md-helpers.ts';

function value<T>(r: MdResult<T>): T {
  if (!r.ok) assert.fail(`refused: ${r.error.code} ${r.error.msg}`);
  return r.value;
}

function refused<T>(r: MdResult<T>): { code: string; binanceCode: number; msg: string } {
  if (r.ok) assert.fail('expected a refusal');
  return r.error;
}

/** Two asks at 50000.00 and one at 50010.00, a bid at 49990.00, then a market buy of 0.7. */
function scripted(options: ConstructorParameters<typeof Harness>[0] = {}): { h: Harness; tradeMs: number } {
  const h = new Harness(options);
  h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.50000');
  h.limit(4, BTCUSDT, Side.SELL, '50000.00', '0.10000');
  h.limit(1, BTCUSDT, Side.SELL, '50010.00', '0.20000');
  h.limit(2, BTCUSDT, Side.BUY, '49990.00', '0.40000');
  h.advance(100);
  const tradeMs = h.clock.ms;
  h.marketOrder(3, BTCUSDT, Side.BUY, '0.70000');
  return { h, tradeMs };
}

describe('market data REST answers', () => {
  describe('GET /api/v3/depth', () => {
    it('answers {lastUpdateId, bids, asks} with [price, qty] strings, best first', () => {
      const { h } = scripted();
      const d = value(h.md.depthSnapshot('BTCUSDT'));
      assert.deepEqual(Object.keys(d), ['lastUpdateId', 'bids', 'asks']);
      assert.deepEqual(d, {
        lastUpdateId: 5,
        bids: [['49990.00000000', '0.40000000']],
        asks: [['50010.00000000', '0.10000000']],
      });
    });

    it('serves any limit up to 5000 and gives at most 5000 levels to a larger one, as Binance does', () => {
      const h = new Harness();
      for (let i = 0; i < 30; i++) h.limit(1, BTCUSDT, Side.BUY, `${40000 + i}.00`, '0.10000');
      assert.equal(value(h.md.depthSnapshot('BTCUSDT', 7)).bids.length, 7);
      assert.equal(value(h.md.depthSnapshot('BTCUSDT', 6000)).bids.length, 30);
      assert.equal(value(h.md.depthSnapshot('BTCUSDT', 1)).bids[0]![0], '40029.00000000');
    });

    it('refuses an unknown symbol (-1121) and a limit below 1 (-1100)', () => {
      const h = new Harness();
      assert.deepEqual(refused(h.md.depthSnapshot('DOGEUSDT')), {
        code: 'md.unknown_symbol',
        binanceCode: -1121,
        msg: 'Invalid symbol.',
      });
      assert.equal(refused(h.md.depthSnapshot('BTCUSDT', 0)).binanceCode, -1100);
    });
  });

  describe('GET /api/v3/trades and historicalTrades', () => {
    it('answers {id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch}, oldest first', async () => {
      const { h, tradeMs } = scripted();
      const rows = value(await h.md.recentTrades('BTCUSDT'));
      assert.deepEqual(rows, [
        {
          id: 1,
          price: '50000.00000000',
          qty: '0.50000000',
          quoteQty: '25000.00000000',
          time: tradeMs,
          isBuyerMaker: false,
          isBestMatch: true,
        },
        {
          id: 2,
          price: '50000.00000000',
          qty: '0.10000000',
          quoteQty: '5000.00000000',
          time: tradeMs,
          isBuyerMaker: false,
          isBestMatch: true,
        },
        {
          id: 3,
          price: '50010.00000000',
          qty: '0.10000000',
          quoteQty: '5001.00000000',
          time: tradeMs,
          isBuyerMaker: false,
          isBestMatch: true,
        },
      ]);
      assert.deepEqual(
        value(await h.md.recentTrades('BTCUSDT', 2)).map((t) => t.id),
        [2, 3],
      );
    });

    it('writes times in microseconds when asked (X-MBX-TIME-UNIT: MICROSECOND)', async () => {
      const { h, tradeMs } = scripted();
      const [t] = value(await h.md.recentTrades('BTCUSDT', 1, 'MICROSECOND'));
      assert.equal(t!.time, tradeMs * 1000);
    });

    it('answers historicalTrades from an id, and refuses a negative id', async () => {
      const { h } = scripted();
      assert.deepEqual(
        value(await h.md.historicalTrades('BTCUSDT', { fromId: 2, limit: 5 })).map((t) => t.id),
        [2, 3],
      );
      assert.deepEqual(value(await h.md.historicalTrades('BTCUSDT', { fromId: 9 })), []);
      assert.equal(refused(await h.md.historicalTrades('BTCUSDT', { fromId: -1 })).binanceCode, -1100);
    });

    it('asks the trade store for trades older than memory holds', async () => {
      const store: HistoricTrade[] = [];
      const history: TradeHistorySource = {
        olderTrades: async (_s, start, end) => store.filter((t) => t.tsMicros >= start && t.tsMicros <= end),
        tradesFromId: async (_s, fromId, limit) => store.filter((t) => t.tradeId >= fromId).slice(0, limit),
      };
      const h = new Harness({ history, tradeCapacity: 2 });
      for (let i = 0; i < 5; i++) {
        h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.10000');
        h.marketOrder(2, BTCUSDT, Side.BUY, '0.10000');
      }
      // The store has all five (as the persister would have written them).
      for (const t of value(await h.md.historicalTrades('BTCUSDT', { fromId: 4 }))) {
        store.push({
          tradeId: t.id,
          priceTicks: 5_000_000,
          qtyLots: 10_000,
          tsMicros: t.time * 1000,
          takerSide: 'BUY',
          buyerOrderId: 0,
          sellerOrderId: 0,
          seq: t.id,
        });
      }
      for (let id = 1; id <= 3; id++) {
        store.push({
          tradeId: id,
          priceTicks: 5_000_000,
          qtyLots: 10_000,
          tsMicros: h.clock.micros,
          takerSide: 'BUY',
          buyerOrderId: 0,
          sellerOrderId: 0,
          seq: id,
        });
      }
      store.sort((a, b) => a.tradeId - b.tradeId);
      const rows = value(await h.md.historicalTrades('BTCUSDT', { fromId: 1, limit: 3 }));
      assert.deepEqual(
        rows.map((t) => t.id),
        [1, 2, 3],
      );
      assert.equal(rows[0]!.quoteQty, '5000.00000000');
    });
  });

  describe('GET /api/v3/aggTrades', () => {
    it('answers {a, p, q, f, l, T, m, M}: newest, from an id, in a time window', async () => {
      const { h, tradeMs } = scripted();
      const all = value(await h.md.aggTrades('BTCUSDT', {}));
      assert.deepEqual(all, [
        { a: 1, p: '50000.00000000', q: '0.60000000', f: 1, l: 2, T: tradeMs, m: false, M: true },
        { a: 3, p: '50010.00000000', q: '0.10000000', f: 3, l: 3, T: tradeMs, m: false, M: true },
      ]);
      // a >= fromId: trade 2 belongs to aggregate 1, so fromId 2 starts at aggregate 3.
      assert.deepEqual(
        value(await h.md.aggTrades('BTCUSDT', { fromId: 2 })).map((a) => a.a),
        [3],
      );
      assert.deepEqual(
        value(await h.md.aggTrades('BTCUSDT', { startTime: tradeMs, endTime: tradeMs })).map((a) => a.a),
        [1, 3],
      );
      assert.deepEqual(
        value(await h.md.aggTrades('BTCUSDT', { startTime: tradeMs + 1, endTime: tradeMs + 5 })),
        [],
      );
      assert.deepEqual(
        value(await h.md.aggTrades('BTCUSDT', { limit: 1 })).map((a) => a.a),
        [3],
      );
    });

    it('refuses fromId with a time (-1128) and a window over one hour (-1127)', async () => {
      const { h, tradeMs } = scripted();
      assert.equal(
        refused(await h.md.aggTrades('BTCUSDT', { fromId: 1, startTime: tradeMs })).binanceCode,
        -1128,
      );
      assert.deepEqual(refused(await h.md.aggTrades('BTCUSDT', { startTime: 0, endTime: 3_600_001 })), {
        code: 'md.window_too_long',
        binanceCode: -1127,
        msg: 'More than 1 hours between startTime and endTime.',
      });
    });
  });

  describe('GET /api/v3/klines and uiKlines', () => {
    it('answers [openTime, o, h, l, c, v, closeTime, quoteVolume, n, takerBuyBase, takerBuyQuote, "0"]', async () => {
      const { h, tradeMs } = scripted();
      const open = Math.floor(tradeMs / 60_000) * 60_000;
      const rows = value(await h.md.klinesQuery('BTCUSDT', { interval: '1m' }));
      assert.deepEqual(rows, [
        [
          open,
          '50000.00000000',
          '50010.00000000',
          '50000.00000000',
          '50010.00000000',
          '0.70000000',
          open + 59_999,
          '35001.00000000',
          3,
          '0.70000000',
          '35001.00000000',
          '0',
        ],
      ]);
    });

    it('fills minutes without trades from the previous close, up to the current one', async () => {
      const { h, tradeMs } = scripted();
      const open = Math.floor(tradeMs / 60_000) * 60_000;
      h.advance(open + 3 * 60_000 + 5 - h.clock.ms);
      const rows = value(await h.md.klinesQuery('BTCUSDT', { interval: '1m' }));
      assert.deepEqual(
        rows.map((r) => [r[0], r[1], r[4], r[5], r[8]]),
        [
          [open, '50000.00000000', '50010.00000000', '0.70000000', 3],
          [open + 60_000, '50010.00000000', '50010.00000000', '0.00000000', 0],
          [open + 120_000, '50010.00000000', '50010.00000000', '0.00000000', 0],
          [open + 180_000, '50010.00000000', '50010.00000000', '0.00000000', 0],
        ],
      );
      // startTime picks klines opening at or after it; limit keeps the first ones.
      const from = value(
        await h.md.klinesQuery('BTCUSDT', { interval: '1m', startTime: open + 1, limit: 2 }),
      );
      assert.deepEqual(
        from.map((r) => r[0]),
        [open + 60_000, open + 120_000],
      );
      // endTime alone: the newest ones up to it.
      const to = value(
        await h.md.klinesQuery('BTCUSDT', { interval: '1m', endTime: open + 60_000, limit: 1 }),
      );
      assert.deepEqual(
        to.map((r) => r[0]),
        [open + 60_000],
      );
    });

    it('places day klines in the asked time zone: +08:00 days open at 16:00 UTC the day before', async () => {
      const { h, tradeMs } = scripted();
      const [utc] = value(await h.md.klinesQuery('BTCUSDT', { interval: '1d' }));
      const [east] = value(await h.md.klinesQuery('BTCUSDT', { interval: '1d', timeZone: '8' }));
      const dayUtc = Math.floor(tradeMs / 86_400_000) * 86_400_000;
      assert.equal(utc![0], dayUtc);
      const local = tradeMs + 8 * 3_600_000;
      assert.equal(east![0], Math.floor(local / 86_400_000) * 86_400_000 - 8 * 3_600_000);
      assert.equal(east![6], (east![0] as number) + 86_400_000 - 1);
      assert.equal(east![8], 3);
      assert.equal(east![5], '0.70000000');
    });

    it('refuses an unknown interval (-1120), a bad time zone and a bad limit (-1100)', async () => {
      const { h } = scripted();
      assert.deepEqual(refused(await h.md.klinesQuery('BTCUSDT', { interval: '2m' })), {
        code: 'md.bad_interval',
        binanceCode: -1120,
        msg: 'Invalid interval.',
      });
      assert.equal(
        refused(await h.md.klinesQuery('BTCUSDT', { interval: '1m', timeZone: '+15:00' })).binanceCode,
        -1100,
      );
      assert.equal(
        refused(await h.md.klinesQuery('BTCUSDT', { interval: '1m', limit: 0 })).binanceCode,
        -1100,
      );
      assert.equal(refused(await h.md.klinesQuery('BTCUSD', { interval: '1m' })).binanceCode, -1121);
    });
  });

  describe('tickers', () => {
    it('answers ticker/24hr FULL with Binance fields in order', () => {
      const { h } = scripted();
      const now = h.clock.ms;
      const t = value(h.md.ticker24hr('BTCUSDT'));
      assert.deepEqual(t, {
        symbol: 'BTCUSDT',
        priceChange: '10.00000000',
        priceChangePercent: '0.020',
        weightedAvgPrice: '50001.42857143',
        prevClosePrice: '0.00000000',
        lastPrice: '50010.00000000',
        lastQty: '0.10000000',
        bidPrice: '49990.00000000',
        bidQty: '0.40000000',
        askPrice: '50010.00000000',
        askQty: '0.10000000',
        openPrice: '50000.00000000',
        highPrice: '50010.00000000',
        lowPrice: '50000.00000000',
        volume: '0.70000000',
        quoteVolume: '35001.00000000',
        openTime: (Math.floor(now / 60_000) - 1440) * 60_000,
        closeTime: now,
        firstId: 1,
        lastId: 3,
        count: 3,
      });
      assert.deepEqual(Object.keys(t), [
        'symbol',
        'priceChange',
        'priceChangePercent',
        'weightedAvgPrice',
        'prevClosePrice',
        'lastPrice',
        'lastQty',
        'bidPrice',
        'bidQty',
        'askPrice',
        'askQty',
        'openPrice',
        'highPrice',
        'lowPrice',
        'volume',
        'quoteVolume',
        'openTime',
        'closeTime',
        'firstId',
        'lastId',
        'count',
      ]);
    });

    it('answers MINI, a list for symbols=[...] and every symbol without one', () => {
      const { h } = scripted();
      const mini = value(h.md.ticker24hr(['BTCUSDT', 'ETHBTC'], 'MINI'));
      assert.ok(Array.isArray(mini));
      assert.deepEqual(Object.keys(mini[0]!), [
        'symbol',
        'openPrice',
        'highPrice',
        'lowPrice',
        'lastPrice',
        'volume',
        'quoteVolume',
        'openTime',
        'closeTime',
        'firstId',
        'lastId',
        'count',
      ]);
      // A symbol without trades: empty window, ids -1.
      assert.deepEqual(
        [mini[1]!.symbol, mini[1]!.lastPrice, mini[1]!.firstId, mini[1]!.lastId, mini[1]!.count],
        ['ETHBTC', '0.00000000', -1, -1, 0],
      );
      const all = value(h.md.ticker24hr(undefined));
      assert.ok(Array.isArray(all));
      assert.deepEqual(
        all.map((t) => t.symbol),
        ['BTCUSDT', 'ETHUSDT', 'ETHBTC'],
      );
    });

    it('answers the rolling window ticker for windowSize 1m..59m, 1h..23h, 1d..7d and refuses others', () => {
      const { h } = scripted();
      const now = h.clock.ms;
      const t = value(h.md.tickerWindow('BTCUSDT', '15m'));
      assert.deepEqual(Object.keys(t), [
        'symbol',
        'priceChange',
        'priceChangePercent',
        'weightedAvgPrice',
        'openPrice',
        'highPrice',
        'lowPrice',
        'lastPrice',
        'volume',
        'quoteVolume',
        'openTime',
        'closeTime',
        'firstId',
        'lastId',
        'count',
      ]);
      assert.ok(!Array.isArray(t));
      assert.equal(t.openTime, (Math.floor(now / 60_000) - 15) * 60_000);
      assert.equal(t.count, 3);
      for (const bad of ['60m', '24h', '8d', '1d2h', '0m', '1w']) {
        assert.equal(refused(h.md.tickerWindow('BTCUSDT', bad)).binanceCode, -1100, bad);
      }
      for (const good of ['1m', '59m', '1h', '23h', '1d', '7d'])
        assert.ok(h.md.tickerWindow('BTCUSDT', good).ok, good);
    });

    it('answers ticker/tradingDay from 00:00 of the time zone to the day end', () => {
      const { h, tradeMs } = scripted();
      const t = value(h.md.tickerTradingDay('BTCUSDT', '0'));
      assert.ok(!Array.isArray(t));
      const day = Math.floor(tradeMs / 86_400_000) * 86_400_000;
      assert.deepEqual([t.openTime, t.closeTime, t.count], [day, day + 86_400_000 - 1, 3]);
      const mini = value(h.md.tickerTradingDay(['BTCUSDT'], '-1:00', 'MINI'));
      assert.ok(Array.isArray(mini));
      assert.equal(
        mini[0]!.openTime,
        Math.floor((tradeMs - 3_600_000) / 86_400_000) * 86_400_000 + 3_600_000,
      );
    });

    it('answers ticker/price, ticker/bookTicker and avgPrice', () => {
      const { h, tradeMs } = scripted();
      assert.deepEqual(value(h.md.tickerPrice('BTCUSDT')), { symbol: 'BTCUSDT', price: '50010.00000000' });
      assert.deepEqual(value(h.md.bookTicker('BTCUSDT')), {
        symbol: 'BTCUSDT',
        bidPrice: '49990.00000000',
        bidQty: '0.40000000',
        askPrice: '50010.00000000',
        askQty: '0.10000000',
      });
      assert.deepEqual(value(h.md.avgPrice('BTCUSDT')), {
        mins: 5,
        price: '50001.42857143',
        closeTime: tradeMs,
      });
      const eth = value(h.md.tickerPrice(['ETHBTC']));
      assert.deepEqual(eth, [{ symbol: 'ETHBTC', price: '0.00000000' }]);
    });

    it('refuses an unknown symbol in a list (-1121) and more than 100 symbols (-1101)', () => {
      const { h } = scripted();
      assert.equal(refused(h.md.ticker24hr(['BTCUSDT', 'NOPE'])).binanceCode, -1121);
      assert.equal(refused(h.md.tickerPrice(new Array(101).fill('BTCUSDT'))).binanceCode, -1101);
      assert.equal(refused(h.md.tickerTradingDay('BTCUSDT', '15')).binanceCode, -1100);
      assert.equal(refused(h.md.avgPrice('nope')).binanceCode, -1121);
    });

    it('computes with exact integers: a quote volume beyond 2^53 units is still exact', () => {
      const h = new Harness();
      // 9 BTC at 999,999.99 is ~9e14 quote units (of 1e-8 USDT) a trade; 20 trades back and
      // forth between two users sum to 1.8e16, past 2^53 (~9.007e15).
      for (let i = 0; i < 10; i++) {
        h.limit(1, BTCUSDT, Side.SELL, '999999.99', '9.00000');
        h.marketOrder(2, BTCUSDT, Side.BUY, '9.00000');
        h.limit(2, BTCUSDT, Side.SELL, '999999.99', '9.00000');
        h.marketOrder(1, BTCUSDT, Side.BUY, '9.00000');
      }
      const t = value(h.md.ticker24hr('BTCUSDT')) as Ticker24hFull;
      assert.equal(t.count, 20);
      assert.equal(t.quoteVolume, '179999998.20000000');
      assert.equal(t.volume, '180.00000000');
      assert.equal(t.weightedAvgPrice, '999999.99000000');
    });

    it('formats a market whose quantity has 3 decimals (ETHBTC) with 8 decimals', () => {
      const h = new Harness();
      h.limit(1, ETHBTC, Side.SELL, '0.05000', '1.500');
      h.marketOrder(2, ETHBTC, Side.BUY, '1.500');
      assert.deepEqual(value(h.md.tickerPrice('ETHBTC')), { symbol: 'ETHBTC', price: '0.05000000' });
      const t = value(h.md.ticker24hr('ETHBTC', 'MINI'));
      assert.ok(!Array.isArray(t));
      assert.deepEqual([t.volume, t.quoteVolume], ['1.50000000', '0.07500000']);
    });
  });

  describe('request weights', () => {
    it('follows Binance: depth by limit, tickers by symbol count', () => {
      assert.deepEqual(
        [1, 100, 101, 500, 501, 1000, 1001, 5000].map((limit) => requestWeight('depth', { limit })),
        [5, 5, 25, 25, 50, 50, 250, 250],
      );
      assert.equal(requestWeight('ticker/24hr', { symbols: 'BTCUSDT' }), 2);
      assert.equal(requestWeight('ticker/24hr', { symbols: new Array(21).fill('X') }), 40);
      assert.equal(requestWeight('ticker/24hr'), 80);
      assert.equal(requestWeight('ticker', { symbols: ['A', 'B', 'C'] }), 12);
      assert.equal(requestWeight('ticker', { symbols: new Array(51).fill('X') }), 200);
      assert.equal(requestWeight('ticker/price'), 4);
      assert.equal(requestWeight('aggTrades'), 4);
      assert.equal(requestWeight('klines'), 2);
      assert.equal(requestWeight('trades'), 25);
    });
  });
});
