/**
 * Helpers for the core link's tests: a real Core in a temp dir (journal off), a recorder of
 * event streams (raw record bytes), a seeded workload that trades, a TCP proxy that the tests
 * use to cut, stall or refuse a gateway's connection like a failing network would, and raw
 * sockets that speak the protocol by hand (for peers that misbehave).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type CommandInput,
  Core,
  type CoreOptions,
  type EventsListener,
  type MarketsFile,
  OrderType,
  RECORD_BYTES,
  RecordViews,
  Side,
  StpMode,
  seqAt,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';

export const MARKETS_FILE = JSON.parse(
  readFileSync(new URL('../../config/markets.json', import.meta.url), 'utf8'),
) as MarketsFile;
export const TOKEN = 'link-test-token-0123456789abcdef';

const dirs: string[] = [];

/** Removes the temp dirs of every core started so far (call it in an `after` hook). */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A real Core with its journal off, in a fresh temp dir (options: a pinned clock, a small maxInFlight). */
export async function startCore(
  options: Partial<Pick<CoreOptions, 'clock' | 'maxInFlight'>> = {},
): Promise<Core> {
  const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-link-'));
  dirs.push(dir);
  return Core.start({ ...options, dataDir: dir, marketsFile: MARKETS_FILE, journal: false });
}

/** Polls `cond` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Records every event record a stream delivers (copies: the views are reused). */
export class StreamRecorder {
  private readonly chunks: Buffer[] = [];
  records = 0;
  lastSeq = 0;

  readonly listener: EventsListener = (views, from, count) => {
    this.chunks.push(Buffer.from(views.u8.subarray(from * RECORD_BYTES, (from + count) * RECORD_BYTES)));
    this.records += count;
    this.lastSeq = seqAt(views, from + count - 1);
  };

  /** Everything recorded, as one buffer of records. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** The seq of every record, in order. */
  seqs(): number[] {
    const b = this.bytes();
    const v = new RecordViews(new Uint8Array(b).buffer);
    const out: number[] = [];
    for (let i = 0; i < v.records; i++) out.push(seqAt(v, i));
    return out;
  }
}

/** Deposits that fund users 1..`users` in every asset, so that risk refuses none of the workload. */
export function fundings(users: number, refBase = 0): CommandInput[] {
  const out: CommandInput[] = [];
  for (let u = 1; u <= users; u++) {
    for (let a = 0; a < MARKETS_FILE.assets.length; a++) {
      out.push({
        kind: 'Deposit',
        userId: userId(u),
        assetId: a,
        amountUnits: 2 ** 45,
        refId: refBase + u * 10 + a + 1,
      });
    }
  }
  return out;
}

/** A seeded stream of crossing limit orders over BTCUSDT and ETHUSDT: most of them trade. */
export function orders(n: number, seed: number, users = 4): CommandInput[] {
  let x = seed;
  const r = (k: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const out: CommandInput[] = [];
  for (let i = 0; i < n; i++) {
    const sym = r(2);
    out.push({
      kind: 'PlaceOrder',
      symbolId: symbolId(sym),
      userId: userId(1 + r(users)),
      side: r(2) === 0 ? Side.BUY : Side.SELL,
      orderType: OrderType.LIMIT,
      timeInForce: TimeInForce.GTC,
      stpMode: StpMode.NONE,
      // BTCUSDT: tick 0.01, lot 0.00001; ETHUSDT: tick 0.01, lot 0.0001. Around 50,000 / 3,000.
      priceTicks: (sym === 0 ? 5_000_000 : 300_000) + r(21) - 10,
      qtyLots: sym === 0 ? 100 + r(400) : 100 + r(900),
      quoteQtyUnits: 0,
      clientOrderId: r(4) === 0 ? `o-${seed}-${i}` : '',
    });
  }
  return out;
}

/** Sends commands straight to the core, waiting whenever it is busy; resolves once all are released. */
export async function sendAll(core: Core, inputs: readonly CommandInput[]): Promise<void> {
  for (const input of inputs) {
    for (;;) {
      try {
        core.send(input);
        break;
      } catch (e) {
        if ((e as Error).name !== 'CoreBusyError') throw e;
        await core.whenReady();
      }
    }
  }
  await core.quiesce();
}

/**
 * A TCP proxy between gateways and the link server, standing in for the network: it can
 * cut every connection, stall them (bytes stop flowing, sockets stay open) or refuse new ones.
 */
export class LinkProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  refusing = false;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<LinkProxy> {
    let proxy: LinkProxy | null = null;
    const server = createServer((down) => proxy!.accept(down, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    proxy = new LinkProxy(server, typeof address === 'object' && address !== null ? address.port : 0);
    return proxy;
  }

  private accept(down: Socket, targetPort: number): void {
    if (this.refusing) {
      down.destroy();
      return;
    }
    this.accepted++;
    const up = connect({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [down, up];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!this.stalled) to.write(chunk);
      });
    };
    forward(down, up);
    forward(up, down);
    // A close travels through to the other side, except while stalled: a partitioned network
    // delivers no FIN either, and each side must find out by itself.
    const end = (from: Socket): void => {
      if (this.stalled) from.destroy();
      else {
        down.destroy();
        up.destroy();
      }
      if (down.destroyed && up.destroyed) this.pairs.delete(pair);
    };
    for (const s of pair) {
      s.on('close', () => end(s));
      s.on('error', () => end(s));
    }
  }

  /** Destroys every connection through the proxy, as a network failure would. */
  cut(): void {
    for (const [down, up] of this.pairs) {
      down.destroy();
      up.destroy();
    }
    this.pairs.clear();
  }

  /** Stops (or resumes) forwarding, closes included: the sockets stay open and silent, like a partition. */
  stall(on: boolean): void {
    this.stalled = on;
  }

  get open(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A raw TCP connection to the link server, for peers that misbehave on purpose. It reads
 * (and drops) what arrives, so that it sees the server close it, until paused.
 */
export async function rawConnect(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.resume();
  return socket;
}

/** Resolves when `socket` is closed (by the other side or by an error). */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** Collects every byte a raw socket receives. */
export function received(socket: Socket): () => Buffer {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}
