/**
 * Password hashes with scrypt (node:crypto), in PHC string form:
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (salt and hash base64 without padding). The string
 * carries its own cost parameters, so raising the cost later leaves old hashes verifiable
 * (and `needsRehash` says which to upgrade at the next login).
 *
 * These functions block their thread for the whole hash: they run inside the worker pool
 * (password-hash.worker.ts), never on the main thread.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** scrypt's cost: N = 2^log2N (CPU and memory), r (block size), p (parallelism). */
export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** The production default: N = 2^15, r = 8, p = 1 (32 MiB, ~50-100 ms per hash on one core). */
export const DEFAULT_SCRYPT_COST: ScryptCost = { log2N: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on parameters read back from a stored string: a corrupted row must not ask for gigabytes. */
const MAX_LOG2N = 20;
const MAX_R = 32;
const MAX_P = 16;

/** A parsed PHC scrypt string. */
export interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Throws a RangeError unless `cost` is within the bounds this module accepts. */
export function checkCost(cost: ScryptCost): void {
  const ok =
    Number.isInteger(cost.log2N) &&
    cost.log2N >= 1 &&
    cost.log2N <= MAX_LOG2N &&
    Number.isInteger(cost.r) &&
    cost.r >= 1 &&
    cost.r <= MAX_R &&
    Number.isInteger(cost.p) &&
    cost.p >= 1 &&
    cost.p <= MAX_P;
  if (!ok) throw new RangeError(`scrypt cost must have log2N 1..${MAX_LOG2N}, r 1..${MAX_R}, p 1..${MAX_P}`);
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

/** Parses a PHC scrypt string; undefined when it is not one (or its parameters are out of bounds). */
export function parseHash(encoded: string): ParsedHash | undefined {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    encoded,
  );
  if (m === null) return undefined;
  const cost = { log2N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkCost(cost);
  } catch {
    return undefined;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { cost, salt, hash };
}

/** Unicode NFC, so the same password typed on another system (composed or not) matches. */
const passwordBytes = (password: string): Buffer => Buffer.from(password.normalize('NFC'), 'utf8');

function derive(password: string, salt: Buffer, cost: ScryptCost, length: number): Buffer {
  const N = 2 ** cost.log2N;
  // scrypt needs 128*N*r bytes (plus 128*r*p); Node's default cap (32 MiB) is just below the
  // default cost's need.
  const maxmem = 128 * N * cost.r * 2 + 128 * cost.r * cost.p + (1 << 20);
  return scryptSync(passwordBytes(password), salt, length, { N, r: cost.r, p: cost.p, maxmem });
}

/** Hashes with a fresh random salt at `cost`. Blocks the calling thread. */
export function hashPasswordSync(password: string, cost: ScryptCost): string {
  checkCost(cost);
  const salt = randomBytes(SALT_BYTES);
  const hash = derive(password, salt, cost, HASH_BYTES);
  return `$scrypt$ln=${cost.log2N},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

/**
 * True when `password` matches `encoded`, compared in constant time. A malformed `encoded`
 * is false (after hashing anyway at the default cost, so it takes as long as a real check).
 */
export function verifyPasswordSync(password: string, encoded: string): boolean {
  const parsed = parseHash(encoded);
  if (parsed === undefined) {
    derive(password, Buffer.alloc(SALT_BYTES), DEFAULT_SCRYPT_COST, HASH_BYTES);
    return false;
  }
  const candidate = derive(password, parsed.salt, parsed.cost, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}
