/**
 * Binance's error codes, their HTTP statuses and messages (from Binance's "Error codes for
 * Binance" and the messages its servers send), and the one place where the engine's
 * `ResultCode`s become Binance errors. Clients map errors by `code` and HTTP status, and a few
 * by exact message (see ../shared/CLIENT-COMPATIBILITY.md), so messages are copied verbatim.
 *
 * Everything a client did wrong is a 4xx; a 5xx only ever means something failed on our side
 * (the official connector retries GET/DELETE on 5xx and treats order status as unknown).
 */
import { ALL_RESULT_CODES, ResultCode, resultCodeName } from '../../engine/index.ts';

/** The error body every endpoint sends: `{"code": -NNNN, "msg": "..."}`. */
export interface BinanceErrorBody {
  readonly code: number;
  readonly msg: string;
}

/** An error reply: the body plus the HTTP status it goes out with. */
export interface BinanceError extends BinanceErrorBody {
  readonly status: number;
}

/** Binance's error codes by name. */
export const BinanceCode = {
  UNKNOWN: -1000,
  DISCONNECTED: -1001,
  UNAUTHORIZED: -1002,
  TOO_MANY_REQUESTS: -1003,
  UNEXPECTED_RESP: -1006,
  TIMEOUT: -1007,
  SERVER_BUSY: -1008,
  INVALID_MESSAGE: -1013,
  UNKNOWN_ORDER_COMPOSITION: -1014,
  TOO_MANY_ORDERS: -1015,
  SERVICE_SHUTTING_DOWN: -1016,
  UNSUPPORTED_OPERATION: -1020,
  INVALID_TIMESTAMP: -1021,
  INVALID_SIGNATURE: -1022,
  ILLEGAL_CHARS: -1100,
  TOO_MANY_PARAMETERS: -1101,
  MANDATORY_PARAM_EMPTY_OR_MALFORMED: -1102,
  UNKNOWN_PARAM: -1103,
  UNREAD_PARAMETERS: -1104,
  PARAM_EMPTY: -1105,
  PARAM_NOT_REQUIRED: -1106,
  PARAM_OVERFLOW: -1108,
  BAD_PRECISION: -1111,
  NO_DEPTH: -1112,
  TIF_NOT_REQUIRED: -1114,
  INVALID_TIF: -1115,
  INVALID_ORDER_TYPE: -1116,
  INVALID_SIDE: -1117,
  EMPTY_NEW_CL_ORD_ID: -1118,
  EMPTY_ORG_CL_ORD_ID: -1119,
  BAD_INTERVAL: -1120,
  BAD_SYMBOL: -1121,
  INVALID_SYMBOLSTATUS: -1122,
  INVALID_LISTEN_KEY: -1125,
  MORE_THAN_XX_HOURS: -1127,
  OPTIONAL_PARAMS_BAD_COMBO: -1128,
  INVALID_PARAMETER: -1130,
  BAD_RECV_WINDOW: -1131,
  INVALID_JSON: -1135,
  INVALID_TICKER_TYPE: -1139,
  INVALID_CANCEL_RESTRICTIONS: -1145,
  DUPLICATE_SYMBOLS: -1151,
  INVALID_TIME_UNIT: -1194,
  NEW_ORDER_REJECTED: -2010,
  CANCEL_REJECTED: -2011,
  NO_SUCH_ORDER: -2013,
  BAD_API_KEY_FMT: -2014,
  REJECTED_MBX_KEY: -2015,
  CANCEL_REPLACE_PARTIALLY_FAILED: -2021,
  CANCEL_REPLACE_FAILED: -2022,
  ORDER_ARCHIVED: -2026,
  ORDER_AMEND_REJECTED: -2038,
  CLIENT_ORDER_ID_INVALID: -2039,
} as const;
export type BinanceCode = (typeof BinanceCode)[keyof typeof BinanceCode];

/** One row of the code table: the HTTP status a code goes out with and its generic message. */
export interface BinanceCodeInfo {
  readonly name: keyof typeof BinanceCode;
  readonly status: number;
  readonly msg: string;
}

