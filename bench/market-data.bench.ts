/**
 * Market data builder throughput: events per second through MarketData (depth with update
 * ids and diffs, trades and aggregates, klines of all 16 intervals, rolling tickers), fed
 * the engine benchmark's seeded workload (workload.ts) in release-sized batches.
 *
 *   node --import tsx bench/market-data.bench.ts                     200,000 commands, 8 symbols
 *   node --import tsx bench/market-data.bench.ts --commands 1000000 --batch 512 --symbols 1
 *   node --import tsx bench/market-data.bench.ts --wants none       state only: no payload encoded
 *
 * An InlineEngine runs the workload (untimed); each batch of commands' events is copied into
 * a buffer and handed to `md.listener`, which alone is timed, together with the clock ticks
 * (every 20 ms of simulated time: 100 ms and 1 s flushes, kline closes). Commands are stamped
 * 50 µs apart (20,000 commands a simulated second), so klines and windows roll over as they
 * would. Payloads go to a sink that counts them (the fan-out is not measured here).
 * The last line is JSON.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type AssetSpec,
  CancelRestriction,
  type CommandInput,
  InlineEngine,
  loadMarketsFile,
  type MarketSpec,
  Markets,
  type OrderId,
  OrderType,
  RECORD_BYTES,
  RecordViews,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../engine/index.ts';
import { MarketData } from '../gateway/market-data/market-data.ts';
import { DEFAULT_WORKLOAD, generateWorkload, Op, type Workload } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '200000' },
    symbols: { type: 'string', default: '8' },
    batch: { type: 'string', default: '256' },
    seed: { type: 'string', default: '42' },
    /** 'all' (default) or 'none': no stream wanted, so state only, nothing encoded. */
    wants: { type: 'string', default: 'all' },
  },
});
const COMMANDS = Number(args.commands);
const SYMBOLS = Number(args.symbols);
const BATCH = Number(args.batch);
const STEP_MICROS = 50;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** SYMBOLS markets with BTCUSDT's parameters (COINkUSDT), as the engine benchmarks use. */
function markets(): Markets {
  const cfg = loadMarketsFile(fileURLToPath(new URL('../config/markets.json', import.meta.url))).file;
  const btc = cfg.markets.find((m) => m.symbol === 'BTCUSDT')!;
  const usdt = cfg.assets.find((a) => a.asset === 'USDT')!;
  const assets: AssetSpec[] = [];
  const list: MarketSpec[] = [];
  for (let k = 0; k < SYMBOLS; k++) {
    assets.push({ asset: `COIN${k}`, scale: 8 });
    list.push({ ...btc, symbol: `COIN${k}USDT`, baseAsset: `COIN${k}` });
  }
  assets.push(usdt);
  return new Markets({ assets, markets: list });
}

function input(w: Workload, i: number): CommandInput {
  const k = w.kind[i]!;
  const sym = symbolId(w.symbol[i]!);
  const user = userId(w.userId[i]!);
  if (k === Op.GTC || k === Op.IOC || k === Op.MARKET) {
    const market = k === Op.MARKET;
    return {
      kind: 'PlaceOrder',
      symbolId: sym,
      userId: user,
      side: w.side[i] === 0 ? Side.BUY : Side.SELL,
      orderType: market ? OrderType.MARKET : OrderType.LIMIT,
      timeInForce: market ? TimeInForce.NONE : k === Op.GTC ? TimeInForce.GTC : TimeInForce.IOC,
      stpMode: StpMode.NONE,
      priceTicks: market ? 0 : w.price[i]!,
      qtyLots: w.qty[i]!,
      quoteQtyUnits: 0,
      clientOrderId: '',
    };
  }
  if (k === Op.CANCEL) {
    return {
      kind: 'CancelOrder',
      symbolId: sym,
      userId: user,
      orderId: w.orderId[i]! as OrderId,
      clientOrderId: '',
      cancelRestriction: CancelRestriction.NONE,
    };
  }
  return {
    kind: 'AmendOrder',
    symbolId: sym,
    userId: user,
    orderId: w.orderId[i]! as OrderId,
    clientOrderId: '',
    priceTicks: k === Op.AMEND_QTY ? 0 : w.price[i]!,
    qtyLots: w.total[i]!,
    newClientOrderId: '',
  };
}

