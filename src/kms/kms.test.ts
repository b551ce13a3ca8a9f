import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../auth/policy.js';
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { openStateDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { canonicalContext, loadOrCreateMasterKey, MASTER_KEY_FILE } from './crypto.js';
import { Kms, defaultKeyPolicy, type KeyUser, type Scope } from './kms.js';
import { SqliteKmsStore } from './sqlite-store.js';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const scope: Scope = { accountId: ACCOUNT, region: 'us-east-1' };
const DAY = 24 * 3600 * 1000;

let dataDir: string;
let db: SqliteDatabase;
let clock: ManualClock;
let kms: Kms;

function engine(masterKey = loadOrCreateMasterKey(dataDir, cryptoRandom)): Kms {
  return new Kms({ store: new SqliteKmsStore(db), clock, random: cryptoRandom, masterKey });
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-kms-'));
  db = openStateDatabase(':memory:');
  clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  kms = engine();
});
afterEach(() => {
  db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

const root: KeyUser = { principal: { arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, isRoot: true }, identityPolicies: [] };
function user(name: string, policies: PolicyDocument[] = [], accountId = ACCOUNT): KeyUser {
  return { principal: { arn: `arn:aws:iam::${accountId}:user/${name}`, accountId, isRoot: false, username: name }, identityPolicies: policies };
}
const allow = (action: string, resource = '*'): PolicyDocument => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] });

