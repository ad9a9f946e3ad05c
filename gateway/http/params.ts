/**
 * Request parameters: `application/x-www-form-urlencoded` decoding of the query string and
 * body, duplicate detection, and small readers with Binance's error for each way a parameter
 * can be wrong (missing -1102, empty -1105, malformed or NUL -1100, repeated -1101).
 */
import { BinanceApiError, Errors } from '../binance/errors.ts';

/**
 * Decodes one form-encoded component ('+' is a space); throws -1100 on a broken %-escape and
 * on a NUL character (no parameter has a use for one, and PostgreSQL refuses it in text: a
 * NUL reaching a query would be a 500).
 */
function decodeComponent(raw: string): string {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  let decoded = spaced;
  if (spaced.includes('%')) {
    try {
      decoded = decodeURIComponent(spaced);
    } catch {
      throw new BinanceApiError(Errors.illegalCharsSomewhere());
    }
  }
  if (decoded.includes('\u0000')) throw new BinanceApiError(Errors.illegalCharsSomewhere());
  return decoded;
}

/**
 * Decodes a form-encoded string into `into`. Empty segments (`a=1&&b=2`) are skipped; a
 * segment without `=` is a parameter with an empty value. A name seen twice within this string
 * is refused with -1101; a name already in `into` (from the query string) is kept as it is,
 * because the query string wins over the body.
 */
function decodeInto(raw: string, into: Map<string, string>, fromBody: boolean): void {
  if (raw === '') return;
  const seen = fromBody ? new Set<string>() : undefined;
  for (const segment of raw.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = decodeComponent(eq < 0 ? segment : segment.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(segment.slice(eq + 1));
    if (seen === undefined) {
      if (into.has(name)) throw new BinanceApiError(Errors.duplicateParam(name));
      into.set(name, value);
    } else {
      if (seen.has(name)) throw new BinanceApiError(Errors.duplicateParam(name));
      seen.add(name);
      if (!into.has(name)) into.set(name, value);
    }
  }
}

/**
 * The parameters of a request: the query string, then (when `formBody` is given) a
 * form-encoded body. Throws BinanceApiError -1101 (duplicate) or -1100 (bad encoding).
 */
export function parseParams(query: string, formBody?: string): Map<string, string> {
  const params = new Map<string, string>();
  decodeInto(query, params, false);
  if (formBody !== undefined) decodeInto(formBody, params, true);
  return params;
}

/** True when a content type names a form-encoded body (parameters may travel there). */
export function isFormContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType);
}

/** A mandatory parameter: missing or empty -> -1102. */
export function requireParam(params: ReadonlyMap<string, string>, name: string): string {
  const v = params.get(name);
  if (v === undefined || v === '') throw new BinanceApiError(Errors.mandatory(name));
  return v;
}

/** An optional parameter: absent -> undefined, sent empty -> -1105. */
export function optionalParam(params: ReadonlyMap<string, string>, name: string): string | undefined {
  const v = params.get(name);
  if (v === '') throw new BinanceApiError(Errors.paramEmpty(name));
  return v;
}

/** An optional boolean ("true"/"false", any case); anything else -> -1100. */
export function optionalBoolean(params: ReadonlyMap<string, string>, name: string): boolean | undefined {
  const v = optionalParam(params, name);
  if (v === undefined) return undefined;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new BinanceApiError(Errors.illegalChars(name, '^(true|false)$'));
}
