import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { GENERAL_POOL, NODE_POOL_LABEL, ROLE_LABEL } from './contracts.ts';
import { managedPolicy, serviceAccountRole } from './iam.ts';

/** The application metrics the alarms watch (published through the collector as CloudWatch EMF). */
export const APP_METRICS = {
  /** Order acknowledgement latency at the gateway, seconds (histogram; alarmed at p99). */
  orderLatency: 'crossbook_order_latency_seconds',
  /** How far a standby core's journal replay trails the primary, seconds. */
  journalLag: 'crossbook_journal_lag_seconds',
} as const;

/** Alarm thresholds. */
export interface AlarmThresholds {
  /** Order acknowledgement latency p99, milliseconds. Default 5. */
  orderLatencyP99Ms?: number;
  /** Share of 5xx responses at the load balancer, percent. Default 1. */
  http5xxPercent?: number;
  /** Standby journal lag, milliseconds. Default 500. */
  journalLagMs?: number;
  /** Kinesis consumers' iterator age, milliseconds. Default 60000. */
  kinesisIteratorAgeMs?: number;
  /** Aurora writer CPU, percent. Default 80. */
  auroraCpuPercent?: number;
  /** Busiest Redis node's engine CPU, percent. Default 75. */
  redisCpuPercent?: number;
}

/** Where CloudWatch log groups are shipped (a Firehose stream into the logs bucket). */
export interface LogShippingArgs {
  /** The Firehose stream. */
  destinationArn: pulumi.Input<string>;
  /** The role CloudWatch Logs assumes to write to it. */
  roleArn: pulumi.Input<string>;
}

/** Arguments of {@link Observability}. */
export interface ObservabilityArgs {
  /** Name used in names, tags and the metrics namespace. */
  environment: pulumi.Input<string>;
  /** The EKS cluster. */
  clusterName: pulumi.Input<string>;
  /** The cluster's control-plane log group. */
  controlPlaneLogGroupName: pulumi.Input<string>;
  /** The cluster's IAM OIDC provider. */
  oidcProviderArn: pulumi.Input<string>;
  /** The OIDC issuer without `https://`. */
  oidcIssuer: pulumi.Input<string>;
  /** The cluster's Kubernetes provider. Plain: resources are created with it. */
  kubernetesProvider: k8s.Provider;
  /** The namespace whose pods are scraped. Default `crossbook`. */
  appNamespace?: pulumi.Input<string>;
  /** The public load balancer's ARN suffix. */
  albArnSuffix: pulumi.Input<string>;
  /** The Aurora cluster identifier in this region. */
  dbClusterIdentifier: pulumi.Input<string>;
  /** The Redis node ids. */
  redisNodeIds: pulumi.Input<string[]>;
  /** The market-data stream. */
  kinesisStreamName: pulumi.Input<string>;
  /** Its enhanced fan-out consumer. */
  kinesisConsumerName: pulumi.Input<string>;
  /** The trades table. */
  tradesTableName: pulumi.Input<string>;
  /** Where alarms are mailed. Default: nowhere (subscribe to the topic). */
  alarmEmail?: pulumi.Input<string>;
  /** Days logs are kept in CloudWatch. Default 30. */
  logRetentionDays?: pulumi.Input<number>;
  /** Share of requests traced. Default 0.05. */
  tracingSampleRate?: pulumi.Input<number>;
  /** Alarm thresholds. */
  thresholds?: AlarmThresholds;
  /** Ship the cluster's log groups to S3. Default: not shipped. */
  logShipping?: LogShippingArgs;
  /** The OpenTelemetry collector image. Default `public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3`. */
  collectorImage?: pulumi.Input<string>;
}

/**
 * Observability: CloudWatch log groups for the cluster's containers (shipped by the CloudWatch
 * observability add-on's Fluent Bit, and on to S3 through Firehose), an OpenTelemetry collector
 * in the cluster that sends traces to X-Ray and scrapes the pods' Prometheus metrics into
 * CloudWatch (EMF), the X-Ray sampling rule and group, alarms on order latency, 5xx, journal
 * lag, Aurora, Redis, Kinesis iterator age and DynamoDB throttling into an SNS topic, and a
 * dashboard of the same signals.
 */
