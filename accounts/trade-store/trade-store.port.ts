/**
 * The trade history port: where executed trades are kept and how they are read back. Two
 * adapters sit beside it, PostgreSQL (the `trades` table the persister writes) and DynamoDB
 * (the production home of trade history), and one test suite runs against both.
 *
 * Reads follow Binance: a symbol's trades (`historicalTrades`) and a user's trades
 * (`myTrades`): `fromId` returns trades with id >= fromId, oldest first; a time window
 * returns the trades in it, oldest first; `endTime` alone returns the newest trades at or
 * before it; nothing at all returns the newest trades. Results are always in ascending trade
 * id order. Times are microseconds since the epoch (the engine's clock); the gateway converts
 * Binance's milliseconds (or microseconds under `X-MBX-TIME-UNIT`).
 */
/** One executed trade, as the persister projects it from TradeExecuted + TradeSettled. */
export interface TradeRecord {
  readonly symbol: string;
  /** Per symbol, gapless from 1. */
  readonly tradeId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  /** The notional in quote units. */
  readonly quoteUnits: number;
  readonly buyerUserId: number;
  readonly sellerUserId: number;
  readonly buyerOrderId: number;
  readonly sellerOrderId: number;
  readonly takerSide: 'BUY' | 'SELL';
  /** The buyer's fee, in base units. */
  readonly buyerFeeUnits: number;
  /** The seller's fee, in quote units. */
  readonly sellerFeeUnits: number;
  /** The engine seq of the command that caused it. */
  readonly seq: number;
  readonly tsMicros: number;
}

/** One side of a trade as one of its users sees it (Binance's myTrades row). */
export interface UserTrade {
  readonly symbol: string;
  readonly tradeId: number;
  readonly orderId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  readonly quoteUnits: number;
  /** Paid in the base asset when the user bought, in the quote asset when they sold. */
  readonly commissionUnits: number;
  readonly isBuyer: boolean;
  readonly isMaker: boolean;
  readonly tsMicros: number;
}

/** A symbol's trades (Binance `historicalTrades` semantics plus a time window). */
export interface SymbolTradesQuery {
  readonly symbol: string;
  readonly fromId?: number;
  readonly startMicros?: number;
  readonly endMicros?: number;
  /** Default 500, at most 1000. */
  readonly limit?: number;
}

/** A user's trades of one symbol (Binance `myTrades`). */
export interface UserTradesQuery extends SymbolTradesQuery {
  readonly userId: number;
  /** Only this order's trades. */
  readonly orderId?: number;
}

/** Reads and writes trade history. Every read is in ascending trade id order. */
export interface TradeStore {
  /** Stores trades; a trade already stored (same symbol and id) is left as it is. */
  putTrades(trades: readonly TradeRecord[]): Promise<void>;
  /** A symbol's trades. Throws AccountsError `history.*` for a bad query. */
  symbolTrades(query: SymbolTradesQuery): Promise<TradeRecord[]>;
  /** A user's trades (one row per side the user was on). Throws AccountsError `history.*`. */
  userTrades(query: UserTradesQuery): Promise<UserTrade[]>;
}
