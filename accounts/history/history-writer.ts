/**
 * Writes one batch of history rows in ONE transaction: orders (new ones inserted, earlier
 * ones updated by increments), trades, ledger entries, balance totals (upserted by
 * increments) and the consumer's last seq. Either all of it commits, with the last seq, or
 * none of it does, so a restart resumes after the last committed seq and writes nothing
 * twice.
 *
 * A batch is encoded first (`encodeBatch`, pure, done while the previous batch is being
 * written), then written (`writeBatch`). Appends (new orders, trades, ledger entries) go as
 * `COPY ... FROM STDIN` where the connection takes it (node-postgres), else as one
 * `insert ... select * from unnest($1::int8[], ...)` per table (PGlite); changes (order fills,
 * balance increments) are one statement over `unnest` of column arrays either way.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { BatchRows, MarketNames } from './batch-rows.ts';
import { CopyRows, copyIn } from './copy-in.ts';
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
): Promise<{ lastSeq: number; lastLedgerId: number; lastMarkMicros: number }> {
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
  // The ledger's ids are the whole ledger's, whichever consumer gave them out: the largest
  // any consumer recorded, or any row of ledger_entries holds (rows written without one).
  const given = await db
    .selectFrom('persisterState')
    .select((eb) => eb.fn.max('lastLedgerId').as('maxId'))
    .executeTakeFirst();
  const rows = await db
    .selectFrom('ledgerEntries')
    .select((eb) => eb.fn.max('id').as('maxId'))
    .executeTakeFirst();
  const mark = await db
    .selectFrom('orderTimeMarks')
    .select((eb) => eb.fn.max('createdMicros').as('at'))
    .executeTakeFirst();
  return {
    lastSeq: state?.lastSeq ?? 0,
    lastLedgerId: Math.max(Number(given?.maxId ?? 0), Number(rows?.maxId ?? 0)),
    lastMarkMicros: mark?.at == null ? -1 : Number(mark.at),
  };
}

/**
 * Records the listed markets' assets in `symbols`, where the view `ledger` reads a trade's
 * postings' assets. A symbol already there with other assets is refused: its trades' postings
 * would change under them.
 */
export async function recordSymbols(db: Kysely<Database>, names: MarketNames): Promise<void> {
  if (names.symbols.length === 0) return;
  await db
    .insertInto('symbols')
    .values(
      names.symbols.map((symbol, i) => ({ symbol, baseAsset: names.base[i]!, quoteAsset: names.quote[i]! })),
    )
    .onConflict((oc) => oc.column('symbol').doNothing())
    .execute();
  const stored = await db
    .selectFrom('symbols')
    .selectAll()
    .where('symbol', 'in', names.symbols as string[])
    .execute();
  const byName = new Map(stored.map((r) => [r.symbol, r] as const));
  names.symbols.forEach((symbol, i) => {
    const r = byName.get(symbol);
    if (r === undefined || r.baseAsset !== names.base[i] || r.quoteAsset !== names.quote[i]) {
      throw new PersisterStateError(
        `market ${symbol} is ${names.base[i]}/${names.quote[i]}, but its trades in the database are ${r?.baseAsset}/${r?.quoteAsset}`,
      );
    }
  });
}

/** One table's appended rows: COPY text, or one array literal per column for `unnest`. */
type Append = { readonly copy: Buffer } | { readonly arrays: readonly string[] };

/** A batch ready to write: its rows, and every statement's payload already built. */
export interface EncodedBatch {
  readonly rows: BatchRows;
  readonly newOrders: Append | null;
  /** Column arrays of the order changes (null: none). */
  readonly orderChanges: readonly string[] | null;
  readonly trades: Append | null;
  readonly ledger: Append | null;
  /** Column arrays of the balance increments (null: none). */
  readonly balances: readonly string[] | null;
  /** Column arrays of the order time marks (null: none). */
  readonly marks: readonly string[] | null;
}

/**
 * Builds every statement's payload for `rows`: COPY text when `copy`, else `unnest` arrays.
 * New orders and ledger entries are sent in the order of their user's index keys (user, then
 * id), so the B-tree inserts walk the leaves in order instead of jumping between them (about a
 * fifth less index work); ids, and so everything read back, are unchanged.
 */
