/**
 * {@link DeliveryStateStore} on the embedded state database (`state.db`). This module
 * owns the `trail_delivery` table. The state is written with `synchronous = FULL` (see
 * storage/sqlite.ts), so a cursor never goes back past a file already acknowledged.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate, statement } from '../storage/sqlite.js';
import type { DeliveryStateStore, LoggingSpan, PendingDelivery, TrailDeliveryState } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE trail_delivery (
    trail_arn TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name TEXT NOT NULL,
    trail_created_at INTEGER NOT NULL,
    cursor INTEGER NOT NULL,
    spans TEXT NOT NULL,
    pending TEXT
  );
  `,
];

interface Row {
  trail_arn: string;
  account_id: string;
  home_region: string;
  name: string;
  trail_created_at: number;
  cursor: number;
  spans: string;
  pending: string | null;
}

function toState(row: Row): TrailDeliveryState {
  const state: TrailDeliveryState = {
    trailArn: row.trail_arn,
    accountId: row.account_id,
    homeRegion: row.home_region,
    name: row.name,
    trailCreatedAt: row.trail_created_at,
    cursor: row.cursor,
    spans: JSON.parse(row.spans) as LoggingSpan[],
  };
  if (row.pending !== null) state.pending = JSON.parse(row.pending) as PendingDelivery;
  return state;
}

/** The SQLite delivery state store; creating it applies its migrations. */
export class SqliteDeliveryStateStore implements DeliveryStateStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'delivery', MIGRATIONS);
  }

  get(trailArn: string): TrailDeliveryState | undefined {
    const row = statement<[string], Row>(this.db, 'SELECT * FROM trail_delivery WHERE trail_arn = ?').get(trailArn);
    return row ? toState(row) : undefined;
  }

  list(): TrailDeliveryState[] {
    return statement<[], Row>(this.db, 'SELECT * FROM trail_delivery ORDER BY trail_arn').all().map(toState);
  }

  put(state: TrailDeliveryState): void {
    statement(
      this.db,
      `INSERT INTO trail_delivery (trail_arn, account_id, home_region, name, trail_created_at, cursor, spans, pending)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (trail_arn) DO UPDATE SET account_id = excluded.account_id, home_region = excluded.home_region,
           name = excluded.name, trail_created_at = excluded.trail_created_at, cursor = excluded.cursor,
           spans = excluded.spans, pending = excluded.pending`,
    ).run(
      state.trailArn,
      state.accountId,
      state.homeRegion,
      state.name,
      state.trailCreatedAt,
      state.cursor,
      JSON.stringify(state.spans),
      state.pending ? JSON.stringify(state.pending) : null,
    );
  }

  remove(trailArn: string): void {
    statement(this.db, 'DELETE FROM trail_delivery WHERE trail_arn = ?').run(trailArn);
  }
}
