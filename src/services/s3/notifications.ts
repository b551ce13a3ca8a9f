/**
 * S3 event notification configuration: Put/GetBucketNotificationConfiguration with topic,
 * queue and Lambda destinations, their event types and key-name filters, validated and
 * stored as the bucket's `notification` configuration.
 *
 * Delivery is not here yet: when SNS and SQS exist, a {@link NotificationSink} is given the
 * destinations {@link matchingDestinations} picks for each committed change (the store's
 * `afterCommit` hook), and nothing else needs to change.
 */
import { createHash } from 'node:crypto';
import { s3Errors } from '../../objectstore/errors.js';
import type { ObjectEvent } from '../../objectstore/store.js';
import type { OperationSpec } from '../service.js';
import { bucketResources, optRecord, optStr, s3Spec, str, type Input, type Output, type S3Deps } from './common.js';

/** The bucket configuration document holding the notification configuration. */
export const NOTIFICATION_CONFIG = 'notification';

export type DestinationKind = 'Topic' | 'Queue' | 'LambdaFunction';

/** One destination as stored. */
export interface NotificationDestination {
  kind: DestinationKind;
  id: string;
  arn: string;
  events: string[];
  filterRules: { name: 'prefix' | 'suffix'; value: string }[];
}

/** A bucket's notification configuration as stored. */
export interface StoredNotificationConfiguration {
  destinations: NotificationDestination[];
  eventBridge: boolean;
}

/** Where delivery will plug in: given each destination a committed change matches. */
export interface NotificationSink {
  deliver(destination: NotificationDestination, event: ObjectEvent): void;
}

const EVENTS = new Set([
  's3:ReducedRedundancyLostObject',
  's3:ObjectCreated:*',
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Post',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*',
  's3:ObjectRemoved:Delete',
  's3:ObjectRemoved:DeleteMarkerCreated',
  's3:ObjectRestore:*',
  's3:ObjectRestore:Post',
  's3:ObjectRestore:Completed',
  's3:ObjectRestore:Delete',
  's3:Replication:*',
  's3:Replication:OperationFailedReplication',
  's3:Replication:OperationNotTracked',
  's3:Replication:OperationMissedThreshold',
  's3:Replication:OperationReplicatedAfterThreshold',
  's3:LifecycleTransition',
  's3:IntelligentTiering',
  's3:ObjectAcl:Put',
  's3:LifecycleExpiration:*',
  's3:LifecycleExpiration:Delete',
  's3:LifecycleExpiration:DeleteMarkerCreated',
  's3:ObjectTagging:*',
  's3:ObjectTagging:Put',
  's3:ObjectTagging:Delete',
]);

const KINDS: { kind: DestinationKind; list: string; arnMember: string; service: string }[] = [
  { kind: 'Topic', list: 'TopicConfigurations', arnMember: 'TopicArn', service: 'sns' },
  { kind: 'Queue', list: 'QueueConfigurations', arnMember: 'QueueArn', service: 'sqs' },
  { kind: 'LambdaFunction', list: 'LambdaFunctionConfigurations', arnMember: 'LambdaFunctionArn', service: 'lambda' },
];

const ARN = /^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$/;

const invalid = (message: string, name: string, value: string): Error => s3Errors.invalidArgument(message, name, value);

/** A stable id for a destination the caller left unnamed (S3 makes one up; Cairn derives it). */
function derivedId(kind: string, arn: string, index: number): string {
  return Buffer.from(createHash('sha256').update(`${kind}\n${arn}\n${index}`).digest('hex').slice(0, 36)).toString('base64');
}

function filterRulesOf(config: Record<string, unknown>): NotificationDestination['filterRules'] {
  const rules = optRecord(optRecord(config, 'Filter') ?? {}, 'Key')?.FilterRules;
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw s3Errors.malformedXml();
  const out: NotificationDestination['filterRules'] = [];
  for (const r of rules) {
    const rule = (r ?? {}) as Record<string, unknown>;
    const name = (optStr(rule, 'Name') ?? '').toLowerCase();
    const value = optStr(rule, 'Value') ?? '';
    if (name !== 'prefix' && name !== 'suffix') throw invalid('filter rule name must be either prefix or suffix', 'FilterRule', name);
    if (out.some((o) => o.name === name)) throw invalid(`Cannot specify more than one ${name} rule in a filter.`, 'FilterRule', name);
    out.push({ name, value });
  }
  return out;
}

