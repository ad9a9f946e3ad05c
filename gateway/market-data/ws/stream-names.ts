/**
 * The market data stream names a gateway serves, exactly those the builder emits
 * (gateway/market-data/): per symbol of `Markets`, lower case,
 *
 *   <s>@trade  <s>@aggTrade  <s>@bookTicker
 *   <s>@depth  <s>@depth@100ms  <s>@depth5|10|20  <s>@depth5|10|20@100ms
 *   <s>@kline_<1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M>
 *   <s>@ticker  <s>@miniTicker  <s>@ticker_1h|4h|1d  <s>@avgPrice
 *
 * and `!miniTicker@arr`. Names are case-sensitive as on Binance (`1m` is a minute, `1M` a
 * month; symbols are lower case). `<s>@depth@1000ms` is not accepted: Binance does not
 * document it, and an alias would need topics and combined wrappers of its own.
 *
 * The catalog hands out one interned string per name, so a connection's subscription list
 * holds references to shared strings rather than copies.
 */
import type { Markets } from '../../../engine/index.ts';
import { INTERVALS } from '../klines.ts';
import { STREAM_WINDOWS } from '../tickers.ts';

/** The all-market stream the builder emits. */
export const ALL_MINI_TICKERS = '!miniTicker@arr';

/** The suffixes (after `<symbol>@`) of every per-symbol stream, in a stable order. */
export const SYMBOL_STREAM_SUFFIXES: readonly string[] = [
  'trade',
  'aggTrade',
  'bookTicker',
  'depth',
  'depth@100ms',
  'depth5',
  'depth10',
  'depth20',
  'depth5@100ms',
  'depth10@100ms',
  'depth20@100ms',
  ...INTERVALS.map((i) => `kline_${i}`),
  'ticker',
  'miniTicker',
  ...Object.keys(STREAM_WINDOWS).map((w) => `ticker_${w}`),
  'avgPrice',
];

/** Every stream name of a set of markets, interned. */
export class StreamCatalog {
  readonly #names = new Map<string, string>();

  constructor(markets: Markets) {
    for (const m of markets.list) {
      const s = m.symbol.toLowerCase();
      for (const suffix of SYMBOL_STREAM_SUFFIXES) {
        const name = `${s}@${suffix}`;
        this.#names.set(name, name);
      }
    }
    this.#names.set(ALL_MINI_TICKERS, ALL_MINI_TICKERS);
  }

  /** The interned name when `name` is a stream served here, else undefined. */
  get(name: string): string | undefined {
    return this.#names.get(name);
  }

  /** How many stream names there are. */
  get size(): number {
    return this.#names.size;
  }
}

/**
 * True when `name` is meant as a stream name (it has an `@`, or starts with `!`), as opposed
 * to the placeholders some clients put after `/ws/` before subscribing (ccxt's `/ws/0`).
 */
export function looksLikeStream(name: string): boolean {
  return name.includes('@') || name.startsWith('!');
}
