/**
 * Call to alarm: how long from a denied API call until the CIS "unauthorized API calls"
 * alarm is in ALARM, and until CloudWatch's alarm message is in an SQS queue through SNS.
 * The whole path is real: the call is recorded, the trail streams it into its log group,
 * the metric filter counts it, the alarm (Sum >= 1 over a 10-second period, missing data
 * not breaching) is evaluated by the server's own job on the wall clock, and the topic
 * delivers to the queue. An alarm cannot fire before its period closes, so the figure
 * includes on average half a period of waiting. Trials: BENCH_ALARM_TRIALS (default 3).
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { cloudTrailBucketPolicy } from '../src/trails/delivery-access.js';
import { startCairn, type Credentials, type TestCairn } from '../test/support/cairn.js';
import { send, signRequest } from '../test/support/sign.js';
import { report } from './support.js';

const TRIALS = Number(process.env.BENCH_ALARM_TRIALS ?? 3);
const PERIOD_SECONDS = 10;
const ALARM = 'unauthorized-api-calls';

async function setUp(cairn: TestCairn, sqs: SQSClient): Promise<{ queueUrl: string; intruder: Credentials }> {
  const accountId = cairn.server.accountId;
  const json = cairn.awsJson.bind(cairn);
  await json(['s3api', 'create-bucket', '--bucket', 'bench-trail']);
  await json(['s3api', 'put-bucket-policy', '--bucket', 'bench-trail', '--policy', cloudTrailBucketPolicy({ bucket: 'bench-trail', accountId })]);
  await json(['logs', 'create-log-group', '--log-group-name', 'CloudTrail/bench']);
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
  const role = await json<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'BenchTrailLogs', '--assume-role-policy-document', trust]);
  await json(['iam', 'put-role-policy', '--role-name', 'BenchTrailLogs', '--policy-name', 'logs', '--policy-document', JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/bench:*` }],
  })]);
  await json(['cloudtrail', 'create-trail', '--name', 'bench', '--s3-bucket-name', 'bench-trail',
    '--cloud-watch-logs-log-group-arn', `arn:aws:logs:us-east-1:${accountId}:log-group:CloudTrail/bench:*`, '--cloud-watch-logs-role-arn', role.Role.Arn]);
  await json(['cloudtrail', 'start-logging', '--name', 'bench']);
  await json(['logs', 'put-metric-filter', '--log-group-name', 'CloudTrail/bench', '--filter-name', 'unauthorized',
    '--filter-pattern', '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    '--metric-transformations', 'metricName=UnauthorizedAPICalls,metricNamespace=CISBenchmark,metricValue=1']);
  const topicArn = (await json<{ TopicArn: string }>(['sns', 'create-topic', '--name', 'bench-alarms', '--endpoint-url', cairn.endpoint])).TopicArn;
  const queueArn = `arn:aws:sqs:us-east-1:${accountId}:bench-alarms`;
  const Policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': topicArn } } }],
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-alarms', Attributes: { Policy } }));
  await json(['sns', 'subscribe', '--topic-arn', topicArn, '--protocol', 'sqs', '--notification-endpoint', queueArn, '--endpoint-url', cairn.endpoint]);
  await json(['cloudwatch', 'put-metric-alarm', '--alarm-name', ALARM, '--namespace', 'CISBenchmark', '--metric-name', 'UnauthorizedAPICalls', '--statistic', 'Sum',
    '--period', String(PERIOD_SECONDS), '--evaluation-periods', '1', '--threshold', '1', '--comparison-operator', 'GreaterThanOrEqualToThreshold',
    '--treat-missing-data', 'notBreaching', '--alarm-actions', topicArn]);
  await json(['iam', 'create-user', '--user-name', 'intruder']);
  const key = await json<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', 'intruder']);
  return { queueUrl: QueueUrl ?? '', intruder: { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs the trials and prints the latencies. */
export async function run(): Promise<void> {
  const cairn = await startCairn();
  const sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, maxAttempts: 1 });
  try {
    const { queueUrl, intruder } = await setUp(cairn, sqs);
    const scope = { accountId: cairn.server.accountId, region: 'us-east-1' };
    const toAlarm: number[] = [];
    const toMessage: number[] = [];
    const afterClose: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      // Start from OK: a quiet period must have passed since the last denied call.
      await until(() => cairn.server.alarms.get(scope, ALARM)?.state.value === 'OK', 3 * PERIOD_SECONDS * 1000);
      // A call at a random point of the period, as calls come.
      await sleep(Math.random() * PERIOD_SECONDS * 1000);
      const started = performance.now();
      const periodMs = PERIOD_SECONDS * 1000;
      const closes = started + (Math.ceil(Date.now() / periodMs) * periodMs - Date.now());
      const denied = await send(await signRequest(cairn.endpoint, intruder, { service: 'iam', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=ListUsers&Version=2010-05-08' }));
      if (denied.status !== 403) throw new Error(`expected a denied call, got ${denied.status}`);
      await until(() => cairn.server.alarms.get(scope, ALARM)?.state.value === 'ALARM', 3 * PERIOD_SECONDS * 1000);
      toAlarm.push(performance.now() - started);
      afterClose.push(performance.now() - closes);
      let received = false;
      while (!received) {
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
        for (const m of got.Messages ?? []) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle ?? '' }));
          const message = JSON.parse((JSON.parse(m.Body ?? '{}') as { Message: string }).Message) as { NewStateValue?: string };
          if (message.NewStateValue === 'ALARM') received = true;
        }
        if (performance.now() - started > 60_000) throw new Error('no alarm message arrived');
      }
      toMessage.push(performance.now() - started);
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    report(`CIS unauthorized-calls alarm, ${PERIOD_SECONDS}-second period (${TRIALS} trials, in-process server, wall clock)`, {
      'denied call -> alarm in ALARM (median)': s(median(toAlarm)),
      'denied call -> alarm in ALARM (max)': s(Math.max(...toAlarm)),
      'denied call -> message in SQS via SNS (median)': s(median(toMessage)),
      'denied call -> message in SQS via SNS (max)': s(Math.max(...toMessage)),
      'period close -> alarm in ALARM (median)': s(median(afterClose)),
      'period close -> alarm in ALARM (max)': s(Math.max(...afterClose)),
    });
  } finally {
    sqs.destroy();
    await cairn.stop();
  }
}
