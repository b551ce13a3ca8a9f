/**
 * Digests and AES-256-GCM over large object bodies, run on a worker thread
 * (crypto-worker.ts) instead of the event loop: a 1 MiB body costs milliseconds of MD5
 * and AES, during which every other request would wait. Small bodies are cheaper to do in
 * place than to hand over, so callers use this only from {@link OFFLOAD_MIN} bytes up.
 *
 * Bytes cross without copies where possible: inputs the caller gives away are transferred
 * to the worker, and the worker transfers its outputs back, with the inputs, so that it
 * keeps nothing large alive between requests. The worker starts on first use and does
 * not keep the process alive while idle.
 */
import { Worker } from 'node:worker_threads';
import type { ChecksumAlgorithm } from './checksums.js';
import type { CryptoReply, CryptoRequest } from './crypto-protocol.js';

/** Bodies from this size up are worth a trip to the worker. */
export const OFFLOAD_MIN = 128 * 1024;

/**
 * AES-256-GCM off the event loop; the store lends it to its at-rest transform. Both calls
 * consume their input: its memory may be handed to the worker and be unusable afterwards.
 */
export interface BulkCipher {
  /** Seals `plaintext` under `key`; the ciphertext is as long as the plaintext. */
  sealGcm(key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): Promise<{ ciphertext: Buffer; tag: Buffer }>;
  /** Opens `ciphertext`; rejects when the bytes do not authenticate. */
  openGcm(key: Buffer, iv: Buffer, aad: Buffer, tag: Buffer, ciphertext: Buffer): Promise<Buffer>;
}

/** Digests of a body: MD5 (the ETag) and, when asked for, a flexible checksum. */
export interface BodyDigests {
  md5: Buffer;
  checksum?: Buffer;
}

type Pending = { resolve: (r: Extract<CryptoReply, { ok: true }>) => void; reject: (e: Error) => void };

/** Distributive omit: keeps the union of request shapes apart. */
type RequestBody = CryptoRequest extends infer R ? (R extends CryptoRequest ? Omit<R, 'id'> : never) : never;

/** The worker thread and its outstanding requests. */
export class CryptoPool implements BulkCipher {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /** MD5 (the ETag) and optionally a flexible checksum of `data`, which is copied, not consumed. */
  async digest(data: Buffer, checksum?: ChecksumAlgorithm): Promise<BodyDigests> {
    const r = await this.request({ op: 'digest', data, ...(checksum ? { checksum } : {}) }, []);
    return digestsOf(r);
  }

  /**
   * Seals `plaintext` (consumed); with `digest`, also digests it in the same pass, so the
   * body crosses to the worker once.
   */
  async sealGcm(
    key: Buffer,
    iv: Buffer,
    aad: Buffer,
    plaintext: Buffer,
    digest?: { checksum?: ChecksumAlgorithm },
  ): Promise<{ ciphertext: Buffer; tag: Buffer; digests?: BodyDigests }> {
    const r = await this.request({ op: 'seal', key, iv, aad, data: plaintext, ...(digest ? { digest } : {}) }, giveAway(plaintext));
    if (!r.out || !r.tag) throw new Error('the crypto worker returned no ciphertext');
    return { ciphertext: asBuffer(r.out), tag: asBuffer(r.tag), ...(digest ? { digests: digestsOf(r) } : {}) };
  }

  async openGcm(key: Buffer, iv: Buffer, aad: Buffer, tag: Buffer, ciphertext: Buffer): Promise<Buffer> {
    const r = await this.request({ op: 'open', key, iv, aad, tag, data: ciphertext }, giveAway(ciphertext));
    if (!r.out) throw new Error('the crypto worker returned no plaintext');
    return asBuffer(r.out);
  }

  /** Stops the worker; requests still outstanding fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the object store is closed'));
    await worker?.terminate();
  }

  private request(body: RequestBody, transfer: ArrayBuffer[]): Promise<Extract<CryptoReply, { ok: true }>> {
    if (this.closed) return Promise.reject(new Error('the object store is closed'));
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      try {
        worker.postMessage({ ...body, id }, transfer);
      } catch (e) {
        this.settle(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.unref();
    worker.on('message', (reply: CryptoReply) => {
      const p = this.settle(reply.id);
      if (!p) return;
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(reply.message));
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      // The next request starts a fresh worker.
      this.worker = undefined;
      this.failAll(new Error(`the crypto worker ${why}`));
    };
    worker.on('error', (e) => lost(`failed: ${e.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    return p;
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }
}

function digestsOf(r: Extract<CryptoReply, { ok: true }>): BodyDigests {
  if (!r.md5) throw new Error('the crypto worker returned no digest');
  return { md5: asBuffer(r.md5), ...(r.checksum ? { checksum: asBuffer(r.checksum) } : {}) };
}

/** Bytes the worker sent back, as a Buffer over the same memory. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The memory under bytes the caller gives away, when it can move to the worker whole (never Buffer's small shared pool). */
function giveAway(b: Buffer): ArrayBuffer[] {
  const buffer = b.buffer;
  return buffer instanceof ArrayBuffer && b.byteLength >= OFFLOAD_MIN ? [buffer] : [];
}

// From the compiled build the worker is plain JS next to this module. From sources
// (vitest, tsx) it is TypeScript; Node 20 does not apply `--import tsx` hooks to a
// worker's entry, so a small bootstrap registers tsx inside the worker and then imports it.
function startWorker(): Worker {
  // Bodies live outside the JS heap; the worker's own heap holds only messages, so a small
  // young generation keeps its memory small.
  const resourceLimits = { maxYoungGenerationSizeMb: 2 };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./crypto-worker.js', import.meta.url), { resourceLimits });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./crypto-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [], resourceLimits });
}
