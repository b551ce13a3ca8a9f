import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { AwsError } from '../platform/errors.js';
import { cryptoRandom } from '../platform/ids.js';
import { Identities } from './identities.js';
import { SqliteIdentityStore } from './sqlite-store.js';
import { allowPolicy, denyPolicy, identityFixture, trustPolicy } from './testing.js';

function awsError(fn: () => unknown): AwsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AwsError) return e;
    throw e;
  }
  throw new Error('expected an AwsError');
}

function userPrincipal(f: ReturnType<typeof identityFixture>, userName: string): Principal {
  const key = f.identities.createAccessKey(f.root.accountId, userName);
  const resolved = f.identities.resolveAccessKey(key.accessKeyId);
  if (!resolved) throw new Error('key did not resolve');
  return resolved.principal;
}

describe('management account', () => {
  it('is created once, with a root access key, and found again afterwards', () => {
    const f = identityFixture();
    expect(f.root.created).toBe(true);
    expect(f.root.accountId).toMatch(/^[1-9]\d{11}$/);
    expect(f.root.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(f.root.secretAccessKey).toHaveLength(40);

    const again = f.identities.ensureManagementAccount();
    expect(again).toEqual({ ...f.root, created: false });

    // A new process on the same database finds the same account and key.
    const restarted = new Identities({ store: new SqliteIdentityStore(f.db), clock: f.clock, random: cryptoRandom });
    expect(restarted.ensureManagementAccount()).toEqual({ ...f.root, created: false });
  });

  it('resolves the root key to the Root principal', () => {
    const f = identityFixture();
    expect(f.identities.resolveAccessKey(f.root.accessKeyId)).toEqual({
      secretAccessKey: f.root.secretAccessKey,
      principal: { type: 'Root', accountId: f.root.accountId, accessKeyId: f.root.accessKeyId },
      active: true,
    });
    expect(f.identities.identityPolicies({ type: 'Root', accountId: f.root.accountId, accessKeyId: f.root.accessKeyId })).toEqual([]);
  });
});

describe('member accounts', () => {
  it('creates another account with its own root key, leaving the management account as it was', () => {
    const f = identityFixture();
    const member = f.identities.createAccount();
    expect(member.accountId).toMatch(/^[1-9]\d{11}$/);
    expect(member.accountId).not.toBe(f.root.accountId);
    expect(f.identities.getAccount(member.accountId)?.isManagement).toBe(false);
    expect(f.identities.resolveAccessKey(member.accessKeyId)?.principal).toEqual({
      type: 'Root',
      accountId: member.accountId,
      accessKeyId: member.accessKeyId,
    });
    expect(f.identities.ensureManagementAccount()).toEqual({ ...f.root, created: false });
    const user = f.identities.createUser(member.accountId, { userName: 'reader' });
    expect(user.arn).toBe(`arn:aws:iam::${member.accountId}:user/reader`);
  });
});

describe('users and access keys', () => {
  it('creates users with case-insensitive unique names', () => {
    const f = identityFixture();
    const bob = f.identities.createUser(f.root.accountId, { userName: 'Bob', path: '/ops/' });
    expect(bob.userId).toMatch(/^AIDA/);
    expect(bob.arn).toBe(`arn:aws:iam::${f.root.accountId}:user/ops/Bob`);
    expect(bob.createdAt).toBe(f.clock.now());
    expect(f.identities.getUser(f.root.accountId, 'BOB').userName).toBe('Bob');

    const dup = awsError(() => f.identities.createUser(f.root.accountId, { userName: 'bob' }));
    expect(dup.code).toBe('EntityAlreadyExists');
    expect(dup.message).toBe('User with name bob already exists.');
    expect(dup.status).toBe(409);

    const missing = awsError(() => f.identities.getUser(f.root.accountId, 'carol'));
    expect(missing.code).toBe('NoSuchEntity');
    expect(missing.message).toBe('The user with name carol cannot be found.');
    expect(missing.status).toBe(404);
  });

  it('lists users by name and path prefix', () => {
    const f = identityFixture();
    for (const [name, path] of [['zed', '/'], ['amy', '/ops/'], ['Kim', '/ops/team/']] as const) {
      f.identities.createUser(f.root.accountId, { userName: name, path });
    }
    expect(f.identities.listUsers(f.root.accountId).map((u) => u.userName)).toEqual(['amy', 'Kim', 'zed']);
    expect(f.identities.listUsers(f.root.accountId, '/ops/').map((u) => u.userName)).toEqual(['amy', 'Kim']);
  });

  it('resolves a user key, follows its status and forgets it once deleted', () => {
    const f = identityFixture();
    const bob = f.identities.createUser(f.root.accountId, { userName: 'bob' });
    const key = f.identities.createAccessKey(f.root.accountId, 'bob');
    expect(key.userName).toBe('bob');
    expect(f.identities.resolveAccessKey(key.accessKeyId)).toEqual({
      secretAccessKey: key.secretAccessKey,
      principal: {
        type: 'IAMUser',
        accountId: f.root.accountId,
        accessKeyId: key.accessKeyId,
        userName: 'bob',
        userId: bob.userId,
        path: '/',
      },
      active: true,
    });

    f.identities.updateAccessKey(f.root.accountId, 'bob', key.accessKeyId, 'Inactive');
    expect(f.identities.resolveAccessKey(key.accessKeyId)?.active).toBe(false);
    f.identities.updateAccessKey(f.root.accountId, 'bob', key.accessKeyId, 'Active');
    expect(f.identities.resolveAccessKey(key.accessKeyId)?.active).toBe(true);

    f.identities.deleteAccessKey(f.root.accountId, 'bob', key.accessKeyId);
    expect(f.identities.resolveAccessKey(key.accessKeyId)).toBeUndefined();
    expect(f.identities.resolveAccessKey('AKIAUNKNOWNUNKNOWN00')).toBeUndefined();
  });

  it('allows two access keys per user, and only the owner names a key', () => {
    const f = identityFixture();
    f.identities.createUser(f.root.accountId, { userName: 'bob' });
    f.identities.createUser(f.root.accountId, { userName: 'amy' });
    const first = f.identities.createAccessKey(f.root.accountId, 'bob');
    f.identities.createAccessKey(f.root.accountId, 'bob');
    const limit = awsError(() => f.identities.createAccessKey(f.root.accountId, 'bob'));
    expect(limit.code).toBe('LimitExceeded');
    expect(limit.message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');

    const listed = f.identities.listAccessKeys(f.root.accountId, 'bob');
    expect(listed).toHaveLength(2);
    expect(listed[0]).not.toHaveProperty('secretAccessKey');

    const wrongOwner = awsError(() => f.identities.deleteAccessKey(f.root.accountId, 'amy', first.accessKeyId));
    expect(wrongOwner.code).toBe('NoSuchEntity');
    expect(wrongOwner.message).toBe(`The Access Key with id ${first.accessKeyId} cannot be found.`);
    // The root's key is not a user's.
    expect(awsError(() => f.identities.updateAccessKey(f.root.accountId, 'bob', f.root.accessKeyId, 'Inactive')).code).toBe(
      'NoSuchEntity',
    );
  });

  it('manages the root access keys when no user is named', () => {
    const f = identityFixture();
    const second = f.identities.createAccessKey(f.root.accountId, null);
    expect(f.identities.listAccessKeys(f.root.accountId, null).map((k) => k.accessKeyId)).toEqual([
      f.root.accessKeyId,
      second.accessKeyId,
    ]);
    expect(awsError(() => f.identities.createAccessKey(f.root.accountId, null)).code).toBe('LimitExceeded');
    f.identities.updateAccessKey(f.root.accountId, null, second.accessKeyId, 'Inactive');
    expect(f.identities.resolveAccessKey(second.accessKeyId)?.active).toBe(false);
  });

  it('refuses to delete a user that still has keys or policies', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    f.identities.createUser(acct, { userName: 'bob' });
    const key = f.identities.createAccessKey(acct, 'bob');
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'inline', allowPolicy('s3:*'));
    f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, 'arn:aws:iam::aws:policy/AdministratorAccess');

    const keys = awsError(() => f.identities.deleteUser(acct, 'bob'));
    expect([keys.code, keys.message, keys.status]).toEqual([
      'DeleteConflict',
      'Cannot delete entity, must delete access keys first.',
      409,
    ]);
    f.identities.deleteAccessKey(acct, 'bob', key.accessKeyId);
    expect(awsError(() => f.identities.deleteUser(acct, 'bob')).message).toBe('Cannot delete entity, must delete policies first.');
    f.identities.deleteInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'inline');
    expect(awsError(() => f.identities.deleteUser(acct, 'bob')).message).toBe(
      'Cannot delete entity, must detach all policies first.',
    );
    f.identities.detachPolicy(acct, { kind: 'user', name: 'bob' }, 'arn:aws:iam::aws:policy/AdministratorAccess');
    f.identities.deleteUser(acct, 'bob');
    expect(f.identities.findUser(acct, 'bob')).toBeUndefined();
  });

  it('records when a key was last used, writing at most once a minute', () => {
    const f = identityFixture();
    f.identities.createUser(f.root.accountId, { userName: 'bob' });
    const key = f.identities.createAccessKey(f.root.accountId, 'bob');
    expect(f.identities.getAccessKeyLastUsed(f.root.accountId, key.accessKeyId)).toEqual({ userName: 'bob' });

    const first = f.clock.now();
    f.identities.noteAccessKeyUsed(key.accessKeyId, { serviceName: 'iam', region: 'us-east-1' });
    f.clock.advance(30_000);
    f.identities.noteAccessKeyUsed(key.accessKeyId, { serviceName: 'sts', region: 'eu-west-1' });
    expect(f.identities.getAccessKeyLastUsed(f.root.accountId, key.accessKeyId).lastUsed).toEqual({
      at: first,
      serviceName: 'iam',
      region: 'us-east-1',
    });
    f.clock.advance(31_000);
    f.identities.noteAccessKeyUsed(key.accessKeyId, { serviceName: 'sts', region: 'eu-west-1' });
    expect(f.identities.getAccessKeyLastUsed(f.root.accountId, key.accessKeyId).lastUsed?.serviceName).toBe('sts');
  });
});

