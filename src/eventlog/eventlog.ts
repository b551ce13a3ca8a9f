/**
 * The event log's contract: the durable, ordered, append-only sequence of CloudTrail
 * records that every call ends in, and the persisted cursors its consumers (history,
 * trails, bus, ...) read it through. Implementations: sqlite-eventlog.ts (embedded) and
 * memory-eventlog.ts (a fake for other capabilities' unit tests).
 */

/** One record about to be appended: the record text plus the fields LookupEvents filters on. */
export interface NewEvent {
  eventId: string;
  /** Milliseconds since the Unix epoch. */
  eventTime: number;
  accountId: string;
  region: string;
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  category: EventCategory;
  username?: string;
  accessKeyId?: string;
  /** For LookupEvents' ResourceType/ResourceName filters. */
  resources?: EventResource[];
  /** The full CloudTrail record as JSON text, stored and returned exactly as given. */
  record: string;
}

/** CloudTrail's eventCategory values. */
export type EventCategory = 'Management' | 'Data' | 'Insight';

/** A resource named by a record (CloudTrail's `resources[]`, as LookupEvents sees it). */
export interface EventResource {
  type: string;
  name: string;
}

/** A record as read back, with its position in the log. */
export interface StoredEvent extends NewEvent {
  /** Dense (1, 2, 3, ...) and never reused, so a consumer's cursor is just a number. */
  seq: number;
}

/** Counters about group commit, for metrics and tests. */
export interface EventLogStats {
  /** Transactions committed (each one fsync). */
  commits: number;
  /** Events committed. */
  events: number;
  /** The most events one commit carried. */
  maxBatch: number;
  /** Appends accepted but not yet committed. */
  pending: number;
}

/**
 * The log. An acknowledged call always has its event: `append` resolves only once the
 * record is durable, and once the log has failed every append rejects, so the server
 * answers 500 rather than acknowledging an unrecorded call.
 *
 * @example
 * const seq = await log.append(event); // durable now; safe to release the response
 * for (const e of log.readAfter(cursors.get('history'), 500)) index(e);
 */
export interface EventLog {
  /** Resolves with the event's seq after a durable commit; rejects with {@link EventLogError}. */
  append(event: NewEvent): Promise<number>;
  /** Appends several events atomically and contiguously (ingestion, import). */
  appendMany(events: NewEvent[]): Promise<number[]>;
  /** Up to `limit` committed events with seq greater than `seq`, in seq order. */
  readAfter(seq: number, limit: number): StoredEvent[];
  /** The highest seq committed so far (0 for an empty log). */
  lastSeq(): number;
  /** Called on the main thread after each commit with the new last seq, so consumers can wake up. Returns an unsubscribe function. */
  onAppend(listener: (lastSeq: number) => void): () => void;
  /** Counters about group commit. */
  stats(): EventLogStats;
  /** Why appends are refused (the log failed or is closed), or undefined while they are accepted. */
  unavailable(): string | undefined;
  /**
   * Retention: deletes committed events with `eventTime < eventTimeMs` and `seq <= maxSeq`
   * (`maxSeq` is the lowest cursor of all consumers, so nothing unread is lost). It works
   * from the start of the log in small transactions that let appends through in between,
   * and stops at the first stretch of events none of which is old enough: the log is in
   * time order, so this costs what it deletes rather than a scan of the whole log, and an
   * event appended out of time order waits for its neighbours. Resolves with the number
   * deleted. Seqs are never reused, so cursors stay meaningful.
   */
  purgeBefore(eventTimeMs: number, maxSeq: number): Promise<number>;
  /** Stops accepting appends, commits everything already accepted, and releases the files. */
  close(): Promise<void>;
}

/** Each consumer's position in the log: the last seq it has fully processed (0 before the first). */
export interface CursorStore {
  /** The consumer's cursor, 0 if it has none yet. */
  get(consumer: string): number;
  /** Persists the consumer's cursor; throws RangeError for a seq the log has not reached. */
  set(consumer: string, seq: number): void;
}

/** Why an append was refused: the log cannot make the record durable (disk full, writer died, closed). */
export class EventLogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventLogError';
  }
}

// A lone surrogate cannot survive the UTF-8 round trip through storage, so such text is
// refused up front instead of coming back altered. String#isWellFormed (Node 20, ES2024,
// newer than our `lib`) is several times faster than a /\p{Cs}/u scan.
const isWellFormed = (value: string): boolean => (value as unknown as { isWellFormed(): boolean }).isWellFormed();

function checkString(value: unknown, field: string, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'string') throw new TypeError(`event.${field} must be a string`);
  if (!isWellFormed(value)) throw new TypeError(`event.${field} contains a lone surrogate`);
}

/**
 * Checks an event's shape at run time, so one malformed event is refused on its own
 * instead of failing the commit it would share with other callers' events.
 * Throws TypeError describing the first problem.
 */
export function checkNewEvent(event: NewEvent): void {
  checkString(event.eventId, 'eventId');
  if (typeof event.eventTime !== 'number' || !Number.isSafeInteger(event.eventTime)) {
    throw new TypeError('event.eventTime must be an integer number of milliseconds');
  }
  checkString(event.accountId, 'accountId');
  checkString(event.region, 'region');
  checkString(event.eventSource, 'eventSource');
  checkString(event.eventName, 'eventName');
  if (typeof event.readOnly !== 'boolean') throw new TypeError('event.readOnly must be a boolean');
  const category: unknown = event.category;
  if (category !== 'Management' && category !== 'Data' && category !== 'Insight') {
    throw new TypeError('event.category must be Management, Data or Insight');
  }
  checkString(event.username, 'username', true);
  checkString(event.accessKeyId, 'accessKeyId', true);
  if (event.resources !== undefined) {
    if (!Array.isArray(event.resources)) throw new TypeError('event.resources must be an array');
    for (const r of event.resources) {
      checkString(r.type, 'resources[].type');
      checkString(r.name, 'resources[].name');
    }
  }
  checkString(event.record, 'record');
}

/** Throws RangeError unless `seq` is a valid cursor position no further than `lastSeq`. */
export function checkCursor(consumer: string, seq: number, lastSeq: number): void {
  if (typeof consumer !== 'string' || consumer.length === 0) throw new RangeError('consumer must be a non-empty string');
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`cursor for ${consumer} must be a non-negative integer`);
  if (seq > lastSeq) throw new RangeError(`cursor for ${consumer} (${seq}) is past the end of the log (${lastSeq})`);
}
