/**
 * CloudTrail's 90-day event history (LookupEvents): management events, or Insights events
 * on request, of one account and Region, newest first, filtered by at most one lookup
 * attribute, read straight from the event log's database through the indexes of
 * schema.ts on a read-only connection of its own (WAL: it sees every committed append and
 * never blocks the writer). Also owns retention: events older than 90 days are never
 * returned, and `purge` has the log delete them.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { EventLog, EventResource } from '../eventlog/eventlog.js';
import { eventLogFiles } from '../eventlog/sqlite-eventlog.js';
import type { RandomSource } from '../platform/ids.js';
import { historyErrors } from './errors.js';
import { HISTORY_SCOPE, historyIndexes, historyMigrations, historyTables } from './schema.js';
import { loadOrCreateTokenKey, PageTokens, type PagePosition } from './token.js';

/** How long events stay visible: CloudTrail's event history covers the last 90 days. */
export const HISTORY_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

/** LookupEvents' page size limit and default. */
export const MAX_LOOKUP_RESULTS = 50;

/** The lookup attribute keys (the model's `LookupAttributeKey`). */
export const LOOKUP_ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;

/** One of {@link LOOKUP_ATTRIBUTE_KEYS}. */
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];

/** The keys Insights events can be looked up by. */
const INSIGHT_KEYS: ReadonlySet<string> = new Set(['EventId', 'EventName', 'EventSource']);

/** AWS counts these characters twice towards an attribute value's 2,000-character limit. */
const DOUBLE_WEIGHT = new Set(['_', ' ', ',', '\n']);
const MAX_ATTRIBUTE_VALUE = 2000;

/** A lookup attribute as the caller gave it; the key is checked by {@link History.lookup}. */
export interface LookupAttribute {
  key: string;
  value: string;
}

/** A LookupEvents request, scoped to the caller's account and Region. */
export interface LookupQuery {
  accountId: string;
  region: string;
  /** At most one (AWS's limit). */
  attributes?: readonly LookupAttribute[];
  /** Inclusive, ms since the epoch; CloudTrail compares whole seconds. */
  startTime?: number;
  /** Inclusive, ms since the epoch. */
  endTime?: number;
  /** 1..50, default 50. */
  maxResults?: number;
  nextToken?: string;
  /** `insight` for Insights events; absent for management events. */
  eventCategory?: string;
}

/** One event of a page (LookupEvents' `Event`). */
export interface HistoryEvent {
  eventId: string;
  eventName: string;
  readOnly: boolean;
  accessKeyId?: string;
  /** ms since the epoch, to the second as the record prints it. */
  eventTime: number;
  eventSource: string;
  username?: string;
  resources: EventResource[];
  /** The stored CloudTrail record, byte for byte. */
  cloudTrailEvent: string;
}

/** A page of events, and the token for the next one if there are more. */
export interface LookupResult {
  events: HistoryEvent[];
  nextToken?: string;
}

/** Options of {@link History}. */
export interface HistoryOptions {
  /** The data directory holding eventlog.db (opened by the event log with {@link historyMigrations} first). */
  dataDir: string;
  /** The log, for retention. */
  log: Pick<EventLog, 'purgeBefore'>;
  /** Key for NextToken MACs; by default the data directory's `history.key`, created on first use with `random`. */
  tokenKey?: Buffer;
  /** Needed only when the key file must be created. */
  random?: RandomSource;
}

interface Row {
  seq: number;
  event_id: string;
  event_time: number;
  event_source: string;
  event_name: string;
  read_only: number;
  username: string | null;
  access_key_id: string | null;
  resources: string | null;
  record: string;
}

interface Params {
  accountId: string;
  region: string;
  category: string;
  value: string | number;
  lo: number;
  hi: number;
  posTime: number;
  posSeq: number;
  limit: number;
}

/** How each lookup reads: which index, and which column holds the attribute. */
type Plan = 'all' | LookupAttributeKey;

const COLUMNS = 'e.seq, e.event_id, e.event_time, e.event_source, e.event_name, e.read_only, e.username, e.access_key_id, e.resources, e.record';

// The page condition: inside [lo, hi], and strictly after the previous page's last event
// in (event_time DESC, seq DESC) order. `event_time <= hi` bounds the index walk; the OR
// only filters the few events sharing the position's millisecond.
function pageWhere(alias: string): string {
  return `${alias}.event_time >= @lo AND ${alias}.event_time <= @hi AND (${alias}.event_time < @posTime OR ${alias}.seq < @posSeq)`;
}

const PAGE_ORDER = 'ORDER BY e.event_time DESC, e.seq DESC LIMIT @limit';

