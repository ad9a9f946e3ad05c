/**
 * Decimal strings <-> integers in a fixed number of decimal places. Used only at the edge
 * (API, config); inside, every amount is an integer. No floating point is involved: parsing
 * works on the digits, and the result is checked to be a safe integer.
 */
import { ResultCode } from './result-code.ts';

/** A parsed decimal: the integer count of 10^-scale units, or why it could not be parsed. */
export type ParsedDecimal =
  | { readonly ok: true; readonly units: number }
  | { readonly ok: false; readonly code: ResultCode };

const DECIMAL = /^(\d{1,30})(?:\.(\d{1,30}))?$/;

/**
 * Parses a non-negative decimal string into units of 10^-scale. Trailing zeros beyond the
 * scale are accepted ("0.01000000" at scale 2); any other digit beyond it is an error, never
 * rounded. Malformed input (signs, exponents, spaces, empty) is `DECIMAL_MALFORMED`.
 */
export function parseDecimal(text: string, scale: number): ParsedDecimal {
  const m = DECIMAL.exec(text);
  if (m === null) return { ok: false, code: ResultCode.DECIMAL_MALFORMED };
  const whole = m[1]!;
  let frac = m[2] ?? '';
  if (frac.length > scale) {
    if (!/^0*$/.test(frac.slice(scale))) return { ok: false, code: ResultCode.DECIMAL_TOO_PRECISE };
    frac = frac.slice(0, scale);
  }
  const digits = (whole + frac.padEnd(scale, '0')).replace(/^0+(?=\d)/, '');
  const value = BigInt(digits);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, code: ResultCode.DECIMAL_OUT_OF_RANGE };
  return { ok: true, units: Number(value) };
}

/**
 * Formats `units` of 10^-scale as a decimal string with exactly `decimals` places
 * (default: `scale`). `decimals` may exceed `scale` (zero-padded, as Binance pads to 8);
 * fewer decimals than `scale` is allowed only when the dropped digits are zero.
 */
export function formatDecimal(units: number, scale: number, decimals: number = scale): string {
  if (!Number.isSafeInteger(units)) throw new RangeError(`formatDecimal: ${units} is not a safe integer`);
  const negative = units < 0;
  const digits = String(Math.abs(units)).padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  let frac = digits.slice(digits.length - scale);
  if (decimals >= scale) frac = frac.padEnd(decimals, '0');
  else {
    if (!/^0*$/.test(frac.slice(decimals))) {
      throw new RangeError(`formatDecimal: ${units}e-${scale} does not fit ${decimals} decimals`);
    }
    frac = frac.slice(0, decimals);
  }
  return `${negative ? '-' : ''}${whole}${frac.length > 0 ? `.${frac}` : ''}`;
}

/** The number of decimal places a decimal string carries, ignoring trailing zeros ("0.0100" -> 2). */
export function decimalPlaces(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  return text.slice(dot + 1).replace(/0+$/, '').length;
}

/** 10^n as an exact integer (n small enough to stay safe). */
export function pow10(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 15) throw new RangeError(`pow10: ${n} out of range`);
  return 10 ** n;
}
