/**
 * SQS event source mappings: the mapping records (Create/Get/Update/Delete/List) and the
 * poller that reads each enabled mapping's queue in batches, invokes the function with
 * Lambda's SQS event (`Records` with `eventSource: aws:sqs`), deletes the batch when the
 * function succeeds, keeps it (to reappear after the visibility timeout) when it fails,
 * and with `ReportBatchItemFailures` deletes all but the items the function names.
 */
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { lambdaErrors } from './errors.js';
import { functionArn, type Functions } from './functions.js';
import type { EventSourceMappingRecord, FunctionScope, FunctionStore } from './store.js';

/** A message as the poller hands it to the function. */
export interface SourceMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, unknown>;
}

/** The queues the poller reads (the SQS engine). */
export interface MappingQueues {
  /** The queue's visibility timeout in seconds, or undefined when no such queue exists. */
  visibilityTimeout(arn: string): number | undefined;
  receive(arn: string, max: number): Promise<SourceMessage[]>;
  delete(arn: string, receiptHandles: string[]): Promise<void>;
}

export interface MappingsDeps {
  store: FunctionStore;
  functions: Functions;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  queues: MappingQueues;
  /** Runs the function now and returns its outcome. */
  invoke(arn: string, event: unknown): Promise<{ ok: true; payload: string } | { ok: false; error: { errorType: string; errorMessage: string } }>;
}

export interface MappingInput {
  FunctionName?: string;
  EventSourceArn?: string;
  BatchSize?: number;
  MaximumBatchingWindowInSeconds?: number;
  Enabled?: boolean;
  FunctionResponseTypes?: string[];
}

/** Members of a mapping that belong to other event sources (streams, Kafka, MQ...), refused here. */
export const UNSUPPORTED_MAPPING_MEMBERS = [
  'StartingPosition', 'StartingPositionTimestamp', 'ParallelizationFactor', 'BisectBatchOnFunctionError', 'MaximumRecordAgeInSeconds',
  'MaximumRetryAttempts', 'TumblingWindowInSeconds', 'Topics', 'Queues', 'SourceAccessConfigurations', 'SelfManagedEventSource',
  'SelfManagedKafkaEventSourceConfig', 'AmazonManagedKafkaEventSourceConfig', 'DocumentDBEventSourceConfig', 'DestinationConfig',
  'FilterCriteria', 'ScalingConfig', 'KMSKeyArn', 'MetricsConfig', 'ProvisionedPollerConfig', 'LoggingConfig', 'Tags',
] as const;

const SQS_MAX_BATCH = 10_000;
const SQS_BATCH_WITHOUT_WINDOW = 10;

export function mappingArn(m: Pick<EventSourceMappingRecord, 'uuid' | 'accountId' | 'region'>): string {
  return `arn:aws:lambda:${m.region}:${m.accountId}:event-source-mapping:${m.uuid}`;
}

