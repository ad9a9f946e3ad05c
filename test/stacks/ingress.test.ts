import assert from 'node:assert/strict';
import { CACHED_ROUTES, GATEWAY_PORT, HEALTH_PATH } from '../../stacks/contracts.ts';
import type * as IngressModule from '../../stacks/ingress.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('ingress', () => {
  let ingress: IngressModule.Ingress;

  before(async () => {
    const { Ingress } = await import('../../stacks/ingress.ts');
    ingress = new Ingress('ing', {
      environment: 'test',
      domain: 'crossbook.example.com',
      hostedZoneId: 'Z1',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/1',
      vpcId: 'vpc-1',
      publicSubnetIds: ['subnet-u0', 'subnet-u1', 'subnet-u2'],
      clusterSecurityGroupId: 'sg-cluster',
      accessLogsBucket: 'logs',
    });
    await settle();
  });

  it('must send WebSockets and REST through the load balancer to the gateway pods by IP', async () => {
    assert.equal(await resolved(ingress.targetGroup.targetType), 'ip');
    assert.equal(await resolved(ingress.targetGroup.port), GATEWAY_PORT);
    assert.equal((await resolved(ingress.targetGroup.healthCheck))?.path, HEALTH_PATH);
    assert.equal(await resolved(ingress.loadBalancer.idleTimeout), 120);
    assert.equal(await resolved(ingress.loadBalancer.internal), false);
  });

  it('must terminate TLS 1.2 or better and log every request', async () => {
    assert.equal(await resolved(ingress.httpsListener.sslPolicy), 'ELBSecurityPolicy-TLS13-1-2-2021-06');
    assert.equal((await resolved(ingress.loadBalancer.accessLogs))?.enabled, true);
    assert.equal(await resolved(ingress.loadBalancer.dropInvalidHeaderFields), true);
  });

  it('must open the gateway port to the load balancer only', async () => {
    const rule = ofType(recorded(), 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'ing-')[0];
    assert.equal(rule?.inputs.securityGroupId, 'sg-cluster');
    assert.equal(rule?.inputs.referencedSecurityGroupId, await resolved(ingress.securityGroup.id));
    assert.equal(rule?.inputs.fromPort, GATEWAY_PORT);
  });

  it('must throttle the REST API', async () => {
    const settings = await resolved(ingress.defaultMethodSettings.settings);
    assert.equal(await resolved(ingress.defaultMethodSettings.methodPath), '*/*');
    assert.equal(settings.throttlingRateLimit, 1000);
    assert.equal(settings.throttlingBurstLimit, 2000);
    assert.equal(settings.cachingEnabled, false);
  });

  it('must cache public market data only, keyed by its query parameters', async () => {
    const paths = await Promise.all(ingress.cachedMethodSettings.map((s) => resolved(s.methodPath)));
    assert.deepEqual(
      paths.sort(),
      Object.keys(CACHED_ROUTES)
        .map((r) => `${r}/GET`)
        .sort(),
    );
    for (const path of paths) {
      assert.doesNotMatch(path, /order|account|myTrades|userDataStream/);
    }
    const depth = ofType(recorded(), 'aws:apigateway/integration:Integration', 'ing-get-api-v3-depth')[0];
    assert.deepEqual(depth?.inputs.cacheKeyParameters, [
      'method.request.querystring.symbol',
      'method.request.querystring.limit',
    ]);
    assert.equal(await resolved(ingress.stage.cacheClusterEnabled), true);
  });

  it('must put a WAF with a rate rule in front of the load balancer and the API', async () => {
    const rules = await resolved(ingress.webAcl.rules);
    assert.equal(rules?.[0]?.statement?.rateBasedStatement?.limit, 2000);
    const associations = ofType(recorded(), 'aws:wafv2/webAclAssociation:WebAclAssociation', 'ing-');
    assert.deepEqual(
      associations.map((a) => a.inputs.resourceArn).sort(),
      [await resolved(ingress.loadBalancer.arn), await resolved(ingress.stage.arn)].sort(),
    );
  });

  it('must name the load balancer origin-<region>.<domain> and serve api.<domain>', async () => {
    assert.equal(await resolved(ingress.originHostname), 'origin-us-east-1.crossbook.example.com');
    assert.equal(await resolved(ingress.apiDomain.domainName), 'api.crossbook.example.com');
    assert.equal(await resolved(ingress.apiDomain.securityPolicy), 'TLS_1_2');
  });
});
