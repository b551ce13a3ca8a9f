/**
 * Trail SNS notifications: once a log file is in its bucket, a trail with an SNS topic
 * publishes `{"s3Bucket":...,"s3ObjectKey":[...]}` to it as CloudTrail's service principal
 * (so the topic policy decides), and the outcome goes to GetTrailStatus's
 * LatestNotification fields. It is told of files by the delivery engine's `onLogFile` hook.
 */
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { ServiceSource } from '../auth/resource-policies.js';
import type { DeliveryOutcome } from '../trails/trails.js';
import { CLOUDTRAIL_SERVICE } from '../trails/delivery-access.js';
import type { TrailKey } from '../trails/store.js';
import type { LogFileWritten } from './delivery.js';

/** What the notifier needs: a publisher that enforces the topic policy, and the trail status. */
export interface TrailNotifierDeps {
  topics: { publish(arn: string, input: { message: string }, opts: { source: ServiceSource }): Promise<unknown> };
  trails: { recordDelivery(key: TrailKey, outcome: DeliveryOutcome): void };
  clock: Clock;
  logger?: Logger;
}

/** The notification CloudTrail publishes for one delivered log file. */
export function logFileNotification(bucket: string, key: string): string {
  return JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [key] });
}

/**
 * Publishes a notification for each delivered log file of a trail that has an SNS topic.
 *
 * @example
 * const notifier = new TrailNotifier({ topics, trails, clock });
 * new DeliveryEngine({ ..., onLogFile: (file) => notifier.logFileDelivered(file) });
 */
export class TrailNotifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: TrailNotifierDeps) {}

  /**
   * Starts the notification for `file` (nothing when its trail has no topic); the delivery
   * engine does not wait for it, `idle()` does. Never throws: a failure is recorded.
   */
  logFileDelivered(file: LogFileWritten): void {
    const topicArn = file.trail.config.snsTopicArn;
    if (topicArn === undefined) return;
    const p = this.notify(file, topicArn).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every notification started so far has been published or recorded as failed. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async notify(file: LogFileWritten, topicArn: string): Promise<void> {
    const { trail } = file;
    const key: TrailKey = { accountId: trail.accountId, homeRegion: trail.homeRegion, name: trail.name };
    let error: string | undefined;
    try {
      await this.deps.topics.publish(
        topicArn,
        { message: logFileNotification(file.bucket, file.key) },
        { source: { service: CLOUDTRAIL_SERVICE, sourceArn: trail.trailArn, sourceAccount: trail.accountId } },
      );
    } catch (e) {
      // GetTrailStatus reports SNS's error code, as CloudTrail does (AuthorizationError, NotFound...).
      error = isAwsError(e) ? e.code : e instanceof Error ? e.message : String(e);
      this.deps.logger?.warn({ err: e, trailArn: trail.trailArn, topicArn }, 'log file notification failed');
    }
    try {
      this.deps.trails.recordDelivery(key, { kind: 'notification', at: this.deps.clock.now(), ...(error !== undefined ? { error } : {}) });
    } catch (e) {
      // The state store is closing (shutdown): the notification itself has been made or logged.
      this.deps.logger?.warn({ err: e, trailArn: trail.trailArn }, 'could not record a notification');
    }
  }
}
