/**
 * Sessions: a sign-in yields a random 32-byte token (base64url) that the client presents on
 * each request. Only its SHA-256 is stored (as the session's id), so a copy of the database
 * does not let anyone act as a user. Sessions expire after a fixed lifetime (24 hours by
 * default) and can be revoked one by one or all at once. Every function that touches a
 * session by id takes the user id too, and a session of another user is "not found".
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { appendAudit } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import {
  type Db,
  DEFAULT_SESSION_TTL_MS,
  type IdentityContext,
  inTransaction,
  logOf,
  nowOf,
  type RequestMeta,
  userActor,
} from './identity-context.ts';
import { canonicalIp, checkUserId, cleanUserAgent } from './validation.ts';

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const SESSION_ID_SHAPE = /^[0-9a-f]{64}$/;

/** The stored id of the session a token opens: SHA-256 of the token, hex. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new session: the token goes to the client once; the server keeps only `sessionId`. */
export interface NewSession {
  readonly sessionToken: string;
  readonly sessionId: string;
  readonly expiresAt: Date;
}

/**
 * Opens a session for `userId` inside the caller's transaction (sign-in). The caller
 * records the audit entry that explains it.
 */
export async function createSession(
  trx: Transaction<Database>,
  ctx: Pick<IdentityContext, 'now' | 'sessionTtlMs'>,
  userId: number,
  meta: RequestMeta = {},
): Promise<NewSession> {
  const ttl = ctx.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw new RangeError('the session lifetime must be a positive integer of ms');
  const sessionToken = randomBytes(TOKEN_BYTES).toString('base64url');
  const sessionId = sessionIdOf(sessionToken);
  const expiresAt = new Date(nowOf(ctx) + ttl);
  await trx
    .insertInto('sessions')
    .values({
      id: sessionId,
      userId,
      expiresAt,
      ip: canonicalIp(meta.ip) ?? null,
      userAgent: cleanUserAgent(meta.userAgent),
    })
    .execute();
  return { sessionToken, sessionId, expiresAt };
}

/** Who a valid token belongs to. */
export interface AuthenticatedSession {
  readonly sessionId: string;
  readonly userId: number;
  readonly email: string;
  readonly kycTier: number;
  readonly totpEnabled: boolean;
  readonly expiresAt: Date;
}

/**
 * The user behind a session token. 'auth.session_invalid' (malformed or unknown token, or an
 * account no longer active), 'auth.session_expired', 'auth.session_revoked'.
 */
export async function authenticate(
  db: Db,
  token: string,
  ctx: Pick<IdentityContext, 'now'> = {},
): Promise<AuthenticatedSession> {
  const invalid = new AccountsError('auth.session_invalid', 'the session is not valid; sign in again');
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw invalid;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .select([
      'sessions.id as sessionId',
      'sessions.userId',
      'sessions.expiresAt',
      'sessions.revokedAt',
      'users.email',
      'users.status',
      'users.kycTier',
      'users.totpEnabled',
    ])
    .where('sessions.id', '=', sessionIdOf(token))
    .executeTakeFirst();
  if (row === undefined || row.status !== 'ACTIVE') throw invalid;
  if (row.revokedAt !== null)
    throw new AccountsError('auth.session_revoked', 'the session was ended; sign in again');
  if (row.expiresAt.getTime() <= nowOf(ctx))
    throw new AccountsError('auth.session_expired', 'the session has expired; sign in again');
  return {
    sessionId: row.sessionId,
    userId: row.userId,
    email: row.email,
    kycTier: row.kycTier,
    totpEnabled: row.totpEnabled,
    expiresAt: row.expiresAt,
  };
}

/** A session as its user sees it in a list (no token: it was never stored). */
export interface SessionInfo {
  readonly sessionId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Neither revoked nor expired. */
  readonly active: boolean;
}

/**
 * A user's sessions, newest first: the active ones, or every one still on record with
 * `includeInactive`.
 */
