/**
 * Server-side encryption at rest for the embedded store: the {@link AtRestTransform} that
 * seals every stored segment with AES-256-GCM under a data key, and how an object's
 * encryption is recorded in its attributes.
 *
 * - SSE-S3 (`AES256`): data keys are sealed under the store's master key
 *   (`<data dir>/sse-master.key`, 32 random bytes, mode 0600, made on first use, beside KMS's).
 *   One data key seals up to `dataKeyUses` segments, each under its own random IV.
 * - SSE-KMS (`aws:kms`): envelope encryption; the data key comes from KMS and only its
 *   KMS ciphertext is kept with the segment, so reading needs KMS (and a usable key).
 *
 * A sealed segment is `01 | IV (12) | GCM tag (16) | ciphertext`; the additional
 * authenticated data names the bucket and key, so bytes moved to another object do not open.
 * KMS is reached through {@link KmsEnvelope}, so this module knows no KMS engine.
 */
import { loadOrCreateKeyFile } from '../../platform/keyfile.js';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { join } from 'node:path';
import type { RandomSource } from '../../platform/ids.js';
import { OFFLOAD_MIN, type BulkCipher } from '../crypto-pool.js';
import type { AtRestTransform, SealedBytes } from '../store.js';

/** The store master key's file name in the data directory. */
export const SSE_MASTER_KEY_FILE = 'sse-master.key';

/** Object (or upload) attribute names recording how the object is encrypted. */
export const SSE_ATTRIBUTES = {
  algorithm: 'sse',
  kmsKeyId: 'sse-kms-key-id',
  /** Base64 JSON of the encryption context, as S3's `x-amz-server-side-encryption-context`. */
  context: 'sse-context',
  bucketKeyEnabled: 'sse-bucket-key',
} as const;

export type SseAlgorithm = 'AES256' | 'aws:kms' | 'aws:kms:dsse';

/** How an object is encrypted. */
export interface ObjectEncryption {
  algorithm: SseAlgorithm;
  /** The KMS key's ARN (SSE-KMS only). */
  kmsKeyId?: string;
  /** The KMS encryption context (SSE-KMS only), including S3's `aws:s3:arn`. */
  context?: Record<string, string>;
  bucketKeyEnabled?: boolean;
}

/** The attributes that record an object's encryption. */
export function encryptionAttributes(e: ObjectEncryption): Record<string, string> {
  return {
    [SSE_ATTRIBUTES.algorithm]: e.algorithm,
    ...(e.kmsKeyId !== undefined ? { [SSE_ATTRIBUTES.kmsKeyId]: e.kmsKeyId } : {}),
    ...(e.context !== undefined ? { [SSE_ATTRIBUTES.context]: Buffer.from(JSON.stringify(e.context)).toString('base64') } : {}),
    ...(e.bucketKeyEnabled ? { [SSE_ATTRIBUTES.bucketKeyEnabled]: 'true' } : {}),
  };
}

/** An object's encryption from its attributes; SSE-S3 when none is recorded (every object is encrypted). */
export function encryptionOf(attributes: Readonly<Record<string, string>>): ObjectEncryption {
  const algorithm = attributes[SSE_ATTRIBUTES.algorithm];
  if (algorithm !== 'aws:kms' && algorithm !== 'aws:kms:dsse') return { algorithm: 'AES256' };
  const key = attributes[SSE_ATTRIBUTES.kmsKeyId];
  const ctx = attributes[SSE_ATTRIBUTES.context];
  return {
    algorithm,
    ...(key !== undefined ? { kmsKeyId: key } : {}),
    ...(ctx !== undefined ? { context: JSON.parse(Buffer.from(ctx, 'base64').toString('utf8')) as Record<string, string> } : {}),
    ...(attributes[SSE_ATTRIBUTES.bucketKeyEnabled] === 'true' ? { bucketKeyEnabled: true } : {}),
  };
}

