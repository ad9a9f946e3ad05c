/**
 * The persister on a thread of its own (accounts/history/persister-thread.ts), on the PostgreSQL
 * server of DATABASE_URL (`.ci/run` sets it; the platform uses the thread only there): the same
 * rows as the persister in this thread, exactly once across restarts with an overlapping stream,
 * only durable progress reported to the core, and crash-only on a broken stream.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { openDatabase } from '../../accounts/db/database.ts';
import { Persister } from '../../accounts/history/persister.ts';
import { PersisterThread } from '../../accounts/history/persister-thread.ts';
import { RECORD_BYTES, RecordViews, userId } from '../../engine/index.ts';
import { resetServer, serverUrlOrSkip, truncateAll } from './dialects.ts';
import { dumpHistory } from './persister-dump.ts';
import { demoMarkets, runSession, sessionCommands } from './persister-stream.ts';

const MARKETS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/markets.json');
const markets = demoMarkets();

describe('persister on a thread of its own', function () {
  this.timeout(120_000);
  const url = serverUrlOrSkip();
  if (url === undefined) return;
  let adb: AccountsDb;
  before(async () => {
    await resetServer(url);
    adb = await openDatabase({ url });
  });
  after(() => adb?.close());
  beforeEach(() => truncateAll(adb));

  it('writes the rows the persister writes in this thread, and reports them committed', async () => {
    const commands = sessionCommands(1_500, 23);
    const here = await Persister.open(adb.db, markets);
    const engine = runSession(commands, here.listener);
    const last = engine.sequencer.nextSeq - 1;
    await here.flushed(last);
    await here.close();
    const reference = await dumpHistory(adb.db);
    assert.ok(reference.orders.length > 100, 'the session wrote orders');

    await truncateAll(adb);
    const errors: Error[] = [];
    const thread = await PersisterThread.open(url, MARKETS_FILE, { onError: (e) => errors.push(e) });
    assert.equal(thread.lastSeq(), 0);
    const consumer = thread.durableConsumer();
    assert.equal(consumer.afterSeq, 0);
    runSession(commands, consumer.listener);
    await thread.flushed(last);
    assert.equal(thread.lastSeq(), last);
    await thread.catchUp(1_000);
    await thread.close();
    // The last batch before idle is durable: the core may prune up to it, and no further.
    assert.equal(consumer.progress(), last);
    assert.deepEqual(await dumpHistory(adb.db), reference);
    // The thread's end after close is expected: no error is reported, nothing waits any more.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(errors, []);
    assert.equal(thread.failure, null);
  });

  it('hands the records over in batches when it lingers, and all of them arrive without a request', async () => {
    const commands = sessionCommands(300, 29);
    const thread = await PersisterThread.open(url, MARKETS_FILE, { lingerMs: 20 });
    runSession(commands, thread.listener);
    // No flushed() or catchUp() (each would send what waits at once): the hand-off timer does it.
    const deadline = Date.now() + 10_000;
    while (thread.lastSeq() < commands.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(thread.lastSeq(), commands.length);
    await thread.close();
  });

  it('resumes where the database says it stopped, writing nothing twice from an overlapping stream', async () => {
    const commands = sessionCommands(900, 7);
    const once = await Persister.open(adb.db, markets);
    runSession(commands, once.listener);
    await once.flushed(commands.length);
    await once.close();
    const reference = await dumpHistory(adb.db);

    await truncateAll(adb);
    for (const stopAt of [250, 600, commands.length]) {
      const p = await PersisterThread.open(url, MARKETS_FILE);
      const resumedFrom = p.durableConsumer().afterSeq;
      assert.ok(resumedFrom < stopAt);
      // Replayed from seq 1, as the core regenerates everything after its newest snapshot.
      runSession(commands.slice(0, stopAt), p.listener);
      await p.flushed(stopAt);
      await p.close();
      assert.equal(p.lastSeq(), stopAt);
    }
    assert.deepEqual(await dumpHistory(adb.db), reference);
  });

  it('stops at a gap in the stream: onError once, and waiting reads are rejected', async () => {
    const errors: Error[] = [];
    const p = await PersisterThread.open(url, MARKETS_FILE, { onError: (e) => errors.push(e) });
    const captured: Uint8Array[] = [];
    runSession(
      [1, 2, 3, 4, 5].map((i) => ({
        kind: 'Deposit' as const,
        userId: userId(1),
        assetId: 0,
        amountUnits: 10,
        refId: i,
      })),
      (v, from, count) => captured.push(v.u8.slice(from * RECORD_BYTES, (from + count) * RECORD_BYTES)),
    );
    const feed = (k: number) => {
      const bytes = captured[k]!;
      p.listener(new RecordViews(bytes.buffer), 0, bytes.length / RECORD_BYTES);
    };
    feed(0);
    feed(1);
    await p.flushed(2);
    const waiting = p.flushed(5);
    feed(3);
    await assert.rejects(waiting, /from seq 2 to 4/);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /from seq 2 to 4/);
    assert.equal(p.failure, errors[0]);
    await assert.rejects(p.flushed(5), /from seq 2 to 4/);
    assert.equal(p.lastSeq(), 2);
    await p.close();
  });

  it('refuses to open on a database it cannot reach', async () => {
    const bad = new URL(url);
    bad.pathname = '/crossbook_no_such_database';
    await assert.rejects(PersisterThread.open(bad.toString(), MARKETS_FILE), /could not open/);
  });
});
