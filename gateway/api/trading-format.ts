/**
 * Binance's shapes for what the trading read endpoints answer from the history store and the
 * core: history rows as order snapshots (so that GET order / allOrders print them exactly as
 * they print the view's orders), myTrades rows, the account, commission rates. Decimals are
 * printed with 8 places (as Binance does), times in the client's unit.
 */
import {
  ExpiryReason,
  formatDecimal,
  type Market,
  type Markets,
  OrderType,
  Side,
  StpMode,
  type StpMode as StpModeValue,
  TimeInForce,
} from '../../engine/index.ts';
import { responseTime, type TimeUnit } from '../auth/time-unit.ts';
import { baseString, priceString, qtyString, quoteString } from '../orders/order-format.ts';
import { isFinalStatus, ORDER_STATUSES, type OrderSnapshot } from '../orders/order-state.ts';
import type { CommissionPpm } from '../ports.ts';
import type { HistoryOrder, HistoryTrade } from './history.port.ts';

const ORDER_TYPES: Readonly<Record<string, OrderType>> = {
  LIMIT: OrderType.LIMIT,
  MARKET: OrderType.MARKET,
  LIMIT_MAKER: OrderType.LIMIT_MAKER,
};
const TIME_IN_FORCE: Readonly<Record<string, TimeInForce>> = {
  GTC: TimeInForce.GTC,
  IOC: TimeInForce.IOC,
  FOK: TimeInForce.FOK,
};
const STP_MODES: Readonly<Record<string, StpModeValue>> = {
  NONE: StpMode.NONE,
  EXPIRE_TAKER: StpMode.EXPIRE_TAKER,
  EXPIRE_MAKER: StpMode.EXPIRE_MAKER,
  EXPIRE_BOTH: StpMode.EXPIRE_BOTH,
  DECREMENT: StpMode.DECREMENT,
};
/** The inverse of order-format.ts `expiryReasonName` (the persister writes the same names). */
const EXPIRY_REASONS: Readonly<Record<string, ExpiryReason>> = {
  UNFILLED_IOC_QUANTITY_EXPIRED: ExpiryReason.IOC,
  UNFILLED_FOK_ORDER_EXPIRED: ExpiryReason.FOK,
  INSUFFICIENT_LIQUIDITY: ExpiryReason.MARKET_NO_LIQUIDITY,
  EXCHANGE_CANCELED: ExpiryReason.FUNDS_EXHAUSTED,
};

function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * A history row as an order snapshot of `userId` on `m`, or undefined for a row that is no
 * order Binance would list (REJECTED, or a type the engine does not trade). The history store
 * keeps no prevented quantity: a row from it reports none.
 */
export function snapshotOfHistory(row: HistoryOrder, m: Market, userId: number): OrderSnapshot | undefined {
  const status = ORDER_STATUSES.find((s) => s === row.status);
  const orderType = lookup(ORDER_TYPES, row.type);
  if (status === undefined || orderType === undefined) return undefined;
  const byQuote = orderType === OrderType.MARKET && row.quoteQtyUnits > 0;
  return {
    symbolId: m.symbolId,
    userId,
    orderId: row.orderId,
    clientOrderId: row.clientOrderId,
    prevClientOrderId: '',
    side: row.side === 'SELL' ? Side.SELL : Side.BUY,
    orderType,
    timeInForce:
      orderType === OrderType.LIMIT
        ? (lookup(TIME_IN_FORCE, row.timeInForce) ?? TimeInForce.GTC)
        : TimeInForce.NONE,
    stpMode: lookup(STP_MODES, row.stpMode) ?? m.defaultStpMode,
    priceTicks: row.priceTicks,
    qtyLots: row.qtyLots,
    quoteQtyUnits: row.quoteQtyUnits,
    executedLots: row.executedLots,
    cumQuoteUnits: row.cumQuoteUnits,
    preventedLots: 0,
    preventedMatchId: -1,
    remainingLots: isFinalStatus(status) || byQuote ? 0 : Math.max(0, row.qtyLots - row.executedLots),
    status,
    expiryReason: row.expiryReason === null ? 0 : (lookup(EXPIRY_REASONS, row.expiryReason) ?? 0),
    timeMicros: row.createdMicros,
    updateTimeMicros: row.updatedMicros,
    workingTimeMicros: row.createdMicros,
    lastSeq: row.updatedSeq,
  };
}

