/**
 * The persister: consumes the engine's released event stream and writes history (orders,
 * trades, the double-entry ledger, the balance projection) in one database transaction per
 * batch, keyed by sequence.
 *
 *   listener   (synchronous, inside the engine's release) checks the stream is gapless and
 *              copies the records into the inbox; nothing is decoded there
 *   batch      the writer takes what has arrived, whole commands only, up to `maxBatch`
 *              events (one command longer than that goes alone), folds it into rows and
 *              encodes the statements (COPY text on a server)
 *   write      one transaction: the rows and persister_state.last_seq. Two batches in flight,
 *              on two connections: the second's appends go in while the first finishes, and
 *              it commits after the first (writeBatch); the next is folded meanwhile
 *   commit     without waiting for the disk while more follows (synchronous_commit off),
 *              durably before going idle and at least every `durableEveryMs`; the core is
 *              told only the durable seq (`progress`), so it keeps the journal to replay the rest
 *   repeat     until the inbox holds no whole command
 *
 * Exactly once: a batch commits with the seq of its last command, so after a crash the
 * database says which commands are written; `open` reads it, and the listener drops any
 * event at or below it, so replaying an overlapping stream (the core regenerates everything
 * after `afterSeq` on start) writes nothing twice. Batches end on command boundaries, so a
 * seq is never half written.
 *
 * Crash-only: a broken stream (a gap, an unsettled trade) or a failed write stops the
 * persister (`failure`, `onError`, rejected `flushed` promises); the platform restarts it
 * with `open`, which resumes from the database.
 */
import type { Kysely } from 'kysely';
import { isLastEvent, type Markets, type RecordViews, seqAt } from '../../engine/index.ts';
import type { Database } from '../db/schema.ts';
import type { TradeRecord } from '../trade-store/trade-store.port.ts';
import { foldBatch, HistoryStreamError, type MarketNames, marketNames } from './batch-rows.ts';
import { copySupported } from './copy-in.ts';
import { type EncodedBatch, encodeBatch, readProgress, recordSymbols, writeBatch } from './history-writer.ts';
import { RecordQueue } from './record-queue.ts';

/** The persister's default name in persister_state (PersisterOptions.consumer). */
export const HISTORY_CONSUMER = 'history';

/** How a persister runs. */
export interface PersisterOptions {
  /** Its name in persister_state (default "history"). */
  readonly consumer?: string;
  /**
   * Most events per batch (default 20000); a single longer command is written alone. A batch
   * is what has arrived, up to this: a command or two while the persister keeps up, this many
   * when it is behind, where a bigger batch costs less per trade (an account's balance and an
   * order's fills are written once per batch however often they changed in it).
   */
  readonly maxBatch?: number;
  /** Called once when the persister stops on an error. */
  readonly onError?: (error: Error) => void;
  /** Called after each committed batch (metrics, a DynamoDB mirror of the trades). */
  readonly onCommit?: (batch: CommittedBatch) => void;
  /**
   * At most this long (default 1000 ms) between durable commits while batches follow each
   * other; the other commits return before their WAL is flushed (see `durableSeq`).
   */
  readonly durableEveryMs?: number;
  /** Appends by COPY where the connection takes it (default true); false: `unnest` arrays always. */
  readonly copy?: boolean;
  /**
   * Batches written at once, each on a connection of its own (default 2; 1: one after the
   * other). With 2 the next batch's appends go in while the one ahead of it finishes.
   */
  readonly inFlight?: 1 | 2;
  /**
   * While it keeps up, a batch starts at most this often (default 0: as soon as events
   * arrive): a few milliseconds more of history lag for many fewer transactions, round trips
   * and durable commits when the engine is busy but not flat out. A batch of half `maxBatch`
   * or more never waits, nor does `close`.
   */
  readonly lingerMs?: number;
}

