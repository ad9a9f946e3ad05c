/**
 * One order's state as Binance reports it, and the rules that move it along the engine's
 * events: the single reducer behind the order view, the REST replies and the execution
 * reports, so that all three agree on every field.
 *
 * Quantity accounting (Binance's): origQty - executedQty - preventedQty = what can still
 * trade. A MARKET order by quote amount has no lot quantity: its trades report no remainder,
 * it ends with the command that placed it, and its origQty is what it bought (plus what
 * self-trade prevention took from it).
 */
import {
  type EngineEvent,
  type Market,
  notionalUnits,
  type OrderAccepted,
  OrderType,
  type OrderType as OrderTypeValue,
  type Side,
  StpMode,
  type StpMode as StpModeValue,
  TimeInForce,
  type TimeInForce as TimeInForceValue,
} from '../../engine/index.ts';

/** Binance's order statuses for orders the engine accepted (REJECTED orders are never kept). */
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'EXPIRED_IN_MATCH';

/** Every OrderStatus, in the order an order can reach them. */
export const ORDER_STATUSES: readonly OrderStatus[] = [
  'NEW',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELED',
  'EXPIRED',
  'EXPIRED_IN_MATCH',
];

/** True for a status after which nothing changes the order. */
export function isFinalStatus(s: OrderStatus): boolean {
  return s !== 'NEW' && s !== 'PARTIALLY_FILLED';
}

/** What the order replies and reports read of an order; integers in engine units. */
export interface OrderSnapshot {
  readonly symbolId: number;
  readonly userId: number;
  readonly orderId: number;
  readonly clientOrderId: string;
  /** The client order id the order had before its last amend ('' if never amended). */
  readonly prevClientOrderId: string;
  readonly side: Side;
  readonly orderType: OrderTypeValue;
  readonly timeInForce: TimeInForceValue;
  /** The resolved STP mode. */
  readonly stpMode: StpModeValue;
  /** Limit price in ticks; 0 for MARKET. */
  readonly priceTicks: number;
  /** Total quantity in lots (0 for a MARKET order by quote amount: see `origQtyLots`). */
  readonly qtyLots: number;
  /** quoteOrderQty in quote units, 0 when the order was placed by quantity. */
  readonly quoteQtyUnits: number;
  readonly executedLots: number;
  /** Sum of price x quantity of the order's trades, in quote units. */
  readonly cumQuoteUnits: number;
  /** Quantity self-trade prevention took from the order (Binance's preventedQuantity). */
  readonly preventedLots: number;
  /** The last prevented match that took quantity from the order, or -1. */
  readonly preventedMatchId: number;
  /** What can still trade (0 once the order ended). */
  readonly remainingLots: number;
  readonly status: OrderStatus;
  /** The engine's ExpiryReason when the status is EXPIRED, else 0. */
  readonly expiryReason: number;
  /** Placement time (µs). */
  readonly timeMicros: number;
  /** Last change (µs). */
  readonly updateTimeMicros: number;
  /** When the order started working (µs): its placement. */
  readonly workingTimeMicros: number;
  /** The seq of the last event applied to it. */
  readonly lastSeq: number;
}

/** Binance's origQty: the total quantity, or for a MARKET order by quote what it took. */
export function origQtyLots(o: OrderSnapshot): number {
  return isByQuote(o) ? o.executedLots + o.preventedLots : o.qtyLots;
}

/** True for a MARKET order placed by quote amount (`quoteOrderQty`). */
export function isByQuote(o: Pick<OrderSnapshot, 'orderType' | 'quoteQtyUnits'>): boolean {
  return o.orderType === OrderType.MARKET && o.quoteQtyUnits > 0;
}

/** True when the order rests on the book after its last event (Binance's `w`). */
export function isOnBook(o: OrderSnapshot): boolean {
  return (
    !isFinalStatus(o.status) &&
    (o.orderType === OrderType.LIMIT_MAKER ||
      (o.orderType === OrderType.LIMIT && o.timeInForce === TimeInForce.GTC))
  );
}

/** An order's mutable state; only the reducer below changes it. */
export class OrderRecord implements OrderSnapshot {
  symbolId = 0;
  userId = 0;
  orderId = 0;
  clientOrderId = '';
  prevClientOrderId = '';
  side: Side = 0;
  orderType: OrderTypeValue = OrderType.LIMIT;
  timeInForce: TimeInForceValue = TimeInForce.GTC;
  stpMode: StpModeValue = StpMode.NONE;
  priceTicks = 0;
  qtyLots = 0;
  quoteQtyUnits = 0;
  executedLots = 0;
  cumQuoteUnits = 0;
  preventedLots = 0;
  preventedMatchId = -1;
  remainingLots = 0;
  status: OrderStatus = 'NEW';
  expiryReason = 0;
  timeMicros = 0;
  updateTimeMicros = 0;
  workingTimeMicros = 0;
  lastSeq = 0;

