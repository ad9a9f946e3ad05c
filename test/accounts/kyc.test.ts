import assert from 'node:assert/strict';
import { verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import * as sealedMigration from '../../accounts/db/migrations/2026_11_28_19_00_00_kyc_sealed_identity.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import {
  checkKycIdentity,
  kycStatus,
  listPendingKyc,
  reviewKyc,
  sealLegacyKycData,
  submitKyc,
  viewKycSubmission,
} from '../../accounts/identity/kyc.service.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { register } from '../../accounts/identity/user.service.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

const NOW = Date.UTC(2026, 10, 28, 12);
/** IDENTITY as checkKycIdentity normalises it. */
const NORMALISED = {
  fullName: 'Alice Marie O\u2019Neil-Durand',
  dateOfBirth: '1990-04-30',
  country: 'FR',
  documentType: 'PASSPORT',
  documentNumber: '12AB34567',
};
/** What identifies the person: none of it may be readable without the master key. */
const IDENTIFYING = ['O\u2019Neil', '1990-04-30', '12AB34567'];
const IDENTITY = {
  fullName: 'Alice Marie O\u2019Neil-Durand',
  dateOfBirth: '1990-04-30',
  country: 'fr',
  documentType: 'PASSPORT',
  documentNumber: '12ab34567',
};

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected AccountsError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

function throwsWith(f: () => unknown, code: string): void {
  assert.throws(f, (e: unknown) => isAccountsError(e, code));
}

