/**
 * Nothing acknowledged is lost: under a bounded stream of calls, `kill -9` the server,
 * restart it on the same data directory, and check that every call that got a 2xx has
 * exactly one whole record (and its effect), and that the log is intact. Then a clean
 * SIGTERM under load loses nothing either.
 */
import { CreateUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cairn.js';
import { readRecords } from './support/records.js';
import { spawnServer, type ServerProcess } from './support/process.js';

const dataDir = tempDir('cairn-crash-');
const running: ServerProcess[] = [];

afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
});

interface Acked {
  requestId: string;
  userName?: string;
}

/** Keeps `workers` callers busy until `stop` resolves; returns what was acknowledged. */
async function load(server: ServerProcess, prefix: string, stop: Promise<unknown>): Promise<Acked[]> {
  const config = { endpoint: server.endpoint, region: 'us-east-1', credentials: server.root, maxAttempts: 1 };
  const iam = new IAMClient(config);
  const sts = new STSClient(config);
  const acked: Acked[] = [];
  let stopped = false;
  void stop.then(() => (stopped = true));
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stopped && i < 5_000; i++) {
      try {
        if (i % 2 === 0) {
          const userName = `${prefix}-${w}-${i}`;
          const out = await iam.send(new CreateUserCommand({ UserName: userName }));
          acked.push({ requestId: out.$metadata.requestId ?? '', userName });
        } else {
          const out = await sts.send(new GetCallerIdentityCommand({}));
          acked.push({ requestId: out.$metadata.requestId ?? '' });
        }
      } catch {
        return; // the server went away mid-call: that call was not acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  return acked;
}

function checkLog(acked: Acked[]): void {
  const db = new Database(join(dataDir, 'eventlog.db'), { readonly: true });
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  const records = readRecords(dataDir);
  const byRequest = new Map<string, number>();
  for (const r of records) byRequest.set(String(r.record.requestID), (byRequest.get(String(r.record.requestID)) ?? 0) + 1);
  const missing = acked.filter((a) => byRequest.get(a.requestId) !== 1);
  expect(missing).toEqual([]);
  const seqs = records.map((r) => r.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
}

describe('crash safety', () => {
  it('kill -9 under load loses no acknowledged call', async () => {
    const first = await spawnServer(dataDir);
    running.push(first);
    const killed = sleep(1_500).then(() => first.child.kill('SIGKILL'));
    const acked = await load(first, 'crash', killed);
    expect(await first.exited).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThan(50);

    const second = await spawnServer(dataDir);
    running.push(second);
    checkLog(acked);
    const iam = new IAMClient({ endpoint: second.endpoint, region: 'us-east-1', credentials: second.root });
    const names = new Set<string>();
    let marker: string | undefined;
    do {
      const page = await iam.send(new ListUsersCommand({ Marker: marker, MaxItems: 1000 }));
      for (const u of page.Users ?? []) names.add(u.UserName ?? '');
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    const lostUsers = acked.filter((a) => a.userName && !names.has(a.userName));
    expect(lostUsers).toEqual([]);

    // A clean stop under load: SIGTERM, and everything acknowledged is recorded.
    const stopped = sleep(1_000).then(() => second.child.kill('SIGTERM'));
    const ackedBeforeStop = await load(second, 'stop', stopped);
    expect(await second.exited).toBe(0);
    checkLog(ackedBeforeStop);
  });
});
