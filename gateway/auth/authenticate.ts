/**
 * Who a request comes from, checked in the order Binance's errors imply, cheapest first:
 *
 *   1. X-MBX-APIKEY present and well formed            else -2014 (401)
 *   2. the key exists                                   else -2015 (401)
 *   3. the client's address is on the key's allow-list  else -2015
 *   4. signature sent (signed endpoints)                else -1102
 *   5. timestamp / recvWindow well formed and in time   else -1102 / -1100 / -1131 / -1021
 *   6. signature valid over query string + body         else -1022 (400)
 *   7. owner active, key (and KYC tier) permits the action  else -2015
 *
 * Step 7 comes after the signature so that an unsigned request learns nothing about a key's
 * permissions. Public endpoints ignore a well-formed key and refuse a malformed one (-2014).
 */
import { kycPolicy } from '../../accounts/kyc/kyc-tiers.ts';
import { BinanceApiError, Errors } from '../binance/errors.ts';
import type { AuthContext, GatewayRequest, Security } from '../http/http-types.ts';
import { ipAllowed } from '../http/ip.ts';
import type { ApiKeyLookup, ResolvedKey } from '../ports.ts';
import { signedPayload, verifyEd25519, verifyHmac } from './signature.ts';
import type { TimeUnit } from './time-unit.ts';
import { checkTimestamp, parseRecvWindow, parseTimestamp } from './timing.ts';

/**
 * What an API key looks like: Binance's keys are 64 alphanumerics; we also allow '-' and '_'
 * (URL-safe base64) so that the accounts room may generate either. Anything else is -2014.
 */
export const API_KEY_PATTERN = /^[A-Za-z0-9_-]{64}$/;

/** The dependencies of authentication. */
export interface AuthDeps {
  readonly apiKeys: ApiKeyLookup;
}

/** The API key header's value; -2014 when it is present but malformed, undefined when absent. */
export function apiKeyHeader(req: GatewayRequest): string | undefined {
  const key = req.headers['x-mbx-apikey'];
  if (key === undefined) return undefined;
  if (!API_KEY_PATTERN.test(key)) throw new BinanceApiError(Errors.badApiKeyFormat());
  return key;
}

/** True when the key's owner and its permissions allow an endpoint of this security type. */
export function permits(key: ResolvedKey, security: Security): boolean {
  if (key.userStatus !== 'ACTIVE') return false;
  switch (security) {
    case 'NONE':
    case 'USER_STREAM':
      return true;
    case 'USER_DATA':
      return key.canRead;
    case 'TRADE':
      return key.canTrade && tierAllows(key.kycTier, 'trade');
    case 'WITHDRAW':
      return key.canWithdraw && tierAllows(key.kycTier, 'withdraw');
    default: {
      const never: never = security;
      throw new Error(`unknown security type ${String(never)}`);
    }
  }
}

function tierAllows(tier: number, action: 'trade' | 'withdraw'): boolean {
  if (tier !== 0 && tier !== 1 && tier !== 2) return false;
  const policy = kycPolicy(tier);
  return action === 'trade' ? policy.canTrade : policy.canWithdraw;
}

/**
 * Authenticates `req` for an endpoint of `security`. Returns null for public endpoints,
 * the caller's context otherwise; throws BinanceApiError with the Binance error for every
 * failure. `nowMicros` is the server time the timestamp is checked against. Synchronous when
 * the key lookup holds a current answer (`cachedApiKey`), as it does for every request after
 * a key's first; a promise otherwise (which rejects with the same errors).
 */
export function authenticate(
  req: GatewayRequest,
  security: Security,
  timeUnit: TimeUnit,
  nowMicros: number,
  deps: AuthDeps,
): AuthContext | null | Promise<AuthContext | null> {
  const apiKey = apiKeyHeader(req);
  if (security === 'NONE') return null;
  if (apiKey === undefined) throw new BinanceApiError(Errors.badApiKeyFormat());
  const cached = deps.apiKeys.cachedApiKey?.(apiKey);
  if (cached !== undefined) return authenticateKey(req, security, timeUnit, nowMicros, cached);
  return deps.apiKeys
    .resolveApiKey(apiKey)
    .then((key) => authenticateKey(req, security, timeUnit, nowMicros, key));
}

/** Steps 2 to 7 for the key the request names (null: no such key). */
function authenticateKey(
  req: GatewayRequest,
  security: Exclude<Security, 'NONE'>,
  timeUnit: TimeUnit,
  nowMicros: number,
  key: ResolvedKey | null,
): AuthContext {
  if (key === null) throw new BinanceApiError(Errors.rejectedKey());
  if (!ipAllowed(req.ip, key.ipAllow)) throw new BinanceApiError(Errors.rejectedKey());

  if (security === 'USER_STREAM') {
    if (!permits(key, security)) throw new BinanceApiError(Errors.rejectedKey());
    return context(key, 0, 0, false);
  }

  const signed = signedPayload(req.query, req.body);
  if (signed === 'missing') throw new BinanceApiError(Errors.mandatory('signature'));
  const timestampMicros = parseTimestamp(req.params.get('timestamp'), timeUnit);
  const recvWindowMicros = parseRecvWindow(req.params.get('recvWindow'));
  checkTimestamp(timestampMicros, recvWindowMicros, nowMicros);
  if (signed === 'not-last') throw new BinanceApiError(Errors.invalidSignature());
  const valid =
    key.type === 'HMAC'
      ? verifyHmac(key, signed.payload, signed.signature)
      : key.publicKey !== undefined && verifyEd25519(key.publicKey, signed.payload, signed.signature);
  if (!valid) throw new BinanceApiError(Errors.invalidSignature());
  if (!permits(key, security)) throw new BinanceApiError(Errors.rejectedKey());
  return context(key, timestampMicros, recvWindowMicros, true);
}

function context(
  key: ResolvedKey,
  timestampMicros: number,
  recvWindowMicros: number,
  signed: boolean,
): AuthContext {
  return {
    key,
    userId: key.userId,
    timestampMicros,
    recvWindowMicros,
    withinRecvWindow: signed ? (now) => now - timestampMicros <= recvWindowMicros : () => true,
  };
}
