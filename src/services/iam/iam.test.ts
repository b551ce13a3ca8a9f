import { describe, expect, it } from 'vitest';
import type { Principal } from '../../auth/principal.js';
import { allowPolicy, identityFixture, trustPolicy } from '../../iam/testing.js';
import { AwsError } from '../../platform/errors.js';
import type { CallContext, OperationSpec } from '../service.js';
import { iamService } from './index.js';
import { cloudTrailDate } from './shapes.js';

function setup() {
  const f = identityFixture();
  const service = iamService({ identities: f.identities });
  const acct = f.root.accountId;
  const root: Principal = { type: 'Root', accountId: acct, accessKeyId: f.root.accessKeyId };
  const ctx = (principal: Principal = root): CallContext => ({
    requestId: 'req-1',
    principal,
    accountId: principal.accountId,
    region: 'us-east-1',
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    now: f.clock.now(),
    secureTransport: false,
  });
  const spec = (op: string): OperationSpec => {
    const s = service.operations[op];
    if (!s) throw new Error(`no operation ${op}`);
    return s;
  };
  const call = (op: string, input: Record<string, unknown> = {}, principal?: Principal) => spec(op).handle(input, ctx(principal));
  const fail = async (op: string, input: Record<string, unknown> = {}, principal?: Principal): Promise<AwsError> => {
    try {
      await call(op, input, principal);
    } catch (e) {
      if (e instanceof AwsError) return e;
      throw e;
    }
    throw new Error(`${op} did not fail`);
  };
  const userPrincipal = (userName: string): Principal => {
    const key = f.identities.createAccessKey(acct, userName);
    const p = f.identities.resolveAccessKey(key.accessKeyId)?.principal;
    if (!p) throw new Error('unresolved');
    return p;
  };
  return { f, service, acct, root, ctx, spec, call, fail, userPrincipal };
}

describe('iam service definition', () => {
  it('describes IAM and classifies its operations', () => {
    const { service } = setup();
    expect(service).toMatchObject({
      modelName: 'iam',
      signingName: 'iam',
      actionPrefix: 'iam',
      eventSource: 'iam.amazonaws.com',
      globalRegion: 'us-east-1',
    });
    expect(service.model.metadata.protocol).toBe('query');
    for (const [name, op] of Object.entries(service.operations)) {
      expect(service.model.operations[name], name).toBeDefined();
      expect(op.readOnly, name).toBe(/^(Get|List)/.test(name));
      expect(op.category).toBe('Management');
    }
    expect(Object.keys(service.operations)).toEqual(
      expect.arrayContaining([
        'CreateUser', 'GetUser', 'ListUsers', 'DeleteUser', 'CreateAccessKey', 'ListAccessKeys', 'UpdateAccessKey',
        'DeleteAccessKey', 'PutUserPolicy', 'GetUserPolicy', 'DeleteUserPolicy', 'ListUserPolicies', 'CreatePolicy',
        'GetPolicy', 'DeletePolicy', 'ListPolicies', 'AttachUserPolicy', 'DetachUserPolicy', 'ListAttachedUserPolicies',
        'CreateRole', 'GetRole', 'ListRoles', 'DeleteRole', 'UpdateAssumeRolePolicy', 'PutRolePolicy', 'GetRolePolicy',
        'DeleteRolePolicy', 'ListRolePolicies', 'AttachRolePolicy', 'DetachRolePolicy', 'ListAttachedRolePolicies',
      ]),
    );
  });
});

