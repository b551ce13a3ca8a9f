/**
 * The 90-day event history through real clients: `aws cloudtrail lookup-events` and
 * `@aws-sdk/client-cloudtrail`: every lookup attribute, paging past 50 events, tokens
 * bound to their query, the CloudTrail API recording itself, and events aging out.
 */
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

const DAY = 24 * 3600 * 1000;
const clock = new ManualClock(Date.now());
let cairn: TestCairn;

function cloudtrail(offsetMs = 0): CloudTrailClient {
  return new CloudTrailClient({
    endpoint: cairn.endpoint,
    region: 'us-east-1',
    credentials: cairn.root,
    maxAttempts: 1,
    // Clients sign with their own clock; this one runs as far ahead as the server's.
    systemClockOffset: offsetMs,
  });
}

interface CliEvents {
  Events: { EventId: string; EventName: string; Username?: string; ReadOnly: string; CloudTrailEvent: string; Resources?: unknown[] }[];
  NextToken?: string;
}

beforeAll(async () => {
  cairn = await startCairn({ clock });
  const sts = new STSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root });
  for (let i = 0; i < 60; i++) {
    clock.advance(1000);
    await sts.send(new GetCallerIdentityCommand({}));
  }
  await cairn.trailBucket('history-logs');
  await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'history-trail', '--s3-bucket-name', 'history-logs']);
});
afterAll(async () => {
  await cairn.stop();
});

describe('aws cloudtrail lookup-events', () => {
  it('finds CreateTrail by name, newest first, with the stored record byte for byte', async () => {
    const out = await cairn.awsJson<CliEvents>([
      'cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateTrail',
    ]);
    expect(out.Events).toHaveLength(1);
    const event = out.Events[0];
    expect(event).toMatchObject({ EventName: 'CreateTrail', Username: 'root', ReadOnly: 'false' });
    const stored = readRecords(cairn.server.dataDir).find((r) => r.record.eventID === event?.EventId);
    expect(event?.CloudTrailEvent).toBe(stored?.text);
    const record = JSON.parse(event?.CloudTrailEvent ?? '{}') as Record<string, unknown>;
    expect(record.requestParameters).toMatchObject({ name: 'history-trail', s3BucketName: 'history-logs' });
    expect(event?.Resources).toEqual([
      { ResourceType: 'AWS::CloudTrail::Trail', ResourceName: `arn:aws:cloudtrail:us-east-1:${cairn.server.accountId}:trail/history-trail` },
    ]);
  });

  it.each([
    ['ReadOnly', 'true', (e: CliEvents['Events'][number]) => e.ReadOnly === 'true'],
    ['Username', 'root', (e: CliEvents['Events'][number]) => e.Username === 'root'],
    ['EventSource', 'sts.amazonaws.com', (e: CliEvents['Events'][number]) => e.EventName === 'GetCallerIdentity'],
    ['AccessKeyId', '', (e: CliEvents['Events'][number]) => (JSON.parse(e.CloudTrailEvent) as { userIdentity: { accessKeyId?: string } }).userIdentity.accessKeyId !== undefined],
    ['ResourceType', 'AWS::CloudTrail::Trail', (e: CliEvents['Events'][number]) => e.EventName === 'CreateTrail'],
  ])('filters by %s', async (key, value, check) => {
    const v = key === 'AccessKeyId' ? cairn.root.accessKeyId : value;
    const out = await cairn.awsJson<CliEvents>([
      'cloudtrail', 'lookup-events', '--max-items', '20',
      '--lookup-attributes', `AttributeKey=${key},AttributeValue=${v}`,
    ]);
    expect(out.Events.length).toBeGreaterThan(0);
    for (const e of out.Events) expect(check(e), JSON.stringify(e)).toBe(true);
  });

  it('pages through more than 50 events with --max-items and --starting-token', async () => {
    const attr = ['--lookup-attributes', 'AttributeKey=EventName,AttributeValue=GetCallerIdentity'];
    const first = await cairn.awsJson<CliEvents>(['cloudtrail', 'lookup-events', ...attr, '--max-items', '45']);
    expect(first.Events).toHaveLength(45);
    expect(first.NextToken).toBeTruthy();
    const rest = await cairn.awsJson<CliEvents>([
      'cloudtrail', 'lookup-events', ...attr, '--max-items', '45', '--starting-token', first.NextToken ?? '',
    ]);
    const ids = [...first.Events, ...rest.Events].map((e) => e.EventId);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    const times = [...first.Events, ...rest.Events].map((e) => Date.parse((JSON.parse(e.CloudTrailEvent) as { eventTime: string }).eventTime));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('refuses a forged token and a token reused with another query', async () => {
    const client = cloudtrail();
    const page = await client.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GetCallerIdentity' }], MaxResults: 5 }),
    );
    expect(page.NextToken).toBeTruthy();
    await expect(
      client.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }], NextToken: page.NextToken })),
    ).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
    await expect(client.send(new LookupEventsCommand({ NextToken: 'Zm9yZ2Vk' }))).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
  });

  it("refuses AWS's invalid lookups with AWS's errors", async () => {
    const client = cloudtrail();
    await expect(
      client.send(new LookupEventsCommand({ StartTime: new Date(clock.now()), EndTime: new Date(clock.now() - DAY) })),
    ).rejects.toMatchObject({ name: 'InvalidTimeRangeException' });
    await expect(
      client.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'maybe' }] })),
    ).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
    const twoAttributes = await cairn.aws([
      'cloudtrail', 'lookup-events', '--lookup-attributes',
      'AttributeKey=EventName,AttributeValue=A', 'AttributeKey=Username,AttributeValue=B',
    ]);
    expect(twoAttributes.stderr).toContain('InvalidLookupAttributesException');
    const category = await cairn.aws(['cloudtrail', 'lookup-events', '--event-category', 'insight']);
    expect(category.code, category.stderr).toBe(0);
  });

  it('keeps data events out of the history', async () => {
    await cairn.aws(['s3api', 'put-object', '--bucket', 'history-logs', '--key', 'k', '--body', '/dev/null']);
    const out = await cairn.awsJson<CliEvents>(['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=PutObject']);
    expect(out.Events).toEqual([]);
  });

  it('forgets events older than 90 days', async () => {
    const before = await cloudtrail().send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }] }),
    );
    expect(before.Events).toHaveLength(1);
    const offset = 91 * DAY;
    clock.advance(offset);
    const after: LookupEventsCommandOutput = await cloudtrail(offset).send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }] }),
    );
    expect(after.Events).toEqual([]);
  });
});
