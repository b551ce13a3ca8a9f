import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventLog } from '../eventlog/eventlog.js';
import { openSqliteEventLog } from '../eventlog/sqlite-eventlog.js';
import { MAX_RECORD_CHARS } from './ingest-records.js';
import { Ingestion, ingestMigrations } from './ingestion.js';

const stamp = { accountId: '111111111111', callerArn: 'arn:aws:iam::111111111111:root', now: Date.UTC(2026, 11, 1) };
const record = (id: string, extra: Record<string, unknown> = {}) => ({
  eventTime: '2026-11-30T10:00:00Z',
  eventID: id,
  eventSource: 'orders.example.com',
  eventName: 'GetOrder',
  awsRegion: 'eu-west-1',
  userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::222222222222:assumed-role/app/session-7' },
  ...extra,
});

let dir: string;
let log: EventLog;
let ingestion: Ingestion;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-ingestion-'));
  ({ log } = await openSqliteEventLog({ dataDir: dir, migrations: ingestMigrations }));
  ingestion = new Ingestion({ dataDir: dir, log });
});

afterEach(async () => {
  await ingestion.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Ingestion', () => {
  it('adds each eventID once per account, even when two callers send the same records at once', async () => {
    const batch = [record('a'), record('b'), record('a')];
    const [one, two] = await Promise.all([ingestion.ingest(batch, stamp), ingestion.ingest(batch, stamp)]);
    expect(one).toEqual({ ingested: 2, duplicates: 1, failed: [] });
    expect(two).toEqual({ ingested: 0, duplicates: 3, failed: [] });
    // Another account's log is its own.
    const other = await ingestion.ingest(batch, { ...stamp, accountId: '333333333333' });
    expect(other.ingested).toBe(2);
    expect(log.readAfter(0, 10).map((e) => [e.accountId, e.eventId])).toEqual([
      ['111111111111', 'a'],
      ['111111111111', 'b'],
      ['333333333333', 'a'],
      ['333333333333', 'b'],
    ]);
  });

  it('keeps the record’s time, reads readOnly and the user name as CloudTrail does, and marks it', async () => {
    await ingestion.ingest([record('c')], stamp);
    const [event] = log.readAfter(0, 1);
    expect(event).toMatchObject({ eventTime: Date.UTC(2026, 10, 30, 10), readOnly: true, username: 'session-7', region: 'eu-west-1', category: 'Management' });
    expect(JSON.parse(event?.record ?? '{}')).toMatchObject({
      recipientAccountId: '111111111111',
      eventCategory: 'Management',
      additionalEventData: { cairnIngestion: { ingestedAt: '2026-12-01T00:00:00.000Z', ingestedBy: stamp.callerArn } },
    });
  });

  it('refuses what is not a record, one record at a time', async () => {
    const result = await ingestion.ingest(
      [
        null,
        record('d', { eventCategory: 'Insight' }),
        record('e', { eventName: 'Get\ud800' }),
        record('f', { requestParameters: { blob: 'x'.repeat(MAX_RECORD_CHARS) } }),
        record('g', { eventTime: '2026-11-30 10:00' }),
        record('h'),
      ],
      stamp,
    );
    expect(result.failed.map((f) => [f.index, f.errorCode])).toEqual([
      [0, 'InvalidRecord'],
      [1, 'InvalidRecord'],
      [2, 'InvalidRecord'],
      [3, 'RecordTooLarge'],
      [4, 'InvalidRecord'],
    ]);
    expect(result.ingested).toBe(1);
  });
});
