import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BACKUP_TAG } from './contracts.ts';
import { managedPolicy, policyDocument, serviceTrustPolicy } from './iam.ts';
import { customerManagedKey } from './kms.ts';
import { type BucketStatements, SecureBucket } from './secure-bucket.ts';

/** Arguments of {@link Storage}. */
export interface StorageArgs {
  /** Name used in names and tags; also the value of the backup-plan tag the data stores carry. */
  environment: pulumi.Input<string>;
  /** The trades table, exported to the archives bucket every day. */
  tradesTableArn: pulumi.Input<string>;
  /** Days before archives move to Standard-IA. Default 30. */
  infrequentAccessAfterDays?: pulumi.Input<number>;
  /** Days before archives and backups move to Glacier Instant Retrieval. Default 90. */
  glacierAfterDays?: pulumi.Input<number>;
  /** Days before archives move to Glacier Deep Archive. Default 365. */
  deepArchiveAfterDays?: pulumi.Input<number>;
  /** Days logs are kept. Default 400. */
  logExpirationDays?: pulumi.Input<number>;
  /** Days AWS Backup keeps recovery points. Default 35. */
  backupRetentionDays?: pulumi.Input<number>;
  /**
   * The disaster-recovery region: backups are replicated there (S3 replication for the
   * backups bucket, AWS Backup copies for Aurora and DynamoDB), and that region's load
   * balancer gets a logs bucket of its own (ALB logs go to a bucket in the same region).
   * Default: none.
   */
  secondaryRegion?: pulumi.Input<string>;
}

/**
 * Durable storage: the archives bucket (trade history exported from DynamoDB, old journal
 * segments), the backups bucket (core snapshots, Aurora snapshot exports) and the logs bucket
 * (load balancer access logs, the cluster's logs through Kinesis Data Firehose), each
 * versioned, encrypted, private, and tiered to colder storage as it ages; an AWS Backup plan
 * covering Aurora and DynamoDB by tag; and a daily DynamoDB export of the trade history.
 */
