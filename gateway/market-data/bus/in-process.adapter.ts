/**
 * The in-process bus: the default when every role runs in one process. Zero-copy (a handler gets the
 * very string or Buffer the publisher passed), delivered in a microtask after `publish` returns, in
 * publish order across all channels. It behaves as the Redis adapter does (same suite): a
 * subscription gets what is published after `subscribe` returned and nothing after it is undone; the
 * cache keeps the latest value per key with its sequence and TTL.
 */
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
  globToRegExp,
  isPattern,
  reportHandlerError,
} from './channels.ts';

/** Options of the in-process bus. */
export interface InProcessBusOptions {
  /** Called when a handler throws (the others still get the message); default: a process warning. */
  readonly onHandlerError?: (error: unknown, channel: string) => void;
  /** Clock for TTLs, in milliseconds (default Date.now). */
  readonly now?: () => number;
}

interface Sub {
  readonly handler: BusHandler;
  /** Index of the last message published before this subscription: it gets only later ones. */
  readonly since: number;
  active: boolean;
}

interface PatternSubs {
  readonly re: RegExp;
  readonly subs: Set<Sub>;
}

interface Pending {
  readonly index: number;
  readonly channel: string;
  readonly payload: BusPayload;
  readonly seq: number;
  readonly prevSeq: number;
}

interface Stored {
  readonly value: BusPayload;
  readonly seq: number;
  /** Expiry time in ms (clock of `now`), or Infinity. */
  readonly expiresAt: number;
}

/** Sets between two sweeps of expired cache entries (reads drop expired entries lazily too). */
const SWEEP_EVERY = 1024;
/** Channels remembered as already checked (beyond that, every publish checks its channel). */
const CHECKED_CHANNELS_MAX = 65_536;

