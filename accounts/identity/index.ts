/**
 * The identity part of accounts, as the gateway and the admin commands use it: users and
 * sign-in, password changes, account status (operators), sessions, the TOTP second factor,
 * API keys and KYC (identity data sealed at rest). Every function takes the
 * database (or a transaction) first; those that need more take an IdentityContext (or the
 * part of it they use). Expected failures are AccountsErrors with dotted codes.
 */
export {
  API_KEY_LENGTH,
  type ApiKeyInfo,
  type ApiKeyInput,
  type ApiKeyPermissions,
  type ApiKeyType,
  type AuthChange,
  authChangesSince,
  type CreatedApiKey,
  checkIpAllow,
  createApiKey,
  deleteApiKey,
  isIpAllowed,
  listApiKeys,
  MAX_API_KEYS_PER_USER,
  MAX_IP_ALLOW,
  type ResolvedApiKey,
  resolveApiKey,
} from './api-key.service.ts';
export { ApiKeyCache, type ApiKeyCacheOptions } from './api-key-cache.ts';
export {
  type Db,
  DEFAULT_LOCK_MS,
  DEFAULT_MAX_FAILED_LOGINS,
  DEFAULT_SESSION_TTL_MS,
  type IdentityContext,
  type RequestMeta,
} from './identity-context.ts';
export {
  checkKycIdentity,
  KYC_DOCUMENT_TYPES,
  type KycDecision,
  type KycDocumentType,
  type KycIdentity,
  type KycMetadata,
  type KycStatus,
  type KycSubmission,
  type KycSubmissionDetail,
  kycStatus,
  listPendingKyc,
  reviewKyc,
  sealLegacyKycData,
  submitKyc,
  viewKycSubmission,
} from './kyc.service.ts';
export { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from './password-hasher.ts';
export { DEFAULT_SCRYPT_COST, type ScryptCost } from './scrypt-hash.ts';
export {
  type AuthenticatedSession,
  authenticate,
  listSessions,
  logout,
  revokeAllSessions,
  revokeSession,
  type SessionInfo,
  sessionIdOf,
} from './session.service.ts';
export {
  confirmTotp,
  disableTotp,
  isTotpEnabled,
  type SecondFactor,
  secondFactor,
  setupTotp,
  type TotpSetup,
  verifyTotp,
} from './totp.service.ts';
export {
  type ChangePasswordOptions,
  changePassword,
  getUser,
  type LoginOptions,
  type LoginResult,
  login,
  type PasswordChanged,
  type RegisteredUser,
  register,
  setUserStatus,
  type UserProfile,
  type UserStatus,
  type UserStatusChanged,
} from './user.service.ts';
