/**
 * The accounts database as Kysely sees it. Columns are snake_case in SQL and camelCase here
 * (Kysely's CamelCasePlugin). Money is always an integer count of the asset's smallest unit
 * (`*Units`), prices in ticks and quantities in lots of the symbol's market: the same
 * integers the engine uses, parsed from int8 to number with a safe-integer check. Decimal
 * strings exist only at the API edge.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamp column: read as Date, written as Date or left to the default. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UsersTable {
  id: Generated<number>;
  /** Lower-cased, unique. */
  email: string;
  passwordHash: string;
  status: ColumnType<'ACTIVE' | 'DISABLED', 'ACTIVE' | 'DISABLED' | undefined>;
  kycTier: ColumnType<number, number | undefined>;
  /** The TOTP secret, encrypted under the master key (null: no second factor set up). */
  totpSecretEnc: string | null;
  totpEnabled: ColumnType<boolean, boolean | undefined>;
  /** The last TOTP time step a code was accepted at: no code of it or before is accepted again. */
  totpLastStep: ColumnType<number | null, number | null | undefined>;
  failedLogins: ColumnType<number, number | undefined>;
  lockedUntil: Date | null;
  /** Per-user commission in parts per million (null: the platform default). */
  makerPpm: number | null;
  takerPpm: number | null;
  createdAt: CreatedAt;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the session token: the token itself is never stored. */
  id: string;
  userId: number;
  createdAt: CreatedAt;
  expiresAt: Timestamp;
  revokedAt: Date | null;
  ip: string | null;
  userAgent: string | null;
}

export interface ApiKeysTable {
  id: Generated<number>;
  userId: number;
  label: string;
  /** The public key id a client sends in X-MBX-APIKEY (64 characters). */
  apiKey: string;
  keyType: 'HMAC' | 'ED25519';
  /** HMAC: the secret, encrypted under the master key. */
  secretEnc: string | null;
  /** ED25519: the client's public key (PEM). */
  publicKey: string | null;
  canRead: boolean;
  canTrade: boolean;
  canWithdraw: boolean;
  /** IP allow-list; empty: any address. */
  ipAllow: ColumnType<string[], string[] | undefined>;
  createdAt: CreatedAt;
  deletedAt: Date | null;
}

export interface KycSubmissionsTable {
  id: Generated<number>;
  userId: number;
  requestedTier: number;
  /**
   * Non-identifying metadata that operators list by (JSON: documentType, country). Rows written
   * before the sealed column existed hold the whole identity here until sealed.
   */
  data: ColumnType<Record<string, unknown>, string, string>;
  /**
   * The identity data (JSON), sealed under the master key with the context
   * "kyc:<id>:<userId>", so it opens on its own row only. Null only on rows not yet sealed.
   */
  dataEnc: ColumnType<string | null, string | null | undefined, string | null>;
  status: ColumnType<'PENDING' | 'APPROVED' | 'REJECTED', 'PENDING' | undefined>;
  reason: string | null;
  reviewer: string | null;
  submittedAt: CreatedAt;
  reviewedAt: Date | null;
}

export interface WithdrawalAddressesTable {
  id: Generated<number>;
  userId: number;
  asset: string;
  network: string;
  address: string;
  label: string;
  createdAt: CreatedAt;
}

export interface DepositsTable {
  id: Generated<number>;
  userId: number;
  asset: string;
  network: string;
  /** The external transaction id: unique per asset and network (idempotency key). */
  txId: string;
  amountUnits: number;
  status: 'PENDING' | 'CREDITED' | 'REJECTED';
  /** The engine seq that credited it. */
  seq: number | null;
  source: string;
  createdAt: CreatedAt;
  creditedAt: Date | null;
}

export type WithdrawalStatus =
  | 'REQUESTED'
  | 'HELD'
  | 'AWAITING_APPROVAL'
  | 'COMPLETED'
  | 'REJECTED'
  | 'FAILED';

export interface WithdrawalsTable {
  /** Also the engine's refId for the hold. */
  id: Generated<number>;
  userId: number;
  asset: string;
  network: string;
  address: string;
  amountUnits: number;
  feeUnits: ColumnType<number, number | undefined>;
  status: WithdrawalStatus;
  reason: string | null;
  /** The client's own id (Binance's withdrawOrderId), unique per user when given. */
  clientId: string | null;
  txId: string | null;
  createdAt: CreatedAt;
  updatedAt: Timestamp;
}

export interface WithdrawalEventsTable {
  id: Generated<number>;
  withdrawalId: number;
  status: WithdrawalStatus;
  actor: string;
  note: string | null;
  at: CreatedAt;
}

