/**
 * The admin API under /admin/v1: what `npm run admin -- ...` calls. Guarded by one bearer
 * token (CROSSBOOK_ADMIN_TOKEN), compared in constant time; nothing here is reachable with an
 * API key. The operations themselves are the platform's (`AdminOps`), so this file only maps
 * HTTP onto them: JSON bodies in, one JSON value out, and expected failures (errors with a
 * dotted `code`) as 400 `{"code": "...", "msg": "..."}`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { GatewayRequest, GatewayResponse, Route } from '../http/http-types.ts';
import { jsonResponse } from '../http/http-types.ts';

/** What operators can do; every method resolves with a JSON-able value or throws an error with a `code`. */
export interface AdminOps {
  createUser(input: {
    email: string;
    password?: string;
    deposits: { asset: string; amount: string }[];
    kycTier?: number;
  }): Promise<unknown>;
  creditDeposit(input: {
    userId: number;
    asset: string;
    amount: string;
    txId?: string;
    network?: string;
  }): Promise<unknown>;
  pendingKyc(): Promise<unknown>;
  /** One submission with its identity data (an audited read). */
  viewKyc(id: number): Promise<unknown>;
  setUserStatus(userId: number, status: 'ACTIVE' | 'DISABLED', reason: string): Promise<unknown>;
  reviewKyc(id: number, decision: { approve: true } | { approve: false; reason: string }): Promise<unknown>;
  pendingWithdrawals(): Promise<unknown>;
  approveWithdrawal(id: number): Promise<unknown>;
  rejectWithdrawal(id: number, reason: string): Promise<unknown>;
  shards(): Promise<unknown>;
  moveSymbol(symbol: string, shard: number): Promise<unknown>;
  stateHash(): Promise<unknown>;
  verifyState(): Promise<unknown>;
  snapshot(): Promise<unknown>;
  verifyAudit(): Promise<unknown>;
  checkLedger(): Promise<unknown>;
}

/** An admin failure: HTTP status and a dotted code. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function authorized(req: GatewayRequest, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer (\S+)$/.exec(header);
  if (m === null) return false;
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function body(req: GatewayRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(req.body.toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Falls through to the error below.
  }
  throw new AdminError(400, 'admin.bad_json', 'the body must be a JSON object');
}

function str(b: Record<string, unknown>, name: string, required: true): string;
function str(b: Record<string, unknown>, name: string, required?: false): string | undefined;
function str(b: Record<string, unknown>, name: string, required = false): string | undefined {
  const v = b[name];
  if (v === undefined || v === null) {
    if (required) throw new AdminError(400, 'admin.missing', `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > 512)
    throw new AdminError(400, 'admin.bad_value', `${name} must be a string`);
  return v;
}

function int(v: unknown, name: string): number {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new AdminError(400, 'admin.bad_value', `${name} must be a non-negative integer`);
  return n;
}

/** The `id` of the body. */
function idOf(req: GatewayRequest): number {
  return int(body(req).id, 'id');
}

type Handler = (req: GatewayRequest) => Promise<unknown>;

/** The admin routes (exact paths; ids travel in the JSON body). */
export function adminRoutes(token: string, ops: AdminOps): Route[] {
  if (token.length < 16) throw new Error('the admin token must have at least 16 characters');
  const wrap =
    (handler: Handler) =>
    async (req: GatewayRequest): Promise<GatewayResponse> => {
      if (!authorized(req, token))
        return jsonResponse({ code: 'admin.unauthorized', msg: 'a valid admin token is required' }, 401);
      try {
        return jsonResponse(await handler(req));
      } catch (e) {
        if (e instanceof AdminError) return jsonResponse({ code: e.code, msg: e.message }, e.status);
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && code.includes('.'))
          return jsonResponse({ code, msg: (e as Error).message }, 400);
        throw e;
      }
    };
  const route = (method: Route['method'], path: string, handler: Handler): Route => ({
    method,
    path,
    security: 'NONE',
    weight: 1,
    handler: wrap(handler),
  });
  return [
    route('POST', '/admin/v1/users', async (req) => {
      const b = body(req);
      const deposits = b.deposits ?? [];
      if (!Array.isArray(deposits) || deposits.length > 20)
        throw new AdminError(400, 'admin.bad_value', 'deposits must be a list of at most 20 {asset, amount}');
      return ops.createUser({
        email: str(b, 'email', true),
        ...(str(b, 'password') === undefined ? {} : { password: str(b, 'password')! }),
        deposits: deposits.map((d: unknown) => {
          const o = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>;
          return { asset: str(o, 'asset', true), amount: str(o, 'amount', true) };
        }),
        ...(b.kycTier === undefined || b.kycTier === null ? {} : { kycTier: int(b.kycTier, 'kycTier') }),
      });
    }),
    route('POST', '/admin/v1/deposits', async (req) => {
      const b = body(req);
      return ops.creditDeposit({
        userId: int(b.userId, 'userId'),
        asset: str(b, 'asset', true),
        amount: str(b, 'amount', true),
        ...(str(b, 'txId') === undefined ? {} : { txId: str(b, 'txId')! }),
        ...(str(b, 'network') === undefined ? {} : { network: str(b, 'network')! }),
      });
    }),
    route('GET', '/admin/v1/kyc/pending', () => ops.pendingKyc()),
    route('POST', '/admin/v1/kyc/view', (req) => ops.viewKyc(idOf(req))),
    route('POST', '/admin/v1/users/status', async (req) => {
      const b = body(req);
      const status = str(b, 'status', true);
      if (status !== 'ACTIVE' && status !== 'DISABLED')
        throw new AdminError(400, 'admin.bad_value', 'status must be ACTIVE or DISABLED');
      return ops.setUserStatus(int(b.userId, 'userId'), status, str(b, 'reason', true));
    }),
    route('POST', '/admin/v1/kyc/approve', (req) => ops.reviewKyc(idOf(req), { approve: true })),
    route('POST', '/admin/v1/kyc/reject', (req) =>
      ops.reviewKyc(idOf(req), { approve: false, reason: str(body(req), 'reason', true) }),
    ),
    route('GET', '/admin/v1/withdrawals/pending', () => ops.pendingWithdrawals()),
    route('POST', '/admin/v1/withdrawals/approve', (req) => ops.approveWithdrawal(idOf(req))),
    route('POST', '/admin/v1/withdrawals/reject', (req) =>
      ops.rejectWithdrawal(idOf(req), str(body(req), 'reason', true)),
    ),
    route('GET', '/admin/v1/shards', () => ops.shards()),
    route('POST', '/admin/v1/shards/move', async (req) => {
      const b = body(req);
      return ops.moveSymbol(str(b, 'symbol', true), int(b.shard, 'shard'));
    }),
    route('GET', '/admin/v1/state/hash', () => ops.stateHash()),
    route('POST', '/admin/v1/state/verify', () => ops.verifyState()),
    route('POST', '/admin/v1/snapshot', () => ops.snapshot()),
    route('GET', '/admin/v1/audit/verify', () => ops.verifyAudit()),
    route('GET', '/admin/v1/ledger/check', () => ops.checkLedger()),
  ];
}
