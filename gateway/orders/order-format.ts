/**
 * How the order API spells the engine's integers: decimals padded to 8 places as Binance
 * prints them ("0.01000000"), times in milliseconds or microseconds (X-MBX-TIME-UNIT), and the
 * Binance names of sides, types, time in force, STP modes and expiry reasons.
 */
import {
  ExpiryReason,
  formatDecimal,
  type Market,
  OrderType,
  type OrderType as OrderTypeValue,
  type Side,
  SideName,
  StpModeName,
  type StpMode as StpModeValue,
  TimeInForce,
  type TimeInForce as TimeInForceValue,
} from '../../engine/index.ts';

/** Binance prints every decimal with (at least) 8 places. */
export const API_DECIMALS = 8;

/** The unit of every time field in a reply: milliseconds (default) or microseconds. */
export type TimeUnit = 'MILLISECOND' | 'MICROSECOND';

/** An engine time (µs since the epoch) in the reply's unit. */
export function apiTime(tsMicros: number, unit: TimeUnit = 'MILLISECOND'): number {
  return unit === 'MICROSECOND' ? tsMicros : Math.floor(tsMicros / 1000);
}

/** `units` of 10^-scale as a decimal with at least 8 places ("1.50000000"). */
export function decimalString(units: number, scale: number): string {
  return formatDecimal(units, scale, Math.max(API_DECIMALS, scale));
}

/** A price in ticks as Binance prints it ("50000.01000000"). */
export function priceString(m: Market, ticks: number): string {
  return decimalString(ticks * m.tickUnits, m.pricePrecision);
}

/** A quantity in lots as Binance prints it ("0.50000000"). */
export function qtyString(m: Market, lots: number): string {
  return decimalString(lots * m.lotUnits, m.qtyPrecision);
}

/** An amount of the market's quote asset (in its smallest units). */
export function quoteString(m: Market, units: number): string {
  return decimalString(units, m.quote.scale);
}

/** An amount of the market's base asset (in its smallest units). */
export function baseString(m: Market, units: number): string {
  return decimalString(units, m.base.scale);
}

/** "BUY" | "SELL". */
export function sideName(side: Side): 'BUY' | 'SELL' {
  return SideName[side];
}

/** Binance's order type names for the types the engine trades. */
export function orderTypeName(t: OrderTypeValue): 'LIMIT' | 'MARKET' | 'LIMIT_MAKER' {
  if (t === OrderType.MARKET) return 'MARKET';
  if (t === OrderType.LIMIT_MAKER) return 'LIMIT_MAKER';
  return 'LIMIT';
}

/**
 * Binance's timeInForce in replies: MARKET and LIMIT_MAKER orders, which take none, read
 * "GTC" there (as Binance's own MARKET replies and execution reports show).
 */
export function timeInForceName(tif: TimeInForceValue): 'GTC' | 'IOC' | 'FOK' {
  if (tif === TimeInForce.IOC) return 'IOC';
  if (tif === TimeInForce.FOK) return 'FOK';
  return 'GTC';
}

/** Binance's STP mode name (events carry resolved modes, never DEFAULT). */
export function stpModeName(mode: StpModeValue): string {
  return StpModeName[mode];
}

/**
 * Binance's `expiryReason` for an engine expiry. A MARKET order that used up the funds risk
 * held for it has no Binance counterpart (Binance refuses such an order up front): the
 * exchange ended it, EXCHANGE_CANCELED.
 */
export function expiryReasonName(reason: number): string {
  switch (reason) {
    case ExpiryReason.IOC:
      return 'UNFILLED_IOC_QUANTITY_EXPIRED';
    case ExpiryReason.FOK:
      return 'UNFILLED_FOK_ORDER_EXPIRED';
    case ExpiryReason.MARKET_NO_LIQUIDITY:
      return 'INSUFFICIENT_LIQUIDITY';
    default:
      return 'EXCHANGE_CANCELED';
  }
}

/**
 * Binance's execution ids ("I" in execution reports, `executionId` in amend replies): unique
 * per symbol and increasing. Derived from the command's seq and the event's place among the
 * command's events, so that every gateway numbers them alike without shared state: two ids
 * per event (a trade reports to taker and maker), 2^17 per command.
 */
export function executionId(seq: number, eventIndex: number, second = false): number {
  return seq * 131_072 + eventIndex * 2 + (second ? 1 : 0);
}

/**
 * The client order id of a cancel that did not name one (`newClientOrderId` on DELETE order,
 * every cancel of DELETE openOrders): derived from the cancel's seq and the order id, so that
 * the REST reply and the user data stream (built from the same events, maybe elsewhere) agree.
 */
export function derivedCancelClientOrderId(seq: number, orderId: number): string {
  return `cancel-${seq.toString(36)}-${orderId.toString(36)}`;
}
