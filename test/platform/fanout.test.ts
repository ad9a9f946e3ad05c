/**
 * The market data fan-out end to end, as production runs it: one core (with the persister and the
 * market data builder) and two gateways over the link, on one bus per run: in process (one shared
 * InProcessBus) always, and Redis at REDIS_URL when it is set (`.ci/run` sets it; each platform
 * opens its own Redis bus under a prefix unique to the run, whose keys are deleted at the end).
 *
 * Random seeded LIMIT orders (crossing, resting, cancels) go in through gateway A; a client on
 * gateway B follows `<s>@depth@100ms`, `<s>@trade`, `<s>@kline_1m` and `<s>@depth5` on two symbols
 * (and `ethbtc@bookTicker`, a stream that never changes during the run) and rebuilds each book
 * with Binance's documented algorithm from the REST snapshot. At the end of each run its book
 * equals the engine's L2 computed from every user's open orders, level for level; the trades it
 * saw are the fills the orders got, by id; its klines are those recomputed from the trades, and
 * REST's. Then gateway B is restarted mid-run: the client resumes its session on the new gateway
 * and ends equal again. On Redis, the bus connections of the run are killed mid-run: matching goes
 * on, the buses come back, the client gets the state again and ends equal.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { WebSocket } from 'undici';
import { type AccountsDb, openDatabase } from '../../accounts/db/database.ts';
import { createPasswordHasher, type PasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { silentLogger } from '../../accounts/logger.ts';
import type { BusStatus } from '../../gateway/market-data/bus/bus.port.ts';
import { channelForStream } from '../../gateway/market-data/bus/channels.ts';
import { InProcessBus } from '../../gateway/market-data/bus/in-process.adapter.ts';
import { RedisBus } from '../../gateway/market-data/bus/redis.adapter.ts';
import { loadConfig } from '../../platform/config.ts';
import { type Platform, type PlatformOverrides, startPlatform } from '../../platform/platform.ts';
import { gatewayRoutes } from '../../platform/routes.ts';
import { rng } from '../engine/helpers.ts';

/** Any JSON a test reads. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes.
type Json = any;

// --- exact decimals --------------------------------------------------------------------------------

const SCALE = 100_000_000n;

/** A decimal string as an integer of 1e-8 units, exactly. */
function units(s: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,8}))?$/.exec(s);
  assert.ok(m, `not a decimal: ${s}`);
  return BigInt(m[1]!) * SCALE + BigInt((m[2] ?? '').padEnd(8, '0'));
}

/** 1e-8 units as an 8-decimal string. */
function dec(u: bigint): string {
  return `${u / SCALE}.${(u % SCALE).toString().padStart(8, '0')}`;
}

/** 1e-8 units as a decimal string without trailing zeros (what a client sends). */
function plain(u: bigint): string {
  return dec(u).replace(/\.?0+$/, '');
}

const SEED = Number(process.env.FANOUT_SEED ?? 20_240_611);

