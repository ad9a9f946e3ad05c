/**
 * The Redis bus (`REDIS_URL`): market data fanned out to every gateway through Redis pub/sub, the
 * latest snapshots in Redis keys. Two connections: one publisher (which also serves the cache) and
 * one subscriber (SUBSCRIBE/PSUBSCRIBE only).
 *
 * Publishing never waits on Redis: `publish` appends to a bounded buffer and returns; everything
 * published in one turn of the event loop goes out as one pipeline (at most `maxBatchCommands`
 * commands each, at most `maxInFlightBatches` unanswered). `publishAndCache` is one Lua script, so
 * the SET and the PUBLISH are atomic. While Redis is away the buffer fills; past `maxBufferedMessages`
 * new messages are dropped (counted in `stats().dropped`, status `down`), but the latest cache value
 * of every key is kept and written, in order, as soon as Redis is back.
 *
 * Both connections reconnect with exponential backoff and jitter. The subscriber resubscribes to
 * everything, and only then is the status `up` again: a subscriber that saw `down` re-reads the cache
 * on `up` (snapshot-sync.ts does), since messages published meanwhile are gone.
 *
 * On the wire: channels are `<prefix><channel>`, cache keys `<prefix>c:<key>`, messages and cached
 * values are frames (frame.ts). The prefix keeps deployments (and test runs) sharing one Redis apart.
 */
import { type ChainableCommander, Redis, type RedisOptions } from 'ioredis';
import {
  type Bus,
  type BusCache,
  BusError,
  type BusHandler,
  type BusPayload,
  type BusStats,
  type BusStatus,
  type CacheEntry,
  type CacheSetOptions,
  type PublishAndCacheOptions,
  type Subscription,
  UNCHAINED,
} from './bus.port.ts';
import {
  assertChannel,
  assertChannelOrPattern,
  assertKey,
  assertPayload,
  assertSeq,
  assertTtl,
  isPattern,
  printable,
  reportHandlerError,
} from './channels.ts';
import { decodeFrame, encodeFrame } from './frame.ts';

/** Options of the Redis bus. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly url: string;
  /** Prefix of every channel and key, [A-Za-z0-9:_.-]{1,64} (default `crossbook:`). */
  readonly prefix?: string;
  /** Messages buffered (waiting or unanswered) before new ones are dropped (default 100000). */
  readonly maxBufferedMessages?: number;
  /** Commands per pipeline (default 1024). */
  readonly maxBatchCommands?: number;
  /** Pipelines written and not yet answered (default 4). */
  readonly maxInFlightBatches?: number;
  /** First reconnection delay in ms, doubled each attempt (default 50), up to `retryMaxMs` (default 2000). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** How long `close()` waits for buffered messages to be written, in ms (default 2000). */
  readonly closeTimeoutMs?: number;
  /** CLIENT SETNAME of the two connections: `<name>-pub`, `<name>-sub` (default `crossbook-bus`). */
  readonly connectionName?: string;
  /** Called when a handler throws (the others still get the message); default: a process warning. */
  readonly onHandlerError?: (error: unknown, channel: string) => void;
  /** Called on a connection error (they are retried anyway); default: ignored. */
  readonly onConnectionError?: (error: Error) => void;
  /** Further ioredis options (TLS, timeouts); the bus's own settings win. */
  readonly redisOptions?: RedisOptions;
}

/** The cache script: SET the value (the message frame itself when ARGV[3] is empty), then PUBLISH. */
const PUBLISH_AND_CACHE_LUA = `
local value = ARGV[3]
if value == '' then value = ARGV[2] end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], value, 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], value)
end
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`;

/** A pipeline with the bus's script defined on its connection. */
type ScriptPipeline = ChainableCommander & {
  crossbookPublishAndCache(
    key: string,
    channel: string,
    frame: Buffer,
    value: Buffer | '',
    ttl: string,
  ): void;
};

