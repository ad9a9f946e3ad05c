/**
 * The ledger check: the books the persister keeps must agree with the engine, and with
 * themselves. Three comparisons, all read in one repeatable-read transaction (one snapshot):
 *
 *   engine      the balance projection at the engine's seq S (the projection less every
 *               ledger entry after S) equals the engine's free + locked, per account and asset
 *   ledger      the ledger entries summed per account and asset equal the projection
 *   postings    the entries of every posting (seq, ref) sum to zero per asset
 *
 * It first waits until the persister has written S. Cost: two aggregates over the whole
 * ledger: an operator command, not a request path.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import type { EnginePort } from '../ports/engine.port.ts';

/** One disagreement. `expectedUnits` is the reference side: the engine, or the ledger. */
export interface LedgerDifference {
  readonly kind: 'engine_vs_projection' | 'ledger_vs_projection' | 'unbalanced_posting';
  /** The account (null for a posting). */
  readonly accountId: number | null;
  readonly asset: string;
  /** engine_vs_projection: the engine's total; ledger_vs_projection: the ledger's sum; a posting: 0. */
  readonly expectedUnits: number;
  /** The projection's total, or the posting's sum. */
  readonly actualUnits: number;
  /** The posting (unbalanced_posting only). */
  readonly seq?: number;
  readonly ref?: string;
}

/** The check's outcome: `differences` empty means the books agree. */
export interface LedgerCheckResult {
  /** The engine seq the balances were compared at. */
  readonly seq: number;
  /** Account and asset pairs compared with the engine. */
  readonly compared: number;
  readonly differences: LedgerDifference[];
}

/** How to wait for the persister. */
export interface LedgerCheckOptions {
  /**
   * Resolves once the persister has written `seq` (in-process: `persister.flushed`). Default:
   * poll persister_state for `consumer` until it reaches `seq`, for at most `timeoutMs`.
   */
  readonly waitFor?: (seq: number) => Promise<void>;
  /** The persister's name in persister_state (default "history"). */
  readonly consumer?: string;
  /** How long the default wait may take (default 30 s). */
  readonly timeoutMs?: number;
}

const key = (accountId: number, asset: string) => `${accountId}\u0000${asset}`;

async function pollUntilWritten(
  db: Kysely<Database>,
  consumer: string,
  seq: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db
      .selectFrom('persisterState')
      .select('lastSeq')
      .where('consumer', '=', consumer)
      .executeTakeFirst();
    if ((row?.lastSeq ?? 0) >= seq) return;
    if (Date.now() > deadline) {
      throw new AccountsError(
        'ledger.persister_behind',
        `the persister has written up to seq ${row?.lastSeq ?? 0}, not ${seq}, after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Compares the projection with the engine and the ledger; returns every difference. */
export async function checkLedger(
  db: Kysely<Database>,
  engine: Pick<EnginePort, 'balances'>,
  options: LedgerCheckOptions = {},
): Promise<LedgerCheckResult> {
  const { seq, balances } = await engine.balances();
  const consumer = options.consumer ?? 'history';
  await (options.waitFor ?? ((s: number) => pollUntilWritten(db, consumer, s, options.timeoutMs ?? 30_000)))(
    seq,
  );

  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const projection = await trx
        .selectFrom('balances')
        .select(['accountId', 'asset', 'totalUnits'])
        .execute();
      const after = await sql<{ accountId: number; asset: string; units: number }>`
        select account_id, asset, sum(amount_units)::int8 as units from ledger
        where seq > ${seq} group by account_id, asset`.execute(trx);
      const sums = await sql<{ accountId: number; asset: string; units: number }>`
        select account_id, asset, sum(amount_units)::int8 as units from ledger
        group by account_id, asset`.execute(trx);
      const unbalanced = await sql<{ seq: number; ref: string; asset: string; units: number }>`
        select seq, ref, asset, sum(amount_units)::int8 as units from ledger
        group by seq, ref, asset having sum(amount_units) <> 0 order by seq, ref, asset`.execute(trx);

      const differences: LedgerDifference[] = [];
      const current = new Map(projection.map((b) => [key(b.accountId, b.asset), b] as const));

      // 1. The engine against the projection as it stood at the engine's seq.
      const atSeq = new Map<string, { accountId: number; asset: string; units: number }>();
      for (const b of projection) atSeq.set(key(b.accountId, b.asset), { ...b, units: b.totalUnits });
      for (const l of after.rows) {
        const k = key(l.accountId, l.asset);
        const row = atSeq.get(k) ?? { accountId: l.accountId, asset: l.asset, units: 0 };
        atSeq.set(k, { ...row, units: row.units - l.units });
      }
      const engineTotals = new Map<string, { accountId: number; asset: string; units: number }>();
      for (const b of balances) {
        engineTotals.set(key(b.userId, b.asset), {
          accountId: b.userId,
          asset: b.asset,
          units: b.freeUnits + b.lockedUnits,
        });
      }
      const accounts = new Set([
        ...engineTotals.keys(),
        ...[...atSeq.keys()].filter((k) => atSeq.get(k)!.accountId >= 0),
      ]);
      for (const k of [...accounts].sort()) {
        const e = engineTotals.get(k);
        const p = atSeq.get(k);
        const expected = e?.units ?? 0;
        const actual = p?.units ?? 0;
        if (expected !== actual) {
          const { accountId, asset } = (e ?? p)!;
          differences.push({
            kind: 'engine_vs_projection',
            accountId,
            asset,
            expectedUnits: expected,
            actualUnits: actual,
          });
        }
      }

      // 2. The ledger against the projection (now).
      const ledgerKeys = new Map(sums.rows.map((r) => [key(r.accountId, r.asset), r] as const));
      for (const k of new Set([...ledgerKeys.keys(), ...current.keys()])) {
        const l = ledgerKeys.get(k);
        const p = current.get(k);
        const expected = l?.units ?? 0;
        const actual = p?.totalUnits ?? 0;
        if (expected !== actual) {
          const accountId = l?.accountId ?? p!.accountId;
          const asset = l?.asset ?? p!.asset;
          differences.push({
            kind: 'ledger_vs_projection',
            accountId,
            asset,
            expectedUnits: expected,
            actualUnits: actual,
          });
        }
      }

      // 3. Every posting balances per asset.
      for (const u of unbalanced.rows) {
        differences.push({
          kind: 'unbalanced_posting',
          accountId: null,
          asset: u.asset,
          expectedUnits: 0,
          actualUnits: u.units,
          seq: u.seq,
          ref: u.ref,
        });
      }
      return { seq, compared: accounts.size, differences };
    });
}
