/**
 * S3 MFA delete: reading the `x-amz-mfa` header (`<serial> <code>`) and deciding whether
 * a request carries a valid second factor of the bucket owner's root user, with S3's
 * refusals. Which devices exist and which codes are current is the IAM engine's
 * (src/iam/mfa.ts), reached through {@link MfaVerifier}.
 */
import { AwsError } from '../../platform/errors.js';

/** Checks a root user's MFA code (IAM's virtual MFA devices). */
export interface MfaVerifier {
  verifyRootCode(accountId: string, serialNumber: string, code: string): boolean;
}

/** MFA delete's errors, as S3 words them. */
export const mfaErrors = {
  required: () => new AwsError({ code: 'AccessDenied', message: 'Mfa Authentication must be used for this request', status: 403 }),
  ownerOnly: () => new AwsError({ code: 'AccessDenied', message: 'This operation may only be performed by the bucket owner', status: 403 }),
  malformed: (value: string) =>
    new AwsError({
      code: 'InvalidArgument',
      message: 'Mfa header is invalid -- the header should be formatted as {serialNumber}(space){tokenCode}',
      extra: { ArgumentName: 'x-amz-mfa', ArgumentValue: value },
    }),
};

/** Splits `x-amz-mfa` into serial number and code (InvalidArgument when it is not two words). */
export function parseMfaHeader(value: string): { serialNumber: string; code: string } {
  const parts = value.trim().split(/\s+/);
  const [serialNumber, code] = parts;
  if (parts.length !== 2 || serialNumber === undefined || code === undefined) throw mfaErrors.malformed(value);
  return { serialNumber, code };
}

/**
 * Throws unless the request proves the bucket owner's root user: the header is present
 * and well-formed, the caller is that root user, and the code is current for one of its
 * devices.
 */
export function requireOwnerMfa(verifier: MfaVerifier, owner: string, header: string | undefined, callerIsOwnerRoot: boolean): void {
  if (header === undefined || header.trim() === '') throw mfaErrors.required();
  const { serialNumber, code } = parseMfaHeader(header);
  if (!callerIsOwnerRoot) throw mfaErrors.ownerOnly();
  if (!verifier.verifyRootCode(owner, serialNumber, code)) throw mfaErrors.required();
}
