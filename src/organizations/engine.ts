/**
 * AWS Organizations: one organization whose management account is the account that
 * created it, its root and organizational units, member accounts (made asynchronously, as
 * CreateAccount is), trusted services, delegated administrators, tags, and service
 * control policies. Auth asks {@link Organizations.serviceControlPolicies} on every
 * decision; organization trails ask who the members are.
 *
 * The organization lives in memory (see store.ts) and every write saves a new state
 * through the store before it becomes visible, one write at a time.
 */
import type { PolicyDocument } from '../auth/policy.js';
import { parsePolicyDocument } from '../auth/policy.js';
import type { Clock } from '../platform/clock.js';
import { newLowerAlnum, type RandomSource } from '../platform/ids.js';
import { SerialRunner } from '../platform/serial.js';
import { orgErrors } from './errors.js';
import type {
  AttachmentRecord,
  CreateAccountRequestRecord,
  CreateAccountState,
  MemberAccountRecord,
  OrganizationRecord,
  OrganizationState,
  OrganizationStore,
  OrganizationalUnitRecord,
  OrgPolicyRecord,
  PolicyType,
  TagRecord,
} from './store.js';

/** Makes the IAM side of a new member account. */
export interface MemberAccountFactory {
  /**
   * Creates an account with no root access keys and the role `roleName`, holding
   * AdministratorAccess and trusting `managementAccountId`; returns the account's id.
   */
  createMemberAccount(req: { roleName: string; managementAccountId: string }): string;
}

export interface OrganizationsDeps {
  store: OrganizationStore;
  clock: Clock;
  random: RandomSource;
  accounts: MemberAccountFactory;
  /** How long a CreateAccount request stays IN_PROGRESS (default 1 s). */
  createAccountDelayMs?: number;
}

/** Who calls: the account of the caller. */
export interface Caller {
  accountId: string;
}

/** An account's place in the organization. */
export type Membership = 'management' | 'member' | 'none';

/** A page of a list and the token of the next one. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** The AWS-managed SCP attached wherever SCPs are enabled. */
export const FULL_AWS_ACCESS: OrgPolicyRecord = {
  id: 'p-FullAWSAccess',
  name: 'FullAWSAccess',
  description: 'Allows access to every operation',
  type: 'SERVICE_CONTROL_POLICY',
  content: '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": "*",\n      "Resource": "*"\n    }\n  ]\n}',
};

/** Organizations' quotas. */
export const LIMITS = {
  /** Characters of an SCP document. */
  scpContent: 5120,
  /** SCPs attached to one root, OU or account. */
  scpPerTarget: 5,
  /** OU nesting below the root. */
  ouDepth: 5,
  tagsPerResource: 50,
  /** Accounts in the organization, the management account included. */
  accounts: 10,
  ouPerOrganization: 1000,
  policies: 1000,
};

const DEFAULT_PAGE = 20;
const CREATE_ACCOUNT_DELAY_MS = 1000;

/** The organization engine. Build with {@link Organizations.open}. */
export class Organizations {
  private state: OrganizationState;
  private readonly writes = new SerialRunner();
  /** SCP levels per member account, cleared by every write: asked on every authorized call. */
  private readonly scpCache = new Map<string, PolicyDocument[][] | null>();
  private readonly parsed = new Map<string, PolicyDocument>();
  private version = 0;

  private constructor(
    private readonly deps: OrganizationsDeps,
    state: OrganizationState,
  ) {
    this.state = state;
  }

  /** Loads the stored organization. */
  static async open(deps: OrganizationsDeps): Promise<Organizations> {
    return new Organizations(deps, await deps.store.load());
  }

  /** A number that changes with every write, for callers that cache what they read. */
  get revision(): number {
    return this.version;
  }

  // ---- questions other capabilities ask --------------------------------------------

  /** The organization, if there is one. */
  organization(): OrganizationRecord | undefined {
    return this.state.organization;
  }

  /** Whether the account manages the organization, belongs to it, or neither. */
  membership(accountId: string): Membership {
    const org = this.state.organization;
    if (!org) return 'none';
    if (org.managementAccountId === accountId) return 'management';
    return this.state.accounts.some((a) => a.accountId === accountId) ? 'member' : 'none';
  }

  /** The organization's accounts (management included) whose status is ACTIVE. */
  activeAccountIds(): string[] {
    return this.state.accounts.filter((a) => a.status === 'ACTIVE').map((a) => a.accountId);
  }

  /** False for an account of the organization that was closed. */
  accountOpen(accountId: string): boolean {
    const account = this.state.accounts.find((a) => a.accountId === accountId);
    return account === undefined || account.status === 'ACTIVE';
  }

  /** Whether trusted access is enabled for the service principal. */
  serviceAccessEnabled(servicePrincipal: string): boolean {
    return this.state.serviceAccess.some((s) => s.servicePrincipal === servicePrincipal);
  }

  /** Whether the account is a delegated administrator for the service principal. */
  isDelegatedAdministrator(accountId: string, servicePrincipal: string): boolean {
    return this.state.delegatedAdministrators.some((d) => d.accountId === accountId && d.servicePrincipal === servicePrincipal);
  }

