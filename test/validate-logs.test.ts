/**
 * `cairn validate-logs` and the digest chain on the real binary with the wall clock:
 * `./bin/cairn server --delivery-interval 1s --digest-interval 2s` under calls, killed with
 * `kill -9` mid-stream and restarted, then stopped cleanly and restarted: the chain must
 * come through whole (no gap, no duplicate), which the stock `aws cloudtrail
 * validate-logs` and `./bin/cairn validate-logs` both confirm. Then the offline mode: the
 * bucket copied to a folder, validated with `--local-dir` and keys given by `--public-key`.
 */
import { CloudTrailClient, CreateTrailCommand, ListPublicKeysCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { clientEnv, run, tempDir, type CliResult } from './support/cairn.js';
import { cloudTrailBucketPolicy } from './support/digests.js';
import { cairnBin, spawnServer, type ServerProcess } from './support/process.js';

const BUCKET = 'chain-logs';
const dataDir = tempDir('cairn-digest-chain-');
const running: ServerProcess[] = [];
const ARGS = ['--delivery-interval', '1s', '--digest-interval', '2s', '--log-level', 'warn'];

afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
});

function env(server: ServerProcess): NodeJS.ProcessEnv {
  return clientEnv({ endpoint: server.endpoint, creds: server.root, dataDir });
}

async function start(): Promise<ServerProcess> {
  const server = await spawnServer(dataDir, ARGS);
  running.push(server);
  return server;
}

