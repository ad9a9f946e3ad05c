/**
 * Migrations with Kysely's migrator, `up` and `down`. The list is static (imported here, in
 * order) rather than read from a folder at run time, so a bundle or a type check sees every
 * migration and a missing file fails at build time, not at start.
 */
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
} from 'kysely';
import * as accounts from './migrations/2026_11_28_17_00_00_accounts.ts';
import * as identity from './migrations/2026_11_28_18_00_00_identity.ts';
import * as kycSealedIdentity from './migrations/2026_11_28_19_00_00_kyc_sealed_identity.ts';
import * as historyWritePath from './migrations/2026_11_28_20_00_00_history_write_path.ts';
import * as balancesFillfactor from './migrations/2026_11_28_20_30_00_balances_fillfactor.ts';
import * as ordersHotFills from './migrations/2026_11_28_21_00_00_orders_hot_fills.ts';
import * as tradePostings from './migrations/2026_11_29_01_00_00_trade_postings.ts';
import * as orderTimeMarks from './migrations/2026_11_29_02_00_00_order_time_marks.ts';
import * as authVersions from './migrations/2026_11_29_03_00_00_auth_versions.ts';

/** Every migration, by name (`YYYY_MM_DD_HH_MM_SS_name`); Kysely runs them in name order. */
const MIGRATIONS: Record<string, Migration> = {
  '2026_11_28_17_00_00_accounts': accounts,
  '2026_11_28_18_00_00_identity': identity,
  '2026_11_28_19_00_00_kyc_sealed_identity': kycSealedIdentity,
  '2026_11_28_20_00_00_history_write_path': historyWritePath,
  '2026_11_28_20_30_00_balances_fillfactor': balancesFillfactor,
  '2026_11_28_21_00_00_orders_hot_fills': ordersHotFills,
  '2026_11_29_01_00_00_trade_postings': tradePostings,
  '2026_11_29_02_00_00_order_time_marks': orderTimeMarks,
  '2026_11_29_03_00_00_auth_versions': authVersions,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Thrown when a migration fails; names the migration and the database's reason. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

function check(result: MigrationResultSet): void {
  if (result.error === undefined) return;
  const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
  const reason = result.error instanceof Error ? result.error.message : String(result.error);
  throw new MigrationError(`migration ${failed} failed: ${reason}`);
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator works below the schema type
function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new StaticProvider() });
}

/** Runs every pending migration. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  check(await migrator(db).migrateToLatest());
}

/** Migrates up or down to `name` (a key of the list): tests of one migration's data. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function migrateTo(db: Kysely<any>, name: string): Promise<void> {
  if (!(name in MIGRATIONS)) throw new MigrationError(`no migration is named ${name}`);
  check(await migrator(db).migrateTo(name));
}

/** Undoes every migration (tests, and an operator resetting a development database). */
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function migrateDownAll(db: Kysely<any>): Promise<void> {
  const m = migrator(db);
  for (;;) {
    const result = await m.migrateDown();
    check(result);
    if ((result.results ?? []).length === 0) return;
  }
}
