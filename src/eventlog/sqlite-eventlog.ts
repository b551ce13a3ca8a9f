/**
 * The embedded event log: `<dataDir>/eventlog.db` (SQLite, WAL) written by one writer
 * thread with group commit (writer.ts), read on the calling thread through a read-only
 * connection, plus the consumers' cursors in `<dataDir>/cursors.db`.
 */
import Database from 'better-sqlite3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  checkCursor,
  checkNewEvent,
  EventLogError,
  type CursorStore,
  type EventLog,
  type EventLogStats,
  type NewEvent,
  type StoredEvent,
} from './eventlog.js';
import { rowToEvent, selectEventsAfterSql, type EventLogMigration, type EventRow } from './schema.js';
import type { FromWriter, ToWriter, WriterData } from './writer-protocol.js';

/** Options of {@link openSqliteEventLog}. */
export interface SqliteEventLogOptions {
  /** The data directory; created if missing. */
  dataDir: string;
  /** Named schema migrations of other capabilities (e.g. LookupEvents indexes), applied once each at open. */
  migrations?: readonly EventLogMigration[];
  /** Caps eventlog.db's size; reaching the cap fails the log as a full disk would. */
  maxBytes?: number;
  /** Most events in one transaction (default 10,000). */
  maxBatchEvents?: number;
  /** Events a retention transaction examines at most (default 5,000). */
  purgeBatchEvents?: number;
  /** Told of each commit: events committed and the transaction's time, fsync included (metrics). */
  onCommit?: (events: number, seconds: number) => void;
}

/** File names inside the data directory. */
export const eventLogFiles = { log: 'eventlog.db', cursors: 'cursors.db' } as const;

/**
 * Opens (creating or migrating) the embedded event log and its cursor store.
 * Rejects if the database cannot be opened or written.
 *
 * @example
 * const { log, cursors } = await openSqliteEventLog({ dataDir: config.dataDir });
 * const seq = await log.append(event);
 * await log.close();
 */
export async function openSqliteEventLog(opts: SqliteEventLogOptions): Promise<{ log: EventLog; cursors: CursorStore }> {
  await mkdir(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, eventLogFiles.log);
  const { port1: port, port2: writerPort } = new MessageChannel();
  const data: WriterData = {
    port: writerPort,
    options: {
      file,
      migrations: (opts.migrations ?? []).map((m) => ({ name: m.name, sql: m.sql })),
      maxBatchEvents: opts.maxBatchEvents ?? 10_000,
      purgeBatchEvents: opts.purgeBatchEvents ?? 5_000,
      ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }),
    },
  };
  const worker = startWriter(data);
  let lastSeq: number;
  try {
    lastSeq = await writerReady(worker, port);
  } catch (e) {
    port.close();
    await worker.terminate();
    throw e;
  }
  let reader: Database.Database | undefined;
  let cursorDb: Database.Database | undefined;
  try {
    reader = new Database(file, { readonly: true, fileMustExist: true });
    cursorDb = openCursorDb(join(opts.dataDir, eventLogFiles.cursors));
  } catch (e) {
    reader?.close();
    port.close();
    await worker.terminate();
    throw e;
  }
  const log = new SqliteEventLog(worker, port, reader, cursorDb, lastSeq, opts.onCommit);
  return { log, cursors: log.cursors };
}

// From the compiled build the writer is plain JS next to this module. From sources
// (vitest, tsx) it is TypeScript; Node 20 does not apply `--import tsx` hooks to a
// worker's entry, so a small bootstrap registers tsx inside the worker and then imports it.
function startWriter(data: WriterData): Worker {
  const options = { workerData: data, transferList: [data.port] };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./writer-worker.js', import.meta.url), options);
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./writer-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
}

function writerReady(worker: Worker, port: MessagePort): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const cleanup = (): void => {
      port.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: FromWriter): void => {
      cleanup();
      if (m.kind === 'ready') resolve(m.lastSeq);
      else if (m.kind === 'failed') reject(new EventLogError(`cannot open the event log: ${m.message}`));
      else reject(new EventLogError(`unexpected message from the event log writer: ${m.kind}`));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new EventLogError(`the event log writer failed to start: ${e.message}`, { cause: e }));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new EventLogError(`the event log writer exited with code ${code} while starting`));
    };
    port.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

