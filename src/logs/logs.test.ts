import { gunzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../eventlog/eventlog.js';
import { createMemoryEventLog } from '../eventlog/memory-eventlog.js';
import { ManualClock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { SqliteTrailStore } from '../trails/sqlite-store.js';
import { Trails } from '../trails/trails.js';
import { Logs, type LogsScope } from './logs.js';
import { MemoryMetricSink } from './metrics.js';
import { SqliteLogsStore } from './sqlite-store.js';
import type { SubscriptionDocument } from './subscriptions.js';
import { TrailStream } from './trail-stream.js';

const scope: LogsScope = { accountId: '123456789012', region: 'us-east-1' };
const T0 = Date.UTC(2026, 2, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isAwsError(e)) return e.code;
    throw e;
  }
  return undefined;
}

let clock: ManualClock;
let store: SqliteLogsStore;
let metrics: MemoryMetricSink;
let delivered: { arn: string; doc: SubscriptionDocument }[];
let logs: Logs;

beforeEach(() => {
  clock = new ManualClock(T0);
  store = new SqliteLogsStore(openStateDatabase(':memory:'));
  metrics = new MemoryMetricSink();
  delivered = [];
  logs = new Logs({
    store,
    clock,
    metrics,
    destinations: {
      exists: (arn) => arn.startsWith('arn:aws:sqs:'),
      deliver: async (arn, payload) => {
        delivered.push({ arn, doc: JSON.parse(gunzipSync(Buffer.from(payload, 'base64')).toString('utf8')) as SubscriptionDocument });
      },
    },
  });
  logs.createLogGroup(scope, { logGroupName: 'app' });
  logs.createLogStream(scope, 'app', 's1');
});

describe('log groups and streams', () => {
  it('refuses duplicates and unknown names with AWS codes', () => {
    expect(code(() => logs.createLogGroup(scope, { logGroupName: 'app' }))).toBe('ResourceAlreadyExistsException');
    expect(code(() => logs.createLogStream(scope, 'app', 's1'))).toBe('ResourceAlreadyExistsException');
    expect(code(() => logs.createLogStream(scope, 'nope', 's1'))).toBe('ResourceNotFoundException');
    expect(code(() => logs.deleteLogGroup(scope, 'nope'))).toBe('ResourceNotFoundException');
    expect(code(() => logs.putRetentionPolicy(scope, 'app', 2))).toBe('InvalidParameterException');
  });

  it('pages groups by name and filters by prefix or pattern', () => {
    for (const n of ['b/one', 'b/two', 'c/Three']) logs.createLogGroup(scope, { logGroupName: n });
    const first = logs.describeLogGroups(scope, { limit: 2 });
    expect(first.logGroups.map((g) => g.logGroupName)).toEqual(['app', 'b/one']);
    const second = logs.describeLogGroups(scope, { limit: 2, ...(first.nextToken ? { nextToken: first.nextToken } : {}) });
    expect(second.logGroups.map((g) => g.logGroupName)).toEqual(['b/two', 'c/Three']);
    expect(second.nextToken).toBeUndefined();
    expect(logs.describeLogGroups(scope, { logGroupNamePrefix: 'b/' }).logGroups).toHaveLength(2);
    expect(logs.describeLogGroups(scope, { logGroupNamePattern: 'three' }).logGroups.map((g) => g.logGroupName)).toEqual(['c/Three']);
    expect(logs.describeLogGroups(scope, {}).logGroups[0]?.arn).toBe('arn:aws:logs:us-east-1:123456789012:log-group:app:*');
  });

  it('orders streams by last event time, descending', () => {
    logs.createLogStream(scope, 'app', 's2');
    logs.putLogEvents(scope, 'app', 's2', [{ timestamp: T0 - 2000, message: 'x' }]);
    logs.putLogEvents(scope, 'app', 's1', [{ timestamp: T0 - 1000, message: 'y' }]);
    const page = logs.describeLogStreams(scope, { logGroupName: 'app' }, { orderBy: 'LastEventTime', descending: true });
    expect(page.logStreams.map((s) => s.logStreamName)).toEqual(['s1', 's2']);
    expect(code(() => logs.describeLogStreams(scope, { logGroupName: 'app' }, { orderBy: 'LastEventTime', logStreamNamePrefix: 's' }))).toBe(
      'InvalidParameterException',
    );
  });
});

