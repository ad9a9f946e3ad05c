/**
 * Binance's replies to the order endpoints, built from one command's events (what
 * `core.submit` resolves with) and, for the orders a command cancels or amends, the order
 * view: POST order (ACK, RESULT, FULL), order/test, DELETE order, DELETE openOrders,
 * cancelReplace (with the -2021/-2022 partial-failure shapes), amend/keepPriority, and the
 * order shape of GET order / openOrders / allOrders.
 *
 * Decimals are printed with 8 places, as Binance does. Times are in milliseconds unless the
 * options ask for microseconds (X-MBX-TIME-UNIT: MICROSECOND): every time is kept in µs
 * until here.
 *
 * The view may have applied the command already or not yet: an order whose last applied
 * seq is older than the command has the command's events replayed on a copy, so the reply
 * is the same either way.
 */
import {
  type EngineEvent,
  type Market,
  type OrderAccepted,
  type OrderCanceled,
  OrderType,
  ResultCode,
  StpMode,
  type StpMode as StpModeValue,
  TimeInForce,
  type TradeSettled,
} from '../../engine/index.ts';
import { errorForResult } from '../binance/errors.ts';
import { type BinanceError, EngineMessages, Errors, fail, ok, type Result } from './order-error.ts';
import {
  apiTime,
  baseString,
  decimalString,
  derivedCancelClientOrderId,
  executionId,
  expiryReasonName,
  orderTypeName,
  priceString,
  qtyString,
  quoteString,
  sideName,
  stpModeName,
  type TimeUnit,
  timeInForceName,
} from './order-format.ts';
import type {
  AmendKeepPriorityRequest,
  CancelOpenOrdersRequest,
  CancelOrderRequest,
  CancelReplaceRequest,
  NewOrderRequest,
  NewOrderRespType,
  QueryOrderRequest,
  TestOrderRequest,
} from './order-params.ts';
import {
  applyToOrder,
  finishCommand,
  isFinalStatus,
  OrderRecord,
  type OrderSnapshot,
  type OrderStatus,
  origQtyLots,
} from './order-state.ts';
import type { OrderLookup } from './order-view.ts';

/** Reply settings: the unit of time fields (X-MBX-TIME-UNIT). */
export interface ReplyOptions {
  readonly timeUnit?: TimeUnit;
}

/** POST order, newOrderRespType=ACK. */
export interface AckResponse {
  readonly symbol: string;
  readonly orderId: number;
  readonly orderListId: -1;
  readonly clientOrderId: string;
  readonly transactTime: number;
}

/** One trade of a new order (FULL). */
export interface Fill {
  readonly price: string;
  readonly qty: string;
  readonly commission: string;
  readonly commissionAsset: string;
  readonly tradeId: number;
}

/** A match that self-trade prevention stopped, as a new order's reply lists it. */
export interface PreventedMatch {
  readonly preventedMatchId: number;
  readonly makerOrderId: number;
  readonly price: string;
  /** Present for EXPIRE_TAKER, EXPIRE_BOTH and DECREMENT. */
  readonly takerPreventedQuantity?: string;
  /** Present for EXPIRE_MAKER, EXPIRE_BOTH and DECREMENT. */
  readonly makerPreventedQuantity?: string;
}

/** POST order, newOrderRespType=RESULT. */
export interface ResultResponse extends AckResponse {
  readonly price: string;
  readonly origQty: string;
  readonly executedQty: string;
  readonly origQuoteOrderQty: string;
  readonly cummulativeQuoteQty: string;
  readonly status: OrderStatus;
  readonly timeInForce: string;
  readonly type: string;
  readonly side: 'BUY' | 'SELL';
  readonly workingTime: number;
  readonly selfTradePreventionMode: string;
  readonly strategyId?: number;
  readonly strategyType?: number;
  readonly preventedMatches?: readonly PreventedMatch[];
  readonly preventedQuantity?: string;
  readonly expiryReason?: string;
}

