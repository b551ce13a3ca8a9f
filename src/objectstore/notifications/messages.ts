/**
 * S3 event notifications' formats: the change as kept in the outbox, the `Records[]`
 * message queues, topics and functions receive (event message structure 2.1, 2.3 for
 * lifecycle, ACL, tagging and restore events as S3 versions them), the `s3:TestEvent`, and
 * the event S3 puts on EventBridge (`source` `aws.s3`, `Object Created`...).
 */
import type { ObjectEvent, ObjectEventName } from '../store.js';
import { notificationKey, type DestinationKind } from './config.js';

/** A committed change as the outbox keeps it: what its notifications say, nothing more. */
export interface NotifiedChange {
  eventName: ObjectEventName;
  bucket: string;
  /** The bucket owner's account and the bucket's region. */
  owner: string;
  region: string;
  key: string;
  versionId?: string;
  size: number;
  etag?: string;
  time: number;
  sequencer: string;
  requestId?: string;
  principalId?: string;
  sourceIp?: string;
  /** The requester's account. */
  requester?: string;
  /** The storage class a transition moved the version to. */
  storageClass?: string;
}

/** One outbox entry: the change, and where it goes. */
export interface OutboxPayload {
  change: NotifiedChange;
  destinations: { kind: DestinationKind; id: string; arn: string }[];
  eventBridge: boolean;
}

/** What the outbox keeps of an event (no request headers, no keys). */
export function notifiedChange(event: ObjectEvent): NotifiedChange {
  const c = event.context;
  const lifecycle = c?.lifecycle === true || event.eventName === 'LifecycleTransition';
  return {
    eventName: event.eventName,
    bucket: event.bucket.name,
    owner: event.bucket.owner,
    region: event.bucket.region,
    key: event.key,
    ...(event.versionId !== undefined ? { versionId: event.versionId } : {}),
    size: event.size,
    ...(event.etag !== undefined && event.etag !== '' ? { etag: event.etag } : {}),
    time: event.time,
    sequencer: event.sequencer,
    ...(event.storageClass !== undefined ? { storageClass: event.storageClass } : {}),
    ...(c?.requestId !== undefined && !lifecycle ? { requestId: c.requestId } : {}),
    ...(lifecycle ? { principalId: S3_SERVICE, sourceIp: S3_SERVICE, requester: S3_SERVICE } : {}),
    ...(!lifecycle && c?.principalId !== undefined ? { principalId: c.principalId } : {}),
    ...(!lifecycle && c?.sourceIp !== undefined ? { sourceIp: c.sourceIp } : {}),
    ...(!lifecycle && c?.accountId !== undefined ? { requester: c.accountId } : {}),
  };
}

/** S3's service principal: who lifecycle changes are by, and who sends notifications. */
export const S3_SERVICE = 's3.amazonaws.com';

/** The subject of the SNS messages S3 publishes. */
export const SNS_SUBJECT = 'Amazon S3 Notification';

const VERSION_2_3 = /^(Lifecycle|ObjectAcl|ObjectTagging|ObjectRestore)/;

const isRemoval = (name: ObjectEventName): boolean => name.startsWith('ObjectRemoved:') || name.startsWith('LifecycleExpiration:');

/** The request id S3 names a change by: the request's, or (lifecycle) one derived from the sequencer. */
const requestIdOf = (c: NotifiedChange): string => c.requestId ?? c.sequencer;

/**
 * The `Records[]` message a queue, topic or function receives for one destination.
 *
 * @example
 * JSON.stringify(s3EventMessage(change, 'uploads')); // {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",...}]}
 */
