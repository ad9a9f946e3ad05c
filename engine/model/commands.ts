/**
 * Commands: what clients ask the engine to do, imperative names. Each is stamped by the
 * sequencer (`seq`, `tsMicros`, and for placements the `orderId`) before anything else sees
 * it, so that replaying the journal reproduces the same events. The book reads the
 * `*Fields` shapes, so a pre-allocated mutable slot decoded from a ring record serves as
 * well as an immutable command object.
 */
import type { CancelReplaceMode, CancelRestriction, OrderType, Side, StpMode, TimeInForce } from './enums.ts';
import type { OrderId, Seq, SymbolId, UserId } from './ids.ts';

/** Numeric command kinds, as encoded in a record's first byte. */
export const CommandKind = {
  PlaceOrder: 1,
  CancelOrder: 2,
  CancelAllOrders: 3,
  AmendOrder: 4,
  CancelReplaceOrder: 5,
  Deposit: 10,
  WithdrawalHold: 11,
  WithdrawalSettle: 12,
  WithdrawalRelease: 13,
  SetFeeRates: 14,
} as const;
export type CommandKindName = keyof typeof CommandKind;

/** Fields every command carries once sequenced. */
export interface Stamped {
  /** Sequencer's gapless sequence number. */
  readonly seq: Seq;
  /** Sequencer's clock, microseconds since the Unix epoch (fits a safe integer until 2255). */
  readonly tsMicros: number;
  readonly symbolId: SymbolId;
  readonly userId: UserId;
}

/** A new order. */
export interface PlaceOrderFields extends Stamped {
  /** Assigned by the sequencer; unique per symbol. */
  readonly orderId: OrderId;
  readonly side: Side;
  readonly orderType: OrderType;
  /** GTC/IOC/FOK for LIMIT; NONE for MARKET and LIMIT_MAKER. */
  readonly timeInForce: TimeInForce;
  /** The taker-side STP mode, or DEFAULT for the market's. */
  readonly stpMode: StpMode;
  /** Limit price in ticks; 0 for MARKET. */
  readonly priceTicks: number;
  /** Quantity in lots; 0 for a MARKET order by quote amount. */
  readonly qtyLots: number;
  /** MARKET by quote amount (`quoteOrderQty`), in quote units; 0 otherwise. */
  readonly quoteQtyUnits: number;
  /** Client order id, 1-36 of `[.A-Za-z0-9:/_-]`, or '' for none. */
  readonly clientOrderId: string;
  /**
   * Risk's cap for a MARKET order, stamped with the hold it placed: the most quote units a
   * BUY by quantity may spend, or the most base units a SELL by quote amount may sell. 0 or
   * absent: no cap (a book used on its own). Other orders need none: risk holds exactly
   * what they can use.
   */
  readonly budgetUnits?: number;
}

/** Cancel one order, by id or by client order id (both: both must match). */
export interface CancelOrderFields extends Stamped {
  /** 0 when cancelling by client order id. */
  readonly orderId: OrderId;
  /** '' when cancelling by order id. */
  readonly clientOrderId: string;
  readonly cancelRestriction: CancelRestriction;
}

/** Cancel all of a user's open orders on one symbol. */
export type CancelAllOrdersFields = Stamped;

/**
 * Change an open order's price and/or total quantity. Keeps time priority when only the
 * quantity goes down; loses it (and may trade, as a taker) when the price changes or the
 * quantity goes up.
 */
export interface AmendOrderFields extends Stamped {
  readonly orderId: OrderId;
  readonly clientOrderId: string;
  /** New limit price in ticks, or 0 to keep the current price. */
  readonly priceTicks: number;
  /** New total quantity in lots (must stay above what is already filled). */
  readonly qtyLots: number;
  /** New client order id, or '' to keep the current one. */
  readonly newClientOrderId: string;
}

/** Cancel one order and place another as one atomic command (Binance `order/cancelReplace`). */
export interface CancelReplaceOrderFields extends PlaceOrderFields {
  readonly cancelOrderId: OrderId;
  readonly cancelClientOrderId: string;
  readonly cancelReplaceMode: CancelReplaceMode;
  readonly cancelRestriction: CancelRestriction;
}

export interface PlaceOrder extends PlaceOrderFields {
  readonly kind: 'PlaceOrder';
}
export interface CancelOrder extends CancelOrderFields {
  readonly kind: 'CancelOrder';
}
export interface CancelAllOrders extends CancelAllOrdersFields {
  readonly kind: 'CancelAllOrders';
}
export interface AmendOrder extends AmendOrderFields {
  readonly kind: 'AmendOrder';
}
export interface CancelReplaceOrder extends CancelReplaceOrderFields {
  readonly kind: 'CancelReplaceOrder';
}

/** Every command the order book executes. */
export type BookCommand = PlaceOrder | CancelOrder | CancelAllOrders | AmendOrder | CancelReplaceOrder;

/** Fields of the commands that move funds: the asset rides in the record's symbol field. */
export interface FundsFields {
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly userId: UserId;
  /** The asset's id: its index in the markets file's asset list. */
  readonly assetId: number;
  /** Amount in the asset's smallest unit. */
  readonly amountUnits: number;
  /** The caller's id for this movement (deposit id, withdrawal id): unique per kind. */
  readonly refId: number;
}

/** Credits funds (a deposit confirmed by the accounts service or an operator). */
export interface Deposit extends FundsFields {
  readonly kind: 'Deposit';
}
/** Moves funds from free to locked for a pending withdrawal. */
export interface WithdrawalHold extends FundsFields {
  readonly kind: 'WithdrawalHold';
}
/** A held withdrawal completed: its funds leave the exchange. */
export interface WithdrawalSettle extends FundsFields {
  readonly kind: 'WithdrawalSettle';
}
/** A held withdrawal was rejected or canceled: its funds go back to free. */
export interface WithdrawalRelease extends FundsFields {
  readonly kind: 'WithdrawalRelease';
}
/** Sets a user's maker and taker fee rates, in parts per million of the received amount. */
export interface SetFeeRates {
  readonly kind: 'SetFeeRates';
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly userId: UserId;
  readonly makerPpm: number;
  readonly takerPpm: number;
}

/** Commands that risk executes on its own (no order book involved). */
export type FundsCommand = Deposit | WithdrawalHold | WithdrawalSettle | WithdrawalRelease | SetFeeRates;

/** Every command the engine accepts. */
export type Command = BookCommand | FundsCommand;

/** Compile-time exhaustiveness: a `switch` over a union ends in `assertNever(x)`. */
export function assertNever(x: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(x)}`);
}

const CLIENT_ORDER_ID = /^[.A-Za-z0-9:/_-]{1,36}$/;

/** True for a valid client order id (Binance's `^[\.A-Z\:/a-z0-9_-]{1,36}$`). */
export function isValidClientOrderId(id: string): boolean {
  return CLIENT_ORDER_ID.test(id);
}

/** The longest client order id, in bytes (ASCII), as laid out in a binary record. */
export const CLIENT_ORDER_ID_MAX = 36;
