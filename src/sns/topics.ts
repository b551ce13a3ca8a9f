/**
 * The SNS engine: topics, subscriptions and their confirmation, filter policies, and
 * delivery of published messages in SNS's formats: to SQS queues (the JSON envelope or
 * raw, through the queue's policy), to HTTP(S) endpoints (SNS's headers, signed
 * envelopes, retries with the delivery policy's backoff on the injected clock) and to
 * functions (the Lambda event). HTTP and function deliveries are stored before they are
 * tried, so a restart resumes them. Nothing here knows the SNS API's wire format.
 */
import { ResourcePolicyCache, serviceAllowed, type ServiceSource } from '../auth/resource-policies.js';
import { createHash } from 'node:crypto';
import { parsePolicyDocument, type PolicyDocument } from '../auth/policy.js';
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import type { RandomSource } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { FailureOutcome } from '../platform/telemetry.js';
import type { MessageAttribute, Queues } from '../sqs/queues.js';
import { snsErrors } from './errors.js';
import { matchesFilter, parseFilterPolicy, type FilterPolicy, type FilterScope } from './filter-policy.js';
import { FUNCTION_ARN, type Functions } from './functions.js';
import { signMessage, type SigningIdentity } from './signing.js';
import type { DeliveryRecord, SubscriptionRecord, TopicRecord, TopicStore } from './store.js';

export type { SubscriptionRecord, TopicRecord } from './store.js';
export type { ServiceSource } from '../auth/resource-policies.js';

/** A message attribute as SNS takes it (`String`, `String.Array`, `Number`, `Binary`). */
/** A message attribute, the same shape SQS uses. */
export type SnsMessageAttribute = MessageAttribute;

/** What a publisher sends. */
export interface PublishInput {
  message: string;
  subject?: string;
  messageAttributes?: Record<string, SnsMessageAttribute>;
  /** `json`: `message` is a JSON object with a `default` entry and optional per-protocol ones. */
  messageStructure?: string;
  messageGroupId?: string;
  messageDeduplicationId?: string;
}

export interface PublishResult {
  messageId: string;
  sequenceNumber?: string;
}

/** Posts a body to a URL and answers the HTTP status (0 when the endpoint could not be reached). */
export type HttpPost = (url: string, body: string, headers: Record<string, string>) => Promise<number>;

export interface TopicsDeps {
  store: TopicStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** SQS deliveries go through the queue engine, which checks the queue policy. */
  queues: Pick<Queues, 'sendMessage'>;
  functions: Functions;
  signing: SigningIdentity;
  /** The server's base URL, for SigningCertURL, SubscribeURL and UnsubscribeURL. */
  endpoint: () => string;
  /** How HTTP(S) endpoints are reached; `fetch` with a 15-second timeout by default. */
  post?: HttpPost;
  /** Told of each failed delivery to a subscription (the server's metrics). */
  deliveryFailed?: (outcome: FailureOutcome) => void;
}

const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const FIFO_TOPIC_NAME = /^[A-Za-z0-9_-]{1,251}\.fifo$/;
const MAX_MESSAGE_BYTES = 262_144;
const DEDUP_WINDOW_MS = 5 * 60 * 1000;
const PROTOCOLS = new Set(['http', 'https', 'email', 'email-json', 'sms', 'sqs', 'application', 'lambda', 'firehose']);
const SUPPORTED_PROTOCOLS = new Set(['http', 'https', 'email', 'email-json', 'sqs', 'lambda']);
const TOPIC_ATTRIBUTES = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'KmsMasterKeyId',
  'SignatureVersion',
  'TracingConfig',
  'FifoTopic',
  'ContentBasedDeduplication',
  'ArchivePolicy',
  'FifoThroughputScope',
]);
const SUBSCRIPTION_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'SubscriptionRoleArn',
  'ReplayPolicy',
]);
const RAW_PROTOCOLS = new Set(['sqs', 'http', 'https', 'firehose']);

/** SNS's default retry policy for HTTP(S): three retries, 20 seconds apart. */
const DEFAULT_HTTP_RETRY = {
  minDelayTarget: 20,
  maxDelayTarget: 20,
  numRetries: 3,
  numMaxDelayRetries: 0,
  numNoDelayRetries: 0,
  numMinDelayRetries: 0,
  backoffFunction: 'linear',
};

/**
 * Retries for functions, after SNS's policy for AWS-managed endpoints (3 at once, 2 a
 * second apart, then backing off to 20 seconds), cut short: 15 retries in about two minutes.
 */
const FUNCTION_RETRY_DELAYS_S = [0, 0, 0, 1, 1, 1, 2, 3, 5, 7, 9, 12, 15, 18, 20];

/** The ARN of a topic. */
export function topicArn(scope: { accountId: string; region: string }, name: string): string {
  return `arn:aws:sns:${scope.region}:${scope.accountId}:${name}`;
}

/** Splits a topic ARN; undefined when it is not one. */
export function parseTopicArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:aws[\w-]*:sns:([^:]+):(\d{12}):([A-Za-z0-9_.-]+)$/.exec(arn);
  return m && m[1] && m[2] && m[3] ? { region: m[1], accountId: m[2], name: m[3] } : undefined;
}

