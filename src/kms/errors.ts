/**
 * The errors the KMS engine raises, with the codes botocore's KMS model names (every
 * KMS error is a 400) and the messages AWS KMS words them with.
 */
import { AwsError } from '../platform/errors.js';

const kms = (code: string, message: string): AwsError => new AwsError({ code, message, status: 400 });

/** Factories for KMS's own error codes. */
export const kmsErrors = {
  /** A key id, key ARN, alias name or alias ARN that names nothing in this account and Region. */
  keyNotFound: (keyArn: string) => kms('NotFoundException', `Key '${keyArn}' does not exist`),
  aliasNotFound: (aliasArn: string) => kms('NotFoundException', `Alias ${aliasArn} is not found.`),
  /** A string that is no form of key reference the operation accepts. */
  invalidKeyId: (keyId: string) => kms('NotFoundException', `Invalid keyId ${keyId}`),
  policyNotFound: () => kms('NotFoundException', 'No such policy exists'),
  disabled: (keyArn: string) => kms('DisabledException', `${keyArn} is disabled.`),
  pendingDeletion: (keyArn: string) => kms('KMSInvalidStateException', `${keyArn} is pending deletion.`),
  notPendingDeletion: (keyArn: string) => kms('KMSInvalidStateException', `${keyArn} is not pending deletion.`),
  /** Decrypt's answer to a blob it cannot open: AWS says nothing more. */
  invalidCiphertext: () => kms('InvalidCiphertextException', ''),
  incorrectKey: () =>
    kms('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.'),
  invalidKeyUsage: (message: string) => kms('InvalidKeyUsageException', message),
  alreadyExists: (aliasArn: string) => kms('AlreadyExistsException', `An alias with the name ${aliasArn} already exists`),
  invalidAliasName: (message: string) => kms('InvalidAliasNameException', message),
  /** `alias/aws/` names belong to AWS managed keys, which no caller may create or change. */
  reservedAlias: () => kms('NotAuthorizedException', 'The alias/aws/ prefix is reserved for AWS managed keys.'),
  malformedPolicy: (message: string) => kms('MalformedPolicyDocumentException', message),
  lockout: () =>
    kms(
      'MalformedPolicyDocumentException',
      'The new key policy will not allow you to update the key policy in the future.',
    ),
  invalidMarker: () => kms('InvalidMarkerException', 'Invalid marker'),
  unsupported: (message: string) => kms('UnsupportedOperationException', message),
  dryRun: () => kms('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.'),
  validation: (message: string) => kms('ValidationException', message),
  accessDenied: (message: string) => kms('AccessDeniedException', message),
};
