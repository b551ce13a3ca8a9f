/**
 * S3's two addressing styles. Path style names the bucket in the path
 * (`host/bucket/key`); virtual-hosted style names it in the host (`bucket.host/key`).
 * The pipeline turns the second into the first after the signature is verified (the
 * signature covers the path as sent) and before the operation is routed.
 */
import type { WireRequest } from '../../wire/protocol.js';

/** Host names under which `<bucket>.<name>` is always a virtual-hosted request. */
const BUILT_IN_HOSTS = ['s3.localhost', 'localhost'];

/** `bucket.s3.amazonaws.com`, `bucket.s3.us-west-2.amazonaws.com`, `bucket.s3-us-west-2.amazonaws.com`. */
const AWS_STYLE = /^(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/;

function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The bucket a Host header names, if it is a virtual-hosted-style host. */
export function bucketFromHost(hostHeader: string | undefined, serverHosts: readonly string[]): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostName(hostHeader);
  if (host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
  const bases = [...serverHosts.map((h) => hostName(h)), ...BUILT_IN_HOSTS]
    .filter((h) => h !== '' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(h))
    .sort((a, b) => b.length - a.length);
  for (const base of bases) {
    if (host === base || host === `s3.${base}`) return undefined;
    for (const suffix of [`.s3.${base}`, `.${base}`]) {
      if (host.endsWith(suffix) && host.length > suffix.length) return host.slice(0, -suffix.length);
    }
  }
  return AWS_STYLE.exec(host)?.[1];
}

/**
 * The path-style form of a request: unchanged when the Host header names no bucket,
 * otherwise the bucket moved from the host into the path.
 *
 * @example
 * toPathStyle({ ...req, rawPath: '/a/b.txt', headers: { host: 'logs.localhost:4777' } }, ['127.0.0.1']).rawPath; // '/logs/a/b.txt'
 */
export function toPathStyle(req: WireRequest, serverHosts: readonly string[]): WireRequest {
  const bucket = bucketFromHost(req.headers.host, serverHosts);
  if (bucket === undefined) return req;
  const rest = req.rawPath === '/' || req.rawPath === '' ? '' : req.rawPath;
  return { ...req, rawPath: `/${encodeURIComponent(bucket)}${rest}` };
}