/** Resolves once `cond()` holds; fails naming `what` if it never does (a hang guard, not a timing check). */
async function eventually(
  cond: () => boolean | Promise<boolean>,
  what: () => string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// --- the WebSocket client -------------------------------------------------------------------------

type OnData = (stream: string, data: Json, text: string) => void;

/** A combined-stream client (undici): payloads to `onData` as they come, request replies by id. */
class StreamClient {
  closed: { code: number; reason: string } | undefined;
  private readonly replies = new Map<number, Json>();
  private wakers: (() => void)[] = [];
  private nextId = 1;

  private constructor(
    private readonly ws: WebSocket,
    onData: OnData,
  ) {
    ws.addEventListener('message', (ev) => {
      const text =
        typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString('utf8');
      const m = JSON.parse(text) as Json;
      if (typeof m.stream === 'string') onData(m.stream, m.data, text);
      else if (typeof m.id === 'number') this.replies.set(m.id, m);
      this.wake();
    });
    ws.addEventListener('close', (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      this.wake();
    });
  }

  static connect(url: string, onData: OnData): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new StreamClient(ws, onData);
      ws.addEventListener('open', () => resolve(client), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  /** Waits for the next message or the close. */
  waitAny(): Promise<void> {
    return new Promise((r) => this.wakers.push(r));
  }

  /** Sends a request and returns its `result` (an error reply fails the test). */
  async request(method: string, params?: unknown[]): Promise<Json> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify(params === undefined ? { method, id } : { method, params, id }));
    while (!this.replies.has(id)) {
      if (this.closed !== undefined) assert.fail(`socket closed (${this.closed.code}) before reply ${id}`);
      await this.waitAny();
    }
    const reply = this.replies.get(id);
    assert.equal(reply.error, undefined, `${method}: ${JSON.stringify(reply)}`);
    return reply.result;
  }

  async closedBy(): Promise<{ code: number; reason: string }> {
    while (this.closed === undefined) await this.waitAny();
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}

// --- the local book (Binance's algorithm) --------------------------------------------------------

interface Snapshot {
  readonly lastUpdateId: number;
  readonly bids: [string, string][];
  readonly asks: [string, string][];
}

interface Diff {
  readonly U: number;
  readonly u: number;
  readonly b: [string, string][];
  readonly a: [string, string][];
}

/** Levels best first, as [price, quantity] 8-decimal strings. */
interface Levels {
  readonly bids: [string, string][];
  readonly asks: [string, string][];
}

function sortedLevels(bids: Map<bigint, bigint>, asks: Map<bigint, bigint>): Levels {
  const out = (m: Map<bigint, bigint>, desc: boolean) =>
    [...m]
      .filter(([, q]) => q > 0n)
      .sort((x, y) => (x[0] === y[0] ? 0 : x[0] < y[0] !== desc ? -1 : 1))
      .map(([p, q]) => [dec(p), dec(q)] as [string, string]);
  return { bids: out(bids, true), asks: out(asks, false) };
}

/**
 * A client's local order book, exactly as Binance documents it: buffer the diffs, take the REST
 * snapshot, drop diffs with `u <= lastUpdateId`; the first one applied must have
 * `U <= lastUpdateId + 1 <= u`, every later one `U == previous u + 1`; otherwise fetch the
 * snapshot again (a snapshot older than the first buffered diff is fetched again too).
 */
class LocalBook {
  readonly bids = new Map<bigint, bigint>();
  readonly asks = new Map<bigint, bigint>();
  /** The update id the book is at (the snapshot's, then each applied diff's `u`). */
  last = -1;
  synced = false;
  /** Snapshots fetched. */
  snapshots = 0;
  /** Snapshots fetched again because the one before was older than the diffs held. */
  staleSnapshots = 0;
  /** Diffs that did not follow the one applied before them (messages lost upstream): refetched. */
  gaps = 0;
  /** Diffs applied. */
  applied = 0;
  private buffer: Diff[] = [];
  private first = true;
  private fetching: Promise<void> | undefined;

  constructor(
    readonly symbol: string,
    private readonly fetchSnapshot: () => Promise<Snapshot>,
  ) {}

  onDiff(d: Diff): void {
    if (!this.synced) this.buffer.push(d);
    else this.apply(d);
  }

  /** Fetches the snapshot and joins (again); resolves once joined. */
  sync(): Promise<void> {
    this.fetching ??= this.join().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /** True once nothing is being fetched and the book is joined. */
  get idle(): boolean {
    return this.synced && this.fetching === undefined;
  }

  private async join(): Promise<void> {
    for (;;) {
      const snap = await this.fetchSnapshot();
      this.snapshots++;
      this.buffer = this.buffer.filter((d) => d.u > snap.lastUpdateId);
      const head = this.buffer[0];
      if (head !== undefined && head.U > snap.lastUpdateId + 1) {
        this.staleSnapshots++;
        continue;
      }
      this.bids.clear();
      this.asks.clear();
      for (const [p, q] of snap.bids) this.bids.set(units(p), units(q));
      for (const [p, q] of snap.asks) this.asks.set(units(p), units(q));
      this.last = snap.lastUpdateId;
      this.first = true;
      this.synced = true;
      const held = this.buffer;
      this.buffer = [];
      for (let i = 0; i < held.length; i++) {
        if (!this.synced) {
          this.buffer.push(...held.slice(i));
          break;
        }
        this.apply(held[i]!);
      }
      if (this.synced) return;
    }
  }

  private apply(d: Diff): void {
    if (d.u <= this.last) return;
    const follows = this.first ? d.U <= this.last + 1 : d.U === this.last + 1;
    if (!follows) {
      if (this.first) this.staleSnapshots++;
      else this.gaps++;
      // Start over: hold this diff and what follows, fetch the snapshot again.
      this.synced = false;
      this.buffer = [d];
      void this.sync();
      return;
    }
    this.first = false;
    for (const [p, q] of d.b) set(this.bids, units(p), units(q));
    for (const [p, q] of d.a) set(this.asks, units(p), units(q));
    this.last = d.u;
    this.applied++;
  }

  levels(): Levels {
    return sortedLevels(this.bids, this.asks);
  }
}

function set(side: Map<bigint, bigint>, price: bigint, qty: bigint): void {
  if (qty === 0n) side.delete(price);
  else side.set(price, qty);
}

// --- what one connection saw ----------------------------------------------------------------------

interface Trade {
  readonly id: number;
  readonly price: bigint;
  readonly qty: bigint;
}

interface SeenTrade extends Trade {
  /** Trade time (ms). */
  readonly time: number;
}

/** A kline's compared fields, as 8-decimal strings and the count. */
interface Kline {
  readonly o: string;
  readonly h: string;
  readonly l: string;
  readonly c: string;
  readonly v: string;
  readonly n: number;
  readonly q: string;
}

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'] as const;
type Sym = (typeof SYMBOLS)[number];

/** The streams the client follows. */
const STREAMS = [
  ...SYMBOLS.flatMap((s) => {
    const l = s.toLowerCase();
    return [`${l}@depth@100ms`, `${l}@trade`, `${l}@kline_1m`, `${l}@depth5`];
  }),
  'ethbtc@bookTicker',
];

/** Everything one market data connection received, the local books it keeps included. */
class Feed {
  readonly books = new Map<string, LocalBook>();
  readonly trades = new Map<string, SeenTrade[]>();
  /** Per symbol, the last `@kline_1m` payload's `k` per open time. */
  readonly klines = new Map<string, Map<number, Json>>();
  /** Per symbol, every `@kline_1m` payload's `k` in order. */
  readonly klineLog = new Map<string, Json[]>();
  readonly depth5 = new Map<string, Json[]>();
  /** `ethbtc@bookTicker` frames as received. */
  readonly bookTickers: string[] = [];
  shutdown: Json | undefined;
  /** Per symbol, the `u` of the last diff received. */
  readonly lastDiffU = new Map<string, number>();

  constructor(fetchSnapshot: (symbol: string) => Promise<Snapshot>) {
    for (const s of SYMBOLS) {
      this.books.set(s, new LocalBook(s, () => fetchSnapshot(s)));
      this.trades.set(s, []);
      this.klines.set(s, new Map());
      this.klineLog.set(s, []);
      this.depth5.set(s, []);
    }
  }

  readonly onData: OnData = (stream, data, text) => {
    if (stream === '!serverShutdown') {
      this.shutdown = data;
      return;
    }
    const at = stream.indexOf('@');
    const symbol = stream.slice(0, at).toUpperCase();
    const kind = stream.slice(at + 1);
    switch (kind) {
      case 'depth@100ms':
        this.lastDiffU.set(symbol, data.u);
        this.books.get(symbol)!.onDiff(data as Diff);
        return;
      case 'trade':
        this.trades.get(symbol)!.push({ id: data.t, price: units(data.p), qty: units(data.q), time: data.T });
        return;
      case 'kline_1m':
        this.klines.get(symbol)!.set(data.k.t, data.k);
        this.klineLog.get(symbol)!.push(data.k);
        return;
      case 'depth5':
        this.depth5.get(symbol)!.push(data);
        return;
      case 'bookTicker':
        this.bookTickers.push(text);
        return;
      default:
        assert.fail(`unexpected stream ${stream}`);
    }
  };
}

function klineOf(k: Json): Kline {
  return {
    o: dec(units(k.o)),
    h: dec(units(k.h)),
    l: dec(units(k.l)),
    c: dec(units(k.c)),
    v: dec(units(k.v)),
    n: k.n,
    q: dec(units(k.q)),
  };
}

/** 1m klines recomputed from trades in id order: every minute from the first trade's to the last's. */
function klinesFrom(trades: readonly SeenTrade[]): Map<number, Kline> {
  const out = new Map<number, Kline>();
  if (trades.length === 0) return out;
  const minute = (t: SeenTrade) => Math.floor(t.time / 60_000) * 60_000;
  const firstMinute = minute(trades[0]!);
  const lastMinute = minute(trades[trades.length - 1]!);
  let i = 0;
  let close = 0n;
  for (let t = firstMinute; t <= lastMinute; t += 60_000) {
    let o = close;
    let h = close;
    let l = close;
    let v = 0n;
    let q = 0n;
    let n = 0;
    for (; i < trades.length && minute(trades[i]!) === t; i++) {
      const tr = trades[i]!;
      if (n === 0) {
        o = tr.price;
        h = tr.price;
        l = tr.price;
      }
      if (tr.price > h) h = tr.price;
      if (tr.price < l) l = tr.price;
      close = tr.price;
      v += tr.qty;
      q += (tr.price * tr.qty) / SCALE;
      n++;
    }
    out.set(t, { o: dec(o), h: dec(h), l: dec(l), c: dec(close), v: dec(v), n, q: dec(q) });
  }
  return out;
}

// --- the rig --------------------------------------------------------------------------------------

/** Prices and quantities the random orders use. */
const SPECS: Record<Sym, { mid: bigint; tick: bigint; lot: bigint; minLots: number; maxLots: number }> = {
  BTCUSDT: { mid: units('50000'), tick: units('0.5'), lot: units('0.00001'), minLots: 100, maxLots: 5000 },
  ETHUSDT: { mid: units('3000'), tick: units('0.25'), lot: units('0.0001'), minLots: 100, maxLots: 10_000 },
};

interface User {
  readonly userId: number;
  readonly apiKey: string;
  readonly secretKey: string;
}

interface HttpReply {
  readonly status: number;
  readonly body: Json;
}

/** What a run of orders did. */
interface RunStats {
  placed: number;
  filledTakers: number;
  cancels: number;
  cancelsMissed: number;
}

/** One core and gateways A and B on one bus, sharing one accounts database. */
class Rig {
  core!: Platform;
  gatewayA!: Platform;
  gatewayB!: Platform;
  readonly users: User[] = [];
  /** Every trade made, per symbol, by id (the fills of the taker orders). */
  readonly made = new Map<string, Map<number, Trade>>(SYMBOLS.map((s) => [s, new Map()]));
  /** Orders that may still rest: orderId -> [symbol, user]. */
  private readonly open = new Map<number, [Sym, User]>();
  private readonly dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-fanout-'));
  private readonly hasher: PasswordHasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
  private db!: AccountsDb;
  private readonly bus: InProcessBus | undefined;
  private readonly env: Record<string, string>;
  /** On Redis: gateway B reaches Redis through this proxy, which can keep it away. */
  readonly proxy: TcpProxy | undefined;

  constructor(readonly redis: { url: string; prefix: string } | undefined) {
    this.bus = redis === undefined ? new InProcessBus() : undefined;
    this.proxy = redis === undefined ? undefined : new TcpProxy(new URL(redis.url));
    this.env = {
      CROSSBOOK_DATA_DIR: this.dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      CROSSBOOK_LINK_PORT: '0',
      CROSSBOOK_HEALTH_PORT: '0',
      CROSSBOOK_FSYNC: 'false',
      CROSSBOOK_ADMIN_TOKEN: 'fanout-admin-token-0123456789',
      ...(redis === undefined ? {} : { REDIS_URL: redis.url, CROSSBOOK_BUS_PREFIX: redis.prefix }),
    };
  }

  private overrides(): PlatformOverrides {
    return {
      db: this.db,
      hasher: this.hasher,
      logger: silentLogger,
      routes: gatewayRoutes,
      ...(this.bus === undefined ? {} : { bus: this.bus }),
    };
  }

  async start(): Promise<void> {
    await this.proxy?.start();
    this.db = await openDatabase({});
    this.core = await startPlatform(loadConfig(this.env, ['--roles', 'core,persister']), this.overrides());
    this.gatewayA = await this.startGateway(false);
    this.gatewayB = await this.startGateway(true);
  }

  /** A gateway (`b`: gateway B, through the proxy on Redis). */
  startGateway(b: boolean): Promise<Platform> {
    const address = `127.0.0.1:${this.core.link!.port}`;
    const env: Record<string, string> = { ...this.env, CROSSBOOK_CORE_ADDRESSES: address };
    if (b && this.proxy !== undefined) env.REDIS_URL = this.proxy.url;
    return startPlatform(loadConfig(env, ['--roles', 'gateway']), this.overrides());
  }

  async close(): Promise<void> {
    for (const p of [this.gatewayA, this.gatewayB, this.core]) await p?.close();
    await this.proxy?.close();
    await this.bus?.close();
    await this.db?.close();
    await this.hasher.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async createUsers(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`http://127.0.0.1:${this.core.gateway!.port}/admin/v1/users`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.env.CROSSBOOK_ADMIN_TOKEN}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          email: `fanout-${i}@example.com`,
          deposits: [
            { asset: 'BTC', amount: '20' },
            { asset: 'ETH', amount: '300' },
            { asset: 'USDT', amount: '2000000' },
          ],
          kycTier: 1,
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      this.users.push((await res.json()) as User);
    }
  }

  async get(gw: Platform, route: string): Promise<Json> {
    const res = await fetch(`http://127.0.0.1:${gw.gateway!.port}${route}`);
    const body = await res.json();
    assert.equal(res.status, 200, `${route}: ${JSON.stringify(body)}`);
    return body;
  }

  async signed(
    gw: Platform,
    who: User,
    method: string,
    route: string,
    params: Record<string, string>,
  ): Promise<HttpReply> {
    const query = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
    const signature = createHmac('sha256', who.secretKey).update(query).digest('hex');
    const res = await fetch(`http://127.0.0.1:${gw.gateway!.port}${route}?${query}&signature=${signature}`, {
      method,
      headers: { 'X-MBX-APIKEY': who.apiKey },
    });
    return { status: res.status, body: await res.json() };
  }

  /** Gateway B's REST snapshot of `symbol` (the one the client joins with). */
  snapshot(symbol: string, limit = 5000): Promise<Snapshot> {
    return this.get(this.gatewayB, `/api/v3/depth?symbol=${symbol}&limit=${limit}`);
  }

  /**
   * Places `count` random orders through gateway A, `concurrency` at a time: GTC LIMIT orders
   * around each symbol's mid (buys and sells overlap near it, so some cross and some rest), and
   * about one in six a cancel of an order that may still rest. Every new order must be accepted;
   * every fill is recorded. `progress` is called after each.
   */
  async runOrders(
    seed: number,
    count: number,
    progress: (done: number) => void = () => {},
    concurrency = 4,
  ): Promise<RunStats> {
    const random = rng(seed);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const stats: RunStats = { placed: 0, filledTakers: 0, cancels: 0, cancelsMissed: 0 };
    let next = 0;
    let done = 0;
    const one = async (): Promise<void> => {
      const symbol = SYMBOLS[int(0, SYMBOLS.length - 1)]!;
      const openHere = [...this.open].filter(([, [s]]) => s === symbol);
      if (openHere.length > 0 && random() < 1 / 6) {
        const [orderId, [, user]] = openHere[int(0, openHere.length - 1)]!;
        this.open.delete(orderId);
        const r = await this.signed(this.gatewayA, user, 'DELETE', '/api/v3/order', {
          symbol,
          orderId: String(orderId),
        });
        stats.cancels++;
        // Filled (or expired by self-trade prevention) meanwhile: Binance's -2011.
        if (r.status === 400 && r.body.code === -2011) stats.cancelsMissed++;
        else assert.equal(r.status, 200, `cancel: ${JSON.stringify(r.body)}`);
        return;
      }
      const spec = SPECS[symbol];
      const user = this.users[int(0, this.users.length - 1)]!;
      const buy = random() < 0.5;
      const ticks = buy ? int(-12, 4) : int(-4, 12);
      const price = spec.mid + BigInt(ticks) * spec.tick;
      const qty = BigInt(int(spec.minLots, spec.maxLots)) * spec.lot;
      const r = await this.signed(this.gatewayA, user, 'POST', '/api/v3/order', {
        symbol,
        side: buy ? 'BUY' : 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: plain(qty),
        price: plain(price),
        newOrderRespType: 'FULL',
      });
      assert.equal(r.status, 200, `new order: ${JSON.stringify(r.body)}`);
      stats.placed++;
      const fills = r.body.fills as { price: string; qty: string; tradeId: number }[];
      if (fills.length > 0) stats.filledTakers++;
      const made = this.made.get(symbol)!;
      for (const f of fills) {
        assert.ok(!made.has(f.tradeId), `trade ${f.tradeId} reported twice`);
        made.set(f.tradeId, { id: f.tradeId, price: units(f.price), qty: units(f.qty) });
      }
      if (r.body.status === 'NEW' || r.body.status === 'PARTIALLY_FILLED')
        this.open.set(r.body.orderId as number, [symbol, user]);
    };
    const worker = async () => {
      while (next < count) {
        next++;
        await one();
        progress(++done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return stats;
  }

  /**
   * The engine's L2 of `symbol`, computed from every user's open orders (gateway A's
   * `openOrders`): price -> the sum of origQty - executedQty. Read until two reads agree (the
   * gateway's order view follows the core's event stream).
   */
  async engineL2(symbol: Sym): Promise<Levels> {
    const read = async (): Promise<Levels> => {
      const bids = new Map<bigint, bigint>();
      const asks = new Map<bigint, bigint>();
      for (const u of this.users) {
        const r = await this.signed(this.gatewayA, u, 'GET', '/api/v3/openOrders', { symbol });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        for (const o of r.body as Json[]) {
          const side = o.side === 'BUY' ? bids : asks;
          const p = units(o.price);
          side.set(p, (side.get(p) ?? 0n) + units(o.origQty) - units(o.executedQty));
        }
      }
      return sortedLevels(bids, asks);
    };
    let before = await read();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = await read();
      if (JSON.stringify(now) === JSON.stringify(before)) return now;
      before = now;
    }
    assert.fail(`the open orders of ${symbol} never settled`);
  }

  /** The trades made on `symbol`, in id order. */
  madeTrades(symbol: string): Trade[] {
    return [...this.made.get(symbol)!.values()].sort((x, y) => x.id - y.id);
  }
}

// --- checks ---------------------------------------------------------------------------------------

/** Waits until every local book of `feed` is joined and at gateway B's latest update id. */
async function waitQuiet(rig: Rig, feed: Feed): Promise<void> {
  for (const s of SYMBOLS) {
    const book = feed.books.get(s)!;
    let rest = -1;
    await eventually(
      async () => {
        rest = (await rig.snapshot(s, 5)).lastUpdateId;
        return book.idle && book.last === rest && (feed.lastDiffU.get(s) ?? rest) === rest;
      },
      () => `${s}: the client's book at ${book.last} (synced ${book.synced}), REST at ${rest}`,
    );
  }
}

/** The client's books equal the engine's L2 (and gateway B's REST snapshot), level for level. */
async function assertBooksEqualEngine(rig: Rig, feed: Feed): Promise<void> {
  for (const s of SYMBOLS) {
    const book = feed.books.get(s)!;
    const engine = await rig.engineL2(s);
    assert.ok(engine.bids.length > 0 && engine.asks.length > 0, `${s}: the run left both sides resting`);
    assert.deepEqual(book.levels(), engine, `${s}: the client's book is not the engine's`);
    const snap = await rig.snapshot(s);
    assert.deepEqual(
      sortedLevels(
        new Map(snap.bids.map(([p, q]) => [units(p), units(q)])),
        new Map(snap.asks.map(([p, q]) => [units(p), units(q)])),
      ),
      engine,
      `${s}: the REST snapshot is not the engine's book`,
    );
  }
}

/** Each trade seen is the trade made with its id (price and quantity). */
function assertTradesMade(rig: Rig, symbol: string, seen: readonly SeenTrade[]): void {
  const made = rig.made.get(symbol)!;
  for (const t of seen) {
    const m = made.get(t.id);
    assert.ok(m !== undefined, `${symbol}: trade ${t.id} was seen but not made`);
    assert.deepEqual({ id: t.id, price: t.price, qty: t.qty }, m, `${symbol}: trade ${t.id}`);
  }
}

/** Ids consecutive from `from`, in arrival order. */
function assertConsecutive(symbol: string, seen: readonly SeenTrade[], from: number): void {
  assert.deepEqual(
    seen.map((t) => t.id),
    Array.from({ length: seen.length }, (_, i) => from + i),
    `${symbol}: trades not consecutive`,
  );
}

/** Waits until the feed has seen the last trade made on every symbol. */
async function waitLastTrade(rig: Rig, feed: Feed): Promise<void> {
  for (const s of SYMBOLS) {
    const last = rig.madeTrades(s).at(-1)?.id ?? 0;
    await eventually(
      () => (feed.trades.get(s)!.at(-1)?.id ?? 0) >= last,
      () => `${s}: trade ${last} on the stream`,
    );
  }
}

// --- Redis helpers --------------------------------------------------------------------------------

/** A TCP proxy to Redis that can refuse connections (a network that keeps one gateway away). */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private port = 0;

  constructor(private readonly target: URL) {}

  /** The Redis URL through the proxy. */
  get url(): string {
    const u = new URL(this.target.href);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.href;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(this.target.port || 6379), this.target.hostname);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
      }
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
  }

  /** While true, new connections are closed at once (open ones are left alone). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Kills every Redis connection whose name starts with `namePrefix-`, as a failing network would. */
async function killConnections(url: string, namePrefix: string): Promise<number> {
  const admin = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  try {
    const list = String(await admin.call('CLIENT', 'LIST'));
    const victims = list
      .split('\n')
      .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] ?? '' }))
      .filter((v) => v.id !== undefined && v.name.startsWith(`${namePrefix}-`));
    for (const v of victims) await admin.call('CLIENT', 'KILL', 'ID', v.id!);
    return victims.length;
  } finally {
    admin.disconnect();
  }
}

