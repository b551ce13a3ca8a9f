/**
 * The `cairn` command line: parses flags (with `CAIRN_*` environment fallbacks) and runs
 * one subcommand. `run` returns the exit code instead of exiting, so tests can call it.
 */
import { Command, Option } from 'commander';
import type { IngestOptions } from './ingest.js';
import type { ValidateLogsOptions } from './validate-logs.js';

export async function run(argv: string[]): Promise<number> {
  const program = new Command('cairn')
    .description('Cairn: a self-hosted audit trail service compatible with AWS CloudTrail')
    .exitOverride()
    .showHelpAfterError();
  let code = 0;

  program
    .command('server')
    .description('run the Cairn server')
    .addOption(new Option('--data-dir <dir>', 'data directory').env('CAIRN_DATA_DIR').default('./cairn-data'))
    .addOption(new Option('--host <host>', 'address to listen on').env('CAIRN_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').env('CAIRN_PORT').default('4777'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve HTTPS').env('CAIRN_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('CAIRN_TLS_KEY'))
    .addOption(new Option('--insecure-http', 'allow plain HTTP on a non-loopback address').env('CAIRN_INSECURE_HTTP'))
    .addOption(new Option('--functions', 'let the Lambda API run uploaded code as this server\'s OS user').env('CAIRN_FUNCTIONS'))
    .addOption(
      new Option('--max-body-bytes <n>', 'largest request body accepted').env('CAIRN_MAX_BODY_BYTES').default(String(32 * 1024 * 1024)),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('CAIRN_LOG_LEVEL').default('info')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .addOption(
      new Option('--delivery-interval <duration>', 'how often trails deliver log files (500ms, 5s, 2m...)')
        .env('CAIRN_DELIVERY_INTERVAL')
        .default('5m'),
    )
    .addOption(
      new Option('--digest-interval <duration>', 'how often trails with log file validation get a digest (60s, 10m, 1h...)')
        .env('CAIRN_DIGEST_INTERVAL')
        .default('1h'),
    )
    .addOption(
      new Option('--restore-delay <duration>', 'how long S3 restores of GLACIER/DEEP_ARCHIVE objects take (default: by retrieval tier, 5m to 48h)').env(
        'CAIRN_RESTORE_DELAY',
      ),
    )
    .addOption(new Option('--s3-endpoint <url>', 'external S3-compatible endpoint for trail buckets and log files').env('CAIRN_S3_ENDPOINT'))
    .addOption(new Option('--s3-access-key-id <id>', 'access key for --s3-endpoint').env('CAIRN_S3_ACCESS_KEY_ID'))
    .addOption(new Option('--s3-secret-access-key <secret>', 'secret key for --s3-endpoint').env('CAIRN_S3_SECRET_ACCESS_KEY'))
    .addOption(new Option('--s3-region <region>', 'region requests to --s3-endpoint are signed for').env('CAIRN_S3_REGION').default('us-east-1'))
    .addOption(new Option('--s3-virtual-hosted-style', 'address --s3-endpoint buckets as hosts instead of paths').env('CAIRN_S3_VIRTUAL_HOSTED_STYLE'))
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      // Each subcommand loads only its own modules: the server's would double `validate-logs`' start-up.
      const { serverCommand } = await import('./server.js');
      code = await serverCommand(opts);
    });

  program
    .command('env')
    .description('print shell export lines for the AWS CLI and SDKs to use this server')
    .addOption(new Option('--data-dir <dir>', 'data directory').env('CAIRN_DATA_DIR').default('./cairn-data'))
    .addOption(new Option('--account <id-or-name>', 'a member account of the organization: print a session of its access role'))
    .addOption(new Option('--role-name <name>', 'the role to assume in --account').default('OrganizationAccountAccessRole'))
    .action(async (opts: { dataDir: string; account?: string; roleName: string }) => {
      const { envCommand } = await import('./env.js');
      code = await envCommand(opts.dataDir, { ...(opts.account !== undefined ? { account: opts.account } : {}), roleName: opts.roleName });
    });

  program
    .command('validate-logs')
    .description('validate a trail\'s log files and digests (as `aws cloudtrail validate-logs`, plus more checks)')
    .requiredOption('--trail-arn <arn>', 'the ARN of the trail to validate')
    .requiredOption('--start-time <time>', 'validate log files delivered on or after this UTC time (2015-01-08T05:21:42Z)')
    .option('--end-time <time>', 'validate log files delivered on or before this UTC time (default: now)')
    .option('--s3-bucket <bucket>', 'the bucket holding the digests (default: the trail\'s, from DescribeTrails)')
    .option('--s3-prefix <prefix>', 'the key prefix of the digests (default: the trail\'s)')
    .option('--account-id <id>', 'the account whose logs to validate (organization trails)')
    .option('--verbose', 'print every valid file too')
    .option('--public-key <file>', 'a PEM or DER public key to verify digests with, instead of ListPublicKeys (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--local-dir <dir>', 'read digests and log files from a local copy of the bucket\'s AWSLogs/ tree')
    .option('--organization-id <id>', 'the organization id (o-...) of an organization trail')
    .option('--concurrency <n>', 'files fetched at once (default 64)')
    .action(async (opts: ValidateLogsOptions) => {
      const { validateLogsCommand } = await import('./validate-logs.js');
      code = await validateLogsCommand(opts);
    });

  program
    .command('ingest')
    .description('append CloudTrail records (log files or JSON lines, gzip or not; - for stdin) to the caller\'s account event log')
    .argument('<paths...>', 'files of {"Records":[...]} or JSON lines, or - for standard input')
    .option('--endpoint-url <url>', 'the Cairn server (default: AWS_ENDPOINT_URL)')
    .option('--batch-size <n>', 'records per request (default 2000, at most 10000)')
    .action(async (paths: string[], opts: IngestOptions) => {
      const { ingestCommand } = await import('./ingest.js');
      code = await ingestCommand(paths, opts, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const exit = e as { exitCode?: number; code?: string };
    if (exit.code === 'commander.helpDisplayed' || exit.code === 'commander.version') return 0;
    return typeof exit.exitCode === 'number' ? exit.exitCode : 1;
  }
  return code;
}
