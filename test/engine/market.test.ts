/**
 * Markets and decimals: decimal strings <-> integer units (never rounded), a price or
 * quantity string onto the market's grid (off-grid is rejected), and market definitions
 * that could not be traded safely refused up front.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  type AssetSpec,
  decimalPlaces,
  defineMarket,
  formatDecimal,
  loadMarketsFile,
  lotsToQty,
  MarketDefinitionError,
  type MarketSpec,
  Markets,
  notionalUnits,
  parseDecimal,
  pow10,
  priceToTicks,
  qtyToLots,
  ResultCode,
  StpMode,
  ticksToPrice,
} from '../../engine/index.ts';
import { SIMPLE_SPEC, simpleMarket, TEST_ASSETS } from './helpers.ts';

const { markets: demo } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);
const BTCUSDT = demo.get('BTCUSDT')!;

/** A BTCUSDT-like market on the test assets, with fields overridden. */
function btcSpec(over: Partial<MarketSpec> = {}): MarketSpec {
  return {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.00001',
    minPrice: '0.01',
    maxPrice: '1000000',
    minQty: '0.00001',
    maxQty: '90',
    minNotional: '5',
    ...over,
  };
}

const rejects = (over: Partial<MarketSpec>, message: RegExp, assets = TEST_ASSETS): void => {
  assert.throws(
    () => defineMarket(0, btcSpec(over), assets),
    (e: unknown) => e instanceof MarketDefinitionError && message.test(e.message),
    `expected ${message} for ${JSON.stringify(over)}`,
  );
};

