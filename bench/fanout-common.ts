/**
 * What the market data fan-out benchmark's processes share (fanout.bench.ts drives
 * fanout-platform.ts or fanout-floor.ts as the server and fanout-client.ts as the client
 * processes): the ten markets, the 30 streams and which connection subscribes to which, the
 * clock every process stamps with, and the messages they send each other over the fork IPC
 * channel.
 *
 * The clock: `monoMicros()` is CLOCK_MONOTONIC in microseconds, the same clock in every
 * process of the machine (Node's `process.hrtime` reads it), so a stamp taken in the server
 * and one taken in a client subtract exactly. `performance.timeOrigin + performance.now()`
 * is not: each process computes its own `timeOrigin`, and on this machine two processes
 * disagreed by up to 1.5 ms. `performance.now()` is cheap and runs on the same monotonic
 * clock, so it is read and shifted by an offset calibrated once against `process.hrtime`.
 */
import type { MarketsFile } from '../engine/index.ts';

/** The ten markets (USDT quoted; every one with the same filters, prices around 100.00). */
export const SYMBOLS = [
  'BTCUSDT',
  'ETHUSDT',
  'SOLUSDT',
  'BNBUSDT',
  'XRPUSDT',
  'ADAUSDT',
  'DOGEUSDT',
  'AVAXUSDT',
  'DOTUSDT',
  'LINKUSDT',
] as const;

/** Price ticks (0.01) around which every book is quoted: 100.00. */
export const MID_TICKS = 10_000;
/** Lots are 0.001 of the base asset. */
export const LOT_DECIMALS = 3;

/** The markets file the platform runs (config/markets.json's shape). */
export function marketsFile(): MarketsFile {
  return {
    assets: [...SYMBOLS.map((s) => ({ asset: s.slice(0, -4), scale: 8 })), { asset: 'USDT', scale: 8 }],
    markets: SYMBOLS.map((symbol) => ({
      symbol,
      baseAsset: symbol.slice(0, -4),
      quoteAsset: 'USDT',
      tickSize: '0.01',
      stepSize: '0.001',
      minPrice: '0.01',
      maxPrice: '1000',
      minQty: '0.001',
      maxQty: '10000',
      minNotional: '5',
      maxNotional: '9000000',
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    })),
    // Two shards, as config/markets.json.
    shardMap: Object.fromEntries([
      ...SYMBOLS.map((s, i) => [s, i % 2] as const),
      ['*', 0] as const,
    ]) as Record<string, number>,
  };
}

/** Stream kinds, in stream index order (`index = symbol * 3 + kind`). */
export const KIND_DEPTH = 0;
export const KIND_TRADE = 1;
export const KIND_TICKER = 2;
export const KINDS = ['depth@100ms', 'trade', 'ticker'] as const;
export const STREAMS_PER_SYMBOL = KINDS.length;

/** Every stream of the benchmark, by index (`btcusdt@depth@100ms`, `btcusdt@trade`, ...). */
export const STREAMS: readonly string[] = SYMBOLS.flatMap((s) => KINDS.map((k) => `${s.toLowerCase()}@${k}`));

/**
 * The streams of connection `c`, one of each kind, each of another symbol (a mix), spread so
 * that every stream has the same number of subscribers when the connection count is a
 * multiple of 10.
 */
export function connectionStreams(c: number): [depth: number, trade: number, ticker: number] {
  const n = SYMBOLS.length;
  return [
    (c % n) * STREAMS_PER_SYMBOL + KIND_DEPTH,
    ((c + 3) % n) * STREAMS_PER_SYMBOL + KIND_TRADE,
    ((c + 7) % n) * STREAMS_PER_SYMBOL + KIND_TICKER,
  ];
}

/** Subscribers of each stream for `connections` connections. */
export function subscribersPerStream(connections: number): number[] {
  const out = new Array<number>(STREAMS.length).fill(0);
  for (let c = 0; c < connections; c++) for (const s of connectionStreams(c)) out[s]!++;
  return out;
}

/** The event loop delay of a server since its last `mark`, for the `eld` reply (ms). */
export function eventLoopDelay(h: { percentile(p: number): number; max: number }): {
  p50: number;
  p99: number;
  max: number;
} {
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

/** Bytes of a payload of `payloadBytes` as a combined connection gets it (`{"stream":..,"data":..}`). */
export function combinedBytes(stream: number, payloadBytes: number): number {
  return `{"stream":"${STREAMS[stream]}","data":}`.length + payloadBytes;
}

// --- the clock ---------------------------------------------------------------------------------

function calibrate(): number {
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    const h = Number(process.hrtime.bigint()) / 1e6;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = h - (a + b) / 2;
    }
  }
  return offset;
}

const OFFSET_MS = calibrate();

