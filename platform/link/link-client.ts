/**
 * The gateway's side of the link (docs/LINK.md): a CoreClient over TCP to a remote core.
 * It reconnects with backoff, resumes the event stream exactly after the last event it
 * delivered (no gap, no duplicate, even when a connection died in the middle of one
 * command's events), asks the core's market data builder the REST queries, and fails every
 * request in flight on a disconnect with an error that says whether the command may have
 * been applied.
 */
import { connect, type Socket } from 'node:net';
import {
  type Balance,
  type Command,
  type CommandInput,
  decodeEvents,
  type EngineEvent,
  type EventsListener,
  encodeCommand,
  isLastEvent,
  Markets,
  type MarketsFile,
  RECORD_BYTES,
  RecordError,
  RecordViews,
  seqAt,
  stampSequence,
} from '../../engine/index.ts';
import { type MdResult, refuse } from '../../gateway/market-data/errors.ts';
import type { MarketDataQuery } from '../../gateway/market-data/queries.ts';
import { type CoreClient, CoreLinkError, type CoreLinkErrorCode, type StreamGap } from './core-client.ts';
import {
  decodeFrame,
  encodeBalances,
  encodeHello,
  encodeMd,
  encodePing,
  encodeSubmit,
  encodeSubscribe,
  FailCode,
  FrameReader,
  GoodbyeCode,
  LINK_PROTOCOL_VERSION,
  type LinkFrame,
  LinkProtocolError,
  MAX_GATEWAY_FRAME_BYTES,
  MAX_TOKEN_BYTES,
  RecordScratch,
} from './link-protocol.ts';

