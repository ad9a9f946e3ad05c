import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import type { AccountsDb } from '../../accounts/db/database.ts';
import type { Database, DepositRow, WithdrawalStatus } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import {
  depositHistory,
  getWithdrawal,
  HISTORY_MAX_SPAN_MS,
  listPendingApprovals,
  withdrawalHistory,
  withdrawalTrail,
} from '../../accounts/funds/funds-history.queries.ts';
import { Markets, type MarketsFile } from '../../engine/index.ts';
import { forEachDialect } from './dialects.ts';

const markets = new Markets(JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile);
const DAY = 24 * 3600 * 1000;
/** The clock every query in this suite runs at. */
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

async function refuses(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAccountsError(e), `expected an AccountsError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('deposit and withdrawal history', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    let db: Kysely<Database>;
    let user: number;
    let other: number;

    async function depositAt(
      userId: number,
      daysAgo: number,
      values: { asset?: string; txId: string; units?: number; status?: DepositRow['status'] },
    ): Promise<number> {
      const at = new Date(NOW - daysAgo * DAY);
      const status = values.status ?? 'CREDITED';
      const row = await db
        .insertInto('deposits')
        .values({
          userId,
          asset: values.asset ?? 'BTC',
          network: values.asset === 'USDT' ? 'TRX' : (values.asset ?? 'BTC'),
          txId: values.txId,
          amountUnits: values.units ?? 50_000_000,
          status,
          seq: status === 'CREDITED' ? 1 : null,
          source: 'watcher',
          createdAt: at,
          creditedAt: status === 'CREDITED' ? new Date(at.getTime() + 60_000) : null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    }

    async function withdrawalAt(
      userId: number,
      daysAgo: number,
      values: { status: WithdrawalStatus; asset?: string; clientId?: string; reason?: string },
    ): Promise<number> {
      const at = new Date(NOW - daysAgo * DAY);
      const row = await db
        .insertInto('withdrawals')
        .values({
          userId,
          asset: values.asset ?? 'BTC',
          network: 'BTC',
          address: 'bc1-somewhere',
          amountUnits: 25_000_000,
          status: values.status,
          clientId: values.clientId ?? null,
          reason: values.reason ?? null,
          txId: values.status === 'COMPLETED' ? 'ab'.repeat(32) : null,
          createdAt: at,
          updatedAt: new Date(at.getTime() + 1000),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('withdrawalEvents')
        .values([
          { withdrawalId: row.id, status: 'REQUESTED', actor: `user:${userId}`, note: null },
          { withdrawalId: row.id, status: values.status, actor: 'system', note: values.reason ?? null },
        ])
        .execute();
      return row.id;
    }

    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
      db = adb.db;
    });
    after(() => adb.close());
    beforeEach(async () => {
      await sql`truncate table withdrawal_events, withdrawals, deposits, users restart identity cascade`.execute(
        db,
      );
      const rows = await db
        .insertInto('users')
        .values([
          { email: 'history@example.com', passwordHash: 'x' },
          { email: 'someone-else@example.com', passwordHash: 'x' },
        ])
        .returning('id')
        .execute();
      user = rows[0]!.id;
      other = rows[1]!.id;
    });

    describe('deposits', () => {
      it('lists the user’s deposits newest first, in Binance’s terms', async () => {
        const older = await depositAt(user, 3, { txId: 'tx-old' });
        const newer = await depositAt(user, 1, { txId: 'tx-new', asset: 'USDT', units: 12_345_000_000 });
        await depositAt(other, 1, { txId: 'tx-other' });
        const list = await depositHistory(db, markets, user, {}, NOW);
        assert.deepEqual(
          list.map((d) => d.id),
          [newer, older],
        );
        assert.deepEqual(list[0], {
          id: newer,
          coin: 'USDT',
          network: 'TRX',
          amount: '123.45000000',
          status: 1,
          state: 'CREDITED',
          txId: 'tx-new',
          insertTime: NOW - DAY,
          completeTime: NOW - DAY + 60_000,
          source: 'watcher',
        });
      });

      it('filters by coin, by Binance status and by transaction id', async () => {
        const pending = await depositAt(user, 1, { txId: 'tx-p', status: 'PENDING' });
        const credited = await depositAt(user, 2, { txId: 'tx-c' });
        const rejected = await depositAt(user, 3, { txId: 'tx-r', status: 'REJECTED' });
        const usdt = await depositAt(user, 4, { txId: 'tx-u', asset: 'USDT' });
        const ids = async (q: Parameters<typeof depositHistory>[3]) =>
          (await depositHistory(db, markets, user, q, NOW)).map((d) => d.id);
        assert.deepEqual(await ids({ coin: 'BTC' }), [pending, credited, rejected]);
        assert.deepEqual(await ids({ coin: 'USDT' }), [usdt]);
        assert.deepEqual(await ids({ status: 0 }), [pending]);
        assert.deepEqual(await ids({ status: 1 }), [credited, usdt]);
        assert.deepEqual(await ids({ status: 2 }), [rejected]);
        assert.deepEqual(await ids({ txId: 'tx-c' }), [credited]);
        const [p] = await depositHistory(db, markets, user, { status: 0 }, NOW);
        assert.equal(p?.completeTime, null);
      });

      it('defaults to the last 90 days and takes windows of at most 90 days', async () => {
        const recent = await depositAt(user, 10, { txId: 'tx-10' });
        const old = await depositAt(user, 100, { txId: 'tx-100' });
        const ids = async (q: Parameters<typeof depositHistory>[3]) =>
          (await depositHistory(db, markets, user, q, NOW)).map((d) => d.id);
        assert.deepEqual(await ids({}), [recent]);
        assert.deepEqual(await ids({ startTime: NOW - 120 * DAY }), [old]);
        assert.deepEqual(await ids({ endTime: NOW - 50 * DAY }), [old]);
        assert.deepEqual(await ids({ startTime: NOW - 120 * DAY, endTime: NOW - 30 * DAY }), [old]);
        assert.deepEqual(await ids({ startTime: NOW - 10 * DAY, endTime: NOW - 10 * DAY }), [recent]);
        await refuses(
          depositHistory(db, markets, user, { startTime: NOW - 91 * DAY, endTime: NOW }, NOW),
          'history.time_range_too_long',
        );
        await refuses(
          depositHistory(db, markets, user, { startTime: NOW, endTime: NOW - 1 }, NOW),
          'history.invalid_time_range',
        );
        assert.equal(HISTORY_MAX_SPAN_MS, 90 * DAY);
      });

      it('pages with offset and limit', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) ids.push(await depositAt(user, 5 - i, { txId: `tx-${i}` }));
        const newestFirst = ids.reverse();
        const page = async (offset: number, limit: number) =>
          (await depositHistory(db, markets, user, { offset, limit }, NOW)).map((d) => d.id);
        assert.deepEqual(await page(0, 2), newestFirst.slice(0, 2));
        assert.deepEqual(await page(2, 2), newestFirst.slice(2, 4));
        assert.deepEqual(await page(4, 2), newestFirst.slice(4));
        assert.deepEqual(await page(5, 2), []);
        assert.deepEqual(await page(0, 1000), newestFirst);
      });

      const bad: [string, Parameters<typeof depositHistory>[3], string][] = [
        ['a limit of 0', { limit: 0 }, 'history.invalid_limit'],
        ['a limit over 1000', { limit: 1001 }, 'history.invalid_limit'],
        ['a fractional limit', { limit: 1.5 }, 'history.invalid_limit'],
        ['a negative offset', { offset: -1 }, 'history.invalid_offset'],
        ['a status Binance does not define', { status: 9 }, 'history.invalid_status'],
        ['a negative startTime', { startTime: -5 }, 'history.invalid_time'],
        ['a fractional endTime', { endTime: NOW + 0.5 }, 'history.invalid_time'],
      ];
      for (const [what, q, code] of bad) {
        it(`refuses ${what} (${code})`, async () => {
          await refuses(depositHistory(db, markets, user, q, NOW), code);
        });
      }
    });

    describe('withdrawals', () => {
      it('lists the user’s withdrawals newest first with Binance’s statuses', async () => {
        const statuses: WithdrawalStatus[] = [
          'REQUESTED',
          'HELD',
          'AWAITING_APPROVAL',
          'COMPLETED',
          'REJECTED',
          'FAILED',
        ];
        const ids: number[] = [];
        for (const [i, status] of statuses.entries())
          ids.push(
            await withdrawalAt(user, 10 - i, { status, reason: status === 'REJECTED' ? 'no' : undefined }),
          );
        await withdrawalAt(other, 1, { status: 'COMPLETED' });
        const list = await withdrawalHistory(db, markets, user, {}, NOW);
        assert.deepEqual(
          list.map((w) => [w.id, w.state, w.status]),
          [
            [ids[5], 'FAILED', 5],
            [ids[4], 'REJECTED', 3],
            [ids[3], 'COMPLETED', 6],
            [ids[2], 'AWAITING_APPROVAL', 2],
            [ids[1], 'HELD', 4],
            [ids[0], 'REQUESTED', 4],
          ],
        );
        const completed = list.find((w) => w.state === 'COMPLETED')!;
        assert.deepEqual(
          [
            completed.amount,
            completed.transactionFee,
            completed.txId,
            completed.applyTime,
            completed.completeTime,
          ],
          ['0.25000000', '0.00000000', 'ab'.repeat(32), NOW - 7 * DAY, NOW - 7 * DAY + 1000],
        );
        assert.equal(list.find((w) => w.state === 'REJECTED')?.info, 'no');
        assert.equal(list.find((w) => w.state === 'HELD')?.completeTime, null);
        assert.deepEqual(
          (await withdrawalHistory(db, markets, user, { status: 4 }, NOW)).map((w) => w.id),
          [ids[1], ids[0]],
        );
      });

      it('filters by coin, withdrawal order id and id list', async () => {
        const a = await withdrawalAt(user, 1, { status: 'COMPLETED', clientId: 'order-a' });
        const b = await withdrawalAt(user, 2, { status: 'COMPLETED', asset: 'ETH' });
        const c = await withdrawalAt(user, 3, { status: 'REJECTED' });
        const ids = async (q: Parameters<typeof withdrawalHistory>[3]) =>
          (await withdrawalHistory(db, markets, user, q, NOW)).map((w) => w.id);
        assert.deepEqual(await ids({ coin: 'ETH' }), [b]);
        assert.deepEqual(await ids({ withdrawOrderId: 'order-a' }), [a]);
        assert.deepEqual(await ids({ idList: [c, a] }), [a, c]);
        await refuses(withdrawalHistory(db, markets, user, { idList: [] }, NOW), 'history.invalid_id_list');
        await refuses(withdrawalHistory(db, markets, user, { status: 0 }, NOW), 'history.invalid_status');
      });

      it('never shows one user another user’s withdrawals', async () => {
        const mine = await withdrawalAt(user, 1, { status: 'AWAITING_APPROVAL' });
        const theirs = await withdrawalAt(other, 1, { status: 'AWAITING_APPROVAL', clientId: 'theirs' });
        assert.deepEqual(
          (await withdrawalHistory(db, markets, user, { idList: [mine, theirs] }, NOW)).map((w) => w.id),
          [mine],
        );
        assert.deepEqual(await withdrawalHistory(db, markets, user, { withdrawOrderId: 'theirs' }, NOW), []);
        await refuses(getWithdrawal(db, markets, { userId: user }, theirs), 'withdrawal.not_found');
        await refuses(withdrawalTrail(db, { userId: user }, theirs), 'withdrawal.not_found');
      });

      it('gives a withdrawal’s trail of state changes to its owner and to operators', async () => {
        const id = await withdrawalAt(user, 1, { status: 'REJECTED', reason: 'address under review' });
        const expected = [
          ['REQUESTED', `user:${user}`, null],
          ['REJECTED', 'system', 'address under review'],
        ];
        const trail = async (reader: Parameters<typeof withdrawalTrail>[1]) =>
          (await withdrawalTrail(db, reader, id)).map((e) => [e.status, e.actor, e.note]);
        assert.deepEqual(await trail({ userId: user }), expected);
        assert.deepEqual(await trail({ operator: 'alice' }), expected);
        assert.equal(
          (await getWithdrawal(db, markets, { operator: 'alice' }, id)).reason,
          'address under review',
        );
      });

      it('lists the withdrawals awaiting approval for operators, oldest first', async () => {
        const first = await withdrawalAt(user, 3, { status: 'AWAITING_APPROVAL' });
        await withdrawalAt(user, 2, { status: 'COMPLETED' });
        const eth = await withdrawalAt(other, 1, { status: 'AWAITING_APPROVAL', asset: 'ETH' });
        const ids = async (f: Parameters<typeof listPendingApprovals>[2]) =>
          (await listPendingApprovals(db, markets, f)).map((w) => w.id);
        assert.deepEqual(await ids({}), [first, eth]);
        assert.deepEqual(await ids({ asset: 'ETH' }), [eth]);
        assert.deepEqual(await ids({ afterId: first }), [eth]);
        assert.deepEqual(await ids({ limit: 1 }), [first]);
        await refuses(listPendingApprovals(db, markets, { limit: 0 }), 'history.invalid_limit');
      });
    });
  });
});
