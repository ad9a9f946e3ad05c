/**
 * The one-process platform on a PostgreSQL server (DATABASE_URL, set by `.ci/run`), where the
 * persister runs on a thread of its own: a client reads its own trade in history right after the
 * reply, the admin API's ledger check agrees with the engine, and a restart resumes the history
 * where it stopped without writing anything twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PersisterThread } from '../../accounts/history/persister-thread.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { silentLogger } from '../../accounts/logger.ts';
import { loadConfig } from '../../platform/config.ts';
import { type Platform, startPlatform } from '../../platform/platform.ts';
import { gatewayRoutes } from '../../platform/routes.ts';
import { resetServer, serverUrlOrSkip } from '../accounts/dialects.ts';
import { signedRequest } from './signed-request.ts';

describe('platform in one process, on PostgreSQL', function () {
  this.timeout(120_000);
  const url = serverUrlOrSkip();
  if (url === undefined) return;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-platform-pg-'));
  const hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  const env = {
    DATABASE_URL: url,
    CROSSBOOK_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_FSYNC: 'false',
    CROSSBOOK_ADMIN_TOKEN: 'test-admin-token-pg-0123456789',
  };
  let platform: Platform;
  const start = (extra: Record<string, string> = {}) =>
    startPlatform(loadConfig({ ...env, ...extra }), { hasher, logger: silentLogger, routes: gatewayRoutes });
  const base = () => `http://127.0.0.1:${platform.gateway!.port}`;
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${base()}${route}`, {
      method,
      headers: { authorization: `Bearer ${env.CROSSBOOK_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const signed = (
    who: Record<string, unknown>,
    method: string,
    route: string,
    params: Record<string, string>,
  ) => signedRequest(base(), who, method, route, params);

  before(async () => {
    await resetServer(url);
    platform = await start();
  });
  after(async () => {
    await platform?.close();
    await hasher.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let buyer: Record<string, unknown>;
  it('runs the persister on its own thread; the false setting keeps it on the core thread', async () => {
    assert.ok(platform.persister instanceof PersisterThread);
    await platform.close();
    platform = await start({ CROSSBOOK_PERSISTER_THREAD: 'false' });
    assert.ok(platform.persister !== null && !(platform.persister instanceof PersisterThread));
    await platform.close();
    platform = await start();
    assert.ok(platform.persister instanceof PersisterThread);
  });

  it("shows a client its own trade in history right after the order's reply", async () => {
    const seller = (
      await admin('POST', '/admin/v1/users', {
        email: 'seller@example.com',
        deposits: [{ asset: 'BTC', amount: '1' }],
        kycTier: 1,
      })
    ).body;
    buyer = (
      await admin('POST', '/admin/v1/users', {
        email: 'buyer@example.com',
        deposits: [{ asset: 'USDT', amount: '100000' }],
        kycTier: 1,
      })
    ).body;
    const ask = await signed(seller, 'POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'SELL',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.5',
      price: '50000',
    });
    assert.equal(ask.status, 200, JSON.stringify(ask.body));
    const bid = await signed(buyer, 'POST', '/api/v3/order', {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '0.2',
      newOrderRespType: 'FULL',
    });
    assert.equal(bid.status, 200, JSON.stringify(bid.body));
    assert.equal(bid.body.status, 'FILLED');
    const mine = await signed(buyer, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT' });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(
      mine.body.map((t) => [(t as Record<string, unknown>).qty, (t as Record<string, unknown>).price]),
      [['0.20000000', '50000.00000000']],
    );
    const check = await admin('GET', '/admin/v1/ledger/check');
    assert.equal(check.status, 200, JSON.stringify(check.body));
    assert.deepEqual(check.body.differences, [], JSON.stringify(check.body));
    assert.ok((check.body.compared as number) > 0);
  });

  it('resumes the history after a restart without writing anything twice', async () => {
    const before = platform.persister!.lastSeq();
    assert.ok(before > 0);
    await platform.close();
    platform = await start();
    assert.equal(platform.persister!.lastSeq(), before);
    const mine = await signed(buyer, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT' });
    assert.equal(mine.body.length, 1);
    const orders = await signed(buyer, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT' });
    assert.equal(orders.body.length, 1);
    assert.equal((orders.body[0] as Record<string, unknown>).status, 'FILLED');
  });
});
