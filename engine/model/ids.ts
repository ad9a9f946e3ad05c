/**
 * Branded identifiers. At run time they are plain numbers (safe integers); the brand keeps
 * an order id from being passed where a user id is expected. Hot paths keep them in typed
 * arrays and re-brand at the boundary.
 */
declare const brand: unique symbol;
/** A value of type `T` that the type checker tells apart from other `T`s by its brand `B`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** An order's id: unique per symbol, assigned by the sequencer, increasing. */
export type OrderId = Brand<number, 'OrderId'>;
/** A user's (account's) id. */
export type UserId = Brand<number, 'UserId'>;
/** A market's numeric id, dense from 0; the symbol string lives in the market definition. */
export type SymbolId = Brand<number, 'SymbolId'>;
/** A trade's id: unique per symbol, assigned by that symbol's order book, gapless from 1. */
export type TradeId = Brand<number, 'TradeId'>;
/** A prevented match's id (self-trade prevention): per symbol, gapless from 1. */
export type PreventedMatchId = Brand<number, 'PreventedMatchId'>;
/** The sequencer's stamp: gapless and strictly increasing over every command. */
export type Seq = Brand<number, 'Seq'>;

/** Brands a number as an order id (no check: use at trusted boundaries). */
export const orderId = (n: number): OrderId => n as OrderId;
/** Brands a number as a user id. */
export const userId = (n: number): UserId => n as UserId;
/** Brands a number as a symbol id. */
export const symbolId = (n: number): SymbolId => n as SymbolId;
/** Brands a number as a trade id. */
export const tradeId = (n: number): TradeId => n as TradeId;
/** Brands a number as a sequence number. */
export const seq = (n: number): Seq => n as Seq;
/** Brands a number as a prevented match id. */
export const preventedMatchId = (n: number): PreventedMatchId => n as PreventedMatchId;

/** True for an integer in [1, Number.MAX_SAFE_INTEGER]: the range of every id and amount. */
export function isPositiveSafeInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