/** POST order, newOrderRespType=FULL. */
export interface FullResponse extends ResultResponse {
  readonly fills: readonly Fill[];
}

/** Any POST order reply. */
export type NewOrderResponse = AckResponse | ResultResponse | FullResponse;

/** DELETE order, and each element of DELETE openOrders and cancelReplace's cancelResponse. */
export interface CancelResponse {
  readonly symbol: string;
  readonly origClientOrderId: string;
  readonly orderId: number;
  readonly orderListId: -1;
  /** The cancel's own client order id. */
  readonly clientOrderId: string;
  readonly transactTime: number;
  readonly price: string;
  readonly origQty: string;
  readonly executedQty: string;
  readonly origQuoteOrderQty: string;
  readonly cummulativeQuoteQty: string;
  readonly status: OrderStatus;
  readonly timeInForce: string;
  readonly type: string;
  readonly side: 'BUY' | 'SELL';
  readonly selfTradePreventionMode: string;
}

/** A failed half of a cancel-replace, as its `data` shows it. */
export interface HalfError {
  readonly code: number;
  readonly msg: string;
}

/** cancelReplace: 200 body, and the `data` of -2021 / -2022. */
export interface CancelReplaceResponse {
  readonly cancelResult: 'SUCCESS' | 'FAILURE' | 'NOT_ATTEMPTED';
  readonly newOrderResult: 'SUCCESS' | 'FAILURE' | 'NOT_ATTEMPTED';
  readonly cancelResponse: CancelResponse | HalfError | null;
  readonly newOrderResponse: NewOrderResponse | HalfError | null;
}

/** amend/keepPriority's reply. */
export interface AmendResponse {
  readonly transactTime: number;
  readonly executionId: number;
  readonly amendedOrder: {
    readonly symbol: string;
    readonly orderId: number;
    readonly orderListId: -1;
    readonly origClientOrderId: string;
    readonly clientOrderId: string;
    readonly price: string;
    readonly qty: string;
    readonly executedQty: string;
    readonly preventedQty: string;
    readonly quoteOrderQty: string;
    readonly cumulativeQuoteQty: string;
    readonly status: OrderStatus;
    readonly timeInForce: string;
    readonly type: string;
    readonly side: 'BUY' | 'SELL';
    readonly workingTime: number;
    readonly selfTradePreventionMode: string;
  };
}

/** GET order, and each element of GET openOrders and allOrders. */
export interface QueryOrderResponse {
  readonly symbol: string;
  readonly orderId: number;
  readonly orderListId: -1;
  readonly clientOrderId: string;
  readonly price: string;
  readonly origQty: string;
  readonly executedQty: string;
  readonly cummulativeQuoteQty: string;
  readonly status: OrderStatus;
  readonly timeInForce: string;
  readonly type: string;
  readonly side: 'BUY' | 'SELL';
  readonly stopPrice: string;
  readonly icebergQty: string;
  readonly time: number;
  readonly updateTime: number;
  readonly isWorking: boolean;
  readonly workingTime: number;
  readonly origQuoteOrderQty: string;
  readonly selfTradePreventionMode: string;
  readonly preventedMatchId?: number;
  readonly preventedQuantity?: string;
  readonly expiryReason?: string;
}

/** order/test with computeCommissionRates: the user's rates, as fractions ("0.00100000" = 0.1%). */
export interface TestOrderCommissionResponse {
  readonly standardCommissionForOrder: { readonly maker: string; readonly taker: string };
  readonly specialCommissionForOrder: { readonly maker: string; readonly taker: string };
  readonly taxCommissionForOrder: { readonly maker: string; readonly taker: string };
  readonly discount: {
    readonly enabledForAccount: boolean;
    readonly enabledForSymbol: boolean;
    readonly discountAsset: string;
    readonly discount: string;
  };
}

