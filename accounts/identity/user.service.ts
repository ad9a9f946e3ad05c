/**
 * Users: registration and sign-in. Passwords are hashed in the worker pool, before any
 * transaction opens, so no row is held while scrypt runs. Sign-in gives the same error for an
 * unknown email and a wrong password, and costs the same (an unknown email is checked against
 * a dummy hash); a locked account answers 'auth.locked' whatever the password. Outcomes are
 * committed (failure counts, audit entries) before an error is thrown, so a refused sign-in
 * still leaves its trace.
 */
import { appendAudit } from '../audit/audit-log.ts';
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
import { createSession, type NewSession } from './session.service.ts';
import { acceptTotpCode } from './totp.service.ts';
import { canonicalIp, checkNewPassword, checkUserId, normalizeEmail } from './validation.ts';

/** A new account. */
export interface RegisteredUser {
  readonly userId: number;
  readonly email: string;
}

/**
 * Creates an account (KYC tier 0, no second factor). 'user.invalid_email',
 * 'user.invalid_password', 'user.email_taken'.
 */
export async function register(
  db: Db,
  ctx: Pick<IdentityContext, 'hasher' | 'log'>,
  email: string,
  password: string,
  meta: RequestMeta = {},
): Promise<RegisteredUser> {
  const normalized = normalizeEmail(email);
  checkNewPassword(password, normalized);
  const passwordHash = await ctx.hasher.hash(password);
  const userId = await inTransaction(db, async (trx) => {
    // ON CONFLICT rather than catching the unique violation: an error would abort the
    // caller's transaction along with this statement.
    const row = await trx
      .insertInto('users')
      .values({ email: normalized, passwordHash })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row === undefined)
      throw new AccountsError('user.email_taken', 'an account with this email address already exists');
    await appendAudit(trx, {
      actor: userActor(row.id),
      action: 'user.registered',
      userId: row.id,
      ip: canonicalIp(meta.ip) ?? null,
    });
    return row.id;
  });
  logOf(ctx).info({ userId }, 'user registered');
  return { userId, email: normalized };
}

/** How a sign-in is made besides email and password. */
export interface LoginOptions extends RequestMeta {
  /** The current code of the user's authenticator app (required when the second factor is on). */
  readonly totpCode?: string;
}

/** A successful sign-in: the session token is shown to the client once. */
export interface LoginResult extends NewSession {
  readonly userId: number;
}

/** Why a sign-in failed, as the audit log records it (never the password or code). */
type FailureReason =
  | 'unknown_email'
  | 'bad_password'
  | 'locked'
  | 'disabled'
  | 'totp_required'
  | 'totp_invalid';

const invalidCredentials = (): AccountsError =>
  new AccountsError('auth.invalid_credentials', 'the email address or the password is wrong');

/** Longest password a sign-in hashes: beyond any valid one, and bounds the work a request can ask for. */
const MAX_LOGIN_PASSWORD = 1024;

/**
 * Signs in with email and password (and the TOTP code when the user has the second factor
 * on). Errors: 'auth.invalid_credentials' (unknown email or wrong password, alike),
 * 'auth.locked' (after 5 consecutive failures, for 15 minutes, whatever the password),
 * 'auth.totp_required', 'auth.totp_invalid', 'auth.account_disabled'.
 */
