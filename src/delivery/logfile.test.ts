import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LogFileBuffer, logFileBytes, logFileKey, uniqueString } from './logfile.js';

const id = { trailArn: 'arn:aws:cloudtrail:us-east-2:111122223333:trail/t', trailCreatedAt: 5, fromSeq: 10, toSeq: 20, region: 'us-east-2', part: 0 };

describe('log file names', () => {
  it('follows CloudTrail layout and name format', () => {
    const at = Date.parse('2015-08-01T02:10:59.999Z');
    const key = logFileKey({ accountId: '111122223333', region: 'us-east-2', deliveredAt: at }, 'Mu0KsOhtH1ar15ZZ');
    expect(key).toBe('AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz');
    const prefixed = logFileKey({ accountId: '111122223333', region: 'us-east-2', deliveredAt: at, s3KeyPrefix: 'audit/prod' }, 'x');
    expect(prefixed.startsWith('audit/prod/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/')).toBe(true);
  });

  it('derives a 16-character unique string from the trail and range, deterministically', () => {
    const u = uniqueString(id);
    expect(u).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(uniqueString({ ...id })).toBe(u);
    expect(uniqueString({ ...id, part: 1 })).not.toBe(u);
    expect(uniqueString({ ...id, toSeq: 21 })).not.toBe(u);
    expect(uniqueString({ ...id, region: 'eu-west-1' })).not.toBe(u);
    expect(uniqueString({ ...id, trailCreatedAt: 6 })).not.toBe(u);
  });
});

describe('log file bytes', () => {
  it('is gzip of {"Records":[...]} with the records verbatim, the same bytes every time', async () => {
    const records = ['{"b":1,"a":"ü"}', '{"eventName":"X"}'];
    const bytes = await logFileBytes(records);
    expect(gunzipSync(bytes).toString('utf8')).toBe('{"Records":[{"b":1,"a":"ü"},{"eventName":"X"}]}');
    expect((await logFileBytes(records)).equals(bytes)).toBe(true);
  });

  it('splits records into files under the size limit', () => {
    const buffer = new LogFileBuffer(100);
    const record = 'x'.repeat(30);
    const files = [];
    for (let i = 0; i < 7; i++) {
      const full = buffer.add(record);
      if (full) files.push(full);
    }
    const last = buffer.finish();
    if (last) files.push(last);
    expect(files.map((f) => f.part)).toEqual([0, 1, 2, 3]);
    expect(files.map((f) => f.records.length)).toEqual([2, 2, 2, 1]);
    for (const f of files) expect(`{"Records":[${f.records.join(',')}]}`.length).toBeLessThanOrEqual(100);
    // A record larger than the limit gets a file of its own.
    const big = new LogFileBuffer(10);
    expect(big.add('y'.repeat(50))).toBeUndefined();
    expect(big.add('z')?.records).toEqual(['y'.repeat(50)]);
  });
});
