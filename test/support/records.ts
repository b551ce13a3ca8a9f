/**
 * Test support: reads the audit event log straight from a data directory (read-only),
 * as an operator inspecting the SQLite file would.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';

export interface LoggedRecord {
  seq: number;
  text: string;
  record: Record<string, unknown>;
}

export function readRecords(dataDir: string): LoggedRecord[] {
  const db = new Database(join(dataDir, 'eventlog.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[], { seq: number; record: string }>('SELECT seq, record FROM events ORDER BY seq')
      .all()
      .map((row) => ({ seq: row.seq, text: row.record, record: JSON.parse(row.record) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

/** The records whose `requestID` is `requestId`. */
export function recordsFor(dataDir: string, requestId: string): Record<string, unknown>[] {
  return readRecords(dataDir)
    .map((r) => r.record)
    .filter((r) => r.requestID === requestId);
}
