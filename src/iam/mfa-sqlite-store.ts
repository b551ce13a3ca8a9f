/**
 * {@link MfaDeviceStore} on the embedded state database. This module owns the
 * `iam_mfa_devices` table and its migrations (store name `iam-mfa`).
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate } from '../storage/sqlite.js';
import type { MfaAssignee, MfaDeviceRecord, MfaDeviceStore } from './mfa.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE iam_mfa_devices (
    serial_number TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    seed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- 'root', or the IAM user's id; NULL while unassigned.
    assignee TEXT,
    assignee_name TEXT,
    enabled_at INTEGER
  );
  CREATE INDEX iam_mfa_devices_account ON iam_mfa_devices (account_id);
  `,
];

interface Row {
  serial_number: string;
  account_id: string;
  path: string;
  name: string;
  seed: string;
  created_at: number;
  assignee: string | null;
  assignee_name: string | null;
  enabled_at: number | null;
}

function toRecord(r: Row): MfaDeviceRecord {
  const device: MfaDeviceRecord = {
    serialNumber: r.serial_number,
    accountId: r.account_id,
    path: r.path,
    name: r.name,
    seed: r.seed,
    createdAt: r.created_at,
  };
  if (r.assignee !== null) {
    device.assignee = r.assignee === 'root' ? { kind: 'root' } : { kind: 'user', userId: r.assignee, userName: r.assignee_name ?? '' };
    if (r.enabled_at !== null) device.enabledAt = r.enabled_at;
  }
  return device;
}

/**
 * The MFA device store; constructing it applies its migrations.
 *
 * @example
 * const mfa = new MfaDevices({ store: new SqliteMfaDeviceStore(db), clock, random, findUser });
 */
export class SqliteMfaDeviceStore implements MfaDeviceStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'iam-mfa', MIGRATIONS);
  }

  get(serialNumber: string): MfaDeviceRecord | undefined {
    const row = this.db.prepare<[string], Row>('SELECT * FROM iam_mfa_devices WHERE serial_number = ?').get(serialNumber);
    return row && toRecord(row);
  }

  list(accountId: string): MfaDeviceRecord[] {
    return this.db
      .prepare<[string], Row>('SELECT * FROM iam_mfa_devices WHERE account_id = ? ORDER BY serial_number')
      .all(accountId)
      .map(toRecord);
  }

  insert(d: MfaDeviceRecord): void {
    this.db
      .prepare('INSERT INTO iam_mfa_devices (serial_number, account_id, path, name, seed, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.serialNumber, d.accountId, d.path, d.name, d.seed, d.createdAt);
  }

  assign(serialNumber: string, assignee: MfaAssignee | undefined, at: number | undefined): void {
    const id = assignee === undefined ? null : assignee.kind === 'root' ? 'root' : assignee.userId;
    const name = assignee?.kind === 'user' ? assignee.userName : null;
    this.db
      .prepare('UPDATE iam_mfa_devices SET assignee = ?, assignee_name = ?, enabled_at = ? WHERE serial_number = ?')
      .run(id, name, at ?? null, serialNumber);
  }

  delete(serialNumber: string): void {
    this.db.prepare('DELETE FROM iam_mfa_devices WHERE serial_number = ?').run(serialNumber);
  }
}
