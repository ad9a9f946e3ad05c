/**
 * The whole engine on one thread: sequencer, risk, one order book per symbol, settlement.
 * Deterministic and simple. The threaded core produces exactly the same events per command;
 * this is what replay and `verify` run, and what the property tests drive.
 */
import { createHash } from 'node:crypto';
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
import { Risk } from './risk.ts';
import { type CommandInput, isBookCommand, Sequencer } from './sequencer.ts';
import { Settlement } from './settlement.ts';

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

  constructor(
    readonly markets: Markets,
    options: EngineOptions = {},
  ) {
    this.risk = new Risk({
      assets: [...markets.assets.values()],
      markets: markets.list,
      makerPpm: options.makerPpm ?? 1000,
      takerPpm: options.takerPpm ?? 1000,
    });
    this.books = markets.list.map((m) => new OrderBook(m));
    this.sequencer = new Sequencer(this.risk, markets.list);
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
    const h = createHash('sha256');
    this.risk.hashInto(h);
    for (const b of this.books) h.update(JSON.stringify(b.exportState()));
    return h.digest('hex');
  }
}
