import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BACKUP_TAG } from './contracts.ts';
import { managedPolicy, policyDocument, serviceTrustPolicy } from './iam.ts';
import { customerManagedKey } from './kms.ts';
import { type GeneratedSecret, generatedSecret } from './secrets.ts';

/** Where automated snapshots are exported to (Parquet, for analytics and long-term archive). */
export interface SnapshotExportArgs {
  /** The bucket. */
  bucketName: pulumi.Input<string>;
  /** The bucket's ARN. */
  bucketArn: pulumi.Input<string>;
  /** The KMS key the export is encrypted with. */
  kmsKeyArn: pulumi.Input<string>;
  /** The key prefix. Default `aurora`. */
  prefix?: pulumi.Input<string>;
}

/** The Aurora Global Database secondary, in another region. */
export interface SecondaryDatabaseArgs {
  /** The region. */
  region: pulumi.Input<string>;
  /** The VPC there. */
  vpcId: pulumi.Input<string>;
  /** Its isolated subnets. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Security groups allowed to connect (that region's cluster). */
  allowedSecurityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Instances in the secondary cluster (readers, promoted on failover). Plain: it decides how many exist. Default 1. */
  instanceCount?: number;
}

/** Arguments of {@link AccountsDatabase}. */
export interface AccountsDatabaseArgs {
  /** Name used in names and tags; also the backup-plan tag value. */
  environment: pulumi.Input<string>;
  /** The VPC. */
  vpcId: pulumi.Input<string>;
  /** Isolated subnets (no route out of the VPC), one per AZ. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The AZs of those subnets, to spread the instances. */
  availabilityZones: pulumi.Input<string[]>;
  /** Security groups allowed to connect on 5432 (the cluster's); nothing else can. */
  allowedSecurityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Instance class. Default `db.r7g.large`. */
  instanceClass?: pulumi.Input<string>;
  /** Instances (one writer, the rest readers in other AZs). Plain: it decides how many exist. Default 2. */
  instanceCount?: number;
  /** Aurora PostgreSQL version. Default `16.6`. */
  engineVersion?: pulumi.Input<string>;
  /** Days of automated backups. Default 14. */
  backupRetentionDays?: pulumi.Input<number>;
  /** Refuse to delete the cluster. Default true. */
  deletionProtection?: pulumi.Input<boolean>;
  /** The database name. Default `crossbook`. */
  databaseName?: pulumi.Input<string>;
  /** The master user name. Default `crossbook_admin`. */
  masterUsername?: pulumi.Input<string>;
  /** Export every automated snapshot to S3. Default: no export. */
  snapshotExport?: SnapshotExportArgs;
  /** An Aurora Global Database secondary in another region. Default: none. */
  secondary?: SecondaryDatabaseArgs;
}

/**
 * The accounts database: Aurora PostgreSQL (accounts, balances, ledger), encrypted with its own
 * KMS key, in isolated subnets behind a security group that admits only the cluster, TLS
 * enforced, instances spread across AZs, backups retained and each automated snapshot exported
 * to S3, deletion protection, and, when a secondary region is configured, an Aurora Global
 * Database secondary there.
 *
 * The master password lives in Secrets Manager (generated once). Aurora's own managed master
 * password is not used because Aurora Global Databases do not support it, and staging and
 * production must be the same program.
 */
export class AccountsDatabase extends pulumi.ComponentResource {
  /** The KMS key of the storage, the master secret and Performance Insights. */
  public readonly key: aws.kms.Key;
  /** The security group: 5432 from the allowed groups only, no egress. */
  public readonly securityGroup: aws.ec2.SecurityGroup;
  /** The subnet group (isolated subnets). */
  public readonly subnetGroup: aws.rds.SubnetGroup;
  /** The cluster parameter group (TLS enforced). */
  public readonly parameterGroup: aws.rds.ClusterParameterGroup;
  /** The primary cluster. */
  public readonly cluster: aws.rds.Cluster;
  /** Its instances. */
  public readonly instances: aws.rds.ClusterInstance[];
  /** The global cluster, when there is a secondary region. */
  public readonly globalCluster: aws.rds.GlobalCluster | undefined;
  /** The secondary cluster, when there is a secondary region. */
  public readonly secondaryCluster: aws.rds.Cluster | undefined;
  /** The secondary cluster's instances. */
  public readonly secondaryInstances: aws.rds.ClusterInstance[];
  /** The master credentials. */
  public readonly masterSecret: GeneratedSecret;
  /** The KMS key in the secondary region, when there is one. */
  public readonly secondaryKey: aws.kms.Key | undefined;
  /** The writer endpoint. */
  public readonly endpoint: pulumi.Output<string>;
  /** The reader endpoint. */
  public readonly readerEndpoint: pulumi.Output<string>;
  /** The port. */
  public readonly port: pulumi.Output<number>;
  /** The database name. */
  public readonly databaseName: pulumi.Output<string>;
  /** The master user name. */
  public readonly masterUsername: pulumi.Output<string>;
  /** The cluster identifier (CloudWatch dimension). */
  public readonly clusterIdentifier: pulumi.Output<string>;
  /** The ARN of the secret holding `username` and `password`. */
  public readonly secretArn: pulumi.Output<string>;
  /** The name of that secret (the same in the secondary region, where it is replicated). */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: AccountsDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:AccountsDatabase', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env, [BACKUP_TAG]: env };
    const engineVersion = args.engineVersion ?? '16.6';
    const family = pulumi.output(engineVersion).apply((v) => `aurora-postgresql${v.split('.')[0]}`);
    const instanceClass = args.instanceClass ?? 'db.r7g.large';
    const instanceCount = args.instanceCount ?? 2;
    const deletionProtection = args.deletionProtection ?? true;
    const username = args.masterUsername ?? 'crossbook_admin';
    this.databaseName = pulumi.output(args.databaseName ?? 'crossbook');
    this.masterUsername = pulumi.output(username);

