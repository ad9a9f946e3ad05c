/**
 * The stack configuration (namespace `crossbook:`), its defaults and its validation. The Pulumi
 * program reads it once and hands plain values to the components; docs/DEPLOY.md documents
 * every key listed in {@link CONFIG_KEYS} with the same defaults.
 *
 * Staging and production run the same program: every difference between them is a value here.
 */
import type * as pulumi from '@pulumi/pulumi';

/** The number of nodes an EKS managed node group keeps. */
export interface NodeGroupSize {
  /** EC2 instance types, first preferred. */
  instanceTypes: string[];
  /** Minimum nodes. */
  min: number;
  /** Nodes at creation (the cluster autoscaler owns it afterwards). */
  desired: number;
  /** Maximum nodes. */
  max: number;
}

/** Aurora PostgreSQL sizing. */
export interface DatabaseConfig {
  /** Instance class of every instance. Default `db.r7g.large`. */
  instanceClass: string;
  /** Instances in the primary cluster (a writer plus readers across AZs). Default 2. */
  instances: number;
  /** Aurora PostgreSQL engine version. Default `16.6`. */
  engineVersion: string;
  /** Automated backup retention in days (1..35). Default 14. */
  backupRetentionDays: number;
  /** Refuse to delete the cluster. Default true. */
  deletionProtection: boolean;
}

/** ElastiCache Redis sizing (cluster mode). */
export interface RedisConfig {
  /** Node type. Default `cache.r7g.large`. */
  nodeType: string;
  /** Shards (node groups). Default 2. */
  shards: number;
  /** Replicas per shard, in other AZs. Default 1. */
  replicasPerShard: number;
  /** Redis engine version. Default `7.1`. */
  engineVersion: string;
  /** Days of automatic snapshots. Default 7. */
  snapshotRetentionDays: number;
}

/** S3 lifecycle and retention. */
export interface StorageConfig {
  /** Days before archives move to Standard-IA. Default 30. */
  infrequentAccessAfterDays: number;
  /** Days before archives and backups move to Glacier Instant Retrieval. Default 90. */
  glacierAfterDays: number;
  /** Days before archives move to Glacier Deep Archive. Default 365. */
  deepArchiveAfterDays: number;
  /** Days logs are kept in S3 before they expire. Default 400. */
  logExpirationDays: number;
  /** Days AWS Backup keeps recovery points of Aurora and DynamoDB. Default 35. */
  backupRetentionDays: number;
}

/** TLS certificates. */
export interface CertificateConfig {
  /** Key algorithm of issued ACM certificates. Default `RSA_2048`. */
  keyAlgorithm: string;
  /** Existing ACM certificate ARNs by region (covering the domain and `*.domain`); others are issued. Default `{}`. */
  arns: Record<string, string>;
}

/** API Gateway throttling and caching. */
export interface ApiConfig {
  /** Steady-state requests per second across the REST API. Default 1000. */
  rateLimit: number;
  /** Burst capacity. Default 2000. */
  burstLimit: number;
  /** Cache cluster size in GB (one of API Gateway's sizes). Default `0.5`. */
  cacheSizeGb: string;
  /** Seconds a public market-data response is cached. Default 1. */
  cacheTtlSeconds: number;
}

/** Alarm thresholds. */
export interface AlarmConfig {
  /** Order acknowledgement latency p99, milliseconds. Default 5. */
  orderLatencyP99Ms: number;
  /** Share of 5xx responses at the load balancer, percent. Default 1. */
  http5xxPercent: number;
  /** Journal replication lag of a standby core, milliseconds. Default 500. */
  journalLagMs: number;
  /** Kinesis iterator age of the downstream consumers, milliseconds. Default 60000. */
  kinesisIteratorAgeMs: number;
  /** Aurora writer CPU, percent. Default 80. */
  auroraCpuPercent: number;
  /** Redis engine CPU of the busiest node, percent. Default 75. */
  redisCpuPercent: number;
}

/** The gateway Deployment. */
export interface GatewayConfig {
  /** HPA minimum. Default 3. */
  minReplicas: number;
  /** HPA maximum. Default 12. */
  maxReplicas: number;
  /** CPU request and limit per pod. Default `1`. */
  cpu: string;
  /** Memory request and limit per pod. Default `1Gi`. */
  memory: string;
  /** HPA target CPU utilisation, percent. Default 60. */
  targetCpuPercent: number;
}

