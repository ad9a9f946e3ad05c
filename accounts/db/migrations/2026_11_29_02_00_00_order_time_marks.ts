/**
 * `allOrders` by time without the `orders (user_id, created_micros)` index.
 *
 * That index took a random B-tree insert for every new order (about 10 µs of the server's CPU
 * per trade in the persister benchmark, 1.5 new orders per trade: 15% of it). A time window
 * is now turned into an order id range first, through `order_time_marks`: the persister writes
 * the first order it writes in each second of creation time (at most 86,400 rows a day, one
 * insert per batch at most), and the window's orders are read by the `(user_id, symbol,
 * order_id)` index within that range, then filtered by their exact creation time.
 *
 * The range is exact as long as creation times do not go back as order ids go up, which the
 * core's clock holds within a run (engine/runtime/wall-clock.ts): the trade store's time index
 * makes the same assumption for trades (history.queries.ts, `userOrders`).
 *
 * `up` makes the table, marks the orders already written (the first of each second), and
 * drops the index; `down` makes the index again and drops the table.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('order_time_marks')
    .addColumn('order_id', 'int8', (c) => c.primaryKey())
    .addColumn('created_micros', 'int8', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('order_time_marks_time')
    .on('order_time_marks')
    .column('created_micros')
    .execute();
  await sql`
    insert into order_time_marks (order_id, created_micros)
    select distinct on (created_micros / 1000000) order_id, created_micros from orders
    order by created_micros / 1000000, order_id`.execute(db);
  await db.schema.dropIndex('orders_user_time').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema
    .createIndex('orders_user_time')
    .on('orders')
    .columns(['user_id', 'created_micros'])
    .execute();
  await db.schema.dropTable('order_time_marks').execute();
}