const row = (name: keyof typeof BinanceCode, status: number, msg: string): BinanceCodeInfo => ({
  name,
  status,
  msg,
});

/**
 * Every code with its HTTP status and its generic message (Binance's first message for the
 * code). Specific messages (a parameter's name, a filter's name) come from the factories below.
 */
export const BINANCE_CODES: Readonly<Record<BinanceCode, BinanceCodeInfo>> = {
  [-1000]: row('UNKNOWN', 500, 'An unknown error occurred while processing the request.'),
  [-1001]: row('DISCONNECTED', 500, 'Internal error; unable to process your request. Please try again.'),
  [-1002]: row('UNAUTHORIZED', 401, 'You are not authorized to execute this request.'),
  [-1003]: row('TOO_MANY_REQUESTS', 429, 'Too many requests queued.'),
  [-1006]: row(
    'UNEXPECTED_RESP',
    500,
    'An unexpected response was received from the message bus. Execution status unknown.',
  ),
  [-1007]: row(
    'TIMEOUT',
    500,
    'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
  ),
  [-1008]: row(
    'SERVER_BUSY',
    503,
    'Server is currently overloaded with other requests. Please try again in a few minutes.',
  ),
  [-1013]: row(
    'INVALID_MESSAGE',
    400,
    "The request is rejected by the API. (i.e. The request didn't reach the Matching Engine.)",
  ),
  [-1014]: row('UNKNOWN_ORDER_COMPOSITION', 400, 'Unsupported order combination.'),
  [-1015]: row('TOO_MANY_ORDERS', 429, 'Too many new orders.'),
  [-1016]: row('SERVICE_SHUTTING_DOWN', 503, 'This service is no longer available.'),
  [-1020]: row('UNSUPPORTED_OPERATION', 400, 'This operation is not supported.'),
  [-1021]: row('INVALID_TIMESTAMP', 400, 'Timestamp for this request is outside of the recvWindow.'),
  [-1022]: row('INVALID_SIGNATURE', 400, 'Signature for this request is not valid.'),
  [-1100]: row('ILLEGAL_CHARS', 400, 'Illegal characters found in a parameter.'),
  [-1101]: row('TOO_MANY_PARAMETERS', 400, 'Too many parameters sent for this endpoint.'),
  [-1102]: row(
    'MANDATORY_PARAM_EMPTY_OR_MALFORMED',
    400,
    'A mandatory parameter was not sent, was empty/null, or malformed.',
  ),
  [-1103]: row('UNKNOWN_PARAM', 400, 'An unknown parameter was sent.'),
  [-1104]: row('UNREAD_PARAMETERS', 400, 'Not all sent parameters were read.'),
  [-1105]: row('PARAM_EMPTY', 400, 'A parameter was empty.'),
  [-1106]: row('PARAM_NOT_REQUIRED', 400, 'A parameter was sent when not required.'),
  [-1108]: row('PARAM_OVERFLOW', 400, 'A parameter overflowed.'),
  [-1111]: row('BAD_PRECISION', 400, 'A parameter has too much precision.'),
  [-1112]: row('NO_DEPTH', 400, 'No orders on book for symbol.'),
  [-1114]: row('TIF_NOT_REQUIRED', 400, 'TimeInForce parameter sent when not required.'),
  [-1115]: row('INVALID_TIF', 400, 'Invalid timeInForce.'),
  [-1116]: row('INVALID_ORDER_TYPE', 400, 'Invalid orderType.'),
  [-1117]: row('INVALID_SIDE', 400, 'Invalid side.'),
  [-1118]: row('EMPTY_NEW_CL_ORD_ID', 400, 'New client order ID was empty.'),
  [-1119]: row('EMPTY_ORG_CL_ORD_ID', 400, 'Original client order ID was empty.'),
  [-1120]: row('BAD_INTERVAL', 400, 'Invalid interval.'),
  [-1121]: row('BAD_SYMBOL', 400, 'Invalid symbol.'),
  [-1122]: row('INVALID_SYMBOLSTATUS', 400, 'Invalid symbolStatus.'),
  [-1125]: row('INVALID_LISTEN_KEY', 400, 'This listenKey does not exist.'),
  [-1127]: row('MORE_THAN_XX_HOURS', 400, 'Lookup interval is too big.'),
  [-1128]: row('OPTIONAL_PARAMS_BAD_COMBO', 400, 'Combination of optional parameters invalid.'),
  [-1130]: row('INVALID_PARAMETER', 400, 'Invalid data sent for a parameter.'),
  [-1131]: row('BAD_RECV_WINDOW', 400, 'recvWindow must be less than 60000'),
  [-1135]: row('INVALID_JSON', 400, 'Invalid JSON Request'),
  [-1139]: row('INVALID_TICKER_TYPE', 400, 'Invalid ticker type.'),
  [-1145]: row(
    'INVALID_CANCEL_RESTRICTIONS',
    400,
    'cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.',
  ),
  [-1151]: row('DUPLICATE_SYMBOLS', 400, 'Symbol is present multiple times in the list.'),
  [-1194]: row(
    'INVALID_TIME_UNIT',
    400,
    'Invalid value for time unit; expected either MICROSECOND or MILLISECOND.',
  ),
  [-2010]: row('NEW_ORDER_REJECTED', 400, 'NEW_ORDER_REJECTED'),
  [-2011]: row('CANCEL_REJECTED', 400, 'CANCEL_REJECTED'),
  [-2013]: row('NO_SUCH_ORDER', 400, 'Order does not exist.'),
  [-2014]: row('BAD_API_KEY_FMT', 401, 'API-key format invalid.'),
  [-2015]: row('REJECTED_MBX_KEY', 401, 'Invalid API-key, IP, or permissions for action.'),
  [-2021]: row('CANCEL_REPLACE_PARTIALLY_FAILED', 409, 'Order cancel-replace partially failed.'),
  [-2022]: row('CANCEL_REPLACE_FAILED', 400, 'Order cancel-replace failed.'),
  [-2026]: row(
    'ORDER_ARCHIVED',
    400,
    'Order was canceled or expired with no executed qty over 90 days ago and has been archived.',
  ),
  [-2038]: row('ORDER_AMEND_REJECTED', 400, 'Order amend rejected.'),
  [-2039]: row('CLIENT_ORDER_ID_INVALID', 400, 'Client order ID is not correct for this order ID.'),
};

