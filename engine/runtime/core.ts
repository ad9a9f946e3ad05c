/**
 * The core: the one place that wires the pipeline (after exchange-core's ExchangeCore). It
 * reads top to bottom as the data flows:
 *
 *   1. recover    newest snapshot + journal tail -> risk, books, counters (InlineEngine)
 *   2. shards     worker threads own the books, by the shard map; one command ring in and
 *                 one event ring out each (SharedArrayBuffer, SPSC)
 *   3. sequence   `send`: stamp (seq, time, order id), risk admits (holds), the record goes
 *                 to the journal ring and, for book commands, to its shard's command ring
 *   4. journal    a worker writes records in groups and fdatasyncs; durableSeq advances
 *   5. merge      in seq order: risk applies the command, then its shard's events with
 *                 settlement (fees, releases); the merged stream is the engine's output
 *   6. release    events of commands up to durableSeq go to subscribers and to `submit`'s
 *                 callers: nothing unjournalled is ever visible
 *   7. snapshot   books from every shard at one seq + risk at that seq -> a compressed file;
 *                 journal segments it covers are pruned
 *
 * Nothing else in the engine starts threads.
 */

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import type { BookState } from '../book/order-book.ts';
import { Markets, type MarketsFile } from '../config/markets-config.ts';
import {
  budgetAt,
  decodeCommand,
  decodeEvents,
  EventWriter,
  isLastEvent,
  RECORD_BYTES,
  RecordViews,
  riskCodeAt,
  seqAt,
} from '../model/codec.ts';
import type { Command } from '../model/commands.ts';
import type { EngineEvent } from '../model/events.ts';
import { ResultCode } from '../model/result-code.ts';
import { InlineEngine } from './inline-engine.ts';
import { Journal } from './journal/journal.ts';
import { RingBuffer } from './ring-buffer.ts';
import type { Balance, RiskState } from './risk.ts';
import { type CommandInput, isBookCommand } from './sequencer.ts';
import { Settlement } from './settlement.ts';
import { ControlKind, type ShardMessage, type ShardSetup } from './shard-protocol.ts';
import {
  listSnapshots,
  loadNewestSnapshot,
  type Snapshot,
  seqOfSnapshot,
  writeSnapshot,
} from './snapshot.ts';
import { spawnWorker } from './spawn-worker.ts';
import { hashState } from './state-hash.ts';
import { wallClockMicros } from './wall-clock.ts';

/** How the core runs. */
export interface CoreOptions {
  /** Where the journal (`journal/`) and snapshots (`snapshots/`) live. */
  readonly dataDir: string;
  readonly marketsFile: MarketsFile;
  /** symbol -> shard, "*" the default; defaults to the markets file's `shardMap`, else all on 0. */
  readonly shardMap?: Readonly<Record<string, number>>;
  /** Default maker and taker fees in parts per million (default 1000 = 0.1%). */
  readonly makerPpm?: number;
  readonly takerPpm?: number;
  /** Keep a journal (default true). Without it nothing survives a restart: for benchmarks. */
  readonly journal?: boolean;
  /** fdatasync every journal group (default true). */
  readonly fsync?: boolean;
  /** Take a snapshot every this many commands (default 1,000,000; 0 never). */
  readonly snapshotEvery?: number;
  /** Most commands in flight (stamped, not yet released), a power of two (default 65536). */
  readonly maxInFlight?: number;
  /**
   * Consumers that must see every event exactly once across restarts (the persister): each
   * says the last seq it has written; `start` regenerates every later event from the journal
   * for it before any live event, and the journal and snapshots it still needs are kept.
   */
  readonly consumers?: readonly DurableConsumer[];
  /** The clock, in microseconds since the epoch (tests pin it). */
  readonly clock?: () => number;
  readonly log?: (message: string) => void;
}

/** Thrown by `send` when too many commands are in flight; wait for `whenReady()`. */
export class CoreBusyError extends Error {
  override readonly name = 'CoreBusyError';
}

/** Thrown for a configuration the core cannot run (bad shard map and the like). */
export class CoreConfigError extends Error {
  override readonly name = 'CoreConfigError';
}

/** A subscriber to the released event stream. The views are reused after it returns. */
export type EventsListener = (views: RecordViews, from: number, count: number) => void;

