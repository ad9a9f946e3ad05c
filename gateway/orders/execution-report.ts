/**
 * User data events, Binance's way, from the engine's events: `executionReport` for every
 * change of an order (NEW, TRADE, CANCELED, EXPIRED, TRADE_PREVENTION, REPLACED, and REJECTED
 * for a cancel-replace whose new order failed after its cancel), `balanceUpdate` for
 * deposits and withdrawals, and one `outboundAccountPosition` per user whose balances the
 * command changed. For each command the result lists (userId, payload) pairs for every user
 * concerned, takers and makers alike, in the engine's order.
 *
 * The engine's events do not repeat an order's type, quantities so far or client order id
 * on every change, so the reports read them from the order view, which this function feeds:
 * each command goes through `userDataEvents` exactly once, in seq order, and the view is then
 * up to date for the REST replies and GET queries too.
 *
 * Fields: Binance's executionReport, as in its user data stream documentation: e, E, s, c,
 * S, o, f, q, p, P, F, g, C, x, X, r, i, l, z, L, n, N, T, t, I, w, m, M, O, Z, Y, Q, W, V;
 * for prevented matches also u (trade group: -1, there are none here), v, U, A, B, Cs; and eR
 * (the expiry reason) when an order EXPIRED.
 */
import {
  CancelReason,
  type EngineEvent,
  FEE_ACCOUNT,
  type Market,
  OrderType,
  ResultCode,
  Side,
  TimeInForce,
} from '../../engine/index.ts';
import {
  apiTime,
  decimalString,
  derivedCancelClientOrderId,
  executionId,
  expiryReasonName,
  orderTypeName,
  priceString,
  qtyString,
  quoteString,
  sideName,
  stpModeName,
  type TimeUnit,
  timeInForceName,
} from './order-format.ts';
import { isByQuote, isOnBook, type OrderSnapshot, origQtyLots } from './order-state.ts';
import type { OrderView } from './order-view.ts';

/** Binance's executionReport. */
export interface ExecutionReport {
  readonly e: 'executionReport';
  /** Event time. */
  readonly E: number;
  readonly s: string;
  /** Client order id (for a cancel: the cancel's own). */
  readonly c: string;
  readonly S: 'BUY' | 'SELL';
  readonly o: string;
  readonly f: string;
  /** Order quantity. */
  readonly q: string;
  readonly p: string;
  /** Stop price. */
  readonly P: string;
  /** Iceberg quantity. */
  readonly F: string;
  /** Order list id. */
  readonly g: -1;
  /** Original client order id: the canceled order's on a cancel, the previous one on an amend; else ''. */
  readonly C: string;
  /** Execution type. */
  readonly x: 'NEW' | 'CANCELED' | 'REPLACED' | 'REJECTED' | 'TRADE' | 'EXPIRED' | 'TRADE_PREVENTION';
  /** Order status. */
  readonly X: string;
  /** Reject reason. */
  readonly r: string;
  readonly i: number;
  /** Last executed quantity, cumulative filled quantity, last executed price. */
  readonly l: string;
  readonly z: string;
  readonly L: string;
  /** Commission amount ("0" when none) and asset (null when none). */
  readonly n: string;
  readonly N: string | null;
  /** Transaction time. */
  readonly T: number;
  /** Trade id, -1 when not a trade. */
  readonly t: number;
  /** Execution id. */
  readonly I: number;
  /** Is the order on the book? */
  readonly w: boolean;
  /** Is this trade the maker side? */
  readonly m: boolean;
  readonly M: boolean;
  /** Order creation time. */
  readonly O: number;
  /** Cumulative quote transacted, last quote transacted, quote order quantity. */
  readonly Z: string;
  readonly Y: string;
  readonly Q: string;
  /** Working time. */
  readonly W: number;
  /** Self-trade prevention mode. */
  readonly V: string;
  /** Prevented matches only: trade group, prevented match id, counter order id, prevented quantity (total and last), counter symbol. */
  readonly u?: number;
  readonly v?: number;
  readonly U?: number;
  readonly A?: string;
  readonly B?: string;
  readonly Cs?: string;
  /** Expiry reason, when the order EXPIRED. */
  readonly eR?: string;
}

/** Binance's outboundAccountPosition: the balances a command changed. */
export interface OutboundAccountPosition {
  readonly e: 'outboundAccountPosition';
  readonly E: number;
  /** Time of the last account update. */
  readonly u: number;
  readonly B: readonly { readonly a: string; readonly f: string; readonly l: string }[];
}

