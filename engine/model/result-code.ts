/**
 * Result codes, banded by subsystem (after exchange-core's CommandResultCode). The hot path
 * returns these instead of throwing; the gateway maps each one onto a Binance error code and
 * message (one-to-one, in the gateway's error table). Values never change once shipped: they
 * are journalled and persisted.
 *
 *   0        success
 *   1xx      command shape (the request itself is malformed)
 *   2xx      market filters (price, quantity, notional against the market definition)
 *   3xx      order book (unknown order, duplicate ids, post-only would take, ...)
 *   4xx      risk (balances and holds)            -- the core runtime
 *   5xx      runtime (journal, rings, shards)     -- the core runtime
 */
export const ResultCode = {
  OK: 0,

  // 1xx: command shape
  UNKNOWN_SYMBOL: 100,
  INVALID_SIDE: 101,
  INVALID_ORDER_TYPE: 102,
  INVALID_TIME_IN_FORCE: 103,
  TIME_IN_FORCE_NOT_ALLOWED: 104,
  INVALID_STP_MODE: 105,
  STP_MODE_NOT_ALLOWED: 106,
  INVALID_ORDER_ID: 107,
  INVALID_USER_ID: 108,
  INVALID_CLIENT_ORDER_ID: 109,
  INVALID_TIMESTAMP: 110,
  INVALID_CANCEL_RESTRICTION: 111,
  INVALID_CANCEL_REPLACE_MODE: 112,
  MISSING_ORDER_REFERENCE: 113,
  UNKNOWN_COMMAND: 114,
  MALFORMED_RECORD: 115,

  // 2xx: market filters
  PRICE_REQUIRED: 200,
  PRICE_NOT_ALLOWED: 201,
  PRICE_NOT_INTEGER: 202,
  PRICE_BELOW_MIN: 203,
  PRICE_ABOVE_MAX: 204,
  PRICE_OFF_TICK: 205,
  QTY_REQUIRED: 206,
  QTY_NOT_INTEGER: 207,
  QTY_BELOW_MIN: 208,
  QTY_ABOVE_MAX: 209,
  QTY_OFF_LOT: 210,
  MARKET_QTY_ABOVE_MAX: 211,
  QTY_AND_QUOTE_QTY: 212,
  QUOTE_QTY_NOT_ALLOWED: 213,
  QUOTE_QTY_NOT_INTEGER: 214,
  NOTIONAL_BELOW_MIN: 215,
  NOTIONAL_ABOVE_MAX: 216,
  DECIMAL_MALFORMED: 217,
  DECIMAL_TOO_PRECISE: 218,
  MARKET_NOT_TRADING: 219,
  DECIMAL_OUT_OF_RANGE: 220,

  // 3xx: order book
  WOULD_TAKE: 300,
  UNKNOWN_ORDER: 301,
  DUPLICATE_ORDER_ID: 302,
  DUPLICATE_CLIENT_ORDER_ID: 303,
  NO_OPEN_ORDERS: 304,
  AMEND_QTY_NOT_ABOVE_FILLED: 305,
  AMEND_WOULD_TAKE: 306,
  CANCEL_RESTRICTED: 307,
  CANCEL_REPLACE_NOT_ATTEMPTED: 308,
  BOOK_CAPACITY: 309,

  // 4xx: risk
  INSUFFICIENT_BALANCE: 400,
  UNKNOWN_ASSET: 401,
  INVALID_AMOUNT: 402,
  UNKNOWN_WITHDRAWAL: 403,
  DUPLICATE_WITHDRAWAL: 404,
  INVALID_FEE_RATE: 405,
  BALANCE_OVERFLOW: 406,

  // 5xx: runtime
  SHUTTING_DOWN: 500,
  SYMBOL_MOVING: 501,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

const names = new Map<number, string>(Object.entries(ResultCode).map(([k, v]) => [v, k]));

/** The symbolic name of a result code (for logs and test messages). */
export function resultCodeName(code: number): string {
  return names.get(code) ?? `UNKNOWN_RESULT_CODE_${code}`;
}

/** Every defined result code, for exhaustiveness checks of mapping tables. */
export const ALL_RESULT_CODES: readonly ResultCode[] = Object.values(ResultCode);
