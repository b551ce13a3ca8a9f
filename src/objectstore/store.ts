/**
 * The object store's contracts. {@link ObjectStore} is the narrow interface the rest of
 * Cairn writes log files, digests and lake files through; the embedded store and an
 * adapter for an external S3 endpoint both implement it and both pass the conformance
 * suite (conformance.ts). {@link ObjectStoreEngine} is the embedded store's full surface
 * that the S3 API (services/s3) serves: versioning, version listing, multipart listing,
 * bucket configuration, and the {@link ObjectStoreHooks} through which Object Lock, MFA
 * delete, encryption at rest, lifecycle and notifications attach.
 *
 * Failures are S3's own errors (objectstore/errors.ts): NoSuchBucket, NoSuchKey, ...
 */
import type { ChecksumAlgorithm } from './checksums.js';
import type { BulkCipher } from './crypto-pool.js';

export type { ChecksumAlgorithm } from './checksums.js';

/** Object bytes: a buffer, or a stream of chunks (a Node Readable is one) written without buffering. */
export type ObjectBody = Uint8Array | AsyncIterable<Uint8Array>;

export type VersioningState = 'Unversioned' | 'Enabled' | 'Suspended';

export interface BucketInfo {
  name: string;
  /** The owning account's id. */
  owner: string;
  region: string;
  createdAt: number;
  versioning: VersioningState;
  /** The MFA-delete setting as last put (enforced by a hook, not the engine). */
  mfaDelete?: 'Enabled' | 'Disabled';
  /** Set at creation (`x-amz-bucket-object-lock-enabled`); enforcement is a hook's. */
  objectLockEnabled: boolean;
}

/** The standard HTTP headers S3 keeps with an object ("system metadata"). */
export interface ObjectHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  /** Kept as the client sent it (an HTTP date). */
  expires?: string;
  websiteRedirectLocation?: string;
}

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64; composite values end with `-<part count>`. */
  value: string;
  type: ChecksumType;
}

/** One version of an object (or a delete marker). */
export interface ObjectInfo {
  bucket: string;
  key: string;
  /** `null` for the null version (unversioned or suspended buckets). */
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  /** Quoted, as S3 sends it: `"<md5 hex>"` or `"<hex>-<parts>"`. */
  etag: string;
  lastModified: number;
  /** User metadata (`x-amz-meta-*`), names lower-cased without the prefix. */
  metadata: Record<string, string>;
  headers: ObjectHeaders;
  checksum?: StoredChecksum;
  /** Set for objects completed from a multipart upload. */
  partsCount?: number;
  storageClass: string;
  /** The account that wrote this version. */
  owner: string;
  /** Extension data kept with the version by later features (retention, legal hold, encryption). */
  attributes: Record<string, string>;
}

/**
 * Who asks, and with which request options, passed untouched to the hooks so that
 * Object Lock (governance bypass), MFA delete and encryption can decide.
 */
export interface WriteContext {
  accountId?: string;
  principalArn?: string;
  requestId?: string;
  /** `x-amz-bypass-governance-retention: true`. */
  bypassGovernanceRetention?: boolean;
  /** `x-amz-mfa`: serial and code. */
  mfa?: string;
  /** Request headers a hook may need (e.g. `x-amz-server-side-encryption`). */
  headers?: Record<string, string>;
  /** The API layer established that the caller is the root user of the bucket owner's account. */
  isOwnerRoot?: boolean;
  /** The request asked to bypass governance retention and IAM allows it (s3:BypassGovernanceRetention). */
  mayBypassGovernance?: boolean;
  /** Object Lock attributes the write asked for explicitly (they replace the bucket's default retention). */
  lockAttributes?: Record<string, string>;
  /** The caller's address and S3's principal id for it, carried into event notifications. */
  sourceIp?: string;
  principalId?: string;
  /** The change is a lifecycle rule's (its removals notify as `LifecycleExpiration:*`). */
  lifecycle?: boolean;
  /** The event an attribute change notifies as (`ObjectTagging:Put`, `ObjectAcl:Put`, `ObjectRestore:Post`...); none when unset. */
  notify?: ObjectEventName;
}

