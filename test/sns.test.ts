/**
 * SNS end to end with the stock AWS CLI: topics, subscriptions and their attributes;
 * delivery to SQS in SNS's signed JSON envelope (verified against the certificate
 * served at SigningCertURL, with node:crypto and with Python's `cryptography`) or raw;
 * filter policies; HTTP subscriptions confirmed through SubscribeURL, notified with
 * SNS's headers and retried; function subscriptions; topic and queue policies; FIFO
 * topics; CloudTrail records; and topics that survive a restart.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { X509Certificate, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let accountId: string;

function sns<T = Record<string, unknown>>(c: TestCairn, args: string[]): Promise<T> {
  return c.awsJson<T>(['sns', ...args, '--endpoint-url', c.endpoint]);
}
function snsRaw(c: TestCairn, args: string[]) {
  return c.aws(['sns', ...args, '--endpoint-url', c.endpoint]);
}
/** Queues are set up and read with the JS SDK in-process: the CLI here is for SNS. */
function sqsClient(c: TestCairn): SQSClient {
  return new SQSClient({ endpoint: c.endpoint, region: 'us-east-1', credentials: c.root, maxAttempts: 1 });
}

async function createTopic(c: TestCairn, name: string, attributes?: Record<string, string>): Promise<string> {
  const args = ['create-topic', '--name', name];
  if (attributes) args.push('--attributes', JSON.stringify(attributes));
  return (await sns<{ TopicArn: string }>(c, args)).TopicArn;
}

/** A queue whose policy lets the topic send to it; returns its URL and ARN. */
async function queueFor(c: TestCairn, name: string, topicArn: string | undefined): Promise<{ url: string; arn: string }> {
  const arn = `arn:aws:sqs:us-east-1:${c.server.accountId}:${name}`;
  const attributes: Record<string, string> = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
  if (topicArn) {
    attributes.Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: arn, Condition: { ArnEquals: { 'aws:SourceArn': topicArn } } },
      ],
    });
  }
  const client = sqsClient(c);
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  client.destroy();
  return { url: QueueUrl ?? '', arn };
}

async function subscribe(c: TestCairn, topicArn: string, protocol: string, endpoint: string, attributes?: Record<string, string>): Promise<string> {
  const args = ['subscribe', '--topic-arn', topicArn, '--protocol', protocol, '--notification-endpoint', endpoint, '--return-subscription-arn'];
  if (attributes) args.push('--attributes', JSON.stringify(attributes));
  return (await sns<{ SubscriptionArn: string }>(c, args)).SubscriptionArn;
}

/** Runs a few boto3 SNS calls in one Python process (faster than one CLI process per call); `out` is returned. */
async function boto3<T = Record<string, unknown>>(c: TestCairn, code: string): Promise<T> {
  const script = `import boto3, json, os\nsns = boto3.client('sns', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\nout = {}\n${code}\nprint(json.dumps(out))\n`;
  const result = await run('python3', ['-c', script], c.env());
  if (result.code !== 0) throw new Error(`boto3 script failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface Received {
  Body: string;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
}

async function receiveAll(c: TestCairn, url: string, wait = 1): Promise<Received[]> {
  const client = sqsClient(c);
  const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: wait, MessageAttributeNames: ['All'] }));
  client.destroy();
  return (out.Messages ?? []).map((m) => ({
    Body: m.Body ?? '',
    ...(m.MessageAttributes
      ? { MessageAttributes: Object.fromEntries(Object.entries(m.MessageAttributes).map(([k, v]) => [k, { DataType: v.DataType ?? '', ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}) }])) }
      : {}),
  }));
}

/** Verifies an SNS message the way AWS documents it, independently of Cairn's code. */
async function verifiedWithNode(msg: Record<string, string>): Promise<boolean> {
  const res = await fetch(msg.SigningCertURL ?? '');
  expect(res.status).toBe(200);
  const cert = new X509Certificate(await res.text());
  const fields =
    msg.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields
    .filter((f) => msg[f] !== undefined)
    .map((f) => `${f}\n${msg[f] ?? ''}\n`)
    .join('');
  return verify(msg.SignatureVersion === '2' ? 'sha256' : 'sha1', Buffer.from(text), cert.publicKey, Buffer.from(msg.Signature ?? '', 'base64'));
}

/** The same check with Python's `cryptography`, as a validator outside Node would make it. */
async function verifiedWithPython(msg: Record<string, string>): Promise<boolean> {
  const script = `
import json, sys, base64, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
m = json.load(sys.stdin)
cert = x509.load_pem_x509_certificate(urllib.request.urlopen(m["SigningCertURL"]).read())
keys = ["Message","MessageId","Subject","Timestamp","TopicArn","Type"] if m["Type"] == "Notification" else ["Message","MessageId","SubscribeURL","Timestamp","Token","TopicArn","Type"]
text = "".join(f"{k}\\n{m[k]}\\n" for k in keys if k in m)
h = hashes.SHA256() if m["SignatureVersion"] == "2" else hashes.SHA1()
try:
    cert.public_key().verify(base64.b64decode(m["Signature"]), text.encode(), padding.PKCS1v15(), h)
    print("valid")
except Exception as e:
    print("invalid", e)
`;
  const out = await run('python3', ['-c', script], { PATH: process.env.PATH }, JSON.stringify(msg));
  return out.stdout.trim() === 'valid';
}

/** A local HTTP endpoint that records what SNS posts and answers with the statuses queued. */
interface Endpoint {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string }[];
  statuses: number[];
  server: Server;
  waitFor(n: number, ms?: number): Promise<void>;
}

async function startEndpoint(): Promise<Endpoint> {
  const requests: Endpoint['requests'] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sns`,
    requests,
    statuses,
    server,
    async waitFor(n, ms = 10_000) {
      const until = Date.now() + ms;
      while (requests.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(requests.length).toBeGreaterThanOrEqual(n);
    },
  };
}

let endpoint: Endpoint;

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
  endpoint = await startEndpoint();
});
afterAll(async () => {
  await cairn.stop();
  await new Promise((r) => endpoint.server.close(r));
});

