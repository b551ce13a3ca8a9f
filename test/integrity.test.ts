/**
 * Log file validation end to end on a server with a manual clock: trails with validation
 * on live four hours of calls (delivery every 5 minutes, a digest every hour), then the
 * stock `aws cloudtrail validate-logs` and `cairn validate-logs` check them. One trail is
 * left alone (everything valid); each other trail is tampered with one way (a log file's
 * bytes changed, a log file deleted, a digest changed, deleted, moved, two consecutive
 * digests deleted, a log file no digest lists), and both validators must report it, the
 * AWS CLI exactly as it does against AWS, Cairn the same plus what only it catches.
 * Also: the digest format and chaining, ListPublicKeys, key rotation, stop/start; the
 * command through the AWS SDK (credentials from a profile) against its own signed-HTTP
 * client; and that client's reads: any key, S3's errors, chunked replies, dropped
 * keep-alive connections, retries, a clock that is off.
 */
import { CreateTrailCommand, ListPublicKeysCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestEngine } from '../src/integrity/engine.js';
import { SigningKeys } from '../src/integrity/keys.js';
import { signedHttp } from '../src/integrity/signed-http.js';
import { httpS3Source } from '../src/integrity/sources.js';
import { SqliteIntegrityStore } from '../src/integrity/sqlite-store.js';
import { ManualClock, systemClock } from '../src/platform/clock.js';
import { cryptoRandom } from '../src/platform/ids.js';
import { openStateDatabase } from '../src/storage/sqlite.js';
import { SqliteTrailStore } from '../src/trails/sqlite-store.js';
import { Trails } from '../src/trails/trails.js';
import { run, startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { cairnValidate, clients, cloudTrailBucketPolicy } from './support/digests.js';
import { cairnBin } from './support/process.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const BUCKET = 'integrity-logs';
/** Trails by Region (five at most per Region). */
const TRAILS: Record<string, string[]> = {
  'us-east-1': ['clean', 'log-changed', 'log-deleted', 'digest-changed', 'digest-deleted'],
  'eu-west-1': ['digest-moved', 'two-deleted', 'unlisted', 'restarted'],
};

interface Digest {
  key: string;
  doc: Record<string, unknown> & { logFiles: { s3Bucket: string; s3Object: string; hashValue: string }[] };
  raw: Buffer;
  metadata: Record<string, string>;
}

describe('log file validation (manual clock, stock AWS CLI)', () => {
  const start = Math.floor((Date.now() - 5 * HOUR) / MINUTE) * MINUTE;
  const clock = new ManualClock(start);
  let cairn: TestCairn;
  let accountId: string;
  const arn = (region: string, name: string): string => `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`;
  const regionOf = (name: string): string => Object.entries(TRAILS).find(([, names]) => names.includes(name))?.[0] ?? 'us-east-1';
  const s3 = (): S3Client => clients(cairn.endpoint, cairn.root, 'us-east-1', clock).s3;

  async function digestsOf(name: string): Promise<Digest[]> {
    const region = regionOf(name);
    const list = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${name}/AWSLogs/${accountId}/CloudTrail-Digest/${region}/` }));
    const out: Digest[] = [];
    for (const o of list.Contents ?? []) {
      const got = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key }));
      const raw = gunzipSync(Buffer.from(await (got.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array()))));
      out.push({ key: o.Key ?? '', doc: JSON.parse(raw.toString('utf8')) as Digest['doc'], raw, metadata: got.Metadata ?? {} });
    }
    return out;
  }

  const startIso = new Date(start - MINUTE).toISOString().replace(/\.\d+Z$/, 'Z');
  const aws = (name: string) =>
    cairn.aws(['cloudtrail', 'validate-logs', '--trail-arn', arn(regionOf(name), name), '--start-time', startIso, '--verbose'], undefined, regionOf(name));
  const ours = (name: string, extra: Record<string, string | boolean> = {}) =>
    cairnValidate({ trailArn: arn(regionOf(name), name), startTime: startIso, verbose: true, ...extra }, cairn.env(undefined, regionOf(name)));

  beforeAll(async () => {
    cairn = await startCairn({ clock });
    accountId = cairn.server.accountId;
    const setup = clients(cairn.endpoint, cairn.root, 'us-east-1', clock);
    await setup.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await setup.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: cloudTrailBucketPolicy(BUCKET, accountId) }));
    for (const [region, names] of Object.entries(TRAILS)) {
      const ct = clients(cairn.endpoint, cairn.root, region, clock);
      for (const name of names) {
        await ct.cloudtrail.send(new CreateTrailCommand({ Name: name, S3BucketName: BUCKET, S3KeyPrefix: name, EnableLogFileValidation: true }));
        await ct.cloudtrail.send(new StartLoggingCommand({ Name: name }));
      }
    }
    // Four hours of activity: calls every 5 minutes in both Regions, except one quiet hour.
    for (let minute = 5; minute <= 4 * 60; minute += 5) {
      const quiet = minute > 120 && minute <= 180;
      if (!quiet) {
        for (const region of Object.keys(TRAILS)) {
          const c = clients(cairn.endpoint, cairn.root, region, clock);
          await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `data/${region}/${minute}.txt`, Body: 'x' }));
          await c.cloudtrail.send(new ListPublicKeysCommand({}));
        }
      }
      if (minute === 150) {
        // `restarted` stops and starts logging: its chain ends and a new one begins.
        const ct = clients(cairn.endpoint, cairn.root, 'eu-west-1', clock);
        await ct.cloudtrail.send(new StopLoggingCommand({ Name: 'restarted' }));
        await cairn.server.delivery.deliverNow();
        await cairn.server.digests.tick();
        await ct.cloudtrail.send(new StartLoggingCommand({ Name: 'restarted' }));
      }
      clock.set(start + minute * MINUTE);
      await cairn.server.delivery.deliverNow();
      await cairn.server.digests.tick();
    }
    // Back to real time (the AWS CLI signs with its own clock): deliver and digest the rest.
    clock.set(Date.now());
    await cairn.server.delivery.deliverNow();
    await cairn.server.digests.tick();
  }, 180_000);

  afterAll(async () => {
    await cairn?.stop();
  });

  it('writes hourly digests in CloudTrail format, chained and signed', async () => {
    const digests = await digestsOf('clean');
    expect(digests.length).toBeGreaterThanOrEqual(5);
    const keyPattern = new RegExp(
      `^clean/AWSLogs/${accountId}/CloudTrail-Digest/us-east-1/\\d{4}/\\d{2}/\\d{2}/${accountId}_CloudTrail-Digest_us-east-1_clean_us-east-1_\\d{8}T\\d{6}Z\\.json\\.gz$`,
    );
    const ct = clients(cairn.endpoint, cairn.root, 'us-east-1', clock);
    const keys = await ct.cloudtrail.send(new ListPublicKeysCommand({ StartTime: new Date(start - HOUR), EndTime: new Date(Date.now() + HOUR) }));
    const byFingerprint = new Map((keys.PublicKeyList ?? []).map((k) => [k.Fingerprint ?? '', k]));
    let previous: Digest | undefined;
    for (const d of digests) {
      expect(d.key).toMatch(keyPattern);
      expect(Object.keys(d.doc)).toEqual([
        'awsAccountId', 'digestStartTime', 'digestEndTime', 'digestS3Bucket', 'digestS3Object', 'digestPublicKeyFingerprint',
        'digestSignatureAlgorithm', 'newestEventTime', 'oldestEventTime', 'previousDigestS3Bucket', 'previousDigestS3Object',
        'previousDigestHashValue', 'previousDigestHashAlgorithm', 'previousDigestSignature', 'logFiles',
      ]);
      expect(d.doc.digestS3Object).toBe(d.key);
      expect(d.doc.digestSignatureAlgorithm).toBe('SHA256withRSA');
      expect(d.metadata['signature-algorithm']).toBe('SHA256withRSA');
      const key = byFingerprint.get(String(d.doc.digestPublicKeyFingerprint));
      expect(key?.Value).toBeDefined();
      const der = Buffer.from(key?.Value ?? new Uint8Array());
      expect(createHash('md5').update(der).digest('hex')).toBe(d.doc.digestPublicKeyFingerprint);
      const toSign = `${String(d.doc.digestEndTime)}\n${BUCKET}/${d.key}\n${createHash('sha256').update(d.raw).digest('hex')}\n${(d.doc.previousDigestSignature as string | null) ?? 'null'}`;
      const publicKey = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
      expect(verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(d.metadata.signature ?? '', 'hex'))).toBe(true);
      if (previous) {
        expect(d.doc.previousDigestS3Object).toBe(previous.key);
        expect(d.doc.previousDigestHashValue).toBe(createHash('sha256').update(previous.raw).digest('hex'));
        expect(d.doc.previousDigestHashAlgorithm).toBe('SHA-256');
        expect(d.doc.previousDigestSignature).toBe(previous.metadata.signature);
        expect(d.doc.digestStartTime).toBe(previous.doc.digestEndTime);
      } else {
        expect(d.doc.previousDigestS3Object).toBeNull();
        expect(d.doc.previousDigestSignature).toBeNull();
      }
      previous = d;
    }
    // The quiet hour's digest lists nothing.
    expect(digests.some((d) => d.doc.logFiles.length === 0 && d.doc.newestEventTime === null)).toBe(true);
    // Every log file of the trail is listed exactly once, with its uncompressed SHA-256.
    const listed = digests.flatMap((d) => d.doc.logFiles.map((f) => f.s3Object));
    expect(new Set(listed).size).toBe(listed.length);
    const files = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `clean/AWSLogs/${accountId}/CloudTrail/` }));
    expect([...listed].sort()).toEqual((files.Contents ?? []).map((o) => o.Key).sort());
    const one = digests.find((d) => d.doc.logFiles.length > 0)?.doc.logFiles[0];
    const body = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: one?.s3Object }));
    const bytes = gunzipSync(Buffer.from(await (body.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array()))));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(one?.hashValue);
  });

  it('stop and start logging ends a chain and starts a new one', async () => {
    const digests = await digestsOf('restarted');
    const starts = digests.filter((d) => d.doc.previousDigestS3Object === null);
    expect(starts.length).toBe(2);
    const awsResult = await aws('restarted');
    expect(awsResult.stderr).toMatch(/No log files were delivered by CloudTrail between/);
    expect(awsResult.code).toBe(0);
  });

  it('the stock AWS CLI and cairn validate-logs find an untouched trail valid', async () => {
    const result = await aws('clean');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Digest file\ts3:\/\/integrity-logs\/clean\/AWSLogs\/.*\tvalid/);
    expect(result.stdout).toMatch(/Log file\ts3:\/\/integrity-logs\/clean\/AWSLogs\/.*\tvalid/);
    const digests = await digestsOf('clean');
    const logs = digests.reduce((n, d) => n + d.doc.logFiles.length, 0);
    expect(result.stdout).toContain(`${digests.length}/${digests.length} digest files valid`);
    expect(result.stdout).toContain(`${logs}/${logs} log files valid`);
    const mine = await ours('clean', { endTime: endOf(result.stdout) });
    expect(mine.code).toBe(0);
    expect(mine.stderr).toBe('');
    expect(mine.stdout).toBe(result.stdout);
  });

  it('cairn validate-logs prints the same through the AWS SDK (credentials from a profile) as over its own client', async () => {
    const end = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const args = ['validate-logs', '--trail-arn', arn('us-east-1', 'clean'), '--start-time', startIso, '--end-time', end, '--verbose'];
    const direct = await run(process.execPath, [cairnBin, ...args], cairn.env());
    expect(direct.code).toBe(0);
    expect(direct.stdout).toMatch(/\d+\/\d+ log files valid/);
    // No credentials in the environment: only the SDK finds them (in the profile file).
    const dir = tempDir('cairn-profile-');
    const credentialsFile = join(dir, 'credentials');
    writeFileSync(credentialsFile, `[bench]\naws_access_key_id = ${cairn.root.accessKeyId}\naws_secret_access_key = ${cairn.root.secretAccessKey}\n`);
    const rest = cairn.env();
    delete rest.AWS_ACCESS_KEY_ID;
    delete rest.AWS_SECRET_ACCESS_KEY;
    const viaSdk = await run(process.execPath, [cairnBin, ...args], { ...rest, AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_PROFILE: 'bench' });
    expect(viaSdk.stderr).toBe('');
    expect(viaSdk.code).toBe(0);
    expect(viaSdk.stdout).toBe(direct.stdout);
    // A bucket that is not there stops validation the same way on both paths.
    const missing = [...args, '--s3-bucket', 'no-such-bucket'];
    const directMissing = await run(process.execPath, [cairnBin, ...missing], cairn.env());
    const sdkMissing = await run(process.execPath, [cairnBin, ...missing], { ...rest, AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_PROFILE: 'bench' });
    expect(directMissing.code).toBe(255);
    expect(directMissing.stderr).toMatch(/bucket does not exist/);
    expect([sdkMissing.code, sdkMissing.stderr]).toEqual([255, directMissing.stderr]);
  });

  /** The end time the AWS CLI used (its "now"), so both validators look at the same range. */
  function endOf(stdout: string): string {
    return /between \S+ and (\S+)/.exec(stdout)?.[1] ?? new Date().toISOString();
  }

  async function compare(name: string): Promise<{ aws: string; ours: string; awsCode: number; oursCode: number }> {
    const a = await aws(name);
    const o = await ours(name, { endTime: endOf(a.stdout) });
    // Cairn prints every line the AWS CLI prints, in order; its own findings come after.
    const awsLines = (a.stdout + a.stderr).split('\n').filter((l) => l.startsWith('Digest file') || l.startsWith('Log file') || l.startsWith('No log files'));
    const ourLines = (o.stdout + o.stderr).split('\n');
    for (const line of awsLines) expect(ourLines).toContain(line);
    return { aws: a.stderr, ours: o.stderr, awsCode: a.code, oursCode: o.code };
  }

  it('a log file whose bytes changed', async () => {
    const d = (await digestsOf('log-changed')).find((x) => x.doc.logFiles.length > 0);
    const target = d?.doc.logFiles[0]?.s3Object ?? '';
    const got = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: target }));
    const text = gunzipSync(Buffer.from(await (got.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())))).toString();
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: target, Body: gzipSync(text.replace('"eventName":"', '"eventName":"X')) }));
    const r = await compare('log-changed');
    expect(r.aws).toContain(`Log file\ts3://${BUCKET}/${target}\tINVALID: hash value doesn't match`);
    expect(r.ours).toContain(`Log file\ts3://${BUCKET}/${target}\tINVALID: hash value doesn't match`);
    expect(r.awsCode).toBe(1);
    expect(r.oursCode).toBe(1);
  });

  it('a log file deleted', async () => {
    const d = (await digestsOf('log-deleted')).find((x) => x.doc.logFiles.length > 0);
    const target = d?.doc.logFiles[0]?.s3Object ?? '';
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: target }));
    const r = await compare('log-deleted');
    expect(r.aws).toContain(`Log file\ts3://${BUCKET}/${target}\tINVALID: not found`);
    expect(r.ours).toContain(`Log file\ts3://${BUCKET}/${target}\tINVALID: not found`);
    expect([r.awsCode, r.oursCode]).toEqual([1, 1]);
  });

  it('a digest changed', async () => {
    const digests = await digestsOf('digest-changed');
    const d = digests.find((x, i) => i > 0 && x.doc.logFiles.length > 0);
    const changed = d?.raw.toString().replace(/"logFiles":\[.*\]/, '"logFiles":[]') ?? '';
    expect(changed).not.toBe(d?.raw.toString());
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: d?.key, Body: gzipSync(changed), Metadata: d?.metadata }));
    const r = await compare('digest-changed');
    expect(r.aws).toContain(`Digest file\ts3://${BUCKET}/${d?.key}\tINVALID: signature verification failed`);
    expect(r.ours).toContain(`Digest file\ts3://${BUCKET}/${d?.key}\tINVALID: signature verification failed`);
    expect([r.awsCode, r.oursCode]).toEqual([1, 1]);
  });

  it('a digest deleted', async () => {
    const digests = await digestsOf('digest-deleted');
    const d = digests[2];
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: d?.key }));
    const r = await compare('digest-deleted');
    expect(r.aws).toContain(`Digest file\ts3://${BUCKET}/${d?.key}\tINVALID: not found`);
    expect(r.ours).toContain(`Digest file\ts3://${BUCKET}/${d?.key}\tINVALID: not found`);
    // Its log files are now listed by no digest: only Cairn notices.
    for (const f of d?.doc.logFiles ?? []) expect(r.ours).toContain(`Log file\ts3://${BUCKET}/${f.s3Object}\tINVALID: not listed in any digest`);
    expect([r.awsCode, r.oursCode]).toEqual([1, 1]);
  });

  it('a digest moved', async () => {
    const digests = await digestsOf('digest-moved');
    const d = digests[2];
    const key = d?.key ?? '';
    // Same folder, a second earlier: the AWS CLI lists it, and finds it moved.
    const stamp = /_(\d{8}T\d{6}Z)\.json\.gz$/.exec(key)?.[1] ?? '';
    const t = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(9, 11), +stamp.slice(11, 13), +stamp.slice(13, 15)) - 1000;
    const moved = key.replace(stamp, new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'));
    await s3().send(new CopyObjectCommand({ Bucket: BUCKET, Key: moved, CopySource: `${BUCKET}/${key}` }));
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const r = await compare('digest-moved');
    expect(r.aws).toContain(`Digest file\ts3://${BUCKET}/${key}\tINVALID: not found`);
    expect(r.aws).toContain(`Digest file\ts3://${BUCKET}/${moved}\tINVALID: has been moved from its original location`);
    expect(r.ours).toContain(`Digest file\ts3://${BUCKET}/${moved}\tINVALID: has been moved from its original location`);
    expect([r.awsCode, r.oursCode]).toEqual([1, 1]);
  });

  it('two consecutive digests deleted: the AWS CLI reports one, Cairn both', async () => {
    const digests = await digestsOf('two-deleted');
    const [a, b] = [digests[2], digests[3]];
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: a?.key }));
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: b?.key }));
    const r = await compare('two-deleted');
    expect(r.aws).toContain(`Digest file\ts3://${BUCKET}/${b?.key}\tINVALID: not found`);
    expect(r.aws).not.toContain(a?.key);
    expect(r.ours).toMatch(/Digest file\t\(between s3:\/\/\S+ and s3:\/\/\S+\)\tINVALID: not found/);
    expect([r.awsCode, r.oursCode]).toEqual([1, 1]);
  });

  it('a log file no digest lists: only Cairn notices', async () => {
    const d = (await digestsOf('unlisted')).find((x) => x.doc.logFiles.length > 0);
    const listedKey = d?.doc.logFiles[0]?.s3Object ?? '';
    const extra = listedKey.replace(/_[A-Za-z0-9]{16}\.json\.gz$/, '_ZZZZZZZZZZZZZZZZ.json.gz');
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: extra, Body: gzipSync('{"Records":[]}') }));
    const r = await compare('unlisted');
    expect(r.awsCode).toBe(0);
    expect(r.ours).toContain(`Log file\ts3://${BUCKET}/${extra}\tINVALID: not listed in any digest`);
    expect(r.oursCode).toBe(1);
  });

  it('ListPublicKeys filters by time and refuses a reversed range', async () => {
    const ct = clients(cairn.endpoint, cairn.root, 'us-east-1', clock);
    const none = await ct.cloudtrail.send(new ListPublicKeysCommand({ StartTime: new Date(start - 10 * HOUR), EndTime: new Date(start - 9 * HOUR) }));
    expect(none.PublicKeyList ?? []).toEqual([]);
    const now = await ct.cloudtrail.send(new ListPublicKeysCommand({}));
    expect(now.PublicKeyList?.length).toBe(1);
    await expect(ct.cloudtrail.send(new ListPublicKeysCommand({ StartTime: new Date(), EndTime: new Date(Date.now() - HOUR) }))).rejects.toMatchObject({
      name: 'InvalidTimeRangeException',
    });
  });
});

