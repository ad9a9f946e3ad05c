/**
 * The crash test's child: runs the core on a data directory and sends a seeded workload as
 * fast as it is acknowledged, printing after every release the last acknowledged seq and a
 * digest of every event byte released since it started, until it is killed.
 *   node --import tsx crash-child.ts DATA_DIR SEED
 */
import { createHash } from 'node:crypto';
import {
  isLastEvent,
  loadMarketsFile,
  OrderType,
  RECORD_BYTES,
  StpMode,
  seqAt,
  symbolId,
  TimeInForce,
  userId,
} from '../../engine/index.ts';
import { Core, CoreBusyError } from '../../engine/runtime/core.ts';
import type { CommandInput } from '../../engine/runtime/sequencer.ts';

const [dataDir, seedText] = process.argv.slice(2);
const { file, markets } = loadMarketsFile(new URL('../../config/markets.json', import.meta.url).pathname);
const core = await Core.start({ dataDir: dataDir!, marketsFile: file, snapshotEvery: 15_000 });
const digest = createHash('sha256');
let acked = core.lastSeq;
process.stdout.write(`S ${acked}\n`);
core.onEvents((v, from, count) => {
  digest.update(v.u8.subarray(from * RECORD_BYTES, (from + count) * RECORD_BYTES));
  for (let i = from; i < from + count; i++) if (isLastEvent(v, i)) acked = seqAt(v, i);
  process.stdout.write(`A ${acked} ${digest.copy().digest('hex')}\n`);
});
let x = Number(seedText) >>> 0 || 1;
const r = (n: number) => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) % n;
};
const send = async (input: CommandInput) => {
  for (;;) {
    try {
      core.send(input);
      return;
    } catch (e) {
      if (!(e instanceof CoreBusyError)) throw e;
      await core.whenReady();
    }
  }
};
for (let u = 1; u <= 6; u++)
  for (let a = 0; a < 3; a++)
    await send({ kind: 'Deposit', userId: userId(u), assetId: a, amountUnits: 2 ** 40, refId: 1 });
for (let i = 0; ; i++) {
  const m = markets.byId(r(3))!;
  const mid = m.symbolId === 2 ? 5_000 : 5_000_000;
  const roll = r(10);
  if (roll === 0) {
    await send({ kind: 'CancelAllOrders', symbolId: symbolId(m.symbolId), userId: userId(1 + r(6)) });
  } else {
    await send({
      kind: 'PlaceOrder',
      symbolId: symbolId(m.symbolId),
      userId: userId(1 + r(6)),
      side: r(2) as 0 | 1,
      orderType: OrderType.LIMIT,
      timeInForce: roll < 3 ? TimeInForce.IOC : TimeInForce.GTC,
      stpMode: StpMode.DEFAULT,
      priceTicks: mid + r(30) - 15,
      qtyLots: m.minQtyLots * (100 + r(300)),
      quoteQtyUnits: 0,
      clientOrderId: '',
    });
  }
  if (i % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
}
