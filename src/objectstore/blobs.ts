/**
 * The embedded store's byte files: one file per stored segment under
 * `<dir>/blobs/<2 hex>/<32 hex id>`, named by random ids and never by user keys. A write
 * creates its file under its final name, fsyncs it and then fsyncs its directory, and only
 * then does the caller commit metadata naming it; so a file the metadata names is whole
 * and durable, and one a crash interrupted is named by nothing. Such orphans (and files
 * removed from the metadata before they were deleted) are swept when the store opens.
 *
 * The hot path uses libuv's callback file calls, which cost less per call than
 * `fs.promises` file handles, and concurrent writes into one directory share one
 * directory fsync.
 */
import { close, closeSync, fstatSync, fsync, open, openSync, read, readFileSync, readSync, writev, type NoParamCallback } from 'node:fs';
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RandomSource } from '../platform/ids.js';
import type { ObjectBody } from './store.js';

const ID = /^[0-9a-f]{32}$/;

/**
 * Reads up to this many bytes are made with synchronous calls. A small read from the page
 * cache takes microseconds, while each asynchronous step (open, read, close) is a round
 * trip through libuv's thread pool and an event-loop turn; on a busy server those round
 * trips, not the bytes, set a small GET's latency. The bound caps how long one read can
 * hold the event loop when the disk is slow.
 */
const SYNC_READ_MAX = 128 * 1024;
/** Buffers handed to one `writev` call at most (the kernel's IOV_MAX is 1024). */
const MAX_IOV = 512;

/** Bytes to store: one buffer, several written in order (no concatenation), or a stream. */
export type BlobData = ObjectBody | readonly Uint8Array[];

/** Crash-safe blob files in one directory. */
export class BlobFiles {
  private readonly shards = new Set<string>();
  private readonly dirSyncs = new Map<string, CoalescedSync>();

  private constructor(
    private readonly root: string,
    private readonly random: RandomSource,
  ) {}

  /**
   * Opens (creating) the blob directory. Removes `tmp/`, where earlier versions wrote
   * blobs before renaming them into place, with whatever an interrupted write left there.
   */
  static async open(root: string, random: RandomSource): Promise<BlobFiles> {
    await mkdir(join(root, 'blobs'), { recursive: true, mode: 0o700 });
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    return new BlobFiles(root, random);
  }

  /** Closes the directory descriptors kept for fsyncs, after the fsyncs running on them. */
  async close(): Promise<void> {
    const syncs = [...this.dirSyncs.values()];
    this.dirSyncs.clear();
    await Promise.all(syncs.map((s) => s.close()));
  }

  private path(id: string): string {
    // Ids come from our own metadata; checking them keeps a damaged row from naming any other file.
    if (!ID.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.root, 'blobs', id.slice(0, 2), id);
  }

  /**
   * Writes bytes to a new blob; `observe` sees every chunk of a stream (for hashing)
   * before it is written. Resolves once the blob and its directory entry are durable.
   */
  async write(data: BlobData, observe?: (chunk: Uint8Array) => void): Promise<{ id: string; size: number }> {
    const id = this.random.bytes(16).toString('hex');
    const shard = id.slice(0, 2);
    await this.ensureShard(shard);
    const path = this.path(id);
    const fd = await call<number>((cb) => open(path, 'wx', 0o600, cb));
    let size = 0;
    try {
      if (data instanceof Uint8Array || Array.isArray(data)) {
        const chunks: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : (data as readonly Uint8Array[]);
        for (const c of chunks) observe?.(c);
        size = await writeAll(fd, chunks);
      } else {
        for await (const chunk of data as AsyncIterable<Uint8Array>) {
          observe?.(chunk);
          size += await writeAll(fd, [chunk]);
        }
      }
      await call((cb: NoParamCallback) => fsync(fd, cb));
    } catch (e) {
      await call((cb: NoParamCallback) => close(fd, cb)).catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw e;
    }
    // The data is durable; closing cannot lose it, so the directory fsync need not wait for it.
    close(fd, () => undefined);
    try {
      await this.dirSync(shard).flushed();
    } catch (e) {
      await unlink(path).catch(() => undefined);
      throw e;
    }
    return { id, size };
  }

  private dirSync(shard: string): CoalescedSync {
    let sync = this.dirSyncs.get(shard);
    if (!sync) {
      sync = new CoalescedSync(join(this.root, 'blobs', shard));
      this.dirSyncs.set(shard, sync);
    }
    return sync;
  }

