/**
 * The journal's group-commit writer, a worker thread. It waits on the command ring (spin,
 * then park), takes everything published up to the group limit, encodes it, writes it with
 * one write and one fdatasync, publishes "durable through seq D" in the control block (and
 * wakes the waiters), and only then releases the ring slots. It stops when asked, once the
 * ring is drained, with a final sync. Any error is written to the control block and posted,
 * and the writer ends: nothing after it is acknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from '../ring-buffer.ts';
import { JournalControl, type WriterJob, WriterState } from './control.ts';
import { describe, SegmentWriter } from './segment-files.ts';

const job = workerData as WriterJob;
const ring = new RingBuffer(job.ring);
const control = new JournalControl(job.control);
const writer = new SegmentWriter(job.dir, job.position, job.segmentBytes, job.fsync);
/** How long one park lasts before the stop flag is looked at again. */
const STOP_POLL_MILLIS = 5;

function run(): void {
  control.state = WriterState.Running;
  parentPort!.postMessage({ type: 'ready' });
  const records = ring.records;
  const capacity = ring.capacity;
  for (;;) {
    let n = ring.available();
    if (n === 0) {
      // Stop only with the ring drained: the stop flag is read before the last look at the
      // ring, and the producer publishes before it asks to stop.
      if (control.stopRequested && ring.available() === 0) break;
      n = ring.waitForData(STOP_POLL_MILLIS);
      if (n === 0) continue;
    }
    const take = Math.min(n, job.maxGroupRecords);
    const slot = ring.slot(ring.nextReadSequence);
    const head = Math.min(take, capacity - slot);
    writer.add(records, slot, head);
    if (take > head) writer.add(records, 0, take - head);
    const bytes = writer.commit();
    // Measurements and position first, so that whoever sees the new durable seq sees them too.
    control.recordGroup(take, bytes, writer.lastWriteMicros, writer.lastSyncMicros);
    control.setPosition(writer.position);
    control.publishDurable(writer.position.lastSeq);
    ring.release(take);
  }
  writer.sync();
  writer.close();
  control.setPosition(writer.position);
  control.state = WriterState.Stopped;
  control.wakeDurableWaiters();
}

try {
  run();
} catch (e) {
  const message = `journal writer failed: ${describe(e)}`;
  try {
    writer.close();
  } catch {
    // the failure above is the one to report
  }
  control.fail(message);
  parentPort!.postMessage({ type: 'failed', message });
}
