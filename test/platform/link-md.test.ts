/**
 * Market data over the core link, on real sockets against a real Core: the MarketData
 * builder runs beside the core, fed from its released events, and a gateway in another
 * process asks it the REST queries (MD_QUERY / MD_REPLY). Every answer over the link equals
 * the builder's answer in process; a bad query is refused, never a protocol error; a core
 * without market data, a failing builder, a lost link, a timeout and a gateway that asks and
 * does not read all end as `link.unavailable` (or a cut-off connection), never a hang.
 */
import assert from 'node:assert/strict';
import type { Core } from '../../engine/index.ts';
import { type MdResult, ok } from '../../gateway/market-data/errors.ts';
import { MarketData } from '../../gateway/market-data/market-data.ts';
import {
  localMarketDataQueries,
  type MarketDataQueries,
  type MarketDataQuery,
  parseMarketDataQuery,
} from '../../gateway/market-data/queries.ts';
import { type CoreClient, CoreLinkError, localCoreClient } from '../../platform/link/core-client.ts';
import { connectCoreLink, type LinkCoreClient } from '../../platform/link/link-client.ts';
import {
  decodeFrame,
  encodeHello,
  encodeMd,
  encodePing,
  FrameReader,
  GoodbyeCode,
  type LinkFrame,
} from '../../platform/link/link-protocol.ts';
import {
  type CoreLinkServer,
  type CoreLinkServerOptions,
  serveCoreLink,
} from '../../platform/link/link-server.ts';
import {
  closed,
  fundings,
  LinkProxy,
  MARKETS_FILE,
  orders,
  rawConnect,
  received,
  removeTempDirs,
  sendAll,
  startCore,
  TOKEN,
  until,
} from './link-helpers.ts';

/** The core's clock, pinned: every event carries this time. */
const CORE_MICROS = 1_750_000_000_000_000;
const CORE_MS = CORE_MICROS / 1000;
/** The builder's clock, pinned a minute later: windows and tickers hold every trade, and do not move. */
const MD_MICROS = CORE_MICROS + 60_000_000;

/** Every REST query, most of them more than once, answers and the builder's own refusals. */
const QUERIES: MarketDataQuery[] = [
  { op: 'depth', symbol: 'BTCUSDT', limit: 5 },
  { op: 'depth', symbol: 'ETHUSDT' },
  { op: 'depth', symbol: 'ETHBTC', limit: 1 },
  { op: 'depth', symbol: 'NOPE' },
  { op: 'depth', symbol: 'BTCUSDT', limit: 0 },
  { op: 'trades', symbol: 'BTCUSDT', limit: 10 },
  { op: 'trades', symbol: 'ETHUSDT', unit: 'MICROSECOND' },
  { op: 'historicalTrades', symbol: 'BTCUSDT', fromId: 3, limit: 5 },
  { op: 'historicalTrades', symbol: 'ETHUSDT' },
  { op: 'aggTrades', symbol: 'BTCUSDT', limit: 10 },
  { op: 'aggTrades', symbol: 'ETHUSDT', startTime: CORE_MS - 1000, endTime: CORE_MS + 1000 },
  { op: 'aggTrades', symbol: 'ETHUSDT', fromId: 1, startTime: CORE_MS },
  { op: 'klines', symbol: 'BTCUSDT', interval: '1m', limit: 5 },
  { op: 'klines', symbol: 'ETHUSDT', interval: '1h', timeZone: '8', unit: 'MICROSECOND' },
  { op: 'klines', symbol: 'BTCUSDT', interval: '7m' },
  { op: 'avgPrice', symbol: 'ETHUSDT' },
  { op: 'avgPrice', symbol: 'ETHBTC', unit: 'MICROSECOND' },
  { op: 'ticker24hr', symbols: 'BTCUSDT' },
  { op: 'ticker24hr' },
  { op: 'ticker24hr', symbols: ['BTCUSDT', 'ETHUSDT'], type: 'MINI' },
  { op: 'tickerWindow', symbols: ['BTCUSDT'], windowSize: '1h' },
  { op: 'tickerWindow', symbols: 'ETHUSDT', windowSize: '9y' },
  { op: 'tickerTradingDay', symbols: 'ETHUSDT', timeZone: '0', type: 'FULL' },
  { op: 'tickerPrice' },
  { op: 'tickerPrice', symbols: ['ETHUSDT', 'NOPE'] },
  { op: 'bookTicker', symbols: ['ETHUSDT', 'BTCUSDT'] },
  { op: 'bookTicker', symbols: 'BTCUSDT' },
];

