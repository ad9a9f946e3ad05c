/**
 * The web account endpoints under /api/crossbook/v1: what Binance keeps on its website rather
 * than in its API (registration, sign-in and sessions, the password, the TOTP second factor,
 * API keys, KYC, the withdrawal address allow-list, deposits and withdrawals, the ledger).
 *
 * These are for people (the web terminal, scripts acting for one), not for trading bots, so
 * they differ from the Binance endpoints on purpose:
 * - authentication is a session: `Authorization: Bearer <sessionToken>` from POST login (the
 *   router sees security NONE; each handler calls accounts' `authenticate`);
 * - POST bodies are JSON objects (`Content-Type: application/json`; anything else is 415),
 *   with only the fields the endpoint reads; GET and DELETE take query parameters;
 * - replies are JSON; failures are `{"code": -9101, "msg": "...", "reason": "auth.invalid_credentials"}`
 *   with the status of ./accounts-errors.ts (never a 5xx for bad input).
 *
 * Every handler acts on the session's own user: no parameter names a user, and an id of
 * another user's key, session, address or withdrawal answers "not found", as a missing one does.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../accounts/db/schema.ts';
import { AccountsError, isAccountsError } from '../../accounts/errors.ts';
import type { FundsConfig } from '../../accounts/funds/funds-config.ts';
import {
  depositHistory,
  WITHDRAWAL_STATUS_CODE,
  type WithdrawalRecord,
  withdrawalHistory,
} from '../../accounts/funds/funds-history.queries.ts';
import {
  cancelWithdrawal,
  requestWithdrawal,
  type Withdrawal,
} from '../../accounts/funds/withdrawal.service.ts';
import {
  addWithdrawalAddress,
  listWithdrawalAddresses,
  removeWithdrawalAddress,
  type WithdrawalAddress,
} from '../../accounts/funds/withdrawal-address.service.ts';
import { type LedgerQuery, userLedger } from '../../accounts/history/history.queries.ts';
import {
  type ApiKeyInfo,
  type ApiKeyInput,
  type ApiKeyType,
  type AuthenticatedSession,
  authenticate,
  changePassword,
  confirmTotp,
  createApiKey,
  deleteApiKey,
  disableTotp,
  getUser,
  type IdentityContext,
  kycStatus,
  listApiKeys,
  listSessions,
  login,
  logout,
  type RequestMeta,
  register,
  revokeAllSessions,
  revokeSession,
  secondFactor,
  setupTotp,
  submitKyc,
  verifyTotp,
} from '../../accounts/identity/index.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { postgresTradeStore } from '../../accounts/trade-store/postgres.adapter.ts';
import { formatDecimal, type Markets } from '../../engine/index.ts';
import type { GatewayRequest, GatewayResponse, Route } from '../http/http-types.ts';
import { jsonResponse } from '../http/http-types.ts';
import { accountsErrorReply } from './accounts-errors.ts';

/** The prefix of every web account endpoint. */
export const ACCOUNT_API_PREFIX = '/api/crossbook/v1';

/** What the account endpoints need: the accounts database and identity, the markets, the engine, the funds rules. */
export interface AccountManagementDeps {
  readonly db: Kysely<Database>;
  readonly identity: IdentityContext;
  readonly markets: Markets;
  /** Withdrawals hold and settle through it. */
  readonly engine: EnginePort;
  readonly funds: FundsConfig;
  /** Awaited before a ledger read, where the persister runs in the process (PlatformParts.historyCaughtUp). */
  readonly historyCaughtUp?: () => Promise<void>;
}

/** A JSON request body (an object; `{}` when the request has none). */
type Body = Readonly<Record<string, unknown>>;

/** What a handler is given. */
interface Call {
  readonly req: GatewayRequest;
  readonly body: Body;
  readonly query: ReadonlyMap<string, string>;
  /** Who is asking, for the audit log and the session list. */
  readonly meta: RequestMeta;
}

/** What a handler of a signed-in endpoint is given besides the request. */
interface SignedInCall extends Call {
  readonly session: AuthenticatedSession;
  /** The bearer token (for logout). */
  readonly token: string;
}

