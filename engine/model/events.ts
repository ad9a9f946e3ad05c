/**
 * Events: what the engine did, past-tense names. Every event carries the `seq` and
 * `tsMicros` of the command that caused it, its symbol, and the ids of the orders and users
 * it concerns. Every command yields at least one event.
 *
 * Quantity accounting, which the tests check: an order's quantity leaves it only through
 * `TradeExecuted` (filled), `SelfTradePrevented` (prevented: Binance's prevented quantity),
 * `OrderCanceled`, `OrderExpired`, or `OrderAmended` (total quantity set). Events that change
 * an order's remaining quantity carry the remaining quantity after the change, so consumers
 * need not track it, and a remaining of 0 ends the order.
 */
import type { CancelReason, ExpiryReason, OrderType, Side, StpMode, TimeInForce } from './enums.ts';
import type { OrderId, PreventedMatchId, Seq, SymbolId, TradeId, UserId } from './ids.ts';
import type { ResultCode } from './result-code.ts';

/** Numeric event kinds, as encoded in a record's first byte. */
export const EventKind = {
  OrderAccepted: 1,
  OrderRejected: 2,
  TradeExecuted: 3,
  OrderCanceled: 4,
  OrderExpired: 5,
  OrderAmended: 6,
  SelfTradePrevented: 7,
  CancelRejected: 8,
  AmendRejected: 9,
  FundsDeposited: 10,
  WithdrawalHeld: 11,
  WithdrawalSettled: 12,
  WithdrawalReleased: 13,
  FundsRejected: 14,
  TradeSettled: 15,
  FeeRatesSet: 16,
} as const;
export type EventKindName = keyof typeof EventKind;

interface EventBase {
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly symbolId: SymbolId;
}

/** A new order passed validation and entered matching. */
export interface OrderAccepted extends EventBase {
  readonly kind: 'OrderAccepted';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  /** The resolved mode (never DEFAULT). */
  readonly stpMode: StpMode;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteQtyUnits: number;
  readonly clientOrderId: string;
}

/** A new order was refused; nothing about the book changed. */
export interface OrderRejected extends EventBase {
  readonly kind: 'OrderRejected';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly code: ResultCode;
  readonly clientOrderId: string;
}

/** A match: the taker's order traded with a resting maker order at the maker's price. */
export interface TradeExecuted extends EventBase {
  readonly kind: 'TradeExecuted';
  readonly tradeId: TradeId;
  readonly priceTicks: number;
  readonly qtyLots: number;
  /** Buyer is maker exactly when the taker sells. */
  readonly takerSide: Side;
  readonly takerUserId: UserId;
  readonly takerOrderId: OrderId;
  /** The taker's remaining lots after this trade (0 for an order by quote amount). */
  readonly takerRemainingLots: number;
  readonly makerUserId: UserId;
  readonly makerOrderId: OrderId;
  readonly makerRemainingLots: number;
}

/** An open order was canceled; `canceledLots` is what it had left. */
export interface OrderCanceled extends EventBase {
  readonly kind: 'OrderCanceled';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly side: Side;
  readonly priceTicks: number;
  readonly canceledLots: number;
  /** What the order had filled before the cancel. */
  readonly filledLots: number;
  readonly reason: CancelReason;
  readonly clientOrderId: string;
}

/** An order's remaining quantity expired (IOC, FOK, MARKET without more liquidity). */
export interface OrderExpired extends EventBase {
  readonly kind: 'OrderExpired';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly side: Side;
  readonly expiredLots: number;
  /** For a MARKET order by quote amount: the unspent quote units; else 0. */
  readonly expiredQuoteUnits: number;
  readonly reason: ExpiryReason;
}

/** An open order's price and/or total quantity changed. */
export interface OrderAmended extends EventBase {
  readonly kind: 'OrderAmended';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly side: Side;
  readonly priceTicks: number;
  /** The new total quantity. */
  readonly qtyLots: number;
  /** Remaining after the amend (before any matching it leads to). */
  readonly remainingLots: number;
  /** True when the order kept its place in the queue. */
  readonly keptPriority: boolean;
  /** The order's client order id after the amend. */
  readonly clientOrderId: string;
}

