/**
 * Risk: every user's balance of every asset (`free`, `locked`), the funds each open order
 * holds, settlement of trades with maker and taker fees, and deposits and withdrawals.
 *
 * Two moments, so that the state stays deterministic while orders are pipelined to shards:
 *
 * 1. Admission (`admit`), when the sequencer stamps a command. Risk decides whether the
 *    funds are there and how much to hold, and stamps that decision into the command (the
 *    journal records it, so a replay applies the same decisions without re-deciding). It
 *    touches only `pending`, the holds admitted but not yet merged, so that later
 *    admissions cannot spend the same funds: available = free - pending.
 * 2. Merge (`applyCommand`, `applyEvent`, `endCommand`), in sequence order, when the
 *    command's events come back from its shard. Only here do balances change, so the
 *    balances after command N are a function of commands 1..N alone: the events carry
 *    them, the state hash covers them, and a replay reproduces them exactly.
 *
 * Fees are charged on what each side receives (base for the buyer, quote for the seller),
 * in parts per million, rounded down, and credited to the fee account (user 0): no unit is
 * created or destroyed. The sum over all accounts of each asset changes only by deposits
 * and withdrawals, and no balance is ever negative (checked: a violation is a bug, and
 * throws, crash-only).
 */
import { OrderIndex } from '../book/order-index.ts';
import { checkOrderShape } from '../book/order-rules.ts';
import { grown } from '../book/typed-arrays.ts';
import { type EventWriter, RECORD_BYTES, type RecordViews } from '../model/codec.ts';
import {
  type AmendOrderFields,
  type Command,
  CommandKind,
  type PlaceOrderFields,
} from '../model/commands.ts';
import { OrderType, Side } from '../model/enums.ts';
import { EventKind } from '../model/events.ts';
import type { AssetSpec, Market } from '../model/market.ts';
import { ResultCode } from '../model/result-code.ts';

const F64S = RECORD_BYTES / 8;
const U32S = RECORD_BYTES / 4;

/** The fee account's user id. */
export const FEE_ACCOUNT = 0;

const NIL = -1;
const PPM = 1_000_000;

/** Risk's settings. */
export interface RiskConfig {
  readonly assets: readonly AssetSpec[];
  /** Markets by symbol id. */
  readonly markets: readonly Market[];
  /** Default maker fee, parts per million of the received amount (1000 = 0.1%). */
  readonly makerPpm: number;
  /** Default taker fee, parts per million of the received amount. */
  readonly takerPpm: number;
}

/** One account's balance of one asset. */
export interface Balance {
  readonly assetId: number;
  readonly free: number;
  readonly locked: number;
}

/** Risk's whole ledger state, for snapshots (balances, fee rates, holds, withdrawals). */
export interface RiskState {
  readonly users: readonly number[];
  readonly free: readonly number[];
  readonly locked: readonly number[];
  readonly makerPpm: readonly number[];
  readonly takerPpm: readonly number[];
  readonly holds: readonly HoldState[];
  readonly withdrawals: readonly (readonly [
    refId: number,
    userId: number,
    assetId: number,
    amount: number,
  ])[];
}

/** A held order, as snapshotted. */
export interface HoldState {
  readonly orderId: number;
  readonly userId: number;
  readonly symbolId: number;
  readonly side: number;
  readonly market: boolean;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly units: number;
  readonly clientOrderId: string;
}

/** floor(amount * ppm / 1e6), exact for any safe amount (no intermediate beyond 2^53). */
export function feeOf(amount: number, ppm: number): number {
  if (ppm === 0) return 0;
  const hi = Math.floor(amount / PPM);
  const lo = amount - hi * PPM;
  return hi * ppm + Math.floor((lo * ppm) / PPM);
}

export class Risk {
  private readonly nA: number;
  private readonly assetIds = new Map<string, number>();
  private readonly markets: readonly Market[];
  private readonly defaultMaker: number;
  private readonly defaultTaker: number;

  // --- accounts: slot per user, balances at slot * nA + asset ------------------------------
  private readonly slotOf = new Map<number, number>();
  private users: number[] = [];
  private free: Float64Array;
  private locked: Float64Array;
  /** Holds admitted but not merged yet (admission view only; never in a snapshot). */
  private pending: Float64Array;
  private makerPpm: Int32Array;
  private takerPpm: Int32Array;
  /** Total of each asset over all accounts: deposits keep it within MAX_SAFE_INTEGER. */
  private readonly supply: Float64Array;
  /** Deposits admitted and not merged yet, per asset (for the supply bound). */
  private readonly admittedDeposits: Float64Array;

