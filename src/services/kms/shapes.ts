/**
 * Reading KMS operation inputs (already validated against the model by the pipeline, so
 * these only narrow types), the output shapes KMS returns, and the forms CloudTrail
 * records KMS calls in (`resources` of type AWS::KMS::Key, `keyMetadata` with Java-style
 * dates, the key ARN in `responseElements.keyId` of key management calls).
 */
import type { KmsAlias, KmsKey } from '../../kms/kms.js';
import { kmsErrors } from '../../kms/errors.js';
import { formatJavaDate } from '../../wire/record-shape.js';
import { RECORD, type RecordResource } from '../service.js';

/** A required string member. */
export function str(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') {
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    throw kmsErrors.validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** An optional string member. */
export function optStr(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

/** An optional integer member. */
export function optInt(input: Record<string, unknown>, name: string): number | undefined {
  const value = input[name];
  return typeof value === 'number' ? value : undefined;
}

/** An optional boolean member. */
export function optBool(input: Record<string, unknown>, name: string): boolean | undefined {
  const value = input[name];
  return typeof value === 'boolean' ? value : undefined;
}

/** A required blob member. */
export function blob(input: Record<string, unknown>, name: string): Buffer {
  const value = input[name];
  if (!Buffer.isBuffer(value)) {
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    throw kmsErrors.validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** The `EncryptionContext` map, or undefined. */
export function encryptionContext(input: Record<string, unknown>): Record<string, string> | undefined {
  const value = input.EncryptionContext;
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Only SYMMETRIC_DEFAULT is an algorithm for the keys Cairn serves. */
export function checkAlgorithm(input: Record<string, unknown>): void {
  const algorithm = optStr(input, 'EncryptionAlgorithm');
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw kmsErrors.invalidKeyUsage(`The encryption algorithm ${algorithm} is not supported by this KMS key; use SYMMETRIC_DEFAULT.`);
  }
}

/** `KeyMetadata` as CreateKey and DescribeKey return it. */
export function keyMetadataShape(key: KmsKey): Record<string, unknown> {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: new Date(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.state,
    ...(key.deletionDate !== undefined ? { DeletionDate: new Date(key.deletionDate) } : {}),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

/** `keyMetadata` as CloudTrail records it in CreateKey's `responseElements`. */
export function recordKeyMetadata(key: KmsKey): Record<string, unknown> {
  return {
    AWSAccountId: key.accountId,
    keyId: key.keyId,
    arn: key.arn,
    creationDate: formatJavaDate(new Date(key.createdAt)),
    enabled: key.state === 'Enabled',
    description: key.description,
    keyUsage: 'ENCRYPT_DECRYPT',
    keyState: key.state,
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    keySpec: 'SYMMETRIC_DEFAULT',
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    multiRegion: false,
  };
}

/** An `AliasListEntry`. */
export function aliasShape(alias: KmsAlias): Record<string, unknown> {
  return {
    AliasName: alias.aliasName,
    AliasArn: alias.aliasArn,
    TargetKeyId: alias.targetKeyId,
    CreationDate: new Date(alias.createdAt),
    LastUpdatedDate: new Date(alias.updatedAt),
  };
}

/** A key in a record's `resources`. */
export function keyResource(key: { arn: string; accountId: string }): RecordResource {
  return { accountId: key.accountId, type: 'AWS::KMS::Key', ARN: key.arn };
}

/** An empty output whose record shows `responseElements: { keyId: <key ARN> }`, as CloudTrail writes key management calls. */
export function keyArnRecord(keyArn: string): Record<string | symbol, unknown> {
  return { [RECORD]: { responseElements: { keyId: keyArn } } };
}
