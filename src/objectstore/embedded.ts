/**
 * The embedded object store: metadata in SQLite (`<dir>/objects.db`), bytes in crash-safe
 * blob files (blobs.ts). It owns S3's object semantics: versioning and the null version,
 * delete markers, listing with prefixes, delimiters and markers, multipart uploads,
 * conditional writes, checksums, and the hooks later features attach to.
 *
 * Metadata lives in its own database beside the blobs rather than in state.db: the
 * directory is then a self-contained store (backed up, moved or swept as one), and its
 * write traffic (one transaction per object) never contends with the state database.
 *
 * Order of a write: bytes are made durable first, then one metadata transaction makes
 * them visible (and runs the guard hooks), and the write is answered once that commit is
 * durable; bytes a write replaced are deleted only then. A crash in between leaves only
 * unreferenced files, swept at the next open. Hot writes commit without an fsync of their
 * own and wait for a shared one (group commit), so concurrent writers cost one WAL fsync,
 * run off the event loop.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import { CommitGroup } from '../storage/commit-group.js';
import { groupFlush, type GroupFlush } from '../storage/group-flush.js';
import { migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import { BlobFiles } from './blobs.js';
import {
  compositeChecksum,
  isWellFormedChecksum,
  multipartEtag,
  newChecksummer,
  unquoteEtag,
  type ChecksumAlgorithm,
  type Checksummer,
} from './checksums.js';
import { CryptoPool, OFFLOAD_MIN, type BodyDigests, type BulkCipher } from './crypto-pool.js';
import { MIN_PART_SIZE, s3Errors } from './errors.js';
import { checkBucketName, checkObjectKey, prefixSuccessor } from './names.js';
import { resolveRange } from './ranges.js';
import { OBJECTSTORE_MIGRATIONS } from './schema.js';
import type {
  AtRestTransform,
  BucketInfo,
  CompletedPart,
  CompleteMultipartOptions,
  CreateBucketOptions,
  DeleteObjectOptions,
  DeleteObjectResult,
  GetObjectOptions,
  GetObjectResult,
  ListObjectsOptions,
  ListObjectsResult,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ListVersionsOptions,
  ListVersionsResult,
  MultipartUploadOptions,
  ObjectBody,
  ObjectEvent,
  ObjectHeaders,
  ObjectInfo,
  ObjectStoreEngine,
  ObjectStoreHooks,
  OutboxEntry,
  PartInfo,
  PutObjectOptions,
  PutObjectResult,
  SealedBytes,
  StoredChecksum,
  UploadInfo,
  UploadPartOptions,
  UploadPartResult,
  WriteContext,
} from './store.js';

export interface EmbeddedObjectStoreOptions {
  /** The store's directory (`<dataDir>/objects`). */
  dir: string;
  clock: Clock;
  random: RandomSource;
  /** The account new buckets belong to when the caller names none. */
  defaultOwner?: string;
  defaultRegion?: string;
  hooks?: ObjectStoreHooks[];
}

/** One stored run of bytes; a multipart object has one per part. */
interface Segment {
  /** Blob id; for an inline segment, its row id in `inline_segments` (decimal). */
  b: string;
  /** Plain (unsealed) size. */
  n: number;
  /** Present when sealed by an at-rest transform: what it needs to open the bytes. */
  a?: Record<string, string>;
  /** 1 when the bytes are in `inline_segments` rather than in a blob file. */
  i?: 1;
}

/** A segment's bytes stored but not yet named by committed metadata. */
interface WrittenSegment {
  segment: Segment;
  md5: Buffer;
  checksum?: Buffer;
  /** Inline bytes, inserted by the transaction that commits the segment's metadata. */
  inline?: Buffer;
}

interface VersionData {
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  checksum?: StoredChecksum;
  partsCount?: number;
  attributes: Record<string, string>;
  segments: Segment[];
}

interface VersionRow {
  seq: number;
  bucket: string;
  key: string;
  version_id: string;
  is_latest: number;
  delete_marker: number;
  size: number;
  etag: string;
  last_modified: number;
  owner: string;
  storage_class: string;
  data: string;
}

interface BucketRow {
  name: string;
  owner: string;
  region: string;
  created_at: number;
  versioning: string;
  mfa_delete: string | null;
  object_lock: number;
}

interface UploadData {
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  attributes: Record<string, string>;
}

interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  initiated: number;
  owner: string;
  storage_class: string;
  data: string;
}

interface PartRow {
  upload_id: string;
  part_number: number;
  size: number;
  etag: string;
  last_modified: number;
  segment: string;
  checksum: string | null;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/**
 * Segments whose stored form is at most this size live in objects.db rather than in a
 * file of their own. Their bytes then ride in the metadata's transaction, whose WAL fsync
 * concurrent writers share, instead of costing each write a file creation, a file fsync,
 * a directory fsync and later an unlink; and reading one is a lookup by key.
 */
const INLINE_MAX = 32 * 1024;
/** Bucket rows kept in memory at most (the cache starts over when full). */
const BUCKET_CACHE_SIZE = 10_000;
/** Current versions kept in memory at most (the map starts over when full). */
const LATEST_CACHE_SIZE = 8192;
/** Bytes of inline segments kept in memory at most (the map starts over when full). */
const INLINE_CACHE_BYTES = 16 * 1024 * 1024;
const MAX_LIST = 1000;
/** Sequencer values reserved per write of the `counters` row. */
const SEQUENCER_BLOCK = 1024;

/** A committed change's side effects, applied after the transaction. */
interface Commit {
  removeBlobs: string[];
  events: ObjectEvent[];
}

/** The embedded implementation of {@link ObjectStoreEngine}. */
export class EmbeddedObjectStore implements ObjectStoreEngine {
  private readonly hooks: ObjectStoreHooks[] = [];
  // A request reads its bucket's row several times (authorization, protection, the
  // operation itself); rows change only through this class, which drops an entry whenever
  // it writes that row.
  private readonly bucketCache = new Map<string, BucketInfo>();
  // Bucket settings (policy, encryption, ownership, lock...) are read several times per
  // request by authorization and the hooks; the same rule as bucketCache applies. A
  // missing setting is cached too, as null.
  private readonly configCache = new Map<string, Map<string, string | null>>();
  // Current versions as last read outside any transaction. Every write runs in a
  // transaction (commit / atomically), and each one clears this first.
  private readonly latestCache = new Map<string, Readonly<VersionRow>>();
  // Inline segments' stored bytes (sealed when encrypted), by the same rule, at most
  // INLINE_CACHE_BYTES in all. Nothing writes into a buffer read from here: readers copy
  // (decryption) or slice it, and it is never handed to the crypto worker (OFFLOAD_MIN is
  // above INLINE_MAX).
  private readonly inlineCache = new Map<string, Buffer>();
  private inlineCacheBytes = 0;
  private readonly flush: GroupFlush;
  /** Object writes of one event-loop turn: one transaction (a savepoint each) and one flush. */
  private readonly writes: CommitGroup;
  /** Sequencer values reserved in `counters` and the last one handed out (see nextSequencer). */
  private sequence = { next: 0, reserved: 0 };
  // MD5 and AES of large bodies run here, off the event loop; the worker starts on first use.
  private readonly crypto = new CryptoPool();
  private transform: AtRestTransform | undefined;
  private closed = false;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly blobs: BlobFiles,
    private readonly opts: EmbeddedObjectStoreOptions,
  ) {
    this.flush = groupFlush(db);
    this.writes = new CommitGroup({ transaction: (fn) => this.atomically(fn), flushed: () => this.flush.flushed() });
    for (const h of opts.hooks ?? []) this.use(h);
  }

  /**
   * Runs `fn` in one transaction. The commit does not fsync (synchronous=NORMAL): callers
   * await {@link GroupFlush.flushed} before they acknowledge the write.
   */
  private commit<T>(fn: () => T): T {
    this.forgetReads();
    if (this.db.inTransaction) return fn();
    statement(this.db, 'BEGIN IMMEDIATE').run();
    try {
      const result = fn();
      statement(this.db, 'COMMIT').run();
      return result;
    } catch (e) {
      if (this.db.inTransaction) statement(this.db, 'ROLLBACK').run();
      this.forgetReservation();
      throw e;
    }
  }