/** AWS's policy for a new topic: the owner account may do everything. */
export function defaultTopicPolicy(arn: string, accountId: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  });
}

/** The delays (seconds) before each retry of an HTTP(S) delivery under a healthy retry policy. */
export function httpRetryDelays(policy: Partial<typeof DEFAULT_HTTP_RETRY> = {}): number[] {
  const p = { ...DEFAULT_HTTP_RETRY, ...policy };
  const min = Math.max(0, p.minDelayTarget);
  const max = Math.max(min, p.maxDelayTarget);
  const n = Math.max(0, Math.min(100, p.numRetries));
  const backoff = Math.max(0, n - p.numNoDelayRetries - p.numMinDelayRetries - p.numMaxDelayRetries);
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < p.numNoDelayRetries) delays.push(0);
    else if (i < p.numNoDelayRetries + p.numMinDelayRetries) delays.push(min);
    else if (i >= n - p.numMaxDelayRetries) delays.push(max);
    else {
      const k = i - p.numNoDelayRetries - p.numMinDelayRetries;
      const f = backoff <= 1 ? 1 : k / (backoff - 1);
      const d = p.backoffFunction === 'linear' || p.backoffFunction === 'arithmetic' || min === 0 ? min + (max - min) * f : min * (max / min) ** f;
      delays.push(Math.round(d));
    }
  }
  return delays;
}

async function defaultPost(url: string, body: string, headers: Record<string, string>): Promise<number> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

function isFifoTopic(topic: TopicRecord): boolean {
  return topic.attributes.FifoTopic === 'true';
}

/** The SNS engine. */
export class Topics {
  private readonly deps: TopicsDeps;
  private readonly post: HttpPost;
  private readonly policies = new ResourcePolicyCache();
  private readonly filters = new Map<string, FilterPolicy>();
  private readonly inFlight = new Map<number, Promise<void>>();
  /** FIFO topics' deduplication ids in the last five minutes (kept in memory). */
  private readonly dedup = new Map<string, { messageId: string; sequenceNumber: string; expiresAt: number }>();
  private sequence = 0;
  private stopped = false;

  /** Deliveries to HTTP(S) endpoints and functions not yet made (waiting for a first try or a retry). */
  pendingDeliveries(): number {
    return this.deps.store.deliveryCount();
  }

  constructor(deps: TopicsDeps) {
    this.deps = deps;
    this.post = deps.post ?? defaultPost;
  }

  /** The URL path (under the server's endpoint) that serves the signing certificate. */
  get certificatePath(): string {
    return `/sns/${this.deps.signing.certificateName}`;
  }

  /** The signing certificate, PEM. */
  get certificatePem(): string {
    return this.deps.signing.certificatePem;
  }

  // ---- topics -------------------------------------------------------------------------

