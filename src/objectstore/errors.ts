/**
 * The S3 errors the object store and the S3 API return, with S3's codes, statuses,
 * messages and extra elements (`<BucketName>`, `<Key>`, `<VersionId>`...). The engine
 * throws them directly so every backend (embedded or an external S3 adapter) fails the
 * same way and the conformance suite can check it.
 */
import { AwsError } from '../platform/errors.js';

/** Factories for S3's errors. */
export const s3Errors = {
  noSuchBucket: (bucket: string) =>
    new AwsError({ code: 'NoSuchBucket', message: 'The specified bucket does not exist', status: 404, extra: { BucketName: bucket } }),
  noSuchKey: (key: string, headers?: Record<string, string>) =>
    new AwsError({ code: 'NoSuchKey', message: 'The specified key does not exist.', status: 404, extra: { Key: key }, ...(headers ? { headers } : {}) }),
  noSuchVersion: (key: string, versionId: string) =>
    new AwsError({
      code: 'NoSuchVersion',
      message: 'The specified version does not exist.',
      status: 404,
      extra: { Key: key, VersionId: versionId },
    }),
  invalidVersionId: (versionId: string) =>
    new AwsError({ code: 'InvalidArgument', message: 'Invalid version id specified', extra: { ArgumentName: 'versionId', ArgumentValue: versionId } }),
  noSuchUpload: (uploadId: string) =>
    new AwsError({
      code: 'NoSuchUpload',
      message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      status: 404,
      extra: { UploadId: uploadId },
    }),
  bucketNotEmpty: (bucket: string) =>
    new AwsError({ code: 'BucketNotEmpty', message: 'The bucket you tried to delete is not empty', status: 409, extra: { BucketName: bucket } }),
  bucketAlreadyExists: (bucket: string) =>
    new AwsError({
      code: 'BucketAlreadyExists',
      message: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
      status: 409,
      extra: { BucketName: bucket },
    }),
  bucketAlreadyOwnedByYou: (bucket: string) =>
    new AwsError({
      code: 'BucketAlreadyOwnedByYou',
      message: 'Your previous request to create the named bucket succeeded and you already own it.',
      status: 409,
      extra: { BucketName: bucket },
    }),
  invalidBucketName: (bucket: string) =>
    new AwsError({ code: 'InvalidBucketName', message: 'The specified bucket is not valid.', extra: { BucketName: bucket } }),
  keyTooLong: (size: number) =>
    new AwsError({ code: 'KeyTooLongError', message: 'Your key is too long', extra: { MaxSizeAllowed: '1024', Size: String(size) } }),
  invalidKey: (reason: string) => new AwsError({ code: 'InvalidArgument', message: reason, extra: { ArgumentName: 'key' } }),
  invalidRange: (range: string, size: number) =>
    new AwsError({
      code: 'InvalidRange',
      message: 'The requested range is not satisfiable',
      status: 416,
      extra: { RangeRequested: range, ActualObjectSize: String(size) },
      headers: { 'content-range': `bytes */${size}` },
    }),
  preconditionFailed: (condition: string) =>
    new AwsError({
      code: 'PreconditionFailed',
      message: 'At least one of the pre-conditions you specified did not hold',
      status: 412,
      extra: { Condition: condition },
    }),
  notModified: (headers: Record<string, string>) => new AwsError({ code: 'NotModified', message: 'Not Modified', status: 304, headers }),
  badDigest: (what: string) =>
    new AwsError({ code: 'BadDigest', message: `The ${what} you specified did not match the calculated checksum.` }),
  contentMd5Mismatch: (expected: string, calculated: string) =>
    new AwsError({
      code: 'BadDigest',
      message: 'The Content-MD5 you specified did not match what we received.',
      extra: { ExpectedDigest: expected, CalculatedDigest: calculated },
    }),
  invalidDigest: (digest: string) =>
    new AwsError({ code: 'InvalidDigest', message: 'The Content-MD5 you specified was not valid.', extra: { 'Content-MD5': digest } }),
  invalidChecksumHeader: (header: string) =>
    new AwsError({ code: 'InvalidRequest', message: `Value for ${header} header is invalid.` }),
  entityTooSmall: (size: number, partNumber: number, etag: string) =>
    new AwsError({
      code: 'EntityTooSmall',
      message: 'Your proposed upload is smaller than the minimum allowed object size.',
      extra: { ProposedSize: String(size), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(partNumber), ETag: etag.replace(/"/g, '') },
    }),
  invalidPart: (uploadId: string, partNumber: number, etag: string) =>
    new AwsError({
      code: 'InvalidPart',
      message:
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      extra: { UploadId: uploadId, PartNumber: String(partNumber), ETag: etag },
    }),
  invalidPartOrder: (uploadId: string) =>
    new AwsError({
      code: 'InvalidPartOrder',
      message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
      extra: { UploadId: uploadId },
    }),
  invalidPartNumber: (value: number) =>
    new AwsError({
      code: 'InvalidArgument',
      message: 'Part number must be an integer between 1 and 10000, inclusive',
      extra: { ArgumentName: 'partNumber', ArgumentValue: String(value) },
    }),
  malformedXml: () =>
    new AwsError({
      code: 'MalformedXML',
      message: 'The XML you provided was not well-formed or did not validate against our published schema',
    }),
  methodNotAllowedOnDeleteMarker: (headers: Record<string, string>) =>
    new AwsError({
      code: 'MethodNotAllowed',
      message: 'The specified method is not allowed against this resource.',
      status: 405,
      extra: { Method: 'GET', ResourceType: 'DeleteMarker' },
      headers,
    }),
  invalidArgument: (message: string, name: string, value: string) =>
    new AwsError({ code: 'InvalidArgument', message, extra: { ArgumentName: name, ArgumentValue: value } }),
  invalidRequest: (message: string) => new AwsError({ code: 'InvalidRequest', message }),
  accessDenied: () => new AwsError({ code: 'AccessDenied', message: 'Access Denied', status: 403 }),
  illegalLocationConstraint: (constraint: string | undefined) =>
    new AwsError({
      code: 'IllegalLocationConstraintException',
      message: `The ${constraint ?? 'unspecified'} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    }),
  invalidLocationConstraint: (constraint: string) =>
    new AwsError({
      code: 'InvalidLocationConstraint',
      message: 'The specified location-constraint is not valid',
      extra: { LocationConstraint: constraint },
    }),
};

/** The smallest part S3 accepts, except for the last part of an upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
