/**
 * PostgreSQL array literals for bulk writes: a batch of rows goes to the server as one
 * parameter per column (`unnest($1::int8[], $2::text[], ...)`), so a statement carries any
 * number of rows within one bind parameter per column (far below PostgreSQL's 65,535), and
 * the server parses one value per column instead of planning a many-thousand-row VALUES
 * list. The literals are built here rather than by the driver because it is several times
 * faster than `pg`'s generic array serialiser, and PGlite accepts the same text.
 */

/** `{1,2,3}` from integers (every one must be a safe integer: money and ids never round). */
export function intArray(values: ArrayLike<number>): string {
  const n = values.length;
  if (n === 0) return '{}';
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isSafeInteger(v)) throw new RangeError(`array element ${i} (${v}) is not a safe integer`);
    parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}

/** Like `intArray`, with null written as SQL NULL. */
export function nullableIntArray(values: readonly (number | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) parts[i] = 'NULL';
    else if (!Number.isSafeInteger(v))
      throw new RangeError(`array element ${i} (${v}) is not a safe integer`);
    else parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}

const NEEDS_ESCAPE = /["\\]/;

/**
 * `{"a","b"}` from strings, each quoted (so that an empty string or the word NULL stays a
 * string) with `"` and `\` escaped; null is written as SQL NULL.
 */
export function textArray(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) parts[i] = 'NULL';
    else parts[i] = NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : `"${v}"`;
  }
  return `{${parts.join(',')}}`;
}