export function s3EventMessage(c: NotifiedChange, configurationId: string): { Records: Record<string, unknown>[] } {
  const removal = isRemoval(c.eventName);
  return {
    Records: [
      {
        eventVersion: VERSION_2_3.test(c.eventName) ? '2.3' : '2.1',
        eventSource: 'aws:s3',
        awsRegion: c.region,
        eventTime: new Date(c.time).toISOString(),
        eventName: c.eventName,
        userIdentity: { principalId: c.principalId ?? c.owner },
        requestParameters: { sourceIPAddress: c.sourceIp ?? S3_SERVICE },
        responseElements: { 'x-amz-request-id': requestIdOf(c), 'x-amz-id-2': hostId(c) },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId,
          bucket: { name: c.bucket, ownerIdentity: { principalId: c.owner }, arn: `arn:aws:s3:::${c.bucket}` },
          object: {
            key: notificationKey(c.key),
            ...(removal ? {} : { size: c.size, ...(c.etag !== undefined ? { eTag: c.etag } : {}) }),
            ...(c.versionId !== undefined ? { versionId: c.versionId } : {}),
            sequencer: c.sequencer,
          },
        },
      },
    ],
  };
}

/** S3's `x-amz-id-2` stands for the host that served the request; Cairn has one, so a fixed derivation. */
function hostId(c: NotifiedChange): string {
  return Buffer.from(`cairn/${requestIdOf(c)}`).toString('base64');
}

/** The message S3 sends each destination when a notification configuration is put. */
export function testEventMessage(bucket: string, time: number, requestId: string): Record<string, string> {
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date(time).toISOString(),
    Bucket: bucket,
    RequestId: requestId,
    HostId: Buffer.from(`cairn/${requestId}`).toString('base64'),
  };
}

const CREATED_REASON: Partial<Record<ObjectEventName, string>> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Post': 'POST Object',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:CompleteMultipartUpload': 'CompleteMultipartUpload',
};

const DETAIL_TYPE: Record<ObjectEventName, string> = {
  'ObjectCreated:Put': 'Object Created',
  'ObjectCreated:Post': 'Object Created',
  'ObjectCreated:Copy': 'Object Created',
  'ObjectCreated:CompleteMultipartUpload': 'Object Created',
  'ObjectRemoved:Delete': 'Object Deleted',
  'ObjectRemoved:DeleteMarkerCreated': 'Object Deleted',
  'LifecycleExpiration:Delete': 'Object Deleted',
  'LifecycleExpiration:DeleteMarkerCreated': 'Object Deleted',
  LifecycleTransition: 'Object Storage Class Changed',
  'ObjectRestore:Post': 'Object Restore Initiated',
  'ObjectRestore:Completed': 'Object Restore Completed',
  'ObjectTagging:Put': 'Object Tags Added',
  'ObjectTagging:Delete': 'Object Tags Deleted',
  'ObjectAcl:Put': 'Object ACL Updated',
};

/** The event S3 puts on the bucket owner's default event bus (when EventBridge is on). */
export function eventBridgeEvent(c: NotifiedChange): { source: string; detailType: string; detail: Record<string, unknown>; resources: string[]; time: number } {
  const removal = isRemoval(c.eventName);
  const marker = c.eventName.endsWith(':DeleteMarkerCreated');
  const reason = CREATED_REASON[c.eventName] ?? (removal ? (c.eventName.startsWith('Lifecycle') ? 'Lifecycle Expiration' : 'DeleteObject') : undefined);
  return {
    source: 'aws.s3',
    detailType: DETAIL_TYPE[c.eventName],
    resources: [`arn:aws:s3:::${c.bucket}`],
    time: c.time,
    detail: {
      version: '0',
      bucket: { name: c.bucket },
      object: {
        key: c.key,
        ...(removal ? {} : { size: c.size, ...(c.etag !== undefined ? { etag: c.etag } : {}) }),
        ...(c.versionId !== undefined ? { 'version-id': c.versionId } : {}),
        sequencer: c.sequencer,
      },
      'request-id': requestIdOf(c),
      requester: c.requester ?? c.owner,
      ...(c.sourceIp !== undefined && c.sourceIp !== S3_SERVICE ? { 'source-ip-address': c.sourceIp } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(removal ? { 'deletion-type': marker ? 'Delete Marker Created' : 'Permanently Deleted' } : {}),
      ...(c.storageClass !== undefined ? { 'destination-storage-class': c.storageClass } : {}),
    },
  };
}
