/**
 * The Crossguard rules of the Crossbook platform: the same rules the stacks' policy tests
 * check, enforced on every `pulumi preview` / `pulumi up` run with `--policy-pack policy`.
 *
 * Resource policies see a resource's inputs; stack policies see every resource's outputs,
 * which for resources not created yet may be unknown: a stack policy judges only what it can
 * see, and the resource policies cover the rest. Types are matched by their Pulumi type token,
 * so the pack loads no provider SDK.
 */
import type {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from '@pulumi/policy';
import {
  CACHED_ROUTES,
  CORE_POOL,
  CORE_TAINT,
  DATA_STORE_PORTS,
  NODE_POOL_LABEL,
  ROLE_LABEL,
  SHARD_MAP_CONFIG_MAP,
  SHARDS_ANNOTATION,
} from '../stacks/contracts.ts';

/** The Pulumi type tokens the rules look at. */
export const TYPES = {
  bucket: 'aws:s3/bucket:Bucket',
  bucketV2: 'aws:s3/bucketV2:BucketV2',
  publicAccessBlock: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  encryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  encryptionV2: 'aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2',
  versioning: 'aws:s3/bucketVersioning:BucketVersioning',
  versioningV2: 'aws:s3/bucketVersioningV2:BucketVersioningV2',
  rdsCluster: 'aws:rds/cluster:Cluster',
  rdsGlobalCluster: 'aws:rds/globalCluster:GlobalCluster',
  rdsClusterInstance: 'aws:rds/clusterInstance:ClusterInstance',
  rdsInstance: 'aws:rds/instance:Instance',
  rdsSubnetGroup: 'aws:rds/subnetGroup:SubnetGroup',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  routeTable: 'aws:ec2/routeTable:RouteTable',
  route: 'aws:ec2/route:Route',
  routeTableAssociation: 'aws:ec2/routeTableAssociation:RouteTableAssociation',
  dynamodbTable: 'aws:dynamodb/table:Table',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  kinesisStream: 'aws:kinesis/stream:Stream',
  methodSettings: 'aws:apigateway/methodSettings:MethodSettings',
  deployment: 'kubernetes:apps/v1:Deployment',
  statefulSet: 'kubernetes:apps/v1:StatefulSet',
  daemonSet: 'kubernetes:apps/v1:DaemonSet',
  hpa: 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler',
  pdb: 'kubernetes:policy/v1:PodDisruptionBudget',
  configMap: 'kubernetes:core/v1:ConfigMap',
  storageClass: 'kubernetes:storage.k8s.io/v1:StorageClass',
} as const;

// ---------------------------------------------------------------------------------------------
// Reading loosely typed resource properties.

type Props = Record<string, unknown>;

function obj(value: unknown): Props {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Props) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return value;
  }
  return typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))
    ? Number(value)
    : undefined;
}

/** Kubernetes CPU quantity (`2`, `1500m`) in cores. */
export function cpuCores(quantity: unknown): number | undefined {
  const text = typeof quantity === 'number' ? String(quantity) : str(quantity);
  if (text === undefined) {
    return undefined;
  }
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

function podSpec(props: Props): Props {
  return obj(obj(obj(props.spec).template).spec);
}

function podLabels(props: Props): Props {
  return obj(obj(obj(props.spec).template).metadata).labels as Props;
}

function roleOf(props: Props): string | undefined {
  return str(obj(podLabels(props))[ROLE_LABEL]);
}

function namespaceOf(props: Props): string {
  return str(obj(props.metadata).namespace) ?? 'default';
}

function nameOf(props: Props): string | undefined {
  return str(obj(props.metadata).name);
}

/** Resources that live in the same Kubernetes cluster and namespace (one key per provider and namespace). */
function scopeOf(resource: PolicyResource): string {
  return `${resource.provider?.urn ?? ''}|${namespaceOf(resource.props)}`;
}

function matchesSelector(selector: Props, labels: Props): boolean {
  const wanted = obj(selector.matchLabels);
  const keys = Object.keys(wanted);
  return keys.length > 0 && keys.every((key) => labels[key] === wanted[key]);
}

function resourcePolicy(
  name: string,
  description: string,
  types: readonly string[],
  check: (props: Props, report: (message: string) => void, type: string) => void,
  enforcementLevel: 'mandatory' | 'advisory' = 'mandatory',
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    validateResource: (args, reportViolation) => {
      if (types.includes(args.type)) {
        check(args.props, (message) => reportViolation(message), args.type);
      }
    },
  };
}