  /** Drops what was kept of reads: a write is about to change what they would return. */
  private forgetReads(): void {
    this.latestCache.clear();
    this.inlineCache.clear();
    this.inlineCacheBytes = 0;
  }

  /** A sequencer reservation made in a rolled-back write is gone: take a fresh one next. */
  private forgetReservation(): void {
    this.sequence = { next: 0, reserved: 0 };
  }

  /**
   * Runs `fn` atomically: its own transaction, or inside one a savepoint, so that an error
   * undoes only what `fn` wrote (a group commit's other writes stay).
   */
  private atomically<T>(fn: () => T): T {
    // Inside a transaction, commit() has already cleared the read caches.
    if (!this.db.inTransaction) return this.commit(fn);
    statement(this.db, 'SAVEPOINT write').run();
    try {
      const result = fn();
      statement(this.db, 'RELEASE write').run();
      return result;
    } catch (e) {
      statement(this.db, 'ROLLBACK TO write').run();
      statement(this.db, 'RELEASE write').run();
      this.forgetReservation();
      throw e;
    }
  }

  /**
   * Commits `fn` as one transaction and resolves once it is durable: concurrent writers
   * share one fsync of the WAL, on the thread pool.
   */
  private async commitDurably<T>(fn: () => T): Promise<T> {
    const result = this.commit(fn);
    await this.flush.flushed();
    return result;
  }

  /**
   * Opens the store in `opts.dir`, applying migrations and sweeping orphaned blobs.
   *
   * @example
   * const store = await EmbeddedObjectStore.open({ dir: join(dataDir, 'objects'), clock, random });
   * await store.createBucket('logs', { owner: accountId });
   * await store.putObject('logs', 'a.json.gz', bytes, { headers: { contentType: 'application/json' } });
   */
  static async open(opts: EmbeddedObjectStoreOptions): Promise<EmbeddedObjectStore> {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const db = new Database(join(opts.dir, 'objects.db'));
    db.pragma('journal_mode = WAL');
    // An acknowledged PUT must survive power loss, yet no commit fsyncs by itself: every
    // write awaits a WAL fsync shared with the writes beside it (group commit) before it
    // is answered. Checkpoints still fsync the WAL before and the database after copying.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS migrations (store TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (store, version))');
    migrate(db, 'objectstore', OBJECTSTORE_MIGRATIONS);
    const blobs = await BlobFiles.open(opts.dir, opts.random);
    const store = new EmbeddedObjectStore(db, blobs, opts);
    await store.sweep();
    await store.flush.flushed();
    return store;
  }

  use(hooks: ObjectStoreHooks): void {
    if (hooks.atRest) {
      if (this.transform) throw new Error('an at-rest transform is already installed');
      this.transform = hooks.atRest;
    }
    this.hooks.push(hooks);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush.close();
    await this.blobs.close();
    await this.crypto.close();
    this.db.close();
  }

  /** Removes blob files no metadata refers to (left by a crash between write and commit). */
  private async sweep(): Promise<number> {
    const referenced = new Set<string>();
    for (const row of this.db.prepare<[], { data: string }>('SELECT data FROM versions').iterate()) {
      for (const s of (JSON.parse(row.data) as VersionData).segments) referenced.add(s.b);
    }
    for (const row of this.db.prepare<[], { segment: string }>('SELECT segment FROM parts').iterate()) {
      referenced.add((JSON.parse(row.segment) as Segment).b);
    }
    // Inline bytes come and go with their metadata; any left unnamed are removed all the same.
    const unnamed = this.db
      .prepare<[], number>('SELECT id FROM inline_segments')
      .pluck()
      .all()
      .filter((id) => !referenced.has(String(id)));
    this.commit(() => {
      for (const id of unnamed) statement(this.db, 'DELETE FROM inline_segments WHERE id = ?').run(id);
    });
    return unnamed.length + (await this.blobs.sweep((id) => referenced.has(id)));
  }

  // ---- buckets ---------------------------------------------------------------------------

  bucketInfo(name: string): BucketInfo | undefined {
    const cached = this.bucketCache.get(name);
    if (cached) return { ...cached };
    const row = statement<[string], BucketRow>(this.db, 'SELECT * FROM buckets WHERE name = ?').get(name);
    if (!row) return undefined;
    const info = toBucketInfo(row);
    // Inside a transaction the row may be one that rolls back: only committed reads are kept.
    if (!this.db.inTransaction) {
      if (this.bucketCache.size >= BUCKET_CACHE_SIZE) this.bucketCache.clear();
      this.bucketCache.set(name, info);
    }
    return { ...info };
  }

  /** Called by every statement that changes a bucket row or its settings, inside its transaction. */
  private bucketChanged(name: string): void {
    this.bucketCache.delete(name);
    this.configCache.delete(name);
  }

  private requireBucket(name: string): BucketInfo {
    const b = this.bucketInfo(name);
    if (!b) throw s3Errors.noSuchBucket(name);
    return b;
  }

  async createBucket(name: string, opts: CreateBucketOptions = {}): Promise<BucketInfo> {
    checkBucketName(name);
    const owner = opts.owner ?? this.opts.defaultOwner ?? '';
    const existing = this.bucketInfo(name);
    if (existing) throw existing.owner === owner ? s3Errors.bucketAlreadyOwnedByYou(name) : s3Errors.bucketAlreadyExists(name);
    const info: BucketInfo = {
      name,
      owner,
      region: opts.region ?? this.opts.defaultRegion ?? 'us-east-1',
      createdAt: this.opts.clock.now(),
      // S3 turns versioning on for buckets created with Object Lock.
      versioning: opts.objectLockEnabled ? 'Enabled' : 'Unversioned',
      objectLockEnabled: opts.objectLockEnabled ?? false,
    };
    await this.commitDurably(() => {
      statement(this.db, 'INSERT INTO buckets (name, owner, region, created_at, versioning, mfa_delete, object_lock) VALUES (?, ?, ?, ?, ?, NULL, ?)')
        .run(name, owner, info.region, info.createdAt, info.versioning, info.objectLockEnabled ? 1 : 0);
      this.bucketChanged(name);
    });
    return info;
  }

  async headBucket(name: string): Promise<BucketInfo | undefined> {
    return this.bucketInfo(name);
  }

  async listBuckets(owner?: string): Promise<BucketInfo[]> {
    const rows =
      owner === undefined
        ? statement<[], BucketRow>(this.db, 'SELECT * FROM buckets ORDER BY name').all()
        : statement<[string], BucketRow>(this.db, 'SELECT * FROM buckets WHERE owner = ? ORDER BY name').all(owner);
    return rows.map(toBucketInfo);
  }

  async deleteBucket(name: string): Promise<void> {
    const removed: string[] = [];
    await this.commitDurably(() => {
      this.requireBucket(name);
      const any = statement<[string], { one: number }>(this.db, 'SELECT 1 AS one FROM versions WHERE bucket = ? LIMIT 1').get(name);
      if (any) throw s3Errors.bucketNotEmpty(name);
      // Unfinished multipart uploads go with the bucket.
      const parts = statement<[string], { segment: string }>(this.db, 'SELECT segment FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)')
        .all(name);
      removed.push(...this.dropSegments(parts.map((p) => JSON.parse(p.segment) as Segment)));
      statement(this.db, 'DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)').run(name);
      statement(this.db, 'DELETE FROM uploads WHERE bucket = ?').run(name);
      statement(this.db, 'DELETE FROM bucket_config WHERE bucket = ?').run(name);
      statement(this.db, 'DELETE FROM buckets WHERE name = ?').run(name);
      this.bucketChanged(name);
    });
    await this.blobs.remove(removed);
  }

  async putBucketVersioning(
    bucket: string,
    status: 'Enabled' | 'Suspended',
    mfaDelete?: 'Enabled' | 'Disabled',
    context?: WriteContext,
  ): Promise<BucketInfo> {
    return this.commitDurably(() => {
      const info = this.requireBucket(bucket);
      for (const h of this.hooks) h.beforeVersioningChange?.({ bucket: info, status, ...(context ? { context } : {}) });
      statement(this.db, 'UPDATE buckets SET versioning = ?, mfa_delete = COALESCE(?, mfa_delete) WHERE name = ?')
        .run(status, mfaDelete ?? null, bucket);
      this.bucketChanged(bucket);
      return this.requireBucket(bucket);
    });
  }

