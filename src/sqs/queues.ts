/**
 * The SQS engine: queues and their attributes, messages with delays, visibility
 * timeouts, retention and dead-letter redrive on the injected clock, FIFO queues
 * (message-group ordering, deduplication within five minutes), long polling, and the
 * queue policy check for AWS services (SNS, EventBridge) that send to a queue. Nothing
 * here knows HTTP: the SQS API (services/sqs) and other engines call it directly. Every
 * change goes through one group commit (storage/commit-group.ts), in call order, and a method that
 * changes what a caller is told resolves only once the change is on disk; changes a retry
 * would redo (retention) are not waited for.
 */
import { ResourcePolicyCache, serviceAllowed, type ServiceSource } from '../auth/resource-policies.js';
import { createHash } from 'node:crypto';
import { parsePolicyDocument, type PolicyDocument } from '../auth/policy.js';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { AwsError, isAwsError } from '../platform/errors.js';
import { sqsErrors } from './errors.js';
import { CommitGroup } from '../storage/commit-group.js';
import { attributeSize, md5OfAttributes, md5OfBody, type MessageAttribute } from './md5.js';
import type { QueueRecord, QueueStore, StoredMessage } from './store.js';

export type { MessageAttribute } from './md5.js';
export type { QueueRecord, StoredMessage } from './store.js';

/** The account and Region a call acts in. */
export interface QueueScope {
  accountId: string;
  region: string;
}

export type { ServiceSource } from '../auth/resource-policies.js';

export interface SendInput {
  body: string;
  attributes?: Record<string, MessageAttribute>;
  /** System attributes the sender may set (`AWSTraceHeader`). */
  systemAttributes?: Record<string, MessageAttribute>;
  delaySeconds?: number;
  groupId?: string;
  dedupId?: string;
  /** What `SenderId` reports: a user id, a role id with session, an account id. */
  senderId: string;
}

export interface SendResult {
  messageId: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  md5OfSystemAttributes?: string;
  sequenceNumber?: string;
}

export interface ReceiveOptions {
  maxMessages?: number;
  /** Seconds; the queue's VisibilityTimeout when omitted. */
  visibilityTimeout?: number;
  /** Seconds of long polling; the queue's ReceiveMessageWaitTimeSeconds when omitted. */
  waitTimeSeconds?: number;
}

/** One entry of a batch: its result, or the error that entry alone failed with. */
export type BatchOutcome<T> = { value: T } | { error: AwsError };

/** A received message and the receipt handle that now owns it. */
export interface ReceivedMessage {
  message: StoredMessage;
  receiptHandle: string;
}

export interface QueuesDeps {
  store: QueueStore;
  clock: Clock;
  random: RandomSource;
  /**
   * Wall milliseconds between re-checks during a long poll, for messages that become
   * visible by the clock (delays, visibility timeouts) rather than by a send. Default 200.
   */
  pollIntervalMs?: number;
}

const DEDUP_WINDOW_MS = 5 * 60 * 1000;
const PURGE_INTERVAL_MS = 60 * 1000;

const STANDARD_DEFAULTS: Readonly<Record<string, string>> = {
  VisibilityTimeout: '30',
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  SqsManagedSseEnabled: 'true',
};

const FIFO_DEFAULTS: Readonly<Record<string, string>> = {
  ...STANDARD_DEFAULTS,
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'queue',
  FifoThroughputLimit: 'perQueue',
};

const INTEGER_RANGES: Readonly<Record<string, [number, number]>> = {
  VisibilityTimeout: [0, 43_200],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  DelaySeconds: [0, 900],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};

/** Attributes a caller may set (GetQueueAttributes also reports the computed ones). */
const SETTABLE = new Set([
  ...Object.keys(INTEGER_RANGES),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
  'DeduplicationScope',
  'FifoThroughputLimit',
]);

/** Every attribute name GetQueueAttributes knows, in the order `All` lists them. */
export const QUEUE_ATTRIBUTE_NAMES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/;
const MAX_ATTRIBUTES = 10;

