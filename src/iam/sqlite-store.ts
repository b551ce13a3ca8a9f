/**
 * {@link IdentityStore} on the embedded state database (`state.db`). This module owns
 * the `iam_*` tables and their migrations. Names are compared case-insensitively
 * (`COLLATE NOCASE`) because IAM treats `Bob` and `bob` as the same user.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate } from '../storage/sqlite.js';
import type {
  AccessKeyRecord,
  AccessKeyStatus,
  AccessKeyUse,
  AccountRecord,
  IdentityStore,
  InlinePolicyRecord,
  ManagedPolicyRecord,
  RoleRecord,
  TemporaryCredentialRecord,
  UserRecord,
} from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE iam_accounts (
    account_id TEXT PRIMARY KEY,
    is_management INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE iam_users (
    user_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES iam_accounts(account_id),
    user_name TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, user_name)
  );
  CREATE TABLE iam_access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES iam_accounts(account_id),
    user_id TEXT REFERENCES iam_users(user_id),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    last_used_service TEXT,
    last_used_region TEXT
  );
  CREATE INDEX iam_access_keys_owner ON iam_access_keys (account_id, user_id);
  CREATE TABLE iam_roles (
    role_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES iam_accounts(account_id),
    role_name TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    trust_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    last_used_region TEXT,
    UNIQUE (account_id, role_name)
  );
  CREATE TABLE iam_inline_policies (
    owner_id TEXT NOT NULL,
    policy_name TEXT NOT NULL COLLATE NOCASE,
    document TEXT NOT NULL,
    PRIMARY KEY (owner_id, policy_name)
  );
  CREATE TABLE iam_managed_policies (
    policy_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES iam_accounts(account_id),
    policy_name TEXT NOT NULL COLLATE NOCASE,
    path TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT,
    document TEXT NOT NULL,
    default_version_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, policy_name)
  );
  CREATE TABLE iam_policy_attachments (
    owner_id TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    attached_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, policy_arn)
  );
  CREATE INDEX iam_policy_attachments_policy ON iam_policy_attachments (policy_arn);
  CREATE TABLE iam_temporary_credentials (
    access_key_id TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    session_token TEXT NOT NULL,
    account_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    role_name TEXT NOT NULL,
    role_path TEXT NOT NULL,
    session_name TEXT NOT NULL,
    source_arn TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX iam_temporary_credentials_expiry ON iam_temporary_credentials (expires_at);
  `,
];

interface AccountRow {
  account_id: string;
  is_management: number;
  created_at: number;
}
interface UserRow {
  user_id: string;
  account_id: string;
  user_name: string;
  path: string;
  created_at: number;
}
interface AccessKeyRow {
  access_key_id: string;
  secret_access_key: string;
  account_id: string;
  user_id: string | null;
  status: string;
  created_at: number;
  last_used_at: number | null;
  last_used_service: string | null;
  last_used_region: string | null;
}
interface RoleRow {
  role_id: string;
  account_id: string;
  role_name: string;
  path: string;
  trust_policy: string;
  description: string | null;
  max_session_duration: number;
  created_at: number;
  last_used_at: number | null;
  last_used_region: string | null;
}
interface InlinePolicyRow {
  owner_id: string;
  policy_name: string;
  document: string;
}
interface ManagedPolicyRow {
  policy_id: string;
  account_id: string;
  policy_name: string;
  path: string;
  arn: string;
  description: string | null;
  document: string;
  default_version_id: string;
  created_at: number;
  updated_at: number;
}
interface TemporaryCredentialRow {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  account_id: string;
  role_id: string;
  role_name: string;
  role_path: string;
  session_name: string;
  source_arn: string;
  issued_at: number;
  expires_at: number;
}

const toAccount = (r: AccountRow): AccountRecord => ({
  accountId: r.account_id,
  isManagement: r.is_management === 1,
  createdAt: r.created_at,
});

const toUser = (r: UserRow): UserRecord => ({
  userId: r.user_id,
  accountId: r.account_id,
  userName: r.user_name,
  path: r.path,
  createdAt: r.created_at,
});

function toAccessKey(r: AccessKeyRow): AccessKeyRecord {
  const key: AccessKeyRecord = {
    accessKeyId: r.access_key_id,
    secretAccessKey: r.secret_access_key,
    accountId: r.account_id,
    userId: r.user_id,
    status: r.status === 'Inactive' ? 'Inactive' : 'Active',
    createdAt: r.created_at,
  };
  if (r.last_used_at !== null) {
    key.lastUsed = { at: r.last_used_at, serviceName: r.last_used_service ?? 'N/A', region: r.last_used_region ?? 'N/A' };
  }
  return key;
}

function toRole(r: RoleRow): RoleRecord {
  const role: RoleRecord = {
    roleId: r.role_id,
    accountId: r.account_id,
    roleName: r.role_name,
    path: r.path,
    assumeRolePolicyDocument: r.trust_policy,
    maxSessionDuration: r.max_session_duration,
    createdAt: r.created_at,
  };
  if (r.description !== null) role.description = r.description;
  if (r.last_used_at !== null) role.lastUsed = { at: r.last_used_at, region: r.last_used_region ?? '' };
  return role;
}

const toInline = (r: InlinePolicyRow): InlinePolicyRecord => ({
  ownerId: r.owner_id,
  policyName: r.policy_name,
  document: r.document,
});

function toManaged(r: ManagedPolicyRow): ManagedPolicyRecord {
  const policy: ManagedPolicyRecord = {
    policyId: r.policy_id,
    accountId: r.account_id,
    policyName: r.policy_name,
    path: r.path,
    arn: r.arn,
    document: r.document,
    defaultVersionId: r.default_version_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.description !== null) policy.description = r.description;
  return policy;
}

const toTemporary = (r: TemporaryCredentialRow): TemporaryCredentialRecord => ({
  accessKeyId: r.access_key_id,
  secretAccessKey: r.secret_access_key,
  sessionToken: r.session_token,
  accountId: r.account_id,
  roleId: r.role_id,
  roleName: r.role_name,
  rolePath: r.role_path,
  sessionName: r.session_name,
  sourceArn: r.source_arn,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
});

type Statements = ReturnType<typeof prepare>;

// Statements are prepared once: resolving a key runs on every request.
function prepare(db: SqliteDatabase) {
  return {
    management: db.prepare<[], AccountRow>('SELECT * FROM iam_accounts WHERE is_management = 1 ORDER BY created_at LIMIT 1'),
    account: db.prepare<[string], AccountRow>('SELECT * FROM iam_accounts WHERE account_id = ?'),
    insertAccount: db.prepare<[string, number, number]>(
      'INSERT INTO iam_accounts (account_id, is_management, created_at) VALUES (?, ?, ?)',
    ),
    user: db.prepare<[string, string], UserRow>('SELECT * FROM iam_users WHERE account_id = ? AND user_name = ?'),
    userById: db.prepare<[string], UserRow>('SELECT * FROM iam_users WHERE user_id = ?'),
    users: db.prepare<[string], UserRow>('SELECT * FROM iam_users WHERE account_id = ? ORDER BY user_name, user_id'),
    insertUser: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO iam_users (user_id, account_id, user_name, path, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    deleteUser: db.prepare<[string]>('DELETE FROM iam_users WHERE user_id = ?'),
    key: db.prepare<[string], AccessKeyRow>('SELECT * FROM iam_access_keys WHERE access_key_id = ?'),
    userKeys: db.prepare<[string, string], AccessKeyRow>(
      'SELECT * FROM iam_access_keys WHERE account_id = ? AND user_id = ? ORDER BY created_at, rowid',
    ),
    rootKeys: db.prepare<[string], AccessKeyRow>(
      'SELECT * FROM iam_access_keys WHERE account_id = ? AND user_id IS NULL ORDER BY created_at, rowid',
    ),
    insertKey: db.prepare<[string, string, string, string | null, string, number]>(
      'INSERT INTO iam_access_keys (access_key_id, secret_access_key, account_id, user_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    keyStatus: db.prepare<[string, string]>('UPDATE iam_access_keys SET status = ? WHERE access_key_id = ?'),
    keyUse: db.prepare<[number, string, string, string]>(
      'UPDATE iam_access_keys SET last_used_at = ?, last_used_service = ?, last_used_region = ? WHERE access_key_id = ?',
    ),
    deleteKey: db.prepare<[string]>('DELETE FROM iam_access_keys WHERE access_key_id = ?'),
    role: db.prepare<[string, string], RoleRow>('SELECT * FROM iam_roles WHERE account_id = ? AND role_name = ?'),
    roleById: db.prepare<[string], RoleRow>('SELECT * FROM iam_roles WHERE role_id = ?'),
    roles: db.prepare<[string], RoleRow>('SELECT * FROM iam_roles WHERE account_id = ? ORDER BY role_name, role_id'),
    insertRole: db.prepare<[string, string, string, string, string, string | null, number, number]>(
      `INSERT INTO iam_roles (role_id, account_id, role_name, path, trust_policy, description, max_session_duration, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    roleTrust: db.prepare<[string, string]>('UPDATE iam_roles SET trust_policy = ? WHERE role_id = ?'),
    roleUse: db.prepare<[number, string, string]>('UPDATE iam_roles SET last_used_at = ?, last_used_region = ? WHERE role_id = ?'),
    deleteRole: db.prepare<[string]>('DELETE FROM iam_roles WHERE role_id = ?'),
    inline: db.prepare<[string, string], InlinePolicyRow>(
      'SELECT * FROM iam_inline_policies WHERE owner_id = ? AND policy_name = ?',
    ),
    inlines: db.prepare<[string], InlinePolicyRow>('SELECT * FROM iam_inline_policies WHERE owner_id = ? ORDER BY policy_name'),
    putInline: db.prepare<[string, string, string]>(
      `INSERT INTO iam_inline_policies (owner_id, policy_name, document) VALUES (?, ?, ?)
       ON CONFLICT (owner_id, policy_name) DO UPDATE SET document = excluded.document`,
    ),
    deleteInline: db.prepare<[string, string]>('DELETE FROM iam_inline_policies WHERE owner_id = ? AND policy_name = ?'),
    managed: db.prepare<[string], ManagedPolicyRow>('SELECT * FROM iam_managed_policies WHERE arn = ?'),
    managedByName: db.prepare<[string, string], ManagedPolicyRow>(
      'SELECT * FROM iam_managed_policies WHERE account_id = ? AND policy_name = ?',
    ),
    manageds: db.prepare<[string], ManagedPolicyRow>(
      'SELECT * FROM iam_managed_policies WHERE account_id = ? ORDER BY policy_name, policy_id',
    ),
    insertManaged: db.prepare<[string, string, string, string, string, string | null, string, string, number, number]>(
      `INSERT INTO iam_managed_policies
       (policy_id, account_id, policy_name, path, arn, description, document, default_version_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteManaged: db.prepare<[string]>('DELETE FROM iam_managed_policies WHERE arn = ?'),
    attached: db.prepare<[string], { policy_arn: string }>(
      'SELECT policy_arn FROM iam_policy_attachments WHERE owner_id = ? ORDER BY attached_at, rowid',
    ),
    attachmentCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM iam_policy_attachments WHERE policy_arn = ?'),
    attach: db.prepare<[string, string, number]>(
      'INSERT INTO iam_policy_attachments (owner_id, policy_arn, attached_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    detach: db.prepare<[string, string]>('DELETE FROM iam_policy_attachments WHERE owner_id = ? AND policy_arn = ?'),
    temporary: db.prepare<[string], TemporaryCredentialRow>('SELECT * FROM iam_temporary_credentials WHERE access_key_id = ?'),
    insertTemporary: db.prepare<[string, string, string, string, string, string, string, string, string, number, number]>(
      `INSERT INTO iam_temporary_credentials
       (access_key_id, secret_access_key, session_token, account_id, role_id, role_name, role_path, session_name, source_arn, issued_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    purgeTemporary: db.prepare<[number]>('DELETE FROM iam_temporary_credentials WHERE expires_at < ?'),
  };
}

/**
 * The identity store on a state database; constructing it applies the `iam` migrations.
 *
 * @example
 * const store = new SqliteIdentityStore(openStateDatabase(':memory:'));
 */
