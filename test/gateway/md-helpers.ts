/**
 * Shared helpers for the market data specifications: the markets of config/markets.json, an
 * InlineEngine with funded users, random command streams (fast-check), and a client that
 * keeps a local order book the way Binance documents it (REST snapshot + buffered diffs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  CancelReplaceMode,
  CancelRestriction,
  type CommandInput,
  InlineEngine,
  type Market,
  Markets,
  type MarketsFile,
  OrderType,
  orderId,
  priceToTicks,
  qtyToLots,
  type RecordViews,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { MarketData, type MarketDataOptions } from '../../gateway/market-data/market-data.ts';
import type { Clock } from '../../gateway/ports.ts';

/** The operator's markets file: BTCUSDT, ETHUSDT, ETHBTC (all assets at scale 8). */
export function loadMarkets(): Markets {
  return new Markets(JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile);
}

/** Symbol ids in config/markets.json. */
export const BTCUSDT = 0;
export const ETHUSDT = 1;
export const ETHBTC = 2;

/** Users 1..4, each credited plenty of every asset. */
export const USERS = [1, 2, 3, 4];

/** An engine with the markets of config/markets.json and funded users. */
export function fundedEngine(markets: Markets, tsMicros = 1_700_000_000_000_000): InlineEngine {
  const engine = new InlineEngine(markets);
  let ref = 1;
  for (const u of USERS) {
    for (let asset = 0; asset < markets.assets.size; asset++) {
      engine.submit(
        { kind: 'Deposit', userId: userId(u), assetId: asset, amountUnits: 10 ** 15, refId: ref++ },
        tsMicros,
      );
    }
  }
  return engine;
}

/** A listener in the core's shape, fed from an engine's last command. */
export type Listener = (views: RecordViews, from: number, count: number) => void;

/** Runs one command and hands its events to `listener`, as the core's release would. */
export function run(engine: InlineEngine, input: CommandInput, tsMicros: number, listener: Listener): void {
  try {
    engine.submit(input, tsMicros);
  } catch {
    // The sequencer refuses inputs it cannot encode; a random stream may produce one.
    return;
  }
  listener(engine.out.views, 0, engine.out.count);
}

/** Around which price (in ticks) each test symbol trades, and its order sizes in lots. */
const PRICING: Record<number, { mid: number; minLots: number; maxLots: number }> = {
  [BTCUSDT]: { mid: 5_000_000, minLots: 10, maxLots: 400 },
  [ETHBTC]: { mid: 5_000, minLots: 2, maxLots: 200 },
};

/**
 * One random book command on BTCUSDT or ETHBTC: limits of every time in force, LIMIT_MAKER,
 * MARKET by quantity, cancels, cancel-all, amends (keeping or losing priority) and
 * cancel-replaces, with every STP mode. Order references are indexes into the orders placed
 * so far (the sequencer numbers orders 1, 2, ...).
 */
export const commandArb = fc.record({
  what: fc.constantFrom(
    'limit',
    'limit',
    'limit',
    'ioc',
    'fok',
    'maker',
    'market',
    'cancel',
    'cancelAll',
    'amend',
    'replace',
  ),
  symbol: fc.constantFrom(BTCUSDT, ETHBTC),
  user: fc.constantFrom(...USERS),
  side: fc.constantFrom(Side.BUY, Side.SELL),
  offset: fc.integer({ min: -6, max: 6 }),
  lots: fc.integer({ min: 0, max: 1000 }),
  ref: fc.nat(),
  stp: fc.constantFrom(
    StpMode.DEFAULT,
    StpMode.NONE,
    StpMode.EXPIRE_TAKER,
    StpMode.EXPIRE_BOTH,
    StpMode.DECREMENT,
  ),
});

/** A generated command, before order references are resolved. */
export type CommandSpec = typeof commandArb extends fc.Arbitrary<infer T> ? T : never;

