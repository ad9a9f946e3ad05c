/**
 * The composition root: starts the roles this process runs, wired as ARCHITECTURE.md draws
 * them, top to bottom in the order the data flows.
 *
 *   1. accounts database (PGlite in <dataDir>/db, or DATABASE_URL) and the master key
 *   2. persister (when this process persists): where the database says it stopped
 *   3. core (journal, snapshots, shard workers), the persister and the market data builder as
 *      its durable consumers, the binary link for gateways and persisters elsewhere; the
 *      market data bus (in process, or Redis with REDIS_URL) it publishes on
 *   4. the engine as the gateway sees it: the core in process, or the link
 *   5. gateway: REST, WebSocket, the admin API (where the core runs)
 *
 * `close()` undoes it in reverse: stop accepting, drain the core (its in-flight commands reach
 * the journal and the persister), flush the persister, close the database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { pino } from 'pino';
import { loadMasterKey } from '../accounts/crypto/master-key.ts';
import { type AccountsDb, openDatabase } from '../accounts/db/database.ts';
import { AccountsError } from '../accounts/errors.ts';
import { DEFAULT_FUNDS_CONFIG, type FundsConfig } from '../accounts/funds/funds-config.ts';
import { Persister } from '../accounts/history/persister.ts';
import { type HistoryPersister, PersisterThread } from '../accounts/history/persister-thread.ts';
import {
  ApiKeyCache,
  authChangesSince,
  type IdentityContext,
  resolveApiKey,
} from '../accounts/identity/index.ts';
import { createPasswordHasher, type PasswordHasher } from '../accounts/identity/password-hasher.ts';
import { createLogger } from '../accounts/logger.ts';
import { coreEnginePort } from '../accounts/ports/core-engine.adapter.ts';
import type { EnginePort } from '../accounts/ports/engine.port.ts';
import { postgresTradeStore } from '../accounts/trade-store/postgres.adapter.ts';
import { Core, loadMarketsFile, type Markets, type MarketsFile } from '../engine/index.ts';
import { adminRoutes } from '../gateway/api/admin.routes.ts';
import { systemClock } from '../gateway/auth/timing.ts';
import { jsonResponse, type Route } from '../gateway/http/http-types.ts';
import type { Bus } from '../gateway/market-data/bus/bus.port.ts';
import { openBus } from '../gateway/market-data/bus/open-bus.ts';
import { KinesisSink, kinesisClient } from '../gateway/market-data/kinesis/kinesis.adapter.ts';
import type { ApiKeyLookup } from '../gateway/ports.ts';
import { type Gateway, startGateway } from '../gateway/server.ts';
import { adminOps } from './admin-ops.ts';
import { ConfigError, type PlatformConfig } from './config.ts';
import { type CoreClient, localCoreClient } from './link/core-client.ts';
import { connectCoreLink } from './link/link-client.ts';
import { type CoreLinkServer, serveCoreLink } from './link/link-server.ts';
import { type MarketDataService, marketDataService, tradeStoreHistory } from './market-data.ts';

/** A running platform: whatever roles it runs. */
export interface Platform {
  readonly config: PlatformConfig;
  readonly markets: Markets;
  readonly db: AccountsDb;
  readonly core: Core | null;
  readonly persister: HistoryPersister | null;
  /** The market data builder (where the core runs). */
  readonly marketData: MarketDataService | null;
  /** The market data bus this process publishes on (core) and follows (gateway). */
  readonly bus: Bus;
  readonly client: CoreClient;
  readonly gateway: Gateway | null;
  readonly link: CoreLinkServer | null;
  readonly adminToken: string;
  readonly logger: pino.Logger;
  close(): Promise<void>;
}

/** What a caller (tests, embedding) may supply instead of building it. */
export interface PlatformOverrides {
  /** Share one accounts database between platforms of one process (tests of split roles). */
  readonly db?: AccountsDb;
  /** Share one market data bus between platforms of one process (tests of split roles without Redis). */
  readonly bus?: Bus;
  readonly logger?: pino.Logger;
  readonly funds?: FundsConfig;
  /** Password hashing cost (tests lower it). */
  readonly hasher?: PasswordHasher;
  /** The gateway's API beyond /healthz and the admin API (`gatewayRoutes` in routes.ts). */
  readonly routes?: (p: PlatformParts) => GatewayWiring;
}

