/**
 * Users: registration, sign-in, password change, and an operator's switch to disable or
 * re-enable an account. Passwords are hashed in the worker pool, before any transaction
 * opens, so no row is held while scrypt runs. Sign-in gives the same error for an unknown
 * email and a wrong password, and costs the same (an unknown email is checked against a dummy
 * hash); a locked account answers 'auth.locked' whatever the password. Outcomes are committed
 * (failure counts, audit entries) before an error is thrown, so a refused attempt still leaves
 * its trace.
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
import { createSession, endSessions, type NewSession } from './session.service.ts';
import { acceptTotpCode } from './totp.service.ts';
import {
  canonicalIp,
  checkNewPassword,
  checkOperator,
  checkReason,
  checkUserId,
  normalizeEmail,
} from './validation.ts';

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
 * 'auth.totp_required', 'auth.totp_invalid', 'auth.disabled' (an operator disabled the account;
 * said only once the password is right, so that it tells nothing to someone guessing).
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
        new AccountsError('auth.disabled', 'this account is disabled; contact support'),
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

/** What changing a password may be given besides the passwords. */
export interface ChangePasswordOptions extends RequestMeta {
  /**
   * The session making the request, which stays open; every other session of the user is
   * ended. Absent (or not a session of this user): every session is ended.
   */
  readonly keepSessionId?: string;
}

/** A changed password: how many other sessions it ended. */
export interface PasswordChanged {
  readonly userId: number;
  readonly revokedSessions: number;
}

/**
 * Changes a signed-in user's password: the current one must be given and right, the new one
 * must pass the rules of registration and differ from the current one. Every session but
 * `keepSessionId` is ended, so that whoever knew the old password is signed out everywhere.
 * A wrong current password counts toward the lockout like a failed sign-in.
 * Errors: 'auth.invalid_credentials' (wrong current password), 'auth.locked',
 * 'user.invalid_password' (the new one), 'user.disabled', 'user.not_found'.
 */
export async function changePassword(
  db: Db,
  ctx: Pick<IdentityContext, 'hasher' | 'log' | 'now' | 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  currentPassword: string,
  newPassword: string,
  options: ChangePasswordOptions = {},
): Promise<PasswordChanged> {
  checkUserId(userId);
  const ip = canonicalIp(options.ip) ?? null;
  const found = await db
    .selectFrom('users')
    .select(['email', 'passwordHash'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (found === undefined) throw new AccountsError('user.not_found', 'no such user');
  // The new password is checked first: it needs no secret of the account, and a request
  // that cannot succeed costs no hashing and no lockout count.
  checkNewPassword(newPassword, found.email);
  const candidate =
    typeof currentPassword === 'string' && currentPassword.length <= MAX_LOGIN_PASSWORD
      ? currentPassword
      : '';
  const currentOk = (await ctx.hasher.verify(candidate, found.passwordHash)) && candidate === currentPassword;
  const unchanged = currentOk && newPassword === currentPassword;
  const newHash = currentOk && !unchanged ? await ctx.hasher.hash(newPassword) : undefined;
  const now = nowOf(ctx);

  const outcome = await inTransaction(db, async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'status', 'passwordHash', 'failedLogins', 'lockedUntil'])
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const refuse = async (reason: string, error: AccountsError) => {
      await appendAudit(trx, {
        actor: userActor(userId),
        action: 'user.password_change_failed',
        userId,
        ip,
        detail: { reason },
      });
      return { error, reason } as const;
    };
    if (user.status !== 'ACTIVE')
      return refuse('disabled', new AccountsError('user.disabled', 'this account is disabled'));
    if (isLocked(user, now))
      return refuse('locked', new AccountsError('auth.locked', lockedMessage(user.lockedUntil!)));
    if (!currentOk) {
      await countFailure(trx, ctx, userId, user, now, ip);
      return refuse('bad_password', invalidCredentials());
    }
    // Told only after the lock check, like any answer that depends on the current password.
    if (newHash === undefined)
      return refuse(
        'unchanged',
        new AccountsError('user.invalid_password', 'the new password must differ from the current one'),
      );
    // The hash checked above must still be the stored one: after a concurrent change, the
    // password given is no longer known to be the current one (not counted: it was right).
    if (user.passwordHash !== found.passwordHash) return refuse('changed_concurrently', invalidCredentials());
    await trx.updateTable('users').set({ passwordHash: newHash }).where('id', '=', userId).execute();
    await clearFailures(trx, userId, user);
    const revokedSessions = await endSessions(trx, userId, now, options.keepSessionId);
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'user.password_changed',
      userId,
      ip,
      detail: { revokedSessions, keptSessionId: options.keepSessionId ?? null },
    });
    return { revokedSessions } as const;
  });

  if ('error' in outcome) {
    logOf(ctx).info({ userId, reason: outcome.reason }, 'password change refused');
    throw outcome.error;
  }
  logOf(ctx).info({ userId, revokedSessions: outcome.revokedSessions }, 'password changed');
  return { userId, revokedSessions: outcome.revokedSessions };
}

/** An account's status: a disabled account can neither sign in nor use its sessions or keys. */
export type UserStatus = 'ACTIVE' | 'DISABLED';

/** The outcome of an operator's status change. */
export interface UserStatusChanged {
  readonly userId: number;
  readonly status: UserStatus;
  /** False when the account already had that status (nothing was done or recorded). */
  readonly changed: boolean;
  /** Sessions ended by disabling the account. */
  readonly revokedSessions: number;
}

/**
 * An operator disables an account (every session is ended at once; sign-in then answers
 * 'auth.disabled'; API keys still resolve, with userStatus 'DISABLED', for the gateway to
 * refuse) or enables it again. Recorded in the audit log ('user.disabled' or 'user.enabled')
 * with the operator as the actor and the reason. Setting the status an account already has
 * changes nothing. Errors: 'user.invalid_status', 'user.invalid_operator',
 * 'user.reason_required', 'user.not_found'.
 */
export async function setUserStatus(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  userId: number,
  status: UserStatus,
  operator: string,
  reason: string,
): Promise<UserStatusChanged> {
  checkUserId(userId);
  if (status !== 'ACTIVE' && status !== 'DISABLED')
    throw new AccountsError('user.invalid_status', 'an account status is ACTIVE or DISABLED');
  const actor = checkOperator(operator, 'user.invalid_operator');
  const why = checkReason(reason, 'user.reason_required', 'a status change');
  const result = await inTransaction(db, async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select('status')
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (user === undefined) throw new AccountsError('user.not_found', 'no such user');
    if (user.status === status) return { userId, status, changed: false, revokedSessions: 0 };
    await trx.updateTable('users').set({ status }).where('id', '=', userId).execute();
    const revokedSessions = status === 'DISABLED' ? await endSessions(trx, userId, nowOf(ctx)) : 0;
    await appendAudit(trx, {
      actor: `operator:${actor}`,
      action: status === 'DISABLED' ? 'user.disabled' : 'user.enabled',
      userId,
      detail: { reason: why, revokedSessions },
    });
    return { userId, status, changed: true, revokedSessions };
  });
  logOf(ctx).info(
    { userId, status, changed: result.changed, operator: actor, revokedSessions: result.revokedSessions },
    'account status set',
  );
  return result;
}
