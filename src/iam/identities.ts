/**
 * The identity engine: accounts, IAM users and their access keys, roles, inline and
 * managed policies, and the temporary credentials `sts:AssumeRole` issues. It owns IAM's
 * rules (unique case-insensitive names, quotas, delete conflicts, trust evaluation) and
 * answers the request pipeline's two hot questions, "whose key is this?" and "which
 * policies apply to this principal?", from in-memory caches that every write clears.
 * Nothing here knows the wire: the iam and sts services translate.
 */
import type { PolicyDocument } from '../auth/policy.js';
import { authorize, parsePolicyDocument } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { principalArn } from '../auth/principal.js';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { newAccountId, newSecretKey, newToken, newUniqueId } from '../platform/ids.js';
import { iamErrors } from './errors.js';
import type {
  AccessKeyRecord,
  AccessKeyStatus,
  AccessKeyUse,
  AccountRecord,
  IdentityStore,
  ManagedPolicyRecord,
  RoleRecord,
  TemporaryCredentialRecord,
  UserRecord,
} from './store.js';

export interface IdentitiesDeps {
  store: IdentityStore;
  clock: Clock;
  random: RandomSource;
}

/** What the request pipeline needs to verify a signature and name the caller. */
export interface ResolvedAccessKey {
  secretAccessKey: string;
  principal: Principal;
  /** Present for temporary credentials: the request must carry this token. */
  sessionToken?: string;
  /** Present for temporary credentials (ms since epoch); the pipeline refuses expired ones. */
  expiresAt?: number;
  /** False for an `Inactive` long-term key. Temporary credentials stay active until they expire. */
  active: boolean;
}

/** The management account's root credentials, as the first start prints them. */
export interface ManagementAccount {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** True when this call created the account (the first start). */
  created: boolean;
}

export type User = UserRecord & { arn: string };
export type Role = RoleRecord & { arn: string };

/** A managed policy as GetPolicy and ListPolicies describe it. */
export interface ManagedPolicy {
  policyName: string;
  policyId: string;
  arn: string;
  path: string;
  description?: string;
  defaultVersionId: string;
  attachmentCount: number;
  isAttachable: boolean;
  createdAt: number;
  updatedAt: number;
  document: string;
  /** `AWS` for AWS-managed policies, `Local` for the account's own. */
  scope: 'AWS' | 'Local';
}

/** The user or role that embeds an inline policy or has a managed policy attached. */
export interface PolicyOwnerRef {
  kind: 'user' | 'role';
  name: string;
}

export interface AttachedPolicyRef {
  policyName: string;
  policyArn: string;
}

export interface AssumeRoleRequest {
  roleArn: string;
  roleSessionName: string;
  durationSeconds?: number;
  externalId?: string;
  /** Condition keys of the call (`aws:SourceIp`, `aws:CurrentTime`...); `sts:*` keys are added here. */
  context?: Record<string, string | string[]>;
  /** The region the call was made in, kept as the role's `RoleLastUsed`. */
  region?: string;
}

export interface AssumedRoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ms since epoch. */
  expiration: number;
  /** `AROA...:session`. */
  assumedRoleId: string;
  /** `arn:aws:sts::ACCT:assumed-role/NAME/session`. */
  arn: string;
  role: Role;
}

const ROOT_KEY_OWNER = null;
const ACCESS_KEYS_PER_USER = 2;
const MANAGED_POLICIES_PER_ENTITY = 10;
/** IAM's aggregate inline-policy quotas, counted in non-whitespace characters. */
const INLINE_POLICY_SIZE = { user: 2048, role: 10240 } as const;
const MANAGED_POLICY_SIZE = 6144;
const DEFAULT_SESSION_SECONDS = 3600;
const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Expired temporary credentials are kept a day so a late caller hears "expired", not "unknown". */
const EXPIRED_CREDENTIAL_RETENTION_MS = 24 * 3600 * 1000;
/** Last-used times are persisted at most this often per key, so signing stays off the disk. */
const KEY_USE_WRITE_INTERVAL_MS = 60 * 1000;
const RESOLVED_CACHE_LIMIT = 10_000;

