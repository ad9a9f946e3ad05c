/**
 * A database of a benchmark's own on a PostgreSQL server: made fresh before a run (dropped
 * first, with FORCE, if a previous run left it) and dropped after, so that a benchmark never
 * shares the `test` database with test runs.
 */
import pg from 'pg';

/** Drops (if present) and creates database `name` on `serverUrl`'s server; returns its URL. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops database `name` on `serverUrl`'s server; a failure is printed, not thrown. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch (e) {
    console.log(`postgres: could not drop ${name}: ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The process ids of the server's backends connected to database `name` (a local server: their
 * CPU time is then readable in /proc). Empty when they cannot be listed.
 */
export async function backendPids(serverUrl: string, name: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    return rows.map((r) => r.pid);
  } catch (e) {
    console.log(`postgres: could not list the backends of ${name}: ${(e as Error).message}`);
    return [];
  } finally {
    await client.end().catch(() => {});
  }
}
