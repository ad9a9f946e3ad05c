/**
 * A deterministic event stream for the persister's tests and its crash test's child: a seeded
 * session of commands (funded users, limit and market orders, IOC, amends, cancels, cancel-all,
 * orders beyond a user's funds, self-trades, withdrawals held then settled or released) run by
 * the single-threaded engine, whose output records are what the threaded core would release.
 */
import { readFileSync } from 'node:fs';
import {
  type CommandInput,
  InlineEngine,
  Markets,
  type MarketsFile,
  OrderType,
  type RecordViews,
  type Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';

export const MARKETS_FILE = JSON.parse(
  readFileSync(new URL('../../config/markets.json', import.meta.url), 'utf8'),
) as MarketsFile;

/** The demo markets (BTCUSDT, ETHUSDT, ETHBTC over BTC, ETH, USDT). */
export function demoMarkets(): Markets {
  return new Markets(MARKETS_FILE);
}

/** The session's clock: 1 ms per command from a fixed start, so times are reproducible. */
export const START_MICROS = 1_750_000_000_000_000;

/** A seeded random source (LCG), the same on every run. */
export function seeded(seed: number): (k: number) => number {
  let x = seed >>> 0 || 1;
  return (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
}

/** `n` commands among `users` users (ids 1..users), reproducible from `seed`. */
export function sessionCommands(n: number, seed: number, users = 6): CommandInput[] {
  const r = seeded(seed);
  const markets = demoMarkets();
  const out: CommandInput[] = [];
  for (let u = 1; u <= users; u++) {
    out.push({ kind: 'Deposit', userId: userId(u), assetId: 0, amountUnits: 5 * 10 ** 8, refId: u * 10 });
    out.push({
      kind: 'Deposit',
      userId: userId(u),
      assetId: 1,
      amountUnits: 80 * 10 ** 8,
      refId: u * 10 + 1,
    });
    out.push({
      kind: 'Deposit',
      userId: userId(u),
      assetId: 2,
      amountUnits: 300_000 * 10 ** 8,
      refId: u * 10 + 2,
    });
  }
  const held: { user: number; asset: number; ref: number }[] = [];
  let ref = 1000;
  let orders = 0;
  for (let i = out.length; i < n; i++) {
    const sym = r(3);
    const m = markets.byId(sym)!;
    const mid = sym === 2 ? 5_000 : sym === 1 ? 300_000 : 5_000_000;
    const user = userId(1 + r(users));
    const roll = r(100);
    if (roll < 10 && orders > 0) {
      out.push({
        kind: 'CancelOrder',
        symbolId: symbolId(sym),
        userId: user,
        orderId: (1 + r(orders)) as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
    } else if (roll < 12) {
      out.push({ kind: 'CancelAllOrders', symbolId: symbolId(sym), userId: user });
    } else if (roll < 16 && orders > 0) {
      out.push({
        kind: 'AmendOrder',
        symbolId: symbolId(sym),
        userId: user,
        orderId: (1 + r(orders)) as never,
        clientOrderId: '',
        priceTicks: r(2) === 0 ? 0 : mid + r(40) - 20,
        qtyLots: m.minQtyLots * (20 + r(300)),
        newClientOrderId: r(4) === 0 ? `a${i}` : '',
      });
    } else if (roll < 19) {
      const asset = r(3);
      out.push({
        kind: 'WithdrawalHold',
        userId: user,
        assetId: asset,
        amountUnits: (1 + r(1000)) * 10 ** 5,
        refId: ++ref,
      });
      held.push({ user, asset, ref });
    } else if (roll < 22 && held.length > 0) {
      const w = held.splice(r(held.length), 1)[0]!;
      out.push({
        kind: r(2) === 0 ? 'WithdrawalSettle' : 'WithdrawalRelease',
        userId: userId(w.user),
        assetId: w.asset,
        amountUnits: 0,
        refId: w.ref,
      });
    } else if (roll < 23) {
      out.push({
        kind: 'Deposit',
        userId: user,
        assetId: r(3),
        amountUnits: (1 + r(10_000)) * 10 ** 6,
        refId: ++ref,
      });
    } else {
      orders++;
      const market = roll < 30;
      const huge = roll === 30;
      const byQuote = market && r(3) === 0;
      out.push({
        kind: 'PlaceOrder',
        symbolId: symbolId(sym),
        userId: user,
        side: r(2) as Side,
        orderType: market ? OrderType.MARKET : r(10) === 0 ? OrderType.LIMIT_MAKER : OrderType.LIMIT,
        timeInForce: market ? TimeInForce.NONE : r(5) === 0 ? TimeInForce.IOC : TimeInForce.GTC,
        stpMode: r(6) === 0 ? StpMode.DECREMENT : StpMode.DEFAULT,
        priceTicks: market ? 0 : mid + r(40) - 20,
        qtyLots: byQuote ? 0 : m.minQtyLots * (huge ? 10 ** 6 : 20 + r(300)),
        quoteQtyUnits: byQuote ? (50 + r(500)) * m.minNotionalUnits : 0,
        clientOrderId: r(3) === 0 ? `c${i}` : '',
      });
    }
  }
  return out;
}

/**
 * Runs `commands` through a fresh single-threaded engine, handing each command's event
 * records to `sink` as the core would (reused views, valid during the call only).
 * Returns the engine (its ledger is the truth the projection must match). Command i is
 * stamped `START_MICROS + i * stepMicros`.
 */
export function runSession(
  commands: readonly CommandInput[],
  sink: (views: RecordViews, from: number, count: number) => void,
  fees: { makerPpm: number; takerPpm: number } = { makerPpm: 1000, takerPpm: 2000 },
  stepMicros = 1000,
): InlineEngine {
  const engine = new InlineEngine(demoMarkets(), fees);
  for (let i = 0; i < commands.length; i++) {
    engine.submit(commands[i]!, START_MICROS + i * stepMicros);
    sink(engine.out.views, 0, engine.out.count);
  }
  return engine;
}
