/**
 * Fuzz test of the whole platform in one process (PGlite, journal, persister, core, gateway), as
 * `npm start` runs it: at least 100,000 random and malformed HTTP requests over keep-alive
 * connections (undici, 64 in flight) and thousands of WebSocket frames, from a seeded generator.
 *
 * What is sent: every endpoint of the REST API, the wallet API, the web account API and the
 * admin API (with a wrong token), unknown paths and path tricks (`..`, `%2e%2e`, `//`, `%00`),
 * every method uWS routes (HEAD, OPTIONS, PATCH, TRACE too), parameters missing, repeated,
 * empty, wrongly typed, huge, in unicode and with broken percent-escapes, in the query string
 * and in form bodies; bodies of bad JSON, wrong types, deep nesting, form data, text, binary,
 * chunked, and over the 64 KiB limit; header tricks (repeated API keys, bad time units, bearer
 * tokens, content types, X-Forwarded-For). Signed requests are signed wrongly, not at all, and
 * also correctly with real keys and garbage parameters, so that the handlers behind the
 * signature check are fuzzed too.
 *
 * No request may legitimately move money, or the balance check would mean nothing:
 * - the keys of the users with funds (and resting orders) are read-only: their TRADE and
 *   WITHDRAW requests end at the permission check (-2015);
 * - the keys with the trade permission belong to users without any funds: every order they
 *   send is refused (the test checks first that a well-formed one is: -2010), and they have
 *   nothing to cancel or amend;
 * - no key has the withdraw permission, the admin token is never sent, and the web session
 *   belongs to a user without funds or KYC tier; logout and session revocation are only sent
 *   with bogus tokens (the web user's session has to outlive the run to fuzz behind it).
 *
 * Checks: no reply with status >= 500 and no request left without a reply (each failure names
 * the seed and the request); every JSON error reply carries a numeric `code` and a string
 * `msg` (the admin API's codes are dotted strings by design: strings there); the WebSocket API
 * answers every frame exactly once unless it closed the connection for a reason the frame
 * gave (a frame over 64 KiB, a ban); nothing is logged at error level; the server still answers
 * on old and new connections; every user's balances are exactly as before (new users hold
 * nothing), and the admin ledger check finds no difference.
 *
 * FUZZ_SEED=<n> replays a run (the seed is printed); FUZZ_REQUESTS / FUZZ_WS_FRAMES change the
 * counts (defaults 100,000 and 5,000).
 */
import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Pool, WebSocket } from 'undici';
import { spawnWorker } from '../../engine/runtime/spawn-worker.ts';
import { systemClock } from '../../gateway/auth/timing.ts';
import type { Platform } from '../../platform/platform.ts';

const SEED = process.env.FUZZ_SEED === undefined ? randomInt(0x1_0000_0000) : Number(process.env.FUZZ_SEED);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const WS_FRAMES = Number(process.env.FUZZ_WS_FRAMES ?? 5_000);
const IN_FLIGHT = 64;
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';
/**
 * Microseconds to add to this thread's clock to read the gateway's. Timestamps are taken from
 * the gateway's clock rather than Date.now(): on a VM whose wall clock is being slewed the two
 * drift apart by seconds within minutes, and a signed request would look "ahead of the server's
 * time". A worker thread's clock starts from the wall clock when the worker starts: it is set
 * against the gateway's when the worker starts.
 */
let clockOffsetMicros = 0;
const nowMicros = (): number => systemClock.nowMicros() + clockOffsetMicros;
const nowMs = (): number => Math.floor(nowMicros() / 1000);

/** sfc32 seeded through splitmix32: fast, and the same sequence for the same seed. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Values

const now = nowMs();
const HUGE_TEXT = 'A'.repeat(3000);
/** Values of no particular parameter: wrong types, edge numbers, unicode, injection attempts. */
const JUNK: readonly string[] = [
  '',
  ' ',
  '-1',
  '0',
  '-0',
  '1e309',
  '1e-7',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"a":1}',
  '9'.repeat(40),
  '0.000000000000000001',
  '1.',
  '.5',
  '1,5',
  '1_000',
  '0x1F',
  '0b101',
  '+5',
  ' 5',
  '5 ',
  '١٢٣',
  '１２３',
  'é',
  'Ωmega',
  '😀',
  '\u202eRTL',
  'a\u0000b',
  'line\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '../../etc/passwd',
  '$' + '{jndi:ldap://x}',
  '%s%s%s%n',
  '__proto__',
  'constructor',
  HUGE_TEXT,
];
/** Inserted into a query string or form body as they are: broken escapes, separators. */
const RAW_TRICKS: readonly string[] = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '%FF%FE',
  '%00',
  '+',
  '&&',
  '==',
  '&=&',
  'a=1=2',
  '=x',
  '%26',
  '%3D%3D',
  '%u0041',
  'é',
  '\u00ff\u00fe',
];
const NUMBERS: readonly string[] = [
  '0.001',
  '1',
  '0.5',
  '100000',
  '0',
  '-1',
  '0.000000001',
  '1e-3',
  '1000000000',
];
const TIMES: readonly string[] = [
  String(now - 3_600_000),
  String(now),
  String(now + 86_400_000),
  String(now - 90 * 86_400_000),
  '0',
  '-1',
  '99999999999999999999',
  '1e12',
];
const IDS: readonly string[] = ['1', '2', '3', '0', '-1', '18446744073709551616', 'abc', '1.5'];

/** Plausible values per parameter name (every name some endpoint reads). */
const CANDIDATES: Readonly<Record<string, readonly string[]>> = {
  symbol: ['BTCUSDT', 'ETHUSDT', 'ETHBTC', 'btcusdt', 'DOGEUSDT', 'BTC-USDT', 'BTCUSDT,ETHBTC'],
  symbols: ['["BTCUSDT"]', '["BTCUSDT","ETHBTC"]', '[]', '["BTCUSDT","BTCUSDT"]', 'BTCUSDT', '["x"', '[1]'],
  permissions: ['SPOT', '["SPOT","MARGIN"]', '[]', 'MARGIN', '["SPOT"'],
  symbolStatus: ['TRADING', 'HALT', 'BREAK', 'nope'],
  showPermissionSets: ['true', 'false', 'maybe'],
  side: ['BUY', 'SELL', 'buy', 'HOLD'],
  type: ['LIMIT', 'MARKET', 'LIMIT_MAKER', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'OCO', 'limit'],
  timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'gtc'],
  quantity: NUMBERS,
  quoteOrderQty: NUMBERS,
  price: ['50000', '0.01', '1000001', '0', '-5', '60000.001', '1e5', '0.05'],
  newClientOrderId: ['abc', 'x'.repeat(40), 'é', 'ask-1', 'fuzz_1'],
  stopPrice: NUMBERS,
  trailingDelta: ['10', '0', '-1', '20000'],
  icebergQty: NUMBERS,
  newOrderRespType: ['ACK', 'RESULT', 'FULL', 'XML'],
  selfTradePreventionMode: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH', 'DECREMENT', 'X'],
  strategyId: IDS,
  strategyType: ['1000000', '999999', 'x'],
  pegPriceType: ['PRIMARY_PEG', 'MARKET_PEG', 'X'],
  pegOffsetValue: ['1', '-1', 'x'],
  pegOffsetType: ['PRICE_LEVEL', 'X'],
  orderId: IDS,
  origClientOrderId: ['ask-1', 'nope', 'fuzz_1'],
  cancelRestrictions: ['ONLY_NEW', 'ONLY_PARTIALLY_FILLED', 'X'],
  cancelReplaceMode: ['STOP_ON_FAILURE', 'ALLOW_FAILURE', 'X'],
  cancelOrderId: IDS,
  cancelOrigClientOrderId: ['ask-1', 'nope'],
  cancelNewClientOrderId: ['c1', 'x'.repeat(40)],
  orderRateLimitExceededMode: ['DO_NOTHING', 'CANCEL_ONLY', 'X'],
  newQty: NUMBERS,
  startTime: TIMES,
  endTime: TIMES,
  fromId: IDS,
  limit: ['1', '500', '1000', '1001', '0', '-1', 'abc', '5000'],
  omitZeroBalances: ['true', 'false', 'x'],
  computeCommissionRates: ['true', 'false', 'x'],
  coin: ['BTC', 'USDT', 'ETH', 'DOGE', 'btc'],
  network: ['BTC', 'ETH', 'TRX', 'X'],
  address: ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', `0x${'a'.repeat(40)}`, 'nope'],
  addressTag: ['1', 'memo'],
  amount: ['0.001', '1', '0', '-1', '1e3', '0.000000001', '100000000'],
  withdrawOrderId: ['w1', 'x'.repeat(80)],
  transactionFeeFlag: ['true', 'false', 'x'],
  name: ['home', 'é'],
  walletType: ['0', '1', 'x'],
  status: ['0', '1', '2', '6', 'x'],
  offset: ['0', '10', '-1'],
  txId: ['0xfeed', 'x'],
  includeSource: ['true', 'false', 'x'],
  idList: ['1,2', 'x', '1,,2'],
  listenKey: ['x'.repeat(60), 'short'],
  recvWindow: ['5000', '60000', '60001', '0', '1.5', 'abc', '59999.999'],
  sessionId: IDS,
  keyId: IDS,
  id: IDS,
  coinFilter: ['BTC'],
  asset: ['BTC', 'USDT', 'X'],
  cursor: ['0', 'abc', 'eyJ4IjoxfQ'],
  order: ['asc', 'desc', 'x'],
};
const EXTRA_NAMES: readonly string[] = [
  'foo',
  'signature',
  'timestamp',
  'apiKey',
  'é',
  '',
  'a[b]',
  'x'.repeat(200),
];

