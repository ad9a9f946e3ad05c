/**
 * Binance order requests, parsed and validated into engine commands, as pure functions with
 * no HTTP: POST /api/v3/order (and /order/test), DELETE /api/v3/order, DELETE
 * /api/v3/openOrders, POST /api/v3/order/cancelReplace, PUT /api/v3/order/amend/keepPriority.
 *
 * Input is the request's parameters as received (a Map, a plain record, or the pairs of a
 * query string in order, so that a parameter sent twice is seen). Output is a command for
 * the engine plus what the reply needs, or the Binance error the request earns, with
 * Binance's code and message. No input string ever makes these functions throw.
 *
 * The market filters (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL) are checked here,
 * before anything reaches the engine, as Binance evaluates them before placing or cancelling
 * anything (which matters for cancel-replace: a new order that fails a filter cancels
 * nothing). Prices and quantities become ticks and lots; a value off the grid is refused,
 * never rounded: more decimals than the asset has is -1111, within them but off the tick or
 * step is -1013 with the filter's name.
 *
 * `recvWindow`, `timestamp` and `signature` belong to authentication: counted as read here,
 * never checked.
 */
import { randomFillSync } from 'node:crypto';
import {
  CancelReplaceMode,
  CancelRestriction,
  type CommandInput,
  type Market,
  type Markets,
  OrderType,
  parseDecimal,
  priceToTicks,
  qtyToLots,
  ResultCode,
  Side,
  StpMode,
  TimeInForce,
  type UserId,
} from '../../engine/index.ts';
import {
  type BinanceError,
  CANCEL_REPLACE_MODE_RANGE,
  CLIENT_ORDER_ID_RANGE,
  DECIMAL_RANGE,
  EngineMessages,
  Errors,
  fail,
  ID_RANGE,
  ok,
  type Result,
  STP_MODE_RANGE,
  SYMBOL_RANGE,
} from './order-error.ts';

/** A new order as the engine takes it. */
export type PlaceOrderInput = Extract<CommandInput, { kind: 'PlaceOrder' }>;
/** A cancel-replace as the engine takes it. */
export type CancelReplaceInput = Extract<CommandInput, { kind: 'CancelReplaceOrder' }>;
/** A cancel as the engine takes it. */
export type CancelOrderInput = Extract<CommandInput, { kind: 'CancelOrder' }>;
/** A cancel-all as the engine takes it. */
export type CancelAllOrdersInput = Extract<CommandInput, { kind: 'CancelAllOrders' }>;
/** An amend as the engine takes it. */
export type AmendOrderInput = Extract<CommandInput, { kind: 'AmendOrder' }>;

/** The parameters of a request as received: values are normally strings (the WebSocket API may send numbers). */
export type RequestParams =
  | ReadonlyMap<string, unknown>
  | Iterable<readonly [unknown, unknown]>
  | Readonly<Record<string, unknown>>;

/** Binance's reply shapes for a new order. */
export type NewOrderRespType = 'ACK' | 'RESULT' | 'FULL';

/** What a parse needs besides the parameters. */
export interface ParseContext {
  readonly markets: Markets;
  /** The authenticated user. */
  readonly userId: UserId;
  /** Parameters consumed by authentication (default: recvWindow, timestamp, signature; the WebSocket API adds apiKey). */
  readonly authParams?: readonly string[];
  /** Client order ids for orders and amends that name none (default: 22 random letters and digits, as Binance's). */
  readonly newClientOrderId?: () => string;
}

/** A parsed POST /api/v3/order. */
export interface NewOrderRequest {
  readonly market: Market;
  readonly command: PlaceOrderInput;
  readonly newOrderRespType: NewOrderRespType;
  /** Echoed in RESULT and FULL replies when sent. */
  readonly strategyId?: number;
  readonly strategyType?: number;
}

/** A parsed POST /api/v3/order/test. */
export interface TestOrderRequest extends NewOrderRequest {
  readonly computeCommissionRates: boolean;
}

/** A parsed DELETE /api/v3/order. */
export interface CancelOrderRequest {
  readonly market: Market;
  readonly command: CancelOrderInput;
  /** The cancel's own client order id, when the request named one. */
  readonly newClientOrderId?: string;
}

/** A parsed DELETE /api/v3/openOrders. */
export interface CancelOpenOrdersRequest {
  readonly market: Market;
  readonly command: CancelAllOrdersInput;
}

