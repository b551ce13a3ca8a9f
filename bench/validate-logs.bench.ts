/**
 * Log file validation: `cairn validate-logs` against the stock `aws cloudtrail
 * validate-logs` on the same trail, the same arguments and the same server, in the same
 * run. The trail is built fast on an in-process server with a manual clock: two days of
 * calls, a delivery every 5 minutes and a digest every hour (BENCH_DIGEST_HOURS, default
 * 48 digests; about 12 log files an hour). It is then served by the real `cairn server`
 * over the same data directory, in its own process, so the process that times the
 * validators serves nothing while they run. After untimed runs that warm the server up
 * (BENCH_WARM_UPS, default 10, one of the AWS CLI among them: a fresh server spends up to
 * twice the CPU per request on its first few thousand), each validator runs BENCH_ROUNDS
 * times (default 3), alternating
 * which goes first, timed as a shell times a command (bash's `time`), not from this
 * process, whose own fork of a child would count against both. The report gives each
 * side's median wall time (and every run), files per second, the ratio, and the CPU time
 * the server spent answering each (a floor for a validator that waits on nothing else).
 * `cairn` is timed as the real binary (`./bin/cairn`, a process like the AWS CLI) and
 * in-process.
 */
import { CloudTrailClient, CreateTrailCommand, ListPublicKeysCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../src/platform/clock.js';
import { clientEnv, run as runCommand, startCairn, tempDir } from '../test/support/cairn.js';
import { cairnValidate, cloudTrailBucketPolicy } from '../test/support/digests.js';
import { cairnBin, repoRoot, spawnServer } from '../test/support/process.js';
import { report } from './support.js';

const HOURS = Number(process.env.BENCH_DIGEST_HOURS ?? 48);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** Untimed runs before the timed ones (BENCH_WARM_UPS), so the server is measured as it runs for days: compiled. */
const WARM_UPS = Math.max(1, Number(process.env.BENCH_WARM_UPS ?? 10));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Builds the trail in-process, in `dataDir`; resolves with the validators' arguments. */
async function buildTrail(dataDir: string): Promise<{ args: string[]; trailArn: string; startTime: string; endTime: string; buildSeconds: number }> {
  const start = Math.floor((Date.now() - (HOURS + 1) * HOUR) / MINUTE) * MINUTE;
  const clock = new ManualClock(start);
  const cairn = await startCairn({ clock, dataDir });
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
    // Real time again (the AWS CLI signs with its own clock): the digest now due is written
    // before either validator runs, so both see the same trail.
    clock.set(Date.now());
    await cairn.server.delivery.deliverNow();
    await cairn.server.digests.tick();
    const trailArn = `arn:aws:cloudtrail:us-east-1:${accountId}:trail/bench`;
    const startTime = new Date(start - MINUTE).toISOString().replace(/\.\d+Z$/, 'Z');
    const endTime = new Date(Date.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    return { args: ['--trail-arn', trailArn, '--start-time', startTime, '--end-time', endTime], trailArn, startTime, endTime, buildSeconds };
  } finally {
    await cairn.stop();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name: state, then utime and stime as the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `fn`, timing it and the server's CPU meanwhile. */
async function timed<T>(serverPid: number, fn: () => Promise<T>): Promise<{ seconds: number; serverCpu: number; result: T }> {
  const cpu = cpuSeconds(serverPid);
  const t = performance.now();
  const result = await fn();
  return { seconds: (performance.now() - t) / 1000, serverCpu: cpuSeconds(serverPid) - cpu, result };
}

/**
 * Runs a command as a user's shell runs it, timed by bash's `time` (to the millisecond),
 * so neither validator's figure carries what this benchmark's own large Node.js process
 * pays to fork a child.
 */
async function timedCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, dir: string): Promise<{ seconds: number; code: number; stdout: string; stderr: string }> {
  const script = 'TIMEFORMAT=%3R; { time "$@" > "$0.out" 2> "$0.err"; } 2> "$0.time"';
  const base = join(dir, 'timed');
  const { code } = await runCommand('bash', ['-c', script, base, cmd, ...args], env);
  return {
    seconds: Number(readFileSync(`${base}.time`, 'utf8').trim()),
    code,
    stdout: readFileSync(`${base}.out`, 'utf8'),
    stderr: readFileSync(`${base}.err`, 'utf8'),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** Builds the trail, serves it from `cairn server`, times both validators, reports. */
export async function run(): Promise<void> {
  if (!existsSync(`${repoRoot}/dist/cli/main.js`)) throw new Error('dist/ is missing: run `npm run build` first (the trail is served by ./bin/cairn server)');
  const dataDir = tempDir('cairn-bench-validate-');
  try {
    const trail = await buildTrail(dataDir);
    // Deliveries and digests a day apart: nothing new lands in the bucket between the runs.
    const server = await spawnServer(dataDir, ['--delivery-interval', '24h', '--digest-interval', '24h'], { CAIRN_LOG_LEVEL: 'warn' });
    const pid = server.child.pid ?? 0;
    try {
      const env = clientEnv({ endpoint: server.endpoint, creds: server.root, dataDir });
      const awsTimes: number[] = [];
      const binTimes: number[] = [];
      const awsServerCpu: number[] = [];
      const binServerCpu: number[] = [];
      let awsOut = '';
      let digests = 0;
      let logs = 0;
      const aws = async (): Promise<void> => {
        const { serverCpu, result } = await timed(pid, () => timedCommand('aws', ['cloudtrail', 'validate-logs', ...trail.args], env, dataDir));
        const seconds = result.seconds;
        if (result.code !== 0) throw new Error(`aws cloudtrail validate-logs failed (${result.code}): ${result.stderr}`);
        awsOut = result.stdout;
        digests = Number(/(\d+)\/\d+ digest files valid/.exec(result.stdout)?.[1] ?? 0);
        logs = Number(/(\d+)\/\d+ log files valid/.exec(result.stdout)?.[1] ?? 0);
        awsTimes.push(seconds);
        awsServerCpu.push(serverCpu);
      };
      const cairn = async (): Promise<string> => {
        const { serverCpu, result } = await timed(pid, () => timedCommand(process.execPath, [cairnBin, 'validate-logs', ...trail.args], env, dataDir));
        const seconds = result.seconds;
        if (result.code !== 0) throw new Error(`cairn validate-logs failed (${result.code}): ${result.stderr}`);
        binTimes.push(seconds);
        binServerCpu.push(serverCpu);
        return result.stdout;
      };
      // The server warms up on both clients' requests: each client's first requests of a
      // new shape (its own headers, one at a time or pipelined) send some of the server's
      // compiled code back to the interpreter once, whoever comes next pays for that, and
      // a server that has run for days has long seen both.
      for (let round = 0; round < WARM_UPS; round++) {
        if (round === Math.floor(WARM_UPS / 2)) {
          const warmUp = await runCommand('aws', ['cloudtrail', 'validate-logs', ...trail.args], env);
          if (warmUp.code !== 0) throw new Error(`aws cloudtrail validate-logs (warm-up) failed: ${warmUp.stderr}`);
        }
        const warmUp = await cairnValidate({ trailArn: trail.trailArn, startTime: trail.startTime, endTime: trail.endTime }, env);
        if (warmUp.code !== 0) throw new Error(`cairn validate-logs (warm-up) failed: ${warmUp.stderr}`);
      }
      const cairnOut: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate who goes first, so neither always meets a warmer server.
        if (round % 2 === 0) {
          await aws();
          cairnOut.push(await cairn());
        } else {
          cairnOut.push(await cairn());
          await aws();
        }
      }
      if (cairnOut.some((out) => out !== awsOut)) throw new Error('cairn validate-logs printed something else than the AWS CLI');
      const inProcessTimes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const { seconds, result: inProcess } = await timed(pid, () => cairnValidate({ trailArn: trail.trailArn, startTime: trail.startTime, endTime: trail.endTime }, env));
        inProcessTimes.push(seconds);
        if (inProcess.code !== 0) throw new Error(`cairn validate-logs (in-process) failed: ${inProcess.stderr}`);
        if (inProcess.stdout !== awsOut) throw new Error('cairn validate-logs (in-process) printed something else than the AWS CLI');
      }

      const files = digests + logs;
      const awsSeconds = median(awsTimes);
      const binarySeconds = median(binTimes);
      const inProcessSeconds = median(inProcessTimes);
      const runs = (times: number[]): string => times.map((t) => t.toFixed(2)).join(', ');
      report('validate-logs: cairn vs aws cloudtrail validate-logs (one `cairn server`, medians)', {
        'trail (digests / log files)': `${digests} / ${logs}`,
        'trail built in (s)': trail.buildSeconds.toFixed(1),
        rounds: ROUNDS,
        'aws cloudtrail validate-logs (s)': awsSeconds.toFixed(2),
        'aws runs (s)': runs(awsTimes),
        'aws files/s': Math.round(files / awsSeconds),
        'server CPU per aws run (s)': median(awsServerCpu).toFixed(2),
        './bin/cairn validate-logs (s)': binarySeconds.toFixed(2),
        './bin/cairn runs (s)': runs(binTimes),
        './bin/cairn files/s': Math.round(files / binarySeconds),
        'server CPU per ./bin/cairn run (s)': median(binServerCpu).toFixed(2),
        'speed-up, process vs process (x)': (awsSeconds / binarySeconds).toFixed(1),
        'cairn in-process (s)': inProcessSeconds.toFixed(2),
        'cairn in-process runs (s)': runs(inProcessTimes),
        'cairn in-process files/s': Math.round(files / inProcessSeconds),
        'speed-up, in-process (x)': (awsSeconds / inProcessSeconds).toFixed(1),
      });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
