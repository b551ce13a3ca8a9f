/**
 * The embedded object store end to end through S3's API: the stock AWS CLI
 * (`aws s3 ...`, `aws s3api ...`) and `@aws-sdk/client-s3` against a running Cairn.
 * Buckets, objects, ranges, conditional reads, digests and checksums, copies, listings,
 * multipart uploads (100 MiB through `aws s3 cp`), versioning, hostile keys,
 * virtual-hosted addressing, and the CloudTrail data events these calls produce.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, tempDir, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';

let cairn: TestCairn;
let s3: S3Client;
let accountId: string;
let work: string;

function client(extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, forcePathStyle: true, maxAttempts: 1, ...extra });
}

/** The error an SDK call fails with: its name and HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; error: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const error = e as Record<string, unknown> & { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: error.name, status: error.$metadata?.httpStatusCode, error };
  }
  throw new Error('expected the call to fail');
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

async function text(out: { Body?: { transformToString(): Promise<string> } }): Promise<string> {
  return (await out.Body?.transformToString()) ?? '';
}

// The data directory sits alone in a parent of its own, so a test can prove that nothing
// is written beside it (other test files create temporary directories in parallel).
const dataParent = tempDir('cairn-s3-core-');

beforeAll(async () => {
  cairn = await startCairn({ dataDir: join(dataParent, 'data') });
  accountId = cairn.server.accountId;
  s3 = client();
  work = tempDir('cairn-s3-work-');
});
afterAll(async () => {
  s3.destroy();
  await cairn.stop();
  rmSync(dataParent, { recursive: true, force: true });
});

describe('buckets', () => {
  it('creates, lists, locates and removes buckets with the AWS CLI', async () => {
    expect((await cairn.aws(['s3', 'mb', 's3://cli-bucket'])).code).toBe(0);
    const [ls, location] = await Promise.all([
      cairn.aws(['s3', 'ls']),
      cairn.awsJson<{ LocationConstraint: string | null }>(['s3api', 'get-bucket-location', '--bucket', 'cli-bucket']),
      cairn.awsJson(['s3api', 'head-bucket', '--bucket', 'cli-bucket']),
    ]);
    expect(ls.stdout).toContain('cli-bucket');
    expect(location.LocationConstraint).toBeNull();
    expect((await cairn.aws(['s3', 'rb', 's3://cli-bucket'])).code).toBe(0);
    const missing = await cairn.aws(['s3api', 'head-bucket', '--bucket', 'cli-bucket']);
    expect(missing.stderr).toMatch(/404|Not Found/);
  });

  it('refuses invalid names, taken names and non-empty deletes with S3 errors', async () => {
    // Outside us-east-1 S3 names the constraint and refuses re-creation.
    const eu = ['--region', 'eu-west-1'];
    const [invalid] = await Promise.all([
      cairn.aws(['s3api', 'create-bucket', '--bucket', 'Bad_Name']),
      cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'eu-bucket', '--create-bucket-configuration', 'LocationConstraint=eu-west-1', ...eu]),
    ]);
    expect(invalid.stderr).toContain('InvalidBucketName');
    const [again, location, wrong] = await Promise.all([
      cairn.aws(['s3api', 'create-bucket', '--bucket', 'eu-bucket', '--create-bucket-configuration', 'LocationConstraint=eu-west-1', ...eu]),
      cairn.awsJson<{ LocationConstraint: string }>(['s3api', 'get-bucket-location', '--bucket', 'eu-bucket']),
      cairn.aws(['s3api', 'create-bucket', '--bucket', 'eu-bucket-2', '--create-bucket-configuration', 'LocationConstraint=eu-west-1']),
    ]);
    expect(again.stderr).toContain('BucketAlreadyOwnedByYou');
    expect(location.LocationConstraint).toBe('eu-west-1');
    expect(wrong.stderr).toContain('IllegalLocationConstraintException');

    await cairn.awsJson(['s3api', 'put-object', '--bucket', 'eu-bucket', '--key', 'k', ...eu]);
    const notEmpty = await cairn.aws(['s3api', 'delete-bucket', '--bucket', 'eu-bucket', ...eu]);
    expect(notEmpty.stderr).toContain('BucketNotEmpty');
    const noSuch = await failure(s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k', Body: 'x' })));
    expect(noSuch).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(noSuch.error.BucketName).toBe('no-such-bucket-here');
  });
});

describe('objects with the SDK', () => {
  const Bucket = 'sdk-objects';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
  });

  it('round-trips bytes, user metadata and content headers', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'docs/readme.txt',
        Body: 'hello, cairn',
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'no-cache',
        Metadata: { owner: 'platform', Purpose: 'test' },
      }),
    );
    expect(put.ETag).toBe(`"${md5('hello, cairn')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'docs/readme.txt' }));
    expect(await text(got)).toBe('hello, cairn');
    expect(got).toMatchObject({ ContentType: 'text/plain; charset=utf-8', CacheControl: 'no-cache', ContentLength: 12, ETag: put.ETag });
    expect(got.Metadata).toEqual({ owner: 'platform', purpose: 'test' });
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'docs/readme.txt' }));
    expect(head.ContentLength).toBe(12);
    expect(head.LastModified).toBeInstanceOf(Date);
    const missing = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'docs/missing' })));
    expect(missing).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(missing.error.Key).toBe('docs/missing');
  });

  it('serves ranges with 206 and Content-Range, and refuses unsatisfiable ones with 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'digits', Body: '0123456789' }));
    const part = await s3.send(new GetObjectCommand({ Bucket, Key: 'digits', Range: 'bytes=2-5' }));
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(part.ContentRange).toBe('bytes 2-5/10');
    expect(await text(part)).toBe('2345');
    expect(await text(await s3.send(new GetObjectCommand({ Bucket, Key: 'digits', Range: 'bytes=-3' })))).toBe('789');
    const bad = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'digits', Range: 'bytes=10-' })));
    expect(bad).toMatchObject({ name: 'InvalidRange', status: 416 });
  });

  it('answers conditional reads with 304 and 412', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'cond', Body: 'v1' }));
    const etag = put.ETag ?? '';
    expect(await text(await s3.send(new GetObjectCommand({ Bucket, Key: 'cond', IfMatch: etag })))).toBe('v1');
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cond', IfNoneMatch: etag })))).status).toBe(304);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cond', IfMatch: '"0000"' })))).toMatchObject({
      name: 'PreconditionFailed',
      status: 412,
    });
    const future = new Date(Date.now() + 3600_000);
    const past = new Date(Date.now() - 3600_000);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cond', IfModifiedSince: future })))).status).toBe(304);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'cond', IfUnmodifiedSince: past })))).status).toBe(412);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'cond', IfNoneMatch: etag })))).status).toBe(304);
    // A write-once PUT.
    expect((await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'cond', Body: 'v2', IfNoneMatch: '*' })))).status).toBe(412);
  });

  it('verifies Content-MD5 and flexible checksums, and returns stored checksums on request', async () => {
    const body = 'integrity matters';
    const goodMd5 = createHash('md5').update(body).digest('base64');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'md5', Body: body, ContentMD5: goodMd5 }));
    const badMd5 = createHash('md5').update('something else').digest('base64');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'md5-bad', Body: body, ContentMD5: badMd5 })))).toMatchObject({
      name: 'BadDigest',
      status: 400,
    });
    expect((await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'md5-bad', Body: body, ContentMD5: 'nope' })))).name).toBe('InvalidDigest');

    for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket, Key: `sum/${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      const member = `Checksum${algorithm}` as const;
      expect(put[member]).toBeTruthy();
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: `sum/${algorithm}`, ChecksumMode: 'ENABLED' }));
      expect(got[member]).toBe(put[member]);
      expect(await text(got)).toBe(body);
    }
    const wrong = await failure(
      s3.send(new PutObjectCommand({ Bucket, Key: 'sum/wrong', Body: body, ChecksumCRC32: Buffer.from([1, 2, 3, 4]).toString('base64') })),
    );
    expect(wrong).toMatchObject({ name: 'BadDigest', status: 400 });
  });

  it('accepts streamed aws-chunked uploads with a checksum trailer', async () => {
    const payload = randomBytes(200_000);
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'chunked', Body: Readable.from([payload]), ContentLength: payload.length, ChecksumAlgorithm: 'CRC32C' }),
    );
    expect(put.ETag).toBe(`"${md5(payload)}"`);
    expect(put.ChecksumCRC32C).toBeTruthy();
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'chunked', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC32C).toBe(put.ChecksumCRC32C);
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(payload)).toBe(true);
    expect(got.ContentEncoding).toBeUndefined();
  });

  it('copies with the COPY and REPLACE metadata directives', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'copy/src', Body: 'copy me', ContentType: 'text/x-src', Metadata: { a: '1' } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/same-meta', CopySource: `${Bucket}/copy/src` }));
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5('copy me')}"`);
    const same = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/same-meta' }));
    expect(same).toMatchObject({ ContentType: 'text/x-src', Metadata: { a: '1' } });
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy/new-meta',
        CopySource: `/${Bucket}/copy/src`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/x-new',
        Metadata: { b: '2' },
      }),
    );
    const replaced = await s3.send(new GetObjectCommand({ Bucket, Key: 'copy/new-meta' }));
    expect(replaced).toMatchObject({ ContentType: 'text/x-new', Metadata: { b: '2' } });
    expect(await text(replaced)).toBe('copy me');
    const toItself = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/src', CopySource: `${Bucket}/copy/src` })));
    expect(toItself.name).toBe('InvalidRequest');
    const missing = await failure(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/none` })));
    expect(missing.name).toBe('NoSuchKey');
  });

  it('deletes in batches, quietly or not', async () => {
    for (const k of ['batch/a', 'batch/b', 'batch/c']) await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
    const loud = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'batch/a' }, { Key: 'batch/never' }] } }));
    expect(loud.Deleted?.map((d) => d.Key).sort()).toEqual(['batch/a', 'batch/never']);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'batch/b' }, { Key: 'batch/c' }], Quiet: true } }));
    expect(quiet.Deleted).toBeUndefined();
    const left = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'batch/' }));
    expect(left.KeyCount).toBe(0);
  });
});

describe('listing', () => {
  const Bucket = 'listing';
  const keys = ['a/1', 'a/2', 'b/1', 'c', 'd e+f', 'z/deep/x'];
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
  });

  it('ListObjectsV2: prefixes, delimiters, start-after and continuation tokens', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/', 'z/']);
    expect(top.Contents?.map((c) => c.Key)).toEqual(['c', 'd e+f']);
    expect(top.KeyCount).toBe(5);
    const after = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: 'b/1' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['c', 'd e+f', 'z/deep/x']);
    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 2, ContinuationToken }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key ?? ''));
      ContinuationToken = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(ContinuationToken !== undefined);
    } while (ContinuationToken);
    expect(seen).toEqual(keys);
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'd', EncodingType: 'url' }));
    expect(encoded.Contents?.[0]?.Key).toBe('d%20e%2Bf');
  });

  it('ListObjects (v1): markers and NextMarker with a delimiter', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 2 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(first.NextMarker).toBe('b/');
    const second = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Marker: first.NextMarker }));
    expect(second.Contents?.map((c) => c.Key)).toEqual(['c', 'd e+f']);
    expect(second.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['z/']);
  });

  it('aws s3 ls, sync and rm --recursive work over the listing', async () => {
    const src = join(work, 'sync-src');
    for (const f of ['one.txt', 'sub/two.txt', 'sub/deeper/three.txt']) {
      const path = join(src, f);
      await import('node:fs').then((fs) => fs.mkdirSync(dirname(path), { recursive: true }));
      writeFileSync(path, `content of ${f}`);
    }
    expect((await cairn.aws(['s3', 'sync', src, `s3://${Bucket}/synced`])).code).toBe(0);
    const ls = await cairn.aws(['s3', 'ls', `s3://${Bucket}/synced/`, '--recursive']);
    expect(ls.stdout.trim().split('\n')).toHaveLength(3);
    const back = join(work, 'sync-back');
    expect((await cairn.aws(['s3', 'sync', `s3://${Bucket}/synced`, back])).code).toBe(0);
    expect(readFileSync(join(back, 'sub/deeper/three.txt'), 'utf8')).toBe('content of sub/deeper/three.txt');
    expect((await cairn.aws(['s3', 'rm', `s3://${Bucket}/synced`, '--recursive'])).code).toBe(0);
    expect((await cairn.aws(['s3', 'ls', `s3://${Bucket}/synced/`])).stdout.trim()).toBe('');
  });
});

describe('multipart uploads', () => {
  const Bucket = 'multipart';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
  });

  it('aws s3 cp uploads and downloads 100 MiB intact', async () => {
    const file = join(work, 'big.bin');
    const bytes = randomBytes(100 * 1024 * 1024);
    writeFileSync(file, bytes);
    const expected = md5(bytes);
    const up = await cairn.aws(['s3', 'cp', file, `s3://${Bucket}/big.bin`, '--only-show-errors']);
    expect(up.stderr).toBe('');
    const head = await cairn.awsJson<{ ETag: string; ContentLength: number }>(['s3api', 'head-object', '--bucket', Bucket, '--key', 'big.bin']);
    expect(head.ContentLength).toBe(bytes.length);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-13"$/);
    const down = join(work, 'big.back');
    expect((await cairn.aws(['s3', 'cp', `s3://${Bucket}/big.bin`, down, '--only-show-errors'])).code).toBe(0);
    const hash = createHash('md5');
    for await (const chunk of createReadStream(down)) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(expected);
  });

  it('refuses small parts, unknown parts and disorder; lists and aborts uploads', async () => {
    const create = await cairn.awsJson<{ UploadId: string }>(['s3api', 'create-multipart-upload', '--bucket', Bucket, '--key', 'parts']);
    const id = create.UploadId;
    const small = join(work, 'small.bin');
    writeFileSync(small, 'tiny');
    const upload = (n: number): Promise<{ ETag: string }> =>
      cairn.awsJson(['s3api', 'upload-part', '--bucket', Bucket, '--key', 'parts', '--upload-id', id, '--part-number', String(n), '--body', small]);
    const [e1, e2] = await Promise.all([upload(1), upload(2)]);
    const complete = (parts: { PartNumber: number; ETag: string }[]): Promise<{ stderr: string }> =>
      cairn.aws(['s3api', 'complete-multipart-upload', '--bucket', Bucket, '--key', 'parts', '--upload-id', id, '--multipart-upload', JSON.stringify({ Parts: parts })]);
    const [tooSmall, unknown, disorder, parts, uploads] = await Promise.all([
      complete([{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }]),
      complete([{ PartNumber: 7, ETag: e1.ETag }]),
      complete([{ PartNumber: 2, ETag: e2.ETag }, { PartNumber: 1, ETag: e1.ETag }]),
      cairn.awsJson<{ Parts: { PartNumber: number; Size: number }[] }>(['s3api', 'list-parts', '--bucket', Bucket, '--key', 'parts', '--upload-id', id]),
      cairn.awsJson<{ Uploads: { Key: string; UploadId: string }[] }>(['s3api', 'list-multipart-uploads', '--bucket', Bucket]),
    ]);
    expect(tooSmall.stderr).toContain('EntityTooSmall');
    expect(unknown.stderr).toContain('InvalidPart');
    expect(disorder.stderr).toContain('InvalidPartOrder');
    expect(parts.Parts.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 4], [2, 4]]);
    expect(uploads.Uploads.map((u) => u.UploadId)).toContain(id);
    await cairn.awsJson(['s3api', 'abort-multipart-upload', '--bucket', Bucket, '--key', 'parts', '--upload-id', id]);
    const gone = await cairn.aws(['s3api', 'list-parts', '--bucket', Bucket, '--key', 'parts', '--upload-id', id]);
    expect(gone.stderr).toContain('NoSuchUpload');
  });
});

describe('versioning', () => {
  it('keeps versions, hides keys behind delete markers, and restores them', async () => {
    const b = ['--bucket', 'versioned'];
    await s3.send(new CreateBucketCommand({ Bucket: 'versioned' }));
    expect(await cairn.awsJson(['s3api', 'get-bucket-versioning', ...b])).toEqual({});
    await cairn.awsJson(['s3api', 'put-bucket-versioning', ...b, '--versioning-configuration', 'Status=Enabled']);
    expect(await cairn.awsJson(['s3api', 'get-bucket-versioning', ...b])).toEqual({ Status: 'Enabled' });

    const f1 = join(work, 'v1.txt');
    const f2 = join(work, 'v2.txt');
    writeFileSync(f1, 'version one');
    writeFileSync(f2, 'version two');
    const v1 = await cairn.awsJson<{ VersionId: string }>(['s3api', 'put-object', ...b, '--key', 'doc', '--body', f1]);
    const v2 = await cairn.awsJson<{ VersionId: string }>(['s3api', 'put-object', ...b, '--key', 'doc', '--body', f2]);
    expect(v1.VersionId).not.toBe(v2.VersionId);
    const out = join(work, 'v-out.txt');
    await cairn.awsJson(['s3api', 'get-object', ...b, '--key', 'doc', '--version-id', v1.VersionId, out]);
    expect(readFileSync(out, 'utf8')).toBe('version one');

    const del = await cairn.awsJson<{ DeleteMarker: boolean; VersionId: string }>(['s3api', 'delete-object', ...b, '--key', 'doc']);
    expect(del.DeleteMarker).toBe(true);
    const hidden = await failure(s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'doc' })));
    expect(hidden).toMatchObject({ name: 'NoSuchKey', status: 404 });
    const versions = await cairn.awsJson<{ Versions: { VersionId: string; IsLatest: boolean }[]; DeleteMarkers: { VersionId: string; IsLatest: boolean }[] }>([
      's3api', 'list-object-versions', ...b,
    ]);
    expect(versions.Versions.map((v) => v.VersionId)).toEqual([v2.VersionId, v1.VersionId]);
    expect(versions.DeleteMarkers).toEqual([expect.objectContaining({ VersionId: del.VersionId, IsLatest: true })]);

    await cairn.awsJson(['s3api', 'delete-object', ...b, '--key', 'doc', '--version-id', del.VersionId]);
    await cairn.awsJson(['s3api', 'get-object', ...b, '--key', 'doc', out]);
    expect(readFileSync(out, 'utf8')).toBe('version two');
    const noVersion = await failure(s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'doc', VersionId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })));
    expect(noVersion).toMatchObject({ name: 'NoSuchVersion', status: 404 });

    // Suspended: writes replace the null version and keep the others.
    await cairn.awsJson(['s3api', 'put-bucket-versioning', ...b, '--versioning-configuration', 'Status=Suspended']);
    await cairn.awsJson(['s3api', 'put-object', ...b, '--key', 'doc', '--body', f1]);
    await cairn.awsJson(['s3api', 'put-object', ...b, '--key', 'doc', '--body', f2]);
    const after = await cairn.awsJson<{ Versions: { VersionId: string; IsLatest: boolean }[] }>(['s3api', 'list-object-versions', ...b]);
    expect(after.Versions.map((v) => [v.VersionId, v.IsLatest])).toEqual([
      ['null', true],
      [v2.VersionId, false],
      [v1.VersionId, false],
    ]);
  });
});

describe('hostile keys', () => {
  const Bucket = 'hostile';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
  });

  it('stores dot-dot keys as plain keys and writes nothing outside the data directory', async () => {
    const dataDir = cairn.server.dataDir;
    const before = readdirSync(dirname(dataDir));
    for (const Key of ['../x', '../../etc/passwd-cairn', 'a/../../b']) {
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}` }));
      expect(await text(await s3.send(new GetObjectCommand({ Bucket, Key })))).toBe(`body of ${Key}`);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['../../etc/passwd-cairn', '../x', 'a/../../b']);
    expect(readdirSync(dirname(dataDir))).toEqual(before);
    expect(existsSync(join(dataDir, 'x'))).toBe(false);
    expect(existsSync(join(dataDir, 'objects', 'x'))).toBe(false);
    const files = readdirSync(join(dataDir, 'objects'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files) expect(f.name).toMatch(/^(objects\.db(-wal|-shm)?|[0-9a-f]{32})$/);
  });

  it('refuses a 1,025-byte key and a NUL', async () => {
    const long = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1025), Body: 'x' })));
    expect(long).toMatchObject({ name: 'KeyTooLongError', status: 400 });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1024), Body: 'x' }));
    const nul = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'nul\u0000key', Body: 'x' })));
    expect(nul).toMatchObject({ name: 'InvalidArgument', status: 400 });
    const cli = await cairn.aws(['s3api', 'put-object', '--bucket', Bucket, '--key', 'é'.repeat(513)]);
    expect(cli.stderr).toContain('KeyTooLongError');
  });
});

describe('virtual-hosted addressing', () => {
  it('serves bucket.localhost:PORT like the path style', async () => {
    const port = new URL(cairn.endpoint).port;
    // *.localhost does not resolve here; the agent sends every name to the loopback address.
    const agent = new Agent({ lookup: (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]) });
    const vhost = client({ endpoint: `http://localhost:${port}`, forcePathStyle: false, requestHandler: new NodeHttpHandler({ httpAgent: agent }) });
    await vhost.send(new CreateBucketCommand({ Bucket: 'vhost-bucket' }));
    await vhost.send(new PutObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/file.txt', Body: 'virtual' }));
    expect(await text(await s3.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/file.txt' })))).toBe('virtual');
    expect(await text(await vhost.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/file.txt' })))).toBe('virtual');
    const listed = await vhost.send(new ListObjectsV2Command({ Bucket: 'vhost-bucket' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['dir/file.txt']);
    vhost.destroy();
    agent.destroy();
  });
});

describe('CloudTrail records', () => {
  it('object-level calls are data events with the object and bucket as resources; bucket calls are management events', async () => {
    const Bucket = 'audited';
    const secret = `secret-body-${randomBytes(8).toString('hex')}`;
    await cairn.logDataEvents(['AWS::S3::Object']);
    await s3.send(new CreateBucketCommand({ Bucket }));
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'logs/a.json', Body: secret }));
    const get = await s3.send(new GetObjectCommand({ Bucket, Key: 'logs/a.json' }));
    await text(get);
    await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'logs/' }));
    const denied = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'logs/none' })));
    expect(denied.name).toBe('NoSuchKey');

    const records = readRecords(cairn.server.dataDir).map((r) => r.record);
    const find = (requestId: string | undefined): Record<string, unknown> | undefined => records.find((r) => r.requestID === requestId);
    const putRecord = find(put.$metadata.requestId);
    expect(putRecord).toMatchObject({
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      readOnly: false,
      eventCategory: 'Data',
      managementEvent: false,
      recipientAccountId: accountId,
      requestParameters: { bucketName: Bucket, key: 'logs/a.json' },
      resources: [
        { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${Bucket}/logs/a.json` },
        { accountId, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${Bucket}` },
      ],
    });
    expect(find(get.$metadata.requestId)).toMatchObject({ eventName: 'GetObject', readOnly: true, eventCategory: 'Data', managementEvent: false });
    const create = records.find((r) => r.eventName === 'CreateBucket' && (r.requestParameters as { bucketName?: string }).bucketName === Bucket);
    expect(create).toMatchObject({ eventCategory: 'Management', managementEvent: true, readOnly: false });
    const list = records.find((r) => r.eventName === 'ListObjectsV2' && (r.requestParameters as { bucketName?: string }).bucketName === Bucket);
    expect(list).toMatchObject({ eventCategory: 'Data', readOnly: true, requestParameters: { 'list-type': '2', prefix: 'logs/' } });
    const failed = records.find((r) => r.errorCode === 'NoSuchKey' && (r.requestParameters as { key?: string }).key === 'logs/none');
    expect(failed).toMatchObject({ eventName: 'GetObject', errorMessage: 'The specified key does not exist.' });
    // Object bytes never reach the log.
    expect(readRecords(cairn.server.dataDir).some((r) => r.text.includes(secret))).toBe(false);
  });
});
