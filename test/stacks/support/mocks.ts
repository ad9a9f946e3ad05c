/**
 * Pulumi mocks for the stacks tests: no cloud, no CLI. Every registered resource is recorded
 * (type, name, inputs) and answered with its inputs plus the outputs the program reads
 * (ARNs, endpoints, DNS names), so components wire up exactly as they would in a deployment.
 *
 * Test files call {@link installMocks} at module load, before any component or the program is
 * imported (they import those dynamically in a `before` hook).
 */
import * as pulumi from '@pulumi/pulumi';

/** A resource the program registered. */
export interface Registered {
  /** The Pulumi type token, e.g. `aws:s3/bucket:Bucket`. */
  readonly type: string;
  /** The logical name. */
  readonly name: string;
  /** The inputs as the provider would receive them. */
  readonly inputs: Record<string, unknown>;
  /** The outputs the mock answered with. */
  readonly state: Record<string, unknown>;
  /** The id the mock answered with ('' for components). */
  readonly id: string;
  /** True for custom resources, false for components. */
  readonly custom: boolean;
  /** The explicit provider reference (`<urn>::<id>`), if any. */
  readonly provider: string | undefined;
}

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

let sink: Registered[] = [];

/** The region of each explicit AWS provider the program created, by provider name. */
const providerRegions = new Map<string, string>();

/** The region a provider reference (`<urn>::<id>`) stands for, when it is an explicit AWS provider. */
function providerRegion(reference: string | undefined): string | undefined {
  const match = reference === undefined ? null : /::pulumi:providers:aws::([^:]+)::/.exec(reference);
  return match === null ? undefined : providerRegions.get(match[1] ?? '');
}

/** Starts a fresh recording and returns it (the array fills as resources register). */
export function startRecording(): Registered[] {
  sink = [];
  return sink;
}

/** Every resource registered since the last {@link startRecording}. */
export function recorded(): Registered[] {
  return sink;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.length > 0 ? value : fallback;
}

/** The outputs a resource of `type` reports beyond its inputs. */
function outputsFor(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): { id: string; extra: Record<string, unknown> } {
  const region = str(inputs.region, REGION);
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;
  switch (type) {
    case 'aws:s3/bucket:Bucket': {
      const bucket = str(inputs.bucket, `${name}-0123456`);
      return {
        id: bucket,
        extra: {
          bucket,
          arn: `arn:aws:s3:::${bucket}`,
          bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
        },
      };
    }
    case 'eks:index:Cluster': {
      const clusterName = str(inputs.name, name);
      return {
        id: '',
        extra: {
          kubeconfigJson: JSON.stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: clusterName }],
          }),
          eksCluster: { name: clusterName, arn: arn('eks', `cluster/${clusterName}`) },
          oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.${region}.amazonaws.com/id/${clusterName}`,
          oidcIssuer: `oidc.eks.${region}.amazonaws.com/id/${clusterName}`,
          clusterSecurityGroupId: `sg-${clusterName}`,
        },
      };
    }
    case 'eks:index:ManagedNodeGroup':
      return { id: '', extra: { nodeGroup: { nodeGroupName: name } } };
    case 'aws:rds/cluster:Cluster':
      return {
        id: str(inputs.clusterIdentifier, name),
        extra: {
          arn: arn('rds', `cluster:${name}`),
          clusterIdentifier: str(inputs.clusterIdentifier, name),
          endpoint: `${name}.cluster-abc.${region}.rds.amazonaws.com`,
          readerEndpoint: `${name}.cluster-ro-abc.${region}.rds.amazonaws.com`,
          port: 5432,
          masterUserSecrets: [
            {
              secretArn: arn('secretsmanager', `secret:rds!cluster-${name}`),
              kmsKeyId: arn('kms', 'key/db'),
            },
          ],
        },
      };
    case 'aws:elasticache/replicationGroup:ReplicationGroup': {
      const group = str(inputs.replicationGroupId, name);
      const shards = Number(inputs.numNodeGroups ?? 1);
      const nodesPerShard = 1 + Number(inputs.replicasPerNodeGroup ?? 0);
      const members = [...Array(shards).keys()].flatMap((s) =>
        [...Array(nodesPerShard).keys()].map((n) => `${group}-000${s + 1}-00${n + 1}`),
      );
      return {
        id: group,
        extra: {
          arn: arn('elasticache', `replicationgroup:${group}`),
          configurationEndpointAddress: `clustercfg.${group}.abc.${region}.cache.amazonaws.com`,
          memberClusters: members,
        },
      };
    }
    case 'aws:acm/certificate:Certificate':
      return {
        id: arn('acm', `certificate/${name}`),
        extra: {
          arn: arn('acm', `certificate/${name}`),
          domainValidationOptions: [
            {
              domainName: inputs.domainName,
              resourceRecordName: `_abc.${String(inputs.domainName)}.`,
              resourceRecordType: 'CNAME',
              resourceRecordValue: '_xyz.acm-validations.aws.',
            },
          ],
        },
      };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return {
        id: arn('elasticloadbalancing', `loadbalancer/app/${name}/0123`),
        extra: {
          arn: arn('elasticloadbalancing', `loadbalancer/app/${name}/0123`),
          arnSuffix: `app/${name}/0123`,
          dnsName: `${name}-0123.${region}.elb.amazonaws.com`,
          zoneId: 'Z35SXDOTRQ7X7K',
        },
      };
    case 'aws:lb/targetGroup:TargetGroup':
      return {
        id: arn('elasticloadbalancing', `targetgroup/${name}/0123`),
        extra: {
          arn: arn('elasticloadbalancing', `targetgroup/${name}/0123`),
          arnSuffix: `targetgroup/${name}/0123`,
        },
      };
    case 'aws:cloudfront/distribution:Distribution':
      return {
        id: 'E2EXAMPLE',
        extra: {
          arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/E2EXAMPLE`,
          domainName: 'd111.cloudfront.net',
          hostedZoneId: 'Z2FDTNDATAQYW2',
        },
      };
    case 'aws:globalaccelerator/accelerator:Accelerator':
      return {
        id: `arn:aws:globalaccelerator::${ACCOUNT}:accelerator/${name}`,
        extra: {
          dnsName: 'a1.awsglobalaccelerator.com',
          hostedZoneId: 'Z2BJ6XQ5FK7U4H',
          ipSets: [{ ipFamily: 'IPv4', ipAddresses: ['192.0.2.10', '192.0.2.11'] }],
        },
      };
    case 'aws:apigateway/restApi:RestApi':
      return {
        id: `${name}-api`,
        extra: { rootResourceId: `${name}-root`, executionArn: arn('execute-api', `${name}-api`) },
      };
    case 'aws:apigateway/domainName:DomainName':
      return {
        id: name,
        extra: {
          regionalDomainName: `d-abc.execute-api.${region}.amazonaws.com`,
          regionalZoneId: 'Z1UJRXOUMOOFQ8',
        },
      };
    case 'aws:dynamodb/table:Table':
      return {
        id: str(inputs.name, name),
        extra: {
          arn: arn('dynamodb', `table/${str(inputs.name, name)}`),
          streamArn: arn('dynamodb', `table/${str(inputs.name, name)}/stream/1`),
        },
      };
    case 'aws:kms/key:Key':
      return { id: `${name}-key`, extra: { arn: arn('kms', `key/${name}`), keyId: `${name}-key` } };
    case 'aws:kinesis/stream:Stream':
      return {
        id: name,
        extra: { arn: arn('kinesis', `stream/${str(inputs.name, name)}`), name: str(inputs.name, name) },
      };
    case 'aws:route53/healthCheck:HealthCheck':
      return { id: `${name}-hc`, extra: {} };
    default:
      return { id: `${name}-id`, extra: { arn: arn(type.split(':')[1]?.split('/')[0] ?? 'x', name) } };
  }
}

