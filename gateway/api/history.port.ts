/**
 * What the trading routes read from the accounts history (the orders and trades the persister
 * projects from the event stream): GET /api/v3/order for orders the gateway's order view no
 * longer holds, GET /api/v3/allOrders and GET /api/v3/myTrades.
 *
 * The rows are the persister's own columns (accounts/db/schema.ts `orders`, and the trade
 * store's `UserTrade`), so that the platform's adapter is a straight mapping onto
 * accounts/history/history.queries.ts. Integers stay in engine units (price ticks, quantity
 * lots, smallest units of an asset); times are microseconds since the epoch. The gateway
 * formats decimals and the client's time unit.
 *
 * Every query is scoped by `userId`, which the gateway takes from the request's
 * authentication, never from a parameter. `symbol` is a listed market (the gateway checked).
 */

/** One order as the history store has it (a subset of the `orders` table's row). */
export interface HistoryOrder {
  readonly orderId: number;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  /** 'LIMIT' | 'MARKET' | 'LIMIT_MAKER' ('' for a REJECTED row). */
  readonly type: string;
  /** 'GTC' | 'IOC' | 'FOK' (MARKET and LIMIT_MAKER read 'GTC'; '' for a REJECTED row). */
  readonly timeInForce: string;
  /** The resolved STP mode's Binance name ('' for a REJECTED row). */
  readonly stpMode: string;
  /** 0 for MARKET. */
  readonly priceTicks: number;
  /** The order's quantity (the amended one after an amend); 0 for a MARKET order by quote amount. */
  readonly qtyLots: number;
  /** quoteOrderQty in quote units; 0 when placed by quantity. */
  readonly quoteQtyUnits: number;
  readonly clientOrderId: string;
  /** NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, EXPIRED_IN_MATCH or REJECTED (never listed). */
  readonly status: string;
  readonly executedLots: number;
  /** Sum of price x quantity of the order's trades, in quote units. */
  readonly cumQuoteUnits: number;
  /** Binance's expiryReason name for an EXPIRED order, else null. */
  readonly expiryReason: string | null;
  /** The seq of the last event that changed the row (the gateway keeps the fresher of this and its view). */
  readonly updatedSeq: number;
  readonly createdMicros: number;
  readonly updatedMicros: number;
}

/** One side of a trade as one of its users sees it (the trade store's `UserTrade`). */
export interface HistoryTrade {
  readonly symbol: string;
  readonly tradeId: number;
  /** The user's order in the trade. */
  readonly orderId: number;
  readonly priceTicks: number;
  readonly qtyLots: number;
  /** The notional in quote units. */
  readonly quoteUnits: number;
  /** Paid in the base asset when the user bought, in the quote asset when they sold (smallest units). */
  readonly commissionUnits: number;
  readonly isBuyer: boolean;
  readonly isMaker: boolean;
  readonly tsMicros: number;
}

/**
 * GET /api/v3/allOrders: with `orderId`, the orders with id >= it, oldest first; else with
 * `startMicros`, the oldest orders created at or after it; else the newest `limit` orders. A
 * window bounds creation times (inclusive). Always answered in ascending order id.
 */
export interface HistoryOrdersQuery {
  readonly orderId?: number;
  readonly startMicros?: number;
  readonly endMicros?: number;
  /** 1..1000 (the gateway applies the default 500 and clamps). */
  readonly limit: number;
}

/** GET /api/v3/order: by id, by client order id (the most recent order with it), or both (both must match). */
export interface HistoryOrderRef {
  readonly orderId?: number;
  readonly clientOrderId?: string;
}

/**
 * GET /api/v3/myTrades: `fromId` returns trades with id >= it, oldest first; a window returns
 * the trades in it, oldest first; `endMicros` alone the newest at or before it; nothing the
 * newest. `orderId` keeps one order's trades. Always in ascending trade id order.
 */
export interface HistoryTradesQuery {
  readonly orderId?: number;
  readonly startMicros?: number;
  readonly endMicros?: number;
  readonly fromId?: number;
  /** 1..1000. */
  readonly limit: number;
}

/**
 * The history port. The platform's adapter maps it onto accounts/history/history.queries.ts
 * (`userOrders`, `userOrder` with 'history.order_not_found' as null, `userTrades`); tests use
 * an in-memory fake. Errors other than "not found" reject (the gateway answers 500 -1000 and
 * logs them: the gateway validated every parameter before asking).
 */
export interface OrderHistory {
  /** `userId`'s orders on `symbol`, ascending order id (REJECTED rows may be included; the gateway skips them). */
  allOrders(userId: number, symbol: string, query: HistoryOrdersQuery): Promise<HistoryOrder[]>;
  /** One of `userId`'s orders on `symbol`, or null when there is none. */
  order(userId: number, symbol: string, ref: HistoryOrderRef): Promise<HistoryOrder | null>;
  /** `userId`'s trades on `symbol`, ascending trade id. */
  myTrades(userId: number, symbol: string, query: HistoryTradesQuery): Promise<HistoryTrade[]>;
}
