/**
 * The event bus store on the embedded state database (state.db): buses, rules, targets,
 * connections, API destinations, the outbox and the bus's event-log cursor. Records are
 * kept as JSON beside the columns they are looked up by.
 */
import { commitUnflushed, migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type {
  ApiDestinationRecord,
  BusRecord,
  BusStore,
  ConnectionRecord,
  NewOutboxEntry,
  OutboxEntry,
  RuleRecord,
  Scope,
  TargetRecord,
  TargetSpec,
} from './store.js';

const MIGRATIONS = [
  `CREATE TABLE events_buses (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name)) WITHOUT ROWID;
   CREATE TABLE events_rules (account TEXT NOT NULL, region TEXT NOT NULL, bus TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, bus, name)) WITHOUT ROWID;
   CREATE TABLE events_targets (account TEXT NOT NULL, region TEXT NOT NULL, bus TEXT NOT NULL, rule TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (account, region, bus, rule, id)) WITHOUT ROWID;
   CREATE TABLE events_connections (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name)) WITHOUT ROWID;
   CREATE TABLE events_api_destinations (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, name)) WITHOUT ROWID;
   CREATE TABLE events_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, rule_arn TEXT NOT NULL, target TEXT NOT NULL, payload TEXT NOT NULL, event TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt INTEGER NOT NULL, created INTEGER NOT NULL);
   CREATE INDEX events_outbox_due ON events_outbox (next_attempt);
   CREATE TABLE events_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);`,
];

interface OutboxRow {
  id: number;
  event_id: string;
  rule_arn: string;
  target: string;
  payload: string;
  event: string;
  attempts: number;
  next_attempt: number;
  created: number;
}

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    id: r.id,
    eventId: r.event_id,
    ruleArn: r.rule_arn,
    target: JSON.parse(r.target) as TargetSpec,
    payload: r.payload,
    event: r.event,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt,
    createdAt: r.created,
  };
}

/**
 * The SQLite store.
 *
 * @example
 * const store = new SqliteBusStore(openStateDatabase(dataDir));
 */