describe('the digest engine (in-process)', () => {
  const ACCOUNT = '111122223333';
  const scope = { accountId: ACCOUNT, region: 'us-east-1' };

  function world(failWrites: { on: boolean }, db = openStateDatabase(':memory:'), clock = new ManualClock(Date.UTC(2026, 0, 1))) {
    const written = new Map<string, { body: Buffer; metadata: Record<string, string> }>();
    const store = new SqliteIntegrityStore(db);
    const keys = new SigningKeys({ store, clock, random: cryptoRandom, masterKey: Buffer.alloc(32, 7), rotationMs: 3 * HOUR });
    const trails: Trails = new Trails({ store: new SqliteTrailStore(db), clock, loggingChanged: (t, on) => engine.loggingChanged(t, on) });
    const engine = new DigestEngine({
      trails,
      store,
      keys,
      clock,
      objects: {
        putObject: async (bucket, key, body, opts) => {
          if (failWrites.on) throw new Error('the bucket is away');
          written.set(`${bucket}/${key}`, { body: Buffer.from(body as Uint8Array), metadata: opts?.metadata ?? {} });
          return { etag: '"x"', size: 0, lastModified: clock.now() };
        },
      },
    });
    return { db, clock, written, store, keys, trails, engine };
  }

  const docOf = (w: { body: Buffer } | undefined): Record<string, unknown> => JSON.parse(gunzipSync(w?.body ?? gzipSync('{}')).toString()) as Record<string, unknown>;

  it('after a failed (or crashed) write, the same digest is written again: no gap, no duplicate', async () => {
    const fail = { on: false };
    const w = world(fail);
    const trail = await w.trails.create(scope, { name: 'trail-one', s3BucketName: 'bkt', enableLogFileValidation: true });
    w.trails.startLogging(scope, 'trail-one');
    const file = { trail, region: 'us-east-1', bucket: 'bkt', sha256: 'aa', oldestEventTime: w.clock.now(), newestEventTime: w.clock.now() };
    w.engine.logFileDelivered({ ...file, key: 'AWSLogs/1.json.gz' });
    w.clock.advance(HOUR);
    fail.on = true;
    const failed = await w.engine.tick();
    expect(failed.failures).toHaveLength(1);
    // Delivered meanwhile (and one delivered twice by a retried delivery): the next digest's.
    w.engine.logFileDelivered({ ...file, key: 'AWSLogs/2.json.gz' });
    w.engine.logFileDelivered({ ...file, key: 'AWSLogs/1.json.gz' });
    fail.on = false;
    // A new engine over the same state (a restart) writes the intended digest.
    const again = world(fail, w.db, w.clock);
    w.clock.advance(MINUTE);
    const first = (await again.engine.digestNow()).digests[0];
    const firstDoc = docOf(again.written.get(`bkt/${first?.key ?? ''}`));
    expect(firstDoc.digestEndTime).toBe(new Date(Date.UTC(2026, 0, 1, 1)).toISOString().replace('.000Z', 'Z'));
    expect((firstDoc.logFiles as { s3Object: string }[]).map((f) => f.s3Object)).toEqual(['AWSLogs/1.json.gz']);
    const second = (await again.engine.digestNow()).digests[0];
    const secondDoc = docOf(again.written.get(`bkt/${second?.key ?? ''}`));
    expect(secondDoc.previousDigestS3Object).toBe(first?.key);
    expect((secondDoc.logFiles as { s3Object: string }[]).map((f) => f.s3Object)).toEqual(['AWSLogs/2.json.gz']);
  });

  it('ends the chain with a final digest when validation is turned off or the trail is deleted, and rotates keys', async () => {
    const w = world({ on: false });
    await w.trails.create(scope, { name: 'off', s3BucketName: 'bkt', enableLogFileValidation: true });
    await w.trails.create(scope, { name: 'gone', s3BucketName: 'bkt', s3KeyPrefix: 'p', enableLogFileValidation: true });
    w.trails.startLogging(scope, 'off');
    w.trails.startLogging(scope, 'gone');
    w.clock.advance(HOUR);
    expect((await w.engine.tick()).digests).toHaveLength(2);
    await w.trails.update(scope, { nameOrArn: 'off', enableLogFileValidation: false });
    w.trails.delete(scope, 'gone');
    w.clock.advance(MINUTE);
    const finals = (await w.engine.tick()).digests;
    expect(finals.map((d) => d.final)).toEqual([true, true]);
    expect(finals.find((d) => d.key.startsWith('p/'))).toBeDefined();
    expect(w.store.listChains()).toEqual([]);
    // Keys rotate every 3 hours by the clock; old ones stay listed.
    const before = (await w.keys.current('us-east-1')).fingerprint;
    w.clock.advance(4 * HOUR);
    const after = (await w.keys.current('us-east-1')).fingerprint;
    expect(after).not.toBe(before);
    expect(w.keys.list('us-east-1', 0, w.clock.now()).map((k) => k.fingerprint)).toEqual([after, before]);
    // The private keys are sealed at rest.
    const row = w.store.getKey('us-east-1', after);
    expect(row?.sealedPrivate.includes(Buffer.from('BEGIN'))).toBe(false);
  });
});

