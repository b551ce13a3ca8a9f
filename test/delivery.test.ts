/**
 * Trail delivery end to end: trails made with the stock AWS CLI deliver CloudTrail log
 * files into their buckets, read back with `aws s3`. Checks the key layout, the gzip
 * JSON, that every call is delivered exactly once (by requestID, against the event log),
 * selectors, regions and global service events, GetTrailStatus, a crash with `kill -9`
 * in the middle of deliveries, and delivery to an external S3 endpoint (moto_server).
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { cloudTrailBucketPolicy, cloudTrailKeyPolicyStatement } from '../src/trails/delivery-access.js';
import { parseDuration } from '../src/platform/config.js';
import { run, startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { cairnBin, spawnServer, repoRoot, type ServerProcess } from './support/process.js';
import { readRecords, type LoggedRecord } from './support/records.js';

const MINUTE = 60_000;
const KEY_PATTERN = /^([^/]+)\/AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$/;

interface LogFile {
  key: string;
  text: string;
  records: Record<string, unknown>[];
}

/** Downloads every object of a bucket with `aws s3 cp --recursive` and reads the log files. */
async function downloadLogs(cairn: TestCairn, bucket: string): Promise<LogFile[]> {
  const dir = join(tempDir('cairn-logs-'), 'out');
  mkdirSync(dir);
  const listed = await cairn.aws(['s3', 'ls', '--recursive', `s3://${bucket}/`]);
  expect(listed.code).toBe(0);
  const keys = listed.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/).slice(3).join(' '))
    .filter((k) => k !== '');
  const copied = await cairn.aws(['s3', 'cp', '--recursive', `s3://${bucket}/`, dir]);
  expect(copied.code).toBe(0);
  return keys.map((key) => {
    const text = gunzipSync(readFileSync(join(dir, key))).toString('utf8');
    return { key, text, records: (JSON.parse(text) as { Records: Record<string, unknown>[] }).Records };
  });
}

/** The files of one trail (its own key prefix), with their keys checked against CloudTrail's layout. */
function filesOf(files: LogFile[], prefix: string, accountId: string): LogFile[] {
  return files
    .filter((f) => f.key.startsWith(`${prefix}/`))
    .map((f) => {
      const m = KEY_PATTERN.exec(f.key);
      expect(m, f.key).not.toBeNull();
      if (!m) return f;
      const [, , account, region, yyyy, mm, dd, account2, region2, stamp] = m;
      expect(account).toBe(accountId);
      expect(account2).toBe(accountId);
      expect(region2).toBe(region);
      expect(stamp?.slice(0, 8)).toBe(`${yyyy}${mm}${dd}`);
      for (const r of f.records) expect(r.awsRegion).toBe(region);
      return f;
    });
}

function requestIds(files: LogFile[]): string[] {
  return files.flatMap((f) => f.records.map((r) => String(r.requestID)));
}

/** The requestIDs of logged records after the trail's own StartLogging record (included), up to `untilSeq`. */
function expected(records: LoggedRecord[], trail: string, untilSeq: number, keep: (r: Record<string, unknown>) => boolean): string[] {
  const start = records.find(
    (r) => r.record.eventName === 'StartLogging' && (r.record.requestParameters as { name?: string } | null)?.name === trail,
  );
  expect(start, `StartLogging of ${trail}`).toBeDefined();
  return records
    .filter((r) => r.seq >= (start?.seq ?? 0) && r.seq <= untilSeq && keep(r.record))
    .map((r) => String(r.record.requestID));
}

const sorted = (xs: string[]): string[] => [...xs].sort();
const isManagement = (r: Record<string, unknown>): boolean => r.eventCategory === 'Management';
const isGlobal = (r: Record<string, unknown>): boolean =>
  r.awsRegion === 'us-east-1' && ['iam.amazonaws.com', 'sts.amazonaws.com'].includes(String(r.eventSource));

