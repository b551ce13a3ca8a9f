/**
 * S3 event notifications, delivered. Each change to a bucket with a notification
 * configuration is written to the store's outbox in the transaction that makes the change
 * (the {@link ObjectStoreHooks.outbox} hook), so an acknowledged write always has its
 * notification, even across `kill -9`. The notifier drains the outbox in commit order:
 * it delivers each entry to its destinations (queues, topics, functions, through
 * {@link NotificationTarget}s) and to EventBridge, and only then removes the entries, so
 * a crash in between delivers them again: at least once, as S3 promises.
 *
 * A destination that is gone or whose policy no longer lets S3 send is skipped (S3 drops
 * such notifications too); any other failure keeps the entry for a retry.
 */
import type { ServiceSource } from '../../auth/resource-policies.js';
import { AwsError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ObjectEvent, ObjectStoreEngine, ObjectStoreHooks, OutboxEntry } from '../store.js';
import { matchingDestinations, NOTIFICATION_CONFIG, type DestinationKind, type StoredNotificationConfiguration } from './config.js';
import { eventBridgeEvent, notifiedChange, S3_SERVICE, s3EventMessage, testEventMessage, type OutboxPayload } from './messages.js';

/**
 * A kind of destination (queue, topic, function). A Lambda engine plugs in by providing
 * one for `LambdaFunction`; without it, such destinations are refused when configured.
 */
export interface NotificationTarget {
  /** Whether the destination exists and its policy lets S3 send to it for `source` (the bucket). */
  check(arn: string, source: ServiceSource): Promise<'ok' | 'missing' | 'denied'>;
  /** Sends one message (JSON text); rejects with an AwsError when the destination refuses it. */
  deliver(arn: string, message: string, source: ServiceSource): Promise<void>;
}

export type NotificationTargets = Partial<Record<DestinationKind, NotificationTarget>>;

/** The bucket owner's default event bus. */
export interface EventBridgeTarget {
  put(scope: { accountId: string; region: string }, event: ReturnType<typeof eventBridgeEvent>): void;
}

export interface BucketNotifierDeps {
  store: Pick<ObjectStoreEngine, 'bucketConfig' | 'readOutbox' | 'removeOutbox'>;
  targets: NotificationTargets;
  eventBridge?: EventBridgeTarget;
  logger: Logger;
  /** Wait before retrying after a failure that was not the destination's refusal (ms). */
  retryMs?: number;
}

/** Outbox entries read and delivered per pass. */
const BATCH = 256;
/** Parsed configurations kept (by text) at most; the map starts over when full. */
const PARSED_MAX = 1024;

/** The source S3 sends as: the bucket, in its owner's account. */
export function bucketSource(bucket: string, owner: string): ServiceSource {
  return { service: S3_SERVICE, sourceArn: `arn:aws:s3:::${bucket}`, sourceAccount: owner };
}

/**
 * Delivers bucket event notifications from the object store's outbox.
 *
 * @example
 * const notifier = new BucketNotifier({ store, targets: { Queue: queueTarget }, logger });
 * store.use(notifier.hooks());
 * notifier.start();
 */
