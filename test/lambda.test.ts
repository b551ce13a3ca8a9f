/**
 * Functions end to end with the stock `aws lambda` commands and boto3: Node and Python
 * functions created from zips built here, invoked warm and cold, with their errors
 * (a throwing handler, a timeout, a function out of memory) reported as Lambda reports
 * them, their logs in CloudWatch Logs, their environment free of the server's, the
 * execution role's credentials inside, and a server started without `--functions`
 * refusing to take code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, tempDir, type TestCairn } from './support/cairn.js';

let cairn: TestCairn;
let accountId: string;
let roleArn: string;
const work = tempDir('cairn-lambda-');

/** Writes a zip of `files` and returns its path for `--zip-file fileb://`. */
function zipOf(name: string, files: Record<string, string>): string {
  const path = join(work, `${name}.zip`);
  writeFileSync(path, zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)]))));
  return path;
}

const lambda = <T = Record<string, unknown>>(args: string[]) => cairn.awsJson<T>(['lambda', ...args, '--endpoint-url', cairn.endpoint]);
const lambdaRaw = (args: string[]) => cairn.aws(['lambda', ...args, '--endpoint-url', cairn.endpoint]);

async function createFunction(name: string, runtime: string, handler: string, files: Record<string, string>, extra: string[] = []): Promise<Record<string, unknown>> {
  return lambda(['create-function', '--function-name', name, '--runtime', runtime, '--handler', handler, '--role', roleArn, '--zip-file', `fileb://${zipOf(name, files)}`, ...extra]);
}

/** Invokes with the CLI; returns the invoke output and the payload the CLI wrote. */
async function invoke(name: string, payload: unknown, extra: string[] = []): Promise<{ out: Record<string, unknown>; payload: unknown }> {
  const outFile = join(work, `${name}-${Math.random().toString(36).slice(2)}.json`);
  const out = await lambda(['invoke', '--function-name', name, '--payload', JSON.stringify(payload), ...extra, outFile]);
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(outFile, 'utf8');
  return { out, payload: text ? (JSON.parse(text) as unknown) : undefined };
}

beforeAll(async () => {
  process.env.CAIRN_TEST_SECRET = 'server-secret-value';
  cairn = await startCairn({ config: { functions: true } });
  accountId = cairn.server.accountId;
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
  const role = await cairn.awsJson<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'fn-exec', '--assume-role-policy-document', trust]);
  roleArn = role.Role.Arn;
  await cairn.awsJson(['iam', 'put-role-policy', '--role-name', 'fn-exec', '--policy-name', 'all', '--policy-document', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })]);
});
afterAll(async () => {
  delete process.env.CAIRN_TEST_SECRET;
  await cairn.stop();
});