/** A parsed POST /api/v3/order/cancelReplace. */
export interface CancelReplaceRequest {
  readonly market: Market;
  readonly command: CancelReplaceInput;
  readonly newOrderRespType: NewOrderRespType;
  /** The cancel's own client order id, when the request named one. */
  readonly cancelNewClientOrderId?: string;
  /** For the rate limiter: DO_NOTHING (default) or CANCEL_ONLY. */
  readonly orderRateLimitExceededMode: 'DO_NOTHING' | 'CANCEL_ONLY';
  readonly strategyId?: number;
  readonly strategyType?: number;
}

/** A parsed PUT /api/v3/order/amend/keepPriority. */
export interface AmendKeepPriorityRequest {
  readonly market: Market;
  /** Keeps the price (priceTicks 0) and sets the total quantity to newQty. */
  readonly command: AmendOrderInput;
}

const AUTH_PARAMS = ['recvWindow', 'timestamp', 'signature'] as const;

const NEW_ORDER_PARAMS = [
  'symbol',
  'side',
  'type',
  'timeInForce',
  'quantity',
  'quoteOrderQty',
  'price',
  'newClientOrderId',
  'strategyId',
  'strategyType',
  'stopPrice',
  'trailingDelta',
  'icebergQty',
  'newOrderRespType',
  'selfTradePreventionMode',
  'pegPriceType',
  'pegOffsetValue',
  'pegOffsetType',
] as const;

const TEST_ORDER_PARAMS = [...NEW_ORDER_PARAMS, 'computeCommissionRates'];
const CANCEL_ORDER_PARAMS = [
  'symbol',
  'orderId',
  'origClientOrderId',
  'newClientOrderId',
  'cancelRestrictions',
];
const SYMBOL_PARAMS = ['symbol'];
const CANCEL_REPLACE_PARAMS = [
  ...NEW_ORDER_PARAMS,
  'cancelReplaceMode',
  'cancelNewClientOrderId',
  'cancelOrigClientOrderId',
  'cancelOrderId',
  'cancelRestrictions',
  'orderRateLimitExceededMode',
];
const AMEND_PARAMS = ['symbol', 'orderId', 'origClientOrderId', 'newClientOrderId', 'newQty'];
const QUERY_ORDER_PARAMS = ['symbol', 'orderId', 'origClientOrderId'];

/** Parameters of order types and features the engine does not have (icebergQty has its own message). */
const UNSUPPORTED_PARAMS = ['stopPrice', 'trailingDelta', 'pegPriceType', 'pegOffsetValue', 'pegOffsetType'];
const RESP_TYPES = ['ACK', 'RESULT', 'FULL'] as const;
const badRespType = () => Errors.illegalChars('newOrderRespType', 'ACK, RESULT, FULL');

/** The order types Binance has and the engine does not trade yet, with Binance's refusal. */
const UNSUPPORTED_TYPES: Readonly<Record<string, string>> = {
  STOP_LOSS: 'Stop loss orders are not supported for this symbol.',
  STOP_LOSS_LIMIT: 'Stop loss limit orders are not supported for this symbol.',
  TAKE_PROFIT: 'Take profit orders are not supported for this symbol.',
  TAKE_PROFIT_LIMIT: 'Take profit limit orders are not supported for this symbol.',
};

const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const DECIMAL = /^([0-9]{1,20})(\.([0-9]{1,20}))?$/;
const CLIENT_ORDER_ID = /^[a-zA-Z0-9\-_]{1,36}$/;
const ID = /^[0-9]{1,20}$/;
const INTEGER = /^-?[0-9]{1,20}$/;
/** An order id no order has: a cancel or amend naming an impossible id gets the engine's own "unknown order". */
const NO_SUCH_ORDER_ID = Number.MAX_SAFE_INTEGER;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const BASE62_CODES = Uint8Array.from(BASE62, (c) => c.charCodeAt(0));
/** Random bytes for 512 ids, refilled when used up (one getrandom call instead of one per order). */
const ID_POOL = Buffer.allocUnsafe(22 * 512);
let idPoolAt = ID_POOL.length;
const ID_BYTES = Buffer.allocUnsafe(22);

