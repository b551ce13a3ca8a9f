/**
 * The identity store's contract: accounts, root and IAM-user access keys, users, roles,
 * inline and customer-managed policies, attachments and temporary credentials. The
 * `Identities` engine (identities.ts) owns every rule (names, quotas, conflicts); a store only
 * keeps rows, so a second backend implements this interface and nothing else.
 *
 * Calls are synchronous: the request pipeline resolves an access key on every request
 * and the embedded backend (better-sqlite3) answers without a round trip.
 */

/** An AWS account Cairn hosts. */
export interface AccountRecord {
  accountId: string;
  /** The account created on first start; Organizations' management account. */
  isManagement: boolean;
  createdAt: number;
}

export type AccessKeyStatus = 'Active' | 'Inactive';

/** A long-term access key: the account root's (`userId` null) or an IAM user's. */
export interface AccessKeyRecord {
  accessKeyId: string;
  /** Kept as given: the server needs it to verify request signatures. */
  secretAccessKey: string;
  accountId: string;
  /** The owning user's id, or null for the account root's key. */
  userId: string | null;
  status: AccessKeyStatus;
  createdAt: number;
  lastUsed?: AccessKeyUse;
}

/** Where and when an access key was last used, as `GetAccessKeyLastUsed` reports it. */
export interface AccessKeyUse {
  at: number;
  serviceName: string;
  region: string;
}

export interface UserRecord {
  userId: string;
  accountId: string;
  userName: string;
  /** Starts and ends with `/`; `/` by default. */
  path: string;
  createdAt: number;
}

export interface RoleRecord {
  roleId: string;
  accountId: string;
  roleName: string;
  path: string;
  /** The trust policy, as submitted. */
  assumeRolePolicyDocument: string;
  description?: string;
  /** Seconds, 3600..43200. */
  maxSessionDuration: number;
  createdAt: number;
  lastUsed?: { at: number; region: string };
}

/** An inline policy, embedded in one user or role (its `ownerId`: AIDA... or AROA...). */
export interface InlinePolicyRecord {
  ownerId: string;
  policyName: string;
  document: string;
}

/** A customer-managed policy; one version (`v1`) until policy versions are served. */
export interface ManagedPolicyRecord {
  policyId: string;
  accountId: string;
  policyName: string;
  path: string;
  arn: string;
  description?: string;
  document: string;
  defaultVersionId: string;
  createdAt: number;
  updatedAt: number;
}

/** Temporary credentials issued by `sts:AssumeRole`. */
export interface TemporaryCredentialRecord {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  accountId: string;
  roleId: string;
  roleName: string;
  rolePath: string;
  sessionName: string;
  /** The ARN of the principal that called AssumeRole. */
  sourceArn: string;
  issuedAt: number;
  expiresAt: number;
}

/** Rows of identities and their credentials; see the module comment. */
export interface IdentityStore {
  /** Runs `fn` atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T;

  getManagementAccount(): AccountRecord | undefined;
  getAccount(accountId: string): AccountRecord | undefined;
  insertAccount(account: AccountRecord): void;

  /** Case-insensitive, as IAM names are. */
  getUser(accountId: string, userName: string): UserRecord | undefined;
  getUserById(userId: string): UserRecord | undefined;
  /** Ordered by name. */
  listUsers(accountId: string): UserRecord[];
  insertUser(user: UserRecord): void;
  deleteUser(userId: string): void;

  getAccessKey(accessKeyId: string): AccessKeyRecord | undefined;
  /** A user's keys, or the root's when `userId` is null; oldest first. */
  listAccessKeys(accountId: string, userId: string | null): AccessKeyRecord[];
  insertAccessKey(key: AccessKeyRecord): void;
  updateAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): void;
  recordAccessKeyUse(accessKeyId: string, use: AccessKeyUse): void;
  deleteAccessKey(accessKeyId: string): void;

  getRole(accountId: string, roleName: string): RoleRecord | undefined;
  getRoleById(roleId: string): RoleRecord | undefined;
  /** Ordered by name. */
  listRoles(accountId: string): RoleRecord[];
  insertRole(role: RoleRecord): void;
  updateRoleTrustPolicy(roleId: string, document: string): void;
  recordRoleUse(roleId: string, use: { at: number; region: string }): void;
  deleteRole(roleId: string): void;

  getInlinePolicy(ownerId: string, policyName: string): InlinePolicyRecord | undefined;
  /** Ordered by name. */
  listInlinePolicies(ownerId: string): InlinePolicyRecord[];
  /** Creates or replaces. */
  putInlinePolicy(policy: InlinePolicyRecord): void;
  deleteInlinePolicy(ownerId: string, policyName: string): void;

  getManagedPolicy(arn: string): ManagedPolicyRecord | undefined;
  getManagedPolicyByName(accountId: string, policyName: string): ManagedPolicyRecord | undefined;
  /** Ordered by name. */
  listManagedPolicies(accountId: string): ManagedPolicyRecord[];
  insertManagedPolicy(policy: ManagedPolicyRecord): void;
  deleteManagedPolicy(arn: string): void;

  /** Policy ARNs attached to a user or role, in attachment order. */
  listAttachedPolicies(ownerId: string): string[];
  /** How many users and roles a policy is attached to. */
  countAttachments(policyArn: string): number;
  /** No-op when already attached, as IAM's AttachUserPolicy is. */
  attachPolicy(ownerId: string, policyArn: string, at: number): void;
  /** False when the policy was not attached. */
  detachPolicy(ownerId: string, policyArn: string): boolean;

  getTemporaryCredential(accessKeyId: string): TemporaryCredentialRecord | undefined;
  insertTemporaryCredential(credential: TemporaryCredentialRecord): void;
  /** Forgets credentials that expired before `before`; returns how many. */
  deleteTemporaryCredentialsExpiredBefore(before: number): number;
}
