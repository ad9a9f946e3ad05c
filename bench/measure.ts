/**
 * Measurement helpers: GC pauses from perf_hooks, memory, timer calibration, percentiles.
 */
import fs from 'node:fs';
import path from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

interface GcPause {
  readonly start: number;
  readonly duration: number;
  readonly major: boolean;
}

/** GC pauses in a time window. */
export interface GcStats {
  count: number;
  /** Mark-compact (full) collections among them; the rest are scavenges and incremental steps. */
  major: number;
  maxMs: number;
  totalMs: number;
}

/** Records every GC pause the process reports (perf_hooks 'gc' entries). */
export class GcMonitor {
  private readonly pauses: GcPause[] = [];
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries() as PerformanceEntry[]) {
        const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
        this.pauses.push({
          start: e.startTime,
          duration: e.duration,
          major: kind === constants.NODE_PERFORMANCE_GC_MAJOR,
        });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Pauses that started within [from, to] (performance.now() time). Call after `settle()`. */
  within(from: number, to: number): GcStats {
    let count = 0;
    let major = 0;
    let maxMs = 0;
    let totalMs = 0;
    for (const p of this.pauses) {
      if (p.start < from || p.start > to) continue;
      count++;
      if (p.major) major++;
      totalMs += p.duration;
      if (p.duration > maxMs) maxMs = p.duration;
    }
    return { count, major, maxMs, totalMs };
  }

  /** Lets the observer's queued entries arrive (they are delivered asynchronously). */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setImmediate(r));
  }

  stop(): void {
    this.observer.disconnect();
  }
}

const gcFn = (globalThis as { gc?: () => void }).gc;

/** A full collection (needs node --expose-gc). */
export function fullGc(): void {
  if (gcFn === undefined) throw new Error('run with node --expose-gc (npm run bench:engine does)');
  gcFn();
  gcFn();
}

/** JS heap used plus ArrayBuffer memory (typed arrays live outside the JS heap), in bytes. */
export function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** What an empty timed loop measures: the clock read's own cost, and the machine's noise floor. */
export interface TimerCost {
  readonly medianNs: number;
  readonly p99Ns: number;
  readonly p999Ns: number;
  readonly maxNs: number;
}

/**
 * The cost of one clock read in the timed loops, in ns: the median interval of a loop that
 * has the same shape as the adapters' timed loops (typed-array load, performance.now(), store)
 * with no operation in it. Taken as the minimum median over a few runs.
 */
export function calibrateTimer(n: number, lat: Float64Array, kind: Uint8Array): TimerCost {
  let best: TimerCost = { medianNs: Number.POSITIVE_INFINITY, p99Ns: 0, p999Ns: 0, maxNs: 0 };
  for (let run = 0; run < 5; run++) {
    let sink = 0;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) {
      sink += kind[i]!;
      const t1 = performance.now();
      lat[i] = t1 - t0;
      t0 = t1;
    }
    if (sink < 0) throw new Error('unreachable');
    const sorted = lat.slice(0, n).sort();
    const medianNs = sorted[n >> 1]! * 1e6;
    if (medianNs < best.medianNs) {
      best = {
        medianNs,
        p99Ns: sorted[Math.floor(n * 0.99)]! * 1e6,
        p999Ns: sorted[Math.floor(n * 0.999)]! * 1e6,
        maxNs: sorted[n - 1]! * 1e6,
      };
    }
  }
  return best;
}

export interface Latency {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Per-operation latency in ns: each interval minus the calibrated timer cost, into an HdrHistogram. */
export function latencyOf(lat: Float64Array, n: number, timerNs: number): Latency {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (let i = 0; i < n; i++) {
    const ns = lat[i]! * 1e6 - timerNs;
    h.recordValue(ns > 0 ? Math.round(ns) : 0);
  }
  const r: Latency = {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: h.mean,
  };
  h.destroy();
  return r;
}

/** The disk's fdatasync latency in µs, as `fdatasyncLatency` measures it. */
export interface FsyncLatency {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * Appends of `bytes` to a probe file in `dir`, each followed by an fdatasync that is timed:
 * `samples` of them, or as many as fit in `seconds`. The probe file is removed.
 */
export function fdatasyncLatency(
  dir: string,
  bytes: number,
  until: { readonly samples: number } | { readonly seconds: number },
): FsyncLatency {
  const buf = Buffer.alloc(bytes, 0x5a);
  const file = path.join(dir, 'fdatasync-probe');
  const fd = fs.openSync(file, 'w');
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const end = 'seconds' in until ? performance.now() + until.seconds * 1000 : Number.POSITIVE_INFINITY;
  const most = 'samples' in until ? until.samples : Number.POSITIVE_INFINITY;
  let samples = 0;
  try {
    while (samples < most && performance.now() < end) {
      fs.writeSync(fd, buf);
      const t = performance.now();
      fs.fdatasyncSync(fd);
      h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
      samples++;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const r = {
    samples,
    p50: h.getValueAtPercentile(50),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
  h.destroy();
  return r;
}