  /** The order as it is once the engine accepted it. */
  static accepted(e: OrderAccepted): OrderRecord {
    const o = new OrderRecord();
    o.symbolId = e.symbolId;
    o.userId = e.userId;
    o.orderId = e.orderId;
    o.clientOrderId = e.clientOrderId;
    o.side = e.side;
    o.orderType = e.orderType;
    o.timeInForce = e.timeInForce;
    o.stpMode = e.stpMode;
    o.priceTicks = e.priceTicks;
    o.qtyLots = e.qtyLots;
    o.quoteQtyUnits = e.quoteQtyUnits;
    o.remainingLots = e.qtyLots;
    o.timeMicros = e.tsMicros;
    o.updateTimeMicros = e.tsMicros;
    o.workingTimeMicros = e.tsMicros;
    o.lastSeq = e.seq;
    return o;
  }

  /** A mutable copy of any snapshot (to replay a command on it without touching the original). */
  static from(s: OrderSnapshot): OrderRecord {
    return Object.assign(new OrderRecord(), s);
  }
}

/** The role an event gives an order, for reporting: none, or which side of it the order is. */
export type Role = 'none' | 'self' | 'taker' | 'maker';

/** How `event` concerns the order `orderId` of `symbolId`. */
export function roleOf(e: EngineEvent, symbolId: number, orderId: number): Role {
  if (!('symbolId' in e) || e.symbolId !== symbolId) return 'none';
  switch (e.kind) {
    case 'OrderAccepted':
    case 'OrderCanceled':
    case 'OrderExpired':
    case 'OrderAmended':
      return e.orderId === orderId ? 'self' : 'none';
    case 'TradeExecuted':
    case 'SelfTradePrevented':
      return e.takerOrderId === orderId ? 'taker' : e.makerOrderId === orderId ? 'maker' : 'none';
    default:
      return 'none';
  }
}

/**
 * Applies `e` to `o` when it concerns it; returns true when it did. `m` is the order's
 * market (for notionals). A MARKET order by quote amount is left PARTIALLY_FILLED by its
 * trades until `finishCommand` settles it (its events cannot say which trade is its last).
 */
export function applyToOrder(o: OrderRecord, e: EngineEvent, m: Market): boolean {
  const role = roleOf(e, o.symbolId, o.orderId);
  if (role === 'none' || isFinalStatus(o.status)) return false;
  o.lastSeq = e.seq;
  o.updateTimeMicros = e.tsMicros;
  switch (e.kind) {
    case 'OrderAccepted':
      return true;
    case 'TradeExecuted': {
      o.executedLots += e.qtyLots;
      o.cumQuoteUnits += notionalUnits(m, e.priceTicks, e.qtyLots);
      if (isByQuote(o)) {
        o.status = 'PARTIALLY_FILLED';
        return true;
      }
      o.remainingLots = role === 'taker' ? e.takerRemainingLots : e.makerRemainingLots;
      o.status = o.remainingLots === 0 ? 'FILLED' : 'PARTIALLY_FILLED';
      return true;
    }
    case 'SelfTradePrevented': {
      const prevented = role === 'taker' ? e.takerPreventedLots : e.makerPreventedLots;
      o.preventedLots += prevented;
      if (prevented > 0) o.preventedMatchId = e.preventedMatchId;
      if (isByQuote(o)) {
        // An order by quote amount ends here only when its own mode expires the taker.
        if (e.stpMode === StpMode.EXPIRE_TAKER || e.stpMode === StpMode.EXPIRE_BOTH) {
          o.status = 'EXPIRED_IN_MATCH';
          o.remainingLots = 0;
        }
        return true;
      }
      o.remainingLots = role === 'taker' ? e.takerRemainingLots : e.makerRemainingLots;
      if (o.remainingLots === 0) o.status = 'EXPIRED_IN_MATCH';
      return true;
    }
    case 'OrderCanceled':
      o.status = 'CANCELED';
      o.remainingLots = 0;
      return true;
    case 'OrderExpired':
      o.status = 'EXPIRED';
      o.expiryReason = e.reason;
      o.remainingLots = 0;
      return true;
    case 'OrderAmended':
      o.prevClientOrderId = o.clientOrderId;
      o.clientOrderId = e.clientOrderId;
      o.priceTicks = e.priceTicks;
      o.qtyLots = e.qtyLots;
      o.remainingLots = e.remainingLots;
      return true;
    default:
      return false;
  }
}

/**
 * Ends what the command that placed the order left open: a MARKET order by quote amount that
 * neither expired nor was expired by STP is FILLED once it bought something (what is left of
 * its budget buys less than one lot: dust), else EXPIRED_IN_MATCH (STP took all of it).
 * Nothing else is ever open after its command without resting on the book.
 */
export function finishCommand(o: OrderRecord): void {
  if (!isByQuote(o) || isFinalStatus(o.status)) return;
  o.status = o.executedLots > 0 ? 'FILLED' : 'EXPIRED_IN_MATCH';
  o.remainingLots = 0;
}
