/**
 * WebSocket sessions that outlive their gateway. A gateway saves each market data connection's
 * state (its subscriptions and properties) under a session id it gives the client; when that gateway
 * dies, the client reconnects to any other with the id and gets its subscriptions back.
 *
 * Stored in the bus's cache, so it has the bus's two adapters: in process (one gateway; sessions
 * survive a reconnect, not a restart) and Redis (shared by every gateway; sessions survive any one of
 * them). Each save refreshes the TTL: a session nobody saves for `ttlMs` is forgotten.
 */
import { randomBytes } from 'node:crypto';
import { type BusCache, BusError } from './bus.port.ts';
import { printable } from './channels.ts';

/** A WebSocket session's state. */
export interface WsSession {
  /** The stream names the client is subscribed to (`btcusdt@trade`), in subscription order. */
  readonly subscriptions: readonly string[];
  /** Connection properties set with SET_PROPERTY (`combined`), as Binance names them. */
  readonly properties: Readonly<Record<string, string | number | boolean>>;
  /** When the session was first created, in ms since the epoch. */
  readonly createdAtMs: number;
}

/** Options of the session store. */
export interface SessionStoreOptions {
  /** Default time to live of a saved session, in ms (default 24 h, the longest a Binance connection lives). */
  readonly ttlMs?: number;
}

/** Most subscriptions per connection (Binance allows 1024 streams). */
export const MAX_SESSION_SUBSCRIPTIONS = 1024;
const MAX_PROPERTIES = 32;
const SESSION_ID_RE = /^[A-Za-z0-9_-]{16,128}$/;
const STREAM_RE = /^[\x21-\x7e]{1,200}$/;
const PROPERTY_RE = /^[A-Za-z0-9_]{1,64}$/;
const KEY_PREFIX = 'ws-session:';

/** A new random session id (128 bits, base64url). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** WebSocket sessions with a TTL, over a bus cache. */
export class SessionStore {
  readonly #cache: BusCache;
  readonly #ttlMs: number;

  constructor(cache: BusCache, options: SessionStoreOptions = {}) {
    this.#cache = cache;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    checkTtl(this.#ttlMs);
  }

  /** Saves (or replaces) session `id`, kept for `ttlMs` (default: the store's). Throws `bus.invalid_argument`. */
  async save(id: string, session: WsSession, ttlMs = this.#ttlMs): Promise<void> {
    checkId(id);
    checkTtl(ttlMs);
    const clean = checkSession(session);
    await this.#cache.set(KEY_PREFIX + id, JSON.stringify(clean), { ttlMs });
  }

  /** Session `id`, or undefined when unknown, expired, deleted or unreadable. */
  async load(id: string): Promise<WsSession | undefined> {
    checkId(id);
    const entry = await this.#cache.get(KEY_PREFIX + id);
    if (!entry) return undefined;
    try {
      const parsed: unknown = JSON.parse(entry.value.toString());
      return checkSession(parsed as WsSession);
    } catch {
      return undefined;
    }
  }

  /** Deletes session `id` (the client closed it); true when it existed. */
  async delete(id: string): Promise<boolean> {
    checkId(id);
    return this.#cache.delete(KEY_PREFIX + id);
  }
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !SESSION_ID_RE.test(id))
    throw new BusError(
      'bus.invalid_argument',
      `session id "${printable(id)}" must be 16..128 characters of A-Z a-z 0-9 _ -`,
    );
}

function checkTtl(ttlMs: unknown): void {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new BusError('bus.invalid_argument', `ttlMs ${String(ttlMs)} must be a positive integer`);
}

/** Checks a session and returns a plain copy of it (no extra fields). */
function checkSession(s: WsSession): WsSession {
  const bad = (why: string) => new BusError('bus.invalid_argument', `invalid session: ${why}`);
  if (typeof s !== 'object' || s === null) throw bad('not an object');
  const { subscriptions, properties, createdAtMs } = s;
  if (!Array.isArray(subscriptions) || subscriptions.length > MAX_SESSION_SUBSCRIPTIONS)
    throw bad(`subscriptions must be a list of at most ${MAX_SESSION_SUBSCRIPTIONS} stream names`);
  for (const stream of subscriptions)
    if (typeof stream !== 'string' || !STREAM_RE.test(stream))
      throw bad(`"${printable(stream)}" is not a stream name`);
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
    throw bad('properties must be an object');
  const props: Record<string, string | number | boolean> = {};
  const entries = Object.entries(properties);
  if (entries.length > MAX_PROPERTIES) throw bad(`at most ${MAX_PROPERTIES} properties`);
  for (const [name, value] of entries) {
    if (!PROPERTY_RE.test(name)) throw bad(`property name "${printable(name)}"`);
    const ok =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isSafeInteger(value)) ||
      (typeof value === 'string' && value.length <= 256);
    if (!ok)
      throw bad(`property ${name} must be a boolean, a safe integer or a string of at most 256 characters`);
    props[name] = value;
  }
  if (typeof createdAtMs !== 'number' || !Number.isSafeInteger(createdAtMs) || createdAtMs < 0)
    throw bad('createdAtMs must be a safe integer >= 0');
  return { subscriptions: [...subscriptions], properties: props, createdAtMs };
}