    this.key = customerManagedKey(
      `${name}-key`,
      {
        description: pulumi.interpolate`Crossbook ${env} accounts database`,
        alias: pulumi.interpolate`crossbook-${env}-accounts-db`,
      },
      { parent: this },
    );
    this.secondaryKey =
      args.secondary === undefined
        ? undefined
        : customerManagedKey(
            `${name}-secondary-key`,
            {
              description: pulumi.interpolate`Crossbook ${env} accounts database (secondary)`,
              alias: pulumi.interpolate`crossbook-${env}-accounts-db`,
              region: args.secondary.region,
            },
            { parent: this },
          );
    // Replicated to the secondary region, so the workloads there can still read it when the
    // primary region is gone.
    this.masterSecret = generatedSecret(
      `${name}-master`,
      {
        description: pulumi.interpolate`Master credentials of the ${env} accounts database`,
        secretName: pulumi.interpolate`crossbook/${env}/accounts-db`,
        kmsKeyId: this.key.arn,
        fields: { username },
        replica:
          args.secondary === undefined || this.secondaryKey === undefined
            ? undefined
            : { region: args.secondary.region, kmsKeyId: this.secondaryKey.arn },
      },
      { parent: this },
    );

    this.securityGroup = databaseSecurityGroup(`${name}-sg`, args.vpcId, args.allowedSecurityGroupIds, tags, {
      parent: this,
    });
    this.subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { subnetIds: args.subnetIds, description: 'Isolated subnets of the accounts database', tags },
      { parent: this },
    );
    this.parameterGroup = new aws.rds.ClusterParameterGroup(
      `${name}-params`,
      {
        family,
        description: 'Crossbook accounts database',
        parameters: [
          { name: 'rds.force_ssl', value: '1' },
          { name: 'log_min_duration_statement', value: '250' },
          { name: 'shared_preload_libraries', value: 'pg_stat_statements', applyMethod: 'pending-reboot' },
        ],
        tags,
      },
      { parent: this },
    );

    if (args.secondary !== undefined) {
      this.globalCluster = new aws.rds.GlobalCluster(
        `${name}-global`,
        {
          globalClusterIdentifier: pulumi.interpolate`crossbook-${env}-accounts`,
          engine: 'aurora-postgresql',
          engineVersion,
          databaseName: this.databaseName,
          storageEncrypted: true,
          deletionProtection,
        },
        { parent: this },
      );
    }

    // Automated backups end before AWS Backup's 03:00 window; maintenance follows both.
    this.cluster = new aws.rds.Cluster(
      `${name}-cluster`,
      {
        engine: 'aurora-postgresql',
        engineVersion,
        globalClusterIdentifier: this.globalCluster?.id,
        databaseName: this.databaseName,
        masterUsername: username,
        masterPassword: this.masterSecret.password,
        dbSubnetGroupName: this.subnetGroup.name,
        vpcSecurityGroupIds: [this.securityGroup.id],
        dbClusterParameterGroupName: this.parameterGroup.name,
        storageEncrypted: true,
        kmsKeyId: this.key.arn,
        iamDatabaseAuthenticationEnabled: true,
        backupRetentionPeriod: args.backupRetentionDays ?? 14,
        preferredBackupWindow: '01:00-02:00',
        preferredMaintenanceWindow: 'sun:04:30-sun:05:30',
        copyTagsToSnapshot: true,
        deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: pulumi.interpolate`crossbook-${env}-accounts-final`,
        enabledCloudwatchLogsExports: ['postgresql'],
        tags,
      },
      { parent: this },
    );

    const monitoringRole = new aws.iam.Role(
      `${name}-monitoring-role`,
      { assumeRolePolicy: serviceTrustPolicy('monitoring.rds.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-monitoring-policy`,
      { role: monitoringRole.name, policyArn: managedPolicy('service-role/AmazonRDSEnhancedMonitoringRole') },
      { parent: this },
    );
    const zones = pulumi.output(args.availabilityZones);
    this.instances = [...Array(instanceCount).keys()].map(
      (i) =>
        new aws.rds.ClusterInstance(
          `${name}-instance-${i}`,
          {
            clusterIdentifier: this.cluster.id,
            engine: 'aurora-postgresql',
            engineVersion: this.cluster.engineVersion,
            instanceClass,
            availabilityZone: zones.apply((z) => z[i % z.length] as string),
            promotionTier: i,
            publiclyAccessible: false,
            dbSubnetGroupName: this.subnetGroup.name,
            performanceInsightsEnabled: true,
            performanceInsightsKmsKeyId: this.key.arn,
            performanceInsightsRetentionPeriod: 7,
            monitoringInterval: 60,
            monitoringRoleArn: monitoringRole.arn,
            autoMinorVersionUpgrade: true,
            tags,
          },
          { parent: this },
        ),
    );

    this.secondaryInstances = [];
    if (args.secondary !== undefined && this.globalCluster !== undefined) {
      const secondary = args.secondary;
      const region = secondary.region;
      const secondaryKey = this.secondaryKey as aws.kms.Key;
      const secondarySg = databaseSecurityGroup(
        `${name}-secondary-sg`,
        secondary.vpcId,
        secondary.allowedSecurityGroupIds,
        tags,
        { parent: this },
        region,
      );
      const secondarySubnets = new aws.rds.SubnetGroup(
        `${name}-secondary-subnets`,
        {
          region,
          subnetIds: secondary.subnetIds,
          description: 'Isolated subnets of the accounts database',
          tags,
        },
        { parent: this },
      );
      const secondaryParameters = new aws.rds.ClusterParameterGroup(
        `${name}-secondary-params`,
        {
          region,
          family,
          description: 'Crossbook accounts database (secondary)',
          parameters: [{ name: 'rds.force_ssl', value: '1' }],
          tags,
        },
        { parent: this },
      );
      this.secondaryCluster = new aws.rds.Cluster(
        `${name}-secondary-cluster`,
        {
          region,
          engine: 'aurora-postgresql',
          engineVersion,
          globalClusterIdentifier: this.globalCluster.id,
          dbSubnetGroupName: secondarySubnets.name,
          vpcSecurityGroupIds: [secondarySg.id],
          dbClusterParameterGroupName: secondaryParameters.name,
          storageEncrypted: true,
          kmsKeyId: secondaryKey.arn,
          backupRetentionPeriod: args.backupRetentionDays ?? 14,
          copyTagsToSnapshot: true,
          deletionProtection,
          skipFinalSnapshot: true,
          enabledCloudwatchLogsExports: ['postgresql'],
          tags,
        },
        // A secondary can only join once the primary has its writer.
        { parent: this, dependsOn: this.instances },
      );
      const secondaryCluster = this.secondaryCluster;
      this.secondaryInstances = [...Array(secondary.instanceCount ?? 1).keys()].map(
        (i) =>
          new aws.rds.ClusterInstance(
            `${name}-secondary-instance-${i}`,
            {
              region,
              clusterIdentifier: secondaryCluster.id,
              engine: 'aurora-postgresql',
              engineVersion: secondaryCluster.engineVersion,
              instanceClass,
              promotionTier: i,
              publiclyAccessible: false,
              dbSubnetGroupName: secondarySubnets.name,
              performanceInsightsEnabled: true,
              performanceInsightsKmsKeyId: secondaryKey.arn,
              autoMinorVersionUpgrade: true,
              tags,
            },
            { parent: this },
          ),
      );
    }

    if (args.snapshotExport !== undefined) {
      this.exportSnapshots(name, args.snapshotExport, tags);
    }

    this.endpoint = this.cluster.endpoint;
    this.readerEndpoint = this.cluster.readerEndpoint;
    this.port = this.cluster.port;
    this.clusterIdentifier = this.cluster.clusterIdentifier;
    this.secretArn = this.masterSecret.secret.arn;
    this.secretName = this.masterSecret.secretName;
    this.registerOutputs({
      endpoint: this.endpoint,
      readerEndpoint: this.readerEndpoint,
      port: this.port,
      databaseName: this.databaseName,
      clusterIdentifier: this.clusterIdentifier,
      secretArn: this.secretArn,
    });
  }

  /**
   * Each automated cluster snapshot (RDS event 0169) starts an export to S3: EventBridge runs a
   * one-step Step Functions state machine that calls rds:StartExportTask, no code to maintain.
   */
  private exportSnapshots(
    name: string,
    target: SnapshotExportArgs,
    tags: Record<string, pulumi.Input<string>>,
  ): void {
    const prefix = target.prefix ?? 'aurora';
    const exportRole = new aws.iam.Role(
      `${name}-export-role`,
      { assumeRolePolicy: serviceTrustPolicy('export.rds.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-export-policy`,
      {
        role: exportRole.id,
        policy: policyDocument([
          { actions: ['s3:GetBucketLocation', 's3:ListBucket'], resources: [target.bucketArn] },
          {
            actions: ['s3:PutObject*', 's3:GetObject*', 's3:DeleteObject*'],
            resources: [pulumi.interpolate`${target.bucketArn}/${prefix}/*`],
          },
        ]),
      },
      { parent: this },
    );
    const runnerRole = new aws.iam.Role(
      `${name}-export-runner-role`,
      { assumeRolePolicy: serviceTrustPolicy('states.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-export-runner-policy`,
      {
        role: runnerRole.id,
        policy: policyDocument([
          { actions: ['rds:StartExportTask', 'rds:DescribeExportTasks'], resources: ['*'] },
          { actions: ['iam:PassRole'], resources: [exportRole.arn] },
          { actions: ['kms:CreateGrant', 'kms:DescribeKey'], resources: [target.kmsKeyArn] },
        ]),
      },
      { parent: this },
    );
    const machine = new aws.sfn.StateMachine(
      `${name}-export`,
      {
        roleArn: runnerRole.arn,
        definition: pulumi
          .all([target.bucketName, prefix, exportRole.arn, target.kmsKeyArn])
          .apply(([bucket, keyPrefix, role, key]) =>
            JSON.stringify({
              Comment: 'Export an automated Aurora snapshot to S3',
              StartAt: 'StartExportTask',
              States: {
                StartExportTask: {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::aws-sdk:rds:startExportTask',
                  Parameters: {
                    'ExportTaskIdentifier.$': "States.Format('export-{}', $$.Execution.Name)",
                    'SourceArn.$': '$.detail.SourceArn',
                    S3BucketName: bucket,
                    S3Prefix: keyPrefix,
                    IamRoleArn: role,
                    KmsKeyId: key,
                  },
                  Retry: [
                    { ErrorEquals: ['States.ALL'], IntervalSeconds: 300, MaxAttempts: 3, BackoffRate: 2 },
                  ],
                  End: true,
                },
              },
            }),
          ),
        tags,
      },
      { parent: this },
    );
    const rule = new aws.cloudwatch.EventRule(
      `${name}-snapshot-created`,
      {
        description: 'An automated snapshot of the accounts database was created',
        eventPattern: this.cluster.clusterIdentifier.apply((id) =>
          JSON.stringify({
            source: ['aws.rds'],
            'detail-type': ['RDS DB Cluster Snapshot Event'],
            detail: { EventID: ['RDS-EVENT-0169'], SourceIdentifier: [{ prefix: `rds:${id}` }] },
          }),
        ),
        tags,
      },
      { parent: this },
    );
    const invokeRole = new aws.iam.Role(
      `${name}-export-invoke-role`,
      { assumeRolePolicy: serviceTrustPolicy('events.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-export-invoke-policy`,
      {
        role: invokeRole.id,
        policy: policyDocument([{ actions: ['states:StartExecution'], resources: [machine.arn] }]),
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-snapshot-export`,
      { rule: rule.name, arn: machine.arn, roleArn: invokeRole.arn },
      { parent: this },
    );
  }
}

function databaseSecurityGroup(
  name: string,
  vpcId: pulumi.Input<string>,
  allowed: pulumi.Input<pulumi.Input<string>[]>,
  tags: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
  region?: pulumi.Input<string>,
): aws.ec2.SecurityGroup {
  return new aws.ec2.SecurityGroup(
    name,
    {
      region,
      vpcId,
      description: 'Accounts database: PostgreSQL from the cluster only',
      ingress: [
        {
          description: 'PostgreSQL from the EKS cluster',
          protocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          securityGroups: allowed,
        },
      ],
      egress: [],
      tags,
    },
    opts,
  );
}
