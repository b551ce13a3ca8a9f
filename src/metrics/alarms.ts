/**
 * CloudWatch metric alarms: their configuration (PutMetricAlarm), the OK / ALARM /
 * INSUFFICIENT_DATA state machine evaluated on the injected clock, alarm history, and
 * the actions a state change runs (SNS notifications in CloudWatch's message format and
 * a "CloudWatch Alarm State Change" event on the default bus).
 *
 * Evaluation follows CloudWatch's documented rules: the last `EvaluationPeriods` complete
 * periods are read; with at least `DatapointsToAlarm` real datapoints among them the
 * state follows those alone; with fewer, missing datapoints are filled in as
 * TreatMissingData says (`breaching`, `notBreaching`; `missing` and `ignore` fill
 * nothing); with none at all, `missing` goes to INSUFFICIENT_DATA, `ignore` keeps the
 * state, `breaching` alarms and `notBreaching` is OK. Each evaluation re-reads its
 * periods, so data arriving late for a period still counts while it is in the window.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { cloudwatchErrors } from './errors.js';
import { isKnownStatistic, statisticOf, type Metrics, type MetricRef } from './metrics.js';
import { alarmNotification, alarmStateChangeDetail, notificationTime } from './notifications.js';
import type { AlarmConfig, AlarmRecord, AlarmState, AlarmStore, ComparisonOperator, HistoryItemType, HistoryRecord, StateValue } from './store.js';

export interface AlarmScope {
  accountId: string;
  region: string;
}

/** Where alarm actions go; the composition root connects SNS and the event bus. */
export interface AlarmActionTargets {
  /** Publishes to an SNS topic; rejects when the topic does not exist or refuses. */
  publish(topicArn: string, message: { subject: string; message: string }): Promise<unknown>;
  /** Puts an AWS service event on the account's default event bus. */
  putEvent(scope: AlarmScope, event: { source: string; detailType: string; detail: Record<string, unknown>; resources: string[]; time: number }): void;
}

export interface AlarmsOptions {
  store: AlarmStore;
  metrics: Pick<Metrics, 'statistics'>;
  clock: Clock;
  actions: AlarmActionTargets;
  logger?: Logger;
}

