/**
 * `allOrders` by time through the order time marks (migration 2026_11_29_02_00_00): the
 * persister marks the first order of each second of creation time, and a window read through
 * the marks' order id range gives exactly the orders a plain filter gives, for windows that
 * start and end on, just before and just after orders' creation times, open at either end,
 * and for page sizes that cut the result. The migration's backfill marks the same orders the
 * persister does.
 */
import assert from 'node:assert/strict';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { migrateTo, migrateToLatest } from '../../accounts/db/migrator.ts';
import type { OrderRow } from '../../accounts/db/schema.ts';
import { MARK_MICROS } from '../../accounts/history/batch-rows.ts';
import { userOrders } from '../../accounts/history/history.queries.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import { rng } from '../engine/helpers.ts';
import { forEachDialect } from './dialects.ts';
import { demoMarkets, runSession, sessionCommands } from './persister-stream.ts';

const markets = demoMarkets();

describe('allOrders by time through the order time marks', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let all: OrderRow[];
    before(async function () {
      this.timeout(120_000);
      adb = await dialect.open();
      // Small batches (many marks written batch after batch), commands 0.3 s apart: about 140 s.
      const p = await Persister.open(adb.db, markets, { maxBatch: 40 });
      const commands = sessionCommands(480, 5);
      runSession(commands, p.listener, undefined, 300_000);
      await p.flushed(commands.length);
      await p.close();
      all = await adb.db.selectFrom('orders').selectAll().orderBy('orderId').execute();
    });
    after(() => adb?.close());

    /** The first order of each second of creation time, as the migration's backfill marks them. */
    const expectedMarks = () => {
      const marks: { orderId: number; createdMicros: number }[] = [];
      let second = -1;
      for (const o of all) {
        const s = Math.floor(o.createdMicros / MARK_MICROS);
        if (s > second) {
          marks.push({ orderId: o.orderId, createdMicros: o.createdMicros });
          second = s;
        }
      }
      return marks;
    };

    it('marks the first order of each second', async () => {
      const marks = await adb.db.selectFrom('orderTimeMarks').selectAll().orderBy('orderId').execute();
      assert.ok(marks.length > 50, `${marks.length} marks`);
      assert.deepEqual(marks, expectedMarks());
    });

    it('reads every window as a plain filter does', async function () {
      this.timeout(60_000);
      const ctx = { db: adb.db, markets, trades: postgresTradeStore(adb.db) };
      const random = rng(17);
      const times = all.map((o) => o.createdMicros);
      const pick = () =>
        times[Math.floor(random() * times.length)]! + [-1, 0, 1, 150_000][Math.floor(random() * 4)]!;
      let compared = 0;
      for (let i = 0; i < 120; i++) {
        const o = all[Math.floor(random() * all.length)]!;
        let [a, b] = [pick(), pick()].sort((x, y) => x - y) as [number, number];
        const kind = i % 3; // 0: both ends, 1: start only, 2: end only
        if (kind === 1) b = Number.POSITIVE_INFINITY;
        if (kind === 2) a = Number.NEGATIVE_INFINITY;
        const limit = i % 4 === 0 ? 3 : 1000;
        const mine = all.filter(
          (x) =>
            x.userId === o.userId && x.symbol === o.symbol && x.createdMicros >= a && x.createdMicros <= b,
        );
        // A start: the oldest `limit` from it; an end alone: the newest `limit` up to it.
        const expected = kind === 2 ? mine.slice(-limit) : mine.slice(0, limit);
        const got = await userOrders(ctx, o.userId, {
          symbol: o.symbol,
          limit,
          ...(kind === 2 ? {} : { startMicros: a }),
          ...(kind === 1 ? {} : { endMicros: b }),
        });
        assert.deepEqual(got, expected, `window ${a}..${b} user ${o.userId} ${o.symbol} limit ${limit}`);
        compared += expected.length;
      }
      assert.ok(compared > 300, `${compared} orders compared`);
    });

    it('backfills the same marks when migrated up from before them', async function () {
      this.timeout(60_000);
      await migrateTo(adb.db, '2026_11_29_01_00_00_trade_postings');
      await migrateToLatest(adb.db);
      const marks = await adb.db.selectFrom('orderTimeMarks').selectAll().orderBy('orderId').execute();
      assert.deepEqual(marks, expectedMarks());
    });
  });
});