  private async ensureShard(shard: string): Promise<void> {
    if (this.shards.has(shard)) return;
    const dir = join(this.root, 'blobs', shard);
    const created = await mkdir(dir, { mode: 0o700 }).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
        return false;
      },
    );
    if (created) await syncDirOnce(join(this.root, 'blobs'));
    this.shards.add(shard);
  }

  /** Bytes `[start, end)` of a blob. */
  async read(id: string, start: number, end: number): Promise<Buffer> {
    const length = Math.max(0, end - start);
    if (length <= SYNC_READ_MAX) return this.readSmall(id, start, end);
    const fd = await call<number>((cb) => open(this.path(id), 'r', cb));
    try {
      return await readFully(fd, id, Buffer.allocUnsafe(length), start);
    } finally {
      close(fd, () => undefined);
    }
  }

  private readSmall(id: string, start: number, end: number): Buffer {
    const fd = openSync(this.path(id), 'r');
    try {
      const out = Buffer.allocUnsafe(Math.max(0, end - start));
      let done = 0;
      while (done < out.length) {
        const bytesRead = readSync(fd, out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`blob ${id} is shorter than its metadata says`);
        done += bytesRead;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The whole blob. `expectedSize` (what the metadata says it holds, roughly) lets a small
   * blob be read in one synchronous call.
   */
  async readAll(id: string, expectedSize?: number): Promise<Buffer> {
    if (expectedSize !== undefined && expectedSize <= SYNC_READ_MAX) return readFileSync(this.path(id));
    const fd = await call<number>((cb) => open(this.path(id), 'r', cb));
    try {
      // fstat of an open descriptor reads the in-memory inode: no disk wait, so no thread-pool trip.
      const { size } = fstatSync(fd);
      return await readFully(fd, id, Buffer.allocUnsafe(size), 0);
    } finally {
      close(fd, () => undefined);
    }
  }

  /** Removes blobs; missing ones are fine (a retry after a crash). */
  async remove(ids: Iterable<string>): Promise<void> {
    // No directory fsync: a removal a crash undoes leaves an orphan, swept at the next open.
    await Promise.all([...ids].map((id) => unlink(this.path(id)).catch(() => undefined)));
  }

  /** Deletes every blob whose id `isReferenced` denies; returns how many. */
  async sweep(isReferenced: (id: string) => boolean): Promise<number> {
    let removed = 0;
    const base = join(this.root, 'blobs');
    for (const shard of await readdir(base)) {
      const dir = join(base, shard);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (ID.test(name) && !isReferenced(name)) {
          await unlink(join(dir, name)).catch(() => undefined);
          removed++;
        }
      }
    }
    return removed;
  }
}

/** A libuv callback call as a promise. */
function call<T = void>(fn: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

/** Writes every chunk in order with as few `writev` calls as the kernel allows; returns the byte count. */
async function writeAll(fd: number, chunks: readonly Uint8Array[]): Promise<number> {
  let pending = chunks.filter((c) => c.length > 0);
  let total = 0;
  while (pending.length > 0) {
    const batch = pending.slice(0, MAX_IOV);
    const written = await call<number>((cb) => writev(fd, batch, null, cb));
    total += written;
    // A short write: continue from the first byte not written.
    let skip = written;
    let i = 0;
    while (i < batch.length && skip >= (batch[i]?.length ?? 0)) skip -= batch[i++]?.length ?? 0;
    const rest = batch.slice(i);
    const first = rest[0];
    if (first && skip > 0) rest[0] = first.subarray(skip);
    pending = [...rest, ...pending.slice(MAX_IOV)];
  }
  return total;
}

async function readFully(fd: number, id: string, out: Buffer, position: number): Promise<Buffer> {
  let done = 0;
  while (done < out.length) {
    const bytesRead = await call<number>((cb) => read(fd, out, done, out.length - done, position + done, cb));
    if (bytesRead === 0) throw new Error(`blob ${id} is shorter than its metadata says`);
    done += bytesRead;
  }
  return out;
}

/** fsync of a directory, opened and closed for the one call (rare: new shard directories). */
async function syncDirOnce(dir: string): Promise<void> {
  const fd = await call<number>((cb) => open(dir, 'r', cb));
  try {
    await call((cb: NoParamCallback) => fsync(fd, cb));
  } finally {
    await call((cb: NoParamCallback) => close(fd, cb));
  }
}

/**
 * fsyncs of one directory shared by concurrent callers: whoever asks while an fsync runs
 * waits for the next one, which covers every entry made before it began. The directory's
 * descriptor is kept open for the next time.
 */
class CoalescedSync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  private async once(): Promise<void> {
    this.fd ??= await call<number>((cb) => open(this.dir, 'r', cb));
    const fd = this.fd;
    await call((cb: NoParamCallback) => fsync(fd, cb));
  }

  private start(): Promise<void> {
    const run = this.once().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Resolves once every entry made in the directory before the call is durable. */
  flushed(): Promise<void> {
    if (!this.running) return this.start();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.running ?? this.start();
      });
    return this.queued;
  }

  async close(): Promise<void> {
    await (this.queued ?? this.running)?.catch(() => undefined);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
