import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { type AccountsDb, parseInt8 } from '../../accounts/db/database.ts';
import { migrateDownAll, migrateToLatest } from '../../accounts/db/migrator.ts';
import { forEachDialect } from './dialects.ts';

describe('accounts database', () => {
  it('parses int8 to a number and refuses one beyond the safe range', () => {
    assert.equal(parseInt8('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseInt8('-42'), -42);
    assert.throws(() => parseInt8('9007199254740993'), /MAX_SAFE_INTEGER/);
  });

  forEachDialect((dialect) => {
    let adb: AccountsDb;
    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
    });
    after(() => adb.close());

    it('migrates down to nothing and up again', async () => {
      const tables = async (views: boolean) =>
        (await adb.db.introspection.getTables())
          .filter((t) => t.isView === views)
          .map((t) => t.name)
          .filter((n) => !n.startsWith('kysely_'));
      assert.ok((await tables(false)).includes('users'));
      await migrateDownAll(adb.db);
      assert.deepEqual(await tables(false), []);
      assert.deepEqual(await tables(true), []);
      await migrateToLatest(adb.db);
      assert.equal((await tables(false)).length, 17);
      assert.deepEqual(await tables(true), ['ledger']);
    });

    it('reads int8 money columns back as exact numbers', async () => {
      const user = await adb.db
        .insertInto('users')
        .values({ email: 'int8@example.com', passwordHash: 'x' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await adb.db
        .insertInto('balances')
        .values({ accountId: user.id, asset: 'BTC', totalUnits: Number.MAX_SAFE_INTEGER, updatedSeq: 1 })
        .execute();
      const row = await adb.db.selectFrom('balances').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.totalUnits, Number.MAX_SAFE_INTEGER);
      assert.equal(typeof row.updatedSeq, 'number');
      await sql`update balances set total_units = total_units + 2`.execute(adb.db);
      await assert.rejects(adb.db.selectFrom('balances').selectAll().execute(), /MAX_SAFE_INTEGER/);
      await adb.db.deleteFrom('balances').execute();
    });

    it('keeps a transaction to itself: a concurrent statement waits or sees only committed rows', async () => {
      const email = 'tx@example.com';
      let inside: Promise<unknown> | undefined;
      await adb.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ email, passwordHash: 'x' }).execute();
        inside = adb.db.selectFrom('users').select('id').where('email', '=', email).execute();
        await trx.updateTable('users').set({ kycTier: 2 }).where('email', '=', email).execute();
      });
      const seen = (await inside) as { id: number }[];
      // PGlite serialises: the outside read runs after COMMIT. A server reads committed data
      // (nothing yet) or runs after the commit; never a half-done transaction.
      assert.ok(seen.length <= 1);
      const row = await adb.db
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      assert.equal(row.kycTier, 2);
    });

    it('rolls back everything a failed transaction did', async () => {
      await assert.rejects(
        adb.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('users')
            .values({ email: 'rollback@example.com', passwordHash: 'x' })
            .execute();
          await trx
            .insertInto('users')
            .values({ email: 'rollback@example.com', passwordHash: 'y' })
            .execute();
        }),
      );
      const rows = await adb.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', 'rollback@example.com')
        .execute();
      assert.equal(rows.length, 0);
    });
  });
});
