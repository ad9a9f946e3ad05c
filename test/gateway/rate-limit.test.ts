/**
 * Rate limits as Binance applies them: request weight per IP with X-MBX-USED-WEIGHT-* headers,
 * 429 with Retry-After, 418 and an escalating ban for an IP that keeps going, order counts per
 * account with X-MBX-ORDER-COUNT-* headers and -1015; windows aligned like Binance's; memory
 * that does not grow with the number of addresses seen. Time is the test's.
 */
import assert from 'node:assert/strict';
import {
  DEFAULT_RATE_LIMITS,
  RateLimiter,
  type RateLimitSettings,
  type RateVerdict,
} from '../../gateway/auth/rate-limit.ts';
import { jsonResponse } from '../../gateway/http/http-types.ts';
import { gatewaySettingsFromEnv } from '../../gateway/http/settings.ts';
import { FakeApiKeys, FakeClock, hmac, send, startTestGateway } from './helpers.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Small limits so that tests reach them quickly. */
const small = (over: Partial<RateLimitSettings['ban']> = {}): RateLimitSettings => ({
  requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 10 }],
  orders: [
    { interval: 'SECOND', intervalNum: 10, limit: 3 },
    { interval: 'DAY', intervalNum: 1, limit: 5 },
  ],
  ban: { ...DEFAULT_RATE_LIMITS.ban, rejectionsBeforeBan: 2, ...over },
});

/** A limiter on a clock the test moves (starting at a minute boundary). */
function limiter(settings: RateLimitSettings) {
  const time = { now: Date.UTC(2026, 0, 15, 12, 0, 0) };
  return { time, rl: new RateLimiter(settings, () => time.now) };
}

function failed(v: RateVerdict): {
  status: number;
  code: number;
  msg: string;
  retryAfter: string | undefined;
} {
  assert.equal(v.ok, false, 'expected a refusal');
  if (v.ok) throw new Error('unreachable');
  return {
    status: v.error.status,
    code: v.error.code,
    msg: v.error.msg,
    retryAfter: v.headers['Retry-After'],
  };
}

