/**
 * What the S3 operations share: reading decoded inputs, the ARNs and record resources
 * of buckets and objects (how CloudTrail lists them), the shape of S3's
 * `requestParameters`/`responseElements`, owners, checksums in and out, and S3's
 * `encoding-type=url` key encoding.
 */
import { createHash } from 'node:crypto';
import { checksumAlgorithmOf, type ChecksumAlgorithm } from '../../objectstore/checksums.js';
import { s3Errors } from '../../objectstore/errors.js';
import type { ObjectHeaders, ObjectInfo, ObjectStoreEngine, StoredChecksum, WriteContext } from '../../objectstore/store.js';
import { inputShapeOf, operationOf, outputShapeOf, shapeOf, type ServiceModel } from '../../wire/model.js';
import type { Principal } from '../../auth/principal.js';
import type { Kms } from '../../kms/kms.js';
import type { IdentityPolicySource } from '../kms/authz.js';
import type { CallContext, OperationSpec, RecordResource } from '../service.js';

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

/** The engine and model every S3 operation module is built from. */
export interface S3Deps {
  store: ObjectStoreEngine;
  model: ServiceModel;
  /** SSE-KMS: the KMS engine, and the callers' identity policies its key policies delegate to. */
  kms?: Kms;
  policies?: IdentityPolicySource;
}

export function str(input: Input, name: string): string {
  const v = input[name];
  return typeof v === 'string' ? v : '';
}

export function optStr(input: Input, name: string): string | undefined {
  const v = input[name];
  return typeof v === 'string' ? v : undefined;
}

export function optNum(input: Input, name: string): number | undefined {
  const v = input[name];
  return typeof v === 'number' ? v : undefined;
}

export function optDate(input: Input, name: string): Date | undefined {
  const v = input[name];
  return v instanceof Date ? v : undefined;
}