describe('a Node.js function', () => {
  it('is created from a zip, invoked with aws lambda invoke, and answers', async () => {
    const created = await createFunction('hello-node', 'nodejs20.x', 'index.handler', {
      'index.mjs': 'export const handler = async (event, context) => ({ got: event, fn: context.functionName, remaining: context.getRemainingTimeInMillis() > 0 });',
    });
    expect(created).toMatchObject({ FunctionName: 'hello-node', Runtime: 'nodejs20.x', Handler: 'index.handler', Version: '$LATEST', State: 'Active', FunctionArn: `arn:aws:lambda:us-east-1:${accountId}:function:hello-node` });
    const { out, payload } = await invoke('hello-node', { a: 1 });
    expect(out).toMatchObject({ StatusCode: 200, ExecutedVersion: '$LATEST' });
    expect(out.FunctionError).toBeUndefined();
    expect(payload).toEqual({ got: { a: 1 }, fn: 'hello-node', remaining: true });
  });

  it('reports a handler that throws as an Unhandled function error, with the log tail', async () => {
    await createFunction('throws-node', 'nodejs20.x', 'index.handler', { 'index.js': 'exports.handler = async () => { console.log("about to fail"); throw new TypeError("boom"); };' });
    const { out, payload } = await invoke('throws-node', {}, ['--log-type', 'Tail']);
    expect(out.FunctionError).toBe('Unhandled');
    expect(payload).toMatchObject({ errorType: 'TypeError', errorMessage: 'boom' });
    const log = Buffer.from(String(out.LogResult), 'base64').toString('utf8');
    expect(log).toMatch(/START RequestId: [0-9a-f-]+ Version: \$LATEST/);
    expect(log).toContain('about to fail');
    expect(log).toMatch(/REPORT RequestId: .*Duration: .* ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB/);
  });

  it('is stopped at its timeout and reported as Lambda reports a timeout', async () => {
    await createFunction('slow-node', 'nodejs20.x', 'index.handler', { 'index.js': 'exports.handler = () => new Promise(() => {});' }, ['--timeout', '1']);
    const started = Date.now();
    const { out, payload } = await invoke('slow-node', {});
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(out.FunctionError).toBe('Unhandled');
    expect(payload).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect((payload as { errorMessage: string }).errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
  });

  it('running out of memory ends the instance, reported as Lambda reports it', async () => {
    await createFunction('hog-node', 'nodejs20.x', 'index.handler', {
      'index.js': 'exports.handler = async () => { const keep = []; for (;;) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); };',
    }, ['--memory-size', '128', '--timeout', '20']);
    const { out, payload } = await invoke('hog-node', {});
    expect(out.FunctionError).toBe('Unhandled');
    expect(payload).toMatchObject({ errorType: 'Runtime.OutOfMemory' });
    // The next invocation gets a new instance and works as before (here: fails the same way, not stuck).
  }, 30_000);
});

describe('a Python function', () => {
  it('is created from a zip and uses boto3 as its execution role against Cairn', async () => {
    await createFunction('whoami-py', 'python3.11', 'app.handler', {
      'app.py': [
        'import boto3, os',
        'def handler(event, context):',
        "    me = boto3.client('sts').get_caller_identity()",
        "    return {'arn': me['Arn'], 'event': event, 'request': context.aws_request_id, 'secret': os.environ.get('CAIRN_TEST_SECRET'), 'mine': os.environ.get('MINE')}",
      ].join('\n'),
    }, ['--environment', 'Variables={MINE=yes}', '--timeout', '30']);
    const { out, payload } = await invoke('whoami-py', { b: 2 });
    expect(out.FunctionError).toBeUndefined();
    expect(payload).toMatchObject({ arn: `arn:aws:sts::${accountId}:assumed-role/fn-exec/whoami-py`, event: { b: 2 }, secret: null, mine: 'yes' });
  }, 30_000);

  it('sees none of the server\'s environment', async () => {
    await createFunction('env-py', 'python3.12', 'env.handler', { 'env.py': 'import os\ndef handler(event, context):\n    return dict(os.environ)\n' });
    const { payload } = await invoke('env-py', {});
    const env = payload as Record<string, string>;
    for (const [k, v] of Object.entries(process.env)) {
      if (k.startsWith('AWS_') || ['PATH', 'LANG', 'TZ', 'HOME', 'TMPDIR', 'PWD', 'SHLVL', '_'].includes(k)) continue;
      expect(env[k], k).not.toBe(v);
    }
    expect(env.CAIRN_TEST_SECRET).toBeUndefined();
    expect(env.AWS_LAMBDA_FUNCTION_NAME).toBe('env-py');
    expect(env.AWS_ENDPOINT_URL).toBe(cairn.endpoint);
    expect(env.AWS_SESSION_TOKEN).toBeTruthy();
  });
});

describe('the Lambda API', () => {
  it('refuses a role Lambda cannot assume', async () => {
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    const role = await cairn.awsJson<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'not-lambda', '--assume-role-policy-document', trust]);
    const r = await lambdaRaw(['create-function', '--function-name', 'nope', '--runtime', 'nodejs20.x', '--handler', 'index.handler', '--role', role.Role.Arn, '--zip-file', `fileb://${zipOf('nope', { 'index.js': '' })}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('InvalidParameterValueException');
    expect(r.stderr).toContain('The role defined for the function cannot be assumed by Lambda.');
  });

  it('boto3 lists, publishes versions, aliases, permissions and tags', async () => {
    const script = `
import boto3, json, io, zipfile
c = boto3.client('lambda')
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    z.writestr('h.py', 'def handler(e, c):\\n    return e.get("n", 0) + 1\\n')
c.create_function(FunctionName='boto-fn', Runtime='python3.11', Role='${'ROLE'}', Handler='h.handler', Code={'ZipFile': buf.getvalue()})
v = c.publish_version(FunctionName='boto-fn')
c.create_alias(FunctionName='boto-fn', Name='live', FunctionVersion=v['Version'])
r = c.invoke(FunctionName='boto-fn', Qualifier='live', Payload=json.dumps({'n': 41}))
c.add_permission(FunctionName='boto-fn', StatementId='sns', Action='lambda:InvokeFunction', Principal='sns.amazonaws.com', SourceArn='arn:aws:sns:us-east-1:111122223333:t')
c.tag_resource(Resource=c.get_function(FunctionName='boto-fn')['Configuration']['FunctionArn'], Tags={'team': 'audit'})
print(json.dumps({
  'names': [f['FunctionName'] for f in c.list_functions()['Functions']],
  'version': v['Version'],
  'versions': [x['Version'] for x in c.list_versions_by_function(FunctionName='boto-fn')['Versions']],
  'executed': r['ExecutedVersion'], 'answer': json.loads(r['Payload'].read()),
  'policy': json.loads(c.get_policy(FunctionName='boto-fn')['Policy']),
  'tags': c.list_tags(Resource=c.get_function(FunctionName='boto-fn')['Configuration']['FunctionArn'])['Tags'],
  'aliases': [a['Name'] for a in c.list_aliases(FunctionName='boto-fn')['Aliases']],
}))
`.replace('ROLE', roleArn);
    const r = await run('python3', ['-c', script], cairn.env());
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ version: '1', versions: ['$LATEST', '1'], executed: '1', answer: 42, tags: { team: 'audit' }, aliases: ['live'] });
    expect(out.names).toContain('boto-fn');
    expect(out.policy).toMatchObject({ Statement: [{ Sid: 'sns', Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'lambda:InvokeFunction' }] });
  }, 30_000);
});

describe('a server without --functions', () => {
  it('refuses CreateFunction with a message naming the flag', async () => {
    const off = await startCairn();
    try {
      const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
      const role = await off.awsJson<{ Role: { Arn: string } }>(['iam', 'create-role', '--role-name', 'r', '--assume-role-policy-document', trust]);
      const r = await off.aws(['lambda', 'create-function', '--function-name', 'f', '--runtime', 'nodejs20.x', '--handler', 'index.handler', '--role', role.Role.Arn, '--zip-file', `fileb://${zipOf('off', { 'index.js': '' })}`, '--endpoint-url', off.endpoint]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('--functions');
    } finally {
      await off.stop();
    }
  });
});
