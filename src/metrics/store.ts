/**
 * What the CloudWatch metrics and alarms engines keep: metric series with their per-second
 * and per-minute aggregates, alarms with their state, and alarm history. The engines talk
 * to storage only through {@link MetricStore} and {@link AlarmStore}.
 */
import type { MetricDimension } from '../logs/metrics.js';

/** A statistic set, plus the distinct values seen (for percentiles) while they are few. */
export interface Aggregate {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
  /** Value → count; undefined once a bucket has seen too many distinct values (or a statistic set). */
  values?: Map<number, number>;
}

/** One metric: account, Region, namespace, name and dimensions. */
export interface SeriesKey {
  accountId: string;
  region: string;
  namespace: string;
  metricName: string;
  /** Sorted by name: CloudWatch treats dimensions as a set. */
  dimensions: MetricDimension[];
}

export interface SeriesRecord extends SeriesKey {
  id: number;
  /** When data was last put (ms), for ListMetrics' two weeks and RecentlyActive. */
  lastPut: number;
}

/** One stored bucket of a series. */
export interface BucketRecord {
  seriesId: number;
  /** Bucket start (ms since epoch). */
  start: number;
  unit: string;
  aggregate: Aggregate;
}

/** Per-second buckets hold high-resolution data; per-minute ones every data point. */
export type Resolution = 1_000 | 60_000;

export interface MetricStore {
  /** The series' id, creating it; notes `now` as its last put. */
  upsertSeries(key: SeriesKey, now: number): number;
  /** Merges an aggregate into a bucket. */
  addToBucket(seriesId: number, resolution: Resolution, start: number, unit: string, aggregate: Aggregate): void;
  findSeries(key: SeriesKey): SeriesRecord | undefined;
  /** Series of an account and Region (every Region when undefined), optionally one namespace and name, put to since `activeSince`. */
  listSeries(accountId: string, region: string | undefined, filter: { namespace?: string; metricName?: string; activeSince: number }): SeriesRecord[];
  buckets(seriesId: number, resolution: Resolution, from: number, to: number): BucketRecord[];
  /** Deletes buckets of a resolution older than `before` and series not put to since `staleBefore`. */
  purge(resolution: Resolution, before: number, staleBefore: number): number;
  transaction<T>(fn: () => T): T;
}

export type StateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'missing' | 'ignore' | 'breaching' | 'notBreaching';
export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

/** One query of a metric-math alarm, as PutMetricAlarm's `Metrics` gives it. */
export interface AlarmMetricQuery {
  Id: string;
  MetricStat?: { Metric: { Namespace?: string; MetricName?: string; Dimensions?: { Name: string; Value: string }[] }; Period: number; Stat: string; Unit?: string };
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  Period?: number;
  AccountId?: string;
}

/** An alarm's configuration, as PutMetricAlarm set it. */
export interface AlarmConfig {
  accountId: string;
  region: string;
  name: string;
  arn: string;
  description?: string;
  actionsEnabled: boolean;
  okActions: string[];
  alarmActions: string[];
  insufficientDataActions: string[];
  namespace?: string;
  metricName?: string;
  dimensions: MetricDimension[];
  statistic?: string;
  extendedStatistic?: string;
  period?: number;
  unit?: string;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  treatMissingData?: TreatMissingData;
  evaluateLowSampleCountPercentile?: string;
  metrics?: AlarmMetricQuery[];
  tags: { Key: string; Value: string }[];
  configurationUpdated: number;
}

export interface AlarmState {
  value: StateValue;
  reason: string;
  reasonData?: string;
  /** Last time the state was set (ms). */
  updated: number;
  /** Last time the state changed value (ms). */
  transitioned: number;
}

export interface AlarmRecord {
  config: AlarmConfig;
  state: AlarmState;
}

export type HistoryItemType = 'ConfigurationUpdate' | 'StateUpdate' | 'Action';

export interface HistoryRecord {
  accountId: string;
  region: string;
  alarmName: string;
  type: HistoryItemType;
  timestamp: number;
  summary: string;
  data: string;
}

export interface AlarmStore {
  put(record: AlarmRecord): void;
  get(accountId: string, region: string, name: string): AlarmRecord | undefined;
  getByArn(arn: string): AlarmRecord | undefined;
  /** Alarms of an account and Region by name, or every alarm when no scope is given. */
  list(scope?: { accountId: string; region: string }): AlarmRecord[];
  delete(accountId: string, region: string, names: readonly string[]): void;
  addHistory(item: HistoryRecord): void;
  history(accountId: string, region: string, filter: { alarmName?: string; type?: HistoryItemType; from?: number; to?: number }): (HistoryRecord & { seq: number })[];
  purgeHistory(before: number): number;
  transaction<T>(fn: () => T): T;
}
