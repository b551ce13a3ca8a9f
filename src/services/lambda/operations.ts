/**
 * The Lambda operations. Inputs arrive validated against the model (lengths, patterns,
 * ranges, required members); each handler reads them through the typed view of its
 * request shape. Members the model allows but this server does not honour (VPCs,
 * layers, container images, tracing, SnapStart...) are refused with Lambda's
 * InvalidParameterValueException rather than accepted and ignored.
 */
import { functionArn, parseFunctionName, type CodeInput, type ConfigurationInput } from '../../functions/functions.js';
import { lambdaErrors } from '../../functions/errors.js';
import { UNSUPPORTED_MAPPING_MEMBERS, mappingArn } from '../../functions/mappings.js';
import type { InvocationType } from '../../functions/invoker.js';
import { toRecordShape } from '../../wire/record-shape.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';
import type { LambdaServiceDeps } from './index.js';
import { EVENT_NAMES, HIDDEN, aliasShape, configurationShape, functionResource, mappingShape } from './shapes.js';

type Input = Record<string, unknown>;

interface Named {
  FunctionName: string;
  Qualifier?: string;
}
interface Paged {
  Marker?: string;
  MaxItems?: number;
}

/** CreateFunction and UpdateFunctionConfiguration members this server refuses, with when a value is harmless. */
const UNSUPPORTED_CONFIGURATION: readonly [string, (v: unknown) => boolean][] = [
  ['VpcConfig', (v) => isEmptyVpc(v)],
  ['Layers', (v) => Array.isArray(v) && v.length === 0],
  ['KMSKeyArn', (v) => v === ''],
  ['TracingConfig', (v) => (v as { Mode?: string }).Mode !== 'Active'],
  ['FileSystemConfigs', (v) => Array.isArray(v) && v.length === 0],
  ['ImageConfig', () => false],
  ['CodeSigningConfigArn', () => false],
  ['SnapStart', (v) => (v as { ApplyOn?: string }).ApplyOn !== 'PublishedVersions'],
  ['LoggingConfig', (v) => {
    const c = v as { LogFormat?: string; LogGroup?: string };
    return (c.LogFormat === undefined || c.LogFormat === 'Text') && c.LogGroup === undefined;
  }],
  ['DurableConfig', () => false],
  ['CapacityProviderConfig', () => false],
  ['TenancyConfig', () => false],
  ['PublishTo', () => false],
];

function isEmptyVpc(v: unknown): boolean {
  const c = v as { SubnetIds?: unknown[]; SecurityGroupIds?: unknown[] };
  return (c.SubnetIds ?? []).length === 0 && (c.SecurityGroupIds ?? []).length === 0;
}

function refuseUnsupported(input: Input): void {
  for (const [member, harmless] of UNSUPPORTED_CONFIGURATION) {
    const v = input[member];
    if (v !== undefined && !harmless(v)) throw lambdaErrors.invalidParameter(`${member} is not supported by this server.`);
  }
  if (input.PackageType !== undefined && input.PackageType !== 'Zip') throw lambdaErrors.invalidParameter('Only Zip packages are supported by this server.');
  const code = input.Code as { ImageUri?: string; SourceKMSKeyArn?: string } | undefined;
  if (code?.ImageUri !== undefined || input.ImageUri !== undefined) throw lambdaErrors.invalidParameter('Container images are not supported by this server.');
  if (code?.SourceKMSKeyArn !== undefined || input.SourceKMSKeyArn !== undefined) throw lambdaErrors.invalidParameter('SourceKMSKeyArn is not supported by this server.');
  const arch = input.Architectures;
  if (Array.isArray(arch) && arch.some((a) => a !== 'x86_64')) throw lambdaErrors.invalidParameter('Only the x86_64 architecture is supported by this server.');
}

/** The function ARN a call names (qualified when it names a version or alias). */
function arnOf(input: Named, ctx: CallContext): string {
  const { scope, name, qualifier } = parseFunctionName(input.FunctionName, ctx);
  return functionArn(scope, name, qualifier ?? input.Qualifier);
}

const scopeOf = (ctx: CallContext) => ({ accountId: ctx.accountId, region: ctx.region });

/** The function a call acts on, as its record's resource and the ARN IAM authorizes. */
function onFunction(input: Input, ctx: CallContext): RecordResource[] {
  try {
    return [functionResource(arnOf(input as unknown as Named, ctx))];
  } catch {
    return [];
  }
}

/** A configuration with its environment variables hidden, for records. */
function hideEnvironment(value: unknown): unknown {
  const shaped = toRecordShape(value) as Record<string, unknown> | null;
  if (shaped && typeof shaped === 'object' && shaped.environment && typeof shaped.environment === 'object') {
    shaped.environment = { ...(shaped.environment as Record<string, unknown>), variables: HIDDEN };
  }
  return shaped;
}

