/**
 * The embedded object store's tables (in `<dir>/objects.db`), applied in order by
 * `migrate`. Keys are TEXT compared with SQLite's BINARY collation, which is UTF-8 byte
 * order: the order S3 lists keys in.
 */

/** Migrations for the `objectstore` store; append, never edit. */
export const OBJECTSTORE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE buckets (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     region TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     versioning TEXT NOT NULL,
     mfa_delete TEXT,
     object_lock INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX buckets_owner ON buckets (owner, name);
   CREATE TABLE bucket_config (
     bucket TEXT NOT NULL,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (bucket, name)
   );
   -- Every version of every object, delete markers included; seq orders versions of a key.
   CREATE TABLE versions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     version_id TEXT NOT NULL,
     is_latest INTEGER NOT NULL,
     delete_marker INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     owner TEXT NOT NULL,
     storage_class TEXT NOT NULL,
     data TEXT NOT NULL,
     UNIQUE (bucket, key, version_id)
   );
   CREATE INDEX versions_by_key ON versions (bucket, key, seq);
   CREATE INDEX versions_current ON versions (bucket, is_latest, delete_marker, key);
   CREATE TABLE uploads (
     upload_id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     initiated INTEGER NOT NULL,
     owner TEXT NOT NULL,
     storage_class TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
   CREATE TABLE parts (
     upload_id TEXT NOT NULL,
     part_number INTEGER NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     segment TEXT NOT NULL,
     checksum TEXT,
     PRIMARY KEY (upload_id, part_number)
   );
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`,
  // Small segments' bytes (as stored: sealed when encrypted), kept here rather than in
  // files and written in the same transaction as the metadata that names them.
  `CREATE TABLE inline_segments (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);`,
  // Changes still to be notified, written in the transaction that makes the change.
  `CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL);`,
];
