/**
 * What the harness needs from each engine in the race. Every adapter has its own loops
 * (rather than one shared loop calling `adapter.run(i)`), so that V8 sees one engine per call
 * site and no engine's timing pays for another's polymorphism.
 */
import type { BookDepth } from './reference-book.ts';
import type { Workload } from './workload.ts';

export interface EngineAdapter {
  readonly name: string;
  /** Builds the engine's own command or argument objects for every operation (untimed). */
  prepare(w: Workload): void;
  /** Drops what `prepare` built (and the books), so that only one engine's objects are on the heap. */
  release(): void;
  /** Drops the books (so that the next `reset` starts from nothing). */
  dispose(): void;
  /** Fresh, empty books: one per symbol. */
  reset(): void;
  /** Executes operations [from, to). */
  runRange(from: number, to: number): void;
  /**
   * Executes operations [from, to), reading the clock once between operations:
   * `lat[i - from]` is the time (ms) from the end of operation i-1 to the end of operation i.
   */
  runTimed(from: number, to: number, lat: Float64Array): void;
  /**
   * Executes operations [from, to) and stores each one's filled lots in `fills[i]`.
   * Throws BenchFailure when the engine refuses an operation the workload knows is valid.
   */
  runVerify(from: number, to: number, fills: Float64Array): void;
  /** Resting liquidity over all books now. */
  depth(): BookDepth;
}

/** A disagreement or refusal: the benchmark stops with a non-zero exit and this message. */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}
