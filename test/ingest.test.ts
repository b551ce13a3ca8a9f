/**
 * `cairn ingest` end to end: a week of CloudTrail records from elsewhere joins the caller's
 * account event log; LookupEvents finds them by their own times, an EventBridge rule
 * matches them, a trail delivers them, and ingesting the same file again adds nothing.
 * Also the IngestEvents API as a gateway calls it: refused without IAM permission, and
 * per-record failures for records that are not CloudTrail records.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateQueueCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, tempDir, type Credentials, type TestCairn } from './support/cairn.js';
import { cairnBin } from './support/process.js';

const HOUR = 3_600_000;
let cairn: TestCairn;
let accountId: string;
let dir: string;

/** A CloudTrail record of a team's own platform, as an API gateway would write it. */
function platformRecord(i: number, time: number, user: string): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', principalId: `AIDA${i}`, arn: `arn:aws:iam::111122223333:user/${user}`, accountId: '111122223333', accessKeyId: 'AKIAPLATFORM', userName: user },
    eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'orders.example.com',
    eventName: i % 3 === 0 ? 'DeleteOrder' : 'CreateOrder',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.9',
    userAgent: 'platform-gateway/2.1',
    requestParameters: { orderId: `o-${i}` },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `5f0c7a3e-0000-4000-8000-${String(i).padStart(12, '0')}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  };
}

function ingest(args: string[], creds?: Credentials, input?: string) {
  return run(process.execPath, [cairnBin, 'ingest', ...args], { ...cairn.env(creds), CAIRN_DATA_DIR: cairn.server.dataDir }, input);
}

function files(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const now = Date.now();
// A week, one record an hour, ending an hour ago.
const week = Array.from({ length: 7 * 24 }, (_, i) => platformRecord(i, now - (7 * 24 - i) * HOUR, i % 2 === 0 ? 'alice' : 'bob'));

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
  dir = tempDir('cairn-ingest-');
  writeFileSync(join(dir, 'week.json.gz'), gzipSync(JSON.stringify({ Records: week })));
});

afterAll(async () => {
  await cairn.stop();
});

describe('cairn ingest', () => {
  it('appends a week of records to the caller’s account, found, matched and delivered like its own calls', async () => {
    // A rule for the platform's deletions, with an SQS target, and a logging trail in every Region.
    const sdk = { endpoint: cairn.endpoint, credentials: cairn.root, maxAttempts: 1 };
    const sqs = new SQSClient({ ...sdk, region: 'eu-west-1' });
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const queueArn = `arn:aws:sqs:eu-west-1:${accountId}:orders`;
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn }] };
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(policy) } }));
    const pattern = { source: ['aws.orders.example.com'], detail: { eventName: ['DeleteOrder'], additionalEventData: { cairnIngestion: { ingestedBy: [{ exists: true }] } } } };
    const scope = { accountId, region: 'eu-west-1' };
    cairn.server.events.putRule(scope, { name: 'deletions', eventPattern: JSON.stringify(pattern) });
    expect(cairn.server.events.putTargets(scope, undefined, 'deletions', [{ Id: 'q', Arn: queueArn }])).toEqual([]);
    await cairn.trailBucket('ingested-logs');
    const cloudtrail = new CloudTrailClient({ ...sdk, region: 'us-east-1' });
    await cloudtrail.send(new CreateTrailCommand({ Name: 'all', S3BucketName: 'ingested-logs', IsMultiRegionTrail: true }));
    await cloudtrail.send(new StartLoggingCommand({ Name: 'all' }));

    const first = await ingest([join(dir, 'week.json.gz')]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(`${week.length} ingested, 0 duplicates, 0 refused\n`);
    expect(first.code).toBe(0);

    // LookupEvents finds them in their own Region by their own times, newest first.
    const dayAgo = new Date(now - 24 * HOUR - HOUR / 2).toISOString();
    const lastDay = await cairn.awsJson<{ Events: { EventId: string; EventTime: string; Username: string; CloudTrailEvent: string }[] }>(
      ['cloudtrail', 'lookup-events', '--start-time', dayAgo, '--lookup-attributes', 'AttributeKey=EventSource,AttributeValue=orders.example.com'],
      undefined,
      'eu-west-1',
    );
    const expected = week.filter((r) => Date.parse(String(r.eventTime)) >= Date.parse(dayAgo)).reverse();
    expect(lastDay.Events.map((e) => e.EventId)).toEqual(expected.map((r) => r.eventID));
    const record = JSON.parse(lastDay.Events[0]?.CloudTrailEvent ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({
      eventID: expected[0]?.eventID,
      eventTime: expected[0]?.eventTime,
      recipientAccountId: accountId,
      additionalEventData: { cairnIngestion: { ingestedBy: `arn:aws:iam::${accountId}:root`, sourceRecipientAccountId: '111122223333' } },
    });
    const bob = await cairn.awsJson<{ Events: unknown[] }>(['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=Username,AttributeValue=bob', '--max-results', '50'], undefined, 'eu-west-1');
    expect(bob.Events).toHaveLength(50);

    // The rule matched every deletion.
    await cairn.server.events.idle();
    const deletions = week.filter((r) => r.eventName === 'DeleteOrder').map((r) => r.eventID);
    const seen = new Set<string>();
    const queue = cairn.server.queues.findQueueByArn(queueArn);
    for (let i = 0; i < 20 && queue && seen.size < deletions.length; i++) {
      for (const { message } of await cairn.server.queues.receive(queue, { maxMessages: 10, waitTimeSeconds: 1 })) {
        const envelope = JSON.parse(message.body) as { 'detail-type': string; detail: { eventID: string } };
      expect(envelope['detail-type']).toBe('AWS API Call via CloudTrail');
        seen.add(envelope.detail.eventID);
      }
    }
    expect([...seen].sort()).toEqual([...deletions].sort());

    // The trail delivered them, in the caller's account and their Region.
    await cairn.server.delivery.deliverNow();
    const out = join(dir, 'logs');
    mkdirSync(out);
    expect((await cairn.aws(['s3', 'cp', '--recursive', 's3://ingested-logs/', out])).code).toBe(0);
    const delivered = files(out)
      .filter((f) => f.includes(`/AWSLogs/${accountId}/CloudTrail/eu-west-1/`))
      .flatMap((f) => (JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: Record<string, unknown>[] }).Records)
      .filter((r) => r.eventSource === 'orders.example.com');
    expect(delivered.map((r) => r.eventID).sort()).toEqual(week.map((r) => r.eventID).sort());

    // The same file again adds nothing.
    const again = await ingest([join(dir, 'week.json.gz')]);
    expect(again.stdout).toBe(`0 ingested, ${week.length} duplicates, 0 refused\n`);
    const all = await cairn.awsJson<{ Events: unknown[] }>(['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=DeleteOrder'], undefined, 'eu-west-1');
    expect(all.Events).toHaveLength(deletions.length);
  });

  it('reads JSON lines from standard input, and reports records that are not CloudTrail records', async () => {
    const lines = [platformRecord(9001, now - HOUR, 'carol'), { eventID: 'no-time', eventSource: 'x', eventName: 'Y', awsRegion: 'eu-west-1' }, platformRecord(9002, now - HOUR, 'carol')]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const result = await ingest(['-'], undefined, `${lines}\n`);
    expect(result.stdout).toBe('2 ingested, 0 duplicates, 1 refused\n');
    expect(result.stderr).toContain('-: record 2 (no-time): InvalidRecord: eventTime');
    expect(result.code).toBe(1);
  });

  it('IngestEvents is authorized by IAM: a user without cairn:IngestEvents is refused and nothing is added', async () => {
    const iam = new IAMClient({ endpoint: cairn.endpoint, credentials: cairn.root, region: 'us-east-1', maxAttempts: 1 });
    await iam.send(new CreateUserCommand({ UserName: 'gateway' }));
    const { AccessKey: key } = await iam.send(new CreateAccessKeyCommand({ UserName: 'gateway' }));
    const creds = { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
    const record = platformRecord(9100, now - HOUR, 'mallory');
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ Records: [record] }));
    const denied = await ingest([join(dir, 'one.json')], creds);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('AccessDeniedException');
    expect(denied.stderr).toContain('cairn:IngestEvents');

    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cairn:IngestEvents', Resource: '*' }] };
    await iam.send(new PutUserPolicyCommand({ UserName: 'gateway', PolicyName: 'ingest', PolicyDocument: JSON.stringify(policy) }));
    const allowed = await ingest([join(dir, 'one.json')], creds);
    expect(allowed.stdout).toBe('1 ingested, 0 duplicates, 0 refused\n');
    const found = await cairn.awsJson<{ Events: { CloudTrailEvent: string }[] }>(['cloudtrail', 'lookup-events', '--lookup-attributes', `AttributeKey=EventId,AttributeValue=${String(record.eventID)}`], undefined, 'eu-west-1');
    const stored = JSON.parse(found.Events[0]?.CloudTrailEvent ?? '{}') as { additionalEventData: { cairnIngestion: { ingestedBy: string } } };
    expect(stored.additionalEventData.cairnIngestion.ingestedBy).toBe(`arn:aws:iam::${accountId}:user/gateway`);
  });

  it('a gateway posts a log file body, signed for `cairn`, and gets per-record failures', async () => {
    const signer = new SignatureV4({ service: 'cairn', region: 'us-east-1', credentials: cairn.root, sha256: Hash.bind(null, 'sha256') });
    const url = new URL(cairn.endpoint);
    const post = async (body: string) => {
      const signed = await signer.sign({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'CairnIngest_20261201.IngestEvents' },
        body,
      });
      const reply = await fetch(cairn.endpoint, { method: 'POST', headers: signed.headers, body });
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
    };
    const good = platformRecord(9200, now - HOUR, 'dave');
    const reply = await post(JSON.stringify({ Records: [good, 'text', { ...good, eventID: 'other', awsRegion: '../../etc' }, good] }));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      Ingested: 1,
      Duplicates: 1,
      Failed: [
        { Index: 1, ErrorCode: 'InvalidRecord', ErrorMessage: 'A record must be a JSON object.' },
        { Index: 2, EventID: 'other', ErrorCode: 'InvalidRecord', ErrorMessage: 'awsRegion must be a Region name (us-east-1).' },
      ],
    });
    const notAList = await post(JSON.stringify({ Records: { a: 1 } }));
    expect(notAList.status).toBe(400);
    expect(notAList.body.__type).toBe('SerializationException');
    const tooMany = await post(JSON.stringify({ Records: Array.from({ length: 10_001 }, () => ({})) }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.__type).toBe('ValidationException');
  });
});
