// SigV4 verification against requests that real clients signed: the JS SDK (captured
// before they leave the process), botocore and the AWS CLI.
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloudTrailClient, CreateTrailCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4, getSigningKey } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { AwsError } from '../platform/errors.js';
import { parseSigV4, sigV4Authorization, verifySigV4 } from './sigv4.js';
import type { SigV4Claim, SigV4Flavor, SignedRequest, VerifiedSignature } from './sigv4.js';

const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDK+session=';
const MINUTE = 60_000;

// ---------------------------------------------------------------- helpers

class TestSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  // Not Buffer.from(body): the SDK's JSON body is a Uint8Array subclass whose valueOf() is a string.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Readable) {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(Buffer.from(part as Uint8Array));
    return Buffer.concat(parts);
  }
  throw new Error('unexpected body type');
}

/** The request as the server will see it: path and query exactly as node-http-handler writes them. */
function fromSdk(request: HttpRequest, body: Buffer): SignedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  return {
    method: request.method,
    rawPath: request.path,
    query: new URLSearchParams(buildQueryString(request.query ?? {})),
    headers,
    body,
  };
}

class Captured extends Error {
  constructor(readonly request: SignedRequest) {
    super('captured');
  }
}

/** A request handler that records the signed request and never touches the network. */
const capture = {
  handle: async (request: HttpRequest): Promise<never> => {
    throw new Captured(fromSdk(request, await readBody(request.body)));
  },
  updateHttpClientConfig: (): void => undefined,
  httpHandlerConfigs: () => ({}),
};

async function captured(send: () => Promise<unknown>): Promise<SignedRequest> {
  try {
    await send();
  } catch (e) {
    if (e instanceof Captured) return e.request;
    throw e;
  }
  throw new Error('request was not captured');
}

const clientConfig = (sessionToken?: string) => ({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:1',
  credentials: { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken },
  requestHandler: capture,
  maxAttempts: 1,
});

function claimOf(req: SignedRequest): SigV4Claim {
  const claim = parseSigV4(req);
  if (claim === undefined) throw new Error('request is not signed');
  return claim;
}

function verify(
  req: SignedRequest,
  flavor: SigV4Flavor,
  opts: { secret?: string; now?: number } = {},
): VerifiedSignature {
  return verifySigV4(req, claimOf(req), opts.secret ?? SECRET, { now: opts.now ?? Date.now(), flavor });
}

function awsError(fn: () => unknown): AwsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AwsError) return e;
    throw e;
  }
  throw new Error('expected an AwsError');
}

function withHeader(req: SignedRequest, name: string, value: string): SignedRequest {
  return { ...req, headers: { ...req.headers, [name]: value } };
}

const S3_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
const GENERIC_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

// A request with a fixed date, for tests about time.
async function signedAt(date: Date): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: 'cloudtrail',
    region: 'us-east-1',
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    sha256: TestSha256,
  });
  const body = '{}';
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4777,
      path: '/',
      query: {},
      headers: {
        host: '127.0.0.1:4777',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails',
      },
      body,
    },
    { signingDate: date },
  );
  return fromSdk(signed, Buffer.from(body));
}

// ---------------------------------------------------------------- parseSigV4

