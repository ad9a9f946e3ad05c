/**
 * The Kinesis sink: against kinesalite (Kinesis in process, started here on a free port), reading
 * every record back per shard; and against test doubles for the failures kinesalite does not make
 * (throttled records, failed calls, a Kinesis that does not answer).
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommand,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import {
  KinesisSink,
  KinesisSinkError,
  kinesisClient,
  kinesisPartitionKey,
  type PutRecordsClient,
} from '../../gateway/market-data/kinesis/kinesis.adapter.ts';

const kinesalite = createRequire(import.meta.url)('kinesalite') as (o: {
  createStreamMs?: number;
  deleteStreamMs?: number;
  shardLimit?: number;
}) => Server;

const tick = () => new Promise<void>((r) => setImmediate(r));
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

interface StoredRecord {
  shard: string;
  partitionKey: string;
  data: string;
}

/** Every record of `stream`, shard by shard, in each shard's order. */
async function readAll(client: KinesisClient, stream: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of Shards) {
    let { ShardIterator: it } = await client.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (it) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const r of page.Records ?? [])
        out.push({
          shard: shard.ShardId!,
          partitionKey: r.PartitionKey!,
          data: Buffer.from(r.Data!).toString(),
        });
      if (!page.Records?.length) break;
      it = page.NextShardIterator;
    }
  }
  return out;
}

function tradeEvent(symbol: string, id: number): string {
  return JSON.stringify({ e: 'trade', E: 1_700_000_000_000 + id, s: symbol, t: id, p: '100.00', q: '0.5' });
}

function klineEvent(symbol: string, start: number, closed: boolean): string {
  return JSON.stringify({ e: 'kline', E: start + 59_999, s: symbol, k: { t: start, i: '1m', x: closed } });
}

