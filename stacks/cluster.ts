import * as aws from '@pulumi/aws';
import * as eks from '@pulumi/eks';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { CORE_POOL, CORE_TAINT, GENERAL_POOL, NODE_POOL_LABEL } from './contracts.ts';
import { managedPolicy, serviceAccountRole, serviceTrustPolicy } from './iam.ts';
import { customerManagedKey } from './kms.ts';

/** The size of a managed node group. */
export interface NodeGroupSizeArgs {
  /** EC2 instance types, first preferred. */
  instanceTypes: string[];
  /** Minimum nodes. */
  min: number;
  /** Nodes at creation; the cluster autoscaler owns the number afterwards. */
  desired: number;
  /** Maximum nodes. */
  max: number;
}

/** Helm chart versions of the cluster add-ons. */
export interface AddonChartVersions {
  /** aws-load-balancer-controller (https://aws.github.io/eks-charts). Default `1.13.4`. */
  loadBalancerController?: string;
  /** external-secrets (https://charts.external-secrets.io). Default `0.19.2`. */
  externalSecrets?: string;
  /** cluster-autoscaler (https://kubernetes.github.io/autoscaler). Default `9.50.1`. */
  clusterAutoscaler?: string;
}

/** Arguments of {@link Cluster}. */
export interface ClusterArgs {
  /** The EKS cluster name, e.g. `crossbook-prod`. */
  clusterName: pulumi.Input<string>;
  /** Name used in tags. */
  environment: pulumi.Input<string>;
  /** The VPC. */
  vpcId: pulumi.Input<string>;
  /** Private subnets: the nodes and the control plane's network interfaces. */
  privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Public subnets (for the load balancer controller's discovery). */
  publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Kubernetes minor version. Default `1.33`. */
  kubernetesVersion?: pulumi.Input<string>;
  /** `arm64` (Graviton) or `x86_64`: picks the AL2023 AMI type. Default `arm64`. */
  nodeArchitecture?: pulumi.Input<'arm64' | 'x86_64'>;
  /** The general node group. Default 3 (3..9) `m7g.xlarge`. */
  generalNodes?: pulumi.Input<NodeGroupSizeArgs>;
  /** The core node group, tainted for the core only. Default 2 (2..4) `c7g.2xlarge`. */
  coreNodes?: pulumi.Input<NodeGroupSizeArgs>;
  /** CIDRs allowed to reach the public API endpoint. Default `["0.0.0.0/0"]`. */
  publicAccessCidrs?: pulumi.Input<pulumi.Input<string>[]>;
  /** Retention of the control-plane log group, days. Default 30. */
  logRetentionDays?: pulumi.Input<number>;
  /** Add-on chart versions. Defaults as listed in {@link AddonChartVersions}. */
  chartVersions?: AddonChartVersions;
}

/**
 * The EKS cluster: secrets envelope-encrypted with a KMS key, control-plane logs, an OIDC
 * provider for IAM roles for service accounts, a general managed node group and a
 * compute-optimised one tainted for the core (with the kubelet's static CPU manager, so the
 * core's whole-CPU requests get exclusive cores for the shard workers). Add-ons: the EBS CSI
 * driver (journal volumes), the AWS Load Balancer Controller (target group bindings for the
 * ALB), External Secrets (Secrets Manager into Kubernetes secrets) and the cluster autoscaler.
 */
export class Cluster extends pulumi.ComponentResource {
  /** The pulumi-eks cluster. */
  public readonly eks: eks.Cluster;
  /** The general node group. */
  public readonly generalNodeGroup: eks.ManagedNodeGroup;
  /** The core node group. */
  public readonly coreNodeGroup: eks.ManagedNodeGroup;
  /** The nodes' IAM role. */
  public readonly nodeRole: aws.iam.Role;
  /** The KMS key encrypting Kubernetes secrets. */
  public readonly secretsKey: aws.kms.Key;
  /** The EBS CSI driver add-on. */
  public readonly ebsCsiDriver: aws.eks.Addon;
  /** The Kubernetes provider for this cluster. */
  public readonly provider: k8s.Provider;
  /** The Helm releases of the add-ons. */
  public readonly addons: {
    loadBalancerController: k8s.helm.v3.Release;
    externalSecrets: k8s.helm.v3.Release;
    clusterAutoscaler: k8s.helm.v3.Release;
  };
  /** The cluster name. */
  public readonly clusterName: pulumi.Output<string>;
  /** The kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The IAM OIDC provider's ARN. */
  public readonly oidcProviderArn: pulumi.Output<string>;
  /** The OIDC issuer without `https://`. */
  public readonly oidcIssuer: pulumi.Output<string>;
  /** The EKS-managed security group on the control plane and every managed node (and pod). */
  public readonly clusterSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Cluster', name, {}, opts);
    const version = args.kubernetesVersion ?? '1.33';
    const arch = pulumi.output(args.nodeArchitecture ?? 'arm64');
    const amiType = arch.apply((a) => (a === 'arm64' ? 'AL2023_ARM_64_STANDARD' : 'AL2023_x86_64_STANDARD'));
    const general = pulumi.output(
      args.generalNodes ?? { instanceTypes: ['m7g.xlarge'], min: 3, desired: 3, max: 9 },
    );
    const core = pulumi.output(
      args.coreNodes ?? { instanceTypes: ['c7g.2xlarge'], min: 2, desired: 2, max: 4 },
    );
    const charts = {
      loadBalancerController: args.chartVersions?.loadBalancerController ?? '1.13.4',
      externalSecrets: args.chartVersions?.externalSecrets ?? '0.19.2',
      clusterAutoscaler: args.chartVersions?.clusterAutoscaler ?? '9.50.1',
    };
    const tags = { Environment: args.environment };
    const region = aws.getRegionOutput({}, { parent: this }).region;

