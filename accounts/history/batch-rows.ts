/**
 * Folds a batch of the engine's events (whole commands, in seq order) into the rows the
 * persister writes: new orders (with everything that happened to them in the batch already
 * applied), changes to orders of earlier batches (as increments, so no read is needed), trades
 * (TradeExecuted joined with the TradeSettled that follows it), double-entry ledger entries,
 * and the balance changes per account and asset. Pure and synchronous: the same events always
 * give the same rows, including the ledger ids, which continue from the last one written.
 *
 * Ledger postings (each sums to zero per asset):
 *   deposit             user +X, external -X                              kind DEPOSIT
 *   withdrawal settled  user -X, external +X                              kind WITHDRAWAL
 *   trade               buyer +base-buyerFee, seller -base  (base asset)  kind TRADE
 *                       fee account +buyerFee (base)                      kind FEE
 *                       buyer -quote, seller +quote-sellerFee (quote)     kind TRADE
 *                       fee account +sellerFee (quote)                    kind FEE
 * Holds and releases move funds between free and locked: totals do not change, so they are
 * not postings. Entries of zero units are left out, and the others take consecutive ids.
 *
 * Deposits and withdrawals are written as rows of `ledger_entries` (`ledger`). A trade's
 * postings are not: they are a pure function of the trade row, which carries the id of its
 * first posting and its base units (`tradeLedgerIds`, `tradeBaseUnits`), and the view `ledger`
 * reads them from there with the same ids (migration 2026_11_29_01_00_00). They still count in
 * the balance changes and in `postings`.
 */
import {
  decodeEvent,
  type EngineEvent,
  ExpiryReason,
  type Markets,
  OrderTypeName,
  type RecordViews,
  SideName,
  StpModeName,
  TimeInForceName,
} from '../../engine/index.ts';
import { EXTERNAL_ACCOUNT, FEE_ACCOUNT, type LedgerEntriesTable } from '../db/schema.ts';
import type { TradeRecord } from '../trade-store/trade-store.port.ts';

/** Binance order statuses, as the orders table keeps them. */
export type OrderStatus =
  | 'NEW'
  | 'PARTIALLY_FILLED'
  | 'FILLED'
  | 'CANCELED'
  | 'EXPIRED'
  | 'EXPIRED_IN_MATCH'
  | 'REJECTED';

/** An order first seen in this batch, with the batch's later events applied. */
export interface NewOrderRow {
  orderId: number;
  userId: number;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  timeInForce: string;
  stpMode: string;
  priceTicks: number;
  qtyLots: number;
  quoteQtyUnits: number;
  clientOrderId: string;
  status: OrderStatus;
  executedLots: number;
  cumQuoteUnits: number;
  expiryReason: string | null;
  createdSeq: number;
  updatedSeq: number;
  createdMicros: number;
  updatedMicros: number;
}

/**
 * What the batch did to an order written by an earlier batch: increments, and the fields that
 * changed (null: unchanged). `status` null means "open": NEW or PARTIALLY_FILLED, decided by
 * the executed quantity after the increment.
 */
export interface OrderChange {
  orderId: number;
  executedLots: number;
  cumQuoteUnits: number;
  status: OrderStatus | null;
  priceTicks: number | null;
  qtyLots: number | null;
  clientOrderId: string | null;
  expiryReason: string | null;
  updatedSeq: number;
  updatedMicros: number;
}

/** One balance change of the batch, summed per account and asset. */
export interface BalanceDelta {
  readonly accountId: number;
  readonly asset: string;
  deltaUnits: number;
  updatedSeq: number;
}

/** The ledger entries a batch writes as rows, column by column (deposits and withdrawals). */
export interface LedgerColumns {
  readonly id: number[];
  readonly seq: number[];
  readonly accountId: number[];
  readonly asset: string[];
  readonly amountUnits: number[];
  readonly kind: LedgerEntriesTable['kind'][];
  readonly ref: string[];
  readonly tsMicros: number[];
}

