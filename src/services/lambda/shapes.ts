/**
 * The Lambda API's output shapes (FunctionConfiguration, AliasConfiguration,
 * EventSourceMappingConfiguration) from the engine's records, and the names CloudTrail
 * gives Lambda's calls.
 */
import { functionArn, LATEST, lambdaTime } from '../../functions/functions.js';
import { mappingArn } from '../../functions/mappings.js';
import type { AliasRecord, EventSourceMappingRecord, VersionRecord } from '../../functions/store.js';
import type { RecordResource } from '../service.js';

/** What CloudTrail writes in place of a function's environment variables. */
export const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

export function configurationShape(v: VersionRecord): Record<string, unknown> {
  return {
    FunctionName: v.functionName,
    FunctionArn: functionArn(v, v.functionName, v.version === LATEST ? undefined : v.version),
    Runtime: v.runtime,
    Role: v.role,
    Handler: v.handler,
    CodeSize: v.codeSize,
    Description: v.description,
    Timeout: v.timeout,
    MemorySize: v.memorySize,
    LastModified: lambdaTime(v.lastModified),
    CodeSha256: v.codeSha256,
    Version: v.version,
    ...(Object.keys(v.environment).length > 0 ? { Environment: { Variables: v.environment } } : {}),
    ...(v.deadLetterTarget ? { DeadLetterConfig: { TargetArn: v.deadLetterTarget } } : {}),
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: v.revisionId,
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: ['x86_64'],
    EphemeralStorage: { Size: v.ephemeralStorage },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${v.functionName}` },
  };
}

export function aliasShape(a: AliasRecord): Record<string, unknown> {
  return {
    AliasArn: functionArn(a, a.functionName, a.name),
    Name: a.name,
    FunctionVersion: a.functionVersion,
    Description: a.description,
    RevisionId: a.revisionId,
  };
}

export function mappingShape(m: EventSourceMappingRecord, state?: string): Record<string, unknown> {
  return {
    UUID: m.uuid,
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds,
    EventSourceArn: m.eventSourceArn,
    FunctionArn: m.functionArn,
    LastModified: new Date(m.lastModified),
    State: state ?? (m.enabled ? 'Enabled' : 'Disabled'),
    StateTransitionReason: 'USER_INITIATED',
    LastProcessingResult: m.lastProcessingResult,
    FunctionResponseTypes: m.functionResponseTypes,
    EventSourceMappingArn: mappingArn(m),
  };
}

export function functionResource(arn: string): RecordResource {
  return { ARN: arn, accountId: arn.split(':')[4] ?? '', type: 'AWS::Lambda::Function' };
}

/** CloudTrail's names for Lambda's calls: the operation with the API version it belongs to. */
export const EVENT_NAMES: Readonly<Record<string, string>> = {
  CreateFunction: 'CreateFunction20150331',
  GetFunction: 'GetFunction20150331v2',
  GetFunctionConfiguration: 'GetFunctionConfiguration20150331v2',
  ListFunctions: 'ListFunctions20150331',
  UpdateFunctionCode: 'UpdateFunctionCode20150331v2',
  UpdateFunctionConfiguration: 'UpdateFunctionConfiguration20150331v2',
  DeleteFunction: 'DeleteFunction20150331',
  PublishVersion: 'PublishVersion20150331',
  ListVersionsByFunction: 'ListVersionsByFunction20150331',
  CreateAlias: 'CreateAlias20150331',
  GetAlias: 'GetAlias20150331',
  UpdateAlias: 'UpdateAlias20150331',
  DeleteAlias: 'DeleteAlias20150331',
  ListAliases: 'ListAliases20150331',
  AddPermission: 'AddPermission20150331v2',
  RemovePermission: 'RemovePermission20150331v2',
  GetPolicy: 'GetPolicy20150331v2',
  CreateEventSourceMapping: 'CreateEventSourceMapping20150331',
  GetEventSourceMapping: 'GetEventSourceMapping20150331',
  UpdateEventSourceMapping: 'UpdateEventSourceMapping20150331',
  DeleteEventSourceMapping: 'DeleteEventSourceMapping20150331',
  ListEventSourceMappings: 'ListEventSourceMappings20150331',
  TagResource: 'TagResource20170331v2',
  UntagResource: 'UntagResource20170331v2',
  ListTags: 'ListTags20170331',
  PutFunctionConcurrency: 'PutFunctionConcurrency20171031',
  GetFunctionConcurrency: 'GetFunctionConcurrency20190930',
  DeleteFunctionConcurrency: 'DeleteFunctionConcurrency20171031',
};
