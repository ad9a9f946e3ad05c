import assert from 'node:assert/strict';
import { formatCidr, parseCidr, subnet, subnetPlan } from '../../stacks/cidr.ts';

describe('subnet plan', () => {
  it('must carve disjoint public, private and isolated subnets per AZ', () => {
    assert.deepEqual(subnetPlan('10.0.0.0/16', 3), {
      private: ['10.0.0.0/19', '10.0.32.0/19', '10.0.64.0/19'],
      public: ['10.0.128.0/22', '10.0.132.0/22', '10.0.136.0/22'],
      isolated: ['10.0.144.0/22', '10.0.148.0/22', '10.0.152.0/22'],
    });
  });

  it('must fit four AZs without overlap', () => {
    const plan = subnetPlan('10.20.0.0/16', 4);
    const all = [...plan.private, ...plan.public, ...plan.isolated].map(parseCidr);
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        const aEnd = a.base + 2 ** (32 - a.prefix);
        const bEnd = b.base + 2 ** (32 - b.prefix);
        assert.ok(aEnd <= b.base || bEnd <= a.base, `${formatCidr(a)} overlaps ${formatCidr(b)}`);
      }
    }
  });

  it('must refuse malformed blocks, host bits and impossible plans', () => {
    assert.throws(() => parseCidr('10.0.0.0'), /not an IPv4 CIDR/);
    assert.throws(() => parseCidr('10.0.0.1/16'), /host bits/);
    assert.throws(() => parseCidr('300.0.0.0/16'), /not an IPv4 CIDR/);
    assert.throws(() => subnet(parseCidr('10.0.0.0/16'), 17, 2), /out of range/);
    assert.throws(() => subnetPlan('10.0.0.0/16', 5), /1 to 4/);
    assert.throws(() => subnetPlan('10.0.0.0/24', 3), /too small/);
  });
});
