import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { appendAudit, canonicalJson, verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

describe('audit log', () => {
  it('writes canonical JSON with sorted keys at every level', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }),
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  forEachDialect((dialect) => {
    let adb: AccountsDb;
    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
    });
    after(() => adb.close());
    beforeEach(async () => {
      await truncateAll(adb);
      for (let i = 0; i < 5; i++) {
        await appendAudit(adb.db, {
          actor: `user:${i}`,
          action: 'user.logged_in',
          userId: i,
          ip: '10.0.0.1',
          detail: { attempt: i, nested: { z: 1, a: 'x' } },
        });
      }
    });

    it('verifies an untouched chain and reports its head', async () => {
      const v = await verifyAuditLog(adb.db);
      assert.equal(v.ok, true);
      assert.equal(v.entries, 5);
    });

    it('chains concurrent appends one after another', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          appendAudit(adb.db, { actor: 'system', action: 'test.concurrent', detail: { i } }),
        ),
      );
      const v = await verifyAuditLog(adb.db);
      assert.deepEqual([v.ok, v.entries], [true, 25]);
    });

    it('rolls an entry back with the transaction it belongs to', async () => {
      await assert.rejects(
        adb.db.transaction().execute(async (trx) => {
          await appendAudit(trx, { actor: 'system', action: 'test.rolled_back' });
          throw new Error('the action failed');
        }),
      );
      assert.equal((await verifyAuditLog(adb.db)).entries, 5);
    });

    it('detects an edited entry', async () => {
      await sql`update audit_log set detail = '{"attempt": 99}' where id = 3`.execute(adb.db);
      assert.deepEqual(await verifyAuditLog(adb.db), {
        ok: false,
        entries: 2,
        brokenAtId: 3,
        problem: 'content does not match its hash',
      });
    });

    it('detects an edited actor even when the attacker recomputes nothing', async () => {
      await sql`update audit_log set actor = 'operator:mallory' where id = 2`.execute(adb.db);
      const v = await verifyAuditLog(adb.db);
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.brokenAtId, 2);
    });

    it('detects a removed entry', async () => {
      await sql`delete from audit_log where id = 4`.execute(adb.db);
      const v = await verifyAuditLog(adb.db);
      assert.deepEqual(v, { ok: false, entries: 3, brokenAtId: 5, problem: 'entry 4 is missing' });
    });

    it('detects reordered entries', async () => {
      // Swap the contents of entries 2 and 3, keeping the ids in sequence.
      await sql`update audit_log set id = 100 where id = 2`.execute(adb.db);
      await sql`update audit_log set id = 2 where id = 3`.execute(adb.db);
      await sql`update audit_log set id = 3 where id = 100`.execute(adb.db);
      const v = await verifyAuditLog(adb.db);
      assert.deepEqual([v.ok, !v.ok && v.brokenAtId], [false, 2]);
    });
  });
});
