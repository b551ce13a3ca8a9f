/**
 * The CloudWatch Logs operations Cairn serves: log groups, retention, streams, events
 * (PutLogEvents, GetLogEvents, FilterLogEvents), metric filters (and TestMetricFilter),
 * subscription filters and tags. Inputs arrive validated against the model; the engine
 * (src/logs) does the work. Calls are authorized against the log group's ARN (and the
 * stream's, for stream calls) so IAM policies scoped to log groups apply.
 */
import { logGroupArn, parseLogGroupArn, type Logs, type LogsScope } from '../../logs/logs.js';
import type { MetricFilterRecord, MetricTransformation, SubscriptionFilterRecord } from '../../logs/store.js';
import { logsErrors } from '../../logs/errors.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';

const management = { category: 'Management' } as const;
// CloudTrail leaves CloudWatch Logs' data plane out of management events; recording these
// as data events keeps them out of trails that log management events only, and out of the
// trail that feeds the very log group being written.
const dataPlane = { category: 'Data' } as const;

function str(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') {
    throw logsErrors.invalidParameter(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function optStr(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

function optNum(input: Record<string, unknown>, name: string): number | undefined {
  const value = input[name];
  return typeof value === 'number' ? value : undefined;
}

function optBool(input: Record<string, unknown>, name: string): boolean | undefined {
  const value = input[name];
  return typeof value === 'boolean' ? value : undefined;
}

function strMap(input: Record<string, unknown>, name: string): Record<string, string> | undefined {
  const value = input[name];
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function strList(input: Record<string, unknown>, name: string): string[] | undefined {
  const value = input[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

function scopeOf(ctx: CallContext): LogsScope {
  return { accountId: ctx.accountId, region: ctx.region };
}

/** Only what is defined: the JSON codec would send `undefined` members as absent anyway. */
function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const groupResource = (ctx: CallContext, name: string): RecordResource => ({
  accountId: ctx.accountId,
  type: 'AWS::Logs::LogGroup',
  ARN: logGroupArn(ctx.region, ctx.accountId, name),
});

/** The group a call names by `logGroupName` or `logGroupIdentifier`, as an IAM resource. */
const groupFromInput = (input: Record<string, unknown>, ctx: CallContext): RecordResource[] => {
  const name = optStr(input, 'logGroupName');
  if (name !== undefined) return [groupResource(ctx, name)];
  const id = optStr(input, 'logGroupIdentifier');
  if (id === undefined) return [];
  const arn = parseLogGroupArn(id);
  if (arn) return [{ accountId: arn.accountId, type: 'AWS::Logs::LogGroup', ARN: logGroupArn(arn.region, arn.accountId, arn.name) }];
  return [groupResource(ctx, id)];
};

const streamFromInput = (input: Record<string, unknown>, ctx: CallContext): RecordResource[] => {
  const [group] = groupFromInput(input, ctx);
  const stream = optStr(input, 'logStreamName');
  if (!group || stream === undefined) return group ? [group] : [];
  return [{ ...group, type: 'AWS::Logs::LogStream', ARN: `${group.ARN.slice(0, -2)}:log-stream:${stream}` }];
};

const noResponse = { recordResponse: () => null };

function metricFilterShape(f: MetricFilterRecord): Record<string, unknown> {
  return {
    filterName: f.name,
    filterPattern: f.pattern,
    metricTransformations: f.transformations,
    creationTime: f.createdAt,
    logGroupName: f.groupName,
  };
}

function subscriptionFilterShape(f: SubscriptionFilterRecord): Record<string, unknown> {
  return defined({
    filterName: f.name,
    logGroupName: f.groupName,
    filterPattern: f.pattern,
    destinationArn: f.destinationArn,
    roleArn: f.roleArn,
    distribution: f.distribution,
    creationTime: f.createdAt,
  });
}

function transformations(input: Record<string, unknown>): MetricTransformation[] {
  const raw = input.metricTransformations;
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const t = item as Record<string, unknown>;
    const dimensions = strMap(t, 'dimensions');
    return defined({
      metricName: str(t, 'metricName'),
      metricNamespace: str(t, 'metricNamespace'),
      metricValue: str(t, 'metricValue'),
      defaultValue: optNum(t, 'defaultValue'),
      dimensions: dimensions && Object.keys(dimensions).length > 0 ? dimensions : undefined,
      unit: optStr(t, 'unit'),
    });
  });
}

/** The operations, bound to the engine. */
export function logsOperations(logs: Logs): Record<string, OperationSpec> {
  const onGroup = { authorizationResources: groupFromInput };
  const onStream = { authorizationResources: streamFromInput };

  return {
    CreateLogGroup: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        const tags = strMap(input, 'tags');
        const kmsKeyId = optStr(input, 'kmsKeyId');
        const logGroupClass = optStr(input, 'logGroupClass');
        const deletionProtectionEnabled = optBool(input, 'deletionProtectionEnabled');
        logs.createLogGroup(scopeOf(ctx), {
          logGroupName: str(input, 'logGroupName'),
          ...(tags !== undefined ? { tags } : {}),
          ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
          ...(logGroupClass !== undefined ? { logGroupClass } : {}),
          ...(deletionProtectionEnabled !== undefined ? { deletionProtectionEnabled } : {}),
        });
        return {};
      },
    },

    DeleteLogGroup: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.deleteLogGroup(scopeOf(ctx), str(input, 'logGroupName'));
        return {};
      },
    },

    DescribeLogGroups: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const page = logs.describeLogGroups(
          scopeOf(ctx),
          defined({
            logGroupNamePrefix: optStr(input, 'logGroupNamePrefix'),
            logGroupNamePattern: optStr(input, 'logGroupNamePattern'),
            limit: optNum(input, 'limit'),
            nextToken: optStr(input, 'nextToken'),
          }),
        );
        return defined({ logGroups: page.logGroups, nextToken: page.nextToken });
      },
    },

    PutRetentionPolicy: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        const days = optNum(input, 'retentionInDays');
        if (days === undefined) throw logsErrors.invalidParameter('retentionInDays is required.');
        logs.putRetentionPolicy(scopeOf(ctx), str(input, 'logGroupName'), days);
        return {};
      },
    },

    DeleteRetentionPolicy: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.deleteRetentionPolicy(scopeOf(ctx), str(input, 'logGroupName'));
        return {};
      },
    },

    CreateLogStream: {
      ...management,
      ...onStream,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.createLogStream(scopeOf(ctx), str(input, 'logGroupName'), str(input, 'logStreamName'));
        return {};
      },
    },

    DeleteLogStream: {
      ...management,
      ...onStream,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.deleteLogStream(scopeOf(ctx), str(input, 'logGroupName'), str(input, 'logStreamName'));
        return {};
      },
    },

    DescribeLogStreams: {
      ...management,
      ...onGroup,
      readOnly: true,
      handle: async (input, ctx) => {
        const page = logs.describeLogStreams(
          scopeOf(ctx),
          defined({ logGroupName: optStr(input, 'logGroupName'), logGroupIdentifier: optStr(input, 'logGroupIdentifier') }),
          defined({
            logStreamNamePrefix: optStr(input, 'logStreamNamePrefix'),
            orderBy: optStr(input, 'orderBy'),
            descending: optBool(input, 'descending'),
            limit: optNum(input, 'limit'),
            nextToken: optStr(input, 'nextToken'),
          }),
        );
        return defined({ logStreams: page.logStreams, nextToken: page.nextToken });
      },
    },

    PutLogEvents: {
      ...dataPlane,
      ...onStream,
      ...noResponse,
      readOnly: false,
      // The messages are the caller's data, not the call's parameters.
      recordRequest: (input) => ({ logGroupName: input.logGroupName, logStreamName: input.logStreamName }),
      handle: async (input, ctx) => {
        const raw = Array.isArray(input.logEvents) ? (input.logEvents as Record<string, unknown>[]) : [];
        const events = raw.map((e) => ({ timestamp: optNum(e, 'timestamp') ?? 0, message: optStr(e, 'message') ?? '' }));
        const result = logs.putLogEvents(scopeOf(ctx), str(input, 'logGroupName'), str(input, 'logStreamName'), events);
        return { ...result };
      },
    },

    GetLogEvents: {
      ...dataPlane,
      ...onStream,
      readOnly: true,
      handle: async (input, ctx) => {
        const out = logs.getLogEvents(
          scopeOf(ctx),
          defined({ logGroupName: optStr(input, 'logGroupName'), logGroupIdentifier: optStr(input, 'logGroupIdentifier') }),
          {
            logStreamName: str(input, 'logStreamName'),
            ...defined({
              startTime: optNum(input, 'startTime'),
              endTime: optNum(input, 'endTime'),
              nextToken: optStr(input, 'nextToken'),
              limit: optNum(input, 'limit'),
              startFromHead: optBool(input, 'startFromHead'),
            }),
          },
        );
        return { ...out };
      },
    },

    FilterLogEvents: {
      ...dataPlane,
      ...onGroup,
      readOnly: true,
      handle: async (input, ctx) => {
        const out = logs.filterLogEvents(
          scopeOf(ctx),
          defined({ logGroupName: optStr(input, 'logGroupName'), logGroupIdentifier: optStr(input, 'logGroupIdentifier') }),
          defined({
            logStreamNames: strList(input, 'logStreamNames'),
            logStreamNamePrefix: optStr(input, 'logStreamNamePrefix'),
            startTime: optNum(input, 'startTime'),
            endTime: optNum(input, 'endTime'),
            filterPattern: optStr(input, 'filterPattern'),
            nextToken: optStr(input, 'nextToken'),
            limit: optNum(input, 'limit'),
          }),
        );
        return defined({ events: out.events, searchedLogStreams: out.searchedLogStreams, nextToken: out.nextToken });
      },
    },

    PutMetricFilter: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.putMetricFilter(scopeOf(ctx), {
          logGroupName: str(input, 'logGroupName'),
          filterName: str(input, 'filterName'),
          filterPattern: optStr(input, 'filterPattern') ?? '',
          metricTransformations: transformations(input),
        });
        return {};
      },
    },

    DescribeMetricFilters: {
      ...management,
      readOnly: true,
      handle: async (input, ctx) => {
        const page = logs.describeMetricFilters(
          scopeOf(ctx),
          defined({
            logGroupName: optStr(input, 'logGroupName'),
            filterNamePrefix: optStr(input, 'filterNamePrefix'),
            metricName: optStr(input, 'metricName'),
            metricNamespace: optStr(input, 'metricNamespace'),
            limit: optNum(input, 'limit'),
            nextToken: optStr(input, 'nextToken'),
          }),
        );
        return defined({ metricFilters: page.metricFilters.map(metricFilterShape), nextToken: page.nextToken });
      },
    },

    DeleteMetricFilter: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.deleteMetricFilter(scopeOf(ctx), str(input, 'logGroupName'), str(input, 'filterName'));
        return {};
      },
    },

    TestMetricFilter: {
      ...management,
      readOnly: true,
      handle: async (input) => {
        const matches = logs.testMetricFilter(optStr(input, 'filterPattern') ?? '', strList(input, 'logEventMessages') ?? []);
        return { matches };
      },
    },

    PutSubscriptionFilter: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        await logs.putSubscriptionFilter(
          scopeOf(ctx),
          defined({
            logGroupName: str(input, 'logGroupName'),
            filterName: str(input, 'filterName'),
            filterPattern: optStr(input, 'filterPattern') ?? '',
            destinationArn: str(input, 'destinationArn'),
            roleArn: optStr(input, 'roleArn'),
            distribution: optStr(input, 'distribution'),
          }),
        );
        return {};
      },
    },

    DescribeSubscriptionFilters: {
      ...management,
      ...onGroup,
      readOnly: true,
      handle: async (input, ctx) => {
        const page = logs.describeSubscriptionFilters(
          scopeOf(ctx),
          {
            logGroupName: str(input, 'logGroupName'),
            ...defined({ filterNamePrefix: optStr(input, 'filterNamePrefix'), limit: optNum(input, 'limit'), nextToken: optStr(input, 'nextToken') }),
          },
        );
        return defined({ subscriptionFilters: page.subscriptionFilters.map(subscriptionFilterShape), nextToken: page.nextToken });
      },
    },

    DeleteSubscriptionFilter: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.deleteSubscriptionFilter(scopeOf(ctx), str(input, 'logGroupName'), str(input, 'filterName'));
        return {};
      },
    },

    TagResource: {
      ...management,
      ...noResponse,
      readOnly: false,
      authorizationResources: (input) => [{ type: 'AWS::Logs::LogGroup', ARN: optStr(input, 'resourceArn') ?? '*' }],
      handle: async (input, ctx) => {
        logs.tagResource(scopeOf(ctx), str(input, 'resourceArn'), strMap(input, 'tags') ?? {});
        return {};
      },
    },

    UntagResource: {
      ...management,
      ...noResponse,
      readOnly: false,
      authorizationResources: (input) => [{ type: 'AWS::Logs::LogGroup', ARN: optStr(input, 'resourceArn') ?? '*' }],
      handle: async (input, ctx) => {
        logs.untagResource(scopeOf(ctx), str(input, 'resourceArn'), strList(input, 'tagKeys') ?? []);
        return {};
      },
    },

    ListTagsForResource: {
      ...management,
      readOnly: true,
      authorizationResources: (input) => [{ type: 'AWS::Logs::LogGroup', ARN: optStr(input, 'resourceArn') ?? '*' }],
      handle: async (input, ctx) => ({ tags: logs.listTagsForResource(scopeOf(ctx), str(input, 'resourceArn')) }),
    },

    TagLogGroup: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.tagLogGroup(scopeOf(ctx), str(input, 'logGroupName'), strMap(input, 'tags') ?? {});
        return {};
      },
    },

    UntagLogGroup: {
      ...management,
      ...onGroup,
      ...noResponse,
      readOnly: false,
      handle: async (input, ctx) => {
        logs.untagLogGroup(scopeOf(ctx), str(input, 'logGroupName'), strList(input, 'tags') ?? []);
        return {};
      },
    },

    ListTagsLogGroup: {
      ...management,
      ...onGroup,
      readOnly: true,
      handle: async (input, ctx) => ({ tags: logs.listTagsLogGroup(scopeOf(ctx), str(input, 'logGroupName')) }),
    },
  };
}