/** The in-process adapter of the bus port. */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  readonly cache: BusCache;
  #status: BusStatus = 'up';
  #closed = false;
  readonly #exact = new Map<string, Set<Sub>>();
  readonly #patterns = new Map<string, PatternSubs>();
  /** Pattern subscriptions matching a channel, computed once per channel until the patterns change. */
  readonly #matchCache = new Map<string, PatternSubs[]>();
  readonly #checkedChannels = new Set<string>();
  readonly #statusListeners = new Set<(status: BusStatus) => void>();
  #queue: Pending[] = [];
  #head = 0;
  #scheduled = false;
  #published = 0;
  #dropped = 0;
  readonly #store = new Map<string, Stored>();
  #setsSinceSweep = 0;
  readonly #now: () => number;
  readonly #onHandlerError: (error: unknown, channel: string) => void;

  constructor(options: InProcessBusOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onHandlerError = options.onHandlerError ?? reportHandlerError;
    this.cache = {
      set: async (key, value, opts) => this.#cacheSet(key, value, opts),
      get: async (key) => this.#cacheGet(key),
      delete: async (key) => this.#cacheDelete(key),
    };
  }

  get status(): BusStatus {
    return this.#status;
  }

  publish(channel: string, payload: BusPayload, seq = 0, prevSeq = UNCHAINED): void {
    this.#checkMessage(channel, payload, seq, prevSeq);
    this.#enqueue(channel, payload, seq, prevSeq);
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
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    // The cache changes now, the message is delivered in a microtask: a reader that gets `seq` from
    // the cache before the delivery drops the message as covered, which is what it should do.
    this.#put(key, options.value ?? payload, seq, options.ttlMs);
    this.#enqueue(channel, payload, seq, prevSeq);
  }

  subscribe(channelOrPattern: string, handler: BusHandler): Subscription {
    if (this.#closed) throw new BusError('bus.closed', 'the bus is closed');
    assertChannelOrPattern(channelOrPattern);
    if (typeof handler !== 'function')
      throw new BusError('bus.invalid_argument', 'a handler must be a function');
    const sub: Sub = { handler, since: this.#published, active: true };
    const name = channelOrPattern;
    if (isPattern(name)) {
      let entry = this.#patterns.get(name);
      if (!entry) {
        entry = { re: globToRegExp(name), subs: new Set() };
        this.#patterns.set(name, entry);
        this.#matchCache.clear();
      }
      entry.subs.add(sub);
    } else {
      let subs = this.#exact.get(name);
      if (!subs) {
        subs = new Set();
        this.#exact.set(name, subs);
      }
      subs.add(sub);
    }
    const unsubscribe = () => {
      if (!sub.active) return;
      sub.active = false;
      if (isPattern(name)) {
        const entry = this.#patterns.get(name);
        if (entry?.subs.delete(sub) && entry.subs.size === 0) {
          this.#patterns.delete(name);
          this.#matchCache.clear();
        }
      } else {
        const subs = this.#exact.get(name);
        if (subs?.delete(sub) && subs.size === 0) this.#exact.delete(name);
      }
    };
    return Object.assign(unsubscribe, { ready: Promise.resolve() });
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => {
      this.#statusListeners.delete(listener);
    };
  }

  async waitUntilUp(): Promise<void> {
    if (this.#closed) throw new BusError('bus.closed', 'the bus is closed');
  }

  stats(): BusStats {
    return {
      published: this.#published,
      dropped: this.#dropped,
      buffered: this.#queue.length - this.#head,
      reconnects: 0,
      malformed: 0,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#drain();
    this.#closed = true;
    this.#status = 'down';
    for (const listener of [...this.#statusListeners]) listener('down');
    this.#statusListeners.clear();
    this.#exact.clear();
    this.#patterns.clear();
    this.#matchCache.clear();
    this.#store.clear();
  }

  #checkMessage(channel: string, payload: BusPayload, seq: number, prevSeq: number): void {
    if (!this.#checkedChannels.has(channel)) {
      assertChannel(channel);
      if (this.#checkedChannels.size < CHECKED_CHANNELS_MAX) this.#checkedChannels.add(channel);
    }
    assertPayload(payload);
    assertSeq(seq, prevSeq);
  }

  #enqueue(channel: string, payload: BusPayload, seq: number, prevSeq: number): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    const index = ++this.#published;
    this.#queue.push({ index, channel, payload, seq, prevSeq });
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#drain());
    }
  }

  /** Delivers everything queued, including what handlers publish meanwhile (after it, in order). */
  #drain(): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const m = queue[this.#head++]!;
      const subs = this.#exact.get(m.channel);
      if (subs) for (const sub of subs) this.#deliver(sub, m);
      const patterns = this.#patterns.size === 0 ? undefined : this.#matchingPatterns(m.channel);
      if (patterns) for (const entry of patterns) for (const sub of entry.subs) this.#deliver(sub, m);
    }
    this.#queue = [];
    this.#head = 0;
    this.#scheduled = false;
  }

  #deliver(sub: Sub, m: Pending): void {
    if (!sub.active || m.index <= sub.since) return;
    try {
      sub.handler(m.channel, m.payload, m.seq, m.prevSeq);
    } catch (error) {
      this.#onHandlerError(error, m.channel);
    }
  }

  #matchingPatterns(channel: string): PatternSubs[] {
    let matched = this.#matchCache.get(channel);
    if (!matched) {
      matched = [];
      for (const entry of this.#patterns.values()) if (entry.re.test(channel)) matched.push(entry);
      this.#matchCache.set(channel, matched);
    }
    return matched;
  }

  #put(key: string, value: BusPayload, seq: number, ttlMs: number | undefined): void {
    this.#store.set(key, { value, seq, expiresAt: ttlMs === undefined ? Infinity : this.#now() + ttlMs });
    if (++this.#setsSinceSweep >= SWEEP_EVERY) {
      this.#setsSinceSweep = 0;
      const now = this.#now();
      for (const [k, v] of this.#store) if (v.expiresAt <= now) this.#store.delete(k);
    }
  }

  #cacheSet(key: string, value: BusPayload, options: CacheSetOptions = {}): void {
    this.#assertOpen();
    assertKey(key);
    assertPayload(value);
    const seq = options.seq ?? 0;
    assertSeq(seq, UNCHAINED);
    assertTtl(options.ttlMs);
    this.#put(key, value, seq, options.ttlMs);
  }

  #cacheGet(key: string): CacheEntry | undefined {
    this.#assertOpen();
    assertKey(key);
    const stored = this.#store.get(key);
    if (!stored) return undefined;
    if (stored.expiresAt <= this.#now()) {
      this.#store.delete(key);
      return undefined;
    }
    return { value: stored.value, seq: stored.seq };
  }

  #cacheDelete(key: string): boolean {
    this.#assertOpen();
    assertKey(key);
    const stored = this.#store.get(key);
    this.#store.delete(key);
    return stored !== undefined && stored.expiresAt > this.#now();
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusError('bus.closed', 'the bus is closed');
  }
}
