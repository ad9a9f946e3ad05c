/**
 * The accounts schema: users, sessions, API keys, KYC, deposit and withdrawal records, the
 * engine's history (orders, trades, ledger, balance projection, persister progress) and the
 * audit log. Money columns are int8 counts of smallest units; ids the engine assigns
 * (orders, trades, seq) are int8 too.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('ACTIVE'))
    .addColumn('kyc_tier', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('totp_secret_enc', 'text')
    .addColumn('totp_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('maker_ppm', 'integer')
    .addColumn('taker_ppm', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('api_key', 'text', (c) => c.notNull().unique())
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text')
    .addColumn('public_key', 'text')
    .addColumn('can_read', 'boolean', (c) => c.notNull())
    .addColumn('can_trade', 'boolean', (c) => c.notNull())
    .addColumn('can_withdraw', 'boolean', (c) => c.notNull())
    .addColumn('ip_allow', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_user').on('api_keys').column('user_id').execute();

  await db.schema
    .createTable('kyc_submissions')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('requested_tier', 'smallint', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('PENDING'))
    .addColumn('reason', 'text')
    .addColumn('reviewer', 'text')
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reviewed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('kyc_submissions_user').on('kyc_submissions').column('user_id').execute();

  await db.schema
    .createTable('withdrawal_addresses')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('withdrawal_addresses_unique', ['user_id', 'asset', 'network', 'address'])
    .execute();

  await db.schema
    .createTable('deposits')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('tx_id', 'text', (c) => c.notNull())
    .addColumn('amount_units', 'int8', (c) => c.notNull().check(sql`amount_units > 0`))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('seq', 'int8')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('credited_at', 'timestamptz')
    .addUniqueConstraint('deposits_tx', ['asset', 'network', 'tx_id'])
    .execute();
  await db.schema.createIndex('deposits_user').on('deposits').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('withdrawals')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('amount_units', 'int8', (c) => c.notNull().check(sql`amount_units > 0`))
    .addColumn('fee_units', 'int8', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('client_id', 'text')
    .addColumn('tx_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('withdrawals_client_id', ['user_id', 'client_id'])
    .execute();
  await db.schema.createIndex('withdrawals_user').on('withdrawals').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('withdrawals_status').on('withdrawals').column('status').execute();

  await db.schema
    .createTable('withdrawal_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('withdrawal_id', 'integer', (c) => c.notNull().references('withdrawals.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('withdrawal_events_w')
    .on('withdrawal_events')
    .column('withdrawal_id')
    .execute();

  await db.schema
    .createTable('orders')
    .addColumn('order_id', 'int8', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('time_in_force', 'text', (c) => c.notNull())
    .addColumn('stp_mode', 'text', (c) => c.notNull())
    .addColumn('price_ticks', 'int8', (c) => c.notNull())
    .addColumn('qty_lots', 'int8', (c) => c.notNull())
    .addColumn('quote_qty_units', 'int8', (c) => c.notNull())
    .addColumn('client_order_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('executed_lots', 'int8', (c) => c.notNull())
    .addColumn('cum_quote_units', 'int8', (c) => c.notNull())
    .addColumn('expiry_reason', 'text')
    .addColumn('created_seq', 'int8', (c) => c.notNull())
    .addColumn('updated_seq', 'int8', (c) => c.notNull())
    .addColumn('created_micros', 'int8', (c) => c.notNull())
    .addColumn('updated_micros', 'int8', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('orders_user')
    .on('orders')
    .columns(['user_id', 'symbol', 'order_id'])
    .execute();
  await db.schema
    .createIndex('orders_user_time')
    .on('orders')
    .columns(['user_id', 'created_micros'])
    .execute();

  await db.schema
    .createTable('trades')
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('trade_id', 'int8', (c) => c.notNull())
    .addColumn('price_ticks', 'int8', (c) => c.notNull())
    .addColumn('qty_lots', 'int8', (c) => c.notNull())
    .addColumn('quote_units', 'int8', (c) => c.notNull())
    .addColumn('buyer_user_id', 'integer', (c) => c.notNull())
    .addColumn('seller_user_id', 'integer', (c) => c.notNull())
    .addColumn('buyer_order_id', 'int8', (c) => c.notNull())
    .addColumn('seller_order_id', 'int8', (c) => c.notNull())
    .addColumn('taker_side', 'text', (c) => c.notNull())
    .addColumn('buyer_fee_units', 'int8', (c) => c.notNull())
    .addColumn('seller_fee_units', 'int8', (c) => c.notNull())
    .addColumn('seq', 'int8', (c) => c.notNull())
    .addColumn('ts_micros', 'int8', (c) => c.notNull())
    .addPrimaryKeyConstraint('trades_pk', ['symbol', 'trade_id'])
    .execute();
  await db.schema
    .createIndex('trades_buyer')
    .on('trades')
    .columns(['buyer_user_id', 'symbol', 'trade_id'])
    .execute();
  await db.schema
    .createIndex('trades_seller')
    .on('trades')
    .columns(['seller_user_id', 'symbol', 'trade_id'])
    .execute();
  await db.schema.createIndex('trades_time').on('trades').columns(['symbol', 'ts_micros']).execute();

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'int8', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('seq', 'int8', (c) => c.notNull())
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('amount_units', 'int8', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref', 'text', (c) => c.notNull())
    .addColumn('ts_micros', 'int8', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_account').on('ledger_entries').columns(['account_id', 'id']).execute();
  await db.schema.createIndex('ledger_seq').on('ledger_entries').column('seq').execute();

  await db.schema
    .createTable('balances')
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('asset', 'text', (c) => c.notNull())
    .addColumn('total_units', 'int8', (c) => c.notNull())
    .addColumn('updated_seq', 'int8', (c) => c.notNull())
    .addPrimaryKeyConstraint('balances_pk', ['account_id', 'asset'])
    .execute();

  await db.schema
    .createTable('persister_state')
    .addColumn('consumer', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', 'int8', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'int8', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('ip', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'audit_log',
    'persister_state',
    'balances',
    'ledger_entries',
    'trades',
    'orders',
    'withdrawal_events',
    'withdrawals',
    'deposits',
    'withdrawal_addresses',
    'kyc_submissions',
    'api_keys',
    'sessions',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
