/**
 * Identity additions: the last TOTP time step a user's code was accepted at (a code is never
 * accepted twice, and no older step after a newer one), and at most one PENDING KYC
 * submission per user, enforced by the database as well as by the service.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('users').addColumn('totp_last_step', 'int8').execute();
  await db.schema
    .createIndex('kyc_submissions_one_pending')
    .on('kyc_submissions')
    .column('user_id')
    .unique()
    .where(sql.ref('status'), '=', 'PENDING')
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('kyc_submissions_one_pending').execute();
  await db.schema.alterTable('users').dropColumn('totp_last_step').execute();
}
