/**
 * What the identity services need besides the database, given once by whoever wires the
 * platform (the gateway, the admin commands, a test): the master key, the password pool, a
 * logger, and the policies (session lifetime, lockout). The clock is injectable so tests can
 * step over an expiry or a lockout without waiting.
 */
import type { Kysely, Transaction } from 'kysely';
import type { MasterKey } from '../crypto/master-key.ts';
import type { Database } from '../db/schema.ts';
import { type Logger, silentLogger } from '../logger.ts';
import type { PasswordHasher } from './password-hasher.ts';

/** The database, or a transaction of the caller's (the work then commits or rolls back with it). */
export type Db = Kysely<Database> | Transaction<Database>;

/** The services' shared dependencies. Each function takes only the part it needs. */
export interface IdentityContext {
  readonly key: MasterKey;
  readonly hasher: PasswordHasher;
  /** Default: silent. */
  readonly log?: Logger;
  /** Milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
  /** Session lifetime (default 24 hours). */
  readonly sessionTtlMs?: number;
  /** Consecutive failed sign-ins that lock an account (default 5). */
  readonly maxFailedLogins?: number;
  /** How long a lock lasts (default 15 minutes). */
  readonly lockMs?: number;
  /** The issuer shown by authenticator apps (default "Crossbook"). */
  readonly totpIssuer?: string;
}

/** Who is asking, as the gateway saw it; recorded in the audit log and on sessions. */
export interface RequestMeta {
  /** The client's address (kept only when it is a valid IPv4 or IPv6 address). */
  readonly ip?: string;
  readonly userAgent?: string;
}

export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_FAILED_LOGINS = 5;
export const DEFAULT_LOCK_MS = 15 * 60 * 1000;

/** The context's clock. */
export function nowOf(ctx: Pick<IdentityContext, 'now'>): number {
  return ctx.now?.() ?? Date.now();
}

/** The context's logger. */
export function logOf(ctx: Pick<IdentityContext, 'log'>): Logger {
  return ctx.log ?? silentLogger;
}

/**
 * Runs `work` in a transaction: the caller's own when `db` is one (nothing commits until the
 * caller does), else a new one.
 */
export function inTransaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<Database>);
  return db.transaction().execute(work);
}

/** The audit actor for a user acting on their own account. */
export function userActor(userId: number): string {
  return `user:${userId}`;
}