/** A user's fee rates, parts per million (as the engine's SetFeeRates). */
export interface FeeRates {
  readonly makerPpm: number;
  readonly takerPpm: number;
}

// =============================================================================================
// POST /api/v3/order

/** The new order of a command: its acceptance, or its rejection. */
function placementOf(
  events: readonly EngineEvent[],
): OrderAccepted | Extract<EngineEvent, { kind: 'OrderRejected' }> | undefined {
  for (const e of events) if (e.kind === 'OrderAccepted' || e.kind === 'OrderRejected') return e;
  return undefined;
}

/** The new order as the command left it: accepted, then every event of the command applied. */
function placedOrder(accepted: OrderAccepted, events: readonly EngineEvent[], m: Market): OrderRecord {
  const o = OrderRecord.accepted(accepted);
  for (const e of events) applyToOrder(o, e, m);
  finishCommand(o);
  return o;
}

function stpShows(mode: StpModeValue, taker: boolean): boolean {
  if (mode === StpMode.EXPIRE_BOTH || mode === StpMode.DECREMENT) return true;
  return taker ? mode === StpMode.EXPIRE_TAKER : mode === StpMode.EXPIRE_MAKER;
}

function placementBody(
  o: OrderRecord,
  m: Market,
  events: readonly EngineEvent[],
  type: NewOrderRespType,
  strategy: { readonly strategyId?: number; readonly strategyType?: number },
  opts: ReplyOptions,
): NewOrderResponse {
  const transactTime = apiTime(o.timeMicros, opts.timeUnit);
  const ack: AckResponse = {
    symbol: m.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    transactTime,
  };
  if (type === 'ACK') return ack;
  const prevented: PreventedMatch[] = [];
  const fills: Fill[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'SelfTradePrevented' && e.symbolId === o.symbolId && e.takerOrderId === o.orderId) {
      prevented.push({
        preventedMatchId: e.preventedMatchId,
        makerOrderId: e.makerOrderId,
        price: priceString(m, e.priceTicks),
        ...(stpShows(e.stpMode, true) ? { takerPreventedQuantity: qtyString(m, e.takerPreventedLots) } : {}),
        ...(stpShows(e.stpMode, false) ? { makerPreventedQuantity: qtyString(m, e.makerPreventedLots) } : {}),
      });
    } else if (e.kind === 'TradeExecuted' && e.symbolId === o.symbolId && e.takerOrderId === o.orderId) {
      const settled = settlementOf(events, i);
      const buyer = e.takerSide === 0;
      fills.push({
        price: priceString(m, e.priceTicks),
        qty: qtyString(m, e.qtyLots),
        commission:
          settled === undefined
            ? baseString(m, 0)
            : buyer
              ? baseString(m, settled.buyerFeeUnits)
              : quoteString(m, settled.sellerFeeUnits),
        commissionAsset: buyer ? m.base.asset : m.quote.asset,
        tradeId: e.tradeId,
      });
    }
  }
  const result: ResultResponse = {
    ...ack,
    price: priceString(m, o.priceTicks),
    origQty: qtyString(m, origQtyLots(o)),
    executedQty: qtyString(m, o.executedLots),
    origQuoteOrderQty: quoteString(m, o.quoteQtyUnits),
    cummulativeQuoteQty: quoteString(m, o.cumQuoteUnits),
    status: o.status,
    timeInForce: timeInForceName(o.timeInForce),
    type: orderTypeName(o.orderType),
    side: sideName(o.side),
    workingTime: apiTime(o.workingTimeMicros, opts.timeUnit),
    selfTradePreventionMode: stpModeName(o.stpMode),
    ...(strategy.strategyId === undefined ? {} : { strategyId: strategy.strategyId }),
    ...(strategy.strategyType === undefined ? {} : { strategyType: strategy.strategyType }),
    ...(prevented.length > 0 ? { preventedMatches: prevented } : {}),
    ...(o.preventedLots > 0 ? { preventedQuantity: qtyString(m, o.preventedLots) } : {}),
    ...(o.status === 'EXPIRED' ? { expiryReason: expiryReasonName(o.expiryReason) } : {}),
  };
  return type === 'RESULT' ? result : { ...result, fills };
}