describe('policies', () => {
  it('gives a user its inline and attached policies, parsed once and refreshed on change', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    f.identities.createUser(acct, { userName: 'bob' });
    const bob = userPrincipal(f, 'bob');
    expect(f.identities.identityPolicies(bob)).toEqual([]);

    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'read', allowPolicy('s3:GetObject'));
    const managed = f.identities.createPolicy(acct, { policyName: 'Trails', document: allowPolicy('cloudtrail:*') });
    f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, managed.arn);

    const docs = f.identities.identityPolicies(bob);
    expect(docs).toHaveLength(2);
    expect(JSON.stringify(docs)).toContain('s3:GetObject');
    expect(JSON.stringify(docs)).toContain('cloudtrail:*');
    expect(f.identities.identityPolicies(bob)).toBe(docs);

    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'read', denyPolicy('s3:GetObject'));
    expect(JSON.stringify(f.identities.identityPolicies(bob))).toContain('Deny');
  });

  it('keeps inline policies per owner, replacing by name', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    const bob = { kind: 'user', name: 'bob' } as const;
    f.identities.createUser(acct, { userName: 'bob' });
    f.identities.putInlinePolicy(acct, bob, 'Zeta', allowPolicy('s3:*'));
    f.identities.putInlinePolicy(acct, bob, 'alpha', allowPolicy('sqs:*'));
    f.identities.putInlinePolicy(acct, bob, 'zeta', allowPolicy('sns:*'));
    expect(f.identities.listInlinePolicies(acct, bob)).toEqual(['alpha', 'Zeta']);
    expect(f.identities.getInlinePolicy(acct, bob, 'ZETA')).toEqual({
      policyName: 'Zeta',
      document: allowPolicy('sns:*'),
      ownerName: 'bob',
    });
    const missing = awsError(() => f.identities.getInlinePolicy(acct, bob, 'nope'));
    expect([missing.code, missing.message]).toEqual(['NoSuchEntity', 'The user policy with name nope cannot be found.']);
    expect(awsError(() => f.identities.deleteInlinePolicy(acct, bob, 'nope')).code).toBe('NoSuchEntity');
    expect(awsError(() => f.identities.putInlinePolicy(acct, { kind: 'user', name: 'carol' }, 'p', allowPolicy('s3:*'))).message).toBe(
      'The user with name carol cannot be found.',
    );
  });

  it('refuses malformed and oversized policy documents', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    f.identities.createUser(acct, { userName: 'bob' });
    const bad = awsError(() => f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'p', '{"Statement":'));
    expect(bad.code).toBe('MalformedPolicyDocument');
    expect(awsError(() => f.identities.createPolicy(acct, { policyName: 'p', document: 'nope' })).code).toBe('MalformedPolicyDocument');

    const big = allowPolicy(Array.from({ length: 200 }, (_, i) => `s3:Action${i}`));
    const tooBig = awsError(() => f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'big', big));
    expect([tooBig.code, tooBig.message]).toEqual(['LimitExceeded', 'Maximum policy size of 2048 bytes exceeded for user bob']);
  });

  it('creates, lists, attaches and deletes customer-managed policies', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    const policy = f.identities.createPolicy(acct, {
      policyName: 'ReadTrails',
      path: '/audit/',
      document: allowPolicy('cloudtrail:Get*'),
      description: 'read',
    });
    expect(policy).toMatchObject({
      arn: `arn:aws:iam::${acct}:policy/audit/ReadTrails`,
      defaultVersionId: 'v1',
      attachmentCount: 0,
      isAttachable: true,
      description: 'read',
      scope: 'Local',
    });
    expect(policy.policyId).toMatch(/^ANPA/);

    const dup = awsError(() => f.identities.createPolicy(acct, { policyName: 'readtrails', document: allowPolicy('s3:*') }));
    expect([dup.code, dup.message]).toEqual([
      'EntityAlreadyExists',
      'A policy called readtrails already exists. Duplicate names are not allowed.',
    ]);

    expect(f.identities.listPolicies(acct).map((p) => p.policyName)).toEqual(['AdministratorAccess', 'ReadTrails']);
    expect(f.identities.listPolicies(acct, { scope: 'Local' }).map((p) => p.policyName)).toEqual(['ReadTrails']);
    expect(f.identities.listPolicies(acct, { scope: 'AWS' }).map((p) => p.policyName)).toEqual(['AdministratorAccess']);
    expect(f.identities.listPolicies(acct, { onlyAttached: true })).toEqual([]);
    expect(f.identities.listPolicies(acct, { pathPrefix: '/audit/' }).map((p) => p.policyName)).toEqual(['ReadTrails']);

    f.identities.createRole(acct, { roleName: 'auditor', assumeRolePolicyDocument: trustPolicy(acct) });
    f.identities.attachPolicy(acct, { kind: 'role', name: 'auditor' }, policy.arn);
    f.identities.attachPolicy(acct, { kind: 'role', name: 'auditor' }, policy.arn);
    expect(f.identities.getPolicy(acct, policy.arn).attachmentCount).toBe(1);
    expect(f.identities.listAttachedPolicies(acct, { kind: 'role', name: 'auditor' })).toEqual([
      { policyName: 'ReadTrails', policyArn: policy.arn },
    ]);
    expect(f.identities.listAttachedPolicies(acct, { kind: 'role', name: 'auditor' }, '/other/')).toEqual([]);

    const conflict = awsError(() => f.identities.deletePolicy(acct, policy.arn));
    expect([conflict.code, conflict.message]).toEqual(['DeleteConflict', 'Cannot delete a policy attached to entities.']);
    f.identities.detachPolicy(acct, { kind: 'role', name: 'auditor' }, policy.arn);
    const notAttached = awsError(() => f.identities.detachPolicy(acct, { kind: 'role', name: 'auditor' }, policy.arn));
    expect([notAttached.code, notAttached.message]).toEqual(['NoSuchEntity', `Policy ${policy.arn} was not found.`]);

    f.identities.deletePolicy(acct, policy.arn);
    const gone = awsError(() => f.identities.getPolicy(acct, policy.arn));
    expect([gone.code, gone.message]).toEqual(['NoSuchEntity', `Policy ${policy.arn} was not found.`]);
  });

  it('refuses to attach policies that do not exist or are not ARNs', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    f.identities.createUser(acct, { userName: 'bob' });
    const arn = `arn:aws:iam::${acct}:policy/Nope`;
    const missing = awsError(() => f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, arn));
    expect([missing.code, missing.message]).toEqual(['NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`]);
    const invalid = awsError(() => f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, 'arn:aws:s3:::bucket'));
    expect([invalid.code, invalid.message]).toEqual(['InvalidInput', 'ARN arn:aws:s3:::bucket is not valid.']);
  });

  it('caps managed policies at ten per user', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    f.identities.createUser(acct, { userName: 'bob' });
    for (let i = 0; i < 10; i++) {
      const p = f.identities.createPolicy(acct, { policyName: `p${i}`, document: allowPolicy('s3:*') });
      f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, p.arn);
    }
    const eleventh = f.identities.createPolicy(acct, { policyName: 'p10', document: allowPolicy('s3:*') });
    const limit = awsError(() => f.identities.attachPolicy(acct, { kind: 'user', name: 'bob' }, eleventh.arn));
    expect([limit.code, limit.message]).toEqual(['LimitExceeded', 'Cannot exceed quota for PoliciesPerUser: 10']);
  });
});

