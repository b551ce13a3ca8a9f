/**
 * The server's own metrics, in Prometheus' exposition format (prom-client): one registry
 * per server (never prom-client's global one), request counts and latencies, event-log
 * commits, delivery and notification outcomes, and gauges read only when scraped (consumer
 * lags, queue depths), so the request path pays one map lookup and two additions per call.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a failed delivery ended this time: it will be tried again, or it was given up. */
export type FailureOutcome = 'retried' | 'dropped';

/** Trail outcomes as `Trails.recordDelivery` sees them (log file, digest, SNS notification, CloudWatch Logs). */
export type DeliveryKind = 'logFile' | 'digest' | 'notification' | 'cloudWatchLogs';

/** A gauge's value per label set, read when the registry is scraped. */
export type GaugeReading = readonly { labels: Record<string, string>; value: number }[];

/**
 * @example
 * const telemetry = createTelemetry();
 * telemetry.request('sts', 'GetCallerIdentity', 200, 0.0012);
 * const text = await telemetry.exposition();
 */
export interface Telemetry {
  readonly registry: Registry;
  /** One answered API request. */
  request(service: string, operation: string, status: number, seconds: number): void;
  /** One event-log transaction: how many events it committed and how long it took (fsync included). */
  commit(events: number, seconds: number): void;
  /** A trail's delivery attempt of some kind, and whether it failed. */
  delivery(kind: DeliveryKind, failed: boolean): void;
  /** An EventBridge target or SNS subscription delivery that failed. */
  targetFailure(channel: 'eventbridge' | 'sns', outcome: FailureOutcome): void;
  /** A gauge whose values are read from `read` at each scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => GaugeReading): void;
  /** The registry's text, as `/metrics` serves it. */
  exposition(): Promise<string>;
  readonly contentType: string;
}

/** Request latency buckets (seconds): most calls take a millisecond or two; S3 bodies take longer. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Group commit sizes (events per transaction). */
const COMMIT_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

/** Creates the metrics of one server, with Node's process metrics (CPU, memory, event loop, GC). */
export function createTelemetry(opts: { processMetrics?: boolean } = {}): Telemetry {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'cairn_requests_total',
    help: 'API requests answered, by service (signing name), operation and HTTP status',
    labelNames: ['service', 'operation', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'cairn_request_duration_seconds',
    help: 'Time from a request read to its answer (record durably appended included), by service, operation and HTTP status',
    labelNames: ['service', 'operation', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const appends = new Counter({ name: 'cairn_eventlog_appended_events_total', help: 'Events committed to the event log', registers: [registry] });
  const commitSeconds = new Histogram({
    name: 'cairn_eventlog_commit_duration_seconds',
    help: 'Event-log transaction time, fsync included',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const commitSize = new Histogram({
    name: 'cairn_eventlog_commit_events',
    help: 'Events per event-log transaction (group commit)',
    buckets: COMMIT_SIZE_BUCKETS,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'cairn_trail_deliveries_total',
    help: 'Trail delivery attempts by kind (logFile, digest, notification, cloudWatchLogs) and result (ok, error)',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  });
  const targetFailures = new Counter({
    name: 'cairn_target_delivery_failures_total',
    help: 'Failed deliveries to EventBridge targets and SNS subscriptions, by channel and outcome (retried, dropped)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });

  // Children by label set: prom-client hashes the labels object on every call otherwise.
  const children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  const child = (service: string, operation: string, status: number): NonNullable<ReturnType<typeof children.get>> => {
    const key = `${service}\u0000${operation}\u0000${status}`;
    let found = children.get(key);
    if (!found) {
      const labels = { service, operation, status: String(status) };
      found = { count: requests.labels(labels), time: latency.labels(labels) };
      children.set(key, found);
    }
    return found;
  };

  return {
    registry,
    contentType: registry.contentType,
    request(service, operation, status, seconds) {
      const c = child(service, operation, status);
      c.count.inc();
      c.time.observe(seconds);
    },
    commit(events, seconds) {
      appends.inc(events);
      commitSeconds.observe(seconds);
      commitSize.observe(events);
    },
    delivery(kind, failed) {
      deliveries.inc({ kind, result: failed ? 'error' : 'ok' });
    },
    targetFailure(channel, outcome) {
      targetFailures.inc({ channel, outcome });
    },
    gauge(name, help, labelNames, read) {
      new Gauge({
        name,
        help,
        labelNames: [...labelNames],
        registers: [registry],
        collect() {
          this.reset();
          for (const r of read()) this.set(r.labels, r.value);
        },
      });
    },
    exposition() {
      return registry.metrics();
    },
  };
}
