/**
 * The world the account-management and wallet tests run in (no tests of its own): a gateway
 * over real sockets with the account routes and the wallet routes, a real API key lookup over
 * the accounts database (keys created through the web API sign /sapi requests), a real Core
 * (journal off) behind `coreEnginePort`, the persister writing the ledger, and the database of
 * one dialect (PGlite, or the PostgreSQL of DATABASE_URL).
 *
 * One world per dialect suite: the Core, the persister and the database live across its tests,
 * and each test works with users of its own (fresh emails), so nothing is truncated between
 * tests (the Core's balances and the persister's progress would no longer match the tables).
 *
 * The identity services run on a test clock that starts at the real time: TOTP codes are
 * single-use per 30-second step, so `totp()` moves the clock one step on and computes the
 * code for it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { MasterKey } from '../../accounts/crypto/master-key.ts';
import type { AccountsDb } from '../../accounts/db/database.ts';
import { creditDeposit, type Deposit } from '../../accounts/funds/deposit.service.ts';
import { DEFAULT_FUNDS_CONFIG } from '../../accounts/funds/funds-config.ts';
import { Persister } from '../../accounts/history/persister.ts';
import {
  createPasswordHasher,
  type IdentityContext,
  type PasswordHasher,
  resolveApiKey,
} from '../../accounts/identity/index.ts';
import { coreEnginePort } from '../../accounts/ports/core-engine.adapter.ts';
import type { EnginePort } from '../../accounts/ports/engine.port.ts';
import { Core, Markets, type MarketsFile } from '../../engine/index.ts';
import { accountManagementRoutes } from '../../gateway/api/account-management.routes.ts';
import { capitalRoutes } from '../../gateway/api/capital.routes.ts';
import { DEFAULT_RATE_LIMITS } from '../../gateway/auth/rate-limit.ts';
import { type Gateway, startGateway } from '../../gateway/server.ts';
import type { Dialect } from '../accounts/dialects.ts';
import { hmac, LogCapture, type Reply, send } from './helpers.ts';

const MARKETS_FILE = JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile;

/** The web API's prefix. */
export const P = '/api/crossbook/v1';

/** A password that passes registration's rules. */
export const PASSWORD = 'Correct horse 42 battery';

/** A Bitcoin address shape (the allow-list checks shape only). */
export const BTC_ADDRESS = 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh';

/** A signed-in test user. */
export interface TestUser {
  readonly userId: number;
  readonly email: string;
  readonly token: string;
}

/** A key created through the web API. */
export interface TestKey {
  readonly apiKey: string;
  readonly secretKey: string;
  readonly keyId: number;
}

/** The running world of one dialect suite. */
export interface World {
  readonly gw: Gateway;
  readonly adb: AccountsDb;
  readonly core: Core;
  readonly engine: EnginePort;
  readonly identity: IdentityContext;
  readonly persister: Persister;
  readonly logs: LogCapture;
  /** The identity services' clock (milliseconds). */
  clockMs: number;
}

