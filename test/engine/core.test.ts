/**
 * The threaded core end to end: shard workers on SharedArrayBuffer rings, the journal, the
 * merge. Its released event stream must equal, byte for byte, what the single-threaded
 * engine produces replaying the core's own journal; with 1, 2 and 4 shards the events of
 * each symbol are identical; a restart recovers the same state hash; a symbol moved to
 * another shard under load loses, duplicates and reorders nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  decodeEvents,
  type EngineEvent,
  loadMarketsFile,
  OrderType,
  RecordError,
  ResultCode,
  Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { Core, CoreConfigError } from '../../engine/runtime/core.ts';
import { InlineEngine } from '../../engine/runtime/inline-engine.ts';
import { Journal } from '../../engine/runtime/journal/journal.ts';
import type { CommandInput } from '../../engine/runtime/sequencer.ts';

const { file, markets } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);
const clock = () => 1_750_000_000_000_000;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'crossbook-core-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A seeded workload over the three demo markets, funded so that risk never refuses it. */
function workload(n: number, seed = 1): CommandInput[] {
  let x = seed;
  const r = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const out: CommandInput[] = [];
  for (let u = 1; u <= 5; u++) {
    for (let a = 0; a < 3; a++)
      out.push({ kind: 'Deposit', userId: userId(u), assetId: a, amountUnits: 2 ** 51, refId: u * 10 + a });
  }
  for (let i = 0; i < n; i++) {
    const sym = r(3);
    const m = markets.byId(sym)!;
    const mid = sym === 2 ? 5_000 : 5_000_000;
    const roll = r(20);
    const user = userId(1 + r(5));
    if (roll < 3) {
      out.push({
        kind: 'CancelOrder',
        symbolId: symbolId(sym),
        userId: user,
        orderId: (1 + r(i + 1)) as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
    } else if (roll === 3) {
      out.push({
        kind: 'AmendOrder',
        symbolId: symbolId(sym),
        userId: user,
        orderId: (1 + r(i + 1)) as never,
        clientOrderId: '',
        priceTicks: 0,
        qtyLots: m.minQtyLots * (1 + r(50)),
        newClientOrderId: '',
      });
    } else {
      const market = roll === 4;
      out.push({
        kind: 'PlaceOrder',
        symbolId: symbolId(sym),
        userId: user,
        side: r(2) as Side,
        orderType: market ? OrderType.MARKET : OrderType.LIMIT,
        timeInForce: market ? TimeInForce.NONE : r(4) === 0 ? TimeInForce.IOC : TimeInForce.GTC,
        stpMode: StpMode.DEFAULT,
        priceTicks: market ? 0 : mid + r(40) - 20,
        qtyLots: m.minQtyLots * (100 + r(200)),
        quoteQtyUnits: 0,
        clientOrderId: r(3) === 0 ? `c${i}` : '',
      });
    }
  }
  return out;
}

async function sendAll(
  core: Core,
  inputs: readonly CommandInput[],
  between?: (i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < inputs.length; i++) {
    for (;;) {
      try {
        core.send(inputs[i]!);
        break;
      } catch (e) {
        if ((e as Error).name !== 'CoreBusyError') throw e;
        await core.whenReady();
      }
    }
    if (between !== undefined) await between(i);
  }
  await core.quiesce();
}

/** Records the released stream, raw bytes and decoded. */
function capture(core: Core): { bytes: Buffer[]; events: () => EngineEvent[] } {
  const bytes: Buffer[] = [];
  const decoded: EngineEvent[] = [];
  core.onEvents((v, from, count) => {
    bytes.push(Buffer.from(v.u8.subarray(from * 192, (from + count) * 192)));
    decoded.push(...decodeEvents(v, count, from));
  });
  return { bytes, events: () => decoded };
}

/** Replays a data directory's journal through the single-threaded engine. */
function replayJournal(dir: string): { engine: InlineEngine; bytes: Buffer } {
  const journal = Journal.open(path.join(dir, 'journal'), { fsync: false });
  const engine = new InlineEngine(markets);
  const chunks: Buffer[] = [];
  journal.replay(1, (views, count) => {
    for (let i = 0; i < count; i++) {
      engine.out.reset();
      engine.applyRecord(views, i);
      chunks.push(Buffer.from(engine.out.views.u8.subarray(0, engine.out.count * 192)));
    }
  });
  void journal.close();
  return { engine, bytes: Buffer.concat(chunks) };
}

const bySymbol = (events: EngineEvent[]) => {
  const m = new Map<number, string[]>();
  for (const e of events) {
    if (!('symbolId' in e)) continue;
    const { seq: _s, ...rest } = e as EngineEvent & { seq: number };
    const list = m.get(e.symbolId) ?? [];
    list.push(JSON.stringify(rest));
    m.set(e.symbolId, list);
  }
  return m;
};

describe('core', function () {
  this.timeout(120_000);

  it('releases exactly the events a single-threaded replay of its journal produces, and recovers the same state', async () => {
    const dir = tempDir();
    const core = await Core.start({ dataDir: dir, marketsFile: file, clock, fsync: false });
    const seen = capture(core);
    await sendAll(core, workload(6_000));
    const hash = await core.stateHash();
    await core.close();
    const { engine, bytes } = replayJournal(dir);
    assert.ok(
      Buffer.concat(seen.bytes).equals(bytes),
      'the released stream equals the replay, byte for byte',
    );
    assert.equal(engine.stateHash(), hash);
    const twice = replayJournal(dir);
    assert.ok(twice.bytes.equals(bytes), 'a second replay gives byte-identical events');
    assert.equal(twice.engine.stateHash(), hash);
    assert.ok(
      seen.events().some((e) => e.kind === 'TradeSettled'),
      'the workload trades',
    );
    const again = await Core.start({ dataDir: dir, marketsFile: file, clock, fsync: false });
    assert.equal(await again.stateHash(), hash, 'a restart recovers the same state');
    await again.close();
  });

  it('produces the same events for each symbol with 1, 2 and 4 shards', async () => {
    const inputs = workload(4_000, 7);
    const runs: Map<number, string[]>[] = [];
    const maps: Record<string, number>[] = [
      { '*': 0 },
      { BTCUSDT: 0, '*': 1 },
      { BTCUSDT: 0, ETHUSDT: 1, ETHBTC: 3, '*': 2 },
    ];
    for (const map of maps) {
      const core = await Core.start({
        dataDir: tempDir(),
        marketsFile: file,
        clock,
        fsync: false,
        shardMap: map,
      });
      const seen = capture(core);
      await sendAll(core, inputs);
      runs.push(bySymbol(seen.events()));
      await core.close();
    }
    assert.equal(runs[0]!.size, 3);
    for (const run of runs.slice(1)) {
      for (const [symbol, events] of runs[0]!) assert.deepEqual(run.get(symbol), events, `symbol ${symbol}`);
    }
  });

  it('moves a symbol to another shard under load without losing, duplicating or reordering anything', async () => {
    const dir = tempDir();
    const core = await Core.start({
      dataDir: dir,
      marketsFile: file,
      clock,
      fsync: false,
      shardMap: { BTCUSDT: 0, '*': 1 },
    });
    const seen = capture(core);
    const moves: Promise<void>[] = [];
    await sendAll(core, workload(6_000, 3), async (i) => {
      if (i === 1_500) moves.push(core.moveSymbol('ETHUSDT', 0));
      if (i === 3_000) moves.push(core.moveSymbol('BTCUSDT', 1));
      if (i === 4_500) moves.push(core.moveSymbol('ETHUSDT', 1));
    });
    await Promise.all(moves);
    assert.deepEqual(core.shardMap(), { BTCUSDT: 1, ETHUSDT: 1, ETHBTC: 1 });
    const hash = await core.stateHash();
    await core.close();
    const { engine, bytes } = replayJournal(dir);
    assert.ok(
      Buffer.concat(seen.bytes).equals(bytes),
      'the released stream equals the replay, byte for byte',
    );
    assert.equal(engine.stateHash(), hash);
  });

  it('snapshots without stopping, prunes what the snapshot covers, and recovers from snapshot plus journal tail', async () => {
    const dir = tempDir();
    const logs: string[] = [];
    const core = await Core.start({
      dataDir: dir,
      marketsFile: file,
      clock,
      fsync: false,
      log: (m) => logs.push(m),
    });
    const inputs = workload(5_000, 11);
    await sendAll(core, inputs.slice(0, 3_000));
    const snap = await core.snapshot();
    assert.equal(snap.seq, core.lastSeq);
    await sendAll(core, inputs.slice(3_000));
    const hash = await core.stateHash();
    await core.close();
    const again = await Core.start({
      dataDir: dir,
      marketsFile: file,
      clock,
      fsync: false,
      log: (m) => logs.push(m),
    });
    assert.equal(await again.stateHash(), hash);
    assert.ok(
      logs.some((l) => l.includes(`snapshot at seq ${snap.seq} loaded`)),
      logs.join('\n'),
    );
    await again.close();
  });

  it('regenerates for a durable consumer every event after the seq it had written, across snapshots', async () => {
    const dir = tempDir();
    let written = 0;
    const consumer = (afterSeq: number, into: Buffer[]) => ({
      name: 'persister',
      afterSeq,
      progress: () => written,
      listener: (v: import('../../engine/index.ts').RecordViews, from: number, count: number) => {
        into.push(Buffer.from(v.u8.subarray(from * 192, (from + count) * 192)));
      },
    });
    const live: Buffer[] = [];
    const core = await Core.start({
      dataDir: dir,
      marketsFile: file,
      clock,
      fsync: false,
      consumers: [consumer(0, live)],
    });
    const inputs = workload(4_000, 21);
    await sendAll(core, inputs.slice(0, 1_500));
    // The consumer has written everything up to here, and then stops keeping up.
    written = core.lastSeq;
    const cut = written;
    const snap0 = await core.snapshot();
    await sendAll(core, inputs.slice(1_500, 2_500));
    await core.snapshot();
    await sendAll(core, inputs.slice(2_500));
    await core.snapshot();
    const last = core.lastSeq;
    await core.close();
    const all = Buffer.concat(live);
    const seqs = new Float64Array(all.buffer, all.byteOffset, all.length / 8);
    let firstAfterCut = -1;
    for (let i = 0; i < all.length / 192; i++)
      if (firstAfterCut < 0 && seqs[i * 24 + 2]! > cut) firstAfterCut = i;
    const expected = all.subarray(firstAfterCut * 192);

    const resumed: Buffer[] = [];
    const logs: string[] = [];
    const again = await Core.start({
      dataDir: dir,
      marketsFile: file,
      clock,
      fsync: false,
      consumers: [consumer(cut, resumed)],
      log: (m) => logs.push(m),
    });
    assert.ok(
      logs.some((l) => l.includes(`snapshot at seq ${snap0.seq} loaded`)),
      logs.join('\n'),
    );
    assert.equal(again.lastSeq, last);
    assert.ok(
      Buffer.concat(resumed).equals(expected),
      'the regenerated events equal the original ones, byte for byte',
    );
    await again.close();

    // A consumer that has written more than the journal holds belongs to another data directory.
    await assert.rejects(
      Core.start({
        dataDir: dir,
        marketsFile: file,
        clock,
        fsync: false,
        consumers: [consumer(last + 5, [])],
      }),
      (e: Error) => e instanceof CoreConfigError && /journal ends at/.test(e.message),
    );
  });

  it('refuses what it cannot run, with clear errors', async () => {
    await assert.rejects(
      Core.start({ dataDir: tempDir(), marketsFile: file, shardMap: { DOGEUSDT: 0 } }),
      CoreConfigError,
    );
    await assert.rejects(
      Core.start({ dataDir: tempDir(), marketsFile: file, shardMap: { '*': 99 } }),
      /0\.\.63/,
    );
    const notADir = path.join(tempDir(), 'file');
    writeFileSync(notADir, 'x');
    await assert.rejects(
      Core.start({ dataDir: path.join(notADir, 'data'), marketsFile: file }),
      /file|directory|ENOTDIR|EEXIST/,
    );
    const core = await Core.start({ dataDir: tempDir(), marketsFile: file, clock, fsync: false });
    const place = (over: object): CommandInput =>
      ({
        kind: 'PlaceOrder',
        symbolId: symbolId(0),
        userId: userId(1),
        side: Side.BUY,
        orderType: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC,
        stpMode: StpMode.DEFAULT,
        priceTicks: 5_000_000,
        qtyLots: 1000,
        quoteQtyUnits: 0,
        clientOrderId: '',
        ...over,
      }) as CommandInput;
    assert.throws(() => core.send(place({ clientOrderId: 'x'.repeat(37) })), RecordError);
    const unknown = await core.submit(place({ symbolId: symbolId(42) }));
    assert.equal((unknown[0] as { code: number }).code, ResultCode.UNKNOWN_SYMBOL);
    const broke = await core.submit(place({}));
    assert.equal((broke[0] as { code: number }).code, ResultCode.INSUFFICIENT_BALANCE);
    await assert.rejects(core.moveSymbol('NOPE', 0), CoreConfigError);
    await assert.rejects(core.moveSymbol('BTCUSDT', 7), /does not exist/);
    await core.close();
  });
});
