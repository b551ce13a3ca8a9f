/**
 * S3 data protection end to end, with the stock AWS CLI and `@aws-sdk/client-s3` against a
 * running Cairn on a manual clock: Object Lock (COMPLIANCE, GOVERNANCE with and without
 * s3:BypassGovernanceRetention, legal hold, default retention), MFA delete with codes
 * computed from the virtual device's seed, and lifecycle (transition to GLACIER, restore,
 * expiration, noncurrent expiration, aborted multipart uploads) driven by advancing days.
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  RestoreObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, CreateVirtualMFADeviceCommand, EnableMFADeviceCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode, totp } from '../src/iam/totp.js';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type Credentials, type TestCairn } from './support/cairn.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const clock = new ManualClock(Date.now());
let cairn: TestCairn;

/** An S3 client signing with the server's (manual) time. */
function s3(creds?: Credentials): S3Client {
  return new S3Client({
    endpoint: cairn.endpoint,
    region: 'us-east-1',
    credentials: creds ?? cairn.root,
    forcePathStyle: true,
    maxAttempts: 1,
    systemClockOffset: clock.now() - Date.now(),
  });
}

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const error = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

const future = (ms: number): string => new Date(clock.now() + ms).toISOString();

async function user(name: string, policy: object): Promise<Credentials> {
  const iam = new IAMClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { accessKeyId: key.AccessKey?.AccessKeyId ?? '', secretAccessKey: key.AccessKey?.SecretAccessKey ?? '' };
}

beforeAll(async () => {
  cairn = await startCairn({ clock, config: { restoreDelayMs: 4 * HOUR } });
});
afterAll(async () => {
  await cairn.stop();
});