/** A Binance error with `code`'s HTTP status; `msg` defaults to the code's generic message. */
export function binanceError(code: BinanceCode, msg?: string, status?: number): BinanceError {
  const info = BINANCE_CODES[code];
  return { status: status ?? info.status, code, msg: msg ?? info.msg };
}

/**
 * An expected failure thrown from deep inside request handling (parameter parsing, auth) and
 * turned into its Binance error reply by the server. Anything else thrown is a bug: 500 -1000.
 */
export class BinanceApiError extends Error {
  override readonly name = 'BinanceApiError';
  readonly status: number;
  readonly code: number;
  /** Extra response headers (Retry-After on 429/418). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(error: BinanceError, headers: Readonly<Record<string, string>> = {}) {
    super(error.msg);
    this.status = error.status;
    this.code = error.code;
    this.headers = headers;
  }

  /** The reply body. */
  body(): BinanceErrorBody {
    return { code: this.code, msg: this.message };
  }
}

/** Legal ranges Binance quotes in -1100 messages, for the parameters the gateway parses. */
export const LEGAL_RANGE = {
  symbol: '^[A-Z0-9-_.]{1,20}$',
  symbols: '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$',
  integer: '^[0-9]{1,20}$',
  decimal: '^([0-9]{1,20})(\\.[0-9]{1,20})?$',
  recvWindow: '^[0-9]{1,20}(\\.[0-9]{1,3})?$',
  clientOrderId: '^[\\.A-Z\\:/a-z0-9_-]{1,36}$',
} as const;

/**
 * Factories for the specific messages (parameter names filled in), so that every part of the
 * gateway words the same error the same way.
 */
