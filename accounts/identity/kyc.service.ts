/**
 * KYC: a user submits identity data asking for a higher tier (accounts/kyc/kyc-tiers.ts says
 * what each allows); an operator approves it (the user's tier becomes the one asked for) or
 * rejects it with a reason. One PENDING submission per user at a time, held by the user's row
 * lock and by a partial unique index.
 *
 * The identity data is personal. It is sealed under the master key (`data_enc`), bound to its
 * submission and user, so a copy of the database, or of one row onto another, reveals
 * nothing; the plain `data` column keeps only the document type and the country, which is
 * what operators' listings show. The full data is read by one function, `viewKycSubmission`,
 * and each such read is in the audit log. It never reaches a log line or an audit entry.
 */

import type { Selectable } from 'kysely';
import { appendAudit } from '../audit/audit-log.ts';
import type { MasterKey } from '../crypto/master-key.ts';
import { open, seal } from '../crypto/secret-box.ts';
import type { KycSubmissionsTable } from '../db/schema.ts';
import { AccountsError } from '../errors.ts';
import { type KycTierPolicy, kycPolicy } from '../kyc/kyc-tiers.ts';
import { ISO_3166_ALPHA2 } from './country-codes.ts';
import {
  type Db,
  type IdentityContext,
  inTransaction,
  logOf,
  nowOf,
  type RequestMeta,
  userActor,
} from './identity-context.ts';
import { canonicalIp, checkOperator, checkReason, checkUserId } from './validation.ts';

/** Identity documents accepted. */
export const KYC_DOCUMENT_TYPES = ['PASSPORT', 'ID_CARD', 'DRIVING_LICENCE'] as const;
export type KycDocumentType = (typeof KYC_DOCUMENT_TYPES)[number];
/** Age a user must have reached. */
export const KYC_MIN_AGE = 18;

/** The identity data of a submission, as validated and stored. */
export interface KycIdentity {
  readonly fullName: string;
  /** YYYY-MM-DD. */
  readonly dateOfBirth: string;
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string;
  readonly documentType: KycDocumentType;
  /** Upper case, letters, digits, spaces and hyphens. */
  readonly documentNumber: string;
}

/** What a submission shows without its identity data: enough to sort and route reviews. */
export interface KycMetadata {
  readonly documentType: KycDocumentType;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
}

/** A submission as listed and decided: its metadata, never the identity data. */
export interface KycSubmission {
  readonly submissionId: number;
  readonly userId: number;
  readonly requestedTier: number;
  readonly metadata: KycMetadata;
  readonly status: 'PENDING' | 'APPROVED' | 'REJECTED';
  readonly reason: string | null;
  readonly reviewer: string | null;
  readonly submittedAt: Date;
  readonly reviewedAt: Date | null;
}

/** A submission with its identity data opened, for the operator reviewing it. */
export interface KycSubmissionDetail extends KycSubmission {
  readonly identity: KycIdentity;
}

const FIELDS = ['fullName', 'dateOfBirth', 'country', 'documentType', 'documentNumber'] as const;

/** The sealing context: identity data opens only on its own submission of its own user. */
const sealContext = (submissionId: number, userId: number): string => `kyc:${submissionId}:${userId}`;

const metadataOf = (identity: Pick<KycIdentity, 'documentType' | 'country'>): KycMetadata => ({
  documentType: identity.documentType,
  country: identity.country,
});

const err = (code: string, message: string): AccountsError => new AccountsError(code, message);

