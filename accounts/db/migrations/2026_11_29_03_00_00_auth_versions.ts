/**
 * `auth_versions`: a version per user that goes up whenever anything an API key lookup reads
 * changes (a key's permissions, allow-list or deletion; the user's status or KYC tier). Kept
 * by triggers, so no write path can forget it, an operator's hand edit included.
 *
 * Why: the gateway caches API key lookups. With a fixed time to live (2 s) it read every
 * active key again every 2 s (about 600 lookups a second with 1,200 trading accounts, each a
 * query and a decryption on the gateway's event loop), and a change took up to 2 s to show.
 * Now a gateway polls `auth_versions` for the users changed in the last seconds (one small
 * query every 250 ms, whatever the number of keys) and drops the cached keys of any user whose
 * version moved; a cached key lives up to a minute while the polls succeed.
 *
 * `changed_at` is the trigger's `clock_timestamp()`: a poll reads a trailing window of a few
 * seconds, which covers the moments between a change and its commit.
 */
import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not follow the current schema type
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('auth_versions')
    .addColumn('user_id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'int8', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_versions_changed').on('auth_versions').column('changed_at').execute();
  await sql`
    create function auth_version_bump(uid integer) returns void language sql as $$
      insert into auth_versions (user_id, version, changed_at) values (uid, 1, clock_timestamp())
      on conflict (user_id) do update set version = auth_versions.version + 1, changed_at = clock_timestamp()
    $$`.execute(db);
  await sql`
    create function users_auth_changed() returns trigger language plpgsql as $$
    begin
      perform auth_version_bump(new.id);
      return null;
    end $$`.execute(db);
  await sql`
    create function api_keys_auth_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        perform auth_version_bump(old.user_id);
      else
        perform auth_version_bump(new.user_id);
        if new.user_id is distinct from old.user_id then
          perform auth_version_bump(old.user_id);
        end if;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger users_auth_changed after update on users for each row
    when (old.status is distinct from new.status or old.kyc_tier is distinct from new.kyc_tier)
    execute function users_auth_changed()`.execute(db);
  await sql`
    create trigger api_keys_auth_changed after update or delete on api_keys for each row
    execute function api_keys_auth_changed()`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`drop trigger api_keys_auth_changed on api_keys`.execute(db);
  await sql`drop trigger users_auth_changed on users`.execute(db);
  await sql`drop function api_keys_auth_changed()`.execute(db);
  await sql`drop function users_auth_changed()`.execute(db);
  await sql`drop function auth_version_bump(integer)`.execute(db);
  await db.schema.dropTable('auth_versions').execute();
}
