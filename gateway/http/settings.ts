/**
 * The gateway's settings from environment variables (documented in docs/GATEWAY.md). A value
 * that cannot be used stops the start with a message naming the variable, never silently falls
 * back to a default.
 */
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../auth/rate-limit.ts';

/** Settings read from the environment. */
export interface GatewaySettings {
  /** PORT (default 8080; 0 picks a free port). */
  readonly port: number;
  /** CROSSBOOK_TRUST_PROXY: proxies whose X-Forwarded-For entries are believed (default 0). */
  readonly trustProxy: number;
  /** CROSSBOOK_BODY_LIMIT_BYTES (default 65536). */
  readonly bodyLimitBytes: number;
  readonly rateLimits: RateLimitSettings;
}

/** The default request body limit: 64 KiB (a signed order is a few hundred bytes). */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * How long a request's body may take to arrive after its headers: 5 s (a 64 KiB body takes
 * milliseconds). Past it the request is answered 408 and the connection closes, so that a body
 * the server cannot frame (uWS does not parse chunk extensions, for one) is never met with
 * silence. Shorter than uWS's own 10 s idle timeout, which would close without a word.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 5_000;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

/** CROSSBOOK_TRUST_PROXY: "false"/"0" none, "true" one proxy, or a number of proxies. */
function trustProxy(env: NodeJS.ProcessEnv): number {
  const raw = env['CROSSBOOK_TRUST_PROXY']?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'false') return 0;
  if (raw === 'true') return 1;
  return integer(env, 'CROSSBOOK_TRUST_PROXY', 0, 0, 10);
}

/** Reads the settings (throws RangeError naming the variable for an unusable value). */
export function gatewaySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  const d = DEFAULT_RATE_LIMITS;
  const weightPerMinute = integer(env, 'CROSSBOOK_RATE_WEIGHT_PER_MINUTE', 6000, 1, 1e9);
  const ordersPer10s = integer(env, 'CROSSBOOK_RATE_ORDERS_PER_10S', 100, 1, 1e9);
  const ordersPerDay = integer(env, 'CROSSBOOK_RATE_ORDERS_PER_DAY', 200_000, 1, 1e12);
  const banAfter = integer(env, 'CROSSBOOK_RATE_BAN_AFTER_429S', d.ban.rejectionsBeforeBan, 0, 1e9);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    trustProxy: trustProxy(env),
    bodyLimitBytes: integer(
      env,
      'CROSSBOOK_BODY_LIMIT_BYTES',
      DEFAULT_BODY_LIMIT_BYTES,
      1024,
      16 * 1024 * 1024,
    ),
    rateLimits: {
      requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: weightPerMinute }],
      orders: [
        { interval: 'SECOND', intervalNum: 10, limit: ordersPer10s },
        { interval: 'DAY', intervalNum: 1, limit: ordersPerDay },
      ],
      ban: { ...d.ban, rejectionsBeforeBan: banAfter },
    },
  };
}
