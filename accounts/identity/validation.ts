/**
 * Input checks shared by the identity services. Every value from a client passes one of these
 * before it reaches a query; failures are AccountsErrors with dotted codes and messages that
 * say what is expected (and never echo a password or secret back).
 */
import { isIP } from 'node:net';
import { AccountsError } from '../errors.ts';

/** Longest email accepted (RFC 5321's path limit). */
export const MAX_EMAIL_LENGTH = 254;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 128;

const EMAIL =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The email trimmed and lower-cased, or 'user.invalid_email'. */
export function normalizeEmail(email: unknown): string {
  if (typeof email !== 'string')
    throw new AccountsError('user.invalid_email', 'an email address is required');
  const e = email.trim().toLowerCase();
  const local = e.split('@')[0] ?? '';
  if (e.length > MAX_EMAIL_LENGTH || local.length > 64 || !EMAIL.test(e) || /\.\./.test(local))
    throw new AccountsError('user.invalid_email', 'the email address is not valid (name@example.com)');
  return e;
}

/**
 * Checks a new password: 10 to 128 characters, not all of one kind (lower-case letters,
 * upper-case letters, digits, anything else), not the email itself. 'user.invalid_password'.
 */
export function checkNewPassword(password: unknown, email?: string): string {
  if (typeof password !== 'string')
    throw new AccountsError('user.invalid_password', 'a password is required');
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH)
    throw new AccountsError(
      'user.invalid_password',
      `a password is ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`,
    );
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((k) => k.test(password));
  if (kinds.length < 2)
    throw new AccountsError(
      'user.invalid_password',
      'a password mixes at least two kinds of characters (lower case, upper case, digits, symbols or spaces)',
    );
  if (email !== undefined && password.trim().toLowerCase() === email)
    throw new AccountsError('user.invalid_password', 'a password cannot be the email address');
  return password;
}

/** A user id as the services take it: a positive safe integer, else 'user.not_found'. */
export function checkUserId(userId: unknown): number {
  if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId <= 0)
    throw new AccountsError('user.not_found', 'no such user');
  return userId;
}

/**
 * An IP address in canonical form (IPv6 lower-cased and compressed, IPv4-mapped IPv6 as the
 * IPv4 address), or undefined when `ip` is not an address.
 */
export function canonicalIp(ip: unknown): string | undefined {
  if (typeof ip !== 'string' || ip.length > 64) return undefined;
  const t = ip.trim();
  const family = isIP(t);
  if (family === 4) return t;
  if (family !== 6) return undefined;
  // The URL parser prints an IPv6 host in RFC 5952 form.
  const host = new URL(`http://[${t}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped !== null) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/** The user agent as stored: printable, at most 256 characters. */
export function cleanUserAgent(ua: unknown): string | null {
  if (typeof ua !== 'string') return null;
  const t = ua.replace(/[\p{Cc}]/gu, '').slice(0, 256);
  return t === '' ? null : t;
}

/**
 * An operator's name as recorded (audit actor "operator:<name>"): 1 to 64 letters, digits or
 * _ . @ -, so that it cannot forge another actor or break a log line. Fails with `code`.
 */
export function checkOperator(operator: unknown, code: string): string {
  if (typeof operator !== 'string' || !/^[A-Za-z0-9_.@-]{1,64}$/.test(operator))
    throw new AccountsError(code, 'the operator is named by 1 to 64 letters, digits or _ . @ -');
  return operator;
}

/**
 * A reason an operator gives (shown to the user, kept in the audit log): 1 to 500 characters
 * after trimming, line breaks allowed, no other control characters. Fails with `code`.
 */
export function checkReason(reason: unknown, code: string, what: string): string {
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (r.length === 0 || r.length > 500 || /\p{Cc}/u.test(r.replace(/\n/g, '')))
    throw new AccountsError(code, `${what} needs a reason of 1 to 500 characters`);
  return r;
}