export function lambdaOperations(deps: LambdaServiceDeps): Record<string, OperationSpec> {
  const { functions, invoker } = deps;
  const policyOf = (input: Input, ctx: CallContext) => {
    const [r] = onFunction(input, ctx);
    return r ? functions.policyFor(r.ARN) : undefined;
  };
  const management = (name: string, readOnly: boolean, handle: OperationSpec['handle'], extra: Partial<OperationSpec> = {}): OperationSpec => ({
    readOnly,
    category: 'Management',
    eventName: EVENT_NAMES[name] ?? name,
    resources: onFunction,
    resourcePolicy: policyOf,
    handle,
    ...extra,
  });
  const configuration = (name: string, handle: OperationSpec['handle']): OperationSpec =>
    management(name, false, handle, { recordRequest: hideEnvironment, recordResponse: hideEnvironment });

  return {
    CreateFunction: configuration('CreateFunction', async (input, ctx) => {
      refuseUnsupported(input);
      const i = input as unknown as ConfigurationInput & { FunctionName: string; Code: CodeInput; Publish?: boolean; Tags?: Record<string, string> };
      return configurationShape(await functions.createFunction(scopeOf(ctx), i));
    }),
    GetFunction: management('GetFunction', true, async (input, ctx) => {
      const i = input as unknown as Named;
      const { fn, version } = await functions.getFunction(scopeOf(ctx), i.FunctionName, i.Qualifier);
      return {
        Configuration: configurationShape(version),
        Code: { RepositoryType: 'S3', Location: `${ctx.endpoint ?? ''}/2015-03-31/functions/${fn.functionName}/code` },
        ...(Object.keys(fn.tags).length > 0 ? { Tags: fn.tags } : {}),
        ...(fn.reservedConcurrency !== undefined ? { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } } : {}),
      };
    }, { recordResponse: () => null }),
    GetFunctionConfiguration: management('GetFunctionConfiguration', true, async (input, ctx) => {
      const i = input as unknown as Named;
      return configurationShape((await functions.getFunction(scopeOf(ctx), i.FunctionName, i.Qualifier)).version);
    }, { recordResponse: () => null }),
    ListFunctions: management('ListFunctions', true, async (input, ctx) => {
      const i = input as { FunctionVersion?: string; MasterRegion?: string } & Paged;
      if (i.MasterRegion !== undefined) throw lambdaErrors.invalidParameter('MasterRegion is not supported by this server.');
      const { versions, nextMarker } = await functions.listFunctions(scopeOf(ctx), { all: i.FunctionVersion === 'ALL', ...(i.Marker !== undefined ? { marker: i.Marker } : {}), ...(i.MaxItems !== undefined ? { maxItems: i.MaxItems } : {}) });
      return { Functions: versions.map(configurationShape), ...(nextMarker !== undefined ? { NextMarker: nextMarker } : {}) };
    }, { resources: () => [], resourcePolicy: () => undefined }),
    UpdateFunctionCode: configuration('UpdateFunctionCode', async (input, ctx) => {
      refuseUnsupported(input);
      const i = input as unknown as CodeInput & { FunctionName: string; Publish?: boolean; RevisionId?: string; DryRun?: boolean };
      return configurationShape(await functions.updateCode(scopeOf(ctx), i.FunctionName, i));
    }),
    UpdateFunctionConfiguration: configuration('UpdateFunctionConfiguration', async (input, ctx) => {
      refuseUnsupported(input);
      const i = input as unknown as ConfigurationInput & { FunctionName: string; RevisionId?: string };
      return configurationShape(await functions.updateConfiguration(scopeOf(ctx), i.FunctionName, i));
    }),
    DeleteFunction: management('DeleteFunction', false, async (input, ctx) => {
      const i = input as unknown as Named;
      await functions.deleteFunction(scopeOf(ctx), i.FunctionName, i.Qualifier);
      return {};
    }),

    Invoke: {
      readOnly: false,
      category: 'Data',
      action: 'lambda:InvokeFunction',
      resources: onFunction,
      resourcePolicy: policyOf,
      recordRequest: (input) => {
        const i = input as unknown as Named & { InvocationType?: string; LogType?: string };
        return { functionName: i.FunctionName, ...(i.Qualifier !== undefined ? { qualifier: i.Qualifier } : {}), invocationType: i.InvocationType ?? 'RequestResponse', ...(i.LogType !== undefined ? { logType: i.LogType } : {}) };
      },
      recordResponse: () => null,
      handle: async (input, ctx) => {
        const i = input as unknown as Named & { InvocationType?: InvocationType; LogType?: string; Payload?: Uint8Array; ClientContext?: string; TenantId?: string; DurableExecutionName?: string };
        if (i.TenantId !== undefined || i.DurableExecutionName !== undefined) throw lambdaErrors.invalidParameter('Tenant isolation and durable executions are not supported by this server.');
        const target = await functions.resolve(scopeOf(ctx), i.FunctionName, i.Qualifier);
        const type = i.InvocationType ?? 'RequestResponse';
        const result = await invoker.invoke(target, i.Payload, { type, tail: i.LogType === 'Tail' && type === 'RequestResponse' });
        return {
          StatusCode: result.statusCode,
          ExecutedVersion: result.executedVersion,
          ...(result.payload !== undefined ? { Payload: result.payload } : {}),
          ...(result.functionError !== undefined ? { FunctionError: result.functionError } : {}),
          ...(result.logResult !== undefined ? { LogResult: result.logResult } : {}),
        };
      },
    },

    PublishVersion: configuration('PublishVersion', async (input, ctx) => {
      const i = input as { FunctionName: string; CodeSha256?: string; Description?: string; RevisionId?: string; PublishTo?: string };
      if (i.PublishTo !== undefined) throw lambdaErrors.invalidParameter('PublishTo is not supported by this server.');
      return configurationShape(await functions.publishVersion(scopeOf(ctx), i.FunctionName, i));
    }),
    ListVersionsByFunction: management('ListVersionsByFunction', true, async (input, ctx) => {
      const i = input as unknown as Named & Paged;
      const { versions, nextMarker } = await functions.listVersions(scopeOf(ctx), i.FunctionName, { ...(i.Marker !== undefined ? { marker: i.Marker } : {}), ...(i.MaxItems !== undefined ? { maxItems: i.MaxItems } : {}) });
      return { Versions: versions.map(configurationShape), ...(nextMarker !== undefined ? { NextMarker: nextMarker } : {}) };
    }),

    CreateAlias: management('CreateAlias', false, async (input, ctx) => {
      const i = input as { FunctionName: string; Name: string; FunctionVersion: string; Description?: string; RoutingConfig?: unknown };
      return aliasShape(await functions.createAlias(scopeOf(ctx), i.FunctionName, i));
    }),
    GetAlias: management('GetAlias', true, async (input, ctx) => {
      const i = input as { FunctionName: string; Name: string };
      return aliasShape(await functions.getAlias(scopeOf(ctx), i.FunctionName, i.Name));
    }),
    UpdateAlias: management('UpdateAlias', false, async (input, ctx) => {
      const i = input as { FunctionName: string; Name: string; FunctionVersion?: string; Description?: string; RevisionId?: string; RoutingConfig?: unknown };
      return aliasShape(await functions.updateAlias(scopeOf(ctx), i.FunctionName, i));
    }),
    DeleteAlias: management('DeleteAlias', false, async (input, ctx) => {
      const i = input as { FunctionName: string; Name: string };
      await functions.deleteAlias(scopeOf(ctx), i.FunctionName, i.Name);
      return {};
    }),
    ListAliases: management('ListAliases', true, async (input, ctx) => {
      const i = input as unknown as { FunctionName: string; FunctionVersion?: string } & Paged;
      const { aliases, nextMarker } = await functions.listAliases(scopeOf(ctx), i.FunctionName, {
        ...(i.FunctionVersion !== undefined ? { functionVersion: i.FunctionVersion } : {}),
        ...(i.Marker !== undefined ? { marker: i.Marker } : {}),
        ...(i.MaxItems !== undefined ? { maxItems: i.MaxItems } : {}),
      });
      return { Aliases: aliases.map(aliasShape), ...(nextMarker !== undefined ? { NextMarker: nextMarker } : {}) };
    }),

    AddPermission: management('AddPermission', false, async (input, ctx) => {
      const i = input as unknown as Named & { StatementId: string; Action: string; Principal: string; SourceArn?: string; SourceAccount?: string; RevisionId?: string; PrincipalOrgID?: string; EventSourceToken?: string; FunctionUrlAuthType?: string; InvokedViaFunctionUrl?: boolean };
      if (i.InvokedViaFunctionUrl !== undefined) throw lambdaErrors.invalidParameter('Function URLs are not supported by this server.');
      const statement = await functions.addPermission(scopeOf(ctx), i.FunctionName, i);
      return { Statement: JSON.stringify(statement) };
    }),
    RemovePermission: management('RemovePermission', false, async (input, ctx) => {
      const i = input as unknown as Named & { StatementId: string; RevisionId?: string };
      await functions.removePermission(scopeOf(ctx), i.FunctionName, i);
      return {};
    }),
    GetPolicy: management('GetPolicy', true, async (input, ctx) => {
      const i = input as unknown as Named;
      const { policy, revisionId } = await functions.getPolicy(scopeOf(ctx), i.FunctionName, i.Qualifier);
      return { Policy: policy, RevisionId: revisionId };
    }),

    TagResource: management('TagResource', false, async (input, ctx) => {
      const i = input as { Resource: string; Tags: Record<string, string> };
      await functions.tagResource(scopeOf(ctx), i.Resource, i.Tags);
      return {};
    }, { resources: (input, ctx) => onFunction({ FunctionName: input.Resource }, ctx), resourcePolicy: () => undefined }),
    UntagResource: management('UntagResource', false, async (input, ctx) => {
      const i = input as { Resource: string; TagKeys: string[] };
      await functions.untagResource(scopeOf(ctx), i.Resource, i.TagKeys);
      return {};
    }, { resources: (input, ctx) => onFunction({ FunctionName: input.Resource }, ctx), resourcePolicy: () => undefined }),
    ListTags: management('ListTags', true, async (input, ctx) => {
      const i = input as { Resource: string };
      return { Tags: await functions.listTags(scopeOf(ctx), i.Resource) };
    }, { resources: (input, ctx) => onFunction({ FunctionName: input.Resource }, ctx), resourcePolicy: () => undefined }),

    PutFunctionConcurrency: management('PutFunctionConcurrency', false, async (input, ctx) => {
      const i = input as { FunctionName: string; ReservedConcurrentExecutions: number };
      return { ReservedConcurrentExecutions: await functions.putConcurrency(scopeOf(ctx), i.FunctionName, i.ReservedConcurrentExecutions) };
    }),
    GetFunctionConcurrency: management('GetFunctionConcurrency', true, async (input, ctx) => {
      const i = input as { FunctionName: string };
      const { fn } = await functions.resolve(scopeOf(ctx), i.FunctionName);
      return fn.reservedConcurrency !== undefined ? { ReservedConcurrentExecutions: fn.reservedConcurrency } : {};
    }),
    DeleteFunctionConcurrency: management('DeleteFunctionConcurrency', false, async (input, ctx) => {
      const i = input as { FunctionName: string };
      await functions.deleteConcurrency(scopeOf(ctx), i.FunctionName);
      return {};
    }),

    ...mappingOperations(deps),
  };
}

