import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../eventlog/eventlog.js';
import { createMemoryEventLog, type MemoryEventLog } from '../eventlog/memory-eventlog.js';
import { s3Errors } from '../objectstore/errors.js';
import type { ObjectStore, PutObjectOptions } from '../objectstore/store.js';
import { ManualClock } from '../platform/clock.js';
import { openStateDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { SqliteTrailStore } from '../trails/sqlite-store.js';
import { Trails } from '../trails/trails.js';
import { DeliveryEngine, STOP_RECORD_GRACE_MS } from './delivery.js';
import { SqliteDeliveryStateStore } from './sqlite-store.js';

const ACCOUNT = '111122223333';
const scope = { accountId: ACCOUNT, region: 'us-east-1' };
const MINUTE = 60_000;

/** A bucket store that keeps what is written and can be told to fail. */
class FakeBuckets implements Pick<ObjectStore, 'putObject'> {
  readonly objects = new Map<string, { body: Buffer; opts: PutObjectOptions | undefined }>();
  buckets = new Set(['logs']);
  puts = 0;
  /** Fails the n-th put from now (1 = the next one) as if the process died there. */
  failAt: number | undefined;

  async putObject(bucket: string, key: string, body: Uint8Array | AsyncIterable<Uint8Array>, opts?: PutObjectOptions) {
    this.puts++;
    if (this.failAt !== undefined && --this.failAt === 0) {
      this.failAt = undefined;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }
    if (!this.buckets.has(bucket)) throw s3Errors.noSuchBucket(bucket);
    if (!(body instanceof Uint8Array)) throw new Error('expected bytes');
    this.objects.set(`${bucket}/${key}`, { body: Buffer.from(body), opts });
    return { etag: '"x"', size: body.length, lastModified: 0 };
  }

  /** Every delivered record's eventID, file by file. */
  records(): { key: string; ids: string[] }[] {
    return [...this.objects].map(([key, o]) => ({
      key,
      ids: (JSON.parse(gunzipSync(o.body).toString('utf8')) as { Records: { eventID: string }[] }).Records.map((r) => r.eventID),
    }));
  }

  allIds(): string[] {
    return this.records().flatMap((f) => f.ids);
  }
}

interface World {
  db: SqliteDatabase;
  log: MemoryEventLog;
  clock: ManualClock;
  trails: Trails;
  buckets: FakeBuckets;
  engine: DeliveryEngine;
  /** A new engine over the same state, as after a restart. */
  restart(): DeliveryEngine;
  append(...events: Partial<NewEvent>[]): Promise<string[]>;
}

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.db.close();
});

let n = 0;
function world(opts: { maxFileBytes?: number; maxRangeEvents?: number } = {}): World {
  const db = openStateDatabase(':memory:');
  const { log } = createMemoryEventLog();
  const clock = new ManualClock(Date.parse('2026-03-04T05:06:07Z'));
  const buckets = new FakeBuckets();
  const store = new SqliteDeliveryStateStore(db);
  let engine: DeliveryEngine | undefined;
  const trails = new Trails({ store: new SqliteTrailStore(db), clock, loggingChanged: (t, on) => engine?.loggingChanged(t, on) });
  const make = (): DeliveryEngine => new DeliveryEngine({ log, trails, objects: buckets, store, clock, ...opts });
  engine = make();
  const w: World = {
    db,
    log,
    clock,
    trails,
    buckets,
    engine,
    restart() {
      engine = make();
      w.engine = engine;
      return engine;
    },
    async append(...events) {
      const full = events.map((e): NewEvent => {
        const eventId = `ev-${++n}`;
        const base = {
          eventId,
          eventTime: clock.now(),
          accountId: ACCOUNT,
          region: 'us-east-1',
          eventSource: 'cloudtrail.amazonaws.com',
          eventName: 'DescribeTrails',
          readOnly: true,
          category: 'Management' as const,
          ...e,
        };
        return { ...base, record: e.record ?? JSON.stringify({ eventID: eventId, eventName: base.eventName, awsRegion: base.region }) };
      });
      await log.appendMany(full);
      return full.map((e) => e.eventId);
    },
  };
  worlds.push(w);
  return w;
}

async function loggingTrail(w: World, name = 'main', extra: { isMultiRegionTrail?: boolean; s3KeyPrefix?: string; kmsKeyId?: string } = {}) {
  const trail = await w.trails.create(scope, { name, s3BucketName: 'logs', ...extra });
  w.trails.startLogging(scope, name);
  return trail;
}