function stackPolicy(
  name: string,
  description: string,
  check: (resources: PolicyResource[], report: ReportViolation) => void,
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: 'mandatory',
    validateStack: (args, report) => check(args.resources, report),
  };
}

// ---------------------------------------------------------------------------------------------
// The accounts database and the other data stores.

/** Whether a port range from..to (protocol `-1`/`all` meaning every port) covers `port`. */
function coversPort(protocol: unknown, from: unknown, to: unknown, port: number): boolean {
  const proto = String(protocol ?? '');
  if (proto === '-1' || proto === 'all') {
    return true;
  }
  const low = num(from);
  const high = num(to) ?? low;
  return low !== undefined && high !== undefined && low <= port && port <= high;
}

function openToInternet(cidrs: unknown, ipv6: unknown): boolean {
  return (
    list(cidrs).some((c) => c === '0.0.0.0/0') ||
    list(ipv6).some((c) => c === '::/0') ||
    cidrs === '0.0.0.0/0' ||
    ipv6 === '::/0'
  );
}

const dataPortsNotPublic = resourcePolicy(
  'data-ports-not-public',
  'No security group admits the internet to PostgreSQL (5432) or Redis (6379).',
  [TYPES.securityGroup, TYPES.securityGroupRule, TYPES.ingressRule],
  (props, report, type) => {
    const rules =
      type === TYPES.securityGroup
        ? list(props.ingress).map(obj)
        : type === TYPES.securityGroupRule
          ? props.type === 'ingress'
            ? [props]
            : []
          : [
              {
                protocol: props.ipProtocol,
                fromPort: props.fromPort,
                toPort: props.toPort,
                cidrBlocks: props.cidrIpv4,
                ipv6CidrBlocks: props.cidrIpv6,
              },
            ];
    for (const rule of rules) {
      for (const [store, port] of Object.entries(DATA_STORE_PORTS)) {
        if (
          openToInternet(rule.cidrBlocks, rule.ipv6CidrBlocks) &&
          coversPort(rule.protocol, rule.fromPort, rule.toPort, port)
        ) {
          report(`${store} port ${port} is open to the internet`);
        }
      }
    }
  },
);

const databaseNotPublic = resourcePolicy(
  'database-not-public',
  'Database instances are never publicly accessible.',
  [TYPES.rdsClusterInstance, TYPES.rdsInstance],
  (props, report) => {
    if (props.publiclyAccessible !== false) {
      report('publiclyAccessible must be set to false');
    }
  },
);

const databaseEncrypted = resourcePolicy(
  'database-encrypted',
  'Aurora clusters are encrypted at rest with a customer-managed KMS key.',
  [TYPES.rdsCluster, TYPES.rdsGlobalCluster, TYPES.rdsInstance],
  (props, report, type) => {
    if (props.storageEncrypted !== true) {
      report('storageEncrypted must be true');
    }
    if (type !== TYPES.rdsGlobalCluster && props.kmsKeyId === undefined) {
      report('kmsKeyId must name a customer-managed key');
    }
  },
);

const databaseDeletionProtection = resourcePolicy(
  'database-deletion-protection',
  'Aurora clusters refuse deletion (advisory: a throwaway staging stack may turn it off).',
  [TYPES.rdsCluster],
  (props, report) => {
    if (props.deletionProtection !== true) {
      report('deletionProtection is off');
    }
  },
  'advisory',
);

/** Resources of `type` whose `props[key]` is the id of `target`, by dependency or by value. */
function linked(
  resources: PolicyResource[],
  types: readonly string[],
  key: string,
  target: PolicyResource,
): PolicyResource[] {
  const ids = new Set(
    [target.props.id, target.props.bucket, target.props.name].filter((v) => v !== undefined),
  );
  return resources.filter(
    (r) =>
      types.includes(r.type) &&
      ((r.propertyDependencies?.[key] ?? []).some((d) => d.urn === target.urn) || ids.has(r.props[key])),
  );
}

