/**
 * EventBridge and SQS: the time from an API call to its event reaching a rule's targets
 * (an API destination served on 127.0.0.1, so arrival is timed exactly, and an SQS queue
 * read by a long-polling consumer), p50/p99 over BENCH_EVENTS_CALLS calls (default 300);
 * matching throughput of the compiled rule index, in parsed CloudTrail events per second,
 * against 1, 100, 1,000 and 5,000 rules, with the 1,000-rule to 1-rule ratio, and of the
 * bus's whole step per logged record (parse, envelope, match); and SQS throughput through
 * the API of a server process: SendMessage from wrk for BENCH_SECONDS (default 5), then
 * send, receive and delete with the JS SDK over BENCH_SQS_MESSAGES messages (default
 * 3,000). BENCH_EVENTS_SKIP_LATENCY=1 and
 * BENCH_EVENTS_SKIP_SQS=1 leave out the first and last parts.
 */
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { cloudTrailEvent } from '../src/bus/envelope.js';
import { PatternIndex } from '../src/bus/matcher.js';
import { compilePattern } from '../src/bus/pattern.js';
import type { StoredEvent } from '../src/eventlog/eventlog.js';
import { startCairn, tempDir, type Credentials } from '../test/support/cairn.js';
import { spawnServer } from '../test/support/process.js';
import { send, signRequest } from '../test/support/sign.js';
import { loadGenerator, report, runLoad } from './support.js';

const CALLS = Number(process.env.BENCH_EVENTS_CALLS ?? 300);
const SQS_MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 3000);
const SQS_LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** One signed call to the events API (AWS JSON 1.1). */
async function eventsCall<T = unknown>(endpoint: string, creds: Credentials, operation: string, input: unknown): Promise<T> {
  const signed = await signRequest(endpoint, creds, {
    service: 'events',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSEvents.${operation}` },
    body: JSON.stringify(input),
  });
  const res = await send(signed);
  if (res.status !== 200) throw new Error(`${operation} failed: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as T;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Call-to-target latency through the running server: to an API destination and to an SQS queue. */
async function latency(): Promise<void> {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const user = (JSON.parse(body) as { user: string }).user;
      arrivals.set(user, performance.now());
      waiters.get(user)?.();
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const address = hook.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const cairn = await startCairn();
  try {
    const events = { call: <T = unknown>(op: string, input: unknown) => eventsCall<T>(cairn.endpoint, cairn.root, op, input) };
    const conn = await events.call<{ ConnectionArn: string }>('CreateConnection', {
      Name: 'bench', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-key', ApiKeyValue: 'v' } },
    });
    const dest = await events.call<{ ApiDestinationArn: string }>('CreateApiDestination', {
      Name: 'bench', ConnectionArn: conn.ConnectionArn, InvocationEndpoint: `http://127.0.0.1:${port}/`, HttpMethod: 'POST',
    });
    await events.call('PutRule', { Name: 'users', EventPattern: JSON.stringify({ source: ['aws.iam'], detail: { eventName: ['CreateUser'] } }) });
    const sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root });
    const queueArn = `arn:aws:sqs:us-east-1:${cairn.server.accountId}:bench-users`;
    const queuePolicy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn }],
    };
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-users', Attributes: { Policy: JSON.stringify(queuePolicy) } }));
    await events.call('PutTargets', {
      Rule: 'users',
      Targets: [
        { Id: 'h', Arn: dest.ApiDestinationArn, InputTransformer: { InputPathsMap: { u: '$.detail.requestParameters.userName' }, InputTemplate: '{"user": <u>}' } },
        { Id: 'q', Arn: queueArn, InputTransformer: { InputPathsMap: { u: '$.detail.requestParameters.userName' }, InputTemplate: '{"user": <u>}' } },
      ],
    });
    const iam = new IAMClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root });
    const fromCall: number[] = [];
    const fromResponse: number[] = [];
    const toQueue: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const user = `bench-${i}`;
      const arrived = new Promise<void>((resolve) => waiters.set(user, resolve));
      const started = performance.now();
      await iam.send(new CreateUserCommand({ UserName: user }));
      const answered = performance.now();
      // The consumer long-polls from the moment the call returns: the time is when it holds the message.
      let message: Message | undefined;
      while (!message) {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 1 }));
        message = out.Messages?.[0];
      }
      toQueue.push(performance.now() - started);
      await arrived;
      const at = arrivals.get(user) ?? answered;
      fromCall.push(at - started);
      fromResponse.push(Math.max(0, at - answered));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    iam.destroy();
    sqs.destroy();
    fromCall.sort((a, b) => a - b);
    fromResponse.sort((a, b) => a - b);
    toQueue.sort((a, b) => a - b);
    report(`API call to target delivery (${CALLS} IAM CreateUser calls, API destination on 127.0.0.1)`, {
      'from request sent, p50 (ms)': quantile(fromCall, 0.5).toFixed(1),
      'from request sent, p99 (ms)': quantile(fromCall, 0.99).toFixed(1),
      'from response received, p50 (ms)': quantile(fromResponse, 0.5).toFixed(1),
      'from response received, p99 (ms)': quantile(fromResponse, 0.99).toFixed(1),
    });
    report(`API call to message in SQS (${CALLS} IAM CreateUser calls, a long-polling SDK consumer)`, {
      'from request sent to received, p50 (ms)': quantile(toQueue, 0.5).toFixed(1),
      'from request sent to received, p99 (ms)': quantile(toQueue, 0.99).toFixed(1),
    });
  } finally {
    await cairn.stop();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  }
}