/** 22 random letters and digits, the shape of Binance's generated client order ids. */
export function randomClientOrderId(): string {
  if (idPoolAt + 22 > ID_POOL.length) {
    randomFillSync(ID_POOL);
    idPoolAt = 0;
  }
  // 62 does not divide 256: the slight bias is irrelevant for an id that only needs to be unique.
  for (let i = 0; i < 22; i++) ID_BYTES[i] = BASE62_CODES[ID_POOL[idPoolAt + i]! % 62]!;
  idPoolAt += 22;
  return ID_BYTES.toString('latin1', 0, 22);
}

/**
 * The names an endpoint reads, per (endpoint names, auth names) pair: built once, not per
 * request, for the module constants every parser passes (weakly held: a list made per call
 * would only miss the cache).
 */
const knownSets = new WeakMap<readonly string[], WeakMap<readonly string[], ReadonlySet<string>>>();

function knownSet(known: readonly string[], auth: readonly string[]): ReadonlySet<string> {
  let byAuth = knownSets.get(known);
  if (byAuth === undefined) {
    byAuth = new WeakMap();
    knownSets.set(known, byAuth);
  }
  let set = byAuth.get(auth);
  if (set === undefined) {
    set = new Set([...known, ...auth]);
    byAuth.set(auth, set);
  }
  return set;
}

/** The parameters, normalised to strings, with what the endpoint reads. */
class Params {
  private constructor(
    private readonly values: ReadonlyMap<string, string | null>,
    private readonly known: ReadonlySet<string>,
  ) {}

  /** Normalises `input`; -1101 when a parameter comes twice. Values that are not scalars read as null. */
  static from(input: RequestParams, known: readonly string[], auth: readonly string[]): Result<Params> {
    const names = knownSet(known, auth);
    // The HTTP and WebSocket parsers' output (a Map of strings): read as it is, nothing copied.
    if (input instanceof Map && onlyStrings(input)) return ok(new Params(input, names));
    const values = new Map<string, string | null>();
    const add = (k: unknown, v: unknown): boolean => {
      const key = typeof k === 'string' ? k : String(k);
      if (values.has(key)) return false;
      values.set(key, scalar(v));
      return true;
    };
    if (input instanceof Map) {
      for (const [k, v] of input) add(k, v);
    } else if (isIterable(input)) {
      for (const pair of input) {
        if (!Array.isArray(pair)) continue;
        if (!add(pair[0], pair[1])) return fail(Errors.duplicateParam());
      }
    } else if (typeof input === 'object' && input !== null) {
      for (const k of Object.keys(input)) add(k, (input as Record<string, unknown>)[k]);
    }
    return ok(new Params(values, names));
  }

  /** True when the parameter was sent (even empty). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The raw value: undefined when not sent, null when sent as something other than a scalar. */
  get(name: string): string | null | undefined {
    return this.values.get(name);
  }

  /** -1104 when parameters the endpoint does not read were sent. */
  unread(): BinanceError | undefined {
    let read = 0;
    for (const k of this.values.keys()) if (this.known.has(k)) read++;
    return read < this.values.size ? Errors.unread(read, this.values.size) : undefined;
  }

  /** A mandatory string parameter: -1102 when missing, empty or not a string. */
  required(name: string): Result<string> {
    const v = this.values.get(name);
    if (v === undefined || v === null || v === '') return fail(Errors.mandatory(name));
    return ok(v);
  }

  /** An optional string parameter: undefined when not sent; -1105 when empty; -1102 when malformed. */
  optional(name: string): Result<string | undefined> {
    const v = this.values.get(name);
    if (v === undefined) return ok(undefined);
    if (v === null) return fail(Errors.mandatory(name));
    if (v === '') return fail(Errors.empty(name));
    return ok(v);
  }
}

function scalar(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  return null;
}

