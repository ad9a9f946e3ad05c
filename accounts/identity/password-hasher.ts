/**
 * The main-thread side of password hashing: a piscina pool of worker threads running scrypt
 * (password-hash.worker.ts), so that a login's 50-100 ms of hashing never blocks the event
 * loop. The pool's queue is bounded: a flood of logins is refused with 'auth.busy' instead of
 * growing memory and latency without limit.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { AccountsError } from '../errors.ts';
import type { PasswordTask } from './password-hash.worker.ts';
import { checkCost, DEFAULT_SCRYPT_COST, parseHash, type ScryptCost } from './scrypt-hash.ts';

/** Hashes and checks passwords off the main thread. */
export interface PasswordHasher {
  /** The cost new hashes are made with. */
  readonly cost: ScryptCost;
  /** A new PHC-encoded hash of `password` (random salt). */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `encoded` (constant-time compare; malformed: false). */
  verify(password: string, encoded: string): Promise<boolean>;
  /**
   * A hash of nothing anyone knows, at the current cost: a login for an unknown email checks
   * against it so that it costs the same time as a wrong password.
   */
  dummyHash(): Promise<string>;
  /** True when `encoded` was made at another cost than the current one (upgrade it on login). */
  needsRehash(encoded: string): boolean;
  /** Stops the pool's threads. */
  close(): Promise<void>;
}

/** The pool's settings. */
export interface PasswordHasherOptions {
  /** Default N = 2^15, r = 8, p = 1; tests use a low cost. */
  readonly cost?: Partial<ScryptCost>;
  /** Threads (default half the cores, 1..4). */
  readonly maxThreads?: number;
  /** Tasks waiting beyond the busy threads before 'auth.busy' (default 256). */
  readonly maxQueue?: number;
}

const WORKER = new URL('./password-hash.worker.ts', import.meta.url).href;

/** Starts a pool of password-hashing threads. */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const cost: ScryptCost = { ...DEFAULT_SCRYPT_COST, ...options.cost };
  checkCost(cost);
  const maxThreads = options.maxThreads ?? Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
  const pool = new Piscina<PasswordTask, string | boolean>({
    filename: WORKER,
    minThreads: 1,
    maxThreads,
    maxQueue: options.maxQueue ?? 256,
    idleTimeout: 60_000,
  });
  let dummy: Promise<string> | undefined;

  const run = async <R extends string | boolean>(task: PasswordTask): Promise<R> => {
    try {
      return (await pool.run(task)) as R;
    } catch (e) {
      if (e instanceof Error && /queue is at limit/i.test(e.message))
        throw new AccountsError('auth.busy', 'too many sign-ins at once; try again in a moment');
      throw e;
    }
  };

  return {
    cost,
    hash: (password) => run<string>({ op: 'hash', password, cost }),
    verify: (password, encoded) => run<boolean>({ op: 'verify', password, encoded }),
    dummyHash() {
      dummy ??= run<string>({ op: 'hash', password: 'dummy password nobody uses', cost }).catch((e) => {
        dummy = undefined;
        throw e;
      });
      return dummy;
    },
    needsRehash(encoded) {
      const parsed = parseHash(encoded);
      return (
        parsed === undefined ||
        parsed.cost.log2N !== cost.log2N ||
        parsed.cost.r !== cost.r ||
        parsed.cost.p !== cost.p
      );
    },
    close: () => pool.destroy(),
  };
}
