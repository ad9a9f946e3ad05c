import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import {
  checkIpAllow,
  createApiKey,
  deleteApiKey,
  isIpAllowed,
  listApiKeys,
  MAX_API_KEYS_PER_USER,
  randomAlphanumeric,
  resolveApiKey,
} from '../../accounts/identity/api-key.service.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { register } from '../../accounts/identity/user.service.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

const PASSWORD = 'Correct horse 42';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected AccountsError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

const ed25519Pem = (): string =>
  generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('API keys', () => {
  it('makes 64 alphanumeric characters, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = randomAlphanumeric();
      assert.match(k, /^[A-Za-z0-9]{64}$/);
      seen.add(k);
    }
    assert.equal(seen.size, 200);
  });

  it('canonicalises allow-lists and checks addresses against them', () => {
    assert.deepEqual(checkIpAllow(['10.0.0.1', '2001:DB8:0:0::1', '::ffff:10.0.0.1', '10.0.0.1']), [
      '10.0.0.1',
      '2001:db8::1',
    ]);
    assert.equal(isIpAllowed(['10.0.0.1'], '::ffff:10.0.0.1'), true);
    assert.equal(isIpAllowed(['2001:db8::1'], '2001:0db8::0001'), true);
    assert.equal(isIpAllowed(['10.0.0.1'], '10.0.0.2'), false);
    assert.equal(isIpAllowed([], '10.0.0.2'), true);
    assert.equal(isIpAllowed(['10.0.0.1'], 'garbage'), false);
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
      };
      adb = await dialect.open();
    });
    after(async () => {
      await adb.close();
      await ctx.hasher.close();
    });
    beforeEach(async () => {
      await truncateAll(adb);
      alice = (await register(adb.db, ctx, 'alice@example.com', PASSWORD)).userId;
      bob = (await register(adb.db, ctx, 'bob@example.com', PASSWORD)).userId;
    });

    it('creates an HMAC key, shows its secret once and keeps it sealed', async () => {
      const k = await createApiKey(adb.db, ctx, alice, {
        label: 'bot',
        permissions: { read: true, trade: true },
        ipAllow: ['203.0.113.9'],
      });
      assert.match(k.apiKey, /^[A-Za-z0-9]{64}$/);
      assert.match(k.secretKey ?? '', /^[A-Za-z0-9]{64}$/);
      assert.deepEqual(k.permissions, { read: true, trade: true, withdraw: false });
      const row = await adb.db.selectFrom('apiKeys').selectAll().executeTakeFirstOrThrow();
      assert.ok(row.secretEnc !== null && !row.secretEnc.includes(k.secretKey!));
      assert.deepEqual(row.ipAllow, ['203.0.113.9']);
      const listed = await listApiKeys(adb.db, alice);
      assert.equal(listed.length, 1);
      assert.ok(!JSON.stringify(listed).includes(k.secretKey!));
      assert.ok(!('secretKey' in listed[0]!));
      const resolved = await resolveApiKey(adb.db, ctx.key, k.apiKey);
      assert.deepEqual(resolved, {
        keyId: k.keyId,
        userId: alice,
        type: 'HMAC',
        secret: k.secretKey,
        canRead: true,
        canTrade: true,
        canWithdraw: false,
        ipAllow: ['203.0.113.9'],
        userStatus: 'ACTIVE',
        kycTier: 0,
        authVersion: 0,
      });
    });

    it('creates an Ed25519 key from a PEM public key, with no secret', async () => {
      const pem = ed25519Pem();
      const k = await createApiKey(adb.db, ctx, alice, { label: 'ed', type: 'ED25519', publicKey: pem });
      assert.equal(k.secretKey, undefined);
      assert.equal(k.publicKey, pem);
      const resolved = await resolveApiKey(adb.db, ctx.key, k.apiKey);
      assert.equal(resolved?.type, 'ED25519');
      assert.equal(resolved?.publicKey, pem);
      assert.equal(resolved?.secret, undefined);
    });

    it('refuses a public key that is not Ed25519, or not a key', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
        type: 'spki',
        format: 'pem',
      });
      const priv = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
      for (const publicKey of [
        String(rsa),
        String(priv),
        'not a key',
        '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
        undefined,
      ])
        await rejectsWith(
          createApiKey(adb.db, ctx, alice, { label: 'ed', type: 'ED25519', publicKey: publicKey as string }),
          'apikey.invalid_public_key',
        );
      await rejectsWith(
        createApiKey(adb.db, ctx, alice, { label: 'h', type: 'HMAC', publicKey: ed25519Pem() }),
        'apikey.invalid_public_key',
      );
    });

    it('refuses bad labels, permissions, types and addresses', async () => {
      const cases: [Parameters<typeof createApiKey>[3], string][] = [
        [{ label: '' }, 'apikey.invalid_label'],
        [{ label: 'x'.repeat(65) }, 'apikey.invalid_label'],
        [{ label: 'a\u0000b' }, 'apikey.invalid_label'],
        [{ label: 'k', permissions: { read: false } }, 'apikey.invalid_permissions'],
        [{ label: 'k', permissions: { trade: 'yes' as unknown as boolean } }, 'apikey.invalid_permissions'],
        [{ label: 'k', permissions: { admin: true } as never }, 'apikey.invalid_permissions'],
        [{ label: 'k', type: 'RSA' as never }, 'apikey.invalid_type'],
        [{ label: 'k', ipAllow: ['10.0.0.300'] }, 'apikey.invalid_ip'],
        [{ label: 'k', ipAllow: ['10.0.0.0/8'] }, 'apikey.invalid_ip'],
        [{ label: 'k', ipAllow: '10.0.0.1' as never }, 'apikey.invalid_ip'],
        [{ label: 'k', ipAllow: Array.from({ length: 31 }, (_, i) => `10.0.0.${i}`) }, 'apikey.too_many_ips'],
      ];
      for (const [input, code] of cases) await rejectsWith(createApiKey(adb.db, ctx, alice, input), code);
      assert.equal((await listApiKeys(adb.db, alice)).length, 0);
      await createApiKey(adb.db, ctx, alice, {
        label: 'k',
        ipAllow: Array.from({ length: 30 }, (_, i) => `10.0.0.${i}`),
      });
    });

    it('holds at most 30 live keys per user; a deleted key frees its place', async () => {
      const keys = [];
      for (let i = 0; i < MAX_API_KEYS_PER_USER; i++)
        keys.push(await createApiKey(adb.db, ctx, alice, { label: `k${i}` }));
      await rejectsWith(createApiKey(adb.db, ctx, alice, { label: 'one too many' }), 'apikey.limit_reached');
      await createApiKey(adb.db, ctx, bob, { label: 'bob is not limited by alice' });
      await deleteApiKey(adb.db, ctx, alice, keys[0]!.keyId);
      await createApiKey(adb.db, ctx, alice, { label: 'again' });
    });

    it('counts concurrent creations each against the limit', async () => {
      for (let i = 0; i < MAX_API_KEYS_PER_USER - 2; i++)
        await createApiKey(adb.db, ctx, alice, { label: `k${i}` });
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => createApiKey(adb.db, ctx, alice, { label: `c${i}` })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      assert.equal((await listApiKeys(adb.db, alice)).length, MAX_API_KEYS_PER_USER);
    });

    it('deletes softly: gone from lists and from the gateway, kept on record', async () => {
      const k = await createApiKey(adb.db, ctx, alice, { label: 'old' });
      await deleteApiKey(adb.db, ctx, alice, k.keyId);
      assert.deepEqual(await listApiKeys(adb.db, alice), []);
      assert.equal(await resolveApiKey(adb.db, ctx.key, k.apiKey), null);
      const row = await adb.db.selectFrom('apiKeys').select('deletedAt').executeTakeFirstOrThrow();
      assert.ok(row.deletedAt instanceof Date);
      await rejectsWith(deleteApiKey(adb.db, ctx, alice, k.keyId), 'apikey.not_found');
    });

    it("never lets one user list or delete another's keys", async () => {
      const k = await createApiKey(adb.db, ctx, alice, { label: 'alice' });
      assert.deepEqual(await listApiKeys(adb.db, bob), []);
      await rejectsWith(deleteApiKey(adb.db, ctx, bob, k.keyId), 'apikey.not_found');
      for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60])
        await rejectsWith(deleteApiKey(adb.db, ctx, bob, bad), 'apikey.not_found');
      assert.equal((await listApiKeys(adb.db, alice)).length, 1);
      assert.notEqual(await resolveApiKey(adb.db, ctx.key, k.apiKey), null);
    });

    it('resolves nothing for an unknown or malformed key', async () => {
      for (const k of [
        randomAlphanumeric(),
        '',
        'short',
        `${randomAlphanumeric().slice(0, 63)}!`,
        "' or 1=1 --",
      ])
        assert.equal(await resolveApiKey(adb.db, ctx.key, k), null);
    });

    it('refuses the withdraw permission without an IP allow-list, as Binance does', async () => {
      for (const ipAllow of [undefined, []])
        await rejectsWith(
          createApiKey(adb.db, ctx, alice, { label: 'w', permissions: { withdraw: true }, ipAllow }),
          'apikey.withdraw_needs_ip',
        );
      const err = await createApiKey(adb.db, ctx, alice, {
        label: 'w',
        permissions: { withdraw: true },
      }).catch((e: unknown) => e as Error);
      assert.match((err as Error).message, /withdraw.*IP addresses/);
      assert.deepEqual(await listApiKeys(adb.db, alice), []);
      const k = await createApiKey(adb.db, ctx, alice, {
        label: 'w',
        permissions: { withdraw: true },
        ipAllow: ['198.51.100.4'],
      });
      assert.deepEqual(k.permissions, { read: true, trade: false, withdraw: true });
      assert.equal((await resolveApiKey(adb.db, ctx.key, k.apiKey))?.canWithdraw, true);
    });

    it('never resolves a key without an allow-list as able to withdraw, however its row was written', async () => {
      const k = await createApiKey(adb.db, ctx, alice, {
        label: 'w',
        permissions: { trade: true, withdraw: true },
        ipAllow: ['198.51.100.4'],
      });
      await adb.db.updateTable('apiKeys').set({ ipAllow: [] }).where('id', '=', k.keyId).execute();
      const r = await resolveApiKey(adb.db, ctx.key, k.apiKey);
      assert.deepEqual([r?.canRead, r?.canTrade, r?.canWithdraw], [true, true, false]);
    });

    it("reports the owner's status and KYC tier to the gateway", async () => {
      const k = await createApiKey(adb.db, ctx, alice, {
        label: 'k',
        permissions: { trade: true, withdraw: true },
        ipAllow: ['198.51.100.4'],
      });
      await adb.db
        .updateTable('users')
        .set({ kycTier: 2, status: 'DISABLED' })
        .where('id', '=', alice)
        .execute();
      const r = await resolveApiKey(adb.db, ctx.key, k.apiKey);
      assert.deepEqual([r?.userStatus, r?.kycTier, r?.canWithdraw], ['DISABLED', 2, true]);
      await rejectsWith(createApiKey(adb.db, ctx, alice, { label: 'k2' }), 'user.disabled');
    });

    it("cannot open a key's secret under another master key or on another key's row", async () => {
      const a = await createApiKey(adb.db, ctx, alice, { label: 'a' });
      const b = await createApiKey(adb.db, ctx, bob, { label: 'b' });
      await rejectsWith(resolveApiKey(adb.db, MasterKey.generate(), a.apiKey), 'crypto.open_failed');
      const sealed = await adb.db
        .selectFrom('apiKeys')
        .select('secretEnc')
        .where('id', '=', a.keyId)
        .executeTakeFirstOrThrow();
      await adb.db
        .updateTable('apiKeys')
        .set({ secretEnc: sealed.secretEnc })
        .where('id', '=', b.keyId)
        .execute();
      await rejectsWith(resolveApiKey(adb.db, ctx.key, b.apiKey), 'crypto.open_failed');
    });

    it('records creation and deletion in the audit log, without the secret', async () => {
      const k = await createApiKey(
        adb.db,
        ctx,
        alice,
        { label: 'audited', permissions: { trade: true } },
        { ip: '10.1.2.3' },
      );
      await deleteApiKey(adb.db, ctx, alice, k.keyId);
      const rows = await adb.db
        .selectFrom('auditLog')
        .selectAll()
        .where('action', 'like', 'apikey.%')
        .orderBy('id')
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.action, r.userId, r.detail.keyId]),
        [
          ['apikey.created', alice, k.keyId],
          ['apikey.deleted', alice, k.keyId],
        ],
      );
      assert.equal(rows[0]!.ip, '10.1.2.3');
      assert.ok(!JSON.stringify(rows).includes(k.secretKey!));
    });
  });
});
