/**
 * The REST market data endpoints (gateway/api/market-data.routes.ts) over real sockets: a
 * gateway serving them over `localMarketDataQueries(md)`, with `md` fed the events of an
 * InlineEngine. Each endpoint's shape and field types as Binance documents them (numbers vs
 * strings), one symbol vs a `symbols` list (percent-encoded or not) vs none, the weight in
 * X-MBX-USED-WEIGHT-1M, Binance's error for every way a request can be wrong, times in
 * microseconds with X-MBX-TIME-UNIT, depth up to 5000 levels and beyond, klines = uiKlines,
 * and 503 -1001 when the builder cannot be reached.
 *
 * The gateway's clock (rate limit windows) is not the builder's: every request moves the
 * gateway's clock to a new minute, so the used weight a reply reports is that request's own.
 */
import assert from 'node:assert/strict';
import { Side } from '../../engine/index.ts';
import { marketDataRoutes } from '../../gateway/api/market-data.routes.ts';
import type { Route } from '../../gateway/http/http-types.ts';
import { localMarketDataQueries, type MarketDataQueries } from '../../gateway/market-data/queries.ts';
import type { Gateway } from '../../gateway/server.ts';
import { apiKeyFor, FakeClock, type Reply, send, sendRaw, startTestGateway } from './helpers.ts';
import { BTCUSDT, ETHUSDT, Harness } from './md-helpers.ts';

/** ETHUSDT bid levels: more than the deepest page. */
const DEEP_LEVELS = 5003;

/** The price of the i-th ETHUSDT bid level, 1000.00 up in cents. */
function ethBid(i: number): string {
  const cents = 100_000 + i;
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

const FULL_24H_KEYS = [
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
];
const FULL_WINDOW_KEYS = [
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
];
const MINI_KEYS = [
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
];
/** Ticker fields that are numbers; every other field is a decimal string (or the symbol). */
const NUMBER_FIELDS = new Set(['openTime', 'closeTime', 'firstId', 'lastId', 'count']);

/** Every field of a ticker has Binance's type: numbers for times, ids and count, strings otherwise. */
function assertTickerTypes(t: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(t)) {
    if (NUMBER_FIELDS.has(k)) assert.equal(typeof v, 'number', k);
    else assert.equal(typeof v, 'string', k);
  }
}

const MANDATORY_SYMBOL = {
  code: -1102,
  msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
};
const SYMBOL_RANGE = "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.";
const SYMBOLS_RANGE =
  'Illegal characters found in parameter \'symbols\'; legal range is \'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$\'.';
const INTEGER_RANGE = (name: string): string =>
  `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`;

