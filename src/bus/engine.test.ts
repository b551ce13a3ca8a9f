/**
 * The event bus engine with a real SQLite store (in memory) and the in-memory event log:
 * logged records reach matching rules' targets in CloudTrail's envelope, read-only calls
 * only reach opted-in rules, exactly once across restarts and failed commits, retries and
 * drops, input transformers, schedules on a manual clock, and PutEvents' validation.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryEventLog } from '../eventlog/memory-eventlog.js';
import type { NewEvent } from '../eventlog/eventlog.js';
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { EventBusEngine, type EventBusEngineOptions } from './engine.js';
import { parseSchedule, nextFireTime } from './schedule.js';
import { SqliteBusStore } from './sqlite-store.js';
import type { BusStore } from './store.js';
import type { QueueSender } from './targets.js';
import { renderTemplate } from './transform.js';

const ACCOUNT = '123456789012';
const scope = { accountId: ACCOUNT, region: 'us-east-1' };
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:alerts`;

function call(i: number, eventName: string, opts: { readOnly?: boolean; source?: string; category?: 'Management' | 'Data' } = {}): NewEvent {
  const eventSource = opts.source ?? 'iam.amazonaws.com';
  const record = {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', accountId: ACCOUNT, userName: 'alice' },
    eventTime: '2026-01-01T00:00:00Z',
    eventSource,
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '10.0.0.7',
    requestParameters: { userName: `user-${i}` },
    responseElements: null,
    eventID: `e-${i}`,
    readOnly: opts.readOnly ?? false,
    eventType: 'AwsApiCall',
    managementEvent: (opts.category ?? 'Management') === 'Management',
    recipientAccountId: ACCOUNT,
    eventCategory: opts.category ?? 'Management',
  };
  return {
    eventId: `e-${i}`,
    eventTime: Date.UTC(2026, 0, 1),
    accountId: ACCOUNT,
    region: 'us-east-1',
    eventSource,
    eventName,
    readOnly: opts.readOnly ?? false,
    category: opts.category ?? 'Management',
    record: JSON.stringify(record),
  };
}

class FakeQueue implements QueueSender {
  messages: { arn: string; body: string }[] = [];
  failures = 0;
  async sendMessage(arn: string, body: string): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('queue unavailable');
    }
    this.messages.push({ arn, body });
  }
}

function setup(over: Partial<EventBusEngineOptions> = {}, store?: BusStore) {
  const { log, cursors } = createMemoryEventLog();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const queue = new FakeQueue();
  const busStore = store ?? new SqliteBusStore(openStateDatabase(':memory:'));
  const engine = new EventBusEngine({ store: busStore, clock, random: cryptoRandom, log, cursors, targets: { queues: queue }, retryBaseDelayMs: 10, ...over });
  return { log, cursors, clock, queue, store: busStore, engine };
}

describe('CloudTrail records on the default bus', () => {
  it('delivers a matching call in the AWS API Call via CloudTrail envelope, and nothing else', async () => {
    const { log, queue, engine } = setup();
    engine.putRule(scope, { name: 'users', eventPattern: '{"source":["aws.iam"],"detail":{"eventName":["CreateUser"]}}' });
    engine.putTargets(scope, undefined, 'users', [{ Id: 'q', Arn: QUEUE }]);
    engine.start();
    await log.append(call(1, 'CreateUser'));
    await log.append(call(2, 'DeleteUser'));
    await engine.idle();
    expect(queue.messages).toHaveLength(1);
    const event = JSON.parse(queue.messages[0]?.body ?? '{}') as Record<string, unknown>;
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.iam',
      account: ACCOUNT,
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { eventName: 'CreateUser', requestParameters: { userName: 'user-1' } },
    });
    expect(engine.cursor()).toBe(2);
    await engine.stop();
  });

  it('read-only Describe/Get/List calls reach only rules enabled for all management events', async () => {
    const { log, queue, engine } = setup();
    engine.putRule(scope, { name: 'plain', eventPattern: '{"source":["aws.iam"]}' });
    engine.putTargets(scope, undefined, 'plain', [{ Id: 'q', Arn: QUEUE, Input: '"plain"' }]);
    engine.putRule(scope, { name: 'all', eventPattern: '{"source":["aws.iam"]}', state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' });
    engine.putTargets(scope, undefined, 'all', [{ Id: 'q', Arn: QUEUE, Input: '"all"' }]);
    engine.start();
    await log.append(call(1, 'GetUser', { readOnly: true }));
    await log.append(call(2, 'SimulatePrincipalPolicy', { readOnly: true }));
    await engine.idle();
    expect(queue.messages.map((m) => m.body).sort()).toEqual(['"all"', '"all"', '"plain"']);
  });

  it('disabled rules match nothing; enabling them again does', async () => {
    const { log, queue, engine } = setup();
    engine.putRule(scope, { name: 'r', eventPattern: '{"source":["aws.iam"]}' });
    engine.putTargets(scope, undefined, 'r', [{ Id: 'q', Arn: QUEUE }]);
    engine.setRuleState(scope, undefined, 'r', 'DISABLED');
    engine.start();
    await log.append(call(1, 'CreateUser'));
    await engine.idle();
    expect(queue.messages).toHaveLength(0);
    engine.setRuleState(scope, undefined, 'r', 'ENABLED');
    await log.append(call(2, 'CreateUser'));
    await engine.idle();
    expect(queue.messages).toHaveLength(1);
  });

  it('puts each record on the bus exactly once across restarts and a failed commit', async () => {
    const db = openStateDatabase(':memory:');
    const store = new SqliteBusStore(db);
    const first = setup({}, store);
    first.engine.putRule(scope, { name: 'r', eventPattern: '{"source":["aws.iam"]}' });
    first.engine.putTargets(scope, undefined, 'r', [{ Id: 'q', Arn: QUEUE }]);
    for (let i = 1; i <= 5; i++) await first.log.append(call(i, 'CreateUser'));
    // The first commit fails (as a crash between matching and committing would): nothing is on the bus yet.
    const real = store.commitDispatch.bind(store);
    let failOnce = true;
    store.commitDispatch = (...args) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('disk full');
      }
      real(...args);
    };
    first.engine.start();
    await first.engine.idle();
    await first.engine.tick();
    await first.engine.idle();
    expect(first.queue.messages).toHaveLength(5);
    await first.engine.stop();

    // A restarted engine on the same store and log resumes after the cursor.
    const second = new EventBusEngine({ store, clock: first.clock, random: cryptoRandom, log: first.log, targets: { queues: first.queue } });
    second.start();
    await first.log.append(call(6, 'CreateUser'));
    await second.idle();
    expect(first.queue.messages).toHaveLength(6);
    const ids = new Set(first.queue.messages.map((m) => (JSON.parse(m.body) as { detail: { eventID: string } }).detail.eventID));
    expect(ids.size).toBe(6);
    expect(first.cursors.get('bus')).toBe(5);
    await second.stop();
  });

  it('retries a failing target with backoff, then drops the event after its retry policy', async () => {
    const { log, queue, clock, engine, store } = setup();
    engine.putRule(scope, { name: 'r', eventPattern: '{"source":["aws.iam"]}' });
    engine.putTargets(scope, undefined, 'r', [{ Id: 'q', Arn: QUEUE, RetryPolicy: { MaximumRetryAttempts: 2 } }]);
    engine.start();
    queue.failures = 1;
    await log.append(call(1, 'CreateUser'));
    await engine.idle();
    expect(queue.messages).toHaveLength(0);
    clock.advance(10);
    await engine.tick();
    expect(queue.messages).toHaveLength(1);

    queue.failures = 10;
    await log.append(call(2, 'CreateUser'));
    await engine.idle();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await engine.tick();
    }
    expect(queue.messages).toHaveLength(1);
    expect(store.outboxSize()).toBe(0);
  });

  it('sends dropped events to the dead-letter queue', async () => {
    const { log, queue, engine } = setup();
    engine.putRule(scope, { name: 'r', eventPattern: '{"source":["aws.iam"]}' });
    const dlq = `arn:aws:sqs:us-east-1:${ACCOUNT}:dlq`;
    engine.putTargets(scope, undefined, 'r', [{ Id: 'bad', Arn: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/x`, DeadLetterConfig: { Arn: dlq } }]);
    engine.start();
    await log.append(call(1, 'CreateUser'));
    await engine.idle();
    expect(queue.messages.map((m) => m.arn)).toEqual([dlq]);
  });

  it('renders input transformers and input paths into the target input', async () => {
    const { log, queue, engine } = setup();
    engine.putRule(scope, { name: 'r', eventPattern: '{"detail":{"eventName":["CreateUser"]}}' });
    engine.putTargets(scope, undefined, 'r', [
      {
        Id: 't',
        Arn: QUEUE,
        InputTransformer: {
          InputPathsMap: { user: '$.detail.userIdentity.userName', op: '$.detail.eventName', ip: '$.detail.sourceIPAddress' },
          InputTemplate: '{"who": <user>, "text": "<user> called <op> from <ip>", "rule": <aws.events.rule-name>}',
        },
      },
      { Id: 'p', Arn: QUEUE, InputPath: '$.detail.requestParameters' },
    ]);
    engine.start();
    await log.append(call(1, 'CreateUser'));
    await engine.idle();
    expect(queue.messages.map((m) => m.body).sort()).toEqual([
      '{"userName":"user-1"}',
      '{"who": "alice", "text": "alice called CreateUser from 10.0.0.7", "rule": "r"}',
    ]);
  });

  it('data events reach the bus only when accepted (a trail logs them)', async () => {
    let accept = false;
    const { log, queue, engine } = setup({ acceptDataEvent: () => accept });
    engine.putRule(scope, { name: 'r', eventPattern: '{"source":["aws.s3"]}' });
    engine.putTargets(scope, undefined, 'r', [{ Id: 'q', Arn: QUEUE }]);
    engine.start();
    await log.append(call(1, 'PutObject', { source: 's3.amazonaws.com', category: 'Data' }));
    await engine.idle();
    accept = true;
    await log.append(call(2, 'PutObject', { source: 's3.amazonaws.com', category: 'Data' }));
    await engine.idle();
    expect(queue.messages).toHaveLength(1);
  });
});

describe('the rules API', () => {
  it('validates rules and targets the way EventBridge does', () => {
    const { engine } = setup();
    expect(() => engine.putRule(scope, { name: 'x' })).toThrow('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    expect(() => engine.putRule(scope, { name: 'x', eventPattern: '{"source":"aws.iam"}' })).toThrow(/^Event pattern is not valid. Reason: "source" must be an object or an array/);
    expect(() => engine.putRule(scope, { name: 'x', scheduleExpression: 'rate(1 minutes)' })).toThrow('Parameter ScheduleExpression is not valid.');
    expect(() => engine.describeRule(scope, undefined, 'none')).toThrow('Rule none does not exist on EventBus default.');
    engine.putRule(scope, { name: 'x', eventPattern: '{"source":["a"]}' });
    engine.putTargets(scope, undefined, 'x', [{ Id: 'q', Arn: QUEUE }]);
    expect(() => engine.deleteRule(scope, undefined, 'x')).toThrow("Rule can't be deleted since it has targets.");
    expect(() => engine.putTargets(scope, undefined, 'x', [1, 2, 3, 4, 5].map((i) => ({ Id: `t${i}`, Arn: QUEUE })))).toThrow(/maximum number allowed/);
    engine.removeTargets(scope, undefined, 'x', ['q']);
    engine.deleteRule(scope, undefined, 'x');
    engine.deleteRule(scope, undefined, 'x');
    expect(engine.listRules(scope, undefined, undefined).items).toEqual([]);
  });

  it('pages ListRules by name prefix', () => {
    const { engine } = setup();
    for (const n of ['a1', 'a2', 'a3', 'b1']) engine.putRule(scope, { name: n, eventPattern: '{"source":["x"]}' });
    const first = engine.listRules(scope, undefined, 'a', 2);
    expect(first.items.map((r) => r.name)).toEqual(['a1', 'a2']);
    const second = engine.listRules(scope, undefined, 'a', 2, first.nextToken);
    expect(second.items.map((r) => r.name)).toEqual(['a3']);
    expect(second.nextToken).toBeUndefined();
  });

  it('PutEvents reports each bad entry and delivers the good ones', async () => {
    const { queue, engine } = setup();
    engine.putRule(scope, { name: 'orders', eventPattern: '{"source":["com.shop"],"detail":{"total":[{"numeric":[">",100]}]}}' });
    engine.putTargets(scope, undefined, 'orders', [{ Id: 'q', Arn: QUEUE }]);
    const results = engine.putEvents(scope, [
      { Source: 'com.shop', DetailType: 'Order', Detail: '{"total": 250}', Resources: ['arn:order/1'] },
      { Source: 'com.shop', DetailType: 'Order', Detail: '{"total": 5}' },
      { DetailType: 'Order', Detail: '{}' },
      { Source: 'com.shop', DetailType: 'Order', Detail: '[1]' },
      { Source: 'aws.ec2', DetailType: 'Order', Detail: '{}' },
      { Source: 'com.shop', DetailType: 'Order', Detail: '{}', EventBusName: 'nope' },
    ]);
    expect(results[0]).toHaveProperty('EventId');
    expect(results[1]).toHaveProperty('EventId');
    expect(results.slice(2)).toEqual([
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus nope does not exist.' },
    ]);
    await engine.idle();
    expect(queue.messages).toHaveLength(1);
    expect(JSON.parse(queue.messages[0]?.body ?? '{}')).toMatchObject({ source: 'com.shop', 'detail-type': 'Order', resources: ['arn:order/1'], detail: { total: 250 } });
  });
});

describe('schedules', () => {
  it('a rate rule fires on the manual clock, once per period, and not while disabled', async () => {
    const { clock, queue, engine } = setup();
    engine.putRule(scope, { name: 'tick', scheduleExpression: 'rate(5 minutes)' });
    engine.putTargets(scope, undefined, 'tick', [{ Id: 'q', Arn: QUEUE }]);
    expect(engine.fireSchedules()).toBe(0);
    clock.advance(5 * 60_000);
    expect(engine.fireSchedules()).toBe(1);
    clock.advance(15 * 60_000);
    expect(engine.fireSchedules()).toBe(3);
    await engine.idle();
    const event = JSON.parse(queue.messages[0]?.body ?? '{}') as Record<string, unknown>;
    expect(event).toMatchObject({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {}, resources: [`arn:aws:events:us-east-1:${ACCOUNT}:rule/tick`] });
    expect(event.time).toBe('2026-01-01T00:05:00Z');
    engine.setRuleState(scope, undefined, 'tick', 'DISABLED');
    clock.advance(60 * 60_000);
    expect(engine.fireSchedules()).toBe(0);
  });

  it('parses cron and rate expressions and finds the next time', () => {
    const at = (s: string) => Date.parse(s);
    const next = (expr: string, after: string) => {
      const s = parseSchedule(expr);
      if (!s) throw new Error(`bad ${expr}`);
      return new Date(nextFireTime(s, at(after)) ?? 0).toISOString();
    };
    expect(next('cron(0 12 * * ? *)', '2026-01-01T12:00:00Z')).toBe('2026-01-02T12:00:00.000Z');
    expect(next('cron(15 10 ? * MON-FRI *)', '2026-01-02T11:00:00Z')).toBe('2026-01-05T10:15:00.000Z');
    expect(next('cron(0/15 * * * ? *)', '2026-01-01T00:07:00Z')).toBe('2026-01-01T00:15:00.000Z');
    expect(next('cron(0 8 L * ? *)', '2026-02-01T00:00:00Z')).toBe('2026-02-28T08:00:00.000Z');
    expect(next('cron(0 9 ? * 2#1 *)', '2026-01-01T00:00:00Z')).toBe('2026-01-05T09:00:00.000Z');
    expect(next('rate(1 day)', '2026-01-01T00:00:00Z')).toBe('2026-01-02T00:00:00.000Z');
    for (const bad of ['rate(0 minutes)', 'rate(2 hour)', 'rate(1 week)', 'cron(0 12 * * * *)', 'cron(0 12 * *)', 'cron(61 * * * ? *)', 'every 5 minutes']) {
      expect(parseSchedule(bad), bad).toBeUndefined();
    }
  });
});

describe('input templates', () => {
  const event = { id: 'x', detail: { instance: 'i-1', state: 'RUNNING', n: 5, obj: { a: 'b' } } };
  const ctx = { ruleArn: 'arn:rule', ruleName: 'r', ingestionTime: '2026-01-01T00:00:00.000Z' };
  const paths = { instance: '$.detail.instance', state: '$.detail.state', n: '$.detail.n', obj: '$.detail.obj', missing: '$.detail.none' };
  it.each([
    ['"instance <instance> is in state <state>"', '"instance i-1 is in state RUNNING"'],
    ['<instance> is in state <state>', 'i-1 is in state RUNNING'],
    ['{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}', '{"instance" : "i-1", "state": [ 9, "RUNNING", true ], "Transformed" : "Yes"}'],
    ['{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<state>\\""}', '{"myInstance": "i-1","myStatus": "i-1 is in state \\"RUNNING\\""}'],
    ['{"n": <n>, "obj": <obj>, "text": "obj <obj>", "gone": <missing>, "also": "<missing>"}', '{"n": 5, "obj": {"a":"b"}, "text": "obj {a:b}", "gone": null, "also": ""}'],
    ['{"rule": <aws.events.rule-arn>, "event": <aws.events.event.json>}', '{"rule": "arn:rule", "event": {"id":"x","detail":{"instance":"i-1","state":"RUNNING","n":5,"obj":{"a":"b"}}}}'],
    ['<html>not a variable</html>', '<html>not a variable</html>'],
  ])('%s', (template, expected) => {
    expect(renderTemplate(template, paths, event, ctx)).toBe(expected);
  });
});
