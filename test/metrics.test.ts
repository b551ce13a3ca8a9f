/**
 * CloudWatch metrics and alarms end to end. The stock AWS CLI (which speaks Smithy RPC v2
 * CBOR to CloudWatch) puts and reads metrics; raw signed calls check the JSON and query
 * protocols and refuse hostile CBOR bodies. Then the CIS monitoring setup: a trail
 * streaming into a log group, the "unauthorized API calls" and "root usage" metric
 * filters, alarms on them notifying an SNS topic that an SQS queue subscribes to, and an
 * EventBridge rule for alarm state changes; a denied call drives the alarm to ALARM on a
 * manual clock, CloudWatch's alarm message arrives through SNS, and the alarm returns
 * to OK after a quiet period.
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { decodeCbor, encodeCbor } from '../src/wire/cbor-codec.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';
import { send, signRequest } from './support/sign.js';

const MINUTE = 60_000;

let cairn: TestCairn;
let clock: ManualClock;
let accountId: string;
let sqs: SQSClient;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  cairn = await startCairn({ clock });
  accountId = cairn.server.accountId;
  // Metric calls are data events: recorded only for a trail that selects them.
  await cairn.logDataEvents(['AWS::CloudWatch::Metric']);
  sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
});
afterAll(async () => {
  sqs.destroy();
  await cairn.stop();
});

const cw = <T = Record<string, unknown>>(args: string[]) => cairn.awsJson<T>(['cloudwatch', ...args]);

interface Datapoint {
  Timestamp: number;
  Sum?: number;
  Average?: number;
  SampleCount?: number;
  Minimum?: number;
  Maximum?: number;
  Unit?: string;
  ExtendedStatistics?: Record<string, number>;
}

describe('metrics through the stock CLI (Smithy RPC v2 CBOR)', () => {
  it('puts values, value sets and statistic sets, and reads them back as statistics', async () => {
    const at = clock.now();
    const data = [
      { MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'api' }], Value: 10, Unit: 'Milliseconds' },
      { MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'api' }], Values: [20, 30, 40], Counts: [1, 2, 1], Unit: 'Milliseconds' },
      { MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'web' }], StatisticValues: { SampleCount: 4, Sum: 8, Minimum: 1, Maximum: 3 }, Unit: 'Milliseconds' },
      { MetricName: 'Requests', Value: 7, Timestamp: new Date(at - MINUTE).toISOString() },
    ];
    await cw(['put-metric-data', '--namespace', 'Cairn/Test', '--metric-data', JSON.stringify(data)]);

    const window = ['--start-time', new Date(at - 10 * MINUTE).toISOString(), '--end-time', new Date(at + MINUTE).toISOString()];
    const api = await cw<{ Label: string; Datapoints: Datapoint[] }>([
      'get-metric-statistics', '--namespace', 'Cairn/Test', '--metric-name', 'Latency', '--dimensions', 'Name=Service,Value=api',
      ...window, '--period', '60', '--statistics', 'SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum', '--extended-statistics', 'p50', 'p99',
    ]);
    expect(api.Label).toBe('Latency');
    expect(api.Datapoints).toHaveLength(1);
    expect(api.Datapoints[0]).toMatchObject({
      SampleCount: 5, Sum: 130, Average: 26, Minimum: 10, Maximum: 40, Unit: 'Milliseconds', ExtendedStatistics: { p50: 30, p99: 40 },
    });
    expect((api.Datapoints[0]?.Timestamp ?? 0) * 1000).toBe(Math.floor(at / MINUTE) * MINUTE);

    const web = await cw<{ Datapoints: Datapoint[] }>([
      'get-metric-statistics', '--namespace', 'Cairn/Test', '--metric-name', 'Latency', '--dimensions', 'Name=Service,Value=web', ...window, '--period', '300', '--statistics', 'Average', '--unit', 'Milliseconds',
    ]);
    expect(web.Datapoints.map((d) => d.Average)).toEqual([2]);
    const otherUnit = await cw<{ Datapoints: Datapoint[] }>([
      'get-metric-statistics', '--namespace', 'Cairn/Test', '--metric-name', 'Latency', '--dimensions', 'Name=Service,Value=web', ...window, '--period', '300', '--statistics', 'Average', '--unit', 'Seconds',
    ]);
    expect(otherUnit.Datapoints).toEqual([]);

    const tooMany = await cairn.aws(['cloudwatch', 'get-metric-statistics', '--namespace', 'Cairn/Test', '--metric-name', 'Latency', '--start-time', new Date(at - 2 * 86_400_000).toISOString(), '--end-time', new Date(at).toISOString(), '--period', '60', '--statistics', 'Sum']);
    expect(tooMany.stderr).toContain('InvalidParameterCombination');
    const badValue = await cairn.aws(['cloudwatch', 'put-metric-data', '--namespace', 'AWS/EC2', '--metric-name', 'x', '--value', '1']);
    expect(badValue.stderr).toContain('InvalidParameterValue');
  });

  it('lists metrics by namespace, name and dimension', async () => {
    const all = await cw<{ Metrics: { MetricName: string; Dimensions: { Name: string; Value: string }[] }[] }>(['list-metrics', '--namespace', 'Cairn/Test']);
    expect(all.Metrics.map((m) => `${m.MetricName}:${m.Dimensions.map((d) => d.Value).join(',')}`).sort()).toEqual(['Latency:api', 'Latency:web', 'Requests:']);
    const byDim = await cw<{ Metrics: unknown[] }>(['list-metrics', '--namespace', 'Cairn/Test', '--dimensions', 'Name=Service,Value=web']);
    expect(byDim.Metrics).toHaveLength(1);
    const byName = await cw<{ Metrics: unknown[] }>(['list-metrics', '--metric-name', 'Requests']);
    expect(byName.Metrics).toEqual([{ Namespace: 'Cairn/Test', MetricName: 'Requests', Dimensions: [] }]);
  });

  it('answers GetMetricData with MetricStat queries and metric math', async () => {
    const at = clock.now();
    const queries = [
      { Id: 'api', MetricStat: { Metric: { Namespace: 'Cairn/Test', MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'api' }] }, Period: 60, Stat: 'Sum' } },
      { Id: 'web', MetricStat: { Metric: { Namespace: 'Cairn/Test', MetricName: 'Latency', Dimensions: [{ Name: 'Service', Value: 'web' }] }, Period: 60, Stat: 'Sum' }, ReturnData: false },
      { Id: 'total', Expression: '(api + web) / 2', Label: 'Mean of sums' },
      { Id: 'bad', Expression: 'SUM(METRICS())' },
    ];
    const out = await cw<{ MetricDataResults: { Id: string; Label: string; Timestamps: number[]; Values: number[]; StatusCode: string }[] }>([
      'get-metric-data', '--metric-data-queries', JSON.stringify(queries), '--start-time', new Date(at - 10 * MINUTE).toISOString(), '--end-time', new Date(at + MINUTE).toISOString(),
    ]);
    const byId = new Map(out.MetricDataResults.map((r) => [r.Id, r]));
    expect([...byId.keys()]).toEqual(['api', 'total', 'bad']);
    expect(byId.get('api')).toMatchObject({ Label: 'Latency', Values: [130], StatusCode: 'Complete' });
    expect(byId.get('total')).toMatchObject({ Label: 'Mean of sums', Values: [69], StatusCode: 'Complete' });
    expect(byId.get('bad')?.StatusCode).toBe('InternalError');
  });

  it('records PutMetricData and the metric reads as data events', () => {
    const records = readRecords(cairn.server.dataDir).map((r) => r.record);
    const put = records.find((r) => r.eventName === 'PutMetricData');
    expect(put).toMatchObject({ eventSource: 'monitoring.amazonaws.com', eventCategory: 'Data', managementEvent: false, readOnly: false });
    expect(records.find((r) => r.eventName === 'GetMetricStatistics')).toMatchObject({ eventCategory: 'Data', readOnly: true });
  });
});

describe('raw signed calls', () => {
  const cbor = async (operation: string, body: Buffer, headers: Record<string, string> = {}) => {
    const signed = await signRequest(cairn.endpoint, cairn.root, {
      service: 'monitoring',
      path: `/service/GraniteServiceVersion20100801/operation/${operation}`,
      headers: { 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor', accept: 'application/cbor', ...headers },
      body,
    });
    const res = await fetch(signed.url, { method: 'POST', headers: Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host')), body });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };

  it('serves CloudWatch in CBOR, JSON 1.0 and query alike', async () => {
    const c = await cbor('ListMetrics', encodeCbor({ Namespace: 'Cairn/Test', MetricName: 'Requests' }));
    expect(c.status).toBe(200);
    expect(c.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
    expect(decodeCbor(c.body)).toEqual({ Metrics: [{ Namespace: 'Cairn/Test', MetricName: 'Requests', Dimensions: [] }] });

    const json = await send(
      await signRequest(cairn.endpoint, cairn.root, {
        service: 'monitoring',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'GraniteServiceVersion20100801.ListMetrics' },
        body: JSON.stringify({ Namespace: 'Cairn/Test', MetricName: 'Requests' }),
      }),
    );
    expect(json.status).toBe(200);
    expect(JSON.parse(json.text)).toEqual({ Metrics: [{ Namespace: 'Cairn/Test', MetricName: 'Requests', Dimensions: [] }] });

    const query = await send(
      await signRequest(cairn.endpoint, cairn.root, {
        service: 'monitoring',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=ListMetrics&Version=2010-08-01&Namespace=Cairn%2FTest&MetricName=Requests',
      }),
    );
    expect(query.status).toBe(200);
    expect(query.text).toContain('<ListMetricsResult><Metrics><member><Namespace>Cairn/Test</Namespace><MetricName>Requests</MetricName>');
  });

  it('refuses hostile CBOR bodies with a protocol-correct 400 and stays up', async () => {
    const truncated = encodeCbor({ Namespace: 'Cairn/Test', MetricName: 'Requests' }).subarray(0, 12);
    const deep = Buffer.concat([Buffer.alloc(100_000, 0x81), Buffer.from([0x00])]);
    const hugeString = Buffer.from([0xa1, 0x69, ...Buffer.from('Namespace'), 0x7b, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const hugeList = Buffer.from([0xa1, 0x6a, ...Buffer.from('MetricData'), 0x9b, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]);
    const proto = Buffer.from([0xa1, 0x69, ...Buffer.from('__proto__'), 0xa1, 0x61, 0x78, 0x01]);
    const trailing = Buffer.concat([encodeCbor({}), Buffer.from([0x00])]);
    for (const body of [truncated, deep, hugeString, hugeList, proto, trailing]) {
      const res = await cbor('ListMetrics', body);
      expect(res.status).toBe(400);
      expect(res.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
      expect(res.headers.get('content-type')).toBe('application/cbor');
      expect(decodeCbor(res.body)).toMatchObject({ __type: 'SerializationException' });
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    const wrongType = await cbor('ListMetrics', encodeCbor({ Namespace: 7 }));
    expect(decodeCbor(wrongType.body)).toMatchObject({ __type: 'SerializationException', message: "Expected a string for 'Namespace'." });
    const unknown = await cbor('NoSuchOperation', encodeCbor({}));
    expect(decodeCbor(unknown.body)).toMatchObject({ __type: 'UnknownOperationException' });
    const ok = await cbor('ListMetrics', encodeCbor({ Namespace: 'Cairn/Test' }));
    expect(ok.status).toBe(200);
  });
});

interface SnsEnvelope {
  Type: string;
  Subject?: string;
  Message: string;
  TopicArn: string;
}

/** Receives (and deletes) from a queue until `match` accepts a body, or fails after `ms`. */
async function waitForMessage<T>(url: string, match: (body: string) => T | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of got.Messages ?? []) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle ?? '' }));
      const found = match(m.Body ?? '');
      if (found !== undefined) return found;
    }
  }
  throw new Error('no matching message arrived');
}

