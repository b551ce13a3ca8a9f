/**
 * {@link KmsStore} on the embedded state database (`state.db`). This module owns the
 * `kms_*` tables and their migrations. Key material is stored only sealed (AES-256-GCM
 * under the data directory's master key), so the database file alone reveals no key.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate } from '../storage/sqlite.js';
import type { AliasRecord, KeyRecord, KeyState, KmsStore } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE kms_keys (
    key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deletion_date INTEGER,
    policy TEXT NOT NULL,
    sealed_material BLOB NOT NULL,
    tags TEXT NOT NULL
  );
  CREATE INDEX kms_keys_scope ON kms_keys (account_id, region, created_at);
  CREATE INDEX kms_keys_deletion ON kms_keys (deletion_date) WHERE deletion_date IS NOT NULL;
  CREATE TABLE kms_aliases (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    alias_name TEXT NOT NULL,
    target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, alias_name)
  );
  CREATE INDEX kms_aliases_target ON kms_aliases (target_key_id);
  `,
];

interface KeyRow {
  key_id: string;
  account_id: string;
  region: string;
  arn: string;
  description: string;
  state: string;
  created_at: number;
  deletion_date: number | null;
  policy: string;
  sealed_material: Buffer;
  tags: string;
}

interface AliasRow {
  account_id: string;
  region: string;
  alias_name: string;
  target_key_id: string;
  created_at: number;
  updated_at: number;
}

function toState(s: string): KeyState {
  return s === 'Disabled' || s === 'PendingDeletion' ? s : 'Enabled';
}

function toKey(r: KeyRow): KeyRecord {
  const key: KeyRecord = {
    keyId: r.key_id,
    accountId: r.account_id,
    region: r.region,
    arn: r.arn,
    description: r.description,
    state: toState(r.state),
    createdAt: r.created_at,
    policy: r.policy,
    sealedMaterial: r.sealed_material,
    tags: JSON.parse(r.tags) as KeyRecord['tags'],
  };
  if (r.deletion_date !== null) key.deletionDate = r.deletion_date;
  return key;
}

const toAlias = (r: AliasRow): AliasRecord => ({
  accountId: r.account_id,
  region: r.region,
  aliasName: r.alias_name,
  targetKeyId: r.target_key_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The SQLite KMS store.
 *
 * @example
 * const store = new SqliteKmsStore(openStateDatabase(dataDir));
 */
export class SqliteKmsStore implements KmsStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'kms', MIGRATIONS);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getKey(keyId: string): KeyRecord | undefined {
    const row = this.db.prepare<[string], KeyRow>('SELECT * FROM kms_keys WHERE key_id = ?').get(keyId);
    return row ? toKey(row) : undefined;
  }

  listKeys(accountId: string, region: string): KeyRecord[] {
    return this.db
      .prepare<[string, string], KeyRow>('SELECT * FROM kms_keys WHERE account_id = ? AND region = ? ORDER BY created_at, key_id')
      .all(accountId, region)
      .map(toKey);
  }

  listKeysDueForDeletion(now: number): KeyRecord[] {
    return this.db
      .prepare<[number], KeyRow>(
        "SELECT * FROM kms_keys WHERE state = 'PendingDeletion' AND deletion_date IS NOT NULL AND deletion_date <= ? ORDER BY deletion_date",
      )
      .all(now)
      .map(toKey);
  }

  insertKey(key: KeyRecord): void {
    this.db
      .prepare(
        `INSERT INTO kms_keys (key_id, account_id, region, arn, description, state, created_at, deletion_date, policy, sealed_material, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        key.keyId,
        key.accountId,
        key.region,
        key.arn,
        key.description,
        key.state,
        key.createdAt,
        key.deletionDate ?? null,
        key.policy,
        key.sealedMaterial,
        JSON.stringify(key.tags),
      );
  }

  updateKeyState(keyId: string, state: KeyState, deletionDate: number | undefined): void {
    this.db.prepare('UPDATE kms_keys SET state = ?, deletion_date = ? WHERE key_id = ?').run(state, deletionDate ?? null, keyId);
  }

  updateKeyPolicy(keyId: string, policy: string): void {
    this.db.prepare('UPDATE kms_keys SET policy = ? WHERE key_id = ?').run(policy, keyId);
  }

  updateKeyDescription(keyId: string, description: string): void {
    this.db.prepare('UPDATE kms_keys SET description = ? WHERE key_id = ?').run(description, keyId);
  }

  deleteKey(keyId: string): void {
    this.transaction(() => {
      this.db.prepare('DELETE FROM kms_aliases WHERE target_key_id = ?').run(keyId);
      this.db.prepare('DELETE FROM kms_keys WHERE key_id = ?').run(keyId);
    });
  }

  getAlias(accountId: string, region: string, aliasName: string): AliasRecord | undefined {
    const row = this.db
      .prepare<[string, string, string], AliasRow>('SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?')
      .get(accountId, region, aliasName);
    return row ? toAlias(row) : undefined;
  }

  listAliases(accountId: string, region: string): AliasRecord[] {
    return this.db
      .prepare<[string, string], AliasRow>('SELECT * FROM kms_aliases WHERE account_id = ? AND region = ? ORDER BY alias_name')
      .all(accountId, region)
      .map(toAlias);
  }

  insertAlias(alias: AliasRecord): void {
    this.db
      .prepare(
        'INSERT INTO kms_aliases (account_id, region, alias_name, target_key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(alias.accountId, alias.region, alias.aliasName, alias.targetKeyId, alias.createdAt, alias.updatedAt);
  }

  retargetAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, at: number): void {
    this.db
      .prepare('UPDATE kms_aliases SET target_key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND alias_name = ?')
      .run(targetKeyId, at, accountId, region, aliasName);
  }

  deleteAlias(accountId: string, region: string, aliasName: string): void {
    this.db.prepare('DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?').run(accountId, region, aliasName);
  }
}
