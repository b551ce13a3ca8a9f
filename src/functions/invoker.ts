/**
 * Invoking functions: picks (or starts) a warm instance of the version a caller named,
 * within the function's concurrency, hands it the execution role's temporary credentials
 * and Cairn's endpoint, runs the event, and writes the invocation's log (with Lambda's
 * START, END and REPORT lines) to the CloudWatch Logs group `/aws/lambda/NAME`.
 * `Event` invocations are queued durably and retried (twice, as Lambda does) before
 * they go to the function's dead-letter queue or topic.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceSource } from '../auth/resource-policies.js';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { taskRootPath, unpack } from './code.js';
import { lambdaErrors } from './errors.js';
import { functionArn, LATEST, type Functions, type ResolvedFunction } from './functions.js';
import { Instance, type InstanceSpec, type Interpreters, type InvocationResult } from './runtime.js';
import type { FunctionScope, FunctionStore, VersionRecord } from './store.js';

/** Lambda's payload quotas. */
export const MAX_SYNC_PAYLOAD_BYTES = 6_291_456;
export const MAX_ASYNC_PAYLOAD_BYTES = 262_144;
const MAX_RESPONSE_BYTES = 6_291_556;
/** How much of the log `LogType=Tail` returns. */
const TAIL_BYTES = 4096;
/** Lambda retries a failed asynchronous invocation twice, a minute then two minutes later. */
const DEFAULT_RETRY_DELAYS_MS = [60_000, 120_000];
/** Instances idle this long are stopped; older ones are replaced before their credentials expire. */
const IDLE_MS = 5 * 60_000;
const MAX_INSTANCE_AGE_MS = 45 * 60_000;
const ASYNC_BATCH = 32;

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeResult {
  statusCode: number;
  payload?: Uint8Array;
  functionError?: 'Unhandled';
  logResult?: string;
  executedVersion: string;
}

/** Temporary credentials of an execution role. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface InvokerDeps {
  functions: Functions;
  store: FunctionStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  interpreters: Interpreters;
  /** Where packages are unpacked (under the data directory). */
  codeDir: string;
  /** Cairn's endpoint, for `AWS_ENDPOINT_URL` inside functions. */
  endpoint(): string;
  /** Assumes the execution role as `lambda.amazonaws.com`; throws when the role cannot be assumed. */
  assumeRole(roleArn: string, sessionName: string, region: string): RoleCredentials;
  /** Appends a function's log events to `/aws/lambda/NAME` (creating group and stream as needed). */
  writeLog(scope: FunctionScope, group: string, stream: string, messages: string[]): void;
  /** Sends a failed asynchronous event to a dead-letter queue or topic. */
  deadLetter(targetArn: string, payload: string, error: { requestId: string; errorMessage: string; functionArn: string }): Promise<void>;
  /** Concurrency of a function with no reserved concurrency (instances at once). */
  defaultConcurrency?: number;
  retryDelaysMs?: readonly number[];
  /** Wraps each runtime command in a sandbox (bubblewrap), when one is available. */
  sandbox?: (spec: { taskRoot: string; tmpDir: string }) => InstanceSpec['wrap'];
}

/** Where the project's `node_modules` is (the SDK function code imports). */
function projectNodeModules(): string {
  return fileURLToPath(new URL('../../node_modules', import.meta.url));
}

