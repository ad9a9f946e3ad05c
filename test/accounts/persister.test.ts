/**
 * The persister writes the engine's event stream as orders with Binance statuses, trades with
 * their fees, a balanced double-entry ledger and a balance projection equal to the engine's
 * balances, one transaction per batch of whole commands, exactly once however the stream is
 * replayed.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { EXTERNAL_ACCOUNT, FEE_ACCOUNT } from '../../accounts/db/schema.ts';
import { HistoryStreamError } from '../../accounts/history/batch-rows.ts';
import { PersisterStateError, readProgress } from '../../accounts/history/history-writer.ts';
import { type CommittedBatch, Persister } from '../../accounts/history/persister.ts';
import {
  type CommandInput,
  decodeEvents,
  type EngineEvent,
  InlineEngine,
  OrderType,
  RecordViews,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { forEachDialect, truncateAll } from './dialects.ts';
import { dumpHistory } from './persister-dump.ts';
import { demoMarkets, runSession, START_MICROS, sessionCommands } from './persister-stream.ts';

const markets = demoMarkets();
const BTCUSDT = symbolId(0);
const P = 5_000_000; // 50,000.00 USDT in ticks of 0.01

/** An engine whose every command's records also go to `sink`. */
function driver(sink: (v: RecordViews, from: number, count: number) => void) {
  const engine = new InlineEngine(markets, { makerPpm: 1000, takerPpm: 2000 });
  let n = 0;
  const send = (input: CommandInput): EngineEvent[] => {
    const events = engine.submit(input, START_MICROS + ++n * 1000);
    sink(engine.out.views, 0, engine.out.count);
    return events;
  };
  const limit = (
    user: number,
    side: Side,
    priceTicks: number,
    qtyLots: number,
    extra: Partial<{
      timeInForce: TimeInForce;
      stpMode: StpMode;
      clientOrderId: string;
      orderType: OrderType;
    }> = {},
  ) => {
    const events = send({
      kind: 'PlaceOrder',
      symbolId: BTCUSDT,
      userId: userId(user),
      side,
      orderType: extra.orderType ?? OrderType.LIMIT,
      timeInForce: extra.timeInForce ?? TimeInForce.GTC,
      stpMode: extra.stpMode ?? StpMode.DEFAULT,
      priceTicks,
      qtyLots,
      quoteQtyUnits: 0,
      clientOrderId: extra.clientOrderId ?? '',
    });
    const first = events[0]!;
    assert.ok(first.kind === 'OrderAccepted' || first.kind === 'OrderRejected');
    return first.orderId as number;
  };
  return { engine, send, limit, seq: () => n };
}

/** Every user's total (free + locked) per asset in the engine, the fee account included. */
function engineTotals(engine: InlineEngine): Map<string, number> {
  const risk = engine.risk.exportState();
  const assets = [...markets.assets.keys()];
  const out = new Map<string, number>();
  risk.users.forEach((u, k) => {
    assets.forEach((asset, a) => {
      const total = risk.free[k * assets.length + a]! + risk.locked[k * assets.length + a]!;
      if (total !== 0) out.set(`${u}:${asset}`, total);
    });
  });
  return out;
}

