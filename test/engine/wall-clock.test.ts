/**
 * The process clock follows the wall clock (Date.now) even when the monotonic clock runs at
 * another rate, keeps sub-millisecond resolution, and never goes back.
 */
import assert from 'node:assert/strict';
import { wallClockMicros } from '../../engine/index.ts';

describe('wall clock', () => {
  const realNow = performance.now.bind(performance);
  afterEach(() => {
    performance.now = realNow;
  });

  it('stays within the millisecond Date.now() says, with a monotonic clock 2% fast', async () => {
    const start = realNow();
    performance.now = () => start + (realNow() - start) * 1.02;
    const deadline = Date.now() + 300;
    let calls = 0;
    while (Date.now() < deadline) {
      const before = Date.now() * 1000;
      const t = wallClockMicros();
      const after = Date.now() * 1000;
      assert.ok(t >= before - 1000 && t < after + 1000, `${t} is within [${before}, ${after + 1000})`);
      if (++calls % 1000 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(calls > 1000);
  });

  it('never goes back, and resolves below the millisecond', () => {
    let last = 0;
    const seen = new Set<number>();
    const ms = new Set<number>();
    for (let i = 0; i < 200_000; i++) {
      const t = wallClockMicros();
      assert.ok(t >= last, 'non-decreasing');
      last = t;
      seen.add(t);
      ms.add(Math.floor(t / 1000));
    }
    assert.ok(seen.size > ms.size, 'more distinct microseconds than milliseconds');
  });
});
