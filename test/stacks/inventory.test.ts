import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { installMocks } from './support/mocks.ts';
import { type ProgramRun, programRun } from './support/program.ts';

installMocks();

/** One line of the inventory: what, its type, how many in prod (two regions) and staging (one). */
type Line = [what: string, type: string, prod: number, staging: number];

/** The seed components of docs/ARCHITECTURE.md section 5 and of the issue, as resources. */
const INVENTORY: Line[] = [
  // One component per concern.
  ['network component', 'crossbook:stacks:Network', 2, 1],
  ['cluster component', 'crossbook:stacks:Cluster', 2, 1],
  ['accounts database component', 'crossbook:stacks:AccountsDatabase', 1, 1],
  ['trades component', 'crossbook:stacks:Trades', 1, 1],
  ['market data component', 'crossbook:stacks:MarketData', 2, 1],
  ['storage component', 'crossbook:stacks:Storage', 1, 1],
  ['certificates (edge)', 'crossbook:stacks:Certificates', 1, 1],
  ['regional ingress (edge)', 'crossbook:stacks:Ingress', 2, 1],
  ['global edge', 'crossbook:stacks:Edge', 1, 1],
  ['observability component', 'crossbook:stacks:Observability', 2, 1],
  ['workloads component', 'crossbook:stacks:Workloads', 2, 1],
  // Network: VPC over three AZs.
  ['VPC', 'aws:ec2/vpc:Vpc', 2, 1],
  ['subnets, three tiers in three AZs', 'aws:ec2/subnet:Subnet', 18, 9],
  ['NAT gateways (per AZ in prod, one in staging)', 'aws:ec2/natGateway:NatGateway', 6, 1],
  ['S3 and DynamoDB gateway endpoints', 'aws:ec2/vpcEndpoint:VpcEndpoint', 4, 2],
  // Cluster.
  ['EKS cluster', 'eks:index:Cluster', 2, 1],
  ['general and core node groups', 'eks:index:ManagedNodeGroup', 4, 2],
  ['EKS add-ons (EBS CSI, CloudWatch)', 'aws:eks/addon:Addon', 4, 2],
  ['Helm add-ons (LB controller, External Secrets, autoscaler)', 'kubernetes:helm.sh/v3:Release', 6, 3],
  // Data.
  ['Aurora PostgreSQL cluster (plus the global secondary)', 'aws:rds/cluster:Cluster', 2, 1],
  ['Aurora instances', 'aws:rds/clusterInstance:ClusterInstance', 3, 1],
  ['Aurora Global Database', 'aws:rds/globalCluster:GlobalCluster', 1, 0],
  ['snapshot export to S3', 'aws:sfn/stateMachine:StateMachine', 1, 1],
  ['DynamoDB trades table', 'aws:dynamodb/table:Table', 1, 1],
  ['ElastiCache Redis replication group', 'aws:elasticache/replicationGroup:ReplicationGroup', 2, 1],
  ['Kinesis stream', 'aws:kinesis/stream:Stream', 2, 1],
  ['Kinesis enhanced fan-out consumer', 'aws:kinesis/streamConsumer:StreamConsumer', 2, 1],
  // Storage.
  ['S3 buckets (archives, backups, logs, web; DR logs and backups replica)', 'aws:s3/bucket:Bucket', 6, 4],
  ['cluster logs to S3', 'aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream', 1, 1],
  ['AWS Backup plan', 'aws:backup/plan:Plan', 1, 1],
  ['AWS Backup selection', 'aws:backup/selection:Selection', 1, 1],
  ['DynamoDB export schedule', 'aws:scheduler/schedule:Schedule', 1, 1],
  // Edge.
  ['application load balancer', 'aws:lb/loadBalancer:LoadBalancer', 2, 1],
  ['gateway target group', 'aws:lb/targetGroup:TargetGroup', 2, 1],
  ['REST API', 'aws:apigateway/restApi:RestApi', 2, 1],
  ['REST API stage', 'aws:apigateway/stage:Stage', 2, 1],
  ['CloudFront distribution', 'aws:cloudfront/distribution:Distribution', 1, 1],
  ['ACM certificates (CloudFront and each region)', 'aws:acm/certificate:Certificate', 2, 1],
  ['Route 53 health checks', 'aws:route53/healthCheck:HealthCheck', 2, 1],
  ['WAF web ACLs (CloudFront and each region)', 'aws:wafv2/webAcl:WebAcl', 3, 2],
  ['Global Accelerator', 'aws:globalaccelerator/accelerator:Accelerator', 1, 0],
  ['Global Accelerator endpoint groups', 'aws:globalaccelerator/endpointGroup:EndpointGroup', 2, 0],
  // Observability.
  ['CloudWatch alarms', 'aws:cloudwatch/metricAlarm:MetricAlarm', 20, 10],
  ['CloudWatch dashboard', 'aws:cloudwatch/dashboard:Dashboard', 2, 1],
  ['X-Ray sampling rule', 'aws:xray/samplingRule:SamplingRule', 2, 1],
  ['alarm topic', 'aws:sns/topic:Topic', 2, 1],
  // Workloads.
  ['gateway, persister and collector Deployments', 'kubernetes:apps/v1:Deployment', 6, 3],
  ['core StatefulSet', 'kubernetes:apps/v1:StatefulSet', 2, 1],
  ['gateway HPA', 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler', 2, 1],
  ['PodDisruptionBudgets', 'kubernetes:policy/v1:PodDisruptionBudget', 8, 4],
  ['network policies', 'kubernetes:networking.k8s.io/v1:NetworkPolicy', 8, 4],
  ['markets, shard map and collector config maps', 'kubernetes:core/v1:ConfigMap', 6, 3],
  ['secrets from Secrets Manager', 'kubernetes:external-secrets.io/v1:ExternalSecret', 6, 3],
  ['gateway target group binding', 'kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding', 2, 1],
  ['journal storage class', 'kubernetes:storage.k8s.io/v1:StorageClass', 2, 1],
];

function count(run: ProgramRun, type: string): number {
  return run.resources.filter((r) => r.type === type).length;
}

describe('resource inventory', () => {
  let prod: ProgramRun;
  let staging: ProgramRun;

  before(async () => {
    prod = await programRun('prod');
    staging = await programRun('staging');
  });

  it('must build every seed component in production', () => {
    const wrong = INVENTORY.filter(([, type, expected]) => count(prod, type) !== expected).map(
      ([what, type, expected]) => `${what}: ${count(prod, type)} ${type}, expected ${expected}`,
    );
    assert.deepEqual(wrong, []);
  });

  it('must build every seed component in staging', () => {
    const wrong = INVENTORY.filter(([, type, , expected]) => count(staging, type) !== expected).map(
      ([what, type, , expected]) => `${what}: ${count(staging, type)} ${type}, expected ${expected}`,
    );
    assert.deepEqual(wrong, []);
  });

  it('must build only components in the program itself', () => {
    // index.ts reads configuration, builds components and exports outputs: besides the
    // components it creates only the secondary region's AWS provider.
    const program = readFileSync(new URL('../../index.ts', import.meta.url), 'utf8');
    const constructed = [...program.matchAll(/new ([A-Za-z.]+)\(/g)].map((m) => m[1]);
    assert.deepEqual(
      [...new Set(constructed)].sort(),
      [
        'AccountsDatabase',
        'Certificates',
        'Cluster',
        'Edge',
        'Ingress',
        'MarketData',
        'Network',
        'Observability',
        'Storage',
        'Trades',
        'Workloads',
        'aws.Provider',
        'pulumi.Config',
        // Not resources: the markets file's location and configuration errors.
        'URL',
        'Error',
      ].sort(),
    );
  });

  it('must export what operators need', () => {
    for (const key of [
      'url',
      'apiUrl',
      'streamUrl',
      'kubeconfigs',
      'databaseEndpoint',
      'tradesTable',
      'alarmTopics',
      'dashboards',
    ]) {
      assert.ok(prod.outputs[key] !== undefined, `output ${key}`);
    }
    assert.equal(prod.outputs.url, 'https://crossbook.example.com');
    assert.equal(staging.outputs.url, 'https://staging.crossbook.example.com');
    assert.equal(prod.outputs.shards, 2);
  });
});