export class SqliteBusStore implements BusStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'events', MIGRATIONS);
  }

  private bodies<T>(sql: string, ...params: unknown[]): T[] {
    return statement<unknown[], { body: string }>(this.db, sql)
      .all(...params)
      .map((r) => JSON.parse(r.body) as T);
  }

  getBus(scope: Scope, name: string): BusRecord | undefined {
    return this.bodies<BusRecord>('SELECT body FROM events_buses WHERE account = ? AND region = ? AND name = ?', scope.accountId, scope.region, name)[0];
  }
  listBuses(scope: Scope): BusRecord[] {
    return this.bodies<BusRecord>('SELECT body FROM events_buses WHERE account = ? AND region = ? ORDER BY name', scope.accountId, scope.region);
  }
  putBus(bus: BusRecord): void {
    statement(this.db, 'INSERT OR REPLACE INTO events_buses (account, region, name, body) VALUES (?, ?, ?, ?)').run(
      bus.accountId, bus.region, bus.name, JSON.stringify(bus),
    );
  }
  deleteBus(scope: Scope, name: string): void {
    statement(this.db, 'DELETE FROM events_buses WHERE account = ? AND region = ? AND name = ?').run(scope.accountId, scope.region, name);
  }

  getRule(scope: Scope, bus: string, name: string): RuleRecord | undefined {
    return this.bodies<RuleRecord>(
      'SELECT body FROM events_rules WHERE account = ? AND region = ? AND bus = ? AND name = ?', scope.accountId, scope.region, bus, name,
    )[0];
  }
  listRules(scope: Scope, bus: string): RuleRecord[] {
    return this.bodies<RuleRecord>('SELECT body FROM events_rules WHERE account = ? AND region = ? AND bus = ? ORDER BY name', scope.accountId, scope.region, bus);
  }
  allRules(): RuleRecord[] {
    return this.bodies<RuleRecord>('SELECT body FROM events_rules');
  }
  putRule(rule: RuleRecord): void {
    statement(this.db, 'INSERT OR REPLACE INTO events_rules (account, region, bus, name, body) VALUES (?, ?, ?, ?, ?)').run(
      rule.accountId, rule.region, rule.bus, rule.name, JSON.stringify(rule),
    );
  }
  deleteRule(scope: Scope, bus: string, name: string): void {
    this.db.transaction(() => {
      statement(this.db, 'DELETE FROM events_rules WHERE account = ? AND region = ? AND bus = ? AND name = ?').run(scope.accountId, scope.region, bus, name);
      statement(this.db, 'DELETE FROM events_targets WHERE account = ? AND region = ? AND bus = ? AND rule = ?').run(scope.accountId, scope.region, bus, name);
    })();
  }

  listTargets(scope: Scope, bus: string, rule: string): TargetRecord[] {
    return statement<unknown[], { spec: string }>(
      this.db,
      'SELECT spec FROM events_targets WHERE account = ? AND region = ? AND bus = ? AND rule = ? ORDER BY position',
    )
      .all(scope.accountId, scope.region, bus, rule)
      .map((r) => ({ accountId: scope.accountId, region: scope.region, bus, rule, spec: JSON.parse(r.spec) as TargetSpec }));
  }
  putTargets(targets: TargetRecord[]): void {
    this.db.transaction(() => {
      for (const t of targets) {
        const position =
          statement<unknown[], { position: number }>(this.db, 'SELECT position FROM events_targets WHERE account = ? AND region = ? AND bus = ? AND rule = ? AND id = ?').get(
            t.accountId, t.region, t.bus, t.rule, t.spec.Id,
          )?.position ??
          (statement<unknown[], { next: number }>(this.db, 'SELECT COALESCE(MAX(position), 0) + 1 AS next FROM events_targets WHERE account = ? AND region = ? AND bus = ? AND rule = ?').get(
            t.accountId, t.region, t.bus, t.rule,
          )?.next ?? 1);
        statement(this.db, 'INSERT OR REPLACE INTO events_targets (account, region, bus, rule, id, position, spec) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          t.accountId, t.region, t.bus, t.rule, t.spec.Id, position, JSON.stringify(t.spec),
        );
      }
    })();
  }
  deleteTargets(scope: Scope, bus: string, rule: string, ids: string[]): void {
    this.db.transaction(() => {
      for (const id of ids) {
        statement(this.db, 'DELETE FROM events_targets WHERE account = ? AND region = ? AND bus = ? AND rule = ? AND id = ?').run(scope.accountId, scope.region, bus, rule, id);
      }
    })();
  }

  getConnection(scope: Scope, name: string): ConnectionRecord | undefined {
    return this.bodies<ConnectionRecord>('SELECT body FROM events_connections WHERE account = ? AND region = ? AND name = ?', scope.accountId, scope.region, name)[0];
  }
  listConnections(scope: Scope): ConnectionRecord[] {
    return this.bodies<ConnectionRecord>('SELECT body FROM events_connections WHERE account = ? AND region = ? ORDER BY name', scope.accountId, scope.region);
  }
  putConnection(c: ConnectionRecord): void {
    statement(this.db, 'INSERT OR REPLACE INTO events_connections (account, region, name, body) VALUES (?, ?, ?, ?)').run(c.accountId, c.region, c.name, JSON.stringify(c));
  }
  deleteConnection(scope: Scope, name: string): void {
    statement(this.db, 'DELETE FROM events_connections WHERE account = ? AND region = ? AND name = ?').run(scope.accountId, scope.region, name);
  }
  getApiDestination(scope: Scope, name: string): ApiDestinationRecord | undefined {
    return this.bodies<ApiDestinationRecord>('SELECT body FROM events_api_destinations WHERE account = ? AND region = ? AND name = ?', scope.accountId, scope.region, name)[0];
  }
  listApiDestinations(scope: Scope): ApiDestinationRecord[] {
    return this.bodies<ApiDestinationRecord>('SELECT body FROM events_api_destinations WHERE account = ? AND region = ? ORDER BY name', scope.accountId, scope.region);
  }
  putApiDestination(d: ApiDestinationRecord): void {
    statement(this.db, 'INSERT OR REPLACE INTO events_api_destinations (account, region, name, body) VALUES (?, ?, ?, ?)').run(d.accountId, d.region, d.name, JSON.stringify(d));
  }
  deleteApiDestination(scope: Scope, name: string): void {
    statement(this.db, 'DELETE FROM events_api_destinations WHERE account = ? AND region = ? AND name = ?').run(scope.accountId, scope.region, name);
  }

  cursor(): number {
    return statement<[], { seq: number }>(this.db, 'SELECT seq FROM events_cursor WHERE id = 1').get()?.seq ?? 0;
  }

  commitDispatch(entries: NewOutboxEntry[], cursor?: number, schedules?: { rule: RuleRecord; nextFireAt: number }[]): void {
    if (entries.length === 0 && (schedules === undefined || schedules.length === 0)) {
      // A cursor moving past events that matched no rule: a replay would move it the same
      // way, so the commit need not wait for its own disk flush (one per append otherwise).
      if (cursor !== undefined) commitUnflushed(this.db, () => this.putCursor(cursor));
      return;
    }
    this.db.transaction(() => {
      const insert = statement(
        this.db,
        'INSERT INTO events_outbox (event_id, rule_arn, target, payload, event, attempts, next_attempt, created) VALUES (?, ?, ?, ?, ?, 0, ?, ?)',
      );
      for (const e of entries) insert.run(e.eventId, e.ruleArn, JSON.stringify(e.target), e.payload, e.event, e.nextAttemptAt, e.createdAt);
      if (cursor !== undefined) this.putCursor(cursor);
      for (const s of schedules ?? []) this.putRule({ ...s.rule, nextFireAt: s.nextFireAt });
    })();
  }

  private putCursor(cursor: number): void {
    statement(this.db, 'INSERT INTO events_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(cursor);
  }
  dueDeliveries(now: number, limit: number): OutboxEntry[] {
    return statement<[number, number], OutboxRow>(this.db, 'SELECT * FROM events_outbox WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?')
      .all(now, limit)
      .map(toEntry);
  }
  nextDeliveryAt(): number | undefined {
    return statement<[], { next: number | null }>(this.db, 'SELECT MIN(next_attempt) AS next FROM events_outbox').get()?.next ?? undefined;
  }
  completeDelivery(id: number): void {
    statement(this.db, 'DELETE FROM events_outbox WHERE id = ?').run(id);
  }
  retryDelivery(id: number, attempts: number, nextAttemptAt: number): void {
    statement(this.db, 'UPDATE events_outbox SET attempts = ?, next_attempt = ? WHERE id = ?').run(attempts, nextAttemptAt, id);
  }
  outboxSize(): number {
    return statement<[], { n: number }>(this.db, 'SELECT COUNT(*) AS n FROM events_outbox').get()?.n ?? 0;
  }
}