  /**
   * The SCPs that limit the account's principals, one list per level of the path root ->
   * OUs -> account; undefined when none do (no organization, the management account, SCPs
   * not enabled). Every level must allow; a Deny at any level denies.
   */
  serviceControlPolicies(accountId: string): PolicyDocument[][] | undefined {
    const cached = this.scpCache.get(accountId);
    if (cached !== undefined) return cached ?? undefined;
    const levels = this.computeScpLevels(accountId);
    this.scpCache.set(accountId, levels ?? null);
    return levels;
  }

  private computeScpLevels(accountId: string): PolicyDocument[][] | undefined {
    const org = this.state.organization;
    if (!org || org.managementAccountId === accountId || !org.enabledPolicyTypes.includes('SERVICE_CONTROL_POLICY')) return undefined;
    const account = this.state.accounts.find((a) => a.accountId === accountId);
    if (!account) return undefined;
    const path = [...this.ancestors(account.parentId).reverse(), accountId];
    return path.map((target) =>
      this.state.attachments
        .filter((a) => a.targetId === target)
        .map((a) => this.findPolicy(a.policyId))
        .filter((p): p is OrgPolicyRecord => p !== undefined && p.type === 'SERVICE_CONTROL_POLICY')
        .map((p) => this.parsedPolicy(p)),
    );
  }

  private parsedPolicy(p: OrgPolicyRecord): PolicyDocument {
    const key = `${p.id}\n${p.content}`;
    let doc = this.parsed.get(key);
    if (!doc) {
      doc = parsePolicyDocument(p.content, 'identity');
      this.parsed.set(key, doc);
    }
    return doc;
  }

  // ---- CreateAccount requests complete by the clock ---------------------------------

  /** Completes the CreateAccount requests whose time has come; the server runs it often. */
  async completeDue(): Promise<number> {
    const now = this.deps.clock.now();
    const delay = this.deps.createAccountDelayMs ?? CREATE_ACCOUNT_DELAY_MS;
    if (!this.state.createAccountRequests.some((r) => r.state === 'IN_PROGRESS' && r.requestedAt + delay <= now)) return 0;
    let done = 0;
    await this.write((s) => {
      const org = s.organization;
      if (!org) return;
      for (const request of s.createAccountRequests) {
        if (request.state !== 'IN_PROGRESS' || request.requestedAt + delay > now) continue;
        done++;
        request.completedAt = now;
        if (s.accounts.some((a) => a.email.toLowerCase() === request.email.toLowerCase())) {
          request.state = 'FAILED';
          request.failureReason = 'EMAIL_ALREADY_EXISTS';
          continue;
        }
        if (s.accounts.length >= LIMITS.accounts) {
          request.state = 'FAILED';
          request.failureReason = 'ACCOUNT_LIMIT_EXCEEDED';
          continue;
        }
        const accountId = this.deps.accounts.createMemberAccount({ roleName: request.roleName, managementAccountId: org.managementAccountId });
        s.accounts.push({
          accountId,
          name: request.accountName,
          email: request.email,
          status: 'ACTIVE',
          joinedMethod: 'CREATED',
          joinedAt: now,
          parentId: org.rootId,
        });
        if (request.tags.length > 0) s.tags[accountId] = request.tags;
        if (org.enabledPolicyTypes.includes('SERVICE_CONTROL_POLICY')) s.attachments.push({ policyId: FULL_AWS_ACCESS.id, targetId: accountId });
        request.state = 'SUCCEEDED';
        request.accountId = accountId;
      }
    });
    return done;
  }

  /** Waits for the writes queued so far; nothing new is accepted after. */
  async stop(): Promise<void> {
    await this.writes.stop();
  }

  // ---- the organization ----------------------------------------------------------

  /** CreateOrganization: the caller's account becomes the management account. */
  async createOrganization(caller: Caller, featureSet: 'ALL' | 'CONSOLIDATED_BILLING' = 'ALL'): Promise<OrganizationRecord> {
    return this.write((s) => {
      if (s.organization) {
        if (this.membership(caller.accountId) !== 'none') throw orgErrors.alreadyInOrganization();
        throw orgErrors.constraint('ORGANIZATION_LIMIT_EXCEEDED', 'This server hosts one organization, and it exists already.');
      }
      const now = this.deps.clock.now();
      const org: OrganizationRecord = {
        id: `o-${newLowerAlnum(this.deps.random, 10)}`,
        managementAccountId: caller.accountId,
        managementAccountEmail: managementEmail(caller.accountId),
        featureSet,
        rootId: `r-${newLowerAlnum(this.deps.random, 4)}`,
        enabledPolicyTypes: [],
        createdAt: now,
      };
      s.organization = org;
      s.accounts = [
        {
          accountId: caller.accountId,
          name: 'management',
          email: org.managementAccountEmail,
          status: 'ACTIVE',
          joinedMethod: 'INVITED',
          joinedAt: now,
          parentId: org.rootId,
        },
      ];
      return org;
    });
  }

  /** DescribeOrganization: any account of the organization may ask. */
  describeOrganization(caller: Caller): OrganizationRecord {
    const org = this.state.organization;
    if (!org || this.membership(caller.accountId) === 'none') throw orgErrors.notInUse();
    return org;
  }

