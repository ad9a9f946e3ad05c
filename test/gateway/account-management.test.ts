/**
 * The web account endpoints (/api/crossbook/v1) over real sockets, against the accounts
 * database of each dialect, a real Core and the persister (./account-management-harness.test.ts):
 * registration, sign-in and sessions, the password, the TOTP second factor, API keys, KYC, the
 * withdrawal address allow-list, deposits, withdrawals and the ledger; every way a request can
 * be refused, with its HTTP status, numeric code and reason; and that one user's session can
 * reach nothing of another's.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { reviewKyc } from '../../accounts/identity/index.ts';
import { forEachDialect } from '../accounts/dialects.ts';
import {
  assertError,
  BTC_ADDRESS,
  deposit,
  enableTotp,
  freshEmail,
  PASSWORD,
  setKycTier,
  signIn,
  signUp,
  totp,
  useWorld,
  web,
} from './account-management-harness.test.ts';
import { send } from './helpers.ts';

const IDENTITY = {
  fullName: 'Ada Lovelace',
  dateOfBirth: '1990-12-10',
  country: 'GB',
  documentType: 'PASSPORT',
  documentNumber: 'AB1234567',
};

describe('account management over HTTP (/api/crossbook/v1)', function () {
  this.timeout(60_000);
  forEachDialect((dialect) => {
    const world = useWorld(dialect);

    describe('registration and sign-in', () => {
      it('registers, signs in and shows the account', async () => {
        const w = world();
        const email = freshEmail();
        const reg = await web(w, 'POST', '/register', { body: { email, password: PASSWORD } });
        assert.equal(reg.status, 200, reg.text);
        assert.equal(reg.json.email, email);
        assert.ok(Number.isSafeInteger(reg.json.userId) && reg.json.userId > 0);
        assert.match(reg.headers['content-type'] ?? '', /application\/json/);

        const login = await web(w, 'POST', '/login', { body: { email, password: PASSWORD } });
        assert.equal(login.status, 200, login.text);
        assert.match(login.json.sessionToken, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(login.json.userId, reg.json.userId);
        assert.ok(login.json.expiresAt > w.clockMs);

        const me = await web(w, 'GET', '/me', { token: login.json.sessionToken });
        assert.equal(me.status, 200, me.text);
        assert.deepEqual(
          { ...me.json, createdAt: typeof me.json.createdAt },
          {
            userId: reg.json.userId,
            email,
            status: 'ACTIVE',
            kycTier: 0,
            totpEnabled: false,
            createdAt: 'number',
          },
        );
      });

      it('refuses a second account with the same email: 409 -9203', async () => {
        const w = world();
        const u = await signUp(w);
        const r = await web(w, 'POST', '/register', { body: { email: u.email, password: PASSWORD } });
        assertError(r, 409, -9203, 'user.email_taken');
      });

      it('refuses a malformed email (400 -9201) and a weak password (400 -9202)', async () => {
        const w = world();
        assertError(
          await web(w, 'POST', '/register', { body: { email: 'not-an-email', password: PASSWORD } }),
          400,
          -9201,
          'user.invalid_email',
        );
        assertError(
          await web(w, 'POST', '/register', { body: { email: freshEmail(), password: 'short' } }),
          400,
          -9202,
          'user.invalid_password',
        );
      });

      it('answers a wrong password and an unknown email alike: 401 -9101', async () => {
        const w = world();
        const u = await signUp(w);
        const wrong = await web(w, 'POST', '/login', {
          body: { email: u.email, password: 'Wrong horse 42 x' },
        });
        const unknown = await web(w, 'POST', '/login', {
          body: { email: freshEmail('nobody'), password: PASSWORD },
        });
        assertError(wrong, 401, -9101, 'auth.invalid_credentials');
        assertError(unknown, 401, -9101, 'auth.invalid_credentials');
        assert.equal(wrong.json.msg, unknown.json.msg);
      });

      it('locks the account after five failed sign-ins: 429 -9102, even with the right password', async () => {
        const w = world();
        const u = await signUp(w);
        for (let i = 0; i < 5; i++)
          await web(w, 'POST', '/login', { body: { email: u.email, password: 'Wrong horse 42 x' } });
        const r = await web(w, 'POST', '/login', { body: { email: u.email, password: PASSWORD } });
        assertError(r, 429, -9102, 'auth.locked');
      });
    });

    describe('request bodies and parameters', () => {
      it('refuses a body that is not JSON: 415 -1135', async () => {
        const w = world();
        const r = await web(w, 'POST', '/register', {
          body: `email=${encodeURIComponent(freshEmail())}&password=x`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assertError(r, 415, -1135, 'request.unsupported_media_type');
      });

      it('refuses broken JSON and a JSON value that is not an object: 400 -1135', async () => {
        const w = world();
        assertError(
          await web(w, 'POST', '/login', { body: '{"email":' }),
          400,
          -1135,
          'request.invalid_json',
        );
        assertError(await web(w, 'POST', '/login', { body: '["a"]' }), 400, -1135, 'request.invalid_json');
      });

      it('refuses unknown fields (-1103), missing fields (-1102) and fields of the wrong type (-1130)', async () => {
        const w = world();
        assertError(
          await web(w, 'POST', '/login', { body: { email: 'a@b.co', password: 'x', admin: true } }),
          400,
          -1103,
          'request.unknown_field',
        );
        assertError(
          await web(w, 'POST', '/login', { body: { email: 'a@b.co' } }),
          400,
          -1102,
          'request.missing_field',
        );
        assertError(
          await web(w, 'POST', '/login', { body: { email: 'a@b.co', password: 42 } }),
          400,
          -1130,
          'request.invalid_field',
        );
      });

      it('refuses unknown query parameters (-1103) and a body on an endpoint that takes none', async () => {
        const w = world();
        const u = await signUp(w);
        assertError(
          await web(w, 'GET', '/me', { token: u.token, query: 'userId=1' }),
          400,
          -1103,
          'request.unknown_parameter',
        );
        assertError(
          await web(w, 'GET', '/me', { token: u.token, body: { x: 1 } }),
          400,
          -1103,
          'request.unexpected_body',
        );
      });

      it('accepts an empty body sent with Content-Type: application/json', async () => {
        const w = world();
        const u = await signUp(w);
        const r = await send(w.gw, '/api/crossbook/v1/me', {
          headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' },
        });
        assert.equal(r.status, 200, r.text);
        const out = await web(w, 'POST', '/logout', {
          token: u.token,
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(out.status, 200, out.text);
      });
    });

    describe('sessions', () => {
      it('needs a session token: 401 -9107 without one (WWW-Authenticate: Bearer), -9108 for a bad one', async () => {
        const w = world();
        const none = await web(w, 'GET', '/me');
        assertError(none, 401, -9107, 'auth.session_required');
        assert.equal(none.headers['www-authenticate'], 'Bearer');
        assertError(
          await web(w, 'GET', '/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
          401,
          -9107,
        );
        assertError(
          await web(w, 'GET', '/me', { token: 'x'.repeat(43) }),
          401,
          -9108,
          'auth.session_invalid',
        );
        assertError(await web(w, 'GET', '/me', { token: 'short' }), 401, -9108, 'auth.session_invalid');
      });

      it('lists the sessions with the current one marked, ends one by id, then every other one', async () => {
        const w = world();
        const u = await signUp(w);
        const second = await signIn(w, u.email);
        const third = await signIn(w, u.email);
        const list = await web(w, 'GET', '/sessions', { token: u.token });
        assert.equal(list.status, 200, list.text);
        assert.equal(list.json.sessions.length, 3);
        assert.equal(list.json.sessions.filter((s: { current: boolean }) => s.current).length, 1);
        const listedBySecond = await web(w, 'GET', '/sessions', { token: second });
        const secondId = listedBySecond.json.sessions.find((s: { current: boolean }) => s.current).sessionId;

        const one = await web(w, 'DELETE', '/sessions', { token: u.token, query: `sessionId=${secondId}` });
        assert.deepEqual(one.json, { revoked: 1 });
        assertError(await web(w, 'GET', '/me', { token: second }), 401, -9110, 'auth.session_revoked');

        const others = await web(w, 'DELETE', '/sessions', { token: u.token });
        assert.deepEqual(others.json, { revoked: 1 });
        assertError(await web(w, 'GET', '/me', { token: third }), 401, -9110);
        assert.equal((await web(w, 'GET', '/me', { token: u.token })).status, 200);
        const left = await web(w, 'GET', '/sessions', { token: u.token });
        assert.equal(left.json.sessions.length, 1);
      });

      it('signs out: the token stops working (401 -9110)', async () => {
        const w = world();
        const u = await signUp(w);
        const r = await web(w, 'POST', '/logout', { token: u.token });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, {});
        assertError(await web(w, 'GET', '/me', { token: u.token }), 401, -9110, 'auth.session_revoked');
      });

      it('refuses an expired session: 401 -9109', async () => {
        const w = world();
        const u = await signUp(w);
        w.clockMs += 25 * 3600 * 1000;
        assertError(await web(w, 'GET', '/me', { token: u.token }), 401, -9109, 'auth.session_expired');
      });

      it("refuses to end a session id that is not one of the user's: 404 -9111", async () => {
        const w = world();
        const u = await signUp(w);
        assertError(
          await web(w, 'DELETE', '/sessions', { token: u.token, query: `sessionId=${'0'.repeat(64)}` }),
          404,
          -9111,
          'session.not_found',
        );
      });
    });

    describe('password', () => {
      it('changes the password: other sessions end, this one stays, only the new password signs in', async () => {
        const w = world();
        const u = await signUp(w);
        const other = await signIn(w, u.email);
        const next = 'Another horse 43 staple';
        const r = await web(w, 'POST', '/password', {
          token: u.token,
          body: { currentPassword: PASSWORD, newPassword: next },
        });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { revokedSessions: 1 });
        assert.equal((await web(w, 'GET', '/me', { token: u.token })).status, 200);
        assertError(await web(w, 'GET', '/me', { token: other }), 401, -9110);
        assertError(
          await web(w, 'POST', '/login', { body: { email: u.email, password: PASSWORD } }),
          401,
          -9101,
        );
        assert.equal(
          (await web(w, 'POST', '/login', { body: { email: u.email, password: next } })).status,
          200,
        );
      });

      it('refuses a wrong current password (401 -9101) and an unchanged one (400 -9202)', async () => {
        const w = world();
        const u = await signUp(w);
        assertError(
          await web(w, 'POST', '/password', {
            token: u.token,
            body: { currentPassword: 'Wrong horse 42 x', newPassword: 'Another horse 43 staple' },
          }),
          401,
          -9101,
          'auth.invalid_credentials',
        );
        assertError(
          await web(w, 'POST', '/password', {
            token: u.token,
            body: { currentPassword: PASSWORD, newPassword: PASSWORD },
          }),
          400,
          -9202,
          'user.invalid_password',
        );
      });
    });

    describe('second factor (TOTP)', () => {
      it('turns it on: sign-in then needs the code (-9105 without, -9106 wrong); off again with a code', async () => {
        const w = world();
        const u = await signUp(w);
        const setup = await web(w, 'POST', '/totp/setup', { token: u.token });
        assert.match(setup.json.secret, /^[A-Z2-7]+$/);
        assert.match(setup.json.uri, /^otpauth:\/\/totp\//);
        const secret = setup.json.secret as string;
        const on = await web(w, 'POST', '/totp/confirm', { token: u.token, body: { code: totp(w, secret) } });
        assert.deepEqual(on.json, { totpEnabled: true });
        assert.equal((await web(w, 'GET', '/me', { token: u.token })).json.totpEnabled, true);

        assertError(
          await web(w, 'POST', '/login', { body: { email: u.email, password: PASSWORD } }),
          401,
          -9105,
          'auth.totp_required',
        );
        assertError(
          await web(w, 'POST', '/login', {
            body: { email: u.email, password: PASSWORD, totpCode: '000000' },
          }),
          401,
          -9106,
          'auth.totp_invalid',
        );
        await signIn(w, u.email, totp(w, secret));

        const off = await web(w, 'POST', '/totp/disable', {
          token: u.token,
          body: { code: totp(w, secret) },
        });
        assert.deepEqual(off.json, { totpEnabled: false });
        await signIn(w, u.email);
      });

      it('refuses a wrong code (400 -9213), a second setup while on (409 -9211), disabling when off (409 -9212), confirming before setup (409 -9210)', async () => {
        const w = world();
        const u = await signUp(w);
        assertError(
          await web(w, 'POST', '/totp/confirm', { token: u.token, body: { code: '123456' } }),
          409,
          -9210,
          'totp.not_set_up',
        );
        assertError(
          await web(w, 'POST', '/totp/disable', { token: u.token, body: { code: '123456' } }),
          409,
          -9212,
          'totp.not_enabled',
        );
        const secret = (await web(w, 'POST', '/totp/setup', { token: u.token })).json.secret as string;
        assertError(
          await web(w, 'POST', '/totp/confirm', { token: u.token, body: { code: '12345' } }),
          400,
          -9213,
          'totp.invalid_code',
        );
        await web(w, 'POST', '/totp/confirm', { token: u.token, body: { code: totp(w, secret) } });
        assertError(
          await web(w, 'POST', '/totp/setup', { token: u.token }),
          409,
          -9211,
          'totp.already_enabled',
        );
      });
    });

    describe('API keys', () => {
      it('creates an HMAC key (its secret shown once), lists it without the secret, deletes it', async () => {
        const w = world();
        const u = await signUp(w);
        const r = await web(w, 'POST', '/apiKeys', {
          token: u.token,
          body: { label: 'my bot', permissions: { trade: true } },
        });
        assert.equal(r.status, 200, r.text);
        assert.match(r.json.apiKey, /^[A-Za-z0-9]{64}$/);
        assert.match(r.json.secretKey, /^[A-Za-z0-9]{64}$/);
        assert.equal(r.json.type, 'HMAC');
        assert.deepEqual(r.json.permissions, { read: true, trade: true, withdraw: false });
        assert.deepEqual(r.json.ipAllow, []);

        const list = await web(w, 'GET', '/apiKeys', { token: u.token });
        assert.equal(list.json.apiKeys.length, 1);
        assert.equal(list.json.apiKeys[0].apiKey, r.json.apiKey);
        assert.equal(list.json.apiKeys[0].secretKey, undefined);
        assert.ok(!list.text.includes(r.json.secretKey));

        const del = await web(w, 'DELETE', '/apiKeys', { token: u.token, query: `keyId=${r.json.keyId}` });
        assert.equal(del.status, 200, del.text);
        assert.deepEqual((await web(w, 'GET', '/apiKeys', { token: u.token })).json.apiKeys, []);
        assertError(
          await web(w, 'DELETE', '/apiKeys', { token: u.token, query: `keyId=${r.json.keyId}` }),
          404,
          -9309,
          'apikey.not_found',
        );
      });

      it("creates an Ed25519 key from the client's PEM public key (no secret)", async () => {
        const w = world();
        const u = await signUp(w);
        const pem = generateKeyPairSync('ed25519')
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString();
        const r = await web(w, 'POST', '/apiKeys', {
          token: u.token,
          body: { label: 'ed', type: 'ED25519', publicKey: pem },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.type, 'ED25519');
        assert.equal(r.json.secretKey, undefined);
        assert.equal(r.json.publicKey, pem);
      });

      it('refuses withdraw without an IP allow-list (-9305), a bad address (-9303), a bad public key (-9307), a bad type (-9306), bad ids (-1130, -1102)', async () => {
        const w = world();
        const u = await signUp(w);
        const create = (body: Record<string, unknown>) =>
          web(w, 'POST', '/apiKeys', { token: u.token, body: { label: 'k', ...body } });
        assertError(
          await create({ permissions: { withdraw: true } }),
          400,
          -9305,
          'apikey.withdraw_needs_ip',
        );
        assertError(await create({ ipAllow: ['300.1.1.1'] }), 400, -9303, 'apikey.invalid_ip');
        assertError(await create({ ipAllow: '127.0.0.1' }), 400, -1130, 'request.invalid_field');
        assertError(
          await create({ type: 'ED25519', publicKey: 'not a key' }),
          400,
          -9307,
          'apikey.invalid_public_key',
        );
        assertError(await create({ type: 'RSA' }), 400, -9306, 'apikey.invalid_type');
        assertError(await create({ permissions: { admin: true } }), 400, -9302, 'apikey.invalid_permissions');
        assertError(
          await web(w, 'DELETE', '/apiKeys', { token: u.token, query: 'keyId=abc' }),
          400,
          -1130,
          'request.invalid_field',
        );
        assertError(
          await web(w, 'DELETE', '/apiKeys', { token: u.token }),
          400,
          -1102,
          'request.missing_field',
        );
      });

      it('asks for the TOTP code before creating a key that can withdraw, when the factor is on', async () => {
        const w = world();
        const u = await signUp(w);
        const secret = await enableTotp(w, u);
        const body = { label: 'payout', permissions: { withdraw: true }, ipAllow: ['127.0.0.1'] };
        assertError(
          await web(w, 'POST', '/apiKeys', { token: u.token, body }),
          401,
          -9310,
          'apikey.totp_required',
        );
        assertError(
          await web(w, 'POST', '/apiKeys', { token: u.token, body: { ...body, totpCode: '000000' } }),
          401,
          -9311,
          'apikey.totp_invalid',
        );
        const ok = await web(w, 'POST', '/apiKeys', {
          token: u.token,
          body: { ...body, totpCode: totp(w, secret) },
        });
        assert.equal(ok.status, 200, ok.text);
        assert.deepEqual(ok.json.permissions, { read: true, trade: false, withdraw: true });
        // A key without the withdraw permission needs no code.
        const plain = await web(w, 'POST', '/apiKeys', { token: u.token, body: { label: 'reader' } });
        assert.equal(plain.status, 200, plain.text);
      });
    });

    describe('KYC', () => {
      it('shows tier 0, takes a submission, refuses a second one while it waits (409 -9409), shows the approval', async () => {
        const w = world();
        const u = await signUp(w);
        const before = await web(w, 'GET', '/kyc', { token: u.token });
        assert.equal(before.status, 200, before.text);
        assert.equal(before.json.tier, 0);
        assert.equal(before.json.tierName, 'UNVERIFIED');
        assert.equal(before.json.canWithdraw, false);
        assert.equal(before.json.latest, null);

        const sub = await web(w, 'POST', '/kyc', { token: u.token, body: { tier: 2, identity: IDENTITY } });
        assert.equal(sub.status, 200, sub.text);
        assert.equal(sub.json.status, 'PENDING');
        assertError(
          await web(w, 'POST', '/kyc', { token: u.token, body: { tier: 1, identity: IDENTITY } }),
          409,
          -9409,
          'kyc.pending_exists',
        );
        const waiting = await web(w, 'GET', '/kyc', { token: u.token });
        assert.equal(waiting.json.latest.status, 'PENDING');
        assert.ok(!waiting.text.includes('AB1234567'), 'the identity data is never shown back');

        await reviewKyc(w.adb.db, w.identity, sub.json.submissionId, 'alice', { approve: true });
        const after = await web(w, 'GET', '/kyc', { token: u.token });
        assert.equal(after.json.tier, 2);
        assert.equal(after.json.tierName, 'FULL');
        assert.equal(after.json.latest.status, 'APPROVED');
        assert.equal(after.json.withdrawLimit24h.BTC, '100');
      });

      it("refuses bad identity data with the field's code, a bad tier (-9401), missing identity (-1102)", async () => {
        const w = world();
        const u = await signUp(w);
        const submit = (body: Record<string, unknown>) => web(w, 'POST', '/kyc', { token: u.token, body });
        assertError(
          await submit({ tier: 1, identity: { ...IDENTITY, dateOfBirth: '2020-01-01' } }),
          400,
          -9405,
          'kyc.underage',
        );
        assertError(
          await submit({ tier: 1, identity: { ...IDENTITY, country: 'XX' } }),
          400,
          -9406,
          'kyc.invalid_country',
        );
        assertError(await submit({ tier: 3, identity: IDENTITY }), 400, -9401, 'kyc.invalid_tier');
        assertError(await submit({ tier: 1 }), 400, -1102, 'request.missing_field');
        assertError(await submit({ tier: '1', identity: IDENTITY }), 400, -1130, 'request.invalid_field');
      });
    });

    describe('withdrawal addresses', () => {
      it('adds, lists (all or by coin) and removes addresses; refuses duplicates (409 -9505), bad networks (-9502), unknown ids (404 -9507)', async () => {
        const w = world();
        const u = await signUp(w);
        const add = (body: Record<string, unknown>) =>
          web(w, 'POST', '/withdrawalAddresses', { token: u.token, body });
        const a = await add({ coin: 'BTC', network: 'BTC', address: BTC_ADDRESS, label: 'cold' });
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(
          { ...a.json, id: typeof a.json.id, createdAt: typeof a.json.createdAt },
          {
            id: 'number',
            coin: 'BTC',
            network: 'BTC',
            address: BTC_ADDRESS,
            label: 'cold',
            createdAt: 'number',
          },
        );
        const b = await add({ coin: 'USDT', network: 'TRX', address: 'TXYZopqrstuvwx123' });
        assert.equal(b.status, 200, b.text);
        assert.equal(b.json.label, '');

        assertError(
          await add({ coin: 'BTC', network: 'BTC', address: BTC_ADDRESS }),
          409,
          -9505,
          'withdrawal_address.duplicate',
        );
        assertError(
          await add({ coin: 'BTC', network: 'ETH', address: BTC_ADDRESS }),
          400,
          -9502,
          'withdrawal_address.invalid_network',
        );
        assertError(
          await add({ coin: 'DOGE', network: 'DOGE', address: BTC_ADDRESS }),
          400,
          -9501,
          'withdrawal_address.unknown_asset',
        );

        const all = await web(w, 'GET', '/withdrawalAddresses', { token: u.token });
        assert.deepEqual(
          all.json.addresses.map((x: { coin: string }) => x.coin),
          ['BTC', 'USDT'],
        );
        const usdt = await web(w, 'GET', '/withdrawalAddresses', { token: u.token, query: 'coin=USDT' });
        assert.equal(usdt.json.addresses.length, 1);

        const del = await web(w, 'DELETE', '/withdrawalAddresses', {
          token: u.token,
          query: `id=${a.json.id}`,
        });
        assert.equal(del.status, 200, del.text);
        assertError(
          await web(w, 'DELETE', '/withdrawalAddresses', { token: u.token, query: `id=${a.json.id}` }),
          404,
          -9507,
          'withdrawal_address.not_found',
        );
      });
    });

    describe('deposits, withdrawals and the ledger', () => {
      it('pages the ledger by cursor, newest first by default, amounts as decimals', async () => {
        const w = world();
        const u = await signUp(w);
        await deposit(w, u.userId, 'BTC', '0.5');
        await deposit(w, u.userId, 'USDT', '100');
        await deposit(w, u.userId, 'BTC', '0.25');

        const first = await web(w, 'GET', '/ledger', { token: u.token, query: 'limit=2' });
        assert.equal(first.status, 200, first.text);
        assert.equal(first.json.entries.length, 2);
        assert.deepEqual(
          first.json.entries.map((e: { asset: string; amount: string }) => [e.asset, e.amount]),
          [
            ['BTC', '0.25000000'],
            ['USDT', '100.00000000'],
          ],
        );
        const e = first.json.entries[0];
        assert.equal(e.kind, 'DEPOSIT');
        assert.match(e.ref, /^deposit:\d+$/);
        assert.ok(Math.abs(e.time - Date.now()) < 60_000);
        assert.equal(typeof first.json.nextCursor, 'number');

        const second = await web(w, 'GET', '/ledger', {
          token: u.token,
          query: `limit=2&cursor=${first.json.nextCursor}`,
        });
        assert.deepEqual(
          second.json.entries.map((x: { amount: string }) => x.amount),
          ['0.50000000'],
        );
        assert.equal(second.json.nextCursor, null);

        const btcAsc = await web(w, 'GET', '/ledger', { token: u.token, query: 'asset=BTC&order=asc' });
        assert.deepEqual(
          btcAsc.json.entries.map((x: { amount: string }) => x.amount),
          ['0.50000000', '0.25000000'],
        );
        const window = await web(w, 'GET', '/ledger', {
          token: u.token,
          query: `endTime=${Date.now() - 3_600_000}`,
        });
        assert.deepEqual(window.json.entries, []);
      });

      it('refuses bad ledger parameters: order (-9609), asset (-9607), a non-numeric cursor (-1130)', async () => {
        const w = world();
        const u = await signUp(w);
        assertError(
          await web(w, 'GET', '/ledger', { token: u.token, query: 'order=up' }),
          400,
          -9609,
          'history.bad_order',
        );
        assertError(
          await web(w, 'GET', '/ledger', { token: u.token, query: 'asset=DOGE' }),
          400,
          -9607,
          'history.bad_asset',
        );
        assertError(
          await web(w, 'GET', '/ledger', { token: u.token, query: 'cursor=-1' }),
          400,
          -1130,
          'request.invalid_field',
        );
      });

      it("lists deposits with Binance's statuses", async () => {
        const w = world();
        const u = await signUp(w);
        const d = await deposit(w, u.userId, 'ETH', '1.5');
        const r = await web(w, 'GET', '/deposits', { token: u.token });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.deposits.length, 1);
        assert.deepEqual(
          { ...r.json.deposits[0], insertTime: 0, completeTime: 0 },
          {
            id: d.id,
            coin: 'ETH',
            network: 'ETH',
            amount: '1.50000000',
            status: 1,
            state: 'CREDITED',
            txId: d.txId,
            insertTime: 0,
            completeTime: 0,
            source: 'operator',
          },
        );
        const none = await web(w, 'GET', '/deposits', { token: u.token, query: 'coin=BTC' });
        assert.deepEqual(none.json.deposits, []);
      });

      it('withdraws through the session: completes below the approval threshold, waits above it, and can be cancelled while it waits', async () => {
        const w = world();
        const u = await signUp(w);
        await setKycTier(w, u.userId, 1);
        await deposit(w, u.userId, 'BTC', '3');
        const withdraw = (amount: string, extra: Record<string, unknown> = {}) =>
          web(w, 'POST', '/withdrawals', {
            token: u.token,
            body: { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS, amount, ...extra },
          });
        const small = await withdraw('0.5', { withdrawOrderId: 'w-1' });
        assert.equal(small.status, 200, small.text);
        assert.equal(small.json.state, 'COMPLETED');
        assert.equal(small.json.status, 6);
        assert.equal(small.json.withdrawOrderId, 'w-1');
        assert.match(small.json.txId, /^[0-9a-f]{64}$/);

        const large = await withdraw('1.5');
        assert.equal(large.json.state, 'AWAITING_APPROVAL');
        assert.equal(large.json.status, 2);
        assert.equal(w.core.balancesOf(u.userId)[0]?.locked, 150_000_000);

        const list = await web(w, 'GET', '/withdrawals', { token: u.token });
        assert.deepEqual(
          list.json.withdrawals.map((x: { id: number }) => x.id),
          [large.json.id, small.json.id],
        );
        const byId = await web(w, 'GET', '/withdrawals', { token: u.token, query: 'withdrawOrderId=w-1' });
        assert.equal(byId.json.withdrawals.length, 1);

        const cancel = await web(w, 'DELETE', '/withdrawals', {
          token: u.token,
          query: `id=${large.json.id}`,
        });
        assert.equal(cancel.status, 200, cancel.text);
        assert.equal(cancel.json.state, 'REJECTED');
        assert.equal(cancel.json.info, 'canceled by user');
        assert.equal(w.core.balancesOf(u.userId)[0]?.locked, 0);
        assertError(
          await web(w, 'DELETE', '/withdrawals', { token: u.token, query: `id=${small.json.id}` }),
          409,
          -4031,
          'withdrawal.bad_state',
        );
      });

      it('asks web withdrawals for the TOTP code when the factor is on (-9521 without, -9522 wrong)', async () => {
        const w = world();
        const u = await signUp(w);
        await setKycTier(w, u.userId, 1);
        await deposit(w, u.userId, 'BTC', '1');
        const secret = await enableTotp(w, u);
        const body = { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS, amount: '0.1' };
        assertError(
          await web(w, 'POST', '/withdrawals', { token: u.token, body }),
          401,
          -9521,
          'withdrawal.totp_required',
        );
        assertError(
          await web(w, 'POST', '/withdrawals', { token: u.token, body: { ...body, totpCode: '000000' } }),
          401,
          -9522,
          'withdrawal.totp_invalid',
        );
        const ok = await web(w, 'POST', '/withdrawals', {
          token: u.token,
          body: { ...body, totpCode: totp(w, secret) },
        });
        assert.equal(ok.status, 200, ok.text);
      });

      it('refuses withdrawals at KYC tier 0 (403 -4015), without funds (-4026), off the allow-list (403 -4035), over the 24-hour limit (-4023)', async () => {
        const w = world();
        const u = await signUp(w);
        const body = { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS, amount: '0.1' };
        const withdraw = (over: Record<string, unknown> = {}) =>
          web(w, 'POST', '/withdrawals', { token: u.token, body: { ...body, ...over } });
        assertError(await withdraw(), 403, -4015, 'withdrawal.kyc_forbidden');
        await setKycTier(w, u.userId, 1);
        assertError(await withdraw(), 400, -4026, 'withdrawal.insufficient_balance');
        await deposit(w, u.userId, 'BTC', '5');
        assertError(await withdraw({ amount: '2.5' }), 400, -4023, 'withdrawal.limit_exceeded');
        await web(w, 'POST', '/withdrawalAddresses', {
          token: u.token,
          body: { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS },
        });
        assertError(
          await withdraw({ address: 'bc1qotheraddress' }),
          403,
          -4035,
          'withdrawal.address_not_allowed',
        );
        assertError(await withdraw({ coin: 'DOGE' }), 400, -4018, 'withdrawal.unknown_asset');
        assertError(await withdraw({ amount: '0.123456789' }), 400, -4021, 'withdrawal.amount_too_precise');
        assert.equal((await withdraw()).status, 200);
      });
    });

    describe('isolation', () => {
      it("a session of one user reaches nothing of another's: keys, sessions, addresses, withdrawals", async () => {
        const w = world();
        const alice = await signUp(w, 'alice');
        const bob = await signUp(w, 'bob');
        await setKycTier(w, alice.userId, 1);
        await deposit(w, alice.userId, 'BTC', '2');

        const key = (await web(w, 'POST', '/apiKeys', { token: alice.token, body: { label: 'a' } })).json;
        const session = (await web(w, 'GET', '/sessions', { token: alice.token })).json.sessions[0];
        const address = (
          await web(w, 'POST', '/withdrawalAddresses', {
            token: alice.token,
            body: { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS },
          })
        ).json;
        const pending = (
          await web(w, 'POST', '/withdrawals', {
            token: alice.token,
            body: { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS, amount: '1.5' },
          })
        ).json;
        assert.equal(pending.state, 'AWAITING_APPROVAL');

        assertError(
          await web(w, 'DELETE', '/apiKeys', { token: bob.token, query: `keyId=${key.keyId}` }),
          404,
          -9309,
        );
        assertError(
          await web(w, 'DELETE', '/sessions', { token: bob.token, query: `sessionId=${session.sessionId}` }),
          404,
          -9111,
        );
        assertError(
          await web(w, 'DELETE', '/withdrawalAddresses', { token: bob.token, query: `id=${address.id}` }),
          404,
          -9507,
        );
        assertError(
          await web(w, 'DELETE', '/withdrawals', { token: bob.token, query: `id=${pending.id}` }),
          404,
          -4029,
          'withdrawal.not_found',
        );
        for (const [route, field] of [
          ['/apiKeys', 'apiKeys'],
          ['/withdrawalAddresses', 'addresses'],
          ['/withdrawals', 'withdrawals'],
          ['/deposits', 'deposits'],
          ['/ledger', 'entries'],
        ] as const) {
          const r = await web(w, 'GET', route, { token: bob.token });
          assert.deepEqual(r.json[field], [], route);
        }
        assert.equal((await web(w, 'GET', '/sessions', { token: bob.token })).json.sessions.length, 1);

        // Alice's things are all still there.
        assert.equal((await web(w, 'GET', '/apiKeys', { token: alice.token })).json.apiKeys.length, 1);
        assert.equal((await web(w, 'GET', '/me', { token: alice.token })).status, 200);
        assert.equal(
          (await web(w, 'GET', '/withdrawalAddresses', { token: alice.token })).json.addresses.length,
          1,
        );
        const mine = await web(w, 'GET', '/withdrawals', { token: alice.token });
        assert.equal(mine.json.withdrawals[0].state, 'AWAITING_APPROVAL');
      });
    });
  });
});
