/**
 * Market data for one process: takes the engine's ordered event stream and a clock, and
 * emits every Binance stream payload once, encoded (`onMessage(stream, payload)`, stream
 * names exactly as Binance spells them: 'btcusdt@depth@100ms', '!miniTicker@arr'); answers
 * the REST market data queries; and saves and restores its whole state, so that a cache can
 * hold the latest depth (with its update id), tickers and klines and a new process starts
 * from it without a gap.
 *
 * Pure: no network, no database, no timers unless `start()` is called. The fan-out (bus,
 * Redis, WebSocket topics) is someone else's: payloads are encoded here once per stream,
 * never once per subscriber.
 *
 *   events ─▶ depth (levels, update ids) ─▶ @bookTicker at once; @depth diffs and @depthN at the 100/1000 ms ticks
 *          └▶ trades ─▶ @trade at once, @aggTrade at the end of the command
 *                    ├▶ klines ─▶ @kline_<i> once per event batch, and closed (x: true)
 *                    └▶ tickers (minute buckets) ─▶ @ticker, @miniTicker, !miniTicker@arr, @ticker_<w>, @avgPrice each 1000 ms
 *
 * Time: E (event time) is the clock's; trade and kline times are the engine's stamps.
 */
import type { Market, Markets, RecordViews } from '../../engine/index.ts';
import type { Clock } from '../ports.ts';
import { DEFAULT_DEPTH_LIMIT, type DepthSnapshot, type DepthState, DepthTracker } from './depth-book.ts';
import {
  badCombination,
  badInterval,
  badParam,
  type MdResult,
  ok,
  tooManySymbols,
  unknownSymbol,
  windowTooLong,
} from './errors.ts';
import { isLast, K_TRADE, kindOf, S, seqOf, sideOf, slot, symbolOf, tsMicrosOf } from './event-fields.ts';
import {
  DEFAULT_KLINES_LIMIT,
  isInterval,
  type KlineRow,
  KlineTracker,
  MAX_KLINES_LIMIT,
  parseTimeZone,
  type RestKline,
} from './klines.ts';
import { ALL_STREAMS, type Interest, MarketFormat } from './numbers.ts';
import {
  type AvgPrice,
  type BestLevels,
  parseWindowSize,
  type Ticker24hFull,
  type TickerMini,
  type TickersState,
  TickerTracker,
  type TickerWindowFull,
} from './tickers.ts';
import {
  AGG_WINDOW_MICROS,
  DEFAULT_TRADES_LIMIT,
  type HistoricTrade,
  MAX_TRADES_LIMIT,
  type RestAggTrade,
  type RestTrade,
  type TimeUnit,
  type TradeHistorySource,
  type TradesState,
  TradeTracker,
} from './trades.ts';

/** Where encoded payloads go. */
export type OnMessage = (stream: string, payload: string) => void;

/** What a MarketData needs. */
export interface MarketDataOptions {
  /** The markets (config/markets.json), in symbol id order. */
  readonly markets: Markets | readonly Market[];
  /** Wall clock (injectable for tests). */
  readonly clock: Clock;
  /** Receives every payload, once per stream. Should not throw: a payload it throws on is lost (counted in `emitErrors`). */
  readonly onMessage: OnMessage;
  /** Older trades (the trade store), for REST answers beyond memory. */
  readonly history?: TradeHistorySource;
  /** Trades kept per symbol (default 10,000). */
  readonly tradeCapacity?: number;
  /** Closed klines with trades kept per symbol and interval (default 1000). */
  readonly klineCapacity?: number;
  /**
   * On an idle engine, how long after a kline's end the clock closes it (default 250 ms):
   * time for events stamped before the end to be released. With events flowing, klines
   * close on the first event stamped after their end, exactly.
   */
  readonly closeDelayMillis?: number;
  /**
   * Partial book streams (`<s>@depthN[@100ms]`): pushed on every tick as Binance does
   * (default), or only when the book changed.
   */
  readonly partialDepthOnChangeOnly?: boolean;
  /**
   * The seq the builder's (empty) state stands at, default 0: events up to it are skipped.
   * A builder attached to a core whose books are empty at seq N starts with N.
   */
  readonly afterSeq?: number;
  /**
   * Whether a stream has anyone to receive it (the fan-out knows): payloads of unwanted
   * streams are not encoded at all; their state is kept all the same. Default: every stream.
   */
  readonly wants?: Interest;
  /**
   * Called once when the builder stops following the engine: the event stream skipped seqs
   * (events were missed) or the events contradicted the state (an amend of an order it does
   * not know). From then on events are ignored and nothing more is emitted, until
   * `restore()` brings a newer state: wrong market data is worse than none. The listener
   * never throws into the core.
   */
  readonly onFault?: (reason: string) => void;
}

