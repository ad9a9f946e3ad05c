/**
 * The rig the user data specifications run on (this file declares no tests; it is named
 * `.test.ts` so that it lives beside them): a real Core (journal off, temp dir,
 * config/markets.json, its clock pinned to the test's), the user data hub as the core's
 * listener feeding the shared order view, a gateway on port 0 with the listen key routes,
 * `/ws/*` for listen keys and the WebSocket API, a fake ApiKeyLookup, users funded with
 * Deposit commands, and a WebSocket client (undici) that buffers what it receives.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import {
  type Balance,
  type CommandInput,
  Core,
  type EngineEvent,
  type MarketsFile,
  userId as toUserId,
} from '../../engine/index.ts';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../../gateway/auth/rate-limit.ts';
import { OrderView } from '../../gateway/orders/order-view.ts';
import type { ResolvedKey } from '../../gateway/ports.ts';
import { type Gateway, startGateway } from '../../gateway/server.ts';
import { registerUserDataWs } from '../../gateway/user-data/listen-key.ws.ts';
import { ListenKeys, listenKeyRoutes } from '../../gateway/user-data/listen-keys.ts';
import { type BalanceSource, UserDataHub } from '../../gateway/user-data/user-data-hub.ts';
import { registerWsApi } from '../../gateway/user-data/ws-api.ts';
import { FakeApiKeys, FakeClock, hmac, LogCapture } from './helpers.ts';

export const MARKETS_FILE = JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile;

/** Any JSON a test reads. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes.
export type Json = any;

/** How a socket ended. */
export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** A WebSocket client that keeps every message it receives until a test takes it. */
export class WsClient {
  private readonly inbox: Json[] = [];
  /** Every message as received, in order (for what JSON.parse would change). */
  readonly texts: string[] = [];
  private wake: (() => void) | undefined;
  closed: Closed | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const text =
        typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString('utf8');
      this.texts.push(text);
      this.inbox.push(JSON.parse(text));
      this.wake?.();
    });
    ws.addEventListener('close', (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      this.wake?.();
    });
  }

  /** Connects; rejects when the server refuses the upgrade. */
  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new WsClient(ws);
      ws.addEventListener('open', () => resolve(client), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  /** Sends an object as JSON, or text as is. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first buffered message matching `match` (removed from the buffer), waiting for it. */
  async take(match: (m: Json) => boolean = () => true): Promise<Json> {
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.closed !== undefined)
        assert.fail(`socket closed (${this.closed.code}) before the message came`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Takes `n` messages matching `match`, in the order they came. */
  async takeN(n: number, match: (m: Json) => boolean = () => true): Promise<Json[]> {
    const out: Json[] = [];
    while (out.length < n) out.push(await this.take(match));
    return out;
  }

  /** Messages received and not taken yet. */
  pending(): Json[] {
    return [...this.inbox];
  }

  /** Waits for the server to close the socket. */
  async closedBy(): Promise<Closed> {
    while (this.closed === undefined) await new Promise<void>((r) => (this.wake = r));
    return this.closed;
  }

  /** Sends a WebSocket API request and waits for the reply with the same id. */
  async request(method: string, params?: Record<string, unknown>, id: unknown = nextId()): Promise<Json> {
    this.send(params === undefined ? { id, method } : { id, method, params });
    return this.take((m) => m.id === id && 'status' in m);
  }

  close(): void {
    this.ws.close();
  }
}

let ids = 0;
function nextId(): number {
  return ++ids;
}

/** The WebSocket API's signature payload: every param but `signature`, sorted by name. */
export function wsPayload(params: Record<string, unknown>): string {
  return Object.keys(params)
    .filter((k) => k !== 'signature')
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join('&');
}

/** A user with an HMAC key. */
export interface HmacUser {
  readonly userId: number;
  readonly apiKey: string;
  readonly secret: string;
  /** `params` plus apiKey, timestamp (the rig's clock) and an HMAC signature. */
  signed(params?: Record<string, unknown>): Record<string, unknown>;
}

/** A user with an Ed25519 key. */
export interface Ed25519User {
  readonly userId: number;
  readonly apiKey: string;
  readonly privateKey: KeyObject;
  signed(params?: Record<string, unknown>): Record<string, unknown>;
}

/** What a rig may be given. */
export interface RigOptions {
  readonly rateLimits?: RateLimitSettings;
  /** Balances for the hub (default: the core's, answered synchronously). */
  readonly balances?: (core: Core) => BalanceSource;
}

/** A core, the hub and a gateway serving user data (see the file header). */
export class UserDataRig {
  readonly clock = new FakeClock();
  readonly keys = new FakeApiKeys();
  readonly logs = new LogCapture();
  core!: Core;
  view!: OrderView;
  hub!: UserDataHub;
  listenKeys!: ListenKeys;
  gw!: Gateway;
  private dir = '';
  private refId = 0;
  private tags = 0;
  private unsubscribe: (() => void) | undefined;

  async start(options: RigOptions = {}): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'crossbook-user-data-'));
    this.core = await Core.start({
      dataDir: this.dir,
      marketsFile: MARKETS_FILE,
      journal: false,
      clock: () => this.clock.micros,
    });
    const core = this.core;
    this.view = new OrderView(core.markets, { closedCapacity: 10_000 });
    this.hub = new UserDataHub({
      markets: core.markets,
      view: this.view,
      balancesOf: options.balances?.(core) ?? ((u) => core.balancesOf(u)),
      clock: this.clock,
      logger: this.logs.logger,
    });
    this.unsubscribe = core.onEvents(this.hub.listener);
    this.listenKeys = new ListenKeys(this.clock);
    this.gw = await startGateway({
      port: 0,
      host: '127.0.0.1',
      markets: core.markets,
      apiKeys: this.keys,
      clock: this.clock,
      rateLimits: options.rateLimits ?? {
        ...DEFAULT_RATE_LIMITS,
        requestWeight: [{ interval: 'MINUTE', intervalNum: 1, limit: 1e9 }],
        orders: [
          { interval: 'SECOND', intervalNum: 10, limit: 1e9 },
          { interval: 'DAY', intervalNum: 1, limit: 1e9 },
        ],
      },
      routes: listenKeyRoutes({ listenKeys: this.listenKeys }),
      logger: this.logs.logger,
    });
    registerUserDataWs(this.gw.app, { hub: this.hub, listenKeys: this.listenKeys, logger: this.logs.logger });
    registerWsApi(this.gw.app, {
      markets: core.markets,
      apiKeys: this.keys,
      limiter: this.gw.limiter,
      hub: this.hub,
      view: this.view,
      submit: (input) => core.submit(input),
      clock: this.clock,
      logger: this.logs.logger,
    });
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.gw?.close();
    await this.core?.close();
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  /** `ws://` URL of `path` on the gateway. */
  url(path: string): string {
    return `ws://127.0.0.1:${this.gw.port}${path}`;
  }

  /** Opens a WebSocket to `path`. */
  connect(path: string): Promise<WsClient> {
    return WsClient.connect(this.url(path));
  }

  /** A fresh user with an HMAC key (64 letters and digits, KYC tier 1, ACTIVE). */
  hmacUser(overrides: Partial<ResolvedKey> = {}): HmacUser {
    const tag = `h${++this.tags}`;
    const secret = `secret${tag}`.padEnd(64, 'S');
    const apiKey = this.keys.addHmac(tag, secret, { kycTier: 1, ...overrides });
    const userId = this.keys.keys.get(apiKey)!.userId;
    const clock = this.clock;
    return {
      userId,
      apiKey,
      secret,
      signed(params = {}) {
        const p: Record<string, unknown> = { ...params, apiKey, timestamp: clock.millis };
        return { ...p, signature: hmac(secret, wsPayload(p)) };
      },
    };
  }

  /** A fresh user with an Ed25519 key generated with node:crypto (KYC tier 1, ACTIVE). */
  ed25519User(overrides: Partial<ResolvedKey> = {}): Ed25519User {
    const tag = `e${++this.tags}`;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const apiKey = `${tag}`.padEnd(64, 'E');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyId = this.keys.keys.size + 1;
    this.keys.keys.set(apiKey, {
      keyId,
      userId: 100 + keyId,
      type: 'ED25519',
      publicKey: pem,
      canRead: true,
      canTrade: true,
      canWithdraw: false,
      ipAllow: [],
      userStatus: 'ACTIVE',
      kycTier: 1,
      ...overrides,
    });
    const clock = this.clock;
    return {
      userId: 100 + keyId,
      apiKey,
      privateKey,
      signed(params = {}) {
        const p: Record<string, unknown> = { ...params, apiKey, timestamp: clock.millis };
        return { ...p, signature: sign(null, Buffer.from(wsPayload(p)), privateKey).toString('base64') };
      },
    };
  }

  /** Sends a command to the core. */
  submit(input: CommandInput): Promise<EngineEvent[]> {
    return this.core.submit(input);
  }

  /** Credits `units` (smallest units) of `asset` to `userId`. */
  async deposit(userId: number, asset: string, units: number): Promise<EngineEvent[]> {
    const assetId = [...this.core.markets.assets.keys()].indexOf(asset);
    assert.ok(assetId >= 0, `unknown asset ${asset}`);
    return this.submit({
      kind: 'Deposit',
      userId: toUserId(userId),
      assetId,
      amountUnits: units,
      refId: ++this.refId,
    });
  }

  /** The core's balances of `userId`, by asset name. */
  balances(userId: number): Record<string, Balance> {
    const names = [...this.core.markets.assets.keys()];
    const out: Record<string, Balance> = {};
    for (const b of this.core.balancesOf(userId)) out[names[b.assetId]!] = b;
    return out;
  }
}

/** 1 BTC, 1 USDT, ... in smallest units (every demo asset has scale 8). */
export const UNIT = 100_000_000;
