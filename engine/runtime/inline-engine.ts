/**
 * The whole engine on one thread: sequencer, risk, one order book per symbol, settlement.
 * Deterministic and simple. The threaded core produces exactly the same events per command;
 * this is what replay and `verify` run, and what the property tests drive.
 */
import { OrderBook } from '../book/order-book.ts';
import type { Markets } from '../config/markets-config.ts';
import {
  decodeCommand,
  decodeEvents,
  EventWriter,
  RECORD_BYTES,
  RecordViews,
  riskCodeAt,
} from '../model/codec.ts';
import type { BookCommand, Command } from '../model/commands.ts';
import type { EngineEvent } from '../model/events.ts';
import { ResultCode } from '../model/result-code.ts';
import { Risk, type RiskConfig } from './risk.ts';
import { type CommandInput, isBookCommand, Sequencer } from './sequencer.ts';
import { Settlement } from './settlement.ts';
import type { Snapshot } from './snapshot.ts';
import { hashState } from './state-hash.ts';

/** Fee defaults and the like. */
export interface EngineOptions {
  readonly makerPpm?: number;
  readonly takerPpm?: number;
}

export class InlineEngine {
  readonly risk: Risk;
  readonly books: OrderBook[];
  readonly sequencer: Sequencer;
  private readonly settlement: Settlement;
  private readonly record = new RecordViews(new ArrayBuffer(RECORD_BYTES));
  private readonly bookOut = new EventWriter(64);
  /** The merged event stream of the last command(s) run. */
  readonly out = new EventWriter(256);

  /** Risk's configuration (assets, markets, default fees). */
  readonly riskConfig: RiskConfig;

  constructor(
    readonly markets: Markets,
    options: EngineOptions = {},
    from?: { risk: Risk; books: OrderBook[]; nextSeq: number; nextOrderId: number },
  ) {
    this.riskConfig = {
      assets: [...markets.assets.values()],
      markets: markets.list,
      makerPpm: options.makerPpm ?? 1000,
      takerPpm: options.takerPpm ?? 1000,
    };
    this.risk = from?.risk ?? new Risk(this.riskConfig);
    this.books = from?.books ?? markets.list.map((m) => new OrderBook(m));
    this.sequencer = new Sequencer(this.risk, markets.list, from ?? { nextSeq: 1, nextOrderId: 1 });
    this.settlement = new Settlement(this.risk);
  }

  /** Sequences and runs one command; returns its events. */
  submit(input: CommandInput, tsMicros = 1): EngineEvent[] {
    this.out.reset();
    this.sequencer.stamp(input, tsMicros, this.record, 0);
    this.applyRecord(this.record, 0);
    return decodeEvents(this.out.views, this.out.count);
  }

  /**
   * Runs a stamped command record (as the journal keeps it), appending its events to `out`.
   * The decision stamped in it is applied as it stands.
   */
  applyRecord(v: RecordViews, index: number): void {
    const cmd = decodeCommand(v, index);
    const code = riskCodeAt(v, index);
    const budget =
      cmd.kind === 'PlaceOrder' || cmd.kind === 'CancelReplaceOrder'
        ? (cmd.budgetUnits ?? 0)
        : v.f64[index * (RECORD_BYTES / 8) + 10]!;
    this.bookOut.reset();
    if (code === ResultCode.OK && isBookCommand(cmd.kind)) {
      this.books[(cmd as BookCommand).symbolId]!.execute(cmd as BookCommand, this.bookOut);
    }
    this.settlement.merge(cmd as Command, code, budget, this.bookOut.views, 0, this.bookOut.count, this.out);
    if (cmd.seq >= this.sequencer.nextSeq) this.sequencer.nextSeq = cmd.seq + 1;
    if (
      (cmd.kind === 'PlaceOrder' || cmd.kind === 'CancelReplaceOrder') &&
      cmd.orderId >= this.sequencer.nextOrderId
    ) {
      this.sequencer.nextOrderId = cmd.orderId + 1;
    }
  }

  /** SHA-256 over the ledger (balances, holds) and every book (orders in priority order, counters). */
  stateHash(): string {
    return hashState(
      this.risk.exportState(),
      this.books.map((b) => b.exportState()),
    );
  }

  /** An engine at a snapshot's state: ledger, books and counters. */
  static fromState(markets: Markets, options: EngineOptions, state: Snapshot): InlineEngine {
    const e = new InlineEngine(markets, options);
    const risk = Risk.restore(e.riskConfig, state.risk);
    const books = markets.list.map((m) => {
      const b = state.books.find((x) => x.symbol === m.symbol);
      return b === undefined ? new OrderBook(m) : OrderBook.restore(m, b);
    });
    return new InlineEngine(markets, options, {
      risk,
      books,
      nextSeq: state.seq + 1,
      nextOrderId: state.nextOrderId,
    });
  }
}
