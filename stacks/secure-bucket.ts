import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** A bucket policy statement (IAM JSON), given the bucket's ARN. */
export type BucketStatements = (bucketArn: pulumi.Output<string>) => pulumi.Input<Record<string, unknown>>[];

/** Arguments of {@link SecureBucket}. */
export interface SecureBucketArgs {
  /** What the bucket holds, for the `Purpose` tag. */
  purpose: pulumi.Input<string>;
  /** Name used in tags. */
  environment: pulumi.Input<string>;
  /**
   * The KMS key encrypting objects (SSE-KMS with an S3 bucket key). Default: none, meaning
   * SSE-S3, which the services that cannot write SSE-KMS objects require (ALB access logs).
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** Lifecycle rules on top of the built-in ones (abort stale multipart uploads, expire old versions). Default none. */
  lifecycleRules?: pulumi.Input<aws.types.input.s3.BucketLifecycleConfigurationRule>[];
  /** Days a noncurrent object version is kept. Default 90. */
  noncurrentVersionDays?: pulumi.Input<number>;
  /** Statements added to the bucket policy (which always denies requests without TLS). Default none. */
  policyStatements?: BucketStatements;
  /**
   * The caller attaches the bucket policy itself (it must include {@link denyInsecureTransport}),
   * for policies naming resources created after the bucket, such as a CloudFront distribution.
   * Default false.
   */
  externalPolicy?: boolean;
  /** A region other than the provider's. Default: the provider's. */
  region?: pulumi.Input<string>;
}

/**
 * An S3 bucket with every guard the platform requires of one: ownership enforced (no ACLs),
 * all public access blocked, encryption at rest, versioning, lifecycle rules, and a policy
 * that refuses plain-HTTP requests.
 */
export class SecureBucket extends pulumi.ComponentResource {
  /** The bucket. */
  public readonly bucket: aws.s3.Bucket;
  /** Its public access block. */
  public readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  /** Its default encryption. */
  public readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  /** Its versioning. */
  public readonly versioning: aws.s3.BucketVersioning;
  /** Its lifecycle. */
  public readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
  /** Its policy, unless the caller attaches one. */
  public readonly policy: aws.s3.BucketPolicy | undefined;
  /** The bucket name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket ARN. */
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:SecureBucket', name, {}, opts);
    const region = args.region;
    this.bucket = new aws.s3.Bucket(
      name,
      { region, tags: { Environment: args.environment, Purpose: args.purpose } },
      { parent: this },
    );
    const bucket = this.bucket.id;
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, region, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      { parent: this },
    );
    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      {
        bucket,
        region,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
    this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        region,
        rules: [
          args.kmsKeyArn === undefined
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }
            : {
                applyServerSideEncryptionByDefault: {
                  sseAlgorithm: 'aws:kms',
                  kmsMasterKeyId: args.kmsKeyArn,
                },
                bucketKeyEnabled: true,
              },
        ],
      },
      { parent: this },
    );
    this.versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, region, versioningConfiguration: { status: 'Enabled' } },
      { parent: this },
    );
    this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket,
        region,
        rules: [
          {
            id: 'abort-incomplete-uploads',
            status: 'Enabled',
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
          {
            id: 'expire-noncurrent-versions',
            status: 'Enabled',
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 90 },
          },
          ...(args.lifecycleRules ?? []),
        ],
      },
      // Lifecycle rules on a bucket being versioned must wait for versioning.
      { parent: this, dependsOn: [this.versioning] },
    );
    this.arn = this.bucket.arn;
    this.bucketName = this.bucket.bucket;
    if (args.externalPolicy !== true) {
      const extra = args.policyStatements?.(this.arn) ?? [];
      this.policy = new aws.s3.BucketPolicy(
        `${name}-policy`,
        { bucket, region, policy: bucketPolicy(this.arn, extra) },
        // A policy applied before the public access block could briefly be judged public.
        { parent: this, dependsOn: [this.publicAccessBlock, ownership] },
      );
    }
    this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
  }
}

/** The statement every bucket policy carries: no request without TLS. */
export function denyInsecureTransport(bucketArn: string): Record<string, unknown> {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/** A bucket policy document: {@link denyInsecureTransport} plus the given statements. */
export function bucketPolicy(
  bucketArn: pulumi.Input<string>,
  statements: pulumi.Input<Record<string, unknown>>[],
): pulumi.Output<string> {
  return pulumi
    .all([bucketArn, pulumi.all(statements)])
    .apply(([arn, extra]) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [denyInsecureTransport(arn), ...extra] }),
    );
}
