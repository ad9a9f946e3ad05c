/**
 * The fan-out benchmark's floor: a bare uWebSockets.js server (the native package the gateway
 * runs on) serving `/stream?streams=a/b/c` the way the gateway serves combined connections
 * (one uWS topic per stream, `c:<stream>`, the same per-socket limits), with nothing behind it:
 * no bus, no builder, no engine. The driver hands it the schedule the platform published in
 * the real run (per message: time offset, stream, payload size) and it publishes the same
 * number of messages of the same sizes on the same streams at the same moments, each a JSON
 * payload with the fields the clients read (trade `t` + 1 each, depth `U` = previous `u` + 1,
 * ticker `E` increasing), padded to the recorded size. Each message is reported to the driver
 * as a record with two stamps: its reference, the moment it was due (the schedule's), and the
 * moment it was published, so the clients measure its delay exactly as they do on the
 * platform: from the moment the message came to be (on the platform, the core's release of
 * the trade or the builder's publish on the bus) to its receipt, whatever the server's event
 * loop was busy with at that moment (a timer that fires late because a publish is draining to
 * the sockets is the floor's delay as much as a bus message read late is the gateway's).
 * Run as a child of fanout.bench.ts; prints `ready <port>`.
 */

import uWS from 'uWebSockets.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  combinedBytes,
  eventLoopDelay,
  type FromServer,
  KIND_DEPTH,
  KIND_TRADE,
  memoryReport,
  monoMicros,
  STREAMS,
  STREAMS_PER_SYMBOL,
  SYMBOLS,
  type ToServer,
} from './fanout-common.ts';

const send = (m: FromServer): void => {
  process.send?.(m);
};

const byName = new Map(STREAMS.map((s, i) => [s, i]));
const topics = STREAMS.map((s) => `c:${s}`);

interface Conn {
  readonly streams: number[];
}

const app = uWS.App();
app.ws<Conn>('/stream', {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 512 * 1024,
  closeOnBackpressureLimit: 1,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  maxLifetime: 0,
  upgrade: (res, req, context) => {
    const query = req.getQuery() ?? '';
    const m = /(?:^|&)streams=([^&]*)/.exec(query);
    const names = m === null ? [] : decodeURIComponent(m[1]!).split('/');
    const streams: number[] = [];
    for (const n of names) {
      const s = byName.get(n);
      if (s !== undefined) streams.push(s);
    }
    res.upgrade<Conn>(
      { streams },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    for (const s of ws.getUserData().streams) ws.subscribe(topics[s]!);
  },
});

// --- the replay --------------------------------------------------------------------------------

const lastId = STREAMS.map(() => 0);
const pads = new Map<number, string>();
const pad = (n: number): string => {
  let p = pads.get(n);
  if (p === undefined) {
    p = 'x'.repeat(n);
    pads.set(n, p);
  }
  return p;
};

/** A message on stream `s` of `payloadBytes` (as the platform's payload: the combined frame is larger). */
function message(s: number, payloadBytes: number): { id: number; text: string } {
  const kind = s % STREAMS_PER_SYMBOL;
  const symbol = SYMBOLS[(s - kind) / STREAMS_PER_SYMBOL]!;
  let head: string;
  let id: number;
  if (kind === KIND_TRADE) {
    id = ++lastId[s]!;
    head = `{"e":"trade","E":${Date.now()},"s":"${symbol}","t":${id}`;
  } else if (kind === KIND_DEPTH) {
    id = ++lastId[s]!;
    head = `{"e":"depthUpdate","E":${Date.now()},"s":"${symbol}","U":${id},"u":${id}`;
  } else {
    id = ++lastId[s]!;
    head = `{"e":"24hrTicker","E":${id},"s":"${symbol}"`;
  }
  const fill = payloadBytes - head.length - ',"z":""}'.length;
  const data = fill >= 0 ? `${head},"z":"${pad(fill)}"}` : `${head}}`;
  return { id, text: `{"stream":"${STREAMS[s]}","data":${data}}` };
}

let records: number[] = [];
setInterval(() => {
  if (records.length === 0) return;
  send({ type: 'records', r: records });
  records = [];
}, 20);

function replay(startAt: number, entries: number[]): void {
  let i = 0;
  let published = 0;
  let late = 0;
  const tick = (): void => {
    const now = monoMicros();
    while (i < entries.length && startAt + entries[i]! <= now) {
      const s = entries[i + 1]!;
      const bytes = entries[i + 2]!;
      const lateBy = now - (startAt + entries[i]!);
      if (lateBy > late) late = lateBy;
      const m = message(s, bytes);
      const at = monoMicros();
      app.publish(topics[s]!, m.text, false);
      records.push(s, m.id, at, startAt + entries[i]!, bytes);
      if (m.text.length !== combinedBytes(s, bytes) && published === 0)
        process.stderr.write(
          `fanout-floor: a message of ${m.text.length} bytes instead of ${combinedBytes(s, bytes)}\n`,
        );
      published++;
      i += 3;
    }
    if (i >= entries.length) {
      send({ type: 'replayed', published, lateMicros: Math.round(late) });
      return;
    }
    setTimeout(tick, Math.max(0, (startAt + entries[i]! - monoMicros()) / 1000));
  };
  setTimeout(tick, Math.max(0, (startAt - monoMicros()) / 1000));
}

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();

process.on('message', (m: ToServer) => {
  switch (m.type) {
    case 'mark':
      eld.reset();
      return;
    case 'eld':
      send({ type: 'eld', ...eventLoopDelay(eld) });
      return;
    case 'replay':
      replay(m.startAt, m.entries);
      return;
    case 'mem':
      send(memoryReport());
      return;
    case 'stats':
      send({ type: 'stats', stats: {} });
      return;
    default:
      return;
  }
});
process.on('SIGTERM', () => process.exit(0));

app.listen('127.0.0.1', 0, (socket) => {
  if (socket === false) {
    process.stderr.write('fanout-floor: cannot listen\n');
    process.exit(1);
  }
  const port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
  process.stdout.write(`ready ${port}\n`);
  send({ type: 'ready', port });
});
