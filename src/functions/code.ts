/**
 * Code packages: a zip's SHA-256 (Lambda's `CodeSha256`) and its unpacking into a task
 * root, bounded as Lambda bounds it (250 MB unpacked), with no entry escaping the root.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { unzipSync } from 'fflate';
import { lambdaErrors } from './errors.js';

/** Lambda's quota on a function's unpacked code. */
export const MAX_UNZIPPED_BYTES = 262_144_000;
/** Lambda's quota on a zip uploaded in the request (`--zip-file`). */
export const MAX_ZIP_BYTES = 52_428_800;

/** Base64 SHA-256, as Lambda reports `CodeSha256`. */
export function codeSha256(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64');
}

/** Checks that `zip` is a zip Lambda would take; returns its entries' names and unpacked size. */
export function inspectZip(zip: Uint8Array): { files: Record<string, Uint8Array> } {
  if (zip.byteLength > MAX_ZIP_BYTES) {
    throw lambdaErrors.requestTooLarge(`Request must be smaller than ${MAX_ZIP_BYTES} bytes for the CreateFunction operation`);
  }
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter: (file) => {
        total += file.originalSize;
        if (total > MAX_UNZIPPED_BYTES) throw new RangeError('too large');
        return true;
      },
    });
  } catch (e) {
    if (e instanceof RangeError) throw lambdaErrors.invalidParameter(`Unzipped size must be smaller than ${MAX_UNZIPPED_BYTES} bytes`);
    throw lambdaErrors.invalidParameter('Could not unzip uploaded file. Please check your file, then try to upload again.');
  }
  for (const name of Object.keys(files)) {
    const path = normalize(name);
    if (name.startsWith('/') || path === '..' || path.startsWith(`..${sep}`)) {
      throw lambdaErrors.invalidParameter('Could not unzip uploaded file. Please check your file, then try to upload again.');
    }
  }
  return { files };
}

/** Where the package `sha` is unpacked under `codeDir` (a name safe for any file system). */
export function taskRootPath(codeDir: string, sha: string): string {
  return join(codeDir, createHash('sha256').update(sha).digest('hex').slice(0, 32));
}

/**
 * Unpacks a package into its task root, unless it is there (into a temporary directory
 * renamed into place, so a crash never leaves half a package).
 */
export function unpack(codeDir: string, sha: string, bytes: Uint8Array): string {
  const root = taskRootPath(codeDir, sha);
  if (existsSync(root)) return root;
  const { files } = inspectZip(bytes);
  const staging = `${root}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o755 });
  for (const [entry, data] of Object.entries(files)) {
    if (entry.endsWith('/')) {
      mkdirSync(join(staging, entry), { recursive: true });
      continue;
    }
    const target = join(staging, normalize(entry));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data, { mode: 0o755 });
  }
  renameSync(staging, root);
  return root;
}