/** One endpoint as declared below. */
interface Endpoint<C extends Call> {
  readonly method: Route['method'];
  /** After the prefix. */
  readonly path: string;
  readonly weight: number;
  /** The JSON fields the body may carry; null: the endpoint takes no body. */
  readonly fields: readonly string[] | null;
  /** The query parameters the endpoint reads. */
  readonly params?: readonly string[];
  readonly run: (call: C) => Promise<unknown>;
}

const fail = (reason: string, message: string): AccountsError => new AccountsError(reason, message);

const JSON_TYPE = /^\s*application\/json\s*(;|$)/i;

/**
 * The request's JSON body, checked against the fields the endpoint reads. An empty body is
 * `{}` whatever its Content-Type (clients send `Content-Type: application/json` with no body).
 */
function readBody(req: GatewayRequest, fields: readonly string[] | null): Body {
  if (req.body.length === 0) return {};
  if (fields === null) throw fail('request.unexpected_body', 'this endpoint takes no request body');
  if (!JSON_TYPE.test(req.headers['content-type'] ?? ''))
    throw fail(
      'request.unsupported_media_type',
      'the request body must be JSON (Content-Type: application/json)',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw fail('request.invalid_json', 'the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw fail('request.invalid_json', 'the request body must be a JSON object');
  for (const k of Object.keys(parsed))
    if (!fields.includes(k)) throw fail('request.unknown_field', `unknown field ${quote(k)}`);
  return parsed as Body;
}

/** Refuses query parameters the endpoint does not read. */
function checkParams(req: GatewayRequest, known: readonly string[]): void {
  for (const k of req.params.keys())
    if (!known.includes(k)) throw fail('request.unknown_parameter', `unknown parameter ${quote(k)}`);
}

/** A name from the request, quoted for a message: short and printable. */
function quote(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  return `"${cut.replace(/[^\x20-\x7e]/g, '?')}"`;
}

/** A mandatory string field (missing, null or empty: 'request.missing_field'). */
function text(body: Body, name: string): string {
  const v = body[name];
  if (v === undefined || v === null || v === '') throw fail('request.missing_field', `${name} is required`);
  if (typeof v !== 'string') throw fail('request.invalid_field', `${name} must be a string`);
  return v;
}

/** An optional string field (absent or null: undefined). */
function optionalText(body: Body, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('request.invalid_field', `${name} must be a string`);
  return v;
}

/** An optional object field, passed on for accounts/ to check its contents. */
function optionalObject(body: Body, name: string): Record<string, unknown> | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw fail('request.invalid_field', `${name} must be an object`);
  return v as Record<string, unknown>;
}

/** An optional list of strings. */
function optionalStrings(body: Body, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw fail('request.invalid_field', `${name} must be a list of strings`);
  return v as string[];
}

/** A mandatory integer field. */
function integer(body: Body, name: string): number {
  const v = body[name];
  if (v === undefined || v === null) throw fail('request.missing_field', `${name} is required`);
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw fail('request.invalid_field', `${name} must be an integer`);
  return v;
}

/** An optional non-negative integer query parameter (digits only). */
function queryInt(
  query: ReadonlyMap<string, string>,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = query.get(name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(v) || Number(v) > max)
    throw fail('request.invalid_field', `${name} must be a non-negative integer`);
  return Number(v);
}

/** A mandatory positive integer query parameter (an id). */
function queryId(query: ReadonlyMap<string, string>, name: string): number {
  const v = query.get(name);
  if (v === undefined || v === '') throw fail('request.missing_field', `${name} is required`);
  const n = queryInt(query, name);
  if (n === undefined || n < 1) throw fail('request.invalid_field', `${name} must be a positive integer`);
  return n;
}

/** An optional text query parameter (sent empty: 'request.invalid_field'). */
function queryText(query: ReadonlyMap<string, string>, name: string): string | undefined {
  const v = query.get(name);
  if (v === '') throw fail('request.invalid_field', `${name} must not be empty`);
  return v;
}

/** The latest time a query may name (milliseconds), far beyond any real one but safe in microseconds. */
const MAX_MILLIS = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;

/** The session token of `Authorization: Bearer <token>`. 'auth.session_required' without one. */
function bearerToken(req: GatewayRequest): string {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m === null)
    throw fail(
      'auth.session_required',
      'sign in first and send the session token as Authorization: Bearer <token>',
    );
  return m[1]!;
}

