/**
 * Group commit for a SQLite database in WAL mode written on the main thread. A hot write
 * (an SQS message sent, an object's metadata) commits with {@link commitUnflushed}, which
 * costs no fsync, and the caller then awaits {@link GroupFlush.flushed} before it answers:
 * one `fsync` of the `-wal` file, run on libuv's thread pool, makes every commit made
 * before it durable. Callers that arrive while an fsync is running share the next one, so
 * under load many acknowledgements cost one disk flush and the event loop never blocks on
 * the disk. The WAL is one ordered file: a flush that covers a commit covers every commit
 * before it too, so acknowledgements never get ahead of what a crash would keep.
 *
 * fsync works on the file, not on the descriptor, so syncing our own descriptor of the
 * `-wal` file flushes what SQLite wrote through its own.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { SqliteDatabase } from './sqlite.js';

/** Waits for earlier unflushed commits to reach the disk. */
export interface GroupFlush {
  /**
   * Resolves once every commit made before the call is on disk.
   *
   * @example
   * commitUnflushed(db, () => insertMessage(row));
   * await flush.flushed();
   * return { MessageId: row.id };
   */
  flushed(): Promise<void>;
  /** Waits for a running flush, then releases the file descriptor. */
  close(): Promise<void>;
}

/**
 * A {@link GroupFlush} for `db`; an in-memory database has nothing to flush.
 *
 * @example
 * const flush = groupFlush(db);
 */
export function groupFlush(db: SqliteDatabase): GroupFlush {
  if (db.memory) return { flushed: () => Promise.resolve(), close: () => Promise.resolve() };
  const walFile = `${db.name}-wal`;
  let fd: number | undefined;
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  const syncOnce = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      // Opened on first use: SQLite creates the -wal file with the first write.
      fd ??= openSync(walFile, 'r');
      // fdatasync, as SQLite itself syncs the WAL: the frames matter, not the file's times.
      fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });

  const start = (): Promise<void> => {
    const run = syncOnce().finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };

  const flushed = (): Promise<void> => {
    if (!running) return start();
    // A commit made after the running fsync began may have missed it: wait for the next one,
    // which everybody arriving meanwhile shares.
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return running ?? start();
      });
    return queued;
  };

  return {
    flushed,
    async close() {
      await (queued ?? running)?.catch(() => undefined);
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
