import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitUnflushed, openStateDatabase, statement, type SqliteDatabase } from './sqlite.js';

const opened: { db: SqliteDatabase; dir: string }[] = [];
afterEach(() => {
  for (const { db, dir } of opened.splice(0)) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function fresh(): SqliteDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-state-'));
  const db = openStateDatabase(dir);
  db.exec('CREATE TABLE cursor (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)');
  opened.push({ db, dir });
  return db;
}

const level = (db: SqliteDatabase): unknown => db.pragma('synchronous', { simple: true });
const put = (db: SqliteDatabase, seq: number): void => {
  statement(db, 'INSERT INTO cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(seq);
};
const seq = (db: SqliteDatabase): unknown => statement<[], { seq: number }>(db, 'SELECT seq FROM cursor WHERE id = 1').get()?.seq;

describe('commitUnflushed', () => {
  it('commits, and puts the database back to synchronous = FULL afterwards', () => {
    const db = fresh();
    expect(level(db)).toBe(2);
    expect(
      commitUnflushed(db, () => {
        put(db, 7);
        return 'done';
      }),
    ).toBe('done');
    expect(seq(db)).toBe(7);
    expect(level(db)).toBe(2);
  });

  it('rolls back what a throwing function wrote, and still restores the level', () => {
    const db = fresh();
    put(db, 1);
    expect(() =>
      commitUnflushed(db, () => {
        put(db, 2);
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(seq(db)).toBe(1);
    expect(level(db)).toBe(2);
  });

  it('joins a transaction already open instead of committing on its own', () => {
    const db = fresh();
    put(db, 1);
    expect(() =>
      db.transaction(() => {
        commitUnflushed(db, () => put(db, 5));
        throw new Error('outer fails');
      })(),
    ).toThrow('outer fails');
    expect(seq(db)).toBe(1);
  });
});
