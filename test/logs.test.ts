/**
 * CloudWatch Logs end to end with the stock AWS CLI: log groups and streams, put-log-events
 * and get-log-events, filter-log-events with a filter pattern, retention on a manual clock,
 * metric filters (put, describe, delete, and the data they count), subscription filters
 * into an SQS queue, and a trail streaming its events into a log group through a role
 * CloudTrail may assume, with the CreateTrail checks on the group and the role.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { startCairn, type TestCairn } from './support/cairn.js';

const DAY = 86_400_000;

let cairn: TestCairn;
let clock: ManualClock;
let accountId: string;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  cairn = await startCairn({ clock });
  accountId = cairn.server.accountId;
});
afterAll(async () => {
  await cairn.stop();
});

interface OutputEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

async function putEvents(group: string, stream: string, messages: string[], at = clock.now()): Promise<Record<string, unknown>> {
  const events = messages.map((message, i) => ({ timestamp: at + i, message }));
  return cairn.awsJson(['logs', 'put-log-events', '--log-group-name', group, '--log-stream-name', stream, '--log-events', JSON.stringify(events)]);
}

describe('log groups, streams and events', () => {
  it('creates, lists, writes, reads and filters', async () => {
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', '/cairn/app', '--tags', 'team=core']);
    const dup = await cairn.aws(['logs', 'create-log-group', '--log-group-name', '/cairn/app']);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('ResourceAlreadyExistsException');
    await cairn.awsJson(['logs', 'create-log-stream', '--log-group-name', '/cairn/app', '--log-stream-name', 'web-1']);

    const groups = await cairn.awsJson<{ logGroups: { logGroupName: string; arn: string; metricFilterCount: number }[] }>([
      'logs',
      'describe-log-groups',
      '--log-group-name-prefix',
      '/cairn/',
    ]);
    expect(groups.logGroups).toEqual([
      expect.objectContaining({ logGroupName: '/cairn/app', arn: `arn:aws:logs:us-east-1:${accountId}:log-group:/cairn/app:*`, metricFilterCount: 0 }),
    ]);

    const put = await putEvents('/cairn/app', 'web-1', [
      '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
      '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
      '{"level":"ERROR","latency":812}',
    ]);
    expect(put.nextSequenceToken).toMatch(/^\d+$/);

    const got = await cairn.awsJson<{ events: OutputEvent[]; nextForwardToken: string; nextBackwardToken: string }>([
      'logs',
      'get-log-events',
      '--log-group-name',
      '/cairn/app',
      '--log-stream-name',
      'web-1',
      '--start-from-head',
      '--limit',
      '2',
    ]);
    expect(got.events.map((e) => e.message.slice(-4))).toEqual(['1534', '5324']);
    expect(got.nextForwardToken).toMatch(/^f\//);
    expect(got.nextBackwardToken).toMatch(/^b\//);

    const filtered = await cairn.awsJson<{ events: { message: string; logStreamName: string; eventId: string }[] }>([
      'logs',
      'filter-log-events',
      '--log-group-name',
      '/cairn/app',
      '--filter-pattern',
      '[ip, user, username, timestamp, request, status_code = 4*, bytes]',
    ]);
    expect(filtered.events.map((e) => e.message.slice(-8))).toEqual(['404 1534']);
    const json = await cairn.awsJson<{ events: { message: string }[] }>([
      'logs',
      'filter-log-events',
      '--log-group-name',
      '/cairn/app',
      '--filter-pattern',
      '{ $.latency > 500 }',
    ]);
    expect(json.events.map((e) => e.message)).toEqual(['{"level":"ERROR","latency":812}']);

    const bad = await cairn.aws(['logs', 'filter-log-events', '--log-group-name', '/cairn/app', '--filter-pattern', '{ $.latency > }']);
    expect(bad.stderr).toContain('InvalidParameterException');

    const tags = await cairn.awsJson<{ tags: Record<string, string> }>([
      'logs',
      'list-tags-for-resource',
      '--resource-arn',
      `arn:aws:logs:us-east-1:${accountId}:log-group:/cairn/app`,
    ]);
    expect(tags.tags).toEqual({ team: 'core' });
  });

  it('deletes events once the retention period has passed by the clock', async () => {
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', 'retained']);
    await cairn.awsJson(['logs', 'create-log-stream', '--log-group-name', 'retained', '--log-stream-name', 's']);
    await putEvents('retained', 's', ['kept for a day']);
    await cairn.awsJson(['logs', 'put-retention-policy', '--log-group-name', 'retained', '--retention-in-days', '1']);
    const described = await cairn.awsJson<{ logGroups: { retentionInDays?: number }[] }>(['logs', 'describe-log-groups', '--log-group-name-prefix', 'retained']);
    expect(described.logGroups[0]?.retentionInDays).toBe(1);
    const invalid = await cairn.aws(['logs', 'put-retention-policy', '--log-group-name', 'retained', '--retention-in-days', '2']);
    expect(invalid.stderr).toContain('InvalidParameterException');

    clock.advance(DAY + 60_000);
    expect(cairn.server.logs.applyRetention()).toBe(1);
    // Back to wall time, so the CLI's signatures are within the server's clock skew.
    clock.set(Date.now());
    const got = await cairn.awsJson<{ events: OutputEvent[] }>(['logs', 'get-log-events', '--log-group-name', 'retained', '--log-stream-name', 's']);
    expect(got.events).toEqual([]);
  });
});

describe('metric filters', () => {
  it('puts, describes, counts with and deletes a metric filter', async () => {
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', 'metrics']);
    await cairn.awsJson(['logs', 'create-log-stream', '--log-group-name', 'metrics', '--log-stream-name', 's']);
    await cairn.awsJson([
      'logs',
      'put-metric-filter',
      '--log-group-name',
      'metrics',
      '--filter-name',
      'server-errors',
      '--filter-pattern',
      '[ip, user, username, timestamp, request, status_code = 5*, bytes]',
      '--metric-transformations',
      'metricName=ServerErrorBytes,metricNamespace=Cairn/Test,metricValue=$bytes,unit=Bytes',
    ]);
    const described = await cairn.awsJson<{ metricFilters: Record<string, unknown>[] }>(['logs', 'describe-metric-filters', '--log-group-name', 'metrics']);
    expect(described.metricFilters).toEqual([
      expect.objectContaining({
        filterName: 'server-errors',
        logGroupName: 'metrics',
        metricTransformations: [{ metricName: 'ServerErrorBytes', metricNamespace: 'Cairn/Test', metricValue: '$bytes', unit: 'Bytes' }],
      }),
    ]);
    await putEvents('metrics', 's', [
      '10.0.0.1 - bob [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.0" 503 100',
      '10.0.0.1 - bob [10/Oct/2000:13:25:16 -0700] "GET / HTTP/1.0" 200 999',
      '10.0.0.1 - bob [10/Oct/2000:13:25:17 -0700] "GET / HTTP/1.0" 500 23',
    ]);
    expect(cairn.server.logMetrics.sum({ accountId, namespace: 'Cairn/Test', metricName: 'ServerErrorBytes' })).toBe(123);

    const bad = await cairn.aws([
      'logs',
      'put-metric-filter',
      '--log-group-name',
      'metrics',
      '--filter-name',
      'bad',
      '--filter-pattern',
      '{ $.a = %(x)% }',
      '--metric-transformations',
      'metricName=M,metricNamespace=N,metricValue=1',
    ]);
    expect(bad.stderr).toContain('InvalidParameterException');
    expect(bad.stderr).toContain('Invalid metric filter pattern');

    await cairn.awsJson(['logs', 'delete-metric-filter', '--log-group-name', 'metrics', '--filter-name', 'server-errors']);
    const after = await cairn.awsJson<{ metricFilters: unknown[] }>(['logs', 'describe-metric-filters', '--log-group-name', 'metrics']);
    expect(after.metricFilters).toEqual([]);
    const missing = await cairn.aws(['logs', 'delete-metric-filter', '--log-group-name', 'metrics', '--filter-name', 'server-errors']);
    expect(missing.stderr).toContain('ResourceNotFoundException');
  });
});

describe('subscription filters', () => {
  it('delivers matching events to an SQS queue in the subscription format', async () => {
    const sqs = (args: string[]) => cairn.awsJson<Record<string, unknown>>(['sqs', ...args, '--endpoint-url', cairn.endpoint]);
    const queue = (await sqs(['create-queue', '--queue-name', 'log-subscription'])) as { QueueUrl: string };
    const queueArn = `arn:aws:sqs:us-east-1:${accountId}:log-subscription`;
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', 'subscribed']);
    await cairn.awsJson(['logs', 'create-log-stream', '--log-group-name', 'subscribed', '--log-stream-name', 's']);
    await cairn.awsJson([
      'logs',
      'put-subscription-filter',
      '--log-group-name',
      'subscribed',
      '--filter-name',
      'errors',
      '--filter-pattern',
      'ERROR',
      '--destination-arn',
      queueArn,
    ]);
    await putEvents('subscribed', 's', ['INFO all good', 'ERROR something broke']);
    await cairn.server.logs.idle();
    const received = (await sqs(['receive-message', '--queue-url', queue.QueueUrl, '--wait-time-seconds', '1'])) as { Messages?: { Body: string }[] };
    const body = received.Messages?.[0]?.Body ?? '';
    const doc = JSON.parse(gunzipSync(Buffer.from(body, 'base64')).toString('utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({
      messageType: 'DATA_MESSAGE',
      owner: accountId,
      logGroup: 'subscribed',
      logStream: 's',
      subscriptionFilters: ['errors'],
      logEvents: [expect.objectContaining({ message: 'ERROR something broke' })],
    });
    const filters = await cairn.awsJson<{ subscriptionFilters: { destinationArn: string }[] }>(['logs', 'describe-subscription-filters', '--log-group-name', 'subscribed']);
    expect(filters.subscriptionFilters.map((f) => f.destinationArn)).toEqual([queueArn]);
  });
});

describe('a trail streaming into a log group', () => {
  it('validates the log group and the role, then writes the trail events into ACCOUNT_CloudTrail_REGION', async () => {
    const bucket = 'trail-to-logs';
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', bucket]);
    await cairn.awsJson(['s3api', 'put-bucket-policy', '--bucket', bucket, '--policy', cloudTrailBucketPolicy({ bucket, accountId })]);
    await cairn.awsJson(['logs', 'create-log-group', '--log-group-name', 'CloudTrail/audit']);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const groupArn = `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/audit:*`;
    const role = await cairn.awsJson<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'CloudTrail_CloudWatchLogs', '--assume-role-policy-document', trust]);
    const roleArn = role.Role.Arn;

    const create = (name: string, group: string, roleToUse: string) =>
      cairn.aws(['cloudtrail', 'create-trail', '--name', name, '--s3-bucket-name', bucket, '--cloud-watch-logs-log-group-arn', group, '--cloud-watch-logs-role-arn', roleToUse]);
    // The role may not write to the group yet.
    expect((await create('audit', groupArn, roleArn)).stderr).toContain('InvalidCloudWatchLogsRoleArnException');
    const permissions = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/audit:log-stream:${accountId}_CloudTrail_us-east-1*`,
        },
      ],
    });
    await cairn.awsJson(['iam', 'put-role-policy', '--role-name', 'CloudTrail_CloudWatchLogs', '--policy-name', 'logs', '--policy-document', permissions]);
    expect((await create('audit', `arn:aws:logs:us-east-1:${accountId}:log-group:nope:*`, roleArn)).stderr).toContain(
      'InvalidCloudWatchLogsLogGroupArnException',
    );
    const untrusted = await cairn.awsJson<{ Role: { Arn: string } }>([
      'iam',
      'create-role',
      '--role-name',
      'NotForCloudTrail',
      '--assume-role-policy-document',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    ]);
    expect((await create('audit', groupArn, untrusted.Role.Arn)).stderr).toContain('InvalidCloudWatchLogsRoleArnException');

    const created = await create('audit', groupArn, roleArn);
    expect(created.code, created.stderr).toBe(0);
    await cairn.awsJson(['logs', 'put-metric-filter', '--log-group-name', 'CloudTrail/audit', '--filter-name', 'cis-4.5', '--filter-pattern',
      '{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}',
      '--metric-transformations', 'metricName=CloudTrailEventCount,metricNamespace=CISBenchmark,metricValue=1']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'audit']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'streamed-user']);
    await cairn.awsJson(['cloudtrail', 'describe-trails']);
    await cairn.awsJson(['cloudtrail', 'update-trail', '--name', 'audit', '--no-include-global-service-events']);
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'audit']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'after-stop']);
    await cairn.server.trailStream.idle();

    const streamName = `${accountId}_CloudTrail_us-east-1`;
    const streams = await cairn.awsJson<{ logStreams: { logStreamName: string }[] }>(['logs', 'describe-log-streams', '--log-group-name', 'CloudTrail/audit']);
    expect(streams.logStreams.map((s) => s.logStreamName)).toEqual([streamName]);
    const got = await cairn.awsJson<{ events: OutputEvent[] }>([
      'logs',
      'get-log-events',
      '--log-group-name',
      'CloudTrail/audit',
      '--log-stream-name',
      streamName,
      '--start-from-head',
    ]);
    const records = got.events.map((e) => JSON.parse(e.message) as { eventName: string; eventTime: string; requestParameters?: { userName?: string } });
    expect(records.map((r) => r.eventName)).toEqual(['StartLogging', 'CreateUser', 'DescribeTrails', 'UpdateTrail', 'StopLogging']);
    expect(records[1]?.requestParameters?.userName).toBe('streamed-user');
    // The event's time, to the millisecond; the record spells it to the second.
    for (const [i, e] of got.events.entries()) expect(Math.floor(e.timestamp / 1000) * 1000).toBe(Date.parse(records[i]?.eventTime ?? ''));
    expect(cairn.server.logMetrics.sum({ accountId, namespace: 'CISBenchmark', metricName: 'CloudTrailEventCount' })).toBe(3);

    const status = await cairn.awsJson<{ LatestCloudWatchLogsDeliveryTime?: number }>(['cloudtrail', 'get-trail-status', '--name', 'audit']);
    expect(status.LatestCloudWatchLogsDeliveryTime).toBeDefined();
    const filtered = await cairn.awsJson<{ events: { message: string }[] }>([
      'logs',
      'filter-log-events',
      '--log-group-name',
      'CloudTrail/audit',
      '--filter-pattern',
      '{ $.eventSource = iam.amazonaws.com && $.requestParameters.userName = "streamed-*" }',
    ]);
    expect(filtered.events).toHaveLength(1);
  });
});