export const Errors = {
  /** 500 -1000: something failed on our side (logged; never a stack trace to the client). */
  unknown: (): BinanceError => binanceError(BinanceCode.UNKNOWN),
  /** -1003 over a request weight limit. */
  tooMuchWeight: (limit: number, per: string): BinanceError =>
    binanceError(
      BinanceCode.TOO_MANY_REQUESTS,
      `Too much request weight used; current limit is ${limit} request weight per ${per}. Please use WebSocket Streams for live updates to avoid polling the API.`,
    ),
  /** 418 -1003 while an IP is banned. */
  ipBanned: (untilMillis: number): BinanceError =>
    binanceError(
      BinanceCode.TOO_MANY_REQUESTS,
      `Way too much request weight used; IP banned until ${untilMillis}. Please use WebSocket Streams for live updates to avoid bans.`,
      418,
    ),
  /** 429 -1015 over an order count limit. */
  tooManyOrders: (limit: number, per: string): BinanceError =>
    binanceError(
      BinanceCode.TOO_MANY_ORDERS,
      `Too many new orders; current limit is ${limit} orders per ${per}.`,
    ),
  /** -1021, the timestamp is older than the window. */
  outsideRecvWindow: (): BinanceError =>
    binanceError(BinanceCode.INVALID_TIMESTAMP, 'Timestamp for this request is outside of the recvWindow.'),
  /** -1021, the timestamp is too far in the future. */
  aheadOfServer: (): BinanceError =>
    binanceError(
      BinanceCode.INVALID_TIMESTAMP,
      "Timestamp for this request was 1000ms ahead of the server's time.",
    ),
  invalidSignature: (): BinanceError => binanceError(BinanceCode.INVALID_SIGNATURE),
  illegalChars: (param: string, legalRange: string): BinanceError =>
    binanceError(
      BinanceCode.ILLEGAL_CHARS,
      `Illegal characters found in parameter '${param}'; legal range is '${legalRange}'.`,
    ),
  /** -1100 for a parameter that cannot even be decoded (bad percent-encoding): no name to quote. */
  illegalCharsSomewhere: (): BinanceError => binanceError(BinanceCode.ILLEGAL_CHARS),
  duplicateParam: (param: string): BinanceError =>
    binanceError(BinanceCode.TOO_MANY_PARAMETERS, `Duplicate values for parameter '${param}'.`),
  mandatory: (param: string): BinanceError =>
    binanceError(
      BinanceCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
      `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`,
    ),
  eitherMandatory: (a: string, b: string): BinanceError =>
    binanceError(
      BinanceCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
      `Param '${a}' or '${b}' must be sent, but both were empty/null!`,
    ),
  paramEmpty: (param: string): BinanceError =>
    binanceError(BinanceCode.PARAM_EMPTY, `Parameter '${param}' was empty.`),
  notRequired: (param: string): BinanceError =>
    binanceError(BinanceCode.PARAM_NOT_REQUIRED, `Parameter '${param}' sent when not required.`),
  overflow: (param: string): BinanceError =>
    binanceError(BinanceCode.PARAM_OVERFLOW, `Parameter '${param}' overflowed.`),
  tooPrecise: (param: string): BinanceError =>
    binanceError(BinanceCode.BAD_PRECISION, `Parameter '${param}' has too much precision.`),
  invalidParam: (param: string): BinanceError =>
    binanceError(BinanceCode.INVALID_PARAMETER, `Data sent for parameter '${param}' is not valid.`),
  unreadParams: (read: number, sent: number): BinanceError =>
    binanceError(
      BinanceCode.UNREAD_PARAMETERS,
      `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`,
    ),
  badCombination: (): BinanceError => binanceError(BinanceCode.OPTIONAL_PARAMS_BAD_COMBO),
  badRecvWindow: (): BinanceError => binanceError(BinanceCode.BAD_RECV_WINDOW),
  invalidTimeUnit: (): BinanceError => binanceError(BinanceCode.INVALID_TIME_UNIT),
  badSymbol: (): BinanceError => binanceError(BinanceCode.BAD_SYMBOL),
  invalidSymbolStatus: (): BinanceError => binanceError(BinanceCode.INVALID_SYMBOLSTATUS),
  duplicateSymbols: (): BinanceError => binanceError(BinanceCode.DUPLICATE_SYMBOLS),
  badApiKeyFormat: (): BinanceError => binanceError(BinanceCode.BAD_API_KEY_FMT),
  rejectedKey: (): BinanceError => binanceError(BinanceCode.REJECTED_MBX_KEY),
  /** -1013 naming the filter: "Filter failure: PRICE_FILTER". */
  filterFailure: (filter: string): BinanceError =>
    binanceError(BinanceCode.INVALID_MESSAGE, `Filter failure: ${filter}`),
  /** 404: the path names no endpoint (Binance answers with an HTML page; we answer JSON, see docs/GATEWAY.md). */
  unknownEndpoint: (): BinanceError =>
    binanceError(BinanceCode.UNSUPPORTED_OPERATION, 'Unknown endpoint.', 404),
  /** 405: the path exists but not with this method. */
  methodNotAllowed: (): BinanceError =>
    binanceError(BinanceCode.UNSUPPORTED_OPERATION, 'Method not allowed for this endpoint.', 405),
  /** 413: the body is larger than the gateway accepts. */
  bodyTooLarge: (limitBytes: number): BinanceError =>
    binanceError(
      BinanceCode.TOO_MANY_PARAMETERS,
      `Request body too large; the limit is ${limitBytes} bytes.`,
      413,
    ),
} as const;

