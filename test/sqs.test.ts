/**
 * SQS end to end with the stock AWS CLI and the JS SDK: queues and attributes, messages
 * with attributes and their digests, long polling that returns when a message arrives,
 * visibility timeouts on a manual clock, dead-letter queues, FIFO ordering and
 * deduplication, queue policies, query-compatible error codes, CloudTrail records of
 * data events, and messages that survive a restart.
 */
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, tempDir, type Credentials, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let accountId: string;

/** The CLI v1 sends SQS calls to queue.amazonaws.com unless told the endpoint on the command line. */
function sqs<T = Record<string, unknown>>(c: TestCairn, args: string[], creds?: Credentials): Promise<T> {
  return c.awsJson<T>(['sqs', ...args, '--endpoint-url', c.endpoint], creds);
}

function sqsRaw(c: TestCairn, args: string[], creds?: Credentials) {
  return c.aws(['sqs', ...args, '--endpoint-url', c.endpoint], creds);
}

function client(c: TestCairn, creds: Credentials = c.root): SQSClient {
  return new SQSClient({ endpoint: c.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
}

async function createQueue(c: TestCairn, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const args = ['create-queue', '--queue-name', name];
  if (Object.keys(attributes).length > 0) args.push('--attributes', JSON.stringify(attributes));
  return (await sqs<{ QueueUrl: string }>(c, args)).QueueUrl;
}

interface Message {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
  MD5OfMessageAttributes?: string;
}

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
});
afterAll(async () => {
  await cairn.stop();
});

describe('queues', () => {
  it('creates, finds, lists, describes, changes and deletes queues with the CLI', async () => {
    const url = await createQueue(cairn, 'orders', { VisibilityTimeout: '45', DelaySeconds: '0' });
    expect(url).toBe(`${cairn.endpoint}/${accountId}/orders`);
    // Same attributes: the same queue; different ones: QueueAlreadyExists, as botocore names it.
    expect(await createQueue(cairn, 'orders', { VisibilityTimeout: '45' })).toBe(url);
    const clash = await sqsRaw(cairn, ['create-queue', '--queue-name', 'orders', '--attributes', 'VisibilityTimeout=10']);
    expect(clash.stderr).toContain('QueueAlreadyExists');

    expect((await sqs<{ QueueUrl: string }>(cairn, ['get-queue-url', '--queue-name', 'orders'])).QueueUrl).toBe(url);
    const missing = await sqsRaw(cairn, ['get-queue-url', '--queue-name', 'nope']);
    expect(missing.stderr).toContain('AWS.SimpleQueueService.NonExistentQueue');
    expect(missing.stderr).toContain('The specified queue does not exist.');

    const attrs = await sqs<{ Attributes: Record<string, string> }>(cairn, ['get-queue-attributes', '--queue-url', url, '--attribute-names', 'All']);
    expect(attrs.Attributes).toMatchObject({
      QueueArn: `arn:aws:sqs:us-east-1:${accountId}:orders`,
      VisibilityTimeout: '45',
      MessageRetentionPeriod: '345600',
      MaximumMessageSize: '1048576',
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
    });
    expect(Number(attrs.Attributes.CreatedTimestamp)).toBeGreaterThan(1_600_000_000);

    await sqs(cairn, ['set-queue-attributes', '--queue-url', url, '--attributes', 'MessageRetentionPeriod=120']);
    const changed = await sqs<{ Attributes: Record<string, string> }>(cairn, ['get-queue-attributes', '--queue-url', url, '--attribute-names', 'MessageRetentionPeriod']);
    expect(changed.Attributes).toEqual({ MessageRetentionPeriod: '120' });
    const bad = await sqsRaw(cairn, ['set-queue-attributes', '--queue-url', url, '--attributes', 'VisibilityTimeout=99999']);
    expect(bad.stderr).toContain('InvalidAttributeValue');

    await createQueue(cairn, 'orders-archive');
    await createQueue(cairn, 'other');
    const listed = await sqs<{ QueueUrls: string[] }>(cairn, ['list-queues', '--queue-name-prefix', 'orders']);
    expect(listed.QueueUrls).toEqual([url, `${cairn.endpoint}/${accountId}/orders-archive`]);
    const firstPage = await sqs<{ QueueUrls: string[]; NextToken?: string }>(cairn, ['list-queues', '--max-results', '1', '--no-paginate']);
    expect(firstPage.QueueUrls).toHaveLength(1);
    expect(firstPage.NextToken).toBeDefined();
    // The CLI pages through every queue on its own.
    const all = await sqs<{ QueueUrls: string[] }>(cairn, ['list-queues', '--page-size', '1']);
    expect(all.QueueUrls.length).toBeGreaterThanOrEqual(3);

    await sqs(cairn, ['delete-queue', '--queue-url', `${cairn.endpoint}/${accountId}/other`]);
    expect((await sqsRaw(cairn, ['get-queue-url', '--queue-name', 'other'])).code).not.toBe(0);
  });

  it('refuses bad names and attributes', async () => {
    expect((await sqsRaw(cairn, ['create-queue', '--queue-name', 'bad name'])).stderr).toContain('InvalidParameterValue');
    expect((await sqsRaw(cairn, ['create-queue', '--queue-name', 'q', '--attributes', 'Bogus=1'])).stderr).toContain('InvalidAttributeName');
    expect((await sqsRaw(cairn, ['create-queue', '--queue-name', 'plain', '--attributes', 'FifoQueue=true'])).stderr).toContain('InvalidParameterValue');
  });
});

