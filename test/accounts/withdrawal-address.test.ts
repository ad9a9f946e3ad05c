import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import { verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import type { Database } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import { DEFAULT_FUNDS_CONFIG } from '../../accounts/funds/funds-config.ts';
import {
  type AddWithdrawalAddressInput,
  addWithdrawalAddress,
  isAddressAllowed,
  listWithdrawalAddresses,
  MAX_ADDRESSES_PER_USER,
  removeWithdrawalAddress,
} from '../../accounts/funds/withdrawal-address.service.ts';
import { Markets, type MarketsFile } from '../../engine/index.ts';
import { forEachDialect } from './dialects.ts';

const markets = new Markets(JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile);

async function refuses(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected an AccountsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('withdrawal address allow-list', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let db: Kysely<Database>;
    let user: number;
    let other: number;
    let truncate: string;

    const add = (over: Partial<AddWithdrawalAddressInput> = {}) =>
      addWithdrawalAddress(db, markets, DEFAULT_FUNDS_CONFIG, {
        userId: user,
        asset: 'USDT',
        network: 'TRX',
        address: 'TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf',
        label: 'exchange account',
        ...over,
      });

    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
      db = adb.db;
      // The table list read once: emptying them between tests is then one statement.
      const tables = (await db.introspection.getTables()).filter(
        (t) => !t.isView && !t.name.startsWith('kysely_'),
      );
      truncate = `truncate table ${tables.map((t) => `"${t.name}"`).join(', ')} restart identity cascade`;
    });
    after(() => adb.close());
    beforeEach(async () => {
      await sql.raw(truncate).execute(db);
      const rows = await db
        .insertInto('users')
        .values([
          { email: 'owner@example.com', passwordHash: 'x' },
          { email: 'other@example.com', passwordHash: 'x' },
        ])
        .returning('id')
        .execute();
      user = rows[0]!.id;
      other = rows[1]!.id;
    });

    it('adds, lists and removes a user’s addresses', async () => {
      const a = await add();
      const b = await add({
        asset: 'BTC',
        network: 'BTC',
        address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
      });
      assert.deepEqual(
        (await listWithdrawalAddresses(db, user)).map((x) => [x.id, x.asset, x.network, x.label]),
        [
          [a.id, 'USDT', 'TRX', 'exchange account'],
          [b.id, 'BTC', 'BTC', 'exchange account'],
        ],
      );
      assert.deepEqual(
        (await listWithdrawalAddresses(db, user, { asset: 'BTC' })).map((x) => x.id),
        [b.id],
      );
      await removeWithdrawalAddress(db, user, a.id);
      assert.deepEqual(
        (await listWithdrawalAddresses(db, user)).map((x) => x.id),
        [b.id],
      );
    });

    it('allows any address while the user lists none for the asset, then only listed ones', async () => {
      assert.equal(await isAddressAllowed(db, user, 'USDT', 'TRX', 'anything'), true);
      await add({ address: 'T-listed' });
      assert.equal(await isAddressAllowed(db, user, 'USDT', 'TRX', 'T-listed'), true);
      assert.equal(await isAddressAllowed(db, user, 'USDT', 'TRX', 'anything'), false);
      assert.equal(await isAddressAllowed(db, user, 'USDT', 'ETH', 'T-listed'), false);
      assert.equal(await isAddressAllowed(db, user, 'BTC', 'BTC', 'anything'), true);
      // Another user's list does not bind this one.
      assert.equal(await isAddressAllowed(db, other, 'USDT', 'TRX', 'anything'), true);
    });

    const refusals: [string, Partial<AddWithdrawalAddressInput>, string][] = [
      ['an unknown user', { userId: 999_999 }, 'withdrawal_address.user_not_found'],
      ['an unknown asset', { asset: 'DOGE' }, 'withdrawal_address.unknown_asset'],
      [
        'a network the asset does not travel on',
        { asset: 'BTC', network: 'TRX' },
        'withdrawal_address.invalid_network',
      ],
      ['a malformed network', { network: 'tron net' }, 'withdrawal_address.invalid_network'],
      ['an empty address', { address: '' }, 'withdrawal_address.invalid_address'],
      ['an address with a space', { address: 'T abc' }, 'withdrawal_address.invalid_address'],
      [
        'an address with a control character',
        { address: 'T\u0000abc' },
        'withdrawal_address.invalid_address',
      ],
      ['an address over 128 characters', { address: 'T'.repeat(129) }, 'withdrawal_address.invalid_address'],
      ['a label over 64 characters', { label: 'l'.repeat(65) }, 'withdrawal_address.invalid_label'],
      ['a label with a newline', { label: 'a\nb' }, 'withdrawal_address.invalid_label'],
    ];
    for (const [what, over, code] of refusals) {
      it(`refuses ${what} (${code})`, async () => {
        await refuses(add(over), code);
        assert.deepEqual(await listWithdrawalAddresses(db, user), []);
      });
    }

    it('accepts an address of exactly 128 characters and an empty label', async () => {
      const a = await add({ address: 'T'.repeat(128), label: '' });
      assert.equal(a.address.length, 128);
    });

    it('refuses the same address twice', async () => {
      await add();
      await refuses(add({ label: 'again' }), 'withdrawal_address.duplicate');
      assert.equal((await listWithdrawalAddresses(db, user)).length, 1);
    });

    it('caps the number of addresses per user', async () => {
      await db
        .insertInto('withdrawalAddresses')
        .values(
          Array.from({ length: MAX_ADDRESSES_PER_USER }, (_, i) => ({
            userId: user,
            asset: 'ETH',
            network: 'ETH',
            address: `0x${i}`,
            label: '',
          })),
        )
        .execute();
      await refuses(add(), 'withdrawal_address.too_many');
    });

    it('does not let one user remove or see another user’s address', async () => {
      const a = await add();
      await refuses(removeWithdrawalAddress(db, other, a.id), 'withdrawal_address.not_found');
      await refuses(removeWithdrawalAddress(db, user, a.id + 1000), 'withdrawal_address.not_found');
      assert.deepEqual(await listWithdrawalAddresses(db, other), []);
      assert.equal((await listWithdrawalAddresses(db, user)).length, 1);
    });

    it('records additions and removals in the audit log, and the chain verifies', async () => {
      const a = await add({ ip: '198.51.100.4' });
      await removeWithdrawalAddress(db, user, a.id, { ip: '198.51.100.4' });
      const entries = await db.selectFrom('auditLog').selectAll().orderBy('id').execute();
      assert.deepEqual(
        entries.map((e) => [e.action, e.actor, e.userId, e.ip, e.detail.addressId]),
        [
          ['withdrawal_address.added', `user:${user}`, user, '198.51.100.4', a.id],
          ['withdrawal_address.removed', `user:${user}`, user, '198.51.100.4', a.id],
        ],
      );
      assert.equal((await verifyAuditLog(db)).ok, true);
    });
  });
});
