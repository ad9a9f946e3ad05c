/**
 * The core link end to end, on real sockets against a real Core: gateways submit, read
 * balances and follow the event stream over TCP; connections die, stall, stop reading or
 * send garbage, and the core and the other gateways carry on; a gateway resumes without a
 * gap or a duplicate, or is told about the gap when the core no longer holds it.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import {
  type CommandInput,
  type Core,
  CoreBusyError,
  type EngineEvent,
  RECORD_BYTES,
  RecordError,
  RecordViews,
  userId,
} from '../../engine/index.ts';
import { CoreLinkError, type LocalCore, localCoreClient } from '../../platform/link/core-client.ts';
import { connectCoreLink, type LinkCoreClient } from '../../platform/link/link-client.ts';
import {
  decodeFrame,
  encodeEvents,
  encodeHello,
  encodePing,
  encodeSubmit,
  encodeSubscribe,
  encodeSubscribed,
  encodeWelcome,
  FailCode,
  FrameReader,
  GoodbyeCode,
  LINK_PROTOCOL_VERSION,
  type LinkFrame,
} from '../../platform/link/link-protocol.ts';
import {
  type CoreLinkServer,
  type CoreLinkServerOptions,
  serveCoreLink,
} from '../../platform/link/link-server.ts';
import {
  closed,
  fundings,
  LinkProxy,
  MARKETS_FILE,
  orders,
  rawConnect,
  received,
  removeTempDirs,
  StreamRecorder,
  sendAll,
  startCore,
  TOKEN,
  until,
} from './link-helpers.ts';

/** A link server on an ephemeral port whose log lines are kept for the test to read. */
async function serve(
  core: Core,
  options: Partial<CoreLinkServerOptions> = {},
): Promise<{ server: CoreLinkServer; logs: string[] }> {
  const logs: string[] = [];
  const server = await serveCoreLink(core, {
    port: 0,
    token: TOKEN,
    marketsFile: MARKETS_FILE,
    log: (m) => logs.push(m),
    ...options,
  });
  return { server, logs };
}

/** A gateway's client with a recorder on its stream and its log lines kept. */
async function gateway(
  port: number,
  extra: { reconnectMinMs?: number; reconnectMaxMs?: number; submitTimeoutMs?: number } = {},
): Promise<{ client: LinkCoreClient; stream: StreamRecorder; logs: string[] }> {
  const logs: string[] = [];
  const client = await connectCoreLink({
    host: '127.0.0.1',
    port,
    token: TOKEN,
    reconnectMinMs: 10,
    reconnectMaxMs: 50,
    log: (m) => logs.push(m),
    ...extra,
  });
  const stream = new StreamRecorder();
  client.onEvents(stream.listener);
  return { client, stream, logs };
}

