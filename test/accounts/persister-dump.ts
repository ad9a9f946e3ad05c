/**
 * Everything the persister writes, read back in a fixed order: two databases hold the same
 * history exactly when their dumps are deep-equal (ledger ids included: the persister assigns
 * them, so a crash and a resume give the same ids as one uninterrupted run).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../accounts/db/schema.ts';

export async function dumpHistory(db: Kysely<Database>) {
  return {
    orders: await db.selectFrom('orders').selectAll().orderBy('orderId').execute(),
    trades: await db.selectFrom('trades').selectAll().orderBy('symbol').orderBy('tradeId').execute(),
    ledger: await db.selectFrom('ledger').selectAll().orderBy('id').execute(),
    balances: await db.selectFrom('balances').selectAll().orderBy('accountId').orderBy('asset').execute(),
    state: await db.selectFrom('persisterState').selectAll().orderBy('consumer').execute(),
    marks: await db.selectFrom('orderTimeMarks').selectAll().orderBy('orderId').execute(),
  };
}

export type HistoryDump = Awaited<ReturnType<typeof dumpHistory>>;