describe('trail delivery with the AWS CLI', () => {
  const clock = new ManualClock(Date.now());
  let cairn: TestCairn;
  let accountId: string;

  beforeAll(async () => {
    cairn = await startCairn({ clock });
    accountId = cairn.server.accountId;
  });
  afterAll(async () => {
    await cairn.stop();
  });

  it('delivers every call exactly once, in CloudTrail layout, by each trail scope and selectors', async () => {
    for (const bucket of ['trail-logs', 'data-a', 'data-b', 'gone-bucket']) await cairn.trailBucket(bucket);
    const trail = async (name: string, args: string[] = [], region = 'us-east-1') => {
      await cairn.awsJson(['cloudtrail', 'create-trail', '--name', name, '--s3-bucket-name', 'trail-logs', '--s3-key-prefix', name, ...args], undefined, region);
    };
    await trail('main', ['--is-multi-region-trail']);
    await trail('writes');
    await trail('noglobal', ['--no-include-global-service-events']);
    await trail('data');
    // The key policy lets CloudTrail encrypt this account's logs, as AWS requires.
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${cairn.server.accountId}:root` }, Action: 'kms:*', Resource: '*' },
        cloudTrailKeyPolicyStatement(cairn.server.accountId),
      ],
    };
    const key = await cairn.awsJson<{ KeyMetadata: { Arn: string } }>(['kms', 'create-key', '--policy', JSON.stringify(keyPolicy)], undefined, 'eu-west-1');
    await trail('regional', ['--kms-key-id', key.KeyMetadata.Arn], 'eu-west-1');
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'broken', '--s3-bucket-name', 'gone-bucket']);
    await cairn.awsJson(['cloudtrail', 'put-event-selectors', '--trail-name', 'writes', '--event-selectors', '[{"ReadWriteType":"WriteOnly"}]']);
    await cairn.awsJson([
      'cloudtrail',
      'put-event-selectors',
      '--trail-name',
      'data',
      '--event-selectors',
      '[{"ReadWriteType":"All","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::data-a/"]}]}]',
    ]);
    for (const name of ['main', 'writes', 'noglobal', 'data', 'broken']) await cairn.awsJson(['cloudtrail', 'start-logging', '--name', name]);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'regional'], undefined, 'eu-west-1');
    await cairn.awsJson(['s3api', 'delete-bucket', '--bucket', 'gone-bucket']);

    // The calls: global (IAM, STS in us-east-1), Regional reads and writes, data events.
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'alice']);
    await cairn.awsJson(['sts', 'get-caller-identity']);
    await cairn.awsJson(['sts', 'get-caller-identity'], undefined, 'eu-west-1');
    await cairn.awsJson(['cloudtrail', 'describe-trails']);
    await cairn.awsJson(['cloudtrail', 'describe-trails'], undefined, 'eu-west-1');
    await cairn.awsJson(['cloudtrail', 'add-tags', '--resource-id', `arn:aws:cloudtrail:us-east-1:${accountId}:trail/main`, '--tags-list', 'Key=a,Value=b']);
    await cairn.awsJson(['s3api', 'put-object', '--bucket', 'data-a', '--key', 'in/a.txt', '--body', join(repoRoot, 'package.json')]);
    await cairn.awsJson(['s3api', 'put-object', '--bucket', 'data-b', '--key', 'b.txt', '--body', join(repoRoot, 'package.json')]);
    const bad = await cairn.aws(['cloudtrail', 'get-trail-status', '--name', 'nope']);
    expect(bad.code).not.toBe(0);

    clock.advance(5 * MINUTE + 1000);
    const untilSeq = readRecords(cairn.server.dataDir).at(-1)?.seq ?? 0;
    const report = await cairn.server.delivery.deliverNow();
    expect(report.failures.map((f) => f.error)).toEqual(['NoSuchBucket']);
    const records = readRecords(cairn.server.dataDir);
    const files = await downloadLogs(cairn, 'trail-logs');

    // Verbatim records: each file's JSON is the stored record texts inside {"Records":[...]}.
    const textById = new Map(records.map((r) => [String(r.record.eventID), r.text]));
    for (const f of files) expect(f.text).toBe(`{"Records":[${f.records.map((r) => textById.get(String(r.eventID))).join(',')}]}`);

    const main = requestIds(filesOf(files, 'main', accountId));
    expect(sorted(main)).toEqual(sorted(expected(records, 'main', untilSeq, isManagement)));
    expect(new Set(main).size).toBe(main.length);
    // The multi-region trail has other Regions' events, in their own Regions' files.
    expect(filesOf(files, 'main', accountId).some((f) => f.key.includes('/CloudTrail/eu-west-1/'))).toBe(true);
    // IAM's event is a us-east-1 event.
    const iamFile = filesOf(files, 'main', accountId).find((f) => f.records.some((r) => r.eventName === 'CreateUser'));
    expect(iamFile?.key).toContain('/CloudTrail/us-east-1/');

    const writes = requestIds(filesOf(files, 'writes', accountId));
    expect(sorted(writes)).toEqual(
      sorted(expected(records, 'writes', untilSeq, (r) => isManagement(r) && r.readOnly === false && r.awsRegion === 'us-east-1')),
    );
    expect(writes.length).toBeGreaterThan(0);

    const noglobal = requestIds(filesOf(files, 'noglobal', accountId));
    expect(sorted(noglobal)).toEqual(
      sorted(expected(records, 'noglobal', untilSeq, (r) => isManagement(r) && r.awsRegion === 'us-east-1' && !isGlobal(r))),
    );

    const regional = filesOf(files, 'regional', accountId);
    expect(sorted(requestIds(regional))).toEqual(sorted(expected(records, 'regional', untilSeq, (r) => isManagement(r) && r.awsRegion === 'eu-west-1')));
    expect(regional.flatMap((f) => f.records).some((r) => r.eventSource === 'iam.amazonaws.com')).toBe(false);
    // STS on a Regional endpoint is a Regional event.
    expect(regional.flatMap((f) => f.records).some((r) => r.eventName === 'GetCallerIdentity')).toBe(true);

    // Server-side encryption: SSE-KMS with the trail's key, SSE-S3 otherwise.
    const head = async (k: string) => cairn.awsJson<Record<string, unknown>>(['s3api', 'head-object', '--bucket', 'trail-logs', '--key', k]);
    const sealed = await head(regional[0]?.key ?? '');
    expect(sealed.ServerSideEncryption).toBe('aws:kms');
    expect(sealed.SSEKMSKeyId).toBe(key.KeyMetadata.Arn);
    const plain = await head(filesOf(files, 'main', accountId)[0]?.key ?? '');
    expect(plain.ServerSideEncryption).toBe('AES256');
    expect(plain.ContentType).toBe('application/json');
    expect(plain.ContentEncoding).toBe('gzip');

    const data = filesOf(files, 'data', accountId).flatMap((f) => f.records);
    expect(data.map((r) => [r.eventName, (r.requestParameters as { bucketName?: string }).bucketName])).toEqual([['PutObject', 'data-a']]);

    const status = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'main']);
    expect(status.LatestDeliveryTime).toBeDefined();
    expect(status.LatestDeliveryError).toBeUndefined();
    const broken = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'broken']);
    expect(broken.LatestDeliveryError).toBe('NoSuchBucket');
    expect(broken.LatestDeliveryTime).toBeUndefined();

    // StopLogging: what was logged before it is delivered (the call included), nothing after.
    const beforeStop = await cairn.awsJson<{ User: { UserName: string } }>(['iam', 'create-user', '--user-name', 'before-stop']);
    expect(beforeStop.User.UserName).toBe('before-stop');
    await cairn.awsJson(['cloudtrail', 'stop-logging', '--name', 'writes']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'after-stop']);
    // The broken trail's bucket comes back: its events are delivered, none lost.
    await cairn.trailBucket('gone-bucket');
    clock.advance(5 * MINUTE);
    const second = await cairn.server.delivery.deliverNow();
    expect(second.failures).toEqual([]);
    const after = await downloadLogs(cairn, 'trail-logs');
    const writesAfter = filesOf(after, 'writes', accountId).flatMap((f) => f.records);
    const names = writesAfter.map((r) => `${String(r.eventName)}:${(r.requestParameters as { userName?: string } | null)?.userName ?? ''}`);
    expect(names).toContain('CreateUser:before-stop');
    expect(names).toContain('StopLogging:');
    expect(names).not.toContain('CreateUser:after-stop');
    const mainAfter = requestIds(filesOf(after, 'main', accountId));
    expect(new Set(mainAfter).size).toBe(mainAfter.length);
    const brokenFiles = await downloadLogs(cairn, 'gone-bucket');
    const brokenIds = requestIds(brokenFiles);
    expect(brokenIds.length).toBeGreaterThan(0);
    expect(new Set(brokenIds).size).toBe(brokenIds.length);
    const brokenStatus = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'broken']);
    expect(brokenStatus.LatestDeliveryError).toBeUndefined();
    expect(brokenStatus.LatestDeliveryTime).toBeDefined();
  }, 180_000); // about 40 AWS CLI runs: slow on a loaded 2-core machine
});

/** Every log file of a bucket, through the SDK: key and records. */
async function readBucket(s3: S3Client, bucket: string): Promise<{ key: string; records: Record<string, unknown>[] }[]> {
  const out: { key: string; records: Record<string, unknown>[] }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const body = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
      out.push({ key: o.Key ?? '', records: (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: Record<string, unknown>[] }).Records });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

describe('crash safety of delivery', () => {
  const dataDir = tempDir('cairn-delivery-crash-');
  const running: ServerProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('kill -9 in the middle of deliveries: after a restart no event is missing or duplicated', async () => {
    expect(existsSync(join(repoRoot, 'dist', 'delivery', 'delivery.js')), 'dist/ is stale: run npm run build').toBe(true);
    let server = await spawnServer(dataDir, ['--delivery-interval', '200ms']);
    running.push(server);
    const clients = (s: ServerProcess) => {
      const config = { endpoint: s.endpoint, region: 'us-east-1', credentials: s.root, maxAttempts: 1 };
      return { s3: new S3Client({ ...config, forcePathStyle: true }), iam: new IAMClient(config), sts: new STSClient(config), ct: new CloudTrailClient(config) };
    };
    let c = clients(server);
    await c.s3.send(new CreateBucketCommand({ Bucket: 'crash-logs' }));
    const account = (await c.sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
    await c.s3.send(new PutBucketPolicyCommand({ Bucket: 'crash-logs', Policy: cloudTrailBucketPolicy({ bucket: 'crash-logs', accountId: account }) }));
    await c.ct.send(new CreateTrailCommand({ Name: 'all', S3BucketName: 'crash-logs', IsMultiRegionTrail: true }));
    await c.ct.send(new StartLoggingCommand({ Name: 'all' }));

    // Two crashes under load, each at a random point among deliveries every 200 ms.
    for (let round = 0; round < 2; round++) {
      let stop = false;
      const killAt = sleep(800 + Math.floor(Math.random() * 600)).then(() => {
        stop = true;
        server.child.kill('SIGKILL');
      });
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          try {
            if (i % 3 === 0) await c.iam.send(new CreateUserCommand({ UserName: `u-${round}-${w}-${i}` }));
            else await c.sts.send(new GetCallerIdentityCommand({}));
          } catch {
            return;
          }
        }
      };
      await Promise.all([killAt, ...Array.from({ length: 6 }, (_, w) => worker(w))]);
      expect(await server.exited).toBe('SIGKILL');
      server = await spawnServer(dataDir, ['--delivery-interval', '200ms']);
      running.push(server);
      c = clients(server);
    }

    // Everything the trail logged (management events since its StartLogging) arrives once.
    const start = readRecords(dataDir).find((r) => r.record.eventName === 'StartLogging');
    const want = (): string[] =>
      readRecords(dataDir)
        .filter((r) => r.seq >= (start?.seq ?? 0) && r.record.eventCategory === 'Management')
        .map((r) => String(r.record.eventID));
    let delivered: string[] = [];
    for (let i = 0; i < 100; i++) {
      delivered = (await readBucket(c.s3, 'crash-logs')).flatMap((f) => f.records.map((r) => String(r.eventID)));
      if (new Set(delivered).size >= want().length) break;
      await sleep(200);
    }
    const expectedIds = want();
    expect(expectedIds.length).toBeGreaterThan(50);
    expect(delivered.length).toBe(new Set(delivered).size);
    expect(sorted(delivered)).toEqual(sorted(expectedIds));
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

describe('delivery to an external S3 endpoint', () => {
  let moto: ChildProcess | undefined;
  let cairn: TestCairn | undefined;
  afterAll(async () => {
    await cairn?.stop();
    moto?.kill('SIGTERM');
  });

  it('checks trail buckets on the endpoint and delivers log files there', async () => {
    const port = await freePort();
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    const endpoint = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 300; i++) {
      try {
        await fetch(`${endpoint}/moto-api/`);
        break;
      } catch {
        await sleep(100);
      }
    }
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'moto-logs' }));
    const clock = new ManualClock(Date.now());
    cairn = await startCairn({
      clock,
      config: { s3Endpoint: endpoint, s3AccessKeyId: 'testing', s3SecretAccessKey: 'testing', s3Region: 'us-east-1' },
    });
    const policy = cloudTrailBucketPolicy({ bucket: 'moto-logs', accountId: cairn.server.accountId, anyPrefix: true });
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'moto-logs', Policy: policy }));
    // A bucket of the embedded store is not a trail bucket any more.
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'embedded-only']);
    const missing = await cairn.aws(['cloudtrail', 'create-trail', '--name', 'nope', '--s3-bucket-name', 'embedded-only']);
    expect(missing.stderr).toContain('S3BucketDoesNotExistException');
    await cairn.awsJson(['cloudtrail', 'create-trail', '--name', 'ext', '--s3-bucket-name', 'moto-logs']);
    await cairn.awsJson(['cloudtrail', 'start-logging', '--name', 'ext']);
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'carol']);
    clock.advance(5 * MINUTE);
    const report = await cairn.server.delivery.deliverNow();
    expect(report.failures).toEqual([]);
    const files = await readBucket(s3, 'moto-logs');
    expect(files.length).toBe(1);
    expect(files[0]?.key).toMatch(/^AWSLogs\/\d{12}\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/\d{12}_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/);
    expect(files[0]?.records.map((r) => r.eventName)).toEqual(['StartLogging', 'CreateUser']);
    const status = await cairn.awsJson<Record<string, unknown>>(['cloudtrail', 'get-trail-status', '--name', 'ext']);
    expect(status.LatestDeliveryTime).toBeDefined();
    s3.destroy();
  });
});

describe('the delivery interval setting', () => {
  it('accepts 500ms, 5s, 2m and refuses anything else', async () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5x')).toBeUndefined();
    const bad = await run(process.execPath, [cairnBin, 'server', '--data-dir', tempDir(), '--port', '0'], {
      PATH: process.env.PATH,
      CAIRN_DELIVERY_INTERVAL: 'soon',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--delivery-interval');
  });
});