describe('rate limits', () => {
  describe('request weight per IP', () => {
    it('counts weight per IP and reports it in X-MBX-USED-WEIGHT-1M', () => {
      const { rl } = limiter(small());
      assert.deepEqual(rl.chargeIp('1.1.1.1', 4).headers, { 'X-MBX-USED-WEIGHT-1M': '4' });
      assert.deepEqual(rl.chargeIp('1.1.1.1', 6).headers, { 'X-MBX-USED-WEIGHT-1M': '10' });
      assert.deepEqual(rl.chargeIp('2.2.2.2', 1).headers, { 'X-MBX-USED-WEIGHT-1M': '1' });
    });

    it('refuses weight over the limit with 429 -1003 and Retry-After until the window resets', () => {
      const { rl, time } = limiter(small());
      rl.chargeIp('1.1.1.1', 10);
      time.now += 15_500;
      const f = failed(rl.chargeIp('1.1.1.1', 1));
      assert.equal(f.status, 429);
      assert.equal(f.code, -1003);
      assert.equal(
        f.msg,
        'Too much request weight used; current limit is 10 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
      );
      assert.equal(f.retryAfter, '45');
    });

    it('starts a new window at the next full minute, not a minute after the first request', () => {
      const { rl, time } = limiter(small());
      time.now += 59_000;
      rl.chargeIp('1.1.1.1', 10);
      time.now += 1_000;
      assert.equal(rl.chargeIp('1.1.1.1', 10).ok, true);
    });

    it('bans an IP that keeps sending after 429s: 418, two minutes, with Retry-After', () => {
      const { rl, time } = limiter(small());
      rl.chargeIp('6.6.6.6', 10);
      assert.equal(failed(rl.chargeIp('6.6.6.6', 1)).status, 429);
      assert.equal(failed(rl.chargeIp('6.6.6.6', 1)).status, 429);
      const ban = failed(rl.chargeIp('6.6.6.6', 1));
      assert.equal(ban.status, 418);
      assert.equal(ban.code, -1003);
      const until = time.now + 2 * MINUTE;
      assert.equal(
        ban.msg,
        `Way too much request weight used; IP banned until ${until}. Please use WebSocket Streams for live updates to avoid bans.`,
      );
      assert.equal(ban.retryAfter, '120');
      time.now += 90_000;
      const still = failed(rl.chargeIp('6.6.6.6', 1));
      assert.equal(still.status, 418);
      assert.equal(still.retryAfter, '30');
      time.now += 30_000;
      assert.equal(rl.chargeIp('6.6.6.6', 1).ok, true, 'the ban is over');
      assert.equal(rl.chargeIp('7.7.7.7', 1).ok, true, 'other IPs were never affected');
    });

    it('doubles the ban for each repeat offence, up to three days', () => {
      const { rl, time } = limiter(small({ rejectionsBeforeBan: 0 }));
      const lengths: number[] = [];
      for (let i = 0; i < 14; i++) {
        rl.chargeIp('6.6.6.6', 10);
        const ban = failed(rl.chargeIp('6.6.6.6', 1));
        assert.equal(ban.status, 418);
        lengths.push(Number(ban.retryAfter));
        time.now += Number(ban.retryAfter) * 1000;
        time.now += MINUTE - (time.now % MINUTE);
      }
      assert.deepEqual(
        lengths,
        [120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720, 61440, 122880, 245760, 259200, 259200],
      );
    });

    it('forgets offences after the memory period: the next ban is two minutes again', () => {
      const { rl, time } = limiter(small({ rejectionsBeforeBan: 0, offenceMemoryMillis: DAY }));
      rl.chargeIp('6.6.6.6', 10);
      assert.equal(failed(rl.chargeIp('6.6.6.6', 1)).retryAfter, '120');
      time.now += 2 * MINUTE + DAY + 1;
      rl.chargeIp('6.6.6.6', 10);
      assert.equal(failed(rl.chargeIp('6.6.6.6', 1)).retryAfter, '120');
    });

    it('does not grow with the number of addresses seen (old windows are dropped)', () => {
      const { rl, time } = limiter(small());
      for (let i = 0; i < 5_000; i++) rl.chargeIp(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1);
      assert.equal(rl.size().ips, 5_000);
      time.now += 2 * MINUTE;
      rl.chargeIp('1.1.1.1', 1);
      assert.equal(rl.size().ips, 1);
      for (let user = 1; user <= 500; user++) rl.chargeOrder(user);
      assert.equal(rl.size().accounts, 500);
      time.now += 2 * DAY;
      rl.chargeOrder(1);
      assert.equal(rl.size().accounts, 1, 'accounts are dropped once their day window ends');
    });
  });

  describe('orders per account', () => {
    it('counts orders per account in X-MBX-ORDER-COUNT-10S and -1D', () => {
      const { rl } = limiter(small());
      const v = rl.chargeOrder(7);
      assert.equal(v.ok, true);
      assert.deepEqual(v.headers, { 'X-MBX-ORDER-COUNT-10S': '1', 'X-MBX-ORDER-COUNT-1D': '1' });
      assert.deepEqual(rl.chargeOrder(8).headers, {
        'X-MBX-ORDER-COUNT-10S': '1',
        'X-MBX-ORDER-COUNT-1D': '1',
      });
    });

    it('refuses the order over the 10-second limit with 429 -1015, without counting it', () => {
      const { rl, time } = limiter(small());
      for (let i = 0; i < 3; i++) assert.equal(rl.chargeOrder(7).ok, true);
      time.now += 4_000;
      const f = failed(rl.chargeOrder(7));
      assert.equal(f.status, 429);
      assert.equal(f.code, -1015);
      assert.equal(f.msg, 'Too many new orders; current limit is 3 orders per TEN_SECONDS.');
      assert.equal(f.retryAfter, '6');
      assert.deepEqual(
        rl.orderUsage(7).map((u) => u.count),
        [3, 3],
      );
      time.now += 6_000;
      assert.equal(rl.chargeOrder(7).ok, true, 'a new 10-second window');
    });

    it('refuses orders over the daily limit until 00:00 UTC', () => {
      const { rl, time } = limiter(small());
      for (let i = 0; i < 5; i++) {
        assert.equal(rl.chargeOrder(7).ok, true);
        time.now += 10_000;
      }
      const f = failed(rl.chargeOrder(7));
      assert.equal(f.msg, 'Too many new orders; current limit is 5 orders per DAY.');
      time.now += DAY - (time.now % DAY);
      assert.equal(rl.chargeOrder(7).ok, true);
    });

    it("Binance's default limits: 6000 weight a minute, 100 orders per 10 s, 200,000 a day", () => {
      const { rl } = limiter(DEFAULT_RATE_LIMITS);
      assert.deepEqual(rl.rateLimits(), [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
      ]);
    });
  });

  describe('configuration', () => {
    it('reads limits from the environment, refusing unusable values', () => {
      const s = gatewaySettingsFromEnv({
        CROSSBOOK_RATE_WEIGHT_PER_MINUTE: '1200',
        CROSSBOOK_RATE_ORDERS_PER_10S: '50',
        CROSSBOOK_RATE_ORDERS_PER_DAY: '160000',
        CROSSBOOK_TRUST_PROXY: 'true',
      });
      assert.equal(s.port, 8080);
      assert.equal(s.trustProxy, 1);
      assert.equal(s.rateLimits.requestWeight[0]?.limit, 1200);
      assert.deepEqual(
        s.rateLimits.orders.map((r) => r.limit),
        [50, 160000],
      );
      assert.throws(
        () => gatewaySettingsFromEnv({ CROSSBOOK_RATE_WEIGHT_PER_MINUTE: 'lots' }),
        /CROSSBOOK_RATE_WEIGHT/,
      );
      assert.throws(() => gatewaySettingsFromEnv({ PORT: '70000' }), /PORT/);
      assert.throws(
        () =>
          new RateLimiter(
            { ...small(), requestWeight: [{ interval: 'MINUTE', intervalNum: 0, limit: 1 }] },
            Date.now,
          ),
        RangeError,
      );
    });
  });

  describe('over HTTP', () => {
    const SECRET = 'rate-limit-secret';

    it('sends X-MBX-USED-WEIGHT-1M on every reply, 429 then 418 with Retry-After', async () => {
      const clock = new FakeClock();
      clock.micros = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;
      const gw = await startTestGateway({ clock, rateLimits: small() });
      try {
        assert.equal((await send(gw, '/api/v3/ping')).headers['x-mbx-used-weight-1m'], '1');
        assert.equal((await send(gw, '/api/v3/nothing')).headers['x-mbx-used-weight-1m'], '2');
        const over = await send(gw, '/api/v3/exchangeInfo');
        assert.equal(over.status, 429);
        assert.equal(over.json.code, -1003);
        assert.equal(over.headers['retry-after'], '60');
        assert.equal(over.headers['x-mbx-used-weight-1m'], '22');
        assert.equal((await send(gw, '/api/v3/ping')).status, 429);
        const banned = await send(gw, '/api/v3/ping');
        assert.equal(banned.status, 418);
        assert.equal(banned.json.code, -1003);
        assert.match(banned.json.msg, /^Way too much request weight used; IP banned until \d+\./);
        assert.equal(banned.headers['retry-after'], '120');
        clock.advanceMillis(2 * MINUTE);
        assert.equal((await send(gw, '/api/v3/ping')).status, 200);
      } finally {
        await gw.close();
      }
    });

    it('counts orders on order routes, 429 -1015 over the limit, and reports usage', async () => {
      const clock = new FakeClock();
      const keys = new FakeApiKeys();
      const apiKey = keys.addHmac('orders', SECRET);
      const gw = await startTestGateway({
        clock,
        apiKeys: keys,
        rateLimits: { ...small(), requestWeight: DEFAULT_RATE_LIMITS.requestWeight },
        routes: [
          {
            method: 'POST',
            path: '/api/v3/order',
            security: 'TRADE',
            weight: 1,
            countsAsOrder: true,
            handler: async () => jsonResponse({ orderId: 1 }),
          },
        ],
      });
      const signed = (): string => {
        const q = `symbol=BTCUSDT&timestamp=${clock.millis}`;
        return `${q}&signature=${hmac(SECRET, q)}`;
      };
      const order = () =>
        send(gw, '/api/v3/order', { method: 'POST', query: signed(), headers: { 'X-MBX-APIKEY': apiKey } });
      try {
        for (let i = 1; i <= 3; i++) {
          const r = await order();
          assert.equal(r.status, 200);
          assert.equal(r.headers['x-mbx-order-count-10s'], String(i));
          assert.equal(r.headers['x-mbx-order-count-1d'], String(i));
        }
        const refused = await order();
        assert.equal(refused.status, 429);
        assert.deepEqual(refused.json, {
          code: -1015,
          msg: 'Too many new orders; current limit is 3 orders per TEN_SECONDS.',
        });
        const usage = await send(gw, '/api/v3/rateLimit/order', {
          query: signed(),
          headers: { 'X-MBX-APIKEY': apiKey },
        });
        assert.deepEqual(usage.json, [
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 3, count: 3 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 5, count: 3 },
        ]);
        assert.equal(usage.headers['x-mbx-order-count-10s'], undefined, 'only order routes count orders');
        const info = await send(gw, '/api/v3/exchangeInfo');
        assert.deepEqual(info.json.rateLimits, [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 3 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 5 },
        ]);
      } finally {
        await gw.close();
      }
    });
  });
});