export function encodeBatch(rows: BatchRows, copy: boolean): EncodedBatch {
  return {
    rows,
    newOrders: rows.newOrders.length === 0 ? null : encodeNewOrders(rows, copy),
    orderChanges: rows.orderChanges.length === 0 ? null : encodeOrderChanges(rows),
    trades: rows.trades.length === 0 ? null : encodeTrades(rows, copy),
    ledger: rows.ledger.id.length === 0 ? null : encodeLedger(rows, copy),
    balances: rows.balances.length === 0 ? null : encodeBalances(rows),
    marks:
      rows.orderMarks.orderId.length === 0
        ? null
        : [intArray(rows.orderMarks.orderId), intArray(rows.orderMarks.createdMicros)],
  };
}

/** How one batch is committed. */
export interface WriteOptions {
  /**
   * false: commit with `synchronous_commit = off` (the commit returns before its WAL is on
   * disk; a crash of the database can lose it, never half of it). The persister uses it for a
   * batch with more waiting behind it, and keeps progress reported to the core at the last
   * durable commit (see persister.ts).
   */
  readonly durable: boolean;
  /**
   * Set when the batch before this one is still being written (its transaction open): the
   * seq before that batch, which the database may still hold when this one starts, and that
   * batch's write, which must commit before this one takes the consumer's row lock (a lock
   * taken first would find the seq short and refuse).
   */
  readonly behind?: { readonly seq: number; readonly written: Promise<void> };
  /**
   * Runs once, when the largest statement (of the appends) is on its way to the server
   * and the server is busy with it: the caller's own synchronous work done there (folding and
   * encoding the next batch) overlaps the database's instead of holding up this write's next
   * statement.
   */
  readonly whileWriting?: () => void;
}

/**
 * Writes `batch` in one transaction, which commits only if the database's last seq is
 * `expectedLastSeq` (the end of the batch before it) under the consumer's row lock.
 *
 * Alone (no batch ahead of it in flight), the transaction takes the lock first: a second
 * persister of the same name waits there, then finds the seq moved on and is refused before
 * it writes anything.
 *
 * Behind a batch still being written (`behind`), on a second connection: its appends (new
 * orders, trades, ledger entries: rows no other batch writes) go in while that batch is being
 * written; once it has committed, this one takes the lock, checks the seq, and applies its
 * changes to rows the other may have changed (order fills, balances), the other's being
 * visible by then. If the batch ahead fails, this one rolls back. So batches commit one after
 * the other, in seq order, each exactly once; only their work overlaps.
 */
export async function writeBatch(
  db: Kysely<Database>,
  consumer: string,
  expectedLastSeq: number,
  batch: EncodedBatch,
  options: WriteOptions,
): Promise<void> {
  const rows = batch.rows;
  const behind = options.behind;
  const refuse = (stored: number) =>
    new PersisterStateError(
      `persister ${consumer}: the database says seq ${stored} was written last, this persister ${expectedLastSeq} (is another one running?)`,
    );
  await db.transaction().execute(async (trx) => {
    // The consumer's state, locked unless a batch ahead holds or will hold the lock (then only
    // a look, to refuse early when someone else has moved the seq). In the same round trip,
    // settings for this transaction only: the order updates join a batch's changes to the
    // orders table by primary key, and with hash and merge joins off the planner cannot pick a
    // scan of the whole table instead (its choice for a few thousand rows, which would make
    // every batch slower as orders grow); and the commit mode.
    const first = await sql<{ lastSeq: number }>`
      select last_seq, set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
        set_config('synchronous_commit', ${options.durable ? 'on' : 'off'}, true)
      from persister_state where consumer = ${consumer} ${sql.raw(behind === undefined ? 'for update' : '')}`.execute(
      trx,
    );
    const seen = first.rows[0]?.lastSeq ?? 0;
    if (seen !== expectedLastSeq && (behind === undefined || seen !== behind.seq)) throw refuse(seen);
    try {
      const appends: [AppendTarget, Append][] = [];
      if (batch.newOrders !== null) appends.push([NEW_ORDERS, batch.newOrders]);
      if (batch.trades !== null) appends.push([TRADES, batch.trades]);
      if (batch.ledger !== null) appends.push([LEDGER, batch.ledger]);
      // The caller's work overlaps the largest statement.
      let largest = -1;
      let largestBytes = -1;
      for (let i = 0; i < appends.length; i++) {
        const bytes = payloadBytes(appends[i]![1]);
        if (bytes > largestBytes) [largest, largestBytes] = [i, bytes];
      }
      for (let i = 0; i < appends.length; i++) {
        const written = append(trx, appends[i]![0], appends[i]![1]);
        if (i === largest && options.whileWriting !== undefined) {
          // Handled here so a failure while the callback runs is not an unhandled rejection;
          // the await below still throws it.
          written.catch(() => {});
          // One turn of the event loop: the statement is handed to the driver and written out.
          await new Promise<void>((resolve) => setImmediate(resolve));
          options.whileWriting();
        }
        await written;
      }
      if (largest < 0) options.whileWriting?.();
      if (batch.marks !== null) {
        await sql`insert into order_time_marks (order_id, created_micros)
          select * from unnest(${batch.marks[0]}::int8[], ${batch.marks[1]}::int8[])`.execute(trx);
      }
    } catch (e) {
      // The rows are there already: another writer of the same name got them in first.
      if ((e as { code?: unknown }).code === UNIQUE_VIOLATION) {
        throw new PersisterStateError(
          `persister ${consumer}: rows of seq ${rows.firstSeq}..${rows.lastSeq} are in the database already (is another one running?)`,
        );
      }
      throw e;
    }
    if (behind !== undefined) {
      // The batch ahead commits first (if it fails, this one rolls back with it); then the
      // lock, and the seq must be exactly the one expected.
      await behind.written;
      const state = await sql<{ lastSeq: number }>`
        select last_seq from persister_state where consumer = ${consumer} for update`.execute(trx);
      const stored = state.rows[0]?.lastSeq ?? 0;
      if (stored !== expectedLastSeq) throw refuse(stored);
    }
    if (batch.orderChanges !== null) await updateOrders(trx, rows, batch.orderChanges);
    if (batch.balances !== null) await upsertBalances(trx, batch.balances);
    await sql`
      insert into persister_state (consumer, last_seq, last_ledger_id) values (${consumer}, ${rows.lastSeq}, ${rows.nextLedgerId - 1})
      on conflict (consumer) do update set last_seq = excluded.last_seq, last_ledger_id = excluded.last_ledger_id`.execute(
      trx,
    );
  });
}