    this.secretsKey = customerManagedKey(
      `${name}-secrets-key`,
      {
        description: pulumi.interpolate`EKS secrets of ${args.clusterName}`,
        alias: pulumi.interpolate`${args.clusterName}-secrets`,
      },
      { parent: this },
    );

    // EKS creates this group on first log write if it is missing, with no retention; creating
    // it first keeps the retention under our control.
    const controlPlaneLogs = new aws.cloudwatch.LogGroup(
      `${name}-control-plane-logs`,
      {
        name: pulumi.interpolate`/aws/eks/${args.clusterName}/cluster`,
        retentionInDays: args.logRetentionDays ?? 30,
        tags,
      },
      { parent: this },
    );

    this.eks = new eks.Cluster(
      `${name}-eks`,
      {
        name: args.clusterName,
        version,
        vpcId: args.vpcId,
        privateSubnetIds: args.privateSubnetIds,
        publicSubnetIds: args.publicSubnetIds,
        skipDefaultNodeGroup: true,
        skipDefaultSecurityGroups: true,
        createOidcProvider: true,
        authenticationMode: eks.AuthenticationMode.Api,
        endpointPrivateAccess: true,
        endpointPublicAccess: true,
        publicAccessCidrs: args.publicAccessCidrs ?? ['0.0.0.0/0'],
        encryptionConfigKeyArn: this.secretsKey.arn,
        enabledClusterLogTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
        vpcCniOptions: { enableNetworkPolicy: true, enablePrefixDelegation: true },
        tags,
      },
      { parent: this, dependsOn: [controlPlaneLogs] },
    );
    this.clusterName = this.eks.eksCluster.name;
    this.oidcProviderArn = this.eks.oidcProviderArn;
    this.oidcIssuer = this.eks.oidcIssuer;
    this.clusterSecurityGroupId = this.eks.clusterSecurityGroupId;
    this.kubeconfig = pulumi.secret(this.eks.kubeconfigJson);

