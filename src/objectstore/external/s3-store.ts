/**
 * {@link ObjectStore} on an external S3-compatible endpoint (AWS S3, MinIO, Ceph, moto...)
 * through the AWS SDK: what `cairn server --s3-endpoint` delivers trail log files to and
 * checks trail buckets against. It passes the conformance suite (conformance.ts) and
 * fails with the same S3 error codes as the embedded store.
 *
 * Checksums and Content-MD5 are also verified here before sending, so a mismatch is
 * refused the same way whatever the endpoint implements.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type BucketLocationConstraint,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { AwsError } from '../../platform/errors.js';
import { CHECKSUM_ALGORITHMS, checksumOf, type ChecksumAlgorithm } from '../checksums.js';
import { s3Errors } from '../errors.js';
import { checkBucketName, checkObjectKey } from '../names.js';
import type {
  BucketInfo,
  ByteRange,
  CompleteMultipartOptions,
  CompletedPart,
  CreateBucketOptions,
  DeleteObjectOptions,
  DeleteObjectResult,
  GetObjectOptions,
  GetObjectResult,
  ListObjectsOptions,
  ListObjectsResult,
  MultipartUploadOptions,
  ObjectBody,
  ObjectHeaders,
  ObjectInfo,
  ObjectStore,
  PutObjectOptions,
  PutObjectResult,
  StoredChecksum,
  UploadPartOptions,
  UploadPartResult,
  VersioningState,
} from '../store.js';

/** How to reach the endpoint. */
export interface ExternalS3Options {
  /** e.g. `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: string;
  /** The Region requests are signed for (us-east-1 by default). */
  region?: string;
  /** Without them the SDK's default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style addressing (`endpoint/bucket/key`), the default; false for virtual-hosted style. */
  forcePathStyle?: boolean;
  /** The account reported as every bucket's and object's owner (the endpoint knows its own ids). */
  owner?: string;
  clock: Clock;
  /** Per-request timeout in ms (30 s by default). */
  requestTimeoutMs?: number;
}

type ChecksumField = `Checksum${ChecksumAlgorithm}`;

/**
 * The external S3 adapter.
 *
 * @example
 * const store = new ExternalS3Store({ endpoint: 'http://127.0.0.1:9000', accessKeyId, secretAccessKey, clock: systemClock });
 * await store.putObject('logs', 'AWSLogs/1/x.json.gz', bytes, { headers: { contentEncoding: 'gzip' } });
 */
export class ExternalS3Store implements ObjectStore {
  private readonly client: S3Client;
  private readonly region: string;
  private readonly owner: string;

