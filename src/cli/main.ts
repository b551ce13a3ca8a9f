/**
 * The `cairn` command line: parses flags (with `CAIRN_*` environment fallbacks) and runs
 * one subcommand. `run` returns the exit code instead of exiting, so tests can call it.
 */
import { Command, Option } from 'commander';
import type { IngestOptions } from './ingest.js';
import type { StatusOptions } from './status.js';
import type { TailOptions } from './tail.js';
import type { ValidateLogsOptions } from './validate-logs.js';

/** The examples `--help` prints after a command's options. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Options of the commands that call a running server. */
function serverClientOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'data directory of the server (its address and root credentials)').env('CAIRN_DATA_DIR').default('./cairn-data'))
    .option('--endpoint-url <url>', 'the server\'s API address (default: AWS_ENDPOINT_URL, else the data directory\'s)')
    .option('--region <region>', 'Region (default: AWS_REGION, else us-east-1)');
}

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
      new Option('--log-format <format>', 'pretty: lines for people; json: one JSON object a line; auto: pretty when stderr is a terminal')
        .env('CAIRN_LOG_FORMAT')
        .default('auto')
        .choices(['auto', 'pretty', 'json']),
    )
    .addOption(
      new Option(
        '--operator-address <[host:]port|off>',
        'where the web console, /metrics, /healthz and /readyz listen (default: --host, the API port + 1; 0 when --port is 0); off: nowhere',
      ).env('CAIRN_OPERATOR_ADDRESS'),
    )
    .addOption(new Option('--no-metrics', 'collect no Prometheus metrics and serve no /metrics').env('CAIRN_NO_METRICS'))
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
    .addHelpText(
      'after',
      examples(
        './bin/cairn server                                   # 127.0.0.1:4777, console and /metrics on :4778, ./cairn-data',
        './bin/cairn server --data-dir /var/lib/cairn --delivery-interval 5s',
        './bin/cairn server --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --operator-address 127.0.0.1:9464',
        'CAIRN_LOG_FORMAT=json ./bin/cairn server 2>> cairn.log',
      ),
    )
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
    .addHelpText('after', examples('eval "$(./bin/cairn env)"', 'aws sts get-caller-identity', 'eval "$(./bin/cairn env --account audit)"   # a member account\'s access role'))
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
    .addHelpText(
      'after',
      examples(
        './bin/cairn validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:123456789012:trail/main --start-time 2026-01-01T00:00:00Z',
        './bin/cairn validate-logs --trail-arn ARN --start-time 2026-01-01T00:00:00Z --local-dir ./export --public-key aws-key.pem --verbose',
      ),
    )
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
    .addHelpText('after', examples('./bin/cairn ingest exported/*.json.gz', 'my-gateway --audit-json | ./bin/cairn ingest -'))
    .action(async (paths: string[], opts: IngestOptions) => {
      const { ingestCommand } = await import('./ingest.js');
      code = await ingestCommand(paths, opts, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
    });

  serverClientOptions(
    program
      .command('tail')
      .description('follow the event history as calls are recorded (LookupEvents, with the caller\'s credentials)'),
  )
    .option('--attribute <Key=Value>', 'a lookup attribute to filter on (EventName, EventSource, Username, ResourceName, ResourceType, AccessKeyId, ReadOnly, EventId); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'print each event\'s whole record as one JSON line')
    .option('--since <duration>', 'start with the events of this long ago (30s, 5m, 2h); default: from now')
    .option('--max-events <n>', 'exit after printing this many events')
    .option('--interval <ms>', 'how often to poll, in milliseconds (default 250)')
    .addHelpText(
      'after',
      examples(
        './bin/cairn tail',
        './bin/cairn tail --attribute Username=alice --since 10m',
        './bin/cairn tail --attribute EventSource=iam.amazonaws.com --json | jq .eventName',
        'AWS_PROFILE=auditor ./bin/cairn tail --endpoint-url http://cairn:4777   # as another principal',
      ),
    )
    .action(async (opts: TailOptions) => {
      const { tailCommand } = await import('./tail.js');
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      code = await tailCommand(opts, process.stdout, abort.signal);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });

  serverClientOptions(program.command('status').description('the server\'s health, trails\' delivery and digest state, and consumer lags'))
    .option('--operator-url <url>', 'the operator\'s address (default: the data directory\'s)')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples('./bin/cairn status', './bin/cairn status --json | jq \'.trails[] | select(.latestDeliveryError)\''))
    .action(async (opts: StatusOptions) => {
      const { statusCommand } = await import('./status.js');
      code = await statusCommand(opts);
    });

  program
    .command('console')
    .description('print the web console\'s address (the URL alone on the last line)')
    .addOption(new Option('--data-dir <dir>', 'data directory of the server').env('CAIRN_DATA_DIR').default('./cairn-data'))
    .addHelpText('after', examples('./bin/cairn console', 'xdg-open "$(./bin/cairn console | tail -n1)"'))
    .action(async (opts: { dataDir: string }) => {
      const { consoleCommand } = await import('./env.js');
      code = consoleCommand(opts.dataDir);
    });

  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('[shell]', 'bash or zsh', 'bash')
    .addHelpText('after', examples('source <(./bin/cairn completion bash)', './bin/cairn completion zsh > "${fpath[1]}/_cairn"'))
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.js');
      const script = completionScript(program, shell);
      if (script === undefined) {
        process.stderr.write(`cairn completion: unknown shell ${shell} (bash or zsh)\n`);
        code = 2;
      } else process.stdout.write(script);
    });

  program.addHelpText('after', examples('./bin/cairn server', 'eval "$(./bin/cairn env)"', './bin/cairn tail', './bin/cairn status', './bin/cairn <command> --help'));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const exit = e as { exitCode?: number; code?: string };
    if (exit.code === 'commander.helpDisplayed' || exit.code === 'commander.version') return 0;
    return typeof exit.exitCode === 'number' ? exit.exitCode : 1;
  }
  return code;
}
