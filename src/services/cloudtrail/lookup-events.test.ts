// The LookupEvents operation (services/cloudtrail/lookup-events.ts) over a real History:
// driven by the official CloudTrail SDK client through the JSON codec in-process, and
// recorded the way CloudTrail records LookupEvents calls.
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCallRecord } from '../../audit/record.js';
import type { EventLog, NewEvent } from '../../eventlog/eventlog.js';
import { openSqliteEventLog } from '../../eventlog/sqlite-eventlog.js';
import { AwsError, isAwsError } from '../../platform/errors.js';
import { cryptoRandom } from '../../platform/ids.js';
import { lookupEventsOperation, lookupEventsRequestParameters } from './lookup-events.js';
import type { CallContext } from '../service.js';
import { loadModel } from '../../wire/model.js';
import { codecFor } from '../../wire/protocol.js';
import { validateInput } from '../../wire/validate.js';
import { History } from '../../history/history.js';
import { historyMigrations } from '../../history/schema.js';

const ACCOUNT = '111122223333';
const NOW = Date.parse('2026-03-01T12:00:00Z');
const model = loadModel('cloudtrail');
const codec = codecFor(model);

let dataDir: string;
let log: EventLog;
let history: History;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-lookup-'));
  ({ log } = await openSqliteEventLog({ dataDir, migrations: historyMigrations }));
  history = new History({ dataDir, log, random: cryptoRandom });
});

afterEach(async () => {
  history.close();
  await log.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function ctx(region: string): CallContext {
  return {
    requestId: 'req-1',
    principal: { type: 'Root', accountId: ACCOUNT, accessKeyId: 'AKIAROOT' },
    accountId: ACCOUNT,
    region,
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    now: NOW,
    secureTransport: false,
  };
}

// An SDK client whose requests go straight through the codec to the operation, as the
// pipeline would route them (minus signing and recording).
function client(region = 'us-east-1'): CloudTrailClient {
  const spec = lookupEventsOperation({ history });
  return new CloudTrailClient({
    region,
    endpoint: 'http://cairn.invalid',
    credentials: { accessKeyId: 'AKIAROOT', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: HttpRequest) => {
        const raw: unknown = request.body;
        const body =
          typeof raw === 'string' ? Buffer.from(raw) : raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) : Buffer.alloc(0);
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
        const wire = { method: request.method, rawPath: request.path, query: new URLSearchParams(), headers, body };
        const operation = codec.operation(wire);
        let response;
        try {
          const input = codec.decodeInput(operation, wire);
          validateInput(model, operation, input);
          response = codec.encodeOutput(operation, await spec.handle(input, ctx(region)), 'req-1');
        } catch (e) {
          if (!isAwsError(e)) throw e;
          response = codec.encodeError(e, 'req-1');
        }
        return {
          response: new HttpResponse({ statusCode: response.status, headers: response.headers, body: Readable.from([Buffer.from(response.body)]) }),
        };
      },
    },
  });
}

