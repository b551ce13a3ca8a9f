/**
 * Test support for organizations: AWS SDK clients of a test server for the setup steps
 * (the stock AWS CLI checks what the tests are about; each of its runs costs a Python
 * start-up), member accounts, an administrator user and role sessions.
 */
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateAccountCommand, DescribeCreateAccountStatusCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Credentials, TestCairn } from './cairn.js';

/** SDK clients for `creds` (the management account's root by default). */
export function sdk(cairn: TestCairn, creds: Credentials = cairn.root, region = 'us-east-1') {
  const config = { endpoint: cairn.endpoint, region, credentials: creds, maxAttempts: 1 };
  return { organizations: new OrganizationsClient(config), iam: new IAMClient(config), sts: new STSClient(config) };
}

/** Creates a member account and waits until CreateAccount has SUCCEEDED; returns its id. */
export async function createMember(cairn: TestCairn, name: string, email: string): Promise<string> {
  const { organizations } = sdk(cairn);
  const started = await organizations.send(new CreateAccountCommand({ AccountName: name, Email: email }));
  const id = started.CreateAccountStatus?.Id ?? '';
  for (let i = 0; i < 100; i++) {
    const status = (await organizations.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: id }))).CreateAccountStatus;
    if (status?.State === 'SUCCEEDED' && status.AccountId) return status.AccountId;
    if (status?.State === 'FAILED') throw new Error(`CreateAccount failed: ${status.FailureReason}`);
    await sleep(100);
  }
  throw new Error('CreateAccount did not complete');
}

/** An IAM user of the management account with AdministratorAccess (root may not assume roles). */
export async function adminUser(cairn: TestCairn, name: string, creds?: Credentials): Promise<Credentials> {
  const { iam } = sdk(cairn, creds);
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
  return { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
}

/** A session of `roleArn`, assumed with `creds`. */
export async function assume(cairn: TestCairn, creds: Credentials, roleArn: string, session = 'test'): Promise<Credentials> {
  const out = await sdk(cairn, creds).sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }));
  const c = out.Credentials;
  return { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' };
}

/** The access role Organizations creates in a member account. */
export function accessRole(accountId: string, roleName = 'OrganizationAccountAccessRole'): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}