describe('roles', () => {
  it('creates, reads, lists and deletes roles', () => {
    const f = identityFixture();
    const acct = f.root.accountId;
    const role = f.identities.createRole(acct, {
      roleName: 'Deployer',
      path: '/ci/',
      assumeRolePolicyDocument: trustPolicy(acct),
      description: 'deploys',
    });
    expect(role).toMatchObject({ arn: `arn:aws:iam::${acct}:role/ci/Deployer`, maxSessionDuration: 3600, description: 'deploys' });
    expect(role.roleId).toMatch(/^AROA/);
    expect(awsError(() => f.identities.createRole(acct, { roleName: 'deployer', assumeRolePolicyDocument: trustPolicy(acct) })).message).toBe(
      'Role with name deployer already exists.',
    );
    expect(f.identities.listRoles(acct, '/ci/').map((r) => r.roleName)).toEqual(['Deployer']);
    expect(f.identities.listRoles(acct, '/web/')).toEqual([]);

    const trust = awsError(() =>
      f.identities.createRole(acct, { roleName: 'x', assumeRolePolicyDocument: allowPolicy('sts:AssumeRole') }),
    );
    expect(trust.code).toBe('MalformedPolicyDocument');

    f.identities.updateAssumeRolePolicy(acct, 'deployer', trustPolicy(`arn:aws:iam::${acct}:root`));
    expect(f.identities.getRole(acct, 'Deployer').assumeRolePolicyDocument).toBe(trustPolicy(`arn:aws:iam::${acct}:root`));

    f.identities.putInlinePolicy(acct, { kind: 'role', name: 'Deployer' }, 'p', allowPolicy('s3:*'));
    expect(awsError(() => f.identities.deleteRole(acct, 'Deployer')).message).toBe('Cannot delete entity, must delete policies first.');
    f.identities.deleteInlinePolicy(acct, { kind: 'role', name: 'Deployer' }, 'p');
    f.identities.deleteRole(acct, 'Deployer');
    const gone = awsError(() => f.identities.getRole(acct, 'Deployer'));
    expect([gone.code, gone.message]).toEqual(['NoSuchEntity', 'The role with name Deployer cannot be found.']);
  });
});

