/**
 * The CloudWatch Logs store in the embedded state database: log groups, streams and events
 * (indexed by stream and by group in (timestamp, id) order, so reads page by position
 * rather than offset), metric and subscription filters, and the trail stream's cursor,
 * which commits in the same transaction as the events it covers.
 */
import { commitUnflushed, migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type {
  EventRange,
  LogGroupRecord,
  LogStreamRecord,
  LogsStore,
  MetricFilterRecord,
  StoredLogEvent,
  SubscriptionFilterRecord,
  TrailSpan,
} from './store.js';

const MIGRATIONS = [
  `CREATE TABLE logs_groups (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
     created_at INTEGER NOT NULL, retention_days INTEGER, kms_key_id TEXT,
     log_group_class TEXT NOT NULL, deletion_protection INTEGER NOT NULL,
     tags TEXT NOT NULL, stored_bytes INTEGER NOT NULL DEFAULT 0,
     UNIQUE (account_id, region, name))`,
  `CREATE TABLE logs_streams (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     group_id INTEGER NOT NULL REFERENCES logs_groups(id) ON DELETE CASCADE,
     name TEXT NOT NULL, created_at INTEGER NOT NULL,
     first_event INTEGER, last_event INTEGER, last_ingestion INTEGER,
     uploads INTEGER NOT NULL DEFAULT 0,
     UNIQUE (group_id, name))`,
  `CREATE TABLE logs_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     group_id INTEGER NOT NULL REFERENCES logs_groups(id) ON DELETE CASCADE,
     stream_id INTEGER NOT NULL REFERENCES logs_streams(id) ON DELETE CASCADE,
     timestamp INTEGER NOT NULL, ingestion_time INTEGER NOT NULL, message TEXT NOT NULL)`,
  'CREATE INDEX logs_events_by_stream ON logs_events (stream_id, timestamp, id)',
  'CREATE INDEX logs_events_by_group ON logs_events (group_id, timestamp, id)',
  `CREATE TABLE logs_metric_filters (
     group_id INTEGER NOT NULL REFERENCES logs_groups(id) ON DELETE CASCADE,
     name TEXT NOT NULL, pattern TEXT NOT NULL, transformations TEXT NOT NULL, created_at INTEGER NOT NULL,
     PRIMARY KEY (group_id, name))`,
  `CREATE TABLE logs_subscription_filters (
     group_id INTEGER NOT NULL REFERENCES logs_groups(id) ON DELETE CASCADE,
     name TEXT NOT NULL, pattern TEXT NOT NULL, destination_arn TEXT NOT NULL, role_arn TEXT,
     distribution TEXT NOT NULL, created_at INTEGER NOT NULL,
     PRIMARY KEY (group_id, name))`,
  'CREATE TABLE logs_trail_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL)',
  'CREATE TABLE logs_trail_spans (trail_arn TEXT NOT NULL, after_seq INTEGER NOT NULL, end_seq INTEGER, PRIMARY KEY (trail_arn, after_seq))',
];

interface GroupRow {
  id: number;
  account_id: string;
  region: string;
  name: string;
  created_at: number;
  retention_days: number | null;
  kms_key_id: string | null;
  log_group_class: string;
  deletion_protection: number;
  tags: string;
  stored_bytes: number;
}

interface StreamRow {
  id: number;
  group_id: number;
  name: string;
  created_at: number;
  first_event: number | null;
  last_event: number | null;
  last_ingestion: number | null;
  uploads: number;
}

interface EventRow {
  id: number;
  stream_id: number;
  stream_name: string;
  timestamp: number;
  ingestion_time: number;
  message: string;
}

function toGroup(r: GroupRow): LogGroupRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    region: r.region,
    name: r.name,
    createdAt: r.created_at,
    ...(r.retention_days !== null ? { retentionInDays: r.retention_days } : {}),
    ...(r.kms_key_id !== null ? { kmsKeyId: r.kms_key_id } : {}),
    logGroupClass: r.log_group_class,
    deletionProtection: r.deletion_protection === 1,
    tags: JSON.parse(r.tags) as Record<string, string>,
    storedBytes: r.stored_bytes,
  };
}

function toStream(r: StreamRow): LogStreamRecord {
  return {
    id: r.id,
    groupId: r.group_id,
    name: r.name,
    createdAt: r.created_at,
    ...(r.first_event !== null ? { firstEventTimestamp: r.first_event } : {}),
    ...(r.last_event !== null ? { lastEventTimestamp: r.last_event } : {}),
    ...(r.last_ingestion !== null ? { lastIngestionTime: r.last_ingestion } : {}),
    uploads: r.uploads,
  };
}

