/**
 * AWS Signature Version 4 on incoming requests: reading the claim a request makes
 * (Authorization header or presigned query) and checking it against the caller's secret;
 * and the same arithmetic the other way, signing a request Cairn sends itself
 * (`cairn validate-logs`).
 * Canonical headers, canonical query and scope come from `@smithy/signature-v4`, so we
 * compute exactly what the JS SDK computes; the canonical request, string to sign and key
 * derivation are composed here because the library keeps them private or asynchronous.
 * Nothing here knows which principal owns a key or what the request asks for.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import {
  ALGORITHM_IDENTIFIER,
  MAX_PRESIGNED_TTL,
  UNSIGNED_PAYLOAD,
  KEY_TYPE_IDENTIFIER,
  createScope,
  getCanonicalHeaders,
  getCanonicalQuery,
} from '@smithy/signature-v4';
import { AwsError, errors } from '../platform/errors.js';

/** A request as the server received it; any object with these fields will do. */
export interface SignedRequest {
  method: string;
  /** The path exactly as on the wire, still percent-encoded, without the query. */
  rawPath: string;
  query: URLSearchParams;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Which AWS family's rules and error codes apply: S3's, or those of JSON and Query services. */
export type SigV4Flavor = 's3' | 'json' | 'query';

/** What a request claims about its signature, read without any cryptography. */
export interface SigV4Claim {
  accessKeyId: string;
  /** The credential scope's date, `YYYYMMDD`. */
  date: string;
  region: string;
  /** The signing name, e.g. `cloudtrail`, `s3`, `sts`. */
  service: string;
  /** `20261121/us-east-1/cloudtrail/aws4_request`. */
  scope: string;
  /** Lower-cased names, in the order the client listed them. */
  signedHeaders: string[];
  signature: string;
  /** True for query-string (presigned URL) authentication. */
  presigned: boolean;
  sessionToken: string | undefined;
  /** `X-Amz-Expires` in seconds, for presigned requests that carry it. */
  expires: number | undefined;
  /** The request time as given (`X-Amz-Date`, `x-amz-date` or `date`), if any. */
  amzDate: string | undefined;
}

/**
 * How the payload is covered by the signature: `hashed` (the body's SHA-256 was signed and
 * checked), `unsigned` (S3's `UNSIGNED-PAYLOAD`), or one of the `aws-chunked` streaming modes,
 * whose body must go through `decodeAwsChunked` before use.
 */
export type PayloadMode =
  | 'hashed'
  | 'unsigned'
  | 'streaming-signed'
  | 'streaming-signed-trailer'
  | 'streaming-unsigned-trailer';

/** A signature that checked out, with what the `aws-chunked` decoder needs to go on. */
export interface VerifiedSignature {
  accessKeyId: string;
  sessionToken: string | undefined;
  region: string;
  service: string;
  scope: string;
  /** The request time in ISO 8601 basic format, as it entered the string to sign. */
  amzDate: string;
  /** The request time in ms since the epoch. */
  requestTime: number;
  signingKey: Uint8Array;
  /** The request's own signature: the seed of a chunk-signature chain. */
  seedSignature: string;
  presigned: boolean;
  payloadMode: PayloadMode;
  /** `x-amz-decoded-content-length`, for streaming modes. */
  decodedContentLength: number | undefined;
}

/** Options for {@link verifySigV4}. */
export interface VerifyOptions {
  /** The server's time, ms since the epoch. */
  now: number;
  flavor: SigV4Flavor;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_SKEW_MS = 15 * 60 * 1000;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
/** What `getCanonicalHeaders` rewrites in a header value. */
const HEADER_WHITESPACE = /[\r\n\t ]/;
const STREAMING_MODES: Record<string, PayloadMode> = {
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
};

const S3_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
const PRESIGN_PARAMS_MESSAGE =
  'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.';

/**
 * Reads the SigV4 claim of a request, cheaply, so it can be routed before it is verified.
 * Returns undefined when the request is not signed at all (no Authorization header and no
 * `X-Amz-*` auth parameters); throws `IncompleteSignature` when it is signed badly.
 *
 * @example
 * const claim = parseSigV4(req);
 * if (claim) route(claim.service);
 */
export function parseSigV4(req: SignedRequest): SigV4Claim | undefined {
  const authorization = req.headers.authorization;
  const q = req.query;
  const presigned = q.has('X-Amz-Algorithm') || q.has('X-Amz-Credential') || q.has('X-Amz-Signature');
  if (authorization !== undefined && presigned) {
    throw new AwsError({
      code: 'InvalidArgument',
      message:
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      status: 400,
    });
  }
  if (presigned) return parsePresigned(q);
  if (authorization === undefined) return undefined;
  return parseAuthorizationHeader(authorization, req.headers, q);
}

/** The header as the SDKs and the AWS CLI write it; anything else takes the general path. */
const CANONICAL_AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^\s,=]+), ?SignedHeaders=([^\s,=]+), ?Signature=([^\s,=]+)$/;