/** What the gateway serves: HTTP routes, then WebSocket routes attached to the running server. */
export interface GatewayWiring {
  readonly routes: readonly Route[];
  /** Resolves once the wiring can answer (the order view seeded); the gateway starts after it. */
  readonly ready?: Promise<void>;
  attach?(gateway: Gateway): void;
  close?(): void;
}

/** The parts route builders need. */
export interface PlatformParts {
  readonly markets: Markets;
  readonly db: AccountsDb;
  readonly client: CoreClient;
  readonly identity: IdentityContext;
  readonly funds: FundsConfig;
  /** The platform's default fee rates (per-user rates override them). */
  readonly fees: { readonly makerPpm: number; readonly takerPpm: number };
  readonly logger: pino.Logger;
  readonly apiKeys: ApiKeyLookup;
  readonly trustProxy: boolean;
  /** The engine as accounts see it (funds commands, and balances where the core runs). */
  readonly engine: EnginePort;
  /** The market data bus (WebSocket streams follow it). */
  readonly bus: Bus;
  /**
   * Where the persister runs in this process: resolves once what the engine has released so
   * far is in the history tables (at most a quarter second), so that a client reads its own
   * orders and trades right after their replies. Absent elsewhere: history then lags by the
   * persister's own pace.
   */
  readonly historyCaughtUp?: () => Promise<void>;
}

/** The admin token: given, or generated once and kept in <dataDir>/keys/admin.token (0600). */
export function adminToken(config: PlatformConfig, logger: pino.Logger): string {
  if (config.adminToken !== undefined) {
    if (config.adminToken.length < 16)
      throw new ConfigError('CROSSBOOK_ADMIN_TOKEN must have at least 16 characters');
    return config.adminToken;
  }
  const file = path.join(config.dataDir, 'keys', 'admin.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  logger.warn(
    { file },
    'CROSSBOOK_ADMIN_TOKEN is not set: a development admin token was generated (npm run admin finds it)',
  );
  return token;
}

/** The engine port over a remote core: funds commands go through the link; the full ledger is only where the core runs. */
function clientEnginePort(client: CoreClient): EnginePort {
  return {
    markets: client.markets,
    submit: (input) => client.submit(input),
    balances: () =>
      Promise.reject(
        new AccountsError('ledger.not_here', 'the ledger check runs where the core runs (its admin API)'),
      ),
  };
}

/** GET /healthz: 200 while this process can serve (the core reachable), 503 otherwise. */
function healthRoute(roles: string[], up: () => boolean): Route {
  return {
    method: 'GET',
    path: '/healthz',
    security: 'NONE',
    weight: 1,
    handler: async () => jsonResponse({ status: up() ? 'ok' : 'core unreachable', roles }, up() ? 200 : 503),
  };
}

/**
 * API key lookups over the accounts database, cached until a key or its owner changes
 * (ApiKeyCache: polls auth_versions every 250 ms; a key lives a minute at most).
 */
function apiKeyLookup(
  db: AccountsDb,
  identity: IdentityContext,
  logger: pino.Logger,
): ApiKeyCache & ApiKeyLookup {
  const cache = new ApiKeyCache({
    resolve: (apiKey) => resolveApiKey(db.db, identity.key, apiKey),
    changesSince: (since) => authChangesSince(db.db, since),
    onPollError: (e) => logger.warn({ err: e }, 'API key cache: polling auth_versions failed'),
  });
  return cache as ApiKeyCache & ApiKeyLookup;
}

