/**
 * The Crossbook platform on AWS, one Pulumi program for every environment: it reads the stack
 * configuration (docs/DEPLOY.md lists every key) and the markets file, builds one component
 * per concern in each region, and exports what operators need. Nothing here branches on the
 * stack's name; staging and production differ only through their configuration.
 *
 * Pulumi calls the default export (an async program) and publishes what it returns as the
 * stack outputs.
 */
import { readFileSync } from 'node:fs';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { AccountsDatabase } from './stacks/accounts-database.ts';
import { Certificates } from './stacks/certificates.ts';
import { Cluster } from './stacks/cluster.ts';
import { readConfig } from './stacks/config.ts';
import { Edge } from './stacks/edge.ts';
import { Ingress } from './stacks/ingress.ts';
import { MarketData } from './stacks/market-data.ts';
import { Network } from './stacks/network.ts';
import { Observability } from './stacks/observability.ts';
import { parseMarketsFile } from './stacks/shard-map.ts';
import { Storage } from './stacks/storage.ts';
import { Trades } from './stacks/trades.ts';
import { Workloads } from './stacks/workloads.ts';

/** The Pulumi program. */
export default async function crossbook(): Promise<Record<string, pulumi.Input<unknown>>> {
  // 1. Configuration.
  const config = readConfig(new pulumi.Config('crossbook'), pulumi.getStack());
  const awsConfig = new pulumi.Config('aws');
  const primaryRegion = awsConfig.require('region');
  const marketsJson = readFileSync(new URL(config.marketsFile, new URL('./', import.meta.url)), 'utf8');
  const markets = parseMarketsFile(marketsJson);
  const env = config.environment;
  const clusterName = `crossbook-${env}`;
  const secondary = config.secondaryRegion;
  const regions = [
    { key: 'primary', region: primaryRegion, cidr: config.vpcCidr, suffix: '', opts: {} },
    ...(secondary === undefined
      ? []
      : [
          {
            key: 'secondary',
            region: secondary,
            cidr: config.secondaryVpcCidr,
            suffix: '-secondary',
            opts: {
              providers: {
                aws: new aws.Provider('aws-secondary', {
                  region: secondary,
                  defaultTags: awsConfig.getObject<aws.types.input.ProviderDefaultTags>('defaultTags'),
                }),
              },
            },
          },
        ]),
  ];
  const activeKey = config.activeRegion;

  // 2. Network and clusters, per region.
  const networks = regions.map(
    (r) =>
      new Network(
        `network${r.suffix}`,
        {
          environment: env,
          cidrBlock: r.cidr,
          availabilityZoneCount: config.availabilityZones,
          natGateways: config.natGateways,
        },
        r.opts,
      ),
  );
  const clusters = regions.map(
    (r, i) =>
      new Cluster(
        `cluster${r.suffix}`,
        {
          clusterName,
          environment: env,
          vpcId: networks[i]!.vpcId,
          privateSubnetIds: networks[i]!.privateSubnetIds,
          publicSubnetIds: networks[i]!.publicSubnetIds,
          kubernetesVersion: config.kubernetesVersion,
          nodeArchitecture: config.nodeArchitecture,
          generalNodes: config.generalNodes,
          coreNodes: config.coreNodes,
          publicAccessCidrs: config.clusterPublicAccessCidrs,
          logRetentionDays: config.logRetentionDays,
        },
        r.opts,
      ),
  );
  const primaryNetwork = networks[0]!;
  const primaryCluster = clusters[0]!;
  const secondaryNetwork = networks[1];
  const secondaryCluster = clusters[1];

  // 3. Data: trade history, storage and backups, the accounts database, market data.
  const trades = new Trades('trades', { environment: env, secondaryRegion: secondary });
  const storage = new Storage('storage', {
    environment: env,
    tradesTableArn: trades.tableArn,
    infrequentAccessAfterDays: config.storage.infrequentAccessAfterDays,
    glacierAfterDays: config.storage.glacierAfterDays,
    deepArchiveAfterDays: config.storage.deepArchiveAfterDays,
    logExpirationDays: config.storage.logExpirationDays,
    backupRetentionDays: config.storage.backupRetentionDays,
    secondaryRegion: secondary,
  });
  const database = new AccountsDatabase('accounts-db', {
    environment: env,
    vpcId: primaryNetwork.vpcId,
    subnetIds: primaryNetwork.isolatedSubnetIds,
    availabilityZones: primaryNetwork.availabilityZones,
    allowedSecurityGroupIds: [primaryCluster.clusterSecurityGroupId],
    instanceClass: config.database.instanceClass,
    instanceCount: config.database.instances,
    engineVersion: config.database.engineVersion,
    backupRetentionDays: config.database.backupRetentionDays,
    deletionProtection: config.database.deletionProtection,
    snapshotExport: {
      bucketName: storage.backups.bucketName,
      bucketArn: storage.backups.arn,
      kmsKeyArn: storage.key.arn,
    },
    secondary:
      secondary === undefined || secondaryNetwork === undefined || secondaryCluster === undefined
        ? undefined
        : {
            region: secondary,
            vpcId: secondaryNetwork.vpcId,
            subnetIds: secondaryNetwork.isolatedSubnetIds,
            allowedSecurityGroupIds: [secondaryCluster.clusterSecurityGroupId],
          },
  });
  const marketData = regions.map(
    (r, i) =>
      new MarketData(
        `market-data${r.suffix}`,
        {
          environment: env,
          vpcId: networks[i]!.vpcId,
          subnetIds: networks[i]!.privateSubnetIds,
          allowedSecurityGroupIds: [clusters[i]!.clusterSecurityGroupId],
          nodeType: config.redis.nodeType,
          shards: config.redis.shards,
          replicasPerShard: config.redis.replicasPerShard,
          engineVersion: config.redis.engineVersion,
          snapshotRetentionDays: config.redis.snapshotRetentionDays,
          streamRetentionHours: config.kinesisRetentionHours,
          logRetentionDays: config.logRetentionDays,
        },
        r.opts,
      ),
  );

  // 4. The front doors, per region, with their certificates.
  const zone = aws.route53.getZoneOutput({ name: config.hostedZone, privateZone: false });
  const certificates = new Certificates('certificates', {
    domain: config.domain,
    hostedZoneId: zone.zoneId,
    regions: regions.map((r) => r.region),
    keyAlgorithm: config.certificate.keyAlgorithm,
    existingArns: config.certificate.arns,
  });
  const accessLogBuckets = [storage.logs, storage.secondaryLogs];
  const ingresses = regions.map(
    (r, i) =>
      new Ingress(
        `ingress${r.suffix}`,
        {
          environment: env,
          domain: config.domain,
          hostedZoneId: zone.zoneId,
          certificateArn: certificates.arns[r.region]!,
          vpcId: networks[i]!.vpcId,
          publicSubnetIds: networks[i]!.publicSubnetIds,
          clusterSecurityGroupId: clusters[i]!.clusterSecurityGroupId,
          accessLogsBucket: accessLogBuckets[i]?.bucketName,
          wafRateLimit: config.wafRateLimit,
          api: config.api,
          logRetentionDays: config.logRetentionDays,
        },
        r.opts,
      ),
  );

  // 5. Observability, per region.
  const dbClusterIds = [database.clusterIdentifier, database.secondaryCluster?.clusterIdentifier];
  const observability = regions.map(
    (r, i) =>
      new Observability(
        `observability${r.suffix}`,
        {
          environment: env,
          clusterName: clusters[i]!.clusterName,
          controlPlaneLogGroupName: pulumi.interpolate`/aws/eks/${clusters[i]!.clusterName}/cluster`,
          oidcProviderArn: clusters[i]!.oidcProviderArn,
          oidcIssuer: clusters[i]!.oidcIssuer,
          kubernetesProvider: clusters[i]!.provider,
          albArnSuffix: ingresses[i]!.albArnSuffix,
          dbClusterIdentifier: dbClusterIds[i]!,
          redisNodeIds: marketData[i]!.redisNodeIds,
          kinesisStreamName: marketData[i]!.streamName,
          kinesisConsumerName: marketData[i]!.consumerName,
          tradesTableName: trades.tableName,
          alarmEmail: config.alarmEmail,
          logRetentionDays: config.logRetentionDays,
          tracingSampleRate: config.tracingSampleRate,
          thresholds: config.alarms,
          logShipping:
            i === 0
              ? { destinationArn: storage.logShipping.arn, roleArn: storage.logShippingRole.arn }
              : undefined,
        },
        r.opts,
      ),
  );

  // 6. The application, per region: active where the core runs, passive in the other.
  const regional = [
    {
      dbHost: database.endpoint,
      dbKey: database.key.arn,
      tableArn: trades.tableArn,
      tableKey: trades.key.arn,
      snapshots: storage.backups,
      snapshotsKey: storage.key.arn,
    },
    {
      dbHost: database.secondaryCluster?.endpoint,
      dbKey: database.secondaryKey?.arn,
      tableArn: trades.replicaTableArn,
      tableKey: trades.replicaKey?.arn,
      snapshots: storage.backupsReplica,
      snapshotsKey: storage.backupsReplicaKey?.arn,
    },
  ];
  const workloads = regions.map((r, i) => {
    const local = regional[i]!;
    if (local.dbHost === undefined || local.dbKey === undefined || local.tableKey === undefined) {
      throw new Error(`region ${r.region} has no accounts database replica or trades replica`);
    }
    if (local.snapshots === undefined || local.snapshotsKey === undefined) {
      throw new Error(`region ${r.region} has no snapshot bucket`);
    }
    return new Workloads(
      `workloads${r.suffix}`,
      {
        environment: env,
        kubernetesProvider: clusters[i]!.provider,
        identity: { oidcProviderArn: clusters[i]!.oidcProviderArn, oidcIssuer: clusters[i]!.oidcIssuer },
        image: config.image,
        mode: r.key === activeKey ? 'active' : 'passive',
        marketsJson,
        shardMap: markets.shardMap,
        coreShardSets: config.coreShardSets,
        gateway: config.gateway,
        core: config.core,
        persister: config.persister,
        gatewayTargetGroupArn: ingresses[i]!.targetGroupArn,
        vpcCidr: networks[i]!.vpcCidrBlock,
        database: {
          host: local.dbHost,
          port: database.port,
          name: database.databaseName,
          secretName: database.secretName,
          kmsKeyArn: local.dbKey,
        },
        redis: {
          host: marketData[i]!.redisEndpoint,
          port: marketData[i]!.redisPort,
          secretName: marketData[i]!.authTokenSecretName,
          kmsKeyArn: marketData[i]!.key.arn,
        },
        trades: { tableName: trades.tableName, tableArn: local.tableArn, kmsKeyArn: local.tableKey },
        marketDataStream: {
          name: marketData[i]!.streamName,
          arn: marketData[i]!.streamArn,
          kmsKeyArn: marketData[i]!.key.arn,
        },
        snapshots: {
          bucketName: local.snapshots.bucketName,
          bucketArn: local.snapshots.arn,
          kmsKeyArn: local.snapshotsKey,
        },
        otlpEndpoint: observability[i]!.otlpEndpoint,
      },
      // The application's secrets and bindings need the cluster's add-ons in place.
      {
        ...r.opts,
        dependsOn: [clusters[i]!.addons.externalSecrets, clusters[i]!.addons.loadBalancerController],
      },
    );
  });

  // 7. The global edge.
  const edge = new Edge('edge', {
    environment: env,
    domain: config.domain,
    hostedZoneId: zone.zoneId,
    cloudFrontCertificateArn: certificates.cloudFrontCertificateArn,
    wafRateLimit: config.wafRateLimit,
    priceClass: config.cloudFrontPriceClass,
    regions: regions.map((r, i) => ({
      region: r.region,
      active: r.key === activeKey,
      originHostname: ingresses[i]!.originHostname,
      albArn: ingresses[i]!.albArn,
      albDnsName: ingresses[i]!.albDnsName,
      albZoneId: ingresses[i]!.albZoneId,
      apiRegionalDomainName: ingresses[i]!.apiRegionalDomainName,
      apiRegionalZoneId: ingresses[i]!.apiRegionalZoneId,
      executeApiDomain: ingresses[i]!.executeApiDomain,
      stageName: ingresses[i]!.stageName,
    })),
  });

  // 8. Outputs.
  const perRegion = <T>(values: T[]) => Object.fromEntries(regions.map((r, i) => [r.region, values[i]]));
  return {
    environment: env,
    activeRegion: regions.find((r) => r.key === activeKey)?.region,
    url: edge.url,
    apiUrl: edge.apiUrl,
    streamUrl: edge.streamUrl,
    acceleratorIps: edge.acceleratorIps,
    webBucket: edge.webBucketName,
    clusterName,
    kubeconfigs: pulumi.secret(perRegion(clusters.map((c) => c.kubeconfig))),
    databaseEndpoint: database.endpoint,
    databaseSecret: database.secretName,
    redisEndpoints: perRegion(marketData.map((m) => m.redisEndpoint)),
    marketDataStreams: perRegion(marketData.map((m) => m.streamName)),
    tradesTable: trades.tableName,
    archivesBucket: storage.archives.bucketName,
    backupsBucket: storage.backups.bucketName,
    logsBucket: storage.logs.bucketName,
    alarmTopics: perRegion(observability.map((o) => o.alarmTopicArn)),
    dashboards: perRegion(observability.map((o) => o.dashboardName)),
    shards: workloads[0]!.shardCount,
    coreStatefulSets: perRegion(workloads.map((w) => w.coreStatefulSetNames)),
  };
}
