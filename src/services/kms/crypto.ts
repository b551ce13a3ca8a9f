/**
 * KMS cryptographic operations: Encrypt, Decrypt, GenerateDataKey and
 * GenerateDataKeyWithoutPlaintext. CloudTrail records them as read-only management
 * events whose `requestParameters` carry the key id, encryption context and algorithm
 * or key spec, and whose `responseElements` are null: no plaintext or ciphertext ever
 * reaches a record.
 */
import { ANY_KEY_REF, type Kms } from '../../kms/kms.js';
import { kmsErrors } from '../../kms/errors.js';
import type { CallContext, OperationSpec } from '../service.js';
import { authorizeKey, type IdentityPolicySource } from './authz.js';
import { blob, checkAlgorithm, encryptionContext, keyResource, optBool, optInt, optStr, str } from './shapes.js';

const cryptographic = { category: 'Management', readOnly: true, action: null } as const;

function isAliasRef(ref: string): boolean {
  return ref.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:\d{12}:alias\//.test(ref);
}

/** The record's `requestParameters` for a cryptographic call, in CloudTrail's member order. */
function recordCrypto(input: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const ec = encryptionContext(input);
  const keyId = optStr(input, 'KeyId');
  return {
    ...(keyId !== undefined ? { keyId } : {}),
    ...extra,
    ...(ec !== undefined ? { encryptionContext: ec } : {}),
  };
}

/** The cryptographic operations. */
export function cryptoOperations(kms: Kms, policies: IdentityPolicySource): Record<string, OperationSpec> {
  const keyResources: OperationSpec['resources'] = (input, ctx) => {
    const key = kms.findKey(ctx, str(input, 'KeyId'), ANY_KEY_REF);
    return key ? [keyResource(key)] : [];
  };

  /** Resolves the key, checks the key policy for `action` and the DryRun flag. */
  const useKey = (action: string, input: Record<string, unknown>, ctx: CallContext) => {
    const keyRef = str(input, 'KeyId');
    const key = kms.resolveKey(ctx, keyRef, ANY_KEY_REF);
    const ec = encryptionContext(input);
    authorizeKey(kms, policies, ctx, action, key.arn, {
      ...(ec !== undefined ? { encryptionContext: ec } : {}),
      ...(isAliasRef(keyRef) ? { requestAlias: keyRef } : {}),
    });
    if (optBool(input, 'DryRun') === true) throw kmsErrors.dryRun();
    return { key, ec };
  };

  const dataKey = (action: string, input: Record<string, unknown>, ctx: CallContext) => {
    const { key, ec } = useKey(action, input, ctx);
    const keySpec = optStr(input, 'KeySpec');
    const numberOfBytes = optInt(input, 'NumberOfBytes');
    return kms.generateDataKey(ctx, key.arn, {
      ...(keySpec !== undefined ? { keySpec } : {}),
      ...(numberOfBytes !== undefined ? { numberOfBytes } : {}),
      ...(ec !== undefined ? { encryptionContext: ec } : {}),
    });
  };

  const recordDataKey = (input: Record<string, unknown>): unknown => {
    const keySpec = optStr(input, 'KeySpec');
    const numberOfBytes = optInt(input, 'NumberOfBytes');
    return recordCrypto(input, {
      ...(keySpec !== undefined ? { keySpec } : {}),
      ...(numberOfBytes !== undefined ? { numberOfBytes } : {}),
    });
  };

  return {
    Encrypt: {
      ...cryptographic,
      resources: keyResources,
      handle: async (input, ctx) => {
        checkAlgorithm(input);
        const { key, ec } = useKey('kms:Encrypt', input, ctx);
        const out = kms.encrypt(ctx, key.arn, blob(input, 'Plaintext'), ec);
        return { CiphertextBlob: out.ciphertextBlob, KeyId: out.keyArn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      },
      recordRequest: (input) => recordCrypto(input, { encryptionAlgorithm: optStr(input, 'EncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT' }),
    },

    Decrypt: {
      ...cryptographic,
      // The blob names its key; a KeyId, when given, must name the same one.
      resources: (input) => {
        const ciphertext = input.CiphertextBlob;
        const key = Buffer.isBuffer(ciphertext) ? kms.ciphertextKey(ciphertext) : undefined;
        return key ? [keyResource(key)] : [];
      },
      handle: async (input, ctx) => {
        checkAlgorithm(input);
        const ciphertext = blob(input, 'CiphertextBlob');
        const key = kms.ciphertextKey(ciphertext);
        if (!key || key.region !== ctx.region) throw kmsErrors.invalidCiphertext();
        const keyRef = optStr(input, 'KeyId');
        const ec = encryptionContext(input);
        authorizeKey(kms, policies, ctx, 'kms:Decrypt', key.arn, {
          ...(ec !== undefined ? { encryptionContext: ec } : {}),
          ...(keyRef !== undefined && isAliasRef(keyRef) ? { requestAlias: keyRef } : {}),
        });
        if (optBool(input, 'DryRun') === true) throw kmsErrors.dryRun();
        const out = kms.decrypt(ctx, ciphertext, ec, keyRef);
        return { KeyId: out.keyArn, Plaintext: out.plaintext, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      },
      recordRequest: (input) => recordCrypto(input, { encryptionAlgorithm: optStr(input, 'EncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT' }),
    },

    GenerateDataKey: {
      ...cryptographic,
      resources: keyResources,
      handle: async (input, ctx) => {
        const out = dataKey('kms:GenerateDataKey', input, ctx);
        return { CiphertextBlob: out.ciphertextBlob, Plaintext: out.plaintext, KeyId: out.keyArn };
      },
      recordRequest: recordDataKey,
    },

    GenerateDataKeyWithoutPlaintext: {
      ...cryptographic,
      resources: keyResources,
      handle: async (input, ctx) => {
        const out = dataKey('kms:GenerateDataKeyWithoutPlaintext', input, ctx);
        out.plaintext.fill(0);
        return { CiphertextBlob: out.ciphertextBlob, KeyId: out.keyArn };
      },
      recordRequest: recordDataKey,
    },
  };
}
