/**
 * The whole platform in one process, as `npm start` runs it (PGlite, journal, persister, core,
 * gateway), driven over real sockets through the admin API: users with keys and funding,
 * deposits, the ledger check, the audit chain; then a restart resumes where it stopped.
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
import { signedRequest } from './signed-request.ts';

describe('platform in one process', function () {
  this.timeout(180_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-platform-'));
  const hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  const config = loadConfig({
    CROSSBOOK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_FSYNC: 'false',
    CROSSBOOK_ADMIN_TOKEN: 'test-admin-token-0123456789',
  });
  let platform: Platform;
  const start = () => startPlatform(config, { hasher, logger: silentLogger, routes: gatewayRoutes });
  const admin = async (method: string, route: string, body?: unknown, token = config.adminToken) => {
    const res = await fetch(`http://127.0.0.1:${platform.gateway!.port}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    platform = await start();
  });
  after(async () => {
    await platform?.close();
    await hasher.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz and the public API', async () => {
    const health = await fetch(`http://127.0.0.1:${platform.gateway!.port}/healthz`);
    assert.equal(health.status, 200);
    const info = (await (
      await fetch(`http://127.0.0.1:${platform.gateway!.port}/api/v3/exchangeInfo`)
    ).json()) as {
      symbols: { symbol: string }[];
    };
    assert.deepEqual(
      info.symbols.map((s) => s.symbol),
      ['BTCUSDT', 'ETHUSDT', 'ETHBTC'],
    );
  });

  it('refuses the admin API without the token', async () => {
    const r = await admin('GET', '/admin/v1/shards', undefined, 'wrong-token-wrong-token');
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'admin.unauthorized');
  });

  it('creates a funded user with an API key, credits deposits idempotently, and the ledger agrees with the engine', async () => {
    const created = await admin('POST', '/admin/v1/users', {
      email: 'trader@example.com',
      deposits: [
        { asset: 'USDT', amount: '10000' },
        { asset: 'BTC', amount: '0.5' },
      ],
      kycTier: 2,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const userId = created.body.userId as number;
    assert.match(created.body.apiKey as string, /^[A-Za-z0-9]{64}$/);
    assert.match(created.body.secretKey as string, /^[A-Za-z0-9]{64}$/);
    const balances = await platform.client.balancesOf(userId);
    assert.deepEqual(
      balances.map((b) => b.free),
      [50_000_000, 0, 1_000_000_000_000],
    );
    const deposit = { userId, asset: 'ETH', amount: '2', txId: '0xfeed' };
    const first = await admin('POST', '/admin/v1/deposits', deposit);
    const again = await admin('POST', '/admin/v1/deposits', deposit);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(again.body.id, first.body.id);
    assert.equal((await platform.client.balancesOf(userId))[1]!.free, 200_000_000);
    const bad = await admin('POST', '/admin/v1/deposits', { userId, asset: 'DOGE', amount: '1' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.code as string, /^deposit\./);

    const ledger = await admin('GET', '/admin/v1/ledger/check');
    assert.equal(ledger.status, 200, JSON.stringify(ledger.body));
    assert.deepEqual(ledger.body.differences, []);
    const audit = await admin('GET', '/admin/v1/audit/verify');
    assert.equal(audit.body.ok, true);
    assert.ok((audit.body.entries as number) >= 4);
  });

  it('trades over the signed Binance API: orders, fills with commissions, account, history', async () => {
    const maker = await admin('POST', '/admin/v1/users', {
      email: 'maker@example.com',
      deposits: [{ asset: 'BTC', amount: '1' }],
      kycTier: 1,
    });
    const taker = await admin('POST', '/admin/v1/users', {
      email: 'taker@example.com',
      deposits: [{ asset: 'USDT', amount: '100000' }],
      kycTier: 1,
    });
    const signed = (
      who: Record<string, unknown>,
      method: string,
      route: string,
      params: Record<string, string>,
    ) => signedRequest(`http://127.0.0.1:${platform.gateway!.port}`, who, method, route, params);
    const ask = await signed(maker.body, 'POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.5',
      price: '60000',
      newClientOrderId: 'ask-1',
    });
    assert.equal(ask.status, 200, JSON.stringify(ask.body));
    assert.equal(ask.body.status, 'NEW');
    const buy = await signed(taker.body, 'POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quoteOrderQty: '15000',
      newOrderRespType: 'FULL',
    });
    assert.equal(buy.status, 200, JSON.stringify(buy.body));
    assert.equal(buy.body.status, 'FILLED');
    assert.equal(buy.body.executedQty, '0.25000000');
    assert.deepEqual(buy.body.fills, [
      {
        price: '60000.00000000',
        qty: '0.25000000',
        commission: '0.00025000',
        commissionAsset: 'BTC',
        tradeId: 1,
      },
    ]);
    const account = await signed(taker.body, 'GET', '/api/v3/account', { omitZeroBalances: 'true' });
    assert.deepEqual(account.body.balances, [
      { asset: 'BTC', free: '0.24975000', locked: '0.00000000' },
      { asset: 'USDT', free: '85000.00000000', locked: '0.00000000' },
    ]);
    const open = await signed(maker.body, 'GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
    assert.equal(open.body.length, 1);
    assert.equal(open.body[0]!.executedQty, '0.25000000');
    // History comes from the database the persister writes.
    await platform.persister!.flushed(platform.core!.lastSeq);
    const trades = await signed(taker.body, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT' });
    assert.equal(trades.body.length, 1);
    assert.equal(trades.body[0]!.isBuyer, true);
    const all = await signed(maker.body, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT' });
    assert.deepEqual(
      all.body.map((o) => [o.clientOrderId, o.status]),
      [['ask-1', 'PARTIALLY_FILLED']],
    );
    const insufficient = await signed(taker.body, 'POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '10',
      price: '60000',
    });
    assert.equal(insufficient.status, 400);
    assert.deepEqual(insufficient.body, {
      code: -2010,
      msg: 'Account has insufficient balance for requested action.',
    });
    const ledger = await admin('GET', '/admin/v1/ledger/check');
    assert.deepEqual(ledger.body.differences, []);
  });

  it("streams a user's own events on /ws/<listenKey>", async () => {
    const user = await admin('POST', '/admin/v1/users', {
      email: 'streamer@example.com',
      deposits: [{ asset: 'USDT', amount: '1000' }],
      kycTier: 1,
    });
    const base = `http://127.0.0.1:${platform.gateway!.port}`;
    const created = await fetch(`${base}/api/v3/userDataStream`, {
      method: 'POST',
      headers: { 'X-MBX-APIKEY': user.body.apiKey as string },
    });
    const { listenKey } = (await created.json()) as { listenKey: string };
    assert.equal(listenKey.length, 60);
    const ws = new WebSocket(`ws://127.0.0.1:${platform.gateway!.port}/ws/${listenKey}`);
    const messages: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('the stream did not open')));
    });
    ws.addEventListener('message', (m) =>
      messages.push(JSON.parse(String(m.data)) as Record<string, unknown>),
    );
    const query = new URLSearchParams({
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.001',
      price: '50000',
      newClientOrderId: 'streamed-1',
      timestamp: String(Date.now()),
    }).toString();
    const signature = createHmac('sha256', user.body.secretKey as string)
      .update(query)
      .digest('hex');
    const placed = await fetch(`${base}/api/v3/order?${query}&signature=${signature}`, {
      method: 'POST',
      headers: { 'X-MBX-APIKEY': user.body.apiKey as string },
    });
    assert.equal(placed.status, 200);
    for (let i = 0; i < 200 && !messages.some((m) => m.e === 'executionReport'); i++)
      await new Promise((r) => setTimeout(r, 10));
    ws.close();
    const report = messages.find((m) => m.e === 'executionReport')!;
    assert.equal(report.c, 'streamed-1');
    assert.equal(report.x, 'NEW');
    assert.equal(report.X, 'NEW');
    assert.equal(report.p, '50000.00000000');
  });

  it('registers and signs in a web user under /api/crossbook/v1', async () => {
    const base = `http://127.0.0.1:${platform.gateway!.port}/api/crossbook/v1`;
    const json = { 'content-type': 'application/json' };
    const credentials = JSON.stringify({ email: 'web@example.com', password: 'a long passphrase 42' });
    const reg = await fetch(`${base}/register`, { method: 'POST', headers: json, body: credentials });
    assert.equal(reg.status, 200, await reg.clone().text());
    const login = await fetch(`${base}/login`, { method: 'POST', headers: json, body: credentials });
    const session = (await login.json()) as { sessionToken: string };
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${session.sessionToken}` } });
    assert.equal(((await me.json()) as { email: string }).email, 'web@example.com');
    const wrong = await fetch(`${base}/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'web@example.com', password: 'not the passphrase' }),
    });
    assert.equal(wrong.status, 401);
  });

  it('lists and moves shards, hashes and verifies the state', async () => {
    const shards = await admin('GET', '/admin/v1/shards');
    assert.deepEqual(shards.body.shardMap, { BTCUSDT: 0, ETHUSDT: 1, ETHBTC: 1 });
    const moved = await admin('POST', '/admin/v1/shards/move', { symbol: 'ETHBTC', shard: 0 });
    assert.deepEqual(moved.body.shardMap, { BTCUSDT: 0, ETHUSDT: 1, ETHBTC: 0 });
    const hash = await admin('GET', '/admin/v1/state/hash');
    assert.match(hash.body.hash as string, /^[0-9a-f]{64}$/);
    const verified = await admin('POST', '/admin/v1/state/verify');
    assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
    assert.equal(verified.body.hash, hash.body.hash);
  });

  it('restarts where it stopped: same balances, the persister resumed, the ledger still agrees', async () => {
    const before = await platform.client.balancesOf(1);
    const hash = (await admin('GET', '/admin/v1/state/hash')).body.hash;
    await platform.close();
    platform = await start();
    assert.deepEqual(await platform.client.balancesOf(1), before);
    assert.equal((await admin('GET', '/admin/v1/state/hash')).body.hash, hash);
    await admin('POST', '/admin/v1/deposits', {
      userId: 1,
      asset: 'USDT',
      amount: '1',
      txId: 'after-restart',
    });
    const ledger = await admin('GET', '/admin/v1/ledger/check');
    assert.deepEqual(ledger.body.differences, []);
  });
});
