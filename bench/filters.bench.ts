/**
 * Filter patterns: how many CloudTrail records per second one core runs through the 15
 * CIS monitoring filters (each record's JSON parsed once, every filter evaluated on the
 * parsed object), next to the rate of a bare `JSON.parse` of the same lines measured in
 * the same run. Size: BENCH_FILTER_EVENTS (default 50000 records of about 1 KB).
 */
import { CIS_METRIC_FILTERS } from '../src/logs/cis-filters.js';
import { compileFilterPattern, LogLine } from '../src/logs/pattern/pattern.js';
import { report } from './support.js';

const EVENTS = Number(process.env.BENCH_FILTER_EVENTS ?? 50_000);
const ROUNDS = 7;

const NAMES = [
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress'],
  ['ec2.amazonaws.com', 'CreateRoute'],
  ['iam.amazonaws.com', 'PutRolePolicy'],
  ['s3.amazonaws.com', 'GetObject'],
  ['s3.amazonaws.com', 'PutBucketPolicy'],
  ['kms.amazonaws.com', 'Decrypt'],
  ['cloudtrail.amazonaws.com', 'DescribeTrails'],
  ['signin.amazonaws.com', 'ConsoleLogin'],
  ['sts.amazonaws.com', 'AssumeRole'],
] as const;

/** CloudTrail-shaped records of about 1 KB, a few of them errors or root calls. */
function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const [eventSource, eventName] = NAMES[i % NAMES.length] ?? NAMES[0];
    return JSON.stringify({
      eventVersion: '1.11',
      userIdentity:
        i % 97 === 0
          ? { type: 'Root', principalId: '123456789012', arn: 'arn:aws:iam::123456789012:root', accountId: '123456789012' }
          : { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::123456789012:user/user-${i % 13}`, accountId: '123456789012', userName: `user-${i % 13}` },
      eventTime: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource,
      eventName,
      awsRegion: 'us-east-1',
      sourceIPAddress: `203.0.113.${i % 250}`,
      userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
      ...(i % 31 === 0 ? { errorCode: 'AccessDenied', errorMessage: 'User is not authorized to perform this operation' } : {}),
      requestParameters: { resourceId: `r-${i.toString(16).padStart(12, '0')}`, filter: 'x'.repeat(400) },
      responseElements: null,
      additionalEventData: eventName === 'ConsoleLogin' ? { MFAUsed: i % 2 === 0 ? 'Yes' : 'No' } : undefined,
      requestID: `req-${i}`,
      eventID: `evt-${i}`,
      readOnly: eventName.startsWith('Describe') || eventName.startsWith('Get'),
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '123456789012',
      eventCategory: 'Management',
    });
  });
}

/** One timed pass of `fn` over the lines, in lines per second. */
function pass(input: string[], fn: (line: string) => void): number {
  const started = performance.now();
  for (const line of input) fn(line);
  return input.length / ((performance.now() - started) / 1000);
}

/**
 * The best rate of each of two workloads over ROUNDS passes, taken in turns so that load
 * from elsewhere on the machine and GC weigh on both alike.
 */
function rates(input: string[], a: (line: string) => void, b: (line: string) => void): [number, number] {
  let bestA = 0;
  let bestB = 0;
  for (let r = 0; r < ROUNDS; r++) {
    bestA = Math.max(bestA, pass(input, a));
    bestB = Math.max(bestB, pass(input, b));
  }
  return [bestA, bestB];
}

export async function run(): Promise<void> {
  const input = lines(EVENTS);
  const filters = CIS_METRIC_FILTERS.map((f) => compileFilterPattern(f.pattern));
  let sink = 0;
  // Warm both paths up before measuring either.
  for (const line of input.slice(0, 2_000)) {
    sink += JSON.parse(line) ? 1 : 0;
    const l = new LogLine(line);
    for (const f of filters) if (f.test(l)) sink++;
  }
  let matched = 0;
  const [parseRate, filterRate] = rates(
    input,
    (line) => {
      if (JSON.parse(line)) sink++;
    },
    (line) => {
      const l = new LogLine(line);
      for (const f of filters) if (f.test(l)) matched++;
    },
  );
  const bytes = input.reduce((n, l) => n + l.length, 0) / input.length;
  report('CIS filters over CloudTrail records (one core)', {
    'records': input.length,
    'mean record size (chars)': Math.round(bytes),
    'filters per record': filters.length,
    'bare JSON.parse (records/s)': Math.round(parseRate),
    '15 CIS filters incl. parse (records/s)': Math.round(filterRate),
    'fraction of bare JSON.parse': (filterRate / parseRate).toFixed(2),
    'matches per pass': Math.round(matched / ROUNDS),
  });
  if (sink < 0) console.log(sink);
}
