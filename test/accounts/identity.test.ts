import assert from 'node:assert/strict';
import { verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import { createApiKey, resolveApiKey } from '../../accounts/identity/api-key.service.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import { createPasswordHasher, type PasswordHasher } from '../../accounts/identity/password-hasher.ts';
import {
  authenticate,
  listSessions,
  logout,
  revokeAllSessions,
  revokeSession,
} from '../../accounts/identity/session.service.ts';
import {
  changePassword,
  getUser,
  login,
  register,
  setUserStatus,
} from '../../accounts/identity/user.service.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

const PASSWORD = 'Correct horse 42';
const MINUTE = 60_000;

/** Rejects with an AccountsError of `code`. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected AccountsError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** A hasher that counts its verifications (the real pool underneath). */
function counting(inner: PasswordHasher): PasswordHasher & { verifies: number } {
  const c = {
    ...inner,
    verifies: 0,
    verify(password: string, encoded: string) {
      c.verifies++;
      return inner.verify(password, encoded);
    },
  };
  return c;
}

describe('identity: users and sessions', () => {
  let hasher: PasswordHasher & { verifies: number };
  let clock: number;
  let ctx: IdentityContext;

  forEachDialect((dialect) => {
    let adb: AccountsDb;
    before(async function () {
      this.timeout(60_000);
      hasher = counting(createPasswordHasher({ cost: { log2N: 4, r: 8, p: 1 }, maxThreads: 2 }));
      ctx = { key: MasterKey.generate(), hasher, now: () => clock };
      adb = await dialect.open();
    });
    after(async () => {
      await adb.close();
      await hasher.close();
    });
    beforeEach(async () => {
      await truncateAll(adb);
      clock = Date.UTC(2026, 10, 28, 12, 0, 0);
    });

    const actions = async (): Promise<string[]> =>
      (await adb.db.selectFrom('auditLog').select('action').orderBy('id').execute()).map((r) => r.action);

    describe('registration', () => {
      it('creates an account with a lower-cased email and a scrypt hash, and audits it', async () => {
        const u = await register(adb.db, ctx, '  Alice@Example.COM ', PASSWORD, { ip: '10.0.0.7' });
        assert.equal(u.email, 'alice@example.com');
        const row = await adb.db
          .selectFrom('users')
          .selectAll()
          .where('id', '=', u.userId)
          .executeTakeFirstOrThrow();
        assert.match(row.passwordHash, /^\$scrypt\$ln=4,r=8,p=1\$/);
        assert.ok(!row.passwordHash.includes(PASSWORD));
        assert.deepEqual([row.kycTier, row.totpEnabled, row.status], [0, false, 'ACTIVE']);
        const audit = await adb.db.selectFrom('auditLog').selectAll().executeTakeFirstOrThrow();
        assert.deepEqual([audit.action, audit.userId, audit.ip], ['user.registered', u.userId, '10.0.0.7']);
        assert.equal((await getUser(adb.db, u.userId)).email, 'alice@example.com');
      });

      it('refuses an email already taken, whatever its case', async () => {
        await register(adb.db, ctx, 'alice@example.com', PASSWORD);
        await rejectsWith(register(adb.db, ctx, 'ALICE@example.com', 'Another pass 99'), 'user.email_taken');
        assert.equal((await adb.db.selectFrom('users').select('id').execute()).length, 1);
      });

      it('refuses a malformed email', async () => {
        for (const bad of [
          '',
          'alice',
          'alice@',
          '@example.com',
          'a b@example.com',
          'alice@example',
          'a..b@example.com',
          `${'a'.repeat(65)}@example.com`,
          42,
        ])
          await rejectsWith(register(adb.db, ctx, bad as string, PASSWORD), 'user.invalid_email');
      });

      it('refuses a password too short, too long, or of one kind of character', async () => {
        for (const bad of [
          'Short 1',
          'x'.repeat(129),
          'alllowercaseletters',
          'ALLUPPERCASE',
          '12345678901',
          undefined,
        ])
          await rejectsWith(register(adb.db, ctx, 'bob@example.com', bad as string), 'user.invalid_password');
        await rejectsWith(
          register(adb.db, ctx, 'bob1@example.com', 'bob1@example.com'),
          'user.invalid_password',
        );
        assert.equal((await adb.db.selectFrom('users').select('id').execute()).length, 0);
      });

      it('accepts a long passphrase of letters and spaces', async () => {
        await register(adb.db, ctx, 'carol@example.com', 'correct horse battery staple');
      });
    });

    describe('sign-in', () => {
      let userId: number;
      beforeEach(async () => {
        userId = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
      });

      it('opens a 24-hour session and stores only the token hash', async () => {
        const s = await login(adb.db, ctx, 'ALICE@example.com', PASSWORD, {
          ip: '2001:DB8::1',
          userAgent: 'tests',
        });
        assert.equal(s.userId, userId);
        assert.match(s.sessionToken, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(s.expiresAt.getTime(), clock + 24 * 60 * MINUTE);
        const rows = await adb.db.selectFrom('sessions').selectAll().execute();
        assert.equal(rows.length, 1);
        assert.notEqual(rows[0]!.id, s.sessionToken);
        assert.equal(rows[0]!.id, s.sessionId);
        assert.deepEqual([rows[0]!.ip, rows[0]!.userAgent], ['2001:db8::1', 'tests']);
        const who = await authenticate(adb.db, s.sessionToken, ctx);
        assert.deepEqual([who.userId, who.email, who.sessionId], [userId, 'alice@example.com', s.sessionId]);
        assert.deepEqual((await actions()).slice(-1), ['auth.login_succeeded']);
      });

      it('answers an unknown email exactly as a wrong password, and hashes for both', async () => {
        const before = hasher.verifies;
        const errors: unknown[] = [];
        for (const email of ['nobody@example.com', 'alice@example.com', 'not an email'])
          await login(adb.db, ctx, email, 'Wrong password 1').catch((e: unknown) => errors.push(e));
        assert.equal(hasher.verifies - before, 3);
        assert.equal(errors.length, 3);
        for (const e of errors) {
          assert.ok(isAccountsError(e, 'auth.invalid_credentials'));
          assert.equal(e.message, (errors[0] as Error).message);
        }
        const failed = await adb.db
          .selectFrom('auditLog')
          .select(['action', 'userId', 'detail'])
          .where('action', '=', 'auth.login_failed')
          .orderBy('id')
          .execute();
        assert.deepEqual(
          failed.map((f) => [f.userId, f.detail.reason]),
          [
            [null, 'unknown_email'],
            [userId, 'bad_password'],
            [null, 'unknown_email'],
          ],
        );
      });

      it('locks the account for 15 minutes after 5 consecutive failures, whatever the password', async () => {
        for (let i = 0; i < 5; i++)
          await rejectsWith(
            login(adb.db, ctx, 'alice@example.com', `Wrong password ${i}`),
            'auth.invalid_credentials',
          );
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.locked');
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', 'Wrong password x'), 'auth.locked');
        clock += 14 * MINUTE;
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.locked');
        clock += MINUTE;
        const s = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        assert.equal(s.userId, userId);
        const a = await actions();
        assert.equal(a.filter((x) => x === 'auth.locked').length, 1);
        assert.equal(a.filter((x) => x === 'auth.login_failed').length, 8);
        assert.equal((await verifyAuditLog(adb.db)).ok, true);
      });

      it('counts only consecutive failures: a success starts the count again', async () => {
        for (let i = 0; i < 4; i++)
          await login(adb.db, ctx, 'alice@example.com', 'Wrong password 1').catch(() => {});
        await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        for (let i = 0; i < 4; i++)
          await login(adb.db, ctx, 'alice@example.com', 'Wrong password 1').catch(() => {});
        await login(adb.db, ctx, 'alice@example.com', PASSWORD);
      });

      it('counts failures per user: another account is not locked', async () => {
        await register(adb.db, ctx, 'bob@example.com', PASSWORD);
        for (let i = 0; i < 5; i++)
          await login(adb.db, ctx, 'alice@example.com', 'Wrong password 1').catch(() => {});
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.locked');
        await login(adb.db, ctx, 'bob@example.com', PASSWORD);
      });

      it('counts concurrent failures each', async () => {
        await Promise.all(
          Array.from({ length: 5 }, () =>
            login(adb.db, ctx, 'alice@example.com', 'Wrong password 1').catch(() => {}),
          ),
        );
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.locked');
      });

      it('refuses a disabled account once the password is right', async () => {
        await adb.db.updateTable('users').set({ status: 'DISABLED' }).where('id', '=', userId).execute();
        await rejectsWith(
          login(adb.db, ctx, 'alice@example.com', 'Wrong password 1'),
          'auth.invalid_credentials',
        );
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.disabled');
      });

      it('upgrades a hash made at an older cost on sign-in', async () => {
        const stronger = createPasswordHasher({ cost: { log2N: 5, r: 8, p: 1 }, maxThreads: 1 });
        try {
          await login(adb.db, { ...ctx, hasher: stronger }, 'alice@example.com', PASSWORD);
          const row = await adb.db.selectFrom('users').select('passwordHash').executeTakeFirstOrThrow();
          assert.match(row.passwordHash, /^\$scrypt\$ln=5,/);
          await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        } finally {
          await stronger.close();
        }
      });
    });

    describe('sessions', () => {
      let alice: number;
      let bob: number;
      beforeEach(async () => {
        alice = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
        bob = (await register(adb.db, ctx, 'bob@example.com', PASSWORD)).userId;
      });

      it('expires a session after its lifetime', async () => {
        const s = await login(adb.db, { ...ctx, sessionTtlMs: 30 * MINUTE }, 'alice@example.com', PASSWORD);
        clock += 30 * MINUTE - 1;
        await authenticate(adb.db, s.sessionToken, ctx);
        clock += 1;
        await rejectsWith(authenticate(adb.db, s.sessionToken, ctx), 'auth.session_expired');
        assert.deepEqual(await listSessions(adb.db, alice, ctx), []);
        assert.equal(
          (await listSessions(adb.db, alice, { ...ctx, includeInactive: true }))[0]?.active,
          false,
        );
      });

      it('refuses a token it never issued, or a malformed one', async () => {
        const s = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const forged = `${s.sessionToken.slice(0, -1)}${s.sessionToken.endsWith('A') ? 'B' : 'A'}`;
        for (const t of [forged, '', 'x', s.sessionId, `${s.sessionToken} `])
          await rejectsWith(authenticate(adb.db, t, ctx), 'auth.session_invalid');
      });

      it('signs out one session and leaves the others', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const b = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        await logout(adb.db, ctx, a.sessionToken);
        await logout(adb.db, ctx, a.sessionToken); // twice is not an error
        await rejectsWith(authenticate(adb.db, a.sessionToken, ctx), 'auth.session_revoked');
        await authenticate(adb.db, b.sessionToken, ctx);
        assert.deepEqual(
          (await listSessions(adb.db, alice, ctx)).map((s) => s.sessionId),
          [b.sessionId],
        );
        assert.equal((await actions()).filter((x) => x === 'session.logged_out').length, 1);
      });

      it('revokes one session by id, or all but the current one', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const b = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const c = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        await revokeSession(adb.db, ctx, alice, a.sessionId);
        await rejectsWith(revokeSession(adb.db, ctx, alice, a.sessionId), 'session.not_found');
        assert.equal(await revokeAllSessions(adb.db, ctx, alice, { exceptSessionId: c.sessionId }), 1);
        await rejectsWith(authenticate(adb.db, b.sessionToken, ctx), 'auth.session_revoked');
        await authenticate(adb.db, c.sessionToken, ctx);
        assert.equal(await revokeAllSessions(adb.db, ctx, alice), 1);
        await rejectsWith(authenticate(adb.db, c.sessionToken, ctx), 'auth.session_revoked');
        const a2 = await actions();
        assert.equal(a2.filter((x) => x === 'session.revoked').length, 1);
        assert.equal(a2.filter((x) => x === 'session.revoked_all').length, 2);
      });

      it('refuses a session of a disabled account', async () => {
        const s = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        await adb.db.updateTable('users').set({ status: 'DISABLED' }).where('id', '=', alice).execute();
        await rejectsWith(authenticate(adb.db, s.sessionToken, ctx), 'auth.session_invalid');
      });

      it("never lets one user see or end another's sessions", async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        await login(adb.db, ctx, 'bob@example.com', PASSWORD);
        assert.equal((await listSessions(adb.db, bob, ctx)).length, 1);
        assert.ok((await listSessions(adb.db, bob, ctx)).every((s) => s.sessionId !== a.sessionId));
        await rejectsWith(revokeSession(adb.db, ctx, bob, a.sessionId), 'session.not_found');
        assert.equal(await revokeAllSessions(adb.db, ctx, bob), 1);
        await authenticate(adb.db, a.sessionToken, ctx);
      });
    });

    describe('password change', () => {
      const NEW = 'Battery staple 77';
      let alice: number;
      let bob: number;
      beforeEach(async () => {
        alice = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
        bob = (await register(adb.db, ctx, 'bob@example.com', PASSWORD)).userId;
      });

      const hashOf = async (userId: number): Promise<string> =>
        (
          await adb.db
            .selectFrom('users')
            .select('passwordHash')
            .where('id', '=', userId)
            .executeTakeFirstOrThrow()
        ).passwordHash;

      it('replaces the password and ends every session but the one kept', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const b = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const current = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const changed = await changePassword(adb.db, ctx, alice, PASSWORD, NEW, {
          keepSessionId: current.sessionId,
          ip: '10.0.0.9',
        });
        assert.deepEqual(changed, { userId: alice, revokedSessions: 2 });
        for (const s of [a, b])
          await rejectsWith(authenticate(adb.db, s.sessionToken, ctx), 'auth.session_revoked');
        await authenticate(adb.db, current.sessionToken, ctx);
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.invalid_credentials');
        await login(adb.db, ctx, 'alice@example.com', NEW);
        const audit = await adb.db
          .selectFrom('auditLog')
          .selectAll()
          .where('action', '=', 'user.password_changed')
          .executeTakeFirstOrThrow();
        assert.deepEqual(
          [audit.actor, audit.userId, audit.ip, audit.detail.revokedSessions],
          [`user:${alice}`, alice, '10.0.0.9', 2],
        );
        const all = JSON.stringify(await adb.db.selectFrom('auditLog').selectAll().execute());
        assert.ok(!all.includes(PASSWORD) && !all.includes(NEW));
        assert.ok(!all.includes(await hashOf(alice)));
        assert.equal((await verifyAuditLog(adb.db)).ok, true);
      });

      it('ends every session when none is kept', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        assert.equal((await changePassword(adb.db, ctx, alice, PASSWORD, NEW)).revokedSessions, 1);
        await rejectsWith(authenticate(adb.db, a.sessionToken, ctx), 'auth.session_revoked');
      });

      it("keeps only the user's own session: another user's session id changes nothing", async () => {
        const mine = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const bobs = await login(adb.db, ctx, 'bob@example.com', PASSWORD);
        const changed = await changePassword(adb.db, ctx, alice, PASSWORD, NEW, {
          keepSessionId: bobs.sessionId,
        });
        assert.equal(changed.revokedSessions, 1);
        await rejectsWith(authenticate(adb.db, mine.sessionToken, ctx), 'auth.session_revoked');
        await authenticate(adb.db, bobs.sessionToken, ctx);
        await login(adb.db, ctx, 'bob@example.com', PASSWORD);
        // Bob's password is not Alice's new one.
        await rejectsWith(login(adb.db, ctx, 'bob@example.com', NEW), 'auth.invalid_credentials');
      });

      it('refuses a wrong current password and counts it toward the lockout', async () => {
        const s = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const before = await hashOf(alice);
        for (let i = 0; i < 4; i++)
          await rejectsWith(
            changePassword(adb.db, ctx, alice, `Wrong password ${i}`, NEW),
            'auth.invalid_credentials',
          );
        // The fifth failure may be a sign-in: both count alike.
        await rejectsWith(
          login(adb.db, ctx, 'alice@example.com', 'Wrong password 5'),
          'auth.invalid_credentials',
        );
        // Locked: the right password no longer helps, and gives no other answer than a wrong one.
        await rejectsWith(changePassword(adb.db, ctx, alice, PASSWORD, NEW), 'auth.locked');
        await rejectsWith(changePassword(adb.db, ctx, alice, PASSWORD, PASSWORD), 'auth.locked');
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.locked');
        assert.equal(await hashOf(alice), before);
        await authenticate(adb.db, s.sessionToken, ctx);
        const a = await actions();
        assert.equal(a.filter((x) => x === 'user.password_change_failed').length, 6);
        assert.equal(a.filter((x) => x === 'auth.locked').length, 1);
        assert.ok(!a.includes('user.password_changed'));
        // Once the lock runs out, the right password works again.
        clock += 15 * MINUTE;
        await changePassword(adb.db, ctx, alice, PASSWORD, NEW);
      });

      it('refuses a new password that breaks the rules, without counting a failure', async () => {
        for (const bad of ['Short 1', 'alllowercaseletters', 'alice@example.com', 'x'.repeat(129), undefined])
          await rejectsWith(
            changePassword(adb.db, ctx, alice, 'Wrong password 1', bad as string),
            'user.invalid_password',
          );
        await rejectsWith(changePassword(adb.db, ctx, alice, PASSWORD, PASSWORD), 'user.invalid_password');
        const row = await adb.db
          .selectFrom('users')
          .select('failedLogins')
          .where('id', '=', alice)
          .executeTakeFirstOrThrow();
        assert.equal(row.failedLogins, 0);
        await login(adb.db, ctx, 'alice@example.com', PASSWORD);
      });

      it('lets only one of two concurrent changes from the same password through', async () => {
        const results = await Promise.allSettled([
          changePassword(adb.db, ctx, alice, PASSWORD, NEW),
          changePassword(adb.db, ctx, alice, PASSWORD, 'Another pass 88'),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const refused = results.find((r) => r.status === 'rejected');
        assert.ok(isAccountsError(refused?.reason, 'auth.invalid_credentials'));
        const winner = results[0]?.status === 'fulfilled' ? NEW : 'Another pass 88';
        await login(adb.db, ctx, 'alice@example.com', winner);
      });

      it('refuses an unknown user and a disabled account', async () => {
        for (const id of [0, -1, 1.5, 999_999])
          await rejectsWith(changePassword(adb.db, ctx, id, PASSWORD, NEW), 'user.not_found');
        await setUserStatus(adb.db, ctx, bob, 'DISABLED', 'ops', 'closed at the owner\u2019s request');
        await rejectsWith(changePassword(adb.db, ctx, bob, PASSWORD, NEW), 'user.disabled');
      });
    });

    describe('account status (operators)', () => {
      let alice: number;
      beforeEach(async () => {
        alice = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
        await register(adb.db, ctx, 'bob@example.com', PASSWORD);
      });

      it('disables an account: its sessions end, sign-in is refused, its keys resolve as disabled', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const b = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const bobs = await login(adb.db, ctx, 'bob@example.com', PASSWORD);
        const key = await createApiKey(adb.db, ctx, alice, { label: 'bot', permissions: { trade: true } });
        const r = await setUserStatus(adb.db, ctx, alice, 'DISABLED', 'ops.jane', 'fraud report 12');
        assert.deepEqual(r, { userId: alice, status: 'DISABLED', changed: true, revokedSessions: 2 });
        const rows = await adb.db
          .selectFrom('sessions')
          .select(['id', 'revokedAt'])
          .where('userId', '=', alice)
          .execute();
        assert.ok(rows.every((row) => row.revokedAt !== null));
        for (const s of [a, b]) await assert.rejects(authenticate(adb.db, s.sessionToken, ctx));
        await authenticate(adb.db, bobs.sessionToken, ctx);
        await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.disabled');
        const resolved = await resolveApiKey(adb.db, ctx.key, key.apiKey);
        assert.deepEqual([resolved?.keyId, resolved?.userStatus], [key.keyId, 'DISABLED']);
        assert.equal((await getUser(adb.db, alice)).status, 'DISABLED');
        const audit = await adb.db
          .selectFrom('auditLog')
          .selectAll()
          .where('action', '=', 'user.disabled')
          .executeTakeFirstOrThrow();
        assert.deepEqual(
          [audit.actor, audit.userId, audit.detail.reason, audit.detail.revokedSessions],
          ['operator:ops.jane', alice, 'fraud report 12', 2],
        );
      });

      it('enables it again: sign-in works, the ended sessions stay ended', async () => {
        const a = await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        await setUserStatus(adb.db, ctx, alice, 'DISABLED', 'ops', 'investigation');
        const r = await setUserStatus(adb.db, ctx, alice, 'ACTIVE', 'ops.lead', 'cleared');
        assert.deepEqual(r, { userId: alice, status: 'ACTIVE', changed: true, revokedSessions: 0 });
        await rejectsWith(authenticate(adb.db, a.sessionToken, ctx), 'auth.session_revoked');
        await login(adb.db, ctx, 'alice@example.com', PASSWORD);
        const audit = await adb.db
          .selectFrom('auditLog')
          .select(['actor', 'detail'])
          .where('action', '=', 'user.enabled')
          .executeTakeFirstOrThrow();
        assert.deepEqual([audit.actor, audit.detail.reason], ['operator:ops.lead', 'cleared']);
        assert.equal((await verifyAuditLog(adb.db)).ok, true);
      });

      it('changes nothing, and records nothing, when the status is already the one asked for', async () => {
        const before = (await actions()).length;
        const r = await setUserStatus(adb.db, ctx, alice, 'ACTIVE', 'ops', 'no-op');
        assert.deepEqual([r.changed, r.revokedSessions], [false, 0]);
        assert.equal((await actions()).length, before);
      });

      it('refuses an unknown status, an unnamed operator, a missing reason or an unknown user', async () => {
        await rejectsWith(
          setUserStatus(adb.db, ctx, alice, 'BANNED' as never, 'ops', 'x'),
          'user.invalid_status',
        );
        for (const op of ['', 'ops jane', 'ops;drop', 'x'.repeat(65), 7])
          await rejectsWith(
            setUserStatus(adb.db, ctx, alice, 'DISABLED', op as string, 'reason'),
            'user.invalid_operator',
          );
        for (const reason of ['', '   ', 'x'.repeat(501), 'bell\u0007', undefined])
          await rejectsWith(
            setUserStatus(adb.db, ctx, alice, 'DISABLED', 'ops', reason as string),
            'user.reason_required',
          );
        for (const id of [0, 999_999])
          await rejectsWith(setUserStatus(adb.db, ctx, id, 'DISABLED', 'ops', 'reason'), 'user.not_found');
        assert.equal((await getUser(adb.db, alice)).status, 'ACTIVE');
      });
    });
  });
});