// ---------------------------------------------------------------------------------------------
// Endpoints

type Auth = 'none' | 'key' | 'signed' | 'trade' | 'withdraw' | 'web' | 'web-end' | 'admin';
interface Endpoint {
  readonly method: string;
  readonly path: string;
  readonly auth: Auth;
  readonly params: readonly string[];
  /** JSON body fields (web account API). */
  readonly fields?: readonly string[];
}

const ORDER_PARAMS = [
  'symbol',
  'side',
  'type',
  'timeInForce',
  'quantity',
  'quoteOrderQty',
  'price',
  'newClientOrderId',
  'stopPrice',
  'trailingDelta',
  'icebergQty',
  'newOrderRespType',
  'selfTradePreventionMode',
  'strategyId',
  'strategyType',
  'pegPriceType',
  'pegOffsetValue',
  'pegOffsetType',
] as const;
const HISTORY = ['coin', 'status', 'startTime', 'endTime', 'offset', 'limit'] as const;
const W = '/api/crossbook/v1';

const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/api/v3/ping', auth: 'none', params: [] },
  { method: 'GET', path: '/api/v3/time', auth: 'none', params: [] },
  {
    method: 'GET',
    path: '/api/v3/exchangeInfo',
    auth: 'none',
    params: ['symbol', 'symbols', 'permissions', 'symbolStatus', 'showPermissionSets'],
  },
  { method: 'GET', path: '/healthz', auth: 'none', params: [] },
  { method: 'GET', path: '/api/v3/rateLimit/order', auth: 'signed', params: [] },
  { method: 'POST', path: '/api/v3/order', auth: 'trade', params: ORDER_PARAMS },
  {
    method: 'POST',
    path: '/api/v3/order/test',
    auth: 'trade',
    params: [...ORDER_PARAMS, 'computeCommissionRates'],
  },
  {
    method: 'GET',
    path: '/api/v3/order',
    auth: 'signed',
    params: ['symbol', 'orderId', 'origClientOrderId'],
  },
  {
    method: 'DELETE',
    path: '/api/v3/order',
    auth: 'trade',
    params: ['symbol', 'orderId', 'origClientOrderId', 'newClientOrderId', 'cancelRestrictions'],
  },
  { method: 'DELETE', path: '/api/v3/openOrders', auth: 'trade', params: ['symbol'] },
  {
    method: 'POST',
    path: '/api/v3/order/cancelReplace',
    auth: 'trade',
    params: [
      ...ORDER_PARAMS,
      'cancelReplaceMode',
      'cancelOrderId',
      'cancelOrigClientOrderId',
      'cancelNewClientOrderId',
      'cancelRestrictions',
      'orderRateLimitExceededMode',
    ],
  },
  {
    method: 'PUT',
    path: '/api/v3/order/amend/keepPriority',
    auth: 'trade',
    params: ['symbol', 'orderId', 'origClientOrderId', 'newClientOrderId', 'newQty'],
  },
  { method: 'GET', path: '/api/v3/openOrders', auth: 'signed', params: ['symbol'] },
  {
    method: 'GET',
    path: '/api/v3/allOrders',
    auth: 'signed',
    params: ['symbol', 'orderId', 'startTime', 'endTime', 'limit'],
  },
  {
    method: 'GET',
    path: '/api/v3/myTrades',
    auth: 'signed',
    params: ['symbol', 'orderId', 'startTime', 'endTime', 'fromId', 'limit'],
  },
  { method: 'GET', path: '/api/v3/account', auth: 'signed', params: ['omitZeroBalances'] },
  { method: 'GET', path: '/api/v3/account/commission', auth: 'signed', params: ['symbol'] },
  { method: 'GET', path: '/sapi/v1/asset/tradeFee', auth: 'signed', params: ['symbol'] },
  {
    method: 'GET',
    path: '/sapi/v1/capital/deposit/hisrec',
    auth: 'signed',
    params: [...HISTORY, 'txId', 'includeSource'],
  },
  {
    method: 'POST',
    path: '/sapi/v1/capital/withdraw/apply',
    auth: 'withdraw',
    params: [
      'coin',
      'network',
      'address',
      'addressTag',
      'amount',
      'withdrawOrderId',
      'transactionFeeFlag',
      'name',
      'walletType',
    ],
  },
  {
    method: 'GET',
    path: '/sapi/v1/capital/withdraw/history',
    auth: 'signed',
    params: [...HISTORY, 'withdrawOrderId', 'idList'],
  },
  { method: 'GET', path: '/sapi/v1/capital/config/getall', auth: 'signed', params: [] },
  { method: 'POST', path: '/api/v3/userDataStream', auth: 'key', params: [] },
  { method: 'PUT', path: '/api/v3/userDataStream', auth: 'key', params: ['listenKey'] },
  { method: 'DELETE', path: '/api/v3/userDataStream', auth: 'key', params: ['listenKey'] },
  { method: 'POST', path: `${W}/register`, auth: 'none', params: [], fields: ['email', 'password'] },
  { method: 'POST', path: `${W}/login`, auth: 'none', params: [], fields: ['email', 'password', 'totpCode'] },
  { method: 'POST', path: `${W}/logout`, auth: 'web-end', params: [], fields: [] },
  { method: 'GET', path: `${W}/me`, auth: 'web', params: [] },
  { method: 'GET', path: `${W}/sessions`, auth: 'web', params: [] },
  { method: 'DELETE', path: `${W}/sessions`, auth: 'web-end', params: ['sessionId'] },
  {
    method: 'POST',
    path: `${W}/password`,
    auth: 'web',
    params: [],
    fields: ['currentPassword', 'newPassword'],
  },
  { method: 'POST', path: `${W}/totp/setup`, auth: 'web', params: [], fields: [] },
  { method: 'POST', path: `${W}/totp/confirm`, auth: 'web', params: [], fields: ['code'] },
  { method: 'POST', path: `${W}/totp/disable`, auth: 'web', params: [], fields: ['code'] },
  { method: 'GET', path: `${W}/apiKeys`, auth: 'web', params: [] },
  {
    method: 'POST',
    path: `${W}/apiKeys`,
    auth: 'web',
    params: [],
    fields: ['label', 'type', 'permissions', 'ipAllow', 'publicKey', 'totpCode'],
  },
  { method: 'DELETE', path: `${W}/apiKeys`, auth: 'web', params: ['keyId'] },
  { method: 'GET', path: `${W}/kyc`, auth: 'web', params: [] },
  { method: 'POST', path: `${W}/kyc`, auth: 'web', params: [], fields: ['tier', 'identity'] },
  { method: 'GET', path: `${W}/withdrawalAddresses`, auth: 'web', params: ['coin'] },
  {
    method: 'POST',
    path: `${W}/withdrawalAddresses`,
    auth: 'web',
    params: [],
    fields: ['coin', 'network', 'address', 'label'],
  },
  { method: 'DELETE', path: `${W}/withdrawalAddresses`, auth: 'web', params: ['id'] },
  { method: 'GET', path: `${W}/deposits`, auth: 'web', params: [...HISTORY, 'txId'] },
  { method: 'GET', path: `${W}/withdrawals`, auth: 'web', params: [...HISTORY, 'withdrawOrderId'] },
  {
    method: 'POST',
    path: `${W}/withdrawals`,
    auth: 'web',
    params: [],
    fields: ['coin', 'network', 'address', 'amount', 'withdrawOrderId', 'totpCode'],
  },
  { method: 'DELETE', path: `${W}/withdrawals`, auth: 'web', params: ['id'] },
  {
    method: 'GET',
    path: `${W}/ledger`,
    auth: 'web',
    params: ['asset', 'startTime', 'endTime', 'cursor', 'order', 'limit'],
  },
  {
    method: 'POST',
    path: '/admin/v1/users',
    auth: 'admin',
    params: [],
    fields: ['email', 'deposits', 'kycTier'],
  },
  {
    method: 'POST',
    path: '/admin/v1/deposits',
    auth: 'admin',
    params: [],
    fields: ['userId', 'asset', 'amount'],
  },
  { method: 'GET', path: '/admin/v1/ledger/check', auth: 'admin', params: [] },
  { method: 'GET', path: '/admin/v1/shards', auth: 'admin', params: [] },
  { method: 'POST', path: '/admin/v1/shards/move', auth: 'admin', params: [], fields: ['symbol', 'shard'] },
];
/**
 * How often each endpoint is drawn. The web account API and the wallet endpoints reach the
 * database on almost every request (PGlite, in this process): drawn less often, so that 100,000
 * requests fit in about a minute; every endpoint is still drawn thousands of times.
 */
