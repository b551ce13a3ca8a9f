/**
 * The messages between the event log (main thread) and its writer thread. Kept in one
 * module so both sides agree on them; structured-clone friendly plain data only.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NewEvent } from './eventlog.js';
import type { EventLogMigration } from './schema.js';

/** What the writer needs to open the database. */
export interface WriterOptions {
  /** Path of eventlog.db. */
  file: string;
  migrations: EventLogMigration[];
  /** Upper bound on the database size; reaching it fails the log like a full disk. */
  maxBytes?: number;
  /** Upper bound on events per transaction, to bound commit latency and memory. */
  maxBatchEvents: number;
  /** Events examined per retention transaction, so a purge never holds the writer long. */
  purgeBatchEvents: number;
}

/** `workerData` of the writer thread; `port` is transferred. */
export interface WriterData {
  port: MessagePort;
  options: WriterOptions;
}

/**
 * Main thread -> writer. Appends and close are processed strictly in order; a purge is
 * started in order and then runs a batch at a time between later appends.
 */
export type ToWriter =
  | { kind: 'append'; events: NewEvent[] }
  /** Retention: delete events with event_time < `before` and seq <= `maxSeq`; answered by `purged` with the same id. */
  | { kind: 'purge'; id: number; before: number; maxSeq: number }
  | { kind: 'close' };

/** Writer -> main thread. */
export type FromWriter =
  /** The database is open and migrated; `lastSeq` is the highest seq ever assigned. */
  | { kind: 'ready'; lastSeq: number }
  /** The next `messages` append messages were committed durably as one transaction ending at `lastSeq`. */
  | { kind: 'committed'; messages: number; events: number; lastSeq: number; seconds: number }
  /** The writer cannot go on; nothing after the last `committed` was stored. */
  | { kind: 'failed'; message: string; code?: string }
  /** The purge `id` is finished (or cut short by close) after deleting `deleted` events. */
  | { kind: 'purged'; id: number; deleted: number }
  /** Everything before `close` is committed and the database is closed. */
  | { kind: 'closed' };
