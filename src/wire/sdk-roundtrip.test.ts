// Real AWS SDK clients against the codecs, in-process: the client's request handler
// turns each request into a WireRequest, runs the codec, and hands back its response.
import { Readable } from 'node:stream';
import { CloudTrailClient, CreateEventDataStoreCommand, CreateTrailCommand, DescribeTrailsCommand, GetTrailStatusCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateUserCommand, IAMClient, ListUsersCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpResponse } from '@smithy/core/transport';
import type { HttpRequest } from '@smithy/core/transport';
import { describe, expect, it } from 'vitest';
import { AwsError, isAwsError } from '../platform/errors.js';
import { loadModel } from './model.js';
import type { ServiceModel } from './model.js';
import { codecFor } from './protocol.js';
import type { WireRequest, WireResponse } from './types.js';
import { validateInput } from './validate.js';

const REQUEST_ID = 'f00dfeed-0000-4000-8000-000000000001';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const common = { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials, maxAttempts: 1 };

type Handler = (operation: string, input: Record<string, unknown>, req: WireRequest) => Record<string, unknown>;

interface Seen {
  operation?: string;
  input?: Record<string, unknown>;
  req?: WireRequest;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }
  throw new Error(`Unexpected request body ${typeof body}`);
}

async function toWire(request: HttpRequest): Promise<WireRequest> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(request.query ?? {})) {
    if (Array.isArray(v)) for (const item of v) query.append(k, item);
    else query.append(k, v ?? '');
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  return { method: request.method, rawPath: request.path, query, headers, body: await bodyBytes(request.body) };
}

function toSdk(res: WireResponse): { response: HttpResponse } {
  const headers: Record<string, string> = {};
  // Node's HTTP client lower-cases header names; the SDK relies on it.
  for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = v;
  const body = typeof res.body === 'string' ? Buffer.from(res.body) : res.body;
  return { response: new HttpResponse({ statusCode: res.status, headers, body: Readable.from([body]) }) };
}

