/**
 * The SQLite schema of eventlog.db and its migrations, plus the row <-> event mapping.
 * The core schema is versioned with `PRAGMA user_version`; other capabilities (history's
 * LookupEvents indexes, retention) add their own named migrations, applied once each by
 * the writer when the log opens.
 */
import type { Database } from 'better-sqlite3';
import type { EventCategory, EventResource, NewEvent, StoredEvent } from './eventlog.js';

/** The core schema version this code writes (`PRAGMA user_version`). */
export const EVENTLOG_SCHEMA_VERSION = 1;

/** A migration another capability contributes, e.g. `CREATE INDEX ... ON events(event_name, event_time)`. */
export interface EventLogMigration {
  /** Unique and stable forever: a migration runs once per database, recorded under this name. */
  name: string;
  /** One or more SQL statements, run in one transaction. */
  sql: string;
}

// Index i brings the schema from version i to i + 1. AUTOINCREMENT (not just INTEGER
// PRIMARY KEY) so that seqs are never reused even after retention deletes the newest
// rows; consumers' cursors stay meaningful forever.
const coreMigrations: readonly string[] = [
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     event_id TEXT NOT NULL,
     event_time INTEGER NOT NULL,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     event_source TEXT NOT NULL,
     event_name TEXT NOT NULL,
     read_only INTEGER NOT NULL,
     category TEXT NOT NULL,
     username TEXT,
     access_key_id TEXT,
     resources TEXT,
     record TEXT NOT NULL
   );
   CREATE TABLE applied_migrations (name TEXT PRIMARY KEY) WITHOUT ROWID;`,
];

/**
 * Brings the database to the current core schema, then applies the named migrations not
 * applied yet. Each step runs in its own transaction. Refuses a database written by a
 * newer version.
 */
export function migrateEventLog(db: Database, extra: readonly EventLogMigration[] = []): void {
  const current = db.pragma('user_version', { simple: true });
  if (typeof current !== 'number') throw new Error('cannot read the event log schema version');
  if (current > EVENTLOG_SCHEMA_VERSION) {
    throw new Error(`the event log has schema version ${current}; this build understands up to ${EVENTLOG_SCHEMA_VERSION}`);
  }
  for (let v = current; v < EVENTLOG_SCHEMA_VERSION; v++) {
    const sql = coreMigrations[v];
    if (sql === undefined) throw new Error(`no migration from event log schema version ${v}`);
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  const applied = db.prepare<[string], { name: string }>('SELECT name FROM applied_migrations WHERE name = ?');
  const record = db.prepare<[string]>('INSERT INTO applied_migrations (name) VALUES (?)');
  for (const m of extra) {
    if (applied.get(m.name)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.name);
    })();
  }
}

/** Column order of {@link insertEventSql}; the writer binds {@link eventParams} in this order. */
export const insertEventSql = `INSERT INTO events (event_id, event_time, account_id, region, event_source, event_name,
  read_only, category, username, access_key_id, resources, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Bind parameters for {@link insertEventSql}. */
export type EventParams = [string, number, string, string, string, string, number, string, string | null, string | null, string | null, string];

/** An event as {@link insertEventSql}'s parameters. */
export function eventParams(e: NewEvent): EventParams {
  return [
    e.eventId,
    e.eventTime,
    e.accountId,
    e.region,
    e.eventSource,
    e.eventName,
    e.readOnly ? 1 : 0,
    e.category,
    e.username ?? null,
    e.accessKeyId ?? null,
    e.resources === undefined ? null : JSON.stringify(e.resources.map((r) => ({ type: r.type, name: r.name }))),
    e.record,
  ];
}

/** The row shape {@link selectEventsAfterSql} returns. */
export interface EventRow {
  seq: number;
  event_id: string;
  event_time: number;
  account_id: string;
  region: string;
  event_source: string;
  event_name: string;
  read_only: number;
  category: string;
  username: string | null;
  access_key_id: string | null;
  resources: string | null;
  record: string;
}

/** Parameters: (afterSeq, upToSeq, limit). */
export const selectEventsAfterSql = `SELECT seq, event_id, event_time, account_id, region, event_source, event_name,
  read_only, category, username, access_key_id, resources, record FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`;

/** A stored row as an event; absent optional fields stay absent rather than `undefined`. */
export function rowToEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = {
    seq: row.seq,
    eventId: row.event_id,
    eventTime: row.event_time,
    accountId: row.account_id,
    region: row.region,
    eventSource: row.event_source,
    eventName: row.event_name,
    readOnly: row.read_only !== 0,
    category: row.category as EventCategory,
    record: row.record,
  };
  if (row.username !== null) event.username = row.username;
  if (row.access_key_id !== null) event.accessKeyId = row.access_key_id;
  if (row.resources !== null) event.resources = JSON.parse(row.resources) as EventResource[];
  return event;
}
