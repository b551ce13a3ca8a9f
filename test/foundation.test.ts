/**
 * The foundation end to end: the stock AWS CLI, boto3 and the JS SDK against a running
 * Cairn: root and IAM-user calls, a denied call, AssumeRole, a presigned URL, and every
 * authenticated call recorded exactly once with CloudTrail's fields.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, type Credentials, type TestCairn } from './support/cairn.js';
import { readRecords, recordsFor } from './support/records.js';

let cairn: TestCairn;
let accountId: string;

beforeAll(async () => {
  cairn = await startCairn();
  accountId = cairn.server.accountId;
});
afterAll(async () => {
  await cairn.stop();
});

function sdkConfig(creds: Credentials) {
  return { endpoint: cairn.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 };
}

describe('root of the management account', () => {
  it('is who the AWS CLI is, and the call is recorded as CloudTrail records it', async () => {
    const who = await cairn.awsJson<{ Account: string; Arn: string; UserId: string }>(['sts', 'get-caller-identity']);
    expect(who).toEqual({ Account: accountId, Arn: `arn:aws:iam::${accountId}:root`, UserId: accountId });

    const record = readRecords(cairn.server.dataDir)
      .map((r) => r.record)
      .find((r) => r.eventName === 'GetCallerIdentity' && String(r.userAgent).startsWith('aws-cli/'));
    expect(record).toMatchObject({
      eventVersion: '1.11',
      userIdentity: {
        type: 'Root',
        principalId: accountId,
        arn: `arn:aws:iam::${accountId}:root`,
        accountId,
        accessKeyId: cairn.root.accessKeyId,
      },
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetCallerIdentity',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
    });
    expect(record?.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(record?.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(record).not.toHaveProperty('errorCode');
  });

  it("records the SDK's request id as requestID, once", async () => {
    const out = await new STSClient(sdkConfig(cairn.root)).send(new GetCallerIdentityCommand({}));
    const requestId = out.$metadata.requestId ?? '';
    expect(requestId).not.toBe('');
    expect(recordsFor(cairn.server.dataDir, requestId)).toHaveLength(1);
  });
});

describe('IAM users', () => {
  let alice: Credentials;

  beforeAll(async () => {
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'alice']);
    const created = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>([
      'iam', 'create-access-key', '--user-name', 'alice',
    ]);
    alice = { accessKeyId: created.AccessKey.AccessKeyId, secretAccessKey: created.AccessKey.SecretAccessKey };
  });

  it('a user without a policy is denied, with the denial recorded', async () => {
    const denied = await cairn.aws(['cloudtrail', 'describe-trails'], alice);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('AccessDeniedException');
    expect(denied.stderr).toContain(`arn:aws:iam::${accountId}:user/alice is not authorized to perform: cloudtrail:DescribeTrails`);

    const record = readRecords(cairn.server.dataDir)
      .map((r) => r.record)
      .find((r) => r.eventName === 'DescribeTrails' && (r.userIdentity as { userName?: string }).userName === 'alice');
    expect(record).toMatchObject({
      eventSource: 'cloudtrail.amazonaws.com',
      errorCode: 'AccessDeniedException',
      userIdentity: { type: 'IAMUser', userName: 'alice', accessKeyId: alice.accessKeyId, arn: `arn:aws:iam::${accountId}:user/alice` },
    });
    expect(String(record?.errorMessage)).toContain('is not authorized to perform');
  });

  it('any user may ask who it is', async () => {
    const who = await cairn.awsJson<{ Arn: string }>(['sts', 'get-caller-identity'], alice);
    expect(who.Arn).toBe(`arn:aws:iam::${accountId}:user/alice`);
  });

  it('an inline policy allows, an explicit deny beats it', async () => {
    const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudtrail:Describe*', Resource: '*' }] };
    await cairn.awsJson(['iam', 'put-user-policy', '--user-name', 'alice', '--policy-name', 'read-trails', '--policy-document', JSON.stringify(allow)]);
    const trails = await new CloudTrailClient(sdkConfig(alice)).send(new DescribeTrailsCommand({}));
    expect(trails.trailList).toEqual([]);

    const deny = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'cloudtrail:*', Resource: '*' }] };
    await cairn.awsJson(['iam', 'put-user-policy', '--user-name', 'alice', '--policy-name', 'no-trails', '--policy-document', JSON.stringify(deny)]);
    await expect(new CloudTrailClient(sdkConfig(alice)).send(new DescribeTrailsCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('never stores a secret access key in a record', () => {
    const all = readRecords(cairn.server.dataDir).map((r) => r.text).join('\n');
    expect(all).toContain('CreateAccessKey');
    expect(all).not.toContain(alice.secretAccessKey);
    expect(all).not.toContain(cairn.root.secretAccessKey);
  });

  it('a wrong secret is refused and not recorded', async () => {
    const before = readRecords(cairn.server.dataDir).length;
    const wrong = await cairn.aws(['sts', 'get-caller-identity'], { ...alice, secretAccessKey: 'x'.repeat(40) });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('SignatureDoesNotMatch');
    const unknown = await cairn.aws(['cloudtrail', 'describe-trails'], { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) });
    expect(unknown.stderr).toContain('UnrecognizedClientException');
    expect(readRecords(cairn.server.dataDir).length).toBe(before);
  });
});

describe('roles and temporary credentials', () => {
  it('AssumeRole gives credentials whose calls are recorded as the AssumedRole', async () => {
    await cairn.awsJson(['iam', 'create-user', '--user-name', 'bob']);
    const key = await cairn.awsJson<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', 'bob']);
    const bob: Credentials = { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey };
    // A trust policy naming the user is enough within the account; bob needs no identity policy.
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:user/bob` }, Action: 'sts:AssumeRole' }] };
    await cairn.awsJson(['iam', 'create-role', '--role-name', 'auditor', '--assume-role-policy-document', JSON.stringify(trust)]);
    const roleArn = `arn:aws:iam::${accountId}:role/auditor`;
    const rootTry = await cairn.aws(['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'root-try']);
    expect(rootTry.stderr).toContain('AccessDenied');
    const assumed = await cairn.awsJson<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }>(
      ['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'night-shift'],
      bob,
    );
    const temp: Credentials = {
      accessKeyId: assumed.Credentials.AccessKeyId,
      secretAccessKey: assumed.Credentials.SecretAccessKey,
      sessionToken: assumed.Credentials.SessionToken,
    };
    expect(temp.accessKeyId).toMatch(/^ASIA/);
    const who = await cairn.awsJson<{ Arn: string }>(['sts', 'get-caller-identity'], temp);
    expect(who.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/auditor/night-shift`);

    const record = readRecords(cairn.server.dataDir)
      .map((r) => r.record)
      .find((r) => (r.userIdentity as { accessKeyId?: string }).accessKeyId === temp.accessKeyId);
    expect(record?.userIdentity).toMatchObject({
      type: 'AssumedRole',
      arn: `arn:aws:sts::${accountId}:assumed-role/auditor/night-shift`,
      sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${accountId}:role/auditor`, userName: 'auditor' } },
    });

    const noToken = await cairn.aws(['sts', 'get-caller-identity'], { accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toContain('InvalidClientTokenId');
  });
});

describe('presigned URLs', () => {
  it('a URL presigned by boto3 works with a plain HTTP GET, and is recorded', async () => {
    const script = [
      'import boto3',
      "c = boto3.client('sts')",
      "print(c.generate_presigned_url('get_caller_identity', ExpiresIn=300, HttpMethod='GET'))",
    ].join('\n');
    const presigned = await run('python3', ['-c', script], cairn.env());
    expect(presigned.code, presigned.stderr).toBe(0);
    const url = presigned.stdout.trim();
    expect(url).toContain('X-Amz-Signature=');
    const res = await fetch(url);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain(`<Arn>arn:aws:iam::${accountId}:root</Arn>`);

    const tampered = await fetch(url.replace('Action=GetCallerIdentity', 'Action=GetSessionToken'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
