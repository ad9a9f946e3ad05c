/**
 * Binance's wallet endpoints, on Binance's paths, with its security, parameters and reply
 * shapes, so that clients written for Binance (ccxt's fetchDeposits / fetchWithdrawals /
 * withdraw / fetchCurrencies, the official connectors) work unchanged:
 *
 *   GET  /sapi/v1/capital/deposit/hisrec     USER_DATA  deposit history
 *   POST /sapi/v1/capital/withdraw/apply     WITHDRAW   request a withdrawal -> {"id": "..."}
 *   GET  /sapi/v1/capital/withdraw/history   USER_DATA  withdrawal history
 *   GET  /sapi/v1/capital/config/getall      USER_DATA  every asset, its networks and the caller's balances
 *
 * The second factor over the API: Binance's withdraw endpoint takes no one-time code, and
 * neither does this one. A key can withdraw only when it has the withdraw permission and an IP
 * allow-list (accounts refuses to create one without it, and the gateway checks the client's
 * address against it), and creating such a key through the web API asks for the TOTP code when
 * the user has the factor on; the key and its allow-list stand in for the code. Web-session
 * withdrawals (POST /api/crossbook/v1/withdrawals) ask for the code as accounts/ requires.
 *
 * Failures: Binance's request errors for parameters (-1100, -1102, -1104, ...) and, for the
 * failures of accounts/, the table of ./accounts-errors.ts (Binance's wallet codes -40xx where
 * Binance has the case: -4026 insufficient balance, -4023 over the 24-hour limit, ...).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../accounts/db/schema.ts';
import { isAccountsError } from '../../accounts/errors.ts';
import { type FundsConfig, resolveFundsConfig } from '../../accounts/funds/funds-config.ts';
import {
  type DepositRecord,
  depositHistory,
  type WithdrawalRecord,
  withdrawalHistory,
} from '../../accounts/funds/funds-history.queries.ts';
import { requestWithdrawal, type SecondFactor } from '../../accounts/funds/withdrawal.service.ts';
import { isKycTier, withdrawLimitUnits } from '../../accounts/kyc/kyc-tiers.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { formatDecimal, type Markets } from '../../engine/index.ts';
import { responseTime, type TimeUnit } from '../auth/time-unit.ts';
import { BinanceApiError, type BinanceError, Errors, LEGAL_RANGE } from '../binance/errors.ts';
import { type GatewayRequest, jsonResponse, type Route, type RouteContext } from '../http/http-types.ts';
import { optionalBoolean, optionalParam, requireParam } from '../http/params.ts';
import type { EngineAccess } from '../ports.ts';
import { toBinanceApiError } from './accounts-errors.ts';
import { engineCall } from './trading-errors.ts';
import { checkUnread, optionalInteger } from './trading-params.ts';

/** What the wallet endpoints need. */
export interface CapitalRoutesDeps {
  readonly db: Kysely<Database>;
  readonly markets: Markets;
  /** Withdrawals hold and settle through it. */
  readonly engine: EnginePort;
  readonly funds: FundsConfig;
  /** One user's balances now (the platform's CoreClient; a Core in tests), for config/getall. */
  readonly balances: Pick<EngineAccess, 'balancesOf'>;
}

/**
 * The second factor of API-key withdrawals: none asked (see above). The key's withdraw
 * permission and IP allow-list, both checked before the handler runs, take its place.
 */
const API_KEY_WITHDRAWALS: SecondFactor = {
  isEnabled: async () => false,
  verify: async () => false,
};

/** The authenticated user of a signed route (the pipeline guarantees one). */
function userOf(ctx: RouteContext): { userId: number; kycTier: number } {
  if (ctx.auth === null) throw new Error('wallet route reached without authentication');
  return { userId: ctx.auth.userId, kycTier: ctx.auth.key.kycTier };
}

/** Runs a call into accounts/: its AccountsErrors become their Binance errors. */
async function accounts<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isAccountsError(e)) throw toBinanceApiError(e);
    throw e;
  }
}