/** The command a spec stands for, given how many orders were placed before it. */
export function toCommand(r: CommandSpec, placed: number): CommandInput {
  const pricing = PRICING[r.symbol]!;
  // Buyers bid a little below the mid and sellers ask a little above, with overlap: books
  // build up and cross often.
  const price = pricing.mid + r.offset + (r.side === Side.BUY ? -2 : 2);
  const lots = pricing.minLots + (r.lots % (pricing.maxLots - pricing.minLots));
  const target = orderId(placed === 0 ? 1 : 1 + (r.ref % placed));
  const base = { symbolId: symbolId(r.symbol), userId: userId(r.user) };
  const order = {
    ...base,
    side: r.side,
    stpMode: r.stp,
    priceTicks: price,
    qtyLots: lots,
    quoteQtyUnits: 0,
    clientOrderId: '',
  };
  switch (r.what) {
    case 'limit':
      return { kind: 'PlaceOrder', ...order, orderType: OrderType.LIMIT, timeInForce: TimeInForce.GTC };
    case 'ioc':
      return { kind: 'PlaceOrder', ...order, orderType: OrderType.LIMIT, timeInForce: TimeInForce.IOC };
    case 'fok':
      return { kind: 'PlaceOrder', ...order, orderType: OrderType.LIMIT, timeInForce: TimeInForce.FOK };
    case 'maker':
      return {
        kind: 'PlaceOrder',
        ...order,
        orderType: OrderType.LIMIT_MAKER,
        timeInForce: TimeInForce.NONE,
      };
    case 'market':
      return {
        kind: 'PlaceOrder',
        ...order,
        priceTicks: 0,
        orderType: OrderType.MARKET,
        timeInForce: TimeInForce.NONE,
      };
    case 'cancel':
      return {
        kind: 'CancelOrder',
        ...base,
        orderId: target,
        clientOrderId: '',
        cancelRestriction: CancelRestriction.NONE,
      };
    case 'cancelAll':
      return { kind: 'CancelAllOrders', ...base };
    case 'amend':
      return {
        kind: 'AmendOrder',
        ...base,
        orderId: target,
        clientOrderId: '',
        // Half keep the price (quantity down keeps priority, up loses it), half move it.
        priceTicks: r.ref % 2 === 0 ? 0 : price,
        qtyLots: lots,
        newClientOrderId: '',
      };
    case 'replace':
      return {
        kind: 'CancelReplaceOrder',
        ...order,
        orderType: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC,
        cancelOrderId: target,
        cancelClientOrderId: '',
        cancelReplaceMode:
          r.ref % 3 === 0 ? CancelReplaceMode.ALLOW_FAILURE : CancelReplaceMode.STOP_ON_FAILURE,
        cancelRestriction: CancelRestriction.NONE,
      };
  }
}

/** How many order ids a command consumes (the sequencer numbers placements only). */
export function placements(input: CommandInput): number {
  return input.kind === 'PlaceOrder' || input.kind === 'CancelReplaceOrder' ? 1 : 0;
}

/** A `depthUpdate` payload, parsed. */
export interface DepthDiff {
  e: 'depthUpdate';
  E: number;
  s: string;
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

/** A REST depth snapshot, parsed. */
export interface Snapshot {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

/**
 * A client keeping a local order book exactly as Binance's documentation says: buffer the
 * diff stream, take a REST snapshot, drop diffs with u <= lastUpdateId, require the first
 * applied diff to have U <= lastUpdateId + 1 <= u, then U == previous u + 1; quantities are
 * absolute and "0" removes a level.
 */
export class SyncClient {
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  private buffer: DepthDiff[] = [];
  private synced = false;
  private last = 0;
  private first = true;
  applied = 0;

  onDiff(d: DepthDiff): void {
    if (!this.synced) this.buffer.push(d);
    else this.process(d);
  }

  onSnapshot(s: Snapshot): void {
    for (const [p, q] of s.bids) this.bids.set(p, q);
    for (const [p, q] of s.asks) this.asks.set(p, q);
    this.last = s.lastUpdateId;
    this.synced = true;
    for (const d of this.buffer) this.process(d);
    this.buffer = [];
  }

  private process(d: DepthDiff): void {
    if (d.u <= this.last) return;
    if (this.first) {
      assert.ok(
        d.U <= this.last + 1 && this.last + 1 <= d.u,
        `first diff ${d.U}..${d.u} after snapshot ${this.last}`,
      );
      this.first = false;
    } else {
      assert.equal(d.U, this.last + 1, `diff ${d.U}..${d.u} does not follow ${this.last}`);
    }
    for (const [p, q] of d.b) {
      if (Number(q) === 0) this.bids.delete(p);
      else this.bids.set(p, q);
    }
    for (const [p, q] of d.a) {
      if (Number(q) === 0) this.asks.delete(p);
      else this.asks.set(p, q);
    }
    this.last = d.u;
    this.applied++;
  }

  /** Best first, like a snapshot. */
  levels(): { bids: [string, string][]; asks: [string, string][] } {
    const bids = [...this.bids].sort((x, y) => Number(y[0]) - Number(x[0]));
    const asks = [...this.asks].sort((x, y) => Number(x[0]) - Number(y[0]));
    return { bids, asks };
  }
}

/** Collects every emitted message by stream. */
export class Collector {
  readonly messages: { stream: string; payload: string }[] = [];

