/**
 * What the gateway benchmark's driver (gateway.bench.ts) and its load processes
 * (gateway-load.ts) say to each other over the fork IPC channel: the driver sends one `run`,
 * the load process answers `ready` once loaded and one `result` when its run is over.
 */

/** One account the load process signs for. */
export interface LoadUser {
  readonly apiKey: string;
  readonly secretKey: string;
  /** The address sent in X-Forwarded-For (the gateway trusts one proxy hop in this benchmark). */
  readonly ip: string;
}

/** What one load process does. */
export interface LoadRun {
  readonly type: 'run';
  /** `orders`: the platform; `hello`: the bare uWS server (the same requests, no order budget). */
  readonly mode: 'orders' | 'hello';
  readonly origin: string;
  readonly users: readonly LoadUser[];
  readonly connections: number;
  readonly pipelining: number;
  /** Epoch milliseconds: start sending, start and stop counting (no new request after `measureTo`). */
  readonly startAt: number;
  readonly measureFrom: number;
  readonly measureTo: number;
  /** New orders per account per 10-second window the load process allows itself (the server's limit is 100). */
  readonly ordersPer10s: number;
  readonly symbol: string;
  /** The HTTP client: `raw` (./http1-client.ts, the default) or `undici` (its Pool). */
  readonly client: LoadClient;
}

/** The load processes' HTTP clients. */
export const LOAD_CLIENTS = ['raw', 'undici'] as const;
export type LoadClient = (typeof LOAD_CLIENTS)[number];

/** A load process's tally. */
export interface LoadResult {
  readonly type: 'result';
  /** Responses completed inside the measured window, by kind. */
  readonly places: number;
  readonly cancels: number;
  /** Non-2xx responses and transport errors (inside or outside the window). */
  readonly errors: number;
  readonly errorsByStatus: Record<string, number>;
  readonly errorSamples: readonly string[];
  /** Times a slot found every account of this process out of its order budget and waited. */
  readonly budgetWaits: number;
  /** Responses outside the measured window (warm-up and drain). */
  readonly outside: number;
  /** What this process added to Date.now() to follow the server's clock (GET /api/v3/time). */
  readonly clockOffsetMillis: number;
  /** Latency in microseconds of the responses inside the window, hdr-histogram-js compressed base64. */
  readonly histogram: string;
}

export type LoadMessage = { readonly type: 'ready' } | LoadResult;