/** One buffered operation of the publisher connection, in the order it was made. */
type Op =
  | { readonly kind: 'publish'; readonly channel: string; readonly frame: Buffer }
  | {
      readonly kind: 'publishAndCache';
      readonly channel: string;
      readonly frame: Buffer;
      readonly key: string;
      readonly value: Buffer | undefined;
      readonly ttlMs: number | undefined;
    }
  | {
      readonly kind: 'keep';
      readonly key: string;
      readonly frame: Buffer;
      readonly ttlMs: number | undefined;
    }
  | {
      readonly kind: 'set';
      readonly key: string;
      readonly frame: Buffer;
      readonly ttlMs: number | undefined;
      readonly done: Settle<void>;
    }
  | { readonly kind: 'get'; readonly key: string; readonly done: Settle<CacheEntry | undefined> }
  | { readonly kind: 'delete'; readonly key: string; readonly done: Settle<boolean> };

interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A cache value to write again (its message was dropped or its pipeline was lost). */
interface KeptValue {
  readonly frame: Buffer;
  readonly ttlMs: number | undefined;
}

interface Sub {
  readonly handler: BusHandler;
  /** Messages received before this subscription: it gets only later ones. */
  readonly since: number;
  active: boolean;
}

/** The local subscriptions of one channel or pattern, and whether Redis has acknowledged it. */
interface Remote {
  readonly subs: Set<Sub>;
  readonly ready: Promise<void>;
  readonly acknowledge: () => void;
  readonly abandon: (error: Error) => void;
}

const PREFIX_RE = /^[A-Za-z0-9:_.-]{1,64}$/;

