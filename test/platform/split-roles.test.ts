/**
 * Roles split across processes, as production runs them: one core (with the persister) and two
 * stateless gateways that reach it over the binary link. Here the three run in one test process
 * and share one accounts database; everything between them crosses real sockets. Orders placed
 * through either gateway meet in the one book, and each gateway's clients see the result; a
 * third gateway started later knows the orders that rested before it (its view is seeded from
 * the accounts database) and follows them.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AccountsDb, openDatabase } from '../../accounts/db/database.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { silentLogger } from '../../accounts/logger.ts';
import { loadConfig } from '../../platform/config.ts';
import { type Platform, startPlatform } from '../../platform/platform.ts';
import { gatewayRoutes } from '../../platform/routes.ts';

describe('roles split: one core, two gateways over the link', function () {
  this.timeout(180_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-split-'));
  const hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  const env = {
    CROSSBOOK_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    CROSSBOOK_LINK_PORT: '0',
    CROSSBOOK_HEALTH_PORT: '0',
    CROSSBOOK_FSYNC: 'false',
    CROSSBOOK_ADMIN_TOKEN: 'split-roles-admin-token-0123',
  };
  let db: AccountsDb;
  let core: Platform;
  const gateways: Platform[] = [];
  const overrides = () => ({ db, hasher, logger: silentLogger, routes: gatewayRoutes });

  before(async () => {
    db = await openDatabase({});
    core = await startPlatform(loadConfig(env, ['--roles', 'core,persister']), overrides());
    const address = `127.0.0.1:${core.link!.port}`;
    for (let i = 0; i < 2; i++)
      gateways.push(
        await startPlatform(
          loadConfig({ ...env, CROSSBOOK_CORE_ADDRESSES: address }, ['--roles', 'gateway']),
          overrides(),
        ),
      );
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await core?.close();
    await db?.close();
    await hasher.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = async (route: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${core.gateway!.port}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.CROSSBOOK_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { userId: number; apiKey: string; secretKey: string };
  };
  const signed = async <T = Record<string, unknown>>(
    gw: Platform,
    who: { apiKey: string; secretKey: string },
    method: string,
    route: string,
    params: Record<string, string>,
  ): Promise<{ status: number; body: T }> => {
    const query = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
    const signature = createHmac('sha256', who.secretKey).update(query).digest('hex');
    const res = await fetch(`http://127.0.0.1:${gw.gateway!.port}${route}?${query}&signature=${signature}`, {
      method,
      headers: { 'X-MBX-APIKEY': who.apiKey },
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  let seller: { userId: number; apiKey: string; secretKey: string };
  let buyer: { userId: number; apiKey: string; secretKey: string };

  it("serves the core's admin API and health on the core, and the public API on both gateways", async () => {
    const health = await fetch(`http://127.0.0.1:${core.gateway!.port}/healthz`);
    assert.equal(health.status, 200);
    for (const g of gateways) {
      const r = await fetch(`http://127.0.0.1:${g.gateway!.port}/api/v3/ping`);
      assert.equal(r.status, 200);
      assert.equal(g.core, null);
    }
  });

  it('matches orders placed through different gateways in one book', async () => {
    seller = await admin('/admin/v1/users', {
      email: 'seller@example.com',
      deposits: [{ asset: 'ETH', amount: '10' }],
      kycTier: 1,
    });
    buyer = await admin('/admin/v1/users', {
      email: 'buyer@example.com',
      deposits: [{ asset: 'USDT', amount: '50000' }],
      kycTier: 1,
    });
    const ask = await signed(gateways[0]!, seller, 'POST', '/api/v3/order', {
      symbol: 'ETHUSDT',
      side: 'SELL',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '2',
      price: '3000',
    });
    assert.equal(ask.status, 200, JSON.stringify(ask.body));
    const bid = await signed(gateways[1]!, buyer, 'POST', '/api/v3/order', {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'IOC',
      quantity: '1.5',
      price: '3100',
      newOrderRespType: 'FULL',
    });
    assert.equal(bid.status, 200, JSON.stringify(bid.body));
    assert.equal(bid.body.status, 'FILLED');
    assert.equal((bid.body.fills as { price: string }[])[0]!.price, '3000.00000000');
    // The seller's gateway learned of the fill from the link's event stream.
    let order: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      order = (
        await signed(gateways[0]!, seller, 'GET', '/api/v3/order', {
          symbol: 'ETHUSDT',
          orderId: String(ask.body.orderId),
        })
      ).body;
      if (order.status === 'PARTIALLY_FILLED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(order.status, 'PARTIALLY_FILLED');
    assert.equal(order.executedQty, '1.50000000');
    const account = await signed(gateways[0]!, seller, 'GET', '/api/v3/account', {
      omitZeroBalances: 'true',
    });
    assert.deepEqual(account.body.balances, [
      { asset: 'ETH', free: '8.00000000', locked: '0.50000000' },
      { asset: 'USDT', free: '4495.50000000', locked: '0.00000000' },
    ]);
  });

  it('seeds a gateway started after orders rest, which then follows their fills', async () => {
    const another = await signed(gateways[0]!, seller, 'POST', '/api/v3/order', {
      symbol: 'ETHUSDT',
      side: 'SELL',
      type: 'LIMIT_MAKER',
      quantity: '1',
      price: '3200',
      newClientOrderId: 'rests-before-g3',
    });
    assert.equal(another.status, 200, JSON.stringify(another.body));
    const third = await startPlatform(
      loadConfig({ ...env, CROSSBOOK_CORE_ADDRESSES: `127.0.0.1:${core.link!.port}` }, [
        '--roles',
        'gateway',
      ]),
      overrides(),
    );
    gateways.push(third);
    type Order = Record<string, unknown>;
    const summary = (orders: Order[]) => orders.map((o) => [o.price, o.type, o.status, o.executedQty]);
    const open = async () => {
      const r = await signed<Order[]>(third, seller, 'GET', '/api/v3/openOrders', { symbol: 'ETHUSDT' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    // Answers as soon as it serves: it did not start before its view was seeded.
    const seeded = await open();
    assert.deepEqual(summary(seeded), [
      ['3000.00000000', 'LIMIT', 'PARTIALLY_FILLED', '1.50000000'],
      ['3200.00000000', 'LIMIT_MAKER', 'NEW', '0.00000000'],
    ]);
    const first = seeded[0]!;
    const order = async () =>
      (
        await signed(third, seller, 'GET', '/api/v3/order', {
          symbol: 'ETHUSDT',
          orderId: String(first.orderId),
        })
      ).body;
    assert.deepEqual(await order(), first);

    // A fill after the third gateway started, through another gateway: the third one's view follows.
    const fill = await signed(gateways[1]!, buyer, 'POST', '/api/v3/order', {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'IOC',
      quantity: '0.25',
      price: '3000',
    });
    assert.equal(fill.body.status, 'FILLED', JSON.stringify(fill.body));
    let after: Order[] = [];
    for (let i = 0; i < 100; i++) {
      after = await open();
      if (after[0]?.executedQty === '1.75000000') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(summary(after), [
      ['3000.00000000', 'LIMIT', 'PARTIALLY_FILLED', '1.75000000'],
      ['3200.00000000', 'LIMIT_MAKER', 'NEW', '0.00000000'],
    ]);
    assert.equal(after[0]!.cummulativeQuoteQty, '5250.00000000');
    assert.deepEqual(await order(), after[0]);

    // The rest of it: the order ends, and the third gateway's view closes it.
    const last = await signed(gateways[1]!, buyer, 'POST', '/api/v3/order', {
      symbol: 'ETHUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'IOC',
      quantity: '0.25',
      price: '3000',
    });
    assert.equal(last.body.status, 'FILLED', JSON.stringify(last.body));
    for (let i = 0; i < 100 && (await open()).length !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(summary(await open()), [['3200.00000000', 'LIMIT_MAKER', 'NEW', '0.00000000']]);
    const filled = await order();
    assert.deepEqual([filled.status, filled.executedQty], ['FILLED', '2.00000000']);
  });
});
