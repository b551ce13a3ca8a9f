/**
 * The KMS engine: symmetric keys (AES-256-GCM, SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with
 * their states, aliases and key policies, and the cryptography on them (Encrypt,
 * Decrypt, GenerateDataKey). Other engines use it without HTTP: S3's SSE-KMS asks
 * {@link Kms.authorizeKeyUse} whether a caller may use a key, then
 * {@link Kms.generateDataKey} / {@link Kms.decryptDataKey}; CloudTrail validates a
 * trail's KmsKeyId with {@link Kms.resolveKeyArn}. Nothing here knows the wire.
 *
 * Key material is random, sealed under the data directory's master key in the store
 * (crypto.ts), and opened only for the moment an operation needs it.
 */
import { evaluate, parsePolicyDocument, type AuthzPrincipal, type AuthzResult, type PolicyDocument } from '../auth/policy.js';
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import type { RandomSource } from '../platform/ids.js';
import {
  blobKeyId,
  decryptBlob,
  encryptBlob,
  newKeyMaterial,
  openKeyMaterial,
  sealKeyMaterial,
  type EncryptionContext,
} from './crypto.js';
import { kmsErrors } from './errors.js';
import type { AliasRecord, KeyRecord, KeyState, KmsStore } from './store.js';

export type { EncryptionContext } from './crypto.js';
export type { KeyState } from './store.js';

/** Where a call happens: the caller's account and the Region it called. */
export interface Scope {
  accountId: string;
  region: string;
}

export interface KmsDeps {
  store: KmsStore;
  clock: Clock;
  random: RandomSource;
  /** The data directory's master key (crypto.ts `loadOrCreateMasterKey`). */
  masterKey: Buffer;
}

/** Who wants to use a key: what key-policy evaluation needs to know about the caller. */
export interface KeyUser {
  principal: AuthzPrincipal;
  /** The caller's identity policies (a root user's are ignored). */
  identityPolicies: PolicyDocument[];
  permissionsBoundary?: PolicyDocument;
}

/** A key as operations describe it (no policy, no material). */
export interface KmsKey {
  keyId: string;
  accountId: string;
  region: string;
  arn: string;
  description: string;
  state: KeyState;
  createdAt: number;
  deletionDate?: number;
}

