/**
 * The server's clock as a Binance client learns it: GET /api/v3/time a few times, keep the
 * sample with the shortest round trip, and take the server's time at its midpoint. Signed
 * requests carry `Date.now() + offset` (what python-binance and the official connectors do
 * with their time offset), and the order-budget windows of the gateway benchmark are aligned
 * to the server's clock, since its ORDERS windows are.
 */
import { request } from 'undici';

/** Milliseconds to add to Date.now() to get the server's clock; 0 when it does not tell (hello-world). */
export async function serverClockOffset(origin: string, samples = 5): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < samples; i++) {
    const t0 = Date.now();
    const res = await request(`${origin}/api/v3/time`);
    const body = (await res.body.json()) as { serverTime?: unknown };
    const t1 = Date.now();
    if (typeof body.serverTime !== 'number') return 0;
    if (t1 - t0 < best) {
      best = t1 - t0;
      offset = body.serverTime - (t0 + t1) / 2;
    }
  }
  return Math.round(offset);
}
