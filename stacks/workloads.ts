import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  CORE_GROUP_LABEL,
  CORE_HEALTH_PORT,
  CORE_LINK_PORT,
  CORE_POOL,
  CORE_TAINT,
  DATA_DIR,
  GATEWAY_PORT,
  GENERAL_POOL,
  HEALTH_PATH,
  METRICS_PORT,
  NODE_POOL_LABEL,
  ROLE_LABEL,
  SHARD_MAP_CONFIG_MAP,
  SHARDS_ANNOTATION,
} from './contracts.ts';
import { type ServiceAccountIdentity, serviceAccountRole } from './iam.ts';
import { generatedSecret } from './secrets.ts';
import { type CoreGroup, coreGroups, type ShardMap } from './shard-map.ts';

/** The gateway Deployment. */
export interface GatewaySizing {
  /** HPA minimum. Default 3. */
  minReplicas?: pulumi.Input<number>;
  /** HPA maximum. Default 12. */
  maxReplicas?: pulumi.Input<number>;
  /** CPU request and limit. Default `1`. */
  cpu?: pulumi.Input<string>;
  /** Memory request and limit. Default `1Gi`. */
  memory?: pulumi.Input<string>;
  /** HPA target CPU utilisation, percent. Default 60. */
  targetCpuPercent?: pulumi.Input<number>;
}

/** The journal volume of a core pod. */
export interface JournalVolume {
  /** `gp3` or `io2`. Default `io2`. */
  type?: 'gp3' | 'io2';
  /** Size, GiB. Default 200. */
  sizeGi?: number;
  /** Provisioned IOPS (a group commit is one write, so thousands of orders a second need far fewer). Default 6000. */
  iops?: number;
  /** Throughput, MiB/s (gp3 only). Default 500. */
  throughputMiBps?: number;
}

/**
 * The core StatefulSets. Plain values: the CPU of a core pod is computed from its shard count
 * (one whole CPU per shard worker plus the overhead), and Guaranteed QoS with whole CPUs is
 * what earns exclusive cores from the kubelet's static CPU manager.
 */
export interface CoreSizing {
  /** Standby replicas per core group. Default 1. */
  standbyReplicas?: number;
  /** Whole CPUs per shard worker. Default 1. */
  cpuPerShard?: number;
  /** Whole CPUs for the sequencer, the journal and the runtime. Default 2. */
  overheadCpu?: number;
  /** Memory request and limit. Default `8Gi`. */
  memory?: pulumi.Input<string>;
  /** The journal volume. */
  journal?: JournalVolume;
}

/** The persister Deployment. */
export interface PersisterSizing {
  /** Replicas. Default 1. */
  replicas?: pulumi.Input<number>;
  /** CPU request and limit. Default `1`. */
  cpu?: pulumi.Input<string>;
  /** Memory request and limit. Default `1Gi`. */
  memory?: pulumi.Input<string>;
}

/** A secret in this region's Secrets Manager and the key that encrypts it here. */
export interface SecretRef {
  /** The secret's name. */
  secretName: pulumi.Input<string>;
  /** The KMS key's ARN. */
  kmsKeyArn: pulumi.Input<string>;
}