/** Starts the world for `dialect` in a `before` hook and stops it in `after`; returns its accessor. */
export function useWorld(dialect: Dialect): () => World {
  let world: World | undefined;
  let hasher: PasswordHasher;
  const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-accounts-api-'));

  before(async function () {
    this.timeout(120_000);
    const adb = await dialect.open();
    const markets = new Markets(MARKETS_FILE);
    const persister = await Persister.open(adb.db, markets);
    const core = await Core.start({
      dataDir: dir,
      marketsFile: MARKETS_FILE,
      journal: false,
      consumers: [persister.durableConsumer()],
    });
    const engine = coreEnginePort(core);
    hasher = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
    const clock = { ms: Date.now() };
    const identity: IdentityContext = { key: MasterKey.generate(), hasher, now: () => clock.ms };
    const logs = new LogCapture();
    const deps = { db: adb.db, identity, markets, engine, funds: DEFAULT_FUNDS_CONFIG };
    const gw = await startGateway({
      port: 0,
      host: '127.0.0.1',
      markets,
      apiKeys: { resolveApiKey: (k) => resolveApiKey(adb.db, identity.key, k) },
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 1_000_000 }],
      },
      routes: [
        ...accountManagementRoutes(deps),
        ...capitalRoutes({ ...deps, balances: { balancesOf: async (u) => core.balancesOf(u) } }),
      ],
      logger: logs.logger,
    });
    const w: World = {
      gw,
      adb,
      core,
      engine,
      identity,
      persister,
      logs,
      get clockMs() {
        return clock.ms;
      },
      set clockMs(v: number) {
        clock.ms = v;
      },
    };
    world = w;
  });

  after(async () => {
    if (world !== undefined) {
      await world.gw.close();
      await world.core.close();
      await world.persister.close();
      await world.adb.close();
    }
    await hasher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return () => {
    if (world === undefined) throw new Error('the world is not started');
    return world;
  };
}

let emails = 0;

/** A fresh email address (unique within the process). */
export function freshEmail(tag = 'user'): string {
  emails++;
  return `${tag}.${process.pid}.${Date.now()}.${emails}@example.com`;
}

/** A JSON request to the web API. */
export function web(
  w: World,
  method: 'GET' | 'POST' | 'DELETE',
  route: string,
  options: { token?: string; body?: unknown; query?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/json';
  return send(w.gw, `${P}${route}`, {
    method,
    headers,
    ...(options.query === undefined ? {} : { query: options.query }),
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
}

/** Asserts an error reply: status, numeric code and reason. */
export function assertError(r: Reply, status: number, code: number, reason?: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.code, code, r.text);
  assert.equal(typeof r.json?.msg, 'string', r.text);
  if (reason !== undefined) assert.equal(r.json?.reason, reason, r.text);
  assert.ok(!r.text.includes('    at '), 'no stack trace');
}

/** Registers a fresh user and signs in; returns the session. */
export async function signUp(w: World, tag = 'user'): Promise<TestUser> {
  const email = freshEmail(tag);
  const reg = await web(w, 'POST', '/register', { body: { email, password: PASSWORD } });
  assert.equal(reg.status, 200, reg.text);
  const token = await signIn(w, email);
  return { userId: reg.json.userId, email, token };
}

/** Signs in; returns the session token. */
export async function signIn(w: World, email: string, totpCode?: string): Promise<string> {
  const r = await web(w, 'POST', '/login', {
    body: { email, password: PASSWORD, ...(totpCode === undefined ? {} : { totpCode }) },
  });
  assert.equal(r.status, 200, r.text);
  return r.json.sessionToken as string;
}

/** Moves the identity clock one TOTP step on and returns the code for it. */
export function totp(w: World, secret: string): string {
  w.clockMs += 30_000;
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: w.clockMs });
}

/** Turns the second factor on for `u`; returns its secret. */
export async function enableTotp(w: World, u: TestUser): Promise<string> {
  const setup = await web(w, 'POST', '/totp/setup', { token: u.token });
  assert.equal(setup.status, 200, setup.text);
  const secret = setup.json.secret as string;
  const confirm = await web(w, 'POST', '/totp/confirm', { token: u.token, body: { code: totp(w, secret) } });
  assert.equal(confirm.status, 200, confirm.text);
  return secret;
}

/** Sets a user's KYC tier directly (what an operator's approval does). */
export async function setKycTier(w: World, userId: number, tier: number): Promise<void> {
  await w.adb.db.updateTable('users').set({ kycTier: tier }).where('id', '=', userId).execute();
}

let deposits = 0;

/** Credits a deposit as an operator would, and waits until the persister has written it. */
export async function deposit(w: World, userId: number, asset: string, amount: string): Promise<Deposit> {
  deposits++;
  const d = await creditDeposit(w.adb.db, w.engine, {
    userId,
    asset,
    network: asset === 'USDT' ? 'ETH' : asset,
    txId: `tx-${process.pid}-${Date.now()}-${deposits}`,
    amount,
    source: 'operator',
    actor: 'operator:test',
  });
  assert.equal(d.status, 'CREDITED');
  await w.persister.flushed(d.seq!);
  return d;
}

/** Creates an API key through the web API (HMAC unless the body says otherwise). */
export async function createKey(w: World, u: TestUser, body: Record<string, unknown> = {}): Promise<TestKey> {
  const r = await web(w, 'POST', '/apiKeys', { token: u.token, body: { label: 'bot', ...body } });
  assert.equal(r.status, 200, r.text);
  return { apiKey: r.json.apiKey, secretKey: r.json.secretKey, keyId: r.json.keyId };
}

/** A request signed with an HMAC key as Binance clients sign (parameters in the query string, signature last). */
export function signed(
  w: World,
  method: 'GET' | 'POST' | 'DELETE',
  route: string,
  key: TestKey,
  params: Record<string, string> = {},
): Promise<Reply> {
  const qs = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  return send(w.gw, route, {
    method,
    query: `${qs}&signature=${hmac(key.secretKey, qs)}`,
    headers: { 'X-MBX-APIKEY': key.apiKey },
  });
}