/** The latest time a request may name (milliseconds): far beyond any real one, still a valid Date. */
const MAX_MILLIS = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;

/** A request time in the client's unit, as milliseconds (what the funds history takes). */
function requestMillis(
  params: ReadonlyMap<string, string>,
  name: string,
  unit: TimeUnit,
): number | undefined {
  const v = optionalInteger(params, name);
  if (v === undefined) return undefined;
  // Clamped as the web API clamps: a time beyond a Date's range would fail in the query (a 500).
  return Math.min(unit === 'MICROSECOND' ? Math.floor(v / 1000) : v, MAX_MILLIS);
}

/** Milliseconds out in the client's unit. */
const timeOut = (millis: number, unit: TimeUnit): number => responseTime(millis * 1000, unit);

/** Binance's time text in withdrawal history ("2019-10-12 11:12:02", UTC). */
function binanceTimeText(millis: number): string {
  return new Date(millis).toISOString().slice(0, 19).replace('T', ' ');
}

/** The filters both histories share, as Binance names them. */
function historyQuery(params: ReadonlyMap<string, string>, unit: TimeUnit) {
  const coin = optionalParam(params, 'coin');
  const status = optionalInteger(params, 'status');
  const startTime = requestMillis(params, 'startTime', unit);
  const endTime = requestMillis(params, 'endTime', unit);
  const offset = optionalInteger(params, 'offset');
  const limit = optionalInteger(params, 'limit');
  return {
    ...(coin === undefined ? {} : { coin }),
    ...(status === undefined ? {} : { status }),
    ...(startTime === undefined ? {} : { startTime }),
    ...(endTime === undefined ? {} : { endTime }),
    ...(offset === undefined ? {} : { offset }),
    ...(limit === undefined ? {} : { limit }),
  };
}

/** A deposit as Binance lists it (we keep no deposit addresses or tags: empty strings). */
function depositJson(d: DepositRecord, unit: TimeUnit): Record<string, unknown> {
  return {
    id: String(d.id),
    amount: d.amount,
    coin: d.coin,
    network: d.network,
    status: d.status,
    address: '',
    addressTag: '',
    txId: d.txId,
    insertTime: timeOut(d.insertTime, unit),
    transferType: 0,
    // A credit is final once the engine applied it: one confirmation of one.
    confirmTimes: d.state === 'CREDITED' ? '1/1' : '0/1',
    unlockConfirm: 0,
    walletType: 0,
  };
}

/** A withdrawal as Binance lists it (times as Binance's UTC text). */
function withdrawalJson(w: WithdrawalRecord): Record<string, unknown> {
  return {
    id: String(w.id),
    amount: w.amount,
    transactionFee: w.transactionFee,
    coin: w.coin,
    status: w.status,
    address: w.address,
    txId: w.txId ?? '',
    applyTime: binanceTimeText(w.applyTime),
    network: w.network,
    transferType: 0,
    ...(w.withdrawOrderId === null ? {} : { withdrawOrderId: w.withdrawOrderId }),
    info: w.info ?? '',
    confirmNo: w.state === 'COMPLETED' ? 1 : 0,
    walletType: 0,
    txKey: '',
    ...(w.completeTime === null ? {} : { completeTime: binanceTimeText(w.completeTime) }),
  };
}

const ID_LIST_RANGE = '^[0-9]{1,20}(,[0-9]{1,20}){0,44}$';

/** `idList`: comma-separated withdrawal ids (at most 45, as Binance allows). */
function idList(params: ReadonlyMap<string, string>): number[] | undefined {
  const v = optionalParam(params, 'idList');
  if (v === undefined) return undefined;
  if (!new RegExp(ID_LIST_RANGE).test(v))
    throw new BinanceApiError(Errors.illegalChars('idList', ID_LIST_RANGE));
  return v.split(',').map((id) => Math.min(Number(id), Number.MAX_SAFE_INTEGER));
}

