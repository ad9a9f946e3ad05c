/**
 * Orders that rest across a restart of the whole platform in one process (PGlite, journal,
 * persister, core, gateway): the new gateway's order view is seeded from the accounts database,
 * so GET /api/v3/openOrders lists them as they stood, their later fills reach the user data
 * stream with their whole history (cumulative quantity, status), and DELETE /api/v3/order and
 * DELETE /api/v3/openOrders answer with their details.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'undici';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { silentLogger } from '../../accounts/logger.ts';
import { loadConfig } from '../../platform/config.ts';
import { type Platform, startPlatform } from '../../platform/platform.ts';
import { gatewayRoutes } from '../../platform/routes.ts';

type Json = Record<string, unknown>;
interface Keys {
  readonly userId: number;
  readonly apiKey: string;
  readonly secretKey: string;
}

describe('open orders across a platform restart', function () {
  this.timeout(120_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-open-orders-'));
  const hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  const config = loadConfig({
    CROSSBOOK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_FSYNC: 'false',
    CROSSBOOK_ADMIN_TOKEN: 'open-orders-admin-token-0123',
  });
  let platform: Platform;
  const start = () => startPlatform(config, { hasher, logger: silentLogger, routes: gatewayRoutes });
  const base = () => `http://127.0.0.1:${platform.gateway!.port}`;

  const user = async (email: string, deposits: { asset: string; amount: string }[]): Promise<Keys> => {
    const res = await fetch(`${base()}/admin/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, deposits, kycTier: 1 }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Keys;
  };
  const signed = async <T = Json>(
    who: Keys,
    method: string,
    route: string,
    params: Record<string, string>,
  ): Promise<{ status: number; body: T }> => {
    const query = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
    const signature = createHmac('sha256', who.secretKey).update(query).digest('hex');
    const res = await fetch(`${base()}${route}?${query}&signature=${signature}`, {
      method,
      headers: { 'X-MBX-APIKEY': who.apiKey },
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const limit = (
    symbol: string,
    side: string,
    quantity: string,
    price: string,
    cid: string,
    tif = 'GTC',
  ) => ({
    symbol,
    side,
    type: 'LIMIT',
    timeInForce: tif,
    quantity,
    price,
    newClientOrderId: cid,
  });
  const openOrders = async (who: Keys, symbol?: string) => {
    const r = await signed<Json[]>(who, 'GET', '/api/v3/openOrders', symbol === undefined ? {} : { symbol });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const summary = (orders: Json[]) => orders.map((o) => [o.clientOrderId, o.status, o.executedQty]);

  let maker: Keys;
  let taker: Keys;

  before(async () => {
    platform = await start();
  });
  after(async () => {
    await platform?.close();
    await hasher.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists resting and partially filled orders after a restart exactly as before it', async () => {
    maker = await user('maker@example.com', [
      { asset: 'BTC', amount: '1' },
      { asset: 'USDT', amount: '10000' },
    ]);
    taker = await user('taker@example.com', [{ asset: 'USDT', amount: '100000' }]);
    for (const p of [
      limit('BTCUSDT', 'SELL', '0.5', '60000', 'ask-a'),
      { ...limit('BTCUSDT', 'SELL', '0.2', '61000', 'ask-b'), selfTradePreventionMode: 'EXPIRE_BOTH' },
      {
        symbol: 'BTCUSDT',
        side: 'SELL',
        type: 'LIMIT_MAKER',
        quantity: '0.1',
        price: '62000',
        newClientOrderId: 'ask-c',
        selfTradePreventionMode: 'EXPIRE_TAKER',
      },
      limit('ETHUSDT', 'BUY', '1', '2000', 'bid-e'),
    ]) {
      const r = await signed(maker, 'POST', '/api/v3/order', p);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const fill = await signed(
      taker,
      'POST',
      '/api/v3/order',
      limit('BTCUSDT', 'BUY', '0.2', '60000', 't-1', 'IOC'),
    );
    assert.equal(fill.body.status, 'FILLED', JSON.stringify(fill.body));
    const before = await openOrders(maker);
    assert.deepEqual(summary(before), [
      ['ask-a', 'PARTIALLY_FILLED', '0.20000000'],
      ['ask-b', 'NEW', '0.00000000'],
      ['ask-c', 'NEW', '0.00000000'],
      ['bid-e', 'NEW', '0.00000000'],
    ]);

    await platform.close();
    platform = await start();

    assert.deepEqual(await openOrders(maker), before);
    assert.deepEqual(summary(await openOrders(maker, 'ETHUSDT')), [['bid-e', 'NEW', '0.00000000']]);
    assert.deepEqual(await openOrders(taker), []);
    const order = await signed(maker, 'GET', '/api/v3/order', {
      symbol: 'BTCUSDT',
      origClientOrderId: 'ask-a',
    });
    assert.deepEqual(order.body, before[0]);
  });

  it('follows the seeded orders: a fill reaches the user data stream and the open orders with their history', async () => {
    const created = await fetch(`${base()}/api/v3/userDataStream`, {
      method: 'POST',
      headers: { 'X-MBX-APIKEY': maker.apiKey },
    });
    const { listenKey } = (await created.json()) as { listenKey: string };
    const ws = new WebSocket(`ws://127.0.0.1:${platform.gateway!.port}/ws/${listenKey}`);
    const reports: Json[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('the stream did not open')));
      });
      ws.addEventListener('message', (m) => {
        const event = JSON.parse(String(m.data)) as Json;
        if (event.e === 'executionReport') reports.push(event);
      });
      // 0.3 left of ask-a at 60000, then 0.1 of ask-b at 61000.
      const fill = await signed(
        taker,
        'POST',
        '/api/v3/order',
        limit('BTCUSDT', 'BUY', '0.4', '61000', 't-2', 'IOC'),
      );
      assert.equal(fill.body.status, 'FILLED', JSON.stringify(fill.body));
      for (let i = 0; i < 200 && reports.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      ws.close();
    }
    assert.deepEqual(
      reports.map((r) => [r.c, r.x, r.X, r.q, r.l, r.z, r.Z]),
      [
        ['ask-a', 'TRADE', 'FILLED', '0.50000000', '0.30000000', '0.50000000', '30000.00000000'],
        ['ask-b', 'TRADE', 'PARTIALLY_FILLED', '0.20000000', '0.10000000', '0.10000000', '6100.00000000'],
      ],
    );
    assert.deepEqual(summary(await openOrders(maker, 'BTCUSDT')), [
      ['ask-b', 'PARTIALLY_FILLED', '0.10000000'],
      ['ask-c', 'NEW', '0.00000000'],
    ]);
  });

  it('cancels seeded orders one by one and all at once, answering with their details', async () => {
    const one = await signed(maker, 'DELETE', '/api/v3/order', {
      symbol: 'BTCUSDT',
      origClientOrderId: 'ask-c',
    });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    // The type and STP mode are not in the engine's cancel event: only the view knows them.
    const { origClientOrderId, status, type, selfTradePreventionMode, price, origQty } = one.body;
    assert.deepEqual(
      { origClientOrderId, status, type, selfTradePreventionMode, price, origQty },
      {
        origClientOrderId: 'ask-c',
        status: 'CANCELED',
        type: 'LIMIT_MAKER',
        selfTradePreventionMode: 'EXPIRE_TAKER',
        price: '62000.00000000',
        origQty: '0.10000000',
      },
    );
    const all = await signed<Json[]>(maker, 'DELETE', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(
      all.body.map((o) => [
        o.origClientOrderId,
        o.status,
        o.selfTradePreventionMode,
        o.origQty,
        o.executedQty,
        o.cummulativeQuoteQty,
      ]),
      [['ask-b', 'CANCELED', 'EXPIRE_BOTH', '0.20000000', '0.10000000', '6100.00000000']],
    );
    const eth = await signed<Json[]>(maker, 'DELETE', '/api/v3/openOrders', { symbol: 'ETHUSDT' });
    assert.deepEqual(
      eth.body.map((o) => [o.origClientOrderId, o.side, o.price, o.origQty]),
      [['bid-e', 'BUY', '2000.00000000', '1.00000000']],
    );
    assert.deepEqual(await openOrders(maker), []);
    const balances = await platform.client.balancesOf(maker.userId);
    assert.ok(balances.every((b) => b.locked === 0));
  });
});
