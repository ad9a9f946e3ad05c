import assert from 'node:assert/strict';
import type * as SecureBucketModule from '../../stacks/secure-bucket.ts';
import type * as StorageModule from '../../stacks/storage.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('storage', () => {
  let storage: StorageModule.Storage;
  let dr: StorageModule.Storage;
  let buckets: SecureBucketModule.SecureBucket[];

  before(async () => {
    const { Storage } = await import('../../stacks/storage.ts');
    const tradesTableArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/crossbook-test-trades';
    storage = new Storage('sto-a', { environment: 'test', tradesTableArn });
    dr = new Storage('sto-b', { environment: 'test', tradesTableArn, secondaryRegion: 'us-west-2' });
    await settle();
    buckets = [storage.archives, storage.backups, storage.logs];
  });

  it('every bucket must block public access', async () => {
    for (const bucket of buckets) {
      const block = bucket.publicAccessBlock;
      assert.equal(await resolved(block.bucket), await resolved(bucket.bucket.id));
      for (const setting of [
        block.blockPublicAcls,
        block.blockPublicPolicy,
        block.ignorePublicAcls,
        block.restrictPublicBuckets,
      ]) {
        assert.equal(await resolved(setting), true);
      }
    }
  });

  it('every bucket must be encrypted, with the storage key where services allow it', async () => {
    const algorithm = async (bucket: SecureBucketModule.SecureBucket) =>
      (await resolved(bucket.encryption.rules))[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm;
    assert.equal(await algorithm(storage.archives), 'aws:kms');
    assert.equal(await algorithm(storage.backups), 'aws:kms');
    // Load balancers write access logs only with SSE-S3.
    assert.equal(await algorithm(storage.logs), 'AES256');
    const rule = (await resolved(storage.archives.encryption.rules))[0];
    assert.equal(rule?.applyServerSideEncryptionByDefault?.kmsMasterKeyId, await resolved(storage.key.arn));
  });

  it('every bucket must be versioned and refuse requests without TLS', async () => {
    for (const bucket of buckets) {
      assert.equal((await resolved(bucket.versioning.versioningConfiguration)).status, 'Enabled');
      const policy = JSON.parse(await resolved(bucket.policy?.policy ?? ''));
      assert.equal(policy.Statement[0].Sid, 'DenyInsecureTransport');
      assert.equal(policy.Statement[0].Effect, 'Deny');
    }
  });

  it('must move archives to colder storage as they age', async () => {
    const rules = (await resolved(storage.archives.lifecycle.rules)) ?? [];
    const tiering = rules.find((r) => r.id === 'tier-archives');
    assert.deepEqual(
      tiering?.transitions?.map((t) => t.storageClass),
      ['STANDARD_IA', 'GLACIER_IR', 'DEEP_ARCHIVE'],
    );
    const logs = (await resolved(storage.logs.lifecycle.rules))?.find((r) => r.id === 'tier-and-expire-logs');
    assert.equal(logs?.expiration?.days, 400);
  });

  it('must back up Aurora and DynamoDB by tag, daily, with retention', async () => {
    const conditions = await resolved(storage.selection.conditions);
    assert.deepEqual(conditions?.[0]?.stringEquals, [
      { key: 'aws:ResourceTag/crossbook:backup-plan', value: 'test' },
    ]);
    assert.deepEqual(await resolved(storage.selection.resources), [
      'arn:aws:rds:*:*:cluster:*',
      'arn:aws:dynamodb:*:*:table/*',
    ]);
    const rule = (await resolved(storage.plan.rules))[0];
    assert.equal(rule?.lifecycle?.deleteAfter, 35);
    assert.deepEqual(rule?.copyActions, []);
  });

  it('must export the trade history from DynamoDB to the archives every night', async () => {
    const target = await resolved(storage.tradesExport.target);
    assert.equal(target.arn, 'arn:aws:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime');
    const input = JSON.parse(target.input ?? '{}');
    assert.equal(input.TableArn, 'arn:aws:dynamodb:us-east-1:123456789012:table/crossbook-test-trades');
    assert.equal(input.S3Bucket, await resolved(storage.archives.bucketName));
  });

  it("must ship the cluster's logs to the logs bucket", async () => {
    const destination = await resolved(storage.logShipping.extendedS3Configuration);
    assert.equal(destination?.bucketArn, await resolved(storage.logs.arn));
  });

  it('must replicate backups and copy recovery points to the secondary region', async () => {
    assert.equal(storage.backupsReplica, undefined);
    assert.ok(dr.backupsReplica && dr.secondaryLogs);
    assert.equal(await resolved(dr.backupsReplica.bucket.region), 'us-west-2');
    const replication = ofType(
      recorded(),
      'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
      'sto-b',
    )[0];
    assert.ok(replication);
    const copies = (await resolved(dr.plan.rules))[0]?.copyActions ?? [];
    assert.equal(copies.length, 1);
  });
});
