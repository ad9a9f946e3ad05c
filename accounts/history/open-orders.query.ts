/**
 * The open orders as the persister has written them, for a gateway that starts while orders
 * rest on the books: it seeds its order view from here, then applies the event stream after
 * the seq this answer stands at.
 *
 * `committedSeq` is the persister's progress (persister_state, written in the same
 * transaction as each batch's rows), cheap enough to poll while a gateway waits for the
 * persister to catch up with its event stream. `openOrdersAtSeq` reads that progress and every
 * order still open (NEW or PARTIALLY_FILLED) in one repeatable-read transaction: the rows are
 * exactly those of the batches up to `seq`, never half of a later one. Both work from any
 * process that reaches the database.
 *
 * Cost: one scan of `orders` (no index leads by status: a start-up read, not a request path).
 */
import type { Kysely } from 'kysely';
import type { Database, OrderRow } from '../db/schema.ts';

/** The statuses of an order that can still trade. */
export const OPEN_ORDER_STATUSES = ['NEW', 'PARTIALLY_FILLED'] as const;

/** Every open order and the persister's committed seq they are consistent with. */
export interface OpenOrdersAtSeq {
  /** The last seq the persister committed: the rows reflect every command up to it and none after. */
  readonly seq: number;
  /** Open orders of every user and symbol, in order id order. */
  readonly orders: OrderRow[];
}

/** The last seq the persister `consumer` (default "history") committed; 0 before its first batch. */
export async function committedSeq(db: Kysely<Database>, consumer = 'history'): Promise<number> {
  const row = await db
    .selectFrom('persisterState')
    .select('lastSeq')
    .where('consumer', '=', consumer)
    .executeTakeFirst();
  return row?.lastSeq ?? 0;
}

/** Every open order with the committed seq of `consumer`, read in one snapshot. */
export function openOrdersAtSeq(db: Kysely<Database>, consumer = 'history'): Promise<OpenOrdersAtSeq> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const seq = await committedSeq(trx, consumer);
      const orders = await trx
        .selectFrom('orders')
        .selectAll()
        .where('status', 'in', [...OPEN_ORDER_STATUSES])
        .orderBy('orderId')
        .execute();
      return { seq, orders };
    });
}