function toEvent(r: EventRow): StoredLogEvent {
  return { id: r.id, streamId: r.stream_id, streamName: r.stream_name, timestamp: r.timestamp, ingestionTime: r.ingestion_time, message: r.message };
}

/** `LIKE` with `%` and `_` in the text taken literally. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The embedded store.
 *
 * @example
 * const store = new SqliteLogsStore(openStateDatabase(dataDir));
 */
export class SqliteLogsStore implements LogsStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'logs', MIGRATIONS);
  }

  atomically<T>(fn: () => T, opts?: { flush?: boolean }): T {
    if (this.db.inTransaction) return fn();
    if (opts?.flush === false) return commitUnflushed(this.db, fn);
    return this.db.transaction(fn).immediate();
  }

  insertGroup(group: Omit<LogGroupRecord, 'id' | 'storedBytes'>): LogGroupRecord {
    const info = statement(
      this.db,
      `INSERT INTO logs_groups (account_id, region, name, created_at, retention_days, kms_key_id, log_group_class, deletion_protection, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      group.accountId,
      group.region,
      group.name,
      group.createdAt,
      group.retentionInDays ?? null,
      group.kmsKeyId ?? null,
      group.logGroupClass,
      group.deletionProtection ? 1 : 0,
      JSON.stringify(group.tags),
    );
    return { ...group, id: Number(info.lastInsertRowid), storedBytes: 0 };
  }

  findGroup(accountId: string, region: string, name: string): LogGroupRecord | undefined {
    const row = statement<[string, string, string], GroupRow>(
      this.db,
      'SELECT * FROM logs_groups WHERE account_id = ? AND region = ? AND name = ?',
    ).get(accountId, region, name);
    return row ? toGroup(row) : undefined;
  }

  listGroups(accountId: string, region: string, opts: { prefix?: string; afterName?: string; limit: number }): LogGroupRecord[] {
    const rows = statement<[string, string, string, string, number], GroupRow>(
      this.db,
      `SELECT * FROM logs_groups WHERE account_id = ? AND region = ? AND name LIKE ? ESCAPE '\\' AND name > ?
       ORDER BY name LIMIT ?`,
    ).all(accountId, region, likePrefix(opts.prefix ?? ''), opts.afterName ?? '', opts.limit);
    return rows.map(toGroup);
  }

  listGroupsWithRetention(): LogGroupRecord[] {
    return statement<[], GroupRow>(this.db, 'SELECT * FROM logs_groups WHERE retention_days IS NOT NULL').all().map(toGroup);
  }

  updateGroup(group: LogGroupRecord): void {
    statement(
      this.db,
      'UPDATE logs_groups SET retention_days = ?, kms_key_id = ?, deletion_protection = ?, tags = ?, stored_bytes = ? WHERE id = ?',
    ).run(group.retentionInDays ?? null, group.kmsKeyId ?? null, group.deletionProtection ? 1 : 0, JSON.stringify(group.tags), group.storedBytes, group.id);
  }

  deleteGroup(id: number): void {
    // Events first, by their group index: a cascade would look each stream's up separately.
    statement(this.db, 'DELETE FROM logs_events WHERE group_id = ?').run(id);
    statement(this.db, 'DELETE FROM logs_groups WHERE id = ?').run(id);
  }

  insertStream(stream: Omit<LogStreamRecord, 'id' | 'uploads'>): LogStreamRecord {
    const info = statement(this.db, 'INSERT INTO logs_streams (group_id, name, created_at) VALUES (?, ?, ?)').run(
      stream.groupId,
      stream.name,
      stream.createdAt,
    );
    return { ...stream, id: Number(info.lastInsertRowid), uploads: 0 };
  }

  findStream(groupId: number, name: string): LogStreamRecord | undefined {
    const row = statement<[number, string], StreamRow>(this.db, 'SELECT * FROM logs_streams WHERE group_id = ? AND name = ?').get(groupId, name);
    return row ? toStream(row) : undefined;
  }

  listStreams(
    groupId: number,
    opts: { prefix?: string; orderBy: 'LogStreamName' | 'LastEventTime'; descending: boolean; offset: number; limit: number },
  ): LogStreamRecord[] {
    const dir = opts.descending ? 'DESC' : 'ASC';
    // Streams with no events sort as the oldest, as CloudWatch Logs orders them.
    const order = opts.orderBy === 'LastEventTime' ? `COALESCE(last_event, -1) ${dir}, name ${dir}` : `name ${dir}`;
    const rows = statement<[number, string, number, number], StreamRow>(
      this.db,
      `SELECT * FROM logs_streams WHERE group_id = ? AND name LIKE ? ESCAPE '\\' ORDER BY ${order} LIMIT ? OFFSET ?`,
    ).all(groupId, likePrefix(opts.prefix ?? ''), opts.limit, opts.offset);
    return rows.map(toStream);
  }

  updateStream(stream: LogStreamRecord): void {
    statement(this.db, 'UPDATE logs_streams SET first_event = ?, last_event = ?, last_ingestion = ?, uploads = ? WHERE id = ?').run(
      stream.firstEventTimestamp ?? null,
      stream.lastEventTimestamp ?? null,
      stream.lastIngestionTime ?? null,
      stream.uploads,
      stream.id,
    );
  }

  deleteStream(id: number): void {
    const bytes = statement<[number], { b: number | null }>(this.db, 'SELECT SUM(LENGTH(CAST(message AS BLOB))) AS b FROM logs_events WHERE stream_id = ?').get(id);
    statement(
      this.db,
      'UPDATE logs_groups SET stored_bytes = MAX(0, stored_bytes - ?) WHERE id = (SELECT group_id FROM logs_streams WHERE id = ?)',
    ).run(bytes?.b ?? 0, id);
    statement(this.db, 'DELETE FROM logs_events WHERE stream_id = ?').run(id);
    statement(this.db, 'DELETE FROM logs_streams WHERE id = ?').run(id);
  }

  insertEvents(groupId: number, stream: LogStreamRecord, events: { timestamp: number; message: string }[], ingestionTime: number): StoredLogEvent[] {
    const insert = statement(this.db, 'INSERT INTO logs_events (group_id, stream_id, timestamp, ingestion_time, message) VALUES (?, ?, ?, ?, ?)');
    let bytes = 0;
    const out = events.map((e) => {
      bytes += Buffer.byteLength(e.message);
      const info = insert.run(groupId, stream.id, e.timestamp, ingestionTime, e.message);
      return { id: Number(info.lastInsertRowid), streamId: stream.id, streamName: stream.name, timestamp: e.timestamp, ingestionTime, message: e.message };
    });
    statement(this.db, 'UPDATE logs_groups SET stored_bytes = stored_bytes + ? WHERE id = ?').run(bytes, groupId);
    return out;
  }

  readStream(streamId: number, range: EventRange): StoredLogEvent[] {
    return this.read('e.stream_id = ?', [streamId], range);
  }

  readGroup(groupId: number, range: EventRange & { streamIds?: number[] }): StoredLogEvent[] {
    if (range.streamIds !== undefined) {
      if (range.streamIds.length === 0) return [];
      const marks = range.streamIds.map(() => '?').join(', ');
      return this.read(`e.group_id = ? AND e.stream_id IN (${marks})`, [groupId, ...range.streamIds], range);
    }
    return this.read('e.group_id = ?', [groupId], range);
  }

  private read(where: string, params: number[], range: EventRange): StoredLogEvent[] {
    const clauses = [where];
    const args: number[] = [...params];
    if (range.startTime !== undefined) {
      clauses.push('e.timestamp >= ?');
      args.push(range.startTime);
    }
    if (range.endTime !== undefined) {
      clauses.push('e.timestamp <= ?');
      args.push(range.endTime);
    }
    if (range.from) {
      // Row values compare lexicographically, so the index serves the position directly.
      clauses.push(range.descending ? '(e.timestamp, e.id) < (?, ?)' : '(e.timestamp, e.id) > (?, ?)');
      args.push(range.from.timestamp, range.from.id);
    }
    const dir = range.descending ? 'DESC' : 'ASC';
    const sql = `SELECT e.id, e.stream_id, s.name AS stream_name, e.timestamp, e.ingestion_time, e.message
       FROM logs_events e JOIN logs_streams s ON s.id = e.stream_id
       WHERE ${clauses.join(' AND ')} ORDER BY e.timestamp ${dir}, e.id ${dir} LIMIT ?`;
    return statement<number[], EventRow>(this.db, sql).all(...args, range.limit).map(toEvent);
  }

  deleteEventsBefore(groupId: number, timestamp: number): { count: number; bytes: number } {
    const stats = statement<[number, number], { n: number; b: number | null }>(
      this.db,
      'SELECT COUNT(*) AS n, SUM(LENGTH(CAST(message AS BLOB))) AS b FROM logs_events WHERE group_id = ? AND timestamp < ?',
    ).get(groupId, timestamp);
    if (!stats || stats.n === 0) return { count: 0, bytes: 0 };
    statement(this.db, 'DELETE FROM logs_events WHERE group_id = ? AND timestamp < ?').run(groupId, timestamp);
    const bytes = stats.b ?? 0;
    statement(this.db, 'UPDATE logs_groups SET stored_bytes = MAX(0, stored_bytes - ?) WHERE id = ?').run(bytes, groupId);
    return { count: stats.n, bytes };
  }

  putMetricFilter(filter: MetricFilterRecord): void {
    statement(
      this.db,
      `INSERT INTO logs_metric_filters (group_id, name, pattern, transformations, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern, transformations = excluded.transformations`,
    ).run(filter.groupId, filter.name, filter.pattern, JSON.stringify(filter.transformations), filter.createdAt);
  }

  listMetricFilters(accountId: string, region: string, groupId?: number): MetricFilterRecord[] {
    const rows = statement<
      [string, string, number | null, number | null],
      { group_id: number; group_name: string; name: string; pattern: string; transformations: string; created_at: number }
    >(
      this.db,
      `SELECT f.group_id, g.name AS group_name, f.name, f.pattern, f.transformations, f.created_at
       FROM logs_metric_filters f JOIN logs_groups g ON g.id = f.group_id
       WHERE g.account_id = ? AND g.region = ? AND (? IS NULL OR f.group_id = ?)
       ORDER BY g.name, f.name`,
    ).all(accountId, region, groupId ?? null, groupId ?? null);
    return rows.map((r) => ({
      groupId: r.group_id,
      groupName: r.group_name,
      name: r.name,
      pattern: r.pattern,
      transformations: JSON.parse(r.transformations) as MetricFilterRecord['transformations'],
      createdAt: r.created_at,
    }));
  }

  deleteMetricFilter(groupId: number, name: string): boolean {
    return statement(this.db, 'DELETE FROM logs_metric_filters WHERE group_id = ? AND name = ?').run(groupId, name).changes > 0;
  }

  putSubscriptionFilter(filter: SubscriptionFilterRecord): void {
    statement(
      this.db,
      `INSERT INTO logs_subscription_filters (group_id, name, pattern, destination_arn, role_arn, distribution, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern, destination_arn = excluded.destination_arn,
         role_arn = excluded.role_arn, distribution = excluded.distribution`,
    ).run(filter.groupId, filter.name, filter.pattern, filter.destinationArn, filter.roleArn ?? null, filter.distribution, filter.createdAt);
  }

  listSubscriptionFilters(groupId: number): SubscriptionFilterRecord[] {
    const rows = statement<
      [number],
      { group_id: number; group_name: string; name: string; pattern: string; destination_arn: string; role_arn: string | null; distribution: string; created_at: number }
    >(
      this.db,
      `SELECT f.*, g.name AS group_name FROM logs_subscription_filters f JOIN logs_groups g ON g.id = f.group_id
       WHERE f.group_id = ? ORDER BY f.name`,
    ).all(groupId);
    return rows.map((r) => ({
      groupId: r.group_id,
      groupName: r.group_name,
      name: r.name,
      pattern: r.pattern,
      destinationArn: r.destination_arn,
      ...(r.role_arn !== null ? { roleArn: r.role_arn } : {}),
      distribution: r.distribution,
      createdAt: r.created_at,
    }));
  }

  deleteSubscriptionFilter(groupId: number, name: string): boolean {
    return statement(this.db, 'DELETE FROM logs_subscription_filters WHERE group_id = ? AND name = ?').run(groupId, name).changes > 0;
  }

  trailCursor(): number {
    return statement<[], { seq: number }>(this.db, 'SELECT seq FROM logs_trail_cursor WHERE id = 1').get()?.seq ?? 0;
  }

  setTrailCursor(seq: number): void {
    statement(this.db, 'INSERT INTO logs_trail_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(seq);
  }

  trailSpans(): TrailSpan[] {
    return statement<[], { trail_arn: string; after_seq: number; end_seq: number | null }>(
      this.db,
      'SELECT trail_arn, after_seq, end_seq FROM logs_trail_spans ORDER BY trail_arn, after_seq',
    )
      .all()
      .map((r) => ({ trailArn: r.trail_arn, after: r.after_seq, ...(r.end_seq !== null ? { end: r.end_seq } : {}) }));
  }

  putTrailSpan(span: TrailSpan): void {
    statement(
      this.db,
      `INSERT INTO logs_trail_spans (trail_arn, after_seq, end_seq) VALUES (?, ?, ?)
       ON CONFLICT (trail_arn, after_seq) DO UPDATE SET end_seq = excluded.end_seq`,
    ).run(span.trailArn, span.after, span.end ?? null);
  }

  deleteTrailSpans(trailArn: string, endBefore: number): void {
    statement(this.db, 'DELETE FROM logs_trail_spans WHERE trail_arn = ? AND end_seq IS NOT NULL AND end_seq < ?').run(trailArn, endBefore);
  }
}
