/**
 * S3's multipart uploads (data events): CreateMultipartUpload, UploadPart,
 * UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts and
 * ListMultipartUploads. IAM authorizes them as S3 does: creating, uploading and
 * completing are s3:PutObject.
 */
import { checksumAlgorithmOf } from '../../objectstore/checksums.js';
import { s3Errors } from '../../objectstore/errors.js';
import type { ChecksumType } from '../../objectstore/store.js';
import type { OperationSpec } from '../service.js';
import {
  bucketResources,
  checksumMembers,
  checksumValues,
  headersFromInput,
  metadataFromInput,
  objectResources,
  optNum,
  optRecord,
  optStr,
  owner,
  partChecksum,
  requestedChecksum,
  s3Spec,
  str,
  urlEncoder,
  writeContext,
  type Input,
  type S3Deps,
} from './common.js';
import { checkCopyPreconditions, parseCopySource, storageClassOf } from './objects.js';
import { objectAclAttributes } from './access.js';
import { authorizeRead, storedEncryptionOutput, writeEncryption } from './encryption.js';

function partNumberOf(input: Input): number {
  const n = optNum(input, 'PartNumber') ?? 0;
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw s3Errors.invalidPartNumber(n);
  return n;
}

/** The multipart operations. */
export function multipartOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const data = { category: 'Data' as const, ...objectResources(deps) };
  return {
    CreateMultipartUpload: s3Spec(deps, 'CreateMultipartUpload', {
      readOnly: false,
      action: 's3:PutObject',
      ...data,
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const key = str(input, 'Key');
        const algorithmName = optStr(input, 'ChecksumAlgorithm');
        const algorithm = algorithmName !== undefined ? checksumAlgorithmOf(algorithmName) : undefined;
        if (algorithmName !== undefined && !algorithm) throw s3Errors.invalidRequest(`Checksum algorithm ${algorithmName} is not supported.`);
        const typeName = optStr(input, 'ChecksumType');
        if (typeName !== undefined && typeName !== 'FULL_OBJECT' && typeName !== 'COMPOSITE') {
          throw s3Errors.invalidRequest('Value for x-amz-checksum-type header is invalid.');
        }
        if (typeName !== undefined && !algorithm) throw s3Errors.invalidRequest('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
        if (typeName === 'FULL_OBJECT' && algorithm && !algorithm.startsWith('CRC')) {
          throw s3Errors.invalidRequest(`The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
        }
        // CRC64NVME only exists as a full-object checksum; the SHA and CRC32 families default to composite.
        const type: ChecksumType | undefined = algorithm ? (typeName ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE')) : undefined;
        const storageClass = storageClassOf(input);
        const target = store.bucketInfo(bucket);
        if (!target) throw s3Errors.noSuchBucket(bucket);
        const sse = writeEncryption(deps, input, ctx, target, key);
        const { uploadId } = await store.createMultipartUpload(bucket, key, {
          metadata: metadataFromInput(input),
          headers: headersFromInput(input),
          attributes: { ...objectAclAttributes(deps, input, ctx), ...sse.attributes },
          ...(storageClass ? { storageClass } : {}),
          ...(algorithm ? { checksumAlgorithm: algorithm } : {}),
          ...(type ? { checksumType: type } : {}),
          owner: ctx.accountId,
          context: writeContext(ctx, input),
        });
        return { Bucket: bucket, Key: key, UploadId: uploadId, ...(algorithm ? { ChecksumAlgorithm: algorithm, ChecksumType: type } : {}), ...sse.output };
      },
    }),

    UploadPart: s3Spec(deps, 'UploadPart', {
      readOnly: false,
      action: 's3:PutObject',
      ...data,
      handle: async (input) => {
        const partNumber = partNumberOf(input);
        const checksum = requestedChecksum(input);
        const contentMd5 = optStr(input, 'ContentMD5');
        const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.alloc(0);
        const part = await store.uploadPart(str(input, 'Bucket'), str(input, 'Key'), str(input, 'UploadId'), partNumber, body, {
          ...(contentMd5 !== undefined ? { contentMd5 } : {}),
          ...(checksum ? { checksum } : {}),
        });
        return { ETag: part.etag, ...checksumMembers(part.checksum) };
      },
    }),

    UploadPartCopy: s3Spec(deps, 'UploadPartCopy', {
      readOnly: false,
      action: 's3:PutObject',
      ...data,
      handle: async (input, ctx) => {
        const partNumber = partNumberOf(input);
        const source = parseCopySource(str(input, 'CopySource'));
        const src = await store.headObject(source.bucket, source.key, source.versionId !== undefined ? { versionId: source.versionId } : {});
        checkCopyPreconditions(input, src);
        authorizeRead(deps, ctx, src.attributes);
        const rangeText = optStr(input, 'CopySourceRange');
        let range: { start: number; end: number } | undefined;
        if (rangeText !== undefined) {
          const m = /^bytes=(\d+)-(\d+)$/.exec(rangeText);
          const start = Number(m?.[1]);
          const end = Number(m?.[2]);
          if (!m || end < start) {
            throw s3Errors.invalidArgument(
              'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
              'x-amz-copy-source-range',
              rangeText,
            );
          }
          if (end >= src.size) throw s3Errors.invalidRequest(`Range specified is not valid for source object of size: ${src.size}`);
          range = { start, end };
        }
        const got = await store.getObject(source.bucket, source.key, { versionId: src.versionId, ...(range ? { range } : {}) });
        const part = await store.uploadPart(str(input, 'Bucket'), str(input, 'Key'), str(input, 'UploadId'), partNumber, got.body);
        const sourceBucket = store.bucketInfo(source.bucket);
        return {
          CopyPartResult: { ETag: part.etag, LastModified: new Date(src.lastModified), ...checksumValues(part.checksum) },
          ...(sourceBucket && sourceBucket.versioning !== 'Unversioned' ? { CopySourceVersionId: src.versionId } : {}),
        };
      },
    }),

    CompleteMultipartUpload: s3Spec(deps, 'CompleteMultipartUpload', {
      readOnly: false,
      action: 's3:PutObject',
      ...data,
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const key = str(input, 'Key');
        const uploadId = str(input, 'UploadId');
        const listed = optRecord(input, 'MultipartUpload')?.Parts;
        if (!Array.isArray(listed) || listed.length === 0) throw s3Errors.malformedXml();
        const upload = (await store.listParts(bucket, key, uploadId, { maxParts: 0 })).upload;
        const parts = listed.map((p) => {
          const r = (p ?? {}) as Record<string, unknown>;
          const checksum = partChecksum(r, upload.checksumAlgorithm);
          return {
            partNumber: typeof r.PartNumber === 'number' ? r.PartNumber : 0,
            etag: typeof r.ETag === 'string' ? r.ETag : '',
            ...(checksum !== undefined ? { checksum } : {}),
          };
        });
        const ifNoneMatch = optStr(input, 'IfNoneMatch');
        const ifMatch = optStr(input, 'IfMatch');
        const done = await store.completeMultipartUpload(bucket, key, uploadId, parts, {
          ...(ifNoneMatch === '*' ? { ifNoneMatch: '*' as const } : {}),
          ...(ifMatch ? { ifMatch } : {}),
          context: writeContext(ctx, input),
        });
        const completed = await store.headObject(bucket, key, done.versionId !== undefined ? { versionId: done.versionId } : {});
        return {
          ...storedEncryptionOutput(completed.attributes),
          Location: `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
          Bucket: bucket,
          Key: key,
          ETag: done.etag,
          ...(done.versionId !== undefined ? { VersionId: done.versionId } : {}),
          ...checksumMembers(done.checksum),
        };
      },
    }),

    AbortMultipartUpload: s3Spec(deps, 'AbortMultipartUpload', {
      readOnly: false,
      action: 's3:AbortMultipartUpload',
      ...data,
      handle: async (input) => {
        await store.abortMultipartUpload(str(input, 'Bucket'), str(input, 'Key'), str(input, 'UploadId'));
        return {};
      },
    }),

    ListParts: s3Spec(deps, 'ListParts', {
      readOnly: true,
      action: 's3:ListMultipartUploadParts',
      ...data,
      handle: async (input) => {
        const marker = optNum(input, 'PartNumberMarker');
        const maxParts = optNum(input, 'MaxParts') ?? 1000;
        const page = await store.listParts(str(input, 'Bucket'), str(input, 'Key'), str(input, 'UploadId'), {
          ...(marker !== undefined ? { partNumberMarker: marker } : {}),
          maxParts,
        });
        const u = page.upload;
        return {
          Bucket: u.bucket,
          Key: u.key,
          UploadId: u.uploadId,
          PartNumberMarker: marker ?? 0,
          ...(page.nextPartNumberMarker !== undefined ? { NextPartNumberMarker: page.nextPartNumberMarker } : {}),
          MaxParts: maxParts,
          IsTruncated: page.isTruncated,
          Parts: page.parts.map((p) => ({
            PartNumber: p.partNumber,
            LastModified: new Date(p.lastModified),
            ETag: p.etag,
            Size: p.size,
            ...checksumValues(p.checksum),
          })),
          Initiator: owner(u.owner),
          Owner: owner(u.owner),
          StorageClass: u.storageClass,
          ...(u.checksumAlgorithm ? { ChecksumAlgorithm: u.checksumAlgorithm, ChecksumType: u.checksumType } : {}),
        };
      },
    }),

    ListMultipartUploads: s3Spec(deps, 'ListMultipartUploads', {
      readOnly: true,
      category: 'Data',
      action: 's3:ListBucketMultipartUploads',
      ...bucketResources(deps),
      handle: async (input) => {
        const encode = urlEncoder(input);
        const prefix = optStr(input, 'Prefix');
        const delimiter = optStr(input, 'Delimiter');
        const keyMarker = optStr(input, 'KeyMarker');
        const uploadIdMarker = optStr(input, 'UploadIdMarker');
        const maxUploads = optNum(input, 'MaxUploads') ?? 1000;
        const page = await store.listMultipartUploads(str(input, 'Bucket'), {
          ...(prefix !== undefined ? { prefix } : {}),
          ...(delimiter !== undefined ? { delimiter } : {}),
          ...(keyMarker ? { keyMarker } : {}),
          ...(uploadIdMarker ? { uploadIdMarker } : {}),
          maxUploads,
        });
        return {
          Bucket: str(input, 'Bucket'),
          KeyMarker: encode(keyMarker ?? ''),
          UploadIdMarker: uploadIdMarker ?? '',
          ...(page.nextKeyMarker !== undefined ? { NextKeyMarker: encode(page.nextKeyMarker) } : {}),
          ...(page.nextUploadIdMarker !== undefined ? { NextUploadIdMarker: page.nextUploadIdMarker } : {}),
          Prefix: encode(prefix ?? ''),
          ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
          MaxUploads: maxUploads,
          IsTruncated: page.isTruncated,
          Uploads: page.uploads.map((u) => ({
            UploadId: u.uploadId,
            Key: encode(u.key),
            Initiated: new Date(u.initiated),
            StorageClass: u.storageClass,
            Owner: owner(u.owner),
            Initiator: owner(u.owner),
            ...(u.checksumAlgorithm ? { ChecksumAlgorithm: u.checksumAlgorithm, ChecksumType: u.checksumType } : {}),
          })),
          CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
          ...(optStr(input, 'EncodingType') ? { EncodingType: optStr(input, 'EncodingType') } : {}),
        };
      },
    }),
  };
}