export class Observability extends pulumi.ComponentResource {
  /** The topic every alarm notifies. */
  public readonly alarmTopic: aws.sns.Topic;
  /** The alarms, by short name. */
  public readonly alarms: Record<string, aws.cloudwatch.MetricAlarm>;
  /** The dashboard. */
  public readonly dashboard: aws.cloudwatch.Dashboard;
  /** The container log groups, by kind. */
  public readonly logGroups: Record<string, aws.cloudwatch.LogGroup>;
  /** The CloudWatch observability add-on (CloudWatch agent and Fluent Bit). */
  public readonly cloudWatchAddon: aws.eks.Addon;
  /** The collector Deployment. */
  public readonly collector: k8s.apps.v1.Deployment;
  /** The collector's PodDisruptionBudget. */
  public readonly collectorBudget: k8s.policy.v1.PodDisruptionBudget;
  /** The X-Ray sampling rule. */
  public readonly samplingRule: aws.xray.SamplingRule;
  /** The OTLP/HTTP endpoint the applications export to. */
  public readonly otlpEndpoint: pulumi.Output<string>;
  /** The CloudWatch namespace of the application metrics. */
  public readonly metricsNamespace: pulumi.Output<string>;
  /** The alarm topic's ARN. */
  public readonly alarmTopicArn: pulumi.Output<string>;
  /** The dashboard's name. */
  public readonly dashboardName: pulumi.Output<string>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Observability', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env };
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const retention = args.logRetentionDays ?? 30;
    const appNamespace = args.appNamespace ?? 'crossbook';
    const limits = {
      orderLatencyP99Ms: args.thresholds?.orderLatencyP99Ms ?? 5,
      http5xxPercent: args.thresholds?.http5xxPercent ?? 1,
      journalLagMs: args.thresholds?.journalLagMs ?? 500,
      kinesisIteratorAgeMs: args.thresholds?.kinesisIteratorAgeMs ?? 60000,
      auroraCpuPercent: args.thresholds?.auroraCpuPercent ?? 80,
      redisCpuPercent: args.thresholds?.redisCpuPercent ?? 75,
    };
    this.metricsNamespace = pulumi.interpolate`Crossbook/${env}`;
    const k8sOpts = { parent: this, provider: args.kubernetesProvider };

    // Logs. The add-on's Fluent Bit creates these groups on first write when they are missing,
    // without retention, so they exist before the add-on does.
    this.logGroups = {};
    for (const kind of ['application', 'dataplane', 'host', 'performance']) {
      this.logGroups[kind] = new aws.cloudwatch.LogGroup(
        `${name}-${kind}-logs`,
        {
          name: pulumi.interpolate`/aws/containerinsights/${args.clusterName}/${kind}`,
          retentionInDays: retention,
          tags,
        },
        { parent: this },
      );
    }
    const metricsLogs = new aws.cloudwatch.LogGroup(
      `${name}-metrics-logs`,
      { name: pulumi.interpolate`/crossbook/${env}/metrics`, retentionInDays: retention, tags },
      { parent: this },
    );
    const agentRole = serviceAccountRole(
      `${name}-cloudwatch-agent`,
      {
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: 'amazon-cloudwatch',
        serviceAccount: 'cloudwatch-agent',
        managedPolicyArns: [
          managedPolicy('CloudWatchAgentServerPolicy'),
          managedPolicy('AWSXrayWriteOnlyAccess'),
        ],
      },
      { parent: this },
    );
    this.cloudWatchAddon = new aws.eks.Addon(
      `${name}-cloudwatch-observability`,
      {
        clusterName: args.clusterName,
        addonName: 'amazon-cloudwatch-observability',
        serviceAccountRoleArn: agentRole.arn,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'PRESERVE',
        tags,
      },
      { parent: this, dependsOn: Object.values(this.logGroups) },
    );
    if (args.logShipping !== undefined) {
      const shipping = args.logShipping;
      const shipped: [string, pulumi.Input<string>][] = [
        ['application', this.logGroups.application!.name],
        ['control-plane', args.controlPlaneLogGroupName],
      ];
      for (const [label, logGroup] of shipped) {
        new aws.cloudwatch.LogSubscriptionFilter(
          `${name}-ship-${label}`,
          { logGroup, filterPattern: '', destinationArn: shipping.destinationArn, roleArn: shipping.roleArn },
          { parent: this },
        );
      }
    }

