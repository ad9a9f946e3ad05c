/**
 * The audit log: an append-only record of security-relevant actions (logins, key changes,
 * KYC decisions, withdrawals, admin actions). Each entry's hash is SHA-256 over the previous
 * entry's hash and the entry's own canonical content, so editing, removing or reordering any
 * entry breaks the chain at that point, which `verifyAuditLog` finds.
 *
 * Appends are serialised by a transaction-scoped advisory lock, so two concurrent appends
 * cannot both chain onto the same predecessor. An append belongs to the caller's
 * transaction: if the action rolls back, so does its entry.
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/** The hash the first entry chains onto. */
export const GENESIS_HASH = '0'.repeat(64);

/** An arbitrary constant naming the audit chain's advisory lock. */
const AUDIT_LOCK = 0x43424155; // "CBAU"

/** What happened, by whom, to whom. `detail` must never hold a secret or a password. */
export interface AuditInput {
  /** "user:12", "operator:<name>", "system". */
  readonly actor: string;
  /** Dotted, past tense: "user.registered", "apikey.created", "withdrawal.approved". */
  readonly action: string;
  readonly userId?: number | null;
  readonly ip?: string | null;
  readonly detail?: Record<string, unknown>;
}

/** JSON with object keys sorted at every level: the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function entryHash(
  prevHash: string,
  e: { id: number; at: Date; actor: string; action: string; userId: number | null; ip: string | null },
  detail: unknown,
): string {
  const content = canonicalJson({
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    userId: e.userId,
    ip: e.ip,
    detail,
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

async function appendIn(
  trx: Transaction<Database>,
  input: AuditInput,
): Promise<{ id: number; hash: string }> {
  await sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`.execute(trx);
  const last = await trx
    .selectFrom('auditLog')
    .select(['id', 'hash'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const prevHash = last?.hash ?? GENESIS_HASH;
  const id = (last?.id ?? 0) + 1;
  // Millisecond precision: what both PostgreSQL and JavaScript dates hold exactly.
  const at = new Date(Math.floor(Date.now()));
  const detail = JSON.parse(canonicalJson(input.detail ?? {})) as Record<string, unknown>;
  const row = {
    id,
    at,
    actor: input.actor,
    action: input.action,
    userId: input.userId ?? null,
    ip: input.ip ?? null,
  };
  const hash = entryHash(prevHash, row, detail);
  await trx
    .insertInto('auditLog')
    .values({ ...row, detail: JSON.stringify(detail), prevHash, hash })
    .execute();
  return { id, hash };
}

/**
 * Appends an entry. Given a transaction, the entry commits or rolls back with it; given the
 * database, it runs in a transaction of its own.
 */
export async function appendAudit(
  db: Kysely<Database> | Transaction<Database>,
  input: AuditInput,
): Promise<{ id: number; hash: string }> {
  if (db.isTransaction) return appendIn(db as Transaction<Database>, input);
  return db.transaction().execute((trx) => appendIn(trx, input));
}

/** The outcome of a verification: ok, or the first entry where the chain breaks and why. */
export type AuditVerification =
  | { readonly ok: true; readonly entries: number; readonly headHash: string }
  | { readonly ok: false; readonly entries: number; readonly brokenAtId: number; readonly problem: string };

/**
 * Walks the whole chain in id order and recomputes every hash. Finds an edited entry (its
 * hash no longer matches its content), a removed one (a gap in the ids, or a prev_hash that
 * names something else) and reordered ones (prev_hash out of step).
 */
export async function verifyAuditLog(db: Kysely<Database>, pageSize = 5000): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedId = 1;
  let entries = 0;
  for (;;) {
    const rows = await db
      .selectFrom('auditLog')
      .selectAll()
      .where('id', '>=', expectedId)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    for (const r of rows) {
      if (r.id !== expectedId)
        return { ok: false, entries, brokenAtId: r.id, problem: `entry ${expectedId} is missing` };
      if (r.prevHash !== prevHash)
        return { ok: false, entries, brokenAtId: r.id, problem: 'does not chain onto the entry before it' };
      const hash = entryHash(prevHash, r, r.detail);
      if (hash !== r.hash)
        return { ok: false, entries, brokenAtId: r.id, problem: 'content does not match its hash' };
      prevHash = r.hash;
      expectedId++;
      entries++;
    }
    if (rows.length < pageSize) break;
  }
  // An entry removed from the end leaves a valid shorter chain; the head hash, kept outside
  // the database (logged, exported), is what proves the length.
  return { ok: true, entries, headHash: prevHash };
}
