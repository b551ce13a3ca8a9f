import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventLog, NewEvent } from '../eventlog/eventlog.js';
import { openSqliteEventLog } from '../eventlog/sqlite-eventlog.js';
import { ManualClock } from '../platform/clock.js';
import { AwsError } from '../platform/errors.js';
import { cryptoRandom } from '../platform/ids.js';
import { History, HISTORY_RETENTION_MS, lookupSql, type LookupQuery } from './history.js';
import { historyMigrations, historyTables } from './schema.js';
import { HISTORY_KEY_FILE } from './token.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const T0 = Date.parse('2026-03-01T00:00:00Z');

const dirs: string[] = [];
const logs: EventLog[] = [];
const histories: History[] = [];

afterEach(async () => {
  for (const h of histories.splice(0)) h.close();
  for (const log of logs.splice(0)) await log.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-history-'));
  dirs.push(dir);
  return dir;
}

async function setup(dataDir = tempDir()): Promise<{ dataDir: string; log: EventLog; history: History; clock: ManualClock }> {
  const { log } = await openSqliteEventLog({ dataDir, migrations: historyMigrations, purgeBatchEvents: 50 });
  logs.push(log);
  const history = new History({ dataDir, log, random: cryptoRandom });
  histories.push(history);
  return { dataDir, log, history, clock: new ManualClock(T0) };
}

let counter = 0;

/** A management event at `time`; overrides change any field. The record is distinctive text. */
function event(time: number, overrides: Partial<NewEvent> = {}): NewEvent {
  const eventId = `evt-${String(++counter).padStart(6, '0')}`;
  const base: NewEvent = {
    eventId,
    eventTime: time,
    accountId: ACCOUNT,
    region: REGION,
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'DescribeTrails',
    readOnly: true,
    category: 'Management',
    username: 'alice',
    accessKeyId: 'AKIAALICE',
    record: '',
  };
  const e = { ...base, ...overrides };
  // Odd spacing and non-ASCII text: the history must hand back exactly these bytes.
  e.record = `{"eventID":"${e.eventId}",  "eventName":"${e.eventName}","note":"ü ✓ 𝄞 \\u00e9"}`;
  return e;
}

function lookup(history: History, clock: ManualClock, q: Partial<LookupQuery> = {}) {
  return history.lookup({ accountId: ACCOUNT, region: REGION, ...q }, clock.now());
}

function ids(events: { eventId: string }[]): string[] {
  return events.map((e) => e.eventId);
}

function awsCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AwsError) return e.code;
    throw e;
  }
  throw new Error('expected an AwsError');
}

