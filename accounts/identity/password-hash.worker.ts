/**
 * The password pool's worker entry (piscina loads it by file name; under tsx its loader is
 * inherited by the pool's threads). One task at a time per thread: scrypt blocks this
 * thread, never the main one, which keeps serving requests while logins are checked.
 */
import { hashPasswordSync, type ScryptCost, verifyPasswordSync } from './scrypt-hash.ts';

/** A request to the pool: plain data, as it crosses threads by structured clone. */
export type PasswordTask =
  | { readonly op: 'hash'; readonly password: string; readonly cost: ScryptCost }
  | { readonly op: 'verify'; readonly password: string; readonly encoded: string };

/** Runs one task: the encoded hash for 'hash', the match for 'verify'. */
export default function run(task: PasswordTask): string | boolean {
  switch (task.op) {
    case 'hash':
      return hashPasswordSync(task.password, task.cost);
    case 'verify':
      return verifyPasswordSync(task.password, task.encoded);
    default: {
      const never: never = task;
      throw new TypeError(`unknown password task ${JSON.stringify((never as { op: unknown }).op)}`);
    }
  }
}
