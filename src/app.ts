/**
 * The composition root: the only place that chooses implementations and wires the
 * capabilities together from a validated {@link ServerConfig}. Everything it builds is
 * returned so the CLI (and tests) can start and stop it.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EventBusEngine } from './bus/engine.js';
import { SqliteBusStore } from './bus/sqlite-store.js';
import { DeliveryEngine, type DeliveryWrite } from './delivery/delivery.js';
import { TrailNotifier } from './delivery/notifications.js';
import { dataEventSelection } from './delivery/selectors.js';
import { SqliteDeliveryStateStore } from './delivery/sqlite-store.js';
import { openSqliteEventLog } from './eventlog/sqlite-eventlog.js';
import { History } from './history/history.js';
import { historyMigrations } from './history/schema.js';
import { Ingestion, ingestMigrations } from './lake/ingestion.js';
import { Identities } from './iam/identities.js';
import { Logs } from './logs/logs.js';
import { SqliteLogsStore } from './logs/sqlite-store.js';
import { functionEvent } from './logs/subscriptions.js';
import { EventSourceMappings } from './functions/mappings.js';
import { Functions } from './functions/functions.js';
import { Invoker } from './functions/invoker.js';
import { findPython } from './functions/runtime.js';
import { SqliteFunctionStore } from './functions/sqlite-store.js';
import { LAMBDA_SERVICE, sqsMappingSource } from './functions/sqs-source.js';
import { lambdaErrors } from './functions/errors.js';
import { serviceAllowed } from './auth/resource-policies.js';
import { parsePolicyDocument } from './auth/policy.js';
import { checkTrailLogsAccess, type TrailLogsAccessDeps } from './logs/trail-access.js';
import { TrailStream } from './logs/trail-stream.js';
import { Alarms } from './metrics/alarms.js';
import { Metrics } from './metrics/metrics.js';
import { SqliteAlarmStore, SqliteMetricStore } from './metrics/sqlite-store.js';
import { DigestEngine } from './integrity/engine.js';
import { SigningKeys } from './integrity/keys.js';
import { SqliteIntegrityStore } from './integrity/sqlite-store.js';
import { MfaDevices } from './iam/mfa.js';
import { SqliteMfaDeviceStore } from './iam/mfa-sqlite-store.js';
import { SqliteIdentityStore } from './iam/sqlite-store.js';
import { protectionHooks } from './objectstore/protection/hooks.js';
import { LifecycleEngine, type LifecycleReport } from './objectstore/protection/lifecycle.js';
import { EmbeddedObjectStore } from './objectstore/embedded.js';
import { SNS_SUBJECT } from './objectstore/notifications/messages.js';
import { BucketNotifier } from './objectstore/notifications/notifier.js';
import { ExternalS3Store } from './objectstore/external/s3-store.js';
import type { ObjectStore } from './objectstore/store.js';
import { loadOrCreateStoreKey, sseTransform } from './objectstore/access/encryption.js';
import { loadOrCreateMasterKey } from './kms/crypto.js';
import { Kms } from './kms/kms.js';
import { Organizations } from './organizations/engine.js';
import { SqliteOrganizationStore } from './organizations/sqlite-store.js';
import { SqliteKmsStore } from './kms/sqlite-store.js';
import type { Clock } from './platform/clock.js';
import type { ServerConfig } from './platform/config.js';
import type { RandomSource } from './platform/ids.js';
import { createJobs } from './platform/jobs.js';
import type { Logger } from './platform/logger.js';
import { createTelemetry, type FailureOutcome, type Telemetry } from './platform/telemetry.js';
import { createListener } from './server/http.js';
import { createOperatorListener, healthRoutes, metricsRoute, type OperatorRoute } from './server/operator.js';
import { RequestPipeline } from './server/pipeline.js';
import { writeCredentialsFile, writeServerAddress } from './server/datadir.js';
import { cloudtrailService } from './services/cloudtrail/index.js';
import { eventsService } from './services/events/index.js';
import { iamService } from './services/iam/index.js';
import { ingestService } from './services/ingest/index.js';
import { logsService } from './services/logs/index.js';
import { cloudwatchService } from './services/cloudwatch/index.js';
import { s3Service } from './services/s3/index.js';
import { snsPublicRoute, snsService } from './services/sns/index.js';
import { sqsService } from './services/sqs/index.js';
import { kmsEnvelope } from './services/s3/encryption.js';
import { ACCESS_CONFIG, authorizeServiceWrite } from './services/s3/access.js';
import { kmsService } from './services/kms/index.js';
import { lambdaService } from './services/lambda/index.js';
import { organizationsService } from './services/organizations/index.js';
import { stsService } from './services/sts/index.js';
import { FUNCTION_ARN, FunctionRegistry } from './sns/functions.js';
import { loadOrCreateSigningIdentity } from './sns/signing.js';
import { SqliteTopicStore } from './sns/sqlite-store.js';
import { Topics } from './sns/topics.js';
import { Queues } from './sqs/queues.js';
import { SqliteQueueStore } from './sqs/sqlite-store.js';
import { groupFlush } from './storage/group-flush.js';
import { openStateDatabase } from './storage/sqlite.js';
import { CLOUDTRAIL_SERVICE } from './trails/delivery-access.js';
import { Trails, type DeliveryOutcome } from './trails/trails.js';
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
  /** The operator's base URL (web console, `/metrics`, `/healthz`, `/readyz`), when it listens. */
  operatorEndpoint?: string;
  /** The SQS engine (other engines send to queues through it). */
  queues: Queues;
  /** The SNS engine (other engines publish through it). */
  topics: Topics;
  /** Functions by ARN, the targets of SNS `lambda` subscriptions. */
  functions: FunctionRegistry;
  /** S3 event notifications: `idle()` waits until every notification so far is delivered. */
  bucketNotifications: BucketNotifier;
  /** The event bus (EventBridge): `idle()` waits until everything logged so far is on the bus and delivered. */
  events: EventBusEngine;
  /** Trail delivery: `deliverNow()` writes every trail's pending log files at once. */
  delivery: DeliveryEngine;
  /** Lambda: the control plane (functions, versions, aliases, permissions). */
  lambda: Functions;
  /** Runs functions: `idle()` waits for the asynchronous invocations due now. */
  invoker: Invoker;
  /** SQS event source mappings: `tick()` polls every mapping once. */
  eventSourceMappings: EventSourceMappings;
  /** CloudWatch Logs: `applyRetention()` deletes expired events now; `idle()` waits for subscription deliveries. */
  logs: Logs;
  /** Trails into CloudWatch Logs: `idle()` waits until everything logged so far is in its log groups. */
  trailStream: TrailStream;
  /** What metric filters have counted (the CloudWatch metrics engine; `sum()` totals a metric). */
  logMetrics: Pick<Metrics, 'sum'>;
  /** CloudWatch metrics (PutMetricData, metric filters): `applyRetention()` drops expired data now. */
  metrics: Metrics;
  /** CloudWatch alarms: `evaluate(now)` evaluates every alarm at once (the server does so every second). */
  alarms: Alarms;
  /** Log file validation: `digestNow()` writes a digest for every chain at once. */
  digests: DigestEngine;
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

  // The server's own metrics (Prometheus), unless turned off.
  const telemetry: Telemetry | undefined = config.metrics === false ? undefined : createTelemetry();
  const db = openStateDatabase(dataDir);
  // One group flush for state.db: stores that commit without flushing share its fsyncs.
  const stateFlush = groupFlush(db);
  const identities = new Identities({ store: new SqliteIdentityStore(db), clock: deps.clock, random: deps.random });
  const account = identities.ensureManagementAccount();
  writeCredentialsFile(dataDir, account);
  if (account.created) logger.info({ accountId: account.accountId }, 'created the management account');

  // AWS Organizations: member accounts are made by the identity engine, without root keys.
  const organizations = await Organizations.open({
    store: new SqliteOrganizationStore(db),
    clock: deps.clock,
    random: deps.random,
    accounts: identities,
  });

  const { log: eventLog } = await openSqliteEventLog({
    dataDir,
    migrations: [...historyMigrations, ...ingestMigrations],
    ...(telemetry ? { onCommit: (events: number, seconds: number) => telemetry.commit(events, seconds) } : {}),
  });
  const history = new History({ dataDir, log: eventLog, random: deps.random });
  // Records from outside (`cairn ingest`, gateways) join the caller's account log.
  const ingestion = new Ingestion({ dataDir, log: eventLog });
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
    ...(telemetry ? { deliveryRecorded: (outcome: DeliveryOutcome) => telemetry.delivery(outcome.kind, outcome.error !== undefined) } : {}),
    bucketExists: async (_accountId, bucket) => (await trailBuckets.headBucket(bucket)) !== undefined,
    // Tells delivery (built below, before any request) where StartLogging and StopLogging fall in the log.
    loggingChanged: (trail, isLogging) => {
      deliveryEngine.loggingChanged(trail, isLogging);
      trailStream.loggingChanged(trail, isLogging);
      digestEngine.loggingChanged(trail, isLogging);
    },
    // A trail's KmsKeyId is stored as the key's ARN; the region is the ARN's own.
    organizationRole: async (accountId) => organizations.membership(accountId),
    resolveKmsKey: async (accountId, arn) => kms.resolveKeyArn(accountId, arn.split(':')[3] ?? '', arn),
    // A CloudWatch Logs log group must exist and the role let CloudTrail write to it.
    cloudWatchLogsAccess: (accountId, logGroupArn, roleArn) => checkTrailLogsAccess(trailLogsAccess, accountId, logGroupArn, roleArn),
    // CloudTrail needs a bucket policy granting its service principal, in any account; an
    // external endpoint's policy is read where it serves GetBucketPolicy, else not checked.
    bucketPolicy: external
      ? (bucket) => external.bucketPolicy(bucket)
      : async (bucket) => objects.bucketConfig(bucket, ACCESS_CONFIG.policy) ?? null,
    keyPolicyAllows: async (req) => kms.authorizeKeyUse({ principal: req.principal, identityPolicies: [] }, req.action, req.keyArn, req.context).decision === 'Allow',
    // The topic (built below, before any request) must exist and let CloudTrail publish for the trail.
    snsTopicAllows: (topicArn, trail) => {
      const topic = topics.findTopic(topicArn);
      return topic !== undefined && topics.allowsService(topic, { service: CLOUDTRAIL_SERVICE, sourceArn: trail.trailArn, sourceAccount: trail.accountId });
    },
  });
  // Data events are recorded (and sent to EventBridge) only when a logging trail selects them.
  const dataEventSelected = dataEventSelection(trails);
  const deliveryEngine = new DeliveryEngine({
    log: eventLog,
    trails,
    // In the embedded store, delivery writes as CloudTrail: the bucket policy decides.
    ...(external ? {} : { authorizeWrite: (write: DeliveryWrite) => authorizeServiceWrite(objects, { ...write, service: CLOUDTRAIL_SERVICE }) }),
    objects: trailBuckets,
    store: new SqliteDeliveryStateStore(db),
    clock: deps.clock,
    logger: logger.child({ component: 'delivery' }),
    ...(config.deliveryIntervalMs !== undefined ? { intervalMs: config.deliveryIntervalMs } : {}),
    // Each delivered file is listed in its trail's next digest (log file validation) and
    // announced on the trail's SNS topic.
    onLogFile: (file) => {
      digestEngine.logFileDelivered(file);
      trailNotifier.logFileDelivered(file);
    },
  });
  // Log file validation: signed digest chains, with keys sealed under the KMS master key.
  const integrityStore = new SqliteIntegrityStore(db);
  const signingKeys = new SigningKeys({ store: integrityStore, clock: deps.clock, random: deps.random, masterKey: loadOrCreateMasterKey(dataDir, deps.random) });
  const digestEngine = new DigestEngine({
    trails,
    objects: trailBuckets,
    store: integrityStore,
    keys: signingKeys,
    clock: deps.clock,
    logger: logger.child({ component: 'digests' }),
    deliverySettled: (trailArn) => deliveryEngine.settled(trailArn),
    ...(config.digestIntervalMs !== undefined ? { intervalMs: config.digestIntervalMs } : {}),
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
  // Woken four times an interval (at most once a second), a delivery is at most a quarter interval late.
  jobs.every('trail-delivery', Math.min(1000, Math.max(10, deliveryEngine.interval / 4)), () => deliveryEngine.tick());
  jobs.every('trail-digests', Math.min(1000, digestEngine.interval), () => digestEngine.tick());
  // Keys whose deletion waiting period has ended are deleted.
  // S3 lifecycle rules (transitions, expirations, aborted uploads) are applied once a minute.
  jobs.every('s3-lifecycle', 60_000, () => lifecycle.run());
  // CreateAccount requests complete shortly after they are made, as in AWS.
  jobs.every('organizations-create-account', 250, () => organizations.completeDue());
  jobs.every('kms-key-deletion', 60_000, () => {
    for (const key of kms.purgeDue(deps.clock.now())) logger.info({ keyArn: key.arn }, 'deleted KMS key');
  });

  // SQS queues (the notification targets of topics, rules and alarms); the endpoint is known once listening.
  let serverEndpoint = '';
  const queues = new Queues({ store: new SqliteQueueStore(db, stateFlush), clock: deps.clock, random: deps.random });
  jobs.every('sqs-retention', 60_000, () => queues.expireAll());
  // SNS topics deliver to queues, HTTP(S) endpoints and functions (registered by ARN); retries wake every second.
  const functions = new FunctionRegistry();
  const topics = new Topics({
    store: new SqliteTopicStore(db),
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'sns' }),
    queues,
    functions,
    signing: loadOrCreateSigningIdentity(dataDir, deps.clock, deps.random),
    endpoint: () => serverEndpoint,
    ...(telemetry ? { deliveryFailed: (outcome: FailureOutcome) => telemetry.targetFailure('sns', outcome) } : {}),
  });
  jobs.every('sns-delivery', 1000, () => topics.deliverDue());
  const trailNotifier = new TrailNotifier({ topics, trails, clock: deps.clock, logger: logger.child({ component: 'notifications' }) });

  // CloudWatch metrics: PutMetricData and CloudWatch Logs metric filters feed them; retention by the clock.
  const metricsEngine = new Metrics({ store: new SqliteMetricStore(db), clock: deps.clock });
  jobs.every('cloudwatch-metrics-retention', 60_000, () => metricsEngine.applyRetention());
  // CloudWatch Logs: subscription filters deliver to queues and functions; metric filters count into CloudWatch metrics.
  const logsStore = new SqliteLogsStore(db);
  const logsEngine = new Logs({
    store: logsStore,
    clock: deps.clock,
    metrics: metricsEngine,
    logger: logger.child({ component: 'logs' }),
    destinations: {
      exists: (arn) => (FUNCTION_ARN.test(arn) ? functions.has(arn) : queues.findQueueByArn(arn) !== undefined),
      deliver: async (arn, payload) => {
        if (FUNCTION_ARN.test(arn)) await functions.invoke(arn, functionEvent(payload));
        else await queues.sendMessage(arn, payload);
      },
    },
  });
  jobs.every('logs-retention', 60_000, () => logsEngine.applyRetention());
  const trailLogsAccess: TrailLogsAccessDeps = {
    groupExists: (accountId, region, name) => logsEngine.findGroup({ accountId, region }, name) !== undefined,
    findRole: (accountId, roleName) => identities.findRole(accountId, roleName),
    rolePolicies: (role) =>
      identities.identityPolicies({
        type: 'AssumedRole',
        accountId: role.accountId,
        accessKeyId: '',
        roleName: role.roleName,
        roleId: role.roleId,
        rolePath: role.path,
        sessionName: 'CloudTrail',
        issuedAt: 0,
        sourceArn: 'cloudtrail.amazonaws.com',
      }),
  };
  // Each logging trail with a log group streams its events there as they are appended.
  const trailStream = new TrailStream({
    log: eventLog,
    trails,
    logs: logsEngine,
    store: logsStore,
    now: () => deps.clock.now(),
    checkAccess: (trail, groupArn, roleArn) => checkTrailLogsAccess(trailLogsAccess, trail.accountId, groupArn, roleArn),
    logger: logger.child({ component: 'trail-stream' }),
  });
  trailStream.start();
  jobs.every('logs-trail-stream', 1000, () => trailStream.tick());

  // EventBridge: every logged record goes onto its account's default bus as it is appended.
  const eventBus = new EventBusEngine({
    store: new SqliteBusStore(db),
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'events' }),
    ...(telemetry ? { targetFailed: (outcome: FailureOutcome) => telemetry.targetFailure('eventbridge', outcome) } : {}),
    log: eventLog,
    targets: {
      queues: {
        sendMessage: async (arn, body, attrs, from) => {
          await queues.sendMessage(arn, body, undefined, {
            ...(attrs?.MessageGroupId !== undefined ? { groupId: attrs.MessageGroupId } : {}),
            ...(from ? { source: { service: 'events.amazonaws.com', sourceArn: from.ruleArn, sourceAccount: from.accountId } } : {}),
          });
        },
      },
      topics: {
        publish: async (arn, message, from) => {
          await topics.publish(
            arn,
            { message: message.message, ...(message.subject !== undefined ? { subject: message.subject } : {}) },
            from ? { source: { service: 'events.amazonaws.com', sourceArn: from.ruleArn, sourceAccount: from.accountId } } : {},
          );
        },
      },
      // Functions take the target input as JSON; an input that is not JSON (a constant string template) goes as text.
      functions: {
        invoke: async (arn, payload) => {
          let parsed: unknown = payload;
          try {
            parsed = JSON.parse(payload);
          } catch {
            // Not JSON: handed over as the string it is.
          }
          await functions.invoke(arn, parsed);
        },
      },
    },
    // CloudTrail sends data events to EventBridge only when a trail logs them.
    acceptDataEvent: dataEventSelected,
  });
  eventBus.start();
  // S3 event notifications: written to the object store's outbox with each change, then
  // delivered to queues, topics and the bucket owner's default bus.
  const bucketNotifier = new BucketNotifier({
    store: objects,
    targets: {
      Queue: {
        check: async (arn, source) => {
          const queue = queues.findQueueByArn(arn);
          return !queue ? 'missing' : queues.allowsService(queue, source) ? 'ok' : 'denied';
        },
        deliver: async (arn, message, source) => {
          await queues.sendMessage(arn, message, undefined, { source });
        },
      },
      Topic: {
        check: async (arn, source) => {
          const topic = topics.findTopic(arn);
          return !topic ? 'missing' : topics.allowsService(topic, source) ? 'ok' : 'denied';
        },
        deliver: async (arn, message, source) => {
          await topics.publish(arn, { message, subject: SNS_SUBJECT }, { source });
        },
      },
      // Functions (built below, before any request) run when the server has them enabled.
      LambdaFunction: {
        check: async (arn, source) => (!lambda.enabled || !(await lambda.find(arn)) ? 'missing' : lambda.allowsService(arn, source) ? 'ok' : 'denied'),
        deliver: (arn, message, source) => invoker.invokeForService(arn, JSON.parse(message) as unknown, source),
      },
    },
    eventBridge: {
      put: (scope, event) => {
        eventBus.putServiceEvent(scope, event);
      },
    },
    logger: logger.child({ component: 's3-notifications' }),
  });
  objects.use(bucketNotifier.hooks());
  bucketNotifier.start();
  // Schedules fire and failed deliveries are retried by the clock; new events never wait for this.
  jobs.every('events-bus', 1000, () => eventBus.tick());
  // CloudWatch alarms notify SNS topics and put their state changes on the default bus.
  const alarms = new Alarms({
    store: new SqliteAlarmStore(db),
    metrics: metricsEngine,
    clock: deps.clock,
    logger: logger.child({ component: 'alarms' }),
    actions: {
      publish: (topicArn, message) => topics.publish(topicArn, message),
      putEvent: (scope, event) => {
        eventBus.putServiceEvent(scope, event);
      },
    },
  });
  // Alarms are evaluated every second against their latest complete periods, so data
  // arriving late for a period still counts while the period is in the window.
  jobs.every('cloudwatch-alarms', 1000, () => alarms.evaluate(deps.clock.now()));
  jobs.every('cloudwatch-alarm-history-retention', 3_600_000, () => alarms.applyRetention());
  // Events older than the history's 90 days go, once every consumer of the log (trails, the bus) has read them.
  jobs.every('history-retention', 60_000, () =>
    history.purge(deps.clock.now(), Math.min(deliveryEngine.lowestCursor() ?? eventLog.lastSeq(), eventBus.cursor(), trailStream.cursor())),
  );

  // Lambda: functions run as child processes on this machine, only when the operator says so.
  const functionStore = new SqliteFunctionStore(db);
  const lambda = new Functions({
    store: functionStore,
    clock: deps.clock,
    random: deps.random,
    enabled: config.functions === true,
    roleTrustsLambda: (roleArn) => {
      const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
      const role = m?.[1] && m[2] ? identities.findRole(m[1], m[2]) : undefined;
      if (!role || role.arn !== roleArn) return false;
      return serviceAllowed(parsePolicyDocument(role.assumeRolePolicyDocument, 'trust'), {
        source: { service: LAMBDA_SERVICE, sourceArn: '', sourceAccount: role.accountId },
        action: 'sts:AssumeRole',
        resource: role.arn,
        resourceAccountId: role.accountId,
        now: deps.clock.now(),
      });
    },
    // Code from a bucket of the caller's own account in the embedded store.
    readS3Code: async (scope, bucket, key, versionId) => {
      const info = await objects.headBucket(bucket);
      const denied = () => new Error('denied');
      try {
        if (!info || info.owner !== scope.accountId) throw denied();
        return (await objects.getObject(bucket, key, versionId !== undefined ? { versionId } : {})).body;
      } catch {
        throw lambdaErrors.invalidParameter(`Error occurred while GetObject. S3 Error Code: ${info ? 'NoSuchKey' : 'NoSuchBucket'}. S3 Error Message: The specified ${info ? 'key' : 'bucket'} does not exist.`);
      }
    },
    retired: (arn) => invoker.retire(arn),
  });
  await lambda.load(() => functionStore.listFunctions());
  const invoker = new Invoker({
    functions: lambda,
    store: functionStore,
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'lambda' }),
    interpreters: { node: process.execPath, python: config.functions ? await findPython() : undefined },
    codeDir: join(dataDir, 'functions', 'code'),
    endpoint: () => serverEndpoint,
    assumeRole: (roleArn, sessionName, region) =>
      identities.assumeRole(
        { type: 'AWSService', accountId: roleArn.split(':')[4] ?? '', invokedBy: LAMBDA_SERVICE },
        { roleArn, roleSessionName: sessionName, region },
      ),
    writeLog: (scope, groupName, stream, messages) => {
      const logScope = { accountId: scope.accountId, region: scope.region };
      const group = logsEngine.findGroup(logScope, groupName) ?? logsEngine.createLogGroup(logScope, { logGroupName: groupName });
      const at = deps.clock.now();
      logsEngine.ingest(group, stream, messages.map((message) => ({ timestamp: at, message })));
    },
    deadLetter: async (targetArn, payload, failure) => {
      const source = { service: LAMBDA_SERVICE, sourceArn: failure.functionArn, sourceAccount: failure.functionArn.split(':')[4] ?? '' };
      if (targetArn.includes(':sqs:')) await queues.sendMessage(targetArn, payload, undefined, { source });
      else await topics.publish(targetArn, { message: payload }, { source });
    },
  });
  const eventSourceMappings = new EventSourceMappings({
    store: functionStore,
    functions: lambda,
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'lambda-mappings' }),
    queues: sqsMappingSource(queues),
    invoke: (arn, event) => invoker.invokeNow(arn, event),
  });
  jobs.every('lambda-async', 1000, () => invoker.tick());
  jobs.every('lambda-reap', 10_000, () => invoker.reap());
  jobs.every('lambda-mappings', 500, () => eventSourceMappings.tick());

  const pipeline = new RequestPipeline({
    services: [
      cloudtrailService({ trails, history, publicKeys: signingKeys }),
      iamService({ identities, mfa: mfaDevices }),
      stsService({ identities, accountOpen: (accountId) => organizations.accountOpen(accountId) }),
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
        notifications: bucketNotifier,
      }),
      kmsService({ kms, policies: identities }),
      organizationsService({ organizations }),
      sqsService({ queues, endpoint: () => serverEndpoint }),
      snsService({ topics }),
      eventsService({ bus: eventBus }),
      logsService({ logs: logsEngine }),
      cloudwatchService({ metrics: metricsEngine, alarms }),
      lambdaService({ functions: lambda, invoker, mappings: eventSourceMappings }),
      ingestService({ ingestion }),
    ],
    credentials: {
      // The principals of a closed account sign with keys that no longer work.
      resolveAccessKey: (accessKeyId) => {
        const key = identities.resolveAccessKey(accessKeyId);
        return key && !organizations.accountOpen(key.principal.accountId) ? { ...key, active: false } : key;
      },
      noteAccessKeyUsed: (accessKeyId, use) => identities.noteAccessKeyUsed(accessKeyId, use),
    },
    policies: identities,
    serviceControlPolicies: (accountId) => organizations.serviceControlPolicies(accountId),
    eventLog,
    recordsDataEvent: dataEventSelected,
    clock: deps.clock,
    random: deps.random,
    logger: logger.child({ component: 'pipeline' }),
    serverHosts: [config.host],
    publicRoutes: [snsPublicRoute(topics)],
    ...(telemetry ? { telemetry } : {}),
  });
  if (telemetry) {
    telemetry.gauge('cairn_eventlog_last_seq', 'The highest sequence number committed to the event log', [], () => [{ labels: {}, value: eventLog.lastSeq() }]);
    telemetry.gauge(
      'cairn_consumer_lag_events',
      "Events in the log a consumer has not processed yet: each logging trail's delivery, the event bus, the trails' CloudWatch Logs stream",
      ['consumer', 'trail'],
      () => {
        const last = eventLog.lastSeq();
        return [
          ...deliveryEngine.cursors().map((c) => ({ labels: { consumer: 'trail_delivery', trail: c.trailArn }, value: c.idle ? 0 : Math.max(0, last - c.cursor) })),
          { labels: { consumer: 'eventbridge', trail: '' }, value: Math.max(0, last - eventBus.cursor()) },
          { labels: { consumer: 'cloudwatch_logs', trail: '' }, value: Math.max(0, last - trailStream.cursor()) },
        ];
      },
    );
    telemetry.gauge('cairn_queue_depth', 'Work waiting: event-log appends not yet committed, EventBridge target deliveries, SNS deliveries to endpoints and functions', ['queue'], () => [
      { labels: { queue: 'eventlog_appends' }, value: eventLog.stats().pending },
      { labels: { queue: 'eventbridge_targets' }, value: eventBus.pendingDeliveries() },
      { labels: { queue: 'sns_deliveries' }, value: topics.pendingDeliveries() },
    ]);
  }

  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  const listener = createListener({ handler: pipeline, maxBodyBytes: config.maxBodyBytes, logger, ...(tls ? { tls } : {}) });
  const bound = await listener.listen(config.host, config.port);
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  const endpoint = `${tls ? 'https' : 'http'}://${host}:${bound.port}`;
  serverEndpoint = endpoint;
  let operatorEndpoint: string | undefined;
  let operator: ReturnType<typeof createOperatorListener> | undefined;
  let accepting = true;
  if (config.operator) {
    const routes: OperatorRoute[] = [
      ...healthRoutes(() => (!accepting ? 'shutting down' : eventLog.unavailable())),
      ...(telemetry ? [metricsRoute(telemetry)] : []),
    ];
    operator = createOperatorListener({ routes, logger: logger.child({ component: 'operator' }), ...(tls ? { tls } : {}) });
    try {
      const ob = await operator.listen(config.operator.host, config.operator.port);
      operatorEndpoint = `${tls ? 'https' : 'http'}://${ob.host.includes(':') ? `[${ob.host}]` : ob.host}:${ob.port}`;
    } catch (e) {
      await listener.close();
      throw e;
    }
  }
  writeServerAddress(dataDir, { endpoint, host: bound.host, port: bound.port, pid: process.pid, ...(operatorEndpoint ? { operatorEndpoint } : {}) });
  logger.info({ endpoint, ...(operatorEndpoint ? { operatorEndpoint } : {}), dataDir }, 'cairn is listening');

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    accountId: account.accountId,
    accessKeyId: account.accessKeyId,
    secretAccessKey: account.secretAccessKey,
    dataDir,
    ...(operatorEndpoint ? { operatorEndpoint } : {}),
    queues,
    topics,
    functions,
    lambda,
    invoker,
    eventSourceMappings,
    events: eventBus,
    bucketNotifications: bucketNotifier,
    delivery: deliveryEngine,
    digests: digestEngine,
    logs: logsEngine,
    trailStream,
    logMetrics: metricsEngine,
    metrics: metricsEngine,
    alarms,
    runLifecycle: () => lifecycle.run(),
    stop() {
      stopping ??= (async () => {
        // Long polls end at once, so closing the listener does not wait out their wait times.
        accepting = false;
        queues.stop();
        await Promise.all([listener.close(), operator?.close()]);
        await bucketNotifier.stop();
        await topics.stop();
        await jobs.stop();
        await eventSourceMappings.stop();
        await invoker.stop();
        await organizations.stop();
        await deliveryEngine.stop();
        await trailNotifier.idle();
        await digestEngine.stop();
        await eventBus.stop();
        await trailStream.stop();
        await logsEngine.idle();
        external?.close();
        history.close();
        await ingestion.close();
        await eventLog.close();
        await objects.close();
        await stateFlush.close();
        db.close();
        logger.info('cairn stopped');
      })();
      return stopping;
    },
  };
}
