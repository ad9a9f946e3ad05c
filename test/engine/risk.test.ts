/**
 * Risk: holds, settlement with fees, deposits and withdrawals, through the whole engine on
 * one thread (sequencer -> risk -> book -> settlement). The property test drives random
 * command streams and checks after every command that every asset's total is exactly its
 * net deposits, nothing is negative, and every locked unit is held by an order or a
 * withdrawal.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type EngineEvent,
  Markets,
  OrderType,
  ResultCode,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { InlineEngine } from '../../engine/runtime/inline-engine.ts';
import { FEE_ACCOUNT, feeOf, Risk } from '../../engine/runtime/risk.ts';
import type { CommandInput } from '../../engine/runtime/sequencer.ts';

/** Two markets sharing a quote asset: XXX/YYY and ZZZ/YYY, whole units, prices in cents. */
const markets = new Markets({
  assets: [
    { asset: 'XXX', scale: 0 },
    { asset: 'ZZZ', scale: 0 },
    { asset: 'YYY', scale: 2 },
  ],
  markets: ['XXX', 'ZZZ'].map((base) => ({
    symbol: `${base}YYY`,
    baseAsset: base,
    quoteAsset: 'YYY',
    tickSize: '0.01',
    stepSize: '1',
    minPrice: '0.01',
    maxPrice: '100',
    minQty: '1',
    maxQty: '1000',
    minNotional: '0.01',
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER' as const,
  })),
});
const XXX = 0;
const YYY = 2;
const S0 = symbolId(0);

const limit = (
  user: number,
  side: Side,
  price: number,
  qty: number,
  tif: TimeInForce = TimeInForce.GTC,
): CommandInput => ({
  kind: 'PlaceOrder',
  symbolId: S0,
  userId: userId(user),
  side,
  orderType: OrderType.LIMIT,
  timeInForce: tif,
  stpMode: StpMode.NONE,
  priceTicks: price,
  qtyLots: qty,
  quoteQtyUnits: 0,
  clientOrderId: '',
});
const deposit = (user: number, asset: number, amount: number, ref = 1): CommandInput => ({
  kind: 'Deposit',
  userId: userId(user),
  assetId: asset,
  amountUnits: amount,
  refId: ref,
});
const balance = (e: InlineEngine, user: number, asset: number) =>
  e.risk.balancesOf(user)[asset] ?? { free: 0, locked: 0 };
const kinds = (events: EngineEvent[]) => events.map((x) => x.kind);