/**
 * Self-trade prevention stopped a match between two orders of the same user (Binance's
 * "prevented match"). The prevented quantities leave the orders: under EXPIRE_* modes that is
 * the expiring order's whole remaining quantity (status EXPIRED_IN_MATCH), under DECREMENT
 * the smaller of the two remainders on both sides.
 */
export interface SelfTradePrevented extends EventBase {
  readonly kind: 'SelfTradePrevented';
  readonly preventedMatchId: PreventedMatchId;
  readonly stpMode: StpMode;
  readonly priceTicks: number;
  readonly userId: UserId;
  readonly takerOrderId: OrderId;
  readonly takerPreventedLots: number;
  readonly takerRemainingLots: number;
  readonly makerOrderId: OrderId;
  readonly makerPreventedLots: number;
  readonly makerRemainingLots: number;
}

/** A cancel (or the cancel half of a cancel-replace, or a cancel-all) was refused. */
export interface CancelRejected extends EventBase {
  readonly kind: 'CancelRejected';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly code: ResultCode;
  readonly clientOrderId: string;
}

/** An amend was refused; the order is unchanged. */
export interface AmendRejected extends EventBase {
  readonly kind: 'AmendRejected';
  readonly userId: UserId;
  readonly orderId: OrderId;
  readonly code: ResultCode;
  readonly clientOrderId: string;
}

/** Every event the order book emits. */
export type BookEvent =
  | OrderAccepted
  | OrderRejected
  | TradeExecuted
  | OrderCanceled
  | OrderExpired
  | OrderAmended
  | SelfTradePrevented
  | CancelRejected
  | AmendRejected;

/** Funds movement: the user's balance of the asset after it. */
interface FundsEventBase {
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly userId: UserId;
  readonly assetId: number;
  readonly amountUnits: number;
  readonly refId: number;
  /** The user's free balance of the asset after the movement. */
  readonly freeUnits: number;
  /** The user's locked balance of the asset after the movement. */
  readonly lockedUnits: number;
}

/** Funds were credited. */
export interface FundsDeposited extends FundsEventBase {
  readonly kind: 'FundsDeposited';
}
/** Funds were locked for a withdrawal. */
export interface WithdrawalHeld extends FundsEventBase {
  readonly kind: 'WithdrawalHeld';
}
/** A withdrawal's locked funds left the exchange. */
export interface WithdrawalSettled extends FundsEventBase {
  readonly kind: 'WithdrawalSettled';
}
/** A withdrawal's locked funds went back to free. */
export interface WithdrawalReleased extends FundsEventBase {
  readonly kind: 'WithdrawalReleased';
}
/** A funds command was refused (unknown asset, bad amount, insufficient balance, ...). */
export interface FundsRejected {
  readonly kind: 'FundsRejected';
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly userId: UserId;
  readonly assetId: number;
  readonly amountUnits: number;
  readonly refId: number;
  /** The numeric CommandKind that was refused. */
  readonly commandKind: number;
  readonly code: ResultCode;
}

/**
 * Risk settled a trade: what the buyer paid and received, what the seller delivered and
 * received, and the fees (each in the asset its payer received) credited to the fee account.
 * Follows the TradeExecuted it settles.
 */
export interface TradeSettled extends EventBase {
  readonly kind: 'TradeSettled';
  readonly tradeId: TradeId;
  readonly buyerUserId: UserId;
  readonly buyerOrderId: OrderId;
  readonly sellerUserId: UserId;
  readonly sellerOrderId: OrderId;
  /** Base units delivered by the seller (the buyer receives this less its fee). */
  readonly baseUnits: number;
  /** Quote units paid by the buyer (the seller receives this less its fee). */
  readonly quoteUnits: number;
  /** The buyer's fee, in base units. */
  readonly buyerFeeUnits: number;
  /** The seller's fee, in quote units. */
  readonly sellerFeeUnits: number;
}

/** A user's fee rates changed. */
export interface FeeRatesSet {
  readonly kind: 'FeeRatesSet';
  readonly seq: Seq;
  readonly tsMicros: number;
  readonly userId: UserId;
  readonly makerPpm: number;
  readonly takerPpm: number;
}

/** Every event risk emits. */
export type RiskEvent =
  | FundsDeposited
  | WithdrawalHeld
  | WithdrawalSettled
  | WithdrawalReleased
  | FundsRejected
  | TradeSettled
  | FeeRatesSet;

/** Every event the engine emits. */
export type EngineEvent = BookEvent | RiskEvent;
