/**
 * API keys, as Binance has them: a 64-character key id the client sends in X-MBX-APIKEY, and
 * either an HMAC secret (64 characters, generated here, shown once, kept sealed under the
 * master key) or the client's own Ed25519 public key (PEM; the private key never comes
 * here). Each key carries permissions (read is always on; trade and withdraw by choice) and an
 * optional IP allow-list, which Binance's rule makes mandatory for a key that can withdraw: a
 * leaked key alone must never be enough to move funds out. A user has at most 30 live keys;
 * deleting one keeps its row (deletedAt) for the audit trail and history, and the gateway never
 * resolves it again.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { type CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/audit-log.ts';
import type { MasterKey } from '../crypto/master-key.ts';
import { open, seal } from '../crypto/secret-box.ts';
import { AccountsError } from '../errors.ts';
import {
  type Db,
  type IdentityContext,
  inTransaction,
  logOf,
  type RequestMeta,
  userActor,
} from './identity-context.ts';
import { canonicalIp, checkUserId } from './validation.ts';

/** Live keys a user may hold. */
export const MAX_API_KEYS_PER_USER = 30;
/** Addresses in one key's allow-list. */
export const MAX_IP_ALLOW = 30;
export const API_KEY_LENGTH = 64;
const MAX_LABEL_LENGTH = 64;
const MAX_PEM_LENGTH = 2048;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const API_KEY_SHAPE = /^[A-Za-z0-9]{64}$/;

/** The kinds of key: an HMAC-SHA256 shared secret, or an Ed25519 key pair held by the client. */
export type ApiKeyType = 'HMAC' | 'ED25519';

/** What a key allows. `read` is always true. */
export interface ApiKeyPermissions {
  readonly read: true;
  readonly trade: boolean;
  readonly withdraw: boolean;
}

/** A request for a new key. */
export interface ApiKeyInput {
  /** 1 to 64 printable characters, the user's own name for it. */
  readonly label: string;
  /** Default read only; `read: false` is refused (a key can always read). */
  readonly permissions?: { readonly read?: boolean; readonly trade?: boolean; readonly withdraw?: boolean };
  /**
   * IPv4 or IPv6 addresses the key may be used from (at most 30); empty or absent: any, which
   * only a key without the withdraw permission may have.
   */
  readonly ipAllow?: readonly string[];
  /** Default 'HMAC'. */
  readonly type?: ApiKeyType;
  /** ED25519 only: the client's public key, PEM (SPKI). */
  readonly publicKey?: string;
}

/** A key as listed: never its secret. */
export interface ApiKeyInfo {
  readonly keyId: number;
  readonly label: string;
  readonly apiKey: string;
  readonly type: ApiKeyType;
  readonly permissions: ApiKeyPermissions;
  readonly ipAllow: readonly string[];
  /** ED25519: the public key as stored (canonical PEM). */
  readonly publicKey: string | null;
  readonly createdAt: Date;
}

/** A new key: for HMAC, the secret is here and nowhere else ever again. */
export interface CreatedApiKey extends ApiKeyInfo {
  readonly secretKey?: string;
}

/** 64 characters from A-Z a-z 0-9, uniformly (bytes past 247 are drawn again, not folded). */
export function randomAlphanumeric(length = API_KEY_LENGTH): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      if (b < 248 && out.length < length) out += ALPHANUMERIC[b % 62];
    }
  }
  return out;
}

/** The sealing context: an HMAC secret opens only on the row of its own key. */
const sealContext = (apiKey: string): string => `apikey:${apiKey}`;

function checkLabel(label: unknown): string {
  if (typeof label !== 'string')
    throw new AccountsError('apikey.invalid_label', 'a key needs a label of 1 to 64 characters');
  const t = label.trim();
  if (t.length === 0 || [...t].length > MAX_LABEL_LENGTH || /[\p{Cc}\p{Cf}]/u.test(t))
    throw new AccountsError('apikey.invalid_label', 'a key needs a label of 1 to 64 printable characters');
  return t;
}

