import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../eventlog/eventlog.js';
import { defaultEventSelectors } from '../trails/selectors.js';
import type { AdvancedEventSelector, EventSelector, TrailRecord } from '../trails/store.js';
import { advancedMatcher, basicMatcher, dataEventSelection, inTrailScope, isGlobalServiceEvent, trailMatcher } from './selectors.js';

const ACCOUNT = '111122223333';
let seq = 0;

function event(over: Partial<StoredEvent> = {}): StoredEvent {
  const base = {
    seq: ++seq,
    eventId: `e${seq}`,
    eventTime: 0,
    accountId: ACCOUNT,
    region: 'us-east-1',
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'DescribeTrails',
    readOnly: true,
    category: 'Management' as const,
    ...over,
  };
  return { ...base, record: over.record ?? JSON.stringify({ eventSource: base.eventSource, eventName: base.eventName }) };
}

function s3Put(bucket: string, key: string, over: Partial<StoredEvent> = {}): StoredEvent {
  return event({
    eventSource: 's3.amazonaws.com',
    eventName: 'PutObject',
    readOnly: false,
    category: 'Data',
    resources: [
      { type: 'AWS::S3::Object', name: `arn:aws:s3:::${bucket}/${key}` },
      { type: 'AWS::S3::Bucket', name: `arn:aws:s3:::${bucket}` },
    ],
    ...over,
  });
}

function trail(over: Partial<TrailRecord['config']> = {}, homeRegion = 'us-east-1'): TrailRecord {
  return {
    accountId: ACCOUNT,
    homeRegion,
    name: 'main',
    trailArn: `arn:aws:cloudtrail:${homeRegion}:${ACCOUNT}:trail/main`,
    createdAt: 1,
    status: { isLogging: true },
    config: {
      s3BucketName: 'logs',
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: false,
      isOrganizationTrail: false,
      logFileValidationEnabled: false,
      eventSelectors: defaultEventSelectors(),
      advancedEventSelectors: null,
      hasCustomEventSelectors: false,
      insightSelectors: [],
      tags: [],
      ...over,
    },
  };
}

const basic = (s: Partial<EventSelector>): EventSelector => ({
  ReadWriteType: 'All',
  IncludeManagementEvents: true,
  DataResources: [],
  ExcludeManagementEventSources: [],
  ...s,
});