/** Everything a MarketData holds, for a cache (plain JSON). */
export interface MarketDataState {
  readonly version: 1;
  /** The seq of the last command applied: events up to it are in the state. */
  readonly seq: number;
  readonly symbols: Record<string, SymbolState>;
}

/** One symbol's part of the state. */
export interface SymbolState {
  readonly depth: DepthState;
  readonly trades: TradesState;
  readonly klines: Record<string, { current: KlineRow | null; closed: KlineRow[] }>;
  readonly tickers: TickersState;
}

/** Ticker answer shapes (`type` FULL or MINI). */
export type TickerType = 'FULL' | 'MINI';

/** The largest `symbols` list of the ticker endpoints. */
export const MAX_SYMBOLS = 100;

/** Every symbol, one, or a list: how the ticker endpoints are asked. */
export type SymbolsQuery = string | readonly string[] | undefined;

/**
 * One symbol's answer, or a list's (Binance answers `symbol=` with an object, `symbols=` and
 * no symbol at all with an array).
 */
export type OneOrMany<T> = T | T[];

/** The market data builder of one process. */
export class MarketData {
  readonly formats: readonly MarketFormat[];
  private readonly bySymbol = new Map<string, number>();
  private readonly depth: DepthTracker;
  private readonly trades: TradeTracker;
  private readonly klines: KlineTracker;
  private readonly tickers: TickerTracker;
  private readonly history: TradeHistorySource | undefined;
  private readonly clock: Clock;
  private readonly closeDelay: number;
  private readonly partialOnChange: boolean;
  private readonly onFault: ((reason: string) => void) | undefined;
  /** Payloads whose `onMessage` threw (they are lost; the state is not). */
  emitErrors = 0;
  /** Why the builder stopped following the engine (null while it follows it). */
  fault: string | null = null;
  /** The seq of the last command applied. */
  lastSeq = 0;
  /** The symbol whose trades the current command made (-1: none yet). */
  private tradeSymbol = -1;
  private next100 = 0;
  private next1000 = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Scratch for the best levels (no allocation per ticker). */
  private readonly bestScratch = { bidTicks: 0, bidLots: 0, askTicks: 0, askLots: 0 };

  constructor(options: MarketDataOptions) {
    const list = 'list' in options.markets ? options.markets.list : options.markets;
    this.formats = list.map((m) => new MarketFormat(m));
    for (let i = 0; i < this.formats.length; i++) this.bySymbol.set(this.formats[i]!.symbol, i);
    // A failing subscriber must not leave the state half updated: its error is counted and
    // the builder goes on.
    const onMessage = options.onMessage;
    const emit = (stream: string, payload: string): void => {
      try {
        onMessage(stream, payload);
      } catch {
        this.emitErrors++;
      }
    };
    const wants = options.wants ?? ALL_STREAMS;
    this.depth = new DepthTracker(this.formats, emit, wants);
    this.trades = new TradeTracker(this.formats, emit, options.tradeCapacity, wants);
    this.klines = new KlineTracker(this.formats, emit, options.klineCapacity, wants);
    this.tickers = new TickerTracker(this.formats, emit, (s) => this.best(s), wants);
    this.history = options.history;
    this.clock = options.clock;
    this.closeDelay = options.closeDelayMillis ?? 250;
    this.partialOnChange = options.partialDepthOnChangeOnly ?? false;
    this.onFault = options.onFault;
    this.lastSeq = options.afterSeq ?? 0;
    // Flush windows on the wall clock's 100 ms and 1 s boundaries.
    const now = this.nowMs();
    this.next100 = Math.floor(now / 100) * 100 + 100;
    this.next1000 = Math.floor(now / 1000) * 1000 + 1000;
  }

  private nowMs(): number {
    return Math.floor(this.clock.nowMicros() / 1000);
  }

