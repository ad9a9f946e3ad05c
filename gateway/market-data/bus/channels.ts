/**
 * Channel names, patterns and the argument checks every bus adapter shares.
 *
 * One channel per symbol and stream kind, named after the Binance stream it carries:
 *
 * | Binance stream            | bus channel                 |
 * |---------------------------|-----------------------------|
 * | `btcusdt@depth`           | `md:btcusdt:depth`          |
 * | `btcusdt@depth@100ms`     | `md:btcusdt:depth@100ms`    |
 * | `btcusdt@trade`           | `md:btcusdt:trade`          |
 * | `btcusdt@kline_1m`        | `md:btcusdt:kline_1m`       |
 * | `!miniTicker@arr`         | `md:!miniTicker@arr`        |
 *
 * so that a gateway subscribes to exactly what its clients want (`md:btcusdt:trade`), to a symbol
 * (`md:btcusdt:*`), to a kind across symbols (`md:*:trade`) or to everything (`md:*`). The symbol is
 * lower case, as in Binance stream names. Channels never contain glob characters (`* ? [ ] \`), so a
 * channel is never mistaken for a pattern.
 */
import { BusError, type BusPayload } from './bus.port.ts';

/** Prefix of every market data channel. */
export const MARKET_DATA_PREFIX = 'md:';

const MAX_NAME_LENGTH = 200;
const CHANNEL_RE = /^[\x21-\x7e]+$/;
const GLOB_CHARS_RE = /[*?[\]\\]/;
const PATTERN_CHARS_RE = /[*?[\\]/;
const SYMBOL_STREAM_RE = /^([a-z0-9]{1,40})@([A-Za-z0-9_@]{1,80})$/;
const ALL_SYMBOLS_STREAM_RE = /^![A-Za-z0-9_@]{1,80}$/;

/** The bus channel of a Binance stream name (`btcusdt@trade` -> `md:btcusdt:trade`). Throws `bus.invalid_argument`. */
export function channelForStream(stream: string): string {
  const m = SYMBOL_STREAM_RE.exec(stream);
  if (m) return `${MARKET_DATA_PREFIX}${m[1]}:${m[2]}`;
  if (ALL_SYMBOLS_STREAM_RE.test(stream)) return `${MARKET_DATA_PREFIX}${stream}`;
  throw new BusError('bus.invalid_argument', `"${printable(stream)}" is not a market data stream name`);
}

/** The Binance stream name of a market data channel (`md:btcusdt:trade` -> `btcusdt@trade`), or undefined. */
export function streamForChannel(channel: string): string | undefined {
  if (!channel.startsWith(MARKET_DATA_PREFIX)) return undefined;
  const rest = channel.slice(MARKET_DATA_PREFIX.length);
  if (ALL_SYMBOLS_STREAM_RE.test(rest)) return rest;
  const colon = rest.indexOf(':');
  if (colon < 0) return undefined;
  const stream = `${rest.slice(0, colon)}@${rest.slice(colon + 1)}`;
  return SYMBOL_STREAM_RE.test(stream) ? stream : undefined;
}

/** The pattern of every channel of one symbol (`BTCUSDT` -> `md:btcusdt:*`). */
export function symbolPattern(symbol: string): string {
  const s = symbol.toLowerCase();
  if (!/^[a-z0-9]{1,40}$/.test(s))
    throw new BusError('bus.invalid_argument', `"${printable(symbol)}" is not a symbol`);
  return `${MARKET_DATA_PREFIX}${s}:*`;
}

/** True when `name` is a pattern (has an unescaped or escaped glob character) rather than a channel. */
export function isPattern(name: string): boolean {
  return PATTERN_CHARS_RE.test(name);
}

/** Checks a concrete channel (what `publish` takes). Throws `bus.invalid_argument`. */
export function assertChannel(channel: unknown): asserts channel is string {
  if (
    typeof channel !== 'string' ||
    channel.length === 0 ||
    channel.length > MAX_NAME_LENGTH ||
    !CHANNEL_RE.test(channel) ||
    GLOB_CHARS_RE.test(channel)
  )
    throw new BusError(
      'bus.invalid_argument',
      `channel "${printable(channel)}" must be 1..${MAX_NAME_LENGTH} printable characters without spaces or * ? [ ] \\`,
    );
}

/** Checks a channel or a pattern (what `subscribe` takes). Throws `bus.invalid_argument`. */
export function assertChannelOrPattern(name: unknown): asserts name is string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_NAME_LENGTH ||
    !CHANNEL_RE.test(name)
  )
    throw new BusError(
      'bus.invalid_argument',
      `"${printable(name)}" must be 1..${MAX_NAME_LENGTH} printable characters without spaces`,
    );
  if (isPattern(name)) globToRegExp(name);
}

