// Codec behaviour the SDKs never exercise: malformed and hostile bodies, routing
// corners, REST-JSON, query-compatible JSON errors, and the wire forms of errors.
import { describe, expect, it } from 'vitest';
import { AwsError, isAwsError } from '../platform/errors.js';
import { loadModel } from './model.js';
import { codecFor, protocolsOf } from './protocol.js';
import type { WireRequest } from './types.js';

interface RequestInit {
  method?: string;
  rawPath?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  query?: URLSearchParams | string;
}

function request(init: RequestInit): WireRequest {
  const body = init.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
  const query = init.query instanceof URLSearchParams ? init.query : new URLSearchParams(init.query ?? '');
  return { method: init.method ?? 'POST', rawPath: init.rawPath ?? '/', headers: init.headers ?? {}, query, body };
}

function thrown(fn: () => unknown): AwsError {
  try {
    fn();
  } catch (e) {
    if (isAwsError(e)) return e;
    throw e;
  }
  throw new Error('expected an AwsError');
}

describe('JSON protocol', () => {
  const model = loadModel('cloudtrail');
  const codec = codecFor(model);
  const target = (op: string) => ({
    'x-amz-target': `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${op}`,
    'content-type': 'application/x-amz-json-1.1',
  });
  const decode = (body: Buffer | string, op = 'CreateTrail') => codec.decodeInput(op, request({ headers: target(op), body }));

  it('names operations by either target form and refuses unknown ones', () => {
    expect(codec.operation(request({ headers: target('CreateTrail') }))).toBe('CreateTrail');
    expect(codec.operation(request({ headers: { 'x-amz-target': 'CloudTrail_20131101.LookupEvents' } }))).toBe('LookupEvents');
    for (const t of ['CloudTrail_20131101.Nope', 'Other.CreateTrail', 'CreateTrail', '']) {
      const e = thrown(() => codec.operation(request({ headers: { 'x-amz-target': t } })));
      expect(e.code).toBe('UnknownOperationException');
      expect(e.status).toBe(400);
    }
  });

  it('an empty body is {}', () => {
    expect(decode('')).toEqual({});
    expect(decode('  ')).toEqual({});
  });

  it.each([
    ['malformed JSON', '{"Name": '],
    ['a non-object', '[1,2]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['deep nesting', '['.repeat(10_000) + ']'.repeat(10_000)],
    ['deep nesting in a member', `{"Name": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`],
    ['non-UTF-8 bytes', Buffer.from([0x7b, 0x22, 0x4e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['a number for a string', '{"Name": 5, "S3BucketName": "b"}'],
    ['a string for a boolean', '{"Name": "n", "IsMultiRegionTrail": "yes"}'],
    ['an object for a list', '{"Name": "n", "TagsList": {"Key": "a"}}'],
    ['a fraction for an integer', '{"MaxResults": 1.5}'],
    ['a string for a timestamp', '{"StartTime": "yesterday"}'],
  ])('refuses %s with SerializationException', (_what, body) => {
    const op = _what.includes('integer') || _what.includes('timestamp') ? 'LookupEvents' : 'CreateTrail';
    const e = thrown(() => decode(body, op));
    expect(e.code).toBe('SerializationException');
    expect(e.status).toBe(400);
  });

  it('ignores unknown members and nulls, keeps map keys like __proto__ as data', () => {
    const input = decode('{"Name":"n","Bogus":1,"S3KeyPrefix":null}');
    expect(input).toEqual({ Name: 'n' });
    const logs = loadModel('logs');
    const tags = codecFor(logs).decodeInput(
      'TagLogGroup',
      request({ headers: { 'x-amz-target': 'Logs_20140328.TagLogGroup' }, body: '{"logGroupName":"g","tags":{"__proto__":"x","a":"b"}}' }),
    );
    const map = tags.tags as Record<string, unknown>;
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['__proto__', 'a']);
  });

  it('renders errors with __type, x-amzn-ErrorType and the status', () => {
    const res = codec.encodeError(new AwsError({ code: 'TrailNotFoundException', message: 'gone', status: 400 }), 'rid');
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-ErrorType']).toBe('TrailNotFoundException');
    expect(res.headers['x-amzn-RequestId']).toBe('rid');
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(res.headers['x-amzn-query-error']).toBeUndefined();
    expect(JSON.parse(String(res.body))).toEqual({ __type: 'TrailNotFoundException', message: 'gone' });
  });

  it('query-compatible services (SQS, CloudWatch) add x-amzn-query-error', () => {
    const sqs = codecFor(loadModel('sqs'));
    const res = sqs.encodeError(new AwsError({ code: 'QueueDoesNotExist', message: 'no queue' }), 'rid');
    expect(res.headers['x-amzn-query-error']).toBe('QueueDoesNotExist;Sender');
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.0');
    const cw = codecFor(loadModel('cloudwatch'));
    const fault = cw.encodeError(new AwsError({ code: 'ResourceNotFoundException', message: 'x', status: 500 }), 'rid');
    expect(fault.headers['x-amzn-query-error']).toBe('ResourceNotFoundException;Receiver');
    const mapped = cw.encodeError(new AwsError({ code: 'DashboardNotFoundError', message: 'x', status: 404 }), 'rid');
    expect(mapped.headers['x-amzn-query-error']).toBe('ResourceNotFound;Sender');
  });

  it('CloudWatch speaks CBOR, JSON and query; the request picks the codec', () => {
    const cw = loadModel('cloudwatch');
    expect(protocolsOf(cw)).toEqual(['smithy-rpc-v2-cbor', 'json', 'query']);
    const json = request({ headers: { 'x-amz-target': 'GraniteServiceVersion20100801.ListDashboards', 'content-type': 'application/x-amz-json-1.0' } });
    expect(codecFor(cw, json).operation(json)).toBe('ListDashboards');
    const form = request({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=ListDashboards&Version=2010-08-01' });
    const queryCodec = codecFor(cw, form);
    expect(queryCodec.operation(form)).toBe('ListDashboards');
    expect(String(queryCodec.encodeOutput('ListDashboards', { DashboardEntries: [] }, 'r').body)).toContain('<ListDashboardsResult>');
  });

  it('writes timestamps as epoch seconds and blobs as base64', () => {
    const kms = codecFor(loadModel('kms'));
    const res = kms.encodeOutput('Encrypt', { CiphertextBlob: Buffer.from('hi'), KeyId: 'k' }, 'r');
    expect(JSON.parse(String(res.body))).toEqual({ CiphertextBlob: 'aGk=', KeyId: 'k' });
    const out = codec.encodeOutput('LookupEvents', { Events: [{ EventId: 'e', EventTime: new Date(1_700_000_000_500) }] }, 'r');
    expect(JSON.parse(String(out.body))).toEqual({ Events: [{ EventId: 'e', EventTime: 1_700_000_000.5 }] });
  });
});

describe('query protocol', () => {
  const codec = codecFor(loadModel('iam'));
  const form = (body: string | Buffer) => request({ headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });

  it('decodes lists, nested structures and numbers; reads GET query strings too', () => {
    const req = form('Action=CreateUser&Version=2010-05-08&UserName=a&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.2.Key=k2&Tags.member.2.Value=');
    expect(codec.operation(req)).toBe('CreateUser');
    expect(codec.decodeInput('CreateUser', req)).toEqual({ UserName: 'a', Tags: [{ Key: 'k', Value: 'v' }, { Key: 'k2', Value: '' }] });
    const get = request({ method: 'GET', query: 'Action=ListUsers&MaxItems=5' });
    expect(codec.operation(get)).toBe('ListUsers');
    expect(codec.decodeInput('ListUsers', get)).toEqual({ MaxItems: 5 });
  });

  it('decodes an empty list sent as `Name=`', () => {
    const sns = codecFor(loadModel('sns'));
    const req = form('Action=TagResource&ResourceArn=arn&Tags=');
    expect(sns.decodeInput('TagResource', req)).toEqual({ ResourceArn: 'arn', Tags: [] });
  });

  it('decodes maps as Name.entry.N.key/value', () => {
    const sns = codecFor(loadModel('sns'));
    const req = form('Action=CreateTopic&Name=t&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=My%20Topic&Attributes.entry.2.key=Policy&Attributes.entry.2.value=%7B%7D');
    expect(sns.decodeInput('CreateTopic', req)).toEqual({ Name: 't', Attributes: { DisplayName: 'My Topic', Policy: '{}' } });
  });

  it('refuses malformed numbers and booleans, unknown and missing actions, bad bodies', () => {
    expect(thrown(() => codec.decodeInput('ListUsers', form('Action=ListUsers&MaxItems=ten'))).code).toBe('InvalidParameterValue');
    expect(thrown(() => codec.decodeInput('ListUsers', form('Action=ListUsers&MaxItems=99999999999'))).code).toBe('InvalidParameterValue');
    expect(thrown(() => codec.decodeInput('CreateLoginProfile', form('UserName=a&Password=p&PasswordResetRequired=maybe'))).code).toBe(
      'InvalidParameterValue',
    );
    const unknown = thrown(() => codec.operation(form('Action=DropTables&Version=2010-05-08')));
    expect(unknown.code).toBe('InvalidAction');
    expect(unknown.message).toBe('Could not find operation DropTables for version 2010-05-08');
    expect(thrown(() => codec.operation(form('Version=2010-05-08'))).code).toBe('MissingAction');
    expect(thrown(() => codec.operation(form(Buffer.from([0x41, 0x3d, 0xff])))).code).toBe('MalformedQueryString');
    const json = request({ headers: { 'content-type': 'application/json' }, body: '{"Action":"ListUsers"}' });
    expect(thrown(() => codec.operation(json)).code).toBe('MalformedQueryString');
  });

  it('renders output with the result wrapper, namespace and request id', () => {
    const res = codec.encodeOutput('GetUser', { User: { UserName: 'a', Path: '/', UserId: 'i', Arn: 'arn', CreateDate: new Date('2026-11-21T22:00:00Z') } }, 'rid');
    expect(res.body).toBe(
      '<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Arn>arn</Arn><CreateDate>2026-11-21T22:00:00Z</CreateDate><Path>/</Path><UserId>i</UserId><UserName>a</UserName></User></GetUserResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>',
    );
    const none = codec.encodeOutput('DeleteUser', {}, 'rid');
    expect(none.body).toBe('<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteUserResponse>');
  });

  it('renders errors as ErrorResponse with Type, Code and Message', () => {
    const res = codec.encodeError(new AwsError({ code: 'NoSuchEntity', message: 'User <x> not found', status: 404 }), 'rid');
    expect(res.status).toBe(404);
    expect(res.body).toBe(
      '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>User &lt;x&gt; not found</Message></Error><RequestId>rid</RequestId></ErrorResponse>',
    );
  });
});

describe('REST-XML (S3)', () => {
  const codec = codecFor(loadModel('s3'));
  const op = (method: string, rawPath: string, query = '', headers: Record<string, string> = {}) =>
    codec.operation(request({ method, rawPath, query, headers }));

  it('routes by method, path and query, most specific first', () => {
    expect(op('GET', '/')).toBe('ListBuckets');
    expect(op('GET', '/b')).toBe('ListObjects');
    expect(op('GET', '/b/')).toBe('ListObjects');
    expect(op('GET', '/b', 'list-type=2&prefix=x')).toBe('ListObjectsV2');
    expect(op('GET', '/b', 'versioning')).toBe('GetBucketVersioning');
    expect(op('GET', '/b', 'lifecycle')).toBe('GetBucketLifecycleConfiguration');
    expect(op('GET', '/b/k', 'x-id=GetObject')).toBe('GetObject');
    expect(op('GET', '/b/a/b/c')).toBe('GetObject');
    expect(op('GET', '/b/k', 'uploadId=u')).toBe('ListParts');
    expect(op('PUT', '/b')).toBe('CreateBucket');
    expect(op('PUT', '/b/k')).toBe('PutObject');
    expect(op('PUT', '/b/k', '', { 'x-amz-copy-source': '/src/k' })).toBe('CopyObject');
    expect(op('PUT', '/b/k', 'partNumber=1&uploadId=u')).toBe('UploadPart');
    expect(op('PUT', '/b/k', 'partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k' })).toBe('UploadPartCopy');
    expect(op('POST', '/b/k', 'uploads')).toBe('CreateMultipartUpload');
    expect(op('POST', '/b', 'delete')).toBe('DeleteObjects');
    expect(op('DELETE', '/b/k', 'uploadId=u')).toBe('AbortMultipartUpload');
    expect(op('DELETE', '/b/k')).toBe('DeleteObject');
    expect(op('HEAD', '/b')).toBe('HeadBucket');
    expect(op('HEAD', '/b/k')).toBe('HeadObject');
  });

  it('answers unroutable requests as S3 does', () => {
    const e = thrown(() => op('POST', '/'));
    expect(e.code).toBe('MethodNotAllowed');
    expect(e.status).toBe(405);
    expect(e.extra).toEqual({ Method: 'POST', ResourceType: 'SERVICE' });
    expect(thrown(() => op('PATCH', '/b/k')).extra).toEqual({ Method: 'PATCH', ResourceType: 'OBJECT' });
  });

  it('percent-decodes labels and keeps slashes in greedy keys', () => {
    const req = request({ method: 'GET', rawPath: '/my-bucket/a/b%20c/%E2%82%AC%2Bx' });
    expect(codec.decodeInput(codec.operation(req), req)).toMatchObject({ Bucket: 'my-bucket', Key: 'a/b c/€+x' });
    const bad = request({ method: 'GET', rawPath: '/b/%zz' });
    expect(thrown(() => codec.decodeInput('GetObject', bad)).code).toBe('InvalidURI');
  });

  it('reads structure payloads, flattened lists and rejects bad header values', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>v</VersionId></Object><Quiet>true</Quiet></Delete>';
    const req = request({ method: 'POST', rawPath: '/b', query: 'delete', body });
    expect(codec.decodeInput('DeleteObjects', req)).toEqual({
      Bucket: 'b',
      Delete: { Objects: [{ Key: 'a&b' }, { Key: 'c', VersionId: 'v' }], Quiet: true },
    });
    const badHeader = request({ method: 'GET', rawPath: '/b/k', headers: { 'if-modified-since': 'not a date' } });
    expect(thrown(() => codec.decodeInput('GetObject', badHeader)).code).toBe('InvalidArgument');
  });

  it.each([
    ['truncated XML', '<Delete><Object><Key>a</Key></Object>'],
    ['mismatched tags', '<Delete><Object></Delete></Object>'],
    ['two roots', '<Delete/><Delete/>'],
    ['a DOCTYPE entity bomb', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><Delete><Quiet>&lol2;</Quiet></Delete>'],
    ['an external entity', '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Quiet>&x;</Quiet></Delete>'],
    ['an undefined entity', '<Delete><Object><Key>&nope;</Key></Object></Delete>'],
    ['deep nesting', '<a>'.repeat(10_000) + '</a>'.repeat(10_000)],
    ['non-UTF-8 bytes', Buffer.concat([Buffer.from('<Delete><Object><Key>'), Buffer.from([0xc3, 0x28]), Buffer.from('</Key></Object></Delete>')])],
    ['a wrong scalar', '<Delete><Quiet>perhaps</Quiet></Delete>'],
  ])('refuses %s with MalformedXML', (_what, body) => {
    const req = request({ method: 'POST', rawPath: '/b', query: 'delete', body });
    const e = thrown(() => codec.decodeInput('DeleteObjects', req));
    expect(e.code).toBe('MalformedXML');
    expect(e.status).toBe(400);
  });

  it('writes payload documents with their root and namespace, and error documents', () => {
    const res = codec.encodeOutput('GetBucketVersioning', { Status: 'Enabled' }, 'rid');
    expect(res.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>',
    );
    expect(res.headers['x-amz-request-id']).toBe('rid');
    expect(res.headers['x-amz-id-2']).toMatch(/^[A-Za-z0-9+/=]+$/);
    const loc = codec.encodeOutput('GetBucketLocation', { LocationConstraint: 'eu-west-1' }, 'rid');
    expect(loc.body).toContain('<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>');
    const created = codec.encodeOutput('CreateBucket', { Location: '/b' }, 'rid');
    expect(created.headers.location).toBe('/b');
    expect(created.body).toBe('');
    const err = codec.encodeError(new AwsError({ code: 'NoSuchBucket', message: 'The specified bucket does not exist', status: 404, extra: { BucketName: 'b' } }), 'rid');
    expect(err.status).toBe(404);
    expect(String(err.body)).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchBucket<\/Code><Message>The specified bucket does not exist<\/Message><BucketName>b<\/BucketName><RequestId>rid<\/RequestId><HostId>[^<]+<\/HostId><\/Error>$/,
    );
  });

  it('writes xsi:type attributes with their namespace', () => {
    const res = codec.encodeOutput(
      'GetBucketAcl',
      { Owner: { ID: 'o' }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 'o' }, Permission: 'FULL_CONTROL' }] },
      'rid',
    );
    expect(String(res.body)).toContain(
      '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee>',
    );
  });
});