  /** DeleteOrganization: only when the management account is its last account. */
  async deleteOrganization(caller: Caller): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      if (s.accounts.length > 1) throw orgErrors.organizationNotEmpty();
      Object.assign(s, { ...emptyState() });
    });
  }

  /** ListRoots. */
  listRoots(caller: Caller): OrganizationRecord {
    return this.requireReader(caller);
  }

  // ---- accounts ------------------------------------------------------------------

  /** CreateAccount: queues the request; the account exists once it SUCCEEDED. */
  async createAccount(
    caller: Caller,
    input: { accountName: string; email: string; roleName?: string; tags?: TagRecord[] },
  ): Promise<CreateAccountRequestRecord> {
    checkEmail(input.email);
    checkTags(input.tags ?? []);
    return this.write((s) => {
      this.requireManagement(s, caller);
      const request: CreateAccountRequestRecord = {
        id: `car-${newLowerAlnum(this.deps.random, 32)}`,
        accountName: input.accountName,
        email: input.email,
        roleName: input.roleName ?? 'OrganizationAccountAccessRole',
        state: 'IN_PROGRESS',
        requestedAt: this.deps.clock.now(),
        tags: input.tags ?? [],
      };
      s.createAccountRequests.push(request);
      return request;
    });
  }

  /** DescribeCreateAccountStatus. */
  async describeCreateAccountStatus(caller: Caller, requestId: string): Promise<CreateAccountRequestRecord> {
    this.requireReader(caller);
    await this.completeDue();
    const request = this.state.createAccountRequests.find((r) => r.id === requestId);
    if (!request) throw orgErrors.createAccountStatusNotFound();
    return request;
  }

  /** ListCreateAccountStatus, optionally of some states only. */
  async listCreateAccountStatus(caller: Caller, states: CreateAccountState[] | undefined, page: PageRequest): Promise<Page<CreateAccountRequestRecord>> {
    this.requireReader(caller);
    await this.completeDue();
    const all = this.state.createAccountRequests.filter((r) => !states || states.length === 0 || states.includes(r.state));
    return paginate(all, page);
  }

  /** DescribeAccount. */
  describeAccount(caller: Caller, accountId: string): MemberAccountRecord {
    this.requireReader(caller);
    return this.requireAccount(accountId);
  }

  /** ListAccounts. */
  listAccounts(caller: Caller, page: PageRequest): Page<MemberAccountRecord> {
    this.requireReader(caller);
    return paginate(this.state.accounts, page);
  }

  /** ListAccountsForParent. */
  listAccountsForParent(caller: Caller, parentId: string, page: PageRequest): Page<MemberAccountRecord> {
    this.requireReader(caller);
    this.requireParent(parentId, orgErrors.parentNotFound);
    return paginate(
      this.state.accounts.filter((a) => a.parentId === parentId),
      page,
    );
  }

  /** CloseAccount: the account is suspended; its principals can no longer call. */
  async closeAccount(caller: Caller, accountId: string): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      const account = this.requireAccountIn(s, accountId);
      if (account.accountId === s.organization?.managementAccountId) {
        throw orgErrors.constraint('CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED', "You can't close the management account with CloseAccount.");
      }
      if (account.status !== 'ACTIVE') throw orgErrors.accountAlreadyClosed();
      account.status = 'SUSPENDED';
    });
  }

  /** RemoveAccountFromOrganization. */
  async removeAccount(caller: Caller, accountId: string): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      const account = this.requireAccountIn(s, accountId);
      if (account.accountId === s.organization?.managementAccountId) throw orgErrors.masterCannotLeave();
      s.accounts = s.accounts.filter((a) => a.accountId !== accountId);
      s.attachments = s.attachments.filter((a) => a.targetId !== accountId);
      s.delegatedAdministrators = s.delegatedAdministrators.filter((d) => d.accountId !== accountId);
      delete s.tags[accountId];
    });
  }

  /** MoveAccount. */
  async moveAccount(caller: Caller, input: { accountId: string; sourceParentId: string; destinationParentId: string }): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      const account = this.requireAccountIn(s, input.accountId);
      if (!this.parentExists(s, input.sourceParentId)) throw orgErrors.sourceParentNotFound();
      if (!this.parentExists(s, input.destinationParentId)) throw orgErrors.destinationParentNotFound();
      if (account.parentId !== input.sourceParentId) throw orgErrors.accountNotFound();
      if (account.parentId === input.destinationParentId) throw orgErrors.duplicateAccount();
      account.parentId = input.destinationParentId;
    });
  }

  // ---- organizational units -----------------------------------------------------------

  /** CreateOrganizationalUnit. */
  async createOrganizationalUnit(caller: Caller, input: { name: string; parentId: string; tags?: TagRecord[] }): Promise<OrganizationalUnitRecord> {
    checkTags(input.tags ?? []);
    return this.write((s) => {
      const org = this.requireManagement(s, caller);
      if (!this.parentExists(s, input.parentId)) throw orgErrors.parentNotFound();
      if (this.ancestorsIn(s, input.parentId).length > LIMITS.ouDepth) {
        throw orgErrors.constraint('OU_DEPTH_LIMIT_EXCEEDED', 'You attempted to create an OU tree that is too many levels deep.');
      }
      if (s.units.length >= LIMITS.ouPerOrganization) {
        throw orgErrors.constraint('OU_NUMBER_LIMIT_EXCEEDED', 'You attempted to exceed the number of OUs that you can have in an organization.');
      }
      if (s.units.some((u) => u.parentId === input.parentId && u.name === input.name)) throw orgErrors.duplicateOu();
      const unit: OrganizationalUnitRecord = {
        id: `ou-${org.rootId.slice(2)}-${newLowerAlnum(this.deps.random, 8)}`,
        name: input.name,
        parentId: input.parentId,
      };
      s.units.push(unit);
      if (input.tags && input.tags.length > 0) s.tags[unit.id] = input.tags;
      if (org.enabledPolicyTypes.includes('SERVICE_CONTROL_POLICY')) s.attachments.push({ policyId: FULL_AWS_ACCESS.id, targetId: unit.id });
      return unit;
    });
  }

  /** DescribeOrganizationalUnit. */
  describeOrganizationalUnit(caller: Caller, id: string): OrganizationalUnitRecord {
    this.requireReader(caller);
    const unit = this.state.units.find((u) => u.id === id);
    if (!unit) throw orgErrors.ouNotFound();
    return unit;
  }

  /** UpdateOrganizationalUnit (its name). */
  async updateOrganizationalUnit(caller: Caller, id: string, name: string | undefined): Promise<OrganizationalUnitRecord> {
    return this.write((s) => {
      this.requireManagement(s, caller);
      const unit = s.units.find((u) => u.id === id);
      if (!unit) throw orgErrors.ouNotFound();
      if (name !== undefined && name !== unit.name) {
        if (s.units.some((u) => u.parentId === unit.parentId && u.name === name)) throw orgErrors.duplicateOu();
        unit.name = name;
      }
      return { ...unit };
    });
  }

  /** DeleteOrganizationalUnit: only an empty one. */
  async deleteOrganizationalUnit(caller: Caller, id: string): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      if (!s.units.some((u) => u.id === id)) throw orgErrors.ouNotFound();
      if (s.units.some((u) => u.parentId === id) || s.accounts.some((a) => a.parentId === id)) throw orgErrors.ouNotEmpty();
      s.units = s.units.filter((u) => u.id !== id);
      s.attachments = s.attachments.filter((a) => a.targetId !== id);
      delete s.tags[id];
    });
  }

  /** ListOrganizationalUnitsForParent. */
  listOrganizationalUnitsForParent(caller: Caller, parentId: string, page: PageRequest): Page<OrganizationalUnitRecord> {
    this.requireReader(caller);
    this.requireParent(parentId, orgErrors.parentNotFound);
    return paginate(
      this.state.units.filter((u) => u.parentId === parentId),
      page,
    );
  }

  /** ListChildren. */
  listChildren(caller: Caller, parentId: string, type: 'ACCOUNT' | 'ORGANIZATIONAL_UNIT', page: PageRequest): Page<{ id: string; type: string }> {
    this.requireReader(caller);
    this.requireParent(parentId, orgErrors.parentNotFound);
    const ids =
      type === 'ACCOUNT'
        ? this.state.accounts.filter((a) => a.parentId === parentId).map((a) => a.accountId)
        : this.state.units.filter((u) => u.parentId === parentId).map((u) => u.id);
    return paginate(
      ids.map((id) => ({ id, type })),
      page,
    );
  }

  /** ListParents: the one parent of an account or OU. */
  listParents(caller: Caller, childId: string): { id: string; type: 'ROOT' | 'ORGANIZATIONAL_UNIT' } {
    const org = this.requireReader(caller);
    const parentId = this.state.accounts.find((a) => a.accountId === childId)?.parentId ?? this.state.units.find((u) => u.id === childId)?.parentId;
    if (parentId === undefined) throw orgErrors.childNotFound();
    return { id: parentId, type: parentId === org.rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT' };
  }

  /** The `o-.../r-.../ou-.../` path of an account or OU, as the Account shape's Paths show it. */
  pathOf(targetId: string): string {
    const org = this.state.organization;
    if (!org) return '';
    const account = this.state.accounts.find((a) => a.accountId === targetId);
    const parent = account ? account.parentId : (this.state.units.find((u) => u.id === targetId)?.parentId ?? org.rootId);
    const chain = targetId === org.rootId ? [org.rootId] : [...this.ancestors(parent).reverse(), targetId];
    return `${org.id}/${chain.join('/')}/`;
  }

  // ---- trusted services and delegated administrators ----------------------------------

  /** EnableAWSServiceAccess. */
  async enableServiceAccess(caller: Caller, servicePrincipal: string): Promise<void> {
    checkServicePrincipal(servicePrincipal);
    await this.write((s) => {
      const org = this.requireManagement(s, caller);
      if (org.featureSet !== 'ALL') throw orgErrors.constraint('ENABLE_ALL_FEATURES_REQUIRED', 'This operation requires the organization to have all features enabled.');
      if (!s.serviceAccess.some((a) => a.servicePrincipal === servicePrincipal)) {
        s.serviceAccess.push({ servicePrincipal, enabledAt: this.deps.clock.now() });
      }
    });
  }

  /** DisableAWSServiceAccess. */
  async disableServiceAccess(caller: Caller, servicePrincipal: string): Promise<void> {
    checkServicePrincipal(servicePrincipal);
    await this.write((s) => {
      this.requireManagement(s, caller);
      s.serviceAccess = s.serviceAccess.filter((a) => a.servicePrincipal !== servicePrincipal);
    });
  }

  /** ListAWSServiceAccessForOrganization. */
  listServiceAccess(caller: Caller, page: PageRequest): Page<{ servicePrincipal: string; enabledAt: number }> {
    this.requireReader(caller);
    return paginate(this.state.serviceAccess, page);
  }

  /** RegisterDelegatedAdministrator. */
  async registerDelegatedAdministrator(caller: Caller, accountId: string, servicePrincipal: string): Promise<void> {
    checkServicePrincipal(servicePrincipal);
    await this.write((s) => {
      const org = this.requireManagement(s, caller);
      this.requireAccountIn(s, accountId);
      if (accountId === org.managementAccountId) {
        throw orgErrors.constraint('CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR', 'You cannot register the management account of the organization as a delegated administrator.');
      }
      if (s.delegatedAdministrators.some((d) => d.accountId === accountId && d.servicePrincipal === servicePrincipal)) throw orgErrors.accountAlreadyRegistered();
      s.delegatedAdministrators.push({ accountId, servicePrincipal, enabledAt: this.deps.clock.now() });
    });
  }

  /** DeregisterDelegatedAdministrator. */
  async deregisterDelegatedAdministrator(caller: Caller, accountId: string, servicePrincipal: string): Promise<void> {
    checkServicePrincipal(servicePrincipal);
    await this.write((s) => {
      this.requireManagement(s, caller);
      this.requireAccountIn(s, accountId);
      const before = s.delegatedAdministrators.length;
      s.delegatedAdministrators = s.delegatedAdministrators.filter((d) => !(d.accountId === accountId && d.servicePrincipal === servicePrincipal));
      if (s.delegatedAdministrators.length === before) throw orgErrors.accountNotRegistered();
    });
  }

  /** ListDelegatedAdministrators, optionally for one service. */
  listDelegatedAdministrators(caller: Caller, servicePrincipal: string | undefined, page: PageRequest): Page<{ account: MemberAccountRecord; enabledAt: number }> {
    this.requireReader(caller);
    const byAccount = new Map<string, number>();
    for (const d of this.state.delegatedAdministrators) {
      if (servicePrincipal !== undefined && d.servicePrincipal !== servicePrincipal) continue;
      const first = byAccount.get(d.accountId);
      if (first === undefined || d.enabledAt < first) byAccount.set(d.accountId, d.enabledAt);
    }
    const items = [...byAccount].flatMap(([accountId, enabledAt]) => {
      const account = this.state.accounts.find((a) => a.accountId === accountId);
      return account ? [{ account, enabledAt }] : [];
    });
    return paginate(items, page);
  }

  // ---- policies ------------------------------------------------------------------

  /** EnablePolicyType: enabling SCPs attaches FullAWSAccess to the root, every OU and account. */
  async enablePolicyType(caller: Caller, rootId: string, type: PolicyType): Promise<OrganizationRecord> {
    return this.write((s) => {
      const org = this.requireManagement(s, caller);
      if (rootId !== org.rootId) throw orgErrors.rootNotFound();
      if (org.featureSet !== 'ALL' || !SUPPORTED_POLICY_TYPES.has(type)) throw orgErrors.policyTypeNotAvailable();
      if (org.enabledPolicyTypes.includes(type)) throw orgErrors.policyTypeAlreadyEnabled();
      org.enabledPolicyTypes = [...org.enabledPolicyTypes, type];
      if (type === 'SERVICE_CONTROL_POLICY') {
        for (const target of [org.rootId, ...s.units.map((u) => u.id), ...s.accounts.map((a) => a.accountId)]) {
          if (!s.attachments.some((a) => a.policyId === FULL_AWS_ACCESS.id && a.targetId === target)) s.attachments.push({ policyId: FULL_AWS_ACCESS.id, targetId: target });
        }
      }
      return { ...org };
    });
  }

  /** DisablePolicyType: detaches every policy of the type. */
  async disablePolicyType(caller: Caller, rootId: string, type: PolicyType): Promise<OrganizationRecord> {
    return this.write((s) => {
      const org = this.requireManagement(s, caller);
      if (rootId !== org.rootId) throw orgErrors.rootNotFound();
      if (!org.enabledPolicyTypes.includes(type)) throw orgErrors.policyTypeNotEnabled();
      org.enabledPolicyTypes = org.enabledPolicyTypes.filter((t) => t !== type);
      s.attachments = s.attachments.filter((a) => this.findPolicyIn(s, a.policyId)?.type !== type);
      return { ...org };
    });
  }

  /** CreatePolicy. */
  async createPolicy(caller: Caller, input: { name: string; description: string; type: PolicyType; content: string; tags?: TagRecord[] }): Promise<OrgPolicyRecord> {
    checkPolicyContent(input.type, input.content);
    checkTags(input.tags ?? []);
    return this.write((s) => {
      this.requireManagement(s, caller);
      if (s.policies.length >= LIMITS.policies) throw orgErrors.constraint('POLICY_NUMBER_LIMIT_EXCEEDED', 'You attempted to exceed the number of policies that you can have in an organization.');
      if (s.policies.some((p) => p.type === input.type && p.name === input.name) || input.name === FULL_AWS_ACCESS.name) throw orgErrors.duplicatePolicy();
      const policy: OrgPolicyRecord = {
        id: `p-${newLowerAlnum(this.deps.random, 10)}`,
        name: input.name,
        description: input.description,
        type: input.type,
        content: input.content,
      };
      s.policies.push(policy);
      if (input.tags && input.tags.length > 0) s.tags[policy.id] = input.tags;
      return policy;
    });
  }

  /** UpdatePolicy. */
  async updatePolicy(caller: Caller, input: { policyId: string; name?: string; description?: string; content?: string }): Promise<OrgPolicyRecord> {
    return this.write((s) => {
      this.requireManagement(s, caller);
      if (input.policyId === FULL_AWS_ACCESS.id) throw orgErrors.accessDenied('You cannot modify an AWS managed policy.');
      const policy = s.policies.find((p) => p.id === input.policyId);
      if (!policy) throw orgErrors.policyNotFound();
      if (input.content !== undefined) checkPolicyContent(policy.type, input.content);
      if (input.name !== undefined && input.name !== policy.name && s.policies.some((p) => p.type === policy.type && p.name === input.name)) throw orgErrors.duplicatePolicy();
      if (input.name !== undefined) policy.name = input.name;
      if (input.description !== undefined) policy.description = input.description;
      if (input.content !== undefined) policy.content = input.content;
      return { ...policy };
    });
  }

  /** DescribePolicy. */
  describePolicy(caller: Caller, policyId: string): OrgPolicyRecord {
    this.requireReader(caller);
    const policy = this.findPolicy(policyId);
    if (!policy) throw orgErrors.policyNotFound();
    return policy;
  }

  /** DeletePolicy: only a detached one. */
  async deletePolicy(caller: Caller, policyId: string): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      if (policyId === FULL_AWS_ACCESS.id) throw orgErrors.accessDenied('You cannot delete an AWS managed policy.');
      if (!s.policies.some((p) => p.id === policyId)) throw orgErrors.policyNotFound();
      if (s.attachments.some((a) => a.policyId === policyId)) throw orgErrors.policyInUse();
      s.policies = s.policies.filter((p) => p.id !== policyId);
      delete s.tags[policyId];
    });
  }

  /** AttachPolicy. */
  async attachPolicy(caller: Caller, policyId: string, targetId: string): Promise<void> {
    await this.write((s) => {
      const org = this.requireManagement(s, caller);
      const policy = this.findPolicyIn(s, policyId);
      if (!policy) throw orgErrors.policyNotFound();
      if (!this.targetExists(s, targetId)) throw orgErrors.targetNotFound();
      if (!org.enabledPolicyTypes.includes(policy.type)) throw orgErrors.policyTypeNotEnabled();
      if (s.attachments.some((a) => a.policyId === policyId && a.targetId === targetId)) throw orgErrors.duplicateAttachment();
      const ofType = s.attachments.filter((a) => a.targetId === targetId && this.findPolicyIn(s, a.policyId)?.type === policy.type).length;
      if (ofType >= LIMITS.scpPerTarget) {
        throw orgErrors.constraint('MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED', 'You attempted to exceed the number of policies of a certain type that can be attached to an entity at one time.');
      }
      s.attachments.push({ policyId, targetId });
    });
  }

  /** DetachPolicy: an entity keeps at least one SCP. */
  async detachPolicy(caller: Caller, policyId: string, targetId: string): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      const policy = this.findPolicyIn(s, policyId);
      if (!policy) throw orgErrors.policyNotFound();
      if (!this.targetExists(s, targetId)) throw orgErrors.targetNotFound();
      if (!s.attachments.some((a) => a.policyId === policyId && a.targetId === targetId)) throw orgErrors.policyNotAttached();
      const ofType = s.attachments.filter((a) => a.targetId === targetId && this.findPolicyIn(s, a.policyId)?.type === policy.type).length;
      if (policy.type === 'SERVICE_CONTROL_POLICY' && ofType <= 1) {
        throw orgErrors.constraint('MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED', 'You attempted to detach a policy from an entity that would cause the entity to have fewer than the minimum number of policies of a certain type required.');
      }
      s.attachments = s.attachments.filter((a) => !(a.policyId === policyId && a.targetId === targetId));
    });
  }

  /** ListPolicies of one type. */
  listPolicies(caller: Caller, type: PolicyType, page: PageRequest): Page<OrgPolicyRecord> {
    this.requireReader(caller);
    return paginate(
      this.allPolicies().filter((p) => p.type === type),
      page,
    );
  }

  /** ListPoliciesForTarget. */
  listPoliciesForTarget(caller: Caller, targetId: string, type: PolicyType, page: PageRequest): Page<OrgPolicyRecord> {
    this.requireReader(caller);
    if (!this.targetExists(this.state, targetId)) throw orgErrors.targetNotFound();
    const policies = this.state.attachments
      .filter((a) => a.targetId === targetId)
      .map((a) => this.findPolicy(a.policyId))
      .filter((p): p is OrgPolicyRecord => p !== undefined && p.type === type);
    return paginate(policies, page);
  }

  /** ListTargetsForPolicy. */
  listTargetsForPolicy(caller: Caller, policyId: string, page: PageRequest): Page<{ targetId: string; type: 'ACCOUNT' | 'ORGANIZATIONAL_UNIT' | 'ROOT'; name: string }> {
    const org = this.requireReader(caller);
    if (!this.findPolicy(policyId)) throw orgErrors.policyNotFound();
    const targets = this.state.attachments
      .filter((a: AttachmentRecord) => a.policyId === policyId)
      .map((a) => {
        if (a.targetId === org.rootId) return { targetId: a.targetId, type: 'ROOT' as const, name: 'Root' };
        const unit = this.state.units.find((u) => u.id === a.targetId);
        if (unit) return { targetId: a.targetId, type: 'ORGANIZATIONAL_UNIT' as const, name: unit.name };
        const account = this.state.accounts.find((x) => x.accountId === a.targetId);
        return { targetId: a.targetId, type: 'ACCOUNT' as const, name: account?.name ?? a.targetId };
      });
    return paginate(targets, page);
  }

  /** Whether the policy is AWS-managed. */
  static isAwsManaged(policy: OrgPolicyRecord): boolean {
    return policy.id === FULL_AWS_ACCESS.id;
  }

  // ---- tags ----------------------------------------------------------------------

  /** TagResource: adds or replaces tags on an account, OU, root or policy. */
  async tagResource(caller: Caller, resourceId: string, tags: TagRecord[]): Promise<void> {
    checkTags(tags);
    await this.write((s) => {
      this.requireManagement(s, caller);
      if (!this.taggable(s, resourceId)) throw orgErrors.targetNotFound();
      const current = [...(s.tags[resourceId] ?? [])];
      for (const tag of tags) {
        const i = current.findIndex((t) => t.Key === tag.Key);
        if (i >= 0) current[i] = tag;
        else current.push(tag);
      }
      if (current.length > LIMITS.tagsPerResource) throw orgErrors.constraint('TAG_POLICY_VIOLATION', `A resource can have at most ${LIMITS.tagsPerResource} tags.`);
      s.tags[resourceId] = current;
    });
  }

  /** UntagResource. */
  async untagResource(caller: Caller, resourceId: string, keys: string[]): Promise<void> {
    await this.write((s) => {
      this.requireManagement(s, caller);
      if (!this.taggable(s, resourceId)) throw orgErrors.targetNotFound();
      s.tags[resourceId] = (s.tags[resourceId] ?? []).filter((t) => !keys.includes(t.Key));
    });
  }

  /** ListTagsForResource. */
  listTags(caller: Caller, resourceId: string): TagRecord[] {
    this.requireReader(caller);
    if (!this.taggable(this.state, resourceId)) throw orgErrors.targetNotFound();
    return this.state.tags[resourceId] ?? [];
  }

  // ---- internals -----------------------------------------------------------------

  /**
   * Applies `change` to a copy of the state, saves it, then makes it current; a thrown
   * error leaves everything as it was.
   */
  private write<T>(change: (s: OrganizationState) => T): Promise<T> {
    return this.writes.run(
      async () => {
        const next = structuredClone(this.state);
        const result = change(next);
        await this.deps.store.save(next);
        this.state = next;
        this.scpCache.clear();
        this.version++;
        return result;
      },
      () => {
        throw orgErrors.constraint('SERVICE_STOPPING', 'The server is stopping.');
      },
    );
  }

  private requireManagement(s: OrganizationState, caller: Caller): OrganizationRecord {
    const org = s.organization;
    if (!org) throw orgErrors.notInUse();
    if (org.managementAccountId !== caller.accountId) {
      if (s.accounts.some((a) => a.accountId === caller.accountId)) throw orgErrors.accessDenied();
      throw orgErrors.notInUse();
    }
    return org;
  }

  /** The management account and delegated administrators may read the organization's structure. */
  private requireReader(caller: Caller): OrganizationRecord {
    const org = this.state.organization;
    if (!org || this.membership(caller.accountId) === 'none') throw orgErrors.notInUse();
    if (org.managementAccountId !== caller.accountId && !this.state.delegatedAdministrators.some((d) => d.accountId === caller.accountId)) {
      throw orgErrors.accessDenied();
    }
    return org;
  }

  private requireAccount(accountId: string): MemberAccountRecord {
    return this.requireAccountIn(this.state, accountId);
  }

  private requireAccountIn(s: OrganizationState, accountId: string): MemberAccountRecord {
    const account = s.accounts.find((a) => a.accountId === accountId);
    if (!account) throw orgErrors.accountNotFound();
    return account;
  }

  private requireParent(parentId: string, notFound: () => Error): void {
    if (!this.parentExists(this.state, parentId)) throw notFound();
  }

  private parentExists(s: OrganizationState, parentId: string): boolean {
    return s.organization?.rootId === parentId || s.units.some((u) => u.id === parentId);
  }

  private targetExists(s: OrganizationState, targetId: string): boolean {
    return this.parentExists(s, targetId) || s.accounts.some((a) => a.accountId === targetId);
  }

  private taggable(s: OrganizationState, resourceId: string): boolean {
    return this.targetExists(s, resourceId) || s.policies.some((p) => p.id === resourceId);
  }

  /** The parent and its ancestors up to the root, nearest first. */
  private ancestors(parentId: string): string[] {
    return this.ancestorsIn(this.state, parentId);
  }

  private ancestorsIn(s: OrganizationState, parentId: string): string[] {
    const chain: string[] = [];
    let current: string | undefined = parentId;
    // Bounded by the number of OUs: a corrupt store with a loop cannot spin forever.
    while (current !== undefined && chain.length <= s.units.length + 1) {
      chain.push(current);
      const at: string = current;
      current = s.units.find((u) => u.id === at)?.parentId;
    }
    return chain;
  }

  private allPolicies(): OrgPolicyRecord[] {
    return [FULL_AWS_ACCESS, ...this.state.policies];
  }

  private findPolicy(policyId: string): OrgPolicyRecord | undefined {
    return this.findPolicyIn(this.state, policyId);
  }

  private findPolicyIn(s: OrganizationState, policyId: string): OrgPolicyRecord | undefined {
    return policyId === FULL_AWS_ACCESS.id ? FULL_AWS_ACCESS : s.policies.find((p) => p.id === policyId);
  }
}

