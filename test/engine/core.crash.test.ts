/**
 * Crash-only: the core runs as a child process under load and is killed with SIGKILL at
 * random moments, many times, restarting on the same data directory each time. Every
 * acknowledged command must be there after recovery, with exactly the events that were
 * released for it; nothing else may appear half-applied; and the recovered state hash must
 * equal a fresh replay of the journal from scratch.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMarketsFile, RECORD_BYTES, seqAt } from '../../engine/index.ts';
import { Core } from '../../engine/runtime/core.ts';
import { InlineEngine } from '../../engine/runtime/inline-engine.ts';
import { Journal } from '../../engine/runtime/journal/journal.ts';
import { verify } from '../../engine/runtime/verify.ts';

const { file, markets } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);
const child = new URL('./crash-child.ts', import.meta.url).pathname;

interface Run {
  start: number;
  acked: number;
  digest: string;
}

function runUntilKilled(dataDir: string, seed: number, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p: ChildProcess = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { start: -1, acked: -1, digest: '' };
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    p.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const [tag, a, b] = buffered.slice(0, nl).split(' ');
        buffered = buffered.slice(nl + 1);
        if (tag === 'S') {
          run.start = Number(a);
          run.acked = Number(a);
          timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
        } else if (tag === 'A') {
          run.acked = Number(a);
          run.digest = b!;
        }
        nl = buffered.indexOf('\n');
      }
    });
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && run.start >= 0) resolve(run);
      else reject(new Error(`child ended with ${code ?? signal} before it was killed: ${stderr}`));
    });
  });
}

/** Replays the journal from scratch; returns the engine and the event bytes of each seq. */
function replay(dataDir: string): {
  engine: InlineEngine;
  lastSeq: number;
  eventsOf: (seq: number) => Buffer;
} {
  const journal = Journal.open(path.join(dataDir, 'journal'), { fsync: false });
  const engine = new InlineEngine(markets);
  const bySeq: Buffer[] = [];
  let lastSeq = 0;
  journal.replay(1, (views, count) => {
    for (let i = 0; i < count; i++) {
      engine.out.reset();
      engine.applyRecord(views, i);
      lastSeq = seqAt(views, i);
      bySeq[lastSeq] = Buffer.from(engine.out.views.u8.subarray(0, engine.out.count * RECORD_BYTES));
    }
  });
  void journal.close();
  return { engine, lastSeq, eventsOf: (seq) => bySeq[seq]! };
}

describe('core crash recovery', function () {
  this.timeout(180_000);

  it('keeps every acknowledged command, and only whole commands, across repeated SIGKILLs', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-crash-'));
    try {
      const runs: Run[] = [];
      let seed = 0x5eed;
      for (let k = 0; k < 6; k++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const killAfter = 300 + (seed % 1200);
        runs.push(await runUntilKilled(dataDir, seed, killAfter));
      }
      const { engine, lastSeq, eventsOf } = replay(dataDir);
      for (const [k, run] of runs.entries()) {
        const next = runs[k + 1];
        // Each restart recovered at least everything acknowledged before the kill...
        if (next !== undefined)
          assert.ok(
            next.start >= run.acked,
            `run ${k}: acked ${run.acked}, the restart began at ${next.start}`,
          );
        assert.ok(lastSeq >= run.acked, `run ${k}: acked ${run.acked} but the journal ends at ${lastSeq}`);
        // ...and exactly the events it released for it.
        if (run.acked > run.start) {
          const h = createHash('sha256');
          for (let s = run.start + 1; s <= run.acked; s++) h.update(eventsOf(s));
          assert.equal(h.digest('hex'), run.digest, `run ${k}: released events differ from the replay`);
        }
      }
      assert.ok(
        runs.some((r) => r.acked > r.start + 100),
        'the child made progress before being killed',
      );
      const core = await Core.start({ dataDir, marketsFile: file, fsync: false });
      assert.equal(await core.stateHash(), engine.stateHash(), 'recovered state equals a fresh replay');
      await core.close();
      const v = verify(dataDir, file);
      assert.ok(v.ok, JSON.stringify(v.checks));
      engine.risk.checkInvariants();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
