/**
 * KMS end to end with the stock AWS CLI: keys, aliases, key policies, Encrypt/Decrypt
 * with an encryption context, data keys, key states and deletion, IAM users refused
 * and allowed through the default key policy, the CloudTrail records of KMS calls, and
 * no plaintext in state.db or the event log.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, type Credentials, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let accountId: string;
let work: string;

interface KeyMetadata {
  KeyId: string;
  Arn: string;
  KeyState: string;
  Enabled: boolean;
  Description: string;
  DeletionDate?: number;
  KeyUsage: string;
  KeySpec: string;
}

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
  work = cairn.server.dataDir;
});
afterAll(async () => {
  await cairn.stop();
});

/** Writes bytes to a file under the data directory and returns a `fileb://` reference. */
function fileb(name: string, bytes: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return `fileb://${path}`;
}

async function createKey(description = 'test key'): Promise<KeyMetadata> {
  const out = await cairn.awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'create-key', '--description', description]);
  return out.KeyMetadata;
}

function kmsRecords(eventName: string): Record<string, unknown>[] {
  return readRecords(work)
    .map((r) => r.record)
    .filter((r) => r.eventSource === 'kms.amazonaws.com' && r.eventName === eventName);
}

describe('keys and aliases', () => {
  it('creates, describes and lists keys and aliases; CreateKey is recorded with the new key', async () => {
    const key = await createKey('orders');
    expect(key).toMatchObject({ KeyState: 'Enabled', Enabled: true, Description: 'orders', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(key.Arn).toBe(`arn:aws:kms:us-east-1:${accountId}:key/${key.KeyId}`);

    await cairn.awsJson(['kms', 'create-alias', '--alias-name', 'alias/orders', '--target-key-id', key.KeyId]);
    const byAlias = await cairn.awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'describe-key', '--key-id', 'alias/orders']);
    expect(byAlias.KeyMetadata.KeyId).toBe(key.KeyId);

    const keys = await cairn.awsJson<{ Keys: { KeyId: string; KeyArn: string }[] }>(['kms', 'list-keys']);
    expect(keys.Keys).toContainEqual({ KeyId: key.KeyId, KeyArn: key.Arn });
    const aliases = await cairn.awsJson<{ Aliases: { AliasName: string; AliasArn: string; TargetKeyId: string }[] }>([
      'kms', 'list-aliases', '--key-id', key.KeyId,
    ]);
    expect(aliases.Aliases).toMatchObject([{ AliasName: 'alias/orders', AliasArn: `arn:aws:kms:us-east-1:${accountId}:alias/orders`, TargetKeyId: key.KeyId }]);

    const dup = await cairn.aws(['kms', 'create-alias', '--alias-name', 'alias/orders', '--target-key-id', key.KeyId]);
    expect(dup.stderr).toContain('AlreadyExistsException');
    const missing = await cairn.aws(['kms', 'describe-key', '--key-id', 'alias/none']);
    expect(missing.stderr).toContain(`NotFoundException`);
    expect(missing.stderr).toContain(`Alias arn:aws:kms:us-east-1:${accountId}:alias/none is not found.`);

    const created = kmsRecords('CreateKey').find((r) => JSON.stringify(r.resources).includes(key.KeyId));
    expect(created).toMatchObject({
      readOnly: false,
      managementEvent: true,
      resources: [{ accountId, type: 'AWS::KMS::Key', ARN: key.Arn }],
      responseElements: { keyMetadata: { AWSAccountId: accountId, keyId: key.KeyId, arn: key.Arn, keyState: 'Enabled', keyManager: 'CUSTOMER' } },
    });
    const alias = kmsRecords('CreateAlias').find((r) => (r.requestParameters as { aliasName?: string }).aliasName === 'alias/orders' && !r.errorCode);
    expect(alias).toMatchObject({
      requestParameters: { aliasName: 'alias/orders', targetKeyId: key.KeyId },
      responseElements: { keyId: key.Arn },
    });
  });
});

