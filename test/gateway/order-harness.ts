/**
 * A real engine for the order specifications: the single-threaded InlineEngine on the demo
 * markets (config/markets.json: BTCUSDT tick 0.01, step 0.00001, min notional 5 USDT), an
 * order view fed through the user data builder as the gateway feeds it, users funded with
 * Deposit commands, and a clock that advances 1 ms per command. The helpers send requests
 * the way the routes will: parse, submit, build the reply.
 */
import assert from 'node:assert/strict';
import {
  type CommandInput,
  type EngineEvent,
  InlineEngine,
  loadMarketsFile,
  type Market,
  parseDecimal,
  type UserId,
  userId,
} from '../../engine/index.ts';
import {
  type AccountBalance,
  type UserDataEvent,
  userDataEvents,
} from '../../gateway/orders/execution-report.ts';
import type { BinanceError, Result } from '../../gateway/orders/order-error.ts';
import {
  type ParseContext,
  parseAmendKeepPriority,
  parseCancelOpenOrders,
  parseCancelOrder,
  parseCancelReplace,
  parseNewOrder,
} from '../../gateway/orders/order-params.ts';
import {
  amendKeepPriorityResponse,
  cancelOpenOrdersResponse,
  cancelOrderResponse,
  cancelReplaceResponse,
  checkKeepPriority,
  newOrderResponse,
} from '../../gateway/orders/order-response.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';

export const { markets } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);
export const BTCUSDT: Market = markets.get('BTCUSDT')!;
export const ETHBTC: Market = markets.get('ETHBTC')!;
export const ALICE = userId(1);
export const BOB = userId(2);
export const CAROL = userId(3);
/** 2025-06-15T12:00:00Z in µs: the first command runs 1 ms later. */
export const T0 = 1_750_000_000_000_000;

/** The parse result's value, failing the test with the error when there is none. */
export function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`expected a value, got ${JSON.stringify(r.error)}`);
  return r.value;
}

/** The parse result's error, failing the test when it succeeded. */
export function error<T>(r: Result<T>): BinanceError {
  if (r.ok) assert.fail(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

/** An exchange for one test: engine, view, clock, funded users. */
export class Exchange {
  readonly engine = new InlineEngine(markets, { makerPpm: 1000, takerPpm: 1000 });
  readonly view = new OrderView(markets);
  tsMicros = T0;
  /** The user data events of the last command. */
  userData: UserDataEvent[] = [];
  /** Whose user data events to build (UserDataOptions.wants; default everyone's). */
  wants: ((userId: number) => boolean) | undefined;
  private cids = 0;

  /** Parse context for `user`: generated client order ids are "gen-1", "gen-2", ... */
  ctx(user: UserId): ParseContext {
    return { markets, userId: user, newClientOrderId: () => `gen-${++this.cids}` };
  }

  /** Runs one command; feeds the view and records the user data events, as the gateway will. */
  submit(cmd: CommandInput): EngineEvent[] {
    this.tsMicros += 1000;
    const events = this.engine.submit(cmd, this.tsMicros);
    this.userData = userDataEvents(this.view, events, {
      balances: (u, a) => this.balances(u, a),
      ...(this.wants === undefined ? {} : { wants: this.wants }),
    });
    return events;
  }

  /** `user`'s balances of `assets` (free and locked, smallest units). */
  balances(user: number, assets: readonly string[]): AccountBalance[] {
    const list = [...markets.assets.values()];
    return this.engine.risk
      .balancesOf(user)
      .map((b) => ({ asset: list[b.assetId]!.asset, freeUnits: b.free, lockedUnits: b.locked }))
      .filter((b) => assets.includes(b.asset));
  }

  /** Credits `amount` (a decimal) of `asset` to `user`. */
  fund(user: UserId, asset: string, amount: string): void {
    const list = [...markets.assets.values()];
    const assetId = list.findIndex((a) => a.asset === asset);
    const units = parseDecimal(amount, list[assetId]!.scale);
    assert.ok(units.ok);
    this.submit({ kind: 'Deposit', userId: user, assetId, amountUnits: units.units, refId: ++this.cids });
  }

  /** POST /api/v3/order. */
  order(user: UserId, params: Record<string, string>) {
    const req = value(parseNewOrder(params, this.ctx(user)));
    const events = this.submit(req.command);
    return { req, events, reply: newOrderResponse(req, events) };
  }

  /** DELETE /api/v3/order. */
  cancel(user: UserId, params: Record<string, string>) {
    const req = value(parseCancelOrder(params, this.ctx(user)));
    const events = this.submit(req.command);
    return { req, events, reply: cancelOrderResponse(req, events, this.view) };
  }

  /** DELETE /api/v3/openOrders. */
  cancelAll(user: UserId, params: Record<string, string>) {
    const req = value(parseCancelOpenOrders(params, this.ctx(user)));
    const events = this.submit(req.command);
    return { req, events, reply: cancelOpenOrdersResponse(req, events, this.view) };
  }

  /** POST /api/v3/order/cancelReplace. */
  cancelReplace(user: UserId, params: Record<string, string>) {
    const req = value(parseCancelReplace(params, this.ctx(user)));
    const events = this.submit(req.command);
    return { req, events, reply: cancelReplaceResponse(req, events, this.view) };
  }

  /** PUT /api/v3/order/amend/keepPriority (refused before the engine when the view says so). */
  amend(user: UserId, params: Record<string, string>) {
    const req = value(parseAmendKeepPriority(params, this.ctx(user)));
    const refused = checkKeepPriority(req, this.view);
    if (refused !== undefined)
      return { req, events: [] as EngineEvent[], reply: { ok: false as const, error: refused } };
    const events = this.submit(req.command);
    return { req, events, reply: amendKeepPriorityResponse(req, events, this.view) };
  }

  /** A resting LIMIT GTC order of `user`; returns its order id. */
  rest(
    user: UserId,
    side: 'BUY' | 'SELL',
    price: string,
    quantity: string,
    extra: Record<string, string> = {},
  ) {
    const { reply } = this.order(user, {
      symbol: 'BTCUSDT',
      side,
      type: 'LIMIT',
      timeInForce: 'GTC',
      price,
      quantity,
      ...extra,
    });
    return value(reply).orderId;
  }
}

/** A millisecond timestamp of the exchange clock after `n` commands. */
export function ms(n: number): number {
  return Math.floor((T0 + n * 1000) / 1000);
}