/** The journal volume of each core pod. */
export interface JournalVolumeConfig {
  /** EBS volume type: `gp3` or `io2`. Default `io2`. */
  type: 'gp3' | 'io2';
  /** Size in GiB. Default 200. */
  sizeGi: number;
  /** Provisioned IOPS (a group commit is one write, so thousands of orders a second need far fewer). Default 6000. */
  iops: number;
  /** Throughput in MiB/s (gp3 only). Default 500. */
  throughputMiBps: number;
}

/** The core StatefulSets. */
export interface CoreConfig {
  /** Standby replicas per core group (each replays the primary's journal). Default 1. */
  standbyReplicas: number;
  /** Whole CPUs per shard worker. Default 1. */
  cpuPerShard: number;
  /** Whole CPUs for the sequencer, journal and runtime on top of the shards. Default 2. */
  overheadCpu: number;
  /** Memory per core pod. Default `8Gi`. */
  memory: string;
  /** The journal volume. */
  journal: JournalVolumeConfig;
}

/** The persister Deployment. */
export interface PersisterConfig {
  /** Replicas (the persister is single-writer by sequence; more replicas wait as hot spares). Default 1. */
  replicas: number;
  /** CPU request and limit. Default `1`. */
  cpu: string;
  /** Memory request and limit. Default `1Gi`. */
  memory: string;
}

/** The whole configuration, defaults applied. */
export interface CrossbookConfig {
  /** `environment`: name used in resource names and tags. Default: the stack name. */
  environment: string;
  /** `secondaryRegion`: a second region for disaster recovery. Default: none. */
  secondaryRegion: string | undefined;
  /** `activeRegion`: which region runs the core, `primary` or `secondary`. Default `primary`. */
  activeRegion: 'primary' | 'secondary';
  /** `marketsFile`: path of the markets config (with the shard map), from the project root. Default `config/markets.json`. */
  marketsFile: string;
  /** `coreShardSets`: shards per core group. Default: one group with every shard. */
  coreShardSets: number[][] | undefined;
  /** `vpcCidr`: the primary VPC. Default `10.0.0.0/16`. */
  vpcCidr: string;
  /** `secondaryVpcCidr`: the secondary VPC (must not overlap). Default `10.1.0.0/16`. */
  secondaryVpcCidr: string;
  /** `availabilityZones`: AZs per region (1..4). Default 3. */
  availabilityZones: number;
  /** `natGateways`: `perAz` or `single`. Default `perAz`. */
  natGateways: 'perAz' | 'single';
  /** `kubernetesVersion`. Default `1.33`. */
  kubernetesVersion: string;
  /** `nodeArchitecture`: `arm64` (Graviton) or `x86_64`. Default `arm64`. */
  nodeArchitecture: 'arm64' | 'x86_64';
  /** `generalNodes`: the general node group. */
  generalNodes: NodeGroupSize;
  /** `coreNodes`: the compute-optimised node group reserved for the core. */
  coreNodes: NodeGroupSize;
  /** `clusterPublicAccessCidrs`: who may reach the Kubernetes API. Default `["0.0.0.0/0"]`. */
  clusterPublicAccessCidrs: string[];
  /** `database`: Aurora sizing. */
  database: DatabaseConfig;
  /** `redis`: ElastiCache sizing. */
  redis: RedisConfig;
  /** `kinesisRetentionHours`: market-data stream retention. Default 24. */
  kinesisRetentionHours: number;
  /** `storage`: S3 lifecycle and backup retention. */
  storage: StorageConfig;
  /** `domain`: the public domain. Required. */
  domain: string;
  /** `hostedZone`: the Route 53 public zone holding the domain. Default: the domain. */
  hostedZone: string;
  /** `certificate`: TLS certificates. */
  certificate: CertificateConfig;
  /** `api`: API Gateway throttling and caching. */
  api: ApiConfig;
  /** `wafRateLimit`: requests per 5 minutes per client IP before WAF blocks. Default 2000. */
  wafRateLimit: number;
  /** `cloudFrontPriceClass`. Default `PriceClass_100`. */
  cloudFrontPriceClass: string;
  /** `alarmEmail`: where alarms are mailed. Default: none (the SNS topic still exists). */
  alarmEmail: string | undefined;
  /** `logRetentionDays`: CloudWatch log retention. Default 30. */
  logRetentionDays: number;
  /** `tracingSampleRate`: share of requests traced in X-Ray. Default 0.05. */
  tracingSampleRate: number;
  /** `alarms`: alarm thresholds. */
  alarms: AlarmConfig;
  /** `image`: the application image (repository:tag or @digest). Required. */
  image: string;
  /** `gateway`: the gateway Deployment. */
  gateway: GatewayConfig;
  /** `core`: the core StatefulSets. */
  core: CoreConfig;
  /** `persister`: the persister Deployment. */
  persister: PersisterConfig;
}