  /** Creates a topic, or returns the existing one of that name when its attributes agree. */
  createTopic(scope: { accountId: string; region: string }, name: string, attributes: Record<string, string> = {}, tags: Record<string, string> = {}): TopicRecord {
    const fifo = attributes.FifoTopic === 'true';
    if (fifo ? !FIFO_TOPIC_NAME.test(name) : !TOPIC_NAME.test(name)) {
      throw snsErrors.invalidParameter(
        fifo || name.endsWith('.fifo')
          ? 'Topic Name: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.'
          : 'Topic Name',
      );
    }
    const checked = this.checkTopicAttributes(attributes, true, fifo);
    const arn = topicArn(scope, name);
    const existing = this.deps.store.getTopic(arn);
    if (existing) {
      for (const [k, v] of Object.entries(checked)) {
        if ((existing.attributes[k] ?? '') !== v) throw snsErrors.invalidParameter('Attributes Reason: Topic already exists with different attributes');
      }
      return existing;
    }
    const topic: TopicRecord = {
      arn,
      accountId: scope.accountId,
      region: scope.region,
      name,
      createdAt: this.deps.clock.now(),
      attributes: { Policy: defaultTopicPolicy(arn, scope.accountId), ...(fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}), ...checked },
      tags,
    };
    this.deps.store.putTopic(topic);
    return topic;
  }

  findTopic(arn: string): TopicRecord | undefined {
    return this.deps.store.getTopic(arn);
  }

  /** The topic; NotFound otherwise. */
  getTopic(arn: string): TopicRecord {
    const topic = this.findTopic(arn);
    if (!topic) throw snsErrors.topicNotFound();
    return topic;
  }

  /** Deletes a topic and its subscriptions; deleting one that does not exist is no error. */
  deleteTopic(arn: string): void {
    this.deps.store.deleteTopic(arn);
  }

  listTopics(scope: { accountId: string; region: string }): TopicRecord[] {
    return this.deps.store.listTopics(scope.accountId, scope.region);
  }

  /** GetTopicAttributes' answer. */
  topicAttributes(topic: TopicRecord): Record<string, string> {
    const subs = this.deps.store.subscriptionsOf(topic.arn);
    const { DeliveryPolicy, ...rest } = topic.attributes;
    return {
      TopicArn: topic.arn,
      Owner: topic.accountId,
      DisplayName: '',
      SubscriptionsConfirmed: String(subs.filter((s) => s.confirmed).length),
      SubscriptionsPending: String(subs.filter((s) => !s.confirmed).length),
      SubscriptionsDeleted: '0',
      EffectiveDeliveryPolicy: JSON.stringify(this.effectiveTopicDeliveryPolicy(topic)),
      ...(DeliveryPolicy !== undefined ? { DeliveryPolicy } : {}),
      ...rest,
    };
  }

  setTopicAttribute(topic: TopicRecord, name: string, value: string): TopicRecord {
    const checked = this.checkTopicAttributes({ [name]: value }, false, isFifoTopic(topic));
    const attributes = { ...topic.attributes, ...checked };
    if (value === '' && (name === 'DeliveryPolicy' || name === 'KmsMasterKeyId')) delete attributes[name];
    const next = { ...topic, attributes };
    this.deps.store.putTopic(next);
    return next;
  }

  tagTopic(topic: TopicRecord, tags: Record<string, string>): void {
    this.deps.store.putTopic({ ...topic, tags: { ...topic.tags, ...tags } });
  }

  untagTopic(topic: TopicRecord, keys: readonly string[]): void {
    const tags = { ...topic.tags };
    for (const k of keys) delete tags[k];
    this.deps.store.putTopic({ ...topic, tags });
  }

  /** The topic's access policy, parsed once per text. */
  topicPolicy(topic: TopicRecord): PolicyDocument | undefined {
    return this.policies.get(topic.attributes.Policy);
  }

  /** Whether the topic policy lets an AWS service publish for `source`. */
  allowsService(topic: TopicRecord, source: ServiceSource): boolean {
    return serviceAllowed(this.topicPolicy(topic), {
      source,
      action: 'sns:Publish',
      resource: topic.arn,
      resourceAccountId: topic.accountId,
      now: this.deps.clock.now(),
    });
  }

  private effectiveTopicDeliveryPolicy(topic: TopicRecord): Record<string, unknown> {
    let custom: Record<string, unknown> = {};
    try {
      custom = topic.attributes.DeliveryPolicy ? ((JSON.parse(topic.attributes.DeliveryPolicy) as Record<string, unknown>).http as Record<string, unknown>) ?? {} : {};
    } catch {
      custom = {};
    }
    return {
      http: {
        defaultHealthyRetryPolicy: { ...DEFAULT_HTTP_RETRY, ...(custom.defaultHealthyRetryPolicy as Record<string, unknown> | undefined) },
        disableSubscriptionOverrides: custom.disableSubscriptionOverrides ?? false,
        defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8', ...(custom.defaultRequestPolicy as Record<string, unknown> | undefined) },
      },
    };
  }

  private checkTopicAttributes(attributes: Record<string, string>, creating: boolean, fifo: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(attributes)) {
      if (!TOPIC_ATTRIBUTES.has(name)) throw snsErrors.invalidParameter('AttributeName');
      switch (name) {
        case 'FifoTopic':
          if (!creating) throw snsErrors.invalidParameter('AttributeName');
          if (value !== 'true' && value !== 'false') throw snsErrors.invalidParameter('Attributes Reason: FifoTopic');
          if (value === 'false') continue;
          break;
        case 'ContentBasedDeduplication':
          if (!fifo) throw snsErrors.invalidParameter('Attributes Reason: Content-based deduplication can only be set for FIFO topics');
          if (value !== 'true' && value !== 'false') throw snsErrors.invalidParameter('Attributes Reason: ContentBasedDeduplication');
          break;
        case 'SignatureVersion':
          if (value !== '1' && value !== '2') throw snsErrors.invalidParameter('Attributes Reason: SignatureVersion');
          break;
        case 'Policy':
          try {
            parsePolicyDocument(value, 'resource');
          } catch {
            throw snsErrors.invalidParameter('Policy Error: null');
          }
          break;
        case 'DeliveryPolicy':
          if (value !== '') {
            try {
              JSON.parse(value);
            } catch {
              throw snsErrors.invalidParameter('DeliveryPolicy: failed to parse JSON.');
            }
          }
          break;
        default:
          break;
      }
      out[name] = value;
    }
    return out;
  }

  // ---- subscriptions ------------------------------------------------------------------

  /**
   * Subscribes an endpoint. SQS queues and functions are confirmed at once; HTTP(S)
   * endpoints are sent a SubscriptionConfirmation and stay pending until they confirm;
   * email endpoints are stored pending (Cairn sends no email).
   */
  subscribe(topic: TopicRecord, input: { protocol: string; endpoint: string; attributes?: Record<string, string>; owner: string }): SubscriptionRecord {
    const protocol = input.protocol.toLowerCase();
    if (!PROTOCOLS.has(protocol)) throw snsErrors.invalidParameter(`Invalid protocol type: ${input.protocol}`);
    if (!SUPPORTED_PROTOCOLS.has(protocol)) throw snsErrors.invalidParameter(`Protocol ${protocol} is not supported by this server`);
    const endpoint = input.endpoint;
    this.checkEndpoint(topic, protocol, endpoint);
    const attributes = this.checkSubscriptionAttributes(protocol, input.attributes ?? {});
    const existing = this.deps.store.subscriptionsOf(topic.arn).find((s) => s.protocol === protocol && s.endpoint === endpoint);
    if (existing) {
      for (const [k, v] of Object.entries(attributes)) {
        if ((existing.attributes[k] ?? '') !== v) throw snsErrors.invalidParameter('Attributes Reason: Subscription already exists with different attributes');
      }
      return existing;
    }
    const now = this.deps.clock.now();
    const immediate = protocol === 'sqs' || protocol === 'lambda';
    const sub: SubscriptionRecord = {
      arn: `${topic.arn}:${this.deps.random.uuid()}`,
      topicArn: topic.arn,
      owner: input.owner,
      protocol,
      endpoint,
      attributes,
      confirmed: immediate,
      ...(immediate ? {} : { token: this.deps.random.bytes(64).toString('hex') }),
      confirmationAuthenticated: immediate,
      unsubscribeNeedsAuth: false,
      createdAt: now,
    };
    this.deps.store.putSubscription(sub);
    if (protocol === 'http' || protocol === 'https') this.sendConfirmation(topic, sub);
    return sub;
  }

  private checkEndpoint(topic: TopicRecord, protocol: string, endpoint: string): void {
    switch (protocol) {
      case 'sqs': {
        const m = /^arn:aws[\w-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/.exec(endpoint);
        if (!m) throw snsErrors.invalidParameter('SQS endpoint ARN');
        if (m[1] && !isFifoTopic(topic)) throw snsErrors.invalidParameter('Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics');
        return;
      }
      case 'http':
      case 'https': {
        let url: URL;
        try {
          url = new URL(endpoint);
        } catch {
          throw snsErrors.invalidParameter('Endpoint must match the specified protocol');
        }
        if (url.protocol !== `${protocol}:`) throw snsErrors.invalidParameter('Endpoint must match the specified protocol');
        return;
      }
      case 'lambda':
        if (!FUNCTION_ARN.test(endpoint)) throw snsErrors.invalidParameter('Lambda endpoint ARN');
        return;
      default:
        if (!/^[^@\s]+@[^@\s]+$/.test(endpoint)) throw snsErrors.invalidParameter('Email address');
    }
  }

  private checkSubscriptionAttributes(protocol: string, attributes: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(attributes)) {
      if (!SUBSCRIPTION_ATTRIBUTES.has(name)) throw snsErrors.invalidParameter('AttributeName');
      switch (name) {
        case 'RawMessageDelivery':
          if (value !== 'true' && value !== 'false') throw snsErrors.invalidParameter('Attributes Reason: RawMessageDelivery: Invalid value [' + value + ']. Must be true or false.');
          if (value === 'true' && !RAW_PROTOCOLS.has(protocol)) {
            throw snsErrors.invalidParameter(`Attributes Reason: Delivery protocol [${protocol}] does not support raw message delivery.`);
          }
          break;
        case 'FilterPolicyScope':
          if (value !== 'MessageAttributes' && value !== 'MessageBody') throw snsErrors.invalidParameter('Attributes Reason: FilterPolicyScope: Invalid value [' + value + ']. Please use either MessageBody or MessageAttributes');
          break;
        case 'DeliveryPolicy':
        case 'RedrivePolicy':
          if (value !== '') {
            try {
              JSON.parse(value);
            } catch {
              throw snsErrors.invalidParameter(`${name}: failed to parse JSON.`);
            }
          }
          break;
        default:
          break;
      }
      out[name] = value;
    }
    if (out.FilterPolicy !== undefined && out.FilterPolicy !== '') {
      parseFilterPolicy(out.FilterPolicy, (out.FilterPolicyScope as FilterScope | undefined) ?? 'MessageAttributes');
    }
    return out;
  }

  /** Confirms a pending subscription by its token; `authenticated` when the call was signed. */
  confirmSubscription(topicArn: string, token: string, opts: { authenticated: boolean; authenticateOnUnsubscribe?: boolean }): SubscriptionRecord {
    this.getTopic(topicArn);
    const sub = this.deps.store.subscriptionsOf(topicArn).find((s) => s.token === token);
    if (!sub) throw snsErrors.invalidParameter('Token');
    const confirmed: SubscriptionRecord = {
      ...sub,
      confirmed: true,
      confirmationAuthenticated: sub.confirmed ? sub.confirmationAuthenticated : opts.authenticated,
      unsubscribeNeedsAuth: sub.unsubscribeNeedsAuth || opts.authenticateOnUnsubscribe === true,
    };
    this.deps.store.putSubscription(confirmed);
    return confirmed;
  }

  findSubscription(arn: string): SubscriptionRecord | undefined {
    return this.deps.store.getSubscription(arn);
  }

  getSubscription(arn: string): SubscriptionRecord {
    const sub = this.findSubscription(arn);
    if (!sub) throw snsErrors.subscriptionNotFound();
    return sub;
  }

  /** Removes a subscription; an unsigned request (the UnsubscribeURL) is refused when it needs authentication. */
  unsubscribe(arn: string, opts: { authenticated: boolean } = { authenticated: true }): void {
    const sub = this.getSubscription(arn);
    if (!opts.authenticated && sub.unsubscribeNeedsAuth) throw snsErrors.authorization('This subscription requires authentication to unsubscribe.');
    this.deps.store.deleteSubscription(arn);
  }

  listSubscriptions(scope: { accountId: string; region: string }): SubscriptionRecord[] {
    return this.deps.store.listSubscriptions(scope.accountId, scope.region);
  }

  subscriptionsOf(topic: TopicRecord): SubscriptionRecord[] {
    return this.deps.store.subscriptionsOf(topic.arn);
  }

  /** GetSubscriptionAttributes' answer. */
  subscriptionAttributes(sub: SubscriptionRecord): Record<string, string> {
    const out: Record<string, string> = {
      SubscriptionArn: sub.arn,
      TopicArn: sub.topicArn,
      Owner: sub.owner,
      Protocol: sub.protocol,
      Endpoint: sub.endpoint,
      ConfirmationWasAuthenticated: String(sub.confirmationAuthenticated),
      PendingConfirmation: String(!sub.confirmed),
      RawMessageDelivery: 'false',
      ...sub.attributes,
    };
    if (sub.attributes.FilterPolicy && !sub.attributes.FilterPolicyScope) out.FilterPolicyScope = 'MessageAttributes';
    if (sub.protocol === 'http' || sub.protocol === 'https') {
      out.EffectiveDeliveryPolicy = JSON.stringify({ healthyRetryPolicy: this.httpRetryPolicy(sub) });
    }
    return out;
  }

  setSubscriptionAttribute(sub: SubscriptionRecord, name: string, value: string): SubscriptionRecord {
    const checked = this.checkSubscriptionAttributes(sub.protocol, { ...sub.attributes, [name]: value });
    if (value === '' && name !== 'RawMessageDelivery') delete checked[name];
    const next = { ...sub, attributes: checked };
    this.deps.store.putSubscription(next);
    return next;
  }

  // ---- publishing ---------------------------------------------------------------------

  /**
   * Publishes to a topic and delivers to every confirmed subscription whose filter
   * policy matches: SQS deliveries complete before this resolves; HTTP(S) and function
   * deliveries are stored and tried in the background. With `source`, the topic policy
   * must let that AWS service publish (AuthorizationError otherwise).
   *
   * @example
   * await topics.publish(alarmTopicArn, { message: JSON.stringify(alarm), subject: 'ALARM: "denied-calls"' },
   *   { source: { service: 'cloudwatch.amazonaws.com', sourceArn: alarmArn, sourceAccount: account } });
   */
  async publish(arn: string, input: PublishInput, opts: { source?: ServiceSource } = {}): Promise<PublishResult> {
    const topic = this.getTopic(arn);
    if (opts.source && !this.allowsService(topic, opts.source)) {
      throw snsErrors.authorization(`${opts.source.service} is not authorized to perform: SNS:Publish on resource: ${arn}`);
    }
    const perProtocol = this.checkPublish(topic, input);
    const now = this.deps.clock.now();
    const messageId = this.deps.random.uuid();
    let sequenceNumber: string | undefined;
    let dedupId = input.messageDeduplicationId;
    if (isFifoTopic(topic)) {
      dedupId ??= createHash('sha256').update(input.message, 'utf8').digest('hex');
      for (const [k, v] of this.dedup) if (v.expiresAt <= now) this.dedup.delete(k);
      const key = `${topic.arn}\u0000${dedupId}`;
      const seen = this.dedup.get(key);
      if (seen) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber };
      sequenceNumber = String(now * 1000 + (this.sequence++ % 1000)).padStart(20, '0');
      this.dedup.set(key, { messageId, sequenceNumber, expiresAt: now + DEDUP_WINDOW_MS });
    }
    const attributes = input.messageAttributes ?? {};
    for (const sub of this.deps.store.subscriptionsOf(topic.arn)) {
      if (!sub.confirmed) continue;
      const message = perProtocol(sub.protocol);
      if (!this.passesFilter(sub, message, attributes)) continue;
      await this.deliver(topic, sub, {
        messageId,
        message,
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
        timestamp: new Date(now).toISOString(),
        attributes,
        ...(input.messageGroupId !== undefined ? { groupId: input.messageGroupId } : {}),
        ...(dedupId !== undefined ? { dedupId } : {}),
        ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
      });
    }
    return { messageId, ...(sequenceNumber !== undefined ? { sequenceNumber } : {}) };
  }

  /** Validates a publish and returns the message each protocol receives. */
  private checkPublish(topic: TopicRecord, input: PublishInput): (protocol: string) => string {
    if (input.message === '') throw snsErrors.invalidParameter('Empty message');
    let size = Buffer.byteLength(input.message, 'utf8');
    for (const [name, attr] of Object.entries(input.messageAttributes ?? {})) {
      checkAttribute(name, attr);
      size += Buffer.byteLength(name) + Buffer.byteLength(attr.DataType) + (attr.BinaryValue?.length ?? Buffer.byteLength(attr.StringValue ?? ''));
    }
    if (size > MAX_MESSAGE_BYTES) throw snsErrors.invalidParameter('Message too long');
    if (input.subject !== undefined) {
      if (input.subject === '' || input.subject.length > 100 || /[\u0000-\u001f\u007f]/.test(input.subject)) throw snsErrors.invalidParameter('Subject');
    }
    if (isFifoTopic(topic)) {
      if (!input.messageGroupId) throw snsErrors.invalidParameter('The MessageGroupId parameter is required for FIFO topics');
      if (input.messageDeduplicationId === undefined && topic.attributes.ContentBasedDeduplication !== 'true') {
        throw snsErrors.invalidParameter('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
    } else if (input.messageDeduplicationId !== undefined) {
      throw snsErrors.invalidParameter('MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type');
    }
    if (input.messageStructure === undefined) return () => input.message;
    if (input.messageStructure !== 'json') throw snsErrors.invalidParameter('MessageStructure');
    let parsed: unknown;
    try {
      parsed = JSON.parse(input.message);
    } catch {
      throw snsErrors.invalidParameter('Message Structure - JSON message body failed to parse');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw snsErrors.invalidParameter('Message Structure - JSON message body failed to parse');
    const entries = parsed as Record<string, unknown>;
    if (typeof entries.default !== 'string') throw snsErrors.invalidParameter('Message Structure - No default entry in JSON message body');
    const fallback = entries.default;
    return (protocol) => {
      const specific = entries[protocol];
      return typeof specific === 'string' ? specific : fallback;
    };
  }

  private passesFilter(sub: SubscriptionRecord, message: string, attributes: Record<string, SnsMessageAttribute>): boolean {
    const text = sub.attributes.FilterPolicy;
    if (!text) return true;
    const scope = (sub.attributes.FilterPolicyScope as FilterScope | undefined) ?? 'MessageAttributes';
    const key = `${scope}\u0000${text}`;
    let policy = this.filters.get(key);
    if (!policy) {
      policy = parseFilterPolicy(text, scope);
      this.filters.set(key, policy);
    }
    return matchesFilter(policy, scope, { attributes, body: message });
  }

  private certUrl(): string {
    return `${this.deps.endpoint()}${this.certificatePath}`;
  }

  private unsubscribeUrl(sub: SubscriptionRecord): string {
    return `${this.deps.endpoint()}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(sub.arn)}`;
  }

  private signatureVersion(topic: TopicRecord): string {
    return topic.attributes.SignatureVersion === '2' ? '2' : '1';
  }

  /** The signed JSON notification SNS sends to queues and HTTP(S) endpoints. */
  private envelope(topic: TopicRecord, sub: SubscriptionRecord, m: Delivery): Record<string, unknown> {
    const version = this.signatureVersion(topic);
    const env: Record<string, unknown> = {
      Type: 'Notification',
      MessageId: m.messageId,
      ...(isFifoTopic(topic) && m.sequenceNumber !== undefined ? { SequenceNumber: m.sequenceNumber } : {}),
      TopicArn: topic.arn,
      ...(m.subject !== undefined ? { Subject: m.subject } : {}),
      Message: m.message,
      Timestamp: m.timestamp,
      SignatureVersion: version,
    };
    env.Signature = signMessage(env, version, this.deps.signing.privateKey);
    env.SigningCertURL = this.certUrl();
    env.UnsubscribeURL = this.unsubscribeUrl(sub);
    const attrs = envelopeAttributes(m.attributes);
    if (attrs) env.MessageAttributes = attrs;
    return env;
  }

  private async deliver(topic: TopicRecord, sub: SubscriptionRecord, m: Delivery): Promise<void> {
    const raw = sub.attributes.RawMessageDelivery === 'true';
    const now = this.deps.clock.now();
    switch (sub.protocol) {
      case 'sqs': {
        const body = raw ? m.message : JSON.stringify(this.envelope(topic, sub, m));
        try {
          await this.deps.queues.sendMessage(sub.endpoint, body, raw ? sqsAttributes(m.attributes) : undefined, {
            source: { service: 'sns.amazonaws.com', sourceArn: topic.arn, sourceAccount: topic.accountId },
            ...(m.groupId !== undefined ? { groupId: m.groupId } : {}),
            ...(m.dedupId !== undefined ? { dedupId: m.dedupId } : {}),
          });
        } catch (e) {
          // SNS drops a message a queue refuses (no policy, no queue); the failure is only logged.
          this.deps.deliveryFailed?.('dropped');
          this.deps.logger.warn({ err: isAwsError(e) ? e.message : e, subscriptionArn: sub.arn }, 'SNS delivery to SQS failed');
        }
        return;
      }
      case 'http':
      case 'https': {
        const body = raw ? m.message : JSON.stringify(this.envelope(topic, sub, m));
        const headers: Record<string, string> = {
          'x-amz-sns-message-type': 'Notification',
          'x-amz-sns-message-id': m.messageId,
          'x-amz-sns-topic-arn': topic.arn,
          'x-amz-sns-subscription-arn': sub.arn,
          'content-type': this.contentType(topic, sub),
          'user-agent': 'Amazon Simple Notification Service Agent',
          ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        };
        this.enqueue({ subscriptionArn: sub.arn, kind: 'http', target: sub.endpoint, body, headers, attempts: 0, nextAt: now, createdAt: now });
        return;
      }
      case 'lambda': {
        const env = this.envelope(topic, sub, m);
        const payload = {
          Records: [
            {
              EventSource: 'aws:sns',
              EventVersion: '1.0',
              EventSubscriptionArn: sub.arn,
              Sns: {
                Type: env.Type,
                MessageId: env.MessageId,
                TopicArn: env.TopicArn,
                Subject: m.subject ?? null,
                Message: env.Message,
                Timestamp: env.Timestamp,
                SignatureVersion: env.SignatureVersion,
                Signature: env.Signature,
                SigningCertUrl: env.SigningCertURL,
                UnsubscribeUrl: env.UnsubscribeURL,
                MessageAttributes: env.MessageAttributes ?? {},
              },
            },
          ],
        };
        this.enqueue({ subscriptionArn: sub.arn, kind: 'lambda', target: sub.endpoint, body: JSON.stringify(payload), headers: {}, attempts: 0, nextAt: now, createdAt: now });
        return;
      }
      default:
        // Email subscriptions stay pending: Cairn sends no email.
        return;
    }
  }

  private contentType(topic: TopicRecord, sub: SubscriptionRecord): string {
    for (const text of [sub.attributes.DeliveryPolicy, topic.attributes.DeliveryPolicy]) {
      if (!text) continue;
      try {
        const p = JSON.parse(text) as Record<string, Record<string, Record<string, unknown>> | undefined>;
        const type = p.requestPolicy?.headerContentType ?? p.http?.defaultRequestPolicy?.headerContentType;
        if (typeof type === 'string') return type;
      } catch {
        // An unreadable policy was refused when set; nothing to take from it.
      }
    }
    return 'text/plain; charset=UTF-8';
  }

  private sendConfirmation(topic: TopicRecord, sub: SubscriptionRecord): void {
    const now = this.deps.clock.now();
    const version = this.signatureVersion(topic);
    const token = sub.token ?? '';
    const msg: Record<string, unknown> = {
      Type: 'SubscriptionConfirmation',
      MessageId: this.deps.random.uuid(),
      Token: token,
      TopicArn: topic.arn,
      Message: `You have chosen to subscribe to the topic ${topic.arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: `${this.deps.endpoint()}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic.arn)}&Token=${token}`,
      Timestamp: new Date(now).toISOString(),
      SignatureVersion: version,
    };
    msg.Signature = signMessage(msg, version, this.deps.signing.privateKey);
    msg.SigningCertURL = this.certUrl();
    this.enqueue({
      subscriptionArn: sub.arn,
      kind: 'http',
      target: sub.endpoint,
      body: JSON.stringify(msg),
      headers: {
        'x-amz-sns-message-type': 'SubscriptionConfirmation',
        'x-amz-sns-message-id': String(msg.MessageId),
        'x-amz-sns-topic-arn': topic.arn,
        'content-type': 'text/plain; charset=UTF-8',
        'user-agent': 'Amazon Simple Notification Service Agent',
      },
      attempts: 0,
      nextAt: now,
      createdAt: now,
    });
  }

  // ---- background delivery ------------------------------------------------------------

  private enqueue(d: Omit<DeliveryRecord, 'id'>): void {
    const stored = this.deps.store.addDelivery(d);
    if (!this.stopped) void this.attempt(stored);
  }

  /** Tries every delivery whose time has come (the server calls this every second). */
  async deliverDue(): Promise<void> {
    if (this.stopped) return;
    const due = this.deps.store.dueDeliveries(this.deps.clock.now(), 100);
    await Promise.all(due.map((d) => this.attempt(d)));
  }

  /** Waits until no delivery attempt is running (tests use it to observe the outcome). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  /** Stops starting deliveries and waits for attempts in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.settle();
  }

  private attempt(d: DeliveryRecord): Promise<void> {
    const running = this.inFlight.get(d.id);
    if (running) return running;
    const run = this.tryOnce(d).finally(() => this.inFlight.delete(d.id));
    this.inFlight.set(d.id, run);
    return run;
  }

  private async tryOnce(d: DeliveryRecord): Promise<void> {
    let ok = false;
    let retryable = true;
    try {
      if (d.kind === 'http') {
        const status = await this.post(d.target, d.body, d.headers);
        ok = status >= 200 && status < 300;
        // SNS retries server errors, throttling and unreachable endpoints; other client errors are final.
        retryable = status === 0 || status === 429 || status >= 500;
      } else {
        await this.deps.functions.invoke(d.target, JSON.parse(d.body));
        ok = true;
      }
    } catch (e) {
      this.deps.logger.debug({ err: e, target: d.target }, 'SNS delivery attempt failed');
    }
    if (ok) {
      this.deps.store.deleteDelivery(d.id);
      return;
    }
    const sub = this.deps.store.getSubscription(d.subscriptionArn);
    const delays = !sub ? [] : d.kind === 'http' ? httpRetryDelays(this.httpRetryPolicy(sub)) : FUNCTION_RETRY_DELAYS_S;
    const delay = delays[d.attempts];
    this.deps.deliveryFailed?.(!retryable || delay === undefined ? 'dropped' : 'retried');
    if (!retryable || delay === undefined) {
      this.deps.store.deleteDelivery(d.id);
      this.deps.logger.warn({ subscriptionArn: d.subscriptionArn, target: d.target, attempts: d.attempts + 1 }, 'SNS delivery given up');
      return;
    }
    this.deps.store.updateDelivery(d.id, d.attempts + 1, this.deps.clock.now() + delay * 1000);
  }

  private httpRetryPolicy(sub: SubscriptionRecord): Partial<typeof DEFAULT_HTTP_RETRY> {
    const topic = this.findTopic(sub.topicArn);
    let policy: Partial<typeof DEFAULT_HTTP_RETRY> = { ...DEFAULT_HTTP_RETRY };
    try {
      const topicPolicy = topic?.attributes.DeliveryPolicy ? (JSON.parse(topic.attributes.DeliveryPolicy) as { http?: { defaultHealthyRetryPolicy?: object; disableSubscriptionOverrides?: boolean } }) : undefined;
      if (topicPolicy?.http?.defaultHealthyRetryPolicy) policy = { ...policy, ...topicPolicy.http.defaultHealthyRetryPolicy };
      if (!topicPolicy?.http?.disableSubscriptionOverrides && sub.attributes.DeliveryPolicy) {
        const own = JSON.parse(sub.attributes.DeliveryPolicy) as { healthyRetryPolicy?: object };
        if (own.healthyRetryPolicy) policy = { ...policy, ...own.healthyRetryPolicy };
      }
    } catch {
      // Unreadable policies were refused when set.
    }
    return policy;
  }
}

/** One message on its way to one subscription. */
interface Delivery {
  messageId: string;
  message: string;
  subject?: string;
  timestamp: string;
  attributes: Record<string, SnsMessageAttribute>;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
}

/** Message attributes as the JSON envelope carries them: `{ Type, Value }`, binary in base64. */
function envelopeAttributes(attrs: Record<string, SnsMessageAttribute>): Record<string, { Type: string; Value: string }> | undefined {
  const names = Object.keys(attrs);
  if (names.length === 0) return undefined;
  const out: Record<string, { Type: string; Value: string }> = {};
  for (const name of names) {
    const a = attrs[name];
    if (!a) continue;
    out[name] = { Type: a.DataType, Value: a.BinaryValue ? a.BinaryValue.toString('base64') : (a.StringValue ?? '') };
  }
  return out;
}

/** Raw delivery to SQS carries the attributes as SQS message attributes. */
function sqsAttributes(attrs: Record<string, SnsMessageAttribute>): Record<string, MessageAttribute> | undefined {
  const names = Object.keys(attrs);
  if (names.length === 0) return undefined;
  const out: Record<string, MessageAttribute> = {};
  for (const name of names.slice(0, 10)) {
    const a = attrs[name];
    if (!a) continue;
    out[name] = a.BinaryValue
      ? { DataType: a.DataType, BinaryValue: a.BinaryValue }
      : { DataType: a.DataType === 'String.Array' ? 'String' : a.DataType, StringValue: a.StringValue ?? '' };
  }
  return out;
}

function checkAttribute(name: string, attr: SnsMessageAttribute): void {
  if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(aws\.|amazon\.)/i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
    throw snsErrors.invalidParameterValue(`The message attribute '${name}' has an invalid message attribute name.`);
  }
  const base = attr.DataType.split('.')[0];
  if (base !== 'String' && base !== 'Number' && base !== 'Binary') {
    throw snsErrors.invalidParameterValue(
      `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
    );
  }
  if (base === 'Binary') {
    if (!attr.BinaryValue) throw snsErrors.invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${attr.DataType}'.`);
    return;
  }
  if (attr.StringValue === undefined || attr.StringValue === '') {
    throw snsErrors.invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${attr.DataType}'.`);
  }
  if (base === 'Number' && !Number.isFinite(Number(attr.StringValue))) {
    throw snsErrors.invalidParameterValue(`An error occurred while parsing the message attribute '${name}' value. Value is not a number.`);
  }
  if (attr.DataType === 'String.Array') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(attr.StringValue);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) throw snsErrors.invalidParameterValue(`The message attribute '${name}' with type 'String.Array' does not contain a valid JSON array.`);
  }
}