/** The TradeSettled of the trade at `i` (risk writes it right after the trade). */
function settlementOf(events: readonly EngineEvent[], i: number): TradeSettled | undefined {
  const t = events[i]!;
  if (t.kind !== 'TradeExecuted') return undefined;
  for (let j = i + 1; j < events.length; j++) {
    const s = events[j]!;
    if (s.kind === 'TradeSettled' && s.symbolId === t.symbolId && s.tradeId === t.tradeId) return s;
    if (s.kind === 'TradeExecuted') break;
  }
  return undefined;
}

/**
 * POST /api/v3/order: the reply for the command's events, in the shape the request asked
 * (ACK, RESULT or FULL), or the Binance error for the engine's refusal (-2010 and friends).
 */
export function newOrderResponse(
  req: NewOrderRequest,
  events: readonly EngineEvent[],
  opts: ReplyOptions = {},
): Result<NewOrderResponse> {
  const placed = placementOf(events);
  if (placed === undefined) return fail(Errors.unknown());
  if (placed.kind === 'OrderRejected') return fail(errorForResult(placed.code, 'place'));
  const o = placedOrder(placed, events, req.market);
  return ok(placementBody(o, req.market, events, req.newOrderRespType, req, opts));
}

/** A fee rate in ppm as Binance prints a rate ("0.00100000" for 1000 ppm). */
function rate(ppm: number): string {
  return decimalString(ppm, 6);
}

/**
 * POST /api/v3/order/test: `{}`, or with computeCommissionRates the rates that would apply
 * (the user's maker and taker rates; no special, tax or discount rates exist here).
 */
export function testOrderResponse(
  req: TestOrderRequest,
  rates: FeeRates,
): Record<string, never> | TestOrderCommissionResponse {
  if (!req.computeCommissionRates) return {};
  const zero = rate(0);
  return {
    standardCommissionForOrder: { maker: rate(rates.makerPpm), taker: rate(rates.takerPpm) },
    specialCommissionForOrder: { maker: zero, taker: zero },
    taxCommissionForOrder: { maker: zero, taker: zero },
    // Binance's fee discount pays fees in BNB; there is no such asset here, so it is off.
    discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: 'BNB', discount: zero },
  };
}

// =============================================================================================
// Cancels

/**
 * The order `orderId` as the command (whose events are `events`) left it: the view's state
 * when it has applied the command already, else the view's state with the command replayed
 * on a copy. Undefined when the view does not know the order.
 */
function orderAfter(
  lookup: OrderLookup | undefined,
  userId: number,
  symbolId: number,
  orderId: number,
  events: readonly EngineEvent[],
  m: Market,
): OrderSnapshot | undefined {
  const s = lookup?.peekOrder(userId, symbolId, orderId);
  if (s === undefined) return undefined;
  const seq = events[0]?.seq ?? 0;
  if (s.lastSeq >= seq) return s;
  const copy = OrderRecord.from(s);
  for (const e of events) applyToOrder(copy, e, m);
  return copy;
}

/**
 * What a cancel event alone says of the order, for an order the view no longer knows (a
 * view restarted without seeding): a LIMIT GTC whose fills were at its own price (a resting
 * order trades at its price) and with the market's default STP mode.
 */
