/**
 * Account lockout: consecutive failed proofs of identity (a wrong password at sign-in, a wrong
 * second-factor code anywhere) are counted per user; the fifth locks the account for 15
 * minutes (both configurable). A lock that has run out starts the count afresh. Any success
 * clears the count. Counting per user (not per address) is what stops a distributed guesser;
 * the price, that anyone can lock an account for a while, is the usual one.
 *
 * Callers hold the user's row FOR UPDATE in the transaction, so that concurrent failures are
 * each counted.
 */
import type { Transaction } from 'kysely';
import { appendAudit } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import { DEFAULT_LOCK_MS, DEFAULT_MAX_FAILED_LOGINS, type IdentityContext } from './identity-context.ts';

/** The lockout columns of a user row. */
export interface LockState {
  readonly failedLogins: number;
  readonly lockedUntil: Date | null;
}

/** True while a lock is in force at `nowMs`. */
export function isLocked(state: LockState, nowMs: number): boolean {
  return state.lockedUntil !== null && state.lockedUntil.getTime() > nowMs;
}

/**
 * Counts one failure for `userId` (whose row the caller holds FOR UPDATE, in `state`); locks
 * the account when the count reaches the limit, and records the lock in the audit log.
 * Returns when the lock ends if this failure locked the account, else null.
 */
export async function countFailure(
  trx: Transaction<Database>,
  ctx: Pick<IdentityContext, 'maxFailedLogins' | 'lockMs'>,
  userId: number,
  state: LockState,
  nowMs: number,
  ip: string | null = null,
): Promise<Date | null> {
  const max = ctx.maxFailedLogins ?? DEFAULT_MAX_FAILED_LOGINS;
  const expired = state.lockedUntil !== null && state.lockedUntil.getTime() <= nowMs;
  const failures = (expired ? 0 : state.failedLogins) + 1;
  const lockedUntil = failures >= max ? new Date(nowMs + (ctx.lockMs ?? DEFAULT_LOCK_MS)) : null;
  await trx
    .updateTable('users')
    .set({ failedLogins: failures, lockedUntil })
    .where('id', '=', userId)
    .execute();
  if (lockedUntil !== null)
    await appendAudit(trx, {
      actor: 'system',
      action: 'auth.locked',
      userId,
      ip,
      detail: { failures, lockedUntil: lockedUntil.toISOString() },
    });
  return lockedUntil;
}

/** Clears the failure count after a success. */
export async function clearFailures(
  trx: Transaction<Database>,
  userId: number,
  state: LockState,
): Promise<void> {
  if (state.failedLogins === 0 && state.lockedUntil === null) return;
  await trx
    .updateTable('users')
    .set({ failedLogins: 0, lockedUntil: null })
    .where('id', '=', userId)
    .execute();
}
