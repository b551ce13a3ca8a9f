/**
 * Authentication against a running server with an injected clock: skewed clients,
 * replays outside the 15-minute window, presigned URL expiry, and a chunked upload body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { chunkedSignedPut, jsonCall, send, signRequest } from './support/sign.js';

const MINUTE = 60_000;
const describeTrails = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails';
let cairn: TestCairn;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  cairn = await startCairn({ clock });
});
afterAll(async () => {
  await cairn.stop();
});

describe('clock skew', () => {
  it('refuses a client whose clock is 16 minutes behind, with AWS error and message', async () => {
    clock.set(Date.now() + 16 * MINUTE);
    const res = await jsonCall(cairn.endpoint, cairn.root, 'cloudtrail', describeTrails, '{}');
    clock.set(Date.now());
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ __type: 'InvalidSignatureException' });
    expect(res.text).toContain('Signature expired');
  });

  it('the AWS CLI sees the same refusal when its clock is ahead', async () => {
    clock.set(Date.now() - 16 * MINUTE);
    const res = await cairn.aws(['sts', 'get-caller-identity']);
    clock.set(Date.now());
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('SignatureDoesNotMatch');
    expect(res.stderr).toContain('Signature not yet current');
  });
});

describe('replay', () => {
  it('a captured request replays within the window but not after it', async () => {
    clock.set(Date.now());
    const signed = await signRequest(cairn.endpoint, cairn.root, {
      service: 'cloudtrail',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': describeTrails },
      body: '{}',
    });
    expect((await send(signed)).status).toBe(200);
    clock.advance(14 * MINUTE);
    expect((await send(signed)).status).toBe(200);
    clock.advance(2 * MINUTE);
    const late = await send(signed);
    expect(late.status).toBe(400);
    expect(late.text).toContain('Signature expired');
  });
});

describe('chunked uploads', () => {
  it('accepts a body sent as signed chunks, and refuses one with a tampered chunk', async () => {
    clock.set(Date.now());
    await cairn.awsJson(['s3api', 'create-bucket', '--bucket', 'chunks']);
    const payload = Buffer.alloc(200 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 251;
    const put = await chunkedSignedPut(cairn.endpoint, cairn.root, '/chunks/signed.bin', payload, 64 * 1024);
    const res = await send(put);
    expect(res.status, res.text).toBe(200);

    const s3 = new S3Client({ endpoint: cairn.endpoint, region: 'us-east-1', credentials: cairn.root, forcePathStyle: true });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'chunks', Key: 'signed.bin' }));
    expect(Buffer.from(await got.Body?.transformToByteArray() ?? [])).toEqual(payload);

    const tampered = await chunkedSignedPut(cairn.endpoint, cairn.root, '/chunks/tampered.bin', payload, 64 * 1024);
    const body = Buffer.from(tampered.body ?? '');
    body[body.length - 1000] = (body[body.length - 1000] ?? 0) ^ 1;
    const refused = await send({ ...tampered, body });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    await expect(s3.send(new GetObjectCommand({ Bucket: 'chunks', Key: 'tampered.bin' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});

describe('records', () => {
  it('refused signatures leave no record, accepted ones exactly one each', () => {
    const records = readRecords(cairn.server.dataDir).map((r) => r.record);
    const ids = records.map((r) => r.requestID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(records.filter((r) => r.eventName === 'DescribeTrails')).toHaveLength(2);
  });
});
