/**
 * The process's clock in microseconds since the epoch: the wall clock (`Date.now()`, which
 * NTP keeps true) with the sub-millisecond resolution of the monotonic clock.
 *
 * `performance.timeOrigin + performance.now()` alone is not a wall clock: the monotonic clock
 * runs at its own rate and is never corrected, so it drifts from true time (on some VMs by
 * milliseconds per second), and clients that sign requests with their own NTP time would
 * soon be "ahead of the server", klines would open at the wrong minute. Here the monotonic
 * reading is re-anchored to `Date.now()` whenever it leaves the millisecond the wall clock
 * says it is in. Never goes back within a process: a wall clock stepped back holds still
 * until true time catches up (events are stamped in seq order with non-decreasing times).
 */

let offset = Date.now() * 1000 - performance.now() * 1000;
let last = 0;

/** Microseconds since the epoch (see the file comment). */
export function wallClockMicros(): number {
  const mono = performance.now() * 1000;
  const wall = Date.now() * 1000;
  let t = Math.floor(offset + mono);
  if (t < wall || t >= wall + 1000) {
    offset = wall - mono;
    t = wall;
  }
  if (t < last) return last;
  last = t;
  return t;
}
