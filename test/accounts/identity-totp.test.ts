import assert from 'node:assert/strict';
import { HOTP, Secret, type TOTP, URI } from 'otpauth';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import {
  confirmTotp,
  disableTotp,
  secondFactor,
  setupTotp,
  verifyTotp,
} from '../../accounts/identity/totp.service.ts';
import { login, register } from '../../accounts/identity/user.service.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

const PASSWORD = 'Correct horse 42';
const STEP_MS = 30_000;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected AccountsError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

describe('identity: TOTP second factor', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let clock: number;
    let ctx: IdentityContext;
    let userId: number;
    /** The code of the app at `clock + offsetSteps` steps. */
    let codeAt: (offsetSteps?: number) => string;

    before(async function () {
      this.timeout(60_000);
      ctx = {
        key: MasterKey.generate(),
        hasher: createPasswordHasher({ cost: { log2N: 4 }, maxThreads: 1 }),
        now: () => clock,
      };
      adb = await dialect.open();
    });
    after(async () => {
      await adb.close();
      await ctx.hasher.close();
    });
    beforeEach(async () => {
      await truncateAll(adb);
      // The middle of a step, so that ±1 step is unambiguous.
      clock = Math.floor(Date.UTC(2026, 10, 28, 12) / STEP_MS) * STEP_MS + 15_000;
      userId = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
    });

    async function enable(): Promise<string> {
      const setup = await setupTotp(adb.db, ctx, userId);
      const secret = Secret.fromBase32(setup.secret);
      codeAt = (offset = 0) => HOTP.generate({ secret, counter: Math.floor(clock / STEP_MS) + offset });
      await confirmTotp(adb.db, ctx, userId, codeAt());
      clock += 3 * STEP_MS; // the confirming step is used up; the next two are not
      return setup.secret;
    }

    it('sets up a sealed secret, off until confirmed, and returns it with its otpauth URI', async () => {
      const setup = await setupTotp(adb.db, { ...ctx, totpIssuer: 'Crossbook Test' }, userId);
      assert.match(setup.secret, /^[A-Z2-7]{32}$/);
      const parsed = URI.parse(setup.uri) as TOTP;
      assert.equal(parsed.secret.base32, setup.secret);
      assert.deepEqual(
        [parsed.issuer, parsed.label, parsed.digits, parsed.period],
        ['Crossbook Test', 'alice@example.com', 6, 30],
      );
      const row = await adb.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      assert.equal(row.totpEnabled, false);
      assert.ok(row.totpSecretEnc !== null && !row.totpSecretEnc.includes(setup.secret));
      // Not on until confirmed: sign-in needs no code yet.
      await login(adb.db, ctx, 'alice@example.com', PASSWORD);
      assert.equal(await secondFactor(adb.db, ctx.key).isEnabled(userId), false);
    });

    it('turns on with a right code only', async () => {
      const setup = await setupTotp(adb.db, ctx, userId);
      const secret = Secret.fromBase32(setup.secret);
      const code = HOTP.generate({ secret, counter: Math.floor(clock / STEP_MS) });
      const wrong = code === '000000' ? '111111' : '000000';
      await rejectsWith(confirmTotp(adb.db, ctx, userId, wrong), 'totp.invalid_code');
      await rejectsWith(confirmTotp(adb.db, ctx, userId, 'abcdef'), 'totp.invalid_code');
      await confirmTotp(adb.db, ctx, userId, code);
      assert.equal(await secondFactor(adb.db, ctx.key).isEnabled(userId), true);
      await rejectsWith(setupTotp(adb.db, ctx, userId), 'totp.already_enabled');
      await rejectsWith(confirmTotp(adb.db, ctx, userId, code), 'totp.already_enabled');
    });

    it('refuses to confirm before any setup', async () => {
      await rejectsWith(confirmTotp(adb.db, ctx, userId, '123456'), 'totp.not_set_up');
    });

    it('accepts a code one step early or late, not two', async () => {
      await enable();
      const sf = secondFactor(adb.db, ctx.key, ctx);
      assert.equal(await sf.verify(userId, codeAt(-2)), false);
      assert.equal(await sf.verify(userId, codeAt(2)), false);
      assert.equal(await sf.verify(userId, codeAt(-1)), true);
      assert.equal(await sf.verify(userId, codeAt(1)), true);
    });

    it('never accepts a code twice, nor an older one after a newer', async () => {
      await enable();
      const sf = secondFactor(adb.db, ctx.key, ctx);
      const now = codeAt(0);
      assert.equal(await sf.verify(userId, now), true);
      assert.equal(await sf.verify(userId, now), false);
      assert.equal(await sf.verify(userId, codeAt(-1)), false);
      clock += STEP_MS;
      assert.equal(await sf.verify(userId, now), false);
      assert.equal(await sf.verify(userId, codeAt(0)), true);
    });

    it('lets only one of two concurrent uses of a code pass', async () => {
      await enable();
      const sf = secondFactor(adb.db, ctx.key, ctx);
      const code = codeAt(0);
      const results = await Promise.all([
        sf.verify(userId, code),
        sf.verify(userId, code),
        sf.verify(userId, code),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('requires the code at sign-in once on, and refuses a wrong or reused one', async () => {
      await enable();
      await rejectsWith(login(adb.db, ctx, 'alice@example.com', PASSWORD), 'auth.totp_required');
      const code = codeAt(0);
      await rejectsWith(
        login(adb.db, ctx, 'alice@example.com', PASSWORD, {
          totpCode: code === '000000' ? '111111' : '000000',
        }),
        'auth.totp_invalid',
      );
      const s = await login(adb.db, ctx, 'alice@example.com', PASSWORD, { totpCode: code });
      assert.equal(s.userId, userId);
      await rejectsWith(
        login(adb.db, ctx, 'alice@example.com', PASSWORD, { totpCode: code }),
        'auth.totp_invalid',
      );
      // A wrong password with a right code is still a wrong password.
      clock += STEP_MS;
      await rejectsWith(
        login(adb.db, ctx, 'alice@example.com', 'Wrong password 1', { totpCode: codeAt(0) }),
        'auth.invalid_credentials',
      );
    });

    it('counts wrong codes toward the lockout: guessing is bounded', async () => {
      await enable();
      const sf = secondFactor(adb.db, ctx.key, ctx);
      const right = codeAt(0);
      let guesses = 0;
      for (let g = 0; guesses < 5; g++) {
        const guess = String(g).padStart(6, '0');
        if (guess === right || guess === codeAt(-1) || guess === codeAt(1)) continue;
        assert.equal(await sf.verify(userId, guess), false);
        guesses++;
      }
      // Locked now: even the right code fails, and so does signing in.
      assert.equal(await sf.verify(userId, right), false);
      await rejectsWith(
        login(adb.db, ctx, 'alice@example.com', PASSWORD, { totpCode: right }),
        'auth.locked',
      );
      clock += 15 * 60_000;
      assert.equal(await sf.verify(userId, codeAt(0)), true);
    });

    it('turns off with a right code, and forgets the secret', async () => {
      await enable();
      await rejectsWith(
        disableTotp(adb.db, ctx, userId, codeAt(0) === '000000' ? '111111' : '000000'),
        'totp.invalid_code',
      );
      await disableTotp(adb.db, ctx, userId, codeAt(0));
      const row = await adb.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      assert.deepEqual([row.totpEnabled, row.totpSecretEnc, row.totpLastStep], [false, null, null]);
      await login(adb.db, ctx, 'alice@example.com', PASSWORD);
      assert.equal(await secondFactor(adb.db, ctx.key, ctx).verify(userId, codeAt(0)), false);
      await rejectsWith(disableTotp(adb.db, ctx, userId, codeAt(0)), 'totp.not_enabled');
    });

    it("cannot open a user's secret on another user's row", async () => {
      await enable();
      const bob = (await register(adb.db, ctx, 'bob@example.com', PASSWORD)).userId;
      const alice = await adb.db
        .selectFrom('users')
        .select('totpSecretEnc')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      await adb.db
        .updateTable('users')
        .set({ totpSecretEnc: alice.totpSecretEnc, totpEnabled: true })
        .where('id', '=', bob)
        .execute();
      assert.equal(await secondFactor(adb.db, ctx.key, ctx).verify(bob, codeAt(0)), false);
      assert.equal(await verifyTotp(adb.db, ctx, userId, codeAt(0)), true);
    });

    it('answers false, not an error, for an unknown user or a user without the factor', async () => {
      const sf = secondFactor(adb.db, ctx.key, ctx);
      assert.equal(await sf.verify(userId, '123456'), false);
      assert.equal(await sf.verify(999_999, '123456'), false);
      await rejectsWith(sf.isEnabled(999_999), 'user.not_found');
    });

    it('records enabling and disabling in the audit log without the secret or the code', async () => {
      const secret = await enable();
      const used = codeAt(0);
      await disableTotp(adb.db, ctx, userId, used);
      const rows = await adb.db.selectFrom('auditLog').select(['action', 'detail']).orderBy('id').execute();
      const actions = rows.map((r) => r.action);
      assert.ok(actions.includes('totp.setup_started'));
      assert.ok(actions.includes('totp.enabled'));
      assert.ok(actions.includes('totp.disabled'));
      const all = JSON.stringify(rows);
      assert.ok(!all.includes(secret) && !all.includes(`"${used}"`));
    });
  });
});
