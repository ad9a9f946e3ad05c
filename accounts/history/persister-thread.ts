/**
 * The persister on a thread of its own, for a PostgreSQL server (DATABASE_URL): the same
 * `Persister` (./persister.ts), in a worker with its own connections, fed the core's released
 * records over a MessagePort. Folding a batch into rows, encoding its COPY text and driving the
 * database's protocol then run beside the thread that sequences orders and answers clients,
 * instead of taking turns with it (docs/BENCHMARKS.md, gateway section).
 *
 *   core thread                                 persister thread
 *   listener(views, from, count)                Persister.listener: gapless check, inbox
 *     copies the records (bytes only)             fold, encode, write, commit (as in one thread)
 *   per batch of records: one message      -->  progress after every commit
 *   progress() <- committed / durable seq  <--  (what the core may prune: the durable one)
 *   flushed(seq), catchUp(ms): requests    -->  answered when they would be in one thread
 *
 * The records go in batches, as one transferred buffer each: every event-loop turn when the
 * persister writes at once (`lingerMs` 0), else every few milliseconds (at most `lingerMs`, which
 * the persister would wait for anyway) or as soon as HAND_OFF_RECORDS are waiting. So the core
 * thread pays a copy per event and a message per batch, and a lightly loaded persister thread is
 * woken a few hundred times a second, not for every command. Order is the port's: the stream
 * reaches the persister as the core released it, and a request (`flushed`, `catchUp`) sends what
 * is waiting first, so it is answered after those records arrived.
 *
 * Crash-only, as in one thread: an error in the persister (a gap, a failed write) or the loss of
 * the thread stops it; `onError` is told once; `flushed` rejects from then on; a restart of the
 * process resumes from the database.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import { RECORD_BYTES, type RecordViews } from '../../engine/index.ts';
import { spawnWorker } from '../../engine/runtime/spawn-worker.ts';
import { HISTORY_CONSUMER, type HistoryConsumer, settledFlush } from './persister.ts';

/** What the platform needs of a persister, in this thread (`Persister`) or another (`PersisterThread`). */
export interface HistoryPersister {
  /** This persister as a durable consumer of the core (resumes after `lastSeq()`). */
  durableConsumer(): HistoryConsumer;
  /** The last seq committed to the database (0 for none). */
  lastSeq(): number;
  /** Resolves once everything up to `seq` is committed; rejects if the persister stops first. */
  flushed(seq: number): Promise<void>;
  /** Writes what has arrived without lingering; resolves once committed or after `maxWaitMs`. Never rejects. */
  catchUp(maxWaitMs: number): Promise<void>;
  /** Writes every whole command that has arrived, then stops. */
  close(): Promise<void>;
}

/** What the worker gets as workerData. */
export interface PersisterThreadData {
  readonly url: string;
  readonly marketsFile: string;
  readonly lingerMs: number;
  readonly port: MessagePort;
}

/** Core thread -> persister thread. */
export type ToPersisterThread =
  | { readonly t: 'events'; readonly buffer: ArrayBuffer; readonly count: number }
  | { readonly t: 'flushed'; readonly rid: number; readonly seq: number }
  | { readonly t: 'catchUp'; readonly rid: number; readonly maxWaitMs: number }
  | { readonly t: 'close' };

/** Persister thread -> core thread. */
export type FromPersisterThread =
  | { readonly t: 'open'; readonly committed: number; readonly durable: number }
  | { readonly t: 'progress'; readonly committed: number; readonly durable: number }
  | { readonly t: 'done'; readonly rid: number; readonly error?: string }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'closed' };

/** Options of `PersisterThread.open`. */
export interface PersisterThreadOptions {
  /** PersisterOptions.lingerMs (default 0). */
  readonly lingerMs?: number;
  /** Called once when the persister stops on an error (or its thread is lost). */
  readonly onError?: (error: Error) => void;
}

/** Records buffered on the core thread before the first message (grows as needed). */
const INITIAL_RECORDS = 4096;
/** Records that go at once (the next turn), however soon the last batch went. */
const HAND_OFF_RECORDS = 1024;
/** The longest a record waits on the core thread (less with a shorter linger). */
const HAND_OFF_MAX_MS = 5;

