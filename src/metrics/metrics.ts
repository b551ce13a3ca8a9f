/**
 * CloudWatch metrics: series of data points put by PutMetricData and by CloudWatch Logs
 * metric filters (this engine is their {@link MetricSink}), kept as per-minute (and, for
 * high-resolution data, per-second) aggregates, and read back as statistics per period
 * (GetMetricStatistics, GetMetricData, alarm evaluation). Every data point lands in both
 * its minute and its second, so periods under a minute (and alarms on them) work for
 * metric filter data too; StorageResolution is checked but changes nothing. Retention
 * follows CloudWatch's: per-second data for 3 hours, per-minute data for 15 days, on the
 * injected clock.
 */
import type { MetricDimension, MetricSink } from '../logs/metrics.js';
import type { Clock } from '../platform/clock.js';
import { cloudwatchErrors } from './errors.js';
import { MAX_DISTINCT_VALUES, mergeValues } from './sqlite-store.js';
import type { Aggregate, MetricStore, Resolution, SeriesKey, SeriesRecord } from './store.js';

const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** How long each resolution is kept, and how long a metric is listed after its last put. */
export const RETENTION = { second: 3 * HOUR, minute: 15 * DAY, listed: 14 * DAY } as const;

/** CloudWatch's range for a data point value (±2^360), NaN and infinities refused. */
const MAX_VALUE = 2 ** 360;

/** One data point of PutMetricData, typed. */
export interface MetricDatumInput {
  MetricName: string;
  Dimensions?: { Name: string; Value: string }[];
  Timestamp?: Date;
  Value?: number;
  Values?: number[];
  Counts?: number[];
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  Unit?: string;
  StorageResolution?: number;
}

/** Which metric a read names. */
export interface MetricRef {
  namespace: string;
  metricName: string;
  dimensions: readonly MetricDimension[];
}

/** One period's statistics. */
export interface PeriodStatistics {
  start: number;
  aggregate: Aggregate;
  /** The unit of the data, when every point in the period had the same one. */
  unit: string;
}

export interface MetricsOptions {
  store: MetricStore;
  clock: Clock;
}

/** Sorts dimensions by name (CloudWatch treats them as a set). */
export function sortDimensions(dims: readonly MetricDimension[]): MetricDimension[] {
  return [...dims].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Merges two aggregates. */
export function mergeAggregates(a: Aggregate, b: Aggregate): Aggregate {
  return {
    sampleCount: a.sampleCount + b.sampleCount,
    sum: a.sum + b.sum,
    minimum: Math.min(a.minimum, b.minimum),
    maximum: Math.max(a.maximum, b.maximum),
    values: mergeValues(a.values, b.values),
  };
}

/**
 * One statistic of an aggregate: SampleCount, Average, Sum, Minimum, Maximum, or a
 * percentile `pNN(.NN)`; undefined when a percentile cannot be computed.
 */
export function statisticOf(a: Aggregate, stat: string): number | undefined {
  switch (stat) {
    case 'SampleCount':
      return a.sampleCount;
    case 'Average':
      return a.sampleCount > 0 ? a.sum / a.sampleCount : undefined;
    case 'Sum':
      return a.sum;
    case 'Minimum':
      return a.minimum;
    case 'Maximum':
      return a.maximum;
  }
  const p = percentileOf(stat);
  if (p === undefined || !a.values) return undefined;
  // Nearest rank over the distinct values and their counts.
  const sorted = [...a.values].sort((x, y) => x[0] - y[0]);
  const total = sorted.reduce((n, [, c]) => n + c, 0);
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [v, c] of sorted) {
    seen += c;
    if (seen >= rank) return v;
  }
  return sorted[sorted.length - 1]?.[0];
}

/** The percentile a `pNN(.NN)` statistic names, or undefined. */
export function percentileOf(stat: string): number | undefined {
  const m = /^p(\d{1,2}(?:\.\d{1,2})?|100)$/.exec(stat);
  if (!m) return undefined;
  const p = Number(m[1]);
  return p >= 0 && p <= 100 ? p : undefined;
}

/** True for a statistic GetMetricData's `Stat` and alarms accept. */
export function isKnownStatistic(stat: string): boolean {
  return ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'].includes(stat) || percentileOf(stat) !== undefined;
}

function checkValue(v: number, where: string): void {
  if (!Number.isFinite(v) || Math.abs(v) > MAX_VALUE || (v !== 0 && Math.abs(v) < 2 ** -260)) {
    throw cloudwatchErrors.invalidParameterValue(`The value ${String(v)} for parameter ${where} is invalid.`);
  }
}

/**
 * The metrics engine.
 *
 * @example
 * const metrics = new Metrics({ store: new SqliteMetricStore(db), clock });
 * metrics.putMetricData(scope, 'App', [{ MetricName: 'Errors', Value: 1 }]);
 */
