/**
 * TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, what every authenticator
 * app reads). Setting it up stores a fresh secret sealed under the master key but leaves the
 * factor off until the user proves their app has it (confirm with a code). A code is accepted
 * within one step either side of now, and never twice: the last accepted step is kept, and
 * only a later step is accepted after it (an atomic compare-and-set, so two concurrent uses
 * of one code cannot both pass). Wrong codes count toward the account lockout, which is what
 * bounds guessing a 6-digit code.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import { HOTP, Secret, TOTP } from 'otpauth';
import { appendAudit } from '../audit/audit-log.ts';
import type { MasterKey } from '../crypto/master-key.ts';
import { open, seal } from '../crypto/secret-box.ts';
import type { Database } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import {
  type Db,
  type IdentityContext,
  inTransaction,
  logOf,
  nowOf,
  type RequestMeta,
  userActor,
} from './identity-context.ts';
import { clearFailures, countFailure, isLocked } from './lockout.ts';
import { canonicalIp, checkUserId } from './validation.ts';

/** Seconds per TOTP step. */
export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one (clock drift, a code typed at a boundary). */
export const TOTP_WINDOW = 1;
const SECRET_BYTES = 20;

/** The sealing context binds a TOTP secret to its user: another user's row cannot open it. */
const sealContext = (userId: number): string => `totp:${userId}`;

/** What `setupTotp` returns, once: the secret for the user's authenticator app. */
export interface TotpSetup {
  /** Base32, for typing into an app. */
  readonly secret: string;
  /** `otpauth://totp/...`, for a QR code. */
  readonly uri: string;
}

/** The TOTP columns of a user row, with the lockout columns. */
interface TotpRow {
  readonly id: number;
  readonly email: string;
  readonly totpSecretEnc: string | null;
  readonly totpEnabled: boolean;
  readonly failedLogins: number;
  readonly lockedUntil: Date | null;
}

/**
 * Checks `code` against the sealed secret and, when it matches a step later than the last
 * one accepted, records that step. False for a malformed, wrong or already used code.
 */