function emptyState(): OrganizationState {
  return { organization: undefined, accounts: [], units: [], policies: [], attachments: [], createAccountRequests: [], serviceAccess: [], delegatedAdministrators: [], tags: {} };
}

/** Cairn has no account emails of its own: the management account gets a fixed, invalid-domain one. */
function managementEmail(accountId: string): string {
  return `management+${accountId}@cairn.invalid`;
}

/** A page request: the token from the previous page and the page size (1-20). */
export interface PageRequest {
  maxResults?: number;
  nextToken?: string;
}

function paginate<T>(all: readonly T[], page: PageRequest): Page<T> {
  let start = 0;
  if (page.nextToken !== undefined) {
    const m = /^(\d{1,9})$/.exec(Buffer.from(page.nextToken, 'base64').toString('utf8'));
    if (!m) throw orgErrors.invalidInput('INVALID_PAGINATION_TOKEN', 'You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.');
    start = Number(m[1]);
  }
  const size = page.maxResults ?? DEFAULT_PAGE;
  const items = all.slice(start, start + size);
  return start + size < all.length ? { items, nextToken: Buffer.from(String(start + size)).toString('base64') } : { items };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkEmail(email: string): void {
  if (!EMAIL.test(email) || email.length < 6 || email.length > 64) {
    throw orgErrors.constraint('INVALID_EMAIL_ADDRESS_TARGET', 'You provided an invalid email address.');
  }
}

function checkServicePrincipal(principal: string): void {
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$/.test(principal)) {
    throw orgErrors.invalidInput('INVALID_SERVICE_PRINCIPAL', `You specified an invalid service principal: ${principal.slice(0, 128)}`);
  }
}

