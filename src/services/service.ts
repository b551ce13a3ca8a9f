/**
 * The contract every AWS API that Cairn serves implements. A service is its botocore
 * model plus one {@link OperationSpec} per operation it serves; the request pipeline
 * (server/pipeline.ts) does protocol decoding, authentication, validation against the
 * model, authorization and recording, so an operation only does its own work.
 */
import type { PolicyDocument } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { EventCategory, RecordResource } from '../audit/record.js';
import type { ServiceModel } from '../wire/model.js';
import type { WireRequest, WireResponse } from '../wire/types.js';

/** What a call knows about itself, handed to every operation. */
export interface CallContext {
  requestId: string;
  principal: Principal;
  /** The account whose resources the call acts on (the principal's account). */
  accountId: string;
  region: string;
  sourceIp: string;
  userAgent: string;
  /** The request's time by the injected clock (ms since epoch). */
  now: number;
  secureTransport: boolean;
  /**
   * The base URL the client reached this server at (`http://127.0.0.1:4777`), from the
   * request's scheme and Host header; SQS builds its queue URLs from it.
   */
  endpoint?: string;
}

export type { EventCategory, RecordResource } from '../audit/record.js';

/**
 * What an operation tells its own CloudTrail record beyond the output: handlers that
 * learn a record's details only while running (the key a CreateKey made, the key an
 * alias pointed to before DeleteAlias) return them under this symbol key, which no
 * codec serializes.
 *
 * @example
 * return { KeyMetadata: shape, [RECORD]: { resources: [keyResource(key)] } };
 */
export const RECORD = Symbol('cloudtrail-record');

export interface RecordNotes {
  /** Replaces the record's `responseElements`. */
  responseElements?: unknown;
  /** Added to the record's `resources`. */
  resources?: RecordResource[];
}

/** The notes an output carries, if any. */
export function recordNotes(output: Record<string | symbol, unknown>): RecordNotes | undefined {
  return output[RECORD] as RecordNotes | undefined;
}

export interface OperationSpec {
  readOnly: boolean;
  /** The record's `eventName` when it is not the operation's name (Lambda's `CreateFunction20150331`). */
  eventName?: string;
  category: EventCategory;
  /**
   * The IAM action checked before the operation runs, `<prefix>:<Operation>` by default;
   * `null` for calls IAM never denies (sts:GetCallerIdentity).
   */
  action?: string | null;
  /** IAM and service control policies never deny the call (sts:GetCallerIdentity). */
  neverDenied?: boolean;
  /** ARNs the action is authorized against (`*` when omitted); also the record's `resources`. */
  resources?: (input: Record<string, unknown>, ctx: CallContext) => RecordResource[];
  /**
   * When the ARNs IAM authorizes differ from the record's `resources` (S3 data events list
   * the object and its bucket; S3 authorizes the object alone).
   */
  authorizationResources?: (input: Record<string, unknown>, ctx: CallContext) => RecordResource[];
  /**
   * The resource-based policy that governs the call (an S3 bucket policy, an SNS topic or
   * SQS queue policy), evaluated together with the caller's identity policies the way IAM
   * does: within the owner's account either may allow, across accounts both must.
   */
  resourcePolicy?: (input: Record<string, unknown>, ctx: CallContext) => PolicyDocument | undefined;
  /** Condition keys the call adds to the global ones (`s3:x-amz-acl`, `aws:SourceArn`...). */
  conditionKeys?: (input: Record<string, unknown>, ctx: CallContext) => Record<string, string | string[]>;
  handle: (input: Record<string, unknown>, ctx: CallContext) => Promise<Record<string, unknown>>;
  /** The record's `requestParameters`; by default the input with camelCase keys and secrets removed. */
  recordRequest?: (input: Record<string, unknown>) => unknown;
  /** The record's `responseElements`; by default null for read-only calls, else the output reshaped like the input. */
  recordResponse?: (output: Record<string, unknown>) => unknown;
}

export interface ServiceDefinition {
  /** The model file's name under src/models (`cloudtrail`, `iam`...). */
  modelName: string;
  /** The SigV4 signing name clients put in the credential scope. */
  signingName: string;
  /** The IAM action prefix (`cloudtrail`, `iam`, `sts`, `s3`). */
  actionPrefix: string;
  /** The record's `eventSource`, e.g. `cloudtrail.amazonaws.com`. */
  eventSource: string;
  /** Services whose resources are global (IAM, STS's GetCallerIdentity...) record `us-east-1`. */
  globalRegion?: string;
  model: ServiceModel;
  operations: Readonly<Record<string, OperationSpec>>;
}

/**
 * An unsigned GET a service answers outside the API, neither authenticated nor recorded:
 * the links AWS hands out in messages (SNS's SigningCertURL, SubscribeURL and
 * UnsubscribeURL). Only requests that carry no signature are offered to it.
 */
export interface PublicRoute {
  matches(req: WireRequest): boolean;
  serve(req: WireRequest, requestId: string): Promise<WireResponse>;
}
