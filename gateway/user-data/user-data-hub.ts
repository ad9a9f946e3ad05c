/**
 * The user data hub: the one consumer of the core's event stream that feeds the shared order
 * view and turns every command into Binance's user data events (executionReport,
 * balanceUpdate, outboundAccountPosition), delivered per user, in the engine's order, to
 * whoever subscribed (listen-key streams, WebSocket API subscriptions).
 *
 *   core.onEvents(hub.listener)        released records, whole commands, in seq order
 *     -> userDataEvents(view, ...)     exactly once per command: feeds the OrderView, and
 *                                      builds the events of users somebody listens to
 *     -> per-user queues               only for users somebody listens to
 *     -> subscribers                   send(payload), synchronous, never awaited
 *
 * The listener is synchronous and does no I/O: it decodes, applies, queues and sends (a send
 * only copies into the socket's buffer; a slow socket is closed by its own backpressure
 * limit, never waited for).
 *
 * Seeding (view-seed.ts): a gateway that starts while orders rest subscribes with the hub on
 * `hold`, so commands are decoded and kept, not applied, while the view is seeded from the
 * history store as of some seq; `release(seq)` then applies the kept commands after it and
 * drops those at or before it (and any that still arrive), which the seed already reflects.
 *
 * Balances in outboundAccountPosition. The engine's events say which users and assets a
 * command touched (TradeSettled, FundsEvents, holds on accept and release), but not the
 * balances after it, except funds events. Rebuilding risk's holds here would duplicate the
 * engine's rules, so the hub asks the core (`balancesOf`) once a command is processed, for
 * subscribed users only. That answer reflects every command the core has merged at that
 * moment, which is never older than the command that caused the position (the core merged
 * it before releasing it) and may already include later ones. The choice, documented in
 * docs/GATEWAY.md:
 *   - never stale: a position always shows at least the effect of every event delivered
 *     before it, so a client that applies positions as they come never goes backwards;
 *   - monotonic: one fetch at a time per user, each issued after the previous one answered;
 *   - eventually exact: the last position after a user's last command shows exactly the
 *     balances the core holds;
 *   - ordered: the user's later events wait behind the position until its balances arrive
 *     (in process `balancesOf` may answer synchronously: then nothing waits at all). A fetch
 *     answers every position queued before it was issued.
 * A user's queue is bounded (`maxQueuedPerUser`): past it (the core does not answer
 * balances), the user's subscriptions are dropped (`onDropped`) rather than growing memory
 * or skipping events silently.
 */
import type { pino } from 'pino';
import {
  type Balance,
  decodeEvent,
  type EngineEvent,
  isLastEvent,
  type Markets,
  type RecordViews,
} from '../../engine/index.ts';
import type { TimeUnit } from '../auth/time-unit.ts';
import { type UserDataPayload, userDataEvents } from '../orders/execution-report.ts';
import { decimalString } from '../orders/order-format.ts';
import type { OrderView } from '../orders/order-view.ts';
import type { Clock } from '../ports.ts';

/** One user's balances, from the core (in process it may answer synchronously). */
export type BalanceSource = (userId: number) => Promise<readonly Balance[]> | readonly Balance[];

/** What the hub needs. */
export interface UserDataHubOptions {
  readonly markets: Markets;
  /** The shared order view: the hub is the only one that feeds it. */
  readonly view: OrderView;
  /** A user's balances now (the platform: CoreClient.balancesOf, or Core.balancesOf in process). */
  readonly balancesOf: BalanceSource;
  /** Event times (E) come from it. */
  readonly clock: Clock;
  readonly logger?: pino.Logger;
  /** Most events that may wait for one user behind a balance fetch (default 10,000). */
  readonly maxQueuedPerUser?: number;
}

/** Receives one user data event (already in the subscriber's time unit). Must not throw. */
export type UserDataSend = (payload: UserDataPayload) => void;

/** How a subscriber wants its events. */
export interface SubscribeOptions {
  /** Time fields in milliseconds (default) or microseconds. */
  readonly timeUnit?: TimeUnit;
  /**
   * Called once when the hub drops the subscription because the user's queue overflowed
   * (its stream would have a gap): the subscriber should close its connection.
   */
  readonly onDropped?: () => void;
}

