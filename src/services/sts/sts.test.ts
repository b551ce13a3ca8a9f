import { describe, expect, it } from 'vitest';
import type { Principal } from '../../auth/principal.js';
import { allowPolicy, identityFixture, trustPolicy } from '../../iam/testing.js';
import { AwsError } from '../../platform/errors.js';
import type { CallContext, OperationSpec } from '../service.js';
import { stsService } from './index.js';

function setup() {
  const f = identityFixture();
  const service = stsService({ identities: f.identities });
  const acct = f.root.accountId;
  const root: Principal = { type: 'Root', accountId: acct, accessKeyId: f.root.accessKeyId };
  const ctx = (principal: Principal): CallContext => ({
    requestId: 'req-1',
    principal,
    accountId: principal.accountId,
    region: 'eu-west-1',
    sourceIp: '192.0.2.10',
    userAgent: 'test',
    now: f.clock.now(),
    secureTransport: true,
  });
  const spec = (op: string): OperationSpec => {
    const s = service.operations[op];
    if (!s) throw new Error(`no operation ${op}`);
    return s;
  };
  const call = (op: string, input: Record<string, unknown>, principal: Principal) => spec(op).handle(input, ctx(principal));
  const bobUser = f.identities.createUser(acct, { userName: 'bob' });
  const key = f.identities.createAccessKey(acct, 'bob');
  const bob = f.identities.resolveAccessKey(key.accessKeyId)?.principal;
  if (!bob) throw new Error('unresolved');
  const role = f.identities.createRole(acct, { roleName: 'Ops', assumeRolePolicyDocument: trustPolicy(bobUser.arn) });
  return { f, service, acct, root, bob, bobUser, role, spec, call, ctx };
}

describe('sts service definition', () => {
  it('describes STS', () => {
    const { service } = setup();
    expect(service).toMatchObject({ modelName: 'sts', signingName: 'sts', actionPrefix: 'sts', eventSource: 'sts.amazonaws.com' });
    expect(service.globalRegion).toBeUndefined();
    expect(service.operations.GetCallerIdentity).toMatchObject({ readOnly: true, action: null, category: 'Management' });
    expect(service.operations.AssumeRole).toMatchObject({ readOnly: false, category: 'Management' });
  });
});

describe('GetCallerIdentity', () => {
  it('answers for the root user, an IAM user and a role session', async () => {
    const { call, root, bob, bobUser, acct, role, f } = setup();
    expect(await call('GetCallerIdentity', {}, root)).toEqual({ UserId: acct, Account: acct, Arn: `arn:aws:iam::${acct}:root` });
    expect(await call('GetCallerIdentity', {}, bob)).toEqual({ UserId: bobUser.userId, Account: acct, Arn: bobUser.arn });

    const creds = f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 'sess' });
    const session = f.identities.resolveAccessKey(creds.accessKeyId)?.principal;
    if (!session) throw new Error('unresolved');
    expect(await call('GetCallerIdentity', {}, session)).toEqual({
      UserId: `${role.roleId}:sess`,
      Account: acct,
      Arn: `arn:aws:sts::${acct}:assumed-role/Ops/sess`,
    });
  });
});

describe('AssumeRole', () => {
  it('returns credentials and the assumed-role user', async () => {
    const { call, bob, role, acct, f } = setup();
    const out = await call('AssumeRole', { RoleArn: role.arn, RoleSessionName: 'deploy', DurationSeconds: 1800 }, bob);
    expect(out).toEqual({
      Credentials: {
        AccessKeyId: expect.stringMatching(/^ASIA/) as unknown,
        SecretAccessKey: expect.stringMatching(/^.{40}$/) as unknown,
        SessionToken: expect.any(String) as unknown,
        Expiration: new Date(f.clock.now() + 1800_000),
      },
      AssumedRoleUser: { AssumedRoleId: `${role.roleId}:deploy`, Arn: `arn:aws:sts::${acct}:assumed-role/Ops/deploy` },
    });
    // The role remembers the region it was last used from.
    expect(f.identities.getRole(acct, 'Ops').lastUsed?.region).toBe('eu-west-1');
  });

  it('records the key id, token and expiry but never the secret', async () => {
    const { call, spec, bob, role, acct } = setup();
    const out = await call('AssumeRole', { RoleArn: role.arn, RoleSessionName: 'deploy' }, bob);
    const creds = out.Credentials as Record<string, unknown>;
    const recorded = spec('AssumeRole').recordResponse?.(out);
    expect(recorded).toEqual({
      credentials: { accessKeyId: creds.AccessKeyId, sessionToken: creds.SessionToken, expiration: 'Jan 1, 2026, 1:00:00 AM' },
      assumedRoleUser: { assumedRoleId: expect.stringMatching(/^AROA.*:deploy$/) as unknown, arn: `arn:aws:sts::${acct}:assumed-role/Ops/deploy` },
    });
    expect(JSON.stringify(recorded)).not.toContain(String(creds.SecretAccessKey));
    expect(spec('AssumeRole').resources?.({ RoleArn: role.arn }, setup().ctx(bob))).toEqual([
      { ARN: role.arn, accountId: acct, type: 'AWS::IAM::Role' },
    ]);
  });

  it('refuses callers the trust policy does not let in, with AWS message', async () => {
    const { call, f, acct, role } = setup();
    f.identities.createUser(acct, { userName: 'eve' });
    const key = f.identities.createAccessKey(acct, 'eve');
    const eve = f.identities.resolveAccessKey(key.accessKeyId)?.principal;
    if (!eve) throw new Error('unresolved');
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'eve' }, 'p', allowPolicy('sts:AssumeRole'));
    const err = await call('AssumeRole', { RoleArn: role.arn, RoleSessionName: 's' }, eve).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({
      code: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:iam::${acct}:user/eve is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`,
    });
  });

  it('tests trust-policy conditions against the call (source IP)', async () => {
    const { call, f, acct, bob, bobUser } = setup();
    const trust = (cidr: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: bobUser.arn }, Action: 'sts:AssumeRole', Condition: { IpAddress: { 'aws:SourceIp': cidr } } }],
      });
    const inside = f.identities.createRole(acct, { roleName: 'Inside', assumeRolePolicyDocument: trust('192.0.2.0/24') });
    const outside = f.identities.createRole(acct, { roleName: 'Outside', assumeRolePolicyDocument: trust('198.51.100.0/24') });
    await expect(call('AssumeRole', { RoleArn: inside.arn, RoleSessionName: 's' }, bob)).resolves.toHaveProperty('Credentials');
    await expect(call('AssumeRole', { RoleArn: outside.arn, RoleSessionName: 's' }, bob)).rejects.toMatchObject({ code: 'AccessDenied' });
  });

  it('refuses the root user and over-long sessions', async () => {
    const { call, root, bob, role } = setup();
    await expect(call('AssumeRole', { RoleArn: role.arn, RoleSessionName: 's' }, root)).rejects.toMatchObject({
      code: 'AccessDenied',
      message: 'Roles may not be assumed by root accounts.',
    });
    await expect(call('AssumeRole', { RoleArn: role.arn, RoleSessionName: 's', DurationSeconds: 43200 }, bob)).rejects.toMatchObject({
      code: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
  });
});
