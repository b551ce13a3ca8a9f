/**
 * The operator's commands as a person uses them in a second shell: `cairn tail` prints a
 * call made elsewhere within a second, filtered by lookup attributes; `cairn status` shows
 * health, trails' delivery state and lags; every command has `--help` with examples; and
 * `cairn completion bash` is a script bash accepts.
 */
import { spawn } from 'node:child_process';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { run, startCairn, type TestCairn } from './support/cairn.js';
import { cairnBin } from './support/process.js';

let cairn: TestCairn;
let iam: IAMClient;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  cairn = await startCairn({ config: { operator: { host: '127.0.0.1', port: 0 } } });
  iam = new IAMClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
  // What `eval "$(cairn env)"` sets, in a shell of its own.
  env = { ...cairn.env(), AWS_ENDPOINT_URL: cairn.endpoint };
});
afterAll(() => cairn.stop());

/** Starts `cairn tail` and resolves each printed line as it comes. */
function startTail(args: string[]): { lines: string[]; waitFor(re: RegExp, ms: number): Promise<{ line: string; at: number }>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [cairnBin, 'tail', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const arrivals: number[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const p of parts) {
      lines.push(p);
      arrivals.push(performance.now());
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    lines,
    async waitFor(re, ms) {
      const deadline = performance.now() + ms;
      for (;;) {
        const i = lines.findIndex((l) => re.test(l));
        if (i >= 0) return { line: lines[i] ?? '', at: arrivals[i] ?? 0 };
        if (performance.now() > deadline) throw new Error(`cairn tail printed no line matching ${re} in ${ms} ms; printed:\n${lines.join('\n')}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

describe('cairn tail', () => {
  it('shows a call made in another shell within a second, and only what the filter asks for', async () => {
    // Both are following once they print a first event, the one made before they started.
    await iam.send(new CreateUserCommand({ UserName: 'warm-up' }));
    const all = startTail(['--since', '5m']);
    const onlyIam = startTail(['--attribute', 'EventSource=iam.amazonaws.com', '--json', '--since', '5m']);
    try {
      await all.waitFor(/CreateUser.*warm-up/, 30_000);
      await onlyIam.waitFor(/warm-up/, 30_000);

      await iam.send(new CreateUserCommand({ UserName: 'carol' }));
      const answered = performance.now();
      const seen = await all.waitFor(/CreateUser.*user\/carol/, 5_000);
      expect(seen.at - answered).toBeLessThan(1000);
      expect(seen.line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}iam {2}CreateUser {2}root {2}127\.0\.0\.1/);

      await cairn.awsJson(['sts', 'get-caller-identity']);
      await all.waitFor(/sts {2}GetCallerIdentity/, 5_000);
      const record = JSON.parse((await onlyIam.waitFor(/carol/, 5_000)).line) as { eventName: string; requestParameters: { userName: string } };
      expect(record).toMatchObject({ eventName: 'CreateUser', requestParameters: { userName: 'carol' } });
      expect(onlyIam.lines.some((l) => l.includes('GetCallerIdentity'))).toBe(false);
      // Its own polls are recorded (every call is) but not printed.
      expect(all.lines.some((l) => l.includes('LookupEvents'))).toBe(false);
    } finally {
      await Promise.all([all.stop(), onlyIam.stop()]);
    }
  });
});

describe('cairn status', () => {
  it('shows health, each trail\'s delivery state and lag', async () => {
    const config = { endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const cloudtrail = new CloudTrailClient(config);
    await s3.send(new CreateBucketCommand({ Bucket: 'status-logs' }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'status-logs', Policy: cloudTrailBucketPolicy({ bucket: 'status-logs', accountId: cairn.server.accountId, anyPrefix: true }) }));
    await cloudtrail.send(new CreateTrailCommand({ Name: 'audited', S3BucketName: 'status-logs' }));
    await cloudtrail.send(new StartLoggingCommand({ Name: 'audited' }));
    await cairn.server.delivery.deliverNow();

    const operator = cairn.server.operatorEndpoint ?? '';
    const json = await run(process.execPath, [cairnBin, 'status', '--operator-url', operator, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    const status = JSON.parse(json.stdout) as { health: string; readiness: string; trails: { name: string; logging: boolean; latestDelivery?: string; lagEvents?: number }[]; consumers: { consumer: string }[] };
    expect(status).toMatchObject({ health: 'ok', readiness: 'ready' });
    expect(status.trails).toEqual([expect.objectContaining({ name: 'audited', logging: true, latestDelivery: expect.stringMatching(/^\d{4}-/) as unknown })]);
    expect(status.consumers.map((c) => c.consumer)).toEqual(expect.arrayContaining(['trail_delivery', 'eventbridge', 'cloudwatch_logs']));

    const text = await run(process.execPath, [cairnBin, 'status', '--operator-url', operator], env);
    expect(text.stdout).toContain('Health     ok; ready');
    expect(text.stdout).toMatch(/audited \(us-east-1\) {2}logging/);
  });
});

describe('the command line', () => {
  it('has --help with examples on every command, and a bash completion script', async () => {
    for (const command of ['server', 'env', 'validate-logs', 'tail', 'status', 'console', 'completion']) {
      const help = await run(process.execPath, [cairnBin, command, '--help'], { PATH: process.env.PATH });
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/Examples:\n {2}\S/);
    }
    const completion = await run('bash', ['-c', `source <(${process.execPath} ${cairnBin} completion bash) && complete -p cairn && COMP_WORDS=(cairn ta); COMP_CWORD=1; _cairn; echo "\${COMPREPLY[@]}"; COMP_WORDS=(cairn server --log-f); COMP_CWORD=2; _cairn; echo "\${COMPREPLY[@]}"`], { PATH: process.env.PATH });
    expect(completion.code, completion.stderr).toBe(0);
    expect(completion.stdout).toBe('complete -F _cairn cairn\ntail\n--log-format\n');
  });

  it('cairn console prints the console address alone on its last line', async () => {
    const out = await run(process.execPath, [cairnBin, 'console', '--data-dir', cairn.server.dataDir], { PATH: process.env.PATH });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trimEnd().split('\n').at(-1)).toBe(`${cairn.server.operatorEndpoint ?? ''}/`);
  });
});
