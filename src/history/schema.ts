/**
 * What the event history adds to eventlog.db: the indexes LookupEvents reads through, and
 * the side tables that index each event's resources by type and by name. They are named
 * event log migrations, applied once by the log's writer when it opens, and kept up to
 * date by triggers, so the writer itself knows nothing about them.
 */
import type { EventLogMigration } from '../eventlog/schema.js';

/**
 * The categories LookupEvents can return. Every history index is partial on this exact
 * predicate, so data events (the bulk of a busy log) cost no index work on append; every
 * history query repeats it word for word, which is how SQLite knows the index applies.
 */
export const HISTORY_SCOPE = "category IN ('Management','Insight')";

/** Index names, used with `INDEXED BY` so each lookup's plan is fixed, and by tests. */
export const historyIndexes = {
  time: 'history_events_time',
  eventName: 'history_events_name',
  eventSource: 'history_events_source',
  username: 'history_events_username',
  accessKeyId: 'history_events_access_key',
  readOnly: 'history_events_read_only',
  eventId: 'history_events_event_id',
} as const;

/** Side tables (WITHOUT ROWID: the primary key is the index) for ResourceType and ResourceName. */
export const historyTables = { resourceTypes: 'history_resource_types', resourceNames: 'history_resource_names' } as const;

// Each attribute index starts with the caller's scope and the attribute and ends with the
// event time; the rowid (seq) every SQLite index carries last completes the
// (event_time DESC, seq DESC) order, so a page is a short backwards walk, never a sort.
function scopedIndex(name: string, column: string | undefined): string {
  const columns = ['account_id', 'region', 'category', ...(column ? [column] : []), 'event_time'];
  return `CREATE INDEX ${name} ON events (${columns.join(', ')}) WHERE ${HISTORY_SCOPE};`;
}

// The writer stores `resources` as JSON.stringify's output (schema.ts eventParams), so
// it is valid JSON whenever present; the cheap text test skips the common empty list
// without parsing it, which matters on the append path.
const hasResources = (row: string): string => `${row}.resources IS NOT NULL AND ${row}.resources <> '[]'`;

function resourceTable(table: string, column: string): string {
  return `CREATE TABLE ${table} (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    ${column} TEXT NOT NULL,
    event_time INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, category, ${column}, event_time, seq)
  ) WITHOUT ROWID;`;
}

// One row per resource `field` value of an event (OR IGNORE folds repeats). The trigger
// reads the new row (`new`); the backfill reads every event already in the log (`e`),
// sorted in key order first, which builds the table by appending instead of seeking.
function resourceRows(table: string, column: string, field: string, source: 'new' | 'e'): string {
  const from = source === 'new' ? 'json_each(new.resources) AS j' : `events AS e, json_each(e.resources) AS j`;
  const scope = source === 'new' ? '' : `e.${HISTORY_SCOPE} AND ${hasResources('e')} AND `;
  return `INSERT OR IGNORE INTO ${table} (account_id, region, category, ${column}, event_time, seq)
    SELECT ${source}.account_id, ${source}.region, ${source}.category, j.value ->> '${field}', ${source}.event_time, ${source}.seq
    FROM ${from}
    WHERE ${scope}j.value ->> '${field}' IS NOT NULL${source === 'e' ? ' ORDER BY 1, 2, 3, 4, 5, 6' : ''};`;
}

function resourceDelete(table: string, column: string, field: string): string {
  return `DELETE FROM ${table}
    WHERE account_id = old.account_id AND region = old.region AND category = old.category
      AND ${column} IN (SELECT value ->> '${field}' FROM json_each(old.resources))
      AND event_time = old.event_time AND seq = old.seq;`;
}

const t = historyTables;

const indexesSql = [
  scopedIndex(historyIndexes.time, undefined),
  scopedIndex(historyIndexes.eventName, 'event_name'),
  scopedIndex(historyIndexes.eventSource, 'event_source'),
  scopedIndex(historyIndexes.username, 'username'),
  scopedIndex(historyIndexes.accessKeyId, 'access_key_id'),
  scopedIndex(historyIndexes.readOnly, 'read_only'),
  `CREATE INDEX ${historyIndexes.eventId} ON events (event_id) WHERE ${HISTORY_SCOPE};`,
  resourceTable(t.resourceTypes, 'resource_type'),
  resourceTable(t.resourceNames, 'resource_name'),
  `CREATE TRIGGER history_resources_insert AFTER INSERT ON events
     WHEN new.${HISTORY_SCOPE} AND ${hasResources('new')}
   BEGIN
     ${resourceRows(t.resourceTypes, 'resource_type', 'type', 'new')}
     ${resourceRows(t.resourceNames, 'resource_name', 'name', 'new')}
   END;`,
  // Retention deletes events; their side rows go with them.
  `CREATE TRIGGER history_resources_delete AFTER DELETE ON events
     WHEN old.${HISTORY_SCOPE} AND ${hasResources('old')}
   BEGIN
     ${resourceDelete(t.resourceTypes, 'resource_type', 'type')}
     ${resourceDelete(t.resourceNames, 'resource_name', 'name')}
   END;`,
  // A log that predates the history gets its existing events indexed too.
  resourceRows(t.resourceTypes, 'resource_type', 'type', 'e'),
  resourceRows(t.resourceNames, 'resource_name', 'name', 'e'),
].join('\n');

/**
 * The event log migrations the history needs; pass them to `openSqliteEventLog` (and to
 * any other opener of eventlog.db) before constructing a {@link History}.
 *
 * @example
 * const { log, cursors } = await openSqliteEventLog({ dataDir, migrations: [...historyMigrations] });
 */
export const historyMigrations: readonly EventLogMigration[] = [{ name: 'history/1-lookup-indexes', sql: indexesSql }];
