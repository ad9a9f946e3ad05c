/**
 * The fan-out benchmark's platform: `platform/main.ts`'s platform (settings from the environment
 * the driver sets: markets file, data dir, Redis bus with its own prefix, the accounts database:
 * a PostgreSQL database of the benchmark's own or PGlite), run as a child of fanout.bench.ts so
 * that its memory and CPU are its own, plus what the benchmark needs inside it.
 *
 * FANOUT_ROLE says which part of the platform this process is (with CROSSBOOK_ROLES to match):
 * - `all`: every role in this one process;
 * - `core`: core and persister (the market data builder runs where the core runs, and publishes
 *   on the bus); the stamps, the publish records and the load below;
 * - `gateway`: a gateway of its own, reaching the core over the link, following the bus, serving
 *   the WebSocket clients: the production shape, where any number of gateways serve.
 *
 * What the benchmark adds:
 * - stamps (core): a listener placed FIRST among the core's release listeners (ahead of the
 *   market data builder, which is a durable consumer) stamps every TradeExecuted with the
 *   monotonic clock when the core releases it; the bus's `publish` / `publishAndCache` are
 *   wrapped to see each message of the benchmark's 30 streams going out (trade `t`, depth `u`,
 *   ticker `E`, payload size, time). Both go to the driver as records (fanout-common.ts) every
 *   20 ms. Neither changes what the platform does: the core's listener set is reordered through
 *   its private field, and the bus object gets own wrappers around its methods.
 * - the Redis hop (gateway): the bus's `subscribe` handlers are wrapped to see each message come
 *   back from Redis; matched against its publish record (in this process, or relayed by the
 *   driver from the core's process), publish -> follower in µs.
 * - the load (core): the engine trades at a steady rate from commands submitted in this process
 *   through the platform's CoreClient (the path REST orders take after validation), by four
 *   users created through the admin API. Per symbol, two makers keep a ten-level ladder each
 *   side (one tick apart around 100.00, 1,000 base units per level, topped up as it is eaten);
 *   takers alternate IOC buys and sells of 0.06-0.5 base units at the best level (one trade
 *   each), and each trade comes with a small GTC quote at a random level, the oldest quotes
 *   cancelled beyond 30 per symbol, so that depth diffs carry a few levels. No REST ingestion
 *   cost is on the platform: the measured work is the fan-out.
 * - the MarketStreams instance the routes create (gateway) is captured (its `attach` wrapped)
 *   for its counters.
 *
 * Prints `ready <port>` on stdout once serving (the core alone: its link's port) and sends
 * `ready`; IPC messages: fanout-common.ts (ToServer).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import {
  type CommandInput,
  type EngineEvent,
  type EventsListener,
  OrderType,
  type RecordViews,
  Side,
  StpMode,
  TimeInForce,
  userId as toUserId,
} from '../engine/index.ts';
import type {
  Bus,
  BusHandler,
  BusPayload,
  PublishAndCacheOptions,
} from '../gateway/market-data/bus/bus.port.ts';
import { channelForStream } from '../gateway/market-data/bus/channels.ts';
import { K_TRADE, kindOf, S, slot, symbolOf } from '../gateway/market-data/event-fields.ts';
import { MarketStreams } from '../gateway/market-data/ws/market-streams.ts';
import { loadConfig } from '../platform/config.ts';
import { startPlatform } from '../platform/platform.ts';
import { gatewayRoutes } from '../platform/routes.ts';
import {
  eventLoopDelay,
  type FromServer,
  KIND_TICKER,
  KIND_TRADE,
  MID_TICKS,
  memoryReport,
  monoMicros,
  RECORD_FIELDS,
  STREAMS,
  STREAMS_PER_SYMBOL,
  SYMBOLS,
  type ToServer,
} from './fanout-common.ts';

const send = (m: FromServer): void => {
  process.send?.(m);
};

// --- the MarketStreams of the routes, for its counters ------------------------------------------

let streams: MarketStreams | undefined;
const attach = MarketStreams.prototype.attach;
MarketStreams.prototype.attach = function (this: MarketStreams, ...a: Parameters<typeof attach>) {
  streams = this;
  return attach.apply(this, a);
};

// Deposits need a network per asset (the defaults know BTC, ETH and USDT only).
const assets = [...SYMBOLS.map((s) => s.slice(0, -4)), 'USDT'];
const platform = await startPlatform(loadConfig(process.env), {
  routes: gatewayRoutes,
  funds: {
    networks: Object.fromEntries(assets.map((a) => [a, ['BENCH']])),
    approvalThreshold: Object.fromEntries(assets.map((a) => [a, '1'])),
  },
});
const ROLE = process.env.FANOUT_ROLE ?? 'all';
if (ROLE !== 'all' && ROLE !== 'core' && ROLE !== 'gateway')
  throw new Error(`FANOUT_ROLE=${ROLE}: all, core or gateway`);
const core = platform.core;
const port = platform.gateway?.port;
if (port === undefined) throw new Error('fanout-platform: no port (the gateway, or the admin API of a core)');
if ((ROLE === 'gateway') !== (core === null))
  throw new Error(`fanout-platform: FANOUT_ROLE=${ROLE} does not match CROSSBOOK_ROLES`);
const linkPort = platform.link?.port;
if (ROLE === 'core' && linkPort === undefined) throw new Error('fanout-platform: the core serves no link');

// --- stamps ------------------------------------------------------------------------------------

/** Per symbol id: trade id -> release time (µs). */
const released = SYMBOLS.map(() => new Map<number, number>());
const stamp: EventsListener = (v: RecordViews, from: number, count: number) => {
  const now = monoMicros();
  for (let i = from; i < from + count; i++) {
    if (kindOf(v, i) !== K_TRADE) continue;
    released[symbolOf(v, i)]?.set(slot(v, i, S.TRADE_ID), now);
  }
};
if (core !== null) {
  // First in line: before the market data builder (a durable consumer, registered at start).
  const listeners = (core as unknown as { listeners: Set<EventsListener> }).listeners;
  const rest = [...listeners];
  listeners.clear();
  listeners.add(stamp);
  for (const l of rest) listeners.add(l);
}