  constructor(private readonly opts: ExternalS3Options) {
    this.region = opts.region ?? 'us-east-1';
    this.owner = opts.owner ?? '';
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: this.region,
      forcePathStyle: opts.forcePathStyle ?? true,
      ...(opts.accessKeyId !== undefined && opts.secretAccessKey !== undefined
        ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
        : {}),
      // One connection per request: some S3-compatible servers (moto's among them) stall
      // on reused keep-alive connections, and delivery's request rate does not need them.
      requestHandler: { httpAgent: { keepAlive: false }, requestTimeout: opts.requestTimeoutMs ?? 30_000 },
      // Checksums are computed and checked here; not every endpoint speaks the SDK's defaults.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  /** Closes the SDK's connections. */
  close(): void {
    this.client.destroy();
  }

  async createBucket(name: string, opts: CreateBucketOptions = {}): Promise<BucketInfo> {
    checkBucketName(name);
    const region = opts.region ?? this.region;
    // S3 in us-east-1 (and servers imitating it) answers 200 to re-creating one's own
    // bucket; the contract is BucketAlreadyOwnedByYou, so look first.
    if (await this.exists(name)) throw s3Errors.bucketAlreadyOwnedByYou(name);
    await this.call({ bucket: name }, () =>
      this.client.send(
        new CreateBucketCommand({
          Bucket: name,
          ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
          ...(opts.objectLockEnabled ? { ObjectLockEnabledForBucket: true } : {}),
        }),
      ),
    );
    return {
      name,
      owner: opts.owner ?? this.owner,
      region,
      createdAt: this.opts.clock.now(),
      versioning: 'Unversioned',
      objectLockEnabled: opts.objectLockEnabled ?? false,
    };
  }

  /** True when the bucket exists (and is ours); BucketAlreadyExists when another owner has it. */
  private async exists(name: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: name }));
      return true;
    } catch (e) {
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404) return false;
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 403) throw s3Errors.bucketAlreadyExists(name);
      throw toAwsError(e, { bucket: name });
    }
  }

  async headBucket(name: string): Promise<BucketInfo | undefined> {
    let region: string | undefined;
    try {
      const out = await this.client.send(new HeadBucketCommand({ Bucket: name }));
      region = out.BucketRegion;
    } catch (e) {
      if (e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket')) {
        return undefined;
      }
      throw toAwsError(e, { bucket: name });
    }
    const [listed, versioning] = await Promise.all([
      this.listBuckets().then((all) => all.find((b) => b.name === name)),
      this.versioning(name),
    ]);
    return {
      name,
      owner: this.owner,
      region: region ?? listed?.region ?? this.region,
      createdAt: listed?.createdAt ?? 0,
      versioning,
      objectLockEnabled: false,
    };
  }

  /**
   * The bucket's policy text, `null` when it has none, or `undefined` when the endpoint
   * does not serve GetBucketPolicy (501, 405, an unknown operation) or refuses Cairn's
   * credentials (403): CloudTrail's bucket policy check is then skipped.
   */
  async bucketPolicy(name: string): Promise<string | null | undefined> {
    try {
      const out = await this.client.send(new GetBucketPolicyCommand({ Bucket: name }));
      return out.Policy ?? null;
    } catch (e) {
      if (e instanceof S3ServiceException && e.name === 'NoSuchBucketPolicy') return null;
      if (e instanceof S3ServiceException && e.name === 'NoSuchBucket') throw s3Errors.noSuchBucket(name);
      const status = httpStatus(e);
      if (status === 501 || status === 405 || status === 403 || status === 400) return undefined;
      throw toAwsError(e, { bucket: name });
    }
  }

  async deleteBucket(name: string): Promise<void> {
    await this.call({ bucket: name }, () => this.client.send(new DeleteBucketCommand({ Bucket: name })));
  }

  async listBuckets(owner?: string): Promise<BucketInfo[]> {
    if (owner !== undefined && owner !== this.owner) return [];
    const out = await this.call({}, () => this.client.send(new ListBucketsCommand({})));
    return (out.Buckets ?? [])
      .map((b) => ({
        name: b.Name ?? '',
        owner: this.owner,
        region: b.BucketRegion ?? this.region,
        createdAt: b.CreationDate?.getTime() ?? 0,
        versioning: 'Unversioned' as const,
        objectLockEnabled: false,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async putObject(bucket: string, key: string, body: ObjectBody, opts: PutObjectOptions = {}): Promise<PutObjectResult> {
    checkObjectKey(key);
    const bytes = await collect(body);
    verifyContentMd5(bytes, opts.contentMd5);
    const checksum = checksumFor(bytes, opts.checksum);
    const sse = opts.context?.headers ?? {};
    const encryption = sse['x-amz-server-side-encryption'];
    const kmsKey = sse['x-amz-server-side-encryption-aws-kms-key-id'];
    const out = await this.call({ bucket, key }, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ...headerInput(opts.headers),
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          ...(opts.contentMd5 !== undefined ? { ContentMD5: opts.contentMd5 } : {}),
          ...(checksum ? { ChecksumAlgorithm: checksum.algorithm, [`Checksum${checksum.algorithm}`]: checksum.value } : {}),
          ...(opts.storageClass !== undefined ? { StorageClass: opts.storageClass as StorageClass } : {}),
          ...(opts.ifNoneMatch !== undefined ? { IfNoneMatch: opts.ifNoneMatch } : {}),
          ...(opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
          ...(encryption !== undefined ? { ServerSideEncryption: encryption as ServerSideEncryption } : {}),
          ...(kmsKey !== undefined ? { SSEKMSKeyId: kmsKey } : {}),
        }),
      ),
    );
    return {
      etag: out.ETag ?? `"${createHash('md5').update(bytes).digest('hex')}"`,
      ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}),
      size: bytes.length,
      lastModified: this.opts.clock.now(),
      ...(checksum ? { checksum: { algorithm: checksum.algorithm, value: checksum.value, type: 'FULL_OBJECT' } } : {}),
    };
  }

  async getObject(bucket: string, key: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    const out = await this.call({ bucket, key }, () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(opts.versionId !== undefined ? { VersionId: opts.versionId } : {}),
          ...(opts.range ? { Range: rangeHeader(opts.range) } : {}),
        }),
      ),
    );
    const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    const range = parseContentRange(out.ContentRange);
    const size = range ? range.total : body.length;
    const info = this.info(bucket, key, { ...out, ContentLength: size });
    opts.check?.(info);
    return { info, body, ...(range ? { range: { start: range.start, end: range.end } } : {}) };
  }

  async headObject(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<ObjectInfo> {
    const out = await this.call({ bucket, key }, () =>
      this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(opts.versionId !== undefined ? { VersionId: opts.versionId } : {}) })),
    );
    return this.info(bucket, key, out);
  }

  async deleteObject(bucket: string, key: string, opts: DeleteObjectOptions = {}): Promise<DeleteObjectResult> {
    const out = await this.call({ bucket, key }, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(opts.versionId !== undefined ? { VersionId: opts.versionId } : {}) })),
    );
    return { ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}), deleteMarker: out.DeleteMarker ?? false };
  }

  async listObjectsV2(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    const out = await this.call({ bucket }, () =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          ...(opts.prefix !== undefined ? { Prefix: opts.prefix } : {}),
          ...(opts.delimiter !== undefined ? { Delimiter: opts.delimiter } : {}),
          ...(opts.startAfter !== undefined ? { StartAfter: opts.startAfter } : {}),
          ...(opts.continuationToken !== undefined ? { ContinuationToken: opts.continuationToken } : {}),
          MaxKeys: opts.maxKeys ?? 1000,
        }),
      ),
    );
    const objects = (out.Contents ?? []).map(
      (o): ObjectInfo => ({
        bucket,
        key: o.Key ?? '',
        versionId: 'null',
        isLatest: true,
        deleteMarker: false,
        size: o.Size ?? 0,
        etag: o.ETag ?? '',
        lastModified: o.LastModified?.getTime() ?? 0,
        metadata: {},
        headers: {},
        storageClass: o.StorageClass ?? 'STANDARD',
        owner: this.owner,
        attributes: {},
      }),
    );
    const commonPrefixes = (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '');
    const last = [...objects.map((o) => o.key), ...commonPrefixes].sort().pop();
    return {
      objects,
      commonPrefixes,
      isTruncated: out.IsTruncated ?? false,
      ...(out.IsTruncated && last !== undefined ? { nextMarker: last } : {}),
      ...(out.NextContinuationToken !== undefined ? { nextContinuationToken: out.NextContinuationToken } : {}),
    };
  }

  async createMultipartUpload(bucket: string, key: string, opts: MultipartUploadOptions = {}): Promise<{ uploadId: string }> {
    checkObjectKey(key);
    const out = await this.call({ bucket, key }, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ...headerInput(opts.headers),
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          ...(opts.storageClass !== undefined ? { StorageClass: opts.storageClass as StorageClass } : {}),
        }),
      ),
    );
    return { uploadId: out.UploadId ?? '' };
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    opts: UploadPartOptions = {},
  ): Promise<UploadPartResult> {
    const bytes = await collect(body);
    verifyContentMd5(bytes, opts.contentMd5);
    const send = () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: bytes,
          ContentLength: bytes.length,
          ...(opts.contentMd5 !== undefined ? { ContentMD5: opts.contentMd5 } : {}),
        }),
      );
    let out;
    try {
      out = await send();
    } catch (e) {
      // Some S3-compatible servers fail with a 500 for a part of an upload that no longer
      // exists; listing the key's uploads tells NoSuchUpload apart from a real fault.
      if (httpStatus(e) >= 500) {
        const uploads = await this.call({ bucket }, () => this.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key })));
        if (!(uploads.Uploads ?? []).some((u) => u.UploadId === uploadId && u.Key === key)) throw s3Errors.noSuchUpload(uploadId);
      }
      throw toAwsError(e, { bucket, key, uploadId });
    }
    return { etag: out.ETag ?? `"${createHash('md5').update(bytes).digest('hex')}"`, size: bytes.length };
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    opts: CompleteMultipartOptions = {},
  ): Promise<PutObjectResult> {
    for (let i = 1; i < parts.length; i++) {
      if ((parts[i]?.partNumber ?? 0) <= (parts[i - 1]?.partNumber ?? 0)) throw s3Errors.invalidPartOrder(uploadId);
    }
    const out = await this.call({ bucket, key, uploadId }, () =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          ...(opts.ifNoneMatch !== undefined ? { IfNoneMatch: opts.ifNoneMatch } : {}),
          ...(opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
        }),
      ),
    );
    const head = await this.headObject(bucket, key);
    return {
      etag: out.ETag ?? head.etag,
      ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}),
      size: head.size,
      lastModified: head.lastModified,
    };
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.call({ bucket, key, uploadId }, () => this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })));
  }

  private async versioning(bucket: string): Promise<VersioningState> {
    try {
      const out = await this.client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
      return out.Status === 'Enabled' ? 'Enabled' : out.Status === 'Suspended' ? 'Suspended' : 'Unversioned';
    } catch {
      return 'Unversioned';
    }
  }

  private info(bucket: string, key: string, out: ObjectOutput): ObjectInfo {
    const headers: ObjectHeaders = {};
    if (out.ContentType !== undefined) headers.contentType = out.ContentType;
    if (out.ContentEncoding !== undefined) headers.contentEncoding = out.ContentEncoding;
    if (out.ContentDisposition !== undefined) headers.contentDisposition = out.ContentDisposition;
    if (out.ContentLanguage !== undefined) headers.contentLanguage = out.ContentLanguage;
    if (out.CacheControl !== undefined) headers.cacheControl = out.CacheControl;
    if (out.ExpiresString !== undefined) headers.expires = out.ExpiresString;
    if (out.WebsiteRedirectLocation !== undefined) headers.websiteRedirectLocation = out.WebsiteRedirectLocation;
    const checksum = storedChecksum(out);
    return {
      bucket,
      key,
      versionId: out.VersionId ?? 'null',
      isLatest: true,
      deleteMarker: false,
      size: out.ContentLength ?? 0,
      etag: out.ETag ?? '',
      lastModified: out.LastModified?.getTime() ?? 0,
      metadata: Object.fromEntries(Object.entries(out.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      headers,
      ...(checksum ? { checksum } : {}),
      ...(out.PartsCount !== undefined ? { partsCount: out.PartsCount } : {}),
      storageClass: out.StorageClass ?? 'STANDARD',
      owner: this.owner,
      attributes: {},
    };
  }

  /** Runs an SDK call, turning its failures into S3's errors as the embedded store throws them. */
  private async call<T>(target: { bucket?: string; key?: string; uploadId?: string }, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toAwsError(e, target);
    }
  }
}