describe('KYC', () => {
  describe('identity data', () => {
    it('normalises valid data', () => {
      assert.deepEqual(checkKycIdentity({ ...IDENTITY, fullName: "  Alice  Marie O'Neil " }, NOW), {
        fullName: "Alice Marie O'Neil",
        dateOfBirth: '1990-04-30',
        country: 'FR',
        documentType: 'PASSPORT',
        documentNumber: '12AB34567',
      });
      checkKycIdentity({ ...IDENTITY, fullName: 'J. R. R. Tolkien', documentType: 'DRIVING_LICENCE' }, NOW);
      checkKycIdentity({ ...IDENTITY, fullName: 'Zoë Łukasiewicz', documentType: 'ID_CARD' }, NOW);
    });

    it('refuses each bad field with its own code', () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ fullName: 'A' }, 'kyc.invalid_full_name'],
        [{ fullName: 'R2D2 Droid' }, 'kyc.invalid_full_name'],
        [{ fullName: '<script>' }, 'kyc.invalid_full_name'],
        [{ dateOfBirth: '1990-02-30' }, 'kyc.invalid_date_of_birth'],
        [{ dateOfBirth: '30/04/1990' }, 'kyc.invalid_date_of_birth'],
        [{ dateOfBirth: '2030-01-01' }, 'kyc.invalid_date_of_birth'],
        [{ dateOfBirth: '1850-01-01' }, 'kyc.invalid_date_of_birth'],
        [{ country: 'XK' }, 'kyc.invalid_country'],
        [{ country: 'FRA' }, 'kyc.invalid_country'],
        [{ country: 'UK' }, 'kyc.invalid_country'],
        [{ documentType: 'passport' }, 'kyc.invalid_document_type'],
        [{ documentType: 'VISA' }, 'kyc.invalid_document_type'],
        [{ documentNumber: 'AB' }, 'kyc.invalid_document_number'],
        [{ documentNumber: 'AB$1234' }, 'kyc.invalid_document_number'],
        [{ documentNumber: 1234567 }, 'kyc.invalid_document_number'],
        [{ ssn: '123' }, 'kyc.invalid_data'],
      ];
      for (const [change, code] of cases)
        throwsWith(() => checkKycIdentity({ ...IDENTITY, ...change }, NOW), code);
      throwsWith(() => checkKycIdentity(null, NOW), 'kyc.invalid_data');
      throwsWith(() => checkKycIdentity([IDENTITY], NOW), 'kyc.invalid_data');
    });

    it('requires 18 years of age, counted to the day', () => {
      checkKycIdentity({ ...IDENTITY, dateOfBirth: '2008-11-28' }, NOW);
      throwsWith(() => checkKycIdentity({ ...IDENTITY, dateOfBirth: '2008-11-29' }, NOW), 'kyc.underage');
    });
  });

  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let ctx: IdentityContext;
    let alice: number;
    let bob: number;
    before(async function () {
      this.timeout(60_000);
      ctx = {
        key: MasterKey.generate(),
        hasher: createPasswordHasher({ cost: { log2N: 4 }, maxThreads: 1 }),
        now: () => NOW,
      };
      adb = await dialect.open();
    });
    after(async () => {
      await adb.close();
      await ctx.hasher.close();
    });
    beforeEach(async () => {
      await truncateAll(adb);
      alice = (await register(adb.db, ctx, 'alice@example.com', 'Correct horse 42')).userId;
      bob = (await register(adb.db, ctx, 'bob@example.com', 'Correct horse 42')).userId;
    });

    const tierOf = async (userId: number): Promise<number> => (await kycStatus(adb.db, userId)).tier;

    it('takes a submission, lists it pending, and raises the tier on approval', async () => {
      const { submissionId } = await submitKyc(adb.db, ctx, alice, 1, IDENTITY, { ip: '10.0.0.1' });
      const pending = await listPendingKyc(adb.db);
      assert.deepEqual(
        pending.map((p) => [p.submissionId, p.userId, p.requestedTier, p.status, p.metadata.country]),
        [[submissionId, alice, 1, 'PENDING', 'FR']],
      );
      assert.equal((await kycStatus(adb.db, alice)).latest?.status, 'PENDING');
      const reviewed = await reviewKyc(adb.db, ctx, submissionId, 'ops.jane', { approve: true });
      assert.deepEqual([reviewed.status, reviewed.reviewer], ['APPROVED', 'ops.jane']);
      const status = await kycStatus(adb.db, alice);
      assert.deepEqual([status.tier, status.policy.name, status.policy.canTrade], [1, 'BASIC', true]);
      assert.deepEqual(await listPendingKyc(adb.db), []);
      // And on to tier 2.
      const second = await submitKyc(adb.db, ctx, alice, 2, IDENTITY);
      await reviewKyc(adb.db, ctx, second.submissionId, 'ops.jane', { approve: true });
      assert.equal(await tierOf(alice), 2);
    });

    it('rejects only with a reason, which the user sees, and leaves the tier', async () => {
      const { submissionId } = await submitKyc(adb.db, ctx, alice, 2, IDENTITY);
      for (const reason of ['', '   ', 'x'.repeat(501)])
        await rejectsWith(
          reviewKyc(adb.db, ctx, submissionId, 'ops.jane', { approve: false, reason }),
          'kyc.reason_required',
        );
      await rejectsWith(
        reviewKyc(adb.db, ctx, submissionId, 'ops.jane', { approve: false } as never),
        'kyc.reason_required',
      );
      await reviewKyc(adb.db, ctx, submissionId, 'ops.jane', {
        approve: false,
        reason: 'the photo is unreadable',
      });
      const status = await kycStatus(adb.db, alice);
      assert.equal(status.tier, 0);
      assert.deepEqual(
        [status.latest?.status, status.latest?.reason],
        ['REJECTED', 'the photo is unreadable'],
      );
      // A rejected submission may be followed by a new one.
      await submitKyc(adb.db, ctx, alice, 2, IDENTITY);
    });

    it('keeps one pending submission per user at a time', async () => {
      await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
      await rejectsWith(submitKyc(adb.db, ctx, alice, 2, IDENTITY), 'kyc.pending_exists');
      await submitKyc(adb.db, ctx, bob, 1, IDENTITY);
      const results = await Promise.allSettled([
        submitKyc(adb.db, ctx, bob, 2, IDENTITY),
        submitKyc(adb.db, ctx, bob, 2, IDENTITY),
      ]);
      assert.ok(results.every((r) => r.status === 'rejected'));
      assert.equal((await listPendingKyc(adb.db)).length, 2);
      // The database holds the rule too, whatever code writes the row.
      await assert.rejects(
        adb.db
          .insertInto('kycSubmissions')
          .values({ userId: alice, requestedTier: 2, data: JSON.stringify(IDENTITY) })
          .execute(),
      );
    });

    it('lets only one of two concurrent first submissions in', async () => {
      const results = await Promise.allSettled([
        submitKyc(adb.db, ctx, alice, 1, IDENTITY),
        submitKyc(adb.db, ctx, alice, 2, IDENTITY),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('asks for a tier of 1 or 2 above the current one', async () => {
      for (const tier of [0, 3, -1, 1.5, Number.NaN])
        await rejectsWith(submitKyc(adb.db, ctx, alice, tier, IDENTITY), 'kyc.invalid_tier');
      await adb.db.updateTable('users').set({ kycTier: 1 }).where('id', '=', alice).execute();
      await rejectsWith(submitKyc(adb.db, ctx, alice, 1, IDENTITY), 'kyc.invalid_tier');
      await rejectsWith(submitKyc(adb.db, ctx, 999_999, 1, IDENTITY), 'user.not_found');
    });

    it('decides a submission once, by a named reviewer', async () => {
      const { submissionId } = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
      await rejectsWith(reviewKyc(adb.db, ctx, submissionId, '', { approve: true }), 'kyc.invalid_reviewer');
      await rejectsWith(
        reviewKyc(adb.db, ctx, submissionId, 'bad name;', { approve: true }),
        'kyc.invalid_reviewer',
      );
      await rejectsWith(reviewKyc(adb.db, ctx, 424_242, 'ops', { approve: true }), 'kyc.not_found');
      await reviewKyc(adb.db, ctx, submissionId, 'ops', { approve: true });
      await rejectsWith(
        reviewKyc(adb.db, ctx, submissionId, 'ops', { approve: false, reason: 'changed my mind' }),
        'kyc.already_reviewed',
      );
      assert.equal(await tierOf(alice), 1);
    });

    it('never lowers a tier on approval', async () => {
      const { submissionId } = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
      await adb.db.updateTable('users').set({ kycTier: 2 }).where('id', '=', alice).execute();
      await reviewKyc(adb.db, ctx, submissionId, 'ops', { approve: true });
      assert.equal(await tierOf(alice), 2);
    });

    it('shows each user only their own standing', async () => {
      await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
      const status = await kycStatus(adb.db, bob);
      assert.deepEqual([status.userId, status.tier, status.latest], [bob, 0, null]);
      assert.ok(!('data' in ((await kycStatus(adb.db, alice)).latest ?? {})));
    });

    it('records submission and decisions in the audit log, without the identity data', async () => {
      const a = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
      const b = await submitKyc(adb.db, ctx, bob, 1, IDENTITY);
      await reviewKyc(adb.db, ctx, a.submissionId, 'ops.jane', { approve: true });
      await reviewKyc(adb.db, ctx, b.submissionId, 'ops.jane', {
        approve: false,
        reason: 'expired document',
      });
      const rows = await adb.db
        .selectFrom('auditLog')
        .selectAll()
        .where('action', 'like', 'kyc.%')
        .orderBy('id')
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.action, r.actor, r.userId]),
        [
          ['kyc.submitted', `user:${alice}`, alice],
          ['kyc.submitted', `user:${bob}`, bob],
          ['kyc.approved', 'operator:ops.jane', alice],
          ['kyc.rejected', 'operator:ops.jane', bob],
        ],
      );
      assert.equal(rows[3]!.detail.reason, 'expired document');
      const text = JSON.stringify(rows);
      assert.ok(!text.includes('12AB34567') && !text.includes('1990-04-30'));
    });

    describe('identity data at rest', () => {
      const rowOf = (submissionId: number) =>
        adb.db
          .selectFrom('kycSubmissions')
          .selectAll()
          .where('id', '=', submissionId)
          .executeTakeFirstOrThrow();
      const auditOf = (action: string) =>
        adb.db.selectFrom('auditLog').selectAll().where('action', '=', action).orderBy('id').execute();

      it('is sealed: the row keeps only the document type and the country in clear', async () => {
        const { submissionId } = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
        const row = await rowOf(submissionId);
        assert.deepEqual(row.data, { documentType: 'PASSPORT', country: 'FR' });
        assert.match(row.dataEnc ?? '', /^v1\./);
        const text = JSON.stringify(row);
        for (const s of IDENTIFYING) assert.ok(!text.includes(s), `"${s}" is readable in the row`);
        const [listed] = await listPendingKyc(adb.db);
        assert.deepEqual(listed?.metadata, { documentType: 'PASSPORT', country: 'FR' });
        const shown = JSON.stringify([
          listed,
          await reviewKyc(adb.db, ctx, submissionId, 'ops', { approve: true }),
        ]);
        for (const s of IDENTIFYING) assert.ok(!shown.includes(s), `"${s}" is in a listing`);
      });

      it('opens for a named reviewer, and every read is in the audit log', async () => {
        const { submissionId } = await submitKyc(adb.db, ctx, alice, 2, IDENTITY);
        const seen = await viewKycSubmission(adb.db, ctx, submissionId, 'ops.jane');
        assert.deepEqual(seen.identity, NORMALISED);
        assert.deepEqual(
          [seen.submissionId, seen.userId, seen.requestedTier, seen.status, seen.metadata.country],
          [submissionId, alice, 2, 'PENDING', 'FR'],
        );
        await viewKycSubmission(adb.db, ctx, submissionId, 'ops.joe');
        const reads = await auditOf('kyc.viewed');
        assert.deepEqual(
          reads.map((r) => [r.actor, r.userId, r.detail.submissionId]),
          [
            ['operator:ops.jane', alice, submissionId],
            ['operator:ops.joe', alice, submissionId],
          ],
        );
        const audit = JSON.stringify(await adb.db.selectFrom('auditLog').selectAll().execute());
        for (const s of IDENTIFYING) assert.ok(!audit.includes(s), `"${s}" is in the audit log`);
        assert.equal((await verifyAuditLog(adb.db)).ok, true);
      });

      it('opens for no one unnamed, and not for a submission that does not exist', async () => {
        const { submissionId } = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
        for (const reviewer of ['', 'ops jane', 7])
          await rejectsWith(
            viewKycSubmission(adb.db, ctx, submissionId, reviewer as string),
            'kyc.invalid_reviewer',
          );
        for (const id of [0, -1, 1.5, 424_242])
          await rejectsWith(viewKycSubmission(adb.db, ctx, id, 'ops'), 'kyc.not_found');
        assert.deepEqual(await auditOf('kyc.viewed'), []);
      });

      it('never opens on another row, for another owner, or under another master key', async () => {
        const a = await submitKyc(adb.db, ctx, alice, 1, IDENTITY);
        const b = await submitKyc(adb.db, ctx, bob, 1, { ...IDENTITY, fullName: 'Bob Stone' });
        // Alice's sealed data copied onto Bob's submission.
        const sealed = (await rowOf(a.submissionId)).dataEnc;
        await adb.db
          .updateTable('kycSubmissions')
          .set({ dataEnc: sealed })
          .where('id', '=', b.submissionId)
          .execute();
        await rejectsWith(viewKycSubmission(adb.db, ctx, b.submissionId, 'ops'), 'crypto.open_failed');
        // Alice's submission moved to Bob's account (his own decided first: one pending each).
        await reviewKyc(adb.db, ctx, b.submissionId, 'ops', { approve: false, reason: 'unreadable' });
        await adb.db
          .updateTable('kycSubmissions')
          .set({ userId: bob })
          .where('id', '=', a.submissionId)
          .execute();
        await rejectsWith(viewKycSubmission(adb.db, ctx, a.submissionId, 'ops'), 'crypto.open_failed');
        await adb.db
          .updateTable('kycSubmissions')
          .set({ userId: alice })
          .where('id', '=', a.submissionId)
          .execute();
        await rejectsWith(
          viewKycSubmission(adb.db, { ...ctx, key: MasterKey.generate() }, a.submissionId, 'ops'),
          'crypto.open_failed',
        );
        assert.deepEqual((await viewKycSubmission(adb.db, ctx, a.submissionId, 'ops')).identity, NORMALISED);
        // Each attempt was recorded, the failed ones too.
        assert.equal((await auditOf('kyc.viewed')).length, 4);
      });

      it('arrives by a migration that runs on a table with rows, and old rows are sealed with the key', async () => {
        // The table as it was before the migration, holding a submission in the old form.
        await sealedMigration.down(adb.db);
        const legacy = await adb.db
          .insertInto('kycSubmissions')
          .values({ userId: alice, requestedTier: 1, data: JSON.stringify(NORMALISED) })
          .returning('id')
          .executeTakeFirstOrThrow();
        await sealedMigration.up(adb.db);
        assert.equal((await rowOf(legacy.id)).dataEnc, null);
        // Read in both forms meanwhile; listed without the identity.
        assert.deepEqual((await listPendingKyc(adb.db))[0]?.metadata, {
          documentType: 'PASSPORT',
          country: 'FR',
        });
        assert.deepEqual((await viewKycSubmission(adb.db, ctx, legacy.id, 'ops')).identity, NORMALISED);
        const fresh = await submitKyc(adb.db, ctx, bob, 1, IDENTITY);

        assert.equal(await sealLegacyKycData(adb.db, ctx, { batchSize: 1 }), 1);
        const row = await rowOf(legacy.id);
        assert.deepEqual(row.data, { documentType: 'PASSPORT', country: 'FR' });
        for (const s of IDENTIFYING) assert.ok(!JSON.stringify(row).includes(s));
        assert.deepEqual((await viewKycSubmission(adb.db, ctx, legacy.id, 'ops')).identity, NORMALISED);
        assert.deepEqual(
          (await viewKycSubmission(adb.db, ctx, fresh.submissionId, 'ops')).identity,
          NORMALISED,
        );
        assert.equal(await sealLegacyKycData(adb.db, ctx), 0);
        assert.deepEqual(
          (await auditOf('kyc.legacy_sealed')).map((r) => [r.actor, r.detail.count]),
          [['system', 1]],
        );
      });
    });
  });
});