function mappingOperations({ mappings }: LambdaServiceDeps): Record<string, OperationSpec> {
  const refuse = (input: Input): void => {
    for (const member of UNSUPPORTED_MAPPING_MEMBERS) {
      if (input[member] !== undefined) throw lambdaErrors.invalidParameter(`${member} is not supported for SQS event sources by this server.`);
    }
  };
  const byUuid = (input: Input, ctx: CallContext): RecordResource[] => [
    { ARN: mappingArn({ uuid: String(input.UUID), accountId: ctx.accountId, region: ctx.region }), accountId: ctx.accountId, type: 'AWS::Lambda::EventSourceMapping' },
  ];
  const spec = (name: string, readOnly: boolean, handle: OperationSpec['handle'], resources?: OperationSpec['resources']): OperationSpec => ({
    readOnly,
    category: 'Management',
    eventName: EVENT_NAMES[name] ?? name,
    handle,
    ...(resources ? { resources } : {}),
  });
  return {
    CreateEventSourceMapping: spec('CreateEventSourceMapping', false, async (input, ctx) => {
      refuse(input);
      return mappingShape(await mappings.create(scopeOf(ctx), input), 'Creating');
    }),
    GetEventSourceMapping: spec('GetEventSourceMapping', true, async (input, ctx) => mappingShape(await mappings.get(scopeOf(ctx), String(input.UUID))), byUuid),
    UpdateEventSourceMapping: spec('UpdateEventSourceMapping', false, async (input, ctx) => {
      refuse(input);
      const m = await mappings.update(scopeOf(ctx), String(input.UUID), input);
      return mappingShape(m, m.enabled ? 'Updating' : 'Disabling');
    }, byUuid),
    DeleteEventSourceMapping: spec('DeleteEventSourceMapping', false, async (input, ctx) => mappingShape(await mappings.delete(scopeOf(ctx), String(input.UUID)), 'Deleting'), byUuid),
    ListEventSourceMappings: spec('ListEventSourceMappings', true, async (input, ctx) => {
      const i = input as { FunctionName?: string; EventSourceArn?: string } & Paged;
      const all = await mappings.list(scopeOf(ctx), { ...(i.FunctionName !== undefined ? { functionName: i.FunctionName } : {}), ...(i.EventSourceArn !== undefined ? { eventSourceArn: i.EventSourceArn } : {}) });
      const start = i.Marker !== undefined && /^\d+$/.test(i.Marker) ? Number(i.Marker) : 0;
      const size = Math.min(i.MaxItems ?? 100, 100);
      const page = all.slice(start, start + size);
      return { EventSourceMappings: page.map((m) => mappingShape(m)), ...(start + size < all.length ? { NextMarker: String(start + size) } : {}) };
    }),
  };
}