export function optRecord(input: Input, name: string): Record<string, unknown> | undefined {
  const v = input[name];
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

/** The account that owns a bucket (the caller's when the bucket does not exist). */
export function bucketAccount(deps: S3Deps, bucket: string, ctx: CallContext): string {
  return deps.store.bucketInfo(bucket)?.owner ?? ctx.accountId;
}

/** A bucket as a record resource, as CloudTrail lists it: with the owner's account. */
export function bucketResource(deps: S3Deps, bucket: string, ctx: CallContext): RecordResource {
  return { accountId: bucketAccount(deps, bucket, ctx), type: 'AWS::S3::Bucket', ARN: bucketArn(bucket) };
}

/** Resources of a bucket-level (management) call. */
export function bucketResources(deps: S3Deps): Pick<OperationSpec, 'resources'> {
  return { resources: (input, ctx) => [bucketResource(deps, str(input, 'Bucket'), ctx)] };
}

/**
 * Resources of an object-level (data) call: the record lists the object, then its
 * bucket (CloudTrail's order); IAM authorizes the object ARN alone, as S3 does.
 */
export function objectResources(deps: S3Deps): Pick<OperationSpec, 'resources' | 'authorizationResources'> {
  return {
    resources: (input, ctx) => [
      { type: 'AWS::S3::Object', ARN: objectArn(str(input, 'Bucket'), str(input, 'Key')) },
      bucketResource(deps, str(input, 'Bucket'), ctx),
    ],
    authorizationResources: (input, ctx) => [
      { type: 'AWS::S3::Object', ARN: objectArn(str(input, 'Bucket'), str(input, 'Key')), accountId: bucketAccount(deps, str(input, 'Bucket'), ctx) },
    ],
  };
}

/** What an operation's wrapper learned about the caller (see {@link withCallerFacts}). */
export type CallerFacts = Pick<WriteContext, 'isOwnerRoot' | 'mayBypassGovernance' | 'lockAttributes'>;

const CALLER_FACTS = Symbol('s3-caller-facts');

/**
 * The input with facts about the caller attached, for the engine's hooks: a wrapper that
 * evaluates IAM or parses lock headers passes them to the core handler this way, and
 * {@link writeContext} hands them to the store. A symbol key, so no codec or record sees it.
 */
export function withCallerFacts(input: Input, facts: CallerFacts): Input {
  return { ...input, [CALLER_FACTS]: { ...callerFactsOf(input), ...facts } };
}

function callerFactsOf(input: Input): CallerFacts | undefined {
  return (input as Record<symbol, CallerFacts | undefined>)[CALLER_FACTS];
}

/** The write context handed to the engine's hooks. */
export function writeContext(ctx: CallContext, input: Input): WriteContext {
  const mfa = optStr(input, 'MFA');
  return {
    accountId: ctx.accountId,
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    principalId: notificationPrincipalId(ctx.principal),
    ...(input.BypassGovernanceRetention === true ? { bypassGovernanceRetention: true } : {}),
    ...(mfa ? { mfa } : {}),
    ...callerFactsOf(input),
  };
}

/** The `principalId` S3 event notifications name a caller by. */
function notificationPrincipalId(p: Principal): string {
  switch (p.type) {
    case 'IAMUser':
      return `AWS:${p.userId}`;
    case 'AssumedRole':
      return `AWS:${p.roleId}:${p.sessionName}`;
    case 'AWSService':
      return p.invokedBy;
    case 'Root':
      return p.accountId;
    case 'Anonymous':
      return 'anonymous';
  }
}

/** S3's canonical user id for an account: 64 hex characters, stable per account. */
export function canonicalId(accountId: string): string {
  return createHash('sha256').update(`cairn-canonical-user:${accountId}`).digest('hex');
}

export function owner(accountId: string): Output {
  return { ID: canonicalId(accountId) };
}

/** Members of S3 outputs carrying an object's standard headers. */
export function headerMembers(h: ObjectHeaders): Output {
  return {
    ...(h.contentType !== undefined ? { ContentType: h.contentType } : {}),
    ...(h.contentEncoding !== undefined ? { ContentEncoding: h.contentEncoding } : {}),
    ...(h.contentDisposition !== undefined ? { ContentDisposition: h.contentDisposition } : {}),
    ...(h.contentLanguage !== undefined ? { ContentLanguage: h.contentLanguage } : {}),
    ...(h.cacheControl !== undefined ? { CacheControl: h.cacheControl } : {}),
    ...(h.expires !== undefined && !Number.isNaN(Date.parse(h.expires)) ? { Expires: new Date(h.expires) } : {}),
    ...(h.websiteRedirectLocation !== undefined ? { WebsiteRedirectLocation: h.websiteRedirectLocation } : {}),
  };
}

/** An object's standard headers from a PutObject-like input. */
export function headersFromInput(input: Input): ObjectHeaders {
  const encoding = optStr(input, 'ContentEncoding');
  // aws-chunked is transfer framing, not the object's encoding; S3 drops it.
  const kept = encoding
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
    .join(',');
  const expires = input.Expires instanceof Date ? input.Expires.toUTCString() : optStr(input, 'Expires');
  const h: ObjectHeaders = {};
  const type = optStr(input, 'ContentType');
  if (type !== undefined) h.contentType = type;
  if (kept) h.contentEncoding = kept;
  const disposition = optStr(input, 'ContentDisposition');
  if (disposition !== undefined) h.contentDisposition = disposition;
  const language = optStr(input, 'ContentLanguage');
  if (language !== undefined) h.contentLanguage = language;
  const cache = optStr(input, 'CacheControl');
  if (cache !== undefined) h.cacheControl = cache;
  if (expires !== undefined) h.expires = expires;
  const redirect = optStr(input, 'WebsiteRedirectLocation');
  if (redirect !== undefined) h.websiteRedirectLocation = redirect;
  return h;
}

/** User metadata from the `x-amz-meta-` map (names are lower-cased on the wire already). */
export function metadataFromInput(input: Input): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(optRecord(input, 'Metadata') ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

const CHECKSUM_MEMBERS: Record<ChecksumAlgorithm, string> = {
  CRC32: 'ChecksumCRC32',
  CRC32C: 'ChecksumCRC32C',
  CRC64NVME: 'ChecksumCRC64NVME',
  SHA1: 'ChecksumSHA1',
  SHA256: 'ChecksumSHA256',
  MD5: 'ChecksumMD5',
  SHA512: 'ChecksumSHA512',
};

/**
 * The flexible checksum a write asks for: a value in an `x-amz-checksum-*` header (or
 * trailer), or just an algorithm (`x-amz-sdk-checksum-algorithm`) whose value came in a
 * trailer that is missing. More than one value is S3's InvalidRequest.
 */
export function requestedChecksum(input: Input): { algorithm: ChecksumAlgorithm; value?: string } | undefined {
  const given = (Object.entries(CHECKSUM_MEMBERS) as [ChecksumAlgorithm, string][]).filter(([, m]) => typeof input[m] === 'string');
  if (given.length > 1) throw s3Errors.invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const first = given[0];
  if (first) return { algorithm: first[0], value: str(input, first[1]) };
  const named = optStr(input, 'ChecksumAlgorithm');
  if (named === undefined) return undefined;
  const algorithm = checksumAlgorithmOf(named);
  if (!algorithm) throw s3Errors.invalidRequest(`Checksum algorithm ${named} is not supported.`);
  return { algorithm };
}

/** Output members for a stored checksum (`ChecksumCRC32`... and `ChecksumType`). */
export function checksumMembers(c: StoredChecksum | undefined): Output {
  if (!c) return {};
  return { [CHECKSUM_MEMBERS[c.algorithm]]: c.value, ChecksumType: c.type };
}

/** Checksum value members alone, for shapes without `ChecksumType` (parts, copy results). */
export function checksumValues(c: StoredChecksum | undefined): Output {
  return c ? { [CHECKSUM_MEMBERS[c.algorithm]]: c.value } : {};
}

/** The checksum member a completed-part entry carries, for its algorithm. */
export function partChecksum(part: Record<string, unknown>, algorithm: ChecksumAlgorithm | undefined): string | undefined {
  if (!algorithm) return undefined;
  const v = part[CHECKSUM_MEMBERS[algorithm]];
  return typeof v === 'string' ? v : undefined;
}

/** S3's `encoding-type=url`: keys percent-encoded, `/` left readable. */
export function urlEncoder(input: Input): (s: string) => string {
  return optStr(input, 'EncodingType') === 'url' ? (s) => encodeURIComponent(s).replace(/%2F/g, '/') : (s) => s;
}

/** The version id S3 reports: none for objects in a bucket that never had versioning. */
export function reportedVersion(deps: S3Deps, info: ObjectInfo): Output {
  const bucket = deps.store.bucketInfo(info.bucket);
  return bucket && bucket.versioning !== 'Unversioned' ? { VersionId: info.versionId } : {};
}

/**
 * S3's `requestParameters`: `bucketName`, `key`, the subresource (`versioning: ""`),
 * query parameters by their wire names, and a structured payload (never object bytes
 * and never a DeleteObjects key list).
 */
export function s3RecordRequest(model: ServiceModel, operation: string): (input: Input) => unknown {
  const op = operationOf(model, operation);
  const shape = op ? inputShapeOf(model, op) : undefined;
  const query = (op?.http.requestUri.split('?')[1] ?? '').split('&').filter((p) => p !== '').map((q) => q.split('='));
  // Which members can appear is known from the model: sorted out once, not on every call.
  const recorded: { name: string; kind: 'query' | 'header' | 'payload'; wire: string }[] = [];
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    if (name === 'Bucket' || name === 'Key') continue;
    if (ref.location === 'querystring') recorded.push({ name, kind: 'query', wire: ref.locationName ?? name });
    else if (ref.location === 'header' && ['x-amz-copy-source', 'x-amz-metadata-directive', 'x-amz-acl'].includes((ref.locationName ?? '').toLowerCase())) {
      recorded.push({ name, kind: 'header', wire: (ref.locationName ?? name).toLowerCase() });
    } else if (shape && name === shape.payload && name !== 'Delete' && shapeOf(model, ref).type === 'structure') recorded.push({ name, kind: 'payload', wire: name });
  }
  return (input) => {
    const out: Record<string, unknown> = {};
    if (typeof input.Bucket === 'string') out.bucketName = input.Bucket;
    for (const [k = '', v = ''] of query) out[k] = v;
    if (typeof input.Key === 'string') out.key = input.Key;
    for (const { name, kind, wire } of recorded) {
      const value = input[name];
      if (value === undefined) continue;
      if (kind === 'query') out[wire] = value instanceof Date ? value.toISOString() : value;
      else if (kind === 'header') out[wire] = value;
      else {
        const shaped = asRecorded(value);
        out[wire] = shaped !== null && typeof shaped === 'object' ? { ...shaped, xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' } : shaped;
      }
    }
    return out;
  };
}

/** A configuration document as S3 records it: XML element names kept, dates ISO, bytes dropped. */
function asRecorded(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return undefined;
  if (Array.isArray(value)) return value.map(asRecorded);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const shaped = asRecorded(v);
      if (shaped !== undefined) out[k] = shaped;
    }
    return out;
  }
  return value;
}