describe('users', () => {
  it('CreateUser, GetUser, ListUsers, DeleteUser', async () => {
    const { call, acct, f } = setup();
    const created = await call('CreateUser', { UserName: 'bob', Path: '/ops/' });
    expect(created).toEqual({
      User: {
        Path: '/ops/',
        UserName: 'bob',
        UserId: expect.stringMatching(/^AIDA/) as unknown,
        Arn: `arn:aws:iam::${acct}:user/ops/bob`,
        CreateDate: new Date(f.clock.now()),
      },
    });
    expect(await call('GetUser', { UserName: 'bob' })).toEqual(created);
    expect(await call('ListUsers')).toEqual({ Users: [created.User], IsTruncated: false });
    expect(await call('DeleteUser', { UserName: 'bob' })).toEqual({});
    expect(await call('ListUsers')).toEqual({ Users: [], IsTruncated: false });
  });

  it('answers GetUser without a name with the caller', async () => {
    const { call, fail, acct, f, userPrincipal } = setup();
    expect(await call('GetUser')).toEqual({
      User: { UserId: acct, Arn: `arn:aws:iam::${acct}:root`, CreateDate: new Date(f.clock.now()) },
    });
    await call('CreateUser', { UserName: 'bob' });
    const bob = userPrincipal('bob');
    expect(((await call('GetUser', {}, bob)).User as Record<string, unknown>).UserName).toBe('bob');

    const role = f.identities.createRole(acct, { roleName: 'R', assumeRolePolicyDocument: trustPolicy(`arn:aws:iam::${acct}:user/bob`) });
    const creds = f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' });
    const session = f.identities.resolveAccessKey(creds.accessKeyId)?.principal;
    const err = await fail('GetUser', {}, session);
    expect([err.code, err.message]).toEqual(['ValidationError', 'Must specify userName when calling with non-User credentials']);
  });

  it('pages ListUsers with Marker and MaxItems, and filters by PathPrefix', async () => {
    const { call } = setup();
    for (const name of ['d', 'a', 'c', 'b', 'e']) await call('CreateUser', { UserName: name, Path: name < 'c' ? '/x/' : '/' });
    const names = (out: Record<string, unknown>) => (out.Users as { UserName: string }[]).map((u) => u.UserName);

    const first = await call('ListUsers', { MaxItems: 2 });
    expect(names(first)).toEqual(['a', 'b']);
    expect(first.IsTruncated).toBe(true);
    expect(typeof first.Marker).toBe('string');
    const second = await call('ListUsers', { MaxItems: 2, Marker: first.Marker });
    expect(names(second)).toEqual(['c', 'd']);
    const third = await call('ListUsers', { MaxItems: 2, Marker: second.Marker });
    expect(names(third)).toEqual(['e']);
    expect(third).not.toHaveProperty('Marker');
    expect(third.IsTruncated).toBe(false);

    expect(names(await call('ListUsers', { PathPrefix: '/x/' }))).toEqual(['a', 'b']);
  });

  it('reports IAM errors for users', async () => {
    const { call, fail } = setup();
    await call('CreateUser', { UserName: 'bob' });
    const dup = await fail('CreateUser', { UserName: 'bob' });
    expect([dup.code, dup.message, dup.status]).toEqual(['EntityAlreadyExists', 'User with name bob already exists.', 409]);
    const missing = await fail('GetUser', { UserName: 'alice' });
    expect([missing.code, missing.message, missing.status]).toEqual(['NoSuchEntity', 'The user with name alice cannot be found.', 404]);
    await call('CreateAccessKey', { UserName: 'bob' });
    const conflict = await fail('DeleteUser', { UserName: 'bob' });
    expect([conflict.code, conflict.message]).toEqual(['DeleteConflict', 'Cannot delete entity, must delete access keys first.']);
  });

  it('names the user resource with its path for authorization', () => {
    const { spec, ctx, call, acct } = setup();
    return call('CreateUser', { UserName: 'bob', Path: '/ops/' }).then(() => {
      expect(spec('DeleteUser').resources?.({ UserName: 'bob' }, ctx())).toEqual([
        { ARN: `arn:aws:iam::${acct}:user/ops/bob`, accountId: acct, type: 'AWS::IAM::User' },
      ]);
      expect(spec('CreateUser').resources?.({ UserName: 'new' }, ctx())).toEqual([
        { ARN: `arn:aws:iam::${acct}:user/new`, accountId: acct, type: 'AWS::IAM::User' },
      ]);
      expect(spec('ListAccessKeys').resources?.({}, ctx())).toEqual([
        { ARN: `arn:aws:iam::${acct}:root`, accountId: acct, type: 'AWS::IAM::User' },
      ]);
    });
  });

  it('records CreateUser as CloudTrail does', async () => {
    const { call, spec, acct } = setup();
    const out = await call('CreateUser', { UserName: 'bob' });
    const user = out.User as Record<string, unknown>;
    expect(spec('CreateUser').recordResponse?.(out)).toEqual({
      user: {
        path: '/',
        userName: 'bob',
        userId: user.UserId,
        arn: `arn:aws:iam::${acct}:user/bob`,
        createDate: 'Jan 1, 2026, 12:00:00 AM',
      },
    });
    expect(spec('DeleteUser').recordResponse?.({})).toBeNull();
  });
});

