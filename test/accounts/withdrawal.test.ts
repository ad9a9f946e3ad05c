import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { verifyAuditLog } from '../../accounts/audit/audit-log.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import type { Database } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import { DEFAULT_FUNDS_CONFIG } from '../../accounts/funds/funds-config.ts';
import {
  getWithdrawal,
  listPendingApprovals,
  withdrawalTrail,
} from '../../accounts/funds/funds-history.queries.ts';
import {
  approveWithdrawal,
  cancelWithdrawal,
  type RequestWithdrawalInput,
  reconcileWithdrawals,
  rejectWithdrawal,
  requestWithdrawal,
  type SecondFactor,
  type WithdrawalDeps,
} from '../../accounts/funds/withdrawal.service.ts';
import { addWithdrawalAddress } from '../../accounts/funds/withdrawal-address.service.ts';
import { coreEnginePort } from '../../accounts/ports/core-engine.adapter.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { Core, userId as engineUser, type MarketsFile, parseDecimal } from '../../engine/index.ts';
import { forEachDialect } from './dialects.ts';

const MARKETS: MarketsFile = JSON.parse(readFileSync('config/markets.json', 'utf8'));
const BTC = 0;
const USDT = 2;
const ONE_BTC = 100_000_000;
const ADDRESS = 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh';

/** Empties every table, keeping identities running (the Core outlives the tests: ids must not repeat). */
async function clean(db: Kysely<Database>, tables: readonly string[]): Promise<void> {
  await sql.raw(`truncate table ${tables.map((t) => `"${t}"`).join(', ')} cascade`).execute(db);
}

async function tablesOf(db: Kysely<Database>): Promise<string[]> {
  return (await db.introspection.getTables())
    .filter((t) => !t.isView)
    .map((t) => t.name)
    .filter((n) => !n.startsWith('kysely_'));
}

