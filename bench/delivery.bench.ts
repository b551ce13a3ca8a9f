/**
 * Trail delivery: how fast the engine turns the event log into log files in the embedded
 * object store (events per second, for one trail and for five trails sharing one read of
 * the log), and the delay from an acknowledged call to the log file holding it with
 * `cairn server --delivery-interval 1s`. Sizes: BENCH_DELIVERY_EVENTS (default 100000),
 * BENCH_DELIVERY_SAMPLES (default 10).
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { DeliveryEngine } from '../src/delivery/delivery.js';
import { SqliteDeliveryStateStore } from '../src/delivery/sqlite-store.js';
import { openSqliteEventLog } from '../src/eventlog/sqlite-eventlog.js';
import { testEvent } from '../src/eventlog/test-events.js';
import { EmbeddedObjectStore } from '../src/objectstore/embedded.js';
import { systemClock } from '../src/platform/clock.js';
import { cryptoRandom } from '../src/platform/ids.js';
import { openStateDatabase } from '../src/storage/sqlite.js';
import { SqliteTrailStore } from '../src/trails/sqlite-store.js';
import { Trails } from '../src/trails/trails.js';
import { tempDir } from '../test/support/cairn.js';
import { spawnServer } from '../test/support/process.js';
import { peakRssMiB, report } from './support.js';

const EVENTS = Number(process.env.BENCH_DELIVERY_EVENTS ?? 100_000);
const SAMPLES = Number(process.env.BENCH_DELIVERY_SAMPLES ?? 10);
const ACCOUNT = '123456789012';

/** Delivers EVENTS events of about 1 KB each to `trailCount` trails and reports the rate. */
async function throughput(trailCount: number): Promise<void> {
  const dir = tempDir('cairn-bench-delivery-');
  try {
    const { log } = await openSqliteEventLog({ dataDir: dir });
    const db = openStateDatabase(dir);
    const objects = await EmbeddedObjectStore.open({ dir: join(dir, 'objects'), clock: systemClock, random: cryptoRandom, defaultOwner: ACCOUNT });
    const trails = new Trails({ store: new SqliteTrailStore(db), clock: systemClock, loggingChanged: (t, on) => engine.loggingChanged(t, on) });
    const engine = new DeliveryEngine({ log, trails, objects, store: new SqliteDeliveryStateStore(db), clock: systemClock });
    await objects.createBucket('bench-logs');
    const scope = { accountId: ACCOUNT, region: 'us-east-1' };
    for (let t = 0; t < trailCount; t++) {
      await trails.create(scope, { name: `trail-${t}`, s3BucketName: 'bench-logs', s3KeyPrefix: `t${t}` });
      trails.startLogging(scope, `trail-${t}`);
    }
    let bytes = 0;
    for (let i = 0; i < EVENTS; i += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, EVENTS - i) }, (_, j) => testEvent(i + j, 'bench'));
      bytes += batch.reduce((n, e) => n + Buffer.byteLength(e.record), 0);
      await log.appendMany(batch);
    }
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const result = await engine.deliverNow();
    const rssAfter = process.memoryUsage().rss;
    const seconds = (performance.now() - started) / 1000;
    let stored = 0;
    for (const f of result.files) stored += (await objects.headObject(f.bucket, f.key)).size;
    const delivered = result.files.reduce((n, f) => n + f.records, 0);
    report(`delivery throughput, ${trailCount} trail${trailCount > 1 ? 's' : ''} (embedded store)`, {
      'events in the log': EVENTS,
      'records delivered (all trails)': delivered,
      'log files written': result.files.length,
      'seconds': seconds.toFixed(2),
      'events/s read from the log': Math.round(EVENTS / seconds),
      'records/s written into log files': Math.round(delivered / seconds),
      'record MiB (one trail)': (bytes / 1024 / 1024).toFixed(1),
      'gzip MiB stored (all trails)': (stored / 1024 / 1024).toFixed(1),
      // Filling the log (the writer thread's batches) dominates the process's peak.
      'RSS MiB before / after delivery': `${Math.round(rssBefore / 1048576)} / ${Math.round(rssAfter / 1048576)}`,
      'peak RSS MiB (whole run)': peakRssMiB(process.pid),
    });
    await log.close();
    await objects.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The delay from an acknowledged call to a log file holding it, with a 1 s delivery interval. */
async function delay(): Promise<void> {
  const dir = tempDir('cairn-bench-delay-');
  const server = await spawnServer(dir, ['--delivery-interval', '1s'], { CAIRN_LOG_LEVEL: 'warn' });
  try {
    const config = { endpoint: server.endpoint, region: 'us-east-1', credentials: server.root };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const ct = new CloudTrailClient(config);
    const sts = new STSClient(config);
    await s3.send(new CreateBucketCommand({ Bucket: 'delay-logs' }));
    await ct.send(new CreateTrailCommand({ Name: 'delay', S3BucketName: 'delay-logs' }));
    await ct.send(new StartLoggingCommand({ Name: 'delay' }));
    const seen = new Set<string>();
    const delivered = new Map<string, number>();
    const poll = async (): Promise<void> => {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'delay-logs' }));
      for (const o of page.Contents ?? []) {
        if (!o.Key || seen.has(o.Key)) continue;
        seen.add(o.Key);
        const got = await s3.send(new GetObjectCommand({ Bucket: 'delay-logs', Key: o.Key }));
        const body = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
        const records = (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: { requestID: string }[] }).Records;
        for (const r of records) delivered.set(r.requestID, performance.now());
      }
    };
    const delays: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // Calls land at different points of the interval.
      await sleep(Math.floor(Math.random() * 1000));
      const out = await sts.send(new GetCallerIdentityCommand({}));
      const id = out.$metadata.requestId ?? '';
      const acked = performance.now();
      for (let tries = 0; !delivered.has(id) && tries < 400; tries++) {
        await poll();
        if (!delivered.has(id)) await sleep(25);
      }
      const at = delivered.get(id);
      if (at !== undefined) delays.push(at - acked);
    }
    delays.sort((a, b) => a - b);
    const q = (p: number): number => Math.round(delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? 0);
    report('delay from call to log file (--delivery-interval 1s, polled every 25 ms)', {
      samples: delays.length,
      'p50 ms': q(0.5),
      'max ms': Math.round(delays[delays.length - 1] ?? 0),
      'min ms': Math.round(delays[0] ?? 0),
    });
    s3.destroy();
    ct.destroy();
    sts.destroy();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the delivery benchmarks. */
export async function run(): Promise<void> {
  await throughput(1);
  await throughput(5);
  await delay();
}