const SERVICES = ['iam', 's3', 'kms', 'sts', 'cloudtrail', 'ec2', 'lambda', 'sqs', 'sns', 'events'];
const VERBS = ['Create', 'Delete', 'Put', 'Update', 'Attach', 'Detach', 'Get', 'List'];

/** A rule of one of the shapes detection rules take. */
function rulePattern(i: number): string {
  const service = SERVICES[i % SERVICES.length] ?? 'iam';
  const verb = VERBS[(i >> 3) % VERBS.length] ?? 'Create';
  switch (i % 5) {
    case 0:
      return JSON.stringify({ source: [`aws.${service}`], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventName: [`${verb}Thing${i}`] } });
    case 1:
      return JSON.stringify({ source: [`aws.${service}`], detail: { eventName: [{ prefix: `${verb}${i}` }], errorCode: [{ exists: true }] } });
    case 2:
      return JSON.stringify({ detail: { userIdentity: { type: ['Root'] }, eventName: [`Op${i}`] } });
    case 3:
      return JSON.stringify({ source: [`aws.${service}`], detail: { sourceIPAddress: [{ cidr: `10.${i % 256}.0.0/16` }], eventName: [`${verb}X${i}`] } });
    default:
      return JSON.stringify({ $or: [{ detail: { eventName: [`A${i}`] } }, { detail: { errorCode: [`E${i}`] } }], source: [`aws.${service}`] });
  }
}

/** A CloudTrail-shaped event; every fifth one is what a rule of the first shape looks for. */
function sampleEvent(i: number): Record<string, unknown> {
  const service = SERVICES[i % SERVICES.length] ?? 'iam';
  return {
    version: '0',
    id: `id-${i}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${service}`,
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.11',
      userIdentity: { type: i % 50 === 0 ? 'Root' : 'IAMUser', userName: `user-${i % 13}`, accountId: '123456789012' },
      eventTime: '2026-01-01T00:00:00Z',
      eventSource: `${service}.amazonaws.com`,
      // Every fifth event is exactly what rule `i` (of the first shape) looks for.
      eventName: i % 5 === 0 ? `${VERBS[(i >> 3) % VERBS.length] ?? 'Get'}Thing${i}` : `${VERBS[i % VERBS.length] ?? 'Get'}Thing${i % 5000}`,
      awsRegion: 'us-east-1',
      sourceIPAddress: `10.${i % 256}.${i % 7}.9`,
      userAgent: 'aws-cli/1.x',
      requestParameters: { name: `thing-${i}`, tags: [{ key: 'team', value: 'audit' }] },
      responseElements: null,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      eventCategory: 'Management',
    },
  };
}

/** Events per second through a compiled index of `ruleCount` rules. */
function throughput(ruleCount: number): { perSecond: number; matchedPer1000: number; buildMs: number } {
  const built = performance.now();
  const index = new PatternIndex<number>();
  for (let i = 0; i < ruleCount; i++) index.set(i, compilePattern(rulePattern(i)));
  const events = Array.from({ length: 1000 }, (_, i) => sampleEvent(i));
  index.match(events[0]);
  const buildMs = performance.now() - built;
  let n = 0;
  let matched = 0;
  const started = performance.now();
  while (performance.now() - started < 1500) {
    for (const e of events) matched += index.match(e).length;
    n += events.length;
  }
  return { perSecond: Math.round(n / ((performance.now() - started) / 1000)), matchedPer1000: (matched / n) * 1000, buildMs };
}

/**
 * Events per second through the bus's own per-event step for logged records: the stored
 * record's JSON text parsed, wrapped in CloudTrail's envelope (`cloudTrailEvent`), and
 * matched against `ruleCount` rules. This is the work the bus does for every recorded
 * call, so its ratio between rule counts is what a growing rule set costs the server.
 */
function busStepThroughput(ruleCount: number): number {
  const index = new PatternIndex<number>();
  for (let i = 0; i < ruleCount; i++) index.set(i, compilePattern(rulePattern(i)));
  const stored: StoredEvent[] = Array.from({ length: 1000 }, (_, i) => {
    const e = sampleEvent(i);
    const detail = e.detail as Record<string, unknown>;
    return {
      seq: i + 1,
      eventId: `id-${i}`,
      eventTime: Date.parse('2026-01-01T00:00:00Z'),
      accountId: '123456789012',
      region: 'us-east-1',
      eventSource: String(detail.eventSource),
      eventName: String(detail.eventName),
      readOnly: false,
      category: 'Management',
      record: JSON.stringify(detail),
    };
  });
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < 1500) {
    for (const s of stored) {
      const event = cloudTrailEvent(s, s.eventId);
      if (event) index.match(event);
    }
    n += stored.length;
  }
  return Math.round(n / ((performance.now() - started) / 1000));
}

