import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { customerManagedKey } from './kms.ts';
import { type GeneratedSecret, generatedSecret } from './secrets.ts';

/** Arguments of {@link MarketData}. */
export interface MarketDataArgs {
  /** Name used in names and tags. */
  environment: pulumi.Input<string>;
  /** The VPC. */
  vpcId: pulumi.Input<string>;
  /** Private subnets for the cache nodes, one per AZ. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Security groups allowed to connect on 6379 (the cluster's). */
  allowedSecurityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Cache node type. Default `cache.r7g.large`. */
  nodeType?: pulumi.Input<string>;
  /** Shards (node groups). Default 2. */
  shards?: pulumi.Input<number>;
  /** Replicas per shard, each in another AZ. Default 1. */
  replicasPerShard?: pulumi.Input<number>;
  /** Redis version. Default `7.1`. */
  engineVersion?: pulumi.Input<string>;
  /** Days of daily snapshots. Default 7. */
  snapshotRetentionDays?: pulumi.Input<number>;
  /** Hours the stream keeps records. Default 24. */
  streamRetentionHours?: pulumi.Input<number>;
  /** Days the Redis slow log is kept. Default 30. */
  logRetentionDays?: pulumi.Input<number>;
}

/**
 * Market data transport. Redis (ElastiCache, cluster mode, multi-AZ with automatic failover,
 * TLS in transit, encrypted at rest, an AUTH token) is the bus the core publishes depth diffs,
 * trades and tickers to and the gateways fan out from, and the cache of the latest snapshots.
 * A Kinesis stream (on demand, KMS-encrypted) carries the same events to downstream consumers
 * (analytics, surveillance), read through an enhanced fan-out consumer so each gets its own
 * 2 MB/s per shard.
 */
export class MarketData extends pulumi.ComponentResource {
  /** The KMS key of the cache, the stream and the AUTH token secret. */
  public readonly key: aws.kms.Key;
  /** The Redis replication group. */
  public readonly redis: aws.elasticache.ReplicationGroup;
  /** The security group of the cache nodes. */
  public readonly securityGroup: aws.ec2.SecurityGroup;
  /** The AUTH token. */
  public readonly authToken: GeneratedSecret;
  /** The Kinesis stream. */
  public readonly stream: aws.kinesis.Stream;
  /** The enhanced fan-out consumer. */
  public readonly consumer: aws.kinesis.StreamConsumer;
  /** The Redis configuration endpoint (cluster mode). */
  public readonly redisEndpoint: pulumi.Output<string>;
  /** The Redis port. */
  public readonly redisPort: pulumi.Output<number>;
  /** The replication group id (CloudWatch). */
  public readonly redisReplicationGroupId: pulumi.Output<string>;
  /** The cache cluster (node) ids (CloudWatch `CacheClusterId`). */
  public readonly redisNodeIds: pulumi.Output<string[]>;
  /** The ARN of the secret holding the AUTH token (`password`). */
  public readonly authTokenSecretArn: pulumi.Output<string>;
  /** The name of that secret. */
  public readonly authTokenSecretName: pulumi.Output<string>;
  /** The stream name. */
  public readonly streamName: pulumi.Output<string>;
  /** The stream ARN. */
  public readonly streamArn: pulumi.Output<string>;
  /** The enhanced fan-out consumer's name. */
  public readonly consumerName: pulumi.Output<string>;