/** The fields of GetObject's and HeadObject's output an ObjectInfo is read from. */
interface ObjectOutput {
  ContentLength?: number | undefined;
  ETag?: string | undefined;
  LastModified?: Date | undefined;
  VersionId?: string | undefined;
  Metadata?: Record<string, string> | undefined;
  ContentType?: string | undefined;
  ContentEncoding?: string | undefined;
  ContentDisposition?: string | undefined;
  ContentLanguage?: string | undefined;
  CacheControl?: string | undefined;
  ExpiresString?: string | undefined;
  WebsiteRedirectLocation?: string | undefined;
  StorageClass?: string | undefined;
  PartsCount?: number | undefined;
  ChecksumType?: string | undefined;
}

function storedChecksum(out: ObjectOutput): StoredChecksum | undefined {
  const fields = out as Partial<Record<ChecksumField, unknown>>;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = fields[`Checksum${algorithm}`];
    if (typeof value === 'string' && value !== '') {
      const composite = out.ChecksumType === 'COMPOSITE' || /-\d+$/.test(value);
      return { algorithm, value, type: composite ? 'COMPOSITE' : 'FULL_OBJECT' };
    }
  }
  return undefined;
}

/** S3's error for an SDK failure; transport errors pass through unchanged. */
function toAwsError(e: unknown, target: { bucket?: string; key?: string; uploadId?: string }): unknown {
  if (!(e instanceof S3ServiceException)) return e;
  const status = e.$metadata.httpStatusCode ?? 500;
  const code = e.name;
  if (code === 'NoSuchBucket' && target.bucket !== undefined) return s3Errors.noSuchBucket(target.bucket);
  if ((code === 'NoSuchKey' || (code === 'NotFound' && status === 404)) && target.key !== undefined) return s3Errors.noSuchKey(target.key);
  if (code === 'NoSuchUpload' && target.uploadId !== undefined) return s3Errors.noSuchUpload(target.uploadId);
  return new AwsError({ code, message: e.message, status });
}