describe("the validator's signed-HTTP reader", () => {
  let cairn: TestCairn;
  beforeAll(async () => {
    cairn = await startCairn();
  });
  afterAll(async () => {
    await cairn?.stop();
  });

  it('lists and reads keys with any characters, with their metadata, and names S3 errors as the SDK does', async () => {
    const s3 = clients(cairn.endpoint, cairn.root, 'us-east-1', systemClock).s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'odd-keys' }));
    const keys = ['plain/a.json.gz', 'odd/with space+plus=eq&amp;(x)!*~.gz', 'odd/ünïcödé/ключ.gz', "odd/quote'\"<tag>%20.gz", 'odd/ cr\rlf\n tab\t <Key>&#13; '];
    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: 'odd-keys', Key: key, Body: gzipSync(`body ${i}`), Metadata: { signature: `sig-${i}` } }));
    }
    const http = signedHttp({ endpoint: cairn.endpoint, credentials: cairn.root, clock: systemClock, connections: 4, maxAttempts: 1 });
    const source = httpS3Source(http, 'eu-west-1');
    try {
      const sdkList = await s3.send(new ListObjectsV2Command({ Bucket: 'odd-keys', Prefix: 'odd/' }));
      expect(await source.list('odd-keys', 'odd/')).toEqual((sdkList.Contents ?? []).map((o) => o.Key));
      expect(await source.list('odd-keys', 'odd/', 'odd/with')).toEqual(keys.filter((k) => k.startsWith('odd/') && k > 'odd/with').sort());
      for (const [i, key] of keys.entries()) {
        const got = await source.get('odd-keys', key);
        expect(gunzipSync(got?.body ?? gzipSync('')).toString()).toBe(`body ${i}`);
        expect(got?.metadata.signature).toBe(`sig-${i}`);
      }
      expect(await source.get('odd-keys', 'odd/not-there.gz')).toBeUndefined();
      const sdkError = await s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })).then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e : undefined),
      );
      expect(sdkError?.name).toBe('NoSuchBucket');
      await expect(source.get('no-such-bucket', 'k')).rejects.toMatchObject({ name: 'NoSuchBucket', message: sdkError?.message });
    } finally {
      source.close?.();
    }
  });

  it('reads chunked replies and goes on when the server drops a kept-alive connection', async () => {
    // An HTTP server (not S3) that answers in chunks and, on each connection's second
    // request, closes the connection without answering, as a server timing out an idle
    // connection does the moment a request arrives.
    const perSocket = new WeakMap<object, number>();
    const server: Server = createServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n === 2) {
        req.socket.destroy();
        return;
      }
      res.setHeader('x-amz-meta-signature', 'abc');
      for (const part of ['chunked ', 'reply ', req.url ?? '']) res.write(part);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const source = httpS3Source(signedHttp({ endpoint: `http://127.0.0.1:${port}`, credentials: cairn.root, clock: systemClock, connections: 2, maxAttempts: 1 }), 'us-east-1');
    try {
      const got = await Promise.all(Array.from({ length: 10 }, (_, i) => source.get('b', `k${i}`)));
      expect(got.map((o) => o?.body.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `chunked reply /b/k${i}`));
      expect(got.every((o) => o?.metadata.signature === 'abc')).toBe(true);
    } finally {
      source.close?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reads replies that end with their connection, and replies that close it after their length', async () => {
    // A bare TCP server: an HTTP/1.0 reply with no length (its body ends when the
    // connection does) for keys under old/, else an interim 103 and then an HTTP/1.1 reply
    // with a length and `Connection: close`. Every connection carries one reply, as such
    // servers allow.
    const heads: string[] = [];
    const server = createTcpServer((socket) => {
      let got = '';
      socket.on('data', (data: Buffer) => {
        got += data.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        heads.push(got);
        const target = got.split(' ')[1] ?? '';
        if (target.startsWith('/b/old/')) socket.end(`HTTP/1.0 200 OK\r\nx-amz-meta-signature: old\r\n\r\nall of ${target}`);
        else {
          // Early hints first, then the reply.
          socket.write('HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n');
          const body = `sized ${target}`;
          socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\nX-Amz-Meta-Signature: new\r\n\r\n${body}`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const source = httpS3Source(signedHttp({ endpoint: `http://127.0.0.1:${port}`, credentials: cairn.root, clock: systemClock, connections: 3, maxAttempts: 1 }), 'us-east-1');
    try {
      const keys = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? `old/k${i}` : `new/k${i}`));
      const got = await Promise.all(keys.map((k) => source.get('b', k)));
      expect(got.map((o) => o?.body.toString())).toEqual(keys.map((k) => (k.startsWith('old/') ? `all of /b/${k}` : `sized /b/${k}`)));
      expect(got.map((o) => o?.metadata.signature)).toEqual(keys.map((k) => (k.startsWith('old/') ? 'old' : 'new')));
      // Each request went out whole and signed.
      expect(heads).toHaveLength(keys.length);
      for (const head of heads) expect(head).toMatch(/^GET \/b\/(old|new)\/k\d HTTP\/1\.1\r\n[^]*authorization: AWS4-HMAC-SHA256 Credential=[^]*\r\n\r\n$/);
    } finally {
      source.close?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gets every pipelined request answered by a server that answers one per connection', async () => {
    // Requests pipelined to a server that reads one, answers it with `Connection: close`
    // and hangs up: the rest are sent again, and from then on one at a time.
    let connections = 0;
    const server = createTcpServer((socket) => {
      connections++;
      let got = '';
      socket.on('data', (data: Buffer) => {
        if (got.includes('\r\n\r\n')) return;
        got += data.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        const body = `reply to ${got.split(' ')[1] ?? ''}`;
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const source = httpS3Source(signedHttp({ endpoint: `http://127.0.0.1:${port}`, credentials: cairn.root, clock: systemClock, connections: 2, pipelining: 8, maxAttempts: 1 }), 'us-east-1');
    try {
      const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
      const got = await Promise.all(keys.map((k) => source.get('b', k)));
      expect(got.map((o) => o?.body.toString())).toEqual(keys.map((k) => `reply to /b/${k}`));
      // One connection per reply, and only a few more for the pipelines cut at first.
      expect(connections).toBeGreaterThanOrEqual(keys.length);
      expect(connections).toBeLessThan(keys.length + 4);
    } finally {
      source.close?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('pipelines requests on few connections, each reply to its request, and resends what a cut pipeline lost', async () => {
    // Node's HTTP server takes pipelined requests and answers them in order; replies come
    // after a delay that varies, so they would cross if matched to the wrong request.
    const sockets = new Set<object>();
    const waiting = new Map<object, number>();
    let deepest = 0;
    let cut = false;
    let served = 0;
    const server: Server = createServer((req, res) => {
      sockets.add(req.socket);
      served++;
      const depth = (waiting.get(req.socket) ?? 0) + 1;
      waiting.set(req.socket, depth);
      deepest = Math.max(deepest, depth);
      res.on('finish', () => waiting.set(req.socket, (waiting.get(req.socket) ?? 1) - 1));
      // Once, after some replies, the server drops a connection with requests still on it.
      if (served === 20 && !cut) {
        cut = true;
        req.socket.destroy();
        return;
      }
      setTimeout(() => res.end(`reply to ${req.url ?? ''}`), (served * 7) % 5);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const http = signedHttp({ endpoint: `http://127.0.0.1:${port}`, credentials: cairn.root, clock: systemClock, connections: 2, pipelining: 8, maxAttempts: 1 });
    const source = httpS3Source(http, 'us-east-1');
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const got = await Promise.all(keys.map((k) => source.get('b', k)));
      expect(got.map((o) => o?.body.toString())).toEqual(keys.map((k) => `reply to /b/${k}`));
      expect(cut).toBe(true);
      expect(deepest).toBeGreaterThan(1);
      // Two connections, and one more for the one dropped.
      expect(sockets.size).toBe(3);
    } finally {
      source.close?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('retries throttling and 5xx replies as the SDK does, within AWS_MAX_ATTEMPTS', async () => {
    // Each key is refused twice (503 SlowDown, then a 500 with no body), then served.
    const seen = new Map<string, number>();
    const server: Server = createServer((req, res) => {
      const n = (seen.get(req.url ?? '') ?? 0) + 1;
      seen.set(req.url ?? '', n);
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      } else if (n === 2) {
        res.writeHead(500);
        res.end();
      } else res.end(`served ${req.url ?? ''}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const source = (maxAttempts: number) => httpS3Source(signedHttp({ endpoint, credentials: cairn.root, clock: systemClock, connections: 2, maxAttempts }), 'us-east-1');
    const once = source(1);
    const thrice = source(3);
    try {
      await expect(once.get('b', 'one')).rejects.toMatchObject({ name: 'SlowDown', message: 'Please reduce your request rate.' });
      await expect(once.get('b', 'one')).rejects.toMatchObject({ name: 'UnknownError', status: 500 });
      expect((await once.get('b', 'one'))?.body.toString()).toBe('served /b/one');
      expect((await thrice.get('b', 'three'))?.body.toString()).toBe('served /b/three');
      expect(seen.get('/b/three')).toBe(3);
    } finally {
      once.close?.();
      thrice.close?.();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("signs by the server's clock once told its own is off", async () => {
    // An hour slow: Cairn refuses the signature (RequestTimeTooSkewed) and says its time
    // in the Date header; the client sends the request again signed by that time.
    const s3 = clients(cairn.endpoint, cairn.root, 'us-east-1', systemClock).s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'skewed-clock' }));
    await s3.send(new PutObjectCommand({ Bucket: 'skewed-clock', Key: 'plain/a.json.gz', Body: 'a', Metadata: { signature: 'sig-a' } }));
    const slow = { now: () => Date.now() - HOUR };
    const skewed = (maxAttempts: number) => httpS3Source(signedHttp({ endpoint: cairn.endpoint, credentials: cairn.root, clock: slow, connections: 2, maxAttempts }), 'us-east-1');
    const once = skewed(1);
    const twice = skewed(2);
    try {
      await expect(once.list('skewed-clock', 'plain/')).rejects.toMatchObject({ name: 'RequestTimeTooSkewed' });
      expect(await twice.list('skewed-clock', 'plain/')).toEqual(['plain/a.json.gz']);
      expect((await twice.get('skewed-clock', 'plain/a.json.gz'))?.metadata.signature).toBe('sig-a');
    } finally {
      once.close?.();
      twice.close?.();
    }
  });
});