export interface PutObjectOptions {
  metadata?: Record<string, string>;
  headers?: ObjectHeaders;
  /** Base64 MD5 the bytes must match (BadDigest otherwise). */
  contentMd5?: string;
  /** The flexible checksum to compute and store; `value` (base64), when given, must match. */
  checksum?: { algorithm: ChecksumAlgorithm; value?: string };
  storageClass?: string;
  attributes?: Record<string, string>;
  /** The writing account (the bucket owner when omitted). */
  owner?: string;
  /** Conditional write: fail with PreconditionFailed if the key exists (`*`). */
  ifNoneMatch?: '*';
  /** Conditional write: fail with PreconditionFailed unless the current ETag is this one. */
  ifMatch?: string;
  /** What produced the write, for notifications. */
  origin?: 'Put' | 'Copy' | 'Post';
  context?: WriteContext;
}

export interface PutObjectResult {
  etag: string;
  /** Absent in an unversioned bucket; `null` in a suspended one. */
  versionId?: string;
  size: number;
  lastModified: number;
  checksum?: StoredChecksum;
}

/** A byte range as HTTP states it: `bytes=a-b`, `bytes=a-` or `bytes=-n`. */
export type ByteRange = { start: number; end?: number } | { suffix: number };

export interface GetObjectOptions {
  versionId?: string;
  range?: ByteRange;
  /**
   * Runs on the version found, before its bytes are returned (and, where the store can,
   * before they are read); throwing ends the call with that error. Preconditions and
   * authorization use it, so one lookup serves both the check and the read.
   */
  check?: (info: ObjectInfo) => void;
}

export interface GetObjectResult {
  info: ObjectInfo;
  body: Buffer;
  /** The satisfied range, inclusive, when one was asked for. */
  range?: { start: number; end: number };
}

export interface DeleteObjectOptions {
  versionId?: string;
  context?: WriteContext;
}

export interface DeleteObjectResult {
  /** The version removed, or the delete marker's id (absent in an unversioned bucket). */
  versionId?: string;
  /** True when a delete marker was created, or the version removed was one. */
  deleteMarker: boolean;
}

export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  /** List keys after this one (S3's StartAfter / Marker). */
  startAfter?: string;
  /** From a previous page's `nextContinuationToken`; wins over `startAfter`. */
  continuationToken?: string;
  /** 1000 by default and at most. */
  maxKeys?: number;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix of this page (ListObjects v1's NextMarker). */
  nextMarker?: string;
  nextContinuationToken?: string;
}

export interface CreateBucketOptions {
  owner?: string;
  region?: string;
  objectLockEnabled?: boolean;
}

export interface MultipartUploadOptions {
  metadata?: Record<string, string>;
  headers?: ObjectHeaders;
  storageClass?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  attributes?: Record<string, string>;
  owner?: string;
  context?: WriteContext;
}

export interface UploadPartOptions {
  contentMd5?: string;
  checksum?: { algorithm: ChecksumAlgorithm; value?: string };
}

export interface UploadPartResult {
  etag: string;
  size: number;
  checksum?: StoredChecksum;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
  /** The part's checksum as the client lists it (checked against the stored one). */
  checksum?: string;
}

export interface CompleteMultipartOptions {
  ifNoneMatch?: '*';
  ifMatch?: string;
  context?: WriteContext;
}

