/**
 * The trade store over DynamoDB, the production home of trade history (on-demand table with
 * point-in-time recovery, created by the infrastructure program; `ensureTradesTable` creates
 * the same design for tests and development).
 *
 * Table design (documented in docs/ACCOUNTS-HISTORY.md):
 *
 *   table      partition key `pk` (S) = symbol     sort key `tid` (N) = trade id
 *   byBuyer    partition key `buyerKey` (S) = "<buyer user id>#<symbol>",  sort key `tid`
 *   bySeller   partition key `sellerKey` (S) = "<seller user id>#<symbol>", sort key `tid`
 *   byTime     partition key `pk`, sort key `tsk` (S) = 16-digit time + "#" + 16-digit trade id
 *              (keys only: it turns a time into a trade id; zero padding makes the string
 *              order the (time, id) order, and the id makes every key unique)
 *
 * A symbol's trades are one Query on the table; a user's are one Query per side on byBuyer
 * and bySeller, merged. Writes are BatchWriteItem puts of 25, retrying UnprocessedItems with
 * backoff; a put rewrites an already-stored trade with the same content, so writing a trade
 * twice leaves one identical item (idempotent).
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { AccountsError } from '../errors.ts';
import {
  checkSymbolTradesQuery,
  checkUserTradesQuery,
  inWindow,
  mergeUserSides,
  planRead,
  type ReadPlan,
  type TimeIndex,
} from './trade-query.ts';
import type { TradeRecord, TradeStore } from './trade-store.port.ts';

/** Where the trades table is. */
export interface DynamoTradeStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Most attempts of one batch write while DynamoDB leaves items unprocessed (default 10). */
  readonly maxAttempts?: number;
  /** First backoff in milliseconds, doubled per attempt (default 25). */
  readonly backoffMs?: number;
}

/** BatchWriteItem's limit. */
const BATCH_ITEMS = 25;
const PAD = 16;

const pad = (n: number): string => String(n).padStart(PAD, '0');
const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

function toItem(t: TradeRecord): Record<string, AttributeValue> {
  return {
    pk: s(t.symbol),
    tid: n(t.tradeId),
    tsk: s(`${pad(t.tsMicros)}#${pad(t.tradeId)}`),
    buyerKey: s(`${t.buyerUserId}#${t.symbol}`),
    sellerKey: s(`${t.sellerUserId}#${t.symbol}`),
    price: n(t.priceTicks),
    qty: n(t.qtyLots),
    quote: n(t.quoteUnits),
    buyer: n(t.buyerUserId),
    seller: n(t.sellerUserId),
    buyerOrder: n(t.buyerOrderId),
    sellerOrder: n(t.sellerOrderId),
    takerSide: s(t.takerSide),
    buyerFee: n(t.buyerFeeUnits),
    sellerFee: n(t.sellerFeeUnits),
    seq: n(t.seq),
    ts: n(t.tsMicros),
  };
}

function num(item: Record<string, AttributeValue>, key: string): number {
  const v = Number(item[key]?.N);
  if (!Number.isSafeInteger(v))
    throw new AccountsError('trade_store.corrupt', `a stored trade has a bad ${key}`);
  return v;
}

function fromItem(item: Record<string, AttributeValue>): TradeRecord {
  const takerSide = item['takerSide']?.S;
  if (takerSide !== 'BUY' && takerSide !== 'SELL') {
    throw new AccountsError('trade_store.corrupt', 'a stored trade has a bad takerSide');
  }
  return {
    symbol: item['pk']?.S ?? '',
    tradeId: num(item, 'tid'),
    priceTicks: num(item, 'price'),
    qtyLots: num(item, 'qty'),
    quoteUnits: num(item, 'quote'),
    buyerUserId: num(item, 'buyer'),
    sellerUserId: num(item, 'seller'),
    buyerOrderId: num(item, 'buyerOrder'),
    sellerOrderId: num(item, 'sellerOrder'),
    takerSide,
    buyerFeeUnits: num(item, 'buyerFee'),
    sellerFeeUnits: num(item, 'sellerFee'),
    seq: num(item, 'seq'),
    tsMicros: num(item, 'ts'),
  };
}