describe('REST market data endpoints (/api/v3)', function () {
  this.timeout(20_000);
  const gwClock = new FakeClock();
  let h: Harness;
  let gw: Gateway;
  let tradeMs: number;
  let routes: Route[];

  before(async () => {
    // BTCUSDT: asks 0.5 + 0.1 at 50000.00 and 0.2 at 50010.00, a bid 0.4 at 49990.00, then
    // a market buy of 0.7: trades 1, 2 (one aggregate) and 3. ETHUSDT: DEEP_LEVELS bids.
    h = new Harness();
    h.limit(1, BTCUSDT, Side.SELL, '50000.00', '0.50000');
    h.limit(4, BTCUSDT, Side.SELL, '50000.00', '0.10000');
    h.limit(1, BTCUSDT, Side.SELL, '50010.00', '0.20000');
    h.limit(2, BTCUSDT, Side.BUY, '49990.00', '0.40000');
    h.advance(100);
    tradeMs = h.clock.ms;
    h.marketOrder(3, BTCUSDT, Side.BUY, '0.70000');
    for (let i = 0; i < DEEP_LEVELS; i++) h.limit(2, ETHUSDT, Side.BUY, ethBid(i), '0.0100');
    h.advance(2_000);
    routes = marketDataRoutes({ queries: localMarketDataQueries(h.md), markets: h.markets });
    gw = await startTestGateway({ clock: gwClock, routes });
  });
  after(async () => {
    await gw.close();
  });

  /** One GET in a fresh rate limit minute: the reply and the weight it was charged. */
  async function get(
    path: string,
    query?: string,
    headers?: Record<string, string>,
    to: Gateway = gw,
  ): Promise<Reply & { weight: number }> {
    gwClock.advanceMillis(60_000);
    const r = await send(to, `/api/v3/${path}`, {
      ...(query === undefined ? {} : { query }),
      ...(headers === undefined ? {} : { headers }),
    });
    return { ...r, weight: Number(r.headers['x-mbx-used-weight-1m']) };
  }

  /** A GET that must be refused with `status` and exactly `{code, msg}`. */
  async function refused(
    path: string,
    query: string | undefined,
    error: { code: number; msg?: string },
    status = 400,
  ): Promise<void> {
    const r = await get(path, query);
    assert.equal(r.status, status, `${path}?${query}: ${r.text}`);
    assert.equal(r.headers['content-type'], 'application/json;charset=UTF-8');
    assert.deepEqual(Object.keys(r.json), ['code', 'msg']);
    assert.equal(r.json.code, error.code, `${path}?${query}: ${r.text}`);
    if (error.msg !== undefined) assert.equal(r.json.msg, error.msg, `${path}?${query}`);
  }

  describe('the route table', () => {
    it('has the twelve GET endpoints, all security NONE (historicalTrades included, as on Binance today)', () => {
      assert.deepEqual(
        routes.map((r) => `${r.method} ${r.path} ${r.security}`),
        [
          'depth',
          'trades',
          'historicalTrades',
          'aggTrades',
          'klines',
          'uiKlines',
          'avgPrice',
          'ticker/24hr',
          'ticker/tradingDay',
          'ticker',
          'ticker/price',
          'ticker/bookTicker',
        ].map((p) => `GET /api/v3/${p} NONE`),
      );
    });

    it('ignores a well-formed API key and refuses a malformed one (-2014), as every public endpoint', async () => {
      const ok = await get('historicalTrades', 'symbol=BTCUSDT', { 'X-MBX-APIKEY': apiKeyFor('nobody') });
      assert.equal(ok.status, 200);
      const bad = await get('historicalTrades', 'symbol=BTCUSDT', { 'X-MBX-APIKEY': 'short' });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.code, -2014);
    });
  });

  describe('GET /api/v3/depth', () => {
    it('answers {lastUpdateId, bids, asks} with [price, qty] strings, best first, as the builder holds it', async () => {
      const r = await get('depth', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json;charset=UTF-8');
      assert.deepEqual(r.json, {
        lastUpdateId: 5,
        bids: [['49990.00000000', '0.40000000']],
        asks: [['50010.00000000', '0.10000000']],
      });
      assert.equal(r.text, JSON.stringify((h.md.depthSnapshot('BTCUSDT') as { value: unknown }).value));
      assert.equal(r.weight, 5);
    });

    it('serves 100 levels by default, any limit up to 5000, and 5000 for a larger one', async () => {
      const dflt = await get('depth', 'symbol=ETHUSDT');
      assert.equal(dflt.json.bids.length, 100);
      assert.deepEqual(dflt.json.bids[0], [`${ethBid(DEEP_LEVELS - 1)}000000`, '0.01000000']);
      const one = await get('depth', 'symbol=ETHUSDT&limit=1');
      assert.equal(one.json.bids.length, 1);
      assert.equal(one.weight, 5);
      const full = await get('depth', 'symbol=ETHUSDT&limit=5000');
      assert.equal(full.json.bids.length, 5000);
      assert.deepEqual(full.json.asks, []);
      // Best first, each level one tick below the one before.
      assert.equal(full.json.bids[4999][0], `${ethBid(DEEP_LEVELS - 5000)}000000`);
      for (const limit of [5001, 6000, 99_999_999]) {
        const more = await get('depth', `symbol=ETHUSDT&limit=${limit}`);
        assert.equal(more.status, 200);
        assert.equal(more.json.bids.length, 5000, String(limit));
        assert.equal(more.weight, 250, String(limit));
      }
    });

    it('charges 5 / 25 / 50 / 250 by limit (1-100, 101-500, 501-1000, 1001-5000)', async () => {
      const weights: number[] = [];
      for (const limit of [100, 101, 500, 501, 1000, 1001, 5000]) {
        weights.push((await get('depth', `symbol=BTCUSDT&limit=${limit}`)).weight);
      }
      assert.deepEqual(weights, [5, 25, 25, 50, 50, 250, 250]);
    });

    it('refuses a bad limit: 0 (-1100 from the builder), not digits (-1100), empty (-1105)', async () => {
      await refused('depth', 'symbol=BTCUSDT&limit=0', {
        code: -1100,
        msg: "Illegal characters found in parameter 'limit'; legal range is '1-5000'.",
      });
      await refused('depth', 'symbol=BTCUSDT&limit=-5', { code: -1100, msg: INTEGER_RANGE('limit') });
      await refused('depth', 'symbol=BTCUSDT&limit=1.5', { code: -1100, msg: INTEGER_RANGE('limit') });
      await refused('depth', 'symbol=BTCUSDT&limit=', { code: -1105, msg: "Parameter 'limit' was empty." });
    });
  });

  describe('GET /api/v3/trades and historicalTrades', () => {
    it('answers {id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch}, oldest first', async () => {
      const r = await get('trades', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, [
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
      assert.equal(r.weight, 25);
      const two = await get('trades', 'symbol=BTCUSDT&limit=2');
      assert.deepEqual(
        two.json.map((t: { id: number }) => t.id),
        [2, 3],
      );
      assert.deepEqual(await get('trades', 'symbol=ETHUSDT').then((x) => x.json), []);
    });

    it('answers historicalTrades from fromId (weight 25), the newest without it', async () => {
      const r = await get('historicalTrades', 'symbol=BTCUSDT&fromId=2&limit=5');
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.json.map((t: { id: number }) => t.id),
        [2, 3],
      );
      assert.equal(r.weight, 25);
      const newest = await get('historicalTrades', 'symbol=BTCUSDT&limit=1');
      assert.deepEqual(
        newest.json.map((t: { id: number }) => t.id),
        [3],
      );
      await refused('historicalTrades', 'symbol=BTCUSDT&fromId=x', {
        code: -1100,
        msg: INTEGER_RANGE('fromId'),
      });
    });

    it('writes times in microseconds with X-MBX-TIME-UNIT: MICROSECOND (any case)', async () => {
      for (const unit of ['MICROSECOND', 'microsecond']) {
        const r = await get('trades', 'symbol=BTCUSDT&limit=1', { 'X-MBX-TIME-UNIT': unit });
        assert.equal(r.json[0].time, tradeMs * 1000);
      }
      const hist = await get('historicalTrades', 'symbol=BTCUSDT&fromId=1&limit=1', {
        'X-MBX-TIME-UNIT': 'MICROSECOND',
      });
      assert.equal(hist.json[0].time, tradeMs * 1000);
    });
  });

  describe('GET /api/v3/aggTrades', () => {
    it('answers {a, p, q, f, l, T, m, M}: the newest, from an id, in a time window (weight 4)', async () => {
      const r = await get('aggTrades', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, [
        { a: 1, p: '50000.00000000', q: '0.60000000', f: 1, l: 2, T: tradeMs, m: false, M: true },
        { a: 3, p: '50010.00000000', q: '0.10000000', f: 3, l: 3, T: tradeMs, m: false, M: true },
      ]);
      assert.equal(r.weight, 4);
      const from = await get('aggTrades', 'symbol=BTCUSDT&fromId=2');
      assert.deepEqual(
        from.json.map((a: { a: number }) => a.a),
        [3],
      );
      const window = await get('aggTrades', `symbol=BTCUSDT&startTime=${tradeMs}&endTime=${tradeMs}`);
      assert.deepEqual(
        window.json.map((a: { a: number }) => a.a),
        [1, 3],
      );
      const after = await get('aggTrades', `symbol=BTCUSDT&startTime=${tradeMs + 1}`);
      assert.deepEqual(after.json, []);
      const last = await get('aggTrades', 'symbol=BTCUSDT&limit=1');
      assert.deepEqual(
        last.json.map((a: { a: number }) => a.a),
        [3],
      );
    });

    it('reads startTime/endTime and writes T in microseconds with X-MBX-TIME-UNIT: MICROSECOND', async () => {
      const us = tradeMs * 1000;
      const micro = { 'X-MBX-TIME-UNIT': 'MICROSECOND' };
      const hit = await get('aggTrades', `symbol=BTCUSDT&startTime=${us}&endTime=${us + 999}`, micro);
      assert.deepEqual(
        hit.json.map((a: { a: number; T: number }) => [a.a, a.T]),
        [
          [1, us],
          [3, us],
        ],
      );
      // The same numbers read as milliseconds are 1000 times later: nothing there.
      const ms = await get('aggTrades', `symbol=BTCUSDT&startTime=${us}&endTime=${us + 999}`);
      assert.deepEqual(ms.json, []);
    });

    it('refuses fromId with a time (-1128), start after end (-1128), a window over an hour (-1127)', async () => {
      await refused('aggTrades', `symbol=BTCUSDT&fromId=1&startTime=${tradeMs}`, {
        code: -1128,
        msg: 'Combination of optional parameters invalid.',
      });
      await refused('aggTrades', `symbol=BTCUSDT&startTime=${tradeMs}&endTime=${tradeMs - 1}`, {
        code: -1128,
      });
      await refused('aggTrades', `symbol=BTCUSDT&startTime=0&endTime=3600001`, {
        code: -1127,
        msg: 'More than 1 hours between startTime and endTime.',
      });
      await refused('aggTrades', 'symbol=BTCUSDT&startTime=yesterday', {
        code: -1100,
        msg: INTEGER_RANGE('startTime'),
      });
    });
  });

  describe('GET /api/v3/klines and uiKlines', () => {
    const open = (): number => Math.floor(tradeMs / 60_000) * 60_000;

    it('answers [openTime, o, h, l, c, v, closeTime, quoteVolume, n, takerBuyBase, takerBuyQuote, "0"] with Binance types', async () => {
      const r = await get('klines', 'symbol=BTCUSDT&interval=1m&limit=1');
      assert.equal(r.status, 200);
      const types = r.json[0].map((x: unknown) => typeof x);
      assert.deepEqual(r.json, [
        [
          open(),
          '50000.00000000',
          '50010.00000000',
          '50000.00000000',
          '50010.00000000',
          '0.70000000',
          open() + 59_999,
          '35001.00000000',
          3,
          '0.70000000',
          '35001.00000000',
          '0',
        ],
      ]);
      assert.equal(r.weight, 2);
      assert.deepEqual(types, [
        'number',
        'string',
        'string',
        'string',
        'string',
        'string',
        'number',
        'string',
        'number',
        'string',
        'string',
        'string',
      ]);
    });

    it('answers uiKlines exactly like klines, for every parameter set (weight 2 both)', async () => {
      const queries = [
        'symbol=BTCUSDT&interval=1m',
        'symbol=BTCUSDT&interval=1m&limit=2',
        `symbol=BTCUSDT&interval=1m&startTime=${open() + 1}&limit=1`,
        `symbol=BTCUSDT&interval=1m&endTime=${open()}`,
        'symbol=BTCUSDT&interval=1h',
        'symbol=BTCUSDT&interval=1d&timeZone=8',
        'symbol=BTCUSDT&interval=1d&timeZone=-1:00',
        'symbol=ETHUSDT&interval=1M',
      ];
      for (const q of queries) {
        const k = await get('klines', q);
        const ui = await get('uiKlines', q);
        assert.equal(k.status, 200, `${q}: ${k.text}`);
        assert.ok(Array.isArray(k.json));
        assert.equal(ui.text, k.text, q);
        assert.deepEqual([k.weight, ui.weight], [2, 2], q);
      }
      // The zoned day really is another day: +08:00 opens at 16:00 UTC.
      const east = await get('klines', 'symbol=BTCUSDT&interval=1d&timeZone=8');
      const local = tradeMs + 8 * 3_600_000;
      assert.equal(east.json[0][0], Math.floor(local / 86_400_000) * 86_400_000 - 8 * 3_600_000);
    });

    it('reads startTime and writes times in microseconds with X-MBX-TIME-UNIT: MICROSECOND', async () => {
      const ms = await get('klines', 'symbol=BTCUSDT&interval=1m&limit=1');
      const micro = { 'X-MBX-TIME-UNIT': 'MICROSECOND' };
      for (const path of ['klines', 'uiKlines']) {
        const us = await get(path, `symbol=BTCUSDT&interval=1m&startTime=${open() * 1000}&limit=1`, micro);
        assert.equal(us.json[0][0], ms.json[0][0] * 1000, path);
        assert.ok(us.json[0][6] >= ms.json[0][6] * 1000, path);
        assert.deepEqual(us.json[0].slice(1, 6), ms.json[0].slice(1, 6), path);
      }
    });

    it('refuses a missing interval (-1102), an unknown one (-1120), a bad time zone (-1100)', async () => {
      for (const path of ['klines', 'uiKlines']) {
        await refused(path, 'symbol=BTCUSDT', {
          code: -1102,
          msg: "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
        });
        await refused(path, 'symbol=BTCUSDT&interval=2m', { code: -1120, msg: 'Invalid interval.' });
        await refused(path, 'symbol=BTCUSDT&interval=1m&timeZone=%2B15:00', { code: -1100 });
        await refused(path, 'symbol=BTCUSDT&interval=1m&limit=0', { code: -1100 });
        await refused(path, 'symbol=BTCUSDT&interval=1m&endTime=-1', {
          code: -1100,
          msg: INTEGER_RANGE('endTime'),
        });
      }
    });
  });

  describe('GET /api/v3/avgPrice', () => {
    it('answers {mins: 5, price, closeTime} (weight 2), closeTime in microseconds when asked', async () => {
      const r = await get('avgPrice', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { mins: 5, price: '50001.42857143', closeTime: tradeMs });
      assert.equal(r.weight, 2);
      const us = await get('avgPrice', 'symbol=BTCUSDT', { 'X-MBX-TIME-UNIT': 'MICROSECOND' });
      assert.equal(us.json.closeTime, tradeMs * 1000);
    });
  });

  describe('GET /api/v3/ticker/24hr', () => {
    it('answers one object for symbol=, FULL fields in Binance order and types', async () => {
      const r = await get('ticker/24hr', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.ok(!Array.isArray(r.json));
      assert.deepEqual(Object.keys(r.json), FULL_24H_KEYS);
      assertTickerTypes(r.json);
      assert.deepEqual(
        [r.json.lastPrice, r.json.volume, r.json.firstId, r.json.lastId, r.json.count],
        ['50010.00000000', '0.70000000', 1, 3, 3],
      );
      assert.equal(r.json.closeTime, h.clock.ms);
      assert.equal(r.weight, 2);
    });

    it('answers an array for symbols=[...] (in the order asked) and for no symbol (every symbol)', async () => {
      const list = await get('ticker/24hr', 'symbols=%5B%22ETHBTC%22,%22BTCUSDT%22%5D');
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.json.map((t: { symbol: string }) => t.symbol),
        ['ETHBTC', 'BTCUSDT'],
      );
      assert.equal(list.weight, 2);
      const all = await get('ticker/24hr');
      assert.deepEqual(
        all.json.map((t: { symbol: string }) => t.symbol),
        ['BTCUSDT', 'ETHUSDT', 'ETHBTC'],
      );
      for (const t of all.json) assertTickerTypes(t);
      assert.equal(all.weight, 80);
      // A symbol without trades: an empty window, ids -1.
      const eth = all.json.find((t: { symbol: string }) => t.symbol === 'ETHBTC');
      assert.deepEqual([eth.firstId, eth.lastId, eth.count, eth.lastPrice], [-1, -1, 0, '0.00000000']);
    });

    it('takes the symbols list percent-encoded or as raw JSON (same answer)', async () => {
      const encoded = await get('ticker/24hr', 'symbols=%5B%22BTCUSDT%22%2C%22ETHBTC%22%5D');
      gwClock.advanceMillis(60_000);
      const raw = await sendRaw(gw, 'GET', '/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHBTC"]', {});
      assert.equal(raw.status, 200, raw.text);
      assert.equal(raw.text, encoded.text);
      assert.equal(raw.headers['x-mbx-used-weight-1m'], '2');
    });

    it('answers type=MINI (object and array) and refuses another type (-1139)', async () => {
      const one = await get('ticker/24hr', 'symbol=BTCUSDT&type=MINI');
      assert.deepEqual(Object.keys(one.json), MINI_KEYS);
      assertTickerTypes(one.json);
      const many = await get('ticker/24hr', 'type=MINI');
      assert.equal(many.json.length, 3);
      for (const t of many.json) assert.deepEqual(Object.keys(t), MINI_KEYS);
      const full = await get('ticker/24hr', 'symbol=BTCUSDT&type=FULL');
      assert.deepEqual(Object.keys(full.json), FULL_24H_KEYS);
      await refused('ticker/24hr', 'symbol=BTCUSDT&type=mini', { code: -1139, msg: 'Invalid ticker type.' });
      await refused('ticker/24hr', 'symbol=BTCUSDT&type=', {
        code: -1105,
        msg: "Parameter 'type' was empty.",
      });
    });

    it('charges 2 for 1-20 symbols, 40 for 21-100, 80 for more or none, even when the list is refused', async () => {
      const names = (n: number) =>
        `symbols=${encodeURIComponent(JSON.stringify(Array.from({ length: n }, (_, i) => `X${i}`)))}`;
      const w20 = await get('ticker/24hr', names(20));
      const w21 = await get('ticker/24hr', names(21));
      const w100 = await get('ticker/24hr', names(100));
      const w101 = await get('ticker/24hr', names(101));
      assert.deepEqual([w20.weight, w21.weight, w100.weight, w101.weight], [2, 40, 40, 80]);
      // Unknown symbols: -1121; more than 100: -1101, before any is looked up.
      assert.deepEqual(w21.json, { code: -1121, msg: 'Invalid symbol.' });
      assert.deepEqual(w101.json, {
        code: -1101,
        msg: "Too many values sent for parameter 'symbols', maximum allowed up to 100",
      });
    });
  });

  describe('symbol and symbols: Binance errors (every ticker endpoint)', () => {
    const tickers = ['ticker/24hr', 'ticker/tradingDay', 'ticker', 'ticker/price', 'ticker/bookTicker'];

    it('refuses symbol with symbols (-1128, Binance wording)', async () => {
      for (const path of tickers) {
        await refused(path, 'symbol=BTCUSDT&symbols=%5B%22ETHBTC%22%5D', {
          code: -1128,
          msg: "Combination of optional parameters invalid. Recommendation: 'symbol' and 'symbols' cannot both be sent.",
        });
      }
    });

    it('refuses a malformed list (-1100 with the legal range), a repeated symbol (-1151), an unknown one (-1121)', async () => {
      for (const path of tickers) {
        for (const bad of [
          'BTCUSDT',
          '["btcusdt"]',
          '["BTCUSDT",]',
          '[BTCUSDT]',
          '["BTCUSDT", "ETHBTC"]',
          '{}',
        ]) {
          await refused(path, `symbols=${encodeURIComponent(bad)}`, { code: -1100, msg: SYMBOLS_RANGE });
        }
        await refused(path, `symbols=${encodeURIComponent('["BTCUSDT","BTCUSDT"]')}`, {
          code: -1151,
          msg: 'Symbol is present multiple times in the list.',
        });
        await refused(path, `symbols=${encodeURIComponent('["BTCUSDT","DOGEUSDT"]')}`, {
          code: -1121,
          msg: 'Invalid symbol.',
        });
        await refused(path, 'symbols=', { code: -1105, msg: "Parameter 'symbols' was empty." });
      }
    });

    it('refuses a malformed symbol (-1100), an unknown one (-1121), an empty one (-1105)', async () => {
      for (const path of tickers) {
        await refused(path, 'symbol=btcusdt', { code: -1100, msg: SYMBOL_RANGE });
        await refused(path, 'symbol=DOGEUSDT', { code: -1121, msg: 'Invalid symbol.' });
        await refused(path, 'symbol=', { code: -1105, msg: "Parameter 'symbol' was empty." });
      }
    });
  });

  describe('GET /api/v3/ticker/tradingDay and /api/v3/ticker (rolling window)', () => {
    it('answers tradingDay from 00:00 of the time zone to the day end, object or array', async () => {
      const r = await get('ticker/tradingDay', 'symbol=BTCUSDT');
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json), FULL_WINDOW_KEYS);
      assertTickerTypes(r.json);
      const day = Math.floor(tradeMs / 86_400_000) * 86_400_000;
      assert.deepEqual([r.json.openTime, r.json.closeTime, r.json.count], [day, day + 86_400_000 - 1, 3]);
      assert.equal(r.weight, 4);
      const zoned = await get('ticker/tradingDay', 'symbol=BTCUSDT&timeZone=-1:00&type=MINI');
      assert.deepEqual(Object.keys(zoned.json), MINI_KEYS);
      const localDay = Math.floor((tradeMs - 3_600_000) / 86_400_000) * 86_400_000 + 3_600_000;
      assert.equal(zoned.json.openTime, localDay);
      const list = await get(
        'ticker/tradingDay',
        `symbols=${encodeURIComponent('["BTCUSDT","ETHUSDT","ETHBTC"]')}`,
      );
      assert.equal(list.json.length, 3);
      assert.equal(list.weight, 12);
      const us = await get('ticker/tradingDay', 'symbol=BTCUSDT', { 'X-MBX-TIME-UNIT': 'MICROSECOND' });
      assert.equal(us.json.openTime, day * 1000);
    });

    it('answers the rolling window for windowSize (default 1d), object or array', async () => {
      const r = await get('ticker', 'symbol=BTCUSDT&windowSize=15m');
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json), FULL_WINDOW_KEYS);
      assertTickerTypes(r.json);
      assert.equal(r.json.openTime, (Math.floor(h.clock.ms / 60_000) - 15) * 60_000);
      assert.equal(r.json.count, 3);
      assert.equal(r.weight, 4);
      const dflt = await get('ticker', 'symbol=BTCUSDT');
      assert.equal(dflt.json.openTime, (Math.floor(h.clock.ms / 60_000) - 1440) * 60_000);
      const mini = await get('ticker', `symbols=${encodeURIComponent('["ETHBTC","BTCUSDT"]')}&type=MINI`);
      assert.deepEqual(
        mini.json.map((t: { symbol: string }) => t.symbol),
        ['ETHBTC', 'BTCUSDT'],
      );
      for (const t of mini.json) assert.deepEqual(Object.keys(t), MINI_KEYS);
      assert.equal(mini.weight, 8);
      const us = await get('ticker', 'symbol=BTCUSDT', { 'X-MBX-TIME-UNIT': 'MICROSECOND' });
      assert.equal(us.json.openTime, dflt.json.openTime * 1000);
      assert.equal(us.json.closeTime, dflt.json.closeTime * 1000);
    });

    it('requires symbol or symbols (-1102) and refuses a bad windowSize / timeZone (-1100)', async () => {
      for (const path of ['ticker/tradingDay', 'ticker']) {
        await refused(path, undefined, {
          code: -1102,
          msg: "Param 'symbol' or 'symbols' must be sent, but both were empty/null!",
        });
        await refused(path, 'type=MINI', { code: -1102 });
      }
      for (const bad of ['60m', '24h', '8d', '1d2h', '1w', 'x']) {
        await refused('ticker', `symbol=BTCUSDT&windowSize=${bad}`, {
          code: -1100,
          msg: "Illegal characters found in parameter 'windowSize'; legal range is '1m-59m, 1h-23h, 1d-7d'.",
        });
      }
      await refused('ticker/tradingDay', 'symbol=BTCUSDT&timeZone=%2B15:00', {
        code: -1100,
        msg: "Illegal characters found in parameter 'timeZone'; legal range is '-12:00 to +14:00'.",
      });
    });

    it('charges 4 per symbol, 200 above 50 symbols, 4 when none is sent', async () => {
      const names = (n: number) =>
        `symbols=${encodeURIComponent(JSON.stringify(Array.from({ length: n }, (_, i) => `X${i}`)))}`;
      for (const path of ['ticker/tradingDay', 'ticker']) {
        const weights = [
          (await get(path, 'symbol=BTCUSDT')).weight,
          (await get(path, `symbols=${encodeURIComponent('["BTCUSDT","ETHBTC"]')}`)).weight,
          (await get(path, names(50))).weight,
          (await get(path, names(51))).weight,
          (await get(path, names(100))).weight,
          (await get(path)).weight,
          (await get(path, 'symbols=%5B%5D')).weight,
        ];
        assert.deepEqual(weights, [4, 8, 200, 200, 200, 4, 4], path);
      }
    });
  });

  describe('GET /api/v3/ticker/price and ticker/bookTicker', () => {
    it('answers {symbol, price}: an object for symbol (weight 2), an array otherwise (weight 4)', async () => {
      const one = await get('ticker/price', 'symbol=BTCUSDT');
      assert.deepEqual(one.json, { symbol: 'BTCUSDT', price: '50010.00000000' });
      assert.equal(one.weight, 2);
      const list = await get('ticker/price', `symbols=${encodeURIComponent('["BTCUSDT","ETHBTC"]')}`);
      assert.deepEqual(list.json, [
        { symbol: 'BTCUSDT', price: '50010.00000000' },
        { symbol: 'ETHBTC', price: '0.00000000' },
      ]);
      assert.equal(list.weight, 4);
      const all = await get('ticker/price');
      assert.deepEqual(
        all.json.map((t: { symbol: string }) => t.symbol),
        ['BTCUSDT', 'ETHUSDT', 'ETHBTC'],
      );
      assert.equal(all.weight, 4);
    });

    it('answers {symbol, bidPrice, bidQty, askPrice, askQty} strings: object for symbol, array otherwise', async () => {
      const one = await get('ticker/bookTicker', 'symbol=BTCUSDT');
      assert.deepEqual(one.json, {
        symbol: 'BTCUSDT',
        bidPrice: '49990.00000000',
        bidQty: '0.40000000',
        askPrice: '50010.00000000',
        askQty: '0.10000000',
      });
      assert.equal(one.weight, 2);
      const eth = await get('ticker/bookTicker', `symbols=${encodeURIComponent('["ETHUSDT"]')}`);
      assert.deepEqual(eth.json, [
        {
          symbol: 'ETHUSDT',
          bidPrice: `${ethBid(DEEP_LEVELS - 1)}000000`,
          bidQty: '0.01000000',
          askPrice: '0.00000000',
          askQty: '0.00000000',
        },
      ]);
      assert.equal(eth.weight, 4);
      const all = await get('ticker/bookTicker');
      assert.equal(all.json.length, 3);
      assert.equal(all.weight, 4);
    });
  });

  describe('errors shared by every endpoint', () => {
    const needSymbol = ['depth', 'trades', 'historicalTrades', 'aggTrades', 'klines', 'uiKlines', 'avgPrice'];

    it('refuses a missing or empty mandatory symbol (-1102), a malformed one (-1100), an unknown one (-1121)', async () => {
      for (const path of needSymbol) {
        const interval = path.endsWith('lines') ? '&interval=1m' : '';
        await refused(path, interval === '' ? undefined : interval.slice(1), MANDATORY_SYMBOL);
        await refused(path, `symbol=${interval}`, MANDATORY_SYMBOL);
        await refused(path, `symbol=btcusdt${interval}`, { code: -1100, msg: SYMBOL_RANGE });
        await refused(path, `symbol=BTC%20USDT${interval}`, { code: -1100, msg: SYMBOL_RANGE });
        await refused(path, `symbol=DOGEUSDT${interval}`, { code: -1121, msg: 'Invalid symbol.' });
      }
    });

    it('refuses parameters the endpoint does not read (-1104)', async () => {
      await refused('depth', 'symbol=BTCUSDT&fromId=1', {
        code: -1104,
        msg: "Not all sent parameters were read; read '1' parameter(s) but was sent '2'.",
      });
      await refused('ticker/price', 'symbol=BTCUSDT&type=MINI', { code: -1104 });
      await refused('avgPrice', 'symbol=BTCUSDT&limit=5', { code: -1104 });
    });

    it('refuses a repeated parameter (-1101) and a bad time unit header (-1194)', async () => {
      await refused('depth', 'symbol=BTCUSDT&symbol=ETHBTC', {
        code: -1101,
        msg: "Duplicate values for parameter 'symbol'.",
      });
      const r = await get('trades', 'symbol=BTCUSDT', { 'X-MBX-TIME-UNIT': 'NANOSECOND' });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, -1194);
    });
  });

  describe('when the builder cannot be reached', () => {
    let down: Gateway;
    let asked = 0;

    before(async () => {
      const failing: MarketDataQueries = {
        query: async () => {
          asked++;
          throw new Error('not connected to the core');
        },
      };
      down = await startTestGateway({
        clock: gwClock,
        routes: marketDataRoutes({ queries: failing, markets: h.markets }),
      });
    });
    after(async () => {
      await down.close();
    });

    it('answers 503 -1001 for every endpoint (weight still charged), and 4xx for bad input without asking', async () => {
      const good: [string, string][] = [
        ['depth', 'symbol=BTCUSDT&limit=1000'],
        ['trades', 'symbol=BTCUSDT'],
        ['historicalTrades', 'symbol=BTCUSDT'],
        ['aggTrades', 'symbol=BTCUSDT'],
        ['klines', 'symbol=BTCUSDT&interval=1m'],
        ['uiKlines', 'symbol=BTCUSDT&interval=1m'],
        ['avgPrice', 'symbol=BTCUSDT'],
        ['ticker/24hr', ''],
        ['ticker/tradingDay', 'symbol=BTCUSDT'],
        ['ticker', 'symbol=BTCUSDT'],
        ['ticker/price', 'symbol=BTCUSDT'],
        ['ticker/bookTicker', ''],
      ];
      for (const [path, query] of good) {
        const r = await get(path, query === '' ? undefined : query, undefined, down);
        assert.equal(r.status, 503, path);
        assert.deepEqual(r.json, {
          code: -1001,
          msg: 'Internal error; unable to process your request. Please try again.',
        });
      }
      assert.equal(asked, good.length);
      const weighed = await get('depth', 'symbol=BTCUSDT&limit=1000', undefined, down);
      assert.equal(weighed.weight, 50);
      const bad = await get('depth', 'symbol=DOGEUSDT', undefined, down);
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, -1121);
      assert.equal(asked, good.length + 1);
    });
  });
});
