/**
 * The storage test suites run once per dialect: PGlite (in memory) always, and the PostgreSQL
 * server named by DATABASE_URL when it is set (`.ci/run` sets it). Every database starts from
 * a clean schema.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { type AccountsDb, openDatabase } from '../../accounts/db/database.ts';

export interface Dialect {
  readonly name: string;
  /** Opens a fresh, migrated database (the server's schema is dropped and made anew). */
  open(options?: { migrate?: boolean }): Promise<AccountsDb>;
}

/** Drops every table of the server's public schema. */
export async function resetServer(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}

export const DIALECTS: readonly Dialect[] = [
  { name: 'PGlite', open: (options) => openDatabase({ ...options }) },
  ...(process.env.DATABASE_URL
    ? [
        {
          name: 'PostgreSQL',
          open: async (options?: { migrate?: boolean }) => {
            const url = process.env.DATABASE_URL!;
            await resetServer(url);
            return openDatabase({ url, ...options });
          },
        },
      ]
    : []),
];

/** Declares `suite` once per dialect, inside a describe named after it. */
export function forEachDialect(suite: (dialect: Dialect) => void): void {
  for (const d of DIALECTS) describe(`on ${d.name}`, () => suite(d));
}

/**
 * Empties every accounts table and restarts its identities: a clean start without re-opening.
 * Views are not tables, and `symbols` stays: the listed markets' assets, which a persister
 * opened before the truncation recorded and the view `ledger` needs.
 */
export async function truncateAll(adb: AccountsDb): Promise<void> {
  const tables = (await adb.db.introspection.getTables())
    .filter((t) => !t.isView)
    .map((t) => t.name)
    .filter((n) => !n.startsWith('kysely_') && n !== 'symbols');
  await sql
    .raw(`truncate table ${tables.map((t) => `"${t}"`).join(', ')} restart identity cascade`)
    .execute(adb.db);
}

/**
 * The PostgreSQL server of DATABASE_URL for a suite that needs one (`.ci/run` sets it). Without
 * it, the suite gets one test that says so and is skipped, and this returns undefined: the suite
 * declares nothing else.
 */
export function serverUrlOrSkip(): string | undefined {
  const url = process.env.DATABASE_URL;
  if (url === undefined)
    it('needs DATABASE_URL (not set: skipped)', function () {
      this.skip();
    });
  return url;
}
