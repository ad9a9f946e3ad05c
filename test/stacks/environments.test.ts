import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { CONFIG_KEYS } from '../../stacks/config.ts';
import { installMocks } from './support/mocks.ts';
import { type ProgramRun, programRun, stackConfig } from './support/program.ts';

installMocks();

/**
 * Why a resource may exist in one environment and not the other: the configuration key whose
 * values differ, and the resources that key adds or removes.
 */
const EXPLAINED_BY: [key: string, resources: RegExp][] = [
  // A secondary region: its whole regional tier, the global database, replicas, the
  // accelerator, per-region DNS failover records and certificates.
  [
    'crossbook:secondaryRegion',
    /-secondary|us-west-2|replica|replication|^accounts-db-global$|^edge-accelerator|^edge-api(-.+)?$|^aws-secondary$/,
  ],
  // Alarms mailed to someone.
  ['crossbook:alarmEmail', /-alarm-email$/],
  // One NAT gateway (and its address) instead of one per AZ.
  ['crossbook:natGateways', /^network-nat(-eip)?-[12]$/],
  // Fewer database instances.
  ['crossbook:database', /^accounts-db-instance-[1-9]$/],
];

function inventory(run: ProgramRun): Set<string> {
  return new Set(run.resources.map((r) => `${r.type}::${r.name}`));
}

function sourcesOf(dir: URL): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(new URL(f, dir), 'utf8'));
}

describe('staging and production', () => {
  let prod: ProgramRun;
  let staging: ProgramRun;

  before(async () => {
    prod = await programRun('prod');
    staging = await programRun('staging');
  });

  it('must differ only through configuration: every resource in one and not the other is explained by a key whose values differ', () => {
    const prodConfig = stackConfig('prod');
    const stagingConfig = stackConfig('staging');
    const differs = (key: string) => prodConfig[key] !== stagingConfig[key];
    const a = inventory(prod);
    const b = inventory(staging);
    const unexplained = [...[...a].filter((r) => !b.has(r)), ...[...b].filter((r) => !a.has(r))].filter(
      (entry) => {
        const name = entry.split('::').pop() ?? '';
        return !EXPLAINED_BY.some(([key, pattern]) => differs(key) && pattern.test(name));
      },
    );
    assert.deepEqual(unexplained, []);
  });

  it('must build the same kinds of resources in the primary region', () => {
    const primaryTypes = (run: ProgramRun) =>
      new Set(run.resources.filter((r) => !/-secondary|us-west-2|replica/.test(r.name)).map((r) => r.type));
    const onlyProd = [...primaryTypes(prod)].filter((t) => !primaryTypes(staging).has(t));
    // The global database and the accelerator exist because prod has a second region; the
    // e-mail subscription because prod names an alarm address.
    assert.deepEqual(onlyProd.sort(), [
      'aws:globalaccelerator/accelerator:Accelerator',
      'aws:globalaccelerator/endpointGroup:EndpointGroup',
      'aws:globalaccelerator/listener:Listener',
      'aws:rds/globalCluster:GlobalCluster',
      'aws:sns/topicSubscription:TopicSubscription',
    ]);
    assert.deepEqual(
      [...primaryTypes(staging)].filter((t) => !primaryTypes(prod).has(t)),
      [],
    );
  });

  it('must never branch on the stack name', () => {
    const sources = [
      readFileSync(new URL('../../index.ts', import.meta.url), 'utf8'),
      ...sourcesOf(new URL('../../stacks/', import.meta.url)),
    ];
    const stackNames =
      /(===|!==|==|!=)\s*['"`](prod|production|staging|dev)['"`]|case\s+['"`](prod|production|staging|dev)['"`]/;
    for (const source of sources) {
      assert.doesNotMatch(source, stackNames);
    }
    const program = sources[0] ?? '';
    // The stack name is read once, as the default environment name.
    assert.equal([...program.matchAll(/getStack\(\)/g)].length, 1);
    assert.match(program, /readConfig\(new pulumi\.Config\('crossbook'\), pulumi\.getStack\(\)\)/);
  });

  it('must configure both stacks with documented keys only', () => {
    const known = new Set([...CONFIG_KEYS.map((k) => `crossbook:${k}`), 'aws:region', 'aws:defaultTags']);
    for (const stack of ['prod', 'staging']) {
      const unknown = Object.keys(stackConfig(stack)).filter((key) => !known.has(key));
      assert.deepEqual(unknown, [], `Pulumi.${stack}.yaml`);
    }
  });

  it('must document every configuration key with its default in docs/DEPLOY.md', () => {
    const deploy = readFileSync(new URL('../../docs/DEPLOY.md', import.meta.url), 'utf8');
    const undocumented = CONFIG_KEYS.filter((key) => !deploy.includes(`| \`${key}\``));
    assert.deepEqual(undocumented, []);
  });

  it('must give production the three AZs, sizes, domain, certificate and secondary region the design calls for', () => {
    const config = stackConfig('prod');
    assert.equal(config['crossbook:availabilityZones'], '3');
    assert.equal(config['crossbook:secondaryRegion'], 'us-west-2');
    assert.ok(config['crossbook:domain']);
    assert.ok(config['crossbook:certificate']);
    assert.ok(config['crossbook:generalNodes'] && config['crossbook:coreNodes']);
  });
});