export async function acceptTotpCode(
  db: Db,
  key: MasterKey,
  user: Pick<TotpRow, 'id' | 'totpSecretEnc'>,
  code: unknown,
  nowMs: number,
): Promise<boolean> {
  if (user.totpSecretEnc === null || typeof code !== 'string' || !/^\d{6}$/.test(code)) return false;
  const secret = Secret.fromBase32(open(key, user.totpSecretEnc, sealContext(user.id)));
  const current = Math.floor(nowMs / 1000 / TOTP_PERIOD_S);
  let matched: number | undefined;
  // Every step in the window is computed and compared, whatever matches, in constant time.
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const expected = HOTP.generate({ secret, counter: step, digits: TOTP_DIGITS, algorithm: 'SHA1' });
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code))) matched = step;
  }
  if (matched === undefined) return false;
  const step = matched;
  const result = await db
    .updateTable('users')
    .set({ totpLastStep: step })
    .where('id', '=', user.id)
    .where((eb) => eb.or([eb('totpLastStep', 'is', null), eb('totpLastStep', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

async function lockedRow(trx: Db, userId: number): Promise<TotpRow> {
  const row = await trx
    .selectFrom('users')
    .select(['id', 'email', 'totpSecretEnc', 'totpEnabled', 'failedLogins', 'lockedUntil'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (row === undefined) throw new AccountsError('user.not_found', 'no such user');
  return row;
}

const lockedError = (): AccountsError =>
  new AccountsError('auth.locked', 'too many failed attempts: the account is locked for a while');

/**
 * Starts (or restarts) setting up the second factor: a new secret, sealed and stored, the
 * factor still off. Returns the secret and its otpauth URI; they are never shown again.
 * 'totp.already_enabled' when the factor is on (disable it first).
 */
export async function setupTotp(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log' | 'totpIssuer'>,
  userId: number,
  meta: RequestMeta = {},
): Promise<TotpSetup> {
  checkUserId(userId);
  const secret = new Secret({ size: SECRET_BYTES });
  const setup = await inTransaction(db, async (trx) => {
    const row = await lockedRow(trx, userId);
    if (row.totpEnabled)
      throw new AccountsError('totp.already_enabled', 'the second factor is already on; disable it first');
    await trx
      .updateTable('users')
      .set({ totpSecretEnc: seal(ctx.key, secret.base32, sealContext(userId)), totpLastStep: null })
      .where('id', '=', userId)
      .execute();
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'totp.setup_started',
      userId,
      ip: canonicalIp(meta.ip) ?? null,
    });
    const totp = new TOTP({
      issuer: ctx.totpIssuer ?? 'Crossbook',
      label: row.email,
      secret,
      algorithm: 'SHA1',
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_S,
    });
    return { secret: secret.base32, uri: totp.toString() };
  });
  logOf(ctx).info({ userId }, 'second factor setup started');
  return setup;
}

/**
 * Checks a code in a transaction holding the user's row; a wrong code counts toward the
 * lockout and is committed as such before the error is thrown.
 */
async function withCode(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'now' | 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  code: unknown,
  meta: RequestMeta,
  precondition: (row: TotpRow) => void,
  onAccepted: (trx: Transaction<Database>) => Promise<void>,
): Promise<void> {
  checkUserId(userId);
  const now = nowOf(ctx);
  const failure = await inTransaction(db, async (trx) => {
    const row = await lockedRow(trx, userId);
    precondition(row);
    if (isLocked(row, now)) return lockedError();
    if (await acceptTotpCode(trx, ctx.key, row, code, now)) {
      await clearFailures(trx, userId, row);
      await onAccepted(trx);
      return undefined;
    }
    const locked = await countFailure(trx, ctx, userId, row, now, canonicalIp(meta.ip) ?? null);
    return locked !== null
      ? lockedError()
      : new AccountsError('totp.invalid_code', 'the code is wrong or already used');
  });
  if (failure !== undefined) throw failure;
}

/**
 * Turns the second factor on, with a code from the app just set up. 'totp.not_set_up',
 * 'totp.already_enabled', 'totp.invalid_code', 'auth.locked'.
 */
export async function confirmTotp(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log' | 'now' | 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  code: string,
  meta: RequestMeta = {},
): Promise<void> {
  await withCode(
    db,
    ctx,
    userId,
    code,
    meta,
    (row) => {
      if (row.totpEnabled) throw new AccountsError('totp.already_enabled', 'the second factor is already on');
      if (row.totpSecretEnc === null)
        throw new AccountsError('totp.not_set_up', 'set up the second factor before confirming it');
    },
    async (trx) => {
      await trx.updateTable('users').set({ totpEnabled: true }).where('id', '=', userId).execute();
      await appendAudit(trx, {
        actor: userActor(userId),
        action: 'totp.enabled',
        userId,
        ip: canonicalIp(meta.ip) ?? null,
      });
    },
  );
  logOf(ctx).info({ userId }, 'second factor enabled');
}

/**
 * Turns the second factor off (a current code required) and forgets its secret.
 * 'totp.not_enabled', 'totp.invalid_code', 'auth.locked'.
 */
export async function disableTotp(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log' | 'now' | 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  code: string,
  meta: RequestMeta = {},
): Promise<void> {
  await withCode(
    db,
    ctx,
    userId,
    code,
    meta,
    (row) => {
      if (!row.totpEnabled) throw new AccountsError('totp.not_enabled', 'the second factor is not on');
    },
    async (trx) => {
      await trx
        .updateTable('users')
        .set({ totpEnabled: false, totpSecretEnc: null, totpLastStep: null })
        .where('id', '=', userId)
        .execute();
      await appendAudit(trx, {
        actor: userActor(userId),
        action: 'totp.disabled',
        userId,
        ip: canonicalIp(meta.ip) ?? null,
      });
    },
  );
  logOf(ctx).info({ userId }, 'second factor disabled');
}

/**
 * Checks a code of a user whose second factor is on: true when it is right and unused (it is
 * then used up). False when it is wrong, used, malformed, when the factor is off, or while the
 * account is locked; a wrong code counts toward the lockout. Pass the database rather than a
 * transaction the caller may roll back, or a failure is not counted.
 */
export async function verifyTotp(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'now' | 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  code: string,
  meta: RequestMeta = {},
): Promise<boolean> {
  try {
    await withCode(
      db,
      ctx,
      userId,
      code,
      meta,
      (row) => {
        if (!row.totpEnabled) throw new AccountsError('totp.not_enabled', 'the second factor is not on');
      },
      async () => {},
    );
    return true;
  } catch (e) {
    if (e instanceof AccountsError) return false;
    throw e;
  }
}

/** Whether a user has the second factor on. 'user.not_found' for no such user. */
export async function isTotpEnabled(db: Db, userId: number): Promise<boolean> {
  checkUserId(userId);
  const row = await db.selectFrom('users').select('totpEnabled').where('id', '=', userId).executeTakeFirst();
  if (row === undefined) throw new AccountsError('user.not_found', 'no such user');
  return row.totpEnabled;
}

/**
 * The second factor as other services use it (withdrawals): whether a user has one, and
 * checking a code (one use per code, counted toward the lockout when wrong).
 */
export interface SecondFactor {
  isEnabled(userId: number): Promise<boolean>;
  verify(userId: number, code: string): Promise<boolean>;
}

/** The second factor over `db`, with codes sealed under `key`. */
export function secondFactor(
  db: Db,
  key: MasterKey,
  options: Pick<IdentityContext, 'now' | 'maxFailedLogins' | 'lockMs'> = {},
): SecondFactor {
  return {
    isEnabled: (userId) => isTotpEnabled(db, userId),
    verify: (userId, code) => verifyTotp(db, { ...options, key }, userId, code),
  };
}
