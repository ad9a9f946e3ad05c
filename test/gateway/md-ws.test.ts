/**
 * Specifications of the market data WebSocket streams (gateway/market-data/ws/) over real
 * sockets: uWS gateways on port 0, an in-process bus, and a real builder (`MarketData` fed by an
 * InlineEngine) publishing through `marketDataPublisher`, so every payload is the builder's own.
 * Clients: undici's WebSocket (WsClient) and, where the test needs the upgrade headers, ping
 * control or a client that stops reading, a small raw WebSocket client over a TCP socket.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { Side, symbolId, userId } from '../../engine/index.ts';
import type {
  Bus,
  BusCache,
  BusHandler,
  BusPayload,
  BusStats,
  BusStatus,
  PublishAndCacheOptions,
  Subscription,
} from '../../gateway/market-data/bus/bus.port.ts';
import { UNCHAINED } from '../../gateway/market-data/bus/bus.port.ts';
import { channelForStream } from '../../gateway/market-data/bus/channels.ts';
import { InProcessBus } from '../../gateway/market-data/bus/in-process.adapter.ts';
import { SessionStore } from '../../gateway/market-data/bus/session-store.ts';
import { marketDataPublisher } from '../../gateway/market-data/publisher.ts';
import {
  MarketStreams,
  type MarketStreamsOptions,
  registerStreamsWs,
  SESSION_HEADER,
} from '../../gateway/market-data/ws/market-streams.ts';
import { INVALID_ID, INVALID_STREAM } from '../../gateway/market-data/ws/protocol.ts';
import { StreamCatalog, SYMBOL_STREAM_SUFFIXES } from '../../gateway/market-data/ws/stream-names.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import type { Gateway } from '../../gateway/server.ts';
import { ListenKeys } from '../../gateway/user-data/listen-keys.ts';
import { UserDataHub } from '../../gateway/user-data/user-data-hub.ts';
import { startTestGateway } from './helpers.ts';
import {
  BTCUSDT,
  commandArb,
  type DepthDiff,
  Harness,
  type Snapshot,
  SyncClient,
  toCommand,
  USERS,
} from './md-helpers.ts';
import { type Json, WsClient } from './user-data-harness.test.ts';

// --- a raw WebSocket client ----------------------------------------------------------------------

/** A WebSocket client written on a TCP socket: upgrade headers, pings, pausing reads, any frame. */
class RawWs {
  readonly texts: string[] = [];
  pings = 0;
  closed: { code: number; reason: string } | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private taken = 0;

  private constructor(
    private readonly socket: Socket,
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: string,
    private readonly autoPong: boolean,
  ) {}

  /** Opens `path`; resolves with the client whatever the status (`status` 101: upgraded). */
  static open(port: number, path: string, options: { autoPong?: boolean } = {}): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          [
            `GET ${path} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
            'Sec-WebSocket-Version: 13',
            '',
            '',
          ].join('\r\n'),
        );
      });
      let head = Buffer.alloc(0);
      let client: RawWs | undefined;
      socket.on('error', (e) => {
        if (client === undefined) reject(e);
      });
      socket.on('close', () => {
        if (client === undefined) {
          reject(new Error(`connection to ${path} closed before a reply`));
          return;
        }
        client.closed ??= { code: 1006, reason: '' };
        client.wake?.();
      });
      const onHead = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const rest = head.subarray(end + 4);
        if (status !== 101) {
          const length = Number(headers['content-length'] ?? 0);
          if (rest.length < length) return;
          socket.off('data', onHead);
          socket.destroy();
          resolve(new RawWs(socket, status, headers, rest.subarray(0, length).toString('utf8'), false));
          return;
        }
        socket.off('data', onHead);
        client = new RawWs(socket, status, headers, '', options.autoPong ?? true);
        socket.on('data', (chunk: Buffer) => client!.onData(chunk));
        if (rest.length > 0) client.onData(rest);
        resolve(client);
      };
      socket.on('data', onHead);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const payload = this.buf.subarray(at, at + len);
      this.buf = this.buf.subarray(at + len);
      if (opcode === 1 || opcode === 2) this.texts.push(payload.toString('utf8'));
      else if (opcode === 8)
        this.closed = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString('utf8'),
        };
      else if (opcode === 9) {
        this.pings++;
        if (this.autoPong) this.frame(0xa, Buffer.from(payload));
      }
      this.wake?.();
    }
  }

  /** Sends one masked frame (fin set) with `opcode`. */
  frame(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const mask = randomBytes(4);
    const len = payload.length;
    const head =
      len < 126
        ? Buffer.from([0x80 | opcode, 0x80 | len])
        : len < 65536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigLength(len)]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  send(frame: unknown): void {
    this.frame(1, Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)));
  }

  /** The next text not taken yet, parsed (waits for it). */
  async next(): Promise<Json> {
    while (this.taken >= this.texts.length) {
      if (this.closed !== undefined)
        assert.fail(`socket closed (${this.closed.code}) before the message came`);
      await new Promise<void>((r) => (this.wake = r));
    }
    return JSON.parse(this.texts[this.taken++]!);
  }

  async closedBy(): Promise<{ code: number; reason: string }> {
    while (this.closed === undefined) await new Promise<void>((r) => (this.wake = r));
    return this.closed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Waits until `cond()` holds (fails after 10 s). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const give = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > give) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A reply the server sends after everything it sent before: LIST_SUBSCRIPTIONS with `id`. */
async function roundTrip(c: WsClient, id: string): Promise<Json> {
  c.send({ method: 'LIST_SUBSCRIPTIONS', id });
  return c.take((m) => m.id === id);
}

// --- a bus whose status the test moves -----------------------------------------------------------

/** The in-process bus with a status the test can take down and bring back (followers resync on up). */
class ToggleBus implements Bus {
  readonly kind = 'in-process' as const;
  readonly inner = new InProcessBus();
  readonly cache: BusCache = this.inner.cache;
  #status: BusStatus = 'up';
  readonly #listeners = new Set<(s: BusStatus) => void>();

  get status(): BusStatus {
    return this.#status;
  }

  setStatus(s: BusStatus): void {
    this.#status = s;
    for (const l of [...this.#listeners]) l(s);
  }

  publish(channel: string, payload: BusPayload, seq?: number, prevSeq?: number): void {
    this.inner.publish(channel, payload, seq, prevSeq);
  }

  publishAndCache(channel: string, payload: BusPayload, seq: number, options?: PublishAndCacheOptions): void {
    this.inner.publishAndCache(channel, payload, seq, options);
  }

  subscribe(channelOrPattern: string, handler: BusHandler): Subscription {
    return this.inner.subscribe(channelOrPattern, handler);
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  waitUntilUp(): Promise<void> {
    return Promise.resolve();
  }

  stats(): BusStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// --- the rig -------------------------------------------------------------------------------------

describe('market data WebSocket streams', () => {
  const bus = new ToggleBus();
  const publisher = marketDataPublisher(bus);
  const h: Harness = new Harness({
    onMessage: (stream, payload) => {
      h.out.emit(stream, payload);
      publisher.onMessage(stream, payload);
    },
  });
  publisher.attach(h.md);
  const sessions = new SessionStore(bus.cache);
  const opened: { gw: Gateway; ms: MarketStreams }[] = [];
  const clients: { close(): void }[] = [];

  /** A gateway on port 0 serving market data streams from the shared bus. */
  async function gateway(
    options: Partial<MarketStreamsOptions> = {},
  ): Promise<{ gw: Gateway; ms: MarketStreams; url: (path: string) => string }> {
    const gw = await startTestGateway();
    const ms = new MarketStreams({ bus, markets: h.markets, sessions, ...options });
    ms.attach(gw.app);
    opened.push({ gw, ms });
    return { gw, ms, url: (path) => `ws://127.0.0.1:${gw.port}${path}` };
  }