/** An outboundAccountPosition waiting for its balances. */
interface PendingPosition {
  readonly assets: readonly string[];
  readonly eventMicros: number;
  readonly updateMicros: number;
  state: 'waiting' | 'fetching' | 'failed';
}

/** One event queued for a user. */
interface Item {
  readonly seq: number;
  /** The payload with times in µs (undefined while a position waits for balances). */
  payload: UserDataPayload | undefined;
  /** The same in milliseconds, built once when a subscriber wants it. */
  millis: UserDataPayload | undefined;
  readonly position: PendingPosition | undefined;
}

interface Subscriber {
  readonly send: UserDataSend;
  readonly timeUnit: TimeUnit;
  /** Only events of commands after this seq (those processed after it subscribed). */
  readonly fromSeq: number;
  readonly onDropped: (() => void) | undefined;
  active: boolean;
}

/** Everything the hub keeps for one user somebody listens to. */
interface UserStream {
  readonly userId: number;
  readonly subscribers: Set<Subscriber>;
  readonly queue: Item[];
  /** Index of the first undelivered item. */
  head: number;
  fetching: boolean;
}

const DEFAULT_MAX_QUEUED = 10_000;

/** `µs` as milliseconds, rounded down (Binance truncates). */
function ms(micros: number): number {
  return Math.floor(micros / 1000);
}

/** A payload with its time fields in milliseconds. */
export function payloadInMillis(p: UserDataPayload): UserDataPayload {
  switch (p.e) {
    case 'executionReport':
      return { ...p, E: ms(p.E), T: ms(p.T), O: ms(p.O), W: ms(p.W) };
    case 'outboundAccountPosition':
      return { ...p, E: ms(p.E), u: ms(p.u) };
    case 'balanceUpdate':
      return { ...p, E: ms(p.E), T: ms(p.T) };
    default: {
      const never: never = p;
      throw new Error(`unknown user data event ${JSON.stringify(never)}`);
    }
  }
}

/** Feeds the order view and fans user data events out to subscribers (see the file header). */
export class UserDataHub {
  private readonly markets: Markets;
  private readonly view: OrderView;
  private readonly balancesOf: BalanceSource;
  private readonly clock: Clock;
  private readonly logger: pino.Logger | undefined;
  private readonly maxQueued: number;
  /** Asset names and scales by asset id. */
  private readonly assets: readonly { readonly asset: string; readonly scale: number }[];
  private readonly streams = new Map<number, UserStream>();
  /** Events of a command whose last event has not arrived yet (a batch never splits one in practice). */
  private partial: EngineEvent[] = [];
  private seq = 0;
  /** Whole commands kept, not applied, while the view is being seeded (null: apply as they come). */
  private held: EngineEvent[][] | null = null;
  /** The seq the view was seeded at: commands at or before it are skipped without a warning. */
  private seededSeq = 0;

  constructor(options: UserDataHubOptions) {
    this.markets = options.markets;
    this.view = options.view;
    this.balancesOf = options.balancesOf;
    this.clock = options.clock;
    this.logger = options.logger;
    this.maxQueued = Math.max(1, Math.floor(options.maxQueuedPerUser ?? DEFAULT_MAX_QUEUED));
    this.assets = [...options.markets.assets.values()];
  }

  /** The seq of the last command processed (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The seq of the first command kept since `hold` (undefined: none, or not holding). */
  get firstHeldSeq(): number | undefined {
    return this.held?.[0]?.[0]?.seq;
  }

  /** From now on keeps every command (decoded) instead of applying it, until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /**
   * Ends `hold`: the view reflects every command up to `seededSeq` (the seed), so the kept
   * commands after it are applied in order, those at or before it are dropped, and so will be
   * any at or before it that still arrive.
   */
  release(seededSeq: number): void {
    const held = this.held ?? [];
    this.held = null;
    this.seededSeq = Math.max(this.seededSeq, seededSeq);
    this.seq = Math.max(this.seq, seededSeq);
    const touched = new Set<UserStream>();
    for (const events of held) this.command(events, touched);
    for (const s of touched) this.pump(s);
  }

  /** How many subscriptions are active (all users, or one). */
  subscriberCount(userId?: number): number {
    if (userId !== undefined) return this.streams.get(userId)?.subscribers.size ?? 0;
    let n = 0;
    for (const s of this.streams.values()) n += s.subscribers.size;
    return n;
  }

