import assert from 'node:assert/strict';
import type * as EdgeModule from '../../stacks/edge.ts';
import { installMocks, resolved, settle } from './support/mocks.ts';

installMocks();

function endpoint(region: string, active: boolean): EdgeModule.RegionalEndpoint {
  return {
    region,
    active,
    originHostname: `origin-${region}.crossbook.example.com`,
    albArn: `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/gw/1`,
    albDnsName: `gw-1.${region}.elb.amazonaws.com`,
    albZoneId: 'ZALB',
    apiRegionalDomainName: `d-1.execute-api.${region}.amazonaws.com`,
    apiRegionalZoneId: 'ZAPI',
    executeApiDomain: `abc.execute-api.${region}.amazonaws.com`,
    stageName: 'live',
  };
}

describe('edge', () => {
  let single: EdgeModule.Edge;
  let multi: EdgeModule.Edge;
  let EdgeClass: typeof EdgeModule.Edge;

  before(async () => {
    ({ Edge: EdgeClass } = await import('../../stacks/edge.ts'));
    const common = {
      environment: 'test',
      domain: 'crossbook.example.com',
      hostedZoneId: 'Z1',
      cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/cf',
    };
    single = new EdgeClass('edg-a', { ...common, regions: [endpoint('us-east-1', true)] });
    multi = new EdgeClass('edg-b', {
      ...common,
      regions: [endpoint('us-east-1', true), endpoint('us-west-2', false)],
    });
    await settle();
  });

  it('must serve the web terminal from a private bucket through origin access control', async () => {
    const origins = await resolved(single.distribution.origins);
    const web = origins.find((o) => o.originId === 'web');
    assert.ok(web?.originAccessControlId);
    assert.equal(web.customOriginConfig, undefined);
    assert.equal(await resolved(single.webBucket.publicAccessBlock.restrictPublicBuckets), true);
  });

  it('must route REST through API Gateway and WebSockets through the load balancer', async () => {
    const origins = await resolved(single.distribution.origins);
    const behaviours = await resolved(single.distribution.orderedCacheBehaviors);
    const target = (pattern: string) => behaviours?.find((b) => b.pathPattern === pattern)?.targetOriginId;
    assert.equal(target('/api/*'), 'api');
    assert.equal(target('/ws*'), 'stream');
    assert.equal(target('/stream*'), 'stream');
    assert.equal(
      origins.find((o) => o.originId === 'api')?.domainName,
      'abc.execute-api.us-east-1.amazonaws.com',
    );
    assert.equal(
      origins.find((o) => o.originId === 'stream')?.domainName,
      'origin-us-east-1.crossbook.example.com',
    );
  });

  it('must serve TLS 1.2+ only, with the us-east-1 certificate and a WAF there', async () => {
    const certificate = await resolved(single.distribution.viewerCertificate);
    assert.equal(certificate.minimumProtocolVersion, 'TLSv1.2_2021');
    assert.equal(certificate.acmCertificateArn, 'arn:aws:acm:us-east-1:123456789012:certificate/cf');
    assert.equal(await resolved(single.webAcl.scope), 'CLOUDFRONT');
    assert.equal(await resolved(single.webAcl.region), 'us-east-1');
    assert.equal(await resolved(single.distribution.webAclId), await resolved(single.webAcl.arn));
  });

  it('must health-check every region', async () => {
    const check = multi.healthChecks['us-west-2'];
    assert.ok(check);
    assert.equal(await resolved(check.resourcePath), '/api/v3/ping');
    assert.equal(await resolved(check.fqdn), 'origin-us-west-2.crossbook.example.com');
  });

  it('must fail api.<domain> over between regions', async () => {
    const policies = await Promise.all(multi.records.map((r) => resolved(r.failoverRoutingPolicies)));
    const types = policies
      .flatMap((p) => p ?? [])
      .map((p) => p.type)
      .sort();
    assert.deepEqual(types, ['PRIMARY', 'SECONDARY']);
    const singles = await Promise.all(single.records.map((r) => resolved(r.failoverRoutingPolicies)));
    assert.ok(singles.every((p) => p === undefined || p.length === 0));
  });

  it('must put Global Accelerator in front of the regions only when there are two', async () => {
    assert.equal(single.accelerator, undefined);
    assert.ok(multi.accelerator);
    assert.equal(await resolved(multi.endpointGroups['us-east-1']!.trafficDialPercentage), 100);
    assert.equal(await resolved(multi.endpointGroups['us-west-2']!.trafficDialPercentage), 0);
    assert.deepEqual(await resolved(multi.acceleratorIps), ['192.0.2.10', '192.0.2.11']);
  });

  it('must refuse anything but exactly one active region', () => {
    assert.throws(
      () =>
        new EdgeClass('edg-c', {
          environment: 'test',
          domain: 'x.example.com',
          hostedZoneId: 'Z1',
          cloudFrontCertificateArn: 'arn',
          regions: [endpoint('us-east-1', true), endpoint('us-west-2', true)],
        }),
      /exactly one region/,
    );
  });
});