/** Milliseconds of a date (null stays null). */
const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());

function keyJson(k: ApiKeyInfo & { readonly secretKey?: string }): Record<string, unknown> {
  return {
    keyId: k.keyId,
    label: k.label,
    apiKey: k.apiKey,
    ...(k.secretKey === undefined ? {} : { secretKey: k.secretKey }),
    type: k.type,
    permissions: k.permissions,
    ipAllow: k.ipAllow,
    publicKey: k.publicKey,
    createdAt: k.createdAt.getTime(),
  };
}

function addressJson(a: WithdrawalAddress): Record<string, unknown> {
  return {
    id: a.id,
    coin: a.asset,
    network: a.network,
    address: a.address,
    label: a.label,
    createdAt: a.createdAt.getTime(),
  };
}

/** A withdrawal in the shape of the withdrawal history (numeric Binance status beside the platform's). */
function withdrawalJson(w: Withdrawal): WithdrawalRecord {
  return {
    id: w.id,
    coin: w.asset,
    network: w.network,
    address: w.address,
    amount: w.amount,
    transactionFee: w.fee,
    status: WITHDRAWAL_STATUS_CODE[w.status],
    state: w.status,
    txId: w.txId,
    withdrawOrderId: w.clientId,
    info: w.reason,
    applyTime: w.createdAt.getTime(),
    completeTime: w.status === 'COMPLETED' ? w.updatedAt.getTime() : null,
    updateTime: w.updatedAt.getTime(),
  };
}

/** The funds history filters shared by GET deposits and GET withdrawals. */
function historyFilters(query: ReadonlyMap<string, string>) {
  const coin = queryText(query, 'coin');
  const status = queryInt(query, 'status', 99);
  const startTime = queryInt(query, 'startTime', MAX_MILLIS);
  const endTime = queryInt(query, 'endTime', MAX_MILLIS);
  const offset = queryInt(query, 'offset');
  const limit = queryInt(query, 'limit');
  return {
    ...(coin === undefined ? {} : { coin }),
    ...(status === undefined ? {} : { status }),
    ...(startTime === undefined ? {} : { startTime }),
    ...(endTime === undefined ? {} : { endTime }),
    ...(offset === undefined ? {} : { offset }),
    ...(limit === undefined ? {} : { limit }),
  };
}

const HISTORY_PARAMS = ['coin', 'status', 'startTime', 'endTime', 'offset', 'limit'] as const;

