/**
 * Binance errors as values: `{ code, msg, status }` (plus `data` for cancel-replace's partial
 * failures), with Binance's codes, messages and HTTP statuses. The order functions return
 * these instead of throwing; the HTTP layer serialises `{ code, msg }` (and `data`) with
 * `status`. Messages are Binance's own text (errors.md and its "Messages for -1010, -2010,
 * -2011" table), so that clients mapping errors by message keep working.
 *
 * Engine refusals (ResultCodes) are mapped by the gateway's one table,
 * gateway/binance/errors.ts `errorForResult`, whose errors have this same shape.
 */

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

/** The errors the order parameters and replies give, by Binance code. */
export const Errors = {
  /** -1000: a bug on our side (never caused by a request); 500. */
  unknown: () => e(-1000, 'An unknown error occurred while processing the request.', 500),
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

/** The legal values of selfTradePreventionMode, as listed in -1100 messages. */
export const STP_MODE_RANGE = 'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH, DECREMENT';
/** The legal values of cancelReplaceMode. */
export const CANCEL_REPLACE_MODE_RANGE = 'STOP_ON_FAILURE, ALLOW_FAILURE';