function payloadBytes(payload: Append): number {
  if ('copy' in payload) return payload.copy.length;
  let n = 0;
  for (const a of payload.arrays) n += a.length;
  return n;
}

/** SQLSTATE of a duplicate key. */
const UNIQUE_VIOLATION = '23505';

/** An append-only table: its name, its columns in payload order, and each column's array type. */
interface AppendTarget {
  readonly table: string;
  readonly columns: readonly (readonly [name: string, type: string])[];
}

const NEW_ORDERS: AppendTarget = {
  table: 'orders',
  columns: [
    ['order_id', 'int8'],
    ['user_id', 'int4'],
    ['symbol', 'text'],
    ['side', 'text'],
    ['type', 'text'],
    ['time_in_force', 'text'],
    ['stp_mode', 'text'],
    ['price_ticks', 'int8'],
    ['qty_lots', 'int8'],
    ['quote_qty_units', 'int8'],
    ['client_order_id', 'text'],
    ['status', 'text'],
    ['executed_lots', 'int8'],
    ['cum_quote_units', 'int8'],
    ['expiry_reason', 'text'],
    ['created_seq', 'int8'],
    ['updated_seq', 'int8'],
    ['created_micros', 'int8'],
    ['updated_micros', 'int8'],
  ],
};

const TRADES: AppendTarget = {
  table: 'trades',
  columns: [
    ['symbol', 'text'],
    ['trade_id', 'int8'],
    ['price_ticks', 'int8'],
    ['qty_lots', 'int8'],
    ['quote_units', 'int8'],
    ['buyer_user_id', 'int4'],
    ['seller_user_id', 'int4'],
    ['buyer_order_id', 'int8'],
    ['seller_order_id', 'int8'],
    ['taker_side', 'text'],
    ['buyer_fee_units', 'int8'],
    ['seller_fee_units', 'int8'],
    ['seq', 'int8'],
    ['ts_micros', 'int8'],
    ['ledger_id', 'int8'],
    ['base_units', 'int8'],
  ],
};

const LEDGER: AppendTarget = {
  table: 'ledger_entries',
  columns: [
    ['id', 'int8'],
    ['seq', 'int8'],
    ['account_id', 'int4'],
    ['asset', 'text'],
    ['amount_units', 'int8'],
    ['kind', 'text'],
    ['ref', 'text'],
    ['ts_micros', 'int8'],
  ],
};

/** The COPY target of each table (`orders (order_id, ...)`), built once. */
const COPY_TARGET = new Map<AppendTarget, string>(
  [NEW_ORDERS, TRADES, LEDGER].map((t) => [t, `${t.table} (${t.columns.map(([c]) => c).join(', ')})`]),
);

