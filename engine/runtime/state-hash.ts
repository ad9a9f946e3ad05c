/**
 * The state hash: SHA-256 over the ledger (every account's balances and fee rates, every
 * hold, every pending withdrawal) and every book (orders in priority order, id counters),
 * serialised canonically. Computed from the exported states, so the live core, a snapshot
 * and a replay all hash the same way.
 */
import { createHash } from 'node:crypto';
import type { BookState } from '../book/order-book.ts';
import type { RiskState } from './risk.ts';

/** Hex SHA-256 of the ledger and the books (books in symbol id order). */
export function hashState(risk: RiskState, books: readonly BookState[]): string {
  const h = createHash('sha256');
  // Accounts in user id order, whatever order they were created in.
  const order = risk.users.map((_, i) => i).sort((a, b) => risk.users[a]! - risk.users[b]!);
  const assets = risk.users.length === 0 ? 0 : risk.free.length / risk.users.length;
  for (const s of order) {
    const row = [risk.users[s], risk.makerPpm[s], risk.takerPpm[s]];
    for (let a = 0; a < assets; a++) row.push(risk.free[s * assets + a], risk.locked[s * assets + a]);
    h.update(`${row.join(',')};`);
  }
  h.update(JSON.stringify(risk.holds));
  h.update(JSON.stringify([...risk.withdrawals].sort((a, b) => a[0] - b[0])));
  for (const b of books) h.update(JSON.stringify(b));
  return h.digest('hex');
}
