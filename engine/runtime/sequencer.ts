/**
 * The sequencer: the single writer. It stamps every command with a gapless sequence number,
 * a timestamp and (for a new order) the order id, has risk decide it, and writes the result
 * (command plus decision) as one binary record: the record the journal keeps and the shard
 * executes. Nothing downstream decides anything that depends on timing, so replaying these
 * records reproduces the same state and events.
 */
import { encodeCommand, type RecordViews, stampRisk } from '../model/codec.ts';
import type {
  AmendOrder,
  CancelAllOrders,
  CancelOrder,
  CancelReplaceOrder,
  Command,
  Deposit,
  PlaceOrder,
  SetFeeRates,
  WithdrawalHold,
  WithdrawalRelease,
  WithdrawalSettle,
} from '../model/commands.ts';
import type { OrderId, Seq } from '../model/ids.ts';
import type { Market } from '../model/market.ts';
import { ResultCode } from '../model/result-code.ts';
import type { Risk } from './risk.ts';

type Unstamped<T> = Omit<T, 'seq' | 'tsMicros'>;

/** A command as a client submits it: the sequencer adds seq, time and new order ids. */
export type CommandInput =
  | Omit<PlaceOrder, 'seq' | 'tsMicros' | 'orderId' | 'budgetUnits'>
  | Omit<CancelReplaceOrder, 'seq' | 'tsMicros' | 'orderId' | 'budgetUnits'>
  | Unstamped<CancelOrder>
  | Unstamped<CancelAllOrders>
  | Unstamped<AmendOrder>
  | Unstamped<Deposit>
  | Unstamped<WithdrawalHold>
  | Unstamped<WithdrawalSettle>
  | Unstamped<WithdrawalRelease>
  | Unstamped<SetFeeRates>;

/** True for the commands an order book executes. */
export function isBookCommand(kind: Command['kind']): boolean {
  return (
    kind === 'PlaceOrder' ||
    kind === 'CancelOrder' ||
    kind === 'CancelAllOrders' ||
    kind === 'AmendOrder' ||
    kind === 'CancelReplaceOrder'
  );
}

export class Sequencer {
  /** The next sequence number to stamp. */
  nextSeq: number;
  /** The next order id to assign (order ids are unique across all symbols). */
  nextOrderId: number;
  /** The decision of the last `stamp`: risk's result code and the hold it stamped. */
  lastCode = 0;
  lastBudget = 0;

  constructor(
    private readonly risk: Risk,
    private readonly markets: readonly Market[],
    start: { nextSeq: number; nextOrderId: number } = { nextSeq: 1, nextOrderId: 1 },
  ) {
    this.nextSeq = start.nextSeq;
    this.nextOrderId = start.nextOrderId;
  }

  /**
   * Stamps `input`, decides it, and encodes the command with its decision into record
   * `index` of `v`. Returns the stamped command. Throws RecordError (and stamps nothing) for
   * a command that cannot be encoded, such as an over-long client order id.
   */
  stamp(input: CommandInput, tsMicros: number, v: RecordViews, index: number): Command {
    const seq = this.nextSeq as Seq;
    const cmd = (
      input.kind === 'PlaceOrder' || input.kind === 'CancelReplaceOrder'
        ? { ...input, seq, tsMicros, orderId: this.nextOrderId as OrderId }
        : { ...input, seq, tsMicros }
    ) as Command;
    encodeCommand(v, index, cmd); // throws before anything is consumed
    this.nextSeq++;
    if (cmd.kind === 'PlaceOrder' || cmd.kind === 'CancelReplaceOrder') this.nextOrderId++;
    const unknownSymbol =
      isBookCommand(cmd.kind) && this.markets[(cmd as { symbolId: number }).symbolId] === undefined;
    const code = unknownSymbol ? ResultCode.UNKNOWN_SYMBOL : this.risk.admit(cmd);
    const budget = code === ResultCode.OK ? this.risk.budget : 0;
    stampRisk(v, index, code, budget);
    this.lastCode = code;
    this.lastBudget = budget;
    return cmd;
  }
}
