/**
 * Starts a worker thread from a TypeScript module. The platform runs TypeScript through tsx,
 * whose loader hooks are registered per thread, and Node 20 does not apply a parent's
 * `--import tsx` to a worker's entry module. So the worker starts from a one-line JavaScript
 * bootstrap that registers tsx in the new thread and then imports the real entry file.
 * This is the only place that knows about it; every worker in the platform starts here.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

const tsxApi = import.meta.resolve('tsx/esm/api');

/** A Worker running the module at `entry` (a file URL of a .ts or .js module). */
export function spawnWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
