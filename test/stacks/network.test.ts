import assert from 'node:assert/strict';
import type * as NetworkModule from '../../stacks/network.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('network', () => {
  let network: NetworkModule.Network;
  let single: NetworkModule.Network;

  before(async () => {
    const { Network } = await import('../../stacks/network.ts');
    network = new Network('net-a', { environment: 'test' });
    single = new Network('net-b', { environment: 'test', natGateways: 'single', availabilityZoneCount: 2 });
    await settle();
  });

  it('must span three availability zones with public, private and isolated subnets', async () => {
    assert.deepEqual(await resolved(network.availabilityZones), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
    assert.equal(network.publicSubnets.length, 3);
    assert.equal(network.privateSubnets.length, 3);
    assert.equal(network.isolatedSubnets.length, 3);
    const zones = await Promise.all(network.privateSubnets.map((s) => resolved(s.availabilityZone)));
    assert.equal(new Set(zones).size, 3);
  });

  it('must give every AZ its own NAT gateway', async () => {
    assert.equal(network.natGateways.length, 3);
    const targets = await Promise.all(network.privateRouteTables.map((t) => resolved(t.routes)));
    const nats = targets.map((routes) => routes?.[0]?.natGatewayId);
    assert.equal(new Set(nats).size, 3);
  });

  it('must not route isolated subnets anywhere outside the VPC', async () => {
    for (const table of network.isolatedRouteTables) {
      assert.deepEqual(await resolved(table.routes), []);
    }
  });

  it('must reach S3 and DynamoDB through gateway endpoints', async () => {
    for (const endpoint of [network.s3Endpoint, network.dynamodbEndpoint]) {
      assert.equal(await resolved(endpoint.vpcEndpointType), 'Gateway');
      assert.equal((await resolved(endpoint.routeTableIds))?.length, 6);
    }
    assert.match((await resolved(network.s3Endpoint.serviceName)) ?? '', /^com\.amazonaws\.us-east-1\.s3$/);
  });

  it('must not overlap subnets', async () => {
    const cidrs = await Promise.all(
      [...network.publicSubnets, ...network.privateSubnets, ...network.isolatedSubnets].map((s) =>
        resolved(s.cidrBlock),
      ),
    );
    assert.equal(new Set(cidrs).size, 9);
  });

  it('may share one NAT gateway when configured to', () => {
    assert.equal(single.natGateways.length, 1);
    assert.equal(ofType(recorded(), 'aws:ec2/natGateway:NatGateway', 'net-b').length, 1);
  });
});
