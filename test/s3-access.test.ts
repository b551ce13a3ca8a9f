/**
 * S3 access control and encryption at rest end to end, with the stock AWS CLI and
 * `@aws-sdk/client-s3` against a running Cairn: bucket policies (cross-account grants,
 * explicit denies, the owner's root keeping policy management, aws:SecureTransport),
 * Block Public Access, ACLs and Object Ownership, SSE-S3 and SSE-KMS (ciphertext on disk,
 * a disabled key).
 */
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  PutBucketAclCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identities } from '../src/iam/identities.js';
import { SqliteIdentityStore } from '../src/iam/sqlite-store.js';
import { systemClock } from '../src/platform/clock.js';
import { cryptoRandom } from '../src/platform/ids.js';
import { openStateDatabase } from '../src/storage/sqlite.js';
import { startCairn, type Credentials, type TestCairn } from './support/cairn.js';
import { recordsFor } from './support/records.js';

let cairn: TestCairn;
let s3: S3Client;
let owner: string;
let member: { accountId: string; root: Credentials };
let reader: Credentials;

function client(credentials: Credentials): S3Client {
  return new S3Client({ endpoint: cairn.endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const error = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: error.name, status: error.$metadata?.httpStatusCode, message: error.message };
  }
  throw new Error('expected the call to fail');
}

async function text(out: { Body?: { transformToString(): Promise<string> } }): Promise<string> {
  return (await out.Body?.transformToString()) ?? '';
}

async function newBucket(name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
}

const policy = (...Statement: Record<string, unknown>[]): string => JSON.stringify({ Version: '2012-10-17', Statement });

