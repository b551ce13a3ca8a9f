/**
 * {@link TrailStore} on the embedded state database (`state.db`). This module owns the
 * `trails` table and its migrations. Configuration and status are JSON documents in
 * separate columns so the delivery engine's frequent status writes never rewrite (or race
 * with) an owner's configuration change.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate, statement } from '../storage/sqlite.js';
import type { TrailConfig, TrailKey, TrailRecord, TrailStatus, TrailStore } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE trails (
    account_id TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name TEXT NOT NULL,
    trail_arn TEXT NOT NULL UNIQUE,
    is_logging INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, home_region, name)
  );
  CREATE INDEX trails_logging ON trails (is_logging);
  `,
];

interface TrailRow {
  account_id: string;
  home_region: string;
  name: string;
  trail_arn: string;
  config: string;
  status: string;
  created_at: number;
}

function toRecord(row: TrailRow): TrailRecord {
  return {
    accountId: row.account_id,
    homeRegion: row.home_region,
    name: row.name,
    trailArn: row.trail_arn,
    createdAt: row.created_at,
    config: JSON.parse(row.config) as TrailConfig,
    status: JSON.parse(row.status) as TrailStatus,
  };
}

/** The SQLite trail store; creating it applies the `trails` migrations. */
export class SqliteTrailStore implements TrailStore {
  private changes = 0;

  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'trails', MIGRATIONS);
  }

  find(key: TrailKey): TrailRecord | undefined {
    const row = statement<[string, string, string], TrailRow>(this.db, 'SELECT * FROM trails WHERE account_id = ? AND home_region = ? AND name = ?')
      .get(key.accountId, key.homeRegion, key.name);
    return row ? toRecord(row) : undefined;
  }

  listForAccount(accountId: string): TrailRecord[] {
    return statement<[string], TrailRow>(this.db, 'SELECT * FROM trails WHERE account_id = ? ORDER BY name, home_region')
      .all(accountId)
      .map(toRecord);
  }

  listLogging(): TrailRecord[] {
    return statement<[], TrailRow>(this.db, 'SELECT * FROM trails WHERE is_logging = 1 ORDER BY account_id, home_region, name')
      .all()
      .map(toRecord);
  }

  insert(trail: TrailRecord): void {
    this.changes++;
    statement(
      this.db,
      `INSERT INTO trails (account_id, home_region, name, trail_arn, is_logging, config, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        trail.accountId,
        trail.homeRegion,
        trail.name,
        trail.trailArn,
        trail.status.isLogging ? 1 : 0,
        JSON.stringify(trail.config),
        JSON.stringify(trail.status),
        trail.createdAt,
      );
  }

  putConfig(key: TrailKey, config: TrailConfig): void {
    this.changes++;
    statement(this.db, 'UPDATE trails SET config = ? WHERE account_id = ? AND home_region = ? AND name = ?')
      .run(JSON.stringify(config), key.accountId, key.homeRegion, key.name);
  }

  putStatus(key: TrailKey, status: TrailStatus): void {
    this.changes++;
    statement(this.db, 'UPDATE trails SET status = ?, is_logging = ? WHERE account_id = ? AND home_region = ? AND name = ?')
      .run(JSON.stringify(status), status.isLogging ? 1 : 0, key.accountId, key.homeRegion, key.name);
  }

  remove(key: TrailKey): void {
    this.changes++;
    statement(this.db, 'DELETE FROM trails WHERE account_id = ? AND home_region = ? AND name = ?')
      .run(key.accountId, key.homeRegion, key.name);
  }

  atomically<T>(fn: () => T): T {
    // IMMEDIATE takes the write lock up front, so a check inside sees what the write will.
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      // A rollback undoes writes that were counted: what was read meanwhile is stale too.
      this.changes++;
    }
  }

  version(): number {
    return this.changes;
  }
}