describe('History.lookup', () => {
  it('returns the caller’s management events newest first, with the record byte for byte', async () => {
    const { log, history, clock } = await setup();
    const a = event(T0 - 3000, { resources: [{ type: 'AWS::CloudTrail::Trail', name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t1' }] });
    const b = event(T0 - 2000, { username: undefined, accessKeyId: undefined, readOnly: false, eventName: 'CreateTrail' });
    const c = event(T0 - 1000);
    const invisible = [
      event(T0 - 500, { category: 'Data', eventName: 'GetObject', eventSource: 's3.amazonaws.com' }),
      event(T0 - 500, { accountId: '999988887777' }),
      event(T0 - 500, { region: 'eu-west-1' }),
      event(T0 - 500, { category: 'Insight', eventName: 'CreateTrail' }),
    ];
    await log.appendMany([a, b, ...invisible, c]);

    const page = lookup(history, clock);
    expect(ids(page.events)).toEqual([c.eventId, b.eventId, a.eventId]);
    expect(page.nextToken).toBeUndefined();
    expect(page.events[2]).toEqual({
      eventId: a.eventId,
      eventName: 'DescribeTrails',
      readOnly: true,
      accessKeyId: 'AKIAALICE',
      eventTime: T0 - 3000,
      eventSource: 'cloudtrail.amazonaws.com',
      username: 'alice',
      resources: [{ type: 'AWS::CloudTrail::Trail', name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t1' }],
      cloudTrailEvent: a.record,
    });
    expect(page.events[1]).toEqual({
      eventId: b.eventId,
      eventName: 'CreateTrail',
      readOnly: false,
      eventTime: T0 - 2000,
      eventSource: 'cloudtrail.amazonaws.com',
      resources: [],
      cloudTrailEvent: b.record,
    });

    // Insights events only when asked for, and then only them.
    const insights = lookup(history, clock, { eventCategory: 'insight' });
    expect(ids(insights.events)).toEqual([invisible[3]?.eventId]);
    expect(ids(lookup(history, clock, { eventCategory: 'insight', attributes: [{ key: 'EventName', value: 'CreateTrail' }] }).events)).toEqual([
      invisible[3]?.eventId,
    ]);
    // Another account or Region sees its own events only.
    expect(ids(history.lookup({ accountId: '999988887777', region: REGION }, clock.now()).events)).toEqual([invisible[1]?.eventId]);
  });

  it('filters by every lookup attribute', async () => {
    const { log, history, clock } = await setup();
    const trail = { type: 'AWS::CloudTrail::Trail', name: 'trail-a' };
    const bucket = { type: 'AWS::S3::Bucket', name: 'bucket-a' };
    const e1 = event(T0 - 5000, { eventName: 'CreateTrail', readOnly: false, username: 'bob', accessKeyId: 'AKIABOB', resources: [trail, bucket] });
    const e2 = event(T0 - 4000, { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', readOnly: false, resources: [{ type: 'AWS::IAM::User', name: 'carol' }] });
    // Two resources of one type: the event is listed once.
    const e3 = event(T0 - 3000, { resources: [trail, { type: 'AWS::CloudTrail::Trail', name: 'trail-b' }] });
    const e4 = event(T0 - 2000, { username: 'bob', category: 'Data', resources: [trail] });
    await log.appendMany([e1, e2, e3, e4]);

    const by = (key: string, value: string) => ids(lookup(history, clock, { attributes: [{ key, value }] }).events);
    expect(by('EventId', e2.eventId)).toEqual([e2.eventId]);
    expect(by('EventId', e4.eventId)).toEqual([]);
    expect(by('EventName', 'CreateTrail')).toEqual([e1.eventId]);
    expect(by('EventName', 'createtrail')).toEqual([]);
    expect(by('ReadOnly', 'true')).toEqual([e3.eventId]);
    expect(by('ReadOnly', 'false')).toEqual([e2.eventId, e1.eventId]);
    expect(by('Username', 'bob')).toEqual([e1.eventId]);
    expect(by('Username', 'alice')).toEqual([e3.eventId, e2.eventId]);
    expect(by('EventSource', 'iam.amazonaws.com')).toEqual([e2.eventId]);
    expect(by('AccessKeyId', 'AKIABOB')).toEqual([e1.eventId]);
    expect(by('ResourceType', 'AWS::CloudTrail::Trail')).toEqual([e3.eventId, e1.eventId]);
    expect(by('ResourceType', 'AWS::IAM::User')).toEqual([e2.eventId]);
    expect(by('ResourceName', 'trail-a')).toEqual([e3.eventId, e1.eventId]);
    expect(by('ResourceName', 'trail-b')).toEqual([e3.eventId]);
    expect(by('ResourceName', 'nothing')).toEqual([]);
  });

  it('applies StartTime and EndTime inclusively, to the second', async () => {
    const { log, history, clock } = await setup();
    const events = [event(T0 - 10_000), event(T0 - 9_000 + 400), event(T0 - 8_000), event(T0 - 7_000)];
    await log.appendMany(events);
    const [e0, e1, e2, e3] = ids(events);
    expect(ids(lookup(history, clock, { startTime: T0 - 9_000, endTime: T0 - 8_000 }).events)).toEqual([e2, e1]);
    expect(ids(lookup(history, clock, { startTime: T0 - 8_000 }).events)).toEqual([e3, e2]);
    expect(ids(lookup(history, clock, { endTime: T0 - 9_000 }).events)).toEqual([e1, e0]);
    expect(ids(lookup(history, clock, { startTime: T0 - 8_500, endTime: T0 - 8_500 }).events)).toEqual([]);
    expect(lookup(history, clock, { startTime: T0, endTime: T0 }).events).toEqual([]);
    expect(awsCode(() => lookup(history, clock, { startTime: T0, endTime: T0 - 1 }))).toBe('InvalidTimeRangeException');
    expect(awsCode(() => lookup(history, clock, { startTime: Number.NaN }))).toBe('InvalidTimeRangeException');
  });

  it('pages through 120 events 50 at a time, the token carrying the position', async () => {
    const { log, history, clock } = await setup();
    // Pairs of events share a millisecond, so the position needs the seq too.
    const events = Array.from({ length: 120 }, (_, i) => event(T0 - 100_000 + Math.floor(i / 2), { eventName: i % 3 === 0 ? 'CreateTrail' : 'DescribeTrails' }));
    await log.appendMany(events);
    const expected = ids(events).reverse();

    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const page = lookup(history, clock, token === undefined ? {} : { nextToken: token });
      sizes.push(page.events.length);
      seen.push(...ids(page.events));
      token = page.nextToken;
    } while (token !== undefined);
    expect(sizes).toEqual([50, 50, 20]);
    expect(seen).toEqual(expected);

    // With an attribute and a smaller page, MaxResults may change between pages.
    const attrs = [{ key: 'EventName', value: 'CreateTrail' }];
    const first = lookup(history, clock, { attributes: attrs, maxResults: 30 });
    expect(first.events).toHaveLength(30);
    const second = lookup(history, clock, { attributes: attrs, maxResults: 50, nextToken: first.nextToken });
    expect(second.events).toHaveLength(10);
    expect(second.nextToken).toBeUndefined();
    expect([...ids(first.events), ...ids(second.events)]).toEqual(expected.filter((_, i) => (119 - i) % 3 === 0));

    // Exactly a full page leaves no token behind.
    expect(lookup(history, clock, { attributes: attrs, maxResults: 40 }).nextToken).toBeUndefined();
  });

  it('refuses forged, altered and reused tokens', async () => {
    const { dataDir, log, history, clock } = await setup();
    await log.appendMany(Array.from({ length: 5 }, (_, i) => event(T0 - 10_000 + i)));
    const attrs = [{ key: 'Username', value: 'alice' }];
    const page = lookup(history, clock, { attributes: attrs, maxResults: 2 });
    const token = page.nextToken ?? '';
    expect(token).not.toBe('');

    const bad = (q: Partial<LookupQuery>) => awsCode(() => lookup(history, clock, q));
    expect(bad({ attributes: attrs, nextToken: 'bm90IGEgdG9rZW4=' })).toBe('InvalidNextTokenException');
    expect(bad({ attributes: attrs, nextToken: Buffer.alloc(32, 7).toString('base64') })).toBe('InvalidNextTokenException');
    const altered = Buffer.from(token, 'base64');
    altered[15] = (altered[15] ?? 0) ^ 1; // the seq
    expect(bad({ attributes: attrs, nextToken: altered.toString('base64') })).toBe('InvalidNextTokenException');
    expect(bad({ attributes: [{ key: 'Username', value: 'bob' }], nextToken: token })).toBe('InvalidNextTokenException');
    expect(bad({ attributes: [{ key: 'EventName', value: 'alice' }], nextToken: token })).toBe('InvalidNextTokenException');
    expect(bad({ nextToken: token })).toBe('InvalidNextTokenException');
    expect(bad({ attributes: attrs, startTime: T0 - 20_000, nextToken: token })).toBe('InvalidNextTokenException');
    const plain = lookup(history, clock, { maxResults: 2 }).nextToken;
    expect(bad({ eventCategory: 'insight', nextToken: plain })).toBe('InvalidNextTokenException');
    expect(awsCode(() => history.lookup({ accountId: '999988887777', region: REGION, attributes: attrs, nextToken: token }, clock.now()))).toBe(
      'InvalidNextTokenException',
    );

    // The same query may use it (again), and so may another History on the same data directory.
    expect(lookup(history, clock, { attributes: attrs, maxResults: 2, nextToken: token }).events).toHaveLength(2);
    const again = new History({ dataDir, log, random: cryptoRandom });
    histories.push(again);
    expect(ids(lookup(again, clock, { attributes: attrs, maxResults: 2, nextToken: token }).events)).toEqual(
      ids(lookup(history, clock, { attributes: attrs, maxResults: 2, nextToken: token }).events),
    );
    expect(statSync(join(dataDir, HISTORY_KEY_FILE)).mode & 0o777).toBe(0o600);
    // A History with another key does not accept it.
    const stranger = new History({ dataDir, log, tokenKey: Buffer.alloc(32, 1) });
    histories.push(stranger);
    expect(awsCode(() => lookup(stranger, clock, { attributes: attrs, nextToken: token }))).toBe('InvalidNextTokenException');
  });

  it('refuses requests AWS refuses', async () => {
    const { history, clock } = await setup();
    const code = (q: Partial<LookupQuery>) => awsCode(() => lookup(history, clock, q));
    expect(code({ attributes: [{ key: 'EventName', value: 'a' }, { key: 'Username', value: 'b' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ attributes: [{ key: 'SourceIPAddress', value: '1.2.3.4' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ attributes: [{ key: 'eventName', value: 'x' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ attributes: [{ key: 'ReadOnly', value: 'yes' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ attributes: [{ key: 'EventName', value: '' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ attributes: [{ key: 'EventName', value: '_'.repeat(1001) }] })).toBe('InvalidLookupAttributesException');
    expect(lookup(history, clock, { attributes: [{ key: 'EventName', value: '_'.repeat(1000) }] }).events).toEqual([]);
    expect(code({ eventCategory: 'insight', attributes: [{ key: 'Username', value: 'alice' }] })).toBe('InvalidLookupAttributesException');
    expect(code({ maxResults: 0 })).toBe('InvalidMaxResultsException');
    expect(code({ maxResults: 51 })).toBe('InvalidMaxResultsException');
    expect(code({ maxResults: 2.5 })).toBe('InvalidMaxResultsException');
    expect(code({ eventCategory: 'Management' })).toBe('InvalidEventCategoryException');
    expect(code({ eventCategory: 'Insight' })).toBe('InvalidEventCategoryException');
    expect(lookup(history, clock, { attributes: [] }).events).toEqual([]);
  });

  it('forgets events after 90 days, and purge deletes them with their resource rows', async () => {
    const { dataDir, log, history, clock } = await setup();
    const day = 24 * 60 * 60 * 1000;
    const trail = [{ type: 'AWS::CloudTrail::Trail', name: 'trail-a' }];
    const old = Array.from({ length: 100 }, (_, i) => event(T0 - 10 * day + i, { resources: trail }));
    const recent = Array.from({ length: 10 }, (_, i) => event(T0 - day + i, { resources: trail }));
    await log.appendMany([...old, ...recent]);
    expect(lookup(history, clock, { maxResults: 50 }).nextToken).toBeDefined();

    clock.advance(HISTORY_RETENTION_MS - 10 * day + 1000);
    // Not yet purged, but never returned: by any plan, with any StartTime.
    expect(ids(lookup(history, clock).events)).toEqual(ids(recent).reverse());
    expect(ids(lookup(history, clock, { startTime: 0 }).events)).toHaveLength(10);
    expect(ids(lookup(history, clock, { attributes: [{ key: 'ResourceName', value: 'trail-a' }] }).events)).toHaveLength(10);
    expect(lookup(history, clock, { attributes: [{ key: 'EventId', value: old[0]?.eventId ?? '' }] }).events).toEqual([]);
    expect(lookup(history, clock, { endTime: T0 - 2 * day }).events).toEqual([]);

    // The slowest consumer's cursor bounds the purge.
    expect(await history.purge(clock.now(), 40)).toBe(40);
    expect(await history.purge(clock.now(), log.lastSeq())).toBe(60);
    expect(await history.purge(clock.now(), log.lastSeq())).toBe(0);
    const db = new Database(join(dataDir, 'eventlog.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 10 });
      expect(db.prepare(`SELECT count(*) AS n FROM ${historyTables.resourceTypes}`).get()).toEqual({ n: 10 });
      expect(db.prepare(`SELECT count(*) AS n FROM ${historyTables.resourceNames}`).get()).toEqual({ n: 10 });
    } finally {
      db.close();
    }
    expect(ids(lookup(history, clock).events)).toEqual(ids(recent).reverse());

    clock.advance(9 * day);
    expect(lookup(history, clock).events).toEqual([]);
  });

  it('reads every plan through an index, never a scan or a sort of the log', async () => {
    const { dataDir } = await setup();
    const db = new Database(join(dataDir, 'eventlog.db'), { readonly: true });
    try {
      const params = { accountId: ACCOUNT, region: REGION, category: 'Management', value: 'x', lo: 0, hi: 1, posTime: 1, posSeq: 1, limit: 51 };
      for (const [plan, sql] of Object.entries(lookupSql)) {
        const details = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
        expect(details.length, plan).toBeGreaterThan(0);
        for (const d of details) {
          expect(d, plan).not.toMatch(/^SCAN /);
          if (plan !== 'EventId') expect(d, plan).not.toMatch(/TEMP B-TREE/);
        }
        expect(details[0], plan).toMatch(/^SEARCH (e|r) USING (INDEX history_|PRIMARY KEY \(account_id=\? AND region=\? AND category=\? AND resource_)/);
      }
    } finally {
      db.close();
    }
  });

  it('indexes the resources of events appended before the history was installed', async () => {
    const dataDir = tempDir();
    const before = await openSqliteEventLog({ dataDir });
    const e = event(T0 - 1000, { resources: [{ type: 'AWS::S3::Bucket', name: 'b1' }] });
    await before.log.append(e);
    await before.log.close();
    expect(() => new History({ dataDir, log: before.log, random: cryptoRandom })).toThrow(/historyMigrations/);

    const { history, clock } = await setup(dataDir);
    expect(ids(lookup(history, clock, { attributes: [{ key: 'ResourceName', value: 'b1' }] }).events)).toEqual([e.eventId]);
    expect(ids(lookup(history, clock, { attributes: [{ key: 'ResourceType', value: 'AWS::S3::Bucket' }] }).events)).toEqual([e.eventId]);
  });
});