/** The HTTP status of a failed SDK call, also for responses the SDK could not parse (0 for none). */
function httpStatus(e: unknown): number {
  const status = (e as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : 0;
}

async function collect(body: ObjectBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function verifyContentMd5(bytes: Buffer, contentMd5: string | undefined): void {
  if (contentMd5 === undefined) return;
  const actual = createHash('md5').update(bytes).digest('base64');
  if (actual !== contentMd5) throw s3Errors.contentMd5Mismatch(contentMd5, actual);
}

/** The checksum to send: the caller's value, checked against the bytes, or one computed here. */
function checksumFor(bytes: Buffer, wanted: PutObjectOptions['checksum']): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  if (!wanted) return undefined;
  const value = checksumOf(wanted.algorithm, bytes);
  if (wanted.value !== undefined && wanted.value !== value) throw s3Errors.badDigest(`${wanted.algorithm} checksum`);
  return { algorithm: wanted.algorithm, value };
}

function headerInput(headers: ObjectHeaders | undefined): Record<string, string> {
  if (!headers) return {};
  const out: Record<string, string> = {};
  if (headers.contentType !== undefined) out.ContentType = headers.contentType;
  if (headers.contentEncoding !== undefined) out.ContentEncoding = headers.contentEncoding;
  if (headers.contentDisposition !== undefined) out.ContentDisposition = headers.contentDisposition;
  if (headers.contentLanguage !== undefined) out.ContentLanguage = headers.contentLanguage;
  if (headers.cacheControl !== undefined) out.CacheControl = headers.cacheControl;
  if (headers.websiteRedirectLocation !== undefined) out.WebsiteRedirectLocation = headers.websiteRedirectLocation;
  return out;
}

function rangeHeader(range: ByteRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`;
  return range.end === undefined ? `bytes=${range.start}-` : `bytes=${range.start}-${range.end}`;
}

function parseContentRange(value: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) };
}
