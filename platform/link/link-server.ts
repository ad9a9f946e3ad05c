/**
 * The core's side of the link (docs/LINK.md): a TCP server on the internal network that lets
 * any number of stateless gateways submit commands, read balances, follow the released
 * event stream and ask the market data builder beside the core. It runs in the core's
 * process, on its event loop, and never makes the core wait: replies and events are written
 * to each socket's buffer, and a gateway whose unsent bytes pass a limit is cut off (it
 * reconnects and resumes from the ring of recent events).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  type CommandInput,
  type Core,
  CoreBusyError,
  decodeCommand,
  Markets,
  type MarketsFile,
  RECORD_BYTES,
  RecordError,
  RecordViews,
  seqAt,
} from '../../engine/index.ts';
import type { MdResult } from '../../gateway/market-data/errors.ts';
import { type MarketDataQueries, parseMarketDataQuery } from '../../gateway/market-data/queries.ts';
import { CoreLinkError, NO_MARKET_DATA } from './core-client.ts';
import { EventRing } from './event-ring.ts';
import {
  decodeFrame,
  encodeBalancesReply,
  encodeEvents,
  encodeFailed,
  encodeGoodbye,
  encodeMd,
  encodePing,
  encodeResync,
  encodeSubmitted,
  encodeSubscribed,
  encodeWelcome,
  FailCode,
  FrameReader,
  GoodbyeCode,
  LINK_MAGIC,
  LINK_PROTOCOL_VERSION,
  type LinkFrame,
  LinkProtocolError,
  MAX_GATEWAY_FRAME_BYTES,
} from './link-protocol.ts';

/** The part of Core the link serves. */
export type LinkedCore = Pick<Core, 'markets' | 'send' | 'onEvents' | 'balancesOf' | 'lastSeq' | 'inFlight'>;

/** How the link server runs. */
export interface CoreLinkServerOptions {
  /** Interface to listen on (default 127.0.0.1; the internal network's address in production). */
  readonly host?: string;
  /** TCP port; 0 picks a free one (see the returned `port`). */
  readonly port: number;
  /** Shared secret every gateway presents in HELLO: 16 to 1024 bytes. Never logged. */
  readonly token: string;
  /** The markets file the core runs: sent in WELCOME so that gateways build the same Markets. */
  readonly marketsFile: MarketsFile;
  /**
   * The market data builder in the core's process (`localMarketDataQueries(md)`), which
   * answers gateways' MD_QUERY frames; without it they get FAILED unavailable.
   */
  readonly marketData?: MarketDataQueries;
  /** Recent event records kept for gateways that reconnect (default 262,144: 48 MiB). */
  readonly ringRecords?: number;
  /**
   * A gateway whose unsent bytes pass this is cut off (default 32 MiB). Events stop being
   * written to it at a quarter of this (at most 1 MiB) and go on from the ring as it drains;
   * one that falls behind the ring is cut off too.
   */
  readonly maxBufferedBytes?: number;
  /** Gateways ping this often (default 1000 ms); sent to them in WELCOME. */
  readonly heartbeatMs?: number;
  /** A connection silent for this long is closed, on both sides (default 5000 ms). */
  readonly deadAfterMs?: number;
  /** Most event records in one EVENTS frame (default 4096). */
  readonly maxRecordsPerFrame?: number;
  /** On close, how long to wait for answers to commands already sent to the core (default 5000 ms). */
  readonly drainTimeoutMs?: number;
  /** Where log lines go (default: standard error). */
  readonly log?: (message: string) => void;
}

/** A running link server. */
export interface CoreLinkServer {
  /** The port it listens on. */
  readonly port: number;
  /** Connections open now (handshaking or ready). */
  readonly connections: number;
  /**
   * Stops accepting, answers commands already sent to the core (up to drainTimeoutMs),
   * says GOODBYE to every gateway and closes. Call it before closing the core.
   */
  close(): Promise<void>;
}

interface Peer {
  readonly id: number;
  readonly socket: Socket;
  readonly remote: string;
  readonly reader: FrameReader;
  ready: boolean;
  closed: boolean;
  subscribed: boolean;
  /** Sent every event before `cursor`; true once it is at the head and gets live batches. */
  live: boolean;
  /** Ring position of the next record to send while catching up. */
  cursor: number;
  lastHeard: number;
  corked: boolean;
}

interface PendingSubmit {
  readonly peer: Peer;
  readonly requestId: number;
}

const defaultLog = (message: string): void => {
  process.stderr.write(`${new Date().toISOString()} core-link: ${message}\n`);
};

