/**
 * CloudTrail's LookupEvents operation: reads the request's members, asks the `History`
 * engine for one page in the caller's account and Region, and shapes it as the model's
 * `LookupEventsResponse`. Also how the call itself is recorded: `requestParameters` in the
 * form CloudTrail writes for LookupEvents (member names camelCased, dates in the
 * `Oct 26, 2025, 11:50:52 PM` style), `responseElements` null.
 */
import type { History, HistoryEvent, LookupAttribute } from '../../history/history.js';
import { errors } from '../../platform/errors.js';
import { formatJavaDate } from '../../wire/record-shape.js';
import type { OperationSpec } from '../service.js';

type Input = Record<string, unknown>;

function isRecord(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The JSON codec decodes timestamps to Date; epoch milliseconds are accepted for callers
// that build the input themselves.
function time(input: Input, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  throw errors.validation(`1 validation error detected: Value at '${name.charAt(0).toLowerCase() + name.slice(1)}' failed to satisfy constraint: Member must be a timestamp`);
}

function attributes(input: Input): LookupAttribute[] | undefined {
  const value = input.LookupAttributes;
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw errors.validation("1 validation error detected: Value at 'lookupAttributes' failed to satisfy constraint: Member must be a list");
  return value.filter(isRecord).map((a) => ({
    key: typeof a.AttributeKey === 'string' ? a.AttributeKey : '',
    value: typeof a.AttributeValue === 'string' ? a.AttributeValue : '',
  }));
}

function str(input: Input, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

/** An event as the model's `Event`. */
function eventOutput(e: HistoryEvent): Record<string, unknown> {
  return {
    EventId: e.eventId,
    EventName: e.eventName,
    ReadOnly: e.readOnly ? 'true' : 'false',
    AccessKeyId: e.accessKeyId,
    EventTime: new Date(e.eventTime),
    EventSource: e.eventSource,
    Username: e.username,
    Resources: e.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.name })),
    CloudTrailEvent: e.cloudTrailEvent,
  };
}

/**
 * How CloudTrail records a LookupEvents call's parameters. CloudTrail keeps the request's
 * own member order; the decoded input no longer has it, so this writes the order the AWS
 * SDKs and CLI send (the model's): lookupAttributes, startTime, endTime, eventCategory,
 * maxResults, nextToken.
 */
export function lookupEventsRequestParameters(input: Input): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const attrs = input.LookupAttributes;
  if (Array.isArray(attrs)) {
    out.lookupAttributes = attrs.filter(isRecord).map((a) => ({ attributeKey: a.AttributeKey, attributeValue: a.AttributeValue }));
  }
  for (const name of ['StartTime', 'EndTime'] as const) {
    const value = input[name];
    const date = value instanceof Date ? value : typeof value === 'number' ? new Date(value) : undefined;
    if (date && Number.isFinite(date.getTime())) out[name === 'StartTime' ? 'startTime' : 'endTime'] = formatJavaDate(date);
  }
  if (input.EventCategory !== undefined) out.eventCategory = input.EventCategory;
  if (input.MaxResults !== undefined) out.maxResults = input.MaxResults;
  if (input.NextToken !== undefined) out.nextToken = input.NextToken;
  return out;
}

/**
 * The LookupEvents operation, for the CloudTrail service's operation table.
 *
 * @example
 * operations: { ...trailOperations(trails), LookupEvents: lookupEventsOperation({ history }) }
 */
export function lookupEventsOperation(deps: { history: Pick<History, 'lookup'> }): OperationSpec {
  return {
    readOnly: true,
    category: 'Management',
    handle: async (input, ctx) => {
      const attrs = attributes(input);
      const startTime = time(input, 'StartTime');
      const endTime = time(input, 'EndTime');
      const maxResults = input.MaxResults;
      const nextToken = str(input, 'NextToken');
      const eventCategory = str(input, 'EventCategory');
      const page = deps.history.lookup(
        {
          accountId: ctx.accountId,
          region: ctx.region,
          ...(attrs !== undefined ? { attributes: attrs } : {}),
          ...(startTime !== undefined ? { startTime } : {}),
          ...(endTime !== undefined ? { endTime } : {}),
          ...(typeof maxResults === 'number' ? { maxResults } : {}),
          ...(nextToken !== undefined ? { nextToken } : {}),
          ...(eventCategory !== undefined ? { eventCategory } : {}),
        },
        ctx.now,
      );
      return {
        Events: page.events.map(eventOutput),
        ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
      };
    },
    recordRequest: lookupEventsRequestParameters,
    recordResponse: () => null,
  };
}
