/**
 * A trade's ledger postings are read from its trade row instead of being written as six rows
 * of their own.
 *
 * A trade's six postings (base: buyer +(base - buyer fee), seller -base, fee account +buyer
 * fee; quote: buyer -quote, seller +(quote - seller fee), fee account +seller fee) are a pure
 * function of the trade row and the symbol's two assets. Writing them as rows of
 * `ledger_entries` was about 45% of the persister's server time per trade (six heap tuples and
 * twelve index entries for one trade). Now:
 *
 * - `trades.ledger_id` is the id of the trade's first posting, `trades.base_units` its base
 *   amount in units (the rest was there already). The postings of zero units are left out,
 *   and the others take consecutive ids from `ledger_id` in the order above: the very ids the
 *   persister gave the rows before. Null `ledger_id`: a trade whose postings are rows of
 *   `ledger_entries` (written before this migration), or a trade the trade store wrote
 *   without postings (`putTrades`).
 * - `symbols` (symbol, base asset, quote asset): the persister keeps it in step with the
 *   listed markets when it opens.
 * - The view `ledger` is the whole ledger, as `ledger_entries` was: its rows (deposits,
 *   withdrawals, and the postings of trades from before) and every trade's postings, with the
 *   same columns.
 * - `trades (buyer_user_id, ledger_id)` and `(seller_user_id, ledger_id)`: a user's ledger
 *   page reads the user's trades in ledger order (history.queries.ts). Partial: rows without
 *   postings of their own are not in them.
 * - `persister_state.last_ledger_id`: the last ledger id the consumer gave out, written with
 *   each batch (the ids are no longer all in `ledger_entries` to take a max of).
 *
 * Existing rows are left as they are (nothing is rewritten). `down` writes the postings of the
 * trades back as rows of `ledger_entries`, then drops what `up` made.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

/**
 * Every posting of the trades with a `ledger_id` (`t`, joined with `s` from `symbols`):
 * id, seq, account_id, asset, amount_units, kind, ref, ts_micros. Each posting's id is
 * `ledger_id` plus the number of non-zero postings before it.
 */
const TRADE_POSTINGS = sql`
  select t.ledger_id + p.o as id, t.seq, p.account_id, p.asset, p.amount_units, p.kind,
    'trade:' || t.symbol || ':' || t.trade_id as ref, t.ts_micros
  from trades t
  join symbols s on s.symbol = t.symbol
  cross join lateral (
    select t.base_units - t.buyer_fee_units as a0, -t.base_units as a1, t.buyer_fee_units as a2,
      -t.quote_units as a3, t.quote_units - t.seller_fee_units as a4, t.seller_fee_units as a5
  ) a
  cross join lateral (
    values
      (0, t.buyer_user_id, s.base_asset, a.a0, 'TRADE'),
      ((a.a0 <> 0)::int, t.seller_user_id, s.base_asset, a.a1, 'TRADE'),
      ((a.a0 <> 0)::int + (a.a1 <> 0)::int, 0, s.base_asset, a.a2, 'FEE'),
      ((a.a0 <> 0)::int + (a.a1 <> 0)::int + (a.a2 <> 0)::int, t.buyer_user_id, s.quote_asset, a.a3, 'TRADE'),
      ((a.a0 <> 0)::int + (a.a1 <> 0)::int + (a.a2 <> 0)::int + (a.a3 <> 0)::int,
        t.seller_user_id, s.quote_asset, a.a4, 'TRADE'),
      ((a.a0 <> 0)::int + (a.a1 <> 0)::int + (a.a2 <> 0)::int + (a.a3 <> 0)::int + (a.a4 <> 0)::int,
        0, s.quote_asset, a.a5, 'FEE')
  ) p (o, account_id, asset, amount_units, kind)
  where t.ledger_id is not null and p.amount_units <> 0`;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('symbols')
    .addColumn('symbol', 'text', (c) => c.primaryKey())
    .addColumn('base_asset', 'text', (c) => c.notNull())
    .addColumn('quote_asset', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('trades').addColumn('ledger_id', 'int8').execute();
  await db.schema.alterTable('trades').addColumn('base_units', 'int8').execute();
  await sql`alter table trades add constraint trades_postings check ((ledger_id is null) = (base_units is null))`.execute(
    db,
  );
  await sql`create index trades_buyer_ledger on trades (buyer_user_id, ledger_id) where ledger_id is not null`.execute(
    db,
  );
  await sql`create index trades_seller_ledger on trades (seller_user_id, ledger_id) where ledger_id is not null`.execute(
    db,
  );
  await db.schema
    .alterTable('persister_state')
    .addColumn('last_ledger_id', 'int8', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update persister_state set last_ledger_id = (select coalesce(max(id), 0) from ledger_entries)`.execute(
    db,
  );
  await sql`
    create view ledger as
    select id, seq, account_id, asset, amount_units, kind, ref, ts_micros from ledger_entries
    union all
    ${TRADE_POSTINGS}`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`
    insert into ledger_entries (id, seq, account_id, asset, amount_units, kind, ref, ts_micros)
    ${TRADE_POSTINGS}`.execute(db);
  await sql`drop view ledger`.execute(db);
  await db.schema.alterTable('persister_state').dropColumn('last_ledger_id').execute();
  await db.schema.dropIndex('trades_seller_ledger').execute();
  await db.schema.dropIndex('trades_buyer_ledger').execute();
  await sql`alter table trades drop constraint trades_postings`.execute(db);
  await db.schema.alterTable('trades').dropColumn('base_units').execute();
  await db.schema.alterTable('trades').dropColumn('ledger_id').execute();
  await db.schema.dropTable('symbols').execute();
}