  async function client(url: string): Promise<WsClient> {
    const c = await WsClient.connect(url);
    clients.push(c);
    return c;
  }

  async function raw(port: number, path: string, options: { autoPong?: boolean } = {}): Promise<RawWs> {
    const c = await RawWs.open(port, path, options);
    clients.push(c);
    return c;
  }

  /** One BTCUSDT trade at `price` (a resting sell, then a buy that takes it). */
  function trade(price = '50000', qty = '0.001'): void {
    h.limit(1, BTCUSDT, Side.SELL, price, qty);
    h.limit(2, BTCUSDT, Side.BUY, price, qty);
  }

  /** What the builder emitted on `stream` since the collector was last cleared. */
  function emitted(stream: string): string[] {
    return h.out.messages.filter((m) => m.stream === stream).map((m) => m.payload);
  }

  let main: Awaited<ReturnType<typeof gateway>>;
  before(async () => {
    // Requests in quick succession are fine here; the rate limit has its own gateway below.
    main = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    for (const { gw, ms } of opened) {
      ms.close();
      await gw.close();
    }
    await bus.close();
  });

  // --- names -------------------------------------------------------------------------------------

  describe('stream names', () => {
    it('serves exactly the names the builder emits, per symbol of the markets, case-sensitive', () => {
      const catalog = new StreamCatalog(h.markets);
      assert.equal(catalog.size, h.markets.list.length * SYMBOL_STREAM_SUFFIXES.length + 1);
      // Every stream the builder emitted in a busy minute is served.
      h.out.clear();
      trade();
      h.advance(61_000);
      const seen = h.out.streams();
      assert.ok(seen.length > 10, seen.join());
      for (const s of seen) assert.equal(catalog.get(s), s, s);
      for (const s of ['btcusdt@kline_1M', 'btcusdt@kline_1m', 'btcusdt@ticker_4h', 'ethbtc@depth20@100ms'])
        assert.equal(catalog.get(s), s);
      for (const s of [
        'BTCUSDT@trade',
        'btcusdt@kline_2m',
        'btcusdt@ticker_2h',
        'btcusdt@depth@1000ms',
        'btcusdt@depth15',
        'xrpusdt@trade',
        '!ticker@arr',
        'btcusdt',
      ])
        assert.equal(catalog.get(s), undefined, s);
    });
  });

  // --- connections and payloads ------------------------------------------------------------------