describe('parseSigV4', () => {
  const base = { method: 'GET', rawPath: '/', query: new URLSearchParams(), body: Buffer.alloc(0) };

  it('returns undefined for an unsigned request', () => {
    expect(parseSigV4({ ...base, headers: { host: 'x' } })).toBeUndefined();
  });

  it('reads the Authorization header', () => {
    const claim = parseSigV4({
      ...base,
      headers: {
        'x-amz-date': '20261121T101500Z',
        'x-amz-security-token': 'tok',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc',
      },
    });
    expect(claim).toEqual({
      accessKeyId: 'AKID',
      date: '20261121',
      region: 'us-east-1',
      service: 'cloudtrail',
      scope: '20261121/us-east-1/cloudtrail/aws4_request',
      signedHeaders: ['host', 'x-amz-date'],
      signature: 'abc',
      presigned: false,
      sessionToken: 'tok',
      expires: undefined,
      amzDate: '20261121T101500Z',
    });
  });

  it('reads presigned query parameters', () => {
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKID/20261121/eu-west-1/s3/aws4_request',
      'X-Amz-Date': '20261121T101500Z',
      'X-Amz-Expires': '600',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'abc',
      'X-Amz-Security-Token': 'tok',
    });
    const claim = parseSigV4({ ...base, query, headers: {} });
    expect(claim).toMatchObject({ presigned: true, region: 'eu-west-1', service: 's3', expires: 600, sessionToken: 'tok' });
  });

  it('refuses a header missing its parts, in AWS words', () => {
    const err = awsError(() =>
      parseSigV4({ ...base, headers: { authorization: 'AWS4-HMAC-SHA256 SignedHeaders=host' } }),
    );
    expect(err.code).toBe('IncompleteSignature');
    expect(err.status).toBe(403);
    expect(err.message).toBe(
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
        'Authorization=AWS4-HMAC-SHA256 SignedHeaders=host',
    );
  });

  it('refuses a pair without an equal sign, a bad terminator and a non-SigV4 header', () => {
    const missingEq = awsError(() =>
      parseSigV4({
        ...base,
        headers: {
          'x-amz-date': '20261121T101500Z',
          authorization: 'AWS4-HMAC-SHA256 Credential=AKID /20261121/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc',
        },
      }),
    );
    expect(missingEq.code).toBe('IncompleteSignature');
    const terminator = awsError(() =>
      parseSigV4({
        ...base,
        headers: {
          'x-amz-date': '20261121T101500Z',
          authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/sts/aws5, SignedHeaders=host, Signature=abc',
        },
      }),
    );
    expect(terminator.message).toBe("Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5'.");
    const v2 = awsError(() => parseSigV4({ ...base, headers: { date: 'x', authorization: 'AWS AKID:sig' } }));
    expect(v2.code).toBe('IncompleteSignature');
  });

  it('refuses an incomplete presigned query', () => {
    const err = awsError(() =>
      parseSigV4({ ...base, query: new URLSearchParams({ 'X-Amz-Signature': 'abc' }), headers: {} }),
    );
    expect(err.code).toBe('IncompleteSignature');
  });
});

// ---------------------------------------------------------------- JS SDK

