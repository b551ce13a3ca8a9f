/**
 * EventBridge end to end with the stock AWS CLI (and the SDK's SQS client for long
 * polling): an IAM call's "AWS API Call via CloudTrail" event reaches an SQS queue within
 * a second; TestEventPattern; PutEvents with a custom source; disabling a rule stops
 * delivery; read-only calls reach only opted-in rules; an API destination receives a
 * transformed event over HTTP with its connection's API key; a function target is
 * invoked; a schedule fires on the
 * manual clock; and the rules API's errors and CloudTrail records.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let clock: ManualClock;
let accountId: string;
let sqs: SQSClient;
let hook: Server;
let hookUrl: string;
const hooked: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

beforeAll(async () => {
  // A manual clock that starts at the wall time, so that SigV4 signatures stay within their window.
  clock = new ManualClock(Date.now());
  cairn = await startCairn({ clock });
  accountId = cairn.server.accountId;
  sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooked.push({ headers: req.headers, body });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const address = hook.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
});

afterAll(async () => {
  sqs.destroy();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
  await cairn.stop();
});

/** Creates a queue whose policy lets EventBridge rules of this account send to it. */
async function queueFor(name: string): Promise<{ url: string; arn: string }> {
  // This CLI does not take SQS's endpoint from AWS_ENDPOINT_URL, so it is named explicitly.
  const { QueueUrl: url } = await cairn.awsJson<{ QueueUrl: string }>(['sqs', 'create-queue', '--queue-name', name, '--endpoint-url', cairn.endpoint]);
  const arn = `arn:aws:sqs:us-east-1:${accountId}:${name}`;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: arn,
        Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:events:us-east-1:${accountId}:rule/*` } },
      },
    ],
  };
  const file = join(cairn.server.dataDir, `${name}-attrs.json`);
  writeFileSync(file, JSON.stringify({ Policy: JSON.stringify(policy) }));
  const set = await cairn.aws(['sqs', 'set-queue-attributes', '--queue-url', url, '--attributes', `file://${file}`, '--endpoint-url', cairn.endpoint]);
  expect(set.stderr).toBe('');
  return { url, arn };
}

async function receive(url: string, waitSeconds = 1): Promise<Record<string, unknown>[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: waitSeconds, MaxNumberOfMessages: 10 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body ?? 'null') as Record<string, unknown>);
}

async function putRule(name: string, pattern: unknown, extra: string[] = []): Promise<string> {
  const out = await cairn.awsJson<{ RuleArn: string }>(['events', 'put-rule', '--name', name, '--event-pattern', JSON.stringify(pattern), ...extra]);
  return out.RuleArn;
}

describe('CloudTrail events on the default bus', () => {
  it('an IAM call reaches the rule’s SQS target within a second, as "AWS API Call via CloudTrail"', async () => {
    const q = await queueFor('iam-changes');
    const ruleArn = await putRule('iam-create-user', { source: ['aws.iam'], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventName: ['CreateUser'] } });
    expect(ruleArn).toBe(`arn:aws:events:us-east-1:${accountId}:rule/iam-create-user`);
    const targets = await cairn.awsJson<{ FailedEntryCount: number }>(['events', 'put-targets', '--rule', 'iam-create-user', '--targets', `Id=q,Arn=${q.arn}`]);
    expect(targets.FailedEntryCount).toBe(0);

    await cairn.awsJson(['iam', 'create-user', '--user-name', 'eve']);
    const started = performance.now();
    const events = await receive(q.url);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.iam',
      account: accountId,
      region: 'us-east-1',
      resources: [],
      detail: { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', requestParameters: { userName: 'eve' }, eventType: 'AwsApiCall', recipientAccountId: accountId },
    });
    expect(events[0]?.id).toMatch(/^[0-9a-f-]{36}$/);

    // A read-only List call does not reach an ENABLED rule, only one enabled for all management events.
    await putRule('iam-all', { source: ['aws.iam'], detail: { eventName: ['ListUsers'] } }, ['--state', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);
    await putRule('iam-plain', { source: ['aws.iam'], detail: { eventName: ['ListUsers'] } });
    await cairn.awsJson(['events', 'put-targets', '--rule', 'iam-all', '--targets', `Id=q,Arn=${q.arn},Input='"all"'`]);
    await cairn.awsJson(['events', 'put-targets', '--rule', 'iam-plain', '--targets', `Id=q,Arn=${q.arn},Input='"plain"'`]);
    await cairn.awsJson(['iam', 'list-users']);
    await cairn.server.events.idle();
    expect(await receive(q.url, 0)).toEqual(['all']);
  });

  it('disable-rule stops delivery and enable-rule resumes it', async () => {
    const q = await queueFor('deletions');
    await putRule('iam-delete-user', { source: ['aws.iam'], detail: { eventName: ['DeleteUser'] } });
    await cairn.awsJson(['events', 'put-targets', '--rule', 'iam-delete-user', '--targets', `Id=q,Arn=${q.arn}`]);
    await cairn.awsJson(['events', 'disable-rule', '--name', 'iam-delete-user']);
    const described = await cairn.awsJson<{ State: string; EventPattern: string }>(['events', 'describe-rule', '--name', 'iam-delete-user']);
    expect(described.State).toBe('DISABLED');
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'mallory']);
    await cairn.awsJson(['iam', 'delete-user', '--user-name', 'mallory']);
    await cairn.server.events.idle();
    expect(await receive(q.url, 0)).toEqual([]);

    await cairn.awsJson(['events', 'enable-rule', '--name', 'iam-delete-user']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'trent']);
    await cairn.awsJson(['iam', 'delete-user', '--user-name', 'trent']);
    const events = await receive(q.url);
    expect(events.map((e) => (e.detail as { requestParameters: { userName: string } }).requestParameters.userName)).toEqual(['trent']);
  });
});

describe('the events API with the AWS CLI', () => {
  it('test-event-pattern answers true and false, and refuses a bad pattern with EventBridge’s reason', async () => {
    const event = JSON.stringify({
      id: '1', 'detail-type': 'Order', source: 'com.shop', account: accountId, time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail: { total: 120, city: 'Oslo' },
    });
    const yes = await cairn.awsJson<{ Result: boolean }>(['events', 'test-event-pattern', '--event', event, '--event-pattern', '{"detail":{"total":[{"numeric":[">",100]}],"city":[{"prefix":"Os"}]}}']);
    expect(yes.Result).toBe(true);
    const no = await cairn.awsJson<{ Result: boolean }>(['events', 'test-event-pattern', '--event', event, '--event-pattern', '{"detail":{"total":[{"numeric":["<",100]}]}}']);
    expect(no.Result).toBe(false);
    const bad = await cairn.aws(['events', 'test-event-pattern', '--event', event, '--event-pattern', '{"source": "com.shop"}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('InvalidEventPatternException');
    expect(bad.stderr).toContain('Event pattern is not valid. Reason: "source" must be an object or an array at [Source: (String)"{"source": "com.shop"}"; line: 1, column: 13]');
  });

  it('put-events with a custom source reaches the matching rule; bad entries are reported', async () => {
    const q = await queueFor('orders');
    await putRule('big-orders', { source: ['com.shop'], 'detail-type': ['Order'], detail: { total: [{ numeric: ['>', 100] }] } });
    await cairn.awsJson(['events', 'put-targets', '--rule', 'big-orders', '--targets', `Id=q,Arn=${q.arn}`]);
    await cairn.logDataEvents(['AWS::Events::EventBus']);
    const entries = [
      { Source: 'com.shop', DetailType: 'Order', Detail: JSON.stringify({ total: 250 }) },
      { Source: 'com.shop', DetailType: 'Order', Detail: JSON.stringify({ total: 5 }) },
      { Source: 'com.shop', DetailType: 'Order', Detail: 'not json' },
    ];
    const out = await cairn.awsJson<{ FailedEntryCount: number; Entries: { EventId?: string; ErrorCode?: string }[] }>([
      'events', 'put-events', '--entries', JSON.stringify(entries),
    ]);
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries[2]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    const events = await receive(q.url);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: out.Entries[0]?.EventId, source: 'com.shop', detail: { total: 250 } });

    // PutEvents is recorded as a data event on the bus, for the trail that selects it.
    const record = readRecords(cairn.server.dataDir).map((r) => r.record).find((r) => r.eventName === 'PutEvents');
    expect(record).toMatchObject({ eventSource: 'events.amazonaws.com', eventCategory: 'Data', managementEvent: false, readOnly: false });
  });

  it('an API destination receives the transformed event with its connection’s API key', async () => {
    const conn = await cairn.awsJson<{ ConnectionArn: string }>([
      'events', 'create-connection', '--name', 'hooks', '--authorization-type', 'API_KEY',
      '--auth-parameters', JSON.stringify({ ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 's3cr3t' } }),
    ]);
    // The CLI would fetch an http:// parameter value itself, so the request goes in as JSON.
    const dest = await cairn.awsJson<{ ApiDestinationArn: string }>([
      'events', 'create-api-destination', '--cli-input-json',
      JSON.stringify({ Name: 'hook', ConnectionArn: conn.ConnectionArn, InvocationEndpoint: hookUrl, HttpMethod: 'POST' }),
    ]);
    await putRule('to-hook', { source: ['com.hook'] });
    const target = {
      Id: 'h',
      Arn: dest.ApiDestinationArn,
      InputTransformer: { InputPathsMap: { kind: '$.detail-type', n: '$.detail.n' }, InputTemplate: '{"kind": <kind>, "n": <n>, "text": "got <kind>"}' },
    };
    await cairn.awsJson(['events', 'put-targets', '--rule', 'to-hook', '--targets', JSON.stringify([target])]);
    await cairn.awsJson(['events', 'put-events', '--entries', JSON.stringify([{ Source: 'com.hook', DetailType: 'Ping', Detail: '{"n": 7}' }])]);
    await cairn.server.events.idle();
    expect(hooked).toHaveLength(1);
    expect(hooked[0]?.body).toBe('{"kind": "Ping", "n": 7, "text": "got Ping"}');
    expect(hooked[0]?.headers['x-api-key']).toBe('s3cr3t');
    // The connection's secret never reaches a record.
    expect(readRecords(cairn.server.dataDir).map((r) => r.text).join('\n')).not.toContain('s3cr3t');
  });

  it('a function target is invoked with the event', async () => {
    const fn = `arn:aws:lambda:us-east-1:${accountId}:function:on-order`;
    const seen: unknown[] = [];
    cairn.server.functions.register(fn, (payload) => {
      seen.push(payload);
    });
    await putRule('to-function', { source: ['com.fn'] });
    await cairn.awsJson(['events', 'put-targets', '--rule', 'to-function', '--targets', `Id=f,Arn=${fn}`]);
    await cairn.awsJson(['events', 'put-events', '--entries', JSON.stringify([{ Source: 'com.fn', DetailType: 'Order', Detail: '{"id": 9}' }])]);
    await cairn.server.events.idle();
    expect(seen).toEqual([expect.objectContaining({ source: 'com.fn', 'detail-type': 'Order', detail: { id: 9 } })]);
  });

  it('a schedule rule fires on the manual clock', async () => {
    const q = await queueFor('ticks');
    await cairn.awsJson(['events', 'put-rule', '--name', 'every-5', '--schedule-expression', 'rate(5 minutes)']);
    await cairn.awsJson(['events', 'put-targets', '--rule', 'every-5', '--targets', `Id=q,Arn=${q.arn}`]);
    await cairn.server.events.tick();
    expect(await receive(q.url, 0)).toEqual([]);
    clock.advance(5 * 60_000);
    await cairn.server.events.tick();
    const events = await receive(q.url);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ 'detail-type': 'Scheduled Event', source: 'aws.events', resources: [`arn:aws:events:us-east-1:${accountId}:rule/every-5`], detail: {} });
    await cairn.awsJson(['events', 'remove-targets', '--rule', 'every-5', '--ids', 'q']);
    await cairn.awsJson(['events', 'delete-rule', '--name', 'every-5']);
  });

  it('lists, describes and deletes rules with EventBridge’s errors', async () => {
    const pattern = { source: ['com.listing'] };
    await putRule('list-a', pattern, ['--description', 'first']);
    await putRule('list-b', pattern);
    const page = await cairn.awsJson<{ Rules: { Name: string; State: string; EventBusName: string; Description?: string }[]; NextToken?: string }>([
      'events', 'list-rules', '--name-prefix', 'list-', '--limit', '1',
    ]);
    expect(page.Rules).toEqual([expect.objectContaining({ Name: 'list-a', State: 'ENABLED', EventBusName: 'default', Description: 'first' })]);
    const all = await cairn.awsJson<{ Rules: { Name: string }[] }>(['events', 'list-rules', '--name-prefix', 'list-']);
    expect(all.Rules.map((r) => r.Name)).toEqual(['list-a', 'list-b']);

    await cairn.awsJson(['events', 'put-targets', '--rule', 'list-a', '--targets', `Id=q,Arn=arn:aws:sqs:us-east-1:${accountId}:orders`]);
    const refused = await cairn.aws(['events', 'delete-rule', '--name', 'list-a']);
    expect(refused.stderr).toContain('ValidationException');
    expect(refused.stderr).toContain("Rule can't be deleted since it has targets.");
    const listed = await cairn.awsJson<{ Targets: { Id: string; Arn: string }[] }>(['events', 'list-targets-by-rule', '--rule', 'list-a']);
    expect(listed.Targets).toEqual([{ Id: 'q', Arn: `arn:aws:sqs:us-east-1:${accountId}:orders` }]);
    await cairn.awsJson(['events', 'remove-targets', '--rule', 'list-a', '--ids', 'q']);
    await cairn.awsJson(['events', 'delete-rule', '--name', 'list-a']);
    const missing = await cairn.aws(['events', 'describe-rule', '--name', 'list-a']);
    expect(missing.stderr).toContain('ResourceNotFoundException');
    expect(missing.stderr).toContain('Rule list-a does not exist on EventBus default.');
    const bus = await cairn.awsJson<{ Name: string; Arn: string }>(['events', 'describe-event-bus']);
    expect(bus).toMatchObject({ Name: 'default', Arn: `arn:aws:events:us-east-1:${accountId}:event-bus/default` });

    const putRule_ = readRecords(cairn.server.dataDir).map((r) => r.record).find((r) => r.eventName === 'PutRule' && !r.errorCode);
    expect(putRule_).toMatchObject({ eventSource: 'events.amazonaws.com', eventCategory: 'Management', managementEvent: true, readOnly: false });
  });
});
