/**
 * AWS Organizations with the stock AWS CLI: the organization, CreateAccount completing
 * asynchronously, member accounts and their access role (`cairn env --account`), service
 * control policies in every decision, and hostile input.
 */
import {
  AttachPolicyCommand,
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  CreatePolicyCommand,
  DescribeCreateAccountStatusCommand,
  DetachPolicyCommand,
  EnablePolicyTypeCommand,
  ListRootsCommand,
  MoveAccountCommand,
} from '@aws-sdk/client-organizations';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startCairn, type Credentials, type TestCairn } from './support/cairn.js';
import { accessRole, adminUser, assume, createMember, sdk } from './support/organization.js';
import { cairnBin } from './support/process.js';

/** The error code an SDK call fails with. */
async function failure(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('the call succeeded');
}

describe('AWS Organizations', () => {
  let cairn: TestCairn;
  let rootId: string;
  let security: string;
  let workload: string;
  let admin: Credentials;
  let inWorkload: Credentials;
  const orgs = () => sdk(cairn).organizations;

  beforeAll(async () => {
    cairn = await startCairn();
    // The organization and the first account through the stock CLI, as an operator makes them.
    await cairn.awsJson(['organizations', 'create-organization', '--feature-set', 'ALL']);
    const started = await cairn.awsJson<{ CreateAccountStatus: { Id: string; State: string } }>([
      'organizations', 'create-account', '--account-name', 'security', '--email', 'security@example.com',
    ]);
    expect(started.CreateAccountStatus.State).toBe('IN_PROGRESS');
    rootId = (await orgs().send(new ListRootsCommand({}))).Roots?.[0]?.Id ?? '';
    workload = await createMember(cairn, 'workload', 'workload@example.com');
    const status = await orgs().send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: started.CreateAccountStatus.Id }));
    expect(status.CreateAccountStatus?.State).toBe('SUCCEEDED');
    security = status.CreateAccountStatus?.AccountId ?? '';
    admin = await adminUser(cairn, 'ops');
    inWorkload = await assume(cairn, admin, accessRole(workload));
  }, 60_000);
  afterAll(async () => cairn.stop());

  it('describes the organization to its members, lists accounts and children, and records its calls in us-east-1', async () => {
    const org = await cairn.awsJson<{ Organization: { Id: string; MasterAccountId: string } }>(['organizations', 'describe-organization'], inWorkload);
    expect(org.Organization.Id).toMatch(/^o-[a-z0-9]{10}$/);
    expect(org.Organization.MasterAccountId).toBe(cairn.server.accountId);
    const accounts = await cairn.awsJson<{ Accounts: { Id: string; Name: string; Arn: string }[] }>(['organizations', 'list-accounts']);
    expect(accounts.Accounts.map((a) => a.Name).sort()).toEqual(['management', 'security', 'workload']);
    expect(accounts.Accounts.find((a) => a.Id === workload)?.Arn).toBe(`arn:aws:organizations::${cairn.server.accountId}:account/${org.Organization.Id}/${workload}`);
    // A member that is no delegated administrator may not read the structure.
    const denied = await failure(sdk(cairn, inWorkload).organizations.send(new ListRootsCommand({})));
    expect(denied.name).toBe('AccessDeniedException');

    const out = await cairn.awsJson<{ Events: { CloudTrailEvent: string }[] }>(
      ['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=CreateAccount', '--region', 'us-east-1'],
    );
    const record = JSON.parse(out.Events[0]?.CloudTrailEvent ?? '{}') as { eventSource: string; awsRegion: string; requestParameters: Record<string, string> };
    expect(record.eventSource).toBe('organizations.amazonaws.com');
    expect(record.awsRegion).toBe('us-east-1');
    expect(record.requestParameters.email).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
  });

  it('gives a member account the access role with AdministratorAccess, trusting the management account; root may not assume it', async () => {
    const who = await sdk(cairn, inWorkload).sts.send(new (await import('@aws-sdk/client-sts')).GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: workload, Arn: `arn:aws:sts::${workload}:assumed-role/OrganizationAccountAccessRole/test` });
    const { ListAttachedRolePoliciesCommand, ListAccessKeysCommand } = await import('@aws-sdk/client-iam');
    const attached = await sdk(cairn, inWorkload).iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'OrganizationAccountAccessRole' }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['AdministratorAccess']);
    // The role session lists the keys of its account's root (none: a member account has no root keys).
    const rootKeys = await failure(sdk(cairn, inWorkload).iam.send(new ListAccessKeysCommand({})));
    expect(rootKeys.name).toBe('ValidationError');
    const byRoot = await cairn.aws(['sts', 'assume-role', '--role-arn', accessRole(workload), '--role-session-name', 'root-try']);
    expect(byRoot.stderr).toContain('AccessDenied');
    expect(byRoot.stderr).toContain('Roles may not be assumed by root accounts.');
  });

  it('cairn env --account prints a session in the member account, by name or id', async () => {
    const printed = await run(cairnBin, ['env', '--data-dir', cairn.server.dataDir, '--account', 'security'], { PATH: process.env.PATH });
    expect(printed.stderr).toBe('');
    const vars = new Map([...printed.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    const creds: Credentials = { accessKeyId: vars.get('AWS_ACCESS_KEY_ID') ?? '', secretAccessKey: vars.get('AWS_SECRET_ACCESS_KEY') ?? '', sessionToken: vars.get('AWS_SESSION_TOKEN') ?? '' };
    const who = await cairn.awsJson<{ Account: string }>(['sts', 'get-caller-identity'], creds);
    expect(who.Account).toBe(security);
    const byId = await run(cairnBin, ['env', '--data-dir', cairn.server.dataDir, '--account', workload], { PATH: process.env.PATH });
    expect(byId.stdout).toContain('AWS_SESSION_TOKEN');
    const unknown = await run(cairnBin, ['env', '--data-dir', cairn.server.dataDir, '--account', 'nobody'], { PATH: process.env.PATH });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('AccountNotFoundException');
  });

  it('limits every principal of a member account by SCPs on its path, never the management account', async () => {
    await orgs().send(new EnablePolicyTypeCommand({ RootId: rootId, PolicyType: 'SERVICE_CONTROL_POLICY' }));
    const ouId = (await orgs().send(new CreateOrganizationalUnitCommand({ ParentId: rootId, Name: 'workloads' }))).OrganizationalUnit?.Id ?? '';
    await orgs().send(new MoveAccountCommand({ AccountId: workload, SourceParentId: rootId, DestinationParentId: ouId }));
    const deny = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'cloudtrail:StopLogging', Resource: '*' }] });
    const policy = await orgs().send(new CreatePolicyCommand({ Name: 'protect-trails', Description: 'no StopLogging', Type: 'SERVICE_CONTROL_POLICY', Content: deny }));
    await orgs().send(new AttachPolicyCommand({ PolicyId: policy.Policy?.PolicySummary?.Id, TargetId: ouId }));

    // The member's admin role: FullAWSAccess allows the rest, the OU's Deny wins for StopLogging.
    const stopped = await cairn.aws(['cloudtrail', 'stop-logging', '--name', 'any'], inWorkload);
    expect(stopped.stderr).toContain('AccessDeniedException');
    expect(stopped.stderr).toContain(
      `User: arn:aws:sts::${workload}:assumed-role/OrganizationAccountAccessRole/test is not authorized to perform: cloudtrail:StopLogging on resource: arn:aws:cloudtrail:us-east-1:${workload}:trail/any with an explicit deny in a service control policy`,
    );
    // The management account's root is never limited: the trail is simply unknown.
    const mgmt = await cairn.aws(['cloudtrail', 'stop-logging', '--name', 'any']);
    expect(mgmt.stderr).toContain('TrailNotFoundException');
    // The refusal is recorded in the member account with AWS's message.
    const events = await cairn.awsJson<{ Events: { CloudTrailEvent: string }[] }>(
      ['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=StopLogging'],
      inWorkload,
    );
    const record = JSON.parse(events.Events[0]?.CloudTrailEvent ?? '{}') as { errorCode: string; errorMessage: string; recipientAccountId: string };
    expect(record).toMatchObject({ errorCode: 'AccessDeniedException', recipientAccountId: workload });
    expect(record.errorMessage).toContain('with an explicit deny in a service control policy');

    // Without FullAWSAccess on the account's own level only what its SCP allows is possible.
    const { ListQueuesCommand, SQSClient } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: inWorkload, maxAttempts: 1 });
    const allowS3 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
    const onlyS3 = await orgs().send(new CreatePolicyCommand({ Name: 'only-s3', Description: 's3', Type: 'SERVICE_CONTROL_POLICY', Content: allowS3 }));
    const onlyS3Id = onlyS3.Policy?.PolicySummary?.Id;
    await orgs().send(new AttachPolicyCommand({ PolicyId: onlyS3Id, TargetId: workload }));
    await orgs().send(new DetachPolicyCommand({ PolicyId: 'p-FullAWSAccess', TargetId: workload }));
    const refused = await failure(sqs.send(new ListQueuesCommand({})));
    expect(refused.message).toContain('because no service control policy allows the sqs:ListQueues action');
    // The last SCP of an entity cannot be detached.
    const last = await failure(orgs().send(new DetachPolicyCommand({ PolicyId: onlyS3Id, TargetId: workload })));
    expect(last.name).toBe('ConstraintViolationException');
    await orgs().send(new AttachPolicyCommand({ PolicyId: 'p-FullAWSAccess', TargetId: workload }));
    await orgs().send(new DetachPolicyCommand({ PolicyId: onlyS3Id, TargetId: workload }));
    await sqs.send(new ListQueuesCommand({}));
  });

  describe('hostile input', () => {
    it('refuses bad account names and emails, and a second account with a taken email fails', async () => {
      const tooLong = await failure(orgs().send(new CreateAccountCommand({ AccountName: 'x'.repeat(51), Email: 'a@example.com' })));
      expect(tooLong.name).toMatch(/ValidationException|InvalidInputException/);
      const control = await failure(orgs().send(new CreateAccountCommand({ AccountName: 'bad\u0007name', Email: 'a@example.com' })));
      expect(control.name).toMatch(/ValidationException|InvalidInputException/);
      const email = await failure(orgs().send(new CreateAccountCommand({ AccountName: 'ok', Email: 'not an email' })));
      expect(email.name).toMatch(/ValidationException|InvalidInputException|ConstraintViolationException/);
      const taken = await orgs().send(new CreateAccountCommand({ AccountName: 'again', Email: 'security@example.com' }));
      let state = taken.CreateAccountStatus;
      for (let i = 0; i < 50 && state?.State === 'IN_PROGRESS'; i++) {
        await sleep(100);
        state = (await orgs().send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: state.Id }))).CreateAccountStatus;
      }
      expect(state).toMatchObject({ State: 'FAILED', FailureReason: 'EMAIL_ALREADY_EXISTS' });
    });

    it('refuses policy documents that are too large, not JSON, or not policies', async () => {
      const create = (content: string, Type: 'SERVICE_CONTROL_POLICY' | 'TAG_POLICY' = 'SERVICE_CONTROL_POLICY') =>
        failure(orgs().send(new CreatePolicyCommand({ Name: `p${content.length}`, Description: 'd', Type, Content: content })));
      const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: Array.from({ length: 300 }, (_, i) => `arn:aws:s3:::bucket-${i}/*`) }] });
      expect((await create(big)).name).toBe('ConstraintViolationException');
      expect((await create('{"Version": "2012-10-17", "Statement": [')).name).toBe('MalformedPolicyDocumentException');
      expect((await create('{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}')).name).toBe('MalformedPolicyDocumentException');
      expect((await create('{}', 'TAG_POLICY')).name).toBe('PolicyTypeNotAvailableForOrganizationException');
    });

    it('cannot make an OU its own descendant, move an account under an account, or nest OUs past five levels', async () => {
      let parent = rootId;
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        parent = (await orgs().send(new CreateOrganizationalUnitCommand({ ParentId: parent, Name: `level${i}` }))).OrganizationalUnit?.Id ?? '';
        made.push(parent);
      }
      expect((await failure(orgs().send(new CreateOrganizationalUnitCommand({ ParentId: parent, Name: 'too-deep' })))).name).toBe('ConstraintViolationException');
      // Organizations moves accounts only: an OU named as the account to move is refused by the model's pattern.
      const ouAsAccount = await failure(orgs().send(new MoveAccountCommand({ AccountId: made[0], SourceParentId: rootId, DestinationParentId: parent })));
      expect(ouAsAccount.name).toMatch(/ValidationException|InvalidInputException/);
      const underAccount = await failure(orgs().send(new MoveAccountCommand({ AccountId: security, SourceParentId: rootId, DestinationParentId: workload })));
      expect(underAccount.name).toMatch(/ValidationException|InvalidInputException/);
      const wrongSource = await failure(orgs().send(new MoveAccountCommand({ AccountId: security, SourceParentId: parent, DestinationParentId: rootId })));
      expect(wrongSource.name).toBe('AccountNotFoundException');
    });

    it('refuses every call from a closed account, and its roles can no longer be assumed', async () => {
      const closing = await createMember(cairn, 'closing', 'closing@example.com');
      const session = await assume(cairn, admin, accessRole(closing));
      await cairn.awsJson(['sts', 'get-caller-identity'], session);
      await orgs().send(new CloseAccountCommand({ AccountId: closing }));
      const after = await cairn.aws(['sts', 'get-caller-identity'], session);
      expect(after.stderr).toMatch(/InvalidClientTokenId/);
      expect((await failure(orgs().send(new CloseAccountCommand({ AccountId: closing })))).name).toBe('AccountAlreadyClosedException');
      expect((await failure(assume(cairn, admin, accessRole(closing)))).name).toBe('AccessDenied');
      // A member may not close accounts, nor create an organization of its own.
      expect((await failure(sdk(cairn, inWorkload).organizations.send(new CloseAccountCommand({ AccountId: security })))).name).toBe('AccessDeniedException');
      expect((await failure(sdk(cairn, inWorkload).organizations.send(new CreateOrganizationCommand({})))).name).toBe('AlreadyInOrganizationException');
    });
  });
});
