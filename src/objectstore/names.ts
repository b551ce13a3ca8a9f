/**
 * Which bucket names and object keys the store accepts. Bucket names follow S3's rules
 * for general purpose buckets; keys are any UTF-8 up to 1,024 bytes, as S3 allows. Keys
 * never become file names (blobs are named by random ids), so `../`, `/` or long keys
 * cannot reach the file system; the checks here exist to answer as S3 does.
 */
import { s3Errors } from './errors.js';

/** S3's limit on a key's UTF-8 length. */
export const MAX_KEY_BYTES = 1024;

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** True when `name` is a valid general purpose bucket name. */
export function isValidBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return false;
  if (RESERVED_PREFIXES.some((p) => name.startsWith(p))) return false;
  if (RESERVED_SUFFIXES.some((s) => name.endsWith(s))) return false;
  return true;
}

/** Throws InvalidBucketName unless the name is valid. */
export function checkBucketName(name: string): void {
  if (!isValidBucketName(name)) throw s3Errors.invalidBucketName(name);
}

/**
 * Throws unless `key` is one S3 stores: non-empty, well-formed UTF-8 (no lone
 * surrogates, which cannot be encoded), at most 1,024 bytes. A NUL is refused too: S3's
 * XML responses cannot carry it and downstream tools treat it as a string end.
 */
export function checkObjectKey(key: string): void {
  if (key.length === 0) throw s3Errors.invalidKey('Object key must not be empty.');
  const bytes = Buffer.from(key, 'utf8');
  // Lone surrogates have no UTF-8 form; the encoder replaces them, so a round trip differs.
  if (bytes.toString('utf8') !== key) throw s3Errors.invalidKey('Object key is not valid UTF-8.');
  const size = bytes.length;
  if (size > MAX_KEY_BYTES) throw s3Errors.keyTooLong(size);
  if (key.includes('\u0000')) throw s3Errors.invalidKey('Object key must not contain a NUL character.');
}

/**
 * The smallest string greater than every string that starts with `prefix`, in UTF-8
 * byte order (which is code point order), or undefined when there is none.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop() ?? '';
    let cp = (last.codePointAt(0) ?? 0) + 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
    if (cp <= 0x10ffff) return points.join('') + String.fromCodePoint(cp);
  }
  return undefined;
}
