/**
 * Identifiers in AWS's formats. Randomness is injected (`RandomSource`) so tests can make
 * them deterministic; the default draws from the operating system's CSPRNG.
 */
import { randomBytes as cryptoRandomBytes, randomUUID } from 'node:crypto';

export interface RandomSource {
  bytes(n: number): Buffer;
  uuid(): string;
}

export const cryptoRandom: RandomSource = {
  bytes: (n) => cryptoRandomBytes(n),
  uuid: () => randomUUID(),
};

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function pick(random: RandomSource, alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of random.bytes(length * 2)) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/** A 12-digit AWS account id that does not start with 0. */
export function newAccountId(random: RandomSource): string {
  return pick(random, '123456789', 1) + pick(random, '0123456789', 11);
}

/**
 * Unique ids with AWS's prefixes: AKIA (long-term access key), ASIA (temporary key),
 * AIDA (user), AROA (role), ANPA (managed policy).
 */
export function newUniqueId(random: RandomSource, prefix: 'AKIA' | 'ASIA' | 'AIDA' | 'AROA' | 'ANPA'): string {
  return prefix + pick(random, BASE32, 16);
}

/** A 40-character secret access key. */
export function newSecretKey(random: RandomSource): string {
  return pick(random, ALNUM + '+/', 40);
}

/** An opaque token of `bytes` random bytes, base64-encoded. */
export function newToken(random: RandomSource, bytes: number): string {
  return random.bytes(bytes).toString('base64');
}