/** A request handler that serves one model through its codec, recording what it decoded. */
function serve(model: ServiceModel, handler: Handler, seen: Seen = {}) {
  return {
    handle: async (request: HttpRequest) => {
      const req = await toWire(request);
      const codec = codecFor(model, req);
      let res: WireResponse;
      let operation = '';
      try {
        operation = codec.operation(req);
        const input = codec.decodeInput(operation, req);
        Object.assign(seen, { operation, input, req });
        validateInput(model, operation, input);
        res = codec.encodeOutput(operation, handler(operation, input, req), REQUEST_ID);
      } catch (e) {
        if (!isAwsError(e)) throw e;
        res = codec.encodeError(e, REQUEST_ID);
      }
      if (req.method === 'HEAD') res = { ...res, body: '' };
      return toSdk(res);
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await p;
  } catch (e) {
    return e as { name: string; message: string; $metadata: { httpStatusCode?: number; requestId?: string } };
  }
  throw new Error('expected the call to fail');
}

describe('AWS JSON 1.1 (CloudTrail)', () => {
  const model = loadModel('cloudtrail');

  it('CreateTrail: decodes the input and the SDK parses the output', async () => {
    const seen: Seen = {};
    const client = new CloudTrailClient({
      ...common,
      requestHandler: serve(
        model,
        (_op, input) => ({
          Name: input.Name,
          S3BucketName: input.S3BucketName,
          IsMultiRegionTrail: true,
          TrailARN: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/main',
          LogFileValidationEnabled: false,
        }),
        seen,
      ),
    });
    const out = await client.send(
      new CreateTrailCommand({ Name: 'main', S3BucketName: 'logs', IsMultiRegionTrail: true, TagsList: [{ Key: 'env', Value: 'prod' }] }),
    );
    expect(seen.operation).toBe('CreateTrail');
    expect(seen.req?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(seen.input).toEqual({ Name: 'main', S3BucketName: 'logs', IsMultiRegionTrail: true, TagsList: [{ Key: 'env', Value: 'prod' }] });
    expect(out.TrailARN).toBe('arn:aws:cloudtrail:us-east-1:123456789012:trail/main');
    expect(out.IsMultiRegionTrail).toBe(true);
    expect(out.LogFileValidationEnabled).toBe(false);
    expect(out.$metadata.requestId).toBe(REQUEST_ID);
  });

  it('DescribeTrails: lists both ways', async () => {
    const seen: Seen = {};
    const client = new CloudTrailClient({
      ...common,
      requestHandler: serve(model, () => ({ trailList: [{ Name: 'a', HomeRegion: 'us-east-1' }, { Name: 'b' }] }), seen),
    });
    const out = await client.send(new DescribeTrailsCommand({ trailNameList: ['a', 'b'], includeShadowTrails: false }));
    expect(seen.input).toEqual({ trailNameList: ['a', 'b'], includeShadowTrails: false });
    expect(out.trailList?.map((t) => t.Name)).toEqual(['a', 'b']);
  });

  it('LookupEvents: timestamps as epoch seconds both ways', async () => {
    const seen: Seen = {};
    const eventTime = new Date('2026-11-21T22:00:00.250Z');
    const client = new CloudTrailClient({
      ...common,
      requestHandler: serve(
        model,
        () => ({ Events: [{ EventId: 'e1', EventName: 'CreateTrail', EventTime: eventTime, Resources: [{ ResourceName: 'main' }] }], NextToken: 't' }),
        seen,
      ),
    });
    const start = new Date('2026-11-20T00:00:00Z');
    const out = await client.send(
      new LookupEventsCommand({
        StartTime: start,
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }],
        MaxResults: 10,
      }),
    );
    expect(seen.input?.StartTime).toBeInstanceOf(Date);
    expect((seen.input?.StartTime as Date).getTime()).toBe(start.getTime());
    expect(seen.input?.MaxResults).toBe(10);
    expect(out.Events?.[0]?.EventTime?.getTime()).toBe(eventTime.getTime());
    expect(out.Events?.[0]?.Resources?.[0]?.ResourceName).toBe('main');
    expect(out.NextToken).toBe('t');
  });

  it('errors: the SDK sees the code, message, status and request id', async () => {
    const client = new CloudTrailClient({
      ...common,
      requestHandler: serve(model, () => {
        throw new AwsError({ code: 'TrailNotFoundException', message: 'Unknown trail: nope for the user: 123456789012' });
      }),
    });
    const err = await rejection(client.send(new GetTrailStatusCommand({ Name: 'nope' })));
    expect(err.name).toBe('TrailNotFoundException');
    expect(err.message).toBe('Unknown trail: nope for the user: 123456789012');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$metadata.requestId).toBe(REQUEST_ID);
  });

  it('validation: a name longer than the model allows is a ValidationException', async () => {
    const client = new CloudTrailClient({ ...common, requestHandler: serve(model, () => ({})) });
    const name = 'n'.repeat(129);
    const err = await rejection(client.send(new CreateEventDataStoreCommand({ Name: name })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it('validation: several failures are counted and joined', async () => {
    const client = new CloudTrailClient({ ...common, requestHandler: serve(model, () => ({})) });
    const err = await rejection(client.send(new CreateEventDataStoreCommand({ Name: 'a b', RetentionPeriod: 1 })));
    expect(err.message).toMatch(/^2 validation errors detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: .+; Value '1' at 'retentionPeriod' failed to satisfy constraint: Member must have value greater than or equal to 7$/);
  });
});

describe('AWS query (IAM, STS)', () => {
  const iam = loadModel('iam');
  const sts = loadModel('sts');

  it('IAM CreateUser: list members in, timestamps out', async () => {
    const seen: Seen = {};
    const created = new Date('2026-11-21T22:00:00Z');
    const client = new IAMClient({
      ...common,
      requestHandler: serve(
        iam,
        (_op, input) => ({
          User: {
            UserName: input.UserName,
            Path: '/',
            UserId: 'AIDAEXAMPLE',
            Arn: 'arn:aws:iam::123456789012:user/alice',
            CreateDate: created,
            Tags: [{ Key: 'note', Value: 'a&b <c> "d" \'e\'' }],
          },
        }),
        seen,
      ),
    });
    const out = await client.send(new CreateUserCommand({ UserName: 'alice', Tags: [{ Key: 'team', Value: 'a+b=c @d' }, { Key: 'k2', Value: '' }] }));
    expect(seen.req?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(seen.input).toEqual({ UserName: 'alice', Tags: [{ Key: 'team', Value: 'a+b=c @d' }, { Key: 'k2', Value: '' }] });
    expect(out.User?.UserName).toBe('alice');
    expect(out.User?.CreateDate?.getTime()).toBe(created.getTime());
    expect(out.User?.Tags).toEqual([{ Key: 'note', Value: 'a&b <c> "d" \'e\'' }]);
    expect(out.$metadata.requestId).toBe(REQUEST_ID);
  });

  it('IAM ListUsers: a list of structures and booleans', async () => {
    const created = new Date('2026-01-02T03:04:05.678Z');
    const client = new IAMClient({
      ...common,
      requestHandler: serve(iam, (_op, input) => {
        expect(input).toEqual({ MaxItems: 2, PathPrefix: '/eng/' });
        return {
          Users: [
            { UserName: 'a', Path: '/eng/', UserId: 'AIDA1', Arn: 'arn:aws:iam::123456789012:user/eng/a', CreateDate: created },
            { UserName: 'b', Path: '/eng/', UserId: 'AIDA2', Arn: 'arn:aws:iam::123456789012:user/eng/b', CreateDate: created },
          ],
          IsTruncated: true,
          Marker: 'm1',
        };
      }),
    });
    const out = await client.send(new ListUsersCommand({ MaxItems: 2, PathPrefix: '/eng/' }));
    expect(out.Users?.map((u) => u.UserName)).toEqual(['a', 'b']);
    expect(out.Users?.[1]?.CreateDate?.getTime()).toBe(created.getTime());
    expect(out.IsTruncated).toBe(true);
    expect(out.Marker).toBe('m1');
  });

  it('IAM errors: code mapped to the modeled exception, status and request id kept', async () => {
    const client = new IAMClient({
      ...common,
      requestHandler: serve(iam, () => {
        throw new AwsError({ code: 'NoSuchEntity', message: 'The user with name bob cannot be found.', status: 404 });
      }),
    });
    const err = await rejection(client.send(new GetUserCommand({ UserName: 'bob' })));
    expect(err.name).toBe('NoSuchEntityException');
    expect(err.message).toBe('The user with name bob cannot be found.');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.$metadata.requestId).toBe(REQUEST_ID);
  });

  it('IAM validation: a missing UserName is a ValidationError', async () => {
    const client = new IAMClient({ ...common, requestHandler: serve(iam, () => ({})) });
    const err = await rejection(client.send(new CreateUserCommand({} as { UserName: string })));
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it('STS GetCallerIdentity and AssumeRole', async () => {
    const seen: Seen = {};
    const expiration = new Date('2026-11-21T23:00:00Z');
    const client = new STSClient({
      ...common,
      requestHandler: serve(
        sts,
        (op) =>
          op === 'GetCallerIdentity'
            ? { UserId: 'AIDAEXAMPLE', Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/alice' }
            : {
                Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 's3cr3t', SessionToken: 'tok', Expiration: expiration },
                AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:sess', Arn: 'arn:aws:sts::123456789012:assumed-role/r/sess' },
                PackedPolicySize: 6,
              },
        seen,
      ),
    });
    const who = await client.send(new GetCallerIdentityCommand({}));
    expect(seen.operation).toBe('GetCallerIdentity');
    expect(seen.input).toEqual({});
    expect(who.Account).toBe('123456789012');
    expect(who.Arn).toBe('arn:aws:iam::123456789012:user/alice');

    const assumed = await client.send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 'sess', DurationSeconds: 900, Tags: [{ Key: 'a', Value: 'b' }] }),
    );
    expect(seen.input).toEqual({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 'sess', DurationSeconds: 900, Tags: [{ Key: 'a', Value: 'b' }] });
    expect(assumed.Credentials?.Expiration?.getTime()).toBe(expiration.getTime());
    expect(assumed.Credentials?.SessionToken).toBe('tok');
    expect(assumed.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/r/sess');
    expect(assumed.PackedPolicySize).toBe(6);
  });

  it('STS errors render as ErrorResponse', async () => {
    const client = new STSClient({
      ...common,
      requestHandler: serve(sts, () => {
        throw new AwsError({ code: 'AccessDenied', message: 'User is not authorized to perform: sts:AssumeRole', status: 403 });
      }),
    });
    const err = await rejection(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 'sess' })));
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toBe('User is not authorized to perform: sts:AssumeRole');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.$metadata.requestId).toBe(REQUEST_ID);
  });
});