/** An IAM user with an identity policy allowing all of S3, and its access key. */
async function userWithS3(creds: Credentials | undefined, name: string): Promise<Credentials> {
  await cairn.awsJson(['iam', 'create-user', '--user-name', name], creds);
  const allow = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*', 'kms:*'], Resource: '*' }] });
  await cairn.awsJson(['iam', 'put-user-policy', '--user-name', name, '--policy-name', 's3', '--policy-document', allow], creds);
  const key = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', name], creds);
  return { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

beforeAll(async () => {
  cairn = await startCairn();
  owner = cairn.server.accountId;
  s3 = client(cairn.root);
  // A second account, as Organizations would make one; its principals are cross-account here.
  const db = openStateDatabase(cairn.server.dataDir);
  try {
    const made = new Identities({ store: new SqliteIdentityStore(db), clock: systemClock, random: cryptoRandom }).createAccount();
    member = { accountId: made.accountId, root: { accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey } };
  } finally {
    db.close();
  }
  reader = await userWithS3(member.root, 'reader');
}, 60_000);

afterAll(async () => {
  await cairn?.stop();
});

describe('bucket policies', () => {
  it('lets another account read only while the bucket policy allows it', async () => {
    await newBucket('shared');
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'report.txt', Body: 'quarterly numbers' }));
    const other = client(reader);
    expect(await failure(other.send(new GetObjectCommand({ Bucket: 'shared', Key: 'report.txt' })))).toMatchObject({ name: 'AccessDenied', status: 403 });

    const readerArn = `arn:aws:iam::${member.accountId}:user/reader`;
    const allow = { Sid: 'Reader', Effect: 'Allow', Principal: { AWS: readerArn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' };
    await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', 'shared', '--policy', policy(allow)]);
    expect(await text(await other.send(new GetObjectCommand({ Bucket: 'shared', Key: 'report.txt' })))).toBe('quarterly numbers');
    // The grant is for reading only, and only that user: the member account's root has no grant.
    expect((await failure(other.send(new PutObjectCommand({ Bucket: 'shared', Key: 'x', Body: 'x' })))).name).toBe('AccessDenied');
    expect((await failure(client(member.root).send(new GetObjectCommand({ Bucket: 'shared', Key: 'report.txt' })))).name).toBe('AccessDenied');

    const deny = { Sid: 'NoReader', Effect: 'Deny', Principal: { AWS: readerArn }, Action: 's3:*', Resource: 'arn:aws:s3:::shared/*' };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'shared', Policy: policy(allow, deny) }));
    expect((await failure(other.send(new GetObjectCommand({ Bucket: 'shared', Key: 'report.txt' })))).name).toBe('AccessDenied');

    // Only the owner's account manages the policy, whatever it grants.
    const stored = await s3.send(new GetBucketPolicyCommand({ Bucket: 'shared' }));
    expect(JSON.parse(stored.Policy ?? '{}')).toEqual(JSON.parse(policy(allow, deny)));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'shared' }))).PolicyStatus?.IsPublic).toBe(false);
  });

  it('refuses malformed policies with S3 messages', async () => {
    await newBucket('strict');
    const put = (doc: string): Promise<{ name: string; message: string }> => failure(s3.send(new PutBucketPolicyCommand({ Bucket: 'strict', Policy: doc })));
    const stmt = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::strict/*' };
    expect(await put(policy({ ...stmt, Resource: 'arn:aws:s3:::elsewhere/*' }))).toMatchObject({ name: 'MalformedPolicy', message: 'Policy has invalid resource' });
    expect(await put(policy({ ...stmt, Principal: { AWS: `arn:aws:iam::${owner}:user/nobody` } }))).toMatchObject({ message: 'Invalid principal in policy' });
    expect(await put(policy({ ...stmt, Action: 'iam:CreateUser' }))).toMatchObject({ message: 'Policy has invalid action' });
    expect(await put(policy({ ...stmt, Resource: 'arn:aws:s3:::strict' }))).toMatchObject({ message: 'Action does not apply to any resource(s) in statement' });
    expect(await put('{"Statement": [')).toMatchObject({ message: 'This policy contains invalid Json' });
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'strict' })))).toMatchObject({ name: 'NoSuchBucketPolicy', status: 404 });
  });

  it("denies the owner's own IAM user, and the owner's root except for managing the policy", async () => {
    await newBucket('guarded');
    const writer = await userWithS3(undefined, 'writer');
    const mine = client(writer);
    await mine.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'a', Body: 'a' }));
    const denyWriter = { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${owner}:user/writer` }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::guarded/*' };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: policy(denyWriter) }));
    expect(await failure(mine.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'b', Body: 'b' })))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await text(await mine.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'a' })))).toBe('a');

    const denyAll = { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::guarded', 'arn:aws:s3:::guarded/*'] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: policy(denyAll) }));
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'a' })))).name).toBe('AccessDenied');
    expect((await failure(mine.send(new GetBucketPolicyCommand({ Bucket: 'guarded' })))).name).toBe('AccessDenied');
    // S3 never locks the bucket owner's root out of the policy itself.
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'guarded' }))).Policy).toContain('Deny');
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' }));
    expect(await text(await s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'a' })))).toBe('a');
  });

  it('denies requests over plain HTTP when the policy requires aws:SecureTransport', async () => {
    await newBucket('tls-only');
    await s3.send(new PutObjectCommand({ Bucket: 'tls-only', Key: 'k', Body: 'v' }));
    const denyHttp = {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::tls-only', 'arn:aws:s3:::tls-only/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'tls-only', Policy: policy(denyHttp) }));
    const got = await cairn.aws(['s3api', 'get-object', '--bucket', 'tls-only', '--key', 'k', '/dev/null']);
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain('AccessDenied');
  });
});

describe('Block Public Access', () => {
  it('is on for new buckets, refuses public policies, and can be lifted', async () => {
    await newBucket('public-site');
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'public-site' }))).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const publicRead = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::public-site/*' };
    expect(await failure(s3.send(new PutBucketPolicyCommand({ Bucket: 'public-site', Policy: policy(publicRead) })))).toMatchObject({ name: 'AccessDenied', status: 403 });

    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'public-site' }));
    expect((await failure(s3.send(new GetPublicAccessBlockCommand({ Bucket: 'public-site' })))).name).toBe('NoSuchPublicAccessBlockConfiguration');
    await s3.send(new PutObjectCommand({ Bucket: 'public-site', Key: 'index.html', Body: '<h1>hi</h1>' }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'public-site', Policy: policy(publicRead) }));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'public-site' }))).PolicyStatus?.IsPublic).toBe(true);
    // The owner's trail records object reads, anonymous ones included.
    await cairn.logDataEvents(['AWS::S3::Object']);
    // Public means every account, and no account: the member's user and an unsigned GET both read.
    expect(await text(await client(reader).send(new GetObjectCommand({ Bucket: 'public-site', Key: 'index.html' })))).toBe('<h1>hi</h1>');
    const anonymous = await fetch(`${cairn.endpoint}/public-site/index.html`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.text()).toBe('<h1>hi</h1>');
    const [record] = recordsFor(cairn.server.dataDir, anonymous.headers.get('x-amz-request-id') ?? '');
    expect(record).toMatchObject({
      userIdentity: { type: 'AWSAccount', principalId: '', accountId: 'anonymous' },
      eventName: 'GetObject',
      recipientAccountId: owner,
    });
    // Anything the policy does not grant stays closed to anonymous callers.
    expect((await fetch(`${cairn.endpoint}/public-site?list-type=2`)).status).toBe(403);
    expect((await fetch(`${cairn.endpoint}/shared/report.txt`)).status).toBe(403);

    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'public-site',
        PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: true },
      }),
    );
    expect((await failure(client(reader).send(new GetObjectCommand({ Bucket: 'public-site', Key: 'index.html' })))).name).toBe('AccessDenied');
    expect((await fetch(`${cairn.endpoint}/public-site/index.html`)).status).toBe(403);
    expect(await text(await s3.send(new GetObjectCommand({ Bucket: 'public-site', Key: 'index.html' })))).toBe('<h1>hi</h1>');
  });
});

describe('ACLs and Object Ownership', () => {
  it('disables ACLs by default and stores them once ownership allows', async () => {
    await newBucket('acl-bucket');
    const ownerId = (await s3.send(new GetBucketAclCommand({ Bucket: 'acl-bucket' }))).Owner?.ID;
    expect(ownerId).toMatch(/^[0-9a-f]{64}$/);
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'acl-bucket' }))).Grants).toEqual([
      { Grantee: { Type: 'CanonicalUser', ID: ownerId }, Permission: 'FULL_CONTROL' },
    ]);
    expect(await failure(s3.send(new PutBucketAclCommand({ Bucket: 'acl-bucket', ACL: 'public-read' })))).toMatchObject({
      name: 'AccessControlListNotSupported',
      status: 400,
    });
    // The ACL cross-account CloudTrail delivery sends is accepted with ACLs disabled.
    await s3.send(new PutObjectCommand({ Bucket: 'acl-bucket', Key: 'log.json.gz', Body: 'x', ACL: 'bucket-owner-full-control' }));
    expect((await failure(s3.send(new PutObjectCommand({ Bucket: 'acl-bucket', Key: 'p', Body: 'x', ACL: 'public-read' })))).name).toBe(
      'AccessControlListNotSupported',
    );
    // As another account's writer (a trail delivering across accounts) sends it, too.
    const writerGrant = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${member.accountId}:user/reader` }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::acl-bucket/*' };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'acl-bucket', Policy: policy(writerGrant) }));
    await client(reader).send(new PutObjectCommand({ Bucket: 'acl-bucket', Key: 'delivered', Body: 'x', ACL: 'bucket-owner-full-control' }));
    expect((await s3.send(new GetObjectAclCommand({ Bucket: 'acl-bucket', Key: 'delivered' }))).Owner?.ID).toBe(ownerId);
    const objectAcl = await s3.send(new GetObjectAclCommand({ Bucket: 'acl-bucket', Key: 'log.json.gz' }));
    expect(objectAcl.Owner?.ID).toBe(ownerId);
    expect(objectAcl.Grants).toEqual([{ Grantee: { Type: 'CanonicalUser', ID: ownerId }, Permission: 'FULL_CONTROL' }]);

    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: 'acl-bucket', OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
    // Block Public Access still refuses a public ACL...
    expect((await failure(s3.send(new PutBucketAclCommand({ Bucket: 'acl-bucket', ACL: 'public-read' })))).name).toBe('AccessDenied');
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'acl-bucket' }));
    await s3.send(new PutBucketAclCommand({ Bucket: 'acl-bucket', ACL: 'public-read' }));
    const acl = await cairn.awsJson<{ Grants: unknown[] }>(['s3api', 'get-bucket-acl', '--bucket', 'acl-bucket']);
    expect(acl.Grants).toContainEqual({ Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' });
    await cairn.awsJson(['s3api', 'put-object-acl', '--bucket', 'acl-bucket', '--key', 'log.json.gz', '--acl', 'authenticated-read']);
    const after = await s3.send(new GetObjectAclCommand({ Bucket: 'acl-bucket', Key: 'log.json.gz' }));
    expect(after.Grants).toContainEqual({ Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers' }, Permission: 'READ' });
  });
});

describe('encryption at rest', () => {
  it('encrypts every object with SSE-S3 by default and keeps only ciphertext on disk', async () => {
    await newBucket('plain-default');
    const marker = 'PLAINTEXT-MARKER-7f3a9c';
    const put = await s3.send(new PutObjectCommand({ Bucket: 'plain-default', Key: 'secret.txt', Body: marker.repeat(50) }));
    expect(put.ServerSideEncryption).toBe('AES256');
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'plain-default', Key: 'secret.txt' }))).ServerSideEncryption).toBe('AES256');
    expect(await text(await s3.send(new GetObjectCommand({ Bucket: 'plain-default', Key: 'secret.txt' })))).toBe(marker.repeat(50));
    const rule = (await s3.send(new GetBucketEncryptionCommand({ Bucket: 'plain-default' }))).ServerSideEncryptionConfiguration?.Rules?.[0];
    expect(rule).toEqual({ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false });
    for (const file of filesUnder(join(cairn.server.dataDir, 'objects'))) {
      expect(readFileSync(file).includes(marker), file).toBe(false);
    }
  });

  it('seals SSE-KMS objects under a KMS key, and cannot read them while the key is disabled', async () => {
    await newBucket('kms-bucket');
    const key = await cairn.awsJson<{ KeyMetadata: { Arn: string; KeyId: string } }>(['kms', 'create-key', '--description', 'objects']);
    const marker = 'KMS-PLAINTEXT-4b1e';
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'kms-bucket', Key: 'doc', Body: marker.repeat(20), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata.KeyId }),
    );
    expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata.Arn });
    const head = await cairn.awsJson<Record<string, unknown>>(['s3api', 'head-object', '--bucket', 'kms-bucket', '--key', 'doc']);
    expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata.Arn });
    for (const file of filesUnder(join(cairn.server.dataDir, 'objects'))) expect(readFileSync(file).includes(marker), file).toBe(false);

    await cairn.awsJson(['kms', 'disable-key', '--key-id', key.KeyMetadata.KeyId]);
    const refused = await cairn.aws(['s3api', 'get-object', '--bucket', 'kms-bucket', '--key', 'doc', '/dev/null']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('KMS.DisabledException');
    await cairn.awsJson(['kms', 'enable-key', '--key-id', key.KeyMetadata.KeyId]);
    expect(await text(await s3.send(new GetObjectCommand({ Bucket: 'kms-bucket', Key: 'doc' })))).toBe(marker.repeat(20));

    // The bucket default turns plain writes into SSE-KMS ones.
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'kms-bucket',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key.KeyMetadata.Arn }, BucketKeyEnabled: true }] },
      }),
    );
    const byDefault = await s3.send(new PutObjectCommand({ Bucket: 'kms-bucket', Key: 'second', Body: 'two' }));
    expect(byDefault).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata.Arn, BucketKeyEnabled: true });

    // Reading needs kms:Decrypt through the key policy: another account's user has none.
    const readerArn = `arn:aws:iam::${member.accountId}:user/reader`;
    const allow = { Effect: 'Allow', Principal: { AWS: readerArn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::kms-bucket/*' };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'kms-bucket', Policy: policy(allow) }));
    expect((await failure(client(reader).send(new GetObjectCommand({ Bucket: 'kms-bucket', Key: 'doc' })))).name).toBe('AccessDenied');
  });
});