export class Storage extends pulumi.ComponentResource {
  /** The KMS key of the archives and backups buckets and of the backup vault. */
  public readonly key: aws.kms.Key;
  /** The archives bucket. */
  public readonly archives: SecureBucket;
  /** The backups bucket. */
  public readonly backups: SecureBucket;
  /** The logs bucket (SSE-S3: ALB access logs cannot be written with SSE-KMS). */
  public readonly logs: SecureBucket;
  /** The logs bucket of the secondary region, when there is one. */
  public readonly secondaryLogs: SecureBucket | undefined;
  /** The replica of the backups bucket in the secondary region, when there is one. */
  public readonly backupsReplica: SecureBucket | undefined;
  /** The KMS key of that replica. */
  public readonly backupsReplicaKey: aws.kms.Key | undefined;
  /** The Firehose stream shipping CloudWatch log groups to the logs bucket. */
  public readonly logShipping: aws.kinesis.FirehoseDeliveryStream;
  /** The role CloudWatch Logs assumes to put records into {@link logShipping}. */
  public readonly logShippingRole: aws.iam.Role;
  /** The backup vault. */
  public readonly vault: aws.backup.Vault;
  /** The backup plan. */
  public readonly plan: aws.backup.Plan;
  /** What the plan backs up. */
  public readonly selection: aws.backup.Selection;
  /** The daily export of the trade history. */
  public readonly tradesExport: aws.scheduler.Schedule;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Storage', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env };
    const iaDays = args.infrequentAccessAfterDays ?? 30;
    const glacierDays = args.glacierAfterDays ?? 90;
    const deepDays = args.deepArchiveAfterDays ?? 365;
    const logDays = args.logExpirationDays ?? 400;
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this }).region;

    this.key = customerManagedKey(
      `${name}-key`,
      {
        description: pulumi.interpolate`Crossbook ${env} archives and backups`,
        alias: pulumi.interpolate`crossbook-${env}-storage`,
      },
      { parent: this },
    );

    this.archives = new SecureBucket(
      `${name}-archives`,
      {
        purpose: 'archives',
        environment: env,
        kmsKeyArn: this.key.arn,
        lifecycleRules: [
          {
            id: 'tier-archives',
            status: 'Enabled',
            filter: {},
            transitions: [
              { days: iaDays, storageClass: 'STANDARD_IA' },
              { days: glacierDays, storageClass: 'GLACIER_IR' },
              { days: deepDays, storageClass: 'DEEP_ARCHIVE' },
            ],
          },
        ],
      },
      { parent: this },
    );
    this.backups = new SecureBucket(
      `${name}-backups`,
      {
        purpose: 'backups',
        environment: env,
        kmsKeyArn: this.key.arn,
        lifecycleRules: [
          {
            id: 'tier-backups',
            status: 'Enabled',
            filter: {},
            transitions: [{ days: glacierDays, storageClass: 'GLACIER_IR' }],
          },
        ],
      },
      { parent: this },
    );
    const albLogDelivery =
      (elbAccountArn: pulumi.Input<string | undefined>): BucketStatements =>
      (arn) => [
        {
          Sid: 'LoadBalancerAccessLogs',
          Effect: 'Allow',
          Principal: pulumi.output(elbAccountArn).apply((account) => ({
            Service: 'logdelivery.elasticloadbalancing.amazonaws.com',
            ...(account === undefined ? {} : { AWS: account }),
          })),
          Action: 's3:PutObject',
          Resource: pulumi.interpolate`${arn}/alb/AWSLogs/${identity.accountId}/*`,
        },
      ];
    const logRules = [
      {
        id: 'tier-and-expire-logs',
        status: 'Enabled',
        filter: {},
        transitions: [
          { days: iaDays, storageClass: 'STANDARD_IA' },
          { days: glacierDays, storageClass: 'GLACIER_IR' },
        ],
        expiration: { days: logDays },
      },
    ];
    // Older regions deliver ALB logs from a regional ELB account, newer ones from the service principal.
    const elbAccount = aws.elb.getServiceAccountOutput({}, { parent: this }).arn;
    this.logs = new SecureBucket(
      `${name}-logs`,
      {
        purpose: 'logs',
        environment: env,
        lifecycleRules: logRules,
        policyStatements: albLogDelivery(elbAccount),
      },
      { parent: this },
    );

    if (args.secondaryRegion !== undefined) {
      const secondaryElbAccount = aws.elb.getServiceAccountOutput(
        { region: args.secondaryRegion },
        { parent: this },
      ).arn;
      this.secondaryLogs = new SecureBucket(
        `${name}-secondary-logs`,
        {
          purpose: 'logs',
          environment: env,
          region: args.secondaryRegion,
          lifecycleRules: logRules,
          policyStatements: albLogDelivery(secondaryElbAccount),
        },
        { parent: this },
      );
    }

    // Cluster logs: CloudWatch Logs subscription filters -> Firehose -> the logs bucket. The
    // records arrive gzip-compressed already, so Firehose stores them as they are.
    const firehoseRole = new aws.iam.Role(
      `${name}-firehose-role`,
      {
        assumeRolePolicy: identity.accountId.apply((account) =>
          serviceTrustPolicy('firehose.amazonaws.com', { StringEquals: { 'sts:ExternalId': account } }),
        ),
        tags,
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-firehose-policy`,
      {
        role: firehoseRole.id,
        policy: policyDocument([
          {
            actions: [
              's3:AbortMultipartUpload',
              's3:GetBucketLocation',
              's3:ListBucket',
              's3:ListBucketMultipartUploads',
              's3:PutObject',
            ],
            resources: [this.logs.arn, pulumi.interpolate`${this.logs.arn}/*`],
          },
        ]),
      },
      { parent: this },
    );
    this.logShipping = new aws.kinesis.FirehoseDeliveryStream(
      `${name}-log-shipping`,
      {
        destination: 'extended_s3',
        serverSideEncryption: { enabled: true, keyType: 'AWS_OWNED_CMK' },
        extendedS3Configuration: {
          roleArn: firehoseRole.arn,
          bucketArn: this.logs.arn,
          prefix: 'cluster/!{timestamp:yyyy/MM/dd}/',
          errorOutputPrefix: 'cluster-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
          bufferingInterval: 300,
          bufferingSize: 64,
          compressionFormat: 'UNCOMPRESSED',
        },
        tags,
      },
      { parent: this },
    );
    this.logShippingRole = new aws.iam.Role(
      `${name}-log-subscription-role`,
      {
        assumeRolePolicy: pulumi.all([region, identity.accountId]).apply(([r, account]) =>
          serviceTrustPolicy('logs.amazonaws.com', {
            StringLike: { 'aws:SourceArn': `arn:aws:logs:${r}:${account}:*` },
          }),
        ),
        tags,
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-log-subscription-policy`,
      {
        role: this.logShippingRole.id,
        policy: policyDocument([
          { actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'], resources: [this.logShipping.arn] },
        ]),
      },
      { parent: this },
    );

    // Journal snapshots and Aurora exports survive the loss of the region.
    if (args.secondaryRegion !== undefined) {
      const replicaKey = customerManagedKey(
        `${name}-replica-key`,
        {
          description: pulumi.interpolate`Crossbook ${env} backups replica`,
          alias: pulumi.interpolate`crossbook-${env}-storage-replica`,
          region: args.secondaryRegion,
        },
        { parent: this },
      );
      const replica = new SecureBucket(
        `${name}-backups-replica`,
        {
          purpose: 'backups-replica',
          environment: env,
          kmsKeyArn: replicaKey.arn,
          region: args.secondaryRegion,
        },
        { parent: this },
      );
      this.backupsReplica = replica;
      this.backupsReplicaKey = replicaKey;
      const replicationRole = new aws.iam.Role(
        `${name}-replication-role`,
        { assumeRolePolicy: serviceTrustPolicy('s3.amazonaws.com'), tags },
        { parent: this },
      );
      new aws.iam.RolePolicy(
        `${name}-replication-policy`,
        {
          role: replicationRole.id,
          policy: policyDocument([
            { actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [this.backups.arn] },
            {
              actions: [
                's3:GetObjectVersionForReplication',
                's3:GetObjectVersionAcl',
                's3:GetObjectVersionTagging',
              ],
              resources: [pulumi.interpolate`${this.backups.arn}/*`],
            },
            {
              actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
              resources: [pulumi.interpolate`${replica.arn}/*`],
            },
            { actions: ['kms:Decrypt'], resources: [this.key.arn] },
            { actions: ['kms:Encrypt', 'kms:GenerateDataKey'], resources: [replicaKey.arn] },
          ]),
        },
        { parent: this },
      );
      new aws.s3.BucketReplicationConfig(
        `${name}-backups-replication`,
        {
          bucket: this.backups.bucket.id,
          role: replicationRole.arn,
          rules: [
            {
              id: 'backups-to-secondary',
              status: 'Enabled',
              filter: {},
              deleteMarkerReplication: { status: 'Enabled' },
              sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
              destination: {
                bucket: replica.arn,
                storageClass: 'STANDARD_IA',
                encryptionConfiguration: { replicaKmsKeyId: replicaKey.arn },
              },
            },
          ],
        },
        { parent: this, dependsOn: [this.backups.versioning, replica.versioning] },
      );
    }

    // AWS Backup: daily recovery points of every Aurora cluster and DynamoDB table tagged for
    // this environment, copied to the secondary region when there is one.
    this.vault = new aws.backup.Vault(`${name}-vault`, { kmsKeyArn: this.key.arn, tags }, { parent: this });
    const secondaryVault =
      args.secondaryRegion === undefined
        ? undefined
        : new aws.backup.Vault(
            `${name}-secondary-vault`,
            {
              region: args.secondaryRegion,
              kmsKeyArn: customerManagedKey(
                `${name}-secondary-vault-key`,
                {
                  description: pulumi.interpolate`Crossbook ${env} backup copies`,
                  alias: pulumi.interpolate`crossbook-${env}-backup-copies`,
                  region: args.secondaryRegion,
                },
                { parent: this },
              ).arn,
              tags,
            },
            { parent: this },
          );
    const retention = args.backupRetentionDays ?? 35;
    this.plan = new aws.backup.Plan(
      `${name}-plan`,
      {
        rules: [
          {
            ruleName: 'daily',
            targetVaultName: this.vault.name,
            schedule: 'cron(0 3 * * ? *)',
            startWindow: 60,
            completionWindow: 360,
            lifecycle: { deleteAfter: retention },
            copyActions:
              secondaryVault === undefined
                ? []
                : [{ destinationVaultArn: secondaryVault.arn, lifecycle: { deleteAfter: retention } }],
          },
        ],
        tags,
      },
      { parent: this },
    );
    const backupRole = new aws.iam.Role(
      `${name}-backup-role`,
      { assumeRolePolicy: serviceTrustPolicy('backup.amazonaws.com'), tags },
      { parent: this },
    );
    const backupPolicies = [
      'service-role/AWSBackupServiceRolePolicyForBackup',
      'service-role/AWSBackupServiceRolePolicyForRestores',
    ];
    for (const [i, policy] of backupPolicies.entries()) {
      new aws.iam.RolePolicyAttachment(
        `${name}-backup-role-${i}`,
        { role: backupRole.name, policyArn: managedPolicy(policy) },
        { parent: this },
      );
    }
    this.selection = new aws.backup.Selection(
      `${name}-selection`,
      {
        name: pulumi.interpolate`crossbook-${env}`,
        planId: this.plan.id,
        iamRoleArn: backupRole.arn,
        resources: ['arn:aws:rds:*:*:cluster:*', 'arn:aws:dynamodb:*:*:table/*'],
        conditions: [{ stringEquals: [{ key: `aws:ResourceTag/${BACKUP_TAG}`, value: env }] }],
      },
      { parent: this },
    );

    // The trade history, exported from DynamoDB's point-in-time recovery to the archives
    // bucket every night by EventBridge Scheduler calling the DynamoDB API directly.
    const exportRole = new aws.iam.Role(
      `${name}-trades-export-role`,
      { assumeRolePolicy: serviceTrustPolicy('scheduler.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-trades-export-policy`,
      {
        role: exportRole.id,
        policy: policyDocument([
          { actions: ['dynamodb:ExportTableToPointInTime'], resources: [args.tradesTableArn] },
          {
            actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
            resources: [pulumi.interpolate`${this.archives.arn}/dynamodb/*`],
          },
          { actions: ['kms:Encrypt', 'kms:GenerateDataKey'], resources: [this.key.arn] },
        ]),
      },
      { parent: this },
    );
    this.tradesExport = new aws.scheduler.Schedule(
      `${name}-trades-export`,
      {
        description: pulumi.interpolate`Nightly export of the ${env} trade history to S3`,
        scheduleExpression: 'cron(30 2 * * ? *)',
        flexibleTimeWindow: { mode: 'OFF' },
        target: {
          arn: 'arn:aws:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime',
          roleArn: exportRole.arn,
          input: pulumi
            .all([args.tradesTableArn, this.archives.bucketName, this.key.arn])
            .apply(([table, bucket, key]) =>
              JSON.stringify({
                TableArn: table,
                S3Bucket: bucket,
                S3Prefix: 'dynamodb/trades/',
                S3SseAlgorithm: 'KMS',
                S3SseKmsKeyId: key,
                ExportFormat: 'DYNAMODB_JSON',
              }),
            ),
        },
      },
      { parent: this },
    );

    this.registerOutputs({
      archivesBucket: this.archives.bucketName,
      backupsBucket: this.backups.bucketName,
      logsBucket: this.logs.bucketName,
      backupVault: this.vault.name,
      backupPlanId: this.plan.id,
      logShippingStreamArn: this.logShipping.arn,
    });
  }
}