/** AWS-managed policies Cairn knows; attachable in every account. */
const AWS_MANAGED_POLICIES: readonly ManagedPolicy[] = [
  {
    policyName: 'AdministratorAccess',
    policyId: 'ANPAIWMBCKSKIEE64ZLYK',
    arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    path: '/',
    description: 'Provides full access to AWS services and resources.',
    defaultVersionId: 'v1',
    attachmentCount: 0,
    isAttachable: true,
    createdAt: Date.parse('2015-02-06T18:39:46Z'),
    updatedAt: Date.parse('2015-02-06T18:39:46Z'),
    document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    scope: 'AWS',
  },
];

const ADMINISTRATOR_ACCESS_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]+)$/;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]+)$/;

/** The ARN of a user, role or managed policy in an account. */
export function iamArn(accountId: string, kind: 'user' | 'role' | 'policy', path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${kind}${path}${name}`;
}

function nonWhitespaceLength(text: string): number {
  return text.replace(/\s/g, '').length;
}

/**
 * The identity engine. One instance per process: its caches assume every write goes
 * through it.
 *
 * @example
 * const identities = new Identities({ store: sqliteIdentityStore(db), clock: systemClock, random: cryptoRandom });
 * const root = identities.ensureManagementAccount();
 */
export class Identities {
  private readonly store: IdentityStore;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly resolved = new Map<string, ResolvedAccessKey>();
  private readonly policies = new Map<string, PolicyDocument[]>();
  private readonly keyUseWritten = new Map<string, number>();

  constructor(deps: IdentitiesDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.random = deps.random;
  }

  // ---- accounts ------------------------------------------------------------------

  /** Creates the management account and a root access key on first start; afterwards returns them. */
  ensureManagementAccount(): ManagementAccount {
    return this.write(() => {
      let account = this.store.getManagementAccount();
      let created = false;
      if (!account) {
        account = { accountId: newAccountId(this.random), isManagement: true, createdAt: this.clock.now() };
        this.store.insertAccount(account);
        created = true;
      }
      const key =
        this.store.listAccessKeys(account.accountId, ROOT_KEY_OWNER).find((k) => k.status === 'Active') ??
        this.insertAccessKey(account.accountId, ROOT_KEY_OWNER);
      return { accountId: account.accountId, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, created };
    });
  }

  /**
   * Creates another account (a member account, as Organizations would) with a root access
   * key, for cross-account access: its principals reach the management account's resources
   * only where resource policies allow.
   */
  createAccount(): Omit<ManagementAccount, 'created'> {
    return this.write(() => {
      let accountId = newAccountId(this.random);
      while (this.store.getAccount(accountId)) accountId = newAccountId(this.random);
      this.store.insertAccount({ accountId, isManagement: false, createdAt: this.clock.now() });
      const key = this.insertAccessKey(accountId, ROOT_KEY_OWNER);
      return { accountId, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    });
  }

  /**
   * Creates a member account as Organizations' CreateAccount does: no root access keys, and
   * the role `roleName` with AdministratorAccess, trusting the management account (whose
   * IAM users and roles it then lets in when their own policies allow sts:AssumeRole).
   */
  createMemberAccount(req: { roleName: string; managementAccountId: string }): string {
    return this.write(() => {
      let accountId = newAccountId(this.random);
      while (this.store.getAccount(accountId)) accountId = newAccountId(this.random);
      this.store.insertAccount({ accountId, isManagement: false, createdAt: this.clock.now() });
      const trust = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${req.managementAccountId}:root` }, Action: 'sts:AssumeRole' }],
      };
      this.createRole(accountId, { roleName: req.roleName, assumeRolePolicyDocument: JSON.stringify(trust) });
      this.attachPolicy(accountId, { kind: 'role', name: req.roleName }, ADMINISTRATOR_ACCESS_ARN);
      return accountId;
    });
  }

  /** An account Cairn hosts, or undefined. */
  getAccount(accountId: string): AccountRecord | undefined {
    return this.store.getAccount(accountId);
  }

  // ---- the pipeline's questions --------------------------------------------------

  /** Resolves a signing key to its secret and principal; undefined when no such key exists. */
  resolveAccessKey(accessKeyId: string): ResolvedAccessKey | undefined {
    const cached = this.resolved.get(accessKeyId);
    if (cached) return cached;
    const found = accessKeyId.startsWith('ASIA') ? this.resolveTemporary(accessKeyId) : this.resolveLongTerm(accessKeyId);
    if (found) {
      // Bounded so a flood of distinct (valid) ids cannot grow memory without limit.
      if (this.resolved.size >= RESOLVED_CACHE_LIMIT) this.resolved.clear();
      this.resolved.set(accessKeyId, found);
    }
    return found;
  }

  /**
   * Notes that a long-term key signed a request, for `GetAccessKeyLastUsed`. Written at
   * most once a minute per key.
   */
  noteAccessKeyUsed(accessKeyId: string, use: { serviceName: string; region: string }): void {
    if (accessKeyId.startsWith('ASIA')) return;
    const now = this.clock.now();
    const last = this.keyUseWritten.get(accessKeyId);
    if (last !== undefined && now - last < KEY_USE_WRITE_INTERVAL_MS) return;
    this.keyUseWritten.set(accessKeyId, now);
    this.store.recordAccessKeyUse(accessKeyId, { at: now, ...use });
  }

  /** The identity-based policies that apply to a principal: inline plus attached, parsed once. */
  identityPolicies(principal: Principal): PolicyDocument[] {
    let ownerId: string;
    if (principal.type === 'IAMUser') ownerId = principal.userId;
    else if (principal.type === 'AssumedRole') ownerId = principal.roleId;
    else return [];
    const cached = this.policies.get(ownerId);
    if (cached) return cached;
    // A session of a deleted (or deleted and re-created) role keeps no permissions.
    const exists =
      principal.type === 'IAMUser' ? this.store.getUserById(ownerId) !== undefined : this.store.getRoleById(ownerId) !== undefined;
    const docs: PolicyDocument[] = [];
    if (exists) {
      for (const p of this.store.listInlinePolicies(ownerId)) docs.push(parsePolicyDocument(p.document, 'identity'));
      for (const arn of this.store.listAttachedPolicies(ownerId)) {
        const policy = this.findManagedPolicy(arn);
        if (policy) docs.push(parsePolicyDocument(policy.document, 'identity'));
      }
    }
    this.policies.set(ownerId, docs);
    return docs;
  }

  // ---- users ---------------------------------------------------------------------

  /** CreateUser. */
  createUser(accountId: string, input: { userName: string; path?: string }): User {
    return this.write(() => {
      if (this.store.getUser(accountId, input.userName)) {
        throw iamErrors.entityAlreadyExists(`User with name ${input.userName} already exists.`);
      }
      const user: UserRecord = {
        userId: newUniqueId(this.random, 'AIDA'),
        accountId,
        userName: input.userName,
        path: input.path ?? '/',
        createdAt: this.clock.now(),
      };
      this.store.insertUser(user);
      return withUserArn(user);
    });
  }

  /** GetUser; throws NoSuchEntity. */
  getUser(accountId: string, userName: string): User {
    return withUserArn(this.requireUser(accountId, userName));
  }

  /** The user, or undefined (for building ARNs before authorization). */
  findUser(accountId: string, userName: string): User | undefined {
    const user = this.store.getUser(accountId, userName);
    return user && withUserArn(user);
  }

  /** ListUsers, ordered by name. */
  listUsers(accountId: string, pathPrefix = '/'): User[] {
    return this.store
      .listUsers(accountId)
      .filter((u) => u.path.startsWith(pathPrefix))
      .map(withUserArn);
  }

  /** DeleteUser; refuses while keys or policies remain, as IAM does. */
  deleteUser(accountId: string, userName: string): void {
    this.write(() => {
      const user = this.requireUser(accountId, userName);
      if (this.store.listAccessKeys(accountId, user.userId).length > 0) {
        throw iamErrors.deleteConflict('Cannot delete entity, must delete access keys first.');
      }
      if (this.store.listInlinePolicies(user.userId).length > 0) {
        throw iamErrors.deleteConflict('Cannot delete entity, must delete policies first.');
      }
      if (this.store.listAttachedPolicies(user.userId).length > 0) {
        throw iamErrors.deleteConflict('Cannot delete entity, must detach all policies first.');
      }
      this.store.deleteUser(user.userId);
    });
  }

  // ---- access keys ---------------------------------------------------------------

  /** CreateAccessKey for a user, or for the account root when `userName` is null. */
  createAccessKey(accountId: string, userName: string | null): AccessKeyRecord & { userName?: string } {
    return this.write(() => {
      const user = userName === null ? undefined : this.requireUser(accountId, userName);
      const ownerId = user?.userId ?? ROOT_KEY_OWNER;
      if (this.store.listAccessKeys(accountId, ownerId).length >= ACCESS_KEYS_PER_USER) {
        throw iamErrors.limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
      }
      const key = this.insertAccessKey(accountId, ownerId);
      return user ? { ...key, userName: user.userName } : key;
    });
  }

  /** ListAccessKeys: a user's keys, or the root's when `userName` is null. Secrets are not returned. */
  listAccessKeys(accountId: string, userName: string | null): (Omit<AccessKeyRecord, 'secretAccessKey'> & { userName?: string })[] {
    const user = userName === null ? undefined : this.requireUser(accountId, userName);
    return this.store.listAccessKeys(accountId, user?.userId ?? ROOT_KEY_OWNER).map(({ secretAccessKey: _secret, ...key }) =>
      user ? { ...key, userName: user.userName } : key,
    );
  }

  /** UpdateAccessKey: Active or Inactive. */
  updateAccessKey(accountId: string, userName: string | null, accessKeyId: string, status: AccessKeyStatus): void {
    this.write(() => {
      this.requireOwnedKey(accountId, userName, accessKeyId);
      this.store.updateAccessKeyStatus(accessKeyId, status);
    });
  }

  /** DeleteAccessKey. */
  deleteAccessKey(accountId: string, userName: string | null, accessKeyId: string): void {
    this.write(() => {
      this.requireOwnedKey(accountId, userName, accessKeyId);
      this.store.deleteAccessKey(accessKeyId);
      this.keyUseWritten.delete(accessKeyId);
    });
  }

  /** GetAccessKeyLastUsed: any key of the account. */
  getAccessKeyLastUsed(accountId: string, accessKeyId: string): { userName?: string; lastUsed?: AccessKeyUse } {
    const key = this.store.getAccessKey(accessKeyId);
    if (!key || key.accountId !== accountId) throw iamErrors.noSuchAccessKey(accessKeyId);
    const user = key.userId === null ? undefined : this.store.getUserById(key.userId);
    return { ...(user ? { userName: user.userName } : {}), ...(key.lastUsed ? { lastUsed: key.lastUsed } : {}) };
  }

  // ---- inline policies -----------------------------------------------------------

  /** PutUserPolicy / PutRolePolicy: creates or replaces an inline policy. */
  putInlinePolicy(accountId: string, owner: PolicyOwnerRef, policyName: string, document: string): void {
    this.write(() => {
      const ownerId = this.requireOwner(accountId, owner);
      parsePolicyDocument(document, 'identity');
      const others = this.store
        .listInlinePolicies(ownerId)
        .filter((p) => p.policyName.toLowerCase() !== policyName.toLowerCase());
      const total = others.reduce((n, p) => n + nonWhitespaceLength(p.document), nonWhitespaceLength(document));
      const limit = INLINE_POLICY_SIZE[owner.kind];
      if (total > limit) {
        throw iamErrors.limitExceeded(`Maximum policy size of ${limit} bytes exceeded for ${owner.kind} ${owner.name}`);
      }
      // A replaced policy keeps the name it was first created with, as IAM does.
      const existing = this.store.getInlinePolicy(ownerId, policyName);
      this.store.putInlinePolicy({ ownerId, policyName: existing?.policyName ?? policyName, document });
    });
  }

  /** GetUserPolicy / GetRolePolicy: the document as stored (not URL-encoded). */
  getInlinePolicy(accountId: string, owner: PolicyOwnerRef, policyName: string): { policyName: string; document: string; ownerName: string } {
    const { id, name } = this.requireOwnerWithName(accountId, owner);
    const policy = this.store.getInlinePolicy(id, policyName);
    if (!policy) throw iamErrors.noSuchInlinePolicy(owner.kind, policyName);
    return { policyName: policy.policyName, document: policy.document, ownerName: name };
  }

  /** DeleteUserPolicy / DeleteRolePolicy. */
  deleteInlinePolicy(accountId: string, owner: PolicyOwnerRef, policyName: string): void {
    this.write(() => {
      const ownerId = this.requireOwner(accountId, owner);
      if (!this.store.getInlinePolicy(ownerId, policyName)) throw iamErrors.noSuchInlinePolicy(owner.kind, policyName);
      this.store.deleteInlinePolicy(ownerId, policyName);
    });
  }

  /** ListUserPolicies / ListRolePolicies: names, ordered. */
  listInlinePolicies(accountId: string, owner: PolicyOwnerRef): string[] {
    return this.store.listInlinePolicies(this.requireOwner(accountId, owner)).map((p) => p.policyName);
  }

  // ---- managed policies ----------------------------------------------------------

  /** CreatePolicy: a customer-managed policy with one version, `v1`. */
  createPolicy(
    accountId: string,
    input: { policyName: string; path?: string; document: string; description?: string },
  ): ManagedPolicy {
    return this.write(() => {
      if (this.store.getManagedPolicyByName(accountId, input.policyName)) {
        throw iamErrors.entityAlreadyExists(`A policy called ${input.policyName} already exists. Duplicate names are not allowed.`);
      }
      parsePolicyDocument(input.document, 'identity');
      if (nonWhitespaceLength(input.document) > MANAGED_POLICY_SIZE) {
        throw iamErrors.limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE}`);
      }
      const path = input.path ?? '/';
      const now = this.clock.now();
      const record: ManagedPolicyRecord = {
        policyId: newUniqueId(this.random, 'ANPA'),
        accountId,
        policyName: input.policyName,
        path,
        arn: iamArn(accountId, 'policy', path, input.policyName),
        document: input.document,
        defaultVersionId: 'v1',
        createdAt: now,
        updatedAt: now,
      };
      if (input.description !== undefined) record.description = input.description;
      this.store.insertManagedPolicy(record);
      return this.describeManaged(record);
    });
  }

  /** GetPolicy: a policy of this account or an AWS-managed one. */
  getPolicy(accountId: string, policyArn: string): ManagedPolicy {
    this.requirePolicyArn(policyArn);
    const policy = this.findManagedPolicy(policyArn);
    if (!policy || (policy.scope === 'Local' && !policyArn.startsWith(`arn:aws:iam::${accountId}:`))) {
      throw iamErrors.noSuchPolicy(policyArn);
    }
    return policy;
  }

  /** ListPolicies: `scope` All (default), AWS or Local. */
  listPolicies(
    accountId: string,
    filter: { scope?: 'All' | 'AWS' | 'Local'; onlyAttached?: boolean; pathPrefix?: string } = {},
  ): ManagedPolicy[] {
    const scope = filter.scope ?? 'All';
    const all = [
      ...(scope === 'Local' ? [] : AWS_MANAGED_POLICIES.map((p) => this.withAttachmentCount(p))),
      ...(scope === 'AWS' ? [] : this.store.listManagedPolicies(accountId).map((p) => this.describeManaged(p))),
    ];
    return all.filter(
      (p) => p.path.startsWith(filter.pathPrefix ?? '/') && (!filter.onlyAttached || p.attachmentCount > 0),
    );
  }

  /** DeletePolicy: refuses while the policy is attached. */
  deletePolicy(accountId: string, policyArn: string): void {
    this.write(() => {
      const policy = this.getPolicy(accountId, policyArn);
      if (policy.scope === 'AWS') throw iamErrors.noSuchPolicy(policyArn);
      if (this.store.countAttachments(policyArn) > 0) {
        throw iamErrors.deleteConflict('Cannot delete a policy attached to entities.');
      }
      this.store.deleteManagedPolicy(policyArn);
    });
  }

  /** AttachUserPolicy / AttachRolePolicy. */
  attachPolicy(accountId: string, owner: PolicyOwnerRef, policyArn: string): void {
    this.write(() => {
      const ownerId = this.requireOwner(accountId, owner);
      this.requirePolicyArn(policyArn);
      const policy = this.findManagedPolicy(policyArn);
      if (!policy || (policy.scope === 'Local' && !policyArn.startsWith(`arn:aws:iam::${accountId}:`))) {
        throw iamErrors.notAttachable(policyArn);
      }
      const attached = this.store.listAttachedPolicies(ownerId);
      if (!attached.includes(policyArn) && attached.length >= MANAGED_POLICIES_PER_ENTITY) {
        const quota = owner.kind === 'user' ? 'PoliciesPerUser' : 'PoliciesPerRole';
        throw iamErrors.limitExceeded(`Cannot exceed quota for ${quota}: ${MANAGED_POLICIES_PER_ENTITY}`);
      }
      this.store.attachPolicy(ownerId, policyArn, this.clock.now());
    });
  }

  /** DetachUserPolicy / DetachRolePolicy. */
  detachPolicy(accountId: string, owner: PolicyOwnerRef, policyArn: string): void {
    this.write(() => {
      const ownerId = this.requireOwner(accountId, owner);
      this.requirePolicyArn(policyArn);
      if (!this.store.detachPolicy(ownerId, policyArn)) throw iamErrors.noSuchPolicy(policyArn);
    });
  }

  /** ListAttachedUserPolicies / ListAttachedRolePolicies. */
  listAttachedPolicies(accountId: string, owner: PolicyOwnerRef, pathPrefix = '/'): AttachedPolicyRef[] {
    const out: AttachedPolicyRef[] = [];
    for (const arn of this.store.listAttachedPolicies(this.requireOwner(accountId, owner))) {
      const policy = this.findManagedPolicy(arn);
      if (policy && policy.path.startsWith(pathPrefix)) out.push({ policyName: policy.policyName, policyArn: arn });
    }
    return out;
  }

  // ---- roles ---------------------------------------------------------------------

  /** CreateRole: the trust policy is checked as one. */
  createRole(
    accountId: string,
    input: { roleName: string; path?: string; assumeRolePolicyDocument: string; description?: string; maxSessionDuration?: number },
  ): Role {
    return this.write(() => {
      if (this.store.getRole(accountId, input.roleName)) {
        throw iamErrors.entityAlreadyExists(`Role with name ${input.roleName} already exists.`);
      }
      parsePolicyDocument(input.assumeRolePolicyDocument, 'trust');
      const role: RoleRecord = {
        roleId: newUniqueId(this.random, 'AROA'),
        accountId,
        roleName: input.roleName,
        path: input.path ?? '/',
        assumeRolePolicyDocument: input.assumeRolePolicyDocument,
        maxSessionDuration: input.maxSessionDuration ?? DEFAULT_SESSION_SECONDS,
        createdAt: this.clock.now(),
      };
      if (input.description !== undefined) role.description = input.description;
      this.store.insertRole(role);
      return withRoleArn(role);
    });
  }

  /** GetRole; throws NoSuchEntity. */
  getRole(accountId: string, roleName: string): Role {
    return withRoleArn(this.requireRole(accountId, roleName));
  }

  /** The role, or undefined (for building ARNs before authorization). */
  findRole(accountId: string, roleName: string): Role | undefined {
    const role = this.store.getRole(accountId, roleName);
    return role && withRoleArn(role);
  }

  /** ListRoles, ordered by name. */
  listRoles(accountId: string, pathPrefix = '/'): Role[] {
    return this.store
      .listRoles(accountId)
      .filter((r) => r.path.startsWith(pathPrefix))
      .map(withRoleArn);
  }

  /** DeleteRole; refuses while policies remain. */
  deleteRole(accountId: string, roleName: string): void {
    this.write(() => {
      const role = this.requireRole(accountId, roleName);
      if (this.store.listInlinePolicies(role.roleId).length > 0) {
        throw iamErrors.deleteConflict('Cannot delete entity, must delete policies first.');
      }
      if (this.store.listAttachedPolicies(role.roleId).length > 0) {
        throw iamErrors.deleteConflict('Cannot delete entity, must detach all policies first.');
      }
      this.store.deleteRole(role.roleId);
    });
  }

  /** UpdateAssumeRolePolicy. */
  updateAssumeRolePolicy(accountId: string, roleName: string, document: string): void {
    this.write(() => {
      const role = this.requireRole(accountId, roleName);
      parsePolicyDocument(document, 'trust');
      this.store.updateRoleTrustPolicy(role.roleId, document);
    });
  }

  // ---- STS -----------------------------------------------------------------------

  /**
   * AssumeRole: evaluates the role's trust policy (as the resource policy, with the role's
   * ARN as the resource) together with the caller's identity policies: in the role's own
   * account a trust policy naming the caller suffices, one naming only the account defers
   * to the identity policies; across accounts both must allow. Then issues temporary
   * credentials that expire by the injected clock.
   */
  assumeRole(caller: Principal, req: AssumeRoleRequest): AssumedRoleCredentials {
    const callerArn = principalArn(caller);
    const denied = () =>
      iamErrors.accessDenied(`User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${req.roleArn}`);
    if (caller.type === 'Root') throw iamErrors.accessDenied('Roles may not be assumed by root accounts.');

    const parsed = ROLE_ARN.exec(req.roleArn);
    const roleRecord = parsed?.[1] && parsed[3] ? this.store.getRole(parsed[1], parsed[3]) : undefined;
    // The ARN must name the role exactly, path included.
    if (!parsed || !roleRecord || (parsed[2] ?? '/') !== roleRecord.path) throw denied();
    const role = withRoleArn(roleRecord);

    const requested = req.durationSeconds;
    if (caller.type === 'AssumedRole' && requested !== undefined && requested > ROLE_CHAINING_MAX_SECONDS) {
      throw iamErrors.validation('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    }
    if (requested !== undefined && requested > role.maxSessionDuration) {
      throw iamErrors.validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const context: Record<string, string | string[]> = { ...req.context, 'sts:RoleSessionName': req.roleSessionName };
    if (req.externalId !== undefined) context['sts:ExternalId'] = req.externalId;
    const decision = authorize({
      principal: {
        arn: callerArn,
        accountId: caller.accountId,
        isRoot: false,
        ...(caller.type === 'IAMUser' ? { username: caller.userName, userId: caller.userId } : {}),
        // A trust policy naming a role matches that role's sessions (role chaining).
        ...(caller.type === 'AssumedRole' ? { roleArn: iamArn(caller.accountId, 'role', caller.rolePath, caller.roleName) } : {}),
        ...(caller.type === 'AWSService' ? { kind: 'service' as const } : {}),
      },
      action: 'sts:AssumeRole',
      resource: role.arn,
      resourceAccountId: role.accountId,
      context,
      identityPolicies: this.identityPolicies(caller),
      resourcePolicy: parsePolicyDocument(role.assumeRolePolicyDocument, 'trust'),
      // Same account or not, the trust policy itself must let the caller in.
      resourcePolicyRequired: true,
    });
    if (decision !== 'Allow') throw denied();

    return this.write(() => {
      const now = this.clock.now();
      const credential: TemporaryCredentialRecord = {
        accessKeyId: newUniqueId(this.random, 'ASIA'),
        secretAccessKey: newSecretKey(this.random),
        sessionToken: newToken(this.random, 96),
        accountId: role.accountId,
        roleId: role.roleId,
        roleName: role.roleName,
        rolePath: role.path,
        sessionName: req.roleSessionName,
        sourceArn: callerArn,
        issuedAt: now,
        expiresAt: now + (requested ?? DEFAULT_SESSION_SECONDS) * 1000,
      };
      this.store.insertTemporaryCredential(credential);
      this.store.recordRoleUse(role.roleId, { at: now, region: req.region ?? 'us-east-1' });
      this.store.deleteTemporaryCredentialsExpiredBefore(now - EXPIRED_CREDENTIAL_RETENTION_MS);
      return {
        accessKeyId: credential.accessKeyId,
        secretAccessKey: credential.secretAccessKey,
        sessionToken: credential.sessionToken,
        expiration: credential.expiresAt,
        assumedRoleId: `${role.roleId}:${req.roleSessionName}`,
        arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${req.roleSessionName}`,
        role,
      };
    });
  }

  // ---- internals -----------------------------------------------------------------

  /** Runs a write atomically and drops the caches it may have made stale. Writes are rare. */
  private write<T>(fn: () => T): T {
    try {
      return this.store.transaction(fn);
    } finally {
      this.resolved.clear();
      this.policies.clear();
    }
  }

  private insertAccessKey(accountId: string, userId: string | null): AccessKeyRecord {
    const key: AccessKeyRecord = {
      accessKeyId: newUniqueId(this.random, 'AKIA'),
      secretAccessKey: newSecretKey(this.random),
      accountId,
      userId,
      status: 'Active',
      createdAt: this.clock.now(),
    };
    this.store.insertAccessKey(key);
    return key;
  }

  private resolveLongTerm(accessKeyId: string): ResolvedAccessKey | undefined {
    const key = this.store.getAccessKey(accessKeyId);
    if (!key) return undefined;
    const active = key.status === 'Active';
    if (key.userId === null) {
      return { secretAccessKey: key.secretAccessKey, principal: { type: 'Root', accountId: key.accountId, accessKeyId }, active };
    }
    const user = this.store.getUserById(key.userId);
    if (!user) return undefined;
    return {
      secretAccessKey: key.secretAccessKey,
      principal: {
        type: 'IAMUser',
        accountId: user.accountId,
        accessKeyId,
        userName: user.userName,
        userId: user.userId,
        path: user.path,
      },
      active,
    };
  }

  private resolveTemporary(accessKeyId: string): ResolvedAccessKey | undefined {
    const c = this.store.getTemporaryCredential(accessKeyId);
    if (!c) return undefined;
    return {
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiresAt: c.expiresAt,
      active: true,
      principal: {
        type: 'AssumedRole',
        accountId: c.accountId,
        accessKeyId,
        roleName: c.roleName,
        roleId: c.roleId,
        rolePath: c.rolePath,
        sessionName: c.sessionName,
        issuedAt: c.issuedAt,
        sourceArn: c.sourceArn,
      },
    };
  }

  private requireUser(accountId: string, userName: string): UserRecord {
    const user = this.store.getUser(accountId, userName);
    if (!user) throw iamErrors.noSuchUser(userName);
    return user;
  }

  private requireRole(accountId: string, roleName: string): RoleRecord {
    const role = this.store.getRole(accountId, roleName);
    if (!role) throw iamErrors.noSuchRole(roleName);
    return role;
  }

  private requireOwnerWithName(accountId: string, owner: PolicyOwnerRef): { id: string; name: string } {
    if (owner.kind === 'user') {
      const user = this.requireUser(accountId, owner.name);
      return { id: user.userId, name: user.userName };
    }
    const role = this.requireRole(accountId, owner.name);
    return { id: role.roleId, name: role.roleName };
  }

  private requireOwner(accountId: string, owner: PolicyOwnerRef): string {
    return this.requireOwnerWithName(accountId, owner).id;
  }

  private requireOwnedKey(accountId: string, userName: string | null, accessKeyId: string): void {
    const ownerId = userName === null ? ROOT_KEY_OWNER : this.requireUser(accountId, userName).userId;
    const key = this.store.getAccessKey(accessKeyId);
    if (!key || key.accountId !== accountId || key.userId !== ownerId) throw iamErrors.noSuchAccessKey(accessKeyId);
  }

  private requirePolicyArn(policyArn: string): void {
    if (!POLICY_ARN.test(policyArn)) throw iamErrors.invalidInput(`ARN ${policyArn} is not valid.`);
  }

  private findManagedPolicy(policyArn: string): ManagedPolicy | undefined {
    const builtin = AWS_MANAGED_POLICIES.find((p) => p.arn === policyArn);
    if (builtin) return this.withAttachmentCount(builtin);
    const record = this.store.getManagedPolicy(policyArn);
    return record && this.describeManaged(record);
  }

  private withAttachmentCount(policy: ManagedPolicy): ManagedPolicy {
    return { ...policy, attachmentCount: this.store.countAttachments(policy.arn) };
  }

  private describeManaged(record: ManagedPolicyRecord): ManagedPolicy {
    const policy: ManagedPolicy = {
      policyName: record.policyName,
      policyId: record.policyId,
      arn: record.arn,
      path: record.path,
      defaultVersionId: record.defaultVersionId,
      attachmentCount: this.store.countAttachments(record.arn),
      isAttachable: true,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      document: record.document,
      scope: 'Local',
    };
    if (record.description !== undefined) policy.description = record.description;
    return policy;
  }
}

function withUserArn(user: UserRecord): User {
  return { ...user, arn: iamArn(user.accountId, 'user', user.path, user.userName) };
}

function withRoleArn(role: RoleRecord): Role {
  return { ...role, arn: iamArn(role.accountId, 'role', role.path, role.roleName) };
}
