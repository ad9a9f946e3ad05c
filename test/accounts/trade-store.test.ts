/**
 * One suite, every trade store adapter: PostgreSQL over PGlite (and the server when
 * DATABASE_URL is set), DynamoDB over dynalite started here on a free port. Every read is
 * checked against a reference model: a plain filter over the trades that were written.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isAccountsError } from '../../accounts/errors.ts';
import { dynamoTradeStore, ensureTradesTable } from '../../accounts/trade-store/dynamodb.adapter.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import { userSide } from '../../accounts/trade-store/trade-query.ts';
import type {
  SymbolTradesQuery,
  TradeRecord,
  TradeStore,
  UserTrade,
  UserTradesQuery,
} from '../../accounts/trade-store/trade-store.port.ts';
import { DIALECTS, truncateAll } from './dialects.ts';

interface DynaliteServer {
  listen(port: number, cb: () => void): void;
  address(): AddressInfo;
  close(cb: () => void): void;
}
const dynalite = createRequire(import.meta.url)('dynalite') as (o: {
  createTableMs: number;
}) => DynaliteServer;

interface Adapter {
  readonly name: string;
  open(): Promise<{ fresh(): Promise<TradeStore>; close(): Promise<void> }>;
}

const ADAPTERS: Adapter[] = [
  ...DIALECTS.map(
    (d): Adapter => ({
      name: `PostgreSQL adapter on ${d.name}`,
      open: async () => {
        const adb = await d.open();
        return {
          fresh: async () => {
            await truncateAll(adb);
            return postgresTradeStore(adb.db);
          },
          close: () => adb.close(),
        };
      },
    }),
  ),
  {
    name: 'DynamoDB adapter on dynalite',
    open: async () => {
      const server = dynalite({ createTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(0, resolve));
      const client = new DynamoDBClient({
        endpoint: `http://127.0.0.1:${server.address().port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      let n = 0;
      return {
        fresh: async () => {
          const tableName = `trades_${++n}`;
          await ensureTradesTable(client, tableName);
          return dynamoTradeStore({ client, tableName, backoffMs: 1 });
        },
        close: async () => {
          client.destroy();
          await new Promise<void>((resolve) => server.close(resolve));
        },
      };
    },
  },
];

const T0 = 1_750_000_000_000_000;
const HOUR = 3_600_000_000;

/**
 * Trades of two symbols among users 1..3: times grow with ids, several trades share a time
 * (one command), user 1 trades with itself every tenth trade.
 */
function makeTrades(): TradeRecord[] {
  const out: TradeRecord[] = [];
  let x = 7;
  const r = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  for (const symbol of ['BTCUSDT', 'ETHUSDT']) {
    let ts = T0;
    for (let id = 1; id <= 60; id++) {
      if (r(3) !== 0) ts += HOUR * (1 + r(3));
      const selfTrade = id % 10 === 0;
      const buyer = selfTrade ? 1 : 1 + r(3);
      const seller = selfTrade ? 1 : 1 + r(3);
      out.push({
        symbol,
        tradeId: id,
        priceTicks: 5_000_000 + r(100),
        qtyLots: 1 + r(50),
        quoteUnits: 1_000 + id,
        buyerUserId: buyer,
        sellerUserId: seller,
        buyerOrderId: 100 + (id % 7),
        sellerOrderId: 200 + (id % 5),
        takerSide: r(2) === 0 ? 'BUY' : 'SELL',
        buyerFeeUnits: id,
        sellerFeeUnits: 2 * id,
        seq: 1000 + id,
        tsMicros: ts,
      });
    }
  }
  return out;
}

const TRADES = makeTrades();

/** The reference: what a query must return, by a plain filter. */
function page<T extends { tradeId: number; tsMicros: number }>(rows: T[], q: SymbolTradesQuery): T[] {
  const limit = q.limit ?? 500;
  if (q.fromId !== undefined) return rows.filter((t) => t.tradeId >= q.fromId!).slice(0, limit);
  const inWindow = rows.filter(
    (t) =>
      (q.startMicros === undefined || t.tsMicros >= q.startMicros) &&
      (q.endMicros === undefined || t.tsMicros <= q.endMicros),
  );
  return q.startMicros !== undefined ? inWindow.slice(0, limit) : inWindow.slice(-limit);
}

function expectSymbol(q: SymbolTradesQuery): TradeRecord[] {
  return page(
    TRADES.filter((t) => t.symbol === q.symbol),
    q,
  );
}

function expectUser(q: UserTradesQuery): UserTrade[] {
  const sides: UserTrade[] = [];
  for (const t of TRADES.filter((x) => x.symbol === q.symbol)) {
    if (t.buyerUserId === q.userId && (q.orderId === undefined || t.buyerOrderId === q.orderId))
      sides.push(userSide(t, true));
    if (t.sellerUserId === q.userId && (q.orderId === undefined || t.sellerOrderId === q.orderId))
      sides.push(userSide(t, false));
  }
  return page(sides, q);
}

const tsOf = (symbol: string, id: number) =>
  TRADES.find((t) => t.symbol === symbol && t.tradeId === id)!.tsMicros;