/** A batch that has committed. */
export interface CommittedBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly events: number;
  readonly trades: readonly TradeRecord[];
  /** Its ledger postings: the rows of `ledger_entries` and the trades' postings. */
  readonly ledgerEntries: number;
  /** From the start of its write (its fold, unless it was folded during the previous write) to its commit. */
  readonly millis: number;
  /** Its commit flushed the WAL: this batch and every one before it survive a crash of the database. */
  readonly durable: boolean;
}

/** How far behind the engine the persister is. */
export interface PersisterLag {
  /** The last seq committed to the database. */
  readonly committedSeq: number;
  /** The last seq whose commit is durable (flushed to the database's disk): `progress` for the core. */
  readonly durableSeq: number;
  /** The last seq whose command has fully arrived. */
  readonly receivedSeq: number;
  /** Events arrived and not yet committed (including the batch being written). */
  readonly pendingEvents: number;
  /** `pendingEvents` in batches of `maxBatch`, rounded up. */
  readonly pendingBatches: number;
  /** Events of the batch being written (0 when idle). */
  readonly inFlightEvents: number;
}

/** Totals since `open`. */
export interface PersisterStats {
  readonly batches: number;
  readonly events: number;
  readonly trades: number;
  readonly ledgerEntries: number;
  readonly largestBatch: number;
}

/** The shape of the core's durable consumer (CoreOptions.consumers). */
export interface HistoryConsumer {
  readonly name: string;
  readonly afterSeq: number;
  readonly listener: (views: RecordViews, from: number, count: number) => void;
  readonly progress: () => number;
}

/**
 * `flushed(seq)` when it need not wait (shared by the persister in this thread and on its own):
 * resolved once `seq` is committed, rejected after the persister stopped; undefined otherwise.
 */
export function settledFlush(
  seq: number,
  committed: number,
  error: Error | null,
  stopped: boolean,
): Promise<void> | undefined {
  if (seq <= committed) return Promise.resolve();
  if (error !== null) return Promise.reject(error);
  if (stopped) return Promise.reject(new Error(`persister closed at seq ${committed}`));
  return undefined;
}

/** Batches written at once by default (the second's appends overlap the first's end; see writeBatch). */
const IN_FLIGHT = 2;

/** A batch being written. */
/** Where a batch's fold continues from: the next ledger id, the last order time mark's time. */
interface FoldFrom {
  readonly ledgerId: number;
  readonly markMicros: number;
}

