/**
 * The composition root: the only place that chooses implementations and wires the
 * capabilities together from a validated {@link ServerConfig}. Everything it builds is
 * returned so the CLI (and tests) can start and stop it.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeliveryEngine } from './delivery/delivery.js';
import { SqliteDeliveryStateStore } from './delivery/sqlite-store.js';
import { openSqliteEventLog } from './eventlog/sqlite-eventlog.js';
import { History } from './history/history.js';
import { historyMigrations } from './history/schema.js';
import { Identities } from './iam/identities.js';
import { MfaDevices } from './iam/mfa.js';
import { SqliteMfaDeviceStore } from './iam/mfa-sqlite-store.js';
import { SqliteIdentityStore } from './iam/sqlite-store.js';
import { protectionHooks } from './objectstore/protection/hooks.js';
import { LifecycleEngine, type LifecycleReport } from './objectstore/protection/lifecycle.js';
import { EmbeddedObjectStore } from './objectstore/embedded.js';
import { ExternalS3Store } from './objectstore/external/s3-store.js';
import type { ObjectStore } from './objectstore/store.js';
import { loadOrCreateStoreKey, sseTransform } from './objectstore/access/encryption.js';
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
import { kmsEnvelope } from './services/s3/encryption.js';
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
  /** Trail delivery: `deliverNow()` writes every trail's pending log files at once. */
  delivery: DeliveryEngine;
  /** Applies every bucket's S3 lifecycle rules now (the server also runs it once a minute). */
  runLifecycle(): Promise<LifecycleReport>;
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
  // Every object is encrypted at rest: SSE-S3 under the store's key, or SSE-KMS.
  objects.use({
    atRest: sseTransform({ masterKey: loadOrCreateStoreKey(dataDir, deps.random), random: deps.random, kms: kmsEnvelope(kms) }),
  });
  // Trail buckets and log files live in the embedded store, or on an external S3 endpoint.
  const external = config.s3Endpoint
    ? new ExternalS3Store({
        endpoint: config.s3Endpoint,
        clock: deps.clock,
        owner: account.accountId,
        ...(config.s3Region !== undefined ? { region: config.s3Region } : {}),
        ...(config.s3AccessKeyId !== undefined ? { accessKeyId: config.s3AccessKeyId } : {}),
        ...(config.s3SecretAccessKey !== undefined ? { secretAccessKey: config.s3SecretAccessKey } : {}),
        ...(config.s3ForcePathStyle !== undefined ? { forcePathStyle: config.s3ForcePathStyle } : {}),
      })
    : undefined;
  const trailBuckets: ObjectStore = external ?? objects;
  const trails = new Trails({
    store: new SqliteTrailStore(db),
    clock: deps.clock,
    bucketExists: async (_accountId, bucket) => (await trailBuckets.headBucket(bucket)) !== undefined,
    // Tells delivery (built below, before any request) where StartLogging and StopLogging fall in the log.
    loggingChanged: (trail, isLogging) => deliveryEngine.loggingChanged(trail, isLogging),
    // A trail's KmsKeyId is stored as the key's ARN; the region is the ARN's own.
    resolveKmsKey: async (accountId, arn) => kms.resolveKeyArn(accountId, arn.split(':')[3] ?? '', arn),
  });
  const deliveryEngine = new DeliveryEngine({
    log: eventLog,
    trails,
    objects: trailBuckets,
    store: new SqliteDeliveryStateStore(db),
    clock: deps.clock,
    logger: logger.child({ component: 'delivery' }),
    ...(config.deliveryIntervalMs !== undefined ? { intervalMs: config.deliveryIntervalMs } : {}),
  });
  // S3 data protection: virtual MFA devices (IAM), Object Lock and MFA delete guards, lifecycle.
  const mfaDevices = new MfaDevices({
    store: new SqliteMfaDeviceStore(db),
    clock: deps.clock,
    random: deps.random,
    findUser: (accountId, userName) => identities.findUser(accountId, userName),
  });
  objects.use(protectionHooks({ store: objects, clock: deps.clock, mfa: mfaDevices }));
  const lifecycle = new LifecycleEngine({ store: objects, clock: deps.clock });
  const jobs = createJobs(logger);
  // The engine delivers when its interval has passed by the clock; this only wakes it up.
  jobs.every('trail-delivery', Math.min(1000, deliveryEngine.interval), () => deliveryEngine.tick());
  // Keys whose deletion waiting period has ended are deleted.
  // S3 lifecycle rules (transitions, expirations, aborted uploads) are applied once a minute.
  jobs.every('s3-lifecycle', 60_000, () => lifecycle.run());
  jobs.every('kms-key-deletion', 60_000, () => {
    for (const key of kms.purgeDue(deps.clock.now())) logger.info({ keyArn: key.arn }, 'deleted KMS key');
  });
  // Events older than the history's 90 days go, once every consumer of the log has read them.
  jobs.every('history-retention', 60_000, () => history.purge(deps.clock.now(), deliveryEngine.lowestCursor() ?? eventLog.lastSeq()));


  const pipeline = new RequestPipeline({
    services: [
      cloudtrailService({ trails, history }),
      iamService({ identities, mfa: mfaDevices }),
      stsService({ identities }),
      s3Service({
        store: objects,
        kms,
        policies: identities,
        protection: {
          mfa: mfaDevices,
          policies: identities,
          ...(config.restoreDelayMs !== undefined ? { restoreDelayMs: config.restoreDelayMs } : {}),
        },
        // A bucket policy may name only users and roles that exist (in accounts Cairn hosts).
        principalExists: (arn) => {
          const m = /^arn:aws:iam::(\d{12}):(user|role)\/(?:.*\/)?([^/]+)$/.exec(arn);
          if (!m || !identities.getAccount(m[1] ?? '')) return true;
          return m[2] === 'user' ? identities.findUser(m[1] ?? '', m[3] ?? '') !== undefined : identities.findRole(m[1] ?? '', m[3] ?? '') !== undefined;
        },
      }),
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
    delivery: deliveryEngine,
    runLifecycle: () => lifecycle.run(),
    stop() {
      stopping ??= (async () => {
        await listener.close();
        await jobs.stop();
        await deliveryEngine.stop();
        external?.close();
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
