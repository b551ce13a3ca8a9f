/**
 * Trail SNS notifications end to end with the stock AWS CLI: a trail with a topic whose
 * policy lets CloudTrail publish announces each delivered log file on it
 * (`{"s3Bucket":...,"s3ObjectKey":[...]}`), read back through an SQS subscription; a
 * publish the topic policy refuses shows in GetTrailStatus; CreateTrail and UpdateTrail
 * refuse a topic CloudTrail may not publish to, or that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type TestCairn } from './support/cairn.js';

const MINUTE = 60_000;

/** AWS's documented topic policy for CloudTrail, scoped to the trail as the best practice says. */
function cloudTrailTopicPolicy(topicArn: string, trailArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AWSCloudTrailSNSPolicy20131101',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 'SNS:Publish',
        Resource: topicArn,
        Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
      },
    ],
  });
}

interface Message {
  Body: string;
  ReceiptHandle: string;
}

describe('trail SNS notifications', () => {
  const clock = new ManualClock(Date.now());
  let cairn: TestCairn;
  let accountId: string;
  const sns = (args: string[]) => cairn.awsJson(['sns', ...args, '--endpoint-url', cairn.endpoint]);
  // CLI v1 does not take AWS_ENDPOINT_URL for SQS: the endpoint is given on each call.
  const sqs = <T = Record<string, unknown>>(args: string[]) => cairn.awsJson<T>(['sqs', ...args, '--endpoint-url', cairn.endpoint]);
  const receive = async (url: string): Promise<Message[]> =>
    (await sqs<{ Messages?: Message[] }>(['receive-message', '--queue-url', url, '--max-number-of-messages', '10', '--wait-time-seconds', '5'])).Messages ?? [];

  beforeAll(async () => {
    cairn = await startCairn({ clock });
    accountId = cairn.server.accountId;
  });
  afterAll(async () => {
    await cairn.stop();
  });

  it('publishes each delivered log file to the trail topic, and records a refused publish', async () => {
    await cairn.trailBucket('notified-logs');
    const trailArn = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/notified`;
    const topicArn = `arn:aws:sns:us-east-1:${accountId}:trail-files`;
    await sns(['create-topic', '--name', 'trail-files', '--attributes', JSON.stringify({ Policy: cloudTrailTopicPolicy(topicArn, trailArn) })]);
    const queueArn = `arn:aws:sqs:us-east-1:${accountId}:trail-files`;
    const queuePolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': topicArn } } },
      ],
    });
    const { QueueUrl: url } = await sqs<{ QueueUrl: string }>(['create-queue', '--queue-name', 'trail-files', '--attributes', JSON.stringify({ Policy: queuePolicy })]);
    await sns(['subscribe', '--topic-arn', topicArn, '--protocol', 'sqs', '--notification-endpoint', queueArn]);

    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'notified', '--s3-bucket-name', 'notified-logs', '--sns-topic-name', 'trail-files']);
    const described = await cairn.awsJson<{ trailList: { SnsTopicARN?: string; SnsTopicName?: string }[] }>(['cloudtrail', 'describe-trails', '--trail-name-list', 'notified']);
    expect(described.trailList[0]?.SnsTopicARN).toBe(topicArn);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'notified']);
    await cairn.awsJson(['sts', 'get-caller-identity']);
    await cairn.awsJson(['cloudtrail', 'describe-trails']);

    clock.advance(5 * MINUTE + 1000);
    const report = await cairn.server.delivery.deliverNow();
    const delivered = report.files.filter((f) => f.trailArn === trailArn);
    expect(delivered.length).toBeGreaterThanOrEqual(1);

    const notices: { s3Bucket: string; s3ObjectKey: string[] }[] = [];
    for (let i = 0; i < 5 && notices.length < delivered.length; i++) {
      for (const m of await receive(url)) {
        const envelope = JSON.parse(m.Body) as { Type: string; TopicArn: string; Message: string; Subject?: string };
        expect(envelope.Type).toBe('Notification');
        expect(envelope.TopicArn).toBe(topicArn);
        expect(envelope.Subject).toBeUndefined();
        // The message is exactly CloudTrail's document: the bucket and a one-key list.
        expect(Object.keys(JSON.parse(envelope.Message) as object)).toEqual(['s3Bucket', 's3ObjectKey']);
        notices.push(JSON.parse(envelope.Message) as { s3Bucket: string; s3ObjectKey: string[] });
        await sqs(['delete-message', '--queue-url', url, '--receipt-handle', m.ReceiptHandle]);
      }
    }
    expect(notices.every((n) => n.s3Bucket === 'notified-logs' && n.s3ObjectKey.length === 1)).toBe(true);
    expect(notices.map((n) => n.s3ObjectKey[0]).sort()).toEqual(delivered.map((f) => f.key).sort());
    // The key names an object that is in the bucket.
    const head = await cairn.aws(['s3api', 'head-object', '--bucket', 'notified-logs', '--key', notices[0]?.s3ObjectKey[0] ?? '']);
    expect(head.code).toBe(0);

    const status = async () =>
      cairn.awsJson<{ LatestNotificationTime?: number; LatestNotificationError?: string }>(['cloudtrail', 'get-trail-status', '--name', 'notified']);
    let ok = await status();
    for (let i = 0; i < 20 && ok.LatestNotificationTime === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ok = await status();
    }
    expect(ok.LatestNotificationTime).toBeDefined();
    expect(ok.LatestNotificationError).toBeUndefined();

    // The topic owner takes CloudTrail's permission away: the next notification is refused.
    const ownerOnly = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'SNS:Publish', Resource: topicArn }],
    });
    await sns(['set-topic-attributes', '--topic-arn', topicArn, '--attribute-name', 'Policy', '--attribute-value', ownerOnly]);
    await cairn.awsJson(['sts', 'get-caller-identity']);
    clock.advance(5 * MINUTE + 1000);
    const second = await cairn.server.delivery.deliverNow();
    expect(second.files.some((f) => f.trailArn === trailArn)).toBe(true);
    let failed = await status();
    for (let i = 0; i < 20 && failed.LatestNotificationError === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      failed = await status();
    }
    expect(failed.LatestNotificationError).toBe('AuthorizationError');
    expect(failed.LatestNotificationTime).toBe(ok.LatestNotificationTime);
    const none = await sqs<{ Messages?: Message[] }>(['receive-message', '--queue-url', url, '--wait-time-seconds', '1']);
    expect(none.Messages ?? []).toEqual([]);
  });

  it('refuses at CreateTrail and UpdateTrail a topic CloudTrail may not publish to, or that does not exist', async () => {
    await cairn.trailBucket('refused-logs');
    await sns(['create-topic', '--name', 'no-cloudtrail']);
    // The CLI prints the code, the operation (and its retry count) and AWS's message.
    const refused = (op: string) => new RegExp(`^An error occurred \\(InsufficientSnsTopicPolicyException\\) when calling the ${op} operation.*: SNS Topic does not exist or the topic policy is incorrect!$`);
    const plain = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'refused', '--s3-bucket-name', 'refused-logs', '--sns-topic-name', 'no-cloudtrail']);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr.trim()).toMatch(refused('CreateTrail'));
    const missing = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'refused', '--s3-bucket-name', 'refused-logs', '--sns-topic-name', `arn:aws:sns:us-east-1:${accountId}:nowhere`]);
    expect(missing.stderr.trim()).toMatch(refused('CreateTrail'));
    // A policy for another trail does not do either.
    const otherArn = `arn:aws:sns:us-east-1:${accountId}:other-trail`;
    await sns(['create-topic', '--name', 'other-trail', '--attributes', JSON.stringify({ Policy: cloudTrailTopicPolicy(otherArn, `arn:aws:cloudtrail:us-east-1:${accountId}:trail/other`) })]);
    const other = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'refused', '--s3-bucket-name', 'refused-logs', '--sns-topic-name', 'other-trail']);
    expect(other.stderr.trim()).toMatch(refused('CreateTrail'));
    const list = await cairn.awsJson<{ trailList: { Name: string }[] }>(['cloudtrail', 'describe-trails']);
    expect(list.trailList.map((t) => t.Name)).not.toContain('refused');

    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'refused', '--s3-bucket-name', 'refused-logs']);
    const update = await cairn.aws(['cloudtrail', 'update-trail', '--name', 'refused', '--sns-topic-name', 'no-cloudtrail']);
    expect(update.stderr.trim()).toMatch(refused('UpdateTrail'));
    // An empty name removes the topic and needs no check.
    await cairn.awsJson(['cloudtrail', 'update-trail', '--name', 'refused', '--sns-topic-name', '']);
  });
});
