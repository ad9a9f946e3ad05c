/**
 * Rate limits as Binance applies them:
 * - REQUEST_WEIGHT per IP (6000 per minute by default): every response carries
 *   `X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter)`; over the limit -> 429 -1003 with
 *   `Retry-After` (seconds until the window resets).
 * - ORDERS per account (100 per 10 s and 200,000 per day by default): order responses carry
 *   `X-MBX-ORDER-COUNT-(intervalNum)(intervalLetter)`; over the limit -> 429 -1015 (the refused
 *   order is not counted).
 * - An IP that keeps sending after 429s (more than `rejectionsBeforeBan` 429s within the window
 *   that caused them) is banned: 418 -1003 "IP banned until <ms>" with `Retry-After`, for 2
 *   minutes the first time, doubling with each repeat offence up to 3 days. Offences are
 *   forgotten after `offenceMemoryMillis` without a new ban.
 *
 * Windows are fixed and aligned to the epoch (a minute window resets at each full minute, a day
 * window at 00:00 UTC), as Binance's counters are. Memory stays bounded: a sweep, at most once
 * per shortest interval, drops every IP and account whose windows have all ended and every ban
 * record past its memory. Time comes from the injected clock, so tests drive it.
 */
import { type BinanceError, Errors } from '../binance/errors.ts';

/** Binance's interval names. */
export type RateInterval = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';

const INTERVAL_MILLIS: Readonly<Record<RateInterval, number>> = {
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};
const INTERVAL_LETTER: Readonly<Record<RateInterval, string>> = {
  SECOND: 'S',
  MINUTE: 'M',
  HOUR: 'H',
  DAY: 'D',
};

/** One limit: at most `limit` per `intervalNum` x `interval`. */
export interface RateLimitRule {
  readonly interval: RateInterval;
  readonly intervalNum: number;
  readonly limit: number;
}

/** When an IP is banned, and for how long. */
export interface BanPolicy {
  /** 429 replies an IP may receive within the window that caused them before it is banned. */
  readonly rejectionsBeforeBan: number;
  /** The first ban's length (Binance: 2 minutes). */
  readonly firstBanMillis: number;
  /** The longest ban (Binance: 3 days); each repeat offence doubles the previous length up to this. */
  readonly maxBanMillis: number;
  /** How long after a ban ends its offence still counts towards the next ban's length. */
  readonly offenceMemoryMillis: number;
}

/** Every limit the gateway enforces. */
export interface RateLimitSettings {
  readonly requestWeight: readonly RateLimitRule[];
  readonly orders: readonly RateLimitRule[];
  readonly ban: BanPolicy;
}

/** Binance's spot limits (2026). */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 6000 }],
  orders: [
    { interval: 'SECOND', intervalNum: 10, limit: 100 },
    { interval: 'DAY', intervalNum: 1, limit: 200_000 },
  ],
  ban: {
    rejectionsBeforeBan: 100,
    firstBanMillis: 2 * 60_000,
    maxBanMillis: 3 * 86_400_000,
    offenceMemoryMillis: 7 * 86_400_000,
  },
};

/** A limit as exchangeInfo's `rateLimits` lists it. */
export interface RateLimitEntry {
  readonly rateLimitType: 'REQUEST_WEIGHT' | 'ORDERS';
  readonly interval: RateInterval;
  readonly intervalNum: number;
  readonly limit: number;
}

/** An ORDERS limit with the account's current count (GET /api/v3/rateLimit/order). */
export interface OrderLimitUsage extends RateLimitEntry {
  readonly count: number;
}

/** The outcome of charging a request or an order: headers to send either way. */
export type RateVerdict =
  | { readonly ok: true; readonly headers: Record<string, string> }
  | { readonly ok: false; readonly error: BinanceError; readonly headers: Record<string, string> };

/** `X-MBX-USED-WEIGHT-1M`-style suffix of a rule: intervalNum then the interval's letter. */
export function intervalSuffix(rule: RateLimitRule): string {
  return `${rule.intervalNum}${INTERVAL_LETTER[rule.interval]}`;
}

/** The interval as -1015 names it: "TEN_SECONDS", "DAY", "MINUTE", else e.g. "5_MINUTES". */
function orderIntervalName(rule: RateLimitRule): string {
  if (rule.intervalNum === 1) return rule.interval;
  if (rule.intervalNum === 10 && rule.interval === 'SECOND') return 'TEN_SECONDS';
  return `${rule.intervalNum}_${rule.interval}S`;
}

function ruleMillis(rule: RateLimitRule): number {
  return INTERVAL_MILLIS[rule.interval] * rule.intervalNum;
}

