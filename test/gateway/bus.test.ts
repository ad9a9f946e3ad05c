/**
 * The market data bus, one suite over every adapter: in process always, and Redis at REDIS_URL when
 * it is set (`.ci/run` sets it). Redis buses of this run share a prefix unique to the run, so runs
 * never see each other's channels or keys, and the run's keys are deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type Bus,
  type BusPayload,
  type BusStatus,
  type CacheEntry,
  isBusError,
  UNCHAINED,
} from '../../gateway/market-data/bus/bus.port.ts';
import {
  channelForStream,
  globToRegExp,
  streamForChannel,
  symbolPattern,
} from '../../gateway/market-data/bus/channels.ts';
import { decodeFrame, encodeFrame } from '../../gateway/market-data/bus/frame.ts';
import { InProcessBus } from '../../gateway/market-data/bus/in-process.adapter.ts';
import { openBus } from '../../gateway/market-data/bus/open-bus.ts';
import { RedisBus, type RedisBusOptions } from '../../gateway/market-data/bus/redis.adapter.ts';
import { newSessionId, SessionStore, type WsSession } from '../../gateway/market-data/bus/session-store.ts';
import { followChannel, type ResyncReason } from '../../gateway/market-data/bus/snapshot-sync.ts';

// --- adapters ------------------------------------------------------------------------------------

/** Options a test may give a Redis bus (ignored in process). */
type BusTestOptions = Partial<Omit<RedisBusOptions, 'url' | 'prefix'>>;

interface BusAdapter {
  readonly name: string;
  readonly redis: boolean;
  /** A bus, up. */
  open(options?: BusTestOptions): Promise<Bus>;
  /**
   * A publishing side and a subscribing side: two processes' worth (two Redis buses sharing the run's
   * prefix) on Redis; the same bus twice in process (there is only one process to share).
   */
  openPair(options?: BusTestOptions): Promise<{ pub: Bus; sub: Bus }>;
}

/** Unique to this run: channels and keys of every Redis bus of the run start with it. */
const RUN_PREFIX = `test:${process.pid}:${randomBytes(4).toString('hex')}:`;
let opened = 0;

async function openRedis(options: BusTestOptions = {}): Promise<Bus> {
  const bus = new RedisBus({
    connectionName: `${RUN_PREFIX}bus-${++opened}`,
    ...options,
    url: process.env.REDIS_URL!,
    prefix: RUN_PREFIX,
  });
  await bus.waitUntilUp(5000);
  return bus;
}

const ADAPTERS: readonly BusAdapter[] = [
  {
    name: 'in process',
    redis: false,
    open: async () => new InProcessBus(),
    openPair: async () => {
      const bus = new InProcessBus();
      return { pub: bus, sub: bus };
    },
  },
  ...(process.env.REDIS_URL
    ? [
        {
          name: 'Redis',
          redis: true,
          open: (options?: BusTestOptions) => openRedis(options),
          openPair: async (options?: BusTestOptions) => {
            const [pub, sub] = await Promise.all([openRedis(options), openRedis(options)]);
            return { pub, sub };
          },
        },
      ]
    : []),
];

function adminRedis(): Redis {
  return new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
}

/** Deletes every key of this run. */
async function cleanRedis(): Promise<void> {
  if (!process.env.REDIS_URL) return;
  const admin = adminRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${RUN_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** Kills every Redis connection whose name starts with `namePrefix`, as a failing network would. */
async function killConnections(namePrefix: string): Promise<number> {
  const admin = adminRedis();
  try {
    const list = String(await admin.call('CLIENT', 'LIST'));
    const victims = list
      .split('\n')
      .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] ?? '' }))
      .filter((c) => c.id !== undefined && c.name.startsWith(namePrefix));
    for (const c of victims) await admin.call('CLIENT', 'KILL', 'ID', c.id!);
    return victims.length;
  } finally {
    admin.disconnect();
  }
}

