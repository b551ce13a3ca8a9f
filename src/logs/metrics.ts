/**
 * Where metric filters put what they count: {@link MetricSink} is the narrow interface the
 * CloudWatch metrics engine implements, and {@link MemoryMetricSink} a real aggregator
 * (per-minute statistic sets per series, as CloudWatch stores metric filter data) that
 * tests use and the metrics engine may reuse.
 */

/** One metric dimension. */
export interface MetricDimension {
  name: string;
  value: string;
}

/** Receives the data points metric filters produce. */
export interface MetricSink {
  /** One observation of a metric at `timestamp` (ms since epoch). */
  put(
    accountId: string,
    region: string,
    namespace: string,
    metricName: string,
    dimensions: readonly MetricDimension[],
    value: number,
    unit: string | undefined,
    timestamp: number,
  ): void;
}

/** CloudWatch's statistic set for one period. */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** One series (account, region, namespace, name, dimensions) with its per-minute data. */
export interface MetricSeries {
  accountId: string;
  region: string;
  namespace: string;
  metricName: string;
  dimensions: MetricDimension[];
  unit?: string;
  /** Statistic sets by the minute they start (ms since epoch). */
  minutes: Map<number, StatisticSet>;
}

const MINUTE = 60_000;

/** The key of a series: dimensions are an unordered set in CloudWatch, so they are sorted. */
export function seriesKey(accountId: string, region: string, namespace: string, metricName: string, dimensions: readonly MetricDimension[]): string {
  const dims = [...dimensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((d) => `${d.name}=${d.value}`);
  return JSON.stringify([accountId, region, namespace, metricName, dims]);
}

/**
 * An in-memory metric store aggregating observations into one-minute statistic sets.
 *
 * @example
 * const sink = new MemoryMetricSink();
 * sink.put('123456789012', 'us-east-1', 'CISBenchmark', 'RootUsage', [], 1, undefined, Date.now());
 * sink.sum({ accountId: '123456789012', region: 'us-east-1', namespace: 'CISBenchmark', metricName: 'RootUsage' });
 */
export class MemoryMetricSink implements MetricSink {
  private readonly series = new Map<string, MetricSeries>();

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
    const key = seriesKey(accountId, region, namespace, metricName, dimensions);
    let s = this.series.get(key);
    if (!s) {
      s = { accountId, region, namespace, metricName, dimensions: [...dimensions], minutes: new Map(), ...(unit !== undefined ? { unit } : {}) };
      this.series.set(key, s);
    }
    const minute = Math.floor(timestamp / MINUTE) * MINUTE;
    const set = s.minutes.get(minute);
    if (set) {
      set.sampleCount++;
      set.sum += value;
      set.minimum = Math.min(set.minimum, value);
      set.maximum = Math.max(set.maximum, value);
    } else {
      s.minutes.set(minute, { sampleCount: 1, sum: value, minimum: value, maximum: value });
    }
  }

  /** Every series, optionally only one namespace's. */
  list(filter: { accountId?: string; region?: string; namespace?: string; metricName?: string } = {}): MetricSeries[] {
    return [...this.series.values()].filter(
      (s) =>
        (filter.accountId === undefined || s.accountId === filter.accountId) &&
        (filter.region === undefined || s.region === filter.region) &&
        (filter.namespace === undefined || s.namespace === filter.namespace) &&
        (filter.metricName === undefined || s.metricName === filter.metricName),
    );
  }

  /** One series, if it has data. */
  get(accountId: string, region: string, namespace: string, metricName: string, dimensions: readonly MetricDimension[] = []): MetricSeries | undefined {
    return this.series.get(seriesKey(accountId, region, namespace, metricName, dimensions));
  }

  /** The statistic set of a series over [from, to), merged across its minutes. */
  statistics(series: MetricSeries, from = -Infinity, to = Infinity): StatisticSet | undefined {
    let out: StatisticSet | undefined;
    for (const [minute, set] of series.minutes) {
      if (minute < from || minute >= to) continue;
      out = out
        ? { sampleCount: out.sampleCount + set.sampleCount, sum: out.sum + set.sum, minimum: Math.min(out.minimum, set.minimum), maximum: Math.max(out.maximum, set.maximum) }
        : { ...set };
    }
    return out;
  }

  /** The sum of every matching series over all time (0 when none). */
  sum(filter: { accountId?: string; region?: string; namespace?: string; metricName?: string }): number {
    let total = 0;
    for (const s of this.list(filter)) total += this.statistics(s)?.sum ?? 0;
    return total;
  }
}
