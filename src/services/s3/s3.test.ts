import { describe, expect, it } from 'vitest';
import { AwsError } from '../../platform/errors.js';
import { loadModel } from '../../wire/model.js';
import type { WireRequest } from '../../wire/protocol.js';
import { bucketFromHost, toPathStyle } from './addressing.js';
import { s3RecordRequest, s3RecordResponse } from './common.js';
import { checkReadPreconditions, parseCopySource, parseRange } from './objects.js';
import type { ObjectInfo } from '../../objectstore/store.js';

const req = (host: string, rawPath: string): WireRequest => ({ method: 'GET', rawPath, query: new URLSearchParams(), headers: { host }, body: Buffer.alloc(0) });

describe('addressing', () => {
  it('moves a virtual-hosted bucket into the path', () => {
    expect(toPathStyle(req('logs.localhost:4777', '/a/b.txt'), []).rawPath).toBe('/logs/a/b.txt');
    expect(toPathStyle(req('logs.s3.localhost:4777', '/'), []).rawPath).toBe('/logs');
    expect(toPathStyle(req('my.dotted.bucket.cairn.internal', '/k'), ['cairn.internal']).rawPath).toBe('/my.dotted.bucket/k');
    expect(bucketFromHost('logs.s3.us-west-2.amazonaws.com', [])).toBe('logs');
  });

  it('leaves path-style requests alone', () => {
    for (const host of ['127.0.0.1:4777', 'localhost:4777', 's3.localhost', '[::1]:4777', 'cairn.internal']) {
      expect(toPathStyle(req(host, '/bucket/key'), ['cairn.internal']).rawPath).toBe('/bucket/key');
    }
  });
});

describe('ranges and preconditions', () => {
  it('parses single byte ranges and ignores the rest', () => {
    expect(parseRange('bytes=0-9')).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=5-')).toEqual({ start: 5 });
    expect(parseRange('bytes=-3')).toEqual({ suffix: 3 });
    expect(parseRange('bytes=0-1,4-5')).toBeUndefined();
    expect(parseRange('bytes=9-2')).toBeUndefined();
    expect(parseRange('items=0-1')).toBeUndefined();
  });

  it('applies If-Match over If-Unmodified-Since and If-None-Match over If-Modified-Since', () => {
    const info = { etag: '"abc"', lastModified: Date.parse('2026-01-01T00:00:00Z') } as ObjectInfo;
    const code = (input: Record<string, unknown>): string | undefined => {
      try {
        checkReadPreconditions(input, info);
        return undefined;
      } catch (e) {
        return e instanceof AwsError ? `${e.status} ${e.code}` : String(e);
      }
    };
    const before = new Date('2025-12-31T00:00:00Z');
    const after = new Date('2026-01-02T00:00:00Z');
    expect(code({ IfMatch: '"abc"', IfUnmodifiedSince: before })).toBeUndefined();
    expect(code({ IfMatch: '"nope"' })).toBe('412 PreconditionFailed');
    expect(code({ IfUnmodifiedSince: before })).toBe('412 PreconditionFailed');
    expect(code({ IfNoneMatch: '"abc"' })).toBe('304 NotModified');
    expect(code({ IfNoneMatch: '"other"', IfModifiedSince: after })).toBeUndefined();
    expect(code({ IfModifiedSince: after })).toBe('304 NotModified');
    expect(code({ IfModifiedSince: before })).toBeUndefined();
  });

  it('parses copy sources with and without a version', () => {
    expect(parseCopySource('src/a%20b/c.txt')).toEqual({ bucket: 'src', key: 'a b/c.txt' });
    expect(parseCopySource('/src/k?versionId=v1')).toEqual({ bucket: 'src', key: 'k', versionId: 'v1' });
    expect(() => parseCopySource('just-a-bucket')).toThrow(AwsError);
  });
});

describe('record shapes', () => {
  const model = loadModel('s3');
  it('names parameters as S3 records do', () => {
    expect(s3RecordRequest(model, 'PutObject')({ Bucket: 'b', Key: 'k', Body: Buffer.from('secret') })).toEqual({ bucketName: 'b', key: 'k' });
    expect(s3RecordRequest(model, 'ListObjectsV2')({ Bucket: 'b', Prefix: 'p/', MaxKeys: 5 })).toEqual({
      bucketName: 'b',
      'list-type': '2',
      prefix: 'p/',
      'max-keys': 5,
    });
    expect(s3RecordRequest(model, 'PutBucketVersioning')({ Bucket: 'b', VersioningConfiguration: { Status: 'Enabled' } })).toEqual({
      bucketName: 'b',
      versioning: '',
      VersioningConfiguration: { Status: 'Enabled', xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
    });
    expect(s3RecordResponse(model, 'PutObject')({ ETag: '"x"', VersionId: 'v1' })).toEqual({ 'x-amz-version-id': 'v1' });
    expect(s3RecordResponse(model, 'PutObject')({ ETag: '"x"' })).toBeNull();
  });
});