  // --- holds per open order ---------------------------------------------------------------
  private readonly index = new OrderIndex(4096);
  private hCap = 4096;
  private hFree = NIL;
  private hHigh = 0;
  private hOrder = new Float64Array(this.hCap);
  private hSlot = new Int32Array(this.hCap);
  private hSymbol = new Int32Array(this.hCap);
  private hSide = new Uint8Array(this.hCap);
  private hMarket = new Uint8Array(this.hCap);
  /** Limit price (ticks) the hold was computed at; 0 for MARKET orders. */
  private hPrice = new Float64Array(this.hCap);
  /** The order's total quantity as the ledger knows it (merge only). */
  private hQty = new Float64Array(this.hCap);
  /** Admission's view: the smallest total quantity ever asked for the order. */
  private hAdmQty = new Float64Array(this.hCap);
  /** Admission's view: the highest limit price ever asked for the order. */
  private hAdmPrice = new Float64Array(this.hCap);
  /** Units held in the ledger (merged). */
  private hUnits = new Float64Array(this.hCap);
  private hNext = new Int32Array(this.hCap);
  private hCid: string[] = [];
  /** slot -> clientOrderId -> orderId, for amends that name an order by client order id. */
  private readonly cids = new Map<number, Map<string, number>>();

  // --- withdrawals ---------------------------------------------------------------------------
  private readonly withdrawals = new Map<
    number,
    { slot: number; asset: number; amount: number; closing: boolean; merged: boolean }
  >();

  /** Set by admit(): the hold (or amend delta) to stamp into the command. */
  budget = 0;
  /** Amend deltas admitted and not merged yet, by seq: where they were set aside. */
  private readonly amendAdmissions = new Map<number, { at: number; units: number }>();
  /** The amend delta merged by the current command (released if the amend is rejected). */
  private amendDelta = 0;

  constructor(config: RiskConfig) {
    this.nA = config.assets.length;
    this.markets = config.markets;
    this.defaultMaker = config.makerPpm;
    this.defaultTaker = config.takerPpm;
    this.supply = new Float64Array(this.nA);
    this.admittedDeposits = new Float64Array(this.nA);
    const cap = 1024;
    this.free = new Float64Array(cap * this.nA);
    this.locked = new Float64Array(cap * this.nA);
    this.pending = new Float64Array(cap * this.nA);
    this.makerPpm = new Int32Array(cap).fill(-1);
    this.takerPpm = new Int32Array(cap).fill(-1);
    for (const [i, a] of config.assets.entries()) this.assetIds.set(a.asset, i);
    this.slot(FEE_ACCOUNT);
  }

  // =========================================================================================
  // Queries

  /** A user's balances (every asset), or an empty list for an unknown user. */
  balancesOf(userId: number): Balance[] {
    const s = this.slotOf.get(userId);
    if (s === undefined) return [];
    const out: Balance[] = [];
    for (let a = 0; a < this.nA; a++)
      out.push({ assetId: a, free: this.free[s * this.nA + a]!, locked: this.locked[s * this.nA + a]! });
    return out;
  }

  /** The total of an asset over every account (free + locked). */
  totalOf(assetId: number): number {
    let sum = 0;
    for (let s = 0; s < this.users.length; s++)
      sum += this.free[s * this.nA + assetId]! + this.locked[s * this.nA + assetId]!;
    return sum;
  }

  /** Net deposits of an asset (deposits - withdrawals): what `totalOf` must equal. */
  supplyOf(assetId: number): number {
    return this.supply[assetId]!;
  }

  /** Number of orders holding funds. */
  get holdCount(): number {
    return this.index.count;
  }

  /** Every account id, in the order they were first seen. */
  get userIds(): readonly number[] {
    return this.users;
  }

  // =========================================================================================
  // Admission (the sequencer, in seq order)

  /**
   * Decides a command: returns OK or the code that refuses it, and sets `this.budget` to the
   * hold to stamp (0 when none). Only the pending holds change.
   */
  admit(cmd: Command): number {
    this.budget = 0;
    switch (cmd.kind) {
      case 'PlaceOrder':
      case 'CancelReplaceOrder':
        return this.admitPlace(cmd);
      case 'AmendOrder':
        return this.admitAmend(cmd);
      case 'CancelOrder':
      case 'CancelAllOrders':
        return ResultCode.OK;
      case 'Deposit': {
        const code = this.checkFunds(cmd.userId, cmd.assetId, cmd.amountUnits);
        if (code !== ResultCode.OK) return code;
        if (
          this.supply[cmd.assetId]! + this.admittedDeposits[cmd.assetId]! + cmd.amountUnits >
          Number.MAX_SAFE_INTEGER
        ) {
          return ResultCode.BALANCE_OVERFLOW;
        }
        // Admitted funds are spendable by the next admissions at once, before the merge credits
        // them: a negative pending (the merge adds it back when it credits free).
        // The slot first: taking it may grow (replace) the arrays, and `this.pending[...] -=`
        // would otherwise read the old array before the index is computed.
        const s = this.slot(cmd.userId);
        this.pending[s * this.nA + cmd.assetId]! -= cmd.amountUnits;
        this.admittedDeposits[cmd.assetId]! += cmd.amountUnits;
        return ResultCode.OK;
      }
      case 'WithdrawalHold': {
        const code = this.checkFunds(cmd.userId, cmd.assetId, cmd.amountUnits);
        if (code !== ResultCode.OK) return code;
        if (!Number.isSafeInteger(cmd.refId) || cmd.refId <= 0) return ResultCode.INVALID_AMOUNT;
        if (this.withdrawals.has(cmd.refId)) return ResultCode.DUPLICATE_WITHDRAWAL;
        const s = this.slotOf.get(cmd.userId);
        if (s === undefined) return ResultCode.INSUFFICIENT_BALANCE;
        const i = s * this.nA + cmd.assetId;
        if (this.free[i]! - this.pending[i]! < cmd.amountUnits) return ResultCode.INSUFFICIENT_BALANCE;
        this.pending[i]! += cmd.amountUnits;
        this.withdrawals.set(cmd.refId, {
          slot: s,
          asset: cmd.assetId,
          amount: cmd.amountUnits,
          closing: false,
          merged: false,
        });
        return ResultCode.OK;
      }
      case 'WithdrawalSettle':
      case 'WithdrawalRelease': {
        const w = this.withdrawals.get(cmd.refId);
        if (w === undefined || w.closing || this.users[w.slot] !== cmd.userId)
          return ResultCode.UNKNOWN_WITHDRAWAL;
        w.closing = true;
        return ResultCode.OK;
      }
      case 'SetFeeRates':
        if (!isRate(cmd.makerPpm) || !isRate(cmd.takerPpm) || !isUser(cmd.userId))
          return ResultCode.INVALID_FEE_RATE;
        this.slot(cmd.userId);
        return ResultCode.OK;
    }
  }