    // Traces: X-Ray, sampled.
    this.samplingRule = new aws.xray.SamplingRule(
      `${name}-sampling`,
      {
        ruleName: pulumi.interpolate`crossbook-${env}`,
        priority: 1000,
        version: 1,
        reservoirSize: 5,
        fixedRate: args.tracingSampleRate ?? 0.05,
        serviceName: 'crossbook-*',
        serviceType: '*',
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        resourceArn: '*',
        tags,
      },
      { parent: this },
    );
    new aws.xray.Group(
      `${name}-xray-group`,
      {
        groupName: pulumi.interpolate`crossbook-${env}`,
        filterExpression: pulumi.interpolate`annotation.environment = "${env}"`,
        insightsConfiguration: { insightsEnabled: true, notificationsEnabled: false },
        tags,
      },
      { parent: this },
    );

    // The OpenTelemetry collector.
    const collectorNamespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: 'observability', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      k8sOpts,
    );
    const ns = collectorNamespace.metadata.name;
    const collectorRole = serviceAccountRole(
      `${name}-otel-collector`,
      {
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: 'observability',
        serviceAccount: 'otel-collector',
        managedPolicyArns: [
          managedPolicy('AWSXrayWriteOnlyAccess'),
          managedPolicy('CloudWatchAgentServerPolicy'),
        ],
      },
      { parent: this },
    );
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-otel-sa`,
      {
        metadata: {
          name: 'otel-collector',
          namespace: ns,
          annotations: { 'eks.amazonaws.com/role-arn': collectorRole.arn },
        },
      },
      k8sOpts,
    );
    const clusterRole = new k8s.rbac.v1.ClusterRole(
      `${name}-otel-discovery`,
      {
        rules: [
          {
            apiGroups: [''],
            resources: ['pods', 'nodes', 'endpoints', 'services'],
            verbs: ['get', 'list', 'watch'],
          },
        ],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-otel-discovery`,
      {
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: clusterRole.metadata.name,
        },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: ns }],
      },
      k8sOpts,
    );
    const collectorConfig = pulumi
      .all([region, this.metricsNamespace, metricsLogs.name, appNamespace, env])
      .apply(([r, metricsNs, logGroup, appNs, environment]) =>
        collectorConfiguration(r, metricsNs, logGroup, appNs, environment),
      );
    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-otel-config`,
      { metadata: { name: 'otel-collector', namespace: ns }, data: { 'config.yaml': collectorConfig } },
      k8sOpts,
    );
    const labels = { app: 'otel-collector' };
    this.collector = new k8s.apps.v1.Deployment(
      `${name}-otel-collector`,
      {
        metadata: { name: 'otel-collector', namespace: ns, labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              // Restart on configuration changes.
              annotations: { 'crossbook.io/config-hash': collectorConfig.apply(hash) },
            },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 10001,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: 'topology.kubernetes.io/zone',
                  whenUnsatisfiable: 'ScheduleAnyway',
                  labelSelector: { matchLabels: labels },
                },
              ],
              containers: [
                {
                  name: 'collector',
                  image: args.collectorImage ?? 'public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3',
                  args: ['--config=/etc/otel/config.yaml'],
                  ports: [
                    { name: 'otlp-grpc', containerPort: 4317 },
                    { name: 'otlp-http', containerPort: 4318 },
                    { name: 'health', containerPort: 13133 },
                  ],
                  env: [{ name: 'AWS_REGION', value: region }],
                  resources: {
                    requests: { cpu: '250m', memory: '512Mi' },
                    limits: { cpu: '1', memory: '1Gi' },
                  },
                  readinessProbe: { httpGet: { path: '/', port: 'health' }, periodSeconds: 10 },
                  livenessProbe: {
                    httpGet: { path: '/', port: 'health' },
                    periodSeconds: 20,
                    failureThreshold: 3,
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/otel' }],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: configMap.metadata.name } }],
            },
          },
        },
      },
      k8sOpts,
    );
    const service = new k8s.core.v1.Service(
      `${name}-otel-service`,
      {
        metadata: { name: 'otel-collector', namespace: ns, labels },
        spec: {
          selector: labels,
          ports: [
            { name: 'otlp-grpc', port: 4317, targetPort: 'otlp-grpc' },
            { name: 'otlp-http', port: 4318, targetPort: 'otlp-http' },
          ],
        },
      },
      k8sOpts,
    );
    this.collectorBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-otel-pdb`,
      {
        metadata: { name: 'otel-collector', namespace: ns },
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
      },
      k8sOpts,
    );
    this.otlpEndpoint = pulumi.interpolate`http://${service.metadata.name}.${ns}.svc.cluster.local:4318`;

    // Alarms.
    this.alarmTopic = new aws.sns.Topic(
      `${name}-alarms`,
      { displayName: pulumi.interpolate`Crossbook ${env} alarms`, kmsMasterKeyId: 'alias/aws/sns', tags },
      { parent: this },
    );
    if (args.alarmEmail !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alarm-email`,
        { topic: this.alarmTopic.arn, protocol: 'email', endpoint: args.alarmEmail },
        { parent: this },
      );
    }
    const actions = {
      alarmActions: [this.alarmTopic.arn],
      okActions: [this.alarmTopic.arn],
      treatMissingData: 'notBreaching',
      tags,
    };
    const alarm = (key: string, description: string, alarmArgs: aws.cloudwatch.MetricAlarmArgs) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${key}`,
        {
          name: pulumi.interpolate`crossbook-${env}-${region}-${key}`,
          alarmDescription: description,
          ...actions,
          ...alarmArgs,
        },
        { parent: this },
      );
    const metric = (
      namespace: pulumi.Input<string>,
      metricName: string,
      stat: string,
      dimensions: Record<string, pulumi.Input<string>>,
    ) => ({ namespace, metricName, stat, period: 60, dimensions });
    const busiest = (metricName: string) =>
      pulumi.output(args.redisNodeIds).apply((nodes) => {
        // Metric math takes at most 10 metrics; the first ten nodes cover every shard's primary
        // in the sizes this platform uses.
        const watched = nodes.slice(0, 10);
        return [
          ...watched.map((node, i) => ({
            id: `m${i}`,
            metric: metric('AWS/ElastiCache', metricName, 'Maximum', { CacheClusterId: node }),
            returnData: false,
          })),
          {
            id: 'busiest',
            expression: `MAX([${watched.map((_, i) => `m${i}`).join(',')}])`,
            label: `busiest node ${metricName}`,
            returnData: true,
          },
        ];
      });

    this.alarms = {
      orderLatency: alarm('order-latency-p99', 'Order acknowledgement p99 above target', {
        namespace: this.metricsNamespace,
        metricName: APP_METRICS.orderLatency,
        dimensions: { role: 'gateway' },
        extendedStatistic: 'p99',
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.orderLatencyP99Ms / 1000,
      }),
      http5xx: alarm('http-5xx', 'Share of 5xx responses at the load balancer above target', {
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.http5xxPercent,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        metricQueries: [
          {
            id: 'target5xx',
            metric: metric('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'Sum', {
              LoadBalancer: args.albArnSuffix,
            }),
          },
          {
            id: 'elb5xx',
            metric: metric('AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'Sum', {
              LoadBalancer: args.albArnSuffix,
            }),
          },
          {
            id: 'requests',
            metric: metric('AWS/ApplicationELB', 'RequestCount', 'Sum', { LoadBalancer: args.albArnSuffix }),
          },
          {
            id: 'share',
            expression: '100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / MAX([requests, 1])',
            label: '5xx percent',
            returnData: true,
          },
        ],
      }),
      journalLag: alarm('journal-lag', 'A standby core trails the primary journal', {
        namespace: this.metricsNamespace,
        metricName: APP_METRICS.journalLag,
        dimensions: { role: 'core' },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.journalLagMs / 1000,
      }),
      auroraCpu: alarm('aurora-cpu', 'Accounts database writer CPU high', {
        namespace: 'AWS/RDS',
        metricName: 'CPUUtilization',
        dimensions: { DBClusterIdentifier: args.dbClusterIdentifier, Role: 'WRITER' },
        statistic: 'Average',
        period: 300,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.auroraCpuPercent,
      }),
      auroraReplicaLag: alarm('aurora-replica-lag', 'Accounts database readers lag the writer', {
        namespace: 'AWS/RDS',
        metricName: 'AuroraReplicaLagMaximum',
        dimensions: { DBClusterIdentifier: args.dbClusterIdentifier },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 2000,
      }),
      redisCpu: alarm('redis-cpu', 'The busiest market-data Redis node is CPU bound', {
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.redisCpuPercent,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        metricQueries: busiest('EngineCPUUtilization'),
      }),
      redisMemory: alarm('redis-memory', 'A market-data Redis node is running out of memory', {
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 80,
        evaluationPeriods: 5,
        metricQueries: busiest('DatabaseMemoryUsagePercentage'),
      }),
      kinesisIteratorAge: alarm('kinesis-iterator-age', 'Downstream market-data consumers fall behind', {
        namespace: 'AWS/Kinesis',
        metricName: 'SubscribeToShardEvent.MillisBehindLatest',
        dimensions: { StreamName: args.kinesisStreamName, ConsumerName: args.kinesisConsumerName },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.kinesisIteratorAgeMs,
      }),
      kinesisPollingAge: alarm('kinesis-polling-age', 'Polling market-data consumers fall behind', {
        namespace: 'AWS/Kinesis',
        metricName: 'GetRecords.IteratorAgeMilliseconds',
        dimensions: { StreamName: args.kinesisStreamName },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: limits.kinesisIteratorAgeMs,
      }),
      tradesThrottled: alarm('trades-throttled', 'Trade history writes are throttled', {
        namespace: 'AWS/DynamoDB',
        metricName: 'WriteThrottleEvents',
        dimensions: { TableName: args.tradesTableName },
        statistic: 'Sum',
        period: 60,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
      }),
    };

    const dashboardName = pulumi.interpolate`crossbook-${env}-${region}`;
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName,
        dashboardBody: pulumi
          .all({
            region,
            ns: this.metricsNamespace,
            alb: args.albArnSuffix,
            db: args.dbClusterIdentifier,
            nodes: args.redisNodeIds,
            stream: args.kinesisStreamName,
            consumer: args.kinesisConsumerName,
            table: args.tradesTableName,
            alarmArns: pulumi.all(Object.values(this.alarms).map((a) => a.arn)),
          })
          // pulumi.all over a record loses the per-key types; the keys are exactly DashboardInputs.
          .apply((inputs) => JSON.stringify(dashboardBody(inputs as unknown as DashboardInputs))),
      },
      { parent: this },
    );

    this.alarmTopicArn = this.alarmTopic.arn;
    this.dashboardName = this.dashboard.dashboardName;
    this.registerOutputs({
      alarmTopicArn: this.alarmTopicArn,
      dashboardName: this.dashboardName,
      otlpEndpoint: this.otlpEndpoint,
      metricsNamespace: this.metricsNamespace,
    });
  }
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The collector's configuration (JSON, which YAML reads as is): OTLP in, traces to X-Ray; the
 * application pods' Prometheus metrics (pods annotated `prometheus.io/scrape`) scraped and sent
 * to CloudWatch as EMF, dimensioned by role.
 */
