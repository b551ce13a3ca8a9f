/**
 * The CloudTrail trail operations (CreateTrail ... GetInsightSelectors): each reads its
 * input, calls the `Trails` engine and shapes the engine's records as the model's outputs.
 */
import { AwsError } from '../../platform/errors.js';
import type { TrailRecord, TrailStatus } from '../../trails/store.js';
import type { Trails } from '../../trails/trails.js';
import { trailArn } from '../../trails/validation.js';
import { formatEventTime } from '../../audit/record.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';
import {
  advancedEventSelectors,
  eventSelectors,
  insightSelectors,
  optBool,
  optStr,
  optStrList,
  str,
  tags,
} from './input.js';

type Input = Record<string, unknown>;

const TRAIL_TYPE = 'AWS::CloudTrail::Trail';

/** The record resource for a trail named by name or ARN. */
function trailResource(nameOrArn: string, ctx: CallContext): RecordResource {
  if (nameOrArn.startsWith('arn:')) {
    const account = nameOrArn.split(':')[4];
    return { ARN: nameOrArn, ...(account ? { accountId: account } : {}), type: TRAIL_TYPE };
  }
  return { ARN: trailArn(ctx.region, ctx.accountId, nameOrArn), accountId: ctx.accountId, type: TRAIL_TYPE };
}

/** `resources` for operations naming one trail in `member`. */
function resourcesOf(member: string): (input: Input, ctx: CallContext) => RecordResource[] {
  return (input, ctx) => {
    const value = input[member];
    return typeof value === 'string' && value !== '' ? [trailResource(value, ctx)] : [];
  };
}

function scope(ctx: CallContext): { accountId: string; region: string } {
  return { accountId: ctx.accountId, region: ctx.region };
}

/** CreateTrail's and UpdateTrail's output, in the model's member order. */
function trailSettings(t: TrailRecord): Record<string, unknown> {
  const c = t.config;
  return {
    Name: t.name,
    S3BucketName: c.s3BucketName,
    S3KeyPrefix: c.s3KeyPrefix,
    SnsTopicName: c.snsTopicArn?.split(':')[5],
    SnsTopicARN: c.snsTopicArn,
    IncludeGlobalServiceEvents: c.includeGlobalServiceEvents,
    IsMultiRegionTrail: c.isMultiRegionTrail,
    TrailARN: t.trailArn,
    LogFileValidationEnabled: c.logFileValidationEnabled,
    CloudWatchLogsLogGroupArn: c.cloudWatchLogsLogGroupArn,
    CloudWatchLogsRoleArn: c.cloudWatchLogsRoleArn,
    KmsKeyId: c.kmsKeyId,
    IsOrganizationTrail: c.isOrganizationTrail,
  };
}

/** The model's `Trail` structure. */
export function trailShape(t: TrailRecord): Record<string, unknown> {
  const c = t.config;
  return {
    Name: t.name,
    S3BucketName: c.s3BucketName,
    S3KeyPrefix: c.s3KeyPrefix,
    SnsTopicName: c.snsTopicArn?.split(':')[5],
    SnsTopicARN: c.snsTopicArn,
    IncludeGlobalServiceEvents: c.includeGlobalServiceEvents,
    IsMultiRegionTrail: c.isMultiRegionTrail,
    HomeRegion: t.homeRegion,
    TrailARN: t.trailArn,
    LogFileValidationEnabled: c.logFileValidationEnabled,
    CloudWatchLogsLogGroupArn: c.cloudWatchLogsLogGroupArn,
    CloudWatchLogsRoleArn: c.cloudWatchLogsRoleArn,
    KmsKeyId: c.kmsKeyId,
    HasCustomEventSelectors: c.hasCustomEventSelectors,
    HasInsightSelectors: c.insightSelectors.length > 0,
    IsOrganizationTrail: c.isOrganizationTrail,
  };
}

/**
 * CreateTrail's `responseElements` as CloudTrail records them: the output's members in
 * lowerCamelCase (`trailARN`), absent ones left out.
 */
export function trailSettingsRecord(output: Input): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(output)) {
    if (v !== undefined && v !== null) out[k.charAt(0).toLowerCase() + k.slice(1)] = v;
  }
  return out;
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
// The retired string fields still come back, as ISO times or empty strings.
const legacy = (ms: number | undefined) => (ms === undefined ? '' : formatEventTime(ms));