function drawWeight(e: Endpoint): number {
  if (e.path.startsWith(W)) return 0.06;
  if (e.path.startsWith('/sapi/v1/capital')) return 0.25;
  if (e.path.startsWith('/admin/')) return 0.3;
  return 1;
}
const CUMULATIVE: number[] = [];
for (const e of ENDPOINTS) CUMULATIVE.push((CUMULATIVE.at(-1) ?? 0) + drawWeight(e));

function drawEndpoint(rng: Rng): Endpoint {
  const x = rng.next() * CUMULATIVE.at(-1)!;
  let lo = 0;
  while (CUMULATIVE[lo]! <= x) lo++;
  return ENDPOINTS[lo]!;
}
const UNKNOWN_PATHS: readonly string[] = [
  '/',
  '/favicon.ico',
  '/api/v1/ping',
  '/api/v3/',
  '/api/v3',
  '/ws-api/v3',
  '/ws/btcusdt@trade',
  '/stream',
  '/sapi/v1/unknown',
  `${W}/nope`,
  '/admin/v1/nope',
  '/api/v3/order/oco',
  '/api/v3/ticker/price',
  '/index.html',
];
const METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'];

/** Values for JSON fields: right-looking ones, then anything of a wrong type. */
const JSON_CANDIDATES: Readonly<Record<string, readonly unknown[]>> = {
  email: ['fuzz@example.com', 'not-an-email', '', 'é@é.é', `${'a'.repeat(300)}@x.com`, 'web@fuzz.test'],
  password: ['a long passphrase 42', 'short', '', '😀'.repeat(40)],
  currentPassword: ['wrong passphrase 1', ''],
  newPassword: ['another long passphrase 7', 'x'],
  totpCode: ['123456', '000000', '12345', 'abcdef'],
  code: ['123456', '000000', 'x'],
  label: ['bot', '', 'x'.repeat(200), 'é😀'],
  type: ['HMAC', 'ED25519', 'RSA'],
  permissions: [{ trade: true }, { withdraw: true }, { trade: 'yes' }, {}, ['trade']],
  ipAllow: [['127.0.0.1'], ['10.0.0.0/8'], ['not-an-ip'], '127.0.0.1', []],
  publicKey: ['-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----', 'x'],
  tier: [1, 2, 0, 3, '1'],
  identity: [
    {
      fullName: 'A B',
      dateOfBirth: '1990-01-01',
      country: 'DE',
      documentType: 'PASSPORT',
      documentNumber: 'X1',
    },
    { fullName: '', dateOfBirth: '2020-01-01' },
    'me',
  ],
  coin: ['BTC', 'USDT', 'DOGE'],
  network: ['BTC', 'ETH', 'X'],
  address: ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', `0x${'a'.repeat(40)}`, 'nope'],
  amount: ['0.001', '1', '0', '-1', 1, '1e3'],
  withdrawOrderId: ['w1', 'x'.repeat(80)],
  deposits: [[{ asset: 'USDT', amount: '1' }], []],
  kycTier: [1, 2],
  userId: [1, 2],
  asset: ['USDT'],
  symbol: ['BTCUSDT'],
  shard: [0, 1],
};
const JSON_JUNK: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  1.5,
  '',
  'é😀',
  'a\u0000b',
  [],
  [1, 2],
  {},
  { nested: { deeper: [1] } },
  'x'.repeat(5000),
];
const BAD_JSON: readonly string[] = [
  '{',
  '[1,2',
  '{"a":}',
  "{'a':1}",
  '{"a":1,}',
  'null',
  '"string"',
  '42',
  '[]',
  'true',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"email":"\\ud800"}',
  '{"a":1e400}',
  '\u0000',
  '\ufeff{}',
  `${'['.repeat(3000)}${']'.repeat(3000)}`,
  `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`,
];
const CONTENT_TYPES: readonly string[] = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=latin1',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  'garbage',
  '*/*',
];
/** Bodies over the 64 KiB limit, built once. */
const HUGE_BODY = Buffer.alloc(70_000, 0x61);
const HUGE_JSON = `{"email":"${'a'.repeat(69_000)}"}`;

// ---------------------------------------------------------------------------------------------
// Requests

interface Signer {
  readonly apiKey: string;
  readonly secret: string;
}

