/**
 * The trading REST endpoints over real sockets, against a real Core (journal off) on the demo
 * markets (BTCUSDT: tick 0.01, step 0.00001, min notional 5; fees 0.1% maker and taker):
 * requests signed exactly as a Binance client signs them (HMAC-SHA256 hex of the query
 * string, `signature` last), replies checked field for field against Binance's shapes, and
 * every way a request can be wrong answered with Binance's 4xx code and message.
 *
 * The order view is fed from the Core's event stream as the platform feeds it; the history
 * store is an in-memory fake fed from the same stream, which a test can pause to play a
 * persister that trails the engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  userId as asUserId,
  type CommandInput,
  Core,
  decodeEvent,
  type EngineEvent,
  isLastEvent,
  type MarketsFile,
  OrderTypeName,
  SideName,
  StpModeName,
  type TradeExecuted,
} from '../../engine/index.ts';
import type {
  HistoryOrder,
  HistoryOrderRef,
  HistoryOrdersQuery,
  HistoryTrade,
  HistoryTradesQuery,
  OrderHistory,
} from '../../gateway/api/history.port.ts';
import { tradingRoutes } from '../../gateway/api/trading.routes.ts';
import { DEFAULT_RATE_LIMITS } from '../../gateway/auth/rate-limit.ts';
import { expiryReasonName, timeInForceName } from '../../gateway/orders/order-format.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import type { CommissionPpm, EngineAccess, FeeRates, ResolvedKey } from '../../gateway/ports.ts';
import { type Gateway, startGateway } from '../../gateway/server.ts';
import { FakeApiKeys, FakeClock, hmac, LogCapture, type Reply, send } from './helpers.ts';

const MARKETS_FILE = JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile;
const ASSETS = MARKETS_FILE.assets.map((a) => a.asset);

/**
 * The history store as the persister would fill it, in memory: every order (REJECTED ones
 * too, as the persister records them) and both sides of every trade. `paused` holds events
 * back, like a persister that has not written its batch yet.
 */
class FakeHistory implements OrderHistory {
  paused = false;
  calls = 0;
  private readonly view: OrderView;
  private readonly held: [EngineEvent, boolean][] = [];
  private readonly ids: { userId: number; symbolId: number; orderId: number }[] = [];
  private readonly rejected: (HistoryOrder & { userId: number })[] = [];
  private readonly trades: (HistoryTrade & { userId: number })[] = [];
  private lastTrade: TradeExecuted | undefined;

  constructor(private readonly core: Core) {
    this.view = new OrderView(core.markets, { closedCapacity: 1_000_000 });
    core.onEvents((v, from, count) => {
      for (let i = from; i < from + count; i++) this.held.push([decodeEvent(v, i), isLastEvent(v, i)]);
      if (!this.paused) this.resume();
    });
  }

  /** Writes what was held back. */
  resume(): void {
    this.paused = false;
    for (const [e, last] of this.held.splice(0)) this.apply(e, last);
  }

  private apply(e: EngineEvent, last: boolean): void {
    this.view.apply(e, last);
    const m = 'symbolId' in e ? this.core.markets.byId(e.symbolId) : undefined;
    if (e.kind === 'OrderAccepted')
      this.ids.push({ userId: e.userId, symbolId: e.symbolId, orderId: e.orderId });
    if (e.kind === 'OrderRejected' && m !== undefined) {
      this.rejected.push({
        userId: e.userId,
        orderId: e.orderId,
        symbol: m.symbol,
        side: SideName[e.side],
        type: OrderTypeName[e.orderType] ?? '',
        timeInForce: '',
        stpMode: '',
        priceTicks: 0,
        qtyLots: 0,
        quoteQtyUnits: 0,
        clientOrderId: e.clientOrderId,
        status: 'REJECTED',
        executedLots: 0,
        cumQuoteUnits: 0,
        expiryReason: null,
        updatedSeq: e.seq,
        createdMicros: e.tsMicros,
        updatedMicros: e.tsMicros,
      });
    }
    if (e.kind === 'TradeExecuted') this.lastTrade = e;
    if (e.kind === 'TradeSettled' && m !== undefined && this.lastTrade !== undefined) {
      const t = this.lastTrade;
      const buyerIsMaker = t.takerSide === 1;
      const side = (userId: number, orderId: number, isBuyer: boolean, fee: number) => ({
        userId,
        symbol: m.symbol,
        tradeId: e.tradeId,
        orderId,
        priceTicks: t.priceTicks,
        qtyLots: t.qtyLots,
        quoteUnits: e.quoteUnits,
        commissionUnits: fee,
        isBuyer,
        isMaker: isBuyer === buyerIsMaker,
        tsMicros: e.tsMicros,
      });
      this.trades.push(side(e.buyerUserId, e.buyerOrderId, true, e.buyerFeeUnits));
      this.trades.push(side(e.sellerUserId, e.sellerOrderId, false, e.sellerFeeUnits));
    }
  }

