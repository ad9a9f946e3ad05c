/**
 * The operations behind the admin API, over the accounts database and the core in this
 * process: creating users with keys and funding, deposits, KYC review, withdrawal approval,
 * shards, state hash and verification, snapshots, the audit chain and the ledger check.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { appendAudit, verifyAuditLog } from '../accounts/audit/audit-log.ts';
import type { Database } from '../accounts/db/schema.ts';
import { AccountsError } from '../accounts/errors.ts';
import { creditDeposit } from '../accounts/funds/deposit.service.ts';
import type { FundsConfig } from '../accounts/funds/funds-config.ts';
import { listPendingApprovals } from '../accounts/funds/funds-history.queries.ts';
import { approveWithdrawal, rejectWithdrawal } from '../accounts/funds/withdrawal.service.ts';
import { checkLedger } from '../accounts/history/ledger-check.ts';
import type { HistoryPersister } from '../accounts/history/persister-thread.ts';
import {
  createApiKey,
  type IdentityContext,
  listPendingKyc,
  register,
  reviewKyc,
  setUserStatus,
  viewKycSubmission,
} from '../accounts/identity/index.ts';
import { isKycTier } from '../accounts/kyc/kyc-tiers.ts';
import type { EnginePort } from '../accounts/ports/engine.port.ts';
import { type Core, type MarketsFile, verify } from '../engine/index.ts';
import type { AdminOps } from '../gateway/api/admin.routes.ts';

/** What the operations need. */
export interface AdminOpsDeps {
  readonly db: Kysely<Database>;
  readonly identity: IdentityContext;
  readonly engine: EnginePort;
  readonly core: Core;
  readonly persister: HistoryPersister | null;
  readonly funds: FundsConfig;
  readonly dataDir: string;
  readonly marketsFile: MarketsFile;
  readonly operator?: string;
}

/** A password nobody types: users made by operators sign in with their API key. */
function generatedPassword(): string {
  return `${randomBytes(18).toString('base64url')}Aa1!`;
}

export function adminOps(deps: AdminOpsDeps): AdminOps {
  const operatorName = deps.operator ?? 'admin';
  const operator = `operator:${operatorName}`;
  const networkOf = (asset: string, network?: string): string => {
    if (network !== undefined) return network;
    const first = deps.funds.networks[asset]?.[0];
    if (first === undefined)
      throw new AccountsError('deposit.invalid_asset', `asset ${asset} has no network`);
    return first;
  };
  const credit = (userId: number, asset: string, amount: string, txId?: string, network?: string) =>
    creditDeposit(
      deps.db,
      deps.engine,
      {
        userId,
        asset,
        amount,
        network: networkOf(asset, network),
        txId: txId ?? `admin-${randomUUID()}`,
        source: 'operator',
        actor: operator,
      },
      { networks: deps.funds.networks },
    );

  return {
    async createUser(input) {
      if (input.kycTier !== undefined && !isKycTier(input.kycTier))
        throw new AccountsError('kyc.invalid_tier', 'the KYC tier must be 0, 1 or 2');
      const user = await register(deps.db, deps.identity, input.email, input.password ?? generatedPassword());
      if (input.kycTier !== undefined && input.kycTier > 0) {
        await deps.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('users')
            .set({ kycTier: input.kycTier })
            .where('id', '=', user.userId)
            .execute();
          await appendAudit(trx, {
            actor: operator,
            action: 'kyc.tier_set',
            userId: user.userId,
            detail: { tier: input.kycTier },
          });
        });
      }
      const key = await createApiKey(deps.db, deps.identity, user.userId, {
        label: 'created by an operator',
        permissions: { read: true, trade: true, withdraw: false },
        type: 'HMAC',
      });
      for (const d of input.deposits) await credit(user.userId, d.asset, d.amount);
      return { userId: user.userId, apiKey: key.apiKey, secretKey: key.secretKey };
    },
    creditDeposit: (input) => credit(input.userId, input.asset, input.amount, input.txId, input.network),
    pendingKyc: () => listPendingKyc(deps.db),
    reviewKyc: (id, decision) => reviewKyc(deps.db, deps.identity, id, operatorName, decision),
    viewKyc: (id) => viewKycSubmission(deps.db, deps.identity, id, operatorName),
    setUserStatus: (userId, status, reason) =>
      setUserStatus(deps.db, deps.identity, userId, status, operatorName, reason),
    pendingWithdrawals: () => listPendingApprovals(deps.db, deps.engine.markets),
    approveWithdrawal: (id) => approveWithdrawal(deps.db, deps.engine, id, operator),
    rejectWithdrawal: (id, reason) => rejectWithdrawal(deps.db, deps.engine, id, operator, reason),
    shards: async () => ({ shardMap: deps.core.shardMap(), shards: deps.core.shardCount }),
    async moveSymbol(symbol, shard) {
      if (deps.core.markets.get(symbol) === undefined)
        throw new AccountsError('shards.unknown_symbol', `${symbol} is not a market`);
      await deps.core.moveSymbol(symbol, shard);
      await appendAudit(deps.db, { actor: operator, action: 'shards.moved', detail: { symbol, shard } });
      return { shardMap: deps.core.shardMap() };
    },
    stateHash: async () => {
      const hash = await deps.core.stateHash();
      return { seq: deps.core.lastSeq, hash };
    },
    async verifyState() {
      // The core keeps writing: snapshot it, then verify a copy up to that point.
      await deps.core.snapshot();
      const copy = mkdtempSync(path.join(tmpdir(), 'crossbook-verify-'));
      try {
        cpSync(path.join(deps.dataDir, 'journal'), path.join(copy, 'journal'), { recursive: true });
        cpSync(path.join(deps.dataDir, 'snapshots'), path.join(copy, 'snapshots'), { recursive: true });
        return verify(copy, deps.marketsFile);
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
    snapshot: () => deps.core.snapshot(),
    verifyAudit: () => verifyAuditLog(deps.db),
    checkLedger: () => {
      const persister = deps.persister;
      return checkLedger(
        deps.db,
        deps.engine,
        persister === null ? {} : { waitFor: (seq) => persister.flushed(seq) },
      );
    },
  };
}
