import assert from 'node:assert/strict';
import { BACKUP_TAG } from '../../stacks/contracts.ts';
import type * as TradesModule from '../../stacks/trades.ts';
import { installMocks, resolved, settle } from './support/mocks.ts';

installMocks();

describe('trades', () => {
  let regional: TradesModule.Trades;
  let global: TradesModule.Trades;

  before(async () => {
    const { Trades } = await import('../../stacks/trades.ts');
    regional = new Trades('trd-a', { environment: 'test' });
    global = new Trades('trd-b', { environment: 'test2', secondaryRegion: 'us-west-2' });
    await settle();
  });

  it('must bill on demand with point-in-time recovery', async () => {
    assert.equal(await resolved(regional.table.billingMode), 'PAY_PER_REQUEST');
    assert.equal((await resolved(regional.table.pointInTimeRecovery))?.enabled, true);
  });

  it('must stream new trades to downstream consumers', async () => {
    assert.equal(await resolved(regional.table.streamEnabled), true);
    assert.equal(await resolved(regional.table.streamViewType), 'NEW_IMAGE');
  });

  it('must encrypt with its own key and refuse deletion', async () => {
    const sse = await resolved(regional.table.serverSideEncryption);
    assert.equal(sse?.enabled, true);
    assert.equal(sse?.kmsKeyArn, await resolved(regional.key.arn));
    assert.equal(await resolved(regional.table.deletionProtectionEnabled), true);
  });

  it('must be covered by the backup plan', async () => {
    assert.equal((await resolved(regional.table.tags))?.[BACKUP_TAG], 'test');
  });

  it('must replicate to the secondary region, with point-in-time recovery there too', async () => {
    assert.deepEqual(await resolved(regional.table.replicas), []);
    const replicas = await resolved(global.table.replicas);
    assert.equal(replicas?.length, 1);
    assert.equal(replicas?.[0]?.regionName, 'us-west-2');
    assert.equal(replicas?.[0]?.pointInTimeRecovery, true);
    assert.ok(global.replicaKey);
    assert.equal(await resolved(global.replicaKey.region), 'us-west-2');
  });
});
