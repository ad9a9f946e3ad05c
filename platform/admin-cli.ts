/**
 * `npm run admin -- <command>`: operator commands against a running platform, over its admin
 * API (`/admin/v1/...` on the gateway port) with the admin token. Every command prints one
 * JSON line and exits 0, or prints `{"error": ...}` to stderr and exits 1 (2 for bad usage).
 *
 *   users create --email E [--password P] [--deposit ASSET=AMOUNT ...] [--kyc 0|1|2]
 *                                          a user with an API key (and deposits, a KYC tier):
 *                                          {"userId":..,"apiKey":..,"secretKey":..}
 *   deposits credit --user ID --asset A --amount X [--tx TXID] [--network N]
 *   users disable|enable --user ID --reason R
 *   kyc pending                            submissions waiting for review
 *   kyc view --id N                        one submission's identity data (audited)
 *   kyc approve --id N | kyc reject --id N --reason R
 *   withdrawals pending                    withdrawals waiting for approval
 *   withdrawals approve --id N | withdrawals reject --id N --reason R
 *   shards list | shards move SYMBOL SHARD
 *   state hash | state verify | snapshot
 *   audit verify                           check the audit log's hash chain
 *   ledger check                           compare the balance projection with the engine
 *
 * CROSSBOOK_ADMIN_URL (default http://127.0.0.1:$PORT, PORT default 8080) and
 * CROSSBOOK_ADMIN_TOKEN (default: the development token the platform wrote to
 * $CROSSBOOK_DATA_DIR/keys/admin.token).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** A command line turned into an admin API call. */
export interface AdminCall {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: Record<string, unknown>;
}

/** Bad usage: the message says what was expected. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Splits `--name value` options (repeatable) from positional words. */
function options(args: readonly string[]): { words: string[]; opts: Map<string, string[]> } {
  const words: string[] = [];
  const opts = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      opts.set(name, [...(opts.get(name) ?? []), value]);
    } else words.push(a);
  }
  return { words, opts };
}

function one(opts: Map<string, string[]>, name: string, required: true): string;
function one(opts: Map<string, string[]>, name: string, required?: false): string | undefined;
function one(opts: Map<string, string[]>, name: string, required = false): string | undefined {
  const v = opts.get(name);
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (v.length > 1) throw new UsageError(`--${name} given more than once`);
  return v[0];
}

function id(opts: Map<string, string[]>, name: string): number {
  const raw = one(opts, name, true);
  if (!/^\d{1,15}$/.test(raw)) throw new UsageError(`--${name} must be a positive integer`);
  return Number(raw);
}