    this.nodeRole = new aws.iam.Role(
      `${name}-node-role`,
      { assumeRolePolicy: serviceTrustPolicy('ec2.amazonaws.com'), tags },
      { parent: this },
    );
    const nodePolicies = [
      'AmazonEKSWorkerNodePolicy',
      'AmazonEKS_CNI_Policy',
      'AmazonEC2ContainerRegistryReadOnly',
      'AmazonSSMManagedInstanceCore',
    ];
    const nodeAttachments = nodePolicies.map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-node-${policy}`,
          { role: this.nodeRole.name, policyArn: managedPolicy(policy) },
          { parent: this },
        ),
    );

    const scaling = (size: pulumi.Output<NodeGroupSizeArgs>) =>
      size.apply((s) => ({ minSize: s.min, desiredSize: s.desired, maxSize: s.max }));
    this.generalNodeGroup = new eks.ManagedNodeGroup(
      `${name}-general`,
      {
        cluster: this.eks,
        nodeRoleArn: this.nodeRole.arn,
        subnetIds: args.privateSubnetIds,
        amiType,
        instanceTypes: general.instanceTypes,
        scalingConfig: scaling(general),
        ignoreScalingChanges: true,
        labels: { [NODE_POOL_LABEL]: GENERAL_POOL },
        tags,
      },
      { parent: this, dependsOn: nodeAttachments },
    );
    this.coreNodeGroup = new eks.ManagedNodeGroup(
      `${name}-core`,
      {
        cluster: this.eks,
        nodeRoleArn: this.nodeRole.arn,
        subnetIds: args.privateSubnetIds,
        amiType,
        instanceTypes: core.instanceTypes,
        scalingConfig: scaling(core),
        ignoreScalingChanges: true,
        labels: { [NODE_POOL_LABEL]: CORE_POOL },
        taints: [{ key: CORE_TAINT.key, value: CORE_TAINT.value, effect: 'NO_SCHEDULE' }],
        // Whole-CPU requests of Guaranteed pods get exclusive cores: the sequencer and each
        // shard worker keep their own core and their caches warm. CPU 0 stays with the system.
        nodeadmExtraOptions: [
          {
            contentType: 'application/node.eks.aws',
            content: [
              'apiVersion: node.eks.aws/v1alpha1',
              'kind: NodeConfig',
              'spec:',
              '  kubelet:',
              '    config:',
              '      cpuManagerPolicy: static',
              '      reservedSystemCPUs: "0"',
              '',
            ].join('\n'),
          },
        ],
        tags,
      },
      { parent: this, dependsOn: nodeAttachments },
    );

    const identity = (namespace: string, serviceAccount: string) => ({
      oidcProviderArn: this.oidcProviderArn,
      oidcIssuer: this.oidcIssuer,
      namespace,
      serviceAccount,
    });

    const ebsCsiRole = serviceAccountRole(
      `${name}-ebs-csi`,
      {
        ...identity('kube-system', 'ebs-csi-controller-sa'),
        managedPolicyArns: [managedPolicy('service-role/AmazonEBSCSIDriverPolicy')],
        // Journal volumes are encrypted with the account's EBS key or a customer key.
        statements: [
          {
            actions: [
              'kms:CreateGrant',
              'kms:Decrypt',
              'kms:DescribeKey',
              'kms:Encrypt',
              'kms:GenerateDataKey*',
              'kms:ReEncrypt*',
            ],
            resources: ['*'],
          },
        ],
      },
      { parent: this },
    );
    this.ebsCsiDriver = new aws.eks.Addon(
      `${name}-ebs-csi-driver`,
      {
        clusterName: this.clusterName,
        addonName: 'aws-ebs-csi-driver',
        serviceAccountRoleArn: ebsCsiRole.arn,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'PRESERVE',
        tags,
      },
      { parent: this, dependsOn: [this.generalNodeGroup] },
    );

    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      { kubeconfig: this.eks.kubeconfigJson, enableServerSideApply: true },
      { parent: this },
    );
    const inCluster = { parent: this, provider: this.provider, dependsOn: [this.generalNodeGroup] };

    // The controller only binds pods to the target group the edge created: it needs to
    // describe and to register targets, nothing that creates load balancers.
    const lbControllerRole = serviceAccountRole(
      `${name}-lb-controller`,
      {
        ...identity('kube-system', 'aws-load-balancer-controller'),
        statements: [
          {
            actions: [
              'ec2:DescribeAvailabilityZones',
              'ec2:DescribeInstances',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSecurityGroups',
              'ec2:DescribeSubnets',
              'ec2:DescribeVpcs',
              'elasticloadbalancing:Describe*',
            ],
            resources: ['*'],
          },
          {
            actions: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
            resources: ['arn:aws:elasticloadbalancing:*:*:targetgroup/*/*'],
          },
        ],
      },
      { parent: this },
    );
    const loadBalancerController = new k8s.helm.v3.Release(
      `${name}-aws-load-balancer-controller`,
      {
        name: 'aws-load-balancer-controller',
        chart: 'aws-load-balancer-controller',
        version: charts.loadBalancerController,
        namespace: 'kube-system',
        repositoryOpts: { repo: 'https://aws.github.io/eks-charts' },
        values: {
          clusterName: this.clusterName,
          region,
          vpcId: args.vpcId,
          replicaCount: 2,
          enableServiceMutatorWebhook: false,
          serviceAccount: {
            name: 'aws-load-balancer-controller',
            annotations: { 'eks.amazonaws.com/role-arn': lbControllerRole.arn },
          },
          nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL },
        },
      },
      inCluster,
    );
    const externalSecrets = new k8s.helm.v3.Release(
      `${name}-external-secrets`,
      {
        name: 'external-secrets',
        chart: 'external-secrets',
        version: charts.externalSecrets,
        namespace: 'external-secrets',
        createNamespace: true,
        repositoryOpts: { repo: 'https://charts.external-secrets.io' },
        values: { installCRDs: true, replicaCount: 2, nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL } },
      },
      inCluster,
    );
    const autoscalerRole = serviceAccountRole(
      `${name}-cluster-autoscaler`,
      {
        ...identity('kube-system', 'cluster-autoscaler'),
        statements: [
          {
            actions: [
              'autoscaling:DescribeAutoScalingGroups',
              'autoscaling:DescribeAutoScalingInstances',
              'autoscaling:DescribeLaunchConfigurations',
              'autoscaling:DescribeScalingActivities',
              'autoscaling:DescribeTags',
              'ec2:DescribeImages',
              'ec2:DescribeInstanceTypes',
              'ec2:DescribeLaunchTemplateVersions',
              'ec2:GetInstanceTypesFromInstanceRequirements',
              'eks:DescribeNodegroup',
            ],
            resources: ['*'],
          },
          {
            actions: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
            resources: ['arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/eks-*'],
          },
        ],
      },
      { parent: this },
    );
    const clusterAutoscaler = new k8s.helm.v3.Release(
      `${name}-cluster-autoscaler`,
      {
        name: 'cluster-autoscaler',
        chart: 'cluster-autoscaler',
        version: charts.clusterAutoscaler,
        namespace: 'kube-system',
        repositoryOpts: { repo: 'https://kubernetes.github.io/autoscaler' },
        values: {
          awsRegion: region,
          autoDiscovery: { clusterName: this.clusterName },
          image: { tag: pulumi.output(version).apply((v) => `v${v}.0`) },
          rbac: {
            serviceAccount: {
              name: 'cluster-autoscaler',
              annotations: { 'eks.amazonaws.com/role-arn': autoscalerRole.arn },
            },
          },
          extraArgs: { 'balance-similar-node-groups': true, 'skip-nodes-with-local-storage': false },
          nodeSelector: { [NODE_POOL_LABEL]: GENERAL_POOL },
        },
      },
      inCluster,
    );
    this.addons = { loadBalancerController, externalSecrets, clusterAutoscaler };

    this.registerOutputs({
      clusterName: this.clusterName,
      kubeconfig: this.kubeconfig,
      oidcProviderArn: this.oidcProviderArn,
      oidcIssuer: this.oidcIssuer,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
    });
  }
}