function onlyStrings(m: ReadonlyMap<unknown, unknown>): m is ReadonlyMap<string, string> {
  for (const [k, v] of m) if (typeof k !== 'string' || typeof v !== 'string') return false;
  return true;
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/** The market named by `symbol`: -1102 missing, -1100 illegal characters, -1121 unknown. */
function readMarket(p: Params, markets: Markets): Result<Market> {
  const s = p.required('symbol');
  if (!s.ok) return s;
  if (!SYMBOL.test(s.value)) return fail(Errors.illegalChars('symbol', SYMBOL_RANGE));
  const m = markets.get(s.value);
  return m === undefined ? fail(Errors.invalidSymbol()) : ok(m);
}

/** A client order id parameter: undefined when not sent; `emptyError` when empty; -1100 when illegal. */
function readClientOrderId(
  p: Params,
  name: string,
  emptyError: () => BinanceError,
): Result<string | undefined> {
  const v = p.get(name);
  if (v === undefined) return ok(undefined);
  if (v === '') return fail(emptyError());
  if (v === null || !CLIENT_ORDER_ID.test(v)) return fail(Errors.illegalChars(name, CLIENT_ORDER_ID_RANGE));
  return ok(v);
}

/**
 * An order id parameter: undefined when not sent, -1100 when not digits. An id no order can
 * have (0, or beyond 2^53) reads as NO_SUCH_ORDER_ID, so the engine answers "unknown order".
 */
function readOrderId(p: Params, name: string): Result<number | undefined> {
  const v = p.get(name);
  if (v === undefined) return ok(undefined);
  if (v === '') return fail(Errors.empty(name));
  if (v === null || !ID.test(v)) return fail(Errors.illegalChars(name, ID_RANGE));
  const n = Number(v);
  return ok(Number.isSafeInteger(n) && n > 0 ? n : NO_SUCH_ORDER_ID);
}

/**
 * A decimal parameter as text, checked against Binance's legal range and against the
 * asset's precision (`scale` decimals): -1100 malformed, -1111 too many decimals.
 */
function readDecimal(p: Params, name: string, scale: number, required: boolean): Result<string | undefined> {
  const v = required ? p.required(name) : p.optional(name);
  if (!v.ok || v.value === undefined) return v;
  const m = DECIMAL.exec(v.value);
  if (m === null) return fail(Errors.illegalChars(name, DECIMAL_RANGE));
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) return fail(Errors.tooPrecise(name));
  return ok(v.value);
}

/** An enum parameter: undefined when not sent; `invalid` when not one of `values`. */
function readEnum<T extends string>(
  p: Params,
  name: string,
  values: readonly T[],
  invalid: () => BinanceError,
): Result<T | undefined> {
  const v = p.get(name);
  if (v === undefined) return ok(undefined);
  if (v === null || !(values as readonly string[]).includes(v)) return fail(invalid());
  return ok(v as T);
}

/** strategyId (a long) and strategyType (an int of at least 1,000,000). */
function readStrategy(p: Params): Result<{ strategyId?: number; strategyType?: number }> {
  const out: { strategyId?: number; strategyType?: number } = {};
  const id = p.optional('strategyId');
  if (!id.ok) return id;
  if (id.value !== undefined) {
    const n = Number(id.value);
    if (!INTEGER.test(id.value) || !Number.isSafeInteger(n))
      return fail(Errors.illegalChars('strategyId', '^-?[0-9]{1,19}$'));
    out.strategyId = n;
  }
  const type = p.optional('strategyType');
  if (!type.ok) return type;
  if (type.value !== undefined) {
    const n = Number(type.value);
    if (!INTEGER.test(type.value) || !Number.isSafeInteger(n) || n > 2 ** 31 - 1)
      return fail(Errors.illegalChars('strategyType', '^-?[0-9]{1,10}$'));
    if (n < 1_000_000) return fail(Errors.badStrategyType());
    out.strategyType = n;
  }
  return ok(out);
}

const STP_NAMES = ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT'] as const;

/** The new order's fields, validated against the market (the shared half of order and cancelReplace). */
interface NewOrderFields {
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly stpMode: StpMode;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteQtyUnits: number;
  readonly clientOrderId: string;
  readonly newOrderRespType: NewOrderRespType;
  readonly strategyId?: number;
  readonly strategyType?: number;
}

