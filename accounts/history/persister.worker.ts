/**
 * The persister thread's entry (./persister-thread.ts starts it): opens the accounts database
 * on the server, opens the `Persister` where the database says it stopped, and feeds it the
 * records that arrive, answering `flushed` and `catchUp` as the persister would in one thread.
 */
import { workerData } from 'node:worker_threads';
import { loadMarketsFile, RecordViews } from '../../engine/index.ts';
import { openDatabase } from '../db/database.ts';
import { Persister } from './persister.ts';
import type { FromPersisterThread, PersisterThreadData, ToPersisterThread } from './persister-thread.ts';

const data = workerData as PersisterThreadData;
const port = data.port;
const post = (m: FromPersisterThread): void => port.postMessage(m);

const db = await openDatabase({ url: data.url }).catch((e: Error) => {
  post({ t: 'failed', message: e.message });
  port.close();
  return null;
});
if (db !== null) {
  let persister: Persister;
  try {
    persister = await Persister.open(db.db, loadMarketsFile(data.marketsFile).markets, {
      lingerMs: data.lingerMs,
      onCommit: () =>
        post({ t: 'progress', committed: persister.lastSeq(), durable: persister.durableSeq() }),
      onError: (e) => post({ t: 'failed', message: e.message }),
    });
  } catch (e) {
    await db.close();
    post({ t: 'failed', message: (e as Error).message });
    port.close();
    process.exit(1);
  }
  const p = persister;
  post({ t: 'open', committed: p.lastSeq(), durable: p.durableSeq() });
  const answer = (rid: number, work: Promise<void>): void => {
    work.then(
      () => post({ t: 'done', rid }),
      (e: Error) => post({ t: 'done', rid, error: e.message }),
    );
  };
  port.on('message', (m: ToPersisterThread) => {
    switch (m.t) {
      case 'events':
        p.listener(new RecordViews(m.buffer, 0, m.count), 0, m.count);
        return;
      case 'flushed':
        answer(m.rid, p.flushed(m.seq));
        return;
      case 'catchUp':
        answer(m.rid, p.catchUp(m.maxWaitMs));
        return;
      case 'close':
        void (async () => {
          try {
            await p.close();
          } finally {
            await db.close().catch(() => {});
            post({ t: 'progress', committed: p.lastSeq(), durable: p.durableSeq() });
            post({ t: 'closed' });
            port.close();
          }
        })();
        return;
    }
  });
}