  async getBucketConfig(bucket: string, name: string): Promise<string | undefined> {
    this.requireBucket(bucket);
    return this.bucketConfig(bucket, name);
  }

  bucketConfig(bucket: string, name: string): string | undefined {
    const cached = this.configCache.get(bucket)?.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const value = statement<[string, string], { value: string }>(this.db, 'SELECT value FROM bucket_config WHERE bucket = ? AND name = ?')
      .get(bucket, name)?.value;
    // Inside a transaction the value may be one that rolls back: only committed reads are kept.
    if (!this.db.inTransaction) {
      let settings = this.configCache.get(bucket);
      if (!settings) {
        if (this.configCache.size >= BUCKET_CACHE_SIZE) this.configCache.clear();
        settings = new Map();
        this.configCache.set(bucket, settings);
      }
      settings.set(name, value ?? null);
    }
    return value;
  }

  async putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    await this.commitDurably(() => {
      this.requireBucket(bucket);
      this.bucketChanged(bucket);
      if (value === undefined) statement(this.db, 'DELETE FROM bucket_config WHERE bucket = ? AND name = ?').run(bucket, name);
      else statement(this.db, 'INSERT OR REPLACE INTO bucket_config (bucket, name, value) VALUES (?, ?, ?)').run(bucket, name, value);
    });
  }

  // ---- writing ---------------------------------------------------------------------------

  /**
   * Stores a body as one segment, hashing the plain bytes: MD5 always, plus the
   * requested flexible checksum. Seals it when an at-rest transform is installed.
   */
  private async writeSegment(
    bucket: BucketInfo,
    key: string,
    body: ObjectBody,
    algorithm: ChecksumAlgorithm | undefined,
    context: WriteContext | undefined,
    attributes?: Record<string, string>,
  ): Promise<WrittenSegment> {
    const md5 = createHash('md5');
    const sum: Checksummer | undefined = algorithm ? newChecksummer(algorithm) : undefined;
    const observe = (chunk: Uint8Array): void => {
      md5.update(chunk);
      sum?.update(chunk);
    };
    const digests = (): { md5: Buffer; checksum?: Buffer } => ({ md5: md5.digest(), ...(sum ? { checksum: sum.digest() } : {}) });
    const transform = this.transform;
    if (!transform) {
      if (body instanceof Uint8Array && body.length <= INLINE_MAX) {
        observe(body);
        return { segment: { b: '', n: body.length, i: 1 }, inline: Buffer.from(body), ...digests() };
      }
      if (body instanceof Uint8Array && body.length >= OFFLOAD_MIN) {
        const plain = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        const [hashed, { id, size }] = await Promise.all([this.crypto.digest(plain, algorithm), this.blobs.write(plain)]);
        return { segment: { b: id, n: size }, ...hashed };
      }
      const { id, size } = await this.blobs.write(body, observe);
      return { segment: { b: id, n: size }, ...digests() };
    }
    const plaintext = await collect(body);
    const size = plaintext.length;
    const sealInput = { bucket, key, ...(context ? { context } : {}), ...(attributes ? { attributes } : {}) };
    let sealed: SealedBytes;
    let hashed: BodyDigests | undefined;
    if (size >= OFFLOAD_MIN) {
      // The worker digests and seals a copy of the body in one pass; the copy is ours to
      // give away (the body belongs to the caller).
      const own = Buffer.allocUnsafeSlow(size);
      plaintext.copy(own);
      const bulk: BulkCipher = {
        sealGcm: async (k, iv, aad, pt) => {
          const r = await this.crypto.sealGcm(k, iv, aad, pt, pt === own ? (algorithm ? { checksum: algorithm } : {}) : undefined);
          if (pt === own) hashed = r.digests;
          return { ciphertext: r.ciphertext, tag: r.tag };
        },
        openGcm: (k, iv, aad, tag, ct) => this.crypto.openGcm(k, iv, aad, tag, ct),
      };
      sealed = await transform.seal({ ...sealInput, plaintext: own, bulk });
      // A transform that sealed without the worker left the copy untouched.
      hashed ??= await this.crypto.digest(own, algorithm);
    } else {
      observe(plaintext);
      hashed = digests();
      sealed = await transform.seal({ ...sealInput, plaintext });
    }
    const pieces = Buffer.isBuffer(sealed.bytes) ? [sealed.bytes] : sealed.bytes;
    if (pieces.reduce((n, p) => n + p.length, 0) <= INLINE_MAX) {
      return { segment: { b: '', n: size, a: sealed.attributes, i: 1 }, inline: Buffer.concat(pieces), ...hashed };
    }
    const { id } = await this.blobs.write(pieces);
    return { segment: { b: id, n: size, a: sealed.attributes }, ...hashed };
  }

  /**
   * Inside the committing transaction, before the segment is serialized: stores a written
   * segment's inline bytes and names the row in the segment. A row id is free for reuse
   * once deleted, which is safe because rows are deleted only with the metadata naming them.
   * `reusable` offers rows of bytes this transaction replaces: overwriting one in place
   * (SQLite rewrites a same-sized row where it stands) writes fewer pages than a delete
   * and an insert.
   */
  private stageSegment(written: WrittenSegment, reusable: string[] = []): void {
    if (!written.inline) return;
    const reuse = reusable.pop();
    if (reuse !== undefined) {
      statement(this.db, 'UPDATE inline_segments SET bytes = ? WHERE id = ?').run(written.inline, Number(reuse));
      written.segment.b = reuse;
      return;
    }
    const { lastInsertRowid } = statement(this.db, 'INSERT INTO inline_segments (bytes) VALUES (?)').run(written.inline);
    written.segment.b = String(lastInsertRowid);
  }

  /** Removes what a segment that will not be committed left on disk. */
  private async discardSegment(written: WrittenSegment): Promise<void> {
    if (!written.inline) await this.blobs.remove([written.segment.b]);
  }

  /**
   * Inside the transaction that drops segments from the metadata: deletes their inline
   * bytes with it, and returns the blob files to remove once the commit is durable.
   */
  private dropSegments(segments: Iterable<Segment>): string[] {
    const files: string[] = [];
    for (const s of segments) {
      if (s.i) statement(this.db, 'DELETE FROM inline_segments WHERE id = ?').run(Number(s.b));
      else files.push(s.b);
    }
    return files;
  }

  async putObject(bucket: string, key: string, body: ObjectBody, opts: PutObjectOptions = {}): Promise<PutObjectResult> {
    const info = this.requireBucket(bucket);
    checkObjectKey(key);
    checkDigestFormats(opts.contentMd5, opts.checksum);
    const written = await this.writeSegment(info, key, body, opts.checksum?.algorithm, opts.context, opts.attributes);
    const cleanup = (): Promise<void> => this.discardSegment(written);
    try {
      verifyDigests(written.md5, written.checksum, opts.contentMd5, opts.checksum);
    } catch (e) {
      await cleanup();
      throw e;
    }
    const checksum: StoredChecksum | undefined =
      opts.checksum && written.checksum
        ? { algorithm: opts.checksum.algorithm, value: written.checksum.toString('base64'), type: 'FULL_OBJECT' }
        : undefined;
    const etag = `"${written.md5.toString('hex')}"`;
    const data: VersionData = {
      metadata: { ...(opts.metadata ?? {}) },
      headers: { ...(opts.headers ?? {}) },
      attributes: { ...(opts.attributes ?? {}) },
      segments: [written.segment],
      ...(checksum ? { checksum } : {}),
    };
    return this.commitWrite(info, key, {
      size: written.segment.n,
      etag,
      owner: opts.owner ?? info.owner,
      storageClass: opts.storageClass ?? 'STANDARD',
      data,
      eventName: opts.origin === 'Copy' ? 'ObjectCreated:Copy' : opts.origin === 'Post' ? 'ObjectCreated:Post' : 'ObjectCreated:Put',
      ...(opts.ifNoneMatch ? { ifNoneMatch: opts.ifNoneMatch } : {}),
      ...(opts.ifMatch ? { ifMatch: opts.ifMatch } : {}),
      ...(opts.context ? { context: opts.context } : {}),
      onAbort: cleanup,
      stage: (reusable) => this.stageSegment(written, reusable),
    });
  }

  /** Makes a written version current, in one transaction, then applies its side effects. */
  private async commitWrite(
    bucket: BucketInfo,
    key: string,
    w: {
      size: number;
      etag: string;
      owner: string;
      storageClass: string;
      data: VersionData;
      eventName: ObjectEvent['eventName'];
      ifNoneMatch?: '*';
      ifMatch?: string;
      context?: WriteContext;
      onAbort: () => Promise<void>;
      /**
       * In the transaction, before `data` is serialized: stores what it is to name (inline
       * bytes), taking from `reusable` the inline rows of the version it replaces if it likes.
       */
      stage?: (reusable: string[]) => void;
      /** Extra statements in the same transaction; returns more blob files to remove once durable. */
      alsoInTransaction?: () => string[];
    },
  ): Promise<PutObjectResult> {
    const now = this.opts.clock.now();
    let commit: Commit & { versionId: string; versioning: BucketInfo['versioning'] };
    // Set once the version is staged: from then on the committed metadata may name the
    // bytes, so a failure (of the group's commit or flush) must not remove them.
    let staged = false;
    try {
      commit = await this.writes.run(() => {
        // Re-read: the bucket may have gone or changed versioning while the bytes were written.
        const current = this.requireBucket(bucket.name);
        const latest = this.latestRow(current.name, key);
        if (w.ifNoneMatch && latest && !latest.delete_marker) throw s3Errors.preconditionFailed('If-None-Match');
        if (w.ifMatch !== undefined) {
          if (!latest || latest.delete_marker) throw s3Errors.noSuchKey(key);
          if (!etagMatches(w.ifMatch, latest.etag)) throw s3Errors.preconditionFailed('If-Match');
        }
        const result = this.placeVersion(current, key, latest, w.context, true);
        // Hooks add what the new version carries from birth (Object Lock retention).
        for (const h of this.hooks) {
          Object.assign(w.data.attributes, h.versionAttributes?.({ bucket: current, key, ...(w.context ? { context: w.context } : {}) }));
        }
        const reusable = [...(result.replace?.inline ?? [])];
        w.stage?.(reusable);
        this.dropSegments(reusable.map((b) => ({ b, n: 0, i: 1 })));
        if (result.replace) {
          // The current null version becomes the new one where it stands: its key, version
          // id and place in the key's history are unchanged, so no index entry moves (SQLite
          // leaves alone the indexes of columns an UPDATE does not name: delete_marker is
          // named only when it changes).
          const marker = latest?.delete_marker === 1 ? 'delete_marker = 0, ' : '';
          statement(
            this.db,
            `UPDATE versions SET ${marker}size = ?, etag = ?, last_modified = ?, owner = ?, storage_class = ?, data = ? WHERE seq = ?`,
          ).run(w.size, w.etag, now, w.owner, w.storageClass, JSON.stringify(w.data), result.replace.seq);
        } else {
          statement(
            this.db,
            `INSERT INTO versions (bucket, key, version_id, is_latest, delete_marker, size, etag, last_modified, owner, storage_class, data)
             VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?)`,
          ).run(current.name, key, result.versionId, w.size, w.etag, now, w.owner, w.storageClass, JSON.stringify(w.data));
        }
        const extra = w.alsoInTransaction?.() ?? [];
        staged = true;
        return {
          versionId: result.versionId,
          versioning: current.versioning,
          removeBlobs: [...result.removeBlobs, ...extra],
          events: [
            this.emit({
              eventName: w.eventName,
              bucket: current,
              key,
              ...(current.versioning === 'Unversioned' ? {} : { versionId: result.versionId }),
              size: w.size,
              etag: unquoteEtag(w.etag),
              time: now,
              sequencer: this.nextSequencer(),
              ...(w.context ? { context: w.context } : {}),
            }),
          ],
        };
      });
    } catch (e) {
      // A version staged in a group that then failed to commit names nothing: its bytes
      // are left for the sweep at the next open.
      if (!staged) await w.onAbort();
      throw e;
    }
    await this.applyCommit(commit);
    return {
      etag: w.etag,
      ...(commit.versioning === 'Unversioned' ? {} : { versionId: commit.versionId }),
      size: w.size,
      lastModified: now,
      ...(w.data.checksum ? { checksum: w.data.checksum } : {}),
    };
  }

  /**
   * Decides the new version's id and retires what it replaces, per the bucket's
   * versioning: unversioned and suspended buckets replace the null version (its bytes go);
   * enabled buckets keep every version. Runs inside the caller's transaction. With
   * `inPlace`, a null version that is the current one is left for the caller to rewrite
   * (`replace`) instead of being deleted.
   */
  private placeVersion(
    bucket: BucketInfo,
    key: string,
    latest: VersionRow | undefined,
    context: WriteContext | undefined,
    inPlace = false,
  ): { versionId: string; removeBlobs: string[]; replace?: { seq: number; inline: string[] } } {
    // Parsed once, and only when a hook looks at it.
    let latestInfo: ObjectInfo | undefined;
    const infoOfLatest = (row: VersionRow): ObjectInfo => (latestInfo ??= toObjectInfo(row));
    for (const h of this.hooks) {
      h.beforeOverwrite?.({ bucket, key, current: latest ? infoOfLatest(latest) : undefined, ...(context ? { context } : {}) });
    }
    const removeBlobs: string[] = [];
    let versionId = 'null';
    let latestRemoved = false;
    if (bucket.versioning === 'Enabled') {
      versionId = this.newVersionId();
    } else {
      // Usually the null version is the current one, already in hand.
      const nullRow = latest?.version_id === 'null' ? latest : this.versionRow(bucket.name, key, 'null');
      if (nullRow) {
        const version = nullRow === latest ? infoOfLatest(nullRow) : toObjectInfo(nullRow);
        for (const h of this.hooks) h.beforeDeleteVersion?.({ bucket, version, reason: 'replace', ...(context ? { context } : {}) });
        const segments = segmentsOf(nullRow);
        if (inPlace && nullRow === latest) {
          // The caller rewrites this row; its bytes go (inline rows offered for reuse).
          removeBlobs.push(...segments.filter((seg) => !seg.i).map((seg) => seg.b));
          return { versionId, removeBlobs, replace: { seq: nullRow.seq, inline: segments.filter((seg) => seg.i).map((seg) => seg.b) } };
        }
        statement(this.db, 'DELETE FROM versions WHERE seq = ?').run(nullRow.seq);
        removeBlobs.push(...this.dropSegments(segments));
        latestRemoved = nullRow === latest;
      }
    }
    // A key has at most one current version: the row `latest` names, unless just removed.
    if (latest && !latestRemoved) statement(this.db, 'UPDATE versions SET is_latest = 0 WHERE seq = ?').run(latest.seq);
    return { versionId, removeBlobs };
  }

  /**
   * Inside the change's transaction: a change event, with what the outbox hooks keep of it
   * stored in the same commit.
   */
  private emit(event: ObjectEvent): ObjectEvent {
    for (const h of this.hooks) {
      const payload = h.outbox?.(event);
      if (payload !== undefined) statement(this.db, 'INSERT INTO outbox (payload) VALUES (?)').run(payload);
    }
    return event;
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    return statement<[number], OutboxEntry>(this.db, 'SELECT seq, payload FROM outbox ORDER BY seq LIMIT ?').all(limit);
  }

  async removeOutbox(seq: number): Promise<void> {
    // No flush of its own: an entry that comes back after a crash is delivered again (at least once).
    this.commit(() => statement(this.db, 'DELETE FROM outbox WHERE seq <= ?').run(seq));
  }

  private async applyCommit(commit: Commit): Promise<void> {
    await this.blobs.remove(commit.removeBlobs);
    for (const event of commit.events) {
      for (const h of this.hooks) {
        try {
          h.afterCommit?.(event);
        } catch {
          // A listener's failure must not fail a write that is already durable.
        }
      }
    }
  }

  /** The event of a change to an existing version (its attributes or storage class). */
  private versionEvent(eventName: ObjectEvent['eventName'], bucket: BucketInfo, version: ObjectInfo, context: WriteContext): ObjectEvent {
    return {
      eventName,
      bucket,
      key: version.key,
      ...(bucket.versioning === 'Unversioned' ? {} : { versionId: version.versionId }),
      size: version.size,
      etag: unquoteEtag(version.etag),
      time: this.opts.clock.now(),
      sequencer: this.nextSequencer(),
      ...(eventName === 'LifecycleTransition' ? { storageClass: version.storageClass } : {}),
      context,
    };
  }

  private newVersionId(): string {
    return this.opts.random.bytes(24).toString('base64url');
  }

  /**
   * The next value of S3's `sequencer`, increasing across the store's whole life. Values
   * are reserved in `counters` a block at a time rather than written one by one (each
   * write of that row is another page in the commit): called inside write transactions
   * only, every value handed out lies below a reservation committed with or before it,
   * and events are published only once their transaction is durable, so after a crash
   * the count resumes above every published value. The values a crash skips leave gaps,
   * which sequencers allow.
   */
  private nextSequencer(): string {
    if (this.sequence.next >= this.sequence.reserved) {
      const reserved =
        statement<[number, number], number>(
          this.db,
          "INSERT INTO counters (name, value) VALUES ('sequencer', ?) ON CONFLICT(name) DO UPDATE SET value = value + ? RETURNING value",
        )
          .pluck()
          .get(SEQUENCER_BLOCK, SEQUENCER_BLOCK) ?? SEQUENCER_BLOCK;
      this.sequence = { next: reserved - SEQUENCER_BLOCK, reserved };
    }
    this.sequence.next += 1;
    return this.sequence.next.toString(16).toUpperCase().padStart(16, '0');
  }

  // ---- reading ---------------------------------------------------------------------------

  private latestRow(bucket: string, key: string): Readonly<VersionRow> | undefined {
    const id = `${bucket}\u0000${key}`;
    const cached = this.latestCache.get(id);
    if (cached) return cached;
    // INDEXED BY: left to itself the planner picks versions_current (bucket, is_latest, ...),
    // which scans every current object of the bucket; by key it is a few rows at most.
    const row = statement<[string, string], VersionRow>(this.db, 'SELECT * FROM versions INDEXED BY versions_by_key WHERE bucket = ? AND key = ? AND is_latest = 1').get(bucket, key);
    // Inside a transaction the row may be one that rolls back: only committed reads are kept.
    if (row && !this.db.inTransaction) {
      if (this.latestCache.size >= LATEST_CACHE_SIZE) this.latestCache.clear();
      this.latestCache.set(id, Object.freeze(row));
    }
    return row;
  }

  private versionRow(bucket: string, key: string, versionId: string): VersionRow | undefined {
    return statement<[string, string, string], VersionRow>(this.db, 'SELECT * FROM versions WHERE bucket = ? AND key = ? AND version_id = ?')
      .get(bucket, key, versionId);
  }

  /** The version a read names, with S3's answers for missing versions and delete markers. */
  private readableRow(bucket: string, key: string, versionId: string | undefined): VersionRow {
    this.requireBucket(bucket);
    if (versionId !== undefined) {
      if (!isPlausibleVersionId(versionId)) throw s3Errors.invalidVersionId(versionId);
      const row = this.versionRow(bucket, key, versionId);
      if (!row) throw s3Errors.noSuchVersion(key, versionId);
      if (row.delete_marker) {
        throw s3Errors.methodNotAllowedOnDeleteMarker({
          'x-amz-delete-marker': 'true',
          'x-amz-version-id': row.version_id,
          'last-modified': new Date(row.last_modified).toUTCString(),
        });
      }
      return row;
    }
    const row = this.latestRow(bucket, key);
    if (!row) throw s3Errors.noSuchKey(key);
    if (row.delete_marker) throw s3Errors.noSuchKey(key, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': row.version_id });
    return row;
  }

  async headObject(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<ObjectInfo> {
    return toObjectInfo(this.readableRow(bucket, key, opts.versionId));
  }

  async getObject(bucket: string, key: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    const row = this.readableRow(bucket, key, opts.versionId);
    const data = JSON.parse(row.data) as VersionData;
    const info = toObjectInfo(row, data);
    opts.check?.(info);
    if (opts.range === undefined) return { info, body: await this.readBytes(row, 0, row.size, data.segments) };
    const range = resolveRange(opts.range, row.size);
    return { info, body: await this.readBytes(row, range.start, range.end + 1, data.segments), range };
  }

  /** Plain bytes `[start, end)` of a version, across its segments. */
  private async readBytes(row: VersionRow, start: number, end: number, segments: readonly Segment[] = segmentsOf(row)): Promise<Buffer> {
    const wanted: { s: Segment; from: number; to: number; stored?: Buffer }[] = [];
    let offset = 0;
    for (const s of segments) {
      const segStart = offset;
      const segEnd = offset + s.n;
      offset = segEnd;
      if (segEnd <= start || segStart >= end) continue;
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, segEnd) - segStart;
      // Inline bytes are fetched before the first await, from the same snapshot as `row`.
      wanted.push({ s, from, to, ...(s.i ? { stored: this.inlineBytes(s.b) } : {}) });
    }
    const parts: Buffer[] = [];
    for (const { s, from, to, stored } of wanted) {
      if (s.a) {
        if (!this.transform) throw new Error('object bytes are sealed but no at-rest transform is installed');
        const sealed = stored ?? (await this.blobs.readAll(s.b, s.n));
        const plain = await this.transform.open({ bucket: row.bucket, key: row.key, sealed, attributes: s.a, bulk: this.crypto });
        parts.push(plain.subarray(from, to));
      } else {
        parts.push(stored ? stored.subarray(from, to) : await this.blobs.read(s.b, from, to));
      }
    }
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
  }

  private inlineBytes(id: string): Buffer {
    const cached = this.inlineCache.get(id);
    if (cached) return cached;
    const row = statement<[number], { bytes: Buffer }>(this.db, 'SELECT bytes FROM inline_segments WHERE id = ?').get(Number(id));
    if (!row) throw new Error(`inline segment ${id} is missing`);
    // As for latestCache: only committed bytes are kept.
    if (!this.db.inTransaction) {
      if (this.inlineCacheBytes + row.bytes.length > INLINE_CACHE_BYTES) {
        this.inlineCache.clear();
        this.inlineCacheBytes = 0;
      }
      this.inlineCache.set(id, row.bytes);
      this.inlineCacheBytes += row.bytes.length;
    }
    return row.bytes;
  }

  // ---- deleting --------------------------------------------------------------------------

  async deleteObject(bucket: string, key: string, opts: DeleteObjectOptions = {}): Promise<DeleteObjectResult> {
    const context = opts.context;
    const now = this.opts.clock.now();
    const ctx = context ? { context } : {};
    const outcome = await this.commitDurably((): Commit & { result: DeleteObjectResult } => {
      const info = this.requireBucket(bucket);
      const events: ObjectEvent[] = [];
      const event = (removed: 'Delete' | 'DeleteMarkerCreated', versionId: string | undefined): void => {
        const eventName = context?.lifecycle ? (`LifecycleExpiration:${removed}` as const) : (`ObjectRemoved:${removed}` as const);
        events.push(this.emit({ eventName, bucket: info, key, ...(versionId ? { versionId } : {}), size: 0, time: now, sequencer: this.nextSequencer(), ...ctx }));
      };
      if (opts.versionId !== undefined) {
        if (!isPlausibleVersionId(opts.versionId)) throw s3Errors.invalidVersionId(opts.versionId);
        const row = this.versionRow(bucket, key, opts.versionId);
        // Deleting a version that is not there succeeds, as in S3.
        if (!row) return { removeBlobs: [], events, result: { versionId: opts.versionId, deleteMarker: false } };
        const version = toObjectInfo(row);
        for (const h of this.hooks) h.beforeDeleteVersion?.({ bucket: info, version, reason: 'delete', ...ctx });
        statement(this.db, 'DELETE FROM versions WHERE seq = ?').run(row.seq);
        if (row.is_latest) {
          statement(
            this.db,
            'UPDATE versions SET is_latest = 1 WHERE seq = (SELECT seq FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1)',
          ).run(bucket, key);
        }
        event('Delete', row.version_id);
        return { removeBlobs: this.dropSegments(segmentsOf(row)), events, result: { versionId: row.version_id, deleteMarker: row.delete_marker === 1 } };
      }
      const latest = this.latestRow(bucket, key);
      if (info.versioning === 'Unversioned') {
        if (!latest) return { removeBlobs: [], events, result: { deleteMarker: false } };
        const version = toObjectInfo(latest);
        for (const h of this.hooks) h.beforeDeleteVersion?.({ bucket: info, version, reason: 'delete', ...ctx });
        statement(this.db, 'DELETE FROM versions WHERE seq = ?').run(latest.seq);
        event('Delete', undefined);
        return { removeBlobs: this.dropSegments(segmentsOf(latest)), events, result: { deleteMarker: false } };
      }
      const placed = this.placeVersion(info, key, latest, context);
      const data: VersionData = { metadata: {}, headers: {}, attributes: {}, segments: [] };
      statement(
        this.db,
        `INSERT INTO versions (bucket, key, version_id, is_latest, delete_marker, size, etag, last_modified, owner, storage_class, data)
         VALUES (?, ?, ?, 1, 1, 0, '', ?, ?, 'STANDARD', ?)`,
      ).run(bucket, key, placed.versionId, now, context?.accountId ?? info.owner, JSON.stringify(data));
      event('DeleteMarkerCreated', placed.versionId);
      return { removeBlobs: placed.removeBlobs, events, result: { versionId: placed.versionId, deleteMarker: true } };
    });
    await this.applyCommit(outcome);
    return outcome.result;
  }

  async updateObjectAttributes(
    bucket: string,
    key: string,
    versionId: string | undefined,
    patch: Record<string, string | undefined>,
    context?: WriteContext,
  ): Promise<ObjectInfo> {
    const outcome = await this.commitDurably((): Commit & { info: ObjectInfo } => {
      const row = this.readableRow(bucket, key, versionId);
      const info = this.requireBucket(bucket);
      const version = toObjectInfo(row);
      for (const h of this.hooks) h.beforeAttributesChange?.({ bucket: info, version, patch, ...(context ? { context } : {}) });
      const data = JSON.parse(row.data) as VersionData;
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) delete data.attributes[k];
        else data.attributes[k] = v;
      }
      statement(this.db, 'UPDATE versions SET data = ? WHERE seq = ?').run(JSON.stringify(data), row.seq);
      const changed = toObjectInfo({ ...row, data: JSON.stringify(data) });
      const events = context?.notify ? [this.emit(this.versionEvent(context.notify, info, changed, context))] : [];
      return { removeBlobs: [], events, info: changed };
    });
    await this.applyCommit(outcome);
    return outcome.info;
  }

  async setStorageClass(
    bucket: string,
    key: string,
    versionId: string,
    storageClass: string,
    patch: Record<string, string | undefined> = {},
  ): Promise<ObjectInfo> {
    const outcome = await this.commitDurably((): Commit & { info: ObjectInfo } => {
      const row = this.readableRow(bucket, key, versionId);
      const data = JSON.parse(row.data) as VersionData;
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) delete data.attributes[k];
        else data.attributes[k] = v;
      }
      const text = JSON.stringify(data);
      statement(this.db, 'UPDATE versions SET storage_class = ?, data = ? WHERE seq = ?').run(storageClass, text, row.seq);
      const changed = toObjectInfo({ ...row, storage_class: storageClass, data: text });
      // Only lifecycle rules change a stored version's class.
      return { removeBlobs: [], events: [this.emit(this.versionEvent('LifecycleTransition', this.requireBucket(bucket), changed, { lifecycle: true }))], info: changed };
    });
    await this.applyCommit(outcome);
    return outcome.info;
  }

  // ---- listing ---------------------------------------------------------------------------

  async listObjectsV2(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const max = clampMax(opts.maxKeys);
    let after = opts.startAfter;
    if (opts.continuationToken !== undefined) after = decodeToken(opts.continuationToken);
    const upper = prefix === '' ? null : (prefixSuccessor(prefix) ?? null);

    const fromStmt = this.db.prepare<[string, string, string | null, string | null, number], VersionRow>(
      `SELECT * FROM versions WHERE bucket = ? AND is_latest = 1 AND delete_marker = 0 AND key >= ? AND (? IS NULL OR key < ?)
       ORDER BY key LIMIT ?`,
    );
    const afterStmt = this.db.prepare<[string, string, string | null, string | null, number], VersionRow>(
      `SELECT * FROM versions WHERE bucket = ? AND is_latest = 1 AND delete_marker = 0 AND key > ? AND (? IS NULL OR key < ?)
       ORDER BY key LIMIT ?`,
    );
    type Cursor = { key: string; inclusive: boolean };
    let start: Cursor = { key: prefix, inclusive: true };
    if (after !== undefined && after >= prefix) {
      const skip = delimiter ? rolledPrefix(after, prefix, delimiter) : undefined;
      const succ = skip !== undefined && skip === after ? prefixSuccessor(skip) : undefined;
      start = succ !== undefined ? { key: succ, inclusive: true } : { key: after, inclusive: false };
    }
    const page = listPage<VersionRow, Cursor>({
      start,
      rows: (c) => (c.inclusive ? fromStmt : afterStmt).iterate(bucket, c.key, upper, upper, max + 1),
      skipPast: (cp) => {
        const succ = prefixSuccessor(cp);
        return succ === undefined ? undefined : { key: succ, inclusive: true };
      },
      keyOf: (r) => r.key,
      prefix,
      delimiter,
      max,
    });
    return {
      objects: page.rows.map((r) => toObjectInfo(r)),
      commonPrefixes: page.prefixes,
      isTruncated: page.truncated,
      ...(page.last !== undefined ? { nextMarker: page.last } : {}),
      ...(page.truncated && page.last !== undefined ? { nextContinuationToken: encodeToken(page.last) } : {}),
    };
  }

  async listObjectVersions(bucket: string, opts: ListVersionsOptions = {}): Promise<ListVersionsResult> {
    this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const max = clampMax(opts.maxKeys);
    const upper = prefix === '' ? null : (prefixSuccessor(prefix) ?? null);
    const stmt = this.db.prepare<[string, string, string, number, string | null, string | null, number], VersionRow>(
      `SELECT * FROM versions WHERE bucket = ? AND (key > ? OR (key = ? AND seq < ?)) AND (? IS NULL OR key < ?)
       ORDER BY key, seq DESC LIMIT ?`,
    );
    type Cursor = { key: string; seq: number };
    // Rows strictly after (key, seq) in (key ascending, newest first) order.
    let start: Cursor = { key: prefix, seq: MAX_SEQ };
    const km = opts.keyMarker;
    if (km !== undefined && km !== '' && km >= prefix) {
      const skip = delimiter ? rolledPrefix(km, prefix, delimiter) : undefined;
      const succ = skip !== undefined && skip === km ? prefixSuccessor(skip) : undefined;
      if (succ !== undefined) start = { key: succ, seq: MAX_SEQ };
      else if (opts.versionIdMarker) start = { key: km, seq: this.versionRow(bucket, km, opts.versionIdMarker)?.seq ?? 0 };
      else start = { key: km, seq: 0 };
    }
    const page = listPage<VersionRow, Cursor>({
      start,
      rows: (c) => stmt.iterate(bucket, c.key, c.key, c.seq, upper, upper, max + 1),
      skipPast: (cp) => {
        const succ = prefixSuccessor(cp);
        return succ === undefined ? undefined : { key: succ, seq: MAX_SEQ };
      },
      keyOf: (r) => r.key,
      prefix,
      delimiter,
      max,
    });
    const lastRow = page.rows[page.rows.length - 1];
    const lastIsRow = lastRow !== undefined && page.last === lastRow.key && !page.prefixes.includes(page.last);
    return {
      versions: page.rows.map((r) => toObjectInfo(r)),
      commonPrefixes: page.prefixes,
      isTruncated: page.truncated,
      ...(page.truncated && page.last !== undefined
        ? { nextKeyMarker: page.last, ...(lastIsRow ? { nextVersionIdMarker: lastRow.version_id } : {}) }
        : {}),
    };
  }

  // ---- multipart -------------------------------------------------------------------------

  async createMultipartUpload(bucket: string, key: string, opts: MultipartUploadOptions = {}): Promise<{ uploadId: string }> {
    const info = this.requireBucket(bucket);
    checkObjectKey(key);
    const uploadId = this.opts.random.bytes(48).toString('base64url');
    const data: UploadData = {
      metadata: { ...(opts.metadata ?? {}) },
      headers: { ...(opts.headers ?? {}) },
      attributes: { ...(opts.attributes ?? {}) },
      ...(opts.checksumAlgorithm ? { checksumAlgorithm: opts.checksumAlgorithm } : {}),
      ...(opts.checksumType ? { checksumType: opts.checksumType } : {}),
    };
    await this.commitDurably(() =>
      statement(this.db, 'INSERT INTO uploads (upload_id, bucket, key, initiated, owner, storage_class, data) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(uploadId, bucket, key, this.opts.clock.now(), opts.owner ?? info.owner, opts.storageClass ?? 'STANDARD', JSON.stringify(data)),
    );
    return { uploadId };
  }

  private uploadRow(bucket: string, key: string, uploadId: string): UploadRow {
    this.requireBucket(bucket);
    const row = statement<[string, string, string], UploadRow>(this.db, 'SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?')
      .get(uploadId, bucket, key);
    if (!row) throw s3Errors.noSuchUpload(uploadId);
    return row;
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    opts: UploadPartOptions = {},
  ): Promise<UploadPartResult> {
    const upload = this.uploadRow(bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw s3Errors.invalidPartNumber(partNumber);
    checkDigestFormats(opts.contentMd5, opts.checksum);
    const uploadData = JSON.parse(upload.data) as UploadData;
    if (uploadData.checksumAlgorithm && opts.checksum && opts.checksum.algorithm !== uploadData.checksumAlgorithm) {
      throw s3Errors.invalidRequest(
        `Checksum Type mismatch occurred, expected checksum Type: ${uploadData.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${opts.checksum.algorithm.toLowerCase()}`,
      );
    }
    const algorithm = opts.checksum?.algorithm ?? uploadData.checksumAlgorithm;
    const info = this.requireBucket(bucket);
    const written = await this.writeSegment(info, key, body, algorithm, undefined, uploadData.attributes);
    const cleanup = (): Promise<void> => this.discardSegment(written);
    try {
      verifyDigests(written.md5, written.checksum, opts.contentMd5, opts.checksum);
    } catch (e) {
      await cleanup();
      throw e;
    }
    const etag = `"${written.md5.toString('hex')}"`;
    const checksum: StoredChecksum | undefined =
      algorithm && written.checksum ? { algorithm, value: written.checksum.toString('base64'), type: 'FULL_OBJECT' } : undefined;
    let replaced: string[] = [];
    try {
      this.commit(() => {
        this.uploadRow(bucket, key, uploadId);
        const old = statement<[string, number], { segment: string }>(this.db, 'SELECT segment FROM parts WHERE upload_id = ? AND part_number = ?')
          .get(uploadId, partNumber);
        if (old) replaced = this.dropSegments([JSON.parse(old.segment) as Segment]);
        this.stageSegment(written);
        statement(
          this.db,
          'INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, last_modified, segment, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(uploadId, partNumber, written.segment.n, etag, this.opts.clock.now(), JSON.stringify(written.segment), checksum ? JSON.stringify(checksum) : null);
      });
    } catch (e) {
      await cleanup();
      throw e;
    }
    await this.flush.flushed();
    await this.blobs.remove(replaced);
    return { etag, size: written.segment.n, ...(checksum ? { checksum } : {}) };
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts: CompleteMultipartOptions = {},
  ): Promise<PutObjectResult> {
    const info = this.requireBucket(bucket);
    const upload = this.uploadRow(bucket, key, uploadId);
    if (parts.length === 0) throw s3Errors.malformedXml();
    const stored = new Map(
      statement<[string], PartRow>(this.db, 'SELECT * FROM parts WHERE upload_id = ?')
        .all(uploadId)
        .map((p) => [p.part_number, p]),
    );
    let previous = 0;
    const chosen: PartRow[] = [];
    for (const p of parts) {
      if (p.partNumber <= previous) throw s3Errors.invalidPartOrder(uploadId);
      previous = p.partNumber;
      const row = stored.get(p.partNumber);
      if (!row || unquoteEtag(row.etag) !== unquoteEtag(p.etag)) throw s3Errors.invalidPart(uploadId, p.partNumber, p.etag);
      if (p.checksum !== undefined && row.checksum !== null) {
        const c = JSON.parse(row.checksum) as StoredChecksum;
        if (c.value !== p.checksum) throw s3Errors.invalidPart(uploadId, p.partNumber, p.etag);
      }
      chosen.push(row);
    }
    chosen.forEach((row, i) => {
      if (i < chosen.length - 1 && row.size < MIN_PART_SIZE) throw s3Errors.entityTooSmall(row.size, row.part_number, row.etag);
    });
    const uploadData = JSON.parse(upload.data) as UploadData;
    const segments = chosen.map((r) => JSON.parse(r.segment) as Segment);
    const size = segments.reduce((n, s) => n + s.n, 0);
    let checksum: StoredChecksum | undefined;
    const algorithm = uploadData.checksumAlgorithm;
    if (algorithm) {
      const values = chosen.map((r) => (r.checksum ? (JSON.parse(r.checksum) as StoredChecksum).value : undefined));
      if (uploadData.checksumType === 'FULL_OBJECT') {
        // A full-object checksum covers the bytes themselves; read them once to compute it.
        const sum = newChecksummer(algorithm);
        const fake: VersionRow = { ...upload, seq: 0, version_id: '', is_latest: 0, delete_marker: 0, size, etag: '', last_modified: 0, data: JSON.stringify({ segments }) };
        const step = 8 * 1024 * 1024;
        for (let at = 0; at < size; at += step) sum.update(await this.readBytes(fake, at, Math.min(size, at + step)));
        checksum = { algorithm, value: sum.digest().toString('base64'), type: 'FULL_OBJECT' };
      } else if (values.every((v): v is string => v !== undefined)) {
        checksum = { algorithm, value: compositeChecksum(algorithm, values), type: 'COMPOSITE' };
      }
    }
    const data: VersionData = {
      metadata: uploadData.metadata,
      headers: uploadData.headers,
      attributes: uploadData.attributes,
      segments,
      partsCount: chosen.length,
      ...(checksum ? { checksum } : {}),
    };
    const used = new Set(segments.map((s) => s.b));
    return this.commitWrite(info, key, {
      size,
      etag: multipartEtag(chosen.map((r) => r.etag)),
      owner: upload.owner,
      storageClass: upload.storage_class,
      data,
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      ...(opts.ifNoneMatch ? { ifNoneMatch: opts.ifNoneMatch } : {}),
      ...(opts.ifMatch ? { ifMatch: opts.ifMatch } : {}),
      ...(opts.context ? { context: opts.context } : {}),
      // The parts stay with the upload until the commit; nothing to remove on failure.
      onAbort: async () => undefined,
      alsoInTransaction: () => {
        // The upload must still exist (not aborted or completed meanwhile).
        this.uploadRow(bucket, key, uploadId);
        const unused = this.dropSegments(
          statement<[string], { segment: string }>(this.db, 'SELECT segment FROM parts WHERE upload_id = ?')
            .all(uploadId)
            .map((p) => JSON.parse(p.segment) as Segment)
            .filter((seg) => !used.has(seg.b)),
        );
        statement(this.db, 'DELETE FROM parts WHERE upload_id = ?').run(uploadId);
        statement(this.db, 'DELETE FROM uploads WHERE upload_id = ?').run(uploadId);
        return unused;
      },
    });
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const blobs = await this.commitDurably(() => {
      this.uploadRow(bucket, key, uploadId);
      const ids = this.dropSegments(
        statement<[string], { segment: string }>(this.db, 'SELECT segment FROM parts WHERE upload_id = ?')
          .all(uploadId)
          .map((p) => JSON.parse(p.segment) as Segment),
      );
      statement(this.db, 'DELETE FROM parts WHERE upload_id = ?').run(uploadId);
      statement(this.db, 'DELETE FROM uploads WHERE upload_id = ?').run(uploadId);
      return ids;
    });
    await this.blobs.remove(blobs);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts?: number } = {},
  ): Promise<ListPartsResult> {
    const upload = this.uploadRow(bucket, key, uploadId);
    const max = clampMax(opts.maxParts);
    const rows = statement<[string, number, number], PartRow>(this.db, 'SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?')
      .all(uploadId, opts.partNumberMarker ?? 0, max + 1);
    const truncated = rows.length > max;
    const page = rows.slice(0, max);
    const last = page[page.length - 1];
    return {
      upload: toUploadInfo(upload),
      parts: page.map(toPartInfo),
      isTruncated: truncated,
      ...(truncated && last ? { nextPartNumberMarker: last.part_number } : {}),
    };
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const max = clampMax(opts.maxUploads);
    const upper = prefix === '' ? null : (prefixSuccessor(prefix) ?? null);
    const stmt = this.db.prepare<[string, string, string, string, string | null, string | null, number], UploadRow>(
      `SELECT * FROM uploads WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?)) AND (? IS NULL OR key < ?)
       ORDER BY key, upload_id LIMIT ?`,
    );
    type Cursor = { key: string; uploadId: string };
    // Upload ids are base64url, all above '' and below '~'.
    let start: Cursor = { key: prefix, uploadId: '' };
    if (opts.keyMarker) {
      start = opts.uploadIdMarker ? { key: opts.keyMarker, uploadId: opts.uploadIdMarker } : { key: opts.keyMarker, uploadId: '~' };
      if (opts.keyMarker < prefix) start = { key: prefix, uploadId: '' };
    }
    const page = listPage<UploadRow, Cursor>({
      start,
      rows: (c) => stmt.iterate(bucket, c.key, c.key, c.uploadId, upper, upper, max + 1),
      skipPast: (cp) => {
        const succ = prefixSuccessor(cp);
        return succ === undefined ? undefined : { key: succ, uploadId: '' };
      },
      keyOf: (r) => r.key,
      prefix,
      delimiter,
      max,
    });
    // A key equal to the start key with uploadId '' must be included: `upload_id > ''` does that.
    const lastRow = page.rows[page.rows.length - 1];
    return {
      uploads: page.rows.map(toUploadInfo),
      commonPrefixes: page.prefixes,
      isTruncated: page.truncated,
      ...(page.truncated && page.last !== undefined
        ? { nextKeyMarker: page.last, ...(lastRow && lastRow.key === page.last ? { nextUploadIdMarker: lastRow.upload_id } : {}) }
        : {}),
    };
  }
}

// ---- helpers -------------------------------------------------------------------------------

/**
 * One page of a key-ordered listing with S3's rules: keys under `prefix`, rolled up into
 * common prefixes at `delimiter`, objects and prefixes together at most `max`. Skips
 * the rest of a rolled-up prefix with a fresh query instead of reading every key in it.
 */
function listPage<R, C>(p: {
  start: C;
  rows: (cursor: C) => IterableIterator<R>;
  skipPast: (commonPrefix: string) => C | undefined;
  keyOf: (row: R) => string;
  prefix: string;
  delimiter: string | undefined;
  max: number;
}): { rows: R[]; prefixes: string[]; truncated: boolean; last?: string } {
  const rows: R[] = [];
  const prefixes: string[] = [];
  let count = 0;
  let truncated = false;
  let last: string | undefined;
  if (p.max === 0) return { rows, prefixes, truncated };
  let cursor: C | undefined = p.start;
  scan: while (cursor !== undefined) {
    const current: C = cursor;
    cursor = undefined;
    for (const row of p.rows(current)) {
      const key = p.keyOf(row);
      const cp = p.delimiter ? rolledPrefix(key, p.prefix, p.delimiter) : undefined;
      if (count === p.max) {
        truncated = true;
        break scan;
      }
      if (cp !== undefined) {
        prefixes.push(cp);
        last = cp;
        count++;
        cursor = p.skipPast(cp);
        continue scan;
      }
      rows.push(row);
      last = key;
      count++;
    }
    // The batch ended without reaching the page size: there is nothing more.
    break;
  }
  return { rows, prefixes, truncated, ...(last !== undefined ? { last } : {}) };
}

/** The common prefix `key` rolls up into, if the delimiter occurs after the prefix. */
function rolledPrefix(key: string, prefix: string, delimiter: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

function clampMax(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n)) return MAX_LIST;
  return Math.max(0, Math.min(MAX_LIST, Math.floor(n)));
}