export async function listSessions(
  db: Db,
  userId: number,
  options: { readonly includeInactive?: boolean; readonly limit?: number } & Pick<
    IdentityContext,
    'now'
  > = {},
): Promise<SessionInfo[]> {
  checkUserId(userId);
  const now = new Date(nowOf(options));
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
  let q = db
    .selectFrom('sessions')
    .select(['id', 'createdAt', 'expiresAt', 'revokedAt', 'ip', 'userAgent'])
    .where('userId', '=', userId);
  if (options.includeInactive !== true) q = q.where('revokedAt', 'is', null).where('expiresAt', '>', now);
  const rows = await q.orderBy('createdAt', 'desc').orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    sessionId: r.id,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    ip: r.ip,
    userAgent: r.userAgent,
    active: r.revokedAt === null && r.expiresAt.getTime() > now.getTime(),
  }));
}

/**
 * Ends one of the user's sessions (by the id `listSessions` shows). 'session.not_found' when
 * it is not this user's, or already ended.
 */
export async function revokeSession(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  userId: number,
  sessionId: string,
  meta: RequestMeta = {},
): Promise<void> {
  checkUserId(userId);
  const notFound = new AccountsError('session.not_found', 'no such active session');
  if (typeof sessionId !== 'string' || !SESSION_ID_SHAPE.test(sessionId)) throw notFound;
  await inTransaction(db, async (trx) => {
    const r = await trx
      .updateTable('sessions')
      .set({ revokedAt: new Date(nowOf(ctx)) })
      .where('id', '=', sessionId)
      .where('userId', '=', userId)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    if (r.numUpdatedRows !== 1n) throw notFound;
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'session.revoked',
      userId,
      ip: canonicalIp(meta.ip) ?? null,
      detail: { sessionId },
    });
  });
  logOf(ctx).info({ userId, sessionId }, 'session revoked');
}

/**
 * Ends every session of `userId` not yet ended, except `exceptSessionId` (when it is one of
 * theirs), inside the caller's transaction; the caller records the audit entry that explains
 * it. Returns how many were ended.
 */
export async function endSessions(
  trx: Transaction<Database>,
  userId: number,
  nowMs: number,
  exceptSessionId?: string,
): Promise<number> {
  let q = trx
    .updateTable('sessions')
    .set({ revokedAt: new Date(nowMs) })
    .where('userId', '=', userId)
    .where('revokedAt', 'is', null);
  if (exceptSessionId !== undefined) q = q.where('id', '!=', exceptSessionId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Ends every session of the user (sign out everywhere), except `exceptSessionId` when given
 * (the one making the request). Returns how many were ended.
 */
export async function revokeAllSessions(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  userId: number,
  options: { readonly exceptSessionId?: string } & RequestMeta = {},
): Promise<number> {
  checkUserId(userId);
  const count = await inTransaction(db, async (trx) => {
    const n = await endSessions(trx, userId, nowOf(ctx), options.exceptSessionId);
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'session.revoked_all',
      userId,
      ip: canonicalIp(options.ip) ?? null,
      detail: { count: n, kept: options.exceptSessionId ?? null },
    });
    return n;
  });
  logOf(ctx).info({ userId, count }, 'sessions revoked');
  return count;
}

/**
 * Signs out: ends the session of `token`. 'auth.session_invalid' for an unknown token; an
 * already ended or expired one is ended quietly (signing out twice is not an error).
 */
export async function logout(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  token: string,
  meta: RequestMeta = {},
): Promise<void> {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token))
    throw new AccountsError('auth.session_invalid', 'the session is not valid');
  const sessionId = sessionIdOf(token);
  const userId = await inTransaction(db, async (trx) => {
    const row = await trx
      .selectFrom('sessions')
      .select(['userId', 'revokedAt'])
      .where('id', '=', sessionId)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) throw new AccountsError('auth.session_invalid', 'the session is not valid');
    if (row.revokedAt !== null) return row.userId;
    await trx
      .updateTable('sessions')
      .set({ revokedAt: new Date(nowOf(ctx)) })
      .where('id', '=', sessionId)
      .execute();
    await appendAudit(trx, {
      actor: userActor(row.userId),
      action: 'session.logged_out',
      userId: row.userId,
      ip: canonicalIp(meta.ip) ?? null,
      detail: { sessionId },
    });
    return row.userId;
  });
  logOf(ctx).info({ userId, sessionId }, 'signed out');
}
