/**
 * KMS cryptography: the data directory's master key (`kms-master.key`), sealing each KMS
 * key's material under it, and the ciphertext blobs Encrypt and GenerateDataKey return.
 *
 * A ciphertext blob is `01 | key id (16 bytes) | IV (12) | GCM tag (16) | ciphertext`.
 * It names its key, so Decrypt needs no KeyId, as in AWS. The additional authenticated
 * data is the blob's header followed by the encryption context in a canonical form, so
 * a changed key id or a different context makes the tag check fail.
 */
import { loadOrCreateKeyFile } from '../platform/keyfile.js';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { join } from 'node:path';
import type { RandomSource } from '../platform/ids.js';

/** The master key's file name under the data directory. */
export const MASTER_KEY_FILE = 'kms-master.key';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BLOB_VERSION = 0x01;
const SEAL_VERSION = 0x01;
const HEADER_BYTES = 1 + 16;
/** The smallest well-formed blob: a header, IV, tag and at least one byte of ciphertext. */
const MIN_BLOB_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES + 1;

/**
 * Reads `<dataDir>/kms-master.key`, creating it (32 random bytes, mode 0600) on first
 * start. The file is written under a temporary name and linked into place, so a crash
 * never leaves a short key and two processes starting at once agree on one key.
 *
 * @example
 * const masterKey = loadOrCreateMasterKey(dataDir, cryptoRandom);
 */
export function loadOrCreateMasterKey(dataDir: string, random: RandomSource): Buffer {
  return loadOrCreateKeyFile(join(dataDir, MASTER_KEY_FILE), KEY_BYTES, random);
}

/** New key material for a KMS key. */
export function newKeyMaterial(random: RandomSource): Buffer {
  return random.bytes(KEY_BYTES);
}

function sealAad(keyId: string): Buffer {
  return Buffer.from(`cairn-kms-key-material:${keyId}`, 'utf8');
}

/** Seals a key's material under the master key, bound to the key's id. */
export function sealKeyMaterial(masterKey: Buffer, keyId: string, material: Buffer, random: RandomSource): Buffer {
  const iv = random.bytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(sealAad(keyId));
  const ct = Buffer.concat([cipher.update(material), cipher.final()]);
  return Buffer.concat([Buffer.of(SEAL_VERSION), iv, cipher.getAuthTag(), ct]);
}

/** Opens sealed key material; throws when the master key is not the one that sealed it. */
export function openKeyMaterial(masterKey: Buffer, keyId: string, sealed: Buffer): Buffer {
  if (sealed[0] !== SEAL_VERSION || sealed.length !== 1 + IV_BYTES + TAG_BYTES + KEY_BYTES) {
    throw new Error(`the key material of KMS key ${keyId} is damaged`);
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', masterKey, iv);
  decipher.setAAD(sealAad(keyId));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(`the key material of KMS key ${keyId} does not open with ${MASTER_KEY_FILE}: is it the data directory's own?`);
  }
}

/** An encryption context: string pairs bound to a ciphertext. */
export type EncryptionContext = Readonly<Record<string, string>>;

/**
 * The context in one unambiguous byte form: pairs sorted by key, each string
 * length-prefixed, so `{a: 'bc'}` and `{ab: 'c'}` differ and key order does not matter.
 */
export function canonicalContext(context: EncryptionContext | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function uuidBytes(keyId: string): Buffer {
  const hex = keyId.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID key id: ${keyId}`);
  return Buffer.from(hex, 'hex');
}

function uuidText(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Encrypts `plaintext` under a key's material into a ciphertext blob naming that key. */
export function encryptBlob(
  keyId: string,
  material: Buffer,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
  random: RandomSource,
): Buffer {
  const header = Buffer.concat([Buffer.of(BLOB_VERSION), uuidBytes(keyId)]);
  const iv = random.bytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), ct]);
}

/** The key id a ciphertext blob names, or undefined when it is not a blob Cairn made. */
export function blobKeyId(blob: Buffer): string | undefined {
  if (blob.length < MIN_BLOB_BYTES || blob[0] !== BLOB_VERSION) return undefined;
  return uuidText(blob.subarray(1, HEADER_BYTES));
}

/** Decrypts a blob with its key's material; undefined when it was altered or the context differs. */
export function decryptBlob(material: Buffer, blob: Buffer, context: EncryptionContext | undefined): Buffer | undefined {
  if (blobKeyId(blob) === undefined) return undefined;
  const header = blob.subarray(0, HEADER_BYTES);
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const tag = blob.subarray(HEADER_BYTES + IV_BYTES, HEADER_BYTES + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', material, iv);
  decipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}