/** Validates identity data (at `nowMs`, for the age check). Errors name the field at fault. */
export function checkKycIdentity(data: unknown, nowMs: number = Date.now()): KycIdentity {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw err('kyc.invalid_data', `identity data is an object with ${FIELDS.join(', ')}`);
  const d = data as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!(FIELDS as readonly string[]).includes(k))
      throw err('kyc.invalid_data', `unknown identity field "${k.slice(0, 32)}"`);

  const name = typeof d.fullName === 'string' ? d.fullName.trim().replace(/\s+/g, ' ') : '';
  if (
    [...name].length < 2 ||
    [...name].length > 100 ||
    !/^[\p{L}\p{M}]+(?:[ '\u2019.,-]+[\p{L}\p{M}]+)*\.?$/u.test(name)
  )
    throw err('kyc.invalid_full_name', 'fullName is 2 to 100 letters, with spaces, hyphens or apostrophes');

  const dob = typeof d.dateOfBirth === 'string' ? d.dateOfBirth : '';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dob);
  const [y, mo, da] = m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3])];
  const born = new Date(Date.UTC(y, mo - 1, da));
  if (
    m === null ||
    y < 1900 ||
    born.getUTCMonth() !== mo - 1 ||
    born.getUTCDate() !== da ||
    born.getTime() > nowMs
  )
    throw err('kyc.invalid_date_of_birth', 'dateOfBirth is a past date written YYYY-MM-DD');
  const now = new Date(nowMs);
  const age =
    now.getUTCFullYear() -
    y -
    (now.getUTCMonth() < mo - 1 || (now.getUTCMonth() === mo - 1 && now.getUTCDate() < da) ? 1 : 0);
  if (age < KYC_MIN_AGE) throw err('kyc.underage', `verification is for people aged ${KYC_MIN_AGE} or more`);

  const country = typeof d.country === 'string' ? d.country.trim().toUpperCase() : '';
  if (!ISO_3166_ALPHA2.has(country))
    throw err('kyc.invalid_country', 'country is an ISO 3166-1 alpha-2 code such as DE or US');

  const documentType = d.documentType;
  if (typeof documentType !== 'string' || !(KYC_DOCUMENT_TYPES as readonly string[]).includes(documentType))
    throw err('kyc.invalid_document_type', `documentType is one of ${KYC_DOCUMENT_TYPES.join(', ')}`);

  const documentNumber =
    typeof d.documentNumber === 'string' ? d.documentNumber.trim().toUpperCase().replace(/\s+/g, ' ') : '';
  if (!/^[A-Z0-9](?:[A-Z0-9 -]{2,28})[A-Z0-9]$/.test(documentNumber))
    throw err(
      'kyc.invalid_document_number',
      'documentNumber is 4 to 30 letters and digits (spaces and hyphens allowed inside)',
    );

  return {
    fullName: name,
    dateOfBirth: dob,
    country,
    documentType: documentType as KycDocumentType,
    documentNumber,
  };
}

/**
 * Submits identity data asking for `requestedTier` (1 or 2, above the user's tier).
 * 'kyc.invalid_tier', 'kyc.pending_exists', the data's own errors, 'user.not_found'.
 */
export async function submitKyc(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log' | 'now'>,
  userId: number,
  requestedTier: number,
  data: unknown,
  meta: RequestMeta = {},
): Promise<{ readonly submissionId: number; readonly status: 'PENDING' }> {
  checkUserId(userId);
  if (requestedTier !== 1 && requestedTier !== 2)
    throw err('kyc.invalid_tier', 'the tier asked for is 1 (basic) or 2 (full)');
  const identity = checkKycIdentity(data, nowOf(ctx));
  const submissionId = await inTransaction(db, async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select('kycTier')
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (user === undefined) throw err('user.not_found', 'no such user');
    if (requestedTier <= user.kycTier)
      throw err('kyc.invalid_tier', `the account is already at tier ${user.kycTier}; ask for a higher one`);
    const pending = await trx
      .selectFrom('kycSubmissions')
      .select('id')
      .where('userId', '=', userId)
      .where('status', '=', 'PENDING')
      .executeTakeFirst();
    if (pending !== undefined) throw err('kyc.pending_exists', 'a submission is already waiting for review');
    const row = await trx
      .insertInto('kycSubmissions')
      .values({ userId, requestedTier, data: JSON.stringify(metadataOf(identity)) })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Sealed once the row has its id (the context names it); both writes commit together, so
    // no other transaction ever sees the row without its sealed data.
    await trx
      .updateTable('kycSubmissions')
      .set({ dataEnc: seal(ctx.key, JSON.stringify(identity), sealContext(row.id, userId)) })
      .where('id', '=', row.id)
      .execute();
    await appendAudit(trx, {
      actor: userActor(userId),
      action: 'kyc.submitted',
      userId,
      ip: canonicalIp(meta.ip) ?? null,
      detail: { submissionId: row.id, requestedTier },
    });
    return row.id;
  });
  logOf(ctx).info({ userId, submissionId, requestedTier }, 'kyc submitted');
  return { submissionId, status: 'PENDING' };
}

/** An operator's decision on a submission. */
export type KycDecision =
  | { readonly approve: true }
  | { readonly approve: false /** Required, shown to the user. */; readonly reason: string };

const checkReviewer = (reviewer: unknown): string => checkOperator(reviewer, 'kyc.invalid_reviewer');

/**
 * Decides a PENDING submission: approve (the user's tier becomes the requested one, never
 * lower than it already is) or reject with a reason (1 to 500 characters). Recorded with the
 * operator's name. 'kyc.not_found', 'kyc.already_reviewed', 'kyc.reason_required',
 * 'kyc.invalid_reviewer'.
 */
