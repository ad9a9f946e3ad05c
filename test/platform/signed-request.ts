/**
 * A signed REST request as a Binance client sends it (HMAC-SHA256 of the query string with the
 * timestamp, `signature` last, the key in X-MBX-APIKEY), for the platform's end-to-end tests.
 */
import { createHmac } from 'node:crypto';

/** What an account created through the admin API answers with (its key and secret). */
export interface SigningAccount {
  readonly apiKey?: unknown;
  readonly secretKey?: unknown;
}

/** Sends `method route` to `origin` signed for `who`; the reply's status and JSON body. */
export async function signedRequest(
  origin: string,
  who: SigningAccount,
  method: string,
  route: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> & Record<string, unknown>[] }> {
  const query = new URLSearchParams({ ...params, timestamp: String(Date.now()) }).toString();
  const signature = createHmac('sha256', who.secretKey as string)
    .update(query)
    .digest('hex');
  const res = await fetch(`${origin}${route}?${query}&signature=${signature}`, {
    method,
    headers: { 'X-MBX-APIKEY': who.apiKey as string },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & Record<string, unknown>[],
  };
}
