/**
 * Builds the CloudTrail record of one API call, in CloudTrail's field order and shapes
 * (eventVersion 1.11). The record is serialized once here; that exact text is what the
 * event log stores and what LookupEvents, log files and the event bus hand out.
 */
import type { Principal } from '../auth/principal.js';
import { principalArn, principalId } from '../auth/principal.js';

export const EVENT_VERSION = '1.11';

/** A resource as CloudTrail lists it in a record's `resources`. */
export interface RecordResource {
  ARN: string;
  accountId?: string;
  type: string;
}

export type EventCategory = 'Management' | 'Data';

export interface TlsDetails {
  tlsVersion: string;
  cipherSuite: string;
  clientProvidedHostHeader: string;
}

export interface CallRecordInput {
  principal: Principal;
  eventTime: number;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: unknown;
  responseElements: unknown;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources: RecordResource[];
  category: EventCategory;
  recipientAccountId: string;
  tlsDetails?: TlsDetails;
}

/** CloudTrail's `eventTime`: ISO 8601 in UTC to the second. */
export function formatEventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The `userIdentity` block for a principal, as CloudTrail writes it per identity type. */
export function userIdentity(p: Principal): Record<string, unknown> {
  switch (p.type) {
    case 'Root':
      return { type: 'Root', principalId: principalId(p), arn: principalArn(p), accountId: p.accountId, accessKeyId: p.accessKeyId };
    case 'IAMUser':
      return {
        type: 'IAMUser',
        principalId: p.userId,
        arn: principalArn(p),
        accountId: p.accountId,
        accessKeyId: p.accessKeyId,
        userName: p.userName,
      };
    case 'AssumedRole':
      return {
        type: 'AssumedRole',
        principalId: principalId(p),
        arn: principalArn(p),
        accountId: p.accountId,
        accessKeyId: p.accessKeyId,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: p.roleId,
            arn: `arn:aws:iam::${p.accountId}:role${p.rolePath}${p.roleName}`,
            accountId: p.accountId,
            userName: p.roleName,
          },
          attributes: { creationDate: formatEventTime(p.issuedAt), mfaAuthenticated: 'false' },
        },
      };
    case 'AWSService':
      return { type: 'AWSService', invokedBy: p.invokedBy };
    case 'Anonymous':
      // CloudTrail's form for unsigned S3 requests.
      return { type: 'AWSAccount', principalId: '', accountId: 'anonymous' };
  }
}

/** The user name LookupEvents' `Username` attribute matches. */
export function recordUsername(p: Principal): string | undefined {
  switch (p.type) {
    case 'Root':
      return 'root';
    case 'IAMUser':
      return p.userName;
    case 'AssumedRole':
      return p.sessionName;
    case 'AWSService':
    case 'Anonymous':
      return undefined;
  }
}

/** Serializes the record of a call; optional fields appear only when CloudTrail would write them. */
export function buildCallRecord(r: CallRecordInput): string {
  const record: Record<string, unknown> = {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(r.principal),
    eventTime: formatEventTime(r.eventTime),
    eventSource: r.eventSource,
    eventName: r.eventName,
    awsRegion: r.awsRegion,
    sourceIPAddress: r.sourceIPAddress,
    userAgent: r.userAgent,
  };
  if (r.errorCode !== undefined) {
    record.errorCode = r.errorCode;
    record.errorMessage = r.errorMessage ?? '';
  }
  record.requestParameters = r.requestParameters ?? null;
  record.responseElements = r.responseElements ?? null;
  record.requestID = r.requestID;
  record.eventID = r.eventID;
  record.readOnly = r.readOnly;
  if (r.resources.length > 0) record.resources = r.resources;
  record.eventType = 'AwsApiCall';
  record.managementEvent = r.category === 'Management';
  record.recipientAccountId = r.recipientAccountId;
  record.eventCategory = r.category;
  if (r.tlsDetails) record.tlsDetails = r.tlsDetails;
  return JSON.stringify(record);
}
