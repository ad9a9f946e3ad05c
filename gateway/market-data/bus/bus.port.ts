/**
 * The market data bus: how market data built once (in the core's process) reaches every gateway.
 * A port with two adapters beside it: in process (the default, one process hosts every role) and
 * Redis (`REDIS_URL`, gateways scaled out). The same suite runs over both
 * (test/gateway/bus.test.ts). docs/MARKET-DATA-BUS.md tells the whole story.
 *
 * Three things travel on it:
 * - messages, published fire-and-forget on a channel (one per symbol and stream kind, see
 *   channels.ts) and delivered to every subscription whose channel or pattern matches, in the
 *   order they were published on that channel;
 * - a cache of the latest value per key (depth snapshots, tickers, open klines), so that a gateway
 *   that starts, or resynchronises, has the current state at once;
 * - the bus's status (up or down), so that a subscriber knows when it may have missed messages.
 *
 * Sequences make the cache and the stream meet without a gap. Every message may carry `seq` (a
 * positive integer, strictly increasing per channel: the depth update id `u`, the trade id, the
 * engine sequence) and `prevSeq`, the `seq` of the message it follows on its channel (depth: `U - 1`;
 * trades: id - 1), or UNCHAINED for channels where each message stands alone (tickers, klines).
 * The cache stores the `seq` its value is current at. A subscriber subscribes first, buffers, reads
 * the cache, drops what the snapshot already covers (`seq <= snapshot seq`) and checks that every
 * chained message follows the one before: see snapshot-sync.ts, which does exactly that.
 */

/** A payload: encoded once by its producer, delivered as is (a string stays a string, bytes stay bytes). */
export type BusPayload = string | Buffer;

/** `prevSeq` of a message that follows no particular message (latest-value channels: tickers, klines). */
export const UNCHAINED = -1;

/**
 * Receives one message: the concrete channel it was published on (also for pattern subscriptions),
 * the payload (zero-copy: keep it beyond the call only if you may; never mutate it), its `seq` (0 when
 * the publisher gave none) and `prevSeq` (UNCHAINED when the message is not chained).
 */
export type BusHandler = (channel: string, payload: BusPayload, seq: number, prevSeq: number) => void;

/** `up`: messages flow. `down`: they may not (connection lost, messages dropped); resynchronise on the next `up`. */
export type BusStatus = 'up' | 'down';

/**
 * A subscription: call it to unsubscribe (idempotent; the handler is never called after). `ready`
 * resolves once messages published from then on are certain to be delivered (at once in process;
 * after the server acknowledged SUBSCRIBE on Redis, which may be after a reconnect). Read the
 * cache only after `ready`, or a message published in between could be missed. A subscription may
 * also get a few messages published just before it (on Redis, those still buffered by their
 * publisher); their sequence numbers tell them apart (snapshot-sync.ts drops them).
 */
export interface Subscription {
  (): void;
  readonly ready: Promise<void>;
}

/** A cached value and the sequence it is current at (0 when it was stored without one). */
export interface CacheEntry {
  readonly value: BusPayload;
  readonly seq: number;
}

/** How `cache.set` stores a value. */
export interface CacheSetOptions {
  /** The sequence the value is current at (default 0). */
  readonly seq?: number;
  /** Time to live in milliseconds (positive integer); absent: kept until replaced or deleted. */
  readonly ttlMs?: number;
}

/** What `publishAndCache` stores beside its message, and how the message is chained. */
export interface PublishAndCacheOptions {
  /** The `seq` of the message this one follows on its channel; default UNCHAINED. */
  readonly prevSeq?: number;
  /** The cache key (default: the channel). */
  readonly key?: string;
  /** The value to cache (default: the payload itself, as for tickers; depth caches the full book). */
  readonly value?: BusPayload;
  /** Time to live of the cached value in milliseconds; absent: no expiry. */
  readonly ttlMs?: number;
}

/**
 * The latest value per key. Writes and reads through one bus are applied in the order they were
 * made, after any `publishAndCache` made before them (read-your-writes).
 */
export interface BusCache {
  /** Stores `value` under `key`; resolves once stored, rejects with `bus.unavailable` while the bus is down. */
  set(key: string, value: BusPayload, options?: CacheSetOptions): Promise<void>;
  /** The value under `key`, or undefined (never set, deleted or expired); rejects with `bus.unavailable` while down. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Deletes `key`; resolves true when it existed. */
  delete(key: string): Promise<boolean>;
}

/** Counters, for metrics and tests. */
export interface BusStats {
  /** Messages accepted by `publish`/`publishAndCache` since the bus opened. */
  readonly published: number;
  /** Messages given up (buffer full while the transport was away, or lost with a dropped connection). */
  readonly dropped: number;
  /** Messages accepted and not yet handed to the transport or to the subscribers. */
  readonly buffered: number;
  /** Times the transport came back after being down. */
  readonly reconnects: number;
  /** Received messages that could not be decoded (not written by a bus), ignored. */
  readonly malformed: number;
}

/** The bus port. Every adapter behaves the same, as test/gateway/bus.test.ts checks. */
export interface Bus {
  /** Which adapter this is (for logs). */
  readonly kind: 'in-process' | 'redis';
  /** Current status; `onStatus` tells of changes. */
  readonly status: BusStatus;
  readonly cache: BusCache;
  /**
   * Publishes `payload` on `channel` (a concrete channel, never a pattern). Fire and forget: never
   * blocks, never throws for the transport's sake (only for invalid arguments, with `bus.invalid_argument`),
   * delivered after it returns (never inside the call), in publish order per channel.
   * `seq` (default 0: unsequenced) and `prevSeq` (default UNCHAINED) as described at the top.
   */
  publish(channel: string, payload: BusPayload, seq?: number, prevSeq?: number): void;
  /**
   * Publishes a message and stores a cache value current at its `seq`, atomically: no reader sees the
   * one without the other. A subscriber that reads the cache and gets `seq` knows the message with that
   * `seq` is covered. Fire and forget like `publish`; while the transport is away the latest value per
   * key is kept (never dropped) and written before anything published after it.
   */
  publishAndCache(channel: string, payload: BusPayload, seq: number, options?: PublishAndCacheOptions): void;
  /**
   * Subscribes `handler` to a channel or a pattern (Redis glob syntax: `*`, `?`, `[...]`, `\` escapes;
   * e.g. `md:btcusdt:*`, `md:*:trade`). A message matching several subscriptions reaches each.
   * Throws `bus.closed` after `close()`.
   */
  subscribe(channelOrPattern: string, handler: BusHandler): Subscription;
  /** Calls `listener` on every status change; returns a function that removes it. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  /** Resolves when the status is `up`; rejects with `bus.unavailable` after `timeoutMs` (default 10 s). */
  waitUntilUp(timeoutMs?: number): Promise<void>;
  stats(): BusStats;
  /** Delivers or writes what is buffered (best effort, bounded wait), then releases everything. Idempotent. */
  close(): Promise<void>;
}

/** An expected failure of the bus, with a dotted code. */
export class BusError extends Error {
  override readonly name = 'BusError';
  constructor(
    /** `bus.invalid_argument`, `bus.closed`, `bus.unavailable`. */
    readonly code: 'bus.invalid_argument' | 'bus.closed' | 'bus.unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** True for a BusError, optionally with the given code. */
export function isBusError(e: unknown, code?: BusError['code']): e is BusError {
  return e instanceof BusError && (code === undefined || e.code === code);
}