function canceledFromEvent(e: OrderCanceled, m: Market): OrderSnapshot {
  const o = new OrderRecord();
  o.symbolId = e.symbolId;
  o.userId = e.userId;
  o.orderId = e.orderId;
  o.clientOrderId = e.clientOrderId;
  o.side = e.side;
  o.orderType = OrderType.LIMIT;
  o.stpMode = m.defaultStpMode;
  o.priceTicks = e.priceTicks;
  o.qtyLots = e.canceledLots + e.filledLots;
  o.executedLots = e.filledLots;
  o.cumQuoteUnits = e.priceTicks * e.filledLots * m.quoteUnitsPerTickLot;
  o.status = 'CANCELED';
  o.timeMicros = e.tsMicros;
  o.updateTimeMicros = e.tsMicros;
  o.workingTimeMicros = e.tsMicros;
  o.lastSeq = e.seq;
  return o;
}

function cancelBody(
  e: OrderCanceled,
  events: readonly EngineEvent[],
  m: Market,
  lookup: OrderLookup | undefined,
  cancelClientOrderId: string | undefined,
  opts: ReplyOptions,
): CancelResponse {
  const o = orderAfter(lookup, e.userId, e.symbolId, e.orderId, events, m) ?? canceledFromEvent(e, m);
  return {
    symbol: m.symbol,
    origClientOrderId: e.clientOrderId,
    orderId: e.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId ?? derivedCancelClientOrderId(e.seq, e.orderId),
    transactTime: apiTime(e.tsMicros, opts.timeUnit),
    price: priceString(m, o.priceTicks),
    origQty: qtyString(m, origQtyLots(o)),
    executedQty: qtyString(m, o.executedLots),
    origQuoteOrderQty: quoteString(m, o.quoteQtyUnits),
    cummulativeQuoteQty: quoteString(m, o.cumQuoteUnits),
    status: 'CANCELED',
    timeInForce: timeInForceName(o.timeInForce),
    type: orderTypeName(o.orderType),
    side: sideName(o.side),
    selfTradePreventionMode: stpModeName(o.stpMode),
  };
}

/**
 * DELETE /api/v3/order: the canceled order, or -2011 with the engine's reason ("Unknown order
 * sent.", "Order was not canceled due to cancel restrictions."). The cancel's clientOrderId is
 * the request's newClientOrderId, else derived from the command (as the user data stream has it).
 */
export function cancelOrderResponse(
  req: CancelOrderRequest,
  events: readonly EngineEvent[],
  lookup?: OrderLookup,
  opts: ReplyOptions = {},
): Result<CancelResponse> {
  for (const e of events) {
    if (e.kind === 'CancelRejected') return fail(errorForResult(e.code, 'cancel'));
    if (e.kind === 'OrderCanceled')
      return ok(cancelBody(e, events, req.market, lookup, req.newClientOrderId, opts));
  }
  return fail(Errors.unknown());
}

/**
 * DELETE /api/v3/openOrders: every canceled order (in order id order), or -2011 "Unknown order
 * sent." when the user had none open on the symbol.
 */
export function cancelOpenOrdersResponse(
  req: CancelOpenOrdersRequest,
  events: readonly EngineEvent[],
  lookup?: OrderLookup,
  opts: ReplyOptions = {},
): Result<CancelResponse[]> {
  const out: CancelResponse[] = [];
  for (const e of events) {
    if (e.kind === 'CancelRejected') return fail(errorForResult(e.code, 'cancelAll'));
    if (e.kind === 'OrderCanceled') out.push(cancelBody(e, events, req.market, lookup, undefined, opts));
  }
  return out.length === 0 ? fail(Errors.unknown()) : ok(out);
}

// =============================================================================================
// POST /api/v3/order/cancelReplace

function halfError(err: BinanceError): HalfError {
  return { code: err.code, msg: err.msg };
}

/**
 * POST /api/v3/order/cancelReplace, as Binance answers it:
 * - both halves succeed: 200 with cancelResult/newOrderResult SUCCESS;
 * - one half fails: -2021 (HTTP 409) with the same four fields in `data`, the failed half as
 *   `{code, msg}`;
 * - both fail, or the cancel fails under STOP_ON_FAILURE (new order NOT_ATTEMPTED): -2022;
 * - the engine refused the whole command before either half (risk: the new order's funds):
 *   -2022 with the cancel NOT_ATTEMPTED and the new order's error.
 */
