/**
 * `npm run core -- <command>`: the core's operator commands until the admin CLI exists.
 *
 *   shards list                  where each symbol runs (a running core; else the markets file)
 *   shards move SYMBOL SHARD     move a symbol to another shard while the core runs
 *   state hash                   the running core's state hash at its last seq
 *   state verify                 replay the journal from scratch and check every snapshot's hash
 *                                (on a running core: snapshot first, then verify a copy)
 *   snapshot                     take a snapshot now
 *
 * CROSSBOOK_DATA_DIR (default ./data) and CROSSBOOK_MARKETS (default config/markets.json).
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMarketsFile } from './config/markets-config.ts';
import { request } from './runtime/control-socket.ts';
import { resolveShardMap } from './runtime/core.ts';
import { verify } from './runtime/verify.ts';

const dataDir = process.env.CROSSBOOK_DATA_DIR ?? 'data';
const marketsPath =
  process.env.CROSSBOOK_MARKETS_FILE ?? process.env.CROSSBOOK_MARKETS ?? 'config/markets.json';
const [group, action, ...rest] = process.argv.slice(2);

function print(value: unknown): void {
  console.log(JSON.stringify(value));
}

async function running(): Promise<boolean> {
  if (!existsSync(path.join(dataDir, 'core.sock'))) return false;
  try {
    await request(dataDir, { cmd: 'shards.list' }, 2_000);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const key = `${group ?? ''} ${action ?? ''}`.trim();
  switch (key) {
    case 'shards list': {
      if (await running()) {
        print(await request(dataDir, { cmd: 'shards.list' }));
        return 0;
      }
      const { markets, file } = loadMarketsFile(marketsPath);
      const route = resolveShardMap(markets, file.shardMap);
      print({
        ok: true,
        running: false,
        shardMap: Object.fromEntries(markets.list.map((m) => [m.symbol, route[m.symbolId]])),
      });
      return 0;
    }
    case 'shards move': {
      const [symbol, shard] = rest;
      if (symbol === undefined || shard === undefined || !/^\d+$/.test(shard)) {
        console.error('usage: npm run core -- shards move SYMBOL SHARD');
        return 2;
      }
      const reply = await request(dataDir, { cmd: 'shards.move', symbol, shard: Number(shard) });
      print(reply);
      return reply.ok === true ? 0 : 1;
    }
    case 'state hash': {
      const reply = await request(dataDir, { cmd: 'state.hash' });
      print(reply);
      return reply.ok === true ? 0 : 1;
    }
    case 'snapshot': {
      const reply = await request(dataDir, { cmd: 'snapshot' });
      print(reply);
      return reply.ok === true ? 0 : 1;
    }
    case 'state verify': {
      const { file } = loadMarketsFile(marketsPath);
      let dir = dataDir;
      let copy: string | null = null;
      if (await running()) {
        // A running core keeps writing: snapshot it, then verify a copy up to that point.
        const snap = await request(dataDir, { cmd: 'snapshot' });
        if (snap.ok !== true) {
          print(snap);
          return 1;
        }
        copy = mkdtempSync(path.join(tmpdir(), 'crossbook-verify-'));
        cpSync(path.join(dataDir, 'journal'), path.join(copy, 'journal'), { recursive: true });
        cpSync(path.join(dataDir, 'snapshots'), path.join(copy, 'snapshots'), { recursive: true });
        dir = copy;
      }
      try {
        const result = verify(dir, file);
        print(result);
        return result.ok ? 0 : 1;
      } finally {
        if (copy !== null) rmSync(copy, { recursive: true, force: true });
      }
    }
    default:
      console.error(
        'usage: npm run core -- shards list | shards move SYMBOL SHARD | state hash | state verify | snapshot',
      );
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