let records: number[] = [];
const channelStream = new Map<string, number>(STREAMS.map((s, i) => [channelForStream(s), i]));

function intAfter(payload: string, field: string): number {
  const at = payload.indexOf(`"${field}":`);
  if (at < 0) return -1;
  let n = 0;
  for (let i = at + field.length + 3; i < payload.length; i++) {
    const c = payload.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

function record(channel: string, payload: BusPayload, seq: number): void {
  const s = channelStream.get(channel);
  if (s === undefined) return;
  const now = monoMicros();
  const kind = s % STREAMS_PER_SYMBOL;
  const text = typeof payload === 'string' ? payload : payload.toString('latin1');
  let id = seq;
  let ref = now;
  if (kind === KIND_TICKER) id = intAfter(text, 'E');
  else if (kind === KIND_TRADE) {
    const map = released[(s - kind) / STREAMS_PER_SYMBOL]!;
    const at = map.get(seq);
    if (at !== undefined) {
      ref = at;
      map.delete(seq);
    }
  }
  records.push(s, id, now, ref, text.length);
  published(s, id, now);
}

/**
 * The Redis hop: publish -> the gateway's follower gets the message back from Redis (the bus's
 * `subscribe` handlers are wrapped), µs. Per stream, id -> publish time of messages not back
 * yet, and id -> arrival time of messages back before their record (a gateway of its own gets
 * the core's records relayed by the driver, after the message itself, usually).
 */
const inFlight = STREAMS.map(() => new Map<number, number>());
const early = STREAMS.map(() => new Map<number, number>());
const hop = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 3,
});

function hopped(micros: number): void {
  hop.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(micros))));
}

function published(s: number, id: number, at: number): void {
  const back = early[s]!.get(id);
  if (back !== undefined) {
    early[s]!.delete(id);
    hopped(back - at);
    return;
  }
  const pending = inFlight[s]!;
  if (pending.size > 100_000) pending.clear();
  pending.set(id, at);
}

function arrived(channel: string, payload: BusPayload, seq: number): void {
  const s = channelStream.get(channel);
  if (s === undefined) return;
  const kind = s % STREAMS_PER_SYMBOL;
  const id =
    kind === KIND_TICKER
      ? intAfter(typeof payload === 'string' ? payload : payload.toString('latin1'), 'E')
      : seq;
  const now = monoMicros();
  const at = inFlight[s]!.get(id);
  if (at === undefined) {
    if (ROLE !== 'gateway') return;
    const e = early[s]!;
    if (e.size > 100_000) e.clear();
    e.set(id, now);
    return;
  }
  inFlight[s]!.delete(id);
  hopped(now - at);
}

