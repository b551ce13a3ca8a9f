/**
 * The composition root: the only place that chooses implementations and wires the
 * capabilities together from a validated {@link ServerConfig}. Everything it builds is
 * returned so the CLI (and tests) can start and stop it.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openSqliteEventLog } from './eventlog/sqlite-eventlog.js';
import { Identities } from './iam/identities.js';
import { SqliteIdentityStore } from './iam/sqlite-store.js';
import type { Clock } from './platform/clock.js';
import type { ServerConfig } from './platform/config.js';
import type { RandomSource } from './platform/ids.js';
import type { Logger } from './platform/logger.js';
import { createListener } from './server/http.js';
import { RequestPipeline } from './server/pipeline.js';
import { writeCredentialsFile, writeServerAddress } from './server/datadir.js';
import { cloudtrailService } from './services/cloudtrail/index.js';
import { iamService } from './services/iam/index.js';
import { stsService } from './services/sts/index.js';
import { openStateDatabase } from './storage/sqlite.js';
import { Trails } from './trails/trails.js';
import { SqliteTrailStore } from './trails/sqlite-store.js';

export interface AppDeps {
  clock: Clock;
  random: RandomSource;
  logger: Logger;
}

export interface RunningServer {
  /** The base URL clients use, e.g. `http://127.0.0.1:4777`. */
  endpoint: string;
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  /** Stops accepting requests, answers those in flight, flushes the event log and closes storage. */
  stop(): Promise<void>;
}

/** Builds every capability for `config` and starts listening. */
export async function startServer(config: ServerConfig, deps: AppDeps): Promise<RunningServer> {
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const logger = deps.logger;

  const db = openStateDatabase(dataDir);
  const identities = new Identities({ store: new SqliteIdentityStore(db), clock: deps.clock, random: deps.random });
  const account = identities.ensureManagementAccount();
  writeCredentialsFile(dataDir, account);
  if (account.created) logger.info({ accountId: account.accountId }, 'created the management account');

  const { log: eventLog } = await openSqliteEventLog({ dataDir });
  const trails = new Trails({ store: new SqliteTrailStore(db), clock: deps.clock });

  const pipeline = new RequestPipeline({
    services: [
      cloudtrailService({ trails }),
      iamService({ identities }),
      stsService({ identities }),
    ],
    credentials: identities,
    policies: identities,
    eventLog,
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'pipeline' }),
  });

  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  const listener = createListener({ handler: pipeline, maxBodyBytes: config.maxBodyBytes, logger, ...(tls ? { tls } : {}) });
  const bound = await listener.listen(config.host, config.port);
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  const endpoint = `${tls ? 'https' : 'http'}://${host}:${bound.port}`;
  writeServerAddress(dataDir, { endpoint, host: bound.host, port: bound.port, pid: process.pid });
  logger.info({ endpoint, dataDir }, 'cairn is listening');

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    accountId: account.accountId,
    accessKeyId: account.accessKeyId,
    secretAccessKey: account.secretAccessKey,
    dataDir,
    stop() {
      stopping ??= (async () => {
        await listener.close();
        await eventLog.close();
        db.close();
        logger.info('cairn stopped');
      })();
      return stopping;
    },
  };
}