function main(): void {
  const m = markets();
  const users = 1000;
  const w = generateWorkload({
    ...DEFAULT_WORKLOAD,
    users,
    ops: COMMANDS,
    symbols: SYMBOLS,
    seed: Number(args.seed),
  });
  const engine = new InlineEngine(m);
  let micros = 1_700_000_000_000_000;
  const funds = Math.floor((Number.MAX_SAFE_INTEGER - 1) / (users + 1));
  let ref = 1;
  for (let u = 1; u <= users; u++) {
    for (let a = 0; a <= SYMBOLS; a++) {
      engine.submit(
        { kind: 'Deposit', userId: userId(u), assetId: a, amountUnits: funds, refId: ref++ },
        micros,
      );
    }
  }
  const clock = { nowMicros: () => micros };
  let messages = 0;
  let bytes = 0;
  const md = new MarketData({
    markets: m,
    clock,
    onMessage: (_stream, payload) => {
      messages++;
      bytes += payload.length;
    },
    afterSeq: engine.sequencer.nextSeq - 1,
    wants: () => args.wants !== 'none',
  });
  // 1. Untimed: run the engine and keep every event, with the batch boundaries and the
  //    time each batch is released at, so that the timed pass reads events only.
  let store = new RecordViews(new ArrayBuffer(RECORD_BYTES * 65536));
  let stored = 0;
  const batchEnd: number[] = [];
  const batchMicros: number[] = [];
  let commands = 0;
  for (let i = 0; i < w.length; i++) {
    micros += STEP_MICROS;
    engine.submit(input(w, i), micros);
    const out = engine.out;
    if (stored + out.count > store.records) {
      const bigger = new RecordViews(new ArrayBuffer(store.buffer.byteLength * 2));
      bigger.u8.set(store.u8);
      store = bigger;
    }
    store.u8.set(out.views.u8.subarray(0, out.count * RECORD_BYTES), stored * RECORD_BYTES);
    stored += out.count;
    commands++;
    if (commands % BATCH === 0 || i === w.length - 1) {
      batchEnd.push(stored);
      batchMicros.push(micros);
    }
  }
  // 2. Timed: the builder, batch after batch, with the clock following the stamps.
  micros = batchMicros[0]! - BATCH * STEP_MICROS;
  let nextTick = Math.floor(micros / 1000) + 20;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let from = 0;
  for (let b = 0; b < batchEnd.length; b++) {
    micros = batchMicros[b]!;
    md.listener(store, from, batchEnd[b]! - from);
    from = batchEnd[b]!;
    const nowMs = Math.floor(micros / 1000);
    while (nowMs >= nextTick) {
      md.tick();
      nextTick += 20;
    }
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // CPU time of this process: on a shared machine wall time also counts other processes.
  const timed = (cpu.user + cpu.system) / 1000;
  const events = stored;
  const seconds = timed / 1000;
  const mem = process.memoryUsage();
  console.log(
    `market data bench: ${fmt(commands)} commands (${fmt(w.prefill)} prefill) over ${SYMBOLS} symbols, ` +
      `${fmt(events)} events in batches of ${BATCH} commands, ${((commands * STEP_MICROS) / 1e6).toFixed(1)} s simulated`,
  );
  console.log(
    `builder: ${fmt(events / seconds)} events/s, ${fmt(commands / seconds)} commands/s, ` +
      `${(1e9 / (events / seconds)).toFixed(0)} ns/event; ${fmt(messages)} payloads (${fmt(bytes / 1e6)} MB), ` +
      `${fmt(messages / seconds)} payloads/s; heap ${fmt(mem.heapUsed / 1e6)} MB; ` +
      `by CPU time (${(seconds).toFixed(2)} s CPU, ${(wall / 1000).toFixed(2)} s wall)`,
  );
  console.log(
    JSON.stringify({
      bench: 'market-data',
      symbols: SYMBOLS,
      commands,
      events,
      eventsPerSec: Math.round(events / seconds),
      commandsPerSec: Math.round(commands / seconds),
      nsPerEvent: Math.round(1e9 / (events / seconds)),
      payloads: messages,
      payloadsPerSec: Math.round(messages / seconds),
      wallEventsPerSec: Math.round(events / (wall / 1000)),
      encoded: args.wants !== 'none',
    }),
  );
}

main();