export function collectorConfiguration(
  region: string,
  metricsNamespace: string,
  logGroup: string,
  appNamespace: string,
  environment: string,
): string {
  const roleLabel = `__meta_kubernetes_pod_label_${ROLE_LABEL.replaceAll(/[^a-zA-Z0-9]/g, '_')}`;
  return JSON.stringify(
    {
      extensions: { health_check: { endpoint: '0.0.0.0:13133' } },
      receivers: {
        otlp: { protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } } },
        prometheus: {
          config: {
            scrape_configs: [
              {
                job_name: 'crossbook',
                scrape_interval: '15s',
                kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [appNamespace] } }],
                relabel_configs: [
                  {
                    source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
                    action: 'keep',
                    regex: 'true',
                  },
                  {
                    source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
                    action: 'replace',
                    target_label: '__metrics_path__',
                    regex: '(.+)',
                  },
                  {
                    source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
                    action: 'replace',
                    regex: '([^:]+)(?::\\d+)?;(\\d+)',
                    // `$$` is a literal `$` in collector configuration.
                    replacement: '$$1:$$2',
                    target_label: '__address__',
                  },
                  { source_labels: [roleLabel], target_label: 'role' },
                  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
                ],
              },
            ],
          },
        },
      },
      processors: {
        memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 20 },
        batch: { timeout: '5s' },
        resource: { attributes: [{ key: 'environment', value: environment, action: 'upsert' }] },
      },
      exporters: {
        awsxray: { region, indexed_attributes: ['environment'] },
        awsemf: {
          region,
          namespace: metricsNamespace,
          log_group_name: logGroup,
          dimension_rollup_option: 'NoDimensionRollup',
          metric_declarations: [{ dimensions: [['role']], metric_name_selectors: ['^crossbook_.*'] }],
        },
      },
      service: {
        extensions: ['health_check'],
        pipelines: {
          traces: {
            receivers: ['otlp'],
            processors: ['memory_limiter', 'resource', 'batch'],
            exporters: ['awsxray'],
          },
          metrics: {
            receivers: ['otlp', 'prometheus'],
            processors: ['memory_limiter', 'batch'],
            exporters: ['awsemf'],
          },
        },
      },
    },
    null,
    2,
  );
}

