/**
 * The Kinesis sink: trades and klines, as the market data builders encoded them, put on a Kinesis
 * stream for downstream consumers (analytics, archives, surveillance). Nothing on the trading path
 * waits on it: `put` appends to a bounded queue and returns.
 *
 * - Batches: one PutRecords call carries at most `maxBatchRecords` (500, Kinesis's limit) records and
 *   `maxBatchBytes` (5 MiB) of data plus partition keys. A batch goes out as soon as a full one is
 *   queued, and every `flushIntervalMs` whatever is queued goes out.
 * - Partition key = the symbol (`BTCUSDT`): all of a symbol's records land on one shard, in order.
 * - One call in flight at a time, so records leave in the order they were put.
 * - Failed records (throttling, internal errors; or the whole call) are retried with exponential
 *   backoff and jitter, and until they have gone through nothing newer is sent: a retried record is
 *   never overtaken by a later one. (Within one call Kinesis may store a later record of a partition
 *   while an earlier one fails; each record carries its own id, trade `t` or kline start `t`, for a
 *   consumer that must be strict.)
 * - Bounded: past `maxQueuedRecords` / `maxQueuedBytes` new records are dropped and counted.
 * - `close()` flushes (bounded by `closeTimeoutMs`).
 */
import {
  KinesisClient,
  type KinesisClientConfig,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { http1Handler } from './http1-handler.ts';

/** What the sink needs of a Kinesis client (a KinesisClient, or a test double). */
export interface PutRecordsClient {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

/** Options of the sink. */
export interface KinesisSinkOptions {
  readonly streamName: string;
  readonly client: PutRecordsClient;
  /** Records per call, 1..500 (default 500). */
  readonly maxBatchRecords?: number;
  /** Bytes (data plus partition keys) per call (default 5 MiB). */
  readonly maxBatchBytes?: number;
  /** Largest record accepted, data plus partition key (default 1 MiB, Kinesis's default). */
  readonly maxRecordBytes?: number;
  /** Partial batches go out this often, in ms (default 200). */
  readonly flushIntervalMs?: number;
  /** Records waiting (queued, retried or in flight) before new ones are dropped (default 100000). */
  readonly maxQueuedRecords?: number;
  /** Bytes waiting before new records are dropped (default 64 MiB). */
  readonly maxQueuedBytes?: number;
  /** First retry delay in ms, doubled per failed attempt (default 100), up to `retryMaxMs` (default 5000). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** How long `close()` waits for the queue to drain, in ms (default 10000). */
  readonly closeTimeoutMs?: number;
  /** Klines to send: only closed ones (`"x":true`, default) or every update of the open one. */
  readonly klines?: 'closed' | 'all';
  /** Told about failed calls and records (they are retried anyway); default: ignored. */
  readonly onError?: (error: Error) => void;
}

/** Counters, for metrics and tests. */
export interface KinesisSinkStats {
  /** Records waiting: queued or to be retried. */
  readonly queued: number;
  /** Records in the call in flight. */
  readonly inFlight: number;
  /** Records Kinesis accepted. */
  readonly sent: number;
  /** Record attempts that failed and were queued again. */
  readonly retried: number;
  /** Records given up (queue full, or left when `close()` timed out). */
  readonly dropped: number;
  /** PutRecords calls made, and those that failed as a whole. */
  readonly calls: number;
  readonly failedCalls: number;
}

/** A refused argument, with a dotted code. */
export class KinesisSinkError extends Error {
  override readonly name = 'KinesisSinkError';
  constructor(
    readonly code: 'kinesis.invalid_argument',
    message: string,
  ) {
    super(message);
  }
}

interface Rec {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Data plus partition key, in bytes (what Kinesis counts against its limits). */
  readonly bytes: number;
}

const MIB = 1024 * 1024;
const TRADE_STREAM_RE = /^([a-z0-9]{1,40})@trade$/;
const KLINE_STREAM_RE = /^([a-z0-9]{1,40})@kline_[0-9]{1,2}[smhdwM]$/;

/**
 * The partition key (the symbol, upper case) of a market data stream that goes to Kinesis (`<s>@trade`,
 * `<s>@kline_<interval>`), or undefined for the others.
 */
export function kinesisPartitionKey(stream: string): string | undefined {
  const m = TRADE_STREAM_RE.exec(stream) ?? KLINE_STREAM_RE.exec(stream);
  return m ? m[1]!.toUpperCase() : undefined;
}

/**
 * A Kinesis client for `endpoint` (absent: AWS in `region`). A plain `http://` endpoint (kinesalite,
 * LocalStack) gets an HTTP/1.1 handler, since the SDK's HTTP/2 default cannot talk to them.
 */
export function kinesisClient(config: KinesisClientConfig & { endpoint?: string }): KinesisClient {
  const local = typeof config.endpoint === 'string' && config.endpoint.startsWith('http://');
  return new KinesisClient({
    ...config,
    ...(local && !config.requestHandler
      ? { requestHandler: http1Handler() as unknown as KinesisClientConfig['requestHandler'] }
      : {}),
  });
}

/** The Kinesis sink (see the file comment). */
export class KinesisSink {
  readonly #streamName: string;
  readonly #client: PutRecordsClient;
  readonly #maxBatchRecords: number;
  readonly #maxBatchBytes: number;
  readonly #maxRecordBytes: number;
  readonly #maxQueuedRecords: number;
  readonly #maxQueuedBytes: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #closeTimeoutMs: number;
  readonly #closedKlinesOnly: boolean;
  readonly #onError: (error: Error) => void;
  readonly #timer: NodeJS.Timeout;

  #queue: Rec[] = [];
  #head = 0;
  /** Records of failed attempts, oldest first: sent before anything in `#queue`. */
  #retry: Rec[] = [];
  #queuedBytes = 0;
  #inFlight = 0;
  #inFlightBytes = 0;
  /** Failed attempts in a row (for the backoff), and when the next call may go. */
  #attempts = 0;
  #backoffUntil = 0;
  #backoffTimer: NodeJS.Timeout | undefined;
  /** Send partial batches at once (a flush is waiting). */
  #flushing = 0;
  #closed = false;
  /** Set when `close()` has returned: nothing is sent or retried any more. */
  #finished = false;
  /** Resolved at the end of every call: what `flush` waits on. */
  #progress: (() => void)[] = [];
  #sent = 0;
  #retried = 0;
  #dropped = 0;
  #calls = 0;
  #failedCalls = 0;

  constructor(options: KinesisSinkOptions) {
    if (typeof options?.streamName !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(options.streamName))
      throw invalid('streamName must be 1..128 characters of a-z A-Z 0-9 _ . -');
    if (typeof options.client?.send !== 'function') throw invalid('client must have a send method');
    this.#streamName = options.streamName;
    this.#client = options.client;
    this.#maxBatchRecords = int(options.maxBatchRecords, 500, 1, 500, 'maxBatchRecords');
    this.#maxBatchBytes = int(options.maxBatchBytes, 5 * MIB, 1, 10 * MIB, 'maxBatchBytes');
    this.#maxRecordBytes = int(options.maxRecordBytes, MIB, 1, 10 * MIB, 'maxRecordBytes');
    if (this.#maxRecordBytes > this.#maxBatchBytes)
      throw invalid('maxRecordBytes must not exceed maxBatchBytes');
    this.#maxQueuedRecords = int(options.maxQueuedRecords, 100_000, 1, 10_000_000, 'maxQueuedRecords');
    this.#maxQueuedBytes = int(options.maxQueuedBytes, 64 * MIB, 1, 2 ** 40, 'maxQueuedBytes');
    this.#retryBaseMs = int(options.retryBaseMs, 100, 1, 60_000, 'retryBaseMs');
    this.#retryMaxMs = int(options.retryMaxMs, 5000, 1, 600_000, 'retryMaxMs');
    this.#closeTimeoutMs = int(options.closeTimeoutMs, 10_000, 1, 600_000, 'closeTimeoutMs');
    const interval = int(options.flushIntervalMs, 200, 1, 600_000, 'flushIntervalMs');
    if (options.klines !== undefined && options.klines !== 'closed' && options.klines !== 'all')
      throw invalid('klines must be "closed" or "all"');
    this.#closedKlinesOnly = options.klines !== 'all';
    this.#onError = options.onError ?? (() => {});
    this.#timer = setInterval(() => this.#kick(true), interval);
    // The interval must not keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  /**
   * Queues one record; false when it was dropped (queue full or sink closed). Throws
   * `kinesis.invalid_argument` for a partition key that is not 1..256 characters or a record larger
   * than `maxRecordBytes`.
   */
  put(partitionKey: string, data: string | Uint8Array): boolean {
    if (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > 256)
      throw invalid('a partition key must be 1..256 characters');
    if (typeof data !== 'string' && !(data instanceof Uint8Array))
      throw invalid('data must be a string or bytes');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const size = bytes.length + Buffer.byteLength(partitionKey, 'utf8');
    if (size > this.#maxRecordBytes)
      throw invalid(`a record of ${size} bytes exceeds ${this.#maxRecordBytes}`);
    if (
      this.#closed ||
      this.#waitingRecords() >= this.#maxQueuedRecords ||
      this.#queuedBytes + this.#inFlightBytes + size > this.#maxQueuedBytes
    ) {
      this.#dropped++;
      return false;
    }
    this.#queue.push({ partitionKey, data: bytes, bytes: size });
    this.#queuedBytes += size;
    this.#kick(false);
    return true;
  }

  /**
   * Queues a market data event as its builder emitted it: trades and (closed, unless `klines: 'all'`)
   * klines go out keyed by symbol; other streams are skipped.
   */
  putMarketData(stream: string, payload: string | Buffer): 'queued' | 'skipped' | 'dropped' {
    const key = kinesisPartitionKey(stream);
    if (key === undefined) return 'skipped';
    // Binance kline events have one "x" field, the kline's "is closed" flag.
    if (this.#closedKlinesOnly && KLINE_STREAM_RE.test(stream) && !payload.includes('"x":true'))
      return 'skipped';
    return this.put(key, payload) ? 'queued' : 'dropped';
  }

  /**
   * Sends everything waiting, partial batches included; resolves true once nothing is left, false if
   * `timeoutMs` (default: the close timeout) ran out first.
   */
  async flush(timeoutMs = this.#closeTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.#flushing++;
    try {
      while (this.#waitingRecords() > 0) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        this.#kick(true);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 50));
          this.#progress.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return true;
    } finally {
      this.#flushing--;
    }
  }

  /** Stops taking records, flushes (bounded), and counts what is left as dropped. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const drained = await this.flush(this.#closeTimeoutMs);
    if (!drained) {
      this.#dropped += this.#retry.length + this.#queue.length - this.#head;
      this.#retry = [];
      this.#queue = [];
      this.#head = 0;
      this.#queuedBytes = 0;
    }
    this.#finished = true;
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
  }

  stats(): KinesisSinkStats {
    return {
      queued: this.#retry.length + this.#queue.length - this.#head,
      inFlight: this.#inFlight,
      sent: this.#sent,
      retried: this.#retried,
      dropped: this.#dropped,
      calls: this.#calls,
      failedCalls: this.#failedCalls,
    };
  }

  #waitingRecords(): number {
    return this.#retry.length + this.#queue.length - this.#head + this.#inFlight;
  }

  /** Starts a call if none is in flight, the backoff allows, and there is a full batch (or `partial` is allowed). */
  #kick(partial: boolean): void {
    if (this.#inFlight > 0 || this.#finished) return;
    const wait = this.#backoffUntil - Date.now();
    if (wait > 0) {
      this.#backoffTimer ??= setTimeout(() => {
        this.#backoffTimer = undefined;
        this.#kick(true);
      }, wait);
      return;
    }
    let batch: Rec[];
    if (this.#retry.length > 0) {
      // Retries first, and alone: nothing newer goes out while an older record still waits.
      batch = this.#take(this.#retry, 0);
      this.#retry = this.#retry.slice(batch.length);
    } else {
      const queued = this.#queue.length - this.#head;
      if (queued === 0) return;
      const full = queued >= this.#maxBatchRecords || this.#queuedBytes >= this.#maxBatchBytes;
      if (!full && !partial && this.#flushing === 0) return;
      batch = this.#take(this.#queue, this.#head);
      this.#head += batch.length;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 65_536) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#send(batch);
  }

  /** The longest run from `from` that fits one call. */
  #take(list: Rec[], from: number): Rec[] {
    let bytes = 0;
    let end = from;
    while (end < list.length && end - from < this.#maxBatchRecords) {
      const r = list[end]!;
      if (end > from && bytes + r.bytes > this.#maxBatchBytes) break;
      bytes += r.bytes;
      end++;
    }
    return list.slice(from, end);
  }

  #send(batch: Rec[]): void {
    let bytes = 0;
    for (const r of batch) bytes += r.bytes;
    this.#queuedBytes -= bytes;
    this.#inFlight = batch.length;
    this.#inFlightBytes = bytes;
    this.#calls++;
    const command = new PutRecordsCommand({
      StreamName: this.#streamName,
      Records: batch.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
    });
    this.#client.send(command).then(
      (out) => {
        const failed: Rec[] = [];
        const results = out.Records ?? [];
        for (let i = 0; i < batch.length; i++) {
          const result = results[i];
          if (!result || result.ErrorCode) failed.push(batch[i]!);
          else this.#sent++;
        }
        if (failed.length > 0) {
          const first = results.find((r) => r?.ErrorCode);
          this.#onError(
            new Error(
              `${failed.length} of ${batch.length} records failed (${first?.ErrorCode ?? 'no result'})`,
            ),
          );
        }
        this.#settle(failed);
      },
      (error: unknown) => {
        this.#failedCalls++;
        this.#onError(error instanceof Error ? error : new Error(String(error)));
        this.#settle(batch);
      },
    );
  }

  #settle(failed: Rec[]): void {
    this.#inFlight = 0;
    this.#inFlightBytes = 0;
    if (this.#finished) {
      // A call still out when close() gave up: what failed in it is not retried any more.
      this.#dropped += failed.length;
      return;
    }
    if (failed.length > 0) {
      this.#retried += failed.length;
      // Failed records are older than the retries not yet sent (those came after them in the list).
      this.#retry = [...failed, ...this.#retry];
      for (const r of failed) this.#queuedBytes += r.bytes;
      this.#attempts++;
      const delay = Math.min(this.#retryBaseMs * 2 ** Math.min(this.#attempts - 1, 20), this.#retryMaxMs);
      this.#backoffUntil = Date.now() + delay + Math.random() * this.#retryBaseMs;
    } else {
      this.#attempts = 0;
      this.#backoffUntil = 0;
    }
    for (const wake of this.#progress.splice(0)) wake();
    this.#kick(false);
  }
}

function invalid(message: string): KinesisSinkError {
  return new KinesisSinkError('kinesis.invalid_argument', message);
}

function int(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw invalid(`${name} must be an integer in ${min}..${max}`);
  return value;
}
