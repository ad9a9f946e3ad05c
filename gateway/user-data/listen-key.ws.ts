/**
 * `/ws/<listenKey>`: one user's events as bare payloads, the way Binance's older user data
 * streams carry them (`?timeUnit=MICROSECOND` for microsecond times).
 *
 * `/ws/<name>` is shared with the market data streams, so this file exports the pieces of a
 * uWS behaviour (upgrade, open, message, close) that a single `/ws/*` dispatcher in front of
 * both calls for listen keys (`isListenKey(name)`), and `registerUserDataWs` for a gateway
 * (tests, or a platform without market data) that serves listen keys alone on `/ws/*`.
 *
 * A name that is no valid listen key (unknown, expired, or not a listen key at all) is
 * upgraded and then closed at once with 1008 and a reason, a clean WebSocket close that
 * every client reports, rather than an HTTP error some clients only show as "unexpected
 * response".
 */

import type uWS from 'uWebSockets.js';
import type { pino } from 'pino';
import { parseTimeUnit, responseTime, type TimeUnit } from '../auth/time-unit.ts';
import type { BinanceApiError } from '../binance/errors.ts';
import { isListenKey, type ListenKeys } from './listen-keys.ts';
import type { UserDataHub } from './user-data-hub.ts';

/** Per-connection state of a listen-key stream (uWS user data). */
export interface ListenKeyConnection {
  readonly kind: 'listenKey';
  /** The name after `/ws/` as the client sent it. */
  readonly listenKey: string;
  readonly timeUnit: TimeUnit;
  closed: boolean;
  /** Detaches from the key and unsubscribes from the hub. */
  release: (() => void) | undefined;
}

/** What the listen-key streams need. */
export interface ListenKeyWsDeps {
  readonly hub: UserDataHub;
  readonly listenKeys: ListenKeys;
  readonly logger?: pino.Logger;
}

/** The pieces of a `/ws/*` behaviour that serve listen keys. */
export interface ListenKeyWs {
  /** Upgrades the request for `name` (what follows `/ws/`); answers 400 for a bad `timeUnit`. */
  upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t, name: string): void;
  open(ws: uWS.WebSocket<ListenKeyConnection>): void;
  message(ws: uWS.WebSocket<ListenKeyConnection>, message: ArrayBuffer, isBinary: boolean): void;
  close(ws: uWS.WebSocket<ListenKeyConnection>, code: number, message: ArrayBuffer): void;
  /** True for the user data of a connection this piece upgraded (for a dispatcher's open/message/close). */
  owns(userData: unknown): userData is ListenKeyConnection;
}

/** WebSocket settings for user data connections (`/ws/*` and the WebSocket API). */
export const USER_DATA_WS_SETTINGS = {
  /** Requests are small; a larger frame closes the connection (uWS). */
  maxPayloadLength: 64 * 1024,
  /** Binance pings every 20 s and drops a connection silent for a minute. */
  idleTimeout: 60,
  sendPingsAutomatically: true,
  /** A client this far behind is closed rather than skipped: a user stream must not have gaps. */
  maxBackpressure: 4 * 1024 * 1024,
  // The typings say number; the native module reads it as a boolean.
  closeOnBackpressureLimit: 1,
} as const;

/** WebSocket close code for a stream that does not exist (policy violation). */
export const CLOSE_UNKNOWN_STREAM = 1008;
/** WebSocket close code for a subscriber the hub had to drop (try again later). */
export const CLOSE_TRY_AGAIN = 1013;

/** Copies what an upgrade needs out of uWS and upgrades (uWS invalidates `req` on return). */
export function upgradeWith<T>(
  res: uWS.HttpResponse,
  req: uWS.HttpRequest,
  context: uWS.us_socket_context_t,
  data: T,
): void {
  res.upgrade<T>(
    data,
    req.getHeader('sec-websocket-key'),
    req.getHeader('sec-websocket-protocol'),
    req.getHeader('sec-websocket-extensions'),
    context,
  );
}

/** Refuses an upgrade with a JSON error body. */
export function refuseUpgrade(res: uWS.HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res
      .writeStatus(status)
      .writeHeader('Content-Type', 'application/json;charset=UTF-8')
      .end(JSON.stringify(body));
  });
}

