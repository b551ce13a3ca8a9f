/**
 * Which data events are recorded. CloudTrail records a data event only for the trails that
 * select it: with no such trail an S3 object read leaves no record, and changing a trail's
 * selectors or stopping it takes effect on the very next call. Driven with the JS SDK.
 */
import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let s3: S3Client;
let cloudtrail: CloudTrailClient;

beforeAll(async () => {
  cairn = await startCairn();
  const config = { endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  cloudtrail = new CloudTrailClient(config);
  await s3.send(new CreateBucketCommand({ Bucket: 'watched' }));
  await s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'a/1.txt', Body: 'one' }));
  await s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'b/2.txt', Body: 'two' }));
});
afterAll(async () => {
  s3.destroy();
  cloudtrail.destroy();
  await cairn.stop();
});

/** Reads the object and says whether the read left a record in the audit log. */
async function readIsRecorded(key: string): Promise<boolean> {
  const out = await s3.send(new GetObjectCommand({ Bucket: 'watched', Key: key }));
  await out.Body?.transformToString();
  const requestId = out.$metadata.requestId;
  return readRecords(cairn.server.dataDir).some((r) => r.record.requestID === requestId && r.record.eventName === 'GetObject');
}

describe('data events', () => {
  it('are recorded only while a logging trail selects them', async () => {
    // No trail: management events only, as CloudTrail records by default.
    expect(await readIsRecorded('a/1.txt')).toBe(false);

    await cairn.trailBucket('data-trail-logs');
    await cloudtrail.send(new CreateTrailCommand({ Name: 'objects', S3BucketName: 'data-trail-logs' }));
    await cloudtrail.send(
      new PutEventSelectorsCommand({
        TrailName: 'objects',
        AdvancedEventSelectors: [
          {
            Name: 'reads under a/',
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
              { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::watched/a/'] },
            ],
          },
        ],
      }),
    );
    // Selected but not yet logging: nothing.
    expect(await readIsRecorded('a/1.txt')).toBe(false);

    await cloudtrail.send(new StartLoggingCommand({ Name: 'objects' }));
    expect(await readIsRecorded('a/1.txt')).toBe(true);
    expect(await readIsRecorded('b/2.txt')).toBe(false);

    // New selectors apply to the next call.
    await cloudtrail.send(
      new PutEventSelectorsCommand({
        TrailName: 'objects',
        EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::watched/b/'] }] }],
      }),
    );
    expect(await readIsRecorded('b/2.txt')).toBe(true);
    expect(await readIsRecorded('a/1.txt')).toBe(false);

    await cloudtrail.send(new StopLoggingCommand({ Name: 'objects' }));
    expect(await readIsRecorded('b/2.txt')).toBe(false);
  });
});
