/**
 * CloudTrail's delivery permissions end to end, with the stock AWS CLI against a running
 * Cairn: CreateTrail and UpdateTrail refuse a bucket whose policy does not let
 * `cloudtrail.amazonaws.com` deliver (none, partial, pinned to another trail) and accept
 * AWS's documented policy; delivery into another account's bucket under the trail owner's
 * `AWSLogs/<owner>/` with `bucket-owner-full-control`; a policy revoked after creation
 * fails delivery (AccessDenied in GetTrailStatus) without losing events, and once
 * restored everything arrives exactly once; SSE-KMS trails need a key policy letting
 * CloudTrail encrypt.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identities } from '../src/iam/identities.js';
import { SqliteIdentityStore } from '../src/iam/sqlite-store.js';
import { ManualClock, systemClock } from '../src/platform/clock.js';
import { cryptoRandom } from '../src/platform/ids.js';
import { openStateDatabase } from '../src/storage/sqlite.js';
import { cloudTrailBucketPolicy, cloudTrailKeyPolicyStatement } from '../src/trails/delivery-access.js';
import { startCairn, type Credentials, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

const clock = new ManualClock(Date.now());
let cairn: TestCairn;
let owner: string;
let member: { accountId: string; root: Credentials };

const trailArn = (name: string, region = 'us-east-1'): string => `arn:aws:cloudtrail:${region}:${owner}:trail/${name}`;

/** Runs the CLI and returns the error code and message of a failed call. */
async function refusal(args: string[], creds?: Credentials): Promise<{ code: string; message: string }> {
  const result = await cairn.aws(args, creds);
  expect(result.code, result.stdout).not.toBe(0);
  const m = /An error occurred \(([^)]+)\) when calling the \w+ operation(?: \([^)]*\))?: (.*)/.exec(result.stderr);
  return { code: m?.[1] ?? result.stderr, message: m?.[2]?.trim() ?? '' };
}

async function bucketWithPolicy(bucket: string, policy: string | undefined, creds?: Credentials, extra: string[] = []): Promise<void> {
  await cairn.awsJson(['s3api', 'create-bucket', '--bucket', bucket, ...extra], creds);
  if (policy !== undefined) await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', bucket, '--policy', policy], creds);
}

/** Every log file of a bucket, read with the SDK as `creds`. */
async function logFiles(bucket: string, creds: Credentials): Promise<{ key: string; records: Record<string, unknown>[] }[]> {
  const s3 = new S3Client({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: creds, forcePathStyle: true, maxAttempts: 1 });
  try {
    const out: { key: string; records: Record<string, unknown>[] }[] = [];
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const body = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
      out.push({ key: o.Key ?? '', records: (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: Record<string, unknown>[] }).Records });
    }
    return out;
  } finally {
    s3.destroy();
  }
}

/** The requestIDs the trail must deliver: the owner's us-east-1 management events from its StartLogging on. */
function expectedIds(trail: string): string[] {
  const records = readRecords(cairn.server.dataDir);
  const start = records.find((r) => r.record.eventName === 'StartLogging' && (r.record.requestParameters as { name?: string } | null)?.name === trail);
  expect(start, `StartLogging of ${trail}`).toBeDefined();
  return records
    .filter((r) => r.seq >= (start?.seq ?? 0) && r.record.recipientAccountId === owner && r.record.awsRegion === 'us-east-1' && r.record.eventCategory === 'Management')
    .map((r) => String(r.record.requestID));
}

const sorted = (xs: string[]): string[] => [...xs].sort();

beforeAll(async () => {
  cairn = await startCairn({ clock });
  owner = cairn.server.accountId;
  // A second account, as Organizations would make one.
  const db = openStateDatabase(cairn.server.dataDir);
  try {
    const made = new Identities({ store: new SqliteIdentityStore(db), clock: systemClock, random: cryptoRandom }).createAccount();
    member = { accountId: made.accountId, root: { accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey } };
  } finally {
    db.close();
  }
}, 60_000);

afterAll(async () => {
  await cairn?.stop();
});

