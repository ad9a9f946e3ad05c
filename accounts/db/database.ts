/**
 * One configuration, two dialects: PGlite (PostgreSQL in WebAssembly, its data directory on
 * disk, or in memory for tests) by default, a PostgreSQL server when a URL is given. Both
 * parse int8 to a JavaScript number, refusing any value beyond Number.MAX_SAFE_INTEGER (the
 * engine's own bound on every id and amount), and both run the migrations on open.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrator.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

/** Where the accounts database lives. */
export interface DatabaseOptions {
  /** A PostgreSQL server (`postgres://...`); when absent, PGlite is used. */
  readonly url?: string;
  /** PGlite's data directory; absent: in memory (tests). */
  readonly dataDir?: string;
  /** Run pending migrations on open (default true). */
  readonly migrate?: boolean;
  /** Connections to a server (default 10). */
  readonly poolSize?: number;
}

/** An open accounts database. */
export interface AccountsDb {
  readonly db: Kysely<Database>;
  readonly dialect: 'pglite' | 'postgres';
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Parses an int8 as a number; a value beyond the safe range is a corrupted row, not data. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is beyond Number.MAX_SAFE_INTEGER`);
  return n;
}

/** Opens (and migrates) the accounts database. */
export async function openDatabase(options: DatabaseOptions = {}): Promise<AccountsDb> {
  let db: Kysely<Database>;
  let dialect: AccountsDb['dialect'];
  if (options.url !== undefined && options.url !== '') {
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    };
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
    dialect = 'postgres';
  } else {
    if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
    const lite = await PGlite.create({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      parsers: { [INT8_OID]: parseInt8 },
    });
    db = new Kysely<Database>({ dialect: pgliteDialect(lite), plugins: [new CamelCasePlugin()] });
    dialect = 'pglite';
  }
  try {
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return { db, dialect, close: () => db.destroy() };
}