export class SqliteIdentityStore implements IdentityStore {
  private readonly q: Statements;

  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'iam', MIGRATIONS);
    this.q = prepare(db);
  }

  transaction<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : this.db.transaction(fn)();
  }

  getManagementAccount(): AccountRecord | undefined {
    const row = this.q.management.get();
    return row && toAccount(row);
  }
  getAccount(accountId: string): AccountRecord | undefined {
    const row = this.q.account.get(accountId);
    return row && toAccount(row);
  }
  insertAccount(a: AccountRecord): void {
    this.q.insertAccount.run(a.accountId, a.isManagement ? 1 : 0, a.createdAt);
  }

  getUser(accountId: string, userName: string): UserRecord | undefined {
    const row = this.q.user.get(accountId, userName);
    return row && toUser(row);
  }
  getUserById(userId: string): UserRecord | undefined {
    const row = this.q.userById.get(userId);
    return row && toUser(row);
  }
  listUsers(accountId: string): UserRecord[] {
    return this.q.users.all(accountId).map(toUser);
  }
  insertUser(u: UserRecord): void {
    this.q.insertUser.run(u.userId, u.accountId, u.userName, u.path, u.createdAt);
  }
  deleteUser(userId: string): void {
    this.q.deleteUser.run(userId);
  }

  getAccessKey(accessKeyId: string): AccessKeyRecord | undefined {
    const row = this.q.key.get(accessKeyId);
    return row && toAccessKey(row);
  }
  listAccessKeys(accountId: string, userId: string | null): AccessKeyRecord[] {
    return (userId === null ? this.q.rootKeys.all(accountId) : this.q.userKeys.all(accountId, userId)).map(toAccessKey);
  }
  insertAccessKey(k: AccessKeyRecord): void {
    this.q.insertKey.run(k.accessKeyId, k.secretAccessKey, k.accountId, k.userId, k.status, k.createdAt);
  }
  updateAccessKeyStatus(accessKeyId: string, status: AccessKeyStatus): void {
    this.q.keyStatus.run(status, accessKeyId);
  }
  recordAccessKeyUse(accessKeyId: string, use: AccessKeyUse): void {
    this.q.keyUse.run(use.at, use.serviceName, use.region, accessKeyId);
  }
  deleteAccessKey(accessKeyId: string): void {
    this.q.deleteKey.run(accessKeyId);
  }

  getRole(accountId: string, roleName: string): RoleRecord | undefined {
    const row = this.q.role.get(accountId, roleName);
    return row && toRole(row);
  }
  getRoleById(roleId: string): RoleRecord | undefined {
    const row = this.q.roleById.get(roleId);
    return row && toRole(row);
  }
  listRoles(accountId: string): RoleRecord[] {
    return this.q.roles.all(accountId).map(toRole);
  }
  insertRole(r: RoleRecord): void {
    this.q.insertRole.run(
      r.roleId,
      r.accountId,
      r.roleName,
      r.path,
      r.assumeRolePolicyDocument,
      r.description ?? null,
      r.maxSessionDuration,
      r.createdAt,
    );
  }
  updateRoleTrustPolicy(roleId: string, document: string): void {
    this.q.roleTrust.run(document, roleId);
  }
  recordRoleUse(roleId: string, use: { at: number; region: string }): void {
    this.q.roleUse.run(use.at, use.region, roleId);
  }
  deleteRole(roleId: string): void {
    this.q.deleteRole.run(roleId);
  }

  getInlinePolicy(ownerId: string, policyName: string): InlinePolicyRecord | undefined {
    const row = this.q.inline.get(ownerId, policyName);
    return row && toInline(row);
  }
  listInlinePolicies(ownerId: string): InlinePolicyRecord[] {
    return this.q.inlines.all(ownerId).map(toInline);
  }
  putInlinePolicy(p: InlinePolicyRecord): void {
    this.q.putInline.run(p.ownerId, p.policyName, p.document);
  }
  deleteInlinePolicy(ownerId: string, policyName: string): void {
    this.q.deleteInline.run(ownerId, policyName);
  }

  getManagedPolicy(arn: string): ManagedPolicyRecord | undefined {
    const row = this.q.managed.get(arn);
    return row && toManaged(row);
  }
  getManagedPolicyByName(accountId: string, policyName: string): ManagedPolicyRecord | undefined {
    const row = this.q.managedByName.get(accountId, policyName);
    return row && toManaged(row);
  }
  listManagedPolicies(accountId: string): ManagedPolicyRecord[] {
    return this.q.manageds.all(accountId).map(toManaged);
  }
  insertManagedPolicy(p: ManagedPolicyRecord): void {
    this.q.insertManaged.run(
      p.policyId,
      p.accountId,
      p.policyName,
      p.path,
      p.arn,
      p.description ?? null,
      p.document,
      p.defaultVersionId,
      p.createdAt,
      p.updatedAt,
    );
  }
  deleteManagedPolicy(arn: string): void {
    this.q.deleteManaged.run(arn);
  }

  listAttachedPolicies(ownerId: string): string[] {
    return this.q.attached.all(ownerId).map((r) => r.policy_arn);
  }
  countAttachments(policyArn: string): number {
    return this.q.attachmentCount.get(policyArn)?.n ?? 0;
  }
  attachPolicy(ownerId: string, policyArn: string, at: number): void {
    this.q.attach.run(ownerId, policyArn, at);
  }
  detachPolicy(ownerId: string, policyArn: string): boolean {
    return this.q.detach.run(ownerId, policyArn).changes > 0;
  }

  getTemporaryCredential(accessKeyId: string): TemporaryCredentialRecord | undefined {
    const row = this.q.temporary.get(accessKeyId);
    return row && toTemporary(row);
  }
  insertTemporaryCredential(c: TemporaryCredentialRecord): void {
    this.q.insertTemporary.run(
      c.accessKeyId,
      c.secretAccessKey,
      c.sessionToken,
      c.accountId,
      c.roleId,
      c.roleName,
      c.rolePath,
      c.sessionName,
      c.sourceArn,
      c.issuedAt,
      c.expiresAt,
    );
  }
  deleteTemporaryCredentialsExpiredBefore(before: number): number {
    return this.q.purgeTemporary.run(before).changes;
  }
}