async function newUser(
  db: Kysely<Database>,
  email: string,
  values: { kycTier?: number; status?: 'ACTIVE' | 'DISABLED' } = {},
): Promise<number> {
  const row = await db
    .insertInto('users')
    .values({
      email,
      passwordHash: 'not-a-real-hash',
      kycTier: values.kycTier ?? 1,
      status: values.status ?? 'ACTIVE',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function refuses(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected an AccountsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A second factor a test switches on per user, with one valid code. */
class FakeSecondFactor implements SecondFactor {
  readonly enabled = new Set<number>();
  async isEnabled(userId: number): Promise<boolean> {
    return this.enabled.has(userId);
  }
  async verify(_userId: number, code: string): Promise<boolean> {
    return code === '123456';
  }
}

describe('withdrawals', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let db: Kysely<Database>;
    let core: Core;
    let engine: EnginePort;
    let dataDir: string;
    let tables: string[];
    let user: number;
    let secondFactor: FakeSecondFactor;
    let deps: WithdrawalDeps;
    let fundings = 0;

    const bal = (userId: number, assetId = BTC) => {
      const b = core.balancesOf(userId)[assetId];
      return { free: b?.free ?? 0, locked: b?.locked ?? 0 };
    };
    // Funds straight into the engine (deposits have their own suite): quicker than a deposit record.
    const fund = async (userId: number, asset: string, amount: string) => {
      const parsed = parseDecimal(amount, 8);
      assert.ok(parsed.ok);
      const [event] = await engine.submit({
        kind: 'Deposit',
        userId: engineUser(userId),
        assetId: asset === 'BTC' ? BTC : USDT,
        amountUnits: parsed.units,
        refId: ++fundings,
      });
      assert.equal(event?.kind, 'FundsDeposited');
    };
    const request = (over: Partial<RequestWithdrawalInput> = {}) =>
      requestWithdrawal(db, engine, deps, {
        userId: user,
        asset: 'BTC',
        network: 'BTC',
        address: ADDRESS,
        amount: '0.5',
        ip: '203.0.113.7',
        ...over,
      });
    const trailOf = async (id: number) =>
      (await withdrawalTrail(db, { operator: 'alice' }, id)).map((e) => [e.status, e.actor]);

    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
      db = adb.db;
      tables = await tablesOf(db);
      dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-withdrawal-'));
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
      secondFactor = new FakeSecondFactor();
      deps = { secondFactor, config: DEFAULT_FUNDS_CONFIG };
      // KYC tier 2 (100 BTC a day): the limit stays out of the way except where a test sets a tier-1 user.
      user = await newUser(db, 'withdrawer@example.com', { kycTier: 2 });
      await fund(user, 'BTC', '5');
    });

    describe('lifecycle', () => {
      it('completes a withdrawal at or below the threshold at once: the funds leave', async () => {
        const w = await request({ amount: '0.5' });
        assert.equal(w.status, 'COMPLETED');
        assert.equal(w.amount, '0.50000000');
        assert.equal(w.fee, '0.00000000');
        assert.match(w.txId ?? '', /^[0-9a-f]{64}$/);
        assert.deepEqual(bal(user), { free: 4.5 * ONE_BTC, locked: 0 });
        assert.deepEqual(await trailOf(w.id), [
          ['REQUESTED', `user:${user}`],
          ['HELD', 'system'],
          ['COMPLETED', 'system'],
        ]);
        const exactly = await request({ amount: '1' });
        assert.equal(exactly.status, 'COMPLETED');
        assert.deepEqual(bal(user), { free: 3.5 * ONE_BTC, locked: 0 });
      });

      it('holds a withdrawal above the threshold for approval, then an operator approves it', async () => {
        const w = await request({ amount: '1.5' });
        assert.equal(w.status, 'AWAITING_APPROVAL');
        assert.equal(w.txId, null);
        assert.deepEqual(bal(user), { free: 3.5 * ONE_BTC, locked: 1.5 * ONE_BTC });
        assert.deepEqual(
          (await listPendingApprovals(db, engine.markets)).map((p) => p.id),
          [w.id],
        );
        const done = await approveWithdrawal(db, engine, w.id, 'alice');
        assert.equal(done.status, 'COMPLETED');
        assert.match(done.txId ?? '', /^[0-9a-f]{64}$/);
        assert.deepEqual(bal(user), { free: 3.5 * ONE_BTC, locked: 0 });
        assert.deepEqual(await listPendingApprovals(db, engine.markets), []);
        assert.deepEqual(await trailOf(w.id), [
          ['REQUESTED', `user:${user}`],
          ['HELD', 'system'],
          ['AWAITING_APPROVAL', 'system'],
          ['COMPLETED', 'operator:alice'],
        ]);
      });

      it('releases the hold when an operator rejects, with the reason shown', async () => {
        const w = await request({ amount: '2' });
        const rejected = await rejectWithdrawal(db, engine, w.id, 'bob', 'address under review');
        assert.deepEqual([rejected.status, rejected.reason], ['REJECTED', 'address under review']);
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
        assert.deepEqual((await trailOf(w.id)).at(-1), ['REJECTED', 'operator:bob']);
      });

      it('lets the user cancel while it awaits approval', async () => {
        const w = await request({ amount: '1.5' });
        const canceled = await cancelWithdrawal(db, engine, user, w.id, { ip: '203.0.113.7' });
        assert.deepEqual([canceled.status, canceled.reason], ['REJECTED', 'canceled by user']);
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
        assert.deepEqual((await trailOf(w.id)).at(-1), ['REJECTED', `user:${user}`]);
      });

      it('refuses to approve twice, to approve a rejected one, or to cancel a completed one', async () => {
        const a = await request({ amount: '1.5' });
        await approveWithdrawal(db, engine, a.id, 'alice');
        await refuses(approveWithdrawal(db, engine, a.id, 'alice'), 'withdrawal.bad_state');
        await refuses(rejectWithdrawal(db, engine, a.id, 'alice', 'too late'), 'withdrawal.bad_state');
        await refuses(cancelWithdrawal(db, engine, user, a.id), 'withdrawal.bad_state');
        await fund(user, 'BTC', '1.5');
        const b = await request({ amount: '1.5' });
        await rejectWithdrawal(db, engine, b.id, 'alice', 'no');
        await refuses(approveWithdrawal(db, engine, b.id, 'alice'), 'withdrawal.bad_state');
        await refuses(cancelWithdrawal(db, engine, user, b.id), 'withdrawal.bad_state');
        const small = await request({ amount: '0.1' });
        await refuses(approveWithdrawal(db, engine, small.id, 'alice'), 'withdrawal.bad_state');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC - 0.1 * ONE_BTC, locked: 0 });
      });

      it('lets exactly one of two concurrent operator decisions through', async () => {
        const w = await request({ amount: '1.5' });
        const results = await Promise.allSettled([
          approveWithdrawal(db, engine, w.id, 'alice'),
          rejectWithdrawal(db, engine, w.id, 'bob', 'no'),
          cancelWithdrawal(db, engine, user, w.id),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results)
          if (r.status === 'rejected')
            assert.ok(isAccountsError(r.reason, 'withdrawal.bad_state'), String(r.reason));
        const { free, locked } = bal(user);
        assert.equal(locked, 0);
        assert.ok(free === 3.5 * ONE_BTC || free === 5 * ONE_BTC);
      });

      it('refuses unknown withdrawals and bad operator input', async () => {
        await refuses(approveWithdrawal(db, engine, 999_999, 'alice'), 'withdrawal.not_found');
        await refuses(approveWithdrawal(db, engine, -1, 'alice'), 'withdrawal.not_found');
        const w = await request({ amount: '1.5' });
        await refuses(approveWithdrawal(db, engine, w.id, 'has space'), 'withdrawal.invalid_operator');
        await refuses(rejectWithdrawal(db, engine, w.id, 'alice', ''), 'withdrawal.invalid_reason');
        await refuses(
          rejectWithdrawal(db, engine, w.id, 'alice', 'x'.repeat(257)),
          'withdrawal.invalid_reason',
        );
        assert.equal(
          (await getWithdrawal(db, engine.markets, { userId: user }, w.id)).status,
          'AWAITING_APPROVAL',
        );
      });
    });

    describe('insufficient funds', () => {
      it('fails the withdrawal with the engine’s reason and leaves the balance as it was', async () => {
        await refuses(request({ amount: '5.00000001' }), 'withdrawal.insufficient_balance');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
        const [row] = await db.selectFrom('withdrawals').selectAll().execute();
        assert.deepEqual([row?.status, row?.reason], ['FAILED', 'insufficient balance']);
        assert.deepEqual(await trailOf(row!.id), [
          ['REQUESTED', `user:${user}`],
          ['FAILED', 'system'],
        ]);
      });

      it('fails a withdrawal of an asset the user has none of', async () => {
        await refuses(
          request({ asset: 'USDT', network: 'TRX', amount: '10' }),
          'withdrawal.insufficient_balance',
        );
        assert.deepEqual(bal(user, USDT), { free: 0, locked: 0 });
      });
    });

    describe('24-hour limit', () => {
      let basic: number;
      beforeEach(async () => {
        // KYC tier 1: 2 BTC per rolling 24 hours.
        basic = await newUser(db, 'basic@example.com', { kycTier: 1 });
        await fund(basic, 'BTC', '5');
      });

      it('refuses the withdrawal that would take the day’s total past the tier’s limit', async () => {
        const first = await request({ userId: basic, amount: '1.5' });
        await refuses(request({ userId: basic, amount: '0.50000001' }), 'withdrawal.limit_exceeded');
        assert.deepEqual(bal(basic), { free: 3.5 * ONE_BTC, locked: 1.5 * ONE_BTC });
        const fits = await request({ userId: basic, amount: '0.5' });
        assert.equal(fits.status, 'COMPLETED');
        await refuses(request({ userId: basic, amount: '0.00000001' }), 'withdrawal.limit_exceeded');
        // A rejected withdrawal frees its part of the limit.
        await rejectWithdrawal(db, engine, first.id, 'alice', 'no');
        assert.equal((await request({ userId: basic, amount: '1' })).status, 'COMPLETED');
      });

      it('does not count a failed withdrawal', async () => {
        const poor = await newUser(db, 'poor@example.com', { kycTier: 1 });
        await fund(poor, 'BTC', '1');
        await refuses(request({ userId: poor, amount: '1.5' }), 'withdrawal.insufficient_balance');
        await fund(poor, 'BTC', '4');
        assert.equal((await request({ userId: poor, amount: '2' })).status, 'AWAITING_APPROVAL');
      });

      it('counts only the last 24 hours', async () => {
        await request({ userId: basic, amount: '1' });
        await request({ userId: basic, amount: '1' });
        await refuses(request({ userId: basic, amount: '1' }), 'withdrawal.limit_exceeded');
        await sql`update withdrawals set created_at = now() - interval '25 hours'`.execute(db);
        assert.equal((await request({ userId: basic, amount: '1' })).status, 'COMPLETED');
      });

      it('lets only one of two concurrent withdrawals through when together they exceed the limit', async () => {
        const results = await Promise.allSettled([
          request({ userId: basic, amount: '1.5' }),
          request({ userId: basic, amount: '1.5' }),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const refused = results.find((r) => r.status === 'rejected');
        assert.ok(isAccountsError(refused?.reason, 'withdrawal.limit_exceeded'));
        assert.deepEqual(bal(basic), { free: 3.5 * ONE_BTC, locked: 1.5 * ONE_BTC });
      });

      it('allows the higher limit of KYC tier 2', async () => {
        await refuses(request({ userId: basic, amount: '3' }), 'withdrawal.limit_exceeded');
        const w = await request({ amount: '3' });
        assert.equal(w.status, 'AWAITING_APPROVAL');
      });
    });

    describe('checks before anything is held', () => {
      const cases: [string, Partial<RequestWithdrawalInput>, string][] = [
        ['an unknown asset', { asset: 'DOGE' }, 'withdrawal.unknown_asset'],
        ['a network the asset does not travel on', { network: 'ETH' }, 'withdrawal.invalid_network'],
        ['a malformed network', { network: 'b t c' }, 'withdrawal.invalid_network'],
        ['an address with a space', { address: 'bc1 abc' }, 'withdrawal.invalid_address'],
        ['an empty address', { address: '' }, 'withdrawal.invalid_address'],
        ['an address over 128 characters', { address: 'a'.repeat(129) }, 'withdrawal.invalid_address'],
        ['a zero amount', { amount: '0' }, 'withdrawal.invalid_amount'],
        ['a malformed amount', { amount: '0,5' }, 'withdrawal.invalid_amount'],
        ['an amount finer than the asset', { amount: '0.123456789' }, 'withdrawal.amount_too_precise'],
        ['a malformed withdrawal order id', { clientId: 'has space' }, 'withdrawal.invalid_client_id'],
        ['a user id that is not an integer', { userId: 1.5 }, 'withdrawal.invalid_user'],
      ];
      for (const [what, over, code] of cases) {
        it(`refuses ${what} (${code})`, async () => {
          await refuses(request(over), code);
          assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
          assert.equal((await db.selectFrom('withdrawals').selectAll().execute()).length, 0);
        });
      }

      it('refuses an unknown user, a disabled one, and one whose KYC tier may not withdraw', async () => {
        await refuses(request({ userId: user + 1000 }), 'withdrawal.user_not_found');
        const disabled = await newUser(db, 'disabled@example.com', { status: 'DISABLED' });
        await fund(disabled, 'BTC', '1');
        await refuses(request({ userId: disabled }), 'withdrawal.user_disabled');
        const unverified = await newUser(db, 'unverified@example.com', { kycTier: 0 });
        await fund(unverified, 'BTC', '1');
        await refuses(request({ userId: unverified }), 'withdrawal.kyc_forbidden');
        assert.deepEqual(bal(unverified), { free: ONE_BTC, locked: 0 });
      });

      it('refuses a reused withdrawal order id of the same user, not of another', async () => {
        await request({ clientId: 'my-order-1' });
        await refuses(request({ clientId: 'my-order-1' }), 'withdrawal.duplicate_client_id');
        const other = await newUser(db, 'other@example.com');
        await fund(other, 'BTC', '1');
        assert.equal((await request({ userId: other, clientId: 'my-order-1' })).clientId, 'my-order-1');
      });

      it('requires the one-time code when the second factor is on, and refuses a wrong one', async () => {
        secondFactor.enabled.add(user);
        await refuses(request(), 'withdrawal.totp_required');
        await refuses(request({ totpCode: '' }), 'withdrawal.totp_required');
        await refuses(request({ totpCode: '654321' }), 'withdrawal.totp_invalid');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
        assert.equal((await request({ totpCode: '123456' })).status, 'COMPLETED');
      });

      it('checks the second factor before the amount (the order of checks is part of the contract)', async () => {
        secondFactor.enabled.add(user);
        await refuses(request({ amount: 'nonsense' }), 'withdrawal.totp_required');
      });
    });

    describe('address allow-list', () => {
      it('once the user lists an address for an asset, allows only listed ones for it', async () => {
        // No address listed: any address.
        assert.equal((await request({ address: 'anywhere-1' })).status, 'COMPLETED');
        await addWithdrawalAddress(db, engine.markets, DEFAULT_FUNDS_CONFIG, {
          userId: user,
          asset: 'BTC',
          network: 'BTC',
          address: ADDRESS,
          label: 'cold wallet',
        });
        await refuses(request({ address: 'anywhere-2' }), 'withdrawal.address_not_allowed');
        assert.equal((await request({ address: ADDRESS })).status, 'COMPLETED');
        // Another asset without a list is unaffected.
        await fund(user, 'USDT', '100');
        assert.equal(
          (await request({ asset: 'USDT', network: 'TRX', address: 'T-any', amount: '10' })).status,
          'COMPLETED',
        );
      });

      it('matches the network as well as the address', async () => {
        await fund(user, 'USDT', '100');
        await addWithdrawalAddress(db, engine.markets, DEFAULT_FUNDS_CONFIG, {
          userId: user,
          asset: 'USDT',
          network: 'ETH',
          address: '0xabc',
          label: '',
        });
        await refuses(
          request({ asset: 'USDT', network: 'TRX', address: '0xabc', amount: '1' }),
          'withdrawal.address_not_allowed',
        );
        assert.equal(
          (await request({ asset: 'USDT', network: 'ETH', address: '0xabc', amount: '1' })).status,
          'COMPLETED',
        );
      });
    });

    describe('one user and another', () => {
      it('does not let a user cancel or read another user’s withdrawal', async () => {
        const w = await request({ amount: '1.5' });
        const other = await newUser(db, 'intruder@example.com');
        await refuses(cancelWithdrawal(db, engine, other, w.id), 'withdrawal.not_found');
        await refuses(getWithdrawal(db, engine.markets, { userId: other }, w.id), 'withdrawal.not_found');
        await refuses(withdrawalTrail(db, { userId: other }, w.id), 'withdrawal.not_found');
        assert.equal(
          (await getWithdrawal(db, engine.markets, { userId: user }, w.id)).status,
          'AWAITING_APPROVAL',
        );
        assert.equal((await withdrawalTrail(db, { userId: user }, w.id)).length, 3);
        assert.deepEqual(bal(user), { free: 3.5 * ONE_BTC, locked: 1.5 * ONE_BTC });
      });
    });

    describe('audit', () => {
      it('records every state change in the audit log, and the chain verifies', async () => {
        const small = await request({ amount: '0.5' });
        const big = await request({ amount: '1.2' });
        await approveWithdrawal(db, engine, big.id, 'alice');
        await fund(user, 'BTC', '1');
        const canceled = await request({ amount: '0.3', userId: user, asset: 'BTC', network: 'BTC' });
        assert.equal(canceled.status, 'COMPLETED');
        const rows = await db
          .selectFrom('auditLog')
          .select(['action', 'actor', 'ip', 'detail'])
          .where('action', 'like', 'withdrawal.%')
          .orderBy('id')
          .execute();
        const of = (id: number) =>
          rows.filter((r) => r.detail.withdrawalId === id).map((r) => [r.action, r.actor]);
        assert.deepEqual(of(small.id), [
          ['withdrawal.requested', `user:${user}`],
          ['withdrawal.held', 'system'],
          ['withdrawal.completed', 'system'],
        ]);
        assert.deepEqual(of(big.id), [
          ['withdrawal.requested', `user:${user}`],
          ['withdrawal.held', 'system'],
          ['withdrawal.awaiting_approval', 'system'],
          ['withdrawal.completed', 'operator:alice'],
        ]);
        assert.equal(rows[0]?.ip, '203.0.113.7');
        const v = await verifyAuditLog(db);
        assert.equal(v.ok, true);
      });
    });

    describe('reconciliation', () => {
      async function requestedRow(amountUnits: number): Promise<number> {
        const row = await db
          .insertInto('withdrawals')
          .values({
            userId: user,
            asset: 'BTC',
            network: 'BTC',
            address: ADDRESS,
            amountUnits,
            status: 'REQUESTED',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return row.id;
      }

      it('holds and completes a request the engine never saw', async () => {
        const id = await requestedRow(ONE_BTC / 2);
        const r = await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG);
        assert.deepEqual(r, { advanced: [id], unresolved: [] });
        assert.deepEqual(bal(user), { free: 4.5 * ONE_BTC, locked: 0 });
        assert.equal((await getWithdrawal(db, engine.markets, { userId: user }, id)).status, 'COMPLETED');
      });

      it('does not hold twice a request whose hold the engine already made', async () => {
        const id = await requestedRow(2 * ONE_BTC);
        const [held] = await engine.submit({
          kind: 'WithdrawalHold',
          userId: engineUser(user),
          assetId: BTC,
          amountUnits: 2 * ONE_BTC,
          refId: id,
        });
        assert.equal(held?.kind, 'WithdrawalHeld');
        const r = await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG);
        assert.deepEqual(r, { advanced: [id], unresolved: [] });
        assert.deepEqual(bal(user), { free: 3 * ONE_BTC, locked: 2 * ONE_BTC });
        assert.equal(
          (await getWithdrawal(db, engine.markets, { userId: user }, id)).status,
          'AWAITING_APPROVAL',
        );
        await rejectWithdrawal(db, engine, id, 'alice', 'stale');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
      });

      it('drives on a request whose hold could not be sent, without a second request', async () => {
        const down: EnginePort = { ...engine, submit: () => Promise.reject(new Error('link down')) };
        await refuses(
          requestWithdrawal(db, down, deps, {
            userId: user,
            asset: 'BTC',
            network: 'BTC',
            address: ADDRESS,
            amount: '0.5',
          }),
          'withdrawal.engine_unavailable',
        );
        const [row] = await db.selectFrom('withdrawals').selectAll().execute();
        assert.equal(row?.status, 'REQUESTED');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
        const r = await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG);
        assert.deepEqual(r, { advanced: [row!.id], unresolved: [] });
        assert.deepEqual(bal(user), { free: 4.5 * ONE_BTC, locked: 0 });
        assert.deepEqual(await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG), {
          advanced: [],
          unresolved: [],
        });
      });

      it('completes a HELD withdrawal whose settle the ledger shows went through', async () => {
        const w = await request({ amount: '0.5' });
        // As if the settle had been applied and persisted, and the process died before its commit.
        await db
          .updateTable('withdrawals')
          .set({ status: 'HELD', txId: null })
          .where('id', '=', w.id)
          .execute();
        await db
          .insertInto('ledgerEntries')
          .values({
            seq: 1,
            accountId: user,
            asset: 'BTC',
            amountUnits: -ONE_BTC / 2,
            kind: 'WITHDRAWAL',
            ref: `withdrawal:${w.id}`,
            tsMicros: 1,
          })
          .execute();
        const r = await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG);
        assert.deepEqual(r, { advanced: [w.id], unresolved: [] });
        assert.equal((await getWithdrawal(db, engine.markets, { userId: user }, w.id)).status, 'COMPLETED');
        assert.deepEqual(bal(user), { free: 4.5 * ONE_BTC, locked: 0 });
      });

      it('reports a HELD withdrawal the engine no longer knows and the ledger does not explain', async () => {
        const id = await requestedRow(ONE_BTC / 2);
        await db.updateTable('withdrawals').set({ status: 'HELD' }).where('id', '=', id).execute();
        const r = await reconcileWithdrawals(db, engine, DEFAULT_FUNDS_CONFIG);
        assert.deepEqual(r, { advanced: [], unresolved: [id] });
        assert.equal((await getWithdrawal(db, engine.markets, { userId: user }, id)).status, 'HELD');
        assert.deepEqual(bal(user), { free: 5 * ONE_BTC, locked: 0 });
      });
    });
  });
});
