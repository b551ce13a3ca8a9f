/**
 * The functions store on the embedded state database (state.db): records as JSON beside
 * the columns they are looked up by, code packages as blobs keyed by their SHA-256.
 */
import { migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type {
  AliasRecord,
  AsyncInvocationRecord,
  EventSourceMappingRecord,
  FunctionRecord,
  FunctionScope,
  FunctionStore,
  VersionRecord,
} from './store.js';

const MIGRATIONS = [
  `CREATE TABLE lambda_functions (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name)) WITHOUT ROWID;
   CREATE TABLE lambda_versions (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name, version)) WITHOUT ROWID;
   CREATE TABLE lambda_aliases (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name, alias)) WITHOUT ROWID;
   CREATE TABLE lambda_mappings (uuid TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE lambda_code (sha256 TEXT PRIMARY KEY, zip BLOB NOT NULL) WITHOUT ROWID;
   CREATE TABLE lambda_async (id TEXT PRIMARY KEY, function_arn TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt INTEGER NOT NULL, enqueued INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX lambda_async_due ON lambda_async (next_attempt);`,
];

interface AsyncRow {
  id: string;
  function_arn: string;
  payload: string;
  attempts: number;
  next_attempt: number;
  enqueued: number;
}

/**
 * The SQLite store.
 *
 * @example
 * const store = new SqliteFunctionStore(openStateDatabase(dataDir));
 */
export class SqliteFunctionStore implements FunctionStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'lambda', MIGRATIONS);
  }

  private bodies<T>(sql: string, ...params: unknown[]): T[] {
    return statement<unknown[], { body: string }>(this.db, sql)
      .all(...params)
      .map((r) => JSON.parse(r.body) as T);
  }

  async getFunction(scope: FunctionScope, name: string): Promise<FunctionRecord | undefined> {
    return this.bodies<FunctionRecord>('SELECT body FROM lambda_functions WHERE account = ? AND region = ? AND name = ?', scope.accountId, scope.region, name)[0];
  }
  async putFunction(r: FunctionRecord): Promise<void> {
    statement(this.db, 'INSERT OR REPLACE INTO lambda_functions (account, region, name, body) VALUES (?, ?, ?, ?)').run(r.accountId, r.region, r.functionName, JSON.stringify(r));
  }
  async deleteFunction(scope: FunctionScope, name: string): Promise<void> {
    this.db.transaction(() => {
      for (const table of ['lambda_functions', 'lambda_versions', 'lambda_aliases']) {
        statement(this.db, `DELETE FROM ${table} WHERE account = ? AND region = ? AND name = ?`).run(scope.accountId, scope.region, name);
      }
    })();
  }
  async listFunctions(scope?: FunctionScope): Promise<FunctionRecord[]> {
    if (!scope) return this.bodies<FunctionRecord>('SELECT body FROM lambda_functions ORDER BY account, region, name');
    return this.bodies<FunctionRecord>('SELECT body FROM lambda_functions WHERE account = ? AND region = ? ORDER BY name', scope.accountId, scope.region);
  }

  async getVersion(scope: FunctionScope, name: string, version: string): Promise<VersionRecord | undefined> {
    return this.bodies<VersionRecord>(
      'SELECT body FROM lambda_versions WHERE account = ? AND region = ? AND name = ? AND version = ?', scope.accountId, scope.region, name, version,
    )[0];
  }
  async putVersion(r: VersionRecord): Promise<void> {
    const seq = r.version === '$LATEST' ? 0 : Number(r.version);
    statement(this.db, 'INSERT OR REPLACE INTO lambda_versions (account, region, name, version, seq, body) VALUES (?, ?, ?, ?, ?, ?)').run(
      r.accountId, r.region, r.functionName, r.version, seq, JSON.stringify(r),
    );
  }
  async deleteVersion(scope: FunctionScope, name: string, version: string): Promise<void> {
    statement(this.db, 'DELETE FROM lambda_versions WHERE account = ? AND region = ? AND name = ? AND version = ?').run(scope.accountId, scope.region, name, version);
  }
  async listVersions(scope: FunctionScope, name: string): Promise<VersionRecord[]> {
    return this.bodies<VersionRecord>('SELECT body FROM lambda_versions WHERE account = ? AND region = ? AND name = ? ORDER BY seq', scope.accountId, scope.region, name);
  }

  async getAlias(scope: FunctionScope, functionName: string, name: string): Promise<AliasRecord | undefined> {
    return this.bodies<AliasRecord>(
      'SELECT body FROM lambda_aliases WHERE account = ? AND region = ? AND name = ? AND alias = ?', scope.accountId, scope.region, functionName, name,
    )[0];
  }
  async putAlias(r: AliasRecord): Promise<void> {
    statement(this.db, 'INSERT OR REPLACE INTO lambda_aliases (account, region, name, alias, body) VALUES (?, ?, ?, ?, ?)').run(
      r.accountId, r.region, r.functionName, r.name, JSON.stringify(r),
    );
  }
  async deleteAlias(scope: FunctionScope, functionName: string, name: string): Promise<void> {
    statement(this.db, 'DELETE FROM lambda_aliases WHERE account = ? AND region = ? AND name = ? AND alias = ?').run(scope.accountId, scope.region, functionName, name);
  }
  async listAliases(scope: FunctionScope, functionName: string): Promise<AliasRecord[]> {
    return this.bodies<AliasRecord>('SELECT body FROM lambda_aliases WHERE account = ? AND region = ? AND name = ? ORDER BY alias', scope.accountId, scope.region, functionName);
  }

  async getEventSourceMapping(uuid: string): Promise<EventSourceMappingRecord | undefined> {
    return this.bodies<EventSourceMappingRecord>('SELECT body FROM lambda_mappings WHERE uuid = ?', uuid)[0];
  }
  async putEventSourceMapping(r: EventSourceMappingRecord): Promise<void> {
    statement(this.db, 'INSERT OR REPLACE INTO lambda_mappings (uuid, account, region, body) VALUES (?, ?, ?, ?)').run(r.uuid, r.accountId, r.region, JSON.stringify(r));
  }
  async deleteEventSourceMapping(uuid: string): Promise<void> {
    statement(this.db, 'DELETE FROM lambda_mappings WHERE uuid = ?').run(uuid);
  }
  async listEventSourceMappings(scope?: FunctionScope): Promise<EventSourceMappingRecord[]> {
    if (!scope) return this.bodies<EventSourceMappingRecord>('SELECT body FROM lambda_mappings ORDER BY uuid');
    return this.bodies<EventSourceMappingRecord>('SELECT body FROM lambda_mappings WHERE account = ? AND region = ? ORDER BY uuid', scope.accountId, scope.region);
  }

  async putCode(sha256: string, zip: Uint8Array): Promise<void> {
    statement(this.db, 'INSERT OR IGNORE INTO lambda_code (sha256, zip) VALUES (?, ?)').run(sha256, Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
  }
  async getCode(sha256: string): Promise<Uint8Array | undefined> {
    return statement<[string], { zip: Buffer }>(this.db, 'SELECT zip FROM lambda_code WHERE sha256 = ?').get(sha256)?.zip;
  }
  async pruneCode(): Promise<void> {
    const used = new Set(this.bodies<VersionRecord>('SELECT body FROM lambda_versions').map((v) => v.codeSha256));
    const all = statement<[], { sha256: string }>(this.db, 'SELECT sha256 FROM lambda_code').all();
    for (const { sha256 } of all) if (!used.has(sha256)) statement(this.db, 'DELETE FROM lambda_code WHERE sha256 = ?').run(sha256);
  }

  async enqueueAsync(r: AsyncInvocationRecord): Promise<void> {
    statement(this.db, 'INSERT INTO lambda_async (id, function_arn, payload, attempts, next_attempt, enqueued) VALUES (?, ?, ?, ?, ?, ?)').run(
      r.id, r.functionArn, r.payload, r.attempts, r.nextAttemptAt, r.enqueuedAt,
    );
  }
  async dueAsync(now: number, limit: number): Promise<AsyncInvocationRecord[]> {
    return statement<[number, number], AsyncRow>(this.db, 'SELECT * FROM lambda_async WHERE next_attempt <= ? ORDER BY next_attempt LIMIT ?')
      .all(now, limit)
      .map((r) => ({ id: r.id, functionArn: r.function_arn, payload: r.payload, attempts: r.attempts, nextAttemptAt: r.next_attempt, enqueuedAt: r.enqueued }));
  }
  async updateAsync(id: string, attempts: number, nextAttemptAt: number): Promise<void> {
    statement(this.db, 'UPDATE lambda_async SET attempts = ?, next_attempt = ? WHERE id = ?').run(attempts, nextAttemptAt, id);
  }
  async deleteAsync(id: string): Promise<void> {
    statement(this.db, 'DELETE FROM lambda_async WHERE id = ?').run(id);
  }
}
