/**
 * `verify`: replays the journal from scratch (or, when older segments were pruned, from the
 * oldest snapshot that covers them) with the single-threaded engine, and checks the state
 * hash at every snapshot it passes against the hash the snapshot recorded. Run it on a data
 * directory no core is writing to (the CLI copies a live one first).
 */
import path from 'node:path';
import { Markets, type MarketsFile } from '../config/markets-config.ts';
import { seqAt } from '../model/codec.ts';
import { InlineEngine } from './inline-engine.ts';
import { Journal } from './journal/journal.ts';
import { listSnapshots, readSnapshot, type Snapshot } from './snapshot.ts';

/** What verify found. */
export interface VerifyResult {
  readonly ok: boolean;
  /** Where the replay started: 0 for the very beginning, else a snapshot's seq. */
  readonly from: number;
  /** The last seq replayed and the state hash there. */
  readonly seq: number;
  readonly hash: string;
  readonly checks: readonly { readonly seq: number; readonly expected: string; readonly actual: string }[];
  readonly replayed: number;
}

export function verify(
  dataDir: string,
  file: MarketsFile,
  options: { makerPpm?: number; takerPpm?: number } = {},
): VerifyResult {
  const markets = new Markets(file);
  const engineOptions = { makerPpm: options.makerPpm ?? 1000, takerPpm: options.takerPpm ?? 1000 };
  const snapDir = path.join(dataDir, 'snapshots');
  const snapshots: Snapshot[] = listSnapshots(snapDir).map((f) => readSnapshot(path.join(snapDir, f)));
  const journal = Journal.open(path.join(dataDir, 'journal'), { fsync: false });
  try {
    const firstSeq = journal.segments()[0]?.firstSeq ?? 1;
    let engine: InlineEngine;
    let from = 0;
    if (firstSeq <= 1) {
      engine = new InlineEngine(markets, engineOptions);
    } else {
      const start = snapshots.find((s) => s.seq + 1 >= firstSeq);
      if (start === undefined)
        throw new Error(`the journal starts at seq ${firstSeq} and no snapshot covers what was pruned`);
      engine = InlineEngine.fromState(markets, engineOptions, start);
      from = start.seq;
    }
    const checks: { seq: number; expected: string; actual: string }[] = [];
    const due = new Map(snapshots.filter((s) => s.seq > from).map((s) => [s.seq, s.hash]));
    let replayed = 0;
    journal.replay(from + 1, (views, count) => {
      for (let i = 0; i < count; i++) {
        engine.out.reset();
        engine.applyRecord(views, i);
        replayed++;
        const expected = due.get(seqAt(views, i));
        if (expected !== undefined)
          checks.push({ seq: seqAt(views, i), expected, actual: engine.stateHash() });
      }
    });
    engine.risk.checkInvariants();
    return {
      ok: checks.every((c) => c.expected === c.actual),
      from,
      seq: engine.sequencer.nextSeq - 1,
      hash: engine.stateHash(),
      checks,
      replayed,
    };
  } finally {
    void journal.close();
  }
}