/** The defaults of every key that has one (the required `domain` and `image` have none). */
export const DEFAULTS = {
  activeRegion: 'primary',
  marketsFile: 'config/markets.json',
  vpcCidr: '10.0.0.0/16',
  secondaryVpcCidr: '10.1.0.0/16',
  availabilityZones: 3,
  natGateways: 'perAz',
  kubernetesVersion: '1.33',
  nodeArchitecture: 'arm64',
  generalNodes: { instanceTypes: ['m7g.xlarge'], min: 3, desired: 3, max: 9 },
  coreNodes: { instanceTypes: ['c7g.2xlarge'], min: 2, desired: 2, max: 4 },
  clusterPublicAccessCidrs: ['0.0.0.0/0'],
  database: {
    instanceClass: 'db.r7g.large',
    instances: 2,
    engineVersion: '16.6',
    backupRetentionDays: 14,
    deletionProtection: true,
  },
  redis: {
    nodeType: 'cache.r7g.large',
    shards: 2,
    replicasPerShard: 1,
    engineVersion: '7.1',
    snapshotRetentionDays: 7,
  },
  kinesisRetentionHours: 24,
  storage: {
    infrequentAccessAfterDays: 30,
    glacierAfterDays: 90,
    deepArchiveAfterDays: 365,
    logExpirationDays: 400,
    backupRetentionDays: 35,
  },
  certificate: { keyAlgorithm: 'RSA_2048', arns: {} },
  api: { rateLimit: 1000, burstLimit: 2000, cacheSizeGb: '0.5', cacheTtlSeconds: 1 },
  wafRateLimit: 2000,
  cloudFrontPriceClass: 'PriceClass_100',
  logRetentionDays: 30,
  tracingSampleRate: 0.05,
  alarms: {
    orderLatencyP99Ms: 5,
    http5xxPercent: 1,
    journalLagMs: 500,
    kinesisIteratorAgeMs: 60000,
    auroraCpuPercent: 80,
    redisCpuPercent: 75,
  },
  gateway: { minReplicas: 3, maxReplicas: 12, cpu: '1', memory: '1Gi', targetCpuPercent: 60 },
  core: {
    standbyReplicas: 1,
    cpuPerShard: 1,
    overheadCpu: 2,
    memory: '8Gi',
    journal: { type: 'io2', sizeGi: 200, iops: 6000, throughputMiBps: 500 },
  },
  persister: { replicas: 1, cpu: '1', memory: '1Gi' },
} as const satisfies Partial<Record<keyof CrossbookConfig, unknown>>;

/** Every key of the `crossbook:` namespace, in the order docs/DEPLOY.md lists them. */
export const CONFIG_KEYS: readonly (keyof CrossbookConfig)[] = [
  'environment',
  'secondaryRegion',
  'activeRegion',
  'marketsFile',
  'coreShardSets',
  'vpcCidr',
  'secondaryVpcCidr',
  'availabilityZones',
  'natGateways',
  'kubernetesVersion',
  'nodeArchitecture',
  'generalNodes',
  'coreNodes',
  'clusterPublicAccessCidrs',
  'database',
  'redis',
  'kinesisRetentionHours',
  'storage',
  'domain',
  'hostedZone',
  'certificate',
  'api',
  'wafRateLimit',
  'cloudFrontPriceClass',
  'alarmEmail',
  'logRetentionDays',
  'tracingSampleRate',
  'alarms',
  'image',
  'gateway',
  'core',
  'persister',
];

function oneOf<T extends string>(
  key: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) {
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`crossbook:${key} must be one of ${allowed.join(', ')}, not ${value}`);
  }
  return value as T;
}

function merged<T extends object>(config: pulumi.Config, key: string, defaults: T): T {
  const given = config.getObject<Partial<T>>(key) ?? {};
  return { ...defaults, ...given };
}

function positiveInteger(key: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`crossbook:${key} must be an integer of at least ${min}, not ${value}`);
  }
  return value;
}

function nodeGroup(
  config: pulumi.Config,
  key: string,
  defaults: Readonly<Omit<NodeGroupSize, 'instanceTypes'>> & { readonly instanceTypes: readonly string[] },
): NodeGroupSize {
  const size = merged(config, key, { ...defaults, instanceTypes: [...defaults.instanceTypes] });
  positiveInteger(`${key}.min`, size.min, 0);
  if (!(size.min <= size.desired && size.desired <= size.max) || size.max < 1) {
    throw new Error(`crossbook:${key} needs min <= desired <= max and max >= 1`);
  }
  return size;
}

