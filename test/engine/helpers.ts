/**
 * Shared helpers for the engine's specification tests: a simple test market (1 tick = 1 lot
 * = 1 quote unit, so a notional is price x quantity), builders for every command with
 * sensible defaults, and a harness that stamps commands (seq, timestamp, order id) the way
 * the sequencer would, runs them through the book and decodes the binary events it wrote.
 */
import assert from 'node:assert/strict';
import {
  type AmendOrder,
  type AssetSpec,
  type BookCommand,
  type BookEvent,
  type CancelAllOrders,
  type CancelOrder,
  CancelReplaceMode,
  type CancelReplaceOrder,
  CancelRestriction,
  decodeEvents,
  defineMarket,
  EventWriter,
  type Market,
  type MarketSpec,
  OrderBook,
  type OrderBookOptions,
  type OrderId,
  OrderType,
  orderId,
  type PlaceOrder,
  Side,
  StpMode,
  seq,
  symbolId,
  TimeInForce,
  type UserId,
  userId,
} from '../../engine/index.ts';

/** Assets of the test markets: whole units only, so every amount is a plain integer. */
export const TEST_ASSETS: ReadonlyMap<string, AssetSpec> = new Map([
  ['XYZ', { asset: 'XYZ', scale: 0 }],
  ['USD', { asset: 'USD', scale: 0 }],
  ['BTC', { asset: 'BTC', scale: 8 }],
  ['USDT', { asset: 'USDT', scale: 8 }],
]);

/** The simple test market: tick 1, lot 1, notional = priceTicks x qtyLots quote units. */
export const SIMPLE_SPEC: MarketSpec = {
  symbol: 'XYZUSD',
  baseAsset: 'XYZ',
  quoteAsset: 'USD',
  tickSize: '1',
  stepSize: '1',
  minPrice: '1',
  maxPrice: '1000000',
  minQty: '1',
  maxQty: '1000000',
  minNotional: '1',
};

/** The simple test market, with any fields overridden. */
export function simpleMarket(overrides: Partial<MarketSpec> = {}, id = 0): Market {
  return defineMarket(id, { ...SIMPLE_SPEC, ...overrides }, TEST_ASSETS);
}

export const U1 = userId(1);
export const U2 = userId(2);
export const U3 = userId(3);
export const BUY = Side.BUY;
export const SELL = Side.SELL;

/** A place-order command with defaults (LIMIT GTC BUY, market-default STP, no client id). */
export function placeCmd(f: Partial<Omit<PlaceOrder, 'kind'>> = {}): PlaceOrder {
  return {
    kind: 'PlaceOrder',
    seq: seq(1),
    tsMicros: 1,
    symbolId: symbolId(0),
    userId: U1,
    orderId: orderId(1),
    side: Side.BUY,
    orderType: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    stpMode: StpMode.DEFAULT,
    priceTicks: 0,
    qtyLots: 0,
    quoteQtyUnits: 0,
    clientOrderId: '',
    ...f,
  };
}

/** A cancel command with defaults (user 1, no restriction). */
export function cancelCmd(f: Partial<Omit<CancelOrder, 'kind'>> = {}): CancelOrder {
  return {
    kind: 'CancelOrder',
    seq: seq(1),
    tsMicros: 1,
    symbolId: symbolId(0),
    userId: U1,
    orderId: orderId(0),
    clientOrderId: '',
    cancelRestriction: CancelRestriction.NONE,
    ...f,
  };
}

/** A cancel-all command. */
export function cancelAllCmd(f: Partial<Omit<CancelAllOrders, 'kind'>> = {}): CancelAllOrders {
  return { kind: 'CancelAllOrders', seq: seq(1), tsMicros: 1, symbolId: symbolId(0), userId: U1, ...f };
}

/** An amend command with defaults (keep price, keep client order id). */
export function amendCmd(f: Partial<Omit<AmendOrder, 'kind'>> = {}): AmendOrder {
  return {
    kind: 'AmendOrder',
    seq: seq(1),
    tsMicros: 1,
    symbolId: symbolId(0),
    userId: U1,
    orderId: orderId(0),
    clientOrderId: '',
    priceTicks: 0,
    qtyLots: 0,
    newClientOrderId: '',
    ...f,
  };
}

/** A cancel-replace command with defaults (STOP_ON_FAILURE, LIMIT GTC BUY). */
export function cancelReplaceCmd(f: Partial<Omit<CancelReplaceOrder, 'kind'>> = {}): CancelReplaceOrder {
  return {
    ...placeCmd(),
    kind: 'CancelReplaceOrder',
    cancelOrderId: orderId(0),
    cancelClientOrderId: '',
    cancelReplaceMode: CancelReplaceMode.STOP_ON_FAILURE,
    cancelRestriction: CancelRestriction.NONE,
    ...f,
  };
}

/** Runs one command on a book and returns its events, decoded from the binary records. */
export function execute(book: OrderBook, cmd: BookCommand, out = new EventWriter(8)): BookEvent[] {
  out.reset();
  book.execute(cmd, out);
  return decodeEvents(out.views, out.count) as BookEvent[];
}

/** What a placement returns: the id the harness assigned and the events. */
export interface Placed {
  readonly id: OrderId;
  readonly events: BookEvent[];
}

type PlaceOpts = Partial<Omit<PlaceOrder, 'kind' | 'seq' | 'tsMicros' | 'symbolId'>>;

/**
 * A book plus a sequencer: every command gets the next seq and a timestamp 10 us later than
 * the last, and every placement the next order id (from 1), unless the caller gives one.
 */