export class EventSourceMappings {
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: MappingsDeps) {}

  async create(scope: FunctionScope, input: MappingInput): Promise<EventSourceMappingRecord> {
    if (!input.EventSourceArn || !/^arn:aws[a-zA-Z-]*:sqs:/.test(input.EventSourceArn)) {
      throw lambdaErrors.invalidParameter('Unrecognized event source. This server maps SQS queues to functions.');
    }
    if (this.deps.queues.visibilityTimeout(input.EventSourceArn) === undefined) {
      throw lambdaErrors.invalidParameter(`Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist`);
    }
    const target = await this.deps.functions.resolve(scope, input.FunctionName ?? '');
    const existing = (await this.deps.store.listEventSourceMappings(scope)).find((m) => m.eventSourceArn === input.EventSourceArn && m.functionArn === target.invokedArn);
    if (existing) {
      throw lambdaErrors.conflict(`An event source mapping with SQS arn (" ${input.EventSourceArn} ") and function (" ${target.fn.functionName} ") already exists. Please update or delete the existing mapping with UUID ${existing.uuid}`);
    }
    const record: EventSourceMappingRecord = {
      ...scope,
      uuid: this.deps.random.uuid(),
      functionArn: target.invokedArn,
      eventSourceArn: input.EventSourceArn,
      batchSize: 10,
      maximumBatchingWindowInSeconds: 0,
      enabled: input.Enabled ?? true,
      functionResponseTypes: [],
      lastModified: this.deps.clock.now(),
      lastProcessingResult: 'No records processed',
    };
    const next = this.apply(record, input);
    await this.deps.store.putEventSourceMapping(next);
    void this.tick();
    return next;
  }

  private apply(record: EventSourceMappingRecord, input: MappingInput): EventSourceMappingRecord {
    const next: EventSourceMappingRecord = {
      ...record,
      ...(input.BatchSize !== undefined ? { batchSize: input.BatchSize } : {}),
      ...(input.MaximumBatchingWindowInSeconds !== undefined ? { maximumBatchingWindowInSeconds: input.MaximumBatchingWindowInSeconds } : {}),
      ...(input.Enabled !== undefined ? { enabled: input.Enabled } : {}),
      ...(input.FunctionResponseTypes !== undefined ? { functionResponseTypes: input.FunctionResponseTypes } : {}),
      lastModified: this.deps.clock.now(),
    };
    if (next.batchSize > SQS_MAX_BATCH) throw lambdaErrors.invalidParameter(`BatchSize must be between 1 and ${SQS_MAX_BATCH} for SQS event sources.`);
    if (next.batchSize > SQS_BATCH_WITHOUT_WINDOW && next.maximumBatchingWindowInSeconds < 1) {
      throw lambdaErrors.invalidParameter('Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
    }
    if (next.maximumBatchingWindowInSeconds > 300) throw lambdaErrors.invalidParameter('MaximumBatchingWindowInSeconds must be between 0 and 300.');
    return next;
  }

  async get(scope: FunctionScope, uuid: string): Promise<EventSourceMappingRecord> {
    const m = await this.deps.store.getEventSourceMapping(uuid);
    if (!m || m.accountId !== scope.accountId || m.region !== scope.region) throw lambdaErrors.notFound(`The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: ${uuid})`);
    return m;
  }

  async update(scope: FunctionScope, uuid: string, input: MappingInput): Promise<EventSourceMappingRecord> {
    const m = await this.get(scope, uuid);
    let next = this.apply(m, input);
    if (input.FunctionName !== undefined) {
      const target = await this.deps.functions.resolve(scope, input.FunctionName);
      next = { ...next, functionArn: target.invokedArn };
    }
    await this.deps.store.putEventSourceMapping(next);
    return next;
  }

  async delete(scope: FunctionScope, uuid: string): Promise<EventSourceMappingRecord> {
    const m = await this.get(scope, uuid);
    await this.deps.store.deleteEventSourceMapping(uuid);
    return m;
  }

  async list(scope: FunctionScope, filter: { functionName?: string; eventSourceArn?: string }): Promise<EventSourceMappingRecord[]> {
    let fnArn: string | undefined;
    if (filter.functionName !== undefined) {
      const target = await this.deps.functions.resolve(scope, filter.functionName);
      fnArn = functionArn(target.fn, target.fn.functionName);
    }
    return (await this.deps.store.listEventSourceMappings(scope)).filter(
      (m) => (fnArn === undefined || m.functionArn === fnArn || m.functionArn.startsWith(`${fnArn}:`)) && (filter.eventSourceArn === undefined || m.eventSourceArn === filter.eventSourceArn),
    );
  }

  /** Polls every enabled mapping once (the server calls this every second). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.pollAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pollAll(): Promise<void> {
    const mappings = (await this.deps.store.listEventSourceMappings()).filter((m) => m.enabled);
    await Promise.all(mappings.map((m) => this.poll(m).catch((e: unknown) => this.deps.logger.warn({ err: e, uuid: m.uuid }, 'event source mapping poll failed'))));
  }

  /** Reads and processes batches until the queue has nothing visible. */
  private async poll(m: EventSourceMappingRecord): Promise<void> {
    for (let rounds = 0; rounds < 100 && !this.stopped; rounds++) {
      const batch: SourceMessage[] = [];
      while (batch.length < m.batchSize) {
        const got = await this.deps.queues.receive(m.eventSourceArn, Math.min(10, m.batchSize - batch.length));
        if (got.length === 0) break;
        batch.push(...got);
      }
      if (batch.length === 0) return;
      const event = {
        Records: batch.map((msg) => ({
          messageId: msg.messageId,
          receiptHandle: msg.receiptHandle,
          body: msg.body,
          attributes: msg.attributes,
          messageAttributes: msg.messageAttributes,
          md5OfBody: msg.md5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: m.eventSourceArn,
          awsRegion: m.region,
        })),
      };
      let outcome: Awaited<ReturnType<MappingsDeps['invoke']>>;
      try {
        outcome = await this.deps.invoke(m.functionArn, event);
      } catch (e) {
        // Throttled or gone: the messages reappear after their visibility timeout.
        this.deps.logger.debug({ err: e, uuid: m.uuid }, 'event source mapping could not invoke its function');
        return;
      }
      if (!outcome.ok) {
        await this.note(m, 'PROBLEM: Function call failed');
        return;
      }
      let keep = new Set<string>();
      if (m.functionResponseTypes.includes('ReportBatchItemFailures')) {
        const failed = batchItemFailures(outcome.payload);
        if (failed === 'all') {
          await this.note(m, 'PROBLEM: Function call failed');
          return;
        }
        keep = failed;
      }
      const done = batch.filter((msg) => !keep.has(msg.messageId)).map((msg) => msg.receiptHandle);
      if (done.length > 0) await this.deps.queues.delete(m.eventSourceArn, done);
      await this.note(m, 'OK');
      if (keep.size > 0) return;
    }
  }

  private async note(m: EventSourceMappingRecord, result: string): Promise<void> {
    if (m.lastProcessingResult === result) return;
    const current = await this.deps.store.getEventSourceMapping(m.uuid);
    if (current) await this.deps.store.putEventSourceMapping({ ...current, lastProcessingResult: result });
    m.lastProcessingResult = result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

/**
 * The message ids a function reported as failed (`batchItemFailures`); an answer that is
 * not a valid report (or names an id that is empty) fails the whole batch, as Lambda does.
 */
function batchItemFailures(payload: string): Set<string> | 'all' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return 'all';
  }
  if (parsed === null || typeof parsed !== 'object') return new Set();
  const list = (parsed as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return 'all';
  const ids = new Set<string>();
  for (const item of list) {
    const id = item && typeof item === 'object' ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return 'all';
    ids.add(id);
  }
  return ids;
}
