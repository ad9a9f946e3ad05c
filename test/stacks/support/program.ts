/**
 * Runs the Pulumi program (index.ts) under the mocks with a stack's configuration, the way
 * `pulumi preview` would, and returns what it registered. Runs are memoised per stack and
 * configuration: the program is loaded once and called as often as needed.
 */
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { load } from 'js-yaml';
import { installMocks, type Registered, resolved, settle, startRecording } from './mocks.ts';

/** One run of the program. */
export interface ProgramRun {
  /** The stack name the run used. */
  readonly stack: string;
  /** The configuration it ran with (Pulumi's string form). */
  readonly config: Readonly<Record<string, string>>;
  /** Every resource it registered. */
  readonly resources: readonly Registered[];
  /** Its stack outputs, resolved. */
  readonly outputs: Readonly<Record<string, unknown>>;
}

/** The configuration of `Pulumi.<stack>.yaml` as Pulumi hands it to the program (strings, objects as JSON). */
export function stackConfig(stack: string): Record<string, string> {
  const text = readFileSync(new URL(`../../../Pulumi.${stack}.yaml`, import.meta.url), 'utf8');
  const doc = load(text) as { config?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config ?? {}).map(([key, value]) => [
      key,
      typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value),
    ]),
  );
}

const runs = new Map<string, Promise<ProgramRun>>();
let queue: Promise<unknown> = Promise.resolve();

async function run(stack: string, config: Record<string, string>): Promise<ProgramRun> {
  pulumi.runtime.setAllConfig(config);
  installMocks(stack);
  const sink = startRecording();
  const { default: program } = await import('../../../index.ts');
  const returned = await program();
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(returned)) {
    outputs[key] = await resolved(value);
  }
  await settle();
  return { stack, config, resources: [...sink], outputs };
}

/**
 * The program run for `stack` with its Pulumi.<stack>.yaml configuration, plus `overrides`
 * (keys like `crossbook:secondaryRegion`; `undefined` removes a key). Runs one at a time.
 */
export function programRun(
  stack: string,
  overrides: Record<string, string | undefined> = {},
): Promise<ProgramRun> {
  const config = { ...stackConfig(stack) };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete config[key];
    } else {
      config[key] = value;
    }
  }
  const id = `${stack}:${JSON.stringify(config)}`;
  let pending = runs.get(id);
  if (pending === undefined) {
    pending = queue.then(() => run(stack, config));
    queue = pending.catch(() => undefined);
    runs.set(id, pending);
  }
  return pending;
}
