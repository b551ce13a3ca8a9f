/**
 * The CloudWatch operations Cairn serves: PutMetricData, ListMetrics,
 * GetMetricStatistics, GetMetricData (MetricStat queries, and expressions of plain
 * arithmetic over other queries' ids and numbers), and metric alarms (PutMetricAlarm,
 * DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory, DeleteAlarms,
 * SetAlarmState, Enable/DisableAlarmActions, tags). Inputs arrive validated against the
 * model. PutMetricData and the metric reads are recorded as data events, as CloudTrail
 * logs them; the alarm calls are management events on the alarm's ARN.
 */
import type { AlarmConfig, AlarmRecord, HistoryItemType, StateValue } from '../../metrics/store.js';
import type { Alarms, PutMetricAlarmInput } from '../../metrics/alarms.js';
import { cloudwatchErrors } from '../../metrics/errors.js';
import { isKnownStatistic, percentileOf, statisticOf, type MetricDatumInput, type Metrics, type PeriodStatistics } from '../../metrics/metrics.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';
import { evaluateExpression } from './expressions.js';

type Input = Record<string, unknown>;

const management = { category: 'Management' } as const;
const data = { category: 'Data' } as const;

function scopeOf(ctx: CallContext): { accountId: string; region: string } {
  return { accountId: ctx.accountId, region: ctx.region };
}

function str(input: Input, name: string): string | undefined {
  const v = input[name];
  return typeof v === 'string' ? v : undefined;
}

function num(input: Input, name: string): number | undefined {
  const v = input[name];
  return typeof v === 'number' ? v : undefined;
}

