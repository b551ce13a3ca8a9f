/**
 * The engine's identities in IAM's output shapes (model member names, Dates for
 * timestamps, policy documents URL-encoded as IAM returns them), and the CloudTrail
 * shapes of IAM and STS responses.
 */
import type { ManagedPolicy, Role, User } from '../../iam/identities.js';
import type { AccessKeyRecord } from '../../iam/store.js';
import { lowerFirst } from './input.js';

/** IAM returns every policy document URL-encoded (RFC 3986); clients decode it. */
export function encodePolicyDocument(document: string): string {
  return encodeURIComponent(document);
}

/** The `User` shape. */
export function userShape(user: User): Record<string, unknown> {
  return { Path: user.path, UserName: user.userName, UserId: user.userId, Arn: user.arn, CreateDate: new Date(user.createdAt) };
}

/** The `Role` shape; `RoleLastUsed` only where IAM gives it (GetRole). */
export function roleShape(role: Role, options: { lastUsed?: boolean } = {}): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    Path: role.path,
    RoleName: role.roleName,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: new Date(role.createdAt),
    AssumeRolePolicyDocument: encodePolicyDocument(role.assumeRolePolicyDocument),
    MaxSessionDuration: role.maxSessionDuration,
  };
  if (role.description !== undefined) shape.Description = role.description;
  if (options.lastUsed) {
    shape.RoleLastUsed = role.lastUsed ? { LastUsedDate: new Date(role.lastUsed.at), Region: role.lastUsed.region } : {};
  }
  return shape;
}

/** The `Policy` shape; `Description` only where IAM gives it (GetPolicy, CreatePolicy). */
export function policyShape(policy: ManagedPolicy, options: { description?: boolean } = {}): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    PolicyName: policy.policyName,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: policy.attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: policy.isAttachable,
    CreateDate: new Date(policy.createdAt),
    UpdateDate: new Date(policy.updatedAt),
  };
  if (options.description && policy.description !== undefined) shape.Description = policy.description;
  return shape;
}

/** The `AccessKeyMetadata` shape (and `AccessKey` without its secret). */
export function accessKeyMetadataShape(key: Omit<AccessKeyRecord, 'secretAccessKey'> & { userName?: string }): Record<string, unknown> {
  const shape: Record<string, unknown> = { AccessKeyId: key.accessKeyId, Status: key.status, CreateDate: new Date(key.createdAt) };
  // The root's keys belong to no IAM user, so IAM names none.
  if (key.userName !== undefined) shape.UserName = key.userName;
  return shape;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A timestamp inside an IAM or STS record's `responseElements`, which CloudTrail writes
 * in Java's default US format in UTC (`Aug 8, 2020, 8:07:33 PM`), not ISO 8601.
 */
export function cloudTrailDate(ms: number | Date): string {
  const d = typeof ms === 'number' ? new Date(ms) : ms;
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

/**
 * An output reshaped for a record's `responseElements`: member names in camelCase, dates
 * as {@link cloudTrailDate}, and the members named in `omit` (secrets) left out.
 */
export function toResponseElements(value: unknown, omit: readonly string[] = []): unknown {
  if (value instanceof Date) return cloudTrailDate(value);
  if (Array.isArray(value)) return value.map((v) => toResponseElements(v, omit));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (omit.includes(key) || member === undefined) continue;
      out[lowerFirst(key)] = toResponseElements(member, omit);
    }
    return out;
  }
  return value;
}
