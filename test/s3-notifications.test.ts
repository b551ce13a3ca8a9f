/**
 * S3 event notifications end to end, with the stock AWS CLI (`aws s3api`, `aws s3`) and
 * boto3 against a running Cairn: a queue, a topic fanned out to a queue, and EventBridge
 * (a rule on `aws.s3` "Object Created" into a queue) receive puts, copies, multipart
 * completes and deletes in S3's message format, with prefix and suffix filters; a Lambda
 * function whose policy lets S3 invoke it gets the same records; each
 * destination gets `s3:TestEvent`; destinations S3 could not validate are refused.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { run, startCairn, type TestCairn } from './support/cairn.js';

let cairn: TestCairn;
let sqs: SQSClient;
let s3: S3Client;
let accountId: string;

beforeAll(async () => {
  // Trails deliver every half second, so a delivered log file is notified within the test;
  // functions run, so a function can be a destination.
  cairn = await startCairn({ config: { deliveryIntervalMs: 500, functions: true } });
  accountId = cairn.server.accountId;
  sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
  s3 = new S3Client({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, forcePathStyle: true, maxAttempts: 1 });
});

afterAll(async () => {
  sqs.destroy();
  s3.destroy();
  await cairn.stop();
});

/** Writes a file for the CLI's `file://` arguments. */
function file(name: string, content: unknown): string {
  const path = join(cairn.server.dataDir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return `file://${path}`;
}

const allow = (service: string, action: string, resource: string, sourceArn: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: action, Resource: resource, Condition: { ArnLike: { 'aws:SourceArn': sourceArn } } }],
  });

/** A queue; with `sender`, its policy lets that service send for sources matching `sourceArn`. */
async function queue(name: string, sender?: { service: string; sourceArn: string }): Promise<{ url: string; arn: string }> {
  const { QueueUrl: url = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const arn = `arn:aws:sqs:us-east-1:${accountId}:${name}`;
  if (sender) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: allow(sender.service, 'sqs:SendMessage', arn, sender.sourceArn) } }));
  return { url, arn };
}

/** Messages on a queue (bodies parsed), until `count` arrived or the wait is over; they are deleted. */
async function drain(url: string, count: number, waitMs = 3000): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const until = Date.now() + waitMs;
  while (out.length < count && Date.now() < until) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
    const messages = got.Messages ?? [];
    for (const m of messages) out.push(JSON.parse(m.Body ?? 'null') as Record<string, unknown>);
    if (messages.length > 0) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
    }
  }
  return out;
}

interface S3Record {
  eventVersion: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  s3: { configurationId: string; bucket: { name: string; arn: string }; object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string } };
}

const recordOf = (message: Record<string, unknown>): S3Record => (message.Records as S3Record[])[0] as S3Record;

