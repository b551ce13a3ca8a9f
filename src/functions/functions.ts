/**
 * The Lambda control plane: functions and their `$LATEST` and published versions,
 * aliases, resource-based policies (AddPermission), tags and reserved concurrency, with
 * Lambda's names, limits and errors. Running code lives in invoker.ts; this module only
 * keeps what a function is. Resource policies are also kept in memory, so the request
 * pipeline and the services that invoke functions can consult them synchronously.
 */
import type { PolicyDocument } from '../auth/policy.js';
import { serviceAllowed, type ServiceSource } from '../auth/resource-policies.js';
import type { Clock } from '../platform/clock.js';
import { errors } from '../platform/errors.js';
import type { RandomSource } from '../platform/ids.js';
import { codeSha256, inspectZip } from './code.js';
import { lambdaErrors } from './errors.js';
import type { AliasRecord, FunctionRecord, FunctionScope, FunctionStore, PermissionStatement, VersionRecord } from './store.js';

/** Runtimes Cairn runs: Node.js with the machine's `node`, Python with its `python3`. */
export const SUPPORTED_RUNTIMES: ReadonlySet<string> = new Set([
  'nodejs18.x', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x',
  'python3.9', 'python3.10', 'python3.11', 'python3.12', 'python3.13', 'python3.14',
]);
const DEPRECATED_RUNTIMES: ReadonlySet<string> = new Set([
  'nodejs', 'nodejs4.3', 'nodejs6.10', 'nodejs8.10', 'nodejs10.x', 'nodejs12.x', 'nodejs14.x', 'nodejs16.x', 'nodejs4.3-edge',
  'python2.7', 'python3.6', 'python3.7', 'python3.8',
]);
const MAX_TIMEOUT_SECONDS = 900;
const MAX_MEMORY_MB = 10_240;
const MAX_ENVIRONMENT_BYTES = 4096;
/** Lambda's quota on a function's resource-based policy. */
const MAX_POLICY_BYTES = 20_480;
const MAX_TAGS = 50;
/** Lambda's default account concurrency; a function may reserve up to this less 100 unreserved. */
const ACCOUNT_CONCURRENCY = 1000;
const UNRESERVED_MINIMUM = 100;
const MAX_LIST_ITEMS = 50;
/** Environment variables Lambda sets itself and refuses from the function's configuration. */
const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);

export const LATEST = '$LATEST';

/** The input members of CreateFunction and UpdateFunctionConfiguration that change a configuration. */
export interface ConfigurationInput {
  Runtime?: string;
  Role?: string;
  Handler?: string;
  Description?: string;
  Timeout?: number;
  MemorySize?: number;
  Environment?: { Variables?: Record<string, string> };
  DeadLetterConfig?: { TargetArn?: string };
  EphemeralStorage?: { Size?: number };
}

export interface CodeInput {
  ZipFile?: Uint8Array;
  S3Bucket?: string;
  S3Key?: string;
  S3ObjectVersion?: string;
}

/** A function as a caller names it, resolved to one version. */
export interface ResolvedFunction {
  fn: FunctionRecord;
  version: VersionRecord;
  /** The ARN the caller named: unqualified, or with its version or alias. */
  invokedArn: string;
  /** The alias the caller named, if any. */
  alias?: string;
}

export interface FunctionsDeps {
  store: FunctionStore;
  clock: Clock;
  random: RandomSource;
  /** Whether the operator lets uploaded code run (`cairn server --functions`). */
  enabled: boolean;
  /** Whether the role exists and its trust policy lets `lambda.amazonaws.com` assume it. */
  roleTrustsLambda(roleArn: string): boolean;
  /** Reads a code package from a bucket as the caller; throws the S3 error when it cannot. */
  readS3Code?(scope: FunctionScope, bucket: string, key: string, versionId: string | undefined): Promise<Uint8Array>;
  /** Told when a version's configuration or code changed or went away: its warm instances go. */
  retired?(functionArn: string): void;
}

