/**
 * What the gateway needs from the other rooms, as interfaces only (ports and adapters: the
 * accounts room implements `ApiKeyLookup` over its database, tests pass a fake). The gateway
 * never reaches into another room's storage; it asks through these.
 */

import type { Balance, CommandInput, EngineEvent, Markets } from '../engine/index.ts';

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
  /**
   * What `resolveApiKey` would answer, when the lookup already holds a current answer (null:
   * no such key); undefined when it must be asked. Optional: a lookup without a cache leaves
   * it out and every request awaits `resolveApiKey`.
   */
  cachedApiKey?(apiKey: string): ResolvedKey | null | undefined;
}

/** The gateway's time source (injectable so that tests control it). */
export interface Clock {
  /** Wall-clock time in microseconds since the Unix epoch (an integer). */
  nowMicros(): number;
}

/**
 * The core as the trading routes see it. The platform passes its CoreClient
 * (platform/link/core-client.ts), in process or over the link; tests pass a Core.
 *
 * Failures: `submit` and `balancesOf` may reject with an error carrying a dotted `code`
 * string (the link's CoreLinkError): 'link.status_unknown' (the command was sent, its fate is
 * unknown: Binance -1007), 'link.busy' / 'link.unavailable' (not applied, retry: -1008),
 * 'link.closed' (shutting down: -1016). The gateway matches on the `code` property only, so
 * it depends on no implementation.
 */
export interface EngineAccess {
  /** The markets the core runs (the same on every gateway). */
  readonly markets: Markets;
  /** Sends one command; resolves with its events once they are durable. */
  submit(input: CommandInput): Promise<EngineEvent[]>;
  /** One user's balances now (free and locked per asset id; [] for a user the core does not know). */
  balancesOf(userId: number): Promise<Balance[]>;
}

/** A user's commission rates, in parts per million of the received amount (1000 = 0.1%). */
export interface CommissionPpm {
  readonly makerPpm: number;
  readonly takerPpm: number;
}

/**
 * Where a user's commission rates come from (the platform: the user's own rates, else the
 * exchange default; the same rates the engine charges).
 */
export interface FeeRates {
  /** `userId`'s maker and taker rates. */
  rates(userId: number): Promise<CommissionPpm>;
}
