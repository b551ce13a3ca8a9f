/**
 * Test support: requests signed by AWS's own SigV4 implementation (@smithy/signature-v4,
 * the signer inside the JS SDK), for the cases no SDK call produces on its own:
 * malformed bodies, replays, skewed clocks, hand-made chunked uploads.
 */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credentials } from './cairn.js';

export interface RawRequest {
  service: string;
  region?: string;
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sign as of this time instead of now. */
  signingDate?: Date;
}

export interface SignedRaw {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export function signer(creds: Credentials, service: string, region = 'us-east-1'): SignatureV4 {
  return new SignatureV4({
    service,
    region,
    credentials: creds,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: service !== 's3',
  });
}

export async function signRequest(endpoint: string, creds: Credentials, r: RawRequest): Promise<SignedRaw> {
  const url = new URL(endpoint);
  const request = new HttpRequest({
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    method: r.method ?? 'POST',
    path: r.path ?? '/',
    query: r.query ?? {},
    headers: { host: url.host, ...(r.headers ?? {}) },
    body: r.body,
  });
  const signed = await signer(creds, r.service, r.region).sign(request, r.signingDate ? { signingDate: r.signingDate } : {});
  const qs = new URLSearchParams(r.query ?? {}).toString();
  return {
    url: `${endpoint}${r.path ?? '/'}${qs ? `?${qs}` : ''}`,
    method: signed.method,
    headers: signed.headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
  };
}

/** Sends a signed request with fetch; returns status, headers and body text. */
export async function send(s: SignedRaw): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = { ...s.headers };
  delete headers.host;
  const res = await fetch(s.url, { method: s.method, headers, ...(s.body !== undefined ? { body: s.body } : {}) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Signs and sends an AWS JSON 1.1 call (`X-Amz-Target: <prefix>.<operation>`). */
export async function jsonCall(
  endpoint: string,
  creds: Credentials,
  service: string,
  target: string,
  body: string | Buffer,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  return send(
    await signRequest(endpoint, creds, {
      service,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, ...extraHeaders },
      body,
    }),
  );
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * An S3 PutObject whose body is sent as signed chunks (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`),
 * as the AWS documentation describes: the headers signed by SignatureV4, each chunk's
 * signature computed with its string signer over the previous signature.
 */
export async function chunkedSignedPut(
  endpoint: string,
  creds: Credentials,
  path: string,
  payload: Buffer,
  chunkSize: number,
): Promise<SignedRaw> {
  const url = new URL(endpoint);
  const now = new Date();
  const chunks: Buffer[] = [];
  for (let i = 0; i < payload.length; i += chunkSize) chunks.push(payload.subarray(i, i + chunkSize));
  chunks.push(Buffer.alloc(0));
  const framed = (size: number): number => size.toString(16).length + ';chunk-signature='.length + 64 + 4 + size;
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(payload.length),
    'content-length': String(chunks.reduce((n, c) => n + framed(c.length), 0)),
  };
  const s3 = signer(creds, 's3');
  const signed = await s3.sign(
    new HttpRequest({ method: 'PUT', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path, headers }),
    { signingDate: now },
  );
  let previous = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1] ?? '';
  const amzDate = signed.headers['x-amz-date'] ?? '';
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    const hash = new Hash('sha256');
    hash.update(chunk);
    const chunkHash = Buffer.from(await hash.digest()).toString('hex');
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_SHA256, chunkHash].join('\n');
    previous = await s3.sign(stringToSign, { signingDate: now, signingRegion: 'us-east-1', signingService: 's3' });
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), chunk, Buffer.from('\r\n'));
  }
  return { url: `${endpoint}${path}`, method: 'PUT', headers: signed.headers, body: Buffer.concat(parts) };
}