describe('assumeRole', () => {
  function withRole(trust: (acct: string, bobArn: string) => string) {
    const f = identityFixture();
    const acct = f.root.accountId;
    const bobUser = f.identities.createUser(acct, { userName: 'bob' });
    const bob = userPrincipal(f, 'bob');
    const role = f.identities.createRole(acct, { roleName: 'Ops', assumeRolePolicyDocument: trust(acct, bobUser.arn) });
    return { f, acct, bob, role };
  }

  it('issues temporary credentials that resolve to the role session and expire by the clock', () => {
    const { f, acct, bob, role } = withRole((_, bobArn) => trustPolicy(bobArn));
    f.identities.putInlinePolicy(acct, { kind: 'role', name: 'Ops' }, 'p', allowPolicy('cloudtrail:*'));
    const issuedAt = f.clock.now();
    const creds = f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 'deploy', durationSeconds: 900 });

    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.secretAccessKey).toHaveLength(40);
    expect(creds.sessionToken.length).toBeGreaterThan(100);
    expect(creds.expiration).toBe(issuedAt + 900_000);
    expect(creds.assumedRoleId).toBe(`${role.roleId}:deploy`);
    expect(creds.arn).toBe(`arn:aws:sts::${acct}:assumed-role/Ops/deploy`);

    const resolved = f.identities.resolveAccessKey(creds.accessKeyId);
    expect(resolved).toEqual({
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
      expiresAt: creds.expiration,
      active: true,
      principal: {
        type: 'AssumedRole',
        accountId: acct,
        accessKeyId: creds.accessKeyId,
        roleName: 'Ops',
        roleId: role.roleId,
        rolePath: '/',
        sessionName: 'deploy',
        issuedAt,
        sourceArn: `arn:aws:iam::${acct}:user/bob`,
      },
    });
    if (!resolved) throw new Error('unreachable');
    expect(JSON.stringify(f.identities.identityPolicies(resolved.principal))).toContain('cloudtrail:*');
    expect(f.identities.getRole(acct, 'Ops').lastUsed).toEqual({ at: issuedAt, region: 'us-east-1' });

    // The pipeline refuses once expiresAt has passed; a day later the credentials are forgotten.
    f.clock.advance(900_000);
    expect(f.identities.resolveAccessKey(creds.accessKeyId)?.expiresAt).toBeLessThanOrEqual(f.clock.now());
    f.clock.advance(25 * 3600 * 1000);
    f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 'later' });
    expect(f.identities.resolveAccessKey(creds.accessKeyId)).toBeUndefined();
  });

  it('defaults to one hour and enforces MaxSessionDuration and the role-chaining limit', () => {
    const { f, acct, bob, role } = withRole((a, bobArn) => trustPolicy(bobArn, `arn:aws:iam::${a}:role/Ops`));
    const creds = f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' });
    expect(creds.expiration - f.clock.now()).toBe(3600_000);

    const tooLong = awsError(() => f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's', durationSeconds: 7200 }));
    expect([tooLong.code, tooLong.message]).toEqual([
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    ]);

    const session = f.identities.resolveAccessKey(creds.accessKeyId)?.principal;
    if (!session) throw new Error('unreachable');
    // Chaining: the role's own sessions may assume it again (the trust names the role), for an hour at most.
    expect(f.identities.assumeRole(session, { roleArn: role.arn, roleSessionName: 'chained' }).arn).toBe(
      `arn:aws:sts::${acct}:assumed-role/Ops/chained`,
    );
    expect(
      awsError(() => f.identities.assumeRole(session, { roleArn: role.arn, roleSessionName: 'c', durationSeconds: 3601 })).message,
    ).toBe('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  });

  it('refuses callers the trust policy does not name', () => {
    const { f, acct, role } = withRole((a) => trustPolicy(`arn:aws:iam::${a}:user/alice`));
    f.identities.createUser(acct, { userName: 'carol' });
    const carol = userPrincipal(f, 'carol');
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'carol' }, 'p', allowPolicy('sts:AssumeRole'));
    const denied = awsError(() => f.identities.assumeRole(carol, { roleArn: role.arn, roleSessionName: 's' }));
    expect([denied.code, denied.status, denied.message]).toEqual([
      'AccessDenied',
      403,
      `User: arn:aws:iam::${acct}:user/carol is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`,
    ]);
  });

  it('defers to identity policies when the trust policy names only the account', () => {
    const { f, acct, bob, role } = withRole((a) => trustPolicy(`arn:aws:iam::${a}:root`));
    expect(awsError(() => f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' })).code).toBe('AccessDenied');
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'p', allowPolicy('sts:AssumeRole', role.arn));
    expect(f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' }).accessKeyId).toMatch(/^ASIA/);
    // An explicit deny in the caller's policies wins over the trust policy.
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'deny', denyPolicy('sts:AssumeRole'));
    expect(awsError(() => f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' })).code).toBe('AccessDenied');
  });

  it('checks the external id through the trust policy condition', () => {
    const { f, bob, role } = withRole((_, bobArn) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: bobArn },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': 'secret-123' } },
          },
        ],
      }),
    );
    expect(awsError(() => f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' })).code).toBe('AccessDenied');
    expect(
      awsError(() => f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's', externalId: 'wrong' })).code,
    ).toBe('AccessDenied');
    expect(f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's', externalId: 'secret-123' }).accessKeyId).toMatch(
      /^ASIA/,
    );
  });

  it('needs both sides across accounts', () => {
    const { f, acct, bob } = withRole((a) => trustPolicy(a));
    const other = '210987654321';
    f.store.insertAccount({ accountId: other, isManagement: false, createdAt: f.clock.now() });
    const foreign = f.identities.createRole(other, {
      roleName: 'Shared',
      assumeRolePolicyDocument: trustPolicy(`arn:aws:iam::${acct}:user/bob`),
    });
    expect(awsError(() => f.identities.assumeRole(bob, { roleArn: foreign.arn, roleSessionName: 's' })).code).toBe('AccessDenied');
    f.identities.putInlinePolicy(acct, { kind: 'user', name: 'bob' }, 'p', allowPolicy('sts:AssumeRole'));
    const creds = f.identities.assumeRole(bob, { roleArn: foreign.arn, roleSessionName: 's' });
    expect(creds.arn).toBe(`arn:aws:sts::${other}:assumed-role/Shared/s`);
    expect(f.identities.resolveAccessKey(creds.accessKeyId)?.principal.accountId).toBe(other);
  });

  it('refuses the root user, unknown roles and wrong paths', () => {
    const { f, acct, bob, role } = withRole((_, bobArn) => trustPolicy(bobArn));
    const root: Principal = { type: 'Root', accountId: acct, accessKeyId: f.root.accessKeyId };
    const rootDenied = awsError(() => f.identities.assumeRole(root, { roleArn: role.arn, roleSessionName: 's' }));
    expect([rootDenied.code, rootDenied.message]).toEqual(['AccessDenied', 'Roles may not be assumed by root accounts.']);
    for (const arn of [`arn:aws:iam::${acct}:role/Nope`, `arn:aws:iam::${acct}:role/wrong/Ops`, 'not-an-arn']) {
      expect(awsError(() => f.identities.assumeRole(bob, { roleArn: arn, roleSessionName: 's' })).message).toBe(
        `User: arn:aws:iam::${acct}:user/bob is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
      );
    }
  });

  it('leaves sessions of a deleted role without permissions', () => {
    const { f, acct, bob, role } = withRole((_, bobArn) => trustPolicy(bobArn));
    f.identities.putInlinePolicy(acct, { kind: 'role', name: 'Ops' }, 'p', allowPolicy('s3:*'));
    const creds = f.identities.assumeRole(bob, { roleArn: role.arn, roleSessionName: 's' });
    const session = f.identities.resolveAccessKey(creds.accessKeyId)?.principal;
    if (!session) throw new Error('unreachable');
    expect(f.identities.identityPolicies(session)).toHaveLength(1);
    f.identities.deleteInlinePolicy(acct, { kind: 'role', name: 'Ops' }, 'p');
    f.identities.deleteRole(acct, 'Ops');
    f.identities.createRole(acct, { roleName: 'Ops', assumeRolePolicyDocument: trustPolicy(acct) });
    f.identities.putInlinePolicy(acct, { kind: 'role', name: 'Ops' }, 'p', allowPolicy('s3:*'));
    expect(f.identities.identityPolicies(session)).toEqual([]);
  });
});