function readNewOrder(p: Params, m: Market, ctx: ParseContext): Result<NewOrderFields> {
  // side and type first: what else is required depends on the type.
  const sideText = p.required('side');
  if (!sideText.ok) return sideText;
  if (sideText.value !== 'BUY' && sideText.value !== 'SELL') return fail(Errors.invalidSide());
  const side = sideText.value === 'BUY' ? Side.BUY : Side.SELL;
  const typeText = p.required('type');
  if (!typeText.ok) return typeText;
  const unsupported = Object.hasOwn(UNSUPPORTED_TYPES, typeText.value)
    ? UNSUPPORTED_TYPES[typeText.value]
    : undefined;
  if (unsupported !== undefined) return fail(Errors.invalid(unsupported));
  const orderType =
    typeText.value === 'LIMIT'
      ? OrderType.LIMIT
      : typeText.value === 'MARKET'
        ? OrderType.MARKET
        : typeText.value === 'LIMIT_MAKER'
          ? OrderType.LIMIT_MAKER
          : undefined;
  if (orderType === undefined) return fail(Errors.invalidOrderType());

  // Parameters that belong to order types and features the engine does not have.
  if (p.has('icebergQty')) return fail(Errors.invalid(EngineMessages.icebergNotSupported));
  for (const name of UNSUPPORTED_PARAMS) {
    if (p.has(name)) return fail(Errors.notRequired(name));
  }

  // timeInForce: mandatory for LIMIT, refused for the types that take none.
  let timeInForce: TimeInForce = TimeInForce.NONE;
  if (orderType === OrderType.LIMIT) {
    const tif = p.required('timeInForce');
    if (!tif.ok) return tif;
    if (tif.value === 'GTC') timeInForce = TimeInForce.GTC;
    else if (tif.value === 'IOC') timeInForce = TimeInForce.IOC;
    else if (tif.value === 'FOK') timeInForce = TimeInForce.FOK;
    else return fail(Errors.invalidTimeInForce());
  } else if (p.has('timeInForce')) {
    return fail(Errors.notRequired('timeInForce'));
  }

  // Quantity, quote quantity and price, as the type wants them (decimals checked for
  // syntax and the asset's precision here, for the grid and the filters below).
  let quantity: string | undefined;
  let quoteOrderQty: string | undefined;
  let price: string | undefined;
  if (orderType === OrderType.MARKET) {
    if (p.has('price')) return fail(Errors.notRequired('price'));
    const q = readDecimal(p, 'quantity', m.base.scale, false);
    if (!q.ok) return q;
    const qq = readDecimal(p, 'quoteOrderQty', m.quote.scale, false);
    if (!qq.ok) return qq;
    if (q.value === undefined && qq.value === undefined)
      return fail(Errors.eitherMandatory('quantity', 'quoteOrderQty'));
    if (q.value !== undefined && qq.value !== undefined) return fail(Errors.notRequired('quoteOrderQty'));
    quantity = q.value;
    quoteOrderQty = qq.value;
  } else {
    if (p.has('quoteOrderQty')) return fail(Errors.notRequired('quoteOrderQty'));
    const q = readDecimal(p, 'quantity', m.base.scale, true);
    if (!q.ok) return q;
    const pr = readDecimal(p, 'price', m.quote.scale, true);
    if (!pr.ok) return pr;
    quantity = q.value;
    price = pr.value;
  }

  const cid = readClientOrderId(p, 'newClientOrderId', Errors.emptyNewClientOrderId);
  if (!cid.ok) return cid;
  const respType = readEnum(p, 'newOrderRespType', RESP_TYPES, badRespType);
  if (!respType.ok) return respType;
  // Binance: TRANSFER exists there but needs trade groups; this exchange has none, so no
  // symbol allows it.
  const stpText = p.get('selfTradePreventionMode');
  let stpMode: StpMode = StpMode.DEFAULT;
  if (stpText !== undefined) {
    if (stpText === 'TRANSFER') return fail(Errors.invalid(EngineMessages.stpModeNotAllowed));
    const i = stpText === null ? -1 : (STP_NAMES as readonly string[]).indexOf(stpText);
    if (i < 0) return fail(Errors.illegalChars('selfTradePreventionMode', STP_MODE_RANGE));
    stpMode = StpMode[STP_NAMES[i]!];
  }
  const strategy = readStrategy(p);
  if (!strategy.ok) return strategy;

  // The market: its status, the grid and the filters, in Binance's terms.
  if (!m.trading) return fail(Errors.invalid(EngineMessages.marketClosed));
  const resolvedStp = stpMode === StpMode.DEFAULT ? m.defaultStpMode : stpMode;
  if ((m.allowedStpMask & (1 << resolvedStp)) === 0)
    return fail(Errors.invalid(EngineMessages.stpModeNotAllowed));
  let priceTicks = 0;
  let qtyLots = 0;
  let quoteQtyUnits = 0;
  if (price !== undefined) {
    const t = priceToTicks(m, price);
    if (!t.ok) return fail(Errors.filter('PRICE_FILTER'));
    priceTicks = t.ticks;
  }
  if (quantity !== undefined) {
    const l = qtyToLots(m, quantity);
    if (!l.ok)
      return fail(
        Errors.filter(
          orderType === OrderType.MARKET && l.code === ResultCode.QTY_ABOVE_MAX
            ? 'MARKET_LOT_SIZE'
            : 'LOT_SIZE',
        ),
      );
    qtyLots = l.lots;
  }
  if (quoteOrderQty !== undefined) {
    const u = parseDecimal(quoteOrderQty, m.quote.scale);
    if (!u.ok) return fail(Errors.filter('NOTIONAL'));
    quoteQtyUnits = u.units;
  }
  const filter = checkFilters(
    m,
    orderType,
    priceTicks,
    qtyLots,
    quoteOrderQty === undefined ? -1 : quoteQtyUnits,
  );
  if (filter !== undefined) return fail(filter);

  const unread = p.unread();
  if (unread !== undefined) return fail(unread);
  return ok({
    side,
    orderType,
    timeInForce,
    stpMode,
    priceTicks,
    qtyLots,
    quoteQtyUnits,
    clientOrderId: cid.value ?? (ctx.newClientOrderId ?? randomClientOrderId)(),
    // Binance: MARKET and LIMIT default to FULL, every other type to ACK.
    newOrderRespType:
      respType.value ?? (orderType === OrderType.MARKET || orderType === OrderType.LIMIT ? 'FULL' : 'ACK'),
    ...strategy.value,
  });
}

