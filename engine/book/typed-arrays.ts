/**
 * Growth of the struct-of-arrays storage (order slots, levels, ladders, risk's accounts and
 * holds): one helper instead of a copy per array type. Growth doubles, so it is amortised and
 * never on the matching path.
 */
type Growable = Float64Array | Int32Array | Uint8Array;

/** A copy of `a` in a new array of the same type and `length` elements, the rest set to `fill`. */
export function grown<T extends Growable>(a: T, length: number, fill = 0): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  if (fill !== 0) b.fill(fill);
  (b as Growable).set(a as Growable);
  return b;
}
