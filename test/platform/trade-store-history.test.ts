/**
 * The trade store as the market data builder's source of old trades (`tradeStoreHistory`):
 * a time window wider than one store page comes back whole, in id order, and nothing beyond
 * its end; trades from an id come back a page at a time.
 */
import assert from 'node:assert/strict';
import { type AccountsDb, openDatabase } from '../../accounts/db/database.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import type { TradeRecord } from '../../accounts/trade-store/trade-store.port.ts';
import { tradeStoreHistory } from '../../platform/market-data.ts';

const T0 = 1_750_000_000_000_000;

/** 2,600 BTCUSDT trades, several per microsecond now and then, and some ETHUSDT ones between. */
function trades(): TradeRecord[] {
  const out: TradeRecord[] = [];
  let ts = T0;
  const add = (symbol: string, tradeId: number) =>
    out.push({
      symbol,
      tradeId,
      priceTicks: 5_000_000 + (tradeId % 17),
      qtyLots: 1 + (tradeId % 5),
      quoteUnits: 1000 + tradeId,
      buyerUserId: 1,
      sellerUserId: 2,
      buyerOrderId: 10 + tradeId,
      sellerOrderId: 20 + tradeId,
      takerSide: tradeId % 2 === 0 ? 'BUY' : 'SELL',
      buyerFeeUnits: 1,
      sellerFeeUnits: 1,
      seq: tradeId,
      tsMicros: ts,
    });
  for (let id = 1; id <= 2600; id++) {
    if (id % 3 !== 0) ts += 1000;
    add('BTCUSDT', id);
    if (id % 10 === 0) add('ETHUSDT', id / 10);
  }
  return out;
}

describe('trade store history (old trades for market data)', function () {
  this.timeout(60_000);
  let adb: AccountsDb;
  const all = trades();
  const btc = all.filter((t) => t.symbol === 'BTCUSDT');
  before(async () => {
    adb = await openDatabase({});
    await postgresTradeStore(adb.db).putTrades(all);
  });
  after(() => adb?.close());

  it('returns a window wider than a page whole, in id order, and nothing after its end', async () => {
    const history = tradeStoreHistory(postgresTradeStore(adb.db));
    const start = btc[150]!.tsMicros;
    const end = btc[2450]!.tsMicros;
    const got = await history.olderTrades('BTCUSDT', start, end);
    const want = btc.filter((t) => t.tsMicros >= start && t.tsMicros <= end);
    assert.ok(want.length > 2000);
    assert.deepEqual(
      got.map((t) => t.tradeId),
      want.map((t) => t.tradeId),
    );
    assert.deepEqual(got[0]!.priceTicks, want[0]!.priceTicks);
    assert.deepEqual(await history.olderTrades('BTCUSDT', T0 - 10_000, T0 - 1), []);
    assert.equal((await history.olderTrades('ETHUSDT', start, end)).length > 0, true);
  });

  it('pages from an id', async () => {
    const history = tradeStoreHistory(postgresTradeStore(adb.db));
    const got = await history.tradesFromId!('BTCUSDT', 1001, 500);
    assert.deepEqual(
      got.map((t) => t.tradeId),
      btc.slice(1000, 1500).map((t) => t.tradeId),
    );
  });
});