/** Everything one batch writes. */
export interface BatchRows {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly events: number;
  readonly newOrders: NewOrderRow[];
  readonly orderChanges: OrderChange[];
  readonly trades: TradeRecord[];
  /** `tradeLedgerIds[i]`: the id of `trades[i]`'s first ledger posting. */
  readonly tradeLedgerIds: number[];
  /** `tradeBaseUnits[i]`: `trades[i]`'s base amount in units. */
  readonly tradeBaseUnits: number[];
  /** The rows of `ledger_entries` the batch writes. */
  readonly ledger: LedgerColumns;
  /** Every ledger posting of the batch: the rows of `ledger`, and the trades' postings. */
  readonly postings: number;
  /**
   * The batch's time marks: of its new orders, each first one in a second of creation time
   * later than the last mark's (`order_time_marks`), as order id and creation time.
   */
  readonly orderMarks: { readonly orderId: number[]; readonly createdMicros: number[] };
  /** The creation time of the last mark after this batch (the next batch's `lastMarkMicros`). */
  readonly lastMarkMicros: number;
  /** Sorted by account and asset (a fixed lock order for the upsert). */
  readonly balances: BalanceDelta[];
  /** The id the next batch's first ledger entry takes. */
  readonly nextLedgerId: number;
}

/** One order time mark per second of creation time at most. */
export const MARK_MICROS = 1_000_000;

/** Thrown for an event stream the persister cannot make sense of (a broken invariant). */
export class HistoryStreamError extends Error {
  override readonly name = 'HistoryStreamError';
}

/**
 * Binance's `expiryReason` for each engine expiry, as GET order shows it. A MARKET order that
 * used up the funds risk held for it has no Binance counterpart (Binance refuses such an order
 * up front): the exchange ended it, EXCHANGE_CANCELED. The gateway's replies use the same names.
 */
const EXPIRY_NAMES: Record<number, string> = {
  [ExpiryReason.IOC]: 'UNFILLED_IOC_QUANTITY_EXPIRED',
  [ExpiryReason.FOK]: 'UNFILLED_FOK_ORDER_EXPIRED',
  [ExpiryReason.MARKET_NO_LIQUIDITY]: 'INSUFFICIENT_LIQUIDITY',
  [ExpiryReason.FUNDS_EXHAUSTED]: 'EXCHANGE_CANCELED',
};

/** Names of the markets' symbols and assets, by the engine's numeric ids. */
export interface MarketNames {
  readonly symbols: readonly string[];
  readonly base: readonly string[];
  readonly quote: readonly string[];
  readonly assets: readonly string[];
  /** Asset name -> its id. */
  readonly assetIndex: ReadonlyMap<string, number>;
}

/** The names the fold needs, from the markets the engine runs. */
export function marketNames(markets: Markets): MarketNames {
  return {
    symbols: markets.list.map((m) => m.symbol),
    base: markets.list.map((m) => m.base.asset),
    quote: markets.list.map((m) => m.quote.asset),
    assets: [...markets.assets.keys()],
    assetIndex: new Map([...markets.assets.keys()].map((a, i) => [a, i] as const)),
  };
}

