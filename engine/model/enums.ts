/**
 * Small numeric enumerations shared by commands, events and the binary codec. Each is a
 * frozen object plus a type of its values, so that they encode into one byte and still read
 * as names. The `*Name` tables give the Binance spelling used at the API edge.
 */

/** Order side. */
export const Side = { BUY: 0, SELL: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];
export const SideName: Record<Side, 'BUY' | 'SELL'> = { 0: 'BUY', 1: 'SELL' };

/** Order type (the stop and take-profit types come with conditional orders). */
export const OrderType = { LIMIT: 1, MARKET: 2, LIMIT_MAKER: 3 } as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];
export const OrderTypeName: Record<OrderType, string> = { 1: 'LIMIT', 2: 'MARKET', 3: 'LIMIT_MAKER' };

/** Time in force. `NONE` for order types that take none (MARKET, LIMIT_MAKER). */
export const TimeInForce = { NONE: 0, GTC: 1, IOC: 2, FOK: 3 } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];
export const TimeInForceName: Record<TimeInForce, string> = { 0: '', 1: 'GTC', 2: 'IOC', 3: 'FOK' };

/**
 * Self-trade prevention mode, as Binance defines them. The taker's mode decides what happens.
 * `DEFAULT` in a command means "the market's default"; events always carry the resolved mode.
 */
export const StpMode = {
  NONE: 0,
  EXPIRE_TAKER: 1,
  EXPIRE_MAKER: 2,
  EXPIRE_BOTH: 3,
  DECREMENT: 4,
  DEFAULT: 255,
} as const;
export type StpMode = (typeof StpMode)[keyof typeof StpMode];
export const StpModeName: Record<StpMode, string> = {
  0: 'NONE',
  1: 'EXPIRE_TAKER',
  2: 'EXPIRE_MAKER',
  3: 'EXPIRE_BOTH',
  4: 'DECREMENT',
  255: 'DEFAULT',
};

/** What a cancel-replace does when the cancel fails (Binance `cancelReplaceMode`). */
export const CancelReplaceMode = { STOP_ON_FAILURE: 0, ALLOW_FAILURE: 1 } as const;
export type CancelReplaceMode = (typeof CancelReplaceMode)[keyof typeof CancelReplaceMode];

/** Binance `cancelRestrictions`: cancel only if the order is in the named state. */
export const CancelRestriction = { NONE: 0, ONLY_NEW: 1, ONLY_PARTIALLY_FILLED: 2 } as const;
export type CancelRestriction = (typeof CancelRestriction)[keyof typeof CancelRestriction];

/** Why an order was canceled. */
export const CancelReason = { USER: 1, CANCEL_ALL: 2, CANCEL_REPLACE: 3 } as const;
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

/**
 * Why an order's remaining quantity expired. Binance reports these as `expiryReason`;
 * self-trade prevention expiries are reported by `SelfTradePrevented`, not here.
 */
export const ExpiryReason = {
  /** IOC remainder after matching. */
  IOC: 1,
  /** FOK that could not fill completely (nothing traded). */
  FOK: 2,
  /** MARKET order remainder: the book had no more liquidity. */
  MARKET_NO_LIQUIDITY: 3,
  /** MARKET order remainder: the funds risk held for it ran out before the order filled. */
  FUNDS_EXHAUSTED: 4,
} as const;
export type ExpiryReason = (typeof ExpiryReason)[keyof typeof ExpiryReason];
