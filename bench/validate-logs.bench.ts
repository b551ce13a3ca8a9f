/**
 * Log file validation: `cairn validate-logs` against the stock `aws cloudtrail
 * validate-logs` on the same trail, in the same run. The trail is built fast on an
 * in-process server with a manual clock: two days of calls, a delivery every 5 minutes
 * and a digest every hour (BENCH_DIGEST_HOURS, default 48 digests; about 12 log files an
 * hour). Reports each side's wall time, files per second, and the ratio; `cairn` is timed
 * both as the real binary (`./bin/cairn`, a process like the AWS CLI) and in-process.
 */
import { CloudTrailClient, CreateTrailCommand, ListPublicKeysCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { ManualClock } from '../src/platform/clock.js';
import { run as runCommand, startCairn } from '../test/support/cairn.js';
import { cairnValidate, cloudTrailBucketPolicy } from '../test/support/digests.js';
import { cairnBin, repoRoot } from '../test/support/process.js';
import { report } from './support.js';

const HOURS = Number(process.env.BENCH_DIGEST_HOURS ?? 48);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Builds the trail, times both validators, reports. */
export async function run(): Promise<void> {
  const start = Math.floor((Date.now() - (HOURS + 1) * HOUR) / MINUTE) * MINUTE;
  const clock = new ManualClock(start);
  const cairn = await startCairn({ clock });
  try {
    const accountId = cairn.server.accountId;
    const config = () => ({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1, systemClockOffset: clock.now() - Date.now() });
    const s3 = () => new S3Client({ ...config(), forcePathStyle: true });
    const cloudtrail = () => new CloudTrailClient(config());
    await s3().send(new CreateBucketCommand({ Bucket: 'bench-digests' }));
    await s3().send(new PutBucketPolicyCommand({ Bucket: 'bench-digests', Policy: cloudTrailBucketPolicy('bench-digests', accountId) }));
    await cloudtrail().send(new CreateTrailCommand({ Name: 'bench', S3BucketName: 'bench-digests', EnableLogFileValidation: true }));
    await cloudtrail().send(new StartLoggingCommand({ Name: 'bench' }));
    const built = performance.now();
    for (let minute = 5; minute <= HOURS * 60; minute += 5) {
      await cloudtrail().send(new ListPublicKeysCommand({}));
      clock.set(start + minute * MINUTE);
      await cairn.server.delivery.deliverNow();
      if (minute % 60 === 0) await cairn.server.digests.tick();
    }
    const buildSeconds = (performance.now() - built) / 1000;
    // Real time again (the AWS CLI signs with its own clock); the digest now due is written
    // before either validator runs, so both see the same trail.
    clock.set(Date.now());
    await cairn.server.delivery.deliverNow();
    await cairn.server.digests.tick();
    const trailArn = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/bench`;
    const startTime = new Date(start - MINUTE).toISOString().replace(/\.\d+Z$/, 'Z');
    const endTime = new Date(Date.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const args = ['--trail-arn', trailArn, '--start-time', startTime, '--end-time', endTime];
    const env = cairn.env();

    let t = performance.now();
    const aws = await runCommand('aws', ['cloudtrail', 'validate-logs', ...args], env);
    const awsSeconds = (performance.now() - t) / 1000;
    const digests = Number(/(\d+)\/\d+ digest files valid/.exec(aws.stdout)?.[1] ?? 0);
    const logs = Number(/(\d+)\/\d+ log files valid/.exec(aws.stdout)?.[1] ?? 0);
    if (aws.code !== 0) throw new Error(`aws cloudtrail validate-logs failed (${aws.code}): ${aws.stderr}`);

    let binarySeconds = NaN;
    if (existsSync(`${repoRoot}/dist/cli/main.js`)) {
      t = performance.now();
      const bin = await runCommand(process.execPath, [cairnBin, 'validate-logs', ...args], env);
      binarySeconds = (performance.now() - t) / 1000;
      if (bin.code !== 0) throw new Error(`cairn validate-logs failed (${bin.code}): ${bin.stderr}`);
      if (bin.stdout !== aws.stdout) throw new Error('cairn validate-logs printed something else than the AWS CLI');
    }
    t = performance.now();
    const inProcess = await cairnValidate({ trailArn, startTime, endTime }, env);
    const inProcessSeconds = (performance.now() - t) / 1000;
    if (inProcess.code !== 0) throw new Error(`cairn validate-logs (in-process) failed: ${inProcess.stderr}`);

    const files = digests + logs;
    report('validate-logs: cairn vs aws cloudtrail validate-logs', {
      'trail (digests / log files)': `${digests} / ${logs}`,
      'trail built in (s)': buildSeconds.toFixed(1),
      'aws cloudtrail validate-logs (s)': awsSeconds.toFixed(2),
      'aws files/s': Math.round(files / awsSeconds),
      './bin/cairn validate-logs (s)': Number.isNaN(binarySeconds) ? 'dist/ missing' : binarySeconds.toFixed(2),
      './bin/cairn files/s': Number.isNaN(binarySeconds) ? '-' : Math.round(files / binarySeconds),
      'speed-up, process vs process (x)': Number.isNaN(binarySeconds) ? '-' : (awsSeconds / binarySeconds).toFixed(1),
      'cairn in-process (s)': inProcessSeconds.toFixed(2),
      'cairn in-process files/s': Math.round(files / inProcessSeconds),
      'speed-up, in-process (x)': (awsSeconds / inProcessSeconds).toFixed(1),
    });
  } finally {
    await cairn.stop();
  }
}

