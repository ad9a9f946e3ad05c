import assert from 'node:assert/strict';
import { createPasswordHasher, type PasswordHasher } from '../../accounts/identity/password-hasher.ts';
import { parseHash, verifyPasswordSync } from '../../accounts/identity/scrypt-hash.ts';

describe('password hasher', () => {
  let hasher: PasswordHasher;
  before(() => {
    hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 2 });
  });
  after(() => hasher.close());

  it('encodes its parameters and a random salt in the hash', async () => {
    const a = await hasher.hash('correct horse battery 1');
    const b = await hasher.hash('correct horse battery 1');
    assert.match(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b);
    assert.deepEqual(parseHash(a)?.cost, { log2N: 10, r: 8, p: 1 });
  });

  it('accepts the right password and refuses any other', async () => {
    const encoded = await hasher.hash('correct horse battery 1');
    assert.equal(await hasher.verify('correct horse battery 1', encoded), true);
    assert.equal(await hasher.verify('correct horse battery 2', encoded), false);
    assert.equal(await hasher.verify('', encoded), false);
  });

  it('matches the same password typed composed or decomposed', async () => {
    const encoded = await hasher.hash('caf\u00e9 au lait 42');
    assert.equal(await hasher.verify('cafe\u0301 au lait 42', encoded), true);
  });

  it('refuses against a malformed or out-of-bounds hash instead of throwing', async () => {
    for (const bad of [
      '',
      'plain',
      '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$x$y',
    ])
      assert.equal(await hasher.verify('anything at all 1', bad), false);
  });

  it('verifies hashes made at another cost, and says they need a rehash', async () => {
    const other = createPasswordHasher({ cost: { log2N: 11, r: 4 }, maxThreads: 1 });
    try {
      const encoded = await other.hash('correct horse battery 1');
      assert.equal(await hasher.verify('correct horse battery 1', encoded), true);
      assert.equal(hasher.needsRehash(encoded), true);
      assert.equal(hasher.needsRehash(await hasher.hash('x')), false);
    } finally {
      await other.close();
    }
  });

  it('defaults to N = 2^15, r = 8, p = 1', async () => {
    const prod = createPasswordHasher({ maxThreads: 1 });
    try {
      assert.deepEqual(prod.cost, { log2N: 15, r: 8, p: 1 });
      const encoded = await prod.hash('correct horse battery 1');
      assert.equal(verifyPasswordSync('correct horse battery 1', encoded), true);
    } finally {
      await prod.close();
    }
  });

  it('hashes off the main thread: the event loop keeps turning during a hash', async () => {
    const slow = createPasswordHasher({ cost: { log2N: 15 }, maxThreads: 1 });
    try {
      await slow.dummyHash(); // the thread is up and loaded
      let turns = 0;
      let spinning = true;
      const spin = (): void => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      const pending = slow.hash('correct horse battery 1');
      await pending;
      spinning = false;
      // A hash run on this thread would hold the loop for its whole duration: not one turn.
      assert.ok(turns >= 3, `the loop turned ${turns} times while hashing`);
    } finally {
      await slow.close();
    }
  });

  it('refuses a cost outside its bounds', () => {
    assert.throws(() => createPasswordHasher({ cost: { log2N: 40 } }), RangeError);
    assert.throws(() => createPasswordHasher({ cost: { r: 0 } }), RangeError);
  });
});
