/**
 * Worker side of the ring stress test: produces or consumes `count` records through a ring,
 * writing (or checking) a sequence number and a checksum in every record.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RECORD_BYTES } from '../../engine/model/codec.ts';
import { RingBuffer } from '../../engine/runtime/ring-buffer.ts';

interface Job {
  role: 'producer' | 'consumer';
  buffer: SharedArrayBuffer;
  count: number;
  /** Consumer: pause ~1 ms every `slowEvery` records (0 = never), to fill the ring. */
  slowEvery: number;
  maxBatch: number;
}

const job = workerData as Job;
const ring = new RingBuffer(job.buffer);
const F = RECORD_BYTES / 8;
const pause = new Int32Array(new SharedArrayBuffer(4));
const mix = (i: number): number => Math.imul(i ^ (i >>> 15), 0x2c1b3c6d) >>> 0;

if (job.role === 'producer') {
  const f64 = ring.records.f64;
  let i = 0;
  let batch = 1;
  let fullWaits = 0;
  while (i < job.count) {
    const want = Math.min(batch, job.count - i);
    let got = ring.claim(want);
    if (got === 0) {
      fullWaits++;
      ring.waitForSpace(1);
      got = ring.claim(want);
    }
    const first = ring.nextWriteSequence;
    for (let k = 0; k < got; k++) {
      const at = ring.slot(first + k) * F;
      f64[at + 2] = i;
      f64[at + 3] = mix(i);
      i++;
    }
    ring.publish(got);
    batch = (batch % job.maxBatch) + 1;
  }
  parentPort!.postMessage({ produced: i, fullWaits });
} else {
  const f64 = ring.records.f64;
  let expected = 0;
  let sum = 0;
  let errors = 0;
  while (expected < job.count) {
    const n = ring.waitForData();
    const first = ring.nextReadSequence;
    for (let k = 0; k < n; k++) {
      const at = ring.slot(first + k) * F;
      const v = f64[at + 2]!;
      if (v !== expected || f64[at + 3] !== mix(expected)) errors++;
      sum = (sum + mix(expected)) % 4294967296;
      expected++;
      if (job.slowEvery > 0 && expected % job.slowEvery === 0) Atomics.wait(pause, 0, 0, 1);
    }
    ring.release(n);
  }
  parentPort!.postMessage({ consumed: expected, errors, sum });
}