describe('persister', () => {
  forEachDialect((dialect) => {
    let adb: AccountsDb;
    before(async function () {
      this.timeout(60_000);
      adb = await dialect.open();
    });
    after(() => adb.close());
    beforeEach(() => truncateAll(adb));

    it('records each order with its Binance status, fills and expiry reason', async () => {
      const p = await Persister.open(adb.db, markets);
      const { send, limit, seq } = driver(p.listener);
      for (const u of [1, 2, 3]) {
        send({ kind: 'Deposit', userId: userId(u), assetId: 0, amountUnits: 10 ** 8, refId: u });
        send({ kind: 'Deposit', userId: userId(u), assetId: 2, amountUnits: 10 ** 13, refId: 10 + u });
      }
      const resting = limit(1, Side.SELL, P, 100);
      const taker = limit(2, Side.BUY, P, 40);
      const ioc = limit(2, Side.BUY, P - 1, 60, { timeInForce: TimeInForce.IOC });
      const canceled = limit(3, Side.SELL, P + 5, 10);
      send({
        kind: 'CancelOrder',
        symbolId: BTCUSDT,
        userId: userId(3),
        orderId: canceled as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
      const selfTaker = limit(1, Side.BUY, P, 10, { clientOrderId: 'self-1' });
      const amended = limit(3, Side.SELL, P + 10, 50, { clientOrderId: 'before' });
      send({
        kind: 'AmendOrder',
        symbolId: BTCUSDT,
        userId: userId(3),
        orderId: amended as never,
        clientOrderId: '',
        priceTicks: 0,
        qtyLots: 30,
        newClientOrderId: 'after',
      });
      const rejected = limit(3, Side.SELL, P, 9_000_000, { clientOrderId: 'too-big' });
      await p.flushed(seq());
      await p.close();

      const orders = new Map(
        (await adb.db.selectFrom('orders').selectAll().execute()).map((o) => [o.orderId, o] as const),
      );
      const o = (id: number) => orders.get(id)!;
      // 40 of the 100 traded, then the rest expired in a match against its owner's own buy.
      assert.equal(o(resting).status, 'EXPIRED_IN_MATCH');
      assert.equal(o(resting).executedLots, 40);
      assert.equal(o(resting).cumQuoteUnits, P * 40 * markets.byId(0)!.quoteUnitsPerTickLot);
      assert.equal(o(taker).status, 'FILLED');
      assert.equal(o(taker).executedLots, 40);
      assert.equal(o(ioc).status, 'EXPIRED');
      assert.equal(o(ioc).expiryReason, 'UNFILLED_IOC_QUANTITY_EXPIRED');
      assert.equal(o(canceled).status, 'CANCELED');
      assert.equal(o(selfTaker).status, 'NEW');
      assert.equal(o(selfTaker).clientOrderId, 'self-1');
      assert.equal(o(amended).status, 'NEW');
      assert.equal(o(amended).qtyLots, 30);
      assert.equal(o(amended).clientOrderId, 'after');
      assert.equal(o(rejected).status, 'REJECTED');
      assert.equal(o(rejected).clientOrderId, 'too-big');
      assert.equal(o(taker).side, 'BUY');
      assert.equal(o(taker).type, 'LIMIT');
      assert.equal(o(taker).timeInForce, 'GTC');
      assert.equal(o(taker).stpMode, 'EXPIRE_MAKER');

      const trades = await adb.db.selectFrom('trades').selectAll().execute();
      assert.equal(trades.length, 1);
      const t = trades[0]!;
      const base = 40 * markets.byId(0)!.baseUnitsPerLot;
      const quote = P * 40 * markets.byId(0)!.quoteUnitsPerTickLot;
      assert.deepEqual(
        [
          t.buyerUserId,
          t.sellerUserId,
          t.buyerOrderId,
          t.sellerOrderId,
          t.takerSide,
          t.qtyLots,
          t.priceTicks,
        ],
        [2, 1, taker, resting, 'BUY', 40, P],
      );
      // The taker (buyer) pays 0.2% of the base it receives, the maker 0.1% of the quote.
      assert.equal(t.buyerFeeUnits, (base * 2000) / 1e6);
      assert.equal(t.sellerFeeUnits, (quote * 1000) / 1e6);
      const legs = await adb.db
        .selectFrom('ledger')
        .select(['accountId', 'asset', 'amountUnits', 'kind'])
        .where('ref', '=', `trade:BTCUSDT:${t.tradeId}`)
        .orderBy('id')
        .execute();
      assert.deepEqual(legs, [
        { accountId: 2, asset: 'BTC', amountUnits: base - t.buyerFeeUnits, kind: 'TRADE' },
        { accountId: 1, asset: 'BTC', amountUnits: -base, kind: 'TRADE' },
        { accountId: FEE_ACCOUNT, asset: 'BTC', amountUnits: t.buyerFeeUnits, kind: 'FEE' },
        { accountId: 2, asset: 'USDT', amountUnits: -quote, kind: 'TRADE' },
        { accountId: 1, asset: 'USDT', amountUnits: quote - t.sellerFeeUnits, kind: 'TRADE' },
        { accountId: FEE_ACCOUNT, asset: 'USDT', amountUnits: t.sellerFeeUnits, kind: 'FEE' },
      ]);
    });

    it('posts deposits and settled withdrawals against the external account, not holds or releases', async () => {
      const p = await Persister.open(adb.db, markets);
      const { send } = driver(p.listener);
      send({ kind: 'Deposit', userId: userId(7), assetId: 1, amountUnits: 1000, refId: 1 });
      send({ kind: 'WithdrawalHold', userId: userId(7), assetId: 1, amountUnits: 300, refId: 2 });
      send({ kind: 'WithdrawalHold', userId: userId(7), assetId: 1, amountUnits: 200, refId: 3 });
      send({ kind: 'WithdrawalSettle', userId: userId(7), assetId: 1, amountUnits: 0, refId: 2 });
      send({ kind: 'WithdrawalRelease', userId: userId(7), assetId: 1, amountUnits: 0, refId: 3 });
      send({ kind: 'WithdrawalSettle', userId: userId(7), assetId: 1, amountUnits: 0, refId: 99 });
      await p.flushed(6);
      await p.close();
      const legs = await adb.db
        .selectFrom('ledgerEntries')
        .select(['seq', 'accountId', 'asset', 'amountUnits', 'kind', 'ref'])
        .orderBy('id')
        .execute();
      assert.deepEqual(legs, [
        { seq: 1, accountId: 7, asset: 'ETH', amountUnits: 1000, kind: 'DEPOSIT', ref: 'deposit:1' },
        {
          seq: 1,
          accountId: EXTERNAL_ACCOUNT,
          asset: 'ETH',
          amountUnits: -1000,
          kind: 'DEPOSIT',
          ref: 'deposit:1',
        },
        { seq: 4, accountId: 7, asset: 'ETH', amountUnits: -300, kind: 'WITHDRAWAL', ref: 'withdrawal:2' },
        {
          seq: 4,
          accountId: EXTERNAL_ACCOUNT,
          asset: 'ETH',
          amountUnits: 300,
          kind: 'WITHDRAWAL',
          ref: 'withdrawal:2',
        },
      ]);
      const balances = await adb.db.selectFrom('balances').selectAll().orderBy('accountId').execute();
      assert.deepEqual(balances, [
        { accountId: EXTERNAL_ACCOUNT, asset: 'ETH', totalUnits: -700, updatedSeq: 4 },
        { accountId: 7, asset: 'ETH', totalUnits: 700, updatedSeq: 4 },
      ]);
      assert.equal(
        (await adb.db.selectFrom('persisterState').selectAll().executeTakeFirstOrThrow()).lastSeq,
        6,
      );
    });

    it('keeps the ledger balanced and the projection equal to the engine over a random session', async function () {
      this.timeout(60_000);
      const p = await Persister.open(adb.db, markets, { maxBatch: 500 });
      const prevented = new Set<number>();
      const engine = runSession(sessionCommands(2_500, 11), (v, from, count) => {
        for (const e of decodeEvents(v, count, from)) {
          if (e.kind === 'SelfTradePrevented') prevented.add(e.takerOrderId).add(e.makerOrderId);
        }
        p.listener(v, from, count);
      });
      const last = engine.sequencer.nextSeq - 1;
      await p.flushed(last);
      await p.close();

      const unbalanced = await sql`
        select seq, ref, asset from ledger group by seq, ref, asset having sum(amount_units) <> 0`.execute(
        adb.db,
      );
      assert.deepEqual(unbalanced.rows, []);
      const projection = await adb.db.selectFrom('balances').selectAll().execute();
      const sums = await sql<{ accountId: number; asset: string; total: string }>`
        select account_id, asset, sum(amount_units)::text as total from ledger group by account_id, asset`.execute(
        adb.db,
      );
      assert.deepEqual(
        new Map(sums.rows.map((r) => [`${r.accountId}:${r.asset}`, Number(r.total)])),
        new Map(projection.map((b) => [`${b.accountId}:${b.asset}`, b.totalUnits])),
      );
      const users = new Map(
        projection
          .filter((b) => b.accountId >= 0 && b.totalUnits !== 0)
          .map((b) => [`${b.accountId}:${b.asset}`, b.totalUnits]),
      );
      assert.deepEqual(users, engineTotals(engine));

      // Each order's fills are the sum of its trades; every trade's orders exist.
      const fills = await sql<{ orderId: number; lots: string; quote: string }>`
        select order_id, sum(qty_lots)::text as lots, sum(quote_units)::text as quote from (
          select buyer_order_id as order_id, qty_lots, quote_units from trades
          union all select seller_order_id, qty_lots, quote_units from trades) f group by order_id`.execute(
        adb.db,
      );
      const orders = new Map(
        (await adb.db.selectFrom('orders').selectAll().execute()).map((o) => [o.orderId, o] as const),
      );
      assert.ok(fills.rows.length > 100, `only ${fills.rows.length} orders traded`);
      for (const f of fills.rows) {
        const o = orders.get(f.orderId);
        assert.ok(o !== undefined, `order ${f.orderId} traded but is not recorded`);
        assert.equal(o.executedLots, Number(f.lots));
        assert.equal(o.cumQuoteUnits, Number(f.quote));
      }
      const statuses = new Set([...orders.values()].map((o) => o.status));
      for (const s of [
        'NEW',
        'PARTIALLY_FILLED',
        'FILLED',
        'CANCELED',
        'EXPIRED',
        'EXPIRED_IN_MATCH',
        'REJECTED',
      ])
        assert.ok(statuses.has(s), `no order ended ${s}`);
      for (const o of orders.values()) {
        // Self-trade prevention (DECREMENT) takes quantity out of an order without filling it.
        if (o.status === 'FILLED' && o.qtyLots > 0 && !prevented.has(o.orderId))
          assert.equal(o.executedLots, o.qtyLots);
        if (o.status === 'NEW') assert.equal(o.executedLots, 0);
        if (o.status === 'PARTIALLY_FILLED') assert.ok(o.executedLots > 0 && o.executedLots < o.qtyLots);
      }
    });

    it('writes nothing twice when restarted and fed an overlapping stream', async function () {
      this.timeout(60_000);
      const commands = sessionCommands(1_500, 5);
      const once = await Persister.open(adb.db, markets, { maxBatch: 300 });
      const engine = runSession(commands, once.listener);
      await once.flushed(engine.sequencer.nextSeq - 1);
      await once.close();
      const reference = await dumpHistory(adb.db);

      await truncateAll(adb);
      // Stop part-way, then resume three times, each time replaying the stream from seq 1.
      for (const stopAt of [400, 900, 1_200, commands.length]) {
        const p = await Persister.open(adb.db, markets, { maxBatch: 300 });
        const resumedFrom = p.lastSeq();
        runSession(commands.slice(0, stopAt), p.listener);
        await p.flushed(stopAt);
        await p.close();
        assert.ok(resumedFrom < stopAt);
      }
      assert.deepEqual(await dumpHistory(adb.db), reference);
    });

    it('writes the same rows by COPY (on a server) as by unnest arrays', async function () {
      this.timeout(60_000);
      const commands = sessionCommands(1_200, 17);
      const dumps = [];
      for (const copy of [true, false]) {
        await truncateAll(adb);
        const p = await Persister.open(adb.db, markets, { maxBatch: 400, copy });
        assert.equal(p.usesCopy, copy && dialect.name === 'PostgreSQL');
        const engine = runSession(commands, p.listener);
        await p.flushed(engine.sequencer.nextSeq - 1);
        await p.close();
        dumps.push(await dumpHistory(adb.db));
      }
      assert.ok(dumps[0]!.trades.length > 100 && dumps[0]!.orders.length > 500);
      assert.deepEqual(dumps[0], dumps[1]);
    });

    it('reports to the core only what is durable; the last batch before idle is durable', async function () {
      this.timeout(60_000);
      const commands = sessionCommands(600, 29);
      for (const durableEveryMs of [60_000, 0]) {
        await truncateAll(adb);
        const batches: { lastSeq: number; durable: boolean; progress: number; durableSeq: number }[] = [];
        const p: Persister = await Persister.open(adb.db, markets, {
          maxBatch: 100,
          durableEveryMs,
          onCommit: (b) =>
            batches.push({
              lastSeq: b.lastSeq,
              durable: b.durable,
              progress: p.durableConsumer().progress(),
              durableSeq: p.lag().durableSeq,
            }),
        });
        // The whole session arrives before the first write: every batch but the last has more behind it.
        runSession(commands, p.listener);
        await p.flushed(commands.length);
        assert.ok(batches.length > 5, `${batches.length} batches`);
        let durable = 0;
        for (const b of batches) {
          if (b.durable) durable = b.lastSeq;
          assert.equal(b.progress, durable, `progress after the batch ending at ${b.lastSeq}`);
          assert.equal(b.durableSeq, durable);
        }
        assert.equal(batches.at(-1)!.durable, true);
        assert.equal(p.durableSeq(), commands.length);
        assert.equal(p.durableConsumer().progress(), commands.length);
        // Under load and within the interval no batch before the last waits for the disk; with
        // an interval of 0 every one does.
        const early = batches.slice(0, -1).map((b) => b.durable);
        assert.deepEqual(
          early,
          early.map(() => durableEveryMs === 0),
        );
        await p.close();
      }
    });

    it('rolls back the batch in flight behind a failed one: nothing after the last commit is written', async () => {
      // The database claims seq 1 and 2 (a deposit, an order) are written, but they are not:
      // cancelling that order (seq 3) fails; a deposit (seq 4), fine on its own, is in flight
      // behind it and must not commit.
      await adb.db.insertInto('persisterState').values({ consumer: 'history', lastSeq: 2 }).execute();
      const errors: Error[] = [];
      const p = await Persister.open(adb.db, markets, { maxBatch: 1, onError: (e) => errors.push(e) });
      assert.equal(p.lastSeq(), 2);
      const { send, limit } = driver(p.listener);
      send({ kind: 'Deposit', userId: userId(1), assetId: 0, amountUnits: 10 ** 8, refId: 1 });
      const order = limit(1, Side.SELL, P, 10);
      send({
        kind: 'CancelOrder',
        symbolId: BTCUSDT,
        userId: userId(1),
        orderId: order as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
      send({ kind: 'Deposit', userId: userId(2), assetId: 0, amountUnits: 10 ** 8, refId: 2 });
      send({ kind: 'Deposit', userId: userId(3), assetId: 0, amountUnits: 10 ** 8, refId: 3 });
      await assert.rejects(p.flushed(5), PersisterStateError);
      assert.match(errors[0]!.message, /orders changed by the batch are not in the database/);
      assert.equal(p.lastSeq(), 2);
      const state = await adb.db.selectFrom('persisterState').selectAll().executeTakeFirstOrThrow();
      assert.equal(state.lastSeq, 2);
      assert.deepEqual(await adb.db.selectFrom('ledger').selectAll().execute(), []);
      assert.deepEqual(await adb.db.selectFrom('balances').selectAll().execute(), []);
      await p.close();
    });

    it('ends every batch on a command boundary and writes a long command alone', async () => {
      const batches: CommittedBatch[] = [];
      const p = await Persister.open(adb.db, markets, { maxBatch: 3, onCommit: (b) => batches.push(b) });
      const { send, limit } = driver(p.listener);
      send({ kind: 'Deposit', userId: userId(1), assetId: 0, amountUnits: 10 ** 8, refId: 1 });
      send({ kind: 'Deposit', userId: userId(2), assetId: 2, amountUnits: 10 ** 13, refId: 2 });
      for (let i = 0; i < 5; i++) limit(1, Side.SELL, P + i, 10);
      limit(2, Side.BUY, P + 10, 50); // sweeps five makers: 1 accepted + 5 x (trade, settled)
      await p.flushed(8);
      await p.close();
      const sweep = batches.find((b) => b.lastSeq === 8)!;
      assert.equal(sweep.firstSeq, 8);
      assert.equal(sweep.events, 11);
      assert.equal(sweep.trades.length, 5);
      for (const b of batches) if (b.events > 3) assert.equal(b.firstSeq, b.lastSeq);
      assert.equal(
        batches.reduce((n, b) => n + b.events, 0),
        2 + 5 + 11,
      );
    });

    it('lingers with a small batch while it keeps up, never with half a batch waiting, nor at close', async () => {
      const batches: CommittedBatch[] = [];
      // A minute of linger: anything written before it runs out was written without waiting.
      const p = await Persister.open(adb.db, markets, {
        maxBatch: 4,
        lingerMs: 60_000,
        onCommit: (b) => batches.push(b),
      });
      const { send } = driver(p.listener);
      const deposit = (n: number) =>
        send({ kind: 'Deposit', userId: userId(n), assetId: 0, amountUnits: 10 ** 8, refId: n });
      deposit(1); // one event; the first batch goes at once
      await p.flushed(1);
      deposit(2); // one event, under half of maxBatch: it waits
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(p.lag().committedSeq, 1);
      assert.equal(p.lag().pendingEvents, 1);
      deposit(3); // two waiting: half of maxBatch, written now
      await p.flushed(3);
      deposit(4);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.lag().committedSeq, 3);
      await p.close(); // writes what lingers
      assert.deepEqual(
        batches.map((b) => [b.firstSeq, b.lastSeq]),
        [
          [1, 1],
          [2, 3],
          [4, 4],
        ],
      );
      assert.equal((await readProgress(adb.db, 'history')).lastSeq, 4);
    });

    it('catches up at once for a read: what has arrived goes without lingering, later batches linger again', async () => {
      const p = await Persister.open(adb.db, markets, { lingerMs: 60_000 });
      const { send } = driver(p.listener);
      const deposit = (n: number) =>
        send({ kind: 'Deposit', userId: userId(n), assetId: 0, amountUnits: 10 ** 8, refId: n });
      deposit(1);
      await p.flushed(1);
      deposit(2);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.lag().committedSeq, 1, 'lingering');
      // Neither the linger (a minute) nor the bound (30 s) is waited for: the test's own 2 s
      // timeout would fail it.
      await p.catchUp(30_000);
      assert.equal(p.lag().committedSeq, 2);
      deposit(3);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.lag().committedSeq, 2, 'lingering again');
      await p.close();
      assert.equal((await readProgress(adb.db, 'history')).lastSeq, 3);
      await p.catchUp(30_000); // closed: at once
    });

    it('stops at a gap in the stream and rejects those waiting for what is missing', async () => {
      const errors: Error[] = [];
      const p = await Persister.open(adb.db, markets, { onError: (e) => errors.push(e) });
      const captured: Buffer[] = [];
      const { send } = driver((v, from, count) =>
        captured.push(Buffer.from(v.u8.subarray(from * 192, (from + count) * 192))),
      );
      for (let i = 1; i <= 5; i++)
        send({ kind: 'Deposit', userId: userId(1), assetId: 0, amountUnits: 10, refId: i });
      const feed = (k: number) => {
        const copy = new Uint8Array(captured[k]!);
        p.listener(new RecordViews(copy.buffer), 0, copy.length / 192);
      };
      feed(0);
      feed(1);
      await p.flushed(2);
      const waiting = p.flushed(5);
      feed(3);
      await assert.rejects(waiting, HistoryStreamError);
      assert.ok(errors[0] instanceof HistoryStreamError);
      assert.match(errors[0]!.message, /from seq 2 to 4/);
      assert.equal(p.lastSeq(), 2);
      await p.close();
    });

    it('refuses to write once another persister of the same name has moved on', async () => {
      const a = await Persister.open(adb.db, markets);
      const b = await Persister.open(adb.db, markets);
      const late = await Persister.open(adb.db, markets);
      const captured: Buffer[] = [];
      const { send } = driver((v, from, count) => {
        a.listener(v, from, count);
        b.listener(v, from, count);
        captured.push(Buffer.from(v.u8.subarray(from * 192, (from + count) * 192)));
      });
      send({ kind: 'Deposit', userId: userId(1), assetId: 0, amountUnits: 10, refId: 1 });
      // Two writers racing for the same seq: one commits, the other is refused.
      const outcomes = await Promise.allSettled([a.flushed(1), b.flushed(1)]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      assert.ok(refused.reason instanceof PersisterStateError, String(refused.reason));
      // One that gets the events after the seq moved on is refused before writing anything.
      const copy = new Uint8Array(captured[0]!);
      late.listener(new RecordViews(copy.buffer), 0, copy.length / 192);
      await assert.rejects(late.flushed(1), PersisterStateError);
      assert.match(late.failure!.message, /says seq 1 was written last, this persister 0/);
      for (const p of [a, b, late]) await p.close();
      const ledger = await adb.db.selectFrom('ledgerEntries').selectAll().execute();
      assert.equal(ledger.length, 2);
    });
  });
});
