import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { groupFlush } from './group-flush.js';
import { commitUnflushed, openStateDatabase, statement, type SqliteDatabase } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fresh(): { db: SqliteDatabase; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-flush-'));
  dirs.push(dir);
  const db = openStateDatabase(dir);
  db.exec('CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return { db, dir };
}

describe('groupFlush', () => {
  it('acknowledges concurrent unflushed commits, all of which another connection then reads', async () => {
    const { db, dir } = fresh();
    const flush = groupFlush(db);
    const acks = Array.from({ length: 200 }, (_, i) => {
      commitUnflushed(db, () => statement(db, 'INSERT INTO messages (id, body) VALUES (?, ?)').run(i, `m${i}`));
      return flush.flushed().then(() => i);
    });
    expect((await Promise.all(acks)).length).toBe(200);
    await flush.close();
    db.close();
    const reopened = new Database(join(dir, 'state.db'), { readonly: true });
    expect(reopened.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 200 });
    reopened.close();
  });

  it('serves callers that arrive while a flush is running with a later flush', async () => {
    const { db } = fresh();
    const flush = groupFlush(db);
    const order: string[] = [];
    commitUnflushed(db, () => statement(db, 'INSERT INTO messages (id, body) VALUES (1, ?)').run('a'));
    const first = flush.flushed().then(() => order.push('first'));
    commitUnflushed(db, () => statement(db, 'INSERT INTO messages (id, body) VALUES (2, ?)').run('b'));
    const second = flush.flushed().then(() => order.push('second'));
    const third = flush.flushed().then(() => order.push('third'));
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(flush.flushed()).not.toBe(flush.flushed());
    await flush.close();
    db.close();
  });

  it('has nothing to wait for on an in-memory database', async () => {
    const db = openStateDatabase(':memory:');
    const flush = groupFlush(db);
    await expect(flush.flushed()).resolves.toBeUndefined();
    await flush.close();
    db.close();
  });
});