describe('topics', () => {
  it('creates, describes, changes, tags, lists and deletes topics', async () => {
    const arn = await createTopic(cairn, 'alerts');
    expect(arn).toBe(`arn:aws:sns:us-east-1:${accountId}:alerts`);
    expect(await createTopic(cairn, 'alerts')).toBe(arn);
    await sns(cairn, ['set-topic-attributes', '--topic-arn', arn, '--attribute-name', 'DisplayName', '--attribute-value', 'Alerts']);
    const attrs = await sns<{ Attributes: Record<string, string> }>(cairn, ['get-topic-attributes', '--topic-arn', arn]);
    expect(attrs.Attributes).toMatchObject({ TopicArn: arn, Owner: accountId, DisplayName: 'Alerts', SubscriptionsConfirmed: '0', SubscriptionsPending: '0' });
    expect(JSON.parse(attrs.Attributes.Policy ?? '{}')).toMatchObject({ Id: '__default_policy_ID' });
    const missing = await snsRaw(cairn, ['get-topic-attributes', '--topic-arn', `${arn}-nope`]);
    expect(missing.stderr).toContain('NotFound');
    const out = await boto3<{ tags: unknown; listed: string[]; badName: string; after: string[] }>(
      cairn,
      `
arn = "${arn}"
sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "sec"}])
out["tags"] = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
out["listed"] = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
try:
    sns.create_topic(Name="bad name")
except sns.exceptions.InvalidParameterException as e:
    out["badName"] = e.response["Error"]["Code"]
sns.delete_topic(TopicArn=arn)
sns.delete_topic(TopicArn=arn)
out["after"] = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
`,
    );
    expect(out.tags).toEqual([{ Key: 'team', Value: 'sec' }]);
    expect(out.listed).toContain(arn);
    expect(out.badName).toBe('InvalidParameter');
    expect(out.after).not.toContain(arn);
  });
});

