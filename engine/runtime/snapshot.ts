/**
 * Snapshot files: the engine's whole state at one seq (ledger, books, counters), as gzipped
 * JSON with its state hash. Serialising happens once, compressing runs in libuv's thread pool
 * (zlib's async API), and the file is written to a temporary name, fsynced and renamed, so a
 * crash never leaves a half-written snapshot under a real name. Loading checks the hash and
 * falls back to the previous snapshot when the newest is damaged.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { BookState } from '../book/order-book.ts';
import type { RiskState } from './risk.ts';
import { hashState } from './state-hash.ts';

const gzipAsync = promisify(gzip);

/** A snapshot's content. */
export interface Snapshot {
  readonly seq: number;
  readonly nextOrderId: number;
  readonly risk: RiskState;
  readonly books: readonly BookState[];
  /** hashState(risk, books), checked on load. */
  readonly hash: string;
}

/** How many snapshots are kept (the newest and the one before, in case it is damaged). */
const KEEP = 2;

const fileName = (seq: number): string => `${String(seq).padStart(20, '0')}.snap`;

/**
 * Writes a snapshot durably; returns its path. Older snapshots go, except the newest two and
 * the newest at or before `keepAtOrBefore` (the seq a lagging durable consumer needs to be
 * able to resume from).
 */
export async function writeSnapshot(
  dir: string,
  snapshot: Snapshot,
  keepAtOrBefore: number = Number.MAX_SAFE_INTEGER,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const body = await gzipAsync(Buffer.from(JSON.stringify(snapshot)));
  const file = path.join(dir, fileName(snapshot.seq));
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  const all = listSnapshots(dir);
  const anchor = all.filter((f) => seqOfSnapshot(f) <= keepAtOrBefore).at(-1);
  for (const old of all.slice(0, Math.max(0, all.length - KEEP)))
    if (old !== anchor) rmSync(path.join(dir, old), { force: true });
  return file;
}

/** The seq a snapshot file name stands for. */
export function seqOfSnapshot(name: string): number {
  return Number(name.slice(0, 20));
}

/** Snapshot file names in `dir`, oldest first. */
export function listSnapshots(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /^\d{20}\.snap$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** Reads and checks one snapshot file; throws naming the file when it is damaged. */
export function readSnapshot(file: string): Snapshot {
  let s: Snapshot;
  try {
    s = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Snapshot;
  } catch (e) {
    throw new Error(`snapshot ${file} is unreadable: ${(e as Error).message}`);
  }
  const hash = hashState(s.risk, s.books);
  if (hash !== s.hash)
    throw new Error(`snapshot ${file} is damaged: its state hashes to ${hash}, it says ${s.hash}`);
  return s;
}

/**
 * The newest snapshot (at or before `atOrBefore`, when given) that reads back intact, or
 * null. Damaged ones are reported and skipped.
 */
export function loadNewestSnapshot(
  dir: string,
  log: (message: string) => void,
  atOrBefore: number = Number.MAX_SAFE_INTEGER,
): Snapshot | null {
  for (const f of listSnapshots(dir).reverse()) {
    if (seqOfSnapshot(f) > atOrBefore) continue;
    try {
      return readSnapshot(path.join(dir, f));
    } catch (e) {
      log((e as Error).message);
    }
  }
  return null;
}
