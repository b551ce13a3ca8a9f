import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../auth/principal.js';
import { allowPolicy, identityFixture } from '../../iam/testing.js';
import { loadOrCreateMasterKey } from '../../kms/crypto.js';
import { Kms } from '../../kms/kms.js';
import { SqliteKmsStore } from '../../kms/sqlite-store.js';
import { cryptoRandom } from '../../platform/ids.js';
import { AwsError } from '../../platform/errors.js';
import { recordNotes, type CallContext, type OperationSpec } from '../service.js';
import { kmsService } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const f = identityFixture();
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-kms-svc-'));
  dirs.push(dataDir);
  const kms = new Kms({ store: new SqliteKmsStore(f.db), clock: f.clock, random: cryptoRandom, masterKey: loadOrCreateMasterKey(dataDir, cryptoRandom) });
  const service = kmsService({ kms, policies: f.identities });
  const acct = f.root.accountId;
  const root: Principal = { type: 'Root', accountId: acct, accessKeyId: f.root.accessKeyId };
  const ctx = (principal: Principal = root): CallContext => ({
    requestId: 'req-1',
    principal,
    accountId: principal.accountId,
    region: 'us-east-1',
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    now: f.clock.now(),
    secureTransport: true,
  });
  const spec = (op: string): OperationSpec => {
    const s = service.operations[op];
    if (!s) throw new Error(`no operation ${op}`);
    return s;
  };
  const call = (op: string, input: Record<string, unknown> = {}, principal?: Principal) => spec(op).handle(input, ctx(principal));
  const fail = async (op: string, input: Record<string, unknown> = {}, principal?: Principal): Promise<AwsError> => {
    try {
      await call(op, input, principal);
    } catch (e) {
      if (e instanceof AwsError) return e;
      throw e;
    }
    throw new Error(`${op} did not fail`);
  };
  const user = (userName: string, ...policies: string[]): Principal => {
    f.identities.createUser(acct, { userName });
    policies.forEach((doc, i) => f.identities.putInlinePolicy(acct, { kind: 'user', name: userName }, `p${i}`, doc));
    const p = f.identities.resolveAccessKey(f.identities.createAccessKey(acct, userName).accessKeyId)?.principal;
    if (!p) throw new Error('unresolved');
    return p;
  };
  const newKey = async (): Promise<{ KeyId: string; Arn: string }> =>
    ((await call('CreateKey')) as { KeyMetadata: { KeyId: string; Arn: string } }).KeyMetadata;
  return { f, kms, service, acct, ctx, spec, call, fail, user, newKey };
}

describe('kms service definition', () => {
  it('describes KMS and classifies its operations as CloudTrail does', () => {
    const { service } = setup();
    expect(service).toMatchObject({ modelName: 'kms', signingName: 'kms', actionPrefix: 'kms', eventSource: 'kms.amazonaws.com' });
    for (const [name, op] of Object.entries(service.operations)) {
      expect(service.model.operations[name], name).toBeDefined();
      expect(op.category).toBe('Management');
    }
    const readOnly = Object.entries(service.operations).filter(([, op]) => op.readOnly).map(([n]) => n).sort();
    expect(readOnly).toEqual([
      'Decrypt', 'DescribeKey', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GetKeyPolicy', 'ListAliases', 'ListKeyPolicies', 'ListKeys',
    ]);
    // Only calls without a key are left to the pipeline's identity-policy check.
    const pipelineChecked = Object.entries(service.operations).filter(([, op]) => op.action !== null).map(([n]) => n).sort();
    expect(pipelineChecked).toEqual(['CreateKey', 'ListAliases', 'ListKeys']);
  });
});

describe('aliases need IAM on the alias and the key policy on the key', () => {
  it('a user allowed on the key but not on the alias is refused, then allowed', async () => {
    const t = setup();
    const key = await t.newKey();
    const carol = t.user('carol', allowPolicy('kms:CreateAlias', key.Arn));
    const denied = await t.fail('CreateAlias', { AliasName: 'alias/c', TargetKeyId: key.KeyId }, carol);
    expect(denied.code).toBe('AccessDeniedException');
    expect(denied.message).toContain(`kms:CreateAlias on resource: arn:aws:kms:us-east-1:${t.acct}:alias/c`);
    const onKeyAndAliases = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'kms:CreateAlias', Resource: [key.Arn, `arn:aws:kms:us-east-1:${t.acct}:alias/*`] }],
    });
    const dave = t.user('dave', onKeyAndAliases);
    await t.call('CreateAlias', { AliasName: 'alias/d', TargetKeyId: key.KeyId }, dave);
    expect(t.kms.describeKey(t.ctx(), 'alias/d').keyId).toBe(key.KeyId);
    expect((await t.fail('DeleteAlias', { AliasName: 'alias/d' }, dave)).code).toBe('AccessDeniedException');
    await t.call('DeleteAlias', { AliasName: 'alias/d' });
    expect((await t.fail('DeleteAlias', { AliasName: 'alias/d' })).code).toBe('NotFoundException');
  });

  it('UpdateAlias retargets and is recorded with the new key', async () => {
    const t = setup();
    const a = await t.newKey();
    const b = await t.newKey();
    await t.call('CreateAlias', { AliasName: 'alias/x', TargetKeyId: a.KeyId });
    const out = await t.call('UpdateAlias', { AliasName: 'alias/x', TargetKeyId: b.Arn });
    expect(recordNotes(out)?.responseElements).toEqual({ keyId: b.Arn });
    expect(t.kms.describeKey(t.ctx(), 'alias/x').keyId).toBe(b.KeyId);
    expect((await t.fail('UpdateAlias', { AliasName: 'alias/none', TargetKeyId: b.KeyId })).code).toBe('NotFoundException');
  });
});

