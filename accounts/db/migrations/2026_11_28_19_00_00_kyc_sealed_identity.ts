/**
 * KYC identity data sealed at rest: `data_enc` holds a submission's identity fields (name,
 * date of birth, document number, ...) sealed under the master key, bound to the submission,
 * and `data` keeps only what operators list by (document type, country).
 *
 * Additive: a nullable column, so that the migration runs on a table that already has rows.
 * A database cannot seal without the master key, so rows written before this migration keep
 * their identity data in `data` (data_enc null) until `sealLegacyKycData` (with the key)
 * moves it; the services read both forms meanwhile.
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('kyc_submissions').addColumn('data_enc', 'text').execute();
}

/**
 * Drops the sealed data: identity data sealed since `up` is lost (only the metadata in `data`
 * remains), which is what undoing encryption at rest without the key can honestly do.
 */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('kyc_submissions').dropColumn('data_enc').execute();
}
