/**
 * Where the validator reads digests and log files from: an S3-compatible endpoint over
 * signed keep-alive HTTP (signed-http.ts), any S3 endpoint through the AWS SDK (for what
 * only the SDK resolves: profiles, SSO, AWS's own endpoints and redirects), or a local
 * folder holding the `AWSLogs/` tree copied out of a bucket. A local copy has no S3 object
 * metadata, so digests read from it carry no signature of their own (see validator.ts for
 * how that is handled).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { errorOf, parseXml, uriEncode, xmlChild, xmlChildren, xmlText, type SignedHttp } from './signed-http.js';

/** An object as read: its bytes and its user metadata (`x-amz-meta-*`, names without the prefix). */
export interface SourceObject {
  body: Buffer;
  metadata: Record<string, string>;
}

/** A read-only view of buckets. */
export interface ObjectSource {
  /** True when objects come without their S3 metadata (a local copy). */
  readonly offline: boolean;
  /** Keys under `prefix` after `startAfter`, in ascending order. */
  list(bucket: string, prefix: string, startAfter?: string): Promise<string[]>;
  /** The object, or undefined when there is none (S3's NoSuchKey). */
  get(bucket: string, key: string): Promise<SourceObject | undefined>;
  /** Lets go of its connections (a no-op where there are none). */
  close?(): void;
}

/**
 * Objects through an S3 client of the AWS SDK.
 *
 * @example
 * const source = s3Source(new S3Client({ forcePathStyle: true }));
 */
export function s3Source(client: S3Client): ObjectSource {
  // The caller built the client, so the SDK is loaded already; importing it here at first
  // use keeps it off the start-up path of every other source.
  const sdk = (): Promise<typeof import('@aws-sdk/client-s3')> => import('@aws-sdk/client-s3');
  return {
    offline: false,
    async list(bucket, prefix, startAfter) {
      const { ListObjectsV2Command } = await sdk();
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token !== undefined ? { ContinuationToken: token } : startAfter !== undefined ? { StartAfter: startAfter } : {}),
          }),
        );
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    async get(bucket, key) {
      const { GetObjectCommand } = await sdk();
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
        return { body, metadata: out.Metadata ?? {} };
      } catch (e) {
        const name = (e as { name?: unknown }).name;
        if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
        throw e;
      }
    },
    close() {
      client.destroy();
    },
  };
}

/** A key that percent-encoding leaves as it is (CloudTrail's keys are). */
const SAFE_PATH = /^[A-Za-z0-9._~/-]*$/;

/**
 * Objects through plain signed HTTP: path-style requests to an S3-compatible endpoint
 * (Cairn, MinIO, ...), many at once over keep-alive connections. Answers as {@link s3Source}
 * does, with the SDK's error names and messages.
 *
 * @example
 * const source = httpS3Source(signedHttp({ endpoint, credentials, clock: systemClock, connections: 64, maxAttempts: 3 }), 'us-east-1');
 */
export function httpS3Source(http: SignedHttp, region: string): ObjectSource {
  const objectPath = (bucket: string, key: string): string => `/${uriEncode(bucket)}/${SAFE_PATH.test(key) ? key : key.split('/').map(uriEncode).join('/')}`;
  return {
    offline: false,
    async list(bucket, prefix, startAfter) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const query: Record<string, string> = { 'list-type': '2', prefix };
        if (token !== undefined) query['continuation-token'] = token;
        else if (startAfter !== undefined) query['start-after'] = startAfter;
        const reply = await http.send({ method: 'GET', path: `/${uriEncode(bucket)}`, query, service: 's3', region });
        if (reply.status !== 200) throw errorOf(reply);
        const root = parseXml(reply.body.toString('utf8'));
        const result = root?.tagName === 'ListBucketResult' ? root : undefined;
        for (const entry of xmlChildren(result, 'Contents')) {
          const key = xmlText(xmlChild(entry, 'Key'));
          if (key !== undefined) keys.push(key);
        }
        token = xmlText(xmlChild(result, 'IsTruncated')) === 'true' ? xmlText(xmlChild(result, 'NextContinuationToken')) : undefined;
      } while (token !== undefined);
      return keys;
    },
    async get(bucket, key) {
      const reply = await http.send({ method: 'GET', path: objectPath(bucket, key), service: 's3', region });
      if (reply.status !== 200) {
        const error = errorOf(reply);
        if (error.name === 'NoSuchKey' || error.name === 'NotFound') return undefined;
        throw error;
      }
      const metadata: Record<string, string> = {};
      for (const name in reply.headers) if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = reply.headers[name] ?? '';
      return { body: reply.body, metadata };
    },
    close() {
      http.close();
    },
  };
}

/**
 * Objects from a local folder: `DIR/KEY` for every bucket (a copy of one bucket's
 * `AWSLogs/` tree, or of everything under the trail's prefix: a key whose prefix the
 * folder lacks is also looked for without it).
 *
 * @example
 * const source = localSource('/backups/trail-logs', 'my-prefix');
 */
export function localSource(dir: string, s3KeyPrefix?: string): ObjectSource {
  let all: Promise<string[]> | undefined;
  const strip = s3KeyPrefix !== undefined && s3KeyPrefix !== '' ? `${s3KeyPrefix}/` : undefined;
  const keysOnDisk = (): Promise<string[]> => {
    all ??= (async () => {
      const out: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const entry of await readdir(d, { withFileTypes: true })) {
          const path = join(d, entry.name);
          if (entry.isDirectory()) await walk(path);
          else if (entry.isFile()) out.push(relative(dir, path).split(sep).join('/'));
        }
      };
      await walk(dir);
      // With the prefix stripped on disk, keys are listed as S3 names them.
      const named = strip !== undefined ? out.map((k) => (k.startsWith('AWSLogs/') ? strip + k : k)) : out;
      return named.sort();
    })();
    return all;
  };
  return {
    offline: true,
    async list(_bucket, prefix, startAfter) {
      return (await keysOnDisk()).filter((k) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter));
    },
    async get(_bucket, key) {
      const candidates = [key];
      if (strip !== undefined && key.startsWith(strip)) candidates.push(key.slice(strip.length));
      for (const candidate of candidates) {
        try {
          return { body: await readFile(join(dir, ...candidate.split('/'))), metadata: {} };
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'ENOTDIR') throw e;
        }
      }
      return undefined;
    },
  };
}
