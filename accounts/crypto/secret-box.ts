/**
 * Sealing short secrets at rest (API key secrets, TOTP secrets) under the master key:
 * AES-256-GCM with a fresh random 96-bit nonce per seal, so sealing the same secret twice gives
 * unrelated text. The sealed form is versioned text, `v1.<nonce>.<ciphertext>.<tag>` (each
 * part base64url), so the algorithm can change later without guessing at old rows.
 *
 * An optional context (the row the secret belongs to, e.g. "apikey:<apiKey>") is bound in as
 * additional authenticated data: a sealed value copied onto another row fails to open there.
 * Random nonces are safe for far more seals than this platform makes under one key (the
 * GCM bound is about 2^32).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AccountsError } from '../errors.ts';
import { type MasterKey, masterKeyBytes } from './master-key.ts';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Secrets sealed here are short (keys, seeds); a bound keeps a mistake from sealing a file. */
export const MAX_PLAINTEXT_BYTES = 4096;

/** Seals `plaintext` under `key`, bound to `context` (the same context is needed to open it). */
export function seal(key: MasterKey, plaintext: string, context = ''): string {
  const data = Buffer.from(plaintext, 'utf8');
  if (data.length > MAX_PLAINTEXT_BYTES)
    throw new RangeError(`a sealed secret is at most ${MAX_PLAINTEXT_BYTES} bytes`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKeyBytes(key), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(`${VERSION}\n${context}`, 'utf8'));
  const body = Buffer.concat([cipher.update(data), cipher.final()]);
  return [VERSION, nonce, body, cipher.getAuthTag()]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

const tampered = (): AccountsError =>
  new AccountsError(
    'crypto.open_failed',
    'a sealed secret could not be opened: it was altered, or sealed under another master key or for another record',
  );

/**
 * Opens a value made by `seal` with the same key and context. Anything else (altered bytes, a
 * wrong key, another row's value, an unknown version, malformed text) fails with
 * AccountsError 'crypto.open_failed', never with partial plaintext.
 */
export function open(key: MasterKey, sealed: string, context = ''): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)))
    throw tampered();
  const nonce = Buffer.from(parts[1]!, 'base64url');
  const body = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw tampered();
  const decipher = createDecipheriv('aes-256-gcm', masterKeyBytes(key), nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`${VERSION}\n${context}`, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw tampered();
  }
}
