/**
 * The order id -> slot hash (open addressing, backward-shift deletion, growth by doubling)
 * against a plain Map, under random operations.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OrderIndex } from '../../engine/book/order-index.ts';

type Op =
  | { op: 'set'; key: number; value: number }
  | { op: 'delete'; key: number }
  | { op: 'get'; key: number };

/** Keys that stress the hash: small dense ids, ids around 2^32, the largest safe ids. */
const key = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 2 ** 32 - 8, max: 2 ** 32 + 8 }),
  fc.integer({ min: Number.MAX_SAFE_INTEGER - 16, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 1, max: 2000 }).map((i) => i * 1024), // same low bits
  fc.integer({ min: 1, max: 2000 }).map((i) => i * 2 ** 32 + 7), // same low 32 bits
);
const value = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key, value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
);

/** Checks every key the model has ever seen against the index. */
function agree(index: OrderIndex, model: Map<number, number>, seen: Set<number>): void {
  assert.equal(index.count, model.size);
  for (const k of seen) assert.equal(index.get(k), model.get(k) ?? -1, `key ${k}`);
}

describe('order index', () => {
  it('behaves as a Map under random set, delete and get, growing from a tiny capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(op, { maxLength: 400 }), (capacity, ops) => {
        const index = new OrderIndex(capacity);
        const model = new Map<number, number>();
        const seen = new Set<number>();
        for (const o of ops) {
          seen.add(o.key);
          if (o.op === 'set') {
            index.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            assert.equal(index.delete(o.key), model.delete(o.key), `delete ${o.key}`);
          } else {
            assert.equal(index.get(o.key), model.get(o.key) ?? -1, `get ${o.key}`);
          }
        }
        agree(index, model, seen);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every key reachable after deletions in the middle of long probe runs', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        (keys, picks) => {
          const index = new OrderIndex(1);
          const model = new Map<number, number>();
          keys.forEach((k, i) => {
            index.set(k, i);
            model.set(k, i);
          });
          for (const p of picks) {
            const k = keys[p % keys.length]!;
            assert.equal(index.delete(k), model.delete(k));
          }
          agree(index, model, new Set(keys));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('replaces the value of an existing key without counting it twice', () => {
    const index = new OrderIndex(4);
    index.set(42, 1);
    index.set(42, 2);
    assert.equal(index.count, 1);
    assert.equal(index.get(42), 2);
    assert.equal(index.delete(42), true);
    assert.equal(index.delete(42), false);
    assert.equal(index.get(42), -1);
    assert.equal(index.count, 0);
  });

  it('holds 100,000 sequential ids through growth, deletions and clear', () => {
    const index = new OrderIndex(16);
    const n = 100_000;
    for (let i = 1; i <= n; i++) index.set(i, i % 1_000_003);
    assert.equal(index.count, n);
    for (let i = 2; i <= n; i += 2) assert.equal(index.delete(i), true);
    assert.equal(index.count, n / 2);
    for (let i = 1; i <= n; i++) assert.equal(index.get(i), i % 2 === 1 ? i % 1_000_003 : -1);
    index.clear();
    assert.equal(index.count, 0);
    assert.equal(index.get(1), -1);
    index.set(7, 70);
    assert.equal(index.get(7), 70);
  });
});
