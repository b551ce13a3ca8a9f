/**
 * An in-memory event log and cursor store with the same contract as the SQLite one, for
 * other capabilities' unit tests. Commits happen on a microtask, one commit per tick, so
 * listeners and promise ordering behave like the real log; `fail()` simulates a writer
 * failure (disk full) so callers' 500 paths can be tested.
 */
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

/** The fake log, with test controls. */
export interface MemoryEventLog extends EventLog {
  /** Makes pending and later appends reject, as a failed disk would. */
  fail(error?: Error): void;
  /** Every committed event, in seq order. */
  all(): StoredEvent[];
}

/**
 * Creates an empty in-memory log and cursor store.
 *
 * @example
 * const { log, cursors } = createMemoryEventLog();
 * await log.append(event);
 * expect(log.all()).toHaveLength(1);
 */
export function createMemoryEventLog(): { log: MemoryEventLog; cursors: CursorStore } {
  // Committed events in seq order; retention removes from the front, so the position
  // of an event is not its seq and `lastSeq` is kept on its own.
  let events: StoredEvent[] = [];
  let lastSeq = 0;
  const listeners = new Set<(lastSeq: number) => void>();
  const cursorMap = new Map<string, number>();
  const counters = { commits: 0, events: 0, maxBatch: 0 };
  let queue: { events: NewEvent[]; resolve: (first: number) => void; reject: (e: Error) => void }[] = [];
  let failure: EventLogError | undefined;
  let closed = false;
  let scheduled = false;

  const commit = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let size = 0;
    for (const item of batch) {
      const first = lastSeq + 1;
      // Copies, so that a caller mutating its object later cannot rewrite history.
      for (const e of item.events) events.push(structuredClone({ ...e, seq: ++lastSeq }));
      size += item.events.length;
      item.resolve(first);
    }
    counters.commits++;
    counters.events += size;
    counters.maxBatch = Math.max(counters.maxBatch, size);
    for (const l of listeners) l(lastSeq);
  };

  const enqueue = (batch: NewEvent[], resolve: (first: number) => void, reject: (e: Error) => void): void => {
    if (failure) return reject(failure);
    if (closed) return reject(new EventLogError('the event log is closed'));
    if (batch.length === 0) return resolve(lastSeq + 1);
    try {
      for (const e of batch) checkNewEvent(e);
    } catch (e) {
      return reject(e as Error);
    }
    queue.push({ events: batch, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(commit);
    }
  };

  const log: MemoryEventLog = {
    append: (event) => new Promise<number>((resolve, reject) => enqueue([event], resolve, reject)),
    appendMany: (batch) =>
      new Promise<number[]>((resolve, reject) =>
        enqueue(batch, (first) => resolve(batch.map((_, i) => first + i)), reject),
      ),
    readAfter: (seq, limit) => {
      const start = events.findIndex((e) => e.seq > seq);
      return start < 0 ? [] : events.slice(start, start + limit).map((e) => structuredClone(e));
    },
    lastSeq: () => lastSeq,
    onAppend: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    purgeBefore: async (eventTimeMs, maxSeq) => {
      if (!Number.isSafeInteger(eventTimeMs) || !Number.isSafeInteger(maxSeq)) {
        throw new RangeError('purgeBefore needs an integer time in milliseconds and an integer seq');
      }
      if (failure) throw failure;
      if (closed) throw new EventLogError('the event log is closed');
      const before = events.length;
      events = events.filter((e) => !(e.eventTime < eventTimeMs && e.seq <= maxSeq));
      return before - events.length;
    },
    unavailable: () => failure?.message ?? (closed ? 'the event log is closed' : undefined),
    stats: (): EventLogStats => ({ ...counters, pending: queue.reduce((n, q) => n + q.events.length, 0) }),
    close: async () => {
      closed = true;
      commit();
    },
    fail: (error) => {
      failure = new EventLogError(`the event log cannot be written: ${error?.message ?? 'simulated failure'}`, { cause: error });
      const waiting = queue;
      queue = [];
      for (const q of waiting) q.reject(failure);
    },
    all: () => events.map((e) => structuredClone(e)),
  };

  const cursors: CursorStore = {
    get: (consumer) => cursorMap.get(consumer) ?? 0,
    set: (consumer, seq) => {
      checkCursor(consumer, seq, lastSeq);
      cursorMap.set(consumer, seq);
    },
  };
  return { log, cursors };
}
