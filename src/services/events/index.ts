/**
 * The EventBridge API (AWS JSON 1.1, `AWSEvents`): event buses, rules (event patterns and
 * schedules), targets, PutEvents, TestEventPattern, connections and API destinations,
 * served by the event bus engine (src/bus). Control-plane calls are management events;
 * PutEvents is a data event on `AWS::Events::EventBus`, as CloudTrail logs it.
 */
import type { EventBusEngine, PutEventsEntry } from '../../bus/engine.js';
import { checkPattern } from '../../bus/engine.js';
import { eventsErrors } from '../../bus/errors.js';
import { matchesPattern } from '../../bus/matcher.js';
import type { ApiDestinationRecord, BusRecord, ConnectionRecord, RuleRecord, RuleState, Scope, TargetSpec } from '../../bus/store.js';
import { loadModel } from '../../wire/model.js';
import type { CallContext, OperationSpec, RecordResource, ServiceDefinition } from '../service.js';

/** The engine the EventBridge service calls. */
export interface EventsServiceDeps {
  bus: EventBusEngine;
}

const scopeOf = (ctx: CallContext): Scope => ({ accountId: ctx.accountId, region: ctx.region });

function str(input: Record<string, unknown>, name: string): string {
  const v = input[name];
  if (typeof v !== 'string') throw eventsErrors.validation(`1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return v;
}
const optStr = (input: Record<string, unknown>, name: string): string | undefined => (typeof input[name] === 'string' ? input[name] : undefined);
const optInt = (input: Record<string, unknown>, name: string): number | undefined => (typeof input[name] === 'number' ? input[name] : undefined);

function ruleShape(r: RuleRecord): Record<string, unknown> {
  return {
    Name: r.name,
    Arn: r.arn,
    ...(r.eventPattern !== undefined ? { EventPattern: r.eventPattern } : {}),
    State: r.state,
    ...(r.description !== undefined ? { Description: r.description } : {}),
    ...(r.scheduleExpression !== undefined ? { ScheduleExpression: r.scheduleExpression } : {}),
    ...(r.roleArn !== undefined ? { RoleArn: r.roleArn } : {}),
    ...(r.managedBy !== undefined ? { ManagedBy: r.managedBy } : {}),
    EventBusName: r.bus,
  };
}

function busShape(b: BusRecord): Record<string, unknown> {
  return {
    Name: b.name,
    Arn: b.arn,
    ...(b.description !== undefined ? { Description: b.description } : {}),
    CreationTime: new Date(b.createdAt),
    LastModifiedTime: new Date(b.modifiedAt),
  };
}

function connectionShape(c: ConnectionRecord): Record<string, unknown> {
  return {
    ConnectionArn: c.arn,
    Name: c.name,
    ConnectionState: 'AUTHORIZED',
    AuthorizationType: c.authorizationType,
    CreationTime: new Date(c.createdAt),
    LastModifiedTime: new Date(c.modifiedAt),
    LastAuthorizedTime: new Date(c.modifiedAt),
  };
}

function destinationShape(d: ApiDestinationRecord): Record<string, unknown> {
  return {
    ApiDestinationArn: d.arn,
    Name: d.name,
    ApiDestinationState: 'ACTIVE',
    ConnectionArn: d.connectionArn,
    InvocationEndpoint: d.invocationEndpoint,
    HttpMethod: d.httpMethod,
    ...(d.rateLimitPerSecond !== undefined ? { InvocationRateLimitPerSecond: d.rateLimitPerSecond } : {}),
    CreationTime: new Date(d.createdAt),
    LastModifiedTime: new Date(d.modifiedAt),
  };
}

/** Connection auth parameters as DescribeConnection shows them: never the secrets. */
function authResponse(c: ConnectionRecord): Record<string, unknown> {
  const p = c.authParameters;
  const out: Record<string, unknown> = {};
  const apiKey = p.ApiKeyAuthParameters as { ApiKeyName?: string } | undefined;
  if (apiKey) out.ApiKeyAuthParameters = { ApiKeyName: apiKey.ApiKeyName };
  const basic = p.BasicAuthParameters as { Username?: string } | undefined;
  if (basic) out.BasicAuthParameters = { Username: basic.Username };
  if (p.InvocationHttpParameters) out.InvocationHttpParameters = p.InvocationHttpParameters;
  return out;
}

const REQUIRED_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'];

/**
 * The EventBridge service definition.
 *
 * @example
 * const events = eventsService({ bus: engine });
 */
export function eventsService(deps: EventsServiceDeps): ServiceDefinition {
  const bus = deps.bus;
  const ruleResource = (input: Record<string, unknown>, ctx: CallContext, nameMember = 'Name'): RecordResource[] => {
    const name = optStr(input, nameMember);
    if (name === undefined) return [];
    return [{ ARN: bus.ruleArn(scopeOf(ctx), bus.busName(optStr(input, 'EventBusName')), name), accountId: ctx.accountId, type: 'AWS::Events::Rule' }];
  };
  const busResource = (name: string, ctx: CallContext): RecordResource => ({
    ARN: `arn:aws:events:${ctx.region}:${ctx.accountId}:event-bus/${bus.busName(name)}`,
    accountId: ctx.accountId,
    type: 'AWS::Events::EventBus',
  });
  const write = { readOnly: false, category: 'Management' } as const;
  const read = { readOnly: true, category: 'Management' } as const;

  const operations: Record<string, OperationSpec> = {
    PutRule: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx),
      handle: async (input, ctx) => {
        const state = optStr(input, 'State') as RuleState | undefined;
        const arn = bus.putRule(scopeOf(ctx), {
          name: str(input, 'Name'),
          ...(optStr(input, 'EventBusName') !== undefined ? { bus: optStr(input, 'EventBusName') } : {}),
          ...(optStr(input, 'EventPattern') !== undefined ? { eventPattern: optStr(input, 'EventPattern') } : {}),
          ...(optStr(input, 'ScheduleExpression') !== undefined ? { scheduleExpression: optStr(input, 'ScheduleExpression') } : {}),
          ...(state !== undefined ? { state } : {}),
          ...(optStr(input, 'Description') !== undefined ? { description: optStr(input, 'Description') } : {}),
          ...(optStr(input, 'RoleArn') !== undefined ? { roleArn: optStr(input, 'RoleArn') } : {}),
        });
        return { RuleArn: arn };
      },
    },
    DescribeRule: {
      ...read,
      resources: (input, ctx) => ruleResource(input, ctx),
      handle: async (input, ctx) => {
        const rule = bus.describeRule(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Name'));
        return { ...ruleShape(rule), CreatedBy: rule.accountId };
      },
    },
    ListRules: {
      ...read,
      handle: async (input, ctx) => {
        const p = bus.listRules(scopeOf(ctx), optStr(input, 'EventBusName'), optStr(input, 'NamePrefix'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { Rules: p.items.map(ruleShape), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    DeleteRule: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx),
      handle: async (input, ctx) => {
        bus.deleteRule(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Name'), input.Force === true);
        return {};
      },
    },
    EnableRule: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx),
      handle: async (input, ctx) => {
        bus.setRuleState(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Name'), 'ENABLED');
        return {};
      },
    },
    DisableRule: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx),
      handle: async (input, ctx) => {
        bus.setRuleState(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Name'), 'DISABLED');
        return {};
      },
    },
    PutTargets: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx, 'Rule'),
      handle: async (input, ctx) => {
        const targets = (input.Targets as TargetSpec[] | undefined) ?? [];
        const failed = bus.putTargets(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Rule'), targets);
        return { FailedEntryCount: failed.length, FailedEntries: failed };
      },
    },
    RemoveTargets: {
      ...write,
      resources: (input, ctx) => ruleResource(input, ctx, 'Rule'),
      handle: async (input, ctx) => {
        bus.removeTargets(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Rule'), (input.Ids as string[] | undefined) ?? []);
        return { FailedEntryCount: 0, FailedEntries: [] };
      },
    },
    ListTargetsByRule: {
      ...read,
      resources: (input, ctx) => ruleResource(input, ctx, 'Rule'),
      handle: async (input, ctx) => {
        const p = bus.listTargets(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'Rule'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { Targets: p.items, ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    ListRuleNamesByTarget: {
      ...read,
      handle: async (input, ctx) => {
        const p = bus.listRuleNamesByTarget(scopeOf(ctx), optStr(input, 'EventBusName'), str(input, 'TargetArn'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { RuleNames: p.items, ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    PutEvents: {
      readOnly: false,
      category: 'Data',
      resources: (input, ctx) => {
        const names = new Set(((input.Entries as PutEventsEntry[] | undefined) ?? []).map((e) => e.EventBusName ?? 'default'));
        return [...names].map((n) => busResource(n, ctx));
      },
      handle: async (input, ctx) => {
        const results = bus.putEvents(scopeOf(ctx), (input.Entries as PutEventsEntry[] | undefined) ?? []);
        return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
      },
    },
    TestEventPattern: {
      ...read,
      handle: async (input) => {
        const pattern = checkPattern(str(input, 'EventPattern'));
        let event: unknown;
        try {
          event = JSON.parse(str(input, 'Event'));
        } catch {
          throw eventsErrors.validation('Parameter Event is not valid.');
        }
        if (event === null || typeof event !== 'object' || Array.isArray(event) || REQUIRED_EVENT_FIELDS.some((f) => !(f in event))) {
          throw eventsErrors.validation('Parameter Event is not valid.');
        }
        return { Result: matchesPattern(pattern, event) };
      },
    },
    DescribeEventBus: {
      ...read,
      resources: (input, ctx) => [busResource(optStr(input, 'Name') ?? 'default', ctx)],
      handle: async (input, ctx) => busShape(bus.getBus(scopeOf(ctx), optStr(input, 'Name'))),
    },
    ListEventBuses: {
      ...read,
      handle: async (input, ctx) => {
        const p = bus.listBuses(scopeOf(ctx), optStr(input, 'NamePrefix'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { EventBuses: p.items.map(busShape), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    CreateEventBus: {
      ...write,
      resources: (input, ctx) => [busResource(str(input, 'Name'), ctx)],
      handle: async (input, ctx) => {
        const created = bus.createBus(scopeOf(ctx), str(input, 'Name'), optStr(input, 'Description'));
        return { EventBusArn: created.arn, ...(created.description !== undefined ? { Description: created.description } : {}) };
      },
    },
    DeleteEventBus: {
      ...write,
      resources: (input, ctx) => [busResource(str(input, 'Name'), ctx)],
      handle: async (input, ctx) => {
        bus.deleteBus(scopeOf(ctx), str(input, 'Name'));
        return {};
      },
    },
    CreateConnection: {
      ...write,
      handle: async (input, ctx) => {
        const c = bus.createConnection(scopeOf(ctx), {
          name: str(input, 'Name'),
          authorizationType: str(input, 'AuthorizationType'),
          authParameters: (input.AuthParameters as Record<string, unknown> | undefined) ?? {},
          ...(optStr(input, 'Description') !== undefined ? { description: optStr(input, 'Description') } : {}),
        });
        return { ConnectionArn: c.arn, ConnectionState: 'AUTHORIZED', CreationTime: new Date(c.createdAt), LastModifiedTime: new Date(c.modifiedAt) };
      },
      // The connection's credentials never reach a record.
      recordRequest: (input) => ({ name: input.Name, authorizationType: input.AuthorizationType, description: input.Description }),
    },
    DescribeConnection: {
      ...read,
      handle: async (input, ctx) => {
        const c = bus.getConnection(scopeOf(ctx), str(input, 'Name'));
        return { ...connectionShape(c), AuthParameters: authResponse(c), ...(c.description !== undefined ? { Description: c.description } : {}) };
      },
    },
    ListConnections: {
      ...read,
      handle: async (input, ctx) => {
        const p = bus.listConnections(scopeOf(ctx), optStr(input, 'NamePrefix'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { Connections: p.items.map(connectionShape), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    DeleteConnection: {
      ...write,
      handle: async (input, ctx) => {
        const c = bus.deleteConnection(scopeOf(ctx), str(input, 'Name'));
        return { ConnectionArn: c.arn, ConnectionState: 'DELETING', CreationTime: new Date(c.createdAt), LastModifiedTime: new Date(c.modifiedAt) };
      },
    },
    CreateApiDestination: {
      ...write,
      handle: async (input, ctx) => {
        const rate = optInt(input, 'InvocationRateLimitPerSecond');
        const d = bus.createApiDestination(scopeOf(ctx), {
          name: str(input, 'Name'),
          connectionArn: str(input, 'ConnectionArn'),
          invocationEndpoint: str(input, 'InvocationEndpoint'),
          httpMethod: str(input, 'HttpMethod'),
          ...(rate !== undefined ? { rateLimitPerSecond: rate } : {}),
          ...(optStr(input, 'Description') !== undefined ? { description: optStr(input, 'Description') } : {}),
        });
        return { ApiDestinationArn: d.arn, ApiDestinationState: 'ACTIVE', CreationTime: new Date(d.createdAt), LastModifiedTime: new Date(d.modifiedAt) };
      },
    },
    DescribeApiDestination: {
      ...read,
      handle: async (input, ctx) => {
        const d = bus.getApiDestination(scopeOf(ctx), str(input, 'Name'));
        return { ...destinationShape(d), ...(d.description !== undefined ? { Description: d.description } : {}) };
      },
    },
    ListApiDestinations: {
      ...read,
      handle: async (input, ctx) => {
        const p = bus.listApiDestinations(scopeOf(ctx), optStr(input, 'NamePrefix'), optInt(input, 'Limit'), optStr(input, 'NextToken'));
        return { ApiDestinations: p.items.map(destinationShape), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
      },
    },
    DeleteApiDestination: {
      ...write,
      handle: async (input, ctx) => {
        bus.deleteApiDestination(scopeOf(ctx), str(input, 'Name'));
        return {};
      },
    },
  };

  return {
    modelName: 'events',
    signingName: 'events',
    actionPrefix: 'events',
    eventSource: 'events.amazonaws.com',
    model: loadModel('events'),
    operations,
  };
}