  constructor(name: string, args: MarketDataArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:MarketData', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env };

    this.key = customerManagedKey(
      `${name}-key`,
      {
        description: pulumi.interpolate`Crossbook ${env} market data`,
        alias: pulumi.interpolate`crossbook-${env}-market-data`,
      },
      { parent: this },
    );
    this.authToken = generatedSecret(
      `${name}-auth`,
      {
        description: pulumi.interpolate`AUTH token of the ${env} market-data Redis`,
        secretName: pulumi.interpolate`crossbook/${env}/redis`,
        kmsKeyId: this.key.arn,
        length: 64,
      },
      { parent: this },
    );

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-redis-sg`,
      {
        vpcId: args.vpcId,
        description: 'Market-data Redis: 6379 from the cluster only',
        ingress: [
          {
            description: 'Redis from the EKS cluster',
            protocol: 'tcp',
            fromPort: 6379,
            toPort: 6379,
            securityGroups: args.allowedSecurityGroupIds,
          },
        ],
        egress: [],
        tags,
      },
      { parent: this },
    );
    const subnetGroup = new aws.elasticache.SubnetGroup(
      `${name}-redis-subnets`,
      { subnetIds: args.subnetIds, description: 'Market-data Redis', tags },
      { parent: this },
    );
    const engineVersion = args.engineVersion ?? '7.1';
    const parameters = new aws.elasticache.ParameterGroup(
      `${name}-redis-params`,
      {
        family: pulumi.output(engineVersion).apply((v) => `redis${v.split('.')[0]}`),
        description: 'Crossbook market data, cluster mode',
        parameters: [
          { name: 'cluster-enabled', value: 'yes' },
          // Market-data keys are snapshots and channels, never the system of record: under
          // memory pressure evict the least recently used keys that have a TTL.
          { name: 'maxmemory-policy', value: 'volatile-lru' },
        ],
        tags,
      },
      { parent: this },
    );
    const slowLog = new aws.cloudwatch.LogGroup(
      `${name}-redis-slow-log`,
      {
        name: pulumi.interpolate`/crossbook/${env}/redis/slow-log`,
        retentionInDays: args.logRetentionDays ?? 30,
        tags,
      },
      { parent: this },
    );
    this.redis = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        replicationGroupId: pulumi.interpolate`crossbook-${env}-md`,
        description: 'Crossbook market-data bus and snapshot cache',
        engine: 'redis',
        engineVersion,
        nodeType: args.nodeType ?? 'cache.r7g.large',
        port: 6379,
        clusterMode: 'enabled',
        numNodeGroups: args.shards ?? 2,
        replicasPerNodeGroup: args.replicasPerShard ?? 1,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        transitEncryptionEnabled: true,
        transitEncryptionMode: 'required',
        atRestEncryptionEnabled: true,
        kmsKeyId: this.key.arn,
        authToken: this.authToken.password,
        parameterGroupName: parameters.name,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [this.securityGroup.id],
        snapshotRetentionLimit: args.snapshotRetentionDays ?? 7,
        snapshotWindow: '02:00-03:00',
        maintenanceWindow: 'sun:05:30-sun:06:30',
        autoMinorVersionUpgrade: true,
        logDeliveryConfigurations: [
          {
            destination: slowLog.name,
            destinationType: 'cloudwatch-logs',
            logFormat: 'json',
            logType: 'slow-log',
          },
        ],
        tags,
      },
      { parent: this },
    );

    this.stream = new aws.kinesis.Stream(
      `${name}-stream`,
      {
        name: pulumi.interpolate`crossbook-${env}-market-data`,
        streamModeDetails: { streamMode: 'ON_DEMAND' },
        retentionPeriod: args.streamRetentionHours ?? 24,
        encryptionType: 'KMS',
        kmsKeyId: this.key.arn,
        tags,
      },
      { parent: this },
    );
    this.consumer = new aws.kinesis.StreamConsumer(
      `${name}-downstream`,
      { name: pulumi.interpolate`crossbook-${env}-downstream`, streamArn: this.stream.arn },
      { parent: this },
    );

    this.redisEndpoint = this.redis.configurationEndpointAddress;
    this.redisPort = pulumi.output(6379);
    this.redisReplicationGroupId = this.redis.id;
    this.redisNodeIds = this.redis.memberClusters;
    this.authTokenSecretArn = this.authToken.secret.arn;
    this.authTokenSecretName = this.authToken.secretName;
    this.streamName = this.stream.name;
    this.streamArn = this.stream.arn;
    this.consumerName = this.consumer.name;
    this.registerOutputs({
      redisEndpoint: this.redisEndpoint,
      redisReplicationGroupId: this.redisReplicationGroupId,
      authTokenSecretArn: this.authTokenSecretArn,
      streamName: this.streamName,
      streamArn: this.streamArn,
      consumerName: this.consumerName,
    });
  }
}
