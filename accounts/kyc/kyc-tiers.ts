/**
 * KYC tiers and what each allows: 0 (unverified) may deposit but neither trade nor withdraw;
 * 1 (basic) may trade and withdraw up to a modest amount per rolling 24 hours; 2 (full) has
 * higher limits. Limits are per asset, as decimal strings in the asset's own unit, turned into
 * smallest units with the asset's scale from the markets file.
 */
import { type Markets, parseDecimal } from '../../engine/index.ts';

export const KYC_TIERS = [0, 1, 2] as const;
export type KycTier = (typeof KYC_TIERS)[number];

/** What a tier allows. */
export interface KycTierPolicy {
  readonly tier: KycTier;
  readonly name: 'UNVERIFIED' | 'BASIC' | 'FULL';
  readonly canTrade: boolean;
  readonly canWithdraw: boolean;
  /** The most that may leave per asset over any rolling 24 hours (decimal strings). */
  readonly withdrawLimit24h: Readonly<Record<string, string>>;
}

export const KYC_POLICIES: Readonly<Record<KycTier, KycTierPolicy>> = {
  0: { tier: 0, name: 'UNVERIFIED', canTrade: false, canWithdraw: false, withdrawLimit24h: {} },
  1: {
    tier: 1,
    name: 'BASIC',
    canTrade: true,
    canWithdraw: true,
    withdrawLimit24h: { BTC: '2', ETH: '30', USDT: '100000' },
  },
  2: {
    tier: 2,
    name: 'FULL',
    canTrade: true,
    canWithdraw: true,
    withdrawLimit24h: { BTC: '100', ETH: '1500', USDT: '8000000' },
  },
};

/** True for 0, 1 or 2. */
export function isKycTier(n: unknown): n is KycTier {
  return n === 0 || n === 1 || n === 2;
}

/** The policy of a tier. */
export function kycPolicy(tier: number): KycTierPolicy {
  if (!isKycTier(tier)) throw new RangeError(`KYC tier ${tier} does not exist`);
  return KYC_POLICIES[tier];
}

/**
 * A tier's 24-hour withdrawal limit of `asset` in smallest units; 0 when the tier may not
 * withdraw it (an asset the tier does not name cannot be withdrawn at that tier).
 */
export function withdrawLimitUnits(markets: Markets, tier: number, asset: string): number {
  const policy = kycPolicy(tier);
  const spec = markets.assets.get(asset);
  const limit = policy.withdrawLimit24h[asset];
  if (!policy.canWithdraw || spec === undefined || limit === undefined) return 0;
  const parsed = parseDecimal(limit, spec.scale);
  if (!parsed.ok) throw new RangeError(`KYC limit ${limit} ${asset} is not a decimal of scale ${spec.scale}`);
  return parsed.units;
}