  private checkFunds(userId: number, assetId: number, amount: number): number {
    if (!isUser(userId)) return ResultCode.INVALID_USER_ID;
    if (!Number.isInteger(assetId) || assetId < 0 || assetId >= this.nA) return ResultCode.UNKNOWN_ASSET;
    if (!Number.isSafeInteger(amount) || amount <= 0) return ResultCode.INVALID_AMOUNT;
    return ResultCode.OK;
  }

  private admitPlace(c: PlaceOrderFields): number {
    const m = this.markets[c.symbolId];
    // An order the market refuses gets no hold; its book rejects it with the precise code.
    if (m === undefined || !isUser(c.userId) || checkOrderShape(m, c) !== ResultCode.OK) return ResultCode.OK;
    const s = this.slot(c.userId);
    const buy = c.side === Side.BUY;
    const asset = buy ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset);
    const i = s * this.nA + asset;
    const available = this.free[i]! - this.pending[i]!;
    let hold: number;
    if (c.orderType !== OrderType.MARKET) {
      hold = buy ? c.priceTicks * c.qtyLots * m.quoteUnitsPerTickLot : c.qtyLots * m.baseUnitsPerLot;
    } else if (buy) {
      // By quote amount: exactly that. By quantity: the book's cost is not known here, so the
      // order may spend up to what the user has (capped by its largest possible cost); the
      // book stops at this budget and the unused rest is released when the order ends.
      hold =
        c.quoteQtyUnits > 0
          ? c.quoteQtyUnits
          : Math.min(available, c.qtyLots * m.maxPriceTicks * m.quoteUnitsPerTickLot);
    } else {
      hold =
        c.qtyLots > 0
          ? c.qtyLots * m.baseUnitsPerLot
          : Math.min(available, m.marketMaxQtyLots * m.baseUnitsPerLot);
    }
    if (hold <= 0 || available < hold) return ResultCode.INSUFFICIENT_BALANCE;
    this.pending[i]! += hold;
    this.track(
      c.orderId,
      s,
      c.symbolId,
      c.side,
      c.orderType === OrderType.MARKET,
      c.priceTicks,
      c.qtyLots,
      c.clientOrderId,
    );
    this.budget = hold;
    return ResultCode.OK;
  }

  private admitAmend(c: AmendOrderFields): number {
    const h = this.find(c.userId, c.orderId, c.clientOrderId);
    if (h === NIL) return ResultCode.OK; // the book reports it unknown
    const m = this.markets[this.hSymbol[h]!]!;
    const qty = c.qtyLots;
    if (!Number.isSafeInteger(qty) || qty <= 0 || qty > m.maxQtyLots) return ResultCode.OK;
    if (!Number.isSafeInteger(c.priceTicks) || c.priceTicks < 0 || c.priceTicks > m.maxPriceTicks)
      return ResultCode.OK;
    // Earlier amends may still be in flight, so judge against admission's own view: the
    // smallest quantity and the highest price ever asked for. Only an amend that keeps the
    // price (0) and asks no more than that can be sure to keep priority and need no funds.
    if (c.priceTicks === 0 && qty <= this.hAdmQty[h]!) {
      this.hAdmQty[h] = qty;
      return ResultCode.OK;
    }
    // It may lose priority: hold the whole new order on top, reconciled when it merges.
    const price = c.priceTicks === 0 ? this.hAdmPrice[h]! : c.priceTicks;
    const buy = this.hSide[h] === Side.BUY;
    const delta = buy ? price * qty * m.quoteUnitsPerTickLot : qty * m.baseUnitsPerLot;
    const i = this.hSlot[h]! * this.nA + (buy ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset));
    if (this.free[i]! - this.pending[i]! < delta) return ResultCode.INSUFFICIENT_BALANCE;
    this.pending[i]! += delta;
    this.amendAdmissions.set(c.seq, { at: i, units: delta });
    this.hAdmQty[h] = Math.min(this.hAdmQty[h]!, qty);
    this.hAdmPrice[h] = Math.max(this.hAdmPrice[h]!, price);
    this.budget = delta;
    return ResultCode.OK;
  }

  /**
   * Forgets every admission not merged yet. A replay merges journalled decisions without
   * admitting them, so after it nothing can be in flight: the admission view starts clean.
   */
  resetPending(): void {
    this.pending.fill(0);
    this.amendAdmissions.clear();
    this.admittedDeposits.fill(0);
  }

  // =========================================================================================
  // Merge (in seq order)

  /**
   * Applies a command's own effect (holds, funds) once its turn comes, and writes the events
   * that risk alone produces: the rejection of a refused command, or the funds events.
   * `code` and `budget` are the admission's decision, as stamped in the command.
   */
  applyCommand(cmd: Command, code: number, budget: number, out: EventWriter): void {
    this.amendDelta = 0;
    switch (cmd.kind) {
      case 'PlaceOrder':
      case 'CancelReplaceOrder': {
        if (code !== ResultCode.OK) {
          this.forget(cmd.orderId);
          out.rejected(
            EventKind.OrderRejected,
            cmd.seq,
            cmd.tsMicros,
            cmd.symbolId,
            cmd.userId,
            cmd.orderId,
            cmd.side,
            cmd.orderType,
            code,
            cmd.clientOrderId,
          );
          return;
        }
        if (budget === 0) return;
        const m = this.markets[cmd.symbolId]!;
        const s = this.slot(cmd.userId);
        const h = this.track(
          cmd.orderId,
          s,
          cmd.symbolId,
          cmd.side,
          cmd.orderType === OrderType.MARKET,
          cmd.priceTicks,
          cmd.qtyLots,
          cmd.clientOrderId,
        );
        const asset = cmd.side === Side.BUY ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset);
        this.lock(s, asset, budget, true);
        this.hUnits[h]! += budget;
        return;
      }
      case 'AmendOrder': {
        if (code !== ResultCode.OK) {
          out.rejected(
            EventKind.AmendRejected,
            cmd.seq,
            cmd.tsMicros,
            cmd.symbolId,
            cmd.userId,
            cmd.orderId,
            0,
            0,
            code,
            cmd.clientOrderId,
          );
          return;
        }
        if (budget === 0) return;
        const admitted = this.amendAdmissions.get(cmd.seq);
        this.amendAdmissions.delete(cmd.seq);
        const h = this.find(cmd.userId, cmd.orderId, cmd.clientOrderId);
        if (h === NIL) {
          // The order ended between admission and now (an earlier command filled or canceled
          // it): its book rejects the amend, and what admission set aside is simply freed.
          if (admitted !== undefined) this.pending[admitted.at]! -= admitted.units;
          return;
        }
        const m = this.markets[this.hSymbol[h]!]!;
        const asset = this.hSide[h] === Side.BUY ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset);
        this.lock(this.hSlot[h]!, asset, budget, true);
        this.hUnits[h]! += budget;
        this.amendDelta = budget;
        return;
      }
      case 'CancelOrder':
      case 'CancelAllOrders':
        if (code !== ResultCode.OK) {
          const id = cmd.kind === 'CancelOrder' ? cmd.orderId : 0;
          const cid = cmd.kind === 'CancelOrder' ? cmd.clientOrderId : '';
          out.rejected(
            EventKind.CancelRejected,
            cmd.seq,
            cmd.tsMicros,
            cmd.symbolId,
            cmd.userId,
            id,
            0,
            0,
            code,
            cid,
          );
        }
        return;
      case 'Deposit': {
        if (code !== ResultCode.OK) return this.fundsRejected(cmd, code, out);
        const s = this.slot(cmd.userId);
        const i = s * this.nA + cmd.assetId;
        this.free[i]! += cmd.amountUnits;
        this.supply[cmd.assetId]! += cmd.amountUnits;
        this.pending[i]! += cmd.amountUnits;
        this.admittedDeposits[cmd.assetId] = Math.max(
          0,
          this.admittedDeposits[cmd.assetId]! - cmd.amountUnits,
        );
        out.funds(
          EventKind.FundsDeposited,
          cmd.seq,
          cmd.tsMicros,
          cmd.userId,
          cmd.assetId,
          cmd.amountUnits,
          cmd.refId,
          this.free[i]!,
          this.locked[i]!,
        );
        return;
      }
      case 'WithdrawalHold': {
        if (code !== ResultCode.OK) return this.fundsRejected(cmd, code, out);
        const s = this.slot(cmd.userId);
        this.lock(s, cmd.assetId, cmd.amountUnits, true);
        const w = this.withdrawals.get(cmd.refId);
        if (w === undefined) {
          this.withdrawals.set(cmd.refId, {
            slot: s,
            asset: cmd.assetId,
            amount: cmd.amountUnits,
            closing: false,
            merged: true,
          });
        } else {
          w.merged = true;
        }
        const i = s * this.nA + cmd.assetId;
        out.funds(
          EventKind.WithdrawalHeld,
          cmd.seq,
          cmd.tsMicros,
          cmd.userId,
          cmd.assetId,
          cmd.amountUnits,
          cmd.refId,
          this.free[i]!,
          this.locked[i]!,
        );
        return;
      }
      case 'WithdrawalSettle':
      case 'WithdrawalRelease': {
        if (code !== ResultCode.OK) return this.fundsRejected(cmd, code, out);
        const w = this.withdrawals.get(cmd.refId);
        if (w === undefined)
          throw new Error(`risk invariant: withdrawal ${cmd.refId} admitted but unknown at merge`);
        this.withdrawals.delete(cmd.refId);
        const i = w.slot * this.nA + w.asset;
        this.take(this.locked, i, w.amount, 'locked');
        if (cmd.kind === 'WithdrawalRelease') this.free[i]! += w.amount;
        else this.supply[w.asset]! -= w.amount;
        const kind =
          cmd.kind === 'WithdrawalSettle' ? EventKind.WithdrawalSettled : EventKind.WithdrawalReleased;
        out.funds(
          kind,
          cmd.seq,
          cmd.tsMicros,
          cmd.userId,
          w.asset,
          w.amount,
          cmd.refId,
          this.free[i]!,
          this.locked[i]!,
        );
        return;
      }
      case 'SetFeeRates': {
        if (code !== ResultCode.OK) {
          out.fundsRejected(cmd.seq, cmd.tsMicros, cmd.userId, 0, 0, 0, CommandKind.SetFeeRates, code);
          return;
        }
        const s = this.slot(cmd.userId);
        this.makerPpm[s] = cmd.makerPpm;
        this.takerPpm[s] = cmd.takerPpm;
        out.feeRatesSet(cmd.seq, cmd.tsMicros, cmd.userId, cmd.makerPpm, cmd.takerPpm);
        return;
      }
    }
  }

  private fundsRejected(
    cmd: {
      kind: keyof typeof CommandKind;
      seq: number;
      tsMicros: number;
      userId: number;
      assetId: number;
      amountUnits: number;
      refId: number;
    },
    code: number,
    out: EventWriter,
  ): void {
    const asset =
      Number.isInteger(cmd.assetId) && cmd.assetId >= 0 && cmd.assetId < 2 ** 32 ? cmd.assetId : 0;
    const amount = Number.isSafeInteger(cmd.amountUnits) && cmd.amountUnits >= 0 ? cmd.amountUnits : 0;
    const ref = Number.isSafeInteger(cmd.refId) && cmd.refId >= 0 ? cmd.refId : 0;
    out.fundsRejected(cmd.seq, cmd.tsMicros, cmd.userId, asset, amount, ref, CommandKind[cmd.kind], code);
  }

  /**
   * Applies one book event (record `index` of `v`, already copied to `out` by the caller)
   * and writes what settlement adds (TradeSettled after a trade).
   */
  applyEvent(v: RecordViews, index: number, out: EventWriter): void {
    const f = index * F64S;
    const f64 = v.f64;
    const kind = v.u8[index * RECORD_BYTES]!;
    switch (kind) {
      case EventKind.TradeExecuted:
        this.settleTrade(v, index, out);
        return;
      case EventKind.OrderRejected:
        this.releaseAll(f64[f + 5]!);
        return;
      case EventKind.OrderCanceled:
        this.releaseLots(f64[f + 5]!, f64[f + 7]!, 0);
        return;
      case EventKind.OrderExpired:
        this.releaseLots(f64[f + 5]!, f64[f + 7]!, 0);
        return;
      case EventKind.SelfTradePrevented:
        this.releaseLots(f64[f + 5]!, f64[f + 7]!, f64[f + 9]!);
        this.releaseLots(f64[f + 11]!, f64[f + 13]!, f64[f + 12]!);
        return;
      case EventKind.OrderAmended:
        this.reconcileAmend(f64[f + 5]!, f64[f + 6]!, f64[f + 7]!, f64[f + 8]!);
        return;
      case EventKind.AmendRejected:
        if (this.amendDelta > 0) {
          const h = this.index.get(f64[f + 5]!);
          if (h !== NIL) this.release(h, this.amendDelta);
          this.amendDelta = 0;
        }
        return;
      default:
        return;
    }
  }

  /** Ends a command: a MARKET order's unused hold goes back, and the order is forgotten. */
  endCommand(cmd: Command): void {
    if (
      (cmd.kind === 'PlaceOrder' || cmd.kind === 'CancelReplaceOrder') &&
      cmd.orderType === OrderType.MARKET
    ) {
      this.releaseAll(cmd.orderId);
    }
  }

  private settleTrade(v: RecordViews, index: number, out: EventWriter): void {
    const f = index * F64S;
    const f64 = v.f64;
    const symbolId = v.u32[index * U32S + 2]!;
    const m = this.markets[symbolId]!;
    const takerSide = v.u8[index * RECORD_BYTES + 1]!;
    const price = f64[f + 6]!;
    const q = f64[f + 7]!;
    const tradeId = f64[f + 8]!;
    const takerOrder = f64[f + 5]!;
    const makerOrder = f64[f + 11]!;
    const takerRem = f64[f + 9]!;
    const makerRem = f64[f + 12]!;
    const buyerOrder = takerSide === Side.BUY ? takerOrder : makerOrder;
    const sellerOrder = takerSide === Side.BUY ? makerOrder : takerOrder;
    const hb = this.index.get(buyerOrder);
    const hs = this.index.get(sellerOrder);
    if (hb === NIL || hs === NIL)
      throw new Error(`risk invariant: trade ${tradeId} of ${m.symbol} between orders without holds`);
    const quoteAsset = this.assetOf(m.quote.asset);
    const baseAsset = this.assetOf(m.base.asset);
    const nA = this.nA;
    const notional = price * q * m.quoteUnitsPerTickLot;
    const baseUnits = q * m.baseUnitsPerLot;
    const buyer = this.hSlot[hb]!;
    const seller = this.hSlot[hs]!;
    const buyerIsTaker = takerSide === Side.BUY;
    const buyerFee = feeOf(baseUnits, this.rate(buyer, buyerIsTaker));
    const sellerFee = feeOf(notional, this.rate(seller, !buyerIsTaker));
    // Buyer: the hold pays the notional; a limit order's hold was at its limit price, so the
    // price improvement (limit - trade price) goes back to free.
    const held = this.hMarket[hb] === 1 ? notional : this.hPrice[hb]! * q * m.quoteUnitsPerTickLot;
    this.spend(hb, buyer * nA + quoteAsset, held);
    this.free[buyer * nA + quoteAsset]! += held - notional;
    this.free[buyer * nA + baseAsset]! += baseUnits - buyerFee;
    // Seller: the hold delivers the base; the notional less the fee arrives in quote.
    this.spend(hs, seller * nA + baseAsset, baseUnits);
    this.free[seller * nA + quoteAsset]! += notional - sellerFee;
    this.free[baseAsset]! += buyerFee; // the fee account is slot 0
    this.free[quoteAsset]! += sellerFee;
    out.tradeSettled(
      f64[f + 2]!,
      f64[f + 3]!,
      symbolId,
      tradeId,
      this.users[buyer]!,
      buyerOrder,
      this.users[seller]!,
      sellerOrder,
      baseUnits,
      notional,
      buyerFee,
      sellerFee,
    );
    const takerEntry = takerSide === Side.BUY ? hb : hs;
    if (takerRem === 0 && this.hMarket[takerEntry] === 0) this.closeIfDone(takerOrder);
    if (makerRem === 0) this.closeIfDone(makerOrder);
  }

  private rate(slot: number, taker: boolean): number {
    const r = taker ? this.takerPpm[slot]! : this.makerPpm[slot]!;
    return r >= 0 ? r : taker ? this.defaultTaker : this.defaultMaker;
  }

  /** Spends `units` of order h's hold from locked balance `i`. */
  private spend(h: number, i: number, units: number): void {
    if (this.hUnits[h]! < units) {
      throw new Error(`risk invariant: order ${this.hOrder[h]} spends ${units} but holds ${this.hUnits[h]}`);
    }
    this.hUnits[h]! -= units;
    this.take(this.locked, i, units, 'locked');
  }

  /** Releases what `lots` of order `id` held; forgets a limit order whose remaining is 0. */
  private releaseLots(id: number, lots: number, remaining: number): void {
    const h = this.index.get(id);
    if (h === NIL) return;
    if (this.hMarket[h] === 1) return; // a MARKET order's hold is released when it ends
    const m = this.markets[this.hSymbol[h]!]!;
    const units =
      this.hSide[h] === Side.BUY ? this.hPrice[h]! * lots * m.quoteUnitsPerTickLot : lots * m.baseUnitsPerLot;
    if (units > 0) this.release(h, units);
    if (remaining === 0) this.closeIfDone(id);
  }

  private reconcileAmend(id: number, price: number, qty: number, remaining: number): void {
    const h = this.index.get(id);
    if (h === NIL) throw new Error(`risk invariant: amended order ${id} holds nothing`);
    const m = this.markets[this.hSymbol[h]!]!;
    const required =
      this.hSide[h] === Side.BUY ? price * remaining * m.quoteUnitsPerTickLot : remaining * m.baseUnitsPerLot;
    const excess = this.hUnits[h]! - required;
    if (excess < 0)
      throw new Error(`risk invariant: amended order ${id} needs ${required} but holds ${this.hUnits[h]}`);
    if (excess > 0) this.release(h, excess);
    this.hPrice[h] = price;
    this.hQty[h] = qty;
    this.hAdmQty[h] = Math.min(this.hAdmQty[h]!, qty);
    this.hAdmPrice[h] = Math.max(this.hAdmPrice[h]!, price);
    this.amendDelta = 0;
  }

  private release(h: number, units: number): void {
    const m = this.markets[this.hSymbol[h]!]!;
    const asset = this.hSide[h] === Side.BUY ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset);
    const i = this.hSlot[h]! * this.nA + asset;
    if (this.hUnits[h]! < units)
      throw new Error(`risk invariant: order ${this.hOrder[h]} releases more than it holds`);
    this.hUnits[h]! -= units;
    this.take(this.locked, i, units, 'locked');
    this.free[i]! += units;
  }

  private releaseAll(id: number): void {
    const h = this.index.get(id);
    if (h === NIL) return;
    if (this.hUnits[h]! > 0) this.release(h, this.hUnits[h]!);
    this.forget(id);
  }

  private closeIfDone(id: number): void {
    const h = this.index.get(id);
    if (h === NIL) return;
    if (this.hUnits[h] !== 0) throw new Error(`risk invariant: order ${id} ended holding ${this.hUnits[h]}`);
    this.forget(id);
  }

  /** Moves `units` of asset from free to locked (merge) and out of pending when admitted. */
  private lock(slot: number, asset: number, units: number, fromPending: boolean): void {
    const i = slot * this.nA + asset;
    this.take(this.free, i, units, 'free');
    this.locked[i]! += units;
    if (fromPending) this.pending[i]! -= units;
  }

  private take(arr: Float64Array, i: number, units: number, what: string): void {
    const left = arr[i]! - units;
    if (left < 0) {
      const slot = Math.floor(i / this.nA);
      throw new Error(
        `risk invariant: ${what} balance of user ${this.users[slot]} asset ${i % this.nA} would go negative`,
      );
    }
    arr[i] = left;
  }

  // =========================================================================================
  // Accounts and order entries

  private assetOf(asset: string): number {
    return this.assetIds.get(asset)!;
  }

  private slot(userId: number): number {
    let s = this.slotOf.get(userId);
    if (s !== undefined) return s;
    s = this.users.length;
    this.users.push(userId);
    this.slotOf.set(userId, s);
    if ((s + 1) * this.nA > this.free.length) {
      const n = this.free.length * 2;
      this.free = grown(this.free, n);
      this.locked = grown(this.locked, n);
      this.pending = grown(this.pending, n);
      this.makerPpm = grown(this.makerPpm, this.makerPpm.length * 2, -1);
      this.takerPpm = grown(this.takerPpm, this.takerPpm.length * 2, -1);
    }
    return s;
  }

  private find(userId: number, orderId: number, cid: string): number {
    let h = NIL;
    if (orderId !== 0 && Number.isSafeInteger(orderId)) h = this.index.get(orderId);
    else if (cid !== '') {
      const s = this.slotOf.get(userId);
      const id = s === undefined ? undefined : this.cids.get(s)?.get(cid);
      if (id !== undefined) h = this.index.get(id);
    }
    if (h === NIL || this.users[this.hSlot[h]!] !== userId) return NIL;
    return h;
  }

  /** The entry of order `id`, created if missing (admission, or merge during a replay). */
  private track(
    id: number,
    slot: number,
    symbol: number,
    side: number,
    market: boolean,
    price: number,
    qty: number,
    cid: string,
  ): number {
    let h = this.index.get(id);
    if (h !== NIL) return h;
    if (this.hFree !== NIL) {
      h = this.hFree;
      this.hFree = this.hNext[h]!;
    } else {
      if (this.hHigh === this.hCap) this.growHolds();
      h = this.hHigh++;
    }
    this.hOrder[h] = id;
    this.hSlot[h] = slot;
    this.hSymbol[h] = symbol;
    this.hSide[h] = side;
    this.hMarket[h] = market ? 1 : 0;
    this.hPrice[h] = price;
    this.hQty[h] = qty;
    this.hAdmQty[h] = qty;
    this.hAdmPrice[h] = price;
    this.hUnits[h] = 0;
    this.hCid[h] = cid;
    if (cid !== '') {
      let map = this.cids.get(slot);
      if (map === undefined) {
        map = new Map();
        this.cids.set(slot, map);
      }
      map.set(cid, id);
    }
    this.index.set(id, h);
    return h;
  }

  private forget(id: number): void {
    const h = this.index.get(id);
    if (h === NIL) return;
    const cid = this.hCid[h]!;
    if (cid !== '') {
      const map = this.cids.get(this.hSlot[h]!);
      if (map?.get(cid) === id) map.delete(cid);
      this.hCid[h] = '';
    }
    this.index.delete(id);
    this.hNext[h] = this.hFree;
    this.hFree = h;
  }

  private growHolds(): void {
    const n = this.hCap * 2;
    this.hOrder = grown(this.hOrder, n);
    this.hSlot = grown(this.hSlot, n);
    this.hSymbol = grown(this.hSymbol, n);
    this.hSide = grown(this.hSide, n);
    this.hMarket = grown(this.hMarket, n);
    this.hPrice = grown(this.hPrice, n);
    this.hQty = grown(this.hQty, n);
    this.hAdmQty = grown(this.hAdmQty, n);
    this.hAdmPrice = grown(this.hAdmPrice, n);
    this.hUnits = grown(this.hUnits, n);
    this.hNext = grown(this.hNext, n);
    this.hCap = n;
  }

  /**
   * Checks the ledger's invariants and throws naming the first that fails: no negative
   * balance; every locked balance equals what its orders and withdrawals hold; every asset's
   * total equals its net deposits. For tests and `verify` (it walks everything).
   */
  checkInvariants(): void {
    const held = new Float64Array(this.users.length * this.nA);
    for (const h of this.exportHolds()) {
      const m = this.markets[h.symbolId]!;
      const asset = h.side === Side.BUY ? this.assetOf(m.quote.asset) : this.assetOf(m.base.asset);
      held[this.slotOf.get(h.userId)! * this.nA + asset]! += h.units;
    }
    for (const w of this.withdrawals.values()) held[w.slot * this.nA + w.asset]! += w.amount;
    for (let i = 0; i < held.length; i++) {
      const who = `user ${this.users[Math.floor(i / this.nA)]} asset ${i % this.nA}`;
      if (this.free[i]! < 0 || this.locked[i]! < 0)
        throw new Error(`risk invariant: negative balance for ${who}`);
      if (this.locked[i] !== held[i])
        throw new Error(`risk invariant: ${who} has ${this.locked[i]} locked but holds ${held[i]}`);
    }
    for (let a = 0; a < this.nA; a++) {
      if (this.totalOf(a) !== this.supply[a]) {
        throw new Error(
          `risk invariant: asset ${a} totals ${this.totalOf(a)}, net deposits are ${this.supply[a]}`,
        );
      }
    }
  }

  // =========================================================================================
  // State

  private exportHolds(): HoldState[] {
    const out: HoldState[] = [];
    for (let h = 0; h < this.hHigh; h++) {
      const id = this.hOrder[h]!;
      if (this.index.get(id) !== h || this.hUnits[h] === 0) continue;
      out.push({
        orderId: id,
        userId: this.users[this.hSlot[h]!]!,
        symbolId: this.hSymbol[h]!,
        side: this.hSide[h]!,
        market: this.hMarket[h] === 1,
        priceTicks: this.hPrice[h]!,
        qtyLots: this.hQty[h]!,
        units: this.hUnits[h]!,
        clientOrderId: this.hCid[h] ?? '',
      });
    }
    return out;
  }

  /** The ledger state (what a snapshot keeps). Pending admissions are not part of it. */
  exportState(): RiskState {
    // Accounts in user id order, and only those with something in them: admission may open an
    // account for a command it then refuses, which a replay never does, and neither may show.
    const slots: number[] = [];
    for (let s = 0; s < this.users.length; s++) {
      let used = this.makerPpm[s]! >= 0 || this.takerPpm[s]! >= 0;
      for (let a = 0; a < this.nA && !used; a++)
        used = this.free[s * this.nA + a] !== 0 || this.locked[s * this.nA + a] !== 0;
      if (used) slots.push(s);
    }
    slots.sort((x, y) => this.users[x]! - this.users[y]!);
    const free: number[] = [];
    const locked: number[] = [];
    for (const s of slots) {
      for (let a = 0; a < this.nA; a++) {
        free.push(this.free[s * this.nA + a]!);
        locked.push(this.locked[s * this.nA + a]!);
      }
    }
    return {
      users: slots.map((s) => this.users[s]!),
      free,
      locked,
      makerPpm: slots.map((s) => this.makerPpm[s]!),
      takerPpm: slots.map((s) => this.takerPpm[s]!),
      holds: this.exportHolds().sort((x, y) => x.orderId - y.orderId),
      withdrawals: [...this.withdrawals]
        .filter(([, w]) => w.merged)
        .map(([ref, w]) => [ref, this.users[w.slot]!, w.asset, w.amount] as const)
        .sort((x, y) => x[0] - y[0]),
    };
  }

  /** Rebuilds risk from `exportState()` output. */
  static restore(config: RiskConfig, state: RiskState): Risk {
    const r = new Risk(config);
    const n = state.users.length * r.nA;
    if (state.free.length !== n || state.locked.length !== n)
      throw new Error('risk state: balance arrays do not match the users and assets');
    // Accounts by user id: the state lists only accounts with something in them, in user id
    // order, while slots here are whatever this instance assigns (the fee account is slot 0).
    for (const [k, u] of state.users.entries()) {
      const s = r.slot(u);
      for (let a = 0; a < r.nA; a++) {
        r.free[s * r.nA + a] = state.free[k * r.nA + a]!;
        r.locked[s * r.nA + a] = state.locked[k * r.nA + a]!;
      }
      r.makerPpm[s] = state.makerPpm[k]!;
      r.takerPpm[s] = state.takerPpm[k]!;
    }
    for (let a = 0; a < r.nA; a++) r.supply[a] = r.totalOf(a);
    for (const h of state.holds) {
      const i = r.track(
        h.orderId,
        r.slot(h.userId),
        h.symbolId,
        h.side,
        h.market,
        h.priceTicks,
        h.qtyLots,
        h.clientOrderId,
      );
      r.hUnits[i] = h.units;
    }
    for (const [ref, user, asset, amount] of state.withdrawals) {
      r.withdrawals.set(ref, { slot: r.slot(user), asset, amount, closing: false, merged: true });
    }
    return r;
  }
}

function isRate(ppm: number): boolean {
  return Number.isInteger(ppm) && ppm >= 0 && ppm <= PPM;
}

function isUser(userId: number): boolean {
  return Number.isSafeInteger(userId) && userId > 0;
}
