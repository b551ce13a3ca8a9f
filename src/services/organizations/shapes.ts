/**
 * The Organizations API's input members and output shapes, as the model names them, and
 * the ARNs Organizations gives its organization, root, OUs, accounts and policies.
 */
import type { Organizations } from '../../organizations/engine.js';
import { FULL_AWS_ACCESS } from '../../organizations/engine.js';
import type {
  CreateAccountRequestRecord,
  MemberAccountRecord,
  OrganizationRecord,
  OrganizationalUnitRecord,
  OrgPolicyRecord,
  PolicyType,
  TagRecord,
} from '../../organizations/store.js';

/** Members shared by the list operations. */
export interface PagedInput {
  MaxResults?: number;
  NextToken?: string;
}

export interface CreateAccountInput {
  AccountName: string;
  Email: string;
  RoleName?: string;
  IamUserAccessToBilling?: 'ALLOW' | 'DENY';
  Tags?: TagRecord[];
}

export interface PolicyInput {
  Content: string;
  Description: string;
  Name: string;
  Type: PolicyType;
  Tags?: TagRecord[];
}

/** The organization as DescribeOrganization and CreateOrganization answer it. */
export function organizationShape(org: OrganizationRecord): Record<string, unknown> {
  return {
    Id: org.id,
    Arn: `arn:aws:organizations::${org.managementAccountId}:organization/${org.id}`,
    FeatureSet: org.featureSet,
    MasterAccountArn: accountArn(org, org.managementAccountId),
    MasterAccountId: org.managementAccountId,
    MasterAccountEmail: org.managementAccountEmail,
    // Deprecated by AWS in favour of the root's PolicyTypes, and still returned.
    AvailablePolicyTypes: org.featureSet === 'ALL' ? [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }] : [],
  };
}

export function rootShape(org: OrganizationRecord): Record<string, unknown> {
  return {
    Id: org.rootId,
    Arn: `arn:aws:organizations::${org.managementAccountId}:root/${org.id}/${org.rootId}`,
    Name: 'Root',
    PolicyTypes: org.enabledPolicyTypes.map((Type) => ({ Type, Status: 'ENABLED' })),
  };
}

export function accountArn(org: OrganizationRecord, accountId: string): string {
  return `arn:aws:organizations::${org.managementAccountId}:account/${org.id}/${accountId}`;
}

export function accountShape(org: OrganizationRecord, a: MemberAccountRecord): Record<string, unknown> {
  return {
    Id: a.accountId,
    Arn: accountArn(org, a.accountId),
    Email: a.email,
    Name: a.name,
    Status: a.status,
    State: a.status === 'ACTIVE' ? 'ACTIVE' : a.status === 'PENDING_CLOSURE' ? 'PENDING_CLOSURE' : 'CLOSED',
    JoinedMethod: a.joinedMethod,
    JoinedTimestamp: new Date(a.joinedAt),
  };
}

export function unitArn(org: OrganizationRecord, id: string): string {
  return `arn:aws:organizations::${org.managementAccountId}:ou/${org.id}/${id}`;
}

export function unitShape(org: OrganizationRecord, u: OrganizationalUnitRecord, engine: Organizations): Record<string, unknown> {
  return { Id: u.id, Arn: unitArn(org, u.id), Name: u.name, Path: engine.pathOf(u.id) };
}

export function policyArn(org: OrganizationRecord, p: OrgPolicyRecord): string {
  const type = p.type.toLowerCase();
  return p.id === FULL_AWS_ACCESS.id
    ? `arn:aws:organizations::aws:policy/${type}/${p.id}`
    : `arn:aws:organizations::${org.managementAccountId}:policy/${org.id}/${type}/${p.id}`;
}

export function policySummary(org: OrganizationRecord, p: OrgPolicyRecord): Record<string, unknown> {
  return { Id: p.id, Arn: policyArn(org, p), Name: p.name, Description: p.description, Type: p.type, AwsManaged: p.id === FULL_AWS_ACCESS.id };
}

export function policyShape(org: OrganizationRecord, p: OrgPolicyRecord): Record<string, unknown> {
  return { PolicySummary: policySummary(org, p), Content: p.content };
}

export function createAccountStatusShape(r: CreateAccountRequestRecord): Record<string, unknown> {
  return {
    Id: r.id,
    AccountName: r.accountName,
    State: r.state,
    RequestedTimestamp: new Date(r.requestedAt),
    ...(r.completedAt !== undefined ? { CompletedTimestamp: new Date(r.completedAt) } : {}),
    ...(r.accountId !== undefined ? { AccountId: r.accountId } : {}),
    ...(r.failureReason !== undefined ? { FailureReason: r.failureReason } : {}),
  };
}