/** What SSE-KMS needs from KMS: data keys under a key, and opening them again. */
export interface KmsEnvelope {
  /** A new 256-bit data key under `keyArn`, in the clear and as KMS ciphertext. */
  generateDataKey(keyArn: string, context: Record<string, string>): { plaintext: Buffer; ciphertextBlob: Buffer };
  /** The data key inside a ciphertext blob; throws KMS's error (disabled key...) when it cannot. */
  decryptDataKey(keyArn: string, ciphertextBlob: Buffer, context: Record<string, string>): Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 0x01;

/** The sealed form as pieces: the header (version, IV, tag) and the ciphertext, never joined by a copy. */
function sealPieces(key: Buffer, plaintext: Buffer, aad: Buffer, random: RandomSource): Buffer[] {
  const iv = random.bytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = cipher.update(plaintext);
  // GCM is a stream mode: final() yields no bytes, only the tag.
  const rest = cipher.final();
  const header = Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag()]);
  return rest.length === 0 ? [header, ct] : [header, ct, rest];
}

/** {@link sealPieces}, with the AES work on `bulk`'s thread when one is lent for a large body. */
async function sealBody(key: Buffer, plaintext: Buffer, aad: Buffer, random: RandomSource, bulk: BulkCipher | undefined): Promise<Buffer[]> {
  if (!bulk || plaintext.length < OFFLOAD_MIN) return sealPieces(key, plaintext, aad, random);
  const iv = random.bytes(IV_BYTES);
  const { ciphertext, tag } = await bulk.sealGcm(key, iv, aad, plaintext);
  return [Buffer.concat([Buffer.of(VERSION), iv, tag]), ciphertext];
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer, random: RandomSource): Buffer {
  return Buffer.concat(sealPieces(key, plaintext, aad, random));
}

const notOpening = (what: string): Error =>
  new Error(`${what} does not open: was it altered, or is ${SSE_MASTER_KEY_FILE} not this store's own?`);

/** {@link open}, with the AES work on `bulk`'s thread when one is lent for a large body. */
async function openBody(key: Buffer, sealed: Buffer, aad: Buffer, what: string, bulk: BulkCipher | undefined): Promise<Buffer> {
  if (!bulk || sealed.length < OFFLOAD_MIN) return open(key, sealed, aad, what);
  if (sealed[0] !== VERSION) throw new Error(`${what} is damaged`);
  // Copies of the IV and tag: the body's memory may move to the worker.
  const iv = Buffer.from(sealed.subarray(1, 1 + IV_BYTES));
  const tag = Buffer.from(sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
  try {
    return await bulk.openGcm(key, iv, aad, tag, sealed.subarray(1 + IV_BYTES + TAG_BYTES));
  } catch {
    throw notOpening(what);
  }
}

function open(key: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  if (sealed[0] !== VERSION || sealed.length < 1 + IV_BYTES + TAG_BYTES) throw new Error(`${what} is damaged`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
  try {
    const plain = decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES));
    const rest = decipher.final();
    // final() yields nothing for GCM; skipping the concat saves a copy of the whole body.
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    throw notOpening(what);
  }
}

const DATA_KEY_AAD = Buffer.from('cairn-sse-s3-data-key', 'utf8');
const segmentAad = (bucket: string, key: string): Buffer => Buffer.from(`cairn-sse-object:${bucket}/${key}`, 'utf8');

export interface SseTransformOptions {
  /** The store master key ({@link loadOrCreateStoreKey}). */
  masterKey: Buffer;
  random: RandomSource;
  /** Needed for SSE-KMS objects; without it, writing or reading one fails. */
  kms?: KmsEnvelope;
  /** SSE-S3 objects sealed under one data key before the next is made (default 65,536). */
  dataKeyUses?: number;
}

/** SSE-S3 data keys opened lately, kept so that reading an object again costs no unwrap. */
const OPENED_KEYS = 4096;

/**
 * The at-rest transform: seals each segment as its object's (or upload's) attributes ask,
 * SSE-S3 when they ask nothing.
 *
 * @example
 * store.use({ atRest: sseTransform({ masterKey: loadOrCreateStoreKey(objectsDir, random), random, kms }) });
 */
