/**
 * A user's history (orders, one order, trades, ledger) as Binance's endpoints define it, read
 * from what the persister wrote after a seeded session; every query scoped to its user.
 */
import assert from 'node:assert/strict';
import type { AccountsDb } from '../../accounts/db/database.ts';
import type { OrderRow } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import {
  type HistoryContext,
  type LedgerEntry,
  userLedger,
  userOrder,
  userOrders,
  userTrades,
} from '../../accounts/history/history.queries.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import { forEachDialect } from './dialects.ts';
import { demoMarkets, runSession, START_MICROS, sessionCommands } from './persister-stream.ts';

const markets = demoMarkets();
const USERS = [1, 2, 3, 4, 5, 6];
const HOUR = 3_600_000_000;

describe('history queries', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let ctx: HistoryContext;
    let all: OrderRow[];
    before(async function () {
      this.timeout(120_000);
      adb = await dialect.open();
      const p = await Persister.open(adb.db, markets);
      const commands = sessionCommands(1_500, 41);
      runSession(commands, p.listener);
      await p.flushed(commands.length);
      await p.close();
      ctx = { db: adb.db, markets, trades: postgresTradeStore(adb.db) };
      all = await adb.db.selectFrom('orders').selectAll().orderBy('orderId').execute();
    });
    after(() => adb.close());

    const ordersOf = (userId: number, symbol: string) =>
      all.filter((o) => o.userId === userId && o.symbol === symbol);

    it("lists a user's newest orders of a symbol by default, oldest first", async () => {
      const mine = ordersOf(2, 'BTCUSDT');
      assert.ok(mine.length > 20);
      assert.deepEqual(await userOrders(ctx, 2, { symbol: 'BTCUSDT' }), mine.slice(-500));
      assert.deepEqual(await userOrders(ctx, 2, { symbol: 'BTCUSDT', limit: 7 }), mine.slice(-7));
    });

    it('lists orders from an order id, and within a creation time window', async () => {
      const mine = ordersOf(3, 'ETHUSDT');
      const from = mine[5]!.orderId;
      assert.deepEqual(
        await userOrders(ctx, 3, { symbol: 'ETHUSDT', orderId: from, limit: 4 }),
        mine.filter((o) => o.orderId >= from).slice(0, 4),
      );
      const start = mine[3]!.createdMicros;
      const end = mine[10]!.createdMicros;
      assert.deepEqual(
        await userOrders(ctx, 3, { symbol: 'ETHUSDT', startMicros: start, endMicros: end }),
        mine.filter((o) => o.createdMicros >= start && o.createdMicros <= end),
      );
      assert.deepEqual(
        await userOrders(ctx, 3, { symbol: 'ETHUSDT', endMicros: end, limit: 2 }),
        mine.filter((o) => o.createdMicros <= end).slice(-2),
      );
    });

    it('finds one order by id or by client order id, the most recent with that id', async () => {
      const withCid = all.filter((o) => o.userId === 4 && o.clientOrderId !== '');
      const o = withCid[0]!;
      assert.deepEqual(await userOrder(ctx, 4, { symbol: o.symbol, orderId: o.orderId }), o);
      const sameCid = all.filter(
        (x) => x.userId === 4 && x.symbol === o.symbol && x.clientOrderId === o.clientOrderId,
      );
      assert.deepEqual(
        await userOrder(ctx, 4, { symbol: o.symbol, clientOrderId: o.clientOrderId }),
        sameCid.at(-1),
      );
      await assert.rejects(
        userOrder(ctx, 4, { symbol: o.symbol, orderId: o.orderId, clientOrderId: 'not-its-id' }),
        (e) => isAccountsError(e, 'history.order_not_found'),
      );
    });

    it("never shows a user another user's orders, trades or ledger entries", async () => {
      const other = all.find((o) => o.userId === 5)!;
      await assert.rejects(userOrder(ctx, 6, { symbol: other.symbol, orderId: other.orderId }), (e) =>
        isAccountsError(e, 'history.order_not_found'),
      );
      const allTrades = new Map(
        (await adb.db.selectFrom('trades').selectAll().execute()).map(
          (t) => [`${t.symbol}:${t.tradeId}`, t] as const,
        ),
      );
      for (const user of USERS) {
        for (const { symbol } of markets.list) {
          for (const o of await userOrders(ctx, user, { symbol, limit: 1000 })) assert.equal(o.userId, user);
          // A userId smuggled into the query does not widen it.
          const trades = await userTrades(ctx, user, { symbol, limit: 1000, userId: 99 } as never);
          for (const t of trades) {
            const row = allTrades.get(`${symbol}:${t.tradeId}`)!;
            assert.equal(t.isBuyer ? row.buyerUserId : row.sellerUserId, user);
          }
        }
        const ledger = await userLedger(ctx, user, { limit: 1000 });
        const ids = new Set(ledger.entries.map((e) => e.id));
        const rows = await adb.db.selectFrom('ledger').select(['id', 'accountId']).execute();
        for (const r of rows) if (ids.has(r.id)) assert.equal(r.accountId, user);
      }
    });

    it("returns the user's trades as myTrades does", async () => {
      const trades = await userTrades(ctx, 1, { symbol: 'BTCUSDT', limit: 1000 });
      assert.ok(trades.length > 10);
      for (let i = 1; i < trades.length; i++) assert.ok(trades[i]!.tradeId >= trades[i - 1]!.tradeId);
      const order = trades[0]!.orderId;
      const ofOrder = await userTrades(ctx, 1, { symbol: 'BTCUSDT', orderId: order });
      assert.deepEqual(
        ofOrder,
        trades.filter((t) => t.orderId === order),
      );
      const executed = all.find((o) => o.orderId === order)!.executedLots;
      assert.equal(
        ofOrder.reduce((n, t) => n + t.qtyLots, 0),
        executed,
      );
    });

    it('pages the ledger by cursor, newest or oldest first, each entry once', async () => {
      for (const order of ['desc', 'asc'] as const) {
        const seen: LedgerEntry[] = [];
        let cursor: number | undefined;
        for (let pages = 0; ; pages++) {
          assert.ok(pages < 100);
          const page = await userLedger(ctx, 2, {
            order,
            limit: 37,
            ...(cursor === undefined ? {} : { cursor }),
          });
          seen.push(...page.entries);
          if (page.nextCursor === null) break;
          assert.equal(page.entries.length, 37);
          cursor = page.nextCursor;
        }
        const ids = seen.map((e) => e.id);
        assert.equal(new Set(ids).size, ids.length);
        assert.deepEqual(
          ids,
          [...ids].sort((a, b) => (order === 'asc' ? a - b : b - a)),
        );
        // Every entry of the view, once: the query reads the trades' postings itself.
        const total = await adb.db
          .selectFrom('ledger')
          .selectAll()
          .where('accountId', '=', 2)
          .orderBy('id', order)
          .execute();
        assert.deepEqual(
          seen,
          total.map(({ accountId: _, ...e }) => e),
        );
        // The user's entries of an asset add up to the user's balance of it.
        const usdt = seen.filter((e) => e.asset === 'USDT').reduce((n, e) => n + e.amountUnits, 0);
        const balance = await adb.db
          .selectFrom('balances')
          .select('totalUnits')
          .where('accountId', '=', 2)
          .where('asset', '=', 'USDT')
          .executeTakeFirstOrThrow();
        assert.equal(usdt, balance.totalUnits);
      }
    });

    it('filters the ledger by asset and time', async () => {
      const start = START_MICROS + 200_000;
      const end = START_MICROS + 900_000;
      const page = await userLedger(ctx, 3, {
        asset: 'ETH',
        startMicros: start,
        endMicros: end,
        order: 'asc',
      });
      assert.ok(page.entries.length > 0);
      for (const e of page.entries) {
        assert.equal(e.asset, 'ETH');
        assert.ok(e.tsMicros >= start && e.tsMicros <= end);
      }
      const everything = await userLedger(ctx, 3, { limit: 1000 });
      assert.equal(
        page.entries.length,
        everything.entries.filter((e) => e.asset === 'ETH' && e.tsMicros >= start && e.tsMicros <= end)
          .length,
      );
    });

    it('refuses bad parameters with a history error code', async () => {
      const cases: [() => Promise<unknown>, string][] = [
        [() => userOrders(ctx, 0, { symbol: 'BTCUSDT' }), 'history.bad_user'],
        [() => userOrders(ctx, 1, { symbol: 'DOGEUSDT' }), 'history.unknown_symbol'],
        [() => userOrders(ctx, 1, { symbol: 'BTCUSDT', limit: 1001 }), 'history.bad_limit'],
        [() => userOrders(ctx, 1, { symbol: 'BTCUSDT', orderId: -3 }), 'history.bad_order_id'],
        [
          () =>
            userOrders(ctx, 1, {
              symbol: 'BTCUSDT',
              startMicros: START_MICROS,
              endMicros: START_MICROS + 25 * HOUR,
            }),
          'history.bad_time_range',
        ],
        [() => userOrder(ctx, 1, { symbol: 'BTCUSDT' }), 'history.missing_order_reference'],
        [
          () => userOrder(ctx, 1, { symbol: 'BTCUSDT', clientOrderId: "x' or 1=1" }),
          'history.bad_client_order_id',
        ],
        [() => userTrades(ctx, 1, { symbol: 'NOPE' }), 'history.unknown_symbol'],
        [() => userTrades(ctx, 1, { symbol: 'BTCUSDT', limit: 0 }), 'history.bad_limit'],
        [() => userLedger(ctx, 1, { asset: 'DOGE' }), 'history.bad_asset'],
        [() => userLedger(ctx, 1, { cursor: 1.5 }), 'history.bad_cursor'],
        [() => userLedger(ctx, 1, { order: 'sideways' as never }), 'history.bad_order'],
        [() => userLedger(ctx, 1, { startMicros: 10, endMicros: 5 }), 'history.bad_time_range'],
        [() => userLedger(ctx, 1, { limit: -1 }), 'history.bad_limit'],
      ];
      for (const [run, code] of cases) {
        await assert.rejects(
          run(),
          (e) =>
            isAccountsError(e, code) && !/\bselect\b|\bwhere\b|\$\d|\bat .*\.ts/i.test((e as Error).message),
          code,
        );
      }
    });
  });
});
