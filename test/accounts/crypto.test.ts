import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  devKeyPath,
  loadMasterKey,
  MasterKey,
  masterKeyBytes,
  parseMasterKey,
} from '../../accounts/crypto/master-key.ts';
import { open, seal } from '../../accounts/crypto/secret-box.ts';
import { isAccountsError } from '../../accounts/errors.ts';

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

describe('master key', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'crossbook-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads 64 hex characters from CROSSBOOK_MASTER_KEY', () => {
    const loaded = loadMasterKey({ env: { CROSSBOOK_MASTER_KEY: HEX }, dataDir: dir });
    assert.equal(loaded.source, 'env');
    assert.equal(masterKeyBytes(loaded.key).toString('hex'), HEX);
  });

  it('reads the same key written as base64 or base64url', () => {
    const bytes = Buffer.from(HEX, 'hex');
    for (const text of [
      bytes.toString('base64'),
      bytes.toString('base64url'),
      ` ${bytes.toString('base64')}\n`,
    ])
      assert.equal(masterKeyBytes(parseMasterKey(text)).toString('hex'), HEX);
  });

  it('refuses a malformed key with a clear error that does not repeat it', () => {
    for (const bad of [
      '',
      'abc',
      HEX.slice(2),
      `${HEX}00`,
      'z'.repeat(64),
      Buffer.alloc(31).toString('base64'),
    ]) {
      assert.throws(
        () => loadMasterKey({ env: { CROSSBOOK_MASTER_KEY: bad }, dataDir: dir }),
        (e: unknown) =>
          isAccountsError(e, 'crypto.invalid_master_key') &&
          /64 hex characters or as base64/.test(e.message) &&
          (bad.length < 3 || !e.message.includes(bad)),
      );
    }
  });

  it('generates a development key once, keeps it with mode 0600, and warns without the key', () => {
    const warnings: { obj: object; msg: string }[] = [];
    const log = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
    const first = loadMasterKey({ env: {}, dataDir: dir, log });
    assert.equal(first.source, 'file-generated');
    assert.equal(first.file, devKeyPath(dir));
    assert.equal(statSync(devKeyPath(dir)).mode & 0o777, 0o600);
    const second = loadMasterKey({ env: {}, dataDir: dir, log });
    assert.equal(second.source, 'file-existing');
    assert.ok(masterKeyBytes(first.key).equals(masterKeyBytes(second.key)));
    assert.equal(warnings.length, 2);
    const hex = masterKeyBytes(first.key).toString('hex');
    for (const w of warnings) {
      assert.match(w.msg, /CROSSBOOK_MASTER_KEY is not set/);
      assert.ok(!JSON.stringify(w).includes(hex));
    }
  });

  it('refuses a corrupted development key file', () => {
    loadMasterKey({ env: {}, dataDir: dir });
    writeFileSync(devKeyPath(dir), 'not a key\n');
    assert.throws(
      () => loadMasterKey({ env: {}, dataDir: dir }),
      (e: unknown) => isAccountsError(e, 'crypto.invalid_master_key'),
    );
  });

  it('never prints its bytes through JSON, inspect or string conversion', () => {
    const key = parseMasterKey(HEX);
    for (const shown of [
      JSON.stringify({ key }),
      inspect(key),
      String(key),
      inspect({ key }, { depth: 5 }),
    ]) {
      assert.ok(!shown.includes(HEX) && !shown.includes(Buffer.from(HEX, 'hex').toString('base64')), shown);
      assert.ok(shown.includes(key.fingerprint));
    }
  });
});

describe('secret box', () => {
  const key = MasterKey.generate();

  it('opens what it sealed, with a fresh nonce each time', () => {
    const a = seal(key, 'JBSWY3DPEHPK3PXP', 'totp:1');
    const b = seal(key, 'JBSWY3DPEHPK3PXP', 'totp:1');
    assert.notEqual(a, b);
    assert.match(a, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.ok(!a.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(open(key, a, 'totp:1'), 'JBSWY3DPEHPK3PXP');
    assert.equal(open(key, seal(key, ''), ''), '');
  });

  it('refuses a value altered anywhere, with a clear error', () => {
    const sealed = seal(key, 'a secret of some length', 'ctx');
    for (let i = 3; i < sealed.length; i++) {
      if (sealed[i] === '.') continue;
      const flipped = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
      // Some flips only touch the unused low bits of a base64url tail character.
      // Each part is decoded on its own, so compare part by part (joined strings shift the bits).
      const decoded = (v: string) =>
        v
          .split('.')
          .slice(1)
          .map((p) => Buffer.from(p, 'base64url').toString('hex'));
      if (decoded(flipped).join('.') === decoded(sealed).join('.')) continue;
      assert.throws(
        () => open(key, flipped, 'ctx'),
        (e: unknown) => isAccountsError(e, 'crypto.open_failed') && /altered/.test(e.message),
      );
    }
  });

  it('refuses another key, another context, another version and malformed text', () => {
    const sealed = seal(key, 'secret', 'apikey:1');
    const bad = [
      () => open(MasterKey.generate(), sealed, 'apikey:1'),
      () => open(key, sealed, 'apikey:2'),
      () => open(key, sealed.replace(/^v1/, 'v2'), 'apikey:1'),
      () => open(key, 'garbage', 'apikey:1'),
      () => open(key, `${sealed}.x`, 'apikey:1'),
    ];
    for (const f of bad) assert.throws(f, (e: unknown) => isAccountsError(e, 'crypto.open_failed'));
  });
});