/** Folds records `from .. from + count` of `v` (whole commands) into a batch's rows. */
export function foldBatch(
  v: RecordViews,
  from: number,
  count: number,
  names: MarketNames,
  firstLedgerId: number,
  lastMarkMicros = -1,
): BatchRows {
  const created = new Map<number, NewOrderRow>();
  const changed = new Map<number, OrderChange>();
  const trades: TradeRecord[] = [];
  const ledger: LedgerColumns = {
    id: [],
    seq: [],
    accountId: [],
    asset: [],
    amountUnits: [],
    kind: [],
    ref: [],
    tsMicros: [],
  };
  const balances = new Map<number, BalanceDelta>();
  const nAssets = names.assets.length;
  let nextId = firstLedgerId;
  let pendingTrade: Extract<EngineEvent, { kind: 'TradeExecuted' }> | null = null;

  const tradeLedgerIds: number[] = [];
  const tradeBaseUnits: number[] = [];
  let postings = 0;

  /** A posting of `amountUnits` (not 0) to the balance changes; takes the next ledger id. */
  const tally = (seq: number, accountId: number, asset: string, amountUnits: number): void => {
    nextId++;
    postings++;
    // A number, not a string: this runs six times per trade.
    const key = (accountId + 1) * nAssets + names.assetIndex.get(asset)!;
    const b = balances.get(key);
    if (b === undefined) balances.set(key, { accountId, asset, deltaUnits: amountUnits, updatedSeq: seq });
    else {
      b.deltaUnits += amountUnits;
      b.updatedSeq = seq;
    }
  };

  /** A posting written as a row of `ledger_entries` (deposits, withdrawals). */
  const post = (
    seq: number,
    accountId: number,
    asset: string,
    amountUnits: number,
    kind: LedgerEntriesTable['kind'],
    ref: string,
    ts: number,
  ): void => {
    if (amountUnits === 0) return;
    ledger.id.push(nextId);
    ledger.seq.push(seq);
    ledger.accountId.push(accountId);
    ledger.asset.push(asset);
    ledger.amountUnits.push(amountUnits);
    ledger.kind.push(kind);
    ledger.ref.push(ref);
    ledger.tsMicros.push(ts);
    tally(seq, accountId, asset, amountUnits);
  };

  /** A trade's posting: its id and row come from the trade row (the view `ledger`). */
  const postTrade = (seq: number, accountId: number, asset: string, amountUnits: number): void => {
    if (amountUnits !== 0) tally(seq, accountId, asset, amountUnits);
  };

  /**
   * Applies an event to an order: fills (`lots`, `quote`), the status after it (null: open),
   * changed fields. A new order of this batch is updated in place; any other becomes a change.
   */
  const touch = (
    orderId: number,
    seq: number,
    ts: number,
    lots: number,
    quote: number,
    status: OrderStatus | null,
    fields?: { priceTicks?: number; qtyLots?: number; clientOrderId?: string; expiryReason?: string },
  ): void => {
    const row = created.get(orderId);
    if (row !== undefined) {
      row.executedLots += lots;
      row.cumQuoteUnits += quote;
      row.status = status ?? (row.executedLots > 0 ? 'PARTIALLY_FILLED' : 'NEW');
      if (fields?.priceTicks !== undefined) row.priceTicks = fields.priceTicks;
      if (fields?.qtyLots !== undefined) row.qtyLots = fields.qtyLots;
      if (fields?.clientOrderId !== undefined) row.clientOrderId = fields.clientOrderId;
      if (fields?.expiryReason !== undefined) row.expiryReason = fields.expiryReason;
      row.updatedSeq = seq;
      row.updatedMicros = ts;
      return;
    }
    let c = changed.get(orderId);
    if (c === undefined) {
      c = {
        orderId,
        executedLots: 0,
        cumQuoteUnits: 0,
        status: null,
        priceTicks: null,
        qtyLots: null,
        clientOrderId: null,
        expiryReason: null,
        updatedSeq: seq,
        updatedMicros: ts,
      };
      changed.set(orderId, c);
    }
    c.executedLots += lots;
    c.cumQuoteUnits += quote;
    c.status = status;
    if (fields?.priceTicks !== undefined) c.priceTicks = fields.priceTicks;
    if (fields?.qtyLots !== undefined) c.qtyLots = fields.qtyLots;
    if (fields?.clientOrderId !== undefined) c.clientOrderId = fields.clientOrderId;
    if (fields?.expiryReason !== undefined) c.expiryReason = fields.expiryReason;
    c.updatedSeq = seq;
    c.updatedMicros = ts;
  };

  let firstSeq = 0;
  let lastSeq = 0;
  for (let i = from; i < from + count; i++) {
    const e = decodeEvent(v, i);
    if (firstSeq === 0) firstSeq = e.seq;
    lastSeq = e.seq;
    if (pendingTrade !== null && e.kind !== 'TradeSettled') {
      throw new HistoryStreamError(
        `trade ${pendingTrade.tradeId} at seq ${pendingTrade.seq} was never settled`,
      );
    }
    switch (e.kind) {
      case 'OrderAccepted':
        created.set(e.orderId, {
          orderId: e.orderId,
          userId: e.userId,
          symbol: symbolName(names, e.symbolId),
          side: SideName[e.side],
          type: OrderTypeName[e.orderType],
          // MARKET and LIMIT_MAKER take no time in force; Binance shows them as GTC.
          timeInForce: TimeInForceName[e.timeInForce] || 'GTC',
          stpMode: StpModeName[e.stpMode],
          priceTicks: e.priceTicks,
          qtyLots: e.qtyLots,
          quoteQtyUnits: e.quoteQtyUnits,
          clientOrderId: e.clientOrderId,
          status: 'NEW',
          executedLots: 0,
          cumQuoteUnits: 0,
          expiryReason: null,
          createdSeq: e.seq,
          updatedSeq: e.seq,
          createdMicros: e.tsMicros,
          updatedMicros: e.tsMicros,
        });
        break;
      case 'OrderRejected':
        // A refused new order never rested: it is recorded as REJECTED with what the event
        // carries (no price or quantity). An order on a symbol that does not exist has no
        // market to be listed under and is not recorded.
        if (names.symbols[e.symbolId] === undefined) break;
        created.set(e.orderId, {
          orderId: e.orderId,
          userId: e.userId,
          symbol: symbolName(names, e.symbolId),
          side: SideName[e.side] ?? 'BUY',
          type: OrderTypeName[e.orderType] ?? '',
          timeInForce: '',
          stpMode: '',
          priceTicks: 0,
          qtyLots: 0,
          quoteQtyUnits: 0,
          clientOrderId: e.clientOrderId,
          status: 'REJECTED',
          executedLots: 0,
          cumQuoteUnits: 0,
          expiryReason: null,
          createdSeq: e.seq,
          updatedSeq: e.seq,
          createdMicros: e.tsMicros,
          updatedMicros: e.tsMicros,
        });
        break;
      case 'TradeExecuted':
        pendingTrade = e;
        break;
      case 'TradeSettled': {
        const t = pendingTrade;
        if (t === null || t.tradeId !== e.tradeId || t.symbolId !== e.symbolId) {
          throw new HistoryStreamError(
            `settlement of trade ${e.tradeId} at seq ${e.seq} follows no such trade`,
          );
        }
        pendingTrade = null;
        const symbol = symbolName(names, e.symbolId);
        trades.push({
          symbol,
          tradeId: e.tradeId,
          priceTicks: t.priceTicks,
          qtyLots: t.qtyLots,
          quoteUnits: e.quoteUnits,
          buyerUserId: e.buyerUserId,
          sellerUserId: e.sellerUserId,
          buyerOrderId: e.buyerOrderId,
          sellerOrderId: e.sellerOrderId,
          takerSide: SideName[t.takerSide],
          buyerFeeUnits: e.buyerFeeUnits,
          sellerFeeUnits: e.sellerFeeUnits,
          seq: e.seq,
          tsMicros: e.tsMicros,
        });
        const takerStatus = t.takerRemainingLots === 0 ? 'FILLED' : null;
        const makerStatus = t.makerRemainingLots === 0 ? 'FILLED' : null;
        touch(t.takerOrderId, e.seq, e.tsMicros, t.qtyLots, e.quoteUnits, takerStatus);
        touch(t.makerOrderId, e.seq, e.tsMicros, t.qtyLots, e.quoteUnits, makerStatus);
        const base = names.base[e.symbolId]!;
        const quote = names.quote[e.symbolId]!;
        // The order of the view's postings (migration 2026_11_29_01_00_00), which gives their ids.
        tradeLedgerIds.push(nextId);
        tradeBaseUnits.push(e.baseUnits);
        postTrade(e.seq, e.buyerUserId, base, e.baseUnits - e.buyerFeeUnits);
        postTrade(e.seq, e.sellerUserId, base, -e.baseUnits);
        postTrade(e.seq, FEE_ACCOUNT, base, e.buyerFeeUnits);
        postTrade(e.seq, e.buyerUserId, quote, -e.quoteUnits);
        postTrade(e.seq, e.sellerUserId, quote, e.quoteUnits - e.sellerFeeUnits);
        postTrade(e.seq, FEE_ACCOUNT, quote, e.sellerFeeUnits);
        break;
      }
      case 'OrderCanceled':
        touch(e.orderId, e.seq, e.tsMicros, 0, 0, 'CANCELED');
        break;
      case 'OrderExpired':
        touch(e.orderId, e.seq, e.tsMicros, 0, 0, 'EXPIRED', {
          expiryReason: EXPIRY_NAMES[e.reason] ?? 'EXCHANGE_CANCELED',
        });
        break;
      case 'OrderAmended':
        touch(e.orderId, e.seq, e.tsMicros, 0, 0, null, {
          priceTicks: e.priceTicks,
          qtyLots: e.qtyLots,
          clientOrderId: e.clientOrderId,
        });
        break;
      case 'SelfTradePrevented':
        // The prevented quantity leaves the order; one left with nothing expired in the match.
        touch(
          e.takerOrderId,
          e.seq,
          e.tsMicros,
          0,
          0,
          e.takerRemainingLots === 0 ? 'EXPIRED_IN_MATCH' : null,
        );
        touch(
          e.makerOrderId,
          e.seq,
          e.tsMicros,
          0,
          0,
          e.makerRemainingLots === 0 ? 'EXPIRED_IN_MATCH' : null,
        );
        break;
      case 'FundsDeposited': {
        const asset = assetName(names, e.assetId);
        const ref = `deposit:${e.refId}`;
        post(e.seq, e.userId, asset, e.amountUnits, 'DEPOSIT', ref, e.tsMicros);
        post(e.seq, EXTERNAL_ACCOUNT, asset, -e.amountUnits, 'DEPOSIT', ref, e.tsMicros);
        break;
      }
      case 'WithdrawalSettled': {
        const asset = assetName(names, e.assetId);
        const ref = `withdrawal:${e.refId}`;
        post(e.seq, e.userId, asset, -e.amountUnits, 'WITHDRAWAL', ref, e.tsMicros);
        post(e.seq, EXTERNAL_ACCOUNT, asset, e.amountUnits, 'WITHDRAWAL', ref, e.tsMicros);
        break;
      }
      case 'WithdrawalHeld':
      case 'WithdrawalReleased':
      case 'FundsRejected':
      case 'FeeRatesSet':
      case 'CancelRejected':
      case 'AmendRejected':
        break;
      default:
        return assertNever(e);
    }
  }
  if (pendingTrade !== null) {
    throw new HistoryStreamError(
      `trade ${pendingTrade.tradeId} at seq ${pendingTrade.seq} was never settled`,
    );
  }
  const newOrders = [...created.values()];
  // New orders come in order id order (the order they were placed in).
  const orderMarks = { orderId: [] as number[], createdMicros: [] as number[] };
  let markSecond = lastMarkMicros < 0 ? -1 : Math.floor(lastMarkMicros / MARK_MICROS);
  let lastMark = lastMarkMicros;
  for (const o of newOrders) {
    const second = Math.floor(o.createdMicros / MARK_MICROS);
    if (second > markSecond) {
      orderMarks.orderId.push(o.orderId);
      orderMarks.createdMicros.push(o.createdMicros);
      markSecond = second;
      lastMark = o.createdMicros;
    }
  }
  return {
    firstSeq,
    lastSeq,
    events: count,
    newOrders,
    orderMarks,
    lastMarkMicros: lastMark,
    orderChanges: [...changed.values()],
    trades,
    tradeLedgerIds,
    tradeBaseUnits,
    ledger,
    postings,
    balances: [...balances.values()].sort((a, b) =>
      a.accountId !== b.accountId
        ? a.accountId - b.accountId
        : a.asset < b.asset
          ? -1
          : a.asset > b.asset
            ? 1
            : 0,
    ),
    nextLedgerId: nextId,
  };
}

function symbolName(names: MarketNames, id: number): string {
  const s = names.symbols[id];
  if (s === undefined) throw new HistoryStreamError(`event for symbol id ${id}, which is not a market`);
  return s;
}

function assetName(names: MarketNames, id: number): string {
  const a = names.assets[id];
  if (a === undefined) throw new HistoryStreamError(`funds event for asset id ${id}, which is not an asset`);
  return a;
}

function assertNever(e: never): never {
  throw new HistoryStreamError(`unknown event ${JSON.stringify(e)}`);
}
