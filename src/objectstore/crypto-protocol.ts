/**
 * The messages between the object store and its crypto worker (crypto-pool.ts,
 * crypto-worker.ts): digests and AES-256-GCM over large bodies.
 */
import type { ChecksumAlgorithm } from './checksums.js';

/**
 * What the worker is asked to do. A seal may also digest the plaintext (MD5, and a
 * flexible checksum), so a body crosses to the worker once for both.
 */
export type CryptoRequest =
  | { id: number; op: 'digest'; data: Uint8Array; checksum?: ChecksumAlgorithm }
  | { id: number; op: 'seal'; key: Uint8Array; iv: Uint8Array; aad: Uint8Array; data: Uint8Array; digest?: { checksum?: ChecksumAlgorithm } }
  | { id: number; op: 'open'; key: Uint8Array; iv: Uint8Array; aad: Uint8Array; tag: Uint8Array; data: Uint8Array };

/**
 * The answer to one request: digests, the output bytes (and a seal's tag), and the input
 * handed back so that the worker keeps no large buffer alive; or why it failed.
 */
export type CryptoReply =
  | { id: number; ok: true; md5?: Uint8Array; checksum?: Uint8Array; out?: Uint8Array; tag?: Uint8Array; input?: Uint8Array }
  | { id: number; ok: false; message: string };