/** The narrow interface delivery, integrity and the lake write through. */
export interface ObjectStore {
  /** Creates a bucket; BucketAlreadyOwnedByYou / BucketAlreadyExists when the name is taken. */
  createBucket(name: string, opts?: CreateBucketOptions): Promise<BucketInfo>;
  /** The bucket, or undefined when there is none. */
  headBucket(name: string): Promise<BucketInfo | undefined>;
  /** Deletes an empty bucket (BucketNotEmpty otherwise). */
  deleteBucket(name: string): Promise<void>;
  /** Buckets by name; only `owner`'s when given. */
  listBuckets(owner?: string): Promise<BucketInfo[]>;
  putObject(bucket: string, key: string, body: ObjectBody, opts?: PutObjectOptions): Promise<PutObjectResult>;
  getObject(bucket: string, key: string, opts?: GetObjectOptions): Promise<GetObjectResult>;
  headObject(bucket: string, key: string, opts?: { versionId?: string }): Promise<ObjectInfo>;
  deleteObject(bucket: string, key: string, opts?: DeleteObjectOptions): Promise<DeleteObjectResult>;
  listObjectsV2(bucket: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;
  createMultipartUpload(bucket: string, key: string, opts?: MultipartUploadOptions): Promise<{ uploadId: string }>;
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: ObjectBody, opts?: UploadPartOptions): Promise<UploadPartResult>;
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts?: CompleteMultipartOptions,
  ): Promise<PutObjectResult>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
}

export interface UploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  owner: string;
  storageClass: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
  checksum?: StoredChecksum;
}

export interface ListVersionsOptions {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  versionIdMarker?: string;
  maxKeys?: number;
}

