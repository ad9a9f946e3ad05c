/**
 * Every setting of the platform, from the environment, with its default. The README lists
 * them; `loadConfig` refuses a malformed value with a message naming the variable, so a typo
 * stops the start instead of running with a surprise.
 */
import path from 'node:path';
import type { RateLimitSettings } from '../gateway/auth/rate-limit.ts';
import { gatewaySettingsFromEnv } from '../gateway/http/settings.ts';

export const ROLES = ['gateway', 'core', 'persister'] as const;
export type Role = (typeof ROLES)[number];

/** The platform's settings. */
export interface PlatformConfig {
  /** Which parts this process runs (`--roles` or CROSSBOOK_ROLES; default all three). */
  readonly roles: ReadonlySet<Role>;
  /** Journal, snapshots, the PGlite database, development keys (CROSSBOOK_DATA_DIR, ./data). */
  readonly dataDir: string;
  /** Markets and shard map (CROSSBOOK_MARKETS_FILE, config/markets.json). */
  readonly marketsFile: string;
  /** PostgreSQL server; absent: PGlite in `<dataDir>/db` (DATABASE_URL). */
  readonly databaseUrl: string | undefined;
  /** Redis for the market data bus; absent: in process (REDIS_URL). */
  readonly redisUrl: string | undefined;
  /** Prefix of the bus's Redis channels and keys (CROSSBOOK_BUS_PREFIX, `crossbook:`): deployments sharing a Redis differ. */
  readonly busPrefix: string;
  /** Kinesis stream for trades and closed klines; absent: none (CROSSBOOK_KINESIS_STREAM). */
  readonly kinesisStream: string | undefined;
  /** Kinesis endpoint for a local stand-in (CROSSBOOK_KINESIS_ENDPOINT; default: AWS's, region from AWS_REGION). */
  readonly kinesisEndpoint: string | undefined;
  /** REST and WebSocket port (PORT, 8080) and address (HOST, 0.0.0.0). */
  readonly port: number;
  readonly host: string;
  /** The core's binary link: where a core listens (CROSSBOOK_LINK_PORT, 9100). */
  readonly linkPort: number;
  /** On a core without the gateway role: the admin API and /healthz (CROSSBOOK_HEALTH_PORT, 9101). */
  readonly healthPort: number;
  /** Where a gateway or persister without the core role finds it (CROSSBOOK_CORE_ADDRESSES, host:port). */
  readonly coreAddress: string | undefined;
  /** Shared secret of the link (CROSSBOOK_LINK_TOKEN; default: the admin token). */
  readonly linkToken: string | undefined;
  /** The admin API's token (CROSSBOOK_ADMIN_TOKEN; generated and printed when absent). */
  readonly adminToken: string | undefined;
  /** fdatasync every journal group (CROSSBOOK_FSYNC, true). */
  readonly fsync: boolean;
  /** Commands between snapshots (CROSSBOOK_SNAPSHOT_EVERY, 1000000). */
  readonly snapshotEvery: number;
  /** While it keeps up, the persister starts a batch at most this often (CROSSBOOK_PERSISTER_LINGER_MS, 20). */
  readonly persisterLingerMs: number;
  /** Default fees in parts per million (CROSSBOOK_MAKER_PPM / CROSSBOOK_TAKER_PPM, 1000 = 0.1%). */
  readonly makerPpm: number;
  readonly takerPpm: number;
  /** Trust X-Forwarded-For for client addresses (CROSSBOOK_TRUST_PROXY, false). */
  readonly trustProxy: boolean;
  /** Binance's rate limits as configured (CROSSBOOK_RATE_*, docs/GATEWAY.md; default Binance's own). */
  readonly rateLimits: RateLimitSettings;
  /** Largest request body (CROSSBOOK_BODY_LIMIT_BYTES, 65536). */
  readonly bodyLimitBytes: number;
  /** pino level (LOG_LEVEL, info). */
  readonly logLevel: LogLevel;
  /**
   * With DATABASE_URL, the persister runs on a thread of its own (CROSSBOOK_PERSISTER_THREAD,
   * true); false keeps it on the core's thread. PGlite keeps it there always (one thread has it).
   */
  readonly persisterThread: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function busPrefix(raw: string | undefined): string {
  if (raw === undefined || raw === '') return 'crossbook:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(raw))
    throw new ConfigError(`CROSSBOOK_BUS_PREFIX=${raw}: 1 to 64 of A-Z a-z 0-9 : _ . -`);
  return raw;
}

/** A setting that cannot be used. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(`${name}=${raw}: must be an integer in ${min}..${max}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}=${raw}: must be true or false`);
}

function logLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw))
    throw new ConfigError(`LOG_LEVEL=${raw}: must be one of ${LOG_LEVELS.join(', ')}`);
  return raw as LogLevel;
}

/** Parses a comma-separated role list ("gateway,core"). */
export function parseRoles(text: string): Set<Role> {
  const roles = new Set<Role>();
  for (const part of text.split(',').map((s) => s.trim())) {
    if (part === '') continue;
    if (!(ROLES as readonly string[]).includes(part))
      throw new ConfigError(`unknown role "${part}": the roles are ${ROLES.join(', ')}`);
    roles.add(part as Role);
  }
  if (roles.size === 0) throw new ConfigError('no role given');
  return roles;
}

/** Reads the settings from the environment and the command line (`--roles a,b`). */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = [],
): PlatformConfig {
  let rolesText = env.CROSSBOOK_ROLES ?? ROLES.join(',');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--roles') {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError('--roles needs a value, e.g. --roles gateway');
      rolesText = next;
      i++;
    } else if (a.startsWith('--roles=')) rolesText = a.slice('--roles='.length);
    else throw new ConfigError(`unknown argument ${a}`);
  }
  const roles = parseRoles(rolesText);
  const coreAddress = env.CROSSBOOK_CORE_ADDRESSES?.split(',')[0]?.trim() || undefined;
  if (!roles.has('core') && coreAddress === undefined)
    throw new ConfigError(
      'without the core role, CROSSBOOK_CORE_ADDRESSES must say where the core is (host:port)',
    );
  if (coreAddress !== undefined && !/^[\w.-]+:\d{1,5}$/.test(coreAddress))
    throw new ConfigError(`CROSSBOOK_CORE_ADDRESSES=${coreAddress}: must be host:port`);
  let gateway: ReturnType<typeof gatewaySettingsFromEnv>;
  try {
    gateway = gatewaySettingsFromEnv(env);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return {
    roles,
    dataDir: path.resolve(env.CROSSBOOK_DATA_DIR || 'data'),
    marketsFile: path.resolve(env.CROSSBOOK_MARKETS_FILE || 'config/markets.json'),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    busPrefix: busPrefix(env.CROSSBOOK_BUS_PREFIX),
    kinesisStream: env.CROSSBOOK_KINESIS_STREAM || undefined,
    kinesisEndpoint: env.CROSSBOOK_KINESIS_ENDPOINT || undefined,
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    linkPort: int(env, 'CROSSBOOK_LINK_PORT', 9100, 0, 65535),
    healthPort: int(env, 'CROSSBOOK_HEALTH_PORT', 9101, 0, 65535),
    coreAddress,
    linkToken: env.CROSSBOOK_LINK_TOKEN || undefined,
    adminToken: env.CROSSBOOK_ADMIN_TOKEN || undefined,
    fsync: bool(env, 'CROSSBOOK_FSYNC', true),
    snapshotEvery: int(env, 'CROSSBOOK_SNAPSHOT_EVERY', 1_000_000, 0, Number.MAX_SAFE_INTEGER),
    persisterLingerMs: int(env, 'CROSSBOOK_PERSISTER_LINGER_MS', 20, 0, 60_000),
    makerPpm: int(env, 'CROSSBOOK_MAKER_PPM', 1000, 0, 100_000),
    takerPpm: int(env, 'CROSSBOOK_TAKER_PPM', 1000, 0, 100_000),
    trustProxy: bool(env, 'CROSSBOOK_TRUST_PROXY', false),
    rateLimits: gateway.rateLimits,
    bodyLimitBytes: gateway.bodyLimitBytes,
    logLevel: logLevel(env.LOG_LEVEL),
    persisterThread: bool(env, 'CROSSBOOK_PERSISTER_THREAD', true),
  };
}
