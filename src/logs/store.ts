/**
 * What the CloudWatch Logs engine keeps and the store interface it keeps it through: log
 * groups (retention, tags), log streams, log events in (timestamp, id) order, metric and
 * subscription filters, and the trail stream's cursor and logging spans. The embedded
 * implementation is sqlite-store.ts.
 */

/** A log group. */
export interface LogGroupRecord {
  /** Internal key; streams and events hang off it. */
  id: number;
  accountId: string;
  region: string;
  name: string;
  createdAt: number;
  retentionInDays?: number;
  kmsKeyId?: string;
  logGroupClass: string;
  deletionProtection: boolean;
  tags: Record<string, string>;
  storedBytes: number;
}

/** A log stream. */
export interface LogStreamRecord {
  id: number;
  groupId: number;
  name: string;
  createdAt: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  /** PutLogEvents calls so far: the stream's sequence token is derived from it. */
  uploads: number;
}

/** A log event as stored. */
export interface StoredLogEvent {
  /** Dense per database; with the timestamp it orders events that share a millisecond. */
  id: number;
  streamId: number;
  streamName: string;
  timestamp: number;
  ingestionTime: number;
  message: string;
}

/** A position between events: everything ordered after (timestamp, id). */
export interface EventPosition {
  timestamp: number;
  id: number;
}

/** One metric transformation of a metric filter, as the API shapes it. */
export interface MetricTransformation {
  metricName: string;
  metricNamespace: string;
  metricValue: string;
  defaultValue?: number;
  dimensions?: Record<string, string>;
  unit?: string;
}

/** A metric filter of a log group. */
export interface MetricFilterRecord {
  groupId: number;
  groupName: string;
  name: string;
  pattern: string;
  transformations: MetricTransformation[];
  createdAt: number;
}

/** A subscription filter of a log group. */
export interface SubscriptionFilterRecord {
  groupId: number;
  groupName: string;
  name: string;
  pattern: string;
  destinationArn: string;
  roleArn?: string;
  distribution: string;
  createdAt: number;
}

/** A stretch of the event log during which a trail was logging: (after, end]. */
export interface TrailSpan {
  trailArn: string;
  after: number;
  end?: number;
}

/** Which events of a group or stream a read wants. */
export interface EventRange {
  startTime?: number;
  endTime?: number;
  /** Only events after this position (ascending reads) or before it (descending reads). */
  from?: EventPosition;
  descending?: boolean;
  limit: number;
}

/** The engine's storage. Reads and writes are synchronous; `atomically` groups writes. */
export interface LogsStore {
  /**
   * Runs `fn` as one transaction. `flush: false` lets the commit skip its own disk flush,
   * for bookkeeping a replay would redo identically (a cursor passing events that went nowhere).
   */
  atomically<T>(fn: () => T, opts?: { flush?: boolean }): T;

  insertGroup(group: Omit<LogGroupRecord, 'id' | 'storedBytes'>): LogGroupRecord;
  findGroup(accountId: string, region: string, name: string): LogGroupRecord | undefined;
  /** Groups in name order after `afterName`, with names starting with `prefix`. */
  listGroups(accountId: string, region: string, opts: { prefix?: string; afterName?: string; limit: number }): LogGroupRecord[];
  /** Every group with a retention policy, in any account. */
  listGroupsWithRetention(): LogGroupRecord[];
  updateGroup(group: LogGroupRecord): void;
  deleteGroup(id: number): void;

  insertStream(stream: Omit<LogStreamRecord, 'id' | 'uploads'>): LogStreamRecord;
  findStream(groupId: number, name: string): LogStreamRecord | undefined;
  listStreams(
    groupId: number,
    opts: { prefix?: string; orderBy: 'LogStreamName' | 'LastEventTime'; descending: boolean; offset: number; limit: number },
  ): LogStreamRecord[];
  updateStream(stream: LogStreamRecord): void;
  deleteStream(id: number): void;

  /** Appends events (already in order) to a stream; returns them with their ids. */
  insertEvents(groupId: number, stream: LogStreamRecord, events: { timestamp: number; message: string }[], ingestionTime: number): StoredLogEvent[];
  /** A stream's events in (timestamp, id) order. */
  readStream(streamId: number, range: EventRange): StoredLogEvent[];
  /** A group's events in (timestamp, id) order, optionally from some streams only. */
  readGroup(groupId: number, range: EventRange & { streamIds?: number[] }): StoredLogEvent[];
  /** Deletes a group's events older than `timestamp`; returns how many and their bytes. */
  deleteEventsBefore(groupId: number, timestamp: number): { count: number; bytes: number };

  putMetricFilter(filter: MetricFilterRecord): void;
  listMetricFilters(accountId: string, region: string, groupId?: number): MetricFilterRecord[];
  deleteMetricFilter(groupId: number, name: string): boolean;

  putSubscriptionFilter(filter: SubscriptionFilterRecord): void;
  listSubscriptionFilters(groupId: number): SubscriptionFilterRecord[];
  deleteSubscriptionFilter(groupId: number, name: string): boolean;

  /** The trail stream's position in the event log (0 before the first event). */
  trailCursor(): number;
  setTrailCursor(seq: number): void;
  trailSpans(): TrailSpan[];
  putTrailSpan(span: TrailSpan): void;
  deleteTrailSpans(trailArn: string, endBefore: number): void;
}