function callResult(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones': {
      const region = str(inputs.region, REGION);
      return {
        names: ['a', 'b', 'c', 'd'].map((z) => `${region}${z}`),
        zoneIds: ['use1-az1', 'use1-az2', 'use1-az4', 'use1-az6'],
      };
    }
    case 'aws:index/getRegion:getRegion':
      return { region: str(inputs.region, REGION), name: str(inputs.region, REGION) };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: 'AIDA' };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com' };
    case 'aws:route53/getZone:getZone':
      return { zoneId: 'Z0123456789', name: inputs.name };
    case 'aws:secretsmanager/getRandomPassword:getRandomPassword':
      return { randomPassword: 'A'.repeat(Number(inputs.passwordLength ?? 32)) };
    default:
      return {};
  }
}

/** Pulumi mocks recording every resource. */
export const mocks: pulumi.runtime.Mocks = {
  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    if (args.type === 'pulumi:providers:aws' && typeof args.inputs.region === 'string') {
      providerRegions.set(args.name, args.inputs.region);
    }
    const region = args.inputs.region ?? providerRegion(args.provider);
    const { id, extra } = outputsFor(args.type, args.name, { ...args.inputs, region });
    const state = { ...args.inputs, ...extra };
    sink.push({
      type: args.type,
      name: args.name,
      inputs: args.inputs,
      state,
      id,
      custom: args.custom ?? true,
      provider: args.provider,
    });
    return { id, state };
  },
  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return callResult(args.token, {
      ...args.inputs,
      region: args.inputs.region ?? providerRegion(args.provider),
    });
  },
};

/** Installs the mocks for `stack` (call before importing any component). */
export function installMocks(stack = 'test'): void {
  pulumi.runtime.setMocks(mocks, 'crossbook', stack, false);
}

/**
 * The value of an output, once known. Rejects when it never will be (an output the mocks
 * leave unknown would otherwise hang the test).
 */
export async function resolved<T>(output: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
  const out = pulumi.output(output) as pulumi.Output<T> & { isKnown: Promise<boolean> };
  if (!(await out.isKnown)) {
    throw new Error('the output is unknown: the mocks do not answer a property the program reads');
  }
  return new Promise((resolve) => out.apply((v) => resolve(v as T)));
}

/**
 * The SDK's own "wait until the RPC queue drains" (what `pulumi` does before exiting). It is
 * exported at run time but marked internal in the typings.
 */
const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs;

/** Waits until every registration in flight has been answered. */
export async function settle(): Promise<void> {
  await waitForRPCs();
  await new Promise((resolve) => setImmediate(resolve));
  await waitForRPCs();
}

/** The recorded resources of a type (and, optionally, whose name starts with a prefix). */
export function ofType(resources: readonly Registered[], type: string, prefix = ''): Registered[] {
  return resources.filter((r) => r.type === type && r.name.startsWith(prefix));
}