export interface ListVersionsResult {
  /** Versions and delete markers, by key, newest first within a key. */
  versions: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

export interface ListUploadsOptions {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads?: number;
}

export interface ListUploadsResult {
  uploads: UploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

export interface ListPartsResult {
  upload: UploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

/** S3's event names (without the `s3:` prefix), as notifications carry them. */
export type ObjectEventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:Delete'
  | 'ObjectRemoved:DeleteMarkerCreated'
  | 'LifecycleExpiration:Delete'
  | 'LifecycleExpiration:DeleteMarkerCreated'
  | 'LifecycleTransition'
  | 'ObjectRestore:Post'
  | 'ObjectRestore:Completed'
  | 'ObjectTagging:Put'
  | 'ObjectTagging:Delete'
  | 'ObjectAcl:Put';

/** What a committed change was, for notifications and replication (S3's event names). */
export interface ObjectEvent {
  eventName: ObjectEventName;
  bucket: BucketInfo;
  key: string;
  versionId?: string;
  size: number;
  etag?: string;
  time: number;
  /** Increases with every change to the store; S3's `sequencer`. */
  sequencer: string;
  /** The version's storage class after the change (set for transitions). */
  storageClass?: string;
  context?: WriteContext;
}

/** One change's entry in the outbox. */
export interface OutboxEntry {
  seq: number;
  payload: string;
}

/** Stored bytes after an at-rest transform, and what it needs to undo it. */
export interface SealedBytes {
  /** The sealed form: one buffer, or pieces stored one after another (no copy to join them). */
  bytes: Buffer | readonly Buffer[];
  attributes: Record<string, string>;
}

/**
 * Transforms object bytes at rest (encryption). Each stored segment (a whole object, or
 * one part of a multipart object) is sealed on its own; range reads open whole segments.
 */
export interface AtRestTransform {
  /**
   * `attributes` are the version's (or, for a part, its upload's): how the writer asked for
   * it to be sealed. `bulk`, lent for large bodies, runs AES-GCM off the event loop.
   */
  seal(input: {
    bucket: BucketInfo;
    key: string;
    plaintext: Buffer;
    context?: WriteContext;
    attributes?: Record<string, string>;
    bulk?: BulkCipher;
  }): Promise<SealedBytes>;
  /** `sealed` is the transform's to consume: the store does not use it after the call. */
  open(input: { bucket: string; key: string; sealed: Buffer; attributes: Record<string, string>; bulk?: BulkCipher }): Promise<Buffer>;
}

/**
 * Extension points. Guards (`before*`) run synchronously inside the metadata transaction
 * that makes the change, so what they check cannot change under them; they veto by
 * throwing an AwsError. `afterCommit` runs after the change is durable.
 */
export interface ObjectStoreHooks {
  /** Before a version's bytes are removed for good (versioned delete, null-version replacement). */
  beforeDeleteVersion?(event: { bucket: BucketInfo; version: ObjectInfo; reason: 'delete' | 'replace'; context?: WriteContext }): void;
  /** Before a write (new bytes or a delete marker) becomes the key's current version. */
  beforeOverwrite?(event: { bucket: BucketInfo; key: string; current: ObjectInfo | undefined; context?: WriteContext }): void;
  /** Before a bucket's versioning state changes (MFA delete, Object Lock forbid suspending). */
  beforeVersioningChange?(event: { bucket: BucketInfo; status: 'Enabled' | 'Suspended'; context?: WriteContext }): void;
  /** Before a stored version's extension attributes change (Object Lock forbids shortening a retention). */
  beforeAttributesChange?(event: { bucket: BucketInfo; version: ObjectInfo; patch: Record<string, string | undefined>; context?: WriteContext }): void;
  /** Attributes a new version is created with (Object Lock retention and legal hold), merged over the writer's. */
  versionAttributes?(event: { bucket: BucketInfo; key: string; context?: WriteContext }): Record<string, string> | undefined;
  /**
   * Inside the transaction that makes a change: a string returned is stored with the change
   * (same commit, so an acknowledged change always has it) in the store's outbox, where
   * {@link ObjectStoreEngine.readOutbox} finds it until it is removed. Event notifications
   * are delivered from there, at least once, across crashes.
   */
  outbox?(event: ObjectEvent): string | undefined;
  afterCommit?(event: ObjectEvent): void;
  /** At most one transform is installed. */
  atRest?: AtRestTransform;
}

/** The embedded store's full surface, which the S3 API serves. */
export interface ObjectStoreEngine extends ObjectStore {
  /** Synchronous bucket lookup for authorization (which account owns the bucket). */
  bucketInfo(name: string): BucketInfo | undefined;
  putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended', mfaDelete?: 'Enabled' | 'Disabled', context?: WriteContext): Promise<BucketInfo>;
  listObjectVersions(bucket: string, opts?: ListVersionsOptions): Promise<ListVersionsResult>;
  listMultipartUploads(bucket: string, opts?: ListUploadsOptions): Promise<ListUploadsResult>;
  listParts(bucket: string, key: string, uploadId: string, opts?: { partNumberMarker?: number; maxParts?: number }): Promise<ListPartsResult>;
  /** A bucket's named configuration document (policy, lifecycle, encryption...), undefined when unset. */
  getBucketConfig(bucket: string, name: string): Promise<string | undefined>;
  /** Synchronous {@link getBucketConfig} for authorization (a bucket policy read on every request). */
  bucketConfig(bucket: string, name: string): string | undefined;
  /** Sets (or with undefined, removes) a bucket's named configuration document. */
  putBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void>;
  /** Merges extension attributes into a stored version (retention, legal hold...). */
  updateObjectAttributes(bucket: string, key: string, versionId: string | undefined, patch: Record<string, string | undefined>, context?: WriteContext): Promise<ObjectInfo>;
  /** Changes a version's storage class (a lifecycle transition), merging `patch` into its attributes. */
  setStorageClass(bucket: string, key: string, versionId: string, storageClass: string, patch?: Record<string, string | undefined>): Promise<ObjectInfo>;
  /** The oldest `limit` outbox entries (see {@link ObjectStoreHooks.outbox}), in the order their changes committed. */
  readOutbox(limit: number): Promise<OutboxEntry[]>;
  /** Removes outbox entries up to and including `seq` (they have been handled). */
  removeOutbox(seq: number): Promise<void>;
  /** Adds hooks; see {@link ObjectStoreHooks}. */
  use(hooks: ObjectStoreHooks): void;
  close(): Promise<void>;
}