/**
 * The regular expression matching what Redis's glob `pattern` matches (PSUBSCRIBE semantics: `*` any
 * run, `?` one character, `[abc]`, `[^a-c]`, `\x` a literal x), so that the in-process bus matches
 * exactly what Redis would. Throws `bus.invalid_argument` on an unterminated `[` or a trailing `\`.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw badPattern(pattern, 'ends with an escape');
      re += escapeRegExp(pattern[i]!);
    } else if (c === '[') {
      let cls = '[';
      i++;
      if (pattern[i] === '^') {
        cls += '^';
        i++;
      }
      let closed = false;
      for (; i < pattern.length; i++) {
        const d = pattern[i]!;
        if (d === ']') {
          closed = true;
          break;
        }
        if (d === '\\') {
          i++;
          if (i >= pattern.length) break;
          cls += escapeClassChar(pattern[i]!);
        } else if (d === '-' && cls.length > 1 && cls !== '[^' && pattern[i + 1] !== ']') cls += '-';
        else cls += escapeClassChar(d);
      }
      if (!closed) throw badPattern(pattern, 'has an unterminated [');
      re += cls === '[' || cls === '[^' ? (cls === '[' ? '(?!)' : '[\\s\\S]') : `${cls}]`;
    } else re += escapeRegExp(c);
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    throw badPattern(pattern, 'has an invalid character range');
  }
}

function badPattern(pattern: string, why: string): BusError {
  return new BusError('bus.invalid_argument', `pattern "${printable(pattern)}" ${why}`);
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\]\\^-]/.test(c) ? `\\${c}` : c;
}

/** Checks a cache key (same alphabet as channels). Throws `bus.invalid_argument`. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_NAME_LENGTH || !CHANNEL_RE.test(key))
    throw new BusError(
      'bus.invalid_argument',
      `cache key "${printable(key)}" must be 1..${MAX_NAME_LENGTH} printable characters without spaces`,
    );
}

/** Checks a payload: a string or a Buffer. Throws `bus.invalid_argument`. */
export function assertPayload(payload: unknown): asserts payload is BusPayload {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload))
    throw new BusError('bus.invalid_argument', 'a payload must be a string or a Buffer');
}

/** Checks a message sequence pair: `seq` a safe integer >= 0, `prevSeq` UNCHAINED (-1) or in 0..seq-1. */
export function assertSeq(seq: unknown, prevSeq: unknown): void {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    throw new BusError('bus.invalid_argument', `seq ${String(seq)} must be a safe integer >= 0`);
  if (prevSeq === -1) return;
  if (typeof prevSeq !== 'number' || !Number.isSafeInteger(prevSeq) || prevSeq < 0 || prevSeq >= seq)
    throw new BusError(
      'bus.invalid_argument',
      `prevSeq ${String(prevSeq)} must be -1 (unchained) or an integer in 0..seq-1 (seq ${seq})`,
    );
}

/** Checks a time to live: absent, or a positive safe integer of milliseconds. */
export function assertTtl(ttlMs: unknown): void {
  if (ttlMs === undefined) return;
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new BusError('bus.invalid_argument', `ttlMs ${String(ttlMs)} must be a positive integer`);
}

/** A short, printable rendering of a bad value for an error message. */
export function printable(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}...` : clean;
}

/** The default report of a throwing handler: a process warning (delivery to the other handlers goes on). */
export function reportHandlerError(error: unknown, channel: string): void {
  const why = error instanceof Error ? error.message : String(error);
  process.emitWarning(`a bus handler of ${channel} threw: ${why}`, 'BusHandlerWarning');
}