/** A subscriber that resumes where it stopped (see CoreOptions.consumers). */
export interface DurableConsumer {
  readonly name: string;
  /** The last seq it had written when the core started. */
  readonly afterSeq: number;
  readonly listener: EventsListener;
  /** The last seq it has written now: nothing after it may be pruned. */
  readonly progress: () => number;
}

interface ShardHandle {
  readonly id: number;
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly commands: RingBuffer;
  readonly events: RingBuffer;
  /** Records written to `commands` but not published yet. */
  unpublished: number;
  waiting: boolean;
}

/** A consistent cut of the engine's state at one seq. */
interface CollectedState {
  readonly seq: number;
  readonly nextOrderId: number;
  readonly risk: RiskState;
  readonly books: BookState[];
}

/** Most records `send` writes before it publishes them without waiting for the burst to end. */
const FLUSH_BATCH = 512;

const defaultClock = wallClockMicros;

/** Resolves the shard of every market from a shard map ("*" is the default). */
export function resolveShardMap(
  markets: Markets,
  map: Readonly<Record<string, number>> | undefined,
): number[] {
  const fallback = map?.['*'] ?? 0;
  for (const [symbol, shard] of Object.entries(map ?? {})) {
    if (symbol !== '*' && markets.get(symbol) === undefined)
      throw new CoreConfigError(`shard map names ${symbol}, which is not a market`);
    if (!Number.isInteger(shard) || shard < 0 || shard > 63) {
      throw new CoreConfigError(`shard map: ${symbol} -> ${shard} is not a shard number in 0..63`);
    }
  }
  return markets.list.map((m) => map?.[m.symbol] ?? fallback);
}

export class Core {
  readonly markets: Markets;
  private readonly engine: InlineEngine;
  private readonly settlement: Settlement;
  private readonly shards: ShardHandle[] = [];
  /** symbolId -> shard index. */
  private readonly route: number[];
  private readonly journal: Journal | null;
  private readonly clock: () => number;
  private readonly log: (message: string) => void;
  private readonly snapshotEvery: number;
  private readonly snapshotDir: string;

  // --- in flight: stamped commands by seq & mask, until released -------------------------
  private readonly cap: number;
  private readonly mask: number;
  private readonly inflight: RecordViews;
  /** Shard that executes each in-flight seq, or -1 (risk alone, or refused). */
  private readonly routeOf: Int16Array;
  /** Merged output records end (exclusive) for each in-flight seq. */
  private readonly outEnd: Int32Array;
  private journalUnpublished = 0;

  private lastStamped: number;
  private nextMerge: number;
  private released: number;
  private readonly out = new EventWriter(65536);
  private outReleased = 0;
  private readonly scratch = new EventWriter(1024);
  private readonly listeners = new Set<EventsListener>();
  private readonly waiters = new Map<
    number,
    { resolve: (e: EngineEvent[]) => void; reject: (e: Error) => void }
  >();
  private readyWaiters: (() => void)[] = [];
  private flushScheduled = false;
  private unflushed = 0;
  private pumping = false;
  private failure: Error | null = null;
  private stopping = false;

  // --- moving symbols between shards -------------------------------------------------------
  private readonly moving = new Map<number, { to: number; done: () => void }>();
  /**
   * Per shard: commands held while a symbol moves into it. Everything bound for that shard
   * waits (not only the moving symbol's), so its command ring stays in seq order.
   */
  private readonly held: (number[] | null)[] = [];
  // --- snapshots -------------------------------------------------------------------------------
  private snapshotInProgress: {
    seq: number;
    nextOrderId: number;
    books: BookState[];
    pendingShards: Set<number>;
    risk: RiskState | null;
    done: (s: CollectedState) => void;
  } | null = null;
  private sinceSnapshot = 0;
  private readonly consumers: readonly DurableConsumer[];

