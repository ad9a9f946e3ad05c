/**
 * The sequencer: the single writer. It stamps every command with a gapless sequence number,
 * a timestamp and (for a new order) the order id, has risk decide it, and writes the result
 * (command plus decision) as one binary record: the record the journal keeps and the shard
 * executes. Nothing downstream decides anything that depends on timing, so replaying these
 * records reproduces the same state and events.
 */
import { decodeCommand, encodeCommand, type RecordViews, stampRisk, stampSequence } from '../model/codec.ts';
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
    // Encode the input as it is, then stamp seq, time and order id into the record and read
    // the command back: no object spread per command (V8 makes those slow), and the record
    // is what the journal and the shard will see.
    encodeCommand(v, index, input as Command); // throws before anything is consumed
    const isPlace = input.kind === 'PlaceOrder' || input.kind === 'CancelReplaceOrder';
    stampSequence(v, index, this.nextSeq, tsMicros, isPlace ? this.nextOrderId : -1);
    const cmd = decodeCommand(v, index);
    this.nextSeq++;
    if (isPlace) this.nextOrderId++;
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