function checkTags(tags: readonly TagRecord[]): void {
  if (tags.length > LIMITS.tagsPerResource) throw orgErrors.constraint('TAG_POLICY_VIOLATION', `A resource can have at most ${LIMITS.tagsPerResource} tags.`);
  const keys = new Set<string>();
  for (const t of tags) {
    if (keys.has(t.Key)) throw orgErrors.invalidInput('DUPLICATE_TAG_KEY', 'Tag keys must be unique among the tags attached to the same entity.');
    if (t.Key.toLowerCase().startsWith('aws:')) throw orgErrors.invalidInput('INVALID_SYSTEM_TAGS_PARAMETER', "The tag key can't start with 'aws:'.");
    keys.add(t.Key);
  }
}

/**
 * The policy types Cairn enforces. Others (tag, backup, AI opt-out... policies) govern
 * services Cairn does not run, so they are refused rather than stored and ignored.
 */
const SUPPORTED_POLICY_TYPES: ReadonlySet<PolicyType> = new Set(['SERVICE_CONTROL_POLICY']);

/** An SCP must fit the size quota and be a valid identity-style policy document (no Principal). */
function checkPolicyContent(type: PolicyType, content: string): void {
  if (!SUPPORTED_POLICY_TYPES.has(type)) throw orgErrors.policyTypeNotAvailable();
  if (content.length > LIMITS.scpContent) {
    throw orgErrors.constraint('POLICY_CONTENT_LIMIT_EXCEEDED', 'You attempted to create a policy that is larger than the maximum size.');
  }
  try {
    parsePolicyDocument(content, 'identity');
  } catch (e) {
    throw orgErrors.malformedPolicy(e instanceof Error ? e.message : '');
  }
}
