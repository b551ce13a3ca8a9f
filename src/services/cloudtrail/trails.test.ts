import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import { openStateDatabase } from '../../storage/sqlite.js';
import { SqliteTrailStore } from '../../trails/sqlite-store.js';
import { Trails } from '../../trails/trails.js';
import type { ServiceModel } from '../../wire/model.js';
import type { CallContext, ServiceDefinition } from '../service.js';
import { cloudtrailService } from './index.js';

const ACCOUNT = '111122223333';
const T0 = Date.parse('2026-03-01T12:00:00Z');
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`;

function ctx(region = 'us-east-1'): CallContext {
  return {
    requestId: 'req-1',
    principal: { type: 'Root', accountId: ACCOUNT, accessKeyId: 'AKIAEXAMPLE' },
    accountId: ACCOUNT,
    region,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    now: T0,
    secureTransport: true,
  };
}

/** Every key of an output must be a member of the operation's output shape, recursively. */
function checkAgainstModel(model: ServiceModel, shapeName: string, value: unknown, path: string): void {
  const shape = model.shapes[shapeName];
  if (!shape) throw new Error(`no shape ${shapeName}`);
  if (value === undefined || value === null) return;
  if (shape.type === 'structure') {
    expect(typeof value, path).toBe('object');
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const member = shape.members[k];
      expect(member, `${path}.${k} is not in ${shapeName}`).toBeDefined();
      if (member) checkAgainstModel(model, member.shape, v, `${path}.${k}`);
    }
  } else if (shape.type === 'list') {
    expect(Array.isArray(value), path).toBe(true);
    (value as unknown[]).forEach((v, i) => checkAgainstModel(model, shape.member.shape, v, `${path}[${i}]`));
  } else if (shape.type === 'timestamp') {
    expect(value, path).toBeInstanceOf(Date);
  } else if (shape.type === 'boolean') {
    expect(typeof value, path).toBe('boolean');
  } else if (shape.type === 'string') {
    expect(typeof value, path).toBe('string');
  }
}

describe('cloudtrail trail operations', () => {
  let clock: ManualClock;
  let service: ServiceDefinition;

  async function call(op: string, input: Record<string, unknown>, region = 'us-east-1'): Promise<Record<string, unknown>> {
    const spec = service.operations[op];
    if (!spec) throw new Error(`no ${op}`);
    const out = await spec.handle(input, ctx(region));
    const outputShape = service.model.operations[op]?.output?.shape;
    if (outputShape) checkAgainstModel(service.model, outputShape, out, op);
    return out;
  }

  async function fails(op: string, input: Record<string, unknown>, region = 'us-east-1'): Promise<{ code: string; message: string }> {
    try {
      await call(op, input, region);
    } catch (e) {
      const err = e as { code: string; message: string };
      return { code: err.code, message: err.message };
    }
    throw new Error(`${op} did not fail`);
  }

  beforeEach(() => {
    clock = new ManualClock(T0);
    const trails = new Trails({
      store: new SqliteTrailStore(openStateDatabase(':memory:')),
      clock,
      bucketExists: async (_a, bucket) => bucket !== 'missing-bucket',
    });
    service = cloudtrailService({ trails, history: { lookup: () => ({ events: [] }) } });
  });

  it('describes itself', () => {
    expect(service).toMatchObject({
      modelName: 'cloudtrail',
      signingName: 'cloudtrail',
      actionPrefix: 'cloudtrail',
      eventSource: 'cloudtrail.amazonaws.com',
    });
    const readOnly = Object.entries(service.operations)
      .filter(([, s]) => s.readOnly)
      .map(([n]) => n)
      .sort();
    expect(readOnly).toEqual([
      'DescribeTrails',
      'GetEventSelectors',
      'GetInsightSelectors',
      'GetTrail',
      'GetTrailStatus',
      'ListTags',
      'ListTrails',
      'LookupEvents',
    ]);
    for (const spec of Object.values(service.operations)) expect(spec.category).toBe('Management');
    for (const op of Object.keys(service.operations)) expect(service.model.operations[op], op).toBeDefined();
  });

  it('names the trail in resources, by name or ARN', () => {
    const resources = service.operations.StartLogging?.resources;
    expect(resources?.({ Name: 'main' }, ctx())).toEqual([{ ARN: ARN, accountId: ACCOUNT, type: 'AWS::CloudTrail::Trail' }]);
    expect(resources?.({ Name: ARN }, ctx('eu-west-1'))).toEqual([{ ARN: ARN, accountId: ACCOUNT, type: 'AWS::CloudTrail::Trail' }]);
    expect(service.operations.ListTags?.resources?.({ ResourceIdList: [ARN] }, ctx())).toHaveLength(1);
    expect(service.operations.PutEventSelectors?.resources?.({ TrailName: 'main' }, ctx())?.[0]?.ARN).toBe(ARN);
    expect(service.operations.DescribeTrails?.resources).toBeUndefined();
  });

  describe('CreateTrail', () => {
    it('returns the trail settings and records them as CloudTrail does', async () => {
      const out = await call('CreateTrail', {
        Name: 'main',
        S3BucketName: 'logs',
        S3KeyPrefix: 'ct',
        SnsTopicName: 'notify',
        IsMultiRegionTrail: true,
        EnableLogFileValidation: true,
        KmsKeyId: '12345678-1234-1234-1234-123456789012',
        TagsList: [{ Key: 'team', Value: 'sec' }],
      });
      expect(out).toEqual({
        Name: 'main',
        S3BucketName: 'logs',
        S3KeyPrefix: 'ct',
        SnsTopicName: 'notify',
        SnsTopicARN: `arn:aws:sns:us-east-1:${ACCOUNT}:notify`,
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: true,
        TrailARN: ARN,
        LogFileValidationEnabled: true,
        CloudWatchLogsLogGroupArn: undefined,
        CloudWatchLogsRoleArn: undefined,
        KmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/12345678-1234-1234-1234-123456789012`,
        IsOrganizationTrail: false,
      });
      expect(service.operations.CreateTrail?.recordResponse?.(out)).toEqual({
        name: 'main',
        s3BucketName: 'logs',
        s3KeyPrefix: 'ct',
        snsTopicName: 'notify',
        snsTopicARN: `arn:aws:sns:us-east-1:${ACCOUNT}:notify`,
        includeGlobalServiceEvents: true,
        isMultiRegionTrail: true,
        trailARN: ARN,
        logFileValidationEnabled: true,
        kmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/12345678-1234-1234-1234-123456789012`,
        isOrganizationTrail: false,
      });
      expect(await call('ListTags', { ResourceIdList: [ARN] })).toEqual({
        ResourceTagList: [{ ResourceId: ARN, TagsList: [{ Key: 'team', Value: 'sec' }] }],
      });
    });

    it('returns every documented error', async () => {
      const base = { Name: 'main', S3BucketName: 'logs' };
      const cases: [Record<string, unknown>, string][] = [
        [{ ...base, Name: 'a' }, 'InvalidTrailNameException'],
        [{ ...base, S3BucketName: 'Bad_Bucket' }, 'InvalidS3BucketNameException'],
        [{ ...base, S3BucketName: 'missing-bucket' }, 'S3BucketDoesNotExistException'],
        [{ ...base, S3KeyPrefix: 'x'.repeat(201) }, 'InvalidS3PrefixException'],
        [{ ...base, SnsTopicName: 'no spaces' }, 'InvalidSnsTopicNameException'],
        [{ ...base, KmsKeyId: 'nope' }, 'InvalidKmsKeyIdException'],
        [{ ...base, IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false }, 'InvalidParameterCombinationException'],
        [{ ...base, CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:g:*` }, 'InvalidParameterCombinationException'],
        [
          { ...base, CloudWatchLogsLogGroupArn: 'g', CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/r` },
          'InvalidCloudWatchLogsLogGroupArnException',
        ],
        [
          { ...base, CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:g`, CloudWatchLogsRoleArn: 'r' },
          'InvalidCloudWatchLogsRoleArnException',
        ],
        [{ ...base, IsOrganizationTrail: true }, 'OrganizationsNotInUseException'],
        [{ ...base, TagsList: [{ Key: 'aws:reserved' }] }, 'InvalidTagParameterException'],
        [{ ...base, TagsList: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` })) }, 'TagsLimitExceededException'],
      ];
      for (const [input, code] of cases) expect((await fails('CreateTrail', input)).code, JSON.stringify(input).slice(0, 80)).toBe(code);

      await call('CreateTrail', base);
      expect(await fails('CreateTrail', base)).toEqual({
        code: 'TrailAlreadyExistsException',
        message: `Trail main already exists for customer: ${ACCOUNT}`,
      });
      for (const n of ['t-2', 't-3', 't-4', 't-5']) await call('CreateTrail', { ...base, Name: n });
      expect(await fails('CreateTrail', { ...base, Name: 't-6' })).toEqual({
        code: 'MaximumNumberOfTrailsExceededException',
        message: `User: ${ACCOUNT} already has 5 trails in us-east-1.`,
      });
    });
  });

  describe('with a multi-region trail in us-east-1', () => {
    beforeEach(async () => {
      await call('CreateTrail', { Name: 'main', S3BucketName: 'logs', IsMultiRegionTrail: true });
    });

    it('GetTrail returns the trail by name or ARN, and a shadow by ARN', async () => {
      const expected = {
        Trail: {
          Name: 'main',
          S3BucketName: 'logs',
          S3KeyPrefix: undefined,
          SnsTopicName: undefined,
          SnsTopicARN: undefined,
          IncludeGlobalServiceEvents: true,
          IsMultiRegionTrail: true,
          HomeRegion: 'us-east-1',
          TrailARN: ARN,
          LogFileValidationEnabled: false,
          CloudWatchLogsLogGroupArn: undefined,
          CloudWatchLogsRoleArn: undefined,
          KmsKeyId: undefined,
          HasCustomEventSelectors: false,
          HasInsightSelectors: false,
          IsOrganizationTrail: false,
        },
      };
      expect(await call('GetTrail', { Name: 'main' })).toEqual(expected);
      expect(await call('GetTrail', { Name: ARN })).toEqual(expected);
      expect(await call('GetTrail', { Name: ARN }, 'eu-west-1')).toEqual(expected);
      expect(await fails('GetTrail', { Name: 'nope' })).toEqual({
        code: 'TrailNotFoundException',
        message: `Unknown trail: nope for the user: ${ACCOUNT}`,
      });
      expect((await fails('GetTrail', { Name: 'bad name' })).code).toBe('InvalidTrailNameException');
      expect((await fails('GetTrail', { Name: 'arn:aws:cloudtrail:nope' })).code).toBe('CloudTrailARNInvalidException');
    });

    it('DescribeTrails shows shadows unless told not to', async () => {
      await call('CreateTrail', { Name: 'local', S3BucketName: 'logs' }, 'eu-west-1');
      const names = (out: Record<string, unknown>) =>
        (out.trailList as { Name: string; HomeRegion: string }[]).map((t) => `${t.HomeRegion}/${t.Name}`);
      expect(names(await call('DescribeTrails', {}, 'eu-west-1'))).toEqual(['eu-west-1/local', 'us-east-1/main']);
      expect(names(await call('DescribeTrails', { includeShadowTrails: false }, 'eu-west-1'))).toEqual(['eu-west-1/local']);
      expect(names(await call('DescribeTrails', { trailNameList: ['main', 'local'] }, 'eu-west-1'))).toEqual(['eu-west-1/local']);
      expect(names(await call('DescribeTrails', { trailNameList: [ARN] }, 'eu-west-1'))).toEqual(['us-east-1/main']);
      expect(names(await call('DescribeTrails', {}))).toEqual(['us-east-1/main']);
      expect((await fails('DescribeTrails', { trailNameList: ['-bad'] })).code).toBe('InvalidTrailNameException');
    });

    it('ListTrails lists every region', async () => {
      await call('CreateTrail', { Name: 'local', S3BucketName: 'logs' }, 'eu-west-1');
      expect(await call('ListTrails', {}, 'ap-south-1')).toEqual({
        Trails: [
          { TrailARN: `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/local`, Name: 'local', HomeRegion: 'eu-west-1' },
          { TrailARN: ARN, Name: 'main', HomeRegion: 'us-east-1' },
        ],
        NextToken: undefined,
      });
      expect((await fails('ListTrails', { NextToken: 'garbage!' })).code).toBe('InvalidNextTokenException');
    });

    it('UpdateTrail changes settings from the home region only', async () => {
      const out = await call('UpdateTrail', { Name: 'main', S3KeyPrefix: 'p', EnableLogFileValidation: true });
      expect(out).toMatchObject({ Name: 'main', S3KeyPrefix: 'p', LogFileValidationEnabled: true, TrailARN: ARN });
      expect(service.operations.UpdateTrail?.recordResponse?.(out)).toMatchObject({ trailARN: ARN, s3KeyPrefix: 'p' });
      expect((await fails('UpdateTrail', { Name: ARN, S3KeyPrefix: 'q' }, 'eu-west-1')).code).toBe('InvalidHomeRegionException');
      expect(await fails('UpdateTrail', { Name: 'main' }, 'eu-west-1')).toEqual({
        code: 'TrailNotFoundException',
        message: `Unknown trail: arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main for the user: ${ACCOUNT}`,
      });
      expect((await fails('UpdateTrail', { Name: 'main', IncludeGlobalServiceEvents: false })).code).toBe(
        'InvalidParameterCombinationException',
      );
      expect((await fails('UpdateTrail', { Name: 'main', S3BucketName: 'missing-bucket' })).code).toBe('S3BucketDoesNotExistException');
      expect((await fails('UpdateTrail', { Name: 'main', S3BucketName: 'UPPER' })).code).toBe('InvalidS3BucketNameException');
      expect((await fails('UpdateTrail', { Name: 'main', KmsKeyId: 'x' })).code).toBe('InvalidKmsKeyIdException');
      expect((await fails('UpdateTrail', { Name: 'main', SnsTopicName: 'a b' })).code).toBe('InvalidSnsTopicNameException');
      expect((await fails('UpdateTrail', { Name: 'main', S3KeyPrefix: 'x'.repeat(201) })).code).toBe('InvalidS3PrefixException');
      expect((await fails('UpdateTrail', { Name: 'main', IsOrganizationTrail: true })).code).toBe('OrganizationsNotInUseException');
    });

    it('StartLogging, StopLogging and GetTrailStatus', async () => {
      expect(await call('GetTrailStatus', { Name: 'main' })).toEqual({
        IsLogging: false,
        LatestDeliveryError: undefined,
        LatestNotificationError: undefined,
        LatestDeliveryTime: undefined,
        LatestNotificationTime: undefined,
        StartLoggingTime: undefined,
        StopLoggingTime: undefined,
        LatestCloudWatchLogsDeliveryError: undefined,
        LatestCloudWatchLogsDeliveryTime: undefined,
        LatestDigestDeliveryTime: undefined,
        LatestDigestDeliveryError: undefined,
        LatestDeliveryAttemptTime: '',
        LatestNotificationAttemptTime: '',
        LatestNotificationAttemptSucceeded: '',
        LatestDeliveryAttemptSucceeded: '',
        TimeLoggingStarted: '',
        TimeLoggingStopped: '',
      });
      expect(await call('StartLogging', { Name: 'main' })).toEqual({});
      clock.advance(60_000);
      expect(await call('StopLogging', { Name: ARN })).toEqual({});
      const status = await call('GetTrailStatus', { Name: ARN }, 'eu-west-1');
      expect(status).toMatchObject({
        IsLogging: false,
        StartLoggingTime: new Date(T0),
        StopLoggingTime: new Date(T0 + 60_000),
        TimeLoggingStarted: '2026-03-01T12:00:00Z',
        TimeLoggingStopped: '2026-03-01T12:01:00Z',
      });
      expect((await fails('StartLogging', { Name: ARN }, 'eu-west-1')).code).toBe('InvalidHomeRegionException');
      expect((await fails('StopLogging', { Name: ARN }, 'eu-west-1')).code).toBe('InvalidHomeRegionException');
      expect((await fails('StartLogging', { Name: 'nope' })).code).toBe('TrailNotFoundException');
      expect((await fails('StopLogging', { Name: 'n..o' })).code).toBe('InvalidTrailNameException');
      expect((await fails('GetTrailStatus', { Name: 'nope' })).code).toBe('TrailNotFoundException');
    });

    it('AddTags, RemoveTags and ListTags', async () => {
      expect(await call('AddTags', { ResourceId: ARN, TagsList: [{ Key: 'a', Value: '1' }, { Key: 'b' }] })).toEqual({});
      expect(await call('RemoveTags', { ResourceId: ARN, TagsList: [{ Key: 'a' }] })).toEqual({});
      expect(await call('ListTags', { ResourceIdList: [ARN] }, 'eu-west-1')).toEqual({
        ResourceTagList: [{ ResourceId: ARN, TagsList: [{ Key: 'b' }] }],
      });
      expect((await fails('AddTags', { ResourceId: ARN, TagsList: [{ Key: 'c' }] }, 'eu-west-1')).code).toBe('InvalidHomeRegionException');
      expect((await fails('RemoveTags', { ResourceId: ARN, TagsList: [{ Key: 'b' }] }, 'eu-west-1')).code).toBe(
        'InvalidHomeRegionException',
      );
      expect((await fails('AddTags', { ResourceId: 'main', TagsList: [{ Key: 'c' }] })).code).toBe('CloudTrailARNInvalidException');
      expect((await fails('AddTags', { ResourceId: ARN, TagsList: [{ Key: 'c' }, { Key: 'c' }] })).code).toBe(
        'InvalidTagParameterException',
      );
      expect(
        (await fails('AddTags', { ResourceId: ARN, TagsList: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}` })) })).code,
      ).toBe('TagsLimitExceededException');
      expect((await fails('ListTags', { ResourceIdList: [`${ARN}-gone`] })).code).toBe('ResourceNotFoundException');
      expect((await fails('RemoveTags', { ResourceId: `${ARN}-gone`, TagsList: [{ Key: 'b' }] })).code).toBe('ResourceNotFoundException');
    });

    it('PutEventSelectors and GetEventSelectors', async () => {
      expect(await call('GetEventSelectors', { TrailName: 'main' })).toEqual({
        TrailARN: ARN,
        EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }],
      });
      const advanced = [
        {
          Name: 'S3 writes',
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            { Field: 'readOnly', Equals: ['false'] },
          ],
        },
      ];
      expect(await call('PutEventSelectors', { TrailName: 'main', AdvancedEventSelectors: advanced })).toEqual({
        TrailARN: ARN,
        AdvancedEventSelectors: advanced,
      });
      expect(await call('GetEventSelectors', { TrailName: ARN }, 'eu-west-1')).toEqual({ TrailARN: ARN, AdvancedEventSelectors: advanced });
      expect(((await call('GetTrail', { Name: 'main' })).Trail as Record<string, unknown>).HasCustomEventSelectors).toBe(true);
      expect(
        await call('PutEventSelectors', {
          TrailName: 'main',
          EventSelectors: [{ ReadWriteType: 'ReadOnly', DataResources: [{ Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] }] }],
        }),
      ).toEqual({
        TrailARN: ARN,
        EventSelectors: [
          {
            ReadWriteType: 'ReadOnly',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] }],
            ExcludeManagementEventSources: [],
          },
        ],
      });
      expect((await fails('PutEventSelectors', { TrailName: 'main', EventSelectors: [{}], AdvancedEventSelectors: advanced })).code).toBe(
        'InvalidParameterCombinationException',
      );
      expect(
        (await fails('PutEventSelectors', { TrailName: 'main', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'readOnly', Equals: ['true'] }] }] }))
          .code,
      ).toBe('InvalidEventSelectorsException');
      expect((await fails('PutEventSelectors', { TrailName: 'main', EventSelectors: [{}, {}, {}, {}, {}, {}] })).code).toBe(
        'InvalidEventSelectorsException',
      );
      expect((await fails('PutEventSelectors', { TrailName: ARN, EventSelectors: [{}] }, 'eu-west-1')).code).toBe(
        'InvalidHomeRegionException',
      );
      expect((await fails('PutEventSelectors', { TrailName: 'nope', EventSelectors: [{}] })).code).toBe('TrailNotFoundException');
      expect((await fails('GetEventSelectors', { TrailName: 'nope' })).code).toBe('TrailNotFoundException');
    });

    it('PutInsightSelectors and GetInsightSelectors', async () => {
      expect(await fails('GetInsightSelectors', { TrailName: 'main' })).toEqual({
        code: 'InsightNotEnabledException',
        message: `Trail ${ARN} does not have Insights enabled.`,
      });
      const selectors = [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight', EventCategories: ['Management'] }];
      expect(await call('PutInsightSelectors', { TrailName: 'main', InsightSelectors: selectors })).toEqual({
        TrailARN: ARN,
        InsightSelectors: selectors,
      });
      expect(await call('GetInsightSelectors', { TrailName: ARN }, 'eu-west-1')).toEqual({ TrailARN: ARN, InsightSelectors: selectors });
      expect(((await call('GetTrail', { Name: 'main' })).Trail as Record<string, unknown>).HasInsightSelectors).toBe(true);

      await call('PutEventSelectors', { TrailName: 'main', EventSelectors: [{ IncludeManagementEvents: false }] });
      expect((await fails('PutInsightSelectors', { TrailName: 'main', InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }] })).code).toBe(
        'InvalidInsightSelectorsException',
      );
      expect((await fails('PutInsightSelectors', { TrailName: ARN, InsightSelectors: [] }, 'eu-west-1')).code).toBe(
        'InvalidHomeRegionException',
      );
      expect((await fails('PutInsightSelectors', { InsightSelectors: [] })).code).toBe('InvalidParameterCombinationException');
      expect((await fails('PutInsightSelectors', { TrailName: 'main', EventDataStore: 'eds', InsightSelectors: [] })).code).toBe(
        'InvalidParameterCombinationException',
      );
      expect((await fails('GetInsightSelectors', { EventDataStore: 'eds' })).code).toBe('EventDataStoreNotFoundException');
      expect((await fails('GetInsightSelectors', { TrailName: 'nope' })).code).toBe('TrailNotFoundException');
      await call('PutInsightSelectors', { TrailName: 'main', InsightSelectors: [] });
      expect((await fails('GetInsightSelectors', { TrailName: 'main' })).code).toBe('InsightNotEnabledException');
    });

    it('DeleteTrail from the home region only', async () => {
      expect((await fails('DeleteTrail', { Name: ARN }, 'eu-west-1')).code).toBe('InvalidHomeRegionException');
      expect(await call('DeleteTrail', { Name: 'main' })).toEqual({});
      expect(await fails('DeleteTrail', { Name: 'main' })).toEqual({
        code: 'TrailNotFoundException',
        message: `Unknown trail: ${ARN} for the user: ${ACCOUNT}`,
      });
      expect((await fails('DeleteTrail', { Name: 'x' })).code).toBe('InvalidTrailNameException');
    });
  });
});