/** -4008: Crossbook's networks have no address tags (memos). */
const noAddressTags = (): BinanceError => ({
  status: 400,
  code: -4008,
  msg: 'Address tag validation is not passed: the networks of this exchange take no address tag.',
});

/** Binance's address check for the allow-list's address shape (visible ASCII, no spaces). */
const ADDRESS_REGEX = '^[\\x21-\\x7e]{1,128}$';

/** The wallet endpoints, ready for the router. */
export function capitalRoutes(deps: CapitalRoutesDeps): Route[] {
  const { db, markets, engine, funds } = deps;

  const depositHisrec = async (req: GatewayRequest, ctx: RouteContext) => {
    const p = req.params;
    checkUnread(p, ['coin', 'status', 'startTime', 'endTime', 'offset', 'limit', 'txId', 'includeSource']);
    // includeSource asks for the source address, which this exchange does not record.
    optionalBoolean(p, 'includeSource');
    const txId = optionalParam(p, 'txId');
    const q = { ...historyQuery(p, ctx.timeUnit), ...(txId === undefined ? {} : { txId }) };
    const rows = await accounts(() => depositHistory(db, markets, userOf(ctx).userId, q));
    return jsonResponse(rows.map((d) => depositJson(d, ctx.timeUnit)));
  };

  const withdrawHistory = async (req: GatewayRequest, ctx: RouteContext) => {
    const p = req.params;
    checkUnread(p, [
      'coin',
      'withdrawOrderId',
      'status',
      'offset',
      'limit',
      'idList',
      'startTime',
      'endTime',
    ]);
    const withdrawOrderId = optionalParam(p, 'withdrawOrderId');
    const ids = idList(p);
    const q = {
      ...historyQuery(p, ctx.timeUnit),
      ...(withdrawOrderId === undefined ? {} : { withdrawOrderId }),
      ...(ids === undefined ? {} : { idList: ids }),
    };
    const rows = await accounts(() => withdrawalHistory(db, markets, userOf(ctx).userId, q));
    return jsonResponse(rows.map(withdrawalJson));
  };

  const withdrawApply = async (req: GatewayRequest, ctx: RouteContext) => {
    const p = req.params;
    checkUnread(p, [
      'coin',
      'network',
      'address',
      'addressTag',
      'amount',
      'withdrawOrderId',
      'transactionFeeFlag',
      'name',
      'walletType',
    ]);
    const coin = requireParam(p, 'coin');
    const address = requireParam(p, 'address');
    const amount = requireParam(p, 'amount');
    if (!new RegExp(LEGAL_RANGE.decimal).test(amount))
      throw new BinanceApiError(Errors.illegalChars('amount', LEGAL_RANGE.decimal));
    const tag = p.get('addressTag');
    if (tag !== undefined && tag !== '') throw new BinanceApiError(noAddressTags());
    const walletType = optionalParam(p, 'walletType');
    // 0 is the spot wallet, the only one here (Binance's 1 is its funding wallet).
    if (walletType !== undefined && walletType !== '0')
      throw new BinanceApiError(Errors.invalidParam('walletType'));
    // The fee is 0, so whether it comes out of the amount changes nothing; `name` labels an
    // address in Binance's address book, which here is the web allow-list.
    optionalBoolean(p, 'transactionFeeFlag');
    optionalParam(p, 'name');
    // Without a network, the coin's default: the first one configured for it (as `isDefault`
    // in config/getall says).
    const network =
      optionalParam(p, 'network') ??
      (Object.hasOwn(funds.networks, coin) ? funds.networks[coin]?.[0] : undefined) ??
      '';
    const withdrawOrderId = optionalParam(p, 'withdrawOrderId');
    const w = await accounts(() =>
      requestWithdrawal(
        db,
        engine,
        { secondFactor: API_KEY_WITHDRAWALS, config: funds },
        {
          userId: userOf(ctx).userId,
          asset: coin,
          network,
          address,
          amount,
          ...(withdrawOrderId === undefined ? {} : { clientId: withdrawOrderId }),
          ip: req.ip,
        },
      ),
    );
    return jsonResponse({ id: String(w.id) });
  };

  const getall = async (req: GatewayRequest, ctx: RouteContext) => {
    checkUnread(req.params, []);
    const user = userOf(ctx);
    const config = resolveFundsConfig(markets, funds);
    // Funds the engine holds for withdrawals in progress: Binance shows them as `withdrawing`,
    // apart from `locked` (open orders). Read before the balances, so that a withdrawal that
    // settles in between is not counted twice (locked is clamped at 0 instead).
    const inFlight = await db
      .selectFrom('withdrawals')
      .select(['asset', sql<number>`coalesce(sum(amount_units), 0)::int8`.as('units')])
      .where('userId', '=', user.userId)
      .where('status', 'in', ['HELD', 'AWAITING_APPROVAL'])
      .groupBy('asset')
      .execute();
    const withdrawing = new Map(inFlight.map((r) => [r.asset, Number(r.units)]));
    const balances = await engineCall(() => deps.balances.balancesOf(user.userId));
    const byAsset = new Map(balances.map((b) => [b.assetId, b]));
    const traded = new Set(markets.list.flatMap((m) => [m.base.asset, m.quote.asset]));
    const tier = isKycTier(user.kycTier) ? user.kycTier : 0;
    const coins = [...markets.assets.values()].map((spec, assetId) => {
      const b = byAsset.get(assetId);
      const held = withdrawing.get(spec.asset) ?? 0;
      const amount = (units: number) => formatDecimal(units, spec.scale);
      const networks = [...(config.networks.get(spec.asset) ?? [])];
      const limit = withdrawLimitUnits(markets, tier, spec.asset);
      const step = amount(1);
      return {
        coin: spec.asset,
        depositAllEnable: networks.length > 0,
        withdrawAllEnable: networks.length > 0 && limit > 0,
        name: spec.asset,
        free: amount(b?.free ?? 0),
        locked: amount(Math.max(0, (b?.locked ?? 0) - held)),
        freeze: amount(0),
        withdrawing: amount(held),
        ipoing: amount(0),
        ipoable: amount(0),
        storage: amount(0),
        isLegalMoney: false,
        trading: traded.has(spec.asset),
        networkList: networks.map((network, i) => ({
          network,
          coin: spec.asset,
          withdrawIntegerMultiple: step,
          isDefault: i === 0,
          depositEnable: true,
          withdrawEnable: limit > 0,
          depositDesc: '',
          withdrawDesc: limit > 0 ? '' : 'Complete identity verification to withdraw.',
          specialTips: '',
          specialWithdrawTips: '',
          name: network,
          resetAddressStatus: false,
          addressRegex: ADDRESS_REGEX,
          memoRegex: '',
          withdrawFee: amount(0),
          withdrawMin: step,
          // The caller's KYC tier's 24-hour limit: the most one withdrawal can be.
          withdrawMax: amount(limit),
          minConfirm: 1,
          unLockConfirm: 0,
          sameAddress: false,
          estimatedArrivalTime: 0,
          busy: false,
          contractAddressUrl: '',
          contractAddress: '',
        })),
      };
    });
    return jsonResponse(coins);
  };

  return [
    {
      method: 'GET',
      path: '/sapi/v1/capital/deposit/hisrec',
      security: 'USER_DATA',
      weight: 1,
      handler: depositHisrec,
    },
    {
      method: 'POST',
      path: '/sapi/v1/capital/withdraw/apply',
      security: 'WITHDRAW',
      weight: 1,
      handler: withdrawApply,
    },
    {
      method: 'GET',
      path: '/sapi/v1/capital/withdraw/history',
      security: 'USER_DATA',
      weight: 1,
      handler: withdrawHistory,
    },
    {
      method: 'GET',
      path: '/sapi/v1/capital/config/getall',
      security: 'USER_DATA',
      weight: 10,
      handler: getall,
    },
  ];
}
