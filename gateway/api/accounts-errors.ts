/**
 * How the account-management routes (/api/crossbook/v1) and the wallet routes (/sapi/v1/capital)
 * answer an expected failure of accounts/: every AccountsError's dotted code ("reason") maps to
 * one numeric Binance-style code and one HTTP status, in the table below.
 *
 * Numeric codes: Binance's own where Binance has one for the case (its request errors -11xx,
 * its wallet errors -40xx, which ccxt maps to InsufficientFunds, PermissionDenied, ...), and
 * Crossbook's own in the -91xx to -96xx bands otherwise. Binance itself answers -9000 ("user have
 * no avaliable amount"), so Crossbook's band starts at -9100 to stay clear of it.
 *
 * HTTP statuses: 400 bad input, 401 not (or no longer) authenticated, 403 authenticated but not
 * allowed, 404 not found (also what another user's object answers), 409 a conflict with the
 * current state, 415 a body that is not JSON, 429 too many attempts (account locked, sign-in pool
 * full), 503 the engine (or persister, or trade store) unreachable. Never 5xx for bad input; 500
 * only for a broken invariant on our side (an engine that contradicts the books, stored data that
 * fails its integrity check), and never a stack trace.
 *
 * The web endpoints reply `{"code": -9101, "msg": "...", "reason": "auth.invalid_credentials"}`;
 * the /sapi endpoints reply Binance's `{"code", "msg"}` only.
 */
import type { AccountsError } from '../../accounts/errors.ts';
import { BinanceApiError, type BinanceError } from '../binance/errors.ts';
import { type GatewayResponse, jsonResponse } from '../http/http-types.ts';

/** One row of the table: the numeric code and the HTTP status a reason goes out with. */
export interface AccountsErrorCode {
  readonly code: number;
  readonly status: number;
}

const row = (code: number, status: number): AccountsErrorCode => ({ code, status });

/**
 * Every reason the account routes can answer, with its code and status. Reasons are the dotted
 * codes of accounts/ (AccountsError.code), plus `request.*` for bodies and parameters the
 * gateway refuses before accounts/ sees them.
 */
export const ACCOUNTS_ERROR_CODES: Readonly<Record<string, AccountsErrorCode>> = {
  // Request shape (Binance's own codes for the same faults).
  'request.missing_field': row(-1102, 400),
  'request.invalid_field': row(-1130, 400),
  'request.unknown_field': row(-1103, 400),
  'request.unknown_parameter': row(-1103, 400),
  'request.unexpected_body': row(-1103, 400),
  'request.invalid_json': row(-1135, 400),
  'request.unsupported_media_type': row(-1135, 415),

  // -91xx sign-in and sessions.
  'auth.invalid_credentials': row(-9101, 401),
  'auth.locked': row(-9102, 429),
  'auth.busy': row(-9103, 429),
  'auth.disabled': row(-9104, 403),
  'auth.totp_required': row(-9105, 401),
  'auth.totp_invalid': row(-9106, 401),
  'auth.session_required': row(-9107, 401),
  'auth.session_invalid': row(-9108, 401),
  'auth.session_expired': row(-9109, 401),
  'auth.session_revoked': row(-9110, 401),
  'session.not_found': row(-9111, 404),

  // -92xx the account and its second factor.
  'user.invalid_email': row(-9201, 400),
  'user.invalid_password': row(-9202, 400),
  'user.email_taken': row(-9203, 409),
  'user.not_found': row(-9204, 404),
  'user.disabled': row(-9205, 403),
  'totp.not_set_up': row(-9210, 409),
  'totp.already_enabled': row(-9211, 409),
  'totp.not_enabled': row(-9212, 409),
  'totp.invalid_code': row(-9213, 400),

  // -93xx API keys.
  'apikey.invalid_label': row(-9301, 400),
  'apikey.invalid_permissions': row(-9302, 400),
  'apikey.invalid_ip': row(-9303, 400),
  'apikey.too_many_ips': row(-9304, 400),
  'apikey.withdraw_needs_ip': row(-9305, 400),
  'apikey.invalid_type': row(-9306, 400),
  'apikey.invalid_public_key': row(-9307, 400),
  'apikey.limit_reached': row(-9308, 409),
  'apikey.not_found': row(-9309, 404),
  'apikey.totp_required': row(-9310, 401),
  'apikey.totp_invalid': row(-9311, 401),

  // -94xx KYC.
  'kyc.invalid_tier': row(-9401, 400),
  'kyc.invalid_data': row(-9402, 400),
  'kyc.invalid_full_name': row(-9403, 400),
  'kyc.invalid_date_of_birth': row(-9404, 400),
  'kyc.underage': row(-9405, 400),
  'kyc.invalid_country': row(-9406, 400),
  'kyc.invalid_document_type': row(-9407, 400),
  'kyc.invalid_document_number': row(-9408, 400),
  'kyc.pending_exists': row(-9409, 409),
  'kyc.not_found': row(-9410, 404),

  // -95xx the withdrawal address allow-list.
  'withdrawal_address.unknown_asset': row(-9501, 400),
  'withdrawal_address.invalid_network': row(-9502, 400),
  'withdrawal_address.invalid_address': row(-9503, 400),
  'withdrawal_address.invalid_label': row(-9504, 400),
  'withdrawal_address.duplicate': row(-9505, 409),
  'withdrawal_address.too_many': row(-9506, 409),
  'withdrawal_address.not_found': row(-9507, 404),
  'withdrawal_address.invalid_user': row(-9508, 400),
  'withdrawal_address.user_not_found': row(-9509, 404),

  // Withdrawals: Binance's wallet codes where Binance has the case, else -952x.
  'withdrawal.unknown_asset': row(-4018, 400),
  'withdrawal.invalid_network': row(-4019, 400),
  'withdrawal.invalid_address': row(-4033, 400),
  'withdrawal.address_not_allowed': row(-4035, 403),
  'withdrawal.kyc_forbidden': row(-4015, 403),
  'withdrawal.invalid_amount': row(-4022, 400),
  'withdrawal.amount_too_precise': row(-4021, 400),
  'withdrawal.limit_exceeded': row(-4023, 400),
  'withdrawal.insufficient_balance': row(-4026, 400),
  'withdrawal.not_found': row(-4029, 404),
  'withdrawal.bad_state': row(-4031, 409),
  'withdrawal.user_disabled': row(-9520, 403),
  'withdrawal.totp_required': row(-9521, 401),
  'withdrawal.totp_invalid': row(-9522, 401),
  'withdrawal.invalid_client_id': row(-9523, 400),
  'withdrawal.duplicate_client_id': row(-9524, 409),
  'withdrawal.engine_refused': row(-9525, 400),
  'withdrawal.invalid_user': row(-9526, 400),
  'withdrawal.user_not_found': row(-9527, 404),
  // The request is on record and will be processed: "status unknown" (-1007), not "retry".
  'withdrawal.engine_unavailable': row(-1007, 503),
  // The engine contradicts the books: an operator must look (never the client's fault).
  'withdrawal.engine_mismatch': row(-1000, 500),

  // -96xx history and ledger queries (Binance's codes for its own wallet history rules).
  'history.invalid_time_range': row(-4047, 400),
  'history.time_range_too_long': row(-4047, 400),
  'history.bad_time_range': row(-9601, 400),
  'history.invalid_time': row(-9602, 400),
  'history.bad_time': row(-9602, 400),
  'history.invalid_status': row(-9603, 400),
  'history.invalid_offset': row(-9604, 400),
  'history.invalid_limit': row(-9605, 400),
  'history.bad_limit': row(-9605, 400),
  'history.invalid_id_list': row(-9606, 400),
  'history.bad_asset': row(-9607, 400),
  'history.bad_cursor': row(-9608, 400),
  'history.bad_order': row(-9609, 400),
  'history.bad_user': row(-9610, 400),
  'history.invalid_user': row(-9610, 400),
  'ledger.persister_behind': row(-9611, 503),
  'trade_store.unavailable': row(-9612, 503),

  // Our own data failing its checks (tampered or sealed under another key): never the client's doing.
  'trade_store.corrupt': row(-1000, 500),
  'crypto.open_failed': row(-1000, 500),
  'crypto.invalid_master_key': row(-1000, 500),
};