  private rows(userId: number, symbol: string): HistoryOrder[] {
    const m = this.core.markets.get(symbol)!;
    const out: HistoryOrder[] = this.rejected.filter((r) => r.userId === userId && r.symbol === symbol);
    for (const id of this.ids) {
      if (id.userId !== userId || id.symbolId !== m.symbolId) continue;
      const o = this.view.order(userId, m.symbolId, id.orderId)!;
      out.push({
        orderId: o.orderId,
        symbol,
        side: SideName[o.side],
        type: OrderTypeName[o.orderType],
        timeInForce: timeInForceName(o.timeInForce),
        stpMode: StpModeName[o.stpMode],
        priceTicks: o.priceTicks,
        qtyLots: o.qtyLots,
        quoteQtyUnits: o.quoteQtyUnits,
        clientOrderId: o.clientOrderId,
        status: o.status,
        executedLots: o.executedLots,
        cumQuoteUnits: o.cumQuoteUnits,
        expiryReason: o.status === 'EXPIRED' ? expiryReasonName(o.expiryReason) : null,
        updatedSeq: o.lastSeq,
        createdMicros: o.timeMicros,
        updatedMicros: o.updateTimeMicros,
      });
    }
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  async allOrders(userId: number, symbol: string, q: HistoryOrdersQuery): Promise<HistoryOrder[]> {
    this.calls++;
    const rows = this.rows(userId, symbol).filter(
      (r) =>
        (q.orderId === undefined || r.orderId >= q.orderId) &&
        (q.startMicros === undefined || r.createdMicros >= q.startMicros) &&
        (q.endMicros === undefined || r.createdMicros <= q.endMicros),
    );
    return q.orderId !== undefined || q.startMicros !== undefined
      ? rows.slice(0, q.limit)
      : rows.slice(Math.max(0, rows.length - q.limit));
  }

  async order(userId: number, symbol: string, ref: HistoryOrderRef): Promise<HistoryOrder | null> {
    this.calls++;
    const rows = this.rows(userId, symbol).filter(
      (r) =>
        (ref.orderId === undefined || r.orderId === ref.orderId) &&
        (ref.clientOrderId === undefined || r.clientOrderId === ref.clientOrderId),
    );
    return rows[rows.length - 1] ?? null;
  }

  async myTrades(userId: number, symbol: string, q: HistoryTradesQuery): Promise<HistoryTrade[]> {
    this.calls++;
    const mine = this.trades
      .filter((t) => t.userId === userId && t.symbol === symbol)
      .filter((t) => q.orderId === undefined || t.orderId === q.orderId)
      .map(({ userId: _u, ...t }) => t);
    if (q.fromId !== undefined) return mine.filter((t) => t.tradeId >= q.fromId!).slice(0, q.limit);
    const windowed = mine.filter(
      (t) =>
        (q.startMicros === undefined || t.tsMicros >= q.startMicros) &&
        (q.endMicros === undefined || t.tsMicros <= q.endMicros),
    );
    return q.startMicros !== undefined
      ? windowed.slice(0, q.limit)
      : windowed.slice(Math.max(0, windowed.length - q.limit));
  }
}

/** Fee rates per user (default 0.1% / 0.1%, the Core's default). */
class FakeFees implements FeeRates {
  readonly byUser = new Map<number, CommissionPpm>();
  async rates(userId: number): Promise<CommissionPpm> {
    return this.byUser.get(userId) ?? { makerPpm: 1000, takerPpm: 1000 };
  }
}

/** A signed-in client: its key, secret and engine user id. */
interface Client {
  readonly apiKey: string;
  readonly secret: string;
  readonly userId: number;
}

/** What a request may add: headers, the time unit, recvWindow. */
interface CallOptions {
  readonly unit?: 'MICROSECOND' | 'MILLISECOND';
  readonly headers?: Record<string, string>;
  readonly recvWindow?: string;
  /** Another gateway on the same core (default: the main one). */
  readonly gw?: Gateway;
}

/** Everything one suite runs against. */
class Exchange {
  readonly clock = new FakeClock();
  readonly keys = new FakeApiKeys();
  readonly fees = new FakeFees();
  core!: Core;
  view!: OrderView;
  history!: FakeHistory;
  gw!: Gateway;
  /** Engine calls go through here: tests may make it fail like the core link does. */
  engineFailure: { code: string } | undefined;
  /** How far the routes' clock (the recvWindow check before the engine) runs ahead of the gateway's. */
  routesSkewMicros = 0;
  submitted = 0;
  private dir = '';
  private nextUser = 1000;
  private refId = 0;

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'crossbook-trading-'));
    this.core = await Core.start({
      dataDir: this.dir,
      marketsFile: MARKETS_FILE,
      journal: false,
      clock: () => this.clock.micros,
    });
    this.history = new FakeHistory(this.core);
    const main = await this.openGateway({ closedCapacity: 1000 });
    this.gw = main.gw;
    this.view = main.view;
  }

  /**
   * A gateway with its own order view on the same core (gateways are stateless but for their
   * view). The routes' clock runs `routesSkewMicros` ahead of the gateway's.
   */
  async openGateway(options: { closedCapacity: number }): Promise<{
    gw: Gateway;
    view: OrderView;
    close(): Promise<void>;
  }> {
    const view = new OrderView(this.core.markets, { closedCapacity: options.closedCapacity });
    const unsubscribe = this.core.onEvents((v, f, c) => view.applyRecords(v, f, c));
    const engine: EngineAccess = {
      markets: this.core.markets,
      submit: async (input: CommandInput) => {
        if (this.engineFailure !== undefined)
          throw Object.assign(new Error('link failure'), this.engineFailure);
        this.submitted++;
        return this.core.submit(input);
      },
      balancesOf: async (userId: number) => {
        if (this.engineFailure !== undefined)
          throw Object.assign(new Error('link failure'), this.engineFailure);
        return this.core.balancesOf(userId);
      },
    };
    let cid = 0;
    const gw = await startGateway({
      port: 0,
      host: '127.0.0.1',
      markets: this.core.markets,
      apiKeys: this.keys,
      clock: this.clock,
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 1e9 }],
      },
      routes: tradingRoutes({
        engine,
        view,
        history: this.history,
        fees: this.fees,
        clock: { nowMicros: () => this.clock.micros + this.routesSkewMicros },
        newClientOrderId: () => `gen-${++cid}`,
      }),
      logger: new LogCapture().logger,
    });
    return {
      gw,
      view,
      close: async () => {
        unsubscribe();
        await gw.close();
      },
    };
  }

  async stop(): Promise<void> {
    await this.gw?.close();
    await this.core?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Cancels every open order of every user (through the engine, as a cancel-all per symbol). */
  async clearBooks(): Promise<void> {
    for (let userId = 1001; userId <= this.nextUser; userId++) {
      for (const m of this.core.markets.list) {
        if (this.view.openOrders(userId, m.symbolId).length > 0)
          await this.core.submit({ kind: 'CancelAllOrders', symbolId: m.symbolId, userId: asUserId(userId) });
      }
    }
  }

  /** A new user with an HMAC key (every permission, KYC tier 2 unless overridden). */
  client(overrides: Partial<ResolvedKey> = {}): Client {
    const userId = ++this.nextUser;
    const secret = `S${userId}`.padEnd(64, 'k');
    const apiKey = this.keys.addHmac(`u${userId}`, secret, { userId, ...overrides });
    return { apiKey, secret, userId };
  }

  /** Credits `amount` of `asset` to `userId` through the engine. */
  async fund(userId: number, asset: string, amount: string): Promise<void> {
    const assetId = ASSETS.indexOf(asset);
    const scale = MARKETS_FILE.assets[assetId]!.scale;
    const [whole, frac = ''] = amount.split('.');
    const amountUnits = Number(whole + frac.padEnd(scale, '0'));
    const events = await this.core.submit({
      kind: 'Deposit',
      userId: asUserId(userId),
      assetId,
      amountUnits,
      refId: ++this.refId,
    });
    assert.equal(events[0]?.kind, 'FundsDeposited');
  }

  /** A client with `amounts` (e.g. {USDT: '100000', BTC: '1'}). */
  async funded(amounts: Record<string, string>, overrides: Partial<ResolvedKey> = {}): Promise<Client> {
    const c = this.client(overrides);
    for (const [asset, amount] of Object.entries(amounts)) await this.fund(c.userId, asset, amount);
    return c;
  }

  /**
   * A signed request, as a Binance client sends it: every parameter in the query string,
   * percent-encoded, then `timestamp`, then `signature` (HMAC-SHA256 hex of everything before
   * it). The clock moves 1 ms per request.
   */
  async call(
    c: Client,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    params: Record<string, string> = {},
    o: CallOptions = {},
  ): Promise<Reply> {
    this.clock.advanceMillis(1);
    const ts = o.unit === 'MICROSECOND' ? this.clock.micros : this.clock.millis;
    const pairs = [
      ...Object.entries(params),
      ...(o.recvWindow === undefined ? [] : [['recvWindow', o.recvWindow]]),
    ];
    pairs.push(['timestamp', String(ts)]);
    const qs = pairs.map(([k, v]) => `${encodeURIComponent(k!)}=${encodeURIComponent(v!)}`).join('&');
    return send(o.gw ?? this.gw, path, {
      method,
      query: `${qs}&signature=${hmac(c.secret, qs)}`,
      headers: {
        'X-MBX-APIKEY': c.apiKey,
        // Clients send an empty JSON body's content type even on GET and DELETE.
        'Content-Type': 'application/json',
        ...(o.unit === undefined ? {} : { 'X-MBX-TIME-UNIT': o.unit }),
        ...o.headers,
      },
    });
  }

  /** POST /api/v3/order for BTCUSDT. */
  order(c: Client, params: Record<string, string>, o: CallOptions = {}): Promise<Reply> {
    return this.call(c, 'POST', '/api/v3/order', { symbol: 'BTCUSDT', ...params }, o);
  }

  /** A resting LIMIT GTC on BTCUSDT; returns its order id. */
  async rest(
    c: Client,
    side: 'BUY' | 'SELL',
    price: string,
    quantity: string,
    extra: Record<string, string> = {},
  ) {
    const r = await this.order(c, { side, type: 'LIMIT', timeInForce: 'GTC', price, quantity, ...extra });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'NEW');
    return r.json.orderId as number;
  }
}