  /**
   * The core's event listener (`core.onEvents(md.listener)`): records are read at once
   * (the views are reused after it returns). Events of commands already in a restored state
   * (seq <= lastSeq) are skipped.
   */
  readonly listener = (v: RecordViews, from: number, count: number): void => {
    if (this.fault !== null) return;
    try {
      this.apply(v, from, count);
    } catch (e) {
      this.fail(`events contradict the market data state: ${(e as Error).message}`);
    }
  };

  private fail(reason: string): void {
    this.fault = reason;
    this.onFault?.(reason);
  }

  private apply(v: RecordViews, from: number, count: number): void {
    const eventMillis = this.nowMs();
    let latestMicros = 0;
    for (let i = from; i < from + count; i++) {
      const seq = seqOf(v, i);
      if (seq <= this.lastSeq) continue;
      // Seqs are gapless over all commands and every command has events: a jump means
      // missed events, and a state that no longer follows the engine.
      if (!this.inCommand && seq !== this.lastSeq + 1) {
        this.fail(`events skip from seq ${this.lastSeq + 1} to ${seq}`);
        return;
      }
      this.inCommand = true;
      const kind = kindOf(v, i);
      this.depth.apply(v, i, kind);
      const ts = tsMicrosOf(v, i);
      if (ts > latestMicros) latestMicros = ts;
      if (kind === K_TRADE) {
        const symbol = symbolOf(v, i);
        const id = slot(v, i, S.TRADE_ID);
        const price = slot(v, i, S.PRICE);
        const lots = slot(v, i, S.QTY);
        const takerSide = sideOf(v, i);
        if (this.tradeSymbol !== -1 && this.tradeSymbol !== symbol)
          this.trades.closeAggregate(this.tradeSymbol, eventMillis);
        this.tradeSymbol = symbol;
        this.trades.onTrade(symbol, id, price, lots, ts, takerSide, slot(v, i, S.ORDER), seq, eventMillis);
        this.klines.onTrade(symbol, id, price, lots, ts, takerSide === 0, eventMillis);
        this.tickers.onTrade(symbol, id, price, lots, ts);
      }
      if (isLast(v, i)) {
        this.depth.endCommand();
        if (this.tradeSymbol !== -1) this.trades.closeAggregate(this.tradeSymbol, eventMillis);
        this.tradeSymbol = -1;
        this.inCommand = false;
        this.lastSeq = seq;
      }
    }
    if (latestMicros > 0) {
      // Events arrive in seq order with a monotonic clock: nothing stamped earlier can follow,
      // so every kline that ended before the latest stamp is complete.
      this.klines.closeBefore(Math.floor(latestMicros / 1000), eventMillis);
    }
    this.klines.flushUpdates(eventMillis);
  }

  /** True between the first and the last event of a command. */
  private inCommand = false;

  /**
   * Runs what is due at the clock's time: the 100 ms and 1000 ms flushes (depth diffs,
   * partial depth, tickers) and the idle-clock kline closes. `start()` calls it every 20 ms;
   * tests call it after moving their clock.
   */
  tick(): void {
    if (this.fault !== null) return;
    const now = this.nowMs();
    if (now >= this.next100) {
      this.depth.flushDiffs(100, now);
      this.depth.flushPartials(100, this.partialOnChange);
      this.next100 = Math.floor(now / 100) * 100 + 100;
    }
    if (now >= this.next1000) {
      this.depth.flushDiffs(1000, now);
      this.depth.flushPartials(1000, this.partialOnChange);
      this.tickers.flush(now);
      this.next1000 = Math.floor(now / 1000) * 1000 + 1000;
    }
    this.klines.closeBefore(now - this.closeDelay, now);
  }

  /** Ticks every 20 ms until `stop()` (the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), 20);
    this.timer.unref();
  }

  /** Stops the ticks. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private best(symbol: number): BestLevels {
    const book = this.depth.books[symbol]!;
    const b = this.bestScratch;
    b.bidTicks = book.bids.n > 0 ? book.bids.priceAt(0) : 0;
    b.bidLots = book.bids.n > 0 ? book.bids.lotsAtRank(0) : 0;
    b.askTicks = book.asks.n > 0 ? book.asks.priceAt(0) : 0;
    b.askLots = book.asks.n > 0 ? book.asks.lotsAtRank(0) : 0;
    return b;
  }

  /** The symbol id of a symbol name, or undefined. */
  symbolId(symbol: string): number | undefined {
    return this.bySymbol.get(symbol);
  }

