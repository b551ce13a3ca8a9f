/**
 * Rule targets: the narrow interfaces the bus delivers through (a queue service, a topic
 * service, a function runner, HTTP for API destinations) and the one place that turns a
 * target ARN into a call on them. Delivery reports whether a failure is worth retrying;
 * retries, backoff and dropping belong to the engine.
 */
import type { ApiDestinationRecord, ConnectionRecord, TargetSpec } from './store.js';

/**
 * The rule a delivery is made for: queues and topics check their resource policy lets
 * `events.amazonaws.com` send for this `aws:SourceArn`, as AWS does.
 */
export interface DeliverySource {
  ruleArn: string;
  accountId: string;
}

/** Sends a message to an SQS queue. */
export interface QueueSender {
  sendMessage(queueArn: string, body: string, attrs?: { MessageGroupId?: string }, from?: DeliverySource): Promise<void>;
}

/** Publishes to an SNS topic. */
export interface TopicPublisher {
  publish(topicArn: string, message: { message: string; subject?: string }, from?: DeliverySource): Promise<void>;
}

/** Runs a function ("Lambda" target) with the target input as its payload. */
export interface FunctionInvoker {
  invoke(functionArn: string, payload: string): Promise<void>;
}

/** The clients targets are delivered through; a missing one makes its targets fail (and be retried). */
export interface TargetClients {
  queues?: QueueSender;
  topics?: TopicPublisher;
  functions?: FunctionInvoker;
  /** HTTP for API destinations; the global `fetch` by default. */
  fetch?: typeof fetch;
}

/** The outcome of one delivery attempt. */
export type DeliveryOutcome = { ok: true } | { ok: false; retryable: boolean; error: string };

/** A target ARN taken apart: `arn:partition:service:region:account:resource`. */
export interface ParsedArn {
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

/** Splits an ARN; undefined when it is not one. */
export function parseArn(arn: string): ParsedArn | undefined {
  const m = /^arn:[^:]+:([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn);
  if (!m) return undefined;
  return { service: m[1] ?? '', region: m[2] ?? '', accountId: m[3] ?? '', resource: m[4] ?? '' };
}

/** Statuses an API destination retries, as EventBridge does; other 4xx fail at once. */
const RETRYABLE_STATUS = new Set([401, 407, 409, 429]);

/** What the sender needs to look up for API destinations and other buses. */
export interface TargetResolver {
  apiDestination(arn: ParsedArn): { destination: ApiDestinationRecord; connection?: ConnectionRecord } | undefined;
  /** Puts the event on another bus (an event-bus target). */
  putOnBus(busArn: ParsedArn, event: string): Promise<void>;
}

/**
 * Delivers rendered inputs to targets.
 *
 * @example
 * const sender = new TargetSender({ queues }, resolver, 5000);
 * const outcome = await sender.send(target, payload);
 */
export class TargetSender {
  constructor(
    private readonly clients: TargetClients,
    private readonly resolver: TargetResolver,
    private readonly httpTimeoutMs = 5000,
  ) {}

  /** One attempt to deliver `payload` to `target` for the rule `from`. */
  async send(target: TargetSpec, payload: string, event: string, from: DeliverySource): Promise<DeliveryOutcome> {
    const arn = parseArn(target.Arn);
    if (!arn) return { ok: false, retryable: false, error: `not an ARN: ${target.Arn}` };
    try {
      switch (arn.service) {
        case 'sqs': {
          if (!this.clients.queues) return { ok: false, retryable: true, error: 'no queue service is available' };
          const group = target.SqsParameters?.MessageGroupId;
          await this.clients.queues.sendMessage(target.Arn, payload, group !== undefined ? { MessageGroupId: group } : undefined, from);
          return { ok: true };
        }
        case 'sns':
          if (!this.clients.topics) return { ok: false, retryable: true, error: 'no topic service is available' };
          await this.clients.topics.publish(target.Arn, { message: payload }, from);
          return { ok: true };
        case 'lambda':
          if (!this.clients.functions) return { ok: false, retryable: true, error: 'no function runner is available' };
          await this.clients.functions.invoke(target.Arn, payload);
          return { ok: true };
        case 'events':
          if (arn.resource.startsWith('api-destination/')) return await this.http(target, arn, payload);
          if (arn.resource.startsWith('event-bus/')) {
            await this.resolver.putOnBus(arn, event);
            return { ok: true };
          }
          return { ok: false, retryable: false, error: `unsupported target ${target.Arn}` };
        default:
          return { ok: false, retryable: false, error: `unsupported target service ${arn.service}` };
      }
    } catch (e) {
      // A refusal (the queue is gone, its policy denies the rule) does not get better by retrying.
      const status = (e as { status?: unknown }).status;
      const refused = typeof status === 'number' && status >= 400 && status < 500;
      return { ok: false, retryable: !refused, error: e instanceof Error ? e.message : String(e) };
    }
  }

  private async http(target: TargetSpec, arn: ParsedArn, payload: string): Promise<DeliveryOutcome> {
    const found = this.resolver.apiDestination(arn);
    if (!found) return { ok: false, retryable: false, error: `API destination ${target.Arn} does not exist` };
    const { destination, connection } = found;
    // `*` in the endpoint takes the target's path parameter values in order.
    const pathValues = [...(target.HttpParameters?.PathParameterValues ?? [])];
    const url = new URL(destination.invocationEndpoint.replace(/\*/g, () => encodeURIComponent(pathValues.shift() ?? '')));
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Amazon/EventBridge/ApiDestinations' };
    const invocation = connection?.authParameters.InvocationHttpParameters as
      | { HeaderParameters?: { Key: string; Value: string }[]; QueryStringParameters?: { Key: string; Value: string }[] }
      | undefined;
    for (const h of invocation?.HeaderParameters ?? []) headers[h.Key.toLowerCase()] = h.Value;
    for (const q of invocation?.QueryStringParameters ?? []) url.searchParams.set(q.Key, q.Value);
    for (const [k, v] of Object.entries(target.HttpParameters?.HeaderParameters ?? {})) headers[k.toLowerCase()] = v;
    for (const [k, v] of Object.entries(target.HttpParameters?.QueryStringParameters ?? {})) url.searchParams.set(k, v);
    if (connection) {
      const auth = connection.authParameters;
      if (connection.authorizationType === 'API_KEY') {
        const p = auth.ApiKeyAuthParameters as { ApiKeyName?: string; ApiKeyValue?: string } | undefined;
        if (p?.ApiKeyName) headers[p.ApiKeyName.toLowerCase()] = p.ApiKeyValue ?? '';
      } else if (connection.authorizationType === 'BASIC') {
        const p = auth.BasicAuthParameters as { Username?: string; Password?: string } | undefined;
        headers.authorization = `Basic ${Buffer.from(`${p?.Username ?? ''}:${p?.Password ?? ''}`).toString('base64')}`;
      }
    }
    const method = destination.httpMethod;
    const doFetch = this.clients.fetch ?? fetch;
    try {
      const response = await doFetch(url, {
        method,
        headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: payload }),
        signal: AbortSignal.timeout(this.httpTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      const retryable = response.status >= 500 || RETRYABLE_STATUS.has(response.status);
      return { ok: false, retryable, error: `HTTP ${response.status} from ${url.origin}` };
    } catch (e) {
      return { ok: false, retryable: true, error: e instanceof Error ? e.message : String(e) };
    }
  }
}
