/**
 * What CloudTrail's service principal (`cloudtrail.amazonaws.com`) needs to deliver a
 * trail's files, as AWS documents it: from the bucket policy, `s3:GetBucketAcl` on the
 * bucket and `s3:PutObject` under `[prefix/]AWSLogs/ACCOUNT/` with the canned ACL
 * `bucket-owner-full-control`; from the key policy of a trail's KMS key,
 * `kms:GenerateDataKey*` with the encryption context `aws:cloudtrail:arn`. Both are asked
 * with `aws:SourceArn` (the trail) and `aws:SourceAccount` (its owner), so policies that
 * pin them to a trail work. CreateTrail/UpdateTrail check these (trails.ts); delivery
 * builds its writes' condition keys here too. Pure functions: nothing here reads storage.
 */
import { evaluate, type AuthzPrincipal, type PolicyDocument } from '../auth/policy.js';

/** CloudTrail's service principal. */
export const CLOUDTRAIL_SERVICE = 'cloudtrail.amazonaws.com';

/** The canned ACL CloudTrail writes log files with. */
export const DELIVERY_ACL = 'bucket-owner-full-control';

/** The trail a delivery permission is asked for. */
export interface DeliveryTarget {
  trailArn: string;
  /** The trail owner's account: log files go under `AWSLogs/<this>/`. */
  accountId: string;
  bucket: string;
  s3KeyPrefix?: string;
  /** The trail's KMS key ARN, when its files are SSE-KMS encrypted. */
  kmsKeyId?: string;
}

/** CloudTrail as a policy principal. */
export function cloudTrailPrincipal(accountId: string): AuthzPrincipal {
  return { kind: 'service', arn: CLOUDTRAIL_SERVICE, accountId, isRoot: false };
}

/** `[prefix/]AWSLogs/ACCOUNT/`: the folder every file of the trail's account goes under. */
export function deliveryFolder(accountId: string, s3KeyPrefix?: string): string {
  // Joined as logfile.ts joins it: the prefix as given, then a slash.
  const prefix = s3KeyPrefix !== undefined && s3KeyPrefix !== '' ? `${s3KeyPrefix}/` : '';
  return `${prefix}AWSLogs/${accountId}/`;
}

/**
 * The condition keys of a request CloudTrail makes for a trail: the trail and its account
 * as the source, over TLS (so `aws:SecureTransport` denies do not catch it).
 */
export function deliveryContext(target: Pick<DeliveryTarget, 'trailArn' | 'accountId'>): Record<string, string> {
  return { 'aws:SourceArn': target.trailArn, 'aws:SourceAccount': target.accountId, 'aws:SecureTransport': 'true' };
}

/** The SSE headers CloudTrail's writes carry, as S3 condition keys. */
export function encryptionConditionKeys(kmsKeyId: string | undefined): Record<string, string> {
  if (kmsKeyId === undefined || kmsKeyId === '') return { 's3:x-amz-server-side-encryption': 'AES256' };
  return { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': kmsKeyId };
}

/**
 * Whether a bucket policy lets CloudTrail deliver the trail's files: `s3:GetBucketAcl` on
 * the bucket, and `s3:PutObject` on everything under `[prefix/]AWSLogs/ACCOUNT/` with
 * `s3:x-amz-acl` = `bucket-owner-full-control`. No policy lets it do nothing, in the
 * bucket owner's own account too: CloudTrail is not the owner.
 */
export function bucketPolicyAllowsDelivery(policy: PolicyDocument | undefined, target: DeliveryTarget): boolean {
  if (!policy) return false;
  const principal = cloudTrailPrincipal(target.accountId);
  const context = deliveryContext(target);
  const aclCheck = evaluate({
    principal,
    action: 's3:GetBucketAcl',
    resource: `arn:aws:s3:::${target.bucket}`,
    context,
    identityPolicies: [],
    resourcePolicy: policy,
  });
  if (aclCheck.decision !== 'Allow') return false;
  // The literal `*` stands for "any key under the folder": a statement must cover it all.
  const write = evaluate({
    principal,
    action: 's3:PutObject',
    resource: `arn:aws:s3:::${target.bucket}/${deliveryFolder(target.accountId, target.s3KeyPrefix)}*`,
    context: { ...context, 's3:x-amz-acl': DELIVERY_ACL, ...encryptionConditionKeys(target.kmsKeyId) },
    identityPolicies: [],
    resourcePolicy: policy,
  });
  return write.decision === 'Allow';
}

/** What CloudTrail asks KMS before encrypting a trail's files: the principal, action and condition keys. */
export function keyUseRequest(target: Pick<DeliveryTarget, 'trailArn' | 'accountId'>): {
  principal: AuthzPrincipal;
  action: string;
  context: Record<string, string>;
} {
  return {
    principal: cloudTrailPrincipal(target.accountId),
    action: 'kms:GenerateDataKey',
    context: { ...deliveryContext(target), 'kms:EncryptionContext:aws:cloudtrail:arn': target.trailArn },
  };
}

/**
 * The bucket policy AWS documents for a trail's bucket ("Amazon S3 bucket policy for
 * CloudTrail"), optionally pinned to one trail with `aws:SourceArn`: what a bucket needs
 * before CreateTrail accepts it. `anyPrefix` grants every key of the bucket instead (the
 * shape many templates use), for buckets shared by trails with different prefixes.
 *
 * @example
 * await s3.putBucketPolicy({ Bucket: 'logs', Policy: cloudTrailBucketPolicy({ bucket: 'logs', accountId }) });
 */
export function cloudTrailBucketPolicy(opts: { bucket: string; accountId: string; s3KeyPrefix?: string; trailArn?: string; anyPrefix?: boolean }): string {
  const source = opts.trailArn !== undefined ? { 'aws:SourceArn': opts.trailArn } : {};
  const statements = [
    {
      Sid: 'AWSCloudTrailAclCheck20150319',
      Effect: 'Allow',
      Principal: { Service: CLOUDTRAIL_SERVICE },
      Action: 's3:GetBucketAcl',
      Resource: `arn:aws:s3:::${opts.bucket}`,
      ...(opts.trailArn !== undefined ? { Condition: { StringEquals: source } } : {}),
    },
    {
      Sid: 'AWSCloudTrailWrite20150319',
      Effect: 'Allow',
      Principal: { Service: CLOUDTRAIL_SERVICE },
      Action: 's3:PutObject',
      // `anyPrefix`: every key of the bucket, for trails with any (or no) prefix and any account.
      Resource: opts.anyPrefix === true ? `arn:aws:s3:::${opts.bucket}/*` : `arn:aws:s3:::${opts.bucket}/${deliveryFolder(opts.accountId, opts.s3KeyPrefix)}*`,
      Condition: { StringEquals: { 's3:x-amz-acl': DELIVERY_ACL, ...source } },
    },
  ];
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/**
 * The key policy statement AWS documents for letting CloudTrail encrypt the log files of
 * an account's trails ("Granting encrypt permissions for trails").
 */
export function cloudTrailKeyPolicyStatement(accountId: string): Record<string, unknown> {
  return {
    Sid: 'Allow CloudTrail to encrypt logs',
    Effect: 'Allow',
    Principal: { Service: CLOUDTRAIL_SERVICE },
    Action: 'kms:GenerateDataKey*',
    Resource: '*',
    Condition: { StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': [`arn:aws:cloudtrail:*:${accountId}:trail/*`] } },
  };
}
