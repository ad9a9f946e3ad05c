/** The engine port over a Core in the same process. */
import type { CommandInput, Core, EngineEvent } from '../../engine/index.ts';
import type { EngineBalance, EnginePort } from './engine.port.ts';

export function coreEnginePort(core: Core): EnginePort {
  return {
    markets: core.markets,
    submit: (input: CommandInput): Promise<EngineEvent[]> => core.submit(input),
    balances: async () => {
      const { seq, risk } = await core.ledger();
      const assets = [...core.markets.assets.keys()];
      const balances: EngineBalance[] = [];
      for (const [k, userId] of risk.users.entries()) {
        for (const [a, asset] of assets.entries()) {
          const freeUnits = risk.free[k * assets.length + a]!;
          const lockedUnits = risk.locked[k * assets.length + a]!;
          if (freeUnits !== 0 || lockedUnits !== 0) balances.push({ userId, asset, freeUnits, lockedUnits });
        }
      }
      return { seq, balances };
    },
  };
}