/** The web account endpoints, ready for the router. */
export function accountManagementRoutes(deps: AccountManagementDeps): Route[] {
  const { db, identity, markets, engine, funds } = deps;
  // The ledger lives in the accounts database; the trade store is part of the history context
  // but the ledger never reads it, so the database's own adapter is the honest one to give.
  const history = { db, markets, trades: postgresTradeStore(db) };
  const secondFactorOfSessions = secondFactor(db, identity.key, identity);

  /**
   * Runs a handler: the session (for signed-in endpoints) first, so that a request without a
   * valid one learns nothing else; then the body and parameters; failures of accounts/ become
   * their replies.
   */
  const handle = async <C extends Call>(
    endpoint: Endpoint<C>,
    req: GatewayRequest,
    signIn: (call: Call, token: string, session: AuthenticatedSession) => C,
    needsSession: boolean,
  ): Promise<GatewayResponse> => {
    try {
      let signedInAs: { token: string; session: AuthenticatedSession } | undefined;
      if (needsSession) {
        const token = bearerToken(req);
        signedInAs = { token, session: await authenticate(db, token, identity) };
      }
      const body = readBody(req, endpoint.fields);
      checkParams(req, endpoint.params ?? []);
      const ua = req.headers['user-agent'];
      const meta: RequestMeta = ua === undefined ? { ip: req.ip } : { ip: req.ip, userAgent: ua };
      const call: Call = { req, body, query: req.params, meta };
      const full =
        signedInAs === undefined ? (call as C) : signIn(call, signedInAs.token, signedInAs.session);
      return jsonResponse(await endpoint.run(full));
    } catch (e) {
      if (isAccountsError(e)) return accountsErrorReply(e);
      throw e;
    }
  };

  const open = (e: Endpoint<Call>): Route => ({
    method: e.method,
    path: `${ACCOUNT_API_PREFIX}${e.path}`,
    security: 'NONE',
    weight: e.weight,
    handler: (req) => handle(e, req, (call) => call, false),
  });

  const signedIn = (e: Endpoint<SignedInCall>): Route => ({
    method: e.method,
    path: `${ACCOUNT_API_PREFIX}${e.path}`,
    security: 'NONE',
    weight: e.weight,
    handler: (req) => handle(e, req, (call, token, session) => ({ ...call, token, session }), true),
  });

  /** Creating a key that can withdraw needs the second factor when the user has one (see docs/GATEWAY.md). */
  const checkWithdrawKeyFactor = async (call: SignedInCall, wantsWithdraw: boolean): Promise<void> => {
    if (!wantsWithdraw || !call.session.totpEnabled) return;
    const code = optionalText(call.body, 'totpCode');
    if (code === undefined || code === '')
      throw fail(
        'apikey.totp_required',
        'a key that can withdraw needs the code from your authenticator app',
      );
    if (!(await verifyTotp(db, identity, call.session.userId, code, call.meta)))
      throw fail('apikey.totp_invalid', 'the authenticator code is wrong or already used');
  };

  return [
    open({
      method: 'POST',
      path: '/register',
      weight: 10,
      fields: ['email', 'password'],
      run: async ({ body, meta }) => {
        const user = await register(db, identity, text(body, 'email'), text(body, 'password'), meta);
        return { userId: user.userId, email: user.email };
      },
    }),
    open({
      method: 'POST',
      path: '/login',
      weight: 10,
      fields: ['email', 'password', 'totpCode'],
      run: async ({ body, meta }) => {
        const totpCode = optionalText(body, 'totpCode');
        const s = await login(db, identity, text(body, 'email'), text(body, 'password'), {
          ...meta,
          ...(totpCode === undefined ? {} : { totpCode }),
        });
        return { sessionToken: s.sessionToken, expiresAt: s.expiresAt.getTime(), userId: s.userId };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/logout',
      weight: 1,
      fields: [],
      run: async ({ token, meta }) => {
        await logout(db, identity, token, meta);
        return {};
      },
    }),
    signedIn({
      method: 'GET',
      path: '/me',
      weight: 1,
      fields: null,
      run: async ({ session }) => {
        const u = await getUser(db, session.userId);
        return {
          userId: u.userId,
          email: u.email,
          status: u.status,
          kycTier: u.kycTier,
          totpEnabled: u.totpEnabled,
          createdAt: u.createdAt.getTime(),
        };
      },
    }),
    signedIn({
      method: 'GET',
      path: '/sessions',
      weight: 1,
      fields: null,
      run: async ({ session }) => {
        const list = await listSessions(
          db,
          session.userId,
          identity.now === undefined ? {} : { now: identity.now },
        );
        return {
          sessions: list.map((s) => ({
            sessionId: s.sessionId,
            current: s.sessionId === session.sessionId,
            createdAt: s.createdAt.getTime(),
            expiresAt: s.expiresAt.getTime(),
            ip: s.ip,
            userAgent: s.userAgent,
          })),
        };
      },
    }),
    signedIn({
      method: 'DELETE',
      path: '/sessions',
      weight: 1,
      fields: null,
      params: ['sessionId'],
      run: async ({ session, query, meta }) => {
        const sessionId = queryText(query, 'sessionId');
        if (sessionId !== undefined) {
          await revokeSession(db, identity, session.userId, sessionId, meta);
          return { revoked: 1 };
        }
        const revoked = await revokeAllSessions(db, identity, session.userId, {
          ...meta,
          exceptSessionId: session.sessionId,
        });
        return { revoked };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/password',
      weight: 10,
      fields: ['currentPassword', 'newPassword'],
      run: async ({ session, body, meta }) => {
        const r = await changePassword(
          db,
          identity,
          session.userId,
          text(body, 'currentPassword'),
          text(body, 'newPassword'),
          { ...meta, keepSessionId: session.sessionId },
        );
        return { revokedSessions: r.revokedSessions };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/totp/setup',
      weight: 1,
      fields: [],
      run: async ({ session, meta }) => setupTotp(db, identity, session.userId, meta),
    }),
    signedIn({
      method: 'POST',
      path: '/totp/confirm',
      weight: 1,
      fields: ['code'],
      run: async ({ session, body, meta }) => {
        await confirmTotp(db, identity, session.userId, text(body, 'code'), meta);
        return { totpEnabled: true };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/totp/disable',
      weight: 1,
      fields: ['code'],
      run: async ({ session, body, meta }) => {
        await disableTotp(db, identity, session.userId, text(body, 'code'), meta);
        return { totpEnabled: false };
      },
    }),
    signedIn({
      method: 'GET',
      path: '/apiKeys',
      weight: 1,
      fields: null,
      run: async ({ session }) => ({ apiKeys: (await listApiKeys(db, session.userId)).map(keyJson) }),
    }),
    signedIn({
      method: 'POST',
      path: '/apiKeys',
      weight: 1,
      fields: ['label', 'type', 'permissions', 'ipAllow', 'publicKey', 'totpCode'],
      run: async (call) => {
        const { body, session, meta } = call;
        const permissions = optionalObject(body, 'permissions');
        const type = optionalText(body, 'type');
        const ipAllow = optionalStrings(body, 'ipAllow');
        const publicKey = optionalText(body, 'publicKey');
        await checkWithdrawKeyFactor(call, permissions?.withdraw === true);
        // The permissions' contents and the type's value are checked by accounts/ (their codes).
        const input: ApiKeyInput = {
          label: text(body, 'label'),
          ...(permissions === undefined ? {} : { permissions: permissions as ApiKeyInput['permissions'] }),
          ...(ipAllow === undefined ? {} : { ipAllow }),
          ...(type === undefined ? {} : { type: type as ApiKeyType }),
          ...(publicKey === undefined ? {} : { publicKey }),
        };
        return keyJson(await createApiKey(db, identity, session.userId, input, meta));
      },
    }),
    signedIn({
      method: 'DELETE',
      path: '/apiKeys',
      weight: 1,
      fields: null,
      params: ['keyId'],
      run: async ({ session, query, meta }) => {
        await deleteApiKey(db, identity, session.userId, queryId(query, 'keyId'), meta);
        return {};
      },
    }),
    signedIn({
      method: 'GET',
      path: '/kyc',
      weight: 1,
      fields: null,
      run: async ({ session }) => {
        const k = await kycStatus(db, session.userId);
        return {
          tier: k.tier,
          tierName: k.policy.name,
          canTrade: k.policy.canTrade,
          canWithdraw: k.policy.canWithdraw,
          withdrawLimit24h: k.policy.withdrawLimit24h,
          latest:
            k.latest === null
              ? null
              : {
                  submissionId: k.latest.submissionId,
                  requestedTier: k.latest.requestedTier,
                  status: k.latest.status,
                  reason: k.latest.reason,
                  submittedAt: k.latest.submittedAt.getTime(),
                  reviewedAt: ms(k.latest.reviewedAt),
                },
        };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/kyc',
      weight: 1,
      fields: ['tier', 'identity'],
      run: async ({ session, body, meta }) => {
        const tier = integer(body, 'tier');
        const data = optionalObject(body, 'identity');
        if (data === undefined) throw fail('request.missing_field', 'identity is required');
        return submitKyc(db, identity, session.userId, tier, data, meta);
      },
    }),
    signedIn({
      method: 'GET',
      path: '/withdrawalAddresses',
      weight: 1,
      fields: null,
      params: ['coin'],
      run: async ({ session, query }) => {
        const coin = queryText(query, 'coin');
        const list = await listWithdrawalAddresses(
          db,
          session.userId,
          coin === undefined ? {} : { asset: coin },
        );
        return { addresses: list.map(addressJson) };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/withdrawalAddresses',
      weight: 1,
      fields: ['coin', 'network', 'address', 'label'],
      run: async ({ session, body, meta }) =>
        addressJson(
          await addWithdrawalAddress(db, markets, funds, {
            userId: session.userId,
            asset: text(body, 'coin'),
            network: text(body, 'network'),
            address: text(body, 'address'),
            label: optionalText(body, 'label') ?? '',
            ip: meta.ip ?? null,
          }),
        ),
    }),
    signedIn({
      method: 'DELETE',
      path: '/withdrawalAddresses',
      weight: 1,
      fields: null,
      params: ['id'],
      run: async ({ session, query, meta }) => {
        await removeWithdrawalAddress(db, session.userId, queryId(query, 'id'), { ip: meta.ip ?? null });
        return {};
      },
    }),
    signedIn({
      method: 'GET',
      path: '/ledger',
      weight: 5,
      fields: null,
      params: ['asset', 'startTime', 'endTime', 'cursor', 'order', 'limit'],
      run: async ({ session, query }) => {
        const asset = queryText(query, 'asset');
        const order = queryText(query, 'order');
        const start = queryInt(query, 'startTime', MAX_MILLIS);
        const end = queryInt(query, 'endTime', MAX_MILLIS);
        const cursor = queryInt(query, 'cursor');
        const limit = queryInt(query, 'limit');
        // Milliseconds at the edge; an endTime covers its whole millisecond.
        const q: LedgerQuery = {
          ...(asset === undefined ? {} : { asset }),
          ...(order === undefined ? {} : { order: order as 'asc' | 'desc' }),
          ...(start === undefined ? {} : { startMicros: start * 1000 }),
          ...(end === undefined ? {} : { endMicros: end * 1000 + 999 }),
          ...(cursor === undefined ? {} : { cursor }),
          ...(limit === undefined ? {} : { limit }),
        };
        await deps.historyCaughtUp?.();
        const page = await userLedger(history, session.userId, q);
        return {
          entries: page.entries.map((e) => ({
            id: e.id,
            seq: e.seq,
            asset: e.asset,
            amount: formatDecimal(e.amountUnits, markets.assets.get(e.asset)?.scale ?? 0),
            kind: e.kind,
            ref: e.ref,
            time: Math.floor(e.tsMicros / 1000),
          })),
          nextCursor: page.nextCursor,
        };
      },
    }),
    signedIn({
      method: 'GET',
      path: '/deposits',
      weight: 1,
      fields: null,
      params: [...HISTORY_PARAMS, 'txId'],
      run: async ({ session, query }) => {
        const txId = queryText(query, 'txId');
        const q = { ...historyFilters(query), ...(txId === undefined ? {} : { txId }) };
        return { deposits: await depositHistory(db, markets, session.userId, q) };
      },
    }),
    signedIn({
      method: 'GET',
      path: '/withdrawals',
      weight: 1,
      fields: null,
      params: [...HISTORY_PARAMS, 'withdrawOrderId'],
      run: async ({ session, query }) => {
        const withdrawOrderId = queryText(query, 'withdrawOrderId');
        const q = { ...historyFilters(query), ...(withdrawOrderId === undefined ? {} : { withdrawOrderId }) };
        return { withdrawals: await withdrawalHistory(db, markets, session.userId, q) };
      },
    }),
    signedIn({
      method: 'POST',
      path: '/withdrawals',
      weight: 1,
      fields: ['coin', 'network', 'address', 'amount', 'withdrawOrderId', 'totpCode'],
      run: async ({ session, body, meta }) => {
        const clientId = optionalText(body, 'withdrawOrderId');
        const totpCode = optionalText(body, 'totpCode');
        const w = await requestWithdrawal(
          db,
          engine,
          { secondFactor: secondFactorOfSessions, config: funds },
          {
            userId: session.userId,
            asset: text(body, 'coin'),
            network: text(body, 'network'),
            address: text(body, 'address'),
            amount: text(body, 'amount'),
            ...(clientId === undefined ? {} : { clientId }),
            ...(totpCode === undefined ? {} : { totpCode }),
            ip: meta.ip ?? null,
          },
        );
        return withdrawalJson(w);
      },
    }),
    signedIn({
      method: 'DELETE',
      path: '/withdrawals',
      weight: 1,
      fields: null,
      params: ['id'],
      run: async ({ session, query, meta }) =>
        withdrawalJson(
          await cancelWithdrawal(db, engine, session.userId, queryId(query, 'id'), { ip: meta.ip ?? null }),
        ),
    }),
  ];
}
