import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CLOUDFRONT_REGION } from './certificates.ts';
import { HEALTH_PATH } from './contracts.ts';
import { bucketPolicy, SecureBucket } from './secure-bucket.ts';
import { webAcl } from './waf.ts';

/** CloudFront managed policies (their ids are fixed by AWS). */
const MANAGED = {
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewer: '216adef6-5c7f-47e4-b989-5492eafa07d3',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
  securityHeaders: '67f7725c-6f97-4210-82d7-5512b31e9d03',
} as const;

/** The hosted zone of every Global Accelerator DNS name. */
const GLOBAL_ACCELERATOR_ZONE = 'Z2BJ6XQ5FK7U4H';

/** One region's front door, as {@link Ingress} reports it. */
export interface RegionalEndpoint {
  /** The region. Plain: it names resources. */
  region: string;
  /** True for the region that runs the core and takes the traffic. Plain: it picks failover roles. */
  active: boolean;
  /** `origin-<region>.<domain>`. */
  originHostname: pulumi.Input<string>;
  /** The load balancer's ARN. */
  albArn: pulumi.Input<string>;
  /** The load balancer's DNS name. */
  albDnsName: pulumi.Input<string>;
  /** The load balancer's hosted zone. */
  albZoneId: pulumi.Input<string>;
  /** The regional target of `api.<domain>`. */
  apiRegionalDomainName: pulumi.Input<string>;
  /** Its hosted zone. */
  apiRegionalZoneId: pulumi.Input<string>;
  /** `<api id>.execute-api.<region>.amazonaws.com`. */
  executeApiDomain: pulumi.Input<string>;
  /** The API Gateway stage. */
  stageName: pulumi.Input<string>;
}

/** Arguments of {@link Edge}. */
export interface EdgeArgs {
  /** Name used in names and tags. */
  environment: pulumi.Input<string>;
  /** The public domain. */
  domain: pulumi.Input<string>;
  /** Its Route 53 zone. */
  hostedZoneId: pulumi.Input<string>;
  /** A validated us-east-1 certificate for the domain and `*.<domain>`. */
  cloudFrontCertificateArn: pulumi.Input<string>;
  /** Every region's front door, exactly one of them active. Plain: it decides how many records and endpoint groups exist. */
  regions: RegionalEndpoint[];
  /** WAF: requests per client IP per 5 minutes. Default 2000. */
  wafRateLimit?: pulumi.Input<number>;
  /** CloudFront price class. Default `PriceClass_100`. */
  priceClass?: pulumi.Input<string>;
}

/**
 * The global edge. CloudFront serves the web terminal from a private S3 bucket (origin access
 * control) and, on the same host, `/api/*` through the active region's API Gateway and the
 * WebSocket paths (`/ws*`, `/stream*`) through the active region's load balancer; a WAF in
 * front. Route 53: the apex and `www` name CloudFront; `api.<domain>` and `stream.<domain>`
 * fail over between regions on health checks of `/api/v3/ping`. With more than one region,
 * AWS Global Accelerator gives `stream.<domain>` two static anycast IPs in front of the
 * regional load balancers, with the traffic dial at 100 for the active region and 0 for the
 * standby until an operator fails over.
 */
export class Edge extends pulumi.ComponentResource {
  /** The web terminal's bucket. */
  public readonly webBucket: SecureBucket;
  /** The distribution. */
  public readonly distribution: aws.cloudfront.Distribution;
  /** CloudFront's WAF (in us-east-1). */
  public readonly webAcl: aws.wafv2.WebAcl;
  /** Health checks of each region's origin, by region. */
  public readonly healthChecks: Record<string, aws.route53.HealthCheck>;
  /** The accelerator, with more than one region. */
  public readonly accelerator: aws.globalaccelerator.Accelerator | undefined;
  /** Its endpoint groups, by region. */
  public readonly endpointGroups: Record<string, aws.globalaccelerator.EndpointGroup>;
  /** The DNS records, by logical name. */
  public readonly records: aws.route53.Record[];
  /** The distribution's domain. */
  public readonly distributionDomain: pulumi.Output<string>;
  /** The web bucket's name (where the web terminal is uploaded). */
  public readonly webBucketName: pulumi.Output<string>;
  /** `https://<domain>`. */
  public readonly url: pulumi.Output<string>;
  /** `https://api.<domain>`. */
  public readonly apiUrl: pulumi.Output<string>;
  /** `wss://stream.<domain>`. */
  public readonly streamUrl: pulumi.Output<string>;
  /** The accelerator's static IPs (empty with one region). */
  public readonly acceleratorIps: pulumi.Output<string[]>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Edge', name, {}, opts);
    const env = args.environment;
    const tags = { Environment: env };
    const active = args.regions.filter((r) => r.active);
    if (active.length !== 1 || active[0] === undefined) {
      throw new Error(`exactly one region must be active, not ${active.length}`);
    }
    const primary = active[0];
    const multiRegion = args.regions.length > 1;
    const domain = pulumi.output(args.domain);

