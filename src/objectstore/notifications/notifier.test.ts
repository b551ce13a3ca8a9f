import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import { AwsError } from '../../platform/errors.js';
import { cryptoRandom } from '../../platform/ids.js';
import { silentLogger } from '../../platform/logger.js';
import { EmbeddedObjectStore } from '../embedded.js';
import { NOTIFICATION_CONFIG, type StoredNotificationConfiguration } from './config.js';
import { BucketNotifier, type NotificationTarget } from './notifier.js';

const QUEUE = 'arn:aws:sqs:us-east-1:111111111111:q';
const dirs: string[] = [];
const stores: EmbeddedObjectStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir: string): Promise<EmbeddedObjectStore> {
  const store = await EmbeddedObjectStore.open({ dir, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')), random: cryptoRandom, defaultOwner: '111111111111' });
  stores.push(store);
  return store;
}

/** A queue target that records what it is sent, or fails as told. */
function recordingQueue(behaviour: { fail?: () => Error | undefined; hang?: boolean } = {}): NotificationTarget & { sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  return {
    sent,
    check: async () => 'ok',
    deliver: async (_arn, message) => {
      if (behaviour.hang) return new Promise<void>(() => undefined);
      const failure = behaviour.fail?.();
      if (failure) throw failure;
      sent.push(JSON.parse(message) as Record<string, unknown>);
    },
  };
}

const config = (events: string[]): string =>
  JSON.stringify({ destinations: [{ kind: 'Queue', id: 'q', arn: QUEUE, events, filterRules: [] }], eventBridge: false } satisfies StoredNotificationConfiguration);

const eventNames = (sent: Record<string, unknown>[]): string[] => sent.map((m) => ((m.Records as { eventName: string }[])[0] as { eventName: string }).eventName);

describe('bucket notifier', () => {
  it('keeps each change in the outbox with its commit, so a store that never delivered them delivers after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-notify-'));
    dirs.push(dir);
    const crashed = await open(dir);
    // The first process's deliveries never finish (it dies before they do).
    const stuck = new BucketNotifier({ store: crashed, targets: { Queue: recordingQueue({ hang: true }) }, logger: silentLogger() });
    crashed.use(stuck.hooks());
    await crashed.createBucket('bkt');
    await crashed.putBucketConfig('bkt', NOTIFICATION_CONFIG, config(['s3:ObjectCreated:*', 's3:ObjectRemoved:*']));
    for (let i = 0; i < 20; i++) await crashed.putObject('bkt', `k${i}`, Buffer.from(`v${i}`));
    await crashed.deleteObject('bkt', 'k0');

    // A second opening of the same directory sees what the first committed, as a restart would.
    const restarted = await open(dir);
    const queue = recordingQueue();
    const notifier = new BucketNotifier({ store: restarted, targets: { Queue: queue }, logger: silentLogger() });
    restarted.use(notifier.hooks());
    notifier.start();
    await notifier.idle();
    expect(eventNames(queue.sent)).toEqual([...Array.from({ length: 20 }, () => 'ObjectCreated:Put'), 'ObjectRemoved:Delete']);
    expect(await restarted.readOutbox(10)).toEqual([]);
  });

  it('retries a delivery that failed for its own reasons, and drops one the destination refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-notify-'));
    dirs.push(dir);
    const store = await open(dir);
    let failures = 2;
    const queue = recordingQueue({ fail: () => (failures-- > 0 ? new Error('disk is busy') : undefined) });
    const refusing = recordingQueue({ fail: () => new AwsError({ code: 'AccessDenied', message: 'no', status: 403 }) });
    const notifier = new BucketNotifier({ store, targets: { Queue: queue, Topic: refusing }, logger: silentLogger(), retryMs: 5 });
    store.use(notifier.hooks());
    await store.createBucket('bkt');
    const both: StoredNotificationConfiguration = {
      destinations: [
        { kind: 'Queue', id: 'q', arn: QUEUE, events: ['s3:ObjectCreated:Put'], filterRules: [] },
        { kind: 'Topic', id: 't', arn: 'arn:aws:sns:us-east-1:111111111111:t', events: ['s3:ObjectCreated:Put'], filterRules: [] },
      ],
      eventBridge: false,
    };
    await store.putBucketConfig('bkt', NOTIFICATION_CONFIG, JSON.stringify(both));
    await store.putObject('bkt', 'k', Buffer.from('v'));
    await notifier.idle();
    expect(eventNames(queue.sent)).toEqual(['ObjectCreated:Put']);
    expect(refusing.sent).toEqual([]);
    expect(await store.readOutbox(10)).toEqual([]);
  });

  it('names lifecycle, transition, ACL and restore changes as S3 does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-notify-'));
    dirs.push(dir);
    const store = await open(dir);
    const queue = recordingQueue();
    const notifier = new BucketNotifier({ store, targets: { Queue: queue }, logger: silentLogger() });
    store.use(notifier.hooks());
    await store.createBucket('bkt');
    await store.putBucketConfig('bkt', NOTIFICATION_CONFIG, config(['s3:LifecycleExpiration:*', 's3:LifecycleTransition', 's3:ObjectAcl:Put', 's3:ObjectRestore:*']));
    const put = await store.putObject('bkt', 'k', Buffer.from('v'));
    await store.setStorageClass('bkt', 'k', put.versionId ?? 'null', 'GLACIER');
    await store.updateObjectAttributes('bkt', 'k', undefined, { acl: 'x' }, { notify: 'ObjectAcl:Put' });
    await store.updateObjectAttributes('bkt', 'k', undefined, { restore: 'x' }, { notify: 'ObjectRestore:Post' });
    // An attribute change that is no notification event (a legal hold) sends nothing.
    await store.updateObjectAttributes('bkt', 'k', undefined, { hold: 'ON' }, {});
    await store.deleteObject('bkt', 'k', { context: { requestId: 'lifecycle', lifecycle: true } });
    await notifier.idle();
    expect(eventNames(queue.sent)).toEqual(['LifecycleTransition', 'ObjectAcl:Put', 'ObjectRestore:Post', 'LifecycleExpiration:Delete']);
    const expiry = (queue.sent[3]?.Records as Record<string, unknown>[])[0];
    expect(expiry).toMatchObject({ eventVersion: '2.3', userIdentity: { principalId: 's3.amazonaws.com' }, requestParameters: { sourceIPAddress: 's3.amazonaws.com' } });
  });
});
