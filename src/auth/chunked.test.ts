// aws-chunked decoding: the signed variant built as the AWS documentation describes (chunk
// signatures from SignatureV4's string signer), the signed-trailer variant, and the
// unsigned-trailer bodies the JS SDK and botocore really send.
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { AwsError } from '../platform/errors.js';
import { decodeAwsChunked } from './chunked.js';
import { parseSigV4, verifySigV4 } from './sigv4.js';
import type { SignedRequest, VerifiedSignature } from './sigv4.js';

// The example credentials and time of the AWS documentation's chunked upload example.
const DOC_AKID = 'AKIAIOSFODNN7EXAMPLE';
const DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DOC_DATE = new Date('2013-05-24T00:00:00Z');
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

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

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

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

function verified(req: SignedRequest, secret: string, now: number): VerifiedSignature {
  const claim = parseSigV4(req);
  if (claim === undefined) throw new Error('request is not signed');
  return verifySigV4(req, claim, secret, { now, flavor: 's3' });
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

interface SignedUpload {
  req: SignedRequest;
  seed: string;
  chunkSignatures: string[];
}

/**
 * A chunked upload signed as the AWS documentation describes: the request signed with
 * `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, each chunk's
 * signature over the previous one, computed with SignatureV4's string signer.
 */
async function signedUpload(opts: {
  payload: Buffer;
  chunkSize: number;
  trailer?: { name: string; value: string };
  declaredLength?: number;
}): Promise<SignedUpload> {
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: DOC_AKID, secretAccessKey: DOC_SECRET },
    sha256: TestSha256,
    uriEscapePath: false,
  });
  const signing = { signingDate: DOC_DATE, signingRegion: 'us-east-1', signingService: 's3' };
  const chunks: Buffer[] = [];
  for (let i = 0; i < opts.payload.length; i += opts.chunkSize) chunks.push(opts.payload.subarray(i, i + opts.chunkSize));
  chunks.push(Buffer.alloc(0));

  const sigLength = (size: number): number => size.toString(16).length + ';chunk-signature='.length + 64 + 4 + size;
  const trailerLines = opts.trailer ? `${opts.trailer.name}:${opts.trailer.value}\r\nx-amz-trailer-signature:${'0'.repeat(64)}\r\n` : '';
  // With a trailer the final chunk's empty data loses its CRLF and the trailer's blank line takes its place.
  const contentLength = chunks.reduce((n, c) => n + sigLength(c.length), 0) + trailerLines.length;

  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': opts.trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(opts.declaredLength ?? opts.payload.length),
    'content-length': String(contentLength),
  };
  if (opts.trailer) headers['x-amz-trailer'] = opts.trailer.name;
  const signed = await signer.sign(
    { method: 'PUT', protocol: 'https:', hostname: 's3.amazonaws.com', path: '/examplebucket/chunkObject.txt', query: {}, headers },
    { signingDate: DOC_DATE },
  );
  const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1] ?? '';

  const scope = '20130524/us-east-1/s3/aws4_request';
  const parts: Buffer[] = [];
  const chunkSignatures: string[] = [];
  let previous = seed;
  for (const chunk of chunks) {
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', '20130524T000000Z', scope, previous, EMPTY_SHA256, sha256(chunk)].join('\n');
    previous = await signer.sign(stringToSign, signing);
    chunkSignatures.push(previous);
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`));
    if (chunk.length > 0 || !opts.trailer) parts.push(chunk, Buffer.from('\r\n'));
  }
  if (opts.trailer) {
    const canonical = `${opts.trailer.name}:${opts.trailer.value}\n`;
    const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', '20130524T000000Z', scope, previous, sha256(canonical)].join('\n');
    const trailerSignature = await signer.sign(stringToSign, signing);
    parts.push(Buffer.from(`${opts.trailer.name}:${opts.trailer.value}\r\nx-amz-trailer-signature:${trailerSignature}\r\n\r\n`));
  }
  const body = Buffer.concat(parts);
  expect(body.length).toBe(contentLength);
  return { req: fromSdk(signed, body), seed, chunkSignatures };
}

const NOW = DOC_DATE.getTime();

describe('decodeAwsChunked, signed chunks', () => {
  it('reproduces and accepts the AWS documentation example (65 KB of "a" in 64 KB chunks)', async () => {
    const payload = Buffer.alloc(65 * 1024, 'a');
    const upload = await signedUpload({ payload, chunkSize: 64 * 1024 });
    // The signatures the AWS documentation prints for this example.
    expect(upload.seed).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    expect(upload.chunkSignatures).toEqual([
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]);
    expect(upload.req.headers['content-length']).toBe('66824');

    const v = verified(upload.req, DOC_SECRET, NOW);
    expect(v.payloadMode).toBe('streaming-signed');
    const decoded = decodeAwsChunked(upload.req.body, v);
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(decoded.trailers).toEqual({});
  });

  it('refuses one flipped byte, a bad chunk signature and swapped chunks', async () => {
    const payload = Buffer.from('x'.repeat(10_000) + 'y'.repeat(10_000));
    const { req } = await signedUpload({ payload, chunkSize: 10_000 });
    const v = verified(req, DOC_SECRET, NOW);
    expect(decodeAwsChunked(req.body, v).payload.equals(payload)).toBe(true);

    const flipped = Buffer.from(req.body);
    const at = flipped.indexOf('y');
    flipped[at] = 'z'.charCodeAt(0);
    const err = awsError(() => decodeAwsChunked(flipped, v));
    expect([err.code, err.status]).toEqual(['SignatureDoesNotMatch', 403]);

    const text = req.body.toString('latin1');
    const badSig = text.replace(/chunk-signature=([0-9a-f])/, (_m, c: string) => `chunk-signature=${c === '0' ? '1' : '0'}`);
    expect(awsError(() => decodeAwsChunked(Buffer.from(badSig, 'latin1'), v)).code).toBe('SignatureDoesNotMatch');

    const frames = text.split(/(?<=\r\n)(?=[0-9a-f]+;chunk-signature=)/);
    expect(frames).toHaveLength(3);
    const swapped = [frames[1], frames[0], ...frames.slice(2)].join('');
    expect(awsError(() => decodeAwsChunked(Buffer.from(swapped, 'latin1'), v)).code).toBe('SignatureDoesNotMatch');
  });

  it('refuses truncated framing and a length other than x-amz-decoded-content-length', async () => {
    const payload = Buffer.alloc(9000, 'q');
    const { req } = await signedUpload({ payload, chunkSize: 8192 });
    const v = verified(req, DOC_SECRET, NOW);
    for (const cut of [1, 10, 90, req.body.length - 20]) {
      const err = awsError(() => decodeAwsChunked(req.body.subarray(0, req.body.length - cut), v));
      expect(err.code).toBe('IncompleteBody');
      expect(err.status).toBe(400);
    }
    const extra = Buffer.concat([req.body, Buffer.from('junk')]);
    expect(awsError(() => decodeAwsChunked(extra, v)).code).toBe('InvalidRequest');

    const lying = await signedUpload({ payload, chunkSize: 8192, declaredLength: 9001 });
    const lv = verified(lying.req, DOC_SECRET, NOW);
    expect(awsError(() => decodeAwsChunked(lying.req.body, lv)).code).toBe('IncompleteBody');

    const garbled = Buffer.from(req.body.toString('latin1').replace(/^2000;/, '2g00;'), 'latin1');
    expect(awsError(() => decodeAwsChunked(garbled, v)).code).toBe('InvalidRequest');
  });

  it('accepts and checks a signed trailer', async () => {
    const payload = Buffer.from('hello trailer world');
    const checksum = 'AAAAAA==';
    const { req } = await signedUpload({ payload, chunkSize: 8, trailer: { name: 'x-amz-checksum-crc32c', value: checksum } });
    const v = verified(req, DOC_SECRET, NOW);
    expect(v.payloadMode).toBe('streaming-signed-trailer');
    const decoded = decodeAwsChunked(req.body, v);
    expect(decoded.payload.toString()).toBe('hello trailer world');
    expect(decoded.trailers).toEqual({ 'x-amz-checksum-crc32c': checksum });

    const tampered = Buffer.from(req.body.toString('latin1').replace(checksum, 'BBBBBB=='), 'latin1');
    expect(awsError(() => decodeAwsChunked(tampered, v)).code).toBe('SignatureDoesNotMatch');
    const unsignedTrailer = Buffer.from(req.body.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1');
    expect(awsError(() => decodeAwsChunked(unsignedTrailer, v)).code).toBe('SignatureDoesNotMatch');
  });

  it('derives the chunk chain from the verified request, not from the body', async () => {
    const { req } = await signedUpload({ payload: Buffer.from('abc'), chunkSize: 8192 });
    const v = verified(req, DOC_SECRET, NOW);
    expect(awsError(() => decodeAwsChunked(req.body, { ...v, seedSignature: '0'.repeat(64) })).code).toBe(
      'SignatureDoesNotMatch',
    );
    expect(awsError(() => decodeAwsChunked(req.body, { ...v, payloadMode: 'hashed' })).code).toBe('InvalidRequest');
  });
});

// ---------------------------------------------------------------- unsigned trailers from real clients

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
}

async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Readable) {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(Buffer.from(part as Uint8Array));
    return Buffer.concat(parts);
  }
  throw new Error('unexpected body type');
}

class Captured extends Error {
  constructor(readonly request: SignedRequest) {
    super('captured');
  }
}

const BOTOCORE_SCRIPT = String.raw`
import base64, io, json
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

data = b'botocore streams this body in small chunks'
body = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum,
                         checksum_name='x-amz-checksum-crc32', chunk_size=16).read()