describe('the bucket policy CloudTrail needs', () => {
  it('refuses buckets whose policy does not let CloudTrail deliver, in the owner account too, and accepts the documented one', async () => {
    await bucketWithPolicy('no-policy', undefined);
    expect(await refusal(['cloudtrail', 'create-trail', '--name', 'nopolicy', '--s3-bucket-name', 'no-policy'])).toEqual({
      code: 'InsufficientS3BucketPolicyException',
      message: 'Incorrect S3 bucket policy is detected for bucket: no-policy',
    });
    // GetBucketAcl alone, or a write without the ACL condition's value, is not enough.
    const aclOnly = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: 'arn:aws:s3:::partial' }],
    });
    await bucketWithPolicy('partial', aclOnly);
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'partial', '--s3-bucket-name', 'partial'])).code).toBe('InsufficientS3BucketPolicyException');
    // Pinned with aws:SourceArn to another trail, or to another prefix.
    await bucketWithPolicy('pinned', cloudTrailBucketPolicy({ bucket: 'pinned', accountId: owner, s3KeyPrefix: 'audit', trailArn: trailArn('audit') }));
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'other', '--s3-bucket-name', 'pinned', '--s3-key-prefix', 'audit'])).code).toBe(
      'InsufficientS3BucketPolicyException',
    );
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'audit', '--s3-bucket-name', 'pinned'])).code).toBe('InsufficientS3BucketPolicyException');
    const made = await cairn.awsJson<{ TrailARN: string; S3KeyPrefix: string }>(['cloudtrail', 'create-trail', '--name', 'audit', '--s3-bucket-name', 'pinned', '--s3-key-prefix', 'audit']);
    expect(made).toMatchObject({ TrailARN: trailArn('audit'), S3KeyPrefix: 'audit' });
    // UpdateTrail checks the bucket and prefix it is given.
    expect((await refusal(['cloudtrail', 'update-trail', '--name', 'audit', '--s3-key-prefix', 'elsewhere'])).code).toBe('InsufficientS3BucketPolicyException');
    expect((await refusal(['cloudtrail', 'update-trail', '--name', 'audit', '--s3-bucket-name', 'no-policy'])).code).toBe('InsufficientS3BucketPolicyException');
    // A bucket that does not exist is still reported as such.
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'ghost', '--s3-bucket-name', 'no-such-bucket-here'])).code).toBe('S3BucketDoesNotExistException');
  });
});

