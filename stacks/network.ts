import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { subnetPlan } from './cidr.ts';

/** Arguments of {@link Network}. */
export interface NetworkArgs {
  /** Name used in tags, e.g. `prod`. */
  environment: pulumi.Input<string>;
  /**
   * The VPC's CIDR block. Plain (not an Input) because the subnet plan is computed from it
   * while the program runs. Default `10.0.0.0/16`.
   */
  cidrBlock?: string;
  /**
   * How many availability zones to span (1..4). Plain because it decides how many subnets,
   * route tables and NAT gateways exist. Default 3.
   */
  availabilityZoneCount?: number;
  /**
   * `perAz`: one NAT gateway per AZ, so losing an AZ never cuts the others off the internet;
   * `single`: one NAT gateway for all (cheaper, for staging). Plain for the same reason.
   * Default `perAz`.
   */
  natGateways?: 'perAz' | 'single';
}

/**
 * The VPC: public subnets (load balancers, NAT gateways), private subnets (the EKS nodes and
 * pods, out through NAT), isolated subnets (Aurora, with no route out at all), spread over
 * `availabilityZoneCount` AZs, with gateway endpoints so S3 and DynamoDB traffic never crosses
 * the NAT gateways.
 */
export class Network extends pulumi.ComponentResource {
  /** The VPC. */
  public readonly vpc: aws.ec2.Vpc;
  /** The AZ names in subnet order. */
  public readonly availabilityZones: pulumi.Output<string[]>;
  /** One public subnet per AZ. */
  public readonly publicSubnets: aws.ec2.Subnet[];
  /** One private subnet per AZ. */
  public readonly privateSubnets: aws.ec2.Subnet[];
  /** One isolated subnet per AZ. */
  public readonly isolatedSubnets: aws.ec2.Subnet[];
  /** The NAT gateways (one per AZ, or one). */
  public readonly natGateways: aws.ec2.NatGateway[];
  /** The public route table (default route to the internet gateway). */
  public readonly publicRouteTable: aws.ec2.RouteTable;
  /** One private route table per AZ (default route to a NAT gateway). */
  public readonly privateRouteTables: aws.ec2.RouteTable[];
  /** One isolated route table per AZ (local routes and the gateway endpoints only). */
  public readonly isolatedRouteTables: aws.ec2.RouteTable[];
  /** The S3 gateway endpoint. */
  public readonly s3Endpoint: aws.ec2.VpcEndpoint;
  /** The DynamoDB gateway endpoint. */
  public readonly dynamodbEndpoint: aws.ec2.VpcEndpoint;
  /** The VPC id. */
  public readonly vpcId: pulumi.Output<string>;
  /** The VPC CIDR block. */
  public readonly vpcCidrBlock: pulumi.Output<string>;
  /** Public subnet ids in AZ order. */
  public readonly publicSubnetIds: pulumi.Output<string[]>;
  /** Private subnet ids in AZ order. */
  public readonly privateSubnetIds: pulumi.Output<string[]>;
  /** Isolated subnet ids in AZ order. */
  public readonly isolatedSubnetIds: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Network', name, {}, opts);
    const cidrBlock = args.cidrBlock ?? '10.0.0.0/16';
    const azCount = args.availabilityZoneCount ?? 3;
    const natMode = args.natGateways ?? 'perAz';
    const plan = subnetPlan(cidrBlock, azCount);
    const tags = (role: string) => ({ Environment: args.environment, Role: role });

    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: pulumi
          .output(args.environment)
          .apply((env) => ({ Name: `crossbook-${env}`, Environment: env })),
      },
      { parent: this },
    );
    const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, { parent: this });
    this.availabilityZones = zones.names.apply((names) => {
      if (names.length < azCount) {
        throw new Error(`the region has ${names.length} available AZs, fewer than the ${azCount} configured`);
      }
      return names.slice(0, azCount);
    });
    const az = (i: number) => this.availabilityZones.apply((names) => names[i] as string);

    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: this.vpc.id, tags: tags('internet') },
      { parent: this },
    );

    const subnets = (
      tier: 'public' | 'private' | 'isolated',
      extraTags: Record<string, pulumi.Input<string>>,
    ) =>
      plan[tier].map(
        (cidr, i) =>
          new aws.ec2.Subnet(
            `${name}-${tier}-${i}`,
            {
              vpcId: this.vpc.id,
              cidrBlock: cidr,
              availabilityZone: az(i),
              mapPublicIpOnLaunch: false,
              tags: { ...tags(tier), Tier: tier, ...extraTags },
            },
            { parent: this },
          ),
      );
    this.publicSubnets = subnets('public', { 'kubernetes.io/role/elb': '1' });
    this.privateSubnets = subnets('private', { 'kubernetes.io/role/internal-elb': '1' });
    this.isolatedSubnets = subnets('isolated', {});

    this.publicRouteTable = new aws.ec2.RouteTable(
      `${name}-public-rt`,
      { vpcId: this.vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }], tags: tags('public') },
      { parent: this },
    );
    this.publicSubnets.forEach((subnet, i) => {
      new aws.ec2.RouteTableAssociation(
        `${name}-public-rta-${i}`,
        { subnetId: subnet.id, routeTableId: this.publicRouteTable.id },
        { parent: this },
      );
    });

    const natCount = natMode === 'perAz' ? azCount : 1;
    this.natGateways = [...Array(natCount).keys()].map((i) => {
      const eip = new aws.ec2.Eip(
        `${name}-nat-eip-${i}`,
        { domain: 'vpc', tags: tags('nat') },
        { parent: this },
      );
      return new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        { allocationId: eip.id, subnetId: this.publicSubnets[i]!.id, tags: tags('nat') },
        { parent: this, dependsOn: [igw] },
      );
    });

    this.privateRouteTables = this.privateSubnets.map((subnet, i) => {
      const nat = this.natGateways[natMode === 'perAz' ? i : 0]!;
      const table = new aws.ec2.RouteTable(
        `${name}-private-rt-${i}`,
        {
          vpcId: this.vpc.id,
          routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
          tags: tags('private'),
        },
        { parent: this },
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-rta-${i}`,
        { subnetId: subnet.id, routeTableId: table.id },
        { parent: this },
      );
      return table;
    });

    this.isolatedRouteTables = this.isolatedSubnets.map((subnet, i) => {
      const table = new aws.ec2.RouteTable(
        `${name}-isolated-rt-${i}`,
        { vpcId: this.vpc.id, routes: [], tags: tags('isolated') },
        { parent: this },
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-isolated-rta-${i}`,
        { subnetId: subnet.id, routeTableId: table.id },
        { parent: this },
      );
      return table;
    });

    const region = aws.getRegionOutput({}, { parent: this });
    const gatewayEndpoint = (service: 's3' | 'dynamodb') =>
      new aws.ec2.VpcEndpoint(
        `${name}-${service}-endpoint`,
        {
          vpcId: this.vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region.region}.${service}`,
          vpcEndpointType: 'Gateway',
          routeTableIds: [...this.privateRouteTables, ...this.isolatedRouteTables].map((t) => t.id),
          tags: tags(`${service}-endpoint`),
        },
        { parent: this },
      );
    this.s3Endpoint = gatewayEndpoint('s3');
    this.dynamodbEndpoint = gatewayEndpoint('dynamodb');

    this.vpcId = this.vpc.id;
    this.vpcCidrBlock = this.vpc.cidrBlock;
    this.publicSubnetIds = pulumi.all(this.publicSubnets.map((s) => s.id));
    this.privateSubnetIds = pulumi.all(this.privateSubnets.map((s) => s.id));
    this.isolatedSubnetIds = pulumi.all(this.isolatedSubnets.map((s) => s.id));

    this.registerOutputs({
      vpcId: this.vpcId,
      vpcCidrBlock: this.vpcCidrBlock,
      availabilityZones: this.availabilityZones,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      isolatedSubnetIds: this.isolatedSubnetIds,
    });
  }
}