function checkRule(kind: string, rule: RateLimitRule): void {
  if (!Object.hasOwn(INTERVAL_MILLIS, rule.interval))
    throw new RangeError(`${kind}: unknown interval ${rule.interval}`);
  if (!Number.isSafeInteger(rule.intervalNum) || rule.intervalNum < 1)
    throw new RangeError(`${kind}: intervalNum must be a positive integer`);
  if (!Number.isSafeInteger(rule.limit) || rule.limit < 1)
    throw new RangeError(`${kind}: limit must be a positive integer`);
}

function retryAfterSeconds(millis: number): string {
  return String(Math.max(1, Math.ceil(millis / 1000)));
}

/** Fixed windows for a list of rules: the start of each rule's current window and its count. */
interface Windows {
  readonly starts: number[];
  readonly counts: number[];
}

interface IpState extends Windows {
  /** 429s answered since the window that caused them began. */
  rejections: number;
  /** When those 429s stop counting (the end of the window that caused them). */
  rejectionsUntil: number;
}

interface BanRecord {
  readonly offences: number;
  readonly bannedUntil: number;
}

/** Tracks request weight per IP and order counts per account (see the module comment). */
export class RateLimiter {
  private readonly settings: RateLimitSettings;
  private readonly nowMillis: () => number;
  private readonly weightMillis: readonly number[];
  private readonly orderMillis: readonly number[];
  /** The X-MBX-USED-WEIGHT-* and X-MBX-ORDER-COUNT-* header names, one per rule (built once). */
  private readonly weightHeaderNames: readonly string[];
  private readonly orderHeaderNames: readonly string[];
  private readonly sweepEveryMillis: number;
  private readonly ips = new Map<string, IpState>();
  private readonly accounts = new Map<number, Windows>();
  private readonly bans = new Map<string, BanRecord>();
  private lastSweep = 0;

  /** Throws RangeError for a rule or ban policy that makes no sense (a configuration error). */
  constructor(settings: RateLimitSettings, nowMillis: () => number) {
    for (const r of settings.requestWeight) checkRule('REQUEST_WEIGHT', r);
    for (const r of settings.orders) checkRule('ORDERS', r);
    const b = settings.ban;
    if (!Number.isSafeInteger(b.rejectionsBeforeBan) || b.rejectionsBeforeBan < 0)
      throw new RangeError('ban: rejectionsBeforeBan must be a non-negative integer');
    if (!(b.firstBanMillis > 0 && b.maxBanMillis >= b.firstBanMillis && b.offenceMemoryMillis >= 0))
      throw new RangeError('ban: need 0 < firstBanMillis <= maxBanMillis and offenceMemoryMillis >= 0');
    this.settings = settings;
    this.nowMillis = nowMillis;
    this.weightMillis = settings.requestWeight.map(ruleMillis);
    this.orderMillis = settings.orders.map(ruleMillis);
    this.weightHeaderNames = settings.requestWeight.map((r) => `X-MBX-USED-WEIGHT-${intervalSuffix(r)}`);
    this.orderHeaderNames = settings.orders.map((r) => `X-MBX-ORDER-COUNT-${intervalSuffix(r)}`);
    this.sweepEveryMillis = Math.max(1000, Math.min(60_000, ...this.weightMillis, ...this.orderMillis));
  }

  /** The limits as exchangeInfo lists them. */
  rateLimits(): RateLimitEntry[] {
    return [
      ...this.settings.requestWeight.map((r) => entry('REQUEST_WEIGHT', r)),
      ...this.settings.orders.map((r) => entry('ORDERS', r)),
    ];
  }

  /** Charges `weight` to `ip`: ok, or 429 (over a limit) / 418 (banned) with Retry-After. */
  chargeIp(ip: string, weight: number): RateVerdict {
    const now = this.nowMillis();
    this.maybeSweep(now);
    const state = this.ipState(ip, now);
    const ban = this.bans.get(ip);
    if (ban !== undefined && ban.bannedUntil > now) {
      const headers = this.weightHeaders(state);
      headers['Retry-After'] = retryAfterSeconds(ban.bannedUntil - now);
      return { ok: false, error: Errors.ipBanned(ban.bannedUntil), headers };
    }
    const rules = this.settings.requestWeight;
    let exceeded = -1;
    for (let i = 0; i < rules.length; i++) {
      state.counts[i]! += weight;
      if (exceeded < 0 && state.counts[i]! > rules[i]!.limit) exceeded = i;
    }
    const headers = this.weightHeaders(state);
    if (exceeded < 0) return { ok: true, headers };

    const rule = rules[exceeded]!;
    const windowEnd = state.starts[exceeded]! + this.weightMillis[exceeded]!;
    if (now >= state.rejectionsUntil) state.rejections = 0;
    state.rejections++;
    state.rejectionsUntil = Math.max(state.rejectionsUntil, windowEnd);
    if (state.rejections > this.settings.ban.rejectionsBeforeBan) {
      const until = this.ban(ip, now);
      state.rejections = 0;
      headers['Retry-After'] = retryAfterSeconds(until - now);
      return { ok: false, error: Errors.ipBanned(until), headers };
    }
    headers['Retry-After'] = retryAfterSeconds(windowEnd - now);
    return {
      ok: false,
      error: Errors.tooMuchWeight(rule.limit, `${rule.intervalNum} ${rule.interval}`),
      headers,
    };
  }

