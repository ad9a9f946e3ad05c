import assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { CONFIG_KEYS, DEFAULTS, readConfig } from '../../stacks/config.ts';

function configOf(values: Record<string, string>): pulumi.Config {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(values).map(([k, v]) => [`crossbook:${k}`, v])),
  );
  return new pulumi.Config('crossbook');
}

describe('configuration', () => {
  const required = { domain: 'example.com', image: 'crossbook:1' };

  it('must default everything but the domain and the image', () => {
    const config = readConfig(configOf(required), 'dev');
    assert.equal(config.environment, 'dev');
    assert.equal(config.availabilityZones, DEFAULTS.availabilityZones);
    assert.equal(config.natGateways, 'perAz');
    assert.equal(config.hostedZone, 'example.com');
    assert.deepEqual(config.core.journal, { ...DEFAULTS.core.journal });
    assert.equal(config.secondaryRegion, undefined);
  });

  it('must require a domain and an image', () => {
    assert.throws(() => readConfig(configOf({ image: 'x' }), 'dev'), /domain/);
    assert.throws(() => readConfig(configOf({ domain: 'x' }), 'dev'), /image/);
  });

  it('must merge partial objects over their defaults', () => {
    const config = readConfig(
      configOf({ ...required, core: JSON.stringify({ memory: '2Gi', journal: { type: 'gp3' } }) }),
      'dev',
    );
    assert.equal(config.core.memory, '2Gi');
    assert.equal(config.core.standbyReplicas, DEFAULTS.core.standbyReplicas);
    assert.equal(config.core.journal.type, 'gp3');
    assert.equal(config.core.journal.sizeGi, DEFAULTS.core.journal.sizeGi);
  });

  it('must refuse values the program cannot honour', () => {
    assert.throws(() => readConfig(configOf({ ...required, natGateways: 'none' }), 'dev'), /natGateways/);
    assert.throws(
      () => readConfig(configOf({ ...required, activeRegion: 'secondary' }), 'dev'),
      /secondaryRegion/,
    );
    assert.throws(
      () =>
        readConfig(
          configOf({ ...required, generalNodes: JSON.stringify({ min: 5, desired: 2, max: 9 }) }),
          'dev',
        ),
      /min <= desired <= max/,
    );
    assert.throws(
      () => readConfig(configOf({ ...required, core: JSON.stringify({ journal: { type: 'st1' } }) }), 'dev'),
      /journal.type/,
    );
  });

  it('must list every key it reads', () => {
    const config = readConfig(configOf(required), 'dev');
    assert.deepEqual([...CONFIG_KEYS].sort(), Object.keys(config).sort());
  });
});
