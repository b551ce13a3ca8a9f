/**
 * S3 event notification configuration: Put/GetBucketNotificationConfiguration with topic,
 * queue and Lambda destinations, their event types and key-name filters, and EventBridge.
 * A configuration is stored only once every destination is validated (it exists and its
 * policy lets S3 send for this bucket); each destination then gets `s3:TestEvent`.
 * Delivery is objectstore/notifications/notifier.ts's, from the store's outbox.
 */
import { createHash } from 'node:crypto';
import {
  NOTIFICATION_CONFIG,
  type DestinationKind,
  type NotificationDestination,
  type StoredNotificationConfiguration,
} from '../../objectstore/notifications/config.js';
import type { BucketNotifier } from '../../objectstore/notifications/notifier.js';
import { s3Errors } from '../../objectstore/errors.js';
import { AwsError } from '../../platform/errors.js';
import type { OperationSpec } from '../service.js';
import { bucketResources, optRecord, optStr, s3Spec, str, type Input, type Output, type S3Deps } from './common.js';

/** What the notification operations need of the notifier: destination checks and test events. */
export type NotificationValidator = Pick<BucketNotifier, 'unvalidated' | 'sendTestEvents'>;

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

/** S3's refusal of destinations it cannot validate: each ARN with its reason, numbered. */
function unableToValidate(refused: { arn: string; reason: string }[]): AwsError {
  const extra: Record<string, string> = {};
  refused.forEach((r, i) => {
    extra[`ArgumentName${i + 1}`] = r.arn;
    extra[`ArgumentValue${i + 1}`] = r.reason;
  });
  return new AwsError({ code: 'InvalidArgument', message: 'Unable to validate the following destination configurations', status: 400, extra });
}

/** The notification configuration operations. */
export function notificationOperations(deps: S3Deps & { notifications?: NotificationValidator }): Record<string, OperationSpec> {
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
      handle: async (input, ctx) => {
        const bucket = requireBucket(input);
        const owner = store.bucketInfo(bucket)?.owner ?? ctx.accountId;
        const stored = parseNotificationConfiguration(optRecord(input, 'NotificationConfiguration') ?? {});
        const refused = deps.notifications
          ? await deps.notifications.unvalidated(stored, bucket, owner)
          : stored.destinations.map((d) => ({ arn: d.arn, reason: 'Event notifications are not delivered by this server' }));
        if (refused.length > 0) throw unableToValidate(refused);
        const empty = stored.destinations.length === 0 && !stored.eventBridge;
        await store.putBucketConfig(bucket, NOTIFICATION_CONFIG, empty ? undefined : JSON.stringify(stored));
        await deps.notifications?.sendTestEvents(stored, bucket, owner, ctx.now, ctx.requestId);
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
