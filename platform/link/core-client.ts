/**
 * What a gateway needs of the core, whether the core runs in the same process
 * (`localCoreClient`) or in another one behind the binary link (`connectCoreLink` in
 * link-client.ts): commands, balances, the event stream, and the REST market data answered
 * by the one MarketData builder beside the core. The gateway codes against this interface
 * only, so splitting the roles across processes changes nothing above it.
 */
import {
  type Balance,
  type CommandInput,
  type Core,
  CoreBusyError,
  type EngineEvent,
  type EventsListener,
  type Markets,
  RecordError,
} from '../../engine/index.ts';
import type { MdResult } from '../../gateway/market-data/errors.ts';
import type { MarketDataQueries, MarketDataQuery } from '../../gateway/market-data/queries.ts';

/** A gap in the event stream: events of commands after `afterSeq` up to `resumedAfterSeq` were lost. */
export interface StreamGap {
  /** The last seq whose events the client had delivered. */
  readonly afterSeq: number;
  /** The stream resumes with the events of the commands after this seq. */
  readonly resumedAfterSeq: number;
}

/** The core as a gateway sees it. */
export interface CoreClient {
  /** The markets the core runs (assets, symbols, filters), the same on every gateway. */
  readonly markets: Markets;
  /**
   * Sends a command; resolves with its events once they are durable. Rejects with a
   * CoreLinkError; `statusUnknown` on it says whether the command may have been applied.
   */
  submit(input: CommandInput): Promise<EngineEvent[]>;
  /**
   * Every released event, in seq order, as records (the views are reused once the listener
   * returns: copy what you keep). Returns the unsubscribe.
   */
  onEvents(listener: EventsListener): () => void;
  /** One user's balances (free and locked per asset id) now; [] for a user the core does not know. */
  balancesOf(userId: number): Promise<Balance[]>;
  /**
   * A REST market data question, answered by the MarketData builder that runs beside the
   * core: resolves with its answer or its refusal (a bad query is a refusal, -1100). Rejects
   * with CoreLinkError `link.unavailable` when the builder cannot be reached (not connected,
   * no answer in time, the core serves no market data, the query failed there): a query has
   * no effect, so it is always safe to ask again.
   */
  queryMarketData(q: MarketDataQuery): Promise<MdResult<unknown>>;
  /**
   * Where the event stream stands for a listener subscribed now: it is given the events of
   * every command after this seq (in process the last seq stamped, which may be ahead of the
   * last released; over the link the last seq delivered). A gateway seeds what it builds
   * from the stream (the order view) up to at least here.
   */
  readonly streamSeq: number;
  /** True while the core can be reached. */
  readonly connected: boolean;
  /** Calls `cb` on every change of `connected`. Returns the unsubscribe. */
  onStatus(cb: (up: boolean) => void): () => void;
  /**
   * Calls `cb` when events were lost (a link reconnected after the core's memory of recent
   * events moved past it): whatever is built from the stream (books, tickers) must be
   * rebuilt. Never called in process. Returns the unsubscribe.
   */
  onResync(cb: (gap: StreamGap) => void): () => void;
  /** Stops; the core itself keeps running (its owner closes it). */
  close(): Promise<void>;
}

/** Expected failures of a CoreClient, by dotted code. */
export type CoreLinkErrorCode =
  /** Sent, but no answer came (link lost, timeout): the command may or may not have been applied. */
  | 'link.status_unknown'
  /** Not connected, or the core or link is shutting down: not applied, safe to retry later. */
  | 'link.unavailable'
  /** Too many commands in flight in the core: not applied, retry shortly. */
  | 'link.busy'
  /** The command cannot be encoded or decoded (bad client order id, unknown kind): not applied. */
  | 'link.invalid_command'
  /** A request field is out of range (user id): nothing was asked. */
  | 'link.invalid_request'
  /** The server refused the handshake (wrong token or protocol version). */
  | 'link.refused'
  /** No connection could be made in time. */
  | 'link.unreachable'
  /** The client was closed. */
  | 'link.closed'
  /** After a reconnect the core serves different markets: this client cannot go on. */
  | 'link.markets_changed'
  /** A setting the link cannot run with. */
  | 'link.config';

