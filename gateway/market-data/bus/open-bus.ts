/**
 * Picks the bus adapter from the platform's settings: Redis when a URL is given (`REDIS_URL`), in
 * process otherwise. The platform calls this once per process and hands the bus to the market data
 * builders (publishers) and the gateway (subscribers).
 */
import type { Bus } from './bus.port.ts';
import { InProcessBus } from './in-process.adapter.ts';
import { RedisBus, type RedisBusOptions } from './redis.adapter.ts';

/** Options of `openBus`. */
export interface OpenBusOptions extends Partial<RedisBusOptions> {
  /** Redis URL; absent or empty: the in-process bus. */
  readonly redisUrl?: string | undefined;
  /** With Redis: wait this long (ms) for it to come up before resolving anyway (default 0: do not wait). */
  readonly waitUpMs?: number;
}

/**
 * Opens the bus. With Redis it resolves without waiting for the connection unless `waitUpMs` is set
 * (matching must not wait on Redis: the bus buffers meanwhile and its status says `down`).
 */
export async function openBus(options: OpenBusOptions = {}): Promise<Bus> {
  const { redisUrl, waitUpMs, ...rest } = options;
  if (!redisUrl)
    return new InProcessBus({ ...(rest.onHandlerError ? { onHandlerError: rest.onHandlerError } : {}) });
  const bus = new RedisBus({ ...rest, url: redisUrl });
  if (waitUpMs !== undefined && waitUpMs > 0) await bus.waitUntilUp(waitUpMs).catch(() => {});
  return bus;
}
