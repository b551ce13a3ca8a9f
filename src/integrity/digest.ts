/**
 * CloudTrail's digest file format, as AWS documents it: where a digest goes in the bucket
 * and what it is called, its JSON fields (in CloudTrail's order), the string its signature
 * covers, and the SHA256withRSA signature itself. Shared by the digest engine (which
 * writes digests) and the validator (which checks them), so the two cannot disagree.
 */
import { createHash, createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';

/** The signature algorithm CloudTrail names in digests and in `x-amz-meta-signature-algorithm`. */
export const SIGNATURE_ALGORITHM = 'SHA256withRSA';
/** The hash algorithm named for log files and previous digests. */
export const HASH_ALGORITHM = 'SHA-256';

/** One log file a digest lists. Times are CloudTrail's `2015-08-17T14:52:27Z` form. */
export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  hashValue: string;
  hashAlgorithm: string;
  newestEventTime: string;
  oldestEventTime: string;
}

/** A digest file's JSON document, with every field CloudTrail writes. */
export interface DigestDocument {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: string | null;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

/** What names a digest's place: the trail, the Region it covers and its end time. */
export interface DigestPlace {
  accountId: string;
  /** The Region whose log files the digest lists (a multi-region trail has one chain per Region). */
  region: string;
  trailName: string;
  homeRegion: string;
  /** The digest's end time (ms); names the date folders and the file. */
  endTime: number;
  s3KeyPrefix?: string;
  /** `o-...` for an organization trail. */
  organizationId?: string;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2015-08-17T15:01:31Z`: CloudTrail's time form (UTC, whole seconds). */
export function formatDigestTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `20150817T150131Z`: the ISO basic form digest names use. */
export function basicTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** The prefix before `AWSLogs`: CloudTrail joins a trail's key prefix with a slash as given. */
function keyPrefix(prefix: string | undefined): string {
  return prefix !== undefined && prefix !== '' ? `${prefix}/` : '';
}

/** `[prefix/]AWSLogs/[o-ID/]ACCOUNT/CloudTrail-Digest/REGION/`: every digest of the account and Region. */
export function digestFolder(place: Omit<DigestPlace, 'endTime' | 'trailName' | 'homeRegion'>): string {
  const org = place.organizationId !== undefined ? `${place.organizationId}/` : '';
  return `${keyPrefix(place.s3KeyPrefix)}AWSLogs/${org}${place.accountId}/CloudTrail-Digest/${place.region}/`;
}

/**
 * A digest's key:
 * `[prefix/]AWSLogs/[o-ID/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ.json.gz`.
 *
 * @example
 * digestKey({ accountId: '111122223333', region: 'us-east-2', trailName: 't', homeRegion: 'us-east-2', endTime });
 */
export function digestKey(place: DigestPlace): string {
  const d = new Date(place.endTime);
  const day = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  return (
    `${digestFolder(place)}${day}/` +
    `${place.accountId}_CloudTrail-Digest_${place.region}_${place.trailName}_${place.homeRegion}_${basicTime(place.endTime)}.json.gz`
  );
}

/** `[prefix/]AWSLogs/[o-ID/]ACCOUNT/CloudTrail/REGION/`: every log file of the account and Region. */
export function logFolder(place: { accountId: string; region: string; s3KeyPrefix?: string; organizationId?: string }): string {
  const org = place.organizationId !== undefined ? `${place.organizationId}/` : '';
  return `${keyPrefix(place.s3KeyPrefix)}AWSLogs/${org}${place.accountId}/CloudTrail/${place.region}/`;
}

/** The JSON text of a digest: CloudTrail's field order, no whitespace. */
export function digestJson(doc: DigestDocument): string {
  const ordered: DigestDocument = {
    awsAccountId: doc.awsAccountId,
    digestStartTime: doc.digestStartTime,
    digestEndTime: doc.digestEndTime,
    digestS3Bucket: doc.digestS3Bucket,
    digestS3Object: doc.digestS3Object,
    digestPublicKeyFingerprint: doc.digestPublicKeyFingerprint,
    digestSignatureAlgorithm: doc.digestSignatureAlgorithm,
    newestEventTime: doc.newestEventTime,
    oldestEventTime: doc.oldestEventTime,
    previousDigestS3Bucket: doc.previousDigestS3Bucket,
    previousDigestS3Object: doc.previousDigestS3Object,
    previousDigestHashValue: doc.previousDigestHashValue,
    previousDigestHashAlgorithm: doc.previousDigestHashAlgorithm,
    previousDigestSignature: doc.previousDigestSignature,
    logFiles: doc.logFiles.map((f) => ({
      s3Bucket: f.s3Bucket,
      s3Object: f.s3Object,
      hashValue: f.hashValue,
      hashAlgorithm: f.hashAlgorithm,
      newestEventTime: f.newestEventTime,
      oldestEventTime: f.oldestEventTime,
    })),
  };
  return JSON.stringify(ordered);
}

/** Hex SHA-256. */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
}

/**
 * The string a digest's signature covers, as the AWS CLI rebuilds it: the end time as
 * written in the digest, `bucket/key`, the hex SHA-256 of the uncompressed digest, and the
 * previous digest's signature (`null` for a chain's first digest), joined by newlines.
 */
export function signingString(fields: {
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  previousDigestSignature: string | null;
}, uncompressed: Uint8Array): string {
  return `${fields.digestEndTime}\n${fields.digestS3Bucket}/${fields.digestS3Object}\n${sha256Hex(uncompressed)}\n${fields.previousDigestSignature ?? 'null'}`;
}

/** SHA256withRSA (PKCS#1 v1.5) over the signing string, hex-encoded. Deterministic for a key. */
export function signDigest(privateKey: KeyObject, toSign: string): string {
  return sign('sha256', Buffer.from(toSign, 'utf8'), privateKey).toString('hex');
}

/** Checks a hex SHA256withRSA signature with a public key; false for malformed input. */
export function verifyDigest(publicKey: KeyObject, toSign: string, signatureHex: string): boolean {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(signatureHex)) return false;
  try {
    return verify('sha256', Buffer.from(toSign, 'utf8'), publicKey, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/** A public key from DER bytes: PKCS#1 `RSAPublicKey` (what ListPublicKeys returns) or SPKI. */
export function publicKeyFromDer(der: Uint8Array): KeyObject {
  const buf = Buffer.from(der);
  try {
    return createPublicKey({ key: buf, format: 'der', type: 'pkcs1' });
  } catch {
    return createPublicKey({ key: buf, format: 'der', type: 'spki' });
  }
}

/** The PKCS#1 DER of a public key, whose hex MD5 is its CloudTrail fingerprint. */
export function pkcs1Der(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs1' });
}

/**
 * A key's fingerprint as CloudTrail writes it in `digestPublicKeyFingerprint` and returns
 * it from ListPublicKeys: the hex MD5 of the key's DER bytes as listed.
 */
export function fingerprintOf(der: Uint8Array): string {
  return createHash('md5').update(der).digest('hex');
}

/** A private key from PKCS#8 DER. */
export function privateKeyFromDer(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/** The time written in a digest key (`...HOMEREGION_20150817T150131Z.json.gz`), in ms; undefined if absent. */
export function digestKeyTime(key: string): number | undefined {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:_backfill)?\.json\.gz$/.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

/** The delivery minute written in a log file key (`..._20150801T0210Z_UNIQUE.json.gz`), in ms. */
export function logFileKeyTime(key: string): number | undefined {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]+\.json\.gz$/.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, mi] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
}
