import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { HOTP, Secret } from 'otpauth';
import { loadMasterKey, masterKeyBytes } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { createApiKey, deleteApiKey, resolveApiKey } from '../../accounts/identity/api-key.service.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import { reviewKyc, submitKyc, viewKycSubmission } from '../../accounts/identity/kyc.service.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { authenticate, logout, revokeAllSessions } from '../../accounts/identity/session.service.ts';
import { confirmTotp, disableTotp, secondFactor, setupTotp } from '../../accounts/identity/totp.service.ts';
import { changePassword, login, register, setUserStatus } from '../../accounts/identity/user.service.ts';
import { createLogger } from '../../accounts/logger.ts';
import { forEachDialect } from './dialects.ts';

/** A pino destination that keeps every line. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { stream, lines };
}

describe('no secret reaches a log', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let dir: string;
    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
      dir = mkdtempSync(path.join(tmpdir(), 'crossbook-logs-'));
    });
    after(async () => {
      await adb.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('in registration, sign-in, password change, sessions, TOTP, API keys, KYC and account status, nor in the audit log', async function () {
      this.timeout(60_000);
      const { stream, lines } = capture();
      const log = createLogger({ destination: stream, level: 'trace' });
      const { key } = loadMasterKey({ env: {}, dataDir: dir, log });
      let clock = Date.UTC(2026, 10, 28, 12, 0, 15);
      const ctx: IdentityContext = {
        key,
        hasher: createPasswordHasher({ cost: { log2N: 4 }, maxThreads: 1 }),
        log,
        now: () => clock,
      };
      const secrets: string[] = [];
      const codes: string[] = [];
      const keep = (...s: (string | null | undefined)[]): void => {
        for (const x of s) if (x !== null && x !== undefined && x !== '') secrets.push(x);
      };
      const bytes = masterKeyBytes(key);
      keep(bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'));

      try {
        const password = 'Sesame Open 4 Alice';
        const wrong = 'Not Her Password 9';
        keep(password, wrong);
        const { userId } = await register(adb.db, ctx, 'alice@example.com', password, { ip: '10.0.0.1' });
        await register(adb.db, ctx, 'alice@example.com', password).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        await register(adb.db, ctx, 'bob@example.com', 'short').catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        keep('short');

        // Sign-in: failures of every kind, then success; a careless caller logging its input.
        await login(adb.db, ctx, 'alice@example.com', wrong).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        await login(adb.db, ctx, 'nobody@example.com', wrong).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        const s1 = await login(adb.db, ctx, 'alice@example.com', password, {
          ip: '10.0.0.1',
          userAgent: 'test',
        });
        keep(s1.sessionToken);
        log.info({ body: { email: 'alice@example.com', password, totpCode: '123456' } }, 'a request body');
        log.info({ res: { sessionToken: s1.sessionToken, expiresAt: s1.expiresAt } }, 'a response');
        await authenticate(adb.db, s1.sessionToken, ctx);

        // TOTP: setup, confirm, sign-in with a code, verify, a wrong code, disable.
        const setup = await setupTotp(adb.db, ctx, userId);
        keep(setup.secret, setup.uri);
        const secret = Secret.fromBase32(setup.secret);
        const codeAt = (): string => {
          const c = HOTP.generate({ secret, counter: Math.floor(clock / 30_000) });
          codes.push(c);
          return c;
        };
        await confirmTotp(adb.db, ctx, userId, codeAt());
        clock += 90_000;
        await login(adb.db, ctx, 'alice@example.com', password).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        const s2 = await login(adb.db, ctx, 'alice@example.com', password, { totpCode: codeAt() });
        keep(s2.sessionToken);
        clock += 90_000;
        const sf = secondFactor(adb.db, key, ctx);
        log.debug({ ok: await sf.verify(userId, codeAt()), userId }, 'second factor checked');
        const used = codes.at(-1)!;
        log.debug({ ok: await sf.verify(userId, used) }, 'second factor replayed');
        clock += 90_000;
        const forDisable = codeAt();
        log.info({ totp: forDisable, code: forDisable }, 'a careless caller');
        await disableTotp(adb.db, ctx, userId, forDisable);

        // API keys: create (the secret shown once), resolve (the secret in memory), delete.
        const hmac = await createApiKey(adb.db, ctx, userId, {
          label: 'bot',
          permissions: { trade: true, withdraw: true },
          ipAllow: ['10.0.0.1'],
        });
        keep(hmac.secretKey);
        log.info({ key: hmac }, 'created key as returned');
        const resolved = await resolveApiKey(adb.db, key, hmac.apiKey);
        log.info({ resolved }, 'resolved key');
        await deleteApiKey(adb.db, ctx, userId, hmac.keyId);

        // KYC: the identity data is not secret, but it identifies a person: kept out too.
        const { submissionId } = await submitKyc(adb.db, ctx, userId, 1, {
          fullName: 'Alice Liddell',
          dateOfBirth: '1990-04-30',
          country: 'GB',
          documentType: 'PASSPORT',
          documentNumber: 'PX9988776',
        });
        keep('Alice Liddell', '1990-04-30', 'PX9988776');
        const viewed = await viewKycSubmission(adb.db, ctx, submissionId, 'ops');
        log.info({ submission: viewed }, 'a careless reviewer tool');
        await reviewKyc(adb.db, ctx, submissionId, 'ops', { approve: true });

        // Password change: a wrong current one, then the right one; sessions.
        const renewed = 'Looking Glass 7 Alice';
        keep(renewed);
        await changePassword(adb.db, ctx, userId, wrong, renewed).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );
        await changePassword(adb.db, ctx, userId, password, renewed, { keepSessionId: s1.sessionId });
        await logout(adb.db, ctx, s1.sessionToken);
        await revokeAllSessions(adb.db, ctx, userId);

        // An operator disables the account: sign-in refused even with the right password.
        await setUserStatus(adb.db, ctx, userId, 'DISABLED', 'ops', 'account review');
        await login(adb.db, ctx, 'alice@example.com', renewed).catch((err: unknown) =>
          log.warn({ err }, 'refused'),
        );

        // What the database itself keeps that must not leak either.
        const user = await adb.db.selectFrom('users').select(['passwordHash']).executeTakeFirstOrThrow();
        const sealed = await adb.db.selectFrom('apiKeys').select('secretEnc').executeTakeFirstOrThrow();
        const kyc = await adb.db.selectFrom('kycSubmissions').select('dataEnc').executeTakeFirstOrThrow();
        keep(user.passwordHash, sealed.secretEnc, kyc.dataEnc);
      } finally {
        await ctx.hasher.close();
      }

      const text = lines.join('\n');
      // The flows did log: the scan below is over real output.
      for (const msg of [
        'user registered',
        'signed in',
        'sign-in refused',
        'second factor enabled',
        'api key created',
        'kyc reviewed',
        'kyc identity viewed',
        'password change refused',
        'password changed',
        'account status set',
        'development master key',
      ])
        assert.ok(text.includes(msg), `no log line says "${msg}"`);
      const audit = JSON.stringify(await adb.db.selectFrom('auditLog').selectAll().execute());
      for (const [where, body] of [
        ['logs', text],
        ['audit log', audit],
      ] as const) {
        for (const s of secrets)
          assert.ok(!body.includes(s), `a secret (${s.length} characters) is in the ${where}`);
        for (const c of codes)
          assert.ok(!new RegExp(`(?<![0-9])${c}(?![0-9])`).test(body), `a TOTP code is in the ${where}`);
      }
      assert.ok(text.includes('[redacted]'), 'the careless lines were redacted');
    });
  });
});