export async function reviewKyc(
  db: Db,
  ctx: Pick<IdentityContext, 'log' | 'now'>,
  submissionId: number,
  reviewer: string,
  decision: KycDecision,
): Promise<KycSubmission> {
  const operator = checkReviewer(reviewer);
  if (typeof submissionId !== 'number' || !Number.isSafeInteger(submissionId) || submissionId <= 0)
    throw err('kyc.not_found', 'no such KYC submission');
  const reason =
    decision.approve === true ? null : checkReason(decision.reason, 'kyc.reason_required', 'a rejection');
  const status = decision.approve === true ? 'APPROVED' : 'REJECTED';
  const reviewed = await inTransaction(db, async (trx) => {
    const sub = await trx
      .selectFrom('kycSubmissions')
      .selectAll()
      .where('id', '=', submissionId)
      .forUpdate()
      .executeTakeFirst();
    if (sub === undefined) throw err('kyc.not_found', 'no such KYC submission');
    if (sub.status !== 'PENDING')
      throw err('kyc.already_reviewed', `the submission was already ${sub.status.toLowerCase()}`);
    const reviewedAt = new Date(nowOf(ctx));
    const row = await trx
      .updateTable('kycSubmissions')
      .set({ status, reason, reviewer: operator, reviewedAt })
      .where('id', '=', submissionId)
      .returningAll()
      .executeTakeFirstOrThrow();
    let tier: number | undefined;
    if (status === 'APPROVED') {
      const user = await trx
        .selectFrom('users')
        .select('kycTier')
        .where('id', '=', sub.userId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      tier = Math.max(user.kycTier, sub.requestedTier);
      await trx.updateTable('users').set({ kycTier: tier }).where('id', '=', sub.userId).execute();
    }
    await appendAudit(trx, {
      actor: `operator:${operator}`,
      action: status === 'APPROVED' ? 'kyc.approved' : 'kyc.rejected',
      userId: sub.userId,
      detail: {
        submissionId,
        requestedTier: sub.requestedTier,
        ...(tier === undefined ? { reason } : { tier }),
      },
    });
    return toSubmission(row);
  });
  logOf(ctx).info({ userId: reviewed.userId, submissionId, status, reviewer: operator }, 'kyc reviewed');
  return reviewed;
}

/** The five identity fields of a JSON object, as strings ('' where one is missing). */
function identityFields(data: Record<string, unknown>): KycIdentity {
  const field = (k: (typeof FIELDS)[number]): string => (typeof data[k] === 'string' ? data[k] : '');
  return {
    fullName: field('fullName'),
    dateOfBirth: field('dateOfBirth'),
    country: field('country'),
    documentType: field('documentType') as KycDocumentType,
    documentNumber: field('documentNumber'),
  };
}

function toSubmission(r: Selectable<KycSubmissionsTable>): KycSubmission {
  return {
    submissionId: r.id,
    userId: r.userId,
    requestedTier: r.requestedTier,
    // Only these two fields: a row not yet sealed holds the whole identity in `data`.
    metadata: metadataOf(identityFields(r.data)),
    status: r.status,
    reason: r.reason,
    reviewer: r.reviewer,
    submittedAt: r.submittedAt,
    reviewedAt: r.reviewedAt,
  };
}

/** Submissions waiting for review, oldest first, `limit` (1..500, default 100) after `afterId`. */
export async function listPendingKyc(
  db: Db,
  options: { readonly limit?: number; readonly afterId?: number } = {},
): Promise<KycSubmission[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 500);
  let q = db.selectFrom('kycSubmissions').selectAll().where('status', '=', 'PENDING');
  if (options.afterId !== undefined && Number.isSafeInteger(options.afterId))
    q = q.where('id', '>', options.afterId);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toSubmission);
}

/** A user's KYC standing: the tier, what it allows, and the latest submission if any. */
export interface KycStatus {
  readonly userId: number;
  readonly tier: number;
  readonly policy: KycTierPolicy;
  /** The most recent submission (without the identity data), or null. */
  readonly latest: {
    readonly submissionId: number;
    readonly requestedTier: number;
    readonly status: 'PENDING' | 'APPROVED' | 'REJECTED';
    readonly reason: string | null;
    readonly submittedAt: Date;
    readonly reviewedAt: Date | null;
  } | null;
}