export function sseTransform(opts: SseTransformOptions): AtRestTransform {
  const { masterKey, random, kms } = opts;
  const maxUses = opts.dataKeyUses ?? 65_536;
  // As S3 Bucket Keys do for KMS: one SSE-S3 data key seals many objects (each under its
  // own random IV, far below GCM's limit per key), so a PUT wraps no key; the wrapped form
  // names it. Data keys opened for reads are kept the same way, in a bounded map.
  let current: { dataKey: Buffer; wrapped: string; uses: number } | undefined;
  const opened = new Map<string, Buffer>();
  const dataKeyFor = (): { dataKey: Buffer; wrapped: string } => {
    if (!current || current.uses >= maxUses) {
      const dataKey = random.bytes(KEY_BYTES);
      current = { dataKey, wrapped: seal(masterKey, dataKey, DATA_KEY_AAD, random).toString('base64'), uses: 0 };
      remember(current.wrapped, dataKey);
    }
    current.uses++;
    return current;
  };
  const remember = (wrapped: string, dataKey: Buffer): void => {
    if (opened.size >= OPENED_KEYS) {
      const oldest = opened.keys().next().value;
      if (oldest !== undefined) opened.delete(oldest);
    }
    opened.set(wrapped, dataKey);
  };
  const openDataKey = (wrapped: string, what: string): Buffer => {
    let dataKey = opened.get(wrapped);
    if (!dataKey) {
      dataKey = open(masterKey, Buffer.from(wrapped, 'base64'), DATA_KEY_AAD, what);
      remember(wrapped, dataKey);
    }
    return dataKey;
  };
  return {
    async seal({ bucket, key, plaintext, attributes, bulk }): Promise<SealedBytes> {
      const e = encryptionOf(attributes ?? {});
      const aad = segmentAad(bucket.name, key);
      if (e.algorithm === 'AES256') {
        const { dataKey, wrapped } = dataKeyFor();
        return { bytes: await sealBody(dataKey, plaintext, aad, random, bulk), attributes: { alg: 'AES256', dk: wrapped } };
      }
      if (!kms) throw new Error('SSE-KMS needs KMS, which this store was opened without');
      if (e.kmsKeyId === undefined) throw new Error('an SSE-KMS write names no KMS key');
      const context = e.context ?? {};
      const dk = kms.generateDataKey(e.kmsKeyId, context);
      try {
        return {
          bytes: await sealBody(dk.plaintext, plaintext, aad, random, bulk),
          attributes: {
            alg: 'aws:kms',
            key: e.kmsKeyId,
            dk: dk.ciphertextBlob.toString('base64'),
            ctx: Buffer.from(JSON.stringify(context)).toString('base64'),
          },
        };
      } finally {
        dk.plaintext.fill(0);
      }
    },

    async open({ bucket, key, sealed, attributes, bulk }): Promise<Buffer> {
      const aad = segmentAad(bucket, key);
      if (attributes.alg !== 'aws:kms') {
        const dataKey = openDataKey(attributes.dk ?? '', `the data key of ${bucket}/${key}`);
        return openBody(dataKey, sealed, aad, `the bytes of ${bucket}/${key}`, bulk);
      }
      // SSE-KMS asks KMS every time: a key disabled since must make the object unreadable.
      if (!kms) throw new Error('this object is SSE-KMS encrypted, and the store was opened without KMS');
      const context = JSON.parse(Buffer.from(attributes.ctx ?? '', 'base64').toString('utf8')) as Record<string, string>;
      const dataKey = kms.decryptDataKey(attributes.key ?? '', Buffer.from(attributes.dk ?? '', 'base64'), context);
      try {
        return await openBody(dataKey, sealed, aad, `the bytes of ${bucket}/${key}`, bulk);
      } finally {
        dataKey.fill(0);
      }
    },
  };
}

/**
 * Reads `<dir>/sse-master.key`, creating it (32 random bytes, mode 0600) on first use.
 * Written under a temporary name and linked into place, so a crash never leaves a short
 * key and two processes starting at once agree on one.
 */
export function loadOrCreateStoreKey(dir: string, random: RandomSource): Buffer {
  return loadOrCreateKeyFile(join(dir, SSE_MASTER_KEY_FILE), KEY_BYTES, random);
}
