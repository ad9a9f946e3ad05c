/**
 * The stateless rules of a new order: its shape (type, time in force, STP mode, client order
 * id) and the market's filters (price, quantity, notional). The book applies them first, and
 * so does the core before it holds funds, so that risk only ever computes a hold from an
 * order that the market allows. The book's stateful rules (duplicates, capacity, post-only)
 * stay in the book.
 */
import { isValidClientOrderId, type PlaceOrderFields } from '../model/commands.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../model/enums.ts';
import { isPositiveSafeInteger } from '../model/ids.ts';
import type { Market } from '../model/market.ts';
import { ResultCode } from '../model/result-code.ts';

/** Checks a new order against its market; returns OK or the first rule it breaks. */
export function checkOrderShape(m: Market, c: PlaceOrderFields): ResultCode {
  if (!m.trading) return ResultCode.MARKET_NOT_TRADING;
  if (!isPositiveSafeInteger(c.orderId)) return ResultCode.INVALID_ORDER_ID;
  if (c.side !== Side.BUY && c.side !== Side.SELL) return ResultCode.INVALID_SIDE;
  const type = c.orderType;
  const tif = c.timeInForce;
  if (type === OrderType.LIMIT) {
    if (tif !== TimeInForce.GTC && tif !== TimeInForce.IOC && tif !== TimeInForce.FOK) {
      return ResultCode.INVALID_TIME_IN_FORCE;
    }
  } else if (type === OrderType.MARKET || type === OrderType.LIMIT_MAKER) {
    if (tif !== TimeInForce.NONE) return ResultCode.TIME_IN_FORCE_NOT_ALLOWED;
  } else {
    return ResultCode.INVALID_ORDER_TYPE;
  }
  const stp = c.stpMode === StpMode.DEFAULT ? m.defaultStpMode : c.stpMode;
  if (!Number.isInteger(stp) || stp < StpMode.NONE || stp > StpMode.DECREMENT)
    return ResultCode.INVALID_STP_MODE;
  if ((m.allowedStpMask & (1 << stp)) === 0) return ResultCode.STP_MODE_NOT_ALLOWED;
  if (c.clientOrderId !== '' && !isValidClientOrderId(c.clientOrderId))
    return ResultCode.INVALID_CLIENT_ORDER_ID;
  const price = c.priceTicks;
  const qty = c.qtyLots;
  const quote = c.quoteQtyUnits;
  if (type === OrderType.MARKET) {
    if (price !== 0) return ResultCode.PRICE_NOT_ALLOWED;
    if (qty !== 0 && quote !== 0) return ResultCode.QTY_AND_QUOTE_QTY;
    if (qty === 0 && quote === 0) return ResultCode.QTY_REQUIRED;
    if (quote !== 0) {
      if (!Number.isSafeInteger(quote) || quote < 0) return ResultCode.QUOTE_QTY_NOT_INTEGER;
      if (quote < m.minNotionalUnits) return ResultCode.NOTIONAL_BELOW_MIN;
      if (quote > m.maxNotionalUnits) return ResultCode.NOTIONAL_ABOVE_MAX;
    } else {
      if (!Number.isSafeInteger(qty) || qty < 0) return ResultCode.QTY_NOT_INTEGER;
      if (qty < m.minQtyLots) return ResultCode.QTY_BELOW_MIN;
      if (qty > m.marketMaxQtyLots) return ResultCode.MARKET_QTY_ABOVE_MAX;
    }
  } else {
    if (quote !== 0) return ResultCode.QUOTE_QTY_NOT_ALLOWED;
    if (price === 0) return ResultCode.PRICE_REQUIRED;
    if (!Number.isSafeInteger(price) || price < 0) return ResultCode.PRICE_NOT_INTEGER;
    if (price < m.minPriceTicks) return ResultCode.PRICE_BELOW_MIN;
    if (price > m.maxPriceTicks) return ResultCode.PRICE_ABOVE_MAX;
    if (qty === 0) return ResultCode.QTY_REQUIRED;
    if (!Number.isSafeInteger(qty) || qty < 0) return ResultCode.QTY_NOT_INTEGER;
    if (qty < m.minQtyLots) return ResultCode.QTY_BELOW_MIN;
    if (qty > m.maxQtyLots) return ResultCode.QTY_ABOVE_MAX;
    const notional = price * qty * m.quoteUnitsPerTickLot;
    if (notional < m.minNotionalUnits) return ResultCode.NOTIONAL_BELOW_MIN;
    if (notional > m.maxNotionalUnits) return ResultCode.NOTIONAL_ABOVE_MAX;
  }
  return ResultCode.OK;
}