/**
 * Plain inserts (no ON CONFLICT): keyed by seq, a batch never repeats a row, and if one ever
 * did, failing the batch is right (crash-only) where skipping would hide the bug.
 */
async function append(trx: Transaction<Database>, target: AppendTarget, payload: Append): Promise<void> {
  if ('copy' in payload) {
    await copyIn(trx, COPY_TARGET.get(target)!, payload.copy);
    return;
  }
  const args = sql.join(payload.arrays.map((a, i) => sql`${a}::${sql.raw(target.columns[i]![1])}[]`));
  await sql`insert into ${sql.raw(COPY_TARGET.get(target)!)} select * from unnest(${args})`.execute(trx);
}

/** Room for a row index below the key in `orderBy`'s packed numbers. */
const INDEX_BITS = 2 ** 21;

/**
 * Indexes 0..n-1 ordered by `key` (a non-negative 31-bit integer after +1), ties by index: the
 * order rows are sent in. Key and index are packed into one number so that the sort is the
 * engine's native numeric one, not a call into JavaScript per comparison.
 */
function orderBy(n: number, key: (i: number) => number): ArrayLike<number> {
  if (n >= INDEX_BITS) {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => key(a) - key(b) || a - b);
  }
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = (key(i) + 1) * INDEX_BITS + i;
  packed.sort();
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[j] = packed[j]! % INDEX_BITS;
  return order;
}

function encodeNewOrders(rows: BatchRows, copy: boolean): Append {
  const o = rows.newOrders;
  const order = orderBy(o.length, (i) => o[i]!.userId);
  if (copy) {
    const w = new CopyRows(o.length * 160);
    for (let j = 0; j < o.length; j++) {
      const r = o[order[j]!]!;
      w.int(r.orderId);
      w.int(r.userId);
      w.text(r.symbol);
      w.text(r.side);
      w.text(r.type);
      w.text(r.timeInForce);
      w.text(r.stpMode);
      w.int(r.priceTicks);
      w.int(r.qtyLots);
      w.int(r.quoteQtyUnits);
      w.text(r.clientOrderId);
      w.text(r.status);
      w.int(r.executedLots);
      w.int(r.cumQuoteUnits);
      w.text(r.expiryReason);
      w.int(r.createdSeq);
      w.int(r.updatedSeq);
      w.int(r.createdMicros);
      w.int(r.updatedMicros);
      w.endRow();
    }
    return { copy: w.bytes() };
  }
  const sorted = Array.from(order, (i) => o[i]!);
  const col = <K extends keyof (typeof o)[number]>(k: K) => sorted.map((r) => r[k]);
  return {
    arrays: [
      intArray(col('orderId')),
      intArray(col('userId')),
      textArray(col('symbol')),
      textArray(col('side')),
      textArray(col('type')),
      textArray(col('timeInForce')),
      textArray(col('stpMode')),
      intArray(col('priceTicks')),
      intArray(col('qtyLots')),
      intArray(col('quoteQtyUnits')),
      textArray(col('clientOrderId')),
      textArray(col('status')),
      intArray(col('executedLots')),
      intArray(col('cumQuoteUnits')),
      textArray(col('expiryReason')),
      intArray(col('createdSeq')),
      intArray(col('updatedSeq')),
      intArray(col('createdMicros')),
      intArray(col('updatedMicros')),
    ],
  };
}

function encodeTrades(rows: BatchRows, copy: boolean): Append {
  const trades = rows.trades;
  const ledgerIds = rows.tradeLedgerIds;
  const baseUnits = rows.tradeBaseUnits;
  if (copy) {
    const w = new CopyRows(trades.length * 170);
    for (let i = 0; i < trades.length; i++) {
      const t = trades[i]!;
      w.text(t.symbol);
      w.int(t.tradeId);
      w.int(t.priceTicks);
      w.int(t.qtyLots);
      w.int(t.quoteUnits);
      w.int(t.buyerUserId);
      w.int(t.sellerUserId);
      w.int(t.buyerOrderId);
      w.int(t.sellerOrderId);
      w.text(t.takerSide);
      w.int(t.buyerFeeUnits);
      w.int(t.sellerFeeUnits);
      w.int(t.seq);
      w.int(t.tsMicros);
      w.int(ledgerIds[i]!);
      w.int(baseUnits[i]!);
      w.endRow();
    }
    return { copy: w.bytes() };
  }
  const col = <K extends keyof (typeof trades)[number]>(k: K) => trades.map((t) => t[k]);
  return {
    arrays: [
      textArray(col('symbol')),
      intArray(col('tradeId')),
      intArray(col('priceTicks')),
      intArray(col('qtyLots')),
      intArray(col('quoteUnits')),
      intArray(col('buyerUserId')),
      intArray(col('sellerUserId')),
      intArray(col('buyerOrderId')),
      intArray(col('sellerOrderId')),
      textArray(col('takerSide')),
      intArray(col('buyerFeeUnits')),
      intArray(col('sellerFeeUnits')),
      intArray(col('seq')),
      intArray(col('tsMicros')),
      intArray(ledgerIds),
      intArray(baseUnits),
    ],
  };
}