describe('access keys', () => {
  it('CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey for a named user', async () => {
    const { call, f } = setup();
    await call('CreateUser', { UserName: 'bob' });
    const created = await call('CreateAccessKey', { UserName: 'bob' });
    const key = created.AccessKey as Record<string, unknown>;
    expect(key).toEqual({
      UserName: 'bob',
      AccessKeyId: expect.stringMatching(/^AKIA/) as unknown,
      Status: 'Active',
      SecretAccessKey: expect.stringMatching(/^.{40}$/) as unknown,
      CreateDate: new Date(f.clock.now()),
    });
    expect(await call('ListAccessKeys', { UserName: 'bob' })).toEqual({
      AccessKeyMetadata: [{ UserName: 'bob', AccessKeyId: key.AccessKeyId, Status: 'Active', CreateDate: new Date(f.clock.now()) }],
      IsTruncated: false,
    });
    expect(await call('UpdateAccessKey', { UserName: 'bob', AccessKeyId: key.AccessKeyId, Status: 'Inactive' })).toEqual({});
    expect(f.identities.resolveAccessKey(String(key.AccessKeyId))?.active).toBe(false);
    expect(await call('DeleteAccessKey', { UserName: 'bob', AccessKeyId: key.AccessKeyId })).toEqual({});
    expect(await call('ListAccessKeys', { UserName: 'bob' })).toEqual({ AccessKeyMetadata: [], IsTruncated: false });
  });

  it('acts on the caller when no user is named', async () => {
    const { call, fail, f, userPrincipal } = setup();
    const rootKeys = await call('ListAccessKeys');
    expect((rootKeys.AccessKeyMetadata as Record<string, unknown>[]).map((k) => k.AccessKeyId)).toEqual([f.root.accessKeyId]);
    expect(rootKeys.AccessKeyMetadata).toEqual([expect.not.objectContaining({ UserName: expect.anything() as unknown })]);

    await call('CreateUser', { UserName: 'bob' });
    const bob = userPrincipal('bob');
    const created = await call('CreateAccessKey', {}, bob);
    expect((created.AccessKey as Record<string, unknown>).UserName).toBe('bob');
    const limit = await fail('CreateAccessKey', {}, bob);
    expect([limit.code, limit.message, limit.status]).toEqual(['LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2', 409]);
  });

  it('keeps the secret out of the record', async () => {
    const { call, spec } = setup();
    await call('CreateUser', { UserName: 'bob' });
    const out = await call('CreateAccessKey', { UserName: 'bob' });
    const key = out.AccessKey as Record<string, unknown>;
    const recorded = spec('CreateAccessKey').recordResponse?.(out);
    expect(recorded).toEqual({
      accessKey: { userName: 'bob', accessKeyId: key.AccessKeyId, status: 'Active', createDate: 'Jan 1, 2026, 12:00:00 AM' },
    });
    expect(JSON.stringify(recorded)).not.toContain(String(key.SecretAccessKey));
  });

  it('reports unknown keys', async () => {
    const { call, fail } = setup();
    await call('CreateUser', { UserName: 'bob' });
    const err = await fail('DeleteAccessKey', { UserName: 'bob', AccessKeyId: 'AKIAAAAAAAAAAAAAAAAA' });
    expect([err.code, err.message]).toEqual(['NoSuchEntity', 'The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.']);
  });

  it('GetAccessKeyLastUsed says N/A until a key is used', async () => {
    const { call, f } = setup();
    expect(await call('GetAccessKeyLastUsed', { AccessKeyId: f.root.accessKeyId })).toEqual({
      AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' },
    });
    f.identities.noteAccessKeyUsed(f.root.accessKeyId, { serviceName: 'cloudtrail', region: 'eu-west-1' });
    expect(await call('GetAccessKeyLastUsed', { AccessKeyId: f.root.accessKeyId })).toEqual({
      AccessKeyLastUsed: { LastUsedDate: new Date(f.clock.now()), ServiceName: 'cloudtrail', Region: 'eu-west-1' },
    });
  });
});

