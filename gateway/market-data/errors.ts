/**
 * Expected failures of market data queries, as values: a dotted code for callers to switch
 * on, and the Binance error (code and message) the REST gateway answers with HTTP 400.
 */

/** One refused query. */
export interface MarketDataError {
  /** Dotted, stable: "md.unknown_symbol", "md.bad_interval", ... */
  readonly code: string;
  /** Binance's error code (-1121, -1120, -1100, -1101, -1127, -1128). */
  readonly binanceCode: number;
  /** Binance's message. */
  readonly msg: string;
}

/** A query's answer or why it was refused. */
export type MdResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: MarketDataError };

/** An answer. */
export function ok<T>(value: T): MdResult<T> {
  return { ok: true, value };
}

/** A refusal. */
export function refuse<T>(code: string, binanceCode: number, msg: string): MdResult<T> {
  return { ok: false, error: { code, binanceCode, msg } };
}

/** Binance -1121. */
export const unknownSymbol = <T>(): MdResult<T> => refuse('md.unknown_symbol', -1121, 'Invalid symbol.');

/** Binance -1120. */
export const badInterval = <T>(): MdResult<T> => refuse('md.bad_interval', -1120, 'Invalid interval.');

/** Binance -1100, for a parameter out of its legal range. */
export const badParam = <T>(name: string, legal: string): MdResult<T> =>
  refuse(
    `md.bad_${name}`,
    -1100,
    `Illegal characters found in parameter '${name}'; legal range is '${legal}'.`,
  );

/** Binance -1101: too many symbols. */
export const tooManySymbols = <T>(max: number): MdResult<T> =>
  refuse(
    'md.too_many_symbols',
    -1101,
    `Too many values sent for parameter 'symbols', maximum allowed up to ${max}`,
  );

/** Binance -1127. */
export const windowTooLong = <T>(hours: number): MdResult<T> =>
  refuse('md.window_too_long', -1127, `More than ${hours} hours between startTime and endTime.`);

/** Binance -1128. */
export const badCombination = <T>(): MdResult<T> =>
  refuse('md.bad_combination', -1128, 'Combination of optional parameters invalid.');