function scopedSql(index: string, column: string | undefined): string {
  return `SELECT ${COLUMNS} FROM events AS e INDEXED BY ${index}
    WHERE e.${HISTORY_SCOPE} AND e.account_id = @accountId AND e.region = @region AND e.category = @category
      ${column ? `AND e.${column} = @value` : ''} AND ${pageWhere('e')}
    ${PAGE_ORDER}`;
}

function resourceSql(table: string, column: string): string {
  return `SELECT ${COLUMNS} FROM ${table} AS r CROSS JOIN events AS e ON e.seq = r.seq
    WHERE r.account_id = @accountId AND r.region = @region AND r.category = @category AND r.${column} = @value
      AND ${pageWhere('r')}
    ORDER BY r.event_time DESC, r.seq DESC LIMIT @limit`;
}

/** The SQL of each lookup plan; exported so tests can EXPLAIN them. */
export const lookupSql: Readonly<Record<Plan, string>> = {
  all: scopedSql(historyIndexes.time, undefined),
  EventName: scopedSql(historyIndexes.eventName, 'event_name'),
  EventSource: scopedSql(historyIndexes.eventSource, 'event_source'),
  Username: scopedSql(historyIndexes.username, 'username'),
  AccessKeyId: scopedSql(historyIndexes.accessKeyId, 'access_key_id'),
  ReadOnly: scopedSql(historyIndexes.readOnly, 'read_only'),
  // Event ids are unique: the lookup finds at most one row, so it needs no ordered walk.
  EventId: `SELECT ${COLUMNS} FROM events AS e INDEXED BY ${historyIndexes.eventId}
    WHERE e.${HISTORY_SCOPE} AND e.event_id = @value AND e.account_id = @accountId AND e.region = @region
      AND e.category = @category AND ${pageWhere('e')}
    ${PAGE_ORDER}`,
  ResourceType: resourceSql(historyTables.resourceTypes, 'resource_type'),
  ResourceName: resourceSql(historyTables.resourceNames, 'resource_name'),
};

function isAttributeKey(key: string): key is LookupAttributeKey {
  return (LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key);
}

function weightedLength(value: string): number {
  let n = 0;
  for (const ch of value) n += DOUBLE_WEIGHT.has(ch) ? 2 : 1;
  return n;
}

function toEvent(row: Row): HistoryEvent {
  const event: HistoryEvent = {
    eventId: row.event_id,
    eventName: row.event_name,
    readOnly: row.read_only !== 0,
    // The record prints eventTime to the second; the lookup result agrees with it.
    eventTime: Math.floor(row.event_time / 1000) * 1000,
    eventSource: row.event_source,
    resources: row.resources === null ? [] : (JSON.parse(row.resources) as EventResource[]),
    cloudTrailEvent: row.record,
  };
  if (row.access_key_id !== null) event.accessKeyId = row.access_key_id;
  if (row.username !== null) event.username = row.username;
  return event;
}

/**
 * The event history engine.
 *
 * @example
 * const { log } = await openSqliteEventLog({ dataDir, migrations: [...historyMigrations] });
 * const history = new History({ dataDir, log, random: cryptoRandom });
 * const page = history.lookup({ accountId, region, attributes: [{ key: 'Username', value: 'alice' }] }, clock.now());
 * const next = history.lookup({ accountId, region, attributes: [...], nextToken: page.nextToken }, clock.now());
 * await history.purge(clock.now(), lowestCursor); // on a timer
 */
export class History {
  private readonly db: Database.Database;
  private readonly statements: Record<Plan, Database.Statement<[Params], Row>>;
  private readonly tokens: PageTokens;
  private readonly log: Pick<EventLog, 'purgeBefore'>;