/** Binance's balanceUpdate: a deposit or a withdrawal. */
export interface BalanceUpdate {
  readonly e: 'balanceUpdate';
  readonly E: number;
  readonly a: string;
  /** Signed balance delta. */
  readonly d: string;
  /** Clear time. */
  readonly T: number;
}

/** Any user data event. */
export type UserDataPayload = ExecutionReport | OutboundAccountPosition | BalanceUpdate;

/** One event for one user. */
export interface UserDataEvent {
  readonly userId: number;
  readonly payload: UserDataPayload;
}

/** One balance after a command, as the engine holds it. */
export interface AccountBalance {
  readonly asset: string;
  readonly freeUnits: number;
  readonly lockedUnits: number;
}

/** Settings of the user data events. */
export interface UserDataOptions {
  readonly timeUnit?: TimeUnit;
  /** The event time E in µs (default: the command's time). */
  readonly eventTimeMicros?: number;
  /**
   * The client order id a cancel was sent with, when the caller knows it (the gateway that
   * took the request). Default: derived from the command, as the REST reply has it.
   */
  readonly cancelClientOrderId?: (seq: number, orderId: number) => string | undefined;
  /**
   * The user's balances of `assets` after the command. Without it no outboundAccountPosition
   * is produced.
   */
  readonly balances?: (userId: number, assets: readonly string[]) => readonly AccountBalance[];
  /**
   * Whose events to build (default: every user's): a hub with nobody listening to most users
   * builds nothing for them. The view is fed every event all the same.
   */
  readonly wants?: (userId: number) => boolean;
}

/** What the reports of one command share. */
interface Ctx {
  readonly view: OrderView;
  readonly opts: UserDataOptions;
  readonly out: UserDataEvent[];
  /** Users whose balances changed, with the assets, in first-change order. */
  readonly touched: Map<number, Set<string>>;
  E: number;
}

/** Binance's reject reason names for the refusals a cancel-replace's new order can meet. */
function rejectReason(code: number): string {
  if (code === ResultCode.INSUFFICIENT_BALANCE) return 'INSUFFICIENT_BALANCES';
  if (code === ResultCode.WOULD_TAKE) return 'WOULD_MATCH_IMMEDIATELY';
  return 'NONE';
}

function wanted(ctx: Ctx, userId: number): boolean {
  const wants = ctx.opts.wants;
  return wants === undefined || wants(userId);
}

function touch(ctx: Ctx, userId: number, ...assets: string[]): void {
  if (userId === FEE_ACCOUNT || !wanted(ctx, userId)) return;
  let set = ctx.touched.get(userId);
  if (set === undefined) {
    set = new Set();
    ctx.touched.set(userId, set);
  }
  for (const a of assets) set.add(a);
}

/** The asset an order's side holds: quote for a BUY, base for a SELL. */
function heldAsset(m: Market, side: number): string {
  return side === Side.BUY ? m.quote.asset : m.base.asset;
}

interface ReportParts {
  readonly x: ExecutionReport['x'];
  readonly I: number;
  readonly c?: string;
  readonly C?: string;
  readonly l?: number;
  readonly L?: number;
  readonly Y?: number;
  readonly n?: string;
  readonly N?: string;
  readonly t?: number;
  readonly maker?: boolean;
  readonly prevented?: { readonly v: number; readonly U: number; readonly B: number };
}