describe('Object Lock', () => {
  it('keeps a COMPLIANCE-locked version from the root user, who may only add a delete marker', async () => {
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'vault', '--object-lock-enabled-for-bucket']);
    const put = await cairn.awsJson<{ VersionId: string }>([
      's3api', 'put-object', '--bucket', 'vault', '--key', 'ledger.csv',
      '--object-lock-mode', 'COMPLIANCE', '--object-lock-retain-until-date', future(DAY),
    ]);
    const retention = await cairn.awsJson<{ Retention: { Mode: string } }>(['s3api', 'get-object-retention', '--bucket', 'vault', '--key', 'ledger.csv']);
    expect(retention.Retention.Mode).toBe('COMPLIANCE');

    const del = await cairn.aws(['s3api', 'delete-object', '--bucket', 'vault', '--key', 'ledger.csv', `--version-id=${put.VersionId}`, '--bypass-governance-retention']);
    expect(del.stderr).toContain('AccessDenied');
    expect(del.stderr).toContain('Access Denied because object protected by object lock.');
    const shorten = await cairn.aws([
      's3api', 'put-object-retention', '--bucket', 'vault', '--key', 'ledger.csv',
      '--retention', JSON.stringify({ Mode: 'COMPLIANCE', RetainUntilDate: future(HOUR) }),
    ]);
    expect(shorten.stderr).toContain('AccessDenied');
    const weaken = await cairn.aws([
      's3api', 'put-object-retention', '--bucket', 'vault', '--key', 'ledger.csv', '--bypass-governance-retention',
      '--retention', JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: future(2 * DAY) }),
    ]);
    expect(weaken.stderr).toContain('AccessDenied');
    // Extending is allowed; a delete without a version id only adds a delete marker.
    await cairn.awsJson([
      's3api', 'put-object-retention', '--bucket', 'vault', '--key', 'ledger.csv',
      '--retention', JSON.stringify({ Mode: 'COMPLIANCE', RetainUntilDate: future(3 * DAY) }),
    ]);
    const marker = await cairn.awsJson<{ DeleteMarker: boolean }>(['s3api', 'delete-object', '--bucket', 'vault', '--key', 'ledger.csv']);
    expect(marker.DeleteMarker).toBe(true);
    const head = await s3().send(new HeadObjectCommand({ Bucket: 'vault', Key: 'ledger.csv', VersionId: put.VersionId }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');

    // DeleteObjects reports the refusal per key.
    const batch = await cairn.awsJson<{ Errors: { Code: string }[] }>([
      's3api', 'delete-objects', '--bucket', 'vault', '--delete', JSON.stringify({ Objects: [{ Key: 'ledger.csv', VersionId: put.VersionId }] }),
    ]);
    expect(batch.Errors[0]?.Code).toBe('AccessDenied');
  });

  it('refuses lock headers without a checksum, on buckets without Object Lock, and dates in the past', async () => {
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'plain-bucket']);
    const [noLock, past, half] = await Promise.all([
      cairn.aws(['s3api', 'put-object', '--bucket', 'plain-bucket', '--key', 'k', '--object-lock-legal-hold-status', 'ON']),
      cairn.aws(['s3api', 'put-object', '--bucket', 'vault', '--key', 'k', '--object-lock-mode', 'GOVERNANCE', '--object-lock-retain-until-date', future(-HOUR)]),
      cairn.aws(['s3api', 'put-object', '--bucket', 'vault', '--key', 'k', '--object-lock-mode', 'GOVERNANCE']),
    ]);
    expect(noLock.stderr).toContain('Bucket is missing ObjectLockConfiguration');
    expect(past.stderr).toContain('The retain until date must be in the future!');
    expect(half.stderr).toContain('must both be supplied');
    // A client that sends no checksum at all.
    const bare = new S3Client({
      endpoint: cairn.endpoint,
      region: 'us-east-1',
      credentials: cairn.root,
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const none = await failure(bare.send(new PutObjectCommand({ Bucket: 'vault', Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })));
    expect(none).toMatchObject({ name: 'InvalidRequest', message: 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters' });
    bare.destroy();
    const missing = await cairn.aws(['s3api', 'get-object-lock-configuration', '--bucket', 'plain-bucket']);
    expect(missing.stderr).toContain('ObjectLockConfigurationNotFoundError');
  });

  it('lets GOVERNANCE be bypassed only with the header and s3:BypassGovernanceRetention', async () => {
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'gov']);
    await cairn.awsJson(['s3api', 'put-bucket-versioning', '--bucket', 'gov', '--versioning-configuration', 'Status=Enabled']);
    // Object Lock on an existing versioned bucket, with a default retention.
    await cairn.awsJson([
      's3api', 'put-object-lock-configuration', '--bucket', 'gov',
      '--object-lock-configuration', JSON.stringify({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } }),
    ]);
    const config = await cairn.awsJson<{ ObjectLockConfiguration: { Rule: { DefaultRetention: { Days: number } } } }>(['s3api', 'get-object-lock-configuration', '--bucket', 'gov']);
    expect(config.ObjectLockConfiguration.Rule.DefaultRetention.Days).toBe(1);
    const suspend = await cairn.aws(['s3api', 'put-bucket-versioning', '--bucket', 'gov', '--versioning-configuration', 'Status=Suspended']);
    expect(suspend.stderr).toContain('InvalidBucketState');

    const allow = (actions: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
    const admin = await user('lock-admin', allow(['s3:*']));
    const clerk = await user('clerk', allow(['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:GetObjectRetention']));

    const versions: string[] = [];
    for (let i = 0; i < 3; i++) versions.push((await s3().send(new PutObjectCommand({ Bucket: 'gov', Key: 'report.pdf', Body: `v${i}` }))).VersionId ?? '');
    const [a = '', b = '', c = ''] = versions;
    const retention = await cairn.awsJson<{ Retention: { Mode: string } }>(['s3api', 'get-object-retention', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${a}`]);
    expect(retention.Retention.Mode).toBe('GOVERNANCE');

    const [withoutHeader, withoutPermission, shorten] = await Promise.all([
      cairn.aws(['s3api', 'delete-object', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${a}`], admin),
      cairn.aws(['s3api', 'delete-object', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${a}`, '--bypass-governance-retention'], clerk),
      cairn.aws(
        ['s3api', 'put-object-retention', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${b}`, '--retention', JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: future(HOUR) })],
        admin,
      ),
    ]);
    expect(withoutHeader.stderr).toContain('Access Denied because object protected by object lock.');
    expect(withoutPermission.stderr).toContain('Access Denied because object protected by object lock.');
    expect(shorten.stderr).toContain('AccessDenied');

    expect((await cairn.aws(['s3api', 'delete-object', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${a}`, '--bypass-governance-retention'], admin)).code).toBe(0);
    expect(
      (
        await cairn.aws(
          ['s3api', 'put-object-retention', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${b}`, '--bypass-governance-retention',
            '--retention', JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: future(HOUR) })],
          admin,
        )
      ).code,
    ).toBe(0);

    // A legal hold blocks deletion whatever the retention, bypass or not.
    await cairn.awsJson(['s3api', 'put-object-legal-hold', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${c}`, '--legal-hold', 'Status=ON']);
    const hold = await cairn.awsJson<{ LegalHold: { Status: string } }>(['s3api', 'get-object-legal-hold', '--bucket', 'gov', '--key', 'report.pdf', `--version-id=${c}`]);
    expect(hold.LegalHold.Status).toBe('ON');
    // With the retention over, the hold alone still protects the version.
    clock.advance(2 * DAY);
    const blocked = await failure(s3(admin).send(new DeleteObjectCommand({ Bucket: 'gov', Key: 'report.pdf', VersionId: c })));
    expect(blocked).toMatchObject({ name: 'AccessDenied', message: 'Access Denied because object protected by object lock.' });
    await s3().send(new PutObjectLegalHoldCommand({ Bucket: 'gov', Key: 'report.pdf', VersionId: c, LegalHold: { Status: 'OFF' } }));
    await s3(admin).send(new DeleteObjectCommand({ Bucket: 'gov', Key: 'report.pdf', VersionId: c }));
    clock.set(Date.now());
  });
});

describe('MFA delete', () => {
  it('needs the root user and a current code from its virtual device', async () => {
    clock.set(Date.now());
    const iam = new IAMClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
    const created = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'root-account-mfa-device' }));
    const serial = created.VirtualMFADevice?.SerialNumber ?? '';
    expect(serial).toBe(`arn:aws:iam::${cairn.server.accountId}:mfa/root-account-mfa-device`);
    const seed = base32Decode(Buffer.from(created.VirtualMFADevice?.Base32StringSeed ?? new Uint8Array()).toString('ascii'));
    const code = (): string => totp(seed, clock.now());
    await iam.send(
      new EnableMFADeviceCommand({ UserName: 'root', SerialNumber: serial, AuthenticationCode1: totp(seed, clock.now() - 30_000), AuthenticationCode2: code() }),
    );

    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'mfa-bucket']);
    const noMfa = await cairn.aws(['s3api', 'put-bucket-versioning', '--bucket', 'mfa-bucket', '--versioning-configuration', 'Status=Enabled,MFADelete=Enabled']);
    expect(noMfa.stderr).toContain('Mfa Authentication must be used for this request');
    await cairn.awsJson(['s3api', 'put-bucket-versioning', '--bucket', 'mfa-bucket', '--versioning-configuration', 'Status=Enabled,MFADelete=Enabled', '--mfa', `${serial} ${code()}`]);
    const versioning = await cairn.awsJson<{ MFADelete: string }>(['s3api', 'get-bucket-versioning', '--bucket', 'mfa-bucket']);
    expect(versioning.MFADelete).toBe('Enabled');

    const put = await cairn.awsJson<{ VersionId: string }>(['s3api', 'put-object', '--bucket', 'mfa-bucket', '--key', 'k']);
    const wrong = String((Number(code()) + 1) % 1_000_000).padStart(6, '0');
    const [plain, bad, malformed, suspend] = await Promise.all([
      cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k', `--version-id=${put.VersionId}`]),
      cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k', `--version-id=${put.VersionId}`, '--mfa', `${serial} ${wrong}`]),
      cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k', `--version-id=${put.VersionId}`, '--mfa', serial]),
      cairn.aws(['s3api', 'put-bucket-versioning', '--bucket', 'mfa-bucket', '--versioning-configuration', 'Status=Suspended']),
    ]);
    expect(plain.stderr).toContain('Mfa Authentication must be used for this request');
    expect(bad.stderr).toContain('AccessDenied');
    expect(malformed.stderr).toContain('InvalidArgument');
    expect(suspend.stderr).toContain('Mfa Authentication must be used for this request');
    // A delete marker needs no factor; removing a version does.
    expect((await cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k'])).code).toBe(0);
    expect((await cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k', `--version-id=${put.VersionId}`, '--mfa', `${serial} ${code()}`])).code).toBe(0);

    // Another user, even with every S3 permission and the root's code, is not the bucket owner.
    const other = await user('mfa-other', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
    const put2 = await cairn.awsJson<{ VersionId: string }>(['s3api', 'put-object', '--bucket', 'mfa-bucket', '--key', 'k2']);
    const notOwner = await cairn.aws(['s3api', 'delete-object', '--bucket', 'mfa-bucket', '--key', 'k2', `--version-id=${put2.VersionId}`, '--mfa', `${serial} ${code()}`], other);
    expect(notOwner.stderr).toContain('This operation may only be performed by the bucket owner');
  });
});

describe('lifecycle', () => {
  it('moves an object to GLACIER, refuses reads until a restore completes, then expires it', async () => {
    clock.set(Date.now());
    await s3().send(new CreateBucketCommand({ Bucket: 'aging' }));
    await s3().send(new PutObjectCommand({ Bucket: 'aging', Key: 'logs/a.json', Body: '{"a":1}' }));
    const bad = await cairn.aws([
      's3api', 'put-bucket-lifecycle-configuration', '--bucket', 'aging',
      '--lifecycle-configuration', JSON.stringify({ Rules: [{ ID: 'ia', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Transitions: [{ Days: 1, StorageClass: 'STANDARD_IA' }] }] }),
    ]);
    expect(bad.stderr).toContain("'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'");
    await s3().send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'aging',
        TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
        LifecycleConfiguration: {
          Rules: [{ ID: 'archive', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Transitions: [{ Days: 1, StorageClass: 'GLACIER' }], Expiration: { Days: 30 } }],
        },
      }),
    );
    const got = await cairn.awsJson<{ Rules: { ID: string }[] }>(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', 'aging']);
    expect(got.Rules[0]?.ID).toBe('archive');

    clock.advance(2 * DAY);
    const report = await cairn.server.runLifecycle();
    expect(report.transitioned).toBe(1);
    const head = await s3().send(new HeadObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' }));
    expect(head.StorageClass).toBe('GLACIER');
    const refused = await failure(s3().send(new GetObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' })));
    expect(refused).toMatchObject({ name: 'InvalidObjectState', status: 403 });

    await s3().send(new RestoreObjectCommand({ Bucket: 'aging', Key: 'logs/a.json', RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } }));
    expect((await s3().send(new HeadObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' }))).Restore).toBe('ongoing-request="true"');
    const again = await failure(s3().send(new RestoreObjectCommand({ Bucket: 'aging', Key: 'logs/a.json', RestoreRequest: { Days: 2 } })));
    expect(again.name).toBe('RestoreAlreadyInProgress');
    clock.advance(5 * HOUR);
    const restored = await s3().send(new HeadObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' }));
    expect(restored.Restore).toMatch(/^ongoing-request="false", expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT"$/);
    const body = await s3().send(new GetObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' }));
    expect(await body.Body?.transformToString()).toBe('{"a":1}');
    // The restored copy expires after its days.
    clock.advance(4 * DAY);
    expect((await failure(s3().send(new GetObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' })))).name).toBe('InvalidObjectState');

    clock.advance(30 * DAY);
    expect((await cairn.server.runLifecycle()).expired).toBe(1);
    expect((await failure(s3().send(new HeadObjectCommand({ Bucket: 'aging', Key: 'logs/a.json' })))).status).toBe(404);
  });

  it('expires noncurrent versions beyond the newest kept, and aborts old multipart uploads', async () => {
    clock.set(Date.now());
    const client = s3();
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'churn']);
    await cairn.awsJson(['s3api', 'put-bucket-versioning', '--bucket', 'churn', '--versioning-configuration', 'Status=Enabled']);
    for (let i = 0; i < 4; i++) await client.send(new PutObjectCommand({ Bucket: 'churn', Key: 'state.json', Body: String(i) }));
    await client.send(new CreateMultipartUploadCommand({ Bucket: 'churn', Key: 'big.bin' }));
    await cairn.awsJson([
      's3api', 'put-bucket-lifecycle-configuration', '--bucket', 'churn',
      '--lifecycle-configuration',
      JSON.stringify({
        Rules: [
          { ID: 'old', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
          { ID: 'uploads', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
        ],
      }),
    ]);
    clock.advance(2 * DAY);
    const first = await cairn.server.runLifecycle();
    expect(first.noncurrentExpired).toBe(2);
    expect(first.uploadsAborted).toBe(0);
    const versions = await s3().send(new ListObjectVersionsCommand({ Bucket: 'churn' }));
    expect(versions.Versions).toHaveLength(2);
    clock.advance(DAY);
    expect((await cairn.server.runLifecycle()).uploadsAborted).toBe(1);
    expect((await s3().send(new ListMultipartUploadsCommand({ Bucket: 'churn' }))).Uploads ?? []).toHaveLength(0);
  });

  it('never deletes a locked version', async () => {
    clock.set(Date.now());
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'locked-aging', '--object-lock-enabled-for-bucket']);
    await cairn.awsJson(['s3api', 'put-object', '--bucket', 'locked-aging', '--key', 'k', '--object-lock-mode', 'COMPLIANCE', '--object-lock-retain-until-date', future(100 * DAY)]);
    await cairn.awsJson(['s3api', 'put-object', '--bucket', 'locked-aging', '--key', 'k']);
    await cairn.awsJson([
      's3api', 'put-bucket-lifecycle-configuration', '--bucket', 'locked-aging',
      '--lifecycle-configuration', JSON.stringify({ Rules: [{ ID: 'x', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] }),
    ]);
    clock.advance(3 * DAY);
    const report = await cairn.server.runLifecycle();
    expect(report.refused).toBe(1);
    expect((await s3().send(new ListObjectVersionsCommand({ Bucket: 'locked-aging' }))).Versions).toHaveLength(2);
  });
});
