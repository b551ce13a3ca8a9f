/**
 * The checksums S3 computes over object bytes: MD5 (the ETag), and the "flexible"
 * checksums clients send as `x-amz-checksum-*` (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256,
 * MD5, SHA-512). CRC32 comes from zlib; CRC32C and CRC64NVME are small table-driven
 * implementations because Node ships neither. Values travel base64-encoded, big-endian.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The checksum algorithms Cairn verifies and stores. */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'MD5', 'SHA512'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Narrows a client-supplied algorithm name (any case) to one Cairn knows. */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const upper = name.toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === upper);
}

/** The digest length in bytes of each algorithm, to reject malformed client values early. */
export const CHECKSUM_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
  MD5: 16,
  SHA512: 64,
};

/** An incremental checksum over a byte stream. */
export interface Checksummer {
  update(chunk: Uint8Array): void;
  /** The raw digest; call once. */
  digest(): Buffer;
}

const CRC32C_TABLE = buildCrc32Table(0x82f63b78);

function buildCrc32Table(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

/** CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5), kept as two 32-bit halves for speed. */
const CRC64_TABLES = ((): { hi: Uint32Array; lo: Uint32Array } => {
  const poly = 0x9a6c9329ac4bc9b5n;
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
    hi[i] = Number(c >> 32n);
    lo[i] = Number(c & 0xffffffffn);
  }
  return { hi, lo };
})();

class Crc32 implements Checksummer {
  private value = 0;
  update(chunk: Uint8Array): void {
    this.value = crc32(chunk, this.value);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value >>> 0);
    return out;
  }
}

class Crc32c implements Checksummer {
  private value = 0xffffffff;
  update(chunk: Uint8Array): void {
    let c = this.value;
    for (let i = 0; i < chunk.length; i++) c = (CRC32C_TABLE[(c ^ (chunk[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
    this.value = c;
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.value ^ 0xffffffff) >>> 0);
    return out;
  }
}

class Crc64Nvme implements Checksummer {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Uint8Array): void {
    let hi = this.hi;
    let lo = this.lo;
    const { hi: th, lo: tl } = CRC64_TABLES;
    for (let i = 0; i < chunk.length; i++) {
      const idx = (lo ^ (chunk[i] ?? 0)) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (tl[idx] ?? 0)) >>> 0;
      hi = ((hi >>> 8) ^ (th[idx] ?? 0)) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}

class NodeHash implements Checksummer {
  private readonly hash: Hash;
  constructor(name: string) {
    this.hash = createHash(name);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

/**
 * A fresh checksummer for an algorithm.
 *
 * @example
 * const c = newChecksummer('CRC32C');
 * c.update(Buffer.from('123456789'));
 * c.digest().toString('base64'); // '4waSgw=='
 */
export function newChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new NodeHash('sha1');
    case 'SHA256':
      return new NodeHash('sha256');
    case 'MD5':
      return new NodeHash('md5');
    case 'SHA512':
      return new NodeHash('sha512');
  }
}

/** The base64 checksum of a whole buffer. */
export function checksumOf(algorithm: ChecksumAlgorithm, bytes: Uint8Array): string {
  const c = newChecksummer(algorithm);
  c.update(bytes);
  return c.digest().toString('base64');
}

/** True when `value` is base64 of exactly the algorithm's digest length. */
export function isWellFormedChecksum(algorithm: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return false;
  const raw = Buffer.from(value, 'base64');
  return raw.length === CHECKSUM_LENGTH[algorithm] && raw.toString('base64') === value;
}

/**
 * The checksum of a multipart object built from its parts' checksums (S3's COMPOSITE
 * type): the algorithm over the concatenated raw part digests, then `-<part count>`.
 */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partValues: readonly string[]): string {
  const c = newChecksummer(algorithm);
  for (const v of partValues) c.update(Buffer.from(v, 'base64'));
  return `${c.digest().toString('base64')}-${partValues.length}`;
}

/** The ETag of a multipart object: MD5 over the parts' binary MD5s, then `-<part count>`, quoted. */
export function multipartEtag(partEtags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const e of partEtags) md5.update(Buffer.from(unquoteEtag(e), 'hex'));
  return `"${md5.digest('hex')}-${partEtags.length}"`;
}

/** An ETag without its surrounding quotes (clients send both forms). */
export function unquoteEtag(etag: string): string {
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
