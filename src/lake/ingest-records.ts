/**
 * CloudTrail records from outside Cairn (an API gateway in front of a team's own platform,
 * a replay of logs exported from AWS or from Cairn): each one checked, marked as ingested,
 * and turned into an event of the caller's account log, keeping its own `eventTime` and
 * `eventID` so history, trails, rules and Insights see it as it happened.
 */
import type { EventCategory, EventResource, NewEvent } from '../eventlog/eventlog.js';

/**
 * The field that marks a record as ingested: `additionalEventData.cairnIngestion`, an
 * object with `ingestedAt` (ISO 8601), `ingestedBy` (the caller's ARN) and, when the record
 * named another account, `sourceRecipientAccountId`. Rules, metric filters and queries
 * tell ingested records apart by it (`$.additionalEventData.cairnIngestion`).
 */
export const INGESTION_FIELD = 'cairnIngestion';

/** The largest record accepted, in characters of its JSON text (CloudTrail's own events stay far below). */
export const MAX_RECORD_CHARS = 256 * 1024;

/** The most records one batch may carry. */
export const MAX_BATCH_RECORDS = 10_000;

/** Why one record was refused; the other records of the batch are still added. */
export interface RecordFailure {
  /** The record's position in the batch, from 0. */
  index: number;
  eventID?: string;
  errorCode: 'InvalidRecord' | 'RecordTooLarge';
  errorMessage: string;
}

/** Who ingests, and when: stamped into every record's {@link INGESTION_FIELD}. */
export interface IngestionStamp {
  accountId: string;
  callerArn: string;
  now: number;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const READ_ONLY_NAME = /^(Get|List|Describe|Head|Lookup|Search|Query|Scan|Select|BatchGet)/;
const CATEGORIES: ReadonlySet<string> = new Set(['Management', 'Data']);

type Outcome = { event: NewEvent } | { failure: Omit<RecordFailure, 'index'> };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' ? value : undefined;
}

/** LookupEvents' `Username` for a record's `userIdentity`, as CloudTrail derives it. */
function usernameOf(identity: unknown): string | undefined {
  if (!isObject(identity)) return undefined;
  const type = identity.type;
  if (type === 'Root') return 'root';
  if (typeof identity.userName === 'string') return identity.userName;
  if (type === 'AssumedRole' && typeof identity.arn === 'string') return identity.arn.split('/').pop();
  return undefined;
}

function resourcesOf(value: unknown): EventResource[] {
  if (!Array.isArray(value)) return [];
  const out: EventResource[] = [];
  for (const r of value) {
    if (isObject(r) && typeof r.ARN === 'string') out.push({ type: typeof r.type === 'string' ? r.type : '', name: r.ARN });
  }
  return out;
}

/**
 * Checks one record and builds its event: required are `eventTime` (ISO 8601), `eventID`,
 * `eventSource`, `eventName` and `awsRegion`; `eventCategory` is Management (the default,
 * as in records older than the field) or Data; `readOnly` is taken when given, otherwise
 * read from the event name as CloudTrail names read calls. The record is appended to the
 * caller's account: `recipientAccountId` becomes that account, and the account the record
 * named is kept in the ingestion mark.
 */
export function ingestedEvent(raw: unknown, stamp: IngestionStamp): Outcome {
  const invalid = (message: string, eventID?: string): Outcome => ({
    failure: { errorCode: 'InvalidRecord', errorMessage: message, ...(eventID !== undefined ? { eventID } : {}) },
  });
  if (!isObject(raw)) return invalid('A record must be a JSON object.');
  const eventID = stringField(raw, 'eventID');
  if (eventID === undefined || eventID.length === 0 || eventID.length > 128) return invalid('eventID must be a string of 1 to 128 characters.');
  const time = stringField(raw, 'eventTime');
  const eventTime = time !== undefined && ISO_TIME.test(time) ? Date.parse(time) : NaN;
  if (!Number.isSafeInteger(eventTime) || eventTime < 0) return invalid('eventTime must be an ISO 8601 time (2026-01-02T03:04:05Z).', eventID);
  const eventSource = stringField(raw, 'eventSource');
  const eventName = stringField(raw, 'eventName');
  if (!eventSource || eventSource.length > 256) return invalid('eventSource must be a string of 1 to 256 characters.', eventID);
  if (!eventName || eventName.length > 256) return invalid('eventName must be a string of 1 to 256 characters.', eventID);
  const region = stringField(raw, 'awsRegion');
  if (region === undefined || !REGION.test(region)) return invalid('awsRegion must be a Region name (us-east-1).', eventID);
  const category = raw.eventCategory ?? 'Management';
  if (typeof category !== 'string' || !CATEGORIES.has(category)) return invalid('eventCategory must be Management or Data.', eventID);
  if (raw.readOnly !== undefined && typeof raw.readOnly !== 'boolean') return invalid('readOnly must be true or false.', eventID);
  const readOnly = typeof raw.readOnly === 'boolean' ? raw.readOnly : READ_ONLY_NAME.test(eventName);
  const additional = raw.additionalEventData;
  if (additional !== undefined && additional !== null && !isObject(additional)) return invalid('additionalEventData must be an object.', eventID);

  const named = stringField(raw, 'recipientAccountId');
  const mark: Record<string, string> = { ingestedAt: new Date(stamp.now).toISOString(), ingestedBy: stamp.callerArn };
  if (named !== undefined && named !== stamp.accountId) mark.sourceRecipientAccountId = named;
  const record: Record<string, unknown> = {
    ...raw,
    readOnly,
    recipientAccountId: stamp.accountId,
    eventCategory: category,
    additionalEventData: { ...(isObject(additional) ? additional : {}), [INGESTION_FIELD]: mark },
  };
  const text = JSON.stringify(record);
  if (text.length > MAX_RECORD_CHARS) {
    return { failure: { errorCode: 'RecordTooLarge', errorMessage: `A record may have at most ${MAX_RECORD_CHARS} characters.`, eventID } };
  }
  const identity = raw.userIdentity;
  const username = usernameOf(identity);
  const accessKeyId = isObject(identity) && typeof identity.accessKeyId === 'string' ? identity.accessKeyId : undefined;
  const event: NewEvent = {
    eventId: eventID,
    eventTime,
    accountId: stamp.accountId,
    region,
    eventSource,
    eventName,
    readOnly,
    category: category as EventCategory,
    resources: resourcesOf(raw.resources),
    record: text,
    ...(username !== undefined ? { username } : {}),
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
  };
  return { event };
}