function report(ctx: Ctx, o: OrderSnapshot, m: Market, tsMicros: number, p: ReportParts): void {
  if (!wanted(ctx, o.userId)) return;
  const unit = ctx.opts.timeUnit;
  const r: ExecutionReport = {
    e: 'executionReport',
    E: ctx.E,
    s: m.symbol,
    c: p.c ?? o.clientOrderId,
    S: sideName(o.side),
    o: orderTypeName(o.orderType),
    f: timeInForceName(o.timeInForce),
    q: qtyString(m, origQtyLots(o)),
    p: priceString(m, o.priceTicks),
    P: priceString(m, 0),
    F: qtyString(m, 0),
    g: -1,
    C: p.C ?? '',
    x: p.x,
    X: o.status,
    r: 'NONE',
    i: o.orderId,
    l: qtyString(m, p.l ?? 0),
    z: qtyString(m, o.executedLots),
    L: priceString(m, p.L ?? 0),
    n: p.n ?? '0',
    N: p.N ?? null,
    T: apiTime(tsMicros, unit),
    t: p.t ?? -1,
    I: p.I,
    w: p.x === 'NEW' || isOnBook(o),
    m: p.maker ?? false,
    M: p.x === 'TRADE',
    O: apiTime(o.timeMicros, unit),
    Z: quoteString(m, o.cumQuoteUnits),
    Y: quoteString(m, p.Y ?? 0),
    Q: quoteString(m, o.quoteQtyUnits),
    W: apiTime(o.workingTimeMicros, unit),
    V: stpModeName(o.stpMode),
    ...(p.prevented === undefined
      ? {}
      : {
          u: -1,
          v: p.prevented.v,
          U: p.prevented.U,
          A: qtyString(m, o.preventedLots),
          B: qtyString(m, p.prevented.B),
          Cs: m.symbol,
        }),
    ...(o.status === 'EXPIRED' ? { eR: expiryReasonName(o.expiryReason) } : {}),
  };
  ctx.out.push({ userId: o.userId, payload: r });
}

/** For each order by quote amount placed in the command, the index of its last event. */
function lastEventOfQuoteOrders(events: readonly EngineEvent[]): Map<number, number> {
  const last = new Map<number, number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'OrderAccepted' && e.orderType === OrderType.MARKET && e.quoteQtyUnits > 0)
      last.set(e.orderId, i);
    else if ((e.kind === 'TradeExecuted' || e.kind === 'SelfTradePrevented') && last.has(e.takerOrderId))
      last.set(e.takerOrderId, i);
    else if (e.kind === 'OrderExpired' && last.has(e.orderId)) last.set(e.orderId, i);
  }
  return last;
}

/**
 * The user data events of one command (or of several whole commands, in seq order), feeding
 * `view` as it goes. Each command must be given exactly once and after the ones before it;
 * giving the view a command it has already applied is a bug, and throws.
 */
export function userDataEvents(
  view: OrderView,
  events: readonly EngineEvent[],
  options: UserDataOptions = {},
): UserDataEvent[] {
  const out: UserDataEvent[] = [];
  let from = 0;
  while (from < events.length) {
    const seq = events[from]!.seq;
    let to = from + 1;
    while (to < events.length && events[to]!.seq === seq) to++;
    if (seq <= view.lastSeq)
      throw new Error(`userDataEvents: the view has already applied seq ${seq} (it is at ${view.lastSeq})`);
    command(view, from === 0 && to === events.length ? events : events.slice(from, to), options, out);
    from = to;
  }
  return out;
}

/** Whether `wants` asks for any user an event of `events` names (the fee account included). */
function anyWanted(events: readonly EngineEvent[], wants: (userId: number) => boolean): boolean {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.kind) {
      case 'TradeExecuted':
        if (wants(e.takerUserId) || wants(e.makerUserId)) return true;
        break;
      case 'TradeSettled':
        if (wants(e.buyerUserId) || wants(e.sellerUserId)) return true;
        break;
      default:
        if (wants(e.userId)) return true;
    }
  }
  return false;
}

