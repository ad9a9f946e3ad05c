/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WebAssembly): Kysely's own PostgreSQL
 * driver over a one-connection "pool" that hands PGlite to one caller at a time, so a
 * transaction has the connection to itself exactly as it would on a server. Same SQL, same
 * migrations, same query compiler as production.
 */
import type { PGlite } from '@electric-sql/pglite';
import {
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from 'kysely';

/** The command tag Kysely's driver reads to report affected rows. */
function commandOf(sql: string, affectedRows: number | undefined): PostgresQueryResult<unknown>['command'] {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  if (word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'MERGE') return word;
  // A WITH ... INSERT/UPDATE/DELETE reports its rows as an update would.
  if (word === 'WITH' && (affectedRows ?? 0) > 0) return 'UPDATE';
  return 'SELECT';
}

class PGlitePool implements PostgresPool {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly pg: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    // One connection: callers queue until the holder releases it (a transaction holds it
    // from BEGIN to COMMIT, so no other statement can slip inside it).
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    let released = false;
    return {
      query: async <R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> => {
        const result = await this.pg.query<R>(sql, parameters as unknown[]);
        return {
          command: commandOf(sql, result.affectedRows),
          rowCount: result.affectedRows ?? result.rows.length,
          rows: result.rows,
        };
      },
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next !== undefined) next();
        else this.busy = false;
      },
    } as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.pg.close();
  }
}

/** A Kysely dialect over an open PGlite instance; destroying the Kysely instance closes it. */
export function pgliteDialect(pg: PGlite): PostgresDialect {
  return new PostgresDialect({ pool: new PGlitePool(pg) });
}