  /** Current update id of a symbol's book (0 before its first change). */
  updateId(symbol: string): number {
    const s = this.bySymbol.get(symbol);
    return s === undefined ? 0 : this.depth.books[s]!.updateId;
  }

  // --- REST -------------------------------------------------------------------------------

  /**
   * GET /api/v3/depth: `limit` defaults to 100; any value up to 5000 is served as asked and
   * larger ones get 5000, as Binance does; below 1 is refused.
   */
  depthSnapshot(symbol: string, limit: number = DEFAULT_DEPTH_LIMIT): MdResult<DepthSnapshot> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    if (!Number.isSafeInteger(limit) || limit < 1) return badParam('limit', '1-5000');
    return ok(this.depth.books[s]!.snapshot(limit));
  }

  /** Checks a page size: integer >= 1; above the largest page it is clamped, as Binance does. */
  private static page(limit: number | undefined, dflt: number, max: number): number | null {
    if (limit === undefined) return dflt;
    if (!Number.isSafeInteger(limit) || limit < 1) return null;
    return Math.min(limit, max);
  }

  /** GET /api/v3/trades: the newest trades (limit default 500, at most 1000). */
  async recentTrades(
    symbol: string,
    limit?: number,
    unit: TimeUnit = 'MILLISECOND',
  ): Promise<MdResult<RestTrade[]>> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    const n = MarketData.page(limit, DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT);
    if (n === null) return badParam('limit', `1-${MAX_TRADES_LIMIT}`);
    const held = this.trades.recent(s, n, unit, this.history === undefined);
    if (held !== null || this.history === undefined) return ok(held ?? []);
    // Memory holds fewer than asked: the last day's older trades from the store (which may
    // lag behind memory: memory answers for everything it holds).
    const now = this.clock.nowMicros();
    const from = this.trades.memoryFrom(s);
    const older = (await this.history.olderTrades(symbol, now - 86_400_000_000, now)).filter(
      (t) => t.tradeId < from,
    );
    const mine = this.trades.recent(s, MAX_TRADES_LIMIT, unit, true) ?? [];
    return ok([...this.trades.restTrades(s, older, unit), ...mine.filter((t) => t.id >= from)].slice(-n));
  }

  /** GET /api/v3/historicalTrades: trades from `fromId` (default: the newest), limit 500/1000. */
  async historicalTrades(
    symbol: string,
    query: { fromId?: number; limit?: number },
    unit: TimeUnit = 'MILLISECOND',
  ): Promise<MdResult<RestTrade[]>> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    const n = MarketData.page(query.limit, DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT);
    if (n === null) return badParam('limit', `1-${MAX_TRADES_LIMIT}`);
    if (query.fromId === undefined) return this.recentTrades(symbol, n, unit);
    if (!Number.isSafeInteger(query.fromId) || query.fromId < 0)
      return badParam('fromId', '0-9223372036854775807');
    const held = this.trades.fromId(s, query.fromId, n, unit);
    if (held !== null) return ok(held);
    if (this.history?.tradesFromId === undefined) {
      // No store to ask: memory's oldest trades are the best answer there is.
      return ok(this.trades.fromId(s, this.trades.ring(s).oldestId, n, unit) ?? []);
    }
    // Older than memory: the store's, up to where memory starts, then memory's.
    const from = this.trades.memoryFrom(s);
    const older = (await this.history.tradesFromId(symbol, query.fromId, n)).filter((t) => t.tradeId < from);
    const rows = this.trades.restTrades(s, older, unit);
    if (rows.length < n && from !== Number.POSITIVE_INFINITY) {
      rows.push(...(this.trades.fromId(s, from, n - rows.length, unit) ?? []));
    }
    return ok(rows);
  }

  /**
   * GET /api/v3/aggTrades: the newest, from an aggregate id (`fromId`, inclusive), or in a
   * time window (inclusive, at most one hour; only startTime: the hour after it; only
   * endTime: the hour before it). fromId with a time is refused (-1128), as is a longer window
   * (-1127). Times are in `unit`.
   */
  async aggTrades(
    symbol: string,
    query: { fromId?: number; startTime?: number; endTime?: number; limit?: number },
    unit: TimeUnit = 'MILLISECOND',
  ): Promise<MdResult<RestAggTrade[]>> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    const n = MarketData.page(query.limit, DEFAULT_TRADES_LIMIT, MAX_TRADES_LIMIT);
    if (n === null) return badParam('limit', `1-${MAX_TRADES_LIMIT}`);
    const hasTime = query.startTime !== undefined || query.endTime !== undefined;
    if (query.fromId !== undefined && hasTime) return badCombination();
    if (query.fromId !== undefined) {
      if (!Number.isSafeInteger(query.fromId) || query.fromId < 0)
        return badParam('fromId', '0-9223372036854775807');
      const held = this.trades.aggregates(s, { fromId: query.fromId }, n, unit);
      if (held !== null || this.history?.tradesFromId === undefined) return ok(held ?? []);
      // Read the store from the trade before fromId (an aggregate straddling fromId is then
      // recognised and skipped) page after page, until n + 1 aggregates have begun (the first
      // n are then whole) or the store reaches memory's first whole aggregate (or its end:
      // the persister writes whole commands, so its last aggregate is whole).
      const from = this.trades.memoryFrom(s);
      const want = n * 4 + 1;
      const rows: HistoricTrade[] = [];
      let next = Math.max(1, query.fromId - 1);
      let aggs: RestAggTrade[] = [];
      let reachedMemory = false;
      for (;;) {
        const page = await this.history.tradesFromId(symbol, next, want);
        const before = page.filter((t) => t.tradeId < from);
        rows.push(...before);
        aggs = this.trades.aggregateHistoric(s, rows, n + 1, unit, { fromId: query.fromId });
        if (before.length < page.length || page.length < want) {
          reachedMemory = true;
          break;
        }
        if (aggs.length > n || rows.length === 0) break;
        next = rows[rows.length - 1]!.tradeId + 1;
      }
      aggs = aggs.slice(0, n);
      if (aggs.length < n && reachedMemory && from !== Number.POSITIVE_INFINITY) {
        const mine = this.trades.aggregates(
          s,
          { fromId: Math.max(from, query.fromId) },
          n - aggs.length,
          unit,
          true,
        );
        aggs.push(...(mine ?? []));
      }
      return ok(aggs);
    }
    if (hasTime) {
      const toMicros = (t: number | undefined): number | undefined =>
        t === undefined ? undefined : unit === 'MICROSECOND' ? t : t * 1000;
      let start = toMicros(query.startTime);
      let end = toMicros(query.endTime);
      for (const t of [start, end])
        if (t !== undefined && (!Number.isSafeInteger(t) || t < 0)) return badParam('time', '0-');
      if (start !== undefined && end !== undefined) {
        if (start > end) return badCombination();
        if (end - start > AGG_WINDOW_MICROS) return windowTooLong(1);
      }
      if (start === undefined) start = end! - AGG_WINDOW_MICROS;
      if (end === undefined) end = start + AGG_WINDOW_MICROS;
      const held = this.trades.aggregates(s, { startMicros: start, endMicros: end }, n, unit);
      if (held !== null || this.history === undefined) return ok(held ?? []);
      const from = this.trades.memoryFrom(s);
      const rows = (await this.history.olderTrades(symbol, start, end)).filter((t) => t.tradeId < from);
      const aggs = this.trades.aggregateHistoric(s, rows, n, unit, { startMicros: start, endMicros: end });
      if (aggs.length < n) {
        const mine =
          this.trades.aggregates(s, { startMicros: start, endMicros: end }, n - aggs.length, unit, true) ??
          [];
        aggs.push(...mine.filter((a) => a.a >= from));
      }
      return ok(aggs);
    }
    const held = this.trades.aggregates(s, {}, n, unit);
    if (held !== null || this.history === undefined) return ok(held ?? []);
    const now = this.clock.nowMicros();
    const from = this.trades.memoryFrom(s);
    const rows = (await this.history.olderTrades(symbol, now - 86_400_000_000, now)).filter(
      (t) => t.tradeId < from,
    );
    const older = this.trades.aggregateHistoric(s, rows, Number.MAX_SAFE_INTEGER, unit);
    const mine = this.trades.aggregates(s, {}, MAX_TRADES_LIMIT, unit, true) ?? [];
    return ok([...older, ...mine].slice(-n));
  }

  /**
   * GET /api/v3/klines (and uiKlines, which Binance documents as the same query and shape):
   * `interval` one of Binance's, `limit` default 500 (at most 1000), times in `unit`,
   * `timeZone` as Binance accepts it ("0", "8", "-1:00", "05:45"; -12:00..+14:00).
   */
  async klinesQuery(
    symbol: string,
    query: { interval: string; startTime?: number; endTime?: number; limit?: number; timeZone?: string },
    unit: TimeUnit = 'MILLISECOND',
  ): Promise<MdResult<RestKline[]>> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    if (!isInterval(query.interval)) return badInterval();
    const n = MarketData.page(query.limit, DEFAULT_KLINES_LIMIT, MAX_KLINES_LIMIT);
    if (n === null) return badParam('limit', `1-${MAX_KLINES_LIMIT}`);
    const zone = query.timeZone === undefined || query.timeZone === '' ? 0 : parseTimeZone(query.timeZone);
    if (zone === null) return badParam('timeZone', '-12:00 to +14:00');
    const toMicros = (t: number | undefined): number | undefined =>
      t === undefined ? undefined : unit === 'MICROSECOND' ? t : t * 1000;
    const startMicros = toMicros(query.startTime);
    const endMicros = toMicros(query.endTime);
    for (const t of [startMicros, endMicros]) {
      if (t !== undefined && (!Number.isSafeInteger(t) || t < 0)) return badParam('time', '0-');
    }
    if (startMicros !== undefined && endMicros !== undefined && startMicros > endMicros)
      return badCombination();
    const q = {
      interval: query.interval,
      limit: n,
      timeZoneMinutes: zone,
      timeUnit: unit,
      ...(startMicros === undefined ? {} : { startMicros }),
      ...(endMicros === undefined ? {} : { endMicros }),
    };
    const now = this.nowMs();
    const plan = this.klines.plan(s, q, now);
    const older =
      plan.older === null || this.history === undefined
        ? []
        : await this.history.olderTrades(symbol, plan.older[0] * 1000, plan.older[1] * 1000 + 999);
    return ok(this.klines.answer(s, q, now, older));
  }

  /** Resolves a symbols query to ids: every symbol, one (single: true) or a list (at most 100). */
  private resolve(symbols: SymbolsQuery): MdResult<{ ids: number[]; single: boolean }> {
    if (symbols === undefined) return ok({ ids: this.formats.map((_, i) => i), single: false });
    if (typeof symbols === 'string') {
      const s = this.bySymbol.get(symbols);
      return s === undefined ? unknownSymbol() : ok({ ids: [s], single: true });
    }
    if (symbols.length > MAX_SYMBOLS) return tooManySymbols(MAX_SYMBOLS);
    const ids: number[] = [];
    for (const name of symbols) {
      const s = this.bySymbol.get(name);
      if (s === undefined) return unknownSymbol();
      ids.push(s);
    }
    return ok({ ids, single: false });
  }

  private many<T>(symbols: SymbolsQuery, one: (s: number) => T): MdResult<OneOrMany<T>> {
    const r = this.resolve(symbols);
    if (!r.ok) return r;
    const rows = r.value.ids.map(one);
    return ok(r.value.single ? rows[0]! : rows);
  }

  /** GET /api/v3/ticker/24hr (FULL or MINI). */
  ticker24hr(
    symbols: SymbolsQuery,
    type: TickerType = 'FULL',
    unit: TimeUnit = 'MILLISECOND',
  ): MdResult<OneOrMany<Ticker24hFull | TickerMini>> {
    const now = this.nowMs();
    return this.many(symbols, (s) =>
      type === 'MINI'
        ? this.tickers.mini(s, this.tickers.window(s, 1440, now), unit)
        : this.tickers.ticker24h(s, now, unit),
    );
  }

  /** GET /api/v3/ticker: rolling window statistics (`windowSize` 1m..59m, 1h..23h, 1d..7d; default 1d). */
  tickerWindow(
    symbols: SymbolsQuery,
    windowSize = '1d',
    type: TickerType = 'FULL',
    unit: TimeUnit = 'MILLISECOND',
  ): MdResult<OneOrMany<TickerWindowFull | TickerMini>> {
    const minutes = parseWindowSize(windowSize);
    if (minutes === null) return badParam('windowSize', '1m-59m, 1h-23h, 1d-7d');
    const now = this.nowMs();
    return this.many(symbols, (s) => {
      const w = this.tickers.window(s, minutes, now);
      return type === 'MINI' ? this.tickers.mini(s, w, unit) : this.tickers.full(s, w, unit);
    });
  }

  /** GET /api/v3/ticker/tradingDay: since 00:00 in `timeZone` (default UTC). */
  tickerTradingDay(
    symbols: SymbolsQuery,
    timeZone = '0',
    type: TickerType = 'FULL',
    unit: TimeUnit = 'MILLISECOND',
  ): MdResult<OneOrMany<TickerWindowFull | TickerMini>> {
    const zone = parseTimeZone(timeZone === '' ? '0' : timeZone);
    if (zone === null) return badParam('timeZone', '-12:00 to +14:00');
    const now = this.nowMs();
    return this.many(symbols, (s) => {
      const w = this.tickers.tradingDay(s, now, zone);
      return type === 'MINI' ? this.tickers.mini(s, w, unit) : this.tickers.full(s, w, unit);
    });
  }

  /** GET /api/v3/ticker/price. */
  tickerPrice(symbols: SymbolsQuery): MdResult<OneOrMany<{ symbol: string; price: string }>> {
    return this.many(symbols, (s) => this.tickers.price(s));
  }

  /** GET /api/v3/ticker/bookTicker. */
  bookTicker(
    symbols: SymbolsQuery,
  ): MdResult<
    OneOrMany<{ symbol: string; bidPrice: string; bidQty: string; askPrice: string; askQty: string }>
  > {
    return this.many(symbols, (s) => this.depth.books[s]!.bookTicker());
  }

  /** GET /api/v3/avgPrice. */
  avgPrice(symbol: string, unit: TimeUnit = 'MILLISECOND'): MdResult<AvgPrice> {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return unknownSymbol();
    const a = this.tickers.avgPrice(s, this.nowMs());
    return ok(unit === 'MICROSECOND' ? { ...a, closeTime: a.closeTime * 1000 } : a);
  }

  // --- state ------------------------------------------------------------------------------

  /** Everything held, as plain JSON (for the cache), consistent at `seq`. */
  state(): MarketDataState {
    const symbols: Record<string, SymbolState> = {};
    this.formats.forEach((f, s) => {
      symbols[f.symbol] = {
        depth: this.depth.state(s),
        trades: this.trades.state(s),
        klines: this.klines.state(s),
        tickers: this.tickers.state(s),
      };
    });
    return { version: 1, seq: this.lastSeq, symbols };
  }

  /**
   * Replaces everything held with a saved state: events up to `state.seq` are then skipped,
   * and the next expected is `state.seq + 1`. Symbols the state does not hold are left as
   * they are (empty in a new builder); symbols no longer listed are ignored. Call between event batches.
   */
  restore(state: MarketDataState): void {
    if (state.version !== 1) throw new Error(`market data state version ${String(state.version)} is not 1`);
    this.formats.forEach((f, s) => {
      const st = state.symbols[f.symbol];
      if (st === undefined) return;
      this.depth.restore(s, st.depth);
      this.trades.restore(s, st.trades);
      this.klines.restore(s, st.klines);
      this.tickers.restore(s, st.tickers);
    });
    this.lastSeq = state.seq;
    this.tradeSymbol = -1;
    this.inCommand = false;
    this.fault = null;
  }
}