/** Deletes the run's keys. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

// --- the suites -----------------------------------------------------------------------------------

interface BusCase {
  readonly name: string;
  readonly redis: { url: string; prefix: string } | undefined;
}

const cases: BusCase[] = [{ name: 'in process (one shared bus)', redis: undefined }];
const REDIS_URL = process.env.REDIS_URL;
if (REDIS_URL)
  cases.push({
    name: 'Redis (each platform its own bus)',
    redis: { url: REDIS_URL, prefix: `t${process.pid}${Date.now()}:` },
  });

for (const c of cases) {
  describe(`market data fan-out end to end, ${c.name}: one core, gateways A and B`, function () {
    this.timeout(60_000);
    const rig = new Rig(c.redis);
    let feed: Feed;
    let client: StreamClient;
    let sessionId = '';
    let subscriptions: string[] = [];

    before(async () => {
      await rig.start();
      await rig.createUsers(10);
      // One resting ETHBTC order: `ethbtc@bookTicker` has a cached payload that never changes.
      const r = await rig.signed(rig.gatewayA, rig.users[0]!, 'POST', '/api/v3/order', {
        symbol: 'ETHBTC',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '1',
        price: '0.05',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    after(async () => {
      client?.close();
      await rig.close();
      if (c.redis !== undefined) await deleteKeys(c.redis.url, c.redis.prefix);
    });

    it('a client on gateway B rebuilds the books, the trades and the klines of orders placed through gateway A', async () => {
      feed = new Feed((s) => rig.snapshot(s));
      client = await StreamClient.connect(
        `ws://127.0.0.1:${rig.gatewayB.gateway!.port}/stream?streams=${STREAMS.join('/')}`,
        feed.onData,
      );
      sessionId = await client.request('GET_PROPERTY', ['session']);
      subscriptions = await client.request('LIST_SUBSCRIPTIONS');
      assert.deepEqual(subscriptions, STREAMS);
      await eventually(
        () => feed.bookTickers.length === 1,
        () => 'ethbtc@bookTicker from the cache',
      );
      // The snapshot is taken mid-run, with diffs buffered before and after it.
      let joined: Promise<unknown> | undefined;
      const stats = await rig.runOrders(SEED, 240, (done) => {
        if (done !== 60) return;
        joined = Promise.all(SYMBOLS.map((s) => feed.books.get(s)!.sync()));
        joined.catch(() => {});
      });
      await joined;
      assert.ok(stats.filledTakers > 20 && stats.cancels > 10, JSON.stringify(stats));
      await waitQuiet(rig, feed);
      await assertBooksEqualEngine(rig, feed);
      for (const s of SYMBOLS) {
        const book = feed.books.get(s)!;
        assert.equal(book.gaps, 0, `${s}: the diffs never broke`);
        assert.ok(book.applied > 0, `${s}: diffs applied after the snapshot`);
      }

      await waitLastTrade(rig, feed);
      for (const s of SYMBOLS) {
        const seen = feed.trades.get(s)!;
        const made = rig.madeTrades(s);
        assert.ok(made.length > 10, `${s}: trades were made`);
        // Exactly the trades made, in id order, from the first, without a gap.
        assertConsecutive(s, seen, 1);
        assert.deepEqual(
          seen.map(({ id, price, qty }) => ({ id, price, qty })),
          made,
          `${s}: trades seen are the trades made`,
        );
        // 1m klines recomputed from those trades: the last payload per open time, and REST.
        const expected = klinesFrom(seen);
        const last = [...expected.keys()].at(-1)!;
        await eventually(
          () => feed.klines.get(s)!.get(last)?.n === expected.get(last)!.n,
          () => `${s}: the kline of ${last} with every trade`,
        );
        for (const [t, k] of expected) {
          const got = feed.klines.get(s)!.get(t);
          assert.ok(got !== undefined, `${s}: no @kline_1m for ${t}`);
          assert.deepEqual(klineOf(got), k, `${s}: @kline_1m of ${t}`);
        }
        const first = [...expected.keys()][0]!;
        const rows = (await rig.get(
          rig.gatewayB,
          `/api/v3/klines?symbol=${s}&interval=1m&startTime=${first}&endTime=${last}`,
        )) as Json[];
        assert.deepEqual(
          new Map(
            rows.map((r) => [
              r[0] as number,
              klineOf({ o: r[1], h: r[2], l: r[3], c: r[4], v: r[5], q: r[7], n: r[8] }),
            ]),
          ),
          expected,
          `${s}: REST klines`,
        );
      }
      // The idle symbol's book ticker came once, from the cache.
      assert.equal(feed.bookTickers.length, 1);
    });

    it('a gateway restarted mid-stream: the client resumes its session on the new one, from the cache, and ends equal', async () => {
      const old = feed;
      const oldClient = client;
      let restarted: Promise<void> | undefined;
      const tradesBefore = new Map(SYMBOLS.map((s) => [s, rig.madeTrades(s).length]));
      const stats = await rig.runOrders(SEED + 1, 240, (done) => {
        if (done !== 100) return;
        restarted = (async () => {
          await rig.gatewayB.close();
          // Binance's shutdown notice, then the end; the session stays.
          assert.equal((await oldClient.closedBy()).code, 1001);
          assert.equal(old.shutdown?.e, 'serverShutdown');
          rig.gatewayB = await rig.startGateway(true);
          feed = new Feed((s) => rig.snapshot(s));
          // No streams in the URL: they all come back with the session.
          client = await StreamClient.connect(
            `ws://127.0.0.1:${rig.gatewayB.gateway!.port}/stream?session=${sessionId}`,
            feed.onData,
          );
          assert.equal(await client.request('GET_PROPERTY', ['session']), sessionId);
          assert.deepEqual(await client.request('LIST_SUBSCRIPTIONS'), subscriptions);
          // The latest payloads come from the cache at once: the idle symbol's book ticker is the
          // very payload seen before the restart (nothing published it since).
          await eventually(
            () => feed.bookTickers.length > 0,
            () => 'ethbtc@bookTicker after the restart',
          );
          assert.equal(feed.bookTickers[0], old.bookTickers.at(-1));
          for (const s of SYMBOLS) {
            await eventually(
              () => feed.depth5.get(s)!.length > 0 && feed.klineLog.get(s)!.length > 0,
              () => `${s}: @depth5 and @kline_1m after the restart`,
            );
            // Never older than what the client had (on a fast machine the restart may come
            // before the old client's first @depth5 of a symbol: nothing to compare then).
            const d5 = feed.depth5.get(s)![0]!;
            const hadD5 = old.depth5.get(s)!.at(-1);
            if (hadD5 !== undefined)
              assert.ok(d5.lastUpdateId >= hadD5.lastUpdateId, `${s}: @depth5 is current`);
            const k = feed.klineLog.get(s)![0]!;
            const had = old.klineLog.get(s)!.at(-1);
            if (had !== undefined)
              assert.ok(k.t > had.t || (k.t === had.t && k.n >= had.n), `${s}: @kline_1m is current`);
          }
          await Promise.all(SYMBOLS.map((s) => feed.books.get(s)!.sync()));
        })();
        restarted.catch(() => {});
      });
      await restarted;
      // More orders once the new gateway's client has synchronised: on a fast machine the first
      // run may end before the restart is over, and the diffs after it must be seen to apply.
      // In rounds a diff interval apart (@depth@100ms), until every symbol has had a few: a fast
      // machine places 80 orders within one or two intervals.
      let filledAfter = 0;
      for (let round = 0; round < 40; round++) {
        if (round >= 4 && SYMBOLS.every((s) => feed.books.get(s)!.applied > 5)) break;
        filledAfter += (await rig.runOrders(SEED + 7 + round, 20, () => {})).filledTakers;
        await new Promise((r) => setTimeout(r, 150));
      }
      assert.ok(stats.filledTakers + filledAfter > 20, JSON.stringify([stats, filledAfter]));
      await waitQuiet(rig, feed);
      await assertBooksEqualEngine(rig, feed);
      await waitLastTrade(rig, feed);
      for (const s of SYMBOLS) {
        const book = feed.books.get(s)!;
        assert.equal(book.gaps, 0, `${s}: the new gateway's diffs never broke`);
        assert.ok(book.applied > 5, `${s}: diffs applied after the restart`);
        // The trades after the reconnect: consecutive, each the trade made, up to the last one.
        const seen = feed.trades.get(s)!;
        assert.ok(seen.length > 0 && seen[0]!.id > tradesBefore.get(s)!, `${s}: trades after the restart`);
        assertConsecutive(s, seen, seen[0]!.id);
        assertTradesMade(rig, s, seen);
        assert.equal(seen.at(-1)!.id, rig.madeTrades(s).at(-1)!.id);
      }
    });

    if (c.redis !== undefined) {
      const redis = c.redis;
      it('Redis going away and coming back: matching goes on, the buses come back, the client gets the state again and ends equal', async () => {
        const proxy = rig.proxy!;
        const platforms = [rig.core, rig.gatewayA, rig.gatewayB];
        const seen: BusStatus[][] = platforms.map(() => []);
        const offs = platforms.map((p, i) => p.bus.onStatus((s) => seen[i]!.push(s)));
        const tickersBefore = feed.bookTickers.length;
        const tradesBefore = new Map(SYMBOLS.map((s) => [s, feed.trades.get(s)!.length]));
        // A witness on its own connection (not this run's name, so never killed): it sees the diffs
        // the core publishes while gateway B is away.
        const witness = new RedisBus({
          url: redis.url,
          prefix: redis.prefix,
          connectionName: 'fanout-witness',
        });
        const witnessed = new Map<string, number>(SYMBOLS.map((s) => [s, 0]));
        let counting = false;
        for (const s of SYMBOLS) {
          const sub = witness.subscribe(channelForStream(`${s.toLowerCase()}@depth@100ms`), () => {
            if (counting) witnessed.set(s, witnessed.get(s)! + 1);
          });
          await sub.ready;
        }
        let outage: Promise<number> | undefined;
        try {
          const stats = await rig.runOrders(SEED + 2, 240, (done) => {
            if (done !== 60) return;
            outage = (async () => {
              // Every bus connection of the run killed; gateway B's Redis stays away until the core
              // is back and has published diffs of both symbols that B cannot have received.
              proxy.refuse(true);
              const n = await killConnections(redis.url, redis.prefix.replace(/[^A-Za-z0-9_.-]/g, ''));
              await eventually(
                () => rig.core.bus.status === 'up' && seen[0]!.includes('down'),
                () => 'the core bus back up',
              );
              counting = true;
              await eventually(
                () => SYMBOLS.every((s) => witnessed.get(s)! > 0),
                () => 'diffs published while gateway B is away',
              );
              proxy.refuse(false);
              return n;
            })();
            outage.catch(() => {});
          });
          // Every order was accepted and matched while the bus was away (runOrders checks each 200).
          assert.ok(stats.filledTakers > 20, JSON.stringify(stats));
          // Two connections (publisher, subscriber) per platform.
          assert.equal(await outage, 6);
          for (const [i, p] of platforms.entries()) {
            await eventually(
              () => p.bus.status === 'up' && seen[i]!.includes('down'),
              () => `bus ${i} back up (statuses ${seen[i]!.join(',')})`,
            );
            assert.equal(seen[i]![0], 'down');
            assert.equal(seen[i]!.at(-1), 'up');
          }
        } finally {
          for (const off of offs) off();
          await witness.close();
        }
        // More orders now that every bus is back (on a fast machine the run may have ended while
        // gateway B was away): every symbol trades again, so that its last trade is one B relays.
        const madeAtBack = new Map(SYMBOLS.map((s) => [s, rig.madeTrades(s).length]));
        for (let round = 0; round < 40; round++) {
          if (round >= 2 && SYMBOLS.every((s) => rig.madeTrades(s).length > madeAtBack.get(s)!)) break;
          await rig.runOrders(SEED + 20 + round, 20, () => {});
          await new Promise((r) => setTimeout(r, 150));
        }
        // The gateway resent the state once its bus was back: the idle symbol's book ticker again,
        // byte for byte (nothing changed it).
        await eventually(
          () => feed.bookTickers.length > tickersBefore,
          () => 'ethbtc@bookTicker resent after the reconnect',
        );
        assert.equal(feed.bookTickers.at(-1), feed.bookTickers[tickersBefore - 1]);
        await waitQuiet(rig, feed);
        await assertBooksEqualEngine(rig, feed);
        await waitLastTrade(rig, feed);
        for (const s of SYMBOLS) {
          // The diffs missed while away show as a jump (U beyond the last u + 1): the client
          // fetched the snapshot again, and its book is right (above).
          const book = feed.books.get(s)!;
          assert.ok(book.gaps >= 1, `${s}: the client's diffs showed the gap`);
          assert.ok(book.snapshots >= 2, `${s}: the client fetched the snapshot again`);
          // Trades lost with a connection are not replayed (pub/sub), but those seen are the trades
          // made, in order, ending with the last one.
          const after = feed.trades.get(s)!.slice(tradesBefore.get(s)!);
          assertTradesMade(rig, s, after);
          for (let i = 1; i < after.length; i++) assert.ok(after[i]!.id > after[i - 1]!.id);
          assert.equal(after.at(-1)!.id, rig.madeTrades(s).at(-1)!.id);
        }
      });
    }
  });
}
