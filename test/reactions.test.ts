/**
 * Reacting to the trail, end to end: an EventBridge rule on CloudTrail's StopLogging puts
 * the event into an SQS queue (read back with `aws sqs receive-message`); an SNS topic fans
 * a message out to two queues and an HTTP endpoint on 127.0.0.1; acknowledged SQS messages
 * survive `kill -9` of `./bin/cairn server`; and EventBridge's documented pattern cases,
 * with its invalid patterns, go through the TestEventPattern API itself.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ec2Event, invalidPatterns, patternCases } from '../src/bus/pattern-cases.js';
import { startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { spawnServer, type ServerProcess } from './support/process.js';
import { jsonCall } from './support/sign.js';

let cairn: TestCairn;
let accountId: string;

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
});
afterAll(async () => {
  await cairn.stop();
});

// CLI v1 does not take AWS_ENDPOINT_URL for SQS and SNS: the endpoint is given on each call.
const sqs = <T = Record<string, unknown>>(args: string[]) => cairn.awsJson<T>(['sqs', ...args, '--endpoint-url', cairn.endpoint]);
const sns = <T = Record<string, unknown>>(args: string[]) => cairn.awsJson<T>(['sns', ...args, '--endpoint-url', cairn.endpoint]);

/** A queue whose policy lets one service principal send to it from `sourceArn` (a rule or topic ARN, wildcards allowed). */
async function queueFor(name: string, service: string, sourceArn: string): Promise<{ url: string; arn: string }> {
  const arn = `arn:aws:sqs:us-east-1:${accountId}:${name}`;
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sqs:SendMessage', Resource: arn, Condition: { ArnLike: { 'aws:SourceArn': sourceArn } } }],
  });
  const { QueueUrl } = await sqs<{ QueueUrl: string }>(['create-queue', '--queue-name', name, '--attributes', JSON.stringify({ Policy: policy })]);
  return { url: QueueUrl, arn };
}

/** Receives with `aws sqs receive-message`, long polling until `count` messages have come (or a few polls pass). */
async function receiveCli(url: string, count: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < 4 && bodies.length < count; i++) {
    const out = await sqs<{ Messages?: { Body: string; ReceiptHandle: string }[] }>([
      'receive-message', '--queue-url', url, '--max-number-of-messages', '10', '--wait-time-seconds', '2',
    ]);
    for (const m of out.Messages ?? []) {
      bodies.push(m.Body);
      await sqs(['delete-message', '--queue-url', url, '--receipt-handle', m.ReceiptHandle]);
    }
  }
  return bodies;
}

