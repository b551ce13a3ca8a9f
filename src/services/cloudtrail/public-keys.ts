/**
 * CloudTrail's ListPublicKeys: the public keys whose private keys signed (or sign) the
 * caller's Region's digest files in a time range, from the integrity engine's
 * `SigningKeys`. Each key's `Value` is its PKCS#1 `RSAPublicKey` DER (a blob: base64 on
 * the wire), its `Fingerprint` the hex MD5 of those bytes, as digests name it.
 */
import type { PublicKeyInfo } from '../../integrity/keys.js';
import { AwsError, errors } from '../../platform/errors.js';
import type { OperationSpec } from '../service.js';

/** What ListPublicKeys needs of the signing keys. */
export interface PublicKeySource {
  ensure(region: string): Promise<void>;
  list(region: string, from: number, to: number): PublicKeyInfo[];
}

function time(input: Record<string, unknown>, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  throw errors.validation(`1 validation error detected: Value at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must be a timestamp`);
}

/**
 * The ListPublicKeys operation. Without StartTime or EndTime the current time is used, so
 * a bare call returns the key in use now.
 *
 * @example
 * operations.ListPublicKeys = listPublicKeysOperation({ keys });
 */
export function listPublicKeysOperation(deps: { keys: PublicKeySource }): OperationSpec {
  return {
    readOnly: true,
    category: 'Management',
    handle: async (input, ctx) => {
      const start = time(input, 'StartTime') ?? ctx.now;
      const end = time(input, 'EndTime') ?? ctx.now;
      if (start > end) {
        throw new AwsError({ code: 'InvalidTimeRangeException', message: 'Start time must be earlier than end time.' });
      }
      // A Region has a key from its first use on, as in AWS.
      await deps.keys.ensure(ctx.region);
      return {
        PublicKeyList: deps.keys.list(ctx.region, start, end).map((k) => ({
          Value: k.value,
          ValidityStartTime: new Date(k.validityStartTime),
          ValidityEndTime: new Date(k.validityEndTime),
          Fingerprint: k.fingerprint,
        })),
      };
    },
    recordResponse: () => null,
  };
}
