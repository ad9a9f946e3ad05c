import assert from 'node:assert/strict';
import type * as MarketDataModule from '../../stacks/market-data.ts';
import { installMocks, resolved, settle } from './support/mocks.ts';

installMocks();

describe('market data', () => {
  let md: MarketDataModule.MarketData;

  before(async () => {
    const { MarketData } = await import('../../stacks/market-data.ts');
    md = new MarketData('mkd', {
      environment: 'test',
      vpcId: 'vpc-1',
      subnetIds: ['subnet-p0', 'subnet-p1', 'subnet-p2'],
      allowedSecurityGroupIds: ['sg-cluster'],
    });
    await settle();
  });

  it('must encrypt Redis in transit and at rest and require an AUTH token', async () => {
    assert.equal(await resolved(md.redis.transitEncryptionEnabled), true);
    assert.equal(await resolved(md.redis.transitEncryptionMode), 'required');
    assert.equal(await resolved(md.redis.atRestEncryptionEnabled), true);
    assert.equal(await resolved(md.redis.kmsKeyId), await resolved(md.key.arn));
    assert.equal((await resolved(md.redis.authToken))?.length, 64);
  });

  it('must run Redis in cluster mode, multi-AZ with automatic failover', async () => {
    assert.equal(await resolved(md.redis.clusterMode), 'enabled');
    assert.equal(await resolved(md.redis.multiAzEnabled), true);
    assert.equal(await resolved(md.redis.automaticFailoverEnabled), true);
    assert.equal(await resolved(md.redis.numNodeGroups), 2);
    assert.equal(await resolved(md.redis.replicasPerNodeGroup), 1);
    assert.equal((await resolved(md.redisNodeIds)).length, 4);
  });

  it('must not open Redis beyond the cluster', async () => {
    const ingress = await resolved(md.securityGroup.ingress);
    assert.deepEqual(
      ingress.map((r) => [r.fromPort, r.securityGroups, r.cidrBlocks]),
      [[6379, ['sg-cluster'], undefined]],
    );
  });

  it('must carry market data to downstream consumers on an on-demand, encrypted stream with a fan-out consumer', async () => {
    assert.equal((await resolved(md.stream.streamModeDetails))?.streamMode, 'ON_DEMAND');
    assert.equal(await resolved(md.stream.encryptionType), 'KMS');
    assert.equal(await resolved(md.consumer.streamArn), await resolved(md.stream.arn));
  });
});
