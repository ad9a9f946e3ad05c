/**
 * What the gateway needs from the other rooms, as interfaces only (ports and adapters: the
 * accounts room implements `ApiKeyLookup` over its database, tests pass a fake). The gateway
 * never reaches into another room's storage; it asks through these.
 */

/** How a request is signed with a key: HMAC-SHA256 (hex) or Ed25519 (base64), as on Binance. */
export type ApiKeyType = 'HMAC' | 'ED25519';

/**
 * An API key resolved from the `X-MBX-APIKEY` header: who it belongs to, how to verify its
 * signatures and what it may do. The accounts team implements exactly this shape.
 */
export interface ResolvedKey {
  /** The key's row id (for logs and audit; never the key itself). */
  readonly keyId: number;
  /** The engine user id of the key's owner. */
  readonly userId: number;
  readonly type: ApiKeyType;
  /** HMAC keys: the shared secret, in clear (decrypted by the accounts room). */
  readonly secret?: string;
  /** Ed25519 keys: the client's public key as PEM (SPKI, "BEGIN PUBLIC KEY"). */
  readonly publicKey?: string;
  /** May read account data (USER_DATA endpoints). */
  readonly canRead: boolean;
  /** May place and cancel orders (TRADE endpoints). */
  readonly canTrade: boolean;
  /** May withdraw funds. */
  readonly canWithdraw: boolean;
  /** Addresses or CIDR blocks the key may be used from; empty: any address. */
  readonly ipAllow: readonly string[];
  /** A DISABLED user's keys are refused everywhere. */
  readonly userStatus: 'ACTIVE' | 'DISABLED';
  /** The owner's KYC tier (0 unverified, 1 basic, 2 full): trading and withdrawing need tier 1+. */
  readonly kycTier: number;
}

/** Looks API keys up (the accounts room caches as it sees fit; the gateway calls this per signed request). */
export interface ApiKeyLookup {
  /** The key named by `apiKey` (the public key id a client sends), or null when there is none (or it was deleted). */
  resolveApiKey(apiKey: string): Promise<ResolvedKey | null>;
}

/** The gateway's time source (injectable so that tests control it). */
export interface Clock {
  /** Wall-clock time in microseconds since the Unix epoch (an integer). */
  nowMicros(): number;
}