export async function login(
  db: Db,
  ctx: Pick<
    IdentityContext,
    'hasher' | 'key' | 'log' | 'now' | 'sessionTtlMs' | 'maxFailedLogins' | 'lockMs'
  >,
  email: string,
  password: string,
  options: LoginOptions = {},
): Promise<LoginResult> {
  const ip = canonicalIp(options.ip) ?? null;
  let normalized: string | undefined;
  try {
    normalized = normalizeEmail(email);
  } catch {
    normalized = undefined;
  }
  const candidate = typeof password === 'string' && password.length <= MAX_LOGIN_PASSWORD ? password : '';
  const found =
    normalized === undefined
      ? undefined
      : await db
          .selectFrom('users')
          .select(['id', 'passwordHash'])
          .where('email', '=', normalized)
          .executeTakeFirst();
  // Hash anyway: an unknown email costs the same as a wrong password.
  const encoded = found?.passwordHash ?? (await ctx.hasher.dummyHash());
  const passwordOk =
    (await ctx.hasher.verify(candidate, encoded)) && found !== undefined && candidate === password;
  const rehash = passwordOk && ctx.hasher.needsRehash(encoded) ? await ctx.hasher.hash(password) : undefined;
  const now = nowOf(ctx);
  const log = logOf(ctx);

  const outcome = await inTransaction(db, async (trx) => {
    const fail = async (userId: number | null, reason: FailureReason, error: AccountsError) => {
      await appendAudit(trx, {
        actor: userId === null ? 'anonymous' : userActor(userId),
        action: 'auth.login_failed',
        userId,
        ip,
        detail: { reason },
      });
      return { error, userId, reason } as const;
    };
    if (found === undefined) return fail(null, 'unknown_email', invalidCredentials());
    const user = await trx
      .selectFrom('users')
      .select(['id', 'status', 'totpEnabled', 'totpSecretEnc', 'failedLogins', 'lockedUntil'])
      .where('id', '=', found.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (isLocked(user, now))
      return fail(user.id, 'locked', new AccountsError('auth.locked', lockedMessage(user.lockedUntil!)));
    if (!passwordOk) {
      await countFailure(trx, ctx, user.id, user, now, ip);
      return fail(user.id, 'bad_password', invalidCredentials());
    }
    if (user.status !== 'ACTIVE')
      return fail(
        user.id,
        'disabled',
        new AccountsError('auth.account_disabled', 'this account is disabled'),
      );
    if (user.totpEnabled) {
      if (options.totpCode === undefined || options.totpCode === '')
        return fail(
          user.id,
          'totp_required',
          new AccountsError('auth.totp_required', 'enter the code from your authenticator app'),
        );
      if (!(await acceptTotpCode(trx, ctx.key, user, options.totpCode, now))) {
        const locked = await countFailure(trx, ctx, user.id, user, now, ip);
        return fail(
          user.id,
          'totp_invalid',
          locked !== null
            ? new AccountsError('auth.locked', lockedMessage(locked))
            : new AccountsError('auth.totp_invalid', 'the authenticator code is wrong or already used'),
        );
      }
    }
    await clearFailures(trx, user.id, user);
    if (rehash !== undefined)
      await trx.updateTable('users').set({ passwordHash: rehash }).where('id', '=', user.id).execute();
    const session = await createSession(trx, ctx, user.id, options);
    await appendAudit(trx, {
      actor: userActor(user.id),
      action: 'auth.login_succeeded',
      userId: user.id,
      ip,
      detail: { sessionId: session.sessionId, secondFactor: user.totpEnabled },
    });
    return { session, userId: user.id } as const;
  });

  if ('error' in outcome) {
    log.info({ userId: outcome.userId, reason: outcome.reason }, 'sign-in refused');
    throw outcome.error;
  }
  log.info({ userId: outcome.userId, sessionId: outcome.session.sessionId }, 'signed in');
  return { ...outcome.session, userId: outcome.userId };
}

function lockedMessage(until: Date): string {
  return `too many failed sign-ins: the account is locked until ${until.toISOString()}`;
}

/** An account as its owner (or an operator) sees it: never the password hash or a secret. */
export interface UserProfile {
  readonly userId: number;
  readonly email: string;
  readonly status: 'ACTIVE' | 'DISABLED';
  readonly kycTier: number;
  readonly totpEnabled: boolean;
  readonly createdAt: Date;
}

/** A user's profile. 'user.not_found'. */
export async function getUser(db: Db, userId: number): Promise<UserProfile> {
  checkUserId(userId);
  const row = await db
    .selectFrom('users')
    .select(['id', 'email', 'status', 'kycTier', 'totpEnabled', 'createdAt'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) throw new AccountsError('user.not_found', 'no such user');
  return {
    userId: row.id,
    email: row.email,
    status: row.status,
    kycTier: row.kycTier,
    totpEnabled: row.totpEnabled,
    createdAt: row.createdAt,
  };
}
