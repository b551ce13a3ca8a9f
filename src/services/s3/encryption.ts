/**
 * S3 server-side encryption: the bucket default (Put/Get/DeleteBucketEncryption; SSE-S3
 * for every bucket unless set otherwise, as S3 since January 2023), the encryption a
 * write asks for (`x-amz-server-side-encryption`, `-aws-kms-key-id`, `-context`,
 * `-bucket-key-enabled`), the SSE response headers, and KMS authorization for SSE-KMS:
 * writing needs `kms:GenerateDataKey` and reading `kms:Decrypt` on the key, by its key
 * policy, with `kms:ViaService` = `s3.<region>.amazonaws.com`.
 *
 * The bytes are sealed by the store's at-rest transform (objectstore/access/encryption.ts);
 * {@link kmsEnvelope} connects it to the KMS engine and words KMS failures as S3 does
 * (`KMS.DisabledException`...).
 */
import type { Kms } from '../../kms/kms.js';
import {
  encryptionAttributes,
  encryptionOf,
  type KmsEnvelope,
  type ObjectEncryption,
  type SseAlgorithm,
} from '../../objectstore/access/encryption.js';
import { s3Errors } from '../../objectstore/errors.js';
import type { BucketInfo } from '../../objectstore/store.js';
import { AwsError, isAwsError } from '../../platform/errors.js';
import { conditionContext, keyUser } from '../kms/authz.js';
import type { CallContext, OperationSpec } from '../service.js';
import { bucketArn, bucketResources, objectArn, optRecord, optStr, s3Spec, str, type Input, type Output, type S3Deps } from './common.js';

/** The bucket configuration document holding the default encryption. */
export const ENCRYPTION_CONFIG = 'encryption';

/** What SSE-KMS needs: the KMS engine and the callers' identity policies (both in {@link S3Deps}). */
export type EncryptionDeps = S3Deps;

interface DefaultRule {
  SSEAlgorithm: SseAlgorithm;
  KMSMasterKeyID?: string;
  BucketKeyEnabled: boolean;
}

const SSE_S3_DEFAULT: DefaultRule = { SSEAlgorithm: 'AES256', BucketKeyEnabled: false };
const ALGORITHMS: readonly string[] = ['AES256', 'aws:kms', 'aws:kms:dsse'];

const sseHeaderError = (value: string): AwsError =>
  s3Errors.invalidArgument('The encryption method specified is not supported', 'x-amz-server-side-encryption', value);

const kmsHeaderWithoutKms = (): AwsError =>
  s3Errors.invalidArgument(
    'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id',
    '',
  );

/** The bucket's default encryption rule. */
export function bucketDefault(deps: S3Deps, bucket: string): DefaultRule {
  const text = deps.store.bucketConfig(bucket, ENCRYPTION_CONFIG);
  return text === undefined ? SSE_S3_DEFAULT : (JSON.parse(text) as DefaultRule);
}

/** S3's name for the AWS service calling KMS on a caller's behalf. */
function viaService(ctx: CallContext): string {
  return `s3.${ctx.region}.amazonaws.com`;
}

/** Throws S3's AccessDenied unless the key policy (and IAM, where it delegates) lets the caller use the key. */
function authorizeKey(deps: EncryptionDeps, ctx: CallContext, action: string, keyArn: string, context: Record<string, string>): void {
  const { kms, policies } = deps;
  if (!kms || !policies) return;
  // Services act under their own grants (a trail's delivery role); only callers with identities are checked.
  if (ctx.principal.type === 'AWSService') return;
  const result = kms.authorizeKeyUse(keyUser(ctx, policies), action, keyArn, conditionContext(ctx, { encryptionContext: context, viaService: viaService(ctx) }));
  // S3 words a key policy's refusal as its own plain AccessDenied.
  if (result.decision !== 'Allow') throw new AwsError({ code: 'AccessDenied', message: 'Access Denied', status: 403 });
}

/**
 * The encryption a write asks for, or the bucket's default, resolved and authorized: the
 * object attributes to store it with and the response members that report it.
 */
