/**
 * COPY for the persister's appends: `CopyRows` writes COPY text that PostgreSQL reads back as
 * the very values written (escapes, NULL, negative and 53-bit integers, text beyond ASCII),
 * checked on PGlite (COPY from a blob) and, with DATABASE_URL, on the server through `copyIn`;
 * `copySupported` says no for PGlite without sending it anything it cannot take; a failing COPY
 * rejects and leaves the connection usable.
 */
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { openDatabase, parseInt8 } from '../../accounts/db/database.ts';
import { pgliteDialect } from '../../accounts/db/pglite-dialect.ts';
import { CopyRows, copyIn, copySupported } from '../../accounts/history/copy-in.ts';

const ROWS: [number, number | null, string | null][] = [
  [0, 0, ''],
  [1, -1, 'plain'],
  [2, Number.MAX_SAFE_INTEGER, 'tab\there'],
  [3, -Number.MAX_SAFE_INTEGER, 'new\nline and \r return'],
  [4, 1_750_000_000_123_456, 'back\\slash \\N \\t'],
  [5, null, null],
  [6, 10, 'NULL'],
  [7, 9, 'ünïcødé ✓ 𝄞 with a\ttab'],
  [8, 4_294_967_296, '\\'],
];

function encode(rows: typeof ROWS): CopyRows {
  const w = new CopyRows(8); // tiny: it must grow
  for (const [id, n, t] of rows) {
    w.int(id);
    w.nullableInt(n);
    w.text(t);
    w.endRow();
  }
  return w;
}

const TABLE = 'create temp table copy_check (id int8 primary key, n int8, t text)';

describe('COPY text for the persister', () => {
  let lite: PGlite;
  before(async () => {
    lite = await PGlite.create({ parsers: { 20: parseInt8 } });
    await lite.exec(TABLE);
  });
  after(() => lite.close());

  it('reads back as written on PGlite', async () => {
    const w = encode(ROWS);
    assert.equal(w.rows, ROWS.length);
    await lite.query(`copy copy_check from '/dev/blob'`, [], { blob: new Blob([w.bytes()]) });
    const got = await lite.query<{ id: number; n: number | null; t: string | null }>(
      'select id, n, t from copy_check order by id',
    );
    assert.deepEqual(
      got.rows.map((r) => [r.id, r.n, r.t]),
      ROWS,
    );
  });

  it('refuses an integer that is not safe', () => {
    const w = new CopyRows();
    assert.throws(() => w.int(2 ** 53), RangeError);
    assert.throws(() => w.int(1.5), RangeError);
    assert.throws(() => w.int(Number.NaN), RangeError);
  });

  it('copySupported: not PGlite, which is asked nothing it cannot take', async () => {
    const db = new Kysely<Record<string, never>>({ dialect: pgliteDialect(lite) });
    assert.equal(await copySupported(db, 'copy_check'), false);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    assert.deepEqual(rows, [{ one: 1 }]);
  });

  if (process.env.DATABASE_URL) {
    it('on the server: copySupported, copyIn writes the rows, a failing COPY rejects and the connection goes on', async () => {
      const adb = await openDatabase({ url: process.env.DATABASE_URL!, migrate: false, poolSize: 1 });
      try {
        await adb.db.transaction().execute(async (trx) => {
          await sql.raw(`${TABLE} on commit drop`).execute(trx);
          assert.equal(await copySupported(trx, 'copy_check'), true);
          assert.equal(await copyIn(trx, 'copy_check (id, n, t)', encode(ROWS).bytes()), ROWS.length);
          const got = await sql<{ id: number; n: number | null; t: string | null }>`
            select id, n, t from copy_check order by id`.execute(trx);
          assert.deepEqual(
            got.rows.map((r) => [r.id, r.n, r.t]),
            ROWS,
          );
        });
        // More than one CopyData message's worth (256 KiB).
        await adb.db.transaction().execute(async (trx) => {
          await sql.raw(`${TABLE} on commit drop`).execute(trx);
          const w = new CopyRows();
          for (let i = 1; i <= 30_000; i++) {
            w.int(i);
            w.int(i * 7);
            w.text(`row ${i} of a long enough text`);
            w.endRow();
          }
          assert.ok(w.bytes().length > 3 * 256 * 1024);
          assert.equal(await copyIn(trx, 'copy_check (id, n, t)', w.bytes()), 30_000);
          const { rows } = await sql<{ count: string; sum: string; last: string }>`
            select count(*)::text as count, sum(n)::text as sum, max(t) filter (where id = 30000) as last
            from copy_check`.execute(trx);
          assert.deepEqual(rows[0], {
            count: '30000',
            sum: String((7 * 30_000 * 30_001) / 2),
            last: 'row 30000 of a long enough text',
          });
        });
        await assert.rejects(
          adb.db.transaction().execute(async (trx) => {
            await sql.raw(`${TABLE} on commit drop`).execute(trx);
            await copyIn(trx, 'copy_check (id, n, t)', Buffer.from('1\tnot a number\tx\n'));
          }),
          /invalid input syntax for type bigint/,
        );
        const { rows } = await sql<{ one: number }>`select 1 as one`.execute(adb.db);
        assert.deepEqual(rows, [{ one: 1 }]);
      } finally {
        await adb.close();
      }
    });
  }
});
