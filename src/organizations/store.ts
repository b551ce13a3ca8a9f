/**
 * The organization store's contract and the shapes it keeps: the organization, its root,
 * organizational units, member accounts, policies and their attachments, CreateAccount
 * requests, trusted services, delegated administrators and tags. The `Organizations`
 * engine (engine.ts) owns every rule; a store only keeps rows.
 *
 * An organization is small (accounts and OUs in the hundreds) and written rarely, while
 * every authorized request asks which service control policies apply to its account. So
 * the engine holds the whole organization in memory, loaded once, and hands the store a
 * complete new {@link OrganizationState} on each write: the store replaces what it holds
 * atomically. The interface is async so a PostgreSQL store can implement it.
 */

/** Organizations' policy types; Cairn enforces service control policies. */
export type PolicyType =
  | 'SERVICE_CONTROL_POLICY'
  | 'RESOURCE_CONTROL_POLICY'
  | 'TAG_POLICY'
  | 'BACKUP_POLICY'
  | 'AISERVICES_OPT_OUT_POLICY'
  | 'CHATBOT_POLICY'
  | 'DECLARATIVE_POLICY_EC2'
  | 'SECURITYHUB_POLICY'
  | 'INSPECTOR_POLICY'
  | 'UPGRADE_ROLLOUT_POLICY'
  | 'BEDROCK_POLICY'
  | 'S3_POLICY'
  | 'NETWORK_SECURITY_DIRECTOR_POLICY';

export interface OrganizationRecord {
  /** `o-` and 10 lower-case letters or digits. */
  id: string;
  managementAccountId: string;
  managementAccountEmail: string;
  featureSet: 'ALL' | 'CONSOLIDATED_BILLING';
  /** `r-` and 4 lower-case letters or digits. */
  rootId: string;
  /** Policy types enabled in the root. */
  enabledPolicyTypes: PolicyType[];
  createdAt: number;
}

export type AccountStatus = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';

/** An account of the organization, the management account included. */
export interface MemberAccountRecord {
  accountId: string;
  name: string;
  email: string;
  status: AccountStatus;
  joinedMethod: 'INVITED' | 'CREATED';
  joinedAt: number;
  /** The root's or an OU's id. */
  parentId: string;
}

export interface OrganizationalUnitRecord {
  /** `ou-<root suffix>-<8 characters>`. */
  id: string;
  name: string;
  parentId: string;
}

/** A customer-managed policy (AWS-managed ones, like FullAWSAccess, are built in). */
export interface OrgPolicyRecord {
  id: string;
  name: string;
  description: string;
  type: PolicyType;
  content: string;
}

export interface AttachmentRecord {
  policyId: string;
  /** A root, OU or account id. */
  targetId: string;
}

export type CreateAccountState = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

/** A CreateAccount request; it completes once its time comes (see the engine). */
export interface CreateAccountRequestRecord {
  /** `car-` and 32 lower-case letters or digits. */
  id: string;
  accountName: string;
  email: string;
  roleName: string;
  state: CreateAccountState;
  requestedAt: number;
  completedAt?: number;
  accountId?: string;
  failureReason?: 'EMAIL_ALREADY_EXISTS' | 'ACCOUNT_LIMIT_EXCEEDED' | 'INTERNAL_FAILURE';
  /** Tags for the new account, applied when it is made. */
  tags: TagRecord[];
}

export interface ServiceAccessRecord {
  servicePrincipal: string;
  enabledAt: number;
}

export interface DelegatedAdministratorRecord {
  accountId: string;
  servicePrincipal: string;
  enabledAt: number;
}

export interface TagRecord {
  Key: string;
  Value: string;
}

/** Everything the store holds; `organization` is undefined when there is none. */
export interface OrganizationState {
  organization?: OrganizationRecord;
  accounts: MemberAccountRecord[];
  units: OrganizationalUnitRecord[];
  policies: OrgPolicyRecord[];
  attachments: AttachmentRecord[];
  createAccountRequests: CreateAccountRequestRecord[];
  serviceAccess: ServiceAccessRecord[];
  delegatedAdministrators: DelegatedAdministratorRecord[];
  /** Tags by resource id (account, OU, root or policy). */
  tags: Record<string, TagRecord[]>;
}

/** The empty state: no organization. */
export function emptyOrganizationState(): OrganizationState {
  return { accounts: [], units: [], policies: [], attachments: [], createAccountRequests: [], serviceAccess: [], delegatedAdministrators: [], tags: {} };
}

/** The organization store. */
export interface OrganizationStore {
  /** What is stored, or the empty state. */
  load(): Promise<OrganizationState>;
  /** Replaces everything stored with `state`, atomically and durably. */
  save(state: OrganizationState): Promise<void>;
}
