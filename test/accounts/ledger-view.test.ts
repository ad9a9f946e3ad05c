/**
 * The trades' ledger postings, read from the trade rows (migration 2026_11_29_01_00_00): the
 * view `ledger` gives every posting once, with the ids the persister counted, and a user's
 * ledger pages (history.queries.ts, which reads the trade rows itself) are exactly the view's
 * rows of that user, for every filter, order and page size. The session has maker fees of
 * zero, so many trades leave postings out (and the ids after them move up); a self-trade,
 * where the user is buyer and seller, is added by hand. The migration keeps the postings
 * written as rows before it, and `down` writes the trades' postings back as rows.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { migrateTo, migrateToLatest } from '../../accounts/db/migrator.ts';
import { FEE_ACCOUNT, type LedgerView } from '../../accounts/db/schema.ts';
import { type LedgerEntry, userLedger } from '../../accounts/history/history.queries.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import { forEachDialect } from './dialects.ts';
import { demoMarkets, runSession, START_MICROS, sessionCommands } from './persister-stream.ts';

const markets = demoMarkets();

describe('ledger view (trade postings read from the trade rows)', () => {
  forEachDialect((dialect) => {
    describe('after a session', () => {
      let adb: AccountsDb;
      let view: LedgerView[];
      before(async function () {
        this.timeout(120_000);
        adb = await dialect.open();
        const p = await Persister.open(adb.db, markets);
        const commands = sessionCommands(1_200, 7);
        runSession(commands, p.listener, { makerPpm: 0, takerPpm: 2000 });
        await p.flushed(commands.length);
        await p.close();
        // A self-trade of user 2 (buyer and seller), after everything the persister wrote.
        const state = await adb.db.selectFrom('persisterState').selectAll().executeTakeFirstOrThrow();
        const last = await adb.db
          .selectFrom('trades')
          .selectAll()
          .where('symbol', '=', 'BTCUSDT')
          .orderBy('tradeId', 'desc')
          .limit(1)
          .executeTakeFirstOrThrow();
        await adb.db
          .insertInto('trades')
          .values({
            ...last,
            tradeId: last.tradeId + 1,
            buyerUserId: 2,
            sellerUserId: 2,
            buyerFeeUnits: 0,
            sellerFeeUnits: 3,
            seq: state.lastSeq + 1,
            tsMicros: last.tsMicros + 1,
            ledgerId: state.lastLedgerId + 1,
          })
          .execute();
        view = await adb.db.selectFrom('ledger').selectAll().orderBy('id').execute();
      });
      after(() => adb?.close());

      it('gives every posting once, zero ones left out, ids as the persister counted them', async () => {
        const ids = view.map((e) => e.id);
        assert.equal(new Set(ids).size, ids.length);
        assert.ok(view.every((e) => e.amountUnits !== 0));
        const state = await adb.db.selectFrom('persisterState').selectAll().executeTakeFirstOrThrow();
        // The self-trade has no buyer fee: 5 postings after the persister's last id.
        assert.equal(ids[ids.length - 1], state.lastLedgerId + 5);
        const trades = await adb.db.selectFrom('trades').select(['ledgerId']).execute();
        const zeroFees = await adb.db
          .selectFrom('trades')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where((eb) => eb.or([eb('buyerFeeUnits', '=', 0), eb('sellerFeeUnits', '=', 0)]))
          .executeTakeFirstOrThrow();
        assert.ok(Number(zeroFees.n) > 50, `only ${zeroFees.n} trades with a zero fee`);
        assert.ok(trades.every((t) => t.ledgerId !== null));
        // Each trade's postings: consecutive ids from its ledger_id, balanced per asset.
        const byRef = new Map<string, LedgerView[]>();
        for (const e of view)
          if (e.ref.startsWith('trade:')) byRef.set(e.ref, [...(byRef.get(e.ref) ?? []), e]);
        assert.equal(byRef.size, trades.length);
        for (const [ref, postings] of byRef) {
          for (let i = 0; i < postings.length; i++) assert.equal(postings[i]!.id, postings[0]!.id + i, ref);
          const sums = new Map<string, number>();
          for (const e of postings) sums.set(e.asset, (sums.get(e.asset) ?? 0) + e.amountUnits);
          for (const [asset, sum] of sums) assert.equal(sum, 0, `${ref} ${asset}`);
          assert.ok(postings.some((e) => e.accountId === FEE_ACCOUNT && e.kind === 'FEE'));
        }
      });

      it("pages a user's ledger exactly as the view has it: every filter, order and page size", async function () {
        this.timeout(120_000);
        const ctx = { db: adb.db, markets, trades: postgresTradeStore(adb.db) };
        const span = view[view.length - 1]!.tsMicros - START_MICROS;
        const windows: { startMicros?: number; endMicros?: number }[] = [
          {},
          {
            startMicros: START_MICROS + Math.floor(span / 3),
            endMicros: START_MICROS + Math.floor((2 * span) / 3),
          },
        ];
        let pagesRead = 0;
        for (const user of [1, 2]) {
          for (const asset of [undefined, ...markets.assets.keys()]) {
            for (const window of windows) {
              for (const order of ['asc', 'desc'] as const) {
                const expected: LedgerEntry[] = view
                  .filter(
                    (e) =>
                      e.accountId === user &&
                      (asset === undefined || e.asset === asset) &&
                      (window.startMicros === undefined || e.tsMicros >= window.startMicros) &&
                      (window.endMicros === undefined || e.tsMicros <= window.endMicros),
                  )
                  .map(({ accountId: _, ...e }) => e);
                if (order === 'desc') expected.reverse();
                for (const limit of [1, 7, 50]) {
                  // Pages of one entry are slow over hundreds: a prefix of them says as much.
                  const maxPages = limit === 1 ? 15 : 1_000;
                  const seen: LedgerEntry[] = [];
                  let cursor: number | undefined;
                  for (let pages = 0; pages < maxPages; pages++) {
                    const page = await userLedger(ctx, user, {
                      order,
                      limit,
                      ...(asset === undefined ? {} : { asset }),
                      ...window,
                      ...(cursor === undefined ? {} : { cursor }),
                    });
                    pagesRead++;
                    seen.push(...page.entries);
                    if (page.nextCursor === null) break;
                    assert.equal(page.entries.length, limit);
                    cursor = page.nextCursor;
                  }
                  const what = `user ${user} asset ${asset} ${JSON.stringify(window)} ${order} limit ${limit}`;
                  assert.deepEqual(seen, expected.slice(0, seen.length), what);
                  if (seen.length < maxPages * limit) assert.equal(seen.length, expected.length, what);
                }
              }
            }
          }
        }
        assert.ok(pagesRead > 300, `${pagesRead} pages`);
        // A page that ends one entry before the last, from every cursor near the end: it must say
        // that one more follows (a trade whose ids span the cursor gives nothing, and must not
        // cost the page an entry).
        for (const user of [1, 2, 3, 4, 5, 6]) {
          for (const asset of markets.assets.keys()) {
            for (const order of ['asc', 'desc'] as const) {
              const expected = view.filter((e) => e.accountId === user && e.asset === asset);
              if (order === 'desc') expected.reverse();
              for (let i = Math.max(0, expected.length - 6); i < expected.length - 2; i++) {
                const rest = expected.slice(i + 1).map(({ accountId: _, ...e }) => e);
                const limit = rest.length - 1;
                const page = await userLedger(ctx, user, { order, asset, limit, cursor: expected[i]!.id });
                assert.deepEqual(
                  page.entries,
                  rest.slice(0, limit),
                  `user ${user} ${asset} ${order} from ${i}`,
                );
                assert.equal(
                  page.nextCursor,
                  rest[limit - 1]!.id,
                  `user ${user} ${asset} ${order} from ${i}`,
                );
              }
            }
          }
        }
        const selfTrade = view.filter((e) => e.accountId === 2 && e.id > view[view.length - 6]!.id);
        assert.deepEqual(
          selfTrade.map((e) => e.kind),
          ['TRADE', 'TRADE', 'TRADE', 'TRADE'],
        );
      });
    });

    it('keeps the postings written as rows before the migration, and writes them back on the way down', async function () {
      this.timeout(60_000);
      const adb = await dialect.open({ migrate: false });
      try {
        await migrateTo(adb.db, '2026_11_28_21_00_00_orders_hot_fills');
        // A trade and a deposit as the persister wrote them before: postings as rows.
        const trade = {
          symbol: 'BTCUSDT',
          trade_id: 1_000_000,
          price_ticks: 10,
          qty_lots: 2,
          quote_units: 2_000,
          buyer_user_id: 1,
          seller_user_id: 2,
          buyer_order_id: 11,
          seller_order_id: 12,
          taker_side: 'BUY',
          buyer_fee_units: 4,
          seller_fee_units: 0,
          seq: 2,
          ts_micros: 100,
        };
        await sql`insert into trades ${sql.raw(`(${Object.keys(trade).join(', ')})`)} values (${sql.join(
          Object.values(trade),
        )})`.execute(adb.db);
        const rows: [number, number, number, string, number, string, string][] = [
          [1, 1, 1, 'USDT', 5_000, 'DEPOSIT', 'deposit:9'],
          [2, 1, -1, 'USDT', -5_000, 'DEPOSIT', 'deposit:9'],
          [3, 2, 1, 'BTC', 196, 'TRADE', 'trade:BTCUSDT:1000000'],
          [4, 2, 2, 'BTC', -200, 'TRADE', 'trade:BTCUSDT:1000000'],
          [5, 2, 0, 'BTC', 4, 'FEE', 'trade:BTCUSDT:1000000'],
          [6, 2, 1, 'USDT', -2_000, 'TRADE', 'trade:BTCUSDT:1000000'],
          [7, 2, 2, 'USDT', 2_000, 'TRADE', 'trade:BTCUSDT:1000000'],
        ];
        for (const [id, seq, account, asset, amount, kind, ref] of rows) {
          await sql`insert into ledger_entries (id, seq, account_id, asset, amount_units, kind, ref, ts_micros)
            values (${id}, ${seq}, ${account}, ${asset}, ${amount}, ${kind}, ${ref}, 100)`.execute(adb.db);
        }
        await sql`insert into persister_state (consumer, last_seq) values ('history', 2)`.execute(adb.db);
        await migrateToLatest(adb.db);

        const ledger = await adb.db.selectFrom('ledger').selectAll().orderBy('id').execute();
        assert.deepEqual(
          ledger.map((e) => [e.id, e.seq, e.accountId, e.asset, e.amountUnits, e.kind, e.ref]),
          rows,
        );
        const state = await adb.db.selectFrom('persisterState').selectAll().executeTakeFirstOrThrow();
        assert.equal(state.lastLedgerId, 7);
        const ctx = { db: adb.db, markets, trades: postgresTradeStore(adb.db) };
        assert.deepEqual(
          (await userLedger(ctx, 1, { order: 'asc' })).entries.map((e) => e.id),
          [1, 3, 6],
        );

        // A trade written now: postings from its row, ids after the old ones.
        const p = await Persister.open(adb.db, markets);
        // Its first two seqs are taken as written already (persister_state says 2).
        const commands = sessionCommands(200, 3);
        runSession(commands, p.listener);
        await p.flushed(commands.length);
        await p.close();
        const after = await adb.db.selectFrom('ledger').selectAll().orderBy('id').execute();
        assert.deepEqual(after.slice(0, rows.length), ledger);
        assert.ok(after.length > rows.length + 20);
        assert.equal(new Set(after.map((e) => e.id)).size, after.length);
        assert.ok(after[rows.length]!.id > 7);

        // Down: every posting becomes a row of ledger_entries again, the same ones.
        await migrateTo(adb.db, '2026_11_28_21_00_00_orders_hot_fills');
        const back = await sql<LedgerView>`
          select id, seq, account_id, asset, amount_units, kind, ref, ts_micros from ledger_entries order by id`.execute(
          adb.db,
        );
        assert.deepEqual(back.rows, after);
      } finally {
        await adb.close();
      }
    });
  });
});