/** Turns the command line (after `npm run admin --`) into an admin API call. */
export function parseAdminCommand(argv: readonly string[]): AdminCall {
  const { words, opts } = options(argv);
  const [group, action, ...rest] = words;
  switch (`${group ?? ''} ${action ?? ''}`) {
    case 'users create': {
      const deposits = (opts.get('deposit') ?? []).map((d) => {
        const m = /^([A-Z0-9]{2,12})=(\S+)$/.exec(d);
        if (m === null) throw new UsageError(`--deposit ${d}: expected ASSET=AMOUNT, e.g. USDT=10000`);
        return { asset: m[1], amount: m[2] };
      });
      const kyc = one(opts, 'kyc');
      if (kyc !== undefined && !/^[012]$/.test(kyc)) throw new UsageError('--kyc must be 0, 1 or 2');
      return {
        method: 'POST',
        path: '/admin/v1/users',
        body: {
          email: one(opts, 'email', true),
          password: one(opts, 'password'),
          deposits,
          kycTier: kyc === undefined ? undefined : Number(kyc),
        },
      };
    }
    case 'deposits credit':
      return {
        method: 'POST',
        path: '/admin/v1/deposits',
        body: {
          userId: id(opts, 'user'),
          asset: one(opts, 'asset', true),
          amount: one(opts, 'amount', true),
          txId: one(opts, 'tx'),
          network: one(opts, 'network'),
        },
      };
    case 'kyc pending':
      return { method: 'GET', path: '/admin/v1/kyc/pending' };
    case 'kyc view':
      return { method: 'POST', path: '/admin/v1/kyc/view', body: { id: id(opts, 'id') } };
    case 'users disable':
    case 'users enable':
      return {
        method: 'POST',
        path: '/admin/v1/users/status',
        body: {
          userId: id(opts, 'user'),
          status: action === 'disable' ? 'DISABLED' : 'ACTIVE',
          reason: one(opts, 'reason', true),
        },
      };
    case 'kyc approve':
      return { method: 'POST', path: '/admin/v1/kyc/approve', body: { id: id(opts, 'id') } };
    case 'kyc reject':
      return {
        method: 'POST',
        path: '/admin/v1/kyc/reject',
        body: { id: id(opts, 'id'), reason: one(opts, 'reason', true) },
      };
    case 'withdrawals pending':
      return { method: 'GET', path: '/admin/v1/withdrawals/pending' };
    case 'withdrawals approve':
      return { method: 'POST', path: '/admin/v1/withdrawals/approve', body: { id: id(opts, 'id') } };
    case 'withdrawals reject':
      return {
        method: 'POST',
        path: '/admin/v1/withdrawals/reject',
        body: { id: id(opts, 'id'), reason: one(opts, 'reason', true) },
      };
    case 'shards list':
      return { method: 'GET', path: '/admin/v1/shards' };
    case 'shards move': {
      const [symbol, shard] = rest;
      if (symbol === undefined || shard === undefined || !/^\d{1,2}$/.test(shard))
        throw new UsageError('usage: shards move SYMBOL SHARD');
      return { method: 'POST', path: '/admin/v1/shards/move', body: { symbol, shard: Number(shard) } };
    }
    case 'state hash':
      return { method: 'GET', path: '/admin/v1/state/hash' };
    case 'state verify':
      return { method: 'POST', path: '/admin/v1/state/verify' };
    case 'snapshot ':
      return { method: 'POST', path: '/admin/v1/snapshot' };
    case 'audit verify':
      return { method: 'GET', path: '/admin/v1/audit/verify' };
    case 'ledger check':
      return { method: 'GET', path: '/admin/v1/ledger/check' };
    default:
      throw new UsageError(
        'commands: users create|disable|enable, deposits credit, kyc pending|view|approve|reject, withdrawals pending|approve|reject, shards list|move, state hash|verify, snapshot, audit verify, ledger check',
      );
  }
}

/** Where the admin API is and its token, from the environment. */
export function adminEndpoint(env: NodeJS.ProcessEnv = process.env): { url: string; token: string } {
  const url = env.CROSSBOOK_ADMIN_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  let token = env.CROSSBOOK_ADMIN_TOKEN;
  if (!token) {
    const file = path.join(env.CROSSBOOK_DATA_DIR || 'data', 'keys', 'admin.token');
    if (!existsSync(file))
      throw new UsageError(
        `no CROSSBOOK_ADMIN_TOKEN and no development token at ${file}: is the platform running?`,
      );
    token = readFileSync(file, 'utf8').trim();
  }
  return { url, token };
}

async function main(): Promise<number> {
  let call: AdminCall;
  let endpoint: { url: string; token: string };
  try {
    call = parseAdminCommand(process.argv.slice(2));
    endpoint = adminEndpoint();
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    return 2;
  }
  try {
    const res = await fetch(new URL(call.path, endpoint.url), {
      method: call.method,
      headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (!res.ok) {
      process.stderr.write(`${text || JSON.stringify({ error: `HTTP ${res.status}` })}\n`);
      return 1;
    }
    process.stdout.write(`${text}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(
      `${JSON.stringify({ error: `cannot reach ${endpoint.url}: ${(e as Error).message}` })}\n`,
    );
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = await main();
