import * as crypto from 'node:crypto';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CACHED_ROUTES, GATEWAY_PORT, HEALTH_PATH } from './contracts.ts';
import { managedPolicy, serviceTrustPolicy } from './iam.ts';
import { webAcl } from './waf.ts';

/** API Gateway throttling and caching. */
export interface ApiSettings {
  /** Steady-state requests per second. Default 1000. */
  rateLimit?: pulumi.Input<number>;
  /** Burst. Default 2000. */
  burstLimit?: pulumi.Input<number>;
  /** Cache size in GB. Default `0.5`. */
  cacheSizeGb?: pulumi.Input<string>;
  /** Seconds a public market-data response is cached. Default 1. */
  cacheTtlSeconds?: pulumi.Input<number>;
}

/** Arguments of {@link Ingress}. */
export interface IngressArgs {
  /** Name used in names and tags. */
  environment: pulumi.Input<string>;
  /** The public domain, e.g. `crossbook.example.com`. */
  domain: pulumi.Input<string>;
  /** The Route 53 zone of the domain. */
  hostedZoneId: pulumi.Input<string>;
  /** A validated certificate in this region for the domain and `*.<domain>`. */
  certificateArn: pulumi.Input<string>;
  /** The VPC. */
  vpcId: pulumi.Input<string>;
  /** Public subnets for the load balancer. */
  publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The cluster security group (on every node and pod), opened to the load balancer on the gateway port. */
  clusterSecurityGroupId: pulumi.Input<string>;
  /** Bucket for the load balancer's access logs (same region). Default: no access logs. */
  accessLogsBucket?: pulumi.Input<string>;
  /** Seconds an idle connection (a quiet WebSocket) stays open. Default 120. */
  idleTimeoutSeconds?: pulumi.Input<number>;
  /** Refuse to delete the load balancer. Default true. */
  deletionProtection?: pulumi.Input<boolean>;
  /** WAF: requests per client IP per 5 minutes. Default 2000. */
  wafRateLimit?: pulumi.Input<number>;
  /** API Gateway throttling and caching. */
  api?: ApiSettings;
  /** The API Gateway stage. Default `live`. */
  stageName?: string;
  /** Days API Gateway access logs are kept. Default 30. */
  logRetentionDays?: pulumi.Input<number>;
}

/**
 * The regional front door. An internet-facing ALB (TLS 1.3/1.2, HTTP to HTTPS redirect) whose
 * target group the AWS Load Balancer Controller fills with the gateway pods' IPs: WebSocket
 * streams go through it straight to the uWebSockets.js gateways. A regional REST API in API
 * Gateway in front of the same ALB, throttled, caching the public market-data routes only. A
 * regional WAF on both. DNS: `origin-<region>.<domain>` names the ALB (the origin of CloudFront
 * and API Gateway), and a regional custom domain `api.<domain>` serves the REST API.
 */