/** How a gateway reaches the core. */
export interface CoreLinkClientOptions {
  readonly host: string;
  readonly port: number;
  /** The shared token the core's link server was started with. */
  readonly token: string;
  /** Follow the released event stream (default true). */
  readonly subscribe?: boolean;
  /** Deliver the events of every command after this seq (default: after the last one released when the link first connects). */
  readonly afterSeq?: number;
  /**
   * A command unanswered for this long fails as status unknown; a balances read or a market
   * data query as unavailable (default 10,000 ms; checked at every heartbeat).
   */
  readonly submitTimeoutMs?: number;
  /** `connectCoreLink` gives up when no handshake succeeds within this (default 10,000 ms). */
  readonly connectTimeoutMs?: number;
  /** Reconnection backoff: the first wait, doubled up to the last (defaults 100 and 2000 ms). */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Longest frame accepted from the core (default 64 MiB: one command's events fit whole). */
  readonly maxFrameBytes?: number;
  /** Where log lines go (default: standard error). */
  readonly log?: (message: string) => void;
}

/** A CoreClient over the link, with its position in the event stream. */
export interface LinkCoreClient extends CoreClient {
  /** The seq of the last command whose events were all delivered (-1 before the first subscription). */
  readonly lastSeq: number;
}

/**
 * Connects to a core's link server; resolves once the handshake is done and the markets are
 * known. Rejects with CoreLinkError `link.refused` (wrong token or version) or
 * `link.unreachable` (no handshake within connectTimeoutMs).
 */
export function connectCoreLink(options: CoreLinkClientOptions): Promise<LinkCoreClient> {
  let client: LinkClient;
  try {
    client = new LinkClient(options);
  } catch (e) {
    return Promise.reject(e);
  }
  return client.start().then(() => client);
}

type Pending =
  | {
      readonly kind: 'submit';
      readonly deadline: number;
      readonly resolve: (events: EngineEvent[]) => void;
      readonly reject: (e: Error) => void;
    }
  | {
      readonly kind: 'balances';
      readonly deadline: number;
      readonly resolve: (balances: Balance[]) => void;
      readonly reject: (e: Error) => void;
    }
  | {
      readonly kind: 'md';
      readonly deadline: number;
      readonly resolve: (result: MdResult<unknown>) => void;
      readonly reject: (e: Error) => void;
    };

/** What each kind of request was waiting for, in the errors of the ones that fail. */
const AWAITED: Record<Exclude<Pending['kind'], 'submit'>, string> = {
  balances: 'the balances',
  md: 'the market data answer',
};

const defaultLog = (message: string): void => {
  process.stderr.write(`${new Date().toISOString()} core-link client: ${message}\n`);
};

const FAILED_AS: Record<number, CoreLinkErrorCode> = {
  [FailCode.Busy]: 'link.busy',
  [FailCode.InvalidCommand]: 'link.invalid_command',
  [FailCode.Unavailable]: 'link.unavailable',
  [FailCode.InvalidRequest]: 'link.invalid_request',
};

class LinkClient implements LinkCoreClient {
  private marketsValue: Markets | null = null;
  private marketsJson: string | null = null;
  private socket: Socket | null = null;
  private up = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly listeners = new Set<EventsListener>();
  private readonly statusListeners = new Set<(up: boolean) => void>();
  private readonly resyncListeners = new Set<(gap: StreamGap) => void>();
  private readonly pending = new Map<number, Pending>();
  private lastRequestId = 0;
  private corked = false;
  private readonly record = new RecordViews(new ArrayBuffer(RECORD_BYTES));
  private readonly scratch = new RecordScratch();
  private readonly log: (message: string) => void;
  private readonly submitTimeoutMs: number;
  private readonly maxFrameBytes: number;
  // --- position in the event stream ---------------------------------------------------------
  /** The last seq whose events were all delivered; -1 until the first subscription answers. */
  private doneSeq: number;
  /** Events delivered of the command after doneSeq (a connection died in its middle). */
  private partial = 0;
  /** Records still to drop after a resume: the `partial` ones, sent again. */
  private skip = 0;
  private subscribedHere = false;
  // --- connection management -----------------------------------------------------------------
  private attempts = 0;
  private lastError = '';
  private lastHeard = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private first: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly options: CoreLinkClientOptions) {
    this.log = options.log ?? defaultLog;
    this.submitTimeoutMs = options.submitTimeoutMs ?? 10_000;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    const after = options.afterSeq ?? -1;
    if (!Number.isSafeInteger(after) || after < -1)
      throw new CoreLinkError('link.config', `afterSeq ${after} is not a sequence number`);
    this.doneSeq = after;
    const tokenBytes = Buffer.byteLength(options.token ?? '', 'utf8');
    if (tokenBytes < 1 || tokenBytes > MAX_TOKEN_BYTES)
      throw new CoreLinkError('link.config', `the link token must be 1 to ${MAX_TOKEN_BYTES} bytes`);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
      throw new CoreLinkError('link.config', `port ${options.port} is not a TCP port`);
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.first = { resolve, reject };
      const timer = setTimeout(() => {
        if (this.first === null) return;
        const why = this.lastError === '' ? 'no answer' : this.lastError;
        this.failFirst(
          new CoreLinkError(
            'link.unreachable',
            `no connection to the core at ${this.address} within ${this.options.connectTimeoutMs ?? 10_000} ms (${why})`,
          ),
        );
      }, this.options.connectTimeoutMs ?? 10_000);
      timer.unref();
      this.open();
    });
  }

  private get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  // =========================================================================================
  // CoreClient

  get markets(): Markets {
    if (this.marketsValue === null)
      throw new CoreLinkError('link.unavailable', 'not connected to the core yet');
    return this.marketsValue;
  }

  get connected(): boolean {
    return this.up;
  }

  get lastSeq(): number {
    return this.doneSeq;
  }

  get streamSeq(): number {
    return Math.max(0, this.doneSeq);
  }

  submit(input: CommandInput): Promise<EngineEvent[]> {
    const socket = this.ready();
    if (socket instanceof CoreLinkError) return Promise.reject(socket);
    try {
      // The record is what the core's sequencer reads; it stamps seq, time and order id.
      encodeCommand(this.record, 0, input as Command);
      const isPlace = input.kind === 'PlaceOrder' || input.kind === 'CancelReplaceOrder';
      stampSequence(this.record, 0, 0, 0, isPlace ? 0 : -1);
    } catch (e) {
      // RecordError for a value the record cannot hold; anything else for a malformed input.
      const why = e instanceof RecordError ? e.message : `the command is malformed: ${(e as Error).message}`;
      return Promise.reject(new CoreLinkError('link.invalid_command', why));
    }
    const id = this.nextRequestId();
    const frame = encodeSubmit(id, this.record, 0);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: 'submit', deadline: Date.now() + this.submitTimeoutMs, resolve, reject });
      this.send(socket, frame);
    });
  }

  balancesOf(userId: number): Promise<Balance[]> {
    const socket = this.ready();
    if (socket instanceof CoreLinkError) return Promise.reject(socket);
    if (!Number.isSafeInteger(userId) || userId < 0)
      return Promise.reject(new CoreLinkError('link.invalid_request', `user id ${userId} is not valid`));
    const id = this.nextRequestId();
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        kind: 'balances',
        deadline: Date.now() + this.submitTimeoutMs,
        resolve,
        reject,
      });
      this.send(socket, encodeBalances(id, userId));
    });
  }

  queryMarketData(q: MarketDataQuery): Promise<MdResult<unknown>> {
    const socket = this.ready();
    if (socket instanceof CoreLinkError) return Promise.reject(socket);
    let json: string | undefined;
    try {
      json = JSON.stringify(q);
    } catch {
      json = undefined;
    }
    // A query the link cannot carry is a bad query, refused here as the core would refuse it.
    if (typeof json !== 'string')
      return Promise.resolve(
        refuse('md.bad_query', -1100, 'Illegal characters found in a parameter: query.'),
      );
    const frame = encodeMd('MdQuery', this.nextRequestId(), json);
    if (frame.length > MAX_GATEWAY_FRAME_BYTES)
      return Promise.resolve(
        refuse('md.bad_query', -1100, 'Illegal characters found in a parameter: the query is too long.'),
      );
    const id = frame.readUInt32LE(8);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: 'md', deadline: Date.now() + this.submitTimeoutMs, resolve, reject });
      this.send(socket, frame);
    });
  }

  onEvents(listener: EventsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(cb: (up: boolean) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  onResync(cb: (gap: StreamGap) => void): () => void {
    this.resyncListeners.add(cb);
    return () => this.resyncListeners.delete(cb);
  }

  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.failFirst(new CoreLinkError('link.closed', 'the core link client was closed'));
    const socket = this.socket;
    if (socket !== null) {
      const gone = new Promise((resolve) => socket.once('close', resolve));
      socket.destroy();
      await gone;
    }
  }

  private ready(): Socket | CoreLinkError {
    if (this.closed) return new CoreLinkError('link.closed', 'the core link client is closed');
    if (!this.up || this.socket === null)
      return new CoreLinkError('link.unavailable', 'not connected to the core: nothing was sent');
    return this.socket;
  }

  /**
   * Writes a request. A burst of requests in one turn of the event loop goes out in one TCP
   * send: the socket is corked until the turn ends.
   */
  private send(socket: Socket, frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(frame);
  }

  private nextRequestId(): number {
    this.lastRequestId = this.lastRequestId >= 0xffffffff ? 1 : this.lastRequestId + 1;
    return this.lastRequestId;
  }

  // =========================================================================================
  // Connection

  private open(): void {
    const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true });
    this.socket = socket;
    this.subscribedHere = false;
    this.lastHeard = Date.now();
    const reader = new FrameReader(this.maxFrameBytes);
    socket.on('connect', () => socket.write(encodeHello(this.options.token)));
    socket.on('data', (chunk: Buffer) => {
      this.lastHeard = Date.now();
      try {
        reader.push(chunk, (frame) => this.onFrame(socket, frame));
      } catch (e) {
        this.log(`closing the link to ${this.address}: ${(e as Error).message}`);
        reader.stop();
        socket.destroy();
      }
    });
    socket.on('error', (e) => {
      this.lastError = e.message;
    });
    socket.on('close', () => this.onClose(socket));
    // The heartbeat also bounds the handshake: a server that never answers HELLO is dropped.
    this.startHeartbeat(1000, 5000);
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const wasUp = this.up;
    this.up = false;
    this.failPending(
      this.closed ? 'the core link client was closed' : `the link to the core at ${this.address} was lost`,
    );
    if (wasUp) {
      if (!this.closed) this.log(`lost the link to the core at ${this.address}; reconnecting`);
      this.emitStatus(false);
    }
    if (this.closed) return;
    const min = this.options.reconnectMinMs ?? 100;
    const max = this.options.reconnectMaxMs ?? 2000;
    // Exponential backoff with jitter, so that many gateways do not reconnect in step.
    const delay = Math.min(max, min * 2 ** Math.min(this.attempts, 20)) * (0.5 + Math.random() / 2);
    if (this.attempts === 0 && !wasUp && this.lastError !== '')
      this.log(`cannot reach the core at ${this.address}: ${this.lastError}; retrying`);
    this.attempts++;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closed) this.open();
    }, delay);
    this.retry.unref();
  }

  /** Every request in flight fails: a submit's command may or may not have been applied. */
  private failPending(why: string): void {
    if (this.pending.size === 0) return;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (p.kind === 'submit') {
        p.reject(
          new CoreLinkError(
            'link.status_unknown',
            `${why} after the command was sent: it may or may not have been applied (send status unknown; execution status unknown)`,
            true,
          ),
        );
      } else {
        p.reject(new CoreLinkError('link.unavailable', `${why} before ${AWAITED[p.kind]} came back`));
      }
    }
  }

  private startHeartbeat(heartbeatMs: number, deadAfterMs: number): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    const socket = this.socket;
    this.heartbeat = setInterval(() => {
      if (socket === null || socket !== this.socket) return;
      const now = Date.now();
      if (now - this.lastHeard > deadAfterMs) {
        this.log(
          `nothing heard from the core at ${this.address} for ${now - this.lastHeard} ms: reconnecting`,
        );
        socket.destroy();
        return;
      }
      if (this.up) socket.write(encodePing('Ping', now));
      this.expire(now);
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  /** Fails requests unanswered past their deadline (they are in deadline order: one timeout for all). */
  private expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (p.deadline > now) return;
      this.pending.delete(id);
      if (p.kind === 'submit') {
        p.reject(
          new CoreLinkError(
            'link.status_unknown',
            `no answer from the core within ${this.submitTimeoutMs} ms: the command may or may not have been applied (send status unknown; execution status unknown)`,
            true,
          ),
        );
      } else {
        p.reject(
          new CoreLinkError(
            'link.unavailable',
            `no answer from the core within ${this.submitTimeoutMs} ms: ${AWAITED[p.kind]} did not come back`,
          ),
        );
      }
    }
  }

  private emitStatus(up: boolean): void {
    for (const cb of [...this.statusListeners]) {
      try {
        cb(up);
      } catch (e) {
        this.log(`a status listener failed: ${(e as Error).message}`);
      }
    }
  }

  private failFirst(e: Error): void {
    const first = this.first;
    if (first === null) return;
    this.first = null;
    first.reject(e);
    if (!this.closed) void this.close();
  }

  // =========================================================================================
  // Frames

  private onFrame(socket: Socket, bytes: Buffer): void {
    if (socket !== this.socket) return;
    const f = decodeFrame(bytes);
    if (!this.up && f.type !== 'Welcome' && f.type !== 'Goodbye')
      throw new LinkProtocolError(`expected WELCOME first, got ${f.type}`);
    switch (f.type) {
      case 'Welcome':
        this.welcome(socket, f);
        return;
      case 'Goodbye':
        this.goodbye(f);
        return;
      case 'Ping':
        socket.write(encodePing('Pong', f.nonce));
        return;
      case 'Pong':
        return;
      case 'Submitted': {
        const p = this.take(f.requestId, 'submit');
        if (p?.kind === 'submit') p.resolve(decodeEvents(this.scratch.views(f.records), f.count));
        return;
      }
      case 'BalancesReply': {
        const p = this.take(f.requestId, 'balances');
        if (p?.kind === 'balances') p.resolve(f.balances);
        return;
      }
      case 'MdReply': {
        const p = this.take(f.requestId, 'md');
        if (p?.kind !== 'md') return;
        const result = parseResult(f.json);
        if (result === null) {
          this.log(`the core at ${this.address} sent a market data answer that is not a result`);
          p.reject(
            new CoreLinkError('link.unavailable', 'the core sent a market data answer that is not a result'),
          );
        } else p.resolve(result);
        return;
      }
      case 'Failed': {
        const p = this.pending.get(f.requestId);
        if (p === undefined) return;
        this.pending.delete(f.requestId);
        p.reject(new CoreLinkError(FAILED_AS[f.code] ?? 'link.unavailable', f.reason));
        return;
      }
      case 'Subscribed':
        this.subscribed(f.afterSeq);
        return;
      case 'Resync':
        this.resync(f.requestedAfterSeq, f.afterSeq);
        return;
      case 'Events':
        this.events(f.records, f.count);
        return;
      default:
        throw new LinkProtocolError(`the core may not send ${f.type}`);
    }
  }

  /** The request answered by a reply, if it is still waiting (a late reply after a timeout is dropped). */
  private take(requestId: number, kind: Pending['kind']): Pending | undefined {
    const p = this.pending.get(requestId);
    if (p === undefined) return undefined;
    if (p.kind !== kind) throw new LinkProtocolError(`request ${requestId} answered with the wrong reply`);
    this.pending.delete(requestId);
    return p;
  }

  private welcome(socket: Socket, f: Extract<LinkFrame, { type: 'Welcome' }>): void {
    if (this.up) throw new LinkProtocolError('WELCOME sent twice');
    if (f.version !== LINK_PROTOCOL_VERSION)
      throw new LinkProtocolError(
        `the core speaks protocol version ${f.version}, not ${LINK_PROTOCOL_VERSION}`,
      );
    if (this.marketsJson === null) {
      try {
        this.marketsValue = new Markets(JSON.parse(f.marketsJson) as MarketsFile);
      } catch (e) {
        this.fatal(
          new CoreLinkError(
            'link.config',
            `the core sent markets this client cannot load: ${(e as Error).message}`,
          ),
        );
        return;
      }
      this.marketsJson = f.marketsJson;
    } else if (this.marketsJson !== f.marketsJson) {
      this.fatal(
        new CoreLinkError(
          'link.markets_changed',
          'the core now runs different markets than when this gateway started: restart the gateway',
        ),
      );
      return;
    }
    if (this.attempts > 0) this.log(`connected to the core at ${this.address} again`);
    this.attempts = 0;
    this.lastError = '';
    this.up = true;
    this.startHeartbeat(Math.max(10, f.heartbeatMs), Math.max(20, f.deadAfterMs));
    // The first subscription starts at the seq the server had released when it answered
    // HELLO, not at "now" when SUBSCRIBE arrives: events released in between are not lost,
    // and a link that dies before SUBSCRIBED is answered resumes from the same point.
    if (this.doneSeq === -1) this.doneSeq = f.releasedSeq;
    if (this.options.subscribe !== false) socket.write(encodeSubscribe(this.doneSeq));
    this.emitStatus(true);
    const first = this.first;
    this.first = null;
    first?.resolve();
  }

  private goodbye(f: Extract<LinkFrame, { type: 'Goodbye' }>): void {
    const refused = f.code === GoodbyeCode.BadToken || f.code === GoodbyeCode.BadVersion;
    this.log(`the core at ${this.address} closed the link: ${f.reason}`);
    if (refused && this.first !== null) {
      this.failFirst(new CoreLinkError('link.refused', `the core refused this gateway: ${f.reason}`));
      return;
    }
    // Anything else (the core restarting, a protocol complaint): the socket closes next and
    // the client reconnects with backoff.
    this.lastError = f.reason;
  }

  /** Stops for good: the client cannot go on with this core. */
  private fatal(e: CoreLinkError): void {
    this.log(e.message);
    if (this.first !== null) this.failFirst(e);
    else void this.close();
  }

  // =========================================================================================
  // The event stream

  private subscribed(afterSeq: number): void {
    this.subscribedHere = true;
    if (this.doneSeq === afterSeq) {
      // Resumed after the last complete command: the events of the next one that were
      // already delivered come again first.
      this.skip = this.partial;
    } else {
      this.doneSeq = afterSeq;
      this.partial = 0;
      this.skip = 0;
    }
  }

  private resync(requestedAfterSeq: number, afterSeq: number): void {
    this.subscribedHere = true;
    const gap: StreamGap = { afterSeq: this.doneSeq, resumedAfterSeq: afterSeq };
    this.log(
      `the core no longer holds the events after seq ${requestedAfterSeq}: resuming after seq ${afterSeq}; everything built from the stream must be rebuilt`,
    );
    this.doneSeq = afterSeq;
    this.partial = 0;
    this.skip = 0;
    for (const cb of [...this.resyncListeners]) {
      try {
        cb(gap);
      } catch (e) {
        this.log(`a resync listener failed: ${(e as Error).message}`);
      }
    }
  }

  private events(records: Buffer, count: number): void {
    if (!this.subscribedHere) throw new LinkProtocolError('EVENTS before SUBSCRIBED');
    const views = this.scratch.views(records);
    let start = 0;
    if (this.skip > 0) {
      start = Math.min(this.skip, count);
      this.skip -= start;
    }
    if (start === count) return;
    for (const l of this.listeners) {
      try {
        l(views, start, count - start);
      } catch (e) {
        this.log(`an events listener failed: ${(e as Error).message}`);
      }
    }
    this.track(views, start, count);
  }

  /** Moves the stream position past records [start, end) just delivered. */
  private track(views: RecordViews, start: number, end: number): void {
    const last = end - 1;
    if (isLastEvent(views, last)) {
      this.doneSeq = seqAt(views, last);
      this.partial = 0;
      return;
    }
    // The batch ends inside a command: count how many of its events were delivered.
    const seq = seqAt(views, last);
    let i = last;
    while (i > start && seqAt(views, i - 1) === seq) i--;
    if (i > start) {
      this.doneSeq = seqAt(views, i - 1);
      this.partial = end - i;
    } else {
      this.partial += end - start;
    }
  }
}

/** An MD_REPLY's JSON as an MdResult; null for anything else. */
function parseResult(json: string): MdResult<unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as { ok?: unknown; value?: unknown; error?: unknown };
  if (r.ok === true && 'value' in r) return r as MdResult<unknown>;
  if (r.ok === false && typeof r.error === 'object' && r.error !== null) return r as MdResult<unknown>;
  return null;
}