    this.webBucket = new SecureBucket(
      `${name}-web`,
      { purpose: 'web-terminal', environment: env, externalPolicy: true },
      { parent: this },
    );
    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-web-oac`,
      {
        description: 'CloudFront reads the web terminal bucket',
        originAccessControlOriginType: 's3',
        signingBehavior: 'always',
        signingProtocol: 'sigv4',
      },
      { parent: this },
    );
    this.webAcl = webAcl(
      `${name}-waf`,
      { scope: 'CLOUDFRONT', region: CLOUDFRONT_REGION, rateLimit: args.wafRateLimit ?? 2000, tags },
      { parent: this },
    );

    const httpsOrigin = {
      httpPort: 80,
      httpsPort: 443,
      originProtocolPolicy: 'https-only',
      originSslProtocols: ['TLSv1.2'],
    };
    const passThrough = {
      viewerProtocolPolicy: 'https-only',
      allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
      cachedMethods: ['GET', 'HEAD'],
      cachePolicyId: MANAGED.cachingDisabled,
      compress: false,
    };
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: pulumi.interpolate`Crossbook ${env}`,
        aliases: [domain, pulumi.interpolate`www.${domain}`],
        httpVersion: 'http2and3',
        isIpv6Enabled: true,
        priceClass: args.priceClass ?? 'PriceClass_100',
        defaultRootObject: 'index.html',
        webAclId: this.webAcl.arn,
        origins: [
          {
            originId: 'web',
            domainName: this.webBucket.bucket.bucketRegionalDomainName,
            originAccessControlId: oac.id,
          },
          {
            originId: 'api',
            domainName: primary.executeApiDomain,
            originPath: pulumi.interpolate`/${primary.stageName}`,
            customOriginConfig: httpsOrigin,
          },
          {
            originId: 'stream',
            domainName: primary.originHostname,
            customOriginConfig: { ...httpsOrigin, originReadTimeout: 60, originKeepaliveTimeout: 60 },
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'web',
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
          cachedMethods: ['GET', 'HEAD'],
          cachePolicyId: MANAGED.cachingOptimized,
          responseHeadersPolicyId: MANAGED.securityHeaders,
          compress: true,
        },
        orderedCacheBehaviors: [
          {
            pathPattern: '/api/*',
            targetOriginId: 'api',
            originRequestPolicyId: MANAGED.allViewerExceptHostHeader,
            ...passThrough,
          },
          {
            pathPattern: '/ws*',
            targetOriginId: 'stream',
            originRequestPolicyId: MANAGED.allViewer,
            ...passThrough,
          },
          {
            pathPattern: '/stream*',
            targetOriginId: 'stream',
            originRequestPolicyId: MANAGED.allViewer,
            ...passThrough,
          },
        ],
        // The web terminal routes on the client: unknown paths serve the app.
        customErrorResponses: [
          { errorCode: 403, responseCode: 200, responsePagePath: '/index.html', errorCachingMinTtl: 10 },
          { errorCode: 404, responseCode: 200, responsePagePath: '/index.html', errorCachingMinTtl: 10 },
        ],
        restrictions: { geoRestriction: { restrictionType: 'none' } },
        viewerCertificate: {
          acmCertificateArn: args.cloudFrontCertificateArn,
          sslSupportMethod: 'sni-only',
          minimumProtocolVersion: 'TLSv1.2_2021',
        },
        tags,
      },
      { parent: this },
    );
    new aws.s3.BucketPolicy(
      `${name}-web-policy`,
      {
        bucket: this.webBucket.bucket.id,
        policy: bucketPolicy(this.webBucket.arn, [
          {
            Sid: 'CloudFrontReadsTheWebTerminal',
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Resource: pulumi.interpolate`${this.webBucket.arn}/*`,
            Condition: { StringEquals: { 'AWS:SourceArn': this.distribution.arn } },
          },
        ]),
      },
      { parent: this, dependsOn: [this.webBucket.publicAccessBlock] },
    );

    this.records = [];
    const record = (recordName: string, recordArgs: aws.route53.RecordArgs) => {
      const created = new aws.route53.Record(`${name}-${recordName}`, recordArgs, { parent: this });
      this.records.push(created);
      return created;
    };
    const cdnAlias = [
      {
        name: this.distribution.domainName,
        zoneId: this.distribution.hostedZoneId,
        evaluateTargetHealth: false,
      },
    ];
    for (const [label, host] of [
      ['apex', domain],
      ['www', pulumi.interpolate`www.${domain}`],
    ] as const) {
      for (const type of ['A', 'AAAA']) {
        record(`${label}-${type.toLowerCase()}`, {
          zoneId: args.hostedZoneId,
          name: host,
          type,
          aliases: cdnAlias,
        });
      }
    }

    this.healthChecks = {};
    for (const region of args.regions) {
      this.healthChecks[region.region] = new aws.route53.HealthCheck(
        `${name}-health-${region.region}`,
        {
          type: 'HTTPS',
          fqdn: region.originHostname,
          port: 443,
          resourcePath: HEALTH_PATH,
          requestInterval: 10,
          failureThreshold: 3,
          measureLatency: true,
          tags: { ...tags, Name: pulumi.interpolate`crossbook-${env}-${region.region}` },
        },
        { parent: this },
      );
    }

    this.endpointGroups = {};
    if (multiRegion) {
      this.accelerator = new aws.globalaccelerator.Accelerator(
        `${name}-accelerator`,
        { ipAddressType: 'IPV4', enabled: true, tags },
        { parent: this },
      );
      const listener = new aws.globalaccelerator.Listener(
        `${name}-accelerator-tls`,
        {
          acceleratorArn: this.accelerator.id,
          protocol: 'TCP',
          // A WebSocket client keeps reaching the same region (and load balancer) it started on.
          clientAffinity: 'SOURCE_IP',
          portRanges: [{ fromPort: 443, toPort: 443 }],
        },
        { parent: this },
      );
      for (const region of args.regions) {
        this.endpointGroups[region.region] = new aws.globalaccelerator.EndpointGroup(
          `${name}-accelerator-${region.region}`,
          {
            listenerArn: listener.id,
            endpointGroupRegion: region.region,
            trafficDialPercentage: region.active ? 100 : 0,
            endpointConfigurations: [
              { endpointId: region.albArn, weight: 100, clientIpPreservationEnabled: true },
            ],
          },
          { parent: this },
        );
      }
    }

    const apiHost = pulumi.interpolate`api.${domain}`;
    const streamHost = pulumi.interpolate`stream.${domain}`;
    if (multiRegion && this.accelerator !== undefined) {
      for (const region of args.regions) {
        const failover = {
          setIdentifier: region.region,
          failoverRoutingPolicies: [{ type: region.active ? 'PRIMARY' : 'SECONDARY' }],
        };
        record(`api-${region.region}`, {
          zoneId: args.hostedZoneId,
          name: apiHost,
          type: 'A',
          ...failover,
          healthCheckId: this.healthChecks[region.region]?.id,
          aliases: [
            {
              name: region.apiRegionalDomainName,
              zoneId: region.apiRegionalZoneId,
              evaluateTargetHealth: true,
            },
          ],
        });
      }
      record('stream', {
        zoneId: args.hostedZoneId,
        name: streamHost,
        type: 'A',
        aliases: [
          { name: this.accelerator.dnsName, zoneId: GLOBAL_ACCELERATOR_ZONE, evaluateTargetHealth: true },
        ],
      });
    } else {
      record('api', {
        zoneId: args.hostedZoneId,
        name: apiHost,
        type: 'A',
        aliases: [
          {
            name: primary.apiRegionalDomainName,
            zoneId: primary.apiRegionalZoneId,
            evaluateTargetHealth: true,
          },
        ],
      });
      record('stream', {
        zoneId: args.hostedZoneId,
        name: streamHost,
        type: 'A',
        aliases: [{ name: primary.albDnsName, zoneId: primary.albZoneId, evaluateTargetHealth: true }],
      });
    }

    this.distributionDomain = this.distribution.domainName;
    this.webBucketName = this.webBucket.bucketName;
    this.url = pulumi.interpolate`https://${domain}`;
    this.apiUrl = pulumi.interpolate`https://${apiHost}`;
    this.streamUrl = pulumi.interpolate`wss://${streamHost}`;
    this.acceleratorIps =
      this.accelerator === undefined
        ? pulumi.output([])
        : this.accelerator.ipSets.apply((sets) => sets.flatMap((s) => s.ipAddresses ?? []));
    this.registerOutputs({
      url: this.url,
      apiUrl: this.apiUrl,
      streamUrl: this.streamUrl,
      distributionDomain: this.distributionDomain,
      webBucketName: this.webBucketName,
      acceleratorIps: this.acceleratorIps,
    });
  }
}
