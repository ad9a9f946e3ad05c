/**
 * The trade store over PostgreSQL (or PGlite): the `trades` table the persister writes.
 * Indexes used: the primary key (symbol, trade_id) for a symbol's trades, trades_buyer and
 * trades_seller (user, symbol, trade_id) for a user's, trades_time (symbol, ts_micros) to turn
 * a time into a trade id.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { intArray, textArray } from '../history/sql-arrays.ts';
import {
  checkSymbolTradesQuery,
  checkUserTradesQuery,
  inWindow,
  mergeUserSides,
  planRead,
  type ReadPlan,
  type TimeIndex,
} from './trade-query.ts';
import type { TradeRecord, TradeStore, UserTrade } from './trade-store.port.ts';

/** Writes trades (already-stored ones are skipped) in one statement per call. */
export async function insertTrades(db: Kysely<Database>, trades: readonly TradeRecord[]): Promise<void> {
  if (trades.length === 0) return;
  const col = <K extends keyof TradeRecord>(k: K) => trades.map((t) => t[k]);
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
      ${intArray(col('seq'))}::int8[], ${intArray(col('tsMicros'))}::int8[])
    on conflict (symbol, trade_id) do nothing`.execute(db);
}

function timeIndex(db: Kysely<Database>): TimeIndex {
  return {
    async firstIdAtOrAfter(symbol, micros) {
      const row = await db
        .selectFrom('trades')
        .select('tradeId')
        .where('symbol', '=', symbol)
        .where('tsMicros', '>=', micros)
        .orderBy('tsMicros')
        .orderBy('tradeId')
        .limit(1)
        .executeTakeFirst();
      return row?.tradeId;
    },
    async lastIdAtOrBefore(symbol, micros) {
      const row = await db
        .selectFrom('trades')
        .select('tradeId')
        .where('symbol', '=', symbol)
        .where('tsMicros', '<=', micros)
        .orderBy('tsMicros', 'desc')
        .orderBy('tradeId', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.tradeId;
    },
  };
}

type Side = 'buyer' | 'seller';

/** The columns of a TradeRecord (the table has the persister's ledger columns besides). */
const TRADE_RECORD = [
  'symbol',
  'tradeId',
  'priceTicks',
  'qtyLots',
  'quoteUnits',
  'buyerUserId',
  'sellerUserId',
  'buyerOrderId',
  'sellerOrderId',
  'takerSide',
  'buyerFeeUnits',
  'sellerFeeUnits',
  'seq',
  'tsMicros',
] as const satisfies readonly (keyof TradeRecord)[];

/** One read of the plan's id range: a symbol's trades, or one user's trades from one side. */
async function readRange(
  db: Kysely<Database>,
  symbol: string,
  plan: ReadPlan,
  side?: { side: Side; userId: number; orderId: number | undefined },
): Promise<TradeRecord[]> {
  let q = db.selectFrom('trades').select(TRADE_RECORD).where('symbol', '=', symbol);
  if (side !== undefined) {
    q = q.where(side.side === 'buyer' ? 'buyerUserId' : 'sellerUserId', '=', side.userId);
    if (side.orderId !== undefined) {
      q = q.where(side.side === 'buyer' ? 'buyerOrderId' : 'sellerOrderId', '=', side.orderId);
    }
  }
  if (plan.loId !== undefined) q = q.where('tradeId', '>=', plan.loId);
  if (plan.hiId !== undefined) q = q.where('tradeId', '<=', plan.hiId);
  if (plan.startMicros !== undefined) q = q.where('tsMicros', '>=', plan.startMicros);
  if (plan.endMicros !== undefined) q = q.where('tsMicros', '<=', plan.endMicros);
  const rows = (await q
    .orderBy('tradeId', plan.newest ? 'desc' : 'asc')
    .limit(plan.limit)
    .execute()) as TradeRecord[];
  if (plan.newest) rows.reverse();
  return rows.filter((t) => inWindow(t, plan));
}

/** The trade store over the accounts database. */
export function postgresTradeStore(db: Kysely<Database>): TradeStore {
  const index = timeIndex(db);
  return {
    putTrades: (trades) => insertTrades(db, trades),
    async symbolTrades(query) {
      const q = checkSymbolTradesQuery(query);
      const plan = await planRead(q, index);
      return plan === null ? [] : readRange(db, q.symbol, plan);
    },
    async userTrades(query): Promise<UserTrade[]> {
      const q = checkUserTradesQuery(query);
      const plan = await planRead(q, index);
      if (plan === null) return [];
      const [asBuyer, asSeller] = await Promise.all([
        readRange(db, q.symbol, plan, { side: 'buyer', userId: q.userId, orderId: q.orderId }),
        readRange(db, q.symbol, plan, { side: 'seller', userId: q.userId, orderId: q.orderId }),
      ]);
      return mergeUserSides(asBuyer, asSeller, q.userId, q.limit, plan.newest);
    },
  };
}
