/**
 * S3's listings of a bucket's contents: ListObjects (v1, markers), ListObjectsV2
 * (continuation tokens) and ListObjectVersions, with prefixes, delimiters and
 * `encoding-type=url`. They are data events in CloudTrail, authorized as s3:ListBucket
 * (s3:ListBucketVersions) on the bucket.
 */
import type { ObjectInfo } from '../../objectstore/store.js';
import type { OperationSpec } from '../service.js';
import { bucketResources, optNum, optStr, owner, s3Spec, str, urlEncoder, type Input, type Output, type S3Deps } from './common.js';
import { s3Errors } from '../../objectstore/errors.js';

function maxKeysOf(input: Input): number {
  const n = optNum(input, 'MaxKeys') ?? 1000;
  if (n < 0) throw s3Errors.invalidArgument('Argument maxKeys must be an integer between 0 and 2147483647', 'maxKeys', String(n));
  return n;
}

function content(o: ObjectInfo, encode: (s: string) => string, withOwner: boolean): Output {
  return {
    Key: encode(o.key),
    LastModified: new Date(o.lastModified),
    ETag: o.etag,
    ...(o.checksum ? { ChecksumAlgorithm: [o.checksum.algorithm], ChecksumType: o.checksum.type } : {}),
    Size: o.size,
    StorageClass: o.storageClass,
    ...(withOwner ? { Owner: owner(o.owner) } : {}),
  };
}

/** The listing operations. */
export function listingOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const common = { readOnly: true, category: 'Data' as const, ...bucketResources(deps) };
  return {
    ListObjects: s3Spec(deps, 'ListObjects', {
      ...common,
      action: 's3:ListBucket',
      handle: async (input) => {
        const encode = urlEncoder(input);
        const prefix = optStr(input, 'Prefix');
        const delimiter = optStr(input, 'Delimiter');
        const marker = optStr(input, 'Marker');
        const maxKeys = maxKeysOf(input);
        const page = await store.listObjectsV2(str(input, 'Bucket'), {
          ...(prefix !== undefined ? { prefix } : {}),
          ...(delimiter !== undefined ? { delimiter } : {}),
          ...(marker ? { startAfter: marker } : {}),
          maxKeys,
        });
        return {
          IsTruncated: page.isTruncated,
          Marker: encode(marker ?? ''),
          // S3 gives NextMarker only with a delimiter; without one clients use the last key.
          ...(page.isTruncated && delimiter && page.nextMarker !== undefined ? { NextMarker: encode(page.nextMarker) } : {}),
          Contents: page.objects.map((o) => content(o, encode, true)),
          Name: str(input, 'Bucket'),
          Prefix: encode(prefix ?? ''),
          ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
          MaxKeys: maxKeys,
          CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
          ...(optStr(input, 'EncodingType') ? { EncodingType: optStr(input, 'EncodingType') } : {}),
        };
      },
    }),

    ListObjectsV2: s3Spec(deps, 'ListObjectsV2', {
      ...common,
      action: 's3:ListBucket',
      handle: async (input) => {
        const encode = urlEncoder(input);
        const prefix = optStr(input, 'Prefix');
        const delimiter = optStr(input, 'Delimiter');
        const startAfter = optStr(input, 'StartAfter');
        const token = optStr(input, 'ContinuationToken');
        const maxKeys = maxKeysOf(input);
        const page = await store.listObjectsV2(str(input, 'Bucket'), {
          ...(prefix !== undefined ? { prefix } : {}),
          ...(delimiter !== undefined ? { delimiter } : {}),
          ...(startAfter ? { startAfter } : {}),
          ...(token !== undefined ? { continuationToken: token } : {}),
          maxKeys,
        });
        return {
          IsTruncated: page.isTruncated,
          Contents: page.objects.map((o) => content(o, encode, input.FetchOwner === true)),
          Name: str(input, 'Bucket'),
          Prefix: encode(prefix ?? ''),
          ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
          MaxKeys: maxKeys,
          CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
          ...(optStr(input, 'EncodingType') ? { EncodingType: optStr(input, 'EncodingType') } : {}),
          KeyCount: page.objects.length + page.commonPrefixes.length,
          ...(token !== undefined ? { ContinuationToken: token } : {}),
          ...(page.nextContinuationToken !== undefined ? { NextContinuationToken: page.nextContinuationToken } : {}),
          ...(startAfter !== undefined ? { StartAfter: encode(startAfter) } : {}),
        };
      },
    }),

    ListObjectVersions: s3Spec(deps, 'ListObjectVersions', {
      ...common,
      action: 's3:ListBucketVersions',
      handle: async (input) => {
        const encode = urlEncoder(input);
        const prefix = optStr(input, 'Prefix');
        const delimiter = optStr(input, 'Delimiter');
        const keyMarker = optStr(input, 'KeyMarker');
        const versionIdMarker = optStr(input, 'VersionIdMarker');
        const maxKeys = maxKeysOf(input);
        const page = await store.listObjectVersions(str(input, 'Bucket'), {
          ...(prefix !== undefined ? { prefix } : {}),
          ...(delimiter !== undefined ? { delimiter } : {}),
          ...(keyMarker ? { keyMarker } : {}),
          ...(versionIdMarker ? { versionIdMarker } : {}),
          maxKeys,
        });
        const versions = page.versions.filter((v) => !v.deleteMarker);
        const markers = page.versions.filter((v) => v.deleteMarker);
        return {
          IsTruncated: page.isTruncated,
          KeyMarker: encode(keyMarker ?? ''),
          VersionIdMarker: versionIdMarker ?? '',
          ...(page.nextKeyMarker !== undefined ? { NextKeyMarker: encode(page.nextKeyMarker) } : {}),
          ...(page.nextVersionIdMarker !== undefined ? { NextVersionIdMarker: page.nextVersionIdMarker } : {}),
          Versions: versions.map((v) => ({
            ETag: v.etag,
            ...(v.checksum ? { ChecksumAlgorithm: [v.checksum.algorithm], ChecksumType: v.checksum.type } : {}),
            Size: v.size,
            StorageClass: v.storageClass,
            Key: encode(v.key),
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            LastModified: new Date(v.lastModified),
            Owner: owner(v.owner),
          })),
          DeleteMarkers: markers.map((v) => ({
            Owner: owner(v.owner),
            Key: encode(v.key),
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            LastModified: new Date(v.lastModified),
          })),
          Name: str(input, 'Bucket'),
          Prefix: encode(prefix ?? ''),
          ...(delimiter !== undefined ? { Delimiter: encode(delimiter) } : {}),
          MaxKeys: maxKeys,
          CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
          ...(optStr(input, 'EncodingType') ? { EncodingType: optStr(input, 'EncodingType') } : {}),
        };
      },
    }),
  };
}