export class Metrics implements MetricSink {
  constructor(private readonly opts: MetricsOptions) {}

  /** A metric filter's observation (the {@link MetricSink} contract). */
  put(
    accountId: string,
    region: string,
    namespace: string,
    metricName: string,
    dimensions: readonly MetricDimension[],
    value: number,
    unit: string | undefined,
    timestamp: number,
  ): void {
    if (!Number.isFinite(value)) return;
    const key: SeriesKey = { accountId, region, namespace, metricName, dimensions: sortDimensions(dimensions) };
    this.opts.store.transaction(() => this.add(key, unit ?? 'None', timestamp, single(value)));
  }

  /** PutMetricData: validates every datum first, then stores them all in one transaction. */
  putMetricData(scope: { accountId: string; region: string }, namespace: string, data: readonly MetricDatumInput[]): void {
    if (namespace.startsWith('AWS/')) throw cloudwatchErrors.invalidParameterValue('The value AWS/ for parameter Namespace is invalid.');
    if (data.length > 1000) throw cloudwatchErrors.invalidParameterValue('The collection MetricData must not have a size greater than 1000.');
    const now = this.opts.clock.now();
    const items = data.map((d, i) => {
      const where = `MetricData.member.${i + 1}`;
      const kinds = [d.Value !== undefined, d.Values !== undefined, d.StatisticValues !== undefined].filter(Boolean).length;
      if (kinds > 1) throw cloudwatchErrors.invalidParameterCombination(`The parameters ${where}.Value, ${where}.Values and ${where}.StatisticValues are mutually exclusive.`);
      if (kinds === 0) throw cloudwatchErrors.missingParameter(`The parameter ${where}.Value is required.`);
      const timestamp = d.Timestamp ? d.Timestamp.getTime() : now;
      // CloudWatch accepts data up to two weeks old and two hours ahead.
      if (timestamp < now - 14 * DAY || timestamp > now + 2 * HOUR) {
        throw cloudwatchErrors.invalidParameterValue(`The parameter ${where}.Timestamp must specify a time no more than two weeks in the past or two hours in the future.`);
      }
      if (d.StorageResolution !== undefined && d.StorageResolution !== 1 && d.StorageResolution !== 60) {
        throw cloudwatchErrors.invalidParameterValue(`The value ${d.StorageResolution} for parameter ${where}.StorageResolution is invalid.`);
      }
      const names = new Set<string>();
      for (const dim of d.Dimensions ?? []) {
        if (names.has(dim.Name)) throw cloudwatchErrors.invalidParameterValue(`No two dimensions of ${where} may have the same name: ${dim.Name}.`);
        names.add(dim.Name);
      }
      let aggregate: Aggregate;
      if (d.Value !== undefined) {
        checkValue(d.Value, `${where}.Value`);
        aggregate = single(d.Value);
      } else if (d.Values !== undefined) {
        aggregate = fromValues(d.Values, d.Counts, where);
      } else {
        const s = d.StatisticValues;
        if (!s) throw cloudwatchErrors.missingParameter(`The parameter ${where}.Value is required.`);
        for (const [k, v] of Object.entries(s)) checkValue(v, `${where}.StatisticValues.${k}`);
        if (s.SampleCount <= 0 || s.Minimum > s.Maximum) throw cloudwatchErrors.invalidParameterValue(`The parameter ${where}.StatisticValues is invalid.`);
        aggregate = { sampleCount: s.SampleCount, sum: s.Sum, minimum: s.Minimum, maximum: s.Maximum };
      }
      const key: SeriesKey = {
        ...scope,
        namespace,
        metricName: d.MetricName,
        dimensions: sortDimensions((d.Dimensions ?? []).map((x) => ({ name: x.Name, value: x.Value }))),
      };
      return { key, unit: d.Unit ?? 'None', timestamp, aggregate };
    });
    this.opts.store.transaction(() => {
      for (const item of items) this.add(item.key, item.unit, item.timestamp, item.aggregate);
    });
  }

  private add(key: SeriesKey, unit: string, timestamp: number, aggregate: Aggregate): void {
    const id = this.opts.store.upsertSeries(key, Math.max(this.opts.clock.now(), timestamp));
    this.opts.store.addToBucket(id, MINUTE, Math.floor(timestamp / MINUTE) * MINUTE, unit, aggregate);
    this.opts.store.addToBucket(id, SECOND, Math.floor(timestamp / SECOND) * SECOND, unit, aggregate);
  }

