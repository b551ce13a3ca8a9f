/**
 * The trail control plane end to end with the stock AWS CLI: a multi-region trail's life
 * (create, describe from another region, logging, selectors, Insights, tags, delete), the
 * errors the CLI shows, and the CreateTrail record as CloudTrail writes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let accountId: string;
let arn: string;

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
  arn = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/main`;
  await cairn.trailBucket('audit-logs');
});
afterAll(async () => {
  await cairn.stop();
});

describe('aws cloudtrail, trails', () => {
  it('creates a multi-region trail and records the call as CloudTrail does', async () => {
    const created = await cairn.awsJson([
      'cloudtrail',
      'create-trail',
      '--name',
      'main',
      '--s3-bucket-name',
      'audit-logs',
      '--is-multi-region-trail',
      '--enable-log-file-validation',
      '--tags-list',
      'Key=team,Value=sec',
    ]);
    expect(created).toEqual({
      Name: 'main',
      S3BucketName: 'audit-logs',
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true,
      TrailARN: arn,
      LogFileValidationEnabled: true,
      IsOrganizationTrail: false,
    });
    const record = readRecords(cairn.server.dataDir)
      .map((r) => r.record)
      .find((r) => r.eventName === 'CreateTrail' && r.errorCode === undefined);
    expect(record).toMatchObject({
      eventSource: 'cloudtrail.amazonaws.com',
      readOnly: false,
      requestParameters: { name: 'main', s3BucketName: 'audit-logs', isMultiRegionTrail: true },
      responseElements: {
        name: 'main',
        s3BucketName: 'audit-logs',
        includeGlobalServiceEvents: true,
        isMultiRegionTrail: true,
        trailARN: arn,
        logFileValidationEnabled: true,
        isOrganizationTrail: false,
      },
    });
  });

  it('shows CloudTrail errors through the CLI', async () => {
    const bad = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'ab', '--s3-bucket-name', 'audit-logs']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('InvalidTrailNameException');
    expect(bad.stderr).toContain('Trail name too short. Minimum allowed length: 3 characters.');
    const noBucket = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'orphan', '--s3-bucket-name', 'no-such-bucket']);
    expect(noBucket.stderr).toContain('S3BucketDoesNotExistException');
    const missing = await cairn.aws(['cloudtrail', 'get-trail-status', '--name', 'nope']);
    expect(missing.stderr).toContain(`TrailNotFoundException`);
    expect(missing.stderr).toContain(`Unknown trail: arn:aws:cloudtrail:us-east-1:${accountId}:trail/nope for the user: ${accountId}`);
    const elsewhere = await cairn.aws(['cloudtrail', 'stop-logging', '--name', arn], undefined, 'eu-west-1');
    expect(elsewhere.stderr).toContain('InvalidHomeRegionException');
  });

  it('lists the trail everywhere and describes its shadow from another region', async () => {
    const described = await cairn.awsJson<{ trailList: Record<string, unknown>[] }>(
      ['cloudtrail', 'describe-trails'],
      undefined,
      'eu-west-1',
    );
    expect(described.trailList).toEqual([
      expect.objectContaining({ Name: 'main', HomeRegion: 'us-east-1', TrailARN: arn, HasCustomEventSelectors: false }),
    ]);
    const listed = await cairn.awsJson(['cloudtrail', 'list-trails'], undefined, 'ap-south-1');
    expect(listed).toEqual({ Trails: [{ TrailARN: arn, Name: 'main', HomeRegion: 'us-east-1' }] });
  });

  it('starts logging and reports status with timestamps', async () => {
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'main']);
    const status = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'main']);
    expect(status.IsLogging).toBe(true);
    // AWS CLI v1 prints timestamps as the epoch seconds on the wire; v2 as ISO 8601.
    const started = status.StartLoggingTime;
    const ms = typeof started === 'number' ? started * 1000 : Date.parse(String(started));
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    expect(status).not.toHaveProperty('LatestDeliveryTime');
  });

  it('puts and gets advanced event selectors and Insights selectors', async () => {
    const selectors = [
      { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: 'S3 writes',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          { Field: 'readOnly', Equals: ['false'] },
        ],
      },
    ];
    await cairn.awsJson(['cloudtrail', 'put-event-selectors', '--trail-name', 'main', '--advanced-event-selectors', JSON.stringify(selectors)]);
    expect(await cairn.awsJson(['cloudtrail', 'get-event-selectors', '--trail-name', arn], undefined, 'eu-west-1')).toEqual({
      TrailARN: arn,
      AdvancedEventSelectors: selectors,
    });
    const invalid = await cairn.aws([
      'cloudtrail',
      'put-event-selectors',
      '--trail-name',
      'main',
      '--advanced-event-selectors',
      JSON.stringify([{ FieldSelectors: [{ Field: 'readOnly', Equals: ['true'] }] }]),
    ]);
    expect(invalid.stderr).toContain('InvalidEventSelectorsException');

    await cairn.awsJson([
      'cloudtrail',
      'put-insight-selectors',
      '--trail-name',
      'main',
      '--insight-selectors',
      '[{"InsightType":"ApiCallRateInsight"}]',
    ]);
    expect(await cairn.awsJson(['cloudtrail', 'get-insight-selectors', '--trail-name', 'main'])).toEqual({
      TrailARN: arn,
      InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }],
    });
  });

  it('tags the trail and deletes it', async () => {
    await cairn.awsJson(['cloudtrail', 'add-tags', '--resource-id', arn, '--tags-list', 'Key=env,Value=prod']);
    expect(await cairn.awsJson(['cloudtrail', 'list-tags', '--resource-id-list', arn])).toEqual({
      ResourceTagList: [{ ResourceId: arn, TagsList: [{ Key: 'team', Value: 'sec' }, { Key: 'env', Value: 'prod' }] }],
    });
    await cairn.awsJson(['cloudtrail', 'delete-trail', '--name', 'main']);
    const gone = await cairn.aws(['cloudtrail', 'get-trail', '--name', 'main']);
    expect(gone.stderr).toContain(`Unknown trail: main for the user: ${accountId}`);
  });
});