function command(
  view: OrderView,
  events: readonly EngineEvent[],
  opts: UserDataOptions,
  out: UserDataEvent[],
): void {
  // None of the command's users wanted (most commands, when few users listen): the view
  // applies it, and nothing is built. Its state after the command is the same either way: an
  // order by quote amount settles at the command's end if not at its last event.
  if (opts.wants !== undefined && !anyWanted(events, opts.wants)) return view.applyCommand(events);
  const ctx: Ctx = { view, opts, out, touched: new Map(), E: 0 };
  const first = events[0]!;
  ctx.E = apiTime(opts.eventTimeMicros ?? first.tsMicros, opts.timeUnit);
  const quoteLast = lastEventOfQuoteOrders(events);
  const replacedCancel = events.some(
    (e) => e.kind === 'OrderCanceled' && e.reason === CancelReason.CANCEL_REPLACE,
  );
  const assets = [...view.markets.assets.values()];
  const finishQuote = (symbolId: number, orderId: number, i: number) => {
    if (quoteLast.get(orderId) === i) view.finishOrder(symbolId, orderId);
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.kind) {
      case 'OrderAccepted': {
        view.apply(e);
        const m = view.markets.byId(e.symbolId);
        const o = view.order(e.userId, e.symbolId, e.orderId);
        if (m === undefined || o === undefined) break;
        report(ctx, o, m, e.tsMicros, { x: 'NEW', I: executionId(e.seq, i) });
        touch(ctx, e.userId, heldAsset(m, e.side));
        break;
      }
      case 'OrderRejected': {
        view.apply(e);
        const m = view.markets.byId(e.symbolId);
        // Binance reports a rejection only for a cancel-replace whose cancel went through.
        if (
          m === undefined ||
          !replacedCancel ||
          e.code === ResultCode.CANCEL_REPLACE_NOT_ATTEMPTED ||
          !wanted(ctx, e.userId)
        )
          break;
        const unit = opts.timeUnit;
        ctx.out.push({
          userId: e.userId,
          payload: {
            e: 'executionReport',
            E: ctx.E,
            s: m.symbol,
            c: e.clientOrderId,
            S: sideName(e.side),
            o: orderTypeName(e.orderType),
            f: timeInForceName(TimeInForce.NONE),
            q: qtyString(m, 0),
            p: priceString(m, 0),
            P: priceString(m, 0),
            F: qtyString(m, 0),
            g: -1,
            C: '',
            x: 'REJECTED',
            X: 'REJECTED',
            r: rejectReason(e.code),
            i: e.orderId,
            l: qtyString(m, 0),
            z: qtyString(m, 0),
            L: priceString(m, 0),
            n: '0',
            N: null,
            T: apiTime(e.tsMicros, unit),
            t: -1,
            I: executionId(e.seq, i),
            w: false,
            m: false,
            M: false,
            O: apiTime(e.tsMicros, unit),
            Z: quoteString(m, 0),
            Y: quoteString(m, 0),
            Q: quoteString(m, 0),
            W: apiTime(e.tsMicros, unit),
            V: stpModeName(m.defaultStpMode),
          },
        });
        break;
      }
      case 'TradeExecuted': {
        // Records are read before the event applies (a closed order may leave a view that
        // keeps none) and reported after: they are the view's own, changed in place.
        const takerOrder = view.order(e.takerUserId, e.symbolId, e.takerOrderId);
        const makerOrder = view.order(e.makerUserId, e.symbolId, e.makerOrderId);
        view.apply(e);
        finishQuote(e.symbolId, e.takerOrderId, i);
        const m = view.markets.byId(e.symbolId);
        if (m === undefined) break;
        let settled: Extract<EngineEvent, { kind: 'TradeSettled' }> | undefined;
        for (let j = i + 1; j < events.length; j++) {
          const s = events[j]!;
          if (s.kind === 'TradeSettled' && s.symbolId === e.symbolId && s.tradeId === e.tradeId) {
            settled = s;
            break;
          }
          if (s.kind === 'TradeExecuted') break;
        }
        const quote = e.priceTicks * e.qtyLots * m.quoteUnitsPerTickLot;
        const sides: [number, OrderSnapshot | undefined, boolean][] = [
          [e.takerUserId, takerOrder, false],
          [e.makerUserId, makerOrder, true],
        ];
        for (const [userId, o, maker] of sides) {
          touch(ctx, userId, m.base.asset, m.quote.asset);
          if (o === undefined || !wanted(ctx, userId)) continue;
          const buyer = o.side === Side.BUY;
          const fee = settled === undefined ? 0 : buyer ? settled.buyerFeeUnits : settled.sellerFeeUnits;
          report(ctx, o, m, e.tsMicros, {
            x: 'TRADE',
            I: executionId(e.seq, i, maker),
            l: e.qtyLots,
            L: e.priceTicks,
            Y: quote,
            n: decimalString(fee, buyer ? m.base.scale : m.quote.scale),
            N: buyer ? m.base.asset : m.quote.asset,
            t: e.tradeId,
            maker,
          });
        }
        break;
      }
      case 'SelfTradePrevented': {
        const m = view.markets.byId(e.symbolId);
        const t = view.order(e.userId, e.symbolId, e.takerOrderId);
        const mk = view.order(e.userId, e.symbolId, e.makerOrderId);
        const takerStatusBefore: string | undefined = t?.status;
        view.apply(e);
        finishQuote(e.symbolId, e.takerOrderId, i);
        if (m === undefined) break;
        touch(ctx, e.userId, m.base.asset, m.quote.asset);
        // An order by quote amount that STP expired has no prevented lots to show: report its end.
        const quoteEnded =
          t !== undefined &&
          isByQuote(t) &&
          takerStatusBefore !== 'EXPIRED_IN_MATCH' &&
          (t.status as string) === 'EXPIRED_IN_MATCH';
        if (t !== undefined && (e.takerPreventedLots > 0 || quoteEnded)) {
          report(ctx, t, m, e.tsMicros, {
            x: 'TRADE_PREVENTION',
            I: executionId(e.seq, i),
            prevented: { v: e.preventedMatchId, U: e.makerOrderId, B: e.takerPreventedLots },
          });
        }
        if (mk !== undefined && e.makerPreventedLots > 0) {
          report(ctx, mk, m, e.tsMicros, {
            x: 'TRADE_PREVENTION',
            I: executionId(e.seq, i, true),
            maker: true,
            prevented: { v: e.preventedMatchId, U: e.takerOrderId, B: e.makerPreventedLots },
          });
        }
        break;
      }
      case 'OrderCanceled': {
        const o = view.order(e.userId, e.symbolId, e.orderId);
        view.apply(e);
        const m = view.markets.byId(e.symbolId);
        if (m === undefined) break;
        touch(ctx, e.userId, heldAsset(m, e.side));
        if (o === undefined) break;
        report(ctx, o, m, e.tsMicros, {
          x: 'CANCELED',
          I: executionId(e.seq, i),
          c: opts.cancelClientOrderId?.(e.seq, e.orderId) ?? derivedCancelClientOrderId(e.seq, e.orderId),
          C: e.clientOrderId,
        });
        break;
      }
      case 'OrderExpired': {
        const o = view.order(e.userId, e.symbolId, e.orderId);
        view.apply(e);
        finishQuote(e.symbolId, e.orderId, i);
        const m = view.markets.byId(e.symbolId);
        if (m === undefined) break;
        touch(ctx, e.userId, heldAsset(m, e.side));
        if (o === undefined) break;
        report(ctx, o, m, e.tsMicros, { x: 'EXPIRED', I: executionId(e.seq, i) });
        break;
      }
      case 'OrderAmended': {
        const o = view.order(e.userId, e.symbolId, e.orderId);
        view.apply(e);
        const m = view.markets.byId(e.symbolId);
        if (m === undefined) break;
        touch(ctx, e.userId, heldAsset(m, e.side));
        if (o === undefined) break;
        report(ctx, o, m, e.tsMicros, { x: 'REPLACED', I: executionId(e.seq, i), C: o.prevClientOrderId });
        break;
      }
      case 'FundsDeposited':
      case 'WithdrawalHeld':
      case 'WithdrawalReleased':
      case 'WithdrawalSettled': {
        view.apply(e);
        const a = assets[e.assetId];
        if (a === undefined) break;
        touch(ctx, e.userId, a.asset);
        if (e.kind === 'WithdrawalSettled' || !wanted(ctx, e.userId)) break;
        // Free balance moves: + on a deposit or a released withdrawal, - when one is held.
        const sign = e.kind === 'WithdrawalHeld' ? '-' : '';
        ctx.out.push({
          userId: e.userId,
          payload: {
            e: 'balanceUpdate',
            E: ctx.E,
            a: a.asset,
            d: `${sign}${decimalString(e.amountUnits, a.scale)}`,
            T: apiTime(e.tsMicros, opts.timeUnit),
          },
        });
        break;
      }
      default:
        // Rejected cancels and amends, refused funds commands, fee rates and settlements
        // change no order and no balance that the events above do not already report.
        view.apply(e);
        break;
    }
  }
  view.endCommand();
  positions(ctx, first.tsMicros);
}

/** One outboundAccountPosition per user whose balances the command changed, after its reports. */
function positions(ctx: Ctx, tsMicros: number): void {
  const balances = ctx.opts.balances;
  if (balances === undefined || ctx.touched.size === 0) return;
  const scale = new Map([...ctx.view.markets.assets.values()].map((a) => [a.asset, a.scale]));
  for (const [userId, assets] of ctx.touched) {
    const list = balances(userId, [...assets]);
    if (list.length === 0) continue;
    ctx.out.push({
      userId,
      payload: {
        e: 'outboundAccountPosition',
        E: ctx.E,
        u: apiTime(tsMicros, ctx.opts.timeUnit),
        B: list.map((b) => {
          const s = scale.get(b.asset) ?? 8;
          return { a: b.asset, f: decimalString(b.freeUnits, s), l: decimalString(b.lockedUnits, s) };
        }),
      },
    });
  }
}
