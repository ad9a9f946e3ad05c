/**
 * Expected failures in accounts: a dotted code ("auth.invalid_credentials",
 * "withdrawal.limit_exceeded") and a message fit to show a user. Never a stack trace, SQL or a
 * secret in either. The gateway maps codes onto HTTP statuses and Binance-style errors.
 */
export class AccountsError extends Error {
  override readonly name = 'AccountsError';
  constructor(
    /** Dotted, stable: callers and the gateway switch on it. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** True for an AccountsError, optionally with the given code. */
export function isAccountsError(e: unknown, code?: string): e is AccountsError {
  return e instanceof AccountsError && (code === undefined || e.code === code);
}
