/**
 * The table that turns accounts/' dotted error codes into HTTP statuses and Binance-style
 * numeric codes (gateway/api/accounts-errors.ts): every code accounts/ can throw goes out as a
 * 4xx (a 5xx only when the engine or the persister is out of reach, or the engine contradicts
 * the books), a reason the table does not name still gets a sensible 4xx, and the two reply
 * shapes (web with `reason`, /sapi without).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AccountsError } from '../../accounts/errors.ts';
import {
  ACCOUNTS_ERROR_CODES,
  accountsBinanceError,
  accountsErrorCode,
  accountsErrorReply,
  toBinanceApiError,
} from '../../gateway/api/accounts-errors.ts';

/** Reasons that are not the client's doing, with the status they go out with. */
const SERVER_SIDE: Readonly<Record<string, number>> = {
  'withdrawal.engine_unavailable': 503,
  'withdrawal.engine_mismatch': 500,
  'ledger.persister_behind': 503,
  'deposit.engine_unavailable': 503,
  'withdrawal_address.engine_unavailable': 503,
  'trade_store.unavailable': 503,
  'trade_store.corrupt': 500,
  'crypto.open_failed': 500,
  'crypto.invalid_master_key': 500,
};

/** Every dotted code thrown in accounts/ (as AccountsError or through a prefix), found in the sources. */
function thrownCodes(): string[] {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:AccountsError|\berr)\(\s*['`]([a-z_]+\.[a-z_]+)['`]/g))
          found.add(m[1]!);
        for (const m of text.matchAll(/\$\{prefix\}\.([a-z_]+)/g))
          for (const prefix of ['deposit', 'withdrawal', 'withdrawal_address'])
            found.add(`${prefix}.${m[1]}`);
      }
    }
  };
  walk('accounts');
  return [...found].sort();
}

describe('accounts error table', () => {
  it('answers every code accounts/ throws with a 4xx, but for an engine or persister out of reach', () => {
    const codes = thrownCodes();
    assert.ok(codes.length > 80, `found ${codes.length} codes`);
    for (const reason of codes) {
      const { code, status } = accountsErrorCode(reason);
      assert.ok(Number.isSafeInteger(code) && code < 0, `${reason}: ${code}`);
      const expected = SERVER_SIDE[reason];
      if (expected !== undefined) assert.equal(status, expected, reason);
      else assert.ok(status >= 400 && status < 500, `${reason} answers ${status}`);
    }
  });

  it('names every status of the table from its documented set, and uses 5xx only for the server-side reasons', () => {
    for (const [reason, { code, status }] of Object.entries(ACCOUNTS_ERROR_CODES)) {
      assert.ok([400, 401, 403, 404, 409, 415, 429, 500, 503].includes(status), `${reason}: ${status}`);
      if (status >= 500) assert.equal(SERVER_SIDE[reason], status, reason);
      // Crossbook's own band starts below Binance's -9000 ("user have no avaliable amount").
      assert.notEqual(code, -9000, reason);
      assert.ok(code < 0, reason);
    }
  });

  it('maps the families: sign-in 401, permission 403, not found 404, conflicts 409, lockout 429', () => {
    assert.equal(accountsErrorCode('auth.session_expired').status, 401);
    assert.equal(accountsErrorCode('withdrawal.kyc_forbidden').status, 403);
    assert.equal(accountsErrorCode('apikey.not_found').status, 404);
    assert.equal(accountsErrorCode('user.email_taken').status, 409);
    assert.equal(accountsErrorCode('auth.locked').status, 429);
    assert.deepEqual(accountsErrorCode('withdrawal.insufficient_balance'), { code: -4026, status: 400 });
  });

  it('falls back by suffix for a reason it does not name, never to a 5xx for bad input', () => {
    assert.deepEqual(accountsErrorCode('widget.not_found'), { code: -9100, status: 404 });
    assert.deepEqual(accountsErrorCode('widget.duplicate_name'), { code: -9100, status: 409 });
    assert.deepEqual(accountsErrorCode('widget.already_done'), { code: -9100, status: 409 });
    assert.deepEqual(accountsErrorCode('widget.forbidden'), { code: -9100, status: 403 });
    assert.deepEqual(accountsErrorCode('widget.engine_unavailable'), { code: -9100, status: 503 });
    assert.deepEqual(accountsErrorCode('widget.invalid_shape'), { code: -9100, status: 400 });
    assert.deepEqual(accountsErrorCode('nodots'), { code: -9100, status: 400 });
  });

  it("gives web replies the reason and /sapi replies Binance's shape only", () => {
    const e = new AccountsError('withdrawal.limit_exceeded', 'the 24-hour BTC withdrawal limit is 2');
    const web = accountsErrorReply(e);
    assert.equal(web.status, 400);
    assert.deepEqual(JSON.parse(web.body), {
      code: -4023,
      msg: 'the 24-hour BTC withdrawal limit is 2',
      reason: 'withdrawal.limit_exceeded',
    });
    assert.deepEqual(accountsBinanceError(e), {
      code: -4023,
      status: 400,
      msg: 'the 24-hour BTC withdrawal limit is 2',
    });
    const thrown = toBinanceApiError(e);
    assert.deepEqual(thrown.body(), { code: -4023, msg: 'the 24-hour BTC withdrawal limit is 2' });
    assert.equal(thrown.status, 400);
  });

  it('tells a client to retry shortly when the sign-in pool is full, and how to authenticate after a 401', () => {
    const busy = accountsErrorReply(new AccountsError('auth.busy', 'too many sign-ins at once'));
    assert.equal(busy.status, 429);
    assert.equal(busy.headers?.['Retry-After'], '1');
    const expired = accountsErrorReply(new AccountsError('auth.session_expired', 'sign in again'));
    assert.equal(expired.headers?.['WWW-Authenticate'], 'Bearer');
  });
});
