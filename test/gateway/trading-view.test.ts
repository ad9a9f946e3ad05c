/**
 * What GET /api/v3/allOrders reads of the order view: a user's open and recently closed
 * orders on one symbol (`OrderView.recentOrders`), bounded by the view's closed capacity.
 */
import assert from 'node:assert/strict';
import { OrderView } from '../../gateway/orders/order-view.ts';
import { ALICE, BOB, BTCUSDT, Exchange, markets, value } from './order-harness.ts';

describe('order view: recent orders for allOrders', () => {
  it("lists a user's open and closed orders on one symbol in order id order, nobody else's", () => {
    const x = new Exchange();
    x.fund(ALICE, 'USDT', '100000');
    x.fund(BOB, 'USDT', '100000');
    const a = x.rest(ALICE, 'BUY', '40000', '0.01');
    const b = x.rest(ALICE, 'BUY', '40001', '0.01');
    x.rest(BOB, 'BUY', '40002', '0.01');
    x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(a) });
    const listed = x.view.recentOrders(ALICE, BTCUSDT.symbolId).map((o) => [o.orderId, o.status]);
    assert.deepEqual(listed, [
      [a, 'CANCELED'],
      [b, 'NEW'],
    ]);
    assert.deepEqual(x.view.recentOrders(ALICE, markets.get('ETHBTC')!.symbolId), []);
  });

  it('forgets a closed order once the closed capacity pushes it out', () => {
    const x = new Exchange();
    x.fund(ALICE, 'USDT', '100000');
    // A second view that keeps one closed order, fed the same commands.
    const view = new OrderView(markets, { closedCapacity: 1 });
    const placeA = x.order(ALICE, limit('40000'));
    view.applyCommand(placeA.events);
    const placeB = x.order(ALICE, limit('40001'));
    view.applyCommand(placeB.events);
    const a = value(placeA.reply).orderId;
    const b = value(placeB.reply).orderId;
    view.applyCommand(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(a) }).events);
    assert.deepEqual(
      view.recentOrders(ALICE, BTCUSDT.symbolId).map((o) => o.orderId),
      [a, b],
    );
    view.applyCommand(x.cancel(ALICE, { symbol: 'BTCUSDT', orderId: String(b) }).events);
    assert.deepEqual(
      view.recentOrders(ALICE, BTCUSDT.symbolId).map((o) => o.orderId),
      [b],
    );
  });
});

function limit(price: string) {
  return { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price, quantity: '0.01' };
}