function event(i: number, overrides: Partial<NewEvent> = {}): NewEvent {
  const eventId = `0000000${i}-aaaa-bbbb-cccc-dddddddddddd`;
  return {
    eventId,
    eventTime: NOW - 60_000 + i * 1000 + 250,
    accountId: ACCOUNT,
    region: 'us-east-1',
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'CreateTrail',
    readOnly: false,
    category: 'Management',
    username: 'root',
    accessKeyId: 'AKIAROOT',
    resources: [{ type: 'AWS::CloudTrail::Trail', name: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/t${i}` }],
    record: `{"eventVersion":"1.11","eventID":"${eventId}","n":${i}}`,
    ...overrides,
  };
}

describe('LookupEvents operation', () => {
  it('answers the SDK with the model’s Event shape and pages with NextToken', async () => {
    await log.appendMany([event(1), event(2), event(3, { readOnly: true, eventName: 'DescribeTrails', resources: [] })]);
    const sdk = client();
    const first: LookupEventsCommandOutput = await sdk.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }], MaxResults: 1 }),
    );
    expect(first.Events).toEqual([
      {
        EventId: event(2).eventId,
        EventName: 'CreateTrail',
        ReadOnly: 'false',
        AccessKeyId: 'AKIAROOT',
        EventTime: new Date(NOW - 60_000 + 2000),
        EventSource: 'cloudtrail.amazonaws.com',
        Username: 'root',
        Resources: [{ ResourceType: 'AWS::CloudTrail::Trail', ResourceName: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/t2` }],
        CloudTrailEvent: event(2).record,
      },
    ]);
    expect(first.NextToken).toEqual(expect.any(String));
    const second = await sdk.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }], NextToken: first.NextToken }),
    );
    expect(second.Events?.map((e) => e.EventId)).toEqual([event(1).eventId]);
    expect(second.NextToken).toBeUndefined();

    const all = await sdk.send(new LookupEventsCommand({ StartTime: new Date(NOW - 60_000 + 2000), EndTime: new Date(NOW) }));
    expect(all.Events?.map((e) => [e.EventId, e.ReadOnly, e.Resources])).toEqual([
      [event(3).eventId, 'true', []],
      [event(2).eventId, 'false', [expect.any(Object)]],
    ]);
    // Another Region of the same account has its own history.
    expect((await client('eu-west-1').send(new LookupEventsCommand({}))).Events).toEqual([]);
  });

  it('surfaces the engine’s errors with their AWS codes', async () => {
    const sdk = client();
    const codeOf = async (input: LookupEventsCommandInput): Promise<string> => {
      try {
        await sdk.send(new LookupEventsCommand(input));
      } catch (e) {
        return (e as { name: string }).name;
      }
      return 'no error';
    };
    expect(await codeOf({ StartTime: new Date(NOW), EndTime: new Date(NOW - 1000) })).toBe('InvalidTimeRangeException');
    expect(await codeOf({ NextToken: 'Zm9yZ2Vk' })).toBe('InvalidNextTokenException');
    expect(await codeOf({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'maybe' }] })).toBe('InvalidLookupAttributesException');
    expect(await codeOf({ EventCategory: 'management' as 'insight' })).toBe('InvalidEventCategoryException');
  });

  it('is recorded as CloudTrail records LookupEvents', () => {
    const spec = lookupEventsOperation({ history });
    expect(spec.readOnly).toBe(true);
    expect(spec.category).toBe('Management');
    const input = {
      EndTime: new Date('2025-10-27T00:00:52Z'),
      LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }],
      StartTime: new Date('2025-10-26T23:50:52Z'),
    };
    const record = buildCallRecord({
      principal: { type: 'Root', accountId: ACCOUNT, accessKeyId: 'AKIAROOT' },
      eventTime: NOW,
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'LookupEvents',
      awsRegion: 'us-east-1',
      sourceIPAddress: '127.0.0.1',
      userAgent: 'test',
      requestParameters: spec.recordRequest?.(input),
      responseElements: spec.recordResponse?.({ Events: [] }),
      requestID: 'req-1',
      eventID: 'evt-1',
      readOnly: true,
      resources: [],
      category: 'Management',
      recipientAccountId: ACCOUNT,
    });
    expect(record).toContain(
      '"requestParameters":{"lookupAttributes":[{"attributeKey":"ReadOnly","attributeValue":"false"}],"startTime":"Oct 26, 2025, 11:50:52 PM","endTime":"Oct 27, 2025, 12:00:52 AM"},"responseElements":null,',
    );
    expect(JSON.stringify(lookupEventsRequestParameters({ MaxResults: 50 }))).toBe('{"maxResults":50}');
    expect(JSON.stringify(lookupEventsRequestParameters({}))).toBe('{}');
  });

  it('passes AwsError through unchanged for the pipeline to render', async () => {
    const spec = lookupEventsOperation({ history });
    await expect(spec.handle({ MaxResults: 51 }, ctx('us-east-1'))).rejects.toBeInstanceOf(AwsError);
  });
});