function checkPermissions(p: ApiKeyInput['permissions']): ApiKeyPermissions {
  if (p === undefined) return { read: true, trade: false, withdraw: false };
  if (typeof p !== 'object' || p === null)
    throw new AccountsError(
      'apikey.invalid_permissions',
      'permissions are { read, trade, withdraw } booleans',
    );
  for (const [name, v] of Object.entries(p)) {
    if (name !== 'read' && name !== 'trade' && name !== 'withdraw')
      throw new AccountsError('apikey.invalid_permissions', `unknown permission "${name.slice(0, 32)}"`);
    if (v !== undefined && typeof v !== 'boolean')
      throw new AccountsError('apikey.invalid_permissions', `permission ${name} must be true or false`);
  }
  if (p.read === false)
    throw new AccountsError('apikey.invalid_permissions', 'every key can read; read cannot be turned off');
  return { read: true, trade: p.trade === true, withdraw: p.withdraw === true };
}

/** The allow-list in canonical form, without duplicates. 'apikey.invalid_ip', 'apikey.too_many_ips'. */
export function checkIpAllow(list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new AccountsError('apikey.invalid_ip', 'ipAllow is a list of IP addresses');
  if (list.length > MAX_IP_ALLOW)
    throw new AccountsError('apikey.too_many_ips', `a key allows at most ${MAX_IP_ALLOW} addresses`);
  const out: string[] = [];
  for (const ip of list) {
    const c = canonicalIp(ip);
    if (c === undefined)
      throw new AccountsError(
        'apikey.invalid_ip',
        `"${String(ip).slice(0, 64)}" is not an IPv4 or IPv6 address`,
      );
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** An Ed25519 public key in canonical PEM. 'apikey.invalid_public_key'. */
function checkEd25519(pem: unknown): string {
  const bad = new AccountsError(
    'apikey.invalid_public_key',
    'publicKey must be an Ed25519 public key in PEM form',
  );
  if (typeof pem !== 'string' || pem.length > MAX_PEM_LENGTH || !pem.includes('-----BEGIN PUBLIC KEY-----'))
    throw bad;
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') throw bad;
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    throw bad;
  }
}

/** True when `ip` may use a key with this allow-list (an empty list allows any address). */
export function isIpAllowed(ipAllow: readonly string[], ip: string): boolean {
  if (ipAllow.length === 0) return true;
  const c = canonicalIp(ip);
  return c !== undefined && ipAllow.includes(c);
}

type KeyRow = {
  id: number;
  label: string;
  apiKey: string;
  keyType: ApiKeyType;
  publicKey: string | null;
  canTrade: boolean;
  canWithdraw: boolean;
  ipAllow: string[];
  createdAt: Date;
};

const info = (r: KeyRow): ApiKeyInfo => ({
  keyId: r.id,
  label: r.label,
  apiKey: r.apiKey,
  type: r.keyType,
  permissions: { read: true, trade: r.canTrade, withdraw: r.canWithdraw },
  ipAllow: r.ipAllow,
  publicKey: r.publicKey,
  createdAt: r.createdAt,
});

/**
 * Creates a key for `userId`. For HMAC the result holds `secretKey`, shown this once.
 * Errors: 'apikey.invalid_label', 'apikey.invalid_permissions', 'apikey.invalid_ip',
 * 'apikey.too_many_ips', 'apikey.withdraw_needs_ip' (withdraw permission without an IP
 * allow-list), 'apikey.invalid_type', 'apikey.invalid_public_key', 'apikey.limit_reached',
 * 'user.not_found', 'user.disabled'.
 */
export async function createApiKey(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log'>,
  userId: number,
  input: ApiKeyInput,
  meta: RequestMeta = {},
): Promise<CreatedApiKey> {
  checkUserId(userId);
  if (typeof input !== 'object' || input === null)
    throw new AccountsError('apikey.invalid_label', 'a key needs a label of 1 to 64 characters');
  const label = checkLabel(input.label);
  const permissions = checkPermissions(input.permissions);
  const ipAllow = checkIpAllow(input.ipAllow);
  if (permissions.withdraw && ipAllow.length === 0)
    throw new AccountsError(
      'apikey.withdraw_needs_ip',
      'a key with the withdraw permission must list the IP addresses it will be used from (ipAllow)',
    );
  const type = input.type ?? 'HMAC';
  if (type !== 'HMAC' && type !== 'ED25519')
    throw new AccountsError('apikey.invalid_type', 'a key type is HMAC or ED25519');
  if (type === 'HMAC' && input.publicKey !== undefined)
    throw new AccountsError('apikey.invalid_public_key', 'an HMAC key takes no public key');
  const publicKey = type === 'ED25519' ? checkEd25519(input.publicKey) : null;
  const apiKey = randomAlphanumeric();
  const secretKey = type === 'HMAC' ? randomAlphanumeric() : undefined;

  const created = await inTransaction(db, async (trx) => {
    // The user's row, held: two concurrent creations cannot both pass the count below.
    const user = await trx
      .selectFrom('users')
      .select('status')
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (user === undefined) throw new AccountsError('user.not_found', 'no such user');
    if (user.status !== 'ACTIVE') throw new AccountsError('user.disabled', 'this account is disabled');
    const { live } = await trx
      .selectFrom('apiKeys')
      .select((eb) => eb.fn.countAll<number>().as('live'))
      .where('userId', '=', userId)
      .where('deletedAt', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(live) >= MAX_API_KEYS_PER_USER)
      throw new AccountsError(
        'apikey.limit_reached',
        `a user holds at most ${MAX_API_KEYS_PER_USER} API keys; delete one first`,
      );
    const row = await trx
      .insertInto('apiKeys')
      .values({
        userId,
        label,
        apiKey,
        keyType: type,
        secretEnc: secretKey === undefined ? null : seal(ctx.key, secretKey, sealContext(apiKey)),
        publicKey,
        canRead: true,
        canTrade: permissions.trade,
        canWithdraw: permissions.withdraw,
        ipAllow,
      })
      .returning([
        'id',
        'label',
        'apiKey',
        'keyType',
        'publicKey',
        'canTrade',
        'canWithdraw',
        'ipAllow',
        'createdAt',
      ])
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'apikey.created',
      userId,
      ip: canonicalIp(meta.ip) ?? null,
      detail: {
        keyId: row.id,
        label,
        type,
        trade: permissions.trade,
        withdraw: permissions.withdraw,
        ipAllow,
      },
    });
    return info(row);
  });
  logOf(ctx).info({ userId, keyId: created.keyId, type }, 'api key created');
  return secretKey === undefined ? created : { ...created, secretKey };
}

