import { describe, expect, it } from 'vitest';
import { openStateDatabase } from '../storage/sqlite.js';
import { SqliteIdentityStore } from './sqlite-store.js';

function store() {
  const db = openStateDatabase(':memory:');
  const s = new SqliteIdentityStore(db);
  s.insertAccount({ accountId: '123456789012', isManagement: true, createdAt: 1 });
  return { db, s };
}

describe('SqliteIdentityStore', () => {
  it('migrates once and reopens on the same database', () => {
    const { db, s } = store();
    s.insertUser({ userId: 'AIDA1', accountId: '123456789012', userName: 'bob', path: '/', createdAt: 2 });
    const reopened = new SqliteIdentityStore(db);
    expect(reopened.getUser('123456789012', 'bob')?.userId).toBe('AIDA1');
    expect(reopened.getManagementAccount()).toEqual({ accountId: '123456789012', isManagement: true, createdAt: 1 });
  });

  it('finds names case-insensitively and orders lists by name', () => {
    const { s } = store();
    for (const [id, name] of [['AIDA1', 'zed'], ['AIDA2', 'Amy'], ['AIDA3', 'bob']]) {
      s.insertUser({ userId: id ?? '', accountId: '123456789012', userName: name ?? '', path: '/', createdAt: 2 });
    }
    expect(s.getUser('123456789012', 'AMY')?.userName).toBe('Amy');
    expect(s.listUsers('123456789012').map((u) => u.userName)).toEqual(['Amy', 'bob', 'zed']);
    expect(() => s.insertUser({ userId: 'AIDA4', accountId: '123456789012', userName: 'BOB', path: '/', createdAt: 3 })).toThrow();
    expect(s.getUser('999999999999', 'bob')).toBeUndefined();
  });

  it('keeps access keys with their status and last use', () => {
    const { s } = store();
    s.insertAccessKey({ accessKeyId: 'AKIA1', secretAccessKey: 'secret', accountId: '123456789012', userId: null, status: 'Active', createdAt: 5 });
    s.updateAccessKeyStatus('AKIA1', 'Inactive');
    s.recordAccessKeyUse('AKIA1', { at: 9, serviceName: 'sts', region: 'eu-west-1' });
    expect(s.getAccessKey('AKIA1')).toEqual({
      accessKeyId: 'AKIA1',
      secretAccessKey: 'secret',
      accountId: '123456789012',
      userId: null,
      status: 'Inactive',
      createdAt: 5,
      lastUsed: { at: 9, serviceName: 'sts', region: 'eu-west-1' },
    });
    expect(s.listAccessKeys('123456789012', null)).toHaveLength(1);
    expect(s.listAccessKeys('123456789012', 'AIDA1')).toHaveLength(0);
    s.deleteAccessKey('AKIA1');
    expect(s.getAccessKey('AKIA1')).toBeUndefined();
  });

  it('keeps roles, policies and attachments', () => {
    const { s } = store();
    s.insertRole({
      roleId: 'AROA1',
      accountId: '123456789012',
      roleName: 'Ops',
      path: '/',
      assumeRolePolicyDocument: '{}',
      maxSessionDuration: 3600,
      createdAt: 1,
    });
    s.updateRoleTrustPolicy('AROA1', '{"x":1}');
    s.recordRoleUse('AROA1', { at: 7, region: 'us-west-2' });
    expect(s.getRoleById('AROA1')).toMatchObject({ assumeRolePolicyDocument: '{"x":1}', lastUsed: { at: 7, region: 'us-west-2' } });
    expect(s.getRole('123456789012', 'ops')?.roleId).toBe('AROA1');

    s.putInlinePolicy({ ownerId: 'AROA1', policyName: 'p', document: 'a' });
    s.putInlinePolicy({ ownerId: 'AROA1', policyName: 'p', document: 'b' });
    expect(s.listInlinePolicies('AROA1')).toEqual([{ ownerId: 'AROA1', policyName: 'p', document: 'b' }]);

    const arn = 'arn:aws:iam::123456789012:policy/P';
    s.insertManagedPolicy({
      policyId: 'ANPA1',
      accountId: '123456789012',
      policyName: 'P',
      path: '/',
      arn,
      document: '{}',
      defaultVersionId: 'v1',
      createdAt: 1,
      updatedAt: 1,
    });
    expect(s.getManagedPolicyByName('123456789012', 'p')?.arn).toBe(arn);
    s.attachPolicy('AROA1', arn, 3);
    s.attachPolicy('AROA1', arn, 4);
    expect(s.countAttachments(arn)).toBe(1);
    expect(s.listAttachedPolicies('AROA1')).toEqual([arn]);
    expect(s.detachPolicy('AROA1', arn)).toBe(true);
    expect(s.detachPolicy('AROA1', arn)).toBe(false);
  });

  it('forgets temporary credentials once expired long enough', () => {
    const { s } = store();
    const base = {
      secretAccessKey: 's',
      sessionToken: 't',
      accountId: '123456789012',
      roleId: 'AROA1',
      roleName: 'Ops',
      rolePath: '/',
      sessionName: 'x',
      sourceArn: 'arn:aws:iam::123456789012:user/bob',
      issuedAt: 0,
    };
    s.insertTemporaryCredential({ ...base, accessKeyId: 'ASIA1', expiresAt: 100 });
    s.insertTemporaryCredential({ ...base, accessKeyId: 'ASIA2', expiresAt: 200 });
    expect(s.deleteTemporaryCredentialsExpiredBefore(150)).toBe(1);
    expect(s.getTemporaryCredential('ASIA1')).toBeUndefined();
    expect(s.getTemporaryCredential('ASIA2')?.expiresAt).toBe(200);
  });

  it('joins an outer transaction and rolls back on error', () => {
    const { s } = store();
    expect(() =>
      s.transaction(() => {
        s.transaction(() => s.insertUser({ userId: 'AIDA9', accountId: '123456789012', userName: 'x', path: '/', createdAt: 1 }));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.getUserById('AIDA9')).toBeUndefined();
  });
});