  /** Counts one new order for `userId`: ok, or 429 -1015 (not counted) when a limit is reached. */
  chargeOrder(userId: number): RateVerdict {
    const now = this.nowMillis();
    this.maybeSweep(now);
    const state = this.accountState(userId, now);
    const rules = this.settings.orders;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (state.counts[i]! + 1 > rule.limit) {
        const headers = this.orderHeaders(state);
        headers['Retry-After'] = retryAfterSeconds(state.starts[i]! + this.orderMillis[i]! - now);
        return { ok: false, error: Errors.tooManyOrders(rule.limit, orderIntervalName(rule)), headers };
      }
    }
    for (let i = 0; i < rules.length; i++) state.counts[i]!++;
    return { ok: true, headers: this.orderHeaders(state) };
  }

  /** The account's current order counts against each ORDERS limit. */
  orderUsage(userId: number): OrderLimitUsage[] {
    const state = this.accountState(userId, this.nowMillis());
    return this.settings.orders.map((r, i) => ({ ...entry('ORDERS', r), count: state.counts[i]! }));
  }

  /** How many IPs, accounts and ban records are tracked (memory stays bounded; tests check it). */
  size(): { ips: number; accounts: number; bans: number } {
    return { ips: this.ips.size, accounts: this.accounts.size, bans: this.bans.size };
  }

  private ban(ip: string, now: number): number {
    const policy = this.settings.ban;
    const previous = this.bans.get(ip);
    const offences =
      previous !== undefined && now <= previous.bannedUntil + policy.offenceMemoryMillis
        ? previous.offences
        : 0;
    const length = Math.min(policy.firstBanMillis * 2 ** offences, policy.maxBanMillis);
    const bannedUntil = now + length;
    this.bans.set(ip, { offences: offences + 1, bannedUntil });
    return bannedUntil;
  }

  private ipState(ip: string, now: number): IpState {
    let state = this.ips.get(ip);
    if (state === undefined) {
      state = { ...freshWindows(this.weightMillis, now), rejections: 0, rejectionsUntil: 0 };
      this.ips.set(ip, state);
    } else roll(state, this.weightMillis, now);
    return state;
  }

  private accountState(userId: number, now: number): Windows {
    let state = this.accounts.get(userId);
    if (state === undefined) {
      state = freshWindows(this.orderMillis, now);
      this.accounts.set(userId, state);
    } else roll(state, this.orderMillis, now);
    return state;
  }

  private weightHeaders(state: Windows): Record<string, string> {
    const headers: Record<string, string> = {};
    const names = this.weightHeaderNames;
    for (let i = 0; i < names.length; i++) headers[names[i]!] = String(state.counts[i]);
    return headers;
  }

  private orderHeaders(state: Windows): Record<string, string> {
    const headers: Record<string, string> = {};
    const names = this.orderHeaderNames;
    for (let i = 0; i < names.length; i++) headers[names[i]!] = String(state.counts[i]);
    return headers;
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep < this.sweepEveryMillis) return;
    this.lastSweep = now;
    for (const [ip, s] of this.ips) {
      if (allEnded(s, this.weightMillis, now) && s.rejectionsUntil <= now) this.ips.delete(ip);
    }
    for (const [user, s] of this.accounts) {
      if (allEnded(s, this.orderMillis, now)) this.accounts.delete(user);
    }
    const memory = this.settings.ban.offenceMemoryMillis;
    for (const [ip, b] of this.bans) {
      if (now > b.bannedUntil + memory) this.bans.delete(ip);
    }
  }
}

function entry(rateLimitType: RateLimitEntry['rateLimitType'], r: RateLimitRule): RateLimitEntry {
  return { rateLimitType, interval: r.interval, intervalNum: r.intervalNum, limit: r.limit };
}

function windowStart(now: number, millis: number): number {
  return now - (now % millis);
}

function freshWindows(millis: readonly number[], now: number): Windows {
  return { starts: millis.map((m) => windowStart(now, m)), counts: millis.map(() => 0) };
}

/** Moves every window that has ended to the current one, starting its count from zero. */
function roll(w: Windows, millis: readonly number[], now: number): void {
  for (let i = 0; i < millis.length; i++) {
    if (now >= w.starts[i]! + millis[i]!) {
      w.starts[i] = windowStart(now, millis[i]!);
      w.counts[i] = 0;
    }
  }
}

function allEnded(w: Windows, millis: readonly number[], now: number): boolean {
  for (let i = 0; i < millis.length; i++) if (now < w.starts[i]! + millis[i]!) return false;
  return true;
}
