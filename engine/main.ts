/**
 * `npm start`. The gateway, core runtime and persister come with later work; until then this
 * starts the engine on the markets config with a seeded demo workload and prints what it did.
 *
 *   CROSSBOOK_MARKETS   path of the markets file   (default: config/markets.json)
 *   DEMO_ORDERS         orders per market          (default: 20000)
 *   DEMO_SEED           workload seed              (default: 42)
 */

import { loadMarketsFile } from './config/markets-config.ts';
import { decodeEvents, EventWriter, OrderBook, OrderType, Side, StpMode, TimeInForce } from './index.ts';
import { orderId, seq, userId } from './model/ids.ts';
import { lotsToQty, ticksToPrice } from './model/market.ts';

const path = process.env.CROSSBOOK_MARKETS ?? 'config/markets.json';
const ordersPerMarket = Number(process.env.DEMO_ORDERS ?? 20_000);
let state = Number(process.env.DEMO_SEED ?? 42) >>> 0 || 1;
/** xorshift32: a small deterministic generator for the demo workload. */
const rand = (n: number): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
};

const { markets } = loadMarketsFile(path);
console.log(`Crossbook engine demo: the gateway is not built yet, so npm start runs the matching engine`);
console.log(
  `on ${path} with a seeded demo workload (${ordersPerMarket} orders per market) and prints what it did.\n`,
);

let n = 0;
const writer = new EventWriter(4096);
for (const market of markets.list) {
  const book = new OrderBook(market);
  const counts = new Map<string, number>();
  // A mid price a tenth of the way up the market's price range, in ticks; orders land around it.
  const mid = Math.max(market.minPriceTicks * 1000, Math.floor(market.maxPriceTicks / 20));
  const minLots = Math.ceil(market.minNotionalUnits / (mid * market.quoteUnitsPerTickLot)) + 1;
  const started = process.hrtime.bigint();
  for (let i = 0; i < ordersPerMarket; i++) {
    n++;
    const roll = rand(100);
    const side = rand(2) === 0 ? Side.BUY : Side.SELL;
    const base = {
      seq: seq(n),
      tsMicros: Date.now() * 1000,
      symbolId: market.symbolId,
      userId: userId(1 + rand(50)),
      orderId: orderId(n),
      side,
      stpMode: StpMode.DEFAULT,
      quoteQtyUnits: 0,
      clientOrderId: '',
    };
    const offset = rand(40) - (side === Side.BUY ? 25 : 15);
    const qtyLots = minLots + rand(minLots * 20);
    if (roll < 80) {
      book.placeOrder(
        {
          ...base,
          orderType: OrderType.LIMIT,
          timeInForce: roll < 70 ? TimeInForce.GTC : TimeInForce.IOC,
          priceTicks: mid + offset,
          qtyLots,
        },
        writer,
      );
    } else if (roll < 85) {
      book.placeOrder(
        { ...base, orderType: OrderType.MARKET, timeInForce: TimeInForce.NONE, priceTicks: 0, qtyLots },
        writer,
      );
    } else {
      book.cancelOrder(
        {
          seq: base.seq,
          tsMicros: base.tsMicros,
          symbolId: market.symbolId,
          userId: base.userId,
          orderId: orderId(1 + rand(n)),
          clientOrderId: '',
          cancelRestriction: 0,
        },
        writer,
      );
    }
    if (writer.count > 2048 || i === ordersPerMarket - 1) {
      for (const e of decodeEvents(writer.views, writer.count))
        counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
      writer.reset();
    }
  }
  const micros = Number(process.hrtime.bigint() - started) / 1000;
  const { bids, asks } = book.l2(5);
  console.log(`${market.symbol}: ${ordersPerMarket} commands in ${(micros / 1000).toFixed(1)} ms`);
  console.log(`  events: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(
    `  open orders ${book.orderCount}, bid levels ${book.levelCount(Side.BUY)}, ask levels ${book.levelCount(Side.SELL)}`,
  );
  const fmt = ([p, q]: readonly [number, number]) => `${ticksToPrice(market, p)} x ${lotsToQty(market, q)}`;
  console.log(`  best asks (lowest first): ${asks.map(fmt).join(' | ') || '-'}`);
  console.log(`  best bids (highest first): ${bids.map(fmt).join(' | ') || '-'}\n`);
}