describe('Kinesis sink on kinesalite', () => {
  let server: Server;
  let client: KinesisClient;
  let n = 0;

  before(async () => {
    server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = kinesisClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  after(async () => {
    client.destroy();
    await new Promise((r) => server.close(r));
  });

  /** A new ACTIVE stream with two shards. */
  async function newStream(): Promise<string> {
    const name = `md-${++n}`;
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    for (;;) {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return name;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('puts every trade and closed kline exactly once, in order per symbol, keyed by symbol', async () => {
    const stream = await newStream();
    const sink = new KinesisSink({ streamName: stream, client, flushIntervalMs: 10, closeTimeoutMs: 25_000 });
    const expected = new Map<string, string[]>(SYMBOLS.map((s) => [s, []]));
    let puts = 0;
    for (let id = 1; id <= 800; id++) {
      for (const symbol of SYMBOLS) {
        const trade = tradeEvent(symbol, id);
        assert.equal(sink.putMarketData(`${symbol.toLowerCase()}@trade`, trade), 'queued');
        expected.get(symbol)!.push(trade);
        if (id % 100 === 0) {
          const start = id * 60_000;
          assert.equal(
            sink.putMarketData(`${symbol.toLowerCase()}@kline_1m`, klineEvent(symbol, start, false)),
            'skipped',
          );
          const closed = klineEvent(symbol, start, true);
          assert.equal(sink.putMarketData(`${symbol.toLowerCase()}@kline_1m`, Buffer.from(closed)), 'queued');
          expected.get(symbol)!.push(closed);
          assert.equal(sink.putMarketData(`${symbol.toLowerCase()}@depth`, '{}'), 'skipped');
        }
      }
      if (++puts % 300 === 0) await tick();
    }
    await sink.close();
    const total = [...expected.values()].reduce((a, l) => a + l.length, 0);
    const stats = sink.stats();
    assert.equal(stats.sent, total);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.queued, 0);
    assert.ok(stats.calls >= Math.ceil(total / 500), `${stats.calls} calls for ${total} records`);

    const stored = await readAll(client, stream);
    assert.equal(stored.length, total, 'exactly once: nothing lost, nothing twice');
    for (const symbol of SYMBOLS) {
      const mine = stored.filter((r) => r.partitionKey === symbol);
      assert.equal(new Set(mine.map((r) => r.shard)).size, 1, `${symbol} stays on one shard`);
      assert.deepEqual(
        mine.map((r) => r.data),
        expected.get(symbol),
        `${symbol}: every record once, in order`,
      );
    }
  });

  it('splits calls at 500 records and at the byte limit, and Kinesis takes them', async () => {
    const stream = await newStream();
    const calls: { records: number; bytes: number }[] = [];
    const spy: PutRecordsClient = {
      send: (command: PutRecordsCommand) => {
        const records = command.input.Records ?? [];
        calls.push({
          records: records.length,
          bytes: records.reduce(
            (a, r) => a + (r.Data?.length ?? 0) + Buffer.byteLength(r.PartitionKey ?? ''),
            0,
          ),
        });
        return client.send(command);
      },
    };
    const sink = new KinesisSink({
      streamName: stream,
      client: spy,
      maxBatchBytes: 1024 * 1024,
      flushIntervalMs: 600_000,
      closeTimeoutMs: 25_000,
    });
    for (let i = 0; i < 1200; i++) sink.put('BTCUSDT', `small-${i}`);
    const big = 'x'.repeat(300 * 1024);
    for (let i = 0; i < 10; i++) sink.put('ETHUSDT', `${i}:${big}`);
    await sink.close();
    assert.equal(sink.stats().sent, 1210);
    assert.ok(
      calls.every((c) => c.records <= 500 && c.bytes <= 1024 * 1024),
      JSON.stringify(calls),
    );
    assert.ok(calls.filter((c) => c.records === 500).length >= 2, 'full batches of 500');
    assert.ok(calls.length >= 2 + 3, 'the 3 MB of large records took at least three calls');
    const stored = await readAll(client, stream);
    assert.equal(stored.length, 1210);
  });
});

/** A Kinesis double: stores what it accepts, and fails as each call's script says. */
function fakeKinesis(script: (call: number, keys: string[]) => 'ok' | 'throw' | 'hang' | number[]) {
  const stored: string[] = [];
  const calls: string[][] = [];
  const hung: (() => void)[] = [];
  const client: PutRecordsClient = {
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      const records = command.input.Records ?? [];
      const data = records.map((r) => Buffer.from(r.Data!).toString());
      calls.push(data);
      const plan = script(calls.length, data);
      if (plan === 'hang') await new Promise<void>((r) => hung.push(r));
      if (plan === 'throw') throw new Error('InternalFailure');
      const failing = new Set(Array.isArray(plan) ? plan : []);
      const results = data.map((d, i) => {
        if (failing.has(i))
          return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
        stored.push(d);
        return { SequenceNumber: String(stored.length), ShardId: 'shardId-000000000000' };
      });
      return { FailedRecordCount: failing.size, Records: results, $metadata: {} };
    },
  };
  return { client, stored, calls, hung };
}

describe('Kinesis sink against a test double (failures kinesalite does not make)', () => {
  it('retries failed records with backoff until each is stored once, sending nothing newer meanwhile', async () => {
    const fake = fakeKinesis((call) => (call === 1 ? [1, 3, 5, 7] : call === 2 ? 'throw' : 'ok'));
    const errors: Error[] = [];
    const sink = new KinesisSink({
      streamName: 's',
      client: fake.client,
      maxBatchRecords: 10,
      retryBaseMs: 1,
      flushIntervalMs: 600_000,
      onError: (e) => errors.push(e),
    });
    const put = Array.from({ length: 25 }, (_, i) => `r${i}`);
    for (const d of put) sink.put(i2key(d), d);
    assert.ok(await sink.flush(5000));
    assert.deepEqual([...fake.stored].sort(), [...put].sort(), 'each record stored exactly once');
    assert.deepEqual(fake.calls[1], ['r1', 'r3', 'r5', 'r7'], 'the retry goes alone, oldest first');
    assert.deepEqual(fake.calls[2], ['r1', 'r3', 'r5', 'r7'], 'and again after the failed call');
    const stats = sink.stats();
    assert.equal(stats.sent, 25);
    assert.equal(stats.retried, 8);
    assert.equal(stats.failedCalls, 1);
    assert.equal(errors.length, 2);
    await sink.close();
  });

  it('keeps every call within 500 records and 5 MiB by default', async () => {
    const fake = fakeKinesis(() => 'ok');
    const sink = new KinesisSink({ streamName: 's', client: fake.client, flushIntervalMs: 600_000 });
    for (let i = 0; i < 1100; i++) sink.put('BTCUSDT', `s${i}`);
    const big = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 12; i++) sink.put('ETHUSDT', `${i}:${big}`);
    await sink.close();
    const sizes = fake.calls.map((c) => ({
      records: c.length,
      bytes: c.reduce((a, d) => a + d.length + 7, 0),
    }));
    assert.ok(
      sizes.every((c) => c.records <= 500 && c.bytes <= 5 * 1024 * 1024),
      JSON.stringify(sizes),
    );
    assert.equal(fake.stored.length, 1112);
    const total = sizes.reduce((a, c) => a + c.bytes, 0);
    assert.ok(sizes.length >= Math.ceil(total / (5 * 1024 * 1024)));
    assert.ok(
      sizes.some((c) => c.bytes > 4 * 1024 * 1024),
      'calls are filled up to the limit',
    );
  });

  it('never blocks put: beyond its bounded queue it drops and counts', async () => {
    const fake = fakeKinesis(() => 'hang');
    const sink = new KinesisSink({
      streamName: 's',
      client: fake.client,
      maxBatchRecords: 5,
      maxQueuedRecords: 10,
      flushIntervalMs: 600_000,
      closeTimeoutMs: 50,
    });
    const accepted = Array.from({ length: 30 }, (_, i) => sink.put('BTCUSDT', `r${i}`)).filter(
      Boolean,
    ).length;
    assert.equal(accepted, 10);
    assert.equal(sink.stats().dropped, 20);
    assert.equal(sink.stats().inFlight, 5);
    for (const release of fake.hung.splice(0)) release();
    await eventuallyTrue(() => sink.stats().inFlight > 0 && fake.hung.length > 0);
    for (const release of fake.hung.splice(0)) release();
    assert.ok(await sink.flush(5000));
    assert.equal(sink.stats().sent, 10);
    await sink.close();
  });

  it('sends a partial batch when closed, and takes nothing after', async () => {
    const fake = fakeKinesis(() => 'ok');
    const sink = new KinesisSink({ streamName: 's', client: fake.client, flushIntervalMs: 600_000 });
    sink.put('BTCUSDT', 'a');
    sink.put('BTCUSDT', new Uint8Array([98]));
    assert.equal(fake.calls.length, 0, 'a partial batch waits for the interval');
    await sink.close();
    assert.deepEqual(fake.stored, ['a', 'b']);
    assert.equal(sink.put('BTCUSDT', 'late'), false);
    assert.equal(sink.stats().dropped, 1);
  });

  it('counts what is left as dropped when close times out', async () => {
    const fake = fakeKinesis(() => [0]);
    const sink = new KinesisSink({
      streamName: 's',
      client: fake.client,
      retryBaseMs: 1000,
      closeTimeoutMs: 30,
      flushIntervalMs: 600_000,
    });
    sink.put('BTCUSDT', 'never');
    await sink.close();
    assert.equal(sink.stats().dropped, 1);
    assert.equal(sink.stats().sent, 0);
  });

  it('refuses invalid input with kinesis.invalid_argument', () => {
    const fake = fakeKinesis(() => 'ok');
    const invalid = (f: () => unknown) =>
      assert.throws(f, (e) => e instanceof KinesisSinkError && e.code === 'kinesis.invalid_argument');
    invalid(() => new KinesisSink({ streamName: 'bad name', client: fake.client }));
    invalid(() => new KinesisSink({ streamName: 's', client: fake.client, maxBatchRecords: 501 }));
    invalid(() => new KinesisSink({ streamName: 's', client: fake.client, maxBatchBytes: 11 * 1024 * 1024 }));
    const sink = new KinesisSink({
      streamName: 's',
      client: fake.client,
      maxRecordBytes: 1000,
      maxBatchBytes: 1000,
    });
    invalid(() => sink.put('', 'x'));
    invalid(() => sink.put('k'.repeat(257), 'x'));
    invalid(() => sink.put('BTCUSDT', 'x'.repeat(1000)));
    invalid(() => sink.put('BTCUSDT', 42 as unknown as string));
    assert.equal(sink.stats().queued, 0);
    void sink.close();
  });

  it('keys trades and klines by symbol and skips the other streams', () => {
    assert.equal(kinesisPartitionKey('btcusdt@trade'), 'BTCUSDT');
    assert.equal(kinesisPartitionKey('ethusdt@kline_1M'), 'ETHUSDT');
    assert.equal(kinesisPartitionKey('ethusdt@kline_15m'), 'ETHUSDT');
    assert.equal(kinesisPartitionKey('btcusdt@aggTrade'), undefined);
    assert.equal(kinesisPartitionKey('btcusdt@depth@100ms'), undefined);
    assert.equal(kinesisPartitionKey('!miniTicker@arr'), undefined);
  });
});

function i2key(d: string): string {
  return Number(d.slice(1)) % 2 === 0 ? 'BTCUSDT' : 'ETHUSDT';
}

async function eventuallyTrue(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await tick();
  }
}
