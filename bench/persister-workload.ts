/**
 * A trade-heavy event stream for the persister benchmark, made by the single-threaded engine:
 * `users` funded users, and on each symbol two FIFO books of resting makers (asks at one
 * price, bids one tick below). Each round a taker crosses 1..4 of the oldest makers on one
 * side while as many new makers join the back of that side, so a maker rests for hundreds of
 * rounds before it fills: its fill updates an order written by an earlier batch, as on a real
 * exchange. About 3.4 events and 6 ledger entries per trade.
 */
import { readFileSync } from 'node:fs';
import {
  EventWriter,
  InlineEngine,
  isLastEvent,
  Markets,
  type MarketsFile,
  OrderType,
  RECORD_BYTES,
  RecordViews,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../engine/index.ts';

/** The recorded stream: whole commands, and where each one ends. */
export interface TradeStream {
  readonly markets: Markets;
  readonly records: RecordViews;
  /** Records in `records`. */
  readonly events: number;
  /** `ends[i]`: records up to the end of command i (exclusive index). */
  readonly ends: Int32Array;
  /** `tradesUpTo[i]`: trades in commands 0..i. */
  readonly tradesUpTo: Int32Array;
  readonly commands: number;
  readonly trades: number;
}

export function loadMarkets(): Markets {
  const file = JSON.parse(
    readFileSync(new URL('../config/markets.json', import.meta.url), 'utf8'),
  ) as MarketsFile;
  return new Markets(file);
}

/** Runs the engine until it has made at least `trades` trades, recording every event. */
export function tradeHeavyStream(trades: number, users = 2_000, restingPerSide = 500, seed = 1): TradeStream {
  const markets = loadMarkets();
  const engine = new InlineEngine(markets, { makerPpm: 1000, takerPpm: 2000 });
  let x = seed;
  const r = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  // Sized up front: the stream's events per trade are known closely (3.4), with headroom.
  const capacity = Math.ceil(trades * 4 + users * 3 + markets.list.length * 2 * restingPerSide + 1024);
  const out = new EventWriter(capacity);
  const ends: number[] = [];
  const tradesUpTo: number[] = [];
  let made = 0;
  let ts = 1_750_000_000_000_000;
  const run = (input: Parameters<InlineEngine['submit']>[0]) => {
    ts += 20;
    const events = engine.submit(input, ts);
    for (let i = 0; i < engine.out.count; i++) out.copyFrom(engine.out.views, i);
    out.markLast();
    for (const e of events) if (e.kind === 'TradeExecuted') made++;
    ends.push(out.count);
    tradesUpTo.push(made);
  };
  for (let u = 1; u <= users; u++) {
    for (let a = 0; a < 3; a++)
      run({ kind: 'Deposit', userId: userId(u), assetId: a, amountUnits: 2 ** 40, refId: u * 4 + a });
  }
  const price = (s: number) => (s === 2 ? 5_000 : s === 1 ? 300_000 : 5_000_000);
  const lots = (s: number) => markets.byId(s)!.minQtyLots * 100;
  const place = (s: number, user: number, side: Side, priceTicks: number, qtyLots: number) =>
    run({
      kind: 'PlaceOrder',
      symbolId: symbolId(s),
      userId: userId(user),
      side,
      orderType: OrderType.LIMIT,
      timeInForce: TimeInForce.GTC,
      stpMode: StpMode.NONE,
      priceTicks,
      qtyLots,
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  for (let s = 0; s < markets.list.length; s++) {
    for (let i = 0; i < restingPerSide; i++) {
      place(s, 1 + r(users), Side.SELL, price(s), lots(s));
      place(s, 1 + r(users), Side.BUY, price(s) - 1, lots(s));
    }
  }
  while (made < trades) {
    const s = r(markets.list.length);
    const takerBuys = r(2) === 0;
    const k = 1 + r(4);
    const makerSide = takerBuys ? Side.SELL : Side.BUY;
    const level = takerBuys ? price(s) : price(s) - 1;
    for (let j = 0; j < k; j++) place(s, 1 + r(users), makerSide, level, lots(s));
    place(s, 1 + r(users), takerBuys ? Side.BUY : Side.SELL, level, k * lots(s));
  }
  const events = out.count;
  const records = new RecordViews(out.views.buffer.slice(0, events * RECORD_BYTES));
  if (!isLastEvent(records, events - 1)) throw new Error('workload: the stream does not end on a command');
  return {
    markets,
    records,
    events,
    ends: Int32Array.from(ends),
    tradesUpTo: Int32Array.from(tradesUpTo),
    commands: ends.length,
    trades: made,
  };
}
