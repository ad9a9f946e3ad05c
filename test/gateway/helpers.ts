/**
 * Shared helpers for the gateway's tests: the demo markets, a fake API key lookup, a clock the
 * test moves, a log capture, signing the way clients sign, and HTTP over real sockets (undici,
 * which unlike fetch can send a GET with a body and a Content-Type).
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { Markets, type MarketsFile } from '../../engine/index.ts';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../../gateway/auth/rate-limit.ts';
import type { Route } from '../../gateway/http/http-types.ts';
import type { ApiKeyLookup, Clock, ResolvedKey } from '../../gateway/ports.ts';
import { type Gateway, startGateway } from '../../gateway/server.ts';

/** The markets of config/markets.json (BTCUSDT, ETHUSDT, ETHBTC). */
export function demoMarkets(): Markets {
  return new Markets(JSON.parse(readFileSync('config/markets.json', 'utf8')) as MarketsFile);
}

/** A 64-character API key made from a short tag (distinct tags, distinct keys). */
export function apiKeyFor(tag: string): string {
  return tag.padEnd(64, 'x').slice(0, 64);
}

/** An in-memory ApiKeyLookup that also counts lookups. */
export class FakeApiKeys implements ApiKeyLookup {
  readonly keys = new Map<string, ResolvedKey>();
  lookups = 0;

  async resolveApiKey(apiKey: string): Promise<ResolvedKey | null> {
    this.lookups++;
    return this.keys.get(apiKey) ?? null;
  }

  /** Adds an HMAC key with every permission unless overridden; returns the key id string. */
  addHmac(tag: string, secret: string, overrides: Partial<ResolvedKey> = {}): string {
    const apiKey = apiKeyFor(tag);
    this.keys.set(apiKey, { ...baseKey(this.keys.size + 1), type: 'HMAC', secret, ...overrides });
    return apiKey;
  }

  /** Adds an Ed25519 key; returns the API key and the private key to sign with. */
  addEd25519(tag: string, overrides: Partial<ResolvedKey> = {}): { apiKey: string; privateKey: KeyObject } {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const apiKey = apiKeyFor(tag);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keys.set(apiKey, { ...baseKey(this.keys.size + 1), type: 'ED25519', publicKey: pem, ...overrides });
    return { apiKey, privateKey };
  }
}

function baseKey(keyId: number): Omit<ResolvedKey, 'type'> {
  return {
    keyId,
    userId: 100 + keyId,
    canRead: true,
    canTrade: true,
    canWithdraw: true,
    ipAllow: [],
    userStatus: 'ACTIVE',
    kycTier: 2,
  };
}

/** A clock the test sets (microseconds); starts at a fixed, realistic time. */
export class FakeClock implements Clock {
  micros = Date.UTC(2026, 0, 15, 12, 0, 30) * 1000;

  nowMicros(): number {
    return this.micros;
  }

  get millis(): number {
    return Math.floor(this.micros / 1000);
  }

  advanceMillis(ms: number): void {
    this.micros += Math.round(ms * 1000);
  }
}

/** Log lines written by a gateway under test (parsed JSON). */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: pino.Logger;

  constructor() {
    const lines = this.lines;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
        done();
      },
    });
    this.logger = pino({ level: 'info' }, sink);
  }
}

/** HMAC-SHA256 hex of `payload`, as clients sign. */
export function hmac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/** Ed25519 signature of `payload`, base64 then percent-encoded for a query string. */
export function ed25519(privateKey: KeyObject, payload: string): string {
  return encodeURIComponent(sign(null, Buffer.from(payload), privateKey).toString('base64'));
}

/** A reply as the tests read it. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes.
  readonly json: any;
}

/** What to send. */
export interface Send {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';
  readonly query?: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** One HTTP request to `gw` over a real socket. */
export async function send(gw: Gateway, path: string, s: Send = {}): Promise<Reply> {
  const url = `http://127.0.0.1:${gw.port}${path}${s.query === undefined ? '' : `?${s.query}`}`;
  const res = await request(url, {
    method: s.method ?? 'GET',
    headers: s.headers ?? {},
    ...(s.body === undefined ? {} : { body: s.body }),
  });
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers, text, json };
}

/**
 * One request written byte for byte on a fresh socket (no client library re-encodes the
 * target), read until the server closes: for targets that URL parsers would normalise.
 */
export async function sendRaw(
  gw: Gateway,
  method: string,
  target: string,
  headers: Record<string, string>,
): Promise<Reply> {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
    .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`))
    .join('\r\n');
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n`, 'latin1'));
    let data = '';
    socket.on('data', (d) => {
      data += d.toString('utf8');
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  const split = raw.indexOf('\r\n\r\n');
  const lines = raw.slice(0, split).split('\r\n');
  const status = Number(lines[0]?.split(' ')[1]);
  const replyHeaders: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    replyHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const text = raw.slice(split + 4);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: replyHeaders, text, json };
}

/** What a test gateway may be given beyond the defaults. */
export interface TestGatewayOptions {
  readonly apiKeys?: ApiKeyLookup;
  readonly clock?: Clock;
  readonly rateLimits?: RateLimitSettings;
  readonly routes?: readonly Route[];
  readonly trustProxy?: number;
  readonly bodyLimitBytes?: number;
  readonly logs?: LogCapture;
}

/** A gateway on 127.0.0.1 and a free port, with the demo markets. */
export async function startTestGateway(o: TestGatewayOptions = {}): Promise<Gateway> {
  return startGateway({
    port: 0,
    host: '127.0.0.1',
    markets: demoMarkets(),
    apiKeys: o.apiKeys ?? new FakeApiKeys(),
    clock: o.clock ?? new FakeClock(),
    rateLimits: o.rateLimits ?? DEFAULT_RATE_LIMITS,
    routes: o.routes ?? [],
    trustProxy: o.trustProxy ?? 0,
    bodyLimitBytes: o.bodyLimitBytes ?? 64 * 1024,
    logger: (o.logs ?? new LogCapture()).logger,
  });
}