export function cancelReplaceResponse(
  req: CancelReplaceRequest,
  events: readonly EngineEvent[],
  lookup?: OrderLookup,
  opts: ReplyOptions = {},
): Result<CancelReplaceResponse> {
  const m = req.market;
  let cancelResult: CancelReplaceResponse['cancelResult'] = 'NOT_ATTEMPTED';
  let cancelResponse: CancelReplaceResponse['cancelResponse'] = null;
  for (const e of events) {
    if (e.kind === 'CancelRejected') {
      cancelResult = 'FAILURE';
      cancelResponse = halfError(errorForResult(e.code, 'cancel'));
      break;
    }
    if (e.kind === 'OrderCanceled') {
      cancelResult = 'SUCCESS';
      cancelResponse = cancelBody(e, events, m, lookup, req.cancelNewClientOrderId, opts);
      break;
    }
  }
  let newOrderResult: CancelReplaceResponse['newOrderResult'] = 'NOT_ATTEMPTED';
  let newOrderResponse: CancelReplaceResponse['newOrderResponse'] = null;
  const placed = placementOf(events);
  if (placed?.kind === 'OrderAccepted') {
    newOrderResult = 'SUCCESS';
    newOrderResponse = placementBody(
      placedOrder(placed, events, m),
      m,
      events,
      req.newOrderRespType,
      req,
      opts,
    );
  } else if (placed?.kind === 'OrderRejected' && placed.code !== ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED) {
    newOrderResult = 'FAILURE';
    newOrderResponse = halfError(errorForResult(placed.code, 'cancelReplace'));
  }
  const body: CancelReplaceResponse = { cancelResult, newOrderResult, cancelResponse, newOrderResponse };
  if (cancelResult === 'SUCCESS' && newOrderResult === 'SUCCESS') return ok(body);
  if (cancelResult === 'SUCCESS' || newOrderResult === 'SUCCESS')
    return fail(Errors.cancelReplacePartiallyFailed(body));
  return fail(Errors.cancelReplaceFailed(body));
}

// =============================================================================================
// PUT /api/v3/order/amend/keepPriority

/** The order a request names: by id (and client order id, both matching), or by client order id. */
export function findOrder(
  lookup: OrderLookup,
  userId: number,
  symbolId: number,
  orderId: number,
  clientOrderId: string,
): OrderSnapshot | undefined {
  if (orderId !== 0) {
    const o = lookup.order(userId, symbolId, orderId);
    return o !== undefined && (clientOrderId === '' || o.clientOrderId === clientOrderId) ? o : undefined;
  }
  return lookup.orderByClientOrderId(userId, symbolId, clientOrderId);
}

/** GET /api/v3/order: the order from the view, or undefined (then ask the history store, else -2013). */
export function queryOrder(lookup: OrderLookup, req: QueryOrderRequest): OrderSnapshot | undefined {
  return findOrder(lookup, req.userId, req.market.symbolId, req.orderId, req.clientOrderId);
}

/**
 * Checks an amend/keepPriority against the order it names, before it is sent: the order
 * must be open (-2038 "Unknown order sent." otherwise) and `newQty` strictly below its
 * quantity (-2038 "Order amend (quantity increase) is not supported."), since the engine's
 * amend would otherwise move the order to the back of its level.
 */
export function checkKeepPriority(
  req: AmendKeepPriorityRequest,
  lookup: OrderLookup,
): BinanceError | undefined {
  const c = req.command;
  const o = findOrder(lookup, c.userId, c.symbolId, c.orderId, c.clientOrderId);
  if (o === undefined || isFinalStatus(o.status)) return Errors.amendRejected(EngineMessages.unknownOrder);
  if (c.qtyLots >= o.qtyLots) return Errors.amendRejected(EngineMessages.amendQuantityIncrease);
  return undefined;
}