/** The Redis adapter of the bus port. Construct it, then `await bus.waitUntilUp()` if you need it up now. */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  readonly cache: BusCache;
  readonly #prefix: string;
  readonly #keyPrefix: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #maxBuffered: number;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #closeTimeoutMs: number;
  readonly #onHandlerError: (error: unknown, channel: string) => void;
  readonly #retryBaseMs: number;
  /** The pump after a failed pipeline, deferred (see #settle). */
  #retryTimer: NodeJS.Timeout | undefined;

  // Publisher side.
  #queue: Op[] = [];
  #head = 0;
  #pumpScheduled = false;
  #inFlight = 0;
  /** Messages (publish, publishAndCache) in the queue or in unanswered pipelines. */
  #bufferedMessages = 0;
  /** Cache values whose message was dropped while the buffer was full: written before anything newer. */
  readonly #kept = new Map<string, KeptValue>();
  /** Cache values of pipelines that failed: written before everything still queued. */
  readonly #recovered = new Map<string, KeptValue>();
  #overflowing = false;
  #pubReady = false;
  readonly #checkedChannels = new Set<string>();

  // Subscriber side.
  readonly #exact = new Map<string, Remote>();
  readonly #patterns = new Map<string, Remote>();
  #subReady = false;
  #received = 0;

  // Status and counters.
  #status: BusStatus = 'down';
  #wasUp = false;
  #closed = false;
  readonly #statusListeners = new Set<(status: BusStatus) => void>();
  #published = 0;
  #dropped = 0;
  #reconnects = 0;
  #malformed = 0;

  constructor(options: RedisBusOptions) {
    if (typeof options?.url !== 'string' || !/^rediss?:\/\//.test(options.url))
      throw new BusError('bus.invalid_argument', 'url must be a redis:// or rediss:// URL');
    const prefix = options.prefix ?? 'crossbook:';
    if (!PREFIX_RE.test(prefix))
      throw new BusError(
        'bus.invalid_argument',
        `prefix "${printable(prefix)}" must match ${PREFIX_RE.source}`,
      );
    this.#prefix = prefix;
    this.#keyPrefix = `${prefix}c:`;
    this.#maxBuffered = positive(options.maxBufferedMessages, 100_000, 'maxBufferedMessages');
    this.#maxBatch = positive(options.maxBatchCommands, 1024, 'maxBatchCommands');
    this.#maxInFlight = positive(options.maxInFlightBatches, 4, 'maxInFlightBatches');
    this.#closeTimeoutMs = positive(options.closeTimeoutMs, 2000, 'closeTimeoutMs');
    const retryBase = positive(options.retryBaseMs, 50, 'retryBaseMs');
    this.#retryBaseMs = retryBase;
    const retryMax = positive(options.retryMaxMs, 2000, 'retryMaxMs');
    this.#onHandlerError = options.onHandlerError ?? reportHandlerError;
    const onConnectionError = options.onConnectionError ?? (() => {});
    const name = options.connectionName ?? 'crossbook-bus';
    const common: RedisOptions = {
      ...options.redisOptions,
      // Our own buffer decides what waits and what is dropped: ioredis must neither queue commands
      // while disconnected nor replay unanswered ones after a reconnect (a replayed PUBLISH could
      // arrive after newer ones).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Resubscribing is ours too, so that the status turns `up` only once it is done.
      autoResubscribe: false,
      lazyConnect: false,
      retryStrategy: (times) =>
        Math.min(retryBase * 2 ** Math.min(times - 1, 20), retryMax) + Math.random() * retryBase,
    };
    this.#pub = new Redis(options.url, { ...common, connectionName: `${name}-pub` });
    this.#sub = new Redis(options.url, { ...common, connectionName: `${name}-sub` });
    this.#pub.defineCommand('crossbookPublishAndCache', { numberOfKeys: 1, lua: PUBLISH_AND_CACHE_LUA });
    for (const conn of [this.#pub, this.#sub]) conn.on('error', (e: Error) => onConnectionError(e));
    this.#pub.on('ready', () => {
      this.#pubReady = true;
      this.#updateStatus();
      this.#pump();
    });
    this.#pub.on('close', () => {
      this.#pubReady = false;
      this.#updateStatus();
    });
    this.#sub.on('ready', () => this.#resubscribeAll());
    this.#sub.on('close', () => {
      this.#subReady = false;
      this.#updateStatus();
    });
    this.#sub.on('messageBuffer', (channel: Buffer, frame: Buffer) =>
      this.#onMessage(channel, frame, undefined),
    );
    this.#sub.on('pmessageBuffer', (pattern: string | Buffer, channel: Buffer, frame: Buffer) =>
      this.#onMessage(channel, frame, pattern.toString()),
    );
    this.cache = {
      set: (key, value, opts) => this.#cacheSet(key, value, opts),
      get: (key) => this.#request<CacheEntry | undefined>(key, (k, done) => ({ kind: 'get', key: k, done })),
      delete: (key) => this.#request<boolean>(key, (k, done) => ({ kind: 'delete', key: k, done })),
    };
  }

  get status(): BusStatus {
    return this.#status;
  }

  publish(channel: string, payload: BusPayload, seq = 0, prevSeq = UNCHAINED): void {
    this.#checkMessage(channel, payload, seq, prevSeq);
    const frame = encodeFrame(payload, seq, prevSeq);
    this.#enqueueMessage({ kind: 'publish', channel: this.#prefix + channel, frame });
  }

  publishAndCache(
    channel: string,
    payload: BusPayload,
    seq: number,
    options: PublishAndCacheOptions = {},
  ): void {
    const prevSeq = options.prevSeq ?? UNCHAINED;
    this.#checkMessage(channel, payload, seq, prevSeq);
    const key = options.key ?? channel;
    assertKey(key);
    if (options.value !== undefined) assertPayload(options.value);
    assertTtl(options.ttlMs);
    const frame = encodeFrame(payload, seq, prevSeq);
    // A cached value carries the message's seq (and is the message frame itself when no value is given).
    const value = options.value === undefined ? undefined : encodeFrame(options.value, seq, UNCHAINED);
    this.#enqueueMessage({
      kind: 'publishAndCache',
      channel: this.#prefix + channel,
      frame,
      key: this.#keyPrefix + key,
      value,
      ttlMs: options.ttlMs,
    });
  }

  subscribe(channelOrPattern: string, handler: BusHandler): Subscription {
    if (this.#closed) throw new BusError('bus.closed', 'the bus is closed');
    assertChannelOrPattern(channelOrPattern);
    if (typeof handler !== 'function')
      throw new BusError('bus.invalid_argument', 'a handler must be a function');
    const name = channelOrPattern;
    const pattern = isPattern(name);
    const registry = pattern ? this.#patterns : this.#exact;
    let remote = registry.get(name);
    if (!remote) {
      remote = newRemote();
      registry.set(name, remote);
      // Send SUBSCRIBE whenever the connection is ready, even while a resubscription is in flight
      // (which only covers the names it started with).
      if (this.#sub.status === 'ready') {
        const acknowledge = remote.acknowledge;
        const sent = pattern
          ? this.#sub.psubscribe(this.#prefix + name)
          : this.#sub.subscribe(this.#prefix + name);
        // A failure means the connection dropped: the resubscription after the reconnect acknowledges it.
        sent.then(acknowledge, () => {});
      }
    }
    const sub: Sub = { handler, since: this.#received, active: true };
    remote.subs.add(sub);
    const unsubscribe = () => {
      if (!sub.active) return;
      sub.active = false;
      const current = registry.get(name);
      if (!current?.subs.delete(sub) || current.subs.size > 0) return;
      registry.delete(name);
      current.abandon(new BusError('bus.closed', `the subscription to ${name} was cancelled`));
      if (this.#sub.status === 'ready' && !this.#closed) {
        const sent = pattern
          ? this.#sub.punsubscribe(this.#prefix + name)
          : this.#sub.unsubscribe(this.#prefix + name);
        sent.catch(() => {});
      }
    };
    return Object.assign(unsubscribe, { ready: remote.ready });
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => {
      this.#statusListeners.delete(listener);
    };
  }

  waitUntilUp(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return Promise.reject(new BusError('bus.closed', 'the bus is closed'));
    if (this.#status === 'up') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new BusError('bus.unavailable', `Redis did not come up within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onStatus((status) => {
        if (status !== 'up' && !this.#closed) return;
        clearTimeout(timer);
        off();
        if (this.#closed) reject(new BusError('bus.closed', 'the bus is closed'));
        else resolve();
      });
    });
  }

  stats(): BusStats {
    return {
      published: this.#published,
      dropped: this.#dropped,
      buffered: this.#bufferedMessages,
      reconnects: this.#reconnects,
      malformed: this.#malformed,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    if (this.#pubReady) {
      this.#pump();
      const deadline = Date.now() + this.#closeTimeoutMs;
      while (
        (this.#inFlight > 0 || this.#head < this.#queue.length) &&
        this.#pubReady &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 5));
    }
    // What could not be written in time is given up (unanswered pipelines settle as they fail).
    const left = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const op of left)
      if (op.kind === 'publish' || op.kind === 'publishAndCache') this.#bufferedMessages--;
    this.#fail(left, false);
    this.#kept.clear();
    for (const remote of [...this.#exact.values(), ...this.#patterns.values()])
      remote.abandon(new BusError('bus.closed', 'the bus is closed'));
    this.#exact.clear();
    this.#patterns.clear();
    await Promise.all([quit(this.#pub), quit(this.#sub)]);
    this.#pubReady = false;
    this.#subReady = false;
    this.#setStatus('down');
    this.#statusListeners.clear();
  }

  // --- publisher -------------------------------------------------------------------------------

  #checkMessage(channel: string, payload: BusPayload, seq: number, prevSeq: number): void {
    if (!this.#checkedChannels.has(channel)) {
      assertChannel(channel);
      if (this.#checkedChannels.size < 65_536) this.#checkedChannels.add(channel);
    }
    assertPayload(payload);
    assertSeq(seq, prevSeq);
  }

  #enqueueMessage(op: Op & { kind: 'publish' | 'publishAndCache' }): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    this.#published++;
    if (this.#bufferedMessages >= this.#maxBuffered) {
      // Full: drop the message, keep its cache value (the newest for its key) for later.
      this.#dropped++;
      if (op.kind === 'publishAndCache')
        this.#kept.set(op.key, { frame: op.value ?? op.frame, ttlMs: op.ttlMs });
      if (!this.#overflowing) {
        this.#overflowing = true;
        this.#updateStatus();
      }
      return;
    }
    // Values kept while full are newer than everything queued and older than this message.
    this.#moveKeptToQueue();
    this.#queue.push(op);
    this.#bufferedMessages++;
    this.#schedulePump();
  }

  #moveKeptToQueue(): void {
    if (this.#kept.size === 0) return;
    for (const [key, v] of this.#kept)
      this.#queue.push({ kind: 'keep', key, frame: v.frame, ttlMs: v.ttlMs });
    this.#kept.clear();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // One microtask: every publish of this turn of the event loop goes out in the same pipeline.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Writes queued operations as pipelines while the connection is ready and the in-flight limit allows. */
  #pump(): void {
    while (this.#pubReady && this.#inFlight < this.#maxInFlight) {
      if (this.#recovered.size > 0) {
        // Values of failed pipelines are older than anything queued: they go first.
        const recovered: Op[] = [];
        for (const [key, v] of this.#recovered)
          recovered.push({ kind: 'keep', key, frame: v.frame, ttlMs: v.ttlMs });
        this.#recovered.clear();
        this.#queue = [...recovered, ...this.#queue.slice(this.#head)];
        this.#head = 0;
      }
      if (this.#head >= this.#queue.length) this.#moveKeptToQueue();
      if (this.#head >= this.#queue.length) break;
      const end = Math.min(this.#head + this.#maxBatch, this.#queue.length);
      const batch = this.#queue.slice(this.#head, end);
      this.#head = end;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#send(batch);
    }
    if (this.#overflowing && this.#bufferedMessages === 0 && this.#kept.size === 0 && this.#pubReady) {
      this.#overflowing = false;
      this.#updateStatus();
    }
  }

  #send(batch: Op[]): void {
    const pipeline = this.#pub.pipeline() as ScriptPipeline;
    for (const op of batch) {
      switch (op.kind) {
        case 'publish':
          pipeline.publish(op.channel, op.frame);
          break;
        case 'publishAndCache':
          pipeline.crossbookPublishAndCache(op.key, op.channel, op.frame, op.value ?? '', ttlArg(op.ttlMs));
          break;
        case 'keep':
        case 'set':
          if (op.ttlMs === undefined) pipeline.set(op.key, op.frame);
          else pipeline.set(op.key, op.frame, 'PX', op.ttlMs);
          break;
        case 'get':
          pipeline.getBuffer(op.key);
          break;
        case 'delete':
          pipeline.del(op.key);
          break;
        default:
          op satisfies never;
      }
    }
    this.#inFlight++;
    pipeline.exec().then(
      (results) => this.#settle(batch, results ?? []),
      () => this.#settle(batch, []),
    );
  }

  #settle(batch: Op[], results: [error: Error | null, result: unknown][]): void {
    this.#inFlight--;
    const failed: Op[] = [];
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i]!;
      const [error, result] = results[i] ?? [new Error('no reply'), undefined];
      if (op.kind === 'publish' || op.kind === 'publishAndCache') this.#bufferedMessages--;
      if (error) {
        failed.push(op);
        continue;
      }
      switch (op.kind) {
        case 'set':
          op.done.resolve();
          break;
        case 'get':
          op.done.resolve(this.#decodeCached(result));
          break;
        case 'delete':
          op.done.resolve(Number(result) > 0);
          break;
        default:
          break;
      }
    }
    if (failed.length > 0) {
      this.#fail(failed, true);
      // A failed pipeline most often means the connection is going: the socket is no longer
      // writable before ioredis reports the close, so an immediate retry fails at once, and that
      // settle-pump loop runs in microtasks only, never letting the event loop see the close.
      // Retry after a pause instead.
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        this.#pump();
      }, this.#retryBaseMs);
      this.#retryTimer.unref();
      return;
    }
    this.#pump();
  }

  /**
   * Gives up operations: messages are dropped (pub/sub delivers at most once, and a late replay
   * could arrive after newer messages), cache values are written again when `recover`, requests fail.
   */
  #fail(ops: Op[], recover: boolean): void {
    for (const op of ops) {
      switch (op.kind) {
        case 'publish':
          this.#dropped++;
          break;
        case 'publishAndCache':
          this.#dropped++;
          if (recover) this.#recovered.set(op.key, { frame: op.value ?? op.frame, ttlMs: op.ttlMs });
          break;
        case 'keep':
          if (recover) this.#recovered.set(op.key, { frame: op.frame, ttlMs: op.ttlMs });
          break;
        case 'set':
        case 'get':
        case 'delete':
          op.done.reject(new BusError('bus.unavailable', 'Redis did not answer (connection lost)'));
          break;
        default:
          op satisfies never;
      }
    }
  }

  #decodeCached(result: unknown): CacheEntry | undefined {
    if (!Buffer.isBuffer(result)) return undefined;
    const frame = decodeFrame(result);
    if (!frame) {
      this.#malformed++;
      return undefined;
    }
    return { value: frame.payload, seq: frame.seq };
  }

  #cacheSet(key: string, value: BusPayload, options: CacheSetOptions = {}): Promise<void> {
    try {
      assertKey(key);
      assertPayload(value);
      assertSeq(options.seq ?? 0, UNCHAINED);
      assertTtl(options.ttlMs);
    } catch (e) {
      return Promise.reject(e);
    }
    const frame = encodeFrame(value, options.seq ?? 0, UNCHAINED);
    return this.#request<void>(key, (k, done) => ({
      kind: 'set',
      key: k,
      frame,
      ttlMs: options.ttlMs,
      done,
    }));
  }

  /** Queues a cache request behind everything published before it; refuses at once while Redis is away. */
  #request<T>(key: string, make: (fullKey: string, done: Settle<T>) => Op): Promise<T> {
    if (this.#closed) return Promise.reject(new BusError('bus.closed', 'the bus is closed'));
    try {
      assertKey(key);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.#pubReady) return Promise.reject(new BusError('bus.unavailable', 'Redis is not connected'));
    return new Promise<T>((resolve, reject) => {
      // Values kept from dropped messages are older than this request: written first (read-your-writes).
      this.#moveKeptToQueue();
      this.#queue.push(make(this.#keyPrefix + key, { resolve, reject }));
      this.#schedulePump();
    });
  }

  // --- subscriber ------------------------------------------------------------------------------

  #onMessage(channelBuf: Buffer, frameBuf: Buffer, pattern: string | undefined): void {
    const index = ++this.#received;
    const full = channelBuf.toString();
    if (!full.startsWith(this.#prefix)) return;
    const remote =
      pattern === undefined
        ? this.#exact.get(full.slice(this.#prefix.length))
        : pattern.startsWith(this.#prefix)
          ? this.#patterns.get(pattern.slice(this.#prefix.length))
          : undefined;
    if (!remote || remote.subs.size === 0) return;
    const frame = decodeFrame(frameBuf);
    if (!frame) {
      this.#malformed++;
      return;
    }
    const channel = full.slice(this.#prefix.length);
    for (const sub of remote.subs) {
      if (!sub.active || index <= sub.since) continue;
      try {
        sub.handler(channel, frame.payload, frame.seq, frame.prevSeq);
      } catch (error) {
        this.#onHandlerError(error, channel);
      }
    }
  }

  /** After a (re)connect: subscribes to every channel and pattern, then reports `up`. */
  #resubscribeAll(): void {
    const channels = [...this.#exact.entries()];
    const patterns = [...this.#patterns.entries()];
    const sent: Promise<unknown>[] = [];
    if (channels.length > 0) sent.push(this.#sub.subscribe(...channels.map(([n]) => this.#prefix + n)));
    if (patterns.length > 0) sent.push(this.#sub.psubscribe(...patterns.map(([n]) => this.#prefix + n)));
    Promise.all(sent).then(
      () => {
        if (this.#closed || this.#sub.status !== 'ready') return;
        for (const [, remote] of [...channels, ...patterns]) remote.acknowledge();
        this.#subReady = true;
        this.#updateStatus();
      },
      // The connection dropped meanwhile: its next `ready` starts over.
      () => {},
    );
  }

  // --- status ----------------------------------------------------------------------------------

  #updateStatus(): void {
    if (this.#closed) return;
    this.#setStatus(this.#pubReady && this.#subReady && !this.#overflowing ? 'up' : 'down');
  }

  #setStatus(status: BusStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    if (status === 'up') {
      if (this.#wasUp) this.#reconnects++;
      this.#wasUp = true;
    }
    for (const listener of [...this.#statusListeners]) listener(status);
  }
}

function newRemote(): Remote {
  let acknowledge!: () => void;
  let abandon!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    acknowledge = resolve;
    abandon = reject;
  });
  // Nobody has to await `ready`: an abandoned subscription must not be an unhandled rejection.
  ready.catch(() => {});
  return { subs: new Set(), ready, acknowledge, abandon };
}

function ttlArg(ttlMs: number | undefined): string {
  return ttlMs === undefined ? '' : String(ttlMs);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new BusError('bus.invalid_argument', `${name} ${String(value)} must be a positive integer`);
  return value;
}

async function quit(conn: Redis): Promise<void> {
  if (conn.status === 'ready') {
    try {
      await conn.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  conn.disconnect();
}
