import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';

/** Arguments of {@link webAcl}. */
export interface WebAclArgs {
  /** `REGIONAL` (load balancers, API Gateway) or `CLOUDFRONT` (must live in us-east-1). */
  scope: 'REGIONAL' | 'CLOUDFRONT';
  /** Requests per client IP per 5 minutes before WAF blocks that IP. */
  rateLimit: pulumi.Input<number>;
  /** A region other than the provider's. */
  region?: pulumi.Input<string>;
  /** Tags. */
  tags: Record<string, pulumi.Input<string>>;
}

function visibility(metricName: string) {
  return { cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

function managedGroup(name: string, priority: number) {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
    visibilityConfig: visibility(name),
  };
}

/**
 * A WAF web ACL for the edge: a per-IP rate rule (the API's own request weights are enforced
 * by the gateway; this stops floods before they reach it), the Amazon IP reputation list, and
 * the common and known-bad-inputs rule groups.
 */
export function webAcl(name: string, args: WebAclArgs, opts: pulumi.CustomResourceOptions): aws.wafv2.WebAcl {
  return new aws.wafv2.WebAcl(
    name,
    {
      scope: args.scope,
      region: args.region,
      defaultAction: { allow: {} },
      rules: [
        {
          name: 'rate-per-ip',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: args.rateLimit, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('rate-per-ip'),
        },
        managedGroup('AWSManagedRulesAmazonIpReputationList', 1),
        managedGroup('AWSManagedRulesCommonRuleSet', 2),
        managedGroup('AWSManagedRulesKnownBadInputsRuleSet', 3),
      ],
      visibilityConfig: visibility(name),
      tags: args.tags,
    },
    opts,
  );
}
