import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cryptoRandom } from '../../platform/ids.js';
import { CryptoPool } from '../crypto-pool.js';
import type { BucketInfo, SealedBytes } from '../store.js';
import { encryptionAttributes, encryptionOf, loadOrCreateStoreKey, sseTransform, SSE_MASTER_KEY_FILE, type KmsEnvelope } from './encryption.js';

const bucket: BucketInfo = { name: 'b', owner: '111122223333', region: 'us-east-1', createdAt: 0, versioning: 'Unversioned', objectLockEnabled: false };
const dirs: string[] = [];
/** The bytes as the store writes them: the pieces one after another. */
const stored = (s: SealedBytes): Buffer => Buffer.concat([s.bytes].flat());
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in KMS: one key, data keys wrapped by XOR, and a switch to disable it. */
function fakeKms(): KmsEnvelope & { disabled: boolean; calls: string[] } {
  const mask = cryptoRandom.bytes(32);
  const xor = (b: Buffer): Buffer => Buffer.from(b.map((x, i) => x ^ (mask[i] ?? 0)));
  const kms = {
    disabled: false,
    calls: [] as string[],
    generateDataKey(keyArn: string, context: Record<string, string>) {
      kms.calls.push(`generate ${keyArn} ${JSON.stringify(context)}`);
      const plaintext = cryptoRandom.bytes(32);
      return { plaintext: Buffer.from(plaintext), ciphertextBlob: xor(plaintext) };
    },
    decryptDataKey(keyArn: string, blob: Buffer, context: Record<string, string>) {
      kms.calls.push(`decrypt ${keyArn} ${JSON.stringify(context)}`);
      if (kms.disabled) throw new Error(`${keyArn} is disabled.`);
      return xor(blob);
    },
  };
  return kms;
}