describe('verifySigV4 with requests the JS SDK signed', () => {
  it('derives the same signing key as @smithy/signature-v4', async () => {
    const at = Date.parse('2026-11-21T10:15:00Z');
    const v = verify(await signedAt(new Date(at)), 'json', { now: at });
    const expected = await getSigningKey(
      TestSha256,
      { accessKeyId: AKID, secretAccessKey: SECRET },
      '20261121',
      'us-east-1',
      'cloudtrail',
    );
    expect(Buffer.from(v.signingKey).equals(Buffer.from(expected))).toBe(true);
    expect(v).toMatchObject({ amzDate: '20261121T101500Z', requestTime: at, scope: '20261121/us-east-1/cloudtrail/aws4_request' });
  });

  it('accepts CloudTrail (JSON) requests, with and without a session token', async () => {
    const plain = await captured(() =>
      new CloudTrailClient(clientConfig()).send(new CreateTrailCommand({ Name: 'trail', S3BucketName: 'logs' })),
    );
    const v = verify(plain, 'json');
    expect(v).toMatchObject({ accessKeyId: AKID, service: 'cloudtrail', region: 'us-east-1', payloadMode: 'hashed' });
    expect(v.sessionToken).toBeUndefined();

    const withToken = await captured(() =>
      new CloudTrailClient(clientConfig(TOKEN)).send(new LookupEventsCommand({ MaxResults: 5 })),
    );
    expect((verify(withToken, 'json')).sessionToken).toBe(TOKEN);
  });

  it('accepts STS (Query) requests', async () => {
    const sts = new STSClient(clientConfig(TOKEN));
    const gci = await captured(() => sts.send(new GetCallerIdentityCommand({})));
    expect((verify(gci, 'query')).service).toBe('sts');
    const assume = await captured(() =>
      sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 's p+ü' })),
    );
    expect(verify(assume, 'query')).toMatchObject({ payloadMode: 'hashed' });
  });

  it('accepts an S3 PutObject with spaces and unicode in the key, metadata and a session token', async () => {
    const s3 = new S3Client({ ...clientConfig(TOKEN), forcePathStyle: true });
    const req = await captured(() =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'photos/2026 trip/ünïcødé (1)+[x]~.txt',
          Body: 'hello world',
          Metadata: { owner: '  Ann   Lee ', 'camera-model': 'X100' },
        }),
      ),
    );
    expect(req.rawPath).toContain('%20');
    expect(req.headers['x-amz-meta-owner']).toBe('  Ann   Lee ');
    const v = verify(req, 's3');
    expect(v).toMatchObject({ service: 's3', payloadMode: 'hashed', sessionToken: TOKEN, presigned: false });
  });

  it('accepts S3 GET requests with query parameters', async () => {
    const s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
    const list = await captured(() =>
      s3.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'a b/ü&=', Delimiter: '/', MaxKeys: 10 })),
    );
    expect(verify(list, 's3')).toMatchObject({ payloadMode: 'hashed' });
    const get = await captured(() =>
      s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'a/b c', Range: 'bytes=0-9', VersionId: 'v 1' })),
    );
    expect(verify(get, 's3')).toBeDefined();
  });

  it('accepts an S3 presigned URL made with SignatureV4.presign', async () => {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: TOKEN },
      sha256: TestSha256,
      uriEscapePath: false,
    });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4777,
        path: '/bucket/some%20key%20%C3%BC.txt',
        query: { 'x-id': 'GetObject' },
        // As @aws-sdk/s3-request-presigner does: hoisted to X-Amz-Content-Sha256.
        headers: { host: '127.0.0.1:4777', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: 900 },
    );
    const req = fromSdk(presigned, Buffer.alloc(0));
    expect(req.query.get('x-amz-content-sha256')).toBe('UNSIGNED-PAYLOAD');
    const v = verify(req, 's3');
    expect(v).toMatchObject({ presigned: true, payloadMode: 'unsigned', sessionToken: TOKEN });

    const claim = claimOf(req);
    const later = v.requestTime + 901_000;
    const expired = awsError(() => verifySigV4(req, claim, SECRET, { now: later, flavor: 's3' }));
    expect([expired.code, expired.status, expired.message]).toEqual(['AccessDenied', 403, 'Request has expired']);
  });
});

// ---------------------------------------------------------------- botocore and the AWS CLI