/** Calls for `ms`, one after another; stops quietly when the server goes away. */
async function calls(server: ServerProcess, ms: number): Promise<void> {
  const sts = new STSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: server.root, maxAttempts: 1 });
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      await sts.send(new GetCallerIdentityCommand({}));
    } catch {
      return;
    }
    await sleep(50);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('the digest chain across kill -9 and restarts', () => {
  let server: ServerProcess;
  let accountId = '';
  const startedAt = Date.now() - 60_000;
  const trailArn = (): string => `arn:aws:cloudtrail:us-east-1:${accountId}:trail/chain`;

  it('validates with the stock AWS CLI and ./bin/cairn validate-logs after kill -9 and a restart', async () => {
    server = await start();
    const config = { endpoint: server.endpoint, region: 'us-east-1', credentials: server.root, maxAttempts: 1 };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const sts = new STSClient(config);
    accountId = (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: cloudTrailBucketPolicy(BUCKET, accountId) }));
    const cloudtrail = new CloudTrailClient(config);
    await cloudtrail.send(new CreateTrailCommand({ Name: 'chain', S3BucketName: BUCKET, EnableLogFileValidation: true }));
    await cloudtrail.send(new StartLoggingCommand({ Name: 'chain' }));

    // Calls, and kill -9 in the middle of them (and of deliveries and digests).
    await Promise.all([calls(server, 10_000), sleep(4_000 + Math.floor(Math.random() * 3_000)).then(() => server.child.kill('SIGKILL'))]);
    await server.exited;
    server = await start();
    await calls(server, 4_000);
    // A clean stop and start.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = await start();
    await calls(server, 4_000);
    // StopLogging ends the chain: a final digest lists the last files (the StopLogging record's included).
    await new CloudTrailClient({ ...config, endpoint: server.endpoint }).send(new StopLoggingCommand({ Name: 'chain' }));
    await sleep(4_500);

    const args = ['cloudtrail', 'validate-logs', '--trail-arn', trailArn(), '--start-time', iso(startedAt), '--end-time', iso(Date.now()), '--verbose'];
    const aws = await run('aws', args, env(server));
    expect(aws.stderr).toBe('');
    expect(aws.code).toBe(0);
    const digests = Number(/(\d+)\/\1 digest files valid/.exec(aws.stdout)?.[1] ?? 0);
    const logs = Number(/(\d+)\/\1 log files valid/.exec(aws.stdout)?.[1] ?? 0);
    expect(digests).toBeGreaterThanOrEqual(5);
    expect(logs).toBeGreaterThanOrEqual(5);
    expect(aws.stdout).not.toMatch(/No log files were delivered/);

    const ours = await run(process.execPath, [cairnBin, 'validate-logs', ...args.slice(2)], env(server));
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(aws.stdout);
    // The final digest lists the StopLogging call's own record.
    const last = await run('aws', ['s3', 'ls', '--recursive', `s3://${BUCKET}/AWSLogs/${accountId}/CloudTrail-Digest/`], env(server));
    const finalKey = last.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).at(-1) ?? '').sort().at(-1) ?? '';
    const dir = tempDir('cairn-digest-final-');
    expect((await run('aws', ['s3', 'cp', `s3://${BUCKET}/${finalKey}`, join(dir, 'final.json.gz')], env(server))).code).toBe(0);
    const final = JSON.parse(gunzipSync(readFileSync(join(dir, 'final.json.gz'))).toString()) as { logFiles: { s3Object: string }[] };
    const lastFile = final.logFiles.at(-1)?.s3Object ?? '';
    expect((await run('aws', ['s3', 'cp', `s3://${BUCKET}/${lastFile}`, join(dir, 'last.json.gz')], env(server))).code).toBe(0);
    expect(gunzipSync(readFileSync(join(dir, 'last.json.gz'))).toString()).toContain('"eventName":"StopLogging"');
  }, 90_000);

  it('validates a local copy with --local-dir and --public-key', async () => {
    const dir = join(tempDir('cairn-digest-copy-'), 'copy');
    mkdirSync(dir);
    const copied = await run('aws', ['s3', 'cp', '--recursive', '--only-show-errors', `s3://${BUCKET}/`, dir], env(server));
    expect(copied.code).toBe(0);
    const cloudtrail = new CloudTrailClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: server.root });
    const keys = await cloudtrail.send(new ListPublicKeysCommand({ StartTime: new Date(startedAt), EndTime: new Date() }));
    const pems: string[] = [];
    for (const [i, k] of (keys.PublicKeyList ?? []).entries()) {
      const path = join(dir, `..`, `key-${i}.pem`);
      writeFileSync(path, createPublicKey({ key: Buffer.from(k.Value ?? new Uint8Array()), format: 'der', type: 'pkcs1' }).export({ format: 'pem', type: 'spki' }));
      pems.push('--public-key', path);
    }
    const end = iso(Date.now());
    const result: CliResult = await run(
      process.execPath,
      [cairnBin, 'validate-logs', '--trail-arn', trailArn(), '--start-time', iso(startedAt), '--end-time', end, '--local-dir', dir, '--s3-bucket', BUCKET, ...pems],
      { PATH: process.env.PATH, HOME: dataDir, AWS_REGION: 'us-east-1' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\d+\/\d+ digest files valid/);
    expect(result.stdout).toContain('1 digest files not verifiable offline');
    // A tampered local log file is caught offline too.
    const logFile = readdirSync(dir, { recursive: true }).map(String).find((p) => p.includes('/CloudTrail/') && p.endsWith('.json.gz'));
    writeFileSync(join(dir, logFile ?? ''), gzipSync('{"Records":[]}'));
    const offline = [cairnBin, 'validate-logs', '--trail-arn', trailArn(), '--start-time', iso(startedAt), '--end-time', end, '--local-dir', dir, '--s3-bucket', BUCKET];
    const tampered = await run(process.execPath, [...offline, ...pems], { PATH: process.env.PATH, HOME: dataDir, AWS_REGION: 'us-east-1' });
    expect(tampered.stderr).toContain(`Log file\ts3://${BUCKET}/${logFile ?? ''}\tINVALID: hash value doesn't match`);
    expect(tampered.code).toBe(1);
    // A key file that cannot be read stops validation, as the AWS CLI's errors do.
    const noKey = await run(process.execPath, [...offline, '--public-key', join(dir, 'missing.pem')], { PATH: process.env.PATH, HOME: dataDir });
    expect(noKey.code).toBe(255);
  });
});