export function functionArn(scope: FunctionScope, name: string, qualifier?: string): string {
  return `arn:aws:lambda:${scope.region}:${scope.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

const NAME = /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:|(\d{12}):function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]+))?$/;

/** Splits a FunctionName (name, partial or full ARN, optionally qualified) into its parts. */
export function parseFunctionName(text: string, scope: FunctionScope): { scope: FunctionScope; name: string; qualifier?: string } {
  const m = NAME.exec(text);
  if (!m?.[4]) throw lambdaErrors.invalidParameter(`1 validation error detected: Value '${text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern`);
  const accountId = m[2] ?? m[3] ?? scope.accountId;
  const region = m[1] ?? scope.region;
  return { scope: { accountId, region }, name: m[4], ...(m[5] !== undefined ? { qualifier: m[5] } : {}) };
}

/** Lambda's timestamp text: `2024-01-31T12:00:00.000+0000`. */
export function lambdaTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function validationError(value: string | number, member: string, constraint: string) {
  return errors.validation(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

export class Functions {
  /** Policies by function ARN (unqualified) then qualifier, for synchronous checks. */
  private readonly policies = new Map<string, Record<string, PermissionStatement[]>>();

  constructor(private readonly deps: FunctionsDeps) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  /** Loads what must be answered synchronously (resource policies). */
  async load(scopes: () => Promise<FunctionRecord[]>): Promise<void> {
    for (const fn of await scopes()) this.policies.set(functionArn(fn, fn.functionName), fn.policies);
  }

  private async requireFunction(scope: FunctionScope, name: string): Promise<FunctionRecord> {
    const fn = await this.deps.store.getFunction(scope, name);
    if (!fn) throw lambdaErrors.functionNotFound(functionArn(scope, name));
    return fn;
  }

  /** Resolves a name (and optional qualifier) to the version it means. */
  async resolve(callerScope: FunctionScope, functionName: string, qualifierParam?: string): Promise<ResolvedFunction> {
    const { scope, name, qualifier: fromName } = parseFunctionName(functionName, callerScope);
    if (fromName !== undefined && qualifierParam !== undefined && fromName !== qualifierParam) {
      throw lambdaErrors.invalidParameter('The derived qualifier from the function name does not match the specified qualifier.');
    }
    const qualifier = fromName ?? qualifierParam;
    const fn = await this.requireFunction(scope, name);
    let version = LATEST;
    let alias: string | undefined;
    if (qualifier !== undefined && qualifier !== LATEST) {
      if (/^\d+$/.test(qualifier)) version = qualifier;
      else {
        const a = await this.deps.store.getAlias(scope, name, qualifier);
        if (!a) throw lambdaErrors.functionNotFound(functionArn(scope, name, qualifier));
        version = a.functionVersion;
        alias = qualifier;
      }
    }
    const v = await this.deps.store.getVersion(scope, name, version);
    if (!v) throw lambdaErrors.functionNotFound(functionArn(scope, name, qualifier));
    return { fn, version: v, invokedArn: functionArn(scope, name, qualifier), ...(alias !== undefined ? { alias } : {}) };
  }

  // ---------------------------------------------------------------- functions

  async createFunction(scope: FunctionScope, input: ConfigurationInput & { FunctionName: string; Code: CodeInput; Publish?: boolean; Tags?: Record<string, string> }): Promise<VersionRecord> {
    if (!this.deps.enabled) {
      throw lambdaErrors.invalidParameter(
        'This Cairn server does not run function code. The operator enables it with `cairn server --functions` (or CAIRN_FUNCTIONS=1); any principal allowed lambda:CreateFunction then runs code as the server\'s OS user.',
      );
    }
    const { name, qualifier } = parseFunctionName(input.FunctionName, scope);
    if (qualifier !== undefined || input.FunctionName.includes(':') && !input.FunctionName.endsWith(`:function:${name}`)) {
      throw lambdaErrors.invalidParameter('Function name cannot contain a qualifier.');
    }
    if (input.Runtime === undefined) throw lambdaErrors.invalidParameter('Runtime is required for functions of package type Zip.');
    if (input.Handler === undefined) throw lambdaErrors.invalidParameter('Handler is required for functions of package type Zip.');
    this.checkConfiguration(input);
    if (input.Tags) this.checkTags(input.Tags);
    const zip = await this.codeOf(scope, input.Code);
    if (await this.deps.store.getFunction(scope, name)) throw lambdaErrors.conflict(`Function already exist: ${name}`);
    const now = this.deps.clock.now();
    const sha = codeSha256(zip);
    await this.deps.store.putCode(sha, zip);
    const fn: FunctionRecord = { ...scope, functionName: name, nextVersion: 1, tags: input.Tags ?? {}, policies: {}, policyRevision: this.deps.random.uuid(), createdAt: now };
    const latest: VersionRecord = {
      ...scope,
      functionName: name,
      version: LATEST,
      runtime: input.Runtime,
      role: input.Role ?? '',
      handler: input.Handler,
      description: input.Description ?? '',
      timeout: input.Timeout ?? 3,
      memorySize: input.MemorySize ?? 128,
      ephemeralStorage: input.EphemeralStorage?.Size ?? 512,
      environment: input.Environment?.Variables ?? {},
      codeSha256: sha,
      codeSize: zip.byteLength,
      ...(input.DeadLetterConfig?.TargetArn ? { deadLetterTarget: input.DeadLetterConfig.TargetArn } : {}),
      lastModified: now,
      revisionId: this.deps.random.uuid(),
    };
    await this.deps.store.putFunction(fn);
    await this.deps.store.putVersion(latest);
    this.policies.set(functionArn(scope, name), fn.policies);
    if (input.Publish) return this.publish(fn, latest, '');
    return latest;
  }

  private async codeOf(scope: FunctionScope, code: CodeInput): Promise<Uint8Array> {
    let zip: Uint8Array;
    if (code.ZipFile !== undefined) {
      if (code.S3Bucket !== undefined || code.S3Key !== undefined) throw lambdaErrors.invalidParameter('Please provide a source for function code: either ZipFile or S3Bucket and S3Key, not both.');
      zip = code.ZipFile;
    } else if (code.S3Bucket !== undefined && code.S3Key !== undefined) {
      if (!this.deps.readS3Code) throw lambdaErrors.invalidParameter('Code from S3 is not available on this server.');
      zip = await this.deps.readS3Code(scope, code.S3Bucket, code.S3Key, code.S3ObjectVersion);
    } else {
      throw lambdaErrors.invalidParameter('Please provide a source for function code.');
    }
    inspectZip(zip);
    return zip;
  }

  private checkConfiguration(input: ConfigurationInput): void {
    if (input.Runtime !== undefined) {
      if (DEPRECATED_RUNTIMES.has(input.Runtime)) {
        throw lambdaErrors.invalidParameter(
          `The runtime parameter of ${input.Runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`,
        );
      }
      if (!SUPPORTED_RUNTIMES.has(input.Runtime)) {
        throw lambdaErrors.invalidParameter(`The runtime parameter of ${input.Runtime} is not supported by this server: it runs nodejs* and python3.* functions.`);
      }
    }
    if (input.Role !== undefined && !this.deps.roleTrustsLambda(input.Role)) {
      throw lambdaErrors.invalidParameter('The role defined for the function cannot be assumed by Lambda.');
    }
    if (input.Timeout !== undefined && input.Timeout > MAX_TIMEOUT_SECONDS) {
      throw validationError(input.Timeout, 'timeout', `Member must have value less than or equal to ${MAX_TIMEOUT_SECONDS}`);
    }
    if (input.MemorySize !== undefined && input.MemorySize > MAX_MEMORY_MB) {
      throw validationError(input.MemorySize, 'memorySize', `Member must have value less than or equal to ${MAX_MEMORY_MB}`);
    }
    if (input.EphemeralStorage?.Size !== undefined && input.EphemeralStorage.Size !== 512) {
      throw lambdaErrors.invalidParameter('EphemeralStorage sizes other than 512 MB are not supported by this server.');
    }
    if (input.DeadLetterConfig?.TargetArn && !/^arn:aws[a-zA-Z-]*:(sqs|sns):/.test(input.DeadLetterConfig.TargetArn)) {
      throw lambdaErrors.invalidParameter('The provided target arn is invalid. Only SQS and SNS targets are supported.');
    }
    const vars = input.Environment?.Variables;
    if (vars) {
      const reserved = Object.keys(vars).filter((k) => RESERVED_VARIABLES.has(k));
      if (reserved.length > 0) {
        throw lambdaErrors.invalidParameter(
          `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
        );
      }
      const text = JSON.stringify(vars);
      if (Buffer.byteLength(text) > MAX_ENVIRONMENT_BYTES) {
        throw lambdaErrors.invalidParameter(
          `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${text.slice(0, 100)}`,
        );
      }
    }
  }

  private checkTags(tags: Record<string, string>, existing: Record<string, string> = {}): void {
    if (Object.keys({ ...existing, ...tags }).length > MAX_TAGS) throw lambdaErrors.invalidParameter(`Number of tags exceeds resource tag limit of ${MAX_TAGS}.`);
    for (const key of Object.keys(tags)) {
      if (key.toLowerCase().startsWith('aws:')) throw lambdaErrors.invalidParameter('Tag keys cannot start with the "aws:" prefix.');
    }
  }

  async getFunction(scope: FunctionScope, functionName: string, qualifier?: string): Promise<ResolvedFunction> {
    return this.resolve(scope, functionName, qualifier);
  }

  async listFunctions(scope: FunctionScope, opts: { all: boolean; marker?: string; maxItems?: number }): Promise<{ versions: VersionRecord[]; nextMarker?: string }> {
    const out: VersionRecord[] = [];
    for (const fn of await this.deps.store.listFunctions(scope)) {
      const versions = await this.deps.store.listVersions(scope, fn.functionName);
      out.push(...(opts.all ? versions : versions.filter((v) => v.version === LATEST)));
    }
    return page(out, opts.marker, opts.maxItems);
  }

  async updateCode(scope: FunctionScope, functionName: string, code: CodeInput & { Publish?: boolean; RevisionId?: string; DryRun?: boolean }): Promise<VersionRecord> {
    if (!this.deps.enabled) throw lambdaErrors.invalidParameter('This Cairn server does not run function code (start it with `cairn server --functions`).');
    const { fn, version: latest } = await this.latestOf(scope, functionName, code.RevisionId);
    const zip = await this.codeOf(scope, code);
    if (code.DryRun) return { ...latest, codeSha256: codeSha256(zip), codeSize: zip.byteLength };
    const sha = codeSha256(zip);
    await this.deps.store.putCode(sha, zip);
    const next: VersionRecord = { ...latest, codeSha256: sha, codeSize: zip.byteLength, lastModified: this.deps.clock.now(), revisionId: this.deps.random.uuid() };
    await this.deps.store.putVersion(next);
    this.deps.retired?.(functionArn(fn, fn.functionName, LATEST));
    if (code.Publish) return this.publish(fn, next, '');
    return next;
  }

  async updateConfiguration(scope: FunctionScope, functionName: string, input: ConfigurationInput & { RevisionId?: string }): Promise<VersionRecord> {
    const { fn, version: latest } = await this.latestOf(scope, functionName, input.RevisionId);
    this.checkConfiguration(input);
    const next: VersionRecord = {
      ...latest,
      ...(input.Runtime !== undefined ? { runtime: input.Runtime } : {}),
      ...(input.Role !== undefined ? { role: input.Role } : {}),
      ...(input.Handler !== undefined ? { handler: input.Handler } : {}),
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      ...(input.Timeout !== undefined ? { timeout: input.Timeout } : {}),
      ...(input.MemorySize !== undefined ? { memorySize: input.MemorySize } : {}),
      ...(input.Environment !== undefined ? { environment: input.Environment.Variables ?? {} } : {}),
      lastModified: this.deps.clock.now(),
      revisionId: this.deps.random.uuid(),
    };
    if (input.DeadLetterConfig !== undefined) {
      if (input.DeadLetterConfig.TargetArn) next.deadLetterTarget = input.DeadLetterConfig.TargetArn;
      else delete next.deadLetterTarget;
    }
    await this.deps.store.putVersion(next);
    this.deps.retired?.(functionArn(fn, fn.functionName, LATEST));
    return next;
  }

  private async latestOf(scope: FunctionScope, functionName: string, revisionId: string | undefined): Promise<{ fn: FunctionRecord; version: VersionRecord }> {
    const { scope: s, name, qualifier } = parseFunctionName(functionName, scope);
    if (qualifier !== undefined) throw lambdaErrors.invalidParameter('Current operation does not support versions other than $LATEST. Please set version to $LATEST or do not set a version in your request.');
    const fn = await this.requireFunction(s, name);
    const version = await this.deps.store.getVersion(s, name, LATEST);
    if (!version) throw lambdaErrors.functionNotFound(functionArn(s, name));
    if (revisionId !== undefined && revisionId !== version.revisionId) {
      throw lambdaErrors.preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
    }
    return { fn, version };
  }

  async deleteFunction(scope: FunctionScope, functionName: string, qualifierParam?: string): Promise<void> {
    const { scope: s, name, qualifier: q } = parseFunctionName(functionName, scope);
    const qualifier = q ?? qualifierParam;
    const fn = await this.requireFunction(s, name);
    if (qualifier === LATEST) throw lambdaErrors.invalidParameter('$LATEST version cannot be deleted without deleting the function.');
    if (qualifier !== undefined) {
      if (!/^\d+$/.test(qualifier)) throw lambdaErrors.invalidParameter('Deletion of aliases is not supported.');
      if (!(await this.deps.store.getVersion(s, name, qualifier))) throw lambdaErrors.functionNotFound(functionArn(s, name, qualifier));
      const using = (await this.deps.store.listAliases(s, name)).filter((a) => a.functionVersion === qualifier).map((a) => a.name);
      if (using.length > 0) throw lambdaErrors.conflict(`Unable to delete version because the following aliases reference it: [${using.join(', ')}]`);
      await this.deps.store.deleteVersion(s, name, qualifier);
      this.deps.retired?.(functionArn(s, name, qualifier));
    } else {
      for (const v of await this.deps.store.listVersions(s, name)) this.deps.retired?.(functionArn(s, name, v.version));
      await this.deps.store.deleteFunction(s, name);
      this.policies.delete(functionArn(fn, name));
    }
    await this.deps.store.pruneCode();
  }

  // ---------------------------------------------------------------- versions and aliases

  async publishVersion(scope: FunctionScope, functionName: string, input: { CodeSha256?: string; Description?: string; RevisionId?: string }): Promise<VersionRecord> {
    const { fn, version: latest } = await this.latestOf(scope, functionName, input.RevisionId);
    if (input.CodeSha256 !== undefined && input.CodeSha256 !== latest.codeSha256) {
      throw lambdaErrors.invalidParameter(`CodeSHA256 (${input.CodeSha256}) is different from current CodeSHA256 in $LATEST (${latest.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`);
    }
    // Publishing an unchanged $LATEST again returns the version it already is.
    const versions = await this.deps.store.listVersions(fn, fn.functionName);
    const last = versions.at(-1);
    if (last && last.version !== LATEST && sameConfiguration(last, latest)) return last;
    return this.publish(fn, latest, input.Description ?? latest.description);
  }

  private async publish(fn: FunctionRecord, latest: VersionRecord, description: string): Promise<VersionRecord> {
    const version: VersionRecord = { ...latest, version: String(fn.nextVersion), description: description || latest.description, revisionId: this.deps.random.uuid() };
    await this.deps.store.putVersion(version);
    await this.deps.store.putFunction({ ...fn, nextVersion: fn.nextVersion + 1 });
    return version;
  }

  async listVersions(scope: FunctionScope, functionName: string, opts: { marker?: string; maxItems?: number }): Promise<{ versions: VersionRecord[]; nextMarker?: string }> {
    const { scope: s, name } = parseFunctionName(functionName, scope);
    await this.requireFunction(s, name);
    return page(await this.deps.store.listVersions(s, name), opts.marker, opts.maxItems);
  }

  async createAlias(scope: FunctionScope, functionName: string, input: { Name: string; FunctionVersion: string; Description?: string; RoutingConfig?: unknown }): Promise<AliasRecord> {
    if (input.RoutingConfig !== undefined) throw lambdaErrors.invalidParameter('Alias routing configurations (weighted versions) are not supported by this server.');
    const { scope: s, name } = parseFunctionName(functionName, scope);
    await this.requireFunction(s, name);
    await this.requireVersion(s, name, input.FunctionVersion);
    if (await this.deps.store.getAlias(s, name, input.Name)) throw lambdaErrors.conflict(`Alias already exists: ${functionArn(s, name, input.Name)}`);
    const alias: AliasRecord = { ...s, functionName: name, name: input.Name, functionVersion: input.FunctionVersion, description: input.Description ?? '', revisionId: this.deps.random.uuid() };
    await this.deps.store.putAlias(alias);
    return alias;
  }

  private async requireVersion(scope: FunctionScope, name: string, version: string): Promise<void> {
    if (!(await this.deps.store.getVersion(scope, name, version))) throw lambdaErrors.functionNotFound(functionArn(scope, name, version));
  }

  async getAlias(scope: FunctionScope, functionName: string, aliasName: string): Promise<AliasRecord> {
    const { scope: s, name } = parseFunctionName(functionName, scope);
    await this.requireFunction(s, name);
    const alias = await this.deps.store.getAlias(s, name, aliasName);
    if (!alias) throw lambdaErrors.notFound(`Cannot find alias arn: ${functionArn(s, name, aliasName)}`);
    return alias;
  }

  async updateAlias(scope: FunctionScope, functionName: string, input: { Name: string; FunctionVersion?: string; Description?: string; RevisionId?: string; RoutingConfig?: unknown }): Promise<AliasRecord> {
    if (input.RoutingConfig !== undefined) throw lambdaErrors.invalidParameter('Alias routing configurations (weighted versions) are not supported by this server.');
    const alias = await this.getAlias(scope, functionName, input.Name);
    if (input.RevisionId !== undefined && input.RevisionId !== alias.revisionId) {
      throw lambdaErrors.preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
    }
    if (input.FunctionVersion !== undefined) await this.requireVersion(alias, alias.functionName, input.FunctionVersion);
    const next: AliasRecord = {
      ...alias,
      ...(input.FunctionVersion !== undefined ? { functionVersion: input.FunctionVersion } : {}),
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      revisionId: this.deps.random.uuid(),
    };
    await this.deps.store.putAlias(next);
    return next;
  }

  async deleteAlias(scope: FunctionScope, functionName: string, aliasName: string): Promise<void> {
    const { scope: s, name } = parseFunctionName(functionName, scope);
    await this.requireFunction(s, name);
    await this.deps.store.deleteAlias(s, name, aliasName);
  }

  async listAliases(scope: FunctionScope, functionName: string, opts: { functionVersion?: string; marker?: string; maxItems?: number }): Promise<{ aliases: AliasRecord[]; nextMarker?: string }> {
    const { scope: s, name } = parseFunctionName(functionName, scope);
    await this.requireFunction(s, name);
    const all = (await this.deps.store.listAliases(s, name)).filter((a) => opts.functionVersion === undefined || a.functionVersion === opts.functionVersion);
    const { versions, nextMarker } = page(all, opts.marker, opts.maxItems);
    return { aliases: versions, ...(nextMarker !== undefined ? { nextMarker } : {}) };
  }

  // ---------------------------------------------------------------- resource policy

  async addPermission(
    scope: FunctionScope,
    functionName: string,
    input: { StatementId: string; Action: string; Principal: string; SourceArn?: string; SourceAccount?: string; Qualifier?: string; RevisionId?: string; PrincipalOrgID?: string; EventSourceToken?: string; FunctionUrlAuthType?: string },
  ): Promise<PermissionStatement> {
    if (input.PrincipalOrgID !== undefined || input.EventSourceToken !== undefined || input.FunctionUrlAuthType !== undefined) {
      throw lambdaErrors.invalidParameter('PrincipalOrgID, EventSourceToken and FunctionUrlAuthType are not supported by this server.');
    }
    const { fn, qualifier } = await this.policyTarget(scope, functionName, input.Qualifier);
    if (input.RevisionId !== undefined && input.RevisionId !== fn.policyRevision) {
      throw lambdaErrors.preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id');
    }
    const statements = fn.policies[qualifier] ?? [];
    if (statements.some((s) => s.Sid === input.StatementId)) throw lambdaErrors.conflict(`The statement id (${input.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`);
    const principal = principalOf(input.Principal);
    const condition: Record<string, Record<string, string>> = {};
    if (input.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': input.SourceArn };
    if (input.SourceAccount !== undefined) condition.StringEquals = { 'AWS:SourceAccount': input.SourceAccount };
    const statement: PermissionStatement = {
      Sid: input.StatementId,
      Effect: 'Allow',
      Principal: principal,
      Action: input.Action === '*' ? 'lambda:*' : input.Action,
      Resource: functionArn(fn, fn.functionName, qualifier || undefined),
      ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
    };
    const next = { ...fn.policies, [qualifier]: [...statements, statement] };
    if (Buffer.byteLength(JSON.stringify(policyDocument(next[qualifier] ?? []))) > MAX_POLICY_BYTES) {
      throw lambdaErrors.policyLengthExceeded('The final policy size is bigger than the limit.');
    }
    await this.savePolicies(fn, next);
    return statement;
  }

  async removePermission(scope: FunctionScope, functionName: string, input: { StatementId: string; Qualifier?: string; RevisionId?: string }): Promise<void> {
    const { fn, qualifier } = await this.policyTarget(scope, functionName, input.Qualifier);
    if (input.RevisionId !== undefined && input.RevisionId !== fn.policyRevision) {
      throw lambdaErrors.preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id');
    }
    const statements = fn.policies[qualifier] ?? [];
    if (!statements.some((s) => s.Sid === input.StatementId)) throw lambdaErrors.notFound('The resource you requested does not exist.');
    await this.savePolicies(fn, { ...fn.policies, [qualifier]: statements.filter((s) => s.Sid !== input.StatementId) });
  }

  async getPolicy(scope: FunctionScope, functionName: string, qualifierParam?: string): Promise<{ policy: string; revisionId: string }> {
    const { fn, qualifier } = await this.policyTarget(scope, functionName, qualifierParam);
    const statements = fn.policies[qualifier] ?? [];
    if (statements.length === 0) throw lambdaErrors.notFound('The resource you requested does not exist.');
    return { policy: JSON.stringify(policyDocument(statements)), revisionId: fn.policyRevision };
  }

  private async policyTarget(scope: FunctionScope, functionName: string, qualifierParam?: string): Promise<{ fn: FunctionRecord; qualifier: string }> {
    const resolved = await this.resolve(scope, functionName, qualifierParam);
    const { qualifier } = parseFunctionName(resolved.invokedArn, scope);
    return { fn: resolved.fn, qualifier: qualifier ?? '' };
  }

  private async savePolicies(fn: FunctionRecord, policies: Record<string, PermissionStatement[]>): Promise<void> {
    const next = { ...fn, policies, policyRevision: this.deps.random.uuid() };
    await this.deps.store.putFunction(next);
    this.policies.set(functionArn(fn, fn.functionName), policies);
  }

  /**
   * The resource-based policy that governs calls on `arn` (qualified or not): the
   * function's own statements and, for a qualified ARN, the version's or alias's.
   */
  policyFor(arn: string): PolicyDocument | undefined {
    const m = /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+)(?::([a-zA-Z0-9$_-]+))?$/.exec(arn);
    if (!m?.[1]) return undefined;
    const policies = this.policies.get(m[1]);
    if (!policies) return undefined;
    const statements = [...(policies[''] ?? []), ...(m[2] !== undefined ? (policies[m[2]] ?? []) : [])];
    if (statements.length === 0) return undefined;
    return { Version: '2012-10-17', Statement: statements.map((s) => ({ ...s, Resource: [s.Resource, `${s.Resource}:*`] })) };
  }

  /** Whether the function's policy lets a service (SNS, EventBridge...) invoke `arn` for `source`. */
  allowsService(arn: string, source: ServiceSource): boolean {
    const accountId = arn.split(':')[4] ?? '';
    return serviceAllowed(this.policyFor(arn), { source, action: 'lambda:InvokeFunction', resource: arn, resourceAccountId: accountId, now: this.deps.clock.now() });
  }

  // ---------------------------------------------------------------- tags and concurrency

  private async taggable(scope: FunctionScope, resource: string): Promise<FunctionRecord> {
    const { scope: s, name, qualifier } = parseFunctionName(resource, scope);
    if (qualifier !== undefined) throw lambdaErrors.invalidParameter('Tags are not supported on function versions or aliases.');
    return this.requireFunction(s, name);
  }

  async tagResource(scope: FunctionScope, resource: string, tags: Record<string, string>): Promise<void> {
    const fn = await this.taggable(scope, resource);
    this.checkTags(tags, fn.tags);
    await this.deps.store.putFunction({ ...fn, tags: { ...fn.tags, ...tags } });
  }

  async untagResource(scope: FunctionScope, resource: string, keys: string[]): Promise<void> {
    const fn = await this.taggable(scope, resource);
    const tags = { ...fn.tags };
    for (const k of keys) delete tags[k];
    await this.deps.store.putFunction({ ...fn, tags });
  }

  async listTags(scope: FunctionScope, resource: string): Promise<Record<string, string>> {
    return (await this.taggable(scope, resource)).tags;
  }

  async putConcurrency(scope: FunctionScope, functionName: string, reserved: number): Promise<number> {
    const { scope: s, name, qualifier } = parseFunctionName(functionName, scope);
    if (qualifier !== undefined) throw lambdaErrors.invalidParameter('Concurrency is set on the function, not on a version or alias.');
    const fn = await this.requireFunction(s, name);
    const others = (await this.deps.store.listFunctions(s)).filter((f) => f.functionName !== name).reduce((n, f) => n + (f.reservedConcurrency ?? 0), 0);
    if (others + reserved > ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM) {
      throw lambdaErrors.invalidParameter(
        `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${UNRESERVED_MINIMUM}].`,
      );
    }
    await this.deps.store.putFunction({ ...fn, reservedConcurrency: reserved });
    return reserved;
  }

  async deleteConcurrency(scope: FunctionScope, functionName: string): Promise<void> {
    const { scope: s, name } = parseFunctionName(functionName, scope);
    const fn = await this.requireFunction(s, name);
    const next = { ...fn };
    delete next.reservedConcurrency;
    await this.deps.store.putFunction(next);
  }

  /** The function record behind an ARN, if it exists. */
  async find(arn: string): Promise<FunctionRecord | undefined> {
    const m = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]+)/.exec(arn);
    if (!m?.[1] || !m[2] || !m[3]) return undefined;
    return this.deps.store.getFunction({ region: m[1], accountId: m[2] }, m[3]);
  }
}

function principalOf(text: string): { Service: string } | { AWS: string } {
  if (text.endsWith('.amazonaws.com') || text.endsWith('.amazonaws.com.cn')) return { Service: text };
  if (/^\d{12}$/.test(text)) return { AWS: `arn:aws:iam::${text}:root` };
  if (text === '*' || text.startsWith('arn:')) return { AWS: text };
  throw lambdaErrors.invalidParameter(`The provided principal was invalid. Please check the principal and try again.`);
}

function policyDocument(statements: PermissionStatement[]): { Version: string; Id: string; Statement: PermissionStatement[] } {
  return { Version: '2012-10-17', Id: 'default', Statement: statements };
}

function sameConfiguration(a: VersionRecord, b: VersionRecord): boolean {
  return (
    a.codeSha256 === b.codeSha256 && a.runtime === b.runtime && a.role === b.role && a.handler === b.handler && a.timeout === b.timeout &&
    a.memorySize === b.memorySize && JSON.stringify(a.environment) === JSON.stringify(b.environment) && a.deadLetterTarget === b.deadLetterTarget
  );
}

function page<T>(all: T[], marker: string | undefined, maxItems: number | undefined): { versions: T[]; nextMarker?: string } {
  const start = marker !== undefined && /^\d+$/.test(marker) ? Number(marker) : 0;
  const size = Math.min(maxItems ?? MAX_LIST_ITEMS, MAX_LIST_ITEMS);
  const versions = all.slice(start, start + size);
  return start + size < all.length ? { versions, nextMarker: String(start + size) } : { versions };
}
