/**
 * The crash test's child: runs the persister over the deterministic session stream into a
 * database, resuming after the last seq the database says is written, until the whole stream
 * is written. The parent SIGKILLs it at random moments and starts it again.
 *
 *   node --import tsx test/accounts/persister-child.ts <pglite data dir | postgres://...> <commands> <seed> <maxBatch>
 *
 * Prints one line per step: `start <lastSeq>`, `committed <seq>` after each batch (`committed <seq>
 * durable` when its commit flushed the WAL), `done <seq>`.
 */
import { openDatabase } from '../../accounts/db/database.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { seqAt } from '../../engine/index.ts';
import { demoMarkets, runSession, sessionCommands } from './persister-stream.ts';

const [target, commandsArg, seedArg, batchArg] = process.argv.slice(2);
if (target === undefined || commandsArg === undefined || seedArg === undefined || batchArg === undefined) {
  process.stderr.write('usage: persister-child.ts <dataDir|url> <commands> <seed> <maxBatch>\n');
  process.exit(2);
}
const adb = await openDatabase(target.startsWith('postgres') ? { url: target } : { dataDir: target });
const persister = await Persister.open(adb.db, demoMarkets(), {
  maxBatch: Number(batchArg),
  // Durable commits every few batches (the stream arrives at once, so few would be otherwise).
  durableEveryMs: 25,
  onCommit: (b) => process.stdout.write(`committed ${b.lastSeq}${b.durable ? ' durable' : ''}\n`),
});
const from = persister.lastSeq() + 1;
process.stdout.write(`start ${from - 1}\n`);

// The engine runs the whole session (its state must be rebuilt from the start), but only the
// events after the last written seq are handed over, as the core does for a durable consumer.
// It runs at once; the persister then writes what it queued, batch by batch.
let engineSeq = 0;
runSession(sessionCommands(Number(commandsArg), Number(seedArg)), (v, at, count) => {
  engineSeq = seqAt(v, at);
  if (engineSeq >= from) persister.listener(v, at, count);
});
await persister.flushed(engineSeq);
await persister.close();
process.stdout.write(`done ${persister.lastSeq()}\n`);
await adb.close();