describe('inline policies', () => {
  const doc = allowPolicy('s3:GetObject', 'arn:aws:s3:::b/*');

  it('PutUserPolicy, GetUserPolicy (URL-encoded), ListUserPolicies, DeleteUserPolicy', async () => {
    const { call, fail } = setup();
    await call('CreateUser', { UserName: 'bob' });
    expect(await call('PutUserPolicy', { UserName: 'bob', PolicyName: 'read', PolicyDocument: doc })).toEqual({});
    const got = await call('GetUserPolicy', { UserName: 'bob', PolicyName: 'read' });
    expect(got).toEqual({ UserName: 'bob', PolicyName: 'read', PolicyDocument: encodeURIComponent(doc) });
    expect(decodeURIComponent(String(got.PolicyDocument))).toBe(doc);
    expect(await call('ListUserPolicies', { UserName: 'bob' })).toEqual({ PolicyNames: ['read'], IsTruncated: false });
    expect(await call('DeleteUserPolicy', { UserName: 'bob', PolicyName: 'read' })).toEqual({});
    const missing = await fail('GetUserPolicy', { UserName: 'bob', PolicyName: 'read' });
    expect([missing.code, missing.message]).toEqual(['NoSuchEntity', 'The user policy with name read cannot be found.']);
    const malformed = await fail('PutUserPolicy', { UserName: 'bob', PolicyName: 'x', PolicyDocument: '{"Version":"2012-10-17"' });
    expect(malformed.code).toBe('MalformedPolicyDocument');
  });

  it('PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy', async () => {
    const { call, fail, acct } = setup();
    await call('CreateRole', { RoleName: 'Ops', AssumeRolePolicyDocument: trustPolicy(acct) });
    await call('PutRolePolicy', { RoleName: 'Ops', PolicyName: 'p', PolicyDocument: doc });
    expect(await call('GetRolePolicy', { RoleName: 'ops', PolicyName: 'p' })).toEqual({
      RoleName: 'Ops',
      PolicyName: 'p',
      PolicyDocument: encodeURIComponent(doc),
    });
    expect(await call('ListRolePolicies', { RoleName: 'Ops' })).toEqual({ PolicyNames: ['p'], IsTruncated: false });
    await call('DeleteRolePolicy', { RoleName: 'Ops', PolicyName: 'p' });
    const missing = await fail('DeleteRolePolicy', { RoleName: 'Ops', PolicyName: 'p' });
    expect(missing.message).toBe('The role policy with name p cannot be found.');
    expect((await fail('PutRolePolicy', { RoleName: 'Nope', PolicyName: 'p', PolicyDocument: doc })).message).toBe(
      'The role with name Nope cannot be found.',
    );
  });
});

describe('managed policies', () => {
  it('CreatePolicy, GetPolicy, ListPolicies, DeletePolicy', async () => {
    const { call, fail, acct, f } = setup();
    const created = await call('CreatePolicy', {
      PolicyName: 'ReadTrails',
      PolicyDocument: allowPolicy('cloudtrail:Get*'),
      Description: 'reads trails',
    });
    const arn = `arn:aws:iam::${acct}:policy/ReadTrails`;
    expect(created).toEqual({
      Policy: {
        PolicyName: 'ReadTrails',
        PolicyId: expect.stringMatching(/^ANPA/) as unknown,
        Arn: arn,
        Path: '/',
        DefaultVersionId: 'v1',
        AttachmentCount: 0,
        PermissionsBoundaryUsageCount: 0,
        IsAttachable: true,
        Description: 'reads trails',
        CreateDate: new Date(f.clock.now()),
        UpdateDate: new Date(f.clock.now()),
      },
    });
    expect(await call('GetPolicy', { PolicyArn: arn })).toEqual(created);
    const listed = await call('ListPolicies', { Scope: 'Local' });
    expect((listed.Policies as Record<string, unknown>[]).map((p) => p.Arn)).toEqual([arn]);
    expect((listed.Policies as Record<string, unknown>[])[0]).not.toHaveProperty('Description');
    const all = await call('ListPolicies');
    expect((all.Policies as Record<string, unknown>[]).map((p) => p.PolicyName)).toEqual(['AdministratorAccess', 'ReadTrails']);

    expect(await call('DeletePolicy', { PolicyArn: arn })).toEqual({});
    const gone = await fail('GetPolicy', { PolicyArn: arn });
    expect([gone.code, gone.message]).toEqual(['NoSuchEntity', `Policy ${arn} was not found.`]);
  });

  it('attaches, lists and detaches policies on users and roles', async () => {
    const { call, fail, acct } = setup();
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    await call('CreateUser', { UserName: 'bob' });
    await call('CreateRole', { RoleName: 'Ops', AssumeRolePolicyDocument: trustPolicy(acct) });
    for (const [op, member, name] of [['User', 'UserName', 'bob'], ['Role', 'RoleName', 'Ops']] as const) {
      expect(await call(`Attach${op}Policy`, { [member]: name, PolicyArn: admin })).toEqual({});
      expect(await call(`ListAttached${op}Policies`, { [member]: name })).toEqual({
        AttachedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: admin }],
        IsTruncated: false,
      });
    }
    expect(((await call('GetPolicy', { PolicyArn: admin })).Policy as Record<string, unknown>).AttachmentCount).toBe(2);
    expect((await fail('DeleteRole', { RoleName: 'Ops' })).message).toBe('Cannot delete entity, must detach all policies first.');
    await call('DetachUserPolicy', { UserName: 'bob', PolicyArn: admin });
    await call('DetachRolePolicy', { RoleName: 'Ops', PolicyArn: admin });
    expect(await call('ListAttachedRolePolicies', { RoleName: 'Ops' })).toEqual({ AttachedPolicies: [], IsTruncated: false });

    const missing = `arn:aws:iam::${acct}:policy/Nope`;
    const err = await fail('AttachUserPolicy', { UserName: 'bob', PolicyArn: missing });
    expect([err.code, err.message]).toEqual(['NoSuchEntity', `Policy ${missing} does not exist or is not attachable.`]);
  });
});

