/**
 * Trail delivery: how fast the engine turns the event log into log files in the embedded
 * object store, on the server's real write path (the bucket policy checked as CloudTrail's
 * service principal, SSE-S3 at rest):
 * - a backlog of BENCH_DELIVERY_BACKLOG events (default 1,000,000) waiting for one trail:
 *   resident memory while they wait and while they are delivered, and the sustained rate;
 * - that rate as a fraction of the bare cost of serializing and gzipping the same records
 *   into the same files (measured in the same run), the floor any delivery pays;
 * - BENCH_DELIVERY_EVENTS events (default 100,000) for five trails sharing one read of the log;
 * - the delay from an acknowledged call to the log file holding it with
 *   `cairn server --delivery-interval 1s` (BENCH_DELIVERY_SAMPLES calls, default 100; p50/p99).
 * Targets: >= 20,000 events/s through one trail, >= 50% of the bare serialize+gzip rate.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { DeliveryEngine, DEFAULT_MAX_FILE_BYTES } from '../src/delivery/delivery.js';
import { LogFileBuffer, logFileBytes } from '../src/delivery/logfile.js';
import { SqliteDeliveryStateStore } from '../src/delivery/sqlite-store.js';
import { openSqliteEventLog } from '../src/eventlog/sqlite-eventlog.js';
import { testEvent } from '../src/eventlog/test-events.js';
import { loadOrCreateStoreKey, sseTransform } from '../src/objectstore/access/encryption.js';
import { EmbeddedObjectStore } from '../src/objectstore/embedded.js';
import { systemClock } from '../src/platform/clock.js';
import { cryptoRandom } from '../src/platform/ids.js';
import { ACCESS_CONFIG, authorizeServiceWrite } from '../src/services/s3/access.js';
import { openStateDatabase } from '../src/storage/sqlite.js';
import { CLOUDTRAIL_SERVICE, cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { SqliteTrailStore } from '../src/trails/sqlite-store.js';
import { Trails } from '../src/trails/trails.js';
import { tempDir } from '../test/support/cairn.js';
import { spawnServer } from '../test/support/process.js';
import { peakRssMiB, report } from './support.js';

const BACKLOG = Number(process.env.BENCH_DELIVERY_BACKLOG ?? 1_000_000);
const EVENTS = Number(process.env.BENCH_DELIVERY_EVENTS ?? 100_000);
const SAMPLES = Number(process.env.BENCH_DELIVERY_SAMPLES ?? 100);
const ACCOUNT = '123456789012';
const BUCKET = 'bench-logs';
const BATCH = 10_000;
const MiB = 1024 * 1024;

const mib = (bytes: number): number => Math.round(bytes / MiB);

interface World {
  engine: DeliveryEngine;
  objects: EmbeddedObjectStore;
  fill(count: number): Promise<number>;
  close(): Promise<void>;
}

/** The server's delivery path in a temporary directory, with `trailCount` logging trails on one bucket. */
async function world(dir: string, trailCount: number): Promise<World> {
  const { log } = await openSqliteEventLog({ dataDir: dir });
  const db = openStateDatabase(dir);
  const objects = await EmbeddedObjectStore.open({ dir: join(dir, 'objects'), clock: systemClock, random: cryptoRandom, defaultOwner: ACCOUNT });
  objects.use({ atRest: sseTransform({ masterKey: loadOrCreateStoreKey(dir, cryptoRandom), random: cryptoRandom }) });
  // Trails tells the engine of StartLogging; the engine needs Trails: a holder ties the knot.
  const holder: { engine?: DeliveryEngine } = {};
  const trails = new Trails({
    store: new SqliteTrailStore(db),
    clock: systemClock,
    bucketPolicy: async (bucket) => objects.bucketConfig(bucket, ACCESS_CONFIG.policy) ?? null,
    loggingChanged: (t, on) => holder.engine?.loggingChanged(t, on),
  });
  const engine = new DeliveryEngine({
    log,
    trails,
    objects,
    store: new SqliteDeliveryStateStore(db),
    clock: systemClock,
    authorizeWrite: (write) => authorizeServiceWrite(objects, { ...write, service: CLOUDTRAIL_SERVICE }),
  });
  holder.engine = engine;
  if (!(await objects.headBucket(BUCKET))) await objects.createBucket(BUCKET);
  // One policy for the trails' prefixes t0, t1...
  await objects.putBucketConfig(BUCKET, ACCESS_CONFIG.policy, cloudTrailBucketPolicy({ bucket: BUCKET, accountId: ACCOUNT, anyPrefix: true }));
  const scope = { accountId: ACCOUNT, region: 'us-east-1' };
  for (let t = 0; t < trailCount; t++) {
    await trails.create(scope, { name: `trail-${t}`, s3BucketName: BUCKET, s3KeyPrefix: `t${t}` });
    trails.startLogging(scope, `trail-${t}`);
  }
  return {
    engine,
    objects,
    /** Appends `count` events of about 1 KB; resolves with their record bytes. */
    async fill(count) {
      let bytes = 0;
      for (let i = 0; i < count; i += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => testEvent(i + j, 'bench'));
        for (const e of batch) bytes += Buffer.byteLength(e.record);
        await log.appendMany(batch);
      }
      return bytes;
    },
    async close() {
      await engine.stop();
      await log.close();
      await objects.close();
      db.close();
    },
  };
}