describe('messages', () => {
  it('sends with attributes, receives with long polling, and deletes (CLI), with the digests SQS computes', async () => {
    const url = await createQueue(cairn, 'work');
    const sent = await sqs<{ MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes: string }>(cairn, [
      'send-message', '--queue-url', url, '--message-body', 'hello world',
      '--message-attributes', JSON.stringify({ color: { DataType: 'String', StringValue: 'red' }, size: { DataType: 'Number', StringValue: '3' } }),
    ]);
    expect(sent.MD5OfMessageBody).toBe('5eb63bbbe01eeed093cb22bb8f5acdc3');
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);

    const got = await sqs<{ Messages: Message[] }>(cairn, [
      'receive-message', '--queue-url', url, '--wait-time-seconds', '1', '--attribute-names', 'All', '--message-attribute-names', 'All',
    ]);
    expect(got.Messages).toHaveLength(1);
    const m = got.Messages[0] as Message;
    expect(m).toMatchObject({ MessageId: sent.MessageId, Body: 'hello world', MD5OfBody: sent.MD5OfMessageBody, MD5OfMessageAttributes: sent.MD5OfMessageAttributes });
    expect(m.MessageAttributes).toEqual({ color: { DataType: 'String', StringValue: 'red' }, size: { DataType: 'Number', StringValue: '3' } });
    expect(m.Attributes).toMatchObject({ SenderId: accountId, ApproximateReceiveCount: '1' });

    // Only the attributes asked for come back, with a digest of those.
    await sqs(cairn, ['change-message-visibility', '--queue-url', url, '--receipt-handle', m.ReceiptHandle, '--visibility-timeout', '0']);
    const some = await sqs<{ Messages: Message[] }>(cairn, ['receive-message', '--queue-url', url, '--message-attribute-names', 'color']);
    const again = some.Messages[0] as Message;
    expect(Object.keys(again.MessageAttributes ?? {})).toEqual(['color']);

    await sqs(cairn, ['delete-message', '--queue-url', url, '--receipt-handle', again.ReceiptHandle]);
    const empty = await sqs(cairn, ['receive-message', '--queue-url', url, '--wait-time-seconds', '0']);
    expect(empty.Messages).toBeUndefined();
    const invalid = await sqsRaw(cairn, ['delete-message', '--queue-url', url, '--receipt-handle', 'garbage']);
    expect(invalid.stderr).toContain('ReceiptHandleIsInvalid');
  });

  it('checks MD5 digests with the JS SDK and sends batches', async () => {
    const url = await createQueue(cairn, 'sdk');
    const sdk = client(cairn);
    await sdk.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ünïcödé ✓' }));
    const batch = await sdk.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two', DelaySeconds: 0 },
          { Id: 'c', MessageBody: 'bad \u0001 char' },
        ],
      }),
    );
    expect(batch.Successful?.map((e) => e.Id)).toEqual(['a', 'b']);
    expect(batch.Failed).toEqual([expect.objectContaining({ Id: 'c', Code: 'InvalidMessageContents', SenderFault: true })]);
    const got = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(got.Messages?.map((m) => m.Body)).toEqual(['ünïcödé ✓', 'one', 'two']);
    sdk.destroy();
  });

  it('long polling returns as soon as a message arrives', async () => {
    const url = await createQueue(cairn, 'poll');
    const started = Date.now();
    const waiting = sqs<{ Messages: Message[] }>(cairn, ['receive-message', '--queue-url', url, '--wait-time-seconds', '15']);
    await new Promise((r) => setTimeout(r, 1500));
    const sdk = client(cairn);
    await sdk.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    sdk.destroy();
    const got = await waiting;
    expect(got.Messages?.[0]?.Body).toBe('wake up');
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlqUrl = await createQueue(cairn, 'dead');
    const dlqArn = `arn:aws:sqs:us-east-1:${accountId}:dead`;
    const url = await createQueue(cairn, 'flaky', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) });
    await sqs(cairn, ['send-message', '--queue-url', url, '--message-body', 'poison']);
    const sdk = client(cairn);
    for (let i = 0; i < 2; i++) {
      const got = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));
      expect(got.Messages?.[0]?.Body).toBe('poison');
    }
    const third = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));
    expect(third.Messages).toBeUndefined();
    const dead = await sdk.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageSystemAttributeNames: ['All'] }));
    expect(dead.Messages?.[0]?.Body).toBe('poison');
    expect(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(`arn:aws:sqs:us-east-1:${accountId}:flaky`);
    const sources = await sqs<{ queueUrls: string[] }>(cairn, ['list-dead-letter-source-queues', '--queue-url', dlqUrl]);
    expect(sources.queueUrls).toEqual([url]);
    const missingDlq = await sqsRaw(cairn, ['create-queue', '--queue-name', 'x', '--attributes', JSON.stringify({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `${dlqArn}-nope`, maxReceiveCount: 1 }) })]);
    expect(missingDlq.stderr).toContain('Dead letter target does not exist');
    sdk.destroy();
  });

  it('keeps FIFO order per message group and drops duplicates within five minutes', async () => {
    const url = await createQueue(cairn, 'jobs.fifo', { FifoQueue: 'true' });
    const send = (body: string, group: string, dedup: string) =>
      sqs<{ MessageId: string; SequenceNumber: string }>(cairn, [
        'send-message', '--queue-url', url, '--message-body', body, '--message-group-id', group, '--message-deduplication-id', dedup,
      ]);
    const a1 = await send('a1', 'A', 'd-a1');
    await send('b1', 'B', 'd-b1');
    await send('a2', 'A', 'd-a2');
    const dup = await send('a1 again', 'A', 'd-a1');
    expect(dup.MessageId).toBe(a1.MessageId);
    expect(dup.SequenceNumber).toBe(a1.SequenceNumber);
    const noGroup = await sqsRaw(cairn, ['send-message', '--queue-url', url, '--message-body', 'x']);
    expect(noGroup.stderr).toContain('MessageGroupId');

    const sdk = client(cairn);
    const first = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] }));
    expect(first.Messages?.[0]?.Body).toBe('a1');
    expect(first.Messages?.[0]?.Attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'd-a1', SequenceNumber: a1.SequenceNumber });
    // Group A is blocked while a1 is in flight; group B is not.
    const second = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(second.Messages?.map((m) => m.Body)).toEqual(['b1']);
    await sqs(cairn, ['delete-message', '--queue-url', url, '--receipt-handle', first.Messages?.[0]?.ReceiptHandle ?? '']);
    const third = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(third.Messages?.map((m) => m.Body)).toEqual(['a2']);
    sdk.destroy();
  });

  it('records message calls as data events without their contents, and queue calls as management events', async () => {
    await cairn.logDataEvents(['AWS::SQS::Queue']);
    const url = await createQueue(cairn, 'audited');
    await sqs(cairn, ['send-message', '--queue-url', url, '--message-body', 'secret-payload-123']);
    await sqs(cairn, ['receive-message', '--queue-url', url]);
    const records = readRecords(cairn.server.dataDir).map((r) => r.record).filter((r) => r.eventSource === 'sqs.amazonaws.com');
    const send = records.find((r) => r.eventName === 'SendMessage' && JSON.stringify(r).includes('audited'));
    expect(send).toMatchObject({
      eventCategory: 'Data',
      managementEvent: false,
      readOnly: false,
      requestParameters: { queueUrl: url, messageBody: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
      resources: [{ ARN: `arn:aws:sqs:us-east-1:${accountId}:audited`, accountId, type: 'AWS::SQS::Queue' }],
    });
    const receive = records.find((r) => r.eventName === 'ReceiveMessage' && JSON.stringify(r).includes('audited'));
    expect(receive).toMatchObject({ eventCategory: 'Data', readOnly: true, responseElements: null });
    const create = records.find((r) => r.eventName === 'CreateQueue' && JSON.stringify(r).includes('audited'));
    expect(create).toMatchObject({ eventCategory: 'Management', managementEvent: true, responseElements: { queueUrl: url } });
    const all = readRecords(cairn.server.dataDir).map((r) => r.text).join('\n');
    expect(all).not.toContain('secret-payload-123');
  });
});