describe('delivery to SQS', () => {
  it('delivers the signed JSON envelope, verifiable against the served certificate (versions 1 and 2)', async () => {
    const topic = await createTopic(cairn, 'orders');
    const queue = await queueFor(cairn, 'orders-q', topic);
    const subArn = await subscribe(cairn, topic, 'sqs', queue.arn);
    expect(subArn).toMatch(new RegExp(`^${topic}:[0-9a-f-]{36}$`));
    const published = await sns<{ MessageId: string }>(cairn, [
      'publish', '--topic-arn', topic, '--subject', 'New order', '--message', 'order 42 placed',
      '--message-attributes', JSON.stringify({ kind: { DataType: 'String', StringValue: 'order' } }),
    ]);
    const [m] = await receiveAll(cairn, queue.url);
    const env = JSON.parse(m?.Body ?? '{}') as Record<string, string>;
    expect(env).toMatchObject({
      Type: 'Notification',
      MessageId: published.MessageId,
      TopicArn: topic,
      Subject: 'New order',
      Message: 'order 42 placed',
      SignatureVersion: '1',
      MessageAttributes: { kind: { Type: 'String', Value: 'order' } },
    });
    expect(env.Timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(env.SigningCertURL).toMatch(new RegExp(`^${cairn.endpoint}/sns/SimpleNotificationService-[0-9a-f]+\\.pem$`));
    expect(env.UnsubscribeURL).toBe(`${cairn.endpoint}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subArn)}`);
    expect(await verifiedWithNode(env)).toBe(true);
    expect(await verifiedWithPython(env)).toBe(true);
    // A changed message no longer verifies.
    expect(await verifiedWithNode({ ...env, Message: 'order 43 placed' })).toBe(false);

    await sns(cairn, ['set-topic-attributes', '--topic-arn', topic, '--attribute-name', 'SignatureVersion', '--attribute-value', '2']);
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', 'no subject here']);
    const [v2] = await receiveAll(cairn, queue.url);
    const env2 = JSON.parse(v2?.Body ?? '{}') as Record<string, string>;
    expect(env2.SignatureVersion).toBe('2');
    expect(env2.Subject).toBeUndefined();
    expect(await verifiedWithNode(env2)).toBe(true);
    expect(await verifiedWithPython(env2)).toBe(true);
  });

  it('delivers nothing to a queue whose policy does not allow the topic', async () => {
    const topic = await createTopic(cairn, 'unallowed');
    const queue = await queueFor(cairn, 'unallowed-q', undefined);
    await subscribe(cairn, topic, 'sqs', queue.arn);
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', 'dropped']);
    expect(await receiveAll(cairn, queue.url, 0)).toEqual([]);
  });

  it('delivers the bare message and its attributes with RawMessageDelivery', async () => {
    const topic = await createTopic(cairn, 'raw');
    const queue = await queueFor(cairn, 'raw-q', topic);
    const sub = await subscribe(cairn, topic, 'sqs', queue.arn);
    await sns(cairn, ['set-subscription-attributes', '--subscription-arn', sub, '--attribute-name', 'RawMessageDelivery', '--attribute-value', 'true']);
    const attrs = await sns<{ Attributes: Record<string, string> }>(cairn, ['get-subscription-attributes', '--subscription-arn', sub]);
    expect(attrs.Attributes).toMatchObject({ RawMessageDelivery: 'true', Protocol: 'sqs', Endpoint: queue.arn, PendingConfirmation: 'false', TopicArn: topic });
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', '{"just":"json"}', '--message-attributes', JSON.stringify({ n: { DataType: 'Number', StringValue: '7' } })]);
    const [m] = await receiveAll(cairn, queue.url);
    expect(m?.Body).toBe('{"just":"json"}');
    expect(m?.MessageAttributes).toEqual({ n: { DataType: 'Number', StringValue: '7' } });
  });

  it('applies filter policies on attributes and on the message body', async () => {
    const topic = await createTopic(cairn, 'filtered');
    const byAttr = await queueFor(cairn, 'by-attr', topic);
    const byBody = await queueFor(cairn, 'by-body', topic);
    await subscribe(cairn, topic, 'sqs', byAttr.arn, {
      RawMessageDelivery: 'true',
      FilterPolicy: JSON.stringify({ color: ['red', { prefix: 'dark' }], price: [{ numeric: ['>=', 100] }], region: [{ exists: false }] }),
    });
    await subscribe(cairn, topic, 'sqs', byBody.arn, {
      RawMessageDelivery: 'true',
      FilterPolicyScope: 'MessageBody',
      FilterPolicy: JSON.stringify({ detail: { eventName: [{ 'anything-but': ['GetObject'] }] } }),
    });
    await boto3(
      cairn,
      `
def attrs(**kv):
    return {k: {"DataType": "Number" if isinstance(v, int) else "String", "StringValue": str(v)} for k, v in kv.items()}
for message, a in [
    ("blue", attrs(color="blue", price=500)),
    ("cheap red", attrs(color="red", price=5)),
    ("red with region", attrs(color="red", price=500, region="eu")),
    ("dark red", attrs(color="darkred", price=100)),
    ('{"detail":{"eventName":"PutObject"}}', attrs(color="none")),
    ('{"detail":{"eventName":"GetObject"}}', attrs(color="none")),
]:
    sns.publish(TopicArn="${topic}", Message=message, MessageAttributes=a)
`,
    );
    expect((await receiveAll(cairn, byAttr.url, 0)).map((m) => m.Body)).toEqual(['dark red']);
    expect((await receiveAll(cairn, byBody.url, 0)).map((m) => m.Body)).toEqual(['{"detail":{"eventName":"PutObject"}}']);
    const bad = await snsRaw(cairn, ['subscribe', '--topic-arn', topic, '--protocol', 'sqs', '--notification-endpoint', byAttr.arn.replace('by-attr', 'x'), '--attributes', JSON.stringify({ FilterPolicy: '{"a": "not-a-list"}' })]);
    expect(bad.stderr).toContain('InvalidParameter');
  });

  it('publishes in batches and per protocol with MessageStructure json', async () => {
    const topic = await createTopic(cairn, 'batched');
    const queue = await queueFor(cairn, 'batched-q', topic);
    await subscribe(cairn, topic, 'sqs', queue.arn, { RawMessageDelivery: 'true' });
    const out = await sns<{ Successful: { Id: string; MessageId: string }[]; Failed: unknown[] }>(cairn, [
      'publish-batch', '--topic-arn', topic, '--publish-batch-request-entries',
      JSON.stringify([{ Id: 'one', Message: 'first' }, { Id: 'two', Message: 'second' }, { Id: 'three', Message: '' }]),
    ]);
    expect(out.Successful.map((s) => s.Id)).toEqual(['one', 'two']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'three', Code: 'InvalidParameter', SenderFault: true })]);
    await sns(cairn, ['publish', '--topic-arn', topic, '--message-structure', 'json', '--message', JSON.stringify({ default: 'plain', sqs: 'for queues' })]);
    expect((await receiveAll(cairn, queue.url)).map((m) => m.Body)).toEqual(['first', 'second', 'for queues']);
    const noDefault = await snsRaw(cairn, ['publish', '--topic-arn', topic, '--message-structure', 'json', '--message', '{"sqs":"x"}']);
    expect(noDefault.stderr).toContain('No default entry in JSON message body');
  });

  it('keeps FIFO topics in order and drops duplicates', async () => {
    const topic = await createTopic(cairn, 'events.fifo', { FifoTopic: 'true', ContentBasedDeduplication: 'true' });
    const queue = await queueFor(cairn, 'events-q.fifo', topic);
    await subscribe(cairn, topic, 'sqs', queue.arn, { RawMessageDelivery: 'true' });
    const out = await boto3<{ first: { MessageId: string; SequenceNumber: string }; dup: { MessageId: string }; noGroup: string }>(
      cairn,
      `
out["first"] = sns.publish(TopicArn="${topic}", Message="e1", MessageGroupId="g")
sns.publish(TopicArn="${topic}", Message="e2", MessageGroupId="g")
out["dup"] = sns.publish(TopicArn="${topic}", Message="e1", MessageGroupId="g")
try:
    sns.publish(TopicArn="${topic}", Message="x")
except sns.exceptions.InvalidParameterException as e:
    out["noGroup"] = e.response["Error"]["Message"]
`,
    );
    expect(out.dup.MessageId).toBe(out.first.MessageId);
    expect(out.first.SequenceNumber).toMatch(/^\d{20}$/);
    expect(out.noGroup).toContain('MessageGroupId');
    expect((await receiveAll(cairn, queue.url)).map((m) => m.Body)).toEqual(['e1', 'e2']);
    const standard = await createTopic(cairn, 'plain-topic');
    const refused = await snsRaw(cairn, ['subscribe', '--topic-arn', standard, '--protocol', 'sqs', '--notification-endpoint', queue.arn]);
    expect(refused.stderr).toContain('FIFO SQS Queues can not be subscribed to standard SNS topics');
  });
});

