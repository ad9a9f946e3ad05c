import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { coreGroups, distinctShards, parseMarketsFile, symbolsByShard } from '../../stacks/shard-map.ts';

describe('shard map', () => {
  const shipped = parseMarketsFile(
    readFileSync(new URL('../../config/markets.json', import.meta.url), 'utf8'),
  );

  it('must give every listed market a shard in config/markets.json', () => {
    const owned = symbolsByShard(shipped.shardMap, shipped.symbols);
    assert.deepEqual([...owned.values()].flat().sort(), [...shipped.symbols].sort());
  });

  it('must count the distinct shards, the default included', () => {
    assert.deepEqual(distinctShards({ BTCUSDT: 0, ETHUSDT: 1, '*': 1 }), [0, 1]);
    assert.deepEqual(distinctShards({ BTCUSDT: 0, ETHUSDT: 1, '*': 2 }), [0, 1, 2]);
  });

  it('must send unmapped markets to the default shard', () => {
    const owned = symbolsByShard({ BTCUSDT: 0, '*': 1 }, ['BTCUSDT', 'ETHUSDT', 'ETHBTC']);
    assert.deepEqual(owned.get(0), ['BTCUSDT']);
    assert.deepEqual(owned.get(1), ['ETHUSDT', 'ETHBTC']);
  });

  it('must refuse a market without a shard', () => {
    assert.throws(() => symbolsByShard({ BTCUSDT: 0 }, ['BTCUSDT', 'ETHUSDT']), /ETHUSDT has no shard/);
  });

  it('must refuse shard indices that are not non-negative integers', () => {
    assert.throws(() => distinctShards({ BTCUSDT: -1 }), /non-negative integer/);
    assert.throws(() => distinctShards({ BTCUSDT: 0.5 }), /non-negative integer/);
    assert.throws(() => distinctShards({}), /empty/);
  });

  it('must put every shard in one core group by default', () => {
    assert.deepEqual(coreGroups({ A: 0, B: 1, '*': 2 }), [{ index: 0, shards: [0, 1, 2] }]);
  });

  it('must split shards across core groups exactly once each', () => {
    assert.deepEqual(coreGroups({ A: 0, B: 1, '*': 2 }, [[2, 0], [1]]), [
      { index: 0, shards: [0, 2] },
      { index: 1, shards: [1] },
    ]);
    assert.throws(() => coreGroups({ A: 0, B: 1 }, [[0], [0, 1]]), /more than one/);
    assert.throws(() => coreGroups({ A: 0, B: 1 }, [[0]]), /in no core shard set/);
    assert.throws(() => coreGroups({ A: 0, B: 1 }, [[0, 1, 7]]), /does not use/);
    assert.throws(() => coreGroups({ A: 0 }, [[]]), /empty/);
  });

  it('must reject a markets file without a shard map', () => {
    assert.throws(() => parseMarketsFile('{"markets":[{"symbol":"BTCUSDT"}]}'), /no shardMap/);
  });
});
