/**
 * The gateway's API key cache (accounts/identity/api-key-cache.ts) and what keeps it true:
 * `auth_versions`, bumped by triggers on every change a key lookup can see. Unit tests drive
 * the cache with a fake clock and a fake database; the database tests change keys and users
 * through the services and a hand edit, and the cache, polled, stops serving what changed.
 */
import assert from 'node:assert/strict';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import {
  type AuthChange,
  authChangesSince,
  createApiKey,
  deleteApiKey,
  type ResolvedApiKey,
  resolveApiKey,
} from '../../accounts/identity/api-key.service.ts';
import { ApiKeyCache } from '../../accounts/identity/api-key-cache.ts';
import type { IdentityContext } from '../../accounts/identity/identity-context.ts';
import { createPasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { changePassword, register, setUserStatus } from '../../accounts/identity/user.service.ts';
import { forEachDialect, truncateAll } from './dialects.ts';

const PASSWORD = 'Correct horse 42';

function keyOf(userId: number, authVersion: number, canTrade = true): ResolvedApiKey {
  return {
    keyId: userId * 10,
    userId,
    type: 'HMAC',
    secret: 's',
    canRead: true,
    canTrade,
    canWithdraw: false,
    ipAllow: [],
    userStatus: 'ACTIVE',
    kycTier: 1,
    authVersion,
  };
}

/** A cache over a fake database: `keys` by api key, `changes` as auth_versions rows. */
function fake() {
  let now = 0;
  const keys = new Map<string, ResolvedApiKey | null>();
  let changes: AuthChange[] = [];
  let failPolls = false;
  const reads: string[] = [];
  const sinces: (Date | null)[] = [];
  const cache = new ApiKeyCache({
    resolve: async (k) => {
      reads.push(k);
      return keys.get(k) ?? null;
    },
    changesSince: async (since) => {
      sinces.push(since);
      if (failPolls) throw new Error('database down');
      // null: the recent changes (here: all of them; the database test holds the real one).
      return changes.filter((c) => since === null || c.changedAt > since);
    },
    now: () => now,
  });
  return {
    cache,
    keys,
    reads,
    sinces,
    advance: (ms: number) => {
      now += ms;
    },
    setChanges: (c: AuthChange[]) => {
      changes = c;
    },
    failPolls: (on: boolean) => {
      failPolls = on;
    },
  };
}

describe('API key cache', () => {
  it('keeps a key for a minute while the polls succeed, then reads it again', async () => {
    const f = fake();
    f.keys.set('A', keyOf(1, 0));
    await f.cache.poll();
    assert.equal((await f.cache.resolveApiKey('A'))?.userId, 1);
    for (let t = 0; t < 59; t++) {
      f.advance(1_000);
      await f.cache.poll();
      await f.cache.resolveApiKey('A');
    }
    assert.deepEqual(f.reads, ['A']);
    f.advance(1_000);
    await f.cache.poll();
    await f.cache.resolveApiKey('A');
    assert.deepEqual(f.reads, ['A', 'A']);
  });

  it('drops the keys of a user whose version moved past theirs, and only those', async () => {
    const f = fake();
    f.keys.set('A', keyOf(1, 3));
    f.keys.set('A2', keyOf(1, 3));
    f.keys.set('B', keyOf(2, 0));
    await f.cache.poll();
    for (const k of ['A', 'A2', 'B']) await f.cache.resolveApiKey(k);
    f.advance(3_000);
    // The version the keys were read at: nothing to drop.
    f.setChanges([{ userId: 1, version: 3, changedAt: new Date(1_000) }]);
    await f.cache.poll();
    for (const k of ['A', 'A2', 'B']) await f.cache.resolveApiKey(k);
    assert.equal(f.reads.length, 3);
    f.keys.set('A', keyOf(1, 4, false));
    f.keys.set('A2', null);
    f.setChanges([{ userId: 1, version: 4, changedAt: new Date(2_000) }]);
    await f.cache.poll();
    assert.equal((await f.cache.resolveApiKey('A'))?.canTrade, false);
    assert.equal(await f.cache.resolveApiKey('A2'), null);
    await f.cache.resolveApiKey('B');
    assert.deepEqual(f.reads.slice(3), ['A', 'A2']);
  });

  it('answers synchronously exactly what resolveApiKey would serve from the cache', async () => {
    const f = fake();
    f.keys.set('A', keyOf(1, 3));
    await f.cache.poll();
    assert.equal(f.cache.cachedApiKey('A'), undefined, 'never read: only resolveApiKey can say');
    assert.equal(f.cache.cachedApiKey('X'), undefined);
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('X');
    assert.equal(f.cache.cachedApiKey('A')?.authVersion, 3);
    assert.equal(f.cache.cachedApiKey('X'), null, 'known not to exist');
    assert.deepEqual(f.reads, ['A', 'X']);
    // A poll past the key's version drops it: the synchronous path no longer serves it.
    f.setChanges([{ userId: 1, version: 4, changedAt: new Date(1_000) }]);
    f.advance(250);
    await f.cache.poll();
    assert.equal(f.cache.cachedApiKey('A'), undefined);
    // An unknown key is kept two seconds only, a known one a minute.
    f.keys.set('A', keyOf(1, 4));
    await f.cache.resolveApiKey('A');
    f.advance(2_001);
    await f.cache.poll();
    assert.equal(f.cache.cachedApiKey('X'), undefined);
    assert.equal(f.cache.cachedApiKey('A')?.authVersion, 4);
    f.advance(60_000);
    await f.cache.poll();
    assert.equal(f.cache.cachedApiKey('A'), undefined);
  });

  it('reads back from five seconds before the latest change it has seen, by the database clock', async () => {
    const f = fake();
    await f.cache.poll();
    // None seen yet: the recent ones, by the database's clock.
    assert.equal(f.sinces[0], null);
    f.setChanges([{ userId: 7, version: 1, changedAt: new Date(1_000_000) }]);
    await f.cache.poll();
    await f.cache.poll();
    assert.equal(f.sinces[2]!.getTime(), 1_000_000 - 5_000);
  });

  it('does not keep a key read at a version older than a poll has already seen', async () => {
    const f = fake();
    f.setChanges([{ userId: 1, version: 5, changedAt: new Date(1_000) }]);
    await f.cache.poll();
    f.keys.set('A', keyOf(1, 4));
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('A');
    assert.deepEqual(f.reads, ['A', 'A']);
  });

  it('falls back to two seconds when the polls fail, and keeps an unknown key two seconds only', async () => {
    const f = fake();
    f.keys.set('A', keyOf(1, 0));
    await f.cache.poll();
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('nope');
    f.failPolls(true);
    f.advance(1_500);
    await f.cache.poll();
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('nope');
    assert.deepEqual(f.reads, ['A', 'nope']);
    f.advance(600);
    await f.cache.poll();
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('nope');
    assert.deepEqual(f.reads, ['A', 'nope', 'A', 'nope']);
    // Polls back: a known key is kept again; an unknown one still only two seconds.
    f.failPolls(false);
    await f.cache.poll();
    f.advance(2_500);
    await f.cache.poll();
    await f.cache.resolveApiKey('A');
    await f.cache.resolveApiKey('nope');
    assert.deepEqual(f.reads, ['A', 'nope', 'A', 'nope', 'nope']);
  });

  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let ctx: IdentityContext;
    before(async function () {
      this.timeout(60_000);
      ctx = {
        key: MasterKey.generate(),
        hasher: createPasswordHasher({ cost: { log2N: 4 }, maxThreads: 1 }),
      };
      adb = await dialect.open();
    });
    after(async () => {
      await adb?.close();
      await ctx?.hasher.close();
    });
    beforeEach(() => truncateAll(adb));

    const versionOf = async (userId: number) =>
      (
        await adb.db
          .selectFrom('authVersions')
          .select('version')
          .where('userId', '=', userId)
          .executeTakeFirst()
      )?.version ?? 0;

    it('bumps a user’s version on every change a key lookup sees, and on nothing else', async () => {
      const { userId } = await register(adb.db, ctx, 'v@example.com', PASSWORD);
      const k = await createApiKey(adb.db, ctx, userId, { label: 'a', permissions: { trade: true } });
      assert.equal(await versionOf(userId), 0);
      assert.equal((await resolveApiKey(adb.db, ctx.key, k.apiKey))?.authVersion, 0);
      // Not seen by a lookup: a password change, failed logins.
      await changePassword(adb.db, ctx, userId, PASSWORD, `${PASSWORD}!`);
      await adb.db.updateTable('users').set({ failedLogins: 3 }).where('id', '=', userId).execute();
      assert.equal(await versionOf(userId), 0);
      // Seen: status, KYC tier, a key's permissions (a hand edit), a key's deletion.
      await setUserStatus(adb.db, ctx, userId, 'DISABLED', 'ops', 'test');
      assert.equal(await versionOf(userId), 1);
      await adb.db.updateTable('users').set({ kycTier: 2 }).where('id', '=', userId).execute();
      assert.equal(await versionOf(userId), 2);
      await adb.db.updateTable('apiKeys').set({ canTrade: false }).where('userId', '=', userId).execute();
      assert.equal(await versionOf(userId), 3);
      assert.equal((await resolveApiKey(adb.db, ctx.key, k.apiKey))?.authVersion, 3);
      await deleteApiKey(adb.db, ctx, userId, k.keyId);
      assert.equal(await versionOf(userId), 4);
      const changes = await authChangesSince(adb.db, new Date(Date.now() - 60_000));
      assert.deepEqual(
        changes.map((c) => [c.userId, c.version]),
        [[userId, 4]],
      );
      assert.deepEqual(await authChangesSince(adb.db, new Date(Date.now() + 60_000)), []);
      // Without a since: the last few seconds by the database's clock, never the older rows.
      assert.deepEqual(
        (await authChangesSince(adb.db, null)).map((c) => c.userId),
        [userId],
      );
      await adb.db
        .updateTable('authVersions')
        .set({ changedAt: new Date(Date.now() - 3_600_000) })
        .where('userId', '=', userId)
        .execute();
      assert.deepEqual(await authChangesSince(adb.db, null), []);
      assert.deepEqual(await authChangesSince(adb.db, null, 7_200_000).then((c) => c.length), 1);
    });

    it('stops serving a deleted key, a disabled user and a lost permission at the next poll', async () => {
      const a = await register(adb.db, ctx, 'a@example.com', PASSWORD);
      const b = await register(adb.db, ctx, 'b@example.com', PASSWORD);
      const ka = await createApiKey(adb.db, ctx, a.userId, { label: 'a', permissions: { trade: true } });
      const kb = await createApiKey(adb.db, ctx, b.userId, { label: 'b', permissions: { trade: true } });
      let reads = 0;
      let now = 0;
      const cache = new ApiKeyCache({
        resolve: (k) => {
          reads++;
          return resolveApiKey(adb.db, ctx.key, k);
        },
        changesSince: (since) => authChangesSince(adb.db, since),
        now: () => now,
      });
      await cache.poll();
      assert.equal((await cache.resolveApiKey(ka.apiKey))?.canTrade, true);
      assert.equal((await cache.resolveApiKey(kb.apiKey))?.userStatus, 'ACTIVE');
      now += 10_000;
      await cache.poll();
      await cache.resolveApiKey(ka.apiKey);
      await cache.resolveApiKey(kb.apiKey);
      assert.equal(reads, 2, 'both served from the cache ten seconds on');

      await adb.db.updateTable('apiKeys').set({ canTrade: false }).where('id', '=', ka.keyId).execute();
      await setUserStatus(adb.db, ctx, b.userId, 'DISABLED', 'ops', 'test');
      assert.equal((await cache.resolveApiKey(ka.apiKey))?.canTrade, true, 'not polled yet');
      await cache.poll();
      assert.equal((await cache.resolveApiKey(ka.apiKey))?.canTrade, false);
      assert.equal((await cache.resolveApiKey(kb.apiKey))?.userStatus, 'DISABLED');

      await deleteApiKey(adb.db, ctx, a.userId, ka.keyId);
      now += 10_000;
      await cache.poll();
      assert.equal(await cache.resolveApiKey(ka.apiKey), null);
    });
  });
});