/** What the generator signs with and authenticates as. */
interface Identities {
  /** Read-only keys of the users with funds. */
  readonly readers: readonly Signer[];
  /** Trade keys of users without funds. */
  readonly traders: readonly Signer[];
  /** Bearer tokens of the web user's sessions (no funds, no KYC tier). */
  readonly sessions: readonly string[];
  readonly listenKeys: readonly string[];
}

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: string | Buffer | Readable;
  /** What the request was, for failure messages. */
  readonly what: string;
  /** The admin API answers with dotted string codes. */
  readonly admin: boolean;
}

const sign = (secret: string, payload: string): string =>
  createHmac('sha256', secret).update(payload).digest('hex');

/** Encodes a value for a query string or form body, sometimes as it is (when undici can send it). */
function encodeValue(rng: Rng, v: string): string {
  if (rng.chance(0.1) && /^[\x21-\x7e\u00a0-\u00ff]*$/.test(v)) return v;
  return encodeURIComponent(v);
}

function paramValue(rng: Rng, name: string, ids: Identities): string {
  if (name === 'listenKey' && rng.chance(0.5) && ids.listenKeys.length > 0) return rng.pick(ids.listenKeys);
  const candidates = CANDIDATES[name];
  if (candidates !== undefined && rng.chance(0.75)) return rng.pick(candidates);
  return rng.pick(JUNK);
}

/** `name=value` pairs for an endpoint: some missing, some repeated, some unknown, some broken. */
function paramPairs(rng: Rng, names: readonly string[], ids: Identities): string[] {
  const pairs: string[] = [];
  for (const name of names) {
    if (!rng.chance(0.55)) continue;
    pairs.push(`${name}=${encodeValue(rng, paramValue(rng, name, ids))}`);
  }
  if (rng.chance(0.15))
    pairs.push(`${encodeURIComponent(rng.pick(EXTRA_NAMES))}=${encodeValue(rng, rng.pick(JUNK))}`);
  if (pairs.length > 0 && rng.chance(0.08)) pairs.push(rng.pick(pairs));
  if (rng.chance(0.05)) pairs.push(rng.pick(RAW_TRICKS));
  if (rng.chance(0.03)) pairs.push(`${rng.pick(names.length > 0 ? names : EXTRA_NAMES)}`);
  return pairs;
}

function jsonValue(rng: Rng, field: string): unknown {
  const candidates = JSON_CANDIDATES[field];
  if (candidates !== undefined && rng.chance(0.7)) return rng.pick(candidates);
  return rng.pick(JSON_JUNK);
}

/** A JSON body for the web or admin API: valid-looking, wrongly typed, or not JSON at all. */
function jsonBody(rng: Rng, fields: readonly string[]): string {
  const roll = rng.next();
  if (roll < 0.12) return rng.pick(BAD_JSON);
  if (roll < 0.15) return '';
  const body: Record<string, unknown> = {};
  for (const f of fields) if (rng.chance(0.7)) body[f] = jsonValue(rng, f);
  if (rng.chance(0.1)) body[rng.pick(EXTRA_NAMES)] = rng.pick(JSON_JUNK);
  const text = JSON.stringify(body);
  if (rng.chance(0.05) && text.length > 2)
    return `${text.slice(0, -1)},"${rng.pick(Object.keys(body).concat('x'))}":1}`;
  return text;
}

/** A path trick applied to a real path. */
function trickPath(rng: Rng, p: string): string {
  const tricked = trick(rng, p);
  return tricked.startsWith('/') ? tricked : `/${tricked}`;
}

function trick(rng: Rng, p: string): string {
  const last = p.lastIndexOf('/');
  const parent = p.slice(0, last);
  const leaf = p.slice(last + 1);
  switch (rng.int(14)) {
    case 0:
      return `${p}/`;
    case 1:
      return `/${p}`;
    case 2:
      return `${parent}/../${parent.split('/').pop()}/${leaf}`;
    case 3:
      return `${parent}/%2e%2e/${leaf}`;
    case 4:
      return `${parent}//${leaf}`;
    case 5:
      return `${p}%00`;
    case 6:
      return p.toUpperCase();
    case 7:
      return `${p};jsessionid=1`;
    case 8:
      return `${parent}/./${leaf}`;
    case 9:
      return `${parent}%2F${leaf}`;
    case 10:
      return `${p}/${'x'.repeat(3000)}`;
    case 11:
      return `${p}\u00e9`;
    case 12:
      return `${p}%C3%A9%ZZ`;
    default:
      return `${p}#fragment`;
  }
}

let ipCounter = 0;
/**
 * A client address: X-Forwarded-For is trusted, so that the requests are charged to 8,192
 * addresses in turn (about a dozen requests per address and minute, far below the weight limit;
 * the rate limiter is fuzzed by the rare requests without a usable address).
 */
function forwardedFor(rng: Rng): string | undefined {
  const roll = rng.next();
  if (roll < 0.01) return undefined;
  if (roll < 0.02) return rng.pick(['not-an-ip', '999.1.1.1', ', ,', '::ffff:1.2.3.4', '1.2.3.4, 5.6.7.8']);
  ipCounter = (ipCounter + 1) & 8191;
  return `10.1.${ipCounter >> 8}.${ipCounter & 255}`;
}

