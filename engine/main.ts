/**
 * `npm start`. The gateway and the persister come with later work; until then this starts the
 * core (journal, snapshots, shard workers) on embedded defaults, runs a seeded demo workload
 * through it, prints what it did, and keeps running for operators (`npm run core -- ...`)
 * until SIGINT or SIGTERM, when it drains what is in flight, flushes the journal and stops.
 *
 *   CROSSBOOK_DATA_DIR   journal, snapshots, control socket   (default: ./data)
 *   CROSSBOOK_MARKETS    markets file with the shard map       (default: config/markets.json)
 *   DEMO_ORDERS          demo orders to send                   (default: 50000; 0 for none)
 *   DEMO_SEED            workload seed                         (default: 42)
 *   DEMO_EXIT            exit after the demo instead of serving (default: unset)
 */
import { loadMarketsFile } from './config/markets-config.ts';
import { decodeEvents } from './model/codec.ts';
import { OrderType, Side, StpMode, TimeInForce } from './model/enums.ts';
import { symbolId, userId } from './model/ids.ts';
import { lotsToQty, ticksToPrice } from './model/market.ts';
import { serveControl } from './runtime/control-socket.ts';
import { Core, CoreBusyError } from './runtime/core.ts';
import type { CommandInput } from './runtime/sequencer.ts';

const dataDir = process.env.CROSSBOOK_DATA_DIR ?? 'data';
const marketsPath =
  process.env.CROSSBOOK_MARKETS_FILE ?? process.env.CROSSBOOK_MARKETS ?? 'config/markets.json';
const orders = Number(process.env.DEMO_ORDERS ?? 50_000);
let state = Number(process.env.DEMO_SEED ?? 42) >>> 0 || 1;
/** xorshift32: a small deterministic generator for the demo workload. */
const rand = (n: number): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
};

const { file, markets } = loadMarketsFile(marketsPath);
console.log('Crossbook: the gateway is not built yet, so npm start runs the core (sequencer, risk, shard');
console.log(`workers, journal, snapshots) on ${marketsPath} with data in ${dataDir}, sends a demo workload,`);
console.log('prints what it did, and keeps serving operator commands (npm run core -- shards list).\n');

const core = await Core.start({ dataDir, marketsFile: file, log: (m) => console.log(`[core] ${m}`) });
const counts = new Map<string, number>();
core.onEvents((v, from, count) => {
  for (const e of decodeEvents(v, count, from)) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
});
console.log(`shards: ${JSON.stringify(core.shardMap())}, resuming after seq ${core.lastSeq}`);

async function send(input: CommandInput): Promise<void> {
  for (;;) {
    try {
      core.send(input);
      return;
    } catch (e) {
      if (!(e instanceof CoreBusyError)) throw e;
      await core.whenReady();
    }
  }
}

if (orders > 0) {
  const started = performance.now();
  const users = 20;
  for (let u = 1; u <= users; u++) {
    for (const a of markets.assets.values()) {
      const assetId = [...markets.assets.keys()].indexOf(a.asset);
      await send({
        kind: 'Deposit',
        userId: userId(u),
        assetId,
        amountUnits: 10 ** (a.scale + 6),
        refId: Date.now() * 100 + u,
      });
    }
  }
  const mids = markets.list.map((m) => Math.max(m.minPriceTicks * 1000, Math.floor(m.maxPriceTicks / 20)));
  for (let i = 0; i < orders; i++) {
    const m = markets.list[rand(markets.list.length)]!;
    const mid = mids[m.symbolId]!;
    const side = rand(2) === 0 ? Side.BUY : Side.SELL;
    const lots = Math.ceil(m.minNotionalUnits / (mid * m.quoteUnitsPerTickLot)) + 1 + rand(20);
    const roll = rand(100);
    await send({
      kind: 'PlaceOrder',
      symbolId: symbolId(m.symbolId),
      userId: userId(1 + rand(users)),
      side,
      orderType: roll < 90 ? OrderType.LIMIT : OrderType.MARKET,
      timeInForce: roll < 90 ? (roll < 75 ? TimeInForce.GTC : TimeInForce.IOC) : TimeInForce.NONE,
      stpMode: StpMode.DEFAULT,
      priceTicks: roll < 90 ? mid + rand(40) - (side === Side.BUY ? 25 : 15) : 0,
      qtyLots: lots,
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  }
  await core.quiesce();
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ndemo: ${orders} orders (plus deposits) in ${seconds.toFixed(2)} s, journalled and fsynced`);
  console.log(`events: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const snap = await core.snapshot();
  console.log(`snapshot at seq ${snap.seq}, state hash ${snap.hash}`);
  const m0 = markets.list[0]!;
  console.log(
    `(prices are in ticks inside: ${ticksToPrice(m0, mids[0]!)} ${m0.quote.asset} is ${mids[0]} ticks of ${m0.symbol}; lot ${lotsToQty(m0, 1)})`,
  );
}

if (process.env.DEMO_EXIT !== undefined) {
  await core.close();
  console.log('stopped');
} else {
  const server = await serveControl(core, dataDir);
  console.log(
    `\nserving operator commands on ${dataDir}/core.sock (npm run core -- shards list); Ctrl-C stops`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: draining in-flight commands, flushing the journal, stopping the shards`);
    server.close();
    core.close().then(
      () => process.exit(0),
      (e: Error) => {
        console.error(e.message);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