function parseAuthorizationHeader(
  header: string,
  headers: Record<string, string>,
  query: URLSearchParams,
): SigV4Claim {
  const amzDate = headers['x-amz-date'] ?? headers.date;
  const usual = CANONICAL_AUTHORIZATION.exec(header);
  if (usual && amzDate !== undefined) {
    const [, credential = '', signedHeaders = '', signature = ''] = usual;
    return claimOf(credential, signedHeaders, signature, amzDate, headers, query);
  }
  const fields = new Map<string, string>();
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm === ALGORITHM_IDENTIFIER) {
    // AWS splits on commas and whitespace alike, so a stray space inside a value is an error.
    for (const part of header.slice(space + 1).split(/[\s,]+/)) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) {
        throw errors.incompleteSignature(
          `'${part}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header}'.`,
        );
      }
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const missing: string[] = [];
  if (credential === undefined) missing.push("Authorization header requires 'Credential' parameter.");
  if (signature === undefined) missing.push("Authorization header requires 'Signature' parameter.");
  if (signedHeaders === undefined) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  if (amzDate === undefined) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (credential === undefined || signature === undefined || signedHeaders === undefined || amzDate === undefined) {
    throw errors.incompleteSignature(`${missing.join(' ')} Authorization=${header}`);
  }
  return claimOf(credential, signedHeaders, signature, amzDate, headers, query);
}

function claimOf(
  credential: string,
  signedHeaders: string,
  signature: string,
  amzDate: string,
  headers: Record<string, string>,
  query: URLSearchParams,
): SigV4Claim {
  const scope = parseCredential(credential);
  return {
    accessKeyId: scope.accessKeyId,
    date: scope.date,
    region: scope.region,
    service: scope.service,
    scope: scope.scope,
    signedHeaders: splitSignedHeaders(signedHeaders),
    signature,
    presigned: false,
    sessionToken: headers['x-amz-security-token'] ?? (query.size === 0 ? undefined : (query.get('X-Amz-Security-Token') ?? undefined)),
    expires: undefined,
    amzDate,
  };
}

function parsePresigned(q: URLSearchParams): SigV4Claim {
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const signature = q.get('X-Amz-Signature');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const amzDate = q.get('X-Amz-Date');
  if (algorithm === null || credential === null || signature === null || signedHeaders === null || amzDate === null) {
    throw errors.incompleteSignature(PRESIGN_PARAMS_MESSAGE);
  }
  if (algorithm !== ALGORITHM_IDENTIFIER) {
    throw errors.incompleteSignature(
      `X-Amz-Algorithm only supports "${ALGORITHM_IDENTIFIER}", not "${algorithm}".`,
    );
  }
  const expiresText = q.get('X-Amz-Expires');
  let expires: number | undefined;
  if (expiresText !== null) {
    if (!/^[0-9]{1,10}$/.test(expiresText)) throw errors.incompleteSignature('X-Amz-Expires should be a number');
    expires = Number(expiresText);
  }
  return {
    ...parseCredential(credential),
    signedHeaders: splitSignedHeaders(signedHeaders),
    signature,
    presigned: true,
    sessionToken: q.get('X-Amz-Security-Token') ?? undefined,
    expires,
    amzDate,
  };
}