export function writeEncryption(deps: EncryptionDeps, input: Input, ctx: CallContext, bucket: BucketInfo, key: string): { attributes: Record<string, string>; output: Output } {
  const requested = optStr(input, 'ServerSideEncryption');
  const keyRef = optStr(input, 'SSEKMSKeyId');
  const contextText = optStr(input, 'SSEKMSEncryptionContext');
  if (requested !== undefined && !ALGORITHMS.includes(requested)) throw sseHeaderError(requested);
  if ((keyRef !== undefined || contextText !== undefined) && requested !== 'aws:kms' && requested !== 'aws:kms:dsse') throw kmsHeaderWithoutKms();
  const rule = bucketDefault(deps, bucket.name);
  const algorithm = (requested ?? rule.SSEAlgorithm) as SseAlgorithm;
  if (algorithm === 'AES256') {
    const e: ObjectEncryption = { algorithm };
    return { attributes: encryptionAttributes(e), output: encryptionOutput(e) };
  }

  const { kms } = deps;
  // Key ids and aliases resolve in the caller's account for a named key, the bucket owner's for the default.
  const ref = keyRef ?? (requested === undefined || rule.SSEAlgorithm !== 'AES256' ? rule.KMSMasterKeyID : undefined);
  if (ref === undefined) {
    throw s3Errors.invalidArgument(
      'Cairn has no AWS managed key (aws/s3): name a KMS key with x-amz-server-side-encryption-aws-kms-key-id or in the bucket default encryption',
      'x-amz-server-side-encryption-aws-kms-key-id',
      '',
    );
  }
  if (!kms) throw s3Errors.invalidArgument('SSE-KMS needs KMS, which this server runs without', 'x-amz-server-side-encryption', algorithm);
  const account = keyRef !== undefined ? ctx.accountId : bucket.owner;
  const keyArn = kms.resolveKeyArn(account, ctx.region, ref);
  if (keyArn === undefined) throw new AwsError({ code: 'KMS.NotFoundException', message: `Invalid keyId ${ref}`, status: 400 });
  const bucketKeyEnabled = input.BucketKeyEnabled === true || (input.BucketKeyEnabled === undefined && rule.BucketKeyEnabled);
  let userContext: Record<string, string> = {};
  if (contextText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(contextText, 'base64').toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) throw new Error('not a map');
      userContext = parsed as Record<string, string>;
    } catch {
      throw s3Errors.invalidArgument('The header x-amz-server-side-encryption-context contains invalid JSON', 'x-amz-server-side-encryption-context', contextText);
    }
  }
  // S3 binds the data key to the object (or, with a bucket key, the bucket) by ARN.
  const context = { ...userContext, 'aws:s3:arn': bucketKeyEnabled ? bucketArn(bucket.name) : objectArn(bucket.name, key) };
  authorizeKey(deps, ctx, 'kms:GenerateDataKey', keyArn, context);
  const e: ObjectEncryption = { algorithm, kmsKeyId: keyArn, context, ...(bucketKeyEnabled ? { bucketKeyEnabled } : {}) };
  return {
    attributes: encryptionAttributes(e),
    output: { ...encryptionOutput(e), ...(contextText !== undefined ? { SSEKMSEncryptionContext: Buffer.from(JSON.stringify(context)).toString('base64') } : {}) },
  };
}

/** The SSE members of a response about an object (ServerSideEncryption, SSEKMSKeyId, BucketKeyEnabled). */
export function encryptionOutput(e: ObjectEncryption): Output {
  return {
    ServerSideEncryption: e.algorithm,
    ...(e.kmsKeyId !== undefined ? { SSEKMSKeyId: e.kmsKeyId } : {}),
    ...(e.bucketKeyEnabled ? { BucketKeyEnabled: true } : {}),
  };
}

/** The SSE members for a stored object, from its attributes. */
export function storedEncryptionOutput(attributes: Readonly<Record<string, string>>): Output {
  return encryptionOutput(encryptionOf(attributes));
}

/** Before an SSE-KMS object's bytes are read for a caller: `kms:Decrypt` on its key. */
export function authorizeRead(deps: EncryptionDeps, ctx: CallContext, attributes: Readonly<Record<string, string>>): void {
  const e = encryptionOf(attributes);
  if (e.kmsKeyId !== undefined) authorizeKey(deps, ctx, 'kms:Decrypt', e.kmsKeyId, e.context ?? {});
}

/** KMS's error as S3 passes it on: the code prefixed `KMS.`, status 400 (`KMS.DisabledException`). */
function asS3Error(e: unknown): unknown {
  if (!isAwsError(e)) return e;
  return new AwsError({ code: `KMS.${e.code}`, message: e.message, status: 400 });
}

