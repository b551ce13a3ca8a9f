/**
 * S3 objects per second: PutObject and GetObject of 4 KiB and 1 MiB objects against the
 * real `cairn server` process, with S3 data events recorded (a logging trail selects the
 * bucket's object events, and every call's record is durably in the event log before its
 * answer; objects are SSE-S3 encrypted at rest, as always). moto_server (which neither
 * verifies signatures, records nor encrypts) serves the same workload in the same run, from
 * the same load generator with the same 32 connections; moto answers every request with
 * `Connection: close`, so the generator reconnects to it for each. Both servers are also
 * measured with a new connection per request from a Node.js client. Ends with the Cairn
 * process's peak RSS.
 */
import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import type { Credentials } from '../test/support/cairn.js';
import { tempDir } from '../test/support/cairn.js';
import { spawnServer } from '../test/support/process.js';
import { signRequest } from '../test/support/sign.js';
import { loadGenerator, peakRssMiB, report, runLoad, runLoadPerConnection, startMoto, type LoadResult, type PreparedRequest } from './support.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const PER_CONNECTION_CONCURRENCY = 8;
const DATA_BUCKET = 'bench-objects';
const TRAIL_BUCKET = 'bench-trail';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MOTO_CREDENTIALS: Credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) };

interface Size {
  label: string;
  bytes: number;
  /** Distinct keys (and signatures) cycled through; fewer for big bodies to bound the load generator's memory. */
  keys: number;
}

const SIZES: Size[] = [
  { label: '4 KiB', bytes: 4 * 1024, keys: 200 },
  { label: '1 MiB', bytes: 1024 * 1024, keys: 16 },
];

const keyOf = (size: Size, i: number): string => `bench/${size.bytes}/object-${i}.bin`;

/** PUT (with `body`) or GET requests for every key of a size, each signed at a different second. */
async function presign(endpoint: string, creds: Credentials, size: Size, body?: string): Promise<PreparedRequest[]> {
  const now = Date.now();
  const payloadHash = body === undefined ? EMPTY_SHA256 : createHash('sha256').update(body).digest('hex');
  return Promise.all(
    Array.from({ length: size.keys }, async (_, i) => {
      const signed = await signRequest(endpoint, creds, {
        service: 's3',
        method: body === undefined ? 'GET' : 'PUT',
        path: `/${DATA_BUCKET}/${keyOf(size, i)}`,
        headers: {
          'x-amz-content-sha256': payloadHash,
          ...(body === undefined ? {} : { 'content-type': 'application/octet-stream' }),
        },
        ...(body === undefined ? {} : { body }),
        signingDate: new Date(now - i * 1000),
      });
      const headers = { ...signed.headers };
      delete headers.host;
      return { method: signed.method, path: `/${DATA_BUCKET}/${keyOf(size, i)}`, headers, ...(body === undefined ? {} : { body }) };
    }),
  );
}

/** Stores every key of a size, so GETs find them. */
async function fill(s3: S3Client, size: Size, body: string): Promise<void> {
  for (let i = 0; i < size.keys; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, size.keys - i) }, (_, j) => s3.send(new PutObjectCommand({ Bucket: DATA_BUCKET, Key: keyOf(size, i + j), Body: body }))),
    );
  }
}