describe('REST-XML (S3)', () => {
  const s3 = loadModel('s3');
  const client = (handler: Handler, seen?: Seen) =>
    new S3Client({ ...common, forcePathStyle: true, requestHandler: serve(s3, handler, seen) });

  it('ListBuckets', async () => {
    const created = new Date('2026-03-04T05:06:07.000Z');
    const out = await client(() => ({
      Buckets: [{ Name: 'a', CreationDate: created }, { Name: 'b', CreationDate: created }],
      Owner: { ID: 'owner-id', DisplayName: 'me' },
    })).send(new ListBucketsCommand({}));
    expect(out.Buckets?.map((b) => b.Name)).toEqual(['a', 'b']);
    expect(out.Buckets?.[0]?.CreationDate?.getTime()).toBe(created.getTime());
    expect(out.Owner?.ID).toBe('owner-id');
    expect(out.$metadata.requestId).toBe(REQUEST_ID);
  });

  it('PutObject: labels, metadata headers and the raw body', async () => {
    const seen: Seen = {};
    const out = await client(() => ({ ETag: '"abc"', VersionId: 'v1' }), seen).send(
      new PutObjectCommand({
        Bucket: 'logs',
        Key: 'AWSLogs/1/a b+c.json',
        Body: 'hello world',
        ContentType: 'application/json',
        Metadata: { owner: 'alice', 'x-trail': 'main' },
      }),
    );
    expect(seen.operation).toBe('PutObject');
    expect(seen.input?.Bucket).toBe('logs');
    expect(seen.input?.Key).toBe('AWSLogs/1/a b+c.json');
    expect(seen.input?.ContentType).toBe('application/json');
    expect(seen.input?.Metadata).toEqual({ owner: 'alice', 'x-trail': 'main' });
    expect((seen.input?.Body as Buffer).toString()).toBe('hello world');
    expect(out.ETag).toBe('"abc"');
    expect(out.VersionId).toBe('v1');
  });

  it('GetObject: the body and headers reach the SDK', async () => {
    const modified = new Date('2026-11-21T22:00:00Z');
    const seen: Seen = {};
    const out = await client(
      () => ({
        Body: Buffer.from('{"Records":[]}'),
        ContentType: 'application/json',
        ContentLength: 14,
        ETag: '"e"',
        LastModified: modified,
        Metadata: { owner: 'alice' },
      }),
      seen,
    ).send(new GetObjectCommand({ Bucket: 'logs', Key: 'k.json', Range: 'bytes=0-99' }));
    expect(seen.input).toMatchObject({ Bucket: 'logs', Key: 'k.json', Range: 'bytes=0-99' });
    expect(await out.Body?.transformToString()).toBe('{"Records":[]}');
    expect(out.ContentType).toBe('application/json');
    expect(out.LastModified?.getTime()).toBe(modified.getTime());
    expect(out.Metadata).toEqual({ owner: 'alice' });
    expect(out.ETag).toBe('"e"');
  });

  it('ListObjectsV2: query members in, a list of contents out', async () => {
    const seen: Seen = {};
    const modified = new Date('2026-11-21T22:00:00Z');
    const out = await client(
      () => ({
        Name: 'logs',
        Prefix: 'AWSLogs/',
        KeyCount: 2,
        MaxKeys: 2,
        IsTruncated: true,
        NextContinuationToken: 'next',
        Contents: [
          { Key: 'AWSLogs/a', Size: 10, LastModified: modified, ETag: '"1"', StorageClass: 'STANDARD' },
          { Key: 'AWSLogs/b&c', Size: 20, LastModified: modified, ETag: '"2"', StorageClass: 'STANDARD' },
        ],
        CommonPrefixes: [{ Prefix: 'AWSLogs/x/' }],
      }),
      seen,
    ).send(new ListObjectsV2Command({ Bucket: 'logs', Prefix: 'AWSLogs/', MaxKeys: 2, Delimiter: '/' }));
    expect(seen.operation).toBe('ListObjectsV2');
    expect(seen.input).toMatchObject({ Bucket: 'logs', Prefix: 'AWSLogs/', MaxKeys: 2, Delimiter: '/' });
    expect(out.Contents?.map((c) => c.Key)).toEqual(['AWSLogs/a', 'AWSLogs/b&c']);
    expect(out.Contents?.[1]?.Size).toBe(20);
    expect(out.Contents?.[0]?.LastModified?.getTime()).toBe(modified.getTime());
    expect(out.CommonPrefixes?.[0]?.Prefix).toBe('AWSLogs/x/');
    expect(out.IsTruncated).toBe(true);
    expect(out.NextContinuationToken).toBe('next');
    expect(out.KeyCount).toBe(2);
  });

  it('HeadObject: headers only', async () => {
    const out = await client(() => ({ ContentLength: 42, ETag: '"h"', ContentType: 'text/plain', LastModified: new Date(0) })).send(
      new HeadObjectCommand({ Bucket: 'logs', Key: 'k' }),
    );
    expect(out.ContentLength).toBe(42);
    expect(out.ETag).toBe('"h"');
    expect(out.LastModified?.getTime()).toBe(0);
  });

  it('errors: NoSuchKey with its fields, and HEAD errors without a body', async () => {
    const failing = client(() => {
      throw new AwsError({ code: 'NoSuchKey', message: 'The specified key does not exist.', status: 404, extra: { Key: 'k' } });
    });
    const err = await rejection(failing.send(new GetObjectCommand({ Bucket: 'logs', Key: 'k' })));
    expect(err.name).toBe('NoSuchKey');
    expect(err.message).toBe('The specified key does not exist.');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.$metadata.requestId).toBe(REQUEST_ID);
    expect((err as unknown as { Key?: string }).Key).toBe('k');

    const head = await rejection(failing.send(new HeadObjectCommand({ Bucket: 'logs', Key: 'k' })));
    expect(head.name).toBe('NotFound');
    expect(head.$metadata.httpStatusCode).toBe(404);
  });
});