/** The KYC standing of a user. 'user.not_found'. */
export async function kycStatus(db: Db, userId: number): Promise<KycStatus> {
  checkUserId(userId);
  const user = await db.selectFrom('users').select('kycTier').where('id', '=', userId).executeTakeFirst();
  if (user === undefined) throw err('user.not_found', 'no such user');
  const latest = await db
    .selectFrom('kycSubmissions')
    .select(['id', 'requestedTier', 'status', 'reason', 'submittedAt', 'reviewedAt'])
    .where('userId', '=', userId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    userId,
    tier: user.kycTier,
    policy: kycPolicy(user.kycTier),
    latest:
      latest === undefined
        ? null
        : {
            submissionId: latest.id,
            requestedTier: latest.requestedTier,
            status: latest.status,
            reason: latest.reason,
            submittedAt: latest.submittedAt,
            reviewedAt: latest.reviewedAt,
          },
  };
}

/**
 * The identity data of one submission, opened for `reviewer` (an operator's name). The read is
 * recorded ('kyc.viewed', the operator as actor) and committed before the data is opened, so
 * that even a read that then fails leaves its trace (given a transaction, the entry commits
 * with it: pass the database unless the caller's work must be atomic with the read). 'kyc.not_found', 'kyc.invalid_reviewer',
 * 'crypto.open_failed' (the sealed data was altered, copied from another row, or sealed under
 * another master key).
 */
export async function viewKycSubmission(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log'>,
  submissionId: number,
  reviewer: string,
): Promise<KycSubmissionDetail> {
  const operator = checkReviewer(reviewer);
  if (typeof submissionId !== 'number' || !Number.isSafeInteger(submissionId) || submissionId <= 0)
    throw err('kyc.not_found', 'no such KYC submission');
  const row = await inTransaction(db, async (trx) => {
    const sub = await trx
      .selectFrom('kycSubmissions')
      .selectAll()
      .where('id', '=', submissionId)
      .executeTakeFirst();
    if (sub === undefined) throw err('kyc.not_found', 'no such KYC submission');
    await appendAudit(trx, {
      actor: `operator:${operator}`,
      action: 'kyc.viewed',
      userId: sub.userId,
      detail: { submissionId },
    });
    return sub;
  });
  logOf(ctx).info({ userId: row.userId, submissionId, reviewer: operator }, 'kyc identity viewed');
  return { ...toSubmission(row), identity: openIdentity(ctx.key, row) };
}

/** A row's identity data: opened from `data_enc`, or read from `data` on a row not yet sealed. */
function openIdentity(key: MasterKey, row: Selectable<KycSubmissionsTable>): KycIdentity {
  if (row.dataEnc === null) return identityFields(row.data);
  const text = open(key, row.dataEnc, sealContext(row.id, row.userId));
  return identityFields(JSON.parse(text) as Record<string, unknown>);
}

/**
 * Seals the identity data of submissions written before it was sealed at rest (`data_enc`
 * null): the data moves into `data_enc`, and `data` keeps only the metadata. Run with the
 * master key after the migration that added the column; running it again finds nothing to do.
 * Works in batches of `batchSize` rows, one transaction each, and records each batch in the
 * audit log ('kyc.legacy_sealed'). Returns how many rows it sealed.
 */
export async function sealLegacyKycData(
  db: Db,
  ctx: Pick<IdentityContext, 'key' | 'log'>,
  options: { readonly batchSize?: number } = {},
): Promise<number> {
  const batchSize = Math.min(Math.max(Math.trunc(options.batchSize ?? 500), 1), 5000);
  let sealed = 0;
  for (;;) {
    const n = await inTransaction(db, async (trx) => {
      const rows = await trx
        .selectFrom('kycSubmissions')
        .select(['id', 'userId', 'data'])
        .where('dataEnc', 'is', null)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .execute();
      for (const r of rows) {
        const identity = identityFields(r.data);
        await trx
          .updateTable('kycSubmissions')
          .set({
            data: JSON.stringify(metadataOf(identity)),
            dataEnc: seal(ctx.key, JSON.stringify(identity), sealContext(r.id, r.userId)),
          })
          .where('id', '=', r.id)
          .execute();
      }
      if (rows.length > 0)
        await appendAudit(trx, {
          actor: 'system',
          action: 'kyc.legacy_sealed',
          detail: { count: rows.length, firstId: rows[0]!.id, lastId: rows.at(-1)!.id },
        });
      return rows.length;
    });
    sealed += n;
    if (n < batchSize) break;
  }
  if (sealed > 0) logOf(ctx).info({ sealed }, 'legacy kyc identity data sealed');
  return sealed;
}
