/**
 * Hostile and malformed requests: each gets its protocol's 4xx error, changes nothing,
 * and the server keeps answering.
 */
import { connect } from 'node:net';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCairn, type TestCairn } from './support/cairn.js';
import { jsonCall, send, signRequest } from './support/sign.js';

const target = (op: string) => `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${op}`;
const LIMIT = 64 * 1024;
let cairn: TestCairn;

beforeAll(async () => {
  cairn = await startCairn({ config: { maxBodyBytes: LIMIT } });
});
afterAll(async () => {
  await cairn.stop();
});

async function jsonError(body: string | Buffer, op = 'DescribeTrails'): Promise<{ status: number; type: string }> {
  const res = await jsonCall(cairn.endpoint, cairn.root, 'cloudtrail', target(op), body);
  return { status: res.status, type: (JSON.parse(res.text) as { __type: string }).__type };
}

describe('AWS JSON protocol', () => {
  it.each([
    ['truncated JSON', '{"trailNameList": ['],
    ['not an object', '[1,2,3]'],
    ['a wrong member type', '{"trailNameList": "not-a-list"}'],
    ['deeply nested JSON', '{"a":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}'],
  ])('%s gets SerializationException', async (_name, body) => {
    expect(await jsonError(body)).toEqual({ status: 400, type: 'SerializationException' });
  });

  it('non-UTF-8 bytes get SerializationException', async () => {
    expect(await jsonError(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))).toEqual({
      status: 400,
      type: 'SerializationException',
    });
  });

  it('an unknown operation gets UnknownOperationException', async () => {
    expect(await jsonError('{}', 'StealEverything')).toMatchObject({ status: 400, type: 'UnknownOperationException' });
  });

  it('a request without a signature gets MissingAuthenticationTokenException', async () => {
    const res = await fetch(cairn.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target('DescribeTrails') },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(await res.text())).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('a malformed Authorization header gets IncompleteSignatureException', async () => {
    const res = await fetch(cairn.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target('DescribeTrails'),
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/cloudtrail/aws4_request',
        'x-amz-date': '20260101T000000Z',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(await res.text())).toMatchObject({ __type: 'IncompleteSignatureException' });
  });
});

describe('AWS Query protocol', () => {
  async function queryCall(body: string) {
    return send(
      await signRequest(cairn.endpoint, cairn.root, {
        service: 'iam',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      }),
    );
  }

  it('an unknown action gets InvalidAction in an ErrorResponse', async () => {
    const res = await queryCall('Action=StealEverything&Version=2010-05-08');
    expect(res.status).toBe(400);
    expect(res.text).toContain('<ErrorResponse');
    expect(res.text).toContain('<Code>InvalidAction</Code>');
  });

  it('a malformed number gets a 400 error, and nothing is created', async () => {
    const res = await queryCall('Action=ListUsers&Version=2010-05-08&MaxItems=lots');
    expect(res.status).toBe(400);
    expect(res.text).toContain('<ErrorResponse');
    const bad = await queryCall('Action=CreateUser&Version=2010-05-08&UserName=' + 'x'.repeat(200));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<Code>ValidationError</Code>');
    const users = await cairn.awsJson<{ Users: unknown[] }>(['iam', 'list-users']);
    expect(users.Users).toEqual([]);
  });
});

describe('oversized bodies', () => {
  it('are refused with 413 from the declared length, before the body is read', async () => {
    const res = await jsonCall(cairn.endpoint, cairn.root, 'cloudtrail', target('DescribeTrails'), 'x'.repeat(LIMIT + 1));
    expect(res.status).toBe(413);
  });

  it('are refused with 413 when streamed without a length', async () => {
    const big = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(LIMIT / 2));
        controller.close();
      },
    });
    const res = await fetch(cairn.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: big,
      duplex: 'half',
    });
    expect(res.status).toBe(413);
  });
});

describe('broken HTTP', () => {
  it('garbage on the socket gets 400 Bad Request', async () => {
    const { port } = new URL(cairn.endpoint);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('afterwards', () => {
  it('the server still answers', async () => {
    const who = await new STSClient({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(who.Account).toBe(cairn.server.accountId);
  });
});