interface DashboardInputs {
  region: string;
  ns: string;
  alb: string;
  db: string;
  nodes: string[];
  stream: string;
  consumer: string;
  table: string;
  alarmArns: string[];
}

function dashboardBody(d: DashboardInputs): Record<string, unknown> {
  const widget = (title: string, metrics: unknown[][], stat = 'Average', x = 0, y = 0) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: d.region, stat, period: 60, metrics, view: 'timeSeries' },
  });
  return {
    widgets: [
      {
        type: 'alarm',
        x: 0,
        y: 0,
        width: 24,
        height: 3,
        properties: { title: 'Alarms', alarms: d.alarmArns },
      },
      widget('Order ack latency p99 (s)', [[d.ns, APP_METRICS.orderLatency, 'role', 'gateway']], 'p99', 0, 3),
      widget('Standby journal lag (s)', [[d.ns, APP_METRICS.journalLag, 'role', 'core']], 'Maximum', 12, 3),
      widget(
        'Load balancer requests and 5xx',
        [
          ['AWS/ApplicationELB', 'RequestCount', 'LoadBalancer', d.alb],
          ['AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'LoadBalancer', d.alb],
          ['AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'LoadBalancer', d.alb],
        ],
        'Sum',
        0,
        9,
      ),
      widget(
        'Aurora',
        [
          ['AWS/RDS', 'CPUUtilization', 'DBClusterIdentifier', d.db, 'Role', 'WRITER'],
          ['AWS/RDS', 'AuroraReplicaLagMaximum', 'DBClusterIdentifier', d.db],
        ],
        'Maximum',
        12,
        9,
      ),
      widget(
        'Redis engine CPU',
        d.nodes.map((n) => ['AWS/ElastiCache', 'EngineCPUUtilization', 'CacheClusterId', n]),
        'Maximum',
        0,
        15,
      ),
      widget(
        'Kinesis consumers behind (ms)',
        [
          [
            'AWS/Kinesis',
            'SubscribeToShardEvent.MillisBehindLatest',
            'StreamName',
            d.stream,
            'ConsumerName',
            d.consumer,
          ],
          ['AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds', 'StreamName', d.stream],
        ],
        'Maximum',
        12,
        15,
      ),
      widget(
        'Trade history writes',
        [
          ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', d.table],
          ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', d.table],
        ],
        'Sum',
        0,
        21,
      ),
    ],
  };
}
