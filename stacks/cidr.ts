/**
 * IPv4 CIDR arithmetic for the subnet plan. Pure and deterministic so that the same VPC CIDR
 * always yields the same subnets (a changed subnet CIDR replaces the subnet and everything in it).
 */

/** A parsed IPv4 CIDR block. */
export interface Cidr {
  /** The network address as an unsigned 32-bit integer. */
  readonly base: number;
  /** The prefix length, 0..32. */
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`, requiring the address to be the block's network address. */
export function parseCidr(text: string): Cidr {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (match === null) {
    throw new Error(`${text} is not an IPv4 CIDR block`);
  }
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) {
    throw new Error(`${text} is not an IPv4 CIDR block`);
  }
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (base % blockSize(prefix) !== 0) {
    throw new Error(`${text} has host bits set`);
  }
  return { base, prefix };
}

/** Formats a block as `a.b.c.d/n`. */
export function formatCidr(cidr: Cidr): string {
  const { base } = cidr;
  const octets = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255];
  return `${octets.join('.')}/${cidr.prefix}`;
}

/** The `index`-th block of length `newPrefix` inside `parent`. */
export function subnet(parent: Cidr, newPrefix: number, index: number): Cidr {
  if (newPrefix < parent.prefix || newPrefix > 32) {
    throw new Error(`cannot carve a /${newPrefix} out of a /${parent.prefix}`);
  }
  const count = 2 ** (newPrefix - parent.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(
      `a /${parent.prefix} holds ${count} /${newPrefix} blocks; index ${index} is out of range`,
    );
  }
  return { base: parent.base + index * blockSize(newPrefix), prefix: newPrefix };
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** The subnet tiers of the plan. */
export type SubnetTier = 'public' | 'private' | 'isolated';

/**
 * The subnet plan for a VPC of at most four AZs: the first half of the VPC is split into four
 * private blocks (one eighth of the VPC each, where the pods live: the VPC CNI gives every pod
 * a VPC address); the next eighth is split into eight small blocks, four public (load
 * balancers, NAT) and four isolated (databases, no route out).
 */
export function subnetPlan(vpcCidr: string, azCount: number): Record<SubnetTier, string[]> {
  if (!Number.isInteger(azCount) || azCount < 1 || azCount > 4) {
    throw new Error(`the subnet plan supports 1 to 4 availability zones, not ${azCount}`);
  }
  const vpc = parseCidr(vpcCidr);
  if (vpc.prefix > 20) {
    throw new Error(`the VPC ${vpcCidr} is too small: use a /20 or larger`);
  }
  const small = subnet(vpc, vpc.prefix + 3, 4);
  const azs = [...Array(azCount).keys()];
  return {
    private: azs.map((i) => formatCidr(subnet(vpc, vpc.prefix + 3, i))),
    public: azs.map((i) => formatCidr(subnet(small, small.prefix + 3, i))),
    isolated: azs.map((i) => formatCidr(subnet(small, small.prefix + 3, 4 + i))),
  };
}