describe('trade store', () => {
  for (const adapter of ADAPTERS) {
    describe(adapter.name, () => {
      let handle: Awaited<ReturnType<Adapter['open']>>;
      let store: TradeStore;
      before(async function () {
        this.timeout(60_000);
        handle = await adapter.open();
      });
      after(() => handle.close());
      beforeEach(async () => {
        store = await handle.fresh();
        await store.putTrades(TRADES);
      });

      it('stores a trade once however often it is put', async () => {
        await store.putTrades(TRADES.slice(10, 40));
        await store.putTrades([TRADES[0]!, TRADES[0]!]);
        const all = await store.symbolTrades({ symbol: 'BTCUSDT', limit: 1000 });
        assert.equal(all.length, 60);
        assert.deepEqual(all, expectSymbol({ symbol: 'BTCUSDT', limit: 1000 }));
      });

      it("returns a symbol's newest trades by default, oldest first", async () => {
        const got = await store.symbolTrades({ symbol: 'ETHUSDT', limit: 7 });
        assert.deepEqual(
          got.map((t) => t.tradeId),
          [54, 55, 56, 57, 58, 59, 60],
        );
        assert.deepEqual(got, expectSymbol({ symbol: 'ETHUSDT', limit: 7 }));
      });

      it('reads forward from fromId', async () => {
        for (const q of [
          { symbol: 'BTCUSDT', fromId: 17, limit: 5 },
          { symbol: 'BTCUSDT', fromId: 58 },
          { symbol: 'BTCUSDT', fromId: 61 },
        ]) {
          assert.deepEqual(await store.symbolTrades(q), expectSymbol(q));
        }
      });

      it('reads a time window from its first trade, and back from an end time alone', async () => {
        const start = tsOf('BTCUSDT', 20);
        const queries: SymbolTradesQuery[] = [
          { symbol: 'BTCUSDT', startMicros: start, limit: 4 },
          { symbol: 'BTCUSDT', startMicros: start + 1, endMicros: start + 10 * HOUR },
          { symbol: 'BTCUSDT', endMicros: tsOf('BTCUSDT', 30), limit: 6 },
          { symbol: 'BTCUSDT', startMicros: T0 - 2 * HOUR, endMicros: T0 - HOUR },
          { symbol: 'BTCUSDT', startMicros: tsOf('BTCUSDT', 60) + 1 },
          { symbol: 'BTCUSDT', endMicros: T0 },
        ];
        for (const q of queries)
          assert.deepEqual(await store.symbolTrades(q), expectSymbol(q), JSON.stringify(q));
        assert.ok((await store.symbolTrades(queries[0]!)).length === 4);
      });

      it("returns a user's trades from both sides, a trade with oneself twice", async () => {
        const q = { symbol: 'BTCUSDT', userId: 1, limit: 1000 };
        const got = await store.userTrades(q);
        assert.deepEqual(got, expectUser(q));
        const sides = got.filter((t) => t.tradeId === 10);
        assert.deepEqual(
          sides.map((t) => t.isBuyer),
          [true, false],
        );
      });

      it("pages a user's trades by fromId, orderId, time and limit as the reference does", async () => {
        const start = tsOf('ETHUSDT', 15);
        const queries: UserTradesQuery[] = [
          { symbol: 'ETHUSDT', userId: 2 },
          { symbol: 'ETHUSDT', userId: 2, limit: 3 },
          { symbol: 'ETHUSDT', userId: 2, fromId: 30, limit: 4 },
          { symbol: 'ETHUSDT', userId: 3, orderId: 103 },
          { symbol: 'ETHUSDT', userId: 3, orderId: 202, fromId: 20 },
          { symbol: 'ETHUSDT', userId: 1, startMicros: start, endMicros: start + 20 * HOUR },
          { symbol: 'ETHUSDT', userId: 1, endMicros: start, limit: 2 },
          { symbol: 'ETHUSDT', userId: 9 },
        ];
        for (const q of queries)
          assert.deepEqual(await store.userTrades(q), expectUser(q), JSON.stringify(q));
      });

      it("never shows a user another user's side of a trade", async () => {
        for (const userId of [1, 2, 3]) {
          const got = await store.userTrades({ symbol: 'BTCUSDT', userId, limit: 1000 });
          assert.ok(got.length > 0);
          for (const t of got) {
            const trade = TRADES.find((x) => x.symbol === 'BTCUSDT' && x.tradeId === t.tradeId)!;
            assert.equal(t.isBuyer ? trade.buyerUserId : trade.sellerUserId, userId);
          }
        }
      });

      it('refuses bad queries with a history error code', async () => {
        const bad: [unknown, string][] = [
          [{ symbol: 'BTCUSDT', limit: 0 }, 'history.bad_limit'],
          [{ symbol: 'BTCUSDT', limit: 1001 }, 'history.bad_limit'],
          [{ symbol: 'BTCUSDT', limit: 2.5 }, 'history.bad_limit'],
          [{ symbol: 'btc usdt' }, 'history.bad_symbol'],
          [{ symbol: 'BTCUSDT', fromId: -1 }, 'history.bad_from_id'],
          [{ symbol: 'BTCUSDT', fromId: 3, startMicros: T0 }, 'history.bad_query'],
          [{ symbol: 'BTCUSDT', startMicros: T0 + 1, endMicros: T0 }, 'history.bad_time_range'],
          [{ symbol: 'BTCUSDT', startMicros: T0, endMicros: T0 + 25 * HOUR }, 'history.bad_time_range'],
          [{ symbol: 'BTCUSDT', startMicros: '1' }, 'history.bad_time'],
        ];
        for (const [q, code] of bad) {
          await assert.rejects(store.symbolTrades(q as SymbolTradesQuery), (e) => isAccountsError(e, code));
          await assert.rejects(store.userTrades({ ...(q as object), userId: 1 } as UserTradesQuery), (e) =>
            isAccountsError(e, code),
          );
        }
        await assert.rejects(store.userTrades({ symbol: 'BTCUSDT' } as UserTradesQuery), (e) =>
          isAccountsError(e, 'history.bad_user'),
        );
        await assert.rejects(store.userTrades({ symbol: 'BTCUSDT', userId: 1, orderId: 0 }), (e) =>
          isAccountsError(e, 'history.bad_order_id'),
        );
      });
    });
  }
});
