/**
 * Binance errors as values: `{ code, msg, status }` (plus `data` for cancel-replace's partial
 * failures), with Binance's codes, messages and HTTP statuses. The order functions return
 * these instead of throwing; the HTTP layer serialises `{ code, msg }` (and `data`) with
 * `status`. Messages are Binance's own text (errors.md and its "Messages for -1010, -2010,
 * -2011" table), so that clients mapping errors by message keep working.
 *
 * `errorForResult` maps every engine ResultCode onto one of them, by operation: the same
 * engine refusal reads -2010 on a new order, -2011 on a cancel and -2038 on an amend.
 */
import { ResultCode, resultCodeName } from '../../engine/index.ts';

/** A Binance error reply. `status` is the HTTP status; `data` rides along for -2021/-2022. */
export interface BinanceError {
  readonly code: number;
  readonly msg: string;
  readonly status: number;
  readonly data?: unknown;
}

/** A result that is either a value or a Binance error. */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: BinanceError };

/** Wraps a value as a successful Result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Wraps an error as a failed Result. */
export function fail<T>(error: BinanceError): Result<T> {
  return { ok: false, error };
}

function e(code: number, msg: string, status = 400): BinanceError {
  return { code, msg, status };
}

/** Binance's legal range for decimal parameters (price, quantity, quoteOrderQty, newQty). */
export const DECIMAL_RANGE = '^([0-9]{1,20})(\\.[0-9]{1,20})?$';
/** Binance's legal range for client order ids. */
export const CLIENT_ORDER_ID_RANGE = '^[a-zA-Z0-9-_]{1,36}$';
/** Binance's legal range for symbols. */
export const SYMBOL_RANGE = '^[A-Z0-9-_.]{1,20}$';
/** Legal range for numeric ids (orderId, cancelOrderId). */
export const ID_RANGE = '^[0-9]{1,20}$';

