/**
 * The conformance suite every {@link ObjectStore} backend passes: the embedded store
 * (embedded.test.ts) and adapters for external S3-compatible endpoints. It checks the
 * behaviour Cairn relies on through the narrow interface only, with S3's error codes.
 *
 * Buckets get unique names per run, so the suite can share an external endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOf } from './checksums.js';
import type { ObjectStore } from './store.js';

export interface ConformanceTarget {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Resolves with the error code the promise rejects with (fails when it resolves). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const code = (e as { code?: unknown; name?: unknown }).code ?? (e as { name?: unknown }).name;
    return typeof code === 'string' ? code : String(e);
  }
  throw new Error('expected the call to fail');
}

const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/**
 * Registers the suite's vitest tests for a backend.
 *
 * @example
 * objectStoreConformance('embedded', async () => {
 *   const dir = mkdtempSync(join(tmpdir(), 'os-'));
 *   const store = await EmbeddedObjectStore.open({ dir, clock: systemClock, random: cryptoRandom });
 *   return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true }); } };
 * });
 */
export function objectStoreConformance(name: string, makeStore: () => Promise<ConformanceTarget>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let store: ObjectStore;
    const run = randomBytes(4).toString('hex');
    let n = 0;
    const created: string[] = [];
    const newBucket = async (): Promise<string> => {
      const bucket = `conf-${run}-${++n}`;
      await store.createBucket(bucket);
      created.push(bucket);
      return bucket;
    };

    beforeAll(async () => {
      target = await makeStore();
      store = target.store;
    });
    afterAll(async () => {
      // Leave an external endpoint as we found it.
      for (const bucket of created) {
        try {
          for (;;) {
            const page = await store.listObjectsV2(bucket);
            for (const o of page.objects) await store.deleteObject(bucket, o.key);
            if (!page.isTruncated) break;
          }
          await store.deleteBucket(bucket);
        } catch {
          // Best effort.
        }
      }
      await target.cleanup();
    });

    describe('buckets', () => {
      it('creates, finds, lists and deletes a bucket', async () => {
        const bucket = await newBucket();
        expect((await store.headBucket(bucket))?.name).toBe(bucket);
        expect((await store.listBuckets()).map((b) => b.name)).toContain(bucket);
        await store.deleteBucket(bucket);
        expect(await store.headBucket(bucket)).toBeUndefined();
      });

      it('refuses a name already taken, an invalid name, and deleting a bucket that is not empty', async () => {
        const bucket = await newBucket();
        expect(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists']).toContain(await codeOf(store.createBucket(bucket)));
        expect(await codeOf(store.createBucket('Not_A_Bucket'))).toBe('InvalidBucketName');
        await store.putObject(bucket, 'k', Buffer.from('x'));
        expect(await codeOf(store.deleteBucket(bucket))).toBe('BucketNotEmpty');
      });

      it('answers NoSuchBucket for a bucket that does not exist', async () => {
        const missing = `conf-${run}-missing`;
        expect(await codeOf(store.putObject(missing, 'k', Buffer.from('x')))).toBe('NoSuchBucket');
        expect(await codeOf(store.getObject(missing, 'k'))).toBe('NoSuchBucket');
        expect(await codeOf(store.listObjectsV2(missing))).toBe('NoSuchBucket');
        expect(await codeOf(store.deleteBucket(missing))).toBe('NoSuchBucket');
      });
    });

    describe('objects', () => {
      let bucket: string;
      beforeAll(async () => {
        bucket = await newBucket();
      });

      it('stores and returns bytes, metadata and headers, with the MD5 as ETag', async () => {
        const body = Buffer.from('{"Records":[]}');
        const put = await store.putObject(bucket, 'AWSLogs/1/file.json', body, {
          metadata: { trail: 'main' },
          headers: { contentType: 'application/json', contentEncoding: 'gzip' },
        });
        expect(put.etag).toBe(`"${md5Hex(body)}"`);
        const got = await store.getObject(bucket, 'AWSLogs/1/file.json');
        expect(got.body.equals(body)).toBe(true);
        expect(got.info).toMatchObject({
          key: 'AWSLogs/1/file.json',
          size: body.length,
          etag: put.etag,
          metadata: { trail: 'main' },
          headers: { contentType: 'application/json', contentEncoding: 'gzip' },
        });
        const head = await store.headObject(bucket, 'AWSLogs/1/file.json');
        expect(head.size).toBe(body.length);
        expect(head.lastModified).toBeGreaterThan(0);
      });

      it('accepts a streamed body', async () => {
        const chunks = [randomBytes(70_000), randomBytes(1), randomBytes(130_000)];
        const put = await store.putObject(bucket, 'streamed', Readable.from(chunks));
        const whole = Buffer.concat(chunks);
        expect(put.etag).toBe(`"${md5Hex(whole)}"`);
        expect((await store.getObject(bucket, 'streamed')).body.equals(whole)).toBe(true);
      });

      it('overwrites a key', async () => {
        await store.putObject(bucket, 'over', Buffer.from('one'));
        await store.putObject(bucket, 'over', Buffer.from('two'));
        expect((await store.getObject(bucket, 'over')).body.toString()).toBe('two');
      });

      it('reads byte ranges and refuses unsatisfiable ones', async () => {
        await store.putObject(bucket, 'range', Buffer.from('0123456789'));
        const mid = await store.getObject(bucket, 'range', { range: { start: 2, end: 5 } });
        expect(mid.body.toString()).toBe('2345');
        expect(mid.range).toEqual({ start: 2, end: 5 });
        expect((await store.getObject(bucket, 'range', { range: { start: 7 } })).body.toString()).toBe('789');
        expect((await store.getObject(bucket, 'range', { range: { suffix: 3 } })).body.toString()).toBe('789');
        expect((await store.getObject(bucket, 'range', { range: { start: 5, end: 100 } })).body.toString()).toBe('56789');
        expect(await codeOf(store.getObject(bucket, 'range', { range: { start: 10 } }))).toBe('InvalidRange');
      });

      it('answers NoSuchKey for a missing key and deletes idempotently', async () => {
        expect(await codeOf(store.getObject(bucket, 'nope'))).toBe('NoSuchKey');
        expect(await codeOf(store.headObject(bucket, 'nope'))).toMatch(/NoSuchKey|NotFound/);
        await store.putObject(bucket, 'gone', Buffer.from('x'));
        await store.deleteObject(bucket, 'gone');
        await store.deleteObject(bucket, 'gone');
        expect(await codeOf(store.getObject(bucket, 'gone'))).toBe('NoSuchKey');
      });

      it('keeps keys verbatim, however hostile, and refuses keys over 1,024 bytes', async () => {
        const keys = ['../escape', 'a//b/./c', ' spaced key ', 'ünïcødé/日本/🙂', 'x'.repeat(1024), '%2F%00', 'back\\slash'];
        for (const key of keys) await store.putObject(bucket, key, Buffer.from(key));
        for (const key of keys) expect((await store.getObject(bucket, key)).body.toString()).toBe(key);
        expect(await codeOf(store.putObject(bucket, 'y'.repeat(1025), Buffer.from('x')))).toBe('KeyTooLongError');
        expect(await codeOf(store.putObject(bucket, 'é'.repeat(513), Buffer.from('x')))).toBe('KeyTooLongError');
      });

      it('verifies Content-MD5 and flexible checksums', async () => {
        const body = Buffer.from('checked');
        const md5 = createHash('md5').update(body).digest('base64');
        await store.putObject(bucket, 'md5-ok', body, { contentMd5: md5 });
        const wrong = createHash('md5').update('other').digest('base64');
        expect(await codeOf(store.putObject(bucket, 'md5-bad', body, { contentMd5: wrong }))).toBe('BadDigest');
        expect(await codeOf(store.getObject(bucket, 'md5-bad'))).toBe('NoSuchKey');
        for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
          const value = checksumOf(algorithm, body);
          const put = await store.putObject(bucket, `sum-${algorithm}`, body, { checksum: { algorithm, value } });
          expect(put.checksum?.value).toBe(value);
          const bad = checksumOf(algorithm, Buffer.from('tampered'));
          expect(await codeOf(store.putObject(bucket, `sum-bad-${algorithm}`, body, { checksum: { algorithm, value: bad } }))).toMatch(
            /BadDigest|InvalidRequest/,
          );
        }
      });

      it('honours a write-once condition', async () => {
        await store.putObject(bucket, 'once', Buffer.from('first'), { ifNoneMatch: '*' });
        expect(await codeOf(store.putObject(bucket, 'once', Buffer.from('second'), { ifNoneMatch: '*' }))).toBe('PreconditionFailed');
        expect((await store.getObject(bucket, 'once')).body.toString()).toBe('first');
      });
    });

    describe('listing', () => {
      let bucket: string;
      const keys = [
        'AWSLogs/111/CloudTrail/us-east-1/2026/01/01/a.json.gz',
        'AWSLogs/111/CloudTrail/us-east-1/2026/01/02/b.json.gz',
        'AWSLogs/111/CloudTrail-Digest/us-east-1/2026/01/01/d.json.gz',
        'AWSLogs/222/CloudTrail/eu-west-1/2026/01/01/c.json.gz',
        'top-a',
        'top-b',
        'top-c',
      ];
      beforeAll(async () => {
        bucket = await newBucket();
        for (const key of keys) await store.putObject(bucket, key, Buffer.from(key));
      });

      it('lists every key in byte order with sizes and ETags', async () => {
        const page = await store.listObjectsV2(bucket);
        expect(page.objects.map((o) => o.key)).toEqual([...keys].sort());
        expect(page.isTruncated).toBe(false);
        const first = page.objects[0];
        expect(first?.size).toBe(first?.key.length);
        expect(first?.etag).toBe(`"${md5Hex(first?.key ?? '')}"`);
      });

      it('filters by prefix and rolls up common prefixes at the delimiter', async () => {
        const top = await store.listObjectsV2(bucket, { delimiter: '/' });
        expect(top.commonPrefixes).toEqual(['AWSLogs/']);
        expect(top.objects.map((o) => o.key)).toEqual(['top-a', 'top-b', 'top-c']);
        const accounts = await store.listObjectsV2(bucket, { prefix: 'AWSLogs/', delimiter: '/' });
        expect(accounts.commonPrefixes).toEqual(['AWSLogs/111/', 'AWSLogs/222/']);
        expect(accounts.objects).toEqual([]);
        const trails = await store.listObjectsV2(bucket, { prefix: 'AWSLogs/111/', delimiter: '/' });
        expect(trails.commonPrefixes).toEqual(['AWSLogs/111/CloudTrail-Digest/', 'AWSLogs/111/CloudTrail/']);
        const flat = await store.listObjectsV2(bucket, { prefix: 'AWSLogs/111/CloudTrail/' });
        expect(flat.objects).toHaveLength(2);
      });

      it('starts after a key', async () => {
        const page = await store.listObjectsV2(bucket, { startAfter: 'top-a' });
        expect(page.objects.map((o) => o.key)).toEqual(['top-b', 'top-c']);
      });

      it('pages with continuation tokens, objects and common prefixes counted together', async () => {
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.listObjectsV2(bucket, { delimiter: '/', maxKeys: 1, ...(token ? { continuationToken: token } : {}) });
          seen.push(...page.commonPrefixes, ...page.objects.map((o) => o.key));
          expect(page.commonPrefixes.length + page.objects.length).toBeLessThanOrEqual(1);
          token = page.isTruncated ? page.nextContinuationToken : undefined;
          pages++;
        } while (token && pages < 10);
        expect(seen).toEqual(['AWSLogs/', 'top-a', 'top-b', 'top-c']);

        const all: string[] = [];
        token = undefined;
        do {
          const page = await store.listObjectsV2(bucket, { maxKeys: 3, ...(token ? { continuationToken: token } : {}) });
          all.push(...page.objects.map((o) => o.key));
          token = page.isTruncated ? page.nextContinuationToken : undefined;
        } while (token);
        expect(all).toEqual([...keys].sort());
      });
    });

    describe('multipart uploads', () => {
      let bucket: string;
      beforeAll(async () => {
        bucket = await newBucket();
      });

      it('assembles parts into one object with the md5-of-md5s ETag', async () => {
        const p1 = randomBytes(5 * MiB);
        const p2 = randomBytes(5 * MiB);
        const p3 = randomBytes(1234);
        const { uploadId } = await store.createMultipartUpload(bucket, 'big.bin', { headers: { contentType: 'application/x-test' } });
        const e1 = await store.uploadPart(bucket, 'big.bin', uploadId, 1, p1);
        const e2 = await store.uploadPart(bucket, 'big.bin', uploadId, 2, p2);
        const e3 = await store.uploadPart(bucket, 'big.bin', uploadId, 3, p3);
        expect(e1.etag).toBe(`"${md5Hex(p1)}"`);
        const done = await store.completeMultipartUpload(bucket, 'big.bin', uploadId, [
          { partNumber: 1, etag: e1.etag },
          { partNumber: 2, etag: e2.etag },
          { partNumber: 3, etag: e3.etag },
        ]);
        const expected = createHash('md5')
          .update(Buffer.concat([p1, p2, p3].map((p) => createHash('md5').update(p).digest())))
          .digest('hex');
        expect(done.etag).toBe(`"${expected}-3"`);
        const got = await store.getObject(bucket, 'big.bin');
        expect(got.body.equals(Buffer.concat([p1, p2, p3]))).toBe(true);
        expect(got.info.headers.contentType).toBe('application/x-test');
        const across = await store.getObject(bucket, 'big.bin', { range: { start: 5 * MiB - 2, end: 5 * MiB + 1 } });
        expect(across.body.equals(Buffer.concat([p1, p2]).subarray(5 * MiB - 2, 5 * MiB + 2))).toBe(true);
        expect(await codeOf(store.abortMultipartUpload(bucket, 'big.bin', uploadId))).toBe('NoSuchUpload');
      });

      it('refuses small non-last parts, unknown parts and parts out of order', async () => {
        const { uploadId } = await store.createMultipartUpload(bucket, 'bad.bin');
        const a = await store.uploadPart(bucket, 'bad.bin', uploadId, 1, Buffer.from('small'));
        const b = await store.uploadPart(bucket, 'bad.bin', uploadId, 2, Buffer.from('last'));
        expect(
          await codeOf(store.completeMultipartUpload(bucket, 'bad.bin', uploadId, [{ partNumber: 1, etag: a.etag }, { partNumber: 2, etag: b.etag }])),
        ).toBe('EntityTooSmall');
        expect(await codeOf(store.completeMultipartUpload(bucket, 'bad.bin', uploadId, [{ partNumber: 3, etag: a.etag }]))).toBe('InvalidPart');
        expect(await codeOf(store.completeMultipartUpload(bucket, 'bad.bin', uploadId, [{ partNumber: 1, etag: b.etag }]))).toBe('InvalidPart');
        expect(
          await codeOf(store.completeMultipartUpload(bucket, 'bad.bin', uploadId, [{ partNumber: 2, etag: b.etag }, { partNumber: 1, etag: a.etag }])),
        ).toBe('InvalidPartOrder');
        await store.abortMultipartUpload(bucket, 'bad.bin', uploadId);
        expect(await codeOf(store.uploadPart(bucket, 'bad.bin', uploadId, 1, Buffer.from('x')))).toBe('NoSuchUpload');
        expect(await codeOf(store.getObject(bucket, 'bad.bin'))).toBe('NoSuchKey');
      });

      it('a single small part completes', async () => {
        const { uploadId } = await store.createMultipartUpload(bucket, 'one.bin');
        const a = await store.uploadPart(bucket, 'one.bin', uploadId, 1, Buffer.from('only'));
        const done = await store.completeMultipartUpload(bucket, 'one.bin', uploadId, [{ partNumber: 1, etag: a.etag }]);
        expect(done.etag).toMatch(/^"[0-9a-f]{32}-1"$/);
        expect((await store.getObject(bucket, 'one.bin')).body.toString()).toBe('only');
      });
    });
  });
}