/** A user's live keys, oldest first, without secrets. */
export async function listApiKeys(db: Db, userId: number): Promise<ApiKeyInfo[]> {
  checkUserId(userId);
  const rows = await db
    .selectFrom('apiKeys')
    .select([
      'id',
      'label',
      'apiKey',
      'keyType',
      'publicKey',
      'canTrade',
      'canWithdraw',
      'ipAllow',
      'createdAt',
    ])
    .where('userId', '=', userId)
    .where('deletedAt', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map(info);
}

/** Deletes one of the user's keys. 'apikey.not_found' when it is not theirs or already deleted. */
export async function deleteApiKey(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  userId: number,
  keyId: number,
  meta: RequestMeta = {},
): Promise<void> {
  checkUserId(userId);
  const notFound = new AccountsError('apikey.not_found', 'no such API key');
  if (typeof keyId !== 'number' || !Number.isSafeInteger(keyId) || keyId <= 0) throw notFound;
  await inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('apiKeys')
      .set({ deletedAt: new Date(ctx.now?.() ?? Date.now()) })
      .where('id', '=', keyId)
      .where('userId', '=', userId)
      .where('deletedAt', 'is', null)
      .returning(['label'])
      .executeTakeFirst();
    if (row === undefined) throw notFound;
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'apikey.deleted',
      userId,
      ip: canonicalIp(meta.ip) ?? null,
      detail: { keyId, label: row.label },
    });
  });
  logOf(ctx).info({ userId, keyId }, 'api key deleted');
}

/** What the gateway needs to check a signed request made with a key. */
export interface ResolvedApiKey {
  readonly keyId: number;
  readonly userId: number;
  readonly type: ApiKeyType;
  /** HMAC: the shared secret (decrypted). Keep it in memory only. */
  readonly secret?: string;
  /** ED25519: the client's public key (PEM). */
  readonly publicKey?: string;
  readonly canRead: boolean;
  readonly canTrade: boolean;
  /** Never true for a key without an IP allow-list (see resolveApiKey). */
  readonly canWithdraw: boolean;
  /** Empty: any address (check with isIpAllowed). */
  readonly ipAllow: readonly string[];
  readonly userStatus: 'ACTIVE' | 'DISABLED';
  readonly kycTier: number;
  /**
   * The owner's auth version when this was read (`auth_versions`, 0 for none yet): a cache
   * may keep the key until `authChangesSince` shows the user at a later version.
   */
  readonly authVersion: number;
}

