import { describe, expect, it } from 'vitest';
import { acceptedWhenEnforced, cannedGrants, checkGrants, decodeGrants, encodeGrants, GROUPS, headerGrants, isPublicAcl } from './acl.js';

const writer = 'a'.repeat(64);
const bucketOwner = 'b'.repeat(64);

describe('canned ACLs', () => {
  it('expand to the grants S3 documents', () => {
    expect(cannedGrants('private', writer, bucketOwner)).toEqual([{ grantee: { type: 'CanonicalUser', id: writer }, permission: 'FULL_CONTROL' }]);
    expect(cannedGrants('public-read', writer, bucketOwner)).toContainEqual({ grantee: { type: 'Group', uri: GROUPS.allUsers }, permission: 'READ' });
    expect(cannedGrants('bucket-owner-full-control', writer, bucketOwner)).toEqual([
      { grantee: { type: 'CanonicalUser', id: writer }, permission: 'FULL_CONTROL' },
      { grantee: { type: 'CanonicalUser', id: bucketOwner }, permission: 'FULL_CONTROL' },
    ]);
    // Written by the bucket owner, it is just the owner's full control.
    expect(cannedGrants('bucket-owner-full-control', bucketOwner, bucketOwner)).toHaveLength(1);
    expect(() => cannedGrants('everyone', writer, bucketOwner)).toThrow();
  });

  it('are accepted with ACLs disabled only when they give the bucket owner alone full control', () => {
    expect(acceptedWhenEnforced(cannedGrants('bucket-owner-full-control', bucketOwner, bucketOwner), bucketOwner)).toBe(true);
    expect(acceptedWhenEnforced(cannedGrants('private', bucketOwner, bucketOwner), bucketOwner)).toBe(true);
    expect(acceptedWhenEnforced(cannedGrants('bucket-owner-full-control', writer, bucketOwner), bucketOwner)).toBe(false);
    expect(acceptedWhenEnforced(cannedGrants('public-read', bucketOwner, bucketOwner), bucketOwner)).toBe(false);
  });
});

describe('grants', () => {
  it('read x-amz-grant-* headers', () => {
    expect(headerGrants({ READ: `id="${writer}", uri="${GROUPS.logDelivery}"` })).toEqual([
      { grantee: { type: 'CanonicalUser', id: writer }, permission: 'READ' },
      { grantee: { type: 'Group', uri: GROUPS.logDelivery }, permission: 'READ' },
    ]);
    expect(() => headerGrants({ WRITE: 'nonsense' })).toThrow();
  });

  it('know public groups, refuse unknown ones and e-mail grantees, and round-trip through storage', () => {
    const grants = cannedGrants('authenticated-read', writer, writer);
    expect(isPublicAcl(grants)).toBe(true);
    expect(isPublicAcl(cannedGrants('log-delivery-write', writer, writer))).toBe(false);
    expect(() => checkGrants([{ grantee: { type: 'Group', uri: 'http://example.com/everyone' }, permission: 'READ' }])).toThrow(/Invalid group uri/);
    expect(() => checkGrants([{ grantee: { type: 'AmazonCustomerByEmail', email: 'a@example.com' }, permission: 'READ' }])).toThrow();
    expect(decodeGrants(encodeGrants(grants))).toEqual(grants);
    expect(decodeGrants(undefined)).toBeUndefined();
  });
});
