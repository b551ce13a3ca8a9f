/**
 * CloudWatch Logs filter patterns end to end: TestMetricFilter on a table of patterns and
 * log events quoted from AWS's "Filter pattern syntax" pages (terms, phrases, `?` and `-`,
 * regular expressions, JSON selectors, numeric comparisons, `&&`/`||` precedence,
 * space-delimited fields and what they extract), the 15 CIS monitoring filters against
 * CloudTrail records that must and must not match, patterns AWS refuses, and a pathological
 * regular expression on a long line. Most calls are raw signed JSON requests (fast); a few
 * go through the stock `aws logs test-metric-filter`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIS_METRIC_FILTERS } from '../src/logs/cis-filters.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { signRequest } from './support/sign.js';

let cairn: TestCairn;

beforeAll(async () => {
  cairn = await startCairn();
});
afterAll(async () => {
  await cairn.stop();
});

interface Match {
  eventNumber: number;
  eventMessage: string;
  extractedValues: Record<string, string>;
}

/** A raw AWS JSON 1.1 call to CloudWatch Logs, signed like the SDK signs it. */
async function call(operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const signed = await signRequest(cairn.endpoint, cairn.root, {
    service: 'logs',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${operation}` },
    body: JSON.stringify(body),
  });
  const res = await fetch(signed.url, { method: signed.method, headers: signed.headers, ...(signed.body !== undefined ? { body: signed.body } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function testPattern(filterPattern: string, logEventMessages: string[]): Promise<Match[]> {
  const { status, json } = await call('TestMetricFilter', { filterPattern, logEventMessages });
  expect(status, JSON.stringify(json)).toBe(200);
  return json.matches as Match[];
}

// ---------------------------------------------------------------- the documentation's events

const UNSTRUCTURED = [
  '[ERROR 400] BAD REQUEST',
  '[ERROR 401] UNAUTHORIZED REQUEST',
  '[ERROR 419] MISSING ARGUMENTS',
  '[ERROR 420] INVALID ARGUMENTS',
  '[ERROR 500] INTERNAL SERVER ERROR',
  '[INFO] REQUEST FAILED',
  '[WARN] UNAUTHORIZED REQUEST',
  '[SUCCESS 200] AUTHORIZED REQUEST',
];
const OR_LINES = ['ERROR WARN message', 'ERROR message', 'WARN message'];
const OLD_TERMS = [
  '[ERROR] A fatal exception has occurred',
  'Exiting with ERRORCODE: -1',
  '[ERROR] Caught IllegalArgumentException',
  '[ERROR] Unhandled Exception',
  '[WARN] Failed to process the request',
  '[ERROR] Unable to continue: Failed to process the request',
];
const JSON_EVENT = JSON.stringify({
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  ThisFlag: true,
  'cluster.name': 'c',
});
const COMPOUND_EVENT = JSON.stringify({
  user: { id: 1, email: 'John.Stiles@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1, 2],
    [4, 5, 6],
    [7, 8, 9],
  ],
});
const NUMBERS_EVENT = JSON.stringify({
  latency: 1200,
  numbers: [5, 2],
  number: [1000],
  processes: [{}, {}, {}, {}, { averageRuntime: 55.5 }],
  errorCode: 400,
  bandwidth: 80,
  refreshRate: 60,
  responseTime: 5,
});
const APACHE = [
  '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
  '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
  '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
];
const SPACE_EVENT = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534';
const SERVICE_LINES = [
  'INFO 09/25/2014 12:00:00 GET /service/resource/67 1200',
  'INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310',
  'WARNING 09/25/2014 12:00:02 Invalid user request',
  'ERROR 09/25/2014 12:00:02 Failed to process request',
];

/** [pattern, events, the 1-based numbers of the events that match]. */
const TABLE: [string, string[], number[]][] = [
  // Unstructured log events: terms, phrases, optional and excluded terms.
  ['ERROR', UNSTRUCTURED, [1, 2, 3, 4, 5]],
  ['ERROR ARGUMENTS', UNSTRUCTURED, [3, 4]],
  ['?ERROR ?ARGUMENTS', UNSTRUCTURED, [1, 2, 3, 4, 5]],
  ['?ERROR ?ARGUMENTS REQUEST', UNSTRUCTURED, [1, 2, 6, 7, 8]],
  ['"INTERNAL SERVER ERROR"', UNSTRUCTURED, [5]],
  ['ERROR -ARGUMENTS', UNSTRUCTURED, [1, 2, 5]],
  ['" "', UNSTRUCTURED, [1, 2, 3, 4, 5, 6, 7, 8]],
  ['', ['anything at all'], [1]],
  ['%AUTHORIZED%', UNSTRUCTURED, [2, 7, 8]],
  ['?ERROR ?WARN', OR_LINES, [1, 2, 3]],
  ['ERROR WARN', OR_LINES, [1]],
  ['ERROR -WARN', OR_LINES, [2]],
  ['ERROR', OLD_TERMS, [1, 2, 3, 4, 6]],
  ['"ERROR" - "Exiting"', OLD_TERMS, [1, 3, 4, 6]],
  ['ERROR Exception', OLD_TERMS, [3, 4]],
  ['Failed to process the request', OLD_TERMS, [5, 6]],
  // Regular expressions.
  ['%^[hc]at%', ['hat', 'cat', 'that'], [1, 2]],
  ['%[hc]at$%', ['hat', 'cat', 'hats'], [1, 2]],
  ['%colou?r%', ['color', 'colour', 'colr'], [1, 2]],
  ['%[abcx-z]%', ['y', 'd'], [1]],
  ['%a{3,5}%', ['aa', 'aaa', 'aaaaa'], [2, 3]],
  ['%gra|ey%', ['gray', 'grey', 'green'], [1, 2]],
  ['%^starting|^initializing|^shutting down%', ['starting now', 'initializing cache', 'shutting down', 'skipping initializing cache'], [1, 2, 3]],
  ['%\\[.\\]%', ['[a]', '[7]', '[@]', '[]'], [1, 2, 3]],
  ['%10\\.10\\.0\\.1%', ['10.10.0.1', '10010,051'], [1]],
  ['%10.10.0.1%', ['10010,051'], [1]],
  ['%ab*c%', ['ac', 'abc', 'abbbc', 'adc'], [1, 2, 3]],
  ['%ab+c%', ['ac', 'abc', 'abbc'], [2, 3]],
  ['%.at%', ['hat', '#at', ' at', 'at'], [1, 2, 3]],
  ['%\\d%', ['abc', 'a1c'], [2]],
  ['%\\x3A%', ['a:b', 'ab'], [1]],
  ['%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%', ['from 192.168.0.1', 'from localhost'], [1]],
  ['%[Ee]rror|[Ff]ail%', ['Error here', 'it will fail', 'ok'], [1, 2]],
  // JSON log events: strings, arrays, IS, NOT EXISTS, regex and wildcard selectors.
  ['{ $.eventType = "UpdateTrail" }', [JSON_EVENT], [1]],
  ['{ $.sourceIPAddress != 123.123.* }', [JSON_EVENT], [1]],
  ['{ $.arrayKey[0] = "value" }', [JSON_EVENT], [1]],
  ['{ $.arrayKey[1] = "value" }', [JSON_EVENT], []],
  ['{ $.objectList[1].id = 2 }', [JSON_EVENT], [1]],
  ['{ $.SomeObject IS NULL }', [JSON_EVENT], [1]],
  ['{ $.SomeOtherObject NOT EXISTS }', [JSON_EVENT], [1]],
  ['{ $.ThisFlag IS TRUE }', [JSON_EVENT], [1]],
  ['{ $.ThisFlag IS FALSE }', [JSON_EVENT], []],
  ['{ $.eventType = %Trail% }', [JSON_EVENT], [1]],
  ['{ $.arrayKey[*] = %val.{2}% }', [JSON_EVENT], [1]],
  ['{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }', [JSON_EVENT], [1]],
  ["{ $.['cluster.name'] = \"c\" }", [JSON_EVENT], [1]],
  ['{ $.eventType = "*Trail" }', [JSON_EVENT], [1]],
  ['{ $.eventType = "Update*" }', [JSON_EVENT], [1]],
  ['{ $.eventType = "Up*Trail" }', [JSON_EVENT], []],
  ['{$.foo = bar}', ['{"foo": "bar"}', '{"foo": "baz"}'], [1]],
  ['{$.foo = baz }', ['{"foo": "bar"}', '{"foo": "baz"}'], [2]],
  ['{$.foo = bar || $.foo = baz }', ['{"foo": "bar"}', '{"foo": "baz"}'], [1, 2]],
  ['{$.users = 1}', ['{"users": [1, 2, 3]}'], []],
  ['{$.users != 1}', ['{"users": [1, 2, 3]}'], []],
  // Compound expressions: && binds tighter than ||.
  ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', [COMPOUND_EVENT], [1]],
  ['{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }', [COMPOUND_EVENT], [1]],
  ['{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }', [COMPOUND_EVENT], []],
  ['{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', [COMPOUND_EVENT], []],
  ['{ $.coordinates[2][0] = 7 && $.actions[1] = PUT }', [COMPOUND_EVENT], [1]],
  // Numeric comparisons, signs and exponents.
  ['{ $.latency >= 500 }', [NUMBERS_EVENT], [1]],
  ['{ $.numbers[0] < 10e3 }', [NUMBERS_EVENT], [1]],
  ['{ $.numbers[0] < 10e-3 }', [NUMBERS_EVENT], []],
  ['{ $.processes[4].averageRuntime <= 55.5 }', [NUMBERS_EVENT], [1]],
  ['{ $.errorCode = 400 }', [NUMBERS_EVENT], [1]],
  ['{ $.errorCode != 500 }', [NUMBERS_EVENT], [1]],
  ['{ $.latency > +1000 }', [NUMBERS_EVENT], [1]],
  ['{ $.bandwidth > 75 }', [NUMBERS_EVENT], [1]],
  ['{ $.latency < 50 }', [NUMBERS_EVENT], []],
  ['{ $.refreshRate >= 60 }', [NUMBERS_EVENT], [1]],
  ['{ $.responseTime <= 5 }', [NUMBERS_EVENT], [1]],
  ['{ $.number[0] = 1e+3 }', [NUMBERS_EVENT], [1]],
  ['{ $.number[0] != 1e-3 }', [NUMBERS_EVENT], [1]],
  ['{ $.latency = * }', [NUMBERS_EVENT, '{"other": 1}'], [1]],
  // Space-delimited log events.
  ['[ip, user, username, timestamp, request, status_code, bytes]', APACHE, [1, 2, 3]],
  ['[..., status_code, bytes]', APACHE, [1, 2, 3]],
  ['[ip, user, ..., status_code, bytes]', APACHE, [1, 2, 3]],
  ['[ip, user, ...]', APACHE, [1, 2, 3]],
  ['[ip, user, username, timestamp, request, status_code, bytes > 5000]', APACHE, [2]],
  ['[ip, user, username, timestamp, request, status_code = 200, bytes]', APACHE, [1, 3]],
  ['[ip, user, username, timestamp, request, status_code = 5*, bytes]', APACHE, [2]],
  ['[ip, user, username, timestamp, request = *gif*, status_code = 2* && status_code != 201, bytes]', APACHE, [1, 3]],
  ['[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]', [SPACE_EVENT], [1]],
  ['[..., request =*.html*, status_code = 4*, bytes]', [SPACE_EVENT], [1]],
  ['[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]', [SPACE_EVENT], [1]],
  ['[w1=ERROR, w2]', SERVICE_LINES, [4]],
  ['[w1=ERROR || w1=WARNING, w2]', SERVICE_LINES, [3, 4]],
  ['[w1!=ERROR && w1!=WARNING, w2]', SERVICE_LINES, [1, 2]],
  ['[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]', SERVICE_LINES, [1]],
  ['[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]', SERVICE_LINES, [2]],
];

describe('the documentation examples', () => {
  it(`has at least 60 patterns`, () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(60);
  });

  it.each(TABLE)('%s', async (pattern, events, expected) => {
    const matches = await testPattern(pattern, events);
    expect(matches.map((m) => m.eventNumber)).toEqual(expected);
    for (const m of matches) expect(m.eventMessage).toBe(events[m.eventNumber - 1]);
  });

  it('extracts space-delimited fields by name and by position', async () => {
    const [match] = await testPattern('[..., request=*.html*, status_code=4*,]', [SPACE_EVENT]);
    expect(match?.extractedValues).toEqual({
      $1: '127.0.0.1',
      $2: 'Prod',
      $3: 'frank',
      $4: '10/Oct/2000:13:25:15 -0700',
      $request: 'GET /index.html HTTP/1.0',
      $status_code: '404',
      $7: '1534',
    });
    const [json] = await testPattern('{ $.eventType = "UpdateTrail" }', [JSON_EVENT]);
    expect(json?.extractedValues).toEqual({});
  });

  it('answers the stock AWS CLI the same way', async () => {
    const out = await cairn.awsJson<{ matches: Match[] }>([
      'logs',
      'test-metric-filter',
      '--filter-pattern',
      '[ip, user, username, timestamp, request, status_code = 5*, bytes]',
      '--log-event-messages',
      ...APACHE,
    ]);
    expect(out.matches).toEqual([
      {
        eventNumber: 2,
        eventMessage: APACHE[1],
        extractedValues: {
          $ip: '127.0.0.1',
          $user: '-',
          $username: 'frank',
          $timestamp: '10/Oct/2000:13:35:22 -0700',
          $request: 'GET /apache_pb.gif HTTP/1.0',
          $status_code: '500',
          $bytes: '5324',
        },
      },
    ]);
    const json = await cairn.awsJson<{ matches: Match[] }>([
      'logs',
      'test-metric-filter',
      '--filter-pattern',
      '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }',
      '--log-event-messages',
      COMPOUND_EVENT,
    ]);
    expect(json.matches.map((m) => m.eventNumber)).toEqual([1]);
  });
});

// ---------------------------------------------------------------- the CIS monitoring filters

/** A CloudTrail record with the fields the CIS filters read. */
function record(fields: Record<string, unknown>): string {
  return JSON.stringify({
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012', userName: 'alice' },
    eventTime: '2026-03-01T12:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: null,
    responseElements: null,
    eventType: 'AwsApiCall',
    recipientAccountId: '123456789012',
    ...fields,
  });
}

const root = { type: 'Root', principalId: '123456789012', arn: 'arn:aws:iam::123456789012:root', accountId: '123456789012' };

/** For each control: records that must match, and close calls that must not. */
const CIS_CASES: Record<string, { match: string[]; miss: string[] }> = {
  'CloudWatch.1': {
    match: [record({ userIdentity: root, eventName: 'ListBuckets', eventSource: 's3.amazonaws.com' })],
    miss: [
      record({ userIdentity: { ...root, invokedBy: 'support.amazonaws.com' } }),
      record({ userIdentity: root, eventType: 'AwsServiceEvent' }),
      record({}),
    ],
  },
  'CloudWatch.2': {
    match: [record({ errorCode: 'Client.UnauthorizedOperation' }), record({ errorCode: 'AccessDenied' }), record({ errorCode: 'AccessDeniedException' })],
    miss: [record({ errorCode: 'ThrottlingException' }), record({})],
  },
  'CloudWatch.3': {
    match: [record({ eventName: 'ConsoleLogin', eventSource: 'signin.amazonaws.com', additionalEventData: { MFAUsed: 'No' } })],
    miss: [record({ eventName: 'ConsoleLogin', eventSource: 'signin.amazonaws.com', additionalEventData: { MFAUsed: 'Yes' } }), record({ eventName: 'GetUser' })],
  },
  'CloudWatch.4': {
    match: [record({ eventName: 'PutRolePolicy', eventSource: 'iam.amazonaws.com' }), record({ eventName: 'DetachGroupPolicy', eventSource: 'iam.amazonaws.com' })],
    miss: [record({ eventName: 'GetRolePolicy', eventSource: 'iam.amazonaws.com' }), record({ eventName: 'PutRolePermissionsBoundary' })],
  },
  'CloudWatch.5': {
    match: [record({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' }), record({ eventName: 'UpdateTrail', eventSource: 'cloudtrail.amazonaws.com' })],
    miss: [record({ eventName: 'DescribeTrails', eventSource: 'cloudtrail.amazonaws.com' }), record({ eventName: 'GetTrailStatus' })],
  },
  'CloudWatch.6': {
    match: [record({ eventName: 'ConsoleLogin', errorMessage: 'Failed authentication' })],
    miss: [record({ eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' } }), record({ eventName: 'AssumeRole', errorMessage: 'Failed authentication' })],
  },
  'CloudWatch.7': {
    match: [record({ eventSource: 'kms.amazonaws.com', eventName: 'DisableKey' }), record({ eventSource: 'kms.amazonaws.com', eventName: 'ScheduleKeyDeletion' })],
    miss: [record({ eventSource: 'kms.amazonaws.com', eventName: 'EnableKey' }), record({ eventSource: 'ec2.amazonaws.com', eventName: 'DisableKey' })],
  },
  'CloudWatch.8': {
    match: [record({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy' }), record({ eventSource: 's3.amazonaws.com', eventName: 'DeleteBucketCors' })],
    miss: [record({ eventSource: 's3.amazonaws.com', eventName: 'GetBucketPolicy' }), record({ eventSource: 'sqs.amazonaws.com', eventName: 'PutBucketPolicy' })],
  },
  'CloudWatch.9': {
    match: [record({ eventSource: 'config.amazonaws.com', eventName: 'StopConfigurationRecorder' })],
    miss: [record({ eventSource: 'config.amazonaws.com', eventName: 'StartConfigurationRecorder' })],
  },
  'CloudWatch.10': {
    match: [record({ eventName: 'AuthorizeSecurityGroupIngress' }), record({ eventName: 'DeleteSecurityGroup' })],
    miss: [record({ eventName: 'DescribeSecurityGroups' })],
  },
  'CloudWatch.11': {
    match: [record({ eventName: 'CreateNetworkAclEntry' }), record({ eventName: 'ReplaceNetworkAclAssociation' })],
    miss: [record({ eventName: 'DescribeNetworkAcls' })],
  },
  'CloudWatch.12': {
    match: [record({ eventName: 'AttachInternetGateway' }), record({ eventName: 'DeleteCustomerGateway' })],
    miss: [record({ eventName: 'CreateNatGateway' })],
  },
  'CloudWatch.13': {
    match: [record({ eventName: 'CreateRoute' }), record({ eventName: 'DisassociateRouteTable' })],
    miss: [record({ eventName: 'DescribeRouteTables' }), record({ eventSource: 'iam.amazonaws.com', eventName: 'CreateRoute' })],
  },
  'CloudWatch.14': {
    match: [record({ eventName: 'CreateVpc' }), record({ eventName: 'EnableVpcClassicLink' })],
    miss: [record({ eventName: 'DescribeVpcs' }), record({ eventName: 'CreateVpcEndpoint' })],
  },
  'CIS 4.15': {
    match: [record({ eventSource: 'organizations.amazonaws.com', eventName: 'LeaveOrganization' })],
    miss: [record({ eventSource: 'organizations.amazonaws.com', eventName: 'DescribeOrganization' }), record({ eventName: 'CreateAccount' })],
  },
};

describe('the CIS AWS Foundations Benchmark filters', () => {
  it.each(CIS_METRIC_FILTERS.map((f) => [f.control, f.title, f.pattern] as const))('%s %s', async (control, _title, pattern) => {
    const cases = CIS_CASES[control];
    expect(cases, control).toBeDefined();
    if (!cases) return;
    const events = [...cases.match, ...cases.miss];
    const matches = await testPattern(pattern, events);
    expect(matches.map((m) => m.eventNumber)).toEqual(cases.match.map((_, i) => i + 1));
  });
});

// ---------------------------------------------------------------- refused patterns and bounded evaluation

describe('patterns CloudWatch Logs refuses', () => {
  it.each([
    '{ $.eventName = }',
    '{ $.eventName == "x" }',
    '{ eventName = "x" }',
    '{ $.a IS NOT NULL }',
    '{ $.a EXISTS }',
    '{ $.latency > slow }',
    '{ ($.a = 1 }',
    '{ $.a = 1',
    '{ $.*.b[*] = 1 }',
    '{ $.a = %x% || $.b = %y% || $.c = %z% }',
    '%something!%',
    '%(abc)%',
    '%a**%',
    '[a, b',
    '[a, a]',
    '[a, b = 1 && c = 2]',
    '"unterminated phrase',
  ])('%s', async (filterPattern) => {
    const { status, json } = await call('TestMetricFilter', { filterPattern, logEventMessages: ['x'] });
    expect(status).toBe(400);
    expect(json.__type).toContain('InvalidParameterException');
    expect(String(json.message)).toMatch(/^Invalid metric filter pattern/);
  });

  it('says so through the stock AWS CLI', async () => {
    const out = await cairn.aws(['logs', 'test-metric-filter', '--filter-pattern', '{ $.a = ', '--log-event-messages', 'x']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('InvalidParameterException');
  });
});

describe('bounded evaluation', () => {
  it('answers a pathological regular expression on a long line quickly', async () => {
    const line = 'a'.repeat(100_000);
    const started = performance.now();
    const matches = await testPattern('%a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b%', [line, `${line}b`]);
    expect(matches.map((m) => m.eventNumber)).toEqual([2]);
    expect(performance.now() - started).toBeLessThan(3_000);
    const json = await testPattern('{ $.a = %x*x*x*x*x*x*y% }', [JSON.stringify({ a: 'x'.repeat(100_000) })]);
    expect(json).toEqual([]);
  });
});
