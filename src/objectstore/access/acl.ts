/**
 * Access control lists and Object Ownership as S3 keeps them: canned ACLs expanded to
 * grants, grants from `x-amz-grant-*` headers, whether an ACL is public, and whether a
 * bucket whose ownership is `BucketOwnerEnforced` (S3's default since April 2023, so
 * Cairn's too) accepts it.
 *
 * Cairn stores and returns ACLs but authorizes with policies alone: a grant never
 * allows a request by itself. With ACLs disabled (the default) that is exactly S3's
 * behaviour; with `ObjectWriter`/`BucketOwnerPreferred` it is a documented difference.
 */
import { AwsError } from '../../platform/errors.js';

export type Permission = 'FULL_CONTROL' | 'WRITE' | 'WRITE_ACP' | 'READ' | 'READ_ACP';

export type Grantee =
  | { type: 'CanonicalUser'; id: string }
  | { type: 'Group'; uri: string }
  | { type: 'AmazonCustomerByEmail'; email: string };

export interface Grant {
  grantee: Grantee;
  permission: Permission;
}

export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';

/** S3's predefined groups. */
export const GROUPS = {
  allUsers: 'http://acs.amazonaws.com/groups/global/AllUsers',
  authenticatedUsers: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  logDelivery: 'http://acs.amazonaws.com/groups/s3/LogDelivery',
} as const;

const PERMISSIONS: readonly Permission[] = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'];

/** The canned ACLs S3 knows for buckets and objects. */
export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
] as const;

/** The error S3 answers when ACLs are disabled and a request sets one. */
export function aclNotSupported(): AwsError {
  return new AwsError({ code: 'AccessControlListNotSupported', message: 'The bucket does not allow ACLs', status: 400 });
}

function user(id: string, permission: Permission): Grant {
  return { grantee: { type: 'CanonicalUser', id }, permission };
}

function group(uri: string, permission: Permission): Grant {
  return { grantee: { type: 'Group', uri }, permission };
}

/**
 * A canned ACL's grants. `owner` is the canonical id of the resource's owner (the
 * writer, for an object), `bucketOwner` that of the bucket's owner.
 */
export function cannedGrants(acl: string, owner: string, bucketOwner: string): Grant[] {
  const own = user(owner, 'FULL_CONTROL');
  switch (acl) {
    case 'private':
    // EC2's read grant for bundles is meaningless here; the owner keeps full control.
    case 'aws-exec-read':
      return [own];
    case 'public-read':
      return [own, group(GROUPS.allUsers, 'READ')];
    case 'public-read-write':
      return [own, group(GROUPS.allUsers, 'READ'), group(GROUPS.allUsers, 'WRITE')];
    case 'authenticated-read':
      return [own, group(GROUPS.authenticatedUsers, 'READ')];
    case 'bucket-owner-read':
      return owner === bucketOwner ? [own] : [own, user(bucketOwner, 'READ')];
    case 'bucket-owner-full-control':
      return owner === bucketOwner ? [own] : [own, user(bucketOwner, 'FULL_CONTROL')];
    case 'log-delivery-write':
      return [own, group(GROUPS.logDelivery, 'WRITE'), group(GROUPS.logDelivery, 'READ_ACP')];
    default:
      throw new AwsError({ code: 'InvalidArgument', message: '', extra: { ArgumentName: 'x-amz-acl', ArgumentValue: acl } });
  }
}

/**
 * Grants from `x-amz-grant-read` and friends: `id="…"`, `uri="…"` or `emailAddress="…"`,
 * comma-separated.
 */
export function headerGrants(headers: Partial<Record<Permission, string>>): Grant[] {
  const grants: Grant[] = [];
  for (const permission of PERMISSIONS) {
    const text = headers[permission];
    if (text === undefined) continue;
    for (const part of text.split(',')) {
      const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(part);
      if (!m) throw new AwsError({ code: 'InvalidArgument', message: 'Invalid id', extra: { ArgumentName: `x-amz-grant-${permission}`, ArgumentValue: text } });
      const kind = (m[1] ?? '').toLowerCase();
      const value = m[2] ?? '';
      const grantee: Grantee =
        kind === 'id' ? { type: 'CanonicalUser', id: value } : kind === 'uri' ? { type: 'Group', uri: value } : { type: 'AmazonCustomerByEmail', email: value };
      grants.push({ grantee, permission });
    }
  }
  return grants;
}

/** Checks a grant list S3 would accept: known permissions, known groups. */
export function checkGrants(grants: readonly Grant[]): void {
  for (const g of grants) {
    if (!PERMISSIONS.includes(g.permission)) throw malformedAcl();
    if (g.grantee.type === 'Group' && !Object.values(GROUPS).includes(g.grantee.uri as (typeof GROUPS)[keyof typeof GROUPS])) {
      throw new AwsError({ code: 'InvalidArgument', message: 'Invalid group uri', extra: { ArgumentName: 'uri', ArgumentValue: g.grantee.uri } });
    }
    if (g.grantee.type === 'AmazonCustomerByEmail') {
      // S3 resolves e-mail grantees to accounts; Cairn's accounts have no e-mail addresses.
      throw new AwsError({ code: 'UnresolvableGrantByEmailAddress', message: 'The e-mail address you provided does not match any account on record.' });
    }
  }
}

/** S3's answer to an AccessControlPolicy document it cannot read. */
export function malformedAcl(): AwsError {
  return new AwsError({
    code: 'MalformedACLError',
    message: 'The XML you provided was not well-formed or did not validate against our published schema',
  });
}

/** Whether grants open the resource to everyone or to every AWS account (Block Public Access' test). */
export function isPublicAcl(grants: readonly Grant[]): boolean {
  return grants.some((g) => g.grantee.type === 'Group' && (g.grantee.uri === GROUPS.allUsers || g.grantee.uri === GROUPS.authenticatedUsers));
}

/** Whether an ACL is one a bucket with ACLs disabled accepts: full control for the bucket owner alone. */
export function acceptedWhenEnforced(grants: readonly Grant[], bucketOwner: string): boolean {
  return grants.every((g) => g.grantee.type === 'CanonicalUser' && g.grantee.id === bucketOwner && g.permission === 'FULL_CONTROL');
}

/** Serializes grants for storage (bucket configuration or object attributes). */
export function encodeGrants(grants: readonly Grant[]): string {
  return JSON.stringify(grants);
}

/** Reads stored grants; undefined when none were stored. */
export function decodeGrants(text: string | undefined): Grant[] | undefined {
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? (parsed as Grant[]) : undefined;
}
