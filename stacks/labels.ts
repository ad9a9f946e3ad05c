/**
 * The scheduling contract between the cluster and the workloads: the node-pool label every
 * node group carries, and the taint that reserves the compute-optimised nodes for the core.
 * The CrossGuard policy pack checks the same values.
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