describe('risk', () => {
  it('holds the limit notional of a buy and the quantity of a sell, and refuses what is not there', () => {
    const e = new InlineEngine(markets, { makerPpm: 0, takerPpm: 0 });
    e.submit(deposit(1, YYY, 10_000));
    e.submit(deposit(2, XXX, 5));
    assert.deepEqual(kinds(e.submit(limit(1, Side.BUY, 2_000, 4))), ['OrderAccepted']);
    assert.deepEqual(balance(e, 1, YYY), { assetId: YYY, free: 2_000, locked: 8_000 });
    const refused = e.submit(limit(1, Side.BUY, 2_000, 2));
    assert.equal(refused[0]?.kind, 'OrderRejected');
    assert.equal((refused[0] as { code: number }).code, ResultCode.INSUFFICIENT_BALANCE);
    assert.deepEqual(kinds(e.submit(limit(2, Side.SELL, 2_500, 5))), ['OrderAccepted']);
    assert.deepEqual(balance(e, 2, XXX), { assetId: XXX, free: 0, locked: 5 });
    e.risk.checkInvariants();
  });

  it('lets every new account spend its first deposit, also the ones whose arrival grows the tables', () => {
    const e = new InlineEngine(markets, { makerPpm: 0, takerPpm: 0 });
    for (let u = 1; u <= 5000; u++) {
      e.submit(deposit(u, YYY, 10_000));
      const placed = e.submit(limit(u, Side.BUY, 2_000, 5));
      assert.deepEqual(kinds(placed), ['OrderAccepted'], `user ${u} can spend its deposit`);
      assert.deepEqual(balance(e, u, YYY), { assetId: YYY, free: 0, locked: 10_000 });
    }
    e.risk.checkInvariants();
  });

  it('settles a trade at the maker price, returns the price improvement, and charges fees to the fee account', () => {
    const e = new InlineEngine(markets, { makerPpm: 1_000, takerPpm: 2_000 });
    e.submit(deposit(1, YYY, 1_000_000));
    e.submit(deposit(2, XXX, 1_000));
    e.submit(limit(2, Side.SELL, 1_000, 1_000)); // maker sells 1000 at 10.00
    const events = e.submit(limit(1, Side.BUY, 1_000_000 / 1_000, 1_000)); // taker buys at 10.00 limit... same price
    assert.deepEqual(kinds(events), ['OrderAccepted', 'TradeExecuted', 'TradeSettled']);
    const settled = events[2] as Extract<EngineEvent, { kind: 'TradeSettled' }>;
    assert.equal(settled.quoteUnits, 1_000_000);
    assert.equal(settled.buyerFeeUnits, feeOf(1_000, 2_000)); // taker fee on base received: 2
    assert.equal(settled.sellerFeeUnits, feeOf(1_000_000, 1_000)); // maker fee on quote: 1000
    assert.deepEqual(balance(e, 1, XXX), { assetId: XXX, free: 998, locked: 0 });
    assert.deepEqual(balance(e, 2, YYY), { assetId: YYY, free: 999_000, locked: 0 });
    assert.deepEqual(balance(e, FEE_ACCOUNT, XXX), { assetId: XXX, free: 2, locked: 0 });
    assert.deepEqual(balance(e, FEE_ACCOUNT, YYY), { assetId: YYY, free: 1_000, locked: 0 });
    e.risk.checkInvariants();
  });

  it('releases the difference when a buy limit trades below its limit', () => {
    const e = new InlineEngine(markets, { makerPpm: 0, takerPpm: 0 });
    e.submit(deposit(1, YYY, 10_000));
    e.submit(deposit(2, XXX, 10));
    e.submit(limit(2, Side.SELL, 500, 10));
    e.submit(limit(1, Side.BUY, 800, 10)); // holds 8000, pays 5000
    assert.deepEqual(balance(e, 1, YYY), { assetId: YYY, free: 5_000, locked: 0 });
    assert.deepEqual(balance(e, 1, XXX), { assetId: XXX, free: 10, locked: 0 });
    e.risk.checkInvariants();
  });

  it('gives back the unused budget of a MARKET buy by quantity when it ends', () => {
    const e = new InlineEngine(markets, { makerPpm: 0, takerPpm: 0 });
    e.submit(deposit(1, YYY, 100_000));
    e.submit(deposit(2, XXX, 3));
    e.submit(limit(2, Side.SELL, 1_000, 3));
    const events = e.submit({
      ...limit(1, Side.BUY, 0, 5),
      orderType: OrderType.MARKET,
      timeInForce: TimeInForce.NONE,
    } as CommandInput);
    assert.deepEqual(kinds(events), ['OrderAccepted', 'TradeExecuted', 'TradeSettled', 'OrderExpired']);
    assert.deepEqual(balance(e, 1, YYY), { assetId: YYY, free: 97_000, locked: 0 });
    assert.equal(e.risk.holdCount, 0);
    e.risk.checkInvariants();
  });

  it('stops a MARKET buy by quantity at the funds it has, and expires the rest', () => {
    const e = new InlineEngine(markets, { makerPpm: 0, takerPpm: 0 });
    e.submit(deposit(1, YYY, 2_500));
    e.submit(deposit(2, XXX, 5));
    e.submit(limit(2, Side.SELL, 1_000, 5));
    const events = e.submit({
      ...limit(1, Side.BUY, 0, 5),
      orderType: OrderType.MARKET,
      timeInForce: TimeInForce.NONE,
    } as CommandInput);
    const trade = events.find((x) => x.kind === 'TradeExecuted') as { qtyLots: number };
    assert.equal(trade.qtyLots, 2);
    const expired = events.find((x) => x.kind === 'OrderExpired') as { expiredLots: number; reason: number };
    assert.equal(expired.expiredLots, 3);
    assert.deepEqual(balance(e, 1, YYY), { assetId: YYY, free: 500, locked: 0 });
    e.risk.checkInvariants();
  });

  it('holds a withdrawal, then settles it (funds leave) or releases it (funds return), once', () => {
    const e = new InlineEngine(markets);
    e.submit(deposit(1, YYY, 1_000));
    const held = e.submit({
      kind: 'WithdrawalHold',
      userId: userId(1),
      assetId: YYY,
      amountUnits: 600,
      refId: 7,
    });
    assert.deepEqual(kinds(held), ['WithdrawalHeld']);
    assert.deepEqual(balance(e, 1, YYY), { assetId: YYY, free: 400, locked: 600 });
    const again = e.submit({
      kind: 'WithdrawalHold',
      userId: userId(1),
      assetId: YYY,
      amountUnits: 600,
      refId: 8,
    });
    assert.equal((again[0] as { code: number }).code, ResultCode.INSUFFICIENT_BALANCE);
    assert.deepEqual(
      kinds(
        e.submit({ kind: 'WithdrawalSettle', userId: userId(1), assetId: YYY, amountUnits: 600, refId: 7 }),
      ),
      ['WithdrawalSettled'],
    );
    assert.equal(e.risk.supplyOf(YYY), 400);
    const twice = e.submit({
      kind: 'WithdrawalRelease',
      userId: userId(1),
      assetId: YYY,
      amountUnits: 600,
      refId: 7,
    });
    assert.equal((twice[0] as { code: number }).code, ResultCode.UNKNOWN_WITHDRAWAL);
    e.risk.checkInvariants();
  });

  it('refuses bad funds commands with their codes and changes nothing', () => {
    const e = new InlineEngine(markets);
    const before = e.stateHash();
    const codes = [
      e.submit(deposit(1, 99, 10)),
      e.submit(deposit(1, YYY, 0)),
      e.submit(deposit(1, YYY, 1.5)),
      e.submit(deposit(1, YYY, Number.MAX_SAFE_INTEGER + 2)),
      e.submit(deposit(0, YYY, 10)),
      e.submit({ kind: 'SetFeeRates', userId: userId(1), makerPpm: -1, takerPpm: 0 }),
      e.submit({ kind: 'SetFeeRates', userId: userId(1), makerPpm: 0, takerPpm: 1_000_001 }),
    ].map((ev) => (ev[0] as { code: number }).code);
    assert.deepEqual(codes, [
      ResultCode.UNKNOWN_ASSET,
      ResultCode.INVALID_AMOUNT,
      ResultCode.INVALID_AMOUNT,
      ResultCode.INVALID_AMOUNT,
      ResultCode.INVALID_USER_ID,
      ResultCode.INVALID_FEE_RATE,
      ResultCode.INVALID_FEE_RATE,
    ]);
    assert.equal(e.stateHash(), before);
  });

  it('computes fees exactly for any amount and rate (no intermediate beyond 2^53)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (amount, ppm) => {
          const exact = (BigInt(amount) * BigInt(ppm)) / 1_000_000n;
          assert.equal(BigInt(feeOf(amount, ppm)), exact);
        },
      ),
    );
  });

  it('restores its exported state exactly, whichever accounts it holds (with or without the fee account)', () => {
    const e = new InlineEngine(markets, { makerPpm: 1_000, takerPpm: 2_000 });
    e.submit(deposit(7, YYY, 10_000));
    e.submit(deposit(3, XXX, 10));
    e.submit(limit(7, Side.BUY, 500, 10));
    const before = e.risk.exportState();
    assert.equal(before.users.includes(FEE_ACCOUNT), false, 'no fee earned yet');
    const restored = Risk.restore(e.riskConfig, before);
    assert.deepEqual(restored.exportState(), before);
    restored.checkInvariants();
    e.submit(limit(3, Side.SELL, 500, 10));
    const after = e.risk.exportState();
    assert.ok(after.users.includes(FEE_ACCOUNT));
    assert.deepEqual(Risk.restore(e.riskConfig, after).exportState(), after);
  });

  describe('conservation', () => {
    const user = fc.integer({ min: 1, max: 4 });
    const side = fc.constantFrom<Side>(Side.BUY, Side.SELL);
    const op: fc.Arbitrary<CommandInput> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record({
            u: user,
            a: fc.constantFrom(0, 1, 2),
            n: fc.integer({ min: 1, max: 50_000 }),
            r: fc.nat(),
          })
          .map(({ u, a, n, r }) => deposit(u, a, n, r)),
      },
      {
        weight: 10,
        arbitrary: fc
          .record({
            u: user,
            s: side,
            sym: fc.constantFrom(0, 1),
            kind: fc.constantFrom('GTC', 'GTC', 'IOC', 'FOK', 'MARKET', 'QUOTE', 'MAKER'),
            p: fc.integer({ min: 90, max: 110 }),
            q: fc.integer({ min: 1, max: 40 }),
            quote: fc.integer({ min: 1, max: 5_000 }),
            stp: fc.constantFrom<StpMode>(0, 1, 2, 3, 4, 255),
          })
          .map(({ u, s, sym, kind, p, q, quote, stp }): CommandInput => {
            const base = { ...limit(u, s, p, q), symbolId: symbolId(sym), stpMode: stp } as Extract<
              CommandInput,
              { kind: 'PlaceOrder' }
            >;
            switch (kind) {
              case 'IOC':
                return { ...base, timeInForce: TimeInForce.IOC };
              case 'FOK':
                return { ...base, timeInForce: TimeInForce.FOK };
              case 'MARKET':
                return { ...base, orderType: OrderType.MARKET, timeInForce: TimeInForce.NONE, priceTicks: 0 };
              case 'QUOTE':
                return {
                  ...base,
                  orderType: OrderType.MARKET,
                  timeInForce: TimeInForce.NONE,
                  priceTicks: 0,
                  qtyLots: 0,
                  quoteQtyUnits: quote,
                };
              case 'MAKER':
                return { ...base, orderType: OrderType.LIMIT_MAKER, timeInForce: TimeInForce.NONE };
              default:
                return base;
            }
          }),
      },
      {
        weight: 3,
        arbitrary: fc.record({ u: user, id: fc.integer({ min: 1, max: 60 }) }).map(
          ({ u, id }): CommandInput => ({
            kind: 'CancelOrder',
            symbolId: S0,
            userId: userId(u),
            orderId: id as never,
            clientOrderId: '',
            cancelRestriction: 0,
          }),
        ),
      },
      {
        weight: 3,
        arbitrary: fc
          .record({
            u: user,
            id: fc.integer({ min: 1, max: 60 }),
            p: fc.oneof(fc.constant(0), fc.integer({ min: 90, max: 110 })),
            q: fc.integer({ min: 1, max: 60 }),
          })
          .map(
            ({ u, id, p, q }): CommandInput => ({
              kind: 'AmendOrder',
              symbolId: S0,
              userId: userId(u),
              orderId: id as never,
              clientOrderId: '',
              priceTicks: p,
              qtyLots: q,
              newClientOrderId: '',
            }),
          ),
      },
      {
        weight: 1,
        arbitrary: user.map(
          (u): CommandInput => ({ kind: 'CancelAllOrders', symbolId: S0, userId: userId(u) }),
        ),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({
            u: user,
            a: fc.constantFrom(0, 1, 2),
            n: fc.integer({ min: 1, max: 20_000 }),
            r: fc.integer({ min: 1, max: 8 }),
            k: fc.constantFrom('WithdrawalHold', 'WithdrawalSettle', 'WithdrawalRelease'),
          })
          .map(
            ({ u, a, n, r, k }): CommandInput => ({
              kind: k as 'WithdrawalHold',
              userId: userId(u),
              assetId: a,
              amountUnits: n,
              refId: r,
            }),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({ u: user, m: fc.integer({ min: 0, max: 5_000 }), t: fc.integer({ min: 0, max: 5_000 }) })
          .map(
            ({ u, m, t }): CommandInput => ({
              kind: 'SetFeeRates',
              userId: userId(u),
              makerPpm: m,
              takerPpm: t,
            }),
          ),
      },
    );

    it('keeps every asset total equal to net deposits, nothing negative, every locked unit held', () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 150, size: 'max' }), (ops) => {
          const e = new InlineEngine(markets, { makerPpm: 1_000, takerPpm: 2_000 });
          for (const cmd of ops) {
            const events = e.submit(cmd);
            assert.ok(events.length >= 1);
            e.risk.checkInvariants();
          }
          // Cancel everything: every order hold comes back, only withdrawals stay locked.
          for (let u = 1; u <= 4; u++) {
            for (const sym of [0, 1])
              e.submit({ kind: 'CancelAllOrders', symbolId: symbolId(sym), userId: userId(u) });
          }
          assert.equal(e.risk.holdCount, 0);
          e.risk.checkInvariants();
        }),
        { numRuns: 200 },
      );
    });
  });
});