  private constructor(options: CoreOptions, markets: Markets, engine: InlineEngine, journal: Journal | null) {
    this.markets = markets;
    this.engine = engine;
    this.consumers = options.consumers ?? [];
    this.settlement = new Settlement(engine.risk);
    this.journal = journal;
    this.clock = options.clock ?? defaultClock;
    this.log = options.log ?? (() => {});
    this.snapshotEvery = options.snapshotEvery ?? 1_000_000;
    this.snapshotDir = path.join(options.dataDir, 'snapshots');
    this.cap = options.maxInFlight ?? 65536;
    if ((this.cap & (this.cap - 1)) !== 0 || this.cap < 16)
      throw new CoreConfigError('maxInFlight must be a power of two >= 16');
    this.mask = this.cap - 1;
    this.inflight = new RecordViews(new ArrayBuffer(this.cap * RECORD_BYTES));
    this.routeOf = new Int16Array(this.cap);
    this.outEnd = new Int32Array(this.cap);
    this.route = resolveShardMap(markets, options.shardMap ?? options.marketsFile.shardMap);
    this.lastStamped = engine.sequencer.nextSeq - 1;
    this.nextMerge = engine.sequencer.nextSeq;
    this.released = this.lastStamped;
  }

  /** Recovers from the data directory and starts the shards and the journal writer. */
  static async start(options: CoreOptions): Promise<Core> {
    // 1. recover
    const markets = new Markets(options.marketsFile);
    const engineOptions = { makerPpm: options.makerPpm ?? 1000, takerPpm: options.takerPpm ?? 1000 };
    const log = options.log ?? (() => {});
    mkdirSync(options.dataDir, { recursive: true });
    let engine: InlineEngine;
    const consumers = options.consumers ?? [];
    // A consumer behind the newest snapshot needs the events after its seq regenerated: start
    // from a snapshot at or before the lowest such seq.
    const floor = Math.min(Number.MAX_SAFE_INTEGER, ...consumers.map((c) => c.afterSeq));
    const snapshot: Snapshot | null =
      options.journal === false
        ? null
        : loadNewestSnapshot(path.join(options.dataDir, 'snapshots'), log, floor);
    if (snapshot !== null) {
      engine = InlineEngine.fromState(markets, engineOptions, snapshot);
      log(`snapshot at seq ${snapshot.seq} loaded, state hash ${snapshot.hash}`);
    } else {
      engine = new InlineEngine(markets, engineOptions);
    }
    let journal: Journal | null = null;
    if (options.journal !== false) {
      journal = Journal.open(path.join(options.dataDir, 'journal'), {
        fsync: options.fsync ?? true,
        ringCapacity: Math.max(65536, options.maxInFlight ?? 65536),
        // Open checks headers and the last segment; the replay below checks every record's
        // CRC and seq of what it reads, so reading the older segments twice buys nothing.
        verify: 'last',
        log,
      });
      const from = engine.sequencer.nextSeq;
      let replayed = 0;
      journal.replay(from, (views, count) => {
        for (let i = 0; i < count; i++) {
          engine.out.reset();
          engine.applyRecord(views, i);
          const seq = seqAt(views, i);
          for (const c of consumers) if (c.afterSeq < seq) c.listener(engine.out.views, 0, engine.out.count);
        }
        replayed += count;
      });
      engine.out.reset();
      engine.risk.resetPending();
      const last = engine.sequencer.nextSeq - 1;
      for (const c of consumers) {
        if (c.afterSeq > last)
          throw new CoreConfigError(
            `consumer ${c.name} has written up to seq ${c.afterSeq}, but the journal ends at ${last}: the data directory does not belong to its database`,
          );
      }
      if (replayed > 0 || snapshot !== null)
        log(
          `recovered to seq ${engine.sequencer.nextSeq - 1}: ${replayed} journalled commands replayed, state hash ${engine.stateHash()}`,
        );
    }
    const core = new Core(options, markets, engine, journal);
    for (const c of consumers) core.listeners.add(c.listener);
    // 2. shards
    const shardCount = Math.max(1, ...core.route.map((s) => s + 1));
    for (let id = 0; id < shardCount; id++) core.startShard(id, options.marketsFile);
    // 4. journal writer
    if (journal !== null) {
      journal.onDurable(() => core.schedulePump());
      journal.onError((e) => core.fail(e));
      await journal.startWriter();
    }
    return core;
  }