describe('encryption attributes', () => {
  it('round-trip and default to SSE-S3', () => {
    const e = { algorithm: 'aws:kms' as const, kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', context: { 'aws:s3:arn': 'arn:aws:s3:::b/k' }, bucketKeyEnabled: true };
    expect(encryptionOf(encryptionAttributes(e))).toEqual(e);
    expect(encryptionOf({})).toEqual({ algorithm: 'AES256' });
  });
});

describe('sseTransform', () => {
  const masterKey = cryptoRandom.bytes(32);
  const plaintext = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(10));

  it('seals SSE-S3 segments under data keys that only the master key opens, each key for a bounded number of segments', async () => {
    const t = sseTransform({ masterKey, random: cryptoRandom, dataKeyUses: 2 });
    const a = await t.seal({ bucket, key: 'k', plaintext });
    const b = await t.seal({ bucket, key: 'k', plaintext });
    const c = await t.seal({ bucket, key: 'k', plaintext });
    expect(stored(a).includes(Buffer.from('quick brown'))).toBe(false);
    // One data key for two segments, each under its own IV; then a new key.
    expect(a.attributes.dk).toBe(b.attributes.dk);
    expect(stored(a).equals(stored(b))).toBe(false);
    expect(c.attributes.dk).not.toBe(a.attributes.dk);
    for (const s of [a, b, c]) expect(await t.open({ bucket: 'b', key: 'k', sealed: stored(s), attributes: s.attributes })).toEqual(plaintext);
    // A fresh transform (a restarted server) opens them from the master key alone.
    const restarted = sseTransform({ masterKey, random: cryptoRandom });
    expect(await restarted.open({ bucket: 'b', key: 'k', sealed: stored(b), attributes: b.attributes })).toEqual(plaintext);
    // A damaged wrapped key does not open, now or later.
    const damaged = { ...a.attributes, dk: Buffer.from('x'.repeat(60)).toString('base64') };
    for (let i = 0; i < 2; i++) await expect(t.open({ bucket: 'b', key: 'k', sealed: stored(a), attributes: damaged })).rejects.toThrow(/does not open|damaged/);
    expect(await t.open({ bucket: 'b', key: 'k', sealed: stored(a), attributes: a.attributes })).toEqual(plaintext);
    // Bytes moved to another key, or another store's master key, do not open.
    await expect(t.open({ bucket: 'b', key: 'other', sealed: stored(a), attributes: a.attributes })).rejects.toThrow(/does not open/);
    const stranger = sseTransform({ masterKey: cryptoRandom.bytes(32), random: cryptoRandom });
    await expect(stranger.open({ bucket: 'b', key: 'k', sealed: stored(a), attributes: a.attributes })).rejects.toThrow(/does not open/);
  });

  it('seals and opens large bodies on the worker thread it is lent, with the same format', async () => {
    const t = sseTransform({ masterKey, random: cryptoRandom });
    const pool = new CryptoPool();
    try {
      const big = cryptoRandom.bytes(300 * 1024);
      const sealed = await t.seal({ bucket, key: 'k', plaintext: Buffer.from(big), bulk: pool });
      const bytes = stored(sealed);
      expect(bytes.length).toBe(big.length + 29);
      // What the worker sealed opens in place, and what was sealed in place opens on the worker.
      expect(await t.open({ bucket: 'b', key: 'k', sealed: Buffer.from(bytes), attributes: sealed.attributes })).toEqual(big);
      const inPlace = await t.seal({ bucket, key: 'k', plaintext: big });
      expect(await t.open({ bucket: 'b', key: 'k', sealed: stored(inPlace), attributes: inPlace.attributes, bulk: pool })).toEqual(big);
      // A flipped bit in the body, or the bytes under another key, do not open.
      const damaged = Buffer.from(bytes);
      damaged[1000] = (damaged[1000] ?? 0) ^ 1;
      await expect(t.open({ bucket: 'b', key: 'k', sealed: damaged, attributes: sealed.attributes, bulk: pool })).rejects.toThrow(/does not open/);
      await expect(t.open({ bucket: 'b', key: 'other', sealed: Buffer.from(bytes), attributes: sealed.attributes, bulk: pool })).rejects.toThrow(/does not open/);
    } finally {
      await pool.close();
    }
  });

  it('seals SSE-KMS segments with a KMS data key, and needs KMS to open them', async () => {
    const kms = fakeKms();
    const t = sseTransform({ masterKey, random: cryptoRandom, kms });
    const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const attributes = encryptionAttributes({ algorithm: 'aws:kms', kmsKeyId: keyArn, context: { 'aws:s3:arn': 'arn:aws:s3:::b/k' } });
    const sealed = await t.seal({ bucket, key: 'k', plaintext, attributes });
    expect(sealed.attributes).toMatchObject({ alg: 'aws:kms', key: keyArn });
    expect(await t.open({ bucket: 'b', key: 'k', sealed: stored(sealed), attributes: sealed.attributes })).toEqual(plaintext);
    expect(kms.calls).toEqual([`generate ${keyArn} {"aws:s3:arn":"arn:aws:s3:::b/k"}`, `decrypt ${keyArn} {"aws:s3:arn":"arn:aws:s3:::b/k"}`]);
    kms.disabled = true;
    await expect(t.open({ bucket: 'b', key: 'k', sealed: stored(sealed), attributes: sealed.attributes })).rejects.toThrow(/is disabled/);
    await expect(sseTransform({ masterKey, random: cryptoRandom }).seal({ bucket, key: 'k', plaintext, attributes })).rejects.toThrow(/KMS/);
  });
});

describe('loadOrCreateStoreKey', () => {
  it('makes a private 32-byte key once and finds it again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sse-'));
    dirs.push(dir);
    const key = loadOrCreateStoreKey(dir, cryptoRandom);
    expect(key).toHaveLength(32);
    expect(statSync(join(dir, SSE_MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateStoreKey(dir, cryptoRandom)).toEqual(key);
  });

  it('refuses a key file others can read, or of the wrong length', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sse-'));
    dirs.push(dir);
    writeFileSync(join(dir, SSE_MASTER_KEY_FILE), Buffer.alloc(32), { mode: 0o644 });
    expect(() => loadOrCreateStoreKey(dir, cryptoRandom)).toThrow(/readable by other users/);
    const other = mkdtempSync(join(tmpdir(), 'cairn-sse-'));
    dirs.push(other);
    writeFileSync(join(other, SSE_MASTER_KEY_FILE), Buffer.alloc(7), { mode: 0o600 });
    expect(() => loadOrCreateStoreKey(other, cryptoRandom)).toThrow(/32-byte/);
  });
});