function encodeLedger(rows: BatchRows, copy: boolean): Append {
  const l = rows.ledger;
  const n = l.id.length;
  const order = orderBy(n, (i) => l.accountId[i]!);
  if (copy) {
    const w = new CopyRows(n * 100);
    for (let j = 0; j < n; j++) {
      const i = order[j]!;
      w.int(l.id[i]!);
      w.int(l.seq[i]!);
      w.int(l.accountId[i]!);
      w.text(l.asset[i]!);
      w.int(l.amountUnits[i]!);
      w.text(l.kind[i]!);
      w.text(l.ref[i]!);
      w.int(l.tsMicros[i]!);
      w.endRow();
    }
    return { copy: w.bytes() };
  }
  const pick = <T>(column: readonly T[]): T[] => Array.from(order, (i) => column[i]!);
  return {
    arrays: [
      intArray(pick(l.id)),
      intArray(pick(l.seq)),
      intArray(pick(l.accountId)),
      textArray(pick(l.asset)),
      intArray(pick(l.amountUnits)),
      textArray(pick(l.kind)),
      textArray(pick(l.ref)),
      intArray(pick(l.tsMicros)),
    ],
  };
}

/** In order id order: the join probes the primary key (and the heap) in order. */
function encodeOrderChanges(rows: BatchRows): string[] {
  const changes = rows.orderChanges;
  const order = orderBy(changes.length, (i) => changes[i]!.orderId);
  const c = Array.from(order, (i) => changes[i]!);
  const col = <K extends keyof (typeof c)[number]>(k: K) => c.map((r) => r[k]);
  return [
    intArray(col('orderId')),
    intArray(col('executedLots')),
    intArray(col('cumQuoteUnits')),
    textArray(col('status')),
    nullableIntArray(col('priceTicks')),
    nullableIntArray(col('qtyLots')),
    textArray(col('clientOrderId')),
    textArray(col('expiryReason')),
    intArray(col('updatedSeq')),
    intArray(col('updatedMicros')),
  ];
}

function encodeBalances(rows: BatchRows): string[] {
  const b = rows.balances;
  return [
    intArray(b.map((x) => x.accountId)),
    textArray(b.map((x) => x.asset)),
    intArray(b.map((x) => x.deltaUnits)),
    intArray(b.map((x) => x.updatedSeq)),
  ];
}

async function updateOrders(
  trx: Transaction<Database>,
  rows: BatchRows,
  a: readonly string[],
): Promise<void> {
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
    from unnest(${a[0]}::int8[], ${a[1]}::int8[], ${a[2]}::int8[], ${a[3]}::text[], ${a[4]}::int8[],
      ${a[5]}::int8[], ${a[6]}::text[], ${a[7]}::text[], ${a[8]}::int8[], ${a[9]}::int8[])
      as u(order_id, executed_lots, cum_quote_units, status, price_ticks, qty_lots, client_order_id,
        expiry_reason, updated_seq, updated_micros)
    where o.order_id = u.order_id`.execute(trx);
  const updated = Number(result.numAffectedRows ?? 0n);
  const expected = rows.orderChanges.length;
  if (updated !== expected) {
    // An event about an order the database never saw: the history has a hole before this batch.
    throw new PersisterStateError(
      `seq ${rows.firstSeq}..${rows.lastSeq}: ${expected - updated} of ${expected} orders changed by the batch are not in the database`,
    );
  }
}

async function upsertBalances(trx: Transaction<Database>, a: readonly string[]): Promise<void> {
  await sql`
    insert into balances (account_id, asset, total_units, updated_seq)
    select * from unnest(${a[0]}::int4[], ${a[1]}::text[], ${a[2]}::int8[], ${a[3]}::int8[])
    on conflict (account_id, asset) do update
      set total_units = balances.total_units + excluded.total_units, updated_seq = excluded.updated_seq`.execute(
    trx,
  );
}