  private startShard(id: number, marketsFile: MarketsFile): void {
    const commands = RingBuffer.create(this.cap);
    const events = RingBuffer.create(this.cap * 2);
    const { port1, port2 } = new MessageChannel();
    const symbols = this.route.flatMap((s, symbolId) => (s === id ? [symbolId] : []));
    const setup: ShardSetup = {
      shard: id,
      marketsFile,
      commandRing: commands.buffer,
      eventRing: events.buffer,
      port: port2,
      symbols,
      books: symbols.map((s) => this.engine.books[s]!.exportState()),
    };
    const worker = spawnWorker(new URL('./shard.worker.ts', import.meta.url), {
      workerData: setup,
      transferList: [port2],
    });
    worker.on('error', (e) => this.fail(new Error(`shard ${id} failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.stopping) this.fail(new Error(`shard ${id} exited with code ${code}`));
    });
    port1.on('message', (m: ShardMessage) => this.onShardMessage(m));
    this.shards.push({ id, worker, port: port1, commands, events, unpublished: 0, waiting: false });
  }

  // =========================================================================================
  // 3. sequence

  /** Commands stamped and not yet released to subscribers. */
  get inFlight(): number {
    return this.lastStamped - this.released;
  }

  /** The last sequence number stamped. */
  get lastSeq(): number {
    return this.lastStamped;
  }

  /**
   * Stamps, admits and routes a command; returns its seq. Its events reach subscribers (and
   * `submit`'s promise) once it is durable. Throws CoreBusyError when `maxInFlight` commands
   * are in flight, and RecordError for a command that cannot be encoded.
   */
  send(input: CommandInput): number {
    if (this.failure !== null) throw this.failure;
    if (this.stopping) throw new CoreBusyError('the core is shutting down');
    if (this.lastStamped - this.released >= this.cap - 1)
      throw new CoreBusyError(`${this.cap} commands in flight`);
    const seq = this.engine.sequencer.nextSeq;
    const slot = seq & this.mask;
    const cmd = this.engine.sequencer.stamp(input, this.clock(), this.inflight, slot);
    this.lastStamped = seq;
    // The journal keeps every stamped command, refused or not: sequence numbers are gapless.
    if (this.journal !== null) {
      const ring = this.journal.ring;
      if (ring.claim(this.journalUnpublished + 1) <= this.journalUnpublished)
        throw new Error('core invariant: journal ring full');
      ring.records.u8.set(
        this.inflight.u8.subarray(slot * RECORD_BYTES, (slot + 1) * RECORD_BYTES),
        ring.slot(ring.nextWriteSequence + this.journalUnpublished) * RECORD_BYTES,
      );
      this.journalUnpublished++;
    }
    let shard = -1;
    if (this.engine.sequencer.lastCode === ResultCode.OK && isBookCommand(cmd.kind)) {
      const symbolId = (cmd as { symbolId: number }).symbolId;
      shard = this.moving.get(symbolId)?.to ?? this.route[symbolId]!;
      const held = this.held[shard];
      if (held != null) held.push(seq);
      else this.toShard(this.shards[shard]!, slot);
    }
    this.routeOf[slot] = shard;
    if (
      this.snapshotEvery > 0 &&
      ++this.sinceSnapshot >= this.snapshotEvery &&
      this.snapshotInProgress === null &&
      this.journal !== null
    ) {
      this.sinceSnapshot = 0;
      this.snapshot().catch((e: Error) => this.log(`snapshot failed: ${e.message}`));
    }
    this.scheduleFlush();
    return seq;
  }

  /** Sends a command and resolves with its events once it is durable. */
  submit(input: CommandInput): Promise<EngineEvent[]> {
    return new Promise((resolve, reject) => {
      try {
        const seq = this.send(input);
        this.waiters.set(seq, { resolve, reject });
      } catch (e) {
        reject(e);
      }
    });
  }

  /** Resolves when fewer than half of `maxInFlight` commands are in flight. */
  whenReady(): Promise<void> {
    if (this.inFlight < this.cap / 2) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Subscribes to the released event stream (in seq order); returns the unsubscribe. */
  onEvents(listener: EventsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private toShard(shard: ShardHandle, slot: number): void {
    const ring = shard.commands;
    if (ring.claim(shard.unpublished + 1) <= shard.unpublished)
      throw new Error(`core invariant: shard ${shard.id} command ring full`);
    ring.records.u8.set(
      this.inflight.u8.subarray(slot * RECORD_BYTES, (slot + 1) * RECORD_BYTES),
      ring.slot(ring.nextWriteSequence + shard.unpublished) * RECORD_BYTES,
    );
    shard.unpublished++;
  }

  private control(shard: ShardHandle, kind: number, seq: number, symbolId: number): void {
    const ring = shard.commands;
    if (ring.claim(shard.unpublished + 1) <= shard.unpublished)
      throw new Error(`core invariant: shard ${shard.id} command ring full`);
    const at = ring.slot(ring.nextWriteSequence + shard.unpublished);
    ring.records.u8.fill(0, at * RECORD_BYTES, (at + 1) * RECORD_BYTES);
    ring.records.u8[at * RECORD_BYTES] = kind;
    ring.records.u32[at * (RECORD_BYTES / 4) + 2] = symbolId;
    ring.records.f64[at * (RECORD_BYTES / 8) + 2] = seq;
    shard.unpublished++;
    this.scheduleFlush();
  }

  /**
   * Publishes what `send` wrote once the current burst of sends is over (the next turn of
   * the event loop), so a burst costs one publish per ring rather than one per command; a
   * burst that grows past FLUSH_BATCH is published at once, to keep the pipeline moving.
   */
  private scheduleFlush(): void {
    if (++this.unflushed >= FLUSH_BATCH) {
      this.flush();
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Publishes what `send` wrote, in one batch per ring. */
  private flush(): void {
    this.flushScheduled = false;
    this.unflushed = 0;
    if (this.journal !== null && this.journalUnpublished > 0) {
      this.journal.ring.publish(this.journalUnpublished);
      this.journalUnpublished = 0;
    }
    for (const s of this.shards) {
      if (s.unpublished > 0) {
        s.commands.publish(s.unpublished);
        s.unpublished = 0;
      }
    }
    this.schedulePump();
  }

  // =========================================================================================
  // 5. merge and 6. release

  private schedulePump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.failure !== null) return;
    try {
      this.merge();
      this.release();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** Merges in seq order as far as the shards' events allow. */
  private merge(): void {
    while (this.nextMerge <= this.lastStamped) {
      const seq = this.nextMerge;
      const slot = seq & this.mask;
      const shardId = this.routeOf[slot]!;
      const cmd = decodeCommand(this.inflight, slot) as Command;
      const code = riskCodeAt(this.inflight, slot);
      const budget = budgetAt(this.inflight, slot);
      if (shardId < 0) {
        this.settlement.merge(cmd, code, budget, null, 0, 0, this.out);
      } else {
        const shard = this.shards[shardId]!;
        const ring = shard.events;
        const avail = ring.available();
        const first = ring.nextReadSequence;
        let n = 0;
        while (n < avail && !isLastEvent(ring.records, ring.slot(first + n))) n++;
        if (n === avail) {
          this.await(shard);
          break;
        }
        n++;
        const start = ring.slot(first);
        const firstSeq = ring.records.f64[start * (RECORD_BYTES / 8) + 2]!;
        if (firstSeq !== seq)
          throw new Error(`core invariant: shard ${shardId} sent events of ${firstSeq}, expected ${seq}`);
        if (start + n <= ring.capacity) {
          this.settlement.merge(cmd, code, budget, ring.records, start, n, this.out);
        } else {
          this.scratch.reset();
          for (let k = 0; k < n; k++) this.scratch.copyFrom(ring.records, ring.slot(first + k));
          this.settlement.merge(cmd, code, budget, this.scratch.views, 0, n, this.out);
        }
        ring.release(n);
      }
      this.outEnd[slot] = this.out.count;
      this.nextMerge = seq + 1;
      const snap = this.snapshotInProgress;
      if (snap !== null && snap.risk === null && seq === snap.seq) {
        snap.risk = this.engine.risk.exportState();
        this.maybeFinishSnapshot();
      }
    }
  }

  private await(shard: ShardHandle): void {
    if (shard.waiting) return;
    shard.waiting = true;
    shard.events.waitForDataAsync({ spins: 0, parkMillis: 50 }).then(
      () => {
        shard.waiting = false;
        this.schedulePump();
      },
      (e: Error) => this.fail(e),
    );
  }

  /** Hands subscribers and waiters the merged events of every durable command. */
  private release(): void {
    const durable =
      this.journal === null ? this.nextMerge - 1 : Math.min(this.journal.durableSeq, this.nextMerge - 1);
    if (durable <= this.released) return;
    const endIdx = this.outEnd[durable & this.mask]!;
    const from = this.outReleased;
    const count = endIdx - from;
    if (count > 0) for (const l of this.listeners) l(this.out.views, from, count);
    if (this.waiters.size > 0) {
      let start = from;
      for (let s = this.released + 1; s <= durable; s++) {
        const end = this.outEnd[s & this.mask]!;
        const w = this.waiters.get(s);
        if (w !== undefined) {
          this.waiters.delete(s);
          w.resolve(decodeEvents(this.out.views, end - start, start));
        }
        start = end;
      }
    }
    this.released = durable;
    this.outReleased = endIdx;
    // Everything merged is released: start the output buffer over.
    if (this.nextMerge - 1 === durable) {
      this.out.reset();
      this.outReleased = 0;
    } else if (this.outReleased > 32768) {
      this.compactOut();
    }
    if (this.readyWaiters.length > 0 && this.inFlight < this.cap / 2) {
      const w = this.readyWaiters;
      this.readyWaiters = [];
      for (const r of w) r();
    }
    if (this.stopping && this.released === this.lastStamped) this.drained?.();
  }

  /** Moves unreleased merged records to the front of the output buffer. */
  private compactOut(): void {
    const shift = this.outReleased;
    const v = this.out.views;
    v.u8.copyWithin(0, shift * RECORD_BYTES, this.out.count * RECORD_BYTES);
    this.out.count -= shift;
    this.outReleased = 0;
    for (let s = this.released + 1; s < this.nextMerge; s++) this.outEnd[s & this.mask]! -= shift;
  }

  private fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    this.log(`core failed: ${e.message}`);
    for (const w of this.waiters.values()) w.reject(e);
    this.waiters.clear();
    this.drained?.();
  }

  // =========================================================================================
  // Operations

  /** Where each symbol runs. */
  shardMap(): Record<string, number> {
    const map: Record<string, number> = {};
    for (const m of this.markets.list)
      map[m.symbol] = this.moving.get(m.symbolId)?.to ?? this.route[m.symbolId]!;
    return map;
  }

  /** Number of shard workers. */
  get shardCount(): number {
    return this.shards.length;
  }

  /**
   * Moves a symbol to another shard while the core runs. Its commands stay in order: the old
   * shard hands the book over after every command sent to it, commands sent meanwhile wait,
   * and the new shard takes the book before any of them.
   */
  moveSymbol(symbol: string, to: number): Promise<void> {
    const m = this.markets.get(symbol);
    if (m === undefined) return Promise.reject(new CoreConfigError(`unknown symbol ${symbol}`));
    if (!Number.isInteger(to) || to < 0 || to >= this.shards.length) {
      return Promise.reject(new CoreConfigError(`shard ${to} does not exist (0..${this.shards.length - 1})`));
    }
    // One move at a time: a move holds every command bound for its target shard, and the
    // next move's hand-over must come after those in its source shard's ring.
    const run = this.moves.then(() => this.startMove(m.symbolId, to));
    this.moves = run.catch(() => {});
    return run;
  }

  private moves: Promise<void> = Promise.resolve();

  private startMove(symbolId: number, to: number): Promise<void> {
    const from = this.route[symbolId]!;
    if (from === to || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.moving.set(symbolId, { to, done: resolve });
      this.held[to] = [];
      this.control(this.shards[from]!, ControlKind.ExportBook, this.lastStamped, symbolId);
    });
  }

  private onShardMessage(msg: ShardMessage): void {
    switch (msg.type) {
      case 'exported': {
        const move = this.moving.get(msg.symbolId);
        if (move === undefined) return;
        const target = this.shards[move.to]!;
        target.port.postMessage({ state: msg.state });
        this.control(target, ControlKind.ImportBook, msg.seq, msg.symbolId);
        const held = this.held[move.to] ?? [];
        for (const seq of held) this.toShard(target, seq & this.mask);
        this.held[move.to] = null;
        this.route[msg.symbolId] = move.to;
        this.moving.delete(msg.symbolId);
        this.scheduleFlush();
        this.log(
          `${this.markets.byId(msg.symbolId)!.symbol} moved to shard ${move.to} (${held.length} commands waited)`,
        );
        move.done();
        return;
      }
      case 'snapshot': {
        const snap = this.snapshotInProgress;
        if (snap === null || snap.seq !== msg.seq) return;
        snap.books.push(...msg.books);
        snap.pendingShards.delete(msg.shard);
        this.maybeFinishSnapshot();
        return;
      }
      default:
        return;
    }
  }

  /**
   * Takes a snapshot at the current seq without stopping matching: every shard exports its
   * books after the commands sent to it so far; risk's ledger is copied when the merge
   * reaches that seq; the write (serialise, compress, fsync) then happens off the event loop,
   * and the journal segments it covers are pruned.
   */
  async snapshot(): Promise<{ seq: number; hash: string; file: string }> {
    const state = await this.collect();
    const hash = hashState(state.risk, state.books);
    // A durable consumer behind this snapshot must still be able to resume after a restart:
    // keep a snapshot at or before its progress, and the journal after that snapshot.
    const floor = Math.min(Number.MAX_SAFE_INTEGER, ...this.consumers.map((c) => c.progress()));
    const file = await writeSnapshot(this.snapshotDir, { ...state, hash }, floor);
    this.log(`snapshot at seq ${state.seq} written (${file}), state hash ${hash}`);
    if (this.journal !== null) {
      const anchor = listSnapshots(this.snapshotDir)
        .map(seqOfSnapshot)
        .filter((seq) => seq <= floor)
        .at(-1);
      const pruned = this.journal.prune(Math.min(state.seq, anchor ?? 0));
      if (pruned.length > 0) this.log(`pruned ${pruned.length} journal segment(s) covered by the snapshot`);
    }
    return { seq: state.seq, hash, file };
  }

  /** Books from every shard and the ledger, all at the last stamped seq. */
  private collect(): Promise<CollectedState> {
    if (this.snapshotInProgress !== null)
      return Promise.reject(new Error('a snapshot is already in progress'));
    if (this.moving.size > 0) return Promise.reject(new Error('a symbol is moving between shards'));
    return new Promise((done) => {
      const seq = this.lastStamped;
      this.snapshotInProgress = {
        seq,
        nextOrderId: this.engine.sequencer.nextOrderId,
        books: [],
        pendingShards: new Set(this.shards.map((s) => s.id)),
        risk: this.nextMerge > seq ? this.engine.risk.exportState() : null,
        done,
      };
      for (const s of this.shards) this.control(s, ControlKind.Snapshot, seq, 0);
    });
  }

  private maybeFinishSnapshot(): void {
    const snap = this.snapshotInProgress;
    if (snap === null || snap.risk === null || snap.pendingShards.size > 0) return;
    this.snapshotInProgress = null;
    const books = snap.books.sort(
      (a, b) => this.markets.get(a.symbol)!.symbolId - this.markets.get(b.symbol)!.symbolId,
    );
    snap.done({ seq: snap.seq, nextOrderId: snap.nextOrderId, risk: snap.risk, books });
  }

  /**
   * The ledger (every non-empty account's free and locked units per asset) once everything
   * sent so far is merged and released: one consistent cut, at `seq`.
   */
  async ledger(): Promise<{ seq: number; risk: RiskState }> {
    await this.quiesce();
    // Merged state: commands sent since the wait may be stamped but are not in it.
    return { seq: this.nextMerge - 1, risk: this.engine.risk.exportState() };
  }

  /** One user's merged balances (free and locked per asset id) at this moment. */
  balancesOf(userId: number): Balance[] {
    return this.engine.risk.balancesOf(userId);
  }

  /** Waits until everything sent so far is merged and released. */
  async quiesce(): Promise<void> {
    while (this.released < this.lastStamped) {
      if (this.failure !== null) throw this.failure;
      await new Promise((r) => setTimeout(r, 1));
      this.schedulePump();
    }
  }

  /** The state hash (ledger and every book) once everything sent so far is done. */
  async stateHash(): Promise<string> {
    await this.quiesce();
    const state = await this.collect();
    return hashState(state.risk, state.books);
  }

  private drained: (() => void) | undefined;

  /** Stops taking commands, drains what is in flight, flushes the journal, stops the shards. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.released < this.lastStamped && this.failure === null) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        this.schedulePump();
      });
    }
    for (const s of this.shards) {
      this.control(s, ControlKind.Stop, this.lastStamped, 0);
    }
    this.flush();
    await Promise.all(this.shards.map((s) => new Promise((r) => s.worker.once('exit', r))));
    for (const s of this.shards) s.port.close();
    if (this.journal !== null) await this.journal.close();
    if (this.failure !== null) throw this.failure;
  }
}
