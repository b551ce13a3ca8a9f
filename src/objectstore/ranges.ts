/**
 * Byte ranges against an object's size, with S3's answer (InvalidRange, 416) for ranges
 * no byte of the object satisfies. Shared by every backend and the S3 API's HEAD.
 */
import { s3Errors } from './errors.js';
import type { ByteRange } from './store.js';

/** Resolves a requested range against an object's size (InvalidRange when unsatisfiable). */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  const text = 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end ?? ''}`;
  if ('suffix' in range) {
    if (range.suffix <= 0 || size === 0) throw s3Errors.invalidRange(text, size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) throw s3Errors.invalidRange(text, size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