async function queueAllowing(name: string, service: string, sourceArn: string): Promise<{ url: string; arn: string }> {
  const arn = `arn:aws:sqs:us-east-1:${accountId}:${name}`;
  const Policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sqs:SendMessage', Resource: arn, Condition: { ArnEquals: { 'aws:SourceArn': sourceArn } } }],
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { Policy } }));
  return { url: QueueUrl ?? '', arn };
}

describe('CIS alarms on a trail streaming into CloudWatch Logs', () => {
  it('alarms on a denied call and on root use, notifies through SNS and EventBridge, and returns to OK', async () => {
    // The trail, its log group and the role CloudTrail writes with.
    const bucket = 'cis-trail';
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', bucket]);
    await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', bucket, '--policy', cloudTrailBucketPolicy({ bucket, accountId })]);
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', 'CloudTrail/cis']);
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    const role = await cairn.awsJson<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'CisTrailLogs', '--assume-role-policy-document', trust]);
    const logsPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/cis:*` }],
    });
    await cairn.awsJson(['iam', 'put-role-policy', '--role-name', 'CisTrailLogs', '--policy-name', 'logs', '--policy-document', logsPolicy]);
    const groupArn = `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/cis:*`;
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'cis', '--s3-bucket-name', bucket, '--cloud-watch-logs-log-group-arn', groupArn, '--cloud-watch-logs-role-arn', role.Role.Arn]);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'cis']);

    // The CIS metric filters, as AWS publishes them.
    const filter = (name: string, pattern: string, metric: string) =>
      cairn.awsJson(['logs', 'put-metric-filter', '--log-group-name', 'CloudTrail/cis', '--filter-name', name, '--filter-pattern', pattern,
        '--metric-transformations', `metricName=${metric},metricNamespace=CISBenchmark,metricValue=1`]);
    await filter('unauthorized', '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', 'UnauthorizedAPICalls');
    await filter('root', '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }', 'RootAccountUsage');

    // Notifications: a topic with a queue subscribed, and a rule for alarm state changes.
    const topicArn = (await cairn.awsJson<{ TopicArn: string }>(['sns', 'create-topic', '--name', 'cis-alarms', '--endpoint-url', cairn.endpoint])).TopicArn;
    const alarmQueue = await queueAllowing('cis-alarm-messages', 'sns.amazonaws.com', topicArn);
    await cairn.awsJson(['sns', 'subscribe', '--topic-arn', topicArn, '--protocol', 'sqs', '--notification-endpoint', alarmQueue.arn, '--endpoint-url', cairn.endpoint]);
    const rule = await cairn.awsJson<{ RuleArn: string }>(['events', 'put-rule', '--name', 'alarm-changes', '--event-pattern',
      JSON.stringify({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] })]);
    const eventQueue = await queueAllowing('cis-alarm-events', 'events.amazonaws.com', rule.RuleArn);
    await cairn.awsJson(['events', 'put-targets', '--rule', 'alarm-changes', '--targets', `Id=q,Arn=${eventQueue.arn}`]);

    const alarm = (name: string, metric: string, actions: string[]) =>
      cw(['put-metric-alarm', '--alarm-name', name, '--alarm-description', `CIS ${metric}`, '--namespace', 'CISBenchmark', '--metric-name', metric,
        '--statistic', 'Sum', '--period', '60', '--evaluation-periods', '1', '--threshold', '1', '--comparison-operator', 'GreaterThanOrEqualToThreshold',
        '--treat-missing-data', 'notBreaching', ...actions]);
    await alarm('unauthorized-api-calls', 'UnauthorizedAPICalls', ['--alarm-actions', topicArn, '--ok-actions', topicArn]);
    await alarm('root-account-usage', 'RootAccountUsage', []);

    // A user without any policy is denied; the root user makes a call in the same minute.
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'intruder']);
    const key = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', 'intruder']);
    const deniedAt = clock.now();
    await cairn.awsJson(['sts', 'get-caller-identity']);
    const denied = await cairn.aws(['iam', 'list-users'], { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey });
    expect(denied.stderr).toContain('AccessDenied');
    await cairn.server.trailStream.idle();
    expect(cairn.server.logMetrics.sum({ accountId, namespace: 'CISBenchmark', metricName: 'UnauthorizedAPICalls' })).toBe(1);

    // The minute of the denied call closes: both alarms fire.
    clock.set(Math.floor(deniedAt / MINUTE) * MINUTE + MINUTE + 1000);
    await cairn.server.alarms.evaluate(clock.now());
    const described = await cw<{ MetricAlarms: { AlarmName: string; StateValue: string; StateReason: string; AlarmArn: string }[] }>(['describe-alarms', '--alarm-name-prefix', 'unauthorized']);
    expect(described.MetricAlarms).toHaveLength(1);
    expect(described.MetricAlarms[0]).toMatchObject({ StateValue: 'ALARM', AlarmArn: `arn:aws:cloudwatch:us-east-1:${accountId}:alarm:unauthorized-api-calls` });
    expect(described.MetricAlarms[0]?.StateReason).toMatch(/^Threshold Crossed: 1 datapoint \[1\.0 \(.+\)\] was greater than or equal to the threshold \(1\.0\)\.$/);
    const inAlarm = await cw<{ MetricAlarms: { AlarmName: string }[] }>(['describe-alarms', '--state-value', 'ALARM']);
    expect(inAlarm.MetricAlarms.map((a) => a.AlarmName).sort()).toEqual(['root-account-usage', 'unauthorized-api-calls']);

    // CloudWatch's alarm message, through SNS into the queue.
    const alarmMessage = await waitForMessage(alarmQueue.url, (body) => {
      const envelope = JSON.parse(body) as SnsEnvelope;
      const message = JSON.parse(envelope.Message) as Record<string, unknown>;
      return message.NewStateValue === 'ALARM' ? { envelope, message } : undefined;
    });
    expect(alarmMessage.envelope.Subject).toBe('ALARM: "unauthorized-api-calls" in US East (N. Virginia)');
    expect(alarmMessage.message).toMatchObject({
      AlarmName: 'unauthorized-api-calls',
      AlarmDescription: 'CIS UnauthorizedAPICalls',
      AWSAccountId: accountId,
      NewStateValue: 'ALARM',
      Region: 'US East (N. Virginia)',
      AlarmArn: `arn:aws:cloudwatch:us-east-1:${accountId}:alarm:unauthorized-api-calls`,
      Trigger: {
        MetricName: 'UnauthorizedAPICalls',
        Namespace: 'CISBenchmark',
        StatisticType: 'Statistic',
        Statistic: 'SUM',
        Unit: null,
        Dimensions: [],
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        EvaluateLowSampleCountPercentile: '',
      },
    });
    expect(alarmMessage.message.StateChangeTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);

    // The state change reached the EventBridge rule's target.
    const event = await waitForMessage(eventQueue.url, (body) => {
      const e = JSON.parse(body) as { source: string; 'detail-type': string; resources: string[]; detail: { alarmName: string; state: { value: string }; previousState: { value: string } } };
      return e.detail.alarmName === 'unauthorized-api-calls' && e.detail.state.value === 'ALARM' ? e : undefined;
    });
    expect(event).toMatchObject({ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', resources: [`arn:aws:cloudwatch:us-east-1:${accountId}:alarm:unauthorized-api-calls`] });

    // A minute without errors: back to OK (missing data is not breaching), with an OK message.
    clock.advance(MINUTE);
    await cairn.server.alarms.evaluate(clock.now());
    const after = await cw<{ MetricAlarms: { StateValue: string; StateReason: string }[] }>(['describe-alarms', '--alarm-names', 'unauthorized-api-calls']);
    expect(after.MetricAlarms[0]?.StateValue).toBe('OK');
    const okMessage = await waitForMessage(alarmQueue.url, (body) => {
      const envelope = JSON.parse(body) as SnsEnvelope;
      const message = JSON.parse(envelope.Message) as Record<string, unknown>;
      return message.NewStateValue === 'OK' && message.OldStateValue === 'ALARM' ? envelope : undefined;
    });
    expect(okMessage.Subject).toBe('OK: "unauthorized-api-calls" in US East (N. Virginia)');

    const history = await cw<{ AlarmHistoryItems: { HistoryItemType: string; HistorySummary: string }[] }>([
      'describe-alarm-history', '--alarm-name', 'unauthorized-api-calls', '--history-item-type', 'StateUpdate', '--scan-by', 'TimestampAscending',
    ]);
    const summaries = history.AlarmHistoryItems.map((h) => h.HistorySummary);
    // Before the clock moved, the background evaluation may have set it OK first (no data is not breaching).
    expect(summaries.filter((h) => h.endsWith('to ALARM'))).toHaveLength(1);
    expect(summaries.at(-1)).toBe('Alarm updated from ALARM to OK');
    const actions = await cw<{ AlarmHistoryItems: { HistorySummary: string }[] }>(['describe-alarm-history', '--alarm-name', 'unauthorized-api-calls', '--history-item-type', 'Action']);
    expect(actions.AlarmHistoryItems.map((h) => h.HistorySummary)).toContain(`Successfully executed action ${topicArn}`);
  });

  it('sets state by hand, toggles actions, tags, finds alarms by metric and deletes them', async () => {
    await cw(['disable-alarm-actions', '--alarm-names', 'unauthorized-api-calls']);
    await cw(['set-alarm-state', '--alarm-name', 'unauthorized-api-calls', '--state-value', 'ALARM', '--state-reason', 'testing']);
    // The next evaluation (every second) may already have set it back, as CloudWatch's would: the history keeps it.
    const set = await cw<{ MetricAlarms: { ActionsEnabled: boolean }[] }>(['describe-alarms', '--alarm-names', 'unauthorized-api-calls']);
    expect(set.MetricAlarms[0]?.ActionsEnabled).toBe(false);
    const updates = await cw<{ AlarmHistoryItems: { HistoryData: string }[] }>(['describe-alarm-history', '--alarm-name', 'unauthorized-api-calls', '--history-item-type', 'StateUpdate']);
    expect(updates.AlarmHistoryItems.map((h) => (JSON.parse(h.HistoryData) as { newState: { stateReason: string } }).newState.stateReason)).toContain('testing');
    const badJson = await cairn.aws(['cloudwatch', 'set-alarm-state', '--alarm-name', 'unauthorized-api-calls', '--state-value', 'OK', '--state-reason', 'x', '--state-reason-data', '{nope']);
    expect(badJson.stderr).toContain('InvalidFormat');

    const arn = `arn:aws:cloudwatch:us-east-1:${accountId}:alarm:root-account-usage`;
    await cw(['tag-resource', '--resource-arn', arn, '--tags', 'Key=control,Value=CloudWatch.1']);
    expect((await cw<{ Tags: unknown[] }>(['list-tags-for-resource', '--resource-arn', arn])).Tags).toEqual([{ Key: 'control', Value: 'CloudWatch.1' }]);

    const forMetric = await cw<{ MetricAlarms: { AlarmName: string }[] }>(['describe-alarms-for-metric', '--namespace', 'CISBenchmark', '--metric-name', 'RootAccountUsage']);
    expect(forMetric.MetricAlarms.map((a) => a.AlarmName)).toEqual(['root-account-usage']);
    const anomaly = await cairn.aws(['cloudwatch', 'put-metric-alarm', '--alarm-name', 'band', '--namespace', 'N', '--metric-name', 'M', '--statistic', 'Sum', '--period', '60',
      '--evaluation-periods', '1', '--threshold', '1', '--comparison-operator', 'LessThanLowerOrGreaterThanUpperThreshold']);
    expect(anomaly.code).not.toBe(0);

    await cw(['delete-alarms', '--alarm-names', 'root-account-usage', 'unauthorized-api-calls']);
    expect((await cw<{ MetricAlarms: unknown[] }>(['describe-alarms'])).MetricAlarms).toEqual([]);
    expect((await cairn.aws(['cloudwatch', 'delete-alarms', '--alarm-names', 'gone'])).stderr).toContain('ResourceNotFound');
  });
});