/** The lookup of a key by its API key, built once per database (compiled SQL, `$1` = the key). */
function keyLookupQuery(db: Db) {
  return db
    .selectFrom('apiKeys')
    .innerJoin('users', 'users.id', 'apiKeys.userId')
    .leftJoin('authVersions', 'authVersions.userId', 'apiKeys.userId')
    .select([
      'apiKeys.id',
      'apiKeys.userId',
      'apiKeys.keyType',
      'apiKeys.secretEnc',
      'apiKeys.publicKey',
      'apiKeys.canRead',
      'apiKeys.canTrade',
      'apiKeys.canWithdraw',
      'apiKeys.ipAllow',
      'users.status',
      'users.kycTier',
      'authVersions.version',
    ])
    .where('apiKeys.apiKey', '=', '')
    .where('apiKeys.deletedAt', 'is', null);
}
type KeyLookupRow = NonNullable<Awaited<ReturnType<ReturnType<typeof keyLookupQuery>['executeTakeFirst']>>>;
const compiledLookups = new WeakMap<Db, CompiledQuery<KeyLookupRow>>();

/**
 * The live key with this id, with its owner's status and KYC tier, or null (unknown,
 * malformed or deleted). A key of a disabled user is still resolved, with userStatus
 * 'DISABLED', so that the gateway can tell that account apart from a bad key; the gateway
 * checks userStatus, the permissions and the allow-list for the request at hand.
 */
export async function resolveApiKey(db: Db, key: MasterKey, apiKey: string): Promise<ResolvedApiKey | null> {
  if (typeof apiKey !== 'string' || !API_KEY_SHAPE.test(apiKey)) return null;
  // Every signed request whose key is not cached runs this: compiled once, not per request.
  let compiled = compiledLookups.get(db);
  if (compiled === undefined) {
    compiled = keyLookupQuery(db).compile();
    if (compiled.parameters.length !== 1)
      throw new Error('the API-key lookup must take exactly one parameter');
    compiledLookups.set(db, compiled);
  }
  const result = await db.executeQuery<KeyLookupRow>({ ...compiled, parameters: [apiKey] });
  const row = result.rows[0];
  if (row === undefined) return null;
  const common = {
    keyId: row.id,
    userId: row.userId,
    type: row.keyType,
    canRead: row.canRead,
    canTrade: row.canTrade,
    // createApiKey refuses withdraw without an allow-list; this holds the rule for any row
    // written some other way (an older build, a hand edit) too.
    canWithdraw: row.canWithdraw && row.ipAllow.length > 0,
    ipAllow: row.ipAllow,
    userStatus: row.status,
    kycTier: row.kycTier,
    authVersion: row.version ?? 0,
  };
  if (row.keyType === 'HMAC') {
    if (row.secretEnc === null) return null;
    return { ...common, secret: open(key, row.secretEnc, sealContext(apiKey)) };
  }
  return row.publicKey === null ? null : { ...common, publicKey: row.publicKey };
}

/** A user whose API key lookups changed: at `version` since `changedAt`. */
export interface AuthChange {
  readonly userId: number;
  readonly version: number;
  readonly changedAt: Date;
}

/**
 * The users whose API key lookups changed after `since` (their status, KYC tier, a key's
 * fields or deletion), with their versions now: what a key cache polls to drop what changed.
 * `since` null: the changes of the last `recentMs` by the database's clock (a cache's first
 * poll, which has no change to count back from and needs none older: it holds nothing older).
 */
export async function authChangesSince(db: Db, since: Date | null, recentMs = 5_000): Promise<AuthChange[]> {
  return db
    .selectFrom('authVersions')
    .select(['userId', 'version', 'changedAt'])
    .where('changedAt', '>', since ?? sql<Date>`now() - make_interval(secs => ${recentMs / 1000})`)
    .execute();
}
