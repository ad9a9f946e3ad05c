import assert from 'node:assert/strict';
import type * as ClusterModule from '../../stacks/cluster.ts';
import { CORE_POOL, CORE_TAINT, GENERAL_POOL, NODE_POOL_LABEL } from '../../stacks/contracts.ts';
import { installMocks, ofType, type Registered, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('cluster', () => {
  let cluster: ClusterModule.Cluster;
  let registered: Registered[];
  // pulumi-eks components run remotely: their own outputs are few, so their inputs are read
  // from what the program registered.
  const inputsOf = (type: string, name: string) => {
    const found = ofType(registered, type, name)[0];
    assert.ok(found, `${name} was not registered`);
    return found.inputs;
  };

  before(async () => {
    const { Cluster } = await import('../../stacks/cluster.ts');
    cluster = new Cluster('cl', {
      clusterName: 'crossbook-test',
      environment: 'test',
      vpcId: 'vpc-1',
      privateSubnetIds: ['subnet-p0', 'subnet-p1', 'subnet-p2'],
      publicSubnetIds: ['subnet-u0', 'subnet-u1', 'subnet-u2'],
    });
    await settle();
    registered = recorded();
  });

  it('must reserve the compute-optimised node group for the core with a taint', () => {
    const core = inputsOf('eks:index:ManagedNodeGroup', 'cl-core');
    assert.deepEqual(core.taints, [{ key: CORE_TAINT.key, value: CORE_TAINT.value, effect: 'NO_SCHEDULE' }]);
    assert.deepEqual(core.labels, { [NODE_POOL_LABEL]: CORE_POOL });
    assert.deepEqual(core.instanceTypes, ['c7g.2xlarge']);
    const general = inputsOf('eks:index:ManagedNodeGroup', 'cl-general');
    assert.deepEqual(general.labels, { [NODE_POOL_LABEL]: GENERAL_POOL });
    assert.equal(general.taints, undefined);
  });

  it('must give the core exclusive CPUs through the static CPU manager', () => {
    const core = inputsOf('eks:index:ManagedNodeGroup', 'cl-core');
    const options = core.nodeadmExtraOptions as { content: string }[];
    assert.match(options[0]?.content ?? '', /cpuManagerPolicy: static/);
  });

  it('must keep nodes and the control plane in private subnets', () => {
    for (const group of ['cl-core', 'cl-general']) {
      assert.deepEqual(inputsOf('eks:index:ManagedNodeGroup', group).subnetIds, [
        'subnet-p0',
        'subnet-p1',
        'subnet-p2',
      ]);
    }
    const eks = inputsOf('eks:index:Cluster', 'cl-eks');
    assert.equal(eks.skipDefaultNodeGroup, true);
    assert.equal(eks.endpointPrivateAccess, true);
  });

  it('must encrypt Kubernetes secrets with its own KMS key and log the control plane', async () => {
    const eks = inputsOf('eks:index:Cluster', 'cl-eks');
    assert.equal(eks.encryptionConfigKeyArn, await resolved(cluster.secretsKey.arn));
    assert.equal(await resolved(cluster.secretsKey.enableKeyRotation), true);
    assert.ok((eks.enabledClusterLogTypes as string[]).includes('audit'));
    assert.equal(eks.authenticationMode, 'API');
  });

  it('must create an OIDC provider and bind add-on roles to single service accounts', async () => {
    assert.equal(inputsOf('eks:index:Cluster', 'cl-eks').createOidcProvider, true);
    const role = ofType(registered, 'aws:iam/role:Role', 'cl-ebs-csi')[0];
    const trust = JSON.parse(String(role?.inputs.assumeRolePolicy));
    const condition = trust.Statement[0].Condition.StringEquals;
    assert.equal(
      condition['oidc.eks.us-east-1.amazonaws.com/id/crossbook-test:sub'],
      'system:serviceaccount:kube-system:ebs-csi-controller-sa',
    );
    assert.equal(await resolved(cluster.ebsCsiDriver.addonName), 'aws-ebs-csi-driver');
  });

  it('must enforce network policies in the VPC CNI', () => {
    const eks = inputsOf('eks:index:Cluster', 'cl-eks');
    assert.equal((eks.vpcCniOptions as { enableNetworkPolicy: boolean }).enableNetworkPolicy, true);
  });

  it('must run the add-ons on the general nodes, never on the core', async () => {
    for (const release of Object.values(cluster.addons)) {
      const values = (await resolved(release.values)) as { nodeSelector?: Record<string, string> };
      assert.deepEqual(values.nodeSelector, { [NODE_POOL_LABEL]: GENERAL_POOL });
    }
  });

  it('must let the load balancer controller register targets but not create load balancers', () => {
    const policy = ofType(registered, 'aws:iam/rolePolicy:RolePolicy', 'cl-lb-controller')[0];
    const actions = JSON.parse(String(policy?.inputs.policy)).Statement.flatMap(
      (s: { Action: string[] }) => s.Action,
    );
    assert.ok(actions.includes('elasticloadbalancing:RegisterTargets'));
    assert.ok(!actions.some((a: string) => a.startsWith('elasticloadbalancing:Create')));
  });
});