interface Flight {
  readonly batch: EncodedBatch;
  /** Its events, at the head of the inbox after the batches before it. */
  readonly n: number;
  readonly durable: boolean;
  /** The seq the database holds before it. */
  readonly expected: number;
  readonly started: number;
  readonly done: Promise<void>;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** The persister (see the file's header); one per consumer name, made by `Persister.open`. */
export class Persister {
  private readonly queue = new RecordQueue();
  private readonly names: MarketNames;
  private readonly consumerName: string;
  private readonly maxBatch: number;
  private readonly durableEveryMs: number;
  private readonly inFlightMax: number;
  /** Events a batch started behind one in flight must have: half of `maxBatch`. */
  private readonly behindMin: number;
  private readonly lingerMs: number;
  /** When the last batch started (performance.now()). */
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private committed: number;
  /** The last seq whose commit flushed the WAL (everything up to it survives a database crash). */
  private durable: number;
  private lastDurableAt = performance.now();
  private received: number;
  /** Seq of the command whose events are arriving (0 between commands). */
  private open = 0;
  private nextLedgerId: number;
  /** The creation time of the last order time mark written (-1: none). */
  private lastMarkMicros: number;
  private writing = false;
  private scheduled = false;
  /** The timer of a batch lingering (lingerMs), if one is. */
  private lingering: NodeJS.Timeout | null = null;
  /** Commands up to this seq are written without lingering (`catchUp`). */
  private hurrySeq = 0;
  /** Set while the writer waits on a batch with room for another in flight: new events wake it. */
  private wake: (() => void) | null = null;
  private inFlight = 0;
  private stopped = false;
  private closing: (() => void) | null = null;
  private error: Error | null = null;
  private waiters: Waiter[] = [];
  private readyWaiters: { max: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private totals = { batches: 0, events: 0, trades: 0, ledgerEntries: 0, largestBatch: 0 };

  private constructor(
    private readonly db: Kysely<Database>,
    markets: Markets,
    private readonly options: PersisterOptions,
    progress: { lastSeq: number; lastLedgerId: number; lastMarkMicros: number },
    private readonly copy: boolean,
  ) {
    this.names = marketNames(markets);
    this.consumerName = options.consumer ?? HISTORY_CONSUMER;
    this.maxBatch = options.maxBatch ?? 20_000;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    }
    this.inFlightMax = options.inFlight ?? IN_FLIGHT;
    if (this.inFlightMax !== 1 && this.inFlightMax !== 2) {
      throw new RangeError(`inFlight must be 1 or 2, got ${options.inFlight}`);
    }
    this.behindMin = Math.ceil(this.maxBatch / 2);
    this.lingerMs = options.lingerMs ?? 0;
    if (!(this.lingerMs >= 0 && this.lingerMs <= 60_000)) {
      throw new RangeError(`lingerMs must be 0 to 60000, got ${options.lingerMs}`);
    }
    this.durableEveryMs = options.durableEveryMs ?? 1000;
    if (!(this.durableEveryMs >= 0)) {
      throw new RangeError(`durableEveryMs must be 0 or more, got ${options.durableEveryMs}`);
    }
    this.committed = progress.lastSeq;
    this.durable = progress.lastSeq;
    this.received = progress.lastSeq;
    this.nextLedgerId = progress.lastLedgerId + 1;
    this.lastMarkMicros = progress.lastMarkMicros;
  }

  /** Opens a persister where the database says it stopped. */
  static async open(
    db: Kysely<Database>,
    markets: Markets,
    options: PersisterOptions = {},
  ): Promise<Persister> {
    await recordSymbols(db, marketNames(markets));
    const progress = await readProgress(db, options.consumer ?? HISTORY_CONSUMER);
    const copy = options.copy !== false && (await copySupported(db, 'persister_state'));
    return new Persister(db, markets, options, progress, copy);
  }

  /** The last seq committed to the database (0 for none). */
  lastSeq(): number {
    return this.committed;
  }

  /**
   * The last seq whose commit is durable. A batch with more waiting behind it commits without
   * waiting for its WAL to reach the disk (`synchronous_commit = off`); the last batch before
   * the persister goes idle, and one at least every `durableEveryMs` under load, waits, which
   * flushes every commit before it too. A crash of the database loses at most the commits
   * after this seq (whole batches, never part of one), and the core keeps the journal after
   * it (`durableConsumer().progress`), so they are written again on restart.
   */
  durableSeq(): number {
    return this.durable;
  }

  /** Whether appends go by COPY (a PostgreSQL server through node-postgres) or by `unnest` arrays. */
  get usesCopy(): boolean {
    return this.copy;
  }

  /** Why the persister stopped, if it did. */
  get failure(): Error | null {
    return this.error;
  }

  /** The listener for `core.onEvents` (or for any replay of the stream, overlapping or not). */
  readonly listener = (views: RecordViews, from: number, count: number): void => {
    if (this.stopped || this.closing !== null) return;
    let run = -1;
    const end = from + count;
    for (let i = from; i < end; i++) {
      const seq = seqAt(views, i);
      if (this.open === 0) {
        if (seq <= this.received) {
          // Already written or already queued: a replay overlapping what we have.
          if (run >= 0) this.queue.append(views, run, i - run);
          run = -1;
          continue;
        }
        if (seq !== this.received + 1) {
          if (run >= 0) this.queue.append(views, run, i - run);
          this.fail(
            new HistoryStreamError(
              `events jump from seq ${this.received} to ${seq}: history would have a hole`,
            ),
          );
          return;
        }
        this.open = seq;
      } else if (seq !== this.open) {
        this.fail(
          new HistoryStreamError(`command ${this.open} ended without its last event (next seq ${seq})`),
        );
        return;
      }
      if (run < 0) run = i;
      if (isLastEvent(views, i)) {
        this.received = seq;
        this.open = 0;
      }
    }
    if (run >= 0) this.queue.append(views, run, end - run);
    this.schedule();
  };

  /** This persister as a durable consumer of the core (resumes after `lastSeq()`). */
  durableConsumer(): HistoryConsumer {
    return {
      name: this.consumerName,
      afterSeq: this.committed,
      listener: this.listener,
      // What the core may forget: only what would survive a crash of the database.
      progress: () => this.durable,
    };
  }

  /** Resolves once everything up to `seq` is committed; rejects if the persister stops first. */
  flushed(seq: number): Promise<void> {
    return (
      settledFlush(seq, this.committed, this.error, this.stopped) ??
      new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }))
    );
  }

  /**
   * For a read that must see what was acknowledged before it (a client's own trades in
   * myTrades right after its order's reply): writes every whole command that has arrived
   * without lingering, and resolves once it is committed or after `maxWaitMs`, whichever comes
   * first. Never rejects: on a stopped persister, or a slow one, the read sees what is written.
   */
  catchUp(maxWaitMs: number): Promise<void> {
    const seq = this.received;
    if (seq <= this.committed || this.stopped) return Promise.resolve();
    if (seq > this.hurrySeq) this.hurrySeq = seq;
    if (this.lingering !== null) {
      clearTimeout(this.lingering);
      this.lingering = null;
      this.scheduled = false;
      this.schedule();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.flushed(seq).then(done, done);
    });
  }

  /**
   * Resolves once at most `maxPendingEvents` events wait (default two batches): a producer
   * replaying a stream as fast as it can awaits this to keep the inbox bounded.
   */
  ready(maxPendingEvents = 2 * this.maxBatch): Promise<void> {
    if (this.error !== null) return Promise.reject(this.error);
    if (this.queue.size <= maxPendingEvents) return Promise.resolve();
    return new Promise((resolve, reject) =>
      this.readyWaiters.push({ max: maxPendingEvents, resolve, reject }),
    );
  }

  /** How far behind the engine it is. */
  lag(): PersisterLag {
    const pending = this.queue.size;
    return {
      committedSeq: this.committed,
      durableSeq: this.durable,
      receivedSeq: this.received,
      pendingEvents: pending,
      pendingBatches: Math.ceil(pending / this.maxBatch),
      inFlightEvents: this.inFlight,
    };
  }

  /** Totals since `open`. */
  stats(): PersisterStats {
    return { ...this.totals };
  }

  /**
   * Writes every whole command that has arrived, then stops taking events. The database is
   * the caller's to close. Resolves even if the persister had failed (see `failure`).
   */
  async close(): Promise<void> {
    if (this.stopped) return;
    if (this.lingering !== null) {
      clearTimeout(this.lingering);
      this.lingering = null;
      this.scheduled = false;
    }
    await new Promise<void>((resolve) => {
      this.closing = resolve;
      if (!this.writing) void this.drain();
    });
  }

  private schedule(): void {
    if (this.writing) {
      // The writer waits on a batch with a slot free: once enough waits for a batch behind
      // it, let it start one.
      const wake = this.wake;
      if (wake !== null && this.queue.size - this.inFlight >= this.behindMin) {
        this.wake = null;
        setImmediate(wake);
      }
      return;
    }
    if (this.lingering !== null) {
      // A small batch waits for more; a backlog of half a batch or more goes at once.
      if (this.queue.size < this.behindMin) return;
      clearTimeout(this.lingering);
      this.lingering = null;
      this.scheduled = false;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Not from inside the engine's release: let the rest of its burst arrive first, so the
    // batch is as large as what has arrived, and the engine's thread returns at once.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  /** Folds and encodes the whole commands at `offset` events into the inbox (null: none). */
  private prepare(offset: number, from: FoldFrom): { batch: EncodedBatch; n: number } | null {
    const n = this.queue.wholeCommands(this.maxBatch, offset);
    if (n === 0) return null;
    const rows = foldBatch(
      this.queue.records,
      this.queue.first + offset,
      n,
      this.names,
      from.ledgerId,
      from.markMicros,
    );
    return { batch: encodeBatch(rows, this.copy), n };
  }

  private async drain(): Promise<void> {
    if (this.writing || this.stopped) return;
    this.writing = true;
    // Up to two batches in flight, oldest first: the second's appends go in while the first
    // finishes (see writeBatch), and the next batch is folded and encoded meanwhile.
    const flights: Flight[] = [];
    /** Set when the writer goes idle early to let a small batch grow (lingerMs): ms to wait. */
    let linger = 0;
    try {
      let offset = 0; // events of the batches in flight, at the head of the inbox
      let expected = this.committed;
      // Where the next batch's ledger ids and order time marks continue from.
      let from: FoldFrom = { ledgerId: this.nextLedgerId, markMicros: this.lastMarkMicros };
      // A batch that could not be folded (a broken stream): the ones before it still commit,
      // then the persister stops on it.
      let broken: Error | null = null;
      // Set when a batch in flight fails: no batch starts behind it.
      let failed = false;
      // The next batch, folded and encoded while a write's largest statement kept the server
      // busy (whileWriting). Only a big one: with that much waiting, it is the next batch
      // whatever arrives meanwhile; a smaller one is folded when it starts, with all that has
      // arrived by then.
      let ahead: { batch: EncodedBatch; n: number } | null = null;
      const prepareAhead = (): void => {
        if (ahead !== null || this.stopped || broken !== null || failed) return;
        if (this.queue.wholeCommands(this.maxBatch, offset) < this.behindMin) return;
        try {
          ahead = this.prepare(offset, from);
        } catch (e) {
          broken = e instanceof Error ? e : new Error(String(e));
        }
        const wake = this.wake;
        this.wake = null;
        wake?.();
      };
      while (flights.length > 0 || (!this.stopped && broken === null)) {
        while (flights.length < this.inFlightMax && !this.stopped && broken === null && !failed) {
          let next: { batch: EncodedBatch; n: number } | null = ahead;
          ahead = null;
          if (next === null) {
            // Behind a batch in flight only a big one: a few events are better taken with all
            // that arrives until the one ahead commits (many small batches would each pay a
            // transaction, and a durable commit).
            if (flights.length > 0 && this.queue.wholeCommands(this.maxBatch, offset) < this.behindMin) break;
            // Idle and keeping up: a small batch waits out the linger since the last one started.
            if (
              flights.length === 0 &&
              this.lingerMs > 0 &&
              this.closing === null &&
              this.hurrySeq <= expected
            ) {
              const wait = this.lastStartAt + this.lingerMs - performance.now();
              if (wait > 0 && this.queue.wholeCommands(this.maxBatch, offset) < this.behindMin) {
                linger = wait;
                break;
              }
            }
            try {
              next = this.prepare(offset, from);
            } catch (e) {
              broken = e instanceof Error ? e : new Error(String(e));
              break;
            }
            if (next === null) break;
          }
          const { batch, n } = next;
          // Durable when nothing whole waits behind this batch (the persister is about to go
          // idle, so all it wrote is on disk when it does) or when the last durable commit is
          // getting old; otherwise the commit does not wait for the disk.
          const durable =
            this.queue.wholeCommands(1, offset + n) === 0 ||
            performance.now() - this.lastDurableAt >= this.durableEveryMs;
          if (durable) this.lastDurableAt = performance.now();
          const before = flights.at(-1);
          const started = performance.now();
          this.lastStartAt = started;
          const done = writeBatch(this.db, this.consumerName, expected, batch, {
            durable,
            ...(before === undefined ? {} : { behind: { seq: before.expected, written: before.done } }),
            whileWriting: prepareAhead,
          });
          // Handled when its turn comes; until then a failure must not be an unhandled rejection.
          done.catch(() => {
            failed = true;
          });
          flights.push({ batch, n, durable, expected, started, done });
          this.inFlight += n;
          offset += n;
          expected = batch.rows.lastSeq;
          from = { ledgerId: batch.rows.nextLedgerId, markMicros: batch.rows.lastMarkMicros };
        }
        const flight = flights[0];
        if (flight === undefined) {
          if (broken !== null) throw broken;
          break;
        }
        if (flights.length < this.inFlightMax && !this.stopped && broken === null && !failed) {
          // Room for another batch: wait for this one's commit or for more events, whichever first.
          const arrived = new Promise<'arrived'>((resolve) => {
            this.wake = () => resolve('arrived');
          });
          const first = await Promise.race([flight.done.then(() => 'done' as const), arrived]);
          this.wake = null;
          if (first === 'arrived') continue;
        } else await flight.done;
        flights.shift();
        const { rows } = flight.batch;
        const n = flight.n;
        this.queue.drop(n);
        offset -= n;
        this.inFlight -= n;
        this.committed = rows.lastSeq;
        if (flight.durable) this.durable = rows.lastSeq;
        this.nextLedgerId = rows.nextLedgerId;
        this.lastMarkMicros = rows.lastMarkMicros;
        const t = this.totals;
        t.batches++;
        t.events += n;
        t.trades += rows.trades.length;
        t.ledgerEntries += rows.postings;
        t.largestBatch = Math.max(t.largestBatch, n);
        this.settle();
        this.options.onCommit?.({
          firstSeq: rows.firstSeq,
          lastSeq: rows.lastSeq,
          events: n,
          trades: rows.trades,
          ledgerEntries: rows.postings,
          millis: performance.now() - flight.started,
          durable: flight.durable,
        });
      }
    } catch (e) {
      // A batch behind the failed one rolls back: wait for it, so that no transaction of this
      // persister is open once anyone hears it stopped.
      await Promise.allSettled(flights.map((f) => f.done));
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.writing = false;
      this.inFlight = 0;
    }
    if (this.closing !== null && !this.stopped) {
      this.stop(new Error(`persister closed at seq ${this.committed}`));
      return;
    }
    if (linger > 0 && !this.stopped && !this.scheduled) {
      this.scheduled = true;
      this.lingering = setTimeout(() => {
        this.lingering = null;
        this.scheduled = false;
        void this.drain();
      }, Math.ceil(linger));
    }
  }

  private settle(): void {
    if (this.waiters.length > 0) {
      const done = this.waiters.filter((w) => w.seq <= this.committed);
      if (done.length > 0) {
        this.waiters = this.waiters.filter((w) => w.seq > this.committed);
        for (const w of done) w.resolve();
      }
    }
    if (this.readyWaiters.length > 0) {
      const size = this.queue.size;
      const done = this.readyWaiters.filter((w) => size <= w.max);
      this.readyWaiters = this.readyWaiters.filter((w) => size > w.max);
      for (const w of done) w.resolve();
    }
  }

  private fail(error: Error): void {
    if (this.error !== null) return;
    this.error = error;
    this.stop(error);
    this.options.onError?.(error);
  }

  /** Stops for good: pending promises are rejected with `reason`, `close` resolves. */
  private stop(reason: Error): void {
    this.stopped = true;
    for (const w of this.waiters) w.reject(reason);
    for (const w of this.readyWaiters) w.reject(reason);
    this.waiters = [];
    this.readyWaiters = [];
    const closing = this.closing;
    this.closing = null;
    closing?.();
  }
}