  /** The series of a scope matching ListMetrics' filters, listed for two weeks after their last put. */
  listMetrics(
    scope: { accountId: string; region: string },
    filter: { namespace?: string; metricName?: string; dimensions?: { name: string; value?: string }[]; recentlyActive?: boolean },
  ): SeriesRecord[] {
    const now = this.opts.clock.now();
    const activeSince = now - (filter.recentlyActive ? 3 * HOUR : RETENTION.listed);
    return this.opts.store
      .listSeries(scope.accountId, scope.region, {
        activeSince,
        ...(filter.namespace !== undefined ? { namespace: filter.namespace } : {}),
        ...(filter.metricName !== undefined ? { metricName: filter.metricName } : {}),
      })
      .filter((s) => (filter.dimensions ?? []).every((f) => s.dimensions.some((d) => d.name === f.name && (f.value === undefined || d.value === f.value))));
  }

  /**
   * Statistics of one metric per period over [start, end): periods are aligned to
   * multiples of `periodSeconds` since the epoch. Periods under a minute read the
   * per-second (high-resolution) data. Only data of `unit` counts when one is given.
   */
  statistics(scope: { accountId: string; region: string }, metric: MetricRef, periodSeconds: number, start: number, end: number, unit?: string): PeriodStatistics[] {
    const series = this.opts.store.findSeries({ ...scope, namespace: metric.namespace, metricName: metric.metricName, dimensions: sortDimensions(metric.dimensions) });
    if (!series) return [];
    const period = periodSeconds * SECOND;
    const resolution: Resolution = period < MINUTE || period % MINUTE !== 0 ? SECOND : MINUTE;
    const from = Math.floor(start / period) * period;
    const out = new Map<number, PeriodStatistics>();
    for (const b of this.opts.store.buckets(series.id, resolution, from, end)) {
      if (unit !== undefined && b.unit !== unit) continue;
      const at = Math.floor(b.start / period) * period;
      const existing = out.get(at);
      if (existing) {
        existing.aggregate = mergeAggregates(existing.aggregate, b.aggregate);
        if (existing.unit !== b.unit) existing.unit = 'None';
      } else {
        out.set(at, { start: at, aggregate: b.aggregate, unit: b.unit });
      }
    }
    return [...out.values()].sort((a, b) => a.start - b.start);
  }

  /** The sum of every matching series over all stored minutes (what metric filters counted). */
  sum(filter: { accountId: string; region?: string; namespace?: string; metricName?: string }): number {
    let total = 0;
    const series = this.opts.store.listSeries(filter.accountId, filter.region, {
      activeSince: -8.64e15,
      ...(filter.namespace !== undefined ? { namespace: filter.namespace } : {}),
      ...(filter.metricName !== undefined ? { metricName: filter.metricName } : {}),
    });
    for (const s of series) for (const b of this.opts.store.buckets(s.id, MINUTE, -8.64e15, 8.64e15)) total += b.aggregate.sum;
    return total;
  }

  /** Deletes data past its retention by the clock; returns the buckets deleted. */
  applyRetention(): number {
    const now = this.opts.clock.now();
    return this.opts.store.transaction(
      () => this.opts.store.purge(SECOND, now - RETENTION.second, now - RETENTION.minute) + this.opts.store.purge(MINUTE, now - RETENTION.minute, now - RETENTION.minute),
    );
  }
}

function single(value: number): Aggregate {
  return { sampleCount: 1, sum: value, minimum: value, maximum: value, values: new Map([[value, 1]]) };
}

function fromValues(values: readonly number[], counts: readonly number[] | undefined, where: string): Aggregate {
  if (values.length === 0) throw cloudwatchErrors.invalidParameterValue(`The parameter ${where}.Values must not be empty.`);
  if (values.length > 150) throw cloudwatchErrors.invalidParameterValue(`The collection ${where}.Values must not have a size greater than 150.`);
  if (counts !== undefined && counts.length !== values.length) {
    throw cloudwatchErrors.invalidParameterValue(`The parameters ${where}.Values and ${where}.Counts must be of the same size.`);
  }
  let out: Aggregate | undefined;
  values.forEach((v, i) => {
    checkValue(v, `${where}.Values.member.${i + 1}`);
    const c = counts?.[i] ?? 1;
    if (!Number.isFinite(c) || c < 0) throw cloudwatchErrors.invalidParameterValue(`The value ${c} for parameter ${where}.Counts.member.${i + 1} is invalid.`);
    if (c === 0) return;
    const a: Aggregate = { sampleCount: c, sum: v * c, minimum: v, maximum: v, values: new Map([[v, c]]) };
    out = out ? mergeAggregates(out, a) : a;
  });
  if (!out) throw cloudwatchErrors.invalidParameterValue(`The parameter ${where}.Counts must count at least one value.`);
  if (out.values && out.values.size > MAX_DISTINCT_VALUES) delete out.values;
  return out;
}