/** Starts the roles of `config`. */
export async function startPlatform(
  config: PlatformConfig,
  overrides: PlatformOverrides = {},
): Promise<Platform> {
  const logger = overrides.logger ?? createLogger({ name: 'crossbook', level: config.logLevel });
  const { file: marketsFile, markets } = loadMarketsFile(config.marketsFile);
  const roles = config.roles;
  if (roles.size < 3 && config.databaseUrl === undefined && overrides.db === undefined)
    throw new ConfigError('roles split across processes share one PostgreSQL: set DATABASE_URL');
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        logger.error({ err: e }, 'closing failed');
      }
    }
  };
  try {
    // 1. accounts database and keys
    const db =
      overrides.db ??
      (await openDatabase({
        ...(config.databaseUrl === undefined
          ? { dataDir: path.join(config.dataDir, 'db') }
          : { url: config.databaseUrl }),
      }));
    if (overrides.db === undefined) closers.push(() => db.close());
    const { key } = loadMasterKey({ dataDir: config.dataDir, log: logger });
    const hasher = overrides.hasher ?? createPasswordHasher();
    if (overrides.hasher === undefined) closers.push(() => hasher.close());
    const identity: IdentityContext = { key, hasher, log: logger };
    const funds = overrides.funds ?? DEFAULT_FUNDS_CONFIG;
    const token = adminToken(config, logger);

    // The market data bus: Redis when configured. Never waited for where the core runs (matching
    // does not wait on it); a gateway alone waits a little for it before serving, or a client
    // resuming its WebSocket session right after the start would find the session store down.
    const bus =
      overrides.bus ??
      (await openBus({
        redisUrl: config.redisUrl,
        prefix: config.busPrefix,
        waitUpMs: roles.has('core') ? 0 : 5_000,
        // Names tell deployments (and test runs) sharing one Redis apart in CLIENT LIST.
        connectionName: `${config.busPrefix.replace(/[^A-Za-z0-9_.-]/g, '')}-${[...roles].join('-')}`,
        onConnectionError: (e) => logger.warn({ err: e }, 'market data bus: connection error (retrying)'),
      }));
    if (overrides.bus === undefined) closers.push(() => bus.close());

    // 2. persister
    // On a PostgreSQL server, on a thread of its own (unless told otherwise, or sharing a test's database).
    let persister: HistoryPersister | null = null;
    if (roles.has('persister')) {
      const onError = (e: Error) =>
        logger.error({ err: e }, 'the persister stopped: restart the process to resume');
      persister =
        config.databaseUrl !== undefined && config.persisterThread && overrides.db === undefined
          ? await PersisterThread.open(config.databaseUrl, config.marketsFile, {
              lingerMs: config.persisterLingerMs,
              onError,
            })
          : await Persister.open(db.db, markets, { lingerMs: config.persisterLingerMs, onError });
      const p = persister;
      closers.push(() => p.close());
    }

    // 3. core
    let core: Core | null = null;
    let link: CoreLinkServer | null = null;
    let md: MarketDataService | null = null;
    if (roles.has('core')) {
      let kinesis: KinesisSink | undefined;
      if (config.kinesisStream !== undefined) {
        const sink = new KinesisSink({
          streamName: config.kinesisStream,
          client: kinesisClient({
            ...(config.kinesisEndpoint === undefined ? {} : { endpoint: config.kinesisEndpoint }),
          }),
        });
        kinesis = sink;
        closers.push(() => sink.close());
      }
      const service = marketDataService({
        markets,
        bus,
        dataDir: config.dataDir,
        clock: systemClock,
        logger: logger.child({ part: 'market-data' }),
        history: tradeStoreHistory(postgresTradeStore(db.db)),
        ...(kinesis === undefined ? {} : { kinesis }),
      });
      md = service;
      // Closed after the core (closers run in reverse): every released event is in the saved state.
      closers.push(async () => service.close());
      core = await Core.start({
        dataDir: config.dataDir,
        marketsFile,
        fsync: config.fsync,
        snapshotEvery: config.snapshotEvery,
        makerPpm: config.makerPpm,
        takerPpm: config.takerPpm,
        consumers: [...(persister === null ? [] : [persister.durableConsumer()]), service.consumer],
        log: (m) => logger.info({ part: 'core' }, m),
      });
      const c = core;
      closers.push(() => c.close());
      service.live();
      link = await serveCoreLink(core, {
        host: config.host === '0.0.0.0' ? '0.0.0.0' : config.host,
        port: config.linkPort,
        token: config.linkToken ?? token,
        marketsFile,
        marketData: service.queries,
        log: (m) => logger.info({ part: 'link' }, m),
      });
      const l = link;
      closers.push(() => l.close());
    }

    // 4. the engine as the gateway (and a remote persister) sees it
    let client: CoreClient;
    if (core !== null) client = localCoreClient(core, md === null ? {} : { marketData: md.queries });
    else {
      const [host, port] = config.coreAddress!.split(':');
      client = await connectCoreLink({
        host: host!,
        port: Number(port),
        token: config.linkToken ?? token,
        ...(persister === null ? {} : { afterSeq: persister.lastSeq() }),
        log: (m) => logger.info({ part: 'link' }, m),
      });
      const p = persister;
      if (p !== null) {
        const consumer = p.durableConsumer();
        client.onEvents(consumer.listener);
        client.onResync((gap) =>
          logger.error(
            { gap },
            "the persister missed events beyond the core link's memory: run it beside the core",
          ),
        );
      }
    }
    closers.push(() => client.close());

    // 5. gateway (or, on a core without one, the admin API alone)
    let gateway: Gateway | null = null;
    const historyWriter = persister;
    const apiKeys = apiKeyLookup(db, identity, logger);
    if (roles.has('gateway')) {
      apiKeys.start();
      closers.push(() => apiKeys.stop());
    }
    const parts: PlatformParts = {
      markets,
      db,
      client,
      identity,
      funds,
      fees: { makerPpm: config.makerPpm, takerPpm: config.takerPpm },
      logger,
      apiKeys,
      trustProxy: config.trustProxy,
      engine: core !== null ? coreEnginePort(core) : clientEnginePort(client),
      bus,
      ...(historyWriter === null ? {} : { historyCaughtUp: () => historyWriter.catchUp(250) }),
    };
    const wiring = roles.has('gateway') ? (overrides.routes?.(parts) ?? { routes: [] }) : { routes: [] };
    let wiringClosed = false;
    const closeWiring = async () => {
      if (wiringClosed) return;
      wiringClosed = true;
      wiring.close?.();
    };
    closers.push(closeWiring);
    const admin =
      core === null
        ? []
        : adminRoutes(
            token,
            adminOps({
              db: db.db,
              identity,
              engine: coreEnginePort(core),
              core,
              persister,
              funds,
              dataDir: config.dataDir,
              marketsFile: marketsFile as MarketsFile,
            }),
          );
    // A gateway answers only once its order view is seeded (a restart, one more gateway).
    await wiring.ready;
    if (roles.has('gateway') || admin.length > 0) {
      gateway = await startGateway({
        port: roles.has('gateway') ? config.port : config.healthPort,
        ...(config.host === '0.0.0.0' ? {} : { host: config.host }),
        markets,
        apiKeys: parts.apiKeys,
        trustProxy: config.trustProxy,
        rateLimits: config.rateLimits,
        bodyLimitBytes: config.bodyLimitBytes,
        routes: [healthRoute([...roles], () => client.connected), ...admin, ...wiring.routes],
        logger: logger.child({ part: 'gateway' }),
      });
      const g = gateway;
      // The wiring first: the WebSocket streams announce the shutdown and end their connections
      // (1001) while the server can still write to them.
      closers.push(async () => {
        await closeWiring();
        await g.close();
      });
      wiring.attach?.(gateway);
    }
    logger.info(
      {
        roles: [...roles],
        port: gateway?.port,
        link: link?.port,
        database: db.dialect,
        dataDir: config.dataDir,
      },
      'crossbook started',
    );
    let closing: Promise<void> | undefined;
    return {
      config,
      markets,
      db,
      core,
      persister,
      marketData: md,
      bus,
      client,
      gateway,
      link,
      adminToken: token,
      logger,
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
