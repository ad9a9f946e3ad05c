import assert from 'node:assert/strict';
import { policies, TYPES } from '../../policy/policies.ts';
import { CORE_TAINT, NODE_POOL_LABEL, ROLE_LABEL, SHARDS_ANNOTATION } from '../../stacks/contracts.ts';
import { evaluate, type Subject } from './support/policy-harness.ts';

/** The messages one policy reports for these resources. */
async function reported(policy: string, subjects: Subject[]): Promise<string[]> {
  assert.ok(
    policies.some((p) => p.name === policy),
    `the pack has a policy named ${policy}`,
  );
  return (await evaluate(subjects)).filter((v) => v.policy === policy).map((v) => v.message);
}

const subject = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  provider?: string,
): Subject => ({
  type,
  name,
  inputs,
  provider,
});

const container = (overrides: Record<string, unknown> = {}) => ({
  name: 'app',
  image: 'crossbook',
  resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } },
  readinessProbe: { httpGet: { path: '/', port: 8080 } },
  livenessProbe: { httpGet: { path: '/', port: 8080 } },
  securityContext: { allowPrivilegeEscalation: false },
  ...overrides,
});

function workload(
  type: string,
  name: string,
  role: string,
  podSpec: Record<string, unknown>,
  extra: { replicas?: number; annotations?: Record<string, string>; namespace?: string } = {},
): Subject {
  return subject(type, name, {
    metadata: { name, namespace: extra.namespace ?? 'crossbook', annotations: extra.annotations ?? {} },
    spec: {
      replicas: extra.replicas,
      selector: { matchLabels: { [ROLE_LABEL]: role } },
      template: {
        metadata: { labels: { [ROLE_LABEL]: role } },
        spec: { securityContext: { runAsNonRoot: true }, containers: [container()], ...podSpec },
      },
    },
  });
}

const corePod: Record<string, unknown> = {
  nodeSelector: { [NODE_POOL_LABEL]: 'core' },
  tolerations: [
    { key: CORE_TAINT.key, operator: 'Equal', value: CORE_TAINT.value, effect: CORE_TAINT.effect },
  ],
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: 'topology.kubernetes.io/zone', labelSelector: {} },
      ],
    },
  },
  containers: [container({ resources: { limits: { cpu: '4', memory: '8Gi' } } })],
};

const shardMap = (map: Record<string, number>, namespace = 'crossbook') =>
  subject(TYPES.configMap, 'shard-map', {
    metadata: { name: 'shard-map', namespace },
    data: { 'shard-map.json': JSON.stringify(map) },
  });

const core = (name: string, shards: string, pod = corePod) =>
  workload(TYPES.statefulSet, name, 'core', pod, {
    replicas: 2,
    annotations: { [SHARDS_ANNOTATION]: shards },
  });

const bucketWith = (
  name: string,
  guards: { pab?: boolean; sse?: string; versioned?: boolean },
): Subject[] => {
  const subjects: Subject[] = [{ type: TYPES.bucket, name, inputs: {}, outputs: { bucket: name, id: name } }];
  if (guards.pab !== undefined) {
    subjects.push(
      subject(TYPES.publicAccessBlock, `${name}-pab`, {
        bucket: name,
        blockPublicAcls: true,
        blockPublicPolicy: guards.pab,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
    );
  }
  if (guards.sse !== undefined) {
    subjects.push(
      subject(TYPES.encryption, `${name}-sse`, {
        bucket: name,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: guards.sse } }],
      }),
    );
  }
  if (guards.versioned !== undefined) {
    subjects.push(
      subject(TYPES.versioning, `${name}-versioning`, {
        bucket: name,
        versioningConfiguration: { status: guards.versioned ? 'Enabled' : 'Suspended' },
      }),
    );
  }
  return subjects;
};