/** The ARN of a queue. */
export function queueArn(scope: QueueScope, name: string): string {
  return `arn:aws:sqs:${scope.region}:${scope.accountId}:${name}`;
}

/** Splits a queue ARN into its Region, account and name; undefined when it is not one. */
export function parseQueueArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:aws[\w-]*:sqs:([^:]+):(\d{12}):([^:/]+)$/.exec(arn);
  return m && m[1] && m[2] && m[3] ? { region: m[1], accountId: m[2], name: m[3] } : undefined;
}

/** A queue URL's account and name (`<scheme>://<host>/<account>/<name>`), whatever its host. */
export function parseQueueUrl(url: string): { accountId: string; name: string } | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const m = /^\/(\d{12})\/([^/]+)\/?$/.exec(path);
  return m && m[1] && m[2] ? { accountId: m[1], name: decodeURIComponent(m[2]) } : undefined;
}

/** True for a FIFO queue. */
export function isFifo(queue: QueueRecord): boolean {
  return queue.attributes.FifoQueue === 'true';
}

interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

function parseRedrive(text: string | undefined): RedrivePolicy | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const count = Number(raw.maxReceiveCount);
    if (typeof raw.deadLetterTargetArn !== 'string' || !Number.isInteger(count)) return undefined;
    return { deadLetterTargetArn: raw.deadLetterTargetArn, maxReceiveCount: count };
  } catch {
    return undefined;
  }
}