{
  const bus = platform.bus as Bus & Record<string, unknown>;
  const subscribe = bus.subscribe.bind(bus);
  bus.subscribe = (channelOrPattern: string, handler: BusHandler) =>
    subscribe(channelOrPattern, (channel, payload, seq, prevSeq) => {
      arrived(channel, payload, seq);
      handler(channel, payload, seq, prevSeq);
    });
  const publish = bus.publish.bind(bus);
  const publishAndCache = bus.publishAndCache.bind(bus);
  bus.publish = (channel: string, payload: BusPayload, seq?: number, prevSeq?: number) => {
    record(channel, payload, seq ?? 0);
    publish(channel, payload, seq, prevSeq);
  };
  bus.publishAndCache = (
    channel: string,
    payload: BusPayload,
    seq: number,
    options: PublishAndCacheOptions,
  ) => {
    record(channel, payload, seq);
    publishAndCache(channel, payload, seq, options);
  };
}

setInterval(() => {
  if (records.length === 0) return;
  send({ type: 'records', r: records });
  records = [];
}, 20);
// Old release stamps of trades never published (none expected) do not pile up.
setInterval(() => {
  for (const m of released) if (m.size > 100_000) m.clear();
}, 10_000).unref();

// --- users and the load ------------------------------------------------------------------------

const origin = `http://127.0.0.1:${port}`;