function parseCredential(
  credential: string,
): Pick<SigV4Claim, 'accessKeyId' | 'date' | 'region' | 'service' | 'scope'> {
  const parts = credential.split('/');
  if (parts.length !== 5) {
    throw errors.incompleteSignature(
      `Credential should be scoped to a valid region and service: '<access key>/<date>/<region>/<service>/aws4_request', not '${credential}'.`,
    );
  }
  const [accessKeyId = '', date = '', region = '', service = '', terminator = ''] = parts;
  if (terminator !== 'aws4_request') {
    throw errors.incompleteSignature(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
    );
  }
  if (accessKeyId === '' || region === '' || service === '' || !/^[0-9]{8}$/.test(date)) {
    throw errors.incompleteSignature(`Credential should be scoped to a valid region and date, not '${credential}'.`);
  }
  return { accessKeyId, date, region, service, scope: createScope(date, region, service) };
}

function splitSignedHeaders(list: string): string[] {
  return list.split(';').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
}

/**
 * Checks a request's SigV4 signature against the secret of the claimed access key, and the
 * time window, credential date and payload hash rules of the flavor's AWS services. Throws
 * an {@link AwsError} in that flavor's codes; returns what chunk decoding needs.
 *
 * @example
 * const claim = parseSigV4(req);
 * const verified = verifySigV4(req, claim, secret, { now: clock.now(), flavor: 's3' });
 * const body = verified.payloadMode.startsWith('streaming') ? decodeAwsChunked(req.body, verified).payload : req.body;
 */