/** Characters SQS accepts in a body or string attribute. */
function validText(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

/** The receipt handle's text: the message's row and the receipt's random token. */
function encodeHandle(seq: number, token: string): string {
  return Buffer.from(`cairn:${seq}:${token}`, 'utf8').toString('base64');
}

function decodeHandle(handle: string): { seq: number; token: string } {
  const m = /^cairn:(\d+):([0-9a-f]{32})$/.exec(Buffer.from(handle, 'base64').toString('utf8'));
  if (!m || !m[1] || !m[2]) throw sqsErrors.receiptHandleInvalid(handle);
  return { seq: Number(m[1]), token: m[2] };
}

/** The SQS engine. */
export class Queues {
  private readonly store: QueueStore;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly pollIntervalMs: number;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly policies = new ResourcePolicyCache();
  private readonly writes: CommitGroup;
  private stopped = false;

  constructor(deps: QueuesDeps) {
    this.store = deps.store;
    this.writes = new CommitGroup(deps.store);
    this.clock = deps.clock;
    this.random = deps.random;
    this.pollIntervalMs = deps.pollIntervalMs ?? 200;
  }

  // ---- queues -------------------------------------------------------------------------

  /**
   * Creates a queue, or returns the existing one when every given attribute matches it
   * (QueueNameExists otherwise), as SQS does.
   */
  async createQueue(
    scope: QueueScope,
    name: string,
    attributes: Record<string, string> = {},
    tags: Record<string, string> = {},
  ): Promise<QueueRecord> {
    const fifo = attributes.FifoQueue === 'true';
    if (fifo ? !FIFO_NAME.test(name) : !QUEUE_NAME.test(name)) {
      throw sqsErrors.invalidParameterValue(
        fifo || name.endsWith('.fifo')
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    // An existing queue is waited for too: it may be another caller's creation, not yet on disk.
    return this.writes.run(() => {
      const checked = this.checkAttributes(scope, attributes, { creating: true, fifo, name });
      const existing = this.store.getQueue(scope.accountId, scope.region, name);
      if (existing) {
        for (const [key, value] of Object.entries(checked)) {
          if ((existing.attributes[key] ?? '') !== value) throw sqsErrors.queueNameExists(key);
        }
        return existing;
      }
      const now = this.clock.now();
      const queue: QueueRecord = {
        arn: queueArn(scope, name),
        accountId: scope.accountId,
        region: scope.region,
        name,
        createdAt: now,
        modifiedAt: now,
        attributes: { ...(fifo ? FIFO_DEFAULTS : STANDARD_DEFAULTS), ...checked },
        tags,
      };
      this.store.putQueue(queue);
      return queue;
    });
  }

  /**
   * The queue as stored now. A write runs a little after its call (with the other writes
   * of the turn), so it reads the queue again rather than trust the caller's copy.
   */
  private current(queue: QueueRecord): QueueRecord {
    const now = this.store.getQueueByArn(queue.arn);
    if (!now) throw sqsErrors.queueDoesNotExist();
    return now;
  }

  /** The queue named `name` in `scope`, or undefined. */
  findQueue(scope: QueueScope, name: string): QueueRecord | undefined {
    return this.store.getQueue(scope.accountId, scope.region, name);
  }

  /** The queue with this ARN, or undefined. */
  findQueueByArn(arn: string): QueueRecord | undefined {
    return this.store.getQueueByArn(arn);
  }

  /** The queue named `name` in `scope`; QueueDoesNotExist otherwise. */
  getQueue(scope: QueueScope, name: string): QueueRecord {
    const queue = this.findQueue(scope, name);
    if (!queue) throw sqsErrors.queueDoesNotExist();
    return queue;
  }

  /** Queues of an account and Region whose names start with `prefix`, by name. */
  listQueues(scope: QueueScope, prefix = ''): QueueRecord[] {
    return this.store.listQueues(scope.accountId, scope.region, prefix);
  }

  /** Source queues whose RedrivePolicy names `dlq` as their dead-letter queue. */
  deadLetterSources(dlq: QueueRecord): QueueRecord[] {
    return this.store
      .listQueues(dlq.accountId, dlq.region, '')
      .filter((q) => parseRedrive(q.attributes.RedrivePolicy)?.deadLetterTargetArn === dlq.arn);
  }

  /** Deletes a queue and its messages; long polls on it return empty. */
  async deleteQueue(queue: QueueRecord): Promise<void> {
    await this.writes.run(() => this.store.deleteQueue(queue.arn));
    this.notify(queue.arn);
  }

  /** Deletes every message in the queue; once a minute at most, as SQS allows. */
  async purgeQueue(queue: QueueRecord): Promise<void> {
    await this.writes.run(() => {
      const q = this.current(queue);
      const now = this.clock.now();
      if (q.purgedAt !== undefined && now - q.purgedAt < PURGE_INTERVAL_MS) throw sqsErrors.purgeInProgress(q.arn);
      this.store.purgeMessages(q.arn);
      this.store.putQueue({ ...q, purgedAt: now });
    });
  }

  /** Changes settable attributes (FifoQueue only at creation). */
  setAttributes(queue: QueueRecord, attributes: Record<string, string>): Promise<QueueRecord> {
    return this.writes.run(() => {
      const q = this.current(queue);
      const checked = this.checkAttributes(q, attributes, { creating: false, fifo: isFifo(q), name: q.name });
      const next = { ...q.attributes };
      for (const [key, value] of Object.entries(checked)) {
        // An empty Policy or RedrivePolicy removes it.
        if (value === '' && (key === 'Policy' || key === 'RedrivePolicy' || key === 'RedriveAllowPolicy')) delete next[key];
        else next[key] = value;
      }
      const updated: QueueRecord = { ...q, attributes: next, modifiedAt: this.clock.now() };
      this.store.putQueue(updated);
      return updated;
    });
  }

  /** The queue's attributes named in `names` (`All` for every one), as SQS reports them. */
  getAttributes(queue: QueueRecord, names: readonly string[]): Record<string, string> {
    for (const n of names) if (n !== 'All' && !(QUEUE_ATTRIBUTE_NAMES as readonly string[]).includes(n)) throw sqsErrors.invalidAttributeName(n);
    const wanted = names.includes('All') ? QUEUE_ATTRIBUTE_NAMES : names;
    const now = this.clock.now();
    this.expire(queue, now);
    const counts = this.store.counts(queue.arn, now);
    const computed: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
    };
    const out: Record<string, string> = {};
    for (const name of wanted) {
      const value = computed[name] ?? queue.attributes[name];
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  /** Adds or replaces tags. */
  tagQueue(queue: QueueRecord, tags: Record<string, string>): Promise<void> {
    return this.writes.run(() => {
      const q = this.current(queue);
      this.store.putQueue({ ...q, tags: { ...q.tags, ...tags } });
    });
  }

  /** Removes tags by key. */
  untagQueue(queue: QueueRecord, keys: readonly string[]): Promise<void> {
    return this.writes.run(() => {
      const q = this.current(queue);
      const tags = { ...q.tags };
      for (const k of keys) delete tags[k];
      this.store.putQueue({ ...q, tags });
    });
  }

  /** The queue's access policy, parsed once per text; undefined when it has none. */
  queuePolicy(queue: QueueRecord): PolicyDocument | undefined {
    return this.policies.get(queue.attributes.Policy);
  }

  /** Whether the queue policy lets an AWS service send to the queue for `source`. */
  allowsService(queue: QueueRecord, source: ServiceSource): boolean {
    return serviceAllowed(this.queuePolicy(queue), {
      source,
      action: 'sqs:SendMessage',
      resource: queue.arn,
      resourceAccountId: queue.accountId,
      now: this.clock.now(),
    });
  }

  private checkAttributes(
    scope: QueueScope,
    attributes: Record<string, string>,
    opts: { creating: boolean; fifo: boolean; name: string },
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, raw] of Object.entries(attributes)) {
      if (!SETTABLE.has(key)) throw sqsErrors.invalidAttributeName(key);
      const value = String(raw);
      const range = INTEGER_RANGES[key];
      if (range) {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < range[0] || n > range[1]) throw sqsErrors.invalidAttributeValue(key);
        out[key] = String(n);
        continue;
      }
      switch (key) {
        case 'FifoQueue':
          if (!opts.creating) throw sqsErrors.invalidAttributeName(key);
          if (value !== 'true' && value !== 'false') throw sqsErrors.invalidAttributeValue(key);
          if (value === 'false' && opts.name.endsWith('.fifo')) throw sqsErrors.invalidAttributeValue(key);
          if (value === 'false') continue;
          break;
        case 'ContentBasedDeduplication':
        case 'SqsManagedSseEnabled':
          if (value !== 'true' && value !== 'false') throw sqsErrors.invalidAttributeValue(key);
          if (key === 'ContentBasedDeduplication' && !opts.fifo) throw sqsErrors.invalidAttributeName(key);
          break;
        case 'DeduplicationScope':
          if (!opts.fifo) throw sqsErrors.invalidAttributeName(key);
          if (value !== 'queue' && value !== 'messageGroup') throw sqsErrors.invalidAttributeValue(key);
          break;
        case 'FifoThroughputLimit':
          if (!opts.fifo) throw sqsErrors.invalidAttributeName(key);
          if (value !== 'perQueue' && value !== 'perMessageGroupId') throw sqsErrors.invalidAttributeValue(key);
          break;
        case 'Policy':
          if (value !== '') {
            try {
              parsePolicyDocument(value, 'resource');
            } catch {
              throw sqsErrors.invalidAttributeValue(key);
            }
          }
          break;
        case 'RedrivePolicy':
          if (value !== '') this.checkRedrive(scope, value, opts.fifo);
          break;
        case 'RedriveAllowPolicy':
          if (value !== '') {
            try {
              JSON.parse(value);
            } catch {
              throw sqsErrors.invalidAttributeValue(key);
            }
          }
          break;
        default:
          break;
      }
      out[key] = value;
    }
    return out;
  }

  private checkRedrive(scope: QueueScope, value: string, fifo: boolean): void {
    const invalid = (reason: string): AwsError =>
      sqsErrors.invalidParameterValue(`Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(value) as Record<string, unknown>;
    } catch {
      throw invalid('Redrive policy is not a valid JSON map.');
    }
    const count = Number(raw.maxReceiveCount);
    if (raw.deadLetterTargetArn === undefined || raw.maxReceiveCount === undefined) {
      throw invalid('Redrive policy does not contain mandatory attribute: ' + (raw.deadLetterTargetArn === undefined ? 'deadLetterTargetArn' : 'maxReceiveCount') + '.');
    }
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
    const targetArn = typeof raw.deadLetterTargetArn === 'string' ? raw.deadLetterTargetArn : '';
    const target = parseQueueArn(targetArn);
    const dlq = target && target.region === scope.region && target.accountId === scope.accountId ? this.store.getQueueByArn(targetArn) : undefined;
    if (!dlq) throw invalid('Dead letter target does not exist.');
    if (isFifo(dlq) !== fifo) throw invalid('Dead-letter queue must be the same type of queue as the source.');
  }

  // ---- messages -----------------------------------------------------------------------

  /**
   * Sends a message to the queue with this ARN: the plain entry point for other engines
   * (SNS deliveries, EventBridge targets). With `source`, the queue policy must allow that
   * service to send for that source (AccessDenied otherwise), as AWS requires.
   *
   * @example
   * await queues.sendMessage(arn, JSON.stringify(event), undefined, {
   *   source: { service: 'events.amazonaws.com', sourceArn: ruleArn, sourceAccount: account },
   * });
   */
  async sendMessage(
    arn: string,
    body: string,
    attributes?: Record<string, MessageAttribute>,
    opts: { groupId?: string; dedupId?: string; source?: ServiceSource; senderId?: string } = {},
  ): Promise<SendResult> {
    const queue = this.store.getQueueByArn(arn);
    if (!queue) throw sqsErrors.queueDoesNotExist();
    if (opts.source && !this.allowsService(queue, opts.source)) {
      throw new AwsError({ code: 'AccessDenied', message: `${opts.source.service} is not authorized to send to ${arn}`, status: 403 });
    }
    return this.send(queue, {
      body,
      ...(attributes ? { attributes } : {}),
      ...(opts.groupId !== undefined ? { groupId: opts.groupId } : {}),
      ...(opts.dedupId !== undefined ? { dedupId: opts.dedupId } : {}),
      senderId: opts.senderId ?? opts.source?.sourceAccount ?? queue.accountId,
    });
  }

  /** Checks a message against the queue's rules and stores it (or finds its FIFO duplicate). */
  send(queue: QueueRecord, input: SendInput): Promise<SendResult> {
    return this.writes.run(() => this.sendNow(this.current(queue), input));
  }

  /** Sends each input on its own (one failing leaves the others). */
  sendBatch(queue: QueueRecord, inputs: readonly SendInput[]): Promise<BatchOutcome<SendResult>[]> {
    return this.batch(inputs, (input) => this.sendNow(this.current(queue), input));
  }

  private sendNow(queue: QueueRecord, input: SendInput): SendResult {
    this.checkMessage(queue, input);
    const now = this.clock.now();
    const fifo = isFifo(queue);
    const attributes = input.attributes ?? {};
    const system = input.systemAttributes ?? {};
    const md5Body = md5OfBody(input.body);
    const md5Attrs = md5OfAttributes(attributes);
    const md5System = md5OfAttributes(system);
    const digests = {
      md5OfBody: md5Body,
      ...(md5Attrs !== undefined ? { md5OfAttributes: md5Attrs } : {}),
      ...(md5System !== undefined ? { md5OfSystemAttributes: md5System } : {}),
    };
    let dedupId = input.dedupId;
    if (fifo && dedupId === undefined) dedupId = createHash('sha256').update(input.body, 'utf8').digest('hex');
    const stored = this.store.transaction(() => {
      if (fifo && dedupId !== undefined) {
        const scopeKey = queue.attributes.DeduplicationScope === 'messageGroup' ? `${input.groupId ?? ''}\u0000${dedupId}` : dedupId;
        const seen = this.store.findDedup(queue.arn, scopeKey, now);
        if (seen) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber };
        const delay = Number(queue.attributes.DelaySeconds ?? '0');
        const m = this.store.insertMessage(this.newMessage(queue, input, md5Body, now, delay, dedupId));
        this.store.putDedup(queue.arn, scopeKey, { messageId: m.messageId, sequenceNumber: m.sequenceNumber ?? '', expiresAt: now + DEDUP_WINDOW_MS });
        return { messageId: m.messageId, sequenceNumber: m.sequenceNumber };
      }
      const delay = input.delaySeconds ?? Number(queue.attributes.DelaySeconds ?? '0');
      const m = this.store.insertMessage(this.newMessage(queue, input, md5Body, now, delay, undefined));
      return { messageId: m.messageId, sequenceNumber: undefined };
    });
    this.notify(queue.arn);
    return { messageId: stored.messageId, ...digests, ...(stored.sequenceNumber !== undefined ? { sequenceNumber: stored.sequenceNumber } : {}) };
  }

  private newMessage(
    queue: QueueRecord,
    input: SendInput,
    md5Body: string,
    now: number,
    delaySeconds: number,
    dedupId: string | undefined,
  ): Omit<StoredMessage, 'seq' | 'sequenceNumber'> {
    const system: Record<string, string> = {};
    const trace = input.systemAttributes?.AWSTraceHeader?.StringValue;
    if (trace !== undefined) system.AWSTraceHeader = trace;
    return {
      queueArn: queue.arn,
      messageId: this.random.uuid(),
      body: input.body,
      messageAttributes: input.attributes ?? {},
      systemAttributes: system,
      md5OfBody: md5Body,
      senderId: input.senderId,
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
      ...(isFifo(queue) && input.groupId !== undefined ? { groupId: input.groupId } : {}),
      ...(dedupId !== undefined ? { dedupId } : {}),
    };
  }

  private checkMessage(queue: QueueRecord, input: SendInput): void {
    if (input.body === '') throw sqsErrors.missingParameter('MessageBody');
    if (!validText(input.body)) throw sqsErrors.invalidMessageContents();
    const fifo = isFifo(queue);
    if (input.delaySeconds !== undefined) {
      if (input.delaySeconds < 0 || input.delaySeconds > 900) {
        throw sqsErrors.invalidParameterValue(
          `Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`,
        );
      }
      if (fifo && input.delaySeconds !== 0) {
        throw sqsErrors.invalidParameterValue(
          `Value ${input.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`,
        );
      }
    }
    if (fifo) {
      if (input.groupId === undefined || input.groupId === '') throw sqsErrors.missingParameter('MessageGroupId');
      if (input.dedupId === undefined && queue.attributes.ContentBasedDeduplication !== 'true') {
        throw sqsErrors.invalidParameterValue(
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
    } else if (input.dedupId !== undefined) {
      throw sqsErrors.invalidParameterValue(
        'Value for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.',
      );
    }
    let size = Buffer.byteLength(input.body, 'utf8');
    const attrs = Object.entries(input.attributes ?? {});
    if (attrs.length > MAX_ATTRIBUTES) {
      throw sqsErrors.invalidParameterValue(`Number of message attributes [${attrs.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
    }
    for (const [name, attr] of attrs) {
      checkAttribute(name, attr);
      size += attributeSize(name, attr);
    }
    const limit = Number(queue.attributes.MaximumMessageSize ?? '1048576');
    if (size > limit) throw sqsErrors.messageTooLong(limit);
  }

  /**
   * Receives up to `maxMessages` messages, waiting up to `waitTimeSeconds` (wall time) for
   * one to arrive; returns as soon as any is available. Each message received becomes
   * invisible for the visibility timeout, and one received more than the RedrivePolicy's
   * maxReceiveCount times moves to the dead-letter queue instead.
   */
  async receive(queue: QueueRecord, opts: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const max = opts.maxMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw sqsErrors.invalidParameterValue(
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const wait = opts.waitTimeSeconds ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds ?? '0');
    if (wait < 0 || wait > 20) {
      throw sqsErrors.invalidParameterValue(
        `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`,
      );
    }
    if (opts.visibilityTimeout !== undefined && (opts.visibilityTimeout < 0 || opts.visibilityTimeout > 43_200)) {
      throw sqsErrors.invalidParameterValue(
        `Value ${opts.visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.`,
      );
    }
    const deadline = performance.now() + wait * 1000;
    for (;;) {
      // Receiving changes who owns the messages (receipt, visibility): their handles are only
      // given out once that change would survive a power loss. An empty answer changed nothing.
      const got = await this.writes.run(
        () => {
          const current = this.store.getQueueByArn(queue.arn);
          return current ? this.receiveNow(current, max, opts.visibilityTimeout) : undefined;
        },
        (received) => received !== undefined && received.length > 0,
      );
      if (!got) return [];
      const remaining = deadline - performance.now();
      if (got.length > 0 || remaining <= 0 || this.stopped) return got;
      await this.waitFor(queue.arn, Math.min(remaining, this.pollIntervalMs));
    }
  }

  private receiveNow(queue: QueueRecord, max: number, visibilityTimeout: number | undefined): ReceivedMessage[] {
    const now = this.clock.now();
    const fifo = isFifo(queue);
    const redrive = parseRedrive(queue.attributes.RedrivePolicy);
    const visibility = visibilityTimeout ?? Number(queue.attributes.VisibilityTimeout ?? '30');
    return this.store.transaction(() => {
      this.expire(queue, now);
      const blocked = fifo ? this.store.groupsInFlight(queue.arn, now) : new Set<string>();
      // Read past what is asked when some candidates may go to the dead-letter queue or wait
      // behind their group. Standard queues promise no order, so they take the cheaper one.
      const limit = fifo ? max * 20 + 100 : redrive ? max + 50 : max;
      const candidates = this.store.receivable(queue.arn, now, limit, fifo ? 'sequence' : 'visibility');
      const out: ReceivedMessage[] = [];
      let moved = false;
      for (const m of candidates) {
        if (out.length >= max) break;
        if (fifo && m.groupId !== undefined && blocked.has(m.groupId)) continue;
        if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
          const dlq = this.store.getQueueByArn(redrive.deadLetterTargetArn);
          if (dlq) {
            this.store.updateMessage(m.seq, {
              queueArn: dlq.arn,
              visibleAt: now,
              receiveCount: 0,
              systemAttributes: { ...m.systemAttributes, DeadLetterQueueSourceArn: queue.arn },
            });
            moved = true;
            // A FIFO group keeps its order: nothing behind a moved message goes out before it is handled.
            continue;
          }
        }
        const token = this.random.bytes(16).toString('hex');
        const change = {
          visibleAt: now + visibility * 1000,
          receiveCount: m.receiveCount + 1,
          firstReceivedAt: m.firstReceivedAt ?? now,
          receipt: token,
        };
        this.store.updateMessage(m.seq, change);
        out.push({ message: { ...m, ...change }, receiptHandle: encodeHandle(m.seq, token) });
      }
      if (moved && redrive) queueMicrotask(() => this.notify(redrive.deadLetterTargetArn));
      return out;
    });
  }

  /**
   * Deletes the message a receipt handle owns. A handle from an earlier receive of the
   * message, or of a message already deleted, succeeds without deleting, as in SQS.
   */
  deleteMessage(queue: QueueRecord, receiptHandle: string): Promise<void> {
    // Waited for even when this handle deleted nothing: another caller's delete of the same
    // message may not be on disk yet.
    return this.writes.run(() => this.deleteNow(queue, receiptHandle));
  }

  /** Deletes each handle's message on its own. */
  deleteBatch(queue: QueueRecord, receiptHandles: readonly string[]): Promise<BatchOutcome<void>[]> {
    return this.batch(receiptHandles, (handle) => this.deleteNow(queue, handle));
  }

  private deleteNow(queue: QueueRecord, receiptHandle: string): void {
    const { seq, token } = decodeHandle(receiptHandle);
    this.store.deleteReceived(queue.arn, seq, token);
  }

  /** Sets a received message's remaining invisibility to `seconds` from now. */
  changeVisibility(queue: QueueRecord, receiptHandle: string, seconds: number): Promise<void> {
    return this.writes.run(() => this.changeVisibilityNow(queue, receiptHandle, seconds));
  }

  /** Changes each received message's visibility on its own. */
  changeVisibilityBatch(queue: QueueRecord, entries: readonly { receiptHandle: string; seconds: number }[]): Promise<BatchOutcome<void>[]> {
    return this.batch(entries, (e) => this.changeVisibilityNow(queue, e.receiptHandle, e.seconds));
  }

  private changeVisibilityNow(queue: QueueRecord, receiptHandle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
      throw sqsErrors.invalidParameterValue(
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`,
      );
    }
    const { seq, token } = decodeHandle(receiptHandle);
    const m = this.store.getMessage(seq);
    const now = this.clock.now();
    if (!m || m.queueArn !== queue.arn || m.receipt !== token) throw sqsErrors.receiptHandleInvalid(receiptHandle);
    if (m.visibleAt <= now) throw sqsErrors.messageNotInflight();
    this.store.updateMessage(seq, { visibleAt: now + seconds * 1000 });
    if (seconds === 0) this.notify(queue.arn);
  }

  /**
   * Runs `run` on each item atomically, an AWS error failing (and undoing) only its item,
   * as one write of the group: every item is on disk when it resolves.
   */
  private batch<I, T>(items: readonly I[], run: (item: I) => T): Promise<BatchOutcome<T>[]> {
    return this.writes.run(() =>
      items.map((item): BatchOutcome<T> => {
        try {
          return { value: this.store.transaction(() => run(item)) };
        } catch (err) {
          if (!isAwsError(err)) throw err;
          return { error: err };
        }
      }),
    );
  }

  /** Deletes messages past their queue's retention period, and expired FIFO deduplication entries. */
  expireAll(): number {
    const now = this.clock.now();
    let n = 0;
    for (const q of this.store.allQueues()) n += this.expire(q, now);
    this.store.purgeDedup(now);
    return n;
  }

  private expire(queue: QueueRecord, now: number): number {
    const retention = Number(queue.attributes.MessageRetentionPeriod ?? '345600');
    return this.store.expireMessages(queue.arn, now - retention * 1000);
  }

  /** Ends every long poll (they return what they have) and refuses to start new waits. */
  stop(): void {
    this.stopped = true;
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  private notify(arn: string): void {
    const set = this.waiters.get(arn);
    if (set) for (const wake of [...set]) wake();
  }

  private waitFor(arn: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(arn);
      if (!set) {
        set = new Set();
        this.waiters.set(arn, set);
      }
      const waiters = set;
      const wake = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0) this.waiters.delete(arn);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  }
}

function checkAttribute(name: string, attr: MessageAttribute): void {
  if (!ATTRIBUTE_NAME.test(name) || /^(aws\.|amazon\.)/i.test(name)) {
    throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' has an invalid name.`);
  }
  if (!DATA_TYPE.test(attr.DataType) || attr.DataType.length > 256) {
    throw sqsErrors.invalidParameterValue(`The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
  }
  if (attr.DataType.startsWith('Binary')) {
    if (attr.BinaryValue === undefined || attr.BinaryValue.length === 0) {
      throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type '${attr.DataType}'.`);
    }
    return;
  }
  if (attr.StringValue === undefined || attr.StringValue === '') {
    throw sqsErrors.invalidParameterValue(`Message (user) attribute '${name}' must contain a non-empty value of type '${attr.DataType}'.`);
  }
  if (!validText(attr.StringValue)) throw sqsErrors.invalidMessageContents();
  if (attr.DataType.startsWith('Number') && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(attr.StringValue)) {
    throw sqsErrors.invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
  }
}