/** A reason the table does not name: 4xx by its suffix, so that a new code never becomes a 5xx. */
const FALLBACK_CODE = -9100;

/** The code and status of `reason` (a reason not in the table falls back by its suffix). */
export function accountsErrorCode(reason: string): AccountsErrorCode {
  const known = ACCOUNTS_ERROR_CODES[reason];
  if (known !== undefined) return known;
  const suffix = reason.slice(reason.lastIndexOf('.') + 1);
  if (suffix.endsWith('not_found')) return row(FALLBACK_CODE, 404);
  if (
    suffix.endsWith('taken') ||
    suffix.startsWith('duplicate') ||
    suffix.startsWith('already') ||
    suffix.endsWith('exists') ||
    suffix === 'bad_state' ||
    suffix === 'conflict' ||
    suffix === 'limit_reached' ||
    suffix === 'too_many'
  )
    return row(FALLBACK_CODE, 409);
  if (suffix.endsWith('unavailable')) return row(FALLBACK_CODE, 503);
  if (suffix === 'disabled' || suffix.endsWith('forbidden')) return row(FALLBACK_CODE, 403);
  return row(FALLBACK_CODE, 400);
}

/**
 * Extra headers a reason's reply carries: a short Retry-After when the sign-in pool is full, and
 * the scheme to authenticate with when a session is missing or no longer valid.
 */
function headersOf(reason: string): Readonly<Record<string, string>> | undefined {
  if (reason === 'auth.busy') return { 'Retry-After': '1' };
  if (reason.startsWith('auth.session')) return { 'WWW-Authenticate': 'Bearer' };
  return undefined;
}

/** The web reply for an AccountsError: `{code, msg, reason}` with the reason's status. */
export function accountsErrorReply(e: AccountsError): GatewayResponse {
  const { code, status } = accountsErrorCode(e.code);
  return jsonResponse({ code, msg: e.message, reason: e.code }, status, headersOf(e.code));
}

/** The Binance error (`{code, msg}` and status) for an AccountsError, for the /sapi routes. */
export function accountsBinanceError(e: AccountsError): BinanceError {
  const { code, status } = accountsErrorCode(e.code);
  return { code, status, msg: e.message };
}

/** The AccountsError as a BinanceApiError, for a /sapi handler to throw. */
export function toBinanceApiError(e: AccountsError): BinanceApiError {
  return new BinanceApiError(accountsBinanceError(e), headersOf(e.code));
}
