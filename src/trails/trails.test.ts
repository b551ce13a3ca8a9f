import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { SqliteTrailStore } from './sqlite-store.js';
import type { TrailRecord } from './store.js';
import type { OrganizationRole } from './trails.js';
import { Trails } from './trails.js';

const ACCOUNT = '111122223333';
const EAST = { accountId: ACCOUNT, region: 'us-east-1' };
const WEST = { accountId: ACCOUNT, region: 'us-west-2' };
const T0 = Date.parse('2026-01-01T00:00:00Z');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

async function messageOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

describe('Trails', () => {
  let clock: ManualClock;
  let store: SqliteTrailStore;
  let trails: Trails;
  const buckets = new Set(['logs', 'other-logs']);

  beforeEach(() => {
    clock = new ManualClock(T0);
    store = new SqliteTrailStore(openStateDatabase(':memory:'));
    trails = new Trails({ store, clock, bucketExists: async (_a, b) => buckets.has(b), listPageSize: 2 });
  });

  describe('create', () => {
    it('stores a trail with CloudTrail defaults', async () => {
      const t = await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
      expect(t.trailArn).toBe(`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`);
      expect(t.homeRegion).toBe('us-east-1');
      expect(t.config).toMatchObject({
        includeGlobalServiceEvents: true,
        isMultiRegionTrail: false,
        isOrganizationTrail: false,
        logFileValidationEnabled: false,
        hasCustomEventSelectors: false,
        advancedEventSelectors: null,
        insightSelectors: [],
        eventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }],
      });
      expect(t.status).toEqual({ isLogging: false });
      expect(trails.get(ACCOUNT, 'us-east-1', 'main')).toEqual(t);
    });

    it('derives the SNS topic ARN and the KMS key ARN', async () => {
      const t = await trails.create(EAST, {
        name: 'main',
        s3BucketName: 'logs',
        snsTopicName: 'notify',
        kmsKeyId: '12345678-1234-1234-1234-123456789012',
      });
      expect(t.config.snsTopicArn).toBe(`arn:aws:sns:us-east-1:${ACCOUNT}:notify`);
      expect(t.config.kmsKeyId).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/12345678-1234-1234-1234-123456789012`);
    });

    it('resolves KMS aliases through the resolver when given one', async () => {
      const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/12345678-1234-1234-1234-123456789012`;
      const withKms = new Trails({
        store,
        clock,
        resolveKmsKey: async (_a, arn) => (arn.endsWith('alias/known') ? keyArn : undefined),
      });
      const t = await withKms.create(EAST, { name: 'main', s3BucketName: 'logs', kmsKeyId: 'alias/known' });
      expect(t.config.kmsKeyId).toBe(keyArn);
      expect(await codeOf(withKms.create(EAST, { name: 'other', s3BucketName: 'logs', kmsKeyId: 'alias/unknown' }))).toBe(
        'KmsKeyNotFoundException',
      );
    });

    it('refuses bad names with CloudTrail messages', async () => {
      const cases: [string, string][] = [
        ['ab', 'Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.'],
        ['a'.repeat(129), 'Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters.'],
        ['192.168.5.4', 'Trail names must not be formatted as an IP address.'],
        ['my trail', 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).'],
        ['-abc', 'Trail name must starts with a letter or number.'],
        ['abc_', 'Trail name must ends with a letter or number.'],
        ['my-_namespace', 'Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_).'],
        ['my--namespace', 'Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_).'],
        ['', 'Trail name cannot be blank!'],
      ];
      for (const [name, message] of cases) {
        await expect(trails.create(EAST, { name, s3BucketName: 'logs' })).rejects.toMatchObject({
          code: 'InvalidTrailNameException',
          message,
        });
      }
    });

    it('checks the bucket name, then that the bucket exists', async () => {
      expect(await codeOf(trails.create(EAST, { name: 'main', s3BucketName: 'Bad_Bucket' }))).toBe('InvalidS3BucketNameException');
      expect(await codeOf(trails.create(EAST, { name: 'main', s3BucketName: 'ab' }))).toBe('InvalidS3BucketNameException');
      expect(await codeOf(trails.create(EAST, { name: 'main', s3BucketName: '10.0.0.1' }))).toBe('InvalidS3BucketNameException');
      await expect(trails.create(EAST, { name: 'main', s3BucketName: 'missing-bucket' })).rejects.toMatchObject({
        code: 'S3BucketDoesNotExistException',
        message: 'S3 bucket missing-bucket does not exist!',
      });
      // Without a bucket lookup only the name is checked.
      const nameOnly = new Trails({ store, clock });
      expect((await nameOnly.create(EAST, { name: 'main', s3BucketName: 'missing-bucket' })).config.s3BucketName).toBe('missing-bucket');
    });

    it('checks the prefix, topic, key and log group', async () => {
      const base = { name: 'main', s3BucketName: 'logs' };
      expect(await codeOf(trails.create(EAST, { ...base, s3KeyPrefix: 'p'.repeat(201) }))).toBe('InvalidS3PrefixException');
      expect(await codeOf(trails.create(EAST, { ...base, snsTopicName: 'bad topic' }))).toBe('InvalidSnsTopicNameException');
      expect(await codeOf(trails.create(EAST, { ...base, kmsKeyId: 'not-a-key' }))).toBe('InvalidKmsKeyIdException');
      expect(
        await codeOf(trails.create(EAST, { ...base, cloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:ct:*` })),
      ).toBe('InvalidParameterCombinationException');
      expect(
        await codeOf(trails.create(EAST, { ...base, cloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/ct` })),
      ).toBe('InvalidParameterCombinationException');
      expect(
        await codeOf(
          trails.create(EAST, {
            ...base,
            cloudWatchLogsLogGroupArn: 'log-group-name',
            cloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/ct`,
          }),
        ),
      ).toBe('InvalidCloudWatchLogsLogGroupArnException');
      expect(
        await codeOf(
          trails.create(EAST, {
            ...base,
            cloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:ct:*`,
            cloudWatchLogsRoleArn: 'ct-role',
          }),
        ),
      ).toBe('InvalidCloudWatchLogsRoleArnException');
      const ok = await trails.create(EAST, {
        ...base,
        cloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:ct:*`,
        cloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/ct`,
      });
      expect(ok.config.cloudWatchLogsRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/ct`);
    });

    it('requires global service events on multi-region trails', async () => {
      await expect(
        trails.create(EAST, { name: 'main', s3BucketName: 'logs', isMultiRegionTrail: true, includeGlobalServiceEvents: false }),
      ).rejects.toMatchObject({
        code: 'InvalidParameterCombinationException',
        message: 'Multi-Region trail must include global service events.',
      });
    });

    it('accepts organization trails only from a management account', async () => {
      const input = { name: 'org', s3BucketName: 'logs', isOrganizationTrail: true };
      expect(await codeOf(trails.create(EAST, input))).toBe('OrganizationsNotInUseException');
      let role: OrganizationRole = 'member';
      const withOrg = new Trails({ store, clock, organizationRole: async () => role });
      expect(await codeOf(withOrg.create(EAST, input))).toBe('NotOrganizationMasterAccountException');
      role = 'management';
      expect((await withOrg.create(EAST, input)).config.isOrganizationTrail).toBe(true);
    });

    it('refuses a name taken in the region, including by a shadow trail', async () => {
      await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
      await expect(trails.create(EAST, { name: 'main', s3BucketName: 'logs' })).rejects.toMatchObject({
        code: 'TrailAlreadyExistsException',
        message: `Trail main already exists for customer: ${ACCOUNT}`,
      });
      // A same-named single-region trail elsewhere is fine...
      await trails.create(WEST, { name: 'main', s3BucketName: 'logs' });
      // ...but a multi-region one would shadow it.
      expect(await codeOf(trails.create(EAST, { name: 'everywhere', s3BucketName: 'logs', isMultiRegionTrail: true }))).toBeUndefined();
      expect(await codeOf(trails.create(WEST, { name: 'everywhere', s3BucketName: 'logs' }))).toBe('TrailAlreadyExistsException');
      expect(await codeOf(trails.create(WEST, { name: 'main', s3BucketName: 'logs', isMultiRegionTrail: true }))).toBe(
        'TrailAlreadyExistsException',
      );
    });

    it('allows five trails per region, counting shadows of multi-region trails', async () => {
      await trails.create(WEST, { name: 'global-1', s3BucketName: 'logs', isMultiRegionTrail: true });
      for (const n of ['a-1', 'a-2', 'a-3', 'a-4']) await trails.create(EAST, { name: n, s3BucketName: 'logs' });
      await expect(trails.create(EAST, { name: 'a-5', s3BucketName: 'logs' })).rejects.toMatchObject({
        code: 'MaximumNumberOfTrailsExceededException',
        message: `User: ${ACCOUNT} already has 5 trails in us-east-1.`,
      });
      // us-west-2 has one trail of its own; a multi-region trail from there would make us-east-1 hold six.
      expect(await codeOf(trails.create(WEST, { name: 'global-2', s3BucketName: 'logs', isMultiRegionTrail: true }))).toBe(
        'MaximumNumberOfTrailsExceededException',
      );
      expect(await codeOf(trails.create(WEST, { name: 'west-2', s3BucketName: 'logs' }))).toBeUndefined();
    });

    it('validates tags and their count', async () => {
      expect(
        await codeOf(trails.create(EAST, { name: 'main', s3BucketName: 'logs', tags: [{ Key: 'a' }, { Key: 'a' }] })),
      ).toBe('InvalidTagParameterException');
      expect(await codeOf(trails.create(EAST, { name: 'main', s3BucketName: 'logs', tags: [{ Key: 'aws:x' }] }))).toBe(
        'InvalidTagParameterException',
      );
      const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` }));
      expect(await codeOf(trails.create(EAST, { name: 'main', s3BucketName: 'logs', tags: many }))).toBe('TagsLimitExceededException');
    });
  });

  describe('lookup', () => {
    beforeEach(async () => {
      await trails.create(EAST, { name: 'global', s3BucketName: 'logs', isMultiRegionTrail: true });
      await trails.create(EAST, { name: 'local', s3BucketName: 'logs' });
    });

    it('finds trails by name in their region and by ARN', () => {
      expect(trails.get(ACCOUNT, 'us-east-1', 'local').name).toBe('local');
      expect(trails.get(ACCOUNT, 'us-east-1', `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/local`).name).toBe('local');
    });

    it('sees a multi-region trail elsewhere only by ARN', async () => {
      const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/global`;
      expect(trails.get(ACCOUNT, 'us-west-2', arn).homeRegion).toBe('us-east-1');
      expect(await messageOf(() => trails.get(ACCOUNT, 'us-west-2', 'global'))).toBe(
        `Unknown trail: arn:aws:cloudtrail:us-west-2:${ACCOUNT}:trail/global for the user: ${ACCOUNT}`,
      );
      expect(code(() => trails.get(ACCOUNT, 'us-west-2', `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/local`))).toBe(
        'TrailNotFoundException',
      );
      expect(trails.find(ACCOUNT, 'us-west-2', 'global')).toBeUndefined();
    });

    it('names the trail as given when asked to', async () => {
      expect(await messageOf(() => trails.get(ACCOUNT, 'us-east-1', 'nope', { notFoundAsGiven: true }))).toBe(
        `Unknown trail: nope for the user: ${ACCOUNT}`,
      );
    });

    it('refuses malformed ARNs and names', () => {
      expect(code(() => trails.get(ACCOUNT, 'us-east-1', 'arn:aws:cloudtrail:us-east-1:123:trail/x'))).toBe(
        'CloudTrailARNInvalidException',
      );
      expect(code(() => trails.get(ACCOUNT, 'us-east-1', 'arn:aws:s3:::bucket'))).toBe('CloudTrailARNInvalidException');
      expect(code(() => trails.get(ACCOUNT, 'us-east-1', 'a b'))).toBe('InvalidTrailNameException');
    });

    it('refuses mutations of a shadow trail outside its home region', async () => {
      const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/global`;
      expect(code(() => trails.startLogging(WEST, arn))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.stopLogging(WEST, arn))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.delete(WEST, arn))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.putEventSelectors(WEST, arn, { eventSelectors: [{}] }))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.putInsightSelectors(WEST, arn, []))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.addTags(WEST, arn, [{ Key: 'k' }]))).toBe('InvalidHomeRegionException');
      expect(code(() => trails.removeTags(WEST, arn, [{ Key: 'k' }]))).toBe('InvalidHomeRegionException');
      expect(await codeOf(trails.update(WEST, { nameOrArn: arn, s3KeyPrefix: 'x' }))).toBe('InvalidHomeRegionException');
      // Reads are fine.
      expect(trails.status(WEST, arn).isLogging).toBe(false);
      expect(trails.getEventSelectors(WEST, arn).trailArn).toBe(arn);
      expect(trails.listTags(WEST, [arn])).toEqual([{ resourceId: arn, tags: [] }]);
    });
  });

  describe('describe and list', () => {
    beforeEach(async () => {
      await trails.create(EAST, { name: 'global', s3BucketName: 'logs', isMultiRegionTrail: true });
      await trails.create(EAST, { name: 'east', s3BucketName: 'logs' });
      await trails.create(WEST, { name: 'west', s3BucketName: 'logs' });
    });

    const names = (ts: TrailRecord[]) => ts.map((t) => `${t.homeRegion}/${t.name}`);

    it('shows a region its own trails and other regions multi-region trails', () => {
      expect(names(trails.describe(WEST, undefined))).toEqual(['us-east-1/global', 'us-west-2/west']);
      expect(names(trails.describe(WEST, [], false))).toEqual(['us-west-2/west']);
      expect(names(trails.describe(EAST, []))).toEqual(['us-east-1/east', 'us-east-1/global']);
    });

    it('matches names in the region only and ARNs of visible trails', () => {
      const globalArn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/global`;
      expect(names(trails.describe(WEST, ['global', 'west', 'nope']))).toEqual(['us-west-2/west']);
      expect(names(trails.describe(WEST, [globalArn]))).toEqual(['us-east-1/global']);
      expect(names(trails.describe(WEST, [globalArn], false))).toEqual([]);
      expect(names(trails.describe(WEST, [`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/east`]))).toEqual([]);
      expect(code(() => trails.describe(WEST, ['bad name']))).toBe('InvalidTrailNameException');
      expect(code(() => trails.describe(WEST, ['arn:aws:cloudtrail:bad']))).toBe('CloudTrailARNInvalidException');
    });

    it('lists every region in pages', () => {
      const first = trails.list(ACCOUNT);
      expect(names(first.trails)).toEqual(['us-east-1/east', 'us-east-1/global']);
      expect(first.nextToken).toBeDefined();
      const second = trails.list(ACCOUNT, first.nextToken);
      expect(names(second.trails)).toEqual(['us-west-2/west']);
      expect(second.nextToken).toBeUndefined();
      expect(code(() => trails.list(ACCOUNT, '!!!'))).toBe('InvalidNextTokenException');
      expect(trails.list('999999999999').trails).toEqual([]);
    });
  });

  describe('update', () => {
    beforeEach(async () => {
      await trails.create(EAST, {
        name: 'main',
        s3BucketName: 'logs',
        snsTopicName: 'topic',
        kmsKeyId: '12345678-1234-1234-1234-123456789012',
        cloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:ct:*`,
        cloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/ct`,
      });
    });

    it('changes what is given and keeps the rest', async () => {
      const t = await trails.update(EAST, { nameOrArn: 'main', s3BucketName: 'other-logs', enableLogFileValidation: true });
      expect(t.config.s3BucketName).toBe('other-logs');
      expect(t.config.logFileValidationEnabled).toBe(true);
      expect(t.config.snsTopicArn).toBe(`arn:aws:sns:us-east-1:${ACCOUNT}:topic`);
      expect(trails.get(ACCOUNT, 'us-east-1', 'main').config).toEqual(t.config);
    });

    it('clears the topic, the key and the log delivery with empty strings', async () => {
      const t = await trails.update(EAST, { nameOrArn: 'main', snsTopicName: '', kmsKeyId: '', cloudWatchLogsLogGroupArn: '' });
      expect(t.config.snsTopicArn).toBeUndefined();
      expect(t.config.kmsKeyId).toBeUndefined();
      expect(t.config.cloudWatchLogsLogGroupArn).toBeUndefined();
      expect(t.config.cloudWatchLogsRoleArn).toBeUndefined();
    });

    it('validates what it changes', async () => {
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'main', s3BucketName: 'missing-bucket' }))).toBe(
        'S3BucketDoesNotExistException',
      );
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'main', includeGlobalServiceEvents: false, isMultiRegionTrail: true }))).toBe(
        'InvalidParameterCombinationException',
      );
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'main', isOrganizationTrail: true }))).toBe('OrganizationsNotInUseException');
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'nope' }))).toBe('TrailNotFoundException');
    });

    it('checks names and quotas in other regions when a trail becomes multi-region', async () => {
      await trails.create(WEST, { name: 'other', s3BucketName: 'logs' });
      await trails.create(EAST, { name: 'other', s3BucketName: 'logs' });
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'other', isMultiRegionTrail: true }))).toBe('TrailAlreadyExistsException');
      for (const n of ['w-1', 'w-2', 'w-3', 'w-4']) await trails.create(WEST, { name: n, s3BucketName: 'logs' });
      expect(await codeOf(trails.update(EAST, { nameOrArn: 'main', isMultiRegionTrail: true }))).toBe(
        'MaximumNumberOfTrailsExceededException',
      );
      trails.delete(WEST, 'w-4');
      expect((await trails.update(EAST, { nameOrArn: 'main', isMultiRegionTrail: true })).config.isMultiRegionTrail).toBe(true);
    });
  });

  describe('logging and status', () => {
    it('starts and stops logging with times, and lists logging trails', async () => {
      const t = await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
      expect(trails.listLoggingTrails()).toEqual([]);
      clock.advance(1000);
      trails.startLogging(EAST, 'main');
      clock.advance(1000);
      trails.startLogging(EAST, 'main');
      expect(trails.status(EAST, 'main')).toEqual({ isLogging: true, startLoggingTime: T0 + 1000 });
      expect(trails.listLoggingTrails().map((x) => x.trailArn)).toEqual([t.trailArn]);
      clock.advance(1000);
      trails.stopLogging(EAST, t.trailArn);
      expect(trails.status(EAST, 'main')).toEqual({ isLogging: false, startLoggingTime: T0 + 1000, stopLoggingTime: T0 + 3000 });
      expect(trails.listLoggingTrails()).toEqual([]);
    });

    it('records deliveries and their errors', async () => {
      const t = await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
      trails.recordDelivery(t, { kind: 'logFile', at: T0 + 1, error: 'AccessDenied' });
      expect(trails.status(EAST, 'main')).toMatchObject({ latestDeliveryAttemptTime: T0 + 1, latestDeliveryError: 'AccessDenied' });
      trails.recordDelivery(t, { kind: 'logFile', at: T0 + 2 });
      trails.recordDelivery(t, { kind: 'digest', at: T0 + 3 });
      trails.recordDelivery(t, { kind: 'notification', at: T0 + 4, error: 'NotFound' });
      trails.recordDelivery(t, { kind: 'cloudWatchLogs', at: T0 + 5 });
      expect(trails.status(EAST, 'main')).toEqual({
        isLogging: false,
        latestDeliveryAttemptTime: T0 + 2,
        latestDeliveryTime: T0 + 2,
        latestDigestDeliveryTime: T0 + 3,
        latestNotificationAttemptTime: T0 + 4,
        latestNotificationError: 'NotFound',
        latestCloudWatchLogsDeliveryTime: T0 + 5,
      });
      trails.delete(EAST, 'main');
      expect(() => trails.recordDelivery(t, { kind: 'logFile', at: T0 + 6 })).not.toThrow();
    });
  });

  describe('selectors', () => {
    beforeEach(async () => {
      await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
    });

    it('puts basic selectors with defaults filled in', () => {
      const put = trails.putEventSelectors(EAST, 'main', {
        eventSelectors: [{ ReadWriteType: 'WriteOnly', DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::logs/'] }] }],
      });
      const expected = [
        {
          ReadWriteType: 'WriteOnly',
          IncludeManagementEvents: true,
          DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::logs/'] }],
          ExcludeManagementEventSources: [],
        },
      ];
      expect(put).toEqual({ trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`, eventSelectors: expected });
      expect(trails.getEventSelectors(EAST, 'main')).toEqual(put);
      expect(trails.get(ACCOUNT, 'us-east-1', 'main').config.hasCustomEventSelectors).toBe(true);
    });

    it('replaces one kind of selector with the other', () => {
      const advanced = [{ Name: 'mgmt', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }];
      expect(trails.putEventSelectors(EAST, 'main', { advancedEventSelectors: advanced })).toEqual({
        trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`,
        advancedEventSelectors: advanced,
      });
      expect('advancedEventSelectors' in trails.getEventSelectors(EAST, 'main')).toBe(true);
      trails.putEventSelectors(EAST, 'main', { eventSelectors: [{}] });
      expect('eventSelectors' in trails.getEventSelectors(EAST, 'main')).toBe(true);
    });

    it('refuses both kinds or neither', () => {
      expect(
        code(() =>
          trails.putEventSelectors(EAST, 'main', {
            eventSelectors: [{}],
            advancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }],
          }),
        ),
      ).toBe('InvalidParameterCombinationException');
      expect(code(() => trails.putEventSelectors(EAST, 'main', {}))).toBe('InvalidParameterCombinationException');
    });

    it('puts and gets Insights selectors when the trail logs what they need', () => {
      expect(code(() => trails.getInsightSelectors(EAST, 'main'))).toBe('InsightNotEnabledException');
      const put = trails.putInsightSelectors(EAST, 'main', [{ InsightType: 'ApiCallRateInsight' }]);
      expect(put.insightSelectors).toEqual([{ InsightType: 'ApiCallRateInsight' }]);
      expect(trails.getInsightSelectors(EAST, 'main').insightSelectors).toEqual([{ InsightType: 'ApiCallRateInsight' }]);
      trails.putInsightSelectors(EAST, 'main', []);
      expect(code(() => trails.getInsightSelectors(EAST, 'main'))).toBe('InsightNotEnabledException');

      trails.putEventSelectors(EAST, 'main', { eventSelectors: [{ ReadWriteType: 'ReadOnly' }] });
      expect(code(() => trails.putInsightSelectors(EAST, 'main', [{ InsightType: 'ApiCallRateInsight' }]))).toBe(
        'InvalidInsightSelectorsException',
      );
      expect(trails.putInsightSelectors(EAST, 'main', [{ InsightType: 'ApiErrorRateInsight' }]).insightSelectors).toHaveLength(1);
      expect(
        code(() => trails.putInsightSelectors(EAST, 'main', [{ InsightType: 'ApiErrorRateInsight', EventCategories: ['Data'] }])),
      ).toBe('InvalidInsightSelectorsException');
    });
  });

  describe('tags', () => {
    const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`;
    beforeEach(async () => {
      await trails.create(EAST, { name: 'main', s3BucketName: 'logs', tags: [{ Key: 'team', Value: 'a' }] });
    });

    it('adds, overwrites, removes and lists tags', () => {
      trails.addTags(EAST, arn, [{ Key: 'team', Value: 'b' }, { Key: 'flag' }]);
      expect(trails.listTags(EAST, [arn])).toEqual([{ resourceId: arn, tags: [{ Key: 'team', Value: 'b' }, { Key: 'flag' }] }]);
      trails.removeTags(EAST, arn, [{ Key: 'team' }, { Key: 'absent' }]);
      expect(trails.listTags(EAST, [arn])[0]?.tags).toEqual([{ Key: 'flag' }]);
    });

    it('enforces the tag limit and ARN rules', () => {
      const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}` }));
      expect(code(() => trails.addTags(EAST, arn, many))).toBe('TagsLimitExceededException');
      expect(trails.listTags(EAST, [arn])[0]?.tags).toHaveLength(1);
      expect(code(() => trails.addTags(EAST, 'main', [{ Key: 'k' }]))).toBe('CloudTrailARNInvalidException');
      expect(code(() => trails.addTags(EAST, `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/nope`, [{ Key: 'k' }]))).toBe(
        'ResourceNotFoundException',
      );
      expect(code(() => trails.listTags(EAST, [`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:eventdatastore/abc`]))).toBe(
        'ResourceNotFoundException',
      );
      expect(code(() => trails.listTags(EAST, Array.from({ length: 21 }, () => arn)))).toBe('InvalidParameterException');
    });
  });

  it('deletes trails and frees their name', async () => {
    await trails.create(EAST, { name: 'main', s3BucketName: 'logs' });
    trails.delete(EAST, 'main');
    expect(code(() => trails.delete(EAST, 'main'))).toBe('TrailNotFoundException');
    expect((await trails.create(EAST, { name: 'main', s3BucketName: 'logs' })).name).toBe('main');
  });
});