/** PutMetricAlarm's input, typed (member names as in the model). */
export interface PutMetricAlarmInput {
  AlarmName: string;
  AlarmDescription?: string;
  ActionsEnabled?: boolean;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: { Name: string; Value: string }[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
  EvaluateLowSampleCountPercentile?: string;
  Metrics?: AlarmConfig['metrics'];
  ThresholdMetricId?: string;
  Tags?: { Key: string; Value: string }[];
}

const SUPPORTED_OPERATORS: readonly ComparisonOperator[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
];
const TREATMENTS = ['missing', 'ignore', 'breaching', 'notBreaching'] as const;

/** History is kept for 30 days, as CloudWatch keeps it. */
const HISTORY_RETENTION = 30 * 86_400_000;

/** The alarm ARN for a name. */
export function alarmArn(scope: AlarmScope, name: string): string {
  return `arn:aws:cloudwatch:${scope.region}:${scope.accountId}:alarm:${name}`;
}

/** Whether a value breaches the threshold. */
export function breaches(op: ComparisonOperator, value: number, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

const OPERATOR_TEXT: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** One period's datapoint as evaluation sees it. */
export interface EvaluatedDatapoint {
  start: number;
  value?: number;
  sampleCount?: number;
}

/** What an evaluation decides: a new state with its reason, or nothing (keep the state). */
export interface Verdict {
  value: StateValue;
  reason: string;
  reasonData: string;
}

/** `5.0`, `0.5`: CloudWatch prints datapoint values with at least one decimal. */
function valueText(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** `dd/MM/yy HH:mm:ss` in UTC, as state reasons print datapoint times. */
function reasonTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/**
 * Decides an alarm's state from its datapoints (oldest first, one per evaluation period).
 * Pure, so the rules can be tested on their own.
 */
export function decide(
  config: Pick<AlarmConfig, 'evaluationPeriods' | 'datapointsToAlarm' | 'threshold' | 'comparisonOperator' | 'treatMissingData' | 'period' | 'statistic' | 'extendedStatistic'>,
  datapoints: readonly EvaluatedDatapoint[],
  current: StateValue,
  now: number,
): Verdict | undefined {
  const n = config.evaluationPeriods;
  const m = config.datapointsToAlarm ?? n;
  const treat = config.treatMissingData ?? 'missing';
  const present = datapoints.filter((d): d is EvaluatedDatapoint & { value: number } => d.value !== undefined);
  const missing = datapoints.length - present.length;
  const breaching = present.filter((d) => breaches(config.comparisonOperator, d.value, config.threshold));
  const recent = [...present].reverse();
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: notificationTime(now),
    ...(datapoints[0] ? { startDate: notificationTime(datapoints[0].start) } : {}),
    ...(config.extendedStatistic !== undefined ? { extendedStatistic: config.extendedStatistic } : { statistic: config.statistic }),
    period: config.period,
    recentDatapoints: recent.map((d) => d.value),
    threshold: config.threshold,
    evaluatedDatapoints: recent.map((d) => ({ timestamp: notificationTime(d.start), sampleCount: d.sampleCount, value: d.value })),
  });
  const plural = (k: number, one: string, many: string) => (k === 1 ? one : many);
  const opText = OPERATOR_TEXT[config.comparisonOperator];

  if (present.length === 0) {
    const kind = treat === 'breaching' ? 'Breaching' : 'NonBreaching';
    const filled = `Threshold Crossed: no datapoints were received for ${n} ${plural(n, 'period', 'periods')} and ${n} missing ${plural(n, 'datapoint was', 'datapoints were')} treated as [${kind}].`;
    switch (treat) {
      case 'missing':
        return { value: 'INSUFFICIENT_DATA', reason: `Insufficient Data: ${n} ${plural(n, 'datapoint was', 'datapoints were')} unknown.`, reasonData };
      case 'ignore':
        return undefined;
      case 'breaching':
        return { value: 'ALARM', reason: filled, reasonData };
      case 'notBreaching':
        return { value: 'OK', reason: filled, reasonData };
    }
  }

  // Enough real datapoints decide alone; otherwise missing ones are filled in as configured.
  const filledBreaching = present.length >= m ? 0 : treat === 'breaching' ? missing : 0;
  const count = breaching.length + filledBreaching;
  const shown = (count > 0 && count >= m ? breaching : present).slice().reverse();
  const list = shown.map((d) => `${valueText(d.value)} (${reasonTime(d.start)})`).join(', ');
  const describe = (k: number, verb: string) =>
    n === 1
      ? `${k} datapoint [${list}] was ${verb} the threshold (${valueText(config.threshold)}).`
      : `${k} out of the last ${n} datapoints [${list}] ${plural(k, 'was', 'were')} ${verb} the threshold (${valueText(config.threshold)})`;
  if (count >= m) {
    const suffix = n === 1 ? '' : ` (minimum ${m} ${plural(m, 'datapoint', 'datapoints')} for ${current} -> ALARM transition).`;
    return { value: 'ALARM', reason: `Threshold Crossed: ${describe(count, opText)}${suffix}`, reasonData };
  }
  const notBreaching = present.length - breaching.length;
  if (treat === 'missing' || treat === 'ignore') {
    // Too few real datapoints to alarm; OK only when none of them breach.
    if (present.length < m && breaching.length > 0) return undefined;
  }
  const suffix = n === 1 ? '' : ` (minimum ${Math.max(1, n - m + 1)} ${plural(n - m + 1, 'datapoint', 'datapoints')} for ${current} -> OK transition).`;
  return { value: 'OK', reason: `Threshold Crossed: ${describe(Math.max(notBreaching, 1), `not ${opText}`)}${suffix}`, reasonData };
}

function initialState(now: number): AlarmState {
  return { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', updated: now, transitioned: now };
}

/**
 * The alarms engine.
 *
 * @example
 * const alarms = new Alarms({ store, metrics, clock, actions });
 * alarms.putMetricAlarm(scope, { AlarmName: 'errors', MetricName: 'Errors', Namespace: 'App', Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
 * await alarms.evaluate(clock.now());
 */
export class Alarms {
  /** Evaluations and state changes run one at a time, so each change runs its actions once. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: AlarmsOptions) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** PutMetricAlarm: creates or replaces an alarm's configuration (an update keeps its state). */
  putMetricAlarm(scope: AlarmScope, input: PutMetricAlarmInput): AlarmConfig {
    const now = this.opts.clock.now();
    const config = this.validate(scope, input, now);
    this.opts.store.transaction(() => {
      const existing = this.opts.store.get(scope.accountId, scope.region, input.AlarmName);
      // Tags are set when the alarm is created; later calls change them through TagResource.
      if (existing) config.tags = existing.config.tags;
      this.opts.store.put({ config, state: existing?.state ?? initialState(now) });
      this.note(config, 'ConfigurationUpdate', now, `Alarm "${config.name}" ${existing ? 'updated' : 'created'}`, {
        version: '1.0',
        type: existing ? 'Update' : 'Create',
        [existing ? 'updatedAlarm' : 'createdAlarm']: describeConfig(config),
      });
    });
    return config;
  }

  private validate(scope: AlarmScope, input: PutMetricAlarmInput, now: number): AlarmConfig {
    const bad = cloudwatchErrors.validation;
    const op = input.ComparisonOperator;
    if (op === undefined) throw cloudwatchErrors.missingParameter('The parameter ComparisonOperator is required.');
    if (!SUPPORTED_OPERATORS.includes(op as ComparisonOperator)) {
      throw bad(`Comparison operator ${op} requires an anomaly detection band (ThresholdMetricId), which Cairn does not support.`);
    }
    if (input.EvaluationPeriods === undefined) throw cloudwatchErrors.missingParameter('The parameter EvaluationPeriods is required.');
    if (input.EvaluationPeriods < 1) throw bad('EvaluationPeriods must be at least 1.');
    if (input.Threshold === undefined) throw cloudwatchErrors.missingParameter('The parameter Threshold is required.');
    if (input.ThresholdMetricId !== undefined) throw bad('Anomaly detection alarms (ThresholdMetricId) are not supported.');
    const m = input.DatapointsToAlarm;
    if (m !== undefined && (m < 1 || m > input.EvaluationPeriods)) throw bad('DatapointsToAlarm must be between 1 and EvaluationPeriods.');
    const treat = input.TreatMissingData;
    if (treat !== undefined && !(TREATMENTS as readonly string[]).includes(treat)) {
      throw bad(`The value ${treat} for TreatMissingData is invalid; valid values are missing, ignore, breaching and notBreaching.`);
    }
    const lowSample = input.EvaluateLowSampleCountPercentile;
    if (lowSample !== undefined && lowSample !== 'evaluate' && lowSample !== 'ignore') {
      throw bad('EvaluateLowSampleCountPercentile must be evaluate or ignore.');
    }
    let period = input.Period;
    if (input.Metrics !== undefined) {
      if (input.MetricName !== undefined || input.Namespace !== undefined || input.Statistic !== undefined || input.ExtendedStatistic !== undefined) {
        throw cloudwatchErrors.invalidParameterCombination('Metrics list cannot be used together with MetricName, Namespace, Statistic or ExtendedStatistic.');
      }
      const returned = input.Metrics.filter((q) => q.ReturnData !== false);
      if (returned.length !== 1) throw bad('Exactly one element of the Metrics list must return data.');
      for (const q of input.Metrics) {
        if ((q.MetricStat === undefined) === (q.Expression === undefined)) throw bad(`Metrics ${q.Id}: exactly one of MetricStat and Expression must be given.`);
        if (q.MetricStat && !isKnownStatistic(q.MetricStat.Stat)) throw bad(`Metrics ${q.Id}: the statistic ${q.MetricStat.Stat} is invalid.`);
      }
      period = returned[0]?.MetricStat?.Period ?? returned[0]?.Period;
    } else {
      if (input.MetricName === undefined) throw cloudwatchErrors.missingParameter('The parameter MetricName is required.');
      if (input.Namespace === undefined) throw cloudwatchErrors.missingParameter('The parameter Namespace is required.');
      if ((input.Statistic === undefined) === (input.ExtendedStatistic === undefined)) {
        throw cloudwatchErrors.invalidParameterCombination('Exactly one of Statistic and ExtendedStatistic must be specified.');
      }
      if (input.ExtendedStatistic !== undefined && !isKnownStatistic(input.ExtendedStatistic)) {
        throw cloudwatchErrors.invalidParameterValue(`The value ${input.ExtendedStatistic} for parameter ExtendedStatistic is not supported.`);
      }
      if (period === undefined) throw cloudwatchErrors.missingParameter('The parameter Period is required.');
    }
    if (period !== undefined) {
      if (![10, 20, 30].includes(period) && period % 60 !== 0) throw bad('Period must be 10, 20, 30 or a multiple of 60.');
      if (period * input.EvaluationPeriods > 7 * 86_400) throw bad('Metrics cannot be checked across more than a week (Period × EvaluationPeriods).');
    }
    for (const list of [input.OKActions, input.AlarmActions, input.InsufficientDataActions]) {
      for (const arn of list ?? []) {
        if (!/^arn:aws[a-z-]*:[a-z0-9-]+:/.test(arn)) throw bad(`Invalid action: ${arn}.`);
      }
    }
    return {
      accountId: scope.accountId,
      region: scope.region,
      name: input.AlarmName,
      arn: alarmArn(scope, input.AlarmName),
      ...(input.AlarmDescription !== undefined ? { description: input.AlarmDescription } : {}),
      actionsEnabled: input.ActionsEnabled ?? true,
      okActions: input.OKActions ?? [],
      alarmActions: input.AlarmActions ?? [],
      insufficientDataActions: input.InsufficientDataActions ?? [],
      ...(input.Namespace !== undefined ? { namespace: input.Namespace } : {}),
      ...(input.MetricName !== undefined ? { metricName: input.MetricName } : {}),
      dimensions: (input.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })),
      ...(input.Statistic !== undefined ? { statistic: input.Statistic } : {}),
      ...(input.ExtendedStatistic !== undefined ? { extendedStatistic: input.ExtendedStatistic } : {}),
      ...(period !== undefined ? { period } : {}),
      ...(input.Unit !== undefined ? { unit: input.Unit } : {}),
      evaluationPeriods: input.EvaluationPeriods,
      ...(m !== undefined ? { datapointsToAlarm: m } : {}),
      threshold: input.Threshold,
      comparisonOperator: op as ComparisonOperator,
      ...(treat !== undefined ? { treatMissingData: treat as AlarmConfig['treatMissingData'] & string } : {}),
      ...(lowSample !== undefined ? { evaluateLowSampleCountPercentile: lowSample } : {}),
      ...(input.Metrics !== undefined ? { metrics: input.Metrics } : {}),
      tags: input.Tags ?? [],
      configurationUpdated: now,
    };
  }

