/**
 * A cache of API key lookups for the gateway, kept true by polling `auth_versions`.
 *
 * Every signed request needs its key (secret, permissions, allow-list, the owner's status and
 * KYC tier). Read from the database each time, that is a query and a decryption per request;
 * with a fixed time to live it is still one per active key per period, and a change (a key
 * deleted, a user disabled) shows only after the period.
 *
 * Here a key read stays cached for up to `maxAgeMs` (a minute) while the cache knows about
 * every change: every `pollMs` (250 ms) it reads the users whose `auth_versions` row changed
 * (triggers bump it on every change a lookup could see; migration 2026_11_29_03_00_00) and
 * drops the cached keys of each user now at a later version than the key was read at. The
 * poll reads back from `overlapMs` (5 s) before the latest change it has seen, by the
 * database's own clock, so a change that commits a little after its timestamp is still seen,
 * and the gateway's clock never meets the database's.
 *
 * When the polls fail (the database out of reach) for `staleAfterMs` (2 s), entries count only
 * while younger than that, the fixed time to live of before. An unknown key (null) is kept
 * that long too. A lookup that finds the user already at a later version than it read is not
 * cached (a change raced it).
 */
import type { AuthChange, ResolvedApiKey } from './api-key.service.ts';

export interface ApiKeyCacheOptions {
  /** Reads a key from the database (`resolveApiKey`). */
  readonly resolve: (apiKey: string) => Promise<ResolvedApiKey | null>;
  /**
   * The users changed after `since`; null: in the last `overlapMs` by the database's clock
   * (`authChangesSince`).
   */
  readonly changesSince: (since: Date | null) => Promise<AuthChange[]>;
  readonly pollMs?: number;
  readonly overlapMs?: number;
  readonly maxAgeMs?: number;
  readonly staleAfterMs?: number;
  /** Entries beyond this many: the cache starts afresh. */
  readonly maxEntries?: number;
  /** Milliseconds, monotonic (tests pass their own). */
  readonly now?: () => number;
  /** A failed poll (the cache goes on; entries age out as above). */
  readonly onPollError?: (e: unknown) => void;
}

interface Entry {
  readonly at: number;
  readonly key: ResolvedApiKey | null;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  /** The cached api keys of each user. */
  private readonly byUser = new Map<number, Set<string>>();
  /** Each changed user's latest version the polls have seen. */
  private readonly versions = new Map<number, number>();
  /**
   * The latest `changed_at` seen. Null: none yet, and the poll reads the last `overlapMs` by
   * the database's clock (never the whole table: what changed before the cache read a key is
   * in what it read).
   */
  private latest: Date | null = null;
  private lastPollOkAt = Number.NEGATIVE_INFINITY;
  private polling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly pollMs: number;
  private readonly overlapMs: number;
  private readonly maxAgeMs: number;
  private readonly staleAfterMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyCacheOptions) {
    this.pollMs = options.pollMs ?? 250;
    this.overlapMs = options.overlapMs ?? 5_000;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.staleAfterMs = options.staleAfterMs ?? 2_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Polls every `pollMs` until `stop` (the timer does not hold the process open). */
  start(): void {
    if (this.timer !== null) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for a poll in flight. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  /**
   * The cached answer for `apiKey` while it is known to be current (null: known not to exist),
   * undefined when only `resolveApiKey` can say: the synchronous path of every request after a
   * key's first.
   */
  cachedApiKey(apiKey: string): ResolvedApiKey | null | undefined {
    const hit = this.entries.get(apiKey);
    return hit !== undefined && this.fresh(hit, this.now()) ? hit.key : undefined;
  }

  /** The key named `apiKey`: cached while known to be current, else read. */
  async resolveApiKey(apiKey: string): Promise<ResolvedApiKey | null> {
    const now = this.now();
    const hit = this.entries.get(apiKey);
    if (hit !== undefined && this.fresh(hit, now)) return hit.key;
    const key = await this.options.resolve(apiKey);
    if (key !== null && (this.versions.get(key.userId) ?? 0) > key.authVersion) return key;
    if (this.entries.size >= this.maxEntries) this.clear();
    if (hit?.key != null) this.unindex(apiKey, hit.key.userId);
    this.entries.set(apiKey, { at: now, key });
    if (key !== null) {
      const keys = this.byUser.get(key.userId);
      if (keys === undefined) this.byUser.set(key.userId, new Set([apiKey]));
      else keys.add(apiKey);
    }
    return key;
  }

  /** One poll (the timer's; tests call it directly). Never rejects. */
  poll(): Promise<void> {
    if (this.polling !== null) return this.polling;
    const started = this.now();
    this.polling = this.options
      .changesSince(this.latest === null ? null : new Date(this.latest.getTime() - this.overlapMs))
      .then((changes) => {
        for (const c of changes) this.apply(c);
        this.lastPollOkAt = started;
      })
      .catch((e: unknown) => this.options.onPollError?.(e))
      .finally(() => {
        this.polling = null;
      });
    return this.polling;
  }

  /** Entries cached (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  private fresh(e: Entry, now: number): boolean {
    const age = now - e.at;
    if (age < this.staleAfterMs) return true;
    // Longer only for a known key, read after the last good poll began was at most
    // staleAfterMs ago: every change since it was read is then either in the entry or seen.
    return e.key !== null && age < this.maxAgeMs && now - this.lastPollOkAt < this.staleAfterMs;
  }

  private apply(c: AuthChange): void {
    if (this.latest === null || c.changedAt > this.latest) this.latest = c.changedAt;
    const known = this.versions.get(c.userId);
    if (known !== undefined && known >= c.version) return;
    this.versions.set(c.userId, c.version);
    const keys = this.byUser.get(c.userId);
    if (keys === undefined) return;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e?.key != null && e.key.authVersion < c.version) {
        this.entries.delete(k);
        keys.delete(k);
      }
    }
    if (keys.size === 0) this.byUser.delete(c.userId);
  }

  private unindex(apiKey: string, userId: number): void {
    const keys = this.byUser.get(userId);
    keys?.delete(apiKey);
    if (keys?.size === 0) this.byUser.delete(userId);
  }

  private clear(): void {
    this.entries.clear();
    this.byUser.clear();
  }
}
