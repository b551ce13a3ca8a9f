/**
 * The CloudWatch stores on the embedded state database: tables `cw_series` and
 * `cw_buckets` (per-second and per-minute aggregates, so restarts keep metric data),
 * `cw_alarms` and `cw_alarm_history`.
 */
import { migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type {
  Aggregate,
  AlarmRecord,
  AlarmStore,
  BucketRecord,
  HistoryItemType,
  HistoryRecord,
  MetricStore,
  Resolution,
  SeriesKey,
  SeriesRecord,
} from './store.js';

const MIGRATIONS = [
  `CREATE TABLE cw_series (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     namespace TEXT NOT NULL,
     metric_name TEXT NOT NULL,
     dimensions TEXT NOT NULL,
     last_put INTEGER NOT NULL,
     UNIQUE (account_id, region, namespace, metric_name, dimensions)
   );
   CREATE TABLE cw_buckets (
     series_id INTEGER NOT NULL,
     resolution INTEGER NOT NULL,
     start INTEGER NOT NULL,
     unit TEXT NOT NULL,
     sample_count REAL NOT NULL,
     sum REAL NOT NULL,
     minimum REAL NOT NULL,
     maximum REAL NOT NULL,
     distinct_values TEXT,
     PRIMARY KEY (series_id, resolution, start, unit)
   ) WITHOUT ROWID;
   CREATE INDEX cw_buckets_by_age ON cw_buckets (resolution, start);
   CREATE TABLE cw_alarms (
     arn TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     name TEXT NOT NULL,
     config TEXT NOT NULL,
     state TEXT NOT NULL,
     UNIQUE (account_id, region, name)
   );
   CREATE TABLE cw_alarm_history (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     alarm_name TEXT NOT NULL,
     item_type TEXT NOT NULL,
     ts INTEGER NOT NULL,
     summary TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX cw_alarm_history_by_time ON cw_alarm_history (account_id, region, ts);`,
];

/** Distinct values kept per bucket for percentiles; past this a bucket keeps only its statistic set. */
export const MAX_DISTINCT_VALUES = 1000;

interface SeriesRow {
  id: number;
  account_id: string;
  region: string;
  namespace: string;
  metric_name: string;
  dimensions: string;
  last_put: number;
}

interface BucketRow {
  series_id: number;
  start: number;
  unit: string;
  sample_count: number;
  sum: number;
  minimum: number;
  maximum: number;
  distinct_values: string | null;
}

function dimensionsText(key: SeriesKey): string {
  return JSON.stringify(key.dimensions.map((d) => [d.name, d.value]));
}

function seriesOf(row: SeriesRow): SeriesRecord {
  const dims = JSON.parse(row.dimensions) as [string, string][];
  return {
    id: row.id,
    accountId: row.account_id,
    region: row.region,
    namespace: row.namespace,
    metricName: row.metric_name,
    dimensions: dims.map(([name, value]) => ({ name, value })),
    lastPut: row.last_put,
  };
}

function valuesText(values: Map<number, number> | undefined): string | null {
  return values ? JSON.stringify([...values]) : null;
}

function valuesOf(text: string | null): Map<number, number> | undefined {
  return text === null ? undefined : new Map(JSON.parse(text) as [number, number][]);
}

/** Merges `b` into `a`'s distinct values; undefined when either has none or there are too many. */
export function mergeValues(a: Map<number, number> | undefined, b: Map<number, number> | undefined): Map<number, number> | undefined {
  if (!a || !b) return undefined;
  const out = new Map(a);
  for (const [v, c] of b) out.set(v, (out.get(v) ?? 0) + c);
  return out.size > MAX_DISTINCT_VALUES ? undefined : out;
}

/** The metric store on SQLite. */
export class SqliteMetricStore implements MetricStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'cloudwatch', MIGRATIONS);
  }

  upsertSeries(key: SeriesKey, now: number): number {
    const dims = dimensionsText(key);
    const row = statement<[number, string, string, string, string, string], { id: number }>(
      this.db,
      `INSERT INTO cw_series (last_put, account_id, region, namespace, metric_name, dimensions) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, region, namespace, metric_name, dimensions) DO UPDATE SET last_put = max(last_put, excluded.last_put)
       RETURNING id`,
    ).get(now, key.accountId, key.region, key.namespace, key.metricName, dims);
    if (!row) throw new Error('series upsert returned nothing');
    return row.id;
  }

  addToBucket(seriesId: number, resolution: Resolution, start: number, unit: string, a: Aggregate): void {
    const existing = statement<[number, number, number, string], BucketRow>(
      this.db,
      'SELECT * FROM cw_buckets WHERE series_id = ? AND resolution = ? AND start = ? AND unit = ?',
    ).get(seriesId, resolution, start, unit);
    if (!existing) {
      statement(this.db, 'INSERT INTO cw_buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        seriesId, resolution, start, unit, a.sampleCount, a.sum, a.minimum, a.maximum, valuesText(a.values),
      );
      return;
    }
    statement(
      this.db,
      `UPDATE cw_buckets SET sample_count = ?, sum = ?, minimum = ?, maximum = ?, distinct_values = ?
       WHERE series_id = ? AND resolution = ? AND start = ? AND unit = ?`,
    ).run(
      existing.sample_count + a.sampleCount,
      existing.sum + a.sum,
      Math.min(existing.minimum, a.minimum),
      Math.max(existing.maximum, a.maximum),
      valuesText(mergeValues(valuesOf(existing.distinct_values), a.values)),
      seriesId, resolution, start, unit,
    );
  }

  findSeries(key: SeriesKey): SeriesRecord | undefined {
    const row = statement<[string, string, string, string, string], SeriesRow>(
      this.db,
      'SELECT * FROM cw_series WHERE account_id = ? AND region = ? AND namespace = ? AND metric_name = ? AND dimensions = ?',
    ).get(key.accountId, key.region, key.namespace, key.metricName, dimensionsText(key));
    return row ? seriesOf(row) : undefined;
  }

  listSeries(accountId: string, region: string | undefined, filter: { namespace?: string; metricName?: string; activeSince: number }): SeriesRecord[] {
    const rows = statement<[string, string | null, string | null, number, string | null, string | null, string | null, string | null], SeriesRow>(
      this.db,
      `SELECT * FROM cw_series WHERE account_id = ? AND (? IS NULL OR region = ?) AND last_put >= ?
         AND (? IS NULL OR namespace = ?) AND (? IS NULL OR metric_name = ?)
       ORDER BY namespace, metric_name, dimensions`,
    ).all(accountId, region ?? null, region ?? null, filter.activeSince, filter.namespace ?? null, filter.namespace ?? null, filter.metricName ?? null, filter.metricName ?? null);
    return rows.map(seriesOf);
  }

  buckets(seriesId: number, resolution: Resolution, from: number, to: number): BucketRecord[] {
    const rows = statement<[number, number, number, number], BucketRow>(
      this.db,
      'SELECT * FROM cw_buckets WHERE series_id = ? AND resolution = ? AND start >= ? AND start < ? ORDER BY start',
    ).all(seriesId, resolution, from, to);
    return rows.map((r) => ({
      seriesId: r.series_id,
      start: r.start,
      unit: r.unit,
      aggregate: { sampleCount: r.sample_count, sum: r.sum, minimum: r.minimum, maximum: r.maximum, values: valuesOf(r.distinct_values) },
    }));
  }

  purge(resolution: Resolution, before: number, staleBefore: number): number {
    const buckets = statement(this.db, 'DELETE FROM cw_buckets WHERE resolution = ? AND start < ?').run(resolution, before).changes;
    statement(this.db, 'DELETE FROM cw_series WHERE last_put < ? AND NOT EXISTS (SELECT 1 FROM cw_buckets WHERE series_id = cw_series.id)').run(staleBefore);
    return buckets;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

interface AlarmRow {
  config: string;
  state: string;
}

interface HistoryRow {
  seq: number;
  account_id: string;
  region: string;
  alarm_name: string;
  item_type: string;
  ts: number;
  summary: string;
  data: string;
}

function alarmOf(row: AlarmRow): AlarmRecord {
  return { config: JSON.parse(row.config) as AlarmRecord['config'], state: JSON.parse(row.state) as AlarmRecord['state'] };
}

/** The alarm store on SQLite. */
export class SqliteAlarmStore implements AlarmStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'cloudwatch', MIGRATIONS);
  }

  put(record: AlarmRecord): void {
    const c = record.config;
    statement(
      this.db,
      `INSERT INTO cw_alarms (arn, account_id, region, name, config, state) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET config = excluded.config, state = excluded.state`,
    ).run(c.arn, c.accountId, c.region, c.name, JSON.stringify(c), JSON.stringify(record.state));
  }

  get(accountId: string, region: string, name: string): AlarmRecord | undefined {
    const row = statement<[string, string, string], AlarmRow>(this.db, 'SELECT config, state FROM cw_alarms WHERE account_id = ? AND region = ? AND name = ?').get(
      accountId,
      region,
      name,
    );
    return row ? alarmOf(row) : undefined;
  }

  getByArn(arn: string): AlarmRecord | undefined {
    const row = statement<[string], AlarmRow>(this.db, 'SELECT config, state FROM cw_alarms WHERE arn = ?').get(arn);
    return row ? alarmOf(row) : undefined;
  }

  list(scope?: { accountId: string; region: string }): AlarmRecord[] {
    const rows = scope
      ? statement<[string, string], AlarmRow>(this.db, 'SELECT config, state FROM cw_alarms WHERE account_id = ? AND region = ? ORDER BY name').all(scope.accountId, scope.region)
      : statement<[], AlarmRow>(this.db, 'SELECT config, state FROM cw_alarms ORDER BY account_id, region, name').all();
    return rows.map(alarmOf);
  }

  delete(accountId: string, region: string, names: readonly string[]): void {
    const del = statement(this.db, 'DELETE FROM cw_alarms WHERE account_id = ? AND region = ? AND name = ?');
    for (const name of names) del.run(accountId, region, name);
  }

  addHistory(item: HistoryRecord): void {
    statement(this.db, 'INSERT INTO cw_alarm_history (account_id, region, alarm_name, item_type, ts, summary, data) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      item.accountId, item.region, item.alarmName, item.type, item.timestamp, item.summary, item.data,
    );
  }

  history(
    accountId: string,
    region: string,
    filter: { alarmName?: string; type?: HistoryItemType; from?: number; to?: number },
  ): (HistoryRecord & { seq: number })[] {
    const rows = statement<[string, string, number, number, string | null, string | null, string | null, string | null], HistoryRow>(
      this.db,
      `SELECT * FROM cw_alarm_history WHERE account_id = ? AND region = ? AND ts >= ? AND ts <= ?
         AND (? IS NULL OR alarm_name = ?) AND (? IS NULL OR item_type = ?) ORDER BY ts, seq`,
    ).all(
      accountId, region, filter.from ?? -8.64e15, filter.to ?? 8.64e15,
      filter.alarmName ?? null, filter.alarmName ?? null, filter.type ?? null, filter.type ?? null,
    );
    return rows.map((r) => ({
      seq: r.seq,
      accountId: r.account_id,
      region: r.region,
      alarmName: r.alarm_name,
      type: r.item_type as HistoryItemType,
      timestamp: r.ts,
      summary: r.summary,
      data: r.data,
    }));
  }

  purgeHistory(before: number): number {
    return statement(this.db, 'DELETE FROM cw_alarm_history WHERE ts < ?').run(before).changes;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