describe('cryptography', () => {
  it('encrypts a file and decrypts it without naming the key; the context must match', async () => {
    const key = await createKey();
    const plaintext = Buffer.from('the quick brown fox, encrypted at rest');
    const enc = await cairn.awsJson<{ CiphertextBlob: string; KeyId: string; EncryptionAlgorithm: string }>([
      'kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb('plain.txt', plaintext), '--encryption-context', 'purpose=test,team=audit',
    ]);
    expect(enc.KeyId).toBe(key.Arn);
    expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    const ciphertext = fileb('cipher.bin', Buffer.from(enc.CiphertextBlob, 'base64'));

    const dec = await cairn.awsJson<{ Plaintext: string; KeyId: string }>([
      'kms', 'decrypt', '--ciphertext-blob', ciphertext, '--encryption-context', 'team=audit,purpose=test',
    ]);
    expect(Buffer.from(dec.Plaintext, 'base64').equals(plaintext)).toBe(true);
    expect(dec.KeyId).toBe(key.Arn);

    const wrong = await cairn.aws(['kms', 'decrypt', '--ciphertext-blob', ciphertext, '--encryption-context', 'purpose=other,team=audit']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('InvalidCiphertextException');

    const record = kmsRecords('Encrypt').find((r) => JSON.stringify(r.resources).includes(key.KeyId));
    expect(record).toMatchObject({
      readOnly: true,
      managementEvent: true,
      requestParameters: { keyId: key.KeyId, encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { purpose: 'test', team: 'audit' } },
      responseElements: null,
      resources: [{ accountId, type: 'AWS::KMS::Key', ARN: key.Arn }],
    });
    const decryptRecord = kmsRecords('Decrypt').find((r) => !r.errorCode && JSON.stringify(r.resources).includes(key.KeyId));
    expect(decryptRecord).toMatchObject({ requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, responseElements: null, readOnly: true });
  });

  it('generates data keys that decrypt back; neither they nor plaintexts reach state.db or the records', async () => {
    const key = await createKey();
    await cairn.awsJson(['kms', 'create-alias', '--alias-name', 'alias/data', '--target-key-id', key.Arn]);
    const dk = await cairn.awsJson<{ Plaintext: string; CiphertextBlob: string; KeyId: string }>([
      'kms', 'generate-data-key', '--key-id', 'alias/data', '--key-spec', 'AES_256', '--encryption-context', 'bucket=logs',
    ]);
    const dataKey = Buffer.from(dk.Plaintext, 'base64');
    expect(dataKey.length).toBe(32);
    expect(dk.KeyId).toBe(key.Arn);
    const back = await cairn.awsJson<{ Plaintext: string }>([
      'kms', 'decrypt', '--ciphertext-blob', fileb('dk.bin', Buffer.from(dk.CiphertextBlob, 'base64')), '--encryption-context', 'bucket=logs',
    ]);
    expect(Buffer.from(back.Plaintext, 'base64').equals(dataKey)).toBe(true);
    const small = await cairn.awsJson<{ Plaintext: string }>(['kms', 'generate-data-key', '--key-id', key.KeyId, '--number-of-bytes', '16']);
    expect(Buffer.from(small.Plaintext, 'base64').length).toBe(16);

    const record = kmsRecords('GenerateDataKey').find((r) => (r.requestParameters as { keyId?: string }).keyId === 'alias/data');
    expect(record).toMatchObject({
      readOnly: true,
      requestParameters: { keyId: 'alias/data', keySpec: 'AES_256', encryptionContext: { bucket: 'logs' } },
      responseElements: null,
      resources: [{ accountId, type: 'AWS::KMS::Key', ARN: key.Arn }],
    });

    // Nothing secret at rest: not the data key (raw or base64), not what was encrypted.
    const secret = Buffer.from('the quick brown fox, encrypted at rest');
    for (const name of readdirSync(work).filter((n) => n.startsWith('state.db') || n.startsWith('eventlog.db'))) {
      const bytes = readFileSync(join(work, name));
      expect(bytes.includes(dataKey), name).toBe(false);
      expect(bytes.includes(Buffer.from(dk.Plaintext)), name).toBe(false);
      expect(bytes.includes(secret), name).toBe(false);
    }
    const recordsText = readRecords(work).map((r) => r.text).join('\n');
    expect(recordsText).not.toContain(dk.Plaintext);
    expect(recordsText).not.toContain(dk.CiphertextBlob);
  });
});

describe('key states', () => {
  it('a disabled key refuses to decrypt; deletion is scheduled and cancelled back to Disabled', async () => {
    const key = await createKey();
    const enc = await cairn.awsJson<{ CiphertextBlob: string }>(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb('p2.txt', Buffer.from('x'))]);
    const ciphertext = fileb('c2.bin', Buffer.from(enc.CiphertextBlob, 'base64'));

    await cairn.awsJson(['kms', 'disable-key', '--key-id', key.KeyId]);
    const disabled = await cairn.aws(['kms', 'decrypt', '--ciphertext-blob', ciphertext]);
    expect(disabled.code).not.toBe(0);
    expect(disabled.stderr).toContain('DisabledException');
    expect(disabled.stderr).toContain(`${key.Arn} is disabled.`);
    await cairn.awsJson(['kms', 'enable-key', '--key-id', key.Arn]);
    await cairn.awsJson(['kms', 'decrypt', '--ciphertext-blob', ciphertext]);

    const tooSoon = await cairn.aws(['kms', 'schedule-key-deletion', '--key-id', key.KeyId, '--pending-window-in-days', '3']);
    expect(tooSoon.stderr).toContain('ValidationException');
    const scheduled = await cairn.awsJson<{ KeyId: string; KeyState: string; DeletionDate: number; PendingWindowInDays: number }>([
      'kms', 'schedule-key-deletion', '--key-id', key.KeyId, '--pending-window-in-days', '7',
    ]);
    expect(scheduled).toMatchObject({ KeyId: key.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    const pending = await cairn.aws(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb('p3.txt', Buffer.from('y'))]);
    expect(pending.stderr).toContain('KMSInvalidStateException');
    const described = await cairn.awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'describe-key', '--key-id', key.KeyId]);
    expect(described.KeyMetadata.KeyState).toBe('PendingDeletion');
    expect(described.KeyMetadata.DeletionDate).toBeDefined();

    const cancelled = await cairn.awsJson<{ KeyId: string }>(['kms', 'cancel-key-deletion', '--key-id', key.KeyId]);
    expect(cancelled.KeyId).toBe(key.Arn);
    const after = await cairn.awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'describe-key', '--key-id', key.KeyId]);
    expect(after.KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });

    const record = kmsRecords('ScheduleKeyDeletion').find((r) => !r.errorCode && JSON.stringify(r.resources).includes(key.KeyId));
    expect(record).toMatchObject({ responseElements: { keyId: key.Arn, keyState: 'PendingDeletion' }, readOnly: false });
    expect(String((record?.responseElements as { deletionDate?: string }).deletionDate)).toMatch(/^[A-Z][a-z]{2} \d+, \d{4}, /);
    const disable = kmsRecords('DisableKey').find((r) => JSON.stringify(r.resources).includes(key.KeyId));
    expect(disable).toMatchObject({ requestParameters: { keyId: key.KeyId }, responseElements: { keyId: key.Arn } });
  });
});