describe('delivery', () => {
  it('delivers each event logged while the trail logs, once, in CloudTrail layout', async () => {
    const w = world();
    await w.append({}, {});
    await loggingTrail(w, 'main', { s3KeyPrefix: 'audit' });
    const ids = await w.append({}, { readOnly: false, eventName: 'CreateTrail' }, {});
    w.clock.advance(5 * MINUTE);
    const report = await w.engine.deliverNow();
    expect(report.failures).toEqual([]);
    expect(report.files).toHaveLength(1);
    const [file] = w.buckets.records();
    expect(file?.key).toMatch(
      new RegExp(`^logs/audit/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/03/04/${ACCOUNT}_CloudTrail_us-east-1_20260304T0511Z_[A-Za-z0-9]{16}\\.json\\.gz$`),
    );
    expect(file?.ids).toEqual(ids);
    const opts = [...w.buckets.objects.values()][0]?.opts;
    expect(opts?.headers).toEqual({ contentType: 'application/json', contentEncoding: 'gzip' });
    expect(opts?.context?.headers).toEqual({ 'x-amz-server-side-encryption': 'AES256', 'x-amz-acl': 'bucket-owner-full-control' });
    expect(opts?.attributes).toEqual({ sse: 'AES256' });
    // Nothing new: nothing written, and the status shows the delivery.
    expect((await w.engine.deliverNow()).files).toEqual([]);
    const status = w.trails.status(scope, 'main');
    expect(status.latestDeliveryTime).toBe(w.clock.now());
    expect(status.latestDeliveryError).toBeUndefined();
  });

  it('keeps records verbatim and asks for SSE-KMS with the trail key', async () => {
    const w = world();
    await loggingTrail(w, 'main', { kmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });
    const record = '{"eventID":"odd",  "x":"\\u00e9ü","n":1.50}';
    await w.append({ record });
    await w.engine.deliverNow();
    const [o] = [...w.buckets.objects.values()];
    expect(gunzipSync(o?.body ?? Buffer.alloc(0)).toString('utf8')).toBe(`{"Records":[${record}]}`);
    const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(o?.opts?.context?.headers).toEqual({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': keyArn,
      'x-amz-acl': 'bucket-owner-full-control',
    });
    expect(o?.opts?.attributes).toMatchObject({ sse: 'aws:kms', 'sse-kms-key-id': keyArn });
  });

  it('delivers on the clock: nothing before the interval, everything after', async () => {
    const w = world();
    await loggingTrail(w);
    await w.append({});
    w.clock.advance(4 * MINUTE);
    expect((await w.engine.tick()).files).toEqual([]);
    w.clock.advance(MINUTE);
    expect((await w.engine.tick()).files).toHaveLength(1);
    await w.append({});
    w.clock.advance(MINUTE);
    expect((await w.engine.tick()).files).toEqual([]);
    w.clock.advance(4 * MINUTE);
    expect((await w.engine.tick()).files).toHaveLength(1);
  });

  it('writes one file per region for a multi-region trail, and splits large deliveries', async () => {
    const w = world({ maxFileBytes: 200 });
    await loggingTrail(w, 'main', { isMultiRegionTrail: true });
    const ids = await w.append(...Array.from({ length: 9 }, (_, i) => ({ region: i % 3 === 0 ? 'eu-west-1' : 'us-east-1' })));
    await w.engine.deliverNow();
    const files = w.buckets.records();
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) {
      const region = /CloudTrail\/([a-z0-9-]+)\//.exec(f.key)?.[1];
      expect(f.key).toContain(`_CloudTrail_${region}_`);
    }
    expect(files.filter((f) => f.key.includes('/eu-west-1/')).flatMap((f) => f.ids)).toEqual(ids.filter((_, i) => i % 3 === 0));
    expect(w.buckets.allIds().sort()).toEqual([...ids].sort());
  });

  it('stops at StopLogging, including the call itself, and starts again at StartLogging', async () => {
    const w = world();
    await loggingTrail(w);
    const before = await w.append({}, {});
    w.trails.stopLogging(scope, 'main');
    // The StopLogging call's own record, appended after the stop took effect.
    const stopRecord = JSON.stringify({ eventID: 'stop', eventName: 'StopLogging', requestParameters: { name: 'main' } });
    await w.append({ eventId: 'stop', eventName: 'StopLogging', readOnly: false, record: stopRecord });
    await w.append({}, {}); // while stopped: never delivered
    w.trails.startLogging(scope, 'main');
    const after = await w.append({});
    w.clock.advance(5 * MINUTE);
    await w.engine.deliverNow();
    expect(w.buckets.allIds()).toEqual([...before, 'stop', ...after]);
    expect(w.engine.lowestCursor()).toBe(w.log.lastSeq());
  });

  it('gives up on a StopLogging record that never reaches the log', async () => {
    const w = world();
    await loggingTrail(w);
    const before = await w.append({});
    w.trails.stopLogging(scope, 'main');
    await w.append({});
    await w.engine.deliverNow();
    w.clock.advance(STOP_RECORD_GRACE_MS + 1);
    await w.append({});
    await w.engine.deliverNow();
    expect(w.buckets.allIds()).toEqual(before);
    // The trail has nothing left to deliver: it no longer holds retention back.
    expect(w.engine.lowestCursor()).toBeUndefined();
  });

  it('retries a failed delivery with backoff, reports it, and never drops events', async () => {
    const w = world();
    await loggingTrail(w);
    const ids = await w.append({}, {});
    w.buckets.buckets.clear();
    w.clock.advance(5 * MINUTE);
    const failed = await w.engine.tick();
    expect(failed.failures).toEqual([{ trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`, error: 'NoSuchBucket' }]);
    const status = w.trails.status(scope, 'main');
    expect(status.latestDeliveryError).toBe('NoSuchBucket');
    expect(status.latestDeliveryAttemptTime).toBe(w.clock.now());
    expect(status.latestDeliveryTime).toBeUndefined();
    // Backoff: not retried at once, retried a second later.
    expect((await w.engine.tick()).failures).toEqual([]);
    w.clock.advance(1000);
    expect((await w.engine.tick()).failures).toHaveLength(1);
    w.buckets.buckets.add('logs');
    const more = await w.append({});
    w.clock.advance(2000);
    const ok = await w.engine.tick();
    expect(ok.failures).toEqual([]);
    // The retry covers the range of the first attempt, then the rest.
    expect((await w.engine.deliverNow()).failures).toEqual([]);
    expect(w.buckets.allIds()).toEqual([...ids, ...more]);
    expect(w.trails.status(scope, 'main').latestDeliveryError).toBeUndefined();
  });

  it('after a crash mid-delivery, writes the same keys again: no event lost or duplicated', async () => {
    const w = world({ maxFileBytes: 150 });
    await loggingTrail(w, 'main', { isMultiRegionTrail: true });
    const ids = await w.append(...Array.from({ length: 12 }, (_, i) => ({ region: i % 2 ? 'us-east-1' : 'us-west-2' })));
    w.buckets.failAt = 3;
    expect((await w.engine.deliverNow()).failures).toHaveLength(1);
    const partial = new Set(w.buckets.objects.keys());
    expect(partial.size).toBe(2);
    // A restart: a new engine over the same state, later in time.
    w.clock.advance(30 * MINUTE);
    const engine = w.restart();
    const later = await w.append({});
    await engine.deliverNow();
    const keys = [...w.buckets.objects.keys()];
    for (const k of partial) expect(keys).toContain(k);
    expect(w.buckets.allIds().sort()).toEqual([...ids, ...later].sort());
  });

  it('starts a trail that was already logging at the end of the log, and forgets deleted trails', async () => {
    const w = world();
    await w.trails.create(scope, { name: 'old', s3BucketName: 'logs' });
    // Started while no engine listened.
    const trails = new Trails({ store: new SqliteTrailStore(w.db), clock: w.clock });
    trails.startLogging(scope, 'old');
    await w.append({});
    await w.engine.deliverNow();
    expect(w.buckets.objects.size).toBe(0);
    const ids = await w.append({});
    await w.engine.deliverNow();
    expect(w.buckets.allIds()).toEqual(ids);
    w.trails.delete(scope, 'old');
    await w.append({});
    await w.engine.deliverNow();
    expect(w.engine.lowestCursor()).toBeUndefined();
    expect(w.buckets.allIds()).toEqual(ids);
  });

  it('delivers a backlog larger than one range in several deliveries', async () => {
    const w = world({ maxRangeEvents: 4 });
    await loggingTrail(w);
    const ids = await w.append(...Array.from({ length: 10 }, () => ({})));
    const report = await w.engine.deliverNow();
    expect(report.files).toHaveLength(3);
    expect(w.buckets.allIds()).toEqual(ids);
  });
});
