/**
 * The SPSC ring over SharedArrayBuffer: tens of millions of records between two threads
 * with a checksum, wrap-around, a full ring that makes the producer wait, a slow consumer,
 * and the non-blocking (async) waits the main thread uses.
 */
import assert from 'node:assert/strict';
import { RECORD_BYTES } from '../../engine/model/codec.ts';
import { RingBuffer, RingError } from '../../engine/runtime/ring-buffer.ts';
import { spawnWorker } from '../../engine/runtime/spawn-worker.ts';

const workerUrl = new URL('./ring-stress.worker.ts', import.meta.url);
const mix = (i: number): number => Math.imul(i ^ (i >>> 15), 0x2c1b3c6d) >>> 0;

function start(data: object): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const w = spawnWorker(workerUrl, { workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}`));
    });
  });
}

function expectedSum(count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum = (sum + mix(i)) % 4294967296;
  return sum;
}

describe('ring buffer', () => {
  it('moves 20 million records between two threads in order, each intact', async function () {
    this.timeout(120_000);
    const ring = RingBuffer.create(4096);
    const count = 20_000_000;
    const [p, c] = await Promise.all([
      start({ role: 'producer', buffer: ring.buffer, count, slowEvery: 0, maxBatch: 64 }),
      start({ role: 'consumer', buffer: ring.buffer, count, slowEvery: 0, maxBatch: 64 }),
    ]);
    assert.equal(p.produced, count);
    assert.equal(c.consumed, count);
    assert.equal(c.errors, 0);
    assert.equal(c.sum, expectedSum(count));
  });

  it('makes the producer wait on a full ring behind a slow consumer, losing nothing', async function () {
    this.timeout(60_000);
    const ring = RingBuffer.create(64);
    const count = 200_000;
    const [p, c] = await Promise.all([
      start({ role: 'producer', buffer: ring.buffer, count, slowEvery: 0, maxBatch: 16 }),
      start({ role: 'consumer', buffer: ring.buffer, count, slowEvery: 5_000, maxBatch: 16 }),
    ]);
    assert.equal(c.errors, 0);
    assert.equal(c.consumed, count);
    assert.ok(p.fullWaits! > 0, 'the producer should have found the ring full');
  });

  it('lets the main thread produce with waitForSpaceAsync into a worker consumer', async function () {
    this.timeout(60_000);
    const ring = RingBuffer.create(256);
    const count = 1_000_000;
    const consumer = start({ role: 'consumer', buffer: ring.buffer, count, slowEvery: 100_000, maxBatch: 1 });
    const f64 = ring.records.f64;
    const F = RECORD_BYTES / 8;
    let i = 0;
    while (i < count) {
      let got = ring.claim(Math.min(100, count - i));
      if (got === 0) {
        await ring.waitForSpaceAsync(1);
        got = ring.claim(Math.min(100, count - i));
      }
      const first = ring.nextWriteSequence;
      for (let k = 0; k < got; k++) {
        f64[ring.slot(first + k) * F + 2] = i;
        f64[ring.slot(first + k) * F + 3] = mix(i);
        i++;
      }
      ring.publish(got);
    }
    const c = await consumer;
    assert.equal(c.errors, 0);
    assert.equal(c.consumed, count);
  });

  it('lets the main thread consume with waitForDataAsync from a worker producer', async function () {
    this.timeout(60_000);
    const ring = RingBuffer.create(128);
    const count = 500_000;
    const producer = start({ role: 'producer', buffer: ring.buffer, count, slowEvery: 0, maxBatch: 7 });
    const f64 = ring.records.f64;
    const F = RECORD_BYTES / 8;
    let expected = 0;
    while (expected < count) {
      const n = await ring.waitForDataAsync();
      const first = ring.nextReadSequence;
      for (let k = 0; k < n; k++) {
        assert.equal(f64[ring.slot(first + k) * F + 2], expected);
        expected++;
      }
      ring.release(n);
    }
    assert.equal((await producer).produced, count);
  });

  it('wraps its cursors past 2^31 without losing track (Int32 arithmetic)', () => {
    const ring = RingBuffer.create(8);
    const header = new Int32Array(ring.buffer, 0, 64);
    // Start both cursors just below the Int32 wrap point.
    header[0] = 2 ** 31 - 3;
    header[16] = 2 ** 31 - 3;
    const producer = new RingBuffer(ring.buffer);
    const consumer = new RingBuffer(ring.buffer);
    const F = RECORD_BYTES / 8;
    for (let round = 0; round < 5; round++) {
      const got = producer.claim(8);
      assert.equal(got, 8);
      const first = producer.nextWriteSequence;
      for (let k = 0; k < got; k++) producer.records.f64[producer.slot(first + k) * F + 2] = round * 8 + k;
      producer.publish(got);
      assert.equal(producer.claim(1), 0, 'the ring is full');
      assert.equal(consumer.available(), 8);
      const start = consumer.nextReadSequence;
      for (let k = 0; k < 8; k++)
        assert.equal(consumer.records.f64[consumer.slot(start + k) * F + 2], round * 8 + k);
      consumer.release(8);
    }
  });

  it('refuses a capacity that is not a power of two, and a buffer that is not a ring', () => {
    assert.throws(() => RingBuffer.create(1000), RingError);
    assert.throws(() => RingBuffer.create(1), RingError);
    assert.throws(() => new RingBuffer(new SharedArrayBuffer(100)), RingError);
  });

  it('returns 0 from waitForData when nothing arrives before the timeout', () => {
    const ring = RingBuffer.create(4);
    assert.equal(ring.waitForData(5, { spins: 10, parkMillis: 1 }), 0);
  });
});