const digest = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** Starts the link server next to a running core. */
export async function serveCoreLink(
  core: LinkedCore,
  options: CoreLinkServerOptions,
): Promise<CoreLinkServer> {
  const server = new LinkServer(core, options);
  await server.listen(options.host ?? '127.0.0.1', options.port);
  return server;
}

class LinkServer implements CoreLinkServer {
  private readonly net: Server;
  private readonly peers = new Set<Peer>();
  private readonly pending = new Map<number, PendingSubmit>();
  private readonly ring: EventRing;
  private readonly tokenDigest: Buffer;
  private readonly marketsJson: string;
  private readonly maxBuffered: number;
  /** Unsent bytes above which a gateway gets events from the ring, paced by 'drain'. */
  private readonly highWater: number;
  private readonly recordsPerFrame: number;
  private readonly heartbeatMs: number;
  private readonly deadAfterMs: number;
  private readonly drainTimeoutMs: number;
  private readonly log: (message: string) => void;
  private readonly marketData: MarketDataQueries | undefined;
  private readonly scratch = new RecordViews(new ArrayBuffer(RECORD_BYTES));
  private readonly corked: Peer[] = [];
  private readonly unsubscribe: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private nextPeerId = 1;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private boundPort = 0;

  constructor(
    private readonly core: LinkedCore,
    options: CoreLinkServerOptions,
  ) {
    const tokenBytes = Buffer.byteLength(options.token ?? '', 'utf8');
    if (tokenBytes < 16 || tokenBytes > 1024)
      throw new CoreLinkError('link.config', `the link token must be 16 to 1024 bytes, got ${tokenBytes}`);
    this.tokenDigest = digest(Buffer.from(options.token, 'utf8'));
    const markets = new Markets(options.marketsFile);
    if (markets.list.map((m) => m.symbol).join() !== core.markets.list.map((m) => m.symbol).join())
      throw new CoreLinkError(
        'link.config',
        'the markets file given to the link is not the one the core runs',
      );
    this.marketsJson = JSON.stringify(options.marketsFile);
    this.maxBuffered = positive(options.maxBufferedBytes ?? 32 * 1024 * 1024, 'maxBufferedBytes');
    this.highWater = Math.min(1024 * 1024, Math.floor(this.maxBuffered / 4));
    this.heartbeatMs = positive(options.heartbeatMs ?? 1000, 'heartbeatMs');
    this.deadAfterMs = positive(options.deadAfterMs ?? 5000, 'deadAfterMs');
    if (this.deadAfterMs <= this.heartbeatMs)
      throw new CoreLinkError('link.config', 'deadAfterMs must be longer than heartbeatMs');
    // A frame never exceeds the high-water mark, so writing one below it stays under the cap.
    this.recordsPerFrame = Math.max(
      1,
      Math.min(
        positive(options.maxRecordsPerFrame ?? 4096, 'maxRecordsPerFrame'),
        Math.floor(this.highWater / RECORD_BYTES),
      ),
    );
    this.drainTimeoutMs = options.drainTimeoutMs ?? 5000;
    this.log = options.log ?? defaultLog;
    this.marketData = options.marketData;
    // Everything released before now is unknown to the ring: a gateway asking for it resyncs.
    this.ring = new EventRing(
      positive(options.ringRecords ?? 262_144, 'ringRecords'),
      core.lastSeq - core.inFlight,
    );
    this.unsubscribe = core.onEvents((views, from, count) => this.onReleased(views, from, count));
    this.net = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.net.on('error', (e) => this.log(`server error: ${e.message}`));
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.heartbeatMs / 2)));
    this.sweeper.unref();
  }

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.peers.size;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => {
        this.unsubscribe();
        clearInterval(this.sweeper);
        reject(new CoreLinkError('link.config', `cannot listen on ${host}:${port}: ${e.message}`));
      };
      this.net.once('error', fail);
      this.net.listen(port, host, () => {
        this.net.off('error', fail);
        const address = this.net.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
        this.log(`listening on ${host}:${this.boundPort}`);
        resolve();
      });
    });
  }

  // =========================================================================================
  // Connections

  private accept(socket: Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const peer: Peer = {
      id: this.nextPeerId++,
      socket,
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      reader: new FrameReader(MAX_GATEWAY_FRAME_BYTES),
      ready: false,
      closed: false,
      subscribed: false,
      live: false,
      cursor: 0,
      lastHeard: Date.now(),
      corked: false,
    };
    this.peers.add(peer);
    socket.on('data', (chunk: Buffer) => this.onData(peer, chunk));
    socket.on('drain', () => this.catchUp(peer));
    socket.on('error', (e) => {
      if (!peer.closed) this.log(`connection ${peer.id} (${peer.remote}): ${e.message}`);
    });
    socket.on('close', () => {
      if (!peer.closed && peer.ready)
        this.log(`connection ${peer.id} from ${peer.remote} closed by the gateway`);
      peer.closed = true;
      peer.reader.stop();
      this.peers.delete(peer);
    });
  }

  private onData(peer: Peer, chunk: Buffer): void {
    peer.lastHeard = Date.now();
    this.cork(peer);
    try {
      peer.reader.push(chunk, (frame) => this.onFrame(peer, frame));
    } catch (e) {
      if (e instanceof LinkProtocolError) this.refuse(peer, GoodbyeCode.ProtocolError, e.message);
      else this.drop(peer, `failed on a frame: ${(e as Error).message}`);
    } finally {
      this.uncorkAll();
    }
  }

  private onFrame(peer: Peer, bytes: Buffer): void {
    if (peer.closed) return;
    const frame = decodeFrame(bytes);
    if (!peer.ready) {
      if (frame.type !== 'Hello') throw new LinkProtocolError(`expected HELLO first, got ${frame.type}`);
      this.hello(peer, frame);
      return;
    }
    this.request(peer, frame);
  }

  private hello(peer: Peer, frame: Extract<LinkFrame, { type: 'Hello' }>): void {
    if (frame.magic !== LINK_MAGIC || frame.version !== LINK_PROTOCOL_VERSION) {
      this.refuse(
        peer,
        GoodbyeCode.BadVersion,
        `protocol version ${frame.version} is not spoken here (the server speaks ${LINK_PROTOCOL_VERSION})`,
      );
      return;
    }
    // Compare digests: equal lengths for timingSafeEqual, and no timing hint of the token.
    if (!timingSafeEqual(digest(frame.token), this.tokenDigest)) {
      this.refuse(peer, GoodbyeCode.BadToken, 'the link token is not valid');
      return;
    }
    peer.ready = true;
    this.write(
      peer,
      encodeWelcome({
        version: LINK_PROTOCOL_VERSION,
        heartbeatMs: this.heartbeatMs,
        deadAfterMs: this.deadAfterMs,
        releasedSeq: this.ring.lastSeq,
        marketsJson: this.marketsJson,
      }),
    );
    this.log(`connection ${peer.id} from ${peer.remote} ready`);
  }

  private request(peer: Peer, frame: LinkFrame): void {
    switch (frame.type) {
      case 'Submit':
        this.submit(peer, frame.requestId, frame.record);
        return;
      case 'Balances': {
        const user = frame.userId;
        if (!Number.isSafeInteger(user) || user < 0) {
          this.write(
            peer,
            encodeFailed(frame.requestId, FailCode.InvalidRequest, `user id ${user} is not valid`),
          );
          return;
        }
        this.write(peer, encodeBalancesReply(frame.requestId, this.core.balancesOf(user)));
        return;
      }
      case 'MdQuery':
        this.mdQuery(peer, frame.requestId, frame.json);
        return;
      case 'Subscribe':
        this.subscribe(peer, frame.afterSeq);
        return;
      case 'Ping':
        this.write(peer, encodePing('Pong', frame.nonce));
        return;
      case 'Pong':
        return;
      default:
        throw new LinkProtocolError(`a gateway may not send ${frame.type}`);
    }
  }

  // =========================================================================================
  // Commands

  private submit(peer: Peer, requestId: number, record: Buffer): void {
    if (this.closing !== null) {
      this.write(
        peer,
        encodeFailed(requestId, FailCode.Unavailable, 'the core link is shutting down: not applied'),
      );
      return;
    }
    this.scratch.u8.set(record);
    let seq: number;
    try {
      // The sequencer re-stamps seq, time, order id and risk's fields: the gateway's values
      // there count for nothing.
      seq = this.core.send(decodeCommand(this.scratch, 0) as CommandInput);
    } catch (e) {
      const [code, what] =
        e instanceof CoreBusyError
          ? [FailCode.Busy, 'the core is busy']
          : e instanceof RecordError
            ? [FailCode.InvalidCommand, 'the command is not valid']
            : [FailCode.Unavailable, 'the core cannot take commands'];
      this.write(peer, encodeFailed(requestId, code, `${what}: ${(e as Error).message}`));
      return;
    }
    this.pending.set(seq, { peer, requestId });
  }

  /** Answers the submits whose commands are in this released batch, with their event records. */
  private answer(views: RecordViews, from: number, count: number): void {
    const end = from + count;
    let i = from;
    while (i < end) {
      const seq = seqAt(views, i);
      let j = i + 1;
      while (j < end && seqAt(views, j) === seq) j++;
      const p = this.pending.get(seq);
      if (p !== undefined) {
        this.pending.delete(seq);
        if (!p.peer.closed) this.write(p.peer, encodeSubmitted(p.requestId, seq, views, i, j - i));
      }
      i = j;
    }
    if (this.pending.size === 0) this.drained?.();
  }

  // =========================================================================================
  // Market data

  /**
   * Answers a market data query with MD_REPLY once the builder resolves (it may read the
   * trade store). A query that is not JSON, or not a query, is answered with the refusal:
   * what a gateway asks is not the protocol's business. FAILED unavailable when no builder
   * runs here, the link is closing, or the builder fails.
   */
  private mdQuery(peer: Peer, requestId: number, json: string): void {
    const md = this.marketData;
    if (md === undefined) {
      this.write(peer, encodeFailed(requestId, FailCode.Unavailable, NO_MARKET_DATA));
      return;
    }
    if (this.closing !== null) {
      this.write(peer, encodeFailed(requestId, FailCode.Unavailable, 'the core link is shutting down'));
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = undefined; // refused below as a malformed query
    }
    const parsed = parseMarketDataQuery(value);
    if (!parsed.ok) {
      this.mdReply(peer, requestId, parsed);
      return;
    }
    Promise.resolve()
      .then(() => md.query(parsed.value))
      .then(
        (result) => this.mdReply(peer, requestId, result),
        (e: unknown) => this.mdFailed(peer, requestId, 'the market data query failed', e),
      )
      .catch((e: unknown) => this.log(`connection ${peer.id}: failed to answer a market data query: ${e}`));
  }

  private mdReply(peer: Peer, requestId: number, result: MdResult<unknown>): void {
    if (peer.closed) return;
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (e) {
      this.mdFailed(peer, requestId, 'the market data answer cannot be sent', e);
      return;
    }
    if (typeof json !== 'string' || typeof result?.ok !== 'boolean') {
      this.mdFailed(peer, requestId, 'the market data answer cannot be sent', 'it is not a result');
      return;
    }
    // Counts toward the connection's unsent bytes like every reply: a gateway that asks and
    // does not read is cut off.
    this.write(peer, encodeMd('MdReply', requestId, json));
  }

  private mdFailed(peer: Peer, requestId: number, what: string, e: unknown): void {
    const why = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    this.log(`connection ${peer.id}: ${why}`);
    this.write(peer, encodeFailed(requestId, FailCode.Unavailable, why));
  }

  // =========================================================================================
  // The event stream

  private subscribe(peer: Peer, afterSeq: number): void {
    if (peer.subscribed) throw new LinkProtocolError('SUBSCRIBE sent twice');
    peer.subscribed = true;
    const from = afterSeq === -1 ? this.ring.head : this.ring.positionAfter(afterSeq);
    if (from === null) {
      const now = this.ring.lastSeq;
      this.log(
        `connection ${peer.id} asked for the events after seq ${afterSeq}, which are no longer held (held: after seq ${this.ring.heldAfterSeq} up to ${now}): resyncing it after seq ${now}`,
      );
      this.write(peer, encodeResync(afterSeq, now));
      peer.cursor = this.ring.head;
      peer.live = true;
      return;
    }
    this.write(peer, encodeSubscribed(afterSeq === -1 ? this.ring.lastSeq : afterSeq));
    peer.cursor = from;
    peer.live = from === this.ring.head;
    if (!peer.live) this.catchUp(peer);
  }

  /** The core's listener: keep the batch in the ring, stream it, answer its submits. */
  private onReleased(views: RecordViews, from: number, count: number): void {
    // Nothing here may throw into the core: a link fault must not stop the exchange.
    try {
      this.ring.append(views, from, count);
      this.broadcast(views, from, count);
      if (this.pending.size > 0) this.answer(views, from, count);
    } catch (e) {
      this.log(`failed to publish released events: ${(e as Error).message}`);
    } finally {
      this.uncorkAll();
    }
  }

  private broadcast(views: RecordViews, from: number, count: number): void {
    // One frame per chunk, built once and written to every live gateway (the socket keeps a
    // reference, it does not copy).
    let frames: Buffer[] | null = null;
    const batchStart = this.ring.head - count;
    for (const peer of this.peers) {
      if (!peer.subscribed || peer.closed) continue;
      if (!peer.live) {
        this.catchUp(peer);
        continue;
      }
      if (frames === null) {
        frames = [];
        for (let i = 0; i < count; i += this.recordsPerFrame) {
          const n = Math.min(this.recordsPerFrame, count - i);
          frames.push(
            encodeEvents(views.u8.subarray((from + i) * RECORD_BYTES, (from + i + n) * RECORD_BYTES)),
          );
        }
      }
      this.cork(peer);
      let position = batchStart;
      for (const f of frames) {
        // A gateway that does not keep up stops getting live frames: the rest comes from the
        // ring at the pace its socket drains, so its buffer stays small.
        if (peer.socket.writableLength >= this.highWater) {
          peer.live = false;
          break;
        }
        if (!this.write(peer, f)) break;
        position += (f.length - 16) / RECORD_BYTES;
      }
      peer.cursor = position;
    }
  }

  /**
   * Sends a gateway what it has not been sent yet from the ring, paced by its socket: it
   * stops at the high-water mark and goes on at 'drain'. Once at the head it gets live
   * batches again. One that falls behind the ring's tail is cut off.
   */
  private catchUp(peer: Peer): void {
    if (!peer.subscribed || peer.live || peer.closed) return;
    while (peer.cursor < this.ring.head) {
      if (peer.cursor < this.ring.tail) {
        this.drop(
          peer,
          `cut off: ${this.ring.head - peer.cursor} event records behind, more than the link keeps (it will reconnect and resume or resync)`,
        );
        return;
      }
      if (peer.socket.writableLength >= this.highWater) return;
      const bytes = this.ring.bytesAt(peer.cursor, this.recordsPerFrame);
      if (!this.write(peer, encodeEvents(bytes))) return;
      peer.cursor += bytes.length / RECORD_BYTES;
    }
    peer.live = true;
  }

  // =========================================================================================
  // Writing, backpressure, heartbeats

  /** Writes a frame; false when the peer is gone or was just cut off for not reading. */
  private write(peer: Peer, frame: Buffer): boolean {
    if (peer.closed || peer.socket.destroyed) return false;
    peer.socket.write(frame);
    if (peer.socket.writableLength > this.maxBuffered) {
      this.drop(peer, `cut off: ${peer.socket.writableLength} bytes unsent (it will reconnect and resume)`);
      return false;
    }
    return true;
  }

  /** Corks a peer's socket until the end of this turn: many small frames, one TCP send. */
  private cork(peer: Peer): void {
    if (peer.corked || peer.closed) return;
    peer.corked = true;
    peer.socket.cork();
    this.corked.push(peer);
  }

  private uncorkAll(): void {
    for (const p of this.corked) {
      p.corked = false;
      if (!p.socket.destroyed) p.socket.uncork();
    }
    this.corked.length = 0;
  }

  /** Refuses a peer: GOODBYE with the reason, then close. */
  private refuse(peer: Peer, code: number, reason: string): void {
    if (peer.closed) return;
    this.log(`connection ${peer.id} from ${peer.remote} closed: ${reason}`);
    peer.closed = true;
    peer.reader.stop();
    peer.socket.end(encodeGoodbye(code, reason));
    // A peer that does not close its side is not waited for.
    setTimeout(() => peer.socket.destroy(), 1000).unref();
  }

  /** Closes a peer at once: no GOODBYE, which would sit behind what a slow peer does not read. */
  private drop(peer: Peer, why: string): void {
    if (peer.closed) return;
    this.log(`connection ${peer.id} from ${peer.remote} ${why}`);
    peer.closed = true;
    peer.reader.stop();
    peer.socket.destroy();
  }

  /** Closes connections that have been silent too long (dead peers, stalled handshakes). */
  private sweep(): void {
    const now = Date.now();
    for (const peer of this.peers) {
      if (!peer.closed && now - peer.lastHeard > this.deadAfterMs)
        this.drop(peer, `closed: nothing heard for ${now - peer.lastHeard} ms`);
    }
  }

  // =========================================================================================
  // Shutdown

  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.net.close(() => resolve()));
    if (this.pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.drainTimeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.pending.size > 0)
        this.log(`closing with ${this.pending.size} command(s) unanswered after ${this.drainTimeoutMs} ms`);
    }
    this.unsubscribe();
    clearInterval(this.sweeper);
    const closed = [...this.peers].map(
      (p) =>
        new Promise<void>((resolve) => (p.socket.destroyed ? resolve() : p.socket.once('close', resolve))),
    );
    for (const peer of this.peers) this.refuse(peer, GoodbyeCode.Shutdown, 'the core is shutting down');
    await Promise.all(closed);
    await stopped;
    this.log('closed');
  }
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CoreLinkError('link.config', `${what} must be a positive integer`);
  return n;
}
