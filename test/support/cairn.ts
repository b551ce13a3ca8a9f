/**
 * Test support: a real Cairn server on 127.0.0.1 (in-process, on a free port, in a
 * temporary data directory) and runners for the stock AWS CLI and boto3 pointed at it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/app.js';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import { defaultServerConfig, type ServerConfig } from '../../src/platform/config.js';
import { cryptoRandom } from '../../src/platform/ids.js';
import { silentLogger } from '../../src/platform/logger.js';
import { cloudTrailBucketPolicy } from '../../src/trails/delivery-access.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface TestCairn {
  server: RunningServer;
  endpoint: string;
  root: Credentials;
  /** Environment for AWS clients as `cairn env` would set it, optionally with other credentials. */
  env(creds?: Credentials, region?: string): NodeJS.ProcessEnv;
  /** Runs `aws <args>` (the stock AWS CLI) against the server; resolves even on failure. */
  aws(args: string[], creds?: Credentials, region?: string): Promise<CliResult>;
  /**
   * Creates a bucket that trails may deliver to: the bucket plus the policy CloudTrail
   * needs (AWS's documented one, for any prefix), as an operator sets it up.
   */
  trailBucket(bucket: string, creds?: Credentials): Promise<void>;
  /**
   * Makes the account record data events of the given resource types (and management
   * events), as a multi-Region trail with advanced event selectors for them does: CloudTrail
   * records a data event only for the trails that select it.
   */
  logDataEvents(resourceTypes: readonly string[], creds?: Credentials): Promise<void>;
  /** Like {@link aws} but parses stdout as JSON and fails the test on a non-zero exit. */
  awsJson<T = Record<string, unknown>>(args: string[], creds?: Credentials, region?: string): Promise<T>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'cairn-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The environment the stock AWS CLI (and the SDKs) need to call a Cairn server at `endpoint`
 * with `creds`: no shared config or credentials files of the machine, one attempt, no pager.
 *
 * @example
 * await run('aws', ['cloudtrail', 'describe-trails'], clientEnv({ endpoint, creds, dataDir }));
 */
export function clientEnv(opts: { endpoint: string; creds: Credentials; dataDir: string; region?: string }): NodeJS.ProcessEnv {
  const region = opts.region ?? 'us-east-1';
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: opts.dataDir,
    AWS_ACCESS_KEY_ID: opts.creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.creds.secretAccessKey,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ENDPOINT_URL: opts.endpoint,
    AWS_CONFIG_FILE: join(opts.dataDir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(opts.dataDir, 'no-credentials'),
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    AWS_PAGER: '',
  };
  if (opts.creds.sessionToken) e.AWS_SESSION_TOKEN = opts.creds.sessionToken;
  return e;
}

let dataTrails = 0;

export async function startCairn(opts: { clock?: Clock; config?: Partial<ServerConfig>; dataDir?: string } = {}): Promise<TestCairn> {
  const dataDir = opts.dataDir ?? tempDir();
  const server = await startServer(
    { ...defaultServerConfig, dataDir, port: 0, logLevel: 'silent', ...opts.config },
    { clock: opts.clock ?? systemClock, random: cryptoRandom, logger: silentLogger() },
  );
  const root: Credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const env = (creds: Credentials = root, region = 'us-east-1'): NodeJS.ProcessEnv => clientEnv({ endpoint: server.endpoint, creds, dataDir, region });
  const aws = (args: string[], creds?: Credentials, region?: string): Promise<CliResult> =>
    run('aws', args, env(creds, region));
  const awsJson = async <T>(args: string[], creds?: Credentials, region?: string): Promise<T> => {
    const result = await aws([...args, '--output', 'json'], creds, region);
    if (result.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return (result.stdout.trim() ? JSON.parse(result.stdout) : {}) as T;
  };
  const trailBucket = async (bucket: string, creds?: Credentials): Promise<void> => {
    await awsJson(['s3api', 'create-bucket', '--bucket', bucket], creds);
    const policy = cloudTrailBucketPolicy({ bucket, accountId: server.accountId, anyPrefix: true });
    await awsJson(['s3api', 'put-bucket-policy', '--bucket', bucket, '--policy', policy], creds);
  };
  return {
    server,
    endpoint: server.endpoint,
    root,
    env,
    aws,
    awsJson,
    trailBucket,
    async logDataEvents(resourceTypes: readonly string[], creds?: Credentials) {
      const name = `data-events-${++dataTrails}`;
      await trailBucket(name, creds);
      await awsJson(['cloudtrail', 'create-trail', '--name', name, '--s3-bucket-name', name, '--is-multi-region-trail'], creds);
      const selectors = [
        { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
        ...resourceTypes.map((type) => ({
          Name: type,
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', Equals: [type] },
          ],
        })),
      ];
      await awsJson(['cloudtrail', 'put-event-selectors', '--trail-name', name, '--advanced-event-selectors', JSON.stringify(selectors)], creds);
      await awsJson(['cloudtrail', 'start-logging', '--name', name], creds);
    },
    async stop() {
      await server.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