describe('queue policies', () => {
  it('lets a user without permissions send only once the queue policy allows them', async () => {
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'sender']);
    const key = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', 'sender']);
    const creds: Credentials = { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey };
    const url = await createQueue(cairn, 'inbox');
    const arn = `arn:aws:sqs:us-east-1:${accountId}:inbox`;
    const denied = await sqsRaw(cairn, ['send-message', '--queue-url', url, '--message-body', 'hi'], creds);
    expect(denied.stderr).toContain('AccessDenied');
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:user/sender` }, Action: 'sqs:SendMessage', Resource: arn }],
    };
    await sqs(cairn, ['set-queue-attributes', '--queue-url', url, '--attributes', JSON.stringify({ Policy: JSON.stringify(policy) })]);
    await sqs(cairn, ['send-message', '--queue-url', url, '--message-body', 'hi'], creds);
    // The policy grants sending, not receiving.
    expect((await sqsRaw(cairn, ['receive-message', '--queue-url', url], creds)).stderr).toContain('AccessDenied');

    // Services sending for a resource need the policy too (SNS topics, EventBridge rules).
    const queue = cairn.server.queues.findQueueByArn(arn);
    if (!queue) throw new Error('queue missing');
    const source = { service: 'events.amazonaws.com', sourceArn: `arn:aws:events:us-east-1:${accountId}:rule/r`, sourceAccount: accountId };
    await expect(cairn.server.queues.sendMessage(arn, 'from a rule', undefined, { source })).rejects.toThrow(/not authorized/);
    await sqs(cairn, [
      'set-queue-attributes', '--queue-url', url, '--attributes',
      JSON.stringify({
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: arn, Condition: { ArnEquals: { 'aws:SourceArn': source.sourceArn } } },
          ],
        }),
      }),
    ]);
    await expect(cairn.server.queues.sendMessage(arn, 'from a rule', undefined, { source })).resolves.toMatchObject({ messageId: expect.any(String) as unknown });
    await expect(cairn.server.queues.sendMessage(arn, 'x', undefined, { source: { ...source, sourceArn: `${source.sourceArn}-other` } })).rejects.toThrow();
  });
});

describe('on a manual clock', () => {
  it('hides a received message for its visibility timeout, delays messages, and expires them', async () => {
    // Near the wall clock: requests are signed with the wall time and checked against this one.
    const clock = new ManualClock(Date.now());
    const c = await startCairn({ clock });
    try {
      const sdk = client(c);
      const url = await createQueue(c, 'timed', { VisibilityTimeout: '30', MessageRetentionPeriod: '600' });
      await sdk.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm1' }));
      await sdk.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 60 }));
      const first = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      expect(first.Messages?.map((m) => m.Body)).toEqual(['m1']);
      const counts = await sqs<{ Attributes: Record<string, string> }>(c, ['get-queue-attributes', '--queue-url', url, '--attribute-names', 'All']);
      expect(counts.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1', ApproximateNumberOfMessagesDelayed: '1' });

      clock.advance(29_000);
      expect((await sdk.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
      clock.advance(2_000);
      const again = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
      expect(again.Messages?.[0]).toMatchObject({ Body: 'm1', Attributes: { ApproximateReceiveCount: '2' } });
      // Extending visibility keeps it hidden past the queue's timeout.
      await sdk.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 120 }));
      clock.advance(60_000);
      const afterDelay = await sdk.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      expect(afterDelay.Messages?.map((m) => m.Body)).toEqual(['later']);
      // Past the retention period every message is gone.
      clock.advance(600_000);
      const gone = await sqs<{ Attributes: Record<string, string> }>(c, ['get-queue-attributes', '--queue-url', url, '--attribute-names', 'All']);
      expect(gone.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
      sdk.destroy();
    } finally {
      await c.stop();
    }
  });
});

describe('durability', () => {
  it('keeps queues and messages, with their receive counts, across a restart', async () => {
    const dataDir = tempDir();
    let c = await startCairn({ dataDir });
    const url = await createQueue(c, 'durable');
    await sqs(c, ['send-message', '--queue-url', url, '--message-body', 'survivor']);
    await sqs(c, ['receive-message', '--queue-url', url, '--visibility-timeout', '0']);
    await c.stop();
    c = await startCairn({ dataDir });
    try {
      const newUrl = (await sqs<{ QueueUrl: string }>(c, ['get-queue-url', '--queue-name', 'durable'])).QueueUrl;
      const got = await sqs<{ Messages: Message[] }>(c, ['receive-message', '--queue-url', newUrl, '--attribute-names', 'ApproximateReceiveCount']);
      expect(got.Messages[0]).toMatchObject({ Body: 'survivor', Attributes: { ApproximateReceiveCount: '2' } });
    } finally {
      await c.stop();
    }
  });
});