/** Every frame in a byte string received on a raw socket. */
function framesOf(bytes: Buffer): LinkFrame[] {
  const out: LinkFrame[] = [];
  new FrameReader(1 << 26).push(bytes, (f) => out.push(decodeFrame(f)));
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('core link', () => {
  // One core serves most tests, and two twins (pinned clocks) the in-process comparison; the
  // shutdown test then closes one of them. They start together and are warmed with an order each: a shard worker takes seconds to boot
  // under tsx, paid once here rather than in every test.
  const clock = (): number => 1_750_000_000_000_000;
  let core: Core;
  let localTwin: Core;
  let remoteTwin: Core;
  const warmUp = [...fundings(3), ...orders(1, 99, 3)];
  before(async function () {
    this.timeout(60_000);
    [core, localTwin, remoteTwin] = await Promise.all([
      startCore(),
      startCore({ clock }),
      startCore({ clock }),
    ]);
    const all = [core, localTwin, remoteTwin];
    await Promise.all(all.map((c) => Promise.all(warmUp.map((x) => c.submit(x)))));
  });
  after(async () => {
    await Promise.all([core.close(), localTwin.close(), remoteTwin.close()]);
    removeTempDirs();
  });

  describe('two gateways against one core', () => {
    let server: CoreLinkServer;
    let a: Awaited<ReturnType<typeof gateway>>;
    let b: Awaited<ReturnType<typeof gateway>>;
    const released = new StreamRecorder();
    let repliesA: EngineEvent[][] = [];
    let repliesB: EngineEvent[][] = [];
    let firstSeq = 0;

    before(async () => {
      core.onEvents(released.listener);
      firstSeq = core.lastSeq + 1;
      ({ server } = await serve(core));
      a = await gateway(server.port);
      b = await gateway(server.port);
      await Promise.all(fundings(4, 100).map((c) => a.client.submit(c)));
      // Both gateways at once: their commands interleave in the core.
      [repliesA, repliesB] = await Promise.all([
        Promise.all(orders(300, 1).map((c) => a.client.submit(c))),
        Promise.all(orders(300, 2).map((c) => b.client.submit(c))),
      ]);
      await until(
        () => a.stream.lastSeq === core.lastSeq && b.stream.lastSeq === core.lastSeq,
        'both streams to reach the core',
      );
    });
    after(async () => {
      await a.client.close();
      await b.client.close();
      await server.close();
    });

    it('gives both gateways the full event stream, identical to what the core released, in order', () => {
      assert.equal(core.lastSeq, firstSeq - 1 + 12 + 600);
      assert.ok(released.records > 1200, 'the workload trades');
      assert.ok(released.bytes().equals(a.stream.bytes()), 'gateway A saw exactly the released stream');
      assert.ok(released.bytes().equals(b.stream.bytes()), 'gateway B saw exactly the released stream');
      const seqs = a.stream.seqs();
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! >= seqs[i - 1]!, 'in seq order');
      assert.deepEqual(
        [...new Set(seqs)],
        Array.from({ length: 612 }, (_, i) => firstSeq + i),
      );
    });

    it('answers each submit with exactly the events the core released for its command', () => {
      const bySeq = new Map<number, Buffer[]>();
      const v = new RecordViews(new Uint8Array(released.bytes()).buffer);
      const all = released.seqs();
      all.forEach((seq, i) => {
        const list = bySeq.get(seq) ?? [];
        list.push(Buffer.from(v.u8.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES)));
        bySeq.set(seq, list);
      });
      const trades = [...repliesA, ...repliesB].flat().filter((e) => e.kind === 'TradeExecuted').length;
      assert.ok(trades > 50, `the replies carry trades (${trades})`);
      for (const events of [...repliesA, ...repliesB]) {
        const seq = events[0]!.seq;
        assert.ok(events.every((e) => e.seq === seq));
        assert.equal(events.length, bySeq.get(seq)!.length);
      }
    });

    it("returns a user's balances as the core holds them", async () => {
      for (const u of [0, 1, 2, 3, 4]) assert.deepEqual(await b.client.balancesOf(u), core.balancesOf(u));
      assert.deepEqual(await a.client.balancesOf(999), []);
      const locked = (await a.client.balancesOf(1)).some((x) => x.locked > 0);
      assert.ok(locked, 'resting orders hold funds');
    });

    it('refuses a user id that is not a non-negative safe integer, without asking the core', async () => {
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
        await assert.rejects(
          a.client.balancesOf(bad),
          (e: CoreLinkError) => e.code === 'link.invalid_request',
        );
      }
    });

    it('refuses a command that cannot be encoded, before sending it', async () => {
      const badId = { ...orders(1, 9)[0]!, clientOrderId: 'not allowed!' } as CommandInput;
      const unknown = { kind: 'LaunchRocket', userId: userId(1) } as unknown as CommandInput;
      for (const [bad, message] of [
        [badId, /not a client order id Binance allows/],
        [unknown, /the command is malformed/],
      ] as const) {
        await assert.rejects(
          a.client.submit(bad),
          (e: CoreLinkError) =>
            e.code === 'link.invalid_command' && !e.statusUnknown && message.test(e.message),
        );
      }
      assert.equal(a.client.connected, true);
    });

    it('builds the same markets on the gateway as the core runs', () => {
      assert.deepEqual(a.client.markets.list, core.markets.list);
      assert.deepEqual([...a.client.markets.assets], [...core.markets.assets]);
    });
  });

  it('answers submits over the link with the same events as core.submit gives in process', async () => {
    const local = localCoreClient(localTwin);
    const { server } = await serve(remoteTwin);
    const remote = await gateway(server.port);
    try {
      const script = [...fundings(3), ...orders(200, 7, 3)];
      const viaLocal = await Promise.all(script.map((c) => local.submit(c)));
      const viaLink = await Promise.all(script.map((c) => remote.client.submit(c)));
      assert.deepEqual(viaLink, viaLocal);
      assert.ok(viaLink.flat().some((e) => e.kind === 'TradeExecuted'));
    } finally {
      await remote.client.close();
      await local.close();
      await server.close();
    }
  });

  describe('handshake', () => {
    let server: CoreLinkServer;
    let logs: string[];
    before(async () => {
      ({ server, logs } = await serve(core));
    });
    after(async () => {
      await server.close();
    });

    it('refuses a wrong token, closes the socket and logs it without the token', async () => {
      const wrong = 'wrong-token-wrong-token-wrong-token';
      const clientLogs: string[] = [];
      await assert.rejects(
        connectCoreLink({
          host: '127.0.0.1',
          port: server.port,
          token: wrong,
          log: (m) => clientLogs.push(m),
        }),
        (e: CoreLinkError) => e.code === 'link.refused' && /token is not valid/.test(e.message),
      );
      await until(() => logs.some((l) => /token is not valid/.test(l)), 'the refusal in the log');
      assert.ok(!logs.join('\n').includes(wrong) && !logs.join('\n').includes(TOKEN), 'no token in the logs');
      await until(() => server.connections === 0, 'the refused socket to close');
    });

    it('refuses a protocol version it does not speak', async () => {
      const socket = await rawConnect(server.port);
      const bytes = received(socket);
      socket.write(encodeHello(TOKEN, LINK_PROTOCOL_VERSION + 1));
      await closed(socket);
      const [goodbye] = framesOf(bytes());
      assert.equal(goodbye?.type, 'Goodbye');
      assert.equal(goodbye.type === 'Goodbye' && goodbye.code, GoodbyeCode.BadVersion);
      const unknown = new RegExp(`protocol version ${LINK_PROTOCOL_VERSION + 1} is not spoken here`);
      assert.ok(logs.some((l) => unknown.test(l)));
    });

    it('refuses to start with a token shorter than 16 bytes, or to connect to no port', async () => {
      await assert.rejects(serve(core, { token: 'short' }), (e: CoreLinkError) => e.code === 'link.config');
      await assert.rejects(
        connectCoreLink({ host: '127.0.0.1', port: 0, token: TOKEN }),
        (e: CoreLinkError) => e.code === 'link.config',
      );
    });

    it('gives up connecting after connectTimeoutMs when nothing listens', async () => {
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      await new Promise((r) => probe.close(r));
      await assert.rejects(
        connectCoreLink({ host: '127.0.0.1', port, token: TOKEN, connectTimeoutMs: 300, log: () => {} }),
        (e: CoreLinkError) => e.code === 'link.unreachable' && /ECONNREFUSED/.test(e.message),
      );
    });
  });

  describe('bad peers', () => {
    let server: CoreLinkServer;
    let logs: string[];
    before(async () => {
      ({ server, logs } = await serve(core, { heartbeatMs: 50, deadAfterMs: 300 }));
    });
    after(async () => {
      await server.close();
    });

    /** The server still serves a well-behaved gateway. */
    async function stillServes(): Promise<void> {
      const g = await gateway(server.port);
      const [events] = await Promise.all([g.client.submit(fundings(1, 1000 + core.lastSeq)[0]!)]);
      assert.equal(events?.[0]?.kind, 'FundsDeposited');
      await g.client.close();
    }

    it('closes a connection that sends an oversized length, logs it, and keeps serving', async () => {
      const socket = await rawConnect(server.port);
      socket.write(Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8]));
      await closed(socket);
      assert.ok(logs.some((l) => /frame length 2147483647 is outside 8\.\.65536 bytes/.test(l)));
      await stillServes();
    });

    it('closes a connection that sends a frame of an unknown type after the handshake', async () => {
      const socket = await rawConnect(server.port);
      const bytes = received(socket);
      const junk = Buffer.alloc(16, 0xab);
      junk.writeUInt32LE(16, 0);
      junk[4] = 99;
      socket.write(Buffer.concat([encodeHello(TOKEN), junk]));
      await closed(socket);
      const frames = framesOf(bytes());
      assert.deepEqual(
        frames.map((f) => f.type),
        ['Welcome', 'Goodbye'],
      );
      assert.equal(frames[1]?.type === 'Goodbye' && frames[1].code, GoodbyeCode.ProtocolError);
      assert.ok(logs.some((l) => /unknown frame type 99/.test(l)));
      await stillServes();
    });

    it('closes a connection whose first frame is not HELLO', async () => {
      const socket = await rawConnect(server.port);
      socket.write(encodeSubscribe(-1));
      await closed(socket);
      assert.ok(logs.some((l) => /expected HELLO first, got Subscribe/.test(l)));
    });

    it('closes a connection whose length is below the header, and one cut off mid-frame then silent', async () => {
      const short = await rawConnect(server.port);
      short.write(Buffer.from([3, 0, 0, 0, 1]));
      await closed(short);
      assert.ok(logs.some((l) => /frame length 3 is outside/.test(l)));
      const half = await rawConnect(server.port);
      half.write(encodeHello(TOKEN).subarray(0, 10));
      await closed(half);
      assert.ok(logs.some((l) => /nothing heard for \d+ ms/.test(l)));
      await stillServes();
    });

    it('answers a command record it cannot decode with FAILED and keeps the connection', async () => {
      const socket = await rawConnect(server.port);
      const bytes = received(socket);
      const record = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      record.u8[0] = 200; // no such command kind
      socket.write(Buffer.concat([encodeHello(TOKEN), encodeSubmit(7, record, 0), encodePing('Ping', 42)]));
      await until(() => framesOf(bytes()).length === 3, 'three answers');
      const [, failed, pong] = framesOf(bytes());
      assert.deepEqual(failed, {
        type: 'Failed',
        requestId: 7,
        code: FailCode.InvalidCommand,
        reason: 'the command is not valid: record 0: unknown command kind 200',
      });
      assert.deepEqual(pong, { type: 'Pong', nonce: 42 });
      socket.destroy();
    });

    it('closes a connection that goes silent after the handshake (a dead peer) within the dead-after time', async () => {
      const socket = await rawConnect(server.port);
      socket.write(encodeHello(TOKEN));
      await closed(socket);
      assert.ok(logs.some((l) => /closed: nothing heard for \d+ ms/.test(l)));
      await until(() => server.connections === 0, 'the server to forget the connection');
    });
  });

  describe('reconnecting', () => {
    let server: CoreLinkServer;
    let logs: string[];
    let proxy: LinkProxy;
    const released = new StreamRecorder();
    before(async () => {
      core.onEvents(released.listener);
      // Tiny frames: connections die in the middle of a command's events.
      ({ server, logs } = await serve(core, { maxRecordsPerFrame: 3, heartbeatMs: 50, deadAfterMs: 400 }));
      proxy = await LinkProxy.start(server.port);
      await sendAll(core, fundings(4, 200));
    });
    after(async () => {
      await proxy.close();
      await server.close();
    });

    it('resumes after its connection is killed, again and again, with no gap and no duplicate', async () => {
      const g = await gateway(proxy.port);
      const ups: boolean[] = [];
      g.client.onStatus((up) => ups.push(up));
      const gaps: unknown[] = [];
      g.client.onResync((gap) => gaps.push(gap));
      const from = core.lastSeq;
      const before = released.records;
      let producing = true;
      const producer = (async () => {
        for (let k = 0; k < 6; k++) await sendAll(core, orders(400, 100 + k));
        producing = false;
      })();
      let cuts = 0;
      while (producing || cuts < 4) {
        await sleep(20);
        proxy.cut();
        cuts++;
        await until(() => !g.client.connected, 'the gateway to see the cut');
        await until(() => g.client.connected, 'the gateway to reconnect');
      }
      await producer;
      await until(() => g.client.lastSeq === core.lastSeq, 'the gateway to catch up');
      const expected = released.bytes().subarray(before * RECORD_BYTES);
      assert.ok(g.stream.seqs()[0]! > from);
      assert.equal(g.stream.records, expected.length / RECORD_BYTES, 'as many events as released');
      assert.ok(g.stream.bytes().equals(expected), 'exactly the released events, in order');
      assert.deepEqual(gaps, []);
      assert.equal(ups.filter((u) => !u).length, cuts, 'the status went down at each cut');
      assert.equal(ups.at(-1), true);
      await g.client.close();
    });

    it('fails a submit in flight when its connection dies: sent, status unknown', async () => {
      const g = await gateway(proxy.port);
      proxy.stall(true);
      const pending = g.client.submit(orders(1, 77)[0]!);
      await sleep(20);
      proxy.cut();
      proxy.stall(false);
      await assert.rejects(
        pending,
        (e: CoreLinkError) =>
          e.code === 'link.status_unknown' &&
          e.statusUnknown &&
          /may or may not have been applied/.test(e.message),
      );
      await until(() => g.client.connected, 'the gateway to reconnect');
      await g.client.close();
    });

    it('notices a stalled link (no traffic) within the dead-after time and reconnects once it flows again', async () => {
      const g = await gateway(proxy.port);
      proxy.stall(true);
      await until(() => !g.client.connected, 'the gateway to notice the stalled link', 5000);
      assert.ok(g.logs.some((l) => /nothing heard from the core/.test(l)));
      proxy.stall(false);
      await until(() => g.client.connected, 'the gateway to reconnect');
      const events = await g.client.submit(fundings(1, 5000)[0]!);
      assert.equal(events[0]?.kind, 'FundsDeposited');
      await g.client.close();
    });

    it('tells a gateway about the gap when the core no longer holds the events after its last seq', async () => {
      const { server: small, logs: smallLogs } = await serve(core, { ringRecords: 64 });
      const smallProxy = await LinkProxy.start(small.port);
      try {
        const g = await gateway(smallProxy.port);
        const gaps: { afterSeq: number; resumedAfterSeq: number }[] = [];
        g.client.onResync((gap) => gaps.push(gap));
        await sendAll(core, orders(20, 300));
        await until(() => g.client.lastSeq === core.lastSeq, 'the gateway to follow');
        const last = g.client.lastSeq;
        const seen = g.stream.records;
        smallProxy.refusing = true;
        smallProxy.cut();
        await until(() => !g.client.connected, 'the gateway to see the cut');
        await sendAll(core, orders(200, 301));
        const missedUpTo = core.lastSeq;
        smallProxy.refusing = false;
        await until(() => g.client.connected, 'the gateway to reconnect');
        await sendAll(core, orders(20, 302));
        await until(() => g.client.lastSeq === core.lastSeq, 'the gateway to follow again');
        assert.deepEqual(gaps, [{ afterSeq: last, resumedAfterSeq: missedUpTo }]);
        assert.ok(
          smallLogs.some((l) => new RegExp(`events after seq ${last}, which are no longer held`).test(l)),
        );
        // After the gap: exactly the events of the commands after it.
        const after = g.stream.seqs().slice(seen);
        assert.ok(after.length > 0 && after.every((s) => s > missedUpTo));
        assert.deepEqual(
          [...new Set(after)],
          Array.from({ length: 20 }, (_, i) => missedUpTo + 1 + i),
        );
        await g.client.close();
      } finally {
        await smallProxy.close();
        await small.close();
      }
    });

    it('logs nothing alarming on the server for a gateway that simply reconnects', () => {
      assert.ok(!logs.some((l) => /failed/.test(l)), logs.join('\n'));
    });
  });

  it('resumes in the middle of a command: the events already delivered are not delivered again', async () => {
    // A scripted core side: the first connection sends 2 of a command's 3 events and dies;
    // the second must be asked for the events after the last complete command.
    const record = (seq: number, last: boolean, n: number): Buffer => {
      const v = new RecordViews(new ArrayBuffer(RECORD_BYTES));
      v.u8[0] = 10;
      v.f64[2] = seq;
      v.f64[3] = n; // tells the records apart
      if (last) v.u8[6] = 2;
      return Buffer.from(v.u8);
    };
    const r5 = record(5, true, 0);
    const r6 = [record(6, false, 1), record(6, false, 2), record(6, true, 3)];
    const r7 = record(7, true, 4);
    const subscribes: number[] = [];
    let connection = 0;
    const fake = createServer((socket: Socket) => {
      const n = ++connection;
      new FrameReaderOn(socket, (f) => {
        if (f.type === 'Hello')
          socket.write(
            encodeWelcome({
              version: LINK_PROTOCOL_VERSION,
              heartbeatMs: 1000,
              deadAfterMs: 5000,
              releasedSeq: 4,
              marketsJson: JSON.stringify(MARKETS_FILE),
            }),
          );
        if (f.type !== 'Subscribe') return;
        subscribes.push(f.afterSeq);
        if (n === 1) {
          socket.write(
            Buffer.concat([encodeSubscribed(4), encodeEvents(Buffer.concat([r5, r6[0]!, r6[1]!]))]),
          );
          setTimeout(() => socket.destroy(), 50);
        } else {
          socket.write(
            Buffer.concat([encodeSubscribed(f.afterSeq), encodeEvents(Buffer.concat([...r6, r7]))]),
          );
        }
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const address = fake.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const g = await gateway(port);
    try {
      await until(() => g.stream.records === 5, 'five distinct records');
      await sleep(50);
      assert.deepEqual(subscribes, [4, 5]);
      assert.ok(g.stream.bytes().equals(Buffer.concat([r5, ...r6, r7])));
      assert.equal(g.client.lastSeq, 7);
    } finally {
      await g.client.close();
      await new Promise((r) => fake.close(r));
    }
  });

  it('cuts off a gateway that stops reading, while the core and the other gateways keep going', async () => {
    const released = new StreamRecorder();
    const off = core.onEvents(released.listener);
    const { server, logs } = await serve(core, { maxBufferedBytes: 1 << 20, ringRecords: 65_536 });
    const healthy = await gateway(server.port);
    const stuck = await rawConnect(server.port);
    stuck.write(Buffer.concat([encodeHello(TOKEN), encodeSubscribe(-1)]));
    stuck.pause(); // reads nothing from now on: the kernel buffers fill, then the server's
    // A peer that reads nothing does not even see its socket close: the server's side tells.
    const cutOff = (): boolean =>
      logs.some((l) => /^connection 2 .* cut off: \d+ event records behind/.test(l));
    try {
      await until(() => server.connections === 2, 'both connections');
      const from = core.lastSeq;
      let sent = 0;
      for (let round = 0; round < 100 && !cutOff(); round++) {
        const batch: CommandInput[] = [];
        for (let i = 0; i < 5000; i++) {
          batch.push({
            kind: 'Deposit',
            userId: userId(1 + (i % 50)),
            assetId: 2,
            amountUnits: 1,
            refId: ++sent,
          });
        }
        await sendAll(core, batch);
        await sleep(1);
      }
      assert.ok(cutOff(), 'the stuck gateway was cut off');
      await until(() => server.connections === 1, 'the server to drop the stuck connection');
      assert.equal(core.lastSeq, from + sent, 'the core took every command');
      await until(() => healthy.stream.lastSeq === core.lastSeq, 'the healthy gateway to keep up');
      assert.ok(healthy.stream.bytes().equals(released.bytes()), 'the healthy gateway saw every event');
    } finally {
      off();
      stuck.destroy();
      await healthy.client.close();
      await server.close();
    }
  });

  it('on shutdown (link, then core) fails what was sent and not answered, and gateways see the link down', async () => {
    // The twins' last use: this test closes one (mocha runs a file's tests in order).
    const spare = remoteTwin;
    const { server } = await serve(spare);
    const g1 = await gateway(server.port);
    const g2 = await gateway(server.port);
    const downs: string[] = [];
    g1.client.onStatus((up) => !up && downs.push('g1'));
    g2.client.onStatus((up) => !up && downs.push('g2'));
    await Promise.all(fundings(4, 100).map((c) => g1.client.submit(c)));
    // Sent, but the server closes before it reads them: no answer will come.
    const late = Promise.allSettled([
      ...orders(50, 1).map((c) => g1.client.submit(c)),
      ...orders(50, 2).map((c) => g2.client.submit(c)),
    ]);
    await server.close();
    await spare.close();
    for (const s of await late) {
      assert.equal(s.status, 'rejected');
      const e = (s as PromiseRejectedResult).reason as CoreLinkError;
      assert.ok(e instanceof CoreLinkError && e.code === 'link.status_unknown' && e.statusUnknown, e.message);
    }
    await until(() => !g1.client.connected && !g2.client.connected, 'both gateways to see the link down');
    assert.deepEqual(downs.sort(), ['g1', 'g2']);
    assert.ok(g1.logs.some((l) => /closed the link: the core is shutting down/.test(l)));
    await assert.rejects(
      g1.client.submit(fundings(1)[0]!),
      (e: CoreLinkError) => e.code === 'link.unavailable' && !e.statusUnknown,
    );
    await g1.client.close();
    await g2.client.close();
  });

  it('on shutdown waits for the answers to commands the core has already taken', async () => {
    const { server } = await serve(core);
    const g = await gateway(server.port);
    const from = core.lastSeq;
    const submits = fundings(4, 300).map((c) => g.client.submit(c));
    await until(() => core.lastSeq === from + 12, 'the core to take the commands');
    await server.close();
    const events = await Promise.all(submits);
    assert.ok(events.every((e) => e[0]?.kind === 'FundsDeposited'));
    await g.client.close();
  });

  describe('in process (localCoreClient)', () => {
    it('submits, streams, reads balances and reports itself down once closed', async () => {
      const client = localCoreClient(core);
      const stream = new StreamRecorder();
      client.onEvents(stream.listener);
      const ups: boolean[] = [];
      client.onStatus((up) => ups.push(up));
      assert.equal(client.connected, true);
      assert.equal(client.markets, core.markets);
      const events = await client.submit(fundings(1, 400)[0]!);
      assert.equal(events[0]?.kind, 'FundsDeposited');
      assert.equal(stream.lastSeq, events[0]?.seq);
      assert.deepEqual(await client.balancesOf(1), core.balancesOf(1));
      await assert.rejects(client.balancesOf(-3), (e: CoreLinkError) => e.code === 'link.invalid_request');
      await client.close();
      assert.equal(client.connected, false);
      assert.deepEqual(ups, [false]);
      await assert.rejects(client.submit(fundings(1)[0]!), (e: CoreLinkError) => e.code === 'link.closed');
      await sendAll(core, fundings(1, 500));
      assert.equal(stream.records, 1, 'closing unsubscribed its listeners');
    });

    it("gives the core's refusals as link errors: busy and bad records not applied, failures unknown", async () => {
      const failing = (e: Error): LocalCore => ({
        markets: core.markets,
        submit: () => Promise.reject(e),
        onEvents: () => () => {},
        balancesOf: () => [],
      });
      const cases: [Error, string, boolean][] = [
        [new CoreBusyError('65536 commands in flight'), 'link.busy', false],
        [new RecordError('clientOrderId is 40 characters'), 'link.invalid_command', false],
        [new Error('shard 0 exited with code 1'), 'link.status_unknown', true],
      ];
      for (const [error, code, unknown] of cases) {
        await assert.rejects(
          localCoreClient(failing(error)).submit(fundings(1)[0]!),
          (e: CoreLinkError) =>
            e.code === code && e.statusUnknown === unknown && e.message.includes(error.message),
        );
      }
    });
  });
});

/** Decodes frames arriving on a socket (for the scripted core side). */
class FrameReaderOn {
  constructor(socket: Socket, onFrame: (f: LinkFrame) => void) {
    const reader = new FrameReader(1 << 20);
    socket.on('data', (c: Buffer) => reader.push(c, (f) => onFrame(decodeFrame(f))));
    socket.on('error', () => {});
  }
}
