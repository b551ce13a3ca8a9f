/**
 * The composition root: the only place that chooses implementations and wires the
 * capabilities together from a validated {@link ServerConfig}. Everything it builds is
 * returned so the CLI (and tests) can start and stop it.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openSqliteEventLog } from './eventlog/sqlite-eventlog.js';
import { History } from './history/history.js';
import { historyMigrations } from './history/schema.js';
import { Identities } from './iam/identities.js';
import { SqliteIdentityStore } from './iam/sqlite-store.js';
import { EmbeddedObjectStore } from './objectstore/embedded.js';
import { loadOrCreateMasterKey } from './kms/crypto.js';
import { Kms } from './kms/kms.js';
import { SqliteKmsStore } from './kms/sqlite-store.js';
import type { Clock } from './platform/clock.js';
import type { ServerConfig } from './platform/config.js';
import type { RandomSource } from './platform/ids.js';
import { createJobs } from './platform/jobs.js';
import type { Logger } from './platform/logger.js';
import { createListener } from './server/http.js';
import { RequestPipeline } from './server/pipeline.js';
import { writeCredentialsFile, writeServerAddress } from './server/datadir.js';
import { cloudtrailService } from './services/cloudtrail/index.js';
import { iamService } from './services/iam/index.js';
import { s3Service } from './services/s3/index.js';
import { kmsService } from './services/kms/index.js';
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

  const { log: eventLog } = await openSqliteEventLog({ dataDir, migrations: historyMigrations });
  const history = new History({ dataDir, log: eventLog, random: deps.random });
  const objects = await EmbeddedObjectStore.open({
    dir: join(dataDir, 'objects'),
    clock: deps.clock,
    random: deps.random,
    defaultOwner: account.accountId,
  });
  const kms = new Kms({
    store: new SqliteKmsStore(db),
    clock: deps.clock,
    random: deps.random,
    masterKey: loadOrCreateMasterKey(dataDir, deps.random),
  });
  const trails = new Trails({
    store: new SqliteTrailStore(db),
    clock: deps.clock,
    bucketExists: async (_accountId, bucket) => (await objects.headBucket(bucket)) !== undefined,
    // A trail's KmsKeyId is stored as the key's ARN; the region is the ARN's own.
    resolveKmsKey: async (accountId, arn) => kms.resolveKeyArn(accountId, arn.split(':')[3] ?? '', arn),
  });
  const jobs = createJobs(logger);
  // Keys whose deletion waiting period has ended are deleted.
  jobs.every('kms-key-deletion', 60_000, () => {
    for (const key of kms.purgeDue(deps.clock.now())) logger.info({ keyArn: key.arn }, 'deleted KMS key');
  });
  // Events older than the history's 90 days go, once every consumer of the log has read them.
  jobs.every('history-retention', 60_000, () => history.purge(deps.clock.now(), eventLog.lastSeq()));

  const pipeline = new RequestPipeline({
    services: [
      cloudtrailService({ trails, history }),
      iamService({ identities }),
      stsService({ identities }),
      s3Service({ store: objects }),
      kmsService({ kms, policies: identities }),
    ],
    credentials: identities,
    policies: identities,
    eventLog,
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'pipeline' }),
    serverHosts: [config.host],
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
        await jobs.stop();
        history.close();
        await eventLog.close();
        await objects.close();
        db.close();
        logger.info('cairn stopped');
      })();
      return stopping;
    },
  };
}