describe('HTTP and function subscriptions', () => {
  it('confirms an HTTP subscription through SubscribeURL, then posts signed notifications with SNS headers', async () => {
    const topic = await createTopic(cairn, 'webhooks');
    const start = endpoint.requests.length;
    const pending = await sns<{ SubscriptionArn: string }>(cairn, ['subscribe', '--topic-arn', topic, '--protocol', 'http', '--notification-endpoint', endpoint.url]);
    expect(pending.SubscriptionArn).toBe('pending confirmation');
    await endpoint.waitFor(start + 1);
    const confirmation = endpoint.requests[start];
    expect(confirmation?.headers).toMatchObject({
      'x-amz-sns-message-type': 'SubscriptionConfirmation',
      'x-amz-sns-topic-arn': topic,
      'content-type': 'text/plain; charset=UTF-8',
      'user-agent': 'Amazon Simple Notification Service Agent',
    });
    const msg = JSON.parse(confirmation?.body ?? '{}') as Record<string, string>;
    expect(msg).toMatchObject({ Type: 'SubscriptionConfirmation', TopicArn: topic, Token: expect.stringMatching(/^[0-9a-f]{64,}$/) as unknown });
    expect(await verifiedWithNode(msg)).toBe(true);
    const listedPending = await sns<{ Subscriptions: { SubscriptionArn: string }[] }>(cairn, ['list-subscriptions-by-topic', '--topic-arn', topic]);
    expect(listedPending.Subscriptions).toEqual([expect.objectContaining({ SubscriptionArn: 'PendingConfirmation', Protocol: 'http', Endpoint: endpoint.url })]);

    // The endpoint confirms by fetching SubscribeURL, unsigned, as real receivers do.
    const visit = await fetch(msg.SubscribeURL ?? '');
    expect(visit.status).toBe(200);
    const xml = await visit.text();
    const subArn = /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(xml)?.[1] ?? '';
    expect(subArn).toMatch(new RegExp(`^${topic}:`));
    const attrs = await sns<{ Attributes: Record<string, string> }>(cairn, ['get-subscription-attributes', '--subscription-arn', subArn]);
    expect(attrs.Attributes).toMatchObject({ PendingConfirmation: 'false', ConfirmationWasAuthenticated: 'false' });
    expect(JSON.parse(attrs.Attributes.EffectiveDeliveryPolicy ?? '{}')).toMatchObject({ healthyRetryPolicy: { numRetries: 3, minDelayTarget: 20 } });

    const published = await sns<{ MessageId: string }>(cairn, ['publish', '--topic-arn', topic, '--message', 'hook!', '--subject', 'S']);
    await endpoint.waitFor(start + 2);
    const note = endpoint.requests[start + 1];
    expect(note?.headers).toMatchObject({
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': published.MessageId,
      'x-amz-sns-topic-arn': topic,
      'x-amz-sns-subscription-arn': subArn,
    });
    const body = JSON.parse(note?.body ?? '{}') as Record<string, string>;
    expect(body).toMatchObject({ Type: 'Notification', Message: 'hook!', Subject: 'S' });
    expect(await verifiedWithNode(body)).toBe(true);

    // UnsubscribeURL works unsigned too; neither link is recorded, as in CloudTrail.
    expect((await fetch(body.UnsubscribeURL ?? '')).status).toBe(200);
    expect((await sns<{ Subscriptions: unknown[] }>(cairn, ['list-subscriptions-by-topic', '--topic-arn', topic])).Subscriptions).toEqual([]);
    const names = readRecords(cairn.server.dataDir).map((r) => r.record).filter((r) => r.eventSource === 'sns.amazonaws.com').map((r) => r.eventName);
    expect(names).not.toContain('ConfirmSubscription');
    expect(names).not.toContain('Unsubscribe');
    // The certificate is served to anyone; other unsigned calls still need a signature.
    expect((await fetch(`${cairn.endpoint}/?Action=ListTopics`)).status).toBe(403);
  });

  it('retries a failing HTTP endpoint with the delivery policy backoff', async () => {
    const topic = await createTopic(cairn, 'retried');
    const before = endpoint.requests.length;
    await sns(cairn, [
      'subscribe', '--topic-arn', topic, '--protocol', 'http', '--notification-endpoint', `${endpoint.url}?retry`,
      '--attributes', JSON.stringify({ DeliveryPolicy: JSON.stringify({ healthyRetryPolicy: { numRetries: 3, minDelayTarget: 1, maxDelayTarget: 1 } }) }),
    ]);
    await endpoint.waitFor(before + 1);
    const token = (JSON.parse(endpoint.requests[before]?.body ?? '{}') as Record<string, string>).Token ?? '';
    // Confirmed with a signed ConfirmSubscription call this time.
    const confirmed = await sns<{ SubscriptionArn: string }>(cairn, ['confirm-subscription', '--topic-arn', topic, '--token', token]);
    expect(confirmed.SubscriptionArn).toMatch(new RegExp(`^${topic}:`));
    endpoint.statuses.push(500, 503);
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', 'eventually']);
    await endpoint.waitFor(before + 4, 15_000);
    const attempts = endpoint.requests.slice(before + 1).filter((r) => r.headers['x-amz-sns-message-type'] === 'Notification');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers['x-amz-sns-message-id'])).size).toBe(1);
  });

  it('invokes a function with the Lambda event and keeps email subscriptions pending', async () => {
    const topic = await createTopic(cairn, 'fn');
    const fnArn = `arn:aws:lambda:us-east-1:${accountId}:function:on-alert`;
    const events: unknown[] = [];
    cairn.server.functions.register(fnArn, (e) => {
      events.push(e);
    });
    const sub = await subscribe(cairn, topic, 'lambda', fnArn);
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', 'to the function']);
    await cairn.server.topics.settle();
    expect(events).toEqual([
      {
        Records: [
          expect.objectContaining({
            EventSource: 'aws:sns',
            EventSubscriptionArn: sub,
            Sns: expect.objectContaining({ Type: 'Notification', TopicArn: topic, Message: 'to the function', Subject: null, SigningCertUrl: expect.any(String) as unknown }) as unknown,
          }),
        ],
      },
    ]);
    const email = await sns<{ SubscriptionArn: string }>(cairn, ['subscribe', '--topic-arn', topic, '--protocol', 'email', '--notification-endpoint', 'sec@example.com']);
    expect(email.SubscriptionArn).toBe('pending confirmation');
    expect((await snsRaw(cairn, ['subscribe', '--topic-arn', topic, '--protocol', 'sms', '--notification-endpoint', '+15555550100'])).stderr).toContain('InvalidParameter');
  });
});

