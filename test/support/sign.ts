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
