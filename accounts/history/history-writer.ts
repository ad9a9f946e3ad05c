/**
 * Writes one batch of history rows in ONE transaction: orders (new ones inserted, earlier
 * ones updated by increments), trades, ledger entries, balance totals (upserted by
 * increments) and the consumer's last seq. Either all of it commits, with the last seq, or
 * none of it does, so a restart resumes after the last committed seq and writes nothing
 * twice. Every table is written by one statement over `unnest` of column arrays.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { BatchRows } from './batch-rows.ts';
import { intArray, nullableIntArray, textArray } from './sql-arrays.ts';

/** Thrown when the database disagrees with the persister about what was written. */
export class PersisterStateError extends Error {
  override readonly name = 'PersisterStateError';
}

/**
 * The last seq a consumer has written (0 for none) and the last ledger id (0 for none). Makes
 * the consumer's state row if it has none: the row is what each batch locks, so it must exist
 * before two writers can race on it.
 */
export async function readProgress(
  db: Kysely<Database>,
  consumer: string,
): Promise<{ lastSeq: number; lastLedgerId: number }> {
  await db
    .insertInto('persisterState')
    .values({ consumer, lastSeq: 0 })
    .onConflict((oc) => oc.column('consumer').doNothing())
    .execute();
  const state = await db
    .selectFrom('persisterState')
    .select('lastSeq')
    .where('consumer', '=', consumer)
    .executeTakeFirst();
  const ledger = await db
    .selectFrom('ledgerEntries')
    .select((eb) => eb.fn.max('id').as('maxId'))
    .executeTakeFirst();
  return { lastSeq: state?.lastSeq ?? 0, lastLedgerId: Number(ledger?.maxId ?? 0) };
}

/**
 * Writes `rows` in one transaction, after checking that nobody else wrote past
 * `expectedLastSeq`. `whileWriting` runs once the largest statement (the ledger entries) is on
 * its way to the server, while the server works on it: the caller's own work done there (the
 * next batch's fold) overlaps the database's instead of following it.
 */
export async function writeBatch(
  db: Kysely<Database>,
  consumer: string,
  expectedLastSeq: number,
  rows: BatchRows,
  whileWriting?: () => void,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Row lock on the consumer's state: a second persister of the same name waits here and
    // then finds the seq moved on, instead of writing the same events again.
    const state = await sql<{ lastSeq: number }>`
      select last_seq from persister_state where consumer = ${consumer} for update`.execute(trx);
    const stored = state.rows[0]?.lastSeq ?? 0;
    if (stored !== expectedLastSeq) {
      throw new PersisterStateError(
        `persister ${consumer}: the database says seq ${stored} was written last, this persister ${expectedLastSeq} (is another one running?)`,
      );
    }
    // The order updates join a batch's changes to the orders table by primary key: with
    // these off the planner cannot pick a hash join over a scan of the whole table (its
    // choice for a few thousand rows), which would make every batch slower as orders grow.
    await sql`select set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`.execute(
      trx,
    );
    await insertOrders(trx, rows);
    await updateOrders(trx, rows);
    await insertTrades(trx, rows.trades);
    const ledger = insertLedger(trx, rows);
    if (whileWriting !== undefined) {
      // Handled here so a failure while the callback runs is not an unhandled rejection;
      // the await below still throws it.
      ledger.catch(() => {});
      // One turn of the event loop: the statement is handed to the driver and written out.
      await new Promise<void>((resolve) => setImmediate(resolve));
      whileWriting();
    }
    await ledger;
    await upsertBalances(trx, rows);
    await sql`
      insert into persister_state (consumer, last_seq) values (${consumer}, ${rows.lastSeq})
      on conflict (consumer) do update set last_seq = excluded.last_seq`.execute(trx);
  });
}

async function insertOrders(trx: Transaction<Database>, rows: BatchRows): Promise<void> {
  const o = rows.newOrders;
  if (o.length === 0) return;
  const col = <K extends keyof (typeof o)[number]>(k: K) => o.map((r) => r[k]);
  await sql`
    insert into orders (order_id, user_id, symbol, side, type, time_in_force, stp_mode, price_ticks,
      qty_lots, quote_qty_units, client_order_id, status, executed_lots, cum_quote_units, expiry_reason,
      created_seq, updated_seq, created_micros, updated_micros)
    select * from unnest(${intArray(col('orderId'))}::int8[], ${intArray(col('userId'))}::int4[],
      ${textArray(col('symbol'))}::text[], ${textArray(col('side'))}::text[], ${textArray(col('type'))}::text[],
      ${textArray(col('timeInForce'))}::text[], ${textArray(col('stpMode'))}::text[],
      ${intArray(col('priceTicks'))}::int8[], ${intArray(col('qtyLots'))}::int8[],
      ${intArray(col('quoteQtyUnits'))}::int8[], ${textArray(col('clientOrderId'))}::text[],
      ${textArray(col('status'))}::text[], ${intArray(col('executedLots'))}::int8[],
      ${intArray(col('cumQuoteUnits'))}::int8[], ${textArray(col('expiryReason'))}::text[],
      ${intArray(col('createdSeq'))}::int8[], ${intArray(col('updatedSeq'))}::int8[],
      ${intArray(col('createdMicros'))}::int8[], ${intArray(col('updatedMicros'))}::int8[])`.execute(trx);
}