describe('policies and records', () => {
  it('lets AWS services publish only as the topic policy allows', async () => {
    const topic = await createTopic(cairn, 'alarms');
    const source = { service: 'cloudwatch.amazonaws.com', sourceArn: `arn:aws:cloudwatch:us-east-1:${accountId}:alarm:a`, sourceAccount: accountId };
    await expect(cairn.server.topics.publish(topic, { message: 'ALARM' }, { source })).rejects.toThrow(/not authorized/);
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: topic }],
    };
    await sns(cairn, ['set-topic-attributes', '--topic-arn', topic, '--attribute-name', 'Policy', '--attribute-value', JSON.stringify(policy)]);
    await expect(cairn.server.topics.publish(topic, { message: 'ALARM' }, { source })).resolves.toMatchObject({ messageId: expect.any(String) as unknown });
  });

  it('records Publish as a data event without the message, and topic calls as management events', async () => {
    await cairn.logDataEvents(['AWS::SNS::Topic']);
    const topic = await createTopic(cairn, 'audited-topic');
    await sns(cairn, ['publish', '--topic-arn', topic, '--message', 'top-secret-body', '--subject', 'secret-subject']);
    const records = readRecords(cairn.server.dataDir).map((r) => r.record).filter((r) => r.eventSource === 'sns.amazonaws.com');
    const publish = records.find((r) => r.eventName === 'Publish' && JSON.stringify(r).includes('audited-topic'));
    expect(publish).toMatchObject({
      eventCategory: 'Data',
      managementEvent: false,
      readOnly: false,
      requestParameters: { topicArn: topic, message: 'HIDDEN_DUE_TO_SECURITY_REASONS', subject: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
      responseElements: { messageId: expect.any(String) as unknown },
      resources: [{ ARN: topic, accountId, type: 'AWS::SNS::Topic' }],
    });
    const create = records.find((r) => r.eventName === 'CreateTopic' && JSON.stringify(r).includes('audited-topic'));
    expect(create).toMatchObject({ eventCategory: 'Management', managementEvent: true, responseElements: { topicArn: topic } });
    const text = readRecords(cairn.server.dataDir).map((r) => r.text).join('\n');
    expect(text).not.toContain('top-secret-body');
    expect(text).not.toContain('secret-subject');
  });
});

describe('durability', () => {
  it('keeps topics, subscriptions and the signing certificate across a restart', async () => {
    const dataDir = tempDir();
    let c = await startCairn({ dataDir });
    const topic = await createTopic(c, 'kept');
    const queue = await queueFor(c, 'kept-q', topic);
    await subscribe(c, topic, 'sqs', queue.arn, { RawMessageDelivery: 'true' });
    const cert = c.server.topics.certificatePem;
    await c.stop();
    c = await startCairn({ dataDir });
    try {
      expect(c.server.topics.certificatePem).toBe(cert);
      await sns(c, ['publish', '--topic-arn', topic, '--message', 'after restart']);
      expect((await receiveAll(c, queue.url)).map((m) => m.Body)).toEqual(['after restart']);
    } finally {
      await c.stop();
    }
  });
});