export class BucketNotifier {
  // A bucket's configuration is parsed once per text, not on every write (a PUT to a
  // bucket with notifications costs a map lookup here: the 4 KiB PUT figure of `npm run bench notifications`).
  private readonly parsed = new Map<string, StoredNotificationConfiguration>();
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly deps: BucketNotifierDeps) {}

  /** The store hooks: entries written with each change, and a wake-up once it is durable. */
  hooks(): ObjectStoreHooks {
    return {
      outbox: (event) => this.outboxEntry(event),
      afterCommit: () => this.kick(),
    };
  }

  /** Delivers what a previous run left in the outbox. */
  start(): void {
    this.kick();
  }

  /** Resolves once the outbox is empty and nothing is being delivered. */
  async idle(): Promise<void> {
    for (;;) {
      await this.running;
      if (this.stopped) return;
      const left = await this.deps.store.readOutbox(1);
      if (left.length === 0 && !this.running) return;
      if (!this.running) this.kick();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running;
    for (const w of this.waiters.splice(0)) w();
  }

  /** The configuration of a bucket, parsed once per text. */
  private configOf(bucket: string): StoredNotificationConfiguration | undefined {
    const text = this.deps.store.bucketConfig(bucket, NOTIFICATION_CONFIG);
    if (text === undefined) return undefined;
    let config = this.parsed.get(text);
    if (!config) {
      if (this.parsed.size >= PARSED_MAX) this.parsed.clear();
      config = JSON.parse(text) as StoredNotificationConfiguration;
      this.parsed.set(text, config);
    }
    return config;
  }

  private outboxEntry(event: ObjectEvent): string | undefined {
    const config = this.configOf(event.bucket.name);
    if (!config) return undefined;
    const destinations = matchingDestinations(config, event).map((d) => ({ kind: d.kind, id: d.id, arn: d.arn }));
    if (destinations.length === 0 && !config.eventBridge) return undefined;
    const payload: OutboxPayload = { change: notifiedChange(event), destinations, eventBridge: config.eventBridge };
    return JSON.stringify(payload);
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again && !this.stopped);
      } catch (e) {
        this.deps.logger.error({ err: e }, 'bucket notifications: outbox pass failed');
        this.retryLater();
      } finally {
        this.running = undefined;
        for (const w of this.waiters.splice(0)) w();
      }
    })();
  }

  private retryLater(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, this.deps.retryMs ?? 1000);
    this.retry.unref();
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const entries = await this.deps.store.readOutbox(BATCH);
      if (entries.length === 0) return;
      const outcomes = await Promise.all(entries.map((e) => this.deliverEntry(e)));
      // Entries are removed up to the first that must be retried; those after it go again.
      const failed = outcomes.indexOf(false);
      const done = failed === -1 ? entries.length : failed;
      const last = entries[done - 1];
      if (last) await this.deps.store.removeOutbox(last.seq);
      if (failed !== -1) {
        this.retryLater();
        return;
      }
    }
  }

  /** Delivers one entry everywhere it goes; false when it must be retried. */
  private async deliverEntry(entry: OutboxEntry): Promise<boolean> {
    let payload: OutboxPayload;
    try {
      payload = JSON.parse(entry.payload) as OutboxPayload;
    } catch {
      this.deps.logger.error({ seq: entry.seq }, 'bucket notifications: unreadable outbox entry dropped');
      return true;
    }
    const { change } = payload;
    const source = bucketSource(change.bucket, change.owner);
    const results = await Promise.all(
      payload.destinations.map(async (d) => {
        const target = this.deps.targets[d.kind];
        if (!target) return true;
        try {
          await target.deliver(d.arn, JSON.stringify(s3EventMessage(change, d.id)), source);
          return true;
        } catch (e) {
          if (e instanceof AwsError) {
            // The destination is gone or refuses S3: dropped, as S3 drops it.
            this.deps.logger.warn({ bucket: change.bucket, destination: d.arn, code: e.code }, 'bucket notification not delivered');
            return true;
          }
          this.deps.logger.error({ err: e, bucket: change.bucket, destination: d.arn }, 'bucket notification delivery failed; will retry');
          return false;
        }
      }),
    );
    if (payload.eventBridge && this.deps.eventBridge) {
      try {
        this.deps.eventBridge.put({ accountId: change.owner, region: change.region }, eventBridgeEvent(change));
      } catch (e) {
        this.deps.logger.error({ err: e, bucket: change.bucket }, 'bucket event to EventBridge failed; will retry');
        return false;
      }
    }
    return results.every(Boolean);
  }

  /**
   * Checks each destination of a configuration being put for `bucket`: the ARNs (with the
   * reason S3 gives) that cannot be validated.
   */
  async unvalidated(config: StoredNotificationConfiguration, bucket: string, owner: string): Promise<{ arn: string; reason: string }[]> {
    const source = bucketSource(bucket, owner);
    const out: { arn: string; reason: string }[] = [];
    for (const d of config.destinations) {
      const target = this.deps.targets[d.kind];
      const state = target ? await target.check(d.arn, source) : 'missing';
      if (state !== 'ok') out.push({ arn: d.arn, reason: refusal(d.kind, state) });
    }
    return out;
  }

  /** Sends `s3:TestEvent` to each destination of a configuration just put. */
  async sendTestEvents(config: StoredNotificationConfiguration, bucket: string, owner: string, time: number, requestId: string): Promise<void> {
    const source = bucketSource(bucket, owner);
    const message = JSON.stringify(testEventMessage(bucket, time, requestId));
    const seen = new Set<string>();
    for (const d of config.destinations) {
      if (seen.has(d.arn)) continue;
      seen.add(d.arn);
      try {
        await this.deps.targets[d.kind]?.deliver(d.arn, message, source);
      } catch (e) {
        this.deps.logger.warn({ err: e, bucket, destination: d.arn }, 'bucket notification test event not delivered');
      }
    }
  }
}

/** S3's reason for a destination it cannot validate. */
function refusal(kind: DestinationKind, state: 'missing' | 'denied'): string {
  const what = kind === 'Queue' ? 'queue' : kind === 'Topic' ? 'topic' : 'function';
  if (state === 'missing') return kind === 'LambdaFunction' ? 'The destination function does not exist or cannot be invoked' : `The destination ${what} does not exist`;
  return kind === 'LambdaFunction'
    ? 'Not authorized to invoke function'
    : `Permissions on the destination ${what} do not allow S3 to publish notifications from this bucket`;
}