/** GetTrailStatus's output. */
export function statusShape(s: TrailStatus): Record<string, unknown> {
  return {
    IsLogging: s.isLogging,
    LatestDeliveryError: s.latestDeliveryError,
    LatestNotificationError: s.latestNotificationError,
    LatestDeliveryTime: date(s.latestDeliveryTime),
    LatestNotificationTime: date(s.latestNotificationTime),
    StartLoggingTime: date(s.startLoggingTime),
    StopLoggingTime: date(s.stopLoggingTime),
    LatestCloudWatchLogsDeliveryError: s.latestCloudWatchLogsDeliveryError,
    LatestCloudWatchLogsDeliveryTime: date(s.latestCloudWatchLogsDeliveryTime),
    LatestDigestDeliveryTime: date(s.latestDigestDeliveryTime),
    LatestDigestDeliveryError: s.latestDigestDeliveryError,
    LatestDeliveryAttemptTime: legacy(s.latestDeliveryAttemptTime),
    LatestNotificationAttemptTime: legacy(s.latestNotificationAttemptTime),
    LatestNotificationAttemptSucceeded: legacy(s.latestNotificationTime),
    LatestDeliveryAttemptSucceeded: legacy(s.latestDeliveryTime),
    TimeLoggingStarted: legacy(s.startLoggingTime),
    TimeLoggingStopped: legacy(s.stopLoggingTime),
  };
}

function selectorsShape(s: ReturnType<Trails['getEventSelectors']>): Record<string, unknown> {
  return 'advancedEventSelectors' in s
    ? { TrailARN: s.trailArn, AdvancedEventSelectors: s.advancedEventSelectors }
    : { TrailARN: s.trailArn, EventSelectors: s.eventSelectors };
}

/** Insights calls name a trail; Cairn keeps no event data stores. */
function insightsTrail(input: Input): string {
  const trail = optStr(input, 'TrailName');
  const store = optStr(input, 'EventDataStore');
  const destination = optStr(input, 'InsightsDestination');
  if (trail !== undefined && (store !== undefined || destination !== undefined)) {
    throw new AwsError({
      code: 'InvalidParameterCombinationException',
      message: 'You cannot use TrailName with EventDataStore or InsightsDestination.',
    });
  }
  if (store !== undefined) {
    throw new AwsError({ code: 'EventDataStoreNotFoundException', message: `The event data store ${store} was not found.` });
  }
  if (trail === undefined) {
    throw new AwsError({ code: 'InvalidParameterCombinationException', message: 'You must specify TrailName or EventDataStore.' });
  }
  return trail;
}

/** The settings CreateTrail and UpdateTrail share; absent members stay undefined (not given). */
function trailOptions(input: Input) {
  return {
    s3KeyPrefix: optStr(input, 'S3KeyPrefix'),
    snsTopicName: optStr(input, 'SnsTopicName'),
    includeGlobalServiceEvents: optBool(input, 'IncludeGlobalServiceEvents'),
    isMultiRegionTrail: optBool(input, 'IsMultiRegionTrail'),
    enableLogFileValidation: optBool(input, 'EnableLogFileValidation'),
    cloudWatchLogsLogGroupArn: optStr(input, 'CloudWatchLogsLogGroupArn'),
    cloudWatchLogsRoleArn: optStr(input, 'CloudWatchLogsRoleArn'),
    kmsKeyId: optStr(input, 'KmsKeyId'),
    isOrganizationTrail: optBool(input, 'IsOrganizationTrail'),
  };
}

