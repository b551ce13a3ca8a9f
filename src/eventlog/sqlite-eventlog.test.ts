import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLogError, type CursorStore, type EventLog } from './eventlog.js';
import { EVENTLOG_SCHEMA_VERSION } from './schema.js';
import { eventLogFiles, openSqliteEventLog, type SqliteEventLogOptions } from './sqlite-eventlog.js';
import { testEvent } from './test-events.js';

const dirs: string[] = [];
const open: EventLog[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-eventlog-'));
  dirs.push(dir);
  return dir;
}

async function openLog(opts: SqliteEventLogOptions): Promise<{ log: EventLog; cursors: CursorStore }> {
  const opened = await openSqliteEventLog(opts);
  open.push(opened.log);
  return opened;
}

afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('openSqliteEventLog', () => {
  it('assigns dense increasing seqs and returns records byte for byte', async () => {
    const dataDir = tempDir();
    const { log } = await openLog({ dataDir });
    expect(log.lastSeq()).toBe(0);
    const woken: number[] = [];
    log.onAppend((last) => woken.push(last));

    const events = Array.from({ length: 50 }, (_, i) => testEvent(i));
    const odd = { ...testEvent(50), record: '{"a":"\\u0000\\ud83d\\ude00 😀 \\" \\\\ \\n","b":[1e3,-0.0]}  \n' };
    events.push(odd);
    const seqs = await Promise.all(events.map((e) => log.append(e)));
    expect(seqs).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(log.lastSeq()).toBe(51);
    expect(woken.at(-1)).toBe(51);

    const read = log.readAfter(0, 1000);
    expect(read.map((e) => e.seq)).toEqual(seqs);
    for (const [i, e] of read.entries()) expect(e).toEqual({ ...events[i], seq: i + 1 });
    expect(read[50]?.record).toBe(odd.record);
    expect(read[0]).not.toHaveProperty('username');
    expect(read[1]?.resources).toEqual([{ type: 'AWS::CloudTrail::Trail', name: 'trail-1' }]);

    expect(log.readAfter(10, 5).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(log.readAfter(51, 5)).toEqual([]);
  });

  it('keeps seqs and cursors across close and reopen', async () => {
    const dataDir = tempDir();
    const first = await openSqliteEventLog({ dataDir });
    await first.log.appendMany([testEvent(1), testEvent(2), testEvent(3)]);
    first.cursors.set('history', 2);
    first.cursors.set('trail/main', 3);
    expect(() => first.cursors.set('bus', 4)).toThrow(RangeError);
    expect(() => first.cursors.set('bus', -1)).toThrow(RangeError);
    await first.log.close();
    await expect(first.log.append(testEvent(4))).rejects.toBeInstanceOf(EventLogError);

    const { log, cursors } = await openLog({ dataDir });
    expect(log.lastSeq()).toBe(3);
    expect(cursors.get('history')).toBe(2);
    expect(cursors.get('trail/main')).toBe(3);
    expect(cursors.get('never-seen')).toBe(0);
    expect(await log.append(testEvent(4))).toBe(4);
    expect(log.readAfter(cursors.get('history'), 10).map((e) => e.eventId)).toEqual(['run-00000003', 'run-00000004']);
  });

  it('commits appendMany contiguously between single appends', async () => {
    const { log } = await openLog({ dataDir: tempDir() });
    const a = log.append(testEvent(0));
    const many = log.appendMany([testEvent(1), testEvent(2), testEvent(3)]);
    const b = log.append(testEvent(4));
    expect(await a).toBe(1);
    expect(await many).toEqual([2, 3, 4]);
    expect(await b).toBe(5);
    expect(await log.appendMany([])).toEqual([]);
  });

  it('refuses a malformed event without failing the others', async () => {
    const { log } = await openLog({ dataDir: tempDir() });
    const good = log.append(testEvent(0));
    const bad = log.append({ ...testEvent(1), record: 'broken \ud800 surrogate' });
    const alsoBad = log.append({ ...testEvent(2), category: 'Nope' as 'Data' });
    await expect(bad).rejects.toBeInstanceOf(TypeError);
    await expect(alsoBad).rejects.toBeInstanceOf(TypeError);
    expect(await good).toBe(1);
    expect(await log.append(testEvent(3))).toBe(2);
  });

  it('groups 20,000 concurrent appends into few commits', async () => {
    const { log } = await openLog({ dataDir: tempDir() });
    const started = performance.now();
    const promises: Promise<number>[] = [];
    // Spread over many ticks, as requests arriving one by one would be.
    for (let i = 0; i < 20_000; i++) {
      promises.push(log.append(testEvent(i)));
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    const seqs = await Promise.all(promises);
    const elapsed = performance.now() - started;
    expect(seqs).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    const stats = log.stats();
    expect(stats.events).toBe(20_000);
    expect(stats.pending).toBe(0);
    expect(stats.commits).toBeLessThan(400); // 400 messages were posted
    expect(stats.maxBatch).toBeGreaterThan(50);
    let count = 0;
    for (let after = 0; ; ) {
      const page = log.readAfter(after, 5000);
      if (page.length === 0) break;
      for (const e of page) expect(e.seq).toBe(++count);
      after = count;
    }
    expect(count).toBe(20_000);
    console.info(`20,000 appends of ~1 KB in ${elapsed.toFixed(0)} ms, ${JSON.stringify(stats)}`);
  });

  it('purges old events in small batches, between appends, never past maxSeq', async () => {
    const dataDir = tempDir();
    const { log } = await openLog({ dataDir, purgeBatchEvents: 7 });
    await log.appendMany(Array.from({ length: 120 }, (_, i) => testEvent(i)));
    const cutoff = testEvent(50).eventTime;

    // maxSeq (the slowest consumer's cursor) bounds what goes.
    expect(await log.purgeBefore(cutoff, 30)).toBe(30);
    expect(log.readAfter(0, 1)[0]?.seq).toBe(31);

    // Appends accepted while a purge runs are committed in between its batches.
    const purging = log.purgeBefore(cutoff, 1000);
    const appended = log.append(testEvent(120));
    expect(await Promise.all([purging, appended])).toEqual([20, 121]);
    expect(log.readAfter(0, 1)[0]?.seq).toBe(51);
    expect(log.readAfter(0, 1000)).toHaveLength(71);
    expect(await log.purgeBefore(cutoff, 1000)).toBe(0);
    await expect(log.purgeBefore(1.5, 10)).rejects.toBeInstanceOf(RangeError);

    // Seqs are never reused, even after the newest rows are purged and the log reopens.
    expect(await log.purgeBefore(Number.MAX_SAFE_INTEGER, 1000)).toBe(71);
    expect(log.lastSeq()).toBe(121);
    await log.close();
    await expect(log.purgeBefore(cutoff, 10)).rejects.toBeInstanceOf(EventLogError);
    const reopened = await openLog({ dataDir });
    expect(reopened.log.lastSeq()).toBe(121);
    expect(await reopened.log.append(testEvent(200))).toBe(122);
  });

  it('stops purging at a stretch of events none of which is old enough', async () => {
    const { log } = await openLog({ dataDir: tempDir(), purgeBatchEvents: 5 });
    const events = Array.from({ length: 20 }, (_, i) => testEvent(i));
    // Events 5..9 arrived out of time order (newer than everything after them).
    for (let i = 5; i < 10; i++) events[i] = { ...testEvent(i), eventTime: testEvent(1000).eventTime };
    await log.appendMany(events);
    expect(await log.purgeBefore(testEvent(15).eventTime, 100)).toBe(5);
    expect(log.readAfter(0, 1)[0]?.seq).toBe(6);
  });

  it('applies named migrations once and refuses a newer schema', async () => {
    const dataDir = tempDir();
    const migrations = [{ name: 'history-1', sql: 'CREATE INDEX events_by_name ON events (event_name, event_time)' }];
    const first = await openSqliteEventLog({ dataDir, migrations });
    await first.log.close();
    const again = await openSqliteEventLog({ dataDir, migrations });
    await again.log.close();

    const db = new Database(join(dataDir, eventLogFiles.log));
    expect(db.pragma('user_version', { simple: true })).toBe(EVENTLOG_SCHEMA_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'events_by_name'").get()).toBeTruthy();
    db.pragma(`user_version = ${EVENTLOG_SCHEMA_VERSION + 1}`);
    db.close();
    await expect(openSqliteEventLog({ dataDir })).rejects.toThrow(/schema version/);
  });

  it('commits everything accepted before close()', async () => {
    const dataDir = tempDir();
    const { log } = await openSqliteEventLog({ dataDir });
    const pending = Array.from({ length: 1000 }, (_, i) => log.append(testEvent(i)));
    await log.close();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const reopened = await openLog({ dataDir });
    expect(reopened.log.lastSeq()).toBe(1000);
  });

  it('refuses a second writer on the same data directory until the first closes', async () => {
    const dataDir = tempDir();
    const first = await openSqliteEventLog({ dataDir });
    await expect(openSqliteEventLog({ dataDir })).rejects.toThrow(/already open/);
    expect(await first.log.append(testEvent(0))).toBe(1);
    await first.log.close();
    const second = await openLog({ dataDir });
    expect(await second.log.append(testEvent(1))).toBe(2);
  });

  it('fails to open when a migration fails, leaving the log usable without it', async () => {
    const dataDir = tempDir();
    const bad = [{ name: 'broken', sql: 'CREATE INDEX nope ON no_such_table (x)' }];
    await expect(openSqliteEventLog({ dataDir, migrations: bad })).rejects.toThrow(/no_such_table/);
    const { log } = await openLog({ dataDir });
    expect(await log.append(testEvent(0))).toBe(1);
  });

  it('fails to open where it cannot write', async () => {
    const dir = tempDir();
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'x');
    await expect(openSqliteEventLog({ dataDir: join(notADir, 'data') })).rejects.toThrow();
  });

  it('rejects pending and later appends once the writer fails, keeping what it acknowledged', async () => {
    const dataDir = tempDir();
    const { log } = await openSqliteEventLog({ dataDir, maxBytes: 256 * 1024 });
    const acknowledged: number[] = [];
    let failure: unknown;
    for (let i = 0; i < 2000 && failure === undefined; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => log.append(testEvent(i + j)));
      const settled = await Promise.allSettled(batch);
      for (const s of settled) {
        if (s.status === 'fulfilled') acknowledged.push(s.value);
        else failure = s.reason;
      }
    }
    expect(failure).toBeInstanceOf(EventLogError);
    expect((failure as Error).message).toMatch(/full/);
    expect(acknowledged.length).toBeGreaterThan(0);
    await expect(log.append(testEvent(0))).rejects.toBeInstanceOf(EventLogError);
    await expect(log.appendMany([testEvent(0)])).rejects.toBeInstanceOf(EventLogError);
    await log.close();

    const reopened = await openLog({ dataDir });
    expect(reopened.log.lastSeq()).toBe(acknowledged.length);
    expect(reopened.log.readAfter(0, 10_000).map((e) => e.seq)).toEqual(acknowledged);
  });
});
