import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BACKUP_TAG } from './contracts.ts';
import { customerManagedKey } from './kms.ts';

/** Arguments of {@link Trades}. */
export interface TradesArgs {
  /** Name used in the table name and tags. */
  environment: pulumi.Input<string>;
  /** The table name. Default `crossbook-<environment>-trades`. */
  tableName?: pulumi.Input<string>;
  /** A region holding a global-table replica. Default: none. */
  secondaryRegion?: pulumi.Input<string>;
  /** Refuse to delete the table. Default true. */
  deletionProtection?: pulumi.Input<boolean>;
}

/**
 * The trade history table in DynamoDB, written by the persister in batches keyed by sequence.
 * On-demand capacity (trading volume is bursty and unpredictable), point-in-time recovery, a
 * stream of new images for downstream consumers, encryption with its own KMS key, and a
 * global-table replica in the secondary region.
 *
 * Keys: `pk` (string, e.g. `U#<userId>#<symbol>` for an account's trades) and `sk` (number,
 * the trade id); the `bySymbol` index (`gsi1pk` = symbol, `gsi1sk` = trade id) serves the
 * public trade history.
 */
export class Trades extends pulumi.ComponentResource {
  /** The table. */
  public readonly table: aws.dynamodb.Table;
  /** The KMS key encrypting the table. */
  public readonly key: aws.kms.Key;
  /** The table name. */
  public readonly tableName: pulumi.Output<string>;
  /** The table ARN. */
  public readonly tableArn: pulumi.Output<string>;
  /** The ARN of the table's stream. */
  public readonly streamArn: pulumi.Output<string>;
  /** The KMS key of the replica, when there is one. */
  public readonly replicaKey: aws.kms.Key | undefined;
  /** The replica's ARN (the table's own ARN when there is no replica). */
  public readonly replicaTableArn: pulumi.Output<string>;

  constructor(name: string, args: TradesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Trades', name, {}, opts);
    const env = args.environment;
    this.key = customerManagedKey(
      `${name}-key`,
      {
        description: pulumi.interpolate`Crossbook ${env} trade history`,
        alias: pulumi.interpolate`crossbook-${env}-trades`,
      },
      { parent: this },
    );
    this.replicaKey =
      args.secondaryRegion === undefined
        ? undefined
        : customerManagedKey(
            `${name}-replica-key`,
            {
              description: pulumi.interpolate`Crossbook ${env} trade history replica`,
              alias: pulumi.interpolate`crossbook-${env}-trades`,
              region: args.secondaryRegion,
            },
            { parent: this },
          );
    const replicas =
      args.secondaryRegion === undefined || this.replicaKey === undefined
        ? []
        : [
            {
              regionName: args.secondaryRegion,
              pointInTimeRecovery: true,
              propagateTags: true,
              kmsKeyArn: this.replicaKey.arn,
            },
          ];
    this.table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        name: args.tableName ?? pulumi.interpolate`crossbook-${env}-trades`,
        billingMode: 'PAY_PER_REQUEST',
        hashKey: 'pk',
        rangeKey: 'sk',
        attributes: [
          { name: 'pk', type: 'S' },
          { name: 'sk', type: 'N' },
          { name: 'gsi1pk', type: 'S' },
          { name: 'gsi1sk', type: 'N' },
        ],
        globalSecondaryIndexes: [
          { name: 'bySymbol', hashKey: 'gsi1pk', rangeKey: 'gsi1sk', projectionType: 'ALL' },
        ],
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true, kmsKeyArn: this.key.arn },
        streamEnabled: true,
        streamViewType: 'NEW_IMAGE',
        deletionProtectionEnabled: args.deletionProtection ?? true,
        replicas,
        tags: { Environment: env, [BACKUP_TAG]: env },
      },
      { parent: this },
    );
    this.tableName = this.table.name;
    this.tableArn = this.table.arn;
    this.streamArn = this.table.streamArn;
    this.replicaTableArn = pulumi
      .all([this.table.arn, this.table.replicas])
      .apply(([arn, list]) => list?.[0]?.arn ?? arn);
    this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn, streamArn: this.streamArn });
  }
}