/** Binance's request weight of each market data endpoint. */
export function requestWeight(
  endpoint:
    | 'depth'
    | 'trades'
    | 'historicalTrades'
    | 'aggTrades'
    | 'klines'
    | 'uiKlines'
    | 'avgPrice'
    | 'ticker/24hr'
    | 'ticker/tradingDay'
    | 'ticker'
    | 'ticker/price'
    | 'ticker/bookTicker',
  params: { limit?: number; symbols?: SymbolsQuery } = {},
): number {
  const count =
    params.symbols === undefined ? -1 : typeof params.symbols === 'string' ? 1 : params.symbols.length;
  switch (endpoint) {
    case 'depth': {
      const limit = Math.min(params.limit ?? DEFAULT_DEPTH_LIMIT, 5000);
      return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    case 'trades':
    case 'historicalTrades':
      return 25;
    case 'aggTrades':
      return 4;
    case 'klines':
    case 'uiKlines':
    case 'avgPrice':
      return 2;
    case 'ticker/24hr':
      if (typeof params.symbols === 'string') return 2;
      return count === -1 || count > 100 ? 80 : count > 20 ? 40 : 2;
    case 'ticker/tradingDay':
    case 'ticker':
      return count === -1 ? 200 : count > 50 ? 200 : 4 * count;
    case 'ticker/price':
    case 'ticker/bookTicker':
      return typeof params.symbols === 'string' ? 2 : 4;
  }
}