/** Asserts a Binance error reply. */
function assertError(r: Reply, status: number, code: number, msg?: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.code, code, r.text);
  if (msg !== undefined) assert.equal(r.json.msg, msg);
}

describe('trading REST endpoints', function () {
  this.timeout(20_000);
  const x = new Exchange();
  before(() => x.start());
  after(() => x.stop());
  // Every test starts on empty books: what one test leaves resting must not trade with the next.
  afterEach(() => x.clearBooks());

  describe('POST /api/v3/order', () => {
    it('rests a LIMIT GTC order and answers FULL by default, with the order count headers', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const r = await x.order(alice, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '50000',
        quantity: '0.1',
        newClientOrderId: 'alice-1',
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], 'application/json;charset=UTF-8');
      assert.equal(r.headers['x-mbx-order-count-10s'], '1');
      assert.equal(r.headers['x-mbx-order-count-1d'], '1');
      assert.deepEqual(r.json, {
        symbol: 'BTCUSDT',
        orderId: r.json.orderId,
        orderListId: -1,
        clientOrderId: 'alice-1',
        transactTime: x.clock.millis,
        price: '50000.00000000',
        origQty: '0.10000000',
        executedQty: '0.00000000',
        origQuoteOrderQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'NEW',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        workingTime: x.clock.millis,
        selfTradePreventionMode: 'EXPIRE_MAKER',
        fills: [],
      });
      assert.ok(Number.isSafeInteger(r.json.orderId) && r.json.orderId > 0);
    });

    it('fills a crossing order with FULL fills and commissions (buyer pays base, seller quote)', async () => {
      const seller = await x.funded({ BTC: '1' });
      const buyer = await x.funded({ USDT: '100000' });
      const makerId = await x.rest(seller, 'SELL', '50000', '0.1');
      const r = await x.order(buyer, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '50100',
        quantity: '0.1',
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, 'FILLED');
      assert.equal(r.json.price, '50100.00000000');
      assert.equal(r.json.executedQty, '0.10000000');
      assert.equal(r.json.cummulativeQuoteQty, '5000.00000000');
      assert.equal(r.json.fills.length, 1);
      assert.deepEqual(Object.keys(r.json.fills[0]), [
        'price',
        'qty',
        'commission',
        'commissionAsset',
        'tradeId',
      ]);
      assert.equal(r.json.fills[0].price, '50000.00000000');
      assert.equal(r.json.fills[0].qty, '0.10000000');
      assert.equal(r.json.fills[0].commission, '0.00010000');
      assert.equal(r.json.fills[0].commissionAsset, 'BTC');
      assert.ok(Number.isSafeInteger(r.json.fills[0].tradeId));
      // The maker's side: its order is FILLED, its commission in USDT.
      const q = await x.call(seller, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(makerId) });
      assert.equal(q.json.status, 'FILLED');
      const trades = await x.call(seller, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT' });
      assert.equal(trades.json[0].commission, '5.00000000');
      assert.equal(trades.json[0].commissionAsset, 'USDT');
    });

    it('answers ACK and RESULT in their own shapes', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const base = { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '40000', quantity: '0.01' };
      const ack = await x.order(alice, { ...base, newOrderRespType: 'ACK' });
      assert.deepEqual(Object.keys(ack.json), [
        'symbol',
        'orderId',
        'orderListId',
        'clientOrderId',
        'transactTime',
      ]);
      const result = await x.order(alice, { ...base, newOrderRespType: 'RESULT' });
      assert.deepEqual(Object.keys(result.json), [
        'symbol',
        'orderId',
        'orderListId',
        'clientOrderId',
        'transactTime',
        'price',
        'origQty',
        'executedQty',
        'origQuoteOrderQty',
        'cummulativeQuoteQty',
        'status',
        'timeInForce',
        'type',
        'side',
        'workingTime',
        'selfTradePreventionMode',
      ]);
      assert.equal(result.json.clientOrderId.startsWith('gen-'), true);
    });

    it('fills a MARKET order by quantity and one by quoteOrderQty', async () => {
      const seller = await x.funded({ BTC: '1' });
      const buyer = await x.funded({ USDT: '100000' });
      await x.rest(seller, 'SELL', '50000', '0.5');
      const byQty = await x.order(buyer, { side: 'BUY', type: 'MARKET', quantity: '0.01' });
      assert.equal(byQty.status, 200, byQty.text);
      assert.equal(byQty.json.status, 'FILLED');
      assert.equal(byQty.json.type, 'MARKET');
      assert.equal(byQty.json.timeInForce, 'GTC');
      assert.equal(byQty.json.price, '0.00000000');
      assert.equal(byQty.json.origQty, '0.01000000');
      assert.equal(byQty.json.executedQty, '0.01000000');
      assert.equal(byQty.json.cummulativeQuoteQty, '500.00000000');
      const byQuote = await x.order(buyer, { side: 'BUY', type: 'MARKET', quoteOrderQty: '100' });
      assert.equal(byQuote.status, 200, byQuote.text);
      assert.equal(byQuote.json.status, 'FILLED');
      assert.equal(byQuote.json.origQuoteOrderQty, '100.00000000');
      assert.equal(byQuote.json.executedQty, '0.00200000');
      assert.equal(byQuote.json.origQty, '0.00200000');
      assert.equal(byQuote.json.cummulativeQuoteQty, '100.00000000');
      assert.equal(byQuote.json.fills[0].commission, '0.00000200');
    });

    it('expires an IOC remainder and an unfillable FOK with their expiryReason', async () => {
      const seller = await x.funded({ BTC: '1' });
      const buyer = await x.funded({ USDT: '100000' });
      await x.rest(seller, 'SELL', '60000', '0.01');
      const ioc = await x.order(buyer, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'IOC',
        price: '60000',
        quantity: '0.03',
      });
      assert.equal(ioc.status, 200, ioc.text);
      assert.equal(ioc.json.status, 'EXPIRED');
      assert.equal(ioc.json.expiryReason, 'UNFILLED_IOC_QUANTITY_EXPIRED');
      assert.equal(ioc.json.executedQty, '0.01000000');
      assert.equal(ioc.json.timeInForce, 'IOC');
      const fok = await x.order(buyer, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'FOK',
        price: '60000',
        quantity: '0.03',
      });
      assert.equal(fok.json.status, 'EXPIRED');
      assert.equal(fok.json.expiryReason, 'UNFILLED_FOK_ORDER_EXPIRED');
      assert.equal(fok.json.executedQty, '0.00000000');
      assert.deepEqual(fok.json.fills, []);
    });

    it('expires a self-trading taker in the match (EXPIRED_IN_MATCH) with its prevented match', async () => {
      const carol = await x.funded({ BTC: '1', USDT: '100000' });
      const makerId = await x.rest(carol, 'SELL', '70000', '0.01');
      const r = await x.order(carol, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '70000',
        quantity: '0.01',
        selfTradePreventionMode: 'EXPIRE_TAKER',
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, 'EXPIRED_IN_MATCH');
      assert.equal(r.json.selfTradePreventionMode, 'EXPIRE_TAKER');
      assert.equal(r.json.preventedQuantity, '0.01000000');
      assert.equal(r.json.preventedMatches.length, 1);
      assert.equal(r.json.preventedMatches[0].makerOrderId, makerId);
      assert.equal(r.json.preventedMatches[0].price, '70000.00000000');
      assert.equal(r.json.preventedMatches[0].takerPreventedQuantity, '0.01000000');
      assert.deepEqual(r.json.fills, []);
    });

    it('refuses a LIMIT_MAKER that would take with -2010', async () => {
      const seller = await x.funded({ BTC: '1' });
      const buyer = await x.funded({ USDT: '100000' });
      await x.rest(seller, 'SELL', '80000', '0.01');
      const r = await x.order(buyer, { side: 'BUY', type: 'LIMIT_MAKER', price: '80000', quantity: '0.01' });
      assertError(r, 400, -2010, 'Order would immediately match and take.');
    });

    it('refuses an order the balance cannot pay for with -2010', async () => {
      const poor = await x.funded({ USDT: '10' });
      const r = await x.order(poor, {
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '50000',
        quantity: '0.1',
      });
      assertError(r, 400, -2010, 'Account has insufficient balance for requested action.');
      assert.equal(x.view.openOrders(poor.userId).length, 0);
    });

    it('answers times in microseconds with X-MBX-TIME-UNIT: MICROSECOND', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const r = await x.order(
        alice,
        { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '30000', quantity: '0.01' },
        { unit: 'MICROSECOND' },
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.transactTime, x.clock.micros);
      assert.equal(r.json.workingTime, x.clock.micros);
      const q = await x.call(
        alice,
        'GET',
        '/api/v3/order',
        { symbol: 'BTCUSDT', orderId: String(r.json.orderId) },
        { unit: 'MICROSECOND', headers: { 'X-MBX-TIME-UNIT': 'microsecond' } },
      );
      assert.equal(q.json.time, x.clock.micros - 1000);
      assert.equal(q.json.updateTime, x.clock.micros - 1000);
    });

    it('refuses bad parameters with Binance 4xx codes before the engine sees anything', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const limit = { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '50000', quantity: '0.1' };
      const before = x.submitted;
      const cases: [Record<string, string>, number, string?][] = [
        [
          { ...limit, symbol: '' },
          -1102,
          "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
        ],
        [{ ...limit, symbol: 'NOPE' }, -1121, 'Invalid symbol.'],
        [
          { ...limit, symbol: 'btc usdt' },
          -1100,
          "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
        ],
        [{ ...limit, side: 'UP' }, -1117, 'Invalid side.'],
        [{ ...limit, type: 'STOP' }, -1116, 'Invalid orderType.'],
        [{ ...limit, price: '50000.000000001' }, -1111, "Parameter 'price' has too much precision."],
        [{ ...limit, price: '50000.005' }, -1013, 'Filter failure: PRICE_FILTER'],
        [
          { ...limit, price: 'abc' },
          -1100,
          "Illegal characters found in parameter 'price'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ],
        [{ ...limit, price: '2000000' }, -1013, 'Filter failure: PRICE_FILTER'],
        [{ ...limit, quantity: '0.000000001' }, -1111, "Parameter 'quantity' has too much precision."],
        [{ ...limit, quantity: '0.000001' }, -1013, 'Filter failure: LOT_SIZE'],
        [{ ...limit, quantity: '100' }, -1013, 'Filter failure: LOT_SIZE'],
        [{ ...limit, price: '1', quantity: '0.001' }, -1013, 'Filter failure: NOTIONAL'],
        [{ ...limit, timeInForce: 'DAY' }, -1115, 'Invalid timeInForce.'],
        [
          { side: 'BUY', type: 'MARKET' },
          -1102,
          "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ],
        [
          { ...limit, color: 'red' },
          -1104,
          "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.",
        ],
        [{ ...limit, newClientOrderId: 'bad id!' }, -1100],
      ];
      for (const [params, code, msg] of cases) {
        const r = await x.call(alice, 'POST', '/api/v3/order', { symbol: 'BTCUSDT', ...params });
        assertError(r, 400, code, msg);
      }
      assert.equal(x.submitted, before);
    });

    it('refuses an order whose recvWindow ran out before it reached the engine (-1021), sending nothing', async () => {
      // The routes' clock runs 6 s ahead of the gateway's: the request passes the check on
      // arrival (default window 5 s) and fails the one before the engine.
      x.routesSkewMicros = 6_000_000;
      try {
        const alice = await x.funded({ USDT: '100000' });
        const before = x.submitted;
        const limit = { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '50000', quantity: '0.1' };
        const r = await x.order(alice, limit);
        assertError(r, 400, -1021, 'Timestamp for this request is outside of the recvWindow.');
        assert.equal(x.submitted, before);
        const wide = await x.order(alice, limit, { recvWindow: '10000' });
        assert.equal(wide.status, 200, wide.text);
      } finally {
        x.routesSkewMicros = 0;
      }
    });

    it('answers -1007 (503) when the core took the order but no answer came, -1008 when it is busy', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const limit = { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '50000', quantity: '0.1' };
      try {
        x.engineFailure = { code: 'link.status_unknown' };
        assertError(
          await x.order(alice, limit),
          503,
          -1007,
          'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        );
        x.engineFailure = { code: 'link.busy' };
        assertError(
          await x.order(alice, limit),
          503,
          -1008,
          'Server is currently overloaded with other requests. Please try again in a few minutes.',
        );
        x.engineFailure = { code: 'link.unavailable' };
        assertError(await x.call(alice, 'GET', '/api/v3/account'), 503, -1008);
        x.engineFailure = { code: 'link.closed' };
        assertError(await x.order(alice, limit), 503, -1016);
      } finally {
        x.engineFailure = undefined;
      }
    });
  });

  describe('POST /api/v3/order/test', () => {
    it('validates an order without placing it: {} (weight 1), or the commission rates (weight 20)', async () => {
      const alice = await x.funded({ USDT: '100000' });
      x.fees.byUser.set(alice.userId, { makerPpm: 800, takerPpm: 1200 });
      const limit = {
        symbol: 'BTCUSDT',
        side: 'BUY',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '50000',
        quantity: '0.1',
      };
      const before = x.submitted;
      const plain = await x.call(alice, 'POST', '/api/v3/order/test', limit);
      assert.equal(plain.status, 200, plain.text);
      assert.deepEqual(plain.json, {});
      const w1 = Number(plain.headers['x-mbx-used-weight-1m']);
      const rates = await x.call(alice, 'POST', '/api/v3/order/test', {
        ...limit,
        computeCommissionRates: 'true',
      });
      assert.equal(Number(rates.headers['x-mbx-used-weight-1m']) - w1, 20);
      assert.deepEqual(rates.json, {
        standardCommissionForOrder: { maker: '0.00080000', taker: '0.00120000' },
        specialCommissionForOrder: { maker: '0.00000000', taker: '0.00000000' },
        taxCommissionForOrder: { maker: '0.00000000', taker: '0.00000000' },
        discount: {
          enabledForAccount: false,
          enabledForSymbol: false,
          discountAsset: 'BNB',
          discount: '0.00000000',
        },
      });
      assert.equal(plain.headers['x-mbx-order-count-10s'], undefined);
      assertError(
        await x.call(alice, 'POST', '/api/v3/order/test', { ...limit, price: '0.001' }),
        400,
        -1013,
        'Filter failure: PRICE_FILTER',
      );
      assert.equal(x.submitted, before);
      assert.equal(x.view.openOrders(alice.userId).length, 0);
    });
  });

  describe('GET /api/v3/order', () => {
    it('finds an order by orderId and by origClientOrderId, and answers -2013 for one that does not exist', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '45000', '0.02', { newClientOrderId: 'find-me' });
      const placedAt = x.clock.millis;
      const byId = await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) });
      assert.equal(byId.status, 200, byId.text);
      assert.deepEqual(byId.json, {
        symbol: 'BTCUSDT',
        orderId: id,
        orderListId: -1,
        clientOrderId: 'find-me',
        price: '45000.00000000',
        origQty: '0.02000000',
        executedQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'NEW',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        stopPrice: '0.00000000',
        icebergQty: '0.00000000',
        time: placedAt,
        updateTime: placedAt,
        isWorking: true,
        workingTime: placedAt,
        origQuoteOrderQty: '0.00000000',
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
      const byCid = await x.call(alice, 'GET', '/api/v3/order', {
        symbol: 'BTCUSDT',
        origClientOrderId: 'find-me',
      });
      assert.deepEqual(byCid.json, byId.json);
      const none = 'Order does not exist.';
      assertError(
        await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: '999999' }),
        400,
        -2013,
        none,
      );
      assertError(
        await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'nobody' }),
        400,
        -2013,
        none,
      );
      // Both given: they must name the same order.
      assertError(
        await x.call(alice, 'GET', '/api/v3/order', {
          symbol: 'BTCUSDT',
          orderId: String(id),
          origClientOrderId: 'other',
        }),
        400,
        -2013,
      );
      // Someone else's order does not exist for you.
      const bob = x.client();
      assertError(
        await x.call(bob, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) }),
        400,
        -2013,
      );
      assertError(
        await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT' }),
        400,
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
      );
    });

    it('charges weight 4', async () => {
      const alice = x.client();
      const a = await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: '1' });
      const b = await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: '1' });
      assert.equal(Number(b.headers['x-mbx-used-weight-1m']) - Number(a.headers['x-mbx-used-weight-1m']), 4);
    });
  });

  describe('DELETE /api/v3/order and /api/v3/openOrders', () => {
    it("cancels by orderId, echoing the cancel's newClientOrderId", async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.01', { newClientOrderId: 'to-cancel' });
      const placedAt = x.clock.millis;
      const r = await x.call(alice, 'DELETE', '/api/v3/order', {
        symbol: 'BTCUSDT',
        orderId: String(id),
        newClientOrderId: 'my-cancel',
      });
      assert.equal(r.status, 200, r.text);
      assert.ok(placedAt < x.clock.millis);
      assert.deepEqual(r.json, {
        symbol: 'BTCUSDT',
        origClientOrderId: 'to-cancel',
        orderId: id,
        orderListId: -1,
        clientOrderId: 'my-cancel',
        transactTime: x.clock.millis,
        price: '41000.00000000',
        origQty: '0.01000000',
        executedQty: '0.00000000',
        origQuoteOrderQty: '0.00000000',
        cummulativeQuoteQty: '0.00000000',
        status: 'CANCELED',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
      assert.equal(r.headers['x-mbx-order-count-10s'], undefined);
      const q = await x.call(alice, 'GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) });
      assert.equal(q.json.status, 'CANCELED');
    });

    it('cancels by origClientOrderId', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.01', { newClientOrderId: 'by-cid' });
      const r = await x.call(alice, 'DELETE', '/api/v3/order', {
        symbol: 'BTCUSDT',
        origClientOrderId: 'by-cid',
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.orderId, id);
      assert.equal(r.json.status, 'CANCELED');
      assert.match(r.json.clientOrderId, /^cancel-/);
    });

    it('answers -2011 "Unknown order sent." for an order that is not open', async () => {
      const alice = await x.funded({ USDT: '100000' });
      assertError(
        await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: '987654' }),
        400,
        -2011,
        'Unknown order sent.',
      );
      assertError(
        await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'never' }),
        400,
        -2011,
        'Unknown order sent.',
      );
      const id = await x.rest(alice, 'BUY', '41000', '0.01');
      const ok = await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) });
      assert.equal(ok.status, 200);
      assertError(
        await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) }),
        400,
        -2011,
        'Unknown order sent.',
      );
    });

    it('cancels every open order of a symbol, and answers -2011 when none is open', async () => {
      const alice = await x.funded({ USDT: '100000', BTC: '1' });
      const a = await x.rest(alice, 'BUY', '41000', '0.01');
      const b = await x.rest(alice, 'SELL', '90000', '0.01');
      const r = await x.call(alice, 'DELETE', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.json.map((o: { orderId: number; status: string; side: string }) => [o.orderId, o.status, o.side]),
        [
          [a, 'CANCELED', 'BUY'],
          [b, 'CANCELED', 'SELL'],
        ],
      );
      assert.equal(x.view.openOrders(alice.userId).length, 0);
      assertError(
        await x.call(alice, 'DELETE', '/api/v3/openOrders', { symbol: 'BTCUSDT' }),
        400,
        -2011,
        'Unknown order sent.',
      );
      assertError(await x.call(alice, 'DELETE', '/api/v3/openOrders', {}), 400, -1102);
    });
  });

  describe('POST /api/v3/order/cancelReplace', () => {
    const replace = (extra: Record<string, string>) => ({
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      price: '42000',
      quantity: '0.01',
      ...extra,
    });

    it('cancels and places (STOP_ON_FAILURE), counting as an order', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.01', { newClientOrderId: 'old' });
      const r = await x.call(
        alice,
        'POST',
        '/api/v3/order/cancelReplace',
        replace({ cancelReplaceMode: 'STOP_ON_FAILURE', cancelOrderId: String(id), newClientOrderId: 'new' }),
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-mbx-order-count-10s'], '2');
      assert.equal(r.json.cancelResult, 'SUCCESS');
      assert.equal(r.json.newOrderResult, 'SUCCESS');
      assert.equal(r.json.cancelResponse.orderId, id);
      assert.equal(r.json.cancelResponse.origClientOrderId, 'old');
      assert.equal(r.json.cancelResponse.status, 'CANCELED');
      assert.equal(r.json.newOrderResponse.clientOrderId, 'new');
      assert.equal(r.json.newOrderResponse.status, 'NEW');
      assert.equal(r.json.newOrderResponse.price, '42000.00000000');
      assert.deepEqual(
        x.view.openOrders(alice.userId).map((o) => o.clientOrderId),
        ['new'],
      );
    });

    it('answers -2022 with data when the cancel fails under STOP_ON_FAILURE (nothing placed)', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const r = await x.call(
        alice,
        'POST',
        '/api/v3/order/cancelReplace',
        replace({ cancelReplaceMode: 'STOP_ON_FAILURE', cancelOrderId: '999999' }),
      );
      assertError(r, 400, -2022, 'Order cancel-replace failed.');
      assert.deepEqual(r.json.data, {
        cancelResult: 'FAILURE',
        newOrderResult: 'NOT_ATTEMPTED',
        cancelResponse: { code: -2011, msg: 'Unknown order sent.' },
        newOrderResponse: null,
      });
      assert.equal(x.view.openOrders(alice.userId).length, 0);
    });

    it('answers -2021 (409) when the cancel fails under ALLOW_FAILURE and the new order is placed', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const r = await x.call(
        alice,
        'POST',
        '/api/v3/order/cancelReplace',
        replace({ cancelReplaceMode: 'ALLOW_FAILURE', cancelOrigClientOrderId: 'ghost' }),
      );
      assertError(r, 409, -2021, 'Order cancel-replace partially failed.');
      assert.equal(r.json.data.cancelResult, 'FAILURE');
      assert.equal(r.json.data.newOrderResult, 'SUCCESS');
      assert.deepEqual(r.json.data.cancelResponse, { code: -2011, msg: 'Unknown order sent.' });
      assert.equal(r.json.data.newOrderResponse.status, 'NEW');
      assert.equal(x.view.openOrders(alice.userId).length, 1);
    });

    it('answers -2021 when the cancel succeeds and the new order is refused by the engine', async () => {
      const seller = await x.funded({ BTC: '1' });
      await x.rest(seller, 'SELL', '43000', '0.01');
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.01');
      const { timeInForce: _none, ...maker } = replace({
        cancelReplaceMode: 'ALLOW_FAILURE',
        cancelOrderId: String(id),
        type: 'LIMIT_MAKER',
        price: '43000',
      });
      const r = await x.call(alice, 'POST', '/api/v3/order/cancelReplace', maker);
      assertError(r, 409, -2021, 'Order cancel-replace partially failed.');
      assert.equal(r.json.data.cancelResult, 'SUCCESS');
      assert.equal(r.json.data.newOrderResult, 'FAILURE');
      assert.deepEqual(r.json.data.newOrderResponse, {
        code: -2010,
        msg: 'Order would immediately match and take.',
      });
      assert.equal(r.json.data.cancelResponse.orderId, id);
    });

    it('refuses a new order that fails a filter before cancelling anything', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.01');
      const r = await x.call(
        alice,
        'POST',
        '/api/v3/order/cancelReplace',
        replace({ cancelReplaceMode: 'STOP_ON_FAILURE', cancelOrderId: String(id), price: '42000.001' }),
      );
      assertError(r, 400, -1013, 'Filter failure: PRICE_FILTER');
      assertError(
        await x.call(alice, 'POST', '/api/v3/order/cancelReplace', replace({ cancelOrderId: String(id) })),
        400,
        -1102,
        "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or malformed.",
      );
      assert.equal(x.view.openOrders(alice.userId).length, 1);
    });
  });

  describe('PUT /api/v3/order/amend/keepPriority', () => {
    it("lowers the quantity and keeps the order's place", async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.05', { newClientOrderId: 'amend-me' });
      const r = await x.call(alice, 'PUT', '/api/v3/order/amend/keepPriority', {
        symbol: 'BTCUSDT',
        orderId: String(id),
        newQty: '0.02',
        newClientOrderId: 'amended',
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.transactTime, x.clock.millis);
      assert.ok(Number.isSafeInteger(r.json.executionId));
      assert.deepEqual(r.json.amendedOrder, {
        symbol: 'BTCUSDT',
        orderId: id,
        orderListId: -1,
        origClientOrderId: 'amend-me',
        clientOrderId: 'amended',
        price: '41000.00000000',
        qty: '0.02000000',
        executedQty: '0.00000000',
        preventedQty: '0.00000000',
        quoteOrderQty: '0.00000000',
        cumulativeQuoteQty: '0.00000000',
        status: 'NEW',
        timeInForce: 'GTC',
        type: 'LIMIT',
        side: 'BUY',
        workingTime: x.clock.millis - 1,
        selfTradePreventionMode: 'EXPIRE_MAKER',
      });
      const q = await x.call(alice, 'GET', '/api/v3/order', {
        symbol: 'BTCUSDT',
        origClientOrderId: 'amended',
      });
      assert.equal(q.json.origQty, '0.02000000');
    });

    it('refuses a higher quantity and an unknown order with -2038, sending nothing', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const id = await x.rest(alice, 'BUY', '41000', '0.05');
      const before = x.submitted;
      assertError(
        await x.call(alice, 'PUT', '/api/v3/order/amend/keepPriority', {
          symbol: 'BTCUSDT',
          orderId: String(id),
          newQty: '0.06',
        }),
        400,
        -2038,
        'Order amend (quantity increase) is not supported.',
      );
      assertError(
        await x.call(alice, 'PUT', '/api/v3/order/amend/keepPriority', {
          symbol: 'BTCUSDT',
          orderId: '999999',
          newQty: '0.01',
        }),
        400,
        -2038,
        'Unknown order sent.',
      );
      assertError(
        await x.call(alice, 'PUT', '/api/v3/order/amend/keepPriority', {
          symbol: 'BTCUSDT',
          orderId: String(id),
        }),
        400,
        -1102,
        "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed.",
      );
      assert.equal(x.submitted, before);
    });
  });

  describe('GET /api/v3/openOrders', () => {
    it('lists the open orders of one symbol (weight 6) or of all (weight 80)', async () => {
      const alice = await x.funded({ USDT: '100000', BTC: '10' });
      const a = await x.rest(alice, 'BUY', '41000', '0.01');
      const eth = await x.call(alice, 'POST', '/api/v3/order', {
        symbol: 'ETHBTC',
        side: 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '0.05',
        quantity: '1',
      });
      assert.equal(eth.status, 400, 'no ETH yet');
      await x.fund(alice.userId, 'ETH', '10');
      const e = await x.call(alice, 'POST', '/api/v3/order', {
        symbol: 'ETHBTC',
        side: 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        price: '0.05',
        quantity: '1',
      });
      assert.equal(e.status, 200, e.text);
      const one = await x.call(alice, 'GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
      assert.deepEqual(
        one.json.map((o: { orderId: number }) => o.orderId),
        [a],
      );
      assert.equal(one.json[0].status, 'NEW');
      assert.equal(one.json[0].symbol, 'BTCUSDT');
      const all = await x.call(alice, 'GET', '/api/v3/openOrders');
      assert.deepEqual(
        all.json.map((o: { symbol: string; orderId: number; price: string }) => [
          o.symbol,
          o.orderId,
          o.price,
        ]),
        [
          ['BTCUSDT', a, '41000.00000000'],
          ['ETHBTC', e.json.orderId, '0.05000000'],
        ],
      );
      const w = (r: Reply) => Number(r.headers['x-mbx-used-weight-1m']);
      const w0 = w(all);
      const w1 = w(await x.call(alice, 'GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' }));
      const w2 = w(await x.call(alice, 'GET', '/api/v3/openOrders'));
      assert.equal(w1 - w0, 6);
      assert.equal(w2 - w1, 80);
      assertError(
        await x.call(alice, 'GET', '/api/v3/openOrders', { symbol: 'XYZ' }),
        400,
        -1121,
        'Invalid symbol.',
      );
      assert.deepEqual((await x.call(x.client(), 'GET', '/api/v3/openOrders')).json, []);
    });
  });

  describe('GET /api/v3/allOrders', () => {
    it('merges the history store with the view: an order placed a moment ago is listed as it stands', async () => {
      const seller = await x.funded({ BTC: '1' });
      const alice = await x.funded({ USDT: '100000' });
      const old = await x.rest(alice, 'BUY', '41000', '0.01');
      await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(old) });
      await x.rest(seller, 'SELL', '44000', '0.01');
      x.history.paused = true;
      try {
        const open = await x.rest(alice, 'BUY', '40000', '0.01');
        const filled = await x.order(alice, { side: 'BUY', type: 'MARKET', quantity: '0.01' });
        assert.equal(filled.json.status, 'FILLED');
        const r = await x.call(alice, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT' });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(
          r.json.map((o: { orderId: number; status: string }) => [o.orderId, o.status]),
          [
            [old, 'CANCELED'],
            [open, 'NEW'],
            [filled.json.orderId, 'FILLED'],
          ],
        );
      } finally {
        x.history.resume();
      }
    });

    it('pages from an orderId and within a time window, and refuses a window over 24 hours', async () => {
      const alice = await x.funded({ USDT: '100000' });
      const ids: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await x.rest(alice, 'BUY', String(30000 + i), '0.01'));
        times.push(x.clock.millis);
      }
      const list = async (params: Record<string, string>) => {
        const r = await x.call(alice, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', ...params });
        assert.equal(r.status, 200, r.text);
        return r.json.map((o: { orderId: number }) => o.orderId);
      };
      assert.deepEqual(await list({}), ids);
      assert.deepEqual(await list({ limit: '2' }), ids.slice(3));
      assert.deepEqual(await list({ orderId: String(ids[1]), limit: '2' }), ids.slice(1, 3));
      assert.deepEqual(await list({ startTime: String(times[2]) }), ids.slice(2));
      assert.deepEqual(
        await list({ startTime: String(times[1]), endTime: String(times[3]) }),
        ids.slice(1, 4),
      );
      assert.deepEqual(await list({ endTime: String(times[0]) }), ids.slice(0, 1));
      assertError(
        await x.call(alice, 'GET', '/api/v3/allOrders', {
          symbol: 'BTCUSDT',
          startTime: '0',
          endTime: String(times[0]),
        }),
        400,
        -1127,
        'More than 24 hours between startTime and endTime.',
      );
      assertError(await x.call(alice, 'GET', '/api/v3/allOrders', {}), 400, -1102);
      assertError(
        await x.call(alice, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', limit: 'ten' }),
        400,
        -1100,
      );
      assertError(
        await x.call(alice, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', orderId: '-1' }),
        400,
        -1100,
      );
    });

    it('lists what only the history store still remembers, and never a REJECTED order', async () => {
      // A gateway whose view keeps no closed order: only the history store remembers them.
      const forgetful = await x.openGateway({ closedCapacity: 0 });
      const on = { gw: forgetful.gw };
      try {
        const alice = await x.funded({ USDT: '1000' });
        const id = await x.rest(alice, 'BUY', '41000', '0.01', { newClientOrderId: 'gone' });
        await x.call(alice, 'DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: String(id) }, on);
        assert.equal(forgetful.view.order(alice.userId, 0, id), undefined, 'the view forgot it');
        const refused = await x.order(
          alice,
          { side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '50000', quantity: '1' },
          on,
        );
        assertError(refused, 400, -2010);
        const all = await x.call(alice, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT' }, on);
        assert.deepEqual(
          all.json.map((o: { orderId: number; status: string }) => [o.orderId, o.status]),
          [[id, 'CANCELED']],
        );
        const q = await x.call(
          alice,
          'GET',
          '/api/v3/order',
          { symbol: 'BTCUSDT', origClientOrderId: 'gone' },
          on,
        );
        assert.equal(q.status, 200, q.text);
        assert.equal(q.json.orderId, id);
        assert.equal(q.json.status, 'CANCELED');
        assert.equal(q.json.price, '41000.00000000');
        assert.equal(q.json.origQty, '0.01000000');
        assert.equal(q.json.timeInForce, 'GTC');
        assert.equal(q.json.selfTradePreventionMode, 'EXPIRE_MAKER');
      } finally {
        await forgetful.close();
      }
    });
  });

  describe('GET /api/v3/myTrades', () => {
    it("lists a user's trades field for field, by order and from an id", async () => {
      const seller = await x.funded({ BTC: '1' });
      const buyer = await x.funded({ USDT: '100000' });
      await x.rest(seller, 'SELL', '50000', '0.01');
      await x.rest(seller, 'SELL', '50001', '0.01');
      const r = await x.order(buyer, { side: 'BUY', type: 'MARKET', quantity: '0.02' });
      assert.equal(r.json.fills.length, 2);
      const at = x.clock.millis;
      const trades = await x.call(buyer, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT' });
      assert.equal(trades.status, 200, trades.text);
      assert.deepEqual(trades.json[0], {
        symbol: 'BTCUSDT',
        id: r.json.fills[0].tradeId,
        orderId: r.json.orderId,
        orderListId: -1,
        price: '50000.00000000',
        qty: '0.01000000',
        quoteQty: '500.00000000',
        commission: '0.00001000',
        commissionAsset: 'BTC',
        time: at,
        isBuyer: true,
        isMaker: false,
        isBestMatch: true,
      });
      assert.equal(trades.json[1].price, '50001.00000000');
      const second = r.json.fills[1].tradeId as number;
      const from = await x.call(buyer, 'GET', '/api/v3/myTrades', {
        symbol: 'BTCUSDT',
        fromId: String(second),
      });
      assert.deepEqual(
        from.json.map((t: { id: number }) => t.id),
        [second],
      );
      const w = (q: Reply) => Number(q.headers['x-mbx-used-weight-1m']);
      const byOrder = await x.call(buyer, 'GET', '/api/v3/myTrades', {
        symbol: 'BTCUSDT',
        orderId: String(r.json.orderId),
      });
      assert.equal(byOrder.json.length, 2);
      assert.equal(w(byOrder) - w(from), 5);
      const sellerSide = await x.call(seller, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT', limit: '1' });
      assert.equal(sellerSide.json.length, 1);
      assert.equal(sellerSide.json[0].isBuyer, false);
      assert.equal(sellerSide.json[0].isMaker, true);
      assert.equal(sellerSide.json[0].commissionAsset, 'USDT');
      assert.equal(sellerSide.json[0].commission, '0.50001000');
      const micro = await x.call(
        buyer,
        'GET',
        '/api/v3/myTrades',
        { symbol: 'BTCUSDT' },
        { unit: 'MICROSECOND' },
      );
      assert.equal(micro.json[0].time, at * 1000);
    });

    it('refuses the parameter combinations Binance does not support (-1128)', async () => {
      const alice = x.client();
      const combos: Record<string, string>[] = [
        { orderId: '1', startTime: '1' },
        { fromId: '1', endTime: '1' },
        { fromId: '1', startTime: '1' },
      ];
      for (const c of combos) {
        assertError(
          await x.call(alice, 'GET', '/api/v3/myTrades', { symbol: 'BTCUSDT', ...c }),
          400,
          -1128,
          'Combination of optional parameters invalid.',
        );
      }
      const ok = await x.call(alice, 'GET', '/api/v3/myTrades', {
        symbol: 'BTCUSDT',
        orderId: '1',
        fromId: '1',
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json, []);
    });
  });

  describe('GET /api/v3/account, /api/v3/account/commission, /sapi/v1/asset/tradeFee', () => {
    it('answers the account field for field: balances with 8 places, rates, permissions', async () => {
      const alice = await x.funded({ USDT: '100000', BTC: '0.5' });
      await x.rest(alice, 'BUY', '40000', '0.1');
      const r = await x.call(alice, 'GET', '/api/v3/account');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, {
        makerCommission: 10,
        takerCommission: 10,
        buyerCommission: 0,
        sellerCommission: 0,
        commissionRates: {
          maker: '0.00100000',
          taker: '0.00100000',
          buyer: '0.00000000',
          seller: '0.00000000',
        },
        canTrade: true,
        canWithdraw: true,
        canDeposit: true,
        brokered: false,
        requireSelfTradePrevention: false,
        preventSor: false,
        updateTime: x.clock.millis,
        accountType: 'SPOT',
        balances: [
          { asset: 'BTC', free: '0.50000000', locked: '0.00000000' },
          { asset: 'ETH', free: '0.00000000', locked: '0.00000000' },
          { asset: 'USDT', free: '96000.00000000', locked: '4000.00000000' },
        ],
        permissions: ['SPOT'],
        uid: alice.userId,
      });
      const omit = await x.call(alice, 'GET', '/api/v3/account', { omitZeroBalances: 'true' });
      assert.deepEqual(
        omit.json.balances.map((b: { asset: string }) => b.asset),
        ['BTC', 'USDT'],
      );
      assertError(await x.call(alice, 'GET', '/api/v3/account', { omitZeroBalances: 'yes' }), 400, -1100);
    });

    it('says an unverified account (KYC tier 0) can neither trade nor withdraw', async () => {
      const newcomer = x.client({ kycTier: 0 });
      const r = await x.call(newcomer, 'GET', '/api/v3/account');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.canTrade, false);
      assert.equal(r.json.canWithdraw, false);
      assert.equal(r.json.canDeposit, true);
      assert.equal(r.json.balances.length, 3);
      assertError(
        await x.order(newcomer, {
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          price: '50000',
          quantity: '0.1',
        }),
        401,
        -2015,
      );
    });

    it("answers one symbol's commission rates and every symbol's trade fee", async () => {
      const alice = x.client();
      x.fees.byUser.set(alice.userId, { makerPpm: 750, takerPpm: 1000 });
      const c = await x.call(alice, 'GET', '/api/v3/account/commission', { symbol: 'ETHBTC' });
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(c.json, {
        symbol: 'ETHBTC',
        standardCommission: {
          maker: '0.00075000',
          taker: '0.00100000',
          buyer: '0.00000000',
          seller: '0.00000000',
        },
        specialCommission: {
          maker: '0.00000000',
          taker: '0.00000000',
          buyer: '0.00000000',
          seller: '0.00000000',
        },
        taxCommission: {
          maker: '0.00000000',
          taker: '0.00000000',
          buyer: '0.00000000',
          seller: '0.00000000',
        },
        discount: {
          enabledForAccount: false,
          enabledForSymbol: false,
          discountAsset: 'BNB',
          discount: '0.00000000',
        },
      });
      assertError(await x.call(alice, 'GET', '/api/v3/account/commission'), 400, -1102);
      const account = await x.call(alice, 'GET', '/api/v3/account');
      assert.equal(account.json.makerCommission, 7);
      assert.equal(account.json.commissionRates.maker, '0.00075000');
      const fees = await x.call(alice, 'GET', '/sapi/v1/asset/tradeFee');
      assert.deepEqual(fees.json, [
        { symbol: 'BTCUSDT', makerCommission: '0.00075', takerCommission: '0.001' },
        { symbol: 'ETHUSDT', makerCommission: '0.00075', takerCommission: '0.001' },
        { symbol: 'ETHBTC', makerCommission: '0.00075', takerCommission: '0.001' },
      ]);
      const one = await x.call(alice, 'GET', '/sapi/v1/asset/tradeFee', { symbol: 'ETHUSDT' });
      assert.deepEqual(one.json, [
        { symbol: 'ETHUSDT', makerCommission: '0.00075', takerCommission: '0.001' },
      ]);
      assertError(await x.call(alice, 'GET', '/sapi/v1/asset/tradeFee', { symbol: 'DOGEUSDT' }), 400, -1121);
    });
  });

  describe('input that is wrong', () => {
    it('never answers a 5xx: every endpoint refuses malformed parameters with a 4xx', async () => {
      const alice = await x.funded({ USDT: '1000', BTC: '1' });
      const endpoints: ['GET' | 'POST' | 'PUT' | 'DELETE', string][] = [
        ['POST', '/api/v3/order'],
        ['POST', '/api/v3/order/test'],
        ['GET', '/api/v3/order'],
        ['DELETE', '/api/v3/order'],
        ['DELETE', '/api/v3/openOrders'],
        ['POST', '/api/v3/order/cancelReplace'],
        ['PUT', '/api/v3/order/amend/keepPriority'],
        ['GET', '/api/v3/openOrders'],
        ['GET', '/api/v3/allOrders'],
        ['GET', '/api/v3/myTrades'],
        ['GET', '/api/v3/account'],
        ['GET', '/api/v3/account/commission'],
        ['GET', '/sapi/v1/asset/tradeFee'],
      ];
      const junk: Record<string, string>[] = [
        { symbol: '' },
        { symbol: 'ÉTHBTC' },
        { symbol: 'BTCUSDT', orderId: '1e5' },
        { symbol: 'BTCUSDT', orderId: '99999999999999999999' },
        { symbol: 'BTCUSDT', origClientOrderId: '' },
        { symbol: 'BTCUSDT', limit: '0' },
        { symbol: 'BTCUSDT', startTime: '-5' },
        { symbol: 'BTCUSDT', endTime: '99999999999999999999' },
        { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '1e3', quantity: '0.1' },
        { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0', cancelReplaceMode: 'BOTH' },
        { symbol: 'BTCUSDT', newQty: '-1', orderId: '1' },
        { symbol: 'BTCUSDT', omitZeroBalances: '1', computeCommissionRates: 'maybe' },
        { symbol: 'BTCUSDT', '\u0000': '\u0000' },
      ];
      for (const [method, path] of endpoints) {
        for (const params of junk) {
          const r = await x.call(alice, method, path, params);
          assert.ok(r.status < 500, `${method} ${path} ${JSON.stringify(params)} -> ${r.status} ${r.text}`);
          if (r.status >= 400) assert.equal(typeof r.json.code, 'number', r.text);
        }
      }
    });
  });
});
