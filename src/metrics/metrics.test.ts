import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { Alarms, decide, type AlarmActionTargets, type EvaluatedDatapoint } from './alarms.js';
import { Metrics, statisticOf } from './metrics.js';
import { SqliteAlarmStore, SqliteMetricStore } from './sqlite-store.js';
import type { AlarmConfig, StateValue } from './store.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-05-01T10:00:00Z');
const scope = { accountId: '123456789012', region: 'us-east-1' };

const base: Pick<AlarmConfig, 'evaluationPeriods' | 'datapointsToAlarm' | 'threshold' | 'comparisonOperator' | 'treatMissingData' | 'period' | 'statistic'> = {
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
  threshold: 1,
  comparisonOperator: 'GreaterThanOrEqualToThreshold',
  period: 60,
  statistic: 'Sum',
};

/** `X` breaching, `0` not breaching, `-` missing; oldest first. */
function points(pattern: string): EvaluatedDatapoint[] {
  return [...pattern].map((c, i) => (c === '-' ? { start: T0 + i * MINUTE } : { start: T0 + i * MINUTE, value: c === 'X' ? 5 : 0, sampleCount: 1 }));
}

function verdict(pattern: string, treat: AlarmConfig['treatMissingData'], current: StateValue = 'OK', m = 3): StateValue | 'kept' {
  return decide({ ...base, datapointsToAlarm: m, ...(treat ? { treatMissingData: treat } : {}) }, points(pattern), current, T0)?.value ?? 'kept';
}

describe('alarm evaluation rules', () => {
  it('decides on real datapoints when there are enough of them', () => {
    for (const treat of ['missing', 'ignore', 'breaching', 'notBreaching'] as const) {
      expect(verdict('XXX', treat)).toBe('ALARM');
      expect(verdict('0XX', treat)).toBe('OK');
      expect(verdict('X0X', treat, 'ALARM', 2)).toBe('ALARM');
    }
  });

  it('fills missing datapoints as TreatMissingData says when there are too few', () => {
    expect(verdict('-XX', 'breaching')).toBe('ALARM');
    expect(verdict('-XX', 'notBreaching')).toBe('OK');
    expect(verdict('-XX', 'missing', 'ALARM')).toBe('kept');
    expect(verdict('-0-', 'missing', 'ALARM')).toBe('OK');
  });

  it('treats a window without data by the setting', () => {
    expect(verdict('---', 'missing')).toBe('INSUFFICIENT_DATA');
    expect(verdict('---', undefined)).toBe('INSUFFICIENT_DATA');
    expect(verdict('---', 'ignore', 'ALARM')).toBe('kept');
    expect(verdict('---', 'breaching')).toBe('ALARM');
    expect(verdict('---', 'notBreaching', 'ALARM')).toBe('OK');
  });

  it('words reasons as CloudWatch does', () => {
    const one = decide({ ...base, evaluationPeriods: 1, datapointsToAlarm: 1 }, [{ start: T0, value: 3, sampleCount: 3 }], 'OK', T0 + MINUTE);
    expect(one?.reason).toBe('Threshold Crossed: 1 datapoint [3.0 (01/05/26 10:00:00)] was greater than or equal to the threshold (1.0).');
    expect(JSON.parse(one?.reasonData ?? '{}')).toMatchObject({ version: '1.0', statistic: 'Sum', period: 60, recentDatapoints: [3], threshold: 1 });
    const none = decide({ ...base, evaluationPeriods: 1, treatMissingData: 'notBreaching' }, [{ start: T0 }], 'ALARM', T0);
    expect(none?.reason).toBe('Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].');
  });
});