  /** Opens a read-only connection to `<dataDir>/eventlog.db`; throws if the history migrations were never applied to it. */
  constructor(opts: HistoryOptions) {
    this.log = opts.log;
    const key = opts.tokenKey ?? (opts.random ? loadOrCreateTokenKey(opts.dataDir, opts.random) : undefined);
    if (key === undefined) throw new Error('History needs a tokenKey or a random source to create one');
    this.tokens = new PageTokens(key);
    this.db = new Database(join(opts.dataDir, eventLogFiles.log), { readonly: true, fileMustExist: true });
    try {
      const missing = historyMigrations.filter(
        (m) => this.db.prepare('SELECT 1 FROM applied_migrations WHERE name = ?').get(m.name) === undefined,
      );
      if (missing.length > 0) {
        throw new Error(`eventlog.db lacks the history migrations (${missing.map((m) => m.name).join(', ')}); open the event log with historyMigrations first`);
      }
      const prepare = (sql: string) => this.db.prepare<[Params], Row>(sql);
      this.statements = {
        all: prepare(lookupSql.all),
        EventId: prepare(lookupSql.EventId),
        EventName: prepare(lookupSql.EventName),
        ReadOnly: prepare(lookupSql.ReadOnly),
        Username: prepare(lookupSql.Username),
        ResourceType: prepare(lookupSql.ResourceType),
        ResourceName: prepare(lookupSql.ResourceName),
        EventSource: prepare(lookupSql.EventSource),
        AccessKeyId: prepare(lookupSql.AccessKeyId),
      };
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /**
   * One page of LookupEvents as of `now` (the request's time by the injected clock).
   * Throws AwsError InvalidEventCategoryException, InvalidLookupAttributesException,
   * InvalidMaxResultsException, InvalidTimeRangeException or InvalidNextTokenException.
   */
  lookup(query: LookupQuery, now: number): LookupResult {
    let category: 'Management' | 'Insight' = 'Management';
    if (query.eventCategory !== undefined) {
      if (query.eventCategory !== 'insight') throw historyErrors.invalidEventCategory(query.eventCategory);
      category = 'Insight';
    }

    const attributes = query.attributes ?? [];
    if (attributes.length > 1) throw historyErrors.invalidLookupAttributes('You can specify only one lookup attribute.');
    const attribute = attributes[0];
    let plan: Plan = 'all';
    let value: string | number = '';
    if (attribute !== undefined) {
      const { key } = attribute;
      if (!isAttributeKey(key)) throw historyErrors.invalidLookupAttributes(`'${key}' is not a valid lookup attribute key.`);
      if (category === 'Insight' && !INSIGHT_KEYS.has(key)) {
        throw historyErrors.invalidLookupAttributes(`Insights events cannot be looked up by ${key}; use EventId, EventName or EventSource.`);
      }
      if (typeof attribute.value !== 'string' || attribute.value.length === 0) {
        throw historyErrors.invalidLookupAttributes(`The value of lookup attribute ${key} must not be empty.`);
      }
      if (weightedLength(attribute.value) > MAX_ATTRIBUTE_VALUE) {
        throw historyErrors.invalidLookupAttributes(`The value of lookup attribute ${key} is longer than ${MAX_ATTRIBUTE_VALUE} characters.`);
      }
      plan = key;
      value = attribute.value;
      if (key === 'ReadOnly') {
        if (value !== 'true' && value !== 'false') {
          throw historyErrors.invalidLookupAttributes('The value of lookup attribute ReadOnly must be true or false.');
        }
        value = value === 'true' ? 1 : 0;
      }
    }

    const limit = query.maxResults ?? MAX_LOOKUP_RESULTS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOOKUP_RESULTS) {
      throw historyErrors.invalidMaxResults(`MaxResults must be between 1 and ${MAX_LOOKUP_RESULTS}.`);
    }

    const { startTime, endTime } = query;
    for (const t of [startTime, endTime]) {
      if (t !== undefined && !Number.isSafeInteger(t)) throw historyErrors.invalidTimeRange('The time range is outside the range of possible values.');
    }
    if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
      throw historyErrors.invalidTimeRange('The start time must not be after the end time.');
    }

    // The token is bound to everything that selects events except MaxResults, which a
    // caller may change between pages; start and end as given, since `now` moves.
    const binding = JSON.stringify([query.accountId, query.region, category, attribute?.key ?? null, attribute?.value ?? null, startTime ?? null, endTime ?? null]);
    let position: PagePosition | undefined;
    if (query.nextToken !== undefined) {
      position = this.tokens.verify(binding, query.nextToken);
      if (position === undefined) throw historyErrors.invalidNextToken();
    }

    // Whole seconds, inclusive at both ends, never older than the retention window.
    const retained = now - HISTORY_RETENTION_MS;
    const lo = Math.max(retained, startTime === undefined ? retained : Math.ceil(startTime / 1000) * 1000);
    const hi = Math.min(Number.MAX_SAFE_INTEGER, endTime === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(endTime / 1000) * 1000 + 999);
    if (lo > hi) return { events: [] };

    const rows = this.statements[plan].all({
      accountId: query.accountId,
      region: query.region,
      category,
      value,
      lo,
      hi: position === undefined ? hi : Math.min(hi, position.eventTime),
      posTime: position?.eventTime ?? Number.MAX_SAFE_INTEGER,
      posSeq: position?.seq ?? Number.MAX_SAFE_INTEGER,
      // One more than asked says whether another page exists.
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const result: LookupResult = { events: page.map(toEvent) };
    if (rows.length > limit && last !== undefined) {
      result.nextToken = this.tokens.sign(binding, { eventTime: last.event_time, seq: last.seq });
    }
    return result;
  }

  /**
   * Retention: has the log delete events that left the 90-day window as of `now`, up to
   * `maxSeq` (the lowest cursor of all the log's consumers). Resolves with the count deleted.
   */
  purge(now: number, maxSeq: number): Promise<number> {
    return this.log.purgeBefore(now - HISTORY_RETENTION_MS, maxSeq);
  }

  /** Closes the read-only connection. */
  close(): void {
    this.db.close();
  }
}