  /**
   * The core's event listener (`core.onEvents(hub.listener)`): released records in seq
   * order. Synchronous; it never throws into the core (a failure here is logged: the core
   * must not stop because a gateway has a bug).
   */
  readonly listener = (views: RecordViews, from: number, count: number): void => {
    const touched = new Set<UserStream>();
    for (let i = from; i < from + count; i++) {
      let e: EngineEvent;
      try {
        e = decodeEvent(views, i);
      } catch (err) {
        this.logger?.error({ err, index: i }, 'user data: an event record could not be decoded');
        continue;
      }
      this.partial.push(e);
      if (!isLastEvent(views, i)) continue;
      const events = this.partial;
      this.partial = [];
      if (this.held !== null) this.held.push(events);
      else this.command(events, touched);
    }
    for (const s of touched) this.pump(s);
  };

  /**
   * Subscribes `send` to `userId`'s events from the next command on. Returns the
   * unsubscribe (idempotent).
   */
  subscribe(userId: number, send: UserDataSend, options: SubscribeOptions = {}): () => void {
    if (!Number.isSafeInteger(userId) || userId < 0) throw new RangeError(`user id ${userId} is not valid`);
    let s = this.streams.get(userId);
    if (s === undefined) {
      s = { userId, subscribers: new Set(), queue: [], head: 0, fetching: false };
      this.streams.set(userId, s);
    }
    const sub: Subscriber = {
      send,
      timeUnit: options.timeUnit ?? 'MILLISECOND',
      fromSeq: this.seq,
      onDropped: options.onDropped,
      active: true,
    };
    s.subscribers.add(sub);
    const stream = s;
    return () => {
      if (!sub.active) return;
      sub.active = false;
      stream.subscribers.delete(sub);
      if (stream.subscribers.size === 0 && this.streams.get(userId) === stream) this.streams.delete(userId);
    };
  }

  /**
   * Zero placeholders: only which assets the command touched matters here; the real balances
   * are fetched when the position reaches the head of the user's queue.
   */
  private readonly placeholderBalances = (userId: number, assets: readonly string[]) =>
    this.streams.has(userId) ? assets.map((asset) => ({ asset, freeUnits: 0, lockedUnits: 0 })) : [];

  /** Nothing is built for users nobody listens to (most of them, most of the time). */
  private readonly listened = (userId: number): boolean => this.streams.has(userId);

  /** One whole command: through the view exactly once, then into the queues of listened users. */
  private command(events: readonly EngineEvent[], touched: Set<UserStream>): void {
    const seq = events[0]!.seq;
    if (seq <= this.seq) {
      // A link that resumed may repeat commands already seen; the view must not see them twice.
      // Those the seed already reflects (the history store ran ahead of this stream) are expected.
      if (seq > this.seededSeq)
        this.logger?.warn({ seq, lastSeq: this.seq }, 'user data: a command seen before was skipped');
      return;
    }
    if (this.seq > 0 && seq !== this.seq + 1)
      this.logger?.warn({ seq, lastSeq: this.seq }, 'user data: commands are missing from the event stream');
    this.seq = seq;
    let out: ReturnType<typeof userDataEvents>;
    try {
      out = userDataEvents(this.view, events, {
        timeUnit: 'MICROSECOND',
        eventTimeMicros: this.clock.nowMicros(),
        balances: this.placeholderBalances,
        wants: this.listened,
      });
    } catch (err) {
      this.logger?.error({ err, seq }, 'user data: a command could not be turned into user data events');
      return;
    }
    for (const { userId, payload } of out) {
      const s = this.streams.get(userId);
      if (s === undefined) continue;
      const position: PendingPosition | undefined =
        payload.e === 'outboundAccountPosition'
          ? {
              assets: payload.B.map((b) => b.a),
              eventMicros: payload.E,
              updateMicros: payload.u,
              state: 'waiting',
            }
          : undefined;
      s.queue.push({
        seq,
        payload: position === undefined ? payload : undefined,
        millis: undefined,
        position,
      });
      touched.add(s);
      if (s.queue.length - s.head > this.maxQueued) this.drop(s);
    }
  }