/** The region and account a key ARN names, where KMS must be asked. */
function keyScope(keyArn: string): { accountId: string; region: string } {
  const parts = keyArn.split(':');
  return { region: parts[3] ?? '', accountId: parts[4] ?? '' };
}

/**
 * The KMS engine as the store's SSE-KMS transform uses it.
 *
 * @example
 * objects.use({ atRest: sseTransform({ masterKey, random, kms: kmsEnvelope(kms) }) });
 */
export function kmsEnvelope(kms: Kms): KmsEnvelope {
  return {
    generateDataKey(keyArn, context) {
      try {
        const dk = kms.generateDataKey(keyScope(keyArn), keyArn, { keySpec: 'AES_256', encryptionContext: context });
        return { plaintext: dk.plaintext, ciphertextBlob: dk.ciphertextBlob };
      } catch (e) {
        throw asS3Error(e);
      }
    },
    decryptDataKey(keyArn, ciphertextBlob, context) {
      try {
        return kms.decryptDataKey(keyScope(keyArn), ciphertextBlob, context).plaintext;
      } catch (e) {
        throw asS3Error(e);
      }
    },
  };
}

function ruleOf(input: Input): DefaultRule {
  const rules = optRecord(input, 'ServerSideEncryptionConfiguration')?.Rules;
  if (!Array.isArray(rules) || rules.length !== 1) throw s3Errors.malformedXml();
  const rule = (rules[0] ?? {}) as Record<string, unknown>;
  const byDefault = optRecord(rule, 'ApplyServerSideEncryptionByDefault');
  const algorithm = byDefault ? optStr(byDefault, 'SSEAlgorithm') : undefined;
  if (!byDefault || algorithm === undefined) throw s3Errors.malformedXml();
  if (!ALGORITHMS.includes(algorithm)) throw s3Errors.malformedXml();
  const keyId = optStr(byDefault, 'KMSMasterKeyID');
  if (keyId !== undefined && algorithm === 'AES256') {
    throw s3Errors.invalidArgument(
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
      'ApplyServerSideEncryptionByDefault',
      '',
    );
  }
  return { SSEAlgorithm: algorithm as SseAlgorithm, ...(keyId !== undefined ? { KMSMasterKeyID: keyId } : {}), BucketKeyEnabled: rule.BucketKeyEnabled === true };
}

/** The bucket default encryption operations. */
export function encryptionOperations(deps: EncryptionDeps): Record<string, OperationSpec> {
  const { store } = deps;
  const management = { category: 'Management' as const, ...bucketResources(deps) };
  const requireBucket = (input: Input): BucketInfo => {
    const info = store.bucketInfo(str(input, 'Bucket'));
    if (!info) throw s3Errors.noSuchBucket(str(input, 'Bucket'));
    return info;
  };
  return {
    PutBucketEncryption: s3Spec(deps, 'PutBucketEncryption', {
      readOnly: false,
      ...management,
      handle: async (input, ctx) => {
        const info = requireBucket(input);
        const rule = ruleOf(input);
        if (rule.KMSMasterKeyID !== undefined && deps.kms) {
          // S3 stores what it was given, but a key id that names nothing is refused.
          const ref = rule.KMSMasterKeyID;
          const resolvable = deps.kms.resolveKeyArn(info.owner, ctx.region, ref) !== undefined || ref.startsWith('arn:');
          if (!resolvable) throw s3Errors.invalidArgument('The KMS key is not valid', 'KMSMasterKeyID', ref);
        }
        await store.putBucketConfig(info.name, ENCRYPTION_CONFIG, JSON.stringify(rule));
        return {};
      },
    }),

    GetBucketEncryption: s3Spec(deps, 'GetBucketEncryption', {
      readOnly: true,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        const rule = bucketDefault(deps, info.name);
        return {
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: rule.SSEAlgorithm, ...(rule.KMSMasterKeyID !== undefined ? { KMSMasterKeyID: rule.KMSMasterKeyID } : {}) },
                BucketKeyEnabled: rule.BucketKeyEnabled,
              },
            ],
          },
        };
      },
    }),

    DeleteBucketEncryption: s3Spec(deps, 'DeleteBucketEncryption', {
      readOnly: false,
      ...management,
      handle: async (input) => {
        const info = requireBucket(input);
        // Back to the default every bucket has: SSE-S3.
        await store.putBucketConfig(info.name, ENCRYPTION_CONFIG, undefined);
        return {};
      },
    }),
  };
}