/** Orders as the persister projects them from the engine's events. */
export interface OrdersTable {
  orderId: number;
  userId: number;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: string;
  timeInForce: string;
  stpMode: string;
  priceTicks: number;
  qtyLots: number;
  quoteQtyUnits: number;
  clientOrderId: string;
  /** NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, EXPIRED_IN_MATCH, REJECTED. */
  status: string;
  executedLots: number;
  cumQuoteUnits: number;
  expiryReason: string | null;
  createdSeq: number;
  updatedSeq: number;
  createdMicros: number;
  updatedMicros: number;
}

export interface TradesTable {
  symbol: string;
  tradeId: number;
  priceTicks: number;
  qtyLots: number;
  quoteUnits: number;
  buyerUserId: number;
  sellerUserId: number;
  buyerOrderId: number;
  sellerOrderId: number;
  takerSide: 'BUY' | 'SELL';
  /** Paid in the base asset by the buyer, in the quote asset by the seller. */
  buyerFeeUnits: number;
  sellerFeeUnits: number;
  seq: number;
  tsMicros: number;
  /**
   * The id of the trade's first ledger posting; its postings are not rows of `ledger_entries`
   * but read from this row through the view `ledger` (migration 2026_11_29_01_00_00). Null: a
   * trade whose postings are rows of `ledger_entries` (written before that migration), or one
   * written by the trade store's `putTrades`, without postings.
   */
  ledgerId: number | null;
  /** The trade's base amount in units (null where `ledgerId` is). */
  baseUnits: number | null;
}

/**
 * The first order the persister wrote in each second of creation time: turns an `allOrders`
 * time window into an order id range (migration 2026_11_29_02_00_00).
 */
export interface OrderTimeMarksTable {
  orderId: number;
  createdMicros: number;
}

/**
 * Per user, a version that goes up (by trigger) whenever anything an API key lookup reads
 * changes: the user's status or KYC tier, a key's fields or deletion (2026_11_29_03_00_00).
 */
export interface AuthVersionsTable {
  userId: number;
  version: number;
  changedAt: Date;
}

/** The listed markets' assets, for the trade postings of the view `ledger`. */
export interface SymbolsTable {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
}

/** Ledger accounts besides users: the fee account is user 0; the outside world is -1. */
export const EXTERNAL_ACCOUNT = -1;
export const FEE_ACCOUNT = 0;

/**
 * The ledger entries written as rows: deposits and withdrawals (and the trade postings written
 * before migration 2026_11_29_01_00_00). Read the ledger through the view `ledger`, which
 * adds every trade's postings.
 */
export interface LedgerEntriesTable {
  id: Generated<number>;
  seq: number;
  /** A user id, FEE_ACCOUNT or EXTERNAL_ACCOUNT. */
  accountId: number;
  asset: string;
  /** Signed: the entries of one posting sum to zero per asset. */
  amountUnits: number;
  kind: 'DEPOSIT' | 'WITHDRAWAL' | 'TRADE' | 'FEE';
  /** What caused it: "trade:BTCUSDT:12", "deposit:<refId>", "withdrawal:<refId>". */
  ref: string;
  tsMicros: number;
}

/** The balance projection: each account's total (free + locked) per asset. */
export interface BalancesTable {
  accountId: number;
  asset: string;
  totalUnits: number;
  updatedSeq: number;
}

export interface PersisterStateTable {
  consumer: string;
  lastSeq: number;
  /** The last ledger id the consumer gave out (0: none). */
  lastLedgerId: Generated<number>;
}

/**
 * The view `ledger`: the whole double-entry ledger, the rows of `ledger_entries` and the
 * postings of every trade, read from its trade row. Read only.
 */
export interface LedgerView {
  id: number;
  seq: number;
  accountId: number;
  asset: string;
  amountUnits: number;
  kind: LedgerEntriesTable['kind'];
  ref: string;
  tsMicros: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  /** "user:12", "operator:<name>", "system". */
  actor: string;
  action: string;
  userId: number | null;
  ip: string | null;
  detail: ColumnType<Record<string, unknown>, string, string>;
  prevHash: string;
  hash: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  apiKeys: ApiKeysTable;
  kycSubmissions: KycSubmissionsTable;
  withdrawalAddresses: WithdrawalAddressesTable;
  deposits: DepositsTable;
  withdrawals: WithdrawalsTable;
  withdrawalEvents: WithdrawalEventsTable;
  orders: OrdersTable;
  trades: TradesTable;
  ledgerEntries: LedgerEntriesTable;
  ledger: LedgerView;
  symbols: SymbolsTable;
  orderTimeMarks: OrderTimeMarksTable;
  authVersions: AuthVersionsTable;
  balances: BalancesTable;
  persisterState: PersisterStateTable;
  auditLog: AuditLogTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type OrderRow = Selectable<OrdersTable>;
export type TradeRow = Selectable<TradesTable>;
export type DepositRow = Selectable<DepositsTable>;
export type WithdrawalRow = Selectable<WithdrawalsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