const databaseInIsolatedSubnets = stackPolicy(
  'database-in-isolated-subnets',
  "The database's subnets have no route out of the VPC (no internet or NAT gateway).",
  (resources, report) => {
    for (const group of resources.filter((r) => r.type === TYPES.rdsSubnetGroup)) {
      for (const subnetId of list(group.props.subnetIds)) {
        const associations = resources.filter(
          (r) => r.type === TYPES.routeTableAssociation && r.props.subnetId === subnetId,
        );
        for (const association of associations) {
          const tableId = association.props.routeTableId;
          const routes = [
            ...resources
              .filter((r) => r.type === TYPES.routeTable && r.props.id === tableId)
              .flatMap((r) => list(r.props.routes).map(obj)),
            ...resources
              .filter((r) => r.type === TYPES.route && r.props.routeTableId === tableId)
              .map((r) => r.props),
          ];
          const out = routes.find(
            (route) =>
              route.gatewayId !== undefined ||
              route.natGatewayId !== undefined ||
              route.cidrBlock === '0.0.0.0/0' ||
              route.destinationCidrBlock === '0.0.0.0/0',
          );
          if (out !== undefined) {
            report(
              `subnet ${String(subnetId)} of database subnet group ${group.name} routes out of the VPC`,
              group.urn,
            );
          }
        }
      }
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Buckets.

function bucketsWithout(
  resources: PolicyResource[],
  guardTypes: readonly string[],
  satisfied: (guard: Props) => boolean,
): PolicyResource[] {
  return resources
    .filter((r) => r.type === TYPES.bucket || r.type === TYPES.bucketV2)
    .filter(
      (bucket) => !linked(resources, guardTypes, 'bucket', bucket).some((guard) => satisfied(guard.props)),
    );
}

const bucketsBlockPublicAccess = stackPolicy(
  'buckets-block-public-access',
  'Every S3 bucket blocks all public access.',
  (resources, report) => {
    const all = (p: Props) =>
      p.blockPublicAcls === true &&
      p.blockPublicPolicy === true &&
      p.ignorePublicAcls === true &&
      p.restrictPublicBuckets === true;
    for (const bucket of bucketsWithout(resources, [TYPES.publicAccessBlock], all)) {
      report(`bucket ${bucket.name} has no public access block with all four settings on`, bucket.urn);
    }
  },
);

const bucketsEncrypted = stackPolicy(
  'buckets-encrypted',
  'Every S3 bucket has default encryption (SSE-KMS, or SSE-S3 where a service requires it).',
  (resources, report) => {
    const encrypts = (p: Props) =>
      list(p.rules).some((rule) => {
        const algorithm = str(obj(obj(rule).applyServerSideEncryptionByDefault).sseAlgorithm);
        return algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse' || algorithm === 'AES256';
      });
    for (const bucket of bucketsWithout(resources, [TYPES.encryption, TYPES.encryptionV2], encrypts)) {
      report(`bucket ${bucket.name} has no default encryption`, bucket.urn);
    }
  },
);

const bucketsVersioned = stackPolicy(
  'buckets-versioned',
  'Every S3 bucket is versioned.',
  (resources, report) => {
    const enabled = (p: Props) => obj(p.versioningConfiguration).status === 'Enabled';
    for (const bucket of bucketsWithout(resources, [TYPES.versioning, TYPES.versioningV2], enabled)) {
      report(`bucket ${bucket.name} is not versioned`, bucket.urn);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// DynamoDB, Redis, Kinesis, API Gateway.

const tradesOnDemandWithPitr = resourcePolicy(
  'dynamodb-on-demand-with-pitr',
  'DynamoDB tables bill on demand and keep point-in-time recovery, replicas included.',
  [TYPES.dynamodbTable],
  (props, report) => {
    if (props.billingMode !== 'PAY_PER_REQUEST') {
      report('billingMode must be PAY_PER_REQUEST');
    }
    if (obj(props.pointInTimeRecovery).enabled !== true) {
      report('point-in-time recovery must be enabled');
    }
    for (const replica of list(props.replicas).map(obj)) {
      if (replica.pointInTimeRecovery !== true) {
        report(`the replica in ${String(replica.regionName)} must keep point-in-time recovery`);
      }
    }
  },
);

const redisTlsMultiAz = resourcePolicy(
  'redis-tls-multi-az',
  'Redis encrypts in transit and at rest, requires AUTH, and fails over across AZs.',
  [TYPES.replicationGroup],
  (props, report) => {
    const required: [string, boolean][] = [
      ['transitEncryptionEnabled', props.transitEncryptionEnabled === true],
      ['atRestEncryptionEnabled', props.atRestEncryptionEnabled === true],
      ['multiAzEnabled', props.multiAzEnabled === true],
      ['automaticFailoverEnabled', props.automaticFailoverEnabled === true],
    ];
    for (const [setting, ok] of required) {
      if (!ok) {
        report(`${setting} must be true`);
      }
    }
    if (props.authToken === undefined && list(props.userGroupIds).length === 0) {
      report('an AUTH token (or RBAC user groups) is required');
    }
    if (props.transitEncryptionMode !== undefined && props.transitEncryptionMode !== 'required') {
      report('transitEncryptionMode must be required');
    }
  },
);

const kinesisEncrypted = resourcePolicy(
  'kinesis-encrypted',
  'Kinesis streams are encrypted with KMS.',
  [TYPES.kinesisStream],
  (props, report) => {
    if (props.encryptionType !== 'KMS') {
      report('encryptionType must be KMS');
    }
  },
);

const noCachingOfSignedEndpoints = resourcePolicy(
  'api-caches-public-market-data-only',
  'API Gateway caches only the public market-data routes, never signed or account endpoints.',
  [TYPES.methodSettings],
  (props, report) => {
    const settings = obj(props.settings);
    if (settings.cachingEnabled !== true) {
      return;
    }
    const path = str(props.methodPath) ?? '';
    const allowed = Object.keys(CACHED_ROUTES).map((route) => `${route}/GET`);
    if (!allowed.includes(path)) {
      report(`caching is enabled on ${path}, which is not a public market-data route`);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Kubernetes workloads.

function containersOf(props: Props): Props[] {
  const spec = podSpec(props);
  return [
    ...list(spec.initContainers).filter((c) => obj(c).restartPolicy === 'Always'),
    ...list(spec.containers),
  ].map(obj);
}

const workloadsHaveLimitsAndProbes = resourcePolicy(
  'workloads-have-limits-and-probes',
  'Every container of every workload has CPU and memory limits, a readiness and a liveness probe.',
  [TYPES.deployment, TYPES.statefulSet, TYPES.daemonSet],
  (props, report) => {
    for (const container of containersOf(props)) {
      const name = str(container.name) ?? '?';
      const limits = obj(obj(container.resources).limits);
      if (limits.cpu === undefined || limits.memory === undefined) {
        report(`container ${name} has no CPU and memory limits`);
      }
      if (container.readinessProbe === undefined) {
        report(`container ${name} has no readiness probe`);
      }
      if (container.livenessProbe === undefined) {
        report(`container ${name} has no liveness probe`);
      }
    }
  },
);

const workloadsRunAsNonRoot = resourcePolicy(
  'workloads-run-as-non-root',
  'Every workload runs as a non-root user without privilege escalation.',
  [TYPES.deployment, TYPES.statefulSet, TYPES.daemonSet],
  (props, report) => {
    const podLevel = obj(podSpec(props).securityContext).runAsNonRoot === true;
    for (const container of containersOf(props)) {
      const security = obj(container.securityContext);
      const name = str(container.name) ?? '?';
      if (!podLevel && security.runAsNonRoot !== true) {
        report(`container ${name} may run as root`);
      }
      if (security.allowPrivilegeEscalation !== false) {
        report(`container ${name} allows privilege escalation`);
      }
    }
  },
);

const coreOnCoreNodeGroup = resourcePolicy(
  'core-on-core-node-group',
  'The core runs only on the compute-optimised node group: its node selector and the taint toleration.',
  [TYPES.statefulSet, TYPES.deployment],
  (props, report) => {
    if (roleOf(props) !== 'core') {
      return;
    }
    const spec = podSpec(props);
    if (obj(spec.nodeSelector)[NODE_POOL_LABEL] !== CORE_POOL) {
      report(`the core must select nodes labelled ${NODE_POOL_LABEL}=${CORE_POOL}`);
    }
    const tolerates = list(spec.tolerations)
      .map(obj)
      .some(
        (t) =>
          t.key === CORE_TAINT.key &&
          t.effect === CORE_TAINT.effect &&
          (t.operator === 'Exists' || t.value === CORE_TAINT.value),
      );
    if (!tolerates) {
      report(`the core must tolerate the ${CORE_TAINT.key}=${CORE_TAINT.value}:${CORE_TAINT.effect} taint`);
    }
  },
);

const coreStandbyAcrossZones = resourcePolicy(
  'core-standby-across-zones',
  'A core group runs a standby (or is scaled to zero) and never places two replicas in one AZ.',
  [TYPES.statefulSet],
  (props, report) => {
    if (roleOf(props) !== 'core') {
      return;
    }
    const replicas = num(obj(props.spec).replicas) ?? 1;
    if (replicas === 1) {
      report('a core group needs a standby replica (or zero replicas in a passive region)');
    }
    const required = list(
      obj(obj(podSpec(props).affinity).podAntiAffinity).requiredDuringSchedulingIgnoredDuringExecution,
    );
    if (!required.map(obj).some((term) => term.topologyKey === 'topology.kubernetes.io/zone')) {
      report('core replicas must be anti-affine across zones (required, topology.kubernetes.io/zone)');
    }
  },
);

const coreShardGroupsMatchShardMap = stackPolicy(
  'core-shard-groups-match-shard-map',
  'The core StatefulSets host every shard of the shard map exactly once, with a whole CPU per shard.',
  (resources, report) => {
    const maps = resources.filter(
      (r) => r.type === TYPES.configMap && nameOf(r.props) === SHARD_MAP_CONFIG_MAP.name,
    );
    for (const map of maps) {
      const text = str(obj(map.props.data)[SHARD_MAP_CONFIG_MAP.key]);
      if (text === undefined) {
        continue;
      }
      const expected = [...new Set(Object.values(JSON.parse(text) as Record<string, number>))].sort(
        (a, b) => a - b,
      );
      const cores = resources.filter(
        (r) => r.type === TYPES.statefulSet && scopeOf(r) === scopeOf(map) && roleOf(r.props) === 'core',
      );
      if (cores.length === 0) {
        report(`no core StatefulSet serves the shard map in ${namespaceOf(map.props)}`, map.urn);
        continue;
      }
      const hosted: number[] = [];
      for (const core of cores) {
        const shards = (str(obj(obj(core.props.metadata).annotations)[SHARDS_ANNOTATION]) ?? '')
          .split(',')
          .filter((s) => s !== '')
          .map(Number);
        if (shards.length === 0) {
          report(
            `core StatefulSet ${core.name} does not say which shards it hosts (${SHARDS_ANNOTATION})`,
            core.urn,
          );
        }
        hosted.push(...shards);
        for (const container of containersOf(core.props)) {
          const cpu = cpuCores(obj(obj(container.resources).limits).cpu);
          if (cpu !== undefined && cpu < shards.length + 1) {
            report(
              `core StatefulSet ${core.name} hosts ${shards.length} shards with ${cpu} CPUs: it needs one per shard plus the sequencer`,
              core.urn,
            );
          }
        }
      }
      const sorted = [...hosted].sort((a, b) => a - b);
      if (JSON.stringify(sorted) !== JSON.stringify(expected)) {
        report(
          `the core StatefulSets host shards [${sorted.join(', ')}] but the shard map has [${expected.join(', ')}]`,
          map.urn,
        );
      }
    }
  },
);

const gatewayHasHpaAndPdb = stackPolicy(
  'gateway-has-hpa-and-pdb',
  'Every gateway Deployment is scaled by an HPA and protected by a PodDisruptionBudget.',
  (resources, report) => {
    const gateways = resources.filter((r) => r.type === TYPES.deployment && roleOf(r.props) === 'gateway');
    for (const gateway of gateways) {
      const name = nameOf(gateway.props);
      const scope = scopeOf(gateway);
      const scaled = resources.some((r) => {
        const target = obj(obj(r.props.spec).scaleTargetRef);
        return (
          r.type === TYPES.hpa && scopeOf(r) === scope && target.kind === 'Deployment' && target.name === name
        );
      });
      if (!scaled) {
        report(`gateway Deployment ${gateway.name} has no HorizontalPodAutoscaler`, gateway.urn);
      }
      const labels = obj(podLabels(gateway.props));
      const budgeted = resources.some(
        (r) =>
          r.type === TYPES.pdb &&
          scopeOf(r) === scope &&
          matchesSelector(obj(obj(r.props.spec).selector), labels),
      );
      if (!budgeted) {
        report(`gateway Deployment ${gateway.name} has no PodDisruptionBudget`, gateway.urn);
      }
    }
  },
);

const journalVolumesEncrypted = resourcePolicy(
  'ebs-volumes-encrypted',
  'EBS storage classes (the core journal) create encrypted volumes.',
  [TYPES.storageClass],
  (props, report) => {
    if (props.provisioner === 'ebs.csi.aws.com' && String(obj(props.parameters).encrypted) !== 'true') {
      report('EBS volumes must be encrypted (parameters.encrypted: "true")');
    }
  },
);

/** Every rule of the pack. */
export const policies: Policies = [
  dataPortsNotPublic,
  databaseNotPublic,
  databaseEncrypted,
  databaseDeletionProtection,
  databaseInIsolatedSubnets,
  bucketsBlockPublicAccess,
  bucketsEncrypted,
  bucketsVersioned,
  tradesOnDemandWithPitr,
  redisTlsMultiAz,
  kinesisEncrypted,
  noCachingOfSignedEndpoints,
  workloadsHaveLimitsAndProbes,
  workloadsRunAsNonRoot,
  coreOnCoreNodeGroup,
  coreStandbyAcrossZones,
  coreShardGroupsMatchShardMap,
  gatewayHasHpaAndPdb,
  journalVolumesEncrypted,
];
