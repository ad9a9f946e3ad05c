import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import type { Database } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import {
  type CreditDepositInput,
  creditDeposit,
  getDeposit,
  reconcilePendingDeposits,
} from '../../accounts/funds/deposit.service.ts';
import { coreEnginePort } from '../../accounts/ports/core-engine.adapter.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { Core, type MarketsFile } from '../../engine/index.ts';
import { forEachDialect } from './dialects.ts';

const MARKETS: MarketsFile = JSON.parse(readFileSync('config/markets.json', 'utf8'));
const BTC = 0;
const ETH = 1;
const USDT = 2;

/**
 * Empties every table but keeps identities running: the Core outlives the tests, so user and
 * deposit ids must not repeat (a reused user id would find an earlier test's balance).
 */
async function clean(db: Kysely<Database>, tables: readonly string[]): Promise<void> {
  await sql.raw(`truncate table ${tables.map((t) => `"${t}"`).join(', ')} cascade`).execute(db);
}

async function tablesOf(db: Kysely<Database>): Promise<string[]> {
  return (await db.introspection.getTables())
    .filter((t) => !t.isView)
    .map((t) => t.name)
    .filter((n) => !n.startsWith('kysely_'));
}

async function newUser(db: Kysely<Database>, email: string): Promise<number> {
  const row = await db
    .insertInto('users')
    .values({ email, passwordHash: 'not-a-real-hash' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Rejects with an AccountsError of `code`. */
async function refuses(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected an AccountsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('deposits', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let db: Kysely<Database>;
    let core: Core;
    let engine: EnginePort;
    let dataDir: string;
    let tables: string[];
    let user: number;

    const free = (userId: number, assetId: number): number => core.balancesOf(userId)[assetId]?.free ?? 0;
    const deposit = (over: Partial<CreditDepositInput> = {}): CreditDepositInput => ({
      userId: user,
      asset: 'BTC',
      network: 'BTC',
      txId: 'tx-1',
      amount: '1.5',
      source: 'watcher',
      actor: 'watcher:btc',
      ...over,
    });

    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
      db = adb.db;
      tables = await tablesOf(db);
      dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-deposit-'));
      core = await Core.start({ dataDir, marketsFile: MARKETS, journal: false });
      engine = coreEnginePort(core);
    });
    after(async () => {
      await core.close();
      await adb.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await clean(db, tables);
      user = await newUser(db, 'depositor@example.com');
    });

    it('credits the engine balance by exactly the amount and records the seq', async () => {
      const d = await creditDeposit(db, engine, deposit({ amount: '1.23456789' }));
      assert.equal(d.status, 'CREDITED');
      assert.equal(d.amount, '1.23456789');
      assert.equal(d.amountUnits, 123_456_789);
      assert.ok(typeof d.seq === 'number' && d.seq > 0);
      assert.ok(d.creditedAt instanceof Date);
      assert.equal(free(user, BTC), 123_456_789);
      const { balances } = await engine.balances();
      assert.deepEqual(
        balances.filter((b) => b.userId === user),
        [{ userId: user, asset: 'BTC', freeUnits: 123_456_789, lockedUnits: 0 }],
      );
      assert.deepEqual(await getDeposit(db, engine.markets, user, d.id), d);
    });

    it('returns the existing deposit for a repeated transaction id and credits it once', async () => {
      const first = await creditDeposit(db, engine, deposit());
      const again = await creditDeposit(db, engine, deposit({ actor: 'operator:alice', source: 'operator' }));
      assert.deepEqual(again, first);
      assert.equal(free(user, BTC), 150_000_000);
      assert.equal((await db.selectFrom('deposits').selectAll().execute()).length, 1);
    });

    it('credits once when the same transaction id arrives concurrently', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => creditDeposit(db, engine, deposit())),
      );
      assert.equal(new Set(results.map((d) => d.id)).size, 1);
      assert.equal(free(user, BTC), 150_000_000);
      const row = await db.selectFrom('deposits').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.status, 'CREDITED');
      const credited = await db
        .selectFrom('auditLog')
        .select('id')
        .where('action', '=', 'deposit.credited')
        .execute();
      assert.equal(credited.length, 1);
    });

    it('treats the same transaction id on another network or asset as another deposit', async () => {
      await creditDeposit(db, engine, deposit());
      await creditDeposit(db, engine, deposit({ asset: 'USDT', network: 'ETH', amount: '100' }));
      await creditDeposit(db, engine, deposit({ asset: 'USDT', network: 'TRX', amount: '100' }));
      assert.equal(free(user, BTC), 150_000_000);
      assert.equal(free(user, USDT), 20_000_000_000);
    });

    it('refuses a repeated transaction id with another user or amount, changing nothing', async () => {
      const other = await newUser(db, 'other@example.com');
      await creditDeposit(db, engine, deposit());
      await refuses(creditDeposit(db, engine, deposit({ userId: other })), 'deposit.conflict');
      await refuses(creditDeposit(db, engine, deposit({ amount: '2' })), 'deposit.conflict');
      assert.equal(free(user, BTC), 150_000_000);
      assert.equal(free(other, BTC), 0);
    });

    const refusals: [string, Partial<CreditDepositInput> | 'no-user', string][] = [
      ['an unknown user', 'no-user', 'deposit.user_not_found'],
      ['a user id that is not a positive integer', { userId: -1 }, 'deposit.invalid_user'],
      ['an unknown asset', { asset: 'DOGE' }, 'deposit.unknown_asset'],
      ['a zero amount', { amount: '0' }, 'deposit.invalid_amount'],
      ['a negative amount', { amount: '-1' }, 'deposit.invalid_amount'],
      ['a malformed amount', { amount: '1e3' }, 'deposit.invalid_amount'],
      ['an amount beyond the safe range', { amount: '99999999999' }, 'deposit.invalid_amount'],
      ['an amount finer than the asset', { amount: '0.000000001' }, 'deposit.amount_too_precise'],
      ['an empty transaction id', { txId: '' }, 'deposit.invalid_tx_id'],
      ['a transaction id over 128 characters', { txId: 'x'.repeat(129) }, 'deposit.invalid_tx_id'],
      ['a transaction id with a space', { txId: 'tx 1' }, 'deposit.invalid_tx_id'],
      ['a malformed network', { network: 'btc main' }, 'deposit.invalid_network'],
      ['an unknown source', { source: 'bank' as 'operator' }, 'deposit.invalid_source'],
      ['an empty actor', { actor: '' }, 'deposit.invalid_actor'],
    ];
    for (const [what, over, code] of refusals) {
      it(`refuses ${what} (${code}) and credits nothing`, async () => {
        const input = over === 'no-user' ? deposit({ userId: user + 1000 }) : deposit(over);
        await refuses(creditDeposit(db, engine, input), code);
        assert.equal(free(user, BTC), 0);
        assert.equal((await db.selectFrom('deposits').selectAll().execute()).length, 0);
      });
    }

    it('accepts a transaction id of exactly 128 characters', async () => {
      const d = await creditDeposit(db, engine, deposit({ txId: 'a'.repeat(128) }));
      assert.equal(d.status, 'CREDITED');
    });

    it('refuses a network the asset does not travel on when networks are given', async () => {
      const networks = { BTC: ['BTC'] };
      await refuses(
        creditDeposit(db, engine, deposit({ network: 'ETH' }), { networks }),
        'deposit.invalid_network',
      );
      assert.equal(free(user, BTC), 0);
      await creditDeposit(db, engine, deposit(), { networks });
      assert.equal(free(user, BTC), 150_000_000);
    });

    it('records receipt and credit in the audit log, and the chain verifies', async () => {
      const d = await creditDeposit(db, engine, deposit());
      const entries = await db.selectFrom('auditLog').selectAll().orderBy('id').execute();
      assert.deepEqual(
        entries.map((e) => [e.action, e.actor, e.userId]),
        [
          ['deposit.received', 'watcher:btc', user],
          ['deposit.credited', 'watcher:btc', user],
        ],
      );
      assert.equal(entries[1]?.detail.depositId, d.id);
      assert.equal(entries[1]?.detail.seq, d.seq);
      const v = await verifyAuditLog(db);
      assert.deepEqual([v.ok, v.entries], [true, 2]);
    });

    it('does not let one user read another user’s deposit', async () => {
      const other = await newUser(db, 'reader@example.com');
      const d = await creditDeposit(db, engine, deposit());
      await refuses(getDeposit(db, engine.markets, other, d.id), 'deposit.not_found');
    });

    it('keeps a deposit the engine refuses as REJECTED and does not submit it again', async () => {
      // ETH, which no other test here deposits: the engine bounds each asset's total supply.
      const huge = { asset: 'ETH', network: 'ETH', amount: '90000000' };
      await creditDeposit(db, engine, deposit({ ...huge, txId: 'eth-1' }));
      await refuses(creditDeposit(db, engine, deposit({ ...huge, txId: 'eth-2' })), 'deposit.rejected');
      assert.equal(free(user, ETH), 9_000_000_000_000_000);
      const again = await creditDeposit(db, engine, deposit({ ...huge, txId: 'eth-2' }));
      assert.equal(again.status, 'REJECTED');
      assert.equal(free(user, ETH), 9_000_000_000_000_000);
      const actions = await db.selectFrom('auditLog').select('action').orderBy('id').execute();
      assert.equal(actions.at(-1)?.action, 'deposit.rejected');
    });

    it('leaves a deposit PENDING when the engine cannot be reached, for reconciliation to credit', async () => {
      const down: EnginePort = { ...engine, submit: () => Promise.reject(new Error('link down')) };
      await refuses(creditDeposit(db, down, deposit()), 'deposit.engine_unavailable');
      const row = await db.selectFrom('deposits').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.status, 'PENDING');
      assert.equal(free(user, BTC), 0);
      // The caller knows the engine applied nothing for it (its submission failed before sending).
      const r = await reconcilePendingDeposits(db, engine, { creditedRefIds: new Set() });
      assert.deepEqual(r, { recorded: [], credited: [row.id], rejected: [] });
      assert.equal(free(user, BTC), 150_000_000);
    });

    describe('reconciliation of deposits left PENDING', () => {
      /** A PENDING row as a crash between the insert and the credit leaves it. */
      async function pendingRow(txId: string, amountUnits: number): Promise<number> {
        const row = await db
          .insertInto('deposits')
          .values({
            userId: user,
            asset: 'BTC',
            network: 'BTC',
            txId,
            amountUnits,
            status: 'PENDING',
            source: 'watcher',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return row.id;
      }
      /** What the persister would have written: it has caught up with the engine. */
      async function persisterCaughtUp(): Promise<void> {
        const { seq } = await engine.balances();
        await db.insertInto('persisterState').values({ consumer: 'history', lastSeq: seq }).execute();
      }

      it('returns a PENDING deposit as it stands on a repeated call, crediting nothing', async () => {
        const id = await pendingRow('tx-p', 100);
        const d = await creditDeposit(db, engine, deposit({ txId: 'tx-p', amount: '0.000001' }));
        assert.deepEqual([d.id, d.status], [id, 'PENDING']);
        assert.equal(free(user, BTC), 0);
      });

      it('submits a deposit the engine never saw, once', async () => {
        const id = await pendingRow('tx-never', 700);
        await persisterCaughtUp();
        const r = await reconcilePendingDeposits(db, engine);
        assert.deepEqual(r, { recorded: [], credited: [id], rejected: [] });
        assert.equal(free(user, BTC), 700);
        // Again, once the persister has caught up with that credit too: nothing left to do.
        await db.deleteFrom('persisterState').execute();
        await persisterCaughtUp();
        assert.deepEqual(await reconcilePendingDeposits(db, engine), {
          recorded: [],
          credited: [],
          rejected: [],
        });
        assert.equal(free(user, BTC), 700);
        const d = await getDeposit(db, engine.markets, user, id);
        assert.equal(d.status, 'CREDITED');
      });

      it('marks a deposit the ledger shows as applied CREDITED without crediting it again', async () => {
        const id = await pendingRow('tx-applied', 900);
        // The engine applied it and the persister wrote its ledger entries; then the crash.
        const [event] = await engine.submit({
          kind: 'Deposit',
          userId: user as never,
          assetId: BTC,
          amountUnits: 900,
          refId: id,
        });
        assert.equal(event?.kind, 'FundsDeposited');
        await db
          .insertInto('ledgerEntries')
          .values([
            {
              seq: event.seq,
              accountId: user,
              asset: 'BTC',
              amountUnits: 900,
              kind: 'DEPOSIT',
              ref: `deposit:${id}`,
              tsMicros: 1,
            },
            {
              seq: event.seq,
              accountId: -1,
              asset: 'BTC',
              amountUnits: -900,
              kind: 'DEPOSIT',
              ref: `deposit:${id}`,
              tsMicros: 1,
            },
          ])
          .execute();
        await persisterCaughtUp();
        const r = await reconcilePendingDeposits(db, engine);
        assert.deepEqual(r, { recorded: [id], credited: [], rejected: [] });
        assert.equal(free(user, BTC), 900);
        const row = await db
          .selectFrom('deposits')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        assert.deepEqual([row.status, row.seq], ['CREDITED', event.seq]);
      });

      it('refuses to decide while the ledger lags behind the engine', async () => {
        await pendingRow('tx-lag', 500);
        await creditDeposit(db, engine, deposit()); // the engine moves on; nothing persisted it
        await db.insertInto('persisterState').values({ consumer: 'history', lastSeq: 0 }).execute();
        await refuses(reconcilePendingDeposits(db, engine), 'deposit.reconcile_unsafe');
        assert.equal(free(user, BTC), 150_000_000);
        const pending = await db
          .selectFrom('deposits')
          .select('id')
          .where('status', '=', 'PENDING')
          .execute();
        assert.equal(pending.length, 1);
      });

      it('trusts the caller’s list of applied refIds when given', async () => {
        const applied = await pendingRow('tx-a', 300);
        const missing = await pendingRow('tx-b', 400);
        await engine.submit({
          kind: 'Deposit',
          userId: user as never,
          assetId: BTC,
          amountUnits: 300,
          refId: applied,
        });
        const r = await reconcilePendingDeposits(db, engine, { creditedRefIds: new Map([[applied, 77]]) });
        assert.deepEqual(r, { recorded: [applied], credited: [missing], rejected: [] });
        assert.equal(free(user, BTC), 700);
        const seqs = await db.selectFrom('deposits').select(['id', 'seq']).orderBy('id').execute();
        assert.equal(seqs[0]?.seq, 77);
        assert.equal((await verifyAuditLog(db)).ok, true);
      });
    });
  });
});
