/**
 * Listen keys, the older way to a user data stream that many clients still use (Binance
 * retired it in February 2026; we keep it for them):
 *
 *   POST   /api/v3/userDataStream              -> {"listenKey": "<60 letters and digits>"}
 *   PUT    /api/v3/userDataStream?listenKey=K  -> {}  (valid 60 more minutes)
 *   DELETE /api/v3/userDataStream?listenKey=K  -> {}  (streams on it close)
 *   ws://host/ws/K                             -> that user's events, bare payloads
 *
 * USER_STREAM security (an API key, no signature), weight 2 each. A key is valid for 60
 * minutes after its creation or last keepalive; POST while one is valid returns the same key
 * for the same API key and extends it, as Binance does. An unknown or expired key is -1125
 * "This listenKey does not exist.". When a key expires its streams receive
 * `{"e":"listenKeyExpired","E":"<time>","listenKey":"K"}` (E a string, as Binance documents
 * it) and close; a DELETE closes them without the event (Binance sends none on a normal close).
 *
 * Expiry is checked on every use (lazily) and by `sweep()`, which `start()` runs on a timer;
 * tests move the clock and call `sweep()` themselves.
 */
import { randomBytes } from 'node:crypto';
import { BinanceApiError, BinanceCode, binanceError, Errors } from '../binance/errors.ts';
import { jsonResponse, type Route, type RouteContext } from '../http/http-types.ts';
import type { Clock } from '../ports.ts';

/** How long a listen key lives without a keepalive: 60 minutes. */
export const LISTEN_KEY_TTL_MICROS = 60 * 60 * 1_000_000;

const LISTEN_KEY = /^[A-Za-z0-9]{60}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * True when `name` has a listen key's shape (60 letters and digits). Market stream names
 * (`btcusdt@trade`, ccxt's `/ws/0`) never do, so a `/ws/*` dispatcher can route on it.
 */
export function isListenKey(name: string): boolean {
  return LISTEN_KEY.test(name);
}

/** 60 random letters and digits (rejection sampling: every character equally likely). */
export function newListenKey(): string {
  let out = '';
  while (out.length < 60) {
    for (const b of randomBytes(64)) {
      // 248 = 4 x 62: bytes above it would favour the first letters.
      if (b < 248 && out.length < 60) out += ALPHANUMERIC[b % 62];
    }
  }
  return out;
}

/** A stream attached to a listen key: told when the key expires or is deleted. */
export interface ListenKeyStream {
  /** The key expired (no keepalive for 60 minutes) at `nowMicros`. */
  expired(nowMicros: number): void;
  /** The key was deleted. */
  closed(): void;
}

interface Entry {
  readonly listenKey: string;
  readonly keyId: number;
  readonly userId: number;
  expiresAtMicros: number;
  readonly streams: Set<ListenKeyStream>;
}

/** Settings of the registry. */
export interface ListenKeysOptions {
  /** Default 60 minutes. */
  readonly ttlMicros?: number;
}

/** Every valid listen key: by key and by the API key that created it. */
export class ListenKeys {
  private readonly clock: Clock;
  private readonly ttl: number;
  private readonly byListenKey = new Map<string, Entry>();
  private readonly byApiKey = new Map<number, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(clock: Clock, options: ListenKeysOptions = {}) {
    this.clock = clock;
    this.ttl = options.ttlMicros ?? LISTEN_KEY_TTL_MICROS;
    if (!(this.ttl > 0)) throw new RangeError('listen key lifetime must be positive');
  }

  /** Number of valid keys. */
  get size(): number {
    return this.byListenKey.size;
  }

  /** The API key's valid listen key, extended, or a new one. */
  create(keyId: number, userId: number): string {
    const now = this.clock.nowMicros();
    const current = this.byApiKey.get(keyId);
    if (current !== undefined && current.expiresAtMicros > now && current.userId === userId) {
      current.expiresAtMicros = now + this.ttl;
      return current.listenKey;
    }
    if (current !== undefined) this.expire(current, now);
    let listenKey = newListenKey();
    while (this.byListenKey.has(listenKey)) listenKey = newListenKey();
    const entry: Entry = { listenKey, keyId, userId, expiresAtMicros: now + this.ttl, streams: new Set() };
    this.byListenKey.set(listenKey, entry);
    this.byApiKey.set(keyId, entry);
    return listenKey;
  }

  /** Extends `listenKey` by the lifetime; false when the API key has no such valid key. */
  keepalive(keyId: number, listenKey: string): boolean {
    const e = this.valid(listenKey);
    if (e === undefined || e.keyId !== keyId) return false;
    e.expiresAtMicros = this.clock.nowMicros() + this.ttl;
    return true;
  }

  /** Deletes `listenKey` and closes its streams; false when the API key has no such valid key. */
  delete(keyId: number, listenKey: string): boolean {
    const e = this.valid(listenKey);
    if (e === undefined || e.keyId !== keyId) return false;
    this.remove(e);
    for (const s of [...e.streams]) s.closed();
    return true;
  }

  /** The user a valid listen key belongs to, or undefined. */
  owner(listenKey: string): number | undefined {
    return this.valid(listenKey)?.userId;
  }

  /** Attaches a stream to a valid key; returns the detach, or undefined when the key is not valid. */
  attach(listenKey: string, stream: ListenKeyStream): (() => void) | undefined {
    const e = this.valid(listenKey);
    if (e === undefined) return undefined;
    e.streams.add(stream);
    return () => {
      e.streams.delete(stream);
    };
  }

  /** Expires every key past its time (its streams are told). Returns how many expired. */
  sweep(): number {
    const now = this.clock.nowMicros();
    let n = 0;
    for (const e of [...this.byListenKey.values()]) {
      if (e.expiresAtMicros <= now) {
        this.expire(e, now);
        n++;
      }
    }
    return n;
  }

  /** Sweeps every `intervalMillis` (default 10 s) until `stop()`; the timer keeps no process alive. */
  start(intervalMillis = 10_000): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), intervalMillis);
    this.timer.unref();
  }

  /** Stops the timer; keys and streams stay as they are. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private valid(listenKey: string): Entry | undefined {
    const e = this.byListenKey.get(listenKey);
    if (e === undefined) return undefined;
    const now = this.clock.nowMicros();
    if (e.expiresAtMicros > now) return e;
    this.expire(e, now);
    return undefined;
  }

  private expire(e: Entry, now: number): void {
    this.remove(e);
    for (const s of [...e.streams]) s.expired(now);
  }

  private remove(e: Entry): void {
    this.byListenKey.delete(e.listenKey);
    if (this.byApiKey.get(e.keyId) === e) this.byApiKey.delete(e.keyId);
  }
}

/** What the listen key routes need. */
export interface ListenKeyRoutesDeps {
  readonly listenKeys: ListenKeys;
}

