/**
 * Arbitrary input never escapes as anything but a Binance error: every parser the pipeline
 * runs before a handler either returns or throws BinanceApiError with a 4xx status (a plain
 * exception there would become a 500). Property tests with fast-check, seeded.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmacSha256, signedPayload, verifyHmac } from '../../gateway/auth/signature.ts';
import { parseTimeUnit } from '../../gateway/auth/time-unit.ts';
import { parseRecvWindow, parseTimestamp } from '../../gateway/auth/timing.ts';
import { BinanceApiError } from '../../gateway/binance/errors.ts';
import { parseExchangeInfoQuery } from '../../gateway/binance/exchange-info.ts';
import { clientIp, ipAllowed, normalizeIp } from '../../gateway/http/ip.ts';
import { parseParams } from '../../gateway/http/params.ts';

/** Runs `f`; passes if it returns or throws a 4xx BinanceApiError. */
function onlyBinanceErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof BinanceApiError, `threw ${String(e)}`);
    assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
  }
}

/** Strings that look like query strings: names, values, separators, escapes, unicode. */
const queryish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '&',
        '=',
        '%',
        '+',
        '%2',
        '%ZZ',
        '%E2%82',
        '%00',
        'signature=',
        'symbol',
        'timestamp=',
        '[',
        '"',
      ),
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

const params = { seed: 20260115, numRuns: 2000 };

describe('gateway input parsing', () => {
  it('decodes any query string and body, or refuses it with a Binance error', () => {
    fc.assert(
      fc.property(queryish, queryish, (q, b) => {
        onlyBinanceErrors(() => parseParams(q, b));
      }),
      params,
    );
  });

  it('reads exchangeInfo parameters from anything, or refuses them with a Binance error', () => {
    const names = fc.constantFrom('symbol', 'symbols', 'permissions', 'symbolStatus', 'showPermissionSets');
    fc.assert(
      fc.property(
        fc.dictionary(names, fc.oneof(queryish, fc.constantFrom('["BTCUSDT"]', '[]', 'SPOT'))),
        (d) => {
          onlyBinanceErrors(() => parseExchangeInfoQuery(new Map(Object.entries(d))));
        },
      ),
      params,
    );
  });

  it('reads timestamps, windows and time units from anything, or refuses them with a Binance error', () => {
    fc.assert(
      fc.property(fc.oneof(queryish, fc.stringMatching(/^[0-9]{0,25}(\.[0-9]{0,5})?$/)), (s) => {
        onlyBinanceErrors(() => parseTimestamp(s, 'MILLISECOND'));
        onlyBinanceErrors(() => parseTimestamp(s, 'MICROSECOND'));
        onlyBinanceErrors(() => parseRecvWindow(s));
        onlyBinanceErrors(() => parseTimeUnit(s));
      }),
      params,
    );
  });

  it('never throws while finding the signed payload', () => {
    fc.assert(
      fc.property(queryish, fc.uint8Array({ maxLength: 64 }), (q, body) => {
        const r = signedPayload(q, Buffer.from(body));
        assert.ok(r === 'missing' || r === 'not-last' || Buffer.isBuffer(r.payload));
      }),
      params,
    );
  });

  it('computes HMAC-SHA256 as createHmac does, for secrets shorter and longer than a block', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })),
        fc.uint8Array({ maxLength: 3000 }),
        (secret, bytes) => {
          const payload = Buffer.from(bytes);
          const expected = createHmac('sha256', secret).update(payload).digest();
          assert.deepEqual(hmacSha256(secret, payload), expected);
          // The scratch buffer and the per-secret pads are reused: a second call agrees.
          assert.deepEqual(hmacSha256(secret, payload), expected);
          assert.equal(verifyHmac({ secret }, payload, expected.toString('hex').toUpperCase()), true);
          const wrong = Buffer.from(expected);
          wrong[31]! ^= 1;
          assert.equal(verifyHmac({ secret }, payload, wrong.toString('hex')), false);
          assert.equal(verifyHmac({}, payload, expected.toString('hex')), false, 'a key without a secret');
        },
      ),
      params,
    );
  });

  it('accepts exactly the 64-hex-digit signatures that match, in any case', () => {
    const secret = 's'.repeat(64);
    // One key object for every check: its pads are made once and reused.
    const key = { secret };
    const payload = Buffer.from('symbol=BTCUSDT&timestamp=1');
    const good = createHmac('sha256', secret).update(payload).digest('hex');
    const hexish = fc.constantFrom(...'0123456789abcdefABCDEFgz %+é');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(63), hexish), { maxLength: 3 }),
        fc.boolean(),
        fc.integer({ min: -1, max: 1 }),
        (edits, upper, lengthChange) => {
          let sig = upper ? good.toUpperCase() : good;
          for (const [at, c] of edits) sig = sig.slice(0, at) + c + sig.slice(at + 1);
          if (lengthChange < 0) sig = sig.slice(1);
          if (lengthChange > 0) sig = `${sig}0`;
          const expected = /^[0-9a-fA-F]{64}$/.test(sig) && sig.toLowerCase() === good;
          assert.equal(verifyHmac(key, payload, sig), expected, sig);
        },
      ),
      params,
    );
  });

  it('never throws on addresses and forwarded headers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), queryish), queryish, fc.nat(3), (peer, xff, hops) => {
        normalizeIp(peer);
        const ip = clientIp(peer, xff, hops);
        ipAllowed(ip, [xff]);
        ipAllowed(ip, ['10.0.0.0/8', peer]);
      }),
      params,
    );
  });
});