export class Invoker {
  private readonly pools = new Map<string, Instance[]>();
  private readonly busyByFunction = new Map<string, number>();
  private readonly tmpDirs = new Map<Instance, string>();
  private asyncRunning: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: InvokerDeps) {
    mkdirSync(deps.codeDir, { recursive: true, mode: 0o700 });
    // ES modules find packages by walking up from the code: one link serves every task root.
    const link = join(deps.codeDir, 'node_modules');
    if (!existsSync(link)) symlinkSync(projectNodeModules(), link);
  }

  /** Invokes a resolved function as the Lambda API's Invoke does. */
  async invoke(target: ResolvedFunction, payload: Uint8Array | undefined, opts: { type: InvocationType; tail: boolean }): Promise<InvokeResult> {
    const executedVersion = target.version.version;
    const bytes = payload ?? new Uint8Array();
    const limit = opts.type === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
    if (bytes.byteLength > limit) {
      throw lambdaErrors.requestTooLarge(`Request must be smaller than ${limit} bytes for the ${opts.type === 'Event' ? 'InvokeAsync' : 'InvokeFunction'} operation`);
    }
    const text = bytes.byteLength === 0 ? '{}' : Buffer.from(bytes).toString('utf8');
    try {
      JSON.parse(text);
    } catch (e) {
      throw lambdaErrors.invalidRequestContent(`Could not parse request body into json: Could not parse payload into json: ${(e as Error).message}`);
    }
    if (opts.type === 'DryRun') return { statusCode: 204, executedVersion };
    if (opts.type === 'Event') {
      await this.enqueue(functionArn(target.fn, target.fn.functionName, executedVersion), text);
      return { statusCode: 202, executedVersion };
    }
    const requestId = this.deps.random.uuid();
    const run = await this.run(target, text, requestId);
    const out: InvokeResult = { statusCode: 200, executedVersion };
    if (run.outcome.kind === 'result') {
      if (Buffer.byteLength(run.outcome.payload) > MAX_RESPONSE_BYTES) {
        out.functionError = 'Unhandled';
        out.payload = Buffer.from(JSON.stringify({ errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`, errorType: 'Function.ResponseSizeTooLarge' }));
      } else {
        out.payload = Buffer.from(run.outcome.payload);
      }
    } else {
      out.functionError = 'Unhandled';
      out.payload = Buffer.from(JSON.stringify(run.outcome.error));
    }
    if (opts.tail) out.logResult = tail(run.log);
    return out;
  }

  /**
   * Invokes `arn` asynchronously for an AWS service (SNS, EventBridge, S3, CloudWatch),
   * once the function's resource policy lets that service in for `source`.
   *
   * @example
   * await invoker.invokeForService(arn, event, { service: 'sns.amazonaws.com', sourceArn: topicArn, sourceAccount });
   */
  async invokeForService(arn: string, event: unknown, source: ServiceSource): Promise<void> {
    if (!this.deps.functions.allowsService(arn, source)) {
      throw lambdaErrors.notFound(`${source.service} is not authorized to invoke ${arn}: the function's resource policy does not allow it (AddPermission).`);
    }
    const scope = scopeOf(arn);
    const target = await this.deps.functions.resolve(scope, arn);
    await this.enqueue(functionArn(target.fn, target.fn.functionName, target.version.version), JSON.stringify(event));
  }

  /**
   * Runs `arn` now with `event` and returns its outcome, for pollers (SQS event source
   * mappings) that act on the result. Throws TooManyRequestsException when at the limit.
   */
  async invokeNow(arn: string, event: unknown): Promise<{ ok: true; payload: string } | { ok: false; error: { errorType: string; errorMessage: string } }> {
    const target = await this.deps.functions.resolve(scopeOf(arn), arn);
    const run = await this.run(target, JSON.stringify(event), this.deps.random.uuid());
    return run.outcome.kind === 'result' ? { ok: true, payload: run.outcome.payload } : { ok: false, error: run.outcome.error };
  }

  private async enqueue(qualifiedArn: string, payload: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.enqueueAsync({ id: this.deps.random.uuid(), functionArn: qualifiedArn, payload, attempts: 0, nextAttemptAt: now, enqueuedAt: now });
    void this.tick();
  }

  /** Runs the asynchronous invocations that are due (the server calls this every second too). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.asyncRunning ??= this.drainAsync().finally(() => {
      this.asyncRunning = undefined;
    });
    return this.asyncRunning;
  }

  private async drainAsync(): Promise<void> {
    const delays = this.deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (;;) {
      const due = await this.deps.store.dueAsync(this.deps.clock.now(), ASYNC_BATCH);
      if (due.length === 0 || this.stopped) return;
      const started = new Set<string>();
      await Promise.all(
        due.map(async (item) => {
          // One attempt per item per pass; throttled ones wait a second.
          started.add(item.id);
          let target: ResolvedFunction;
          try {
            target = await this.deps.functions.resolve(scopeOf(item.functionArn), item.functionArn);
          } catch {
            await this.deps.store.deleteAsync(item.id);
            return;
          }
          let failure: string | undefined;
          const requestId = this.deps.random.uuid();
          try {
            const run = await this.run(target, item.payload, requestId);
            if (run.outcome.kind === 'error') failure = run.outcome.error.errorMessage;
          } catch (e) {
            if ((e as { code?: string }).code === 'TooManyRequestsException') {
              await this.deps.store.updateAsync(item.id, item.attempts, this.deps.clock.now() + 1000);
              return;
            }
            failure = (e as Error).message;
          }
          if (failure === undefined) {
            await this.deps.store.deleteAsync(item.id);
            return;
          }
          const delay = delays[item.attempts];
          if (delay !== undefined) {
            await this.deps.store.updateAsync(item.id, item.attempts + 1, this.deps.clock.now() + delay);
            return;
          }
          await this.deps.store.deleteAsync(item.id);
          const dlq = target.version.deadLetterTarget;
          if (dlq) {
            await this.deps.deadLetter(dlq, item.payload, { requestId, errorMessage: failure, functionArn: item.functionArn }).catch((e: unknown) => {
              this.deps.logger.warn({ err: e, functionArn: item.functionArn, dlq }, 'could not send a failed event to the dead-letter target');
            });
          } else {
            this.deps.logger.warn({ functionArn: item.functionArn, error: failure }, 'asynchronous invocation failed every attempt and has no dead-letter target');
          }
        }),
      );
      if (due.length < ASYNC_BATCH) return;
    }
  }

  /** Runs one invocation on an instance of the target's version and logs it. */
  private async run(target: ResolvedFunction, payload: string, requestId: string): Promise<InvocationResult & { log: string[] }> {
    const fnKey = functionArn(target.fn, target.fn.functionName);
    const limit = target.fn.reservedConcurrency ?? this.deps.defaultConcurrency ?? 10;
    const busy = this.busyByFunction.get(fnKey) ?? 0;
    if (limit === 0) throw lambdaErrors.tooManyRequests('Rate Exceeded.', 'ReservedFunctionConcurrentInvocationLimitExceeded');
    const instance = await this.acquire(target.version, busy < limit);
    if (!instance) throw lambdaErrors.tooManyRequests('Rate Exceeded.', target.fn.reservedConcurrency !== undefined ? 'ReservedFunctionConcurrentInvocationLimitExceeded' : 'ConcurrentInvocationLimitExceeded');
    this.busyByFunction.set(fnKey, (this.busyByFunction.get(fnKey) ?? 0) + 1);
    const work = instance.invoke({ requestId, payload, invokedFunctionArn: target.invokedArn });
    this.inFlight.add(work);
    let result: InvocationResult;
    try {
      result = await work;
    } finally {
      this.inFlight.delete(work);
      this.busyByFunction.set(fnKey, (this.busyByFunction.get(fnKey) ?? 1) - 1);
      if (!instance.alive) this.remove(instance);
    }
    const v = target.version;
    const log = [
      `START RequestId: ${requestId} Version: ${v.version}`,
      ...result.lines,
      ...(result.outcome.kind === 'error' && result.outcome.error.errorType === 'Sandbox.Timedout'
        ? [`${new Date(this.deps.clock.now()).toISOString()} ${requestId} Task timed out after ${(v.timeout).toFixed(2)} seconds`]
        : []),
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: ${result.durationMs.toFixed(2)} ms\tBilled Duration: ${Math.max(1, Math.ceil(result.durationMs))} ms\tMemory Size: ${v.memorySize} MB\tMax Memory Used: ${result.maxMemoryUsedMb} MB${result.initDurationMs !== undefined ? `\tInit Duration: ${result.initDurationMs.toFixed(2)} ms` : ''}${result.outcome.kind === 'error' && result.outcome.error.errorType.startsWith('Runtime.') || result.outcome.kind === 'error' && result.outcome.error.errorType === 'Sandbox.Timedout' ? `\tStatus: ${result.outcome.error.errorType === 'Sandbox.Timedout' ? 'timeout' : 'error'}\tError Type: ${result.outcome.error.errorType}` : ''}`,
    ];
    try {
      this.deps.writeLog(v, `/aws/lambda/${v.functionName}`, result.logStreamName, log);
    } catch (e) {
      this.deps.logger.warn({ err: e, function: v.functionName }, 'could not write the function log');
    }
    return { ...result, log };
  }

  private instanceKey(v: VersionRecord): string {
    return `${functionArn(v, v.functionName, v.version)}#${v.revisionId}`;
  }

  /** An idle warm instance of the version, or a new one when `mayStart`. */
  private async acquire(v: VersionRecord, mayStart: boolean): Promise<Instance | undefined> {
    if (!mayStart) return undefined;
    const key = this.instanceKey(v);
    const pool = this.pools.get(key) ?? [];
    const idle = pool.find((i) => !i.busy && i.alive && i.age < MAX_INSTANCE_AGE_MS);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    const spec = await this.specFor(v, key);
    const instance = new Instance(spec.spec, this.deps.interpreters, spec.stream, () => this.deps.clock.now());
    instance.busy = true;
    this.tmpDirs.set(instance, spec.tmpDir);
    pool.push(instance);
    this.pools.set(key, pool);
    return instance;
  }

  private async specFor(v: VersionRecord, key: string): Promise<{ spec: InstanceSpec; stream: string; tmpDir: string }> {
    let taskRoot = taskRootPath(this.deps.codeDir, v.codeSha256);
    if (!existsSync(taskRoot)) {
      const bytes = await this.deps.store.getCode(v.codeSha256);
      if (!bytes) throw lambdaErrors.notFound(`The code of ${functionArn(v, v.functionName, v.version)} is missing.`);
      taskRoot = unpack(this.deps.codeDir, v.codeSha256, bytes);
    }
    let creds: RoleCredentials;
    try {
      creds = this.deps.assumeRole(v.role, v.functionName, v.region);
    } catch {
      throw lambdaErrors.invalidParameter('The role defined for the function cannot be assumed by Lambda.');
    }
    const date = new Date(this.deps.clock.now()).toISOString().slice(0, 10).replace(/-/g, '/');
    const stream = `${date}/[${v.version}]${this.deps.random.uuid().replace(/-/g, '')}`;
    const tmpDir = mkdtempSync(join(this.deps.codeDir, '..', 'tmp-'));
    const env: Record<string, string> = {
      ...v.environment,
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      TZ: ':UTC',
      HOME: tmpDir,
      TMPDIR: tmpDir,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: v.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${v.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: v.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: v.version,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(v.memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${v.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: stream,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: v.region,
      AWS_DEFAULT_REGION: v.region,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken,
      AWS_ENDPOINT_URL: this.deps.endpoint(),
      // The SDKs read no file of the machine's: credentials and region come from the variables above.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      NODE_PATH: projectNodeModules(),
    };
    return {
      spec: {
        key,
        runtime: v.runtime,
        taskRoot,
        env,
        memoryMb: v.memorySize,
        timeoutMs: v.timeout * 1000,
        ...(this.deps.sandbox ? { wrap: this.deps.sandbox({ taskRoot, tmpDir }) } : {}),
      },
      stream,
      tmpDir,
    };
  }

  private remove(instance: Instance): void {
    instance.kill();
    const pool = this.pools.get(instance.spec.key);
    if (pool) {
      const rest = pool.filter((i) => i !== instance);
      if (rest.length > 0) this.pools.set(instance.spec.key, rest);
      else this.pools.delete(instance.spec.key);
    }
    const tmp = this.tmpDirs.get(instance);
    this.tmpDirs.delete(instance);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }

  /** Stops the instances of a version whose code or configuration changed (or that went away). */
  retire(qualifiedArn: string): void {
    for (const pool of [...this.pools.values()]) {
      for (const i of pool) if (i.spec.key.startsWith(`${qualifiedArn}#`) && !i.busy) this.remove(i);
    }
  }

  /** Stops instances idle too long or too old (run by the server every few seconds). */
  reap(): void {
    const now = this.deps.clock.now();
    for (const pool of [...this.pools.values()]) {
      for (const i of pool) {
        if (!i.busy && (!i.alive || now - i.lastUsed > IDLE_MS || i.age > MAX_INSTANCE_AGE_MS)) this.remove(i);
      }
    }
  }

  /** How many instances are running (warm or busy). */
  instances(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.length;
    return n;
  }

  /** Waits for the asynchronous queue's current pass. */
  async idle(): Promise<void> {
    await this.asyncRunning;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
    await this.asyncRunning;
    for (const pool of [...this.pools.values()]) for (const i of pool) this.remove(i);
  }
}

/** The scope an ARN names. */
export function scopeOf(arn: string): FunctionScope {
  const parts = arn.split(':');
  return { region: parts[3] ?? '', accountId: parts[4] ?? '' };
}

function tail(lines: string[]): string {
  const text = Buffer.from(lines.join('\n') + '\n');
  return text.subarray(Math.max(0, text.length - TAIL_BYTES)).toString('base64');
}

export { LATEST };