/**
 * The operation a result code answers: the same engine rejection is -2010 for a new order,
 * -2011 for a cancel, -2013 for a query of an order that is not there and -2038 for an amend.
 */
export type ResultContext = 'place' | 'cancel' | 'cancelAll' | 'query' | 'amend' | 'cancelReplace' | 'funds';

/** Every context, for exhaustive tests. */
export const RESULT_CONTEXTS: readonly ResultContext[] = [
  'place',
  'cancel',
  'cancelAll',
  'query',
  'amend',
  'cancelReplace',
  'funds',
];

/** The code a matching-engine rejection carries in each context (Binance's -1010/-2010/-2011 family). */
const ENGINE_CODE: Readonly<Record<ResultContext, BinanceCode>> = {
  place: BinanceCode.NEW_ORDER_REJECTED,
  cancel: BinanceCode.CANCEL_REJECTED,
  cancelAll: BinanceCode.CANCEL_REJECTED,
  query: BinanceCode.NO_SUCH_ORDER,
  amend: BinanceCode.ORDER_AMEND_REJECTED,
  cancelReplace: BinanceCode.NEW_ORDER_REJECTED,
  funds: BinanceCode.NEW_ORDER_REJECTED,
};

/** The client order id parameter each context reads. */
function clientOrderIdParam(ctx: ResultContext): string {
  return ctx === 'cancel' || ctx === 'query' ? 'origClientOrderId' : 'newClientOrderId';
}

/** The quantity-like parameter each context reads (for -1108/-1111 messages). */
function amountParam(ctx: ResultContext): string {
  if (ctx === 'funds') return 'amount';
  if (ctx === 'amend') return 'newQty';
  return 'quantity';
}

type Failure = Exclude<ResultCode, typeof ResultCode.OK>;
type Mapper = (ctx: ResultContext) => BinanceError;

const engine =
  (msg: string): Mapper =>
  (ctx) =>
    binanceError(ENGINE_CODE[ctx], msg);
const fixed =
  (error: BinanceError): Mapper =>
  () =>
    error;
/** A result code that only a bug on our side can produce (the gateway or the sequencer built a bad command). */
const internal: Mapper = () => Errors.unknown();

/**
 * One row per engine result code. The type makes the table exhaustive over `ResultCode`: a new
 * code does not compile until it is mapped here (and the test walks every code and context).
 */