describe('bucket event notifications', () => {
  it('deliver puts, copies, multipart completes and deletes to a queue in S3’s format, through key filters', async () => {
    const Bucket = 'uploads';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const q = await queue('uploads-events', { service: 's3.amazonaws.com', sourceArn: `arn:aws:s3:::${Bucket}` });
    const config = {
      QueueConfigurations: [
        {
          Id: 'created-logs',
          QueueArn: q.arn,
          Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/' }, { Name: 'suffix', Value: '.json' }] } },
        },
        { Id: 'removed', QueueArn: q.arn, Events: ['s3:ObjectRemoved:*'] },
      ],
    };
    // The stock CLI puts the configuration; S3 then sends each destination a test event.
    await cairn.awsJson(['s3api', 'put-bucket-notification-configuration', '--bucket', Bucket, '--notification-configuration', file('uploads.json', config)]);
    const [test] = await drain(q.url, 1);
    expect(test).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket });

    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'logs/a b.json', Body: 'hello' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'other/skip.json', Body: 'hello' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'logs/skip.txt', Body: 'hello' }));
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'logs/copy.json', CopySource: `${Bucket}/logs/a%20b.json` }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'logs/big.json' }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'logs/big.json', UploadId, PartNumber: 1, Body: 'hello' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'logs/big.json', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'other/skip.json' }));
    await cairn.server.bucketNotifications.idle();

    const records = (await drain(q.url, 4)).map(recordOf);
    expect(records.map((r) => [r.eventName, r.s3.object.key, r.s3.configurationId]).sort()).toEqual(
      [
        ['ObjectCreated:Put', 'logs/a+b.json', 'created-logs'],
        ['ObjectCreated:Copy', 'logs/copy.json', 'created-logs'],
        ['ObjectCreated:CompleteMultipartUpload', 'logs/big.json', 'created-logs'],
        ['ObjectRemoved:Delete', 'other/skip.json', 'removed'],
      ].sort(),
    );
    expect(records.find((r) => r.eventName === 'ObjectCreated:Put')).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      userIdentity: { principalId: accountId },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      s3: { bucket: { name: Bucket, arn: `arn:aws:s3:::${Bucket}` }, object: { size: 5, eTag: put.ETag?.replaceAll('"', '') } },
    });
    const removed = records.find((r) => r.eventName === 'ObjectRemoved:Delete');
    expect(removed?.s3.object.size).toBeUndefined();
    expect(new Set(records.map((r) => r.s3.object.sequencer)).size).toBe(4);
    expect(await drain(q.url, 1, 1200)).toEqual([]);
  });

  it('fan out through a topic to a queue, with version ids and delete markers, as boto3 sets it up', async () => {
    const bucket = 'versioned-events';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const topicArn = `arn:aws:sns:us-east-1:${accountId}:object-events`;
    const q = await queue('topic-fanout', { service: 'sns.amazonaws.com', sourceArn: topicArn });
    const script = [
      'import boto3, json, sys',
      "sns = boto3.client('sns')",
      "arn = sns.create_topic(Name='object-events')['TopicArn']",
      "policy = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 's3.amazonaws.com'}, 'Action': 'SNS:Publish', 'Resource': arn,",
      "  'Condition': {'ArnLike': {'aws:SourceArn': 'arn:aws:s3:::' + sys.argv[1]}}}]}",
      "sns.set_topic_attributes(TopicArn=arn, AttributeName='Policy', AttributeValue=json.dumps(policy))",
      "sns.subscribe(TopicArn=arn, Protocol='sqs', Endpoint=sys.argv[2], Attributes={'RawMessageDelivery': 'true'})",
      "s3 = boto3.client('s3')",
      "s3.put_bucket_versioning(Bucket=sys.argv[1], VersioningConfiguration={'Status': 'Enabled'})",
      "s3.put_bucket_notification_configuration(Bucket=sys.argv[1], NotificationConfiguration={'TopicConfigurations': [{'Id': 'all', 'TopicArn': arn, 'Events': ['s3:ObjectCreated:*', 's3:ObjectRemoved:*']}]})",
      "v = s3.put_object(Bucket=sys.argv[1], Key='doc', Body=b'v1')['VersionId']",
      "s3.delete_object(Bucket=sys.argv[1], Key='doc')",
      'print(v)',
    ].join('\n');
    const out = await run('python3', ['-c', script, bucket, q.arn], cairn.env());
    expect(out.stderr).toBe('');
    const versionId = out.stdout.trim();
    await cairn.server.bucketNotifications.idle();
    const messages = await drain(q.url, 3);
    expect(messages.find((m) => m.Event === 's3:TestEvent')).toBeDefined();
    const records = messages.filter((m) => m.Records !== undefined).map(recordOf);
    expect(records.map((r) => r.eventName).sort()).toEqual(['ObjectCreated:Put', 'ObjectRemoved:DeleteMarkerCreated']);
    expect(records.find((r) => r.eventName === 'ObjectCreated:Put')?.s3.object.versionId).toBe(versionId);
    const marker = records.find((r) => r.eventName === 'ObjectRemoved:DeleteMarkerCreated');
    expect(marker?.s3.object.versionId).toBeTruthy();
    expect(marker?.s3.object.versionId).not.toBe(versionId);
  });

  it('put events on the default bus when EventBridge is on: a rule on aws.s3 "Object Created" reaches its queue', async () => {
    const bucket = 'bus-events';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const q = await queue('s3-bus', { service: 'events.amazonaws.com', sourceArn: `arn:aws:events:us-east-1:${accountId}:rule/*` });
    const script = [
      'import boto3, json, sys',
      "events = boto3.client('events')",
      "events.put_rule(Name='s3-created', EventPattern=json.dumps({'source': ['aws.s3'], 'detail-type': ['Object Created'], 'detail': {'bucket': {'name': [sys.argv[1]]}}}))",
      "events.put_targets(Rule='s3-created', Targets=[{'Id': 'q', 'Arn': sys.argv[2]}])",
      "s3 = boto3.client('s3')",
      "s3.put_bucket_notification_configuration(Bucket=sys.argv[1], NotificationConfiguration={'EventBridgeConfiguration': {}})",
      "print(json.dumps(s3.get_bucket_notification_configuration(Bucket=sys.argv[1])['EventBridgeConfiguration']))",
      "s3.put_object(Bucket=sys.argv[1], Key='in/bus.txt', Body=b'abc')",
      "s3.delete_object(Bucket=sys.argv[1], Key='in/bus.txt')",
    ].join('\n');
    const out = await run('python3', ['-c', script, bucket, q.arn], cairn.env());
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('{}');
    await cairn.server.bucketNotifications.idle();
    await cairn.server.events.idle();
    const events = await drain(q.url, 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: accountId,
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: { version: '0', bucket: { name: bucket }, object: { key: 'in/bus.txt', size: 3 }, reason: 'PutObject', requester: accountId, 'source-ip-address': '127.0.0.1' },
    });
    // The delete went to the bus too, but this rule takes only "Object Created".
    expect(await drain(q.url, 1, 1200)).toEqual([]);
  });

  it('refuse destinations S3 could not validate, storing nothing', async () => {
    const Bucket = 'refusals';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const open = await queue('no-policy');
    const other = await queue('other-bucket-only', { service: 's3.amazonaws.com', sourceArn: 'arn:aws:s3:::someone-else' });
    const attempts: [string, NotificationConfiguration][] = [
      ['a queue without a policy', { QueueConfigurations: [{ QueueArn: open.arn, Events: ['s3:ObjectCreated:*'] }] }],
      ['a queue whose policy names another bucket', { QueueConfigurations: [{ QueueArn: other.arn, Events: ['s3:ObjectCreated:*'] }] }],
      ['a queue that does not exist', { QueueConfigurations: [{ QueueArn: `arn:aws:sqs:us-east-1:${accountId}:nope`, Events: ['s3:ObjectCreated:*'] }] }],
      ['a topic that does not exist', { TopicConfigurations: [{ TopicArn: `arn:aws:sns:us-east-1:${accountId}:nope`, Events: ['s3:ObjectCreated:*'] }] }],
      ['a function', { LambdaFunctionConfigurations: [{ LambdaFunctionArn: `arn:aws:lambda:us-east-1:${accountId}:function:f`, Events: ['s3:ObjectCreated:*'] }] }],
      ['a queue ARN given as a topic', { TopicConfigurations: [{ TopicArn: open.arn, Events: ['s3:ObjectCreated:*'] }] }],
    ];
    for (const [what, NotificationConfiguration] of attempts) {
      const refused = await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket, NotificationConfiguration })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(refused?.name, what).toBe('InvalidArgument');
      expect(refused?.message, what).toBe('Unable to validate the following destination configurations');
    }
    // The stock CLI shows the same refusal.
    const cli = await cairn.aws(['s3api', 'put-bucket-notification-configuration', '--bucket', Bucket, '--notification-configuration', JSON.stringify(attempts[0]?.[1])]);
    expect(cli.stderr).toContain('InvalidArgument');
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket }));
    expect([got.QueueConfigurations, got.TopicConfigurations, got.LambdaFunctionConfigurations]).toEqual([undefined, undefined, undefined]);
    // Nothing was sent to the queue that refused S3.
    expect(await drain(open.url, 1, 1200)).toEqual([]);
  });

  it('notify the log files a trail delivers into the bucket, as writes by CloudTrail', async () => {
    const Bucket = 'trail-logs';
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: cloudTrailBucketPolicy({ bucket: Bucket, accountId, anyPrefix: true }) }));
    const q = await queue('log-files', { service: 's3.amazonaws.com', sourceArn: `arn:aws:s3:::${Bucket}` });
    const NotificationConfiguration: NotificationConfiguration = {
      QueueConfigurations: [{ Id: 'logs', QueueArn: q.arn, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.json.gz' }] } } }],
    };
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket, NotificationConfiguration }));
    const cloudtrail = new CloudTrailClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
    await cloudtrail.send(new CreateTrailCommand({ Name: 'to-notified-bucket', S3BucketName: Bucket }));
    await cloudtrail.send(new StartLoggingCommand({ Name: 'to-notified-bucket' }));
    cloudtrail.destroy();
    const messages = await drain(q.url, 2, 8000);
    const record = messages.map((m) => (m.Records ? recordOf(m) : undefined)).find((r) => r !== undefined);
    expect(record?.s3.object.key).toMatch(new RegExp(`^AWSLogs/${accountId}/CloudTrail/us-east-1/\\d{4}/\\d{2}/\\d{2}/${accountId}_CloudTrail_us-east-1_.*\\.json\\.gz$`));
    expect(record).toMatchObject({ eventName: 'ObjectCreated:Put', userIdentity: { principalId: 'cloudtrail.amazonaws.com' } });
  });

  it('invoke a function whose policy lets S3 invoke it for the bucket, and refuse one whose policy does not', async () => {
    const bucket = 'to-function';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const script = String.raw`
import boto3, io, json, sys, time, zipfile
bucket = sys.argv[1]
iam = boto3.client('iam')
trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}
role = iam.create_role(RoleName='s3-fn', AssumeRolePolicyDocument=json.dumps(trust))['Role']['Arn']
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    z.writestr('index.js', 'exports.handler = async (event) => { console.log("S3EVENT " + JSON.stringify(event)); };')
lam = boto3.client('lambda')
arns = {}
for name in ('allowed-fn', 'private-fn'):
    arns[name] = lam.create_function(FunctionName=name, Runtime='nodejs20.x', Handler='index.handler', Role=role, Code={'ZipFile': buf.getvalue()})['FunctionArn']
lam.add_permission(FunctionName='allowed-fn', StatementId='s3', Action='lambda:InvokeFunction', Principal='s3.amazonaws.com', SourceArn='arn:aws:s3:::' + bucket)
s3 = boto3.client('s3')
def configure(name):
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={'LambdaFunctionConfigurations': [{'Id': 'fn', 'LambdaFunctionArn': arns[name], 'Events': ['s3:ObjectCreated:*']}]})
try:
    configure('private-fn')
    print('private-fn accepted')
except s3.exceptions.ClientError as e:
    print('private-fn refused', e.response['Error']['Code'])
configure('allowed-fn')
s3.put_object(Bucket=bucket, Key='photos/cat.jpg', Body=b'meow')
logs = boto3.client('logs')
for _ in range(60):
    try:
        found = [e['message'] for e in logs.filter_log_events(logGroupName='/aws/lambda/allowed-fn')['events'] if 'S3EVENT' in e['message']]
    except logs.exceptions.ResourceNotFoundException:
        found = []
    records = [json.loads(m.split('S3EVENT ', 1)[1]) for m in found]
    records = [r for r in records if 'Records' in r]
    if records:
        print(json.dumps(records[0]))
        break
    time.sleep(0.25)
`;
    const out = await run('python3', ['-c', script, bucket], cairn.env());
    expect(out.stderr).toBe('');
    const [refusal, event] = out.stdout.trim().split('\n');
    expect(refusal).toBe('private-fn refused InvalidArgument');
    const record = recordOf(JSON.parse(event ?? '{}') as Record<string, unknown>);
    expect(record).toMatchObject({ eventName: 'ObjectCreated:Put', s3: { configurationId: 'fn', bucket: { name: bucket }, object: { key: 'photos/cat.jpg', size: 4 } } });
  });
});