/** The errors the order parameters and the engine's refusals map to, by Binance code. */
export const Errors = {
  /** -1000: a bug on our side (never caused by a request); 500. */
  unknown: () => e(-1000, 'An unknown error occurred while processing the request.', 500),
  /** -1002: the request's user is not one the engine accepts. */
  unauthorized: () => e(-1002, 'You are not authorized to execute this request.', 401),
  /** -1008: the core is moving the symbol between shards or is overloaded; retry. */
  serverBusy: () =>
    e(-1008, 'Server is currently overloaded with other requests. Please try again in a few minutes.', 503),
  /** -1016: the core is shutting down. */
  shuttingDown: () => e(-1016, 'This service is no longer available.', 503),
  /** -1013 with a filter name: "Filter failure: PRICE_FILTER". */
  filter: (name: string) => e(-1013, `Filter failure: ${name}`),
  /** -1013 for anything else the API refuses before the engine (message from Binance's table). */
  invalid: (msg: string) => e(-1013, msg),
  /** -1100 naming the parameter and its legal range. */
  illegalChars: (param: string, range: string) =>
    e(-1100, `Illegal characters found in parameter '${param}'; legal range is '${range}'.`),
  /** -1101: the same parameter sent twice. */
  duplicateParam: () => e(-1101, 'Duplicate values for a parameter detected.'),
  /** -1102: a mandatory parameter missing, empty or malformed. */
  mandatory: (param: string) =>
    e(-1102, `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`),
  /** -1102: one of two parameters must be sent. */
  eitherMandatory: (a: string, b: string) =>
    e(-1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`),
  /** -1104: parameters the endpoint does not read. */
  unread: (read: number, sent: number) =>
    e(-1104, `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`),
  /** -1105: an optional parameter sent empty. */
  empty: (param: string) => e(-1105, `Parameter '${param}' was empty.`),
  /** -1106: a parameter the order type does not take. */
  notRequired: (param: string) => e(-1106, `Parameter '${param}' sent when not required.`),
  /** -1108: a value too large to represent. */
  overflow: (param: string) => e(-1108, `Parameter '${param}' overflowed.`),
  /** -1111: more decimals than the asset has. */
  tooPrecise: (param: string) => e(-1111, `Parameter '${param}' has too much precision.`),
  /** -1115 */
  invalidTimeInForce: () => e(-1115, 'Invalid timeInForce.'),
  /** -1116 */
  invalidOrderType: () => e(-1116, 'Invalid orderType.'),
  /** -1117 */
  invalidSide: () => e(-1117, 'Invalid side.'),
  /** -1118 */
  emptyNewClientOrderId: () => e(-1118, 'New client order ID was empty.'),
  /** -1119 */
  emptyOrigClientOrderId: () => e(-1119, 'Original client order ID was empty.'),
  /** -1121 */
  invalidSymbol: () => e(-1121, 'Invalid symbol.'),
  /** -1134 */
  badStrategyType: () => e(-1134, 'strategyType was less than 1000000.'),
  /** -1145 */
  invalidCancelRestrictions: () =>
    e(-1145, 'cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.'),
  /** -2010 with the engine's message. */
  newOrderRejected: (msg: string) => e(-2010, msg),
  /** -2011 with the engine's message. */
  cancelRejected: (msg: string) => e(-2011, msg),
  /** -2013: a queried order that does not exist. */
  noSuchOrder: () => e(-2013, 'Order does not exist.'),
  /** -2038 with the engine's message: an amend the engine refused. */
  amendRejected: (msg: string) => e(-2038, msg),
  /** -2021: one half of a cancel-replace failed (HTTP 409, as Binance). */
  cancelReplacePartiallyFailed: (data: unknown): BinanceError => ({
    code: -2021,
    msg: 'Order cancel-replace partially failed.',
    status: 409,
    data,
  }),
  /** -2022: both halves of a cancel-replace failed (or nothing was attempted). */
  cancelReplaceFailed: (data: unknown): BinanceError => ({
    code: -2022,
    msg: 'Order cancel-replace failed.',
    status: 400,
    data,
  }),
} as const;

/** Binance's engine messages (the table shared by -1010, -2010, -2011 and -2038). */
export const EngineMessages = {
  unknownOrder: 'Unknown order sent.',
  duplicateOrder: 'Duplicate order sent.',
  marketClosed: 'Market is closed.',
  insufficientBalance: 'Account has insufficient balance for requested action.',
  wouldTake: 'Order would immediately match and take.',
  cancelRestricted: 'Order was not canceled due to cancel restrictions.',
  amendQuantityIncrease: 'Order amend (quantity increase) is not supported.',
  stpModeNotAllowed: 'This symbol does not allow the specified self-trade prevention mode.',
  icebergNotSupported: 'Iceberg orders are not supported for this symbol.',
} as const;

/**
 * What the engine was asked to do: a new order (POST order, the new half of cancel-replace),
 * a cancel (DELETE order, DELETE openOrders, the cancel half of cancel-replace) or an amend.
 */
export type Operation = 'place' | 'cancel' | 'amend';

function engineRefusal(op: Operation, msg: string): BinanceError {
  if (op === 'cancel') return Errors.cancelRejected(msg);
  if (op === 'amend') return Errors.amendRejected(msg);
  return Errors.newOrderRejected(msg);
}

/**
 * The Binance error for an engine result code, for the operation that got it. Total over
 * every code: OK and codes the order operations cannot get (funds commands, record
 * decoding) map to -1000 with status 500, since they can only mean a bug here.
 */
export function errorForResult(code: number, op: Operation): BinanceError {
  switch (code) {
    // 1xx: command shape. The parameter parser refuses all of these before the engine sees
    // them; these mappings are the engine's word when a command is built some other way.
    case ResultCode.UNKNOWN_SYMBOL:
      return Errors.invalidSymbol();
    case ResultCode.INVALID_SIDE:
      return Errors.invalidSide();
    case ResultCode.INVALID_ORDER_TYPE:
      return Errors.invalidOrderType();
    case ResultCode.INVALID_TIME_IN_FORCE:
      return Errors.invalidTimeInForce();
    case ResultCode.TIME_IN_FORCE_NOT_ALLOWED:
      return Errors.notRequired('timeInForce');
    case ResultCode.INVALID_STP_MODE:
      return Errors.illegalChars('selfTradePreventionMode', STP_MODE_RANGE);
    case ResultCode.STP_MODE_NOT_ALLOWED:
      return Errors.invalid(EngineMessages.stpModeNotAllowed);
    case ResultCode.INVALID_ORDER_ID:
      return op === 'place' ? Errors.unknown() : engineRefusal(op, EngineMessages.unknownOrder);
    case ResultCode.INVALID_USER_ID:
      return Errors.unauthorized();
    case ResultCode.INVALID_CLIENT_ORDER_ID:
      return Errors.illegalChars('newClientOrderId', CLIENT_ORDER_ID_RANGE);
    case ResultCode.INVALID_CANCEL_RESTRICTION:
      return Errors.invalidCancelRestrictions();
    case ResultCode.INVALID_CANCEL_REPLACE_MODE:
      return Errors.illegalChars('cancelReplaceMode', CANCEL_REPLACE_MODE_RANGE);
    case ResultCode.MISSING_ORDER_REFERENCE:
      return Errors.eitherMandatory('origClientOrderId', 'orderId');
    // 2xx: market filters.
    case ResultCode.PRICE_REQUIRED:
      return Errors.mandatory('price');
    case ResultCode.PRICE_NOT_ALLOWED:
      return Errors.notRequired('price');
    case ResultCode.PRICE_NOT_INTEGER:
    case ResultCode.PRICE_BELOW_MIN:
    case ResultCode.PRICE_ABOVE_MAX:
    case ResultCode.PRICE_OFF_TICK:
      return Errors.filter('PRICE_FILTER');
    case ResultCode.QTY_REQUIRED:
      return Errors.mandatory('quantity');
    case ResultCode.QTY_NOT_INTEGER:
    case ResultCode.QTY_BELOW_MIN:
    case ResultCode.QTY_ABOVE_MAX:
    case ResultCode.QTY_OFF_LOT:
      return Errors.filter('LOT_SIZE');
    case ResultCode.MARKET_QTY_ABOVE_MAX:
      return Errors.filter('MARKET_LOT_SIZE');
    case ResultCode.QTY_AND_QUOTE_QTY:
    case ResultCode.QUOTE_QTY_NOT_ALLOWED:
      return Errors.notRequired('quoteOrderQty');
    case ResultCode.QUOTE_QTY_NOT_INTEGER:
      return Errors.tooPrecise('quoteOrderQty');
    case ResultCode.NOTIONAL_BELOW_MIN:
    case ResultCode.NOTIONAL_ABOVE_MAX:
      return Errors.filter('NOTIONAL');
    case ResultCode.DECIMAL_MALFORMED:
      return { code: -1100, msg: 'Illegal characters found in a parameter.', status: 400 };
    case ResultCode.DECIMAL_TOO_PRECISE:
      return { code: -1111, msg: 'Precision is over the maximum defined for this asset.', status: 400 };
    case ResultCode.DECIMAL_OUT_OF_RANGE:
      return { code: -1108, msg: 'Parameter overflowed.', status: 400 };
    case ResultCode.MARKET_NOT_TRADING:
      return Errors.invalid(EngineMessages.marketClosed);
    // 3xx: order book.
    case ResultCode.WOULD_TAKE:
    case ResultCode.AMEND_WOULD_TAKE:
      return engineRefusal(op, EngineMessages.wouldTake);
    case ResultCode.UNKNOWN_ORDER:
    case ResultCode.NO_OPEN_ORDERS:
      return engineRefusal(op, EngineMessages.unknownOrder);
    case ResultCode.DUPLICATE_ORDER_ID:
    case ResultCode.DUPLICATE_CLIENT_ORDER_ID:
      return engineRefusal(op, EngineMessages.duplicateOrder);
    case ResultCode.AMEND_QTY_NOT_ABOVE_FILLED:
      // Binance has no message for this (its amend only lowers the quantity of an order that
      // is still open); the quantity filter is what the new quantity fails.
      return Errors.filter('LOT_SIZE');
    case ResultCode.CANCEL_RESTRICTED:
      return Errors.cancelRejected(EngineMessages.cancelRestricted);
    case ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED:
      return Errors.cancelReplaceFailed(null);
    case ResultCode.BOOK_CAPACITY:
      return Errors.filter('MAX_NUM_ORDERS');
    // 4xx: risk.
    case ResultCode.INSUFFICIENT_BALANCE:
      return engineRefusal(op, EngineMessages.insufficientBalance);
    // 5xx: runtime.
    case ResultCode.SHUTTING_DOWN:
      return Errors.shuttingDown();
    case ResultCode.SYMBOL_MOVING:
      return Errors.serverBusy();
    default:
      // OK, INVALID_TIMESTAMP (the sequencer's own clock), UNKNOWN_COMMAND, MALFORMED_RECORD and
      // the funds codes: no order request can cause them.
      return { ...Errors.unknown(), msg: `${Errors.unknown().msg} (${resultCodeName(code)})` };
  }
}

/** The legal values of selfTradePreventionMode, as listed in -1100 messages. */
export const STP_MODE_RANGE = 'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH, DECREMENT';
/** The legal values of cancelReplaceMode. */
export const CANCEL_REPLACE_MODE_RANGE = 'STOP_ON_FAILURE, ALLOW_FAILURE';
