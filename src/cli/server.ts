/**
 * `cairn server`: validates the configuration, starts the server, and shuts it down
 * cleanly on SIGINT/SIGTERM (a second signal forces the exit).
 */
import { startServer } from '../app.js';
import { systemClock } from '../platform/clock.js';
import { parseDuration, parseServerConfig } from '../platform/config.js';
import { cryptoRandom } from '../platform/ids.js';
import { createLogger } from '../platform/logger.js';

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
  const logger = createLogger(parsed.config.logLevel);
  let server;
  try {
    server = await startServer(parsed.config, { clock: systemClock, random: cryptoRandom, logger });
  } catch (e) {
    logger.fatal({ err: e }, 'cairn could not start');
    return 1;
  }
  const running = server;
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