export function verifySigV4(
  req: SignedRequest,
  claim: SigV4Claim,
  secretAccessKey: string,
  opts: VerifyOptions,
): VerifiedSignature {
  const s3 = opts.flavor === 's3';
  const amzDate = toBasicIso(claim, s3);
  const requestTime = basicIsoToMs(amzDate);

  if (amzDate.slice(0, 8) !== claim.date) {
    if (s3) {
      throw claim.presigned
        ? s3QueryError('Invalid credential date. Date is not the same as X-Amz-Date.')
        : new AwsError({
            code: 'AuthorizationHeaderMalformed',
            message: 'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.',
            status: 400,
          });
    }
    throw errors.signatureDoesNotMatch(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${claim.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (!claim.signedHeaders.includes('host')) {
    throw errors.incompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (claim.presigned) checkPresignedWindow(claim, amzDate, requestTime, opts);
  else checkSkew(amzDate, requestTime, opts);

  const payload = payloadHashFor(req, claim, s3);
  if (s3 && !claim.presigned) checkS3HeadersSigned(req, claim);

  const signingKey = deriveSigningKey(secretAccessKey, claim.date, claim.region, claim.service);
  const canonicalRequest = buildCanonicalRequest(req, claim.signedHeaders, s3, payload.hash);
  const stringToSign = stringToSignOf(amzDate, claim.scope, canonicalRequest);
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  if (!sameSignature(expected, claim.signature)) {
    throw s3
      ? new AwsError({
          code: 'SignatureDoesNotMatch',
          message: S3_MISMATCH,
          status: 403,
          extra: {
            AWSAccessKeyId: claim.accessKeyId,
            StringToSign: stringToSign,
            SignatureProvided: claim.signature,
            StringToSignBytes: hexBytes(stringToSign),
            CanonicalRequest: canonicalRequest,
            CanonicalRequestBytes: hexBytes(canonicalRequest),
          },
        })
      : errors.signatureDoesNotMatch();
  }

  // The signature covered the declared hash; now make sure the body is the one declared.
  if (payload.mode === 'hashed' && !payload.fromBody) {
    const bodyHash = sha256Hex(req.body);
    if (payload.hash !== bodyHash) {
      if (!s3) throw errors.signatureDoesNotMatch();
      throw new AwsError({
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
        status: 400,
        extra: { ClientComputedContentSHA256: payload.hash, S3ComputedContentSHA256: bodyHash },
      });
    }
  }

  let decodedContentLength: number | undefined;
  const decoded = req.headers['x-amz-decoded-content-length'];
  if (decoded !== undefined && /^[0-9]{1,15}$/.test(decoded)) decodedContentLength = Number(decoded);

  return {
    accessKeyId: claim.accessKeyId,
    sessionToken: claim.sessionToken,
    region: claim.region,
    service: claim.service,
    scope: claim.scope,
    amzDate,
    requestTime,
    signingKey,
    seedSignature: claim.signature.toLowerCase(),
    presigned: claim.presigned,
    payloadMode: payload.mode,
    decodedContentLength,
  };
}

/** What a client signs: a request as it will go out. */
export interface RequestToSign {
  method: string;
  /** The path as it will be sent, percent-encoded, without the query. */
  rawPath: string;
  query: URLSearchParams;
  /** Lower-case names; every one is signed. `host` and `x-amz-date` must be among them. */
  headers: Record<string, string>;
  /** The body's SHA-256 in hex (or S3's `UNSIGNED-PAYLOAD`). */
  payloadHash: string;
  service: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The `Authorization` header for a request, as the AWS SDK's signer computes it: the same
 * canonical request, string to sign and signing key that verification recomputes
 * (`x-amz-date` gives the time). The tests hold it to `@smithy/signature-v4`'s own `sign`.
 *
 * @example
 * headers.authorization = sigV4Authorization({ method: 'GET', rawPath: '/bucket/key', query: new URLSearchParams(),
 *   headers: { host, 'x-amz-date': '20261122T050000Z', 'x-amz-content-sha256': EMPTY }, payloadHash: EMPTY,
 *   service: 's3', region: 'us-east-1', accessKeyId, secretAccessKey });
 */
export function sigV4Authorization(req: RequestToSign): string {
  const amzDate = req.headers['x-amz-date'] ?? '';
  const date = amzDate.slice(0, 8);
  const scope = createScope(date, req.region, req.service);
  const signed = Object.keys(req.headers).sort();
  const canonicalRequest = buildCanonicalRequest(req, signed, req.service === 's3', req.payloadHash);
  const signature = createHmac('sha256', deriveSigningKey(req.secretAccessKey, date, req.region, req.service))
    .update(stringToSignOf(amzDate, scope, canonicalRequest), 'utf8')
    .digest('hex');
  return `${ALGORITHM_IDENTIFIER} Credential=${req.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
}

/** The string to sign of SigV4, step 2 of the AWS documentation. */
function stringToSignOf(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM_IDENTIFIER}\n${amzDate}\n${scope}\n${hash('sha256', canonicalRequest, 'hex')}`;
}

/** The canonical request of SigV4, step 1 of the AWS documentation. */
function buildCanonicalRequest(req: Omit<SignedRequest, 'body'>, signedHeaders: readonly string[], s3: boolean, payloadHash: string): string {
  // Clients list them sorted and once each; anything else is put in that order.
  const signed = isSortedSet(signedHeaders) ? signedHeaders : [...new Set(signedHeaders)].sort();
  let headerLines = '';
  // The library's canonical form of a value changes only its spaces, tabs and line breaks:
  // a value without any is itself (most are: hosts, dates, hashes, tokens).
  // Own fields only: a signed name such as `constructor` that was never sent has no value.
  const valueOf = (name: string): string | undefined => (Object.hasOwn(req.headers, name) ? req.headers[name] : undefined);
  if (signed.every((name) => !HEADER_WHITESPACE.test(valueOf(name) ?? ''))) {
    for (const name of signed) headerLines += `${headerLines === '' ? '' : '\n'}${name}:${valueOf(name) ?? ''}`;
  } else {
    const chosen: Record<string, string> = {};
    for (const name of signed) {
      const value = valueOf(name);
      if (value !== undefined) chosen[name] = value;
    }
    // Passing the signed names as "signable" keeps headers the library would never sign
    // (user-agent, expect...) when a client chose to sign them anyway.
    const canonical = getCanonicalHeaders(smithyRequest(req, {}, chosen), undefined, new Set(signed));
    headerLines = signed.map((name) => `${name}:${canonical[name] ?? ''}`).join('\n');
  }
  return [
    req.method.toUpperCase(),
    canonicalPath(req.rawPath, s3),
    req.query.size === 0 ? '' : getCanonicalQuery(smithyRequest(req, queryRecord(req.query), {})),
    headerLines,
    '',
    signed.join(';'),
    payloadHash,
  ].join('\n');
}

type SmithyRequest = Parameters<typeof getCanonicalQuery>[0];

function isSortedSet(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if ((names[i - 1] ?? '') >= (names[i] ?? '')) return false;
  return true;
}

/** The library's helpers take a smithy HttpRequest; only `headers` or `query` is read. */
function smithyRequest(
  req: Omit<SignedRequest, 'body'>,
  query: Record<string, string | string[]>,
  headers: Record<string, string>,
): SmithyRequest {
  return { method: req.method, protocol: 'http:', hostname: '', path: req.rawPath, query, headers };
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  return query;
}

/**
 * S3 signs the path as sent. Other services sign it normalized and URI-encoded once more
 * (so `%20` on the wire is `%2520` in the canonical request), as the JS SDK and botocore do.
 */
function canonicalPath(rawPath: string, s3: boolean): string {
  const path = rawPath === '' ? '/' : rawPath;
  if (s3) return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map(escapeUri).join('/')}${trailing}`;
}

function escapeUri(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

interface PayloadHash {
  /** What goes on the canonical request's last line. */
  hash: string;
  mode: PayloadMode;
  /** True when `hash` was computed from the body here, so it needs no second check. */
  fromBody: boolean;
}

function payloadHashFor(req: SignedRequest, claim: SigV4Claim, s3: boolean): PayloadHash {
  // Presigners hoist the header into the query, as `X-Amz-Content-Sha256` or, with
  // SignatureV4.presign, under its header name.
  const declared = claim.presigned
    ? (req.query.get('X-Amz-Content-Sha256') ??
      req.query.get('x-amz-content-sha256') ??
      (s3 ? UNSIGNED_PAYLOAD : undefined))
    : req.headers['x-amz-content-sha256'];
  if (declared === undefined) {
    if (s3) {
      throw new AwsError({
        code: 'InvalidRequest',
        message: 'Missing required header for this request: x-amz-content-sha256',
        status: 400,
      });
    }
    return { hash: sha256Hex(req.body), mode: 'hashed', fromBody: true };
  }
  if (HEX_SHA256.test(declared)) return { hash: declared, mode: 'hashed', fromBody: false };
  if (s3) {
    if (declared === UNSIGNED_PAYLOAD) return { hash: declared, mode: 'unsigned', fromBody: false };
    const streaming = STREAMING_MODES[declared];
    if (streaming !== undefined && !claim.presigned) return { hash: declared, mode: streaming, fromBody: false };
    throw new AwsError({
      code: 'InvalidArgument',
      message:
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
      status: 400,
      extra: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: declared },
    });
  }
  // JSON and Query services carry their parameters in the body: it must always be signed.
  throw errors.signatureDoesNotMatch();
}

/** S3 refuses `x-amz-*` headers that were sent but left out of the signature. */
function checkS3HeadersSigned(req: SignedRequest, claim: SigV4Claim): void {
  const signed = new Set(claim.signedHeaders);
  const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !signed.has(name));
  if (unsigned.length > 0) {
    throw new AwsError({
      code: 'AccessDenied',
      message: 'There were headers present in the request which were not signed',
      status: 403,
      extra: { HeadersNotSigned: unsigned.join(', ') },
    });
  }
}

function checkSkew(amzDate: string, requestTime: number, opts: VerifyOptions): void {
  if (Math.abs(requestTime - opts.now) <= MAX_SKEW_MS) return;
  if (opts.flavor === 's3') {
    throw new AwsError({
      code: 'RequestTimeTooSkewed',
      message: 'The difference between the request time and the current time is too large.',
      status: 403,
      extra: {
        RequestTime: amzDate,
        ServerTime: new Date(opts.now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      },
    });
  }
  const now = msToBasicIso(opts.now);
  if (requestTime < opts.now) {
    throw errors.signatureDoesNotMatch(
      `Signature expired: ${amzDate} is now earlier than ${msToBasicIso(opts.now - MAX_SKEW_MS)} (${now} - 15 min.)`,
    );
  }
  throw errors.signatureDoesNotMatch(
    `Signature not yet current: ${amzDate} is still later than ${msToBasicIso(opts.now + MAX_SKEW_MS)} (${now} + 15 min.)`,
  );
}

function checkPresignedWindow(claim: SigV4Claim, amzDate: string, requestTime: number, opts: VerifyOptions): void {
  const s3 = opts.flavor === 's3';
  const expires = claim.expires;
  if (expires === undefined) {
    if (s3) throw s3QueryError(PRESIGN_PARAMS_MESSAGE);
    // Non-S3 services treat a presigned request without X-Amz-Expires like a header-signed one.
    checkSkew(amzDate, requestTime, opts);
    return;
  }
  if (expires > MAX_PRESIGNED_TTL) {
    const message = `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_TTL}`;
    throw s3 ? s3QueryError(message) : errors.incompleteSignature(message);
  }
  if (requestTime - MAX_SKEW_MS > opts.now) {
    if (s3) throw errors.accessDenied('Request is not valid yet');
    const now = msToBasicIso(opts.now);
    throw errors.signatureDoesNotMatch(
      `Signature not yet current: ${amzDate} is still later than ${msToBasicIso(opts.now + MAX_SKEW_MS)} (${now} + 15 min.)`,
    );
  }
  if (opts.now > requestTime + expires * 1000) {
    if (s3) {
      throw new AwsError({
        code: 'AccessDenied',
        message: 'Request has expired',
        status: 403,
        extra: {
          'X-Amz-Expires': String(expires),
          Expires: new Date(requestTime + expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          ServerTime: new Date(opts.now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      });
    }
    const window = expires % 60 === 0 ? `${expires / 60} min.` : `${expires} sec.`;
    throw errors.signatureDoesNotMatch(
      `Signature expired: ${amzDate} is now earlier than ${msToBasicIso(opts.now - expires * 1000)} (${msToBasicIso(opts.now)} - ${window})`,
    );
  }
}

function s3QueryError(message: string): AwsError {
  return new AwsError({ code: 'AuthorizationQueryParametersError', message, status: 400 });
}

/**
 * The request time in ISO 8601 basic format. `X-Amz-Date` must already be in it; a `Date`
 * header may also be an HTTP date (botocore sends one when the request has a Date header).
 */
function toBasicIso(claim: SigV4Claim, s3: boolean): string {
  const raw = claim.amzDate ?? '';
  if (/^\d{8}T\d{6}Z$/.test(raw) && !Number.isNaN(basicIsoToMs(raw))) return raw;
  if (!claim.presigned && raw !== '') {
    const parsed = Date.parse(raw);
    if (!Number.isNaN(parsed) && /[A-Za-z]{3},? /.test(raw)) return msToBasicIso(parsed);
  }
  if (s3) {
    if (claim.presigned) {
      throw s3QueryError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
    }
    throw errors.accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  }
  throw errors.incompleteSignature(
    `Date must be in ISO-8601 'basic format'. Got '${raw}'. See http://en.wikipedia.org/wiki/ISO_8601`,
  );
}

// Concurrent requests mostly carry the same second: the last one parsed is kept.
let lastBasic = '';
let lastMs = Number.NaN;

function basicIsoToMs(basic: string): number {
  if (basic === lastBasic) return lastMs;
  const ms = parseBasicIso(basic);
  lastBasic = basic;
  lastMs = ms;
  return ms;
}

function parseBasicIso(basic: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(basic);
  if (m === null) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) {
    return Number.NaN;
  }
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Reject dates Date.UTC would roll over (month 13, day 32...).
  return new Date(ms).getUTCDate() === d && mo >= 1 && mo <= 12 && h < 24 && mi < 60 && s < 60 ? ms : Number.NaN;
}

function msToBasicIso(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function sameSignature(expected: Buffer, provided: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(provided)) return false;
  return timingSafeEqual(expected, Buffer.from(provided, 'hex'));
}

function sha256Hex(data: Buffer): string {
  return data.length === 0 ? EMPTY_SHA256 : hash('sha256', data, 'hex');
}

function hexBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/**
 * The SigV4 signing key: HMAC chain over date, region, service and `aws4_request`.
 * `@smithy/signature-v4`'s `getSigningKey` computes the same but only asynchronously, and
 * verification is synchronous so the request pipeline can stay so; the tests check that
 * both agree.
 */
// Signing keys change once a day per key, region and service; deriving one costs four
// HMACs, so recent ones are kept (bounded, oldest evicted first).
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEY_CACHE_SIZE = 1024;

function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secretAccessKey}\n${date}\n${region}\n${service}`;
  const cached = signingKeys.get(cacheKey);
  if (cached) return cached;
  const derived = computeSigningKey(secretAccessKey, date, region, service);
  if (signingKeys.size >= SIGNING_KEY_CACHE_SIZE) {
    const oldest = signingKeys.keys().next().value;
    if (oldest !== undefined) signingKeys.delete(oldest);
  }
  signingKeys.set(cacheKey, derived);
  return derived;
}

function computeSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`, 'utf8');
  for (const part of [date, region, service, KEY_TYPE_IDENTIFIER]) {
    key = createHmac('sha256', key).update(part, 'utf8').digest();
  }
  return key;
}
