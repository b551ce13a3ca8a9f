import { describe, expect, it } from 'vitest';
import { evaluate, parsePolicyDocument, type PolicyDocument } from '../auth/policy.js';
import {
  bucketPolicyAllowsDelivery,
  cloudTrailBucketPolicy,
  cloudTrailKeyPolicyStatement,
  keyUseRequest,
  type DeliveryTarget,
} from './delivery-access.js';

const ACCOUNT = '111122223333';
const TRAIL = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`;
const target: DeliveryTarget = { trailArn: TRAIL, accountId: ACCOUNT, bucket: 'logs' };
const doc = (text: string): PolicyDocument => parsePolicyDocument(text, 'resource');
const policy = (...Statement: Record<string, unknown>[]): PolicyDocument => doc(JSON.stringify({ Version: '2012-10-17', Statement }));
const ct = { Service: 'cloudtrail.amazonaws.com' };

describe('bucket policies for CloudTrail delivery', () => {
  it("accepts AWS's documented policy, with or without a prefix and a trail ARN", () => {
    expect(bucketPolicyAllowsDelivery(doc(cloudTrailBucketPolicy({ bucket: 'logs', accountId: ACCOUNT })), target)).toBe(true);
    const pinned = doc(cloudTrailBucketPolicy({ bucket: 'logs', accountId: ACCOUNT, s3KeyPrefix: 'p', trailArn: TRAIL }));
    expect(bucketPolicyAllowsDelivery(pinned, { ...target, s3KeyPrefix: 'p' })).toBe(true);
    // Another trail, another prefix or another account are not covered.
    expect(bucketPolicyAllowsDelivery(pinned, { ...target, s3KeyPrefix: 'p', trailArn: `${TRAIL}2` })).toBe(false);
    expect(bucketPolicyAllowsDelivery(pinned, target)).toBe(false);
    expect(bucketPolicyAllowsDelivery(pinned, { ...target, s3KeyPrefix: 'p', accountId: '444455556666' })).toBe(false);
    const shared = doc(cloudTrailBucketPolicy({ bucket: 'logs', accountId: ACCOUNT, anyPrefix: true }));
    expect(bucketPolicyAllowsDelivery(shared, { ...target, s3KeyPrefix: 'a/b' })).toBe(true);
    expect(bucketPolicyAllowsDelivery(shared, target)).toBe(true);
  });

  it('refuses no policy, a missing statement, a missing ACL condition and explicit denies', () => {
    expect(bucketPolicyAllowsDelivery(undefined, target)).toBe(false);
    const acl = { Effect: 'Allow', Principal: ct, Action: 's3:GetBucketAcl', Resource: 'arn:aws:s3:::logs' };
    const write = { Effect: 'Allow', Principal: ct, Action: 's3:PutObject', Resource: 'arn:aws:s3:::logs/*' };
    expect(bucketPolicyAllowsDelivery(policy(acl), target)).toBe(false);
    expect(bucketPolicyAllowsDelivery(policy(write), target)).toBe(false);
    expect(bucketPolicyAllowsDelivery(policy(acl, write), target)).toBe(true);
    // The owner's account as principal is not CloudTrail.
    const root = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:*', Resource: ['arn:aws:s3:::logs', 'arn:aws:s3:::logs/*'] };
    expect(bucketPolicyAllowsDelivery(policy(root), target)).toBe(false);
    const otherAcl = { ...write, Condition: { StringEquals: { 's3:x-amz-acl': 'private' } } };
    expect(bucketPolicyAllowsDelivery(policy(acl, otherAcl), target)).toBe(false);
    const insecure = { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::logs/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    expect(bucketPolicyAllowsDelivery(policy(acl, write, insecure), target)).toBe(true);
    const sseOnly = { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::logs/*', Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } } };
    expect(bucketPolicyAllowsDelivery(policy(acl, write, sseOnly), target)).toBe(false);
    expect(bucketPolicyAllowsDelivery(policy(acl, write, sseOnly), { ...target, kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/k' })).toBe(true);
    const sourceAccount = { ...write, Condition: { StringEquals: { 'aws:SourceAccount': '999999999999' } } };
    expect(bucketPolicyAllowsDelivery(policy(acl, sourceAccount), target)).toBe(false);
  });
});

describe('key policies for CloudTrail encryption', () => {
  it("lets CloudTrail use the key under AWS's documented statement only for the account's trails", () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const decide = (statement: Record<string, unknown>, t = target) => {
      const req = keyUseRequest(t);
      return evaluate({ ...req, resource: key, resourceAccountId: ACCOUNT, identityPolicies: [], resourcePolicy: policy(statement), resourcePolicyRequired: true }).decision;
    };
    expect(decide(cloudTrailKeyPolicyStatement(ACCOUNT))).toBe('Allow');
    expect(decide(cloudTrailKeyPolicyStatement('444455556666'))).toBe('ImplicitDeny');
    expect(decide({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' })).toBe('ImplicitDeny');
  });
});
