/**
 * The account endpoints: GET /api/v3/account (balances, commission rates, permissions),
 * GET /api/v3/account/commission (one symbol's rates) and GET /sapi/v1/asset/tradeFee (every
 * symbol's rates, in the shape of Binance's wallet API). Weights and security as on Binance.
 *
 * Balances come from the core (free and locked, as risk holds them now), rates from the
 * platform's FeeRates, what the account may do from the owner's KYC tier
 * (accounts/kyc/kyc-tiers.ts), which authentication already resolved with the key.
 */
import { isKycTier, kycPolicy } from '../../accounts/kyc/kyc-tiers.ts';
import { responseTime } from '../auth/time-unit.ts';
import { type GatewayRequest, jsonResponse, type Route, type RouteContext } from '../http/http-types.ts';
import type { EngineAccess, FeeRates } from '../ports.ts';
import { engineCall } from './trading-errors.ts';
import {
  accountBalances,
  basisPoints,
  commissionRates,
  rateString,
  shortRateString,
} from './trading-format.ts';
import { checkUnread, omitZeroBalances, optionalMarket, requiredMarket } from './trading-params.ts';

/** What the account endpoints read. */
export interface AccountRoutesDeps {
  readonly engine: EngineAccess;
  readonly fees: FeeRates;
}

/** The authenticated user of a signed route (the pipeline guarantees one). */
function userOf(ctx: RouteContext): { userId: number; kycTier: number; active: boolean } {
  const auth = ctx.auth;
  if (auth === null) throw new Error('account route reached without authentication');
  return { userId: auth.userId, kycTier: auth.key.kycTier, active: auth.key.userStatus === 'ACTIVE' };
}

/** The account endpoints, ready for the router. */
export function accountRoutes(deps: AccountRoutesDeps): Route[] {
  const { engine, fees } = deps;
  const markets = engine.markets;

  const account = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['omitZeroBalances']);
    const omitZero = omitZeroBalances(req.params);
    const user = userOf(ctx);
    const [balances, rates] = await Promise.all([
      engineCall(() => engine.balancesOf(user.userId)),
      fees.rates(user.userId),
    ]);
    const policy = isKycTier(user.kycTier) ? kycPolicy(user.kycTier) : undefined;
    return jsonResponse({
      makerCommission: basisPoints(rates.makerPpm),
      takerCommission: basisPoints(rates.takerPpm),
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: commissionRates(rates),
      canTrade: user.active && (policy?.canTrade ?? false),
      canWithdraw: user.active && (policy?.canWithdraw ?? false),
      // Every tier may deposit (KYC tier 0 included).
      canDeposit: user.active,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      // The balances are read now: their time is the time of the answer.
      updateTime: responseTime(ctx.nowMicros, ctx.timeUnit),
      accountType: 'SPOT',
      balances: accountBalances(markets, balances, omitZero),
      permissions: ['SPOT'],
      uid: user.userId,
    });
  };

  const commission = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['symbol']);
    const m = requiredMarket(req.params, markets);
    const rates = await fees.rates(userOf(ctx).userId);
    const zero = rateString(0);
    const none = { maker: zero, taker: zero, buyer: zero, seller: zero };
    return jsonResponse({
      symbol: m.symbol,
      standardCommission: commissionRates(rates),
      specialCommission: none,
      taxCommission: none,
      // Binance discounts fees paid in BNB; there is no such asset here, so it is off.
      discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: 'BNB', discount: zero },
    });
  };

  const tradeFee = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, ['symbol']);
    const one = optionalMarket(req.params, markets);
    const rates = await fees.rates(userOf(ctx).userId);
    const list = one === undefined ? markets.list : [one];
    return jsonResponse(
      list.map((m) => ({
        symbol: m.symbol,
        makerCommission: shortRateString(rates.makerPpm),
        takerCommission: shortRateString(rates.takerPpm),
      })),
    );
  };

  return [
    { method: 'GET', path: '/api/v3/account', security: 'USER_DATA', weight: 20, handler: account },
    {
      method: 'GET',
      path: '/api/v3/account/commission',
      security: 'USER_DATA',
      weight: 20,
      handler: commission,
    },
    { method: 'GET', path: '/sapi/v1/asset/tradeFee', security: 'USER_DATA', weight: 1, handler: tradeFee },
  ];
}
