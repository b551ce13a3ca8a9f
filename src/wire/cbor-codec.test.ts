import { describe, expect, it } from 'vitest';
import { AwsError, isAwsError } from '../platform/errors.js';
import { checkCborBody, decodeCbor, encodeCbor, MAX_CBOR_DEPTH } from './cbor-codec.js';
import { loadModel } from './model.js';
import { codecFor } from './protocol.js';
import type { WireRequest } from './types.js';

const model = loadModel('cloudwatch');

function request(operation: string, body: Buffer, headers: Record<string, string> = {}): WireRequest {
  return {
    method: 'POST',
    rawPath: `/service/GraniteServiceVersion20100801/operation/${operation}`,
    query: new URLSearchParams(),
    headers: { 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor', ...headers },
    body,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isAwsError(e) ? e.code : 'not an AwsError';
  }
  return undefined;
}

describe('Smithy RPC v2 CBOR codec', () => {
  it('is picked for CloudWatch requests that name the protocol or use its path', () => {
    const req = request('ListMetrics', encodeCbor({}));
    const codec = codecFor(model, req);
    expect(codec.operation(req)).toBe('ListMetrics');
    expect(codecFor(model, { ...req, headers: {} }).operation(req)).toBe('ListMetrics');
    expect(codeOf(() => codec.operation({ ...req, rawPath: '/service/Other/operation/ListMetrics' }))).toBe('UnknownOperationException');
    expect(codeOf(() => codec.operation({ ...req, method: 'GET' }))).toBe('UnknownOperationException');
  });

  it('decodes typed input: timestamps from tag 1, doubles, lists of structures', () => {
    const at = new Date('2026-03-01T12:00:00.250Z');
    const body = encodeCbor({
      Namespace: 'App',
      MetricData: [{ MetricName: 'Latency', Timestamp: { tag: 1, value: at.getTime() / 1000 }, Value: 1.5, Dimensions: [{ Name: 'Host', Value: 'a' }] }],
      Ignored: 'x',
    });
    // A plain map with `tag` and `value` keys is not a tag: timestamps need the real tag 1.
    expect(codeOf(() => codecFor(model).decodeInput('PutMetricData', request('PutMetricData', body)))).toBe('SerializationException');
    const tagged = Buffer.concat([
      Buffer.from([0xa2, 0x69]), Buffer.from('Namespace'), Buffer.from([0x63]), Buffer.from('App'),
      Buffer.from([0x6a]), Buffer.from('MetricData'), Buffer.from([0x81, 0xa3, 0x6a]), Buffer.from('MetricName'), Buffer.from([0x61, 0x4d]),
      Buffer.from([0x69]), Buffer.from('Timestamp'), Buffer.from([0xc1, 0xfb]), Buffer.alloc(8),
      Buffer.from([0x65]), Buffer.from('Value'), Buffer.from([0xf9, 0x3e, 0x00]),
    ]);
    tagged.writeDoubleBE(at.getTime() / 1000, tagged.indexOf(Buffer.from([0xc1, 0xfb])) + 2);
    const input = codecFor(model).decodeInput('PutMetricData', request('PutMetricData', tagged));
    expect(input).toEqual({ Namespace: 'App', MetricData: [{ MetricName: 'M', Timestamp: at, Value: 1.5 }] });
  });

  it('encodes output with tag 1 timestamps and errors with __type, message and the query code', () => {
    const codec = codecFor(model, request('DescribeAlarms', Buffer.alloc(0)));
    const out = codec.encodeOutput('DescribeAlarms', { MetricAlarms: [{ AlarmName: 'a', StateUpdatedTimestamp: new Date(1_700_000_000_500), Threshold: 2.5 }] }, 'rid');
    expect(out.headers['smithy-protocol']).toBe('rpc-v2-cbor');
    const bytes = out.body as Buffer;
    expect(bytes.includes(Buffer.from([0xc1]))).toBe(true);
    const decoded = decodeCbor(bytes) as { MetricAlarms: { StateUpdatedTimestamp: { value: number } }[] };
    expect(decoded.MetricAlarms[0]?.StateUpdatedTimestamp.value).toBe(1_700_000_000.5);
    const err = codec.encodeError(new AwsError({ code: 'InvalidParameterValueException', message: 'bad' }), 'rid');
    expect(err.status).toBe(400);
    expect(err.headers['x-amzn-query-error']).toBe('InvalidParameterValue;Sender');
    expect(decodeCbor(err.body as Buffer)).toEqual({ __type: 'InvalidParameterValueException', message: 'bad' });
  });

  it('refuses malformed and hostile bodies before decoding them', () => {
    const bad = (bytes: number[] | Buffer) => codeOf(() => checkCborBody(Buffer.from(bytes)));
    expect(bad([0xa1, 0x61])).toBe('SerializationException'); // truncated
    expect(bad([0x9b, 0, 0, 0, 1, 0, 0, 0, 0])).toBe('SerializationException'); // 4 billion items declared
    expect(bad([0x5a, 0xff, 0xff, 0xff, 0xff])).toBe('SerializationException'); // 4 GB string declared
    expect(bad([0xa1, 0x01, 0x01])).toBe('SerializationException'); // integer map key
    expect(bad([0xc2, 0x41, 0x01])).toBe('SerializationException'); // bignum tag
    expect(bad([0xf8, 0x20])).toBe('SerializationException'); // one-byte simple value
    expect(bad([0x1c])).toBe('SerializationException'); // reserved
    expect(bad([0xa0, 0x00])).toBe('SerializationException'); // trailing bytes
    expect(bad([0x9f, 0x01])).toBe('SerializationException'); // unterminated indefinite list
    expect(bad(Buffer.concat([Buffer.from([0xa1, 0x69]), Buffer.from('__proto__'), Buffer.from([0xa0])]))).toBe('SerializationException');
    expect(bad([...Array<number>(MAX_CBOR_DEPTH + 1).fill(0x81), 0x00])).toBe('SerializationException');
    expect(bad([...Array<number>(MAX_CBOR_DEPTH).fill(0x81), 0x00])).toBeUndefined();
    expect(bad([0x7f, 0x61, 0x61, 0x61, 0x62, 0xff])).toBeUndefined(); // indefinite text in chunks
    expect(bad([0x7f, 0x41, 0x61, 0xff])).toBe('SerializationException'); // byte chunk in a text string
  });
});
