/**
 * {@link IntegrityStore} on the embedded state database (`state.db`). This module owns
 * the `digest_signing_keys`, `digest_chains` and `digest_log_files` tables. Writes are
 * `synchronous = FULL` (see storage/sqlite.ts): a chain never forgets a digest it wrote.
 */
import type { SqliteDatabase } from '../storage/sqlite.js';
import { migrate, statement } from '../storage/sqlite.js';
import type { DigestChain, DigestedLogFile, IntegrityStore, SigningKeyRecord } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE digest_signing_keys (
    region TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    public_der BLOB NOT NULL,
    sealed_private BLOB NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    PRIMARY KEY (region, fingerprint)
  );
  CREATE TABLE digest_chains (
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (trail_arn, region)
  );
  CREATE TABLE digest_log_files (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    trail_arn TEXT NOT NULL,
    region TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    oldest_event_time INTEGER NOT NULL,
    newest_event_time INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    digest_key TEXT,
    digested_at INTEGER,
    PRIMARY KEY (bucket, key)
  );
  CREATE INDEX digest_log_files_chain ON digest_log_files (trail_arn, region, digest_key);
  CREATE INDEX digest_log_files_digest ON digest_log_files (digest_key);
  `,
];

interface KeyRow {
  region: string;
  fingerprint: string;
  public_der: Buffer;
  sealed_private: Buffer;
  valid_from: number;
  valid_until: number;
}

interface FileRow {
  bucket: string;
  key: string;
  trail_arn: string;
  region: string;
  sha256: string;
  oldest_event_time: number;
  newest_event_time: number;
  registered_at: number;
  digest_key: string | null;
}

function toKey(r: KeyRow): SigningKeyRecord {
  return {
    region: r.region,
    fingerprint: r.fingerprint,
    publicDer: r.public_der,
    sealedPrivate: r.sealed_private,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
  };
}

function toFile(r: FileRow): DigestedLogFile {
  return {
    trailArn: r.trail_arn,
    region: r.region,
    bucket: r.bucket,
    key: r.key,
    sha256: r.sha256,
    oldestEventTime: r.oldest_event_time,
    newestEventTime: r.newest_event_time,
    registeredAt: r.registered_at,
    ...(r.digest_key !== null ? { digestKey: r.digest_key } : {}),
  };
}

/** The SQLite integrity store; creating it applies its migrations. */
export class SqliteIntegrityStore implements IntegrityStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'integrity', MIGRATIONS);
  }

  getKey(region: string, fingerprint: string): SigningKeyRecord | undefined {
    const row = statement<[string, string], KeyRow>(this.db, 'SELECT * FROM digest_signing_keys WHERE region = ? AND fingerprint = ?').get(
      region,
      fingerprint,
    );
    return row ? toKey(row) : undefined;
  }

  listKeys(region: string): SigningKeyRecord[] {
    return statement<[string], KeyRow>(this.db, 'SELECT * FROM digest_signing_keys WHERE region = ? ORDER BY valid_from').all(region).map(toKey);
  }

  putKey(key: SigningKeyRecord): void {
    statement(
      this.db,
      `INSERT INTO digest_signing_keys (region, fingerprint, public_der, sealed_private, valid_from, valid_until) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (region, fingerprint) DO UPDATE SET valid_from = excluded.valid_from, valid_until = excluded.valid_until`,
    ).run(key.region, key.fingerprint, key.publicDer, key.sealedPrivate, key.validFrom, key.validUntil);
  }

  getChain(trailArn: string, region: string): DigestChain | undefined {
    const row = statement<[string, string], { state: string }>(this.db, 'SELECT state FROM digest_chains WHERE trail_arn = ? AND region = ?').get(
      trailArn,
      region,
    );
    return row ? (JSON.parse(row.state) as DigestChain) : undefined;
  }

  listChains(): DigestChain[] {
    return statement<[], { state: string }>(this.db, 'SELECT state FROM digest_chains ORDER BY trail_arn, region')
      .all()
      .map((r) => JSON.parse(r.state) as DigestChain);
  }

  putChain(chain: DigestChain): void {
    statement(
      this.db,
      `INSERT INTO digest_chains (trail_arn, region, state) VALUES (?, ?, ?)
         ON CONFLICT (trail_arn, region) DO UPDATE SET state = excluded.state`,
    ).run(chain.trailArn, chain.region, JSON.stringify(chain));
  }

  removeChain(trailArn: string, region: string): void {
    statement(this.db, 'DELETE FROM digest_chains WHERE trail_arn = ? AND region = ?').run(trailArn, region);
  }

  addLogFile(file: DigestedLogFile): void {
    statement(
      this.db,
      `INSERT INTO digest_log_files (bucket, key, trail_arn, region, sha256, oldest_event_time, newest_event_time, registered_at, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM digest_log_files))
         ON CONFLICT (bucket, key) DO NOTHING`,
    ).run(file.bucket, file.key, file.trailArn, file.region, file.sha256, file.oldestEventTime, file.newestEventTime, file.registeredAt);
  }

  assignLogFiles(trailArn: string, region: string, digestKey: string, at: number): void {
    statement(
      this.db,
      'UPDATE digest_log_files SET digest_key = ?, digested_at = ? WHERE trail_arn = ? AND region = ? AND digest_key IS NULL',
    ).run(digestKey, at, trailArn, region);
  }

  logFilesOf(digestKey: string): DigestedLogFile[] {
    return statement<[string], FileRow>(this.db, 'SELECT * FROM digest_log_files WHERE digest_key = ? ORDER BY seq').all(digestKey).map(toFile);
  }

  pruneLogFiles(before: number): void {
    statement(this.db, 'DELETE FROM digest_log_files WHERE digest_key IS NOT NULL AND digested_at < ?').run(before);
  }

  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