/**
 * PUT /api/v3/order/amend/keepPriority: the amended order, or -2038 with the engine's reason.
 * `executionId` is the amend's execution id, the same as the REPLACED execution report's `I`.
 */
export function amendKeepPriorityResponse(
  req: AmendKeepPriorityRequest,
  events: readonly EngineEvent[],
  lookup?: OrderLookup,
  opts: ReplyOptions = {},
): Result<AmendResponse> {
  const m = req.market;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'AmendRejected') return fail(errorForResult(e.code, 'amend'));
    if (e.kind !== 'OrderAmended') continue;
    const o = orderAfter(lookup, e.userId, e.symbolId, e.orderId, events, m);
    const executed = o?.executedLots ?? e.qtyLots - e.remainingLots;
    return ok({
      transactTime: apiTime(e.tsMicros, opts.timeUnit),
      executionId: executionId(e.seq, i),
      amendedOrder: {
        symbol: m.symbol,
        orderId: e.orderId,
        orderListId: -1,
        origClientOrderId: o?.prevClientOrderId ?? req.command.clientOrderId,
        clientOrderId: e.clientOrderId,
        price: priceString(m, e.priceTicks),
        qty: qtyString(m, e.qtyLots),
        executedQty: qtyString(m, executed),
        preventedQty: qtyString(m, o?.preventedLots ?? 0),
        quoteOrderQty: quoteString(m, o?.quoteQtyUnits ?? 0),
        cumulativeQuoteQty: quoteString(
          m,
          o?.cumQuoteUnits ?? e.priceTicks * executed * m.quoteUnitsPerTickLot,
        ),
        status: o?.status ?? (executed > 0 ? 'PARTIALLY_FILLED' : 'NEW'),
        timeInForce: timeInForceName(o?.timeInForce ?? TimeInForce.GTC),
        type: orderTypeName(o?.orderType ?? OrderType.LIMIT),
        side: sideName(e.side),
        workingTime: apiTime(o?.workingTimeMicros ?? e.tsMicros, opts.timeUnit),
        selfTradePreventionMode: stpModeName(o?.stpMode ?? m.defaultStpMode),
      },
    });
  }
  return fail(Errors.unknown());
}

// =============================================================================================
// GET /api/v3/order, openOrders, allOrders

/**
 * An order as GET order / openOrders / allOrders show it. `preventedMatchId` and
 * `preventedQuantity` appear once self-trade prevention took from the order, `expiryReason`
 * when it EXPIRED. Takes any snapshot (the view's, or one built from the history store).
 */
export function orderQueryResponse(o: OrderSnapshot, m: Market, opts: ReplyOptions = {}): QueryOrderResponse {
  return {
    symbol: m.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: priceString(m, o.priceTicks),
    origQty: qtyString(m, origQtyLots(o)),
    executedQty: qtyString(m, o.executedLots),
    cummulativeQuoteQty: quoteString(m, o.cumQuoteUnits),
    status: o.status,
    timeInForce: timeInForceName(o.timeInForce),
    type: orderTypeName(o.orderType),
    side: sideName(o.side),
    stopPrice: priceString(m, 0),
    icebergQty: qtyString(m, 0),
    time: apiTime(o.timeMicros, opts.timeUnit),
    updateTime: apiTime(o.updateTimeMicros, opts.timeUnit),
    isWorking: true,
    workingTime: apiTime(o.workingTimeMicros, opts.timeUnit),
    origQuoteOrderQty: quoteString(m, o.quoteQtyUnits),
    selfTradePreventionMode: stpModeName(o.stpMode),
    ...(o.preventedLots > 0
      ? { preventedMatchId: o.preventedMatchId, preventedQuantity: qtyString(m, o.preventedLots) }
      : {}),
    ...(o.status === 'EXPIRED' ? { expiryReason: expiryReasonName(o.expiryReason) } : {}),
  };
}
