/**
 * What the core and its shard workers say to each other, besides the command and event
 * records on the rings: control record kinds (sent on the command ring, so they stay in
 * order with the commands), the worker's setup, and the messages it posts back.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BookState } from '../book/order-book.ts';
import type { MarketsFile } from '../config/markets-config.ts';

/** Control record kinds on a command ring (above every command kind). */
export const ControlKind = {
  /** Export every book (a snapshot at the record's seq). */
  Snapshot: 100,
  /** Hand the record's symbol's book over (post its state) and stop owning it. */
  ExportBook: 101,
  /** Take a book over: its state was posted on the port just before this record. */
  ImportBook: 102,
  /** Finish and exit. */
  Stop: 103,
} as const;

/** The worker's `workerData`. */
export interface ShardSetup {
  readonly shard: number;
  readonly marketsFile: MarketsFile;
  readonly commandRing: SharedArrayBuffer;
  readonly eventRing: SharedArrayBuffer;
  readonly port: MessagePort;
  /** Symbol ids this shard starts owning. */
  readonly symbols: readonly number[];
  /** Book states to start from (recovery); other owned symbols start empty. */
  readonly books: readonly BookState[];
}

/** Messages a shard posts on its port. */
export type ShardMessage =
  | { readonly type: 'snapshot'; readonly shard: number; readonly seq: number; readonly books: BookState[] }
  | {
      readonly type: 'exported';
      readonly shard: number;
      readonly symbolId: number;
      readonly seq: number;
      readonly state: BookState | null;
    }
  | { readonly type: 'imported'; readonly shard: number; readonly symbolId: number; readonly seq: number }
  | { readonly type: 'stopped'; readonly shard: number };