describe('policy pack', () => {
  it('must name every policy uniquely and give it an enforcement level', () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(policies.every((p) => p.enforcementLevel === 'mandatory' || p.enforcementLevel === 'advisory'));
  });

  describe('the database is not reachable from the internet', () => {
    it('flags a publicly accessible instance, and one that does not say', async () => {
      assert.deepEqual(
        await reported('database-not-public', [
          subject(TYPES.rdsClusterInstance, 'ok', { publiclyAccessible: false }),
          subject(TYPES.rdsClusterInstance, 'public', { publiclyAccessible: true }),
          subject(TYPES.rdsClusterInstance, 'unset', {}),
        ]),
        ['publiclyAccessible must be set to false', 'publiclyAccessible must be set to false'],
      );
    });

    it('flags PostgreSQL or Redis open to the internet, in any form of security group rule', async () => {
      const messages = await reported('data-ports-not-public', [
        subject(TYPES.securityGroup, 'private', {
          ingress: [{ protocol: 'tcp', fromPort: 5432, toPort: 5432, securityGroups: ['sg-cluster'] }],
        }),
        subject(TYPES.securityGroup, 'https', {
          ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }],
        }),
        subject(TYPES.securityGroup, 'everything', {
          ingress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
        }),
        subject(TYPES.ingressRule, 'redis-v6', {
          ipProtocol: 'tcp',
          fromPort: 6000,
          toPort: 7000,
          cidrIpv6: '::/0',
        }),
        subject(TYPES.securityGroupRule, 'pg', {
          type: 'ingress',
          protocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          cidrBlocks: ['0.0.0.0/0'],
        }),
        subject(TYPES.securityGroupRule, 'egress', {
          type: 'egress',
          protocol: '-1',
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ['0.0.0.0/0'],
        }),
      ]);
      assert.deepEqual(messages, [
        'postgres port 5432 is open to the internet',
        'redis port 6379 is open to the internet',
        'redis port 6379 is open to the internet',
        'postgres port 5432 is open to the internet',
      ]);
    });

    it('flags a database subnet that routes out of the VPC', async () => {
      const subjects = [
        subject(TYPES.rdsSubnetGroup, 'db', { subnetIds: ['s-isolated', 's-private'] }),
        subject(TYPES.routeTableAssociation, 'a1', { subnetId: 's-isolated', routeTableId: 'rt-isolated' }),
        subject(TYPES.routeTableAssociation, 'a2', { subnetId: 's-private', routeTableId: 'rt-private' }),
        {
          type: TYPES.routeTable,
          name: 'rt-isolated',
          inputs: {},
          outputs: { id: 'rt-isolated', routes: [] },
        },
        {
          type: TYPES.routeTable,
          name: 'rt-private',
          inputs: {},
          outputs: { id: 'rt-private', routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: 'nat-1' }] },
        },
      ];
      assert.deepEqual(await reported('database-in-isolated-subnets', subjects), [
        'subnet s-private of database subnet group db routes out of the VPC',
      ]);
    });
  });

  it('the database must be encrypted with a customer-managed key', async () => {
    assert.deepEqual(
      await reported('database-encrypted', [
        subject(TYPES.rdsCluster, 'ok', { storageEncrypted: true, kmsKeyId: 'arn:kms' }),
        subject(TYPES.rdsCluster, 'plain', { storageEncrypted: false }),
        subject(TYPES.rdsGlobalCluster, 'global', { storageEncrypted: true }),
      ]),
      ['storageEncrypted must be true', 'kmsKeyId must name a customer-managed key'],
    );
  });

  it('advises deletion protection on the database', async () => {
    const found = (
      await evaluate([subject(TYPES.rdsCluster, 'c', { storageEncrypted: true, kmsKeyId: 'k' })])
    ).filter((v) => v.policy === 'database-deletion-protection');
    assert.deepEqual(
      found.map((v) => v.level),
      ['advisory'],
    );
  });

  describe('every bucket blocks public access and is encrypted and versioned', () => {
    it('passes a fully guarded bucket', async () => {
      const subjects = bucketWith('good', { pab: true, sse: 'aws:kms', versioned: true });
      for (const policy of ['buckets-block-public-access', 'buckets-encrypted', 'buckets-versioned']) {
        assert.deepEqual(await reported(policy, subjects), []);
      }
    });

    it('flags a bucket with a partial public access block, or none', async () => {
      const subjects = [...bucketWith('partial', { pab: false }), ...bucketWith('bare', {})];
      assert.deepEqual(await reported('buckets-block-public-access', subjects), [
        'bucket partial has no public access block with all four settings on',
        'bucket bare has no public access block with all four settings on',
      ]);
    });

    it('flags an unencrypted or unversioned bucket', async () => {
      const subjects = [...bucketWith('a', { sse: 'AES256', versioned: false }), ...bucketWith('b', {})];
      assert.deepEqual(await reported('buckets-encrypted', subjects), ['bucket b has no default encryption']);
      assert.deepEqual(await reported('buckets-versioned', subjects), [
        'bucket a is not versioned',
        'bucket b is not versioned',
      ]);
    });

    it('links guards to buckets by dependency when the ids are not known yet', async () => {
      // In a preview, a new bucket's name is unknown: only the dependency links the guard to it.
      const bucket: Subject = { type: TYPES.bucket, name: 'new', inputs: {}, outputs: {} };
      const guard = subject(TYPES.versioning, 'new-versioning', {
        versioningConfiguration: { status: 'Enabled' },
      });
      assert.deepEqual(
        await reported('buckets-versioned', [
          bucket,
          { ...guard, propertyDependencies: { bucket: ['new'] } },
        ]),
        [],
      );
      assert.deepEqual(await reported('buckets-versioned', [bucket, guard]), ['bucket new is not versioned']);
    });
  });

  it('DynamoDB must be on demand with point-in-time recovery, replicas too', async () => {
    assert.deepEqual(
      await reported('dynamodb-on-demand-with-pitr', [
        subject(TYPES.dynamodbTable, 'ok', {
          billingMode: 'PAY_PER_REQUEST',
          pointInTimeRecovery: { enabled: true },
          replicas: [{ regionName: 'us-west-2', pointInTimeRecovery: true }],
        }),
        subject(TYPES.dynamodbTable, 'bad', {
          billingMode: 'PROVISIONED',
          replicas: [{ regionName: 'eu-west-1' }],
        }),
      ]),
      [
        'billingMode must be PAY_PER_REQUEST',
        'point-in-time recovery must be enabled',
        'the replica in eu-west-1 must keep point-in-time recovery',
      ],
    );
  });

  it('Redis must have TLS, encryption at rest, AUTH and multi-AZ failover', async () => {
    const good = {
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      authToken: 'secret',
    };
    assert.deepEqual(await reported('redis-tls-multi-az', [subject(TYPES.replicationGroup, 'ok', good)]), []);
    assert.deepEqual(
      await reported('redis-tls-multi-az', [
        subject(TYPES.replicationGroup, 'bad', {
          ...good,
          multiAzEnabled: false,
          transitEncryptionMode: 'preferred',
          authToken: undefined,
        }),
      ]),
      [
        'multiAzEnabled must be true',
        'an AUTH token (or RBAC user groups) is required',
        'transitEncryptionMode must be required',
      ],
    );
  });

  it('Kinesis must be encrypted', async () => {
    assert.deepEqual(
      await reported('kinesis-encrypted', [subject(TYPES.kinesisStream, 's', { encryptionType: 'NONE' })]),
      ['encryptionType must be KMS'],
    );
  });

  it('API Gateway must not cache signed endpoints', async () => {
    assert.deepEqual(
      await reported('api-caches-public-market-data-only', [
        subject(TYPES.methodSettings, 'depth', {
          methodPath: 'api/v3/depth/GET',
          settings: { cachingEnabled: true },
        }),
        subject(TYPES.methodSettings, 'all', { methodPath: '*/*', settings: { cachingEnabled: false } }),
        subject(TYPES.methodSettings, 'account', {
          methodPath: 'api/v3/account/GET',
          settings: { cachingEnabled: true },
        }),
        subject(TYPES.methodSettings, 'everything', {
          methodPath: '*/*',
          settings: { cachingEnabled: true },
        }),
      ]),
      [
        'caching is enabled on api/v3/account/GET, which is not a public market-data route',
        'caching is enabled on */*, which is not a public market-data route',
      ],
    );
  });

  describe('the core', () => {
    it('must run on the core node group', async () => {
      assert.deepEqual(await reported('core-on-core-node-group', [core('core-0', '0,1')]), []);
      const stray = core('core-1', '0,1', { ...corePod, nodeSelector: {}, tolerations: [] });
      assert.deepEqual(await reported('core-on-core-node-group', [stray]), [
        `the core must select nodes labelled ${NODE_POOL_LABEL}=core`,
        `the core must tolerate the ${CORE_TAINT.key}=${CORE_TAINT.value}:${CORE_TAINT.effect} taint`,
      ]);
      const gateway = workload(TYPES.deployment, 'gateway', 'gateway', {});
      assert.deepEqual(await reported('core-on-core-node-group', [gateway]), []);
    });

    it('must keep a standby in another zone', async () => {
      const alone = workload(
        TYPES.statefulSet,
        'core-0',
        'core',
        { ...corePod, affinity: {} },
        { replicas: 1 },
      );
      assert.deepEqual(await reported('core-standby-across-zones', [alone]), [
        'a core group needs a standby replica (or zero replicas in a passive region)',
        'core replicas must be anti-affine across zones (required, topology.kubernetes.io/zone)',
      ]);
      const passive = workload(TYPES.statefulSet, 'core-0', 'core', corePod, { replicas: 0 });
      assert.deepEqual(await reported('core-standby-across-zones', [passive]), []);
    });

    it('must have as many shard groups as the shard map', async () => {
      const map = shardMap({ BTCUSDT: 0, ETHUSDT: 1, '*': 2 });
      assert.deepEqual(
        await reported('core-shard-groups-match-shard-map', [map, core('core-0', '0,1,2')]),
        [],
      );
      assert.deepEqual(
        await reported('core-shard-groups-match-shard-map', [
          map,
          core('core-0', '0,1'),
          core('core-1', '1'),
        ]),
        ['the core StatefulSets host shards [0, 1, 1] but the shard map has [0, 1, 2]'],
      );
      assert.deepEqual(await reported('core-shard-groups-match-shard-map', [map]), [
        'no core StatefulSet serves the shard map in crossbook',
      ]);
    });

    it('must have a whole CPU per shard plus the sequencer', async () => {
      const map = shardMap({ A: 0, B: 1, C: 2, D: 3, '*': 4 });
      assert.deepEqual(
        await reported('core-shard-groups-match-shard-map', [map, core('core-0', '0,1,2,3,4')]),
        ['core StatefulSet core-0 hosts 5 shards with 4 CPUs: it needs one per shard plus the sequencer'],
      );
    });

    it('must judge each cluster on its own', async () => {
      const mapA = { ...shardMap({ A: 0, '*': 1 }), provider: 'cluster-a' };
      const mapB = { ...shardMap({ A: 0, '*': 1 }), provider: 'cluster-b' };
      const coreA = { ...core('core-0', '0,1'), provider: 'cluster-a' };
      assert.deepEqual(await reported('core-shard-groups-match-shard-map', [mapA, mapB, coreA]), [
        'no core StatefulSet serves the shard map in crossbook',
      ]);
    });
  });

  it('the gateway must have an HPA and a PDB', async () => {
    const gateway = workload(TYPES.deployment, 'gateway', 'gateway', {});
    const hpa = subject(TYPES.hpa, 'gateway-hpa', {
      metadata: { name: 'gateway', namespace: 'crossbook' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'gateway' } },
    });
    const pdb = subject(TYPES.pdb, 'gateway-pdb', {
      metadata: { name: 'gateway', namespace: 'crossbook' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { [ROLE_LABEL]: 'gateway' } } },
    });
    assert.deepEqual(await reported('gateway-has-hpa-and-pdb', [gateway, hpa, pdb]), []);
    assert.deepEqual(await reported('gateway-has-hpa-and-pdb', [gateway]), [
      'gateway Deployment gateway has no HorizontalPodAutoscaler',
      'gateway Deployment gateway has no PodDisruptionBudget',
    ]);
    const elsewhere = {
      ...hpa,
      inputs: { ...hpa.inputs, metadata: { name: 'gateway', namespace: 'other' } },
    };
    assert.deepEqual(await reported('gateway-has-hpa-and-pdb', [gateway, elsewhere, pdb]), [
      'gateway Deployment gateway has no HorizontalPodAutoscaler',
    ]);
  });

  it('every workload must have limits and probes', async () => {
    const bare = workload(TYPES.deployment, 'bare', 'persister', {
      containers: [{ name: 'app', image: 'x', securityContext: { allowPrivilegeEscalation: false } }],
    });
    assert.deepEqual(await reported('workloads-have-limits-and-probes', [bare]), [
      'container app has no CPU and memory limits',
      'container app has no readiness probe',
      'container app has no liveness probe',
    ]);
    assert.deepEqual(
      await reported('workloads-have-limits-and-probes', [workload(TYPES.daemonSet, 'ok', 'agent', {})]),
      [],
    );
  });

  it('every workload must run as non-root without privilege escalation', async () => {
    const root = workload(TYPES.deployment, 'root', 'gateway', {
      securityContext: {},
      containers: [container({ securityContext: {} })],
    });
    assert.deepEqual(await reported('workloads-run-as-non-root', [root]), [
      'container app may run as root',
      'container app allows privilege escalation',
    ]);
  });

  it('EBS storage classes must encrypt', async () => {
    assert.deepEqual(
      await reported('ebs-volumes-encrypted', [
        subject(TYPES.storageClass, 'journal', {
          provisioner: 'ebs.csi.aws.com',
          parameters: { type: 'io2', encrypted: 'true' },
        }),
        subject(TYPES.storageClass, 'plain', { provisioner: 'ebs.csi.aws.com', parameters: { type: 'gp3' } }),
        subject(TYPES.storageClass, 'efs', { provisioner: 'efs.csi.aws.com', parameters: {} }),
      ]),
      ['EBS volumes must be encrypted (parameters.encrypted: "true")'],
    );
  });
});