interface BotoRequest {
  name: string;
  flavor: SigV4Flavor;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const BOTOCORE_SCRIPT = String.raw`
import base64, io, json
from urllib.parse import quote
from botocore.auth import SigV4Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

creds = Credentials('AKIDBOTO', 'boto/secret+key', 'boto-token')
plain = Credentials('AKIDBOTO', 'boto/secret+key')
base = 'http://127.0.0.1:4777'
out = []

def emit(name, flavor, request):
    p = request.prepare()
    body = p.body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    out.append({'name': name, 'flavor': flavor, 'method': p.method, 'url': p.url,
                'headers': dict(p.headers.items()), 'body': base64.b64encode(body).decode()})

r = AWSRequest('POST', base + '/', data='Action=GetCallerIdentity&Version=2011-06-15',
               headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
SigV4Auth(creds, 'sts', 'us-east-1').add_auth(r)
emit('sts', 'query', r)

r = AWSRequest('POST', base + '/', data=json.dumps({'Name': 'trail', 'S3BucketName': 'logs'}),
               headers={'Content-Type': 'application/x-amz-json-1.1',
                        'X-Amz-Target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail'})
SigV4Auth(plain, 'cloudtrail', 'eu-west-1').add_auth(r)
emit('cloudtrail', 'json', r)

r = AWSRequest('POST', base + '/', data='{}',
               headers={'Date': 'now', 'Content-Type': 'application/x-amz-json-1.1',
                        'X-Amz-Target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails'})
SigV4Auth(plain, 'cloudtrail', 'us-east-1').add_auth(r)
emit('cloudtrail-date-header', 'json', r)

key = 'photos/my file ü+(1)*~.txt'
r = AWSRequest('PUT', base + '/bucket/' + quote(key, safe='/~'), data=b'hello world',
               headers={'x-amz-meta-owner': '  Ann   Lee ', 'Content-Type': 'text/plain'})
S3SigV4Auth(creds, 's3', 'us-east-1').add_auth(r)
emit('s3-put', 's3', r)

r = AWSRequest('PUT', base + '/bucket/unsigned', data=b'payload')
r.context['client_config'] = Config(s3={'payload_signing_enabled': False})
S3SigV4Auth(plain, 's3', 'us-east-1').add_auth(r)
emit('s3-unsigned', 's3', r)

r = AWSRequest('GET', base + '/bucket', params={'list-type': '2', 'prefix': 'a b/ü&=', 'delimiter': '/'})
S3SigV4Auth(plain, 's3', 'us-east-1').add_auth(r)
emit('s3-list', 's3', r)

r = AWSRequest('GET', base + '/bucket/' + quote(key, safe='/~'))
S3SigV4QueryAuth(creds, 's3', 'us-east-1', expires=600).add_auth(r)
emit('s3-presign', 's3', r)

r = AWSRequest('GET', base + '/', params={'Action': 'GetCallerIdentity', 'Version': '2011-06-15'})
SigV4QueryAuth(creds, 'sts', 'us-east-1', expires=900).add_auth(r)
emit('sts-presign', 'query', r)

print(json.dumps(out))
`;

function fromUrl(method: string, url: string, headers: Record<string, string>, body: Buffer): SignedRequest {
  const afterScheme = url.slice(url.indexOf('//') + 2);
  const slash = afterScheme.indexOf('/');
  const host = slash < 0 ? afterScheme : afterScheme.slice(0, slash);
  const target = slash < 0 ? '/' : afterScheme.slice(slash);
  const q = target.indexOf('?');
  const lower: Record<string, string> = { host };
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return {
    method,
    rawPath: q < 0 ? target : target.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers: lower,
    body,
  };
}

describe('verifySigV4 with requests botocore signed', () => {
  const signed = JSON.parse(execFileSync('python3', ['-c', BOTOCORE_SCRIPT], { encoding: 'utf8' })) as BotoRequest[];
  const byName = new Map(signed.map((r) => [r.name, r]));
  const request = (name: string): { req: SignedRequest; flavor: SigV4Flavor } => {
    const r = byName.get(name);
    if (r === undefined) throw new Error(`no ${name}`);
    return { req: fromUrl(r.method, r.url, r.headers, Buffer.from(r.body, 'base64')), flavor: r.flavor };
  };
  const BOTO_SECRET = 'boto/secret+key';

  it.each(['sts', 'cloudtrail', 'cloudtrail-date-header', 's3-put', 's3-unsigned', 's3-list', 's3-presign', 'sts-presign'])(
    'accepts %s',
    async (name) => {
      const { req, flavor } = request(name);
      const v = verify(req, flavor, { secret: BOTO_SECRET });
      expect(v.accessKeyId).toBe('AKIDBOTO');
    },
  );

  it('reads the modes and tokens botocore chose', async () => {
    const unsigned = request('s3-unsigned');
    expect((verify(unsigned.req, 's3', { secret: BOTO_SECRET })).payloadMode).toBe('unsigned');
    const dated = request('cloudtrail-date-header');
    expect(dated.req.headers['x-amz-date']).toBeUndefined();
    expect(dated.req.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} /);
    const presign = request('s3-presign');
    expect(verify(presign.req, 's3', { secret: BOTO_SECRET })).toMatchObject({
      presigned: true,
      sessionToken: 'boto-token',
    });
  });

  it('refuses an expired non-S3 presigned request', async () => {
    const { req } = request('sts-presign');
    const v = verify(req, 'query', { secret: BOTO_SECRET });
    const err = awsError(() => verify(req, 'query', { secret: BOTO_SECRET, now: v.requestTime + 16 * MINUTE }));
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
  });

  it('accepts a URL from `aws s3 presign` configured for SigV4', () => {
    const presign = (config: string): string => {
      const dir = mkdtempSync(join(tmpdir(), 'sigv4-cli-'));
      const configFile = join(dir, 'config');
      writeFileSync(configFile, config);
      try {
        return execFileSync(
          'aws',
          ['s3', 'presign', 's3://bucket/some%20key ü.txt', '--endpoint-url', 'http://127.0.0.1:4777', '--expires-in', '300'],
          {
            encoding: 'utf8',
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: 'AKIDCLI',
              AWS_SECRET_ACCESS_KEY: 'cli-secret',
              AWS_DEFAULT_REGION: 'us-east-1',
              AWS_CONFIG_FILE: configFile,
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
            },
          },
        ).trim();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const req = fromUrl('GET', presign('[default]\ns3 =\n    signature_version = s3v4\n'), {}, Buffer.alloc(0));
    expect(req.rawPath).toBe('/bucket/some%2520key%20%C3%BC.txt');
    const v = verify(req, 's3', { secret: 'cli-secret' });
    expect(v).toMatchObject({ accessKeyId: 'AKIDCLI', presigned: true, payloadMode: 'unsigned' });
    expect(awsError(() => verify(req, 's3', { secret: 'other' })).code).toBe('SignatureDoesNotMatch');

    // Without that setting the CLI (v1) presigns with Signature Version 2, which is not SigV4.
    const v2 = fromUrl('GET', presign('[default]\n'), {}, Buffer.alloc(0));
    expect(v2.query.has('AWSAccessKeyId')).toBe(true);
    expect(parseSigV4(v2)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- refusals

describe('verifySigV4 refusals', () => {
  it('refuses a wrong secret, in each flavor’s words', async () => {
    const ct = await captured(() => new CloudTrailClient(clientConfig()).send(new LookupEventsCommand({})));
    const json = awsError(() => verify(ct, 'json', { secret: 'not-the-secret' }));
    expect([json.code, json.status, json.message]).toEqual(['SignatureDoesNotMatch', 403, GENERIC_MISMATCH]);

    const put = await captured(() =>
      new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
        new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }),
      ),
    );
    const s3 = awsError(() => verify(put, 's3', { secret: 'not-the-secret' }));
    expect([s3.code, s3.status, s3.message]).toEqual(['SignatureDoesNotMatch', 403, S3_MISMATCH]);
    expect(s3.extra.CanonicalRequest).toContain('PUT\n/b/k\n');
  });

  it('refuses a changed signed header, path or query', async () => {
    const ct = await captured(() => new CloudTrailClient(clientConfig()).send(new LookupEventsCommand({})));
    const target = ct.headers['x-amz-target'] ?? '';
    const changed = withHeader(ct, 'x-amz-target', target.replace('LookupEvents', 'DeleteTrail'));
    expect((awsError(() => verify(changed, 'json'))).code).toBe('SignatureDoesNotMatch');

    const put = await captured(() =>
      new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
        new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x', Metadata: { a: '1' } }),
      ),
    );
    expect((awsError(() => verify(withHeader(put, 'x-amz-meta-a', '2'), 's3'))).code).toBe('SignatureDoesNotMatch');
    expect((awsError(() => verify({ ...put, rawPath: '/b/k2' }, 's3'))).code).toBe('SignatureDoesNotMatch');
    const query = new URLSearchParams(put.query);
    query.set('x-id', 'DeleteObject');
    expect((awsError(() => verify({ ...put, query }, 's3'))).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses signed header names that were not sent, Object.prototype members among them', async () => {
    const ct = await captured(() => new CloudTrailClient(clientConfig()).send(new LookupEventsCommand({})));
    for (const name of ['constructor', 'tostring', '__proto__', 'x-amz-missing']) {
      const auth = (ct.headers.authorization ?? '').replace('SignedHeaders=', `SignedHeaders=${name};`);
      const err = awsError(() => verify(withHeader(ct, 'authorization', auth), 'json'));
      expect(err.code).toBe('SignatureDoesNotMatch');
    }
  });

  it('refuses a changed body', async () => {
    const ct = await captured(() =>
      new CloudTrailClient(clientConfig()).send(new CreateTrailCommand({ Name: 'a', S3BucketName: 'b' })),
    );
    const json = awsError(() => verify({ ...ct, body: Buffer.from('{"Name":"evil","S3BucketName":"b"}') }, 'json'));
    expect(json.code).toBe('SignatureDoesNotMatch');

    const put = await captured(() =>
      new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
        new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'original' }),
      ),
    );
    const s3 = awsError(() => verify({ ...put, body: Buffer.from('tampered') }, 's3'));
    expect([s3.code, s3.status, s3.message]).toEqual([
      'XAmzContentSHA256Mismatch',
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ]);
  });

  it('refuses a clock skewed by 16 minutes either way', async () => {
    const at = Date.parse('2026-11-21T10:15:00Z');
    const req = await signedAt(new Date(at));
    expect(verify(req, 'json', { now: at + 14 * MINUTE })).toBeDefined();

    const late = awsError(() => verify(req, 'json', { now: Date.parse('2026-11-21T10:31:00Z') }));
    expect([late.code, late.status, late.message]).toEqual([
      'SignatureDoesNotMatch',
      403,
      'Signature expired: 20261121T101500Z is now earlier than 20261121T101600Z (20261121T103100Z - 15 min.)',
    ]);
    const early = awsError(() => verify(req, 'json', { now: Date.parse('2026-11-21T09:59:00Z') }));
    expect(early.message).toBe(
      'Signature not yet current: 20261121T101500Z is still later than 20261121T101400Z (20261121T095900Z + 15 min.)',
    );
    for (const now of [at + 16 * MINUTE, at - 16 * MINUTE]) {
      const s3 = awsError(() => verify(req, 's3', { now }));
      expect([s3.code, s3.status, s3.message]).toEqual([
        'RequestTimeTooSkewed',
        403,
        'The difference between the request time and the current time is too large.',
      ]);
    }
  });

  it('refuses a credential date that is not the request’s day', async () => {
    const req = await signedAt(new Date('2026-11-21T10:15:00Z'));
    const auth = (req.headers.authorization ?? '').replace('/20261121/', '/20261120/');
    const err = awsError(() => verify(withHeader(req, 'authorization', auth), 'json', { now: Date.parse('2026-11-21T10:15:00Z') }));
    expect(err.message).toBe(
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261120' != '20261121', from '20261121T101500Z'.",
    );
  });

  it('refuses S3 requests without x-amz-content-sha256 or with unsigned x-amz-* headers', async () => {
    const put = await captured(() =>
      new S3Client({ ...clientConfig(), forcePathStyle: true }).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })),
    );
    const rest = Object.fromEntries(Object.entries(put.headers).filter(([name]) => name !== 'x-amz-content-sha256'));
    const missing = awsError(() => verify({ ...put, headers: rest }, 's3'));
    expect([missing.code, missing.message]).toEqual([
      'InvalidRequest',
      'Missing required header for this request: x-amz-content-sha256',
    ]);
    const extra = awsError(() => verify(withHeader(put, 'x-amz-meta-sneaky', '1'), 's3'));
    expect([extra.code, extra.extra.HeadersNotSigned]).toEqual(['AccessDenied', 'x-amz-meta-sneaky']);
  });

  it('refuses UNSIGNED-PAYLOAD outside S3', async () => {
    const ct = await captured(() => new CloudTrailClient(clientConfig()).send(new LookupEventsCommand({})));
    const err = awsError(() => verify(withHeader(ct, 'x-amz-content-sha256', 'UNSIGNED-PAYLOAD'), 'json'));
    expect(err.code).toBe('SignatureDoesNotMatch');
  });

  it('refuses X-Amz-Expires over a week', async () => {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      sha256: TestSha256,
      uriEscapePath: false,
    });
    const presigned = await signer.presign(
      { method: 'GET', protocol: 'http:', hostname: 'h', path: '/b/k', query: {}, headers: { host: 'h' } },
      { expiresIn: 604800 },
    );
    const req = fromSdk(presigned, Buffer.alloc(0));
    req.query.set('X-Amz-Expires', '604801');
    const err = awsError(() => verify(req, 's3'));
    expect([err.code, err.message]).toEqual([
      'AuthorizationQueryParametersError',
      'X-Amz-Expires must be less than a week (in seconds) that is 604800',
    ]);
  });
});

