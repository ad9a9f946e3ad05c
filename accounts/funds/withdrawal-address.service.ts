/**
 * The withdrawal address allow-list. A user who lists any address for an asset may withdraw
 * that asset only to a listed (asset, network, address); a user who lists none for the asset
 * may withdraw it anywhere. Adding and removing an address are security-relevant (they open or
 * close a way out for the funds), so each is in the audit log, in the same transaction.
 */
import type { Kysely } from 'kysely';
import type { Markets } from '../../engine/index.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import { type FundsConfig, resolveFundsConfig } from './funds-config.ts';
import { checkNetwork, checkText, checkToken, checkUserId, resolveAsset } from './funds-input.ts';

/** The most addresses one user may list (all assets together). */
export const MAX_ADDRESSES_PER_USER = 200;

/** An address to allow. */
export interface AddWithdrawalAddressInput {
  readonly userId: number;
  readonly asset: string;
  readonly network: string;
  /** 1-128 visible ASCII characters, no spaces. */
  readonly address: string;
  /** The user's own name for it: 0-64 printable ASCII characters. */
  readonly label: string;
  /** The client's address, for the audit log. */
  readonly ip?: string | null;
}

/** A listed address. */
export interface WithdrawalAddress {
  readonly id: number;
  readonly userId: number;
  readonly asset: string;
  readonly network: string;
  readonly address: string;
  readonly label: string;
  readonly createdAt: Date;
}

/** Checks a withdrawal address's shape: 1-128 visible ASCII characters without spaces. */
export function checkAddress(address: unknown, code: string): string {
  return checkToken(address, 128, code, 'the address');
}

/**
 * Adds an address to the user's allow-list. Refusals: 'withdrawal_address.invalid_user',
 * 'withdrawal_address.user_not_found', 'withdrawal_address.unknown_asset',
 * 'withdrawal_address.invalid_network' (also a network the asset does not travel on),
 * 'withdrawal_address.invalid_address', 'withdrawal_address.invalid_label',
 * 'withdrawal_address.duplicate', 'withdrawal_address.too_many'.
 */
export async function addWithdrawalAddress(
  db: Kysely<Database>,
  markets: Markets,
  config: FundsConfig,
  input: AddWithdrawalAddressInput,
): Promise<WithdrawalAddress> {
  const prefix = 'withdrawal_address';
  const userId = checkUserId(input.userId, `${prefix}.invalid_user`);
  const asset = resolveAsset(markets, input.asset, prefix);
  const network = checkNetwork(input.network, `${prefix}.invalid_network`);
  if (!resolveFundsConfig(markets, config).networks.get(asset.asset)?.has(network))
    throw new AccountsError(
      `${prefix}.invalid_network`,
      `${asset.asset} does not travel on network ${network}`,
    );
  const address = checkAddress(input.address, `${prefix}.invalid_address`);
  const label = checkText(input.label, 0, 64, `${prefix}.invalid_label`, 'the label');

  return db.transaction().execute(async (trx) => {
    // The user row's lock serialises this user's additions, so the count below stays true.
    const user = await trx
      .selectFrom('users')
      .select('id')
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (user === undefined)
      throw new AccountsError(`${prefix}.user_not_found`, `user ${userId} does not exist`);
    const { n } = await trx
      .selectFrom('withdrawalAddresses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('userId', '=', userId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= MAX_ADDRESSES_PER_USER)
      throw new AccountsError(`${prefix}.too_many`, `at most ${MAX_ADDRESSES_PER_USER} withdrawal addresses`);
    const row = await trx
      .insertInto('withdrawalAddresses')
      .values({ userId, asset: asset.asset, network, address, label })
      .onConflict((oc) => oc.constraint('withdrawal_addresses_unique').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined)
      throw new AccountsError(
        `${prefix}.duplicate`,
        `this ${asset.asset} address on ${network} is already listed`,
      );
    await appendAudit(trx, {
      actor: `user:${userId}`,
      action: 'withdrawal_address.added',
      userId,
      ip: input.ip ?? null,
      detail: { addressId: row.id, asset: asset.asset, network, address, label },
    });
    return row;
  });
}

/**
 * Removes one of the user's addresses; 'withdrawal_address.not_found' when it does not exist
 * or belongs to someone else (the same answer, so ids of other users' addresses stay unknown).
 */
export async function removeWithdrawalAddress(
  db: Kysely<Database>,
  userId: number,
  id: number,
  meta: { readonly ip?: string | null } = {},
): Promise<void> {
  checkUserId(userId, 'withdrawal_address.invalid_user');
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new AccountsError('withdrawal_address.not_found', 'withdrawal address not found');
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .deleteFrom('withdrawalAddresses')
      .where('id', '=', id)
      .where('userId', '=', userId)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined)
      throw new AccountsError('withdrawal_address.not_found', 'withdrawal address not found');
    await appendAudit(trx, {
      actor: `user:${userId}`,
      action: 'withdrawal_address.removed',
      userId,
      ip: meta.ip ?? null,
      detail: { addressId: row.id, asset: row.asset, network: row.network, address: row.address },
    });
  });
}

/** The user's listed addresses, oldest first, optionally of one asset. */
export async function listWithdrawalAddresses(
  db: Kysely<Database>,
  userId: number,
  filter: { readonly asset?: string } = {},
): Promise<WithdrawalAddress[]> {
  let query = db.selectFrom('withdrawalAddresses').selectAll().where('userId', '=', userId);
  if (filter.asset !== undefined) query = query.where('asset', '=', filter.asset);
  return query.orderBy('id').execute();
}

/**
 * Whether the allow-list lets the user withdraw `asset` to (network, address): yes when the
 * user lists no address for the asset, else only to a listed one. Runs on `db` or inside the
 * caller's transaction.
 */
export async function isAddressAllowed(
  db: Kysely<Database>,
  userId: number,
  asset: string,
  network: string,
  address: string,
): Promise<boolean> {
  const rows = await db
    .selectFrom('withdrawalAddresses')
    .select(['network', 'address'])
    .where('userId', '=', userId)
    .where('asset', '=', asset)
    .execute();
  return rows.length === 0 || rows.some((r) => r.network === network && r.address === address);
}