/** CLOCK_MONOTONIC in microseconds: comparable across the processes of this machine. */
export function monoMicros(): number {
  return (performance.now() + OFFSET_MS) * 1000;
}

// --- messages between the processes ------------------------------------------------------------

/**
 * What a server (platform or floor) reports of each message it published on one of the
 * benchmark's streams, flattened in groups of RECORD_FIELDS numbers:
 * `stream, id, publishMicros, refMicros, payloadBytes`. `id` is what a client reads in the
 * payload: the trade id `t`, the depth diff's last update id `u`, the ticker's event time `E`.
 * `refMicros` is where the delay is measured from: the core's release of the trade event (for
 * trades on the platform), otherwise the moment of publishing.
 */
export const RECORD_FIELDS = 5;

export interface RecordsMessage {
  readonly type: 'records';
  readonly r: number[];
}

/** Driver -> client. */
export type ToClient =
  | {
      readonly type: 'connect';
      readonly port: number;
      /** Global index of this process's first connection, and how many it opens. */
      readonly first: number;
      readonly count: number;
      /** Connections being opened at once. */
      readonly concurrency: number;
    }
  | RecordsMessage
  /** Count messages published in [from, to) (monotonic µs). */
  | { readonly type: 'window'; readonly from: number; readonly to: number }
  /** How many messages published in the window have arrived so far (answered with `progress`). */
  | { readonly type: 'progress' }
  | { readonly type: 'finish' }
  | { readonly type: 'close' };

/** Client -> driver. */
export type FromClient =
  | { readonly type: 'ready' }
  | {
      readonly type: 'connected';
      readonly open: number;
      readonly failed: number;
      readonly errors: readonly string[];
      readonly seconds: number;
    }
  | { readonly type: 'progress'; readonly received: number }
  | ClientResult;

/** One client process's tally of the window. */
export interface ClientResult {
  readonly type: 'result';
  /** Per kind (depth, trade, ticker): messages published in the window and received. */
  readonly received: number[];
  /** ... of which in order (trade t = previous + 1, depth U = previous u + 1, ticker E increasing). */
  readonly inOrder: number[];
  /** Bytes of the frames' payloads received in the window. */
  readonly bytes: number;
  /** Latency (receipt - ref) in µs per kind, hdr-histogram-js compressed base64. */
  readonly histograms: string[];
  /** Latency from the server's publish (on the bus, for the platform) to receipt, every kind. */
  readonly fromPublish: string;
  /** Received messages whose record never came (should be 0). */
  readonly unmatched: number;
  readonly unmatchedSamples: readonly string[];
  /** Latencies below zero (clamped to 1 µs; should be 0). */
  readonly negative: number;
  /** Connections closed by the server or failed before the end. */
  readonly closed: number;
  readonly closeCodes: Record<string, number>;
  /** Frames other than data on a subscribed stream (replies, shutdown notices). */
  readonly other: number;
  /** Messages received (any time) and data bytes, for the rate outside the window. */
  readonly totalMessages: number;
}

/** Driver -> server child (platform or floor). */
export type ToServer =
  | { readonly type: 'mem' }
  /** The event loop delay since the last `mark` (answered with `eld`, in ms). */
  | { readonly type: 'eld' }
  | { readonly type: 'load'; readonly tradesPerSec: number }
  | { readonly type: 'stop-load' }
  | { readonly type: 'stats' }
  /** Restart the event loop delay histogram (at the window's start). */
  | { readonly type: 'mark' }
  /** Floor only: publish `entries` (flat: offsetMicros, stream, payloadBytes) from `startAt` (monotonic µs). */
  | { readonly type: 'replay'; readonly startAt: number; readonly entries: number[] }
  /** A gateway of its own (FANOUT_TOPOLOGY=split): the core's records, to time the Redis hop. */
  | RecordsMessage;

/** The memory of this process after two full GCs (with --expose-gc), as a server child reports it. */
export function memoryReport(): Extract<FromServer, { type: 'mem' }> {
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  g?.();
  const u = process.memoryUsage();
  return {
    type: 'mem',
    rss: u.rss,
    heapTotal: u.heapTotal,
    heapUsed: u.heapUsed,
    external: u.external,
    arrayBuffers: u.arrayBuffers,
  };
}

/** Server child -> driver. */
export type FromServer =
  | { readonly type: 'ready'; readonly port: number }
  | RecordsMessage
  | {
      readonly type: 'mem';
      readonly rss: number;
      readonly heapTotal: number;
      readonly heapUsed: number;
      readonly external: number;
      readonly arrayBuffers: number;
    }
  | { readonly type: 'stats'; readonly stats: Record<string, unknown> }
  | { readonly type: 'eld'; readonly p50: number; readonly p99: number; readonly max: number }
  | { readonly type: 'replayed'; readonly published: number; readonly lateMicros: number };
