/**
 * {@link OrganizationStore} on the embedded state database (`state.db`). This module owns
 * the `org_*` tables. A save rewrites them in one transaction (an organization is a few
 * hundred rows at most and changes rarely), committed with `synchronous = FULL`.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate, statement } from '../storage/sqlite.js';
import type {
  AccountStatus,
  CreateAccountRequestRecord,
  MemberAccountRecord,
  OrganizationRecord,
  OrganizationState,
  OrganizationStore,
  PolicyType,
  TagRecord,
} from './store.js';
import { emptyOrganizationState } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE org_organization (
    id TEXT PRIMARY KEY,
    management_account_id TEXT NOT NULL,
    management_account_email TEXT NOT NULL,
    feature_set TEXT NOT NULL,
    root_id TEXT NOT NULL,
    enabled_policy_types TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE org_accounts (
    account_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    joined_method TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    parent_id TEXT NOT NULL
  );
  CREATE TABLE org_units (id TEXT PRIMARY KEY, name TEXT NOT NULL, parent_id TEXT NOT NULL);
  CREATE TABLE org_policies (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, type TEXT NOT NULL, content TEXT NOT NULL);
  CREATE TABLE org_attachments (policy_id TEXT NOT NULL, target_id TEXT NOT NULL, PRIMARY KEY (policy_id, target_id));
  CREATE TABLE org_create_account_requests (id TEXT PRIMARY KEY, requested_at INTEGER NOT NULL, request TEXT NOT NULL);
  CREATE TABLE org_service_access (service_principal TEXT PRIMARY KEY, enabled_at INTEGER NOT NULL);
  CREATE TABLE org_delegated_administrators (
    account_id TEXT NOT NULL, service_principal TEXT NOT NULL, enabled_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, service_principal)
  );
  CREATE TABLE org_tags (resource_id TEXT NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (resource_id, key));
  `,
];

const TABLES = [
  'org_organization',
  'org_accounts',
  'org_units',
  'org_policies',
  'org_attachments',
  'org_create_account_requests',
  'org_service_access',
  'org_delegated_administrators',
  'org_tags',
];

interface OrganizationRow {
  id: string;
  management_account_id: string;
  management_account_email: string;
  feature_set: string;
  root_id: string;
  enabled_policy_types: string;
  created_at: number;
}

interface AccountRow {
  account_id: string;
  name: string;
  email: string;
  status: string;
  joined_method: string;
  joined_at: number;
  parent_id: string;
}

/** The SQLite organization store; creating it applies its migrations. */
export class SqliteOrganizationStore implements OrganizationStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'organizations', MIGRATIONS);
  }

  async load(): Promise<OrganizationState> {
    const db = this.db;
    const state = emptyOrganizationState();
    const org = statement<[], OrganizationRow>(db, 'SELECT * FROM org_organization').get();
    if (!org) return state;
    const organization: OrganizationRecord = {
      id: org.id,
      managementAccountId: org.management_account_id,
      managementAccountEmail: org.management_account_email,
      featureSet: org.feature_set === 'CONSOLIDATED_BILLING' ? 'CONSOLIDATED_BILLING' : 'ALL',
      rootId: org.root_id,
      enabledPolicyTypes: JSON.parse(org.enabled_policy_types) as PolicyType[],
      createdAt: org.created_at,
    };
    state.organization = organization;
    state.accounts = statement<[], AccountRow>(db, 'SELECT * FROM org_accounts ORDER BY joined_at, account_id')
      .all()
      .map(
        (r): MemberAccountRecord => ({
          accountId: r.account_id,
          name: r.name,
          email: r.email,
          status: r.status as AccountStatus,
          joinedMethod: r.joined_method === 'INVITED' ? 'INVITED' : 'CREATED',
          joinedAt: r.joined_at,
          parentId: r.parent_id,
        }),
      );
    state.units = statement<[], { id: string; name: string; parent_id: string }>(db, 'SELECT * FROM org_units ORDER BY rowid')
      .all()
      .map((r) => ({ id: r.id, name: r.name, parentId: r.parent_id }));
    state.policies = statement<[], { id: string; name: string; description: string; type: string; content: string }>(
      db,
      'SELECT * FROM org_policies ORDER BY rowid',
    )
      .all()
      .map((r) => ({ id: r.id, name: r.name, description: r.description, type: r.type as PolicyType, content: r.content }));
    state.attachments = statement<[], { policy_id: string; target_id: string }>(db, 'SELECT * FROM org_attachments ORDER BY rowid')
      .all()
      .map((r) => ({ policyId: r.policy_id, targetId: r.target_id }));
    state.createAccountRequests = statement<[], { request: string }>(db, 'SELECT request FROM org_create_account_requests ORDER BY requested_at, id')
      .all()
      .map((r) => JSON.parse(r.request) as CreateAccountRequestRecord);
    state.serviceAccess = statement<[], { service_principal: string; enabled_at: number }>(db, 'SELECT * FROM org_service_access ORDER BY rowid')
      .all()
      .map((r) => ({ servicePrincipal: r.service_principal, enabledAt: r.enabled_at }));
    state.delegatedAdministrators = statement<[], { account_id: string; service_principal: string; enabled_at: number }>(
      db,
      'SELECT * FROM org_delegated_administrators ORDER BY rowid',
    )
      .all()
      .map((r) => ({ accountId: r.account_id, servicePrincipal: r.service_principal, enabledAt: r.enabled_at }));
    for (const r of statement<[], { resource_id: string; key: string; value: string }>(db, 'SELECT * FROM org_tags ORDER BY resource_id, position').all()) {
      const list: TagRecord[] = (state.tags[r.resource_id] ??= []);
      list.push({ Key: r.key, Value: r.value });
    }
    return state;
  }

  async save(state: OrganizationState): Promise<void> {
    const db = this.db;
    db.transaction(() => {
      for (const table of TABLES) statement(db, `DELETE FROM ${table}`).run();
      const org = state.organization;
      if (!org) return;
      statement(db, 'INSERT INTO org_organization VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        org.id,
        org.managementAccountId,
        org.managementAccountEmail,
        org.featureSet,
        org.rootId,
        JSON.stringify(org.enabledPolicyTypes),
        org.createdAt,
      );
      const account = statement(db, 'INSERT INTO org_accounts VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const a of state.accounts) account.run(a.accountId, a.name, a.email, a.status, a.joinedMethod, a.joinedAt, a.parentId);
      const unit = statement(db, 'INSERT INTO org_units VALUES (?, ?, ?)');
      for (const u of state.units) unit.run(u.id, u.name, u.parentId);
      const policy = statement(db, 'INSERT INTO org_policies VALUES (?, ?, ?, ?, ?)');
      for (const p of state.policies) policy.run(p.id, p.name, p.description, p.type, p.content);
      const attachment = statement(db, 'INSERT INTO org_attachments VALUES (?, ?)');
      for (const a of state.attachments) attachment.run(a.policyId, a.targetId);
      const request = statement(db, 'INSERT INTO org_create_account_requests VALUES (?, ?, ?)');
      for (const r of state.createAccountRequests) request.run(r.id, r.requestedAt, JSON.stringify(r));
      const access = statement(db, 'INSERT INTO org_service_access VALUES (?, ?)');
      for (const s of state.serviceAccess) access.run(s.servicePrincipal, s.enabledAt);
      const admin = statement(db, 'INSERT INTO org_delegated_administrators VALUES (?, ?, ?)');
      for (const d of state.delegatedAdministrators) admin.run(d.accountId, d.servicePrincipal, d.enabledAt);
      const tag = statement(db, 'INSERT INTO org_tags VALUES (?, ?, ?, ?)');
      for (const [resourceId, tags] of Object.entries(state.tags)) tags.forEach((t, i) => tag.run(resourceId, i, t.Key, t.Value));
    })();
  }
}
