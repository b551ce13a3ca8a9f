/**
 * Event envelopes: a CloudTrail record as the event CloudTrail puts on the default bus
 * (`detail-type` by the record's `eventType`, `source` from its `eventSource`, the whole
 * record as `detail`), events sent with PutEvents, and the events schedules emit.
 */
import type { StoredEvent } from '../eventlog/eventlog.js';

/** The `detail-type` CloudTrail gives each kind of record on the bus. */
const DETAIL_TYPES: Record<string, string> = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Signin via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsCloudTrailInsight: 'AWS Insight via CloudTrail',
};

/** `iam.amazonaws.com` → `aws.iam`; `cloudtrail-data.amazonaws.com` → `aws.cloudtrail-data`. */
export function sourceFor(eventSource: string): string {
  return `aws.${eventSource.replace(/\.amazonaws\.com$/, '')}`;
}

/** An event as EventBridge delivers it. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  [other: string]: unknown;
}

/** EventBridge's `time`: ISO 8601 in UTC to the second. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The bus event for a logged CloudTrail record; undefined for a record that is not a
 * JSON object.
 */
export function cloudTrailEvent(stored: StoredEvent, id: string): BusEvent | undefined {
  let record: unknown;
  try {
    record = JSON.parse(stored.record);
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  const eventType = typeof r.eventType === 'string' ? r.eventType : 'AwsApiCall';
  return {
    version: '0',
    id,
    'detail-type': DETAIL_TYPES[eventType] ?? DETAIL_TYPES.AwsApiCall ?? '',
    source: sourceFor(stored.eventSource),
    account: stored.accountId,
    time: typeof r.eventTime === 'string' ? r.eventTime : eventTime(stored.eventTime),
    region: stored.region,
    resources: [],
    detail: r,
  };
}

/**
 * True for a read-only management API call, which reaches only rules in state
 * ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. EventBridge draws the line at read-only
 * calls named Describe*, Get* or List*; other read-only calls (KMS Decrypt,
 * TestEventPattern) reach every enabled rule, as do STS's GetSessionToken and
 * GetFederationToken, which EventBridge counts as changes.
 */
export function isReadOnlyManagementCall(stored: StoredEvent): boolean {
  if (!stored.readOnly || stored.category !== 'Management') return false;
  if (stored.eventSource === 'sts.amazonaws.com' && (stored.eventName === 'GetSessionToken' || stored.eventName === 'GetFederationToken')) return false;
  return /^(Describe|Get|List)/.test(stored.eventName);
}