async function createUser(email: string, usdt: string, base: string): Promise<number> {
  const res = await fetch(`${origin}/admin/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      email,
      deposits: [
        { asset: 'USDT', amount: usdt },
        ...SYMBOLS.map((s) => ({ asset: s.slice(0, -4), amount: base })),
      ],
      kycTier: 1,
    }),
  });
  const body = (await res.json()) as { userId?: number };
  if (res.status !== 200 || typeof body.userId !== 'number')
    throw new Error(`creating ${email}: ${res.status} ${JSON.stringify(body)}`);
  return body.userId;
}

// The users and the ladders where the core runs (a gateway of its own only serves).
const makerBid = core === null ? 0 : await createUser('maker-bid@fanout.bench', '20000000', '1');
const makerAsk = core === null ? 0 : await createUser('maker-ask@fanout.bench', '1000', '200000');
const takers =
  core === null
    ? []
    : [
        await createUser('taker-a@fanout.bench', '5000000', '50000'),
        await createUser('taker-b@fanout.bench', '5000000', '50000'),
      ];

const LEVELS = 10;
const LEVEL_LOTS = 1_000_000;
const REFILL_BELOW = 200_000;
const QUOTES_KEPT = 30;

const load = {
  commands: 0,
  trades: 0,
  rejected: 0,
  failed: 0,
  inFlight: 0,
  takers: 0,
  samples: [] as string[],
};

function place(
  symbol: number,
  user: number,
  side: Side,
  tif: TimeInForce,
  priceTicks: number,
  qtyLots: number,
): Promise<EngineEvent[]> {
  const input: CommandInput = {
    kind: 'PlaceOrder',
    symbolId: platform.markets.list[symbol]!.symbolId,
    userId: toUserId(user),
    side,
    orderType: OrderType.LIMIT,
    timeInForce: tif,
    stpMode: StpMode.NONE,
    priceTicks,
    qtyLots,
    quoteQtyUnits: 0,
    clientOrderId: '',
  };
  return submit(input);
}

function submit(input: CommandInput): Promise<EngineEvent[]> {
  load.commands++;
  load.inFlight++;
  return platform.client.submit(input).then(
    (events) => {
      load.inFlight--;
      for (const e of events) {
        if (e.kind === 'OrderRejected' || e.kind === 'CancelRejected') {
          load.rejected++;
          if (load.samples.length < 5) load.samples.push(JSON.stringify(e));
        } else if (e.kind === 'TradeExecuted') {
          load.trades++;
          if (e.makerRemainingLots < REFILL_BELOW && e.makerRemainingLots + e.qtyLots >= REFILL_BELOW) {
            // Top the level up once, as its order crosses the mark.
            const bid = e.takerSide === Side.SELL;
            void place(
              e.symbolId as number,
              bid ? makerBid : makerAsk,
              bid ? Side.BUY : Side.SELL,
              TimeInForce.GTC,
              e.priceTicks,
              LEVEL_LOTS,
            );
          }
        }
      }
      return events;
    },
    (err: unknown) => {
      load.inFlight--;
      load.failed++;
      if (load.samples.length < 5) load.samples.push(String(err));
      return [];
    },
  );
}

// The ladders, untimed.
if (core !== null) {
  const all: Promise<EngineEvent[]>[] = [];
  for (let s = 0; s < SYMBOLS.length; s++) {
    for (let l = 1; l <= LEVELS; l++) {
      all.push(place(s, makerBid, Side.BUY, TimeInForce.GTC, MID_TICKS - l, LEVEL_LOTS));
      all.push(place(s, makerAsk, Side.SELL, TimeInForce.GTC, MID_TICKS + l, LEVEL_LOTS));
    }
  }
  await Promise.all(all);
  if (load.rejected > 0 || load.failed > 0)
    throw new Error(`fanout-platform: the ladders were refused: ${load.samples.join('; ')}`);
}

/** A seeded generator (sfc32), so that two runs send the same commands. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}
const rand = sfc32(7, 11, 13, 17);
const nextSide = SYMBOLS.map(() => 0);
const quotes = SYMBOLS.map(() => [] as number[]);
let nextSymbol = 0;

function takerTrade(): void {
  const s = nextSymbol;
  nextSymbol = (nextSymbol + 1) % SYMBOLS.length;
  const buy = nextSide[s] === 0;
  nextSide[s] = buy ? 1 : 0;
  const taker = takers[load.takers++ % takers.length]!;
  const lots = 60 + Math.floor(rand() * 441);
  void place(
    s,
    taker,
    buy ? Side.BUY : Side.SELL,
    TimeInForce.IOC,
    buy ? MID_TICKS + 1 : MID_TICKS - 1,
    lots,
  );
  // A small quote at a random level 2..10 of a random side; the oldest go beyond QUOTES_KEPT.
  const level = 2 + Math.floor(rand() * (LEVELS - 1));
  const bid = rand() < 0.5;
  const quoteLots = 60 + Math.floor(rand() * 4941);
  void place(
    s,
    bid ? makerBid : makerAsk,
    bid ? Side.BUY : Side.SELL,
    TimeInForce.GTC,
    bid ? MID_TICKS - level : MID_TICKS + level,
    quoteLots,
  ).then((events) => {
    const accepted = events.find((e) => e.kind === 'OrderAccepted');
    if (accepted === undefined) return;
    const q = quotes[s]!;
    q.push(Number(accepted.orderId), bid ? makerBid : makerAsk);
    if (q.length > QUOTES_KEPT * 2) {
      const id = q.shift()!;
      const user = q.shift()!;
      void submit({
        kind: 'CancelOrder',
        symbolId: platform.markets.list[s]!.symbolId,
        userId: toUserId(user),
        orderId: id as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
    }
  });
}

let loadTimer: NodeJS.Timeout | undefined;
const MAX_IN_FLIGHT = 4096;

function startLoad(tradesPerSec: number): void {
  if (loadTimer !== undefined) clearInterval(loadTimer);
  const t0 = performance.now();
  let sent = 0;
  loadTimer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * tradesPerSec);
    while (sent < due && load.inFlight < MAX_IN_FLIGHT) {
      takerTrade();
      sent++;
    }
    // Behind by more than the in-flight bound: skip rather than burst later.
    if (due - sent > MAX_IN_FLIGHT) sent = due;
  }, 5);
}

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();

process.on('message', (m: ToServer) => {
  switch (m.type) {
    case 'mark':
      eld.reset();
      hop.reset();
      return;
    case 'eld':
      send({ type: 'eld', ...eventLoopDelay(eld) });
      return;
    case 'mem':
      send(memoryReport());
      return;
    case 'load':
      if (core === null) throw new Error('fanout-platform: the load runs where the core runs');
      startLoad(m.tradesPerSec);
      return;
    case 'stop-load':
      if (loadTimer !== undefined) clearInterval(loadTimer);
      loadTimer = undefined;
      return;
    case 'stats':
      send({
        type: 'stats',
        stats: {
          streams: streams?.stats() ?? null,
          bus: platform.bus.stats(),
          busStatus: platform.bus.status,
          load: { ...load },
          marketDataFault: platform.marketData?.md.fault ?? null,
          emitErrors: platform.marketData?.md.emitErrors ?? 0,
          redisHopMicros: {
            count: hop.totalCount,
            p50: hop.getValueAtPercentile(50),
            p99: hop.getValueAtPercentile(99),
            max: hop.maxValue,
          },
        },
      });
      return;
    case 'records':
      // The core's records (a gateway of its own): publish times for the Redis hop.
      for (let i = 0; i < m.r.length; i += RECORD_FIELDS) published(m.r[i]!, m.r[i + 1]!, m.r[i + 2]!);
      return;
    case 'replay':
      return;
  }
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  if (loadTimer !== undefined) clearInterval(loadTimer);
  platform.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

// The core alone: its link's port, for the gateway the driver starts next.
const served = ROLE === 'core' ? linkPort! : port;
process.stdout.write(`ready ${served}\n`);
send({ type: 'ready', port: served });
