/**
 * The embedded state database: one SQLite file (`<dataDir>/state.db`, WAL mode) shared by
 * the capabilities' stores (accounts and IAM, trails, ...). Each store owns its tables
 * and brings its own migrations; {@link migrate} applies them once, in order.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SqliteDatabase = Database.Database;

/** Opens (creating if needed) the state database under `dataDir`; `:memory:` for tests. */
export function openStateDatabase(dataDir: string): SqliteDatabase {
  if (dataDir === ':memory:') return configure(new Database(':memory:'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return configure(new Database(join(dataDir, 'state.db')));
}

function configure(db: SqliteDatabase): SqliteDatabase {
  db.pragma('journal_mode = WAL');
  // State changes are rare next to events; FULL keeps a created user or key across power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS migrations (store TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (store, version))');
  return db;
}

/**
 * Applies a store's migrations that have not run yet, each in its own transaction.
 *
 * @example
 * migrate(db, 'iam', ['CREATE TABLE users (...)', 'CREATE INDEX ...']);
 */
export function migrate(db: SqliteDatabase, store: string, steps: readonly string[]): void {
  const done = new Set(
    db
      .prepare<[string], { version: number }>('SELECT version FROM migrations WHERE store = ?')
      .all(store)
      .map((r) => r.version),
  );
  steps.forEach((sql, index) => {
    const version = index + 1;
    if (done.has(version)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO migrations (store, version) VALUES (?, ?)').run(store, version);
    })();
  });
}

/**
 * Runs `fn` in one transaction whose commit is not flushed to disk by itself (WAL with
 * `synchronous = NORMAL` for that commit only). For bookkeeping that a replay would redo
 * identically, such as a consumer's cursor moving past events that produced nothing: the
 * commit survives a process crash, and since the WAL is one ordered file, the next flushed
 * commit (or checkpoint) of this database makes it durable too, so after a power loss it
 * is never lost while a later write survives. Inside an open transaction it simply joins it.
 *
 * @example
 * commitUnflushed(db, () => setCursor(seq));
 */
export function commitUnflushed<T>(db: SqliteDatabase, fn: () => T): T {
  if (db.inTransaction) return fn();
  const level = statement<[], number>(db, 'PRAGMA synchronous').pluck().get() ?? 2;
  // 1 is NORMAL; a database already at NORMAL or OFF needs no change.
  if (level <= 1) return db.transaction(fn).immediate();
  statement(db, 'PRAGMA synchronous = NORMAL').run();
  try {
    return db.transaction(fn).immediate();
  } finally {
    statement(db, `PRAGMA synchronous = ${level}`).run();
  }
}

const statementCache = new WeakMap<SqliteDatabase, Map<string, Database.Statement>>();

/**
 * A prepared statement for `sql`, prepared once per database and reused: preparing costs
 * more than running a small query, and stores run theirs on hot paths.
 */
export function statement<P extends unknown[] = unknown[], R = unknown>(db: SqliteDatabase, sql: string): Database.Statement<P, R> {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt as Database.Statement<P, R>;
}