/** One row of GET /api/v3/myTrades. */
export interface MyTradeResponse {
  readonly symbol: string;
  readonly id: number;
  readonly orderId: number;
  readonly orderListId: -1;
  readonly price: string;
  readonly qty: string;
  readonly quoteQty: string;
  readonly commission: string;
  readonly commissionAsset: string;
  readonly time: number;
  readonly isBuyer: boolean;
  readonly isMaker: boolean;
  readonly isBestMatch: true;
}

/** A history trade as myTrades shows it: the commission in the asset received (base when buying). */
export function myTradeResponse(t: HistoryTrade, m: Market, unit: TimeUnit): MyTradeResponse {
  return {
    symbol: m.symbol,
    id: t.tradeId,
    orderId: t.orderId,
    orderListId: -1,
    price: priceString(m, t.priceTicks),
    qty: qtyString(m, t.qtyLots),
    quoteQty: quoteString(m, t.quoteUnits),
    commission: t.isBuyer ? baseString(m, t.commissionUnits) : quoteString(m, t.commissionUnits),
    commissionAsset: t.isBuyer ? m.base.asset : m.quote.asset,
    time: responseTime(t.tsMicros, unit),
    isBuyer: t.isBuyer,
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

/** A rate in ppm as Binance prints rates in /api/v3: 8 places ("0.00100000" for 1000 ppm). */
export function rateString(ppm: number): string {
  return formatDecimal(ppm, 6, 8);
}

/** A rate in ppm as /sapi/v1/asset/tradeFee prints it: no trailing zeros ("0.001"). */
export function shortRateString(ppm: number): string {
  const s = formatDecimal(ppm, 6);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** A rate in ppm as the account's integer commission (basis points: 1000 ppm = 10), rounded down. */
export function basisPoints(ppm: number): number {
  return Math.floor(ppm / 100);
}

/** maker / taker / buyer / seller rates as the account and commission endpoints show them. */
export interface CommissionRates {
  readonly maker: string;
  readonly taker: string;
  readonly buyer: string;
  readonly seller: string;
}

/** The user's rates; there are no buyer or seller surcharges here. */
export function commissionRates(rates: CommissionPpm): CommissionRates {
  const zero = rateString(0);
  return { maker: rateString(rates.makerPpm), taker: rateString(rates.takerPpm), buyer: zero, seller: zero };
}

/** One balance as GET /api/v3/account lists it. */
export interface AccountBalanceResponse {
  readonly asset: string;
  readonly free: string;
  readonly locked: string;
}

/**
 * Every asset of the markets file with the user's free and locked amounts (zero when the
 * core has none for it), in the file's asset order; `omitZero` drops the assets with nothing.
 */
export function accountBalances(
  markets: Markets,
  balances: readonly { readonly assetId: number; readonly free: number; readonly locked: number }[],
  omitZero: boolean,
): AccountBalanceResponse[] {
  const byAsset = new Map(balances.map((b) => [b.assetId, b]));
  const out: AccountBalanceResponse[] = [];
  let assetId = 0;
  for (const spec of markets.assets.values()) {
    const b = byAsset.get(assetId++);
    const free = b?.free ?? 0;
    const locked = b?.locked ?? 0;
    if (omitZero && free === 0 && locked === 0) continue;
    const places = Math.max(8, spec.scale);
    out.push({
      asset: spec.asset,
      free: formatDecimal(free, spec.scale, places),
      locked: formatDecimal(locked, spec.scale, places),
    });
  }
  return out;
}
