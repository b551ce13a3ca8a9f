import { describe, expect, it } from 'vitest';
import { EventLogError } from './eventlog.js';
import { createMemoryEventLog } from './memory-eventlog.js';
import { testEvent } from './test-events.js';

describe('createMemoryEventLog', () => {
  it('behaves like the real log: dense seqs, exact records, one commit per tick', async () => {
    const { log, cursors } = createMemoryEventLog();
    const woken: number[] = [];
    log.onAppend((last) => woken.push(last));
    const seqs = await Promise.all([log.append(testEvent(0)), log.append(testEvent(1))]);
    expect(seqs).toEqual([1, 2]);
    expect(await log.appendMany([testEvent(2), testEvent(3)])).toEqual([3, 4]);
    expect(woken).toEqual([2, 4]);
    expect(log.stats()).toEqual({ commits: 2, events: 4, maxBatch: 2, pending: 0 });
    expect(log.readAfter(1, 2)).toEqual([
      { ...testEvent(1), seq: 2 },
      { ...testEvent(2), seq: 3 },
    ]);
    expect(log.lastSeq()).toBe(4);

    cursors.set('history', 3);
    expect(cursors.get('history')).toBe(3);
    expect(cursors.get('bus')).toBe(0);
    expect(() => cursors.set('bus', 5)).toThrow(RangeError);
    await expect(log.append({ ...testEvent(9), record: '\udc00' })).rejects.toBeInstanceOf(TypeError);
  });

  it('rejects pending and later appends after fail()', async () => {
    const { log } = createMemoryEventLog();
    const pending = log.append(testEvent(0));
    log.fail(new Error('disk full'));
    await expect(pending).rejects.toBeInstanceOf(EventLogError);
    await expect(log.append(testEvent(1))).rejects.toThrow(/disk full/);
    expect(log.all()).toEqual([]);
  });

  it('commits what was accepted on close, then refuses', async () => {
    const { log } = createMemoryEventLog();
    const pending = log.append(testEvent(0));
    await log.close();
    expect(await pending).toBe(1);
    await expect(log.append(testEvent(1))).rejects.toBeInstanceOf(EventLogError);
  });

  it('purges old events up to maxSeq, keeping seqs and cursors meaningful', async () => {
    const { log, cursors } = createMemoryEventLog();
    await log.appendMany(Array.from({ length: 10 }, (_, i) => testEvent(i)));
    expect(await log.purgeBefore(testEvent(6).eventTime, 4)).toBe(4);
    expect(await log.purgeBefore(testEvent(6).eventTime, 100)).toBe(2);
    expect(log.readAfter(0, 2).map((e) => e.seq)).toEqual([7, 8]);
    expect(log.readAfter(8, 5).map((e) => e.seq)).toEqual([9, 10]);
    expect(log.lastSeq()).toBe(10);
    expect(await log.append(testEvent(10))).toBe(11);
    cursors.set('history', 11);
    await expect(log.purgeBefore(Number.NaN, 1)).rejects.toBeInstanceOf(RangeError);
  });
});
