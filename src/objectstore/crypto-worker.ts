/**
 * The object store's crypto worker thread: MD5 and flexible checksums, and AES-256-GCM
 * sealing and opening, over bodies large enough that doing them on the event loop would
 * hold every other request for milliseconds. Started by crypto-pool.ts; stateless, one
 * request at a time, answers in order.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { newChecksummer, type ChecksumAlgorithm } from './checksums.js';
import type { CryptoReply, CryptoRequest } from './crypto-protocol.js';

/**
 * The memory under large buffers, handed over rather than copied. Whatever memory this
 * thread received or made is its own; large buffers never come from Buffer's small shared
 * pool, which cannot be handed over.
 */
function transferable(...buffers: (Uint8Array | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const b of buffers) {
    const buffer = b?.buffer;
    if (b && buffer instanceof ArrayBuffer && b.byteLength >= 64 * 1024) out.add(buffer);
  }
  return [...out];
}

/** The input, returned when it can go back without a copy, so this thread holds nothing large between requests. */
function handBack(data: Uint8Array): { input?: Uint8Array } {
  return transferable(data).length > 0 ? { input: data } : {};
}

function digests(data: Uint8Array, checksum: ChecksumAlgorithm | undefined): { md5: Buffer; checksum?: Buffer } {
  const md5 = createHash('md5').update(data).digest();
  if (!checksum) return { md5 };
  const sum = newChecksummer(checksum);
  sum.update(data);
  return { md5, checksum: sum.digest() };
}

function handle(req: CryptoRequest): { reply: CryptoReply; transfer: ArrayBuffer[] } {
  switch (req.op) {
    case 'digest':
      return { reply: { id: req.id, ok: true, ...digests(req.data, req.checksum), ...handBack(req.data) }, transfer: transferable(req.data) };
    case 'seal': {
      const hashed = req.digest ? digests(req.data, req.digest.checksum) : {};
      const cipher = createCipheriv('aes-256-gcm', req.key, req.iv);
      // This thread's copy of the data key is needed no longer.
      req.key.fill(0);
      cipher.setAAD(req.aad);
      const out = cipher.update(req.data);
      // GCM's final() yields no bytes, only the tag.
      cipher.final();
      return { reply: { id: req.id, ok: true, out, tag: cipher.getAuthTag(), ...hashed, ...handBack(req.data) }, transfer: transferable(out, req.data) };
    }
    case 'open': {
      const decipher = createDecipheriv('aes-256-gcm', req.key, req.iv);
      req.key.fill(0);
      decipher.setAAD(req.aad);
      decipher.setAuthTag(req.tag);
      const out = decipher.update(req.data);
      decipher.final();
      return { reply: { id: req.id, ok: true, out, ...handBack(req.data) }, transfer: transferable(out, req.data) };
    }
  }
}

parentPort?.on('message', (req: CryptoRequest) => {
  let answer: { reply: CryptoReply; transfer: ArrayBuffer[] };
  try {
    answer = handle(req);
  } catch (e) {
    answer = { reply: { id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) }, transfer: [] };
  }
  parentPort?.postMessage(answer.reply, answer.transfer);
});