describe('roles', () => {
  it('CreateRole, GetRole, ListRoles, UpdateAssumeRolePolicy, DeleteRole', async () => {
    const { call, fail, acct, f } = setup();
    const trust = trustPolicy(`arn:aws:iam::${acct}:root`);
    const created = await call('CreateRole', {
      RoleName: 'Deployer',
      Path: '/ci/',
      AssumeRolePolicyDocument: trust,
      Description: 'deploys',
      MaxSessionDuration: 7200,
    });
    const role = {
      Path: '/ci/',
      RoleName: 'Deployer',
      RoleId: expect.stringMatching(/^AROA/) as unknown,
      Arn: `arn:aws:iam::${acct}:role/ci/Deployer`,
      CreateDate: new Date(f.clock.now()),
      AssumeRolePolicyDocument: encodeURIComponent(trust),
      MaxSessionDuration: 7200,
      Description: 'deploys',
    };
    expect(created).toEqual({ Role: role });
    expect(await call('GetRole', { RoleName: 'Deployer' })).toEqual({ Role: { ...role, RoleLastUsed: {} } });
    expect(await call('ListRoles', { PathPrefix: '/ci/' })).toEqual({ Roles: [role], IsTruncated: false });

    const other = trustPolicy(acct);
    expect(await call('UpdateAssumeRolePolicy', { RoleName: 'Deployer', PolicyDocument: other })).toEqual({});
    expect(((await call('GetRole', { RoleName: 'Deployer' })).Role as Record<string, unknown>).AssumeRolePolicyDocument).toBe(
      encodeURIComponent(other),
    );
    const badTrust = await fail('UpdateAssumeRolePolicy', { RoleName: 'Deployer', PolicyDocument: allowPolicy('s3:*') });
    expect(badTrust.code).toBe('MalformedPolicyDocument');

    const dup = await fail('CreateRole', { RoleName: 'deployer', AssumeRolePolicyDocument: trust });
    expect([dup.code, dup.message]).toEqual(['EntityAlreadyExists', 'Role with name deployer already exists.']);
    expect(await call('DeleteRole', { RoleName: 'Deployer' })).toEqual({});
    const gone = await fail('GetRole', { RoleName: 'Deployer' });
    expect([gone.code, gone.message]).toEqual(['NoSuchEntity', 'The role with name Deployer cannot be found.']);
  });
});

describe('cloudTrailDate', () => {
  it('writes dates as CloudTrail does in IAM and STS records', () => {
    expect(cloudTrailDate(Date.parse('2020-08-08T20:07:33Z'))).toBe('Aug 8, 2020, 8:07:33 PM');
    expect(cloudTrailDate(Date.parse('2026-04-07T00:05:09Z'))).toBe('Apr 7, 2026, 12:05:09 AM');
    expect(cloudTrailDate(new Date('2026-12-31T12:00:00Z'))).toBe('Dec 31, 2026, 12:00:00 PM');
  });
});