r = AWSRequest('PUT', 'http://127.0.0.1:4777/bucket/streamed', data=body, headers={
    'Content-Encoding': 'aws-chunked', 'X-Amz-Trailer': 'x-amz-checksum-crc32',
    'X-Amz-Decoded-Content-Length': str(len(data))})
r.context['checksum'] = {'request_algorithm': {'in': 'trailer', 'name': 'x-amz-checksum-crc32', 'algorithm': 'crc32'}}
S3SigV4Auth(Credentials('AKIDBOTO', 'boto-secret'), 's3', 'us-east-1').add_auth(r)
p = r.prepare()
print(json.dumps({'path': '/bucket/streamed', 'headers': dict(p.headers.items()),
                  'body': base64.b64encode(p.body).decode(), 'data': data.decode()}))
`;

describe('decodeAwsChunked, unsigned trailers from real clients', () => {
  it('decodes the JS SDK’s streaming PutObject with a CRC32 trailer', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDJS', secretAccessKey: 'js-secret' },
      maxAttempts: 1,
      logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      requestHandler: {
        handle: async (request: HttpRequest): Promise<never> => {
          throw new Captured(fromSdk(request, await readBody(request.body)));
        },
        updateHttpClientConfig: (): void => undefined,
        httpHandlerConfigs: () => ({}),
      },
    });
    const parts = [Buffer.from('first part, '), Buffer.from('second part, '), Buffer.from('ünïcødé end')];
    const payload = Buffer.concat(parts);
    let req: SignedRequest | undefined;
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: 'bucket', Key: 'streamed key', Body: Readable.from(parts), ContentLength: payload.length }),
      );
    } catch (e) {
      if (!(e instanceof Captured)) throw e;
      req = e.request;
    }
    if (req === undefined) throw new Error('not captured');
    expect(req.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(req.headers['content-encoding']).toBe('aws-chunked');

    const v = verified(req, 'js-secret', Date.now());
    expect(v.payloadMode).toBe('streaming-unsigned-trailer');
    const decoded = decodeAwsChunked(req.body, v);
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(decoded.trailers).toEqual({ 'x-amz-checksum-crc32': crc32Base64(payload) });

    // Unsigned chunks are protected by the trailer checksum (checked by the caller), but
    // framing is still checked here.
    expect(awsError(() => decodeAwsChunked(req.body.subarray(0, req.body.length - 3), v)).code).toBe('IncompleteBody');
    const withSignature = Buffer.from(req.body.toString('latin1').replace(/^([0-9a-f]+)\r\n/, `$1;chunk-signature=${'0'.repeat(64)}\r\n`), 'latin1');
    expect(awsError(() => decodeAwsChunked(withSignature, v)).code).toBe('InvalidRequest');
  });

  it('decodes botocore’s aws-chunked body', () => {
    const out = JSON.parse(execFileSync('python3', ['-c', BOTOCORE_SCRIPT], { encoding: 'utf8' })) as {
      path: string;
      headers: Record<string, string>;
      body: string;
      data: string;
    };
    const headers: Record<string, string> = { host: '127.0.0.1:4777' };
    for (const [name, value] of Object.entries(out.headers)) headers[name.toLowerCase()] = value;
    const req: SignedRequest = {
      method: 'PUT',
      rawPath: out.path,
      query: new URLSearchParams(),
      headers,
      body: Buffer.from(out.body, 'base64'),
    };
    const v = verified(req, 'boto-secret', Date.now());
    expect(v.payloadMode).toBe('streaming-unsigned-trailer');
    const decoded = decodeAwsChunked(req.body, v);
    expect(decoded.payload.toString()).toBe(out.data);
    expect(decoded.trailers['x-amz-checksum-crc32']).toBe(crc32Base64(Buffer.from(out.data)));
  });
});
