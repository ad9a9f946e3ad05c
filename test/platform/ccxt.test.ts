/**
 * A real Binance client, unchanged but for its base URLs: ccxt (4.5.x, its `binance` class,
 * REST and WebSocket) against the whole platform in one process. Markets load, an order book
 * and trades come back, orders are placed, looked up, filled and canceled, balances and trades
 * read back; its WebSocket methods (watchOrderBook, watchTrades, watchTicker, watchOHLCV,
 * watchOrders) see the same market. If ccxt cannot parse an answer, it throws: every call here
 * is also a check of field names and types against what ccxt expects from Binance.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ccxt from 'ccxt';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { silentLogger } from '../../accounts/logger.ts';
import { loadConfig } from '../../platform/config.ts';
import { type Platform, startPlatform } from '../../platform/platform.ts';
import { gatewayRoutes } from '../../platform/routes.ts';

type Binance = InstanceType<typeof ccxt.pro.binance>;

describe('ccxt (binance) against the platform', function () {
  this.timeout(180_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-ccxt-'));
  const hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  const config = loadConfig({
    CROSSBOOK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_FSYNC: 'false',
    CROSSBOOK_ADMIN_TOKEN: 'ccxt-admin-token-0123456789',
  });
  let platform: Platform;
  const clients: Binance[] = [];

  const user = async (email: string, deposits: { asset: string; amount: string }[]) => {
    const res = await fetch(`http://127.0.0.1:${platform.gateway!.port}/admin/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, deposits, kycTier: 2 }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { userId: number; apiKey: string; secretKey: string };
  };

  /** ccxt's binance with only its URLs pointed at the platform. */
  const client = (who?: { apiKey: string; secretKey: string }): Binance => {
    const base = `http://127.0.0.1:${platform.gateway!.port}`;
    const ex = new ccxt.pro.binance({
      ...(who === undefined ? {} : { apiKey: who.apiKey, secret: who.secretKey }),
      enableRateLimit: false,
      options: {
        defaultType: 'spot',
        fetchMarkets: { types: ['spot'] },
        fetchCurrencies: false,
        fetchMargins: false,
      },
    });
    const api = ex.urls.api as Record<string, unknown>;
    for (const k of ['public', 'private']) api[k] = `${base}/api/v3`;
    api.v1 = `${base}/api/v1`;
    api.sapi = `${base}/sapi/v1`;
    const ws = api.ws as Record<string, unknown>;
    ws.spot = `ws://127.0.0.1:${platform.gateway!.port}/ws`;
    (ws['ws-api'] as Record<string, string>).spot = `ws://127.0.0.1:${platform.gateway!.port}/ws-api/v3`;
    clients.push(ex);
    return ex;
  };

  /** The promise's value, or undefined if it has not settled within `ms`. */
  const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
    Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

  before(async () => {
    platform = await startPlatform(config, { hasher, logger: silentLogger, routes: gatewayRoutes });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await platform?.close();
    await hasher.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads the spot markets with their precisions and limits', async () => {
    const ex = client();
    const markets = await ex.loadMarkets();
    assert.deepEqual(Object.keys(markets).sort(), ['BTC/USDT', 'ETH/BTC', 'ETH/USDT']);
    const m = markets['BTC/USDT']!;
    assert.equal(m.id, 'BTCUSDT');
    assert.equal(m.spot, true);
    assert.equal(m.active, true);
    assert.ok((m.precision.price ?? 0) > 0 && (m.precision.amount ?? 0) > 0);
    assert.ok((m.limits.amount?.min ?? 0) > 0);
    const time = await ex.fetchTime();
    assert.ok(Math.abs((time ?? 0) - Date.now()) < 60_000);
  });

  it('trades: limit orders rest, are looked up, fill and cancel; balances and trades agree', async () => {
    const makerKeys = await user('ccxt-maker@example.com', [{ asset: 'ETH', amount: '10' }]);
    const takerKeys = await user('ccxt-taker@example.com', [{ asset: 'USDT', amount: '100000' }]);
    const maker = client(makerKeys);
    const taker = client(takerKeys);
    await maker.loadMarkets();
    await taker.loadMarkets();

    const ask = await maker.createOrder('ETH/USDT', 'limit', 'sell', 2, 3000);
    assert.equal(ask.status, 'open');
    assert.equal(ask.amount, 2);
    const far = await maker.createOrder('ETH/USDT', 'limit', 'sell', 1, 3500);
    const book = await taker.fetchOrderBook('ETH/USDT');
    assert.deepEqual(book.asks, [
      [3000, 2],
      [3500, 1],
    ]);
    assert.deepEqual(book.bids, []);
    assert.ok(typeof book.nonce === 'number' && book.nonce > 0);

    const bought = await taker.createOrder('ETH/USDT', 'limit', 'buy', 1.5, 3100);
    assert.equal(bought.status, 'closed');
    assert.equal(bought.filled, 1.5);
    assert.equal(bought.average, 3000);
    assert.ok((bought.trades?.length ?? 0) >= 1, 'FULL response fills are parsed as trades');

    const askId = String(ask.id);
    const farId = String(far.id);
    const again = await maker.fetchOrder(askId, 'ETH/USDT');
    assert.equal(again.status, 'open');
    assert.equal(again.filled, 1.5);
    assert.equal(again.remaining, 0.5);
    const open = await maker.fetchOpenOrders('ETH/USDT');
    assert.deepEqual(open.map((o) => o.id).sort(), [askId, farId].sort());
    const canceled = await maker.cancelOrder(farId, 'ETH/USDT');
    assert.equal(canceled.status, 'canceled');
    await assert.rejects(maker.cancelOrder(farId, 'ETH/USDT'), ccxt.OrderNotFound);

    const trades = await taker.fetchMyTrades('ETH/USDT');
    assert.equal(trades.length, 1);
    assert.equal(trades[0]!.price, 3000);
    assert.equal(trades[0]!.amount, 1.5);
    assert.equal(trades[0]!.side, 'buy');
    const publicTrades = await taker.fetchTrades('ETH/USDT');
    assert.equal(publicTrades.length, 1);

    const balance = await taker.fetchBalance();
    // Taker fee 0.1% of 1.5 ETH, paid in ETH.
    assert.equal(balance.ETH?.free, 1.4985);
    assert.equal(balance.USDT?.free, 100000 - 4500);

    await assert.rejects(taker.createOrder('ETH/USDT', 'limit', 'buy', 40, 3000), ccxt.InsufficientFunds);
    await assert.rejects(
      maker.createOrder('ETH/USDT', 'limit', 'sell', 0.1, 2000, { timeInForce: 'GTX' }),
      ccxt.BaseError,
    );
    const all = await maker.fetchOrders('ETH/USDT');
    assert.ok(all.length >= 2);
  });

  it('watches the order book, trades, ticker and klines over WebSocket', async () => {
    const sellerKeys = await user('ccxt-ws-seller@example.com', [{ asset: 'BTC', amount: '1' }]);
    const buyerKeys = await user('ccxt-ws-buyer@example.com', [{ asset: 'USDT', amount: '100000' }]);
    const seller = client(sellerKeys);
    const buyer = client(buyerKeys);
    const watcher = client();
    // ccxt asks for this once before it uses plain ws:// URLs.
    for (const c of [seller, buyer, watcher]) await c.loadHttpProxyAgent();
    await Promise.all([seller.loadMarkets(), buyer.loadMarkets(), watcher.loadMarkets()]);
    // Subscribed before anything happens.
    const bookReady = watcher.watchOrderBook('BTC/USDT');
    await seller.createOrder('BTC/USDT', 'limit', 'sell', 0.5, 60000);
    const book = await bookReady;
    assert.ok(book.asks.length >= 0);
    // A subscription is in place a few round trips after its watch call (the user data one
    // signs in over the WebSocket API first), and a fill before that is not streamed to it. So
    // fills of 0.1 go on, one at a time, until both have seen one: no guess at how long the
    // round trips take on a loaded machine.
    const tradesNext = watcher.watchTrades('BTC/USDT');
    const ordersNext = seller.watchOrders('BTC/USDT');
    let trades: Awaited<typeof tradesNext> | undefined;
    let orders: Awaited<typeof ordersNext> | undefined;
    let fills = 0;
    while ((trades === undefined || orders === undefined) && fills < 4) {
      await buyer.createOrder('BTC/USDT', 'limit', 'buy', 0.1, 61000);
      fills++;
      trades ??= await within(tradesNext, 2000);
      orders ??= await within(ordersNext, 2000);
    }
    assert.ok(trades !== undefined && orders !== undefined, `no trade or order update after ${fills} fills`);
    assert.equal(trades.at(-1)!.price, 60000);
    assert.equal(trades.at(-1)!.amount, 0.1);
    const filled = orders.at(-1)!.filled!;
    assert.ok(
      [0.1, 0.2, 0.3, 0.4].includes(filled) && filled <= fills / 10,
      `seller's order filled ${filled}`,
    );
    // The local book ccxt keeps from the diffs converges to the engine's (read from ccxt's
    // cache: the last diff may have come before this line, and none follows it).
    const left = (5 - fills) / 10;
    const rest = await watcher.fetchOrderBook('BTC/USDT');
    assert.deepEqual(rest.asks, [[60000, left]]);
    let asks: number[][] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const b = watcher.orderbooks['BTC/USDT'];
      asks = b === undefined ? [] : Array.from(b.asks as number[][], (level) => [level[0]!, level[1]!]);
      if (asks.length === 1 && asks[0]![1] === left) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(asks, [[60000, left]]);
    const ticker = await watcher.watchTicker('BTC/USDT');
    assert.equal(ticker.last, 60000);
    const candles = await watcher.watchOHLCV('BTC/USDT', '1m');
    assert.equal(candles.at(-1)![4], 60000);
  });
});
