/**
 * `cairn server`: validates the configuration, starts the server, and shuts it down
 * cleanly on SIGINT/SIGTERM (a second signal forces the exit).
 */
import { startServer } from '../app.js';
import { systemClock } from '../platform/clock.js';
import { parseServerConfig } from '../platform/config.js';
import { cryptoRandom } from '../platform/ids.js';
import { createLogger } from '../platform/logger.js';

export async function serverCommand(opts: Record<string, string | boolean | undefined>): Promise<number> {
  const parsed = parseServerConfig({
    dataDir: opts.dataDir,
    host: opts.host,
    port: Number(opts.port),
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    insecureHttp: opts.insecureHttp === true || opts.insecureHttp === 'true' || opts.insecureHttp === '1',
    maxBodyBytes: Number(opts.maxBodyBytes),
    logLevel: opts.logLevel,
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
