/**
 * `npm start`: the whole platform in one process on embedded defaults (PGlite, the in-process
 * bus), or the roles named by `--roles` / CROSSBOOK_ROLES. Every setting is an environment
 * variable (platform/config.ts, listed in the README). SIGINT or SIGTERM stops it gracefully:
 * stop accepting, drain in-flight orders, flush the journal and the persister, close.
 */
import { ConfigError, loadConfig } from './config.ts';
import { startPlatform } from './platform.ts';
import { gatewayRoutes } from './routes.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`crossbook: ${e.message}\n`);
  process.exit(2);
}

const platform = await startPlatform(config, { routes: gatewayRoutes });
const port = platform.gateway?.port;
if (config.roles.has('gateway') && port !== undefined) {
  process.stdout.write(
    [
      '',
      `Crossbook is running: REST and WebSocket on http://127.0.0.1:${port} (try /api/v3/exchangeInfo)`,
      `  roles ${[...config.roles].join(', ')}; data in ${config.dataDir}; accounts on ${platform.db.dialect}`,
      '  operators: npm run admin -- users create --email you@example.com --deposit USDT=10000 --kyc 2',
      '',
    ].join('\n'),
  );
}

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  platform.logger.info({ signal }, 'stopping');
  platform.close().then(
    () => process.exit(0),
    (e: unknown) => {
      platform.logger.error({ err: e }, 'stopping failed');
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