describe('decimals', () => {
  describe('parseDecimal', () => {
    it('parses a decimal into integer units of 10^-scale', () => {
      assert.deepEqual(parseDecimal('123.45', 2), { ok: true, units: 12345 });
      assert.deepEqual(parseDecimal('0.05', 2), { ok: true, units: 5 });
      assert.deepEqual(parseDecimal('12', 3), { ok: true, units: 12000 });
      assert.deepEqual(parseDecimal('1.5', 3), { ok: true, units: 1500 });
      assert.deepEqual(parseDecimal('00012', 0), { ok: true, units: 12 });
      assert.deepEqual(parseDecimal('0', 8), { ok: true, units: 0 });
      assert.deepEqual(parseDecimal('0.00000001', 8), { ok: true, units: 1 });
    });

    it('accepts trailing zeros beyond the scale (Binance pads to 8 decimals)', () => {
      assert.deepEqual(parseDecimal('0.01000000', 2), { ok: true, units: 1 });
      assert.deepEqual(parseDecimal('5.000000000000000000000000000000', 0), { ok: true, units: 5 });
    });

    it('rejects a decimal more precise than the scale instead of rounding it', () => {
      for (const [text, scale] of [
        ['0.011', 2],
        ['0.019', 2],
        ['1.5', 0],
        ['0.000000001', 8],
        ['2.0000000000001', 2],
      ] as const) {
        assert.deepEqual(
          parseDecimal(text, scale),
          { ok: false, code: ResultCode.DECIMAL_TOO_PRECISE },
          text,
        );
      }
    });

    it('rejects malformed text: signs, exponents, spaces, separators, empty parts', () => {
      for (const text of [
        '',
        '.',
        '.5',
        '5.',
        '-1',
        '+1',
        '1e5',
        '1E5',
        '1,5',
        ' 1',
        '1 ',
        '0x10',
        'NaN',
        'Infinity',
        '1.2.3',
        '1_000',
        '\uff11', // a full-width digit
        '1'.repeat(31),
      ]) {
        assert.deepEqual(
          parseDecimal(text, 2),
          { ok: false, code: ResultCode.DECIMAL_MALFORMED },
          JSON.stringify(text),
        );
      }
    });

    it('rejects a value beyond Number.MAX_SAFE_INTEGER units', () => {
      assert.deepEqual(parseDecimal('9007199254740991', 0), { ok: true, units: Number.MAX_SAFE_INTEGER });
      assert.equal(parseDecimal('9007199254740992', 0).ok, false);
      assert.equal(parseDecimal('90071992547409.92', 2).ok, false);
      assert.equal(parseDecimal('1'.repeat(30), 0).ok, false);
      assert.equal(parseDecimal('100000000', 8).ok, false, '1e8 at scale 8 is 1e16 units');
    });

    it('inverts formatDecimal for every safe amount and scale', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.integer({ min: 0, max: 18 }),
          (u, s) => {
            const text = formatDecimal(u, s);
            assert.deepEqual(parseDecimal(text, s), { ok: true, units: u });
            assert.equal(decimalPlaces(text) <= s, true);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('formatDecimal', () => {
    it('formats units with exactly the scale decimals', () => {
      assert.equal(formatDecimal(12345, 2), '123.45');
      assert.equal(formatDecimal(5, 2), '0.05');
      assert.equal(formatDecimal(0, 2), '0.00');
      assert.equal(formatDecimal(7, 0), '7');
      assert.equal(formatDecimal(-5, 2), '-0.05');
      assert.equal(formatDecimal(Number.MAX_SAFE_INTEGER, 8), '90071992.54740991');
    });

    it('pads to more decimals, and drops only zero digits for fewer', () => {
      assert.equal(formatDecimal(12345, 2, 8), '123.45000000');
      assert.equal(formatDecimal(12300, 2, 1), '123.0');
      assert.equal(formatDecimal(500, 2, 0), '5');
      assert.throws(() => formatDecimal(12345, 2, 1), RangeError);
    });

    it('refuses an amount that is not a safe integer', () => {
      for (const u of [1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
        assert.throws(() => formatDecimal(u, 2), RangeError, String(u));
      }
    });
  });

  it('counts decimal places ignoring trailing zeros', () => {
    assert.equal(decimalPlaces('0.0100'), 2);
    assert.equal(decimalPlaces('1'), 0);
    assert.equal(decimalPlaces('1.000'), 0);
    assert.equal(decimalPlaces('0.00001'), 5);
  });

  it('computes exact powers of ten up to 10^15 only', () => {
    assert.equal(pow10(0), 1);
    assert.equal(pow10(15), 1e15);
    for (const n of [-1, 16, 1.5]) assert.throws(() => pow10(n), RangeError);
  });
});

describe('markets', () => {
  describe('the demo markets file', () => {
    it('loads with ids dense from 0 in file order, by symbol and by id', () => {
      assert.deepEqual(
        demo.list.map((m) => [m.symbolId, m.symbol]),
        [
          [0, 'BTCUSDT'],
          [1, 'ETHUSDT'],
          [2, 'ETHBTC'],
        ],
      );
      assert.equal(demo.byId(2), demo.get('ETHBTC'));
      assert.equal(demo.get('DOGEUSDT'), undefined);
      assert.equal(demo.byId(3), undefined);
      assert.deepEqual([...demo.assets.keys()], ['BTC', 'ETH', 'USDT']);
    });

    it('derives BTCUSDT integer bounds from its decimal filters', () => {
      const m = BTCUSDT;
      assert.deepEqual(
        {
          pricePrecision: m.pricePrecision,
          qtyPrecision: m.qtyPrecision,
          tickUnits: m.tickUnits,
          lotUnits: m.lotUnits,
          minPriceTicks: m.minPriceTicks,
          maxPriceTicks: m.maxPriceTicks,
          minQtyLots: m.minQtyLots,
          maxQtyLots: m.maxQtyLots,
          marketMaxQtyLots: m.marketMaxQtyLots,
          quoteUnitsPerTickLot: m.quoteUnitsPerTickLot,
          baseUnitsPerLot: m.baseUnitsPerLot,
          minNotionalUnits: m.minNotionalUnits,
          maxNotionalUnits: m.maxNotionalUnits,
          defaultStpMode: m.defaultStpMode,
          allowedStpMask: m.allowedStpMask,
          trading: m.trading,
        },
        {
          pricePrecision: 2,
          qtyPrecision: 5,
          tickUnits: 1,
          lotUnits: 1,
          minPriceTicks: 1,
          maxPriceTicks: 100_000_000,
          minQtyLots: 1,
          maxQtyLots: 9_000_000,
          marketMaxQtyLots: 9_000_000,
          quoteUnitsPerTickLot: 10, // 0.01 x 0.00001 = 1e-7 USDT = 10 units of 1e-8
          baseUnitsPerLot: 1000, // 0.00001 BTC = 1000 satoshi
          minNotionalUnits: 500_000_000,
          maxNotionalUnits: 900_000_000_000_000,
          defaultStpMode: StpMode.EXPIRE_MAKER,
          allowedStpMask: 0b11111,
          trading: true,
        },
      );
      assert.equal(notionalUnits(m, 6_500_000, 100), 6_500_000_000, '65000.00 x 0.001 = 65 USDT');
    });

    it('defaults the maximum notional to the largest the price and quantity ranges allow', () => {
      const ethbtc = demo.get('ETHBTC')!;
      assert.equal(ethbtc.quoteUnitsPerTickLot, 1);
      assert.equal(ethbtc.maxNotionalUnits, ethbtc.maxPriceTicks * ethbtc.maxQtyLots);
    });
  });

  describe('price and quantity strings onto the grid', () => {
    const m = defineMarket(
      0,
      btcSpec({ tickSize: '0.05', stepSize: '0.25', minPrice: '0.05', minQty: '0.25', minNotional: '1' }),
      TEST_ASSETS,
    );

    it('converts an on-grid price to ticks and back', () => {
      assert.equal(m.tickUnits, 5);
      assert.deepEqual(priceToTicks(m, '1.05'), { ok: true, ticks: 21 });
      assert.deepEqual(priceToTicks(m, '1.0500000'), { ok: true, ticks: 21 });
      assert.deepEqual(priceToTicks(m, '7'), { ok: true, ticks: 140 });
      assert.equal(ticksToPrice(m, 21), '1.05');
      assert.equal(ticksToPrice(m, 21, 8), '1.05000000');
    });

    it('rejects an off-tick price with PRICE_OFF_TICK rather than rounding it', () => {
      for (const p of ['1.07', '1.051', '0.01', '1.0500001']) {
        assert.deepEqual(priceToTicks(m, p), { ok: false, code: ResultCode.PRICE_OFF_TICK }, p);
      }
    });

    it('converts an on-step quantity to lots and back', () => {
      assert.equal(m.lotUnits, 25);
      assert.deepEqual(qtyToLots(m, '0.5'), { ok: true, lots: 2 });
      assert.deepEqual(qtyToLots(m, '10.75'), { ok: true, lots: 43 });
      assert.equal(lotsToQty(m, 43), '10.75');
      assert.equal(lotsToQty(m, 4, 8), '1.00000000');
    });

    it('rejects an off-step quantity with QTY_OFF_LOT rather than rounding it', () => {
      for (const q of ['0.3', '0.255', '0.001', '1.2500001']) {
        assert.deepEqual(qtyToLots(m, q), { ok: false, code: ResultCode.QTY_OFF_LOT }, q);
      }
    });

    it('rejects malformed price and quantity text with DECIMAL_MALFORMED', () => {
      for (const t of ['', '-1.05', '1e2', 'abc', ' 1.05']) {
        assert.deepEqual(priceToTicks(m, t), { ok: false, code: ResultCode.DECIMAL_MALFORMED }, t);
        assert.deepEqual(qtyToLots(m, t), { ok: false, code: ResultCode.DECIMAL_MALFORMED }, t);
      }
    });

    it('rejects a huge on-grid price or quantity as above the maximum, not as off the grid', () => {
      assert.deepEqual(parseDecimal('100000000000000000', 2), {
        ok: false,
        code: ResultCode.DECIMAL_OUT_OF_RANGE,
      });
      assert.deepEqual(priceToTicks(BTCUSDT, '100000000000000000'), {
        ok: false,
        code: ResultCode.PRICE_ABOVE_MAX,
      });
      assert.deepEqual(qtyToLots(BTCUSDT, '100000000000000000'), {
        ok: false,
        code: ResultCode.QTY_ABOVE_MAX,
      });
    });
  });

  describe('defineMarket', () => {
    it('applies the defaults: EXPIRE_MAKER, all five STP modes, MARKET max = max quantity, trading', () => {
      const m = simpleMarket();
      assert.equal(m.defaultStpMode, StpMode.EXPIRE_MAKER);
      assert.equal(m.allowedStpMask, 0b11111);
      assert.equal(m.marketMaxQtyLots, m.maxQtyLots);
      assert.equal(m.trading, true);
      assert.equal(simpleMarket({ status: 'HALT' }).trading, false);
      assert.equal(simpleMarket({ status: 'BREAK' }).trading, false);
      assert.equal(simpleMarket({ status: 'TRADING' }).trading, true);
    });

    it('records the allowed STP modes and the default', () => {
      const m = simpleMarket({
        allowedSelfTradePreventionModes: ['NONE', 'DECREMENT'],
        defaultSelfTradePreventionMode: 'DECREMENT',
      });
      assert.equal(m.allowedStpMask, (1 << StpMode.NONE) | (1 << StpMode.DECREMENT));
      assert.equal(m.defaultStpMode, StpMode.DECREMENT);
    });

    it('refuses a max price x max quantity beyond Number.MAX_SAFE_INTEGER quote units', () => {
      rejects({ maxQty: '1000' }, /MAX_SAFE_INTEGER/);
      rejects({ marketMaxQty: '1000' }, /MAX_SAFE_INTEGER/);
      rejects({ maxPrice: '10000000' }, /MAX_SAFE_INTEGER/);
      // 1,000,000 x 90 BTC at 8 decimals: 9e15 units, just inside.
      assert.equal(defineMarket(0, btcSpec(), TEST_ASSETS).maxNotionalUnits, 9e15);
    });

    it('refuses a quote asset whose scale cannot hold tick x step', () => {
      const assets = new Map<string, AssetSpec>([...TEST_ASSETS, ['USDT', { asset: 'USDT', scale: 6 }]]);
      rejects({}, /needs 7 decimals, USDT has 6/, assets);
    });

    it('refuses a step finer than the base asset scale', () => {
      rejects({ stepSize: '0.000000001' }, /stepSize has more decimals than BTC/);
    });

    it('refuses unknown assets and a market of one asset against itself', () => {
      rejects({ baseAsset: 'DOGE' }, /unknown base asset DOGE/);
      rejects({ quoteAsset: 'EUR' }, /unknown quote asset EUR/);
      rejects({ quoteAsset: 'BTC' }, /same asset/);
    });

    it('refuses a malformed symbol', () => {
      for (const symbol of ['btcusdt', 'B', 'X'.repeat(21), 'BTC-USDT', '']) rejects({ symbol }, /symbol/);
    });

    it('refuses zero or malformed tick and step sizes', () => {
      rejects({ tickSize: '0' }, /tickSize must be positive/);
      rejects({ stepSize: '0.00000' }, /stepSize must be positive/);
      rejects({ tickSize: '-0.01' }, /tickSize/);
      rejects({ stepSize: 'abc' }, /stepSize/);
    });

    it('refuses bounds off their grid or out of order', () => {
      rejects({ tickSize: '0.05', minPrice: '0.07' }, /minPrice is not a multiple/);
      rejects({ stepSize: '0.002', minQty: '0.002', maxQty: '90.001' }, /maxQty is not a multiple/);
      rejects({ stepSize: '0.001', minQty: '0.001', maxQty: '90.0005' }, /maxQty "90.0005" is not a decimal/);
      rejects({ minPrice: '0' }, /minPrice <= maxPrice/);
      rejects({ minPrice: '10', maxPrice: '5' }, /minPrice <= maxPrice/);
      rejects({ minQty: '0' }, /minQty <= maxQty/);
      rejects({ minQty: '100', maxQty: '90' }, /minQty <= maxQty/);
      rejects({ minQty: '1', marketMaxQty: '0.5' }, /marketMaxQty/);
      rejects({ minNotional: '100', maxNotional: '50' }, /minNotional <= maxNotional/);
      rejects({ minNotional: '0.000000001' }, /minNotional/);
    });

    it('refuses an unknown STP mode, DEFAULT as a mode, and a default the market does not allow', () => {
      rejects({ defaultSelfTradePreventionMode: 'DEFAULT' }, /unknown STP mode DEFAULT/);
      rejects({ defaultSelfTradePreventionMode: 'EXPIRE_ALL' as never }, /unknown STP mode EXPIRE_ALL/);
      rejects(
        { allowedSelfTradePreventionModes: ['NONE', 'SOMETIMES' as never] },
        /unknown STP mode SOMETIMES/,
      );
      rejects(
        { allowedSelfTradePreventionModes: ['NONE'], defaultSelfTradePreventionMode: 'EXPIRE_MAKER' },
        /default STP mode is not among the allowed/,
      );
    });

    it('refuses STP mode names inherited from Object.prototype', () => {
      for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
        rejects({ defaultSelfTradePreventionMode: name as never }, /unknown STP mode/);
        rejects({ allowedSelfTradePreventionModes: ['EXPIRE_MAKER', name as never] }, /unknown STP mode/);
      }
    });
  });

  describe('the markets file', () => {
    const file = (over: { assets?: unknown; markets?: unknown }) => ({
      assets: [
        { asset: 'XYZ', scale: 0 },
        { asset: 'USD', scale: 0 },
      ],
      markets: [SIMPLE_SPEC],
      ...over,
    });

    it('refuses a symbol defined twice', () => {
      assert.throws(
        () => new Markets(file({ markets: [SIMPLE_SPEC, { ...SIMPLE_SPEC }] }) as never),
        /market XYZUSD is defined twice/,
      );
    });

    it('refuses an asset defined twice, a malformed asset name and a bad scale', () => {
      const twice = [
        { asset: 'XYZ', scale: 0 },
        { asset: 'USD', scale: 0 },
        { asset: 'XYZ', scale: 2 },
      ];
      assert.throws(() => new Markets(file({ assets: twice }) as never), /asset XYZ is defined twice/);
      for (const bad of [
        { asset: 'x', scale: 0 },
        { asset: 'USD', scale: -1 },
        { asset: 'USD', scale: 19 },
        { asset: 'USD', scale: 1.5 },
      ]) {
        assert.throws(
          () => new Markets(file({ assets: [{ asset: 'XYZ', scale: 0 }, bad] }) as never),
          MarketDefinitionError,
          JSON.stringify(bad),
        );
      }
    });

    it('names the problem when a file is missing, not JSON, or without its arrays', () => {
      const dir = mkdtempSync(join(tmpdir(), 'crossbook-markets-'));
      const write = (name: string, text: string): string => {
        const p = join(dir, name);
        writeFileSync(p, text);
        return p;
      };
      assert.throws(() => loadMarketsFile(join(dir, 'missing.json')), /cannot read markets file/);
      assert.throws(() => loadMarketsFile(write('bad.json', '{ not json')), /cannot read markets file/);
      assert.throws(() => loadMarketsFile(write('empty.json', '{}')), /needs "assets" and "markets" arrays/);
      const ok = loadMarketsFile(write('ok.json', JSON.stringify(file({}))));
      assert.equal(ok.markets.get('XYZUSD')?.quoteUnitsPerTickLot, 1);
    });
  });
});
