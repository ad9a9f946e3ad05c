/**
 * Who a WebSocket API request comes from, checked as the REST pipeline checks a signed
 * request (gateway/auth/authenticate.ts), in the same order and with the same errors, with
 * two differences that are Binance's:
 *
 * - The signed payload is every parameter but `signature`, sorted by name, as
 *   `name=value` pairs joined with `&` (the frame has no query string to verify as
 *   received). Values are the JSON values' text: a string as is, a number or boolean as
 *   JSON writes it. Clients that percent-encode before signing (Binance's rule for REST
 *   since 2026-01-15) are accepted too: the encoded payload is tried when it differs.
 * - After `session.logon` (Ed25519 keys only, as on Binance), requests may carry only
 *   `timestamp` (and `recvWindow`): the session's key signs them. The key is looked up again
 *   on every such request, so a key deleted, disabled or moved off the caller's address ends
 *   the session at its next request (-2015), as Binance does.
 */

import { API_KEY_PATTERN, permits } from '../auth/authenticate.ts';
import { verifyEd25519, verifyHmac } from '../auth/signature.ts';
import type { TimeUnit } from '../auth/time-unit.ts';
import { checkTimestamp, parseRecvWindow, parseTimestamp } from '../auth/timing.ts';
import { BinanceApiError, Errors, LEGAL_RANGE } from '../binance/errors.ts';
import type { Security } from '../http/http-types.ts';
import { ipAllowed } from '../http/ip.ts';
import type { ApiKeyLookup, ResolvedKey } from '../ports.ts';

/** The parameters authentication reads (never passed on to the order parsers as unread). */
export const WS_AUTH_PARAMS = ['apiKey', 'signature', 'timestamp', 'recvWindow'] as const;

/** An authenticated request. */
export interface WsAuth {
  readonly apiKey: string;
  readonly key: ResolvedKey;
  readonly userId: number;
  readonly timestampMicros: number;
  readonly recvWindowMicros: number;
  /** Binance checks the window again right before the matching engine. */
  withinRecvWindow(nowMicros: number): boolean;
}

/** What the checks need of the connection. */
export interface WsAuthContext {
  readonly ip: string;
  readonly timeUnit: TimeUnit;
  readonly nowMicros: number;
  readonly apiKeys: ApiKeyLookup;
}

/** A parameter's text as it is signed and parsed; undefined when absent or null. */
export function paramText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The payloads a signature may cover: sorted pairs as sent, and percent-encoded when that differs. */
export function signaturePayloads(params: Readonly<Record<string, unknown>>): string[] {
  const names = Object.keys(params)
    .filter((k) => k !== 'signature' && params[k] !== undefined)
    .sort();
  const raw = names.map((k) => `${k}=${paramText(params[k]) ?? 'null'}`).join('&');
  const encoded = names
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(paramText(params[k]) ?? 'null')}`)
    .join('&');
  return raw === encoded ? [raw] : [raw, encoded];
}

/** True when `signature` signs one of the payloads with `key`. */
function signatureValid(
  key: ResolvedKey,
  params: Readonly<Record<string, unknown>>,
  signature: string,
): boolean {
  for (const payload of signaturePayloads(params)) {
    const bytes = Buffer.from(payload, 'utf8');
    const ok =
      key.type === 'HMAC'
        ? verifyHmac(key, bytes, signature)
        : key.publicKey !== undefined && verifyEd25519(key.publicKey, bytes, signature);
    if (ok) return true;
  }
  return false;
}

/** `timestamp` and `recvWindow`, checked against the server time (-1102 / -1100 / -1131 / -1021). */
function timing(params: Readonly<Record<string, unknown>>, ctx: WsAuthContext): [number, number] {
  const ts = params.timestamp;
  if (ts !== undefined && ts !== null && typeof ts !== 'string' && typeof ts !== 'number')
    throw new BinanceApiError(Errors.mandatory('timestamp'));
  const rw = params.recvWindow;
  if (rw !== undefined && rw !== null && typeof rw !== 'string' && typeof rw !== 'number')
    throw new BinanceApiError(Errors.illegalChars('recvWindow', LEGAL_RANGE.recvWindow));
  const timestampMicros = parseTimestamp(paramText(ts), ctx.timeUnit);
  const recvWindowMicros = parseRecvWindow(paramText(rw));
  checkTimestamp(timestampMicros, recvWindowMicros, ctx.nowMicros);
  return [timestampMicros, recvWindowMicros];
}

function auth(apiKey: string, key: ResolvedKey, timestampMicros: number, recvWindowMicros: number): WsAuth {
  return {
    apiKey,
    key,
    userId: key.userId,
    timestampMicros,
    recvWindowMicros,
    withinRecvWindow: (now) => now - timestampMicros <= recvWindowMicros,
  };
}

/**
 * A request that carries `apiKey` and `signature` itself. `keyCheck`, when given, runs on the
 * resolved key before the signature is checked (session.logon refuses non-Ed25519 keys there).
 */
export async function authenticateSigned(
  params: Readonly<Record<string, unknown>>,
  security: Security,
  ctx: WsAuthContext,
  keyCheck?: (key: ResolvedKey) => void,
): Promise<WsAuth> {
  const apiKey = params.apiKey;
  if (typeof apiKey !== 'string' || !API_KEY_PATTERN.test(apiKey))
    throw new BinanceApiError(Errors.badApiKeyFormat());
  const key = await ctx.apiKeys.resolveApiKey(apiKey);
  if (key === null || !ipAllowed(ctx.ip, key.ipAllow)) throw new BinanceApiError(Errors.rejectedKey());
  keyCheck?.(key);
  const signature = params.signature;
  if (typeof signature !== 'string' || signature === '')
    throw new BinanceApiError(Errors.mandatory('signature'));
  const [timestampMicros, recvWindowMicros] = timing(params, ctx);
  if (!signatureValid(key, params, signature)) throw new BinanceApiError(Errors.invalidSignature());
  if (!permits(key, security)) throw new BinanceApiError(Errors.rejectedKey());
  return auth(apiKey, key, timestampMicros, recvWindowMicros);
}

/**
 * A request on a logged-on session that carries no `apiKey`/`signature`: the session's key,
 * looked up again (`onRevoked` is called, then -2015, when it can no longer be used at all).
 */
export async function authenticateSession(
  params: Readonly<Record<string, unknown>>,
  security: Security,
  sessionApiKey: string,
  ctx: WsAuthContext,
  onRevoked: () => void,
): Promise<WsAuth> {
  const key = await ctx.apiKeys.resolveApiKey(sessionApiKey);
  if (key === null || !ipAllowed(ctx.ip, key.ipAllow) || key.userStatus !== 'ACTIVE') {
    onRevoked();
    throw new BinanceApiError(Errors.rejectedKey());
  }
  const [timestampMicros, recvWindowMicros] = timing(params, ctx);
  if (!permits(key, security)) throw new BinanceApiError(Errors.rejectedKey());
  return auth(sessionApiKey, key, timestampMicros, recvWindowMicros);
}