/**
 * Appends `count` events to the log in `dir` from a child process, as a server that logged
 * them and restarted would leave it: the backlog is on disk, and nothing of the appending
 * stays in this process's memory. Resolves with the seconds it took.
 */
async function fillInChild(dir: string, count: number): Promise<number> {
  const started = performance.now();
  const log = pathToFileURL(join(import.meta.dirname, '..', 'src', 'eventlog', 'sqlite-eventlog.ts')).href;
  const events = pathToFileURL(join(import.meta.dirname, '..', 'src', 'eventlog', 'test-events.ts')).href;
  // Reopened every 200,000 events, so the child's own memory stays bounded too.
  const script = `
    const { openSqliteEventLog } = await import(${JSON.stringify(log)});
    const { testEvent } = await import(${JSON.stringify(events)});
    const [dir, count] = [process.argv[1], Number(process.argv[2])];
    for (let from = 0; from < count; from += 200000) {
      const { log } = await openSqliteEventLog({ dataDir: dir });
      for (let i = from; i < Math.min(count, from + 200000); i += ${BATCH}) {
        await log.appendMany(Array.from({ length: Math.min(${BATCH}, count - i) }, (_, j) => testEvent(i + j, 'bench')));
      }
      await log.close();
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script, dir, String(count)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`filling the event log failed (exit ${String(code)})`);
  return (performance.now() - started) / 1000;
}

/** Samples the process's resident memory until stopped; resolves with the highest reading. */
function sampleRss(everyMs = 50): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * The floor: serializing and gzipping `count` of the same records into files of the same
 * size as delivery does, with the records already in memory. Records per second.
 */
async function bareSerializeGzip(count: number): Promise<number> {
  let elapsed = 0;
  for (let i = 0; i < count; i += BATCH) {
    const records = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => testEvent(i + j, 'bench').record);
    const started = performance.now();
    const buffer = new LogFileBuffer(DEFAULT_MAX_FILE_BYTES);
    for (const r of records) {
      const full = buffer.add(r);
      if (full) await logFileBytes(full.records);
    }
    const last = buffer.finish();
    if (last) await logFileBytes(last.records);
    elapsed += performance.now() - started;
  }
  return count / (elapsed / 1000);
}

/** A backlog waiting for one trail: memory while it waits and while it drains, and the sustained rate. */
async function backlog(): Promise<void> {
  const dir = tempDir('cairn-bench-backlog-');
  try {
    const rssStart = process.memoryUsage().rss;
    // The trail exists and logs before the events arrive, so all of them are its to deliver.
    const setup = await world(dir, 1);
    await setup.close();
    const fillSeconds = await fillInChild(dir, BACKLOG);
    const bytes = BACKLOG * Buffer.byteLength(testEvent(0, 'bench').record);
    const w = await world(dir, 0);
    const rssWaiting = process.memoryUsage().rss;
    const sampler = sampleRss();
    const started = performance.now();
    const result = await w.engine.deliverNow();
    const seconds = (performance.now() - started) / 1000;
    const rssPeak = sampler.stop();
    if (result.failures.length > 0) throw new Error(`delivery failed: ${JSON.stringify(result.failures)}`);
    const delivered = result.files.reduce((n, f) => n + f.records, 0);
    const rate = delivered / seconds;
    // The same records, serialized and gzipped on their own, over a sample large enough to be steady.
    const bare = await bareSerializeGzip(Math.min(BACKLOG, 200_000));
    let stored = 0;
    for (const f of result.files) stored += (await w.objects.headObject(f.bucket, f.key)).size;
    report(`delivery of a backlog through one trail (embedded store, bucket policy checked, SSE-S3)`, {
      'events waiting': BACKLOG,
      'record MiB waiting (about)': (bytes / MiB).toFixed(0),
      'seconds to append them (child process, not delivery)': fillSeconds.toFixed(1),
      'records delivered': delivered,
      'log files written': result.files.length,
      'gzip MiB stored': (stored / MiB).toFixed(1),
      'seconds to deliver': seconds.toFixed(1),
      'events/s delivered (target >= 20000)': Math.round(rate),
      'bare serialize+gzip records/s, same records': Math.round(bare),
      'delivery as a share of bare (target >= 50%)': `${Math.round((100 * rate) / bare)}%`,
      'RSS MiB before the backlog': mib(rssStart),
      'RSS MiB while the backlog waits': mib(rssWaiting),
      'peak RSS MiB while it is delivered': mib(rssPeak),
    });
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** EVENTS events for five trails (one read of the log feeds all of them). */
async function fiveTrails(): Promise<void> {
  const dir = tempDir('cairn-bench-delivery-');
  try {
    const w = await world(dir, 5);
    await w.fill(EVENTS);
    const started = performance.now();
    const result = await w.engine.deliverNow();
    const seconds = (performance.now() - started) / 1000;
    const delivered = result.files.reduce((n, f) => n + f.records, 0);
    report('delivery throughput, 5 trails on one bucket (embedded store)', {
      'events in the log': EVENTS,
      'records delivered (all trails)': delivered,
      'log files written': result.files.length,
      seconds: seconds.toFixed(2),
      'events/s read from the log': Math.round(EVENTS / seconds),
      'records/s written into log files': Math.round(delivered / seconds),
      'peak RSS MiB (whole run so far)': peakRssMiB(process.pid),
    });
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The delay from an acknowledged call to a log file holding it, with a 1 s delivery interval. */
async function delay(): Promise<void> {
  const dir = tempDir('cairn-bench-delay-');
  const server = await spawnServer(dir, ['--delivery-interval', '1s'], { CAIRN_LOG_LEVEL: 'warn' });
  const config = { endpoint: server.endpoint, region: 'us-east-1', credentials: server.root };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const ct = new CloudTrailClient(config);
  const sts = new STSClient(config);
  try {
    const accountId = (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
    await s3.send(new CreateBucketCommand({ Bucket: 'delay-logs' }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'delay-logs', Policy: cloudTrailBucketPolicy({ bucket: 'delay-logs', accountId }) }));
    await ct.send(new CreateTrailCommand({ Name: 'delay', S3BucketName: 'delay-logs' }));
    await ct.send(new StartLoggingCommand({ Name: 'delay' }));
    const seen = new Set<string>();
    const delivered = new Map<string, number>();
    const acked = new Map<string, number>();
    let polling = true;
    // One poller lists the bucket every 25 ms while calls land at random points of the interval.
    const poller = (async () => {
      while (polling) {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: 'delay-logs' }));
        for (const o of page.Contents ?? []) {
          if (!o.Key || seen.has(o.Key)) continue;
          seen.add(o.Key);
          const got = await s3.send(new GetObjectCommand({ Bucket: 'delay-logs', Key: o.Key }));
          const body = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
          const at = performance.now();
          const records = (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: { requestID: string }[] }).Records;
          for (const r of records) if (!delivered.has(r.requestID)) delivered.set(r.requestID, at);
        }
        await sleep(25);
      }
    })();
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(50 + Math.floor(Math.random() * 200));
      const out = await sts.send(new GetCallerIdentityCommand({}));
      acked.set(out.$metadata.requestId ?? '', performance.now());
    }
    for (let waited = 0; waited < 10_000 && [...acked.keys()].some((id) => !delivered.has(id)); waited += 50) await sleep(50);
    polling = false;
    await poller;
    const delays = [...acked].flatMap(([id, at]) => {
      const got = delivered.get(id);
      return got === undefined ? [] : [got - at];
    });
    delays.sort((a, b) => a - b);
    const q = (p: number): number => Math.round(delays[Math.min(delays.length - 1, Math.ceil(p * delays.length) - 1)] ?? 0);
    report('delay from call to log file (--delivery-interval 1s, bucket polled every 25 ms)', {
      samples: delays.length,
      'missing after 10 s': acked.size - delays.length,
      'p50 ms': q(0.5),
      'p99 ms': q(0.99),
      'max ms': Math.round(delays[delays.length - 1] ?? 0),
      'min ms': Math.round(delays[0] ?? 0),
    });
  } finally {
    s3.destroy();
    ct.destroy();
    sts.destroy();
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the delivery benchmarks. */
export async function run(): Promise<void> {
  // First, so the backlog's memory figures are not inflated by the runs before it.
  await backlog();
  await fiveTrails();
  await delay();
}