const RESULT_TABLE: Readonly<Record<Failure, Mapper>> = {
  // 1xx: command shape
  [ResultCode.UNKNOWN_SYMBOL]: fixed(Errors.badSymbol()),
  [ResultCode.INVALID_SIDE]: fixed(binanceError(BinanceCode.INVALID_SIDE)),
  [ResultCode.INVALID_ORDER_TYPE]: fixed(binanceError(BinanceCode.INVALID_ORDER_TYPE)),
  [ResultCode.INVALID_TIME_IN_FORCE]: fixed(binanceError(BinanceCode.INVALID_TIF)),
  [ResultCode.TIME_IN_FORCE_NOT_ALLOWED]: fixed(Errors.notRequired('timeInForce')),
  [ResultCode.INVALID_STP_MODE]: fixed(Errors.invalidParam('selfTradePreventionMode')),
  [ResultCode.STP_MODE_NOT_ALLOWED]: fixed(Errors.invalidParam('selfTradePreventionMode')),
  [ResultCode.INVALID_ORDER_ID]: fixed(Errors.illegalChars('orderId', LEGAL_RANGE.integer)),
  [ResultCode.INVALID_USER_ID]: internal,
  [ResultCode.INVALID_CLIENT_ORDER_ID]: (ctx) =>
    Errors.illegalChars(clientOrderIdParam(ctx), LEGAL_RANGE.clientOrderId),
  [ResultCode.INVALID_TIMESTAMP]: internal,
  [ResultCode.INVALID_CANCEL_RESTRICTION]: fixed(binanceError(BinanceCode.INVALID_CANCEL_RESTRICTIONS)),
  [ResultCode.INVALID_CANCEL_REPLACE_MODE]: fixed(Errors.invalidParam('cancelReplaceMode')),
  [ResultCode.MISSING_ORDER_REFERENCE]: fixed(Errors.eitherMandatory('origClientOrderId', 'orderId')),
  [ResultCode.UNKNOWN_COMMAND]: internal,
  [ResultCode.MALFORMED_RECORD]: internal,

  // 2xx: market filters
  [ResultCode.PRICE_REQUIRED]: fixed(Errors.mandatory('price')),
  [ResultCode.PRICE_NOT_ALLOWED]: fixed(Errors.notRequired('price')),
  [ResultCode.PRICE_NOT_INTEGER]: fixed(Errors.filterFailure('PRICE_FILTER')),
  [ResultCode.PRICE_BELOW_MIN]: fixed(Errors.filterFailure('PRICE_FILTER')),
  [ResultCode.PRICE_ABOVE_MAX]: fixed(Errors.filterFailure('PRICE_FILTER')),
  [ResultCode.PRICE_OFF_TICK]: fixed(Errors.filterFailure('PRICE_FILTER')),
  [ResultCode.QTY_REQUIRED]: (ctx) =>
    ctx === 'amend' ? Errors.mandatory('newQty') : Errors.eitherMandatory('quantity', 'quoteOrderQty'),
  [ResultCode.QTY_NOT_INTEGER]: fixed(Errors.filterFailure('LOT_SIZE')),
  [ResultCode.QTY_BELOW_MIN]: fixed(Errors.filterFailure('LOT_SIZE')),
  [ResultCode.QTY_ABOVE_MAX]: fixed(Errors.filterFailure('LOT_SIZE')),
  [ResultCode.QTY_OFF_LOT]: fixed(Errors.filterFailure('LOT_SIZE')),
  [ResultCode.MARKET_QTY_ABOVE_MAX]: fixed(Errors.filterFailure('MARKET_LOT_SIZE')),
  [ResultCode.QTY_AND_QUOTE_QTY]: fixed(Errors.notRequired('quoteOrderQty')),
  [ResultCode.QUOTE_QTY_NOT_ALLOWED]: fixed(Errors.notRequired('quoteOrderQty')),
  [ResultCode.QUOTE_QTY_NOT_INTEGER]: fixed(Errors.filterFailure('NOTIONAL')),
  [ResultCode.NOTIONAL_BELOW_MIN]: fixed(Errors.filterFailure('NOTIONAL')),
  [ResultCode.NOTIONAL_ABOVE_MAX]: fixed(Errors.filterFailure('NOTIONAL')),
  [ResultCode.DECIMAL_MALFORMED]: (ctx) => Errors.illegalChars(amountParam(ctx), LEGAL_RANGE.decimal),
  [ResultCode.DECIMAL_TOO_PRECISE]: (ctx) => Errors.tooPrecise(amountParam(ctx)),
  [ResultCode.MARKET_NOT_TRADING]: engine('Market is closed.'),
  [ResultCode.DECIMAL_OUT_OF_RANGE]: (ctx) => Errors.overflow(amountParam(ctx)),

  // 3xx: order book
  [ResultCode.WOULD_TAKE]: engine('Order would immediately match and take.'),
  [ResultCode.UNKNOWN_ORDER]: (ctx) =>
    ctx === 'query'
      ? binanceError(BinanceCode.NO_SUCH_ORDER, 'Order does not exist.')
      : binanceError(
          ctx === 'amend' ? BinanceCode.ORDER_AMEND_REJECTED : BinanceCode.CANCEL_REJECTED,
          'Unknown order sent.',
        ),
  [ResultCode.DUPLICATE_ORDER_ID]: engine('Duplicate order sent.'),
  [ResultCode.DUPLICATE_CLIENT_ORDER_ID]: engine('Duplicate order sent.'),
  // Binance answers DELETE /api/v3/openOrders with nothing open as an unknown order.
  [ResultCode.NO_OPEN_ORDERS]: fixed(binanceError(BinanceCode.CANCEL_REJECTED, 'Unknown order sent.')),
  [ResultCode.AMEND_QTY_NOT_ABOVE_FILLED]: fixed(
    binanceError(
      BinanceCode.ORDER_AMEND_REJECTED,
      'The new quantity must be greater than the filled quantity.',
    ),
  ),
  [ResultCode.AMEND_WOULD_TAKE]: fixed(
    binanceError(BinanceCode.ORDER_AMEND_REJECTED, 'Order would immediately match and take.'),
  ),
  [ResultCode.CANCEL_RESTRICTED]: fixed(
    binanceError(BinanceCode.CANCEL_REJECTED, 'Order was not canceled due to cancel restrictions.'),
  ),
  [ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED]: fixed(binanceError(BinanceCode.CANCEL_REPLACE_FAILED)),
  [ResultCode.BOOK_CAPACITY]: fixed(Errors.filterFailure('EXCHANGE_MAX_NUM_ORDERS')),

  // 4xx: risk
  [ResultCode.INSUFFICIENT_BALANCE]: engine('Account has insufficient balance for requested action.'),
  [ResultCode.UNKNOWN_ASSET]: fixed(Errors.invalidParam('coin')),
  [ResultCode.INVALID_AMOUNT]: fixed(Errors.invalidParam('amount')),
  [ResultCode.UNKNOWN_WITHDRAWAL]: fixed(Errors.invalidParam('id')),
  [ResultCode.DUPLICATE_WITHDRAWAL]: fixed(Errors.invalidParam('withdrawOrderId')),
  [ResultCode.INVALID_FEE_RATE]: fixed(Errors.invalidParam('feeRate')),
  [ResultCode.BALANCE_OVERFLOW]: (ctx) => Errors.overflow(amountParam(ctx)),

  // 5xx: runtime (temporary: the client may retry)
  [ResultCode.SHUTTING_DOWN]: fixed(binanceError(BinanceCode.SERVICE_SHUTTING_DOWN)),
  [ResultCode.SYMBOL_MOVING]: fixed(binanceError(BinanceCode.SERVER_BUSY)),
};

/**
 * The Binance error for an engine rejection in `context`. Throws for `OK` (not an error: a
 * caller that maps OK has a bug, which the server turns into 500 -1000 and logs).
 */
export function errorForResult(code: ResultCode, context: ResultContext): BinanceError {
  const mapper = code === ResultCode.OK ? undefined : RESULT_TABLE[code as Failure];
  if (mapper === undefined) throw new Error(`no Binance error for result code ${resultCodeName(code)}`);
  return mapper(context);
}

/** The result codes the table maps (every code but OK), for tests. */
export const MAPPED_RESULT_CODES: readonly ResultCode[] = ALL_RESULT_CODES.filter((c) => c !== ResultCode.OK);