describe('metrics and alarms on SQLite', () => {
  it('aggregates per minute, computes percentiles and keeps data across a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-metrics-'));
    try {
      const clock = new ManualClock(T0);
      let db = openStateDatabase(dir);
      let metrics = new Metrics({ store: new SqliteMetricStore(db), clock });
      metrics.put(scope.accountId, scope.region, 'CIS', 'Denied', [], 1, undefined, T0 + 1000);
      metrics.putMetricData(scope, 'App', [{ MetricName: 'Latency', Values: [1, 2, 3, 4], Counts: [1, 1, 1, 7], Timestamp: new Date(T0 + 2000), StorageResolution: 1 }]);
      db.close();
      db = openStateDatabase(dir);
      metrics = new Metrics({ store: new SqliteMetricStore(db), clock });
      expect(metrics.sum({ accountId: scope.accountId, namespace: 'CIS' })).toBe(1);
      const [minute] = metrics.statistics(scope, { namespace: 'App', metricName: 'Latency', dimensions: [] }, 60, T0, T0 + MINUTE);
      expect(minute?.aggregate).toMatchObject({ sampleCount: 10, sum: 34, minimum: 1, maximum: 4 });
      expect(minute && statisticOf(minute.aggregate, 'p50')).toBe(4);
      expect(minute && statisticOf(minute.aggregate, 'p10')).toBe(1);
      const seconds = metrics.statistics(scope, { namespace: 'App', metricName: 'Latency', dimensions: [] }, 1, T0, T0 + MINUTE);
      expect(seconds.map((s) => s.start)).toEqual([T0 + 2000]);
      clock.advance(4 * 3_600_000);
      expect(metrics.applyRetention()).toBe(2);
      expect(metrics.statistics(scope, { namespace: 'App', metricName: 'Latency', dimensions: [] }, 1, T0, T0 + MINUTE)).toEqual([]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('evaluates alarms on the clock and runs their actions once per change', async () => {
    const clock = new ManualClock(T0);
    const db = openStateDatabase(':memory:');
    const metrics = new Metrics({ store: new SqliteMetricStore(db), clock });
    const published: { arn: string; subject: string; message: string }[] = [];
    const events: unknown[] = [];
    const actions: AlarmActionTargets = {
      publish: async (arn, m) => {
        published.push({ arn, ...m });
      },
      putEvent: (_scope, e) => {
        events.push(e);
      },
    };
    const alarms = new Alarms({ store: new SqliteAlarmStore(db), metrics, clock, actions });
    const topic = 'arn:aws:sns:us-east-1:123456789012:alerts';
    alarms.putMetricAlarm(scope, {
      AlarmName: 'denied', Namespace: 'CIS', MetricName: 'Denied', Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', AlarmActions: [topic], OKActions: [topic],
    });
    expect(alarms.get(scope, 'denied')?.state.value).toBe('INSUFFICIENT_DATA');
    metrics.put(scope.accountId, scope.region, 'CIS', 'Denied', [], 1, undefined, T0 + 5000);
    expect(await alarms.evaluate(T0 + 30_000)).toBe(1); // the previous minute had nothing: OK
    expect(await alarms.evaluate(T0 + MINUTE + 1000)).toBe(1);
    expect(await Promise.all([alarms.evaluate(T0 + MINUTE + 2000), alarms.evaluate(T0 + MINUTE + 3000)])).toEqual([0, 0]);
    expect(alarms.get(scope, 'denied')?.state.value).toBe('ALARM');
    expect(published.map((p) => p.subject)).toEqual(['OK: "denied" in US East (N. Virginia)', 'ALARM: "denied" in US East (N. Virginia)']);
    expect(events).toHaveLength(2);
    expect(await alarms.evaluate(T0 + 2 * MINUTE + 1000)).toBe(1);
    expect(alarms.get(scope, 'denied')?.state.value).toBe('OK');
    await alarms.setAlarmState(scope, 'denied', 'ALARM', 'by hand');
    expect(published).toHaveLength(4);
    alarms.setActionsEnabled(scope, ['denied'], false);
    expect(await alarms.evaluate(T0 + 2 * MINUTE + 2000)).toBe(1);
    expect(published).toHaveLength(4);
    expect(events).toHaveLength(5);
    const types = alarms.history(scope, { alarmName: 'denied' }).map((h) => h.type);
    expect(types.filter((t) => t === 'StateUpdate')).toHaveLength(5);
    expect(types.filter((t) => t === 'Action')).toHaveLength(4);
    db.close();
  });
});