/** A bucket for the trail, and a trail logging the data bucket's object events. */
async function recordDataEvents(endpoint: string, creds: Credentials, s3: S3Client): Promise<void> {
  const config = { endpoint, region: 'us-east-1', credentials: creds };
  const identity = await new STSClient(config).send(new GetCallerIdentityCommand({}));
  const accountId = identity.Account ?? '';
  await s3.send(new CreateBucketCommand({ Bucket: TRAIL_BUCKET }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: TRAIL_BUCKET, Policy: cloudTrailBucketPolicy({ bucket: TRAIL_BUCKET, accountId }) }));
  const cloudtrail = new CloudTrailClient(config);
  await cloudtrail.send(new CreateTrailCommand({ Name: 'bench-data-events', S3BucketName: TRAIL_BUCKET }));
  await cloudtrail.send(
    new PutEventSelectorsCommand({
      TrailName: 'bench-data-events',
      EventSelectors: [
        { ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${DATA_BUCKET}/`] }] },
      ],
    }),
  );
  await cloudtrail.send(new StartLoggingCommand({ Name: 'bench-data-events' }));
}

function rows(prefix: string, cairn: LoadResult, moto: LoadResult, cairnClosing: LoadResult, motoClosing: LoadResult): Record<string, string | number> {
  return {
    [`${prefix} cairn objects/s`]: cairn.requestsPerSecond,
    [`${prefix} cairn p50 / p99 latency (ms)`]: `${cairn.p50Ms} / ${cairn.p99Ms}`,
    [`${prefix} cairn non-2xx / errors`]: `${cairn.non2xx + cairnClosing.non2xx} / ${cairn.errors + cairnClosing.errors}`,
    [`${prefix} moto_server objects/s`]: moto.requestsPerSecond,
    [`${prefix} moto_server p50 / p99 latency (ms)`]: `${moto.p50Ms} / ${moto.p99Ms}`,
    [`${prefix} moto_server non-2xx / errors`]: `${moto.non2xx + motoClosing.non2xx} / ${moto.errors + motoClosing.errors}`,
    [`${prefix} ratio cairn / moto`]: (cairn.requestsPerSecond / Math.max(1, moto.requestsPerSecond)).toFixed(1),
    [`${prefix} new connection per request, ${PER_CONNECTION_CONCURRENCY} at a time:`]: '',
    [`${prefix}   cairn objects/s`]: cairnClosing.requestsPerSecond,
    [`${prefix}   moto_server objects/s`]: motoClosing.requestsPerSecond,
    [`${prefix}   ratio cairn / moto`]: (cairnClosing.requestsPerSecond / Math.max(1, motoClosing.requestsPerSecond)).toFixed(1),
  };
}

/** Starts both servers, runs PUT then GET for each size, reports, and stops both. */
export async function run(): Promise<void> {
  const dataDir = tempDir('cairn-bench-s3-');
  const cairn = await spawnServer(dataDir, ['--log-level', 'warn']);
  const moto = await startMoto();
  const clientConfig = { region: 'us-east-1', forcePathStyle: true, maxAttempts: 1 };
  const cairnS3 = new S3Client({ ...clientConfig, endpoint: cairn.endpoint, credentials: cairn.root });
  const motoS3 = new S3Client({ ...clientConfig, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  try {
    await cairnS3.send(new CreateBucketCommand({ Bucket: DATA_BUCKET }));
    await motoS3.send(new CreateBucketCommand({ Bucket: DATA_BUCKET }));
    await recordDataEvents(cairn.endpoint, cairn.root, cairnS3);
    const peerRun = { concurrency: PER_CONNECTION_CONCURRENCY, durationSeconds: Math.min(DURATION, 5) };
    for (const size of SIZES) {
      const body = 'x'.repeat(size.bytes);
      await fill(cairnS3, size, body);
      await fill(motoS3, size, body);

      const cairnPuts = await presign(cairn.endpoint, cairn.root, size, body);
      const motoPuts = await presign(moto.endpoint, MOTO_CREDENTIALS, size, body);
      const load = { connections: CONNECTIONS, durationSeconds: DURATION };
      const title = (op: string): string => `${op}, ${size.label}, ${CONNECTIONS} connections from ${loadGenerator()}`;
      await runLoad({ url: cairn.endpoint, requests: cairnPuts, connections: CONNECTIONS, durationSeconds: 2 });
      const putCairn = await runLoad({ url: cairn.endpoint, requests: cairnPuts, ...load });
      const putMoto = await runLoad({ url: moto.endpoint, requests: motoPuts, ...load });
      const putCairnClosing = await runLoadPerConnection({ url: cairn.endpoint, requests: cairnPuts, ...peerRun });
      const putMotoClosing = await runLoadPerConnection({ url: moto.endpoint, requests: motoPuts, ...peerRun });
      report(title('PutObject'), rows('PUT', putCairn, putMoto, putCairnClosing, putMotoClosing));

      const cairnGets = await presign(cairn.endpoint, cairn.root, size);
      const motoGets = await presign(moto.endpoint, MOTO_CREDENTIALS, size);
      await runLoad({ url: cairn.endpoint, requests: cairnGets, connections: CONNECTIONS, durationSeconds: 2 });
      const getCairn = await runLoad({ url: cairn.endpoint, requests: cairnGets, ...load });
      const getMoto = await runLoad({ url: moto.endpoint, requests: motoGets, ...load });
      const getCairnClosing = await runLoadPerConnection({ url: cairn.endpoint, requests: cairnGets, ...peerRun });
      const getMotoClosing = await runLoadPerConnection({ url: moto.endpoint, requests: motoGets, ...peerRun });
      report(title('GetObject'), rows('GET', getCairn, getMoto, getCairnClosing, getMotoClosing));
    }
    if (cairn.child.pid !== undefined) report('Cairn server memory', { 'peak RSS (MiB)': peakRssMiB(cairn.child.pid) });
  } finally {
    cairnS3.destroy();
    motoS3.destroy();
    cairn.child.kill('SIGTERM');
    moto.child.kill('SIGTERM');
    await cairn.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}
