/**
 * The market data service, where the core runs: one `MarketData` builder fed by the core's
 * released events (as a durable consumer, so that a restart rebuilds exactly), publishing every
 * stream once on the bus (gateway/market-data/publisher.ts) and, when configured, trades and
 * closed klines on Kinesis. Gateways follow the bus for WebSocket streams and ask the builder
 * their REST questions (in process, or over the core link).
 *
 * Restart: the builder's state is saved to `<dataDir>/market-data/state.json` every
 * `saveEveryMs` and at close, with the seq it stands at; the core keeps the snapshots and
 * journal needed to replay from there (the consumer's `progress`). On start the state is
 * restored and the events after it are replayed with the builder muted (nothing is encoded
 * or published for events clients already had, or that are hours old); live publishing starts
 * once the core is up. Followers of diff streams see `U` jump past their last `u` and resync,
 * as Binance's algorithm expects.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { pino } from 'pino';
import type { TradeStore } from '../accounts/trade-store/trade-store.port.ts';
import type { DurableConsumer, Markets } from '../engine/index.ts';
import type { Bus } from '../gateway/market-data/bus/bus.port.ts';
import type { KinesisSink } from '../gateway/market-data/kinesis/kinesis.adapter.ts';
import { MarketData, type MarketDataState } from '../gateway/market-data/market-data.ts';
import { marketDataPublisher } from '../gateway/market-data/publisher.ts';
import { localMarketDataQueries, type MarketDataQueries } from '../gateway/market-data/queries.ts';
import type { HistoricTrade, TradeHistorySource } from '../gateway/market-data/trades.ts';
import type { Clock } from '../gateway/ports.ts';

/** Pages read from the trade store for one REST answer at most (1000 trades each). */
const MAX_HISTORY_PAGES = 200;

/** The trade store as the builder's source of trades older than memory. */
export function tradeStoreHistory(store: TradeStore): TradeHistorySource {
  return {
    async olderTrades(symbol, startMicros, endMicros) {
      const out: HistoricTrade[] = [];
      let page = await store.symbolTrades({ symbol, startMicros, endMicros, limit: 1000 });
      for (let n = 1; ; n++) {
        for (const t of page) {
          if (t.tsMicros > endMicros) return out;
          out.push(t);
        }
        if (page.length < 1000 || n >= MAX_HISTORY_PAGES) return out;
        page = await store.symbolTrades({ symbol, fromId: page[page.length - 1]!.tradeId + 1, limit: 1000 });
      }
    },
    tradesFromId: (symbol, fromId, limit) => store.symbolTrades({ symbol, fromId, limit }),
  };
}

/** What the service needs. */
export interface MarketDataServiceOptions {
  readonly markets: Markets;
  readonly bus: Bus;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: pino.Logger;
  /** Trades older than memory (REST), usually the accounts trade store. */
  readonly history?: TradeHistorySource;
  /** Trades and closed klines for downstream consumers. */
  readonly kinesis?: KinesisSink;
  /** How often the state is saved (default 30 s). */
  readonly saveEveryMs?: number;
}

/** A running market data service. */
export interface MarketDataService {
  readonly md: MarketData;
  readonly queries: MarketDataQueries;
  /** The core's durable consumer: pass it in `CoreOptions.consumers`. */
  readonly consumer: DurableConsumer;
  /** Call once the core has started (its replay is done): publishing and the clock start. */
  live(): void;
  /** Saves the state now (also done every `saveEveryMs` and at close). */
  save(): void;
  /** Stops the clock, saves the state. */
  close(): void;
}

/** Builds the service (before the core starts: its consumer must be in the core's options). */
export function marketDataService(options: MarketDataServiceOptions): MarketDataService {
  const dir = path.join(options.dataDir, 'market-data');
  const file = path.join(dir, 'state.json');
  const log = options.logger;
  let state: MarketDataState | undefined;
  if (existsSync(file)) {
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as MarketDataState;
    } catch (e) {
      log.error({ err: e, file }, 'the market data state cannot be read: rebuilding from the journal');
    }
  }
  let live = false;
  const publisher = marketDataPublisher(options.bus);
  const kinesis = options.kinesis;
  const md = new MarketData({
    markets: options.markets,
    clock: options.clock,
    onMessage: (stream, payload) => {
      publisher.onMessage(stream, payload);
      kinesis?.putMarketData(stream, payload);
    },
    ...(options.history === undefined ? {} : { history: options.history }),
    // Nothing is encoded while the core replays what happened before this start.
    wants: () => live,
    onFault: (reason) => log.error({ reason }, 'market data stopped following the engine'),
  });
  publisher.attach(md);
  if (state !== undefined) {
    try {
      md.restore(state);
    } catch (e) {
      log.error({ err: e }, 'the market data state does not fit: rebuilding from the journal');
      state = undefined;
    }
  }
  let saved = state?.seq ?? 0;
  const save = (): void => {
    if (md.fault !== null) return;
    const s = md.state();
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(s));
    renameSync(tmp, file);
    saved = s.seq;
  };
  let timer: NodeJS.Timeout | null = null;
  return {
    md,
    queries: localMarketDataQueries(md),
    consumer: {
      name: 'market-data',
      afterSeq: saved,
      listener: md.listener,
      progress: () => saved,
    },
    live() {
      if (live) return;
      live = true;
      md.start();
      timer = setInterval(() => {
        try {
          save();
        } catch (e) {
          log.error({ err: e }, 'saving the market data state failed');
        }
      }, options.saveEveryMs ?? 30_000);
      timer.unref();
    },
    save,
    close() {
      md.stop();
      if (timer !== null) clearInterval(timer);
      timer = null;
      save();
    },
  };
}
