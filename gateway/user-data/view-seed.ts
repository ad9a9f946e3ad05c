/**
 * Seeds a gateway's order view at start, exactly, so that a gateway started while orders rest
 * (a restart, or one more stateless gateway) lists, cancels and reports them like any other:
 *
 *   1. hold      the hub subscribes to the event stream holding: commands are kept, not applied;
 *                the stream position T is read right after subscribing (every command after T
 *                reaches the hub)
 *   2. wait      until the history store has committed the command before the first one kept
 *                (S0 - 1), or T when none is kept yet: no command falls between the seed and
 *                the stream (polled, bounded: a persister that does not catch up fails the start)
 *   3. seed      every open order with the seq P the store stands at, read in one snapshot, into
 *                the view (`seedOpenOrder`)
 *   4. release   the kept commands after P are applied in order, those at or before P dropped
 *                (the seed reflects them), and the stream feeds the view live from then on
 *
 * The store's rows are the persister's (HistoryOrder plus the user): they keep no quantity
 * taken by self-trade prevention, so a seeded order that STP decremented reports its remainder
 * as quantity minus executed until it ends (the same as GET order from the history store).
 * Only orders that rest on the book are seeded: nothing else is open between commands.
 */
import type { pino } from 'pino';
import type { EventsListener } from '../../engine/index.ts';
import type { HistoryOrder } from '../api/history.port.ts';
import { snapshotOfHistory } from '../api/trading-format.ts';
import { isOnBook, type OrderSnapshot } from '../orders/order-state.ts';
import type { OrderView } from '../orders/order-view.ts';
import type { UserDataHub } from './user-data-hub.ts';

/** One open order as the history store has it. */
export type SeedOrder = HistoryOrder & { readonly userId: number };

/** What the seed reads: the platform's adapter over the accounts database. */
export interface OpenOrdersStore {
  /** The last seq the store has committed (polled while waiting). */
  committedSeq(): Promise<number>;
  /** Every open order and the committed seq they are consistent with, read in one snapshot. */
  openOrders(): Promise<{ readonly seq: number; readonly orders: readonly SeedOrder[] }>;
}

/** What `startSeededFeed` wires. */
export interface SeededFeedOptions {
  readonly hub: UserDataHub;
  /** The hub's view (the one the hub feeds). */
  readonly view: OrderView;
  /** Subscribes a listener to the core's event stream; returns the unsubscribe (CoreClient.onEvents). */
  readonly subscribe: (listener: EventsListener) => () => void;
  /** Where the stream stands for a listener subscribed now (CoreClient.streamSeq). */
  readonly streamSeq: () => number;
  readonly store: OpenOrdersStore;
  /** Longest wait for the store to catch up with the stream (default 30,000 ms). */
  readonly timeoutMs?: number;
  /** Between two reads of the store's progress (default 50 ms). */
  readonly pollMs?: number;
  readonly logger?: pino.Logger;
}

/** How the view was seeded. */
export interface SeedResult {
  /** The seq the seed stands at: the stream fed the view every command after it. */
  readonly seq: number;
  /** Open orders seeded. */
  readonly orders: number;
}

/** A feed that seeds the view, then follows the stream. */
export interface SeededFeed {
  /** Resolves once the view is seeded and fed live; rejects when the store does not catch up in time. */
  readonly ready: Promise<SeedResult>;
  /** Unsubscribes (and ends a wait still running: `ready` then resolves with nothing seeded). */
  close(): void;
}

/** Why a seed failed: the history store did not reach the stream in time. */
export class ViewSeedError extends Error {
  override readonly name = 'ViewSeedError';
}

/** The open orders of `orders` as the view keeps them (those on an unknown symbol are skipped). */
export function seedSnapshots(view: OrderView, orders: readonly SeedOrder[]): OrderSnapshot[] {
  const out: OrderSnapshot[] = [];
  for (const row of orders) {
    const m = view.markets.get(row.symbol);
    const s = m === undefined ? undefined : snapshotOfHistory(row, m, row.userId);
    if (s !== undefined && isOnBook(s)) out.push(s);
  }
  return out;
}

/** Subscribes the hub holding, seeds the view from the store, then releases (see the file header). */
export function startSeededFeed(options: SeededFeedOptions): SeededFeed {
  const { hub, view, store } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 50;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;

  hub.hold();
  const unsubscribe = options.subscribe(hub.listener);
  const streamSeq = options.streamSeq();
  /** The last seq the stream will not bring: the seed must reach it. */
  const needed = (): number => {
    const first = hub.firstHeldSeq;
    return first === undefined ? streamSeq : first - 1;
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const run = async (): Promise<SeedResult> => {
    const deadline = Date.now() + timeoutMs;
    let committed = await store.committedSeq();
    while (!closed && committed < needed()) {
      if (Date.now() >= deadline)
        throw new ViewSeedError(
          `the order view cannot be seeded: the history store has committed up to seq ${committed}, ` +
            `the event stream starts after seq ${needed()}, and it did not catch up within ${timeoutMs} ms ` +
            '(is the persister running?)',
        );
      await sleep(pollMs);
      if (!closed) committed = await store.committedSeq();
    }
    if (closed) return { seq: 0, orders: 0 };
    const seed = await store.openOrders();
    if (closed) return { seq: 0, orders: 0 };
    if (seed.seq < needed())
      throw new ViewSeedError(
        `the order view cannot be seeded: the history store answered at seq ${seed.seq}, before ${needed()}`,
      );
    const snapshots = seedSnapshots(view, seed.orders);
    for (const s of snapshots) view.seedOpenOrder(s);
    hub.release(seed.seq);
    options.logger?.info(
      { seq: seed.seq, orders: snapshots.length, streamSeq },
      'order view seeded from the history store',
    );
    return { seq: seed.seq, orders: snapshots.length };
  };

  return {
    ready: run(),
    close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clearTimeout(timer);
      (wake as (() => void) | null)?.();
      unsubscribe();
    },
  };
}
