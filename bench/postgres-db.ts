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