  /** One alarm, if it exists. */
  get(scope: AlarmScope, name: string): AlarmRecord | undefined {
    return this.opts.store.get(scope.accountId, scope.region, name);
  }

  /** Every alarm of a scope, by name. */
  list(scope: AlarmScope): AlarmRecord[] {
    return this.opts.store.list(scope);
  }

  /** An alarm by ARN. */
  getByArn(arn: string): AlarmRecord | undefined {
    return this.opts.store.getByArn(arn);
  }

  /** DeleteAlarms: every name must exist, or nothing is deleted. */
  deleteAlarms(scope: AlarmScope, names: readonly string[]): void {
    this.opts.store.transaction(() => {
      const missing = names.filter((n) => !this.opts.store.get(scope.accountId, scope.region, n));
      if (missing.length > 0) throw cloudwatchErrors.alarmNotFound(missing.join(', '));
      this.opts.store.delete(scope.accountId, scope.region, names);
      const now = this.opts.clock.now();
      for (const name of names) {
        this.opts.store.addHistory({ ...scope, alarmName: name, type: 'ConfigurationUpdate', timestamp: now, summary: `Alarm "${name}" deleted`, data: JSON.stringify({ version: '1.0', type: 'Delete' }) });
      }
    });
  }

  /** Enable/DisableAlarmActions: names that do not exist are skipped. */
  setActionsEnabled(scope: AlarmScope, names: readonly string[], enabled: boolean): void {
    this.opts.store.transaction(() => {
      for (const name of names) {
        const record = this.opts.store.get(scope.accountId, scope.region, name);
        if (!record || record.config.actionsEnabled === enabled) continue;
        this.opts.store.put({ config: { ...record.config, actionsEnabled: enabled }, state: record.state });
      }
    });
  }

