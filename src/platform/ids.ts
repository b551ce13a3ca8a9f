/**
 * Identifiers in AWS's formats. Randomness is injected (`RandomSource`) so tests can make
 * them deterministic; the default draws from the operating system's CSPRNG.
 */
import { randomBytes as cryptoRandomBytes, randomFillSync, randomUUID } from 'node:crypto';

export interface RandomSource {
  bytes(n: number): Buffer;
  uuid(): string;
}

/** Small draws are cut from a buffer refilled from the CSPRNG, as randomUUID does: one call into OpenSSL per few hundred draws. */
const POOL_BYTES = 4096;
const POOLED_MAX = 64;
let pool: Buffer | undefined;
let poolOffset = POOL_BYTES;

function pooledBytes(n: number): Buffer {
  if (n > POOLED_MAX) return cryptoRandomBytes(n);
  if (!pool || poolOffset + n > POOL_BYTES) {
    pool ??= Buffer.allocUnsafeSlow(POOL_BYTES);
    randomFillSync(pool);
    poolOffset = 0;
  }
  // A copy: every byte is handed out once, and the caller may keep or wipe its own; the
  // pool forgets what it gave (a data key must not linger here).
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, poolOffset, poolOffset + n);
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

export const cryptoRandom: RandomSource = {
  bytes: pooledBytes,
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

/** `length` characters of lower-case letters and digits, as Organizations' ids use (`o-`, `ou-`, `p-`...). */
export function newLowerAlnum(random: RandomSource, length: number): string {
  return pick(random, 'abcdefghijklmnopqrstuvwxyz0123456789', length);
}

/** A 40-character secret access key. */
export function newSecretKey(random: RandomSource): string {
  return pick(random, ALNUM + '+/', 40);
}

/** An opaque token of `bytes` random bytes, base64-encoded. */
export function newToken(random: RandomSource, bytes: number): string {
  return random.bytes(bytes).toString('base64');
}
