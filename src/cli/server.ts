/**
 * `cairn server`: validates the configuration, starts the server, and shuts it down
 * cleanly on SIGINT/SIGTERM (a second signal forces the exit).
 */
import { startServer } from '../app.js';
import { systemClock } from '../platform/clock.js';
import { parseDuration, parseListenAddress, parseServerConfig } from '../platform/config.js';
import { cryptoRandom } from '../platform/ids.js';
import { createLogger, prettyLogs } from '../platform/logger.js';
import type { RunningServer } from '../app.js';

/** What a person starting the server needs first: where it answers and how to get credentials. */
export function banner(server: Pick<RunningServer, 'endpoint' | 'operatorEndpoint' | 'dataDir'>, dataDirOption: unknown): string {
  const dataDirFlag = typeof dataDirOption === 'string' && dataDirOption !== './cairn-data' ? ` --data-dir ${JSON.stringify(dataDirOption)}` : '';
  const lines = [
    '',
    '  Cairn is running',
    `  API          ${server.endpoint}`,
    `  Console      ${server.operatorEndpoint ? `${server.operatorEndpoint}/` : 'off (--operator-address)'}`,
    ...(server.operatorEndpoint ? [`  Metrics      ${server.operatorEndpoint}/metrics   (health: /healthz, /readyz)`] : []),
    `  Data         ${server.dataDir}`,
    `  Credentials  eval "$(./bin/cairn env${dataDirFlag})"`,
    '',
  ];
  return lines.join('\n') + '\n';
}

export async function serverCommand(opts: Record<string, string | boolean | undefined>): Promise<number> {
  const interval = typeof opts.deliveryInterval === 'string' ? parseDuration(opts.deliveryInterval) : undefined;
  if (opts.deliveryInterval !== undefined && interval === undefined) {
    process.stderr.write(`cairn server: invalid configuration:\n  - --delivery-interval: expected a duration such as 500ms, 5s or 2m\n`);
    return 2;
  }
  const digestInterval = typeof opts.digestInterval === 'string' ? parseDuration(opts.digestInterval) : undefined;
  if (opts.digestInterval !== undefined && digestInterval === undefined) {
    process.stderr.write(`cairn server: invalid configuration:\n  - --digest-interval: expected a duration such as 60s, 10m or 1h\n`);
    return 2;
  }
  const restoreDelay = typeof opts.restoreDelay === 'string' ? parseDuration(opts.restoreDelay) : undefined;
  if (opts.restoreDelay !== undefined && restoreDelay === undefined) {
    process.stderr.write(`cairn server: invalid configuration:\n  - --restore-delay: expected a duration such as 30s, 5m or 4h\n`);
    return 2;
  }
  const flag = (v: string | boolean | undefined): boolean => v === true || v === 'true' || v === '1';
  const apiPort = Number(opts.port);
  const host = typeof opts.host === 'string' ? opts.host : '127.0.0.1';
  const operatorText = typeof opts.operatorAddress === 'string' ? opts.operatorAddress : String(apiPort === 0 ? 0 : apiPort + 1);
  const operator = parseListenAddress(operatorText, host);
  if (operator === undefined) {
    process.stderr.write(`cairn server: invalid configuration:\n  - --operator-address: expected off, a port, or host:port\n`);
    return 2;
  }
  const parsed = parseServerConfig({
    dataDir: opts.dataDir,
    host: opts.host,
    port: Number(opts.port),
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    insecureHttp: opts.insecureHttp === true || opts.insecureHttp === 'true' || opts.insecureHttp === '1',
    maxBodyBytes: Number(opts.maxBodyBytes),
    logLevel: opts.logLevel,
    ...(flag(opts.functions) ? { functions: true } : {}),
    ...(operator === 'off' ? {} : { operator }),
    metrics: opts.metrics !== false && !flag(opts.noMetrics),
    ...(interval !== undefined ? { deliveryIntervalMs: interval } : {}),
    ...(digestInterval !== undefined ? { digestIntervalMs: digestInterval } : {}),
    ...(restoreDelay !== undefined ? { restoreDelayMs: restoreDelay } : {}),
    ...(typeof opts.s3Endpoint === 'string' && opts.s3Endpoint !== ''
      ? {
          s3Endpoint: opts.s3Endpoint,
          s3AccessKeyId: opts.s3AccessKeyId,
          s3SecretAccessKey: opts.s3SecretAccessKey,
          s3Region: opts.s3Region,
          s3ForcePathStyle: !flag(opts.s3VirtualHostedStyle),
        }
      : {}),
  });
  if (!parsed.ok) {
    process.stderr.write(`cairn server: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const format = opts.logFormat === 'pretty' || opts.logFormat === 'json' ? opts.logFormat : 'auto';
  const logger = createLogger(parsed.config.logLevel, format);
  let server;
  try {
    server = await startServer(parsed.config, { clock: systemClock, random: cryptoRandom, logger });
  } catch (e) {
    logger.fatal({ err: e }, 'cairn could not start');
    return 1;
  }
  const running = server;
  if (prettyLogs(format) && parsed.config.logLevel !== 'silent') process.stderr.write(banner(running, opts.dataDir));
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      running.stop().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error({ err: e }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