  readonly emit = (stream: string, payload: string): void => {
    this.messages.push({ stream, payload });
  };

  /** Parsed payloads of one stream, in order. */
  of<T = unknown>(stream: string): T[] {
    return this.messages.filter((m) => m.stream === stream).map((m) => JSON.parse(m.payload) as T);
  }

  /** Stream names seen, in order of first appearance. */
  streams(): string[] {
    return [...new Set(this.messages.map((m) => m.stream))];
  }

  clear(): void {
    this.messages.length = 0;
  }
}

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public micros = 1_700_000_000_000_000) {}

  nowMicros(): number {
    return this.micros;
  }

  get ms(): number {
    return Math.floor(this.micros / 1000);
  }
}

/**
 * An engine with funded users, a MarketData listening to it, a collector of everything it
 * emits and a clock: commands are stamped with the clock's time.
 */
export class Harness {
  readonly markets = loadMarkets();
  readonly clock: FakeClock;
  readonly engine: InlineEngine;
  readonly out = new Collector();
  readonly md: MarketData;
  /** Order ids of the placements, in order. */
  placed = 0;
  /** More listeners fed after `md` (and ticked by `advance`). */
  readonly others: MarketData[] = [];
  /** Plain listeners fed every command's events (after `md` and `others`). */
  readonly taps: Listener[] = [];

  constructor(
    options: Partial<Omit<MarketDataOptions, 'markets' | 'clock'>> = {},
    startMs = 1_700_000_000_000,
  ) {
    this.clock = new FakeClock(startMs * 1000);
    this.engine = fundedEngine(this.markets, this.clock.micros);
    this.md = new MarketData({
      markets: this.markets,
      clock: this.clock,
      onMessage: this.out.emit,
      afterSeq: this.engine.sequencer.nextSeq - 1,
      closeDelayMillis: 0,
      ...options,
    });
  }

  /** Runs a command at the clock's time; returns the order id it was given (placements). */
  submit(input: CommandInput): number {
    this.placed += placements(input);
    try {
      this.engine.submit(input, this.clock.micros);
    } catch {
      // The sequencer refuses inputs it cannot encode; a random stream may produce one.
      return this.placed;
    }
    this.md.listener(this.engine.out.views, 0, this.engine.out.count);
    for (const o of this.others) o.listener(this.engine.out.views, 0, this.engine.out.count);
    for (const t of this.taps) t(this.engine.out.views, 0, this.engine.out.count);
    return this.placed;
  }

  private market(symbol: number): Market {
    return this.markets.list[symbol]!;
  }

  private ticks(symbol: number, price: string): number {
    const r = priceToTicks(this.market(symbol), price);
    if (!r.ok) throw new Error(`bad test price ${price}`);
    return r.ticks;
  }

  private lots(symbol: number, qty: string): number {
    const r = qtyToLots(this.market(symbol), qty);
    if (!r.ok) throw new Error(`bad test quantity ${qty}`);
    return r.lots;
  }

  /** A LIMIT order (GTC unless told); returns its order id. */
  limit(
    user: number,
    symbol: number,
    side: Side,
    price: string,
    qty: string,
    tif: TimeInForce = TimeInForce.GTC,
  ): number {
    return this.submit({
      kind: 'PlaceOrder',
      symbolId: symbolId(symbol),
      userId: userId(user),
      side,
      orderType: OrderType.LIMIT,
      timeInForce: tif,
      stpMode: StpMode.NONE,
      priceTicks: this.ticks(symbol, price),
      qtyLots: this.lots(symbol, qty),
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  }

  /** A MARKET order by quantity. */
  marketOrder(user: number, symbol: number, side: Side, qty: string): number {
    return this.submit({
      kind: 'PlaceOrder',
      symbolId: symbolId(symbol),
      userId: userId(user),
      side,
      orderType: OrderType.MARKET,
      timeInForce: TimeInForce.NONE,
      stpMode: StpMode.NONE,
      priceTicks: 0,
      qtyLots: this.lots(symbol, qty),
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  }

  /** Cancels an order. */
  cancel(user: number, symbol: number, id: number): void {
    this.submit({
      kind: 'CancelOrder',
      symbolId: symbolId(symbol),
      userId: userId(user),
      orderId: orderId(id),
      clientOrderId: '',
      cancelRestriction: CancelRestriction.NONE,
    });
  }

  /** Moves the clock and runs the ticks that are due. */
  advance(ms: number): void {
    this.clock.micros += ms * 1000;
    this.md.tick();
    for (const o of this.others) o.tick();
  }
}
