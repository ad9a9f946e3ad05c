/**
 * Following a channel from its cached snapshot without a gap, over any bus adapter.
 *
 * The order is what makes it exact: subscribe first and buffer, then (once the subscription is
 * `ready`) read the cache, drop the buffered messages the snapshot already covers (`seq <= snapshot
 * seq`), and apply the rest, checking that every chained message follows the one before it
 * (`prevSeq === last seq`, Binance's `U == previous u + 1` for depth). When it does not (a gap), or
 * when the bus comes back `up` after being `down` (messages were lost meanwhile), the follower starts
 * over: buffer, re-read the cache, hand over a fresh snapshot (`onSnapshot` with the reason), go on.
 * The gateway answers a fresh snapshot by resending its clients the state (documented in
 * docs/MARKET-DATA-BUS.md).
 *
 * A cached snapshot older than the first buffered message (its `prevSeq` is beyond the snapshot) cannot
 * be joined yet: the follower keeps buffering and re-reads the cache at the next message, which
 * converges as soon as the publisher refreshes the cache (publishAndCache does with every message).
 * With nothing cached at all, the channel is followed from the first message received.
 */
import { type Bus, BusError, type BusPayload, type CacheEntry, UNCHAINED } from './bus.port.ts';

/** Why a snapshot is handed over: the first one, a gap in the chain, or the bus back after being down. */
export type ResyncReason = 'start' | 'gap' | 'reconnect';

/** What the follower calls. */
export interface FollowHandlers {
  /**
   * Replace your state with `snapshot` (undefined: nothing is cached; start empty or keep what you
   * have and take the messages as they come). Every `onMessage` after it is newer than the snapshot.
   */
  onSnapshot(snapshot: CacheEntry | undefined, reason: ResyncReason): void;
  /** The next message, in order, never one the snapshot covers, never after a gap without a new snapshot. */
  onMessage(channel: string, payload: BusPayload, seq: number, prevSeq: number): void;
}

/** Options of `followChannel`. */
export interface FollowOptions {
  /** The cache key holding the channel's snapshot (default: the channel). */
  readonly cacheKey?: string;
  /** Messages buffered while (re)synchronising; beyond, the oldest are dropped (default 10000). */
  readonly maxBuffered?: number;
}

/** A running follower. */
export interface Follower {
  /** Resolves after the first `onSnapshot`; rejects with `bus.closed` if stopped before. */
  readonly ready: Promise<void>;
  /** True between a snapshot and the next gap or reconnect. */
  readonly synced: boolean;
  /** The seq of the last snapshot or message applied (-1 before the first, or when nothing was cached). */
  readonly lastSeq: number;
  /** Snapshots handed over after the first one. */
  readonly resyncs: number;
  /** Unsubscribes; no handler is called after. Idempotent. */
  stop(): void;
}

interface Buffered {
  readonly channel: string;
  readonly payload: BusPayload;
  readonly seq: number;
  readonly prevSeq: number;
}

/** `lastSeq` when the position in the stream is not known (nothing cached): any message is taken. */
const UNKNOWN = -1;

/** Follows `channel` on `bus` from its cached snapshot; see the file comment for the algorithm. */
export function followChannel(
  bus: Bus,
  channel: string,
  handlers: FollowHandlers,
  options: FollowOptions = {},
): Follower {
  const key = options.cacheKey ?? channel;
  const maxBuffered = options.maxBuffered ?? 10_000;
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered <= 0)
    throw new BusError('bus.invalid_argument', 'maxBuffered must be a positive integer');

  let synced = false;
  let stopped = false;
  let subscribed = false;
  let lastSeq = UNKNOWN;
  let buffer: Buffered[] = [];
  let reading = false;
  let readAgain = false;
  /** Messages received so far, to know whether any arrived while a cache read was in flight. */
  let received = 0;
  let receivedAtRead = 0;
  /** Bumped by every resync: a cache read started before it is stale and ignored. */
  let generation = 0;
  let started = false;
  let reason: ResyncReason = 'start';
  let resyncs = 0;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {});

  const resync = (why: ResyncReason, first?: Buffered) => {
    synced = false;
    buffer = first ? [first] : [];
    reason = started ? why : 'start';
    generation++;
    reading = false;
    if (subscribed) read();
  };

  const read = () => {
    if (reading || stopped) {
      readAgain = true;
      return;
    }
    reading = true;
    readAgain = false;
    receivedAtRead = received;
    const gen = generation;
    bus.cache.get(key).then(
      (entry) => {
        if (gen !== generation || stopped) return;
        reading = false;
        join(entry);
      },
      () => {
        // The bus is down: the next `up` (or the next message) reads again.
        if (gen !== generation) return;
        reading = false;
        readAgain = true;
      },
    );
  };

  const join = (entry: CacheEntry | undefined) => {
    let pending = buffer;
    if (entry) {
      const s = entry.seq;
      pending = pending.filter((m) => m.seq === 0 || m.seq > s);
      const first = pending[0];
      if (first && first.prevSeq !== UNCHAINED && first.prevSeq > s) {
        // The snapshot is older than the stream we hold: read again now if messages came meanwhile
        // (the cache may have moved with them), else at the next message.
        buffer = pending;
        if (received !== receivedAtRead) read();
        else readAgain = true;
        return;
      }
    }
    buffer = [];
    synced = true;
    readAgain = false;
    lastSeq = entry ? entry.seq : UNKNOWN;
    if (started) resyncs++;
    started = true;
    handlers.onSnapshot(entry, reason);
    resolveReady();
    for (let i = 0; i < pending.length; i++) {
      live(pending[i]!);
      if (!synced) {
        // A gap inside the buffer: the rest waits for the next snapshot, behind the message that broke.
        buffer.push(...pending.slice(i + 1));
        break;
      }
    }
  };

  const live = (m: Buffered) => {
    if (m.seq > 0 && lastSeq !== UNKNOWN && m.seq <= lastSeq) return;
    if (m.prevSeq !== UNCHAINED && lastSeq !== UNKNOWN && m.prevSeq !== lastSeq) {
      resync('gap', m);
      return;
    }
    if (m.seq > 0) lastSeq = m.seq;
    handlers.onMessage(m.channel, m.payload, m.seq, m.prevSeq);
  };

  const unsubscribe = bus.subscribe(channel, (ch, payload, seq, prevSeq) => {
    if (stopped) return;
    received++;
    const m = { channel: ch, payload, seq, prevSeq };
    if (synced) {
      live(m);
      return;
    }
    buffer.push(m);
    if (buffer.length > maxBuffered) buffer.shift();
    if (readAgain && subscribed) read();
  });
  const offStatus = bus.onStatus((status) => {
    if (status === 'up' && subscribed && !stopped) resync('reconnect');
  });
  unsubscribe.ready.then(
    () => {
      if (stopped) return;
      subscribed = true;
      read();
    },
    () => {},
  );

  return {
    ready,
    get synced() {
      return synced;
    },
    get lastSeq() {
      return lastSeq;
    },
    get resyncs() {
      return resyncs;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      synced = false;
      buffer = [];
      unsubscribe();
      offStatus();
      rejectReady(new BusError('bus.closed', `the follower of ${channel} was stopped`));
    },
  };
}
