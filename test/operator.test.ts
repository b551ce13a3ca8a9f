/**
 * The operator's port as a platform team uses it: Prometheus scrapes `/metrics` (checked
 * with Prometheus' own parser), an orchestrator calls `/healthz` and `/readyz` with curl and
 * no credentials, and none of it shadows an S3 bucket named `metrics` on the API port.
 * And the server's terminal output: readable lines and a banner, or JSON when asked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { spawnServer, type ServerProcess } from './support/process.js';
import { parseExposition, sampleValue } from './support/prometheus.js';

const curl = async (url: string): Promise<{ status: number; body: string; contentType: string }> => {
  const out = await run('curl', ['-s', '-w', '\n%{http_code} %{content_type}', url], { PATH: process.env.PATH });
  const cut = out.stdout.lastIndexOf('\n');
  const [status = '0', contentType = ''] = out.stdout.slice(cut + 1).split(' ');
  return { status: Number(status), body: out.stdout.slice(0, cut), contentType };
};

describe('the operator port', () => {
  let cairn: TestCairn;
  let operator: string;
  let sts: STSClient;
  let iam: IAMClient;
  let s3: S3Client;
  let cloudtrail: CloudTrailClient;
  beforeAll(async () => {
    cairn = await startCairn({ config: { operator: { host: '127.0.0.1', port: 0 } } });
    operator = cairn.server.operatorEndpoint ?? '';
    const config = { endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 };
    sts = new STSClient(config);
    iam = new IAMClient(config);
    s3 = new S3Client({ ...config, forcePathStyle: true });
    cloudtrail = new CloudTrailClient(config);
  });
  afterAll(() => cairn.stop());

  it('answers /healthz and /readyz without credentials', async () => {
    expect(operator).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(operator).not.toBe(cairn.endpoint);
    const health = await curl(`${operator}/healthz`);
    expect(health).toMatchObject({ status: 200, body: 'ok\n' });
    const ready = await curl(`${operator}/readyz`);
    expect(ready).toMatchObject({ status: 200, body: 'ready\n' });
    expect((await curl(`${operator}/nothing-here`)).status).toBe(404);
  });

  it('serves /metrics in the exposition format, and the counters move with calls', async () => {
    const before = await curl(`${operator}/metrics`);
    expect(before.status).toBe(200);
    expect(before.contentType).toContain('text/plain');
    const first = await parseExposition(before.body);
    const labels = { service: 'sts', operation: 'GetCallerIdentity', status: '200' };

    await sts.send(new GetCallerIdentityCommand({}));
    await sts.send(new GetCallerIdentityCommand({}));
    const forged = new IAMClient({ endpoint: cairn.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: cairn.root.accessKeyId, secretAccessKey: 'wrong'.repeat(8) } });
    await expect(forged.send(new ListUsersCommand({}))).rejects.toThrow(/signature/i);

    const after = await parseExposition((await curl(`${operator}/metrics`)).body);
    expect(sampleValue(after, 'cairn_requests_total', labels) - sampleValue(first, 'cairn_requests_total', labels)).toBe(2);
    expect(sampleValue(after, 'cairn_request_duration_seconds_count', labels) - sampleValue(first, 'cairn_request_duration_seconds_count', labels)).toBe(2);
    // A refused signature is counted too, under its service, with no operation.
    expect(sampleValue(after, 'cairn_requests_total', { service: 'iam', operation: '-', status: '403' })).toBeGreaterThanOrEqual(1);
    // Each recorded call is an event-log append; commits carry them.
    expect(sampleValue(after, 'cairn_eventlog_appended_events_total')).toBeGreaterThanOrEqual(sampleValue(first, 'cairn_eventlog_appended_events_total') + 2);
    expect(sampleValue(after, 'cairn_eventlog_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(sampleValue(after, 'cairn_eventlog_last_seq')).toBeGreaterThanOrEqual(2);
    // Consumers' lags, queue depths and the process are there.
    expect(after.some((s) => s.name === 'cairn_consumer_lag_events' && s.labels.consumer === 'eventbridge')).toBe(true);
    expect(after.some((s) => s.name === 'cairn_queue_depth' && s.labels.queue === 'eventlog_appends')).toBe(true);
    expect(sampleValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(after.some((s) => s.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
  });

  it('counts trail deliveries and reports each trail\'s lag', async () => {
    const bucket = 'metrics-trail-bucket';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: cloudTrailBucketPolicy({ bucket, accountId: cairn.server.accountId, anyPrefix: true }) }));
    await cloudtrail.send(new CreateTrailCommand({ Name: 'metered', S3BucketName: bucket }));
    await cloudtrail.send(new StartLoggingCommand({ Name: 'metered' }));
    await iam.send(new CreateUserCommand({ UserName: 'lagging' }));
    const pending = await parseExposition((await curl(`${operator}/metrics`)).body);
    const lag = pending.find((s) => s.name === 'cairn_consumer_lag_events' && s.labels.consumer === 'trail_delivery');
    expect(lag?.labels.trail).toMatch(/:trail\/metered$/);
    expect(lag?.value).toBeGreaterThan(0);
    await cairn.server.delivery.deliverNow();
    const delivered = await parseExposition((await curl(`${operator}/metrics`)).body);
    expect(sampleValue(delivered, 'cairn_trail_deliveries_total', { kind: 'logFile', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(delivered, 'cairn_consumer_lag_events', { consumer: 'trail_delivery' })).toBe(0);
  });

  it('leaves S3 buckets named metrics and healthz to S3 on the API port', async () => {
    for (const bucket of ['metrics', 'healthz']) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'readyz', Body: 'not a metric' }));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual(['readyz']);
      // Unsigned, the API port answers as S3 does for a private bucket.
      const anonymous = await curl(`${cairn.endpoint}/${bucket}`);
      expect(anonymous.status).toBe(403);
      expect(anonymous.body).toContain('<Code>AccessDenied</Code>');
    }
  });
});

describe('cairn server on a terminal and off it', () => {
  const running: ServerProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('prints readable lines and a banner with the addresses and the credentials command', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(dataDir, ['--log-format', 'pretty']);
    running.push(server);
    const address = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { operatorEndpoint: string };
    await expect.poll(() => server.logs()).toContain('Credentials');
    const logs = server.logs();
    expect(logs).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: cairn is listening/);
    expect(logs).toContain(`API          ${server.endpoint}`);
    expect(logs).toContain(`Console      ${address.operatorEndpoint}/`);
    expect(logs).toContain(`Data         ${dataDir}`);
    expect(logs).toContain(`eval "$(./bin/cairn env --data-dir "${dataDir}")"`);
    expect(logs).not.toContain('{"level":');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('writes JSON lines when not on a terminal; --operator-address off and --no-metrics turn the port and /metrics off', async () => {
    const off = await spawnServer(tempDir(), ['--operator-address', 'off']);
    running.push(off);
    const line = off.logs().split('\n').find((l) => l.includes('cairn is listening')) ?? '';
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'cairn is listening', endpoint: off.endpoint });
    expect(line).not.toContain('operatorEndpoint');
    off.child.kill('SIGTERM');

    const dataDir = tempDir();
    const quiet = await spawnServer(dataDir, ['--no-metrics']);
    running.push(quiet);
    const address = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { operatorEndpoint: string };
    expect((await curl(`${address.operatorEndpoint}/healthz`)).status).toBe(200);
    expect((await curl(`${address.operatorEndpoint}/metrics`)).status).toBe(404);
    quiet.child.kill('SIGTERM');
    await Promise.all([off.exited, quiet.exited]);
  });
});