describe('the master key', () => {
  it('is created once, 0600, and reused', () => {
    const path = join(dataDir, MASTER_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadOrCreateMasterKey(dataDir, cryptoRandom);
    expect(again.length).toBe(32);
    expect(loadOrCreateMasterKey(dataDir, cryptoRandom).equals(again)).toBe(true);
  });

  it('refuses a key file others can read', () => {
    chmodSync(join(dataDir, MASTER_KEY_FILE), 0o644);
    expect(() => loadOrCreateMasterKey(dataDir, cryptoRandom)).toThrow(/chmod 600/);
  });

  it('refuses a truncated key file', () => {
    writeFileSync(join(dataDir, MASTER_KEY_FILE), Buffer.alloc(5), { mode: 0o600 });
    expect(() => loadOrCreateMasterKey(dataDir, cryptoRandom)).toThrow(/32-byte/);
  });

  it('is needed to use the keys: another master key cannot open them', () => {
    const key = kms.createKey(scope);
    const other = engine(cryptoRandom.bytes(32));
    expect(() => other.encrypt(scope, key.keyId, Buffer.from('x'))).toThrow(/does not open/);
  });
});

describe('keys', () => {
  it('creates an Enabled symmetric key with a UUID, an ARN and the default policy', () => {
    const key = kms.createKey(scope, { description: 'logs' });
    expect(key.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(key).toMatchObject({ arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${key.keyId}`, state: 'Enabled', description: 'logs', createdAt: clock.now() });
    expect(kms.getKeyPolicy(scope, key.keyId)).toBe(defaultKeyPolicy(ACCOUNT));
    expect(JSON.parse(kms.getKeyPolicy(scope, key.arn))).toMatchObject({
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
    });
  });

  it('refuses what it does not serve', () => {
    expect(code(() => kms.createKey(scope, { keySpec: 'RSA_2048' }))).toBe('UnsupportedOperationException');
    expect(code(() => kms.createKey(scope, { keyUsage: 'SIGN_VERIFY' }))).toBe('ValidationException');
    expect(code(() => kms.createKey(scope, { origin: 'EXTERNAL' }))).toBe('UnsupportedOperationException');
  });

  it('is found by key id, key ARN, alias name and alias ARN; unknown ones are NotFound', () => {
    const key = kms.createKey(scope);
    kms.createAlias(scope, 'alias/app', key.keyId);
    for (const ref of [key.keyId, key.keyId.toUpperCase(), key.arn, 'alias/app', `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app`]) {
      expect(kms.describeKey(scope, ref).keyId).toBe(key.keyId);
      expect(kms.resolveKeyArn(ACCOUNT, 'us-east-1', ref)).toBe(key.arn);
    }
    expect(() => kms.describeKey(scope, 'alias/nope')).toThrow(`Alias arn:aws:kms:us-east-1:${ACCOUNT}:alias/nope is not found.`);
    const missing = '0b2ad402-1111-46ac-2222-333333333333';
    expect(() => kms.describeKey(scope, missing)).toThrow(`Key 'arn:aws:kms:us-east-1:${ACCOUNT}:key/${missing}' does not exist`);
    expect(() => kms.describeKey(scope, 'testkmskey')).toThrow('Invalid keyId testkmskey');
    // Keys are regional.
    expect(code(() => kms.describeKey({ ...scope, region: 'eu-west-1' }, key.keyId))).toBe('NotFoundException');
    expect(kms.resolveKeyArn(ACCOUNT, 'eu-west-1', key.arn)).toBeUndefined();
    // Management operations take key ids and ARNs only.
    expect(code(() => kms.disableKey(scope, 'alias/app'))).toBe('NotFoundException');
  });

  it('another account may name the key by ARN for cryptography, not for management', () => {
    const key = kms.createKey(scope);
    const other: Scope = { accountId: OTHER, region: 'us-east-1' };
    expect(kms.encrypt(other, key.arn, Buffer.from('x')).keyArn).toBe(key.arn);
    expect(code(() => kms.encrypt(other, key.keyId, Buffer.from('x')))).toBe('NotFoundException');
    expect(code(() => kms.disableKey(other, key.arn))).toBe('NotFoundException');
  });

  it('lists keys in pages', () => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(kms.createKey(scope).keyId);
      clock.advance(1000);
    }
    kms.createKey({ accountId: OTHER, region: 'us-east-1' });
    const first = kms.listKeys(scope, { limit: 2 });
    expect(first.items.map((k) => k.keyId)).toEqual(made.slice(0, 2));
    expect(first.nextMarker).toBeDefined();
    const rest = kms.listKeys(scope, { limit: 10, marker: first.nextMarker });
    expect(rest.items.map((k) => k.keyId)).toEqual(made.slice(2));
    expect(rest.nextMarker).toBeUndefined();
    expect(code(() => kms.listKeys(scope, { marker: '!!' }))).toBe('InvalidMarkerException');
  });
});

describe('key states', () => {
  it('a disabled key cannot be used until enabled again', () => {
    const key = kms.createKey(scope);
    const { ciphertextBlob } = kms.encrypt(scope, key.keyId, Buffer.from('hello'));
    kms.disableKey(scope, key.keyId);
    expect(() => kms.encrypt(scope, key.keyId, Buffer.from('x'))).toThrow(`${key.arn} is disabled.`);
    expect(code(() => kms.decrypt(scope, ciphertextBlob))).toBe('DisabledException');
    expect(code(() => kms.generateDataKey(scope, key.keyId, { keySpec: 'AES_256' }))).toBe('DisabledException');
    kms.enableKey(scope, key.arn);
    expect(kms.decrypt(scope, ciphertextBlob).plaintext.toString()).toBe('hello');
  });

  it('schedules deletion 7..30 days out, cancels back to Disabled, and purges on the clock', () => {
    const key = kms.createKey(scope);
    kms.createAlias(scope, 'alias/doomed', key.keyId);
    expect(code(() => kms.scheduleKeyDeletion(scope, key.keyId, 6))).toBe('ValidationException');
    expect(code(() => kms.scheduleKeyDeletion(scope, key.keyId, 31))).toBe('ValidationException');
    expect(code(() => kms.cancelKeyDeletion(scope, key.keyId))).toBe('KMSInvalidStateException');

    const scheduled = kms.scheduleKeyDeletion(scope, key.keyId, 7);
    expect(scheduled).toMatchObject({ state: 'PendingDeletion', deletionDate: clock.now() + 7 * DAY });
    expect(() => kms.encrypt(scope, key.keyId, Buffer.from('x'))).toThrow(`${key.arn} is pending deletion.`);
    expect(code(() => kms.enableKey(scope, key.keyId))).toBe('KMSInvalidStateException');
    expect(code(() => kms.scheduleKeyDeletion(scope, key.keyId))).toBe('KMSInvalidStateException');
    expect(kms.describeKey(scope, 'alias/doomed').state).toBe('PendingDeletion');

    const cancelled = kms.cancelKeyDeletion(scope, key.keyId);
    expect(cancelled.state).toBe('Disabled');
    expect(cancelled.deletionDate).toBeUndefined();

    kms.scheduleKeyDeletion(scope, key.keyId); // 30 days by default
    clock.advance(30 * DAY - 1);
    expect(kms.purgeDue(clock.now())).toEqual([]);
    clock.advance(1);
    expect(kms.purgeDue(clock.now()).map((k) => k.arn)).toEqual([key.arn]);
    expect(code(() => kms.describeKey(scope, key.keyId))).toBe('NotFoundException');
    expect(kms.findAlias(scope, 'alias/doomed')).toBeUndefined();
  });
});

describe('aliases', () => {
  it('follows AWS naming rules and keeps names unique', () => {
    const key = kms.createKey(scope);
    expect(code(() => kms.createAlias(scope, 'noprefix', key.keyId))).toBe('ValidationException');
    expect(code(() => kms.createAlias(scope, 'alias/aws/s3', key.keyId))).toBe('NotAuthorizedException');
    expect(code(() => kms.createAlias(scope, 'alias/a:b', key.keyId))).toBe('InvalidAliasNameException');
    expect(code(() => kms.createAlias(scope, 'alias/x', 'alias/y'))).toBe('ValidationException');
    kms.createAlias(scope, 'alias/x', key.arn);
    expect(() => kms.createAlias(scope, 'alias/x', key.keyId)).toThrow(`An alias with the name arn:aws:kms:us-east-1:${ACCOUNT}:alias/x already exists`);
    // Same name, other Region: allowed.
    const euKey = kms.createKey({ ...scope, region: 'eu-west-1' });
    kms.createAlias({ ...scope, region: 'eu-west-1' }, 'alias/x', euKey.keyId);
  });

  it('lists, retargets and deletes', () => {
    const a = kms.createKey(scope);
    const b = kms.createKey(scope);
    kms.createAlias(scope, 'alias/b', b.keyId);
    kms.createAlias(scope, 'alias/a', a.keyId);
    expect(kms.listAliases(scope).items.map((x) => x.aliasName)).toEqual(['alias/a', 'alias/b']);
    expect(kms.listAliases(scope, { keyRef: b.keyId }).items).toMatchObject([
      { aliasName: 'alias/b', aliasArn: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/b`, targetKeyId: b.keyId },
    ]);
    const page = kms.listAliases(scope, { limit: 1 });
    expect(kms.listAliases(scope, { limit: 1, marker: page.nextMarker }).items.map((x) => x.aliasName)).toEqual(['alias/b']);
    kms.updateAlias(scope, 'alias/b', a.keyId);
    expect(kms.describeKey(scope, 'alias/b').keyId).toBe(a.keyId);
    kms.deleteAlias(scope, 'alias/b');
    expect(code(() => kms.describeKey(scope, 'alias/b'))).toBe('NotFoundException');
  });

  it('cannot point at a key pending deletion', () => {
    const key = kms.createKey(scope);
    kms.scheduleKeyDeletion(scope, key.keyId);
    expect(code(() => kms.createAlias(scope, 'alias/late', key.keyId))).toBe('KMSInvalidStateException');
  });
});

describe('cryptography', () => {
  it('round-trips with the encryption context as AAD; Decrypt needs no KeyId', () => {
    const key = kms.createKey(scope);
    const ctx = { Department: 'Engineering', Project: 'Alpha' };
    const { ciphertextBlob, keyArn } = kms.encrypt(scope, key.keyId, Buffer.from('secret'), ctx);
    expect(keyArn).toBe(key.arn);
    expect(ciphertextBlob.includes(Buffer.from('secret'))).toBe(false);
    expect(kms.decrypt(scope, ciphertextBlob, { Project: 'Alpha', Department: 'Engineering' }).plaintext.toString()).toBe('secret');
    expect(kms.ciphertextKey(ciphertextBlob)?.arn).toBe(key.arn);
    expect(code(() => kms.decrypt(scope, ciphertextBlob))).toBe('InvalidCiphertextException');
    expect(code(() => kms.decrypt(scope, ciphertextBlob, { Department: 'Sales', Project: 'Alpha' }))).toBe('InvalidCiphertextException');
    const tampered = Buffer.from(ciphertextBlob);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(code(() => kms.decrypt(scope, tampered, ctx))).toBe('InvalidCiphertextException');
    expect(code(() => kms.decrypt(scope, Buffer.from('not a blob at all, just some bytes here....')))).toBe('InvalidCiphertextException');
  });

  it('checks a given KeyId against the blob', () => {
    const a = kms.createKey(scope);
    const b = kms.createKey(scope);
    kms.createAlias(scope, 'alias/a', a.keyId);
    const { ciphertextBlob } = kms.encrypt(scope, 'alias/a', Buffer.from('x'));
    expect(kms.decrypt(scope, ciphertextBlob, undefined, 'alias/a').keyArn).toBe(a.arn);
    expect(code(() => kms.decrypt(scope, ciphertextBlob, undefined, b.keyId))).toBe('IncorrectKeyException');
  });

  it('canonicalizes contexts unambiguously', () => {
    expect(canonicalContext({ a: 'bc' }).equals(canonicalContext({ ab: 'c' }))).toBe(false);
    expect(canonicalContext({ x: '1', y: '2' }).equals(canonicalContext({ y: '2', x: '1' }))).toBe(true);
    expect(canonicalContext({}).equals(canonicalContext(undefined))).toBe(true);
  });

  it('generates data keys of the asked size that Decrypt gives back', () => {
    const key = kms.createKey(scope);
    const dk = kms.generateDataKey(scope, key.arn, { keySpec: 'AES_256', encryptionContext: { bucket: 'b' } });
    expect(dk.plaintext.length).toBe(32);
    expect(kms.decryptDataKey(scope, dk.ciphertextBlob, { bucket: 'b' }).plaintext.equals(dk.plaintext)).toBe(true);
    expect(kms.generateDataKey(scope, key.keyId, { keySpec: 'AES_128' }).plaintext.length).toBe(16);
    expect(kms.generateDataKey(scope, key.keyId, { numberOfBytes: 64 }).plaintext.length).toBe(64);
    expect(code(() => kms.generateDataKey(scope, key.keyId, {}))).toBe('ValidationException');
    expect(code(() => kms.generateDataKey(scope, key.keyId, { keySpec: 'AES_256', numberOfBytes: 32 }))).toBe('ValidationException');
  });

  it('never stores key material or data keys in the clear', () => {
    const key = kms.createKey(scope);
    const dk = kms.generateDataKey(scope, key.keyId, { keySpec: 'AES_256' });
    const rows = db.prepare<[], { sealed_material: Buffer }>('SELECT sealed_material FROM kms_keys').all();
    const dump = Buffer.concat([...rows.map((r) => r.sealed_material), Buffer.from(JSON.stringify(db.prepare('SELECT * FROM kms_keys').all()))]);
    expect(dump.includes(dk.plaintext)).toBe(false);
  });
});

describe('key policies', () => {
  it('validates new policies as resource policies', () => {
    const key = kms.createKey(scope);
    expect(code(() => kms.putKeyPolicy(scope, key.keyId, '{not json'))).toBe('MalformedPolicyDocumentException');
    const noPrincipal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] });
    expect(code(() => kms.putKeyPolicy(scope, key.keyId, noPrincipal))).toBe('MalformedPolicyDocumentException');
    expect(code(() => kms.createKey(scope, { policy: noPrincipal }))).toBe('MalformedPolicyDocumentException');
    expect(code(() => kms.getKeyPolicy(scope, key.keyId, 'other'))).toBe('NotFoundException');
  });

  it("refuses a policy that would lock the caller out, unless bypassed", () => {
    const key = kms.createKey(scope);
    const onlyBob = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` }, Action: 'kms:*', Resource: '*' }],
    });
    expect(code(() => kms.putKeyPolicy(scope, key.keyId, onlyBob, { caller: root }))).toBe('MalformedPolicyDocumentException');
    kms.putKeyPolicy(scope, key.keyId, onlyBob, { caller: root, bypassPolicyLockoutSafetyCheck: true });
    expect(kms.getKeyPolicy(scope, key.keyId)).toBe(onlyBob);
    // Bob may change it, but not to a policy that leaves him out.
    expect(code(() => kms.putKeyPolicy(scope, key.keyId, defaultKeyPolicy(ACCOUNT), { caller: user('bob') }))).toBe(
      'MalformedPolicyDocumentException',
    );
    expect(kms.putKeyPolicy(scope, key.keyId, onlyBob, { caller: user('bob') }).keyId).toBe(key.keyId);
  });

  it('the default policy lets the root in and delegates users to IAM policies', () => {
    const key = kms.createKey(scope);
    expect(kms.authorizeKeyUse(root, 'kms:Decrypt', key.arn, {}).decision).toBe('Allow');
    expect(kms.authorizeKeyUse(user('alice'), 'kms:Decrypt', key.arn, {})).toEqual({
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows',
    });
    expect(kms.authorizeKeyUse(user('alice', [allow('kms:Decrypt', key.arn)]), 'kms:Decrypt', key.arn, {}).decision).toBe('Allow');
    expect(kms.authorizeKeyUse(user('alice', [allow('kms:Decrypt', key.arn)]), 'kms:Encrypt', key.arn, {}).decision).toBe('ImplicitDeny');
  });

  it('a policy not naming the account gives IAM policies no say, and the root no pass', () => {
    const key = kms.createKey(scope);
    const bobOnly = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` }, Action: ['kms:Decrypt', 'kms:PutKeyPolicy'], Resource: '*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringNotEquals: { 'kms:EncryptionContext:bucket': 'ok' } },
        },
      ],
    });
    kms.putKeyPolicy(scope, key.keyId, bobOnly, { caller: user('bob') });
    expect(kms.authorizeKeyUse(user('bob'), 'kms:Decrypt', key.arn, { 'kms:EncryptionContext:bucket': 'ok' }).decision).toBe('Allow');
    expect(kms.authorizeKeyUse(user('bob'), 'kms:Decrypt', key.arn, { 'kms:EncryptionContext:bucket': 'no' }).decision).toBe('ExplicitDeny');
    const ok = { 'kms:EncryptionContext:bucket': 'ok' };
    expect(kms.authorizeKeyUse(user('alice', [allow('kms:*')]), 'kms:Decrypt', key.arn, ok)).toEqual({ decision: 'ImplicitDeny', reason: 'no resource-based policy allows' });
    expect(kms.authorizeKeyUse(root, 'kms:Decrypt', key.arn, ok).decision).toBe('ImplicitDeny');
  });

  it('another account needs both the key policy and its own IAM policy', () => {
    const key = kms.createKey(scope);
    const outsider = user('carol', [allow('kms:Decrypt')], OTHER);
    expect(kms.authorizeKeyUse(outsider, 'kms:Decrypt', key.arn, {}).decision).toBe('ImplicitDeny');
    const shared = JSON.parse(defaultKeyPolicy(ACCOUNT)) as { Statement: unknown[] };
    shared.Statement.push({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: 'kms:Decrypt', Resource: '*' });
    kms.putKeyPolicy(scope, key.keyId, JSON.stringify(shared), { caller: root });
    expect(kms.authorizeKeyUse(outsider, 'kms:Decrypt', key.arn, {}).decision).toBe('Allow');
    expect(kms.authorizeKeyUse(user('carol', [], OTHER), 'kms:Decrypt', key.arn, {}).decision).toBe('ImplicitDeny');
  });

  it('an unknown key allows no one', () => {
    const arn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0b2ad402-1111-46ac-2222-333333333333`;
    expect(kms.authorizeKeyUse(root, 'kms:Decrypt', arn, {}).decision).toBe('ImplicitDeny');
  });
});

describe('the store', () => {
  it('keeps keys and aliases across engine instances on the same database', () => {
    const key = kms.createKey(scope, { description: 'd', tags: [{ TagKey: 'k', TagValue: 'v' }] });
    kms.createAlias(scope, 'alias/kept', key.keyId);
    const { ciphertextBlob } = kms.encrypt(scope, key.keyId, Buffer.from('persisted'));
    const again = engine();
    expect(again.describeKey(scope, 'alias/kept')).toEqual(kms.describeKey(scope, key.keyId));
    expect(again.decrypt(scope, ciphertextBlob).plaintext.toString()).toBe('persisted');
  });
});
