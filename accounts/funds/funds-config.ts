/**
 * What an operator configures about moving funds in and out: the networks each asset travels
 * on, and the amount above which a withdrawal waits for an operator's approval. Amounts are
 * decimal strings in the asset's unit (as operators write them), checked and turned into
 * integer units once, against the markets file, by `resolveFundsConfig`.
 */
import type { Markets } from '../../engine/index.ts';
import { parseDecimal } from '../../engine/index.ts';

/** The funds configuration as written. */
export interface FundsConfig {
  /** Networks per asset (e.g. USDT: ['ETH', 'TRX']). An asset not listed cannot be withdrawn. */
  readonly networks: Readonly<Record<string, readonly string[]>>;
  /**
   * Per asset: a withdrawal of more than this waits for an operator; this much or less completes
   * on its own. An asset without a threshold always waits for an operator (the safe default).
   */
  readonly approvalThreshold: Readonly<Record<string, string>>;
}

/** The defaults: BTC on BTC, ETH on ETH, USDT on ETH and TRX; approval above 1 BTC, 10 ETH, 50,000 USDT. */
export const DEFAULT_FUNDS_CONFIG: FundsConfig = {
  networks: { BTC: ['BTC'], ETH: ['ETH'], USDT: ['ETH', 'TRX'] },
  approvalThreshold: { BTC: '1', ETH: '10', USDT: '50000' },
};

/** A configuration checked against the markets file, thresholds in integer units. */
export interface ResolvedFundsConfig {
  readonly networks: ReadonlyMap<string, ReadonlySet<string>>;
  /** Asset -> threshold units; absent: every withdrawal of the asset needs approval. */
  readonly approvalThresholdUnits: ReadonlyMap<string, number>;
}

/** Thrown for a configuration that names an unknown asset or holds a malformed amount. */
export class FundsConfigError extends Error {
  override readonly name = 'FundsConfigError';
}

const resolved = new WeakMap<FundsConfig, WeakMap<Markets, ResolvedFundsConfig>>();

/**
 * Checks `config` against `markets` and converts its amounts to units (memoised per pair, so
 * services can call it on every request). Throws FundsConfigError: a bad configuration is an
 * operator's mistake to fix before start, not a user's error.
 */
export function resolveFundsConfig(markets: Markets, config: FundsConfig): ResolvedFundsConfig {
  const cached = resolved.get(config)?.get(markets);
  if (cached !== undefined) return cached;
  const networks = new Map<string, ReadonlySet<string>>();
  for (const [asset, list] of Object.entries(config.networks)) {
    if (!markets.assets.has(asset)) throw new FundsConfigError(`funds config: unknown asset ${asset}`);
    for (const n of list)
      if (!/^[A-Z0-9_-]{1,32}$/.test(n))
        throw new FundsConfigError(`funds config: network "${n}" of ${asset} is not a valid name`);
    networks.set(asset, new Set(list));
  }
  const approvalThresholdUnits = new Map<string, number>();
  for (const [asset, amount] of Object.entries(config.approvalThreshold)) {
    const spec = markets.assets.get(asset);
    if (spec === undefined) throw new FundsConfigError(`funds config: unknown asset ${asset}`);
    const parsed = parseDecimal(amount, spec.scale);
    if (!parsed.ok)
      throw new FundsConfigError(
        `funds config: threshold ${amount} ${asset} is not a decimal of scale ${spec.scale}`,
      );
    approvalThresholdUnits.set(asset, parsed.units);
  }
  const result: ResolvedFundsConfig = { networks, approvalThresholdUnits };
  let perMarkets = resolved.get(config);
  if (perMarkets === undefined) {
    perMarkets = new WeakMap();
    resolved.set(config, perMarkets);
  }
  perMarkets.set(markets, result);
  return result;
}
