import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../platform/config.ts';

describe('platform settings', () => {
  it('runs every role on embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    assert.deepEqual([...c.roles], ['gateway', 'core', 'persister']);
    assert.equal(c.dataDir, path.resolve('data'));
    assert.equal(c.port, 8080);
    assert.equal(c.linkPort, 9100);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.fsync, true);
  });

  it('takes roles from --roles over CROSSBOOK_ROLES', () => {
    const c = loadConfig({ CROSSBOOK_ROLES: 'gateway', CROSSBOOK_CORE_ADDRESSES: 'core-0:9100' }, [
      '--roles',
      'core,persister',
    ]);
    assert.deepEqual([...c.roles], ['core', 'persister']);
    assert.deepEqual(
      [...loadConfig({ CROSSBOOK_CORE_ADDRESSES: 'h:1' }, ['--roles=gateway']).roles],
      ['gateway'],
    );
  });

  it('takes the rate limits, body limit, bus prefix, Kinesis stream and persister linger from the environment', () => {
    const d = loadConfig({});
    assert.equal(d.rateLimits.orders[0]!.limit, 100);
    assert.equal(d.bodyLimitBytes, 65536);
    assert.equal(d.busPrefix, 'crossbook:');
    assert.equal(d.kinesisStream, undefined);
    assert.equal(d.persisterLingerMs, 20);
    assert.equal(loadConfig({ CROSSBOOK_PERSISTER_LINGER_MS: '0' }).persisterLingerMs, 0);
    const c = loadConfig({
      CROSSBOOK_RATE_ORDERS_PER_10S: '5',
      CROSSBOOK_RATE_WEIGHT_PER_MINUTE: '1200',
      CROSSBOOK_BODY_LIMIT_BYTES: '4096',
      CROSSBOOK_BUS_PREFIX: 'staging:',
      CROSSBOOK_KINESIS_STREAM: 'md',
    });
    assert.equal(c.rateLimits.orders[0]!.limit, 5);
    assert.equal(c.rateLimits.requestWeight[0]!.limit, 1200);
    assert.equal(c.bodyLimitBytes, 4096);
    assert.equal(c.busPrefix, 'staging:');
    assert.equal(c.kinesisStream, 'md');
    assert.throws(() => loadConfig({ CROSSBOOK_RATE_ORDERS_PER_10S: 'lots' }), ConfigError);
    assert.throws(() => loadConfig({ CROSSBOOK_BUS_PREFIX: 'has space' }), /CROSSBOOK_BUS_PREFIX/);
  });

  it('refuses what it cannot use, naming the setting', () => {
    const bad: [NodeJS.ProcessEnv, string[], RegExp][] = [
      [{}, ['--roles', 'matcher'], /unknown role "matcher"/],
      [{}, ['--roles', 'gateway'], /CROSSBOOK_CORE_ADDRESSES must say/],
      [{ CROSSBOOK_CORE_ADDRESSES: 'nowhere' }, ['--roles', 'gateway'], /must be host:port/],
      [{ PORT: '80a' }, [], /PORT=80a/],
      [{ PORT: '70000' }, [], /PORT=70000/],
      [{ CROSSBOOK_FSYNC: 'maybe' }, [], /CROSSBOOK_FSYNC=maybe: must be true or false/],
      [{ CROSSBOOK_PERSISTER_LINGER_MS: '-5' }, [], /CROSSBOOK_PERSISTER_LINGER_MS=-5/],
      [{}, ['--verbose'], /unknown argument --verbose/],
      [{}, ['--roles'], /needs a value/],
    ];
    for (const [env, argv, message] of bad)
      assert.throws(
        () => loadConfig(env, argv),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
  });
});
