/**
 * Sending one funds command to the engine and reading its outcome: the movement it made (with
 * the seq that made it and the balance after it) or the result code it was refused with. The
 * engine answers every funds command with exactly one event for it.
 */
import type {
  CommandInput,
  EngineEvent,
  FundsDeposited,
  WithdrawalHeld,
  WithdrawalReleased,
  WithdrawalSettled,
} from '../../engine/index.ts';
import { resultCodeName, userId as toUserId } from '../../engine/index.ts';
import { AccountsError } from '../errors.ts';
import type { EnginePort } from '../ports/engine.port.ts';

type FundsKind = 'Deposit' | 'WithdrawalHold' | 'WithdrawalSettle' | 'WithdrawalRelease';

/** A funds command as accounts send it (a plain user id: the accounts' user id is the engine's). */
export interface FundsCommandInput {
  readonly kind: FundsKind;
  readonly userId: number;
  readonly assetId: number;
  readonly amountUnits: number;
  readonly refId: number;
}

type Applied = FundsDeposited | WithdrawalHeld | WithdrawalSettled | WithdrawalReleased;

/** What the engine did with a funds command. */
export type FundsOutcome =
  | { readonly ok: true; readonly event: Applied }
  | { readonly ok: false; readonly code: number; readonly codeName: string; readonly seq: number };

const APPLIED: Readonly<Record<FundsKind, Applied['kind']>> = {
  Deposit: 'FundsDeposited',
  WithdrawalHold: 'WithdrawalHeld',
  WithdrawalSettle: 'WithdrawalSettled',
  WithdrawalRelease: 'WithdrawalReleased',
};

/**
 * Submits `input` and waits until it is durable. A submission that fails (the engine is
 * unreachable or shutting down) is `<prefix>.engine_unavailable`: whether the command was
 * applied is then unknown, which is why every caller records its intent before submitting.
 */
export async function submitFunds(
  engine: EnginePort,
  input: FundsCommandInput,
  prefix: string,
): Promise<FundsOutcome> {
  let events: EngineEvent[];
  try {
    const command: Extract<CommandInput, { kind: FundsKind }> = { ...input, userId: toUserId(input.userId) };
    events = await engine.submit(command);
  } catch {
    throw new AccountsError(
      `${prefix}.engine_unavailable`,
      'the matching engine is not available; try again later',
    );
  }
  for (const e of events) {
    if (e.kind === APPLIED[input.kind] && (e as Applied).refId === input.refId)
      return { ok: true, event: e as Applied };
    if (e.kind === 'FundsRejected' && e.refId === input.refId)
      return { ok: false, code: e.code, codeName: resultCodeName(e.code), seq: e.seq };
  }
  // The engine answers every funds command with one of the two: anything else is a broken port.
  throw new Error(
    `engine answered ${input.kind} ${input.refId} with ${events.map((e) => e.kind).join(', ') || 'nothing'}`,
  );
}