export class Ingress extends pulumi.ComponentResource {
  /** The load balancer's security group. */
  public readonly securityGroup: aws.ec2.SecurityGroup;
  /** The load balancer. */
  public readonly loadBalancer: aws.lb.LoadBalancer;
  /** The gateway target group (IP targets, bound by the load balancer controller). */
  public readonly targetGroup: aws.lb.TargetGroup;
  /** The HTTPS listener. */
  public readonly httpsListener: aws.lb.Listener;
  /** The REST API. */
  public readonly restApi: aws.apigateway.RestApi;
  /** The REST API's stage. */
  public readonly stage: aws.apigateway.Stage;
  /** Stage-wide settings (throttling, no caching). */
  public readonly defaultMethodSettings: aws.apigateway.MethodSettings;
  /** Per-route settings of the cached public routes. */
  public readonly cachedMethodSettings: aws.apigateway.MethodSettings[];
  /** The regional WAF. */
  public readonly webAcl: aws.wafv2.WebAcl;
  /** The `api.<domain>` custom domain in this region. */
  public readonly apiDomain: aws.apigateway.DomainName;
  /** The region. */
  public readonly region: pulumi.Output<string>;
  /** `origin-<region>.<domain>`. */
  public readonly originHostname: pulumi.Output<string>;
  /** The load balancer's ARN. */
  public readonly albArn: pulumi.Output<string>;
  /** The load balancer's DNS name. */
  public readonly albDnsName: pulumi.Output<string>;
  /** The load balancer's hosted zone. */
  public readonly albZoneId: pulumi.Output<string>;
  /** The load balancer's ARN suffix (CloudWatch dimension). */
  public readonly albArnSuffix: pulumi.Output<string>;
  /** The target group's ARN. */
  public readonly targetGroupArn: pulumi.Output<string>;
  /** The target group's ARN suffix (CloudWatch dimension). */
  public readonly targetGroupArnSuffix: pulumi.Output<string>;
  /** The load balancer's security group id. */
  public readonly albSecurityGroupId: pulumi.Output<string>;
  /** The REST API's id. */
  public readonly restApiId: pulumi.Output<string>;
  /** The stage name. */
  public readonly stageName: pulumi.Output<string>;
  /** `<api id>.execute-api.<region>.amazonaws.com`. */
  public readonly executeApiDomain: pulumi.Output<string>;
  /** The regional target of `api.<domain>`. */
  public readonly apiRegionalDomainName: pulumi.Output<string>;
  /** Its hosted zone. */
  public readonly apiRegionalZoneId: pulumi.Output<string>;

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Ingress', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env };
    const stageName = args.stageName ?? 'live';
    this.region = aws.getRegionOutput({}, { parent: this }).region;
    this.originHostname = pulumi.interpolate`origin-${this.region}.${args.domain}`;

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-alb-sg`,
      {
        vpcId: args.vpcId,
        description: 'Public load balancer: HTTPS and HTTP (redirected) from anywhere',
        ingress: [
          {
            description: 'HTTPS',
            protocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            cidrBlocks: ['0.0.0.0/0'],
            ipv6CidrBlocks: ['::/0'],
          },
          {
            description: 'HTTP (redirect)',
            protocol: 'tcp',
            fromPort: 80,
            toPort: 80,
            cidrBlocks: ['0.0.0.0/0'],
            ipv6CidrBlocks: ['::/0'],
          },
        ],
        egress: [
          {
            description: 'To the gateway pods',
            protocol: 'tcp',
            fromPort: GATEWAY_PORT,
            toPort: GATEWAY_PORT,
            securityGroups: [args.clusterSecurityGroupId],
          },
        ],
        tags,
      },
      { parent: this },
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-gateway-from-alb`,
      {
        securityGroupId: args.clusterSecurityGroupId,
        referencedSecurityGroupId: this.securityGroup.id,
        ipProtocol: 'tcp',
        fromPort: GATEWAY_PORT,
        toPort: GATEWAY_PORT,
        description: 'Gateway pods from the public load balancer',
      },
      { parent: this },
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: 'application',
        internal: false,
        ipAddressType: 'dualstack',
        securityGroups: [this.securityGroup.id],
        subnets: args.publicSubnetIds,
        idleTimeout: args.idleTimeoutSeconds ?? 120,
        dropInvalidHeaderFields: true,
        enableHttp2: true,
        enableDeletionProtection: args.deletionProtection ?? true,
        accessLogs:
          args.accessLogsBucket === undefined
            ? undefined
            : { bucket: args.accessLogsBucket, prefix: 'alb', enabled: true },
        tags,
      },
      { parent: this },
    );
    this.targetGroup = new aws.lb.TargetGroup(
      `${name}-gateway`,
      {
        vpcId: args.vpcId,
        targetType: 'ip',
        protocol: 'HTTP',
        port: GATEWAY_PORT,
        loadBalancingAlgorithmType: 'least_outstanding_requests',
        deregistrationDelay: 30,
        healthCheck: {
          path: HEALTH_PATH,
          matcher: '200',
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
        tags,
      },
      { parent: this },
    );
    this.httpsListener = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificateArn: args.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
        tags,
      },
      { parent: this },
    );
    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [
          { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
        ],
        tags,
      },
      { parent: this },
    );
    new aws.route53.Record(
      `${name}-origin`,
      {
        zoneId: args.hostedZoneId,
        name: this.originHostname,
        type: 'A',
        aliases: [
          { name: this.loadBalancer.dnsName, zoneId: this.loadBalancer.zoneId, evaluateTargetHealth: true },
        ],
      },
      { parent: this },
    );

    this.webAcl = webAcl(
      `${name}-waf`,
      { scope: 'REGIONAL', rateLimit: args.wafRateLimit ?? 2000, tags },
      { parent: this },
    );
    new aws.wafv2.WebAclAssociation(
      `${name}-waf-alb`,
      { resourceArn: this.loadBalancer.arn, webAclArn: this.webAcl.arn },
      { parent: this },
    );

    // REST through API Gateway: throttling for everyone, caching for public market data.
    const api = args.api ?? {};
    const rateLimit = api.rateLimit ?? 1000;
    const burstLimit = api.burstLimit ?? 2000;
    this.restApi = new aws.apigateway.RestApi(
      `${name}-rest`,
      {
        description: pulumi.interpolate`Crossbook ${env} REST API`,
        endpointConfiguration: { types: 'REGIONAL' },
        tags,
      },
      { parent: this },
    );
    const restApiId = this.restApi.id;
    const resources = new Map<string, aws.apigateway.Resource>();
    const resourceFor = (path: string): aws.apigateway.Resource => {
      const known = resources.get(path);
      if (known !== undefined) {
        return known;
      }
      const slash = path.lastIndexOf('/');
      const parentId = slash < 0 ? this.restApi.rootResourceId : resourceFor(path.slice(0, slash)).id;
      const resource = new aws.apigateway.Resource(
        `${name}-res-${path.replaceAll('/', '-').replaceAll(/[{}+]/g, '')}`,
        { restApi: restApiId, parentId, pathPart: path.slice(slash + 1) },
        { parent: this },
      );
      resources.set(path, resource);
      return resource;
    };
    const origin = this.originHostname;
    const deployed: pulumi.Resource[] = [];
    for (const [path, keys] of Object.entries(CACHED_ROUTES)) {
      const resource = resourceFor(path);
      const slug = path.replaceAll('/', '-');
      const method = new aws.apigateway.Method(
        `${name}-get-${slug}`,
        {
          restApi: restApiId,
          resourceId: resource.id,
          httpMethod: 'GET',
          authorization: 'NONE',
          requestParameters: Object.fromEntries(keys.map((k) => [`method.request.querystring.${k}`, false])),
        },
        { parent: this },
      );
      const integration = new aws.apigateway.Integration(
        `${name}-get-${slug}-integration`,
        {
          restApi: restApiId,
          resourceId: resource.id,
          httpMethod: method.httpMethod,
          type: 'HTTP_PROXY',
          integrationHttpMethod: 'GET',
          uri: pulumi.interpolate`https://${origin}/${path}`,
          requestParameters: Object.fromEntries(
            keys.map((k) => [`integration.request.querystring.${k}`, `method.request.querystring.${k}`]),
          ),
          cacheKeyParameters: keys.map((k) => `method.request.querystring.${k}`),
          cacheNamespace: slug,
          timeoutMilliseconds: 10000,
        },
        { parent: this },
      );
      deployed.push(method, integration);
    }
    const proxy = resourceFor('{proxy+}');
    const proxyMethod = new aws.apigateway.Method(
      `${name}-any-proxy`,
      {
        restApi: restApiId,
        resourceId: proxy.id,
        httpMethod: 'ANY',
        authorization: 'NONE',
        requestParameters: { 'method.request.path.proxy': true },
      },
      { parent: this },
    );
    const proxyIntegration = new aws.apigateway.Integration(
      `${name}-any-proxy-integration`,
      {
        restApi: restApiId,
        resourceId: proxy.id,
        httpMethod: proxyMethod.httpMethod,
        type: 'HTTP_PROXY',
        integrationHttpMethod: 'ANY',
        uri: pulumi.interpolate`https://${origin}/{proxy}`,
        requestParameters: { 'integration.request.path.proxy': 'method.request.path.proxy' },
        timeoutMilliseconds: 29000,
      },
      { parent: this },
    );
    deployed.push(proxyMethod, proxyIntegration);
    const deployment = new aws.apigateway.Deployment(
      `${name}-deployment`,
      {
        restApi: restApiId,
        description: 'Crossbook REST routes',
        // A new deployment whenever the route table changes.
        triggers: {
          routes: crypto.createHash('sha256').update(JSON.stringify(CACHED_ROUTES)).digest('hex'),
        },
      },
      { parent: this, dependsOn: deployed },
    );

    const accessLogs = new aws.cloudwatch.LogGroup(
      `${name}-api-access-logs`,
      {
        name: pulumi.interpolate`/crossbook/${env}/api-gateway/${this.region}`,
        retentionInDays: args.logRetentionDays ?? 30,
        tags,
      },
      { parent: this },
    );
    const cloudWatchRole = new aws.iam.Role(
      `${name}-apigw-logs-role`,
      { assumeRolePolicy: serviceTrustPolicy('apigateway.amazonaws.com'), tags },
      { parent: this },
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-apigw-logs-policy`,
      {
        role: cloudWatchRole.name,
        policyArn: managedPolicy('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      },
      { parent: this },
    );
    // API Gateway writes logs through one role per account and region.
    const account = new aws.apigateway.Account(
      `${name}-apigw-account`,
      { cloudwatchRoleArn: cloudWatchRole.arn },
      { parent: this },
    );
    this.stage = new aws.apigateway.Stage(
      `${name}-stage`,
      {
        restApi: restApiId,
        deployment: deployment.id,
        stageName,
        cacheClusterEnabled: true,
        cacheClusterSize: api.cacheSizeGb ?? '0.5',
        xrayTracingEnabled: true,
        accessLogSettings: {
          destinationArn: accessLogs.arn,
          format: JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            cache: '$context.integration.status',
            waf: '$context.wafResponseCode',
          }),
        },
        tags,
      },
      { parent: this, dependsOn: [account] },
    );
    this.defaultMethodSettings = new aws.apigateway.MethodSettings(
      `${name}-settings`,
      {
        restApi: restApiId,
        stageName: this.stage.stageName,
        methodPath: '*/*',
        settings: {
          metricsEnabled: true,
          loggingLevel: 'ERROR',
          throttlingRateLimit: rateLimit,
          throttlingBurstLimit: burstLimit,
          cachingEnabled: false,
        },
      },
      { parent: this },
    );
    this.cachedMethodSettings = Object.keys(CACHED_ROUTES).map(
      (path) =>
        new aws.apigateway.MethodSettings(
          `${name}-settings-${path.replaceAll('/', '-')}`,
          {
            restApi: restApiId,
            stageName: this.stage.stageName,
            methodPath: `${path}/GET`,
            settings: {
              metricsEnabled: true,
              loggingLevel: 'ERROR',
              throttlingRateLimit: rateLimit,
              throttlingBurstLimit: burstLimit,
              cachingEnabled: true,
              cacheTtlInSeconds: api.cacheTtlSeconds ?? 1,
              cacheDataEncrypted: true,
              requireAuthorizationForCacheControl: true,
              unauthorizedCacheControlHeaderStrategy: 'SUCCEED_WITHOUT_RESPONSE_HEADER',
            },
          },
          { parent: this, dependsOn: [this.defaultMethodSettings] },
        ),
    );
    new aws.wafv2.WebAclAssociation(
      `${name}-waf-api`,
      { resourceArn: this.stage.arn, webAclArn: this.webAcl.arn },
      { parent: this },
    );

    this.apiDomain = new aws.apigateway.DomainName(
      `${name}-api-domain`,
      {
        domainName: pulumi.interpolate`api.${args.domain}`,
        regionalCertificateArn: args.certificateArn,
        endpointConfiguration: { types: 'REGIONAL' },
        securityPolicy: 'TLS_1_2',
        tags,
      },
      { parent: this },
    );
    new aws.apigateway.BasePathMapping(
      `${name}-api-mapping`,
      { restApi: restApiId, stageName: this.stage.stageName, domainName: this.apiDomain.domainName },
      { parent: this },
    );

    this.albArn = this.loadBalancer.arn;
    this.albDnsName = this.loadBalancer.dnsName;
    this.albZoneId = this.loadBalancer.zoneId;
    this.albArnSuffix = this.loadBalancer.arnSuffix;
    this.targetGroupArn = this.targetGroup.arn;
    this.targetGroupArnSuffix = this.targetGroup.arnSuffix;
    this.albSecurityGroupId = this.securityGroup.id;
    this.restApiId = restApiId;
    this.stageName = this.stage.stageName;
    this.executeApiDomain = pulumi.interpolate`${restApiId}.execute-api.${this.region}.amazonaws.com`;
    this.apiRegionalDomainName = this.apiDomain.regionalDomainName;
    this.apiRegionalZoneId = this.apiDomain.regionalZoneId;
    this.registerOutputs({
      region: this.region,
      originHostname: this.originHostname,
      albDnsName: this.albDnsName,
      targetGroupArn: this.targetGroupArn,
      restApiId: this.restApiId,
      stageName: this.stageName,
      apiRegionalDomainName: this.apiRegionalDomainName,
    });
  }
}