/** A builder in a test's hands: it answers when the test says, or fails. */
class ScriptedQueries implements MarketDataQueries {
  asked: MarketDataQuery[] = [];
  private readonly waiting: ((r: MdResult<unknown>) => void)[] = [];

  constructor(private readonly answer: 'hold' | Error | (() => MdResult<unknown>)) {}

  query(q: MarketDataQuery): Promise<MdResult<unknown>> {
    this.asked.push(q);
    const a = this.answer;
    if (a === 'hold') return new Promise((resolve) => this.waiting.push(resolve));
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(a());
  }

  /** Answers every query held so far. */
  release(result: MdResult<unknown>): void {
    for (const resolve of this.waiting.splice(0)) resolve(result);
  }
}

/** Every frame in a byte string received on a raw socket. */
function framesOf(bytes: Buffer): LinkFrame[] {
  const out: LinkFrame[] = [];
  new FrameReader(1 << 26).push(bytes, (f) => out.push(decodeFrame(f)));
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('core link: market data queries', () => {
  let core: Core;
  let md: MarketData;
  const servers: CoreLinkServer[] = [];
  const clients: CoreClient[] = [];

  /** A link server on an ephemeral port, closed after the file; its log lines kept. */
  async function serve(
    options: Partial<CoreLinkServerOptions> = {},
  ): Promise<{ server: CoreLinkServer; logs: string[] }> {
    const logs: string[] = [];
    const server = await serveCoreLink(core, {
      port: 0,
      token: TOKEN,
      marketsFile: MARKETS_FILE,
      log: (m) => logs.push(m),
      ...options,
    });
    servers.push(server);
    return { server, logs };
  }

  /** A gateway's client (not following the stream), closed after the file. */
  async function gateway(port: number, submitTimeoutMs?: number): Promise<LinkCoreClient> {
    const client = await connectCoreLink({
      host: '127.0.0.1',
      port,
      token: TOKEN,
      subscribe: false,
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
      log: () => {},
      ...(submitTimeoutMs === undefined ? {} : { submitTimeoutMs }),
    });
    clients.push(client);
    return client;
  }

  before(async function () {
    this.timeout(60_000);
    core = await startCore({ clock: () => CORE_MICROS });
    await sendAll(core, fundings(4));
    md = new MarketData({
      markets: core.markets,
      clock: { nowMicros: () => MD_MICROS },
      onMessage: () => {},
      afterSeq: core.lastSeq,
    });
    core.onEvents(md.listener);
    await sendAll(core, orders(400, 11, 4));
    assert.equal(md.fault, null);
    assert.equal(md.lastSeq, core.lastSeq);
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    await core.close();
    removeTempDirs();
  });

  describe('a core that serves market data', () => {
    let server: CoreLinkServer;
    let logs: string[];
    let g: LinkCoreClient;
    before(async () => {
      ({ server, logs } = await serve({ marketData: localMarketDataQueries(md) }));
      g = await gateway(server.port);
    });

    it('answers every query over the link exactly as the builder answers it in process', async () => {
      const local = localMarketDataQueries(md);
      const expected = await Promise.all(QUERIES.map((q) => local.query(q)));
      // All in flight at once: each answer must reach the request that asked it.
      const remote = await Promise.all(QUERIES.map((q) => g.queryMarketData(q)));
      for (const [i, q] of QUERIES.entries()) assert.deepEqual(remote[i], expected[i], JSON.stringify(q));
      assert.equal(new Set(QUERIES.map((q) => q.op)).size, 11, 'every op is asked');
      // The answers carry what the workload built, and the builder's refusals come back as such.
      const [depth, , , unknown] = remote;
      assert.ok(depth?.ok && (depth.value as { bids: unknown[] }).bids.length > 0, 'a book with bids');
      const trades = remote[5];
      assert.ok(trades?.ok && (trades.value as unknown[]).length === 10, 'ten trades');
      assert.deepEqual(unknown, {
        ok: false,
        error: { code: 'md.unknown_symbol', binanceCode: -1121, msg: 'Invalid symbol.' },
      });
      const refused = QUERIES.filter((_, i) => !remote[i]?.ok).map((q) => JSON.stringify(q));
      assert.deepEqual(
        refused,
        [
          { op: 'depth', symbol: 'NOPE' },
          { op: 'depth', symbol: 'BTCUSDT', limit: 0 },
          { op: 'aggTrades', symbol: 'ETHUSDT', fromId: 1, startTime: CORE_MS },
          { op: 'klines', symbol: 'BTCUSDT', interval: '7m' },
          { op: 'tickerWindow', symbols: 'ETHUSDT', windowSize: '9y' },
          { op: 'tickerPrice', symbols: ['ETHUSDT', 'NOPE'] },
        ].map((q) => JSON.stringify(q)),
        'the refusals among them',
      );
      assert.deepEqual(server.connections, 1);
      assert.ok(!logs.some((l) => /failed/.test(l)), logs.join('\n'));
    });

    it('answers in process the same through localCoreClient with the builder', async () => {
      const client = localCoreClient(core, { marketData: localMarketDataQueries(md) });
      for (const q of QUERIES) assert.deepEqual(await client.queryMarketData(q), await g.queryMarketData(q));
      await client.close();
      await assert.rejects(
        client.queryMarketData(QUERIES[0]!),
        (e: CoreLinkError) => e.code === 'link.closed',
      );
    });

    it('refuses a query that is not one (-1100), over the client and as raw frames, and keeps the connection', async () => {
      const bad = [
        { op: 'launchRocket', symbol: 'BTCUSDT' },
        { op: 'depth' },
        { op: 'depth', symbol: 'BTCUSDT', limit: '5' },
        { op: 'klines', symbol: 'BTCUSDT' },
        { op: 'ticker24hr', symbols: [1, 2] },
        { op: 'trades', symbol: 'BTCUSDT', unit: 'NANOSECOND' },
      ];
      for (const q of bad) {
        const r = await g.queryMarketData(q as unknown as MarketDataQuery);
        assert.deepEqual(r, parseMarketDataQuery(q), JSON.stringify(q));
        assert.ok(!r.ok && r.error.code === 'md.bad_query' && r.error.binanceCode === -1100);
      }
      assert.equal(g.connected, true);
      // As a raw gateway would send them: not JSON, JSON that is not an object, and one good query.
      const socket = await rawConnect(server.port);
      const bytes = received(socket);
      socket.write(
        Buffer.concat([
          encodeHello(TOKEN),
          encodeMd('MdQuery', 1, 'not json {'),
          encodeMd('MdQuery', 2, 'null'),
          encodeMd('MdQuery', 3, '[{"op":"depth"}]'),
          encodeMd('MdQuery', 4, ''),
          encodeMd('MdQuery', 5, '{"op":"tickerPrice","symbols":"ETHUSDT"}'),
          encodePing('Ping', 9),
        ]),
      );
      await until(() => framesOf(bytes()).length === 7, 'six answers after WELCOME');
      const frames = framesOf(bytes());
      assert.equal(frames[0]?.type, 'Welcome');
      const replies = new Map<number, unknown>();
      for (const f of frames.slice(1)) {
        if (f.type === 'MdReply') replies.set(f.requestId, JSON.parse(f.json));
        else assert.deepEqual(f, { type: 'Pong', nonce: 9 });
      }
      const refusal = parseMarketDataQuery(undefined);
      assert.ok(!refusal.ok);
      for (const id of [1, 2, 3, 4]) assert.deepEqual(replies.get(id), refusal, `query ${id}`);
      assert.deepEqual(replies.get(5), md.tickerPrice('ETHUSDT'));
      assert.equal(socket.destroyed, false, 'bad queries do not close the connection');
      socket.destroy();
    });

    it('closes a connection whose MD_QUERY frame does not match its JSON length, as for any frame', async () => {
      const socket = await rawConnect(server.port);
      const bytes = received(socket);
      const query = encodeMd('MdQuery', 1, '{"op":"tickerPrice"}');
      query.writeUInt32LE(400, 12);
      socket.write(Buffer.concat([encodeHello(TOKEN), query]));
      await closed(socket);
      const frames = framesOf(bytes());
      assert.deepEqual(
        frames.map((f) => f.type),
        ['Welcome', 'Goodbye'],
      );
      assert.equal(frames[1]?.type === 'Goodbye' && frames[1].code, GoodbyeCode.ProtocolError);
      assert.ok(logs.some((l) => /MD_QUERY frame of 36 bytes, expected 416/.test(l)));
      // Only that connection: the gateway goes on.
      assert.deepEqual(await g.queryMarketData({ op: 'tickerPrice' }), md.tickerPrice(undefined));
    });

    it('closes a connection that sends MD_REPLY, which only the core sends', async () => {
      const socket = await rawConnect(server.port);
      socket.write(Buffer.concat([encodeHello(TOKEN), encodeMd('MdReply', 1, '{"ok":true,"value":1}')]));
      await closed(socket);
      assert.ok(logs.some((l) => /a gateway may not send MdReply/.test(l)));
    });
  });

  it('fails a query as unavailable on a core that serves no market data, in process and over the link', async () => {
    const { server } = await serve();
    const g = await gateway(server.port);
    for (const client of [g, localCoreClient(core)]) {
      await assert.rejects(
        client.queryMarketData({ op: 'tickerPrice' }),
        (e: CoreLinkError) =>
          e instanceof CoreLinkError &&
          e.code === 'link.unavailable' &&
          !e.statusUnknown &&
          e.message === 'market data is not served by this core',
      );
    }
    assert.equal(g.connected, true);
    assert.deepEqual(await g.balancesOf(1), core.balancesOf(1), 'the link still serves the rest');
  });

  it('fails a query as unavailable when the builder fails, in process and over the link', async () => {
    const failing = new ScriptedQueries(new Error('the trade store is down'));
    const throwing: MarketDataQueries = {
      query: () => {
        throw new Error('the builder threw');
      },
    };
    for (const [queries, why] of [
      [failing, /the market data query failed: the trade store is down/],
      [throwing, /the market data query failed: the builder threw/],
    ] as const) {
      const { server, logs } = await serve({ marketData: queries });
      const g = await gateway(server.port);
      for (const client of [g, localCoreClient(core, { marketData: queries })]) {
        await assert.rejects(
          client.queryMarketData({ op: 'depth', symbol: 'BTCUSDT' }),
          (e: CoreLinkError) => e.code === 'link.unavailable' && why.test(e.message),
        );
      }
      assert.ok(logs.some((l) => why.test(l)));
      assert.equal(g.connected, true);
    }
    assert.deepEqual(failing.asked, [
      { op: 'depth', symbol: 'BTCUSDT' },
      { op: 'depth', symbol: 'BTCUSDT' },
    ]);
  });

  it('answers when a slow builder resolves, and fails a query unanswered within the timeout as unavailable', async () => {
    const slow = new ScriptedQueries('hold');
    const { server } = await serve({ marketData: slow, heartbeatMs: 20, deadAfterMs: 2000 });
    const g = await gateway(server.port, 300);
    const answered = g.queryMarketData({ op: 'avgPrice', symbol: 'BTCUSDT' });
    await until(() => slow.asked.length === 1, 'the builder to be asked');
    slow.release(ok({ mins: 5, price: '1.00000000' }));
    assert.deepEqual(await answered, ok({ mins: 5, price: '1.00000000' }));
    const late = g.queryMarketData({ op: 'avgPrice', symbol: 'ETHUSDT' });
    await assert.rejects(
      late,
      (e: CoreLinkError) =>
        e.code === 'link.unavailable' &&
        !e.statusUnknown &&
        /no answer from the core within 300 ms: the market data answer did not come back/.test(e.message),
    );
    // The answer that comes after the timeout is dropped; the next query gets its own.
    slow.release(ok('too late'));
    const next = g.queryMarketData({ op: 'tickerPrice' });
    await until(() => slow.asked.length === 3, 'the next query to arrive');
    slow.release(ok('in time'));
    assert.deepEqual(await next, ok('in time'));
    assert.equal(g.connected, true);
  });

  it('fails queries in flight as unavailable when the link dies or the server shuts down', async () => {
    const held = new ScriptedQueries('hold');
    const { server } = await serve({ marketData: held });
    const proxy = await LinkProxy.start(server.port);
    try {
      const viaProxy = await gateway(proxy.port);
      const direct = await gateway(server.port);
      const cut = viaProxy.queryMarketData({ op: 'bookTicker' });
      await until(() => held.asked.length === 1, 'the first query to reach the builder');
      proxy.refusing = true;
      proxy.cut();
      await assert.rejects(
        cut,
        (e: CoreLinkError) =>
          e.code === 'link.unavailable' &&
          !e.statusUnknown &&
          /was lost before the market data answer came back/.test(e.message),
      );
      await assert.rejects(
        viaProxy.queryMarketData({ op: 'bookTicker' }),
        (e: CoreLinkError) => e.code === 'link.unavailable' && /not connected/.test(e.message),
      );
      const shut = direct.queryMarketData({ op: 'tickerPrice' });
      await until(() => held.asked.length === 2, 'the second query to reach the builder');
      const shutFails = assert.rejects(
        shut,
        (e: CoreLinkError) =>
          e.code === 'link.unavailable' && /before the market data answer came back/.test(e.message),
      );
      await server.close();
      await shutFails;
      assert.equal(direct.connected, false);
      // The builder answering after its gateways are gone harms nothing.
      held.release(ok(1));
      await sleep(20);
    } finally {
      await proxy.close();
    }
  });

  it('counts market data replies toward a connection’s unsent bytes: a gateway that asks and does not read is cut off', async () => {
    const big = ok('x'.repeat(256 * 1024));
    const { server, logs } = await serve({
      marketData: new ScriptedQueries(() => big),
      maxBufferedBytes: 1 << 20,
    });
    const healthy = await gateway(server.port);
    const stuck = await rawConnect(server.port);
    stuck.write(encodeHello(TOKEN));
    stuck.pause(); // reads nothing from now on
    const cutOff = (): boolean => logs.some((l) => /cut off: \d+ bytes unsent/.test(l));
    const query = encodeMd('MdQuery', 1, '{"op":"tickerPrice"}');
    for (let round = 0; round < 200 && !cutOff(); round++) {
      stuck.write(Buffer.concat(Array.from({ length: 8 }, () => query)));
      await sleep(5);
    }
    assert.ok(cutOff(), 'the gateway that does not read was cut off');
    await until(() => server.connections === 1, 'the server to drop it');
    assert.deepEqual(await healthy.queryMarketData({ op: 'tickerPrice' }), big);
    stuck.destroy();
  });
});