  describe('raw and combined connections', () => {
    it('/ws/<stream> relays the builder payloads byte for byte, in order', async () => {
      const c = await client(main.url('/ws/btcusdt@trade'));
      h.out.clear();
      trade('50001');
      trade('50002');
      trade('50003');
      const want = emitted('btcusdt@trade');
      assert.equal(want.length, 3);
      await until(() => c.texts.length >= 3, 'three trades');
      assert.deepEqual(c.texts, want);
      assert.equal(JSON.parse(c.texts[0]!).e, 'trade');
    });

    it('/stream?streams=a/b wraps each payload {"stream","data"}; /ws/a/b carries both raw', async () => {
      const combined = await client(main.url('/stream?streams=btcusdt@trade/btcusdt@aggTrade'));
      const rawMulti = await client(main.url('/ws/btcusdt@trade/btcusdt@aggTrade'));
      h.out.clear();
      trade('50010');
      const t = emitted('btcusdt@trade');
      const a = emitted('btcusdt@aggTrade');
      assert.equal(t.length, 1);
      assert.equal(a.length, 1);
      await until(() => combined.texts.length >= 2 && rawMulti.texts.length >= 2, 'both streams');
      assert.deepEqual(
        [...combined.texts].sort(),
        [`{"stream":"btcusdt@trade","data":${t[0]}}`, `{"stream":"btcusdt@aggTrade","data":${a[0]}}`].sort(),
      );
      assert.deepEqual([...rawMulti.texts].sort(), [t[0], a[0]].sort());
    });

    it('publishes each message once per topic, however many clients: the wrap is made once', async () => {
      const g = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
      const raws = await Promise.all([1, 2, 3].map(() => client(g.url('/ws/btcusdt@trade'))));
      const combos = await Promise.all([1, 2, 3].map(() => client(g.url('/stream?streams=btcusdt@trade'))));
      await until(() => g.ms.stats().streams === 1, 'the stream followed');
      const before = g.ms.stats();
      h.out.clear();
      trade('50020');
      const want = emitted('btcusdt@trade')[0]!;
      await until(() => [...raws, ...combos].every((c) => c.texts.length === 1), 'everyone');
      for (const c of raws) assert.equal(c.texts[0], want);
      for (const c of combos) assert.equal(c.texts[0], `{"stream":"btcusdt@trade","data":${want}}`);
      const after = g.ms.stats();
      assert.equal(after.relayed - before.relayed, 1);
      assert.equal(after.published - before.published, 2);
      assert.equal(after.connections, 6);
      assert.equal(after.subscriptions, 6);
    });

    it('follows a stream while someone wants it: the last one leaving stops it', async () => {
      const g = await gateway();
      const a = await client(g.url('/ws/ethbtc@trade'));
      const b = await client(g.url('/stream?streams=ethbtc@trade/ethbtc@bookTicker'));
      await until(() => g.ms.stats().streams === 2, 'two streams followed');
      a.close();
      await until(() => g.ms.stats().connections === 1, 'a gone');
      assert.equal(g.ms.stats().streams, 2);
      b.close();
      await until(() => g.ms.stats().connections === 0, 'b gone');
      assert.deepEqual([g.ms.stats().streams, g.ms.stats().subscriptions], [0, 0]);
    });
  });

  // --- the requests ------------------------------------------------------------------------------

  describe('SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY', () => {
    it('ccxt: /ws/0, then SUBSCRIBE with number ids; payloads flow; UNSUBSCRIBE stops them', async () => {
      const c = await client(main.url('/ws/0'));
      const other = await client(main.url('/ws/btcusdt@trade'));
      c.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
      await c.take((m) => m.id === 1);
      c.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@trade', 'ethbtc@aggTrade'], id: 2 });
      await c.take((m) => m.id === 2);
      c.send({ method: 'LIST_SUBSCRIPTIONS', id: 3 });
      await c.take((m) => m.id === 3);
      assert.deepEqual(c.texts.slice(0, 3), [
        '{"result":[],"id":1}',
        '{"result":null,"id":2}',
        '{"result":["btcusdt@trade","ethbtc@aggTrade"],"id":3}',
      ]);
      h.out.clear();
      trade('50030');
      const want = emitted('btcusdt@trade')[0]!;
      assert.deepEqual(await c.take((m) => m.e === 'trade'), JSON.parse(want));
      c.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 4 });
      assert.deepEqual(await c.take((m) => m.id === 4), { result: null, id: 4 });
      trade('50031');
      // The other client still follows the stream: the trade went out, just not to `c`.
      await other.take((m) => m.p === '50031.00000000');
      assert.deepEqual((await roundTrip(c, 'after')).result, ['ethbtc@aggTrade']);
      assert.deepEqual(
        c.pending().filter((m) => m.e === 'trade'),
        [],
      );
    });

