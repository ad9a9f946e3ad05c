/**
 * A shard: a worker thread that owns the order books of a set of symbols. Pure matching:
 * commands arrive as records on its command ring, events leave as records on its event ring,
 * in the same order; no I/O, no clock. Control records on the same ring (snapshot, hand a
 * book over, take a book over, stop) stay in order with the commands around them; book
 * states travel on the worker's MessagePort (the taker reads it synchronously with
 * `receiveMessageOnPort`, so the ring never has to wait for the event loop).
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { type BookState, OrderBook } from '../book/order-book.ts';
import { Markets, type MarketsFile } from '../config/markets-config.ts';
import { decodeCommand, EventWriter, RECORD_BYTES } from '../model/codec.ts';
import type { BookCommand } from '../model/commands.ts';
import { RingBuffer } from './ring-buffer.ts';
import { ControlKind, type ShardMessage, type ShardSetup } from './shard-protocol.ts';

const setup = workerData as ShardSetup;
const port = setup.port as MessagePort;
const markets = new Markets(setup.marketsFile as MarketsFile);
const commands = new RingBuffer(setup.commandRing);
const events = new RingBuffer(setup.eventRing);
const books: (OrderBook | undefined)[] = [];
for (const state of setup.books)
  books[markets.get(state.symbol)!.symbolId] = OrderBook.restore(markets.get(state.symbol)!, state);
for (const id of setup.symbols) books[id] ??= new OrderBook(markets.byId(id)!);

const out = new EventWriter(4096);
const send = (message: ShardMessage): void => port.postMessage(message);

/** Copies the events written so far to the event ring, waiting for space if it is full. */
function flush(): void {
  let done = 0;
  const v = out.views;
  while (done < out.count) {
    let n = events.claim(out.count - done);
    if (n === 0) {
      events.waitForSpace(1);
      n = events.claim(out.count - done);
    }
    const first = events.nextWriteSequence;
    const dst = events.records.u8;
    for (let k = 0; k < n; k++) {
      const src = (done + k) * RECORD_BYTES;
      dst.set(v.u8.subarray(src, src + RECORD_BYTES), events.slot(first + k) * RECORD_BYTES);
    }
    events.publish(n);
    done += n;
  }
  out.reset();
}

let running = true;
while (running) {
  const n = commands.waitForData(100);
  if (n === 0) continue;
  const first = commands.nextReadSequence;
  const v = commands.records;
  for (let k = 0; k < n; k++) {
    const i = commands.slot(first + k);
    const kind = v.u8[i * RECORD_BYTES]!;
    if (kind >= ControlKind.Snapshot) {
      const seq = v.f64[i * (RECORD_BYTES / 8) + 2]!;
      const symbolId = v.u32[i * (RECORD_BYTES / 4) + 2]!;
      if (kind === ControlKind.Snapshot) {
        const states: BookState[] = [];
        for (const b of books) if (b !== undefined) states.push(b.exportState());
        send({ type: 'snapshot', shard: setup.shard, seq, books: states });
      } else if (kind === ControlKind.ExportBook) {
        const b = books[symbolId];
        books[symbolId] = undefined;
        send({ type: 'exported', shard: setup.shard, symbolId, seq, state: b?.exportState() ?? null });
      } else if (kind === ControlKind.ImportBook) {
        const msg = receiveMessageOnPort(port)?.message as { state: BookState | null } | undefined;
        if (msg === undefined)
          throw new Error(`shard ${setup.shard}: ImportBook for symbol ${symbolId} without a book state`);
        const m = markets.byId(symbolId)!;
        books[symbolId] = msg.state === null ? new OrderBook(m) : OrderBook.restore(m, msg.state);
        send({ type: 'imported', shard: setup.shard, symbolId, seq });
      } else if (kind === ControlKind.Stop) {
        running = false;
      }
      continue;
    }
    const cmd = decodeCommand(v, i) as BookCommand;
    const book = books[cmd.symbolId];
    if (book === undefined)
      throw new Error(
        `shard ${setup.shard}: command ${cmd.seq} (${cmd.kind}) for symbol ${cmd.symbolId}, which it does not own (it owns ${books.flatMap((b, i) => (b === undefined ? [] : [i])).join(', ')})`,
      );
    book.execute(cmd, out);
    out.markLast();
    if (out.count >= 2048) flush();
  }
  commands.release(n);
  flush();
}
send({ type: 'stopped', shard: setup.shard });
port.close();
