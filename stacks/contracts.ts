/**
 * The contracts between the components, and between the components and the CrossGuard policy
 * pack (policy/), which checks the same values: the node-pool label and the core taint, the
 * workload labels and annotations, the application's ports, and the REST routes API Gateway
 * may cache. Plain constants, no Pulumi imports, so the policy pack loads nothing else.
 */

/** The node label naming a node's pool. */
export const NODE_POOL_LABEL = 'crossbook.io/node-pool';

/** The pool of the general node group (gateways, persister, add-ons). */
export const GENERAL_POOL = 'general';

/** The pool of the compute-optimised node group reserved for the core. */
export const CORE_POOL = 'core';

/** The taint on the core nodes: only pods tolerating it (the core) schedule there. */
export const CORE_TAINT = { key: 'crossbook.io/dedicated', value: 'core', effect: 'NoSchedule' } as const;

/** The pod label naming a workload's role (`gateway`, `core`, `persister`). */
export const ROLE_LABEL = 'crossbook.io/role';

/** The pod label naming a core pod's group (`0`, `1`, ...). */
export const CORE_GROUP_LABEL = 'crossbook.io/core-group';

/** The StatefulSet annotation listing the shards a core group hosts, comma separated. */
export const SHARDS_ANNOTATION = 'crossbook.io/shards';

/** The name of the ConfigMap holding the shard map, and its key. */
export const SHARD_MAP_CONFIG_MAP = { name: 'shard-map', key: 'shard-map.json' } as const;

/** The AWS tag that puts a data store under the AWS Backup plan of its environment. */
export const BACKUP_TAG = 'crossbook:backup-plan';

/** The gateway's HTTP port (REST and WebSocket). */
export const GATEWAY_PORT = 8080;

/** The gateway's health route. */
export const HEALTH_PATH = '/api/v3/ping';

/** The core's binary link (gateways and the persister to the core, standby to primary). */
export const CORE_LINK_PORT = 9100;

/** The core's health port: `/healthz` answers 200 only on the active (primary) core. */
export const CORE_HEALTH_PORT = 9101;

/** Prometheus metrics on every role. */
export const METRICS_PORT = 9464;

/** Where the core keeps its journal. */
export const DATA_DIR = '/data';

/** Ports of the data stores, never to be opened to the internet. */
export const DATA_STORE_PORTS = { postgres: 5432, redis: 6379 } as const;

/**
 * The public REST routes API Gateway caches, with the query parameters that make up the cache
 * key. Nothing else is cached: signed endpoints (account, orders) must never be.
 */
export const CACHED_ROUTES: Readonly<Record<string, readonly string[]>> = {
  'api/v3/exchangeInfo': ['symbol', 'symbols', 'permissions', 'showPermissionSets', 'symbolStatus'],
  'api/v3/depth': ['symbol', 'limit'],
  'api/v3/trades': ['symbol', 'limit'],
  'api/v3/aggTrades': ['symbol', 'fromId', 'startTime', 'endTime', 'limit'],
  'api/v3/klines': ['symbol', 'interval', 'startTime', 'endTime', 'timeZone', 'limit'],
  'api/v3/ticker/24hr': ['symbol', 'symbols', 'type'],
  'api/v3/ticker/price': ['symbol', 'symbols'],
  'api/v3/ticker/bookTicker': ['symbol', 'symbols'],
};