// Cursors live in their own file so that setting one (on this thread, synchronously)
// never waits for the writer thread's lock on eventlog.db. synchronous=NORMAL: a cursor
// survives a process crash; a power loss may take it back a little, which consumers
// tolerate because their outputs are named by the cursor range and retries overwrite.
function openCursorDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS cursors (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID');
  return db;
}

/** An accepted append waiting for its commit. */
interface Pending {
  count: number;
  resolve: (firstSeq: number) => void;
  reject: (error: Error) => void;
}

/** A FIFO without Array#shift's O(n) cost when thousands of messages are in flight. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    // Drop the reference: a taken batch must not stay reachable until the array is compacted.
    this.items[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    // Slots before `head` are the only undefined ones.
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}

class SqliteEventLog implements EventLog {
  readonly cursors: CursorStore;
  private committedSeq: number;
  private readonly listeners = new Set<(lastSeq: number) => void>();
  // Appends of the current tick, posted together in one message by flush().
  private queuedEvents: NewEvent[] = [];
  private queuedPending: Pending[] = [];
  private flushScheduled = false;
  // One entry per message posted and not yet committed, in posting order.
  private readonly inflight = new Fifo<Pending[]>();
  private pendingEvents = 0;
  // Purges posted and not yet answered, by id.
  private readonly purges = new Map<number, { resolve: (deleted: number) => void; reject: (error: Error) => void }>();
  private nextPurgeId = 1;
  private failure: EventLogError | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;
  private readonly counters = { commits: 0, events: 0, maxBatch: 0 };
  private readonly selectAfter: Database.Statement<[number, number, number], EventRow>;

  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly reader: Database.Database,
    private readonly cursorDb: Database.Database,
    lastSeq: number,
    private readonly onCommit?: (events: number, seconds: number) => void,
  ) {
    this.committedSeq = lastSeq;
    this.selectAfter = reader.prepare<[number, number, number], EventRow>(selectEventsAfterSql);
    this.cursors = makeCursorStore(cursorDb, () => this.committedSeq);
    port.on('message', (m: FromWriter) => this.onWriterMessage(m));
    this.exited = new Promise<void>((resolve) => {
      worker.on('exit', (code) => {
        if (this.closing === undefined || this.inflight.drain().length > 0) {
          this.fail(new EventLogError(`the event log writer exited unexpectedly (code ${code})`));
        }
        resolve();
      });
    });
    worker.on('error', (e) => this.fail(new EventLogError(`the event log writer crashed: ${e.message}`, { cause: e })));
    // Keep the process alive only while appends are waiting for their commit, so an
    // idle log never holds a finished program open.
    worker.unref();
    port.unref();
  }

  append(event: NewEvent): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.enqueue([event], { count: 1, resolve, reject });
    });
  }

  appendMany(events: NewEvent[]): Promise<number[]> {
    if (events.length === 0) return this.failure ? Promise.reject(this.failure) : Promise.resolve([]);
    return new Promise<number[]>((resolve, reject) => {
      const count = events.length;
      this.enqueue(events, { count, resolve: (first) => resolve(Array.from({ length: count }, (_, i) => first + i)), reject });
    });
  }

  readAfter(seq: number, limit: number): StoredEvent[] {
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError('readAfter needs an integer seq and a non-negative integer limit');
    }
    // Bounded by the last commit the writer has reported, so nothing is read before
    // onAppend announces it and a cursor set from it is never "past the end".
    return this.selectAfter.all(seq, this.committedSeq, limit).map(rowToEvent);
  }

  lastSeq(): number {
    return this.committedSeq;
  }

  onAppend(listener: (lastSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  purgeBefore(eventTimeMs: number, maxSeq: number): Promise<number> {
    if (!Number.isSafeInteger(eventTimeMs) || !Number.isSafeInteger(maxSeq)) {
      return Promise.reject(new RangeError('purgeBefore needs an integer time in milliseconds and an integer seq'));
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new EventLogError('the event log is closed'));
    return new Promise<number>((resolve, reject) => {
      const id = this.nextPurgeId++;
      this.purges.set(id, { resolve, reject });
      this.holdOpen();
      // Appends accepted earlier in this tick go first, as they would to any caller.
      this.flush();
      this.post({ kind: 'purge', id, before: eventTimeMs, maxSeq });
    });
  }

  stats(): EventLogStats {
    return { ...this.counters, pending: this.pendingEvents };
  }

  unavailable(): string | undefined {
    return this.failure?.message ?? (this.closing ? 'the event log is closed' : undefined);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (!this.failure) {
      this.flush();
      this.post({ kind: 'close' });
      this.worker.ref();
    }
    await this.exited;
    for (const p of this.purges.values()) p.reject(new EventLogError('the event log is closed'));
    this.purges.clear();
    this.port.close();
    this.reader.close();
    this.cursorDb.close();
  }

  // Keep the process alive only while appends or purges wait for the writer.
  private holdOpen(): void {
    if (this.pendingEvents > 0 || this.purges.size > 0) this.port.ref();
    else this.port.unref();
  }

  private enqueue(events: NewEvent[], pending: Pending): void {
    if (this.failure) return pending.reject(this.failure);
    if (this.closing) return pending.reject(new EventLogError('the event log is closed'));
    try {
      for (const e of events) checkNewEvent(e);
    } catch (e) {
      return pending.reject(e as Error);
    }
    for (const e of events) this.queuedEvents.push(e);
    this.queuedPending.push(pending);
    this.pendingEvents += pending.count;
    this.holdOpen();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After this turn of the event loop: every request parsed from the sockets that were
      // readable together joins one message (and so one transaction).
      setImmediate(() => this.flush());
    }
  }

  // One message per turn of the event loop rather than per append: the writer drains all
  // of them into one transaction anyway, and fewer messages cost less on this thread.
  private flush(): void {
    this.flushScheduled = false;
    if (this.queuedPending.length === 0 || this.failure) return;
    this.inflight.push(this.queuedPending);
    this.post({ kind: 'append', events: this.queuedEvents });
    this.queuedEvents = [];
    this.queuedPending = [];
  }

  private post(message: ToWriter): void {
    this.port.postMessage(message);
  }

  private onWriterMessage(m: FromWriter): void {
    switch (m.kind) {
      case 'committed':
        this.onCommit?.(m.events, m.seconds);
        return this.onCommitted(m.messages, m.events, m.lastSeq);
      case 'failed':
        return this.fail(new EventLogError(`the event log cannot be written: ${m.message}`, { cause: m }));
      case 'purged': {
        const purge = this.purges.get(m.id);
        this.purges.delete(m.id);
        purge?.resolve(m.deleted);
        this.holdOpen();
        return;
      }
      case 'ready':
      case 'closed':
        return;
    }
  }

  private onCommitted(messages: number, events: number, lastSeq: number): void {
    let seq = lastSeq - events + 1;
    for (let i = 0; i < messages; i++) {
      const batch = this.inflight.shift();
      if (batch === undefined) break;
      for (const p of batch) {
        p.resolve(seq);
        seq += p.count;
        this.pendingEvents -= p.count;
      }
    }
    if (seq !== lastSeq + 1) {
      this.fail(new EventLogError(`the event log writer reported ${events} events but ${seq - (lastSeq - events + 1)} were waiting`));
      return;
    }
    this.committedSeq = lastSeq;
    this.counters.commits++;
    this.counters.events += events;
    this.counters.maxBatch = Math.max(this.counters.maxBatch, events);
    this.holdOpen();
    // A throwing listener must not keep the others from waking; its error still surfaces.
    let thrown: Error | undefined;
    for (const listener of this.listeners) {
      try {
        listener(lastSeq);
      } catch (e) {
        thrown ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    if (thrown !== undefined) throw thrown;
  }

  private fail(error: EventLogError): void {
    if (this.failure) return;
    this.failure = error;
    const waiting = [...this.inflight.drain().flat(), ...this.queuedPending];
    this.queuedPending = [];
    this.queuedEvents = [];
    this.pendingEvents = 0;
    for (const p of waiting) p.reject(error);
    for (const p of this.purges.values()) p.reject(error);
    this.purges.clear();
    this.port.unref();
    // The writer stops by itself after reporting a failure; this covers the case where
    // this side gave up on it, so that close() does not wait for it forever.
    void this.worker.terminate();
  }
}

function makeCursorStore(db: Database.Database, lastSeq: () => number): CursorStore {
  const select = db.prepare<[string], number>('SELECT seq FROM cursors WHERE consumer = ?').pluck();
  const upsert = db.prepare<[string, number]>(
    'INSERT INTO cursors (consumer, seq) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq',
  );
  return {
    get: (consumer) => select.get(consumer) ?? 0,
    set: (consumer, seq) => {
      checkCursor(consumer, seq, lastSeq());
      upsert.run(consumer, seq);
    },
  };
}