export class Harness {
  readonly book: OrderBook;
  readonly out = new EventWriter(4);
  seq = 0;
  ts = 1_000_000;
  nextOrderId = 1;
  /** Every event the harness has seen, in order. */
  readonly log: BookEvent[] = [];

  constructor(
    readonly market: Market = simpleMarket(),
    options: OrderBookOptions = {},
    book?: OrderBook,
  ) {
    this.book = book ?? new OrderBook(market, options);
  }

  private stamp(): { seq: ReturnType<typeof seq>; tsMicros: number; symbolId: ReturnType<typeof symbolId> } {
    this.seq += 1;
    this.ts += 10;
    return { seq: seq(this.seq), tsMicros: this.ts, symbolId: this.market.symbolId };
  }

  /** Runs a command as given (no stamping). */
  run(cmd: BookCommand): BookEvent[] {
    const events = execute(this.book, cmd, this.out);
    this.log.push(...events);
    return events;
  }

  place(f: PlaceOpts): Placed {
    const id = f.orderId ?? orderId(this.nextOrderId++);
    return { id, events: this.run(placeCmd({ ...f, ...this.stamp(), orderId: id })) };
  }

  /** A LIMIT order (GTC unless `timeInForce` says otherwise). */
  limit(user: UserId, side: Side, priceTicks: number, qtyLots: number, f: PlaceOpts = {}): Placed {
    return this.place({ userId: user, side, priceTicks, qtyLots, ...f });
  }

  buy(user: UserId, priceTicks: number, qtyLots: number, f: PlaceOpts = {}): Placed {
    return this.limit(user, Side.BUY, priceTicks, qtyLots, f);
  }

  sell(user: UserId, priceTicks: number, qtyLots: number, f: PlaceOpts = {}): Placed {
    return this.limit(user, Side.SELL, priceTicks, qtyLots, f);
  }

  /** A MARKET order by base quantity. */
  marketOrder(user: UserId, side: Side, qtyLots: number, f: PlaceOpts = {}): Placed {
    return this.place({
      userId: user,
      side,
      orderType: OrderType.MARKET,
      timeInForce: TimeInForce.NONE,
      qtyLots,
      ...f,
    });
  }

  /** A MARKET order by quote amount. */
  marketQuote(user: UserId, side: Side, quoteQtyUnits: number, f: PlaceOpts = {}): Placed {
    return this.place({
      userId: user,
      side,
      orderType: OrderType.MARKET,
      timeInForce: TimeInForce.NONE,
      quoteQtyUnits,
      ...f,
    });
  }

  /** A LIMIT_MAKER (post-only) order. */
  maker(user: UserId, side: Side, priceTicks: number, qtyLots: number, f: PlaceOpts = {}): Placed {
    return this.place({
      userId: user,
      side,
      orderType: OrderType.LIMIT_MAKER,
      timeInForce: TimeInForce.NONE,
      priceTicks,
      qtyLots,
      ...f,
    });
  }

  cancel(f: Partial<Omit<CancelOrder, 'kind' | 'seq' | 'tsMicros' | 'symbolId'>>): BookEvent[] {
    return this.run(cancelCmd({ ...f, ...this.stamp() }));
  }

  cancelAll(user: UserId): BookEvent[] {
    return this.run(cancelAllCmd({ userId: user, ...this.stamp() }));
  }

  amend(f: Partial<Omit<AmendOrder, 'kind' | 'seq' | 'tsMicros' | 'symbolId'>>): BookEvent[] {
    return this.run(amendCmd({ ...f, ...this.stamp() }));
  }

  cancelReplace(f: Partial<Omit<CancelReplaceOrder, 'kind' | 'seq' | 'tsMicros' | 'symbolId'>>): Placed {
    const id = f.orderId ?? orderId(this.nextOrderId++);
    return { id, events: this.run(cancelReplaceCmd({ ...f, ...this.stamp(), orderId: id })) };
  }

  /** The ids of each level's orders, best level first: `[[price, [ids...]], ...]`. */
  queue(side: Side): [number, number[]][] {
    const l3 = this.book.l3();
    return (side === Side.BUY ? l3.bids : l3.asks).map((l) => [l.priceTicks, l.orders.map((o) => o.orderId)]);
  }
}

/** Only the events of one kind, narrowed. */
export function ofKind<K extends BookEvent['kind']>(
  events: readonly BookEvent[],
  kind: K,
): Extract<BookEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<BookEvent, { kind: K }> => e.kind === kind);
}

/** The event kinds, in order. */
export function kinds(events: readonly BookEvent[]): string[] {
  return events.map((e) => e.kind);
}

type Expect = { readonly kind: BookEvent['kind'] } & Readonly<Record<string, unknown>>;

/**
 * Asserts that `actual` has exactly as many events as `expected`, of the same kinds in the
 * same order, and that every field named in an expected event has exactly that value.
 */
export function expectEvents(actual: readonly BookEvent[], expected: readonly Expect[]): void {
  const show = (): string => JSON.stringify(actual, null, 1);
  assert.equal(actual.length, expected.length, `expected ${expected.length} events, got:\n${show()}`);
  expected.forEach((exp, i) => {
    const act = actual[i] as unknown as Record<string, unknown>;
    const picked: Record<string, unknown> = {};
    for (const key of Object.keys(exp)) picked[key] = act[key];
    assert.deepEqual(picked, { ...exp }, `event ${i} differs; all events:\n${show()}`);
  });
}

/** A seeded pseudo-random generator (mulberry32), for deterministic shuffles in tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle with a seeded generator. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  const r = rng(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
