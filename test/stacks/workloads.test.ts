import assert from 'node:assert/strict';
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import {
  CORE_POOL,
  CORE_TAINT,
  GENERAL_POOL,
  NODE_POOL_LABEL,
  SHARD_MAP_CONFIG_MAP,
  SHARDS_ANNOTATION,
} from '../../stacks/contracts.ts';
import type * as WorkloadsModule from '../../stacks/workloads.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

type PodSpec = k8s.types.output.core.v1.PodSpec;

async function podSpecOf(resource: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet): Promise<PodSpec> {
  const spec = await resolved(resource.spec as pulumi.Output<{ template: { spec: PodSpec } }>);
  return spec.template.spec;
}

describe('workloads', () => {
  let Workloads: typeof WorkloadsModule.Workloads;
  let two: WorkloadsModule.Workloads;
  let three: WorkloadsModule.Workloads;
  let passive: WorkloadsModule.Workloads;

  const args = (provider: k8s.Provider): WorkloadsModule.WorkloadsArgs => ({
    environment: 'test',
    kubernetesProvider: provider,
    identity: { oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/x', oidcIssuer: 'oidc.example/x' },
    image: 'crossbook:test',
    marketsJson: '{}',
    shardMap: { BTCUSDT: 0, ETHUSDT: 1, '*': 1 },
    gatewayTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gw/1',
    vpcCidr: '10.0.0.0/16',
    database: {
      host: 'db',
      port: 5432,
      name: 'crossbook',
      secretName: 'crossbook/test/accounts-db',
      kmsKeyArn: 'arn:kms:db',
    },
    redis: { host: 'redis', port: 6379, secretName: 'crossbook/test/redis', kmsKeyArn: 'arn:kms:md' },
    trades: {
      tableName: 'trades',
      tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/trades',
      kmsKeyArn: 'arn:kms:t',
    },
    marketDataStream: {
      name: 'md',
      arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/md',
      kmsKeyArn: 'arn:kms:md',
    },
    snapshots: { bucketName: 'backups', bucketArn: 'arn:aws:s3:::backups', kmsKeyArn: 'arn:kms:s' },
    otlpEndpoint: 'http://otel:4318',
  });

  before(async () => {
    ({ Workloads } = await import('../../stacks/workloads.ts'));
    two = new Workloads('wl-a', args(new k8s.Provider('wl-a-k8s', { kubeconfig: '{}' })));
    three = new Workloads('wl-b', {
      ...args(new k8s.Provider('wl-b-k8s', { kubeconfig: '{}' })),
      shardMap: { BTCUSDT: 0, ETHUSDT: 1, ETHBTC: 2, '*': 2 },
      coreShardSets: [[0], [1, 2]],
    });
    passive = new Workloads('wl-c', {
      ...args(new k8s.Provider('wl-c-k8s', { kubeconfig: '{}' })),
      mode: 'passive',
    });
    await settle();
  });

  it('the core must host every shard of the shard map, in as many shard groups', async () => {
    assert.equal(two.coreGroups.length, 1);
    assert.equal(two.shardCount, 2);
    const annotations = (await resolved(two.coreGroups[0]!.statefulSet.metadata)).annotations;
    assert.equal(annotations?.[SHARDS_ANNOTATION], '0,1');
    const env = (await podSpecOf(two.coreGroups[0]!.statefulSet)).containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === 'CROSSBOOK_SHARDS')?.value, '0,1');
    assert.deepEqual(
      three.coreGroups.map((g) => g.shards),
      [[0], [1, 2]],
    );
    assert.equal(three.shardCount, 3);
  });

  it('the core must take one whole CPU per shard plus its overhead, as Guaranteed QoS', async () => {
    const resources = (await podSpecOf(two.coreGroups[0]!.statefulSet)).containers[0]?.resources;
    assert.equal(resources?.limits?.cpu, '4');
    assert.deepEqual(resources?.requests, resources?.limits);
    assert.deepEqual(
      three.coreGroups.map((g) => g.cpu),
      [3, 4],
    );
  });

  it('the core must run on the core node group', async () => {
    const spec = await podSpecOf(two.coreGroups[0]!.statefulSet);
    assert.deepEqual(spec.nodeSelector, { [NODE_POOL_LABEL]: CORE_POOL });
    assert.deepEqual(spec.tolerations, [
      { key: CORE_TAINT.key, operator: 'Equal', value: CORE_TAINT.value, effect: CORE_TAINT.effect },
    ]);
    assert.equal(spec.priorityClassName, 'crossbook-core');
  });

  it('the core must keep a standby in another availability zone', async () => {
    const set = await resolved(two.coreGroups[0]!.statefulSet.spec);
    assert.equal(set.replicas, 2);
    const terms =
      set.template.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    assert.equal(terms[0]?.topologyKey, 'topology.kubernetes.io/zone');
    const budget = await resolved(two.coreGroups[0]!.budget.spec);
    assert.equal(budget.minAvailable, 1);
    assert.equal(budget.unhealthyPodEvictionPolicy, 'AlwaysAllow');
  });

  it('the core must journal to its own encrypted provisioned-IOPS volume', async () => {
    const set = await resolved(two.coreGroups[0]!.statefulSet.spec);
    const claim = set.volumeClaimTemplates?.[0];
    assert.equal(claim?.spec.storageClassName, 'crossbook-journal-io2');
    assert.equal(claim?.spec.resources?.requests?.storage, '200Gi');
    const parameters = await resolved(two.journalStorageClass.parameters);
    assert.equal(parameters?.type, 'io2');
    assert.equal(parameters?.encrypted, 'true');
    assert.equal(await resolved(two.journalStorageClass.reclaimPolicy), 'Retain');
    const mounts = set.template.spec?.containers[0]?.volumeMounts ?? [];
    assert.ok(mounts.some((m) => m.name === 'journal' && m.mountPath === '/data'));
  });

  it('the gateway must have an HPA and a PodDisruptionBudget', async () => {
    const hpa = await resolved(two.gatewayAutoscaler.spec);
    assert.equal(hpa.scaleTargetRef.name, 'gateway');
    assert.equal(hpa.minReplicas, 3);
    assert.equal(hpa.maxReplicas, 12);
    const budget = await resolved(two.gatewayBudget.spec);
    const labels = (await resolved(two.gateway.spec)).template.metadata?.labels;
    for (const [key, value] of Object.entries(budget.selector?.matchLabels ?? {})) {
      assert.equal(labels?.[key], value);
    }
    assert.equal((await podSpecOf(two.gateway)).nodeSelector?.[NODE_POOL_LABEL], GENERAL_POOL);
  });

  it('every workload must have limits and probes', async () => {
    const workloads = [two.gateway, two.persister, ...two.coreGroups.map((g) => g.statefulSet)];
    for (const workload of workloads) {
      for (const container of (await podSpecOf(workload)).containers) {
        assert.ok(container.resources?.limits?.cpu, `${container.name} has a CPU limit`);
        assert.ok(container.resources?.limits?.memory, `${container.name} has a memory limit`);
        assert.ok(container.readinessProbe, `${container.name} has a readiness probe`);
        assert.ok(container.livenessProbe, `${container.name} has a liveness probe`);
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
      }
    }
  });

  it('must start each role from the one image with npm start', async () => {
    const roles = await Promise.all(
      [two.gateway, two.persister, two.coreGroups[0]!.statefulSet].map(
        async (w) => (await podSpecOf(w)).containers[0]?.args,
      ),
    );
    assert.deepEqual(roles, [
      ['npm', 'start', '--', '--roles', 'gateway'],
      ['npm', 'start', '--', '--roles', 'persister'],
      ['npm', 'start', '--', '--roles', 'core'],
    ]);
  });

  it('must read its secrets from Secrets Manager', () => {
    const secrets = ofType(recorded(), 'kubernetes:external-secrets.io/v1:ExternalSecret', 'wl-a-');
    assert.deepEqual(secrets.map((s) => (s.inputs.metadata as { name: string }).name).sort(), [
      'crossbook-admin',
      'crossbook-database',
      'crossbook-redis',
    ]);
    const database = secrets.find(
      (s) => (s.inputs.metadata as { name: string }).name === 'crossbook-database',
    );
    const spec = database?.inputs.spec as {
      data: { remoteRef: { key: string } }[];
      target: { template: { data: Record<string, string> } };
    };
    assert.equal(spec.data[0]?.remoteRef.key, 'crossbook/test/accounts-db');
    assert.match(
      spec.target.template.data.DATABASE_URL ?? '',
      /^postgresql:\/\/\{\{ \.username \}\}:\{\{ \.password \}\}@db:5432\/crossbook\?sslmode=require$/,
    );
  });

  it('must publish the markets and the shard map as config maps', async () => {
    const data = await resolved(two.shardMapConfig.data);
    assert.deepEqual(JSON.parse(data?.[SHARD_MAP_CONFIG_MAP.key] ?? '{}'), {
      BTCUSDT: 0,
      ETHUSDT: 1,
      '*': 1,
    });
  });

  it('must deny ingress by default and admit only what each role serves', async () => {
    const names = await Promise.all(two.networkPolicies.map(async (p) => (await resolved(p.metadata)).name));
    assert.deepEqual(names, ['default-deny-ingress', 'gateway', 'core', 'persister']);
    const deny = await resolved(two.networkPolicies[0]!.spec);
    assert.deepEqual(deny.podSelector, {});
    assert.deepEqual(deny.ingress, []);
  });

  it('a passive region must keep the core and the persister at zero until it takes over', async () => {
    assert.equal((await resolved(passive.coreGroups[0]!.statefulSet.spec)).replicas, 0);
    assert.equal((await resolved(passive.persister.spec)).replicas, 0);
    assert.equal((await resolved(passive.gatewayAutoscaler.spec)).minReplicas, 1);
  });
});
