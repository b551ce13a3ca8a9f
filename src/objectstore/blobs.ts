/**
 * The embedded store's byte files: one file per stored segment under
 * `<dir>/blobs/<2 hex>/<32 hex id>`, named by random ids and never by user keys. Writes are
 * crash-safe: bytes go to `<dir>/tmp/`, are fsynced, renamed into place and the directory
 * fsynced, so after a crash a blob is either whole or absent. Orphans (written but never
 * committed to the metadata, or removed from it before their file was deleted) are swept
 * when the store opens.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RandomSource } from '../platform/ids.js';
import type { ObjectBody } from './store.js';

const ID = /^[0-9a-f]{32}$/;

/**
 * Reads up to this many bytes are made with synchronous calls. A small read from the page
 * cache takes microseconds, while each asynchronous step (open, stat, read, close) is a
 * round trip through libuv's thread pool and an event-loop turn; on a busy server those
 * round trips, not the bytes, set a small GET's latency. The bound caps how long one read
 * can hold the event loop when the disk is slow.
 */
const SYNC_READ_MAX = 128 * 1024;

/** Crash-safe blob files in one directory. */
export class BlobFiles {
  private readonly shards = new Set<string>();

  private constructor(
    private readonly root: string,
    private readonly random: RandomSource,
  ) {}

  /** Opens (creating) the blob directories and empties the temp directory of interrupted writes. */
  static async open(root: string, random: RandomSource): Promise<BlobFiles> {
    await mkdir(join(root, 'blobs'), { recursive: true, mode: 0o700 });
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o700 });
    return new BlobFiles(root, random);
  }

  private path(id: string): string {
    // Ids come from our own metadata; checking them keeps a damaged row from naming any other file.
    if (!ID.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.root, 'blobs', id.slice(0, 2), id);
  }

  /**
   * Writes a body to a new blob; `observe` sees every chunk (for hashing) before it is
   * written. Resolves once the blob is durable.
   */
  async write(body: ObjectBody, observe: (chunk: Uint8Array) => void): Promise<{ id: string; size: number }> {
    const id = this.random.bytes(16).toString('hex');
    const tmp = join(this.root, 'tmp', id);
    const handle = await open(tmp, 'wx', 0o600);
    let size = 0;
    try {
      if (body instanceof Uint8Array) {
        observe(body);
        await writeAll(handle, body);
        size = body.length;
      } else {
        for await (const chunk of body) {
          observe(chunk);
          await writeAll(handle, chunk);
          size += chunk.length;
        }
      }
      await handle.sync();
    } catch (e) {
      await handle.close();
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await handle.close();
    const shard = id.slice(0, 2);
    await this.ensureShard(shard);
    await rename(tmp, this.path(id));
    await syncDir(join(this.root, 'blobs', shard));
    return { id, size };
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
    if (created) await syncDir(join(this.root, 'blobs'));
    this.shards.add(shard);
  }

  /** Bytes `[start, end)` of a blob. */
  async read(id: string, start: number, end: number): Promise<Buffer> {
    if (end - start <= SYNC_READ_MAX) return this.readSmall(id, start, end);
    const handle = await open(this.path(id), 'r');
    try {
      const out = Buffer.alloc(Math.max(0, end - start));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`blob ${id} is shorter than its metadata says`);
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  private readSmall(id: string, start: number, end: number): Buffer {
    const fd = openSync(this.path(id), 'r');
    try {
      const out = Buffer.alloc(Math.max(0, end - start));
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
   * blob be read in one synchronous call instead of a stat and a read.
   */
  async readAll(id: string, expectedSize?: number): Promise<Buffer> {
    if (expectedSize !== undefined && expectedSize <= SYNC_READ_MAX) return readFileSync(this.path(id));
    const { size } = await stat(this.path(id));
    return this.read(id, 0, size);
  }

  /** Removes blobs; missing ones are fine (a retry after a crash). */
  async remove(ids: Iterable<string>): Promise<void> {
    for (const id of ids) await unlink(this.path(id)).catch(() => undefined);
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

async function writeAll(handle: Awaited<ReturnType<typeof open>>, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
    done += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
