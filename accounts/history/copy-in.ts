/**
 * `COPY table (columns) FROM STDIN` for the persister's appends, through the Kysely connection
 * it already holds (inside the batch's transaction).
 *
 * Why: COPY inserts a page's worth of rows per heap operation and WAL record where
 * `INSERT ... SELECT` inserts them one by one; measured on the ledger table (two B-trees and a
 * BRIN index), 3.5 us of server CPU per row instead of 5.3 with `unnest` arrays. Index
 * maintenance is the same either way.
 *
 * How: node-postgres runs any object with a `submit(connection)` method as a query of its own
 * (its documented "Submittable" interface, the one pg-cursor and pg-copy-streams use), and
 * Kysely's PostgreSQL driver hands a compiled query's `sql` to `client.query` untouched. The
 * `CopyIn` below is such an object, and a promise (the driver awaits it). PGlite's dialect
 * takes SQL text only: `copySupported` finds out, once, whether the connection runs a COPY,
 * and the writer uses `unnest` arrays where it does not.
 *
 * The text format (`copyText`): columns separated by tabs, rows by newlines, `\N` for null,
 * and backslash, tab, newline and carriage return escaped in text.
 */
import { CompiledQuery, type Kysely, sql } from 'kysely';

/** The slice of node-postgres' connection a COPY FROM STDIN uses. */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** What the driver reads from a finished query. */
interface CopyResult {
  readonly command: 'INSERT';
  readonly rowCount: number;
  readonly rows: never[];
}

/** Bytes per CopyData message. */
const COPY_CHUNK_BYTES = 256 * 1024;

/** A COPY FROM STDIN as a node-postgres Submittable that is also the promise of its result. */
class CopyIn implements PromiseLike<CopyResult> {
  /** Set once node-postgres has sent the statement: the connection takes Submittables. */
  submitted = false;
  private rowCount = 0;
  private readonly done: Promise<CopyResult>;
  private resolve!: (r: CopyResult) => void;
  private reject!: (e: Error) => void;

  constructor(
    private readonly text: string,
    private readonly data: Buffer,
  ) {
    this.done = new Promise<CopyResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: CopyConnection): void {
    this.submitted = true;
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    // In slices: the driver copies each into a message buffer of its own, and a few hundred
    // kilobytes stay in the CPU's cache where megabytes would not.
    for (let at = 0; at < this.data.length; at += COPY_CHUNK_BYTES) {
      connection.sendCopyFromChunk(this.data.subarray(at, at + COPY_CHUNK_BYTES));
    }
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { text?: string }): void {
    this.rowCount = Number(/^COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  handleReadyForQuery(): void {
    this.resolve({ command: 'INSERT', rowCount: this.rowCount, rows: [] });
  }

  /** node-postgres calls this (and not handleReadyForQuery) when the statement fails. */
  handleError(error: Error): void {
    this.reject(error);
  }

  // Messages a COPY FROM does not produce; present because node-postgres may dispatch them.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  // biome-ignore lint/suspicious/noThenProperty: the driver awaits what client.query returns, which is this object
  then<A = CopyResult, B = never>(
    onFulfilled?: ((value: CopyResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    return this.done.then(onFulfilled, onRejected);
  }
}

/** Runs `copy <table> (<columns>) from stdin` with `data` (text format) on `db`'s connection; returns rows copied. */
// biome-ignore lint/suspicious/noExplicitAny: runs on any Kysely instance or transaction
export async function copyIn(db: Kysely<any>, target: string, data: Buffer): Promise<number> {
  const copy = new CopyIn(`copy ${target} from stdin`, data);
  const query = { ...CompiledQuery.raw(''), sql: copy as unknown as string };
  const result = await db.executeQuery(query);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Whether `db` runs `copyIn`. PGlite (its version says so) is answered without a probe: its
 * driver takes SQL text only, and anything else leaves its protocol writer broken. A server is
 * reached through node-postgres (database.ts): a COPY of zero rows into `table` must be
 * submitted and succeed. Any other outcome means no.
 */
// biome-ignore lint/suspicious/noExplicitAny: runs on any Kysely instance
export async function copySupported(db: Kysely<any>, table: string): Promise<boolean> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  if (/PGlite/i.test(rows[0]?.version ?? 'PGlite')) return false;
  const copy = new CopyIn(`copy ${table} from stdin`, Buffer.alloc(0));
  const query = { ...CompiledQuery.raw(''), sql: copy as unknown as string };
  try {
    await db.executeQuery(query);
    return copy.submitted;
  } catch {
    return false;
  }
}

/**
 * Rows in COPY text format, written straight into bytes: no string per row or per field, so a
 * batch of tens of thousands of rows costs a few hundred bytes of garbage, not megabytes.
 * Each field is followed by a tab; `endRow` turns the last one into the newline.
 */
export class CopyRows {
  private buf: Uint8Array;
  private pos = 0;
  /** Rows written. */
  rows = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** An integer (it must be safe: money and ids never round). */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer`);
    this.room(18);
    const b = this.buf;
    let p = this.pos;
    if (v < 0) {
      b[p++] = 45; // '-'
      v = -v;
    }
    // Digits from the last, then reversed in place; 32-bit arithmetic where the value allows.
    const start = p;
    if (v < 2147483648) {
      let x = v | 0;
      do {
        const q = (x / 10) | 0;
        b[p++] = 48 + (x - q * 10);
        x = q;
      } while (x !== 0);
    } else {
      do {
        const q = Math.floor(v / 10);
        b[p++] = 48 + (v - q * 10);
        v = q;
      } while (v !== 0);
    }
    for (let i = start, j = p - 1; i < j; i++, j--) {
      const t = b[i]!;
      b[i] = b[j]!;
      b[j] = t;
    }
    b[p++] = 9; // tab
    this.pos = p;
  }

  /** A nullable integer. */
  nullableInt(v: number | null): void {
    if (v === null) this.nullField();
    else this.int(v);
  }

  /** Text (null: SQL NULL); backslash, tab, newline and carriage return escaped. */
  text(v: string | null): void {
    if (v === null) {
      this.nullField();
      return;
    }
    const n = v.length;
    this.room(n * 2 + 1);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) {
        this.utf8(v);
        return;
      }
      if (c === 92 || c === 9 || c === 10 || c === 13) {
        b[p++] = 92;
        b[p++] = c === 92 ? 92 : c === 9 ? 116 : c === 10 ? 110 : 114;
      } else b[p++] = c;
    }
    b[p++] = 9;
    this.pos = p;
  }

  /** Ends the row: its last field's tab becomes the newline. */
  endRow(): void {
    this.buf[this.pos - 1] = 10;
    this.rows++;
  }

  /** The rows written, as a Buffer over this writer's memory. */
  bytes(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  private nullField(): void {
    this.room(3);
    this.buf[this.pos++] = 92; // '\N'
    this.buf[this.pos++] = 78;
    this.buf[this.pos++] = 9;
  }

  /** Text with characters beyond ASCII: escaped as a string, then encoded. */
  private utf8(v: string): void {
    const escaped = v.replace(/[\\\t\n\r]/g, (c) =>
      c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
    );
    this.room(escaped.length * 3 + 1);
    this.pos += ENCODER.encodeInto(escaped, this.buf.subarray(this.pos)).written;
    this.buf[this.pos++] = 9;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + bytes));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}

const ENCODER = new TextEncoder();
