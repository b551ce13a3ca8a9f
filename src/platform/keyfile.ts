/**
 * Secret key files under the data directory (KMS's master key, the object store's SSE
 * key): created once with random bytes, readable by the owner only, written under a
 * temporary name and linked into place so a crash never leaves a short key and two
 * processes starting at once agree on one key.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RandomSource } from './ids.js';

function errorCode(e: unknown): unknown {
  return e instanceof Error && 'code' in e ? e.code : undefined;
}

function readKeyFile(path: string, bytes: number): Buffer {
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const key = readFileSync(path);
  if (key.length !== bytes) throw new Error(`${path} is not a ${bytes}-byte key`);
  return key;
}

/**
 * The key in `path`, created with `bytes` random bytes (mode 0600) if it does not exist.
 *
 * @example
 * const masterKey = loadOrCreateKeyFile(join(dataDir, 'kms-master.key'), 32, cryptoRandom);
 */
export function loadOrCreateKeyFile(path: string, bytes: number, random: RandomSource): Buffer {
  try {
    return readKeyFile(path, bytes);
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${random.bytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, random.bytes(bytes));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    // Another process created it first: use theirs.
    if (errorCode(e) !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return readKeyFile(path, bytes);
}