// ---------------------------------------------------------------- sigV4Authorization

describe('sigV4Authorization signs as @smithy/signature-v4 does', () => {
  const date = new Date('2026-11-22T05:06:07Z');
  const cases: { name: string; service: string; method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: string; token?: string }[] = [
    { name: 'an S3 GET of a plain key', service: 's3', method: 'GET', path: '/bucket/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/22/a.json.gz', query: {}, headers: {}, body: '' },
    {
      name: 'an S3 GET of a key with spaces, unicode and reserved characters',
      service: 's3',
      method: 'GET',
      path: `/bucket/${['odd', "with space+plus=eq&(x)!*~'", 'ünïcödé'].map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')}`,
      query: {},
      headers: {},
      body: '',
    },
    {
      name: 'an S3 listing with a query, and a session token',
      service: 's3',
      method: 'GET',
      path: '/bucket',
      query: { 'list-type': '2', prefix: 'AWSLogs/1/CloudTrail-Digest/', 'start-after': 'a b/c+d=e&f', 'continuation-token': 'x/y==' },
      headers: {},
      body: '',
      token: TOKEN,
    },
    {
      name: 'a CloudTrail JSON call with a body',
      service: 'cloudtrail',
      method: 'POST',
      path: '/',
      query: {},
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys' },
      body: '{"StartTime":1700000000}',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const host = '127.0.0.1:4777';
      const payloadHash = createHash('sha256').update(c.body).digest('hex');
      const headers: Record<string, string> = { ...c.headers, host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': '20261122T050607Z' };
      if (c.token !== undefined) headers['x-amz-security-token'] = c.token;
      const credentials = { accessKeyId: AKID, secretAccessKey: SECRET, ...(c.token !== undefined ? { sessionToken: c.token } : {}) };
      const signer = new SignatureV4({ service: c.service, region: 'eu-west-1', credentials, sha256: TestSha256, uriEscapePath: c.service !== 's3' });
      const bySmithy = await signer.sign(
        { method: c.method, protocol: 'http:', hostname: '127.0.0.1', port: 4777, path: c.path, query: c.query, headers: { ...headers }, body: c.body },
        { signingDate: date },
      );
      const ours = sigV4Authorization({
        method: c.method,
        rawPath: c.path,
        query: new URLSearchParams(c.query),
        headers,
        payloadHash,
        service: c.service,
        region: 'eu-west-1',
        accessKeyId: AKID,
        secretAccessKey: SECRET,
      });
      expect(ours).toBe(bySmithy.headers.authorization);
      // And the verifier takes it.
      const req: SignedRequest = { method: c.method, rawPath: c.path, query: new URLSearchParams(c.query), headers: { ...headers, authorization: ours }, body: Buffer.from(c.body) };
      expect(verify(req, c.service === 's3' ? 's3' : 'json', { now: date.getTime() }).accessKeyId).toBe(AKID);
    });
  }
});