describe('REST-JSON (CloudTrail Data)', () => {
  const codec = codecFor(loadModel('cloudtrail-data'));

  it('routes, reads query members and the JSON body', () => {
    const req = request({
      method: 'POST',
      rawPath: '/PutAuditEvents',
      query: 'channelArn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A1%3Achannel%2Fc',
      headers: { 'content-type': 'application/json' },
      body: '{"auditEvents":[{"id":"e1","eventData":"{}"}]}',
    });
    expect(codec.operation(req)).toBe('PutAuditEvents');
    expect(codec.decodeInput('PutAuditEvents', req)).toEqual({
      channelArn: 'arn:aws:cloudtrail:us-east-1:1:channel/c',
      auditEvents: [{ id: 'e1', eventData: '{}' }],
    });
    expect(thrown(() => codec.decodeInput('PutAuditEvents', { ...req, body: Buffer.from('{"auditEvents": [') })).code).toBe('SerializationException');
    expect(thrown(() => codec.operation({ ...req, rawPath: '/Nope' })).status).toBe(404);
  });

  it('writes output and errors', () => {
    const res = codec.encodeOutput('PutAuditEvents', { successful: [{ id: 'e1', eventID: 'x' }], failed: [] }, 'rid');
    expect(res.status).toBe(200);
    expect(JSON.parse(String(res.body))).toEqual({ successful: [{ id: 'e1', eventID: 'x' }], failed: [] });
    const err = codec.encodeError(new AwsError({ code: 'ChannelNotFound', message: 'no channel', status: 404 }), 'rid');
    expect(err.headers['x-amzn-ErrorType']).toBe('ChannelNotFound');
    expect(err.headers['x-amzn-RequestId']).toBe('rid');
    expect(JSON.parse(String(err.body))).toEqual({ message: 'no channel' });
  });
});