/**
 * An expected failure of the link. When `statusUnknown` is true the command was sent and
 * may or may not have been applied: the gateway answers Binance's -1007 "Timeout waiting for
 * response from backend server. Send status unknown; execution status unknown."
 */
export class CoreLinkError extends Error {
  override readonly name = 'CoreLinkError';

  constructor(
    readonly code: CoreLinkErrorCode,
    message: string,
    readonly statusUnknown = false,
  ) {
    super(message);
  }
}

/** The part of Core a local client uses (a stand-in without `lastSeq` stands at seq 0). */
export type LocalCore = Pick<Core, 'markets' | 'submit' | 'onEvents' | 'balancesOf'> &
  Partial<Pick<Core, 'lastSeq'>>;

/** What else an in-process client serves. */
export interface LocalCoreClientOptions {
  /**
   * The market data builder of this process (`localMarketDataQueries(md)`); without it
   * queries fail as unavailable.
   */
  readonly marketData?: MarketDataQueries;
}

/** Why a query fails where no MarketData builder runs beside the core. */
export const NO_MARKET_DATA = 'market data is not served by this core';

/**
 * The in-process CoreClient: calls go straight to the Core (no copy beyond what the Core
 * makes), listeners see the Core's own views, market data queries go straight to the
 * builder. Always connected until closed.
 */
export function localCoreClient(core: LocalCore, options: LocalCoreClientOptions = {}): CoreClient {
  const marketData = options.marketData;
  let open = true;
  const status = new Set<(up: boolean) => void>();
  const unsubscribes = new Set<() => void>();
  return {
    markets: core.markets,
    get streamSeq() {
      return core.lastSeq ?? 0;
    },
    get connected() {
      return open;
    },
    submit(input) {
      if (!open) return Promise.reject(new CoreLinkError('link.closed', 'the core client is closed'));
      return core.submit(input).catch((e: unknown) => {
        throw asLinkError(e);
      });
    },
    onEvents(listener) {
      const off = core.onEvents(listener);
      const unsubscribe = (): void => {
        off();
        unsubscribes.delete(unsubscribe);
      };
      unsubscribes.add(unsubscribe);
      return unsubscribe;
    },
    balancesOf(userId) {
      if (!open) return Promise.reject(new CoreLinkError('link.closed', 'the core client is closed'));
      if (!Number.isSafeInteger(userId) || userId < 0)
        return Promise.reject(new CoreLinkError('link.invalid_request', `user id ${userId} is not valid`));
      return Promise.resolve(core.balancesOf(userId));
    },
    queryMarketData(q) {
      if (!open) return Promise.reject(new CoreLinkError('link.closed', 'the core client is closed'));
      if (marketData === undefined)
        return Promise.reject(new CoreLinkError('link.unavailable', NO_MARKET_DATA));
      // A builder that throws or rejects (a trade store that is down) cannot answer now.
      return Promise.resolve()
        .then(() => marketData.query(q))
        .catch((e: unknown) => {
          throw new CoreLinkError('link.unavailable', `the market data query failed: ${errorText(e)}`);
        });
    },
    onStatus(cb) {
      status.add(cb);
      return () => status.delete(cb);
    },
    onResync() {
      return () => {};
    },
    close() {
      if (!open) return Promise.resolve();
      open = false;
      for (const off of [...unsubscribes]) off();
      for (const cb of [...status]) cb(false);
      return Promise.resolve();
    },
  };
}

/** The Core's errors as link errors: refused before sending (busy, bad record) or unknown after. */
function asLinkError(e: unknown): CoreLinkError {
  if (e instanceof CoreLinkError) return e;
  if (e instanceof CoreBusyError) return new CoreLinkError('link.busy', `the core is busy: ${e.message}`);
  if (e instanceof RecordError) return new CoreLinkError('link.invalid_command', e.message);
  const message = errorText(e);
  return new CoreLinkError(
    'link.status_unknown',
    `the core failed after the command was sent: ${message}`,
    true,
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