/** One random request. */
function generate(rng: Rng, ids: Identities): FuzzRequest {
  const headers: Record<string, string | string[]> = {};
  const xff = forwardedFor(rng);
  if (xff !== undefined) headers['x-forwarded-for'] = xff;

  const unknown = rng.chance(0.03);
  const ep = drawEndpoint(rng);
  let method = rng.chance(0.12) ? rng.pick(METHODS) : ep.method;
  let p = unknown ? rng.pick(UNKNOWN_PATHS) : ep.path;
  if (rng.chance(0.06)) p = trickPath(rng, p);
  const names = unknown ? Object.keys(CANDIDATES).slice(0, 6) : ep.params;
  let queryPairs = paramPairs(rng, names, ids);
  let bodyPairs: string[] = [];
  let body: string | Buffer | Readable | undefined;
  let contentType: string | undefined;

  // Form parameters travel in the body too (not on GET: the gateway reads none there).
  if (method !== 'GET' && method !== 'HEAD' && ep.fields === undefined && rng.chance(0.25)) {
    const split = rng.int(queryPairs.length + 1);
    bodyPairs = queryPairs.slice(split);
    queryPairs = queryPairs.slice(0, split);
    contentType = 'application/x-www-form-urlencoded';
  }

  // Authentication.
  const signed = ep.auth === 'signed' || ep.auth === 'trade' || ep.auth === 'withdraw';
  if (signed || ep.auth === 'key') {
    const keyRoll = rng.next();
    let signer: Signer;
    // TRADE requests are signed validly only with keys whose owners hold nothing.
    if (ep.auth === 'signed' || ep.auth === 'key')
      signer = rng.pick(rng.chance(0.6) ? ids.readers : ids.traders);
    else signer = rng.pick(rng.chance(0.7) ? ids.traders : ids.readers);
    if (keyRoll < 0.85) headers['x-mbx-apikey'] = signer.apiKey;
    else if (keyRoll < 0.9) headers['x-mbx-apikey'] = 'k'.repeat(64);
    else if (keyRoll < 0.93) headers['x-mbx-apikey'] = [signer.apiKey, signer.apiKey];
    else if (keyRoll < 0.96)
      headers['x-mbx-apikey'] = rng.pick(['short', '', 'é'.repeat(64), `${signer.apiKey}x`]);
    if (signed) {
      const tsRoll = rng.next();
      const unitMicro = rng.chance(0.05);
      if (unitMicro) headers['x-mbx-time-unit'] = 'MICROSECOND';
      const ts = unitMicro ? nowMicros() : nowMs();
      if (tsRoll < 0.8) queryPairs.push(`timestamp=${ts}`);
      else if (tsRoll < 0.85) queryPairs.push(`timestamp=${ts - 120_000}`);
      else if (tsRoll < 0.9) queryPairs.push(`timestamp=${ts + 60_000}`);
      else if (tsRoll < 0.95) queryPairs.push(`timestamp=${encodeValue(rng, rng.pick(JUNK))}`);
      const sigRoll = rng.next();
      const toBody = bodyPairs.length > 0 && rng.chance(0.5);
      const query = queryPairs.join('&');
      const form = bodyPairs.join('&');
      if (sigRoll < 0.7) {
        // Valid over what is sent (Binance's totalParams: query string, then body).
        const sig = sign(signer.secret, `${query}${form}`);
        if (toBody) bodyPairs.push(`signature=${sig}`);
        else queryPairs.push(`signature=${sig}`);
      } else if (sigRoll < 0.8) queryPairs.push(`signature=${'0'.repeat(64)}`);
      else if (sigRoll < 0.85) queryPairs.push(`signature=${encodeValue(rng, rng.pick(JUNK))}`);
      else if (sigRoll < 0.9) {
        const sig = sign(signer.secret, `${query}${form}`);
        queryPairs.push(`signature=${sig}`, 'recvWindow=5000');
      } else if (sigRoll < 0.93)
        queryPairs.push(`signature=${sign(signer.secret, query)}`, `signature=${'1'.repeat(64)}`);
      if (rng.chance(0.03)) headers['x-mbx-time-unit'] = rng.pick(['SECOND', 'millisecond', '', 'é']);
    }
  } else if (ep.auth === 'web' || ep.auth === 'web-end') {
    const roll = rng.next();
    if (roll < 0.75 && ep.auth === 'web') headers.authorization = `Bearer ${rng.pick(ids.sessions)}`;
    else if (roll < 0.85) headers.authorization = `Bearer ${'s'.repeat(43)}`;
    else if (roll < 0.9)
      headers.authorization = rng.pick(['Bearer', 'Basic dXNlcjpwYXNz', 'bearer x', `Bearer ${HUGE_TEXT}`]);
    else if (roll < 0.93) headers.authorization = [`Bearer ${rng.pick(ids.sessions)}`, 'Bearer x'];
  } else if (ep.auth === 'admin') {
    headers.authorization = rng.pick([`Bearer ${'z'.repeat(ADMIN_TOKEN.length)}`, 'Bearer short', '']);
  } else if (rng.chance(0.05)) {
    headers['x-mbx-apikey'] = rng.pick(['bad key', 'k'.repeat(64), '']);
  }
  if (!signed && rng.chance(0.03)) headers['x-mbx-time-unit'] = rng.pick(['MICROSECOND', 'nanosecond', '']);

  // Body.
  if (ep.fields !== undefined && !unknown) {
    body = jsonBody(rng, ep.fields);
    contentType = rng.chance(0.9) ? 'application/json' : rng.pick(CONTENT_TYPES);
  } else if (bodyPairs.length > 0) body = bodyPairs.join('&');
  const extra = rng.next();
  if (extra < 0.003) {
    body = rng.chance(0.5) ? HUGE_BODY : HUGE_JSON;
  } else if (extra < 0.006) {
    body = Readable.from([HUGE_BODY.subarray(0, 40_000), HUGE_BODY.subarray(0, 40_000)]);
  } else if (extra < 0.03) {
    const text = rng.chance(0.5) ? rng.pick(BAD_JSON) : rng.pick(JUNK).repeat(1 + rng.int(20));
    body = rng.chance(0.3) ? Readable.from([Buffer.from(text)]) : text;
    if (rng.chance(0.5)) contentType = rng.pick(CONTENT_TYPES);
  } else if (extra < 0.04) {
    body = Buffer.from(Array.from({ length: 1 + rng.int(2048) }, () => rng.int(256)));
  }
  if (contentType !== undefined && contentType !== '') headers['content-type'] = contentType;
  if (rng.chance(0.02)) headers['content-type'] = [rng.pick(CONTENT_TYPES), rng.pick(CONTENT_TYPES)];

  // Header tricks (few enough: uWS waits silently on a request with more than ~48 headers).
  if (rng.chance(0.05)) {
    const n = 1 + rng.int(20);
    for (let i = 0; i < n; i++)
      headers[`x-fuzz-${i}`] = rng.pick(['', 'é', i < 4 ? HUGE_TEXT : 'x', '\t', '1', 'a, b']);
  }
  if (rng.chance(0.01)) headers.cookie = 'session=1; x=é';
  if (rng.chance(0.01)) headers['sec-websocket-key'] = 'dGhlIHNhbXBsZSBub25jZQ==';
  if (rng.chance(0.02)) method = rng.pick(METHODS);

  const query = queryPairs.join('&');
  const fullPath = query === '' ? (rng.chance(0.02) ? `${p}?` : p) : `${p}?${query}`;
  if (typeof body === 'string' && body === '' && rng.chance(0.5)) body = undefined;
  return {
    method,
    path: fullPath,
    headers,
    ...(body === undefined ? {} : { body }),
    what: `${method} ${fullPath.slice(0, 300)} headers=${JSON.stringify(headers).slice(0, 300)} body=${
      body === undefined
        ? 'none'
        : body instanceof Readable
          ? 'stream'
          : JSON.stringify(String(body).slice(0, 200))
    }`,
    admin: p.startsWith('/admin/'),
  };
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames

const WS_METHODS: readonly string[] = [
  'ping',
  'time',
  'exchangeInfo',
  'session.logon',
  'session.status',
  'session.logout',
  'session.subscriptions',
  'userDataStream.subscribe',
  'userDataStream.subscribe.signature',
  'userDataStream.unsubscribe',
  'order.place',
  'order.cancel',
  'order.status',
  'v3/ping',
  'order.list.place',
  'nope',
  '',
];

function wsId(rng: Rng): unknown {
  return rng.pick<unknown>([1, 'abc', null, 0, -1, 1.5, '', {}, [], true, 'é😀', Number.MAX_SAFE_INTEGER]);
}

/** A WebSocket API frame: garbage, bad JSON, or a request with bad (or validly signed, garbage) params. */
function wsFrame(rng: Rng, ids: Identities): { data: string | Buffer; huge: boolean } {
  const roll = rng.next();
  if (roll < 0.005)
    return { data: `{"id":1,"method":"ping","params":{"x":"${'a'.repeat(70_000)}"}}`, huge: true };
  if (roll < 0.1) return { data: rng.pick(JUNK).repeat(1 + rng.int(5)), huge: false };
  if (roll < 0.15)
    return { data: Buffer.from(Array.from({ length: 1 + rng.int(512) }, () => rng.int(256))), huge: false };
  if (roll < 0.25) return { data: rng.pick(BAD_JSON), huge: false };
  if (roll < 0.3) return { data: JSON.stringify(rng.pick(JSON_JUNK)), huge: false };
  const method = rng.pick(WS_METHODS);
  const params: Record<string, unknown> = {};
  const names = method.startsWith('order.')
    ? [...ORDER_PARAMS, 'orderId', 'origClientOrderId']
    : ['symbol', 'symbols'];
  for (const n of names) {
    if (!rng.chance(0.4)) continue;
    const v = paramValue(rng, n, ids);
    params[n] = rng.chance(0.15)
      ? rng.pick(JSON_JUNK)
      : /^-?\d+(\.\d+)?$/.test(v) && rng.chance(0.3)
        ? Number(v)
        : v;
  }
  if (rng.chance(0.1)) params.returnRateLimits = rng.pick<unknown>([true, false, 'x', 1]);
  if (rng.chance(0.5)) {
    const signer = rng.pick(rng.chance(0.5) ? ids.traders : ids.readers);
    params.apiKey = rng.chance(0.9) ? signer.apiKey : 'k'.repeat(64);
    params.timestamp = rng.chance(0.9) ? nowMs() : rng.pick(JUNK);
    const payload = Object.keys(params)
      .sort()
      .map((k) => {
        const v = params[k];
        return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
      })
      .join('&');
    params.signature = rng.chance(0.8) ? sign(signer.secret, payload) : 'f'.repeat(64);
  }
  const frame: Record<string, unknown> = {};
  if (rng.chance(0.95)) frame.id = wsId(rng);
  if (rng.chance(0.95)) frame.method = rng.chance(0.95) ? method : rng.pick(JSON_JUNK);
  if (rng.chance(0.8)) frame.params = rng.chance(0.9) ? params : rng.pick(JSON_JUNK);
  return { data: JSON.stringify(frame), huge: false };
}

// ---------------------------------------------------------------------------------------------
// The HTTP client runs in a worker thread: generating, signing and sending 100,000 requests on
// the thread that also serves them would double the time the run takes on two cores.

/** What the client worker is given. */
interface ClientJob {
  readonly origin: string;
  readonly seed: number;
  readonly requests: number;
  readonly ids: Identities;
  /** The gateway's clock when the job was posted (the worker sets its own against it). */
  readonly serverMicros: number;
}

/** What it reports. */
interface ClientResult {
  readonly sent: number;
  readonly seconds: number;
  readonly statuses: [number, number][];
  readonly failures: string[];
  /** A last ping over the connections of the run. */
  readonly pingStatus: number;
}

/** Sends `job.requests` random requests, `IN_FLIGHT` at a time over keep-alive, and checks each reply. */
async function runClient(job: ClientJob): Promise<ClientResult> {
  const rng = new Rng(job.seed);
  const pool = new Pool(job.origin, {
    connections: 16,
    pipelining: 1,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let sent = 0;
  const fail = (m: string) => {
    if (failures.length < 20) failures.push(m);
  };
  const sender = async (): Promise<void> => {
    while (sent < job.requests && failures.length < 20) {
      sent++;
      const r = generate(rng, job.ids);
      try {
        const res = await pool.request({
          method: r.method,
          path: r.path,
          headers: r.headers,
          ...(r.body === undefined ? {} : { body: r.body }),
        });
        const text = await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) {
          fail(`${res.statusCode} ${text.slice(0, 300)} <- ${r.what}`);
          continue;
        }
        if (res.statusCode < 400 || r.method === 'HEAD') continue;
        let reply: unknown;
        try {
          reply = JSON.parse(text);
        } catch {
          fail(`${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)} <- ${r.what}`);
          continue;
        }
        const { code, msg } = (reply ?? {}) as { code?: unknown; msg?: unknown };
        const codeOk =
          typeof code === 'number' || (r.admin && typeof code === 'string' && code.includes('.'));
        if (!codeOk || typeof msg !== 'string')
          fail(`${res.statusCode} error without {code, msg}: ${text.slice(0, 200)} <- ${r.what}`);
      } catch (e) {
        fail(`no reply (${(e as Error).message}) <- ${r.what}`);
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  const seconds = (Date.now() - started) / 1000;
  let pingStatus = 0;
  try {
    const ping = await pool.request({
      method: 'GET',
      path: '/api/v3/ping',
      headers: { 'x-forwarded-for': '10.255.0.2' },
    });
    pingStatus = ping.statusCode;
    await ping.body.text();
  } catch (e) {
    fail(`the last ping got no reply (${(e as Error).message})`);
  }
  await pool.close();
  return { sent, seconds, statuses: [...statuses].sort((a, b) => a[0] - b[0]), failures, pingStatus };
}

/** Runs `job` in a worker thread (this file, loaded again there). */
function runClientInWorker(job: ClientJob): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = spawnWorker(new URL(import.meta.url), { workerData: { fuzzClient: job } });
    worker.once('message', (r: ClientResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the fuzz client worker exited (${code}) without a result`)),
    );
  });
}

const clientJob = (workerData as { fuzzClient?: ClientJob } | null)?.fuzzClient;
if (!isMainThread && clientJob !== undefined) {
  clockOffsetMicros = clientJob.serverMicros - systemClock.nowMicros();
  void runClient(clientJob).then((r) => parentPort!.postMessage(r));
}

// ---------------------------------------------------------------------------------------------

// In the client worker only the code above runs: mocha is not there.
if (isMainThread)
  describe(`fuzz: the platform under random and malformed requests (FUZZ_SEED=${SEED})`, function () {
    this.timeout(300_000);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'crossbook-fuzz-'));
    let hasher: { close(): Promise<void> } | undefined;
    const configEnv = {
      CROSSBOOK_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      CROSSBOOK_LINK_PORT: '0',
      CROSSBOOK_FSYNC: 'false',
      CROSSBOOK_ADMIN_TOKEN: ADMIN_TOKEN,
      // Each request names its own address, so that 100,000 requests are not one IP's rate limit.
      CROSSBOOK_TRUST_PROXY: 'true',
    };
    const errorLogs: string[] = [];
    const errorSink = new Writable({
      write(chunk: Buffer, _enc, done) {
        errorLogs.push(chunk.toString('utf8'));
        done();
      },
    });
    let platform: Platform;
    let origin: string;
    let ids: Identities;
    let balancesBefore: Map<number, unknown>;
    let lastSetupUser = 0;
    const note = (m: string) => `${m} (replay with FUZZ_SEED=${SEED})`;

    const call = async (
      method: string,
      route: string,
      opts: { body?: unknown; bearer?: string; apiKey?: string } = {},
    ): Promise<{ status: number; body: Record<string, unknown> }> => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-forwarded-for': '10.255.0.1',
      };
      if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
      if (opts.apiKey !== undefined) headers['x-mbx-apikey'] = opts.apiKey;
      const res = await fetch(`${origin}${route}`, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const signedCall = (who: Signer, method: string, route: string, params: Record<string, string>) => {
      const query = new URLSearchParams({ ...params, timestamp: String(nowMs()) }).toString();
      return call(method, `${route}?${query}&signature=${sign(who.secret, query)}`, { apiKey: who.apiKey });
    };
    const createUser = async (
      email: string,
      deposits: { asset: string; amount: string }[],
      kycTier: number,
    ) => {
      const r = await call('POST', '/admin/v1/users', {
        bearer: ADMIN_TOKEN,
        body: { email, password: 'a fuzz passphrase 1234', deposits, kycTier },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      lastSetupUser = Math.max(lastSetupUser, r.body.userId as number);
      return {
        userId: r.body.userId as number,
        apiKey: r.body.apiKey as string,
        secret: r.body.secretKey as string,
      };
    };
    const login = async (email: string): Promise<string> => {
      const r = await call('POST', `${W}/login`, { body: { email, password: 'a fuzz passphrase 1234' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.sessionToken as string;
    };
    const readOnlyKey = async (email: string): Promise<Signer> => {
      const r = await call('POST', `${W}/apiKeys`, {
        bearer: await login(email),
        body: { label: 'fuzz reader', permissions: { trade: false, withdraw: false } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return { apiKey: r.body.apiKey as string, secret: r.body.secretKey as string };
    };
    const allBalances = async (): Promise<Map<number, unknown>> => {
      const users = await platform.db.db.selectFrom('users').select('id').orderBy('id').execute();
      const out = new Map<number, unknown>();
      for (const u of users) out.set(u.id, await platform.client.balancesOf(u.id));
      return out;
    };

    before(async () => {
      // Imported here, not at the top: the client worker loads this file too and needs none of it.
      const { pino } = await import('pino');
      const { createPasswordHasher } = await import('../../accounts/identity/password-hasher.ts');
      const { loadConfig } = await import('../../platform/config.ts');
      const { startPlatform } = await import('../../platform/platform.ts');
      const { gatewayRoutes } = await import('../../platform/routes.ts');
      const passwords = createPasswordHasher({ cost: { log2N: 10 }, maxThreads: 1 });
      hasher = passwords;
      platform = await startPlatform(loadConfig(configEnv), {
        hasher: passwords,
        logger: pino({ level: 'error' }, errorSink),
        routes: gatewayRoutes,
      });
      origin = `http://127.0.0.1:${platform.gateway!.port}`;
      // Users with funds and resting orders; their API keys used by the fuzz are read-only.
      const alice = await createUser(
        'alice@fuzz.test',
        [
          { asset: 'USDT', amount: '50000' },
          { asset: 'BTC', amount: '2' },
          { asset: 'ETH', amount: '20' },
        ],
        1,
      );
      const bob = await createUser(
        'bob@fuzz.test',
        [
          { asset: 'USDT', amount: '20000' },
          { asset: 'ETH', amount: '5' },
        ],
        2,
      );
      const resting: [typeof alice, Record<string, string>][] = [
        [
          alice,
          { symbol: 'BTCUSDT', side: 'SELL', price: '70000', quantity: '0.5', newClientOrderId: 'ask-1' },
        ],
        [alice, { symbol: 'ETHUSDT', side: 'BUY', price: '1000', quantity: '1' }],
        [bob, { symbol: 'BTCUSDT', side: 'BUY', price: '40000', quantity: '0.2' }],
        [bob, { symbol: 'ETHBTC', side: 'SELL', price: '0.05', quantity: '2' }],
      ];
      for (const [who, order] of resting) {
        const r = await signedCall(who, 'POST', '/api/v3/order', {
          ...order,
          type: 'LIMIT',
          timeInForce: 'GTC',
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.status, 'NEW');
      }
      const readers = [await readOnlyKey('alice@fuzz.test'), await readOnlyKey('bob@fuzz.test')];
      // Users with trade keys and nothing to trade with.
      const traders: Signer[] = [];
      for (let i = 0; i < 6; i++) traders.push(await createUser(`pauper${i}@fuzz.test`, [], 1));
      // Their orders cannot move money: a well-formed order is refused for want of funds.
      const refused: Record<string, string>[] = [
        {
          symbol: 'BTCUSDT',
          side: 'BUY',
          type: 'LIMIT',
          timeInForce: 'GTC',
          price: '70000',
          quantity: '0.001',
        },
        { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.001' },
        { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quoteOrderQty: '100' },
        { symbol: 'BTCUSDT', side: 'SELL', type: 'MARKET', quantity: '0.001' },
      ];
      for (const order of refused) {
        const r = await signedCall(traders[0]!, 'POST', '/api/v3/order', order);
        assert.deepEqual([r.status, r.body.code], [400, -2010], JSON.stringify(r.body));
      }
      // A web user without funds or KYC tier, signed in twice.
      await createUser('web@fuzz.test', [], 0);
      const sessions = [await login('web@fuzz.test'), await login('web@fuzz.test')];
      const listenKeys: string[] = [];
      for (const t of traders.slice(0, 2)) {
        const r = await call('POST', '/api/v3/userDataStream', { apiKey: t.apiKey });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        listenKeys.push(r.body.listenKey as string);
      }
      ids = { readers, traders, sessions, listenKeys };
      await platform.persister!.flushed(platform.core!.lastSeq);
      balancesBefore = await allBalances();
      assert.equal(errorLogs.length, 0, errorLogs.join('\n'));
    });

    after(async () => {
      await platform?.close();
      await hasher?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers what earlier runs found with a 4xx, not a 500', async () => {
      const [reader] = ids.readers;
      const DAY_MS = 86_400_000;
      const day = nowMs() - DAY_MS;
      const cases: [string, Record<string, string>][] = [
        // A time beyond a Date's range (the wallet histories).
        ['/sapi/v1/capital/withdraw/history', { endTime: '99999999999999999999' }],
        ['/sapi/v1/capital/deposit/hisrec', { startTime: '99999999999999999999' }],
        // A NUL character, which PostgreSQL refuses in text.
        ['/sapi/v1/capital/deposit/hisrec', { txId: 'a\u0000b' }],
        // Order id 0, which the history store refuses.
        ['/api/v3/allOrders', { symbol: 'BTCUSDT', orderId: '0' }],
        ['/api/v3/myTrades', { symbol: 'BTCUSDT', orderId: '0' }],
        // Exactly 24 hours in milliseconds (the end's whole millisecond made it 24 h + 999 µs).
        ['/api/v3/allOrders', { symbol: 'BTCUSDT', startTime: String(day), endTime: String(day + DAY_MS) }],
        ['/api/v3/myTrades', { symbol: 'BTCUSDT', startTime: String(day), endTime: String(day + DAY_MS) }],
      ];
      for (const [route, params] of cases) {
        const r = await signedCall(reader!, 'GET', route, params);
        assert.ok(
          r.status < 500,
          `${route} ${JSON.stringify(params)}: ${r.status} ${JSON.stringify(r.body)}`,
        );
      }
      const all = await signedCall(reader!, 'GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', orderId: '0' });
      assert.deepEqual(
        (all.body as unknown as { clientOrderId: string }[]).map((o) => o.clientOrderId),
        ['ask-1'],
      );
      const nul = await signedCall(reader!, 'GET', '/sapi/v1/capital/deposit/hisrec', { txId: 'a\u0000b' });
      assert.deepEqual([nul.status, nul.body.code], [400, -1100]);
      const web = await call('GET', `${W}/deposits?txId=a%00b`, { bearer: ids.sessions[0]! });
      assert.deepEqual([web.status, web.body.code], [400, -1100]);
      // NUL characters in the web API's JSON fields.
      const nulBodies: [string, Record<string, unknown>][] = [
        ['register', { email: 'nul\u0000@example.com', password: 'a long passphrase\u0000 42' }],
        ['login', { email: 'web@fuzz.test\u0000', password: 'a fuzz passphrase 1234\u0000' }],
        ['apiKeys', { label: 'a\u0000b' }],
        ['withdrawalAddresses', { coin: 'BTC', network: 'BTC', address: 'bc1q\u0000', label: 'a\u0000b' }],
        [
          'kyc',
          {
            tier: 1,
            identity: {
              fullName: 'A\u0000B',
              dateOfBirth: '1990-01-01',
              country: 'DE',
              documentType: 'PASSPORT',
              documentNumber: 'X\u00001',
            },
          },
        ],
        [
          'withdrawals',
          { coin: 'BTC', network: 'BTC', address: 'bc1q\u0000', amount: '1', withdrawOrderId: 'w\u0000' },
        ],
      ];
      for (const [route, body] of nulBodies) {
        const r = await call('POST', `${W}/${route}`, { bearer: ids.sessions[0]!, body });
        assert.ok(r.status < 500, `${route}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      assert.deepEqual(errorLogs, []);
    });

    it(`answers ${REQUESTS} random requests over keep-alive: never a 5xx, never silence, errors as {code, msg}`, async () => {
      const cpu = process.cpuUsage();
      const r = await runClientInWorker({
        origin,
        seed: SEED,
        requests: REQUESTS,
        ids,
        serverMicros: nowMicros(),
      });
      const cpuUsed = process.cpuUsage(cpu);
      const statuses = new Map(r.statuses);
      console.log(
        `      fuzz seed ${SEED}: ${r.sent} requests in ${r.seconds.toFixed(1)} s (cpu ${(
          (cpuUsed.user + cpuUsed.system) / 1e6
        ).toFixed(1)} s), statuses ${JSON.stringify(Object.fromEntries(r.statuses))}`,
      );
      assert.deepEqual(r.failures, [], note('failures'));
      assert.ok(r.sent >= REQUESTS);
      // Still answering on the keep-alive connections of the run.
      assert.equal(r.pingStatus, 200);
      // Each kind of answer shows up: the fuzz reached the handlers, not only the front door.
      for (const s of [200, 400, 401, 404, 405, 413])
        assert.ok((statuses.get(s) ?? 0) > 0, note(`no ${s} reply`));
    });

    it(`answers ${WS_FRAMES} random WebSocket frames: one reply per frame, never a 5xx status`, async () => {
      const rng = new Rng(SEED ^ 0x5bd1e995);
      const wsOrigin = origin.replace('http', 'ws');
      const failures: string[] = [];
      let frames = 0;
      let replies = 0;
      const fail = (m: string) => {
        if (failures.length < 20) failures.push(m);
      };
      let wsIp = 0;
      const open = (url: string): Promise<WebSocket | null> =>
        new Promise((resolve) => {
          // An address of its own: a malformed X-Forwarded-For shares one rate-limit bucket with
          // every other malformed one, which the HTTP fuzz may have driven into a ban (a 429/418
          // refusal of the upgrade is the limiter working, not a failure to find).
          wsIp = (wsIp + 1) & 65535;
          const ws = new WebSocket(url, {
            headers: { 'x-forwarded-for': `10.2.${wsIp >> 8}.${wsIp & 255}` },
          });
          ws.binaryType = 'arraybuffer';
          ws.addEventListener('open', () => resolve(ws), { once: true });
          ws.addEventListener('error', () => resolve(null), { once: true });
          ws.addEventListener('close', () => resolve(null), { once: true });
        });
      const checkReply = (data: unknown, what: string): boolean => {
        let msg: { status?: unknown; error?: { code?: unknown; msg?: unknown } };
        try {
          msg = JSON.parse(
            typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8'),
          );
        } catch {
          fail(`a frame that is not JSON: ${String(data).slice(0, 200)} <- ${what}`);
          return true;
        }
        if (msg.status === undefined) return false; // a stream event, not a reply
        if (typeof msg.status !== 'number' || msg.status >= 500) fail(`status ${msg.status} <- ${what}`);
        if (
          msg.error !== undefined &&
          (typeof msg.error.code !== 'number' || typeof msg.error.msg !== 'string')
        )
          fail(`error without {code, msg}: ${JSON.stringify(msg).slice(0, 200)} <- ${what}`);
        return true;
      };

      /** One WebSocket API connection: frames one at a time, each answered before the next. */
      const wsApiSession = async (count: number): Promise<void> => {
        const query = rng.pick([
          '',
          '?returnRateLimits=false',
          '?timeUnit=MICROSECOND',
          '?timeUnit=x',
          '?a=%zz',
        ]);
        const ws = await open(`${wsOrigin}/ws-api/v3${query}`);
        if (ws === null) {
          if (query !== '?timeUnit=x') fail(`/ws-api/v3${query} did not open`);
          return;
        }
        const inbox: unknown[] = [];
        const state: { wake?: () => void; closed?: number } = {};
        ws.addEventListener('message', (m) => {
          inbox.push(m.data);
          state.wake?.();
        });
        ws.addEventListener('close', (e) => {
          state.closed = e.code;
          state.wake?.();
        });
        for (let i = 0; i < count && state.closed === undefined; i++) {
          const { data, huge } = wsFrame(rng, ids);
          const what = `ws-api frame ${typeof data === 'string' ? data.slice(0, 200) : `binary ${data.length}`}`;
          frames++;
          ws.send(data);
          const deadline = Date.now() + 10_000;
          let answered = false;
          while (!answered && (inbox.length > 0 || (state.closed === undefined && Date.now() < deadline))) {
            if (inbox.length === 0) {
              await new Promise<void>((resolve) => {
                state.wake = resolve;
                setTimeout(resolve, 1_000);
              });
              state.wake = undefined;
              continue;
            }
            if (checkReply(inbox.shift(), what)) {
              answered = true;
              replies++;
            }
          }
          if (answered) continue;
          // The server may close on a frame over its 64 KiB limit (1009), never on another frame.
          if (state.closed === undefined) fail(`no reply within 10 s <- ${what}`);
          else if (!huge) fail(`closed (${state.closed}) without a reply <- ${what}`);
          break;
        }
        if (state.closed === undefined) ws.close();
      };

      /** Other WebSocket paths: frames sent, whatever the server does with them. */
      const otherSession = async (count: number): Promise<void> => {
        const target = rng.pick([
          `/ws/${rng.pick(ids.listenKeys)}`,
          `/ws/${'x'.repeat(60)}`,
          '/ws/btcusdt@trade',
          '/stream?streams=btcusdt@trade/ethbtc@depth',
          `/ws/${rng.pick(ids.listenKeys)}?timeUnit=x`,
        ]);
        const ws = await open(`${wsOrigin}${target}`);
        if (ws === null) return;
        ws.addEventListener('message', (m) => {
          if (typeof m.data === 'string' && m.data.includes('"status"')) checkReply(m.data, target);
        });
        for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) {
          const { data } = wsFrame(rng, ids);
          frames++;
          ws.send(data);
        }
        await new Promise((r) => setTimeout(r, 20));
        ws.close();
      };

      const wsWorker = async (): Promise<void> => {
        while (frames < WS_FRAMES && failures.length < 20) {
          const count = 20 + rng.int(200);
          if (rng.chance(0.85)) await wsApiSession(count);
          else await otherSession(Math.min(count, 30));
        }
      };
      await Promise.all(Array.from({ length: 12 }, wsWorker));
      console.log(`      fuzz seed ${SEED}: ${frames} WebSocket frames, ${replies} WebSocket API replies`);
      assert.deepEqual(failures, [], note('failures'));
      assert.ok(frames >= WS_FRAMES);
      assert.ok(replies > WS_FRAMES / 2, note(`only ${replies} replies`));
    });

    it('still answers, logged no error, and left every balance as it was; the ledger agrees', async () => {
      const ping = await fetch(`${origin}/api/v3/ping`, { headers: { 'x-forwarded-for': '10.255.0.4' } });
      assert.equal(ping.status, 200);
      assert.deepEqual(errorLogs, [], note('errors were logged'));
      await platform.persister!.flushed(platform.core!.lastSeq);
      const after = await allBalances();
      for (const [userId, before] of balancesBefore)
        assert.deepEqual(after.get(userId), before, note(`user ${userId}`));
      for (const [userId, balances] of after) {
        if (userId <= lastSetupUser) continue;
        for (const b of balances as { free: number; locked: number }[])
          assert.deepEqual([b.free, b.locked], [0, 0], note(`new user ${userId}`));
      }
      const ledger = await call('GET', '/admin/v1/ledger/check', { bearer: ADMIN_TOKEN });
      assert.equal(ledger.status, 200, JSON.stringify(ledger.body));
      assert.deepEqual(ledger.body.differences, [], note('ledger'));
    });
  });