/**
 * Reads the `crossbook:` namespace and applies the defaults. `stack` is the stack name, the
 * default environment name. Throws on values the program cannot honour.
 */
export function readConfig(config: pulumi.Config, stack: string): CrossbookConfig {
  const secondaryRegion = config.get('secondaryRegion');
  const activeRegion = oneOf('activeRegion', config.get('activeRegion'), ['primary', 'secondary'], 'primary');
  if (activeRegion === 'secondary' && secondaryRegion === undefined) {
    throw new Error('crossbook:activeRegion is secondary but no crossbook:secondaryRegion is configured');
  }
  const core = merged<CoreConfig>(config, 'core', {
    ...DEFAULTS.core,
    journal: { ...DEFAULTS.core.journal },
  });
  core.journal = { ...DEFAULTS.core.journal, ...core.journal };
  oneOf('core.journal.type', core.journal.type, ['gp3', 'io2'], 'io2');
  positiveInteger('core.standbyReplicas', core.standbyReplicas, 0);
  positiveInteger('core.cpuPerShard', core.cpuPerShard);
  positiveInteger('core.overheadCpu', core.overheadCpu);
  const gateway = merged<GatewayConfig>(config, 'gateway', { ...DEFAULTS.gateway });
  if (gateway.minReplicas < 1 || gateway.maxReplicas < gateway.minReplicas) {
    throw new Error('crossbook:gateway needs 1 <= minReplicas <= maxReplicas');
  }
  const database = merged<DatabaseConfig>(config, 'database', { ...DEFAULTS.database });
  positiveInteger('database.instances', database.instances);
  const redis = merged<RedisConfig>(config, 'redis', { ...DEFAULTS.redis });
  positiveInteger('redis.shards', redis.shards);
  positiveInteger('redis.replicasPerShard', redis.replicasPerShard);
  const domain = config.require('domain');
  return {
    environment: config.get('environment') ?? stack,
    secondaryRegion,
    activeRegion,
    marketsFile: config.get('marketsFile') ?? DEFAULTS.marketsFile,
    coreShardSets: config.getObject<number[][]>('coreShardSets'),
    vpcCidr: config.get('vpcCidr') ?? DEFAULTS.vpcCidr,
    secondaryVpcCidr: config.get('secondaryVpcCidr') ?? DEFAULTS.secondaryVpcCidr,
    availabilityZones: positiveInteger(
      'availabilityZones',
      config.getNumber('availabilityZones') ?? DEFAULTS.availabilityZones,
    ),
    natGateways: oneOf('natGateways', config.get('natGateways'), ['perAz', 'single'], DEFAULTS.natGateways),
    kubernetesVersion: config.get('kubernetesVersion') ?? DEFAULTS.kubernetesVersion,
    nodeArchitecture: oneOf(
      'nodeArchitecture',
      config.get('nodeArchitecture'),
      ['arm64', 'x86_64'],
      DEFAULTS.nodeArchitecture,
    ),
    generalNodes: nodeGroup(config, 'generalNodes', DEFAULTS.generalNodes),
    coreNodes: nodeGroup(config, 'coreNodes', DEFAULTS.coreNodes),
    clusterPublicAccessCidrs: config.getObject<string[]>('clusterPublicAccessCidrs') ?? [
      ...DEFAULTS.clusterPublicAccessCidrs,
    ],
    database,
    redis,
    kinesisRetentionHours: config.getNumber('kinesisRetentionHours') ?? DEFAULTS.kinesisRetentionHours,
    storage: merged<StorageConfig>(config, 'storage', { ...DEFAULTS.storage }),
    domain,
    hostedZone: config.get('hostedZone') ?? domain,
    certificate: merged<CertificateConfig>(config, 'certificate', { ...DEFAULTS.certificate, arns: {} }),
    api: merged<ApiConfig>(config, 'api', { ...DEFAULTS.api }),
    wafRateLimit: config.getNumber('wafRateLimit') ?? DEFAULTS.wafRateLimit,
    cloudFrontPriceClass: config.get('cloudFrontPriceClass') ?? DEFAULTS.cloudFrontPriceClass,
    alarmEmail: config.get('alarmEmail'),
    logRetentionDays: config.getNumber('logRetentionDays') ?? DEFAULTS.logRetentionDays,
    tracingSampleRate: config.getNumber('tracingSampleRate') ?? DEFAULTS.tracingSampleRate,
    alarms: merged<AlarmConfig>(config, 'alarms', { ...DEFAULTS.alarms }),
    image: config.require('image'),
    gateway,
    core,
    persister: merged<PersisterConfig>(config, 'persister', { ...DEFAULTS.persister }),
  };
}
