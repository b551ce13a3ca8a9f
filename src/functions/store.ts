/**
 * What the functions engine keeps: functions with their unpublished (`$LATEST`) and
 * published versions, aliases, resource policies, event source mappings, the queue of
 * asynchronous invocations, and code packages by SHA-256. The interface is async so a
 * PostgreSQL store can implement it for scale-out.
 */

/** Where a function lives. */
export interface FunctionScope {
  accountId: string;
  region: string;
}

/** One version's configuration: `$LATEST` (editable) or a published number (frozen). */
export interface VersionRecord extends FunctionScope {
  functionName: string;
  version: string;
  runtime: string;
  role: string;
  handler: string;
  description: string;
  timeout: number;
  memorySize: number;
  ephemeralStorage: number;
  environment: Record<string, string>;
  /** Base64 SHA-256 of the code package (as Lambda reports `CodeSha256`); the code's key in the store. */
  codeSha256: string;
  codeSize: number;
  /** An SQS queue or SNS topic that receives asynchronous events that failed every attempt. */
  deadLetterTarget?: string;
  /** ms since epoch. */
  lastModified: number;
  revisionId: string;
}

/** One statement of a function's resource-based policy, as AddPermission adds it. */
export interface PermissionStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { Service: string } | { AWS: string };
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

/** What a function is beyond its versions. */
export interface FunctionRecord extends FunctionScope {
  functionName: string;
  /** The next number PublishVersion gives. */
  nextVersion: number;
  reservedConcurrency?: number;
  tags: Record<string, string>;
  /** Statements by qualifier (`''` for the unqualified function). */
  policies: Record<string, PermissionStatement[]>;
  /** Changes whenever the policy changes (GetPolicy's RevisionId). */
  policyRevision: string;
  createdAt: number;
}

export interface AliasRecord extends FunctionScope {
  functionName: string;
  name: string;
  functionVersion: string;
  description: string;
  revisionId: string;
}

export interface EventSourceMappingRecord extends FunctionScope {
  uuid: string;
  /** The function (qualified or not) the mapping invokes. */
  functionArn: string;
  eventSourceArn: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  enabled: boolean;
  /** `ReportBatchItemFailures` when the function reports partial batch failures. */
  functionResponseTypes: string[];
  lastModified: number;
  lastProcessingResult: string;
}

/** An `Event` invocation waiting for its (next) attempt. */
export interface AsyncInvocationRecord {
  id: string;
  /** The qualified ARN of the version the invocation runs. */
  functionArn: string;
  payload: string;
  attempts: number;
  nextAttemptAt: number;
  enqueuedAt: number;
}

export interface FunctionStore {
  getFunction(scope: FunctionScope, name: string): Promise<FunctionRecord | undefined>;
  putFunction(record: FunctionRecord): Promise<void>;
  /** Deletes the function and its versions and aliases. */
  deleteFunction(scope: FunctionScope, name: string): Promise<void>;
  /** One scope's functions, or every function (loading the resource policies). */
  listFunctions(scope?: FunctionScope): Promise<FunctionRecord[]>;

  getVersion(scope: FunctionScope, name: string, version: string): Promise<VersionRecord | undefined>;
  putVersion(record: VersionRecord): Promise<void>;
  deleteVersion(scope: FunctionScope, name: string, version: string): Promise<void>;
  /** Every version of a function, `$LATEST` first then by number. */
  listVersions(scope: FunctionScope, name: string): Promise<VersionRecord[]>;

  getAlias(scope: FunctionScope, functionName: string, name: string): Promise<AliasRecord | undefined>;
  putAlias(record: AliasRecord): Promise<void>;
  deleteAlias(scope: FunctionScope, functionName: string, name: string): Promise<void>;
  listAliases(scope: FunctionScope, functionName: string): Promise<AliasRecord[]>;

  getEventSourceMapping(uuid: string): Promise<EventSourceMappingRecord | undefined>;
  putEventSourceMapping(record: EventSourceMappingRecord): Promise<void>;
  deleteEventSourceMapping(uuid: string): Promise<void>;
  /** Every mapping of every account (the poller's list), or one scope's. */
  listEventSourceMappings(scope?: FunctionScope): Promise<EventSourceMappingRecord[]>;

  /** Stores a code package under its SHA-256 (a no-op when it is there). */
  putCode(sha256: string, zip: Uint8Array): Promise<void>;
  getCode(sha256: string): Promise<Uint8Array | undefined>;
  /** Drops packages no version refers to. */
  pruneCode(): Promise<void>;

  enqueueAsync(record: AsyncInvocationRecord): Promise<void>;
  dueAsync(now: number, limit: number): Promise<AsyncInvocationRecord[]>;
  updateAsync(id: string, attempts: number, nextAttemptAt: number): Promise<void>;
  deleteAsync(id: string): Promise<void>;
}