describe('PutLogEvents', () => {
  it('reports events too old, too new and expired, and stores the rest', () => {
    const tooOld = logs.putLogEvents(scope, 'app', 's1', [
      { timestamp: T0 - 14 * DAY - 1, message: 'too old' },
      { timestamp: T0 - 14 * DAY + 1000, message: 'old but kept' },
    ]);
    expect(tooOld.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 0 });
    logs.putRetentionPolicy(scope, 'app', 1);
    const expired = logs.putLogEvents(scope, 'app', 's1', [
      { timestamp: T0 - DAY - 10, message: 'expired' },
      { timestamp: T0 - DAY + 10, message: 'ok' },
    ]);
    expect(expired.rejectedLogEventsInfo).toEqual({ expiredLogEventEndIndex: 0 });
    const tooNew = logs.putLogEvents(scope, 'app', 's1', [
      { timestamp: T0, message: 'now' },
      { timestamp: T0 + 3 * 3_600_000, message: 'too new' },
    ]);
    expect(tooNew.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    expect(tooNew.nextSequenceToken).not.toBe(expired.nextSequenceToken);
    expect(logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1' }).events.map((e) => e.message)).toEqual(['old but kept', 'ok', 'now']);
  });

  it('refuses unordered, oversized and over-long batches', () => {
    expect(code(() => logs.putLogEvents(scope, 'app', 's1', [{ timestamp: T0, message: 'b' }, { timestamp: T0 - 1, message: 'a' }]))).toBe(
      'InvalidParameterException',
    );
    const big = 'x'.repeat(300_000);
    expect(code(() => logs.putLogEvents(scope, 'app', 's1', [1, 2, 3, 4].map((i) => ({ timestamp: T0 + i, message: big }))))).toBe(
      'InvalidParameterException',
    );
    expect(
      code(() => logs.putLogEvents(scope, 'app', 's1', [{ timestamp: T0 - 25 * 3_600_000, message: 'a' }, { timestamp: T0, message: 'b' }])),
    ).toBe('InvalidParameterException');
    expect(code(() => logs.putLogEvents(scope, 'app', 'nope', [{ timestamp: T0, message: 'a' }]))).toBe('ResourceNotFoundException');
  });
});

describe('reading events', () => {
  beforeEach(() => {
    logs.putLogEvents(scope, 'app', 's1', Array.from({ length: 5 }, (_, i) => ({ timestamp: T0 - 5000 + i, message: `m${i}` })));
  });

  it('walks a stream forward and backward with f/ and b/ tokens', () => {
    const head = logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', startFromHead: true, limit: 2 });
    expect(head.events.map((e) => e.message)).toEqual(['m0', 'm1']);
    expect(head.nextForwardToken).toMatch(/^f\/\d{40}$/);
    const next = logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', nextToken: head.nextForwardToken, limit: 2 });
    expect(next.events.map((e) => e.message)).toEqual(['m2', 'm3']);
    const back = logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', nextToken: next.nextBackwardToken, limit: 5 });
    expect(back.events.map((e) => e.message)).toEqual(['m0', 'm1']);
    const tail = logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', limit: 2 });
    expect(tail.events.map((e) => e.message)).toEqual(['m3', 'm4']);
    const end = logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', nextToken: tail.nextForwardToken });
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(tail.nextForwardToken);
    expect(code(() => logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1', nextToken: 'f/bad' }))).toBe('InvalidParameterException');
  });

  it('filters a group with a pattern and pages with nextToken', () => {
    logs.createLogStream(scope, 'app', 's2');
    logs.putLogEvents(scope, 'app', 's2', [{ timestamp: T0 - 4500, message: 'm9 in s2' }]);
    const all = logs.filterLogEvents(scope, { logGroupIdentifier: 'arn:aws:logs:us-east-1:123456789012:log-group:app:*' }, { filterPattern: '?m1 ?m9 ?m4' });
    expect(all.events.map((e) => `${e.logStreamName}:${e.message}`)).toEqual(['s1:m1', 's1:m4', 's2:m9 in s2']);
    const first = logs.filterLogEvents(scope, { logGroupName: 'app' }, { limit: 2 });
    expect(first.events).toHaveLength(2);
    const rest = logs.filterLogEvents(scope, { logGroupName: 'app' }, { ...(first.nextToken ? { nextToken: first.nextToken } : {}) });
    expect(rest.events.map((e) => e.message)).toEqual(['m2', 'm3', 'm4', 'm9 in s2']);
    const inS2 = logs.filterLogEvents(scope, { logGroupName: 'app' }, { logStreamNames: ['s2'] });
    expect(inS2.events).toHaveLength(1);
    expect(logs.filterLogEvents(scope, { logGroupName: 'app' }, { startTime: T0 - 4999, endTime: T0 - 4999 }).events.map((e) => e.message)).toEqual(['m1']);
    expect(code(() => logs.filterLogEvents(scope, { logGroupName: 'app' }, { filterPattern: '{ $.a = }' }))).toBe('InvalidParameterException');
  });
});

describe('retention', () => {
  it('deletes events past the retention period by the clock', () => {
    logs.putLogEvents(scope, 'app', 's1', [{ timestamp: T0, message: 'old' }]);
    clock.advance(DAY);
    logs.putLogEvents(scope, 'app', 's1', [{ timestamp: clock.now(), message: 'new' }]);
    logs.putRetentionPolicy(scope, 'app', 1);
    expect(logs.applyRetention()).toBe(0);
    clock.advance(2000);
    expect(logs.applyRetention()).toBe(1);
    expect(logs.getLogEvents(scope, { logGroupName: 'app' }, { logStreamName: 's1' }).events.map((e) => e.message)).toEqual(['new']);
    logs.deleteRetentionPolicy(scope, 'app');
    clock.advance(10 * DAY);
    expect(logs.applyRetention()).toBe(0);
  });
});

describe('metric filters', () => {
  it('counts matches, extracts values and dimensions, and reports default values', () => {
    logs.putMetricFilter(scope, {
      logGroupName: 'app',
      filterName: 'errors',
      filterPattern: 'ERROR',
      metricTransformations: [{ metricName: 'Errors', metricNamespace: 'App', metricValue: '1', defaultValue: 0 }],
    });
    logs.putMetricFilter(scope, {
      logGroupName: 'app',
      filterName: 'bytes',
      filterPattern: '[ip, user, status = 4*, bytes]',
      metricTransformations: [{ metricName: 'Bytes', metricNamespace: 'App', metricValue: '$bytes', dimensions: { Status: '$status' }, unit: 'Bytes' }],
    });
    logs.putMetricFilter(scope, {
      logGroupName: 'app',
      filterName: 'latency',
      filterPattern: '{ $.latency = * }',
      metricTransformations: [{ metricName: 'Latency', metricNamespace: 'App', metricValue: '$.latency' }],
    });
    logs.putLogEvents(scope, 'app', 's1', [
      { timestamp: T0, message: 'ERROR disk' },
      { timestamp: T0, message: '10.0.0.1 bob 404 1534' },
      { timestamp: T0 + 1, message: '10.0.0.1 bob 200 99' },
      { timestamp: T0 + 2, message: '{"latency": 250}' },
    ]);
    expect(metrics.get(scope.accountId, scope.region, 'App', 'Errors')?.minutes.get(T0 - (T0 % MINUTE))).toEqual({
      sampleCount: 4,
      sum: 1,
      minimum: 0,
      maximum: 1,
    });
    const bytes = metrics.get(scope.accountId, scope.region, 'App', 'Bytes', [{ name: 'Status', value: '404' }]);
    expect(bytes && metrics.statistics(bytes)?.sum).toBe(1534);
    expect(bytes?.unit).toBe('Bytes');
    expect(metrics.sum({ namespace: 'App', metricName: 'Latency' })).toBe(250);
    expect(logs.describeMetricFilters(scope, { logGroupName: 'app' }).metricFilters.map((f) => f.name)).toEqual(['bytes', 'errors', 'latency']);
    expect(logs.describeMetricFilters(scope, { metricName: 'Bytes', metricNamespace: 'App' }).metricFilters.map((f) => f.name)).toEqual(['bytes']);
    logs.deleteMetricFilter(scope, 'app', 'bytes');
    expect(code(() => logs.deleteMetricFilter(scope, 'app', 'bytes'))).toBe('ResourceNotFoundException');
  });

  it('refuses bad patterns, bad values and defaults with dimensions', () => {
    const put = (pattern: string, t: Record<string, unknown>) => () =>
      logs.putMetricFilter(scope, {
        logGroupName: 'app',
        filterName: 'f',
        filterPattern: pattern,
        metricTransformations: [{ metricName: 'M', metricNamespace: 'N', metricValue: '1', ...t }],
      });
    expect(code(put('{ $.a = ', {}))).toBe('InvalidParameterException');
    expect(code(put('[a, b]', { metricValue: '$c' }))).toBe('InvalidParameterException');
    expect(code(put('[a, b]', { metricValue: 'abc' }))).toBe('InvalidParameterException');
    expect(code(put('[a, b]', { dimensions: { A: '$a' }, defaultValue: 0 }))).toBe('InvalidParameterException');
    expect(code(put('[a, b]', { dimensions: { A: '$a', B: '$b', C: '$a', D: '$b' } }))).toBe('InvalidParameterException');
  });
});

describe('subscription filters', () => {
  it('delivers matching events in CloudWatch Logs subscription format', async () => {
    await logs.putSubscriptionFilter(scope, { logGroupName: 'app', filterName: 'errs', filterPattern: '[level = ERROR, msg]', destinationArn: 'arn:aws:sqs:us-east-1:123456789012:q' });
    await expect(
      logs.putSubscriptionFilter(scope, { logGroupName: 'app', filterName: 'x', filterPattern: '', destinationArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s' }),
    ).rejects.toMatchObject({ code: 'InvalidParameterException' });
    logs.putLogEvents(scope, 'app', 's1', [
      { timestamp: T0, message: 'INFO fine' },
      { timestamp: T0 + 1, message: 'ERROR broken disk' },
    ]);
    await logs.idle();
    expect(delivered).toHaveLength(1);
    const doc = delivered[0]?.doc;
    expect(doc).toMatchObject({ messageType: 'DATA_MESSAGE', owner: scope.accountId, logGroup: 'app', logStream: 's1', subscriptionFilters: ['errs'] });
    expect(doc?.logEvents).toEqual([
      { id: expect.stringMatching(/^\d{56}$/) as unknown, timestamp: T0 + 1, message: 'ERROR broken disk', extractedFields: { level: 'ERROR', msg: 'broken disk' } },
    ]);
    expect(logs.describeSubscriptionFilters(scope, { logGroupName: 'app' }).subscriptionFilters.map((f) => f.distribution)).toEqual(['ByLogStream']);
  });
});

describe('tags', () => {
  it('tags log groups by ARN and by name', () => {
    const arn = 'arn:aws:logs:us-east-1:123456789012:log-group:app';
    logs.tagResource(scope, arn, { team: 'core' });
    logs.tagLogGroup(scope, 'app', { env: 'dev' });
    expect(logs.listTagsForResource(scope, arn)).toEqual({ team: 'core', env: 'dev' });
    logs.untagResource(scope, arn, ['team']);
    expect(logs.listTagsLogGroup(scope, 'app')).toEqual({ env: 'dev' });
    expect(code(() => logs.tagResource(scope, `${arn}x`, { a: 'b' }))).toBe('ResourceNotFoundException');
    expect(code(() => logs.tagResource(scope, arn, { 'aws:x': 'b' }))).toBe('InvalidParameterException');
  });
});

describe('trail stream', () => {
  function callEvent(seq: number, eventName: string, requestParameters: Record<string, unknown> | null = null, region = 'us-east-1'): NewEvent {
    const record = JSON.stringify({ eventVersion: '1.11', eventName, eventSource: 'cloudtrail.amazonaws.com', awsRegion: region, requestParameters, eventID: `e${seq}` });
    return {
      eventId: `e${seq}`,
      eventTime: T0 + seq,
      accountId: scope.accountId,
      region,
      eventSource: 'cloudtrail.amazonaws.com',
      eventName,
      readOnly: false,
      category: 'Management',
      record,
    };
  }

  it('writes a logging trail events into its group exactly once, including its StopLogging record', async () => {
    const db = openStateDatabase(':memory:');
    const logsStore = new SqliteLogsStore(db);
    const engine = new Logs({ store: logsStore, clock });
    const { log } = createMemoryEventLog();
    engine.createLogGroup(scope, { logGroupName: 'trail-group' });
    const trails = new Trails({
      store: new SqliteTrailStore(db),
      clock,
      loggingChanged: (trail, on) => stream.loggingChanged(trail, on),
    });
    const stream: TrailStream = new TrailStream({ log, trails, logs: engine, store: logsStore, now: () => clock.now() });
    stream.start();
    await trails.create(scope, {
      name: 'main',
      s3BucketName: 'bucket',
      cloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:trail-group:*',
      cloudWatchLogsRoleArn: 'arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs',
    });
    await log.append(callEvent(1, 'CreateTrail', { name: 'main' }));
    trails.startLogging(scope, 'main');
    await log.append(callEvent(2, 'StartLogging', { name: 'main' }));
    await log.append(callEvent(3, 'DescribeTrails'));
    await log.append(callEvent(4, 'DescribeTrails', null, 'eu-west-1'));
    trails.stopLogging(scope, 'main');
    await log.append(callEvent(5, 'StopLogging', { name: 'main' }));
    await log.append(callEvent(6, 'CreateTrail', { name: 'other' }));
    await stream.idle();
    const events = engine.getLogEvents(scope, { logGroupName: 'trail-group' }, { logStreamName: '123456789012_CloudTrail_us-east-1', startFromHead: true }).events;
    expect(events.map((e) => (JSON.parse(e.message) as { eventID: string }).eventID)).toEqual(['e2', 'e3', 'e5']);
    // Nothing is written twice when the consumer starts again from its stored cursor.
    const again = new TrailStream({ log, trails, logs: engine, store: logsStore, now: () => clock.now() });
    again.start();
    await again.idle();
    expect(engine.getLogEvents(scope, { logGroupName: 'trail-group' }, { logStreamName: '123456789012_CloudTrail_us-east-1' }).events).toHaveLength(3);
    expect(trails.status(scope, 'main').latestCloudWatchLogsDeliveryTime).toBe(clock.now());
    await stream.stop();
    await again.stop();
  });
});