  /** TagResource / UntagResource on an alarm ARN. */
  updateTags(arn: string, set: readonly { Key: string; Value: string }[], remove: readonly string[] = []): void {
    this.opts.store.transaction(() => {
      const record = this.opts.store.getByArn(arn);
      if (!record) throw cloudwatchErrors.resourceNotFound(arn);
      const tags = new Map(record.config.tags.map((t) => [t.Key, t.Value]));
      for (const t of set) tags.set(t.Key, t.Value);
      for (const k of remove) tags.delete(k);
      if (tags.size > 50) throw cloudwatchErrors.limitExceeded('An alarm may have at most 50 tags.');
      this.opts.store.put({ config: { ...record.config, tags: [...tags].map(([Key, Value]) => ({ Key, Value })) }, state: record.state });
    });
  }

  /** SetAlarmState: sets the state (and runs its actions); the next evaluation may set it back. */
  setAlarmState(scope: AlarmScope, name: string, value: StateValue, reason: string, reasonData?: string): Promise<void> {
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw cloudwatchErrors.invalidFormat('The StateReasonData must be valid JSON.');
      }
    }
    if (!this.get(scope, name)) throw cloudwatchErrors.alarmNotFound(name);
    return this.serial(async () => {
      const record = this.get(scope, name);
      if (!record) throw cloudwatchErrors.alarmNotFound(name);
      await this.transition(record, { value, reason, ...(reasonData !== undefined ? { reasonData } : {}) }, this.opts.clock.now());
    });
  }

  /** The alarm history of a scope, oldest first. */
  history(scope: AlarmScope, filter: { alarmName?: string; type?: HistoryItemType; from?: number; to?: number }): (HistoryRecord & { seq: number })[] {
    return this.opts.store.history(scope.accountId, scope.region, filter);
  }

  /**
   * Evaluates every alarm at `now` and runs the actions of those whose state changes.
   * Returns how many changed.
   */
  evaluate(now: number = this.opts.clock.now()): Promise<number> {
    return this.serial(async () => {
      let changed = 0;
      for (const record of this.opts.store.list()) {
        const verdict = this.verdictFor(record, now);
        if (verdict && verdict.value !== record.state.value) {
          await this.transition(record, verdict, now);
          changed++;
        }
      }
      return changed;
    });
  }

  /** Deletes alarm history older than 30 days by the clock. */
  applyRetention(): number {
    return this.opts.store.purgeHistory(this.opts.clock.now() - HISTORY_RETENTION);
  }

  private verdictFor(record: AlarmRecord, now: number): Verdict | undefined {
    const c = record.config;
    const source = this.sourceOf(c);
    if (!source) return undefined;
    const p = source.period * 1000;
    const end = Math.floor(now / p) * p;
    const start = end - c.evaluationPeriods * p;
    const stats = this.opts.metrics.statistics({ accountId: c.accountId, region: c.region }, source.metric, source.period, start, end, source.unit);
    const byStart = new Map(stats.map((s) => [s.start, s]));
    const datapoints: EvaluatedDatapoint[] = [];
    for (let t = start; t < end; t += p) {
      const s = byStart.get(t);
      const value = s ? statisticOf(s.aggregate, source.stat) : undefined;
      datapoints.push(value !== undefined && s ? { start: t, value, sampleCount: s.aggregate.sampleCount } : { start: t });
    }
    return decide({ ...c, period: source.period }, datapoints, record.state.value, now);
  }

  /** The metric an alarm watches: its own, or the one MetricStat query of its Metrics that returns data. */
  private sourceOf(c: AlarmConfig): { metric: MetricRef; period: number; stat: string; unit?: string } | undefined {
    if (c.metrics) {
      const q = c.metrics.find((x) => x.ReturnData !== false);
      const ms = q?.MetricStat;
      if (!ms || ms.Metric.Namespace === undefined || ms.Metric.MetricName === undefined) return undefined;
      return {
        metric: { namespace: ms.Metric.Namespace, metricName: ms.Metric.MetricName, dimensions: (ms.Metric.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })) },
        period: ms.Period,
        stat: ms.Stat,
        ...(ms.Unit !== undefined ? { unit: ms.Unit } : {}),
      };
    }
    const stat = c.extendedStatistic ?? c.statistic;
    if (c.namespace === undefined || c.metricName === undefined || c.period === undefined || stat === undefined) return undefined;
    return {
      metric: { namespace: c.namespace, metricName: c.metricName, dimensions: c.dimensions },
      period: c.period,
      stat,
      ...(c.unit !== undefined ? { unit: c.unit } : {}),
    };
  }

  /** Records a state update and, when the value changed, runs the new state's actions. */
  private async transition(record: AlarmRecord, next: { value: StateValue; reason: string; reasonData?: string }, now: number): Promise<void> {
    const c = record.config;
    const old = record.state;
    const changed = old.value !== next.value;
    const state: AlarmState = {
      value: next.value,
      reason: next.reason,
      ...(next.reasonData !== undefined ? { reasonData: next.reasonData } : {}),
      updated: now,
      transitioned: changed ? now : old.transitioned,
    };
    this.opts.store.transaction(() => {
      this.opts.store.put({ config: c, state });
      this.note(c, 'StateUpdate', now, `Alarm updated from ${old.value} to ${state.value}`, {
        version: '1.0',
        oldState: { stateValue: old.value, stateReason: old.reason, ...(old.reasonData !== undefined ? { stateReasonData: safeJson(old.reasonData) } : {}) },
        newState: { stateValue: state.value, stateReason: state.reason, ...(state.reasonData !== undefined ? { stateReasonData: safeJson(state.reasonData) } : {}) },
      });
    });
    // Only a change of value runs actions (SetAlarmState to the same value records the update alone).
    if (!changed) return;
    const scope = { accountId: c.accountId, region: c.region };
    try {
      this.opts.actions.putEvent(scope, {
        source: 'aws.cloudwatch',
        detailType: 'CloudWatch Alarm State Change',
        detail: alarmStateChangeDetail(c, old, state),
        resources: [c.arn],
        time: now,
      });
    } catch (e) {
      this.opts.logger?.error({ err: e, alarm: c.arn }, 'putting the alarm state change on the event bus failed');
    }
    if (!c.actionsEnabled) return;
    const actions = state.value === 'ALARM' ? c.alarmActions : state.value === 'OK' ? c.okActions : c.insufficientDataActions;
    const notification = alarmNotification(c, old, state);
    for (const action of actions) await this.runAction(c, action, notification, state, now);
  }

  private async runAction(c: AlarmConfig, action: string, notification: { subject: string; message: string }, state: AlarmState, now: number): Promise<void> {
    const isTopic = /^arn:aws[a-z-]*:sns:/.test(action);
    let error: string | undefined;
    if (isTopic) {
      try {
        await this.opts.actions.publish(action, notification);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
    } else {
      error = 'Cairn runs SNS notification actions only.';
    }
    const data = {
      actionState: error === undefined ? 'Succeeded' : 'Failed',
      stateUpdateTimestamp: state.updated,
      ...(isTopic ? { notificationResource: action, publishedMessage: notification.message } : { action }),
      ...(error !== undefined ? { error } : {}),
    };
    const summary = error === undefined ? `Successfully executed action ${action}` : `Failed to execute action ${action}. Received error: "${error}"`;
    this.note(c, 'Action', now, summary, data);
  }

  private note(c: AlarmConfig, type: HistoryItemType, now: number, summary: string, data: unknown): void {
    this.opts.store.addHistory({ accountId: c.accountId, region: c.region, alarmName: c.name, type, timestamp: now, summary, data: JSON.stringify(data) });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The alarm as history data describes it (DescribeAlarms' shape with camelCase keys). */
function describeConfig(c: AlarmConfig): Record<string, unknown> {
  return {
    alarmName: c.name,
    alarmArn: c.arn,
    ...(c.description !== undefined ? { alarmDescription: c.description } : {}),
    actionsEnabled: c.actionsEnabled,
    okActions: c.okActions,
    alarmActions: c.alarmActions,
    insufficientDataActions: c.insufficientDataActions,
    metricName: c.metricName,
    namespace: c.namespace,
    statistic: c.statistic,
    extendedStatistic: c.extendedStatistic,
    dimensions: c.dimensions,
    period: c.period,
    unit: c.unit,
    evaluationPeriods: c.evaluationPeriods,
    datapointsToAlarm: c.datapointsToAlarm,
    threshold: c.threshold,
    comparisonOperator: c.comparisonOperator,
    treatMissingData: c.treatMissingData,
    metrics: c.metrics,
  };
}
