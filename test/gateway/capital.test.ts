/**
 * Binance's wallet endpoints (/sapi/v1/capital/...) over real sockets, signed the way Binance
 * clients sign, with API keys created through the web API and looked up in the accounts
 * database: deposit history after credits, withdrawals applied through the API and found in
 * the history (completed at or below the approval threshold, waiting above it), config/getall,
 * and Binance's codes for every refusal.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { approveWithdrawal } from '../../accounts/funds/withdrawal.service.ts';
import { forEachDialect } from '../accounts/dialects.ts';
import {
  BTC_ADDRESS,
  createKey,
  deposit,
  enableTotp,
  setKycTier,
  signed,
  signUp,
  type TestKey,
  type TestUser,
  totp,
  useWorld,
  type World,
  web,
} from './account-management-harness.test.ts';
import { ed25519, hmac, type Reply, send } from './helpers.ts';

const APPLY = '/sapi/v1/capital/withdraw/apply';
const WITHDRAW_HISTORY = '/sapi/v1/capital/withdraw/history';
const DEPOSIT_HISTORY = '/sapi/v1/capital/deposit/hisrec';
const GETALL = '/sapi/v1/capital/config/getall';

/** Binance's error reply: status, code, and no reason field (the /sapi shape). */
function assertBinanceError(r: Reply, status: number, code: number): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.code, code, r.text);
  assert.equal(typeof r.json?.msg, 'string', r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['code', 'msg']);
}

