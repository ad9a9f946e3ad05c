/**
 * GET /api/v3/exchangeInfo field for field against Binance's shape, built from the markets
 * file, and its parameters (`symbol`, `symbols`, `permissions`, `symbolStatus`,
 * `showPermissionSets`) with Binance's errors.
 */
import assert from 'node:assert/strict';
import type { Gateway } from '../../gateway/server.ts';
import { demoMarkets, FakeClock, send, startTestGateway } from './helpers.ts';

const BTCUSDT = {
  symbol: 'BTCUSDT',
  status: 'TRADING',
  baseAsset: 'BTC',
  baseAssetPrecision: 8,
  quoteAsset: 'USDT',
  quotePrecision: 8,
  quoteAssetPrecision: 8,
  baseCommissionPrecision: 8,
  quoteCommissionPrecision: 8,
  orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
  icebergAllowed: false,
  ocoAllowed: false,
  otoAllowed: false,
  quoteOrderQtyMarketAllowed: true,
  allowTrailingStop: false,
  cancelReplaceAllowed: true,
  amendAllowed: true,
  pegInstructionsAllowed: false,
  isSpotTradingAllowed: true,
  isMarginTradingAllowed: false,
  filters: [
    {
      filterType: 'PRICE_FILTER',
      minPrice: '0.01000000',
      maxPrice: '1000000.00000000',
      tickSize: '0.01000000',
    },
    { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '90.00000000', stepSize: '0.00001000' },
    { filterType: 'MARKET_LOT_SIZE', minQty: '0.00001000', maxQty: '90.00000000', stepSize: '0.00001000' },
    {
      filterType: 'NOTIONAL',
      minNotional: '5.00000000',
      applyMinToMarket: true,
      maxNotional: '9000000.00000000',
      applyMaxToMarket: true,
      avgPriceMins: 5,
    },
  ],
  permissions: [],
  permissionSets: [['SPOT']],
  defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
  allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT'],
};

describe('GET /api/v3/exchangeInfo', () => {
  const clock = new FakeClock();
  let gw: Gateway;
  before(async () => {
    gw = await startTestGateway({ clock });
  });
  after(() => gw.close());

  const info = (query?: string) => send(gw, '/api/v3/exchangeInfo', query === undefined ? {} : { query });

  it("has Binance's top-level fields, in Binance's order", async () => {
    const r = await info();
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), [
      'timezone',
      'serverTime',
      'rateLimits',
      'exchangeFilters',
      'symbols',
    ]);
    assert.equal(r.json.timezone, 'UTC');
    assert.equal(r.json.serverTime, clock.millis);
    assert.deepEqual(r.json.exchangeFilters, []);
    assert.deepEqual(r.json.rateLimits, [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
    ]);
  });

  it('describes a symbol field for field, in order', async () => {
    const r = await info('symbol=BTCUSDT');
    assert.equal(r.json.symbols.length, 1);
    assert.deepEqual(r.json.symbols[0], BTCUSDT);
    assert.deepEqual(Object.keys(r.json.symbols[0]), Object.keys(BTCUSDT));
    assert.deepEqual(Object.keys(r.json.symbols[0].filters[3] ?? {}), Object.keys(BTCUSDT.filters[3] ?? {}));
  });

  it('lists every market of the markets file, with its own grid', async () => {
    const r = await info();
    assert.deepEqual(
      r.json.symbols.map((s: { symbol: string }) => s.symbol),
      demoMarkets().list.map((m) => m.symbol),
    );
    const ethbtc = r.json.symbols.find((s: { symbol: string }) => s.symbol === 'ETHBTC');
    assert.deepEqual(ethbtc.filters[0], {
      filterType: 'PRICE_FILTER',
      minPrice: '0.00001000',
      maxPrice: '1.00000000',
      tickSize: '0.00001000',
    });
    assert.equal(ethbtc.filters[3].minNotional, '0.00010000');
    assert.equal(ethbtc.quoteAsset, 'BTC');
  });

  it('costs weight 20', async () => {
    const before = Number((await send(gw, '/api/v3/ping')).headers['x-mbx-used-weight-1m']);
    const r = await info();
    assert.equal(Number(r.headers['x-mbx-used-weight-1m']), before + 20);
  });

  it('answers symbols=[...] in the order asked', async () => {
    const r = await info(`symbols=${encodeURIComponent('["ETHBTC","BTCUSDT"]')}`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.symbols.map((s: { symbol: string }) => s.symbol),
      ['ETHBTC', 'BTCUSDT'],
    );
  });

  it('filters by permissions (one name or a list)', async () => {
    assert.equal((await info('permissions=SPOT')).json.symbols.length, 3);
    assert.equal(
      (await info(`permissions=${encodeURIComponent('["MARGIN","SPOT"]')}`)).json.symbols.length,
      3,
    );
    assert.equal((await info('permissions=MARGIN')).json.symbols.length, 0);
  });

  it('filters by symbolStatus and can leave out permissionSets', async () => {
    assert.equal((await info('symbolStatus=TRADING')).json.symbols.length, 3);
    assert.equal((await info('symbolStatus=HALT')).json.symbols.length, 0);
    const r = await info('symbol=ETHUSDT&showPermissionSets=false');
    assert.equal('permissionSets' in r.json.symbols[0], false);
  });

  it('refuses an unknown symbol with 400 -1121', async () => {
    for (const q of ['symbol=DOGEUSDT', `symbols=${encodeURIComponent('["BTCUSDT","DOGEUSDT"]')}`]) {
      const r = await info(q);
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: -1121, msg: 'Invalid symbol.' });
    }
  });

  it('refuses malformed symbols with -1100 and repeated ones with -1151', async () => {
    const bad = await info('symbol=btc%20usdt');
    assert.deepEqual(bad.json, {
      code: -1100,
      msg: "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
    });
    assert.equal((await info('symbols=BTCUSDT')).json.code, -1100);
    const dup = await info(`symbols=${encodeURIComponent('["BTCUSDT","BTCUSDT"]')}`);
    assert.deepEqual(dup.json, { code: -1151, msg: 'Symbol is present multiple times in the list.' });
  });

  it('refuses symbol with symbols (-1128), an unknown symbolStatus (-1122), an empty symbol (-1105)', async () => {
    const both = await info(`symbol=BTCUSDT&symbols=${encodeURIComponent('["ETHBTC"]')}`);
    assert.deepEqual(both.json, { code: -1128, msg: 'Combination of optional parameters invalid.' });
    assert.deepEqual((await info('symbolStatus=OPEN')).json, { code: -1122, msg: 'Invalid symbolStatus.' });
    assert.deepEqual((await info('symbol=')).json, { code: -1105, msg: "Parameter 'symbol' was empty." });
  });
});