/** Runs `total` operations over `workers` concurrent callers; each call handles the count it returns. */
async function pump(total: number, workers: number, op: () => Promise<number>): Promise<{ perSecond: number; done: number }> {
  let done = 0;
  let idle = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      // A worker stops once everything is done, or after a few empty answers in a row.
      while (done < total && idle < 20) {
        const n = await op();
        done += n;
        idle = n === 0 ? idle + 1 : 0;
      }
    }),
  );
  return { perSecond: Math.round(done / ((performance.now() - started) / 1000)), done };
}

/**
 * SQS messages per second through the API of a `cairn server` process: SendMessage from
 * wrk (pre-signed requests, keep-alive connections; the generator costs the server's two
 * cores little), then send, receive and delete with the JS SDK from this process, as a
 * Node.js application would call it. Every message wrk was told was sent must be in the
 * queue afterwards.
 */
async function sqsThroughput(): Promise<void> {
  const dataDir = tempDir('cairn-bench-sqs-');
  const server = await spawnServer(dataDir, ['--log-level', 'warn']);
  const sqs = new SQSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: server.root, maxAttempts: 1 });
  try {
    const { QueueUrl: url = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-throughput', Attributes: { VisibilityTimeout: '600' } }));
    const now = Date.now();
    const requests = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const body = JSON.stringify({ QueueUrl: url, MessageBody: JSON.stringify({ n: i, detail: { eventName: 'CreateUser' } }) });
        const signed = await signRequest(server.endpoint, server.root, {
          service: 'sqs',
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' },
          body,
          signingDate: new Date(now - i * 1000),
        });
        const headers = { ...signed.headers };
        delete headers.host;
        return { method: 'POST', path: '/', headers, body };
      }),
    );
    const wrkSend = await runLoad({ url: server.endpoint, requests, connections: 16, durationSeconds: SQS_LOAD_SECONDS });
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    const stored = Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));

    let sent = 0;
    const send = await pump(SQS_MESSAGES, 16, async () => {
      const n = sent++;
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ n, detail: { eventName: 'CreateUser' } }) }));
      return 1;
    });
    const handles: string[] = [];
    const receive = await pump(SQS_MESSAGES, 8, async () => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) if (m.ReceiptHandle !== undefined) handles.push(m.ReceiptHandle);
      return out.Messages?.length ?? 0;
    });
    const del = await pump(handles.length, 16, async () => {
      const handle = handles.pop();
      if (handle === undefined) return 0;
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle }));
      return 1;
    });
    report(`SQS through the API of a cairn server process`, {
      [`SendMessage from ${loadGenerator()}, 16 connections (messages/s)`]: wrkSend.requestsPerSecond,
      '  p50 / p99 latency (ms)': `${wrkSend.p50Ms} / ${wrkSend.p99Ms}`,
      '  acknowledged / in the queue (+ those in flight at the end)': `${wrkSend.total - wrkSend.non2xx - wrkSend.errors} / ${stored}`,
      [`JS SDK, ${SQS_MESSAGES} messages:`]: '',
      '  SendMessage, 16 callers (messages/s)': send.perSecond,
      '  ReceiveMessage of 10, 8 callers (messages/s)': receive.perSecond,
      '  messages received': receive.done,
      '  DeleteMessage, 16 callers (messages/s)': del.perSecond,
    });
  } finally {
    sqs.destroy();
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  if (process.env.BENCH_EVENTS_SKIP_LATENCY !== '1') await latency();
  const rows: Record<string, string | number> = {};
  // One unreported pass first, so that every size is measured with the code already optimized.
  throughput(100);
  const rates = new Map<number, number>();
  for (const rules of [1, 100, 1000, 5000]) {
    const t = throughput(rules);
    rates.set(rules, t.perSecond);
    rows[`${rules} rules: parsed CloudTrail events/s`] = t.perSecond;
    rows[`${rules} rules: matches per 1000 events`] = t.matchedPer1000.toFixed(1);
    rows[`${rules} rules: index build (ms)`] = t.buildMs.toFixed(1);
  }
  rows['1,000 rules vs 1 rule (throughput ratio)'] = ((rates.get(1000) ?? 0) / (rates.get(1) ?? 1)).toFixed(2);
  report('Event pattern matching (one compiled index, CloudTrail-shaped events)', rows);
  busStepThroughput(100);
  const step1 = busStepThroughput(1);
  const step1000 = busStepThroughput(1000);
  report("The bus's step per logged record (record text parsed, envelope built, matched)", {
    '1 rule: records/s': step1,
    '1,000 rules: records/s': step1000,
    '1,000 rules vs 1 rule (throughput ratio)': (step1000 / Math.max(1, step1)).toFixed(2),
  });
  if (process.env.BENCH_EVENTS_SKIP_SQS !== '1') await sqsThroughput();
}