/** Creates the trades table and its indexes unless it exists, and waits until it is active. */
export async function ensureTradesTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
    const byUser = (name: string, key: string) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: key, KeyType: 'HASH' as const },
        { AttributeName: 'tid', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    });
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'tid', AttributeType: 'N' },
          { AttributeName: 'tsk', AttributeType: 'S' },
          { AttributeName: 'buyerKey', AttributeType: 'S' },
          { AttributeName: 'sellerKey', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'tid', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          byUser('byBuyer', 'buyerKey'),
          byUser('bySeller', 'sellerKey'),
          {
            IndexName: 'byTime',
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'tsk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
  }
  for (let i = 0; i < 600; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
    if (d.Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AccountsError('trade_store.unavailable', `table ${tableName} did not become active`);
}

/** The trade store over a DynamoDB table (see the design above). */
export function dynamoTradeStore(options: DynamoTradeStoreOptions): TradeStore {
  const { client, tableName } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  const backoffMs = options.backoffMs ?? 25;

  async function writeBatch(items: Record<string, AttributeValue>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; ; attempt++) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      const left = out.UnprocessedItems?.[tableName] ?? [];
      if (left.length === 0) return;
      if (attempt >= maxAttempts) {
        throw new AccountsError(
          'trade_store.unavailable',
          `DynamoDB left ${left.length} trades unwritten after ${attempt} attempts`,
        );
      }
      requests = left as typeof requests;
      // Unprocessed items mean throttling: back off exponentially, with jitter.
      await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
  }

  /** Every item a query returns, page by page, until `want` pass `keep` or the range ends. */
  async function query(
    input: QueryCommandInput,
    want: number,
    keep: (t: TradeRecord) => boolean,
  ): Promise<TradeRecord[]> {
    const out: TradeRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({ ...input, TableName: tableName, Limit: want, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const t = fromItem(item);
        if (keep(t)) out.push(t);
        if (out.length === want) return out;
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async function timeKey(symbol: string, bound: string, forward: boolean): Promise<number | undefined> {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'byTime',
        KeyConditionExpression: forward ? 'pk = :p AND tsk >= :t' : 'pk = :p AND tsk <= :t',
        ExpressionAttributeValues: { ':p': s(symbol), ':t': s(bound) },
        ScanIndexForward: forward,
        Limit: 1,
      }),
    );
    const item = page.Items?.[0];
    return item === undefined ? undefined : num(item, 'tid');
  }

  const index: TimeIndex = {
    // "#" sorts before every digit and "~" after, so these bounds take in every id at `micros`.
    firstIdAtOrAfter: (symbol, micros) => timeKey(symbol, `${pad(micros)}#`, true),
    lastIdAtOrBefore: (symbol, micros) => timeKey(symbol, `${pad(micros)}#~`, false),
  };

  /** A Query over the plan's id range under `hashKey = hashValue` (table or an index). */
  function rangeInput(
    plan: ReadPlan,
    hashKey: string,
    hashValue: string,
    indexName?: string,
  ): QueryCommandInput {
    const values: Record<string, AttributeValue> = { ':h': s(hashValue) };
    let range = '';
    if (plan.loId !== undefined && plan.hiId !== undefined) {
      range = ' AND tid BETWEEN :lo AND :hi';
      values[':lo'] = n(plan.loId);
      values[':hi'] = n(plan.hiId);
    } else if (plan.loId !== undefined) {
      range = ' AND tid >= :lo';
      values[':lo'] = n(plan.loId);
    } else if (plan.hiId !== undefined) {
      range = ' AND tid <= :hi';
      values[':hi'] = n(plan.hiId);
    }
    return {
      TableName: tableName,
      ...(indexName === undefined ? {} : { IndexName: indexName }),
      KeyConditionExpression: `${hashKey} = :h${range}`,
      ExpressionAttributeValues: values,
      ScanIndexForward: !plan.newest,
    };
  }

  async function readSide(
    plan: ReadPlan,
    symbol: string,
    userId: number,
    buyer: boolean,
    orderId: number | undefined,
  ): Promise<TradeRecord[]> {
    const input = rangeInput(
      plan,
      buyer ? 'buyerKey' : 'sellerKey',
      `${userId}#${symbol}`,
      buyer ? 'byBuyer' : 'bySeller',
    );
    const rows = await query(
      input,
      plan.limit,
      (t) =>
        inWindow(t, plan) &&
        (orderId === undefined || (buyer ? t.buyerOrderId : t.sellerOrderId) === orderId),
    );
    if (plan.newest) rows.reverse();
    return rows;
  }

  return {
    async putTrades(trades) {
      const unique = new Map<string, TradeRecord>();
      for (const t of trades) unique.set(`${t.symbol}#${t.tradeId}`, t);
      const items = [...unique.values()].map(toItem);
      for (let i = 0; i < items.length; i += BATCH_ITEMS) await writeBatch(items.slice(i, i + BATCH_ITEMS));
    },
    async symbolTrades(query_) {
      const q = checkSymbolTradesQuery(query_);
      const plan = await planRead(q, index);
      if (plan === null) return [];
      const rows = await query(rangeInput(plan, 'pk', q.symbol), plan.limit, (t) => inWindow(t, plan));
      if (plan.newest) rows.reverse();
      return rows;
    },
    async userTrades(query_) {
      const q = checkUserTradesQuery(query_);
      const plan = await planRead(q, index);
      if (plan === null) return [];
      const [asBuyer, asSeller] = await Promise.all([
        readSide(plan, q.symbol, q.userId, true, q.orderId),
        readSide(plan, q.symbol, q.userId, false, q.orderId),
      ]);
      return mergeUserSides(asBuyer, asSeller, q.userId, q.limit, plan.newest);
    },
  };
}
