/**
 * The persister's write path: the engine's history is append-heavy, so its indexes are
 * chosen for cheap appends.
 *
 * - orders: fillfactor 90, so that an order's fill (status, executed quantity) is usually a
 *   heap-only update that touches no index; orders are updated by every trade.
 * - ledger_entries.seq: a BRIN index instead of a B-tree. Entries are appended in seq order,
 *   so a block range index answers "entries after seq S" (the ledger check) at a sliver of
 *   the cost of maintaining a B-tree entry per ledger row.
 *
 * No data changes; both steps are reversible.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table orders set (fillfactor = 90)`.execute(db);
  await db.schema.dropIndex('ledger_seq').execute();
  await sql`create index ledger_seq on ledger_entries using brin (seq)`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('ledger_seq').execute();
  await db.schema.createIndex('ledger_seq').on('ledger_entries').column('seq').execute();
  await sql`alter table orders reset (fillfactor)`.execute(db);
}