function encodeToken(marker: string): string {
  return Buffer.from(marker, 'utf8').toString('base64');
}

function decodeToken(token: string): string {
  const raw = Buffer.from(token, 'base64');
  if (token === '' || raw.toString('base64') !== token) {
    throw s3Errors.invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  return raw.toString('utf8');
}

function isPlausibleVersionId(v: string): boolean {
  return v === 'null' || /^[A-Za-z0-9._-]{1,1024}$/.test(v);
}

function etagMatches(condition: string, etag: string): boolean {
  return condition
    .split(',')
    .map((t) => t.trim())
    .some((t) => t === '*' || unquoteEtag(t) === unquoteEtag(etag));
}

function checkDigestFormats(contentMd5: string | undefined, checksum: { algorithm: ChecksumAlgorithm; value?: string } | undefined): void {
  if (contentMd5 !== undefined && !isWellFormedChecksum('MD5', contentMd5)) throw s3Errors.invalidDigest(contentMd5);
  if (checksum?.value !== undefined && !isWellFormedChecksum(checksum.algorithm, checksum.value)) {
    throw s3Errors.invalidChecksumHeader(`x-amz-checksum-${checksum.algorithm.toLowerCase()}`);
  }
}

function verifyDigests(
  md5: Buffer,
  computed: Buffer | undefined,
  contentMd5: string | undefined,
  checksum: { algorithm: ChecksumAlgorithm; value?: string } | undefined,
): void {
  if (contentMd5 !== undefined && md5.toString('base64') !== contentMd5) {
    throw s3Errors.contentMd5Mismatch(contentMd5, md5.toString('base64'));
  }
  if (checksum?.value !== undefined && computed?.toString('base64') !== checksum.value) {
    throw s3Errors.badDigest(checksum.algorithm);
  }
}

async function collect(body: ObjectBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.isBuffer(body) ? body : Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function segmentsOf(row: VersionRow): Segment[] {
  return (JSON.parse(row.data) as VersionData).segments;
}

function toBucketInfo(row: BucketRow): BucketInfo {
  return {
    name: row.name,
    owner: row.owner,
    region: row.region,
    createdAt: row.created_at,
    versioning: row.versioning === 'Enabled' || row.versioning === 'Suspended' ? row.versioning : 'Unversioned',
    ...(row.mfa_delete === 'Enabled' || row.mfa_delete === 'Disabled' ? { mfaDelete: row.mfa_delete } : {}),
    objectLockEnabled: row.object_lock === 1,
  };
}

function toObjectInfo(row: VersionRow, data: VersionData = JSON.parse(row.data) as VersionData): ObjectInfo {
  return {
    bucket: row.bucket,
    key: row.key,
    versionId: row.version_id,
    isLatest: row.is_latest === 1,
    deleteMarker: row.delete_marker === 1,
    size: row.size,
    etag: row.etag,
    lastModified: row.last_modified,
    metadata: data.metadata,
    headers: data.headers,
    ...(data.checksum ? { checksum: data.checksum } : {}),
    ...(data.partsCount !== undefined ? { partsCount: data.partsCount } : {}),
    storageClass: row.storage_class,
    owner: row.owner,
    attributes: data.attributes,
  };
}

function toUploadInfo(row: UploadRow): UploadInfo {
  const data = JSON.parse(row.data) as UploadData;
  return {
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: row.key,
    initiated: row.initiated,
    owner: row.owner,
    storageClass: row.storage_class,
    ...(data.checksumAlgorithm ? { checksumAlgorithm: data.checksumAlgorithm } : {}),
    ...(data.checksumType ? { checksumType: data.checksumType } : {}),
  };
}

function toPartInfo(row: PartRow): PartInfo {
  return {
    partNumber: row.part_number,
    etag: row.etag,
    size: row.size,
    lastModified: row.last_modified,
    ...(row.checksum ? { checksum: JSON.parse(row.checksum) as StoredChecksum } : {}),
  };
}