/** Resolves once `cond()` holds; fails naming `what` if it never does (a hang, not a timing check). */
async function eventually(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

interface Received {
  channel: string;
  payload: BusPayload;
  seq: number;
  prevSeq: number;
}

/** Subscribes and records every message. */
function record(bus: Bus, name: string): { got: Received[]; stop: () => void; ready: Promise<void> } {
  const got: Received[] = [];
  const sub = bus.subscribe(name, (channel, payload, seq, prevSeq) =>
    got.push({ channel, payload, seq, prevSeq }),
  );
  return { got, stop: sub, ready: sub.ready };
}

/**
 * A depth-like publisher: 16 levels, message i sets one level and is chained on the previous
 * message; seqs advance by 3 (like update ids covering several changes). The cache holds the whole
 * state at each message's seq, written atomically with it.
 */
class LevelsPublisher {
  readonly levels = new Array<number>(16).fill(0);
  seq = 0;
  constructor(
    readonly bus: Bus,
    readonly channel: string,
  ) {}
  step(i: number): void {
    const prev = this.seq;
    this.seq += 3;
    const level = (i * 7) % 16;
    this.levels[level] = i;
    this.bus.publishAndCache(this.channel, JSON.stringify({ level, value: i }), this.seq, {
      prevSeq: prev === 0 ? UNCHAINED : prev,
      value: JSON.stringify(this.levels),
    });
  }
}

/** A follower that rebuilds the levels from the snapshot and the messages. */
function levelsFollower(bus: Bus, channel: string) {
  const state = { levels: new Array<number>(16).fill(0), reasons: [] as ResyncReason[], applied: 0 };
  const follower = followChannel(bus, channel, {
    onSnapshot(snapshot: CacheEntry | undefined, reason: ResyncReason) {
      state.reasons.push(reason);
      state.levels = snapshot ? JSON.parse(snapshot.value.toString()) : new Array<number>(16).fill(0);
    },
    onMessage(_channel, payload) {
      const { level, value } = JSON.parse(payload.toString()) as { level: number; value: number };
      state.levels[level] = value;
      state.applied++;
    },
  });
  return { state, follower };
}

// --- the suite over every adapter -------------------------------------------------------------------

describe('market data bus', () => {
  // Cache keys of one test must not leak into the next (channels are reused across tests). Hooks
  // stay inside the describe: at the top level they would run around every test of every file.
  afterEach(cleanRedis);
  for (const adapter of ADAPTERS)
    describe(`on ${adapter.name}`, () => {
      const buses: Bus[] = [];
      const open = async (options?: BusTestOptions) => {
        const bus = await adapter.open(options);
        buses.push(bus);
        return bus;
      };
      const openPair = async (options?: BusTestOptions) => {
        const pair = await adapter.openPair(options);
        buses.push(pair.pub, pair.sub);
        return pair;
      };
      afterEach(async () => {
        await Promise.all(buses.splice(0).map((b) => b.close()));
      });

      it('delivers the messages of a channel after publish returns, in publish order', async () => {
        const { pub, sub } = await openPair();
        const r = record(sub, 'md:btcusdt:trade');
        await r.ready;
        for (let i = 1; i <= 5; i++) pub.publish('md:btcusdt:trade', `t${i}`, i, i - 1 || UNCHAINED);
        assert.equal(r.got.length, 0, 'nothing is delivered inside publish');
        await eventually(() => r.got.length === 5, '5 messages');
        assert.deepEqual(
          r.got.map((m) => [m.channel, m.payload, m.seq, m.prevSeq]),
          [1, 2, 3, 4, 5].map((i) => ['md:btcusdt:trade', `t${i}`, i, i === 1 ? UNCHAINED : i - 1]),
        );
      });

      it('delivers to pattern subscriptions with the concrete channel, and to each matching subscription', async () => {
        const { pub, sub } = await openPair();
        const symbol = record(sub, symbolPattern('BTCUSDT'));
        const kind = record(sub, 'md:*:trade');
        const exact = record(sub, 'md:btcusdt:trade');
        const all = record(sub, 'md:*');
        await Promise.all([symbol.ready, kind.ready, exact.ready, all.ready]);
        pub.publish('md:btcusdt:trade', 'a');
        pub.publish('md:btcusdt:depth', 'b');
        pub.publish('md:ethusdt:trade', 'c');
        pub.publish('md:!miniTicker@arr', 'd');
        pub.publish('other:btcusdt:trade', 'e');
        await eventually(() => all.got.length === 4, 'md:* gets the four md channels');
        await eventually(() => symbol.got.length === 2 && kind.got.length === 2, 'patterns');
        assert.deepEqual(
          symbol.got.map((m) => [m.channel, m.payload]),
          [
            ['md:btcusdt:trade', 'a'],
            ['md:btcusdt:depth', 'b'],
          ],
        );
        assert.deepEqual(
          kind.got.map((m) => [m.channel, m.payload]),
          [
            ['md:btcusdt:trade', 'a'],
            ['md:ethusdt:trade', 'c'],
          ],
        );
        assert.deepEqual(
          exact.got.map((m) => m.payload),
          ['a'],
        );
        assert.deepEqual(
          all.got.map((m) => m.channel),
          ['md:btcusdt:trade', 'md:btcusdt:depth', 'md:ethusdt:trade', 'md:!miniTicker@arr'],
        );
      });

      it('keeps payloads byte for byte, bytes as bytes and text as text', async () => {
        const { pub, sub } = await openPair();
        const r = record(sub, 'md:btcusdt:depth');
        await r.ready;
        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const big = randomBytes(256 * 1024);
        const text = 'prix 1 234,5 € — 比特币 🚀 \u0000 end';
        const payloads: BusPayload[] = [allBytes, Buffer.alloc(0), text, '', big, '{"e":"trade"}'];
        payloads.forEach((p, i) => {
          pub.publish('md:btcusdt:depth', p, i + 1);
        });
        await eventually(() => r.got.length === payloads.length, 'every payload');
        r.got.forEach((m, i) => {
          const sent = payloads[i]!;
          if (typeof sent === 'string') assert.equal(m.payload, sent);
          else {
            assert.ok(Buffer.isBuffer(m.payload), `payload ${i} stays a Buffer`);
            assert.ok(sent.equals(m.payload as Buffer), `payload ${i} byte for byte`);
          }
        });
      });

      it('stops delivering to a subscription once it is cancelled, and only to it', async () => {
        const { pub, sub } = await openPair();
        const a = record(sub, 'md:btcusdt:ticker');
        const b = record(sub, 'md:btcusdt:ticker');
        const p = record(sub, 'md:btcusdt:*');
        await Promise.all([a.ready, b.ready, p.ready]);
        pub.publish('md:btcusdt:ticker', '1');
        await eventually(() => a.got.length === 1 && b.got.length === 1 && p.got.length === 1, 'first');
        a.stop();
        a.stop();
        p.stop();
        pub.publish('md:btcusdt:ticker', '2');
        await eventually(() => b.got.length === 2, 'b gets the second');
        // Something published after the second and received proves the second was not held back.
        const c = record(sub, 'md:btcusdt:ticker');
        await c.ready;
        pub.publish('md:btcusdt:ticker', '3');
        await eventually(() => c.got.length === 1 && b.got.length === 3, 'third');
        assert.equal(a.got.length, 1);
        assert.equal(p.got.length, 1);
      });

      it('delivers 100,000 messages in order', async function () {
        this.timeout(30_000);
        const { pub, sub } = await openPair();
        const n = 100_000;
        let next = 1;
        let outOfOrder = 0;
        const unsubscribe = sub.subscribe('md:btcusdt:depth', (_c, payload, seq, prevSeq) => {
          if (seq !== next || prevSeq !== (seq === 1 ? UNCHAINED : seq - 1) || payload !== `m${seq}`)
            outOfOrder++;
          next = seq + 1;
        });
        await unsubscribe.ready;
        for (let i = 1; i <= n; i++) pub.publish('md:btcusdt:depth', `m${i}`, i, i === 1 ? UNCHAINED : i - 1);
        await eventually(() => next === n + 1, `${n} messages`, 25_000);
        assert.equal(outOfOrder, 0);
        assert.equal(pub.stats().dropped, 0);
      });

      it('keeps the latest value per key with its seq, deletes it, and reads nothing for an unknown key', async () => {
        const { pub, sub } = await openPair();
        await pub.cache.set('snap:btcusdt', 'v1', { seq: 10 });
        await pub.cache.set('snap:btcusdt', Buffer.from([0, 1, 2, 255]), { seq: 11 });
        const got = await sub.cache.get('snap:btcusdt');
        assert.equal(got?.seq, 11);
        assert.ok(Buffer.isBuffer(got?.value) && got.value.equals(Buffer.from([0, 1, 2, 255])));
        await pub.cache.set('plain', 'x');
        assert.deepEqual(await sub.cache.get('plain'), { value: 'x', seq: 0 });
        assert.equal(await sub.cache.get('never-set'), undefined);
        assert.equal(await sub.cache.delete('snap:btcusdt'), true);
        assert.equal(await sub.cache.delete('snap:btcusdt'), false);
        assert.equal(await pub.cache.get('snap:btcusdt'), undefined);
      });

      it('forgets a cached value after its TTL and keeps one whose TTL has not run out', async () => {
        const bus = await open();
        await bus.cache.set('short', 'gone soon', { ttlMs: 20 });
        await bus.cache.set('long', 'stays', { ttlMs: 600_000 });
        let gone = false;
        const deadline = Date.now() + 5000;
        while (!gone && Date.now() < deadline) {
          gone = (await bus.cache.get('short')) === undefined;
          if (!gone) await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(gone, 'the short-lived value expires');
        assert.equal((await bus.cache.get('long'))?.value, 'stays');
      });

      it('publishes and caches atomically: the cache holds the value at the message seq', async () => {
        const { pub, sub } = await openPair();
        const r = record(sub, 'md:btcusdt:ticker');
        await r.ready;
        pub.publishAndCache('md:btcusdt:ticker', 'ticker-7', 7);
        pub.publishAndCache('md:btcusdt:depth', 'diff', 9, {
          prevSeq: 8,
          key: 'md:btcusdt:book',
          value: 'book@9',
        });
        await eventually(() => r.got.length === 1, 'ticker message');
        assert.deepEqual(await sub.cache.get('md:btcusdt:ticker'), { value: 'ticker-7', seq: 7 });
        assert.deepEqual(await sub.cache.get('md:btcusdt:book'), { value: 'book@9', seq: 9 });
        assert.equal(await sub.cache.get('md:btcusdt:depth'), undefined);
      });

      it('reads its own cache writes in order after what it published before them', async () => {
        const bus = await open();
        bus.publishAndCache('md:ethusdt:ticker', 'a', 1);
        bus.publishAndCache('md:ethusdt:ticker', 'b', 2);
        assert.deepEqual(await bus.cache.get('md:ethusdt:ticker'), { value: 'b', seq: 2 });
        await bus.cache.set('md:ethusdt:ticker', 'c', { seq: 3 });
        bus.publishAndCache('md:ethusdt:ticker', 'd', 4);
        assert.deepEqual(await bus.cache.get('md:ethusdt:ticker'), { value: 'd', seq: 4 });
      });

      it('lets a subscriber that starts mid-stream rebuild the state exactly from the cache and the diffs', async () => {
        const { pub, sub } = await openPair();
        const publisher = new LevelsPublisher(pub, 'md:btcusdt:depth');
        let i = 0;
        const steps = async (n: number) => {
          for (let k = 0; k < n; k++) {
            publisher.step(++i);
            if (i % 20 === 0) await tick();
          }
        };
        await steps(1000);
        // The follower starts while the stream goes on: diffs keep coming while it subscribes and reads.
        const { state, follower } = levelsFollower(sub, 'md:btcusdt:depth');
        while (!follower.synced && i < 1_000_000) await steps(20);
        const atSync = i;
        await steps(1000);
        await eventually(() => follower.lastSeq === publisher.seq, 'the follower reaches the last seq');
        assert.deepEqual(state.levels, publisher.levels);
        assert.deepEqual(state.reasons, ['start'], 'one snapshot, no gap');
        // Both parts at work: the snapshot covered the diffs before it, the diffs after it were applied.
        assert.ok(
          state.applied >= 1000 && state.applied < i,
          `applied ${state.applied} of ${i} (synced at ${atSync})`,
        );
        follower.stop();
      });

      it('detects a gap, hands over a fresh snapshot and goes on from it', async () => {
        const { pub, sub } = await openPair();
        const ch = 'md:ethusdt:depth';
        const publisher = new LevelsPublisher(pub, ch);
        for (let i = 1; i <= 5; i++) publisher.step(i);
        const { state, follower } = levelsFollower(sub, ch);
        await follower.ready;
        await eventually(() => follower.lastSeq === publisher.seq, 'synced');
        // A diff is lost: the next one is chained on a seq the follower never saw.
        publisher.seq += 3;
        publisher.levels[0] = 99;
        pub.publish(ch, JSON.stringify({ level: 0, value: 99 }), publisher.seq + 3, publisher.seq);
        publisher.seq += 3;
        publisher.levels[0] = 99;
        await eventually(() => !follower.synced, 'the gap is seen');
        for (let i = 6; i <= 10; i++) publisher.step(i);
        await eventually(() => follower.synced && follower.lastSeq === publisher.seq, 'resynced');
        assert.deepEqual(state.reasons, ['start', 'gap']);
        assert.deepEqual(state.levels, publisher.levels);
        assert.equal(follower.resyncs, 1);
        follower.stop();
      });

      it('follows a channel with nothing cached from the first message it receives', async () => {
        const { pub, sub } = await openPair();
        const got: string[] = [];
        const snapshots: (CacheEntry | undefined)[] = [];
        const follower = followChannel(sub, 'md:btcusdt:trade', {
          onSnapshot: (s) => snapshots.push(s),
          onMessage: (_c, p) => got.push(String(p)),
        });
        await follower.ready;
        pub.publish('md:btcusdt:trade', 't41', 41, 40);
        pub.publish('md:btcusdt:trade', 't42', 42, 41);
        await eventually(() => got.length === 2, 'both trades');
        assert.deepEqual(snapshots, [undefined]);
        assert.deepEqual(got, ['t41', 't42']);
        follower.stop();
      });

      it('keeps delivering to the other handlers when one throws', async () => {
        const errors: unknown[] = [];
        const bus = adapter.redis
          ? await open({ onHandlerError: (e) => errors.push(e) })
          : new InProcessBus({ onHandlerError: (e) => errors.push(e) });
        if (!adapter.redis) buses.push(bus);
        const thrower = bus.subscribe('md:btcusdt:trade', () => {
          throw new Error('handler bug');
        });
        const r = record(bus, 'md:btcusdt:trade');
        await Promise.all([thrower.ready, r.ready]);
        bus.publish('md:btcusdt:trade', 'x');
        bus.publish('md:btcusdt:trade', 'y');
        await eventually(() => r.got.length === 2, 'both messages');
        assert.equal(errors.length, 2);
      });

      it('refuses invalid arguments with bus.invalid_argument', async () => {
        const bus = await open();
        const invalid = (f: () => unknown) => assert.throws(f, (e) => isBusError(e, 'bus.invalid_argument'));
        invalid(() => bus.publish('md:*:trade', 'x'));
        invalid(() => bus.publish('', 'x'));
        invalid(() => bus.publish('md:btc usdt:trade', 'x'));
        invalid(() => bus.publish('md:btcusdt:trade', 42 as unknown as string));
        invalid(() => bus.publish('md:btcusdt:trade', 'x', -1));
        invalid(() => bus.publish('md:btcusdt:trade', 'x', 1.5));
        invalid(() => bus.publish('md:btcusdt:trade', 'x', 5, 5));
        invalid(() => bus.publish('md:btcusdt:trade', 'x', Number.MAX_SAFE_INTEGER + 1));
        invalid(() => bus.publishAndCache('md:btcusdt:trade', 'x', 1, { ttlMs: 0 }));
        invalid(() => bus.subscribe('md:[btc', () => {}));
        invalid(() => bus.subscribe('md:x\\', () => {}));
        invalid(() => bus.subscribe('md:x', 'nope' as unknown as () => void));
        await assert.rejects(bus.cache.set('k', 'v', { ttlMs: -5 }), (e) =>
          isBusError(e, 'bus.invalid_argument'),
        );
        await assert.rejects(bus.cache.get(''), (e) => isBusError(e, 'bus.invalid_argument'));
        assert.equal(bus.stats().published, 0);
      });

      it('after close: refuses to subscribe, drops what is published, and says down', async () => {
        const bus = await open();
        const statuses: BusStatus[] = [];
        bus.onStatus((s) => statuses.push(s));
        await bus.close();
        await bus.close();
        assert.equal(bus.status, 'down');
        assert.deepEqual(statuses, ['down']);
        assert.throws(
          () => bus.subscribe('md:btcusdt:trade', () => {}),
          (e) => isBusError(e, 'bus.closed'),
        );
        bus.publish('md:btcusdt:trade', 'late');
        assert.equal(bus.stats().dropped, 1);
        await assert.rejects(bus.cache.get('k'), (e) => isBusError(e, 'bus.closed'));
      });

      describe('session store', () => {
        const session: WsSession = {
          subscriptions: ['btcusdt@trade', 'btcusdt@depth@100ms', '!miniTicker@arr'],
          properties: { combined: true },
          createdAtMs: 1_700_000_000_000,
        };

        it('gives a session back to another gateway, by its id', async () => {
          const { pub, sub } = await openPair();
          const id = newSessionId();
          await new SessionStore(pub.cache).save(id, session);
          const other = new SessionStore(sub.cache);
          assert.deepEqual(await other.load(id), session);
          assert.equal(await other.load(newSessionId()), undefined);
          assert.equal(await other.delete(id), true);
          assert.equal(await other.load(id), undefined);
        });

        it('forgets a session nobody saved within its TTL', async () => {
          const bus = await open();
          const store = new SessionStore(bus.cache, { ttlMs: 20 });
          const id = newSessionId();
          await store.save(id, session);
          const kept = newSessionId();
          await store.save(kept, session, 600_000);
          let gone = false;
          const deadline = Date.now() + 5000;
          while (!gone && Date.now() < deadline) {
            gone = (await store.load(id)) === undefined;
            if (!gone) await new Promise((r) => setTimeout(r, 10));
          }
          assert.ok(gone, 'the session expired');
          assert.deepEqual(await store.load(kept), session);
        });

        it('refuses malformed ids and sessions', async () => {
          const store = new SessionStore((await open()).cache);
          const invalid = (p: Promise<unknown>) =>
            assert.rejects(p, (e) => isBusError(e, 'bus.invalid_argument'));
          await invalid(store.load('short'));
          await invalid(store.load('../../etc/passwd-and-more'));
          const id = newSessionId();
          await invalid(store.save(id, { ...session, subscriptions: ['has space'] }));
          await invalid(store.save(id, { ...session, subscriptions: new Array(1025).fill('btcusdt@trade') }));
          await invalid(store.save(id, { ...session, properties: { 'bad name': true } }));
          await invalid(store.save(id, { ...session, properties: { combined: {} as unknown as boolean } }));
          await invalid(store.save(id, { ...session, createdAtMs: -1 }));
          await invalid(store.save(id, session, 0));
          assert.equal(await store.load(id), undefined);
        });
      });
    });
});

// --- Redis only: the connection lost and back ------------------------------------------------------

describe('market data bus on Redis, when the connection is lost', () => {
  if (!process.env.REDIS_URL) {
    it('needs REDIS_URL (not set: skipped)', function () {
      this.skip();
    });
    return;
  }
  const buses: Bus[] = [];
  const openNamed = async (name: string, options: BusTestOptions = {}) => {
    const bus = await openRedis({ ...options, connectionName: name });
    buses.push(bus);
    return bus;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await cleanRedis();
  });

  it('goes down then up, resubscribes, never throws on publish, and its followers resync from the cache', async () => {
    const tag = `${RUN_PREFIX}kill-${randomBytes(3).toString('hex')}`;
    const pub = await openNamed(`${tag}-core`, { retryBaseMs: 20 });
    const sub = await openNamed(`${tag}-gw`, { retryBaseMs: 20 });
    const statuses: BusStatus[] = [];
    sub.onStatus((s) => statuses.push(s));
    const publisher = new LevelsPublisher(pub, 'md:btcusdt:depth');
    const plain = record(sub, 'md:btcusdt:*');
    const { state, follower } = levelsFollower(sub, 'md:btcusdt:depth');
    await Promise.all([follower.ready, plain.ready]);
    for (let i = 1; i <= 200; i++) publisher.step(i);
    await eventually(() => follower.lastSeq === publisher.seq, 'synced before the cut');

    const killed = await killConnections(tag);
    assert.equal(killed, 4, 'both connections of both buses');
    await eventually(() => pub.status === 'down' && sub.status === 'down', 'both down');
    for (let i = 201; i <= 400; i++) publisher.step(i);
    await eventually(() => pub.status === 'up' && sub.status === 'up', 'both up again');
    for (let i = 401; i <= 600; i++) {
      publisher.step(i);
      if (i % 50 === 0) await tick();
    }
    await eventually(() => follower.lastSeq === publisher.seq, 'the follower catches up');
    assert.deepEqual(state.levels, publisher.levels);
    assert.equal(state.reasons[0], 'start');
    assert.ok(state.reasons.includes('reconnect'), `resynced after the reconnect (${state.reasons})`);
    assert.deepEqual(statuses.slice(0, 2), ['down', 'up']);
    assert.ok(sub.stats().reconnects >= 1);
    const last = plain.got.at(-1)!;
    assert.equal(last.seq, publisher.seq, 'the pattern subscription was restored');
    follower.stop();
  });

  it('drops beyond its buffer while Redis is away, counts the drops, and keeps the latest cache value', async () => {
    const tag = `${RUN_PREFIX}full-${randomBytes(3).toString('hex')}`;
    const pub = await openNamed(`${tag}-core`, { maxBufferedMessages: 100, retryBaseMs: 20 });
    const sub = await openNamed(`${RUN_PREFIX}full-gw`);
    const publisher = new LevelsPublisher(pub, 'md:ethusdt:depth');
    const { state, follower } = levelsFollower(sub, 'md:ethusdt:depth');
    await follower.ready;
    const statuses: BusStatus[] = [];
    pub.onStatus((s) => statuses.push(s));
    await killConnections(tag);
    await eventually(() => pub.status === 'down', 'down');
    assert.doesNotThrow(() => {
      for (let i = 1; i <= 1000; i++) publisher.step(i);
    });
    assert.equal(pub.stats().dropped, 900);
    assert.equal(pub.stats().buffered, 100);
    await eventually(() => pub.status === 'up', 'up again');
    assert.deepEqual(statuses, ['down', 'up']);
    // The subscriber learns of the dropped messages from the next one: it does not follow the last it got.
    publisher.step(1001);
    assert.deepEqual(await sub.cache.get('md:ethusdt:depth'), {
      value: JSON.stringify(publisher.levels),
      seq: publisher.seq,
    });
    await eventually(() => follower.lastSeq === publisher.seq, 'the follower gets the latest state');
    assert.deepEqual(state.levels, publisher.levels);
    follower.stop();
  });

  it('refuses cache reads while Redis is away, with bus.unavailable', async () => {
    const tag = `${RUN_PREFIX}away-${randomBytes(3).toString('hex')}`;
    const bus = await openNamed(tag, { retryBaseMs: 200 });
    await killConnections(tag);
    await eventually(() => bus.status === 'down', 'down');
    await assert.rejects(bus.cache.get('k'), (e) => isBusError(e, 'bus.unavailable'));
    await bus.waitUntilUp(5000);
    assert.equal(await bus.cache.get('k'), undefined);
  });

  it('stores nothing outside its prefix', async () => {
    const bus = await openNamed(`${RUN_PREFIX}prefix`);
    await bus.cache.set('md:btcusdt:book', 'v');
    const admin = adminRedis();
    try {
      assert.equal(await admin.exists('md:btcusdt:book'), 0);
      assert.equal(await admin.exists(`${RUN_PREFIX}c:md:btcusdt:book`), 1);
    } finally {
      admin.disconnect();
    }
  });
});

// --- pure parts -------------------------------------------------------------------------------------

describe('bus channels', () => {
  it('names one channel per symbol and stream kind, and back', () => {
    const cases: [string, string][] = [
      ['btcusdt@depth', 'md:btcusdt:depth'],
      ['btcusdt@depth@100ms', 'md:btcusdt:depth@100ms'],
      ['btcusdt@kline_1M', 'md:btcusdt:kline_1M'],
      ['ethusdt@trade', 'md:ethusdt:trade'],
      ['!miniTicker@arr', 'md:!miniTicker@arr'],
    ];
    for (const [stream, channel] of cases) {
      assert.equal(channelForStream(stream), channel);
      assert.equal(streamForChannel(channel), stream);
    }
    assert.throws(
      () => channelForStream('BTCUSDT@trade'),
      (e) => isBusError(e, 'bus.invalid_argument'),
    );
    assert.throws(
      () => channelForStream('btcusdt@*'),
      (e) => isBusError(e, 'bus.invalid_argument'),
    );
    assert.equal(streamForChannel('other:btcusdt:trade'), undefined);
  });

  it('matches patterns as Redis does', () => {
    const m = (pattern: string, channel: string) => globToRegExp(pattern).test(channel);
    assert.ok(m('md:*', 'md:btcusdt:trade'));
    assert.ok(m('md:*:trade', 'md:btcusdt:trade'));
    assert.ok(!m('md:*:trade', 'md:btcusdt:depth'));
    assert.ok(m('md:???usdt:*', 'md:btcusdt:depth'));
    assert.ok(!m('md:???usdt:*', 'md:btcxusdt:depth'));
    assert.ok(m('md:[be]tcusdt:*', 'md:btcusdt:x'));
    assert.ok(m('md:[^e]tcusdt:*', 'md:btcusdt:x'));
    assert.ok(!m('md:[^b]tcusdt:*', 'md:btcusdt:x'));
    assert.ok(m('md:[a-c]tcusdt:*', 'md:btcusdt:x'));
    assert.ok(m('md:a\\*b', 'md:a*b'));
    assert.ok(!m('md:a\\*b', 'md:axb'));
    assert.ok(m('md:(x).+', 'md:(x).+'), 'regular expression characters are literal');
  });

  it('encodes frames that decode to the same payload, type and sequences', () => {
    for (const [payload, seq, prev] of [
      ['text €', 0, UNCHAINED],
      [Buffer.from([0, 255, 10]), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1],
      ['', 2 ** 40 + 7, 2 ** 33],
    ] as [BusPayload, number, number][]) {
      const f = decodeFrame(encodeFrame(payload, seq, prev));
      assert.ok(f);
      assert.deepEqual([f.payload, f.seq, f.prevSeq], [payload, seq, prev]);
    }
    assert.equal(decodeFrame(Buffer.from('not a frame at all, really')), undefined);
    assert.equal(decodeFrame(Buffer.alloc(3)), undefined);
  });

  it('follows on when the messages that could join a stale snapshot all arrived during the cache read', async () => {
    const bus = new InProcessBus();
    // A cache whose reads answer only when the test says so, with the value at the time of the call.
    const held: (() => void)[] = [];
    const slow: Bus = {
      kind: bus.kind,
      get status() {
        return bus.status;
      },
      cache: {
        ...bus.cache,
        get: async (key: string) => {
          const entry = await bus.cache.get(key);
          await new Promise<void>((r) => held.push(r));
          return entry;
        },
      },
      publish: (...args) => bus.publish(...args),
      publishAndCache: (...args) => bus.publishAndCache(...args),
      subscribe: (...args) => bus.subscribe(...args),
      onStatus: (listener) => bus.onStatus(listener),
      waitUntilUp: () => bus.waitUntilUp(),
      stats: () => bus.stats(),
      close: () => bus.close(),
    };
    const publisher = new LevelsPublisher(bus, 'md:btcusdt:depth');
    for (let i = 1; i <= 3; i++) publisher.step(i);
    const { state, follower } = levelsFollower(slow, 'md:btcusdt:depth');
    await eventually(() => held.length === 1, 'the first read');
    held.shift()!();
    await follower.ready;
    // A diff is lost (the next one is chained on it and not cached), so the cached snapshot is too
    // old to join; the later diffs, which refresh the cache, all arrive while that read is out.
    publisher.levels[0] = 99;
    bus.publish(
      'md:btcusdt:depth',
      JSON.stringify({ level: 0, value: 99 }),
      publisher.seq + 6,
      publisher.seq + 3,
    );
    publisher.seq += 6;
    await eventually(() => held.length === 1, 'the read after the gap');
    for (let i = 4; i <= 8; i++) publisher.step(i);
    await tick();
    held.shift()!();
    await eventually(() => held.length === 1, 'a second read, without waiting for another message');
    held.shift()!();
    await eventually(() => follower.synced && follower.lastSeq === publisher.seq, 'synced');
    assert.deepEqual(state.reasons, ['start', 'gap']);
    assert.deepEqual(state.levels, publisher.levels);
    follower.stop();
    await bus.close();
  });

  it('opens the in-process bus without a Redis URL', async () => {
    const bus = await openBus({ redisUrl: '' });
    assert.equal(bus.kind, 'in-process');
    assert.equal(bus.status, 'up');
    await bus.close();
  });
});