/** Arguments of {@link Workloads}. */
export interface WorkloadsArgs {
  /** Name used in names and labels. */
  environment: pulumi.Input<string>;
  /** The cluster's Kubernetes provider. Plain: resources are created with it. */
  kubernetesProvider: k8s.Provider;
  /** The cluster's OIDC provider, for the service accounts' IAM roles. */
  identity: Pick<ServiceAccountIdentity, 'oidcProviderArn' | 'oidcIssuer'>;
  /** The application image. */
  image: pulumi.Input<string>;
  /** The namespace. Plain: it is part of the IAM trust policies. Default `crossbook`. */
  namespace?: string;
  /**
   * `active`: this region runs the core and the persister. `passive`: the disaster-recovery
   * region, everything defined but the core and persister scaled to zero and the gateways to
   * one, until an operator fails over. Plain: it sizes resources. Default `active`.
   */
  mode?: 'active' | 'passive';
  /** The markets configuration file (config/markets.json), verbatim. */
  marketsJson: pulumi.Input<string>;
  /** The shard map (symbol -> shard). Plain: it decides the core groups and their CPUs. */
  shardMap: ShardMap;
  /** Shards per core group. Plain. Default: one group with every shard. */
  coreShardSets?: number[][];
  /** The gateway Deployment. */
  gateway?: GatewaySizing;
  /** The core StatefulSets. */
  core?: CoreSizing;
  /** The persister Deployment. */
  persister?: PersisterSizing;
  /** The target group the gateways register in (IP targets). */
  gatewayTargetGroupArn: pulumi.Input<string>;
  /** The VPC CIDR (the load balancer's addresses, the kubelets' probes). */
  vpcCidr: pulumi.Input<string>;
  /** The accounts database. */
  database: SecretRef & {
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    name: pulumi.Input<string>;
  };
  /** The market-data Redis. */
  redis: SecretRef & { host: pulumi.Input<string>; port: pulumi.Input<number> };
  /** The trade history table. */
  trades: {
    tableName: pulumi.Input<string>;
    tableArn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
  };
  /** The market-data stream for downstream consumers. */
  marketDataStream: {
    name: pulumi.Input<string>;
    arn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
  };
  /** Where the core writes its snapshots. */
  snapshots: {
    bucketName: pulumi.Input<string>;
    bucketArn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
  };
  /** The OpenTelemetry collector's OTLP/HTTP endpoint. */
  otlpEndpoint: pulumi.Input<string>;
  /**
   * The add-ons whose custom resource definitions the workloads use (External Secrets, the AWS
   * Load Balancer Controller): the secret store, the external secrets and the target group
   * binding wait for them. Plain resources. Default none.
   */
  addons?: pulumi.Resource[];
}

/** What one core group deployed. */
export interface DeployedCoreGroup extends CoreGroup {
  /** The StatefulSet. */
  statefulSet: k8s.apps.v1.StatefulSet;
  /** The Service the gateways and the persister dial (ready, i.e. active, pods only). */
  service: k8s.core.v1.Service;
  /** The headless Service giving each replica its DNS name. */
  peers: k8s.core.v1.Service;
  /** The PodDisruptionBudget. */
  budget: k8s.policy.v1.PodDisruptionBudget;
  /** Whole CPUs per pod. */
  cpu: number;
}

/**
 * The application on the cluster. Namespace; config maps for the markets and the shard map;
 * secrets from Secrets Manager through External Secrets; the gateway Deployment behind the
 * load balancer's target group with an HPA; the core as one StatefulSet per core group (its
 * shards from the shard map, its CPUs from its shard count, its journal on a provisioned EBS
 * volume, a standby replica in another AZ); the persister Deployment; PodDisruptionBudgets,
 * probes and limits on everything, and network policies admitting only the traffic each role
 * serves.
 */
export class Workloads extends pulumi.ComponentResource {
  /** The namespace. */
  public readonly namespace: k8s.core.v1.Namespace;
  /** The markets config map. */
  public readonly marketsConfig: k8s.core.v1.ConfigMap;
  /** The shard map config map. */
  public readonly shardMapConfig: k8s.core.v1.ConfigMap;
  /** The journal storage class. */
  public readonly journalStorageClass: k8s.storage.v1.StorageClass;
  /** The gateway Deployment. */
  public readonly gateway: k8s.apps.v1.Deployment;
  /** The gateway HPA. */
  public readonly gatewayAutoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  /** The gateway PodDisruptionBudget. */
  public readonly gatewayBudget: k8s.policy.v1.PodDisruptionBudget;
  /** The core groups. */
  public readonly coreGroups: DeployedCoreGroup[];
  /** The persister Deployment. */
  public readonly persister: k8s.apps.v1.Deployment;
  /** The persister PodDisruptionBudget. */
  public readonly persisterBudget: k8s.policy.v1.PodDisruptionBudget;
  /** The network policies. */
  public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
  /** The namespace's name. */
  public readonly namespaceName: pulumi.Output<string>;
  /** The core StatefulSets' names. */
  public readonly coreStatefulSetNames: pulumi.Output<string[]>;
  /** The number of shards (matching workers) across the core groups. */
  public readonly shardCount: number;

