/**
 * From the builder to the bus: every payload `MarketData` emits goes out once, on its stream's
 * channel, with the sequence numbers and cache values that let any gateway follow it without a
 * gap (gateway/market-data/bus/snapshot-sync.ts). Three kinds of streams:
 *
 * | kind    | streams                                   | seq / prevSeq              | cached (key)                     |
 * |---------|-------------------------------------------|----------------------------|----------------------------------|
 * | diff    | `<s>@depth`, `<s>@depth@100ms`            | `u` / `U - 1` (chained)    | the book at `u` (`md:<s>:book`)  |
 * | event   | `<s>@trade`                               | `t` / `t - 1` (chained)    | nothing                          |
 * | event   | `<s>@aggTrade`                            | `a` / unchained (ids skip) | nothing                          |
 * | latest  | tickers, klines, `@depthN`, `@bookTicker`, `@avgPrice`, `!miniTicker@arr` | increasing / unchained | the payload itself (the channel) |
 *
 * A gateway holds the latest payload of every `latest` stream it follows and sends it to a
 * client at once when it subscribes; diff streams are joined with the REST snapshot as Binance
 * documents; events are relayed as they come.
 */
import type { Bus } from './bus/bus.port.ts';
import { UNCHAINED } from './bus/bus.port.ts';
import { channelForStream, MARKET_DATA_PREFIX } from './bus/channels.ts';
import type { MarketData, OnMessage } from './market-data.ts';

/** How a stream is carried on the bus (see the table above). */
export type StreamKind = 'diff' | 'trade' | 'aggTrade' | 'latest';

/** The kind of a Binance stream name. */
export function streamKind(stream: string): StreamKind {
  if (stream.endsWith('@depth') || stream.endsWith('@depth@100ms')) return 'diff';
  if (stream.endsWith('@trade')) return 'trade';
  if (stream.endsWith('@aggTrade')) return 'aggTrade';
  return 'latest';
}

/** The cache key of a symbol's book (`btcusdt` -> `md:btcusdt:book`), shared by both diff streams. */
export function bookCacheKey(stream: string): string {
  return `${MARKET_DATA_PREFIX}${stream.slice(0, stream.indexOf('@'))}:book`;
}

/** The cache key a follower of `stream` joins at, or undefined for streams that are not cached. */
export function followCacheKey(stream: string): string | undefined {
  switch (streamKind(stream)) {
    case 'diff':
      return bookCacheKey(stream);
    case 'latest':
      return channelForStream(stream);
    default:
      return undefined;
  }
}

/** Reads the non-negative integer after `"<field>":` in a payload the builder wrote (no JSON.parse). */
function intField(payload: string, field: string): number {
  const at = payload.indexOf(`"${field}":`);
  if (at < 0) return -1;
  let i = at + field.length + 3;
  let n = 0;
  for (; i < payload.length; i++) {
    const c = payload.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

/** Options of `marketDataPublisher`. */
export interface PublisherOptions {
  /** The book depth cached with every diff (default 5000, the REST maximum). */
  readonly bookLevels?: number;
  /** Wall clock in microseconds (the `latest` streams' seqs start from it, so a restart never goes back). */
  readonly nowMicros?: () => number;
}

/**
 * The builder's `onMessage` that publishes on `bus`. `md` is read for the book cached with each
 * diff; it is the builder whose `onMessage` this is (set it after constructing the builder:
 * `publisher.attach(md)`).
 */
export function marketDataPublisher(
  bus: Bus,
  options: PublisherOptions = {},
): { readonly onMessage: OnMessage; attach(md: MarketData): void } {
  const bookLevels = options.bookLevels ?? 5000;
  const nowMicros = options.nowMicros ?? (() => Date.now() * 1000);
  let md: MarketData | undefined;
  const channels = new Map<string, string>();
  /** Per symbol: the update id whose book was last cached, with both diff streams sharing one value. */
  const bookAt = new Map<string, number>();
  let latestSeq = 0;

  const onMessage: OnMessage = (stream, payload) => {
    let channel = channels.get(stream);
    if (channel === undefined) {
      channel = channelForStream(stream);
      channels.set(stream, channel);
    }
    switch (streamKind(stream)) {
      case 'diff': {
        const u = intField(payload, 'u');
        const first = intField(payload, 'U');
        const key = bookCacheKey(stream);
        const symbol = stream.slice(0, stream.indexOf('@')).toUpperCase();
        const snap =
          md !== undefined && bookAt.get(key) !== u ? md.depthSnapshot(symbol, bookLevels) : undefined;
        if (snap?.ok) {
          bookAt.set(key, u);
          bus.publishAndCache(channel, payload, u, {
            prevSeq: first - 1,
            key,
            value: JSON.stringify(snap.value),
          });
        } else {
          // The book at `u` is cached already (the other diff stream of the same tick): the
          // message alone, still chained.
          bus.publish(channel, payload, u, first - 1);
        }
        return;
      }
      case 'trade': {
        const t = intField(payload, 't');
        bus.publish(channel, payload, t, t - 1);
        return;
      }
      case 'aggTrade':
        bus.publish(channel, payload, intField(payload, 'a'), UNCHAINED);
        return;
      case 'latest': {
        latestSeq = Math.max(latestSeq + 1, nowMicros());
        bus.publishAndCache(channel, payload, latestSeq, { prevSeq: UNCHAINED });
        return;
      }
    }
  };
  return {
    onMessage,
    attach(builder: MarketData) {
      md = builder;
    },
  };
}