async function updateOrders(trx: Transaction<Database>, rows: BatchRows): Promise<void> {
  const c = rows.orderChanges;
  if (c.length === 0) return;
  const col = <K extends keyof (typeof c)[number]>(k: K) => c.map((r) => r[k]);
  const result = await sql`
    update orders as o set
      executed_lots = o.executed_lots + u.executed_lots,
      cum_quote_units = o.cum_quote_units + u.cum_quote_units,
      status = coalesce(u.status,
        case when o.executed_lots + u.executed_lots > 0 then 'PARTIALLY_FILLED' else 'NEW' end),
      price_ticks = coalesce(u.price_ticks, o.price_ticks),
      qty_lots = coalesce(u.qty_lots, o.qty_lots),
      client_order_id = coalesce(u.client_order_id, o.client_order_id),
      expiry_reason = coalesce(u.expiry_reason, o.expiry_reason),
      updated_seq = u.updated_seq,
      updated_micros = u.updated_micros
    from unnest(${intArray(col('orderId'))}::int8[], ${intArray(col('executedLots'))}::int8[],
      ${intArray(col('cumQuoteUnits'))}::int8[], ${textArray(col('status'))}::text[],
      ${nullableIntArray(col('priceTicks'))}::int8[], ${nullableIntArray(col('qtyLots'))}::int8[],
      ${textArray(col('clientOrderId'))}::text[], ${textArray(col('expiryReason'))}::text[],
      ${intArray(col('updatedSeq'))}::int8[], ${intArray(col('updatedMicros'))}::int8[])
      as u(order_id, executed_lots, cum_quote_units, status, price_ticks, qty_lots, client_order_id,
        expiry_reason, updated_seq, updated_micros)
    where o.order_id = u.order_id`.execute(trx);
  const updated = Number(result.numAffectedRows ?? 0n);
  if (updated !== c.length) {
    // An event about an order the database never saw: the history has a hole before this batch.
    throw new PersisterStateError(
      `seq ${rows.firstSeq}..${rows.lastSeq}: ${c.length - updated} of ${c.length} orders changed by the batch are not in the database`,
    );
  }
}

/**
 * Plain inserts (no ON CONFLICT): keyed by seq, a batch never repeats a trade, and if one
 * ever did, failing the batch is right (crash-only) where skipping would hide the bug.
 */
async function insertTrades(trx: Transaction<Database>, trades: BatchRows['trades']): Promise<void> {
  if (trades.length === 0) return;
  const col = <K extends keyof (typeof trades)[number]>(k: K) => trades.map((t) => t[k]);
  await sql`
    insert into trades (symbol, trade_id, price_ticks, qty_lots, quote_units, buyer_user_id,
      seller_user_id, buyer_order_id, seller_order_id, taker_side, buyer_fee_units, seller_fee_units,
      seq, ts_micros)
    select * from unnest(${textArray(col('symbol'))}::text[], ${intArray(col('tradeId'))}::int8[],
      ${intArray(col('priceTicks'))}::int8[], ${intArray(col('qtyLots'))}::int8[],
      ${intArray(col('quoteUnits'))}::int8[], ${intArray(col('buyerUserId'))}::int4[],
      ${intArray(col('sellerUserId'))}::int4[], ${intArray(col('buyerOrderId'))}::int8[],
      ${intArray(col('sellerOrderId'))}::int8[], ${textArray(col('takerSide'))}::text[],
      ${intArray(col('buyerFeeUnits'))}::int8[], ${intArray(col('sellerFeeUnits'))}::int8[],
      ${intArray(col('seq'))}::int8[], ${intArray(col('tsMicros'))}::int8[])`.execute(trx);
}

async function insertLedger(trx: Transaction<Database>, rows: BatchRows): Promise<void> {
  const l = rows.ledger;
  if (l.id.length === 0) return;
  await sql`
    insert into ledger_entries (id, seq, account_id, asset, amount_units, kind, ref, ts_micros)
    select * from unnest(${intArray(l.id)}::int8[], ${intArray(l.seq)}::int8[],
      ${intArray(l.accountId)}::int4[], ${textArray(l.asset)}::text[], ${intArray(l.amountUnits)}::int8[],
      ${textArray(l.kind)}::text[], ${textArray(l.ref)}::text[], ${intArray(l.tsMicros)}::int8[])`.execute(
    trx,
  );
}

async function upsertBalances(trx: Transaction<Database>, rows: BatchRows): Promise<void> {
  const b = rows.balances;
  if (b.length === 0) return;
  await sql`
    insert into balances (account_id, asset, total_units, updated_seq)
    select * from unnest(${intArray(b.map((x) => x.accountId))}::int4[], ${textArray(b.map((x) => x.asset))}::text[],
      ${intArray(b.map((x) => x.deltaUnits))}::int8[], ${intArray(b.map((x) => x.updatedSeq))}::int8[])
    on conflict (account_id, asset) do update
      set total_units = balances.total_units + excluded.total_units, updated_seq = excluded.updated_seq`.execute(
    trx,
  );
}