  constructor(name: string, args: WorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Workloads', name, {}, opts);
    const ns = args.namespace ?? 'crossbook';
    const active = (args.mode ?? 'active') === 'active';
    const groups = coreGroups(args.shardMap, args.coreShardSets);
    this.shardCount = groups.reduce((n, g) => n + g.shards.length, 0);
    const k8sOpts = { parent: this, provider: args.kubernetesProvider };
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const env = args.environment;

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: ns,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'crossbook.io/environment': env,
          },
        },
      },
      k8sOpts,
    );
    this.namespaceName = this.namespace.metadata.name;
    const inNamespace = { ...k8sOpts, dependsOn: [this.namespace] };
    const withAddons = { ...k8sOpts, dependsOn: [this.namespace, ...(args.addons ?? [])] };

    this.marketsConfig = new k8s.core.v1.ConfigMap(
      `${name}-markets`,
      { metadata: { name: 'markets', namespace: ns }, data: { 'markets.json': args.marketsJson } },
      inNamespace,
    );
    this.shardMapConfig = new k8s.core.v1.ConfigMap(
      `${name}-shard-map`,
      {
        metadata: { name: SHARD_MAP_CONFIG_MAP.name, namespace: ns },
        data: { [SHARD_MAP_CONFIG_MAP.key]: JSON.stringify(args.shardMap, null, 2) },
      },
      inNamespace,
    );

    const journal = {
      type: args.core?.journal?.type ?? 'io2',
      sizeGi: args.core?.journal?.sizeGi ?? 200,
      iops: args.core?.journal?.iops ?? 6000,
      throughputMiBps: args.core?.journal?.throughputMiBps ?? 500,
    };
    this.journalStorageClass = new k8s.storage.v1.StorageClass(
      `${name}-journal`,
      {
        metadata: { name: `crossbook-journal-${journal.type}` },
        provisioner: 'ebs.csi.aws.com',
        parameters: {
          type: journal.type,
          iops: String(journal.iops),
          ...(journal.type === 'gp3' ? { throughput: String(journal.throughputMiBps) } : {}),
          encrypted: 'true',
          'csi.storage.k8s.io/fstype': 'xfs',
        },
        // The journal outlives its pod: a volume is never deleted with its claim.
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
      },
      k8sOpts,
    );
    const corePriority = new k8s.scheduling.v1.PriorityClass(
      `${name}-core-priority`,
      {
        metadata: { name: 'crossbook-core' },
        value: 1_000_000,
        preemptionPolicy: 'PreemptLowerPriority',
        description: 'The matching engine core: schedules before anything else',
      },
      k8sOpts,
    );

    // Identities: each role's service account has its own IAM role with only what it uses.
    const role = (
      sa: string,
      statements: { actions: string[]; resources: pulumi.Input<pulumi.Input<string>[]> }[],
    ) =>
      serviceAccountRole(
        `${name}-${sa}`,
        { ...args.identity, namespace: ns, serviceAccount: sa, statements },
        { parent: this },
      );
    const serviceAccount = (sa: string, iamRole: aws.iam.Role) =>
      new k8s.core.v1.ServiceAccount(
        `${name}-${sa}-sa`,
        {
          metadata: { name: sa, namespace: ns, annotations: { 'eks.amazonaws.com/role-arn': iamRole.arn } },
          // IRSA mounts its own web-identity token; the pods never call the Kubernetes API.
          automountServiceAccountToken: false,
        },
        inNamespace,
      );
    const tableAndIndexes = [args.trades.tableArn, pulumi.interpolate`${args.trades.tableArn}/index/*`];
    const adminToken = generatedSecret(
      `${name}-admin-token`,
      {
        description: pulumi.interpolate`Admin API token of ${env}`,
        secretName: pulumi.interpolate`crossbook/${env}/admin-token`,
        length: 48,
      },
      { parent: this },
    );
    // Secrets are named, not addressed by ARN: the database secret is a replica in the
    // secondary region, with the same name and another ARN.
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const secretArnPattern = (secretName: pulumi.Input<string>) =>
      pulumi.interpolate`arn:aws:secretsmanager:${region}:${account}:secret:${secretName}-??????`;
    const secretsReader = role('secrets-reader', [
      {
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [
          secretArnPattern(args.database.secretName),
          secretArnPattern(args.redis.secretName),
          adminToken.secret.arn,
        ],
      },
      { actions: ['kms:Decrypt'], resources: [args.database.kmsKeyArn, args.redis.kmsKeyArn] },
    ]);
    const gatewayRole = role('gateway', [
      {
        actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: tableAndIndexes,
      },
      { actions: ['kms:Decrypt'], resources: [args.trades.kmsKeyArn] },
    ]);
    const coreRole = role('core', [
      { actions: ['s3:ListBucket'], resources: [args.snapshots.bucketArn] },
      {
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [pulumi.interpolate`${args.snapshots.bucketArn}/core/*`],
      },
      {
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [args.snapshots.kmsKeyArn],
      },
    ]);
    const persisterRole = role('persister', [
      {
        actions: [
          'dynamodb:BatchWriteItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:ConditionCheckItem',
        ],
        resources: tableAndIndexes,
      },
      {
        actions: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary'],
        resources: [args.marketDataStream.arn],
      },
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [args.trades.kmsKeyArn, args.marketDataStream.kmsKeyArn],
      },
    ]);
    const readerSa = serviceAccount('secrets-reader', secretsReader);
    const gatewaySa = serviceAccount('gateway', gatewayRole);
    const coreSa = serviceAccount('core', coreRole);
    const persisterSa = serviceAccount('persister', persisterRole);

    // Secrets Manager -> Kubernetes secrets, refreshed hourly (rotation reaches the pods on
    // their next restart).
    const store = new k8s.apiextensions.CustomResource(
      `${name}-secret-store`,
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'aws-secrets-manager', namespace: ns },
        spec: {
          provider: {
            aws: {
              service: 'SecretsManager',
              region,
              auth: { jwt: { serviceAccountRef: { name: readerSa.metadata.name } } },
            },
          },
        },
      },
      withAddons,
    );
    const externalSecret = (
      key: string,
      target: string,
      secretName: pulumi.Input<string>,
      properties: string[],
      template: Record<string, pulumi.Input<string>>,
    ) =>
      new k8s.apiextensions.CustomResource(
        `${name}-${key}-secret`,
        {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: target, namespace: ns },
          spec: {
            refreshInterval: '1h',
            secretStoreRef: { kind: 'SecretStore', name: store.metadata.name },
            target: {
              name: target,
              creationPolicy: 'Owner',
              template: { engineVersion: 'v2', data: template },
            },
            data: properties.map((property) => ({
              secretKey: property,
              remoteRef: { key: secretName, property },
            })),
          },
        },
        { ...withAddons, dependsOn: [...withAddons.dependsOn, store] },
      );
    externalSecret('database', 'crossbook-database', args.database.secretName, ['username', 'password'], {
      DATABASE_URL: pulumi.interpolate`postgresql://{{ .username }}:{{ .password }}@${args.database.host}:${args.database.port}/${args.database.name}?sslmode=require`,
    });
    externalSecret('redis', 'crossbook-redis', args.redis.secretName, ['password'], {
      REDIS_URL: pulumi.interpolate`rediss://:{{ .password }}@${args.redis.host}:${args.redis.port}`,
    });
    externalSecret('admin', 'crossbook-admin', adminToken.secretName, ['password'], {
      CROSSBOOK_ADMIN_TOKEN: '{{ .password }}',
    });

    // What every application pod shares.
    const coreAddresses = groups
      .map((g) => `core-${g.index}.${ns}.svc.cluster.local:${CORE_LINK_PORT}`)
      .join(',');
    const commonEnv = [
      { name: 'NODE_ENV', value: 'production' },
      { name: 'CROSSBOOK_ENVIRONMENT', value: env },
      { name: 'AWS_REGION', value: region },
      { name: 'CROSSBOOK_MARKETS_FILE', value: '/etc/crossbook/markets/markets.json' },
      { name: 'CROSSBOOK_SHARD_MAP_FILE', value: `/etc/crossbook/shard-map/${SHARD_MAP_CONFIG_MAP.key}` },
      { name: 'CROSSBOOK_CORE_ADDRESSES', value: coreAddresses },
      { name: 'CROSSBOOK_METRICS_PORT', value: String(METRICS_PORT) },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: args.otlpEndpoint },
      { name: 'OTEL_RESOURCE_ATTRIBUTES', value: pulumi.interpolate`deployment.environment=${env}` },
      // npm and tsx write caches; the root filesystem is read-only.
      { name: 'HOME', value: '/tmp' },
      { name: 'NPM_CONFIG_CACHE', value: '/tmp/.npm' },
      { name: 'NPM_CONFIG_UPDATE_NOTIFIER', value: 'false' },
    ];
    const secretsEnv = (...secrets: string[]) => secrets.map((s) => ({ secretRef: { name: s } }));
    const configVolumes = [
      { name: 'markets', configMap: { name: this.marketsConfig.metadata.name } },
      { name: 'shard-map', configMap: { name: this.shardMapConfig.metadata.name } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    ];
    const configMounts = [
      { name: 'markets', mountPath: '/etc/crossbook/markets', readOnly: true },
      { name: 'shard-map', mountPath: '/etc/crossbook/shard-map', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const podSecurity = {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const containerSecurity = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    };
    const labelsFor = (roleName: string, extra: Record<string, string> = {}) => ({
      'app.kubernetes.io/name': 'crossbook',
      'app.kubernetes.io/component': roleName,
      [ROLE_LABEL]: roleName,
      ...extra,
    });
    const scrape = {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(METRICS_PORT),
      'prometheus.io/path': '/metrics',
    };
    const command = (roles: string) => ['npm', 'start', '--', '--roles', roles];
    const zoneSpread = (labels: Record<string, string>) => [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: labels },
      },
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: labels },
      },
    ];

    // Gateway: stateless, behind the load balancer, scaled on CPU.
    const gatewayLabels = labelsFor('gateway');
    const gatewaySizing = args.gateway ?? {};
    const gatewayCpu = gatewaySizing.cpu ?? '1';
    const gatewayMemory = gatewaySizing.memory ?? '1Gi';
    this.gateway = new k8s.apps.v1.Deployment(
      `${name}-gateway`,
      {
        metadata: { name: 'gateway', namespace: ns, labels: gatewayLabels },
        spec: {
          // No replica count: the HPA owns it.
          selector: { matchLabels: gatewayLabels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
          template: {
            metadata: { labels: gatewayLabels, annotations: scrape },
            spec: {
              serviceAccountName: gatewaySa.metadata.name,
              automountServiceAccountToken: false,
              nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL },
              topologySpreadConstraints: zoneSpread(gatewayLabels),
              securityContext: podSecurity,
              // Long enough for clients to move their WebSockets after the drain starts.
              terminationGracePeriodSeconds: 60,
              containers: [
                {
                  name: 'gateway',
                  image: args.image,
                  args: command('gateway'),
                  ports: [
                    { name: 'http', containerPort: GATEWAY_PORT },
                    { name: 'metrics', containerPort: METRICS_PORT },
                  ],
                  env: [
                    ...commonEnv,
                    { name: 'PORT', value: String(GATEWAY_PORT) },
                    { name: 'OTEL_SERVICE_NAME', value: 'crossbook-gateway' },
                  ],
                  envFrom: secretsEnv('crossbook-database', 'crossbook-redis', 'crossbook-admin'),
                  resources: {
                    requests: { cpu: gatewayCpu, memory: gatewayMemory },
                    limits: { cpu: gatewayCpu, memory: gatewayMemory },
                  },
                  startupProbe: {
                    httpGet: { path: HEALTH_PATH, port: 'http' },
                    periodSeconds: 2,
                    failureThreshold: 60,
                  },
                  readinessProbe: {
                    httpGet: { path: HEALTH_PATH, port: 'http' },
                    periodSeconds: 5,
                    failureThreshold: 2,
                  },
                  livenessProbe: {
                    httpGet: { path: HEALTH_PATH, port: 'http' },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  // Keep serving while the load balancer deregisters the pod.
                  lifecycle: { preStop: { sleep: { seconds: 15 } } },
                  securityContext: containerSecurity,
                  volumeMounts: configMounts,
                },
              ],
              volumes: configVolumes,
            },
          },
        },
      },
      inNamespace,
    );
    const gatewayService = new k8s.core.v1.Service(
      `${name}-gateway-service`,
      {
        metadata: { name: 'gateway', namespace: ns, labels: gatewayLabels },
        spec: { selector: gatewayLabels, ports: [{ name: 'http', port: GATEWAY_PORT, targetPort: 'http' }] },
      },
      inNamespace,
    );
    new k8s.apiextensions.CustomResource(
      `${name}-gateway-targets`,
      {
        apiVersion: 'elbv2.k8s.aws/v1beta1',
        kind: 'TargetGroupBinding',
        metadata: { name: 'gateway', namespace: ns },
        spec: {
          serviceRef: { name: gatewayService.metadata.name, port: GATEWAY_PORT },
          targetGroupARN: args.gatewayTargetGroupArn,
          targetType: 'ip',
        },
      },
      withAddons,
    );
    const minReplicas = active ? (gatewaySizing.minReplicas ?? 3) : 1;
    this.gatewayAutoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-gateway-hpa`,
      {
        metadata: { name: 'gateway', namespace: ns, labels: gatewayLabels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.gateway.metadata.name },
          minReplicas,
          maxReplicas: gatewaySizing.maxReplicas ?? 12,
          metrics: [
            {
              type: 'Resource',
              resource: {
                name: 'cpu',
                target: { type: 'Utilization', averageUtilization: gatewaySizing.targetCpuPercent ?? 60 },
              },
            },
          ],
          behavior: {
            scaleUp: {
              stabilizationWindowSeconds: 0,
              policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }],
            },
            // Scaling in drops WebSockets: slowly, one pod a minute.
            scaleDown: {
              stabilizationWindowSeconds: 300,
              policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
            },
          },
        },
      },
      inNamespace,
    );
    this.gatewayBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-gateway-pdb`,
      {
        metadata: { name: 'gateway', namespace: ns, labels: gatewayLabels },
        spec: { maxUnavailable: 1, selector: { matchLabels: gatewayLabels } },
      },
      inNamespace,
    );

    // Core: one StatefulSet per core group. Replica 0 starts as the primary, the others
    // replay its journal over the binary link as standbys; only the active core reports ready
    // on /healthz, so the group's Service routes to it alone.
    const standbys = args.core?.standbyReplicas ?? 1;
    const cpuPerShard = args.core?.cpuPerShard ?? 1;
    const overheadCpu = args.core?.overheadCpu ?? 2;
    const coreMemory = args.core?.memory ?? '8Gi';
    const replicas = active ? 1 + standbys : 0;
    this.coreGroups = groups.map((group) => {
      const groupName = `core-${group.index}`;
      const labels = labelsFor('core', { [CORE_GROUP_LABEL]: String(group.index) });
      const shards = group.shards.join(',');
      const cpu = group.shards.length * cpuPerShard + overheadCpu;
      const peers = new k8s.core.v1.Service(
        `${name}-${groupName}-peers`,
        {
          metadata: { name: `${groupName}-peers`, namespace: ns, labels },
          spec: {
            clusterIP: 'None',
            publishNotReadyAddresses: true,
            selector: labels,
            ports: [
              { name: 'link', port: CORE_LINK_PORT, targetPort: 'link' },
              { name: 'health', port: CORE_HEALTH_PORT, targetPort: 'health' },
            ],
          },
        },
        inNamespace,
      );
      const service = new k8s.core.v1.Service(
        `${name}-${groupName}-service`,
        {
          metadata: { name: groupName, namespace: ns, labels },
          spec: { selector: labels, ports: [{ name: 'link', port: CORE_LINK_PORT, targetPort: 'link' }] },
        },
        inNamespace,
      );
      const peerAddresses = [...Array(1 + standbys).keys()]
        .map((i) => `${groupName}-${i}.${groupName}-peers.${ns}.svc.cluster.local:${CORE_LINK_PORT}`)
        .join(',');
      const statefulSet = new k8s.apps.v1.StatefulSet(
        `${name}-${groupName}`,
        {
          metadata: { name: groupName, namespace: ns, labels, annotations: { [SHARDS_ANNOTATION]: shards } },
          spec: {
            replicas,
            serviceName: peers.metadata.name,
            podManagementPolicy: 'Parallel',
            updateStrategy: { type: 'RollingUpdate' },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
            selector: { matchLabels: labels },
            template: {
              metadata: {
                labels,
                annotations: {
                  ...scrape,
                  [SHARDS_ANNOTATION]: shards,
                  // The autoscaler must never move a core to save a node.
                  'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
                },
              },
              spec: {
                serviceAccountName: coreSa.metadata.name,
                automountServiceAccountToken: false,
                priorityClassName: corePriority.metadata.name,
                nodeSelector: { [NODE_POOL_LABEL]: CORE_POOL },
                tolerations: [
                  {
                    key: CORE_TAINT.key,
                    operator: 'Equal',
                    value: CORE_TAINT.value,
                    effect: CORE_TAINT.effect,
                  },
                ],
                affinity: {
                  podAntiAffinity: {
                    // The primary and its standbys never share an AZ (nor, therefore, a node).
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      { labelSelector: { matchLabels: labels }, topologyKey: 'topology.kubernetes.io/zone' },
                    ],
                  },
                },
                securityContext: podSecurity,
                terminationGracePeriodSeconds: 60,
                containers: [
                  {
                    name: 'core',
                    image: args.image,
                    args: command('core'),
                    ports: [
                      { name: 'link', containerPort: CORE_LINK_PORT },
                      { name: 'health', containerPort: CORE_HEALTH_PORT },
                      { name: 'metrics', containerPort: METRICS_PORT },
                    ],
                    env: [
                      ...commonEnv,
                      { name: 'CROSSBOOK_DATA_DIR', value: DATA_DIR },
                      { name: 'CROSSBOOK_CORE_GROUP', value: String(group.index) },
                      { name: 'CROSSBOOK_SHARDS', value: shards },
                      { name: 'CROSSBOOK_CORE_PEERS', value: peerAddresses },
                      { name: 'CROSSBOOK_LINK_PORT', value: String(CORE_LINK_PORT) },
                      { name: 'CROSSBOOK_HEALTH_PORT', value: String(CORE_HEALTH_PORT) },
                      { name: 'CROSSBOOK_SNAPSHOT_BUCKET', value: args.snapshots.bucketName },
                      { name: 'CROSSBOOK_SNAPSHOT_PREFIX', value: `core/${group.index}/` },
                      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                      { name: 'OTEL_SERVICE_NAME', value: 'crossbook-core' },
                    ],
                    envFrom: secretsEnv('crossbook-redis', 'crossbook-admin'),
                    // Guaranteed QoS with whole CPUs: exclusive cores for the sequencer and each shard.
                    resources: {
                      requests: { cpu: String(cpu), memory: coreMemory },
                      limits: { cpu: String(cpu), memory: coreMemory },
                    },
                    // Replaying the journal after a restart may take a while; ten minutes at most.
                    startupProbe: { tcpSocket: { port: 'health' }, periodSeconds: 5, failureThreshold: 120 },
                    readinessProbe: {
                      httpGet: { path: '/healthz', port: 'health' },
                      periodSeconds: 2,
                      failureThreshold: 2,
                      successThreshold: 1,
                    },
                    // A standby is alive but not ready: liveness only asks whether the process answers.
                    livenessProbe: { tcpSocket: { port: 'health' }, periodSeconds: 10, failureThreshold: 3 },
                    securityContext: containerSecurity,
                    volumeMounts: [...configMounts, { name: 'journal', mountPath: DATA_DIR }],
                  },
                ],
                volumes: configVolumes,
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: 'journal', labels },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  storageClassName: this.journalStorageClass.metadata.name,
                  resources: { requests: { storage: `${journal.sizeGi}Gi` } },
                },
              },
            ],
          },
        },
        inNamespace,
      );
      // Voluntary disruptions never take the active core: an operator fails over first. A
      // standby (not ready) may always be evicted.
      const budget = new k8s.policy.v1.PodDisruptionBudget(
        `${name}-${groupName}-pdb`,
        {
          metadata: { name: groupName, namespace: ns, labels },
          spec: {
            minAvailable: 1,
            unhealthyPodEvictionPolicy: 'AlwaysAllow',
            selector: { matchLabels: labels },
          },
        },
        inNamespace,
      );
      return { ...group, statefulSet, service, peers, budget, cpu };
    });

    // Persister: a single writer by sequence; a restart resumes where it stopped.
    const persisterLabels = labelsFor('persister');
    const persisterSizing = args.persister ?? {};
    const persisterCpu = persisterSizing.cpu ?? '1';
    const persisterMemory = persisterSizing.memory ?? '1Gi';
    this.persister = new k8s.apps.v1.Deployment(
      `${name}-persister`,
      {
        metadata: { name: 'persister', namespace: ns, labels: persisterLabels },
        spec: {
          replicas: active ? (persisterSizing.replicas ?? 1) : 0,
          selector: { matchLabels: persisterLabels },
          // Never two persisters writing at once.
          strategy: { type: 'Recreate' },
          template: {
            metadata: { labels: persisterLabels, annotations: scrape },
            spec: {
              serviceAccountName: persisterSa.metadata.name,
              automountServiceAccountToken: false,
              nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL },
              securityContext: podSecurity,
              terminationGracePeriodSeconds: 60,
              containers: [
                {
                  name: 'persister',
                  image: args.image,
                  args: command('persister'),
                  ports: [{ name: 'metrics', containerPort: METRICS_PORT }],
                  env: [
                    ...commonEnv,
                    { name: 'CROSSBOOK_TRADES_TABLE', value: args.trades.tableName },
                    { name: 'CROSSBOOK_MARKET_DATA_STREAM', value: args.marketDataStream.name },
                    { name: 'OTEL_SERVICE_NAME', value: 'crossbook-persister' },
                  ],
                  envFrom: secretsEnv('crossbook-database', 'crossbook-redis'),
                  resources: {
                    requests: { cpu: persisterCpu, memory: persisterMemory },
                    limits: { cpu: persisterCpu, memory: persisterMemory },
                  },
                  startupProbe: {
                    httpGet: { path: '/metrics', port: 'metrics' },
                    periodSeconds: 2,
                    failureThreshold: 60,
                  },
                  readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, periodSeconds: 10 },
                  livenessProbe: {
                    httpGet: { path: '/metrics', port: 'metrics' },
                    periodSeconds: 20,
                    failureThreshold: 3,
                  },
                  securityContext: containerSecurity,
                  volumeMounts: configMounts,
                },
              ],
              volumes: configVolumes,
            },
          },
        },
      },
      inNamespace,
    );
    this.persisterBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-persister-pdb`,
      {
        metadata: { name: 'persister', namespace: ns, labels: persisterLabels },
        spec: { maxUnavailable: 1, selector: { matchLabels: persisterLabels } },
      },
      inNamespace,
    );

    // Network policies: nothing reaches a pod unless listed here.
    const fromObservability = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } },
    };
    const fromVpc = { ipBlock: { cidr: args.vpcCidr } };
    const fromRoles = (...roles: string[]) => ({
      podSelector: { matchExpressions: [{ key: ROLE_LABEL, operator: 'In', values: roles }] },
    });
    const policy = (key: string, podSelector: Record<string, unknown>, ingress: unknown[]) =>
      new k8s.networking.v1.NetworkPolicy(
        `${name}-netpol-${key}`,
        {
          metadata: { name: key, namespace: ns },
          spec: {
            podSelector,
            policyTypes: ['Ingress'],
            ingress: ingress as k8s.types.input.networking.v1.NetworkPolicyIngressRule[],
          },
        },
        inNamespace,
      );
    this.networkPolicies = [
      policy('default-deny-ingress', {}, []),
      policy('gateway', { matchLabels: { [ROLE_LABEL]: 'gateway' } }, [
        { from: [fromVpc], ports: [{ port: GATEWAY_PORT, protocol: 'TCP' }] },
        { from: [fromObservability], ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
      ]),
      policy('core', { matchLabels: { [ROLE_LABEL]: 'core' } }, [
        {
          from: [fromRoles('gateway', 'persister', 'core')],
          ports: [{ port: CORE_LINK_PORT, protocol: 'TCP' }],
        },
        { from: [fromVpc], ports: [{ port: CORE_HEALTH_PORT, protocol: 'TCP' }] },
        { from: [fromObservability], ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
      ]),
      policy('persister', { matchLabels: { [ROLE_LABEL]: 'persister' } }, [
        { from: [fromVpc], ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
        { from: [fromObservability], ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
      ]),
    ];

    this.coreStatefulSetNames = pulumi.all(this.coreGroups.map((g) => g.statefulSet.metadata.name));
    this.registerOutputs({
      namespace: this.namespaceName,
      gateway: this.gateway.metadata.name,
      coreStatefulSets: this.coreStatefulSetNames,
      persister: this.persister.metadata.name,
    });
  }
}
