/**
 * What an alarm's state change says to the outside, in CloudWatch's own formats: the JSON
 * message and subject it publishes to SNS topics, the "CloudWatch Alarm State Change"
 * event it puts on the default event bus, and the alarm-history items.
 */
import type { AlarmConfig, AlarmState, StateValue } from './store.js';

/** Region names as the AWS console (and so CloudWatch's notifications) spell them. */
const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'af-south-1': 'Africa (Cape Town)',
  'ap-east-1': 'Asia Pacific (Hong Kong)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-northeast-3': 'Asia Pacific (Osaka)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ca-central-1': 'Canada (Central)',
  'eu-central-1': 'EU (Frankfurt)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-west-3': 'EU (Paris)',
  'eu-north-1': 'EU (Stockholm)',
  'eu-south-1': 'EU (Milan)',
  'me-south-1': 'Middle East (Bahrain)',
  'sa-east-1': 'South America (Sao Paulo)',
};

/** The Region's display name (its code when unknown). */
export function regionName(region: string): string {
  return REGION_NAMES[region] ?? region;
}

/** CloudWatch's notification timestamps: `2026-01-01T00:01:00.000+0000`. */
export function notificationTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** SNS subjects are at most 100 characters. */
function subjectOf(state: StateValue, config: AlarmConfig): string {
  const subject = `${state}: "${config.name}" in ${regionName(config.region)}`;
  return subject.length <= 100 ? subject : subject.slice(0, 100);
}

/** The message and subject an alarm publishes to its SNS actions on a state change. */
export function alarmNotification(config: AlarmConfig, oldState: AlarmState, newState: AlarmState): { subject: string; message: string } {
  const trigger: Record<string, unknown> = config.metrics
    ? {
        Period: config.period ?? 0,
        EvaluationPeriods: config.evaluationPeriods,
        ComparisonOperator: config.comparisonOperator,
        Threshold: config.threshold,
        TreatMissingData: config.treatMissingData ?? 'missing',
        EvaluateLowSampleCountPercentile: config.evaluateLowSampleCountPercentile ?? '',
        Metrics: config.metrics,
      }
    : {
        MetricName: config.metricName ?? '',
        Namespace: config.namespace ?? '',
        StatisticType: config.extendedStatistic !== undefined ? 'ExtendedStatistic' : 'Statistic',
        Statistic: config.extendedStatistic ?? (config.statistic ?? '').toUpperCase(),
        Unit: config.unit ?? null,
        Dimensions: config.dimensions.map((d) => ({ value: d.value, name: d.name })),
        Period: config.period ?? 0,
        EvaluationPeriods: config.evaluationPeriods,
        ...(config.datapointsToAlarm !== undefined ? { DatapointsToAlarm: config.datapointsToAlarm } : {}),
        ComparisonOperator: config.comparisonOperator,
        Threshold: config.threshold,
        TreatMissingData: config.treatMissingData ?? 'missing',
        EvaluateLowSampleCountPercentile: config.evaluateLowSampleCountPercentile ?? '',
      };
  const message = {
    AlarmName: config.name,
    AlarmDescription: config.description ?? null,
    AWSAccountId: config.accountId,
    AlarmConfigurationUpdatedTimestamp: notificationTime(config.configurationUpdated),
    NewStateValue: newState.value,
    NewStateReason: newState.reason,
    StateChangeTime: notificationTime(newState.updated),
    Region: regionName(config.region),
    AlarmArn: config.arn,
    OldStateValue: oldState.value,
    OKActions: config.okActions,
    AlarmActions: config.alarmActions,
    InsufficientDataActions: config.insufficientDataActions,
    Trigger: trigger,
  };
  return { subject: subjectOf(newState.value, config), message: JSON.stringify(message) };
}

function stateDetail(state: AlarmState): Record<string, unknown> {
  return {
    value: state.value,
    reason: state.reason,
    ...(state.reasonData !== undefined ? { reasonData: state.reasonData } : {}),
    timestamp: notificationTime(state.updated),
  };
}

/** The `detail` of the "CloudWatch Alarm State Change" event. */
export function alarmStateChangeDetail(config: AlarmConfig, oldState: AlarmState, newState: AlarmState): Record<string, unknown> {
  const metrics = config.metrics
    ? config.metrics.map((q) => ({
        id: q.Id,
        ...(q.MetricStat
          ? {
              metricStat: {
                metric: {
                  namespace: q.MetricStat.Metric.Namespace,
                  name: q.MetricStat.Metric.MetricName,
                  dimensions: Object.fromEntries((q.MetricStat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
                },
                period: q.MetricStat.Period,
                stat: q.MetricStat.Stat,
                ...(q.MetricStat.Unit !== undefined ? { unit: q.MetricStat.Unit } : {}),
              },
            }
          : {}),
        ...(q.Expression !== undefined ? { expression: q.Expression } : {}),
        ...(q.Label !== undefined ? { label: q.Label } : {}),
        returnData: q.ReturnData ?? true,
      }))
    : [
        {
          id: 'm1',
          metricStat: {
            metric: { namespace: config.namespace, name: config.metricName, dimensions: Object.fromEntries(config.dimensions.map((d) => [d.name, d.value])) },
            period: config.period,
            stat: config.extendedStatistic ?? config.statistic,
            ...(config.unit !== undefined ? { unit: config.unit } : {}),
          },
          returnData: true,
        },
      ];
  return {
    alarmName: config.name,
    state: stateDetail(newState),
    previousState: stateDetail(oldState),
    configuration: { ...(config.description !== undefined ? { description: config.description } : {}), metrics },
  };
}