    it('the official connector: /stream?streams= (empty), string ids echoed unchanged', async () => {
      const c = await client(main.url('/stream?streams='));
      const id = randomBytes(16).toString('hex');
      c.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id });
      await c.take((m) => m.id === id);
      c.send({ method: 'GET_PROPERTY', params: ['combined'], id: `${id}x` });
      await c.take((m) => m.id === `${id}x`);
      assert.deepEqual(c.texts.slice(0, 2), [
        `{"result":null,"id":"${id}"}`,
        `{"result":true,"id":"${id}x"}`,
      ]);
      h.out.clear();
      trade('50040');
      const got = await c.take((m) => m.stream === 'btcusdt@trade');
      assert.deepEqual(got, { stream: 'btcusdt@trade', data: JSON.parse(emitted('btcusdt@trade')[0]!) });
    });

    it('SET_PROPERTY combined switches between raw and wrapped payloads; null and big ids', async () => {
      const c = await client(main.url('/ws/btcusdt@trade'));
      c.send('{"method":"GET_PROPERTY","params":["combined"],"id":null}');
      assert.deepEqual(await c.take(), { result: false, id: null });
      c.send('{"method":"SET_PROPERTY","params":["combined",true],"id":9007199254740993}');
      await until(() => c.texts.length === 2, 'the reply');
      assert.equal(c.texts[1], '{"result":null,"id":9007199254740993}');
      h.out.clear();
      trade('50050');
      const payload = emitted('btcusdt@trade')[0]!;
      await until(() => c.texts.length === 3, 'the trade');
      assert.equal(c.texts[2], `{"stream":"btcusdt@trade","data":${payload}}`);
      c.send({ method: 'SET_PROPERTY', params: ['combined', false], id: 'abc-DEF_1' });
      await until(() => c.texts.length === 4, 'the reply');
      assert.equal(c.texts[3], '{"result":null,"id":"abc-DEF_1"}');
      trade('50051');
      await until(() => c.texts.length === 5, 'the trade');
      assert.equal(c.texts[4], emitted('btcusdt@trade')[1]);
    });
  });

  // --- latest payloads and resyncs ---------------------------------------------------------------

  describe('latest payloads', () => {
    const LATEST = [
      'btcusdt@ticker',
      'btcusdt@miniTicker',
      'btcusdt@ticker_1h',
      'btcusdt@kline_1m',
      'btcusdt@depth5',
      'btcusdt@avgPrice',
      'btcusdt@bookTicker',
    ];

    it('a subscriber gets the current ticker, kline, partial book, average price at once', async () => {
      h.out.clear();
      trade('50100');
      h.limit(3, BTCUSDT, Side.BUY, '49000', '0.002');
      h.advance(1000);
      const last = new Map(LATEST.map((s) => [s, emitted(s).at(-1)]));
      for (const [s, p] of last) assert.ok(p !== undefined, `the builder emitted ${s}`);
      // A fresh gateway: the first subscriber starts each follower, which reads the cache.
      const g = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
      const first = await client(g.url('/stream?streams='));
      first.send({ method: 'SUBSCRIBE', params: LATEST, id: 1 });
      await first.take((m) => m.id === 1);
      await until(() => first.texts.length === 1 + LATEST.length, 'every latest payload');
      const want = LATEST.map((s) => `{"stream":"${s}","data":${last.get(s)}}`).sort();
      assert.deepEqual(first.texts.slice(1).sort(), want);
      // The followers run: a second subscriber gets the payloads kept in memory, right after the reply.
      const second = await client(g.url('/stream?streams='));
      second.send({ method: 'SUBSCRIBE', params: LATEST, id: 2 });
      await until(() => second.texts.length === 1 + LATEST.length, 'every latest payload');
      assert.equal(second.texts[0], '{"result":null,"id":2}');
      assert.deepEqual(
        second.texts.slice(1),
        LATEST.map((s) => `{"stream":"${s}","data":${last.get(s)}}`),
      );
      // Raw: the payload itself.
      const r = await client(g.url('/ws/btcusdt@kline_1m'));
      await until(() => r.texts.length === 1, 'the kline');
      assert.equal(r.texts[0], last.get('btcusdt@kline_1m'));
    });

    it('diff streams send no snapshot and trades nothing on subscribe: only what happens next', async () => {
      const c = await client(main.url('/ws/btcusdt@depth@100ms/btcusdt@trade'));
      assert.deepEqual((await roundTrip(c, 'first')).result, ['btcusdt@depth@100ms', 'btcusdt@trade']);
      assert.deepEqual(c.texts.length, 1);
    });

    it('a resync (the bus back after being down) sends every subscriber the fresh state', async () => {
      h.out.clear();
      trade('50200');
      h.advance(1000);
      const g = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
      const c = await client(g.url('/ws/btcusdt@miniTicker'));
      await until(() => c.texts.length === 1, 'the current mini ticker');
      assert.equal(c.texts[0], emitted('btcusdt@miniTicker').at(-1));
      // Messages lost while the bus was away: the cache moved on without them.
      const fresh = '{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.00000000"}';
      await bus.inner.cache.set(channelForStream('btcusdt@miniTicker'), fresh, { seq: 1 });
      const before = g.ms.stats().resyncs;
      bus.setStatus('down');
      bus.setStatus('up');
      await until(() => c.texts.length === 2, 'the fresh state');
      assert.equal(c.texts[1], fresh);
      assert.ok(g.ms.stats().resyncs > before);
    });
  });

  // --- depth ---------------------------------------------------------------------------------------

  describe('depth', () => {
    it("diffs chain (U = previous u + 1) and rebuild the builder's book from the REST snapshot", async () => {
      const c = await client(main.url('/ws/btcusdt@depth@100ms'));
      const specs = fc.sample(commandArb, { numRuns: 400, seed: 20261128 });
      let snapshot: Snapshot | undefined;
      for (let i = 0; i < specs.length; i++) {
        h.submit(toCommand(specs[i]!, h.placed));
        if (i % 3 === 0) h.advance(100);
        if (i === 150) {
          const r = h.md.depthSnapshot('BTCUSDT', 5000);
          assert.ok(r.ok);
          snapshot = r.value;
        }
        // Let the bus and the sockets run now and then, as they would.
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      h.advance(1000);
      const final = h.md.depthSnapshot('BTCUSDT', 5000);
      assert.ok(final.ok && snapshot !== undefined);
      assert.ok(final.value.lastUpdateId > snapshot.lastUpdateId, 'the book moved after the snapshot');
      await until(
        () => c.texts.length > 0 && JSON.parse(c.texts.at(-1)!).u === final.value.lastUpdateId,
        'the last diff',
      );
      const diffs = c.texts.map((t) => JSON.parse(t) as DepthDiff);
      assert.ok(diffs.length > 20, `${diffs.length} diffs`);
      for (let i = 1; i < diffs.length; i++) assert.equal(diffs[i]!.U, diffs[i - 1]!.u + 1, `diff ${i}`);
      assert.ok(diffs[0]!.U <= snapshot.lastUpdateId + 1, 'the first diff is not after the snapshot');
      const sync = new SyncClient();
      for (const d of diffs) sync.onDiff(d);
      sync.onSnapshot(snapshot);
      assert.ok(sync.applied > 0);
      assert.deepEqual(sync.levels(), { bids: final.value.bids, asks: final.value.asks });
      // An empty book again, so that the tests after make exactly one trade each.
      for (const u of USERS)
        h.submit({ kind: 'CancelAllOrders', symbolId: symbolId(BTCUSDT), userId: userId(u) });
      const empty = h.md.depthSnapshot('BTCUSDT', 5000);
      assert.ok(empty.ok && empty.value.bids.length === 0 && empty.value.asks.length === 0);
    });
  });

  // --- bad input -----------------------------------------------------------------------------------

  describe("bad input gets Binance's errors, never a crash", () => {
    const methods = '`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`';
    const cases: [frame: string, reply: Json][] = [
      ['[1]', { error: { code: 2, msg: 'Invalid request: expected a JSON object' }, id: null }],
      ['"SUBSCRIBE"', { error: { code: 2, msg: 'Invalid request: expected a JSON object' }, id: null }],
      [
        '{"method":"SUBSCRIBE","params":["btcusdt@trade"]}',
        { error: { code: 2, msg: INVALID_ID }, id: null },
      ],
      ['{"method":"SUBSCRIBE","params":[],"id":1.5}', { error: { code: 2, msg: INVALID_ID }, id: null }],
      [
        '{"method":"SUBSCRIBE","params":[],"id":"has space"}',
        { error: { code: 2, msg: INVALID_ID }, id: null },
      ],
      [
        `{"method":"SUBSCRIBE","params":[],"id":"${'a'.repeat(37)}"}`,
        { error: { code: 2, msg: INVALID_ID }, id: null },
      ],
      ['{"method":"SUBSCRIBE","params":[],"id":{"a":1}}', { error: { code: 2, msg: INVALID_ID }, id: null }],
      ['{"method":"SUBSCRIBE","params":[],"id":true}', { error: { code: 2, msg: INVALID_ID }, id: null }],
      [
        '{"method":"SUBSCRIBE","params":[],"id":9223372036854775808}',
        { error: { code: 2, msg: INVALID_ID }, id: null },
      ],
      ['{"params":[],"id":7}', { error: { code: 2, msg: 'Invalid request: missing field `method`' }, id: 7 }],
      [
        '{"method":"subscribe","params":[],"id":8}',
        {
          error: {
            code: 2,
            msg: `Invalid request: unknown variant \`subscribe\`, expected one of ${methods}`,
          },
          id: 8,
        },
      ],
      [
        '{"method":5,"id":9}',
        {
          error: {
            code: 2,
            msg: `Invalid request: unknown variant a non-string method, expected one of ${methods}`,
          },
          id: 9,
        },
      ],
      [
        '{"method":"SUBSCRIBE","params":"btcusdt@trade","id":10}',
        { error: { code: 2, msg: 'Invalid request: params must be an array' }, id: 10 },
      ],
      [
        '{"method":"SUBSCRIBE","id":11}',
        { error: { code: 2, msg: 'Invalid request: missing field `params`' }, id: 11 },
      ],
      [
        '{"method":"SUBSCRIBE","params":[1],"id":12}',
        { error: { code: 2, msg: 'Invalid request: stream name must be a string' }, id: 12 },
      ],
      [
        '{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@foo"],"id":13}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 13 },
      ],
      [
        '{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":14}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 14 },
      ],
      [
        '{"method":"SUBSCRIBE","params":["xrpusdt@trade"],"id":15}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 15 },
      ],
      [
        '{"method":"SUBSCRIBE","params":["btcusdt@depth@1000ms"],"id":16}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 16 },
      ],
      [
        '{"method":"SUBSCRIBE","params":["btcusdt@kline_2m"],"id":17}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 17 },
      ],
      [
        '{"method":"UNSUBSCRIBE","params":["nope"],"id":18}',
        { error: { code: 2, msg: INVALID_STREAM }, id: 18 },
      ],
      [
        '{"method":"SET_PROPERTY","params":["foo",true],"id":20}',
        { error: { code: 0, msg: 'Unknown property' }, id: 20 },
      ],
      [
        '{"method":"SET_PROPERTY","params":["combined","true"],"id":21}',
        { error: { code: 1, msg: 'Invalid value type: expected Boolean' }, id: 21 },
      ],
      [
        '{"method":"SET_PROPERTY","params":["combined"],"id":22}',
        { error: { code: 1, msg: 'Invalid value type: expected Boolean' }, id: 22 },
      ],
      [
        '{"method":"SET_PROPERTY","params":[1,true],"id":23}',
        { error: { code: 2, msg: 'Invalid request: property name must be a string' }, id: 23 },
      ],
      [
        '{"method":"SET_PROPERTY","params":["combined",true,1],"id":24}',
        { error: { code: 2, msg: 'Invalid request: too many parameters' }, id: 24 },
      ],
      [
        '{"method":"SET_PROPERTY","params":["session",true],"id":25}',
        { error: { code: 0, msg: 'Unknown property' }, id: 25 },
      ],
      [
        '{"method":"GET_PROPERTY","params":["foo"],"id":26}',
        { error: { code: 0, msg: 'Unknown property' }, id: 26 },
      ],
      [
        '{"method":"GET_PROPERTY","params":[],"id":27}',
        { error: { code: 2, msg: 'Invalid request: property name must be a string' }, id: 27 },
      ],
      [
        '{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":"28"}',
        { error: { code: 2, msg: 'Invalid request: too many parameters' }, id: '28' },
      ],
      [
        `{"method":"SUBSCRIBE","params":${JSON.stringify(Array(1025).fill('btcusdt@trade'))},"id":29}`,
        {
          error: { code: 2, msg: 'Invalid request: too many streams (at most 1024 per connection)' },
          id: 29,
        },
      ],
    ];

    it('answers every malformed request with its error and the connection goes on', async () => {
      const c = await client(main.url('/ws'));
      c.send('{"method":"SUBSCRIBE",');
      const bad = await c.take();
      assert.equal(bad.error.code, 3);
      assert.match(bad.error.msg, /^Invalid JSON: ./);
      assert.equal(bad.id, null);
      for (const [frame, reply] of cases) {
        c.send(frame);
        assert.deepEqual(await c.take(), reply, frame.slice(0, 80));
      }
      // Nothing half-subscribed by a refused SUBSCRIBE; the connection still answers.
      assert.deepEqual(await roundTrip(c, 'end'), { result: [], id: 'end' });
      // 1024 names are allowed (duplicates count once).
      c.send({ method: 'SUBSCRIBE', params: Array(1024).fill('btcusdt@trade'), id: 30 });
      assert.deepEqual(await c.take(), { result: null, id: 30 });
      assert.equal(c.closed, undefined);
    });

    it('a binary frame is read as text; a frame beyond maxPayloadLength closes only that connection', async () => {
      const r = await raw(main.gw.port, '/ws/0');
      r.frame(2, randomBytes(64));
      const garbage = await r.next();
      assert.equal(garbage.error.code, 3);
      r.frame(2, Buffer.from('{"method":"LIST_SUBSCRIPTIONS","id":1}'));
      assert.deepEqual(await r.next(), { result: [], id: 1 });
      const big = await raw(main.gw.port, '/ws/0');
      big.send({ method: 'SUBSCRIBE', params: ['x'.repeat(70 * 1024)], id: 2 });
      await big.closedBy();
      // The gateway serves on.
      r.send({ method: 'LIST_SUBSCRIPTIONS', id: 3 });
      assert.deepEqual(await r.next(), { result: [], id: 3 });
    });

    it('refuses an upgrade for a stream it does not serve (HTTP 400, as Binance); /ws/0 and /ws are fine', async () => {
      const port = main.gw.port;
      const refused: [string, number][] = [
        ['/ws/btcusdt@foo', 2],
        ['/ws/btcusdt@trade/xrpusdt@trade', 2],
        ['/stream?streams=btcusdt@trade/btcusdt', 2],
        ['/stream?streams=BTCUSDT@trade', 2],
        ['/ws/%E0%A4%A', 2],
        ['/ws/btcusdt@trade?timeUnit=MICROSECOND', -1020],
        ['/ws/btcusdt@trade?timeUnit=SECOND', -1194],
        [`/ws/${'k'.repeat(60)}`, -1125],
      ];
      for (const [path, code] of refused) {
        const r = await RawWs.open(port, path);
        assert.equal(r.status, 400, path);
        assert.equal(JSON.parse(r.body).code, code, path);
      }
      const body = JSON.parse((await RawWs.open(port, '/ws/btcusdt@foo')).body);
      assert.deepEqual(body, { code: 2, msg: "Invalid request: invalid stream 'btcusdt@foo'" });
      for (const path of [
        '/ws',
        '/ws/',
        '/ws/0',
        '/ws/btcusdt%40trade',
        '/stream',
        '/ws/btcusdt@trade?timeUnit=millisecond',
      ]) {
        const r = await raw(port, path);
        assert.equal(r.status, 101, path);
      }
      const encoded = await client(main.url('/ws/btcusdt%40trade'));
      assert.deepEqual((await roundTrip(encoded, 'x')).result, ['btcusdt@trade']);
    });

    it('holds a connection to maxStreams: in the URL and by SUBSCRIBE', async () => {
      const g = await gateway({ limits: { maxStreams: 3, messagesPerSecond: 1_000_000 } });
      const over = await RawWs.open(
        g.gw.port,
        '/ws/btcusdt@trade/btcusdt@aggTrade/ethbtc@trade/ethbtc@aggTrade',
      );
      assert.equal(over.status, 400);
      assert.deepEqual(JSON.parse(over.body), {
        code: 2,
        msg: 'Invalid request: too many streams (at most 3 per connection)',
      });
      const c = await client(g.url('/ws/btcusdt@trade/btcusdt@aggTrade'));
      c.send({ method: 'SUBSCRIBE', params: ['ethbtc@trade', 'btcusdt@trade'], id: 1 });
      assert.deepEqual(await c.take(), { result: null, id: 1 });
      c.send({ method: 'SUBSCRIBE', params: ['ethbtc@aggTrade'], id: 2 });
      assert.deepEqual(await c.take(), {
        error: { code: 2, msg: 'Invalid request: too many streams (at most 3 per connection)' },
        id: 2,
      });
      assert.deepEqual((await roundTrip(c, 'list')).result, [
        'btcusdt@trade',
        'btcusdt@aggTrade',
        'ethbtc@trade',
      ]);
    });
  });

  // --- limits and liveness -------------------------------------------------------------------------

  describe('limits and liveness', () => {
    it('disconnects a connection past 5 incoming messages per second (requests, pings)', async () => {
      // A clock that stands still: every message falls in the same second.
      const g = await gateway({ now: () => 1_800_000_000_000 });
      const c = await client(g.url('/ws/0'));
      for (let i = 1; i <= 5; i++) c.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
      assert.deepEqual(
        (await c.takeN(5)).map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
      c.send({ method: 'LIST_SUBSCRIPTIONS', id: 6 });
      const closed = await c.closedBy();
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /Too many messages/);
      assert.deepEqual(c.pending(), []);
      const pinger = await raw(g.gw.port, '/ws/0');
      for (let i = 0; i < 6; i++) pinger.frame(9, Buffer.alloc(0));
      assert.equal((await pinger.closedBy()).code, 1008);
      assert.equal(g.ms.stats().closedRate, 2);
    });

    it('pings every pingIntervalMs, closes a connection without a pong, and every connection at its lifetime', async () => {
      const g = await gateway({
        limits: { pingIntervalMs: 40, pongTimeoutMs: 600, maxLifetimeMs: 1500, messagesPerSecond: 1_000_000 },
      });
      const answering = await raw(g.gw.port, '/ws/btcusdt@trade', { autoPong: true });
      const silent = await raw(g.gw.port, '/ws/btcusdt@trade', { autoPong: false });
      const s = await silent.closedBy();
      assert.deepEqual(s, { code: 1008, reason: 'No pong received in time' });
      assert.ok(silent.pings > 0);
      assert.equal(answering.closed, undefined, 'the client that answers pings stays');
      assert.ok(answering.pings > 0);
      const a = await answering.closedBy();
      assert.deepEqual(a, { code: 1000, reason: 'Connection lifetime reached; reconnect' });
      const st = g.ms.stats();
      assert.deepEqual([st.closedLiveness, st.closedLifetime, st.connections, st.streams], [1, 1, 0, 0]);
    });

    it('cuts a client that stops reading at maxBackpressure; the others keep receiving everything', async () => {
      const g = await gateway({ limits: { maxBackpressure: 64 * 1024, messagesPerSecond: 1_000_000 } });
      // A stream the builder never emits in these tests (ETHUSDT never trades): the test publishes on it.
      const stream = 'ethusdt@avgPrice';
      const fast = await client(g.url(`/ws/${stream}`));
      const slow = await raw(g.gw.port, `/ws/${stream}`);
      await until(() => g.ms.stats().subscriptions === 2, 'both subscribed');
      slow.pause();
      const channel = channelForStream(stream);
      const pad = 'x'.repeat(16 * 1024);
      let n = 0;
      const publish = (count: number) => {
        for (let k = 0; k < count; k++, n++)
          bus.publishAndCache(channel, `{"e":"avgPrice","i":${n},"pad":"${pad}"}`, n + 1, {
            prevSeq: UNCHAINED,
          });
      };
      for (let round = 0; round < 2000 && g.ms.stats().closedBackpressure === 0; round++) {
        publish(8);
        await until(() => fast.texts.length === n, 'the fast client');
      }
      assert.equal(g.ms.stats().closedBackpressure, 1, 'the slow client was cut');
      publish(8);
      await until(() => fast.texts.length === n, 'the fast client after the cut');
      assert.deepEqual(
        fast.texts.map((t) => JSON.parse(t).i),
        Array.from({ length: n }, (_, i) => i),
      );
      assert.equal(fast.closed, undefined);
      slow.resume();
      await slow.closedBy();
      const got = slow.texts.map((t) => JSON.parse(t).i);
      assert.ok(got.length < n, `the slow client got ${got.length} of ${n}`);
      assert.deepEqual(
        got,
        Array.from({ length: got.length }, (_, i) => i),
        'never a gap: a prefix, then the cut',
      );
      assert.equal(g.ms.stats().connections, 1);
    });
  });

  // --- sessions ------------------------------------------------------------------------------------

  describe('sessions', () => {
    it('a client whose gateway died gets its subscriptions and properties back on another', async () => {
      const one = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
      const two = await gateway({ limits: { messagesPerSecond: 1_000_000 } });
      const r = await raw(one.gw.port, '/stream?streams=btcusdt@trade');
      assert.equal(r.status, 101);
      const id = r.headers[SESSION_HEADER.toLowerCase()]!;
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      r.send({ method: 'GET_PROPERTY', params: ['session'], id: 1 });
      assert.deepEqual(await r.next(), { result: id, id: 1 });
      r.send({ method: 'SUBSCRIBE', params: ['ethbtc@aggTrade'], id: 2 });
      assert.deepEqual(await r.next(), { result: null, id: 2 });
      r.send({ method: 'SET_PROPERTY', params: ['combined', false], id: 3 });
      assert.deepEqual(await r.next(), { result: null, id: 3 });
      // Gateway one dies.
      await one.gw.close();
      await r.closedBy();
      const c = await client(two.url(`/ws/ethbtc@trade?session=${id}`));
      c.send({ method: 'GET_PROPERTY', params: ['session'], id: 4 });
      assert.deepEqual(await c.take(), { result: id, id: 4 });
      c.send({ method: 'GET_PROPERTY', params: ['combined'], id: 5 });
      assert.deepEqual(await c.take(), { result: false, id: 5 });
      assert.deepEqual((await roundTrip(c, 'list')).result, [
        'btcusdt@trade',
        'ethbtc@aggTrade',
        'ethbtc@trade',
      ]);
      h.out.clear();
      trade('50300');
      await until(() => c.texts.length === 4, 'the trade');
      assert.equal(c.texts[3], emitted('btcusdt@trade')[0]);
      assert.equal(two.ms.stats().sessionsResumed, 1);
      // The resumed session is saved again with what changed.
      c.send({ method: 'UNSUBSCRIBE', params: ['ethbtc@trade'], id: 6 });
      await c.take((m) => m.id === 6);
      const saved = await sessions.load(id);
      assert.deepEqual(saved?.subscriptions, ['btcusdt@trade', 'ethbtc@aggTrade']);
      assert.deepEqual(saved?.properties, { combined: false });
    });

    it('an unknown or malformed session id starts a fresh session', async () => {
      for (const resume of ['A'.repeat(22), 'short', '%%%']) {
        const r = await raw(main.gw.port, `/ws/btcusdt@trade?session=${resume}`);
        assert.equal(r.status, 101);
        const id = r.headers[SESSION_HEADER.toLowerCase()]!;
        assert.notEqual(id, resume);
        assert.match(id, /^[A-Za-z0-9_-]{22}$/);
        r.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
        assert.deepEqual(await r.next(), { result: ['btcusdt@trade'], id: 1 });
        r.send({ method: 'GET_PROPERTY', params: ['session'], id: 2 });
        assert.deepEqual(await r.next(), { result: id, id: 2 });
      }
    });
  });

  describe('failures and shutdown', () => {
    it('a session store that fails costs the session, never the connection', async () => {
      const down = (): Promise<never> => Promise.reject(new Error('cache unavailable'));
      const broken = new SessionStore({ set: down, get: down, delete: down });
      const g = await gateway({ sessions: broken, limits: { messagesPerSecond: 1_000_000 } });
      const r = await raw(g.gw.port, `/ws/btcusdt@trade?session=${'B'.repeat(22)}`);
      assert.equal(r.status, 101);
      assert.notEqual(r.headers[SESSION_HEADER.toLowerCase()], 'B'.repeat(22));
      r.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
      assert.deepEqual(await r.next(), { result: null, id: 1 });
      await until(() => g.ms.stats().sessionErrors >= 3, 'the load and two saves counted');
      assert.equal(g.ms.stats().sessionsResumed, 0);
    });

    it('close() announces serverShutdown, ends every connection with 1001, refuses new ones with 503 -1016', async () => {
      const g = await gateway();
      const c = await client(g.url('/ws/btcusdt@trade'));
      const combined = await client(g.url('/stream?streams=btcusdt@trade'));
      await until(() => g.ms.stats().streams === 1, 'the stream followed');
      g.ms.close();
      assert.deepEqual(await c.closedBy(), { code: 1001, reason: 'Server shutting down' });
      assert.equal((await c.take()).e, 'serverShutdown');
      const announced = await combined.take();
      assert.equal(announced.stream, '!serverShutdown');
      assert.equal(announced.data.e, 'serverShutdown');
      assert.deepEqual([g.ms.stats().connections, g.ms.stats().streams], [0, 0]);
      const late = await RawWs.open(g.gw.port, '/ws/btcusdt@trade');
      assert.equal(late.status, 503);
      assert.equal(JSON.parse(late.body).code, -1016);
    });
  });

  // --- one /ws/* for market data and listen keys ---------------------------------------------------

  describe('the /ws/* dispatcher', () => {
    it('hands listen keys to the user data pieces and everything else to market data', async () => {
      const gw = await startTestGateway();
      const view = new OrderView(h.markets);
      const hub = new UserDataHub({ markets: h.markets, view, balancesOf: () => [], clock: h.clock });
      const listenKeys = new ListenKeys(h.clock);
      const ms = new MarketStreams({ bus, markets: h.markets, limits: { messagesPerSecond: 1_000_000 } });
      const pieces = registerStreamsWs(gw.app, ms, { hub, listenKeys });
      opened.push({ gw, ms });
      assert.ok(pieces !== undefined);
      const url = (path: string) => `ws://127.0.0.1:${gw.port}${path}`;
      const key = listenKeys.create(1, 101);
      const user = await client(url(`/ws/${key}`));
      user.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
      assert.deepEqual(await user.take(), { result: [key], id: 1 });
      const unknown = await client(url(`/ws/${'a'.repeat(60)}`));
      assert.deepEqual(await unknown.closedBy(), { code: 1008, reason: 'This listenKey does not exist.' });
      const market = await client(url('/ws/btcusdt@trade'));
      h.out.clear();
      trade('50400');
      await until(() => market.texts.length === 1, 'the trade');
      assert.equal(market.texts[0], emitted('btcusdt@trade')[0]);
      assert.deepEqual([ms.stats().connections, ms.stats().listenKeyConnections], [1, 1]);
      assert.equal(user.closed, undefined);
    });
  });
});