  /** Cuts a user's subscribers off: its queue outgrew the bound. */
  private drop(s: UserStream): void {
    this.logger?.warn(
      { userId: s.userId, queued: s.queue.length - s.head },
      'user data: subscriptions dropped (balances did not arrive in time)',
    );
    if (this.streams.get(s.userId) === s) this.streams.delete(s.userId);
    s.queue.length = 0;
    s.head = 0;
    for (const sub of s.subscribers) {
      sub.active = false;
      try {
        sub.onDropped?.();
      } catch (err) {
        this.logger?.error({ err }, 'user data: a subscriber failed while being dropped');
      }
    }
    s.subscribers.clear();
  }

  /** Delivers a user's queue in order, as far as balances allow. */
  private pump(s: UserStream): void {
    while (s.head < s.queue.length) {
      if (this.streams.get(s.userId) !== s) return;
      const item = s.queue[s.head]!;
      const p = item.position;
      if (p !== undefined && item.payload === undefined && p.state !== 'failed') {
        if (p.state === 'waiting') this.fetch(s);
        if (item.payload === undefined && (p.state as PendingPosition['state']) !== 'failed') {
          if (s.head > 1024 && s.head * 2 > s.queue.length) {
            s.queue.splice(0, s.head);
            s.head = 0;
          }
          return;
        }
      }
      s.head++;
      if (item.payload !== undefined) this.deliver(s, item);
    }
    s.queue.length = 0;
    s.head = 0;
  }

  /** Asks the core for the user's balances, for every position waiting now. */
  private fetch(s: UserStream): void {
    if (s.fetching) return;
    const targets: Item[] = [];
    for (let i = s.head; i < s.queue.length; i++) {
      const item = s.queue[i]!;
      if (item.position?.state === 'waiting') {
        item.position.state = 'fetching';
        targets.push(item);
      }
    }
    if (targets.length === 0) return;
    s.fetching = true;
    let answer: Promise<readonly Balance[]> | readonly Balance[];
    try {
      answer = this.balancesOf(s.userId);
    } catch (err) {
      this.fetched(s, targets, undefined, err);
      return;
    }
    if (Array.isArray(answer)) {
      this.fetched(s, targets, answer as readonly Balance[], undefined);
      return;
    }
    (answer as Promise<readonly Balance[]>).then(
      (balances) => {
        this.fetched(s, targets, balances, undefined);
        this.pump(s);
      },
      (err: unknown) => {
        this.fetched(s, targets, undefined, err);
        this.pump(s);
      },
    );
  }

  /** Fills the positions a fetch answered (or marks them failed: they are skipped). */
  private fetched(
    s: UserStream,
    targets: readonly Item[],
    balances: readonly Balance[] | undefined,
    err: unknown,
  ): void {
    s.fetching = false;
    if (balances === undefined) {
      this.logger?.warn(
        { err, userId: s.userId, positions: targets.length },
        'user data: balances could not be read; account positions skipped',
      );
      for (const t of targets) t.position!.state = 'failed';
      return;
    }
    const byAsset = new Map<string, Balance>();
    for (const b of balances) {
      const a = this.assets[b.assetId];
      if (a !== undefined) byAsset.set(a.asset, b);
    }
    const scale = (asset: string) => this.markets.assets.get(asset)?.scale ?? 8;
    for (const t of targets) {
      const p = t.position!;
      t.payload = {
        e: 'outboundAccountPosition',
        E: p.eventMicros,
        u: p.updateMicros,
        B: p.assets.map((a) => {
          const b = byAsset.get(a);
          return {
            a,
            f: decimalString(b?.free ?? 0, scale(a)),
            l: decimalString(b?.locked ?? 0, scale(a)),
          };
        }),
      };
    }
  }

  private deliver(s: UserStream, item: Item): void {
    const payload = item.payload!;
    // A Set visits members added during iteration: those subscribed after this command are
    // filtered by fromSeq; those removed (a send that closed its socket) are not visited.
    for (const sub of s.subscribers) {
      if (!sub.active || item.seq <= sub.fromSeq) continue;
      if (sub.timeUnit !== 'MICROSECOND' && item.millis === undefined) item.millis = payloadInMillis(payload);
      const p = sub.timeUnit === 'MICROSECOND' ? payload : item.millis!;
      try {
        sub.send(p);
      } catch (err) {
        this.logger?.error({ err, userId: s.userId }, 'user data: a subscriber failed to take an event');
      }
    }
  }
}
