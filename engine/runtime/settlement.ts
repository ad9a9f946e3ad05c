/**
 * The merge stage: in sequence order, a command's own effect (risk's holds and funds), then
 * its book events each followed by what risk adds (settlements), then the end of the
 * command (a MARKET order's unused hold goes back). The output is the engine's event stream:
 * every event of command N before any event of command N+1, the last one flagged.
 *
 * Used by the threaded core (events from shard rings), by replay and `verify` (events from
 * books run inline), and by tests: one implementation, so they cannot drift.
 */
import type { EventWriter, RecordViews } from '../model/codec.ts';
import type { Command } from '../model/commands.ts';
import type { Risk } from './risk.ts';

export class Settlement {
  constructor(readonly risk: Risk) {}

  /**
   * Merges one command: `code`/`budget` are admission's stamped decision; `events` records
   * `from .. from + count` are the command's book events (none for a command that never
   * reached a book). Appends to `out`; returns how many records it appended (at least one).
   */
  merge(
    cmd: Command,
    code: number,
    budget: number,
    events: RecordViews | null,
    from: number,
    count: number,
    out: EventWriter,
  ): number {
    const start = out.count;
    const risk = this.risk;
    risk.applyCommand(cmd, code, budget, out);
    if (events !== null) {
      for (let i = from; i < from + count; i++) {
        out.copyFrom(events, i);
        risk.applyEvent(events, i, out);
      }
    }
    risk.endCommand(cmd);
    if (out.count === start)
      throw new Error(`engine invariant: command ${cmd.seq} (${cmd.kind}) produced no event`);
    out.markLast();
    return out.count - start;
  }
}
