/**
 * Subscription filters' deliveries: the {@link LogDestination} a destination ARN is
 * delivered through (an SQS queue, a function registered by ARN), and the payload in
 * CloudWatch Logs' subscription format: the JSON document (`messageType` DATA_MESSAGE,
 * `owner`, `logGroup`, `logStream`, `subscriptionFilters`, `logEvents`), gzipped and
 * base64-encoded.
 */
import { gzipSync } from 'node:zlib';

/** Delivers subscription payloads to destination ARNs; wired to the SQS and function engines. */
export interface LogDestination {
  /** Whether the ARN names a destination this server can deliver to (checked by PutSubscriptionFilter). */
  exists(arn: string): boolean | Promise<boolean>;
  /** Delivers one payload: the base64 text of the gzipped subscription document. */
  deliver(arn: string, payload: string): Promise<void>;
}

/** One log event in a subscription document. */
export interface SubscriptionLogEvent {
  id: string;
  timestamp: number;
  message: string;
  /** The fields a space-delimited filter pattern extracted, by name. */
  extractedFields?: Record<string, string>;
}

/** CloudWatch Logs' subscription document. */
export interface SubscriptionDocument {
  messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  logEvents: SubscriptionLogEvent[];
}

/** Gzips and base64-encodes a subscription document, as CloudWatch Logs sends it. */
export function encodeSubscriptionPayload(doc: SubscriptionDocument): string {
  return gzipSync(Buffer.from(JSON.stringify(doc))).toString('base64');
}

/**
 * The wrapper a function receives, as Lambda gets CloudWatch Logs data: `{ awslogs: { data } }`.
 *
 * @example
 * functions.invoke(arn, functionEvent(payload));
 */
export function functionEvent(payload: string): { awslogs: { data: string } } {
  return { awslogs: { data: payload } };
}