/** The value of `name` in a raw query string (undefined when absent or not decodable). */
export function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k !== name) continue;
    try {
      return decodeURIComponent((eq < 0 ? '' : part.slice(eq + 1)).replaceAll('+', ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Sends text unless the connection has closed (uWS throws on a closed socket). */
function sendText(ws: uWS.WebSocket<ListenKeyConnection>, text: string): void {
  if (ws.getUserData().closed) return;
  ws.send(text, false);
}

/** Closes the connection unless it already has. */
function end(ws: uWS.WebSocket<ListenKeyConnection>, code: number, reason: string): void {
  const data = ws.getUserData();
  if (data.closed) return;
  data.closed = true;
  data.release?.();
  data.release = undefined;
  ws.end(code, reason);
}

/** The listen-key pieces of a `/ws/*` behaviour (see the file header). */
export function listenKeyWs(deps: ListenKeyWsDeps): ListenKeyWs {
  const { hub, listenKeys, logger } = deps;
  return {
    upgrade(res, req, context, name) {
      let timeUnit: TimeUnit;
      try {
        timeUnit = parseTimeUnit(queryParam(req.getQuery() ?? '', 'timeUnit'));
      } catch (e) {
        const err = e as BinanceApiError;
        refuseUpgrade(res, '400 Bad Request', { code: err.code, msg: err.message });
        return;
      }
      const data: ListenKeyConnection = {
        kind: 'listenKey',
        listenKey: name,
        timeUnit,
        closed: false,
        release: undefined,
      };
      upgradeWith(res, req, context, data);
    },

    open(ws) {
      const data = ws.getUserData();
      const userId = isListenKey(data.listenKey) ? listenKeys.owner(data.listenKey) : undefined;
      if (userId === undefined) {
        end(
          ws,
          CLOSE_UNKNOWN_STREAM,
          isListenKey(data.listenKey) ? 'This listenKey does not exist.' : 'Unknown stream.',
        );
        return;
      }
      const detach = listenKeys.attach(data.listenKey, {
        expired: (nowMicros) => {
          sendText(
            ws,
            JSON.stringify({
              e: 'listenKeyExpired',
              E: String(responseTime(nowMicros, data.timeUnit)),
              listenKey: data.listenKey,
            }),
          );
          end(ws, 1000, 'listenKey expired');
        },
        closed: () => end(ws, 1000, 'listenKey closed'),
      });
      const unsubscribe = hub.subscribe(userId, (payload) => sendText(ws, JSON.stringify(payload)), {
        timeUnit: data.timeUnit,
        onDropped: () => end(ws, CLOSE_TRY_AGAIN, 'User data stream interrupted; reconnect.'),
      });
      data.release = () => {
        detach?.();
        unsubscribe();
      };
      logger?.debug({ userId }, 'listen key stream opened');
    },

    message(ws, message) {
      // The stream carries one user's events; the only request it answers is
      // LIST_SUBSCRIPTIONS, as Binance's stream does. Market streams need their own connection.
      const data = ws.getUserData();
      let id: unknown = null;
      let method: unknown;
      try {
        const req = JSON.parse(Buffer.from(message).toString('utf8')) as unknown;
        if (typeof req === 'object' && req !== null && !Array.isArray(req)) {
          const r = req as Record<string, unknown>;
          id = typeof r.id === 'number' || typeof r.id === 'string' ? r.id : null;
          method = r.method;
        }
      } catch {
        sendText(ws, JSON.stringify({ error: { code: 3, msg: 'Invalid JSON' }, id: null }));
        return;
      }
      if (method === 'LIST_SUBSCRIPTIONS') {
        sendText(ws, JSON.stringify({ result: [data.listenKey], id }));
        return;
      }
      sendText(
        ws,
        JSON.stringify({
          error: {
            code: 2,
            msg: 'Invalid request: this connection carries a user data stream; subscribe to market streams on another connection',
          },
          id,
        }),
      );
    },

    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      data.release?.();
      data.release = undefined;
    },

    owns(userData): userData is ListenKeyConnection {
      return (
        typeof userData === 'object' &&
        userData !== null &&
        (userData as { kind?: unknown }).kind === 'listenKey'
      );
    },
  };
}

/**
 * Registers `/ws/*` for listen keys alone (every other name closes with 1008). A platform
 * that also serves market data on `/ws/*` registers one dispatcher instead (docs/GATEWAY.md).
 * Call before clients connect.
 */
export function registerUserDataWs(app: uWS.TemplatedApp, deps: ListenKeyWsDeps): ListenKeyWs {
  const pieces = listenKeyWs(deps);
  app.ws<ListenKeyConnection>('/ws/*', {
    ...USER_DATA_WS_SETTINGS,
    upgrade: (res, req, context) => pieces.upgrade(res, req, context, req.getUrl().slice('/ws/'.length)),
    open: (ws) => pieces.open(ws),
    message: (ws, message, isBinary) => pieces.message(ws, message, isBinary),
    close: (ws, code, message) => pieces.close(ws, code, message),
  });
  return pieces;
}
