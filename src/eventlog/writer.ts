/**
 * The event log's single writer, run in its own thread so that fsync never blocks the
 * thread serving HTTP. Group commit: after each transaction it drains every append
 * message that queued up meanwhile (synchronously, with receiveMessageOnPort) and commits
 * them all in the next transaction, so the busier the log, the bigger the batches.
 */
import Database from 'better-sqlite3';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { NewEvent } from './eventlog.js';
import { eventParams, insertEventSql, migrateEventLog, type EventParams } from './schema.js';
import type { FromWriter, ToWriter, WriterOptions } from './writer-protocol.js';

/** Opens the database and serves append messages from `port` until a close message or a failure. */
export function runWriter(port: MessagePort, options: WriterOptions): void {
  const post = (message: FromWriter): void => port.postMessage(message);
  const failed = (e: unknown): FromWriter => {
    const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
    return { kind: 'failed', message: e instanceof Error ? e.message : String(e), ...(code === undefined ? {} : { code }) };
  };

  let db: Database.Database;
  let lock: Database.Database | undefined;
  try {
    lock = holdWriterLock(options.file);
    db = new Database(options.file);
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('cannot put the event log in WAL mode');
    // FULL: in WAL mode this fsyncs the log on every commit, which is what lets append()
    // promise durability; NORMAL would only survive a process crash, not a power loss.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_size_limit = 67108864');
    // Appends touch the tail of the table and of every history index; a cache that holds
    // those tails saves a read syscall per page touched (SQLite's default is 2 MiB).
    db.pragma('cache_size = -65536');
    if (options.maxBytes !== undefined) {
      const pageSize = db.pragma('page_size', { simple: true });
      if (typeof pageSize !== 'number') throw new Error('cannot read the page size');
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
    }
    migrateEventLog(db, options.migrations);
  } catch (e) {
    post(failed(e));
    lock?.close();
    port.close();
    return;
  }
  const heldLock = lock;

  const insert = db.prepare<EventParams>(insertEventSql);
  const highWater = db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
  const commit = db.transaction((batches: NewEvent[][]): number => {
    let last = 0;
    for (const events of batches) {
      for (const e of events) last = Number(insert.run(...eventParams(e)).lastInsertRowid);
    }
    return last;
  });

  // Retention works in windows of purgeBatchEvents consecutive events from the start of
  // the log: each window is one short transaction, and windows are spread over later
  // turns of the event loop so appends queued meanwhile are committed in between.
  const windowEnd = db
    .prepare<[number, number, number], number | null>(
      'SELECT max(seq) FROM (SELECT seq FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?)',
    )
    .pluck();
  const deleteWindow = db.prepare<[number, number, number]>('DELETE FROM events WHERE seq > ? AND seq <= ? AND event_time < ?');
  const purges: { id: number; before: number; maxSeq: number; from: number; deleted: number }[] = [];
  let purgeScheduled = false;

  let open = true;
  const stop = (): void => {
    open = false;
    try {
      db.close();
    } catch {
      // Already failing; the failure has been reported.
    }
    heldLock.close();
    port.close();
  };

  const receive = (): ToWriter | undefined => {
    const received: { message: ToWriter } | undefined = receiveMessageOnPort(port);
    return received?.message;
  };

  // One window of the oldest purge, reporting the purge once it is finished.
  const purgeStep = (): void => {
    const job = purges[0];
    if (job === undefined) return;
    let done = true;
    const end = windowEnd.get(job.from, job.maxSeq, options.purgeBatchEvents);
    if (end !== null && end !== undefined) {
      const deleted = deleteWindow.run(job.from, end, job.before).changes;
      job.deleted += deleted;
      job.from = end;
      // A window with nothing old enough: the rest of the log is newer (it is in time order).
      done = deleted === 0 || end >= job.maxSeq;
    }
    if (done) {
      purges.shift();
      post({ kind: 'purged', id: job.id, deleted: job.deleted });
    }
  };

  const schedulePurge = (): void => {
    if (purgeScheduled || purges.length === 0 || !open) return;
    purgeScheduled = true;
    setImmediate(() => {
      purgeScheduled = false;
      if (!open) return;
      try {
        purgeStep();
      } catch (e) {
        post(failed(e));
        stop();
        return;
      }
      schedulePurge();
    });
  };

  port.on('message', (first: ToWriter) => {
    let message: ToWriter | undefined = first;
    while (message !== undefined && open) {
      const batch: NewEvent[][] = [];
      let events = 0;
      let closing = false;
      for (;;) {
        if (message.kind === 'close') {
          closing = true;
          break;
        }
        if (message.kind === 'purge') {
          purges.push({ id: message.id, before: message.before, maxSeq: message.maxSeq, from: 0, deleted: 0 });
          message = receive();
          if (message === undefined) break;
          continue;
        }
        batch.push(message.events);
        events += message.events.length;
        if (events >= options.maxBatchEvents) break;
        message = receive();
        if (message === undefined) break;
      }
      if (batch.length > 0) {
        try {
          const started = performance.now();
          const lastSeq = commit(batch);
          post({ kind: 'committed', messages: batch.length, events, lastSeq, seconds: (performance.now() - started) / 1000 });
        } catch (e) {
          post(failed(e));
          stop();
          return;
        }
      }
      if (closing) {
        // Purges not finished report what they deleted; the next run picks up the rest.
        for (const job of purges.splice(0)) post({ kind: 'purged', id: job.id, deleted: job.deleted });
        post({ kind: 'closed' });
        stop();
        return;
      }
      message = receive();
    }
    schedulePurge();
  });

  post({ kind: 'ready', lastSeq: highWater.get() ?? 0 });
}

// Seqs are dense and the main thread's lastSeq is right only if this is the one writer, so
// a second process (or a second log in this one) opening the same data directory is
// refused. The lock is an exclusive transaction kept open on a side file: the OS drops it
// when the process dies, even by SIGKILL, so a crash never leaves a stale lock behind.
function holdWriterLock(file: string): Database.Database {
  const lock = new Database(`${file}.lock`, { timeout: 0 });
  try {
    lock.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    lock.close();
    const busy = typeof e === 'object' && e !== null && 'code' in e && e.code === 'SQLITE_BUSY';
    if (busy) throw new Error(`${file} is already open in another event log (is another server using this data directory?)`);
    throw e;
  }
  return lock;
}
