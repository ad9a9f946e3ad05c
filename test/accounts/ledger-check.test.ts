/**
 * The ledger check after a randomised session through the real threaded core (deposits,
 * trades with maker and taker fees, withdrawals held then settled or released, cancels,
 * amends, refused orders), persisted as it ran: the books agree with the engine; a tampered
 * projection row or an unbalanced entry is reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import { checkLedger } from '../../accounts/history/ledger-check.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { coreEnginePort } from '../../accounts/ports/core-engine.adapter.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { Core } from '../../engine/index.ts';
import { forEachDialect, truncateAll } from './dialects.ts';
import { demoMarkets, MARKETS_FILE, sessionCommands } from './persister-stream.ts';

describe('ledger check', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let core: Core;
    let port: EnginePort;
    let persister: Persister;
    const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-ledger-'));

    before(async function () {
      this.timeout(120_000);
      adb = await dialect.open();
      await truncateAll(adb);
      persister = await Persister.open(adb.db, demoMarkets());
      core = await Core.start({
        dataDir: dir,
        marketsFile: MARKETS_FILE,
        journal: false,
        makerPpm: 1000,
        takerPpm: 2500,
        consumers: [persister.durableConsumer()],
      });
      port = coreEnginePort(core);
      for (const input of sessionCommands(3_000, 77)) {
        for (;;) {
          try {
            core.send(input);
            break;
          } catch (e) {
            if ((e as Error).name !== 'CoreBusyError') throw e;
            await core.whenReady();
          }
        }
      }
      await core.quiesce();
    });
    after(async () => {
      await core.close();
      await persister.close();
      await adb.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('finds the projection, the ledger and the engine in agreement after the session', async function () {
      this.timeout(60_000);
      const result = await checkLedger(adb.db, port, { waitFor: (seq) => persister.flushed(seq) });
      assert.deepEqual(result.differences, []);
      assert.equal(result.seq, core.lastSeq);
      assert.ok(result.compared > 15, `compared only ${result.compared} balances`);
      const kinds = await adb.db.selectFrom('ledger').select('kind').distinct().execute();
      assert.deepEqual(kinds.map((k) => k.kind).sort(), ['DEPOSIT', 'FEE', 'TRADE', 'WITHDRAWAL']);
      // The default wait reads the persister's progress from the database.
      assert.deepEqual((await checkLedger(adb.db, port)).differences, []);
    });

    it('reports a tampered projection row against both the engine and the ledger', async () => {
      await adb.db
        .updateTable('balances')
        .set((eb) => ({ totalUnits: eb('totalUnits', '+', 7) }))
        .where('accountId', '=', 3)
        .where('asset', '=', 'ETH')
        .execute();
      try {
        const { differences } = await checkLedger(adb.db, port, { waitFor: (seq) => persister.flushed(seq) });
        const engine = (await port.balances()).balances.find((b) => b.userId === 3 && b.asset === 'ETH')!;
        const total = engine.freeUnits + engine.lockedUnits;
        assert.deepEqual(differences, [
          {
            kind: 'engine_vs_projection',
            accountId: 3,
            asset: 'ETH',
            expectedUnits: total,
            actualUnits: total + 7,
          },
          {
            kind: 'ledger_vs_projection',
            accountId: 3,
            asset: 'ETH',
            expectedUnits: total,
            actualUnits: total + 7,
          },
        ]);
      } finally {
        await adb.db
          .updateTable('balances')
          .set((eb) => ({ totalUnits: eb('totalUnits', '-', 7) }))
          .where('accountId', '=', 3)
          .where('asset', '=', 'ETH')
          .execute();
      }
    });

    it('reports a posting that does not sum to zero', async () => {
      // A trade's postings are read from its row and balance by construction; a deposit's are rows.
      const entry = await adb.db
        .selectFrom('ledgerEntries')
        .selectAll()
        .where('kind', '=', 'DEPOSIT')
        .where('accountId', '=', 3)
        .orderBy('id')
        .limit(1)
        .executeTakeFirstOrThrow();
      await adb.db
        .updateTable('ledgerEntries')
        .set({ amountUnits: entry.amountUnits + 1 })
        .where('id', '=', entry.id)
        .execute();
      try {
        const { differences } = await checkLedger(adb.db, port, { waitFor: (seq) => persister.flushed(seq) });
        assert.deepEqual(
          differences.map((d) => [d.kind, d.accountId, d.asset]),
          [
            ['ledger_vs_projection', 3, entry.asset],
            ['unbalanced_posting', null, entry.asset],
          ],
        );
        assert.equal(differences[1]!.ref, entry.ref);
        assert.equal(differences[1]!.actualUnits, 1);
      } finally {
        await adb.db
          .updateTable('ledgerEntries')
          .set({ amountUnits: entry.amountUnits })
          .where('id', '=', entry.id)
          .execute();
      }
    });

    it("reports a tampered trade row against the projection: the buyer's and the seller's base", async () => {
      const trade = await adb.db
        .selectFrom('trades')
        .selectAll()
        .where('ledgerId', 'is not', null)
        .whereRef('buyerUserId', '<>', 'sellerUserId')
        .orderBy('tradeId')
        .limit(1)
        .executeTakeFirstOrThrow();
      const { baseAsset } = await adb.db
        .selectFrom('symbols')
        .select('baseAsset')
        .where('symbol', '=', trade.symbol)
        .executeTakeFirstOrThrow();
      const setBase = (baseUnits: number) =>
        adb.db
          .updateTable('trades')
          .set({ baseUnits })
          .where('symbol', '=', trade.symbol)
          .where('tradeId', '=', trade.tradeId)
          .execute();
      await setBase(trade.baseUnits! + 5);
      try {
        const { differences } = await checkLedger(adb.db, port, { waitFor: (seq) => persister.flushed(seq) });
        // The ledger's sums moved by +5 for the buyer and -5 for the seller; the posting itself
        // still balances.
        assert.deepEqual(
          differences
            .map((d) => [d.kind, d.accountId, d.asset, (d.expectedUnits ?? 0) - (d.actualUnits ?? 0)])
            .sort((a, b) => Number(a[1]) - Number(b[1])),
          [
            ['ledger_vs_projection', trade.buyerUserId, baseAsset, 5],
            ['ledger_vs_projection', trade.sellerUserId, baseAsset, -5],
          ].sort((a, b) => Number(a[1]) - Number(b[1])),
        );
      } finally {
        await setBase(trade.baseUnits!);
      }
    });

    it('gives up with a clear error when the persister does not catch up', async () => {
      const ahead: Pick<EnginePort, 'balances'> = {
        balances: async () => ({ seq: core.lastSeq + 1_000, balances: [] }),
      };
      await assert.rejects(checkLedger(adb.db, ahead, { timeoutMs: 100 }), (e) =>
        isAccountsError(e, 'ledger.persister_behind'),
      );
    });
  });
});
