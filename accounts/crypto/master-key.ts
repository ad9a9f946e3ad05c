/**
 * The master key: 32 bytes that encrypt every secret kept at rest (API key secrets, TOTP
 * secrets). Production gives it in CROSSBOOK_MASTER_KEY (64 hex characters, or base64 of 32
 * bytes); a malformed value stops the start with a clear error that never repeats the value.
 * Without it, a development key is generated once and kept in `<dataDir>/keys/master.key`
 * (mode 0600), with a warning: data sealed under it is only as safe as that file.
 *
 * The key bytes live in a module-private WeakMap rather than on the object, so that logging,
 * JSON.stringify or util.inspect of a MasterKey can never print them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { AccountsError } from '../errors.ts';

/** The environment variable that holds the production master key. */
export const MASTER_KEY_ENV = 'CROSSBOOK_MASTER_KEY';
/** Bytes in a master key (AES-256). */
export const MASTER_KEY_BYTES = 32;

const BYTES = new WeakMap<MasterKey, Buffer>();

/** An opaque 32-byte key; prints as its fingerprint only. */
export class MasterKey {
  /** The first 8 bytes of SHA-256 of the key, hex: tells keys apart without revealing them. */
  readonly fingerprint: string;

  private constructor(bytes: Buffer) {
    BYTES.set(this, Buffer.from(bytes));
    this.fingerprint = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  }

  /** A key over the given 32 bytes (copied). */
  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== MASTER_KEY_BYTES)
      throw new AccountsError('crypto.invalid_master_key', `a master key is ${MASTER_KEY_BYTES} bytes`);
    return new MasterKey(Buffer.from(bytes));
  }

  /** A fresh random key (tests, and the development key). */
  static generate(): MasterKey {
    return new MasterKey(randomBytes(MASTER_KEY_BYTES));
  }

  toJSON(): string {
    return `MasterKey(${this.fingerprint})`;
  }

  toString(): string {
    return `MasterKey(${this.fingerprint})`;
  }

  [inspect.custom](): string {
    return `MasterKey(${this.fingerprint})`;
  }
}

/** The raw bytes of a key: for the crypto modules beside this one, never to be logged or returned. */
export function masterKeyBytes(key: MasterKey): Buffer {
  const bytes = BYTES.get(key);
  if (bytes === undefined) throw new TypeError('not a MasterKey');
  return bytes;
}

/**
 * Parses a key written as 64 hex characters or as base64 / base64url of 32 bytes (surrounding
 * whitespace ignored). The error names the expected shapes, never the text it was given.
 */
export function parseMasterKey(text: string, source = MASTER_KEY_ENV): MasterKey {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : decodeBase64Key(t);
  if (bytes === undefined)
    throw new AccountsError(
      'crypto.invalid_master_key',
      `${source} must be ${MASTER_KEY_BYTES} bytes written as 64 hex characters or as base64`,
    );
  return MasterKey.fromBytes(bytes);
}

/** 32 bytes from canonical base64 or base64url (43 characters, padding optional), else undefined. */
function decodeBase64Key(t: string): Buffer | undefined {
  const url = /^[A-Za-z0-9_-]{43}$/.test(t);
  if (!url && !/^[A-Za-z0-9+/]{43}=?$/.test(t)) return undefined;
  const encoding = url ? 'base64url' : 'base64';
  const decoded = Buffer.from(t, encoding);
  // 43 characters carry 258 bits: a non-canonical tail would silently decode to another key.
  const again = decoded.toString(encoding).replace(/=$/, '');
  return decoded.length === MASTER_KEY_BYTES && again === t.replace(/=$/, '') ? decoded : undefined;
}

/** Where to find the key, and where to warn. */
export interface LoadMasterKeyOptions {
  /** The environment to read CROSSBOOK_MASTER_KEY from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The platform's data directory: the development key lives in `<dataDir>/keys/master.key`. */
  readonly dataDir: string;
  /** Receives the warning about a development key (a pino logger fits). */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** How a key was obtained. */
export interface LoadedMasterKey {
  readonly key: MasterKey;
  readonly source: 'env' | 'file-existing' | 'file-generated';
  /** The development key file, when one is used. */
  readonly file?: string;
}

/** The development key's file under a data directory. */
export function devKeyPath(dataDir: string): string {
  return path.join(dataDir, 'keys', 'master.key');
}

/**
 * The master key: from the environment when set (malformed: AccountsError
 * 'crypto.invalid_master_key'), else the development key in the data directory, generated on
 * first use. Either way without the key appearing anywhere but in memory and that file.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): LoadedMasterKey {
  const env = options.env ?? process.env;
  const text = env[MASTER_KEY_ENV];
  // Set but empty is malformed, not absent: a blank secret in a deployment must not fall back
  // silently to a development key.
  if (text !== undefined) return { key: parseMasterKey(text), source: 'env' };

  const file = devKeyPath(options.dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let source: LoadedMasterKey['source'] = 'file-existing';
  let key: MasterKey;
  try {
    key = parseMasterKey(readFileSync(file, 'utf8'), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const generated = randomBytes(MASTER_KEY_BYTES);
    try {
      // 'wx': never overwrite a key another process wrote meanwhile (that one wins, below).
      writeFileSync(file, `${generated.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      key = MasterKey.fromBytes(generated);
      source = 'file-generated';
    } catch (w) {
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
      key = parseMasterKey(readFileSync(file, 'utf8'), file);
    }
  }
  // A umask or a copy may have widened the mode; the key file is for this user alone.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  options.log?.warn(
    { keyFile: file, keyFingerprint: key.fingerprint },
    `${MASTER_KEY_ENV} is not set: using the development master key in ${file}; set ${MASTER_KEY_ENV} in production`,
  );
  return { key, source, file };
}
