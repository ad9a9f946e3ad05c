/**
 * The shard map (config/markets.json `shardMap`: symbol -> shard index, `"*"` the default) as
 * the infrastructure sees it. Pure functions: the Pulumi program reads the file and passes the
 * parsed map in; components never read files themselves.
 *
 * A shard is one matching worker thread inside the core process ("one worker per core of a
 * large instance", docs ARCHITECTURE §3). A core group is one core StatefulSet (a primary and
 * its standbys) hosting a set of shards; today every shard lives in one core group, and
 * `coreShardSets` splits them across several groups once the application partitions markets
 * across cores.
 */

/** Symbol -> shard index, with `"*"` naming the shard of every symbol not listed. */
export type ShardMap = Readonly<Record<string, number>>;

/** The key of the default entry in a shard map. */
export const DEFAULT_SHARD_KEY = '*';

/** One core StatefulSet: its index and the shards (worker threads) it hosts. */
export interface CoreGroup {
  /** Dense index from 0; the StatefulSet is named `core-<index>`. */
  readonly index: number;
  /** The shard indices this group hosts, ascending. */
  readonly shards: readonly number[];
}

/** Throws unless every value is a non-negative integer shard index and the map is not empty. */
export function validateShardMap(shardMap: ShardMap): void {
  const entries = Object.entries(shardMap);
  if (entries.length === 0) {
    throw new Error('the shard map is empty: map at least "*" to a shard');
  }
  for (const [symbol, shard] of entries) {
    if (!Number.isInteger(shard) || shard < 0) {
      throw new Error(`shard map entry ${symbol} -> ${String(shard)} is not a non-negative integer`);
    }
  }
}

/** The distinct shard indices of a shard map, ascending. */
export function distinctShards(shardMap: ShardMap): number[] {
  validateShardMap(shardMap);
  return [...new Set(Object.values(shardMap))].sort((a, b) => a - b);
}

/**
 * The symbols each shard owns: the explicitly mapped ones plus, for the default shard, every
 * listed market the map does not name. Throws when a market has no shard (no entry, no `"*"`).
 */
export function symbolsByShard(shardMap: ShardMap, symbols: readonly string[]): Map<number, string[]> {
  validateShardMap(shardMap);
  const owned = new Map<number, string[]>(distinctShards(shardMap).map((shard) => [shard, []]));
  for (const symbol of symbols) {
    const shard = shardMap[symbol] ?? shardMap[DEFAULT_SHARD_KEY];
    if (shard === undefined) {
      throw new Error(`market ${symbol} has no shard: add it or "*" to the shard map`);
    }
    owned.get(shard)?.push(symbol);
  }
  return owned;
}

/**
 * The core groups for a shard map. Without `shardSets`, one group hosts every shard. With
 * them, each set becomes a group; every shard of the map must appear in exactly one set.
 */
export function coreGroups(shardMap: ShardMap, shardSets?: readonly (readonly number[])[]): CoreGroup[] {
  const shards = distinctShards(shardMap);
  if (shardSets === undefined || shardSets.length === 0) {
    return [{ index: 0, shards }];
  }
  const seen = new Set<number>();
  const groups = shardSets.map((set, index) => {
    if (set.length === 0) {
      throw new Error(`core shard set ${index} is empty`);
    }
    for (const shard of set) {
      if (!shards.includes(shard)) {
        throw new Error(`core shard set ${index} names shard ${shard}, which the shard map does not use`);
      }
      if (seen.has(shard)) {
        throw new Error(`shard ${shard} appears in more than one core shard set`);
      }
      seen.add(shard);
    }
    return { index, shards: [...set].sort((a, b) => a - b) };
  });
  const missing = shards.filter((shard) => !seen.has(shard));
  if (missing.length > 0) {
    throw new Error(`shards ${missing.join(', ')} are in no core shard set`);
  }
  return groups;
}

/** What the infrastructure needs from config/markets.json. */
export interface MarketsFile {
  /** The listed symbols. */
  readonly symbols: readonly string[];
  /** The shard map. */
  readonly shardMap: ShardMap;
}

/**
 * Parses config/markets.json (`markets[].symbol`, `shardMap`) and checks that every listed
 * market has a shard. Throws on anything else.
 */
export function parseMarketsFile(text: string): MarketsFile {
  const parsed = JSON.parse(text) as { markets?: { symbol?: unknown }[]; shardMap?: unknown };
  const symbols = (parsed.markets ?? []).map((m, i) => {
    if (typeof m.symbol !== 'string') {
      throw new Error(`markets[${i}] has no symbol`);
    }
    return m.symbol;
  });
  const shardMap = parsed.shardMap;
  if (typeof shardMap !== 'object' || shardMap === null || Array.isArray(shardMap)) {
    throw new Error('the markets file has no shardMap object');
  }
  symbolsByShard(shardMap as ShardMap, symbols);
  return { symbols, shardMap: shardMap as ShardMap };
}
