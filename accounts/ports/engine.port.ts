/**
 * What accounts need of the engine: a way to send funds commands (deposits, withdrawal
 * holds, settlements and releases, fee rates) and get their events back once durable, the
 * markets (assets and their scales), and the engine's balances for the ledger check. In one
 * process the adapter is the Core itself (`core-engine.adapter.ts`); a remote gateway gives
 * the same interface over its link to the core.
 */
import type { CommandInput, EngineEvent, Markets } from '../../engine/index.ts';

/** One account's balance of one asset, as the engine holds it (smallest units). */
export interface EngineBalance {
  readonly userId: number;
  readonly asset: string;
  readonly freeUnits: number;
  readonly lockedUnits: number;
}

export interface EnginePort {
  readonly markets: Markets;
  /** Sends a command; resolves with its events once it is durable (rejects if it cannot be sent). */
  submit(input: CommandInput): Promise<EngineEvent[]>;
  /** Every non-empty balance, all at one seq (after everything sent so far). */
  balances(): Promise<{ readonly seq: number; readonly balances: readonly EngineBalance[] }>;
}