describe('an EventBridge rule on StopLogging', () => {
  it('puts the CloudTrail event into an SQS queue, read back with the CLI', async () => {
    const ruleArn = `arn:aws:events:us-east-1:${accountId}:rule/trail-stopped`;
    const q = await queueFor('trail-stopped', 'events.amazonaws.com', ruleArn);
    await cairn.awsJson(['events', 'put-rule', '--name', 'trail-stopped', '--event-pattern', '{"detail":{"eventName":["StopLogging"]}}']);
    const put = await cairn.awsJson<{ FailedEntryCount: number }>(['events', 'put-targets', '--rule', 'trail-stopped', '--targets', `Id=q,Arn=${q.arn}`]);
    expect(put.FailedEntryCount).toBe(0);

    await cairn.trailBucket('reaction-logs');
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'watched', '--s3-bucket-name', 'reaction-logs']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'watched']);
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'watched']);

    const bodies = await receiveCli(q.url, 1);
    expect(bodies).toHaveLength(1);
    const event = JSON.parse(bodies[0] ?? '{}') as Record<string, unknown>;
    expect(event).toMatchObject({
      source: 'aws.cloudtrail',
      'detail-type': 'AWS API Call via CloudTrail',
      account: accountId,
      region: 'us-east-1',
      detail: { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging', requestParameters: { name: 'watched' } },
    });
    // StartLogging did not match: only the one event came.
    expect(await receiveCli(q.url, 0)).toEqual([]);
  });
});

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('SNS fan-out', () => {
  let hook: Server;
  let hookUrl: string;
  const hits: Hit[] = [];

  beforeAll(async () => {
    // An HTTP subscriber that confirms itself by visiting SubscribeURL, as real receivers do.
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        hits.push({ headers: req.headers, body });
        res.writeHead(200).end();
        if (req.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation') {
          void fetch((JSON.parse(body) as { SubscribeURL: string }).SubscribeURL);
        }
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notify`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  async function waitFor(pred: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
  }

  it('delivers one publish to two queues and an HTTP endpoint', async () => {
    const { TopicArn: topicArn } = await sns<{ TopicArn: string }>(['create-topic', '--name', 'fan-out']);
    const a = await queueFor('fan-a', 'sns.amazonaws.com', topicArn);
    const b = await queueFor('fan-b', 'sns.amazonaws.com', topicArn);
    await sns(['subscribe', '--topic-arn', topicArn, '--protocol', 'sqs', '--notification-endpoint', a.arn]);
    await sns(['subscribe', '--topic-arn', topicArn, '--protocol', 'sqs', '--notification-endpoint', b.arn, '--attributes', '{"RawMessageDelivery":"true"}']);
    await sns(['subscribe', '--topic-arn', topicArn, '--protocol', 'http', '--notification-endpoint', hookUrl]);
    await waitFor(() => hits.length > 0);
    expect(hits[0]?.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
    const confirmed = async () =>
      (await sns<{ Subscriptions: { SubscriptionArn: string; Protocol: string }[] }>(['list-subscriptions-by-topic', '--topic-arn', topicArn])).Subscriptions.filter(
        (s) => s.Protocol === 'http' && s.SubscriptionArn.startsWith(topicArn),
      ).length;
    for (let i = 0; i < 20 && (await confirmed()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await confirmed()).toBe(1);

    const { MessageId: messageId } = await sns<{ MessageId: string }>(['publish', '--topic-arn', topicArn, '--message', 'fan out!', '--subject', 'hello']);
    const [fromA] = await receiveCli(a.url, 1);
    expect(JSON.parse(fromA ?? '{}')).toMatchObject({ Type: 'Notification', MessageId: messageId, TopicArn: topicArn, Message: 'fan out!', Subject: 'hello' });
    expect(await receiveCli(b.url, 1)).toEqual(['fan out!']);
    await waitFor(() => hits.some((h) => h.headers['x-amz-sns-message-type'] === 'Notification'));
    const note = hits.find((h) => h.headers['x-amz-sns-message-type'] === 'Notification');
    expect(note?.headers['x-amz-sns-message-id']).toBe(messageId);
    expect(JSON.parse(note?.body ?? '{}')).toMatchObject({ Type: 'Notification', MessageId: messageId, Message: 'fan out!', Subject: 'hello' });
  });
});

describe('SQS durability', () => {
  const running: ServerProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('keeps every acknowledged message across kill -9', async () => {
    const dataDir = tempDir('cairn-sqs-kill-');
    const first = await spawnServer(dataDir);
    running.push(first);
    const client = (p: ServerProcess) => new SQSClient({ endpoint: p.endpoint, region: 'us-east-1', credentials: p.root, maxAttempts: 1 });
    const before = client(first);
    const { QueueUrl: url } = await before.send(new CreateQueueCommand({ QueueName: 'durable' }));
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const entries = Array.from({ length: 10 }, (_, j) => ({ Id: `m${j}`, MessageBody: `batch ${i} message ${j}` }));
      const out = await before.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
      expect(out.Failed ?? []).toEqual([]);
      sent.push(...entries.map((e) => e.MessageBody));
    }
    await before.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'the last one' }));
    sent.push('the last one');
    before.destroy();

    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await spawnServer(dataDir);
    running.push(second);
    const after = client(second);
    const got: string[] = [];
    for (let i = 0; i < 20 && got.length < sent.length; i++) {
      const out = await after.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
      got.push(...(out.Messages ?? []).map((m) => m.Body ?? ''));
    }
    after.destroy();
    expect([...got].sort()).toEqual([...sent].sort());
    second.child.kill('SIGTERM');
    await second.exited;
  });
});

/** A CloudTrail event as EventBridge delivers it ("AWS API Call via CloudTrail", after the documentation's example). */
const cloudTrailEvent = {
  version: '0',
  id: '36eb8523-97d0-4518-b33d-ee3579ff19f0',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.cloudtrail',
  account: '123456789012',
  time: '2016-01-20T18:26:18Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDACKCEVSQ6C2EXAMPLE',
      arn: 'arn:aws:iam::123456789012:user/Alice',
      accountId: '123456789012',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'Alice',
    },
    eventTime: '2016-01-20T18:26:18Z',
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'StopLogging',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.25',
    userAgent: 'aws-cli/1.27.0 Python/3.11.7',
    requestParameters: { name: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events' },
    responseElements: null,
    requestID: 'a19f87a1-bf22-11e5-9a3c-7d1a2b3c4d5e',
    eventID: '3fcfb586-43b5-4a12-8d6a-18a8c0cbd3a1',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
  },
};

/** Patterns written the way EventBridge's documentation filters CloudTrail events, with whether they match the event above. */
const cloudTrailCases: [string, unknown, boolean][] = [
  ['source and detail-type', { source: ['aws.cloudtrail'], 'detail-type': ['AWS API Call via CloudTrail'] }, true],
  ['event source and name', { detail: { eventSource: ['cloudtrail.amazonaws.com'], eventName: ['StopLogging'] } }, true],
  ['one of several event names', { detail: { eventName: ['DeleteTrail', 'StopLogging', 'UpdateTrail'] } }, true],
  ['another event name', { detail: { eventName: ['StartLogging'] } }, false],
  ['another service', { source: ['aws.s3'] }, false],
  ['prefix on the event source', { detail: { eventSource: [{ prefix: 'cloudtrail.' }] } }, true],
  ['prefix that does not match', { detail: { eventSource: [{ prefix: 'iam.' }] } }, false],
  ['suffix on the user ARN', { detail: { userIdentity: { arn: [{ suffix: '/Alice' }] } } }, true],
  ['equals-ignore-case on the user name', { detail: { userIdentity: { userName: [{ 'equals-ignore-case': 'alice' }] } } }, true],
  ['wildcard on the trail ARN', { detail: { requestParameters: { name: [{ wildcard: 'arn:aws:cloudtrail:*:trail/management-*' }] } } }, true],
  ['wildcard that does not match', { detail: { requestParameters: { name: [{ wildcard: '*:trail/data-*' }] } } }, false],
  ['anything-but a root caller', { detail: { userIdentity: { type: [{ 'anything-but': 'Root' }] } } }, true],
  ['anything-but IAM users', { detail: { userIdentity: { type: [{ 'anything-but': ['IAMUser', 'AssumedRole'] }] } } }, false],
  ['anything-but a read-only prefix', { detail: { eventName: [{ 'anything-but': { prefix: 'Get' } }] } }, true],
  ['errors only: errorCode exists', { detail: { errorCode: [{ exists: true }] } }, false],
  ['successes only: errorCode absent', { detail: { errorCode: [{ exists: false }] } }, true],
  ['cidr on the source address', { detail: { sourceIPAddress: [{ cidr: '192.0.2.0/24' }] } }, true],
  ['cidr outside', { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/8' }] } }, false],
  ['boolean readOnly false', { detail: { readOnly: [false] } }, true],
  ['boolean readOnly true', { detail: { readOnly: [true] } }, false],
  ['null responseElements', { detail: { responseElements: [null] } }, true],
  ['$or over two services', { $or: [{ source: ['aws.iam'] }, { detail: { eventName: ['StopLogging'] } }] }, true],
  ['$or with neither branch', { $or: [{ source: ['aws.iam'] }, { detail: { eventName: ['CreateTrail'] } }] }, false],
  ['account and region', { account: ['123456789012'], region: ['us-east-1', 'us-west-2'] }, true],
  ['another region', { region: ['eu-west-1'] }, false],
  ['management events category', { detail: { eventCategory: ['Management'], managementEvent: [true] } }, true],
  ['a field the event lacks', { detail: { vpcEndpointId: ['vpce-1'] } }, false],
];

describe('TestEventPattern through the API', () => {
  const call = async (pattern: string, event: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await jsonCall(cairn.endpoint, cairn.root, 'events', 'AWSEvents.TestEventPattern', JSON.stringify({ EventPattern: pattern, Event: JSON.stringify(event) }));
    return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown> };
  };

  it('covers at least 100 documented pattern/event pairs and the invalid patterns', () => {
    expect(patternCases.length + cloudTrailCases.length).toBeGreaterThanOrEqual(100);
    expect(invalidPatterns.length).toBeGreaterThan(30);
  });

  it.each(patternCases)('%s', async (_name, pattern, event, expected) => {
    const res = await call(pattern, event);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ Result: expected });
  });

  it.each(cloudTrailCases)('CloudTrail event: %s', async (_name, pattern, expected) => {
    const res = await call(JSON.stringify(pattern), cloudTrailEvent);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ Result: expected });
  });

  it.each(invalidPatterns)('refuses %s', async (pattern, reason) => {
    const res = await call(pattern, ec2Event);
    expect(res.status).toBe(400);
    expect(String(res.body.__type)).toMatch(/InvalidEventPatternException$/);
    expect(String(res.body.message ?? res.body.Message)).toContain(`Event pattern is not valid. Reason: ${reason}`);
  });
});