/** Validates a NotificationConfiguration document and puts it in stored form. */
export function parseNotificationConfiguration(config: Record<string, unknown>): StoredNotificationConfiguration {
  const destinations: NotificationDestination[] = [];
  const ids = new Set<string>();
  for (const { kind, list, arnMember, service } of KINDS) {
    const items = config[list];
    if (items === undefined) continue;
    if (!Array.isArray(items)) throw s3Errors.malformedXml();
    items.forEach((item, index) => {
      const c = (item ?? {}) as Record<string, unknown>;
      const arn = str(c, arnMember);
      const m = ARN.exec(arn);
      if (!m || m[1] !== service) throw invalid('Unable to validate the following destination configurations', arn, 'The destination ARN is not valid.');
      const events = c.Events;
      if (!Array.isArray(events) || events.length === 0) throw s3Errors.malformedXml();
      for (const e of events) if (typeof e !== 'string' || !EVENTS.has(e)) throw invalid('The event is not supported for notifications', 'Event', String(e));
      const id = optStr(c, 'Id') ?? derivedId(kind, arn, index);
      if (ids.has(id)) throw invalid('Configuration Id must be unique', 'Id', id);
      ids.add(id);
      destinations.push({ kind, id, arn, events: events as string[], filterRules: filterRulesOf(c) });
    });
  }
  return { destinations, eventBridge: optRecord(config, 'EventBridgeConfiguration') !== undefined };
}

/** The stored configuration in the wire shape GetBucketNotificationConfiguration returns. */
export function notificationOutput(stored: StoredNotificationConfiguration): Output {
  const out: Output = {};
  for (const { kind, list, arnMember } of KINDS) {
    const mine = stored.destinations.filter((d) => d.kind === kind);
    if (mine.length === 0) continue;
    out[list] = mine.map((d) => ({
      Id: d.id,
      [arnMember]: d.arn,
      Events: d.events,
      ...(d.filterRules.length > 0 ? { Filter: { Key: { FilterRules: d.filterRules.map((r) => ({ Name: r.name, Value: r.value })) } } } : {}),
    }));
  }
  if (stored.eventBridge) out.EventBridgeConfiguration = {};
  return out;
}

/** The destinations a committed change is to be delivered to (event type and key filters). */
export function matchingDestinations(stored: StoredNotificationConfiguration, event: Pick<ObjectEvent, 'eventName' | 'key'>): NotificationDestination[] {
  const name = `s3:${event.eventName}`;
  const family = `${name.slice(0, name.lastIndexOf(':'))}:*`;
  return stored.destinations.filter(
    (d) =>
      d.events.some((e) => e === name || e === family) &&
      d.filterRules.every((r) => (r.name === 'prefix' ? event.key.startsWith(r.value) : event.key.endsWith(r.value))),
  );
}

/** The notification configuration operations. */
export function notificationOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const management = { category: 'Management' as const, ...bucketResources(deps) };
  const requireBucket = (input: Input): string => {
    const bucket = str(input, 'Bucket');
    if (!store.bucketInfo(bucket)) throw s3Errors.noSuchBucket(bucket);
    return bucket;
  };
  return {
    PutBucketNotificationConfiguration: s3Spec(deps, 'PutBucketNotificationConfiguration', {
      readOnly: false,
      action: 's3:PutBucketNotification',
      ...management,
      handle: async (input) => {
        const bucket = requireBucket(input);
        const stored = parseNotificationConfiguration(optRecord(input, 'NotificationConfiguration') ?? {});
        const empty = stored.destinations.length === 0 && !stored.eventBridge;
        await store.putBucketConfig(bucket, NOTIFICATION_CONFIG, empty ? undefined : JSON.stringify(stored));
        return {};
      },
    }),

    GetBucketNotificationConfiguration: s3Spec(deps, 'GetBucketNotificationConfiguration', {
      readOnly: true,
      action: 's3:GetBucketNotification',
      ...management,
      handle: async (input) => {
        const bucket = requireBucket(input);
        const text = await store.getBucketConfig(bucket, NOTIFICATION_CONFIG);
        return text === undefined ? {} : notificationOutput(JSON.parse(text) as StoredNotificationConfiguration);
      },
    }),
  };
}
