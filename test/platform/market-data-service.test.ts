/**
 * The market data service where the core runs: the builder is the core's durable consumer,
 * so that after a restart (from its saved state, or from an older one) it holds exactly what a
 * builder that saw every event holds, and it publishes nothing for the events it replays; live
 * streams then continue on the bus where they left off.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../accounts/logger.ts';
import {
  type CommandInput,
  Core,
  loadMarketsFile,
  OrderType,
  type Side,
  StpMode,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { systemClock } from '../../gateway/auth/timing.ts';
import { InProcessBus } from '../../gateway/market-data/bus/in-process.adapter.ts';
import { MarketData } from '../../gateway/market-data/market-data.ts';
import { marketDataService } from '../../platform/market-data.ts';

const { file, markets } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);

/** A seeded workload over the demo markets, funded so that risk never refuses it. */
function workload(n: number, seed: number, fund: boolean): CommandInput[] {
  let x = seed;
  const r = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const out: CommandInput[] = [];
  if (fund)
    for (let u = 1; u <= 5; u++)
      for (let a = 0; a < 3; a++)
        out.push({ kind: 'Deposit', userId: userId(u), assetId: a, amountUnits: 2 ** 51, refId: u * 10 + a });
  for (let i = 0; i < n; i++) {
    const sym = r(3);
    const m = markets.byId(sym)!;
    const mid = sym === 2 ? 5_000 : 5_000_000;
    if (r(10) === 0) {
      out.push({
        kind: 'CancelOrder',
        symbolId: symbolId(sym),
        userId: userId(1 + r(5)),
        orderId: (1 + r(i + 1)) as never,
        clientOrderId: '',
        cancelRestriction: 0,
      });
      continue;
    }
    out.push({
      kind: 'PlaceOrder',
      symbolId: symbolId(sym),
      userId: userId(1 + r(5)),
      side: r(2) as Side,
      orderType: OrderType.LIMIT,
      timeInForce: r(4) === 0 ? TimeInForce.IOC : TimeInForce.GTC,
      stpMode: StpMode.DEFAULT,
      priceTicks: mid + r(40) - 20,
      qtyLots: m.minQtyLots * (100 + r(200)),
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  }
  return out;
}

async function sendAll(core: Core, inputs: readonly CommandInput[]): Promise<void> {
  for (const input of inputs) {
    for (;;) {
      try {
        core.send(input);
        break;
      } catch (e) {
        if ((e as Error).name !== 'CoreBusyError') throw e;
        await core.whenReady();
      }
    }
  }
  await core.quiesce();
}

/** What REST would answer, for every symbol. */
/**
 * `md` answers as `ref` does, both asked within one minute of the wall clock: the 1m klines run
 * up to the current minute, so answers taken on either side of a minute's turn differ by an
 * empty kline (a CI run crossed one between two comparisons).
 */
async function assertSameAnswers(md: MarketData, ref: MarketData): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const minute = Math.floor(Date.now() / 60_000);
    const got = await answers(md);
    const want = await answers(ref);
    if (Math.floor(Date.now() / 60_000) !== minute && attempt < 2) continue;
    assert.deepEqual(got, want);
    return;
  }
}

async function answers(md: MarketData): Promise<unknown[]> {
  const out: unknown[] = [md.tickerPrice(undefined), md.bookTicker(undefined)];
  for (const m of markets.list) {
    out.push(md.depthSnapshot(m.symbol, 5000));
    out.push(await md.recentTrades(m.symbol, 1000));
    out.push(await md.aggTrades(m.symbol, { limit: 1000 }));
    out.push(await md.klinesQuery(m.symbol, { interval: '1m', limit: 1000 }));
  }
  return out;
}

describe('market data service: the builder as the core durable consumer', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'crossbook-mds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rebuilds exactly after a restart, from its saved state or an older one, publishing nothing old', async () => {
    const bus = new InProcessBus();
    const trades: { channel: string; seq: number; prevSeq: number }[] = [];
    bus.subscribe('md:*:trade', (channel, _p, seq, prevSeq) => trades.push({ channel, seq, prevSeq }));
    /** Every symbol's trade ids on the stream follow one another from 1. */
    const chained = (): void => {
      const last = new Map<string, number>();
      for (const t of trades) {
        assert.equal(
          t.prevSeq,
          last.get(t.channel) ?? 0,
          `${t.channel} trade ${t.seq} follows the one before`,
        );
        assert.equal(t.seq, t.prevSeq + 1);
        last.set(t.channel, t.seq);
      }
    };
    const service = () =>
      marketDataService({ markets, bus, dataDir: dir, clock: systemClock, logger: silentLogger });
    const start = (s: ReturnType<typeof service>) =>
      Core.start({ dataDir: dir, marketsFile: file, fsync: false, consumers: [s.consumer] });
    // The reference sees every event live, in one run.
    const ref = new MarketData({ markets, clock: systemClock, onMessage: () => {} });

    const s1 = service();
    const core1 = await start(s1);
    core1.onEvents(ref.listener);
    s1.live();
    await sendAll(core1, workload(1500, 7, true));
    s1.save();
    const stateFile = path.join(dir, 'market-data', 'state.json');
    copyFileSync(stateFile, `${stateFile}.older`);
    await sendAll(core1, workload(1500, 8, false));
    await new Promise((r) => setImmediate(r));
    const live = trades.length;
    assert.ok(live > 100, `trades were published live (${live})`);
    chained();
    await assertSameAnswers(s1.md, ref);
    await core1.close();
    s1.close();

    // From the state saved at close.
    const s2 = service();
    assert.equal(s2.consumer.afterSeq, ref.lastSeq);
    const core2 = await start(s2);
    s2.live();
    await assertSameAnswers(s2.md, ref);
    await core2.close();
    s2.close();

    // From the older state: the core replays the rest into the muted builder.
    copyFileSync(`${stateFile}.older`, stateFile);
    const s3 = service();
    assert.ok(s3.consumer.afterSeq < ref.lastSeq);
    const core3 = await start(s3);
    s3.live();
    await new Promise((r) => setImmediate(r));
    assert.equal(trades.length, live, 'nothing was published for the replayed events');
    await assertSameAnswers(s3.md, ref);

    // Live again: the trade stream continues where it stopped.
    core3.onEvents(ref.listener);
    await sendAll(core3, workload(500, 9, false));
    await new Promise((r) => setImmediate(r));
    assert.ok(trades.length > live, 'new trades are published');
    chained();
    await assertSameAnswers(s3.md, ref);
    await core3.close();
    s3.close();
    await bus.close();
  });
});
