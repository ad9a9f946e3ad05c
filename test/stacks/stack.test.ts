import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARDS_ANNOTATION } from '../../stacks/contracts.ts';
import { installMocks, type Registered } from './support/mocks.ts';
import { evaluate, mandatoryViolations, subjectsOf } from './support/policy-harness.ts';
import { type ProgramRun, programRun } from './support/program.ts';

installMocks();

const byName = (run: ProgramRun, type: string, name: string): Registered => {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  assert.ok(found, `${type} ${name}`);
  return found;
};

describe('the stacks', () => {
  let prod: ProgramRun;
  let staging: ProgramRun;

  before(async () => {
    prod = await programRun('prod');
    staging = await programRun('staging');
  });

  it('production must pass every rule of the policy pack', async () => {
    assert.deepEqual(await evaluate(subjectsOf(prod.resources)), []);
  });

  it('staging must pass every mandatory rule (it may drop deletion protection)', async () => {
    assert.deepEqual(await mandatoryViolations(subjectsOf(staging.resources)), []);
    const advisories = (await evaluate(subjectsOf(staging.resources))).map((v) => v.policy);
    assert.deepEqual(advisories, ['database-deletion-protection']);
  });

  it('must size the core from the shard map in the markets file', async () => {
    const markets = JSON.parse(readFileSync(new URL('../../config/markets.json', import.meta.url), 'utf8'));
    markets.shardMap = { BTCUSDT: 0, ETHUSDT: 1, ETHBTC: 2, '*': 2 };
    const file = join(mkdtempSync(join(tmpdir(), 'crossbook-')), 'markets.json');
    writeFileSync(file, JSON.stringify(markets));
    const resized = await programRun('staging', { 'crossbook:marketsFile': file });
    const core = byName(resized, 'kubernetes:apps/v1:StatefulSet', 'workloads-core-0');
    const metadata = core.inputs.metadata as { annotations: Record<string, string> };
    assert.equal(metadata.annotations[SHARDS_ANNOTATION], '0,1,2');
    const spec = core.inputs.spec as {
      template: { spec: { containers: { resources: { limits: { cpu: string } } }[] } };
    };
    // Staging: one CPU per shard plus one of overhead.
    assert.equal(spec.template.spec.containers[0]?.resources.limits.cpu, '4');
    assert.equal(resized.outputs.shards, 3);
    assert.deepEqual(await mandatoryViolations(subjectsOf(resized.resources)), []);
  });

  it('must fail over to the secondary region through configuration alone', async () => {
    const failedOver = await programRun('prod', { 'crossbook:activeRegion': 'secondary' });
    const replicas = (run: ProgramRun, name: string) =>
      (byName(run, 'kubernetes:apps/v1:StatefulSet', name).inputs.spec as { replicas: number }).replicas;
    assert.equal(replicas(prod, 'workloads-core-0'), 2);
    assert.equal(replicas(prod, 'workloads-secondary-core-0'), 0);
    assert.equal(replicas(failedOver, 'workloads-core-0'), 0);
    assert.equal(replicas(failedOver, 'workloads-secondary-core-0'), 2);
    const dial = (run: ProgramRun, region: string) =>
      byName(run, 'aws:globalaccelerator/endpointGroup:EndpointGroup', `edge-accelerator-${region}`).inputs
        .trafficDialPercentage;
    assert.deepEqual([dial(failedOver, 'us-east-1'), dial(failedOver, 'us-west-2')], [0, 100]);
    const origins = byName(failedOver, 'aws:cloudfront/distribution:Distribution', 'edge-cdn').inputs
      .origins as {
      originId: string;
      domainName: string;
    }[];
    assert.equal(
      origins.find((o) => o.originId === 'stream')?.domainName,
      'origin-us-west-2.crossbook.example.com',
    );
    assert.equal(failedOver.outputs.activeRegion, 'us-west-2');
  });

  it('must keep the same journal volumes and data stores across a failover', async () => {
    const failedOver = await programRun('prod', { 'crossbook:activeRegion': 'secondary' });
    const stateful = (run: ProgramRun) =>
      run.resources
        .filter((r) => /rds|dynamodb|elasticache|s3\/bucket:|kinesis\/stream:/.test(r.type))
        .map((r) => `${r.type}::${r.name}`)
        .sort();
    assert.deepEqual(stateful(failedOver), stateful(prod));
  });
});