/**
 * The market filters on an order in engine units, as the engine applies them (the same rules
 * as its order validation), in Binance's terms: undefined when the order passes.
 * `quoteQtyUnits` is -1 for an order placed by quantity.
 */
export function checkFilters(
  m: Market,
  orderType: OrderType,
  priceTicks: number,
  qtyLots: number,
  quoteQtyUnits: number,
): BinanceError | undefined {
  if (orderType === OrderType.MARKET) {
    if (quoteQtyUnits >= 0) {
      if (quoteQtyUnits < m.minNotionalUnits || quoteQtyUnits > m.maxNotionalUnits)
        return Errors.filter('NOTIONAL');
      return undefined;
    }
    if (qtyLots < m.minQtyLots) return Errors.filter('LOT_SIZE');
    if (qtyLots > m.marketMaxQtyLots) return Errors.filter('MARKET_LOT_SIZE');
    return undefined;
  }
  if (priceTicks < m.minPriceTicks || priceTicks > m.maxPriceTicks) return Errors.filter('PRICE_FILTER');
  if (qtyLots < m.minQtyLots || qtyLots > m.maxQtyLots) return Errors.filter('LOT_SIZE');
  const notional = priceTicks * qtyLots * m.quoteUnitsPerTickLot;
  if (notional < m.minNotionalUnits || notional > m.maxNotionalUnits) return Errors.filter('NOTIONAL');
  return undefined;
}

function paramsOf(input: RequestParams, known: readonly string[], ctx: ParseContext): Result<Params> {
  return Params.from(input, known, ctx.authParams ?? AUTH_PARAMS);
}

/** Wraps a parse so that nothing unforeseen escapes as an exception: a bug reads -1000. */
function guarded<T>(parse: () => Result<T>): Result<T> {
  try {
    return parse();
  } catch {
    return fail(Errors.unknown());
  }
}