function strs(input: Input, name: string): string[] | undefined {
  const v = input[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function date(input: Input, name: string): number | undefined {
  const v = input[name];
  return v instanceof Date ? v.getTime() : undefined;
}

function dims(value: unknown): { name: string; value: string }[] {
  if (!Array.isArray(value)) return [];
  return value.map((d) => {
    const r = d as Input;
    return { name: String(r.Name), value: String(r.Value) };
  });
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw cloudwatchErrors.missingParameter(`The parameter ${name} is required.`);
  return value;
}

/** Opaque page tokens: the key of the last item returned. */
function pageAfter<T>(items: T[], keyOf: (t: T) => string, max: number, token: string | undefined): { items: T[]; nextToken?: string } {
  let rest = items;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    if (!after) throw cloudwatchErrors.invalidNextToken();
    rest = items.filter((i) => keyOf(i) > after);
  }
  const page = rest.slice(0, max);
  const last = page[page.length - 1];
  return rest.length > max && last ? { items: page, nextToken: Buffer.from(keyOf(last)).toString('base64url') } : { items: page };
}

function alarmResource(arn: string, accountId: string): RecordResource {
  return { ARN: arn, accountId, type: 'AWS::CloudWatch::Alarm' };
}

const alarmArnOf = (ctx: CallContext, name: string) => `arn:aws:cloudwatch:${ctx.region}:${ctx.accountId}:alarm:${name}`;

/** MetricAlarm as DescribeAlarms returns it. */
function metricAlarmShape(r: AlarmRecord): Input {
  const c: AlarmConfig = r.config;
  return {
    AlarmName: c.name,
    AlarmArn: c.arn,
    AlarmDescription: c.description,
    AlarmConfigurationUpdatedTimestamp: new Date(c.configurationUpdated),
    ActionsEnabled: c.actionsEnabled,
    OKActions: c.okActions,
    AlarmActions: c.alarmActions,
    InsufficientDataActions: c.insufficientDataActions,
    StateValue: r.state.value,
    StateReason: r.state.reason,
    StateReasonData: r.state.reasonData,
    StateUpdatedTimestamp: new Date(r.state.updated),
    StateTransitionedTimestamp: new Date(r.state.transitioned),
    MetricName: c.metricName,
    Namespace: c.namespace,
    Statistic: c.statistic,
    ExtendedStatistic: c.extendedStatistic,
    Dimensions: c.metrics ? undefined : c.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
    Period: c.period,
    Unit: c.unit,
    EvaluationPeriods: c.evaluationPeriods,
    DatapointsToAlarm: c.datapointsToAlarm,
    Threshold: c.threshold,
    ComparisonOperator: c.comparisonOperator,
    TreatMissingData: c.treatMissingData,
    EvaluateLowSampleCountPercentile: c.evaluateLowSampleCountPercentile,
    Metrics: c.metrics,
  };
}

/** The CloudWatch operation specs, keyed by operation name. */
export function cloudwatchOperations(deps: { metrics: Metrics; alarms: Alarms }): Record<string, OperationSpec> {
  const { metrics, alarms } = deps;

  const alarmOp = (readOnly: boolean, handle: OperationSpec['handle'], names?: (input: Input) => string[]): OperationSpec => ({
    ...management,
    readOnly,
    ...(names ? { resources: (input: Input, ctx: CallContext) => names(input).map((n) => alarmResource(alarmArnOf(ctx, n), ctx.accountId)) } : {}),
    handle,
  });

  return {
    PutMetricData: {
      ...data,
      readOnly: false,
      handle: async (input, ctx) => {
        const namespace = required(str(input, 'Namespace'), 'Namespace');
        const items = (input.MetricData as MetricDatumInput[] | undefined) ?? [];
        if (items.length === 0 && input.EntityMetricData === undefined) throw cloudwatchErrors.missingParameter('The parameter MetricData is required.');
        metrics.putMetricData(scopeOf(ctx), namespace, items);
        return {};
      },
    },

    ListMetrics: {
      ...data,
      readOnly: true,
      handle: async (input, ctx) => {
        const filters = Array.isArray(input.Dimensions)
          ? input.Dimensions.map((d) => {
              const r = d as Input;
              return { name: String(r.Name), ...(typeof r.Value === 'string' ? { value: r.Value } : {}) };
            })
          : undefined;
        const namespace = str(input, 'Namespace');
        const metricName = str(input, 'MetricName');
        const series = metrics.listMetrics(scopeOf(ctx), {
          ...(namespace !== undefined ? { namespace } : {}),
          ...(metricName !== undefined ? { metricName } : {}),
          ...(filters ? { dimensions: filters } : {}),
          recentlyActive: input.RecentlyActive === 'PT3H',
        });
        const page = pageAfter(series, (s) => String(s.id).padStart(16, '0'), 500, str(input, 'NextToken'));
        return {
          Metrics: page.items.map((s) => ({ Namespace: s.namespace, MetricName: s.metricName, Dimensions: s.dimensions.map((d) => ({ Name: d.name, Value: d.value })) })),
          ...(page.nextToken ? { NextToken: page.nextToken } : {}),
        };
      },
    },

    GetMetricStatistics: {
      ...data,
      readOnly: true,
      handle: async (input, ctx) => {
        const period = required(num(input, 'Period'), 'Period');
        const start = required(date(input, 'StartTime'), 'StartTime');
        const end = required(date(input, 'EndTime'), 'EndTime');
        const statistics = strs(input, 'Statistics') ?? [];
        const extended = strs(input, 'ExtendedStatistics') ?? [];
        if (statistics.length === 0 && extended.length === 0) {
          throw cloudwatchErrors.missingParameter('Must specify either Statistics or ExtendedStatistics');
        }
        for (const p of extended) {
          if (percentileOf(p) === undefined) throw cloudwatchErrors.invalidParameterValue(`The value ${p} for parameter ExtendedStatistics is not supported.`);
        }
        checkPeriod(period, 'Period');
        if (end <= start) throw cloudwatchErrors.invalidParameterValue('The parameter StartTime must be less than the parameter EndTime.');
        const points = Math.ceil((end - start) / (period * 1000));
        if (points > 1440) {
          throw cloudwatchErrors.invalidParameterCombination(
            `You have requested up to ${points} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
          );
        }
        const unit = str(input, 'Unit');
        const metricName = required(str(input, 'MetricName'), 'MetricName');
        const stats = metrics
          .statistics(scopeOf(ctx), { namespace: required(str(input, 'Namespace'), 'Namespace'), metricName, dimensions: dims(input.Dimensions) }, period, start, end, unit)
          .filter((s) => s.start >= Math.floor(start / (period * 1000)) * period * 1000);
        return { Label: metricName, Datapoints: stats.map((s) => datapointShape(s, statistics, extended, unit)) };
      },
    },

    GetMetricData: {
      ...data,
      readOnly: true,
      handle: async (input, ctx) => getMetricData(metrics, input, ctx),
    },

    PutMetricAlarm: alarmOp(
      false,
      async (input, ctx) => {
        alarms.putMetricAlarm(scopeOf(ctx), input as unknown as PutMetricAlarmInput);
        return {};
      },
      (input) => [String(input.AlarmName)],
    ),

    DescribeAlarms: alarmOp(true, async (input, ctx) => {
      const names = strs(input, 'AlarmNames');
      const prefix = str(input, 'AlarmNamePrefix');
      if (names && prefix !== undefined) throw cloudwatchErrors.invalidParameterCombination('AlarmNames and AlarmNamePrefix cannot be specified together.');
      const state = str(input, 'StateValue');
      const actionPrefix = str(input, 'ActionPrefix');
      const types = strs(input, 'AlarmTypes');
      const max = num(input, 'MaxRecords') ?? 50;
      if (max < 1 || max > 100) throw cloudwatchErrors.invalidParameterValue('The value for parameter MaxRecords must be between 1 and 100.');
      const wantsMetric = !types || types.includes('MetricAlarm');
      const all = wantsMetric
        ? alarms.list(scopeOf(ctx)).filter(
            (r) =>
              (!names || names.includes(r.config.name)) &&
              (prefix === undefined || r.config.name.startsWith(prefix)) &&
              (state === undefined || r.state.value === state) &&
              (actionPrefix === undefined ||
                [...r.config.alarmActions, ...r.config.okActions, ...r.config.insufficientDataActions].some((a) => a.startsWith(actionPrefix))),
          )
        : [];
      const page = pageAfter(all, (r) => r.config.name, max, str(input, 'NextToken'));
      return { MetricAlarms: page.items.map(metricAlarmShape), CompositeAlarms: [], ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
    }),

    DescribeAlarmsForMetric: alarmOp(true, async (input, ctx) => {
      const namespace = str(input, 'Namespace');
      const metricName = str(input, 'MetricName');
      const wanted = input.Dimensions !== undefined ? JSON.stringify(sorted(dims(input.Dimensions))) : undefined;
      const statistic = str(input, 'Statistic');
      const extended = str(input, 'ExtendedStatistic');
      const period = num(input, 'Period');
      const unit = str(input, 'Unit');
      const found = alarms.list(scopeOf(ctx)).filter((r) => {
        const c = r.config;
        return (
          c.namespace === namespace &&
          c.metricName === metricName &&
          (wanted === undefined || JSON.stringify(sorted(c.dimensions)) === wanted) &&
          (statistic === undefined || c.statistic === statistic) &&
          (extended === undefined || c.extendedStatistic === extended) &&
          (period === undefined || c.period === period) &&
          (unit === undefined || c.unit === unit)
        );
      });
      return { MetricAlarms: found.map(metricAlarmShape) };
    }),

    DescribeAlarmHistory: alarmOp(true, async (input, ctx) => {
      const max = num(input, 'MaxRecords') ?? 100;
      if (max < 1 || max > 100) throw cloudwatchErrors.invalidParameterValue('The value for parameter MaxRecords must be between 1 and 100.');
      const types = strs(input, 'AlarmTypes');
      const alarmName = str(input, 'AlarmName');
      const type = str(input, 'HistoryItemType');
      const from = date(input, 'StartDate');
      const to = date(input, 'EndDate');
      let items = types && !types.includes('MetricAlarm')
        ? []
        : alarms.history(scopeOf(ctx), {
            ...(alarmName !== undefined ? { alarmName } : {}),
            ...(type !== undefined ? { type: type as HistoryItemType } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
          });
      const ascending = str(input, 'ScanBy') === 'TimestampAscending';
      if (!ascending) items = items.reverse();
      const key = (i: { seq: number }) => String(ascending ? i.seq : Number.MAX_SAFE_INTEGER - i.seq).padStart(16, '0');
      const page = pageAfter(items, key, max, str(input, 'NextToken'));
      return {
        AlarmHistoryItems: page.items.map((i) => ({
          AlarmName: i.alarmName,
          AlarmType: 'MetricAlarm',
          Timestamp: new Date(i.timestamp),
          HistoryItemType: i.type,
          HistorySummary: i.summary,
          HistoryData: i.data,
        })),
        ...(page.nextToken ? { NextToken: page.nextToken } : {}),
      };
    }),

    DeleteAlarms: alarmOp(
      false,
      async (input, ctx) => {
        alarms.deleteAlarms(scopeOf(ctx), strs(input, 'AlarmNames') ?? []);
        return {};
      },
      (input) => strs(input, 'AlarmNames') ?? [],
    ),

    SetAlarmState: alarmOp(
      false,
      async (input, ctx) => {
        const reasonData = str(input, 'StateReasonData');
        await alarms.setAlarmState(
          scopeOf(ctx),
          required(str(input, 'AlarmName'), 'AlarmName'),
          required(str(input, 'StateValue'), 'StateValue') as StateValue,
          required(str(input, 'StateReason'), 'StateReason'),
          reasonData,
        );
        return {};
      },
      (input) => [String(input.AlarmName)],
    ),

    EnableAlarmActions: alarmOp(
      false,
      async (input, ctx) => {
        alarms.setActionsEnabled(scopeOf(ctx), strs(input, 'AlarmNames') ?? [], true);
        return {};
      },
      (input) => strs(input, 'AlarmNames') ?? [],
    ),

    DisableAlarmActions: alarmOp(
      false,
      async (input, ctx) => {
        alarms.setActionsEnabled(scopeOf(ctx), strs(input, 'AlarmNames') ?? [], false);
        return {};
      },
      (input) => strs(input, 'AlarmNames') ?? [],
    ),

    TagResource: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [alarmResource(String(input.ResourceARN), ctx.accountId)],
      handle: async (input) => {
        alarms.updateTags(String(input.ResourceARN), (input.Tags as { Key: string; Value: string }[] | undefined) ?? []);
        return {};
      },
    },

    UntagResource: {
      ...management,
      readOnly: false,
      resources: (input, ctx) => [alarmResource(String(input.ResourceARN), ctx.accountId)],
      handle: async (input) => {
        alarms.updateTags(String(input.ResourceARN), [], strs(input, 'TagKeys') ?? []);
        return {};
      },
    },

    ListTagsForResource: {
      ...management,
      readOnly: true,
      resources: (input, ctx) => [alarmResource(String(input.ResourceARN), ctx.accountId)],
      handle: async (input) => {
        const arn = String(input.ResourceARN);
        const record = alarms.getByArn(arn);
        if (!record) throw cloudwatchErrors.resourceNotFound(arn);
        return { Tags: record.config.tags };
      },
    },
  };
}

function sorted(d: { name: string; value: string }[]): { name: string; value: string }[] {
  return [...d].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Periods: 1, 5, 10, 20, 30 seconds (high resolution) or a multiple of 60. */
function checkPeriod(period: number, name: string): void {
  if (![1, 5, 10, 20, 30].includes(period) && period % 60 !== 0) {
    throw cloudwatchErrors.invalidParameterValue(`The parameter ${name} must be 1, 5, 10, 20, 30, or a multiple of 60.`);
  }
}

function datapointShape(s: PeriodStatistics, statistics: string[], extended: string[], unit: string | undefined): Input {
  const out: Input = { Timestamp: new Date(s.start), Unit: unit ?? s.unit };
  for (const stat of statistics) out[stat] = statisticOf(s.aggregate, stat);
  if (extended.length > 0) {
    const values: Record<string, number> = {};
    for (const p of extended) {
      const v = statisticOf(s.aggregate, p);
      if (v !== undefined) values[p] = v;
    }
    out.ExtendedStatistics = values;
  }
  return out;
}

interface Series {
  timestamps: number[];
  values: number[];
}

async function getMetricData(metrics: Metrics, input: Input, ctx: CallContext): Promise<Record<string, unknown>> {
  const start = required(date(input, 'StartTime'), 'StartTime');
  const end = required(date(input, 'EndTime'), 'EndTime');
  if (end <= start) throw cloudwatchErrors.validation('The parameter StartTime must be less than the parameter EndTime.');
  const queries = (input.MetricDataQueries as Input[] | undefined) ?? [];
  if (queries.length === 0) throw cloudwatchErrors.missingParameter('The parameter MetricDataQueries is required.');
  if (queries.length > 500) throw cloudwatchErrors.validation('The collection MetricDataQueries must not have a size greater than 500.');
  const descending = str(input, 'ScanBy') !== 'TimestampAscending';
  const ids = new Set<string>();
  for (const q of queries) {
    const id = String(q.Id);
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) throw cloudwatchErrors.validation(`The value ${id} for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter and contain only letters, digits and underscores.`);
    if (ids.has(id)) throw cloudwatchErrors.validation(`The value ${id} for parameter MetricDataQueries.member.Id is used more than once.`);
    ids.add(id);
    if ((q.MetricStat === undefined) === (q.Expression === undefined)) {
      throw cloudwatchErrors.validation(`Exactly one of MetricStat and Expression must be specified for query ${id}.`);
    }
  }
  if (!queries.some((q) => q.ReturnData !== false)) throw cloudwatchErrors.validation('At least one query must return data.');
  const scope = scopeOf(ctx);
  const results = new Map<string, Series>();
  // Metric queries first; expressions then read them (and earlier expressions) by id.
  for (const q of queries) {
    const ms = q.MetricStat as Input | undefined;
    if (!ms) continue;
    const metric = ms.Metric as Input;
    const period = Number(ms.Period);
    const stat = String(ms.Stat);
    checkPeriod(period, 'MetricStat.Period');
    if (!isKnownStatistic(stat)) throw cloudwatchErrors.validation(`The value ${stat} for parameter MetricStat.Stat is invalid.`);
    const unit = typeof ms.Unit === 'string' ? ms.Unit : undefined;
    const stats = metrics.statistics(
      scope,
      { namespace: String(metric.Namespace), metricName: String(metric.MetricName), dimensions: dims(metric.Dimensions) },
      period,
      start,
      end,
      unit,
    );
    const series: Series = { timestamps: [], values: [] };
    for (const s of stats) {
      const v = statisticOf(s.aggregate, stat);
      if (v === undefined || s.start < Math.floor(start / (period * 1000)) * period * 1000) continue;
      series.timestamps.push(s.start);
      series.values.push(v);
    }
    results.set(String(q.Id), series);
  }
  const messages: { Code: string; Value: string }[] = [];
  const statusOf = new Map<string, string>();
  for (const q of queries) {
    if (typeof q.Expression !== 'string') continue;
    const id = String(q.Id);
    try {
      results.set(id, evaluateExpression(q.Expression, results));
    } catch (e) {
      results.set(id, { timestamps: [], values: [] });
      statusOf.set(id, 'InternalError');
      messages.push({ Code: 'InternalError', Value: `${id}: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  const out = queries
    .filter((q) => q.ReturnData !== false)
    .map((q) => {
      const id = String(q.Id);
      const series = results.get(id) ?? { timestamps: [], values: [] };
      const order = series.timestamps.map((_, i) => i).sort((a, b) => ((series.timestamps[a] ?? 0) - (series.timestamps[b] ?? 0)) * (descending ? -1 : 1));
      const metric = (q.MetricStat as Input | undefined)?.Metric as Input | undefined;
      const label = typeof q.Label === 'string' ? q.Label : metric ? String(metric.MetricName) : id;
      return {
        Id: id,
        Label: label,
        Timestamps: order.map((i) => new Date(series.timestamps[i] ?? 0)),
        Values: order.map((i) => series.values[i] ?? 0),
        StatusCode: statusOf.get(id) ?? 'Complete',
      };
    });
  return { MetricDataResults: out, Messages: messages };
}
