/**
 * S3's object operations (data events): PutObject, GetObject, HeadObject, DeleteObject,
 * DeleteObjects, CopyObject, with ranges, conditional requests, Content-MD5 and flexible
 * checksums, user metadata and versions.
 */
import { checkObjectKey } from '../../objectstore/names.js';
import { s3Errors } from '../../objectstore/errors.js';
import { unquoteEtag } from '../../objectstore/checksums.js';
import { resolveRange } from '../../objectstore/ranges.js';
import type { ByteRange, ObjectInfo } from '../../objectstore/store.js';
import { AwsError } from '../../platform/errors.js';
import type { OperationSpec } from '../service.js';
import { objectAclAttributes } from './access.js';
import { authorizeRead, storedEncryptionOutput, writeEncryption } from './encryption.js';
import {
  bucketResource,
  checksumMembers,
  checksumValues,
  headerMembers,
  headersFromInput,
  metadataFromInput,
  objectResources,
  optDate,
  optRecord,
  optStr,
  reportedVersion,
  requestedChecksum,
  s3Spec,
  str,
  writeContext,
  type Input,
  type Output,
  type S3Deps,
} from './common.js';

const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
  'SNOW',
  'EXPRESS_ONEZONE',
];

/** The storage class a write asks for (InvalidStorageClass for unknown ones). */
export function storageClassOf(input: Input): string | undefined {
  const sc = optStr(input, 'StorageClass');
  if (sc !== undefined && !STORAGE_CLASSES.includes(sc)) {
    throw new AwsError({ code: 'InvalidStorageClass', message: 'The storage class you specified is not valid', extra: { StorageClassRequested: sc } });
  }
  return sc;
}

/**
 * A `Range` header as S3 reads it: one `bytes=` range; anything else (several ranges,
 * bad syntax) is ignored and the whole object returned, as HTTP allows.
 */
export function parseRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') return { suffix: Number(b) };
  const start = Number(a);
  if (b === '') return { start };
  const end = Number(b);
  return end < start ? undefined : { start, end };
}

/** Seconds resolution, as HTTP dates have. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

function etagListMatches(list: string, etag: string): boolean {
  return list
    .split(',')
    .map((t) => t.trim())
    .some((t) => t === '*' || unquoteEtag(t) === unquoteEtag(etag));
}

/**
 * RFC 7232's preconditions as S3 applies them to GET and HEAD: a true If-Match
 * overrides a false If-Unmodified-Since, a false If-None-Match overrides If-Modified-Since.
 */
export function checkReadPreconditions(input: Input, info: ObjectInfo): void {
  const ifMatch = optStr(input, 'IfMatch');
  const ifNoneMatch = optStr(input, 'IfNoneMatch');
  const ifModifiedSince = optDate(input, 'IfModifiedSince');
  const ifUnmodifiedSince = optDate(input, 'IfUnmodifiedSince');
  const notModified = (): Error =>
    s3Errors.notModified({ etag: info.etag, 'last-modified': new Date(info.lastModified).toUTCString() });
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, info.etag)) throw s3Errors.preconditionFailed('If-Match');
  } else if (ifUnmodifiedSince && seconds(info.lastModified) > seconds(ifUnmodifiedSince.getTime())) {
    throw s3Errors.preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, info.etag)) throw notModified();
  } else if (ifModifiedSince && seconds(info.lastModified) <= seconds(ifModifiedSince.getTime())) {
    throw notModified();
  }
}

/** The members GetObject and HeadObject share: headers, metadata, version, checksum. */
function objectOutput(deps: S3Deps, input: Input, info: ObjectInfo, whole: boolean): Output {
  const override = (member: string, header: string): Output => {
    const v = optStr(input, member);
    return v !== undefined ? { [header]: v } : {};
  };
  const expires = optStr(input, 'ResponseExpires') ?? (input.ResponseExpires instanceof Date ? input.ResponseExpires.toUTCString() : undefined);
  return {
    AcceptRanges: 'bytes',
    LastModified: new Date(info.lastModified),
    ETag: info.etag,
    ...headerMembers(info.headers),
    ...override('ResponseContentType', 'ContentType'),
    ...override('ResponseContentEncoding', 'ContentEncoding'),
    ...override('ResponseContentDisposition', 'ContentDisposition'),
    ...override('ResponseContentLanguage', 'ContentLanguage'),
    ...override('ResponseCacheControl', 'CacheControl'),
    ...(expires !== undefined && !Number.isNaN(Date.parse(expires)) ? { Expires: new Date(expires) } : {}),
    ...(info.headers.contentType === undefined && optStr(input, 'ResponseContentType') === undefined ? { ContentType: 'binary/octet-stream' } : {}),
    ...(Object.keys(info.metadata).length > 0 ? { Metadata: info.metadata } : {}),
    ...reportedVersion(deps, info),
    ...(info.storageClass !== 'STANDARD' ? { StorageClass: info.storageClass } : {}),
    ...storedEncryptionOutput(info.attributes),
    ...(whole && optStr(input, 'ChecksumMode') === 'ENABLED' ? checksumMembers(info.checksum) : {}),
  };
}

/** Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, URL-encoded. */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  const q = header.indexOf('?');
  const path = q < 0 ? header : header.slice(0, q);
  const versionId = q < 0 ? undefined : (new URLSearchParams(header.slice(q + 1)).get('versionId') ?? undefined);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw s3Errors.invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', header);
  }
  const trimmed = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = trimmed.indexOf('/');
  if (slash <= 0 || slash === trimmed.length - 1) {
    throw s3Errors.invalidArgument('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 'x-amz-copy-source', header);
  }
  return { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1), ...(versionId ? { versionId } : {}) };
}

/** `x-amz-copy-source-if-*`: every failure is 412 for copies. */
export function checkCopyPreconditions(input: Input, info: ObjectInfo): void {
  const ifMatch = optStr(input, 'CopySourceIfMatch');
  const ifNoneMatch = optStr(input, 'CopySourceIfNoneMatch');
  const modifiedSince = optDate(input, 'CopySourceIfModifiedSince');
  const unmodifiedSince = optDate(input, 'CopySourceIfUnmodifiedSince');
  if (ifMatch !== undefined && !etagListMatches(ifMatch, info.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-Match');
  if (ifMatch === undefined && unmodifiedSince && seconds(info.lastModified) > seconds(unmodifiedSince.getTime())) {
    throw s3Errors.preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, info.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-None-Match');
  if (ifNoneMatch === undefined && modifiedSince && seconds(info.lastModified) <= seconds(modifiedSince.getTime())) {
    throw s3Errors.preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }
}

function writeConditions(input: Input): { ifNoneMatch?: '*'; ifMatch?: string } {
  const ifNoneMatch = optStr(input, 'IfNoneMatch');
  const ifMatch = optStr(input, 'IfMatch');
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
    throw s3Errors.invalidArgument('If-None-Match only supports *', 'If-None-Match', ifNoneMatch);
  }
  return { ...(ifNoneMatch ? { ifNoneMatch: '*' as const } : {}), ...(ifMatch ? { ifMatch } : {}) };
}

/** The object operations. */
export function objectOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const data = { category: 'Data' as const, ...objectResources(deps) };

  return {
    PutObject: s3Spec(deps, 'PutObject', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const key = str(input, 'Key');
        const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.alloc(0);
        const checksum = requestedChecksum(input);
        const contentMd5 = optStr(input, 'ContentMD5');
        const storageClass = storageClassOf(input);
        const target = store.bucketInfo(bucket);
        if (!target) throw s3Errors.noSuchBucket(bucket);
        const sse = writeEncryption(deps, input, ctx, target, key);
        const put = await store.putObject(bucket, key, body, {
          metadata: metadataFromInput(input),
          headers: headersFromInput(input),
          attributes: { ...objectAclAttributes(deps, input, ctx), ...sse.attributes },
          ...(contentMd5 !== undefined ? { contentMd5 } : {}),
          ...(checksum ? { checksum } : {}),
          ...(storageClass ? { storageClass } : {}),
          owner: ctx.accountId,
          ...writeConditions(input),
          context: writeContext(ctx, input),
        });
        return { ETag: put.etag, ...(put.versionId !== undefined ? { VersionId: put.versionId } : {}), ...checksumMembers(put.checksum), ...sse.output };
      },
    }),

    GetObject: s3Spec(deps, 'GetObject', {
      readOnly: true,
      ...data,
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const key = str(input, 'Key');
        const versionId = optStr(input, 'VersionId');
        const range = parseRange(optStr(input, 'Range'));
        // One lookup: the version found is checked, then its bytes read.
        const got = await store.getObject(bucket, key, {
          ...(versionId !== undefined ? { versionId } : {}),
          ...(range ? { range } : {}),
          check: (info) => {
            checkReadPreconditions(input, info);
            authorizeRead(deps, ctx, info.attributes);
          },
        });
        return {
          ...objectOutput(deps, input, got.info, got.range === undefined),
          Body: got.body,
          ContentLength: got.body.length,
          ...(got.range ? { ContentRange: `bytes ${got.range.start}-${got.range.end}/${got.info.size}` } : {}),
        };
      },
    }),

    HeadObject: s3Spec(deps, 'HeadObject', {
      readOnly: true,
      action: 's3:GetObject',
      ...data,
      handle: async (input) => {
        const versionId = optStr(input, 'VersionId');
        const info = await store.headObject(str(input, 'Bucket'), str(input, 'Key'), versionId !== undefined ? { versionId } : {});
        checkReadPreconditions(input, info);
        const range = parseRange(optStr(input, 'Range'));
        if (range) {
          const r = resolveRange(range, info.size);
          return {
            ...objectOutput(deps, input, info, false),
            ContentLength: r.end - r.start + 1,
            ContentRange: `bytes ${r.start}-${r.end}/${info.size}`,
          };
        }
        return {
          ...objectOutput(deps, input, info, true),
          ContentLength: info.size,
          ...(info.partsCount !== undefined && input.PartNumber !== undefined ? { PartsCount: info.partsCount } : {}),
        };
      },
    }),

    DeleteObject: s3Spec(deps, 'DeleteObject', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const versionId = optStr(input, 'VersionId');
        const result = await store.deleteObject(str(input, 'Bucket'), str(input, 'Key'), {
          ...(versionId !== undefined ? { versionId } : {}),
          context: writeContext(ctx, input),
        });
        return {
          ...(result.deleteMarker ? { DeleteMarker: true } : {}),
          ...(result.versionId !== undefined ? { VersionId: result.versionId } : {}),
        };
      },
    }),

    DeleteObjects: s3Spec(deps, 'DeleteObjects', {
      readOnly: false,
      category: 'Data',
      action: 's3:DeleteObject',
      resources: (input, ctx) => [bucketResource(deps, str(input, 'Bucket'), ctx)],
      authorizationResources: (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const owner = bucketResource(deps, bucket, ctx).accountId;
        return deleteList(input).map((o) => ({ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${o.key}`, ...(owner ? { accountId: owner } : {}) }));
      },
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const list = deleteList(input);
        if (list.length === 0 || list.length > 1000) throw s3Errors.malformedXml();
        const quiet = optRecord(input, 'Delete')?.Quiet === true;
        if (!store.bucketInfo(bucket)) throw s3Errors.noSuchBucket(bucket);
        const deleted: Output[] = [];
        const failed: Output[] = [];
        for (const o of list) {
          try {
            checkObjectKey(o.key);
            const r = await store.deleteObject(bucket, o.key, { ...(o.versionId !== undefined ? { versionId: o.versionId } : {}), context: writeContext(ctx, input) });
            if (quiet) continue;
            deleted.push({
              Key: o.key,
              ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}),
              ...(r.deleteMarker ? { DeleteMarker: true } : {}),
              ...(r.deleteMarker && r.versionId !== undefined ? { DeleteMarkerVersionId: r.versionId } : {}),
            });
          } catch (e) {
            const error = e as { code?: unknown; message?: unknown };
            if (typeof error.code !== 'string') throw e;
            failed.push({ Key: o.key, ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}), Code: error.code, Message: String(error.message) });
          }
        }
        return { ...(deleted.length > 0 ? { Deleted: deleted } : {}), ...(failed.length > 0 ? { Errors: failed } : {}) };
      },
    }),

    CopyObject: s3Spec(deps, 'CopyObject', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const key = str(input, 'Key');
        const source = parseCopySource(str(input, 'CopySource'));
        const directive = optStr(input, 'MetadataDirective') ?? 'COPY';
        if (directive !== 'COPY' && directive !== 'REPLACE') {
          throw s3Errors.invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
        }
        const storageClass = storageClassOf(input);
        const src = await store.headObject(source.bucket, source.key, source.versionId !== undefined ? { versionId: source.versionId } : {});
        checkCopyPreconditions(input, src);
        if (source.bucket === bucket && source.key === key && source.versionId === undefined && directive === 'COPY' && storageClass === undefined && optStr(input, 'ServerSideEncryption') === undefined) {
          throw s3Errors.invalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
          );
        }
        authorizeRead(deps, ctx, src.attributes);
        const target = store.bucketInfo(bucket);
        if (!target) throw s3Errors.noSuchBucket(bucket);
        const sse = writeEncryption(deps, input, ctx, target, key);
        const got = await store.getObject(source.bucket, source.key, { versionId: src.versionId });
        const algorithmName = optStr(input, 'ChecksumAlgorithm');
        const algorithm = algorithmName ? requestedChecksum({ ChecksumAlgorithm: algorithmName })?.algorithm : src.checksum?.algorithm;
        const put = await store.putObject(bucket, key, got.body, {
          metadata: directive === 'REPLACE' ? metadataFromInput(input) : src.metadata,
          headers: directive === 'REPLACE' ? headersFromInput(input) : src.headers,
          ...(algorithm ? { checksum: { algorithm } } : {}),
          storageClass: storageClass ?? 'STANDARD',
          attributes: { ...objectAclAttributes(deps, input, ctx), ...sse.attributes },
          owner: ctx.accountId,
          origin: 'Copy',
          ...writeConditions(input),
          context: writeContext(ctx, input),
        });
        const sourceBucket = store.bucketInfo(source.bucket);
        return {
          CopyObjectResult: { ETag: put.etag, LastModified: new Date(put.lastModified), ...checksumValues(put.checksum) },
          ...(put.versionId !== undefined ? { VersionId: put.versionId } : {}),
          ...(sourceBucket && sourceBucket.versioning !== 'Unversioned' ? { CopySourceVersionId: src.versionId } : {}),
          ...sse.output,
        };
      },
    }),
  };
}

/** The keys a DeleteObjects document names. */
function deleteList(input: Input): { key: string; versionId?: string }[] {
  const objects = optRecord(input, 'Delete')?.Objects;
  if (!Array.isArray(objects)) return [];
  return objects.map((o) => {
    const r = (o ?? {}) as Record<string, unknown>;
    const versionId = typeof r.VersionId === 'string' ? r.VersionId : undefined;
    return { key: typeof r.Key === 'string' ? r.Key : '', ...(versionId !== undefined ? { versionId } : {}) };
  });
}