/** The API key behind a USER_STREAM request (the pipeline authenticated it). */
function callerOf(ctx: RouteContext): { keyId: number; userId: number } {
  if (ctx.auth === null) throw new Error('listen key route reached without an API key');
  return { keyId: ctx.auth.key.keyId, userId: ctx.auth.userId };
}

/** The `listenKey` parameter of PUT and DELETE: -1102 when missing, -1125 when not one. */
function listenKeyParam(params: ReadonlyMap<string, string>): string {
  const k = params.get('listenKey');
  if (k === undefined || k === '') throw new BinanceApiError(Errors.mandatory('listenKey'));
  if (!isListenKey(k)) throw new BinanceApiError(binanceError(BinanceCode.INVALID_LISTEN_KEY));
  return k;
}

/** POST, PUT and DELETE /api/v3/userDataStream, ready for the router. */
export function listenKeyRoutes(deps: ListenKeyRoutesDeps): Route[] {
  const { listenKeys } = deps;
  const path = '/api/v3/userDataStream';
  return [
    {
      method: 'POST',
      path,
      security: 'USER_STREAM',
      weight: 2,
      handler: async (_req, ctx) => {
        const { keyId, userId } = callerOf(ctx);
        return jsonResponse({ listenKey: listenKeys.create(keyId, userId) });
      },
    },
    {
      method: 'PUT',
      path,
      security: 'USER_STREAM',
      weight: 2,
      handler: async (req, ctx) => {
        const key = listenKeyParam(req.params);
        if (!listenKeys.keepalive(callerOf(ctx).keyId, key))
          throw new BinanceApiError(binanceError(BinanceCode.INVALID_LISTEN_KEY));
        return jsonResponse({});
      },
    },
    {
      method: 'DELETE',
      path,
      security: 'USER_STREAM',
      weight: 2,
      handler: async (req, ctx) => {
        const key = listenKeyParam(req.params);
        if (!listenKeys.delete(callerOf(ctx).keyId, key))
          throw new BinanceApiError(binanceError(BinanceCode.INVALID_LISTEN_KEY));
        return jsonResponse({});
      },
    },
  ];
}