describe('trail scope', () => {
  it('takes the home region only, unless the trail is multi-region', () => {
    const other = event({ region: 'eu-west-1' });
    expect(inTrailScope(trail(), other)).toBe(false);
    expect(inTrailScope(trail({ isMultiRegionTrail: true }), other)).toBe(true);
    expect(inTrailScope(trail(), event({ accountId: '999988887777' }))).toBe(false);
    expect(inTrailScope(trail(), event({ category: 'Insight' }))).toBe(false);
  });

  it('delivers global service events only with IncludeGlobalServiceEvents, and only as us-east-1 events', () => {
    const iam = event({ eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', readOnly: false });
    expect(isGlobalServiceEvent(iam)).toBe(true);
    expect(isGlobalServiceEvent({ eventSource: 'sts.amazonaws.com', region: 'eu-west-1' })).toBe(false);
    expect(inTrailScope(trail(), iam)).toBe(true);
    expect(inTrailScope(trail({ includeGlobalServiceEvents: false }), iam)).toBe(false);
    // A single-region trail elsewhere never sees them; a multi-region one anywhere does.
    expect(inTrailScope(trail({}, 'eu-west-1'), iam)).toBe(false);
    expect(inTrailScope(trail({ isMultiRegionTrail: true }, 'eu-west-1'), iam)).toBe(true);
  });
});

describe('basic event selectors', () => {
  it('defaults to all management events and no data events', () => {
    const m = trailMatcher(trail());
    expect(m(event())).toBe(true);
    expect(m(s3Put('b', 'k'))).toBe(false);
  });

  it('filters by ReadWriteType and excluded sources', () => {
    const reads = basicMatcher([basic({ ReadWriteType: 'ReadOnly' })]);
    expect(reads(event({ readOnly: true }))).toBe(true);
    expect(reads(event({ readOnly: false }))).toBe(false);
    const writes = basicMatcher([basic({ ReadWriteType: 'WriteOnly' })]);
    expect(writes(event({ readOnly: false }))).toBe(true);
    expect(writes(event({ readOnly: true }))).toBe(false);
    const noKms = basicMatcher([basic({ ExcludeManagementEventSources: ['kms.amazonaws.com'] })]);
    expect(noKms(event({ eventSource: 'kms.amazonaws.com' }))).toBe(false);
    expect(noKms(event())).toBe(true);
    expect(basicMatcher([basic({ IncludeManagementEvents: false })])(event())).toBe(false);
  });

  it('selects S3 data events by ARN prefix, or all of them', () => {
    const one = basicMatcher([basic({ IncludeManagementEvents: false, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::data/'] }] })]);
    expect(one(s3Put('data', 'x/y'))).toBe(true);
    expect(one(s3Put('other', 'x'))).toBe(false);
    expect(one(event())).toBe(false);
    const prefix = basicMatcher([basic({ DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::data/logs/'] }] })]);
    expect(prefix(s3Put('data', 'logs/a'))).toBe(true);
    expect(prefix(s3Put('data', 'other/a'))).toBe(false);
    const all = basicMatcher([basic({ ReadWriteType: 'ReadOnly', DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] })]);
    expect(all(s3Put('any', 'k', { readOnly: true, eventName: 'GetObject' }))).toBe(true);
    expect(all(s3Put('any', 'k'))).toBe(false);
    // A bucket-level data call (ListObjects) counts as the bucket's object space.
    const list = event({ eventSource: 's3.amazonaws.com', eventName: 'ListObjects', category: 'Data', resources: [{ type: 'AWS::S3::Bucket', name: 'arn:aws:s3:::data' }] });
    expect(one(list)).toBe(true);
  });
});

describe('advanced event selectors', () => {
  const sel = (...fields: AdvancedEventSelector['FieldSelectors']): AdvancedEventSelector => ({ FieldSelectors: fields });

  it('ANDs fields, ORs values within a field, ANDs negative operators', () => {
    const m = advancedMatcher([
      sel(
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::a/', 'arn:aws:s3:::b/'] },
        { Field: 'eventName', NotEquals: ['DeleteObject'], NotStartsWith: ['Head'] },
      ),
    ]);
    expect(m(s3Put('a', 'k'))).toBe(true);
    expect(m(s3Put('b', 'k'))).toBe(true);
    expect(m(s3Put('c', 'k'))).toBe(false);
    expect(m(s3Put('a', 'k', { eventName: 'DeleteObject' }))).toBe(false);
    expect(m(s3Put('a', 'k', { eventName: 'HeadObject' }))).toBe(false);
    expect(m(event())).toBe(false);
  });

  it('matches management events by readOnly and excluded sources; any selector may take an event', () => {
    const m = advancedMatcher([
      sel({ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }, { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] }),
      sel({ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::S3::Object'] }, { Field: 'resources.ARN', EndsWith: ['.csv'] }),
    ]);
    expect(m(event({ readOnly: false }))).toBe(true);
    expect(m(event({ readOnly: true }))).toBe(false);
    expect(m(event({ readOnly: false, eventSource: 'kms.amazonaws.com' }))).toBe(false);
    expect(m(s3Put('x', 'a.csv'))).toBe(true);
    expect(m(s3Put('x', 'a.json'))).toBe(false);
  });

  it('reads fields the log does not index from the record', () => {
    const m = advancedMatcher([sel({ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'errorCode', Equals: ['AccessDenied'] })]);
    expect(m(event({ record: JSON.stringify({ errorCode: 'AccessDenied' }) }))).toBe(true);
    expect(m(event({ record: JSON.stringify({}) }))).toBe(false);
    const arn = advancedMatcher([sel({ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'userIdentity.arn', NotEndsWith: [':root'] })]);
    expect(arn(event({ record: JSON.stringify({ userIdentity: { arn: 'arn:aws:iam::1:root' } }) }))).toBe(false);
    expect(arn(event({ record: JSON.stringify({ userIdentity: { arn: 'arn:aws:iam::1:user/a' } }) }))).toBe(true);
  });
});

describe('data event selection', () => {
  const dataOnly = (type: string): AdvancedEventSelector[] => [
    { Name: type, FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: [type] }] },
  ];

  it('counts a bucket-level S3 data event as one on the object space, and names the type of CloudWatch metric calls', () => {
    const list = event({ eventSource: 's3.amazonaws.com', eventName: 'ListObjects', category: 'Data', resources: [{ type: 'AWS::S3::Bucket', name: 'arn:aws:s3:::b' }] });
    expect(advancedMatcher(dataOnly('AWS::S3::Object'))(list)).toBe(true);
    const metric = event({ eventSource: 'monitoring.amazonaws.com', eventName: 'PutMetricData', readOnly: false, category: 'Data' });
    expect(advancedMatcher(dataOnly('AWS::CloudWatch::Metric'))(metric)).toBe(true);
    expect(advancedMatcher(dataOnly('AWS::S3::Object'))(metric)).toBe(false);
    // A management call without resources gets no implied type.
    expect(advancedMatcher(dataOnly('AWS::CloudWatch::Metric'))(event({ eventSource: 'monitoring.amazonaws.com', eventName: 'ListMetrics' }))).toBe(false);
  });

  it('asks the logging trails, and compiles their matchers again only when the list changes', () => {
    let logging: readonly TrailRecord[] = [];
    let reads = 0;
    const selected = dataEventSelection({
      listLoggingTrails: () => {
        reads++;
        return logging;
      },
    });
    const put = s3Put('b', 'k');
    expect(selected(put)).toBe(false);
    logging = [trail({ advancedEventSelectors: dataOnly('AWS::S3::Object'), eventSelectors: null })];
    expect(selected(put)).toBe(true);
    expect(selected(s3Put('b', 'k', { accountId: '999988887777' }))).toBe(false);
    logging = [trail()];
    expect(selected(put)).toBe(false);
    expect(reads).toBe(4);
  });
});