describe('key policies', () => {
  it('gets the default policy and replaces it with a valid one only', async () => {
    const key = await createKey();
    const got = await cairn.awsJson<{ Policy: string; PolicyName: string }>(['kms', 'get-key-policy', '--key-id', key.KeyId, '--policy-name', 'default']);
    expect(JSON.parse(got.Policy)).toEqual({
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:*', Resource: '*' }],
    });

    const bad = await cairn.aws(['kms', 'put-key-policy', '--key-id', key.KeyId, '--policy-name', 'default', '--policy', '{"Statement":[{"Effect":"Allow"}]}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('MalformedPolicyDocumentException');

    const policy = JSON.parse(got.Policy) as { Statement: Record<string, unknown>[] };
    policy.Statement.push({ Sid: 'NoDecryptWithoutContext', Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { Null: { 'kms:EncryptionContextKeys': 'true' } } });
    await cairn.awsJson(['kms', 'put-key-policy', '--key-id', key.KeyId, '--policy-name', 'default', '--policy', JSON.stringify(policy)]);
    const now = await cairn.awsJson<{ Policy: string }>(['kms', 'get-key-policy', '--key-id', key.KeyId, '--policy-name', 'default']);
    expect(JSON.parse(now.Policy)).toEqual(policy);

    // The new policy is enforced, even on the root user.
    const enc = await cairn.awsJson<{ CiphertextBlob: string }>(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb('p4.txt', Buffer.from('z'))]);
    const denied = await cairn.aws(['kms', 'decrypt', '--ciphertext-blob', fileb('c4.bin', Buffer.from(enc.CiphertextBlob, 'base64'))]);
    expect(denied.stderr).toContain('AccessDeniedException');
    expect(denied.stderr).toContain('explicit deny in a resource-based policy');
  });
});

describe('IAM users', () => {
  let bob: Credentials;
  let key: KeyMetadata;

  beforeAll(async () => {
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'kms-bob']);
    const created = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', 'kms-bob']);
    bob = { accessKeyId: created.AccessKey.AccessKeyId, secretAccessKey: created.AccessKey.SecretAccessKey };
    key = await createKey('bob key');
  });

  it('without KMS permissions are denied, and the denial is recorded', async () => {
    const create = await cairn.aws(['kms', 'create-key'], bob);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('AccessDeniedException');
    const encrypt = await cairn.aws(['kms', 'encrypt', '--key-id', key.KeyId, '--plaintext', fileb('p5.txt', Buffer.from('b'))], bob);
    expect(encrypt.stderr).toContain('AccessDeniedException');
    expect(encrypt.stderr).toContain(`arn:aws:iam::${accountId}:user/kms-bob is not authorized to perform: kms:Encrypt on resource: ${key.Arn}`);
    const record = kmsRecords('Encrypt').find((r) => (r.userIdentity as { userName?: string }).userName === 'kms-bob');
    expect(record).toMatchObject({ errorCode: 'AccessDeniedException', resources: [{ ARN: key.Arn }] });
  });

  it('an IAM policy is enough under the default key policy, for the actions it names', async () => {
    const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:DescribeKey'], Resource: key.Arn }] };
    await cairn.awsJson(['iam', 'put-user-policy', '--user-name', 'kms-bob', '--policy-name', 'use-key', '--policy-document', JSON.stringify(allow)]);
    const enc = await cairn.awsJson<{ CiphertextBlob: string }>(['kms', 'encrypt', '--key-id', key.Arn, '--plaintext', fileb('p6.txt', Buffer.from('b'))], bob);
    const dec = await cairn.aws(['kms', 'decrypt', '--ciphertext-blob', fileb('c6.bin', Buffer.from(enc.CiphertextBlob, 'base64'))], bob);
    expect(dec.stderr).toContain('AccessDeniedException');
    expect(dec.stderr).toContain('kms:Decrypt');
  });
});