/** An alias as ListAliases describes it. */
export interface KmsAlias {
  aliasName: string;
  aliasArn: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

/** CreateKey's parameters; anything but a symmetric AWS_KMS key is refused. */
export interface CreateKeyInput {
  description?: string;
  policy?: string;
  keyUsage?: string;
  keySpec?: string;
  customerMasterKeySpec?: string;
  origin?: string;
  multiRegion?: boolean;
  customKeyStoreId?: string;
  tags?: { TagKey: string; TagValue: string }[];
  bypassPolicyLockoutSafetyCheck?: boolean;
}

/** GenerateDataKey's parameters: exactly one of `keySpec` and `numberOfBytes`. */
export interface DataKeyRequest {
  keySpec?: string;
  numberOfBytes?: number;
  encryptionContext?: EncryptionContext;
}

/** A data key: its plaintext (never stored) and the same bytes encrypted under the KMS key. */
export interface DataKey {
  plaintext: Buffer;
  ciphertextBlob: Buffer;
  keyArn: string;
}

/** Which forms of key reference an operation accepts. */
export interface KeyRefRules {
  /** `alias/name` and alias ARNs (cryptographic operations and DescribeKey). */
  aliases: boolean;
  /** Key or alias ARNs of another account (cryptographic operations and DescribeKey). */
  crossAccount: boolean;
}

/** Key id, key ARN, alias name or alias ARN, in any account (the cryptographic operations' rules). */
export const ANY_KEY_REF: KeyRefRules = { aliases: true, crossAccount: true };
/** Key id or key ARN of the caller's own account (key management operations). */
export const OWN_KEY_REF: KeyRefRules = { aliases: false, crossAccount: false };

/** A page of a list. */
export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const DEFAULT_PAGE = 100;
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KMS_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;
const ALIAS_CHARS = /^alias\/[a-zA-Z0-9/_-]+$/;
const ALIAS_DOCS = 'Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

/** The ARN of a key. */
export function keyArn(accountId: string, region: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

/** The ARN of an alias (`aliasName` includes `alias/`). */
export function aliasArn(accountId: string, region: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

/**
 * The key policy AWS gives a key created without one: the account's root user may do
 * everything, which delegates the key's use to the account's IAM policies.
 */
export function defaultKeyPolicy(accountId: string): string {
  return [
    '{',
    '  "Version" : "2012-10-17",',
    '  "Id" : "key-default-1",',
    '  "Statement" : [ {',
    '    "Sid" : "Enable IAM User Permissions",',
    '    "Effect" : "Allow",',
    '    "Principal" : {',
    `      "AWS" : "arn:aws:iam::${accountId}:root"`,
    '    },',
    '    "Action" : "kms:*",',
    '    "Resource" : "*"',
    '  } ]',
    '}',
  ].join('\n');
}

type ParsedRef =
  | { kind: 'keyId'; keyId: string }
  | { kind: 'keyArn'; region: string; accountId: string; keyId: string; arn: string }
  | { kind: 'aliasName'; aliasName: string }
  | { kind: 'aliasArn'; region: string; accountId: string; aliasName: string; arn: string }
  | { kind: 'invalid' };

function parseRef(ref: string): ParsedRef {
  if (KEY_ID.test(ref)) return { kind: 'keyId', keyId: ref.toLowerCase() };
  if (ref.startsWith('alias/')) return { kind: 'aliasName', aliasName: ref };
  const m = KMS_ARN.exec(ref);
  if (m) {
    const [, , region = '', accountId = '', type, rest = ''] = m;
    if (type === 'key') {
      return KEY_ID.test(rest) ? { kind: 'keyArn', region, accountId, keyId: rest.toLowerCase(), arn: ref } : { kind: 'invalid' };
    }
    return { kind: 'aliasArn', region, accountId, aliasName: `alias/${rest}`, arn: ref };
  }
  return { kind: 'invalid' };
}

const view = (k: KeyRecord): KmsKey => ({
  keyId: k.keyId,
  accountId: k.accountId,
  region: k.region,
  arn: k.arn,
  description: k.description,
  state: k.state,
  createdAt: k.createdAt,
  ...(k.deletionDate !== undefined ? { deletionDate: k.deletionDate } : {}),
});

const aliasView = (a: AliasRecord): KmsAlias => ({
  aliasName: a.aliasName,
  aliasArn: aliasArn(a.accountId, a.region, a.aliasName),
  targetKeyId: a.targetKeyId,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

/**
 * The KMS engine.
 *
 * @example
 * const kms = new Kms({ store: new SqliteKmsStore(db), clock, random, masterKey });
 * const key = kms.createKey(scope, { description: 'logs' });
 * const { ciphertextBlob } = kms.encrypt(scope, key.keyId, Buffer.from('secret'));
 */
export class Kms {
  private readonly store: KmsStore;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly masterKey: Buffer;
  /** Parsed key policies by key id; compiled matchers are cached per parsed object. */
  private readonly policies = new Map<string, { text: string; doc: PolicyDocument }>();

  constructor(deps: KmsDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.random = deps.random;
    this.masterKey = deps.masterKey;
  }

  // ---- keys ----

  /** Creates a symmetric encryption key, Enabled, with the given or the default key policy. */
  createKey(scope: Scope, input: CreateKeyInput = {}, caller?: KeyUser): KmsKey {
    const spec = input.keySpec ?? input.customerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT') throw kmsErrors.unsupported(`KeySpec ${spec} is not supported; only SYMMETRIC_DEFAULT keys are.`);
    if (input.keyUsage !== undefined && input.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw kmsErrors.validation(`KeyUsage ${input.keyUsage} is not compatible with KeySpec SYMMETRIC_DEFAULT`);
    }
    if (input.origin !== undefined && input.origin !== 'AWS_KMS') throw kmsErrors.unsupported(`Origin ${input.origin} is not supported.`);
    if (input.multiRegion === true) throw kmsErrors.unsupported('Multi-Region keys are not supported.');
    if (input.customKeyStoreId !== undefined) throw kmsErrors.unsupported('Custom key stores are not supported.');

    const keyId = this.random.uuid();
    const arn = keyArn(scope.accountId, scope.region, keyId);
    const policy = input.policy ?? defaultKeyPolicy(scope.accountId);
    if (input.policy !== undefined) {
      this.checkNewPolicy(arn, scope.accountId, input.policy, caller, input.bypassPolicyLockoutSafetyCheck === true);
    }
    const material = newKeyMaterial(this.random);
    const record: KeyRecord = {
      keyId,
      accountId: scope.accountId,
      region: scope.region,
      arn,
      description: input.description ?? '',
      state: 'Enabled',
      createdAt: this.clock.now(),
      policy,
      sealedMaterial: sealKeyMaterial(this.masterKey, keyId, material, this.random),
      tags: input.tags ?? [],
    };
    material.fill(0);
    this.store.insertKey(record);
    return view(record);
  }

  /** DescribeKey: any form of reference, including another account's key or alias ARN. */
  describeKey(scope: Scope, keyRef: string): KmsKey {
    return view(this.resolve(scope, keyRef, ANY_KEY_REF));
  }

  /** The key a reference names under `rules`; NotFoundException when it names none. */
  resolveKey(scope: Scope, keyRef: string, rules: KeyRefRules): KmsKey {
    return view(this.resolve(scope, keyRef, rules));
  }

  /** The key an alias may point at: a key id or key ARN of the caller's account, not pending deletion. */
  resolveAliasTarget(scope: Scope, targetKeyRef: string): KmsKey {
    return view(this.aliasTarget(scope, targetKeyRef));
  }

  /** The key a reference names, or undefined (never throws): for records and authorization. */
  findKey(scope: Scope, keyRef: string, rules: KeyRefRules = ANY_KEY_REF): KmsKey | undefined {
    try {
      return view(this.resolve(scope, keyRef, rules));
    } catch (e) {
      if (isAwsError(e)) return undefined;
      throw e;
    }
  }

  /**
   * The key ARN a reference (key id, key ARN, alias name, alias ARN) resolves to in
   * `accountId`/`region`, or undefined when it names no key; for other engines
   * (CloudTrail's KmsKeyId, S3's SSE-KMS key id).
   */
  resolveKeyArn(accountId: string, region: string, keyRef: string): string | undefined {
    return this.findKey({ accountId, region }, keyRef, ANY_KEY_REF)?.arn;
  }

  /** The key a ciphertext blob names, or undefined when the blob is not one this engine made. */
  ciphertextKey(ciphertextBlob: Buffer): KmsKey | undefined {
    const keyId = blobKeyId(ciphertextBlob);
    const key = keyId === undefined ? undefined : this.store.getKey(keyId);
    return key ? view(key) : undefined;
  }

  /** One page of the account's keys in the Region, oldest first. */
  listKeys(scope: Scope, opts: { limit?: number; marker?: string } = {}): Page<KmsKey> {
    const keys = this.store.listKeys(scope.accountId, scope.region);
    return paginate(keys, opts, (k) => `${String(k.createdAt).padStart(16, '0')}:${k.keyId}`, view);
  }

  enableKey(scope: Scope, keyRef: string): KmsKey {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    this.store.updateKeyState(key.keyId, 'Enabled', undefined);
    return view({ ...key, state: 'Enabled' });
  }

  disableKey(scope: Scope, keyRef: string): KmsKey {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    this.store.updateKeyState(key.keyId, 'Disabled', undefined);
    return view({ ...key, state: 'Disabled' });
  }

  updateKeyDescription(scope: Scope, keyRef: string, description: string): KmsKey {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    this.store.updateKeyDescription(key.keyId, description);
    return view({ ...key, description });
  }

  /**
   * Schedules deletion after a waiting period of 7 to 30 days (30 by default); the key
   * stays PendingDeletion, unusable, until {@link purgeDue} deletes it.
   */
  scheduleKeyDeletion(scope: Scope, keyRef: string, pendingWindowInDays = 30): KmsKey & { deletionDate: number; pendingWindowInDays: number } {
    if (pendingWindowInDays < 7 || pendingWindowInDays > 30) {
      const bound = pendingWindowInDays < 7 ? 'greater than or equal to 7' : 'less than or equal to 30';
      throw kmsErrors.validation(
        `1 validation error detected: Value '${pendingWindowInDays}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value ${bound}`,
      );
    }
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    const deletionDate = this.clock.now() + pendingWindowInDays * DAY_MS;
    this.store.updateKeyState(key.keyId, 'PendingDeletion', deletionDate);
    return { ...view({ ...key, state: 'PendingDeletion' }), deletionDate, pendingWindowInDays };
  }

  /** Cancels a scheduled deletion; the key comes back Disabled, as in AWS. */
  cancelKeyDeletion(scope: Scope, keyRef: string): KmsKey {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (key.state !== 'PendingDeletion') throw kmsErrors.notPendingDeletion(key.arn);
    this.store.updateKeyState(key.keyId, 'Disabled', undefined);
    return view({ ...key, state: 'Disabled', deletionDate: undefined });
  }

  /**
   * Deletes every key whose waiting period ended at or before `now`, with its aliases;
   * returns the deleted keys so the caller can record AWS's `DeleteKey` service event.
   */
  purgeDue(now: number): KmsKey[] {
    const due = this.store.listKeysDueForDeletion(now);
    for (const key of due) {
      this.store.deleteKey(key.keyId);
      this.policies.delete(key.keyId);
    }
    return due.map(view);
  }

  // ---- aliases ----

  /** Creates `aliasName` for a key of the caller's account (key id or key ARN). */
  createAlias(scope: Scope, aliasName: string, targetKeyRef: string): KmsAlias {
    checkAliasName(aliasName);
    const key = this.aliasTarget(scope, targetKeyRef);
    return this.store.transaction(() => {
      if (this.store.getAlias(scope.accountId, scope.region, aliasName)) {
        throw kmsErrors.alreadyExists(aliasArn(scope.accountId, scope.region, aliasName));
      }
      const now = this.clock.now();
      const record: AliasRecord = { ...scope, aliasName, targetKeyId: key.keyId, createdAt: now, updatedAt: now };
      this.store.insertAlias(record);
      return aliasView(record);
    });
  }

  /** Points an existing alias at another key. */
  updateAlias(scope: Scope, aliasName: string, targetKeyRef: string): KmsAlias {
    checkAliasName(aliasName);
    const alias = this.store.getAlias(scope.accountId, scope.region, aliasName);
    if (!alias) throw kmsErrors.aliasNotFound(aliasArn(scope.accountId, scope.region, aliasName));
    const key = this.aliasTarget(scope, targetKeyRef);
    const now = this.clock.now();
    this.store.retargetAlias(scope.accountId, scope.region, aliasName, key.keyId, now);
    return aliasView({ ...alias, targetKeyId: key.keyId, updatedAt: now });
  }

  /** Deletes an alias; returns what it pointed at. */
  deleteAlias(scope: Scope, aliasName: string): KmsAlias {
    if (aliasName.startsWith('alias/aws/')) throw kmsErrors.reservedAlias();
    const alias = this.store.getAlias(scope.accountId, scope.region, aliasName);
    if (!alias) throw kmsErrors.aliasNotFound(aliasArn(scope.accountId, scope.region, aliasName));
    this.store.deleteAlias(scope.accountId, scope.region, aliasName);
    return aliasView(alias);
  }

  /** The alias record, or undefined. */
  findAlias(scope: Scope, aliasName: string): KmsAlias | undefined {
    const alias = this.store.getAlias(scope.accountId, scope.region, aliasName);
    return alias ? aliasView(alias) : undefined;
  }

  /** One page of the account's aliases in the Region, by name; only one key's when `keyRef` is given. */
  listAliases(scope: Scope, opts: { keyRef?: string; limit?: number; marker?: string } = {}): Page<KmsAlias> {
    let aliases = this.store.listAliases(scope.accountId, scope.region);
    if (opts.keyRef !== undefined) {
      const key = this.resolve(scope, opts.keyRef, OWN_KEY_REF);
      aliases = aliases.filter((a) => a.targetKeyId === key.keyId);
    }
    return paginate(aliases, opts, (a) => a.aliasName, aliasView);
  }

  // ---- key policies ----

  /** The key policy's text; `default` is the only policy name a key has. */
  getKeyPolicy(scope: Scope, keyRef: string, policyName = 'default'): string {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if (policyName !== 'default') throw kmsErrors.policyNotFound();
    return key.policy;
  }

  /**
   * Replaces the key policy after validating it as a resource policy and, unless
   * bypassed, checking that `caller` could still change it afterwards (AWS's
   * policy lockout safety check).
   */
  putKeyPolicy(
    scope: Scope,
    keyRef: string,
    policy: string,
    opts: { policyName?: string; bypassPolicyLockoutSafetyCheck?: boolean; caller?: KeyUser } = {},
  ): KmsKey {
    const key = this.resolve(scope, keyRef, OWN_KEY_REF);
    if ((opts.policyName ?? 'default') !== 'default') throw kmsErrors.policyNotFound();
    this.checkNewPolicy(key.arn, key.accountId, policy, opts.caller, opts.bypassPolicyLockoutSafetyCheck === true);
    this.store.updateKeyPolicy(key.keyId, policy);
    return view(key);
  }

  /**
   * Whether `user` may perform `action` (`kms:Decrypt`...) on the key, by AWS KMS's
   * rules: the key policy must allow, either naming the caller or naming its account
   * (which delegates to the caller's IAM policies); an explicit deny anywhere wins.
   * Denies (`no resource-based policy allows`) when the key does not exist.
   */
  authorizeKeyUse(user: KeyUser, action: string, keyArnToUse: string, context: Record<string, string | string[]>): AuthzResult {
    const parsed = parseRef(keyArnToUse);
    const key = parsed.kind === 'keyArn' ? this.store.getKey(parsed.keyId) : undefined;
    const policy = key && key.arn === keyArnToUse ? this.policyOf(key) : undefined;
    return evaluate({
      principal: user.principal,
      action,
      resource: keyArnToUse,
      resourceAccountId: key?.accountId ?? (parsed.kind === 'keyArn' ? parsed.accountId : user.principal.accountId),
      context,
      identityPolicies: user.identityPolicies,
      ...(user.permissionsBoundary ? { permissionsBoundary: user.permissionsBoundary } : {}),
      ...(policy ? { resourcePolicy: policy } : {}),
      resourcePolicyRequired: true,
    });
  }

  // ---- cryptography ----

  /** Encrypts up to 4 KiB under a key (any form of reference). */
  encrypt(scope: Scope, keyRef: string, plaintext: Buffer, encryptionContext?: EncryptionContext): { ciphertextBlob: Buffer; keyArn: string } {
    const key = this.usable(this.resolve(scope, keyRef, ANY_KEY_REF));
    return { ciphertextBlob: this.seal(key, plaintext, encryptionContext), keyArn: key.arn };
  }

  /**
   * Decrypts a blob from {@link encrypt} or {@link generateDataKey}: the blob names its
   * key; `keyRef`, when given, must name the same key. The encryption context must be
   * the one used to encrypt.
   */
  decrypt(scope: Scope, ciphertextBlob: Buffer, encryptionContext?: EncryptionContext, keyRef?: string): { plaintext: Buffer; keyArn: string } {
    const keyId = blobKeyId(ciphertextBlob);
    const key = keyId === undefined ? undefined : this.store.getKey(keyId);
    // A blob naming no key that exists in this Region is indistinguishable from garbage.
    if (!key || key.region !== scope.region) throw kmsErrors.invalidCiphertext();
    if (keyRef !== undefined && this.resolve(scope, keyRef, ANY_KEY_REF).keyId !== key.keyId) throw kmsErrors.incorrectKey();
    this.usable(key);
    const material = this.material(key);
    try {
      const plaintext = decryptBlob(material, ciphertextBlob, encryptionContext);
      if (!plaintext) throw kmsErrors.invalidCiphertext();
      return { plaintext, keyArn: key.arn };
    } finally {
      material.fill(0);
    }
  }

  /**
   * A new data key (AES_256: 32 bytes, AES_128: 16, or `numberOfBytes`), returned in the
   * clear and encrypted under the KMS key. Principal-independent: callers acting for a
   * principal (S3) check {@link authorizeKeyUse} first.
   */
  generateDataKey(scope: Scope, keyRef: string, req: DataKeyRequest = {}): DataKey {
    const length = dataKeyLength(req);
    const key = this.usable(this.resolve(scope, keyRef, ANY_KEY_REF));
    const plaintext = this.random.bytes(length);
    return { plaintext, ciphertextBlob: this.seal(key, plaintext, req.encryptionContext), keyArn: key.arn };
  }

  /** Decrypts a data key's ciphertext blob (the same as {@link decrypt}, named for callers like S3). */
  decryptDataKey(scope: Scope, ciphertextBlob: Buffer, encryptionContext?: EncryptionContext): { plaintext: Buffer; keyArn: string } {
    return this.decrypt(scope, ciphertextBlob, encryptionContext);
  }

  // ---- internals ----

  private resolve(scope: Scope, keyRef: string, rules: KeyRefRules): KeyRecord {
    const ref = parseRef(keyRef);
    switch (ref.kind) {
      case 'keyId':
        return this.keyIn(scope.accountId, scope.region, ref.keyId);
      case 'keyArn': {
        if (ref.region !== scope.region || (!rules.crossAccount && ref.accountId !== scope.accountId)) {
          throw kmsErrors.keyNotFound(ref.arn);
        }
        return this.keyIn(ref.accountId, ref.region, ref.keyId);
      }
      case 'aliasName':
        if (!rules.aliases) throw kmsErrors.invalidKeyId(keyRef);
        return this.aliasKey(scope.accountId, scope.region, ref.aliasName);
      case 'aliasArn':
        if (!rules.aliases) throw kmsErrors.invalidKeyId(keyRef);
        if (ref.region !== scope.region || (!rules.crossAccount && ref.accountId !== scope.accountId)) {
          throw kmsErrors.aliasNotFound(ref.arn);
        }
        return this.aliasKey(ref.accountId, ref.region, ref.aliasName);
      case 'invalid':
        throw kmsErrors.invalidKeyId(keyRef);
    }
  }

  private keyIn(accountId: string, region: string, keyId: string): KeyRecord {
    const key = this.store.getKey(keyId);
    if (!key || key.accountId !== accountId || key.region !== region) throw kmsErrors.keyNotFound(keyArn(accountId, region, keyId));
    return key;
  }

  private aliasKey(accountId: string, region: string, aliasName: string): KeyRecord {
    const alias = this.store.getAlias(accountId, region, aliasName);
    if (!alias) throw kmsErrors.aliasNotFound(aliasArn(accountId, region, aliasName));
    return this.keyIn(accountId, region, alias.targetKeyId);
  }

  private aliasTarget(scope: Scope, targetKeyRef: string): KeyRecord {
    const ref = parseRef(targetKeyRef);
    if (ref.kind === 'aliasName' || ref.kind === 'aliasArn') throw kmsErrors.validation('Aliases must refer to keys. Not aliases');
    const key = this.resolve(scope, targetKeyRef, OWN_KEY_REF);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    return key;
  }

  private usable(key: KeyRecord): KeyRecord {
    if (key.state === 'Disabled') throw kmsErrors.disabled(key.arn);
    if (key.state === 'PendingDeletion') throw kmsErrors.pendingDeletion(key.arn);
    return key;
  }

  private material(key: KeyRecord): Buffer {
    return openKeyMaterial(this.masterKey, key.keyId, key.sealedMaterial);
  }

  private seal(key: KeyRecord, plaintext: Buffer, context: EncryptionContext | undefined): Buffer {
    const material = this.material(key);
    try {
      return encryptBlob(key.keyId, material, plaintext, context, this.random);
    } finally {
      material.fill(0);
    }
  }

  private policyOf(key: KeyRecord): PolicyDocument | undefined {
    const cached = this.policies.get(key.keyId);
    if (cached && cached.text === key.policy) return cached.doc;
    try {
      const doc = parsePolicyDocument(key.policy, 'resource');
      this.policies.set(key.keyId, { text: key.policy, doc });
      return doc;
    } catch {
      // Only validated policies are stored; an unreadable one grants nothing.
      return undefined;
    }
  }

  private checkNewPolicy(arn: string, accountId: string, text: string, caller: KeyUser | undefined, bypass: boolean): void {
    let doc: PolicyDocument;
    try {
      doc = parsePolicyDocument(text, 'resource');
    } catch (e) {
      if (isAwsError(e) && e.code === 'MalformedPolicyDocument') throw kmsErrors.malformedPolicy(e.message);
      throw e;
    }
    if (!caller || bypass) return;
    const result = evaluate({
      principal: caller.principal,
      action: 'kms:PutKeyPolicy',
      resource: arn,
      resourceAccountId: accountId,
      context: {},
      identityPolicies: caller.identityPolicies,
      ...(caller.permissionsBoundary ? { permissionsBoundary: caller.permissionsBoundary } : {}),
      resourcePolicy: doc,
      resourcePolicyRequired: true,
    });
    if (result.decision !== 'Allow') throw kmsErrors.lockout();
  }
}

function checkAliasName(aliasName: string): void {
  if (!aliasName.startsWith('alias/')) throw kmsErrors.validation(`Alias must start with the prefix "alias/". ${ALIAS_DOCS}`);
  if (aliasName.startsWith('alias/aws/')) throw kmsErrors.reservedAlias();
  if (!ALIAS_CHARS.test(aliasName)) {
    throw kmsErrors.invalidAliasName(
      `Alias ${aliasName} must be alias/ followed by alphanumeric characters, forward slashes (/), underscores (_) and dashes (-). ${ALIAS_DOCS}`,
    );
  }
}

function dataKeyLength(req: DataKeyRequest): number {
  if ((req.keySpec === undefined) === (req.numberOfBytes === undefined)) {
    throw kmsErrors.validation('Please specify either number of bytes or key spec.');
  }
  if (req.numberOfBytes !== undefined) {
    if (!Number.isInteger(req.numberOfBytes) || req.numberOfBytes < 1 || req.numberOfBytes > 1024) {
      throw kmsErrors.validation(
        `1 validation error detected: Value '${req.numberOfBytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`,
      );
    }
    return req.numberOfBytes;
  }
  if (req.keySpec === 'AES_256') return 32;
  if (req.keySpec === 'AES_128') return 16;
  throw kmsErrors.validation(
    `1 validation error detected: Value '${String(req.keySpec)}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`,
  );
}

/**
 * Pages a list with KMS's `Limit`/`Marker`. `keyOf` gives each item a sort key in the
 * list's order; the marker carries the last returned item's key (not an offset), so the
 * next page starts after it even if that item was deleted in between.
 */
function paginate<R, V>(items: readonly R[], opts: { limit?: number; marker?: string }, keyOf: (item: R) => string, toView: (item: R) => V): Page<V> {
  const limit = opts.limit ?? DEFAULT_PAGE;
  let start = 0;
  if (opts.marker !== undefined) {
    const after = Buffer.from(opts.marker, 'base64url').toString('utf8');
    if (after.length === 0 || Buffer.from(after, 'utf8').toString('base64url') !== opts.marker) throw kmsErrors.invalidMarker();
    const at = items.findIndex((item) => keyOf(item) > after);
    start = at >= 0 ? at : items.length;
  }
  const page = items.slice(start, start + limit);
  const last = page[page.length - 1];
  const truncated = start + limit < items.length && last !== undefined;
  return truncated ? { items: page.map(toView), nextMarker: Buffer.from(keyOf(last), 'utf8').toString('base64url') } : { items: page.map(toView) };
}
