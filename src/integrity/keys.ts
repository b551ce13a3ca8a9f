/**
 * Digest signing keys: one RSA 2048 key pair per Region at a time, rotated on a schedule
 * by the injected clock. Private keys are kept sealed (AES-256-GCM) under the data
 * directory's master key, bound to their Region and fingerprint; public keys stay listed
 * after rotation (ListPublicKeys returns every key valid in a time range), so digests
 * signed long ago still validate.
 */
import { createCipheriv, createDecipheriv, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { fingerprintOf, pkcs1Der, privateKeyFromDer } from './digest.js';
import type { SigningKeyRecord, SigningKeyStore } from './store.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** How long a key signs before the next one takes over (a day, by the clock). */
export const DEFAULT_KEY_ROTATION_MS = 24 * 60 * 60 * 1000;

const SEAL_VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key as ListPublicKeys returns it. */
export interface PublicKeyInfo {
  /** PKCS#1 `RSAPublicKey` DER. */
  value: Buffer;
  validityStartTime: number;
  validityEndTime: number;
  fingerprint: string;
}

/** A key able to sign. */
export interface SigningKey {
  fingerprint: string;
  privateKey: KeyObject;
}

/** What {@link SigningKeys} needs. */
export interface SigningKeysOptions {
  store: SigningKeyStore;
  clock: Clock;
  random: RandomSource;
  /** The data directory's 32-byte master key (kms/crypto.ts `loadOrCreateMasterKey`). */
  masterKey: Buffer;
  rotationMs?: number;
}

/**
 * The signing keys of every Region.
 *
 * @example
 * const keys = new SigningKeys({ store: new SqliteSigningKeyStore(db), clock, random, masterKey });
 * const key = await keys.current('us-east-1');
 * keys.list('us-east-1', from, to); // ListPublicKeys
 */
export class SigningKeys {
  private readonly rotationMs: number;
  private readonly creating = new Map<string, Promise<SigningKeyRecord>>();
  private readonly opened = new Map<string, KeyObject>();

  constructor(private readonly opts: SigningKeysOptions) {
    this.rotationMs = opts.rotationMs ?? DEFAULT_KEY_ROTATION_MS;
  }

  /** The Region's key that signs now, creating (or rotating to) a new one when due. */
  async current(region: string): Promise<SigningKey> {
    const record = await this.currentRecord(region);
    return { fingerprint: record.fingerprint, privateKey: this.open(record) };
  }

  /** A key by fingerprint (a digest being written again after a crash is signed with its first key). */
  byFingerprint(region: string, fingerprint: string): SigningKey | undefined {
    const record = this.opts.store.getKey(region, fingerprint);
    return record ? { fingerprint, privateKey: this.open(record) } : undefined;
  }

  /** Makes sure the Region has a current key (ListPublicKeys always returns the key in use). */
  async ensure(region: string): Promise<void> {
    await this.currentRecord(region);
  }

  /**
   * ListPublicKeys: the Region's keys whose validity overlaps [from, to], newest first.
   * The current key's validity ends when it is due to be rotated.
   */
  list(region: string, from: number, to: number): PublicKeyInfo[] {
    return this.opts.store
      .listKeys(region)
      .filter((k) => k.validFrom <= to && k.validUntil >= from)
      .sort((a, b) => b.validFrom - a.validFrom)
      .map((k) => ({ value: k.publicDer, validityStartTime: k.validFrom, validityEndTime: k.validUntil, fingerprint: k.fingerprint }));
  }

  private async currentRecord(region: string): Promise<SigningKeyRecord> {
    const now = this.opts.clock.now();
    const existing = this.latest(region);
    if (existing && existing.validFrom <= now && now < existing.validUntil) return existing;
    let pending = this.creating.get(region);
    if (!pending) {
      pending = this.create(region).finally(() => this.creating.delete(region));
      this.creating.set(region, pending);
    }
    return pending;
  }

  private latest(region: string): SigningKeyRecord | undefined {
    let best: SigningKeyRecord | undefined;
    for (const k of this.opts.store.listKeys(region)) if (!best || k.validFrom > best.validFrom) best = k;
    return best;
  }

  private async create(region: string): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const now = this.opts.clock.now();
    // Another key may have been made for the Region meanwhile (by another call): use it.
    const existing = this.latest(region);
    if (existing && existing.validFrom <= now && now < existing.validUntil) return existing;
    const publicDer = pkcs1Der(publicKey);
    const fingerprint = fingerprintOf(publicDer);
    const privateDer = privateKey.export({ format: 'der', type: 'pkcs8' });
    // The previous key's validity ends now: it signed until here.
    if (existing && existing.validUntil > now) this.opts.store.putKey({ ...existing, validUntil: now });
    const record: SigningKeyRecord = {
      region,
      fingerprint,
      publicDer,
      sealedPrivate: this.seal(region, fingerprint, privateDer),
      validFrom: now,
      validUntil: now + this.rotationMs,
    };
    this.opts.store.putKey(record);
    this.opened.set(`${region}/${fingerprint}`, privateKey);
    return record;
  }

  private open(record: SigningKeyRecord): KeyObject {
    const id = `${record.region}/${record.fingerprint}`;
    let key = this.opened.get(id);
    if (!key) {
      key = privateKeyFromDer(this.unseal(record.region, record.fingerprint, record.sealedPrivate));
      this.opened.set(id, key);
    }
    return key;
  }

  private seal(region: string, fingerprint: string, plain: Buffer): Buffer {
    const iv = this.opts.random.bytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.opts.masterKey, iv);
    cipher.setAAD(aad(region, fingerprint));
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(SEAL_VERSION), iv, cipher.getAuthTag(), ct]);
  }

  private unseal(region: string, fingerprint: string, sealed: Buffer): Buffer {
    if (sealed[0] !== SEAL_VERSION || sealed.length <= 1 + IV_BYTES + TAG_BYTES) {
      throw new Error(`the digest signing key ${fingerprint} (${region}) is damaged`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.opts.masterKey, sealed.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(aad(region, fingerprint));
    decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error(`the digest signing key ${fingerprint} (${region}) does not open with the data directory's master key`);
    }
  }
}

function aad(region: string, fingerprint: string): Buffer {
  return Buffer.from(`cairn-digest-signing-key:${region}:${fingerprint}`, 'utf8');
}