/** POST /api/v3/order: a new order, or the error Binance would give. */
export function parseNewOrder(input: RequestParams, ctx: ParseContext): Result<NewOrderRequest> {
  return guarded(() => {
    const p = paramsOf(input, NEW_ORDER_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const f = readNewOrder(p.value, m.value, ctx);
    if (!f.ok) return f;
    return ok(newOrderRequest(m.value, f.value, ctx));
  });
}

function newOrderRequest(m: Market, f: NewOrderFields, ctx: ParseContext): NewOrderRequest {
  return {
    market: m,
    command: {
      kind: 'PlaceOrder',
      symbolId: m.symbolId,
      userId: ctx.userId,
      side: f.side,
      orderType: f.orderType,
      timeInForce: f.timeInForce,
      stpMode: f.stpMode,
      priceTicks: f.priceTicks,
      qtyLots: f.qtyLots,
      quoteQtyUnits: f.quoteQtyUnits,
      clientOrderId: f.clientOrderId,
    },
    newOrderRespType: f.newOrderRespType,
    ...(f.strategyId === undefined ? {} : { strategyId: f.strategyId }),
    ...(f.strategyType === undefined ? {} : { strategyType: f.strategyType }),
  };
}

/** POST /api/v3/order/test: validated exactly as a new order, plus `computeCommissionRates`. */
export function parseTestOrder(input: RequestParams, ctx: ParseContext): Result<TestOrderRequest> {
  return guarded(() => {
    const p = paramsOf(input, TEST_ORDER_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const rates = readEnum(p.value, 'computeCommissionRates', ['true', 'false'] as const, () =>
      Errors.illegalChars('computeCommissionRates', 'true, false'),
    );
    if (!rates.ok) return rates;
    const f = readNewOrder(p.value, m.value, ctx);
    if (!f.ok) return f;
    return ok({ ...newOrderRequest(m.value, f.value, ctx), computeCommissionRates: rates.value === 'true' });
  });
}

/** The order a cancel or an amend names: by id, by client order id, or both (both must match). */
function readOrderReference(
  p: Params,
  idName: string,
  cidName: string,
): Result<{ orderId: number; clientOrderId: string }> {
  const id = readOrderId(p, idName);
  if (!id.ok) return id;
  const cid = readClientOrderId(p, cidName, Errors.emptyOrigClientOrderId);
  if (!cid.ok) return cid;
  if (id.value === undefined && cid.value === undefined) return fail(Errors.eitherMandatory(cidName, idName));
  return ok({ orderId: id.value ?? 0, clientOrderId: cid.value ?? '' });
}

function readCancelRestriction(p: Params): Result<CancelRestriction> {
  const v = p.get('cancelRestrictions');
  if (v === undefined) return ok(CancelRestriction.NONE);
  if (v === 'ONLY_NEW') return ok(CancelRestriction.ONLY_NEW);
  if (v === 'ONLY_PARTIALLY_FILLED') return ok(CancelRestriction.ONLY_PARTIALLY_FILLED);
  return fail(Errors.invalidCancelRestrictions());
}

/**
 * DELETE /api/v3/order. With both orderId and origClientOrderId the engine cancels only if
 * both name the same order, as Binance does today ("the orderId is searched first, then the
 * origClientOrderId from that result is checked against that order").
 */
export function parseCancelOrder(input: RequestParams, ctx: ParseContext): Result<CancelOrderRequest> {
  return guarded(() => {
    const p = paramsOf(input, CANCEL_ORDER_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const ref = readOrderReference(p.value, 'orderId', 'origClientOrderId');
    if (!ref.ok) return ref;
    const newCid = readClientOrderId(p.value, 'newClientOrderId', Errors.emptyNewClientOrderId);
    if (!newCid.ok) return newCid;
    const restriction = readCancelRestriction(p.value);
    if (!restriction.ok) return restriction;
    const unread = p.value.unread();
    if (unread !== undefined) return fail(unread);
    return ok({
      market: m.value,
      command: {
        kind: 'CancelOrder',
        symbolId: m.value.symbolId,
        userId: ctx.userId,
        orderId: ref.value.orderId as CancelOrderInput['orderId'],
        clientOrderId: ref.value.clientOrderId,
        cancelRestriction: restriction.value,
      },
      ...(newCid.value === undefined ? {} : { newClientOrderId: newCid.value }),
    });
  });
}

/** DELETE /api/v3/openOrders: every open order of the user on the symbol. */
export function parseCancelOpenOrders(
  input: RequestParams,
  ctx: ParseContext,
): Result<CancelOpenOrdersRequest> {
  return guarded(() => {
    const p = paramsOf(input, SYMBOL_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const unread = p.value.unread();
    if (unread !== undefined) return fail(unread);
    return ok({
      market: m.value,
      command: { kind: 'CancelAllOrders', symbolId: m.value.symbolId, userId: ctx.userId },
    });
  });
}

/** POST /api/v3/order/cancelReplace: the cancel's parameters and a whole new order. */
export function parseCancelReplace(input: RequestParams, ctx: ParseContext): Result<CancelReplaceRequest> {
  return guarded(() => {
    const p = paramsOf(input, CANCEL_REPLACE_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const modeText = p.value.required('cancelReplaceMode');
    if (!modeText.ok) return modeText;
    if (modeText.value !== 'STOP_ON_FAILURE' && modeText.value !== 'ALLOW_FAILURE')
      return fail(Errors.illegalChars('cancelReplaceMode', CANCEL_REPLACE_MODE_RANGE));
    const ref = readOrderReference(p.value, 'cancelOrderId', 'cancelOrigClientOrderId');
    if (!ref.ok) return ref;
    const cancelCid = readClientOrderId(p.value, 'cancelNewClientOrderId', Errors.emptyNewClientOrderId);
    if (!cancelCid.ok) return cancelCid;
    const restriction = readCancelRestriction(p.value);
    if (!restriction.ok) return restriction;
    const limitMode = readEnum(
      p.value,
      'orderRateLimitExceededMode',
      ['DO_NOTHING', 'CANCEL_ONLY'] as const,
      () => Errors.illegalChars('orderRateLimitExceededMode', 'DO_NOTHING, CANCEL_ONLY'),
    );
    if (!limitMode.ok) return limitMode;
    const f = readNewOrder(p.value, m.value, ctx);
    if (!f.ok) return f;
    const place = newOrderRequest(m.value, f.value, ctx);
    return ok({
      market: m.value,
      command: {
        ...place.command,
        kind: 'CancelReplaceOrder',
        cancelOrderId: ref.value.orderId as CancelReplaceInput['cancelOrderId'],
        cancelClientOrderId: ref.value.clientOrderId,
        cancelReplaceMode:
          modeText.value === 'STOP_ON_FAILURE'
            ? CancelReplaceMode.STOP_ON_FAILURE
            : CancelReplaceMode.ALLOW_FAILURE,
        cancelRestriction: restriction.value,
      },
      newOrderRespType: place.newOrderRespType,
      orderRateLimitExceededMode: limitMode.value ?? 'DO_NOTHING',
      ...(cancelCid.value === undefined ? {} : { cancelNewClientOrderId: cancelCid.value }),
      ...(place.strategyId === undefined ? {} : { strategyId: place.strategyId }),
      ...(place.strategyType === undefined ? {} : { strategyType: place.strategyType }),
    });
  });
}

/**
 * PUT /api/v3/order/amend/keepPriority: lower an open order's quantity, keeping its place.
 * `newQty` must pass LOT_SIZE; that it is below the order's quantity is the order's to say
 * (`checkKeepPriority` in order-response.ts, against the order view). Without
 * `newClientOrderId` the order gets a new random one, as on Binance.
 */
export function parseAmendKeepPriority(
  input: RequestParams,
  ctx: ParseContext,
): Result<AmendKeepPriorityRequest> {
  return guarded(() => {
    const p = paramsOf(input, AMEND_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const ref = readOrderReference(p.value, 'orderId', 'origClientOrderId');
    if (!ref.ok) return ref;
    const newCid = readClientOrderId(p.value, 'newClientOrderId', Errors.emptyNewClientOrderId);
    if (!newCid.ok) return newCid;
    const qty = readDecimal(p.value, 'newQty', m.value.base.scale, true);
    if (!qty.ok) return qty;
    const lots = qtyToLots(m.value, qty.value!);
    if (!lots.ok || lots.lots < m.value.minQtyLots || lots.lots > m.value.maxQtyLots)
      return fail(Errors.filter('LOT_SIZE'));
    const unread = p.value.unread();
    if (unread !== undefined) return fail(unread);
    return ok({
      market: m.value,
      command: {
        kind: 'AmendOrder',
        symbolId: m.value.symbolId,
        userId: ctx.userId,
        orderId: ref.value.orderId as AmendOrderInput['orderId'],
        clientOrderId: ref.value.clientOrderId,
        priceTicks: 0,
        qtyLots: lots.lots,
        newClientOrderId: newCid.value ?? (ctx.newClientOrderId ?? randomClientOrderId)(),
      },
    });
  });
}

/** A parsed GET /api/v3/order: the order by id, by client order id, or both (both must match). */
export interface QueryOrderRequest {
  readonly market: Market;
  readonly userId: UserId;
  /** 0 when the request named only a client order id. */
  readonly orderId: number;
  /** '' when the request named only an order id. */
  readonly clientOrderId: string;
}

/** GET /api/v3/order: which order to look up (`findOrder` in order-response.ts looks it up). */
export function parseQueryOrder(input: RequestParams, ctx: ParseContext): Result<QueryOrderRequest> {
  return guarded(() => {
    const p = paramsOf(input, QUERY_ORDER_PARAMS, ctx);
    if (!p.ok) return p;
    const m = readMarket(p.value, ctx.markets);
    if (!m.ok) return m;
    const ref = readOrderReference(p.value, 'orderId', 'origClientOrderId');
    if (!ref.ok) return ref;
    const unread = p.value.unread();
    if (unread !== undefined) return fail(unread);
    return ok({ market: m.value, userId: ctx.userId, ...ref.value });
  });
}
