/**
 * The accounts logger: pino, with every field that can carry a secret redacted wherever it
 * appears (top level, or nested up to three objects deep, e.g. `{ req: { body: { password } } }`),
 * and the identifying fields of KYC data likewise.
 * Redaction is the safety net, not the method: the code logs ids and outcomes, never a
 * password, token, secret or code, and a test scans captured logs of every identity flow for
 * the actual secrets used.
 */
import { pino } from 'pino';

/** The logger type every accounts module takes. */
export type Logger = pino.Logger;

/** Field names whose values never reach a log line. */
export const REDACTED_KEYS: readonly string[] = [
  'password',
  'newPassword',
  'currentPassword',
  'oldPassword',
  'passwordHash',
  'secret',
  'secretKey',
  'secretEnc',
  'apiSecret',
  'token',
  'sessionToken',
  'accessToken',
  'refreshToken',
  'listenKey',
  'totp',
  'totpCode',
  'totpSecret',
  'totpSecretEnc',
  'otpauthUri',
  'code',
  'signature',
  'masterKey',
  'privateKey',
  'authorization',
  'cookie',
  'x-mbx-apikey',
  // KYC identity data: personal, not secret, but no log line needs it either.
  'fullName',
  'dateOfBirth',
  'documentNumber',
];

/** pino redact paths: each key at the top level and under up to three levels of objects. */
export function redactPaths(keys: readonly string[] = REDACTED_KEYS): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const leaf = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
    const dot = leaf.startsWith('[') ? '' : '.';
    out.push(leaf, `*${dot}${leaf}`, `*.*${dot}${leaf}`, `*.*.*${dot}${leaf}`);
  }
  return out;
}

/** Where and how much to log. */
export interface LoggerOptions {
  /** A writable stream (tests pass one that captures lines); default stdout. */
  readonly destination?: pino.DestinationStream;
  /** Default 'info'. */
  readonly level?: pino.LevelWithSilent;
  /** Names the component in every line (default 'accounts'). */
  readonly name?: string;
}

/** A pino logger with the accounts redaction rules. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name ?? 'accounts',
    level: options.level ?? 'info',
    redact: { paths: redactPaths(), censor: '[redacted]' },
  };
  // pino's own default (synchronous stdout): a crash loses no line about what led to it.
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

/** A logger that writes nothing: the default where a caller gives none. */
export const silentLogger: Logger = pino({ level: 'silent' });
