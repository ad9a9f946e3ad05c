/**
 * Input checks shared by deposits, withdrawals and the address allow-list: assets (by name,
 * resolved to the engine's asset id and scale), decimal amounts in the asset's own unit turned
 * into integer units, and the short printable strings (transaction ids, networks, addresses,
 * labels, actors). Every failure is an AccountsError whose code starts with the caller's prefix
 * ("deposit.", "withdrawal.", "withdrawal_address."), so each service reports in its own terms.
 */
import { formatDecimal, type Markets, parseDecimal, ResultCode } from '../../engine/index.ts';
import { AccountsError } from '../errors.ts';

/** An asset as the engine knows it: its name, its id (index in the markets file) and its scale. */
export interface ResolvedAsset {
  readonly asset: string;
  readonly assetId: number;
  readonly scale: number;
}

/** Finds `asset` in the markets file; `<prefix>.unknown_asset` when it is not there. */
export function resolveAsset(markets: Markets, asset: unknown, prefix: string): ResolvedAsset {
  if (typeof asset === 'string') {
    // Asset ids are positions in the markets file's asset list (a Map keeps file order).
    let assetId = 0;
    for (const spec of markets.assets.values()) {
      if (spec.asset === asset) return { asset, assetId, scale: spec.scale };
      assetId++;
    }
  }
  throw new AccountsError(`${prefix}.unknown_asset`, `unknown asset ${printable(asset)}`);
}

/** The asset's name for an engine asset id (the inverse of resolveAsset). */
export function assetName(markets: Markets, assetId: number): string {
  const spec = [...markets.assets.values()][assetId];
  if (spec === undefined) throw new RangeError(`asset id ${assetId} is not in the markets file`);
  return spec.asset;
}

/**
 * Parses a positive decimal amount of `asset` into integer units. Malformed, zero, negative or
 * out-of-range amounts are `<prefix>.invalid_amount`; more decimals than the asset has is
 * `<prefix>.amount_too_precise` (never rounded: money is exact).
 */
export function parseAmount(amount: unknown, asset: ResolvedAsset, prefix: string): number {
  if (typeof amount !== 'string')
    throw new AccountsError(`${prefix}.invalid_amount`, 'the amount must be a decimal string');
  const parsed = parseDecimal(amount, asset.scale);
  if (!parsed.ok) {
    if (parsed.code === ResultCode.DECIMAL_TOO_PRECISE)
      throw new AccountsError(
        `${prefix}.amount_too_precise`,
        `${asset.asset} amounts have at most ${asset.scale} decimal places`,
      );
    throw new AccountsError(`${prefix}.invalid_amount`, `amount ${printable(amount)} is not a valid decimal`);
  }
  if (parsed.units <= 0) throw new AccountsError(`${prefix}.invalid_amount`, 'the amount must be positive');
  return parsed.units;
}

/** Integer units of an asset as a decimal string with all the asset's places ("0.50000000"). */
export function formatAmount(units: number, asset: ResolvedAsset): string {
  return formatDecimal(units, asset.scale);
}

/** Visible ASCII only (0x21-0x7e): no spaces, no control characters. */
const VISIBLE = /^[\x21-\x7e]+$/;
/** Printable ASCII including the space (labels, reasons). */
const PRINTABLE = /^[\x20-\x7e]*$/;
/** A network name as exchanges spell them: BTC, ETH, TRX, BSC, ARBITRUM, ... */
const NETWORK = /^[A-Z0-9_-]{1,32}$/;

/**
 * Checks a visible-ASCII token (no spaces) of 1..`max` characters; `code` names the failure and
 * `what` the field in the message.
 */
export function checkToken(value: unknown, max: number, code: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !VISIBLE.test(value))
    throw new AccountsError(code, `${what} must be 1 to ${max} visible ASCII characters without spaces`);
  return value;
}

/** Checks printable ASCII text (spaces allowed) of `min`..`max` characters. */
export function checkText(value: unknown, min: number, max: number, code: string, what: string): string {
  if (typeof value !== 'string' || value.length < min || value.length > max || !PRINTABLE.test(value))
    throw new AccountsError(code, `${what} must be ${min} to ${max} printable ASCII characters`);
  return value;
}

/** Checks a network name's shape (upper-case letters, digits, '_' and '-', at most 32). */
export function checkNetwork(value: unknown, code: string): string {
  if (typeof value !== 'string' || !NETWORK.test(value))
    throw new AccountsError(code, `network ${printable(value)} is not a valid network name`);
  return value;
}

/** Checks a user id's shape (the engine's user ids are positive safe integers). */
export function checkUserId(value: unknown, code: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new AccountsError(code, 'the user id must be a positive integer');
  return value;
}

/**
 * An actor for the audit log and the withdrawal trail: "operator:<name>" from a bare name or
 * one already prefixed.
 */
export function operatorActor(operator: unknown, code: string): string {
  const name = checkToken(operator, 64, code, 'the operator name');
  return name.startsWith('operator:') ? name : `operator:${name}`;
}

/** A user-supplied value quoted for a message: short, and never anything but printable text. */
export function printable(value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`;
  const cut = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return `"${cut.replace(/[^\x20-\x7e]/g, '?')}"`;
}