/** A persister running on a worker thread. */
export class PersisterThread implements HistoryPersister {
  private committed: number;
  private durable: number;
  private error: Error | null = null;
  private stopped = false;
  private nextRid = 1;
  private readonly requests = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private pending = new Uint8Array(INITIAL_RECORDS * RECORD_BYTES);
  private pendingCount = 0;
  private flushScheduled = false;
  private handOffTimer: NodeJS.Timeout | null = null;
  private readonly handOffMs: number;
  private closed: Promise<void> | undefined;
  /** Set once `close` has asked the thread to finish: its exit is then expected. */
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    open: { committed: number; durable: number },
    private readonly onError: ((error: Error) => void) | undefined,
    lingerMs: number,
  ) {
    this.handOffMs = Math.min(lingerMs, HAND_OFF_MAX_MS);
    this.committed = open.committed;
    this.durable = open.durable;
    port.on('message', (m: FromPersisterThread) => this.receive(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (!this.stopped && !this.closing) this.fail(new Error(`the persister thread exited with ${code}`));
    });
  }

  /** Starts the thread; resolves once the persister has opened where the database says it stopped. */
  static async open(
    url: string,
    marketsFile: string,
    options: PersisterThreadOptions = {},
  ): Promise<PersisterThread> {
    const { port1, port2 } = new MessageChannel();
    const data: PersisterThreadData = { url, marketsFile, lingerMs: options.lingerMs ?? 0, port: port2 };
    const worker = spawnWorker(new URL('./persister.worker.ts', import.meta.url), {
      workerData: data,
      transferList: [port2],
    });
    let opened: { committed: number; durable: number };
    try {
      opened = await new Promise((resolve, reject) => {
        port1.once('message', (m: FromPersisterThread) => {
          if (m.t === 'open') resolve(m);
          else if (m.t === 'failed') reject(new Error(`the persister could not open: ${m.message}`));
          else reject(new Error(`the persister thread said ${m.t} before it opened`));
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the persister thread exited with ${code}`)));
      });
    } catch (e) {
      port1.close();
      await worker.terminate();
      throw e;
    }
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new PersisterThread(worker, port1, opened, options.onError, options.lingerMs ?? 0);
  }

  /** Why the persister stopped, if it did. */
  get failure(): Error | null {
    return this.error;
  }

  lastSeq(): number {
    return this.committed;
  }

  /** The last seq whose commit is durable (what the core may prune up to). */
  durableSeq(): number {
    return this.durable;
  }

  /** Copies the records into the next batch: the views are the core's, reused after the call. */
  readonly listener = (views: RecordViews, from: number, count: number): void => {
    if (this.stopped || count === 0) return;
    const need = (this.pendingCount + count) * RECORD_BYTES;
    if (need > this.pending.length) {
      const grown = new Uint8Array(Math.max(need, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingCount * RECORD_BYTES));
      this.pending = grown;
    }
    this.pending.set(
      views.u8.subarray(from * RECORD_BYTES, (from + count) * RECORD_BYTES),
      this.pendingCount * RECORD_BYTES,
    );
    this.pendingCount += count;
    if (this.flushScheduled) return;
    if (this.handOffMs === 0 || this.pendingCount >= HAND_OFF_RECORDS) {
      this.flushScheduled = true;
      setImmediate(() => this.send());
    } else if (this.handOffTimer === null) {
      this.handOffTimer = setTimeout(() => this.send(), this.handOffMs);
      this.handOffTimer.unref();
    }
  };

  durableConsumer(): HistoryConsumer {
    return {
      name: HISTORY_CONSUMER,
      afterSeq: this.committed,
      listener: this.listener,
      progress: () => this.durable,
    };
  }

  flushed(seq: number): Promise<void> {
    return (
      settledFlush(seq, this.committed, this.error, this.stopped) ??
      this.request((rid) => ({ t: 'flushed', rid, seq }))
    );
  }

  catchUp(maxWaitMs: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.request((rid) => ({ t: 'catchUp', rid, maxWaitMs })).catch(() => {});
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.stopped) {
        // Failed before: nothing to drain. The port goes too (its listener would hold the process).
        this.port.close();
        await this.worker.terminate();
        return;
      }
      this.send();
      this.closing = true;
      const done = new Promise<void>((resolve) => {
        this.port.on('message', (m: FromPersisterThread) => {
          if (m.t === 'closed') resolve();
        });
        this.worker.once('exit', () => resolve());
      });
      this.port.postMessage({ t: 'close' } satisfies ToPersisterThread);
      await done;
      this.stopped = true;
      this.rejectAll(new Error(`persister closed at seq ${this.committed}`));
      this.port.close();
      await this.worker.terminate();
    })();
    return this.closed;
  }

  /** Sends the waiting records as one transferred buffer, and ends any scheduled hand-off. */
  private send(): void {
    this.flushScheduled = false;
    if (this.handOffTimer !== null) {
      clearTimeout(this.handOffTimer);
      this.handOffTimer = null;
    }
    if (this.pendingCount === 0 || this.stopped) return;
    const bytes = this.pending.slice(0, this.pendingCount * RECORD_BYTES);
    const message: ToPersisterThread = { t: 'events', buffer: bytes.buffer, count: this.pendingCount };
    this.pendingCount = 0;
    this.port.postMessage(message, [bytes.buffer]);
  }

  private request(make: (rid: number) => ToPersisterThread): Promise<void> {
    // Records of this turn go first: the request is about them too.
    this.send();
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      this.requests.set(rid, { resolve, reject });
      this.port.postMessage(make(rid));
    });
  }

  private receive(m: FromPersisterThread): void {
    switch (m.t) {
      case 'progress':
        this.committed = m.committed;
        this.durable = m.durable;
        return;
      case 'done': {
        const r = this.requests.get(m.rid);
        this.requests.delete(m.rid);
        if (m.error === undefined) r?.resolve();
        else r?.reject(new Error(m.error));
        return;
      }
      case 'failed':
        this.fail(new Error(m.message));
        return;
      default:
        return;
    }
  }

  private fail(e: Error): void {
    if (this.error !== null || this.stopped) return;
    this.error = e;
    this.stopped = true;
    this.rejectAll(e);
    this.onError?.(e);
  }

  private rejectAll(e: Error): void {
    for (const r of this.requests.values()) r.reject(e);
    this.requests.clear();
  }
}