/**
 * S3's `responseElements` for a write: the response headers that matter
 * (`x-amz-version-id`, `x-amz-delete-marker`...), or null.
 */
export function s3RecordResponse(model: ServiceModel, operation: string): (output: Output) => unknown {
  const op = operationOf(model, operation);
  const shape = op ? outputShapeOf(model, op) : undefined;
  const wanted = ['x-amz-version-id', 'x-amz-delete-marker', 'x-amz-server-side-encryption', 'x-amz-copy-source-version-id'];
  // The members that can be recorded, found once from the model.
  const headers: [string, string][] = [];
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    const wire = (ref.locationName ?? '').toLowerCase();
    if (ref.location === 'header' && wanted.includes(wire)) headers.push([name, wire]);
  }
  return (output) => {
    const out: Record<string, unknown> = {};
    for (const [name, wire] of headers) {
      const v = output[name];
      if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') out[wire] = String(v);
    }
    if (operation === 'CreateMultipartUpload' || operation === 'CompleteMultipartUpload') {
      for (const k of ['Bucket', 'Key', 'UploadId', 'ETag']) if (output[k] !== undefined) out[k.charAt(0).toLowerCase() + k.slice(1)] = output[k];
    }
    return Object.keys(out).length > 0 ? out : null;
  };
}

/** Common spec parts: the action, classification and record hooks for an S3 operation. */
export function s3Spec(
  deps: S3Deps,
  operation: string,
  spec: Omit<OperationSpec, 'recordRequest' | 'recordResponse'>,
): OperationSpec {
  return { ...spec, recordRequest: s3RecordRequest(deps.model, operation), recordResponse: s3RecordResponse(deps.model, operation) };
}
