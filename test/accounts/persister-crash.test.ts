/**
 * Crash safety: a child process persists the deterministic session stream, the test SIGKILLs
 * it at random moments while it writes (the writer is busy from start to end, so a kill lands
 * inside a batch), starts it again (it resumes after the last seq the database holds), and at
 * the end the database must equal one written by a single uninterrupted run: the same orders,
 * trades, ledger entries (ids included), balances and last seq; nothing lost, nothing twice.
 * Every batch reported durable survives a kill; on the server, every batch reported committed.
 * Against PGlite on a data directory always, and the PostgreSQL server when DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PGlite } from '@electric-sql/pglite';
import { CamelCasePlugin, Kysely } from 'kysely';
import pg from 'pg';
import { openDatabase, parseInt8 } from '../../accounts/db/database.ts';
import { migrateToLatest } from '../../accounts/db/migrator.ts';
import { pgliteDialect } from '../../accounts/db/pglite-dialect.ts';
import type { Database } from '../../accounts/db/schema.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { resetServer } from './dialects.ts';
import { dumpHistory, type HistoryDump } from './persister-dump.ts';
import { demoMarkets, runSession, seeded, sessionCommands } from './persister-stream.ts';

const COMMANDS = 2_500;
const SEED = 23;
const MAX_BATCH = 200;
const KILLS = 3;
const CHILD = new URL('./persister-child.ts', import.meta.url).pathname;

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the exit code (null when killed) once the child has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves once the child has printed `count` lines starting with `prefix`. */
  seen(prefix: string, count: number): Promise<void>;
}

function startChild(target: string): Run {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, target, String(COMMANDS), String(SEED), String(MAX_BATCH)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  const watchers: { prefix: string; count: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (lines.filter((l) => l.startsWith(w.prefix)).length >= w.count) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    check();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    seen: (prefix, count) =>
      new Promise<void>((resolve, reject) => {
        watchers.push({ prefix, count, resolve });
        check();
        exited.then(() =>
          reject(new Error(`child exited before ${count} "${prefix}" lines:\n${lines.join('\n')}`)),
        );
      }),
  };
}

const seqOf = (line: string | undefined) => Number(line?.split(' ')[1] ?? Number.NaN);

/** The URL of `<database>_persister_crash` on the server of `url`, created if missing. */
async function ownDatabase(url: string): Promise<string> {
  const own = new URL(url);
  const name = `${own.pathname.slice(1) || 'postgres'}_persister_crash`;
  own.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  return own.toString();
}

describe('persister crash safety', function () {
  this.timeout(600_000);
  let reference: HistoryDump;
  const dirs: string[] = [];

  /** A freshly migrated PGlite data directory, as a tarball: a child starts from it in 2 s, not 10. */
  let template: File | Blob;

  before(async () => {
    const lite = await PGlite.create({ parsers: { 20: parseInt8 } });
    const db = new Kysely<Database>({ dialect: pgliteDialect(lite), plugins: [new CamelCasePlugin()] });
    await migrateToLatest(db);
    template = await lite.dumpDataDir('none');
    const p = await Persister.open(db, demoMarkets(), { maxBatch: MAX_BATCH });
    runSession(sessionCommands(COMMANDS, SEED), p.listener);
    await p.flushed(COMMANDS);
    await p.close();
    reference = await dumpHistory(db);
    await db.destroy();
    assert.ok(reference.trades.length > 500, `the session made only ${reference.trades.length} trades`);
  });
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const targets: { name: string; prepare: () => Promise<string> }[] = [
    {
      name: 'PGlite on a data directory',
      prepare: async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-persister-'));
        dirs.push(dir);
        const seed = await PGlite.create({ dataDir: path.join(dir, 'pg'), loadDataDir: template });
        await seed.close();
        return path.join(dir, 'pg');
      },
    },
    ...(process.env.DATABASE_URL
      ? [
          {
            name: 'PostgreSQL',
            prepare: async () => {
              // A database of its own on the server: the child runs for seconds between
              // restarts, and another suite resetting the shared one meanwhile would look
              // exactly like lost commits.
              const url = await ownDatabase(process.env.DATABASE_URL!);
              await resetServer(url);
              return url;
            },
          },
        ]
      : []),
  ];

  for (const target of targets) {
    it(`resumes after SIGKILLs mid-batch and ends equal to an uninterrupted run (${target.name})`, async () => {
      const where = await target.prepare();
      // The kill moments vary run to run; a failure names its seed (seeded(...) replays them).
      const killSeed = Date.now() % 100_000;
      const random = seeded(killSeed);
      // A killed child is a crashed client; with PGlite it is a crashed database too. Commits
      // reported durable survive either; the others (synchronous_commit off) survive a client's
      // crash (the server has them) but may be lost with PGlite's process, to be written again.
      const serverSide = where.startsWith('postgres');
      let lastCommitted = 0;
      let lastDurable = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const run = startChild(where);
        await run.seen('start', 1);
        const resumedAt = seqOf(run.lines.find((l) => l.startsWith('start')));
        assert.ok(
          resumedAt >= lastDurable,
          `resumed at ${resumedAt}, but ${lastDurable} had committed durably (kill seed ${killSeed})`,
        );
        if (serverSide) {
          // Every batch the previous child saw commit survived its death.
          assert.ok(
            resumedAt >= lastCommitted,
            `resumed at ${resumedAt}, but ${lastCommitted} had committed (kill seed ${killSeed})`,
          );
        }
        // Killed a few milliseconds after its 1st to 4th commit: inside the next batch or so.
        // The session is about 27 batches of 3 ms each on the server here, so three kills must
        // each come within a few batches of the commit they follow, or the child finishes first.
        await run.seen('committed', 1 + random(4));
        await new Promise((r) => setTimeout(r, random(4)));
        run.child.kill('SIGKILL');
        assert.equal(await run.exited, null, 'the child was killed, not finished');
        assert.ok(!run.lines.some((l) => l.startsWith('done')));
        lastCommitted = seqOf(run.lines.filter((l) => l.startsWith('committed')).at(-1));
        lastDurable = Math.max(
          lastDurable,
          seqOf(run.lines.filter((l) => l.startsWith('committed') && l.endsWith(' durable')).at(-1) ?? 'x 0'),
        );
        assert.ok(lastCommitted < COMMANDS);
      }
      const last = startChild(where);
      assert.equal(await last.exited, 0, last.lines.join('\n'));
      assert.ok(seqOf(last.lines[0]) >= (serverSide ? lastCommitted : lastDurable));
      assert.equal(last.lines.at(-1), `done ${COMMANDS}`);

      const adb = await openDatabase(where.startsWith('postgres') ? { url: where } : { dataDir: where });
      try {
        const got = await dumpHistory(adb.db);
        assert.equal(got.orders.length, reference.orders.length);
        assert.equal(got.ledger.length, reference.ledger.length);
        assert.deepEqual(got, reference, `differs from the uninterrupted run (kill seed ${killSeed})`);
      } finally {
        await adb.close();
      }
    });
  }
});