describe('wallet endpoints (/sapi/v1/capital)', function () {
  this.timeout(60_000);
  forEachDialect((dialect) => {
    const world = useWorld(dialect);

    /** A user at KYC tier 1 with a key that reads, and one that withdraws (from 127.0.0.1). */
    async function withdrawer(w: World): Promise<{ u: TestUser; reader: TestKey; payout: TestKey }> {
      const u = await signUp(w);
      await setKycTier(w, u.userId, 1);
      const reader = await createKey(w, u);
      const payout = await createKey(w, u, { permissions: { withdraw: true }, ipAllow: ['127.0.0.1'] });
      return { u, reader, payout };
    }

    const apply = (w: World, key: TestKey, params: Record<string, string> = {}) =>
      signed(w, 'POST', APPLY, key, {
        coin: 'BTC',
        network: 'BTC',
        address: BTC_ADDRESS,
        amount: '0.1',
        ...params,
      });

    describe('deposit history', () => {
      it("lists credited deposits with Binance's fields, newest first", async () => {
        const w = world();
        const u = await signUp(w);
        const key = await createKey(w, u);
        const first = await deposit(w, u.userId, 'BTC', '0.5');
        const second = await deposit(w, u.userId, 'USDT', '250.5');

        const r = await signed(w, 'GET', DEPOSIT_HISTORY, key);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.length, 2);
        const [usdt, btc] = r.json;
        assert.deepEqual(
          { ...usdt, insertTime: typeof usdt.insertTime },
          {
            id: String(second.id),
            amount: '250.50000000',
            coin: 'USDT',
            network: 'ETH',
            status: 1,
            address: '',
            addressTag: '',
            txId: second.txId,
            insertTime: 'number',
            transferType: 0,
            confirmTimes: '1/1',
            unlockConfirm: 0,
            walletType: 0,
          },
        );
        assert.equal(btc.id, String(first.id));
        assert.ok(Math.abs(btc.insertTime - Date.now()) < 60_000);
      });

      it('filters by coin, status, txId, time window and page; times in microseconds on request', async () => {
        const w = world();
        const u = await signUp(w);
        const key = await createKey(w, u);
        const d = await deposit(w, u.userId, 'BTC', '0.5');
        await deposit(w, u.userId, 'ETH', '2');
        const ids = async (params: Record<string, string>) =>
          (await signed(w, 'GET', DEPOSIT_HISTORY, key, params)).json.map((x: { coin: string }) => x.coin);
        assert.deepEqual(await ids({ coin: 'BTC' }), ['BTC']);
        assert.deepEqual(await ids({ status: '0' }), []);
        assert.deepEqual(await ids({ status: '1' }), ['ETH', 'BTC']);
        assert.deepEqual(await ids({ txId: d.txId }), ['BTC']);
        assert.deepEqual(await ids({ limit: '1' }), ['ETH']);
        assert.deepEqual(await ids({ offset: '1' }), ['BTC']);
        assert.deepEqual(await ids({ endTime: String(Date.now() - 3_600_000) }), []);
        assert.deepEqual(await ids({ startTime: String(Date.now() - 3_600_000) }), ['ETH', 'BTC']);

        const qs = `timestamp=${Date.now() * 1000}`;
        const micro = await send(w.gw, DEPOSIT_HISTORY, {
          query: `${qs}&signature=${hmac(key.secretKey, qs)}`,
          headers: { 'X-MBX-APIKEY': key.apiKey, 'X-MBX-TIME-UNIT': 'MICROSECOND' },
        });
        assert.equal(micro.status, 200, micro.text);
        assert.ok(micro.json[0].insertTime > 1e15, 'microseconds');
      });

      it("refuses bad parameters with Binance's codes: -1100, -1104, -4047 (window over 90 days)", async () => {
        const w = world();
        const u = await signUp(w);
        const key = await createKey(w, u);
        assertBinanceError(await signed(w, 'GET', DEPOSIT_HISTORY, key, { limit: 'ten' }), 400, -1100);
        assertBinanceError(await signed(w, 'GET', DEPOSIT_HISTORY, key, { symbol: 'BTCUSDT' }), 400, -1104);
        assertBinanceError(
          await signed(w, 'GET', DEPOSIT_HISTORY, key, { startTime: '0', endTime: String(Date.now()) }),
          400,
          -4047,
        );
        assertBinanceError(await signed(w, 'GET', DEPOSIT_HISTORY, key, { status: '9' }), 400, -9603);
      });

      it('shows a user only their own deposits, and needs a signed request', async () => {
        const w = world();
        const alice = await signUp(w, 'alice');
        const bob = await signUp(w, 'bob');
        await deposit(w, alice.userId, 'BTC', '1');
        const bobKey = await createKey(w, bob);
        assert.deepEqual((await signed(w, 'GET', DEPOSIT_HISTORY, bobKey)).json, []);
        assertBinanceError(await send(w.gw, DEPOSIT_HISTORY), 401, -2014);
      });
    });

    describe('withdraw apply and withdraw history', () => {
      it("completes a withdrawal at or below the approval threshold and lists it with Binance's fields", async () => {
        const w = world();
        const { u, reader, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '2');
        const r = await apply(w, payout, { amount: '0.5', withdrawOrderId: 'pay-1' });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json), ['id']);
        assert.match(r.json.id, /^\d+$/);
        assert.equal(w.core.balancesOf(u.userId)[0]?.free, 150_000_000);

        const h = await signed(w, 'GET', WITHDRAW_HISTORY, reader);
        assert.equal(h.status, 200, h.text);
        assert.equal(h.json.length, 1);
        const x = h.json[0];
        assert.deepEqual(
          { ...x, txId: typeof x.txId, applyTime: typeof x.applyTime, completeTime: typeof x.completeTime },
          {
            id: r.json.id,
            amount: '0.50000000',
            transactionFee: '0.00000000',
            coin: 'BTC',
            status: 6,
            address: BTC_ADDRESS,
            txId: 'string',
            applyTime: 'string',
            network: 'BTC',
            transferType: 0,
            withdrawOrderId: 'pay-1',
            info: '',
            confirmNo: 1,
            walletType: 0,
            txKey: '',
            completeTime: 'string',
          },
        );
        assert.match(x.applyTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
        assert.match(x.txId, /^[0-9a-f]{64}$/);
      });

      it('leaves a withdrawal above the threshold awaiting approval (status 2), then completed once approved', async () => {
        const w = world();
        const { u, reader, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '2');
        const r = await apply(w, payout, { amount: '1.5' });
        assert.equal(r.status, 200, r.text);
        const waiting = (await signed(w, 'GET', WITHDRAW_HISTORY, reader)).json[0];
        assert.equal(waiting.status, 2);
        assert.equal(waiting.txId, '');
        assert.equal(waiting.completeTime, undefined);
        assert.equal(waiting.withdrawOrderId, undefined);

        await approveWithdrawal(w.adb.db, w.engine, Number(r.json.id), 'alice');
        const done = (await signed(w, 'GET', WITHDRAW_HISTORY, reader)).json[0];
        assert.equal(done.status, 6);
        assert.equal(w.core.balancesOf(u.userId)[0]?.free, 50_000_000);
      });

      it('filters the history by coin, status, withdrawOrderId and idList', async () => {
        const w = world();
        const { u, reader, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '2');
        const a = (await apply(w, payout, { amount: '0.1', withdrawOrderId: 'a' })).json.id;
        const b = (await apply(w, payout, { amount: '1.2', withdrawOrderId: 'b' })).json.id;
        const ids = async (params: Record<string, string>) =>
          (await signed(w, 'GET', WITHDRAW_HISTORY, reader, params)).json.map((x: { id: string }) => x.id);
        assert.deepEqual(await ids({}), [b, a]);
        assert.deepEqual(await ids({ status: '6' }), [a]);
        assert.deepEqual(await ids({ status: '2' }), [b]);
        assert.deepEqual(await ids({ withdrawOrderId: 'b' }), [b]);
        assert.deepEqual(await ids({ idList: `${a},${b}` }), [b, a]);
        assert.deepEqual(await ids({ idList: a }), [a]);
        assert.deepEqual(await ids({ coin: 'ETH' }), []);
        assertBinanceError(await signed(w, 'GET', WITHDRAW_HISTORY, reader, { idList: 'abc' }), 400, -1100);
      });

      it("picks the coin's default network when none is sent", async () => {
        const w = world();
        const { u, reader, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'USDT', '100');
        const r = await signed(w, 'POST', APPLY, payout, { coin: 'USDT', address: '0xabc123', amount: '10' });
        assert.equal(r.status, 200, r.text);
        assert.equal((await signed(w, 'GET', WITHDRAW_HISTORY, reader)).json[0].network, 'ETH');
      });

      it('needs a key with the withdraw permission (-2015), used from an allowed address (-2015), at KYC tier 1+ (-2015)', async () => {
        const w = world();
        const { u, reader } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '1');
        assertBinanceError(await apply(w, reader), 401, -2015);
        const elsewhere = await createKey(w, u, { permissions: { withdraw: true }, ipAllow: ['10.1.2.3'] });
        assertBinanceError(await apply(w, elsewhere), 401, -2015);

        const tier0 = await signUp(w);
        const key0 = await createKey(w, tier0, { permissions: { withdraw: true }, ipAllow: ['127.0.0.1'] });
        assertBinanceError(await apply(w, key0), 401, -2015);
      });

      it("refuses with Binance's wallet codes: -4026 funds, -4018 coin, -4019 network, -4035 allow-list, -4023 24-hour limit, -4021 precision, -4022 zero", async () => {
        const w = world();
        const { u, payout } = await withdrawer(w);
        assertBinanceError(await apply(w, payout), 400, -4026);
        await deposit(w, u.userId, 'BTC', '5');
        assertBinanceError(await apply(w, payout, { coin: 'DOGE' }), 400, -4018);
        assertBinanceError(await apply(w, payout, { network: 'TRX' }), 400, -4019);
        assertBinanceError(await apply(w, payout, { amount: '2.5' }), 400, -4023);
        assertBinanceError(await apply(w, payout, { amount: '0.000000001' }), 400, -4021);
        assertBinanceError(await apply(w, payout, { amount: '0' }), 400, -4022);
        await web(w, 'POST', '/withdrawalAddresses', {
          token: u.token,
          body: { coin: 'BTC', network: 'BTC', address: BTC_ADDRESS },
        });
        assertBinanceError(await apply(w, payout, { address: 'bc1qsomewhereelse' }), 403, -4035);
        assert.equal((await apply(w, payout)).status, 200);
      });

      it('refuses malformed requests: -1102 missing, -1100 malformed amount, -4008 address tag, -1104 unknown parameter, -9524 repeated withdrawOrderId', async () => {
        const w = world();
        const { u, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '1');
        assertBinanceError(
          await signed(w, 'POST', APPLY, payout, { coin: 'BTC', amount: '0.1' }),
          400,
          -1102,
        );
        assertBinanceError(await apply(w, payout, { amount: '1e-3' }), 400, -1100);
        assertBinanceError(await apply(w, payout, { addressTag: '123' }), 400, -4008);
        assertBinanceError(await apply(w, payout, { totpCode: '123456' }), 400, -1104);
        assertBinanceError(await apply(w, payout, { walletType: '1' }), 400, -1130);
        assert.equal((await apply(w, payout, { withdrawOrderId: 'once', addressTag: '' })).status, 200);
        assertBinanceError(await apply(w, payout, { withdrawOrderId: 'once' }), 409, -9524);
      });

      it('asks API withdrawals for no one-time code, even when the user has the second factor on', async () => {
        const w = world();
        const u = await signUp(w);
        await setKycTier(w, u.userId, 1);
        await deposit(w, u.userId, 'BTC', '1');
        const secret = await enableTotp(w, u);
        const payout = await createKey(w, u, {
          permissions: { withdraw: true },
          ipAllow: ['127.0.0.1'],
          totpCode: totp(w, secret),
        });
        const r = await apply(w, payout);
        assert.equal(r.status, 200, r.text);
      });

      it('signs with an Ed25519 key created through the web API; a deleted key is refused (-2015)', async () => {
        const w = world();
        const u = await signUp(w);
        await deposit(w, u.userId, 'ETH', '1');
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
        const created = await web(w, 'POST', '/apiKeys', {
          token: u.token,
          body: { label: 'ed', type: 'ED25519', publicKey: pem },
        });
        assert.equal(created.status, 200, created.text);
        const qs = `coin=ETH&timestamp=${Date.now()}`;
        const r = await send(w.gw, DEPOSIT_HISTORY, {
          query: `${qs}&signature=${ed25519(privateKey, qs)}`,
          headers: { 'X-MBX-APIKEY': created.json.apiKey },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.length, 1);

        const hmacKey = await createKey(w, u);
        assert.equal((await signed(w, 'GET', DEPOSIT_HISTORY, hmacKey)).status, 200);
        await web(w, 'DELETE', '/apiKeys', { token: u.token, query: `keyId=${hmacKey.keyId}` });
        assertBinanceError(await signed(w, 'GET', DEPOSIT_HISTORY, hmacKey), 401, -2015);
      });

      it("keeps one user's withdrawals out of another's history", async () => {
        const w = world();
        const { u, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '1');
        assert.equal((await apply(w, payout)).status, 200);
        const other = await signUp(w);
        const otherKey = await createKey(w, other);
        assert.deepEqual((await signed(w, 'GET', WITHDRAW_HISTORY, otherKey)).json, []);
      });
    });

    describe('config/getall', () => {
      it("lists every asset with its networks, fees, limits and the caller's balances", async () => {
        const w = world();
        const { u, reader, payout } = await withdrawer(w);
        await deposit(w, u.userId, 'BTC', '2');
        assert.equal((await apply(w, payout, { amount: '1.5' })).status, 200);
        const r = await signed(w, 'GET', GETALL, reader);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(
          r.json.map((c: { coin: string }) => c.coin),
          ['BTC', 'ETH', 'USDT'],
        );
        const btc = r.json[0];
        assert.equal(btc.free, '0.50000000');
        assert.equal(btc.locked, '0.00000000');
        assert.equal(btc.withdrawing, '1.50000000');
        assert.equal(btc.depositAllEnable, true);
        assert.equal(btc.withdrawAllEnable, true);
        assert.equal(btc.trading, true);
        assert.equal(btc.isLegalMoney, false);
        assert.equal(btc.networkList.length, 1);
        const net = btc.networkList[0];
        assert.equal(net.network, 'BTC');
        assert.equal(net.isDefault, true);
        assert.equal(net.withdrawFee, '0.00000000');
        assert.equal(net.withdrawMin, '0.00000001');
        assert.equal(net.withdrawIntegerMultiple, '0.00000001');
        assert.equal(net.withdrawMax, '2.00000000');
        assert.equal(net.withdrawEnable, true);
        assert.ok(new RegExp(net.addressRegex).test(BTC_ADDRESS));
        const usdt = r.json[2];
        assert.deepEqual(
          usdt.networkList.map((n: { network: string; isDefault: boolean }) => [n.network, n.isDefault]),
          [
            ['ETH', true],
            ['TRX', false],
          ],
        );
      });

      it('says a KYC tier 0 account cannot withdraw (withdrawEnable false, withdrawMax 0)', async () => {
        const w = world();
        const u = await signUp(w);
        const key = await createKey(w, u);
        const r = await signed(w, 'GET', GETALL, key);
        assert.equal(r.status, 200, r.text);
        const btc = r.json[0];
        assert.equal(btc.withdrawAllEnable, false);
        assert.equal(btc.depositAllEnable, true);
        assert.equal(btc.networkList[0].withdrawEnable, false);
        assert.equal(btc.networkList[0].withdrawMax, '0.00000000');
        assert.equal(btc.free, '0.00000000');
        assertBinanceError(await signed(w, 'GET', GETALL, key, { coin: 'BTC' }), 400, -1104);
      });
    });
  });
});