describe('cryptographic calls', () => {
  it('respect DryRun after authorization and refuse other algorithms', async () => {
    const t = setup();
    const key = await t.newKey();
    expect((await t.fail('Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x'), DryRun: true })).code).toBe('DryRunOperationException');
    expect((await t.fail('Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).code).toBe(
      'InvalidKeyUsageException',
    );
    const eve = t.user('eve');
    expect((await t.fail('Encrypt', { KeyId: key.KeyId, Plaintext: Buffer.from('x'), DryRun: true }, eve)).code).toBe('AccessDeniedException');
  });

  it('record key, context and algorithm but never plaintext', async () => {
    const t = setup();
    const key = await t.newKey();
    const input = { KeyId: key.KeyId, Plaintext: Buffer.from('hush'), EncryptionContext: { Department: 'Engineering' } };
    const out = await t.call('Encrypt', input);
    expect(t.spec('Encrypt').recordRequest?.(input)).toEqual({
      keyId: key.KeyId,
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { Department: 'Engineering' },
    });
    const decryptInput = { CiphertextBlob: out.CiphertextBlob, EncryptionContext: { Department: 'Engineering' } };
    expect(t.spec('Decrypt').resources?.(decryptInput, t.ctx())).toEqual([{ accountId: t.acct, type: 'AWS::KMS::Key', ARN: key.Arn }]);
    const decrypted = await t.call('Decrypt', decryptInput);
    expect((decrypted.Plaintext as Buffer).toString()).toBe('hush');
    expect(JSON.stringify(t.spec('Decrypt').recordRequest?.(decryptInput))).not.toContain('hush');
    const gdk = { KeyId: key.KeyId, NumberOfBytes: 24 };
    const dk = await t.call('GenerateDataKeyWithoutPlaintext', gdk);
    expect(dk.Plaintext).toBeUndefined();
    expect(t.spec('GenerateDataKeyWithoutPlaintext').recordRequest?.(gdk)).toEqual({ keyId: key.KeyId, numberOfBytes: 24 });
  });

  it('an assumed role is authorized through its role policies', async () => {
    const t = setup();
    const key = await t.newKey();
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: t.acct }, Action: 'sts:AssumeRole' }] });
    t.f.identities.createRole(t.acct, { roleName: 'writer', assumeRolePolicyDocument: trust });
    t.f.identities.putInlinePolicy(t.acct, { kind: 'role', name: 'writer' }, 'kms', allowPolicy('kms:GenerateDataKey', key.Arn));
    const session: Principal = {
      type: 'AssumedRole',
      accountId: t.acct,
      accessKeyId: 'ASIAEXAMPLE',
      roleName: 'writer',
      roleId: t.f.identities.getRole(t.acct, 'writer').roleId,
      rolePath: '/',
      sessionName: 's',
      issuedAt: t.f.clock.now(),
      sourceArn: `arn:aws:iam::${t.acct}:root`,
    };
    const out = await t.call('GenerateDataKey', { KeyId: key.Arn, KeySpec: 'AES_128' }, session);
    expect((out.Plaintext as Buffer).length).toBe(16);
    expect((await t.fail('Encrypt', { KeyId: key.Arn, Plaintext: Buffer.from('x') }, session)).code).toBe('AccessDeniedException');
  });
});

describe('key management calls', () => {
  it('record the key ARN the way CloudTrail does', async () => {
    const t = setup();
    const key = await t.newKey();
    for (const op of ['DisableKey', 'EnableKey']) {
      const out = await t.call(op, { KeyId: key.KeyId });
      expect(recordNotes(out)?.responseElements).toEqual({ keyId: key.Arn });
    }
    const scheduled = await t.call('ScheduleKeyDeletion', { KeyId: key.KeyId, PendingWindowInDays: 7 });
    expect(t.spec('ScheduleKeyDeletion').recordResponse?.(scheduled)).toEqual({
      keyId: key.Arn,
      keyState: 'PendingDeletion',
      deletionDate: 'Jan 8, 2026, 12:00:00 AM',
    });
  });

  it('refuse a key policy that would lock the caller out', async () => {
    const t = setup();
    const key = await t.newKey();
    const elsewhere = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${t.acct}:user/nobody` }, Action: 'kms:*', Resource: '*' }],
    });
    expect((await t.fail('PutKeyPolicy', { KeyId: key.KeyId, Policy: elsewhere })).code).toBe('MalformedPolicyDocumentException');
    await t.call('PutKeyPolicy', { KeyId: key.KeyId, Policy: elsewhere, BypassPolicyLockoutSafetyCheck: true });
    // Now even the root user is shut out of the key.
    expect((await t.fail('DescribeKey', { KeyId: key.KeyId })).code).toBe('AccessDeniedException');
  });
});