describe('delivery as the CloudTrail service principal', () => {
  it("delivers into another account's bucket under the owner's AWSLogs/ with bucket-owner-full-control", async () => {
    // Granted to the owner's trails only (aws:SourceAccount), and with ACLs enabled, so the ACL shows.
    const grant = JSON.parse(cloudTrailBucketPolicy({ bucket: 'member-logs', accountId: owner })) as { Statement: Record<string, unknown>[] };
    for (const s of grant.Statement) s.Condition = { StringEquals: { ...((s.Condition as { StringEquals?: object } | undefined)?.StringEquals ?? {}), 'aws:SourceAccount': owner } };
    await bucketWithPolicy('member-logs', JSON.stringify(grant), member.root, ['--object-ownership', 'ObjectWriter']);
    // Another account's bucket without a grant is refused for its policy, not as missing.
    await bucketWithPolicy('member-closed', undefined, member.root);
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'closed', '--s3-bucket-name', 'member-closed'])).code).toBe('InsufficientS3BucketPolicyException');

    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'cross', '--s3-bucket-name', 'member-logs']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'cross']);
    await cairn.awsJson(['sts', 'get-caller-identity']);
    // The member's own calls are not the owner's trail's.
    await cairn.awsJson(['sts', 'get-caller-identity'], member.root);
    const report = await cairn.server.delivery.deliverNow();
    expect(report.failures).toEqual([]);

    const files = await logFiles('member-logs', member.root);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f.key).toMatch(new RegExp(`^AWSLogs/${owner}/CloudTrail/us-east-1/`));
    const ids = files.flatMap((f) => f.records.map((r) => String(r.requestID)));
    expect(sorted(ids)).toEqual(sorted(expectedIds('cross')));
    expect(files.flatMap((f) => f.records).every((r) => r.recipientAccountId === owner)).toBe(true);

    // Written for the owner's account, with full control granted to the bucket owner.
    const acl = await cairn.awsJson<{ Owner: { ID: string }; Grants: { Grantee: { ID?: string }; Permission: string }[] }>(
      ['s3api', 'get-object-acl', '--bucket', 'member-logs', '--key', files[0]?.key ?? ''],
      member.root,
    );
    const bucketAcl = await cairn.awsJson<{ Owner: { ID: string } }>(['s3api', 'get-bucket-acl', '--bucket', 'member-logs'], member.root);
    expect(acl.Owner.ID).not.toBe(bucketAcl.Owner.ID);
    expect(acl.Grants.some((g) => g.Grantee.ID === bucketAcl.Owner.ID && g.Permission === 'FULL_CONTROL')).toBe(true);
    const status = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'cross']);
    expect(status.LatestDeliveryError).toBeUndefined();
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'cross']);
    await cairn.server.delivery.deliverNow();
  });

  it('fails delivery while the policy is revoked, keeps the events, and delivers each exactly once when restored', async () => {
    const policy = cloudTrailBucketPolicy({ bucket: 'revocable', accountId: owner, trailArn: trailArn('revocable') });
    await bucketWithPolicy('revocable', policy);
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'revocable', '--s3-bucket-name', 'revocable']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'revocable']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'before-revoke']);
    expect((await cairn.server.delivery.deliverNow()).failures).toEqual([]);
    const first = await logFiles('revocable', cairn.root);
    expect(first.length).toBeGreaterThan(0);

    // A deny for CloudTrail: the owner's own writes still work, CloudTrail's do not.
    const deny = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::revocable/*' }],
    });
    await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', 'revocable', '--policy', deny]);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'while-revoked']);
    const failed = await cairn.server.delivery.deliverNow();
    expect(failed.failures).toEqual([{ trailArn: trailArn('revocable'), error: 'AccessDenied' }]);
    const status = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'revocable']);
    expect(status.LatestDeliveryError).toBe('AccessDenied');
    expect(status.IsLogging).toBe(true);
    await cairn.awsJson(['s3api', 'delete-bucket-policy', '--bucket', 'revocable']);
    expect((await cairn.server.delivery.deliverNow()).failures.map((f) => f.error)).toEqual(['AccessDenied']);
    expect((await logFiles('revocable', cairn.root)).length).toBe(first.length);

    await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', 'revocable', '--policy', policy]);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'after-restore']);
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'revocable']);
    expect((await cairn.server.delivery.deliverNow()).failures).toEqual([]);
    const files = await logFiles('revocable', cairn.root);
    const ids = files.flatMap((f) => f.records.map((r) => String(r.requestID)));
    expect(new Set(ids).size).toBe(ids.length);
    const stopped = readRecords(cairn.server.dataDir).findLast((r) => r.record.eventName === 'StopLogging')?.seq ?? 0;
    const expected = readRecords(cairn.server.dataDir).filter((r) => r.seq <= stopped).map((r) => String(r.record.requestID));
    expect(sorted(ids)).toEqual(sorted(expectedIds('revocable').filter((id) => expected.includes(id))));
    const names = files.flatMap((f) => f.records).map((r) => `${String(r.eventName)}:${(r.requestParameters as { userName?: string } | null)?.userName ?? ''}`);
    for (const n of ['CreateUser:before-revoke', 'CreateUser:while-revoked', 'PutBucketPolicy:', 'DeleteBucketPolicy:', 'CreateUser:after-restore', 'StopLogging:']) expect(names).toContain(n);
    const after = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'revocable']);
    expect(after.LatestDeliveryError).toBeUndefined();
  });
});

describe('Object Lock defaults', () => {
  it("apply to delivered log files as to any write", async () => {
    await bucketWithPolicy('locked-logs', cloudTrailBucketPolicy({ bucket: 'locked-logs', accountId: owner }), undefined, ['--object-lock-enabled-for-bucket']);
    const lock = JSON.stringify({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } });
    await cairn.awsJson(['s3api', 'put-object-lock-configuration', '--bucket', 'locked-logs', '--object-lock-configuration', lock]);
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'locked', '--s3-bucket-name', 'locked-logs']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'locked']);
    expect((await cairn.server.delivery.deliverNow()).failures).toEqual([]);
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'locked']);
    const files = await logFiles('locked-logs', cairn.root);
    expect(files.length).toBeGreaterThan(0);
    const head = await cairn.awsJson<Record<string, unknown>>(['s3api', 'head-object', '--bucket', 'locked-logs', '--key', files[0]?.key ?? '']);
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate).toBeDefined();
  });
});

describe('SSE-KMS trails', () => {
  it('refuses a key whose policy does not let CloudTrail encrypt, and delivers aws:kms files with one that does', async () => {
    await bucketWithPolicy('sealed-logs', cloudTrailBucketPolicy({ bucket: 'sealed-logs', accountId: owner }));
    const key = await cairn.awsJson<{ KeyMetadata: { Arn: string; KeyId: string } }>(['kms', 'create-key']);
    const arn = key.KeyMetadata.Arn;
    expect(await refusal(['cloudtrail', 'create-trail', '--name', 'sealed', '--s3-bucket-name', 'sealed-logs', '--kms-key-id', key.KeyMetadata.KeyId])).toEqual({
      code: 'InsufficientEncryptionPolicyException',
      message: `Insufficient permissions to access S3 bucket sealed-logs or KMS key ${arn}.`,
    });
    const unknown = `arn:aws:kms:us-east-1:${owner}:key/00000000-0000-0000-0000-000000000000`;
    expect((await refusal(['cloudtrail', 'create-trail', '--name', 'sealed', '--s3-bucket-name', 'sealed-logs', '--kms-key-id', unknown])).code).toBe('KmsKeyNotFoundException');

    const keyPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 'kms:*', Resource: '*' },
        cloudTrailKeyPolicyStatement(owner),
      ],
    });
    await cairn.awsJson(['kms', 'put-key-policy', '--key-id', arn, '--policy-name', 'default', '--policy', keyPolicy]);
    const made = await cairn.awsJson<{ KmsKeyId: string }>(['cloudtrail', 'create-trail', '--name', 'sealed', '--s3-bucket-name', 'sealed-logs', '--kms-key-id', key.KeyMetadata.KeyId]);
    expect(made.KmsKeyId).toBe(arn);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'sealed']);
    await cairn.awsJson(['sts', 'get-caller-identity']);
    expect((await cairn.server.delivery.deliverNow()).failures).toEqual([]);
    const files = await logFiles('sealed-logs', cairn.root);
    expect(files.length).toBeGreaterThan(0);
    const head = await cairn.awsJson<Record<string, unknown>>(['s3api', 'head-object', '--bucket', 'sealed-logs', '--key', files[0]?.key ?? '']);
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(arn);
  });
});