/** The trail operations, keyed by operation name. */
export function trailOperations(trails: Trails): Record<string, OperationSpec> {
  const write = { readOnly: false, category: 'Management' } as const;
  const read = { readOnly: true, category: 'Management' } as const;
  return {
    CreateTrail: {
      ...write,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => {
        const trail = await trails.create(scope(ctx), {
          ...trailOptions(input),
          name: str(input, 'Name'),
          s3BucketName: str(input, 'S3BucketName'),
          tags: tags(input),
        });
        return trailSettings(trail);
      },
      recordResponse: trailSettingsRecord,
    },

    UpdateTrail: {
      ...write,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => {
        const s3BucketName = optStr(input, 'S3BucketName');
        const trail = await trails.update(scope(ctx), {
          ...trailOptions(input),
          nameOrArn: str(input, 'Name'),
          ...(s3BucketName !== undefined ? { s3BucketName } : {}),
        });
        return trailSettings(trail);
      },
      recordResponse: trailSettingsRecord,
    },

    DeleteTrail: {
      ...write,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => {
        trails.delete(scope(ctx), str(input, 'Name'));
        return {};
      },
    },

    GetTrail: {
      ...read,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => ({
        Trail: trailShape(trails.get(ctx.accountId, ctx.region, str(input, 'Name'), { notFoundAsGiven: true })),
      }),
    },

    DescribeTrails: {
      ...read,
      handle: async (input, ctx) => ({
        trailList: trails
          .describe(scope(ctx), optStrList(input, 'trailNameList'), optBool(input, 'includeShadowTrails') ?? true)
          .map(trailShape),
      }),
    },

    ListTrails: {
      ...read,
      handle: async (input, ctx) => {
        const page = trails.list(ctx.accountId, optStr(input, 'NextToken'));
        return {
          Trails: page.trails.map((t) => ({ TrailARN: t.trailArn, Name: t.name, HomeRegion: t.homeRegion })),
          NextToken: page.nextToken,
        };
      },
    },

    StartLogging: {
      ...write,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => {
        trails.startLogging(scope(ctx), str(input, 'Name'));
        return {};
      },
    },

    StopLogging: {
      ...write,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => {
        trails.stopLogging(scope(ctx), str(input, 'Name'));
        return {};
      },
    },

    GetTrailStatus: {
      ...read,
      resources: resourcesOf('Name'),
      handle: async (input, ctx) => statusShape(trails.status(scope(ctx), str(input, 'Name'))),
    },

    AddTags: {
      ...write,
      resources: resourcesOf('ResourceId'),
      handle: async (input, ctx) => {
        trails.addTags(scope(ctx), str(input, 'ResourceId'), tags(input));
        return {};
      },
    },

    RemoveTags: {
      ...write,
      resources: resourcesOf('ResourceId'),
      handle: async (input, ctx) => {
        trails.removeTags(scope(ctx), str(input, 'ResourceId'), tags(input));
        return {};
      },
    },

    ListTags: {
      ...read,
      resources: (input, ctx) => (optStrList(input, 'ResourceIdList') ?? []).map((id) => trailResource(id, ctx)),
      handle: async (input, ctx) => ({
        ResourceTagList: trails.listTags(scope(ctx), optStrList(input, 'ResourceIdList') ?? []).map((r) => ({
          ResourceId: r.resourceId,
          TagsList: r.tags,
        })),
      }),
    },

    PutEventSelectors: {
      ...write,
      resources: resourcesOf('TrailName'),
      handle: async (input, ctx) => {
        const basic = eventSelectors(input);
        const advanced = advancedEventSelectors(input);
        return selectorsShape(
          trails.putEventSelectors(scope(ctx), str(input, 'TrailName'), {
            ...(basic !== undefined ? { eventSelectors: basic } : {}),
            ...(advanced !== undefined ? { advancedEventSelectors: advanced } : {}),
          }),
        );
      },
    },

    GetEventSelectors: {
      ...read,
      resources: resourcesOf('TrailName'),
      handle: async (input, ctx) => selectorsShape(trails.getEventSelectors(scope(ctx), str(input, 'TrailName'))),
    },

    PutInsightSelectors: {
      ...write,
      resources: resourcesOf('TrailName'),
      handle: async (input, ctx) => {
        const result = trails.putInsightSelectors(scope(ctx), insightsTrail(input), insightSelectors(input));
        return { TrailARN: result.trailArn, InsightSelectors: result.insightSelectors };
      },
    },

    GetInsightSelectors: {
      ...read,
      resources: resourcesOf('TrailName'),
      handle: async (input, ctx) => {
        const result = trails.getInsightSelectors(scope(ctx), insightsTrail(input));
        return { TrailARN: result.trailArn, InsightSelectors: result.insightSelectors };
      },
    },
  };
}
