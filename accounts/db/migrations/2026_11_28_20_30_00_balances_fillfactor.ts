/**
 * The balance projection is updated in place by every batch (one row per account and asset
 * a batch touches) and never grows much: fillfactor 50 leaves room on each page for the new
 * row version, so an update is heap-only and adds nothing to the primary key index. Without
 * it, every update adds an index entry and the index bloats between vacuums.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table balances set (fillfactor = 50)`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`alter table balances reset (fillfactor)`.execute(db);
}
