import assert from 'node:assert/strict';
import type * as DatabaseModule from '../../stacks/accounts-database.ts';
import { BACKUP_TAG } from '../../stacks/contracts.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('accounts database', () => {
  let single: DatabaseModule.AccountsDatabase;
  let global: DatabaseModule.AccountsDatabase;
  const isolated = ['subnet-i0', 'subnet-i1', 'subnet-i2'];

  before(async () => {
    const { AccountsDatabase } = await import('../../stacks/accounts-database.ts');
    const common = {
      environment: 'test',
      vpcId: 'vpc-1',
      subnetIds: isolated,
      availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      allowedSecurityGroupIds: ['sg-cluster'],
      snapshotExport: {
        bucketName: 'backups',
        bucketArn: 'arn:aws:s3:::backups',
        kmsKeyArn: 'arn:aws:kms:key/storage',
      },
    };
    single = new AccountsDatabase('adb-a', common);
    global = new AccountsDatabase('adb-b', {
      ...common,
      instanceCount: 3,
      secondary: {
        region: 'us-west-2',
        vpcId: 'vpc-2',
        subnetIds: ['subnet-w0', 'subnet-w1', 'subnet-w2'],
        allowedSecurityGroupIds: ['sg-cluster-west'],
      },
    });
    await settle();
  });

  it('must not expose the database publicly', async () => {
    for (const instance of single.instances) {
      assert.equal(await resolved(instance.publiclyAccessible), false);
    }
    assert.deepEqual(await resolved(single.subnetGroup.subnetIds), isolated);
    const ingress = await resolved(single.securityGroup.ingress);
    assert.equal(ingress.length, 1);
    assert.deepEqual(ingress[0]?.securityGroups, ['sg-cluster']);
    assert.equal(ingress[0]?.cidrBlocks, undefined);
    assert.equal(ingress[0]?.fromPort, 5432);
    assert.deepEqual(await resolved(single.securityGroup.egress), []);
  });

  it('must encrypt the database with its own KMS key', async () => {
    assert.equal(await resolved(single.cluster.storageEncrypted), true);
    assert.equal(await resolved(single.cluster.kmsKeyId), await resolved(single.key.arn));
    assert.equal(await resolved(single.key.enableKeyRotation), true);
  });

  it('must refuse connections without TLS', async () => {
    const parameters = await resolved(single.parameterGroup.parameters);
    assert.ok(parameters?.some((p) => p.name === 'rds.force_ssl' && p.value === '1'));
  });

  it('must spread its instances across availability zones', async () => {
    const zones = await Promise.all(global.instances.map((i) => resolved(i.availabilityZone)));
    assert.deepEqual(zones, ['us-east-1a', 'us-east-1b', 'us-east-1c']);
    assert.equal(single.instances.length, 2);
  });

  it('must retain backups, refuse deletion and keep a final snapshot', async () => {
    assert.equal(await resolved(single.cluster.backupRetentionPeriod), 14);
    assert.equal(await resolved(single.cluster.deletionProtection), true);
    assert.equal(await resolved(single.cluster.skipFinalSnapshot), false);
    assert.equal(await resolved(single.cluster.copyTagsToSnapshot), true);
    const tags = await resolved(single.cluster.tags);
    assert.equal(tags?.[BACKUP_TAG], 'test');
  });

  it('must keep the master password in Secrets Manager, encrypted with its key', async () => {
    assert.equal(await resolved(single.masterSecret.secret.kmsKeyId), await resolved(single.key.arn));
    assert.equal(await resolved(single.cluster.masterPassword), 'A'.repeat(40));
    assert.equal(await resolved(single.secretName), 'crossbook/test/accounts-db');
  });

  it('must export every automated snapshot to S3', () => {
    const rule = ofType(recorded(), 'aws:cloudwatch/eventRule:EventRule', 'adb-a')[0];
    const pattern = JSON.parse(String(rule?.inputs.eventPattern));
    assert.deepEqual(pattern.detail.EventID, ['RDS-EVENT-0169']);
    const machine = ofType(recorded(), 'aws:sfn/stateMachine:StateMachine', 'adb-a')[0];
    const definition = JSON.parse(String(machine?.inputs.definition));
    const task = definition.States.StartExportTask;
    assert.equal(task.Resource, 'arn:aws:states:::aws-sdk:rds:startExportTask');
    assert.equal(task.Parameters.S3BucketName, 'backups');
    assert.equal(task.Parameters['SourceArn.$'], '$.detail.SourceArn');
  });

  it('must add an encrypted Aurora Global secondary in the secondary region', async () => {
    assert.equal(single.globalCluster, undefined);
    assert.ok(global.globalCluster && global.secondaryCluster);
    assert.equal(await resolved(global.secondaryCluster.region), 'us-west-2');
    assert.equal(await resolved(global.secondaryCluster.storageEncrypted), true);
    assert.equal(
      await resolved(global.secondaryCluster.globalClusterIdentifier),
      await resolved(global.globalCluster.id),
    );
    assert.equal(
      await resolved(global.cluster.globalClusterIdentifier),
      await resolved(global.globalCluster.id),
    );
    assert.equal(await resolved(global.globalCluster.storageEncrypted), true);
    for (const instance of global.secondaryInstances) {
      assert.equal(await resolved(instance.publiclyAccessible), false);
    }
    const replicas = await resolved(global.masterSecret.secret.replicas);
    assert.equal(replicas?.[0]?.region, 'us-west-2');
  });
});
